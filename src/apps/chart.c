/*
 * chart.c — SVG charts drawn by hearth for reports: line / time series
 * (one or more columns against a category or number axis), histograms,
 * bars per category (counts or sums) and rates per group (mean of a 0/1
 * column in %). Plain SVG 1.1 with inline attributes only, so that the
 * HTML stays self-contained and librsvg draws the same thing into PDFs.
 */
#include "apps/report_cjson.h"

#include "core/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const palette[] = {"#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096"};
#define FONT "font-family=\"DejaVu Sans, Arial, sans-serif\""

typedef struct frame {
    double W, H, l, r, t, b;   /* size and margins */
    double y0, y1;             /* value range of the y axis */
} frame;

static double px_y(const frame *f, double v) { return f->t + (f->H - f->t - f->b) * (1 - (v - f->y0) / (f->y1 - f->y0)); }

static void xml_text(hearth_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': hearth_buf_puts(b, "&amp;"); break;
        case '<': hearth_buf_puts(b, "&lt;"); break;
        case '>': hearth_buf_puts(b, "&gt;"); break;
        case '"': hearth_buf_puts(b, "&quot;"); break;
        default: hearth_buf_putc(b, *s);
        }
    }
}

/* a step of 1, 2 or 5 x 10^k giving about n ticks over span */
static double nice_step(double span, int n) {
    double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fmt_num(char *dst, size_t cap, double v) {
    double a = fabs(v);
    if (a >= 1e6) snprintf(dst, cap, "%.3gM", v / 1e6);
    else if (a >= 1e4) snprintf(dst, cap, "%.0fk", v / 1e3);
    else if (a >= 100 || v == floor(v)) snprintf(dst, cap, "%.0f", v);
    else snprintf(dst, cap, "%.3g", v);
}

/* opens the svg, title, y grid and labels; adjusts f->y0/y1 to nice ticks */
static void begin(hearth_buf *b, frame *f, const char *title, double lo, double hi, bool zero) {
    if (zero && lo > 0) lo = 0;
    if (zero && hi < 0) hi = 0;
    if (!(hi > lo)) hi = lo + 1;
    double step = nice_step(hi - lo, 5);
    f->y0 = floor(lo / step) * step;
    f->y1 = ceil(hi / step) * step;
    if (f->y1 <= f->y0) f->y1 = f->y0 + step;
    hearth_buf_printf(b,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
                      "%.0f\" role=\"img\">",
                      f->W, f->H, f->W, f->H);
    hearth_buf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>", f->W, f->H);
    if (title) {
        hearth_buf_printf(b, "<text x=\"%.0f\" y=\"18\" font-size=\"14\" font-weight=\"bold\" fill=\"#1a202c\" " FONT ">",
                          f->l);
        xml_text(b, title);
        hearth_buf_puts(b, "</text>");
    }
    int ticks = 0;
    for (double v = f->y0; v <= f->y1 + step * 0.01 && ticks < 100; v += step, ticks++) {
        double y = px_y(f, v);
        char lab[32];
        fmt_num(lab, sizeof lab, fabs(v) < step * 1e-9 ? 0 : v);
        hearth_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e8f0\"/>", f->l, y,
                          f->W - f->r, y);
        hearth_buf_printf(b,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#4a5568\" " FONT
                          ">%s</text>",
                          f->l - 6, y + 4, lab);
    }
    hearth_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#4a5568\"/>", f->l,
                      px_y(f, f->y0), f->W - f->r, px_y(f, f->y0));
}

/* x labels at positions, at most ~8 shown */
static void x_labels(hearth_buf *b, const frame *f, const char *const *labels, const double *xs, int n) {
    int every = n > 8 ? (n + 7) / 8 : 1;
    for (int i = 0; i < n; i += every) {
        hearth_buf_printf(b,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#4a5568\" " FONT
                          ">",
                          xs[i], f->H - f->b + 16);
        xml_text(b, labels[i]);
        hearth_buf_puts(b, "</text>");
    }
}

