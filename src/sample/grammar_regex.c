/*
 * grammar_regex.c — regular expressions (ECMA-262 syntax, as JSON Schema's
 * "pattern" uses) compiled into grammar rules: pattern -> syntax tree ->
 * NFA over code-point ranges (Thompson) -> epsilon-free NFA -> (with a
 * length counter when minLength/maxLength apply) right-linear rules whose
 * bytes are the code points encoded as UTF-8, or as json.dumps writes them
 * inside a JSON string. The matcher runs these rules as an automaton: no
 * backtracking, so no pattern can make it slow.
 *
 * Supported: literals, escapes (\d \w \s \D \W \S \t \n \r \f \v \0 \xHH
 * \uHHHH \u{H..} and escaped punctuation), '.', classes [a-z\d] [^...],
 * groups (...) (?:...) (?<name>...), |, * + ? {n} {n,} {n,m} (lazy forms
 * too: same language), ^ at the start and $ at the end. Back-references,
 * lookaround, \b, \B and \p{...} are refused with a message naming them.
 */
#include "grammar_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NFA 20000
#define MAX_PRODUCT 200000
#define MAX_CP 0x10FFFFu

/* ==== code-point sets (sorted, merged ranges) =============================== */
typedef struct cpset {
    uint32_t *r;   /* lo0, hi0, lo1, hi1, ... */
    size_t n;      /* number of ranges */
    size_t cap;
} cpset;

static bool cs_add(cpset *s, uint32_t lo, uint32_t hi) {
    if (!HEARTH_GROW(s->r, s->cap, 2 * (s->n + 1))) return false;
    s->r[2 * s->n] = lo, s->r[2 * s->n + 1] = hi;
    s->n++;
    return true;
}

static int cmp_range(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static void cs_norm(cpset *s) {
    if (s->n < 2) return;
    qsort(s->r, s->n, 2 * sizeof *s->r, cmp_range);
    size_t w = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->r[2 * i] <= s->r[2 * w + 1] + 1) {
            if (s->r[2 * i + 1] > s->r[2 * w + 1]) s->r[2 * w + 1] = s->r[2 * i + 1];
        } else {
            w++;
            s->r[2 * w] = s->r[2 * i], s->r[2 * w + 1] = s->r[2 * i + 1];
        }
    }
    s->n = w + 1;
}

static bool cs_negate(cpset *s) {
    cs_norm(s);
    cpset o = {0};
    uint32_t next = 0;
    bool ok = true;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[2 * i] > next) ok &= cs_add(&o, next, s->r[2 * i] - 1);
        next = s->r[2 * i + 1] + 1;
    }
    if (next <= MAX_CP) ok &= cs_add(&o, next, MAX_CP);
    free(s->r);
    *s = o;
    return ok;
}

/* ==== syntax tree ============================================================= */
enum { N_SET, N_CAT, N_ALT, N_REP, N_EMPTY };

typedef struct rnode {
    int kind;
    int a, b;        /* children (CAT, ALT), child (REP) */
    int min, max;    /* REP; max -1: unbounded */
    cpset set;       /* SET */
} rnode;

typedef struct rparser {
    const char *p, *end, *pat;
    rnode *nodes;
    size_t n, cap;
    gr_builder *b;
    const char *where;
    int depth;
} rparser;

static int rp_fail(rparser *rp, const char *what) {
    gr_fail(rp->b, HEARTH_ERR_UNSUPPORTED, "%s: pattern '%s': %s (at offset %d)", rp->where, rp->pat, what,
            (int)(rp->p - rp->pat));
    return -1;
}

static int node_new(rparser *rp, int kind) {
    if (rp->n >= MAX_NFA * 4 || !HEARTH_GROW(rp->nodes, rp->cap, rp->n + 1)) return rp_fail(rp, "too large");
    memset(&rp->nodes[rp->n], 0, sizeof rp->nodes[0]);
    rp->nodes[rp->n].kind = kind;
    return (int)rp->n++;
}

