/*
 * vocab.c — building a hearth_vocab from GGUF metadata (tokenizer.ggml.*):
 * token texts, scores and types, the text -> id hash map, BPE merge ranks,
 * the byte <-> character mapping of byte-level BPE, special token ids and
 * the reference tokenizers' defaults for what the metadata leaves out.
 *
 * Defaults (as llama.cpp applies them when a key is absent):
 *   llama (SPM): BOS 1, EOS 2, UNK 0; add_bos on, add_space_prefix on.
 *   gpt2 (BPE):  BOS = EOS = 11; add_bos only for the pre-tokenizers that
 *                ask for it (llama3, tekken, chameleon).
 *   bert (WPM):  CLS/BOS 101, SEP 102, UNK 100, PAD 0, MASK 103; add_bos on.
 * End-of-generation ids: EOS, EOT, EOM and every token whose text is one of
 * <|eot_id|> <|im_end|> <|end|> <end_of_turn> <|endoftext|> <|eom_id|> <EOT>
 * (and the fill-in-the-middle pad/repo/file-separator tokens); such tokens
 * are treated as control tokens even if the file says otherwise.
 */
#include "tokenizer/tok_internal.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * small helpers
 * ======================================================================== */
bool tok_ivec_reserve(tok_ivec *a, size_t cap) { return hearth_grow((void **)&a->v, &a->cap, cap, sizeof(int32_t)); }

bool tok_ivec_push(tok_ivec *a, int32_t x) {
    if (a->n == a->cap && !hearth_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(int32_t))) return false;
    a->v[a->n++] = x;
    return true;
}

static inline uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

/* ========================================================================
 * strings and the text -> id map
 * ======================================================================== */
int32_t tok_lookup(const hearth_vocab *v, const char *s, size_t n) {
    uint32_t i = (uint32_t)tok_hash(s, n) & v->slot_mask;
    for (;;) {
        int32_t id = v->slot[i];
        if (id < 0) return -1;
        if (v->str_len[id] == n && memcmp(v->pool + v->str_off[id], s, n) == 0) return id;
        i = (i + 1) & v->slot_mask;
    }
}

/* Adds a string; returns its id or -1 (out of memory). */
static int32_t add_string(hearth_vocab *v, const char *s, size_t n) {
    if (v->n_strings == v->cap_strings) {
        size_t cap = (size_t)v->cap_strings;
        size_t c2 = cap;
        if (!hearth_grow((void **)&v->str_off, &c2, cap + 1, sizeof(uint32_t))) return -1;
        c2 = cap;
        if (!hearth_grow((void **)&v->str_len, &c2, cap + 1, sizeof(uint32_t))) return -1;
        v->cap_strings = (int32_t)c2;
    }
    if (!hearth_grow((void **)&v->pool, &v->pool_cap, v->pool_len + n + 1, 1)) return -1;
    memcpy(v->pool + v->pool_len, s, n);
    v->pool[v->pool_len + n] = 0;
    v->str_off[v->n_strings] = (uint32_t)v->pool_len;
    v->str_len[v->n_strings] = (uint32_t)n;
    v->pool_len += n + 1;
    return v->n_strings++;
}

/* Inserts id into the map; a later token with the same text replaces an earlier one. */
static void map_insert(hearth_vocab *v, int32_t id) {
    const char *s = tok_str(v, id);
    size_t n = v->str_len[id];
    uint32_t i = (uint32_t)tok_hash(s, n) & v->slot_mask;
    for (;;) {
        int32_t o = v->slot[i];
        if (o < 0) { v->slot[i] = id; return; }
        if (v->str_len[o] == n && memcmp(tok_str(v, o), s, n) == 0) { v->slot[i] = id; return; }
        i = (i + 1) & v->slot_mask;
    }
}

static hearth_status map_build(hearth_vocab *v, size_t expect) {
    uint32_t cap = 1024;
    while (cap < expect * 2) cap *= 2;
    free(v->slot);
    v->slot = malloc(sizeof(int32_t) * cap);
    if (!v->slot) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
    memset(v->slot, 0xFF, sizeof(int32_t) * cap);
    v->slot_mask = cap - 1;
    for (int32_t id = 0; id < v->n_strings; id++) map_insert(v, id);
    return HEARTH_OK;
}

