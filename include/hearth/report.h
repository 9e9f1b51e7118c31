/*
 * report.h — reports from data: a Jinja template (hearth's sandboxed
 * engine, include/hearth/jinja.h) rendered over a table of rows, with SVG
 * charts drawn by hearth, to a self-contained HTML file or a PDF.
 *
 * Data: CSV (a header row; fields that are whole numbers become numbers,
 * empty fields null) or JSON (an array of objects, or an object whose
 * "rows" member is one; its other members are passed through as `meta`).
 *
 * The template sees:
 *   rows      the rows (objects keyed by column name)
 *   columns   the column names in order
 *   stats     per numeric column: {n, min, max, mean, sum, first, last, change, change_pct}
 *   charts    SVG charts by name (insert with {{ charts.NAME }})
 *   meta      the JSON data's other members ({} for CSV)
 *   sections  model-written sections by name (when a model is given)
 *   title, generated (UTC time "YYYY-MM-DD HH:MM")
 *
 * Charts are declared in the template with comment directives, one per line:
 *   {# chart NAME line x=COL y=COL[,COL...] [title="..."] #}   line / time series
 *   {# chart NAME hist y=COL [bins=N] [title="..."] #}           histogram
 *   {# chart NAME bars by=COL [y=COL] [title="..."] #}          count (or sum of y) per category
 *   {# chart NAME rate x=COL y=COL [title="..."] #}             mean of y (0/1, true/false) per x, in %
 *   {# section NAME "instruction" #}                            written by the model from the data
 *   {# section NAME prompt=REF ["instruction"] #}                the same through a stored prompt
 * A section through a stored prompt (the prompt library, prompt_library.h:
 * REF is "NAME@label", "NAME@VERSION" or "NAME") gets the variables
 * summary (the per-column statistics as JSON text), columns (the column
 * names as JSON text) and task (the instruction, "" when none): the prompt
 * declares those three. Its template, system block, sampling and output
 * schema are the prompt's; the figures its text cites are checked as for
 * any section.
 * An unknown column or chart kind is an error naming the template line.
 *
 * Errors name the file and line (CSV rows, template lines).
 */
#ifndef HEARTH_REPORT_H
#define HEARTH_REPORT_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* A chart (templates declare theirs with {# chart ... #}). kind: "line",
 * "hist", "bars", "rate"; x / y / by: column names (y may list several,
 * comma-separated, for line); bins 0: 20. */
typedef struct hearth_chart_spec {
    const char *kind, *x, *y, *by, *title;
    int bins;
    int width, height;   /* 0: 640 x 280 */
} hearth_chart_spec;

/* Writes the model's text for a section. prompt: the instruction with the
 * data summary; returns malloc'd text in *out. */
typedef hearth_status (*hearth_report_writer_fn)(const char *prompt, char **out, void *user);
/* Writes a section through stored prompt ref with variables (a JSON object
 * text: {"summary", "columns", "task"}); returns malloc'd text in *out. */
typedef hearth_status (*hearth_report_prompt_fn)(const char *ref, const char *variables, char **out, void *user);

typedef struct hearth_report_params {
    const char *title;                 /* NULL: the data file's name */
    hearth_report_writer_fn writer;    /* NULL: sections are left empty with a note */
    void *writer_user;
    hearth_report_prompt_fn prompt_writer;   /* NULL: sections with prompt= are left empty with a note */
    void *prompt_user;
} hearth_report_params;

/* Renders template_src (template_name for errors) over the CSV or JSON text
 * data[0..data_len) (data_name for errors; by content: '[' or '{' first
 * means JSON); *html malloc'd, owned by the caller. warnings (may be NULL):
 * malloc'd text, one line per figure a model-written section cites that the
 * data does not contain (NULL when none). */
hearth_status hearth_report_render_text(const char *template_src, size_t template_len, const char *template_name,
                                        const char *data, size_t data_len, const char *data_name,
                                        const hearth_report_params *p, char **html, char **warnings);

/* Writes the HTML a report renders to as a PDF (A4): headings, paragraphs,
 * lists, tables and inline SVG charts (other markup is shown as text).
 * Through cairo, pango and librsvg. */
hearth_status hearth_report_pdf(const char *html, const char *path);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
