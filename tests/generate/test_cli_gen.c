/*
 * test_cli_gen.c — `hearth run` and `hearth chat` as a user runs them:
 * --json shape, greedy output equal to the reference engine's, seeded
 * determinism, streaming, stop strings, error cases, and a piped chat.
 */
#include "harness.h"

#include "hearth/gguf.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

static char cmd[4096];

static int run(char **out, const char *fmt, const char *args) {
    snprintf(cmd, sizeof cmd, fmt, HEARTH_BIN, args);
    return harness_run(cmd, out);
}

static cJSON *run_json(const char *args, int *rc) {
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s --json %s", HEARTH_BIN, MODEL, args);
    *rc = harness_run(cmd, &out);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    if (!j) fprintf(stderr, "not JSON from `%s`:\n%s\n", cmd, out ? out : "(null)");
    free(out);
    return j;
}

static int ids_len(const cJSON *j, const char *key) { return cJSON_GetArraySize(cJSON_GetObjectItem(j, key)); }
static int id_at(const cJSON *j, const char *key, int i) {
    return cJSON_GetArrayItem(cJSON_GetObjectItem(j, key), i)->valueint;
}

TEST(json_shape_and_reference_greedy) {
    char *text = harness_read(HEARTH_TEST_DATA "/reference/reference.json", NULL);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *ref = cJSON_Parse(text);
    free(text);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "licenses-llama-f16.gguf"),
                                                             "greedy"), 0);
    const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(c, "prompt"));
    const cJSON *gaps = cJSON_GetObjectItem(c, "gaps");
    int n = ids_len(c, "ids");
    char args[512];
    snprintf(args, sizeof args, "-p '%s' -n %d --temp 0 --ignore-eos", prompt, n);
    int rc;
    cJSON *j = run_json(args, &rc);
    CHECK_EQ_INT(rc, 0);
    CHECK(j != NULL);
    if (j) {
        CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "prompt_ids")));
        CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "ids")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "text")));
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stop_reason")), "length");
        /* prompt ids include the BOS the vocab asks for, as the reference's do */
        CHECK_EQ_INT(ids_len(j, "prompt_ids"), ids_len(c, "prompt_ids"));
        for (int i = 0; i < ids_len(c, "prompt_ids") && i < ids_len(j, "prompt_ids"); i++)
            CHECK_EQ_INT(id_at(j, "prompt_ids", i), id_at(c, "prompt_ids", i));
        CHECK_EQ_INT(ids_len(j, "ids"), n);
        for (int i = 0; i < n && i < ids_len(j, "ids"); i++) {
            if (cJSON_GetArrayItem(gaps, i)->valuedouble < 0.05) break;   /* near-tie: either may win */
            CHECK_MSG(id_at(j, "ids", i) == id_at(c, "ids", i), "step %d: %d vs reference %d", i, id_at(j, "ids", i),
                      id_at(c, "ids", i));
        }
        /* text is only the generated text, not the prompt */
        CHECK(strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "text")), prompt, strlen(prompt)) != 0);
    }
    cJSON_Delete(j);
    cJSON_Delete(ref);
}

TEST(seeded_runs_are_deterministic_and_stream_the_same_text) {
    int rc1, rc2;
    cJSON *a = run_json("-p 'This License' -n 20 --temp 1.3 --seed 77", &rc1);
    cJSON *b = run_json("-p 'This License' -n 20 --temp 1.3 --seed 77", &rc2);
    CHECK_EQ_INT(rc1, 0);
    CHECK_EQ_INT(rc2, 0);
    if (!a || !b) goto done;
    CHECK_EQ_INT(ids_len(a, "ids"), ids_len(b, "ids"));
    for (int i = 0; i < ids_len(a, "ids") && i < ids_len(b, "ids"); i++)
        CHECK_EQ_INT(id_at(a, "ids", i), id_at(b, "ids", i));
    /* without --json the same run streams the same text (plus a final newline) */
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -p 'This License' -n 20 --temp 1.3 --seed 77", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(a, "text"));
    size_t tl = strlen(t);
    CHECK(out && strncmp(out, t, tl) == 0);
    CHECK(out && (strlen(out) == tl || (strlen(out) == tl + 1 && out[tl] == '\n')));
    free(out);
done:
    cJSON_Delete(a);
    cJSON_Delete(b);
}

