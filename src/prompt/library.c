/*
 * library.c — the prompt library: specs (checked when added), versions and
 * labels over the store (library_sql.c), rendering a version with typed
 * variables into chat messages (system / steps / reasoning / output-format
 * blocks, few-shot examples chosen by embedding similarity), and the
 * chat-completion request rewrite the server uses.
 */
#include "library_internal.h"

#include "core/buf.h"
#include "hearth/schema.h"
#include "jinja_cjson.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hearth_prompt_lib {
    pl_store *store;
    hearth_prompt_label_fn on_label;
    void *on_label_user;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

hearth_status pl_error_prefix(hearth_status st, const char *fmt, ...) {
    char was[512], prefix[256];
    snprintf(was, sizeof was, "%s", hearth_last_error());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    return hearth_set_error(st, "%s: %s", prefix, was);
}

/* ==== names and references ========================================================== */
static bool valid_name(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || !isalnum((unsigned char)s[0])) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') return false;
    return true;
}

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

static hearth_status check_name(const char *what, const char *s) {
    if (valid_name(s) && (strcmp(what, "label") || !all_digits(s))) return HEARTH_OK;
    return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                            "%s '%.80s' is not valid: 1-64 characters of letters, digits, '.', '_', '-', starting"
                            " with a letter or digit%s", what, s ? s : "",
                            strcmp(what, "label") ? "" : ", not all digits");
}

bool hearth_prompt_label_is_protected(const char *label) { return label && !strcmp(label, "production"); }

/* "NAME", "NAME@LABEL", "NAME@N" into name (cap 65) and the version it means */
static hearth_status resolve(hearth_prompt_lib *lib, const char *ref, char name[65], int32_t *version) {
    const char *at = ref ? strchr(ref, '@') : NULL;
    size_t n = at ? (size_t)(at - ref) : ref ? strlen(ref) : 0;
    if (n == 0 || n > 64) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt reference '%.80s' has no valid name",
                                                  ref ? ref : "");
    memcpy(name, ref, n);
    name[n] = 0;
    hearth_status st = check_name("prompt name", name);
    if (st) return st;
    *version = 0;
    if (!at) return HEARTH_OK;
    const char *tail = at + 1;
    if (all_digits(tail)) {
        long v = strtol(tail, NULL, 10);
        if (v < 1 || v > INT32_MAX || strlen(tail) > 9)
            return hearth_set_error(HEARTH_ERR_NOT_FOUND, "prompt %s has no version %s", name, tail);
        *version = (int32_t)v;
        return HEARTH_OK;
    }
    if ((st = check_name("label", tail))) return st;
    return pl_store_label_get(lib->store, name, tail, version);
}

/* ==== open / close ================================================================== */
hearth_status hearth_prompt_lib_open(const char *path, hearth_prompt_lib **out) {
    *out = NULL;
    hearth_prompt_lib *lib = calloc(1, sizeof *lib);
    if (!lib) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    hearth_status st = pl_store_open(path, &lib->store);
    if (st) {
        free(lib);
        return st;
    }
    *out = lib;
    return HEARTH_OK;
}

void hearth_prompt_lib_free(hearth_prompt_lib *lib) {
    if (!lib) return;
    pl_store_close(lib->store);
    free(lib);
}

void hearth_prompt_lib_on_label(hearth_prompt_lib *lib, hearth_prompt_label_fn fn, void *user) {
    lib->on_label = fn;
    lib->on_label_user = user;
}

/* ==== spec checks =================================================================== */
static const char *const VAR_TYPES[] = {"string", "integer", "number", "boolean", "array", "object"};
static const char *const SPEC_KEYS[] = {"description", "system", "template", "variables", "steps", "reasoning",
                                        "output_schema", "model", "sampling", "examples", "few_shot"};
/* the chat-completion request's names, so the server and `prompt run` read them alike */
static const char *const SAMPLING_KEYS[] = {"temperature", "top_p", "max_tokens", "seed", "presence_penalty",
                                            "frequency_penalty", "stop"};

static bool in_list(const char *s, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i])) return true;
    return false;
}
#define IN_LIST(s, arr) in_list((s), (arr), sizeof(arr) / sizeof(arr)[0])

