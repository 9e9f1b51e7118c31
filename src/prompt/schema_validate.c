/*
 * schema_validate.c — evaluating a compiled JSON Schema against an
 * instance: every keyword of draft 2020-12 and draft-07, with the
 * annotations unevaluatedProperties / unevaluatedItems need.
 *
 * Annotations: each call of `eval` gets a mark array with one byte per
 * member (object) or item (array) of the instance; on success it sets the
 * marks of what it evaluated. A failing subschema's marks are dropped.
 */
#include "schema_internal.h"

#include "core/buf.h"
#include "core/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCOPE 1024

typedef struct vctx {
    const hearth_schema *s;
    int depth;
    int scope[MAX_SCOPE];   /* dynamic scope: resources entered, outermost first */
    int n_scope;
    hearth_status err;      /* a limit was hit */
    int quiet;              /* > 0: inside anyOf/not/...: failures are expected */
    hearth_buf *why;        /* the first failure's reason, or NULL */
    hearth_buf path;        /* instance location, JSON pointer */
} vctx;

static bool eval(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark);
static bool eval_here(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark);

/* ==== helpers ============================================================= */
static int kind(const cJSON *j) { return j->type & 0xFF; }

static int n_children(const cJSON *j) {
    if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) return 0;
    int n = 0;
    for (const cJSON *c = j->child; c; c = c->next) n++;
    return n;
}

static bool json_eq(const cJSON *a, const cJSON *b) {
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
    if (kind(a) != kind(b)) return false;
    if (cJSON_IsString(a)) return !strcmp(a->valuestring, b->valuestring);
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_eq(x, y)) return false;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        if (n_children(a) != n_children(b)) return false;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !json_eq(x, y)) return false;
        }
        return true;
    }
    return true;   /* null, true, false */
}

static bool is_integer(const cJSON *j) {
    return cJSON_IsNumber(j) && isfinite(j->valuedouble) && floor(j->valuedouble) == j->valuedouble;
}

static bool type_is(const cJSON *inst, const char *t) {
    if (!strcmp(t, "null")) return cJSON_IsNull(inst);
    if (!strcmp(t, "boolean")) return cJSON_IsBool(inst);
    if (!strcmp(t, "object")) return cJSON_IsObject(inst);
    if (!strcmp(t, "array")) return cJSON_IsArray(inst);
    if (!strcmp(t, "number")) return cJSON_IsNumber(inst);
    if (!strcmp(t, "string")) return cJSON_IsString(inst);
    if (!strcmp(t, "integer")) return is_integer(inst);
    return false;
}

static const cJSON *kw(const cJSON *sch, const char *name) { return cJSON_GetObjectItemCaseSensitive(sch, name); }

static void fail(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(vctx *c, const char *fmt, ...) {
    if (c->quiet || !c->why || c->why->len) return;
    hearth_buf_printf(c->why, "%s: ", c->path.len ? c->path.data : "/");
    va_list ap;
    va_start(ap, fmt);
    hearth_buf_vprintf(c->why, fmt, ap);
    va_end(ap);
}

static size_t path_push(vctx *c, const char *key, int idx) {
    size_t at = c->path.len;
    if (c->why) {
        hearth_buf_putc(&c->path, '/');
        if (key) {
            for (const char *p = key; *p; p++) {
                if (*p == '~') hearth_buf_puts(&c->path, "~0");
                else if (*p == '/') hearth_buf_puts(&c->path, "~1");
                else hearth_buf_putc(&c->path, *p);
            }
        } else {
            hearth_buf_printf(&c->path, "%d", idx);
        }
    }
    return at;
}

static void path_pop(vctx *c, size_t at) {
    if (c->why && c->path.data) c->path.len = at, c->path.data[at] = 0;
}

/* evaluates a child instance (member key or item idx) against sch */
static bool eval_child(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, const char *key,
                       int idx) {
    size_t at = path_push(c, key, idx);
    bool ok = eval_here(c, sch, base, res, inst, NULL);
    path_pop(c, at);
    return ok;
}

/* evaluates inst against sch, ORing its marks into mark (NULL: dropped) on success */
static bool eval_here(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark) {
    int n = n_children(inst);
    unsigned char stackmark[64] = {0};
    unsigned char *m = n <= 64 ? stackmark : calloc((size_t)n, 1);
    if (!m) {
        c->err = HEARTH_ERR_NOMEM;
        return false;
    }
    bool ok = eval(c, sch, base, res, inst, m);
    if (ok && mark)
        for (int i = 0; i < n; i++) mark[i] |= m[i];
    if (m != stackmark) free(m);
    return ok;
}

static bool regex_match(vctx *c, const char *pat, const char *s) {
    pcre2_code *re = sch_regex_get(c->s, pat);
    if (!re) return true;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        c->err = HEARTH_ERR_NOMEM;
        return false;
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, c->s->mctx);
    pcre2_match_data_free(md);
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
        c->err = hearth_set_error(HEARTH_ERR_RANGE, "schema: pattern '%s' hit its matching limit", pat);
        return false;
    }
    return rc >= 0;
}

