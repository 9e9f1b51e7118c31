/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader. Opens
 * the input with hearth_safetensors_open_memory and, when it is accepted,
 * touches everything a user of the reader can reach: every tensor's name,
 * shape, lookup by name, first and last data byte, the conversion to floats
 * of F32/F16/BF16 tensors, and every metadata key and value. Under ASan any
 * read outside the input is caught.
 *
 * Build with clang -fsanitize=fuzzer (a fuzz_safetensors target beside
 * fuzz_gguf in fuzz/CMakeLists.txt); the same entry point is driven without
 * clang by tests/adapter/test_safetensors_fuzz.c.
 */
#include "hearth/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile uint64_t sink;   /* keeps the reads from being optimized away */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hearth_safetensors *st = NULL;
    if (hearth_safetensors_open_memory(data, size, &st) != HEARTH_OK) return 0;
    for (int64_t i = 0; i < hearth_safetensors_n_tensors(st); i++) {
        const hearth_st_tensor *t = hearth_safetensors_tensor_at(st, i);
        sink += strlen(t->name) + (uint64_t)t->n_dims + (uint64_t)t->n_elements;
        for (int d = 0; d < t->n_dims; d++) sink += (uint64_t)t->shape[d];
        if (hearth_safetensors_find(st, t->name) != t) __builtin_trap();
        if (t->nbytes) {
            const uint8_t *p = t->data;
            sink += p[0] + p[t->nbytes - 1];
        }
        if (t->n_elements > 0 && t->n_elements <= (1 << 20)) {
            float *f = malloc((size_t)t->n_elements * sizeof(float));
            if (f && hearth_safetensors_to_f32(t, f) == HEARTH_OK) sink += (uint64_t)(f[0] != f[0]);
            free(f);
        }
    }
    for (int64_t i = 0; i < hearth_safetensors_n_meta(st); i++)
        sink += strlen(hearth_safetensors_meta_key(st, i)) + strlen(hearth_safetensors_meta_value(st, i));
    sink += hearth_safetensors_tensor_at(st, -1) == NULL;
    sink += hearth_safetensors_find(st, "") != NULL;
    hearth_safetensors_close(st);
    return 0;
}
