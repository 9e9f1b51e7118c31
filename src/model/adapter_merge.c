/*
 * adapter_merge.c — `hearth merge`: a base GGUF with LoRA adapters folded in,
 *   W' = W + sum_i s_i * scale(adapter_i) * B_i A_i
 * computed in F32 per tensor (the base tensor dequantized), then stored in
 * the base tensor's type or the requested one (from_float of the kernel
 * table: F16, BF16, Q8_0, Q4_K...). Tensors without an adapter and without a
 * type change are copied as they are (borrowed from the mapping); every
 * metadata key is copied.
 */
#include "hearth/adapter.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's general.file_type for a file whose matrices are all `type` */
static int file_type_of(int type) {
    switch (type) {
    case HEARTH_TYPE_F32: return 0;
    case HEARTH_TYPE_F16: return 1;
    case HEARTH_TYPE_Q4_0: return 2;
    case HEARTH_TYPE_Q4_1: return 3;
    case HEARTH_TYPE_Q8_0: return 7;
    case HEARTH_TYPE_Q5_0: return 8;
    case HEARTH_TYPE_Q5_1: return 9;
    case HEARTH_TYPE_Q2_K: return 10;
    case HEARTH_TYPE_Q3_K: return 11;
    case HEARTH_TYPE_Q4_K: return 14;
    case HEARTH_TYPE_Q5_K: return 16;
    case HEARTH_TYPE_Q6_K: return 18;
    case HEARTH_TYPE_BF16: return 32;
    default: return -1;
    }
}

/* W (n_out, n_in) += s * B (n_out, r) A (r, n_in) */
static bool add_delta(float *W, const hearth_adapter_weight *w, int32_t r, float s) {
    float *sb = malloc((size_t)r * sizeof(float));
    if (!sb) return false;
    for (int64_t o = 0; o < w->n_out; o++) {
        float *row = W + o * w->n_in;
        for (int32_t k = 0; k < r; k++) sb[k] = s * w->b[o * r + k];
        for (int32_t k = 0; k < r; k++) {
            const float *a = w->a + (size_t)k * w->n_in;
            float c = sb[k];
            if (c == 0) continue;
            for (int64_t i = 0; i < w->n_in; i++) row[i] += c * a[i];
        }
    }
    free(sb);
    return true;
}

hearth_status hearth_adapter_merge(const char *base_path, const hearth_adapter *const *adapters, const float *scales,
                                   int n, int out_type, const char *out_path, hearth_merge_progress_fn progress,
                                   void *user) {
    if (n < 0 || (n > 0 && !adapters)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "merge: bad adapter list");
    const hearth_type_traits *ot = NULL;
    if (out_type != -1) {
        ot = hearth_type_traits_get((uint32_t)out_type);
        const hearth_type_info *ti = hearth_type_get((uint32_t)out_type);
        if (!ot || !ot->from_float || !ti)
            return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "merge: hearth cannot write tensors of type %s",
                                    ti ? ti->name : "(unknown)");
    }
    hearth_gguf *g;
    hearth_status s = hearth_gguf_open(base_path, &g);
    if (s) return s;
    for (int i = 0; i < n && !s; i++)
        if ((s = hearth_adapter_check(adapters[i], g))) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hearth_last_error());
            s = hearth_set_error(s, "merge: adapter %d: %s", i + 1, msg);
        }
    int64_t nt = hearth_gguf_n_tensors(g);
    void **owned = calloc((size_t)nt + 1, sizeof *owned);
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!s && (!owned || !w)) s = hearth_set_error(HEARTH_ERR_NOMEM, "merge: out of memory");
    for (int64_t i = 0; i < hearth_gguf_n_kv(g) && !s; i++) s = hearth_gguf_copy_kv(w, g, i);
    if (!s && out_type != -1 && file_type_of(out_type) >= 0)
        s = hearth_gguf_set_u32(w, "general.file_type", (uint32_t)file_type_of(out_type));
    float *f32 = NULL;
    size_t f32_cap = 0;
    for (int64_t ti = 0; ti < nt && !s; ti++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, ti);
        int64_t ne = hearth_gguf_tensor_nelements(t);
        /* the type it is written in */
        uint32_t type = t->type;
        bool matrix = t->n_dims == 2 && t->ne[1] > 1;
        if (ot && matrix && hearth_row_size((uint32_t)out_type, t->ne[0]) != 0) type = (uint32_t)out_type;
        bool touched = false;
        for (int a = 0; a < n && !touched; a++)
            touched = hearth_adapter_find(adapters[a], t->name) && (!scales || scales[a] != 0);
        if (!touched && type == t->type) {
            s = hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
        } else {
            const hearth_type_traits *src = hearth_type_traits_get(t->type);
            const hearth_type_traits *dst = hearth_type_traits_get(type);
            const hearth_type_info *si = hearth_type_get(t->type);
            if (!src || !src->to_float || !dst || !dst->from_float) {
                s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "merge: %s has type %s, which hearth cannot convert",
                                     t->name, si ? si->name : "(unknown)");
                break;
            }
            if ((size_t)ne > f32_cap) {
                free(f32);
                f32 = malloc((size_t)ne * sizeof(float));
                f32_cap = f32 ? (size_t)ne : 0;
            }
            size_t row_out = hearth_row_size(type, t->ne[0]), rows = (size_t)(ne / t->ne[0]);
            owned[ti] = malloc(row_out * rows);
            if (!f32 || !owned[ti]) {
                s = hearth_set_error(HEARTH_ERR_NOMEM, "merge: out of memory for %s (%lld elements)", t->name,
                                     (long long)ne);
                break;
            }
            src->to_float(t->data, f32, ne);
            for (int a = 0; a < n; a++) {
                const hearth_adapter_weight *aw = hearth_adapter_find(adapters[a], t->name);
                float sc = (scales ? scales[a] : 1.0f) * hearth_adapter_scale(adapters[a]);
                if (aw && sc != 0 && !add_delta(f32, aw, adapters[a]->r, sc))
                    s = hearth_set_error(HEARTH_ERR_NOMEM, "merge: out of memory");
            }
            if (s) break;
            for (size_t r = 0; r < rows; r++)
                dst->from_float(f32 + r * t->ne[0], (char *)owned[ti] + r * row_out, t->ne[0]);
            s = hearth_gguf_add_tensor(w, t->name, type, t->n_dims, t->ne, owned[ti]);
        }
        if (progress) progress(ti + 1, nt, user);
    }
    free(f32);
    if (!s) s = hearth_gguf_writer_write(w, out_path);
    hearth_gguf_writer_free(w);
    for (int64_t i = 0; owned && i < nt; i++) free(owned[i]);
    free(owned);
    hearth_gguf_close(g);
    return s;
}
