/*
 * api.c — the OpenAI API's requests and responses: parsing and checking
 * request bodies (each bad field gets a 400 that names it), chat templates,
 * tokenizing, and the JSON of responses and stream chunks.
 *
 * Shapes follow https://platform.openai.com/docs/api-reference: chat
 * completions (chat.completion / chat.completion.chunk), legacy completions
 * (text_completion), embeddings (float or base64), models.
 */
#include "server_internal.h"

#include "core/utf8.h"
#include "sample/grammar_cjson.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_N 8
#define MAX_STOP 16
#define MAX_INPUTS 256

/* ==== errors ===================================================================== */
static void *fail(api_error *e, int status, const char *param, const char *code, const char *fmt, ...) {
    e->status = status;
    e->type = status == 404 ? "not_found_error" : status == 429 ? "rate_limit_error"
            : status >= 500 ? "server_error" : "invalid_request_error";
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return NULL;
}

void *api_fail(api_error *e, int status, const char *param, const char *code, const char *msg) {
    return fail(e, status, param, code, "%s", msg);
}

char *api_error_body(const api_error *e) {
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "message", e->message);
    cJSON_AddStringToObject(err, "type", e->type ? e->type : "invalid_request_error");
    if (e->param[0]) cJSON_AddStringToObject(err, "param", e->param);
    else cJSON_AddNullToObject(err, "param");
    if (e->code) cJSON_AddStringToObject(err, "code", e->code);
    else cJSON_AddNullToObject(err, "code");
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* ==== UTF-8 for JSON: invalid bytes (a token may end inside a character) become U+FFFD */
static char *utf8_clean(const char *s, size_t n) {
    hearth_buf o = {0};
    hearth_buf_reserve(&o, n);
    for (size_t i = 0; i < n;) {
        size_t len;
        if (s[i] != 0 && hearth_utf8_decode(s + i, n - i, &len) >= 0) hearth_buf_put(&o, s + i, len);
        else hearth_buf_put(&o, "\xEF\xBF\xBD", 3), len = 1;
        i += len;
    }
    return hearth_buf_take(&o, NULL);
}

/* ==== models ===================================================================== */
/* The live versions a request names, each with a reference taken (s->mu
 * held): "BASE", "BASE+ADAPTER" or "BASE:ADAPTER" (registry style, e.g.
 * "tiny:support@production"; a base whose whole name matches wins), the
 * adapter in the "lora" field, or an adapter's name alone (when it is loaded
 * on one model). No name: the first model. */
static bool find_model(hearth_server *s, const char *name, const char *lora, srv_job *j, api_error *e) {
    srv_model *m = NULL;
    srv_lora *l = NULL;
    const char *ad = lora;
    if (!name || !*name) {
        if (!(m = srv_find_model(s, NULL))) return fail(e, 503, "model", "model_not_found", "no model is loaded"), false;
    } else if (!(m = srv_find_model(s, name)) && !lora) {
        /* split at a '+' (or else a ':') whose left side is a served base */
        for (int pass = 0; pass < 2 && !m; pass++)
            for (const char *p = name; *p && !m; p++) {
                if (*p != (pass == 0 ? '+' : ':')) continue;
                char base[128];
                if ((size_t)(p - name) >= sizeof base) break;
                snprintf(base, sizeof base, "%.*s", (int)(p - name), name);
                if ((m = srv_find_model(s, base))) ad = p + 1;
            }
    }
    if (!m && !lora) {   /* an adapter alone: on the one base it is loaded on */
        int n = 0;
        for (int i = 0; i < s->n_loras; i++)
            if (!s->loras[i]->retired && !strcmp(s->loras[i]->name, name)) l = s->loras[i], n++;
        if (n > 1)
            return fail(e, 400, "model", "model_ambiguous",
                        "The adapter '%.200s' is loaded on %d models: name one as MODEL+ADAPTER", name, n),
                   false;
        if (l) m = l->base;
    }
    if (!m) {
        const char *plus = strchr(name, '+');
        return fail(e, 404, "model", "model_not_found", "The model '%.*s' does not exist", plus ? (int)(plus - name) : 200,
                    name),
               false;
    }
    if (!l && ad && *ad && !(l = srv_find_lora(s, ad, m))) {
        for (int i = 0; i < s->n_loras; i++)
            if (!s->loras[i]->retired && !strcmp(s->loras[i]->name, ad))
                return fail(e, 404, lora ? "lora" : "model", "model_not_found",
                            "The adapter '%.200s' is not loaded on the model '%s' (it is on '%s')", ad, m->name,
                            s->loras[i]->base->name),
                       false;
        return fail(e, 404, lora ? "lora" : "model", "model_not_found", "The adapter '%.200s' does not exist", ad), false;
    }
    atomic_fetch_add(&m->refs, 1);
    j->model = m;
    if (l) atomic_fetch_add(&l->refs, 1), j->lora = l;
    /* which versions answered: 12 hex digits of each digest */
    snprintf(j->fingerprint, sizeof j->fingerprint, "hearth-%.12s%s%.12s", m->digest + 7, l ? "-" : "",
             l ? l->digest + 7 : "");
    return true;
}

static cJSON *model_entry(const char *id, const char *digest, const char *parent, const char *ref, long now, int ctx) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", (double)now);
    cJSON_AddStringToObject(o, "owned_by", "hearth");
    cJSON_AddNumberToObject(o, "context_length", ctx);
    cJSON_AddStringToObject(o, "digest", digest);
    if (parent) cJSON_AddStringToObject(o, "parent", parent);
    else cJSON_AddNullToObject(o, "parent");
    if (ref && *ref) cJSON_AddStringToObject(o, "ref", ref);
    return o;
}

