/*
 * report.c — reports from data (include/hearth/report.h): CSV / JSON
 * loading, per-column statistics, the template's chart and section
 * directives, rendering through the sandboxed Jinja engine, and the check
 * of figures that a model-written section cites.
 */
#include "apps/report_cjson.h"

#include "core/buf.h"
#include "prompt/jinja_cjson.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the last error's message with a prefix (the message is copied first: it lives in the buffer that
 * hearth_set_error writes) */
static hearth_status error_with(hearth_status st, const char *prefix) {
    char m[768];
    snprintf(m, sizeof m, "%s", hearth_last_error());
    return hearth_set_error(st, "%s: %s", prefix, m);
}

/* ---- CSV ---------------------------------------------------------------------- */

/* one field at *p (quoted or not); advances past it and its separator; *eol set at a line end */
static char *csv_field(const char **p, const char *end, bool *eol, bool *bad_quote) {
    hearth_buf b = {0};
    const char *s = *p;
    *eol = false;
    if (s < end && *s == '"') {
        s++;
        for (;;) {
            if (s >= end) {
                *bad_quote = true;
                break;
            }
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    hearth_buf_putc(&b, '"');
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            hearth_buf_putc(&b, *s++);
        }
    } else {
        while (s < end && *s != ',' && *s != '\n' && *s != '\r') hearth_buf_putc(&b, *s++);
    }
    if (s < end && *s == ',') s++;
    else {
        if (s < end && *s == '\r') s++;
        if (s < end && *s == '\n') s++;
        *eol = true;
    }
    *p = s;
    return hearth_buf_take(&b, NULL);
}

static cJSON *csv_value(const char *f) {
    if (!*f) return cJSON_CreateNull();
    char *e;
    double v = strtod(f, &e);
    while (*e == ' ') e++;
    if (*e == 0 && e != f && isfinite(v) && !isspace((unsigned char)f[0])) return cJSON_CreateNumber(v);
    if (!strcmp(f, "true")) return cJSON_CreateTrue();
    if (!strcmp(f, "false")) return cJSON_CreateFalse();
    return cJSON_CreateString(f);
}

static hearth_status load_csv(const char *text, size_t len, const char *name, cJSON *out) {
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;   /* BOM */
    cJSON *cols = cJSON_AddArrayToObject(out, "columns"), *rows = cJSON_AddArrayToObject(out, "rows");
    bool eol = false, badq = false;
    int ncol = 0, line = 1;
    while (p < end && !eol) {
        char *f = csv_field(&p, end, &eol, &badq);
        if (!f) return HEARTH_ERR_NOMEM;
        cJSON_AddItemToArray(cols, cJSON_CreateString(f));
        free(f);
        ncol++;
    }
    if (badq) return hearth_set_error(HEARTH_ERR_FORMAT, "%s:1: unterminated quote in the header", name);
    if (ncol == 0) return hearth_set_error(HEARTH_ERR_FORMAT, "%s: empty CSV (no header row)", name);
    while (p < end) {
        line++;
        if (*p == '\n' || *p == '\r') {   /* blank line */
            if (*p == '\r') p++;
            if (p < end && *p == '\n') p++;
            continue;
        }
        cJSON *row = cJSON_CreateObject();
        cJSON_AddItemToArray(rows, row);
        int k = 0;
        eol = false;
        while (p < end && !eol) {
            const char *start = p;
            char *f = csv_field(&p, end, &eol, &badq);
            if (!f) return HEARTH_ERR_NOMEM;
            for (const char *q = start; q < p; q++) line += *q == '\n' && q + 1 < p;   /* newlines inside quotes */
            if (k < ncol) cJSON_AddItemToObject(row, cJSON_GetArrayItem(cols, k)->valuestring, csv_value(f));
            free(f);
            k++;
        }
        if (badq) return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: unterminated quote", name, line);
        if (k != ncol)
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: %d fields, the header has %d", name, line, k, ncol);
    }
    cJSON_AddObjectToObject(out, "meta");
    return HEARTH_OK;
}