/* ==== references ========================================================== */
static bool eval_ref(vctx *c, const char *ref, const char *base, const cJSON *inst, unsigned char *mark,
                     bool dynamic) {
    const cJSON *t;
    const char *tb;
    int tr;
    bool dyn;
    if (!sch_resolve(c->s, base, ref, &t, &tb, &tr, &dyn)) {
        fail(c, "reference '%s' cannot be resolved", ref);
        c->err = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "schema: reference '%s' cannot be resolved", ref);
        return false;
    }
    if (dynamic && dyn) {
        const char *h = strchr(ref, '#');
        const char *name = h ? h + 1 : "";
        for (int i = 0; i < c->n_scope; i++) {
            const cJSON *d = sch_dynamic_anchor(c->s, c->scope[i], name);
            if (d) {
                const sch_node *in = sch_info(c->s, d);
                t = d;
                tb = in ? in->base : c->s->res[c->scope[i]].uri;
                tr = c->scope[i];
                break;
            }
        }
    }
    return eval_here(c, t, tb, tr, inst, mark);
}

/* ==== keywords by instance type =========================================== */
static bool eval_number(vctx *c, const cJSON *sch, const cJSON *inst) {
    double x = inst->valuedouble;
    const cJSON *k;
    if (cJSON_IsNumber(k = kw(sch, "multipleOf")) && k->valuedouble > 0) {
        double q = x / k->valuedouble;
        if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9 * fmax(1.0, fabs(q))) {
            fail(c, "%g is not a multiple of %g", x, k->valuedouble);
            return false;
        }
    }
    if (cJSON_IsNumber(k = kw(sch, "maximum")) && x > k->valuedouble) {
        fail(c, "%g is greater than the maximum %g", x, k->valuedouble);
        return false;
    }
    if (cJSON_IsNumber(k = kw(sch, "exclusiveMaximum")) && x >= k->valuedouble) {
        fail(c, "%g is not less than the exclusive maximum %g", x, k->valuedouble);
        return false;
    }
    if (cJSON_IsNumber(k = kw(sch, "minimum")) && x < k->valuedouble) {
        fail(c, "%g is less than the minimum %g", x, k->valuedouble);
        return false;
    }
    if (cJSON_IsNumber(k = kw(sch, "exclusiveMinimum")) && x <= k->valuedouble) {
        fail(c, "%g is not greater than the exclusive minimum %g", x, k->valuedouble);
        return false;
    }
    return true;
}

static bool eval_string(vctx *c, const cJSON *sch, const cJSON *inst) {
    const char *s = inst->valuestring;
    size_t len = strlen(s);
    const cJSON *k;
    size_t ncp = 0;
    bool counted = false;
    if (cJSON_IsNumber(k = kw(sch, "maxLength"))) {
        ncp = hearth_utf8_count(s, len), counted = true;
        if ((double)ncp > k->valuedouble) {
            fail(c, "string of %zu characters is longer than maxLength %g", ncp, k->valuedouble);
            return false;
        }
    }
    if (cJSON_IsNumber(k = kw(sch, "minLength"))) {
        if (!counted) ncp = hearth_utf8_count(s, len);
        if ((double)ncp < k->valuedouble) {
            fail(c, "string of %zu characters is shorter than minLength %g", ncp, k->valuedouble);
            return false;
        }
    }
    if (cJSON_IsString(k = kw(sch, "pattern")) && !regex_match(c, k->valuestring, s)) {
        fail(c, "\"%.60s\" does not match the pattern '%s'", s, k->valuestring);
        return false;
    }
    if (c->s->format_assert && cJSON_IsString(k = kw(sch, "format"))) {
        bool known;
        if (!sch_format_ok(k->valuestring, s, len, &known)) {
            fail(c, "\"%.60s\" is not a valid %s", s, k->valuestring);
            return false;
        }
    }
    return true;
}

