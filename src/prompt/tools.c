/*
 * tools.c — a checked list of function tools (OpenAI's `tools` array):
 * names, parameter schemas compiled by the validator (schema.h), argument
 * checks, and the grammar of a required call (include/hearth/tool_call.h).
 */
#include "hearth/tool_call.h"
#include "hearth/schema.h"
#include "sample/grammar_cjson.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOOLS 128

typedef struct tool {
    char *name;
    cJSON *params;          /* the parameters schema (owned); NULL: any object */
    hearth_schema *schema;  /* compiled; NULL when params is NULL */
} tool;

struct hearth_tools {
    tool *t;
    int n;
};

void hearth_tools_free(hearth_tools *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        free(t->t[i].name);
        cJSON_Delete(t->t[i].params);
        hearth_schema_free(t->t[i].schema);
    }
    free(t->t);
    free(t);
}

static bool good_name(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* What the validator reads leniently but a tool's author got wrong: a
 * "type" that is no JSON type, a length/count bound that is not a
 * non-negative integer, a numeric bound that is not a number, "required"
 * that is not a list of names. Walks the schema's subschemas; *where gets
 * the JSON pointer of the first mistake. */
static bool schema_sane(const cJSON *s, char *where, size_t cap, int depth);

static bool map_sane(const cJSON *m, const char *kw, char *where, size_t cap, int depth) {
    const cJSON *x;
    cJSON_ArrayForEach(x, m) {
        size_t n = strlen(where);
        snprintf(where + n, cap - n, "/%s/%s", kw, x->string);
        if (!schema_sane(x, where, cap, depth + 1)) return false;
        where[n] = 0;
    }
    return true;
}

static bool schema_sane(const cJSON *s, char *where, size_t cap, int depth) {
    if (cJSON_IsBool(s)) return true;
    if (!cJSON_IsObject(s) || depth > 64) return false;
    static const char *const TYPES[] = {"object", "array", "string", "number", "integer", "boolean", "null"};
    static const char *const COUNTS[] = {"minLength", "maxLength", "minItems", "maxItems", "minProperties",
                                         "maxProperties", "minContains", "maxContains"};
    static const char *const NUMS[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"};
    static const char *const MAPS[] = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"};
    static const char *const ONE[] = {"items", "additionalProperties", "not", "if", "then", "else", "contains",
                                      "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems"};
    static const char *const LISTS[] = {"allOf", "anyOf", "oneOf", "prefixItems", "items"};
    size_t n = strlen(where);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (t) {
        bool ok = cJSON_IsString(t) || cJSON_IsArray(t);
        const cJSON *x = cJSON_IsString(t) ? t : t->child;
        for (; ok && x; x = cJSON_IsString(t) ? NULL : x->next) {
            bool known = false;
            for (size_t i = 0; cJSON_IsString(x) && i < 7; i++) known |= !strcmp(x->valuestring, TYPES[i]);
            ok = known;
        }
        if (!ok) return snprintf(where + n, cap - n, "/type"), false;
    }
    for (size_t i = 0; i < sizeof COUNTS / sizeof *COUNTS; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, COUNTS[i]);
        if (x && !(cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble == (double)(int64_t)x->valuedouble))
            return snprintf(where + n, cap - n, "/%s", COUNTS[i]), false;
    }
    for (size_t i = 0; i < sizeof NUMS / sizeof *NUMS; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, NUMS[i]);
        if (x && !cJSON_IsNumber(x) && !(cJSON_IsBool(x) && i >= 2 && i <= 3))   /* draft-04's boolean exclusives */
            return snprintf(where + n, cap - n, "/%s", NUMS[i]), false;
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required"), *x;
    if (req && !cJSON_IsArray(req) && !cJSON_IsBool(req)) return snprintf(where + n, cap - n, "/required"), false;
    for (x = cJSON_IsArray(req) ? req->child : NULL; x; x = x->next)
        if (!cJSON_IsString(x)) return snprintf(where + n, cap - n, "/required"), false;
    for (size_t i = 0; i < sizeof MAPS / sizeof *MAPS; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(s, MAPS[i]);
        if (m && !cJSON_IsObject(m)) return snprintf(where + n, cap - n, "/%s", MAPS[i]), false;
        if (m && !map_sane(m, MAPS[i], where, cap, depth)) return false;
    }
    for (size_t i = 0; i < sizeof ONE / sizeof *ONE; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(s, ONE[i]);
        if (!o || (cJSON_IsArray(o) && !strcmp(ONE[i], "items"))) continue;
        snprintf(where + n, cap - n, "/%s", ONE[i]);
        if (!schema_sane(o, where, cap, depth + 1)) return false;
        where[n] = 0;
    }
    for (size_t i = 0; i < sizeof LISTS / sizeof *LISTS; i++) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(s, LISTS[i]);
        if (!l || (!cJSON_IsArray(l) && !strcmp(LISTS[i], "items"))) continue;
        if (!cJSON_IsArray(l)) return snprintf(where + n, cap - n, "/%s", LISTS[i]), false;
        int k = 0;
        cJSON_ArrayForEach(x, l) {
            snprintf(where + n, cap - n, "/%s/%d", LISTS[i], k++);
            if (!schema_sane(x, where, cap, depth + 1)) return false;
            where[n] = 0;
        }
    }
    return true;
}

