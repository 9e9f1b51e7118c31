/*
 * jinja_builtins.c — what a template can call: Jinja2's filters and tests,
 * the globals (range, namespace, dict, joiner, cycler) plus transformers'
 * raise_exception and strftime_now, and the safe methods of str, dict and
 * list (what ImmutableSandboxedEnvironment allows: no mutating methods).
 */
#include "jinja_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- unicode helpers (core/utf8.h: generated tables, no locale) -------------------- */
/* Python's str.isspace() */
static bool u_space(uint32_t cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

static uint32_t u_upper(uint32_t cp) { return hearth_uc_toupper(cp); }
static uint32_t u_lower(uint32_t cp) { return hearth_uc_tolower(cp); }
static uint32_t u_title(uint32_t cp) { return hearth_uc_totitle(cp); }
/* Python's str.isalpha(): general category L */
static bool u_alpha(uint32_t cp) { return (hearth_uc_flags(cp) & HEARTH_UC_LETTER) != 0; }
static bool u_cased(uint32_t cp) { return u_upper(cp) != cp || u_lower(cp) != cp; }

/* mode: 0 lower, 1 upper, 2 Python capitalize (first title case, rest lower),
 * 3 Python title (title case after an uncased character, lower otherwise) */
static jval case_map(jctx *c, jval s, int mode) {
    jbuf b = {0};
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t len;
        uint32_t cp = hearth_utf8_decode_lenient(s.u.s.p + i, s.u.s.n - i, &len);
        uint32_t o;
        if (mode == 0) o = u_lower(cp);
        else if (mode == 1) o = u_upper(cp);
        else if (mode == 2) o = first ? u_title(cp) : u_lower(cp);
        else {
            o = prev_cased ? u_lower(cp) : u_title(cp);
            prev_cased = u_cased(cp);
        }
        first = false;
        char tmp[4];
        jb_put(c, &b, tmp, hearth_utf8_encode(o, tmp));
        i += len;
    }
    jstep(c, (int64_t)s.u.s.n / 16);
    return jb_val(&b);
}

/* ---- argument helpers ---------------------------------------------------------------- */
typedef struct fargs {
    jctx *c;
    const char *fname;
    jval *pos;
    int npos;
    const char **kwn;
    jval *kwv;
    int nkw;
} fargs;

/* argument i (positional) or named `name`; def when absent */
static jval arg(fargs *a, int i, const char *name, jval def) {
    if (i >= 0 && i < a->npos) return a->pos[i];
    for (int k = 0; k < a->nkw; k++)
        if (name && !strcmp(a->kwn[k], name)) return a->kwv[k];
    return def;
}
static bool has_arg(fargs *a, int i, const char *name) {
    if (i >= 0 && i < a->npos) return true;
    for (int k = 0; k < a->nkw; k++)
        if (name && !strcmp(a->kwn[k], name)) return true;
    return false;
}
static jval need_str(fargs *a, jval v, const char *what) {
    if (v.t != JV_STR) {
        jcheck_defined(a->c, v);
        jfail(a->c, HEARTH_ERR_FORMAT, "%s: %s must be a string, not '%s'", a->fname, what, jv_type_name(v));
    }
    return v;
}
static int64_t need_int(fargs *a, jval v, const char *what) {
    if (v.t == JV_INT) return v.u.i;
    if (v.t == JV_BOOL) return v.u.b;
    jcheck_defined(a->c, v);
    jfail(a->c, HEARTH_ERR_FORMAT, "%s: %s must be an integer, not '%s'", a->fname, what, jv_type_name(v));
}

/* ---- string operations shared by filters and methods ------------------------------------ */
static bool in_chars(uint32_t cp, jval chars) {
    for (size_t i = 0; i < chars.u.s.n;) {
        size_t l;
        if (hearth_utf8_decode_lenient(chars.u.s.p + i, chars.u.s.n - i, &l) == cp) return true;
        i += l;
    }
    return false;
}

