/*
 * kernels_train_avx2.c — the backward matmuls' inner loops built with AVX2 +
 * FMA (this file gets -mavx2 -mfma from CMake); chosen at run time by
 * kernels_train.c when hearth's kernels run AVX2 or AVX-512.
 */
#define AXPY_SFX _avx2
#include "axpy_impl.h"
