/*
 * test_chat_format.c — built-in chat formats against the renderings of the
 * real templates (tests/data/templates/NAME.json, made by Jinja2 as
 * transformers applies them), and hand-checked renderings for the families
 * without a reference file.
 */
#include "harness.h"
#include "hearth/generate.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

/* ---- reference templates ------------------------------------------------ */

typedef struct family {
    const char *file;
    const char *format;
    bool needs_system;     /* chatml: without a system message Qwen adds its own */
    bool no_system;        /* gemma: the real template rejects a system message */
} family;

static const family FAMILIES[] = {
    {"Qwen-Qwen2.5-7B-Instruct.json", "chatml", true, false},
    {"meta-llama-Llama-3.1-8B-Instruct.json", "llama3.1", false, false},
    {"google-gemma-2-2b-it.json", "gemma", false, true},
    {"microsoft-Phi-3.5-mini-instruct.json", "phi3", false, false},
    {"mistralai-Mistral-Nemo-Instruct-2407.json", "mistral", false, false},
    {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.json", "deepseek-r1", false, false},
};

/* a case is usable when it has an expected string, no tools and only plain messages */
static bool plain_case(const cJSON *ctx, const family *f, int *n_msgs) {
    if (cJSON_GetObjectItem(ctx, "tools")) return false;
    const cJSON *msgs = cJSON_GetObjectItem(ctx, "messages");
    bool has_system = false;
    int n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"));
        if (!role || cJSON_GetObjectItem(m, "tool_calls")) return false;
        if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant")) return false;
        if (!cJSON_IsString(cJSON_GetObjectItem(m, "content"))) return false;
        has_system |= strcmp(role, "system") == 0;
        n++;
    }
    if (f->needs_system && !has_system) return false;
    if (f->no_system && has_system) return false;
    *n_msgs = n;
    return true;
}

TEST(formats_match_reference_templates) {
    for (size_t fi = 0; fi < sizeof FAMILIES / sizeof FAMILIES[0]; fi++) {
        const family *f = &FAMILIES[fi];
        char path[1024];
        snprintf(path, sizeof path, "%s/templates/%s", HEARTH_TEST_DATA, f->file);
        char *text = harness_read(path, NULL);
        CHECK_MSG(text != NULL, "cannot read %s", path);
        if (!text) continue;
        cJSON *doc = cJSON_Parse(text);
        free(text);
        CHECK(doc != NULL);
        hearth_chat_format fmt;
        CHECK_EQ_INT(hearth_chat_format_from_name(f->format, &fmt), HEARTH_OK);
        int n_compared = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
            const char *expected = cJSON_GetStringValue(cJSON_GetObjectItem(c, "expected"));
            const cJSON *ctx = cJSON_GetObjectItem(c, "context");
            int n = 0;
            if (!expected || !plain_case(ctx, f, &n)) continue;
            const char *bos = cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "bos_token"));
            const char *eos = cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "eos_token"));
            snprintf(fmt.bos, sizeof fmt.bos, "%s", bos ? bos : "");
            snprintf(fmt.eos, sizeof fmt.eos, "%s", eos ? eos : "");
            hearth_chat_message msgs[16];
            int i = 0;
            const cJSON *m;
            cJSON_ArrayForEach(m, cJSON_GetObjectItem(ctx, "messages")) {
                if (i >= 16) break;
                msgs[i].role = cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"));
                msgs[i].content = cJSON_GetStringValue(cJSON_GetObjectItem(m, "content"));
                i++;
            }
            bool agp = cJSON_IsTrue(cJSON_GetObjectItem(ctx, "add_generation_prompt"));
            char *out = NULL;
            CHECK_EQ_INT(hearth_chat_format_apply(&fmt, msgs, (size_t)n, agp, &out), HEARTH_OK);
            CHECK_MSG(out && strcmp(out, expected) == 0, "%s (%s):\n  got:      %s\n  expected: %s", f->file,
                      f->format, out ? out : "(null)", expected);
            free(out);
            n_compared++;
        }
        CHECK_MSG(n_compared >= 2, "%s: only %d cases compared", f->file, n_compared);
        cJSON_Delete(doc);
    }
}

/* ---- families without a reference file ---------------------------------- */