static hearth_status load_json(const char *text, size_t len, const char *name, cJSON *out) {
    const char *ep = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &ep, false);
    if (!j) {
        int line = 1;
        for (const char *q = text; ep && q < ep && q < text + len; q++) line += *q == '\n';
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: malformed JSON", name, line);
    }
    cJSON *rows = NULL, *meta = NULL;
    if (cJSON_IsArray(j)) {
        rows = j;
        meta = cJSON_CreateObject();
    } else if (cJSON_IsObject(j) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "rows"))) {
        rows = cJSON_DetachItemFromObjectCaseSensitive(j, "rows");
        meta = j;
    } else {
        cJSON_Delete(j);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: expected an array of objects or an object with \"rows\"", name);
    }
    cJSON *cols = cJSON_CreateArray(), *row;
    int i = 0;
    cJSON_ArrayForEach(row, rows) {
        if (!cJSON_IsObject(row)) {
            cJSON_Delete(cols), cJSON_Delete(rows), cJSON_Delete(meta);
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: row %d is not an object", name, i);
        }
        const cJSON *c;
        cJSON_ArrayForEach(c, row) {
            bool seen = false;
            const cJSON *k;
            cJSON_ArrayForEach(k, cols) seen = seen || !strcmp(k->valuestring, c->string);
            if (!seen) cJSON_AddItemToArray(cols, cJSON_CreateString(c->string));
        }
        i++;
    }
    cJSON_AddItemToObject(out, "columns", cols);
    cJSON_AddItemToObject(out, "rows", rows);
    cJSON_AddItemToObject(out, "meta", meta);
    return HEARTH_OK;
}

hearth_status hearth_report_load_data(const char *text, size_t len, const char *name, cJSON **out) {
    *out = cJSON_CreateObject();
    if (!*out) return HEARTH_ERR_NOMEM;
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i])) i++;
    hearth_status st = i < len && (text[i] == '[' || text[i] == '{') ? load_json(text, len, name, *out)
                                                                      : load_csv(text, len, name, *out);
    if (st) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st;
}

/* ---- statistics ------------------------------------------------------------------ */

static double round_sig(double v) {
    if (v == 0 || !isfinite(v)) return v;
    double p = pow(10, 6 - (int)ceil(log10(fabs(v))));
    return round(v * p) / p;
}

static cJSON *column_stats(const cJSON *data) {
    cJSON *stats = cJSON_CreateObject();
    const cJSON *col, *rows = cJSON_GetObjectItemCaseSensitive(data, "rows");
    cJSON_ArrayForEach(col, cJSON_GetObjectItemCaseSensitive(data, "columns")) {
        double mn = INFINITY, mx = -INFINITY, sum = 0, first = NAN, last = NAN;
        int n = 0;
        const cJSON *row;
        bool numeric = true;
        cJSON_ArrayForEach(row, rows) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, col->valuestring);
            double x;
            if (cJSON_IsNumber(v)) x = v->valuedouble;
            else if (cJSON_IsBool(v)) x = cJSON_IsTrue(v);
            else {
                if (v && !cJSON_IsNull(v)) numeric = false;
                continue;
            }
            mn = fmin(mn, x), mx = fmax(mx, x), sum += x, n++;
            if (isnan(first)) first = x;
            last = x;
        }
        if (!numeric || n == 0) continue;
        cJSON *s = cJSON_AddObjectToObject(stats, col->valuestring);
        cJSON_AddNumberToObject(s, "n", n);
        cJSON_AddNumberToObject(s, "min", mn);
        cJSON_AddNumberToObject(s, "max", mx);
        cJSON_AddNumberToObject(s, "sum", round_sig(sum));
        cJSON_AddNumberToObject(s, "mean", round_sig(sum / n));
        cJSON_AddNumberToObject(s, "first", first);
        cJSON_AddNumberToObject(s, "last", last);
        cJSON_AddNumberToObject(s, "change", round_sig(last - first));
        if (first != 0) cJSON_AddNumberToObject(s, "change_pct", round(1000.0 * (last - first) / fabs(first)) / 10.0);
    }
    return stats;
}

