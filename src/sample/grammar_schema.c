/*
 * grammar_schema.c — a JSON Schema compiled to a grammar of the instance's
 * json.dumps text (see grammar.h for the format and what is supported).
 *
 * Every keyword either shapes the grammar or is an annotation; a keyword
 * that would constrain the value in a way the grammar cannot express makes
 * compilation fail with its name and location. allOf (and $ref with
 * siblings) are merged into one schema first; anyOf/oneOf with siblings
 * are distributed (A and (B or C) = (A and B) or (A and C)).
 */
#include "grammar_internal.h"

#include "core/buf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMPILE_DEPTH 64
#define MAX_MERGE_DEPTH 32
#define MAX_ITEMS_UNROLL 2000

typedef struct refc {
    const cJSON *node;
    int32_t rule;
} refc;

typedef struct sc {
    gr_builder *b;
    const cJSON *root;
    bool old_ref;        /* draft-04..07: $ref's siblings are ignored */
    refc *refs;
    size_t n_refs, cap_refs;
    cJSON **owned;       /* merged schemas made while compiling */
    size_t n_owned, cap_owned;
    int depth;
    char path[512];      /* JSON pointer of the schema being compiled */
    int32_t r_value, r_string, r_number, r_int, r_bool, r_null, r_str_content;
} sc;

static int32_t compile(sc *c, const cJSON *s);

static int32_t fail(sc *c, hearth_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int32_t fail(sc *c, hearth_status st, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gr_fail(c->b, st, "schema %s: %s", c->path[0] ? c->path : "/", msg);
    return -1;
}

static size_t path_push(sc *c, const char *a, const char *b) {
    size_t n = strlen(c->path);
    snprintf(c->path + n, sizeof c->path - n, "/%s%s%s", a, b ? "/" : "", b ? b : "");
    return n;
}
static void path_pop(sc *c, size_t n) { c->path[n] = 0; }

static cJSON *own(sc *c, cJSON *j) {
    if (!j) return NULL;
    if (!HEARTH_GROW(c->owned, c->cap_owned, c->n_owned + 1)) {
        cJSON_Delete(j);
        return NULL;
    }
    c->owned[c->n_owned++] = j;
    return j;
}

/* ==== canonical JSON text (json.dumps, ensure_ascii=False) ======================= */
static void dump_str(hearth_buf *o, const char *s) {
    hearth_buf_putc(o, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if (ch == '"') hearth_buf_puts(o, "\\\"");
        else if (ch == '\\') hearth_buf_puts(o, "\\\\");
        else if (ch == '\n') hearth_buf_puts(o, "\\n");
        else if (ch == '\r') hearth_buf_puts(o, "\\r");
        else if (ch == '\t') hearth_buf_puts(o, "\\t");
        else if (ch == '\b') hearth_buf_puts(o, "\\b");
        else if (ch == '\f') hearth_buf_puts(o, "\\f");
        else if (ch < 0x20) hearth_buf_printf(o, "\\u%04x", ch);
        else hearth_buf_putc(o, (char)ch);
    }
    hearth_buf_putc(o, '"');
}

static void dump_num(hearth_buf *o, double x) {
    if (x == floor(x) && fabs(x) < 1e16) {
        hearth_buf_printf(o, "%lld", (long long)x);
        return;
    }
    char t[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*g", p, x);
        if (strtod(t, NULL) == x) break;
    }
    hearth_buf_puts(o, t);
    if (!strpbrk(t, ".e")) hearth_buf_puts(o, ".0");
}

static void dump(hearth_buf *o, const cJSON *j) {
    if (cJSON_IsNull(j)) hearth_buf_puts(o, "null");
    else if (cJSON_IsTrue(j)) hearth_buf_puts(o, "true");
    else if (cJSON_IsFalse(j)) hearth_buf_puts(o, "false");
    else if (cJSON_IsNumber(j)) dump_num(o, j->valuedouble);
    else if (cJSON_IsString(j)) dump_str(o, j->valuestring);
    else if (cJSON_IsArray(j)) {
        hearth_buf_putc(o, '[');
        for (const cJSON *e = j->child; e; e = e->next) {
            dump(o, e);
            if (e->next) hearth_buf_puts(o, ", ");
        }
        hearth_buf_putc(o, ']');
    } else if (cJSON_IsObject(j)) {
        hearth_buf_putc(o, '{');
        for (const cJSON *e = j->child; e; e = e->next) {
            dump_str(o, e->string);
            hearth_buf_puts(o, ": ");
            dump(o, e);
            if (e->next) hearth_buf_puts(o, ", ");
        }
        hearth_buf_putc(o, '}');
    }
}

/* a rule that is exactly literal JSON value j */
static int32_t literal(sc *c, const cJSON *j) {
    hearth_buf o = {0};
    dump(&o, j);
    int32_t r = gr_lit_rule(c->b, o.data ? o.data : "", o.len);
    hearth_buf_free(&o);
    return r;
}

static int32_t alt1(sc *c, int32_t r, const int32_t *els, size_t n) {
    gr_alt(c->b, r, els, n);
    return r;
}

/* ==== shared rules ================================================================ */
static int32_t str_content(sc *c) {
    if (c->r_str_content < 0) c->r_str_content = gr_regex_rule(c->b, "^[^]*$", 0, -1, RX_JSON, "string");
    return c->r_str_content;
}

static int32_t quoted(sc *c, int32_t content) {
    int32_t r = gr_rule_new(c->b);
    int32_t q = gr_byte(c->b, '"');
    int32_t seq[3] = {q, GR_REF(content), q};
    return alt1(c, r, seq, 3);
}

static int32_t any_string(sc *c) {
    if (c->r_string < 0) c->r_string = quoted(c, str_content(c));
    return c->r_string;
}

static int32_t number_rule(sc *c) {
    if (c->r_number < 0) {
        int32_t r = gr_regex_rule(c->b, "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$", 0, -1, RX_RAW, "number");
        c->r_number = r;
    }
    return c->r_number;
}

static int32_t int_rule(sc *c) {
    if (c->r_int < 0) c->r_int = gr_regex_rule(c->b, "^-?(0|[1-9][0-9]*)$", 0, -1, RX_RAW, "integer");
    return c->r_int;
}

static int32_t any_value(sc *c) {
    if (c->r_value >= 0) return c->r_value;
    gr_builder *b = c->b;
    int32_t v = c->r_value = gr_rule_new(b);
    int32_t str = any_string(c);
    /* object: { (k: v (, k: v)*)? } */
    int32_t kv = gr_rule_new(b), more = gr_rule_new(b), obj = gr_rule_new(b);
    gr_seq q = {0};
    gr_seq_push(&q, GR_REF(str));
    gr_lit(b, &q, ": ", 2);
    gr_seq_push(&q, GR_REF(v));
    gr_alt_seq(b, kv, &q);
    q.n = 0;
    gr_lit(b, &q, ", ", 2);
    gr_seq_push(&q, GR_REF(kv));
    gr_seq_push(&q, GR_REF(more));
    gr_alt_seq(b, more, &q);
    gr_alt(b, more, NULL, 0);
    q.n = 0;
    gr_lit(b, &q, "{}", 2);
    gr_alt_seq(b, obj, &q);
    q.n = 0;
    gr_lit(b, &q, "{", 1);
    gr_seq_push(&q, GR_REF(kv));
    gr_seq_push(&q, GR_REF(more));
    gr_lit(b, &q, "}", 1);
    gr_alt_seq(b, obj, &q);
    /* array */
    int32_t amore = gr_rule_new(b), arr = gr_rule_new(b);
    q.n = 0;
    gr_lit(b, &q, ", ", 2);
    gr_seq_push(&q, GR_REF(v));
    gr_seq_push(&q, GR_REF(amore));
    gr_alt_seq(b, amore, &q);
    gr_alt(b, amore, NULL, 0);
    q.n = 0;
    gr_lit(b, &q, "[]", 2);
    gr_alt_seq(b, arr, &q);
    q.n = 0;
    gr_lit(b, &q, "[", 1);
    gr_seq_push(&q, GR_REF(v));
    gr_seq_push(&q, GR_REF(amore));
    gr_lit(b, &q, "]", 1);
    gr_alt_seq(b, arr, &q);
    gr_seq_free(&q);
    int32_t refs[6] = {GR_REF(obj), GR_REF(arr), GR_REF(str), GR_REF(number_rule(c)), GR_REF(gr_lit_rule(b, "true", 4)),
                       GR_REF(gr_lit_rule(b, "false", 5))};
    for (int i = 0; i < 6; i++) gr_alt(b, v, &refs[i], 1);
    int32_t nul = GR_REF(gr_lit_rule(b, "null", 4));
    gr_alt(b, v, &nul, 1);
    return v;
}

/* ==== references ================================================================== */
static const cJSON *resolve_ref(sc *c, const char *ref) {
    if (ref[0] != '#') return NULL;
    const char *frag = ref + 1;
    if (*frag == 0) return c->root;
    if (*frag != '/') {
        /* an anchor: search $anchor / draft-07 "$id": "#name" everywhere under the root */
        const cJSON *stack[512];
        int sp = 0;
        stack[sp++] = c->root;
        while (sp) {
            const cJSON *n = stack[--sp];
            if (cJSON_IsObject(n)) {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(n, "$anchor");
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(n, "$id");
                if ((cJSON_IsString(a) && !strcmp(a->valuestring, frag)) ||
                    (cJSON_IsString(id) && id->valuestring[0] == '#' && !strcmp(id->valuestring + 1, frag)))
                    return n;
            }
            if (cJSON_IsObject(n) || cJSON_IsArray(n))
                for (const cJSON *ch = n->child; ch && sp < 511; ch = ch->next)
                    if (cJSON_IsObject(ch) || cJSON_IsArray(ch)) stack[sp++] = ch;
        }
        return NULL;
    }
    const cJSON *n = c->root;
    const char *p = frag;
    while (n && *p == '/') {
        p++;
        char tok[256];
        size_t m = 0;
        while (*p && *p != '/' && m + 1 < sizeof tok) {
            if (p[0] == '~' && p[1] == '0') tok[m++] = '~', p += 2;
            else if (p[0] == '~' && p[1] == '1') tok[m++] = '/', p += 2;
            else if (p[0] == '%' && p[1] && p[2]) {
                char hx[3] = {p[1], p[2], 0};
                tok[m++] = (char)strtol(hx, NULL, 16);
                p += 3;
            } else tok[m++] = *p++;
        }
        tok[m] = 0;
        if (cJSON_IsArray(n)) n = cJSON_GetArrayItem(n, atoi(tok));
        else n = cJSON_GetObjectItemCaseSensitive(n, tok);
    }
    return n;
}

/* ==== keyword classes ================================================================ */
static const char *const IGNORED[] = {"$schema", "$id", "id", "$comment", "title", "description", "default",
                                      "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
                                      "contentMediaType", "contentEncoding", "$anchor", "$dynamicAnchor",
                                      "$vocabulary", "discriminator", "nullable", "example", NULL};
static const char *const SUPPORTED[] = {"type", "enum", "const", "properties", "required", "additionalProperties",
                                        "items", "prefixItems", "additionalItems", "minItems", "maxItems", "anyOf",
                                        "oneOf", "allOf", "$ref", "minLength", "maxLength", "pattern", "format",
                                        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                                        "minProperties", "maxProperties", "uniqueItems", "then", "else", "not",
                                        "patternProperties", NULL};
static const char *const REFUSED[] = {"if", "dependentRequired", "dependentSchemas", "dependencies", "propertyNames", "contains", "minContains", "maxContains",
                                      "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
                                      "contentSchema", NULL};

static bool in_list(const char *const *l, const char *k) {
    for (int i = 0; l[i]; i++)
        if (!strcmp(l[i], k)) return true;
    return false;
}

/* true when the schema object constrains nothing */
static bool is_empty_schema(const cJSON *s) {
    if (cJSON_IsTrue(s)) return true;
    if (!cJSON_IsObject(s)) return false;
    for (const cJSON *k = s->child; k; k = k->next)
        if (in_list(SUPPORTED, k->string) || in_list(REFUSED, k->string)) return false;
    return true;
}

/* ==== allOf: merging schemas ============================================================ */
static cJSON *merge(sc *c, const cJSON *a, const cJSON *b, int depth);

static cJSON *deref(sc *c, const cJSON *s, int depth) {
    /* inlines a $ref (and its target's $refs) so that merging sees the keywords */
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (!cJSON_IsString(r)) return cJSON_Duplicate(s, true);
    if (depth > MAX_MERGE_DEPTH) return NULL;
    const cJSON *t = resolve_ref(c, r->valuestring);
    if (!t) return NULL;
    cJSON *rest = cJSON_Duplicate(s, true);
    cJSON_DeleteItemFromObjectCaseSensitive(rest, "$ref");
    if (c->old_ref) {
        cJSON_Delete(rest);
        return deref(c, t, depth + 1);
    }
    cJSON *td = deref(c, t, depth + 1);
    if (!td) {
        cJSON_Delete(rest);
        return NULL;
    }
    cJSON *m = merge(c, td, rest, depth + 1);
    cJSON_Delete(td);
    cJSON_Delete(rest);
    return m;
}

static cJSON *all_of(cJSON *a, cJSON *b) {
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, a);
    cJSON_AddItemToArray(arr, b);
    cJSON_AddItemToObject(o, "allOf", arr);
    return o;
}