/* ---- data access ------------------------------------------------------------------ */

static const cJSON *rows_of(const cJSON *data) { return cJSON_GetObjectItemCaseSensitive(data, "rows"); }

static bool has_column(const cJSON *data, const char *col) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(data, "columns")) {
        if (cJSON_IsString(c) && !strcmp(c->valuestring, col)) return true;
    }
    return false;
}

/* value of a cell as a number (bools 0/1); NAN when not numeric */
static double num_of(const cJSON *row, const char *col) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, col);
    /* values beyond +-1e15 are not drawn (they would overflow the axis arithmetic) */
    if (cJSON_IsNumber(v)) return fabs(v->valuedouble) <= 1e15 ? v->valuedouble : NAN;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? 1 : 0;
    if (cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "true")) return 1;
        if (!strcmp(v->valuestring, "false")) return 0;
    }
    return NAN;
}

/* a cell as a label (malloc'd) */
static char *label_of(const cJSON *row, const char *col) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, col);
    char buf[64];
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        fmt_num(buf, sizeof buf, v->valuedouble);
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
            snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
        return strdup(buf);
    }
    if (cJSON_IsBool(v)) return strdup(cJSON_IsTrue(v) ? "true" : "false");
    return strdup("(none)");
}

/* categories of col in order of first appearance (at most 60) */
typedef struct cats {
    char *name[60];
    double sum[60], cnt[60];
    int n;
} cats;

static int cat_index(cats *c, char *name) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->name[i], name)) {
            free(name);
            return i;
        }
    if (c->n == 60) {
        free(name);
        return -1;
    }
    c->name[c->n] = name;
    c->sum[c->n] = c->cnt[c->n] = 0;
    return c->n++;
}

static void cats_free(cats *c) {
    for (int i = 0; i < c->n; i++) free(c->name[i]);
}

/* ---- the charts ---------------------------------------------------------------------------- */