static int set_node(rparser *rp, uint32_t lo, uint32_t hi) {
    int n = node_new(rp, N_SET);
    if (n >= 0 && !cs_add(&rp->nodes[n].set, lo, hi)) return rp_fail(rp, "out of memory");
    return n;
}

/* adds the ranges of a class escape (\d \w \s and negations) */
static bool class_escape(cpset *s, char c) {
    bool ok = true;
    switch (c) {
    case 'd': return cs_add(s, '0', '9');
    case 'w':
        ok &= cs_add(s, '0', '9') && cs_add(s, 'A', 'Z') && cs_add(s, '_', '_') && cs_add(s, 'a', 'z');
        return ok;
    case 's':
        ok &= cs_add(s, 9, 13) && cs_add(s, ' ', ' ') && cs_add(s, 0xA0, 0xA0) && cs_add(s, 0x1680, 0x1680) &&
              cs_add(s, 0x2000, 0x200A) && cs_add(s, 0x2028, 0x2029) && cs_add(s, 0x202F, 0x202F) &&
              cs_add(s, 0x205F, 0x205F) && cs_add(s, 0x3000, 0x3000) && cs_add(s, 0xFEFF, 0xFEFF);
        return ok;
    }
    return false;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* reads one code point of the pattern (UTF-8) */
static uint32_t next_cp(rparser *rp) {
    const unsigned char *s = (const unsigned char *)rp->p;
    uint32_t c = s[0];
    int k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (rp->p + k > rp->end) k = 1;
    if (k == 2) c = ((c & 0x1F) << 6) | (s[1] & 0x3F);
    if (k == 3) c = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (k == 4) c = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    rp->p += k;
    return c;
}

/* an escape after '\' (rp->p at the letter): a single code point in *cp, or
 * a class added to *set (returns 1), or -1 on error; 0 for a code point */
static int parse_escape(rparser *rp, uint32_t *cp, cpset *set, bool in_class) {
    if (rp->p >= rp->end) return rp_fail(rp, "'\\' at the end");
    char c = *rp->p++;
    switch (c) {
    case 'd': case 'w': case 's':
        if (!class_escape(set, c)) return rp_fail(rp, "out of memory");
        return 1;
    case 'D': case 'W': case 'S': {
        cpset t = {0};
        bool ok = class_escape(&t, (char)(c + 32)) && cs_negate(&t);
        for (size_t i = 0; ok && i < t.n; i++) ok = cs_add(set, t.r[2 * i], t.r[2 * i + 1]);
        free(t.r);
        return ok ? 1 : rp_fail(rp, "out of memory");
    }
    case 't': *cp = '\t'; return 0;
    case 'n': *cp = '\n'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'v': *cp = '\v'; return 0;
    case '0': *cp = 0; return 0;
    case 'x':
        if (rp->end - rp->p < 2 || hexval(rp->p[0]) < 0 || hexval(rp->p[1]) < 0) return rp_fail(rp, "bad \\x escape");
        *cp = (uint32_t)(hexval(rp->p[0]) * 16 + hexval(rp->p[1]));
        rp->p += 2;
        return 0;
    case 'u':
        if (rp->p < rp->end && *rp->p == '{') {
            uint32_t v = 0;
            rp->p++;
            while (rp->p < rp->end && *rp->p != '}') {
                if (hexval(*rp->p) < 0 || v > MAX_CP) return rp_fail(rp, "bad \\u{} escape");
                v = v * 16 + (uint32_t)hexval(*rp->p++);
            }
            if (rp->p >= rp->end || v > MAX_CP) return rp_fail(rp, "bad \\u{} escape");
            rp->p++;
            *cp = v;
            return 0;
        }
        if (rp->end - rp->p < 4) return rp_fail(rp, "bad \\u escape");
        *cp = 0;
        for (int i = 0; i < 4; i++) {
            if (hexval(rp->p[i]) < 0) return rp_fail(rp, "bad \\u escape");
            *cp = *cp * 16 + (uint32_t)hexval(rp->p[i]);
        }
        rp->p += 4;
        return 0;
    case 'b':
        if (in_class) { *cp = 8; return 0; }
        return rp_fail(rp, "word boundary \\b cannot be enforced");
    case 'B': return rp_fail(rp, "\\B cannot be enforced");
    case 'p': case 'P': return rp_fail(rp, "Unicode property escapes (\\p{...}) cannot be enforced");
    case 'c':
        if (rp->p < rp->end && ((*rp->p >= 'a' && *rp->p <= 'z') || (*rp->p >= 'A' && *rp->p <= 'Z'))) {
            *cp = (uint32_t)(*rp->p++ % 32);
            return 0;
        }
        return rp_fail(rp, "bad \\c escape");
    default:
        if (c >= '1' && c <= '9') return rp_fail(rp, "back-references cannot be enforced");
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return rp_fail(rp, "unknown escape");
        rp->p--;
        *cp = next_cp(rp);
        return 0;
    }
}

static int parse_alt(rparser *rp);

static int parse_class(rparser *rp) {
    int n = node_new(rp, N_SET);
    if (n < 0) return -1;
    cpset s = {0};
    bool neg = false;
    if (rp->p < rp->end && *rp->p == '^') neg = true, rp->p++;
    bool first = true;
    while (rp->p < rp->end && (*rp->p != ']' || (first && false))) {
        first = false;
        uint32_t lo;
        if (*rp->p == '\\') {
            rp->p++;
            int r = parse_escape(rp, &lo, &s, true);
            if (r < 0) { free(s.r); return -1; }
            if (r == 1) continue;
        } else {
            lo = next_cp(rp);
        }
        uint32_t hi = lo;
        if (rp->p + 1 < rp->end && *rp->p == '-' && rp->p[1] != ']') {
            rp->p++;
            if (*rp->p == '\\') {
                rp->p++;
                cpset dummy = {0};
                int r = parse_escape(rp, &hi, &dummy, true);
                free(dummy.r);
                if (r != 0) { free(s.r); return r < 0 ? -1 : rp_fail(rp, "a class escape cannot end a range"); }
            } else {
                hi = next_cp(rp);
            }
            if (hi < lo) { free(s.r); return rp_fail(rp, "range out of order in a class"); }
        }
        if (!cs_add(&s, lo, hi)) { free(s.r); return rp_fail(rp, "out of memory"); }
    }
    if (rp->p >= rp->end) { free(s.r); return rp_fail(rp, "unterminated character class"); }
    rp->p++;
    cs_norm(&s);
    if (neg && !cs_negate(&s)) { free(s.r); return rp_fail(rp, "out of memory"); }
    rp->nodes[n].set = s;
    return n;
}

static int parse_atom(rparser *rp) {
    char c = *rp->p;
    if (c == '(') {
        rp->p++;
        if (rp->p < rp->end && *rp->p == '?') {
            rp->p++;
            if (rp->p < rp->end && *rp->p == ':') rp->p++;
            else if (rp->p + 1 < rp->end && *rp->p == '<' && rp->p[1] != '=' && rp->p[1] != '!') {
                while (rp->p < rp->end && *rp->p != '>') rp->p++;
                if (rp->p >= rp->end) return rp_fail(rp, "unterminated group name");
                rp->p++;
            } else {
                return rp_fail(rp, "lookaround assertions cannot be enforced");
            }
        }
        if (++rp->depth > 200) return rp_fail(rp, "groups nested too deeply");
        int n = parse_alt(rp);
        rp->depth--;
        if (n < 0) return -1;
        if (rp->p >= rp->end || *rp->p != ')') return rp_fail(rp, "missing ')'");
        rp->p++;
        return n;
    }
    if (c == '[') {
        rp->p++;
        return parse_class(rp);
    }
    if (c == '.') {
        rp->p++;
        int n = node_new(rp, N_SET);
        if (n < 0) return -1;
        bool ok = cs_add(&rp->nodes[n].set, 0, 9) && cs_add(&rp->nodes[n].set, 11, 12) &&
                  cs_add(&rp->nodes[n].set, 14, 0x2027) && cs_add(&rp->nodes[n].set, 0x202A, MAX_CP);
        return ok ? n : rp_fail(rp, "out of memory");
    }
    if (c == '\\') {
        rp->p++;
        uint32_t cp;
        cpset s = {0};
        int r = parse_escape(rp, &cp, &s, false);
        if (r < 0) { free(s.r); return -1; }
        if (r == 1) {
            int n = node_new(rp, N_SET);
            if (n < 0) { free(s.r); return -1; }
            cs_norm(&s);
            rp->nodes[n].set = s;
            return n;
        }
        return set_node(rp, cp, cp);
    }
    if (c == '^' || c == '$') return rp_fail(rp, "'^' or '$' inside the pattern cannot be enforced");
    if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (c == '{') {   /* a literal '{' when not a quantifier */
            rp->p++;
            return set_node(rp, '{', '{');
        }
        return rp_fail(rp, "nothing to repeat");
    }
    if (c == ')') return rp_fail(rp, "unmatched ')'");
    uint32_t cp = next_cp(rp);
    return set_node(rp, cp, cp);
}