static hearth_status jinja_check(const char *field, const cJSON *v) {
    if (!cJSON_IsString(v)) return hearth_set_error(HEARTH_ERR_FORMAT, "%s: must be a string (a Jinja template)", field);
    hearth_jinja_template *t = NULL;
    if (hearth_jinja_parse(v->valuestring, strlen(v->valuestring), &t) != HEARTH_OK)
        return pl_error_prefix(HEARTH_ERR_FORMAT, "%s: invalid Jinja", field);
    hearth_jinja_free(t);
    return HEARTH_OK;
}

/* the declared type of variable v ("string"...) or NULL when the declaration is bad */
static const char *var_type(const cJSON *decl) {
    const cJSON *t = cJSON_IsObject(decl) ? cJSON_GetObjectItemCaseSensitive(decl, "type") : decl;
    return cJSON_IsString(t) && IN_LIST(t->valuestring, VAR_TYPES) ? t->valuestring : NULL;
}

static bool type_ok(const char *type, const cJSON *v) {
    if (!strcmp(type, "string")) return cJSON_IsString(v);
    if (!strcmp(type, "integer")) return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9007199254740992.0;
    if (!strcmp(type, "number")) return cJSON_IsNumber(v);
    if (!strcmp(type, "boolean")) return cJSON_IsBool(v);
    if (!strcmp(type, "array")) return cJSON_IsArray(v);
    return cJSON_IsObject(v);
}

static hearth_status check_variables(const cJSON *vars) {
    if (!vars) return HEARTH_OK;
    if (!cJSON_IsObject(vars)) return hearth_set_error(HEARTH_ERR_FORMAT, "variables: must be a mapping of name to type");
    const cJSON *v;
    cJSON_ArrayForEach(v, vars) {
        if (!valid_name(v->string) || isdigit((unsigned char)v->string[0]) || strchr(v->string, '.') ||
            strchr(v->string, '-'))
            return hearth_set_error(HEARTH_ERR_FORMAT, "variables.%.64s: not a valid variable name", v->string);
        const char *type = var_type(v);
        if (!type)
            return hearth_set_error(HEARTH_ERR_FORMAT,
                                    "variables.%s: the type must be one of string, integer, number, boolean, array,"
                                    " object", v->string);
        const cJSON *def = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "default") : NULL;
        if (def && !type_ok(type, def))
            return hearth_set_error(HEARTH_ERR_FORMAT, "variables.%s.default: not a%s %s", v->string,
                                    type[0] == 'a' || type[0] == 'i' || type[0] == 'o' ? "n" : "", type);
    }
    return HEARTH_OK;
}

