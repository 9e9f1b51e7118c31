/*
 * unicode.c — code point classes, case mappings and first-of-NFD (see
 * utf8.h), for the tokenizers and the Jinja engine. The data comes from the
 * generated unicode_tables.c; the per-code-point flag array is expanded
 * once, on first use, behind pthread_once.
 */
#include "core/utf8.h"

#include <pthread.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------
 * flag lookup
 * ------------------------------------------------------------------------ */
static uint16_t *g_flags;   /* HEARTH_UC_MAX entries, or NULL if allocation failed */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build_flags(void) {
    uint16_t *f = malloc(sizeof(uint16_t) * HEARTH_UC_MAX);
    if (!f) return;
    for (size_t r = 0; r < hearth_uc_n_flag_ranges; r++) {
        uint32_t a = hearth_uc_flag_ranges[r][0];
        uint32_t b = r + 1 < hearth_uc_n_flag_ranges ? hearth_uc_flag_ranges[r + 1][0] : HEARTH_UC_MAX;
        for (uint32_t c = a; c < b; c++) f[c] = (uint16_t)hearth_uc_flag_ranges[r][1];
    }
    for (size_t i = 0; i < hearth_uc_n_whitespace; i++) f[hearth_uc_whitespace[i]] |= HEARTH_UC_SPACE;
    g_flags = f;
}

/* slow path when the table could not be allocated: binary search the runs */
static uint16_t flags_search(uint32_t cp) {
    size_t lo = 0, hi = hearth_uc_n_flag_ranges;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (hearth_uc_flag_ranges[mid][0] <= cp) lo = mid; else hi = mid;
    }
    uint16_t f = (uint16_t)hearth_uc_flag_ranges[lo][1];
    for (size_t i = 0; i < hearth_uc_n_whitespace; i++)
        if (hearth_uc_whitespace[i] == cp) f |= HEARTH_UC_SPACE;
    return f;
}

uint16_t hearth_uc_flags(uint32_t cp) {
    if (cp >= HEARTH_UC_MAX) return 0;
    pthread_once(&g_once, build_flags);
    return g_flags ? g_flags[cp] : flags_search(cp);
}

/* binary search of a {cp, mapped} table */
static uint32_t map_cp(const uint32_t (*t)[2], size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid][0] < cp) lo = mid + 1; else hi = mid;
    }
    return lo < n && t[lo][0] == cp ? t[lo][1] : cp;
}

uint32_t hearth_uc_tolower(uint32_t cp) {
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    return map_cp(hearth_uc_lower, hearth_uc_n_lower, cp);
}

uint32_t hearth_uc_toupper(uint32_t cp) {
    if (cp < 0x80) return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    return map_cp(hearth_uc_upper, hearth_uc_n_upper, cp);
}

uint32_t hearth_uc_totitle(uint32_t cp) {
    uint32_t t = map_cp(hearth_uc_title, hearth_uc_n_title, cp);
    return t != cp ? t : hearth_uc_toupper(cp);
}

uint32_t hearth_uc_nfd_first(uint32_t cp) {
    if (cp < 0xC0) return cp;
    size_t lo = 0, hi = hearth_uc_n_nfd_ranges;
    while (lo < hi) {   /* first range whose `last` >= cp */
        size_t mid = (lo + hi) / 2;
        if (hearth_uc_nfd_ranges[mid][1] < cp) lo = mid + 1; else hi = mid;
    }
    if (lo < hearth_uc_n_nfd_ranges && hearth_uc_nfd_ranges[lo][0] <= cp) return hearth_uc_nfd_ranges[lo][2];
    return cp;
}
