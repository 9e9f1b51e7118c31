/* gguf_build.h — building GGUF bytes by hand in tests (valid or corrupt). */
#ifndef GGUF_BUILD_H
#define GGUF_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct gbuf {
    uint8_t *p;
    size_t n, cap;
} gbuf;

static inline void gb_put(gbuf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n) c *= 2;
        b->p = realloc(b->p, c);
        b->cap = c;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static inline void gb_u8(gbuf *b, uint8_t v) { gb_put(b, &v, 1); }
static inline void gb_u32(gbuf *b, uint32_t v) { gb_put(b, &v, 4); }
static inline void gb_u64(gbuf *b, uint64_t v) { gb_put(b, &v, 8); }
static inline void gb_str(gbuf *b, const char *s) {
    gb_u64(b, strlen(s));
    gb_put(b, s, strlen(s));
}
static inline void gb_header(gbuf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_put(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}
static inline void gb_pad(gbuf *b, size_t a) {
    while (b->n % a) gb_u8(b, 0);
}
/* Overwrites 4/8 bytes at offset at. */
static inline void gb_set_u32(gbuf *b, size_t at, uint32_t v) { memcpy(b->p + at, &v, 4); }
static inline void gb_set_u64(gbuf *b, size_t at, uint64_t v) { memcpy(b->p + at, &v, 8); }
static inline void gb_free(gbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

#endif
