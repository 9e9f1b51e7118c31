/*
 * filter.c — metadata filters (OpenAI's vector-store filter JSON) compiled
 * to a SQL condition over chunks (alias c) and documents (alias d), with
 * every value bound as a parameter:
 *
 *   {"type": "eq", "key": "format", "value": "pdf"}
 *   {"type": "and", "filters": [{"type": "gte", "key": "page", "value": 3},
 *                               {"type": "in", "key": "team", "value": ["ops", "sre"]}]}
 *
 * Built-in keys: source, kind, page, chunk, format; any other key is an
 * attribute of the document (json_extract over docs.attributes). A
 * document's attribute of a built-in key's name takes its place.
 */
#include "rag_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16

static bool add_val(rag_filter *f, const cJSON *v, const char *where) {
    if (!HEARTH_GROW(f->vals, f->cap_vals, f->n_vals + 1)) {
        hearth_set_error(HEARTH_ERR_NOMEM, "filter: out of memory");
        return false;
    }
    rag_filter_val *x = &f->vals[f->n_vals];
    memset(x, 0, sizeof *x);
    if (cJSON_IsString(v)) {
        x->type = SQLITE_TEXT;
        if (!(x->s = strdup(v->valuestring))) return hearth_set_error(HEARTH_ERR_NOMEM, "filter: out of memory"), false;
    } else if (cJSON_IsBool(v)) {
        x->type = SQLITE_INTEGER;
        x->i = cJSON_IsTrue(v);
    } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15) {
            x->type = SQLITE_INTEGER;
            x->i = (int64_t)v->valuedouble;
        } else {
            x->type = SQLITE_FLOAT;
            x->f = v->valuedouble;
        }
    } else {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s: 'value' must be a string, a number or a boolean", where);
        return false;
    }
    f->n_vals++;
    return true;
}

static bool key_sql(hearth_buf *b, const char *key, const char *where) {
    static const struct { const char *k, *sql; } B[] = {
        {"source", "d.source"}, {"kind", "c.kind"}, {"page", "c.page"}, {"chunk", "c.idx"}, {"format", "d.format"},
    };
    /* a document attribute of the same name wins over the built-in key */
    for (size_t i = 0; i < sizeof B / sizeof B[0]; i++)
        if (!strcmp(key, B[i].k))
            return hearth_buf_printf(b, "coalesce(json_extract(d.attributes, '$.\"%s\"'), %s)", key, B[i].sql);
    size_t n = strlen(key);
    if (n == 0 || n > 64) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s: 'key' must be 1..64 characters", where);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            hearth_set_error(HEARTH_ERR_INVALID_ARG,
                             "filter: %s: key '%s' may hold only letters, digits, '_' and '-'", where, key);
            return false;
        }
    }
    return hearth_buf_printf(b, "json_extract(d.attributes, '$.\"%s\"')", key);
}

static bool compile(const cJSON *o, rag_filter *f, const char *where, int depth) {
    if (depth > MAX_DEPTH) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: nested more than %d levels", MAX_DEPTH);
        return false;
    }
    if (!cJSON_IsObject(o)) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s must be an object with a 'type'", where);
        return false;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(type)) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s has no string 'type'", where);
        return false;
    }
    const char *t = type->valuestring;
    hearth_buf *b = &f->sql;
    if (!strcmp(t, "and") || !strcmp(t, "or")) {
        const cJSON *fs = cJSON_GetObjectItemCaseSensitive(o, "filters");
        if (!cJSON_IsArray(fs) || cJSON_GetArraySize(fs) == 0) {
            hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s ('%s') needs a non-empty 'filters' array", where, t);
            return false;
        }
        hearth_buf_putc(b, '(');
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, fs) {
            char w[256];
            snprintf(w, sizeof w, "%s.filters[%d]", where, i);
            if (i++) hearth_buf_puts(b, !strcmp(t, "and") ? " AND " : " OR ");
            if (!compile(x, f, w, depth + 1)) return false;
        }
        hearth_buf_putc(b, ')');
        return true;
    }
    static const struct { const char *t, *op; } OPS[] = {
        {"eq", "="}, {"ne", "IS NOT"}, {"gt", ">"}, {"gte", ">="}, {"lt", "<"}, {"lte", "<="},
        {"in", "IN"}, {"nin", "NOT IN"},
    };
    const char *op = NULL;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(t, OPS[i].t)) op = OPS[i].op;
    if (!op) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG,
                         "filter: %s: type '%s' is not one of eq, ne, gt, gte, lt, lte, in, nin, and, or", where, t);
        return false;
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(o, "value");
    if (!cJSON_IsString(key)) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s ('%s') needs a string 'key'", where, t);
        return false;
    }
    if (!val) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s ('%s') needs a 'value'", where, t);
        return false;
    }
    hearth_buf_putc(b, '(');
    if (!key_sql(b, key->valuestring, where)) return false;
    hearth_buf_printf(b, " %s ", op);
    if (!strcmp(t, "in") || !strcmp(t, "nin")) {
        if (!cJSON_IsArray(val) || cJSON_GetArraySize(val) == 0 || cJSON_GetArraySize(val) > 1000) {
            hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: %s ('%s') needs a 'value' array of 1..1000 items", where,
                             t);
            return false;
        }
        hearth_buf_putc(b, '(');
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, val) {
            if (i++) hearth_buf_puts(b, ", ");
            hearth_buf_putc(b, '?');
            if (!add_val(f, x, where)) return false;
        }
        hearth_buf_putc(b, ')');
    } else {
        hearth_buf_putc(b, '?');
        if (!add_val(f, val, where)) return false;
    }
    hearth_buf_putc(b, ')');
    return true;
}

hearth_status rag_filter_compile(const char *json, rag_filter *f) {
    memset(f, 0, sizeof *f);
    if (!json || !*json) {
        hearth_buf_puts(&f->sql, "1");
        return f->sql.oom ? hearth_set_error(HEARTH_ERR_NOMEM, "filter: out of memory") : HEARTH_OK;
    }
    cJSON *o = cJSON_Parse(json);
    if (!o) {
        const char *e = cJSON_GetErrorPtr();
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "filter: not valid JSON (near byte %ld)",
                                e && e >= json ? (long)(e - json) : 0L);
    }
    bool ok = compile(o, f, "filter", 0);
    cJSON_Delete(o);
    if (!ok) {
        hearth_status st = HEARTH_ERR_INVALID_ARG;   /* its message is set */
        rag_filter_free(f);
        return st;
    }
    if (f->sql.oom) {
        rag_filter_free(f);
        return hearth_set_error(HEARTH_ERR_NOMEM, "filter: out of memory");
    }
    return HEARTH_OK;
}

void rag_filter_bind(const rag_filter *f, sqlite3_stmt *st, int first) {
    for (size_t i = 0; i < f->n_vals; i++) {
        const rag_filter_val *v = &f->vals[i];
        int k = first + (int)i;
        if (v->type == SQLITE_TEXT) sqlite3_bind_text(st, k, v->s, -1, SQLITE_STATIC);
        else if (v->type == SQLITE_INTEGER) sqlite3_bind_int64(st, k, v->i);
        else if (v->type == SQLITE_FLOAT) sqlite3_bind_double(st, k, v->f);
        else sqlite3_bind_null(st, k);
    }
}

void rag_filter_free(rag_filter *f) {
    if (!f) return;
    hearth_buf_free(&f->sql);
    for (size_t i = 0; i < f->n_vals; i++) free(f->vals[i].s);
    free(f->vals);
    memset(f, 0, sizeof *f);
}
