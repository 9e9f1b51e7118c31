/*
 * tokenize.c — text to token ids: special-token partitioning, then the
 * SentencePiece (SPM), byte-level BPE and WordPiece (WPM) algorithms, as the
 * reference (llama.cpp) runs them.
 *
 * Special tokens: control/unknown tokens (only with parse_special) and
 * user-defined tokens (always) are cut out of the text before the model's
 * algorithm runs. The reference does this token by token, longest text
 * first: all leftmost non-overlapping occurrences of one token are cut out
 * of the pieces of text left by the tokens before it. We find every
 * occurrence of every special text in one pass over a trie, then replay
 * that order on the occurrences (sorted by token priority, then position),
 * which gives the same cuts without one scan of the text per token.
 */
#include "tokenizer/tok_internal.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * special-token trie
 * ======================================================================== */
typedef struct trie_node {
    int32_t child, sibling;   /* first child, next sibling (-1 none) */
    int32_t rank;             /* index into v->special of the token ending here, -1 none */
    unsigned char byte;
} trie_node;

struct tok_trie {
    int32_t root[256];
    trie_node *node;
    size_t n, cap;
};

void tok_trie_free(struct tok_trie *t) {
    if (!t) return;
    free(t->node);
    free(t);
}

static int32_t trie_new(struct tok_trie *t, unsigned char b) {
    if (!hearth_grow((void **)&t->node, &t->cap, t->n + 1, sizeof(trie_node))) return -1;
    t->node[t->n] = (trie_node){-1, -1, -1, b};
    return (int32_t)t->n++;
}

hearth_status tok_trie_build(hearth_vocab *v) {
    struct tok_trie *t = calloc(1, sizeof *t);
    if (!t) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
    for (int i = 0; i < 256; i++) t->root[i] = -1;
    v->trie = t;
    for (size_t r = 0; r < v->n_special; r++) {
        const unsigned char *s = (const unsigned char *)tok_str(v, v->special[r]);
        size_t n = v->str_len[v->special[r]];
        int32_t cur = t->root[s[0]];
        if (cur < 0) {
            if ((cur = trie_new(t, s[0])) < 0) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
            t->root[s[0]] = cur;
        }
        for (size_t k = 1; k < n; k++) {
            int32_t c = t->node[cur].child;
            while (c >= 0 && t->node[c].byte != s[k]) c = t->node[c].sibling;
            if (c < 0) {
                if ((c = trie_new(t, s[k])) < 0) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
                t->node[c].sibling = t->node[cur].child;
                t->node[cur].child = c;
            }
            cur = c;
        }
        if (t->node[cur].rank < 0) t->node[cur].rank = (int32_t)r;   /* the first of equal texts wins */
    }
    return HEARTH_OK;
}

/* ========================================================================
 * partitioning
 * ======================================================================== */
typedef struct frag {
    int32_t id;          /* token id, or -1 for text */
    uint32_t off, len;   /* text range */
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
} frags;