/* id of s, adding it as an extra (non-token) string if absent */
static int32_t intern(hearth_vocab *v, const char *s, size_t n) {
    int32_t id = tok_lookup(v, s, n);
    if (id >= 0) return id;
    if ((size_t)v->n_strings * 2 + 2 > (size_t)v->slot_mask) {
        id = add_string(v, s, n);
        if (id < 0 || map_build(v, (size_t)v->n_strings * 2) != HEARTH_OK) return -1;
        return id;
    }
    id = add_string(v, s, n);
    if (id >= 0) map_insert(v, id);
    return id;
}

/* ========================================================================
 * BPE merges and the byte <-> character map
 * ======================================================================== */
/* GPT-2's reversible map: printable Latin-1 bytes stand for themselves, the
 * other 68 bytes become U+0100.. in byte order. */
static void build_byte_map(hearth_vocab *v) {
    int next = 0;
    for (int i = 0; i < 512; i++) v->byte_dec[i] = -1;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        uint32_t cp = keep ? (uint32_t)b : 256u + (uint32_t)next++;
        v->byte_dec[cp] = (int16_t)b;
        if (cp < 0x80) {
            v->byte_enc[b][0] = (char)cp;
            v->byte_enc_len[b] = 1;
        } else {
            v->byte_enc[b][0] = (char)(0xC0 | (cp >> 6));
            v->byte_enc[b][1] = (char)(0x80 | (cp & 0x3F));
            v->byte_enc_len[b] = 2;
        }
    }
}

