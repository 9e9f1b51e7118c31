/*
 * eval.c — prompt evaluation suites: each case's variables rendered through
 * each prompt version, run on each model, the answer checked by the case's
 * assertions (equals, contains, regex, is-json, matches-schema, similar-to,
 * max-latency-ms, max-tokens). The suite is checked whole before anything
 * runs, so a typo fails at once with its place named.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "library_internal.h"

#include "hearth/schema.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ASSERTS[] = {"equals", "contains", "regex", "is-json", "matches-schema", "similar-to",
                                      "max-latency-ms", "max-tokens"};
#define N_ASSERTS (sizeof ASSERTS / sizeof ASSERTS[0])

hearth_prompt_eval_params hearth_prompt_eval_default_params(void) {
    hearth_prompt_eval_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1;
    p.temperature = 0;
    return p;
}

/* ==== checking the suite ============================================================ */
/* the assertion's type (an index into ASSERTS) or -1 with the error set */
static int assert_type(const cJSON *a, int ci, int ai) {
    if (cJSON_IsString(a) && !strcmp(a->valuestring, "is-json")) return 3;
    if (cJSON_IsObject(a)) {
        int found = -1;
        const cJSON *f;
        cJSON_ArrayForEach(f, a) {
            size_t i = 0;
            while (i < N_ASSERTS && strcmp(f->string, ASSERTS[i])) i++;
            if (i < N_ASSERTS) {
                if (found >= 0) break;
                found = (int)i;
            } else if (strcmp(f->string, "threshold")) {
                found = -2;
                hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d]: unknown assertion '%.64s' (known: equals,"
                                 " contains, regex, is-json, matches-schema, similar-to, max-latency-ms, max-tokens)",
                                 ci, ai, f->string);
                return -1;
            }
        }
        if (found >= 0) return found;
    }
    hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d]: expected one assertion such as {contains: text}", ci, ai);
    return -1;
}

static hearth_status check_assert(const cJSON *a, int type, int ci, int ai, bool have_embedder) {
    const cJSON *v = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, ASSERTS[type]) : NULL;
    const char *name = ASSERTS[type];
    switch (type) {
    case 0: case 1: case 2: case 5:
        if (!cJSON_IsString(v))
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].%s: must be a string", ci, ai, name);
        break;
    case 4:
        if (!cJSON_IsTrue(v) && !cJSON_IsObject(v))
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].%s: a JSON Schema, or true for the"
                                    " prompt's output_schema", ci, ai, name);
        break;
    case 6: case 7:
        if (!cJSON_IsNumber(v) || v->valuedouble < 0)
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].%s: must be a number >= 0", ci, ai, name);
        break;
    default: break;
    }
    if (type == 2) {
        int err;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)v->valuestring, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(err, msg, sizeof msg);
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].regex: %s at offset %zu", ci, ai,
                                    (const char *)msg, (size_t)off);
        }
        pcre2_code_free(re);
    }
    if (type == 4 && cJSON_IsObject(v)) {
        char *t = cJSON_PrintUnformatted(v);
        hearth_schema *s = NULL;
        hearth_status st = t ? hearth_schema_compile(t, strlen(t), NULL, &s) : HEARTH_ERR_NOMEM;
        free(t);
        hearth_schema_free(s);
        if (st) return pl_error_prefix(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].matches-schema", ci, ai);
    }
    if (type == 5) {
        const cJSON *th = cJSON_GetObjectItemCaseSensitive(a, "threshold");
        if (th && (!cJSON_IsNumber(th) || th->valuedouble < -1 || th->valuedouble > 1))
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].threshold: a cosine between -1 and 1", ci, ai);
        if (!have_embedder)
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert[%d].similar-to: needs an embedding model"
                                    " (embedder: in the suite, or --embedder)", ci, ai);
    }
    return HEARTH_OK;
}

