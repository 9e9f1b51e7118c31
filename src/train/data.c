/*
 * data.c — training records from JSONL into token ids and a loss mask.
 *
 * Each non-blank line is one JSON object of one of the forms (train.h):
 * Alpaca (instruction/input/output/system), chat (messages), prompt/
 * completion, or text. The rendered text is tokenized once as a whole
 * (BOS as the vocab says, special-token text parsed); the answer tokens are
 * found as the tokens after the longest common prefix with the tokenized
 * prompt (so tokenizer merges at the boundary cannot misplace the mask).
 *
 * Alpaca with the alpaca format (models without a chat template) uses the
 * standard prompt, so that `hearth run -p` with the same text reproduces
 * what was trained:
 *   {system or the default}\n\n### Instruction:\n{instruction}\n\n
 *   [### Input:\n{input}\n\n]### Response:\n{output}<EOS>
 * With a chat template, Alpaca records become system/user/assistant
 * messages (user = instruction, plus "\n\n" + input when present).
 * Conversations are rendered by the library's chat policy (hearth/chat.h):
 * the model's Jinja template, else its built-in format — what `hearth chat`
 * and `hearth serve` use, so a model is trained on the text it is served. 
 */
#include "train_internal.h"

#include "core/buf.h"
#include "hearth/chat.h"
#include "hearth/generate.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== small helpers ================================================================ */
static size_t lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

/* a string member, or NULL; *bad set when present but not a string */
static const char *str_member(const cJSON *o, const char *k, bool *bad) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x || cJSON_IsNull(x)) return NULL;
    if (!cJSON_IsString(x)) {
        *bad = true;
        return NULL;
    }
    return x->valuestring;
}

typedef struct loader {
    const char *path;
    int line;
    const hearth_vocab *v;
    const hearth_chat_policy *policy;   /* hearth/chat.h: the same rendering as chat and serve */
    hearth_chat_format fmt;             /* the policy's built-in format */
    bool train_on_all;
} loader;

static hearth_status tok(const loader *L, const char *text, int32_t **ids, size_t *n) {
    hearth_status s = hearth_chat_tokenize(L->v, text, ids, n);
    if (s) return hearth_set_error(s, "%s:%d: cannot tokenize the record: %s", L->path, L->line, hearth_last_error());
    return HEARTH_OK;
}

/* tokens of `full`, answers marked in [lcp(prompt_i), len(upto_i)) for each pair */
typedef struct span_text {
    char *prompt, *upto;   /* owned */
} span_text;

static hearth_status encode(const loader *L, const char *full, span_text *sp, int nsp, bool add_eos,
                            hearth_train_example *ex) {
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_status s = tok(L, full, &ids, &n);
    if (s) return s;
    int32_t eos = hearth_vocab_eos(L->v);
    if (add_eos && eos >= 0) {
        int32_t *p = realloc(ids, (n + 1) * sizeof *p);
        if (!p) {
            free(ids);
            return hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
        }
        ids = p;
        ids[n++] = eos;
    }
    uint8_t *mask = calloc(n ? n : 1, 1);
    if (!mask) {
        free(ids);
        return hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
    }
    for (int k = 0; k < nsp && !s; k++) {
        int32_t *pi = NULL, *ui = NULL;
        size_t pn = 0, un = 0;
        if ((s = tok(L, sp[k].prompt, &pi, &pn))) break;
        size_t a = lcp(pi, pn, ids, n), b = n;
        if (sp[k].upto) {
            if ((s = tok(L, sp[k].upto, &ui, &un))) {
                free(pi);
                break;
            }
            b = lcp(ui, un, ids, n);
        }
        for (size_t i = a; i < b; i++) mask[i] = 1;
        free(pi), free(ui);
    }
    if (s) {
        free(ids), free(mask);
        return s;
    }
    if (L->train_on_all || nsp == 0)
        for (size_t i = 0; i < n; i++) mask[i] = 1;
    ex->tokens = ids, ex->mask = mask, ex->n = (int32_t)n, ex->line = L->line;
    return HEARTH_OK;
}

/* ==== record forms ================================================================== */
static hearth_status render(const loader *L, const hearth_chat_message *m, size_t n, bool agp, char **out,
                            bool *used_template) {
    hearth_status s = hearth_chat_policy_render(L->policy, m, n, agp, out, used_template);
    if (s) return hearth_set_error(s, "%s:%d: %s", L->path, L->line, hearth_last_error());
    return HEARTH_OK;
}