/* {n}, {n,}, {n,m} at rp->p; false if it is not a quantifier (a literal) */
static bool parse_braces(rparser *rp, int *mn, int *mx) {
    const char *q = rp->p + 1;
    long a = 0, b;
    if (q >= rp->end || *q < '0' || *q > '9') return false;
    while (q < rp->end && *q >= '0' && *q <= '9') a = a * 10 + (*q++ - '0'), a = a > 100000 ? 100000 : a;
    b = a;
    if (q < rp->end && *q == ',') {
        q++;
        if (q < rp->end && *q == '}') b = -1;
        else {
            b = 0;
            if (q >= rp->end || *q < '0' || *q > '9') return false;
            while (q < rp->end && *q >= '0' && *q <= '9') b = b * 10 + (*q++ - '0'), b = b > 100000 ? 100000 : b;
        }
    }
    if (q >= rp->end || *q != '}') return false;
    rp->p = q + 1;
    *mn = (int)a, *mx = (int)b;
    return true;
}

static int parse_rep(rparser *rp) {
    int n = parse_atom(rp);
    while (n >= 0 && rp->p < rp->end) {
        int mn, mx;
        char c = *rp->p;
        if (c == '*') mn = 0, mx = -1, rp->p++;
        else if (c == '+') mn = 1, mx = -1, rp->p++;
        else if (c == '?') mn = 0, mx = 1, rp->p++;
        else if (c == '{' && parse_braces(rp, &mn, &mx)) {
            if (mx >= 0 && mx < mn) return rp_fail(rp, "{n,m} with m < n");
        } else break;
        if (rp->p < rp->end && *rp->p == '?') rp->p++;   /* lazy: same language */
        int r = node_new(rp, N_REP);
        if (r < 0) return -1;
        rp->nodes[r].a = n, rp->nodes[r].min = mn, rp->nodes[r].max = mx;
        n = r;
    }
    return n;
}