static bool frag_push(frags *f, int32_t id, size_t off, size_t len) {
    if (!hearth_grow((void **)&f->v, &f->cap, f->n + 1, sizeof(frag))) return false;
    f->v[f->n++] = (frag){id, (uint32_t)off, (uint32_t)len};
    return true;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool eligible(const hearth_vocab *v, int32_t id, bool parse_special) {
    return parse_special || v->type[id] == HEARTH_TOKEN_USER_DEFINED;
}

static hearth_status partition(const hearth_vocab *v, const char *text, size_t n, bool parse_special, frags *out) {
    const unsigned char *s = (const unsigned char *)text;
    const struct tok_trie *t = v->trie;
    uint64_t *occ = NULL;
    size_t n_occ = 0, cap_occ = 0;
    for (size_t p = 0; p < n; p++) {
        int32_t cur = t->root[s[p]];
        size_t d = 1;
        while (cur >= 0) {
            int32_t r = t->node[cur].rank;
            if (r >= 0 && eligible(v, v->special[r], parse_special)) {
                if (!hearth_grow((void **)&occ, &cap_occ, n_occ + 1, sizeof(uint64_t))) goto nomem;
                occ[n_occ++] = ((uint64_t)(uint32_t)r << 32) | (uint32_t)p;
            }
            if (p + d >= n) break;
            int32_t c = t->node[cur].child;
            while (c >= 0 && t->node[c].byte != s[p + d]) c = t->node[c].sibling;
            cur = c;
            d++;
        }
    }
    if (n_occ == 0) {
        free(occ);
        return n == 0 || frag_push(out, -1, 0, n) ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
    }
    qsort(occ, n_occ, sizeof(uint64_t), cmp_u64);
    unsigned char *claimed = calloc(n, 1);
    uint64_t *acc = malloc(sizeof(uint64_t) * n_occ);   /* accepted: pos << 32 | rank */
    size_t n_acc = 0;
    if (!claimed || !acc) { free(claimed); free(acc); goto nomem; }
    for (size_t k = 0; k < n_occ; k++) {
        uint32_t r = (uint32_t)(occ[k] >> 32), p = (uint32_t)occ[k];
        size_t len = v->str_len[v->special[r]];
        bool free_range = true;
        for (size_t i = p; i < p + len && free_range; i++) free_range = !claimed[i];
        if (!free_range) continue;
        memset(claimed + p, 1, len);
        acc[n_acc++] = ((uint64_t)p << 32) | r;
    }
    qsort(acc, n_acc, sizeof(uint64_t), cmp_u64);
    size_t at = 0;
    bool ok = true;
    for (size_t k = 0; k < n_acc && ok; k++) {
        size_t p = (size_t)(acc[k] >> 32);
        int32_t id = v->special[(uint32_t)acc[k]];
        if (p > at) ok = frag_push(out, -1, at, p - at);
        if (ok) ok = frag_push(out, id, p, v->str_len[id]);
        at = p + v->str_len[id];
    }
    if (ok && at < n) ok = frag_push(out, -1, at, n - at);
    free(claimed);
    free(acc);
    free(occ);
    return ok ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
nomem:
    free(occ);
    return hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
}

/* ========================================================================
 * priority queue of bigrams (binary heap)
 * ======================================================================== */
/* true if a is taken before b: SPM by higher score, BPE by lower rank; ties to the leftmost */
static inline bool before(const tok_bigram *a, const tok_bigram *b, bool spm) {
    if (spm) {
        if (a->score != b->score) return a->score > b->score;
    } else if (a->rank != b->rank) {
        return a->rank < b->rank;
    }
    return a->left < b->left;
}

static bool heap_push(tok_ctx *c, const tok_bigram *x, bool spm) {
    if (!hearth_grow((void **)&c->heap, &c->heap_cap, c->heap_n + 1, sizeof(tok_bigram))) return false;
    size_t i = c->heap_n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(x, &c->heap[up], spm)) break;
        c->heap[i] = c->heap[up];
        i = up;
    }
    c->heap[i] = *x;
    return true;
}

static tok_bigram heap_pop(tok_ctx *c, bool spm) {
    tok_bigram top = c->heap[0];
    tok_bigram last = c->heap[--c->heap_n];
    size_t i = 0, n = c->heap_n;
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        if (l >= n) break;
        const tok_bigram *cand = &last;
        if (before(&c->heap[l], cand, spm)) { best = l; cand = &c->heap[l]; }
        if (l + 1 < n && before(&c->heap[l + 1], cand, spm)) best = l + 1;
        if (best == i) break;
        c->heap[i] = c->heap[best];
        i = best;
    }
    if (n > 0) c->heap[i] = last;
    return top;
}

/* ========================================================================
 * SentencePiece: merge the adjacent pair that forms the highest-scoring
 * token until none does; symbols that are not tokens become byte tokens.
 * ======================================================================== */
static bool spm_try(const hearth_vocab *v, const char *text, tok_ctx *c, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return true;
    const tok_sym *a = &c->sym[l], *b = &c->sym[r];
    int32_t id = tok_lookup(v, text + a->off, a->n + b->n);
    if (id < 0 || id >= v->n_tokens) return true;
    tok_bigram bg = {v->score[id], 0, l, r, a->n + b->n, id};
    return heap_push(c, &bg, true);
}

