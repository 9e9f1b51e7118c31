/*
 * types.h — tensor element types, numbered exactly as ggml/GGUF numbers them.
 *
 * A type stores elements in blocks of `block_size` elements taking
 * `type_size` bytes; a row of n elements (n a multiple of block_size) takes
 * n / block_size * type_size bytes. Ids that GGUF defines but hearth cannot
 * compute with are still described (name, sizes) so files carrying them can
 * be inspected; ids GGUF does not define are reported as unknown.
 */
#ifndef HEARTH_TYPES_H
#define HEARTH_TYPES_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef enum hearth_type {
    HEARTH_TYPE_F32 = 0,
    HEARTH_TYPE_F16 = 1,
    HEARTH_TYPE_Q4_0 = 2,
    HEARTH_TYPE_Q4_1 = 3,
    /* 4, 5: Q4_2, Q4_3 — removed from ggml, never valid in GGUF */
    HEARTH_TYPE_Q5_0 = 6,
    HEARTH_TYPE_Q5_1 = 7,
    HEARTH_TYPE_Q8_0 = 8,
    HEARTH_TYPE_Q8_1 = 9,
    HEARTH_TYPE_Q2_K = 10,
    HEARTH_TYPE_Q3_K = 11,
    HEARTH_TYPE_Q4_K = 12,
    HEARTH_TYPE_Q5_K = 13,
    HEARTH_TYPE_Q6_K = 14,
    HEARTH_TYPE_Q8_K = 15,
    HEARTH_TYPE_IQ2_XXS = 16,
    HEARTH_TYPE_IQ2_XS = 17,
    HEARTH_TYPE_IQ3_XXS = 18,
    HEARTH_TYPE_IQ1_S = 19,
    HEARTH_TYPE_IQ4_NL = 20,
    HEARTH_TYPE_IQ3_S = 21,
    HEARTH_TYPE_IQ2_S = 22,
    HEARTH_TYPE_IQ4_XS = 23,
    HEARTH_TYPE_I8 = 24,
    HEARTH_TYPE_I16 = 25,
    HEARTH_TYPE_I32 = 26,
    HEARTH_TYPE_I64 = 27,
    HEARTH_TYPE_F64 = 28,
    HEARTH_TYPE_IQ1_M = 29,
    HEARTH_TYPE_BF16 = 30,
    /* 31-33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 — removed from ggml */
    HEARTH_TYPE_TQ1_0 = 34,
    HEARTH_TYPE_TQ2_0 = 35,
    /* 36-38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 — removed from ggml */
    HEARTH_TYPE_MXFP4 = 39,
    HEARTH_TYPE_COUNT = 40,
} hearth_type;

typedef struct hearth_type_info {
    const char *name;      /* "Q4_K" */
    int64_t block_size;    /* elements per block */
    size_t type_size;      /* bytes per block */
    bool quantized;
} hearth_type_info;

/* NULL for an id GGUF does not define (or that ggml removed). */
const hearth_type_info *hearth_type_get(uint32_t type);
/* Type id for a name like "q4_k" / "Q4_K" / "f16"; -1 if unknown. */
int hearth_type_from_name(const char *name);
/* Bytes of a row of n elements; 0 if the type is unknown or n is not a
 * multiple of its block size. */
size_t hearth_row_size(uint32_t type, int64_t n);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
