/*
 * model.c — loading llama-family models (arch "llama", "qwen2") from GGUF:
 * hyper-parameters from metadata, weights as views into the mapping (never
 * copied; only small norm/bias vectors stored in another type are converted
 * to F32), every tensor's presence, type and shape checked, and all problems
 * reported in one message. BERT encoders (arch "bert") share this path; their
 * tensors are loaded by bert.c.
 */
#include "model_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

hearth_model_params hearth_model_default_params(void) {
    hearth_model_params p = {.vocab_only = false};
    return p;
}

/* ==== problem list ============================================================ */
static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...) {
    p->n++;
    if (p->len + 8 >= sizeof p->buf) return;
    if (p->len) p->len += (size_t)snprintf(p->buf + p->len, sizeof p->buf - p->len, "; ");
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(p->buf + p->len, sizeof p->buf - p->len, fmt, ap);
    va_end(ap);
    if (w > 0) p->len += (size_t)w;
    if (p->len >= sizeof p->buf) p->len = sizeof p->buf - 1;
}

/* ==== metadata ================================================================ */
/* {arch}.{suffix} as an integer; *out untouched if absent */
static hearth_status get_arch_int(const hearth_gguf *g, const char *arch, const char *suffix, int64_t *out,
                                  bool required, problems *pr) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    hearth_status s = hearth_gguf_get_int(g, key, out);
    if (s == HEARTH_ERR_NOT_FOUND && !required) return HEARTH_OK;
    if (s != HEARTH_OK) problem(pr, "metadata %s: %s", key, hearth_last_error());
    return s;
}

static void get_arch_float(const hearth_gguf *g, const char *arch, const char *suffix, double *out, problems *pr) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    hearth_status s = hearth_gguf_get_float(g, key, out);
    if (s != HEARTH_OK && s != HEARTH_ERR_NOT_FOUND) problem(pr, "metadata %s: %s", key, hearth_last_error());
}

static char *dup_str(hearth_str s) {
    char *r = malloc(s.len + 1);
    if (!r) return NULL;
    memcpy(r, s.ptr, s.len);
    r[s.len] = 0;
    return r;
}