hearth_status tok_spm(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out) {
    if (n == 0) return HEARTH_OK;
    if (!hearth_grow((void **)&c->sym, &c->sym_cap, n, sizeof(tok_sym))) goto nomem;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t len = hearth_utf8_seq_len((unsigned char)text[off]);
        if (len > n - off) len = n - off;
        c->sym[ns] = (tok_sym){ns - 1, off + len == n ? -1 : ns + 1, (uint32_t)off, (uint32_t)len, -1};
        off += len;
        ns++;
    }
    c->heap_n = 0;
    for (int32_t i = 1; i < ns; i++)
        if (!spm_try(v, text, c, i - 1, i)) goto nomem;
    while (c->heap_n > 0) {
        tok_bigram bg = heap_pop(c, true);
        tok_sym *l = &c->sym[bg.left], *r = &c->sym[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;   /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) c->sym[r->next].prev = bg.left;
        if (!spm_try(v, text, c, l->prev, bg.left) || !spm_try(v, text, c, bg.left, l->next)) goto nomem;
    }
    for (int32_t i = 0; i != -1; i = c->sym[i].next) {
        const tok_sym *s = &c->sym[i];
        int32_t id = tok_lookup(v, text + s->off, s->n);
        if (id >= 0 && id < v->n_tokens) {
            if (!tok_ivec_push(out, id)) goto nomem;
            continue;
        }
        for (uint32_t k = 0; k < s->n; k++) {   /* byte fallback */
            int32_t b = v->byte_sym[(unsigned char)text[s->off + k]];
            if (b < 0) b = v->unk;
            if (b >= 0 && !tok_ivec_push(out, b)) goto nomem;
        }
    }
    return HEARTH_OK;
nomem:
    return hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
}

/* SPM over independent segments: the text is cut before each "▁" whose
 * preceding character never precedes an inner "▁" in any token — no merge
 * can cross such a point, so the result equals one run over the whole text,
 * while the bigram heap stays small (cache-friendly). */
static bool spm_glues(const hearth_vocab *v, uint32_t cp) {
    size_t lo = 0, hi = v->n_spm_glue;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->spm_glue[mid] < cp) lo = mid + 1; else hi = mid;
    }
    return lo < v->n_spm_glue && v->spm_glue[lo] == cp;
}

static hearth_status spm_segments(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out) {
    size_t seg = 0, prev = 0;   /* segment start; start of the previous character */
    for (size_t i = 0; i < n;) {
        size_t s = i;
        i += hearth_utf8_seq_len((unsigned char)text[i]);
        if (i > n) i = n;
        if (s > seg && i - s == 3 && memcmp(text + s, "\xE2\x96\x81", 3) == 0) {
            size_t k = prev;
            uint32_t cp = tok_next_cp(text, n, &k);
            /* only cut after a well-formed character that ends right here */
            if (k == s && !spm_glues(v, cp)) {
                hearth_status st = tok_spm(v, text + seg, s - seg, c, out);
                if (st != HEARTH_OK) return st;
                seg = s;
            }
        }
        prev = s;
    }
    return tok_spm(v, text + seg, n - seg, c, out);
}

/* ========================================================================
 * byte-level BPE: per pre-tokenized word, merge the adjacent pair with the
 * lowest merge rank until none is left. Symbols start as single bytes (each
 * byte is one character of the byte-to-unicode map) and carry string ids,
 * so a merge is one hash lookup of (left id, right id).
 * ======================================================================== */
static inline const tok_merge *merge_find(const hearth_vocab *v, int32_t l, int32_t r) {
    uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    uint64_t h = key;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    uint32_t i = (uint32_t)h & v->merge_mask;
    for (;;) {
        const tok_merge *m = &v->merge[i];
        if (m->rank < 0) return NULL;
        if (m->key == key) return m;
        i = (i + 1) & v->merge_mask;
    }
}

static bool bpe_try(const hearth_vocab *v, tok_ctx *c, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return true;
    const tok_sym *a = &c->sym[l], *b = &c->sym[r];
    if (a->id < 0 || b->id < 0) return true;
    const tok_merge *m = merge_find(v, a->id, b->id);
    if (!m) return true;
    tok_bigram bg = {0.0f, m->rank, l, r, a->n + b->n, m->result};
    return heap_push(c, &bg, false);
}