char *api_models(hearth_server *s) {
    cJSON *root = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(root, "data");
    cJSON_AddStringToObject(root, "object", "list");
    long now = (long)time(NULL);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_models; i++) {
        const srv_model *m = s->models[i];
        if (m->retired) continue;
        int ctx = m->embed_only ? (int)hearth_embedder_n_ctx(m->emb) : s->p.n_ctx_per_seq;
        cJSON *e = model_entry(m->name, m->digest, NULL, m->ref, now, ctx);
        if (m->clip) cJSON_AddBoolToObject(e, "vision", 1);   /* takes image_url parts (web console) */
        cJSON_AddItemToArray(data, e);
        for (int a = 0; a < s->n_loras; a++) {
            const srv_lora *l = s->loras[a];
            if (l->retired || l->base != m) continue;
            char id[300];
            snprintf(id, sizeof id, "%s+%s", m->name, l->name);
            cJSON *o = model_entry(id, l->digest, m->name, l->ref, now, ctx);
            cJSON_AddStringToObject(o, "parent_digest", m->digest);
            if (m->clip) cJSON_AddBoolToObject(o, "vision", 1);
            cJSON_AddItemToArray(data, o);
        }
    }
    pthread_mutex_unlock(&s->mu);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* ==== field readers: absent -> default; wrong type or range -> 400 naming it ==== */
static bool get_num(const cJSON *o, const char *k, double lo, double hi, double *v, api_error *e) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x || cJSON_IsNull(x)) return true;
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) {
        fail(e, 400, k, "invalid_type", "'%s' must be a number", k);
        return false;
    }
    if (x->valuedouble < lo || x->valuedouble > hi) {
        fail(e, 400, k, "invalid_value", "'%s' is %g; it must be between %g and %g", k, x->valuedouble, lo, hi);
        return false;
    }
    *v = x->valuedouble;
    return true;
}

static bool get_int(const cJSON *o, const char *k, double lo, double hi, int64_t *v, api_error *e) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    double d = (double)*v;
    if (!get_num(o, k, lo, hi, &d, e)) return false;
    if (x && cJSON_IsNumber(x) && d != floor(d)) {
        fail(e, 400, k, "invalid_type", "'%s' must be an integer", k);
        return false;
    }
    *v = (int64_t)d;
    return true;
}

static bool get_bool(const cJSON *o, const char *k, bool *v, api_error *e) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x || cJSON_IsNull(x)) return true;
    if (!cJSON_IsBool(x)) {
        fail(e, 400, k, "invalid_type", "'%s' must be a boolean", k);
        return false;
    }
    *v = cJSON_IsTrue(x);
    return true;
}

/* ==== prompts ===================================================================== */
/* the text of a message's content: a string, null, or an array of text parts
 * and (for a model with an image encoder) one image_url part (images.c) */
static char *content_text(srv_job *j, const cJSON *c, int idx, api_error *e) {
    if (!c || cJSON_IsNull(c)) return strdup("");
    if (cJSON_IsString(c)) return strdup(c->valuestring);
    if (!cJSON_IsArray(c)) {
        char param[64];
        snprintf(param, sizeof param, "messages[%d].content", idx);
        return fail(e, 400, param, "invalid_type", "'%s' must be a string or an array of text parts", param);
    }
    hearth_buf out = {0};
    const cJSON *part;
    int k = 0;
    cJSON_ArrayForEach(part, c) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "image_url")) {
            char param[64];
            snprintf(param, sizeof param, "messages[%d].content[%d]", idx, k);
            if (!srv_image_part(j, part, param, &out, e)) {
                hearth_buf_free(&out);
                return NULL;
            }
            k++;
            continue;
        }
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text)) {
            hearth_buf_free(&out);
            char param[64];
            snprintf(param, sizeof param, "messages[%d].content[%d]", idx, k);
            return fail(e, 400, param, "invalid_value",
                        "'%s': only {\"type\":\"text\",\"text\":...} and {\"type\":\"image_url\",...} parts are "
                        "supported",
                        param);
        }
        hearth_buf_puts(&out, text->valuestring);
        k++;
    }
    char *joined = hearth_buf_take(&out, NULL);
    if (!joined) return fail(e, 500, NULL, NULL, "out of memory");
    return joined;
}

static bool add_stop(srv_job *j, const char *s) {
    char **t = realloc(j->stop, (size_t)(j->n_stop + 1) * sizeof *t);
    if (!t) return false;
    j->stop = t;
    if (!(j->stop[j->n_stop] = strdup(s))) return false;
    j->n_stop++;
    return true;
}

/* whether a message carries tool calls or is a tool's result */
static bool has_tool_messages(const cJSON *msgs) {
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_GetObjectItemCaseSensitive(m, "tool_calls") || (cJSON_IsString(r) && !strcmp(r->valuestring, "tool")))
            return true;
    }
    return false;
}

/* the conversation with tools through the chat policy's JSON path: each
 * message's text (texts[i], parts joined) with its calls and call id */
