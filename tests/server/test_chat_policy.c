/*
 * test_chat_policy.c — one chat policy (include/hearth/chat.h) for `hearth
 * chat`, `hearth serve` and training: the library's rendering rules (the
 * model's template, the built-in fallback, a template's refusal, stop
 * strings), and the same conversation through `hearth chat` and the server
 * giving the same greedy reply — for a model with a Jinja chat template (a
 * copy of tests/data/models/licenses-llama-f16.gguf with a Mistral-style
 * template added) and for one without (the built-in alpaca format).
 */
#include "harness.h"
#include "http_client.h"
#include "hearth/chat.h"
#include "hearth/gguf.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

/* Mistral v0.1's shape: [INST] turns, no system role */
static const char *const TEMPLATE =
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";

static char templated[256];

/* MODEL with tokenizer.chat_template set */
static bool make_templated_model(void) {
    snprintf(templated, sizeof templated, "/tmp/hearth-chat-policy-%d.gguf", (int)getpid());
    hearth_gguf *g = NULL;
    if (hearth_gguf_open(MODEL, &g) != HEARTH_OK) return false;
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    bool ok = w != NULL;
    for (int64_t i = 0; ok && i < hearth_gguf_n_kv(g); i++) ok = hearth_gguf_copy_kv(w, g, i) == HEARTH_OK;
    ok = ok && hearth_gguf_set_str(w, "tokenizer.chat_template", TEMPLATE) == HEARTH_OK;
    for (int64_t i = 0; ok && i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        ok = hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data) == HEARTH_OK;
    }
    ok = ok && hearth_gguf_writer_write(w, templated) == HEARTH_OK;
    if (!ok) fprintf(stderr, "writing %s: %s\n", templated, hearth_last_error());
    hearth_gguf_writer_free(w);
    hearth_gguf_close(g);
    return ok;
}

/* ==== the library's rules ================================================== */
TEST(policy_rules) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(templated, NULL, &m) == HEARTH_OK);
    if (!m) return;
    hearth_chat_policy *p = NULL;
    CHECK(hearth_chat_policy_create(m, NULL, &p) == HEARTH_OK);
    CHECK(hearth_chat_policy_has_template(p));
    CHECK_EQ_INT(hearth_chat_policy_format(p)->kind, HEARTH_CHAT_MISTRAL_V1);   /* detected from the template */
    hearth_chat_message conv[] = {{"user", "Licensor grants"}, {"assistant", "You a licence."}, {"user", "Why?"}};
    char *text = NULL;
    bool used = false;
    CHECK(hearth_chat_policy_render(p, conv, 3, true, &text, &used) == HEARTH_OK);
    CHECK(used);
    CHECK_STR(text, "<s>[INST] Licensor grants [/INST]You a licence.</s>[INST] Why? [/INST]");
    free(text);
    /* the stop strings are the detected format's, template or not */
    const char *const *stops = hearth_chat_policy_stops(p);
    CHECK(stops[0] && !strcmp(stops[0], "[INST]") && !stops[1]);
    /* the template refuses a system message: an error with its message, no fallback */
    hearth_chat_message sys[] = {{"system", "Be brief."}, {"user", "Hi"}};
    CHECK_EQ_INT(hearth_chat_policy_render(p, sys, 2, true, &text, &used), HEARTH_ERR_INVALID_ARG);
    CHECK_MSG(strstr(hearth_last_error(), "System role not supported"), "%s", hearth_last_error());
    CHECK(text == NULL);
    hearth_chat_policy_free(p);

    /* a named built-in format replaces the template */
    hearth_chat_params cp = hearth_chat_default_params();
    cp.format = "chatml";
    CHECK(hearth_chat_policy_create(m, &cp, &p) == HEARTH_OK);
    CHECK(!hearth_chat_policy_has_template(p));
    CHECK(hearth_chat_policy_render(p, sys, 2, true, &text, &used) == HEARTH_OK);
    CHECK(!used);
    CHECK_STR(text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    free(text);
    hearth_chat_policy_free(p);
    cp.format = "no-such-format";
    CHECK_EQ_INT(hearth_chat_policy_create(m, &cp, &p), HEARTH_ERR_NOT_FOUND);
    /* interactive chat's choice: a refusal falls back too */
    cp = hearth_chat_default_params();
    cp.fallback_on_refusal = true;
    CHECK(hearth_chat_policy_create(m, &cp, &p) == HEARTH_OK);
    CHECK(hearth_chat_policy_render(p, sys, 2, true, &text, &used) == HEARTH_OK);
    CHECK(!used);
    CHECK_STR(text, "<s>[INST] Be brief.\n\nHi [/INST]");   /* mistral-v1: system joins the first user turn */
    free(text);
    hearth_chat_policy_free(p);
    hearth_model_free(m);

    /* a template that fails while rendering (not a refusal) falls back to the built-in format */
    CHECK(hearth_chat_policy_create_from("[INST] {{ messages[0].content / 2 }}", NULL, NULL, &p) == HEARTH_OK);
    CHECK(hearth_chat_policy_has_template(p));
    CHECK(hearth_chat_policy_render(p, conv, 1, true, &text, &used) == HEARTH_OK);
    CHECK(!used);
    CHECK_STR(text, "<s>[INST] Licensor grants [/INST]");   /* mistral-v1, built in */
    free(text);
    hearth_chat_policy_free(p);
    /* no template at all: alpaca, with its stop strings */
    CHECK(hearth_chat_policy_create_from(NULL, NULL, NULL, &p) == HEARTH_OK);
    CHECK(!hearth_chat_policy_has_template(p));
    CHECK_EQ_INT(hearth_chat_policy_format(p)->kind, HEARTH_CHAT_ALPACA);
    CHECK_STR(hearth_chat_policy_stops(p)[0], "### Instruction:");
    hearth_chat_policy_free(p);
}

