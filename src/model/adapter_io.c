/*
 * adapter_io.c — the in-memory LoRA adapter (include/hearth/adapter.h) and
 * its files: GGUF in llama.cpp's LoRA layout, PEFT folders
 * (adapter_config.json + adapter_model.safetensors), the HF <-> GGUF module
 * names and the Q/K row permutation of llama-architecture models.
 */
#include "hearth/adapter.h"
#include "kernels/kernels.h"
#include "hearth/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ==== the adapter ================================================================ */
float hearth_adapter_scale(const hearth_adapter *a) {
    if (a->r <= 0) return 0;
    return a->rslora ? a->alpha / sqrtf((float)a->r) : a->alpha / (float)a->r;
}

hearth_adapter *hearth_adapter_create(int32_t r, float alpha, bool rslora) {
    hearth_adapter *a = calloc(1, sizeof *a);
    if (!a) {
        hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
        return NULL;
    }
    a->r = r;
    a->alpha = alpha;
    a->rslora = rslora;
    return a;
}

void hearth_adapter_free(hearth_adapter *a) {
    if (!a) return;
    for (int i = 0; i < a->n; i++) {
        free(a->w[i].a);
        free(a->w[i].b);
    }
    free(a->w);
    free(a);
}

hearth_status hearth_adapter_add(hearth_adapter *a, const char *name, int64_t n_in, int64_t n_out) {
    if (strlen(name) >= sizeof a->w[0].name)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "adapter: tensor name \"%.40s...\" is too long", name);
    if (a->r <= 0 || n_in <= 0 || n_out <= 0 || n_in > (1 << 28) || n_out > (1 << 28))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "adapter: %s: bad shape (r %d, in %lld, out %lld)", name, a->r,
                                (long long)n_in, (long long)n_out);
    if (hearth_adapter_find(a, name))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "adapter: %s appears twice", name);
    hearth_adapter_weight *w = realloc(a->w, (size_t)(a->n + 1) * sizeof *w);
    if (!w) return hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
    a->w = w;
    hearth_adapter_weight *x = &w[a->n];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->n_in = n_in;
    x->n_out = n_out;
    x->a = calloc((size_t)a->r * (size_t)n_in, sizeof(float));
    x->b = calloc((size_t)n_out * (size_t)a->r, sizeof(float));
    if (!x->a || !x->b) {
        free(x->a);
        free(x->b);
        return hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory for %s (%lld x %d)", name, (long long)n_in,
                                a->r);
    }
    a->n++;
    return HEARTH_OK;
}

const hearth_adapter_weight *hearth_adapter_find(const hearth_adapter *a, const char *name) {
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->w[i].name, name) == 0) return &a->w[i];
    return NULL;
}

hearth_status hearth_adapter_check(const hearth_adapter *a, const hearth_gguf *base) {
    for (int i = 0; i < a->n; i++) {
        const hearth_adapter_weight *w = &a->w[i];
        const hearth_gguf_tensor *t = hearth_gguf_find_tensor(base, w->name);
        if (!t)
            return hearth_set_error(HEARTH_ERR_FORMAT,
                                    "adapter tensor %s does not exist in the base model (wrong base model?)", w->name);
        if (t->n_dims != 2 || t->ne[0] != w->n_in || t->ne[1] != w->n_out)
            return hearth_set_error(HEARTH_ERR_FORMAT,
                                    "adapter does not fit the base model: %s is [%lld, %lld] (ne) in the model but the "
                                    "adapter's is [%lld, %lld] (wrong base model?)",
                                    w->name, (long long)t->ne[0], (long long)t->ne[1], (long long)w->n_in,
                                    (long long)w->n_out);
    }
    return HEARTH_OK;
}