static int parse_cat(rparser *rp) {
    int n = -2;
    while (rp->p < rp->end && *rp->p != '|' && *rp->p != ')') {
        int a = parse_rep(rp);
        if (a < 0) return -1;
        if (n == -2) {
            n = a;
        } else {
            int c = node_new(rp, N_CAT);
            if (c < 0) return -1;
            rp->nodes[c].a = n, rp->nodes[c].b = a;
            n = c;
        }
    }
    return n == -2 ? node_new(rp, N_EMPTY) : n;
}

static int parse_alt(rparser *rp) {
    int n = parse_cat(rp);
    while (n >= 0 && rp->p < rp->end && *rp->p == '|') {
        rp->p++;
        int b = parse_cat(rp);
        if (b < 0) return -1;
        int c = node_new(rp, N_ALT);
        if (c < 0) return -1;
        rp->nodes[c].a = n, rp->nodes[c].b = b;
        n = c;
    }
    return n;
}

/* ==== NFA ===================================================================== */
typedef struct nedge {
    int to;
    int set;   /* index into sets; -1: epsilon */
} nedge;

typedef struct nfa {
    nedge *e;
    int *from;   /* parallel to e */
    size_t n_e, cap_e, cap_from;
    int n_states;
    cpset *sets;
    size_t n_sets, cap_sets;
    bool too_big;
} nfa;