/* a merged with b (both object schemas or booleans); NULL (error set) if
 * they cannot be merged */
static cJSON *merge(sc *c, const cJSON *a, const cJSON *b, int depth) {
    if (depth > MAX_MERGE_DEPTH) {
        fail(c, HEARTH_ERR_RANGE, "allOf/$ref nested more than %d levels deep", MAX_MERGE_DEPTH);
        return NULL;
    }
    if (cJSON_IsFalse(a) || cJSON_IsFalse(b)) return cJSON_CreateFalse();
    if (cJSON_IsTrue(a)) return deref(c, b, depth);
    if (cJSON_IsTrue(b)) return deref(c, a, depth);
    cJSON *x = deref(c, a, depth), *y = deref(c, b, depth);
    if (!x || !y) {
        cJSON_Delete(x), cJSON_Delete(y);
        fail(c, HEARTH_ERR_UNSUPPORTED, "$ref cannot be resolved (only local references '#...' are)");
        return NULL;
    }
    /* nested allOf inside either side: flatten first */
    for (int side = 0; side < 2; side++) {
        cJSON **s = side ? &y : &x;
        cJSON *al = cJSON_DetachItemFromObjectCaseSensitive(*s, "allOf");
        if (!al) continue;
        for (cJSON *e = al->child; e; e = e->next) {
            cJSON *m = merge(c, *s, e, depth + 1);
            if (!m) {
                cJSON_Delete(al), cJSON_Delete(x), cJSON_Delete(y);
                return NULL;
            }
            cJSON_Delete(*s);
            *s = m;
        }
        cJSON_Delete(al);
    }
    if (cJSON_IsFalse(x) || cJSON_IsFalse(y)) {
        cJSON_Delete(x), cJSON_Delete(y);
        return cJSON_CreateFalse();
    }
    cJSON *o = cJSON_Duplicate(x, true);
    for (cJSON *k = y->child; k; k = k->next) {
        const char *key = k->string;
        cJSON *mine = cJSON_GetObjectItemCaseSensitive(o, key);
        if (!mine) {
            cJSON_AddItemToObject(o, key, cJSON_Duplicate(k, true));
            continue;
        }
        if (cJSON_Compare(mine, k, true)) continue;
        cJSON *nv = NULL;
        if (!strcmp(key, "properties")) {
            nv = cJSON_Duplicate(mine, true);
            for (cJSON *p = k->child; p; p = p->next) {
                cJSON *q = cJSON_GetObjectItemCaseSensitive(nv, p->string);
                if (!q) cJSON_AddItemToObject(nv, p->string, cJSON_Duplicate(p, true));
                else if (!cJSON_Compare(q, p, true))
                    cJSON_ReplaceItemInObjectCaseSensitive(nv, p->string,
                                                           all_of(cJSON_Duplicate(q, true), cJSON_Duplicate(p, true)));
            }
        } else if (!strcmp(key, "required")) {
            nv = cJSON_Duplicate(mine, true);
            for (cJSON *p = k->child; p; p = p->next) {
                bool have = false;
                for (cJSON *q = nv->child; q && !have; q = q->next) have = cJSON_Compare(p, q, true);
                if (!have) cJSON_AddItemToArray(nv, cJSON_Duplicate(p, true));
            }
        } else if (!strcmp(key, "type")) {
            /* intersection of the two type lists */
            const char *names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
            nv = cJSON_CreateArray();
            for (int i = 0; i < 7; i++) {
                bool in[2] = {false, false};
                const cJSON *ts[2] = {mine, k};
                for (int s = 0; s < 2; s++) {
                    if (cJSON_IsString(ts[s])) in[s] = !strcmp(ts[s]->valuestring, names[i]) || (i == 6 && !strcmp(ts[s]->valuestring, "number"));
                    else
                        for (const cJSON *t = ts[s]->child; t; t = t->next)
                            in[s] |= cJSON_IsString(t) && (!strcmp(t->valuestring, names[i]) || (i == 6 && !strcmp(t->valuestring, "number")));
                }
                if (in[0] && in[1]) cJSON_AddItemToArray(nv, cJSON_CreateString(names[i]));
            }
            if (!nv->child) {
                cJSON_Delete(nv);
                cJSON_Delete(o), cJSON_Delete(x), cJSON_Delete(y);
                return cJSON_CreateFalse();
            }
        } else if (!strcmp(key, "minLength") || !strcmp(key, "minItems") || !strcmp(key, "minimum") ||
                   !strcmp(key, "minProperties") || (!strcmp(key, "exclusiveMinimum") && cJSON_IsNumber(k))) {
            nv = cJSON_CreateNumber(fmax(mine->valuedouble, k->valuedouble));
        } else if (!strcmp(key, "maxLength") || !strcmp(key, "maxItems") || !strcmp(key, "maximum") ||
                   !strcmp(key, "maxProperties") || (!strcmp(key, "exclusiveMaximum") && cJSON_IsNumber(k))) {
            nv = cJSON_CreateNumber(fmin(mine->valuedouble, k->valuedouble));
        } else if (!strcmp(key, "items") || !strcmp(key, "additionalProperties")) {
            nv = all_of(cJSON_Duplicate(mine, true), cJSON_Duplicate(k, true));
        } else if (in_list(IGNORED, key) || (!in_list(SUPPORTED, key) && !in_list(REFUSED, key))) {
            continue;   /* annotations: keep the first */
        } else {
            cJSON_Delete(o), cJSON_Delete(x), cJSON_Delete(y);
            fail(c, HEARTH_ERR_UNSUPPORTED, "allOf: '%s' differs between the merged schemas; cannot be enforced", key);
            return NULL;
        }
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, nv);
    }
    /* additionalProperties of one side applies to the other side's properties */
    for (int side = 0; side < 2; side++) {
        const cJSON *me = side ? y : x, *other = side ? x : y;
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(me, "additionalProperties");
        if (!ap || cJSON_IsTrue(ap)) continue;
        const cJSON *myp = cJSON_GetObjectItemCaseSensitive(me, "properties");
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(other, "properties");
        cJSON *props = cJSON_GetObjectItemCaseSensitive(o, "properties");
        for (const cJSON *p = op ? op->child : NULL; p; p = p->next) {
            if (myp && cJSON_GetObjectItemCaseSensitive(myp, p->string)) continue;
            cJSON *cur = cJSON_GetObjectItemCaseSensitive(props, p->string);
            if (cur)
                cJSON_ReplaceItemInObjectCaseSensitive(props, p->string,
                                                       all_of(cJSON_Duplicate(cur, true), cJSON_Duplicate(ap, true)));
        }
    }
    cJSON_Delete(x), cJSON_Delete(y);
    return o;
}

