/*
 * pretok.c — byte-level BPE pre-tokenizers: split text into words with the
 * regex list that tokenizer.ggml.pre names.
 *
 * Semantics follow the reference (llama.cpp's unicode_regex_split), which
 * is what the reference token ids encode:
 *   - The text is decoded to code points (malformed UTF-8 -> U+FFFD per byte)
 *     and the words are cut from its re-encoding.
 *   - The regexes are applied one after the other; each one refines the
 *     pieces left by the previous one (matches AND the gaps between matches
 *     become pieces).
 *   - The two most common patterns (GPT-2's and Llama 3's) are hand-written
 *     scanners over code point classes (split_gpt2, split_llama3).
 *   - Every other pattern runs in PCRE2 (JIT). A pattern that uses \p{L},
 *     \p{N}, \p{P}, \p{M} or \p{S} runs over a "collapsed" text where every
 *     non-ASCII code point is one byte naming its class (0xD1 number, 0xD2
 *     letter, 0xD3 punctuation, 0xD4 mark, 0xD5 symbol, 0xD0 other, 0x0B white
 *     space), with \p{X} rewritten to "that byte or the ASCII members of X".
 *     This is how the reference evaluates them (its std::regex has no Unicode
 *     classes), so PCRE2's own Unicode tables (UCP) are deliberately NOT
 *     used: they would disagree with the reference on e.g. non-ASCII white
 *     space and on the ASCII symbols $+<=>^`|~ which are \p{S}, not \p{P}.
 *     A pattern without \p{..} runs in UTF mode over the code points with
 *     non-ASCII white space replaced by U+000B (the reference's \s is
 *     ASCII-only) and surrogates (from lenient decoding) replaced by U+E000
 *     (which no pattern mentions), with `$` meaning the end of the piece only.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer/tok_internal.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * the pattern lists
 * ======================================================================== */
#define RX_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RX_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RX_LLAMA3 RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_QWEN2 RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_BLOOM " ?[^(\\s|.,!?…。，、।۔،)]+"
#define RX_UPPER_LOWER "((?=[\\p{L}])([^a-z]))"   /* a letter that is not ASCII lower-case */
#define RX_LOWER_UPPER "((?=[\\p{L}])([^A-Z]))"

enum { RXK_PCRE = 0, RXK_GPT2 = 1, RXK_LLAMA3 = 2 };

typedef struct pre_family {
    const char *names[12];   /* tokenizer.ggml.pre values */
    const char *rx[7];
    bool ignore_merges, add_bos, bos_none;
} pre_family;