static int nfa_state(nfa *a) {
    if (a->n_states >= MAX_NFA) {
        a->too_big = true;
        return 0;
    }
    return a->n_states++;
}

static void nfa_edge(nfa *a, int from, int to, int set) {
    if (!HEARTH_GROW(a->e, a->cap_e, a->n_e + 1) || !HEARTH_GROW(a->from, a->cap_from, a->n_e + 1)) {
        a->too_big = true;
        return;
    }
    a->e[a->n_e] = (nedge){to, set};
    a->from[a->n_e++] = from;
}

static int nfa_set(nfa *a, const cpset *s) {
    if (!HEARTH_GROW(a->sets, a->cap_sets, a->n_sets + 1)) {
        a->too_big = true;
        return 0;
    }
    cpset c = {0};
    for (size_t i = 0; i < s->n; i++) cs_add(&c, s->r[2 * i], s->r[2 * i + 1]);
    a->sets[a->n_sets] = c;
    return (int)a->n_sets++;
}

/* builds node n between fresh states; returns (start, end) */
static void build(nfa *a, const rparser *rp, int n, int *s, int *t) {
    *s = nfa_state(a), *t = nfa_state(a);
    if (a->too_big) return;
    const rnode *nd = &rp->nodes[n];
    switch (nd->kind) {
    case N_EMPTY: nfa_edge(a, *s, *t, -1); break;
    case N_SET: nfa_edge(a, *s, *t, nfa_set(a, &nd->set)); break;
    case N_CAT: {
        int s1, t1, s2, t2;
        build(a, rp, nd->a, &s1, &t1);
        build(a, rp, nd->b, &s2, &t2);
        nfa_edge(a, *s, s1, -1), nfa_edge(a, t1, s2, -1), nfa_edge(a, t2, *t, -1);
        break;
    }
    case N_ALT: {
        int s1, t1, s2, t2;
        build(a, rp, nd->a, &s1, &t1);
        build(a, rp, nd->b, &s2, &t2);
        nfa_edge(a, *s, s1, -1), nfa_edge(a, *s, s2, -1), nfa_edge(a, t1, *t, -1), nfa_edge(a, t2, *t, -1);
        break;
    }
    case N_REP: {
        int cur = *s;
        for (int i = 0; i < nd->min && !a->too_big; i++) {
            int s1, t1;
            build(a, rp, nd->a, &s1, &t1);
            nfa_edge(a, cur, s1, -1);
            cur = t1;
        }
        if (nd->max < 0) {
            int s1, t1;
            build(a, rp, nd->a, &s1, &t1);
            nfa_edge(a, cur, s1, -1), nfa_edge(a, t1, s1, -1), nfa_edge(a, t1, *t, -1), nfa_edge(a, cur, *t, -1);
        } else {
            for (int i = nd->min; i < nd->max && !a->too_big; i++) {
                int s1, t1;
                build(a, rp, nd->a, &s1, &t1);
                nfa_edge(a, cur, s1, -1), nfa_edge(a, cur, *t, -1);
                cur = t1;
            }
            nfa_edge(a, cur, *t, -1);
        }
        break;
    }
    }
}

static void nfa_free(nfa *a) {
    free(a->e);
    free(a->from);
    for (size_t i = 0; i < a->n_sets; i++) free(a->sets[i].r);
    free(a->sets);
}

/* ==== encoding code points as bytes =============================================== */
static int utf8_encode_cp(uint32_t c, unsigned char *o) {
    if (c < 0x80) { o[0] = (unsigned char)c; return 1; }
    if (c < 0x800) { o[0] = (unsigned char)(0xC0 | (c >> 6)); o[1] = (unsigned char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12)), o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18)), o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)), o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* appends to rule r one alternative per UTF-8 byte-range sequence covering
 * code points [lo, hi] (the classic split: ranges that share their leading
 * bytes and vary freely in the rest) */