static hearth_status check_spec(const cJSON *spec) {
    if (!cJSON_IsObject(spec)) return hearth_set_error(HEARTH_ERR_FORMAT, "a prompt spec must be a mapping");
    const cJSON *f;
    cJSON_ArrayForEach(f, spec) if (!IN_LIST(f->string, SPEC_KEYS))
        return hearth_set_error(HEARTH_ERR_FORMAT, "unknown field '%.64s' (known: description, system, template,"
                                " variables, steps, reasoning, output_schema, model, sampling, examples, few_shot)",
                                f->string);
    hearth_status st;
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(spec, "template");
    if (!tmpl) return hearth_set_error(HEARTH_ERR_FORMAT, "template: missing (the user turn, a Jinja template)");
    if ((st = jinja_check("template", tmpl))) return st;
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(spec, "system");
    if (sys && (st = jinja_check("system", sys))) return st;
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(spec, "description");
    if (desc && !cJSON_IsString(desc)) return hearth_set_error(HEARTH_ERR_FORMAT, "description: must be a string");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(spec, "steps");
    if (steps) {
        if (!cJSON_IsArray(steps)) return hearth_set_error(HEARTH_ERR_FORMAT, "steps: must be a list of strings");
        int i = 0;
        cJSON_ArrayForEach(f, steps) {
            char field[32];
            snprintf(field, sizeof field, "steps[%d]", i++);
            if ((st = jinja_check(field, f))) return st;
        }
    }
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(spec, "variables");
    if ((st = check_variables(vars))) return st;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(spec, "reasoning");
    if (r && (!cJSON_IsString(r) || !valid_name(r->valuestring) || strchr(r->valuestring, '.')))
        return hearth_set_error(HEARTH_ERR_FORMAT, "reasoning: must be a tag name such as thinking");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(spec, "output_schema");
    if (schema) {
        char *txt = cJSON_PrintUnformatted(schema);
        hearth_schema *s = NULL;
        st = txt ? hearth_schema_compile(txt, strlen(txt), NULL, &s) : HEARTH_ERR_NOMEM;
        free(txt);
        hearth_schema_free(s);
        if (st) return pl_error_prefix(HEARTH_ERR_FORMAT, "output_schema");
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(spec, "model");
    if (model && !cJSON_IsString(model)) return hearth_set_error(HEARTH_ERR_FORMAT, "model: must be a string");
    const cJSON *samp = cJSON_GetObjectItemCaseSensitive(spec, "sampling");
    if (samp) {
        if (!cJSON_IsObject(samp)) return hearth_set_error(HEARTH_ERR_FORMAT, "sampling: must be a mapping");
        cJSON_ArrayForEach(f, samp) {
            if (!IN_LIST(f->string, SAMPLING_KEYS))
                return hearth_set_error(HEARTH_ERR_FORMAT, "sampling.%.64s: unknown setting", f->string);
            bool ok = !strcmp(f->string, "stop") ? cJSON_IsString(f) || cJSON_IsArray(f) : cJSON_IsNumber(f);
            if (!ok) return hearth_set_error(HEARTH_ERR_FORMAT, "sampling.%s: wrong type", f->string);
        }
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(spec, "examples");
    if (ex) {
        if (!cJSON_IsArray(ex)) return hearth_set_error(HEARTH_ERR_FORMAT, "examples: must be a list");
        int i = 0;
        cJSON_ArrayForEach(f, ex) {
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "input")) ||
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "output")))
                return hearth_set_error(HEARTH_ERR_FORMAT, "examples[%d]: needs string fields input and output", i);
            i++;
        }
    }
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(spec, "few_shot");
    if (fs) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(fs, "k"), *by = cJSON_GetObjectItemCaseSensitive(fs, "by");
        const cJSON *mmr = cJSON_GetObjectItemCaseSensitive(fs, "mmr");
        if (!cJSON_IsObject(fs) || !cJSON_IsNumber(k) || k->valuedouble < 1 || k->valuedouble > 100)
            return hearth_set_error(HEARTH_ERR_FORMAT, "few_shot.k: must be a number of examples (1-100)");
        if (!cJSON_IsString(by) || !cJSON_GetObjectItemCaseSensitive(vars, by->valuestring))
            return hearth_set_error(HEARTH_ERR_FORMAT, "few_shot.by: must name one of the variables");
        if (mmr && (!cJSON_IsNumber(mmr) || mmr->valuedouble < 0 || mmr->valuedouble > 1))
            return hearth_set_error(HEARTH_ERR_FORMAT, "few_shot.mmr: must be a lambda between 0 and 1");
        if (!ex) return hearth_set_error(HEARTH_ERR_FORMAT, "few_shot: needs examples");
    }
    return HEARTH_OK;
}