/* ==== numbers ============================================================================ */
typedef struct irange {   /* integers [lo, hi]; hi < 0: unbounded */
    long long lo, hi;
} irange;

/* digits of v */
static int ndig(long long v) {
    int n = 1;
    while (v >= 10) v /= 10, n++;
    return n;
}

static long long p10(int n) {
    long long p = 1;
    while (n-- > 0) p *= 10;
    return p;
}

/* appends to rule r the fixed-length digit strings between a and b (same length n) */
static void digits_between(sc *c, int32_t r, const char *a, const char *b, int n, gr_seq *prefix) {
    gr_builder *g = c->b;
    if (n == 0) {
        gr_alt_seq(g, r, prefix);
        return;
    }
    if (a[0] == b[0]) {
        gr_seq_push(prefix, gr_byte(g, (unsigned char)a[0]));
        digits_between(c, r, a + 1, b + 1, n - 1, prefix);
        prefix->n--;
        return;
    }
    char nines[24], zeros[24];
    memset(nines, '9', (size_t)n), memset(zeros, '0', (size_t)n);
    bool a_low = !memcmp(a + 1, zeros, (size_t)n - 1), b_high = !memcmp(b + 1, nines, (size_t)n - 1);
    gr_bits d = {{0}};
    gr_bits_range(&d, '0', '9');
    int32_t de = gr_class(g, &d);
    /* first digits whose whole tail is free: [f0 .. f1] [0-9]{n-1} */
    unsigned f0 = a_low ? (unsigned)a[0] : (unsigned)a[0] + 1, f1 = b_high ? (unsigned)b[0] : (unsigned)b[0] - 1;
    if (!a_low) {   /* a0 followed by [a1.., 99..] */
        gr_seq_push(prefix, gr_byte(g, (unsigned char)a[0]));
        digits_between(c, r, a + 1, nines, n - 1, prefix);
        prefix->n--;
    }
    if (f0 <= f1) {
        gr_bits cl = {{0}};
        gr_bits_range(&cl, f0, f1);
        gr_seq_push(prefix, gr_class(g, &cl));
        for (int i = 1; i < n; i++) gr_seq_push(prefix, de);
        gr_alt_seq(g, r, prefix);
        prefix->n -= (size_t)n;
    }
    if (!b_high) {   /* b0 followed by [00.., b1..] */
        gr_seq_push(prefix, gr_byte(g, (unsigned char)b[0]));
        digits_between(c, r, zeros, b + 1, n - 1, prefix);
        prefix->n--;
    }
}

/* alternatives for the decimal digits of [lo, hi] (no leading zeros) */
static void int_range(sc *c, int32_t r, irange ir) {
    gr_builder *g = c->b;
    int nlo = ndig(ir.lo), nhi = ir.hi >= 0 ? ndig(ir.hi) : 19;
    for (int n = nlo; n <= nhi && n <= 18; n++) {
        long long a = n == 1 ? 0 : p10(n - 1), z = p10(n) - 1;
        if (a < ir.lo) a = ir.lo;
        if (ir.hi >= 0 && z > ir.hi) z = ir.hi;
        if (a > z) continue;
        char sa[24], sz[24];
        snprintf(sa, sizeof sa, "%lld", a), snprintf(sz, sizeof sz, "%lld", z);
        gr_seq pre = {0};
        digits_between(c, r, sa, sz, n, &pre);
        gr_seq_free(&pre);
    }
    if (ir.hi < 0) {
        /* 19 digits and more: [1-9][0-9]{18,} */
        int32_t more = gr_regex_rule(g, "^[1-9][0-9]{18}[0-9]*$", 0, -1, RX_RAW, "integer");
        int32_t e = GR_REF(more);
        gr_alt(g, r, &e, 1);
    }
}

/* fraction kinds after an integer part */
enum { F_ANY, F_ZERO, F_NONZERO, F_NONE };

static int32_t frac_rule(sc *c, int kind) {
    const char *pat = kind == F_ANY ? "^(\\.[0-9]+)?$" : kind == F_ZERO ? "^(\\.0+)?$" : "^\\.[0-9]*[1-9][0-9]*$";
    return gr_regex_rule(c->b, pat, 0, -1, RX_RAW, "number");
}

typedef struct piece {
    irange ir;
    int frac;
} piece;

/* magnitude pieces (integer part range, fraction kind) meeting a lower
 * bound `lb` (inclusive unless ex) on the magnitude m = I.F; has: bound present */
static int lower_pieces(long long lb, bool ex, bool has, piece *out) {
    if (!has || lb < 0 || (lb == 0 && !ex)) { out[0] = (piece){{0, -1}, F_ANY}; return 1; }
    if (!ex) { out[0] = (piece){{lb, -1}, F_ANY}; return 1; }
    out[0] = (piece){{lb + 1, -1}, F_ANY};
    out[1] = (piece){{lb, lb}, F_NONZERO};
    return 2;
}

static int upper_pieces(long long ub, bool ex, bool has, piece *out) {
    if (!has) { out[0] = (piece){{0, -1}, F_ANY}; return 1; }
    if (ub < 0 || (ub == 0 && ex)) return 0;
    int n = 0;
    if (ub >= 1) out[n++] = (piece){{0, ub - 1}, F_ANY};
    if (!ex) out[n++] = (piece){{ub, ub}, F_ZERO};
    return n;
}

