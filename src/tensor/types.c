/* types.c — the table of element types (ggml numbering and block layouts). */
#include "hearth/types.h"

#include <strings.h>

/* block sizes/bytes follow ggml's block structs:
 *   Q4_0 {f16 d; u8 qs[16]}                    32 el, 18 B
 *   Q4_1 {f16 d, m; u8 qs[16]}                 32 el, 20 B
 *   Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}          32 el, 22 B
 *   Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}       32 el, 24 B
 *   Q8_0 {f16 d; i8 qs[32]}                    32 el, 34 B
 *   Q8_1 {f16 d, s; i8 qs[32]}                 32 el, 36 B
 *   Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}            256 el,  84 B
 *   Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}    256 el, 110 B
 *   Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}           256 el, 144 B
 *   Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]} 256 el, 176 B
 *   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}      256 el, 210 B
 *   Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}                 256 el, 292 B */
static const hearth_type_info TYPES[HEARTH_TYPE_COUNT] = {
    [HEARTH_TYPE_F32] = {"F32", 1, 4, false},
    [HEARTH_TYPE_F16] = {"F16", 1, 2, false},
    [HEARTH_TYPE_Q4_0] = {"Q4_0", 32, 18, true},
    [HEARTH_TYPE_Q4_1] = {"Q4_1", 32, 20, true},
    [HEARTH_TYPE_Q5_0] = {"Q5_0", 32, 22, true},
    [HEARTH_TYPE_Q5_1] = {"Q5_1", 32, 24, true},
    [HEARTH_TYPE_Q8_0] = {"Q8_0", 32, 34, true},
    [HEARTH_TYPE_Q8_1] = {"Q8_1", 32, 36, true},
    [HEARTH_TYPE_Q2_K] = {"Q2_K", 256, 84, true},
    [HEARTH_TYPE_Q3_K] = {"Q3_K", 256, 110, true},
    [HEARTH_TYPE_Q4_K] = {"Q4_K", 256, 144, true},
    [HEARTH_TYPE_Q5_K] = {"Q5_K", 256, 176, true},
    [HEARTH_TYPE_Q6_K] = {"Q6_K", 256, 210, true},
    [HEARTH_TYPE_Q8_K] = {"Q8_K", 256, 292, true},
    [HEARTH_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66, true},
    [HEARTH_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74, true},
    [HEARTH_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98, true},
    [HEARTH_TYPE_IQ1_S] = {"IQ1_S", 256, 50, true},
    [HEARTH_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, true},
    [HEARTH_TYPE_IQ3_S] = {"IQ3_S", 256, 110, true},
    [HEARTH_TYPE_IQ2_S] = {"IQ2_S", 256, 82, true},
    [HEARTH_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, true},
    [HEARTH_TYPE_I8] = {"I8", 1, 1, false},
    [HEARTH_TYPE_I16] = {"I16", 1, 2, false},
    [HEARTH_TYPE_I32] = {"I32", 1, 4, false},
    [HEARTH_TYPE_I64] = {"I64", 1, 8, false},
    [HEARTH_TYPE_F64] = {"F64", 1, 8, false},
    [HEARTH_TYPE_IQ1_M] = {"IQ1_M", 256, 56, true},
    [HEARTH_TYPE_BF16] = {"BF16", 1, 2, false},
    [HEARTH_TYPE_TQ1_0] = {"TQ1_0", 256, 54, true},
    [HEARTH_TYPE_TQ2_0] = {"TQ2_0", 256, 66, true},
    [HEARTH_TYPE_MXFP4] = {"MXFP4", 32, 17, true},
};

const hearth_type_info *hearth_type_get(uint32_t type) {
    if (type >= HEARTH_TYPE_COUNT || !TYPES[type].name) return NULL;
    return &TYPES[type];
}

int hearth_type_from_name(const char *name) {
    for (int i = 0; i < HEARTH_TYPE_COUNT; i++)
        if (TYPES[i].name && strcasecmp(TYPES[i].name, name) == 0) return i;
    return -1;
}

size_t hearth_row_size(uint32_t type, int64_t n) {
    const hearth_type_info *t = hearth_type_get(type);
    if (!t || n < 0 || n % t->block_size != 0) return 0;
    return (size_t)(n / t->block_size) * t->type_size;
}