/* which: 1 left, 2 right, 3 both; chars NONE/UNDEF: whitespace */
static jval str_strip(jval s, int which, jval chars) {
    const char *p = s.u.s.p;
    size_t a = 0, b = s.u.s.n;
    bool ws = chars.t != JV_STR;
    if (which & 1)
        while (a < b) {
            size_t l;
            uint32_t cp = hearth_utf8_decode_lenient(p + a, b - a, &l);
            if (ws ? !u_space(cp) : !in_chars(cp, chars)) break;
            a += l;
        }
    if (which & 2)
        while (b > a) {
            size_t st = b - 1;
            while (st > a && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
            size_t l;
            uint32_t cp = hearth_utf8_decode_lenient(p + st, b - st, &l);
            if (ws ? !u_space(cp) : !in_chars(cp, chars)) break;
            b = st;
        }
    jval r = jv_strn(p + a, b - a);
    return r;
}

static jval str_replace(jctx *c, jval s, jval old, jval new_, int64_t count) {
    jbuf b = {0};
    if (old.u.s.n == 0) {   /* Python inserts new between every character */
        int64_t k = 0;
        size_t i = 0;
        while (i <= s.u.s.n) {
            if (count < 0 || k < count) { jb_put(c, &b, new_.u.s.p, new_.u.s.n); k++; }
            if (i == s.u.s.n) break;
            size_t l;
            hearth_utf8_decode_lenient(s.u.s.p + i, s.u.s.n - i, &l);
            jb_put(c, &b, s.u.s.p + i, l);
            i += l;
        }
        return jb_val(&b);
    }
    size_t i = 0;
    int64_t k = 0;
    while (i < s.u.s.n) {
        const char *hit = (count < 0 || k < count) ? memmem(s.u.s.p + i, s.u.s.n - i, old.u.s.p, old.u.s.n) : NULL;
        if (!hit) break;
        size_t at = (size_t)(hit - s.u.s.p);
        jb_put(c, &b, s.u.s.p + i, at - i);
        jb_put(c, &b, new_.u.s.p, new_.u.s.n);
        i = at + old.u.s.n;
        k++;
    }
    jb_put(c, &b, s.u.s.p + i, s.u.s.n - i);
    jstep(c, (int64_t)b.len / 16);
    return jb_val(&b);
}

/* Python str.split / rsplit */
static jval str_split(jctx *c, jval s, jval sep, int64_t maxsplit, bool right) {
    jval out = jv_list(c, 0);
    const char *p = s.u.s.p;
    size_t n = s.u.s.n;
    if (sep.t != JV_STR) {
        /* whitespace runs; no empty strings */
        jval parts = jv_list(c, 0);
        if (!right) {
            size_t i = 0;
            int64_t k = 0;
            for (;;) {
                while (i < n) { size_t l; uint32_t cp = hearth_utf8_decode_lenient(p + i, n - i, &l); if (!u_space(cp)) break; i += l; }
                if (i >= n) break;
                if (maxsplit >= 0 && k >= maxsplit) {
                    jval rest = str_strip(jv_strn(p + i, n - i), 2, jv_none());
                    jl_push(c, parts.u.l, rest);
                    break;
                }
                size_t st = i;
                while (i < n) { size_t l; uint32_t cp = hearth_utf8_decode_lenient(p + i, n - i, &l); if (u_space(cp)) break; i += l; }
                jl_push(c, parts.u.l, jv_strn(p + st, i - st));
                k++;
            }
            return parts;
        }
        /* rsplit on whitespace: scan from the right */
        size_t e = n;
        int64_t k = 0;
        jval rev = jv_list(c, 0);
        for (;;) {
            while (e > 0) {
                size_t st = e - 1;
                while (st > 0 && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
                size_t l;
                if (!u_space(hearth_utf8_decode_lenient(p + st, e - st, &l))) break;
                e = st;
            }
            if (e == 0) break;
            if (maxsplit >= 0 && k >= maxsplit) {
                jl_push(c, rev.u.l, str_strip(jv_strn(p, e), 1, jv_none()));
                break;
            }
            size_t b = e;
            while (b > 0) {
                size_t st = b - 1;
                while (st > 0 && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
                size_t l;
                if (u_space(hearth_utf8_decode_lenient(p + st, b - st, &l))) break;
                b = st;
            }
            jl_push(c, rev.u.l, jv_strn(p + b, e - b));
            e = b;
            k++;
        }
        for (size_t i = rev.u.l->n; i > 0; i--) jl_push(c, out.u.l, rev.u.l->v[i - 1]);
        return out;
    }
    if (sep.u.s.n == 0) jfail(c, HEARTH_ERR_FORMAT, "split: empty separator");
    if (!right) {
        size_t i = 0;
        int64_t k = 0;
        for (;;) {
            const char *hit = (maxsplit < 0 || k < maxsplit) ? memmem(p + i, n - i, sep.u.s.p, sep.u.s.n) : NULL;
            if (!hit) { jl_push(c, out.u.l, jv_strn(p + i, n - i)); break; }
            size_t at = (size_t)(hit - p);
            jl_push(c, out.u.l, jv_strn(p + i, at - i));
            i = at + sep.u.s.n;
            k++;
        }
        jstep(c, (int64_t)out.u.l->n);
        return out;
    }
    jval rev = jv_list(c, 0);
    size_t e = n;
    int64_t k = 0;
    for (;;) {
        size_t found = SIZE_MAX;
        if (maxsplit < 0 || k < maxsplit)
            for (size_t j = e; j >= sep.u.s.n; j--)
                if (memcmp(p + j - sep.u.s.n, sep.u.s.p, sep.u.s.n) == 0) { found = j - sep.u.s.n; break; }
        if (found == SIZE_MAX) { jl_push(c, rev.u.l, jv_strn(p, e)); break; }
        jl_push(c, rev.u.l, jv_strn(p + found + sep.u.s.n, e - found - sep.u.s.n));
        e = found;
        k++;
    }
    for (size_t i = rev.u.l->n; i > 0; i--) jl_push(c, out.u.l, rev.u.l->v[i - 1]);
    jstep(c, (int64_t)out.u.l->n);
    return out;
}

/* Python str.splitlines() (without keepends) */
static jval str_splitlines(jctx *c, jval s) {
    jval out = jv_list(c, 0);
    const char *p = s.u.s.p;
    size_t n = s.u.s.n, st = 0, i = 0;
    while (i < n) {
        size_t l;
        uint32_t cp = hearth_utf8_decode_lenient(p + i, n - i, &l);
        bool brk = cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || cp == 0x1c || cp == 0x1d || cp == 0x1e ||
                   cp == 0x85 || cp == 0x2028 || cp == 0x2029;
        if (brk) {
            jl_push(c, out.u.l, jv_strn(p + st, i - st));
            if (cp == '\r' && i + 1 < n && p[i + 1] == '\n') l = 2;
            i += l;
            st = i;
        } else i += l;
    }
    if (st < n) jl_push(c, out.u.l, jv_strn(p + st, n - st));
    return out;
}

/* str.find / rfind / count / index on code points */
static int64_t str_find(jval s, jval sub, bool right) {
    const char *p = s.u.s.p;
    size_t n = s.u.s.n, m = sub.u.s.n;
    if (m > n) return -1;
    size_t at = SIZE_MAX;
    if (!right) {
        const char *h = m ? memmem(p, n, sub.u.s.p, m) : p;
        if (h) at = (size_t)(h - p);
    } else {
        for (size_t j = n - m + 1; j > 0; j--)
            if (memcmp(p + j - 1, sub.u.s.p, m) == 0) { at = j - 1; break; }
    }
    return at == SIZE_MAX ? -1 : (int64_t)utf8_len(p, at);
}

/* ---- format: Python's str.format (auto / numbered / named fields) and `%` ----------------- */
static jval py_format(jctx *c, jval fmt, jval *args, int nargs, const char **kwn, jval *kwv, int nkw) {
    jbuf b = {0};
    const char *p = fmt.u.s.p;
    size_t n = fmt.u.s.n;
    int auto_i = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '{' && i + 1 < n && p[i + 1] == '{') { jb_put(c, &b, "{", 1); i++; continue; }
        if (p[i] == '}' && i + 1 < n && p[i + 1] == '}') { jb_put(c, &b, "}", 1); i++; continue; }
        if (p[i] != '{') { jb_put(c, &b, p + i, 1); continue; }
        size_t j = i + 1;
        while (j < n && p[j] != '}') j++;
        if (j >= n) jfail(c, HEARTH_ERR_FORMAT, "format: single '{' encountered in format string");
        const char *f = p + i + 1;
        size_t fl = j - i - 1;
        for (size_t k = 0; k < fl; k++)
            if (f[k] == ':' || f[k] == '!' || f[k] == '.' || f[k] == '[') {
                jfail(c, HEARTH_ERR_UNSUPPORTED, "format: field specs like '{%.*s}' are not supported", (int)fl, f);
            }
        jval v;
        if (fl == 0) {
            if (auto_i >= nargs) jfail(c, HEARTH_ERR_FORMAT, "format: Replacement index %d out of range", auto_i);
            v = args[auto_i++];
        } else if (f[0] >= '0' && f[0] <= '9') {
            int idx = atoi(f);
            if (idx >= nargs) jfail(c, HEARTH_ERR_FORMAT, "format: Replacement index %d out of range", idx);
            v = args[idx];
        } else {
            int k;
            for (k = 0; k < nkw; k++)
                if (strlen(kwn[k]) == fl && !memcmp(kwn[k], f, fl)) break;
            if (k == nkw) jfail(c, HEARTH_ERR_FORMAT, "format: missing key '%.*s'", (int)fl, f);
            v = kwv[k];
        }
        jv_str_to(c, &b, v);
        i = j;
    }
    return jb_val(&b);
}

static jval percent_format(jctx *c, jval fmt, jval argv) {
    jval args = argv.t == JV_LIST && argv.tuple ? argv : jv_undef();
    size_t ai = 0;
    jbuf b = {0};
    const char *p = fmt.u.s.p;
    size_t n = fmt.u.s.n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') { jb_put(c, &b, p + i, 1); continue; }
        if (i + 1 >= n) jfail(c, HEARTH_ERR_FORMAT, "format: incomplete format");
        char k = p[++i];
        if (k == '%') { jb_put(c, &b, "%", 1); continue; }
        jval v;
        if (args.t == JV_LIST) {
            if (ai >= args.u.l->n) jfail(c, HEARTH_ERR_FORMAT, "format: not enough arguments for format string");
            v = args.u.l->v[ai++];
        } else {
            if (ai++) jfail(c, HEARTH_ERR_FORMAT, "format: not enough arguments for format string");
            v = argv;
        }
        if (k == 's') jv_str_to(c, &b, v);
        else if (k == 'r') jv_repr_to(c, &b, v);
        else if (k == 'd' || k == 'i') {
            if (v.t == JV_INT || v.t == JV_BOOL) jb_printf(c, &b, "%lld", (long long)(v.t == JV_INT ? v.u.i : v.u.b));
            else if (v.t == JV_FLOAT) jb_printf(c, &b, "%lld", (long long)v.u.f);
            else jfail(c, HEARTH_ERR_FORMAT, "format: %%d format: a real number is required, not %s", jv_type_name(v));
        } else jfail(c, HEARTH_ERR_UNSUPPORTED, "format: conversion '%%%c' is not supported", k);
    }
    return jb_val(&b);
}

/* ---- tests ------------------------------------------------------------------------------ */
static const char *const TESTS[] = {
    "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
    "mapping", "iterable", "sequence", "callable", "sameas", "escaped", "odd", "even", "divisibleby",
    "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=",
    "in", "lower", "upper", "filter", "test", NULL,
};

bool jtest_exists(const char *name) {
    for (int i = 0; TESTS[i]; i++)
        if (!strcmp(TESTS[i], name)) return true;
    return false;
}