static int frac_meet(int a, int b) {
    if (a == F_ANY) return b;
    if (b == F_ANY) return a;
    return a == b ? a : F_NONE;
}

static bool meet(irange a, irange b, irange *o) {
    long long lo = a.lo > b.lo ? a.lo : b.lo;
    long long hi = a.hi < 0 ? b.hi : b.hi < 0 ? a.hi : (a.hi < b.hi ? a.hi : b.hi);
    if (hi >= 0 && lo > hi) return false;
    *o = (irange){lo, hi};
    return true;
}

/* adds sign + pieces meeting both lists to rule r */
static void emit_pieces(sc *c, int32_t r, bool neg, const piece *lp, int nl, const piece *up, int nu, bool integer) {
    gr_builder *g = c->b;
    for (int i = 0; i < nl; i++)
        for (int j = 0; j < nu; j++) {
            irange ir;
            int fk = frac_meet(lp[i].frac, up[j].frac);
            if (fk == F_NONE || !meet(lp[i].ir, up[j].ir, &ir)) continue;
            if (integer && fk == F_NONZERO) continue;
            if (neg && ir.lo == 0) {
                /* -0 only with a non-zero fraction (-0.5); -0 itself is 0 */
                if (!integer && (fk == F_ANY || fk == F_NONZERO)) {
                    int32_t zr = gr_rule_new(g);
                    gr_seq q = {0};
                    gr_lit(g, &q, "-0", 2);
                    gr_seq_push(&q, GR_REF(frac_rule(c, F_NONZERO)));
                    gr_alt_seq(g, zr, &q);
                    gr_seq_free(&q);
                    int32_t e = GR_REF(zr);
                    gr_alt(g, r, &e, 1);
                }
                if (ir.hi == 0) continue;
                ir.lo = 1;
            }
            int32_t ints = gr_rule_new(g);
            int_range(c, ints, ir);
            gr_seq q = {0};
            if (neg) gr_lit(g, &q, "-", 1);
            gr_seq_push(&q, GR_REF(ints));
            if (!integer) gr_seq_push(&q, GR_REF(frac_rule(c, fk)));
            gr_alt_seq(g, r, &q);
            gr_seq_free(&q);
        }
}

static bool get_num(const cJSON *s, const char *k, double *v) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(s, k);
    if (!cJSON_IsNumber(j)) return false;
    *v = j->valuedouble;
    return true;
}

static int32_t numeric(sc *c, const cJSON *s, bool integer) {
    double lo = 0, hi = 0, v;
    bool has_lo = false, has_hi = false, ex_lo = false, ex_hi = false;
    if (get_num(s, "minimum", &v)) lo = v, has_lo = true;
    if (get_num(s, "maximum", &v)) hi = v, has_hi = true;
    if (get_num(s, "exclusiveMinimum", &v) && (!has_lo || v >= lo)) lo = v, has_lo = true, ex_lo = true;
    if (get_num(s, "exclusiveMaximum", &v) && (!has_hi || v <= hi)) hi = v, has_hi = true, ex_hi = true;
    /* draft-04: boolean exclusiveMinimum/Maximum modify minimum/maximum */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "exclusiveMinimum")) && has_lo) ex_lo = true;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "exclusiveMaximum")) && has_hi) ex_hi = true;
    if (get_num(s, "multipleOf", &v)) {
        if (v == 1 || (integer && v > 0 && v == floor(v) && v == 1)) integer = true;
        else return fail(c, HEARTH_ERR_UNSUPPORTED, "multipleOf %g cannot be enforced (only 1)", v);
    }
    if (!has_lo && !has_hi) return integer ? int_rule(c) : number_rule(c);
    if ((has_lo && fabs(lo) > 1e17) || (has_hi && fabs(hi) > 1e17))
        return fail(c, HEARTH_ERR_UNSUPPORTED, "a bound beyond 1e17 cannot be enforced");
    if (integer) {
        /* integer bounds: inclusive, rounded inwards */
        if (has_lo) lo = ex_lo ? floor(lo) + 1 : ceil(lo), ex_lo = false;
        if (has_hi) hi = ex_hi ? ceil(hi) - 1 : floor(hi), ex_hi = false;
    } else if ((has_lo && lo != floor(lo)) || (has_hi && hi != floor(hi))) {
        return fail(c, HEARTH_ERR_UNSUPPORTED, "a non-integer bound (%g) on a number cannot be enforced",
                    has_lo && lo != floor(lo) ? lo : hi);
    }
    int32_t r = gr_rule_new(c->b);
    long long L = (long long)lo, U = (long long)hi;
    piece lp[2], up[2];
    int nl, nu;
    /* x >= 0: magnitude m = x, lower bound L, upper bound U */
    if (!has_hi || U > 0 || (U == 0 && !ex_hi)) {
        nl = lower_pieces(L, ex_lo, has_lo, lp);
        nu = upper_pieces(U, ex_hi, has_hi, up);
        emit_pieces(c, r, false, lp, nl, up, nu, integer);
    }
    /* x < 0: magnitude m = -x; x >= L  <=>  m <= -L ; x <= U  <=>  m >= -U */
    if (!has_lo || L < 0) {
        nl = lower_pieces(has_hi ? -U : 0, ex_hi, has_hi && U < 0, lp);
        nu = upper_pieces(has_lo ? -L : 0, ex_lo, has_lo, up);
        emit_pieces(c, r, true, lp, nl, up, nu, integer);
    }
    return r;
}

/* ==== strings ============================================================================= */
static const char *format_regex(const char *f) {
#define DATE "\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))"
#define TIME "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)"
#define H16 "[0-9a-fA-F]{1,4}"
#define LABEL "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
#define UCH "(?:[a-zA-Z0-9._~!$&'()*+,;=:@-]|%[0-9a-fA-F]{2})"
    if (!strcmp(f, "date")) return "^" DATE "$";
    if (!strcmp(f, "time")) return "^" TIME "$";
    if (!strcmp(f, "date-time")) return "^" DATE "T" TIME "$";
    if (!strcmp(f, "uuid")) return "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
    if (!strcmp(f, "ipv4")) return "^(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$";
    if (!strcmp(f, "ipv6"))
        return "^(?:(?:" H16 ":){7}" H16 "|(?:" H16 ":){1,7}:|(?:" H16 ":){1,6}:" H16 "|(?:" H16 ":){1,5}(?::" H16
               "){1,2}|(?:" H16 ":){1,4}(?::" H16 "){1,3}|(?:" H16 ":){1,3}(?::" H16 "){1,4}|(?:" H16 ":){1,2}(?::" H16
               "){1,5}|" H16 ":(?::" H16 "){1,6}|:(?:(?::" H16 "){1,7}|:))$";
    /* the last label starts with a letter (an all-digit top-level label is not a host name) */
    if (!strcmp(f, "hostname")) return "^(?:" LABEL "\\.)*[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$";
    if (!strcmp(f, "email"))
        return "^[a-zA-Z0-9_%+-]+(?:\\.[a-zA-Z0-9_%+-]+)*@" LABEL "(?:\\." LABEL ")+$";
    if (!strcmp(f, "uri"))
        return "^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[a-zA-Z0-9._~!$&'()*+,;=-]|%[0-9a-fA-F]{2})*(?::\\d{1,5})?(?:/" UCH
               "*)*(?:\\?(?:" UCH "|[/?])*)?(?:#(?:" UCH "|[/?])*)?$";
    return NULL;
}

static int32_t string_rule(sc *c, const cJSON *s) {
    double v;
    int mn = 0, mx = -1;
    if (get_num(s, "minLength", &v)) mn = v > 100000 ? 100000 : (int)ceil(v);
    if (get_num(s, "maxLength", &v)) mx = v > 100000 ? 100000 : (int)floor(v);
    if (mx >= 0 && mx < mn) return gr_rule_new(c->b);   /* nothing fits */
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
    const char *re = NULL;
    char where[600];
    if (cJSON_IsString(fmt)) {
        re = format_regex(fmt->valuestring);
        if (!re) return fail(c, HEARTH_ERR_UNSUPPORTED, "format '%s' cannot be enforced", fmt->valuestring);
        snprintf(where, sizeof where, "schema %s/format", c->path);
        if (!strcmp(fmt->valuestring, "hostname") && (mx < 0 || mx > 253)) mx = 253;   /* RFC 1123 total length */
        if (cJSON_IsString(pat))
            return fail(c, HEARTH_ERR_UNSUPPORTED, "pattern together with format '%s' cannot be enforced", fmt->valuestring);
    } else if (cJSON_IsString(pat)) {
        re = pat->valuestring;
        snprintf(where, sizeof where, "schema %s/pattern", c->path);
    }
    if (!re) {
        if (mn == 0 && mx < 0) return any_string(c);
        re = "^[^]*$";
        snprintf(where, sizeof where, "schema %s/maxLength", c->path);
    }
    int32_t content = gr_regex_rule(c->b, re, mn, mx, RX_JSON, where);
    if (content < 0) return -1;
    return quoted(c, content);
}

