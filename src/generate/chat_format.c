/*
 * chat_format.c — built-in chat formats: rendering a conversation the way
 * each family's Hugging Face chat template does for plain system / user /
 * assistant messages. See include/hearth/generate.h for the list.
 *
 * Detection (which format a model uses) lives in chat_detect.c.
 */
#include "hearth/generate.h"
#include "core/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * names
 * ======================================================================== */

static const char *const NAMES[HEARTH_CHAT_N_KINDS] = {
    [HEARTH_CHAT_ALPACA] = "alpaca",         [HEARTH_CHAT_CHATML] = "chatml",
    [HEARTH_CHAT_LLAMA2] = "llama2",         [HEARTH_CHAT_LLAMA3] = "llama3",
    [HEARTH_CHAT_LLAMA31] = "llama3.1",      [HEARTH_CHAT_MISTRAL] = "mistral",
    [HEARTH_CHAT_MISTRAL_V1] = "mistral-v1", [HEARTH_CHAT_ZEPHYR] = "zephyr",
    [HEARTH_CHAT_GEMMA] = "gemma",           [HEARTH_CHAT_PHI3] = "phi3",
    [HEARTH_CHAT_DEEPSEEK_R1] = "deepseek-r1",
};

const char *hearth_chat_format_name(hearth_chat_format_kind k) {
    return (unsigned)k < HEARTH_CHAT_N_KINDS ? NAMES[k] : "unknown";
}