/* ==== HF module names <-> GGUF tensor names ========================================= */
static const struct {
    const char *hf;     /* module after "model.layers.N." */
    const char *gguf;   /* tensor after "blk.N." */
} modules[] = {
    {"self_attn.q_proj", "attn_q"},   {"self_attn.k_proj", "attn_k"}, {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
};
#define N_MODULES ((int)(sizeof modules / sizeof modules[0]))

/* "blk.N.attn_q.weight" -> layer N, module index; "output.weight" -> layer -1, N_MODULES */
static bool parse_gguf_name(const char *name, int *layer, int *mod) {
    if (strcmp(name, "output.weight") == 0) {
        *layer = -1;
        *mod = N_MODULES;
        return true;
    }
    int n = 0, l;
    if (sscanf(name, "blk.%d.%n", &l, &n) != 1 || n == 0 || l < 0) return false;
    const char *rest = name + n;
    for (int i = 0; i < N_MODULES; i++) {
        size_t k = strlen(modules[i].gguf);
        if (strncmp(rest, modules[i].gguf, k) == 0 && strcmp(rest + k, ".weight") == 0) {
            *layer = l;
            *mod = i;
            return true;
        }
    }
    return false;
}

/* PEFT tensor name -> GGUF base tensor name and whether it is lora_A.
 * Accepts "<prefix>layers.N.<module>.lora_A[.adapter].weight" and
 * "<prefix>lm_head.lora_A.weight". */
static bool parse_peft_name(const char *name, char *gguf, size_t cap, bool *is_a) {
    const char *la = strstr(name, ".lora_A."), *lb = strstr(name, ".lora_B.");
    const char *p = la ? la : lb;
    if (!p || (la && lb)) return false;
    *is_a = la != NULL;
    const char *tail = p + 8;   /* "weight" or "<adapter>.weight" */
    size_t tl = strlen(tail);
    if (tl < 6 || strcmp(tail + tl - 6, "weight") != 0) return false;
    size_t mlen = (size_t)(p - name);   /* the module path */
    if (mlen >= 7 && strncmp(p - 7, "lm_head", 7) == 0 && (mlen == 7 || p[-8] == '.')) {
        snprintf(gguf, cap, "output.weight");
        return true;
    }
    const char *ly = NULL;
    for (const char *q = name; q < p; q++)
        if (strncmp(q, "layers.", 7) == 0 && (q == name || q[-1] == '.')) ly = q;
    if (!ly) return false;
    char *e;
    long l = strtol(ly + 7, &e, 10);
    if (e == ly + 7 || *e != '.' || l < 0 || l > 100000) return false;
    const char *mod = e + 1;
    for (int i = 0; i < N_MODULES; i++) {
        size_t k = strlen(modules[i].hf);
        if ((size_t)(p - mod) == k && strncmp(mod, modules[i].hf, k) == 0) {
            snprintf(gguf, cap, "blk.%ld.%s.weight", l, modules[i].gguf);
            return true;
        }
    }
    return false;
}

/* ==== the Q/K row permutation (llama architecture) ==================================
 * convert_hf_to_gguf.py (LlamaModel.permute) reorders the rows of each head of
 * q_proj / k_proj: HF row h*hd + j*hd/2 + i (j = 0, 1: the two rotate-half
 * halves) becomes GGUF row h*hd + 2*i + j (interleaved pairs). A LoRA delta
 * B A permutes like W: only B's rows move. */
static void permute_rows(float *b, int64_t n_out, int32_t r, int heads, bool to_gguf, float *tmp) {
    int64_t hd = n_out / heads, half = hd / 2;
    memcpy(tmp, b, (size_t)n_out * r * sizeof(float));
    for (int h = 0; h < heads; h++)
        for (int64_t i = 0; i < half; i++)
            for (int j = 0; j < 2; j++) {
                int64_t hf = h * hd + j * half + i, gg = h * hd + 2 * i + j;
                int64_t dst = to_gguf ? gg : hf, src = to_gguf ? hf : gg;
                memcpy(b + dst * r, tmp + src * r, (size_t)r * sizeof(float));
            }
}

/* heads whose rows the converter permuted for tensor `mod` (0: none) */
static hearth_status permute_heads(const hearth_gguf *base, int mod, int64_t n_out, int *heads) {
    *heads = 0;
    if (!base || mod > 1) return HEARTH_OK;   /* only attn_q (0) and attn_k (1) */
    hearth_str arch;
    if (hearth_gguf_get_str(base, "general.architecture", &arch) != HEARTH_OK)
        return hearth_set_error(HEARTH_ERR_FORMAT, "adapter: the base model has no general.architecture");
    if (!(arch.len == 5 && memcmp(arch.ptr, "llama", 5) == 0)) return HEARTH_OK;
    int64_t nh = 0, nkv = 0;
    if (hearth_gguf_get_int(base, "llama.attention.head_count", &nh) != HEARTH_OK || nh <= 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "adapter: the base model has no llama.attention.head_count");
    if (hearth_gguf_get_int(base, "llama.attention.head_count_kv", &nkv) != HEARTH_OK || nkv <= 0) nkv = nh;
    int64_t h = mod == 0 ? nh : nkv;
    if (n_out % (2 * h) != 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "adapter: %s rows (%lld) do not split into %lld heads of even size",
                                mod == 0 ? "q_proj" : "k_proj", (long long)n_out, (long long)h);
    *heads = (int)h;
    return HEARTH_OK;
}

static bool base_arch_is(const hearth_gguf *base, const char *want) {
    hearth_str arch;
    return base && hearth_gguf_get_str(base, "general.architecture", &arch) == HEARTH_OK && arch.len == strlen(want) &&
           memcmp(arch.ptr, want, arch.len) == 0;
}

/* ==== GGUF ======================================================================== */
hearth_status hearth_adapter_save_gguf(const hearth_adapter *a, const char *path) {
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!w) return hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
    float alpha = a->rslora ? a->alpha * sqrtf((float)a->r) : a->alpha;
    hearth_status s = hearth_gguf_set_str(w, "general.architecture", a->arch[0] ? a->arch : "llama");
    if (!s) s = hearth_gguf_set_str(w, "general.type", "adapter");
    if (!s) s = hearth_gguf_set_str(w, "adapter.type", "lora");
    if (!s) s = hearth_gguf_set_f32(w, "adapter.lora.alpha", alpha);
    if (!s) s = hearth_gguf_set_bool(w, "hearth.lora.rslora", a->rslora);
    if (!s) s = hearth_gguf_set_u32(w, "hearth.lora.r", (uint32_t)a->r);
    if (!s) s = hearth_gguf_set_f32(w, "hearth.lora.dropout", a->dropout);
    if (!s && a->base_model[0]) s = hearth_gguf_set_str(w, "hearth.lora.base_model", a->base_model);
    char name[128];
    for (int i = 0; i < a->n && !s; i++) {
        const hearth_adapter_weight *x = &a->w[i];
        int64_t ne_a[2] = {x->n_in, a->r}, ne_b[2] = {a->r, x->n_out};
        snprintf(name, sizeof name, "%s.lora_a", x->name);
        s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 2, ne_a, x->a);
        snprintf(name, sizeof name, "%s.lora_b", x->name);
        if (!s) s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 2, ne_b, x->b);
    }
    if (!s) s = hearth_gguf_writer_write(w, path);   /* writes beside and renames */
    hearth_gguf_writer_free(w);
    return s;
}