bool japply_test(jctx *c, const char *name, jval v, jval *args, int nargs) {
    jval a0 = nargs > 0 ? args[0] : jv_undef();
#define IS(s) (!strcmp(name, s))
    if (IS("defined")) return v.t != JV_UNDEF;
    if (IS("undefined")) return v.t == JV_UNDEF;
    if (IS("none")) return v.t == JV_NONE;
    if (IS("boolean")) return v.t == JV_BOOL;
    if (IS("false")) return v.t == JV_BOOL && !v.u.b;
    if (IS("true")) return v.t == JV_BOOL && v.u.b;
    if (IS("integer")) return v.t == JV_INT;
    if (IS("float")) return v.t == JV_FLOAT;
    if (IS("number")) return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL;
    if (IS("string")) return v.t == JV_STR;
    if (IS("mapping")) return v.t == JV_DICT;
    if (IS("iterable")) return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF || v.t == JV_LOOP;
    if (IS("sequence")) return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
    if (IS("callable")) return v.t == JV_FUNC || v.t == JV_MACRO || v.t == JV_METHOD || v.t == JV_UNDEF;
    if (IS("escaped")) return v.t == JV_STR && v.tuple;
    if (IS("sameas")) {
        if (v.t != a0.t) return false;
        if (v.t == JV_NONE || v.t == JV_UNDEF) return true;
        if (v.t == JV_BOOL) return v.u.b == a0.u.b;
        if (v.t == JV_INT) return v.u.i == a0.u.i && v.u.i >= -5 && v.u.i <= 256;   /* CPython's small ints */
        if (v.t == JV_LIST) return v.u.l == a0.u.l;
        if (v.t == JV_DICT || v.t == JV_NS) return v.u.d == a0.u.d;
        return false;
    }
    if (IS("odd") || IS("even") || IS("divisibleby")) {
        if (v.t != JV_INT && v.t != JV_BOOL) {
            jcheck_defined(c, v);
            jfail(c, HEARTH_ERR_FORMAT, "test '%s' needs an integer, got '%s'", name, jv_type_name(v));
        }
        int64_t x = v.t == JV_INT ? v.u.i : v.u.b;
        if (IS("odd")) return (x % 2) != 0;
        if (IS("even")) return (x % 2) == 0;
        if (a0.t != JV_INT || a0.u.i == 0) jfail(c, HEARTH_ERR_FORMAT, "divisibleby needs a non-zero integer");
        return (x % a0.u.i) == 0;
    }
    if (IS("eq") || IS("equalto") || IS("==")) return jv_equal(v, a0);
    if (IS("ne") || IS("!=")) return !jv_equal(v, a0);
    if (IS("lt") || IS("lessthan") || IS("<")) return jv_compare(c, v, a0) < 0;
    if (IS("le") || IS("<=")) return jv_compare(c, v, a0) <= 0;
    if (IS("gt") || IS("greaterthan") || IS(">")) return jv_compare(c, v, a0) > 0;
    if (IS("ge") || IS(">=")) return jv_compare(c, v, a0) >= 0;
    if (IS("in")) {
        jval r = jv_list(c, 1);
        jl_push(c, r.u.l, v);
        /* `v in a0` */
        if (a0.t == JV_STR && v.t == JV_STR)
            return v.u.s.n == 0 || (v.u.s.n <= a0.u.s.n && memmem(a0.u.s.p, a0.u.s.n, v.u.s.p, v.u.s.n));
        if (a0.t == JV_LIST) {
            for (size_t i = 0; i < a0.u.l->n; i++)
                if (jv_equal(a0.u.l->v[i], v)) return true;
            return false;
        }
        if (a0.t == JV_DICT) { jval o; return jd_get(a0.u.d, v, &o); }
        jcheck_defined(c, a0);
        jfail(c, HEARTH_ERR_FORMAT, "test 'in': argument of type '%s' is not iterable", jv_type_name(a0));
    }
    if (IS("lower") || IS("upper")) {
        if (v.t != JV_STR) return false;
        jval m = case_map(c, v, IS("lower") ? 0 : 1);
        bool any_cased = false;
        for (size_t i = 0; i < v.u.s.n;) {
            size_t l;
            if (u_cased(hearth_utf8_decode_lenient(v.u.s.p + i, v.u.s.n - i, &l))) any_cased = true;
            i += l;
        }
        return any_cased && jv_equal(m, v);
    }
    if ((IS("filter") || IS("test")) && (v.t == JV_LIST || v.t == JV_DICT) && !v.tuple)   /* `x in dict` in Jinja2 */
        jfail(c, HEARTH_ERR_FORMAT, "test '%s': unhashable type: '%s'", name, jv_type_name(v));
    if (IS("filter")) return v.t == JV_STR && jfilter_exists(jv_tostr(c, v).u.s.p);
    if (IS("test")) return v.t == JV_STR && jtest_exists(jv_tostr(c, v).u.s.p);
#undef IS
    jfail(c, HEARTH_ERR_FORMAT, "no test named '%s'", name);
}

/* ---- filters ------------------------------------------------------------------------------ */
static const char *const FILTERS[] = {
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
    "first", "float", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map",
    "max", "min", "pprint", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
    "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount", NULL,
};

bool jfilter_exists(const char *name) {
    for (int i = 0; FILTERS[i]; i++)
        if (!strcmp(FILTERS[i], name)) return true;
    return false;
}

static size_t seq_len(jctx *c, jval v, const char *fname) {
    switch (v.t) {
    case JV_STR: return utf8_len(v.u.s.p, v.u.s.n);
    case JV_LIST: return v.u.l->n;
    case JV_DICT: case JV_NS: return v.u.d->n;
    case JV_UNDEF: return 0;
    default: jfail(c, HEARTH_ERR_FORMAT, "%s: object of type '%s' has no len()", fname, jv_type_name(v));
    }
}

/* attribute path "a.b.0" on item (Jinja's environment.getitem per part) */
static jval attr_path(jctx *c, jval item, jval path) {
    if (path.t == JV_INT) return jgetitem(c, item, path);
    if (path.t != JV_STR) return item;
    const char *p = path.u.s.p;
    size_t n = path.u.s.n, i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '.') j++;
        bool digits = j > i;
        for (size_t k = i; k < j; k++) digits = digits && p[k] >= '0' && p[k] <= '9';
        if (digits) item = jgetitem(c, item, jv_int(strtoll(p + i, NULL, 10)));
        else item = jgetitem(c, item, jv_strn(p + i, j - i));
        if (item.t == JV_UNDEF) return item;
        i = j + 1;
    }
    return item;
}

static jval lower_if_str(jctx *c, jval v, bool case_sensitive) {
    return (!case_sensitive && v.t == JV_STR) ? case_map(c, v, 0) : v;
}

/* stable merge sort of keys[] with payload vals[] */
static void sort_pairs(jctx *c, jval *keys, jval *vals, size_t n, bool reverse) {
    if (n < 2) return;
    jval *tk = jarena_alloc(&c->ar, n * sizeof(jval)), *tv = jarena_alloc(&c->ar, n * sizeof(jval));
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                int cmp = jv_compare(c, keys[j], keys[i]);
                bool take_right = reverse ? cmp > 0 : cmp < 0;
                if (take_right) { tk[o] = keys[j]; tv[o++] = vals[j++]; }
                else { tk[o] = keys[i]; tv[o++] = vals[i++]; }
            }
            while (i < mid) { tk[o] = keys[i]; tv[o++] = vals[i++]; }
            while (j < hi) { tk[o] = keys[j]; tv[o++] = vals[j++]; }
        }
        memcpy(keys, tk, n * sizeof(jval));
        memcpy(vals, tv, n * sizeof(jval));
        jstep(c, (int64_t)n);
    }
}

/* select / reject / selectattr / rejectattr */
static jval select_items(fargs *a, jval seq, bool attr, bool keep) {
    jctx *c = a->c;
    /* Jinja2: `if value: for item in value` — a falsy value (none, undefined, 0, '') yields nothing */
    jval items = jv_truthy(seq) ? jiter_list(c, seq) : jv_list(c, 0);
    int base = attr ? 1 : 0;
    jval attrname = attr ? arg(a, 0, NULL, jv_undef()) : jv_undef();
    jval test = arg(a, base, NULL, jv_undef());
    if (test.t != JV_UNDEF) need_str(a, test, "the test name");
    char tname[64] = "";
    if (test.t == JV_STR) snprintf(tname, sizeof tname, "%.*s", (int)test.u.s.n, test.u.s.p);
    if (tname[0] && !jtest_exists(tname)) jfail(c, HEARTH_ERR_FORMAT, "%s: no test named '%s'", a->fname, tname);
    int ntargs = a->npos - base - 1;
    if (ntargs < 0) ntargs = 0;
    jval out = jv_list(c, 0);
    for (size_t i = 0; i < items.u.l->n; i++) {
        jval it = items.u.l->v[i];
        jval v = attr ? attr_path(c, it, attrname) : it;
        bool r = tname[0] ? japply_test(c, tname, v, a->pos + base + 1, ntargs) : jv_truthy(v);
        if (r == keep) jl_push(c, out.u.l, it);
        jstep(c, 1);
    }
    return out;
}