/* ==== arrays ============================================================================== */
static int32_t array_rule(sc *c, const cJSON *s) {
    gr_builder *g = c->b;
    double v;
    int mn = 0, mx = -1;
    if (get_num(s, "minItems", &v)) mn = (int)ceil(v);
    if (get_num(s, "maxItems", &v)) mx = v > 1e9 ? -1 : (int)floor(v);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "uniqueItems")))
        return fail(c, HEARTH_ERR_UNSUPPORTED, "uniqueItems cannot be enforced");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *rest = items;
    if (cJSON_IsArray(items)) {   /* draft-04..07 tuple form */
        prefix = items;
        rest = cJSON_GetObjectItemCaseSensitive(s, "additionalItems");
    }
    int k = cJSON_IsArray(prefix) ? cJSON_GetArraySize(prefix) : 0;
    if (cJSON_IsFalse(rest)) mx = (mx < 0 || mx > k) ? k : mx;
    if (mx >= 0 && mx < mn) return gr_rule_new(g);
    int unroll = mx >= 0 ? mx : (mn > k ? mn : k);
    if (unroll > MAX_ITEMS_UNROLL) return fail(c, HEARTH_ERR_RANGE, "minItems/maxItems/prefixItems above %d", MAX_ITEMS_UNROLL);
    int32_t *elem = malloc(((size_t)unroll + 1) * sizeof *elem);
    if (!elem) return fail(c, HEARTH_ERR_NOMEM, "out of memory");
    int32_t rest_rule = -1;
    for (int j = 0; j <= unroll && !g->err; j++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", j);
        if (j < k) {
            size_t at = path_push(c, cJSON_IsArray(items) ? "items" : "prefixItems", idx);
            elem[j] = compile(c, cJSON_GetArrayItem(prefix, j));
            path_pop(c, at);
        } else {
            if (rest_rule < 0) {
                size_t at = path_push(c, cJSON_IsArray(items) ? "additionalItems" : "items", NULL);
                rest_rule = rest ? compile(c, rest) : any_value(c);
                path_pop(c, at);
            }
            elem[j] = rest_rule;
        }
        if (elem[j] < 0) {
            free(elem);
            return -1;
        }
    }
    /* L_j: the rest of the list after j items (j >= 1) */
    int32_t loop = -1;
    int32_t *L = malloc(((size_t)unroll + 2) * sizeof *L);
    if (!L) {
        free(elem);
        return fail(c, HEARTH_ERR_NOMEM, "out of memory");
    }
    for (int j = 1; j <= unroll + 1; j++) L[j] = gr_rule_new(g);
    if (mx < 0) {
        loop = L[unroll + 1];
        /* loop ::= ", " rest loop | eps */
        gr_seq q = {0};
        gr_lit(g, &q, ", ", 2);
        gr_seq_push(&q, GR_REF(rest_rule >= 0 ? rest_rule : elem[unroll]));
        gr_seq_push(&q, GR_REF(loop));
        gr_alt_seq(g, loop, &q);
        gr_alt(g, loop, NULL, 0);
        gr_seq_free(&q);
    }
    for (int j = 1; j <= unroll; j++) {
        gr_seq q = {0};
        if (j >= mn) gr_alt(g, L[j], NULL, 0);
        if (mx < 0 || j < mx) {
            gr_lit(g, &q, ", ", 2);
            gr_seq_push(&q, GR_REF(j < unroll ? elem[j] : elem[unroll]));
            gr_seq_push(&q, GR_REF(j < unroll ? L[j + 1] : (loop >= 0 ? loop : L[j + 1])));
            if (j < unroll || loop >= 0) gr_alt_seq(g, L[j], &q);
        }
        gr_seq_free(&q);
    }
    int32_t r = gr_rule_new(g);
    gr_seq q = {0};
    if (mn == 0) {
        gr_lit(g, &q, "[]", 2);
        gr_alt_seq(g, r, &q);
        q.n = 0;
    }
    if (mx != 0) {
        gr_lit(g, &q, "[", 1);
        gr_seq_push(&q, GR_REF(elem[0]));
        gr_seq_push(&q, GR_REF(unroll >= 1 ? L[1] : loop));
        gr_lit(g, &q, "]", 1);
        gr_alt_seq(g, r, &q);
    }
    gr_seq_free(&q);
    free(L);
    free(elem);
    return r;
}