/* ---- directives ------------------------------------------------------------------------ */

/* value of key=... in a directive (quoted or not) into dst */
static bool directive_arg(const char *d, size_t n, const char *key, char *dst, size_t cap) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl < n; i++) {
        if ((i == 0 || d[i - 1] == ' ') && !strncmp(d + i, key, kl) && d[i + kl] == '=') {
            const char *v = d + i + kl + 1, *e;
            if (*v == '"') {
                v++;
                e = memchr(v, '"', (size_t)(d + n - v));
                if (!e) return false;
            } else {
                e = v;
                while (e < d + n && *e != ' ') e++;
            }
            size_t l = (size_t)(e - v);
            if (l >= cap) l = cap - 1;
            memcpy(dst, v, l);
            dst[l] = 0;
            return true;
        }
    }
    return false;
}

/* section text with the figures checked */
typedef struct section_ctx {
    const hearth_report_params *p;
    const cJSON *data, *stats;
    hearth_buf *warnings;
} section_ctx;

/* the model's text for a section: through the stored prompt `ref` when one is
 * named, else from the built-in instruction prompt */
static hearth_status section_text(section_ctx *sc, const char *instr, const char *ref, char **text) {
    char *st = cJSON_PrintUnformatted(sc->stats);
    char *cols = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(sc->data, "columns"));
    hearth_status s;
    if (ref) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "summary", st ? st : "{}");
        cJSON_AddStringToObject(v, "columns", cols ? cols : "[]");
        cJSON_AddStringToObject(v, "task", instr);
        char *vars = cJSON_PrintUnformatted(v);
        cJSON_Delete(v);
        s = vars ? sc->p->prompt_writer(ref, vars, text, sc->p->prompt_user)
                 : hearth_set_error(HEARTH_ERR_NOMEM, "report: out of memory");
        free(vars);
    } else {
        hearth_buf prompt = {0};
        hearth_buf_printf(&prompt,
                          "You write one short paragraph of a business report. Use only figures from the data "
                          "summary below and quote them exactly as given.\nColumns: %s\nSummary per column (n, min, "
                          "max, mean, sum, first, last, change, change_pct): %s\nTask: %s\nParagraph:",
                          cols ? cols : "[]", st ? st : "{}", instr);
        s = prompt.oom ? hearth_set_error(HEARTH_ERR_NOMEM, "report: out of memory")
                       : sc->p->writer(prompt.data, text, sc->p->writer_user);
        hearth_buf_free(&prompt);
    }
    free(st), free(cols);
    return s;
}

static char *write_section(section_ctx *sc, const char *name, const char *instr, const char *ref) {
    if (!sc->p || !(ref ? sc->p->prompt_writer != NULL : sc->p->writer != NULL)) {
        hearth_buf b = {0};
        if (ref)
            hearth_buf_printf(&b, "(section \"%s\" is written through the stored prompt %s: give -m MODEL and "
                                  "--prompts DB)", name, ref);
        else
            hearth_buf_printf(&b, "(section \"%s\" is written by a model: give -m MODEL)", name);
        return hearth_buf_take(&b, NULL);
    }
    char *text = NULL;
    if (section_text(sc, instr, ref, &text) || !text) {
        hearth_buf_printf(sc->warnings, "section %s: the model gave no text (%s)\n", name, hearth_last_error());
        free(text);
        return strdup("");
    }
    char *bad = hearth_report_check_figures(text, sc->data);
    if (bad) {
        hearth_buf_printf(sc->warnings, "section %s: %s", name, bad);
        free(bad);
    }
    /* the model's text goes into HTML: escaped, so that it can only ever be text */
    hearth_buf esc = {0};
    for (const char *c = text; *c; c++) {
        if (*c == '<') hearth_buf_puts(&esc, "&lt;");
        else if (*c == '>') hearth_buf_puts(&esc, "&gt;");
        else if (*c == '&') hearth_buf_puts(&esc, "&amp;");
        else hearth_buf_putc(&esc, *c);
    }
    free(text);
    return hearth_buf_take(&esc, NULL);
}

