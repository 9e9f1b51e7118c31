/* utf8.c — strict and lenient UTF-8 decoding, encoding, validation. */
#include "core/utf8.h"

/* Byte length a lead byte announces: 0 for a continuation or invalid lead. */
static size_t lead_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;   /* continuation, or overlong 2-byte lead C0/C1 */
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    if (c < 0xF5) return 4;
    return 0;
}

int32_t hearth_utf8_decode(const char *s, size_t n, size_t *len) {
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0) { *len = 0; return -1; }
    size_t k = lead_len(p[0]);
    *len = 1;
    if (k == 0 || k > n) return -1;
    if (k == 1) return p[0];
    uint32_t cp = p[0] & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *len = k;
    return (int32_t)cp;
}

bool hearth_utf8_incomplete(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0) return false;
    size_t k = lead_len(p[0]);
    if (k <= n) return false;   /* invalid lead (k == 0), or long enough to decide */
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return false;
    if (n >= 2) {   /* the second byte's range rules out overlongs, surrogates, > U+10FFFF */
        unsigned c = p[0], c1 = p[1];
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 >= 0x90))
            return false;
    }
    return true;
}

uint32_t hearth_utf8_decode_lenient(const char *s, size_t n, size_t *len) {
    const unsigned char *p = (const unsigned char *)s;
    *len = n ? 1 : 0;
    if (n == 0) return HEARTH_UTF8_REPLACEMENT;
    unsigned c = p[0];
    if (c < 0x80) return c;
    size_t k = (c & 0x40) == 0 ? 0 : (c & 0x20) == 0 ? 2 : (c & 0x10) == 0 ? 3 : (c & 0x08) == 0 ? 4 : 0;
    if (k == 0 || k > n) return HEARTH_UTF8_REPLACEMENT;
    uint32_t cp = c & (0x7Fu >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80) return HEARTH_UTF8_REPLACEMENT;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp > 0x10FFFF) return HEARTH_UTF8_REPLACEMENT;
    *len = k;
    return cp;
}

size_t hearth_utf8_encode(uint32_t cp, char out[4]) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = HEARTH_UTF8_REPLACEMENT;
    return hearth_utf8_encode_lenient(cp, out);
}

size_t hearth_utf8_encode_lenient(uint32_t cp, char out[4]) {
    unsigned char *o = (unsigned char *)out;
    if (cp > 0x10FFFF) cp = HEARTH_UTF8_REPLACEMENT;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
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

bool hearth_utf8_valid(const char *s, size_t n, size_t *bad_at) {
    size_t i = 0, len;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        if (hearth_utf8_decode(s + i, n - i, &len) < 0) {
            if (bad_at) *bad_at = i;
            return false;
        }
        i += len;
    }
    return true;
}

size_t hearth_utf8_complete_prefix(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    /* look back at most 3 bytes for a lead byte whose sequence is cut off */
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = p[n - back];
        if ((c & 0xC0) == 0x80) continue;   /* continuation: keep looking */
        size_t k = lead_len(c);
        return (k > back) ? n - back : n;
    }
    return n;
}

size_t hearth_utf8_count(const char *s, size_t n) {
    size_t i = 0, count = 0, len;
    while (i < n) {
        hearth_utf8_decode_lenient(s + i, n - i, &len);
        i += len;
        count++;
    }
    return count;
}