static void utf8_ranges(gr_builder *b, int32_t r, uint32_t lo, uint32_t hi) {
    static const uint32_t tops[] = {0x7F, 0x7FF, 0xFFFF};
    for (int i = 0; i < 3; i++)
        if (lo <= tops[i] && hi > tops[i]) {
            utf8_ranges(b, r, lo, tops[i]);
            utf8_ranges(b, r, tops[i] + 1, hi);
            return;
        }
    unsigned char el[4], eh[4];
    int n = utf8_encode_cp(lo, el);
    utf8_encode_cp(hi, eh);
    for (int i = 1; i < n; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                utf8_ranges(b, r, lo, lo | m);
                utf8_ranges(b, r, (lo | m) + 1, hi);
                return;
            }
            if ((hi & m) != m) {
                utf8_ranges(b, r, lo, (hi & ~m) - 1);
                utf8_ranges(b, r, hi & ~m, hi);
                return;
            }
        }
    }
    int32_t seq[4];
    for (int i = 0; i < n; i++) {
        gr_bits cl = {{0}};
        gr_bits_range(&cl, el[i], eh[i]);
        seq[i] = gr_class(b, &cl);
    }
    gr_alt(b, r, seq, (size_t)n);
}

/* a rule matching one code point of set s (surrogates excluded), encoded */
static int32_t cp_rule(gr_builder *b, const cpset *s, int enc) {
    int32_t r = gr_rule_new(b);
    for (size_t i = 0; i < s->n; i++) {
        uint32_t lo = s->r[2 * i], hi = s->r[2 * i + 1];
        /* pieces outside the surrogates; in JSON, controls, '"' and '\\' are escaped */
        for (uint32_t a = lo; a <= hi;) {
            uint32_t z = hi;
            if (a >= 0xD800 && a <= 0xDFFF) { a = 0xE000; continue; }
            if (a < 0xD800 && z >= 0xD800) z = 0xD7FF;
            if (enc == RX_JSON) {
                if (a < 0x20) {
                    uint32_t e = z < 0x1F ? z : 0x1F;
                    for (uint32_t c = a; c <= e; c++) {
                        char esc[8];
                        const char *sh = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
                        if (sh) snprintf(esc, sizeof esc, "%s", sh);
                        else snprintf(esc, sizeof esc, "\\u%04x", c);
                        gr_seq q = {0};
                        gr_lit(b, &q, esc, strlen(esc));
                        gr_alt_seq(b, r, &q);
                        gr_seq_free(&q);
                    }
                    a = e + 1;
                    continue;
                }
                if (a <= '"' && z >= '"') {
                    if (a < '"') utf8_ranges(b, r, a, '"' - 1);
                    int32_t q[2] = {gr_byte(b, '\\'), gr_byte(b, '"')};
                    gr_alt(b, r, q, 2);
                    a = '"' + 1;
                    continue;
                }
                if (a <= '\\' && z >= '\\') {
                    if (a < '\\') utf8_ranges(b, r, a, '\\' - 1);
                    int32_t q[2] = {gr_byte(b, '\\'), gr_byte(b, '\\')};
                    gr_alt(b, r, q, 2);
                    a = '\\' + 1;
                    continue;
                }
            }
            utf8_ranges(b, r, a, z);
            if (z >= hi) break;
            a = z + 1;
        }
    }
    return r;
}

/* ==== from regex to rules ========================================================== */
typedef struct eps_nfa {   /* epsilon-free form */
    int *out0;      /* per state: first edge in oe/oset; n_states + 1 entries */
    int *oe_to, *oe_set;
    bool *final;
} eps_nfa;

