/*
 * jinja_value.c — the arena, values and their Python-compatible behaviour:
 * str() / repr() / json.dumps() text, truthiness, equality, ordering,
 * UTF-8 code-point helpers, and conversion from JSON (cJSON or text).
 */
#include "jinja_internal.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---------------------------------------------------------------------- */
struct jchunk { jchunk *next; size_t size, used; max_align_t data[]; };

void *jarena_alloc(jarena *ar, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (ar->cap && ar->used + n > ar->cap) {
        ar->errmsg = "memory limit exceeded";
        if (ar->fail) longjmp(*ar->fail, 2);
        abort();
    }
    jchunk *c = ar->head;
    if (!c || c->size - c->used < n) {
        /* chunks grow geometrically: 4 KiB first (small renders stay small), up to 1 MiB */
        size_t want = c ? (c->size + sizeof(jchunk)) * 2 : 4096;
        if (want > (1u << 20)) want = 1u << 20;
        size_t sz = n > want - sizeof(jchunk) ? n : want - sizeof(jchunk);
        c = malloc(sizeof(jchunk) + sz);
        if (!c) {
            ar->errmsg = "out of memory";
            if (ar->fail) longjmp(*ar->fail, 2);
            abort();
        }
        c->size = sz;
        c->used = 0;
        /* big one-off blocks go behind the head so the head keeps its free space */
        if (ar->head && sz > want - sizeof(jchunk)) {
            c->next = ar->head->next;
            ar->head->next = c;
        } else {
            c->next = ar->head;
            ar->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    ar->used += n;
    memset(p, 0, n);
    return p;
}

void jarena_free(jarena *ar) {
    jchunk *c = ar->head;
    while (c) {
        jchunk *nx = c->next;
        free(c);
        c = nx;
    }
    ar->head = NULL;
    ar->used = 0;
}

/* ---- constructors ---------------------------------------------------------------- */
jval jv_strcpy(jctx *c, const char *p, size_t n) {
    char *s = jarena_alloc(&c->ar, n + 1);
    if (n) memcpy(s, p, n);
    return jv_strn(s, n);
}
jval jv_str(jctx *c, const char *s) { return jv_strcpy(c, s, strlen(s)); }

jval jv_undef_hint(jctx *c, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    jval v = jv_strcpy(c, buf, strlen(buf));
    v.t = JV_UNDEF;
    return v;
}

jval jv_list(jctx *c, size_t cap) {
    jval v = {0};
    v.t = JV_LIST;
    v.u.l = jarena_alloc(&c->ar, sizeof(jlist));
    if (cap) {
        v.u.l->v = jarena_alloc(&c->ar, cap * sizeof(jval));
        v.u.l->cap = cap;
    }
    return v;
}

jval jv_dict(jctx *c, size_t cap) {
    jval v = {0};
    v.t = JV_DICT;
    v.u.d = jarena_alloc(&c->ar, sizeof(jdict));
    if (cap) {
        v.u.d->k = jarena_alloc(&c->ar, cap * sizeof(jval));
        v.u.d->v = jarena_alloc(&c->ar, cap * sizeof(jval));
        v.u.d->cap = cap;
    }
    return v;
}

void jl_push(jctx *c, jlist *l, jval v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        jval *nv = jarena_alloc(&c->ar, cap * sizeof(jval));
        if (l->n) memcpy(nv, l->v, l->n * sizeof(jval));
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = v;
}

static bool key_eq(jval a, jval b) {
    if (a.t == JV_STR && b.t == JV_STR) return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    return jv_equal(a, b);
}

void jd_set(jctx *c, jdict *d, jval k, jval v) {
    for (size_t i = 0; i < d->n; i++)
        if (key_eq(d->k[i], k)) { d->v[i] = v; return; }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        jval *nk = jarena_alloc(&c->ar, cap * sizeof(jval));
        jval *nv = jarena_alloc(&c->ar, cap * sizeof(jval));
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof(jval));
            memcpy(nv, d->v, d->n * sizeof(jval));
        }
        d->k = nk;
        d->v = nv;
        d->cap = cap;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
}