/* ==== objects ============================================================================= */
/* a JSON string (quoted) whose value is none of names[] (ASCII names) */
static int32_t key_except(sc *c, const char *const *names, int n) {
    gr_builder *g = c->b;
    int32_t tail = gr_rule_new(g);   /* any content then '"' */
    int32_t q = gr_byte(g, '"');
    int32_t seq[2] = {GR_REF(str_content(c)), q};
    gr_alt(g, tail, seq, 2);
    /* trie over the names, one rule per node, built recursively over prefixes */
    typedef struct tn {
        int32_t rule;
        size_t depth;
        int lo, hi;   /* names[lo..hi) share the prefix (names sorted) */
    } tn;
    /* names sorted by the caller; walk prefixes with an explicit stack */
    tn *st = malloc(((size_t)n * 64 + 2) * sizeof *st);
    if (!st) return fail(c, HEARTH_ERR_NOMEM, "out of memory");
    int sp = 0;
    int32_t root = gr_rule_new(g);
    st[sp++] = (tn){root, 0, 0, n};
    while (sp) {
        tn t = st[--sp];
        bool terminal = false;
        uint32_t used[2 * 128];
        size_t n_used = 0;
        for (int i = t.lo; i < t.hi;) {
            if (strlen(names[i]) == t.depth) {
                terminal = true;
                i++;
                continue;
            }
            unsigned char ch = (unsigned char)names[i][t.depth];
            int j = i;
            while (j < t.hi && strlen(names[j]) > t.depth && (unsigned char)names[j][t.depth] == ch) j++;
            int32_t child = gr_rule_new(g);
            int32_t e[2] = {gr_byte(g, ch), GR_REF(child)};
            if (ch == '"' || ch == '\\' || ch < 0x20) {
                free(st);
                return fail(c, HEARTH_ERR_UNSUPPORTED, "a property name needing escapes with additionalProperties");
            }
            gr_alt(g, t.rule, e, 2);
            used[2 * n_used] = ch, used[2 * n_used + 1] = ch, n_used++;
            if (sp < n * 64) st[sp++] = (tn){child, t.depth + 1, i, j};
            i = j;
        }
        /* any other character, then anything */
        uint32_t ranges[2 * 130];
        size_t nr = 0;
        uint32_t next = 0;
        /* used[] is in ascending order (names sorted) */
        for (size_t u = 0; u < n_used; u++) {
            if (used[2 * u] > next) ranges[2 * nr] = next, ranges[2 * nr + 1] = used[2 * u] - 1, nr++;
            next = used[2 * u] + 1;
        }
        ranges[2 * nr] = next, ranges[2 * nr + 1] = 0x10FFFF, nr++;
        /* '"' ends the string: not a "character" here */
        int32_t other = gr_cp_range_rule(g, ranges, nr, RX_JSON);
        int32_t e2[2] = {GR_REF(other), GR_REF(tail)};
        gr_alt(g, t.rule, e2, 2);
        if (!terminal) gr_alt(g, t.rule, &q, 1);
    }
    free(st);
    int32_t r = gr_rule_new(g);
    int32_t e3[2] = {q, GR_REF(root)};
    gr_alt(g, r, e3, 2);
    return r;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* true when pattern P matches all of text (search semantics), by a small grammar */
static bool regex_matches(const char *pat, const char *text) {
    gr_builder b = {0};
    int32_t r = gr_regex_rule(&b, pat, 0, -1, RX_RAW, "pattern");
    hearth_grammar *g = NULL;
    if (r < 0 || gr_finish(&b, r, &g) != HEARTH_OK) {
        if (r < 0) gr_builder_free(&b);
        return true;   /* unknown: treat as a match (the caller refuses) */
    }
    hearth_grammar_matcher *m = NULL;
    bool ok = hearth_grammar_matcher_new(g, &m) == HEARTH_OK &&
              hearth_grammar_advance(m, text, strlen(text)) == HEARTH_OK && hearth_grammar_accepting(m);
    hearth_grammar_matcher_free(m);
    hearth_grammar_free(g);
    return ok;
}

static int32_t object_rule(sc *c, const cJSON *s) {
    gr_builder *g = c->b;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(s, "patternProperties");
    bool extras = !cJSON_IsFalse(addl);
    /* patternProperties: one pattern; the extra members are exactly the keys
     * matching it (with its schema); other extra keys are not generated */
    const cJSON *pat = NULL;
    if (cJSON_IsObject(pp) && pp->child) {
        if (pp->child->next)
            return fail(c, HEARTH_ERR_UNSUPPORTED, "patternProperties with more than one pattern cannot be enforced");
        pat = pp->child;
        for (const cJSON *p = cJSON_IsObject(props) ? props->child : NULL; p; p = p->next)
            if (regex_matches(pat->string, p->string))
                return fail(c, HEARTH_ERR_UNSUPPORTED,
                            "patternProperties '%s' also matches the declared property '%s'; cannot be enforced",
                            pat->string, p->string);
        extras = true;
    }
    /* declared properties, then required names not declared */
    int n = 0;
    for (const cJSON *p = cJSON_IsObject(props) ? props->child : NULL; p; p = p->next) n++;
    for (const cJSON *r = cJSON_IsArray(req) ? req->child : NULL; r; r = r->next) n++;
    const char **name = malloc(((size_t)n + 1) * sizeof *name);
    const cJSON **sch = malloc(((size_t)n + 1) * sizeof *sch);
    bool *required = calloc((size_t)n + 1, 1);
    if (!name || !sch || !required) {
        free(name), free(sch), free(required);
        return fail(c, HEARTH_ERR_NOMEM, "out of memory");
    }
    int m = 0;
    for (const cJSON *p = cJSON_IsObject(props) ? props->child : NULL; p; p = p->next) name[m] = p->string, sch[m++] = p;
    for (const cJSON *r = cJSON_IsArray(req) ? req->child : NULL; r; r = r->next) {
        if (!cJSON_IsString(r)) continue;
        int i;
        for (i = 0; i < m && strcmp(name[i], r->valuestring); i++) {}
        if (i == m) {
            if (pat) {
                free(name), free(sch), free(required);
                return fail(c, HEARTH_ERR_UNSUPPORTED, "required '%s' beside patternProperties cannot be enforced",
                            r->valuestring);
            }
            if (!extras) {   /* required but never allowed: nothing fits */
                free(name), free(sch), free(required);
                return gr_rule_new(g);
            }
            name[m] = r->valuestring, sch[m++] = addl ? addl : NULL;
        }
        required[i] = true;
    }
    n = m;
    double v;
    int n_req = 0;
    for (int i = 0; i < n; i++) n_req += required[i];
    if (get_num(s, "minProperties", &v) && v > n_req) {
        free(name), free(sch), free(required);
        return fail(c, HEARTH_ERR_UNSUPPORTED, "minProperties %g above the %d required properties cannot be enforced", v, n_req);
    }
    if (get_num(s, "maxProperties", &v) && (extras || v < n)) {
        free(name), free(sch), free(required);
        return fail(c, HEARTH_ERR_UNSUPPORTED, "maxProperties cannot be enforced");
    }
    /* kv_i = "name": value */
    int32_t *kv = malloc(((size_t)n + 1) * sizeof *kv);
    int32_t *A = malloc(((size_t)n + 2) * sizeof *A), *B = malloc(((size_t)n + 2) * sizeof *B);
    if (!kv || !A || !B) {
        free(name), free(sch), free(required), free(kv), free(A), free(B);
        return fail(c, HEARTH_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n && !g->err; i++) {
        kv[i] = -1;
        if (cJSON_IsFalse(sch[i]) && !required[i]) continue;   /* never present */
        size_t at = path_push(c, "properties", name[i]);
        int32_t val = sch[i] ? compile(c, sch[i]) : any_value(c);
        path_pop(c, at);
        if (val < 0) break;
        hearth_buf kb = {0};
        dump_str(&kb, name[i]);
        hearth_buf_puts(&kb, ": ");
        kv[i] = gr_rule_new(g);
        gr_seq q = {0};
        gr_lit(g, &q, kb.data, kb.len);
        gr_seq_push(&q, GR_REF(val));
        gr_alt_seq(g, kv[i], &q);
        gr_seq_free(&q);
        hearth_buf_free(&kb);
    }
    /* extras: ("key": value)* after the declared ones, keys not declared */
    int32_t XA = -1, XB = -1;
    if (!g->err && extras) {
        size_t at = path_push(c, pat ? "patternProperties" : "additionalProperties", pat ? pat->string : NULL);
        int32_t val = pat ? compile(c, pat) : addl && !cJSON_IsTrue(addl) ? compile(c, addl) : any_value(c);
        int32_t pkey = -1;
        if (pat && val >= 0) {
            char where[600];
            snprintf(where, sizeof where, "schema %s", c->path);
            int32_t content = gr_regex_rule(g, pat->string, 0, -1, RX_JSON, where);
            pkey = content >= 0 ? quoted(c, content) : -1;
        }
        path_pop(c, at);
        char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
        bool ascii = true;
        for (int i = 0; i < n; i++) {
            sorted[i] = (char *)name[i];
            for (const unsigned char *p = (const unsigned char *)name[i]; *p && !pat; p++) ascii &= *p >= 0x20 && *p < 0x7F;
        }
        if (!ascii) {
            free(sorted);
            free(name), free(sch), free(required), free(kv), free(A), free(B);
            return fail(c, HEARTH_ERR_UNSUPPORTED,
                        "additionalProperties beside non-ASCII property names cannot be enforced");
        }
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_cstr);
        int32_t key = pat ? pkey : val >= 0 ? key_except(c, (const char *const *)sorted, n) : -1;
        free(sorted);
        if (key >= 0) {
            int32_t kvx = gr_rule_new(g);
            gr_seq q = {0};
            gr_seq_push(&q, GR_REF(key));
            gr_lit(g, &q, ": ", 2);
            gr_seq_push(&q, GR_REF(val));
            gr_alt_seq(g, kvx, &q);
            XB = gr_rule_new(g);
            q.n = 0;
            gr_lit(g, &q, ", ", 2);
            gr_seq_push(&q, GR_REF(kvx));
            gr_seq_push(&q, GR_REF(XB));
            gr_alt_seq(g, XB, &q);
            gr_alt(g, XB, NULL, 0);
            XA = gr_rule_new(g);
            q.n = 0;
            gr_seq_push(&q, GR_REF(kvx));
            gr_seq_push(&q, GR_REF(XB));
            gr_alt_seq(g, XA, &q);
            gr_alt(g, XA, NULL, 0);
            gr_seq_free(&q);
        }
    }
    if (g->err) {
        free(name), free(sch), free(required), free(kv), free(A), free(B);
        return -1;
    }
    /* A_i: members from i on, none written yet; B_i: some written */
    for (int i = 0; i <= n; i++) A[i] = gr_rule_new(g), B[i] = gr_rule_new(g);
    if (XA >= 0) {
        int32_t e = GR_REF(XA);
        gr_alt(g, A[n], &e, 1);
        e = GR_REF(XB);
        gr_alt(g, B[n], &e, 1);
    } else {
        gr_alt(g, A[n], NULL, 0);
        gr_alt(g, B[n], NULL, 0);
    }
    for (int i = n - 1; i >= 0; i--) {
        if (kv[i] >= 0) {
            int32_t ea[2] = {GR_REF(kv[i]), GR_REF(B[i + 1])};
            gr_alt(g, A[i], ea, 2);
            gr_seq q = {0};
            gr_lit(g, &q, ", ", 2);
            gr_seq_push(&q, GR_REF(kv[i]));
            gr_seq_push(&q, GR_REF(B[i + 1]));
            gr_alt_seq(g, B[i], &q);
            gr_seq_free(&q);
        }
        if (!required[i]) {
            int32_t ea = GR_REF(A[i + 1]), eb = GR_REF(B[i + 1]);
            gr_alt(g, A[i], &ea, 1);
            gr_alt(g, B[i], &eb, 1);
        }
    }
    int32_t r = gr_rule_new(g);
    gr_seq q = {0};
    gr_lit(g, &q, "{", 1);
    gr_seq_push(&q, GR_REF(A[0]));
    gr_lit(g, &q, "}", 1);
    gr_alt_seq(g, r, &q);
    gr_seq_free(&q);
    free(name), free(sch), free(required), free(kv), free(A), free(B);
    return r;
}

/* ==== oneOf: alternatives must not overlap ==================================================== */
enum { T_NULL = 1, T_BOOL = 2, T_OBJ = 4, T_ARR = 8, T_NUM = 16, T_STR = 32, T_INT = 64, T_ALL = 127 };

static int type_bit(const char *t) {
    if (!strcmp(t, "null")) return T_NULL;
    if (!strcmp(t, "boolean")) return T_BOOL;
    if (!strcmp(t, "object")) return T_OBJ;
    if (!strcmp(t, "array")) return T_ARR;
    if (!strcmp(t, "number")) return T_NUM | T_INT;
    if (!strcmp(t, "string")) return T_STR;
    if (!strcmp(t, "integer")) return T_INT;
    return 0;
}

static int value_type(const cJSON *j) {
    if (cJSON_IsNull(j)) return T_NULL;
    if (cJSON_IsBool(j)) return T_BOOL;
    if (cJSON_IsObject(j)) return T_OBJ;
    if (cJSON_IsArray(j)) return T_ARR;
    if (cJSON_IsNumber(j)) return j->valuedouble == floor(j->valuedouble) ? T_INT | T_NUM : T_NUM;
    return T_STR;
}

static int types_of(const cJSON *s) {
    if (!cJSON_IsObject(s)) return cJSON_IsFalse(s) ? 0 : T_ALL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    int m = 0;
    if (cJSON_IsString(t)) m = type_bit(t->valuestring);
    else if (cJSON_IsArray(t))
        for (const cJSON *e = t->child; e; e = e->next) m |= cJSON_IsString(e) ? type_bit(e->valuestring) : 0;
    else m = T_ALL;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(s, "const");
    if (cn) m &= value_type(cn);
    else if (cJSON_IsArray(en)) {
        int e2 = 0;
        for (const cJSON *e = en->child; e; e = e->next) e2 |= value_type(e);
        m &= e2;
    }
    return m;
}

/* the literal values a property may take (const/enum), or NULL */
static const cJSON *prop_literals(const cJSON *s, const char *p, bool *is_const) {
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, p);
    if (!cJSON_IsObject(ps)) return NULL;
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(ps, "const");
    if (cn) { *is_const = true; return cn; }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(ps, "enum");
    *is_const = false;
    return cJSON_IsArray(en) ? en : NULL;
}

