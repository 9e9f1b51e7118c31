/*
 * yaml_json.c — one YAML document into a cJSON tree (libyaml's event
 * parser), for prompt specs and evaluation suites. Typing of plain scalars
 * follows YAML 1.2's core schema; anchors and aliases are refused so a small
 * file cannot expand into a huge tree, and nesting is bounded.
 */
#include "library_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YJ_MAX_DEPTH 64

typedef struct yj_frame {
    cJSON *node;     /* object or array being filled */
    char *key;       /* an object's key waiting for its value (owned) */
} yj_frame;

static bool only_chars(const char *s, const char *set) {
    for (; *s; s++)
        if (!strchr(set, *s)) return false;
    return true;
}

/* a plain (unquoted) scalar: null, boolean, number or string */
static cJSON *plain_scalar(const char *s) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const trues[] = {"true", "True", "TRUE"};
    static const char *const falses[] = {"false", "False", "FALSE"};
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(s, nulls[i])) return cJSON_CreateNull();
    for (size_t i = 0; i < 3; i++) {
        if (!strcmp(s, trues[i])) return cJSON_CreateTrue();
        if (!strcmp(s, falses[i])) return cJSON_CreateFalse();
    }
    const char *d = s + (*s == '-' || *s == '+');
    bool digits = *d && ((d[0] >= '0' && d[0] <= '9') || (d[0] == '.' && d[1] >= '0' && d[1] <= '9'));
    if (digits && only_chars(d, "0123456789.eE+-")) {
        char *end = NULL;
        double v = strtod(s, &end);
        if (end && *end == 0) return cJSON_CreateNumber(v);
    }
    return cJSON_CreateString(s);
}

static void frames_free(yj_frame *st, int n) {
    for (int i = 0; i < n; i++) free(st[i].key);
}

/* attaches v to the innermost open container (or makes it the root); false on a bad key */
static bool attach(yj_frame *st, int n, cJSON **root, cJSON *v, const char **err) {
    if (n == 0) {
        *root = v;
        return true;
    }
    yj_frame *f = &st[n - 1];
    if (cJSON_IsArray(f->node)) {
        cJSON_AddItemToArray(f->node, v);
        return true;
    }
    if (!f->key) {   /* v is a key: only scalars may be */
        if (!cJSON_IsString(v) && !cJSON_IsNumber(v) && !cJSON_IsBool(v) && !cJSON_IsNull(v)) {
            *err = "a mapping key must be a scalar";
            cJSON_Delete(v);
            return false;
        }
        char *k = cJSON_PrintUnformatted(v);
        if (cJSON_IsString(v)) {
            free(k);
            k = strdup(v->valuestring);
        }
        cJSON_Delete(v);
        if (!k) {
            *err = "out of memory";
            return false;
        }
        if (cJSON_GetObjectItemCaseSensitive(f->node, k)) {
            free(k);
            *err = "duplicate mapping key";
            return false;
        }
        f->key = k;
        return true;
    }
    cJSON_AddItemToObject(f->node, f->key, v);
    free(f->key);
    f->key = NULL;
    return true;
}

cJSON *pl_yaml_parse(const char *text, size_t len, const char *what) {
    if (!what) what = "YAML";
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", what);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yj_frame st[YJ_MAX_DEPTH];
    int n = 0;
    cJSON *root = NULL;
    const char *err = NULL;
    size_t err_line = 0;
    bool done = false, seen_doc = false;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            hearth_set_error(HEARTH_ERR_FORMAT, "%s: line %zu: %s", what, p.problem_mark.line + 1,
                             p.problem ? p.problem : "syntax error");
            goto fail;
        }
        err_line = ev.start_mark.line + 1;
        cJSON *v = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            if (seen_doc) err = "only one YAML document is read (found a second '---')";
            seen_doc = true;
            break;
        case YAML_ALIAS_EVENT: err = "aliases (*name) are not supported"; break;
        case YAML_SCALAR_EVENT:
            if (ev.data.scalar.anchor) {
                err = "anchors (&name) are not supported";
                break;
            }
            v = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar((const char *)ev.data.scalar.value)
                                                                 : cJSON_CreateString((const char *)ev.data.scalar.value);
            if (!v) err = "out of memory";
            else if (!attach(st, n, &root, v, &err)) v = NULL;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const yaml_char_t *anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                             : ev.data.mapping_start.anchor;
            if (anchor) {
                err = "anchors (&name) are not supported";
                break;
            }
            if (n == YJ_MAX_DEPTH) {
                err = "nested too deeply";
                break;
            }
            if (n > 0 && cJSON_IsObject(st[n - 1].node) && !st[n - 1].key) {
                err = "a mapping key must be a scalar";
                break;
            }
            v = ev.type == YAML_SEQUENCE_START_EVENT ? cJSON_CreateArray() : cJSON_CreateObject();
            if (!v) {
                err = "out of memory";
                break;
            }
            if (!attach(st, n, &root, v, &err)) break;
            st[n].node = v;
            st[n].key = NULL;
            n++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (n > 0) {
                n--;
                free(st[n].key);
                st[n].key = NULL;
            }
            break;
        default: break;
        }
        yaml_event_delete(&ev);
        if (err) {
            hearth_set_error(HEARTH_ERR_FORMAT, "%s: line %zu: %s", what, err_line, err);
            goto fail;
        }
    }
    yaml_parser_delete(&p);
    if (!root) root = cJSON_CreateNull();
    return root;
fail:
    frames_free(st, n);
    yaml_parser_delete(&p);
    cJSON_Delete(root);
    return NULL;
}