bool jd_get(const jdict *d, jval k, jval *out) {
    for (size_t i = 0; i < d->n; i++)
        if (key_eq(d->k[i], k)) { *out = d->v[i]; return true; }
    return false;
}

bool jd_get_str(const jdict *d, const char *k, size_t n, jval *out) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].u.s.n == n && memcmp(d->k[i].u.s.p, k, n) == 0) {
            *out = d->v[i];
            return true;
        }
    return false;
}

bool jv_is_str(jval v, const char *s) {
    return v.t == JV_STR && v.u.s.n == strlen(s) && memcmp(v.u.s.p, s, v.u.s.n) == 0;
}

const char *jv_type_name(jval v) {
    switch (v.t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return v.tuple ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_FUNC: return "function";
    case JV_MACRO: return "Macro";
    case JV_METHOD: return "builtin_function_or_method";
    case JV_LOOP: return "LoopContext";
    }
    return "object";
}

/* ---- UTF-8 ------------------------------------------------------------------------ */
size_t utf8_len(const char *p, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80) k++;
    return k;
}

size_t utf8_offset(const char *p, size_t n, int64_t cp) {
    size_t i = 0;
    int64_t k = 0;
    while (i < n && k < cp) {
        i++;
        while (i < n && ((unsigned char)p[i] & 0xC0) == 0x80) i++;
        k++;
    }
    return i;
}