/* YAML or JSON text into a checked spec tree */
static cJSON *parse_spec(const char *spec, size_t len) {
    size_t i = 0;
    while (i < len && isspace((unsigned char)spec[i])) i++;
    cJSON *t;
    if (i < len && spec[i] == '{') {
        const char *end = NULL;
        t = cJSON_ParseWithLengthOpts(spec, len, &end, false);
        if (!t) {
            hearth_set_error(HEARTH_ERR_FORMAT, "spec: not valid JSON near byte %zu", end ? (size_t)(end - spec) : 0);
            return NULL;
        }
    } else if (!(t = pl_yaml_parse(spec, len, "spec"))) {
        return NULL;
    }
    if (check_spec(t)) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

hearth_status hearth_prompt_spec_check(const char *spec, size_t len) {
    cJSON *t = parse_spec(spec, len);
    if (!t) return HEARTH_ERR_FORMAT;
    cJSON_Delete(t);
    return HEARTH_OK;
}

/* ==== versions and labels =========================================================== */
hearth_status hearth_prompt_add(hearth_prompt_lib *lib, const char *name, const char *spec, size_t len,
                                const char *author, int32_t *version) {
    hearth_status st = check_name("prompt name", name);
    if (st) return st;
    cJSON *t = parse_spec(spec, len);
    if (!t) return HEARTH_ERR_FORMAT;
    char *json = cJSON_PrintUnformatted(t);
    cJSON_Delete(t);
    if (!json) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    int32_t v = 0;
    st = pl_store_add(lib->store, name, json, author ? author : "", now_ms(), &v);
    free(json);
    if (!st && version) *version = v;
    return st;
}

hearth_status hearth_prompt_label(hearth_prompt_lib *lib, const char *name, const char *label, int32_t version,
                                  const char *actor, bool admin) {
    hearth_status st = check_name("prompt name", name);
    if (st || (st = check_name("label", label))) return st;
    if (hearth_prompt_label_is_protected(label) && !admin)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "label %s is protected: only an admin may move it", label);
    int32_t from = 0;
    int64_t t = now_ms();
    if ((st = pl_store_label_set(lib->store, name, label, version, actor ? actor : "", t, &from))) return st;
    if (lib->on_label) {
        hearth_prompt_label_event e = {name, label, from, version, actor ? actor : "", t};
        st = lib->on_label(&e, lib->on_label_user);
    }
    return st;
}

/* ==== JSON views ==================================================================== */
static hearth_status take_json(cJSON *t, char **out) {
    *out = t ? cJSON_PrintUnformatted(t) : NULL;
    cJSON_Delete(t);
    return *out ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
}

hearth_status hearth_prompt_list_json(hearth_prompt_lib *lib, char **out) {
    cJSON *t = NULL;
    hearth_status st = pl_store_list(lib->store, &t);
    return st ? st : take_json(t, out);
}

hearth_status hearth_prompt_history_json(hearth_prompt_lib *lib, const char *name, char **out) {
    cJSON *t = NULL;
    hearth_status st = check_name("prompt name", name);
    if (st || (st = pl_store_history(lib->store, name, &t))) return st;
    return take_json(t, out);
}

hearth_status hearth_prompt_versions_json(hearth_prompt_lib *lib, const char *name, char **out) {
    cJSON *t = NULL;
    hearth_status st = check_name("prompt name", name);
    if (st || (st = pl_store_versions(lib->store, name, &t))) return st;
    if (cJSON_GetArraySize(t) == 0) {
        cJSON_Delete(t);
        return hearth_set_error(HEARTH_ERR_NOT_FOUND, "no prompt named %s", name);
    }
    return take_json(t, out);
}

/* the version ref names, its spec parsed */
static hearth_status load(hearth_prompt_lib *lib, const char *ref, char name[65], pl_version *v, cJSON **spec) {
    int32_t version = 0;
    hearth_status st = resolve(lib, ref, name, &version);
    if (st || (st = pl_store_get(lib->store, name, version, v))) return st;
    *spec = cJSON_Parse(v->spec);
    if (!*spec) {
        pl_version_clear(v);
        return hearth_set_error(HEARTH_ERR_FORMAT, "prompt %s: the stored spec is not JSON (damaged database)", name);
    }
    return HEARTH_OK;
}

hearth_status hearth_prompt_get_json(hearth_prompt_lib *lib, const char *ref, char **out) {
    char name[65];
    pl_version v;
    cJSON *spec = NULL;
    hearth_status st = load(lib, ref, name, &v, &spec);
    if (st) return st;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddNumberToObject(o, "version", v.version);
    cJSON_AddStringToObject(o, "author", v.author);
    cJSON_AddNumberToObject(o, "created_ms", (double)v.created_ms);
    st = pl_store_labels_of(lib->store, name, v.version, cJSON_AddArrayToObject(o, "labels"));
    cJSON_AddItemToObject(o, "spec", spec);
    pl_version_clear(&v);
    if (st) {
        cJSON_Delete(o);
        return st;
    }
    return take_json(o, out);
}