/* ==== `hearth chat` and the server agree ===================================== */
/* the reply of `hearth chat` (greedy, 16 tokens) to one user line */
static char *chat_reply(const char *model, const char *user) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '%s' | %s chat -m %s --temp 0 -n 16 -t 2 -c 256 2>/dev/null", user,
             HEARTH_BIN, model);
    if (harness_run(cmd, &out) != 0) {
        free(out);
        return NULL;
    }
    size_t n = out ? strlen(out) : 0;
    if (n && out[n - 1] == '\n') out[n - 1] = 0;   /* chat ends each reply with a newline */
    return out;
}

static void same_reply(const char *model, const char *user) {
    const char *args[] = {"--model", model, "-t", "2", "--parallel", "1", NULL};
    pid_t pid;
    int port = start_server(HEARTH_BIN, args, &pid);
    CHECK(port > 0);
    if (port <= 0) return;
    char body[512];
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":16,\"temperature\":0}", user);
    int st;
    cJSON *j = http_post_json(port, "/v1/chat/completions", body, &st);
    CHECK_EQ_INT(st, 200);
    const char *served = json_path_str(j, "choices.0.message.content");
    char *chatted = chat_reply(model, user);
    CHECK_MSG(served && chatted && !strcmp(served, chatted), "%s\n  serve: [%s]\n  chat:  [%s]", model,
              served ? served : "(none)", chatted ? chatted : "(none)");
    free(chatted);
    cJSON_Delete(j);
    /* the template's refusal reaches the client as a 400 naming it */
    if (model == templated) {
        j = http_post_json(port, "/v1/chat/completions",
                           "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"},{\"role\":\"user\",\"content\":\"y\"}]}",
                           &st);
        CHECK_EQ_INT(st, 400);
        const char *msg = json_path_str(j, "error.message");
        CHECK_MSG(msg && strstr(msg, "System role not supported"), "%s", msg ? msg : "(none)");
        cJSON_Delete(j);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

TEST(chat_and_serve_agree_with_a_template) { same_reply(templated, "Licensor grants You"); }

TEST(chat_and_serve_agree_without_a_template) { same_reply(MODEL, "Licensor grants You"); }

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (!make_templated_model()) return 1;
    RUN(policy_rules);
    RUN(chat_and_serve_agree_with_a_template);
    RUN(chat_and_serve_agree_without_a_template);
    unlink(templated);
    return harness_done();
}
