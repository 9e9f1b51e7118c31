/*
 * tok_internal.h — the vocab's private layout, shared by the tokenizer's
 * files (vocab.c loads it, pretok.c splits text into words, tok_*.c turn
 * words into ids, detok.c turns ids back into text). Not API.
 */
#ifndef HEARTH_TOKENIZER_INTERNAL_H
#define HEARTH_TOKENIZER_INTERNAL_H

#include "hearth/tokenizer.h"
#include "core/buf.h"
#include "core/utf8.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growable int32 buffer (output ids, word lengths...) ---------------- */
typedef struct tok_ivec {
    int32_t *v;
    size_t n, cap;
} tok_ivec;

bool tok_ivec_push(tok_ivec *a, int32_t x);   /* false on allocation failure */
bool tok_ivec_reserve(tok_ivec *a, size_t cap);

/* ---- pre-tokenizer (pretok.c) ------------------------------------------- */
typedef struct tok_pretok tok_pretok;

/* Builds the pre-tokenizer for tokenizer.ggml.pre = name (a BPE vocab).
 * Unknown names fail with HEARTH_ERR_UNSUPPORTED; NULL/"" means "default".
 * *ignore_merges / *add_bos_default / *bos_none receive the reference's
 * per-pre-tokenizer defaults. */
hearth_status tok_pretok_create(const char *name, tok_pretok **out, bool *ignore_merges, bool *add_bos_default,
                                bool *bos_none);
void tok_pretok_free(tok_pretok *p);

/* Working memory for one split (one per call; reused across fragments). */
typedef struct tok_split {
    /* the fragment re-encoded from its code points (malformed UTF-8 became
     * U+FFFD): words are byte ranges of this buffer */
    char *text;
    size_t text_len, text_cap;
    /* words: n_words byte ranges [word_off[i], word_off[i+1]) */
    uint32_t *word_off;
    size_t n_words, word_cap;
    /* scratch */
    uint32_t *cps;      /* code points */
    uint32_t *cp_byte;  /* byte offset in text of each code point (+1 sentinel) */
    size_t cps_cap;
    uint32_t *len_a, *len_b;   /* piece lengths in code points */
    size_t len_cap_a, len_cap_b;
    char *subj;                /* regex subjects: collapsed text, then the "wide" text */
    uint32_t *subj_off;        /* wide subject: byte offset in subj of each code point */
    size_t subj_cap;
    void *md;                  /* pcre2 match data */
} tok_split;

void tok_split_free(tok_split *s);
/* Splits text[0..n) into words with p's regexes. */
hearth_status tok_pretok_split(const tok_pretok *p, const char *text, size_t n, tok_split *s);

/* ---- vocab -------------------------------------------------------------- */
enum {
    TOK_ATTR_LSTRIP = 1,   /* a special token eats white space on its left */
    TOK_ATTR_RSTRIP = 2,   /* ... and on its right */
    TOK_ATTR_EOG = 4,      /* ends generation */
};

typedef struct tok_merge {
    uint64_t key;      /* (left id << 32) | right id; 0 = empty slot when rank < 0 */
    int32_t rank;      /* -1: empty */
    int32_t result;    /* id (token or extra string) of left+right */
} tok_merge;

struct hearth_vocab {
    hearth_vocab_kind kind;
    int32_t n_tokens;
    /* strings: ids [0, n_tokens) are tokens; ids [n_tokens, n_strings) are
     * extra strings that only BPE merges refer to */
    int32_t n_strings, cap_strings;
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t *str_off, *str_len;
    float *score;
    uint8_t *type;   /* hearth_token_type (0 = undefined) */
    uint8_t *attr;   /* TOK_ATTR_* */
    int32_t max_token_len;

    /* text -> id (open addressing over str ids) */
    int32_t *slot;
    uint32_t slot_mask;

    /* BPE */
    tok_merge *merge;
    uint32_t merge_mask;
    size_t n_merges;
    int32_t byte_sym[256];   /* BPE: string id of the byte's mapped char (-1 none); SPM: <0xXX> token */
    char byte_enc[256][2];   /* BPE: byte -> UTF-8 of its mapped char (1 or 2 bytes) */
    uint8_t byte_enc_len[256];
    int16_t byte_dec[512];   /* BPE: mapped code point (< 512) -> byte, -1 if none */
    tok_pretok *pre;
    bool ignore_merges;

    /* SPM */
    /* code points X such that some token contains "X▁" (sorted): the text can
     * be cut before any other "X▁", since no merge can span that point */
    uint32_t *spm_glue;
    size_t n_spm_glue;
    bool add_space_prefix;
    bool remove_extra_ws;

    /* special tokens */
    int32_t bos, eos, eot, eom, unk, pad, sep, cls, mask;
    bool add_bos, add_eos;
    int32_t *special;      /* control / user-defined / unknown ids, longest text first */
    size_t n_special;
    /* trie over special texts: nodes with 256-way sparse children */
    struct tok_trie *trie;

    /* token_to_piece(special = true) cache */
    char *piece_pool;
    uint32_t *piece_off, *piece_len;
};

static inline const char *tok_str(const hearth_vocab *v, int32_t id) { return v->pool + v->str_off[id]; }
static inline uint64_t tok_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    const unsigned char *p = (const unsigned char *)s;
    while (n >= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    __builtin_memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return h;
}

/* id of a string (token or extra), -1 if absent */
int32_t tok_lookup(const hearth_vocab *v, const char *s, size_t n);

/* ---- tokenizer algorithms (tok_spm.c, tok_bpe.c, tok_wpm.c) -------------- */
typedef struct tok_sym {
    int32_t prev, next;   /* neighbours in the chain, -1 at the ends */
    uint32_t off, n;      /* bytes of the word/text; n = 0 once merged away */
    int32_t id;           /* BPE: string id of the symbol's text (-1 none) */
} tok_sym;

typedef struct tok_bigram {
    float score;          /* SPM: higher first */
    int32_t rank;         /* BPE: lower first */
    int32_t left, right;  /* symbol indices; ties go to the leftmost */
    uint32_t size;        /* bytes of left+right when queued (staleness check) */
    int32_t result;       /* id of the merged text */
} tok_bigram;

/* per-call scratch, reused across fragments and words */
typedef struct tok_ctx {
    tok_split split;
    tok_sym *sym;
    size_t sym_cap;
    tok_bigram *heap;
    size_t heap_n, heap_cap;
    char *buf;
    size_t buf_cap;
    uint32_t *cps;
    size_t cps_cap;
    /* BPE: words already tokenized in this call (short words only) */
    struct tok_wcache *wcache;
} tok_ctx;

hearth_status tok_spm(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out);
hearth_status tok_bpe(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out);
hearth_status tok_wpm(const hearth_vocab *v, const char *text, size_t n, tok_ctx *c, tok_ivec *out);

/* special-token trie (tokenize.c) */
hearth_status tok_trie_build(hearth_vocab *v);
void tok_trie_free(struct tok_trie *t);

/* piece cache (detok.c) */
hearth_status tok_build_piece_cache(hearth_vocab *v);

/* Decodes the code point at s[*i] (s holds n bytes) the reference
 * tokenizers' way (hearth_utf8_decode_lenient) and advances *i past it. */
static inline uint32_t tok_next_cp(const char *s, size_t n, size_t *i) {
    size_t len;
    uint32_t cp = hearth_utf8_decode_lenient(s + *i, n - *i, &len);
    *i += len;
    return cp;
}

#endif
