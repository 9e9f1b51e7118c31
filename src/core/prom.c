/*
 * prom.c — Prometheus text-format helpers: label escaping and histograms
 * (see prom.h).
 */
#include "core/prom.h"

void prom_label_value(hearth_buf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"') hearth_buf_putc(b, '\\'), hearth_buf_putc(b, (char)c);
        else if (c == '\n') hearth_buf_puts(b, "\\n");
        else hearth_buf_putc(b, c < 0x20 || c == 0x7f ? '_' : (char)c);
    }
}

void prom_hist_observe(const double *bounds, int n_bounds, uint64_t *counts, double *sum, uint64_t *n, double v) {
    int i = 0;
    while (i < n_bounds && v > bounds[i]) i++;
    counts[i]++;
    *sum += v;
    (*n)++;
}

void prom_hist_render(hearth_buf *b, const char *name, const char *labels, const double *bounds, int n_bounds,
                      const uint64_t *counts, double sum, uint64_t n) {
    const char *sep = labels && *labels ? "," : "";
    if (!labels) labels = "";
    uint64_t cum = 0;
    for (int i = 0; i < n_bounds; i++) {
        cum += counts[i];
        hearth_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i], (unsigned long long)cum);
    }
    cum += counts[n_bounds];
    hearth_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    hearth_buf_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, labels, close, sum, name, open, labels,
                      close, (unsigned long long)n);
}
