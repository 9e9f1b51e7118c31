/*
 * test_qc_caption.c — captions of defects written by a vision-language
 * model (hearth_qc_captioner): the caption is what the model answers about
 * that image — the same text `hearth run --mmproj --image` gives for the
 * same picture and the same chat-rendered prompt at temperature 0 — on one
 * line, the same every time; an mmproj made for another model and missing
 * files are clear errors; `hearth qc watch --vlm` uses it for defects only
 * and keeps template captions for good parts.
 */
#include "harness.h"
#include "hearth/chat.h"
#include "hearth/model.h"
#include "hearth/qc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LM HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define MMPROJ HEARTH_TEST_DATA "/vision/tiny-mmproj-224-p14-f16.gguf"
#define BAD HEARTH_TEST_DATA "/qc/metal/test/bad/0005.png"
#define GOOD HEARTH_TEST_DATA "/qc/metal/test/good/0004.png"

static char tmpdir[64];

static hearth_qc_result a_defect(void) {
    hearth_qc_result r = {0};
    r.score = 7.5, r.anomalous = true;
    r.region[0] = 40, r.region[1] = 8, r.region[2] = 16, r.region[3] = 12;
    return r;
}

TEST(caption_is_the_models_answer) {
    hearth_qc_captioner_params p = hearth_qc_captioner_default_params();
    p.max_tokens = 12;
    p.n_threads = 2;
    hearth_qc_captioner *c = NULL;
    CHECK_EQ_INT(hearth_qc_captioner_load(LM, MMPROJ, &p, &c), HEARTH_OK);
    if (!c) return;
    hearth_image img = {0};
    CHECK_EQ_INT(hearth_image_load(BAD, 1, &img), HEARTH_OK);
    hearth_qc_result r = a_defect();
    char *cap = NULL, *again = NULL;
    CHECK_EQ_INT(hearth_qc_captioner_caption(c, &img, &r, 2.5, &cap), HEARTH_OK);
    CHECK_EQ_INT(hearth_qc_captioner_caption(c, &img, &r, 2.5, &again), HEARTH_OK);
    CHECK(cap && again && !strcmp(cap, again));   /* greedy: the same caption every time */
    CHECK(cap && *cap && !strchr(cap, '\n'));

    /* the same prompt through the chat policy, then `hearth run` on the same image */
    char *user = hearth_qc_captioner_prompt(c, &r, 2.5, img.w, img.h), *rendered = NULL;
    CHECK(user && strstr(user, "<image>") && strstr(user, "7.50") && strstr(user, "16x12") &&
          strstr(user, "Describe the defect"));
    hearth_model *m = NULL;
    hearth_chat_policy *pol = NULL;
    CHECK_EQ_INT(hearth_model_load(LM, NULL, &m), HEARTH_OK);
    CHECK_EQ_INT(hearth_chat_policy_create(m, NULL, &pol), HEARTH_OK);
    hearth_chat_message msg = {.role = "user", .content = user};
    CHECK_EQ_INT(hearth_chat_policy_render(pol, &msg, 1, true, &rendered, NULL), HEARTH_OK);
    char pf[128], cmd[1024], *out = NULL;
    snprintf(pf, sizeof pf, "%s/prompt.txt", tmpdir);
    FILE *f = fopen(pf, "w");
    if (f && rendered) fputs(rendered, f);
    if (f) fclose(f);
    snprintf(cmd, sizeof cmd, "%s run -m %s --mmproj %s --image %s -f %s --temp 0 -n 12 -t 2 --json 2>&1",
             HEARTH_BIN, LM, MMPROJ, BAD, pf);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    const char *js = out ? strstr(out, "{\"prompt_ids\"") : NULL;
    cJSON *j = js ? cJSON_Parse(js) : NULL;
    const cJSON *text = cJSON_GetObjectItem(j, "text");
    CHECK(cJSON_IsString(text));
    if (cJSON_IsString(text) && cap) {
        /* the caption is the answer on one line, without the spaces around it */
        char *t = text->valuestring;
        while (*t == ' ' || *t == '\n') t++;
        size_t n = strlen(t);
        while (n && strchr(" \n\r\t", t[n - 1])) n--;
        for (size_t i = 0; i < n; i++)
            if (t[i] == '\n' || t[i] == '\r') t[i] = ' ';
        CHECK_MSG(strlen(cap) == n && !strncmp(cap, t, n), "caption \"%s\" vs hearth run \"%.*s\"", cap, (int)n, t);
    }
    cJSON_Delete(j);
    free(out);
    free(rendered);
    free(user);
    hearth_chat_policy_free(pol);
    hearth_model_free(m);
    free(cap);
    free(again);
    hearth_image_free(&img);
    hearth_qc_captioner_free(c);
}

TEST(errors) {
    hearth_qc_captioner *c = NULL;
    /* an mmproj for another model: its n_embd is not this model's */
    CHECK(hearth_qc_captioner_load(HEARTH_TEST_DATA "/models/licenses-llama-Q8_0.gguf", MMPROJ, NULL, &c) != HEARTH_OK);
    CHECK(c == NULL);
    CHECK(strstr(hearth_last_error(), "n_embd") || strstr(hearth_last_error(), "mmproj"));
    CHECK(hearth_qc_captioner_load(LM, "/nonexistent/mmproj.gguf", NULL, &c) != HEARTH_OK);
    CHECK(strstr(hearth_last_error(), "/nonexistent/mmproj.gguf"));
    hearth_qc_captioner_free(NULL);
    /* the command: --vlm needs --mmproj */
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "echo %s | %s qc watch -m x.gguf --stdin --vlm %s 2>&1", BAD, HEARTH_BIN, LM);
    CHECK_EQ_INT(harness_run(cmd, &out), 2);
    CHECK(out && strstr(out, "--mmproj"));
    free(out);
}

/* the line: a defect's caption comes from the model, a good part keeps the template's */
TEST(watch_with_vlm) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s qc fit --good %s/train/good --val %s/val -o %s/qc.gguf -q > /dev/null 2>&1",
             HEARTH_BIN, HEARTH_TEST_DATA "/qc/metal", HEARTH_TEST_DATA "/qc/metal", tmpdir);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "printf '%%s\\n%%s\\n' %s %s | %s qc watch -m %s/qc.gguf --stdin --vlm %s --mmproj %s "
             "--caption-tokens 8 -t 2 2>/dev/null",
             BAD, GOOD, HEARTH_BIN, tmpdir, LM, MMPROJ);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    char *nl = out ? strchr(out, '\n') : NULL;
    cJSON *bad = out ? cJSON_Parse(out) : NULL, *good = nl ? cJSON_Parse(nl + 1) : NULL;
    const cJSON *bc = cJSON_GetObjectItem(bad, "caption"), *gc = cJSON_GetObjectItem(good, "caption");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(bad, "anomalous")) && cJSON_IsFalse(cJSON_GetObjectItem(good, "anomalous")));
    CHECK(cJSON_IsString(bc) && cJSON_IsString(gc));
    if (cJSON_IsString(bc) && cJSON_IsString(gc)) {
        CHECK_MSG(!strstr(bc->valuestring, "defect in the") && !strstr(bc->valuestring, "0005.png"),
                  "the defect's caption is the template's: %s", bc->valuestring);
        CHECK_MSG(strstr(gc->valuestring, "looks good") != NULL, "good part: %s", gc->valuestring);
    }
    cJSON_Delete(bad);
    cJSON_Delete(good);
    free(out);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth_qccap_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(caption_is_the_models_answer);
    RUN(errors);
    RUN(watch_with_vlm);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    harness_run(cmd, NULL);
    return harness_done();
}