static hearth_status bpe_word(const hearth_vocab *v, const unsigned char *w, size_t n, tok_ctx *c, tok_ivec *out) {
    if (v->ignore_merges) {   /* a word that is a token is taken whole */
        if (!hearth_grow((void **)&c->buf, &c->buf_cap, n * 2 + 1, 1)) goto nomem;
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            memcpy(c->buf + m, v->byte_enc[w[k]], v->byte_enc_len[w[k]]);
            m += v->byte_enc_len[w[k]];
        }
        int32_t id = tok_lookup(v, c->buf, m);
        if (id >= 0 && id < v->n_tokens) return tok_ivec_push(out, id) ? HEARTH_OK : HEARTH_ERR_NOMEM;
    }
    if (n == 1) {
        int32_t id = v->byte_sym[w[0]];
        if (id < v->n_tokens) return tok_ivec_push(out, id) ? HEARTH_OK : HEARTH_ERR_NOMEM;
    }
    if (!hearth_grow((void **)&c->sym, &c->sym_cap, n, sizeof(tok_sym))) goto nomem;
    int32_t ns = (int32_t)n;
    for (int32_t i = 0; i < ns; i++) c->sym[i] = (tok_sym){i - 1, i + 1 == ns ? -1 : i + 1, (uint32_t)i, 1, v->byte_sym[w[i]]};
    c->heap_n = 0;
    for (int32_t i = 1; i < ns; i++)
        if (!bpe_try(v, c, i - 1, i)) goto nomem;
    while (c->heap_n > 0) {
        tok_bigram bg = heap_pop(c, false);
        tok_sym *l = &c->sym[bg.left], *r = &c->sym[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;   /* stale */
        l->n += r->n;
        l->id = bg.result;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) c->sym[r->next].prev = bg.left;
        if (!bpe_try(v, c, l->prev, bg.left) || !bpe_try(v, c, bg.left, l->next)) goto nomem;
    }
    for (int32_t i = 0; i != -1; i = c->sym[i].next) {
        const tok_sym *s = &c->sym[i];
        if (s->id >= 0 && s->id < v->n_tokens) {
            if (!tok_ivec_push(out, s->id)) goto nomem;
            continue;
        }
        /* not a token: the reference looks up each byte of its mapped text alone */
        for (uint32_t k = 0; k < s->n; k++) {
            unsigned char b = w[s->off + k];
            for (int e = 0; e < v->byte_enc_len[b]; e++) {
                int32_t id = tok_lookup(v, &v->byte_enc[b][e], 1);
                if (id >= 0 && id < v->n_tokens && !tok_ivec_push(out, id)) goto nomem;
            }
        }
    }
    return HEARTH_OK;
nomem:
    return hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
}

/* Per-call cache of short words -> their ids: text repeats its words, and a
 * word's ids depend only on its bytes. */
#define WC_MAX_WORD 32
#define WC_MAX_SLOTS 8192   /* power of two; filled to half at most */

typedef struct wc_entry {
    uint64_t hash;
    uint32_t off, n_ids;   /* into ids */
    uint32_t text_off;     /* into text */
    uint8_t len;           /* 0: empty slot */
} wc_entry;

struct tok_wcache {
    wc_entry *slot;
    uint32_t mask;   /* slots - 1 */
    size_t used;
    tok_ivec ids;
    char *text;
    size_t text_len, text_cap;
};

static void wcache_free(struct tok_wcache *w) {
    if (!w) return;
    free(w->slot);
    free(w->ids.v);
    free(w->text);
    free(w);
}

