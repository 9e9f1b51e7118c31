/*
 * detok.c — token ids back to text: token_to_piece (with a per-vocab cache
 * of every token's bytes), whole-sequence detokenize, and the streaming
 * detokenizer that only ever emits whole, valid UTF-8 characters.
 *
 * Pieces, as the reference renders them:
 *   SPM/WPM normal tokens: the text with U+2581 turned into ' ';
 *   SPM byte tokens <0xNN>: the byte;
 *   BPE normal tokens: each character mapped back to its byte;
 *   control and unknown tokens: their text only when asked (special);
 *   user-defined tokens: their text; unused/undefined tokens: nothing.
 * SPM leading space: the tokenizer prefixes a space to the text at the
 * start and after each special token, so the first piece there loses one
 * leading space again (detokenize(tokenize(s)) == s).
 */
#include "tokenizer/tok_internal.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * pieces
 * ======================================================================== */
static bool is_special_type(uint8_t t) { return t == HEARTH_TOKEN_CONTROL || t == HEARTH_TOKEN_UNKNOWN; }

/* Writes the piece of id (special rendering on) into dst (room for 4 * len + 8
 * bytes); returns its length. */
static size_t render_piece(const hearth_vocab *v, int32_t id, char *dst) {
    const char *t = tok_str(v, id);
    size_t n = v->str_len[id];
    uint8_t ty = v->type[id];
    if (is_special_type(ty) || ty == HEARTH_TOKEN_USER_DEFINED) {
        memcpy(dst, t, n);
        return n;
    }
    if (v->kind == HEARTH_VOCAB_BPE) {
        if (ty != HEARTH_TOKEN_NORMAL) return 0;
        size_t m = 0;
        for (size_t i = 0; i < n;) {
            size_t s = i;
            uint32_t cp = tok_next_cp(t, n, &i);
            if (cp < 512 && v->byte_dec[cp] >= 0) {
                dst[m++] = (char)v->byte_dec[cp];
            } else {   /* not a mapped character: keep it as it is */
                memcpy(dst + m, t + s, i - s);
                m += i - s;
            }
        }
        return m;
    }
    if (ty == HEARTH_TOKEN_BYTE) {
        unsigned x = 0;
        for (size_t i = 3; i < 5 && i < n; i++) {
            char c = t[i];
            x = x * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0);
        }
        dst[0] = (char)x;
        return 1;
    }
    if (ty != HEARTH_TOKEN_NORMAL) return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && (unsigned char)t[i] == 0xE2 && (unsigned char)t[i + 1] == 0x96 && (unsigned char)t[i + 2] == 0x81) {
            dst[m++] = ' ';
            i += 2;
        } else {
            dst[m++] = t[i];
        }
    }
    return m;
}

hearth_status tok_build_piece_cache(hearth_vocab *v) {
    size_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) total += v->str_len[i];
    v->piece_pool = malloc(total + 16);
    v->piece_off = malloc(sizeof(uint32_t) * (size_t)v->n_tokens);
    v->piece_len = malloc(sizeof(uint32_t) * (size_t)v->n_tokens);
    if (!v->piece_pool || !v->piece_off || !v->piece_len) return hearth_set_error(HEARTH_ERR_NOMEM, "vocab: out of memory");
    size_t at = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        /* a piece is never longer than the token's text (a byte token is 6 chars -> 1 byte) */
        v->piece_off[i] = (uint32_t)at;
        v->piece_len[i] = (uint32_t)render_piece(v, i, v->piece_pool + at);
        at += v->piece_len[i];
    }
    return HEARTH_OK;
}

static inline size_t piece(const hearth_vocab *v, int32_t id, bool special, const char **p) {
    if (!special && is_special_type(v->type[id])) {
        *p = "";
        return 0;
    }
    *p = v->piece_pool + v->piece_off[id];
    return v->piece_len[id];
}

int64_t hearth_token_to_piece(const hearth_vocab *v, int32_t id, bool special, char *buf, size_t cap) {
    if (!v || id < 0 || id >= v->n_tokens) return -1;
    const char *p;
    size_t n = piece(v, id, special, &p);
    if (buf) memcpy(buf, p, n < cap ? n : cap);
    return (int64_t)n;
}

/* ========================================================================
 * whole sequences
 * ======================================================================== */
static bool starts_text(const hearth_vocab *v, int32_t id) {
    uint8_t t = v->type[id];
    return !(is_special_type(t) || t == HEARTH_TOKEN_USER_DEFINED);
}