static hearth_status read_tool(hearth_tools *ts, const cJSON *it, int i) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(it, "function");
    if (!cJSON_IsObject(it))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d]: each tool must be an object", i);
    if (!cJSON_IsString(type))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].type: must be \"function\"", i);
    if (strcmp(type->valuestring, "function"))
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "tools[%d].type: '%s' is not supported (only \"function\")", i,
                                type->valuestring);
    if (!cJSON_IsObject(fn))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].function: must be an object with a name", i);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    if (!cJSON_IsString(name) || !good_name(name->valuestring))
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "tools[%d].function.name: must be 1 to 64 letters, digits, '_' or '-'", i);
    if (hearth_tools_find(ts, name->valuestring) >= 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].function.name: '%s' is given twice", i,
                                name->valuestring);
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(fn, "description");
    if (desc && !cJSON_IsNull(desc) && !cJSON_IsString(desc))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].function.description: must be a string", i);
    const cJSON *strict = cJSON_GetObjectItemCaseSensitive(fn, "strict");
    if (strict && !cJSON_IsNull(strict) && !cJSON_IsBool(strict))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].function.strict: must be a boolean", i);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
    tool *t = &ts->t[ts->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name->valuestring))) return hearth_set_error(HEARTH_ERR_NOMEM, "tools: out of memory");
    ts->n++;
    if (!params || cJSON_IsNull(params)) return HEARTH_OK;
    if (!cJSON_IsObject(params))
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].function.parameters: must be a JSON Schema object", i);
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(params, "type");
    if (pt && !(cJSON_IsString(pt) && !strcmp(pt->valuestring, "object")))
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "tools[%d].function.parameters: the arguments are an object: 'type' must be \"object\"", i);
    char where[256] = "";
    if (!schema_sane(params, where, sizeof where, 0))
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "tools[%d].function.parameters: not a valid JSON Schema at '%s' (a type that is no "
                                "JSON type, a bound that is not a number, 'required' that is not a list of names...)",
                                i, where[0] ? where : "/");
    char *text = cJSON_PrintUnformatted(params);
    t->params = cJSON_Duplicate(params, true);
    if (!text || !t->params) {
        free(text);
        return hearth_set_error(HEARTH_ERR_NOMEM, "tools: out of memory");
    }
    hearth_schema_params sp = hearth_schema_default_params();
    sp.format_assert = true;
    hearth_status st = hearth_schema_compile(text, strlen(text), &sp, &t->schema);
    free(text);
    if (st != HEARTH_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools[%d].function.parameters: %s", i, msg);
    }
    return HEARTH_OK;
}

hearth_status hearth_tools_parse(const char *json, size_t len, hearth_tools **out) {
    if (!out || !json) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tools: NULL argument");
    *out = NULL;
    cJSON *arr = cJSON_ParseWithLength(json, len);
    if (!arr) return hearth_set_error(HEARTH_ERR_FORMAT, "tools: not valid JSON");
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n == 0 || n > MAX_TOOLS) {
        cJSON_Delete(arr);
        return hearth_set_error(HEARTH_ERR_FORMAT, "tools: must be an array of 1 to %d tools", MAX_TOOLS);
    }
    hearth_tools *ts = calloc(1, sizeof *ts);
    if (ts) ts->t = calloc((size_t)n, sizeof *ts->t);
    if (!ts || !ts->t) {
        free(ts);
        cJSON_Delete(arr);
        return hearth_set_error(HEARTH_ERR_NOMEM, "tools: out of memory");
    }
    hearth_status st = HEARTH_OK;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if ((st = read_tool(ts, it, i++)) != HEARTH_OK) break;
    }
    cJSON_Delete(arr);
    if (st != HEARTH_OK) {
        hearth_tools_free(ts);
        return st;
    }
    *out = ts;
    return HEARTH_OK;
}

int hearth_tools_count(const hearth_tools *t) { return t ? t->n : 0; }

const char *hearth_tools_name(const hearth_tools *t, int i) { return t && i >= 0 && i < t->n ? t->t[i].name : NULL; }

int hearth_tools_find(const hearth_tools *t, const char *name) {
    for (int i = 0; t && name && i < t->n; i++)
        if (t->t[i].name && !strcmp(t->t[i].name, name)) return i;
    return -1;
}

