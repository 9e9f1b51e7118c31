/*
 * filter.c — payload fields and filters: the string dictionary, a payload's
 * fields (parsed once at insert), the filter language (parse, bind to an
 * index's dictionary, evaluate). The syntax is documented in
 * include/hearth/index.h.
 */
#include "index/idx.h"

#include "core/buf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== dictionary =========================================================== */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

uint32_t idx_dict_find(const idx_dict *d, const char *s, size_t len) {
    if (!d->table_cap) return IDX_NONE;
    size_t m = d->table_cap - 1;
    for (size_t i = hash_bytes(s, len) & m;; i = (i + 1) & m) {
        uint32_t e = d->table[i];
        if (!e) return IDX_NONE;
        if (d->len[e - 1] == len && memcmp(d->str[e - 1], s, len) == 0) return e - 1;
    }
}

static bool dict_rehash(idx_dict *d, size_t cap) {
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t id = 0; id < d->n; id++) {
        size_t i = hash_bytes(d->str[id], d->len[id]) & (cap - 1);
        while (t[i]) i = (i + 1) & (cap - 1);
        t[i] = (uint32_t)id + 1;
    }
    free(d->table);
    d->table = t;
    d->table_cap = cap;
    return true;
}

bool idx_dict_add(idx_dict *d, const char *s, size_t len, uint32_t *id) {
    uint32_t e = idx_dict_find(d, s, len);
    if (e != IDX_NONE) { *id = e; return true; }
    if ((d->n + 1) * 2 > d->table_cap && !dict_rehash(d, d->table_cap ? d->table_cap * 2 : 64)) return false;
    size_t cap = d->cap;
    if (!HEARTH_GROW(d->str, cap, d->n + 1)) return false;
    cap = d->cap;
    if (!HEARTH_GROW(d->len, cap, d->n + 1)) return false;
    d->cap = cap;
    char *c = malloc(len + 1);
    if (!c) return false;
    memcpy(c, s, len);
    c[len] = 0;
    d->str[d->n] = c;
    d->len[d->n] = (uint32_t)len;
    size_t i = hash_bytes(s, len) & (d->table_cap - 1);
    while (d->table[i]) i = (i + 1) & (d->table_cap - 1);
    d->table[i] = (uint32_t)d->n + 1;
    *id = (uint32_t)d->n++;
    return true;
}

void idx_dict_free(idx_dict *d) {
    for (size_t i = 0; i < d->n; i++) free(d->str[i]);
    free(d->str);
    free(d->len);
    free(d->table);
    memset(d, 0, sizeof *d);
}

/* ==== payload fields ======================================================= */

static bool value_of(idx_dict *d, const cJSON *j, idx_val *v) {
    memset(v, 0, sizeof *v);
    if (cJSON_IsNull(j)) v->type = IDX_V_NULL;
    else if (cJSON_IsBool(j)) { v->type = IDX_V_BOOL; v->num = cJSON_IsTrue(j) ? 1 : 0; }
    else if (cJSON_IsNumber(j)) { v->type = IDX_V_NUM; v->num = j->valuedouble; }
    else if (cJSON_IsString(j)) {
        v->type = IDX_V_STR;
        return idx_dict_add(d, j->valuestring, strlen(j->valuestring), &v->sid);
    } else v->type = IDX_V_OTHER;
    return true;
}

hearth_status idx_fields_from_json(idx_dict *d, const cJSON *obj, idx_fields **out) {
    *out = NULL;
    uint32_t nf = 0, nv = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        nf++;
        nv += cJSON_IsArray(c) ? (uint32_t)cJSON_GetArraySize(c) : 1;
    }
    if (!nf) return HEARTH_OK;
    idx_fields *f = malloc(sizeof *f + nf * sizeof(idx_field) + nv * sizeof(idx_val));
    if (!f) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for a payload");
    f->n_fields = nf;
    f->n_vals = nv;
    f->v = (idx_val *)(f + 1);          /* values first: they need 8-byte alignment */
    f->f = (idx_field *)(f->v + nv);
    uint32_t i = 0, k = 0;
    for (const cJSON *c = obj->child; c; c = c->next, i++) {
        if (!idx_dict_add(d, c->string ? c->string : "", c->string ? strlen(c->string) : 0, &f->f[i].key)) goto oom;
        f->f[i].first = k;
        if (cJSON_IsArray(c)) {
            for (const cJSON *e = c->child; e; e = e->next)
                if (!value_of(d, e, &f->v[k++])) goto oom;
        } else if (!value_of(d, c, &f->v[k++])) goto oom;
        f->f[i].n = k - f->f[i].first;
    }
    *out = f;
    return HEARTH_OK;