static jval f_indent(fargs *a, jval s) {
    jctx *c = a->c;
    jval w = arg(a, 0, "width", jv_int(4));
    bool first = jv_truthy(arg(a, 1, "first", jv_bool(false)));
    bool blank = jv_truthy(arg(a, 2, "blank", jv_bool(false)));
    jval ind = w;
    if (w.t != JV_STR) {
        int64_t k = need_int(a, w, "width");
        if (k < 0) k = 0;
        if (k > 10000) jfail(c, HEARTH_ERR_RANGE, "indent: width %lld too large", (long long)k);
        char *sp = jarena_alloc(&c->ar, (size_t)k + 1);
        memset(sp, ' ', (size_t)k);
        ind = jv_strn(sp, (size_t)k);
    }
    jbuf tmp = {0};
    jb_put(c, &tmp, s.u.s.p, s.u.s.n);
    jb_put(c, &tmp, "\n", 1);
    jval lines = str_splitlines(c, jb_val(&tmp));
    jbuf b = {0};
    if (first) jb_put(c, &b, ind.u.s.p, ind.u.s.n);
    for (size_t i = 0; i < lines.u.l->n; i++) {
        jval ln = lines.u.l->v[i];
        if (i > 0) {
            jb_put(c, &b, "\n", 1);
            if (blank || ln.u.s.n) jb_put(c, &b, ind.u.s.p, ind.u.s.n);
        }
        jb_put(c, &b, ln.u.s.p, ln.u.s.n);
    }
    return jb_val(&b);
}