static bool eval_array(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark,
                       int d7) {
    int n = n_children(inst);
    const cJSON *k;
    if (cJSON_IsNumber(k = kw(sch, "maxItems")) && n > k->valuedouble) {
        fail(c, "array of %d items has more than maxItems %g", n, k->valuedouble);
        return false;
    }
    if (cJSON_IsNumber(k = kw(sch, "minItems")) && n < k->valuedouble) {
        fail(c, "array of %d items has fewer than minItems %g", n, k->valuedouble);
        return false;
    }
    if (cJSON_IsTrue(k = kw(sch, "uniqueItems"))) {
        int i = 0;
        for (const cJSON *a = inst->child; a; a = a->next, i++) {
            int j = i + 1;
            for (const cJSON *b = a->next; b; b = b->next, j++)
                if (json_eq(a, b)) {
                    fail(c, "items %d and %d are equal (uniqueItems)", i, j);
                    return false;
                }
        }
    }
    /* prefixItems / items (2020-12); items array / additionalItems (draft-07) */
    int n_prefix = 0;
    const cJSON *prefix = d7 ? kw(sch, "items") : kw(sch, "prefixItems");
    if (cJSON_IsArray(prefix)) {
        const cJSON *ps = prefix->child;
        const cJSON *it = inst->child;
        for (int i = 0; ps && it; ps = ps->next, it = it->next, i++) {
            if (!eval_child(c, ps, base, res, it, NULL, i)) return false;
            mark[i] = 1;
            n_prefix = i + 1;
        }
        if (!d7) n_prefix = n_children(prefix) < n ? n_children(prefix) : n;
    }
    const cJSON *rest = d7 ? (cJSON_IsArray(prefix) ? kw(sch, "additionalItems") : prefix) : kw(sch, "items");
    if (rest && !cJSON_IsArray(rest)) {
        int i = 0;
        for (const cJSON *it = inst->child; it; it = it->next, i++) {
            if (i < n_prefix) continue;
            if (!eval_child(c, rest, base, res, it, NULL, i)) return false;
            mark[i] = 1;
        }
    }
    if ((k = kw(sch, "contains"))) {
        int found = 0, i = 0;
        c->quiet++;
        for (const cJSON *it = inst->child; it; it = it->next, i++)
            if (eval_child(c, k, base, res, it, NULL, i)) {
                found++;
                if (!d7) mark[i] = 1;
            }
        c->quiet--;
        const cJSON *mn = d7 ? NULL : kw(sch, "minContains");
        const cJSON *mx = d7 ? NULL : kw(sch, "maxContains");
        double need = cJSON_IsNumber(mn) ? mn->valuedouble : 1;
        if (found < need) {
            fail(c, "%d items match 'contains', fewer than %g", found, need);
            return false;
        }
        if (cJSON_IsNumber(mx) && found > mx->valuedouble) {
            fail(c, "%d items match 'contains', more than maxContains %g", found, mx->valuedouble);
            return false;
        }
    }
    return true;
}