/* ---- truthiness, equality, order -------------------------------------------------- */
bool jv_truthy(jval v) {
    switch (v.t) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s.n != 0;
    case JV_LIST: return v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

static bool is_num(jval v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static double num_f(jval v) { return v.t == JV_FLOAT ? v.u.f : v.t == JV_INT ? (double)v.u.i : (double)v.u.b; }
static int64_t num_i(jval v) { return v.t == JV_INT ? v.u.i : (int64_t)v.u.b; }

bool jv_equal(jval a, jval b) {
    if (is_num(a) && is_num(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT) return num_f(a) == num_f(b);
        return num_i(a) == num_i(b);
    }
    if (a.t != b.t) return false;
    switch (a.t) {
    case JV_UNDEF: case JV_NONE: return true;
    case JV_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    case JV_LIST:
        if (a.tuple != b.tuple || a.u.l->n != b.u.l->n) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case JV_DICT: {
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jval o;
            if (!jd_get(b.u.d, a.u.d->k[i], &o) || !jv_equal(a.u.d->v[i], o)) return false;
        }
        return true;
    }
    case JV_NS: return a.u.d == b.u.d;
    case JV_FUNC: return a.fn == b.fn;
    case JV_MACRO: return a.u.m == b.u.m;
    case JV_METHOD: return a.u.bm == b.u.bm;
    case JV_LOOP: return a.u.loop == b.u.loop;
    default: return false;
    }
}

int jv_compare(jctx *c, jval a, jval b) {
    if (is_num(a) && is_num(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT) {
            double x = num_f(a), y = num_f(b);
            return x < y ? -1 : x > y ? 1 : 0;
        }
        int64_t x = num_i(a), y = num_i(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.t == JV_STR && b.t == JV_STR) {
        size_t m = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int r = memcmp(a.u.s.p, b.u.s.p, m);   /* UTF-8 byte order == code point order */
        if (r) return r < 0 ? -1 : 1;
        return a.u.s.n < b.u.s.n ? -1 : a.u.s.n > b.u.s.n ? 1 : 0;
    }
    if (a.t == JV_LIST && b.t == JV_LIST) {
        size_t m = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (size_t i = 0; i < m; i++) {
            if (jv_equal(a.u.l->v[i], b.u.l->v[i])) continue;
            return jv_compare(c, a.u.l->v[i], b.u.l->v[i]);
        }
        return a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n ? 1 : 0;
    }
    if (a.t == JV_UNDEF || b.t == JV_UNDEF) jcheck_defined(c, a.t == JV_UNDEF ? a : b);
    jfail(c, HEARTH_ERR_FORMAT, "'<' not supported between instances of '%s' and '%s'", jv_type_name(a),
          jv_type_name(b));
}

/* ---- buffers ------------------------------------------------------------------------ */
/* hearth_buf's memory from the render arena (a failure there longjmps out) */
static void *arena_realloc(void *ctx, void *p, size_t keep, size_t size) {
    jctx *c = ctx;
    char *np = jarena_alloc(&c->ar, size);
    if (keep) memcpy(np, p, keep);
    return np;
}

void jb_put(jctx *c, jbuf *b, const char *p, size_t n) {
    if (n == 0) return;
    if (b == c->out && b->len + n > c->max_output)
        jfail(c, HEARTH_ERR_RANGE, "output limit exceeded: the rendering would be longer than %zu bytes", c->max_output);
    if (!b->realloc_fn) b->realloc_fn = arena_realloc, b->alloc_ctx = c;
    hearth_buf_put(b, p, n);
}
void jb_puts(jctx *c, jbuf *b, const char *s) { jb_put(c, b, s, strlen(s)); }
void jb_printf(jctx *c, jbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) jb_put(c, b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}
jval jb_val(jbuf *b) { return jv_strn(b->data ? b->data : "", b->len); }

/* ---- str / repr --------------------------------------------------------------------- */
void jv_float_repr(double f, char *buf, size_t n) {
    if (isnan(f)) { snprintf(buf, n, "nan"); return; }
    if (isinf(f)) { snprintf(buf, n, f < 0 ? "-inf" : "inf"); return; }
    /* shortest digits that round-trip, then Python's layout rules */
    char dig[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(dig, sizeof dig, "%.*e", prec - 1, f);
        if (strtod(dig, NULL) == f) break;
    }
    /* dig: [-]d.ddde[+-]XX */
    const char *s = dig;
    bool neg = false;
    if (*s == '-') { neg = true; s++; }
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[nd++] = *s;
    digits[nd] = 0;
    int exp10 = atoi(s + 1);
    while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = 0;
    char out[64];
    int o = 0;
    if (neg) out[o++] = '-';
    if (exp10 < -4 || exp10 >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int i = 1; i < nd; i++) out[o++] = digits[i];
        }
        o += snprintf(out + o, sizeof out - (size_t)o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++) out[o++] = '0';
        for (int i = 0; i < nd; i++) out[o++] = digits[i];
        out[o] = 0;
    } else {
        for (int i = 0; i <= exp10; i++) out[o++] = i < nd ? digits[i] : '0';
        out[o++] = '.';
        if (nd > exp10 + 1) for (int i = exp10 + 1; i < nd; i++) out[o++] = digits[i];
        else out[o++] = '0';
        out[o] = 0;
    }
    snprintf(buf, n, "%s", out);
}

/* Python's str.isprintable() for one code point, without the Unicode
 * tables: control, format, separator (except ' ') and private-use ranges. */
static bool py_printable(uint32_t cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) return false;
    if (cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
        (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
        (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xd800 && cp <= 0xdfff) || cp >= 0xf0000)
        return false;
    return true;
}

static void repr_str(jctx *c, jbuf *b, const char *p, size_t n) {
    bool has_sq = memchr(p, '\'', n) != NULL, has_dq = memchr(p, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    jb_put(c, b, &q, 1);
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)p[i];
        size_t len = 1;
        uint32_t cp = ch;
        if (ch >= 0x80) cp = hearth_utf8_decode_lenient(p + i, n - i, &len);
        const char *esc = NULL;
        char tmp[16];
        if (ch == '\\') esc = "\\\\";
        else if (ch == '\n') esc = "\\n";
        else if (ch == '\r') esc = "\\r";
        else if (ch == '\t') esc = "\\t";
        else if (ch == (unsigned char)q) esc = q == '\'' ? "\\'" : "\\\"";
        else if (!py_printable(cp)) {
            if (cp < 0x100) snprintf(tmp, sizeof tmp, "\\x%02x", cp);
            else if (cp < 0x10000) snprintf(tmp, sizeof tmp, "\\u%04x", cp);
            else snprintf(tmp, sizeof tmp, "\\U%08x", cp);
            esc = tmp;
        }
        if (esc) {
            jb_put(c, b, p + run, i - run);
            jb_puts(c, b, esc);
            run = i + len;
        }
        i += len;
    }
    jb_put(c, b, p + run, n - run);
    jb_put(c, b, &q, 1);
}