static jval f_tojson(fargs *a, jval v) {
    jctx *c = a->c;
    /* transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) */
    bool ascii = jv_truthy(arg(a, 0, "ensure_ascii", jv_bool(false)));
    jval ind = arg(a, 1, "indent", jv_none());
    jval seps = arg(a, 2, "separators", jv_none());
    bool sort_keys = jv_truthy(arg(a, 3, "sort_keys", jv_bool(false)));
    int indent = -1;
    if (ind.t != JV_NONE && ind.t != JV_UNDEF) {
        indent = (int)need_int(a, ind, "indent");
        if (indent < 0) indent = 0;
        if (indent > 1000) jfail(c, HEARTH_ERR_RANGE, "tojson: indent %d too large", indent);
    }
    const char *item_sep = indent >= 0 ? "," : ", ", *key_sep = ": ";
    if (seps.t == JV_LIST && seps.u.l->n == 2 && seps.u.l->v[0].t == JV_STR && seps.u.l->v[1].t == JV_STR) {
        item_sep = jv_tostr(c, jv_strcpy(c, seps.u.l->v[0].u.s.p, seps.u.l->v[0].u.s.n)).u.s.p;
        key_sep = jv_strcpy(c, seps.u.l->v[1].u.s.p, seps.u.l->v[1].u.s.n).u.s.p;
    } else if (seps.t != JV_NONE && seps.t != JV_UNDEF) {
        jfail(c, HEARTH_ERR_FORMAT, "tojson: separators must be a pair of strings");
    }
    jbuf b = {0};
    jv_json_to(c, &b, v, indent, item_sep, key_sep, sort_keys, 0);
    jval r = jb_val(&b);
    if (!ascii) return r;
    jbuf e = {0};
    for (size_t i = 0; i < r.u.s.n;) {
        size_t l;
        uint32_t cp = hearth_utf8_decode_lenient(r.u.s.p + i, r.u.s.n - i, &l);
        if (cp < 0x80) jb_put(c, &e, r.u.s.p + i, 1);
        else if (cp < 0x10000) jb_printf(c, &e, "\\u%04x", cp);
        else {
            cp -= 0x10000;
            jb_printf(c, &e, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        }
        i += l;
    }
    return jb_val(&e);
}

static jval to_int(jctx *c, jval v, jval def) {
    switch (v.t) {
    case JV_INT: return v;
    case JV_BOOL: return jv_int(v.u.b);
    case JV_FLOAT:
        if (isnan(v.u.f) || isinf(v.u.f) || fabs(v.u.f) >= 9.2e18) return def;
        return jv_int((int64_t)v.u.f);
    case JV_STR: {
        jval t = str_strip(v, 3, jv_none());
        char buf[128];
        if (t.u.s.n == 0 || t.u.s.n >= sizeof buf) return def;
        size_t o = 0;
        for (size_t i = 0; i < t.u.s.n; i++) if (t.u.s.p[i] != '_') buf[o++] = t.u.s.p[i];
        buf[o] = 0;
        char *e;
        long long x = strtoll(buf, &e, 10);
        if (*e == 0) return jv_int(x);
        double d = strtod(buf, &e);
        if (*e == 0 && !isnan(d) && !isinf(d) && fabs(d) < 9.2e18) return jv_int((int64_t)d);
        return def;
    }
    default: (void)c; return def;
    }
}

static jval to_float(jval v, jval def) {
    switch (v.t) {
    case JV_INT: return jv_float((double)v.u.i);
    case JV_BOOL: return jv_float(v.u.b);
    case JV_FLOAT: return v;
    case JV_STR: {
        char buf[128];
        jval t = str_strip(v, 3, jv_none());
        if (t.u.s.n == 0 || t.u.s.n >= sizeof buf) return def;
        memcpy(buf, t.u.s.p, t.u.s.n);
        buf[t.u.s.n] = 0;
        char *e;
        double d = strtod(buf, &e);
        return *e == 0 ? jv_float(d) : def;
    }
    default: return def;
    }
}

jval japply_filter(jctx *c, const char *name, jval v, jval *pos, int npos, const char **kwn, jval *kwv, int nkw,
                   jframe *f) {
    fargs A = {c, name, pos, npos, kwn, kwv, nkw};
    fargs *a = &A;
    (void)f;
#define IS(s) (!strcmp(name, s))
    if (IS("default") || IS("d")) {
        jval def = arg(a, 0, "default_value", jv_strn("", 0));
        bool boolean = jv_truthy(arg(a, 1, "boolean", jv_bool(false)));
        if (v.t == JV_UNDEF || (boolean && !jv_truthy(v))) return def;
        return v;
    }
    if (IS("length") || IS("count")) return jv_int((int64_t)seq_len(c, v, name));
    if (IS("tojson")) return f_tojson(a, v);
    if (IS("safe")) { jval s = jv_tostr(c, v); s.tuple = 1; return s; }
    if (IS("string")) { jval s = jv_tostr(c, v); return s; }
    if (IS("pprint")) {
        if (v.t == JV_UNDEF) return jv_strn("Undefined", 9);   /* Jinja2's repr of an undefined value */
        jbuf b = {0};
        jv_repr_to(c, &b, v);
        return jb_val(&b);
    }
    if (IS("e") || IS("escape")) {
        if (v.t == JV_STR && v.tuple) return v;
        jval s = jv_tostr(c, v);
        jval m = jv_strn("", 0);
        m.tuple = 1;
        return jbinop(c, OP_ADD, m, s);   /* Markup + str escapes */
    }
    if (IS("trim")) {
        jval chars = arg(a, 0, "chars", jv_none());
        if (chars.t != JV_NONE && chars.t != JV_UNDEF) need_str(a, chars, "chars");
        return str_strip(jv_tostr(c, v), 3, chars);
    }
    if (IS("upper") || IS("lower") || IS("capitalize") || IS("title")) {
        jval s = jv_tostr(c, v);
        if (IS("title")) {
            /* Jinja's title: words split at whitespace, -, (, {, [, < */
            jbuf b = {0};
            bool start = true;
            for (size_t i = 0; i < s.u.s.n;) {
                size_t l;
                uint32_t cp = hearth_utf8_decode_lenient(s.u.s.p + i, s.u.s.n - i, &l);
                bool sep = u_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
                uint32_t o = sep ? cp : start ? u_upper(cp) : u_lower(cp);
                start = sep;
                char tmp[4];
                jb_put(c, &b, tmp, hearth_utf8_encode(o, tmp));
                i += l;
            }
            return jb_val(&b);
        }
        return case_map(c, s, IS("lower") ? 0 : IS("upper") ? 1 : 2);
    }
    if (IS("replace")) {
        jval s = jv_tostr(c, v);
        jval old = jv_tostr(c, arg(a, 0, "old", jv_strn("", 0)));
        jval nw = jv_tostr(c, arg(a, 1, "new", jv_strn("", 0)));
        jval cnt = arg(a, 2, "count", jv_none());
        return str_replace(c, s, old, nw, cnt.t == JV_INT ? cnt.u.i : -1);
    }
    if (IS("items")) {
        if (v.t == JV_UNDEF) return jv_list(c, 0);
        if (v.t != JV_DICT) jfail(c, HEARTH_ERR_FORMAT, "items: can only get item pairs from a mapping, not '%s'", jv_type_name(v));
        jval out = jv_list(c, v.u.d->n);
        for (size_t i = 0; i < v.u.d->n; i++) {
            jval t = jv_list(c, 2);
            t.tuple = 1;
            jl_push(c, t.u.l, v.u.d->k[i]);
            jl_push(c, t.u.l, v.u.d->v[i]);
            jl_push(c, out.u.l, t);
        }
        return out;
    }
    if (IS("list")) {
        jval l = jiter_list(c, v);
        jval out = jv_list(c, l.u.l->n);
        for (size_t i = 0; i < l.u.l->n; i++) jl_push(c, out.u.l, l.u.l->v[i]);
        return out;
    }
    if (IS("first") || IS("last")) {
        jval l = jiter_list(c, v);
        if (l.u.l->n == 0) return jv_undef_hint(c, "No %s item, sequence was empty.", name);
        return l.u.l->v[IS("first") ? 0 : l.u.l->n - 1];
    }
    if (IS("reverse")) {
        if (v.t == JV_STR) {
            jbuf b = {0};
            size_t e = v.u.s.n;
            while (e > 0) {
                size_t st = e - 1;
                while (st > 0 && ((unsigned char)v.u.s.p[st] & 0xC0) == 0x80) st--;
                jb_put(c, &b, v.u.s.p + st, e - st);
                e = st;
            }
            return jb_val(&b);
        }
        jval l = jiter_list(c, v);
        jval out = jv_list(c, l.u.l->n);
        for (size_t i = l.u.l->n; i > 0; i--) jl_push(c, out.u.l, l.u.l->v[i - 1]);
        return out;
    }
    if (IS("join")) {
        jval sep = jv_tostr(c, arg(a, 0, "d", jv_strn("", 0)));
        jval attr = arg(a, 1, "attribute", jv_none());
        jval l = jiter_list(c, v);
        jbuf b = {0};
        for (size_t i = 0; i < l.u.l->n; i++) {
            if (i) jb_put(c, &b, sep.u.s.p, sep.u.s.n);
            jval it = l.u.l->v[i];
            if (attr.t != JV_NONE) it = attr_path(c, it, attr);
            jv_str_to(c, &b, it);
        }
        jstep(c, (int64_t)l.u.l->n);
        return jb_val(&b);
    }
    if (IS("map")) {
        jval l = jv_truthy(v) ? jiter_list(c, v) : jv_list(c, 0);   /* Jinja2 maps a falsy value to nothing */
        jval out = jv_list(c, l.u.l->n);
        if (has_arg(a, -1, "attribute")) {
            jval attr = arg(a, -1, "attribute", jv_none());
            bool has_def = has_arg(a, -1, "default");
            jval def = arg(a, -1, "default", jv_none());
            for (size_t i = 0; i < l.u.l->n; i++) {
                jval x = attr_path(c, l.u.l->v[i], attr);
                if (x.t == JV_UNDEF && has_def) x = def;
                jl_push(c, out.u.l, x);
            }
            return out;
        }
        if (npos < 1) jfail(c, HEARTH_ERR_FORMAT, "map: needs a filter name or attribute=");
        jval fname = need_str(a, pos[0], "the filter name");
        char fn[64];
        snprintf(fn, sizeof fn, "%.*s", (int)fname.u.s.n, fname.u.s.p);
        if (!jfilter_exists(fn)) jfail(c, HEARTH_ERR_FORMAT, "map: no filter named '%s'", fn);
        for (size_t i = 0; i < l.u.l->n; i++)
            jl_push(c, out.u.l, japply_filter(c, fn, l.u.l->v[i], pos + 1, npos - 1, kwn, kwv, nkw, f));
        return out;
    }
    if (IS("select")) return select_items(a, v, false, true);
    if (IS("reject")) return select_items(a, v, false, false);
    if (IS("selectattr")) return select_items(a, v, true, true);
    if (IS("rejectattr")) return select_items(a, v, true, false);
    if (IS("int")) {
        jcheck_defined(c, v);   /* int(Undefined) raises in Jinja2 */
        jval def = arg(a, 0, "default", jv_int(0));
        return to_int(c, v, def);
    }
    if (IS("float")) {
        jcheck_defined(c, v);
        return to_float(v, arg(a, 0, "default", jv_float(0.0)));
    }
    if (IS("abs")) {
        if (v.t == JV_INT) {
            if (v.u.i == INT64_MIN) jfail(c, HEARTH_ERR_RANGE, "abs: integer overflow");
            return jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
        }
        if (v.t == JV_BOOL) return jv_int(v.u.b);
        if (v.t == JV_FLOAT) return jv_float(fabs(v.u.f));
        jcheck_defined(c, v);
        jfail(c, HEARTH_ERR_FORMAT, "abs: bad operand type '%s'", jv_type_name(v));
    }
    if (IS("round")) {
        int64_t prec = need_int(a, arg(a, 0, "precision", jv_int(0)), "precision");
        jval method = arg(a, 1, "method", jv_strn("common", 6));
        double x;
        if (v.t == JV_INT || v.t == JV_BOOL) x = (double)(v.t == JV_INT ? v.u.i : v.u.b);
        else if (v.t == JV_FLOAT) x = v.u.f;
        else { jcheck_defined(c, v); jfail(c, HEARTH_ERR_FORMAT, "round: needs a number, got '%s'", jv_type_name(v)); }
        if (prec < 0 || prec > 15) jfail(c, HEARTH_ERR_UNSUPPORTED, "round: precision must be 0..15");
        double m = pow(10, (double)prec);
        if (jv_is_str(method, "ceil")) return jv_float(ceil(x * m) / m);
        if (jv_is_str(method, "floor")) return jv_float(floor(x * m) / m);
        if (!jv_is_str(method, "common")) jfail(c, HEARTH_ERR_FORMAT, "round: method must be common, ceil or floor");
        if (v.t != JV_FLOAT) return jv_int(v.t == JV_INT ? v.u.i : v.u.b);   /* Python's round(int, n >= 0) stays an int */
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", (int)prec, x);   /* correctly rounded, half-even like Python's round */
        return jv_float(strtod(buf, NULL));
    }
    if (IS("indent")) {
        if (v.t != JV_STR) {   /* Jinja2 adds "\n" to the value: only strings work */
            jcheck_defined(c, v);
            jfail(c, HEARTH_ERR_FORMAT, "indent: needs a string, got '%s'", jv_type_name(v));
        }
        return f_indent(a, v);
    }
    if (IS("center")) {
        jval s = jv_tostr(c, v);
        int64_t w = need_int(a, arg(a, 0, "width", jv_int(80)), "width");
        int64_t len = (int64_t)utf8_len(s.u.s.p, s.u.s.n);
        if (w > 100000) jfail(c, HEARTH_ERR_RANGE, "center: width too large");
        if (w <= len) return s;
        int64_t pad = w - len, left = pad / 2 + (pad & w & 1);
        jbuf b = {0};
        for (int64_t i = 0; i < left; i++) jb_put(c, &b, " ", 1);
        jb_put(c, &b, s.u.s.p, s.u.s.n);
        for (int64_t i = 0; i < pad - left; i++) jb_put(c, &b, " ", 1);
        return jb_val(&b);
    }
    if (IS("wordcount")) {
        jval s = jv_tostr(c, v);
        int64_t k = 0;
        bool in = false;
        for (size_t i = 0; i < s.u.s.n; i++) {
            unsigned char ch = (unsigned char)s.u.s.p[i];
            bool w = ch >= 0x80 || (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z') || ch == '_';
            if (w && !in) k++;
            in = w;
        }
        return jv_int(k);
    }
    if (IS("unique")) {
        bool cs = jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false)));
        jval attr = arg(a, 1, "attribute", jv_none());
        jval l = jiter_list(c, v);
        jval out = jv_list(c, 0), seen = jv_list(c, 0);
        for (size_t i = 0; i < l.u.l->n; i++) {
            jval it = l.u.l->v[i];
            jval key = lower_if_str(c, attr.t != JV_NONE ? attr_path(c, it, attr) : it, cs);
            bool dup = false;
            for (size_t j = 0; j < seen.u.l->n && !dup; j++) dup = jv_equal(seen.u.l->v[j], key);
            jstep(c, (int64_t)seen.u.l->n / 8);
            if (dup) continue;
            jl_push(c, seen.u.l, key);
            jl_push(c, out.u.l, it);
        }
        return out;
    }
    if (IS("sort") || IS("dictsort") || IS("min") || IS("max")) {
        bool dict = IS("dictsort");
        bool reverse = !dict && IS("sort") && jv_truthy(arg(a, 0, "reverse", jv_bool(false)));
        bool cs = jv_truthy(arg(a, dict ? 0 : IS("sort") ? 1 : 0, "case_sensitive", jv_bool(false)));
        jval attr = arg(a, IS("sort") ? 2 : IS("dictsort") ? -1 : 1, "attribute", jv_none());
        jval items;
        if (dict) {
            if (v.t != JV_DICT) jfail(c, HEARTH_ERR_FORMAT, "dictsort: needs a mapping, got '%s'", jv_type_name(v));
            jval by = arg(a, 1, "by", jv_strn("key", 3));
            reverse = jv_truthy(arg(a, 2, "reverse", jv_bool(false)));
            items = jv_list(c, v.u.d->n);
            jval keys = jv_list(c, v.u.d->n);
            for (size_t i = 0; i < v.u.d->n; i++) {
                jval t = jv_list(c, 2);
                t.tuple = 1;
                jl_push(c, t.u.l, v.u.d->k[i]);
                jl_push(c, t.u.l, v.u.d->v[i]);
                jl_push(c, items.u.l, t);
                jl_push(c, keys.u.l, lower_if_str(c, jv_is_str(by, "value") ? v.u.d->v[i] : v.u.d->k[i], cs));
            }
            sort_pairs(c, keys.u.l->v, items.u.l->v, items.u.l->n, reverse);
            return items;
        }
        jval l = jiter_list(c, v);
        items = jv_list(c, l.u.l->n);
        jval keys = jv_list(c, l.u.l->n);
        for (size_t i = 0; i < l.u.l->n; i++) {
            jl_push(c, items.u.l, l.u.l->v[i]);
            jval k = attr.t != JV_NONE ? attr_path(c, l.u.l->v[i], attr) : l.u.l->v[i];
            jl_push(c, keys.u.l, lower_if_str(c, k, cs));
        }
        if (IS("min") || IS("max")) {
            if (items.u.l->n == 0) return jv_undef_hint(c, "No aggregated item, sequence was empty.");
            size_t best = 0;
            for (size_t i = 1; i < items.u.l->n; i++) {
                int cmp = jv_compare(c, keys.u.l->v[i], keys.u.l->v[best]);
                if (IS("min") ? cmp < 0 : cmp > 0) best = i;
            }
            return items.u.l->v[best];
        }
        sort_pairs(c, keys.u.l->v, items.u.l->v, items.u.l->n, reverse);
        return items;
    }
    if (IS("sum")) {
        jval attr = arg(a, 0, "attribute", jv_none());
        jval acc = arg(a, 1, "start", jv_int(0));
        jval l = jiter_list(c, v);
        for (size_t i = 0; i < l.u.l->n; i++)
            acc = jbinop(c, OP_ADD, acc, attr.t != JV_NONE ? attr_path(c, l.u.l->v[i], attr) : l.u.l->v[i]);
        return acc;
    }
    if (IS("batch")) {
        int64_t k = need_int(a, arg(a, 0, "linecount", jv_int(1)), "linecount");
        if (k <= 0) jfail(c, HEARTH_ERR_FORMAT, "batch: linecount must be positive");
        bool fill = has_arg(a, 1, "fill_with");
        jval fw = arg(a, 1, "fill_with", jv_none());
        jval l = jiter_list(c, v);
        jval out = jv_list(c, 0), cur = jv_undef();
        for (size_t i = 0; i < l.u.l->n; i++) {
            if (cur.t == JV_UNDEF || (int64_t)cur.u.l->n == k) { cur = jv_list(c, 0); jl_push(c, out.u.l, cur); }
            jl_push(c, cur.u.l, l.u.l->v[i]);
        }
        if (fill && cur.t == JV_LIST)
            while ((int64_t)cur.u.l->n < k) jl_push(c, cur.u.l, fw);
        return out;
    }
    if (IS("attr")) {
        jval nm = jv_tostr(c, arg(a, 0, "name", jv_strn("", 0)));
        return jgetattr(c, v, nm.u.s.p, nm.u.s.n);
    }
    if (IS("format")) {
        jval s = jv_tostr(c, v);
        if (npos == 1 && (pos[0].t == JV_LIST && pos[0].tuple)) return percent_format(c, s, pos[0]);
        jval t = jv_list(c, (size_t)npos);
        t.tuple = 1;
        for (int i = 0; i < npos; i++) jl_push(c, t.u.l, pos[i]);
        if (npos == 1) return percent_format(c, s, pos[0]);
        return percent_format(c, s, t);
    }
