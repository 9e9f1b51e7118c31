/*
 * quant_avxvnni.c — the AVX2 kernels of the quantized types with AVX-VNNI
 * (VEX-coded vpdpbusd on 256-bit registers, e.g. Intel cores without
 * AVX-512): the bodies of quant_x86.h once more. The build gives this file
 * no ISA flags, so it sets its own target; quant_table.c uses these in the
 * AVX2 table only on CPUs that have AVX-VNNI but no AVX-512 VNNI (where the
 * AVX-512 table is chosen anyway), and the tests call them directly.
 */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#if defined(__clang__)   /* clang ignores GCC's target pragma */
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avxvnni"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,f16c,avxvnni")
#endif
#define QUANT_AVXVNNI 1
/* only the byte-dot kernels are taken from the shared bodies */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "quant_x86.h"

float vec_dot_q4_0_q8_0_avxvnni(int64_t n, const void *w, const void *a) { return t_dot_q4_0(n, w, a); }
float vec_dot_q4_1_q8_1_avxvnni(int64_t n, const void *w, const void *a) { return t_dot_q4_1(n, w, a); }
float vec_dot_q5_0_q8_0_avxvnni(int64_t n, const void *w, const void *a) { return t_dot_q5_0(n, w, a); }
float vec_dot_q5_1_q8_1_avxvnni(int64_t n, const void *w, const void *a) { return t_dot_q5_1(n, w, a); }
float vec_dot_q8_0_q8_0_avxvnni(int64_t n, const void *w, const void *a) { return t_dot_q8_0(n, w, a); }

void vec_dot4_q4_0_q8_0_avxvnni(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    t_dot4_q4_0(n, w, x, x_stride, nx, out);
}
void vec_dot4_q8_0_q8_0_avxvnni(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    t_dot4_q8_0(n, w, x, x_stride, nx, out);
}
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
