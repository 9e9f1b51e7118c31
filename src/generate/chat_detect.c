/*
 * chat_detect.c — which built-in chat format a model uses (from its
 * tokenizer.chat_template text and special tokens), and tokenizing a
 * rendered conversation.
 */
#include "hearth/generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

static bool vocab_has(const hearth_vocab *v, const char *tok) {
    return v && hearth_vocab_find(v, tok, strlen(tok)) >= 0;
}

static void special_text(const hearth_vocab *v, int32_t id, char *dst, size_t cap, const char *dflt) {
    const char *t = (v && id >= 0) ? hearth_vocab_token_text(v, id) : NULL;
    snprintf(dst, cap, "%s", t ? t : dflt);
}

static hearth_chat_format_kind kind_of(const char *t, const hearth_vocab *v) {
    if (t && *t) {
        if (has(t, "<|im_start|>")) return HEARTH_CHAT_CHATML;
        if (has(t, "<|start_header_id|>"))
            return has(t, "Cutting Knowledge Date") ? HEARTH_CHAT_LLAMA31 : HEARTH_CHAT_LLAMA3;
        if (has(t, "<start_of_turn>")) return HEARTH_CHAT_GEMMA;
        if (has(t, "<\xef\xbd\x9cUser\xef\xbd\x9c>")) return HEARTH_CHAT_DEEPSEEK_R1;
        if (has(t, "<|user|>")) return has(t, "<|end|>") ? HEARTH_CHAT_PHI3 : HEARTH_CHAT_ZEPHYR;
        if (has(t, "[INST]")) {
            if (has(t, "<<SYS>>")) return HEARTH_CHAT_LLAMA2;
            if (has(t, "[INST] ")) return HEARTH_CHAT_MISTRAL_V1;
            return HEARTH_CHAT_MISTRAL;
        }
        if (has(t, "### Instruction")) return HEARTH_CHAT_ALPACA;
        hearth_log(HEARTH_LOG_WARN, "chat template not recognised; using a built-in format from the vocabulary");
    }
    /* no (known) template: look at the special tokens */
    if (vocab_has(v, "<|im_start|>")) return HEARTH_CHAT_CHATML;
    if (vocab_has(v, "<|start_header_id|>")) return HEARTH_CHAT_LLAMA3;
    if (vocab_has(v, "<start_of_turn>")) return HEARTH_CHAT_GEMMA;
    if (vocab_has(v, "<|user|>") && vocab_has(v, "<|end|>")) return HEARTH_CHAT_PHI3;
    return HEARTH_CHAT_ALPACA;
}

hearth_chat_format hearth_chat_format_detect_template(const char *tmpl, const hearth_vocab *v) {
    hearth_chat_format f;
    memset(&f, 0, sizeof f);
    f.kind = kind_of(tmpl, v);
    special_text(v, v ? hearth_vocab_bos(v) : -1, f.bos, sizeof f.bos, v ? "" : "<s>");
    special_text(v, v ? hearth_vocab_eos(v) : -1, f.eos, sizeof f.eos, v ? "" : "</s>");
    return f;
}

hearth_chat_format hearth_chat_format_detect(const hearth_model *m) {
    return hearth_chat_format_detect_template(m ? hearth_model_chat_template(m) : NULL,
                                              m ? hearth_model_vocab(m) : NULL);
}

hearth_status hearth_chat_tokenize(const hearth_vocab *v, const char *text, int32_t **ids, size_t *n_ids) {
    if (!v || !text || !ids || !n_ids) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat tokenize: NULL argument");
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.parse_special = true;
    tp.add_special = true;
    int32_t bos = hearth_vocab_bos(v);
    const char *bos_text = bos >= 0 ? hearth_vocab_token_text(v, bos) : NULL;
    if (bos_text && *bos_text && strncmp(text, bos_text, strlen(bos_text)) == 0) tp.add_special = false;
    return hearth_tokenize(v, text, strlen(text), &tp, ids, n_ids);
}