static hearth_status gguf_to_f32(const hearth_gguf_tensor *t, float *dst, const char *path) {
    const hearth_type_traits *tt = hearth_type_traits_get(t->type);
    const hearth_type_info *ti = hearth_type_get(t->type);
    if (!tt || !tt->to_float)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: tensor %s has type %s, which hearth cannot read", path,
                                t->name, ti ? ti->name : "unknown");
    tt->to_float(t->data, dst, hearth_gguf_tensor_nelements(t));
    return HEARTH_OK;
}

static void copy_str(char *dst, size_t cap, hearth_str s) {
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

hearth_status hearth_adapter_load_gguf(const char *path, hearth_adapter **out) {
    *out = NULL;
    hearth_gguf *g;
    hearth_status s = hearth_gguf_open(path, &g);
    if (s) return s;
    hearth_str str;
    if (hearth_gguf_get_str(g, "adapter.type", &str) != HEARTH_OK || str.len != 4 || memcmp(str.ptr, "lora", 4)) {
        hearth_gguf_close(g);
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "%s: not a LoRA adapter (adapter.type is not \"lora\"; is this a model file?)", path);
    }
    double alpha = 0, dropout = 0;
    bool rs = false, has_alpha = hearth_gguf_get_float(g, "adapter.lora.alpha", &alpha) == HEARTH_OK;
    hearth_gguf_get_bool(g, "hearth.lora.rslora", &rs);
    hearth_gguf_get_float(g, "hearth.lora.dropout", &dropout);
    hearth_adapter *a = hearth_adapter_create(0, (float)alpha, rs);
    if (!a) {
        hearth_gguf_close(g);
        return HEARTH_ERR_NOMEM;
    }
    a->dropout = (float)dropout;
    if (hearth_gguf_get_str(g, "general.architecture", &str) == HEARTH_OK) copy_str(a->arch, sizeof a->arch, str);
    if (hearth_gguf_get_str(g, "hearth.lora.base_model", &str) == HEARTH_OK)
        copy_str(a->base_model, sizeof a->base_model, str);
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g) && !s; i++) {
        const hearth_gguf_tensor *ta = hearth_gguf_tensor_at(g, i);
        size_t len = strlen(ta->name);
        bool is_a = len > 7 && strcmp(ta->name + len - 7, ".lora_a") == 0;
        bool is_b = len > 7 && strcmp(ta->name + len - 7, ".lora_b") == 0;
        if (is_b || (len > 12 && strcmp(ta->name + len - 12, "_norm.weight") == 0)) continue;
        if (!is_a) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor %s is neither .lora_a nor .lora_b", path, ta->name);
            break;
        }
        char base[128], bname[140];
        snprintf(base, sizeof base, "%.*s", (int)(len - 7), ta->name);
        snprintf(bname, sizeof bname, "%s.lora_b", base);
        const hearth_gguf_tensor *tb = hearth_gguf_find_tensor(g, bname);
        if (!tb) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s has no matching %s", path, ta->name, bname);
            break;
        }
        int64_t r = ta->ne[1], n_in = ta->ne[0], n_out = tb->ne[1];
        if (ta->n_dims != 2 || tb->n_dims != 2 || tb->ne[0] != r || r <= 0 || r > 65536 || (a->r && r != a->r)) {
            s = hearth_set_error(HEARTH_ERR_FORMAT,
                                 "%s: %s ne [%lld, %lld] and %s ne [%lld, %lld] are not a LoRA pair of the adapter's rank",
                                 path, ta->name, (long long)ta->ne[0], (long long)ta->ne[1], tb->name,
                                 (long long)tb->ne[0], (long long)tb->ne[1]);
            break;
        }
        a->r = (int32_t)r;
        if ((s = hearth_adapter_add(a, base, n_in, n_out))) break;
        hearth_adapter_weight *w = &a->w[a->n - 1];
        if ((s = gguf_to_f32(ta, w->a, path)) || (s = gguf_to_f32(tb, w->b, path))) break;
    }
    /* every .lora_b has its .lora_a */
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g) && !s; i++) {
        const hearth_gguf_tensor *tb = hearth_gguf_tensor_at(g, i);
        size_t len = strlen(tb->name);
        if (len > 7 && strcmp(tb->name + len - 7, ".lora_b") == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(len - 7), tb->name);
            if (!hearth_adapter_find(a, base))
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s has no matching %s.lora_a", path, tb->name, base);
        }
    }
    if (!s && a->n == 0) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the adapter has no .lora_a/.lora_b tensors", path);
    hearth_gguf_close(g);
    if (s) {
        hearth_adapter_free(a);
        return s;
    }
    if (!has_alpha || alpha == 0) {
        a->alpha = (float)a->r;   /* llama.cpp: no alpha means scale 1 */
        a->rslora = false;
    } else if (a->rslora) {
        a->alpha /= sqrtf((float)a->r);
    }
    *out = a;
    return HEARTH_OK;
}