static bool lits_overlap(const cJSON *a, bool ac, const cJSON *b, bool bc) {
    for (const cJSON *x = ac ? a : a->child; x; x = ac ? NULL : x->next)
        for (const cJSON *y = bc ? b : b->child; y; y = bc ? NULL : y->next)
            if (cJSON_Compare(x, y, true)) return true;
    return false;
}

static bool required_has(const cJSON *s, const char *p) {
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    for (const cJSON *r = cJSON_IsArray(req) ? req->child : NULL; r; r = r->next)
        if (cJSON_IsString(r) && !strcmp(r->valuestring, p)) return true;
    return false;
}

/* two (merged) alternatives that no value can match both */
static bool disjoint(const cJSON *a, const cJSON *b) {
    int ta = types_of(a), tb = types_of(b);
    if (!(ta & tb)) return true;
    /* literal sets */
    bool ac, bc;
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(a, "const"), *lb = cJSON_GetObjectItemCaseSensitive(b, "const");
    ac = la != NULL, bc = lb != NULL;
    if (!la) la = cJSON_GetObjectItemCaseSensitive(a, "enum");
    if (!lb) lb = cJSON_GetObjectItemCaseSensitive(b, "enum");
    if ((ac || cJSON_IsArray(la)) && (bc || cJSON_IsArray(lb)) && la && lb && !lits_overlap(la, ac, lb, bc)) return true;
    /* objects: one requires a property the other forbids (additionalProperties false) */
    if ((ta & tb) == T_OBJ) {
        for (int side = 0; side < 2; side++) {
            const cJSON *x = side ? b : a, *y = side ? a : b;
            const cJSON *req = cJSON_GetObjectItemCaseSensitive(x, "required");
            const cJSON *yp = cJSON_GetObjectItemCaseSensitive(y, "properties");
            if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(y, "additionalProperties")) ||
                cJSON_GetObjectItemCaseSensitive(y, "patternProperties"))
                continue;
            for (const cJSON *r = cJSON_IsArray(req) ? req->child : NULL; r; r = r->next) {
                if (!cJSON_IsString(r)) continue;
                const cJSON *q = cJSON_GetObjectItemCaseSensitive(yp, r->valuestring);
                if (!q || cJSON_IsFalse(q)) return true;
            }
        }
    }
    /* objects told apart by a required property with distinct literals */
    if ((ta & tb) == T_OBJ) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(a, "properties");
        for (const cJSON *p = props ? props->child : NULL; p; p = p->next) {
            const cJSON *xa = prop_literals(a, p->string, &ac), *xb = prop_literals(b, p->string, &bc);
            if (xa && xb && required_has(a, p->string) && required_has(b, p->string) && !lits_overlap(xa, ac, xb, bc))
                return true;
        }
    }
    return false;
}

/* ==== one schema ============================================================================ */
static int32_t ref_rule(sc *c, const cJSON *target) {
    for (size_t i = 0; i < c->n_refs; i++)
        if (c->refs[i].node == target) return c->refs[i].rule;
    /* reserve the rule first: recursive references find it */
    int32_t r = gr_rule_new(c->b);
    if (!HEARTH_GROW(c->refs, c->cap_refs, c->n_refs + 1)) return fail(c, HEARTH_ERR_NOMEM, "out of memory");
    c->refs[c->n_refs++] = (refc){target, r};
    int32_t body = compile(c, target);
    if (body < 0) return -1;
    int32_t e = GR_REF(body);
    gr_alt(c->b, r, &e, 1);
    return r;
}