static hearth_status read_hparams(hearth_model *m, problems *pr) {
    const hearth_gguf *g = m->gguf;
    const char *a = m->arch;
    mhparams *hp = &m->hp;
    int64_t n_ctx = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = -1, n_ff = 0, key_len = -1, n_rot = -1;
    int64_t val_len = -1, ctx_orig = 0;
    get_arch_int(g, a, "context_length", &n_ctx, true, pr);
    get_arch_int(g, a, "embedding_length", &n_embd, true, pr);
    get_arch_int(g, a, "block_count", &n_layer, true, pr);
    get_arch_int(g, a, "feed_forward_length", &n_ff, true, pr);
    get_arch_int(g, a, "attention.head_count", &n_head, true, pr);
    get_arch_int(g, a, "attention.head_count_kv", &n_head_kv, false, pr);
    get_arch_int(g, a, "attention.key_length", &key_len, false, pr);
    get_arch_int(g, a, "attention.value_length", &val_len, false, pr);
    get_arch_int(g, a, "rope.dimension_count", &n_rot, false, pr);
    get_arch_int(g, a, "rope.scaling.original_context_length", &ctx_orig, false, pr);
    double eps = 1e-5, base = 10000, factor = 0, linear = 0, attn_factor = 1, beta_fast = 32, beta_slow = 1;
    get_arch_float(g, a, "attention.layer_norm_rms_epsilon", &eps, pr);
    get_arch_float(g, a, "rope.freq_base", &base, pr);
    get_arch_float(g, a, "rope.scaling.factor", &factor, pr);
    get_arch_float(g, a, "rope.scale_linear", &linear, pr);
    get_arch_float(g, a, "rope.scaling.attn_factor", &attn_factor, pr);
    get_arch_float(g, a, "rope.scaling.yarn_beta_fast", &beta_fast, pr);
    get_arch_float(g, a, "rope.scaling.yarn_beta_slow", &beta_slow, pr);
    if (pr->n) return HEARTH_ERR_FORMAT;

    if (n_head_kv < 0) n_head_kv = n_head;
    if (n_embd <= 0 || n_layer <= 0 || n_head <= 0 || n_ff <= 0 || n_head_kv <= 0 || n_ctx <= 0 ||
        n_embd > (1 << 20) || n_layer > 4096 || n_head > 4096 || n_ff > (1 << 24) || n_ctx > (1 << 26)) {
        problem(pr, "hyper-parameters out of range (embedding_length %lld, block_count %lld, head_count %lld, "
                "head_count_kv %lld, feed_forward_length %lld, context_length %lld)", (long long)n_embd,
                (long long)n_layer, (long long)n_head, (long long)n_head_kv, (long long)n_ff, (long long)n_ctx);
        return HEARTH_ERR_FORMAT;
    }
    if (n_head % n_head_kv != 0) {
        problem(pr, "head_count %lld is not a multiple of head_count_kv %lld", (long long)n_head, (long long)n_head_kv);
        return HEARTH_ERR_FORMAT;
    }
    if (key_len < 0) {
        if (n_embd % n_head != 0) {
            problem(pr, "embedding_length %lld is not a multiple of head_count %lld and attention.key_length is absent",
                    (long long)n_embd, (long long)n_head);
            return HEARTH_ERR_FORMAT;
        }
        key_len = n_embd / n_head;
    }
    if (val_len >= 0 && val_len != key_len) {
        problem(pr, "attention.value_length %lld differs from key_length %lld (unsupported)", (long long)val_len,
                (long long)key_len);
        return HEARTH_ERR_UNSUPPORTED;
    }
    if (n_rot < 0) n_rot = key_len;
    if (n_rot <= 0 || n_rot > key_len || n_rot % 2 || key_len <= 0 || key_len > 4096) {
        problem(pr, "rope.dimension_count %lld invalid for head size %lld", (long long)n_rot, (long long)key_len);
        return HEARTH_ERR_FORMAT;
    }
    hp->n_ctx_train = (int32_t)n_ctx;
    hp->n_embd = (int32_t)n_embd;
    hp->n_layer = (int32_t)n_layer;
    hp->n_head = (int32_t)n_head;
    hp->n_head_kv = (int32_t)n_head_kv;
    hp->head_dim = (int32_t)key_len;
    hp->n_ff = (int32_t)n_ff;
    hp->eps = (float)eps;

    /* RoPE and its scaling */
    hearth_rope *r = &hp->rope;
    memset(r, 0, sizeof *r);
    r->n_rot = (int)n_rot;
    r->neox = strcmp(a, "qwen2") == 0;   /* llama.cpp: LLAMA_ROPE_TYPE_NEOX for qwen2, NORM for llama */
    r->freq_base = (float)base;
    r->freq_scale = 1.0f;
    r->attn_factor = (float)attn_factor;
    r->beta_fast = (float)beta_fast;
    r->beta_slow = (float)beta_slow;
    r->n_ctx_orig = (int)(ctx_orig > 0 ? ctx_orig : n_ctx);
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    hearth_str st = {0};
    const char *type = "none";
    if (hearth_gguf_get_str(g, key, &st) == HEARTH_OK) {
        if (st.len == 6 && memcmp(st.ptr, "linear", 6) == 0) type = "linear";
        else if (st.len == 4 && memcmp(st.ptr, "yarn", 4) == 0) type = "yarn";
        else if (!(st.len == 4 && memcmp(st.ptr, "none", 4) == 0)) {
            problem(pr, "%s \"%.*s\" is not supported (none, linear, yarn)", key, (int)st.len, st.ptr);
            return HEARTH_ERR_UNSUPPORTED;
        }
    } else if (linear > 0) {
        type = "linear";
        factor = linear;
    } else if (factor > 0) {
        type = "linear";   /* llama.cpp's default when only the factor is given */
    }
    if (strcmp(type, "none") != 0 && factor > 0) r->freq_scale = (float)(1.0 / factor);
    if (strcmp(type, "yarn") == 0) r->ext_factor = 1.0f;
    return HEARTH_OK;
}