hearth_status hearth_tools_check(const hearth_tools *t, const char *name, const char *args, size_t len) {
    int i = hearth_tools_find(t, name);
    if (i < 0) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "'%s' is not one of the request's tools", name ? name : "");
    cJSON *a = cJSON_ParseWithLength(args ? args : "", args ? len : 0);
    bool obj = cJSON_IsObject(a);
    cJSON_Delete(a);
    if (!obj) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: the arguments are not a JSON object", name);
    if (!t->t[i].schema) return HEARTH_OK;
    bool valid = false;
    char *why = NULL;
    hearth_status st = hearth_schema_validate(t->t[i].schema, args, len, &valid, &why);
    if (st == HEARTH_OK && !valid)
        st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: the arguments fail the parameters' schema: %s", name,
                              why ? why : "invalid");
    else if (st != HEARTH_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: the arguments cannot be checked: %s", name, msg);
    }
    free(why);
    return st;
}

/* ---- the grammar of a required call --------------------------------------------
 * One call object {"<name key>": const, "<args key>": parameters} per tool
 * (anyOf when any tool may be called), inside a one-item array for the
 * array formats. */
static cJSON *call_schema(const tool *t, const char *name_key, const char *args_key) {
    cJSON *o = cJSON_CreateObject(), *props = cJSON_AddObjectToObject(o, "properties");
    cJSON_AddStringToObject(o, "type", "object");
    cJSON *nm = cJSON_AddObjectToObject(props, name_key);
    cJSON_AddStringToObject(nm, "const", t->name);
    cJSON *params = t->params ? cJSON_Duplicate(t->params, true) : cJSON_CreateObject();
    if (params && !t->params) cJSON_AddStringToObject(params, "type", "object");
    cJSON_AddItemToObject(props, args_key, params);
    cJSON *req = cJSON_AddArrayToObject(o, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString(name_key));
    cJSON_AddItemToArray(req, cJSON_CreateString(args_key));
    cJSON_AddFalseToObject(o, "additionalProperties");
    return o;
}

hearth_status hearth_tools_grammar(const hearth_tools *t, hearth_tool_format f, const char *name,
                                   hearth_grammar **out) {
    if (!t || !out || (unsigned)f >= HEARTH_TOOL_N_FORMATS)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tools grammar: bad argument");
    *out = NULL;
    int only = -1;
    if (name && (only = hearth_tools_find(t, name)) < 0)
        return hearth_set_error(HEARTH_ERR_NOT_FOUND, "'%s' is not one of the request's tools", name);
    if (f == HEARTH_TOOL_FUNCTIONARY31 || f == HEARTH_TOOL_FUNCTIONARY32 || f == HEARTH_TOOL_DEEPSEEK)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "tool_choice: a required call cannot be enforced yet in the %s format (its function "
                                "name stands outside the JSON); use \"auto\"",
                                hearth_tool_format_name(f));
    const char *nk = f == HEARTH_TOOL_COMMAND_R ? "tool_name" : "name";
    const char *ak = f == HEARTH_TOOL_LLAMA31 || f == HEARTH_TOOL_COMMAND_R ? "parameters" : "arguments";
    cJSON *root = NULL;
    if (only >= 0) {
        root = call_schema(&t->t[only], nk, ak);
    } else {
        root = cJSON_CreateObject();
        cJSON *any = cJSON_AddArrayToObject(root, "anyOf");
        for (int i = 0; i < t->n; i++) cJSON_AddItemToArray(any, call_schema(&t->t[i], nk, ak));
    }
    if (f == HEARTH_TOOL_MISTRAL || f == HEARTH_TOOL_COMMAND_R) {
        cJSON *arr = cJSON_CreateObject();
        cJSON_AddStringToObject(arr, "type", "array");
        cJSON_AddItemToObject(arr, "items", root);
        cJSON_AddNumberToObject(arr, "minItems", 1);
        cJSON_AddNumberToObject(arr, "maxItems", 1);
        root = arr;
    }
    hearth_status st = hearth_grammar_from_schema_json(root, out);
    cJSON_Delete(root);
    if (st != HEARTH_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        int i = only >= 0 ? only : 0;
        /* name the tool whose parameters the grammar refused */
        for (int k = 0; only < 0 && k < t->n; k++) {
            hearth_grammar *g = NULL;
            cJSON *one = call_schema(&t->t[k], nk, ak);
            hearth_status s1 = hearth_grammar_from_schema_json(one, &g);
            cJSON_Delete(one);
            hearth_grammar_free(g);
            if (s1 != HEARTH_OK) {
                i = k;
                snprintf(msg, sizeof msg, "%s", hearth_last_error());
                break;
            }
        }
        return hearth_set_error(st, "tools[%d].function.parameters: cannot be enforced on a required call: %s", i, msg);
    }
    return HEARTH_OK;
}