static hearth_status check_suite(const cJSON *s, bool have_embedder) {
    if (!cJSON_IsObject(s)) return hearth_set_error(HEARTH_ERR_FORMAT, "suite: must be a mapping with cases");
    static const char *const keys[] = {"description", "prompt", "prompts", "models", "embedder", "cases"};
    const cJSON *f;
    cJSON_ArrayForEach(f, s) {
        size_t i = 0;
        while (i < 6 && strcmp(f->string, keys[i])) i++;
        if (i == 6)
            return hearth_set_error(HEARTH_ERR_FORMAT, "suite: unknown field '%.64s' (known: description, prompt,"
                                    " prompts, models, embedder, cases)", f->string);
    }
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "prompt"), *many = cJSON_GetObjectItemCaseSensitive(s, "prompts");
    if (!one == !many) return hearth_set_error(HEARTH_ERR_FORMAT, "suite: give prompt: REF or prompts: [REF, ...]");
    if (one && !cJSON_IsString(one)) return hearth_set_error(HEARTH_ERR_FORMAT, "prompt: must be a reference NAME@LABEL");
    if (many) {
        if (!cJSON_IsArray(many) || !cJSON_GetArraySize(many))
            return hearth_set_error(HEARTH_ERR_FORMAT, "prompts: must be a non-empty list of references");
        cJSON_ArrayForEach(f, many) if (!cJSON_IsString(f))
            return hearth_set_error(HEARTH_ERR_FORMAT, "prompts: every item must be a reference NAME@LABEL");
    }
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(s, "models");
    if (models) {
        if (!cJSON_IsArray(models)) return hearth_set_error(HEARTH_ERR_FORMAT, "models: must be a list of model files");
        cJSON_ArrayForEach(f, models) if (!cJSON_IsString(f))
            return hearth_set_error(HEARTH_ERR_FORMAT, "models: every item must be a file path");
    }
    const cJSON *emb = cJSON_GetObjectItemCaseSensitive(s, "embedder");
    if (emb && !cJSON_IsString(emb)) return hearth_set_error(HEARTH_ERR_FORMAT, "embedder: must be a file path");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(s, "cases");
    if (!cJSON_IsArray(cases) || !cJSON_GetArraySize(cases))
        return hearth_set_error(HEARTH_ERR_FORMAT, "cases: must be a non-empty list");
    int ci = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        if (!cJSON_IsObject(c)) return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d]: must be a mapping", ci);
        cJSON_ArrayForEach(f, c) if (strcmp(f->string, "name") && strcmp(f->string, "vars") && strcmp(f->string, "assert"))
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d]: unknown field '%.64s' (known: name, vars, assert)",
                                    ci, f->string);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name"), *vars = cJSON_GetObjectItemCaseSensitive(c, "vars");
        const cJSON *as = cJSON_GetObjectItemCaseSensitive(c, "assert");
        if (name && !cJSON_IsString(name)) return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].name: must be a string", ci);
        if (vars && !cJSON_IsObject(vars)) return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].vars: must be a mapping", ci);
        if (!cJSON_IsArray(as) || !cJSON_GetArraySize(as))
            return hearth_set_error(HEARTH_ERR_FORMAT, "cases[%d].assert: must be a non-empty list", ci);
        int ai = 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, as) {
            int t = assert_type(a, ci, ai);
            hearth_status st = t < 0 ? HEARTH_ERR_FORMAT : check_assert(a, t, ci, ai, have_embedder);
            if (st) return st;
            ai++;
        }
        ci++;
    }
    return HEARTH_OK;
}

/* ==== running ======================================================================== */
typedef struct eval_run {
    hearth_embedder *emb;
    const cJSON *spec_schema;   /* the version's output_schema (borrowed) */
} eval_run;

static char *trim_dup(const char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return strndup(s, n);
}