static hearth_status chart_line(hearth_buf *b, frame *f, const cJSON *data, const hearth_chart_spec *s, bool rate) {
    const cJSON *rows = rows_of(data), *row;
    /* x positions: one per distinct x (rate) or per row (line) */
    cats xc = {0};
    char *ycols[6];
    int ny = 0;
    char *ylist = strdup(s->y);
    if (!ylist) return HEARTH_ERR_NOMEM;
    for (char *tok = strtok(ylist, ","); tok && ny < 6; tok = strtok(NULL, ",")) ycols[ny++] = tok;
    for (int k = 0; k < ny; k++)
        if (!has_column(data, ycols[k])) {
            hearth_status st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: no column \"%s\"", ycols[k]);
            free(ylist);
            return st;
        }
    if (ny == 0) {
        free(ylist);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: y= names no column");
    }
    int n_rows = cJSON_GetArraySize(rows);
    double *vals = calloc((size_t)(n_rows ? n_rows : 1) * ny, sizeof(double));
    char **labels = calloc((size_t)(n_rows ? n_rows : 1), sizeof(char *));
    int n = 0;
    double lo = INFINITY, hi = -INFINITY;
    if (!vals || !labels) {
        free(vals), free(labels), free(ylist);
        return HEARTH_ERR_NOMEM;
    }
    if (rate) {
        cJSON_ArrayForEach(row, rows) {
            int i = cat_index(&xc, label_of(row, s->x));
            double v = num_of(row, ycols[0]);
            if (i >= 0 && !isnan(v)) xc.sum[i] += v, xc.cnt[i] += 1;
        }
        for (int i = 0; i < xc.n; i++) {
            labels[n] = xc.name[i];
            vals[n] = xc.cnt[i] ? 100.0 * xc.sum[i] / xc.cnt[i] : NAN;
            if (!isnan(vals[n])) lo = fmin(lo, vals[n]), hi = fmax(hi, vals[n]);
            n++;
        }
        ny = 1;
    } else {
        cJSON_ArrayForEach(row, rows) {
            labels[n] = label_of(row, s->x);
            for (int k = 0; k < ny; k++) {
                double v = num_of(row, ycols[k]);
                vals[(size_t)n * ny + k] = v;
                if (!isnan(v)) lo = fmin(lo, v), hi = fmax(hi, v);
            }
            n++;
        }
    }
    if (!isfinite(lo)) lo = 0, hi = 1;
    double span = hi - lo;
    begin(b, f, s->title, rate ? 0 : lo - 0.05 * span, hi + 0.05 * span, rate || lo >= 0);
    double *xs = malloc((size_t)(n ? n : 1) * sizeof(double));
    double pw = f->W - f->l - f->r;
    for (int i = 0; xs && i < n; i++) xs[i] = f->l + (n > 1 ? pw * i / (n - 1) : pw / 2);
    for (int k = 0; xs && k < ny; k++) {
        hearth_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", palette[k % 6]);
        for (int i = 0; i < n; i++) {
            double v = vals[(size_t)i * ny + k];
            if (!isnan(v)) hearth_buf_printf(b, "%.1f,%.1f ", xs[i], px_y(f, v));
        }
        hearth_buf_puts(b, "\"/>");
        if (n <= 40)
            for (int i = 0; i < n; i++) {
                double v = vals[(size_t)i * ny + k];
                if (!isnan(v))
                    hearth_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", xs[i], px_y(f, v),
                                      palette[k % 6]);
            }
        if (ny > 1 || rate) {   /* legend */
            double lx = f->l + 8 + 150 * k;
            hearth_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%s\"/>", lx, f->t + 4,
                              palette[k % 6]);
            hearth_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#2d3748\" " FONT ">", lx + 16,
                              f->t + 9);
            xml_text(b, rate ? "%" : ycols[k]);
            if (rate) {
                hearth_buf_puts(b, " ");
                xml_text(b, ycols[0]);
            }
            hearth_buf_puts(b, "</text>");
        }
    }
    if (xs) x_labels(b, f, (const char *const *)labels, xs, n);
    hearth_buf_puts(b, "</svg>");
    if (!rate)
        for (int i = 0; i < n; i++) free(labels[i]);
    cats_free(&xc);
    free(xs), free(vals), free(labels), free(ylist);
    return HEARTH_OK;
}

static hearth_status chart_hist(hearth_buf *b, frame *f, const cJSON *data, const hearth_chart_spec *s) {
    if (!has_column(data, s->y)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: no column \"%s\"", s->y);
    int bins = s->bins > 0 ? (s->bins > 200 ? 200 : s->bins) : 20;
    double lo = INFINITY, hi = -INFINITY;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows_of(data)) {
        double v = num_of(row, s->y);
        if (!isnan(v)) lo = fmin(lo, v), hi = fmax(hi, v);
    }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (hi <= lo) hi = lo + 1;
    double cnt[200] = {0}, top = 0;
    cJSON_ArrayForEach(row, rows_of(data)) {
        double v = num_of(row, s->y);
        if (isnan(v)) continue;
        double fr = (v - lo) / (hi - lo);
        int i = isfinite(fr) ? (int)(fr * bins) : 0;
        if (i >= bins) i = bins - 1;
        if (i < 0) i = 0;
        cnt[i]++;
    }
    for (int i = 0; i < bins; i++) top = fmax(top, cnt[i]);
    begin(b, f, s->title, 0, top, true);
    double pw = f->W - f->l - f->r, bw = pw / bins;
    for (int i = 0; i < bins; i++) {
        double y = px_y(f, cnt[i]);
        hearth_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                          f->l + i * bw + 1, y, bw - 2 > 1 ? bw - 2 : 1, px_y(f, 0) - y, palette[0]);
    }
    char l0[32], l1[32], lm[32];
    fmt_num(l0, sizeof l0, lo);
    fmt_num(lm, sizeof lm, (lo + hi) / 2);
    fmt_num(l1, sizeof l1, hi);
    const char *labs[3] = {l0, lm, l1};
    double xs[3] = {f->l, f->l + pw / 2, f->l + pw};
    x_labels(b, f, labs, xs, 3);
    hearth_buf_printf(b,
                      "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#4a5568\" " FONT ">",
                      f->W - f->r, f->H - 6);
    xml_text(b, s->y);
    hearth_buf_puts(b, "</text></svg>");
    return HEARTH_OK;
}