static bool render_with_tools(srv_job *j, const cJSON *msgs, char **texts, char **text, api_error *e) {
    cJSON *arr = cJSON_CreateArray();
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        cJSON *o = cJSON_CreateObject();
        const char *keys[] = {"role", "tool_calls", "tool_call_id", "name"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[k]);
            if (v && !cJSON_IsNull(v)) cJSON_AddItemToObject(o, keys[k], cJSON_Duplicate(v, true));
        }
        cJSON_AddStringToObject(o, "content", texts[i++]);
        cJSON_AddItemToArray(arr, o);
    }
    char *mj = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!mj) return fail(e, 500, NULL, NULL, "out of memory"), false;
    hearth_status st = hearth_chat_policy_render_json(j->model->chat, mj, strlen(mj),
                                                      j->tool_choice == TOOL_NONE ? NULL : j->tools_json, true, text, NULL);
    free(mj);
    if (st != HEARTH_OK) {
        const char *msg = hearth_last_error(), *colon = strstr(msg, ": ");
        char param[64];
        snprintf(param, sizeof param, "%.*s", colon && !strncmp(msg, "messages", 8) ? (int)(colon - msg) : 8,
                 colon && !strncmp(msg, "messages", 8) ? msg : "messages");
        return fail(e, 400, param, "invalid_value", "%s", msg), false;
    }
    return true;
}

static bool chat_prompt(srv_job *j, const cJSON *req, api_error *e) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    if (!msgs) return fail(e, 400, "messages", "missing_required_parameter", "'messages' is required"), false;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return fail(e, 400, "messages", "invalid_value", "'messages' must be a non-empty array"), false;
    int n = cJSON_GetArraySize(msgs);
    hearth_chat_message *cm = calloc((size_t)n, sizeof *cm);
    char **texts = calloc((size_t)n, sizeof *texts);
    bool ok = cm && texts;
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, msgs) {
        if (!ok) break;
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
            char param[64];
            snprintf(param, sizeof param, "messages[%d].role", i);
            fail(e, 400, param, "invalid_value", "'%s' must be a string (each message is an object with a role)", param);
            ok = false;
            break;
        }
        const char *r = role->valuestring;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "developer") &&
            strcmp(r, "tool")) {
            char param[64];
            snprintf(param, sizeof param, "messages[%d].role", i);
            fail(e, 400, param, "invalid_value", "'%s' is '%s'; expected system, developer, user, assistant or tool",
                 param, r);
            ok = false;
            break;
        }
        if (!(texts[i] = content_text(j, cJSON_GetObjectItemCaseSensitive(m, "content"), i, e))) { ok = false; break; }
        cm[i].role = !strcmp(r, "developer") ? "system" : r;
        cm[i].content = texts[i];
        i++;
    }
    char *text = NULL;
    srv_model *sm = j->model;
    if (ok && (j->tools || has_tool_messages(msgs))) {
        /* tools, calls or results in the conversation: the JSON path (tool_calls.c) */
        ok = srv_tools_check_history(j, msgs, e) && render_with_tools(j, msgs, texts, &text, e);
    } else if (ok && hearth_chat_policy_render(sm->chat, cm, (size_t)n, true, &text, NULL) != HEARTH_OK) {
        fail(e, 400, "messages", "invalid_value", "%s", hearth_last_error());
        ok = false;
    }
    const char *opening = NULL;
    ok = ok && srv_tools_force(j, &opening, e);
    if (ok && opening && *opening) {   /* a required call: the reply starts inside it */
        size_t tl = strlen(text), ol = strlen(opening);
        char *t2 = realloc(text, tl + ol + 1);
        if (!t2) {
            fail(e, 500, NULL, NULL, "out of memory");
            ok = false;
        } else {
            memcpy(t2 + tl, opening, ol + 1);
            text = t2;
        }
    }
    for (const char *const *sp = hearth_chat_policy_stops(sm->chat); ok && sp && *sp; sp++) add_stop(j, *sp);
    if (ok && j->image) {
        ok = srv_image_tokenize(j, text, e);
    } else if (ok) {
        size_t nid = 0;
        if (hearth_chat_tokenize(hearth_model_vocab(sm->m), text, &j->prompt, &nid) != HEARTH_OK) {
            fail(e, 400, "messages", "invalid_value", "cannot tokenize the conversation: %s", hearth_last_error());
            ok = false;
        }
        j->n_prompt = (int)nid;
    }
    free(text);
    for (int k = 0; texts && k < n; k++) free(texts[k]);
    free(texts);
    free(cm);
    return ok;
}

/* prompt of /v1/completions: a string, [string], or token ids */
static bool completion_prompt(srv_job *j, const cJSON *req, api_error *e) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "prompt");
    if (!p) return fail(e, 400, "prompt", "missing_required_parameter", "'prompt' is required"), false;
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        p = cJSON_GetArrayItem(p, 0);
    const hearth_vocab *v = hearth_model_vocab(j->model->m);
    if (cJSON_IsString(p)) {
        hearth_tokenize_params tp = hearth_tokenize_default_params();
        size_t nid = 0;
        if (hearth_tokenize(v, p->valuestring, strlen(p->valuestring), &tp, &j->prompt, &nid) != HEARTH_OK)
            return fail(e, 400, "prompt", "invalid_value", "cannot tokenize the prompt: %s", hearth_last_error()), false;
        j->n_prompt = (int)nid;
        return true;
    }
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 0) {
        int n = cJSON_GetArraySize(p), nv = hearth_vocab_n_tokens(v), i = 0;
        j->prompt = malloc((size_t)n * sizeof *j->prompt);
        if (!j->prompt) return fail(e, 500, NULL, NULL, "out of memory"), false;
        const cJSON *t;
        cJSON_ArrayForEach(t, p) {
            if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) || t->valuedouble < 0 ||
                t->valuedouble >= nv)
                return fail(e, 400, "prompt", "invalid_value",
                            "'prompt' must be a string, an array of one string, or token ids in [0, %d)", nv),
                       false;
            j->prompt[i++] = (int32_t)t->valuedouble;
        }
        j->n_prompt = n;
        return true;
    }
    return fail(e, 400, "prompt", "invalid_value",
                "'prompt' must be a non-empty string, an array of one string, or token ids (batches of prompts are "
                "not supported)"),
           false;
}

