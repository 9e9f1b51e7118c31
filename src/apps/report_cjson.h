/*
 * report_cjson.h — the report engine's calls on loaded data as cJSON trees
 * (internal: cJSON stays out of the public headers; library users call
 * hearth_report_render_text in include/hearth/report.h).
 */
#ifndef HEARTH_APPS_REPORT_CJSON_H
#define HEARTH_APPS_REPORT_CJSON_H

#include "hearth/report.h"

#include <cjson/cJSON.h>

/* Loads CSV or JSON (by content: '[' or '{' first means JSON) into
 * {"rows": [...], "columns": [...], "meta": {...}}; *out owned by the caller
 * (cJSON_Delete). name is used in error messages. */
hearth_status hearth_report_load_data(const char *text, size_t len, const char *name, cJSON **out);

/* One chart as an SVG string (malloc'd, owned by the caller); see
 * hearth_chart_spec in report.h. */
hearth_status hearth_chart_svg(const cJSON *data, const hearth_chart_spec *spec, char **svg);

/* Renders template_src (name for errors) over data; *html malloc'd.
 * warnings (may be NULL): malloc'd text, one line per figure a model-written
 * section cites that the data does not contain (NULL when none). */
hearth_status hearth_report_render(const char *template_src, size_t len, const char *template_name,
                                   const cJSON *data, const hearth_report_params *p, char **html, char **warnings);

/* Numbers cited in text that are not in data (rounded as written, to 1 %
 * or the last shown digit): malloc'd "cited X: not in the data\n" lines, or
 * NULL when every figure is found. */
char *hearth_report_check_figures(const char *text, const cJSON *data);

#endif
