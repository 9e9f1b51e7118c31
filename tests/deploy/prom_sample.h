/*
 * prom_sample.h — reading one sample out of a Prometheus text page, for the
 * ops tests.
 */
#ifndef HEARTH_TEST_PROM_SAMPLE_H
#define HEARTH_TEST_PROM_SAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the value of the sample line `series value` (series: name{labels}) in text, or -1 */
static inline double prom_sample(const char *text, const char *series) {
    char want[512];
    snprintf(want, sizeof want, "\n%s ", series);
    const char *p = text ? strstr(text, want) : NULL;
    return p ? strtod(p + strlen(want), NULL) : -1;
}

#endif