/* ==== tensors ================================================================= */
static const hearth_gguf_tensor *find(hearth_model *m, const char *name, bool required, problems *pr,
                                      problems *missing) {
    const hearth_gguf_tensor *t = hearth_gguf_find_tensor(m->gguf, name);
    if (!t && required) problem(missing, "%s", name);
    (void)pr;
    return t;
}

static bool check_shape(const hearth_gguf_tensor *t, int64_t ne0, int64_t ne1, problems *pr) {
    int64_t rest = t->ne[2] * t->ne[3];
    if (t->ne[0] == ne0 && t->ne[1] == ne1 && rest == 1) return true;
    if (ne1 == 1)
        problem(pr, "%s has shape [%lld, %lld], expected [%lld]", t->name, (long long)t->ne[0],
                (long long)t->ne[1], (long long)ne0);
    else
        problem(pr, "%s has shape [%lld, %lld], expected [%lld, %lld]", t->name, (long long)t->ne[0],
                (long long)t->ne[1], (long long)ne0, (long long)ne1);
    return false;
}

static void account(hearth_model *m, const hearth_gguf_tensor *t, bool per_token) {
    m->n_params += hearth_gguf_tensor_nelements(t);
    if (per_token) m->weight_bytes += t->nbytes;
}

/* a matrix (ne1 rows of ne0) that the kernels can multiply with */
static void get_matrix(hearth_model *m, mweight *w, const char *name, int64_t ne0, int64_t ne1, bool required,
                       problems *pr, problems *missing) {
    memset(w, 0, sizeof *w);
    const hearth_gguf_tensor *t = find(m, name, required, pr, missing);
    if (!t || !check_shape(t, ne0, ne1, pr)) return;
    const hearth_type_traits *tt = hearth_type_traits_get(t->type);
    const hearth_type_info *ti = hearth_type_get(t->type);
    if (!tt || !tt->vec_dot || !tt->to_float) {
        problem(pr, "%s has type %s, which hearth cannot compute with", name, ti ? ti->name : "unknown");
        return;
    }
    w->data = t->data;
    w->type = t->type;
    w->ne0 = ne0;
    w->ne1 = ne1;
    w->row_bytes = hearth_row_size(t->type, ne0);
    account(m, t, true);
}

/* a vector used as F32 (converted into an owned buffer when stored otherwise) */
static const float *get_vector(hearth_model *m, const char *name, int64_t n, bool required, problems *pr,
                               problems *missing) {
    const hearth_gguf_tensor *t = find(m, name, required, pr, missing);
    if (!t || !check_shape(t, n, 1, pr)) return NULL;
    account(m, t, true);
    if (t->type == HEARTH_TYPE_F32) return t->data;
    const hearth_type_traits *tt = hearth_type_traits_get(t->type);
    const hearth_type_info *ti = hearth_type_get(t->type);
    if (!tt || !tt->to_float) {
        problem(pr, "%s has type %s, which hearth cannot read", name, ti ? ti->name : "unknown");
        return NULL;
    }
    float *f = malloc((size_t)n * sizeof(float));
    void **o = realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *o);
    if (!f || !o) {
        free(f);
        if (o) m->owned = o;
        problem(pr, "out of memory converting %s", name);
        return NULL;
    }
    m->owned = o;
    m->owned[m->n_owned++] = f;
    tt->to_float(t->data, f, n);
    return f;
}