hearth_status hearth_chat_format_from_name(const char *name, hearth_chat_format *out) {
    if (!name || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat format: NULL argument");
    for (int k = 0; k < HEARTH_CHAT_N_KINDS; k++) {
        if (strcmp(name, NAMES[k]) == 0) {
            memset(out, 0, sizeof *out);
            out->kind = (hearth_chat_format_kind)k;
            strcpy(out->bos, "<s>");
            strcpy(out->eos, "</s>");
            return HEARTH_OK;
        }
    }
    char list[512] = "";
    for (int k = 0; k < HEARTH_CHAT_N_KINDS; k++) {
        strcat(list, NAMES[k]);
        if (k + 1 < HEARTH_CHAT_N_KINDS) strcat(list, ", ");
    }
    return hearth_set_error(HEARTH_ERR_NOT_FOUND, "unknown chat format '%s' (known: %s)", name, list);
}

const char *const *hearth_chat_format_stops(const hearth_chat_format *fmt) {
    static const char *const none[] = {NULL};
    static const char *const alpaca[] = {"### Instruction:", "### Response:", NULL};
    static const char *const llama2[] = {"[INST]", NULL};
    static const char *const mistral[] = {"[INST]", NULL};
    if (!fmt) return none;
    switch (fmt->kind) {
    case HEARTH_CHAT_ALPACA: return alpaca;
    case HEARTH_CHAT_LLAMA2: return llama2;
    case HEARTH_CHAT_MISTRAL:
    case HEARTH_CHAT_MISTRAL_V1: return mistral;
    default: return none;
    }
}

/* ========================================================================
 * output helpers
 * ======================================================================== */

static void put_n(hearth_buf *b, const char *s, size_t n) { hearth_buf_put(b, s, n); }
static void put(hearth_buf *b, const char *s) { hearth_buf_puts(b, s); }

/* Python's str.strip(): leading and trailing whitespace */
static void put_trim(hearth_buf *b, const char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    put_n(b, s, n);
}

/* ========================================================================
 * rendering
 * ======================================================================== */

static bool is_role(const hearth_chat_message *m, const char *r) { return strcmp(m->role, r) == 0; }

/* index of the first system message, -1 if none (only the leading one counts) */
static int leading_system(const hearth_chat_message *msgs, size_t n) {
    return n > 0 && is_role(&msgs[0], "system") ? 0 : -1;
}

static void render_chatml(hearth_buf *b, const hearth_chat_message *m, size_t n, bool agp) {
    for (size_t i = 0; i < n; i++) {
        put(b, "<|im_start|>");
        put(b, m[i].role);
        put(b, "\n");
        put(b, m[i].content);
        put(b, "<|im_end|>\n");
    }
    if (agp) put(b, "<|im_start|>assistant\n");
}

static void render_llama3(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n,
                          bool agp, bool v31) {
    put(b, f->bos);
    size_t start = 0;
    if (v31) {
        /* Llama 3.1: a system turn always comes first, with the date header */
        put(b, "<|start_header_id|>system<|end_header_id|>\n\n");
        put(b, "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
        if (leading_system(m, n) == 0) {
            put_trim(b, m[0].content);
            start = 1;
        }
        put(b, "<|eot_id|>");
    }
    for (size_t i = start; i < n; i++) {
        put(b, "<|start_header_id|>");
        put(b, m[i].role);
        put(b, "<|end_header_id|>\n\n");
        put_trim(b, m[i].content);
        put(b, "<|eot_id|>");
    }
    if (agp) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_llama2(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n) {
    int sys = leading_system(m, n);
    bool first = true;
    for (size_t i = sys == 0 ? 1 : 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(b, f->bos);
            put(b, "[INST] ");
            if (first && sys == 0) {
                /* the template strips the whole "<<SYS>>...content" string */
                hearth_buf t = {0};
                put(&t, "<<SYS>>\n");
                put(&t, m[0].content);
                put(&t, "\n<</SYS>>\n\n");
                put(&t, m[i].content);
                if (t.oom) b->oom = true;
                else put_trim(b, t.data);
                hearth_buf_free(&t);
            } else {
                put_trim(b, m[i].content);
            }
            put(b, " [/INST]");
        } else if (is_role(&m[i], "assistant")) {
            put(b, " ");
            put_trim(b, m[i].content);
            put(b, " ");
            put(b, f->eos);
        }
        first = false;
    }
}

static void render_mistral(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n) {
    /* v3-tekken (Nemo): the system message joins the LAST user turn */
    int sys = leading_system(m, n);
    size_t last_user = n;
    for (size_t i = 0; i < n; i++)
        if (is_role(&m[i], "user")) last_user = i;
    put(b, f->bos);
    for (size_t i = sys == 0 ? 1 : 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(b, "[INST]");
            if (i == last_user && sys == 0) {
                put(b, m[0].content);
                put(b, "\n\n");
            }
            put(b, m[i].content);
            put(b, "[/INST]");
        } else if (is_role(&m[i], "assistant")) {
            put(b, m[i].content);
            put(b, f->eos);
        }
    }
}

static void render_mistral_v1(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n) {
    int sys = leading_system(m, n);
    bool first_user = true;
    put(b, f->bos);
    for (size_t i = sys == 0 ? 1 : 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(b, "[INST] ");
            if (first_user && sys == 0) {
                put(b, m[0].content);
                put(b, "\n\n");
            }
            put(b, m[i].content);
            put(b, " [/INST]");
            first_user = false;
        } else if (is_role(&m[i], "assistant")) {
            put(b, m[i].content);
            put(b, f->eos);
        }
    }
}

static void render_zephyr(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n, bool agp) {
    for (size_t i = 0; i < n; i++) {
        put(b, "<|");
        put(b, m[i].role);
        put(b, "|>\n");
        put(b, m[i].content);
        put(b, f->eos);
        put(b, "\n");
    }
    if (agp) put(b, "<|assistant|>\n");
}

static void render_gemma(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n, bool agp) {
    int sys = leading_system(m, n);
    bool first_user = true;
    put(b, f->bos);
    for (size_t i = sys == 0 ? 1 : 0; i < n; i++) {
        bool asst = is_role(&m[i], "assistant");
        put(b, "<start_of_turn>");
        put(b, asst ? "model" : m[i].role);
        put(b, "\n");
        if (!asst && first_user && sys == 0) {
            put_trim(b, m[0].content);
            put(b, "\n\n");
        }
        if (!asst) first_user = false;
        put_trim(b, m[i].content);
        put(b, "<end_of_turn>\n");
    }
    if (agp) put(b, "<start_of_turn>model\n");
}