static void repr_to(jctx *c, jbuf *b, jval v, int depth) {
    char tmp[64];
    jstep(c, 1);
    if (depth > 200) jfail(c, HEARTH_ERR_RANGE, "value nested too deeply to print");
    switch (v.t) {
    case JV_UNDEF: break;
    case JV_NONE: jb_puts(c, b, "None"); break;
    case JV_BOOL: jb_puts(c, b, v.u.b ? "True" : "False"); break;
    case JV_INT: jb_printf(c, b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT: jv_float_repr(v.u.f, tmp, sizeof tmp); jb_puts(c, b, tmp); break;
    case JV_STR: repr_str(c, b, v.u.s.p, v.u.s.n); break;
    case JV_LIST:
        jb_puts(c, b, v.tuple ? "(" : "[");
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jb_puts(c, b, ", ");
            repr_to(c, b, v.u.l->v[i], depth + 1);
        }
        if (v.tuple && v.u.l->n == 1) jb_puts(c, b, ",");
        jb_puts(c, b, v.tuple ? ")" : "]");
        break;
    case JV_DICT:
        jb_puts(c, b, "{");
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_puts(c, b, ", ");
            repr_to(c, b, v.u.d->k[i], depth + 1);
            jb_puts(c, b, ": ");
            repr_to(c, b, v.u.d->v[i], depth + 1);
        }
        jb_puts(c, b, "}");
        break;
    case JV_NS:
        jb_puts(c, b, "<Namespace {");
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_puts(c, b, ", ");
            repr_to(c, b, v.u.d->k[i], depth + 1);
            jb_puts(c, b, ": ");
            repr_to(c, b, v.u.d->v[i], depth + 1);
        }
        jb_puts(c, b, "}>");
        break;
    case JV_MACRO: jb_printf(c, b, "<Macro '%s'>", v.u.m->def->name); break;
    case JV_FUNC: jb_puts(c, b, "<function>"); break;
    case JV_METHOD: jb_puts(c, b, "<built-in method>"); break;
    case JV_LOOP: jb_puts(c, b, "<LoopContext>"); break;
    }
}

void jv_repr_to(jctx *c, jbuf *b, jval v) { repr_to(c, b, v, 0); }

void jv_str_to(jctx *c, jbuf *b, jval v) {
    if (v.t == JV_STR) jb_put(c, b, v.u.s.p, v.u.s.n);
    else if (v.t == JV_UNDEF) {
        if (v.tuple) jcheck_defined(c, v);
    } else repr_to(c, b, v, 0);
}

jval jv_tostr(jctx *c, jval v) {
    if (v.t == JV_STR) return v;
    jbuf b = {0};
    jv_str_to(c, &b, v);
    return jb_val(&b);
}

/* ---- json.dumps ---------------------------------------------------------------------- */
static void json_str(jctx *c, jbuf *b, const char *p, size_t n) {
    jb_put(c, b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        const char *esc = NULL;
        char tmp[8];
        if (ch == '"') esc = "\\\"";
        else if (ch == '\\') esc = "\\\\";
        else if (ch == '\n') esc = "\\n";
        else if (ch == '\r') esc = "\\r";
        else if (ch == '\t') esc = "\\t";
        else if (ch == '\b') esc = "\\b";
        else if (ch == '\f') esc = "\\f";
        else if (ch < 0x20) { snprintf(tmp, sizeof tmp, "\\u%04x", ch); esc = tmp; }
        if (esc) {
            jb_put(c, b, p + run, i - run);
            jb_puts(c, b, esc);
            run = i + 1;
        }
    }
    jb_put(c, b, p + run, n - run);
    jb_put(c, b, "\"", 1);
}

