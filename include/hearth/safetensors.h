/*
 * safetensors.h — reading and writing safetensors files (Hugging Face's
 * tensor container, used by PEFT's adapter_model.safetensors).
 *
 * File layout:
 *   u64 N (little-endian)           length of the header
 *   N bytes of JSON (UTF-8)         {"__metadata__": {"k": "v", ...},
 *                                    "name": {"dtype": "F16", "shape": [2, 3],
 *                                             "data_offsets": [begin, end]}, ...}
 *                                   (may end with spaces: padding)
 *   the data buffer                 offsets are relative to its start; the
 *                                   tensors cover it exactly, without gaps or
 *                                   overlaps, in row-major order (shape[0]
 *                                   slowest), little-endian elements
 *
 * The reader maps the file and never copies tensor data. Every offset,
 * shape, dtype and byte count is checked before use; a malformed file gives
 * HEARTH_ERR_FORMAT with a message naming the file, the tensor and what was
 * wrong. Tensor data pointers may be unaligned (the header length is
 * arbitrary): read them with memcpy or hearth_safetensors_to_f32().
 */
#ifndef HEARTH_SAFETENSORS_H
#define HEARTH_SAFETENSORS_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

#define HEARTH_ST_MAX_DIMS 8

typedef enum hearth_st_dtype {
    HEARTH_ST_BOOL = 0,
    HEARTH_ST_U8,
    HEARTH_ST_I8,
    HEARTH_ST_F8_E5M2,
    HEARTH_ST_F8_E4M3,
    HEARTH_ST_I16,
    HEARTH_ST_U16,
    HEARTH_ST_F16,
    HEARTH_ST_BF16,
    HEARTH_ST_I32,
    HEARTH_ST_U32,
    HEARTH_ST_F32,
    HEARTH_ST_F64,
    HEARTH_ST_I64,
    HEARTH_ST_U64,
    HEARTH_ST_DTYPE_COUNT,
} hearth_st_dtype;

const char *hearth_st_dtype_name(hearth_st_dtype d);   /* "F16"; "?" if out of range */
size_t hearth_st_dtype_size(hearth_st_dtype d);        /* bytes per element; 0 if out of range */

/* ---- reading ---------------------------------------------------------------- */
typedef struct hearth_safetensors hearth_safetensors;

typedef struct hearth_st_tensor {
    const char *name;                    /* NUL-terminated, owned by the reader */
    hearth_st_dtype dtype;
    int n_dims;                          /* 0 (a scalar) .. HEARTH_ST_MAX_DIMS */
    int64_t shape[HEARTH_ST_MAX_DIMS];   /* shape[0] slowest (row-major) */
    int64_t n_elements;
    size_t nbytes;
    const void *data;                    /* into the mapping; possibly unaligned */
} hearth_st_tensor;

hearth_status hearth_safetensors_open(const char *path, hearth_safetensors **out);
/* Same over a caller-owned buffer that must outlive the handle (fuzzing, tests). */
hearth_status hearth_safetensors_open_memory(const void *data, size_t size, hearth_safetensors **out);
void hearth_safetensors_close(hearth_safetensors *st);   /* NULL is a no-op */

/* tensors sorted by name */
int64_t hearth_safetensors_n_tensors(const hearth_safetensors *st);
const hearth_st_tensor *hearth_safetensors_tensor_at(const hearth_safetensors *st, int64_t i);
const hearth_st_tensor *hearth_safetensors_find(const hearth_safetensors *st, const char *name);  /* NULL if absent */

/* __metadata__ (string values only, as the format requires), in file order */
int64_t hearth_safetensors_n_meta(const hearth_safetensors *st);
const char *hearth_safetensors_meta_key(const hearth_safetensors *st, int64_t i);
const char *hearth_safetensors_meta_value(const hearth_safetensors *st, int64_t i);
const char *hearth_safetensors_meta_get(const hearth_safetensors *st, const char *key);   /* NULL if absent */

/* Converts the elements of an F32, F16 or BF16 tensor to n_elements floats
 * at dst; HEARTH_ERR_UNSUPPORTED naming the tensor for other dtypes. */
hearth_status hearth_safetensors_to_f32(const hearth_st_tensor *t, float *dst);

/* ---- writing -----------------------------------------------------------------
 * Collects tensors (data borrowed until write returns) and metadata, then
 * writes them: header padded with spaces to a multiple of 8 bytes, tensors
 * in the order safetensors itself writes them (larger dtypes first, then by
 * name). Written to path.tmp and renamed over path. */
typedef struct hearth_st_writer hearth_st_writer;

hearth_st_writer *hearth_st_writer_create(void);   /* NULL when out of memory (error set) */
void hearth_st_writer_free(hearth_st_writer *w);   /* NULL is a no-op */
hearth_status hearth_st_writer_set_meta(hearth_st_writer *w, const char *key, const char *value);
/* data: n_elements * dtype size bytes, row-major. Names must be unique. */
hearth_status hearth_st_writer_add(hearth_st_writer *w, const char *name, hearth_st_dtype dtype, int n_dims,
                                   const int64_t *shape, const void *data);
hearth_status hearth_st_writer_write(hearth_st_writer *w, const char *path);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