static bool eval_object(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark,
                        int d7) {
    int n = n_children(inst);
    const cJSON *k;
    if (cJSON_IsNumber(k = kw(sch, "maxProperties")) && n > k->valuedouble) {
        fail(c, "object with %d properties has more than maxProperties %g", n, k->valuedouble);
        return false;
    }
    if (cJSON_IsNumber(k = kw(sch, "minProperties")) && n < k->valuedouble) {
        fail(c, "object with %d properties has fewer than minProperties %g", n, k->valuedouble);
        return false;
    }
    if (cJSON_IsArray(k = kw(sch, "required")))
        for (const cJSON *r = k->child; r; r = r->next)
            if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(inst, r->valuestring)) {
                fail(c, "required property '%s' is missing", r->valuestring);
                return false;
            }
    /* dependentRequired / dependentSchemas (2020-12), dependencies (draft-07) */
    const char *dep_kws[2] = {d7 ? "dependencies" : "dependentRequired", d7 ? NULL : "dependentSchemas"};
    for (int d = 0; d < 2; d++) {
        if (!dep_kws[d] || !cJSON_IsObject(k = kw(sch, dep_kws[d]))) continue;
        for (const cJSON *e = k->child; e; e = e->next) {
            if (!cJSON_GetObjectItemCaseSensitive(inst, e->string)) continue;
            if (cJSON_IsArray(e)) {
                for (const cJSON *r = e->child; r; r = r->next)
                    if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(inst, r->valuestring)) {
                        fail(c, "property '%s' requires property '%s'", e->string, r->valuestring);
                        return false;
                    }
            } else if (!eval_here(c, e, base, res, inst, mark)) {
                return false;
            }
        }
    }
    if ((k = kw(sch, "propertyNames"))) {
        for (const cJSON *m = inst->child; m; m = m->next) {
            cJSON name = {0};
            name.type = cJSON_String;
            name.valuestring = m->string;
            if (!eval_child(c, k, base, res, &name, m->string, 0)) return false;
        }
    }
    const cJSON *props = kw(sch, "properties");
    const cJSON *pprops = kw(sch, "patternProperties");
    const cJSON *addl = kw(sch, "additionalProperties");
    int i = 0;
    for (const cJSON *m = inst->child; m; m = m->next, i++) {
        bool matched = false;
        const cJSON *ps = cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
        if (ps) {
            matched = true;
            if (!eval_child(c, ps, base, res, m, m->string, 0)) return false;
        }
        if (cJSON_IsObject(pprops))
            for (const cJSON *pp = pprops->child; pp; pp = pp->next) {
                if (!regex_match(c, pp->string, m->string)) {
                    if (c->err) return false;
                    continue;
                }
                matched = true;
                if (!eval_child(c, pp, base, res, m, m->string, 0)) return false;
            }
        if (!matched && addl) {
            if (cJSON_IsFalse(addl)) {
                fail(c, "property '%s' is not allowed (additionalProperties)", m->string);
                return false;
            }
            if (!eval_child(c, addl, base, res, m, m->string, 0)) return false;
            matched = true;
        }
        if (matched) mark[i] = 1;
    }
    return true;
}

/* ==== one schema ========================================================== */
static bool eval_body(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark) {
    int d7 = c->s->res[res].draft == HEARTH_SCHEMA_DRAFT_7;
    const cJSON *k;
    if (cJSON_IsString(k = kw(sch, "$ref"))) {
        if (!eval_ref(c, k->valuestring, base, inst, mark, false)) return false;
        if (d7) return true;   /* draft-07: $ref's siblings are ignored */
    }
    if (!d7 && cJSON_IsString(k = kw(sch, "$dynamicRef")) && !eval_ref(c, k->valuestring, base, inst, mark, true))
        return false;
    bool val = !c->s->no_validation;   /* the validation vocabulary is on */
    if (val && (k = kw(sch, "type"))) {
        bool ok = false;
        if (cJSON_IsString(k)) ok = type_is(inst, k->valuestring);
        else if (cJSON_IsArray(k))
            for (const cJSON *t = k->child; t && !ok; t = t->next) ok = cJSON_IsString(t) && type_is(inst, t->valuestring);
        else ok = true;
        if (!ok) {
            char *t = cJSON_PrintUnformatted(k);
            fail(c, "not of type %s", t ? t : "?");
            free(t);
            return false;
        }
    }
    if (val && cJSON_IsArray(k = kw(sch, "enum"))) {
        bool ok = false;
        for (const cJSON *e = k->child; e && !ok; e = e->next) ok = json_eq(e, inst);
        if (!ok) {
            fail(c, "not one of the enum values");
            return false;
        }
    }
    if (val && (k = kw(sch, "const")) && !json_eq(k, inst)) {
        fail(c, "not equal to the const value");
        return false;
    }
    if (val && cJSON_IsNumber(inst) && !eval_number(c, sch, inst)) return false;
    if (val && cJSON_IsString(inst) && !eval_string(c, sch, inst)) return false;
    if (cJSON_IsArray(inst) && !eval_array(c, sch, base, res, inst, mark, d7)) return false;
    if (cJSON_IsObject(inst) && !eval_object(c, sch, base, res, inst, mark, d7)) return false;

    /* combinators */
    if (cJSON_IsArray(k = kw(sch, "allOf")))
        for (const cJSON *e = k->child; e; e = e->next)
            if (!eval_here(c, e, base, res, inst, mark)) return false;
    if (cJSON_IsArray(k = kw(sch, "anyOf"))) {
        bool any = false;
        c->quiet++;
        for (const cJSON *e = k->child; e; e = e->next) any |= eval_here(c, e, base, res, inst, mark);
        c->quiet--;
        if (c->err) return false;
        if (!any) {
            fail(c, "matches none of the anyOf schemas");
            return false;
        }
    }
    if (cJSON_IsArray(k = kw(sch, "oneOf"))) {
        int hits = 0;
        c->quiet++;
        for (const cJSON *e = k->child; e; e = e->next) hits += eval_here(c, e, base, res, inst, mark);
        c->quiet--;
        if (c->err) return false;
        if (hits != 1) {
            fail(c, "matches %d of the oneOf schemas (exactly one must match)", hits);
            return false;
        }
    }
    if ((k = kw(sch, "not"))) {
        c->quiet++;
        bool ok = eval_here(c, k, base, res, inst, NULL);
        c->quiet--;
        if (c->err) return false;
        if (ok) {
            fail(c, "matches the 'not' schema");
            return false;
        }
    }
    if ((k = kw(sch, "if"))) {
        c->quiet++;
        bool cond = eval_here(c, k, base, res, inst, mark);
        c->quiet--;
        if (c->err) return false;
        const cJSON *branch = kw(sch, cond ? "then" : "else");
        if (branch && !eval_here(c, branch, base, res, inst, mark)) return false;
    }
    /* unevaluated*: after everything else has left its marks */
    if (!d7 && cJSON_IsArray(inst) && (k = kw(sch, "unevaluatedItems"))) {
        int i = 0;
        for (const cJSON *it = inst->child; it; it = it->next, i++) {
            if (mark[i]) continue;
            if (!eval_child(c, k, base, res, it, NULL, i)) return false;
            mark[i] = 1;
        }
    }
    if (!d7 && cJSON_IsObject(inst) && (k = kw(sch, "unevaluatedProperties"))) {
        int i = 0;
        for (const cJSON *m = inst->child; m; m = m->next, i++) {
            if (mark[i]) continue;
            if (!eval_child(c, k, base, res, m, m->string, 0)) return false;
            mark[i] = 1;
        }
    }
    return true;
}