static hearth_status load_tensors(hearth_model *m, problems *pr, problems *missing) {
    mhparams *hp = &m->hp;
    int64_t dim = hp->n_embd, q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    bool qwen2 = strcmp(m->arch, "qwen2") == 0;

    const hearth_gguf_tensor *te = find(m, "token_embd.weight", true, pr, missing);
    if (te) {
        hp->n_vocab = (int32_t)te->ne[1];
        if (te->ne[1] <= 0 || te->ne[1] > (1 << 24)) problem(pr, "token_embd.weight has %lld rows", (long long)te->ne[1]);
    }
    if (te) get_matrix(m, &m->tok_embd, "token_embd.weight", dim, hp->n_vocab, true, pr, missing);
    if (m->tok_embd.data) m->weight_bytes -= hearth_row_size(te->type, dim) * (size_t)(hp->n_vocab - 1);   /* one row per token */
    m->output_norm = get_vector(m, "output_norm.weight", dim, true, pr, missing);
    if (hearth_gguf_find_tensor(m->gguf, "output.weight")) {
        get_matrix(m, &m->output, "output.weight", dim, hp->n_vocab, true, pr, missing);
    } else if (m->tok_embd.data) {   /* tied output */
        m->output = m->tok_embd;
        m->weight_bytes += m->tok_embd.row_bytes * (size_t)(hp->n_vocab - 1);
    }
    const hearth_gguf_tensor *rf = hearth_gguf_find_tensor(m->gguf, "rope_freqs.weight");
    if (rf) {
        const float *f = get_vector(m, "rope_freqs.weight", hp->rope.n_rot / 2, true, pr, missing);
        if (f) hp->rope.freq_factors = f;
    }

    m->layers = calloc((size_t)hp->n_layer, sizeof(mlayer));
    if (!m->layers) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for %d layers", hp->n_layer);
    for (int l = 0; l < hp->n_layer; l++) {
        mlayer *L = &m->layers[l];
        char n[96];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d." s, l), n)
        L->attn_norm = get_vector(m, NAME("attn_norm.weight"), dim, true, pr, missing);
        get_matrix(m, &L->wq, NAME("attn_q.weight"), dim, q_dim, true, pr, missing);
        get_matrix(m, &L->wk, NAME("attn_k.weight"), dim, kv_dim, true, pr, missing);
        get_matrix(m, &L->wv, NAME("attn_v.weight"), dim, kv_dim, true, pr, missing);
        get_matrix(m, &L->wo, NAME("attn_output.weight"), q_dim, dim, true, pr, missing);
        L->bq = get_vector(m, NAME("attn_q.bias"), q_dim, qwen2, pr, missing);
        L->bk = get_vector(m, NAME("attn_k.bias"), kv_dim, qwen2, pr, missing);
        L->bv = get_vector(m, NAME("attn_v.bias"), kv_dim, qwen2, pr, missing);
        L->ffn_norm = get_vector(m, NAME("ffn_norm.weight"), dim, true, pr, missing);
        get_matrix(m, &L->w_gate, NAME("ffn_gate.weight"), dim, hp->n_ff, true, pr, missing);
        get_matrix(m, &L->w_up, NAME("ffn_up.weight"), dim, hp->n_ff, true, pr, missing);
        get_matrix(m, &L->w_down, NAME("ffn_down.weight"), hp->n_ff, dim, true, pr, missing);
#undef NAME
    }
    if (missing->n || pr->n) return HEARTH_ERR_FORMAT;
    return HEARTH_OK;
}

/* shared with the other architectures' loaders (model_internal.h) */
void model_problem(problems *p, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    problem(p, "%s", msg);
}

void model_get_matrix(hearth_model *m, mweight *w, const char *name, int64_t ne0, int64_t ne1, bool required,
                      problems *pr, problems *missing) {
    get_matrix(m, w, name, ne0, ne1, required, pr, missing);
}

const float *model_get_vector(hearth_model *m, const char *name, int64_t n, bool required, problems *pr,
                              problems *missing) {
    return get_vector(m, name, n, required, pr, missing);
}

