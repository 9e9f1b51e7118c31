/*
 * kernels_internal.h — how the instruction-set files plug into kernels.c.
 * Each fill function overwrites the entries it implements; kernels.c starts
 * every table from the reference and then applies the wider sets in order.
 */
#ifndef HEARTH_KERNELS_INTERNAL_H
#define HEARTH_KERNELS_INTERNAL_H

#include "kernels/kernels.h"

void kernels_fill_ref(hearth_type_traits table[HEARTH_TYPE_COUNT], hearth_ops *ops);
void kernels_fill_avx2(hearth_type_traits table[HEARTH_TYPE_COUNT], hearth_ops *ops);
void kernels_fill_avx512(hearth_type_traits table[HEARTH_TYPE_COUNT], hearth_ops *ops);

#endif