/* ==== PEFT folders ==================================================================== */
static char *join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

hearth_status hearth_adapter_save_peft(const hearth_adapter *a, const hearth_gguf *base, const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return hearth_set_error(HEARTH_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    if (!is_dir(dir)) return hearth_set_error(HEARTH_ERR_IO, "%s: exists and is not a folder", dir);
    if (!base && strcmp(a->arch, "qwen2") != 0)
        for (int i = 0; i < a->n; i++) {
            int l, mod;
            if (parse_gguf_name(a->w[i].name, &l, &mod) && mod <= 1)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                        "adapter: saving %s as PEFT needs the base model (q/k row order)", a->w[i].name);
        }
    hearth_st_writer *w = hearth_st_writer_create();
    float **perm = calloc((size_t)a->n + 1, sizeof *perm);   /* permuted copies of B */
    cJSON *cfg = cJSON_CreateObject(), *targets = cJSON_CreateArray();
    hearth_status s = w && perm && cfg && targets ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
    bool used[N_MODULES + 1] = {0};
    char name[256];
    if (!s) s = hearth_st_writer_set_meta(w, "format", "pt");
    for (int i = 0; i < a->n && !s; i++) {
        const hearth_adapter_weight *x = &a->w[i];
        int l, mod;
        if (!parse_gguf_name(x->name, &l, &mod)) {
            s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "adapter: %s has no PEFT module name (only attention, "
                                 "feed-forward and output projections)", x->name);
            break;
        }
        used[mod] = true;
        const float *b = x->b;
        int heads = 0;
        if ((s = permute_heads(base, mod, x->n_out, &heads))) break;
        if (heads) {
            float *tmp = malloc((size_t)x->n_out * a->r * sizeof(float));
            perm[i] = malloc((size_t)x->n_out * a->r * sizeof(float));
            if (!tmp || !perm[i]) {
                free(tmp);
                s = hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
                break;
            }
            memcpy(perm[i], x->b, (size_t)x->n_out * a->r * sizeof(float));
            permute_rows(perm[i], x->n_out, a->r, heads, false, tmp);
            free(tmp);
            b = perm[i];
        }
        char mpath[96];
        if (mod == N_MODULES) snprintf(mpath, sizeof mpath, "base_model.model.lm_head");
        else snprintf(mpath, sizeof mpath, "base_model.model.model.layers.%d.%s", l, modules[mod].hf);
        int64_t sa[2] = {a->r, x->n_in}, sb[2] = {x->n_out, a->r};
        snprintf(name, sizeof name, "%s.lora_A.weight", mpath);
        s = hearth_st_writer_add(w, name, HEARTH_ST_F32, 2, sa, x->a);
        snprintf(name, sizeof name, "%s.lora_B.weight", mpath);
        if (!s) s = hearth_st_writer_add(w, name, HEARTH_ST_F32, 2, sb, b);
    }
    char *st_path = join(dir, "adapter_model.safetensors"), *cfg_path = join(dir, "adapter_config.json");
    if (!s && (!st_path || !cfg_path)) s = hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
    if (!s) s = hearth_st_writer_write(w, st_path);
    if (!s) {
        for (int i = 0; i <= N_MODULES; i++)
            if (used[i]) {
                const char *m = i == N_MODULES ? "lm_head" : strchr(modules[i].hf, '.') + 1;
                cJSON_AddItemToArray(targets, cJSON_CreateString(m));
            }
        cJSON_AddStringToObject(cfg, "base_model_name_or_path", a->base_model);
        cJSON_AddStringToObject(cfg, "bias", "none");
        cJSON_AddBoolToObject(cfg, "fan_in_fan_out", false);
        cJSON_AddBoolToObject(cfg, "inference_mode", true);
        cJSON_AddBoolToObject(cfg, "init_lora_weights", true);
        cJSON_AddNumberToObject(cfg, "lora_alpha", a->alpha);
        cJSON_AddNumberToObject(cfg, "lora_dropout", a->dropout);
        cJSON_AddNullToObject(cfg, "modules_to_save");
        cJSON_AddStringToObject(cfg, "peft_type", "LORA");
        cJSON_AddNumberToObject(cfg, "r", a->r);
        cJSON_AddItemToObject(cfg, "target_modules", targets);
        targets = NULL;
        cJSON_AddStringToObject(cfg, "task_type", "CAUSAL_LM");
        cJSON_AddBoolToObject(cfg, "use_dora", false);
        cJSON_AddBoolToObject(cfg, "use_rslora", a->rslora);
        char *text = cJSON_Print(cfg);
        FILE *f = text ? fopen(cfg_path, "wb") : NULL;
        if (!text) s = hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
        else if (!f) s = hearth_set_error(HEARTH_ERR_IO, "%s: cannot create: %s", cfg_path, strerror(errno));
        else {
            bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
            if (fclose(f) != 0 || !ok) s = hearth_set_error(HEARTH_ERR_IO, "%s: write failed", cfg_path);
        }
        free(text);
    }
    for (int i = 0; perm && i < a->n; i++) free(perm[i]);
    free(perm);
    free(st_path);
    free(cfg_path);
    cJSON_Delete(cfg);
    cJSON_Delete(targets);
    hearth_st_writer_free(w);
    return s;
}