/* ==== load / free ============================================================= */
hearth_status hearth_model_load(const char *path, const hearth_model_params *p, hearth_model **out) {
    *out = NULL;
    hearth_model_params dp = hearth_model_default_params();
    if (!p) p = &dp;
    hearth_model *m = calloc(1, sizeof *m);
    if (!m) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory loading %s", path);
    pthread_mutex_init(&m->pack_mu, NULL);
    m->vocab_only = p->vocab_only;
    hearth_status s = hearth_gguf_open(path, &m->gguf);
    if (s != HEARTH_OK) {
        free(m);
        return s;   /* the reader's message names the file */
    }
    hearth_str arch;
    s = hearth_gguf_get_str(m->gguf, "general.architecture", &arch);
    if (s != HEARTH_OK) {
        hearth_model_free(m);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: no general.architecture in the metadata", path);
    }
    if (!((arch.len == 5 && memcmp(arch.ptr, "llama", 5) == 0) || (arch.len == 5 && memcmp(arch.ptr, "qwen2", 5) == 0) ||
          (arch.len == 4 && memcmp(arch.ptr, "bert", 4) == 0))) {
        hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: architecture \"%.*s\" is not supported (llama, qwen2, bert)", path,
                         (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
        hearth_model_free(m);   /* arch points into the mapping: format first */
        return HEARTH_ERR_UNSUPPORTED;
    }
    memcpy(m->arch, arch.ptr, arch.len);
    m->arch[arch.len] = 0;

    hearth_str sv;
    if (hearth_gguf_get_str(m->gguf, "general.name", &sv) == HEARTH_OK) {
        m->name = dup_str(sv);
    } else {
        const char *b = strrchr(path, '/');
        m->name = strdup(b ? b + 1 : path);
    }
    if (hearth_gguf_get_str(m->gguf, "tokenizer.chat_template", &sv) == HEARTH_OK) m->chat_template = dup_str(sv);

    s = hearth_vocab_load(m->gguf, &m->vocab);
    if (s != HEARTH_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        hearth_model_free(m);
        return hearth_set_error(s, "%s: tokenizer: %s", path, msg);
    }

    if (!p->vocab_only && hearth_gguf_n_tensors(m->gguf) == 0) {
        hearth_model_free(m);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s has no tensors (a vocabulary-only GGUF?)", path);
    }
    problems pr = {0}, missing = {0};
    s = read_hparams(m, &pr);
    if (s == HEARTH_OK && !p->vocab_only)
        s = strcmp(m->arch, "bert") == 0 ? bert_load(m, &pr, &missing) : load_tensors(m, &pr, &missing);
    if (s != HEARTH_OK) {
        if (missing.n || pr.n) {
            char msg[8300];
            size_t k = 0;
            if (missing.n) k += (size_t)snprintf(msg + k, sizeof msg - k, " missing %d tensor%s: %s%s", missing.n,
                                                 missing.n == 1 ? "" : "s", missing.buf, pr.n ? ";" : "");
            if (pr.n && k < sizeof msg) snprintf(msg + k, sizeof msg - k, " %s", pr.buf);
            hearth_set_error(s, "%s (%s model):%s", path, m->arch, msg);
            hearth_model_free(m);
            return s;
        }
        hearth_model_free(m);
        return s;
    }
    if (!p->vocab_only) {
        int32_t nv = hearth_vocab_n_tokens(m->vocab);
        if (nv > m->hp.n_vocab) {
            hearth_model_free(m);
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: the tokenizer has %d tokens but token_embd.weight only %d rows",
                                    path, nv, m->hp.n_vocab);
        }
    } else {
        m->hp.n_vocab = hearth_vocab_n_tokens(m->vocab);
    }
    *out = m;
    return HEARTH_OK;
}

/* ==== packed copies for inference ============================================== */
/* the matrices the llama forward multiplies by: 7 per layer, then the
 * output matrix (model_n_matrices of them) */
static int model_n_matrices(const hearth_model *m) { return m->layers ? 7 * m->hp.n_layer + 1 : 0; }

static mweight *model_matrix(hearth_model *m, int i) {
    if (i == 7 * m->hp.n_layer) return &m->output;
    mlayer *L = &m->layers[i / 7];
    mweight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    return ws[i % 7];
}

/* the mapped pages of a matrix inference now reads packed: out of this
 * process's resident set (the mapping is file-backed and read-only, so a
 * later reader, e.g. training or merging with this model, faults them back
 * in from the file) */