hearth_status tok_bpe(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out) {
    hearth_status st = tok_pretok_split(v->pre, text, n, &c->split);
    if (st != HEARTH_OK) return st;
    const tok_split *s = &c->split;
    if (!c->wcache && s->n_words > 64) {   /* best effort: without it, every word is merged */
        uint32_t slots = 256;
        while (slots < WC_MAX_SLOTS && slots < s->n_words) slots *= 2;
        struct tok_wcache *w = calloc(1, sizeof *w);
        if (w && (w->slot = calloc(slots, sizeof(wc_entry))) != NULL) {
            w->mask = slots - 1;
            c->wcache = w;
        } else {
            free(w);
        }
    }
    struct tok_wcache *w = c->wcache;
    for (size_t i = 0; i < s->n_words; i++) {
        size_t a = s->word_off[i], b = s->word_off[i + 1], len = b - a;
        const char *word = s->text + a;
        wc_entry *e = NULL;
        uint64_t h = 0;
        if (w && len <= WC_MAX_WORD && len > 1) {
            h = tok_hash(word, len);
            uint32_t k = (uint32_t)h & w->mask;
            while (w->slot[k].len && !(w->slot[k].hash == h && w->slot[k].len == len &&
                                       memcmp(w->text + w->slot[k].text_off, word, len) == 0))
                k = (k + 1) & w->mask;
            e = &w->slot[k];
            if (e->len) {   /* hit */
                if (!hearth_grow((void **)&out->v, &out->cap, out->n + e->n_ids, sizeof(int32_t))) goto nomem;
                memcpy(out->v + out->n, w->ids.v + e->off, sizeof(int32_t) * e->n_ids);
                out->n += e->n_ids;
                continue;
            }
        }
        size_t before_n = out->n;
        st = bpe_word(v, (const unsigned char *)word, len, c, out);
        if (st != HEARTH_OK) return st == HEARTH_ERR_NOMEM ? hearth_set_error(st, "tokenize: out of memory") : st;
        if (e && w->used < (w->mask + 1) / 2 && hearth_grow((void **)&w->text, &w->text_cap, w->text_len + len, 1) &&
            tok_ivec_reserve(&w->ids, w->ids.n + (out->n - before_n))) {
            memcpy(w->text + w->text_len, word, len);
            memcpy(w->ids.v + w->ids.n, out->v + before_n, sizeof(int32_t) * (out->n - before_n));
            *e = (wc_entry){h, (uint32_t)w->ids.n, (uint32_t)(out->n - before_n), (uint32_t)w->text_len, (uint8_t)len};
            w->ids.n += out->n - before_n;
            w->text_len += len;
            w->used++;
        }
    }
    return HEARTH_OK;
nomem:
    return hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
}

/* ========================================================================
 * WordPiece: NFD (first code point) + lower-case, split at white space,
 * punctuation, ASCII symbols and CJK ideographs; drop controls; then per
 * word greedy longest-match-first over "▁word" (the GGUF form of BERT
 * vocabularies: word starts carry "▁", continuations are bare); a word with
 * no complete match becomes [UNK].
 * ======================================================================== */
static bool is_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

static hearth_status wpm_word(const hearth_vocab *v, const char *w, size_t n, tok_ivec *out) {
    if (n <= 3) return HEARTH_OK;   /* just the "▁" */
    size_t start = out->n;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)v->max_token_len + 1;
        if (j > n) j = n;
        bool match = false;
        for (; j > i; j--) {
            int32_t id = tok_lookup(v, w + i, j - i);
            if (id >= 0 && id < v->n_tokens) {
                if (!tok_ivec_push(out, id)) return HEARTH_ERR_NOMEM;
                match = true;
                i = j - 1;
                break;
            }
        }
        if (!match) {
            out->n = start;
            break;
        }
    }
    if (out->n == start && v->unk >= 0 && !tok_ivec_push(out, v->unk)) return HEARTH_ERR_NOMEM;
    return HEARTH_OK;
}

hearth_status tok_wpm(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out) {
    /* each code point expands to at most 4 bytes; words get a 3-byte prefix */
    if (!hearth_grow((void **)&c->buf, &c->buf_cap, n * 4 + 8, 1)) goto nomem;
    char *w = c->buf;
    size_t wn = 0;
#define START_WORD() (memcpy(w, "\xE2\x96\x81", 3), wn = 3)
#define END_WORD()                                                   \
    do {                                                             \
        if (wn > 3 && wpm_word(v, w, wn, out) != HEARTH_OK) goto nomem; \
        START_WORD();                                                \
    } while (0)
    START_WORD();
    for (size_t i = 0; i < n;) {
        uint32_t cp = hearth_uc_nfd_first(tok_next_cp(text, n, &i));
        uint16_t f = hearth_uc_flags(cp);
        if (f & HEARTH_UC_SPACE) { END_WORD(); continue; }
        if (cp == 0 || cp == 0xFFFD || (f & HEARTH_UC_CONTROL)) continue;
        if (wn + 8 > c->buf_cap) {   /* cannot happen with the sizing above, but stay safe */
            if (!hearth_grow((void **)&c->buf, &c->buf_cap, wn + 8, 1)) goto nomem;
            w = c->buf;
        }
        int k = (int)hearth_utf8_encode_lenient(hearth_uc_tolower(cp), w + wn);
        if ((f & HEARTH_UC_PUNCT) || (cp < 0x7F && (f & HEARTH_UC_SYMBOL)) || is_cjk(cp)) {
            /* a word of its own: flush what came before, then this character */
            char ch[4];
            memcpy(ch, w + wn, (size_t)k);
            END_WORD();
            memcpy(w + wn, ch, (size_t)k);
            wn += (size_t)k;
            END_WORD();
        } else {
            wn += (size_t)k;
        }
    }
    END_WORD();
#undef START_WORD
#undef END_WORD
    return HEARTH_OK;
nomem:
    return hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
}