/* ==== building blocks =============================================================== */
static float dot(const float *a, const float *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

hearth_status hearth_prompt_select_examples(hearth_embedder *e, const char *query, const char *const *texts, int n,
                                            int k, float lambda, int *idx, int *n_out) {
    *n_out = 0;
    if (n <= 0 || k <= 0) return HEARTH_OK;
    if (k > n) k = n;
    int d = hearth_embedder_n_embd(e);
    float *vec = malloc(sizeof(float) * (size_t)d * (size_t)(n + 1));
    float *best = malloc(sizeof(float) * (size_t)n);   /* max similarity to the picked ones */
    bool *picked = calloc((size_t)n, 1);
    if (!vec || !best || !picked) {
        free(vec), free(best), free(picked);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    hearth_status st = hearth_embed(e, query, strlen(query), vec, d);
    if (!st) st = hearth_embed_batch(e, texts, NULL, n, vec + d, (int64_t)d * n);
    if (st) goto done;
    for (int i = 0; i <= n; i++) hearth_embed_normalize(vec + (size_t)i * d, d);
    for (int i = 0; i < n; i++) best[i] = -INFINITY;
    for (int j = 0; j < k; j++) {
        int arg = -1;
        float top = -INFINITY;
        for (int i = 0; i < n; i++) {
            if (picked[i]) continue;
            float rel = dot(vec, vec + (size_t)(i + 1) * d, d);
            float score = lambda >= 1 || j == 0 ? rel : lambda * rel - (1 - lambda) * best[i];
            if (score > top) top = score, arg = i;
        }
        picked[arg] = true;
        idx[(*n_out)++] = arg;
        for (int i = 0; i < n; i++) {
            float s = dot(vec + (size_t)(arg + 1) * d, vec + (size_t)(i + 1) * d, d);
            if (s > best[i]) best[i] = s;
        }
    }
done:
    free(vec), free(best), free(picked);
    return st;
}

static char *trimmed(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return strndup(s, n);
}

hearth_status hearth_prompt_split_reasoning(const char *text, const char *tag, char **reasoning, char **answer) {
    *reasoning = *answer = NULL;
    char open[80], close[80];
    if (!tag || strlen(tag) > 64) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "reasoning tag missing or too long");
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(text, open);
    if (!a) {
        *reasoning = strdup("");
        *answer = trimmed(text, strlen(text));
    } else {
        const char *r = a + strlen(open);
        const char *b = strstr(r, close);
        *reasoning = trimmed(r, b ? (size_t)(b - r) : strlen(r));
        hearth_buf rest = {0};
        hearth_buf_put(&rest, text, (size_t)(a - text));
        if (b) hearth_buf_puts(&rest, b + strlen(close));
        *answer = trimmed(rest.data ? rest.data : "", rest.len);
        hearth_buf_free(&rest);
    }
    if (!*reasoning || !*answer) {
        free(*reasoning), free(*answer);
        *reasoning = *answer = NULL;
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    return HEARTH_OK;
}

/* ==== rendering ===================================================================== */
/* the variables as the template sees them: checked against the declarations, defaults added */
static cJSON *bind_variables(const char *ref, const cJSON *decls, const cJSON *given, bool from_strings) {
    if (given && !cJSON_IsObject(given)) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt.variables: must be an object");
        return NULL;
    }
    const cJSON *g;
    cJSON_ArrayForEach(g, given) if (!cJSON_GetObjectItemCaseSensitive(decls, g->string)) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt.variables.%.64s: %s has no such variable", g->string, ref);
        return NULL;
    }
    cJSON *ctx = cJSON_CreateObject();
    const cJSON *d;
    cJSON_ArrayForEach(d, decls) {
        const char *type = var_type(d);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(given, d->string);
        if (!v) v = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "default") : NULL;
        cJSON *read = NULL;   /* a string read as its declared type */
        if (from_strings && cJSON_IsString(v) && strcmp(type, "string") && (read = cJSON_Parse(v->valuestring)))
            v = read;
        if (!v) {
            hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt.variables.%s: missing (%s needs a %s)", d->string, ref,
                             type);
            cJSON_Delete(ctx);
            return NULL;
        }
        if (!type_ok(type, v)) {
            hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt.variables.%s: must be a%s %s", d->string,
                             type[0] == 'a' || type[0] == 'i' || type[0] == 'o' ? "n" : "", type);
            cJSON_Delete(read);
            cJSON_Delete(ctx);
            return NULL;
        }
        cJSON_AddItemToObject(ctx, d->string, cJSON_Duplicate(v, true));
        cJSON_Delete(read);
    }
    return ctx;
}

