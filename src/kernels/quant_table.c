/*
 * quant_table.c — plugs the quantized types into the per-type table of
 * include/hearth/kernels.h. kernels.c calls hearth_quant_register() once per
 * instruction set while it builds that set's table; the reference functions
 * fill every entry, the wider sets replace the functions they implement.
 */
#include "quant.h"

/* one row of the table: weight type, its kernels, the activation type */
typedef struct quant_entry {
    uint32_t type, vec_dot_type;
    hearth_to_float_fn to_float;
    hearth_from_float_fn from_float;
    hearth_vec_dot_fn vec_dot;
} quant_entry;

#define ENTRY(T, A, ISA, TYPE, ATYPE)                                                         \
    {TYPE, ATYPE, dequantize_row_##T##_##ISA, quantize_row_##T##_ref, vec_dot_##T##_##A##_##ISA},

#define ENTRIES(ISA)                                                    \
    ENTRY(q4_0, q8_0, ISA, HEARTH_TYPE_Q4_0, HEARTH_TYPE_Q8_0)          \
    ENTRY(q4_1, q8_1, ISA, HEARTH_TYPE_Q4_1, HEARTH_TYPE_Q8_1)          \
    ENTRY(q5_0, q8_0, ISA, HEARTH_TYPE_Q5_0, HEARTH_TYPE_Q8_0)          \
    ENTRY(q5_1, q8_1, ISA, HEARTH_TYPE_Q5_1, HEARTH_TYPE_Q8_1)          \
    ENTRY(q8_0, q8_0, ISA, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q8_0)          \
    ENTRY(q2_K, q8_K, ISA, HEARTH_TYPE_Q2_K, HEARTH_TYPE_Q8_K)          \
    ENTRY(q3_K, q8_K, ISA, HEARTH_TYPE_Q3_K, HEARTH_TYPE_Q8_K)          \
    ENTRY(q4_K, q8_K, ISA, HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q8_K)          \
    ENTRY(q5_K, q8_K, ISA, HEARTH_TYPE_Q5_K, HEARTH_TYPE_Q8_K)          \
    ENTRY(q6_K, q8_K, ISA, HEARTH_TYPE_Q6_K, HEARTH_TYPE_Q8_K)

static const quant_entry REF[] = {ENTRIES(ref)};
static const quant_entry AVX2[] = {ENTRIES(avx2)};
static const quant_entry AVX512[] = {ENTRIES(avx512)};

static void put(hearth_type_traits table[HEARTH_TYPE_COUNT], const quant_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        hearth_type_traits *t = &table[e[i].type];
        t->to_float = e[i].to_float;
        t->from_float = e[i].from_float;
        t->vec_dot = e[i].vec_dot;
        t->vec_dot4 = NULL;
        t->vec_dot_type = e[i].vec_dot_type;
    }
}

void hearth_quant_register(hearth_type_traits table[HEARTH_TYPE_COUNT], hearth_isa isa) {
    put(table, REF, sizeof REF / sizeof REF[0]);
    /* Q8_1 and Q8_K exist only as activations: they convert, nothing dots them */
    table[HEARTH_TYPE_Q8_1] = (hearth_type_traits){dequantize_row_q8_1_ref, quantize_row_q8_1_ref, NULL, NULL,
                                                   HEARTH_TYPE_Q8_1};
    table[HEARTH_TYPE_Q8_K] = (hearth_type_traits){dequantize_row_q8_K_ref, quantize_row_q8_K_ref, NULL, NULL,
                                                   HEARTH_TYPE_Q8_K};
    if (isa == HEARTH_ISA_AVX2) put(table, AVX2, sizeof AVX2 / sizeof AVX2[0]);
    if (isa == HEARTH_ISA_AVX512) {
        /* the AVX-512 kernels use VNNI (vpdpbusd); without it, the AVX2 ones */
        if (hearth_cpu_features()->avx512vnni) put(table, AVX512, sizeof AVX512 / sizeof AVX512[0]);
        else put(table, AVX2, sizeof AVX2 / sizeof AVX2[0]);
    }
}