/* the adapter_config.json fields hearth uses; unsupported variants are errors */
static hearth_status read_config(const char *cfg_path, hearth_adapter *a) {
    char *text;
    size_t len;
    hearth_status s = hearth_read_file(cfg_path, &text, &len);
    if (s) return s;
    const char *end = NULL;
    cJSON *c = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!c || !cJSON_IsObject(c)) {
        size_t at = c ? 0 : (end && end >= text && end <= text + len ? (size_t)(end - text) : 0);
        cJSON_Delete(c);
        free(text);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a JSON object (error near byte %zu)", cfg_path, at);
    }
    const cJSON *v;
#define FIELD(k) cJSON_GetObjectItemCaseSensitive(c, k)
    if ((v = FIELD("peft_type")) && cJSON_IsString(v) && strcmp(v->valuestring, "LORA") != 0)
        s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: peft_type \"%s\" (only LORA)", cfg_path, v->valuestring);
    v = FIELD("r");
    if (!s && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65536 || v->valuedouble != (int)v->valuedouble))
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: \"r\" is missing or not a positive integer", cfg_path);
    if (!s) a->r = (int32_t)v->valuedouble;
    v = FIELD("lora_alpha");
    if (!s && v && !cJSON_IsNumber(v)) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: \"lora_alpha\" is not a number", cfg_path);
    if (!s) a->alpha = v ? (float)v->valuedouble : 8.0f;   /* PEFT's default lora_alpha */
    if (!s && (v = FIELD("lora_dropout")) && cJSON_IsNumber(v)) a->dropout = (float)v->valuedouble;
    if (!s && (v = FIELD("use_rslora"))) a->rslora = cJSON_IsTrue(v);
    if (!s && (v = FIELD("base_model_name_or_path")) && cJSON_IsString(v))
        snprintf(a->base_model, sizeof a->base_model, "%s", v->valuestring);
    if (!s && cJSON_IsTrue(FIELD("use_dora")))
        s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: DoRA adapters (use_dora) are not supported", cfg_path);
    if (!s && cJSON_IsTrue(FIELD("fan_in_fan_out")))
        s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: fan_in_fan_out adapters (GPT-2 Conv1D) are not supported",
                             cfg_path);
    if (!s && (v = FIELD("bias")) && cJSON_IsString(v) && strcmp(v->valuestring, "none") != 0)
        s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: bias \"%s\": trained biases are not supported (only \"none\")",
                             cfg_path, v->valuestring);
    if (!s && (((v = FIELD("rank_pattern")) && cJSON_GetArraySize(v) > 0) ||
               ((v = FIELD("alpha_pattern")) && cJSON_GetArraySize(v) > 0)))
        s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: per-module rank_pattern / alpha_pattern is not supported",
                             cfg_path);