static void render_phi3(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n, bool agp) {
    for (size_t i = 0; i < n; i++) {
        if (is_role(&m[i], "system") && !m[i].content[0]) continue;
        put(b, "<|");
        put(b, m[i].role);
        put(b, "|>\n");
        put(b, m[i].content);
        put(b, "<|end|>\n");
    }
    if (agp) put(b, "<|assistant|>\n");
    else put(b, f->eos);
}

static void render_deepseek_r1(hearth_buf *b, const hearth_chat_format *f, const hearth_chat_message *m, size_t n,
                               bool agp) {
    put(b, f->bos);
    const char *sys = "";
    for (size_t i = 0; i < n; i++)   /* the (last) system text comes first */
        if (is_role(&m[i], "system")) sys = m[i].content;
    put(b, sys);
    for (size_t i = 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(b, "<\xef\xbd\x9cUser\xef\xbd\x9c>");
            put(b, m[i].content);
        } else if (is_role(&m[i], "assistant")) {
            /* earlier reasoning is dropped: keep what follows </think> */
            const char *c = m[i].content, *t = strstr(c, "</think>");
            if (t) c = t + strlen("</think>");
            put(b, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>");
            put(b, c);
            put(b, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
        }
    }
    if (agp) put(b, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\n");
}

static void render_alpaca(hearth_buf *b, const hearth_chat_message *m, size_t n, bool agp) {
    int sys = leading_system(m, n);
    put(b, sys == 0 ? m[0].content : HEARTH_ALPACA_SYSTEM);
    put(b, "\n\n");
    for (size_t i = sys == 0 ? 1 : 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(b, "### Instruction:\n");
            put(b, m[i].content);
            put(b, "\n\n");
        } else if (is_role(&m[i], "assistant")) {
            put(b, "### Response:\n");
            put(b, m[i].content);
            put(b, "\n\n");
        }
    }
    if (agp) put(b, "### Response:\n");
}

hearth_status hearth_chat_format_apply(const hearth_chat_format *fmt, const hearth_chat_message *msgs, size_t n,
                                       bool add_generation_prompt, char **out) {
    if (!fmt || !out || (n && !msgs))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat format: NULL argument");
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat message %zu: role or content is NULL", i);
        if (strcmp(msgs[i].role, "system") && strcmp(msgs[i].role, "user") && strcmp(msgs[i].role, "assistant"))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "chat message %zu: unknown role '%s' (expected system, user or assistant)", i,
                                    msgs[i].role);
    }
    hearth_buf b = {0};
    put(&b, "");
    bool agp = add_generation_prompt;
    switch (fmt->kind) {
    case HEARTH_CHAT_CHATML: render_chatml(&b, msgs, n, agp); break;
    case HEARTH_CHAT_LLAMA2: render_llama2(&b, fmt, msgs, n); break;
    case HEARTH_CHAT_LLAMA3: render_llama3(&b, fmt, msgs, n, agp, false); break;
    case HEARTH_CHAT_LLAMA31: render_llama3(&b, fmt, msgs, n, agp, true); break;
    case HEARTH_CHAT_MISTRAL: render_mistral(&b, fmt, msgs, n); break;
    case HEARTH_CHAT_MISTRAL_V1: render_mistral_v1(&b, fmt, msgs, n); break;
    case HEARTH_CHAT_ZEPHYR: render_zephyr(&b, fmt, msgs, n, agp); break;
    case HEARTH_CHAT_GEMMA: render_gemma(&b, fmt, msgs, n, agp); break;
    case HEARTH_CHAT_PHI3: render_phi3(&b, fmt, msgs, n, agp); break;
    case HEARTH_CHAT_DEEPSEEK_R1: render_deepseek_r1(&b, fmt, msgs, n, agp); break;
    case HEARTH_CHAT_ALPACA: render_alpaca(&b, msgs, n, agp); break;
    default:
        hearth_buf_free(&b);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat format: unknown kind %d", (int)fmt->kind);
    }
    *out = hearth_buf_take(&b, NULL);
    if (!*out) return hearth_set_error(HEARTH_ERR_NOMEM, "chat format: out of memory");
    return HEARTH_OK;
}