oom:
    free(f);
    return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for a payload");
}

/* ==== filter AST =========================================================== */

enum { F_AND, F_OR, F_NOT, F_EQ, F_NE, F_GT, F_GTE, F_LT, F_LTE, F_IN, F_NIN, F_EXISTS };

typedef struct fval {
    uint32_t type;      /* IDX_V_* (never OTHER) */
    double num;
    char *str;          /* IDX_V_STR, owned */
    size_t len;
} fval;

typedef struct fnode {
    int op;
    char *key;          /* comparisons: the field (owned) */
    uint32_t v0, nv;    /* comparisons: values [v0, v0 + nv) */
    uint32_t k0, nk;    /* and/or/not: children kid[k0 .. k0 + nk) */
    bool exists;        /* F_EXISTS */
} fnode;

struct hearth_index_filter {
    fnode *n;
    size_t n_nodes, cap_nodes;
    fval *v;
    size_t n_vals, cap_vals;
    uint32_t *kid;
    size_t n_kids, cap_kids;
    uint32_t root;
};

void hearth_index_filter_free(hearth_index_filter *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_nodes; i++) free(f->n[i].key);
    for (size_t i = 0; i < f->n_vals; i++) free(f->v[i].str);
    free(f->n);
    free(f->v);
    free(f->kid);
    free(f);
}

typedef struct parser {
    hearth_index_filter *f;
    hearth_status st;
    int depth;
} parser;

static bool perr(parser *ps, hearth_status s, const char *fmt, const char *what) {
    if (ps->st == HEARTH_OK) ps->st = hearth_set_error(s, fmt, what);
    return false;
}

static bool add_node(parser *ps, fnode n, uint32_t *at) {
    hearth_index_filter *f = ps->f;
    if (!HEARTH_GROW(f->n, f->cap_nodes, f->n_nodes + 1)) {
        free(n.key);
        return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    }
    f->n[f->n_nodes] = n;
    *at = (uint32_t)f->n_nodes++;
    return true;
}

static bool add_value(parser *ps, const cJSON *j, const char *key) {
    hearth_index_filter *f = ps->f;
    fval v;
    memset(&v, 0, sizeof v);
    if (cJSON_IsNull(j)) v.type = IDX_V_NULL;
    else if (cJSON_IsBool(j)) { v.type = IDX_V_BOOL; v.num = cJSON_IsTrue(j); }
    else if (cJSON_IsNumber(j)) { v.type = IDX_V_NUM; v.num = j->valuedouble; }
    else if (cJSON_IsString(j)) {
        v.type = IDX_V_STR;
        v.len = strlen(j->valuestring);
        v.str = strdup(j->valuestring);
        if (!v.str) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    } else
        return perr(ps, HEARTH_ERR_FORMAT,
                    "index filter: field \"%s\": values must be strings, numbers, booleans or null", key);
    if (!HEARTH_GROW(f->v, f->cap_vals, f->n_vals + 1)) {
        free(v.str);
        return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    }
    f->v[f->n_vals++] = v;
    return true;
}

static bool parse_node(parser *ps, const cJSON *j, uint32_t *at);