hearth_status hearth_detokenize(const hearth_vocab *v, const int32_t *ids, size_t n, bool remove_special,
                                bool unparse_special, char **text, size_t *len) {
    if (!text) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_detokenize: text is NULL");
    *text = NULL;
    if (len) *len = 0;
    if (!v || (!ids && n)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_detokenize: vocab or ids is NULL");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= v->n_tokens)
            return hearth_set_error(HEARTH_ERR_RANGE, "hearth_detokenize: id %d at position %zu is not a token (vocab has %d)",
                                    ids[i], i, v->n_tokens);
    size_t a = 0, b = n;
    if (remove_special) {
        int32_t first = v->kind == HEARTH_VOCAB_WPM && v->cls >= 0 ? v->cls : v->bos;
        int32_t last = v->kind == HEARTH_VOCAB_WPM ? v->sep : v->eos;
        if (b > a && first >= 0 && ids[a] == first) a++;
        if (b > a && last >= 0 && ids[b - 1] == last) b--;
    }
    size_t total = 0;
    for (size_t i = a; i < b; i++) {
        const char *p;
        total += piece(v, ids[i], unparse_special, &p);
    }
    char *out = malloc(total + 1);
    if (!out) return hearth_set_error(HEARTH_ERR_NOMEM, "detokenize: out of memory for %zu bytes", total);
    size_t m = 0;
    bool strip = v->kind == HEARTH_VOCAB_SPM && v->add_space_prefix;
    bool at_start = true;   /* at the start or right after a special token */
    if (a > 0) at_start = true;
    for (size_t i = a; i < b; i++) {
        const char *p;
        size_t k = piece(v, ids[i], unparse_special, &p);
        if (!starts_text(v, ids[i])) {
            at_start = true;
        } else {
            if (strip && at_start && k > 0 && p[0] == ' ') { p++; k--; }
            at_start = false;
        }
        memcpy(out + m, p, k);
        m += k;
    }
    out[m] = 0;
    *text = out;
    if (len) *len = m;
    return HEARTH_OK;
}

/* ========================================================================
 * streaming
 * ======================================================================== */
struct hearth_detok {
    const hearth_vocab *v;
    bool special;
    bool at_start;
    unsigned char held[4];
    size_t n_held;
    char *out;
    size_t cap;
};

hearth_detok *hearth_detok_create(const hearth_vocab *v, bool unparse_special) {
    if (!v) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_detok_create: vocab is NULL");
        return NULL;
    }
    hearth_detok *d = calloc(1, sizeof *d);
    if (!d) {
        hearth_set_error(HEARTH_ERR_NOMEM, "detok: out of memory");
        return NULL;
    }
    d->v = v;
    d->special = unparse_special;
    d->at_start = true;
    return d;
}

void hearth_detok_free(hearth_detok *d) {
    if (!d) return;
    free(d->out);
    free(d);
}

static bool out_reserve(hearth_detok *d, size_t need) { return hearth_grow((void **)&d->out, &d->cap, need + 1, 1); }

size_t hearth_detok_push(hearth_detok *d, int32_t id, const char **out) {
    static const char *const empty = "";
    if (out) *out = empty;
    if (!d || id < 0 || id >= d->v->n_tokens) return 0;
    const char *p;
    size_t k = piece(d->v, id, d->special, &p);
    if (!starts_text(d->v, id)) {
        d->at_start = true;
    } else {
        if (d->v->kind == HEARTH_VOCAB_SPM && d->v->add_space_prefix && d->at_start && k > 0 && p[0] == ' ') { p++; k--; }
        d->at_start = false;
    }
    /* bytes to look at: what was held back, then the piece */
    size_t n = d->n_held + k;
    if (!out_reserve(d, n * 3 + 4)) return 0;
    unsigned char *in = malloc(n + 1);
    if (!in) return 0;
    memcpy(in, d->held, d->n_held);
    memcpy(in + d->n_held, p, k);
    d->n_held = 0;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t c;
        if (hearth_utf8_decode((const char *)in + i, n - i, &c) >= 0) {
            memcpy(d->out + m, in + i, c);
            m += c;
            i += c;
        } else if (hearth_utf8_incomplete((const char *)in + i, n - i)) {   /* cut off at the end: hold it */
            memcpy(d->held, in + i, n - i);
            d->n_held = n - i;
            break;
        } else {               /* a byte that can never be valid: U+FFFD */
            memcpy(d->out + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i++;
        }
    }
    free(in);
    d->out[m] = 0;
    if (out) *out = d->out;
    return m;
}

size_t hearth_detok_flush(hearth_detok *d, const char **out) {
    static const char *const empty = "";
    if (out) *out = empty;
    if (!d || d->n_held == 0) return 0;
    if (!out_reserve(d, d->n_held * 3)) return 0;
    size_t m = 0;
    for (size_t i = 0; i < d->n_held; i++) {
        memcpy(d->out + m, "\xEF\xBF\xBD", 3);
        m += 3;
    }
    d->n_held = 0;
    d->out[m] = 0;
    if (out) *out = d->out;
    return m;
}
