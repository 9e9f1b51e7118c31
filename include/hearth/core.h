/*
 * core.h — thread pool, file mapping, CPU features, monotonic time.
 */
#ifndef HEARTH_CORE_H
#define HEARTH_CORE_H

#include "hearth/hearth.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ---- thread pool ---------------------------------------------------------
 * A fixed set of worker threads. hearth_pool_run() calls fn(arg, ith, nth)
 * once for every ith in [0, nth) — ith 0 on the calling thread — and returns
 * when all have returned. Workers spin briefly between jobs (decode issues
 * many short jobs per token), then sleep. One caller at a time per pool. */
typedef struct hearth_pool hearth_pool;
typedef void (*hearth_pool_fn)(void *arg, int ith, int nth);

/* n_threads <= 0: number of online CPUs. Returns NULL on failure. */
hearth_pool *hearth_pool_create(int n_threads);
void hearth_pool_free(hearth_pool *pool);          /* NULL is a no-op */
int hearth_pool_size(const hearth_pool *pool);     /* NULL -> 1 */
/* pool may be NULL: then fn(arg, 0, 1) runs on the caller. */
void hearth_pool_run(hearth_pool *pool, hearth_pool_fn fn, void *arg);
/* Rows [*r0, *r1) of n for worker ith of nth (contiguous, balanced). */
void hearth_split_rows(int64_t n, int ith, int nth, int64_t *r0, int64_t *r1);

int hearth_cpu_count(void);

/* ---- file mapping ------------------------------------------------------- */
typedef struct hearth_mapping {
    const uint8_t *data;  /* read-only view of the whole file */
    size_t size;
    void *priv_;          /* owned by the mapping */
} hearth_mapping;

hearth_status hearth_map_file(const char *path, hearth_mapping *out);
/* n bytes of zeroed anonymous memory aligned to 2 MiB, marked for
 * transparent huge pages (weights streamed once per token miss the TLB on
 * every 4 KiB page otherwise); NULL when out of memory. Freed with
 * hearth_huge_free(p, n), n the same size. */
void *hearth_huge_alloc(size_t n);
void hearth_huge_free(void *p, size_t n);   /* NULL is a no-op */
void hearth_unmap(hearth_mapping *m);   /* zeroes *m; NULL or empty: no-op */

/* Reads a whole file into a malloc'd, NUL-terminated buffer (owned by
 * the caller). The path "-" is not special: see hearth_read_stream. */
hearth_status hearth_read_file(const char *path, char **out, size_t *len);
/* The same for an open stream (stdin, a pipe), read to its end; `what`
 * names it in the error message (NULL: "stream"). f stays open. */
hearth_status hearth_read_stream(FILE *f, const char *what, char **out, size_t *len);

/* ---- CPU features (detected once) --------------------------------------- */
typedef struct hearth_cpu {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16, avxvnni;
} hearth_cpu;
const hearth_cpu *hearth_cpu_features(void);
/* true when HEARTH_FORCE_REFERENCE=1 is set: every kernel uses the scalar
 * reference path. */
bool hearth_force_reference(void);

/* ---- time --------------------------------------------------------------- */
double hearth_time_s(void);   /* monotonic seconds */

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