#undef IS
    jfail(c, HEARTH_ERR_FORMAT, "no filter named '%s'", name);
}

/* ---- methods of str / dict / list ------------------------------------------------------------ */
enum {
    M_STARTSWITH = 1, M_ENDSWITH, M_SPLIT, M_RSPLIT, M_STRIP, M_LSTRIP, M_RSTRIP, M_UPPER, M_LOWER, M_TITLE,
    M_CAPITALIZE, M_REPLACE, M_FIND, M_RFIND, M_INDEX, M_COUNT, M_FORMAT, M_JOIN, M_ISDIGIT, M_ISALPHA,
    M_ISALNUM, M_ISSPACE, M_ISUPPER, M_ISLOWER, M_SPLITLINES, M_REMOVEPREFIX, M_REMOVESUFFIX, M_SWAPCASE,
    M_CASEFOLD, M_ZFILL, M_CENTER, M_LJUST, M_RJUST,
    M_ITEMS, M_KEYS, M_VALUES, M_GET, M_COPY,
    M_LINDEX, M_LCOUNT,
};

static const struct { const char *name; int id; } STR_METHODS[] = {
    {"startswith", M_STARTSWITH}, {"endswith", M_ENDSWITH}, {"split", M_SPLIT}, {"rsplit", M_RSPLIT},
    {"strip", M_STRIP}, {"lstrip", M_LSTRIP}, {"rstrip", M_RSTRIP}, {"upper", M_UPPER}, {"lower", M_LOWER},
    {"title", M_TITLE}, {"capitalize", M_CAPITALIZE}, {"replace", M_REPLACE}, {"find", M_FIND},
    {"rfind", M_RFIND}, {"index", M_INDEX}, {"count", M_COUNT}, {"format", M_FORMAT}, {"join", M_JOIN},
    {"isdigit", M_ISDIGIT}, {"isalpha", M_ISALPHA}, {"isalnum", M_ISALNUM}, {"isspace", M_ISSPACE},
    {"isupper", M_ISUPPER}, {"islower", M_ISLOWER}, {"splitlines", M_SPLITLINES},
    {"removeprefix", M_REMOVEPREFIX}, {"removesuffix", M_REMOVESUFFIX}, {"swapcase", M_SWAPCASE},
    {"casefold", M_CASEFOLD}, {"zfill", M_ZFILL}, {"center", M_CENTER}, {"ljust", M_LJUST}, {"rjust", M_RJUST},
    {NULL, 0},
};
static const char *const DICT_UNSAFE[] = {"pop", "popitem", "setdefault", "update", "clear", NULL};
static const char *const LIST_UNSAFE[] = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear", NULL};

static bool name_is(const char *name, size_t n, const char *s) { return strlen(s) == n && !memcmp(name, s, n); }

