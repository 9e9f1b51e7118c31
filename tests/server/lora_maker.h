/*
 * lora_maker.h — a LoRA adapter for the server tests, made with the adapter
 * API: rank 4 on every attn_v and ffn_down weight of a base GGUF, random A
 * and nonzero B from a seed, scale 2 (large enough to change greedy output).
 * Two seeds give two "versions" of an adapter for the same base.
 */
#ifndef HEARTH_TEST_LORA_MAKER_H
#define HEARTH_TEST_LORA_MAKER_H

#include "hearth/adapter.h"
#include "hearth/gguf.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* uniform in [-1, 1) (xorshift64) */
static inline float lora_urand(uint64_t *rng) {
    *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
    return (float)((*rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

static inline bool make_adapter(const char *base, const char *path, uint64_t seed) {
    hearth_gguf *g = NULL;
    if (hearth_gguf_open(base, &g) != HEARTH_OK) return false;
    hearth_adapter *a = hearth_adapter_create(4, 8.0f, false);   /* scale alpha / r = 2 */
    bool ok = a != NULL;
    uint64_t rng = seed;
    for (int64_t i = 0; ok && i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        if (t->n_dims != 2 || !(strstr(t->name, "attn_v.weight") || strstr(t->name, "ffn_down.weight"))) continue;
        ok = hearth_adapter_add(a, t->name, t->ne[0], t->ne[1]) == HEARTH_OK;
        if (!ok) break;
        hearth_adapter_weight *w = &a->w[a->n - 1];
        float sa = 1.0f / sqrtf((float)w->n_in);
        for (int64_t k = 0; k < (int64_t)a->r * w->n_in; k++) w->a[k] = lora_urand(&rng) * sa * 4.0f;
        for (int64_t k = 0; k < w->n_out * a->r; k++) w->b[k] = lora_urand(&rng) * 0.5f;
    }
    ok = ok && a->n > 0 && hearth_adapter_save_gguf(a, path) == HEARTH_OK;
    if (!ok) fprintf(stderr, "make_adapter: %s\n", hearth_last_error());
    hearth_adapter_free(a);
    hearth_gguf_close(g);
    return ok;
}

#endif