static void json_nl(jctx *c, jbuf *b, int indent, int level) {
    jb_put(c, b, "\n", 1);
    for (int i = 0; i < indent * level; i++) jb_put(c, b, " ", 1);
}

void jv_json_to(jctx *c, jbuf *b, jval v, int indent, const char *item_sep, const char *key_sep,
                bool sort_keys, int level) {
    char tmp[64];
    jstep(c, 1);
    if (level > 200) jfail(c, HEARTH_ERR_RANGE, "value nested too deeply for tojson");
    switch (v.t) {
    case JV_NONE: jb_puts(c, b, "null"); return;
    case JV_BOOL: jb_puts(c, b, v.u.b ? "true" : "false"); return;
    case JV_INT: jb_printf(c, b, "%lld", (long long)v.u.i); return;
    case JV_FLOAT:
        if (isnan(v.u.f)) jb_puts(c, b, "NaN");
        else if (isinf(v.u.f)) jb_puts(c, b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else { jv_float_repr(v.u.f, tmp, sizeof tmp); jb_puts(c, b, tmp); }
        return;
    case JV_STR: json_str(c, b, v.u.s.p, v.u.s.n); return;
    case JV_LIST: {
        jlist *l = v.u.l;
        if (l->n == 0) { jb_puts(c, b, "[]"); return; }
        jb_puts(c, b, "[");
        for (size_t i = 0; i < l->n; i++) {
            if (i) jb_puts(c, b, item_sep);
            if (indent >= 0) json_nl(c, b, indent, level + 1);
            jv_json_to(c, b, l->v[i], indent, item_sep, key_sep, sort_keys, level + 1);
        }
        if (indent >= 0) json_nl(c, b, indent, level);
        jb_puts(c, b, "]");
        return;
    }
    case JV_DICT: {
        jdict *d = v.u.d;
        if (d->n == 0) { jb_puts(c, b, "{}"); return; }
        size_t *order = jarena_alloc(&c->ar, d->n * sizeof(size_t));
        for (size_t i = 0; i < d->n; i++) order[i] = i;
        if (sort_keys)   /* insertion sort: dicts in templates are small */
            for (size_t i = 1; i < d->n; i++)
                for (size_t j = i; j > 0 && jv_compare(c, d->k[order[j - 1]], d->k[order[j]]) > 0; j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
        jb_puts(c, b, "{");
        for (size_t i = 0; i < d->n; i++) {
            jval k = d->k[order[i]];
            if (i) jb_puts(c, b, item_sep);
            if (indent >= 0) json_nl(c, b, indent, level + 1);
            if (k.t == JV_STR) json_str(c, b, k.u.s.p, k.u.s.n);
            else if (k.t == JV_INT || k.t == JV_FLOAT || k.t == JV_BOOL || k.t == JV_NONE) {
                jbuf kb = {0};
                jv_json_to(c, &kb, k, -1, ", ", ": ", false, 0);
                json_str(c, b, kb.data ? kb.data : "", kb.len);
            } else jfail(c, HEARTH_ERR_FORMAT, "tojson: keys must be str, int, float, bool or None, not %s", jv_type_name(k));
            jb_puts(c, b, key_sep);
            jv_json_to(c, b, d->v[order[i]], indent, item_sep, key_sep, sort_keys, level + 1);
        }
        if (indent >= 0) json_nl(c, b, indent, level);
        jb_puts(c, b, "}");
        return;
    }
    default:
        jfail(c, HEARTH_ERR_FORMAT, "tojson: Object of type %s is not JSON serializable", jv_type_name(v));
    }
}

/* ---- from cJSON ------------------------------------------------------------------------- */
jval jv_from_cjson(jctx *c, const cJSON *j) {
    if (!j) return jv_undef();
    if (cJSON_IsNull(j)) return jv_none();
    if (cJSON_IsBool(j)) return jv_bool(cJSON_IsTrue(j));
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0) return jv_int((int64_t)d);
        return jv_float(d);
    }
    if (cJSON_IsString(j)) return jv_str(c, j->valuestring ? j->valuestring : "");
    if (cJSON_IsRaw(j)) return jv_str(c, j->valuestring ? j->valuestring : "");
    if (cJSON_IsArray(j)) {
        jval l = jv_list(c, (size_t)cJSON_GetArraySize(j));
        for (const cJSON *e = j->child; e; e = e->next) jl_push(c, l.u.l, jv_from_cjson(c, e));
        return l;
    }
    if (cJSON_IsObject(j)) {
        jval d = jv_dict(c, (size_t)cJSON_GetArraySize(j));
        for (const cJSON *e = j->child; e; e = e->next)
            jd_set(c, d.u.d, jv_str(c, e->string ? e->string : ""), jv_from_cjson(c, e));
        return d;
    }
    return jv_none();
}