/* kids of one and/or/not: parsed first (their nodes), then listed contiguously */
static bool parse_group(parser *ps, int op, const cJSON *const *items, size_t n, uint32_t *at) {
    uint32_t tmp_small[16], *tmp = n <= 16 ? tmp_small : malloc(n * sizeof *tmp);
    if (!tmp) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) ok = parse_node(ps, items[i], &tmp[i]);
    hearth_index_filter *f = ps->f;
    if (ok && !HEARTH_GROW(f->kid, f->cap_kids, f->n_kids + n)) ok = perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    if (ok) {
        fnode g = {.op = op, .k0 = (uint32_t)f->n_kids, .nk = (uint32_t)n};
        memcpy(f->kid + f->n_kids, tmp, n * sizeof *tmp);
        f->n_kids += n;
        ok = add_node(ps, g, at);
    }
    if (tmp != tmp_small) free(tmp);
    return ok;
}

static bool parse_group_json(parser *ps, int op, const cJSON *arr, const char *name, uint32_t *at) {
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return perr(ps, HEARTH_ERR_FORMAT, "index filter: %s needs a non-empty array of filters", name);
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    const cJSON **items = malloc(n * sizeof *items);
    if (!items) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    for (const cJSON *c = arr->child; c; c = c->next) items[i++] = c;
    bool ok = parse_group(ps, op, items, n, at);
    free(items);
    return ok;
}

static bool is_scalar(const cJSON *j) {
    return cJSON_IsNull(j) || cJSON_IsBool(j) || cJSON_IsNumber(j) || cJSON_IsString(j);
}

/* one field's condition: a value (equality) or an object of operators */
static bool parse_field(parser *ps, const char *key, const cJSON *cond, uint32_t *at) {
    static const struct { const char *name; int op; } ops[] = {
        {"$eq", F_EQ}, {"$ne", F_NE}, {"$gt", F_GT}, {"$gte", F_GTE}, {"$lt", F_LT},
        {"$lte", F_LTE}, {"$in", F_IN}, {"$nin", F_NIN}, {"$exists", F_EXISTS},
    };
    hearth_index_filter *f = ps->f;
    if (is_scalar(cond)) {
        fnode n = {.op = F_EQ, .key = strdup(key), .v0 = (uint32_t)f->n_vals, .nv = 1};
        if (!n.key) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
        if (!add_value(ps, cond, key)) { free(n.key); return false; }
        return add_node(ps, n, at);
    }
    if (!cJSON_IsObject(cond) || !cond->child)
        return perr(ps, HEARTH_ERR_FORMAT,
                    "index filter: field \"%s\": expected a value or an object of operators ($eq, $gt, $in...)", key);
    /* each operator a node; several are and-ed */
    uint32_t tmp[16];
    size_t n_ops = 0;
    for (const cJSON *c = cond->child; c; c = c->next) {
        int op = -1;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (c->string && strcmp(c->string, ops[i].name) == 0) op = ops[i].op;
        if (op < 0) {
            char what[160];
            snprintf(what, sizeof what, "\"%.60s\" on field \"%.60s\"", c->string ? c->string : "", key);
            return perr(ps, HEARTH_ERR_FORMAT,
                        "index filter: unknown operator %s (expected $eq $ne $gt $gte $lt $lte $in $nin $exists)", what);
        }
        if (n_ops == 16) return perr(ps, HEARTH_ERR_FORMAT, "index filter: field \"%s\": too many operators", key);
        fnode n = {.op = op, .key = strdup(key), .v0 = (uint32_t)f->n_vals};
        if (!n.key) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
        bool ok = true;
        if (op == F_EXISTS) {
            if (!cJSON_IsBool(c)) ok = perr(ps, HEARTH_ERR_FORMAT, "index filter: field \"%s\": $exists needs true or false", key);
            n.exists = cJSON_IsTrue(c);
        } else if (op == F_IN || op == F_NIN) {
            if (!cJSON_IsArray(c)) ok = perr(ps, HEARTH_ERR_FORMAT, "index filter: field \"%s\": $in/$nin need an array of values", key);
            for (const cJSON *e = ok ? c->child : NULL; e && ok; e = e->next) ok = add_value(ps, e, key), n.nv++;
        } else if (op == F_GT || op == F_GTE || op == F_LT || op == F_LTE) {
            if (!cJSON_IsNumber(c) && !cJSON_IsString(c))
                ok = perr(ps, HEARTH_ERR_FORMAT, "index filter: field \"%s\": ranges need a number or a string", key);
            else ok = add_value(ps, c, key), n.nv = 1;
        } else {
            ok = add_value(ps, c, key);
            n.nv = 1;
        }
        if (!ok || !add_node(ps, n, &tmp[n_ops])) {
            if (!ok) free(n.key);
            return false;
        }
        n_ops++;
    }
    if (n_ops == 1) { *at = tmp[0]; return true; }
    if (!HEARTH_GROW(f->kid, f->cap_kids, f->n_kids + n_ops)) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
    fnode g = {.op = F_AND, .k0 = (uint32_t)f->n_kids, .nk = (uint32_t)n_ops};
    memcpy(f->kid + f->n_kids, tmp, n_ops * sizeof *tmp);
    f->n_kids += n_ops;
    return add_node(ps, g, at);
}