/* cosine of the embeddings of a and b */
static hearth_status similarity(hearth_embedder *e, const char *a, const char *b, double *out) {
    int d = hearth_embedder_n_embd(e);
    float *v = malloc(sizeof(float) * 2 * (size_t)d);
    if (!v) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    hearth_status st = hearth_embed(e, a, strlen(a), v, d);
    if (!st) st = hearth_embed(e, b, strlen(b), v + d, d);
    if (!st) {
        double s = 0, na = 0, nb = 0;
        for (int i = 0; i < d; i++) s += v[i] * v[d + i], na += v[i] * v[i], nb += v[d + i] * v[d + i];
        *out = na > 0 && nb > 0 ? s / sqrt(na * nb) : 0;
    }
    free(v);
    return st;
}

/* checks one assertion against the output; adds {"type", "passed", "detail"} to arr; returns passed */
static bool run_assert(const cJSON *a, const eval_run *r, const hearth_prompt_output *o, cJSON *arr) {
    int type = assert_type(a, 0, 0);
    const char *name = ASSERTS[type];
    const cJSON *v = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, name) : NULL;
    char detail[256] = "";
    bool ok = false;
    char *ans = trim_dup(o->answer);
    if (!ans) ans = strdup("");
    switch (type) {
    case 0:
        ok = ans && !strcmp(ans, v->valuestring);
        if (!ok) snprintf(detail, sizeof detail, "expected exactly \"%.100s\"", v->valuestring);
        break;
    case 1:
        ok = strstr(o->answer, v->valuestring) != NULL;
        if (!ok) snprintf(detail, sizeof detail, "does not contain \"%.100s\"", v->valuestring);
        break;
    case 2: {
        int err;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)v->valuestring, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
        pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
        pcre2_match_context *mc = pcre2_match_context_create(NULL);
        if (mc) pcre2_set_match_limit(mc, 1000000);
        int rc = md ? pcre2_match(re, (PCRE2_SPTR)o->answer, strlen(o->answer), 0, 0, md, mc) : -1;
        ok = rc >= 0;
        if (!ok) snprintf(detail, sizeof detail, rc == PCRE2_ERROR_MATCHLIMIT ? "regex /%.100s/ hit its match limit"
                                                                            : "no match for /%.100s/", v->valuestring);
        pcre2_match_context_free(mc);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        break;
    }
    case 3: {
        cJSON *j = cJSON_Parse(o->answer);
        ok = j != NULL;
        cJSON_Delete(j);
        if (!ok) snprintf(detail, sizeof detail, "the answer is not JSON");
        break;
    }
    case 4: {
        const cJSON *schema = cJSON_IsTrue(v) ? r->spec_schema : v;
        if (!schema) {
            snprintf(detail, sizeof detail, "the prompt version has no output_schema");
            break;
        }
        char *t = cJSON_PrintUnformatted(schema), *why = NULL;
        hearth_schema *s = NULL;
        if (t && !hearth_schema_compile(t, strlen(t), NULL, &s)) {
            hearth_status st = hearth_schema_validate(s, o->answer, strlen(o->answer), &ok, &why);
            if (st == HEARTH_ERR_FORMAT) snprintf(detail, sizeof detail, "the answer is not JSON");
            else if (!ok) snprintf(detail, sizeof detail, "%.200s", why ? why : "does not match the schema");
        } else {
            snprintf(detail, sizeof detail, "%.200s", hearth_last_error());
        }
        free(why);
        free(t);
        hearth_schema_free(s);
        break;
    }
    case 5: {
        const cJSON *th = cJSON_GetObjectItemCaseSensitive(a, "threshold");
        double want = th ? th->valuedouble : 0.8, got = 0;
        if (similarity(r->emb, ans, v->valuestring, &got)) {
            snprintf(detail, sizeof detail, "%.200s", hearth_last_error());
            break;
        }
        ok = got >= want;
        snprintf(detail, sizeof detail, "similarity %.3f %s %.3f", got, ok ? ">=" : "<", want);
        break;
    }
    case 6:
        ok = o->latency_ms <= v->valuedouble;
        if (!ok) snprintf(detail, sizeof detail, "took %.0f ms > %.0f ms", o->latency_ms, v->valuedouble);
        break;
    case 7:
        ok = o->n_generated <= v->valuedouble;
        if (!ok) snprintf(detail, sizeof detail, "%d tokens > %.0f", (int)o->n_generated, v->valuedouble);
        break;
    default: break;
    }
    free(ans);
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "type", name);
    cJSON_AddBoolToObject(x, "passed", ok);
    cJSON_AddStringToObject(x, "detail", detail);
    cJSON_AddItemToArray(arr, x);
    return ok;
}