static int32_t compile_body(sc *c, const cJSON *s) {
    gr_builder *g = c->b;
    if (cJSON_IsTrue(s)) return any_value(c);
    if (cJSON_IsFalse(s)) return gr_rule_new(g);   /* no alternatives: nothing fits */
    if (!cJSON_IsObject(s)) return fail(c, HEARTH_ERR_FORMAT, "a schema must be an object or a boolean");
    bool has_if = cJSON_GetObjectItemCaseSensitive(s, "if") != NULL;
    for (const cJSON *k = s->child; k; k = k->next) {
        if (in_list(REFUSED, k->string) && !(c->old_ref && cJSON_GetObjectItemCaseSensitive(s, "$ref")))
            return fail(c, HEARTH_ERR_UNSUPPORTED, "keyword '%s' cannot be enforced", k->string);
        if ((!strcmp(k->string, "then") || !strcmp(k->string, "else")) && has_if)
            return fail(c, HEARTH_ERR_UNSUPPORTED, "keyword 'if' cannot be enforced");
    }
    /* not: {} matches nothing; not: {"type": ...} removes types; others are refused */
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(s, "not");
    if (nt && !(c->old_ref && cJSON_GetObjectItemCaseSensitive(s, "$ref"))) {
        if (is_empty_schema(nt)) return gr_rule_new(g);
        cJSON *copy = cJSON_Duplicate(s, true);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "not");
        own(c, copy);
        if (cJSON_IsFalse(nt)) return compile(c, copy);
        bool only_type = cJSON_IsObject(nt) && cJSON_GetObjectItemCaseSensitive(nt, "type");
        for (const cJSON *k = cJSON_IsObject(nt) ? nt->child : NULL; k && only_type; k = k->next)
            if (strcmp(k->string, "type") && (in_list(SUPPORTED, k->string) || in_list(REFUSED, k->string))) only_type = false;
        if (!only_type) return fail(c, HEARTH_ERR_UNSUPPORTED, "keyword 'not' (other than not {} or not {\"type\"}) cannot be enforced");
        int allowed = types_of(s) & ~types_of(nt);
        if ((allowed & T_NUM) && (types_of(nt) & T_INT))
            return fail(c, HEARTH_ERR_UNSUPPORTED, "'not' integer beside number cannot be enforced");
        if (!(allowed & T_NUM)) allowed &= ~T_NUM;
        static const char *const tn[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
        cJSON *ta = cJSON_CreateArray();
        for (int i = 0; i < 7; i++)
            if (allowed & (1 << i)) cJSON_AddItemToArray(ta, cJSON_CreateString(tn[i]));
        if (!ta->child) {
            cJSON_Delete(ta);
            return gr_rule_new(g);
        }
        if (cJSON_GetObjectItemCaseSensitive(copy, "type")) cJSON_ReplaceItemInObjectCaseSensitive(copy, "type", ta);
        else cJSON_AddItemToObject(copy, "type", ta);
        return compile(c, copy);
    }
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
    if (cJSON_IsString(ref)) {
        const cJSON *t = resolve_ref(c, ref->valuestring);
        if (!t)
            return fail(c, HEARTH_ERR_UNSUPPORTED, "$ref '%s' cannot be resolved (only local references '#...' are)",
                        ref->valuestring);
        bool siblings = false;
        for (const cJSON *k = s->child; k; k = k->next)
            if (strcmp(k->string, "$ref") && (in_list(SUPPORTED, k->string) || in_list(REFUSED, k->string))) siblings = true;
        if (c->old_ref || !siblings) return ref_rule(c, t);
    }
    if (cJSON_IsString(ref) || all) {
        /* merge into one schema */
        cJSON *m = cJSON_CreateTrue();
        cJSON *self = cJSON_Duplicate(s, true);
        cJSON_DeleteItemFromObjectCaseSensitive(self, "allOf");
        cJSON *parts = cJSON_CreateArray();
        cJSON_AddItemToArray(parts, self);
        for (const cJSON *e = cJSON_IsArray(all) ? all->child : NULL; e; e = e->next)
            cJSON_AddItemToArray(parts, cJSON_Duplicate(e, true));
        for (const cJSON *e = parts->child; e && m; e = e->next) {
            cJSON *n = merge(c, m, e, 0);
            cJSON_Delete(m);
            m = n;
        }
        cJSON_Delete(parts);
        if (!m) return -1;
        if (cJSON_GetObjectItemCaseSensitive(m, "allOf") || cJSON_GetObjectItemCaseSensitive(m, "$ref")) {
            cJSON_Delete(m);
            return fail(c, HEARTH_ERR_UNSUPPORTED, "allOf could not be merged");
        }
        own(c, m);
        return compile(c, m);
    }
    /* anyOf / oneOf with siblings: distribute */
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    if (any || one) {
        if (any && one) return fail(c, HEARTH_ERR_UNSUPPORTED, "anyOf together with oneOf cannot be enforced");
        const cJSON *list = any ? any : one;
        if (!cJSON_IsArray(list) || !list->child) return fail(c, HEARTH_ERR_FORMAT, "%s must be a non-empty array", any ? "anyOf" : "oneOf");
        cJSON *rest = cJSON_Duplicate(s, true);
        cJSON_DeleteItemFromObjectCaseSensitive(rest, any ? "anyOf" : "oneOf");
        bool plain = is_empty_schema(rest);
        int n = cJSON_GetArraySize(list);
        cJSON **br = calloc((size_t)n, sizeof *br);
        if (!br) {
            cJSON_Delete(rest);
            return fail(c, HEARTH_ERR_NOMEM, "out of memory");
        }
        int i = 0;
        bool ok = true;
        for (const cJSON *e = list->child; e && ok; e = e->next, i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", i);
            size_t at = path_push(c, any ? "anyOf" : "oneOf", idx);
            br[i] = plain && !one ? cJSON_Duplicate(e, true) : merge(c, rest, e, 0);
            path_pop(c, at);
            ok = br[i] != NULL;
        }
        cJSON_Delete(rest);
        if (ok && one)
            for (int a = 0; a < n && ok; a++)
                for (int b2 = a + 1; b2 < n && ok; b2++)
                    if (!disjoint(br[a], br[b2])) {
                        fail(c, HEARTH_ERR_UNSUPPORTED,
                             "oneOf: alternatives %d and %d may both match (cannot be enforced; anyOf can)", a, b2);
                        ok = false;
                    }
        int32_t r = ok ? gr_rule_new(g) : -1;
        for (i = 0; i < n && ok; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", i);
            size_t at = path_push(c, any ? "anyOf" : "oneOf", idx);
            own(c, br[i]);
            int32_t x = compile(c, br[i]);
            br[i] = NULL;
            path_pop(c, at);
            if (x < 0) ok = false;
            else {
                int32_t e = GR_REF(x);
                gr_alt(g, r, &e, 1);
            }
        }
        for (i = 0; i < n; i++) cJSON_Delete(br[i]);
        free(br);
        return ok ? r : -1;
    }
    /* literals */
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(s, "const");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    int tmask = types_of(s);
    if (cn || en) {
        int32_t r = gr_rule_new(g);
        if (cn && (value_type(cn) & tmask)) {
            int32_t e = GR_REF(literal(c, cn));
            gr_alt(g, r, &e, 1);
        } else if (!cn && cJSON_IsArray(en)) {
            for (const cJSON *x = en->child; x; x = x->next) {
                if (!(value_type(x) & tmask)) continue;
                int32_t e = GR_REF(literal(c, x));
                gr_alt(g, r, &e, 1);
            }
        }
        return r;
    }
    if (is_empty_schema(s)) return any_value(c);
    /* one alternative per allowed type */
    int32_t r = gr_rule_new(g);
    int32_t parts[7];
    int np = 0;
    if (tmask & T_NULL) parts[np++] = gr_lit_rule(g, "null", 4);
    if (tmask & T_BOOL) parts[np++] = gr_lit_rule(g, "true", 4), parts[np++] = gr_lit_rule(g, "false", 5);
    if (tmask & T_NUM) parts[np++] = numeric(c, s, false);
    else if (tmask & T_INT) parts[np++] = numeric(c, s, true);
    if (np && parts[np - 1] < 0) return -1;
    if (tmask & T_STR) {
        if ((parts[np++] = string_rule(c, s)) < 0) return -1;
    }
    if (tmask & T_ARR) {
        if ((parts[np++] = array_rule(c, s)) < 0) return -1;
    }
    if (tmask & T_OBJ) {
        if ((parts[np++] = object_rule(c, s)) < 0) return -1;
    }
    for (int i = 0; i < np; i++) {
        int32_t e = GR_REF(parts[i]);
        gr_alt(g, r, &e, 1);
    }
    return r;
}

static int32_t compile(sc *c, const cJSON *s) {
    if (c->b->err) return -1;
    if (++c->depth > MAX_COMPILE_DEPTH) {
        c->depth--;
        return fail(c, HEARTH_ERR_RANGE, "schema nested more than %d levels deep", MAX_COMPILE_DEPTH);
    }
    int32_t r = compile_body(c, s);
    c->depth--;
    return c->b->err ? -1 : r;
}

static hearth_status from_parsed(const cJSON *root, hearth_grammar **out) {
    gr_builder b = {0};
    sc c = {0};
    c.b = &b;
    c.root = root;
    c.r_value = c.r_string = c.r_number = c.r_int = c.r_bool = c.r_null = c.r_str_content = -1;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "$schema");
    if (cJSON_IsString(sv) && (strstr(sv->valuestring, "draft-04") || strstr(sv->valuestring, "draft-06") ||
                               strstr(sv->valuestring, "draft-07") || strstr(sv->valuestring, "draft-03")))
        c.old_ref = true;
    int32_t r = compile(&c, root);
    for (size_t i = 0; i < c.n_owned; i++) cJSON_Delete(c.owned[i]);
    free(c.owned);
    free(c.refs);
    if (r < 0 && !b.err) gr_fail(&b, HEARTH_ERR_INTERNAL, "schema: compilation failed");
    return gr_finish(&b, r < 0 ? 0 : r, out);
}

hearth_status hearth_grammar_from_schema(const char *json, size_t len, hearth_grammar **out) {
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root)
        return hearth_set_error(HEARTH_ERR_FORMAT, "schema: not valid JSON near byte %zu",
                                end && end >= json ? (size_t)(end - json) : (size_t)0);
    hearth_status st = from_parsed(root, out);
    cJSON_Delete(root);
    if (st == HEARTH_OK) (*out)->is_schema = true;
    return st;
}

hearth_status hearth_grammar_from_schema_json(const cJSON *schema, hearth_grammar **out) {
    *out = NULL;
    if (!schema) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "schema: none given");
    hearth_status st = from_parsed(schema, out);
    if (st == HEARTH_OK) (*out)->is_schema = true;
    return st;
}

hearth_status hearth_grammar_json_object(hearth_grammar **out) {
    return hearth_grammar_from_schema("{\"type\":\"object\"}", 17, out);
}
