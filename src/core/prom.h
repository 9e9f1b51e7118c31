/*
 * prom.h — pieces of the Prometheus text exposition format (version 0.0.4)
 * shared by every /metrics of libhearth (hearth serve, the gateway): label
 * values and histograms (internal).
 *
 * A histogram keeps per-bucket counts (not cumulative) over fixed upper
 * bounds, plus one overflow count for +Inf; rendering makes them cumulative:
 *
 *     static const double B[] = {0.01, 0.1, 1};
 *     uint64_t counts[3 + 1] = {0}; double sum = 0; uint64_t n = 0;
 *     prom_hist_observe(B, 3, counts, &sum, &n, 0.05);
 *     prom_hist_render(&buf, "x_seconds", "model=\"m\"", B, 3, counts, sum, n);
 *
 * The caller holds whatever lock guards the counts.
 */
#ifndef HEARTH_CORE_PROM_H
#define HEARTH_CORE_PROM_H

#include "core/buf.h"

#include <stdint.h>

/* Appends s as a label value's contents (no quotes): backslash, double quote
 * and newline escaped as the format requires; other control bytes become '_'. */
void prom_label_value(hearth_buf *b, const char *s);

/* Counts v in the first bucket whose bound is >= v (counts has n_bounds + 1
 * entries; the last is +Inf). */
void prom_hist_observe(const double *bounds, int n_bounds, uint64_t *counts, double *sum, uint64_t *n, double v);

/* name_bucket{labels,le="..."} (cumulative), name_sum{labels}, name_count{labels}.
 * labels: "" or already-rendered pairs without braces ("model=\"m\""). No
 * HELP/TYPE lines: the caller writes them once per family. */
void prom_hist_render(hearth_buf *b, const char *name, const char *labels, const double *bounds, int n_bounds,
                      const uint64_t *counts, double sum, uint64_t n);

#endif
