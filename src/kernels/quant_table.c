/*
 * quant_table.c — plugs the quantized types into the per-type table of
 * src/kernels/kernels.h. kernels.c calls hearth_quant_register() once per
 * instruction set while it builds that set's table; the reference functions
 * fill every entry, the wider sets replace the functions they implement.
 */
#include "quant.h"

#include <pthread.h>

/* ==== f16 table ============================================================= */
float quant_f16_table[65536];
int quant_f16_table_done;
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void fill_f16_table(void) {
    for (uint32_t h = 0; h < 65536; h++) quant_f16_table[h] = hearth_fp16_to_fp32((uint16_t)h);
    __atomic_store_n(&quant_f16_table_done, 1, __ATOMIC_RELEASE);
}

void quant_f16_table_init(void) { pthread_once(&f16_once, fill_f16_table); }

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

/* vec_dot4 (prefill) where the instruction set has one */
typedef struct dot4_entry {
    uint32_t type;
    hearth_vec_dot4_fn fn;
} dot4_entry;
#define DOT4_ENTRIES(ISA)                                                                            \
    {HEARTH_TYPE_Q4_0, vec_dot4_q4_0_q8_0_##ISA}, {HEARTH_TYPE_Q5_0, vec_dot4_q5_0_q8_0_##ISA},      \
        {HEARTH_TYPE_Q8_0, vec_dot4_q8_0_q8_0_##ISA}, {HEARTH_TYPE_Q2_K, vec_dot4_q2_K_q8_K_##ISA}, \
        {HEARTH_TYPE_Q3_K, vec_dot4_q3_K_q8_K_##ISA}, {HEARTH_TYPE_Q4_K, vec_dot4_q4_K_q8_K_##ISA}, \
        {HEARTH_TYPE_Q5_K, vec_dot4_q5_K_q8_K_##ISA}, {HEARTH_TYPE_Q6_K, vec_dot4_q6_K_q8_K_##ISA},
static const dot4_entry DOT4_AVX2[] = {DOT4_ENTRIES(avx2)};
static const dot4_entry DOT4_AVX512[] = {DOT4_ENTRIES(avx512)};

static void put4(hearth_type_traits table[HEARTH_TYPE_COUNT], const dot4_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) table[e[i].type].vec_dot4 = e[i].fn;
}

static void put(hearth_type_traits table[HEARTH_TYPE_COUNT], const quant_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        hearth_type_traits *t = &table[e[i].type];
        t->to_float = e[i].to_float;
        t->from_float = e[i].from_float;
        t->vec_dot = e[i].vec_dot;
        t->vec_dot4 = NULL;
        t->gemm4x4 = NULL;
        t->vec_dot_type = e[i].vec_dot_type;
    }
}

static void put_avx2(hearth_type_traits table[HEARTH_TYPE_COUNT]) {
    put(table, AVX2, sizeof AVX2 / sizeof AVX2[0]);
    put4(table, DOT4_AVX2, sizeof DOT4_AVX2 / sizeof DOT4_AVX2[0]);
    table[HEARTH_TYPE_Q8_0].from_float = quantize_row_q8_0_avx2;
    table[HEARTH_TYPE_Q8_1].from_float = quantize_row_q8_1_avx2;
    table[HEARTH_TYPE_Q8_K].from_float = quantize_row_q8_K_avx2;
}

/* over the AVX2 set: vpdpbusd for the plain byte dots */
static void put_avxvnni(hearth_type_traits table[HEARTH_TYPE_COUNT]) {
    table[HEARTH_TYPE_Q4_0].vec_dot = vec_dot_q4_0_q8_0_avxvnni;
    table[HEARTH_TYPE_Q4_1].vec_dot = vec_dot_q4_1_q8_1_avxvnni;
    table[HEARTH_TYPE_Q5_0].vec_dot = vec_dot_q5_0_q8_0_avxvnni;
    table[HEARTH_TYPE_Q5_1].vec_dot = vec_dot_q5_1_q8_1_avxvnni;
    table[HEARTH_TYPE_Q8_0].vec_dot = vec_dot_q8_0_q8_0_avxvnni;
    table[HEARTH_TYPE_Q4_0].vec_dot4 = vec_dot4_q4_0_q8_0_avxvnni;
    table[HEARTH_TYPE_Q8_0].vec_dot4 = vec_dot4_q8_0_q8_0_avxvnni;
}

static void put_avx512(hearth_type_traits table[HEARTH_TYPE_COUNT]) {
    put(table, AVX512, sizeof AVX512 / sizeof AVX512[0]);
    put4(table, DOT4_AVX512, sizeof DOT4_AVX512 / sizeof DOT4_AVX512[0]);
    table[HEARTH_TYPE_Q8_0].from_float = quantize_row_q8_0_avx512;
    table[HEARTH_TYPE_Q8_1].from_float = quantize_row_q8_1_avx512;
    table[HEARTH_TYPE_Q8_K].from_float = quantize_row_q8_K_avx512;
    table[HEARTH_TYPE_Q4_0].gemm4x4 = gemm4x4_q4_0_q8_0_avx512;
    table[HEARTH_TYPE_Q8_0].gemm4x4 = gemm4x4_q8_0_q8_0_avx512;
}

void hearth_quant_register(hearth_type_traits table[HEARTH_TYPE_COUNT], hearth_isa isa) {
    quant_f16_table_init();
    put(table, REF, sizeof REF / sizeof REF[0]);
    /* Q8_1 and Q8_K exist only as activations: they convert, nothing dots them */
    table[HEARTH_TYPE_Q8_1] = (hearth_type_traits){dequantize_row_q8_1_ref, quantize_row_q8_1_ref, NULL, NULL,
                                                   HEARTH_TYPE_Q8_1, NULL};
    table[HEARTH_TYPE_Q8_K] = (hearth_type_traits){dequantize_row_q8_K_ref, quantize_row_q8_K_ref, NULL, NULL,
                                                   HEARTH_TYPE_Q8_K, NULL};
    const hearth_cpu *cpu = hearth_cpu_features();
    if (isa == HEARTH_ISA_AVX2) {
        put_avx2(table);
        /* AVX-VNNI where the AVX2 table is the one in use; on a CPU with
         * AVX-512 VNNI the AVX-512 table is, and the plain AVX2 set stays
         * here to be tested beside it */
        if (cpu->avxvnni && !cpu->avx512vnni) put_avxvnni(table);
    } else if (isa == HEARTH_ISA_AVX512) {
        if (cpu->avx512vnni) {
            put_avx512(table);
        } else {   /* the AVX-512 kernels need VNNI (vpdpbusd) */
            put_avx2(table);
            if (cpu->avxvnni) put_avxvnni(table);
        }
    }
}
