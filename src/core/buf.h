/*
 * buf.h — the one growable byte buffer of libhearth (internal).
 *
 * hearth_buf holds bytes that are always NUL-terminated once anything was
 * written (data[len] == 0). A zeroed struct is an empty buffer:
 *
 *     hearth_buf b = {0};
 *     hearth_buf_puts(&b, "{\"name\": ");
 *     hearth_buf_json_str(&b, name, strlen(name));
 *     hearth_buf_printf(&b, ", \"n\": %d}", n);
 *     if (b.oom) { hearth_buf_free(&b); return HEARTH_ERR_NOMEM; }
 *     char *s = hearth_buf_take(&b, NULL);   // caller owns s
 *
 * Allocation failure is sticky: the first failed write sets `oom`, every
 * later write is a no-op returning false, so callers may check once at the
 * end. HEARTH_GROW grows an array of any element type.
 *
 * Memory comes from realloc unless `realloc_fn` is set (e.g. a region with
 * its own limit that is freed as a whole: the Jinja engine's render arena);
 * then hearth_buf_free only forgets the memory and hearth_buf_take hands out
 * memory the caller must not free().
 */
#ifndef HEARTH_CORE_BUF_H
#define HEARTH_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Moves p (old bytes, of which `keep` are in use) to a block of `size` bytes;
 * NULL when out of memory (p untouched). */
typedef void *(*hearth_buf_realloc_fn)(void *ctx, void *p, size_t keep, size_t size);

typedef struct hearth_buf {
    char *data;   /* owned; NULL until the first write */
    size_t len;   /* bytes written, not counting the terminating NUL */
    size_t cap;   /* bytes allocated */
    bool oom;     /* a write failed for lack of memory (sticky) */
    hearth_buf_realloc_fn realloc_fn;   /* NULL: realloc() */
    void *alloc_ctx;                    /* realloc_fn's ctx */
} hearth_buf;

/* Makes room for `extra` more bytes (plus the NUL). */
bool hearth_buf_reserve(hearth_buf *b, size_t extra);
bool hearth_buf_put(hearth_buf *b, const void *p, size_t n);
bool hearth_buf_puts(hearth_buf *b, const char *s);
bool hearth_buf_putc(hearth_buf *b, char c);
bool hearth_buf_printf(hearth_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool hearth_buf_vprintf(hearth_buf *b, const char *fmt, va_list ap);
/* s[0..n) as a quoted JSON string: ", \ and control characters escaped,
 * other bytes (UTF-8 included) copied as they are. */
bool hearth_buf_json_str(hearth_buf *b, const char *s, size_t n);
/* Empties the buffer, keeping its memory (and clearing oom). */
void hearth_buf_reset(hearth_buf *b);
/* Hands the NUL-terminated contents to the caller (never NULL unless out of
 * memory: an empty buffer gives ""), stores the length in *len when len is
 * not NULL, and leaves b empty. */
char *hearth_buf_take(hearth_buf *b, size_t *len);
void hearth_buf_free(hearth_buf *b);   /* NULL is a no-op; b is zeroed */

/* Grows *p (an array of elem-byte items with room for *cap) so that it holds
 * at least `need` items, doubling; false when out of memory (*p unchanged). */
bool hearth_grow(void **p, size_t *cap, size_t need, size_t elem);
#define HEARTH_GROW(arr, cap, need) \
    hearth_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

#endif