#undef FIELD
    cJSON_Delete(c);
    free(text);
    return s;
}

hearth_status hearth_adapter_load_peft(const char *dir_in, const hearth_gguf *base, hearth_adapter **out) {
    *out = NULL;
    /* a path to the .safetensors file: its folder */
    char *dir = NULL;
    size_t dl = strlen(dir_in);
    if (!is_dir(dir_in) && dl > 12 && strcmp(dir_in + dl - 12, ".safetensors") == 0) {
        const char *slash = strrchr(dir_in, '/');
        dir = slash ? strndup(dir_in, (size_t)(slash - dir_in)) : strdup(".");
    } else {
        dir = strdup(dir_in);
    }
    char *cfg_path = dir ? join(dir, "adapter_config.json") : NULL;
    char *st_path = dir ? (is_dir(dir_in) ? join(dir, "adapter_model.safetensors") : strdup(dir_in)) : NULL;
    hearth_adapter *a = hearth_adapter_create(0, 0, false);
    hearth_safetensors *st = NULL;
    hearth_status s = cfg_path && st_path && a ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
    if (!s) s = read_config(cfg_path, a);
    if (!s) s = hearth_safetensors_open(st_path, &st);
    if (!s && base) {
        hearth_str arch;
        if (hearth_gguf_get_str(base, "general.architecture", &arch) == HEARTH_OK) copy_str(a->arch, sizeof a->arch, arch);
    }
    float *tmp = NULL;
    char gname[96];
    for (int64_t i = 0; !s && i < hearth_safetensors_n_tensors(st); i++) {
        const hearth_st_tensor *ta = hearth_safetensors_tensor_at(st, i);
        bool is_a;
        if (!parse_peft_name(ta->name, gname, sizeof gname, &is_a)) {
            s = hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                 "%s: tensor \"%s\" is not a lora_A/lora_B of a projection hearth knows (q,k,v,o,gate,"
                                 "up,down_proj, lm_head)", st_path, ta->name);
            break;
        }
        if (!is_a) continue;
        /* the matching lora_B: same name with lora_A -> lora_B */
        char bname[512];
        const char *p = strstr(ta->name, ".lora_A.");
        snprintf(bname, sizeof bname, "%.*s.lora_B.%s", (int)(p - ta->name), ta->name, p + 8);
        const hearth_st_tensor *tb = hearth_safetensors_find(st, bname);
        if (!tb) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s has no matching %s", st_path, ta->name, bname);
            break;
        }
        if (ta->n_dims != 2 || tb->n_dims != 2 || ta->shape[0] != a->r || tb->shape[1] != a->r) {
            s = hearth_set_error(HEARTH_ERR_FORMAT,
                                 "%s: %s %s and %s %s: expected lora_A [r, in] and lora_B [out, r] with r = %d", st_path,
                                 ta->name, ta->n_dims == 2 ? "is 2-D" : "is not 2-D", tb->name,
                                 tb->n_dims == 2 ? "is 2-D" : "is not 2-D", a->r);
            if (ta->n_dims == 2 && tb->n_dims == 2)
                s = hearth_set_error(HEARTH_ERR_FORMAT,
                                     "%s: %s [%lld, %lld] and %s [%lld, %lld]: expected lora_A [r, in] and lora_B "
                                     "[out, r] with r = %d (adapter_config.json)",
                                     st_path, ta->name, (long long)ta->shape[0], (long long)ta->shape[1], tb->name,
                                     (long long)tb->shape[0], (long long)tb->shape[1], a->r);
            break;
        }
        if ((s = hearth_adapter_add(a, gname, ta->shape[1], tb->shape[0]))) break;
        hearth_adapter_weight *w = &a->w[a->n - 1];
        if ((s = hearth_safetensors_to_f32(ta, w->a)) || (s = hearth_safetensors_to_f32(tb, w->b))) break;
        int l, mod, heads = 0;
        parse_gguf_name(gname, &l, &mod);
        if ((s = permute_heads(base, mod, w->n_out, &heads))) break;
        if (heads) {
            free(tmp);
            tmp = malloc((size_t)w->n_out * a->r * sizeof(float));
            if (!tmp) {
                s = hearth_set_error(HEARTH_ERR_NOMEM, "adapter: out of memory");
                break;
            }
            permute_rows(w->b, w->n_out, a->r, heads, true, tmp);
        }
    }
    /* every lora_B has its lora_A */
    for (int64_t i = 0; !s && i < hearth_safetensors_n_tensors(st); i++) {
        const hearth_st_tensor *tb = hearth_safetensors_tensor_at(st, i);
        bool is_a;
        if (parse_peft_name(tb->name, gname, sizeof gname, &is_a) && !is_a && !hearth_adapter_find(a, gname))
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s has no matching lora_A", st_path, tb->name);
    }
    if (!s && a->n == 0) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: no lora_A/lora_B tensors", st_path);
    free(tmp);
    hearth_safetensors_close(st);
    free(dir);
    free(cfg_path);
    free(st_path);
    if (s) {
        hearth_adapter_free(a);
        return s;
    }
    *out = a;
    return HEARTH_OK;
}

