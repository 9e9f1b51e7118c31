/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader (and the writer's
 * copy path). Opens the input with hearth_gguf_open_memory and, when it is
 * accepted, touches everything a user of the reader can reach: every key,
 * every getter on every value, every element of every (nested) array, every
 * tensor's name lookup and its first and last data byte. Under ASan any
 * read outside the input is caught.
 *
 * Built by fuzz/CMakeLists.txt (clang, -fsanitize=fuzzer); the same entry
 * point is driven without clang by tests/gguf/test_gguf_fuzz.c.
 */
#include "hearth/gguf.h"

#include <stdint.h>
#include <string.h>

static volatile uint64_t sink;   /* keeps the reads from being optimized away */

static void walk_arr(const hearth_gguf_arr *a, int depth) {
    if (a->type == HEARTH_GGUF_STRING) {
        for (uint64_t i = 0; i < a->n; i++) {
            hearth_str s = hearth_gguf_arr_str(a, i);
            if (s.len) sink += (uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1];
        }
    } else if (a->type == HEARTH_GGUF_ARRAY) {
        for (uint64_t i = 0; i < a->n; i++) {
            hearth_gguf_arr c = hearth_gguf_arr_arr(a, i);
            walk_arr(&c, depth + 1);
        }
    } else {
        const uint8_t *d = hearth_gguf_arr_data(a);
        for (uint64_t i = 0; i < a->n; i++) {
            sink += (uint64_t)hearth_gguf_arr_int(a, i) + hearth_gguf_arr_uint(a, i);
            double f = hearth_gguf_arr_float(a, i);
            sink += f > 0 && f < 1e18 ? (uint64_t)f : 1;
        }
        if (d && a->n) sink += d[0];
    }
    /* out of range and wrong-type accesses must be harmless */
    sink += hearth_gguf_arr_str(a, a->n).len + hearth_gguf_arr_arr(a, a->n).n;
    sink += (uint64_t)hearth_gguf_arr_int(a, a->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hearth_gguf *g = NULL;
    if (hearth_gguf_open_memory(data, size, &g) != HEARTH_OK) return 0;
    sink += hearth_gguf_version(g) + hearth_gguf_alignment(g) + hearth_gguf_data_offset(g);
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
        hearth_str k = hearth_gguf_kv_key(g, i);
        if (k.len) sink += (uint8_t)k.ptr[k.len - 1];
        int64_t iv;
        uint64_t uv;
        double dv;
        bool bv;
        hearth_str sv;
        hearth_gguf_arr av;
        if (hearth_gguf_kv_int(g, i, &iv) == HEARTH_OK) sink += (uint64_t)iv;
        if (hearth_gguf_kv_uint(g, i, &uv) == HEARTH_OK) sink += uv;
        if (hearth_gguf_kv_float(g, i, &dv) == HEARTH_OK) sink += (uint64_t)(dv == dv);
        if (hearth_gguf_kv_bool(g, i, &bv) == HEARTH_OK) sink += bv;
        if (hearth_gguf_kv_str(g, i, &sv) == HEARTH_OK && sv.len) sink += (uint8_t)sv.ptr[sv.len - 1];
        if (hearth_gguf_kv_arr(g, i, &av) == HEARTH_OK) walk_arr(&av, 0);
        /* lookup by name finds this key (names with NUL bytes cannot be asked for) */
        char name[128];
        if (k.len < sizeof name && !memchr(k.ptr, 0, k.len)) {
            memcpy(name, k.ptr, k.len);
            name[k.len] = 0;
            if (hearth_gguf_find_key(g, name) != i) __builtin_trap();
        }
        if (w) (void)hearth_gguf_copy_kv(w, g, i);
    }
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        if (hearth_gguf_find_tensor(g, t->name) != t) __builtin_trap();
        sink += (uint64_t)hearth_gguf_tensor_nelements(t);
        if (t->nbytes) {
            const uint8_t *d = t->data;
            sink += d[0] + d[t->nbytes - 1];
        }
        if (w) (void)hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
    }
    hearth_gguf_writer_free(w);
    hearth_gguf_close(g);
    return 0;
}