TEST(stop_strings_cut_output) {
    int rc;
    cJSON *full = run_json("-p 'GNU GENERAL PUBLIC LICENSE' -n 30 --temp 0", &rc);
    CHECK(full != NULL);
    if (!full) return;
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(full, "text"));
    CHECK(strstr(t, "Version") != NULL);
    cJSON *cut = run_json("-p 'GNU GENERAL PUBLIC LICENSE' -n 30 --temp 0 --stop zzzz --stop Version", &rc);
    CHECK_EQ_INT(rc, 0);
    if (cut) {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(cut, "text"));
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cut, "stop_reason")), "stop");
        CHECK_EQ_INT(strlen(c), (size_t)(strstr(t, "Version") - t));
        CHECK(strncmp(c, t, strlen(c)) == 0);
    }
    cJSON_Delete(cut);
    cJSON_Delete(full);
}

static int run_err(const char *args, char **err) {
    snprintf(cmd, sizeof cmd, "%s run %s 2>&1 >/dev/null", HEARTH_BIN, args);
    return harness_run(cmd, err);
}

TEST(errors_are_clear) {
    char *err = NULL;
    int rc = run_err("-m /nonexistent/model.gguf -p hi", &err);
    CHECK(rc != 0);
    CHECK_MSG(err && strstr(err, "model.gguf"), "stderr: %s", err ? err : "");
    free(err);
    rc = run_err("-m " HEARTH_TEST_DATA "/reference/gpl3.txt -p hi", &err);   /* not a GGUF file */
    CHECK(rc != 0);
    CHECK_MSG(err && strstr(err, "error"), "stderr: %s", err ? err : "");
    free(err);
    rc = run_err("-m " MODEL " -c 8 -p 'This License applies to any program or other work which contains a notice'",
                 &err);
    CHECK(rc != 0);
    CHECK_MSG(err && strstr(err, "prompt is") && strstr(err, "context is 8"), "stderr: %s", err ? err : "");
    free(err);
    rc = run_err("-m " MODEL " -p hi --no-such-option", &err);
    CHECK_EQ_INT(rc, 2);
    CHECK(err && strstr(err, "--no-such-option"));
    free(err);
    rc = run_err("-m " MODEL " -p hi --temp warm", &err);
    CHECK_EQ_INT(rc, 2);
    CHECK(err && strstr(err, "warm"));
    free(err);
    rc = run_err("-m " MODEL " -p hi -n 1x", &err);
    CHECK_EQ_INT(rc, 2);
    free(err);
    rc = run_err("-m " MODEL " -p hi --top-p 0", &err);
    CHECK_EQ_INT(rc, 2);
    CHECK(err && strstr(err, "top_p"));
    free(err);
    rc = run_err("-m " MODEL, &err);   /* no prompt */
    CHECK_EQ_INT(rc, 2);
    CHECK(err && strstr(err, "prompt"));
    free(err);
    char *out = NULL;
    CHECK_EQ_INT(run(&out, "%s run %s", "--help"), 0);
    CHECK(out && strstr(out, "--temp") && strstr(out, "--json"));
    free(out);
}

TEST(prompt_from_file) {
    char *a = NULL, *b = NULL;
    snprintf(cmd, sizeof cmd, "printf 'This License' | %s run -m %s -f - -n 8 --temp 0", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &a), 0);
    snprintf(cmd, sizeof cmd, "%s run -m %s -p 'This License' -n 8 --temp 0", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &b), 0);
    CHECK(a && b && strlen(a) > 1);
    CHECK_STR(a, b);
    free(a);
    free(b);
}

/* Splits chat output (stdout and --verbose stderr merged) into replies: each
 * reply is followed by a "[prompt ...]" statistics line. Returns the count. */
static int split_replies(char *out, char **replies, int max) {
    int n = 0;
    char *start = out;
    for (char *p = out; p && *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) break;
        if (strncmp(p, "[prompt ", 8) == 0) {
            if (n < max) {
                *p = 0;
                replies[n] = start;
            }
            n++;
            start = nl + 1;
        }
        p = nl + 1;
    }
    return n;
}