/* renders Jinja source src with ctx, appending to b; the error names field */
static hearth_status render_into(hearth_buf *b, const char *field, const char *src, const cJSON *ctx) {
    hearth_jinja_template *t = NULL;
    char *s = NULL;
    size_t n = 0;
    hearth_status st = hearth_jinja_parse(src, strlen(src), &t);
    if (!st) st = hearth_jinja_render(t, ctx, NULL, &s, &n);
    hearth_jinja_free(t);
    if (st) return pl_error_prefix(st == HEARTH_ERR_INVALID_ARG ? st : HEARTH_ERR_FORMAT, "prompt %s", field);
    hearth_buf_put(b, s, n);
    free(s);
    return HEARTH_OK;
}

static void add_message(cJSON *msgs, const char *role, const char *content) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(msgs, m);
}

/* picks the examples (indices into `examples`) the version shows */
static hearth_status choose_examples(const char *ref, const cJSON *spec, const cJSON *ctx, hearth_embedder *e,
                                     cJSON *chosen) {
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(spec, "examples");
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(spec, "few_shot");
    int n = cJSON_GetArraySize(ex);
    if (!fs) {
        for (int i = 0; i < n; i++) cJSON_AddItemToArray(chosen, cJSON_CreateNumber(i));
        return HEARTH_OK;
    }
    if (!e)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s chooses few-shot examples by similarity: an embedding"
                                " model is needed", ref);
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(ctx, cJSON_GetObjectItemCaseSensitive(fs, "by")->valuestring);
    const cJSON *mmr = cJSON_GetObjectItemCaseSensitive(fs, "mmr");
    char *q = cJSON_IsString(by) ? strdup(by->valuestring) : cJSON_PrintUnformatted(by);
    const char **texts = calloc((size_t)n + 1, sizeof *texts);
    int *idx = calloc((size_t)n + 1, sizeof *idx);
    hearth_status st = HEARTH_ERR_NOMEM;
    int got = 0;
    if (q && texts && idx) {
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, ex) texts[i++] = cJSON_GetObjectItemCaseSensitive(x, "input")->valuestring;
        st = hearth_prompt_select_examples(e, q, texts, n, (int)cJSON_GetObjectItemCaseSensitive(fs, "k")->valuedouble,
                                           mmr ? (float)mmr->valuedouble : 1.0f, idx, &got);
        for (i = 0; !st && i < got; i++) cJSON_AddItemToArray(chosen, cJSON_CreateNumber(idx[i]));
    } else {
        hearth_set_error(st, "out of memory");
    }
    free(q), free(texts), free(idx);
    return st;
}

