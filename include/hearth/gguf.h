/*
 * gguf.h — reading and writing GGUF files (versions 2 and 3).
 *
 * File layout (little-endian):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv × { string key | u32 value_type | value }
 *   n_tensors × { string name | u32 n_dims | u64 ne[n_dims] | u32 type | u64 offset }
 *   padding to `general.alignment` (default 32)
 *   tensor data; each tensor's offset is relative to the start of this section
 *   string = u64 length + bytes (no NUL); array = u32 elem_type + u64 n + elems
 *
 * The reader maps the file and never copies tensor data: tensor pointers
 * point into the mapping and stay valid until hearth_gguf_close(). Every
 * length, count, offset and type is checked against the file before use; a
 * malformed file yields HEARTH_ERR_FORMAT with a message naming the byte
 * offset and what was wrong.
 */
#ifndef HEARTH_GGUF_H
#define HEARTH_GGUF_H

#include "hearth/hearth.h"
#include "hearth/types.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef enum hearth_gguf_type {
    HEARTH_GGUF_UINT8 = 0,
    HEARTH_GGUF_INT8 = 1,
    HEARTH_GGUF_UINT16 = 2,
    HEARTH_GGUF_INT16 = 3,
    HEARTH_GGUF_UINT32 = 4,
    HEARTH_GGUF_INT32 = 5,
    HEARTH_GGUF_FLOAT32 = 6,
    HEARTH_GGUF_BOOL = 7,
    HEARTH_GGUF_STRING = 8,
    HEARTH_GGUF_ARRAY = 9,
    HEARTH_GGUF_UINT64 = 10,
    HEARTH_GGUF_INT64 = 11,
    HEARTH_GGUF_FLOAT64 = 12,
    HEARTH_GGUF_TYPE_COUNT = 13,
} hearth_gguf_type;

const char *hearth_gguf_type_name(hearth_gguf_type t);   /* "uint32", "array"... */

/* A string inside the file: NOT NUL-terminated. Borrowed from the reader. */
typedef struct hearth_str {
    const char *ptr;
    size_t len;
} hearth_str;

/* An array value (possibly nested). Borrowed from the reader. */
typedef struct hearth_gguf_arr {
    hearth_gguf_type type;   /* element type */
    uint64_t n;              /* element count */
    const void *impl_;       /* reader-private */
} hearth_gguf_arr;

/* ---- reading ------------------------------------------------------------ */
typedef struct hearth_gguf hearth_gguf;

typedef struct hearth_gguf_tensor {
    const char *name;          /* NUL-terminated, owned by the reader */
    int n_dims;                /* 1..4 */
    int64_t ne[4];             /* elements per dimension, ne[0] fastest; unused = 1 */
    uint32_t type;             /* hearth_type id (may be one hearth cannot compute with) */
    uint64_t offset;           /* from the start of the data section */
    size_t nbytes;
    const void *data;          /* into the mapping; aligned to the file's alignment */
} hearth_gguf_tensor;

/* Opens and validates a file (mapped read-only). */
hearth_status hearth_gguf_open(const char *path, hearth_gguf **out);
/* Same over a caller-owned buffer that must outlive the handle (fuzzing, tests). */
hearth_status hearth_gguf_open_memory(const void *data, size_t size, hearth_gguf **out);
void hearth_gguf_close(hearth_gguf *g);   /* NULL is a no-op */

uint32_t hearth_gguf_version(const hearth_gguf *g);
size_t hearth_gguf_alignment(const hearth_gguf *g);
size_t hearth_gguf_data_offset(const hearth_gguf *g);   /* file offset of tensor data */
size_t hearth_gguf_file_size(const hearth_gguf *g);

/* key/value metadata, in file order */
int64_t hearth_gguf_n_kv(const hearth_gguf *g);
int64_t hearth_gguf_find_key(const hearth_gguf *g, const char *key);   /* -1 if absent */
hearth_str hearth_gguf_kv_key(const hearth_gguf *g, int64_t i);
hearth_gguf_type hearth_gguf_kv_type(const hearth_gguf *g, int64_t i);

/* Typed getters by key. Return HEARTH_ERR_NOT_FOUND if the key is absent,
 * HEARTH_ERR_TYPE if its value cannot be read as asked (message names both).
 * get_int accepts any integer type and bool; get_float any float or integer;
 * values out of the target's range give HEARTH_ERR_RANGE. */
hearth_status hearth_gguf_get_int(const hearth_gguf *g, const char *key, int64_t *out);
hearth_status hearth_gguf_get_uint(const hearth_gguf *g, const char *key, uint64_t *out);
hearth_status hearth_gguf_get_float(const hearth_gguf *g, const char *key, double *out);
hearth_status hearth_gguf_get_bool(const hearth_gguf *g, const char *key, bool *out);
hearth_status hearth_gguf_get_str(const hearth_gguf *g, const char *key, hearth_str *out);
hearth_status hearth_gguf_get_arr(const hearth_gguf *g, const char *key, hearth_gguf_arr *out);