static char *render(const char *name, const hearth_chat_message *m, size_t n, bool agp) {
    hearth_chat_format fmt;
    if (hearth_chat_format_from_name(name, &fmt) != HEARTH_OK) return NULL;
    char *out = NULL;
    if (hearth_chat_format_apply(&fmt, m, n, agp, &out) != HEARTH_OK) return NULL;
    return out;
}

static const hearth_chat_message CONV[] = {
    {"system", "Be brief."},
    {"user", "2+2?"},
    {"assistant", "4"},
    {"user", "And 3+3?"},
};

TEST(alpaca_matches_finetuning_format) {
    hearth_chat_message one[] = {{"user", "Name a colour."}};
    char *s = render("alpaca", one, 1, true);
    CHECK_STR(s, "Below is an instruction that describes a task. Write a response that appropriately "
                 "completes the request.\n\n### Instruction:\nName a colour.\n\n### Response:\n");
    free(s);
    s = render("alpaca", CONV, 4, true);
    CHECK_STR(s, "Be brief.\n\n### Instruction:\n2+2?\n\n### Response:\n4\n\n### Instruction:\nAnd 3+3?\n\n"
                 "### Response:\n");
    free(s);
}

TEST(llama2_zephyr_mistral_v1_chatml) {
    /* Llama 2 chat template: bos + '[INST] ' + content.strip() + ' [/INST]', system in <<SYS>> */
    char *s = render("llama2", CONV, 4, true);
    CHECK_STR(s, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n2+2? [/INST] 4 </s><s>[INST] And 3+3? [/INST]");
    free(s);
    s = render("zephyr", CONV, 4, true);
    CHECK_STR(s, "<|system|>\nBe brief.</s>\n<|user|>\n2+2?</s>\n<|assistant|>\n4</s>\n<|user|>\nAnd 3+3?</s>\n"
                 "<|assistant|>\n");
    free(s);
    s = render("mistral-v1", CONV + 1, 3, true);
    CHECK_STR(s, "<s>[INST] 2+2? [/INST]4</s>[INST] And 3+3? [/INST]");
    free(s);
    s = render("chatml", CONV + 1, 2, false);
    CHECK_STR(s, "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n");
    free(s);
    s = render("llama3", CONV + 1, 1, true);
    CHECK_STR(s, "<s><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    free(s);
    /* gemma takes no system role: it goes before the first user turn */
    s = render("gemma", CONV, 2, true);
    CHECK_STR(s, "<s><start_of_turn>user\nBe brief.\n\n2+2?<end_of_turn>\n<start_of_turn>model\n");
    free(s);
}

TEST(bad_input_is_an_error) {
    hearth_chat_format fmt;
    CHECK_EQ_INT(hearth_chat_format_from_name("no-such-format", &fmt), HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "no-such-format") && strstr(hearth_last_error(), "chatml"));
    CHECK_EQ_INT(hearth_chat_format_from_name("chatml", &fmt), HEARTH_OK);
    hearth_chat_message bad[] = {{"robot", "hi"}};
    char *out = (char *)1;
    CHECK_EQ_INT(hearth_chat_format_apply(&fmt, bad, 1, true, &out), HEARTH_ERR_INVALID_ARG);
    CHECK(out == NULL);
    CHECK(strstr(hearth_last_error(), "robot") != NULL);
    for (int k = 0; k < HEARTH_CHAT_N_KINDS; k++) {
        hearth_chat_format f2;
        CHECK_EQ_INT(hearth_chat_format_from_name(hearth_chat_format_name((hearth_chat_format_kind)k), &f2),
                     HEARTH_OK);
        CHECK_EQ_INT(f2.kind, k);
    }
    CHECK(hearth_chat_format_stops(&fmt)[0] == NULL);
    hearth_chat_format alp;
    hearth_chat_format_from_name("alpaca", &alp);
    CHECK_STR(hearth_chat_format_stops(&alp)[0], "### Instruction:");
}

int main(void) {
    RUN(formats_match_reference_templates);
    RUN(alpaca_matches_finetuning_format);
    RUN(llama2_zephyr_mistral_v1_chatml);
    RUN(bad_input_is_an_error);
    return harness_done();
}