/* renders the loaded version into the result object described in the header */
static hearth_status render(const char *name, int32_t version, const cJSON *spec, const cJSON *given,
                            const hearth_prompt_render_params *p, cJSON **out) {
    char ref[80];
    snprintf(ref, sizeof ref, "%s@%d", name, (int)version);
    hearth_embedder *e = p->embedder;
    cJSON *ctx = bind_variables(ref, cJSON_GetObjectItemCaseSensitive(spec, "variables"), given, p->from_strings);
    if (!ctx) return HEARTH_ERR_INVALID_ARG;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddNumberToObject(o, "version", version);
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    cJSON *chosen = cJSON_CreateArray();
    hearth_buf b = {0};
    hearth_status st = HEARTH_OK;
    /* system: the role block, then the reasoning and output-format instructions */
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(spec, "system");
    const cJSON *reasoning = cJSON_GetObjectItemCaseSensitive(spec, "reasoning");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(spec, "output_schema");
    if (sys && (st = render_into(&b, "system", sys->valuestring, ctx))) goto done;
    if (reasoning)
        hearth_buf_printf(&b, "%sThink it through step by step inside <%s>...</%s> first; then, after </%s>, write"
                          " only the final answer.", b.len ? "\n\n" : "", reasoning->valuestring,
                          reasoning->valuestring, reasoning->valuestring);
    if (schema) {
        char *s = cJSON_PrintUnformatted(schema);
        hearth_buf_printf(&b, "%sReply with only a JSON value that matches this JSON Schema:\n%s", b.len ? "\n\n" : "",
                          s ? s : "");
        free(s);
    }
    if (b.len) add_message(msgs, "system", b.data);
    /* few-shot examples as earlier turns */
    if ((st = choose_examples(ref, spec, ctx, e, chosen))) goto done;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(spec, "examples"), *c;
    cJSON_ArrayForEach(c, chosen) {
        const cJSON *x = cJSON_GetArrayItem(ex, (int)c->valuedouble);
        add_message(msgs, "user", cJSON_GetObjectItemCaseSensitive(x, "input")->valuestring);
        add_message(msgs, "assistant", cJSON_GetObjectItemCaseSensitive(x, "output")->valuestring);
    }
    /* the user turn: the template, then the steps */
    hearth_buf_reset(&b);
    if ((st = render_into(&b, "template", cJSON_GetObjectItemCaseSensitive(spec, "template")->valuestring, ctx)))
        goto done;
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(spec, "steps");
    int i = 0;
    cJSON_ArrayForEach(c, steps) {
        char field[32];
        snprintf(field, sizeof field, "steps[%d]", i);
        hearth_buf_printf(&b, i == 0 ? "\n\nSteps:\n%d. " : "\n%d. ", i + 1);
        if ((st = render_into(&b, field, c->valuestring, ctx))) goto done;
        i++;
    }
    add_message(msgs, "user", b.data ? b.data : "");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(spec, "model");
    if (model) cJSON_AddStringToObject(o, "model", model->valuestring);
    const cJSON *samp = cJSON_GetObjectItemCaseSensitive(spec, "sampling");
    cJSON_AddItemToObject(o, "sampling", samp ? cJSON_Duplicate(samp, true) : cJSON_CreateObject());
    if (schema) {
        cJSON *rf = cJSON_AddObjectToObject(o, "response_format");
        cJSON_AddStringToObject(rf, "type", "json_schema");
        cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
        cJSON_AddStringToObject(js, "name", name);
        cJSON_AddItemToObject(js, "schema", cJSON_Duplicate(schema, true));
        cJSON_AddTrueToObject(js, "strict");
    }
    if (reasoning) cJSON_AddStringToObject(o, "reasoning", reasoning->valuestring);
    cJSON_AddItemToObject(o, "examples", chosen);
    chosen = NULL;
    if (b.oom) st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
done:
    hearth_buf_free(&b);
    cJSON_Delete(chosen);
    cJSON_Delete(ctx);
    if (st) cJSON_Delete(o);
    else *out = o;
    return st;
}

static hearth_status render_ref(hearth_prompt_lib *lib, const char *ref, const cJSON *given,
                                const hearth_prompt_render_params *p, cJSON **out) {
    char name[65];
    pl_version v;
    cJSON *spec = NULL;
    hearth_status st = load(lib, ref, name, &v, &spec);
    if (st) return st;
    st = render(name, v.version, spec, given, p, out);
    pl_version_clear(&v);
    cJSON_Delete(spec);
    return st;
}

hearth_prompt_render_params hearth_prompt_render_default_params(void) {
    hearth_prompt_render_params p = {NULL, false};
    return p;
}