/* ---- from JSON text ------------------------------------------------------------------------ */
typedef struct jp { jctx *c; const char *p; size_t n, i; int depth; } jp;

static _Noreturn void jp_fail(jp *J, const char *what) {
    int line = 1, col = 1;
    for (size_t k = 0; k < J->i && k < J->n; k++) {
        if (J->p[k] == '\n') { line++; col = 1; } else col++;
    }
    J->c->line = 0;
    jfail(J->c, HEARTH_ERR_FORMAT, "context JSON: %s at line %d, column %d", what, line, col);
}

static void jp_ws(jp *J) {
    while (J->i < J->n && (J->p[J->i] == ' ' || J->p[J->i] == '\t' || J->p[J->i] == '\n' || J->p[J->i] == '\r')) J->i++;
}

static int jp_hex4(jp *J) {
    if (J->i + 4 > J->n) jp_fail(J, "truncated \\u escape");
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = J->p[J->i + (size_t)k];
        int h = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (h < 0) jp_fail(J, "bad \\u escape");
        v = v * 16 + h;
    }
    J->i += 4;
    return v;
}

static jval jp_string(jp *J) {
    J->i++;   /* opening quote */
    size_t start = J->i;
    while (J->i < J->n && J->p[J->i] != '"') {
        if (J->p[J->i] == '\\') J->i++;
        J->i++;
    }
    if (J->i >= J->n) jp_fail(J, "unterminated string");
    size_t end = J->i;
    char *o = jarena_alloc(&J->c->ar, end - start + 1);
    size_t on = 0;
    J->i = start;
    while (J->i < end) {
        char ch = J->p[J->i++];
        if ((unsigned char)ch < 0x20) jp_fail(J, "control character in string");
        if (ch != '\\') { o[on++] = ch; continue; }
        char e = J->p[J->i++];
        switch (e) {
        case '"': o[on++] = '"'; break;
        case '\\': o[on++] = '\\'; break;
        case '/': o[on++] = '/'; break;
        case 'b': o[on++] = '\b'; break;
        case 'f': o[on++] = '\f'; break;
        case 'n': o[on++] = '\n'; break;
        case 'r': o[on++] = '\r'; break;
        case 't': o[on++] = '\t'; break;
        case 'u': {
            uint32_t cp = (uint32_t)jp_hex4(J);
            if (cp >= 0xD800 && cp < 0xDC00 && J->i + 6 <= end && J->p[J->i] == '\\' && J->p[J->i + 1] == 'u') {
                size_t save = J->i;
                J->i += 2;
                uint32_t lo = (uint32_t)jp_hex4(J);
                if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else J->i = save;
            }
            on += hearth_utf8_encode(cp, o + on);   /* 6 source bytes -> at most 4 */
            break;
        }
        default: jp_fail(J, "bad escape in string");
        }
    }
    J->i = end + 1;
    return jv_strn(o, on);
}