static bool eval(vctx *c, const cJSON *sch, const char *base, int res, const cJSON *inst, unsigned char *mark) {
    if (c->err) return false;
    if (cJSON_IsTrue(sch)) return true;
    if (cJSON_IsFalse(sch)) {
        fail(c, "no value is allowed here (false schema)");
        return false;
    }
    if (!cJSON_IsObject(sch)) return true;
    if (c->depth >= c->s->max_depth) {
        c->err = hearth_set_error(HEARTH_ERR_RANGE, "schema: evaluation deeper than %d levels (a recursive schema?)",
                                  c->s->max_depth);
        return false;
    }
    const sch_node *in = sch_info(c->s, sch);
    if (in) base = in->base, res = in->res;
    bool pushed = false;
    if ((c->n_scope == 0 || c->scope[c->n_scope - 1] != res) && c->n_scope < MAX_SCOPE) {
        c->scope[c->n_scope++] = res;
        pushed = true;
    }
    c->depth++;
    bool ok = eval_body(c, sch, base, res, inst, mark);
    c->depth--;
    if (pushed) c->n_scope--;
    return ok && !c->err;
}

/* ==== API ================================================================== */
hearth_status hearth_schema_validate_json(const hearth_schema *s, const cJSON *inst, bool *valid, char **why) {
    *valid = false;
    if (why) *why = NULL;
    if (!s || !inst) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "schema_validate: no schema or instance");
    vctx c = {0};
    c.s = s;
    hearth_buf w = {0};
    if (why) c.why = &w;
    int n = n_children(inst);
    unsigned char *mark = calloc((size_t)n + 1, 1);
    if (!mark) return hearth_set_error(HEARTH_ERR_NOMEM, "schema_validate: oom");
    *valid = eval(&c, s->docs[0], s->res[0].uri, 0, inst, mark);
    free(mark);
    hearth_buf_free(&c.path);
    if (c.err) {
        hearth_buf_free(&w);
        *valid = false;
        return c.err;
    }
    if (why && !*valid) *why = hearth_buf_take(&w, NULL);
    hearth_buf_free(&w);
    return HEARTH_OK;
}

hearth_status hearth_schema_validate(const hearth_schema *s, const char *json, size_t len, bool *valid, char **why) {
    *valid = false;
    if (why) *why = NULL;
    const char *end = NULL;
    cJSON *inst = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!inst) return hearth_set_error(HEARTH_ERR_FORMAT, "instance: not valid JSON");
    /* nothing but whitespace may follow the value */
    for (const char *p = end; p && p < json + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(inst);
            return hearth_set_error(HEARTH_ERR_FORMAT, "instance: text after the JSON value");
        }
    hearth_status st = hearth_schema_validate_json(s, inst, valid, why);
    cJSON_Delete(inst);
    return st;
}