static hearth_status chart_bars(hearth_buf *b, frame *f, const cJSON *data, const hearth_chart_spec *s) {
    if (!has_column(data, s->by)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: no column \"%s\"", s->by);
    if (s->y && !has_column(data, s->y)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: no column \"%s\"", s->y);
    cats c = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, rows_of(data)) {
        int i = cat_index(&c, label_of(row, s->by));
        if (i < 0) continue;
        double v = s->y ? num_of(row, s->y) : 1;
        if (!isnan(v)) c.sum[i] += v;
        c.cnt[i]++;
    }
    double lo = 0, hi = 0;
    for (int i = 0; i < c.n; i++) lo = fmin(lo, c.sum[i]), hi = fmax(hi, c.sum[i]);
    begin(b, f, s->title, lo, hi, true);
    double pw = f->W - f->l - f->r, bw = c.n ? pw / c.n : pw;
    double *xs = malloc((size_t)(c.n ? c.n : 1) * sizeof(double));
    for (int i = 0; i < c.n; i++) {
        double y0 = px_y(f, 0), y = px_y(f, c.sum[i]);
        hearth_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                          f->l + i * bw + bw * 0.15, fmin(y, y0), bw * 0.7, fabs(y0 - y), palette[i % 6]);
        char v[32];
        fmt_num(v, sizeof v, c.sum[i]);
        hearth_buf_printf(b,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1a202c\" " FONT
                          ">%s</text>",
                          f->l + (i + 0.5) * bw, fmin(y, y0) - 4, v);
        if (xs) xs[i] = f->l + (i + 0.5) * bw;
    }
    if (xs) x_labels(b, f, (const char *const *)c.name, xs, c.n);
    hearth_buf_puts(b, "</svg>");
    free(xs);
    cats_free(&c);
    return HEARTH_OK;
}

hearth_status hearth_chart_svg(const cJSON *data, const hearth_chart_spec *s, char **svg) {
    *svg = NULL;
    if (!cJSON_IsArray(rows_of(data))) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: data has no rows");
    frame f = {s->width > 0 ? s->width : 640, s->height > 0 ? s->height : 280, 56, 20, s->title ? 40 : 16, 36, 0, 1};
    hearth_buf b = {0};
    hearth_status st;
    const char *k = s->kind ? s->kind : "";
    if (!strcmp(k, "line") || !strcmp(k, "rate")) {
        if (!s->x || !s->y) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart %s: needs x= and y=", k);
        if (!has_column(data, s->x)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: no column \"%s\"", s->x);
        st = chart_line(&b, &f, data, s, k[0] == 'r');
    } else if (!strcmp(k, "hist")) {
        if (!s->y) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart hist: needs y=");
        st = chart_hist(&b, &f, data, s);
    } else if (!strcmp(k, "bars")) {
        if (!s->by) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart bars: needs by=");
        st = chart_bars(&b, &f, data, s);
    } else {
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chart: unknown kind \"%s\" (line, hist, bars, rate)", k);
    }
    if (st) {
        hearth_buf_free(&b);
        return st;
    }
    if (b.oom) {
        hearth_buf_free(&b);
        return HEARTH_ERR_NOMEM;
    }
    *svg = hearth_buf_take(&b, NULL);
    return HEARTH_OK;
}