int jmethod_lookup(jval obj, const char *name, size_t n, bool *unsafe) {
    *unsafe = false;
    if (n && name[0] == '_') { *unsafe = obj.t == JV_STR || obj.t == JV_DICT || obj.t == JV_LIST; return 0; }
    if (obj.t == JV_STR) {
        for (int i = 0; STR_METHODS[i].name; i++)
            if (name_is(name, n, STR_METHODS[i].name)) return STR_METHODS[i].id;
    } else if (obj.t == JV_DICT) {
        if (name_is(name, n, "items")) return M_ITEMS;
        if (name_is(name, n, "keys")) return M_KEYS;
        if (name_is(name, n, "values")) return M_VALUES;
        if (name_is(name, n, "get")) return M_GET;
        if (name_is(name, n, "copy")) return M_COPY;
        for (int i = 0; DICT_UNSAFE[i]; i++)
            if (name_is(name, n, DICT_UNSAFE[i])) *unsafe = true;
    } else if (obj.t == JV_LIST) {
        if (name_is(name, n, "index")) return M_LINDEX;
        if (name_is(name, n, "count")) return M_LCOUNT;
        if (name_is(name, n, "copy")) return M_COPY;
        for (int i = 0; LIST_UNSAFE[i]; i++)
            if (name_is(name, n, LIST_UNSAFE[i])) *unsafe = true;
    }
    return 0;
}

static bool str_pred(jval s, int id) {
    if (s.u.s.n == 0) return false;
    bool any_cased = false;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t l;
        uint32_t cp = hearth_utf8_decode_lenient(s.u.s.p + i, s.u.s.n - i, &l);
        i += l;
        switch (id) {
        case M_ISDIGIT: if (!(cp >= '0' && cp <= '9')) return false; break;
        case M_ISALPHA: if (!u_alpha(cp)) return false; break;
        case M_ISALNUM: if (!u_alpha(cp) && !(cp >= '0' && cp <= '9')) return false; break;
        case M_ISSPACE: if (!u_space(cp)) return false; break;
        case M_ISUPPER: if (u_lower(cp) != cp && u_upper(cp) == cp) any_cased = true; else if (u_upper(cp) != cp) return false; break;
        case M_ISLOWER: if (u_upper(cp) != cp && u_lower(cp) == cp) any_cased = true; else if (u_lower(cp) != cp) return false; break;
        }
    }
    return (id == M_ISUPPER || id == M_ISLOWER) ? any_cased : true;
}

static bool prefix_match(jval s, jval p, bool end) {
    if (p.u.s.n > s.u.s.n) return false;
    return memcmp(s.u.s.p + (end ? s.u.s.n - p.u.s.n : 0), p.u.s.p, p.u.s.n) == 0;
}

jval jcall_method(jctx *c, jmethod *m, jval *pos, int npos, const char **kwn, jval *kwv, int nkw) {
    jval self = m->self;
    fargs A = {c, "method", pos, npos, kwn, kwv, nkw};
    fargs *a = &A;
    switch (m->id) {
    case M_STARTSWITH: case M_ENDSWITH: {
        jval p = arg(a, 0, NULL, jv_undef());
        bool end = m->id == M_ENDSWITH;
        if (p.t == JV_LIST && p.tuple) {
            for (size_t i = 0; i < p.u.l->n; i++)
                if (prefix_match(self, need_str(a, p.u.l->v[i], "prefix"), end)) return jv_bool(true);
            return jv_bool(false);
        }
        return jv_bool(prefix_match(self, need_str(a, p, end ? "suffix" : "prefix"), end));
    }
    case M_SPLIT: case M_RSPLIT: {
        jval sep = arg(a, 0, "sep", jv_none());
        if (sep.t != JV_NONE) need_str(a, sep, "sep");
        int64_t mx = need_int(a, arg(a, 1, "maxsplit", jv_int(-1)), "maxsplit");
        return str_split(c, self, sep, mx, m->id == M_RSPLIT);
    }
    case M_STRIP: case M_LSTRIP: case M_RSTRIP: {
        jval ch = arg(a, 0, "chars", jv_none());
        if (ch.t != JV_NONE) need_str(a, ch, "chars");
        return str_strip(self, m->id == M_STRIP ? 3 : m->id == M_LSTRIP ? 1 : 2, ch);
    }
    case M_UPPER: return case_map(c, self, 1);
    case M_LOWER: case M_CASEFOLD: return case_map(c, self, 0);
    case M_TITLE: return case_map(c, self, 3);
    case M_CAPITALIZE: return case_map(c, self, 2);
    case M_SWAPCASE: {
        jbuf b = {0};
        for (size_t i = 0; i < self.u.s.n;) {
            size_t l;
            uint32_t cp = hearth_utf8_decode_lenient(self.u.s.p + i, self.u.s.n - i, &l);
            uint32_t o = u_upper(cp) != cp ? u_upper(cp) : u_lower(cp);
            char tmp[4];
            jb_put(c, &b, tmp, hearth_utf8_encode(o, tmp));
            i += l;
        }
        return jb_val(&b);
    }
    case M_REPLACE: {
        jval old = need_str(a, arg(a, 0, NULL, jv_undef()), "old");
        jval nw = need_str(a, arg(a, 1, NULL, jv_undef()), "new");
        int64_t cnt = need_int(a, arg(a, 2, "count", jv_int(-1)), "count");
        return str_replace(c, self, old, nw, cnt);
    }
    case M_FIND: case M_RFIND: case M_INDEX: {
        jval sub = need_str(a, arg(a, 0, NULL, jv_undef()), "sub");
        if (npos > 1) jfail(c, HEARTH_ERR_UNSUPPORTED, "find/index: start and end arguments are not supported");
        int64_t r = str_find(self, sub, m->id == M_RFIND);
        if (r < 0 && m->id == M_INDEX) jfail(c, HEARTH_ERR_FORMAT, "substring not found");
        return jv_int(r);
    }
    case M_COUNT: {
        jval sub = need_str(a, arg(a, 0, NULL, jv_undef()), "sub");
        if (sub.u.s.n == 0) return jv_int((int64_t)utf8_len(self.u.s.p, self.u.s.n) + 1);
        int64_t k = 0;
        size_t i = 0;
        const char *h;
        while (i < self.u.s.n && (h = memmem(self.u.s.p + i, self.u.s.n - i, sub.u.s.p, sub.u.s.n))) {
            k++;
            i = (size_t)(h - self.u.s.p) + sub.u.s.n;
        }
        return jv_int(k);
    }
    case M_FORMAT: return py_format(c, self, pos, npos, kwn, kwv, nkw);
    case M_JOIN: {
        jval l = jiter_list(c, arg(a, 0, NULL, jv_undef()));
        jbuf b = {0};
        for (size_t i = 0; i < l.u.l->n; i++) {
            if (i) jb_put(c, &b, self.u.s.p, self.u.s.n);
            jval it = l.u.l->v[i];
            if (it.t != JV_STR) jfail(c, HEARTH_ERR_FORMAT, "join: sequence item %zu: expected str instance, %s found", i, jv_type_name(it));
            jb_put(c, &b, it.u.s.p, it.u.s.n);
        }
        return jb_val(&b);
    }
    case M_ISDIGIT: case M_ISALPHA: case M_ISALNUM: case M_ISSPACE: case M_ISUPPER: case M_ISLOWER:
        return jv_bool(str_pred(self, m->id));
    case M_SPLITLINES: return str_splitlines(c, self);
    case M_REMOVEPREFIX: case M_REMOVESUFFIX: {
        jval p = need_str(a, arg(a, 0, NULL, jv_undef()), "affix");
        bool end = m->id == M_REMOVESUFFIX;
        if (p.u.s.n == 0 || !prefix_match(self, p, end)) return self;
        return end ? jv_strn(self.u.s.p, self.u.s.n - p.u.s.n) : jv_strn(self.u.s.p + p.u.s.n, self.u.s.n - p.u.s.n);
    }
    case M_ZFILL: case M_CENTER: case M_LJUST: case M_RJUST: {
        int64_t w = need_int(a, arg(a, 0, NULL, jv_undef()), "width");
        if (w > 100000) jfail(c, HEARTH_ERR_RANGE, "width too large");
        int64_t len = (int64_t)utf8_len(self.u.s.p, self.u.s.n);
        if (w <= len) return self;
        int64_t pad = w - len, left = m->id == M_LJUST ? 0 : m->id == M_CENTER ? pad / 2 + (pad & w & 1) : pad;
        jbuf b = {0};
        const char *fill = m->id == M_ZFILL ? "0" : " ";
        size_t off = 0;
        if (m->id == M_ZFILL && self.u.s.n && (self.u.s.p[0] == '-' || self.u.s.p[0] == '+')) {
            jb_put(c, &b, self.u.s.p, 1);
            off = 1;
        }
        for (int64_t i = 0; i < left; i++) jb_put(c, &b, fill, 1);
        jb_put(c, &b, self.u.s.p + off, self.u.s.n - off);
        for (int64_t i = 0; i < pad - left; i++) jb_put(c, &b, " ", 1);
        return jb_val(&b);
    }
    case M_ITEMS: case M_KEYS: case M_VALUES: {
        jval out = jv_list(c, self.u.d->n);
        for (size_t i = 0; i < self.u.d->n; i++) {
            if (m->id == M_KEYS) jl_push(c, out.u.l, self.u.d->k[i]);
            else if (m->id == M_VALUES) jl_push(c, out.u.l, self.u.d->v[i]);
            else {
                jval t = jv_list(c, 2);
                t.tuple = 1;
                jl_push(c, t.u.l, self.u.d->k[i]);
                jl_push(c, t.u.l, self.u.d->v[i]);
                jl_push(c, out.u.l, t);
            }
        }
        return out;
    }
    case M_GET: {
        jval k = arg(a, 0, "key", jv_undef());
        jval r;
        if (jd_get(self.u.d, k, &r)) return r;
        return arg(a, 1, "default", jv_none());
    }
    case M_COPY:
        if (self.t == JV_DICT) {
            jval d = jv_dict(c, self.u.d->n);
            for (size_t i = 0; i < self.u.d->n; i++) jd_set(c, d.u.d, self.u.d->k[i], self.u.d->v[i]);
            return d;
        } else {
            jval l = jv_list(c, self.u.l->n);
            for (size_t i = 0; i < self.u.l->n; i++) jl_push(c, l.u.l, self.u.l->v[i]);
            return l;
        }
    case M_LINDEX: case M_LCOUNT: {
        jval x = arg(a, 0, NULL, jv_undef());
        int64_t k = 0;
        for (size_t i = 0; i < self.u.l->n; i++)
            if (jv_equal(self.u.l->v[i], x)) {
                if (m->id == M_LINDEX) return jv_int((int64_t)i);
                k++;
            }
        if (m->id == M_LINDEX) jfail(c, HEARTH_ERR_FORMAT, "list.index(x): x not in list");
        return jv_int(k);
    }
    }
    jfail(c, HEARTH_ERR_INTERNAL, "unknown method %d", m->id);
}