static bool parse_node(parser *ps, const cJSON *j, uint32_t *at) {
    if (++ps->depth > 64) return perr(ps, HEARTH_ERR_FORMAT, "index filter: nested too deeply%s", "");
    bool ok;
    if (!cJSON_IsObject(j)) {
        ok = perr(ps, HEARTH_ERR_FORMAT, "index filter: expected an object such as {\"field\": value}%s", "");
    } else {
        size_t n = 0;
        for (const cJSON *c = j->child; c; c = c->next) n++;
        if (n == 0) {   /* {} matches everything: an empty and */
            fnode g = {.op = F_AND};
            ok = add_node(ps, g, at);
        } else {
            uint32_t tmp_small[16], *tmp = n <= 16 ? tmp_small : malloc(n * sizeof *tmp);
            if (!tmp) return perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
            size_t i = 0;
            ok = true;
            for (const cJSON *c = j->child; c && ok; c = c->next, i++) {
                const char *k = c->string ? c->string : "";
                if (strcmp(k, "$and") == 0) ok = parse_group_json(ps, F_AND, c, "$and", &tmp[i]);
                else if (strcmp(k, "$or") == 0) ok = parse_group_json(ps, F_OR, c, "$or", &tmp[i]);
                else if (strcmp(k, "$not") == 0) {
                    const cJSON *one[1] = {c};
                    ok = cJSON_IsObject(c) ? parse_group(ps, F_NOT, one, 1, &tmp[i])
                                           : perr(ps, HEARTH_ERR_FORMAT, "index filter: $not needs a filter object%s", "");
                } else if (k[0] == '$') {
                    ok = perr(ps, HEARTH_ERR_FORMAT, "index filter: unknown operator \"%s\" (expected $and, $or, $not or a field name)", k);
                } else ok = parse_field(ps, k, c, &tmp[i]);
            }
            hearth_index_filter *f = ps->f;
            if (ok && n == 1) *at = tmp[0];
            else if (ok) {
                if (!HEARTH_GROW(f->kid, f->cap_kids, f->n_kids + n)) ok = perr(ps, HEARTH_ERR_NOMEM, "index filter: out of memory%s", "");
                else {
                    fnode g = {.op = F_AND, .k0 = (uint32_t)f->n_kids, .nk = (uint32_t)n};
                    memcpy(f->kid + f->n_kids, tmp, n * sizeof *tmp);
                    f->n_kids += n;
                    ok = add_node(ps, g, at);
                }
            }
            if (tmp != tmp_small) free(tmp);
        }
    }
    ps->depth--;
    return ok;
}

hearth_status hearth_index_filter_parse(const char *json, hearth_index_filter **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_filter_parse: out is NULL");
    *out = NULL;
    if (!json) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_filter_parse: json is NULL");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(json, &end, true);
    if (!j) {
        size_t off = end ? (size_t)(end - json) : 0;
        return hearth_set_error(HEARTH_ERR_FORMAT, "index filter: malformed JSON at byte %zu", off);
    }
    hearth_index_filter *f = calloc(1, sizeof *f);
    if (!f) { cJSON_Delete(j); return hearth_set_error(HEARTH_ERR_NOMEM, "index filter: out of memory"); }
    parser ps = {f, HEARTH_OK, 0};
    bool ok = parse_node(&ps, j, &f->root);
    cJSON_Delete(j);
    if (!ok) {
        hearth_index_filter_free(f);
        return ps.st ? ps.st : hearth_set_error(HEARTH_ERR_FORMAT, "index filter: invalid");
    }
    *out = f;
    return HEARTH_OK;
}