int32_t gr_regex_rule(gr_builder *b, const char *pat, int min_len, int max_len, int enc, const char *where) {
    if (b->err) return -1;
    rparser rp = {pat, pat + strlen(pat), pat, NULL, 0, 0, b, where, 0};
    /* anchors: ^ at the start and $ at the end; otherwise search semantics */
    bool bol = false, eol = false;
    size_t plen = strlen(pat);
    if (plen && pat[0] == '^') bol = true, rp.p++;
    if (plen > (size_t)bol && pat[plen - 1] == '$') {
        size_t bs = 0;
        for (size_t i = plen - 1; i > 0 && pat[i - 1] == '\\'; i--) bs++;
        if (bs % 2 == 0) eol = true, rp.end--;
    }
    /* an unanchored alternation at the top level would need per-branch anchors */
    int root = parse_alt(&rp);
    if (root >= 0 && rp.p < rp.end) root = rp_fail(&rp, "unmatched ')'");
    if (root >= 0 && (bol != eol || !bol)) {
        /* check for a top-level '|' with anchors inside the branches: refused by parse_atom already */
    }
    nfa a = {0};
    int s0 = 0, t0 = 0;
    if (root >= 0) {
        int s, t;
        s0 = nfa_state(&a), t0 = nfa_state(&a);
        build(&a, &rp, root, &s, &t);
        cpset any = {0};
        cs_add(&any, 0, MAX_CP);
        int anyset = nfa_set(&a, &any);
        free(any.r);
        if (!bol) nfa_edge(&a, s0, s0, anyset);
        if (!eol) nfa_edge(&a, t0, t0, anyset);
        nfa_edge(&a, s0, s, -1), nfa_edge(&a, t, t0, -1);
    }
    for (size_t i = 0; i < rp.n; i++) free(rp.nodes[i].set.r);
    free(rp.nodes);
    if (root < 0) {
        nfa_free(&a);
        return -1;
    }
    if (a.too_big) {
        nfa_free(&a);
        gr_fail(b, HEARTH_ERR_RANGE, "%s: pattern '%s' is too large to compile (more than %d automaton states)", where,
                pat, MAX_NFA);
        return -1;
    }
    /* epsilon closure of every state -> epsilon-free edges */
    int ns = a.n_states;
    int *eps0 = calloc((size_t)ns + 1, sizeof *eps0), *eps = malloc((a.n_e + 1) * sizeof *eps);
    int *sym0 = calloc((size_t)ns + 1, sizeof *sym0), *symi = malloc((a.n_e + 1) * sizeof *symi);
    int *stack = malloc(((size_t)ns + 1) * sizeof *stack), *mark = calloc((size_t)ns + 1, sizeof *mark);
    int *oe_to = NULL, *oe_set = NULL, *out0 = calloc((size_t)ns + 1, sizeof *out0);
    bool *fin = calloc((size_t)ns + 1, 1);
    size_t n_oe = 0, cap_oe = 0, cap_set = 0;
    bool ok = eps0 && eps && sym0 && symi && stack && mark && out0 && fin;
    if (ok) {
        for (size_t i = 0; i < a.n_e; i++) (a.e[i].set < 0 ? eps0 : sym0)[a.from[i] + 1]++;
        for (int i = 0; i < ns; i++) eps0[i + 1] += eps0[i], sym0[i + 1] += sym0[i];
        int *fe = calloc((size_t)ns, sizeof *fe), *fs = calloc((size_t)ns, sizeof *fs);
        ok = fe && fs;
        for (size_t i = 0; ok && i < a.n_e; i++) {
            int f = a.from[i];
            if (a.e[i].set < 0) eps[eps0[f] + fe[f]++] = (int)i;
            else symi[sym0[f] + fs[f]++] = (int)i;
        }
        free(fe), free(fs);
    }
    int stamp = 0;
    for (int q = 0; ok && q < ns; q++) {
        out0[q] = (int)n_oe;
        stamp++;
        int sp = 0;
        stack[sp++] = q, mark[q] = stamp;
        while (sp) {
            int x = stack[--sp];
            if (x == t0) fin[q] = true;
            for (int k = sym0[x]; k < sym0[x + 1]; k++) {
                if (!HEARTH_GROW(oe_to, cap_oe, n_oe + 1) || !HEARTH_GROW(oe_set, cap_set, n_oe + 1)) {
                    ok = false;
                    break;
                }
                oe_to[n_oe] = a.e[symi[k]].to, oe_set[n_oe] = a.e[symi[k]].set, n_oe++;
            }
            for (int k = eps0[x]; k < eps0[x + 1]; k++) {
                int y = a.e[eps[k]].to;
                if (mark[y] != stamp) mark[y] = stamp, stack[sp++] = y;
            }
        }
    }
    if (ok) out0[ns] = (int)n_oe;
    free(eps0), free(eps), free(sym0), free(symi), free(stack), free(mark);
    if (!ok) {
        free(oe_to), free(oe_set), free(out0), free(fin);
        nfa_free(&a);
        gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
        return -1;
    }
    /* one rule per code-point set, shared by every state using it */
    int32_t *set_rule = malloc((a.n_sets + 1) * sizeof *set_rule);
    for (size_t i = 0; set_rule && i < a.n_sets; i++) set_rule[i] = -1;
    /* product with the length counter: state (q, k), k in [0, K] where K
     * is max_len, or min_len when unbounded (k then saturates) */
    int K = max_len >= 0 ? max_len : min_len;
    if ((long)ns * (K + 1) > MAX_PRODUCT) {
        free(oe_to), free(oe_set), free(out0), free(fin), free(set_rule);
        nfa_free(&a);
        gr_fail(b, HEARTH_ERR_RANGE, "%s: pattern and length limits %d..%d need more than %d automaton states", where,
                min_len, max_len, MAX_PRODUCT);
        return -1;
    }
    int32_t *rule_of = malloc(((size_t)ns * (size_t)(K + 1) + 1) * sizeof *rule_of);
    int *queue = malloc(((size_t)ns * (size_t)(K + 1) + 1) * sizeof *queue);
    if (!set_rule || !rule_of || !queue) {
        free(oe_to), free(oe_set), free(out0), free(fin), free(set_rule), free(rule_of), free(queue);
        nfa_free(&a);
        gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
        return -1;
    }
    for (size_t i = 0; i < (size_t)ns * (size_t)(K + 1); i++) rule_of[i] = -1;
    size_t qh = 0, qt = 0;
    rule_of[(size_t)s0 * (size_t)(K + 1)] = gr_rule_new(b);
    queue[qt++] = s0 * (K + 1);
    int32_t start = rule_of[(size_t)s0 * (size_t)(K + 1)];
    while (qh < qt && !b->err) {
        int id = queue[qh++];
        int q = id / (K + 1), k = id % (K + 1);
        int32_t r = rule_of[id];
        if (fin[q] && k >= min_len) gr_alt(b, r, NULL, 0);
        int nk = k + 1;
        if (max_len >= 0 && nk > max_len) continue;
        if (max_len < 0 && nk > K) nk = K;
        for (int e = out0[q]; e < out0[q + 1]; e++) {
            int to = oe_to[e], set = oe_set[e];
            int nid = to * (K + 1) + nk;
            if (rule_of[nid] < 0) {
                rule_of[nid] = gr_rule_new(b);
                queue[qt++] = nid;
            }
            if (set_rule[set] < 0) set_rule[set] = cp_rule(b, &a.sets[set], enc);
            int32_t seq[2] = {GR_REF(set_rule[set]), GR_REF(rule_of[nid])};
            gr_alt(b, r, seq, 2);
        }
    }
    free(oe_to), free(oe_set), free(out0), free(fin), free(set_rule), free(rule_of), free(queue);
    nfa_free(&a);
    return b->err ? -1 : start;
}

int32_t gr_cp_range_rule(gr_builder *b, const uint32_t *ranges, size_t n_ranges, int enc) {
    cpset s = {0};
    for (size_t i = 0; i < n_ranges; i++) cs_add(&s, ranges[2 * i], ranges[2 * i + 1]);
    cs_norm(&s);
    int32_t r = cp_rule(b, &s, enc);
    free(s.r);
    return r;
}