/* parses {# chart ... #} and {# section ... #} lines into charts / sections */
static hearth_status directives(const char *src, size_t len, const char *tname, const cJSON *data, section_ctx *sc,
                                cJSON *charts, cJSON *sections) {
    int line = 1;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\n') line++;
        if (i + 2 >= len || src[i] != '{' || src[i + 1] != '#') continue;
        const char *d = src + i + 2;
        while (d < src + len && *d == ' ') d++;
        const char *end = strstr(d, "#}");
        if (!end || end > src + len) break;
        size_t n = (size_t)(end - d);
        while (n && d[n - 1] == ' ') n--;
        bool chart = n > 6 && !strncmp(d, "chart ", 6), section = n > 8 && !strncmp(d, "section ", 8);
        if (chart) {
            char name[64] = "", kind[16] = "", x[64], y[256], by[64], title[256], bins[16];
            if (sscanf(d + 6, "%63s %15s", name, kind) != 2)
                return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: chart needs a name and a kind", tname, line);
            hearth_chart_spec s = {.kind = kind};
            if (directive_arg(d, n, "x", x, sizeof x)) s.x = x;
            if (directive_arg(d, n, "y", y, sizeof y)) s.y = y;
            if (directive_arg(d, n, "by", by, sizeof by)) s.by = by;
            if (directive_arg(d, n, "title", title, sizeof title)) s.title = title;
            if (directive_arg(d, n, "bins", bins, sizeof bins)) s.bins = atoi(bins);
            char *svg = NULL;
            hearth_status st = hearth_chart_svg(data, &s, &svg);
            if (st) {
                char pre[600];
                snprintf(pre, sizeof pre, "%s:%d", tname, line);
                return error_with(st, pre);
            }
            cJSON_AddItemToObject(charts, name, cJSON_CreateString(svg));
            free(svg);
        } else if (section) {
            char name[64] = "", instr[1024] = "", ref[256] = "";
            const char *q = d + 8;
            if (sscanf(q, "%63s", name) != 1 || strchr(name, '='))
                return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: section needs a name", tname, line);
            bool stored = directive_arg(d, n, "prompt", ref, sizeof ref);
            if (stored && !ref[0])
                return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: section %s: prompt= names no prompt", tname, line, name);
            const char *o = memchr(q, '"', (size_t)(d + n - q)), *c = o ? memchr(o + 1, '"', (size_t)(d + n - o - 1)) : NULL;
            if ((!o || !c) && !stored)
                return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: section needs a \"quoted instruction\" or prompt=NAME@label",
                                        tname, line);
            if (o && c) snprintf(instr, sizeof instr, "%.*s", (int)(c - o - 1), o + 1);
            char *text = write_section(sc, name, instr, stored ? ref : NULL);
            cJSON_AddItemToObject(sections, name, cJSON_CreateString(text ? text : ""));
            free(text);
        }
    }
    return HEARTH_OK;
}

hearth_status hearth_report_render(const char *src, size_t len, const char *tname, const cJSON *data,
                                   const hearth_report_params *p, char **html, char **warnings) {
    *html = NULL;
    if (warnings) *warnings = NULL;
    hearth_jinja_template *t = NULL;
    hearth_status st = hearth_jinja_parse(src, len, &t);
    if (st) return error_with(st, tname);
    cJSON *ctx = cJSON_CreateObject();
    cJSON *stats = column_stats(data);
    hearth_buf warn = {0};
    section_ctx sc = {p, data, stats, &warn};
    cJSON *charts = cJSON_CreateObject(), *sections = cJSON_CreateObject();
    st = directives(src, len, tname, data, &sc, charts, sections);
    if (!st) {
        cJSON_AddItemToObject(ctx, "rows", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(data, "rows"), true));
        cJSON_AddItemToObject(ctx, "columns", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(data, "columns"), true));
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(data, "meta");
        cJSON_AddItemToObject(ctx, "meta", meta ? cJSON_Duplicate(meta, true) : cJSON_CreateObject());
        cJSON_AddItemToObject(ctx, "stats", stats);
        stats = NULL;
        cJSON_AddItemToObject(ctx, "charts", charts);
        cJSON_AddItemToObject(ctx, "sections", sections);
        charts = sections = NULL;
        cJSON_AddStringToObject(ctx, "title", p && p->title ? p->title : "Report");
        char now[32];
        time_t tt = time(NULL);
        struct tm tmv;
        gmtime_r(&tt, &tmv);
        strftime(now, sizeof now, "%Y-%m-%d %H:%M", &tmv);
        cJSON_AddStringToObject(ctx, "generated", now);
        hearth_jinja_options o = hearth_jinja_default_options();
        o.max_output = 64u << 20;
        st = hearth_jinja_render(t, ctx, &o, html, NULL);
        if (st) st = error_with(st, tname);
    }
    cJSON_Delete(stats), cJSON_Delete(charts), cJSON_Delete(sections), cJSON_Delete(ctx);
    hearth_jinja_free(t);
    if (warnings && warn.len) *warnings = hearth_buf_take(&warn, NULL);
    hearth_buf_free(&warn);
    return st;
}

