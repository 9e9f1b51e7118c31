/*
 * adapter_internal.h — LoRA adapters inside the forward pass: a context's
 * adapters arranged per (layer, projection), applied after each projection
 * to the rows of the sequence that owns the context (llama.c calls
 * lora_apply; adapter_apply.c builds the set).
 */
#ifndef HEARTH_ADAPTER_INTERNAL_H
#define HEARTH_ADAPTER_INTERNAL_H

#include "hearth/adapter.h"
#include "hearth/core.h"

/* projections an adapter can target, per layer; LORA_OUTPUT is the output
 * matrix (layer -1) */
enum { LORA_Q, LORA_K, LORA_V, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_N_PROJ, LORA_OUTPUT = LORA_N_PROJ };

typedef struct lora_set lora_set;

/* Y (T, n_out) += sum over the set's terms for (layer, proj) of
 * scale * (X (T, n_in) @ A^T) @ B^T. A no-op when nothing targets it. */
hearth_status lora_apply(lora_set *ls, hearth_pool *pool, int layer, int proj, float *Y, const float *X, int32_t T);
void lora_set_free(lora_set *ls);   /* NULL is a no-op */

/* llama.c: the context's slot for its set (owned by the context, freed with it) */
lora_set **llama_context_lora_slot(hearth_context *c);

#endif