static char *resolve_path(const char *base, const char *p) {
    if (!base || !*base || p[0] == '/') return strdup(p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", base, p);
    return s;
}

/* runs every case of the suite for one (prompt ref, model) pair into results */
static void run_cases(hearth_prompt_lib *lib, const cJSON *suite, const char *ref, const char *model_name,
                      hearth_prompt_runner *runner, eval_run *r, const hearth_prompt_eval_params *p, cJSON *results,
                      int *passed, int *failed) {
    int ci = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(suite, "cases")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        char cname[32];
        snprintf(cname, sizeof cname, "case %d", ci + 1);
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "case", cJSON_IsString(name) ? name->valuestring : cname);
        cJSON_AddStringToObject(res, "prompt", ref);
        cJSON_AddStringToObject(res, "model", model_name);
        char *vars = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "vars"));
        char *rendered = NULL;
        hearth_prompt_output o = {0};
        hearth_prompt_render_params rp = hearth_prompt_render_default_params();
        rp.embedder = r->emb;
        hearth_status st = hearth_prompt_render_json(lib, ref, vars, vars ? strlen(vars) : 0, &rp, &rendered);
        cJSON *rj = rendered ? cJSON_Parse(rendered) : NULL;
        if (!st) {
            cJSON_AddNumberToObject(res, "version", cJSON_GetObjectItemCaseSensitive(rj, "version")->valuedouble);
            const cJSON *rf = cJSON_GetObjectItemCaseSensitive(rj, "response_format");
            r->spec_schema = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rf, "json_schema"), "schema");
            st = hearth_prompt_runner_run(runner, rendered, NULL, NULL, &o);
        }
        bool ok = !st;
        if (st) {
            cJSON_AddStringToObject(res, "error", hearth_last_error());
        } else {
            cJSON_AddStringToObject(res, "answer", o.answer);
            cJSON_AddStringToObject(res, "reasoning", o.reasoning);
            cJSON_AddNumberToObject(res, "latency_ms", round(o.latency_ms * 10) / 10);
            cJSON_AddNumberToObject(res, "tokens", o.n_generated);
            cJSON *arr = cJSON_AddArrayToObject(res, "assertions");
            const cJSON *a;
            cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(c, "assert")) ok &= run_assert(a, r, &o, arr);
        }
        cJSON_AddBoolToObject(res, "passed", ok);
        *(ok ? passed : failed) += 1;
        if (p->on_result) {
            char *t = cJSON_PrintUnformatted(res);
            if (t) p->on_result(t, p->user);
            free(t);
        }
        cJSON_AddItemToArray(results, res);
        r->spec_schema = NULL;
        cJSON_Delete(rj);
        hearth_prompt_output_clear(&o);
        free(rendered);
        free(vars);
        ci++;
    }
}