/* ==== parsing a request ===================================================================== */
static bool parse_sampling(srv_job *j, const cJSON *req, api_error *e) {
    hearth_sampler_params sp = hearth_sampler_default_params();
    /* OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p; penalties
     * over the generated tokens only */
    double temp = 1, top_p = 1, pres = 0, freq = 0;
    int64_t seed = -1;
    if (!get_num(req, "temperature", 0, 2, &temp, e) || !get_num(req, "top_p", 0, 1, &top_p, e) ||
        !get_num(req, "presence_penalty", -2, 2, &pres, e) || !get_num(req, "frequency_penalty", -2, 2, &freq, e) ||
        !get_int(req, "seed", (double)INT64_MIN, 9.2e18, &seed, e))
        return false;
    sp.temp = (float)temp;
    sp.top_p = top_p <= 0 ? 1e-6f : (float)top_p;
    sp.top_k = 0;
    sp.min_p = 0;
    sp.presence_penalty = (float)pres;
    sp.frequency_penalty = (float)freq;
    sp.repeat_last_n = -1;
    const cJSON *seedj = cJSON_GetObjectItemCaseSensitive(req, "seed");
    sp.seed = seedj && cJSON_IsNumber(seedj) ? (uint64_t)seed : HEARTH_SEED_RANDOM;
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(req, "logit_bias");
    if (lb && !cJSON_IsNull(lb)) {
        if (!cJSON_IsObject(lb))
            return fail(e, 400, "logit_bias", "invalid_type", "'logit_bias' must be an object of token id -> bias"),
                   false;
        int n = cJSON_GetArraySize(lb), k = 0, nv = hearth_model_n_vocab(j->model->m);
        j->bias = calloc((size_t)(n ? n : 1), sizeof *j->bias);
        if (!j->bias) return fail(e, 500, NULL, NULL, "out of memory"), false;
        const cJSON *b;
        cJSON_ArrayForEach(b, lb) {
            char *end;
            long id = strtol(b->string, &end, 10);
            if (*end || end == b->string || id < 0 || id >= nv)
                return fail(e, 400, "logit_bias", "invalid_value", "'logit_bias' key '%s' is not a token id in [0, %d)",
                            b->string, nv),
                       false;
            if (!cJSON_IsNumber(b) || b->valuedouble < -100 || b->valuedouble > 100)
                return fail(e, 400, "logit_bias", "invalid_value",
                            "'logit_bias' value for token %ld must be a number in [-100, 100]", id),
                       false;
            j->bias[k].id = (int32_t)id;
            j->bias[k].bias = b->valuedouble <= -100 ? -INFINITY : (float)b->valuedouble;
            k++;
        }
        sp.logit_bias = j->bias;
        sp.n_logit_bias = (size_t)k;
    }
    j->sp = sp;
    return true;
}

static bool parse_stop(srv_job *j, const cJSON *req, api_error *e) {
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(req, "stop");
    if (!st || cJSON_IsNull(st)) return true;
    if (cJSON_IsString(st)) return st->valuestring[0] ? add_stop(j, st->valuestring) : true;
    if (!cJSON_IsArray(st) || cJSON_GetArraySize(st) > MAX_STOP)
        return fail(e, 400, "stop", "invalid_value", "'stop' must be a string or an array of at most %d strings",
                    MAX_STOP),
               false;
    const cJSON *x;
    cJSON_ArrayForEach(x, st) {
        if (!cJSON_IsString(x)) return fail(e, 400, "stop", "invalid_type", "'stop' entries must be strings"), false;
        if (x->valuestring[0] && !add_stop(j, x->valuestring)) return fail(e, 500, NULL, NULL, "out of memory"), false;
    }
    return true;
}