hearth_status hearth_prompt_render_json(hearth_prompt_lib *lib, const char *ref, const char *variables, size_t len,
                                        const hearth_prompt_render_params *p, char **out) {
    hearth_prompt_render_params dp = hearth_prompt_render_default_params();
    cJSON *given = NULL;
    if (variables && !(given = cJSON_ParseWithLength(variables, len)))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt.variables: not valid JSON");
    cJSON *r = NULL;
    hearth_status st = render_ref(lib, ref, given, p ? p : &dp, &r);
    cJSON_Delete(given);
    return st ? st : take_json(r, out);
}

/* ==== the chat-completion rewrite =================================================== */
hearth_status hearth_prompt_expand_request(hearth_prompt_lib *lib, const char *body, size_t len,
                                           hearth_embedder *embedder, char **out) {
    cJSON *req = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return hearth_set_error(HEARTH_ERR_FORMAT, "the request body is not a JSON object");
    }
    cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(req, "prompt");
    hearth_status st = HEARTH_OK;
    cJSON *r = NULL;
    if (!p) return take_json(req, out);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(p, "label");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(p, "version");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    char ref[160];
    if (!cJSON_IsObject(p)) st = hearth_set_error(HEARTH_ERR_FORMAT, "prompt: must be an object with a name");
    else if (!cJSON_IsString(name)) st = hearth_set_error(HEARTH_ERR_FORMAT, "prompt.name: missing or not a string");
    else if (label && !cJSON_IsString(label)) st = hearth_set_error(HEARTH_ERR_FORMAT, "prompt.label: not a string");
    else if (version && (!cJSON_IsNumber(version) || version->valuedouble < 1 || version->valuedouble > 1e9))
        st = hearth_set_error(HEARTH_ERR_FORMAT, "prompt.version: not a version number");
    else if (label && version) st = hearth_set_error(HEARTH_ERR_FORMAT, "prompt.label: give a label or a version, not both");
    else if (msgs && !cJSON_IsArray(msgs)) st = hearth_set_error(HEARTH_ERR_FORMAT, "messages: must be an array");
    else if (strchr(name->valuestring, '@') || strlen(name->valuestring) > 64)
        st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt.name: '%.64s' is not a prompt name", name->valuestring);
    if (st) goto done;
    if (label) snprintf(ref, sizeof ref, "%s@%s", name->valuestring, label->valuestring);
    else if (version) snprintf(ref, sizeof ref, "%s@%d", name->valuestring, (int)version->valuedouble);
    else snprintf(ref, sizeof ref, "%s", name->valuestring);
    hearth_prompt_render_params rp = hearth_prompt_render_default_params();
    rp.embedder = embedder;
    if ((st = render_ref(lib, ref, cJSON_GetObjectItemCaseSensitive(p, "variables"), &rp, &r))) {
        if (st == HEARTH_ERR_NOT_FOUND)   /* name the field: label / version / name */
            st = pl_error_prefix(st, "prompt.%s", strstr(hearth_last_error(), "no label") ? "label" :
                                 strstr(hearth_last_error(), "no version") ? "version" : "name");
        goto done;
    }
    /* messages: the rendered ones, then the request's own */
    cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(r, "messages");
    cJSON *own = cJSON_DetachItemFromObjectCaseSensitive(req, "messages");
    while (own && own->child) cJSON_AddItemToArray(m, cJSON_DetachItemViaPointer(own, own->child));
    cJSON_Delete(own);
    cJSON_AddItemToObject(req, "messages", m);
    cJSON *model = cJSON_GetObjectItemCaseSensitive(r, "model");
    if (model && !cJSON_GetObjectItemCaseSensitive(req, "model"))
        cJSON_AddItemToObject(req, "model", cJSON_Duplicate(model, false));
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(r, "sampling")) if (!cJSON_GetObjectItemCaseSensitive(req, s->string))
        cJSON_AddItemToObject(req, s->string, cJSON_Duplicate(s, true));
    cJSON *rf = cJSON_GetObjectItemCaseSensitive(r, "response_format");
    if (rf && !cJSON_GetObjectItemCaseSensitive(req, "response_format"))
        cJSON_AddItemToObject(req, "response_format", cJSON_Duplicate(rf, true));
done:
    cJSON_Delete(p);
    cJSON_Delete(r);
    if (st) {
        cJSON_Delete(req);
        return st;
    }
    return take_json(req, out);
}