static const pre_family k_families[] = {
    {{"default"}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", RX_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, false, false, false},
    {{"llama3", "llama-v3", "llama-bpe", "falcon3"}, {RX_LLAMA3}, true, true, false},
    {{"dbrx", "smaug-bpe"}, {RX_LLAMA3}, false, false, false},
    {{"chatglm-bpe"}, {RX_LLAMA3}, false, false, true},
    {{"deepseek-llm"},
     {"[\r\n]",
      "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
      "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"},
     false, false, false},
    {{"deepseek-v3"},
     {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
     false, false, false},
    {{"deepseek-coder"}, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"}, false, false, false},
    {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RX_GPT2, "[0-9][0-9][0-9]"}, false, false, false},
    {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
     {"\\p{N}", RX_GPT2}, false, false, false},
    {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code",
      "roberta-bpe", "mpt", "olmo"},
     {RX_GPT2}, false, false, false},
    {{"jais", "gpt-neox"}, {RX_GPT2}, false, false, false},
    {{"qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"}, {RX_QWEN2}, false, false, false},
    {{"poro-chat", "bloom", "gpt3-finnish"}, {RX_BLOOM}, false, false, false},
    {{"viking"}, {RX_BLOOM, "\\p{N}"}, false, false, false},
    {{"tekken"},
     {"[^\\r\\n\\p{L}\\p{N}]?" RX_UPPER_LOWER "*" RX_LOWER_UPPER "+|[^\\r\\n\\p{L}\\p{N}]?" RX_UPPER_LOWER
      "+" RX_LOWER_UPPER "*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     true, true, false},
    {{"gpt-4o", "llama4", "minimax-m2"},
     {"[^\\r\\n\\p{L}\\p{N}]?" RX_UPPER_LOWER "*" RX_LOWER_UPPER "+" RX_CONTRACTIONS "?|[^\\r\\n\\p{L}\\p{N}]?"
      RX_UPPER_LOWER "+" RX_LOWER_UPPER "*" RX_CONTRACTIONS "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     false, false, false},
    {{"chameleon"},
     {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]", RX_GPT2},
     false, true, false},
};

typedef struct pre_rx {
    int kind;            /* RXK_* */
    bool collapsed;      /* runs over the collapsed text */
    pcre2_code *code;
} pre_rx;

struct tok_pretok {
    pre_rx rx[7];
    int n_rx;
    bool need_collapse, need_wide;
};

/* ========================================================================
 * building
 * ======================================================================== */
static const char *k_cat_names = "NLPMS";   /* \p{N} \p{L} \p{P} \p{M} \p{S} */
static const unsigned char k_cat_byte[5] = {0xD1, 0xD2, 0xD3, 0xD4, 0xD5};
static const char *const k_cat_ascii[5] = {
    "0-9",
    "A-Za-z",
    "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}",
    "",
    "\\$\\+<->\\^`\\|~",
};

static int cat_index(const char *p) {   /* p points at "\p{X}" */
    if (p[0] != '\\' || p[1] != 'p' || p[2] != '{' || !p[3] || p[4] != '}') return -1;
    const char *c = strchr(k_cat_names, p[3]);
    return c ? (int)(c - k_cat_names) : -1;
}

static bool uses_categories(const char *rx) {
    for (const char *p = rx; (p = strstr(p, "\\p{")) != NULL; p++)
        if (cat_index(p) >= 0) return true;
    return false;
}

/* \p{X} -> [<class byte><ASCII members of X>] (without the brackets inside a class) */
static char *collapse_regex(const char *rx) {
    size_t n = strlen(rx);
    char *out = malloc(n * 8 + 16), *o = out;
    if (!out) return NULL;
    bool inside = false;
    for (size_t i = 0; i < n; i++) {
        char c = rx[i];
        if (c == '\\' && i + 1 < n && rx[i + 1] != 'p') {   /* keep any other escape whole */
            *o++ = c;
            *o++ = rx[++i];
            continue;
        }
        if (c == '[' && !inside) { inside = true; *o++ = c; continue; }
        if (c == ']' && inside) { inside = false; *o++ = c; continue; }
        int k = c == '\\' ? cat_index(rx + i) : -1;
        if (k >= 0) {
            if (!inside) *o++ = '[';
            *o++ = (char)k_cat_byte[k];
            size_t m = strlen(k_cat_ascii[k]);
            memcpy(o, k_cat_ascii[k], m);
            o += m;
            if (!inside) *o++ = ']';
            i += 4;
            continue;
        }
        *o++ = c;
    }
    *o = 0;
    return out;
}

void tok_pretok_free(tok_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n_rx; i++) pcre2_code_free(p->rx[i].code);
    free(p);
}

hearth_status tok_pretok_create(const char *name, tok_pretok **out, bool *ignore_merges, bool *add_bos_default,
                                bool *bos_none) {
    *out = NULL;
    if (!name || !*name) name = "default";
    const pre_family *fam = NULL;
    for (size_t f = 0; f < sizeof k_families / sizeof k_families[0] && !fam; f++)
        for (int j = 0; j < 12 && k_families[f].names[j]; j++)
            if (strcmp(k_families[f].names[j], name) == 0) fam = &k_families[f];
    if (!fam)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "tokenizer.ggml.pre: unknown pre-tokenizer '%s'", name);
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return hearth_set_error(HEARTH_ERR_NOMEM, "pre-tokenizer: out of memory");
    for (int i = 0; i < 7 && fam->rx[i]; i++) {
        const char *rx = fam->rx[i];
        pre_rx *r = &p->rx[p->n_rx++];
        if (strcmp(rx, RX_GPT2) == 0) { r->kind = RXK_GPT2; continue; }
        if (strcmp(rx, RX_LLAMA3) == 0) { r->kind = RXK_LLAMA3; continue; }
        r->kind = RXK_PCRE;
        r->collapsed = uses_categories(rx);
        char *pat = r->collapsed ? collapse_regex(rx) : NULL;
        if (r->collapsed && !pat) { tok_pretok_free(p); return hearth_set_error(HEARTH_ERR_NOMEM, "pre-tokenizer: out of memory"); }
        int err = 0;
        PCRE2_SIZE eoff = 0;
        uint32_t opts = PCRE2_DOLLAR_ENDONLY | (r->collapsed ? 0 : PCRE2_UTF);
        r->code = pcre2_compile((PCRE2_SPTR)(pat ? pat : rx), PCRE2_ZERO_TERMINATED, opts, &err, &eoff, NULL);
        free(pat);
        if (!r->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            tok_pretok_free(p);
            return hearth_set_error(HEARTH_ERR_INTERNAL, "pre-tokenizer '%s': regex %d does not compile at %zu: %s",
                                    name, i, (size_t)eoff, (const char *)msg);
        }
        pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if JIT is unavailable */
        if (r->collapsed) p->need_collapse = true; else p->need_wide = true;
    }
    if (ignore_merges) *ignore_merges = fam->ignore_merges;
    if (add_bos_default) *add_bos_default = fam->add_bos;
    if (bos_none) *bos_none = fam->bos_none;
    *out = p;
    return HEARTH_OK;
}

/* ========================================================================
 * scratch helpers
 * ======================================================================== */
void tok_split_free(tok_split *s) {
    if (!s) return;
    free(s->text);
    free(s->word_off);
    free(s->cps);
    free(s->cp_byte);
    free(s->len_a);
    free(s->len_b);
    free(s->subj);
    free(s->subj_off);
    pcre2_match_data_free(s->md);
    memset(s, 0, sizeof *s);
}

/* appends a piece length to the output list */
typedef struct lens {
    uint32_t *v;
    size_t n, cap;
    bool oom;
} lens;

static inline void lens_push(lens *l, size_t x) {
    if (l->n == l->cap && !hearth_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(uint32_t))) { l->oom = true; return; }
    l->v[l->n++] = (uint32_t)x;
}

/* ========================================================================
 * hand-written scanners (code point indices)
 * ======================================================================== */
#define OUT_OF_RANGE 0xFFFFFFFFu

typedef struct scan {
    const uint32_t *cps;
    size_t a, b;        /* the piece [a, b) */
    size_t prev_end;
    lens *out;
} scan;

static inline uint32_t sc_cp(const scan *s, size_t pos) { return pos >= s->a && pos < s->b ? s->cps[pos] : OUT_OF_RANGE; }
static inline uint16_t sc_fl(const scan *s, size_t pos) { return pos >= s->a && pos < s->b ? hearth_uc_flags(s->cps[pos]) : 0; }
static inline size_t sc_cut(scan *s, size_t end) {
    size_t len = end - s->prev_end;
    if (len > 0) lens_push(s->out, len);
    s->prev_end = end;
    return len;
}
#define NOT_SLN(f) (!((f) & (HEARTH_UC_SPACE | HEARTH_UC_LETTER | HEARTH_UC_NUMBER)) && (f))

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
/* The end of both splitters' patterns at pos, with nws white-space code
 * points there: \s+(?!\S) (all but the last one, when more text follows),
 * else \s+, else any one code point. Cuts and returns the new position. */
static size_t sc_spaces_or_one(scan *s, size_t pos, size_t nws) {
    if (nws > 1 && sc_cp(s, pos + nws) != OUT_OF_RANGE) pos += nws - 1;
    else if (nws > 0) pos += nws;
    else pos++;
    sc_cut(s, pos);
    return pos;
}

static void split_gpt2(scan *s) {
    size_t pos = s->a;
    while (pos < s->b) {
        uint32_t c = sc_cp(s, pos);
        uint16_t f = sc_fl(s, pos);
        if (c == '\'' && pos + 1 < s->b) {
            uint32_t c1 = sc_cp(s, pos + 1);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') { pos += sc_cut(s, pos + 2); continue; }
            if (pos + 2 < s->b) {
                uint32_t c2 = sc_cp(s, pos + 2);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += sc_cut(s, pos + 3);
                    continue;
                }
            }
        }
        uint16_t f2 = c == ' ' ? sc_fl(s, pos + 1) : f;
        if (f2 & HEARTH_UC_LETTER) {
            pos += c == ' ';
            while (sc_fl(s, pos) & HEARTH_UC_LETTER) pos++;
            sc_cut(s, pos);
            continue;
        }
        if (f2 & HEARTH_UC_NUMBER) {
            pos += c == ' ';
            while (sc_fl(s, pos) & HEARTH_UC_NUMBER) pos++;
            sc_cut(s, pos);
            continue;
        }
        if (NOT_SLN(f2)) {
            pos += c == ' ';
            for (uint16_t g = sc_fl(s, pos); NOT_SLN(g); g = sc_fl(s, ++pos)) {}
            sc_cut(s, pos);
            continue;
        }
        size_t nws = 0;
        while (sc_fl(s, pos + nws) & HEARTH_UC_SPACE) nws++;
        pos = sc_spaces_or_one(s, pos, nws);
    }
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static void split_llama3(scan *s) {
    size_t pos = s->a;
    while (pos < s->b) {
        uint32_t c = sc_cp(s, pos);
        uint16_t f = sc_fl(s, pos);
        if (c == '\'' && pos + 1 < s->b) {
            uint32_t c1 = hearth_uc_tolower(sc_cp(s, pos + 1));
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') { pos += sc_cut(s, pos + 2); continue; }
            if (pos + 2 < s->b) {
                uint32_t c2 = hearth_uc_tolower(sc_cp(s, pos + 2));
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += sc_cut(s, pos + 3);
                    continue;
                }
            }
        }
        if (!(c == '\r' || c == '\n' || (f & HEARTH_UC_NUMBER))) {
            if ((f & HEARTH_UC_LETTER) || (sc_fl(s, pos + 1) & HEARTH_UC_LETTER)) {
                pos++;
                while (sc_fl(s, pos) & HEARTH_UC_LETTER) pos++;
                sc_cut(s, pos);
                continue;
            }
        }
        if (f & HEARTH_UC_NUMBER) {
            size_t ini = pos;
            while (sc_fl(s, pos) & HEARTH_UC_NUMBER) {
                if (++pos - ini >= 3) {
                    sc_cut(s, pos);
                    ini = pos;
                }
            }
            sc_cut(s, pos);
            continue;
        }
        uint16_t f2 = c == ' ' ? sc_fl(s, pos + 1) : f;
        if (!(f2 & (HEARTH_UC_SPACE | HEARTH_UC_LETTER | HEARTH_UC_NUMBER)) && f) {
            pos += c == ' ';
            for (uint16_t g = f2; NOT_SLN(g); g = sc_fl(s, ++pos)) {}
            for (uint32_t c2 = sc_cp(s, pos); c2 == '\r' || c2 == '\n'; c2 = sc_cp(s, ++pos)) {}
            sc_cut(s, pos);
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (sc_fl(s, pos + nws) & HEARTH_UC_SPACE) {
            uint32_t c2 = sc_cp(s, pos + nws);
            if (c2 == '\r' || c2 == '\n') last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0) {   /* \s*[\r\n]+ */
            pos = last_rn;
            sc_cut(s, pos);
            continue;
        }
        pos = sc_spaces_or_one(s, pos, nws);
    }
}

/* ========================================================================
 * PCRE2 over one piece
 * ======================================================================== */
/* code point index (relative to a) of byte offset `byte` of the wide subject */
static size_t wide_cp(const tok_split *s, size_t a, size_t b, size_t byte) {
    size_t lo = a, hi = b;   /* find cp with subj_off[cp] == byte */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->subj_off[mid] < byte) lo = mid + 1; else hi = mid;
    }
    return lo - a;
}