/* ==== binding and evaluation =============================================== */

struct idx_bound {
    const hearth_index_filter *f;
    uint32_t *key;   /* per node: dict id of its field (IDX_NONE: no payload has it) */
    uint32_t *sid;   /* per value: dict id of a string value (IDX_NONE: no payload has it) */
};

idx_bound *idx_filter_bind(const hearth_index_filter *f, const idx_dict *d) {
    idx_bound *b = malloc(sizeof *b + (f->n_nodes + f->n_vals) * sizeof(uint32_t));
    if (!b) return NULL;
    b->f = f;
    b->key = (uint32_t *)(b + 1);
    b->sid = b->key + f->n_nodes;
    for (size_t i = 0; i < f->n_nodes; i++)
        b->key[i] = f->n[i].key ? idx_dict_find(d, f->n[i].key, strlen(f->n[i].key)) : IDX_NONE;
    for (size_t i = 0; i < f->n_vals; i++)
        b->sid[i] = f->v[i].type == IDX_V_STR ? idx_dict_find(d, f->v[i].str, f->v[i].len) : IDX_NONE;
    return b;
}

void idx_bound_free(idx_bound *b) { free(b); }

static bool val_eq(const idx_bound *b, uint32_t vi, const idx_val *x) {
    const fval *v = &b->f->v[vi];
    if (v->type != x->type) return false;
    switch (v->type) {
    case IDX_V_NULL: return true;
    case IDX_V_BOOL:
    case IDX_V_NUM: return v->num == x->num;
    case IDX_V_STR: return b->sid[vi] != IDX_NONE && b->sid[vi] == x->sid;
    }
    return false;
}

/* sign of (x - v) for an ordered comparison; false when not comparable */
static bool val_cmp(const idx_bound *b, const idx_dict *d, uint32_t vi, const idx_val *x, int *c) {
    const fval *v = &b->f->v[vi];
    if (v->type == IDX_V_NUM && x->type == IDX_V_NUM) {
        *c = x->num < v->num ? -1 : x->num > v->num ? 1 : 0;
        return true;
    }
    if (v->type == IDX_V_STR && x->type == IDX_V_STR) {
        const char *s = d->str[x->sid];
        size_t n = d->len[x->sid], m = n < v->len ? n : v->len;
        int r = memcmp(s, v->str, m);
        *c = r ? (r < 0 ? -1 : 1) : (n < v->len ? -1 : n > v->len ? 1 : 0);
        return true;
    }
    return false;
}

static const idx_field *field_of(const idx_fields *fs, uint32_t key) {
    if (!fs || key == IDX_NONE) return NULL;
    for (uint32_t i = 0; i < fs->n_fields; i++)
        if (fs->f[i].key == key) return &fs->f[i];
    return NULL;
}

static bool any_eq(const idx_bound *b, const fnode *n, const idx_fields *fs, const idx_field *fl) {
    for (uint32_t i = 0; i < fl->n; i++)
        for (uint32_t j = 0; j < n->nv; j++)
            if (val_eq(b, n->v0 + j, &fs->v[fl->first + i])) return true;
    return false;
}

