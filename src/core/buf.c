/* buf.c — the growable byte buffer and array growth (see buf.h). */
#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool hearth_grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2) { n = need; break; }
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem) return false;
    void *q = realloc(*p, n * elem);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

bool hearth_buf_reserve(hearth_buf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > SIZE_MAX - b->len - 1) { b->oom = true; return false; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *q = b->realloc_fn ? b->realloc_fn(b->alloc_ctx, b->data, b->data ? b->len + 1 : 0, cap)
                            : realloc(b->data, cap);
    if (!q) { b->oom = true; return false; }
    b->data = q;
    b->cap = cap;
    return true;
}

bool hearth_buf_put(hearth_buf *b, const void *p, size_t n) {
    if (!hearth_buf_reserve(b, n)) return false;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return true;
}

bool hearth_buf_puts(hearth_buf *b, const char *s) { return hearth_buf_put(b, s, strlen(s)); }

bool hearth_buf_putc(hearth_buf *b, char c) { return hearth_buf_put(b, &c, 1); }

bool hearth_buf_vprintf(hearth_buf *b, const char *fmt, va_list ap) {
    if (b->oom) return false;
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) return false;
    if ((size_t)n < sizeof small) return hearth_buf_put(b, small, (size_t)n);
    if (!hearth_buf_reserve(b, (size_t)n)) return false;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return true;
}

bool hearth_buf_printf(hearth_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bool ok = hearth_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return ok;
}

bool hearth_buf_json_str(hearth_buf *b, const char *s, size_t n) {
    hearth_buf_putc(b, '"');
    size_t run = 0;   /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        hearth_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': hearth_buf_put(b, "\\\"", 2); break;
        case '\\': hearth_buf_put(b, "\\\\", 2); break;
        case '\n': hearth_buf_put(b, "\\n", 2); break;
        case '\r': hearth_buf_put(b, "\\r", 2); break;
        case '\t': hearth_buf_put(b, "\\t", 2); break;
        case '\b': hearth_buf_put(b, "\\b", 2); break;
        case '\f': hearth_buf_put(b, "\\f", 2); break;
        default: hearth_buf_printf(b, "\\u%04x", c); break;
        }
    }
    hearth_buf_put(b, s + run, n - run);
    return hearth_buf_putc(b, '"');
}

void hearth_buf_reset(hearth_buf *b) {
    b->len = 0;
    b->oom = false;
    if (b->data) b->data[0] = 0;
}

char *hearth_buf_take(hearth_buf *b, size_t *len) {
    if (b->oom) {
        hearth_buf_free(b);
        if (len) *len = 0;
        return NULL;
    }
    char *s = b->data ? b->data : b->realloc_fn ? b->realloc_fn(b->alloc_ctx, NULL, 0, 1) : malloc(1);
    if (s && !b->data) *s = 0;
    if (len) *len = b->data ? b->len : 0;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void hearth_buf_free(hearth_buf *b) {
    if (!b) return;
    if (!b->realloc_fn) free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}