/* ---- figure check ------------------------------------------------------------------------- */

/* true when some number in v (recursively) matches x to the precision x was written with */
static bool figure_in(const cJSON *v, double x, double tol) {
    if (cJSON_IsNumber(v)) {
        double y = v->valuedouble;
        return fabs(y - x) <= tol || fabs(fabs(y) - fabs(x)) <= tol;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, v) if (figure_in(c, x, tol)) return true;
    return false;
}

char *hearth_report_check_figures(const char *text, const cJSON *data) {
    hearth_buf out = {0};
    cJSON *stats = column_stats(data);
    const char *s = text;
    while (*s) {
        if (!isdigit((unsigned char)*s) || (s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '.'))) {
            s++;
            continue;
        }
        /* a number as written: digits, thousands separators, one decimal point, maybe k/M/% after */
        char num[64];
        size_t n = 0;
        int decimals = -1;
        const char *q = s;
        while (*q && n < sizeof num - 1) {
            if (isdigit((unsigned char)*q)) {
                num[n++] = *q;
                if (decimals >= 0) decimals++;
            } else if (*q == ',' && isdigit((unsigned char)q[1]) && decimals < 0) {
            } else if (*q == '.' && isdigit((unsigned char)q[1]) && decimals < 0) {
                num[n++] = '.';
                decimals = 0;
            } else break;
            q++;
        }
        num[n] = 0;
        double x = atof(num), scale = 1;
        if (*q == 'k' || *q == 'K') scale = 1e3;
        else if (*q == 'M' || (*q == ' ' && !strncmp(q, " million", 8))) scale = 1e6;
        bool year = decimals < 0 && x >= 1900 && x <= 2100, small = decimals < 0 && x < 10;
        if (!year && !small) {
            double tol = 0.5 * pow(10, -(decimals < 0 ? 0 : decimals)) * scale;
            x *= scale;
            tol = fmax(tol, 0.005 * fabs(x));
            if (!figure_in(cJSON_GetObjectItemCaseSensitive(data, "rows"), x, tol) && !figure_in(stats, x, tol))
                hearth_buf_printf(&out, "cited %.*s: not in the data\n", (int)(q - s), s);
        }
        s = q;
    }
    cJSON_Delete(stats);
    if (!out.len) {
        hearth_buf_free(&out);
        return NULL;
    }
    return hearth_buf_take(&out, NULL);
}

hearth_status hearth_report_render_text(const char *template_src, size_t template_len, const char *template_name,
                                        const char *data, size_t data_len, const char *data_name,
                                        const hearth_report_params *p, char **html, char **warnings) {
    if (!template_src || !data || !html) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "report: template, data and html are required");
    cJSON *d = NULL;
    hearth_status st = hearth_report_load_data(data, data_len, data_name ? data_name : "data", &d);
    if (st != HEARTH_OK) return st;
    st = hearth_report_render(template_src, template_len, template_name ? template_name : "template", d, p, html, warnings);
    cJSON_Delete(d);
    return st;
}