static hearth_status split_pcre(const pre_rx *r, tok_split *s, size_t a, size_t b, lens *out) {
    const char *subj = r->collapsed ? s->subj + a : s->subj + s->subj_off[a];
    size_t len = r->collapsed ? b - a : s->subj_off[b] - s->subj_off[a];
    pcre2_match_data *md = s->md;
    size_t start = 0, prev_cp = 0;
    while (start <= len) {
        int rc = pcre2_match(r->code, (PCRE2_SPTR)subj, len, start, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return hearth_set_error(HEARTH_ERR_INTERNAL, "pre-tokenizer regex failed: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        size_t ms_cp = r->collapsed ? ms : wide_cp(s, a, b, s->subj_off[a] + ms);
        size_t me_cp = r->collapsed ? me : wide_cp(s, a, b, s->subj_off[a] + me);
        if (ms_cp > prev_cp) lens_push(out, ms_cp - prev_cp);
        lens_push(out, me_cp - ms_cp);
        prev_cp = me_cp;
        if (me == ms) {   /* empty match: step over one character */
            if (me >= len) break;
            start = me + (r->collapsed ? 1 : hearth_utf8_seq_len((unsigned char)subj[me]));
        } else {
            start = me;
        }
    }
    if (prev_cp < b - a) lens_push(out, b - a - prev_cp);
    return out->oom ? hearth_set_error(HEARTH_ERR_NOMEM, "pre-tokenizer: out of memory") : HEARTH_OK;
}

/* ========================================================================
 * driver
 * ======================================================================== */
static unsigned char collapse_cp(uint32_t cp) {
    if (cp < 128) return (unsigned char)cp;
    uint16_t f = hearth_uc_flags(cp);
    if (f & HEARTH_UC_SPACE) return 0x0B;
    switch (f & HEARTH_UC_CATEGORIES) {
    case HEARTH_UC_NUMBER: return 0xD1;
    case HEARTH_UC_LETTER: return 0xD2;
    case HEARTH_UC_PUNCT: return 0xD3;
    case HEARTH_UC_MARK: return 0xD4;
    case HEARTH_UC_SYMBOL: return 0xD5;
    default: return 0xD0;
    }
}

hearth_status tok_pretok_split(const tok_pretok *p, const char *text, size_t n, tok_split *s) {
    s->n_words = 0;
    s->text_len = 0;
    /* decode + re-encode */
    if (n + 1 > s->cps_cap || !s->cp_byte) {
        size_t cap = s->cps_cap;
        if (!hearth_grow((void **)&s->cps, &cap, n + 1, sizeof(uint32_t))) goto nomem;
        void *q = realloc(s->cp_byte, (cap + 1) * sizeof(uint32_t));
        if (!q) goto nomem;
        s->cp_byte = q;
        s->cps_cap = cap;
    }
    if (!hearth_grow((void **)&s->text, &s->text_cap, n * 3 + 4, 1)) goto nomem;
    size_t ncp = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = tok_next_cp(text, n, &i);
        s->cps[ncp] = cp;
        s->cp_byte[ncp] = (uint32_t)s->text_len;
        s->text_len += (size_t)(int)hearth_utf8_encode_lenient(cp, s->text + s->text_len);
        ncp++;
    }
    s->cp_byte[ncp] = (uint32_t)s->text_len;
    if (ncp == 0) return HEARTH_OK;

    /* subjects: collapsed text in subj[0..ncp), wide UTF-8 text after it */
    if (p->need_collapse || p->need_wide) {
        if (!hearth_grow((void **)&s->subj, &s->subj_cap, ncp + 4 * ncp + 8, 1)) goto nomem;
        if (p->need_collapse)
            for (size_t i = 0; i < ncp; i++) s->subj[i] = (char)collapse_cp(s->cps[i]);
        if (p->need_wide) {
            void *q = realloc(s->subj_off, (ncp + 1) * sizeof(uint32_t));
            if (!q) goto nomem;
            s->subj_off = q;
            size_t w = ncp;   /* the wide text starts after the collapsed one */
            for (size_t i = 0; i < ncp; i++) {
                uint32_t cp = s->cps[i];
                if (cp > 0x7F && (hearth_uc_flags(cp) & HEARTH_UC_SPACE)) cp = 0x0B;
                else if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;
                s->subj_off[i] = (uint32_t)w;
                w += (size_t)(int)hearth_utf8_encode_lenient(cp, s->subj + w);
            }
            s->subj_off[ncp] = (uint32_t)w;
        }
        if (!s->md) {
            s->md = pcre2_match_data_create(4, NULL);
            if (!s->md) goto nomem;
        }
    }

    lens cur = {s->len_a, 0, s->len_cap_a, false};
    lens nxt = {s->len_b, 0, s->len_cap_b, false};
    hearth_status st = HEARTH_OK;
    lens_push(&cur, ncp);
    for (int k = 0; k < p->n_rx && st == HEARTH_OK && !cur.oom; k++) {
        const pre_rx *r = &p->rx[k];
        nxt.n = 0;
        size_t a = 0;
        for (size_t j = 0; j < cur.n && st == HEARTH_OK; j++) {
            size_t b = a + cur.v[j];
            if (b > a) {
                if (r->kind == RXK_PCRE) {
                    st = split_pcre(r, s, a, b, &nxt);
                } else {
                    scan sc = {s->cps, a, b, a, &nxt};
                    if (r->kind == RXK_GPT2) split_gpt2(&sc); else split_llama3(&sc);
                }
            }
            a = b;
        }
        lens t = cur;
        cur = nxt;
        nxt = t;
    }
    s->len_a = cur.v; s->len_cap_a = cur.cap;
    s->len_b = nxt.v; s->len_cap_b = nxt.cap;
    if (st != HEARTH_OK) return st;
    if (cur.oom || nxt.oom) goto nomem;
    /* pieces -> byte ranges of the re-encoded text (empty pieces dropped) */
    if (!hearth_grow((void **)&s->word_off, &s->word_cap, cur.n + 1, sizeof(uint32_t))) goto nomem;
    size_t a = 0;
    s->word_off[0] = 0;
    for (size_t j = 0; j < cur.n; j++) {
        size_t b = a + cur.v[j];
        if (b > a) s->word_off[++s->n_words] = s->cp_byte[b];
        a = b;
    }
    return HEARTH_OK;
nomem:
    return hearth_set_error(HEARTH_ERR_NOMEM, "pre-tokenizer: out of memory");
}