static srv_job *parse_embed(hearth_server *s, srv_job *j, const cJSON *req, api_error *e) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "input");
    if (!in) return fail(e, 400, "input", "missing_required_parameter", "'input' is required");
    const hearth_vocab *v = hearth_model_vocab(j->model->m);
    int nv = hearth_vocab_n_tokens(v);
    /* normalize to a list of items: strings or token arrays */
    const cJSON *items[MAX_INPUTS];
    int n = 0;
    bool ids_one = cJSON_IsArray(in) && cJSON_GetArraySize(in) > 0 && cJSON_IsNumber(cJSON_GetArrayItem(in, 0));
    if (cJSON_IsString(in) || ids_one) items[n++] = in;
    else if (cJSON_IsArray(in)) {
        const cJSON *x;
        cJSON_ArrayForEach(x, in) {
            if (n == MAX_INPUTS) return fail(e, 400, "input", "invalid_value", "at most %d inputs", MAX_INPUTS);
            items[n++] = x;
        }
    }
    if (n == 0)
        return fail(e, 400, "input", "invalid_value",
                    "'input' must be a non-empty string, an array of strings, or token ids");
    j->in_ids = calloc((size_t)n, sizeof *j->in_ids);
    j->in_text = calloc((size_t)n, sizeof *j->in_text);
    j->in_n = calloc((size_t)n, sizeof *j->in_n);
    if (!j->in_ids || !j->in_text || !j->in_n) return fail(e, 500, NULL, NULL, "out of memory");
    j->n_inputs = n;
    for (int i = 0; i < n; i++) {
        const cJSON *x = items[i];
        if (cJSON_IsString(x) && x->valuestring[0]) {
            /* tokenized by the embedder, with the model's special tokens */
            if (!(j->in_text[i] = strdup(x->valuestring))) return fail(e, 500, NULL, NULL, "out of memory");
        } else if (cJSON_IsObject(x)) {   /* an image (images.c) */
            if (!srv_embed_image_input(j, i, x, e)) return NULL;
        } else if (cJSON_IsArray(x) && cJSON_GetArraySize(x) > 0) {
            int m = cJSON_GetArraySize(x), k = 0;
            if (!(j->in_ids[i] = malloc((size_t)m * sizeof(int32_t)))) return fail(e, 500, NULL, NULL, "out of memory");
            const cJSON *t;
            cJSON_ArrayForEach(t, x) {
                if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) || t->valuedouble < 0 ||
                    t->valuedouble >= nv)
                    return fail(e, 400, "input", "invalid_value", "input %d: token ids must be integers in [0, %d)", i,
                                nv);
                j->in_ids[i][k++] = (int32_t)t->valuedouble;
            }
            j->in_n[i] = m;
        } else {
            return fail(e, 400, "input", "invalid_value", "input %d is empty or not a string / token array", i);
        }
    }
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(req, "pooling");
    if (pool && !cJSON_IsNull(pool)) {   /* images only: "none" gives every row of the image */
        bool all_images = j->in_image != NULL;
        for (int i = 0; all_images && i < n; i++) all_images = j->in_image[i] != NULL;
        if (!cJSON_IsString(pool) || (strcmp(pool->valuestring, "mean") && strcmp(pool->valuestring, "none")))
            return fail(e, 400, "pooling", "invalid_value", "'pooling' must be \"mean\" or \"none\"");
        if (!strcmp(pool->valuestring, "none") && !all_images)
            return fail(e, 400, "pooling", "invalid_value", "'pooling': \"none\" is for image inputs only");
        j->embd_rows = !strcmp(pool->valuestring, "none");
    }
    const cJSON *ef = cJSON_GetObjectItemCaseSensitive(req, "encoding_format");
    if (ef && !cJSON_IsNull(ef)) {
        if (!cJSON_IsString(ef) || (strcmp(ef->valuestring, "float") && strcmp(ef->valuestring, "base64")))
            return fail(e, 400, "encoding_format", "invalid_value", "'encoding_format' must be \"float\" or \"base64\"");
        j->json_mode = !strcmp(ef->valuestring, "base64");   /* (reused as the base64 flag) */
    }
    j->n = 1;
    j->ch = calloc(1, sizeof *j->ch);
    if (!j->ch) return fail(e, 500, NULL, NULL, "out of memory");
    return j;
}