static hearth_status from_messages(const loader *L, hearth_chat_message *m, size_t n, hearth_train_example *ex) {
    char *full = NULL;
    bool templated = false;
    hearth_status s = render(L, m, n, false, &full, &templated);
    if (s) return s;
    span_text sp[64];
    int nsp = 0;
    for (size_t i = 0; i < n && !s; i++) {
        if (strcmp(m[i].role, "assistant") != 0) continue;
        if (nsp == 64) {
            s = hearth_set_error(HEARTH_ERR_RANGE, "%s:%d: more than 64 assistant turns", L->path, L->line);
            break;
        }
        sp[nsp].prompt = sp[nsp].upto = NULL;
        if ((s = render(L, m, i, true, &sp[nsp].prompt, NULL))) break;
        if (i + 1 < n && (s = render(L, m, i + 1, false, &sp[nsp].upto, NULL))) {
            free(sp[nsp].prompt);
            break;
        }
        nsp++;
    }
    if (!s && nsp == 0)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: \"messages\" has no assistant message to learn from", L->path,
                             L->line);
    bool eos = !templated && L->fmt.kind == HEARTH_CHAT_ALPACA;   /* templates and formats with an end token write it */
    if (!s) s = encode(L, full, sp, nsp, eos, ex);
    for (int k = 0; k < nsp; k++) free(sp[k].prompt), free(sp[k].upto);
    free(full);
    return s;
}

static hearth_status parse_record(const loader *L, const cJSON *o, hearth_train_example *ex) {
    bool bad = false;
    const char *instr = str_member(o, "instruction", &bad), *input = str_member(o, "input", &bad);
    const char *output = str_member(o, "output", &bad), *sys = str_member(o, "system", &bad);
    const char *prompt = str_member(o, "prompt", &bad), *compl = str_member(o, "completion", &bad);
    const char *text = str_member(o, "text", &bad);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (bad)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: instruction, input, output, system, prompt, completion and "
                                "text must be strings", L->path, L->line);
    if (msgs) {
        if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: \"messages\" must be a non-empty array", L->path, L->line);
        int n = cJSON_GetArraySize(msgs);
        hearth_chat_message *m = calloc((size_t)n, sizeof *m);
        if (!m) return hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
        int i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, msgs) {
            const char *role = cJSON_IsObject(it) ? str_member(it, "role", &bad) : NULL;
            const char *content = cJSON_IsObject(it) ? str_member(it, "content", &bad) : NULL;
            if (!role || !content || bad || (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))) {
                free(m);
                return hearth_set_error(HEARTH_ERR_FORMAT,
                                        "%s:%d: message %d needs \"role\" (system, user or assistant) and \"content\" "
                                        "strings", L->path, L->line, i + 1);
            }
            m[i].role = role, m[i].content = content;
            i++;
        }
        hearth_status s = from_messages(L, m, (size_t)n, ex);
        free(m);
        return s;
    }
    if (instr || output) {
        if (!instr || !output)
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: an Alpaca record needs both \"instruction\" and \"output\"",
                                    L->path, L->line);
        bool has_input = input && *input;
        if (!hearth_chat_policy_has_template(L->policy) && L->fmt.kind == HEARTH_CHAT_ALPACA) {
            hearth_buf p = {0}, f = {0};
            hearth_buf_printf(&p, "%s\n\n### Instruction:\n%s\n\n", sys ? sys : HEARTH_ALPACA_SYSTEM, instr);
            if (has_input) hearth_buf_printf(&p, "### Input:\n%s\n\n", input);
            hearth_buf_puts(&p, "### Response:\n");
            if (!p.oom) hearth_buf_printf(&f, "%s%s", p.data, output);
            hearth_status s = p.oom || f.oom ? hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory") : HEARTH_OK;
            span_text sp = {p.data, NULL};
            if (!s) s = encode(L, f.data, &sp, 1, true, ex);
            hearth_buf_free(&p), hearth_buf_free(&f);
            return s;
        }
        hearth_buf u = {0};
        hearth_buf_puts(&u, instr);
        if (has_input) hearth_buf_printf(&u, "\n\n%s", input);
        if (u.oom) return hearth_buf_free(&u), hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
        hearth_chat_message m[3];
        size_t n = 0;
        if (sys) m[n].role = "system", m[n++].content = sys;
        m[n].role = "user", m[n++].content = u.data;
        m[n].role = "assistant", m[n++].content = output;
        hearth_status s = from_messages(L, m, n, ex);
        hearth_buf_free(&u);
        return s;
    }
    if (prompt || compl) {
        if (!prompt || !compl)
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: a prompt/completion record needs both fields", L->path,
                                    L->line);
        hearth_buf f = {0};
        if (!hearth_buf_printf(&f, "%s%s", prompt, compl))
            return hearth_buf_free(&f), hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
        span_text sp = {(char *)prompt, NULL};
        hearth_status s = encode(L, f.data, &sp, 1, true, ex);
        hearth_buf_free(&f);
        return s;
    }
    if (text) return encode(L, text, NULL, 0, true, ex);
    return hearth_set_error(HEARTH_ERR_FORMAT,
                            "%s:%d: unknown record: expected \"instruction\"+\"output\" (Alpaca), \"messages\", "
                            "\"prompt\"+\"completion\" or \"text\"", L->path, L->line);
}

