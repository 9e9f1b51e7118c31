/*
 * grammar_gbnf.c — GBNF grammars as llama.cpp writes them:
 *
 *   root   ::= object
 *   object ::= "{" ws ( pair ( "," ws pair )* )? "}"   # a comment
 *   pair   ::= [a-z]+ ":" ws value
 *   ws     ::= [ \t\n]*
 *
 * Literals "..." (escapes \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH), classes
 * [a-z] [^"\\] (code points, any UTF-8), '.', rule names, ( ), |, and the
 * repetitions * + ? {m} {m,} {m,n}. A rule ends at the end of its line
 * unless inside parentheses (or the next line starts with '|').
 */
#include "grammar_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPEAT 1000

typedef struct gp {
    const char *p, *end, *src;
    gr_builder *b;
    int depth;
} gp;

static int line_of(const gp *g) {
    int n = 1;
    for (const char *q = g->src; q < g->p; q++) n += *q == '\n';
    return n;
}

static int32_t gfail(gp *g, const char *what) {
    gr_fail(g->b, HEARTH_ERR_FORMAT, "grammar line %d: %s", line_of(g), what);
    return -1;
}

static void skip_space(gp *g, bool newlines) {
    while (g->p < g->end) {
        char c = *g->p;
        if (c == '#') {
            while (g->p < g->end && *g->p != '\n') g->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
            g->p++;
        } else if (c == '\n' && !newlines) {
            /* a following line that starts with '|' continues the rule */
            const char *q = g->p + 1;
            while (q < g->end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
            if (q < g->end && *q == '|') g->p = q;
            else return;
        } else {
            return;
        }
    }
}

static bool is_name(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

static int32_t rule_named(gp *g, const char *s, size_t n, bool define) {
    gr_builder *b = g->b;
    for (size_t r = 0; r < b->n_rules; r++)
        if (b->rules[r].name && strlen(b->rules[r].name) == n && !memcmp(b->rules[r].name, s, n)) {
            if (define && b->rules[r].n_alts) return -2;   /* defined twice */
            return (int32_t)r;
        }
    int32_t r = gr_rule_new(b);
    char *nm = malloc(n + 1);
    if (nm) memcpy(nm, s, n), nm[n] = 0;
    b->rules[r].name = nm;
    return r;
}

static int hexv(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* one (possibly escaped) code point of a literal or class */
static bool read_char(gp *g, uint32_t *cp) {
    if (g->p >= g->end) return false;
    const unsigned char *s = (const unsigned char *)g->p;
    if (*s == '\\') {
        if (g->p + 1 >= g->end) return false;
        char e = (char)s[1];
        g->p += 2;
        int n = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (n) {
            uint32_t v = 0;
            for (int i = 0; i < n; i++) {
                if (g->p >= g->end || hexv(*g->p) < 0) return false;
                v = v * 16 + (uint32_t)hexv(*g->p++);
            }
            *cp = v;
            return v <= 0x10FFFF;
        }
        switch (e) {
        case 'n': *cp = '\n'; return true;
        case 'r': *cp = '\r'; return true;
        case 't': *cp = '\t'; return true;
        case '0': *cp = 0; return true;
        default: *cp = (unsigned char)e; return true;
        }
    }
    uint32_t c = s[0];
    int k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (g->p + k > g->end) return false;
    if (k == 2) c = ((c & 0x1F) << 6) | (s[1] & 0x3F);
    if (k == 3) c = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (k == 4) c = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    g->p += k;
    *cp = c;
    return true;
}

static void put_utf8(gr_builder *b, gr_seq *q, uint32_t c) {
    char o[4];
    int n;
    if (c < 0x80) o[0] = (char)c, n = 1;
    else if (c < 0x800) o[0] = (char)(0xC0 | (c >> 6)), o[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    else if (c < 0x10000) o[0] = (char)(0xE0 | (c >> 12)), o[1] = (char)(0x80 | ((c >> 6) & 0x3F)), o[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    else o[0] = (char)(0xF0 | (c >> 18)), o[1] = (char)(0x80 | ((c >> 12) & 0x3F)), o[2] = (char)(0x80 | ((c >> 6) & 0x3F)), o[3] = (char)(0x80 | (c & 0x3F)), n = 4;
    gr_lit(b, q, o, (size_t)n);
}

static int32_t parse_alts(gp *g, bool nested);

/* one element (before any repetition); returns an element value for the sequence */
static bool parse_primary(gp *g, gr_seq *out) {
    gr_builder *b = g->b;
    char c = *g->p;
    if (c == '"') {
        g->p++;
        int32_t r = gr_rule_new(b);
        gr_seq q = {0};
        while (g->p < g->end && *g->p != '"') {
            uint32_t cp;
            if (*g->p == '\n' || !read_char(g, &cp)) { gr_seq_free(&q); return gfail(g, "unterminated or bad literal"), false; }
            put_utf8(b, &q, cp);
        }
        if (g->p >= g->end) { gr_seq_free(&q); return gfail(g, "unterminated literal"), false; }
        g->p++;
        gr_alt_seq(b, r, &q);
        gr_seq_free(&q);
        return gr_seq_push(out, GR_REF(r));
    }
    if (c == '[') {
        g->p++;
        bool neg = false;
        if (g->p < g->end && *g->p == '^') neg = true, g->p++;
        uint32_t *rg = NULL;
        size_t n = 0, cap = 0;
        while (g->p < g->end && *g->p != ']') {
            uint32_t lo, hi;
            if (!read_char(g, &lo)) { free(rg); return gfail(g, "bad character class"), false; }
            hi = lo;
            if (g->p + 1 < g->end && *g->p == '-' && g->p[1] != ']') {
                g->p++;
                if (!read_char(g, &hi) || hi < lo) { free(rg); return gfail(g, "bad range in character class"), false; }
            }
            if (!HEARTH_GROW(rg, cap, 2 * n + 2)) { free(rg); return gfail(g, "out of memory"), false; }
            rg[2 * n] = lo, rg[2 * n + 1] = hi, n++;
        }
        if (g->p >= g->end) { free(rg); return gfail(g, "unterminated character class"), false; }
        g->p++;
        if (neg) {
            /* complement over all code points */
            for (size_t i = 1; i < n; i++)   /* insertion sort by lo */
                for (size_t j = i; j > 0 && rg[2 * j] < rg[2 * j - 2]; j--) {
                    uint32_t t0 = rg[2 * j], t1 = rg[2 * j + 1];
                    rg[2 * j] = rg[2 * j - 2], rg[2 * j + 1] = rg[2 * j - 1];
                    rg[2 * j - 2] = t0, rg[2 * j - 1] = t1;
                }
            uint32_t *cm = malloc((2 * n + 2) * sizeof *cm);
            if (!cm) { free(rg); return gfail(g, "out of memory"), false; }
            size_t m = 0;
            uint32_t next = 0;
            for (size_t i = 0; i < n; i++) {
                if (rg[2 * i] > next) cm[2 * m] = next, cm[2 * m + 1] = rg[2 * i] - 1, m++;
                if (rg[2 * i + 1] + 1 > next) next = rg[2 * i + 1] + 1;
            }
            if (next <= 0x10FFFF) cm[2 * m] = next, cm[2 * m + 1] = 0x10FFFF, m++;
            free(rg);
            rg = cm, n = m;
        }
        int32_t r = gr_cp_range_rule(b, rg, n, RX_RAW);
        free(rg);
        return gr_seq_push(out, GR_REF(r));
    }
    if (c == '.') {
        g->p++;
        uint32_t all[2] = {0, 0x10FFFF};
        return gr_seq_push(out, GR_REF(gr_cp_range_rule(b, all, 1, RX_RAW)));
    }
    if (c == '(') {
        g->p++;
        if (++g->depth > 100) return gfail(g, "parentheses nested too deeply"), false;
        int32_t r = parse_alts(g, true);
        g->depth--;
        if (r < 0) return false;
        skip_space(g, true);
        if (g->p >= g->end || *g->p != ')') return gfail(g, "missing ')'"), false;
        g->p++;
        return gr_seq_push(out, GR_REF(r));
    }
    if (is_name(c)) {
        const char *s = g->p;
        while (g->p < g->end && is_name(*g->p)) g->p++;
        int32_t r = rule_named(g, s, (size_t)(g->p - s), false);
        return gr_seq_push(out, GR_REF(r));
    }
    return gfail(g, "unexpected character"), false;
}

/* X{mn,mx} as rules (mx < 0: unbounded) */
static int32_t repeat(gp *g, int32_t x, int mn, int mx) {
    gr_builder *b = g->b;
    int32_t r = gr_rule_new(b);
    gr_seq q = {0};
    for (int i = 0; i < mn; i++) gr_seq_push(&q, x);
    if (mx < 0) {
        int32_t loop = gr_rule_new(b);
        int32_t e[2] = {x, GR_REF(loop)};
        gr_alt(b, loop, e, 2);
        gr_alt(b, loop, NULL, 0);
        gr_seq_push(&q, GR_REF(loop));
    } else if (mx > mn) {
        /* nested optionals: (X (X (...)?)?)? */
        int32_t tail = -1;
        for (int i = mn; i < mx; i++) {
            int32_t o = gr_rule_new(b);
            if (tail >= 0) {
                int32_t e[2] = {x, GR_REF(tail)};
                gr_alt(b, o, e, 2);
            } else {
                gr_alt(b, o, &x, 1);
            }
            gr_alt(b, o, NULL, 0);
            tail = o;
        }
        gr_seq_push(&q, GR_REF(tail));
    }
    gr_alt_seq(b, r, &q);
    gr_seq_free(&q);
    return r;
}

static int32_t parse_seq(gp *g, bool nested, int32_t into) {
    gr_seq q = {0};
    for (;;) {
        skip_space(g, nested);
        if (g->p >= g->end || *g->p == '|' || *g->p == ')' || *g->p == '\n') break;
        size_t before = q.n;
        if (!parse_primary(g, &q)) {
            gr_seq_free(&q);
            return -1;
        }
        /* repetitions apply to the last element */
        while (g->p < g->end && (*g->p == '*' || *g->p == '+' || *g->p == '?' || *g->p == '{')) {
            int mn, mx;
            char c = *g->p++;
            if (c == '*') mn = 0, mx = -1;
            else if (c == '+') mn = 1, mx = -1;
            else if (c == '?') mn = 0, mx = 1;
            else {
                /* {m}, {m,}, {m,n}: digits read within the text (it need not end with a NUL) */
                long a = 0, z;
                const char *d0 = g->p;
                while (g->p < g->end && *g->p >= '0' && *g->p <= '9' && a <= MAX_REPEAT) a = a * 10 + (*g->p++ - '0');
                if (g->p == d0) { gr_seq_free(&q); return gfail(g, "bad {m,n}"); }
                z = a;
                if (g->p < g->end && *g->p == ',') {
                    g->p++;
                    if (g->p < g->end && *g->p == '}') z = -1;
                    else {
                        const char *d1 = g->p;
                        z = 0;
                        while (g->p < g->end && *g->p >= '0' && *g->p <= '9' && z <= MAX_REPEAT) z = z * 10 + (*g->p++ - '0');
                        if (g->p == d1) { gr_seq_free(&q); return gfail(g, "bad {m,n}"); }
                    }
                }
                if (g->p >= g->end || *g->p != '}' || a > MAX_REPEAT || z > MAX_REPEAT || (z >= 0 && z < a)) {
                    gr_seq_free(&q);
                    return gfail(g, "bad or too large {m,n}");
                }
                g->p++;
                mn = (int)a, mx = (int)z;
            }
            int32_t r = repeat(g, q.v[before], mn, mx);
            q.v[before] = GR_REF(r);
        }
    }
    gr_alt_seq(g->b, into, &q);
    gr_seq_free(&q);
    return g->b->err ? -1 : into;
}

static int32_t parse_alts(gp *g, bool nested) {
    int32_t r = gr_rule_new(g->b);
    if (parse_seq(g, nested, r) < 0) return -1;
    for (;;) {
        skip_space(g, nested);
        if (g->p >= g->end || *g->p != '|') break;
        g->p++;
        if (parse_seq(g, nested, r) < 0) return -1;
    }
    return r;
}

hearth_status hearth_grammar_from_gbnf(const char *text, size_t len, const char *root, hearth_grammar **out) {
    *out = NULL;
    gr_builder b = {0};
    gp g = {text, text + len, text, &b, 0};
    if (!root) root = "root";
    while (!b.err) {
        skip_space(&g, true);
        if (g.p >= g.end) break;
        const char *s = g.p;
        while (g.p < g.end && is_name(*g.p)) g.p++;
        if (g.p == s) { gfail(&g, "expected a rule name"); break; }
        size_t n = (size_t)(g.p - s);
        skip_space(&g, false);
        if (g.end - g.p < 3 || memcmp(g.p, "::=", 3)) { gfail(&g, "expected '::='"); break; }
        g.p += 3;
        int32_t r = rule_named(&g, s, n, true);
        if (r == -2) { gfail(&g, "rule defined twice"); break; }
        int32_t body = parse_alts(&g, false);
        if (body < 0) break;
        int32_t e = GR_REF(body);
        gr_alt(&b, r, &e, 1);
        if (g.p < g.end && *g.p != '\n' && !b.err) { gfail(&g, "unexpected text after the rule"); break; }
    }
    int32_t start = -1;
    for (size_t r = 0; !b.err && r < b.n_rules; r++) {
        if (!b.rules[r].name) continue;
        if (!b.rules[r].n_alts) {
            gr_fail(&b, HEARTH_ERR_FORMAT, "grammar: rule '%s' is used but not defined", b.rules[r].name);
            break;
        }
        if (!strcmp(b.rules[r].name, root)) start = (int32_t)r;
    }
    if (!b.err && start < 0) gr_fail(&b, HEARTH_ERR_FORMAT, "grammar: no rule '%s' (the start rule)", root);
    return gr_finish(&b, start < 0 ? 0 : start, out);
}