TEST(chat_two_turns) {
    char *out = NULL, *r[8];
    snprintf(cmd, sizeof cmd,
             "printf 'What does this License cover?\\nAnd what about patents?\\n' | %s chat -m %s -n 8 --temp 0 -v "
             "2>&1", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    /* no "> " prompt when stdin is not a terminal */
    CHECK(out && strstr(out, "> ") == NULL);
    CHECK(out && strstr(out, "chat format alpaca"));
    int n = split_replies(out, r, 8);
    CHECK_MSG(n == 2, "output: [%s]", out ? out : "");
    for (int i = 0; i < n && i < 2; i++) CHECK_MSG(strlen(r[i]) > 1, "reply %d is empty", i);
    free(out);

    /* /reset forgets the conversation: the same question then gets the same greedy reply */
    snprintf(cmd, sizeof cmd,
             "printf 'Define Program.\\n/reset\\nDefine Program.\\n/exit\\nnot read\\n' | %s chat -m %s -n 8 "
             "--temp 0 --system 'Answer from the GPL.' -v 2>&1", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    n = split_replies(out, r, 8);
    CHECK_MSG(n == 2, "output: [%s]", out ? out : "");
    if (n == 2) {
        char *second = strstr(r[1], "(conversation cleared)\n");
        CHECK(second != NULL);
        if (second) CHECK_STR(second + strlen("(conversation cleared)\n"), strchr(r[0], '\n') + 1);
    }
    free(out);

    /* an explicit format, and an unknown one */
    snprintf(cmd, sizeof cmd, "printf 'hi\\n' | %s chat -m %s -n 4 --chat-format chatml", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "printf 'hi\\n' | %s chat -m %s --chat-format nope 2>&1", HEARTH_BIN, MODEL);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK(out && strstr(out, "nope"));
    free(out);
}

TEST(chat_context_overflow_drops_old_turns) {
    char *out = NULL;
    /* a 96-token context and 16-token replies: after a few turns old ones must go */
    snprintf(cmd, sizeof cmd,
             "printf 'Tell me about the GNU General Public License.\\nAnd the Apache License?\\n"
             "What about the Mozilla Public License?\\nWhich one is shortest?\\n' | "
             "%s chat -m %s -c 96 -n 16 --temp 0 2>&1", HEARTH_BIN, MODEL);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK_MSG(out && strstr(out, "dropped"), "output: [%s]", out ? out : "");
    free(out);
}

/* a copy of the licences model with tokenizer.chat_template set */
static bool write_with_template(const char *path, const char *tmpl) {
    hearth_gguf *g = NULL;
    if (hearth_gguf_open(MODEL, &g) != HEARTH_OK) return false;
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    bool ok = w != NULL;
    for (int64_t i = 0; ok && i < hearth_gguf_n_kv(g); i++) ok = hearth_gguf_copy_kv(w, g, i) == HEARTH_OK;
    ok = ok && hearth_gguf_set_str(w, "tokenizer.chat_template", tmpl) == HEARTH_OK;
    for (int64_t i = 0; ok && i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        ok = hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data) == HEARTH_OK;
    }
    ok = ok && hearth_gguf_writer_write(w, path) == HEARTH_OK;
    if (!ok) fprintf(stderr, "writing %s: %s\n", path, hearth_last_error());
    hearth_gguf_writer_free(w);
    hearth_gguf_close(g);
    return ok;
}

TEST(chat_uses_the_models_template) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/hearth-test-chat-%d.gguf", (int)getpid());
    /* renders like chatml; refuses a third message, to show the template really runs */
    const char *tmpl = "{% if messages|length > 2 %}{{ raise_exception('only one turn, says the template') }}{% endif %}"
                       "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                       "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    CHECK(write_with_template(path, tmpl));
    char *out = NULL, *r[8];
    snprintf(cmd, sizeof cmd, "printf 'first\\nsecond\\n' | %s chat -m %s -n 6 --temp 0 -v 2>&1", HEARTH_BIN, path);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK_MSG(out && strstr(out, "the model's template, else chatml"), "output: [%s]", out ? out : "");
    /* turn 2 has three messages: the template raises, chat falls back to built-in chatml and goes on */
    CHECK_MSG(out && strstr(out, "only one turn, says the template") && strstr(out, "built-in chatml"), "output: [%s]",
              out ? out : "");
    CHECK_EQ_INT(split_replies(out, r, 8), 2);
    free(out);
    unlink(path);
}

int main(void) {
    RUN(json_shape_and_reference_greedy);
    RUN(seeded_runs_are_deterministic_and_stream_the_same_text);
    RUN(stop_strings_cut_output);
    RUN(errors_are_clear);
    RUN(prompt_from_file);
    RUN(chat_two_turns);
    RUN(chat_context_overflow_drops_old_turns);
    RUN(chat_uses_the_models_template);
    return harness_done();
}