static jval jp_value(jp *J) {
    jp_ws(J);
    if (J->i >= J->n) jp_fail(J, "unexpected end of input");
    if (++J->depth > 500) jp_fail(J, "nested too deeply");
    char ch = J->p[J->i];
    jval r;
    if (ch == '{') {
        J->i++;
        r = jv_dict(J->c, 0);
        jp_ws(J);
        if (J->i < J->n && J->p[J->i] == '}') J->i++;
        else for (;;) {
            jp_ws(J);
            if (J->i >= J->n || J->p[J->i] != '"') jp_fail(J, "expected a string key");
            jval k = jp_string(J);
            jp_ws(J);
            if (J->i >= J->n || J->p[J->i] != ':') jp_fail(J, "expected ':'");
            J->i++;
            jval v = jp_value(J);
            jd_set(J->c, r.u.d, k, v);
            jp_ws(J);
            if (J->i < J->n && J->p[J->i] == ',') { J->i++; continue; }
            if (J->i < J->n && J->p[J->i] == '}') { J->i++; break; }
            jp_fail(J, "expected ',' or '}'");
        }
    } else if (ch == '[') {
        J->i++;
        r = jv_list(J->c, 0);
        jp_ws(J);
        if (J->i < J->n && J->p[J->i] == ']') J->i++;
        else for (;;) {
            jl_push(J->c, r.u.l, jp_value(J));
            jp_ws(J);
            if (J->i < J->n && J->p[J->i] == ',') { J->i++; continue; }
            if (J->i < J->n && J->p[J->i] == ']') { J->i++; break; }
            jp_fail(J, "expected ',' or ']'");
        }
    } else if (ch == '"') {
        r = jp_string(J);
    } else if (J->n - J->i >= 4 && memcmp(J->p + J->i, "true", 4) == 0) {
        J->i += 4; r = jv_bool(true);
    } else if (J->n - J->i >= 5 && memcmp(J->p + J->i, "false", 5) == 0) {
        J->i += 5; r = jv_bool(false);
    } else if (J->n - J->i >= 4 && memcmp(J->p + J->i, "null", 4) == 0) {
        J->i += 4; r = jv_none();
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        size_t s = J->i;
        bool isf = false;
        if (J->p[J->i] == '-') J->i++;
        while (J->i < J->n && J->p[J->i] >= '0' && J->p[J->i] <= '9') J->i++;
        if (J->i < J->n && J->p[J->i] == '.') { isf = true; J->i++; while (J->i < J->n && J->p[J->i] >= '0' && J->p[J->i] <= '9') J->i++; }
        if (J->i < J->n && (J->p[J->i] == 'e' || J->p[J->i] == 'E')) {
            isf = true;
            J->i++;
            if (J->i < J->n && (J->p[J->i] == '+' || J->p[J->i] == '-')) J->i++;
            while (J->i < J->n && J->p[J->i] >= '0' && J->p[J->i] <= '9') J->i++;
        }
        char buf[64];
        size_t bl = J->i - s;
        if (bl == 0 || bl >= sizeof buf || (bl == 1 && J->p[s] == '-')) jp_fail(J, "bad number");
        memcpy(buf, J->p + s, bl);
        buf[bl] = 0;
        if (!isf) {
            char *e;
            long long v = strtoll(buf, &e, 10);
            if ((v == LLONG_MAX || v == LLONG_MIN) && bl > 18) r = jv_float(strtod(buf, NULL));   /* beyond int64 */
            else r = jv_int(v);
        } else r = jv_float(strtod(buf, NULL));
    } else {
        jp_fail(J, "unexpected character");
    }
    J->depth--;
    return r;
}

jval jv_from_json_text(jctx *c, const char *p, size_t n) {
    jp J = {c, p, n, 0, 0};
    jval v = jp_value(&J);
    jp_ws(&J);
    if (J.i != n) jp_fail(&J, "extra text after the JSON value");
    return v;
}