void model_release_pages(const void *data, size_t n) {
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0) return;
    uintptr_t a = ((uintptr_t)data + (uintptr_t)pg - 1) & ~(uintptr_t)(pg - 1);
    uintptr_t b = ((uintptr_t)data + n) & ~(uintptr_t)(pg - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* bytes of matrix w's packed copy in the arena (64-byte aligned), 0 when it is not packed */
static size_t packed_bytes(const mweight *w) {
    if (!w->data || !hearth_pack_supported(w->type, w->ne0, w->ne1)) return 0;
    return (hearth_pack_size(w->type, w->ne0, w->ne1) + 63) / 64 * 64;
}

bool model_pack(hearth_model *m) {
    pthread_mutex_lock(&m->pack_mu);
    bool ok = true;
    if (!m->packed && !m->bert) {
        /* one huge-page arena for all packed copies: decode streams every byte of it per token */
        size_t total = 0;
        for (int i = 0; i < model_n_matrices(m); i++) total += packed_bytes(model_matrix(m, i));
        uint8_t *arena = total ? hearth_huge_alloc(total) : NULL;
        ok = !total || arena;
        size_t off = 0;
        for (int i = 0; arena && i < model_n_matrices(m); i++) {
            mweight *w = model_matrix(m, i);
            size_t n = packed_bytes(w);
            if (!n) continue;
            w->packed = arena + off;
            off += n;
            hearth_pack(w->type, w->data, w->ne0, w->ne1, w->packed);
            if (w->data != m->tok_embd.data) model_release_pages(w->data, w->row_bytes * (size_t)w->ne1);
        }
        m->pack_arena = arena, m->pack_bytes = total;
    }
    m->packed = true;
    pthread_mutex_unlock(&m->pack_mu);
    return ok;
}

hearth_status model_matmul(hearth_pool *pool, float *Y, const float *X, const mweight *w, int64_t T, void *work) {
    if (w->packed) return hearth_matmul_packed(pool, Y, X, w->packed, w->type, T, w->ne0, w->ne1, work);
    return hearth_matmul(pool, Y, X, w->data, w->type, T, w->ne0, w->ne1, work);
}

size_t model_matmul_work_size(const hearth_model *m, int64_t T) {
    size_t best = 0, s;
    for (int i = 0; i < model_n_matrices(m); i++) {
        const mweight *w = model_matrix((hearth_model *)m, i);
        if (!w->data) continue;
        if ((s = hearth_matmul_work_size(w->type, T, w->ne0)) > best) best = s;
        if (hearth_pack_supported(w->type, w->ne0, w->ne1) && (s = hearth_matmul_packed_work_size(T, w->ne0)) > best)
            best = s;
    }
    return best;
}

void hearth_model_free(hearth_model *m) {
    if (!m) return;
    hearth_huge_free(m->pack_arena, m->pack_bytes);
    pthread_mutex_destroy(&m->pack_mu);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    bert_free(m->bert);
    free(m->name);
    free(m->chat_template);
    hearth_vocab_free(m->vocab);
    hearth_gguf_close(m->gguf);
    free(m);
}

/* ==== accessors ================================================================ */
const hearth_vocab *hearth_model_vocab(const hearth_model *m) { return m->vocab; }
const hearth_gguf *hearth_model_gguf(const hearth_model *m) { return m->gguf; }
const char *hearth_model_arch(const hearth_model *m) { return m->arch; }
const char *hearth_model_name(const hearth_model *m) { return m->name; }
int32_t hearth_model_n_vocab(const hearth_model *m) { return m->hp.n_vocab; }
int32_t hearth_model_n_ctx_train(const hearth_model *m) { return m->hp.n_ctx_train; }
int32_t hearth_model_n_embd(const hearth_model *m) { return m->hp.n_embd; }
int32_t hearth_model_n_layer(const hearth_model *m) { return m->hp.n_layer; }
int64_t hearth_model_n_params(const hearth_model *m) { return m->n_params; }
size_t hearth_model_weight_bytes(const hearth_model *m) { return m->weight_bytes; }
const char *hearth_model_chat_template(const hearth_model *m) { return m->chat_template; }