/* ========================================================================
 * the public entry point
 * ======================================================================== */
hearth_tokenize_params hearth_tokenize_default_params(void) {
    hearth_tokenize_params p = {.add_special = true, .parse_special = false};
    return p;
}

static void ctx_free(tok_ctx *c) {
    tok_split_free(&c->split);
    free(c->sym);
    free(c->heap);
    free(c->buf);
    free(c->cps);
    wcache_free(c->wcache);
}

hearth_status hearth_tokenize(const hearth_vocab *v, const char *text, size_t len, const hearth_tokenize_params *p,
                              int32_t **ids, size_t *n_ids) {
    if (!ids || !n_ids) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_tokenize: ids/n_ids is NULL");
    *ids = NULL;
    *n_ids = 0;
    if (!v) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_tokenize: vocab is NULL");
    if (!text && len) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_tokenize: text is NULL");
    if (len > 0xFFFFFFF0u) return hearth_set_error(HEARTH_ERR_RANGE, "hearth_tokenize: %zu bytes of text is too long (4 GiB max)", len);
    hearth_tokenize_params dp = hearth_tokenize_default_params();
    if (!p) p = &dp;

    tok_ctx c;
    memset(&c, 0, sizeof c);
    frags fr = {0};
    tok_ivec out = {0};
    hearth_status st = partition(v, text ? text : "", len, p->parse_special, &fr);
    if (st != HEARTH_OK) goto done;
    if (!tok_ivec_reserve(&out, len / 3 + 8)) goto nomem;

    if (v->kind == HEARTH_VOCAB_WPM) {
        int32_t cls = v->cls >= 0 ? v->cls : v->bos;
        if (p->add_special && cls >= 0 && !tok_ivec_push(&out, cls)) goto nomem;
    } else if (p->add_special && v->add_bos && v->bos >= 0 && !tok_ivec_push(&out, v->bos)) {
        goto nomem;
    }
    bool prev_special = true;   /* SPM: a text piece after a special token (or at the start) gets the space prefix */
    for (size_t k = 0; k < fr.n && st == HEARTH_OK; k++) {
        const frag *f = &fr.v[k];
        if (f->id >= 0) {
            if (!tok_ivec_push(&out, f->id)) goto nomem;
            prev_special = true;
            continue;
        }
        const char *t = text + f->off;
        switch (v->kind) {
        case HEARTH_VOCAB_SPM: {
            /* optional leading space, then every ' ' becomes U+2581 */
            bool pre = v->add_space_prefix && prev_special;
            size_t need = ((size_t)f->len + 1) * 3;
            if (!hearth_grow((void **)&c.cps, &c.cps_cap, need / 4 + 2, sizeof(uint32_t))) goto nomem;
            char *e = (char *)c.cps;   /* c.buf is used by the algorithms; borrow the cps scratch */
            size_t m = 0;
            if (pre) { memcpy(e, "\xE2\x96\x81", 3); m = 3; }
            for (uint32_t i = 0; i < f->len; i++) {
                if (t[i] == ' ') { memcpy(e + m, "\xE2\x96\x81", 3); m += 3; }
                else e[m++] = t[i];
            }
            st = spm_segments(v, e, m, &c, &out);
            break;
        }
        case HEARTH_VOCAB_BPE: st = tok_bpe(v, t, f->len, &c, &out); break;
        case HEARTH_VOCAB_WPM: st = tok_wpm(v, t, f->len, &c, &out); break;
        }
        prev_special = false;
    }
    if (st != HEARTH_OK) goto done;
    if (v->kind == HEARTH_VOCAB_WPM) {
        if (p->add_special && v->sep >= 0 && !tok_ivec_push(&out, v->sep)) goto nomem;
    } else if (p->add_special && v->add_eos && v->eos >= 0 && !tok_ivec_push(&out, v->eos)) {
        goto nomem;
    }
    *ids = out.v;
    *n_ids = out.n;
    out.v = NULL;
    goto done;
nomem:
    st = hearth_set_error(HEARTH_ERR_NOMEM, "tokenize: out of memory");
done:
    free(out.v);
    free(fr.v);
    ctx_free(&c);
    return st;
}