/* Same by index i (0 <= i < n_kv). */
hearth_status hearth_gguf_kv_int(const hearth_gguf *g, int64_t i, int64_t *out);
hearth_status hearth_gguf_kv_uint(const hearth_gguf *g, int64_t i, uint64_t *out);
hearth_status hearth_gguf_kv_float(const hearth_gguf *g, int64_t i, double *out);
hearth_status hearth_gguf_kv_bool(const hearth_gguf *g, int64_t i, bool *out);
hearth_status hearth_gguf_kv_str(const hearth_gguf *g, int64_t i, hearth_str *out);
hearth_status hearth_gguf_kv_arr(const hearth_gguf *g, int64_t i, hearth_gguf_arr *out);

/* Array elements, O(1) each (the reader indexes string/nested arrays at open).
 * Element i must be < a->n and of a matching type; otherwise these return
 * 0 / an empty string / an empty array. */
int64_t hearth_gguf_arr_int(const hearth_gguf_arr *a, uint64_t i);    /* any integer/bool type */
uint64_t hearth_gguf_arr_uint(const hearth_gguf_arr *a, uint64_t i);
double hearth_gguf_arr_float(const hearth_gguf_arr *a, uint64_t i);   /* float or integer */
hearth_str hearth_gguf_arr_str(const hearth_gguf_arr *a, uint64_t i);
hearth_gguf_arr hearth_gguf_arr_arr(const hearth_gguf_arr *a, uint64_t i);
/* Raw little-endian elements of a fixed-size array (possibly unaligned);
 * NULL for string or nested arrays. */
const void *hearth_gguf_arr_data(const hearth_gguf_arr *a);

/* tensors, in file order */
int64_t hearth_gguf_n_tensors(const hearth_gguf *g);
const hearth_gguf_tensor *hearth_gguf_tensor_at(const hearth_gguf *g, int64_t i);
const hearth_gguf_tensor *hearth_gguf_find_tensor(const hearth_gguf *g, const char *name);  /* NULL if absent */
int64_t hearth_gguf_tensor_nelements(const hearth_gguf_tensor *t);

/* ---- writing ------------------------------------------------------------
 * Collects metadata and tensors, then writes a GGUF v3 file in the layout
 * llama.cpp writes (same ordering, alignment and padding). Tensor data is
 * borrowed until hearth_gguf_writer_write() returns. Setting an existing
 * key replaces its value in place. */
typedef struct hearth_gguf_writer hearth_gguf_writer;

hearth_gguf_writer *hearth_gguf_writer_create(void);
void hearth_gguf_writer_free(hearth_gguf_writer *w);   /* NULL is a no-op */

hearth_status hearth_gguf_set_u8(hearth_gguf_writer *w, const char *key, uint8_t v);
hearth_status hearth_gguf_set_i8(hearth_gguf_writer *w, const char *key, int8_t v);
hearth_status hearth_gguf_set_u16(hearth_gguf_writer *w, const char *key, uint16_t v);
hearth_status hearth_gguf_set_i16(hearth_gguf_writer *w, const char *key, int16_t v);
hearth_status hearth_gguf_set_u32(hearth_gguf_writer *w, const char *key, uint32_t v);
hearth_status hearth_gguf_set_i32(hearth_gguf_writer *w, const char *key, int32_t v);
hearth_status hearth_gguf_set_u64(hearth_gguf_writer *w, const char *key, uint64_t v);
hearth_status hearth_gguf_set_i64(hearth_gguf_writer *w, const char *key, int64_t v);
hearth_status hearth_gguf_set_f32(hearth_gguf_writer *w, const char *key, float v);
hearth_status hearth_gguf_set_f64(hearth_gguf_writer *w, const char *key, double v);
hearth_status hearth_gguf_set_bool(hearth_gguf_writer *w, const char *key, bool v);
hearth_status hearth_gguf_set_str(hearth_gguf_writer *w, const char *key, const char *v);
hearth_status hearth_gguf_set_strn(hearth_gguf_writer *w, const char *key, const char *v, size_t len);
/* Array of fixed-size elements (elem_type not STRING/ARRAY), n elements at data. */
hearth_status hearth_gguf_set_arr(hearth_gguf_writer *w, const char *key, hearth_gguf_type elem_type,
                                  const void *data, uint64_t n);
hearth_status hearth_gguf_set_arr_str(hearth_gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* Copies key/value i of a reader (any type, nested arrays included). */
hearth_status hearth_gguf_copy_kv(hearth_gguf_writer *w, const hearth_gguf *g, int64_t i);
hearth_status hearth_gguf_set_alignment(hearth_gguf_writer *w, uint32_t alignment);   /* power of 2 */

/* ne[0] is the fastest dimension; data holds hearth_row_size(type, ne[0]) * ne[1]*ne[2]*ne[3] bytes. */
hearth_status hearth_gguf_add_tensor(hearth_gguf_writer *w, const char *name, uint32_t type, int n_dims,
                                     const int64_t *ne, const void *data);
hearth_status hearth_gguf_writer_write(hearth_gguf_writer *w, const char *path);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