/* ==== either form ===================================================================== */
hearth_status hearth_adapter_load(const char *path, const hearth_gguf *base, hearth_adapter **out) {
    *out = NULL;
    size_t n = strlen(path);
    bool peft = is_dir(path) || (n > 12 && strcmp(path + n - 12, ".safetensors") == 0);
    hearth_adapter *a;
    hearth_status s = peft ? hearth_adapter_load_peft(path, base, &a) : hearth_adapter_load_gguf(path, &a);
    if (s) return s;
    if (base) {
        if (!peft && a->arch[0] && !base_arch_is(base, a->arch)) {
            hearth_str arch = {"?", 1};
            hearth_gguf_get_str(base, "general.architecture", &arch);
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the adapter is for architecture \"%s\" but the base model is "
                                 "\"%.*s\" (wrong base model?)", path, a->arch, (int)(arch.len > 32 ? 32 : arch.len),
                                 arch.ptr);
        }
        if (!s && (s = hearth_adapter_check(a, base))) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hearth_last_error());
            s = hearth_set_error(s, "%s: %s", path, msg);
        }
        if (s) {
            hearth_adapter_free(a);
            return s;
        }
    }
    *out = a;
    return HEARTH_OK;
}

hearth_status hearth_adapter_save(const hearth_adapter *a, const hearth_gguf *base, const char *path) {
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) return hearth_adapter_save_gguf(a, path);
    return hearth_adapter_save_peft(a, base, path);
}

hearth_status hearth_adapter_parse_spec(const char *spec, char **path, float *scale) {
    *path = NULL;
    *scale = 1.0f;
    const char *colon = strrchr(spec, ':');
    size_t n = strlen(spec);
    if (colon && colon[1]) {
        char *e;
        double v = strtod(colon + 1, &e);
        if (*e == 0 && isfinite(v)) {
            *scale = (float)v;
            n = (size_t)(colon - spec);
        }
    }
    if (n == 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "--lora \"%s\": no file name", spec);
    *path = strndup(spec, n);
    if (!*path) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    return HEARTH_OK;
}
