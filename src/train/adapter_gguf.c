/*
 * adapter_gguf.c — LoRA adapters as GGUF, in the layout llama.cpp loads with
 * --lora (convert_lora_to_gguf.py / llama-adapter.cpp):
 *
 *   general.architecture   base architecture ("llama")
 *   general.type           "adapter"
 *   adapter.type           "lora"
 *   adapter.lora.alpha     F32; the runtime scale is alpha / r
 *   hearth.lora.rslora     bool (ours): trained with alpha / sqrt(r); alpha
 *                          is written multiplied by sqrt(r) so that
 *                          alpha_file / r = alpha / sqrt(r) everywhere, and
 *                          divided back on loading
 *   per base weight W (ne = {n_in, n_out}):
 *     "<W name>.lora_a"  F32, ne = {n_in, r}   (row-major (r, n_in): A)
 *     "<W name>.lora_b"  F32, ne = {r, n_out}  (row-major (n_out, r): B)
 */
#include "train_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hearth_status hearth_lora_save_gguf(const hearth_lora *l, const char *path) {
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!w) return hearth_set_error(HEARTH_ERR_NOMEM, "lora: out of memory");
    hearth_status s = hearth_gguf_set_str(w, "general.architecture", l->arch[0] ? l->arch : "llama");
    float alpha = l->rslora ? l->alpha * sqrtf((float)l->r) : l->alpha;
    if (!s) s = hearth_gguf_set_str(w, "general.type", "adapter");
    if (!s) s = hearth_gguf_set_str(w, "adapter.type", "lora");
    if (!s) s = hearth_gguf_set_f32(w, "adapter.lora.alpha", alpha);
    if (!s) s = hearth_gguf_set_bool(w, "hearth.lora.rslora", l->rslora);
    if (!s) s = hearth_gguf_set_u32(w, "hearth.lora.r", (uint32_t)l->r);
    char name[128];
    for (int i = 0; i < l->n && !s; i++) {
        const hearth_lora_weight *x = &l->w[i];
        int64_t ne_a[2] = {x->n_in, l->r}, ne_b[2] = {l->r, x->n_out};
        snprintf(name, sizeof name, "%s.lora_a", x->name);
        s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 2, ne_a, x->a);
        snprintf(name, sizeof name, "%s.lora_b", x->name);
        if (!s) s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 2, ne_b, x->b);
    }
    if (!s) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        s = hearth_gguf_writer_write(w, tmp);
        if (!s && rename(tmp, path) != 0) s = hearth_set_error(HEARTH_ERR_IO, "lora: cannot rename %s to %s", tmp, path);
        if (s) remove(tmp);
    }
    hearth_gguf_writer_free(w);
    return s;
}

static hearth_status read_f32(const hearth_gguf_tensor *t, float *dst, const char *path) {
    const hearth_type_traits *tt = hearth_type_traits_get(t->type);
    if (!tt || !tt->to_float)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: tensor %s has a type hearth cannot read", path, t->name);
    int64_t n = hearth_gguf_tensor_nelements(t);
    tt->to_float(t->data, dst, n);
    return HEARTH_OK;
}

hearth_status hearth_lora_load_gguf(const char *path, hearth_lora **out) {
    *out = NULL;
    hearth_gguf *g;
    hearth_status s = hearth_gguf_open(path, &g);
    if (s) return s;
    hearth_str str;
    if (hearth_gguf_get_str(g, "adapter.type", &str) != HEARTH_OK || str.len != 4 || memcmp(str.ptr, "lora", 4)) {
        hearth_gguf_close(g);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a LoRA adapter (adapter.type is not \"lora\")", path);
    }
    double alpha = 0;
    bool rs = false;
    hearth_gguf_get_float(g, "adapter.lora.alpha", &alpha);
    hearth_gguf_get_bool(g, "hearth.lora.rslora", &rs);
    hearth_lora *l = hearth_lora_create(0, (float)alpha, rs);
    if (!l) {
        hearth_gguf_close(g);
        return hearth_set_error(HEARTH_ERR_NOMEM, "lora: out of memory");
    }
    if (hearth_gguf_get_str(g, "general.architecture", &str) == HEARTH_OK && str.len < sizeof l->arch) {
        memcpy(l->arch, str.ptr, str.len);
        l->arch[str.len] = 0;
    }
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g) && !s; i++) {
        const hearth_gguf_tensor *ta = hearth_gguf_tensor_at(g, i);
        size_t len = strlen(ta->name);
        if (len < 8 || strcmp(ta->name + len - 7, ".lora_a") != 0) continue;
        char base[128], bname[140];
        snprintf(base, sizeof base, "%.*s", (int)(len - 7), ta->name);
        snprintf(bname, sizeof bname, "%s.lora_b", base);
        const hearth_gguf_tensor *tb = hearth_gguf_find_tensor(g, bname);
        if (!tb) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s has no matching %s", path, ta->name, bname);
            break;
        }
        int64_t r = ta->ne[1], n_in = ta->ne[0], n_out = tb->ne[1];
        if (ta->n_dims != 2 || tb->n_dims != 2 || tb->ne[0] != r || r <= 0 || (l->r && r != l->r)) {
            s = hearth_set_error(HEARTH_ERR_FORMAT,
                                 "%s: %s [%lld, %lld] and %s [%lld, %lld] do not form a LoRA pair of one rank", path,
                                 ta->name, (long long)ta->ne[0], (long long)ta->ne[1], tb->name, (long long)tb->ne[0],
                                 (long long)tb->ne[1]);
            break;
        }
        l->r = (int32_t)r;
        if ((s = hearth_lora_add(l, base, n_in, n_out))) break;
        hearth_lora_weight *w = &l->w[l->n - 1];
        if ((s = read_f32(ta, w->a, path)) || (s = read_f32(tb, w->b, path))) break;
    }
    if (!s && l->n == 0) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the adapter has no .lora_a/.lora_b tensors", path);
    hearth_gguf_close(g);
    if (s) {
        hearth_lora_free(l);
        return s;
    }
    if (l->rslora) l->alpha = l->alpha / sqrtf((float)l->r);
    if (alpha == 0) l->alpha = (float)l->r;   /* llama.cpp: no alpha means scale 1 */
    *out = l;
    return HEARTH_OK;
}

hearth_status hearth_lora_check_model(const hearth_lora *l, const hearth_model *m) {
    const hearth_gguf *g = hearth_model_gguf(m);
    for (int i = 0; i < l->n; i++) {
        const hearth_lora_weight *w = &l->w[i];
        const hearth_gguf_tensor *t = hearth_gguf_find_tensor(g, w->name);
        if (!t)
            return hearth_set_error(HEARTH_ERR_FORMAT, "adapter tensor %s does not exist in the base model %s (wrong base model?)",
                                    w->name, hearth_model_name(m));
        if (t->ne[0] != w->n_in || t->ne[1] != w->n_out)
            return hearth_set_error(HEARTH_ERR_FORMAT,
                                    "adapter does not fit the base model %s: %s is [%lld, %lld] in the model but the "
                                    "adapter expects [%lld, %lld] (wrong base model?)",
                                    hearth_model_name(m), w->name, (long long)t->ne[0], (long long)t->ne[1],
                                    (long long)w->n_in, (long long)w->n_out);
    }
    return HEARTH_OK;
}