/* ---- globals ------------------------------------------------------------------------------ */
static jval fn_val(int id) {
    jval v = {0};
    v.t = JV_FUNC;
    v.fn = (uint16_t)id;
    return v;
}

void jinja_install_globals(jctx *c, jframe *g) {
    jframe_set(c, g, "range", fn_val(FN_RANGE));
    jframe_set(c, g, "namespace", fn_val(FN_NAMESPACE));
    jframe_set(c, g, "dict", fn_val(FN_DICT));
    jframe_set(c, g, "raise_exception", fn_val(FN_RAISE));
    jframe_set(c, g, "strftime_now", fn_val(FN_STRFTIME));
    jframe_set(c, g, "joiner", fn_val(FN_JOINER));
    jframe_set(c, g, "cycler", fn_val(FN_CYCLER));
}

#define MAX_RANGE 100000   /* Jinja2's sandbox limit */

jval jcall_builtin(jctx *c, jval fn, jval *pos, int npos, const char **kwn, jval *kwv, int nkw) {
    fargs A = {c, "function", pos, npos, kwn, kwv, nkw};
    fargs *a = &A;
    switch (fn.fn) {
    case FN_RANGE: {
        A.fname = "range";
        if (npos < 1 || npos > 3) jfail(c, HEARTH_ERR_FORMAT, "range expected 1 to 3 arguments, got %d", npos);
        int64_t start = 0, stop, step = 1;
        if (npos == 1) stop = need_int(a, pos[0], "stop");
        else {
            start = need_int(a, pos[0], "start");
            stop = need_int(a, pos[1], "stop");
            if (npos == 3) step = need_int(a, pos[2], "step");
        }
        if (step == 0) jfail(c, HEARTH_ERR_FORMAT, "range() arg 3 must not be zero");
        double len = step > 0 ? ceil(((double)stop - (double)start) / (double)step)
                              : ceil(((double)start - (double)stop) / (double)-step);
        if (len < 0) len = 0;
        if (len > MAX_RANGE)
            jfail(c, HEARTH_ERR_RANGE, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", MAX_RANGE);
        jval l = jv_list(c, (size_t)len);
        for (int64_t i = 0; i < (int64_t)len; i++) jl_push(c, l.u.l, jv_int(start + i * step));
        jstep(c, (int64_t)len / 16);
        return l;
    }
    case FN_NAMESPACE: case FN_DICT: {
        jval d = jv_dict(c, 0);
        if (fn.fn == FN_NAMESPACE) d.t = JV_NS;
        for (int i = 0; i < npos; i++) {
            if (pos[i].t == JV_DICT || pos[i].t == JV_NS) {
                for (size_t k = 0; k < pos[i].u.d->n; k++) jd_set(c, d.u.d, pos[i].u.d->k[k], pos[i].u.d->v[k]);
            } else if (pos[i].t == JV_LIST) {
                for (size_t k = 0; k < pos[i].u.l->n; k++) {
                    jval pr = pos[i].u.l->v[k];
                    if (pr.t != JV_LIST || pr.u.l->n != 2) jfail(c, HEARTH_ERR_FORMAT, "dict: sequence elements must be pairs");
                    jd_set(c, d.u.d, pr.u.l->v[0], pr.u.l->v[1]);
                }
            } else jfail(c, HEARTH_ERR_FORMAT, "%s: positional argument must be a mapping", fn.fn == FN_NAMESPACE ? "namespace" : "dict");
        }
        for (int k = 0; k < nkw; k++) jd_set(c, d.u.d, jv_str(c, kwn[k]), kwv[k]);
        return d;
    }
    case FN_RAISE: {
        jval msg = npos ? jv_tostr(c, pos[0]) : jv_strn("", 0);
        snprintf(c->err, sizeof c->err, "%.*s", (int)msg.u.s.n, msg.u.s.p);
        c->status = HEARTH_ERR_INVALID_ARG;
        longjmp(c->fail, 1);
    }
    case FN_STRFTIME: {
        A.fname = "strftime_now";
        jval f = need_str(a, arg(a, 0, "format", jv_undef()), "format");
        struct tm tmv;
        if (c->now) tmv = *c->now;
        else {
            time_t t = time(NULL);
            localtime_r(&t, &tmv);
        }
        char fmt[256], out[512];
        if (f.u.s.n >= sizeof fmt) jfail(c, HEARTH_ERR_RANGE, "strftime_now: format too long");
        memcpy(fmt, f.u.s.p, f.u.s.n);
        fmt[f.u.s.n] = 0;
        size_t k = strftime(out, sizeof out, fmt, &tmv);
        return jv_strcpy(c, out, k);
    }
    case FN_JOINER: {
        /* returns a callable that yields "" the first time, then sep */
        jval st = jv_dict(c, 2);
        st.t = JV_NS;
        jd_set(c, st.u.d, jv_str(c, "sep"), npos ? jv_tostr(c, pos[0]) : jv_strn(", ", 2));
        jd_set(c, st.u.d, jv_str(c, "used"), jv_bool(false));
        jval f = fn_val(FN_JOINER + 100);
        f.u.d = st.u.d;
        return f;
    }
    case FN_JOINER + 100: {
        jval used, sep;
        jd_get_str(fn.u.d, "used", 4, &used);
        jd_get_str(fn.u.d, "sep", 3, &sep);
        if (!used.u.b) {
            jd_set(c, fn.u.d, jv_str(c, "used"), jv_bool(true));
            return jv_strn("", 0);
        }
        return sep;
    }
    case FN_LOOP_CYCLE: {
        if (npos == 0) jfail(c, HEARTH_ERR_FORMAT, "no items for cycling given");
        return pos[fn.u.loop->index0 % (size_t)npos];
    }
    case FN_CYCLER:
        jfail(c, HEARTH_ERR_UNSUPPORTED, "cycler() is not supported");
    }
    jfail(c, HEARTH_ERR_INTERNAL, "unknown builtin %d", fn.fn);
}