srv_job *api_parse(hearth_server *s, int kind, const char *body, size_t len, api_error *e) {
    cJSON *req = cJSON_ParseWithLength(body, len);
    if (!req) return fail(e, 400, NULL, "invalid_json", "the request body is not valid JSON (near byte %ld)",
                          (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - body : 0));
    srv_job *j = NULL;
    if (!cJSON_IsObject(req)) {
        fail(e, 400, NULL, "invalid_json", "the request body must be a JSON object");
        goto bad;
    }
    if (!(j = job_new())) {
        fail(e, 500, NULL, NULL, "out of memory");
        goto bad;
    }
    j->kind = kind;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model)) {
        fail(e, 400, "model", "invalid_type", "'model' must be a string");
        goto bad;
    }
    const char *mname = model && cJSON_IsString(model) ? model->valuestring : NULL;
    const cJSON *lora = cJSON_GetObjectItemCaseSensitive(req, "lora");   /* an adapter of the model, by name */
    if (lora && !cJSON_IsNull(lora) && !cJSON_IsString(lora)) {
        fail(e, 400, "lora", "invalid_type", "'lora' must be a string (an adapter's name)");
        goto bad;
    }
    pthread_mutex_lock(&s->mu);
    bool found = find_model(s, mname, cJSON_IsString(lora) ? lora->valuestring : NULL, j, e);
    pthread_mutex_unlock(&s->mu);
    if (!found) goto bad;
    if (kind != JOB_EMBED && j->model->embed_only) {
        fail(e, 400, "model", "model_not_supported",
             "The model '%s' is an embedding model (an encoder): it serves /v1/embeddings only", j->model->name);
        goto bad;
    }
    if (kind == JOB_EMBED && j->lora) {
        fail(e, 400, "model", "model_not_supported",
             "embeddings are computed by the base model: request '%s' without the adapter", j->model->name);
        goto bad;
    }
    snprintf(j->model_name, sizeof j->model_name, "%s", mname && *mname ? mname : j->model->name);
    j->created = (long)time(NULL);
    static atomic_uint_fast64_t counter;
    unsigned long long k = (unsigned long long)atomic_fetch_add(&counter, 1);
    snprintf(j->id, sizeof j->id, "%s-%llx%06llx", kind == JOB_CHAT ? "chatcmpl" : kind == JOB_COMPLETION ? "cmpl" : "embd",
             (unsigned long long)time(NULL), k & 0xffffff);

    if (kind == JOB_EMBED) {
        if (!parse_embed(s, j, req, e)) goto bad;
        cJSON_Delete(req);
        return j;
    }
    if (kind == JOB_CHAT && !srv_tools_parse(j, req, e)) goto bad;
    if (!(kind == JOB_CHAT ? chat_prompt(j, req, e) : completion_prompt(j, req, e))) goto bad;
    if (j->n_prompt == 0) {
        fail(e, 400, kind == JOB_CHAT ? "messages" : "prompt", "invalid_value", "the prompt has no tokens");
        goto bad;
    }
    if (j->n_prompt + j->n_image >= s->p.n_ctx_per_seq) {
        fail(e, 400, kind == JOB_CHAT ? "messages" : "prompt", "context_length_exceeded",
             "the prompt is %d tokens%s; this server's context per sequence is %d", j->n_prompt + j->n_image,
             j->image ? " (image positions included)" : "", s->p.n_ctx_per_seq);
        goto bad;
    }
    int room = s->p.n_ctx_per_seq - j->n_prompt - j->n_image;
    int64_t max_tokens = kind == JOB_COMPLETION ? 16 : room, n = 1, top = -1;
    if (!get_int(req, "max_tokens", 1, 1e9, &max_tokens, e) ||
        !get_int(req, "max_completion_tokens", 1, 1e9, &max_tokens, e) || !get_int(req, "n", 1, MAX_N, &n, e) ||
        !parse_sampling(j, req, e) || !parse_stop(j, req, e) || !get_bool(req, "stream", &j->stream, e))
        goto bad;
    j->max_tokens = (int)(max_tokens < room ? max_tokens : room);
    j->n = (int)n;
    if (kind == JOB_CHAT) {
        bool lp = false;
        if (!get_bool(req, "logprobs", &lp, e) || !get_int(req, "top_logprobs", 0, 20, &top, e)) goto bad;
        j->logprobs = lp ? (int)(top < 0 ? 0 : top) : -1;
        if (top > 0 && !lp) {
            fail(e, 400, "top_logprobs", "invalid_value", "'top_logprobs' needs 'logprobs': true");
            goto bad;
        }
    } else {
        if (!get_int(req, "logprobs", 0, 5, &top, e)) goto bad;
        j->logprobs = (int)top;
    }
    j->sp.n_probs = j->logprobs > 0 ? j->logprobs : 0;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
    if (so && cJSON_IsObject(so) && !get_bool(so, "include_usage", &j->include_usage, e)) goto bad;
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(req, "response_format");
    if (j->grammar && ((rf && !cJSON_IsNull(rf)) || cJSON_GetObjectItemCaseSensitive(req, "grammar"))) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rf, "type");
        if (!(cJSON_IsString(t) && !strcmp(t->valuestring, "text")) || cJSON_GetObjectItemCaseSensitive(req, "grammar")) {
            fail(e, 400, "tool_choice", "invalid_value",
                 "a required tool call cannot be combined with a response_format or grammar");
            goto bad;
        }
    }
    if (rf && !cJSON_IsNull(rf)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rf, "type");
        if (!cJSON_IsObject(rf) || !cJSON_IsString(t)) {
            fail(e, 400, "response_format", "invalid_value", "'response_format' must be an object with a 'type'");
            goto bad;
        }
        if (!strcmp(t->valuestring, "json_object")) j->json_mode = true;
        else if (!strcmp(t->valuestring, "json_schema")) {
            /* {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}: the output is
             * the schema's instance (src/sample/grammar_schema.c; refused keywords are errors) */
            const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
            const cJSON *sch = cJSON_GetObjectItemCaseSensitive(js, "schema");
            if (!cJSON_IsObject(js) || !(cJSON_IsObject(sch) || cJSON_IsBool(sch))) {
                fail(e, 400, "response_format.json_schema.schema", "invalid_value",
                     "'response_format.json_schema' must be an object with a 'schema'");
                goto bad;
            }
            if (hearth_grammar_from_schema_json(sch, &j->grammar) != HEARTH_OK) {
                fail(e, 400, "response_format.json_schema.schema", "invalid_value", "%s", hearth_last_error());
                goto bad;
            }
        } else if (strcmp(t->valuestring, "text")) {
            fail(e, 400, "response_format.type", "invalid_value",
                 "'response_format.type' '%s' is not supported (use \"text\", \"json_object\" or \"json_schema\")",
                 t->valuestring);
            goto bad;
        }
    }
    const cJSON *gb = cJSON_GetObjectItemCaseSensitive(req, "grammar");   /* llama.cpp's GBNF extension */
    if (gb && !cJSON_IsNull(gb)) {
        if (!cJSON_IsString(gb) || j->grammar || j->json_mode) {
            fail(e, 400, "grammar", "invalid_value",
                 "'grammar' must be a GBNF string and cannot be combined with a response_format");
            goto bad;
        }
        if (hearth_grammar_from_gbnf(gb->valuestring, strlen(gb->valuestring), NULL, &j->grammar) != HEARTH_OK) {
            fail(e, 400, "grammar", "invalid_value", "%s", hearth_last_error());
            goto bad;
        }
    }
    j->ch = calloc((size_t)j->n, sizeof *j->ch);
    if (!j->ch) {
        fail(e, 500, NULL, NULL, "out of memory");
        goto bad;
    }
    cJSON_Delete(req);
    return j;