static bool eval(const idx_bound *b, const idx_dict *d, uint32_t ni, const idx_fields *fs) {
    const fnode *n = &b->f->n[ni];
    switch (n->op) {
    case F_AND:
        for (uint32_t i = 0; i < n->nk; i++)
            if (!eval(b, d, b->f->kid[n->k0 + i], fs)) return false;
        return true;
    case F_OR:
        for (uint32_t i = 0; i < n->nk; i++)
            if (eval(b, d, b->f->kid[n->k0 + i], fs)) return true;
        return false;
    case F_NOT: return !eval(b, d, b->f->kid[n->k0], fs);
    default: break;
    }
    const idx_field *fl = field_of(fs, b->key[ni]);
    switch (n->op) {
    case F_EXISTS: return (fl != NULL) == n->exists;
    case F_EQ:
    case F_IN: return fl && any_eq(b, n, fs, fl);
    case F_NE:
    case F_NIN: return !fl || !any_eq(b, n, fs, fl);
    default: break;
    }
    if (!fl) return false;
    for (uint32_t i = 0; i < fl->n; i++) {
        int c;
        if (!val_cmp(b, d, n->v0, &fs->v[fl->first + i], &c)) continue;
        if ((n->op == F_GT && c > 0) || (n->op == F_GTE && c >= 0) || (n->op == F_LT && c < 0) ||
            (n->op == F_LTE && c <= 0))
            return true;
    }
    return false;
}

bool idx_bound_match(const idx_bound *b, const idx_dict *d, const idx_fields *fields) {
    return eval(b, d, b->f->root, fields);
}

/* Equality postings a filter can use: the (key, value) pairs of the single
 * field condition that every match must satisfy — an EQ/IN at the root or
 * inside a root-level AND. Writes the node index into *node, and *whole =
 * the filter is that condition alone; false if none. */
bool idx_filter_posting_node(const hearth_index_filter *f, uint32_t *node, bool *whole) {
    const fnode *r = &f->n[f->root];
    *whole = false;
    if (r->op == F_EQ || r->op == F_IN) { *node = f->root; *whole = true; return true; }
    if (r->op != F_AND) return false;
    for (uint32_t i = 0; i < r->nk; i++) {
        uint32_t k = f->kid[r->k0 + i];
        if (f->n[k].op == F_EQ || f->n[k].op == F_IN) { *node = k; return true; }
    }
    return false;
}

/* the values of posting node ni as (type, bits) pairs under binding b;
 * returns how many (values absent from the dictionary are skipped) */
size_t idx_filter_posting_values(const idx_bound *b, uint32_t ni, uint32_t *key, uint32_t *types, uint64_t *bits,
                                 size_t max) {
    const fnode *n = &b->f->n[ni];
    *key = b->key[ni];
    size_t k = 0;
    for (uint32_t j = 0; j < n->nv && k < max; j++) {
        const fval *v = &b->f->v[n->v0 + j];
        uint64_t x = 0;
        if (v->type == IDX_V_STR) {
            if (b->sid[n->v0 + j] == IDX_NONE) continue;
            x = b->sid[n->v0 + j];
        } else if (v->type == IDX_V_NUM || v->type == IDX_V_BOOL) {
            double dv = v->num == 0 ? 0.0 : v->num;   /* -0 == 0 */
            memcpy(&x, &dv, sizeof x);
        }
        types[k] = v->type;
        bits[k++] = x;
    }
    return k;
}

uint32_t idx_filter_posting_count(const idx_bound *b, uint32_t ni) { return b->f->n[ni].nv; }

hearth_status hearth_index_filter_match(const hearth_index_filter *f, const char *payload_json, bool *match) {
    if (!f || !match) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_filter_match: NULL argument");
    cJSON *j = cJSON_Parse(payload_json ? payload_json : "{}");
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return hearth_set_error(HEARTH_ERR_FORMAT, "index: payload is not a JSON object");
    }
    idx_dict d;
    memset(&d, 0, sizeof d);
    idx_fields *fs = NULL;
    hearth_status st = idx_fields_from_json(&d, j, &fs);
    cJSON_Delete(j);
    if (st == HEARTH_OK) {
        idx_bound *b = idx_filter_bind(f, &d);
        if (!b) st = hearth_set_error(HEARTH_ERR_NOMEM, "index filter: out of memory");
        else *match = idx_bound_match(b, &d, fs);
        idx_bound_free(b);
    }
    free(fs);
    idx_dict_free(&d);
    return st;
}