static hearth_status merges_load(hearth_vocab *v, const hearth_gguf *g) {
    hearth_gguf_arr arr;
    hearth_status st = hearth_gguf_get_arr(g, "tokenizer.ggml.merges", &arr);
    if (st == HEARTH_ERR_NOT_FOUND)
        return hearth_set_error(HEARTH_ERR_FORMAT, "tokenizer.ggml.merges: missing (a gpt2 tokenizer needs its merges)");
    if (st != HEARTH_OK) return st;
    if (arr.type != HEARTH_GGUF_STRING)
        return hearth_set_error(HEARTH_ERR_TYPE, "tokenizer.ggml.merges: expected an array of strings, got %s",
                                hearth_gguf_type_name(arr.type));
    uint32_t cap = 1024;
    while (cap < arr.n * 2 + 2) cap *= 2;
    v->merge = malloc(sizeof(tok_merge) * cap);
    if (!v->merge) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory for %llu merges", (unsigned long long)arr.n);
    for (uint32_t i = 0; i < cap; i++) v->merge[i].rank = -1;
    v->merge_mask = cap - 1;
    char *buf = NULL;
    size_t buf_cap = 0;
    for (uint64_t r = 0; r < arr.n; r++) {
        hearth_str m = hearth_gguf_arr_str(&arr, r);
        /* "left right": split at the first space after the first byte */
        size_t sp = 0;
        for (size_t k = 1; k < m.len; k++)
            if (m.ptr[k] == ' ') { sp = k; break; }
        const char *l = "", *rt = "";
        size_t ln = 0, rn = 0;
        if (sp) { l = m.ptr; ln = sp; rt = m.ptr + sp + 1; rn = m.len - sp - 1; }
        if (!hearth_grow((void **)&buf, &buf_cap, ln + rn + 1, 1)) { free(buf); return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory"); }
        memcpy(buf, l, ln);
        memcpy(buf + ln, rt, rn);
        int32_t li = intern(v, l, ln), ri = intern(v, rt, rn), res = intern(v, buf, ln + rn);
        if (li < 0 || ri < 0 || res < 0) { free(buf); return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory"); }
        uint64_t key = ((uint64_t)(uint32_t)li << 32) | (uint32_t)ri;
        uint32_t i = (uint32_t)hash_u64(key) & v->merge_mask;
        while (v->merge[i].rank >= 0 && v->merge[i].key != key) i = (i + 1) & v->merge_mask;
        if (v->merge[i].rank < 0) {   /* the first rank of a repeated pair wins */
            v->merge[i].key = key;
            v->merge[i].rank = (int32_t)r;
            v->merge[i].result = res;
            v->n_merges++;
        }
    }
    free(buf);
    /* every byte's character gets a string id so that symbols always have one */
    for (int b = 0; b < 256; b++) {
        v->byte_sym[b] = intern(v, v->byte_enc[b], v->byte_enc_len[b]);
        if (v->byte_sym[b] < 0) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
    }
    return HEARTH_OK;
}

/* ========================================================================
 * metadata helpers
 * ======================================================================== */
static hearth_status get_id(const hearth_gguf *g, const hearth_vocab *v, const char *key, int32_t *id) {
    int64_t x;
    hearth_status st = hearth_gguf_get_int(g, key, &x);
    if (st == HEARTH_ERR_NOT_FOUND) return HEARTH_OK;
    if (st != HEARTH_OK) return st;
    if (x < 0 || x >= v->n_tokens) {
        hearth_log(HEARTH_LOG_WARN, "vocab: %s = %lld is not a token id (vocab has %d); keeping %d", key, (long long)x,
                   v->n_tokens, *id);
        return HEARTH_OK;
    }
    *id = (int32_t)x;
    return HEARTH_OK;
}

static hearth_status get_flag(const hearth_gguf *g, const char *key, bool *val) {
    bool b;
    hearth_status st = hearth_gguf_get_bool(g, key, &b);
    if (st == HEARTH_ERR_NOT_FOUND) return HEARTH_OK;
    if (st != HEARTH_OK) return st;
    *val = b;
    return HEARTH_OK;
}

static int32_t find_text(const hearth_vocab *v, const char *s) {
    int32_t id = tok_lookup(v, s, strlen(s));
    return id < v->n_tokens ? id : -1;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* SPM: the code points that some token has right before an inner U+2581 */
static hearth_status spm_glue_build(hearth_vocab *v) {
    size_t cap = 0;
    for (int32_t id = 0; id < v->n_tokens; id++) {
        const char *t = tok_str(v, id);
        size_t n = v->str_len[id];
        size_t prev_start = 0;
        bool have_prev = false;
        for (size_t i = 0; i < n;) {
            size_t s = i;
            tok_next_cp(t, n, &i);
            if (have_prev && i - s == 3 && memcmp(t + s, "\xE2\x96\x81", 3) == 0) {
                size_t k = prev_start;
                uint32_t cp = tok_next_cp(t, n, &k);
                if (!hearth_grow((void **)&v->spm_glue, &cap, v->n_spm_glue + 1, sizeof(uint32_t)))
                    return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
                v->spm_glue[v->n_spm_glue++] = cp;
            }
            prev_start = s;
            have_prev = true;
        }
    }
    qsort(v->spm_glue, v->n_spm_glue, sizeof(uint32_t), cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < v->n_spm_glue; i++)
        if (m == 0 || v->spm_glue[m - 1] != v->spm_glue[i]) v->spm_glue[m++] = v->spm_glue[i];
    v->n_spm_glue = m;
    return HEARTH_OK;
}

static int cmp_special(const void *a, const void *b, void *ctx) {
    const hearth_vocab *v = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->str_len[x] != v->str_len[y]) return v->str_len[x] > v->str_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* ========================================================================
 * loading
 * ======================================================================== */
void hearth_vocab_free(hearth_vocab *v) {
    if (!v) return;
    free(v->pool);
    free(v->str_off);
    free(v->str_len);
    free(v->score);
    free(v->type);
    free(v->attr);
    free(v->slot);
    free(v->merge);
    free(v->spm_glue);
    tok_pretok_free(v->pre);
    free(v->special);
    tok_trie_free(v->trie);
    free(v->piece_pool);
    free(v->piece_off);
    free(v->piece_len);
    free(v);
}

static hearth_status load(const hearth_gguf *g, hearth_vocab *v) {
    hearth_status st;
    hearth_str model;
    st = hearth_gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (st == HEARTH_ERR_NOT_FOUND) return hearth_set_error(HEARTH_ERR_FORMAT, "tokenizer.ggml.model: missing (the file has no tokenizer)");
    if (st != HEARTH_OK) return st;
    char pre[64] = "";
    hearth_str pre_s;
    st = hearth_gguf_get_str(g, "tokenizer.ggml.pre", &pre_s);
    if (st == HEARTH_OK) {
        size_t n = pre_s.len < sizeof pre - 1 ? pre_s.len : sizeof pre - 1;
        memcpy(pre, pre_s.ptr, n);
        pre[n] = 0;
    } else if (st != HEARTH_ERR_NOT_FOUND) {
        return st;
    }

#define MODEL_IS(s) (model.len == strlen(s) && memcmp(model.ptr, s, model.len) == 0)
    v->bos = v->eos = v->eot = v->eom = v->unk = v->pad = v->sep = v->cls = v->mask = -1;
    if (MODEL_IS("llama")) {
        v->kind = HEARTH_VOCAB_SPM;
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_bos = true;
        v->add_space_prefix = true;
    } else if (MODEL_IS("gpt2")) {
        v->kind = HEARTH_VOCAB_BPE;
        v->bos = 11, v->eos = 11;
    } else if (MODEL_IS("bert")) {
        v->kind = HEARTH_VOCAB_WPM;
        v->bos = 101, v->unk = 100, v->sep = 102, v->pad = 0, v->mask = 103;
        v->add_bos = true;
    } else {
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "tokenizer.ggml.model: '%.*s' is not supported (llama, gpt2, bert are)",
                                (int)(model.len > 64 ? 64 : model.len), model.ptr);
    }
#undef MODEL_IS

    /* tokens, scores, types */
    hearth_gguf_arr toks, scores = {0}, types = {0};
    st = hearth_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks);
    if (st == HEARTH_ERR_NOT_FOUND) return hearth_set_error(HEARTH_ERR_FORMAT, "tokenizer.ggml.tokens: missing");
    if (st != HEARTH_OK) return st;
    if (toks.type != HEARTH_GGUF_STRING)
        return hearth_set_error(HEARTH_ERR_TYPE, "tokenizer.ggml.tokens: expected an array of strings, got %s",
                                hearth_gguf_type_name(toks.type));
    if (toks.n == 0 || toks.n > 0x7FFFFFF) return hearth_set_error(HEARTH_ERR_FORMAT, "tokenizer.ggml.tokens: %llu tokens", (unsigned long long)toks.n);
    int32_t n = (int32_t)toks.n;
    bool have_scores = hearth_gguf_get_arr(g, "tokenizer.ggml.scores", &scores) == HEARTH_OK;
    bool have_types = hearth_gguf_get_arr(g, "tokenizer.ggml.token_type", &types) == HEARTH_OK;
    if (have_scores && (scores.n != toks.n || scores.type == HEARTH_GGUF_STRING || scores.type == HEARTH_GGUF_ARRAY))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tokenizer.ggml.scores: %llu numbers expected (one per token), got %llu of type %s",
                                (unsigned long long)toks.n, (unsigned long long)scores.n, hearth_gguf_type_name(scores.type));
    if (have_types && (types.n != toks.n || types.type == HEARTH_GGUF_STRING || types.type == HEARTH_GGUF_ARRAY || types.type == HEARTH_GGUF_FLOAT32))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tokenizer.ggml.token_type: %llu integers expected (one per token), got %llu of type %s",
                                (unsigned long long)toks.n, (unsigned long long)types.n, hearth_gguf_type_name(types.type));

    v->n_tokens = n;
    v->score = calloc((size_t)n, sizeof(float));
    v->type = calloc((size_t)n, 1);
    v->attr = calloc((size_t)n, 1);
    if (!v->score || !v->type || !v->attr) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory for %d tokens", n);
    for (int32_t i = 0; i < n; i++) {
        hearth_str t = hearth_gguf_arr_str(&toks, (uint64_t)i);
        char tmp[32];
        if (t.len == 0) {   /* as the reference: an empty token gets a placeholder text */
            snprintf(tmp, sizeof tmp, "[EMPTY_%d]", i);
            t.ptr = tmp;
            t.len = strlen(tmp);
        }
        if (add_string(v, t.ptr, t.len) < 0) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
        if ((int32_t)t.len > v->max_token_len) v->max_token_len = (int32_t)t.len;
        v->score[i] = have_scores ? (float)hearth_gguf_arr_float(&scores, (uint64_t)i) : 0.0f;
        int64_t ty = have_types ? hearth_gguf_arr_int(&types, (uint64_t)i) : HEARTH_TOKEN_NORMAL;
        v->type[i] = ty >= 1 && ty <= 6 ? (uint8_t)ty : 0;
    }
    if ((st = map_build(v, (size_t)n)) != HEARTH_OK) return st;

    /* per-kind set-up */
    if (v->kind == HEARTH_VOCAB_BPE) {
        bool bos_none = false;
        build_byte_map(v);
        if ((st = tok_pretok_create(pre, &v->pre, &v->ignore_merges, &v->add_bos, &bos_none)) != HEARTH_OK) return st;
        if (bos_none) v->bos = -1;
        if ((st = merges_load(v, g)) != HEARTH_OK) return st;
    } else if (v->kind == HEARTH_VOCAB_SPM) {
        for (int b = 0; b < 256; b++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            int32_t id = find_text(v, name);
            if (id < 0) {
                char one = (char)b;
                id = tok_lookup(v, &one, 1);
            }
            v->byte_sym[b] = id;   /* -1: falls back to UNK */
        }
        if ((st = spm_glue_build(v)) != HEARTH_OK) return st;
    }
    if ((st = get_flag(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix)) != HEARTH_OK) return st;
    if ((st = get_flag(g, "tokenizer.ggml.remove_extra_whitespaces", &v->remove_extra_ws)) != HEARTH_OK) return st;

    /* special ids */
    if ((st = get_id(g, v, "tokenizer.ggml.bos_token_id", &v->bos)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.eos_token_id", &v->eos)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.eot_token_id", &v->eot)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.eom_token_id", &v->eom)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.unknown_token_id", &v->unk)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.seperator_token_id", &v->sep)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.separator_token_id", &v->sep)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.padding_token_id", &v->pad)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.mask_token_id", &v->mask)) != HEARTH_OK) return st;
    if ((st = get_id(g, v, "tokenizer.ggml.cls_token_id", &v->cls)) != HEARTH_OK) return st;
    if (v->kind == HEARTH_VOCAB_WPM) {
        if (v->cls < 0) v->cls = v->bos; else if (hearth_gguf_find_key(g, "tokenizer.ggml.bos_token_id") < 0) v->bos = v->cls;
    }
    int32_t *ids[] = {&v->bos, &v->eos, &v->eot, &v->eom, &v->unk, &v->pad, &v->sep, &v->cls, &v->mask};
    for (size_t k = 0; k < sizeof ids / sizeof *ids; k++)
        if (*ids[k] >= n) *ids[k] = -1;   /* a default beyond a small vocab */
    if ((st = get_flag(g, "tokenizer.ggml.add_bos_token", &v->add_bos)) != HEARTH_OK) return st;
    if ((st = get_flag(g, "tokenizer.ggml.add_eos_token", &v->add_eos)) != HEARTH_OK) return st;

    /* end of generation */
    static const char *const eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                            "<EOT>", "<｜end▁of▁sentence｜>"};
    static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                            "<|eom_id|>", "<EOT>", "<|fim_pad|>", "<fim-pad>", "<PAD>",
                                            "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>"};
    for (size_t k = 0; k < sizeof eot_texts / sizeof *eot_texts && v->eot < 0; k++) v->eot = find_text(v, eot_texts[k]);
    if (v->eom < 0) v->eom = find_text(v, "<|eom_id|>");
    for (size_t k = 0; k < sizeof eog_texts / sizeof *eog_texts; k++) {
        int32_t id = find_text(v, eog_texts[k]);
        if (id >= 0) {
            v->attr[id] |= TOK_ATTR_EOG;
            v->type[id] = HEARTH_TOKEN_CONTROL;
        }
    }
    if (v->eot >= 0) v->type[v->eot] = HEARTH_TOKEN_CONTROL;
    if (v->eos >= 0) v->attr[v->eos] |= TOK_ATTR_EOG;
    if (v->eot >= 0) v->attr[v->eot] |= TOK_ATTR_EOG;
    if (v->eom >= 0) v->attr[v->eom] |= TOK_ATTR_EOG;

    /* special tokens, longest text first (ties: lower id first) */
    v->special = malloc(sizeof(int32_t) * (size_t)n);
    if (!v->special) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
    for (int32_t i = 0; i < n; i++)
        if (v->type[i] == HEARTH_TOKEN_CONTROL || v->type[i] == HEARTH_TOKEN_USER_DEFINED || v->type[i] == HEARTH_TOKEN_UNKNOWN)
            v->special[v->n_special++] = i;
    qsort_r(v->special, v->n_special, sizeof(int32_t), cmp_special, v);
    if ((st = tok_trie_build(v)) != HEARTH_OK) return st;
    return tok_build_piece_cache(v);
}