bad:
    cJSON_Delete(req);
    job_unref(j);
    return NULL;
}

/* ==== responses ===================================================================== */
static cJSON *usage(const srv_job *j) {
    int gen = 0;
    for (int i = 0; i < j->n; i++) gen += j->ch[i].n_gen;
    if (j->kind == JOB_EMBED) gen = 0;
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", j->n_prompt + j->n_image);   /* an image counts its positions */
    if (j->kind != JOB_EMBED) cJSON_AddNumberToObject(u, "completion_tokens", gen);
    cJSON_AddNumberToObject(u, "total_tokens", j->n_prompt + j->n_image + gen);
    return u;
}

static char *piece_text(const srv_job *j, int32_t id) {
    char buf[256];
    int64_t n = hearth_token_to_piece(hearth_model_vocab(j->model->m), id, false, buf, sizeof buf);
    if (n < 0) n = 0;
    if (n > (int64_t)sizeof buf) n = sizeof buf;
    return utf8_clean(buf, (size_t)n);
}

static cJSON *bytes_of(const srv_job *j, int32_t id) {
    char buf[256];
    int64_t n = hearth_token_to_piece(hearth_model_vocab(j->model->m), id, false, buf, sizeof buf);
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; i < n && i < (int64_t)sizeof buf; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((unsigned char)buf[i]));
    return a;
}

/* logprobs of tokens lps[from..to) in the endpoint's shape */
static cJSON *logprobs_json(const srv_job *j, const srv_choice *c, size_t from, size_t to, size_t text_off) {
    if (j->logprobs < 0) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (j->kind == JOB_CHAT) {
        cJSON *content = cJSON_AddArrayToObject(o, "content");
        for (size_t i = from; i < to; i++) {
            const srv_logprob *l = &c->lps[i];
            cJSON *t = cJSON_CreateObject();
            char *txt = piece_text(j, l->id);
            cJSON_AddStringToObject(t, "token", txt ? txt : "");
            free(txt);
            cJSON_AddNumberToObject(t, "logprob", l->lp);
            cJSON_AddItemToObject(t, "bytes", bytes_of(j, l->id));
            cJSON *tops = cJSON_AddArrayToObject(t, "top_logprobs");
            for (int k = 0; k < l->n_top; k++) {
                cJSON *a = cJSON_CreateObject();
                char *at = piece_text(j, l->top[k].id);
                cJSON_AddStringToObject(a, "token", at ? at : "");
                free(at);
                cJSON_AddNumberToObject(a, "logprob", l->top[k].logprob);
                cJSON_AddItemToObject(a, "bytes", bytes_of(j, l->top[k].id));
                cJSON_AddItemToArray(tops, a);
            }
            cJSON_AddItemToArray(content, t);
        }
    } else {
        cJSON *toks = cJSON_AddArrayToObject(o, "tokens"), *lps = cJSON_AddArrayToObject(o, "token_logprobs");
        cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs"), *offs = cJSON_AddArrayToObject(o, "text_offset");
        for (size_t i = from; i < to; i++) {
            const srv_logprob *l = &c->lps[i];
            char *txt = piece_text(j, l->id);
            cJSON_AddItemToArray(toks, cJSON_CreateString(txt ? txt : ""));
            cJSON_AddItemToArray(lps, cJSON_CreateNumber(l->lp));
            cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)text_off));
            text_off += txt ? strlen(txt) : 0;
            free(txt);
            cJSON *top = cJSON_CreateObject();
            for (int k = 0; k < l->n_top; k++) {
                char *at = piece_text(j, l->top[k].id);
                cJSON_AddNumberToObject(top, at ? at : "", l->top[k].logprob);
                free(at);
            }
            cJSON_AddItemToArray(tops, top);
        }
    }
    return o;
}

static const char *finish_name(const char *f) {
    return !f ? NULL : !strcmp(f, "length") ? "length" : "stop";
}