hearth_status hearth_prompt_eval(hearth_prompt_lib *lib, const char *text, size_t len,
                                 const hearth_prompt_eval_params *pp, char **out) {
    *out = NULL;
    hearth_prompt_eval_params p = pp ? *pp : hearth_prompt_eval_default_params();
    cJSON *suite = pl_yaml_parse(text, len, "suite");
    if (!suite) return HEARTH_ERR_FORMAT;
    const cJSON *emb_j = cJSON_GetObjectItemCaseSensitive(suite, "embedder");
    hearth_status st = check_suite(suite, p.embedder || cJSON_IsString(emb_j));
    if (st) {
        cJSON_Delete(suite);
        return st;
    }
    /* the references, checked before any model loads */
    cJSON *refs = cJSON_CreateArray(), *models = cJSON_CreateArray();
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(suite, "prompt"), *f;
    if (one) cJSON_AddItemToArray(refs, cJSON_CreateString(one->valuestring));
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(suite, "prompts")) {
        cJSON_AddItemToArray(refs, cJSON_CreateString(f->valuestring));
    }
    cJSON_ArrayForEach(f, refs) {
        char *g = NULL;
        if ((st = hearth_prompt_get_json(lib, f->valuestring, &g))) {
            st = pl_error_prefix(st, "prompts: %s", f->valuestring);
            break;
        }
        free(g);
    }
    if (p.n_models > 0)
        for (int i = 0; i < p.n_models; i++) cJSON_AddItemToArray(models, cJSON_CreateString(p.models[i]));
    else if (cJSON_GetObjectItemCaseSensitive(suite, "models"))
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(suite, "models")) {
            char *path = resolve_path(p.base_dir, f->valuestring);
            cJSON_AddItemToArray(models, cJSON_CreateString(path ? path : ""));
            free(path);
        }
    else if (p.default_model)
        cJSON_AddItemToArray(models, cJSON_CreateString(p.default_model));
    if (!st && !cJSON_GetArraySize(models)) st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "models: no model to run");
    hearth_model *em = NULL;
    eval_run r = {0};
    if (!st && (p.embedder || emb_j)) {
        char *path = p.embedder ? strdup(p.embedder) : resolve_path(p.base_dir, emb_j->valuestring);
        hearth_embed_params ep = hearth_embed_default_params();
        ep.n_threads = p.n_threads;
        st = path ? hearth_model_load(path, NULL, &em) : HEARTH_ERR_NOMEM;
        if (!st) st = hearth_embedder_create(em, &ep, &r.emb);
        if (st) st = pl_error_prefix(st, "embedder %s", path ? path : "");
        free(path);
    }
    cJSON *res = cJSON_CreateObject();
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(suite, "description");
    cJSON_AddStringToObject(res, "suite", cJSON_IsString(desc) ? desc->valuestring : "");
    cJSON *results = cJSON_CreateArray();
    int passed = 0, failed = 0;
    if (!st) cJSON_ArrayForEach(f, models) {
        hearth_model *m = NULL;
        hearth_prompt_runner *runner = NULL;
        hearth_prompt_runner_params rp = hearth_prompt_runner_default_params();
        rp.n_threads = p.n_threads;
        rp.seed = p.seed;
        rp.temperature = p.temperature;
        if ((st = hearth_model_load(f->valuestring, NULL, &m)) || (st = hearth_prompt_runner_create(m, &rp, &runner))) {
            st = pl_error_prefix(st, "model %s", f->valuestring);
            hearth_model_free(m);
            break;
        }
        const char *slash = strrchr(f->valuestring, '/');
        const cJSON *ref;
        cJSON_ArrayForEach(ref, refs) {
            run_cases(lib, suite, ref->valuestring, slash ? slash + 1 : f->valuestring, runner, &r, &p, results,
                      &passed, &failed);
        }
        hearth_prompt_runner_free(runner);
        hearth_model_free(m);
    }
    hearth_embedder_free(r.emb);
    hearth_model_free(em);
    cJSON_Delete(suite);
    cJSON_AddItemToObject(res, "prompts", refs);
    cJSON_AddItemToObject(res, "models", models);
    cJSON *sum = cJSON_AddObjectToObject(res, "summary");
    cJSON_AddNumberToObject(sum, "runs", passed + failed);
    cJSON_AddNumberToObject(sum, "passed", passed);
    cJSON_AddNumberToObject(sum, "failed", failed);
    cJSON_AddItemToObject(res, "results", results);
    if (st) {
        cJSON_Delete(res);
        return st;
    }
    *out = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    return *out ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
}