/* ==== the file =========================================================================== */
void hearth_train_data_free(hearth_train_data *d) {
    if (!d) return;
    for (int32_t i = 0; i < d->n; i++) free(d->ex[i].tokens), free(d->ex[i].mask);
    free(d->ex);
    free(d);
}

hearth_status hearth_train_data_load(const char *path, const hearth_model *m, const hearth_vocab *vocab,
                                     const hearth_data_params *p, hearth_train_data **out) {
    *out = NULL;
    hearth_data_params dp = {.train_on_all = false, .n_ctx = 512, .chat_format = NULL};
    if (!p) p = &dp;
    if (!vocab && m) vocab = hearth_model_vocab(m);
    if (!vocab) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "data: no vocabulary");
    loader L = {.path = path, .v = vocab, .train_on_all = p->train_on_all};
    hearth_chat_params cp = hearth_chat_default_params();
    cp.format = p->chat_format ? p->chat_format : m ? NULL : "alpaca";
    hearth_chat_policy *policy = NULL;
    hearth_status s = m ? hearth_chat_policy_create(m, &cp, &policy) : hearth_chat_policy_create_from(NULL, vocab, &cp, &policy);
    if (s) return s;
    L.policy = policy;
    L.fmt = *hearth_chat_policy_format(policy);
    char *buf;
    size_t len;
    s = hearth_read_file(path, &buf, &len);
    if (s) {
        hearth_chat_policy_free(policy);
        return s;
    }
    hearth_train_data *d = calloc(1, sizeof *d);
    if (!d) {
        free(buf);
        hearth_chat_policy_free(policy);
        return hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
    }
    size_t cap = 0;
    char *line = buf, *end = buf + len;
    for (L.line = 1; line < end && !s; L.line++) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *le = nl ? nl : end;
        *le = 0;
        char *q = line;
        while (*q == ' ' || *q == '\t' || *q == '\r') q++;
        if (*q) {
            const char *perr = NULL;
            cJSON *o = cJSON_ParseWithOpts(q, &perr, true);
            if (!o) {
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: invalid JSON near column %d", path, L.line,
                                     perr ? (int)(perr - line) + 1 : 1);
            } else if (!cJSON_IsObject(o)) {
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: expected a JSON object", path, L.line);
            } else {
                if (!HEARTH_GROW(d->ex, cap, (size_t)d->n + 1)) s = hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
                if (!s) {
                    hearth_train_example ex = {0};
                    s = parse_record(&L, o, &ex);
                    if (!s) {
                        if (ex.n > p->n_ctx + 1) ex.n = p->n_ctx + 1, d->n_truncated++;
                        d->ex[d->n++] = ex;
                    }
                }
            }
            cJSON_Delete(o);
        }
        line = le + 1;
    }
    free(buf);
    hearth_chat_policy_free(policy);
    if (!s && d->n == 0) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: no records", path);
    if (s) {
        hearth_train_data_free(d);
        return s;
    }
    *out = d;
    return HEARTH_OK;
}

hearth_status hearth_train_data_split(hearth_train_data *d, double frac, uint64_t seed, hearth_train_data **heldout) {
    *heldout = NULL;
    if (!(frac >= 0 && frac < 1)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "eval split %g not in [0, 1)", frac);
    int32_t k = (int32_t)(frac * d->n + 0.5);
    if (frac > 0 && k == 0 && d->n >= 2) k = 1;
    if (k == 0) return HEARTH_OK;
    if (k >= d->n) k = d->n - 1;
    /* Fisher-Yates with the seed, then the last k go out (order kept otherwise) */
    int32_t *idx = malloc((size_t)d->n * sizeof *idx);
    uint8_t *out = calloc((size_t)d->n, 1);
    hearth_train_data *h = calloc(1, sizeof *h);
    hearth_train_example *ex = h ? malloc((size_t)k * sizeof *ex) : NULL;
    if (!idx || !out || !h || !ex) {
        free(idx), free(out), free(h), free(ex);
        return hearth_set_error(HEARTH_ERR_NOMEM, "data: out of memory");
    }
    uint64_t r = seed ^ 0xe7a1u;
    for (int32_t i = 0; i < d->n; i++) idx[i] = i;
    for (int32_t i = d->n - 1; i > 0; i--) {
        int32_t j = (int32_t)(train_rng_next(&r) % (uint64_t)(i + 1)), x = idx[i];
        idx[i] = idx[j], idx[j] = x;
    }
    for (int32_t i = 0; i < k; i++) out[idx[i]] = 1;
    int32_t w = 0;
    for (int32_t i = 0; i < d->n; i++) {
        if (out[i]) ex[h->n++] = d->ex[i];
        else d->ex[w++] = d->ex[i];
    }
    d->n = w;
    h->ex = ex;
    free(idx), free(out);
    *heldout = h;
    return HEARTH_OK;
}