static void b64(const unsigned char *in, size_t n, char *out) {
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = i + 1 < n ? T[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = 0;
}

char *api_response(const srv_job *j) {
    cJSON *root = cJSON_CreateObject();
    if (j->kind == JOB_EMBED) {
        cJSON_AddStringToObject(root, "object", "list");
        cJSON *data = cJSON_AddArrayToObject(root, "data");
        for (int i = 0; i < j->n_inputs; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "object", "embedding");
            cJSON_AddNumberToObject(o, "index", i);
            const float *e = j->embd + (size_t)i * j->dim;
            if (j->json_mode) {   /* base64 of little-endian float32 */
                char *s = malloc(((size_t)j->dim * 4 + 2) / 3 * 4 + 1);
                if (s) b64((const unsigned char *)e, (size_t)j->dim * 4, s);
                cJSON_AddStringToObject(o, "embedding", s ? s : "");
                free(s);
            } else {
                cJSON *a = cJSON_AddArrayToObject(o, "embedding");
                for (int d = 0; d < j->dim; d++) cJSON_AddItemToArray(a, cJSON_CreateNumber(e[d]));
            }
            cJSON_AddItemToArray(data, o);
        }
        cJSON_AddStringToObject(root, "model", j->model_name);
        cJSON_AddItemToObject(root, "usage", usage(j));
    } else {
        cJSON_AddStringToObject(root, "id", j->id);
        cJSON_AddStringToObject(root, "object", j->kind == JOB_CHAT ? "chat.completion" : "text_completion");
        cJSON_AddNumberToObject(root, "created", (double)j->created);
        cJSON_AddStringToObject(root, "model", j->model_name);
        cJSON *choices = cJSON_AddArrayToObject(root, "choices");
        for (int i = 0; i < j->n; i++) {
            const srv_choice *c = &j->ch[i];
            const char *finish = NULL;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", i);
            if (j->kind == JOB_CHAT) {
                cJSON *m = cJSON_AddObjectToObject(o, "message");
                cJSON_AddStringToObject(m, "role", "assistant");
                if (srv_tools_on(j)) srv_tools_message(j, c, m, &finish);   /* content and tool_calls */
                else cJSON_AddStringToObject(m, "content", c->text ? c->text : "");
                cJSON_AddNullToObject(m, "refusal");
            } else {
                cJSON_AddStringToObject(o, "text", c->text ? c->text : "");
            }
            cJSON_AddItemToObject(o, "logprobs", logprobs_json(j, c, 0, c->n_lps, 0));
            cJSON_AddStringToObject(o, "finish_reason", finish ? finish : finish_name(c->finish) ? finish_name(c->finish) : "stop");
            cJSON_AddItemToArray(choices, o);
        }
        cJSON_AddItemToObject(root, "usage", usage(j));
        cJSON_AddStringToObject(root, "system_fingerprint", j->fingerprint);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* ==== streaming ===================================================================== */
static void put_event(hearth_buf *out, cJSON *obj) {
    char *s = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!s) return;
    hearth_buf_printf(out, "data: %s\n\n", s);
    free(s);
}

static cJSON *chunk(const srv_job *j) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "object", j->kind == JOB_CHAT ? "chat.completion.chunk" : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)j->created);
    cJSON_AddStringToObject(o, "model", j->model_name);
    cJSON_AddStringToObject(o, "system_fingerprint", j->fingerprint);
    return o;
}

void api_stream_events(srv_job *j, hearth_buf *out, bool *end) {
    *end = false;
    bool all_sent = true;
    for (int i = 0; i < j->n; i++) {
        srv_choice *c = &j->ch[i];
        bool role = j->kind == JOB_CHAT && !c->started;
        bool text = c->len > c->sent || (j->logprobs >= 0 && c->n_lps > c->lps_sent);
        bool fin = c->finish && !c->finish_sent;
        if (role || text || fin) {
            cJSON *o = chunk(j), *choices = cJSON_AddArrayToObject(o, "choices"), *ch = cJSON_CreateObject();
            cJSON_AddNumberToObject(ch, "index", i);
            const char *piece = c->text ? c->text + c->sent : "";
            const char *finish = fin ? finish_name(c->finish) : NULL;
            if (j->kind == JOB_CHAT) {
                cJSON *d = cJSON_AddObjectToObject(ch, "delta");
                if (role) cJSON_AddStringToObject(d, "role", "assistant");
                char *err = NULL;
                if (srv_tools_on(j)) {   /* content and tool_calls pieces (tool_calls.c) */
                    bool ok = srv_tools_delta(j, c, piece, c->len - c->sent, fin, d, &finish, &err);
                    if (ok && role && !cJSON_GetObjectItemCaseSensitive(d, "content")) cJSON_AddNullToObject(d, "content");
                    if (!ok) {
                        cJSON_Delete(o);
                        cJSON_Delete(ch);
                        api_error e = {0};
                        fail(&e, 500, NULL, "invalid_tool_call", "%s", err ? err : "invalid tool call");
                        free(err);
                        char *b = api_error_body(&e);
                        hearth_buf_printf(out, "data: %s\n\ndata: [DONE]\n\n", b ? b : "{}");
                        free(b);
                        atomic_store(&j->cancelled, 1);
                        *end = true;
                        return;
                    }
                    if (!role && !fin && j->logprobs < 0 && !d->child) {   /* held back: nothing to send yet */
                        cJSON_Delete(o);
                        cJSON_Delete(ch);
                        c->sent = c->len;
                        if (!c->finish_sent) all_sent = false;
                        continue;
                    }
                } else if (text || role) {
                    cJSON_AddStringToObject(d, "content", piece);
                }
            } else {
                cJSON_AddStringToObject(ch, "text", piece);
            }
            cJSON_AddItemToObject(ch, "logprobs", logprobs_json(j, c, c->lps_sent, c->n_lps, c->sent));
            if (fin) cJSON_AddStringToObject(ch, "finish_reason", finish);
            else cJSON_AddNullToObject(ch, "finish_reason");
            cJSON_AddItemToArray(choices, ch);
            put_event(out, o);
            c->started = true;
            c->sent = c->len;
            c->lps_sent = c->n_lps;
            if (fin) c->finish_sent = true;
        }
        if (!c->finish_sent) all_sent = false;
    }
    if (!j->done || !all_sent) return;
    if (j->error) {
        api_error e = {0};
        fail(&e, 500, NULL, NULL, "%s", j->error);
        char *b = api_error_body(&e);
        hearth_buf_printf(out, "data: %s\n\n", b ? b : "{}");
        free(b);
    }
    if (j->include_usage) {
        cJSON *o = chunk(j);
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", usage(j));
        put_event(out, o);
    }
    hearth_buf_puts(out, "data: [DONE]\n\n");
    *end = true;
}
