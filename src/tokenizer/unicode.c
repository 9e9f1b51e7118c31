/*
 * unicode.c — code point classes, lower-casing, first-of-NFD and lenient
 * UTF-8 decoding for the tokenizers. The data comes from the generated
 * unicode_tables.c; the per-code-point flag array is expanded once, on
 * first use, behind pthread_once.
 */
#include "tokenizer/unicode.h"

#include <pthread.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------
 * flag lookup
 * ------------------------------------------------------------------------ */
static uint16_t *g_flags;   /* UC_MAX entries, or NULL if allocation failed */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build_flags(void) {
    uint16_t *f = malloc(sizeof(uint16_t) * UC_MAX);
    if (!f) return;
    for (size_t r = 0; r < tok_uc_n_flag_ranges; r++) {
        uint32_t a = tok_uc_flag_ranges[r][0];
        uint32_t b = r + 1 < tok_uc_n_flag_ranges ? tok_uc_flag_ranges[r + 1][0] : UC_MAX;
        for (uint32_t c = a; c < b; c++) f[c] = (uint16_t)tok_uc_flag_ranges[r][1];
    }
    for (size_t i = 0; i < tok_uc_n_whitespace; i++) f[tok_uc_whitespace[i]] |= UC_SPACE;
    g_flags = f;
}

/* slow path when the table could not be allocated: binary search the runs */
static uint16_t flags_search(uint32_t cp) {
    size_t lo = 0, hi = tok_uc_n_flag_ranges;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tok_uc_flag_ranges[mid][0] <= cp) lo = mid; else hi = mid;
    }
    uint16_t f = (uint16_t)tok_uc_flag_ranges[lo][1];
    for (size_t i = 0; i < tok_uc_n_whitespace; i++)
        if (tok_uc_whitespace[i] == cp) f |= UC_SPACE;
    return f;
}

uint16_t uc_flags(uint32_t cp) {
    if (cp >= UC_MAX) return 0;
    pthread_once(&g_once, build_flags);
    return g_flags ? g_flags[cp] : flags_search(cp);
}

uint32_t uc_tolower(uint32_t cp) {
    size_t lo = 0, hi = tok_uc_n_lower;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tok_uc_lower[mid][0] < cp) lo = mid + 1; else hi = mid;
    }
    return lo < tok_uc_n_lower && tok_uc_lower[lo][0] == cp ? tok_uc_lower[lo][1] : cp;
}

uint32_t uc_nfd_first(uint32_t cp) {
    if (cp < 0xC0) return cp;
    size_t lo = 0, hi = tok_uc_n_nfd_ranges;
    while (lo < hi) {   /* first range whose `last` >= cp */
        size_t mid = (lo + hi) / 2;
        if (tok_uc_nfd_ranges[mid][1] < cp) lo = mid + 1; else hi = mid;
    }
    if (lo < tok_uc_n_nfd_ranges && tok_uc_nfd_ranges[lo][0] <= cp) return tok_uc_nfd_ranges[lo][2];
    return cp;
}

/* ------------------------------------------------------------------------
 * UTF-8
 * ------------------------------------------------------------------------ */
uint32_t uc_decode(const char *str, size_t n, size_t *pi) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = *pi;
    unsigned c = s[i];
    if (c < 0x80) { *pi = i + 1; return c; }
    if ((c & 0x40) == 0) goto bad;   /* stray continuation byte */
    if ((c & 0x20) == 0) {
        if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) goto bad;
        *pi = i + 2;
        return ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    }
    if ((c & 0x10) == 0) {
        if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) goto bad;
        *pi = i + 3;
        return ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    }
    if ((c & 0x08) == 0) {
        if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
            goto bad;
        uint32_t cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
        if (cp >= UC_MAX) goto bad;   /* not encodable again: treat as malformed */
        *pi = i + 4;
        return cp;
    }
bad:
    *pi = i + 1;
    return 0xFFFD;
}

int uc_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= UC_MAX) cp = 0xFFFD;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}