hearth_status hearth_vocab_load(const hearth_gguf *g, hearth_vocab **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_vocab_load: out is NULL");
    *out = NULL;
    if (!g) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_vocab_load: gguf handle is NULL");
    hearth_vocab *v = calloc(1, sizeof *v);
    if (!v) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
    hearth_status st = load(g, v);
    if (st != HEARTH_OK) {
        hearth_vocab_free(v);
        return st;
    }
    *out = v;
    return HEARTH_OK;
}

hearth_status hearth_vocab_load_file(const char *path, hearth_vocab **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_vocab_load_file: out is NULL");
    *out = NULL;
    if (!path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_vocab_load_file: path is NULL");
    hearth_gguf *g = NULL;
    hearth_status st = hearth_gguf_open(path, &g);
    if (st != HEARTH_OK) return st;
    st = hearth_vocab_load(g, out);
    if (st != HEARTH_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        hearth_set_error(st, "%s: %s", path, msg);
    }
    hearth_gguf_close(g);
    return st;
}

/* ========================================================================
 * accessors
 * ======================================================================== */
hearth_vocab_kind hearth_vocab_get_kind(const hearth_vocab *v) { return v->kind; }
int32_t hearth_vocab_n_tokens(const hearth_vocab *v) { return v->n_tokens; }
int32_t hearth_vocab_bos(const hearth_vocab *v) { return v->bos; }
int32_t hearth_vocab_eos(const hearth_vocab *v) { return v->eos; }
int32_t hearth_vocab_eot(const hearth_vocab *v) { return v->eot; }
int32_t hearth_vocab_unk(const hearth_vocab *v) { return v->unk; }
int32_t hearth_vocab_pad(const hearth_vocab *v) { return v->pad; }
int32_t hearth_vocab_sep(const hearth_vocab *v) { return v->sep; }
int32_t hearth_vocab_cls(const hearth_vocab *v) { return v->cls; }
bool hearth_vocab_add_bos(const hearth_vocab *v) { return v->add_bos; }
bool hearth_vocab_add_eos(const hearth_vocab *v) { return v->add_eos; }

bool hearth_vocab_is_eog(const hearth_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_tokens && (v->attr[id] & TOK_ATTR_EOG);
}

hearth_token_type hearth_vocab_token_type(const hearth_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_tokens ? (hearth_token_type)v->type[id] : (hearth_token_type)0;
}

const char *hearth_vocab_token_text(const hearth_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_tokens ? tok_str(v, id) : NULL;
}

int32_t hearth_vocab_find(const hearth_vocab *v, const char *text, size_t len) {
    if (!text) return -1;
    int32_t id = tok_lookup(v, text, len);
    return id < v->n_tokens ? id : -1;
}
