/*
 * test_prompt_library.c — the prompt library (include/hearth/prompt_library.h):
 * versions are immutable, labels move and keep their history, `production`
 * is protected, rendering with typed variables and the building blocks, the
 * chat-completion rewrite, bad specs and bad variables with errors naming
 * the field, and few-shot selection by embedding similarity (nearest and MMR).
 */
#include "harness.h"

#include "hearth/prompt_library.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_db[256];

static hearth_prompt_lib *fresh(void) {
    snprintf(g_db, sizeof g_db, "/tmp/hearth_test_prompts_%d.db", (int)getpid());
    unlink(g_db);
    char w[300];
    snprintf(w, sizeof w, "%s-wal", g_db);
    unlink(w);
    snprintf(w, sizeof w, "%s-shm", g_db);
    unlink(w);
    hearth_prompt_lib *lib = NULL;
    CHECK(hearth_prompt_lib_open(g_db, &lib) == HEARTH_OK);
    return lib;
}

static const char *SUPPORT_V1 =
    "system: \"You help customers of {{ product }}.\"\n"
    "template: \"Question: {{ question }}\"\n"
    "variables:\n"
    "  product: {type: string, default: Hearth}\n"
    "  question: string\n"
    "  n: {type: integer, default: 2}\n"
    "steps: [\"Find the relevant feature\", \"Answer in {{ n }} sentences\"]\n"
    "model: hearth-default\n"
    "sampling: {temperature: 0.2, max_tokens: 64}\n";

static const char *SUPPORT_V2 =
    "{\"template\": \"Q: {{ question }}\", \"variables\": {\"question\": \"string\"},"
    " \"reasoning\": \"thinking\","
    " \"output_schema\": {\"type\": \"object\", \"properties\": {\"answer\": {\"type\": \"string\"}},"
    " \"required\": [\"answer\"]}}";

static cJSON *render(hearth_prompt_lib *lib, const char *ref, const char *vars, hearth_status *st) {
    char *out = NULL;
    *st = hearth_prompt_render_json(lib, ref, vars, vars ? strlen(vars) : 0, NULL, &out);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    return j;
}

static const char *msg(const cJSON *r, int i, const char *field) {
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "messages"), i);
    const cJSON *v = cJSON_GetObjectItem(m, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

TEST(versions_are_immutable_and_numbered) {
    hearth_prompt_lib *lib = fresh();
    int32_t v = 0;
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V1, strlen(SUPPORT_V1), "ana", &v) == HEARTH_OK);
    CHECK_EQ_INT(v, 1);
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V2, strlen(SUPPORT_V2), "bo", &v) == HEARTH_OK);
    CHECK_EQ_INT(v, 2);
    char *out = NULL;
    CHECK(hearth_prompt_get_json(lib, "support@1", &out) == HEARTH_OK);
    cJSON *j = cJSON_Parse(out);
    CHECK_STR(cJSON_GetObjectItem(j, "author")->valuestring, "ana");
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "spec"), "model")->valuestring, "hearth-default");
    cJSON_Delete(j);
    free(out);
    CHECK(hearth_prompt_get_json(lib, "support", &out) == HEARTH_OK);   /* latest */
    j = cJSON_Parse(out);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "version")->valueint, 2);
    cJSON_Delete(j);
    free(out);
    hearth_prompt_lib_free(lib);

    /* even with the database in hand, a stored version cannot be changed or removed */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(g_db, &db) == SQLITE_OK);
    char *err = NULL;
    CHECK(sqlite3_exec(db, "UPDATE prompt_versions SET spec = '{}' WHERE version = 1", NULL, NULL, &err) != SQLITE_OK);
    CHECK(err && strstr(err, "immutable"));
    sqlite3_free(err);
    err = NULL;
    CHECK(sqlite3_exec(db, "DELETE FROM prompt_versions", NULL, NULL, &err) != SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
    CHECK(hearth_prompt_lib_open(g_db, &lib) == HEARTH_OK);
    CHECK(hearth_prompt_get_json(lib, "support@1", &out) == HEARTH_OK);
    CHECK(out && strstr(out, "hearth-default"));
    free(out);
    CHECK(hearth_prompt_get_json(lib, "support@3", &out) == HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "no version 3"));
    CHECK(hearth_prompt_get_json(lib, "nosuch", &out) == HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "no prompt named nosuch"));
    hearth_prompt_lib_free(lib);
}

typedef struct moves {
    int n;
    char last[128];
} moves;

static hearth_status on_label(const hearth_prompt_label_event *e, void *user) {
    moves *m = user;
    m->n++;
    snprintf(m->last, sizeof m->last, "%s %s %d->%d by %s", e->name, e->label, (int)e->from_version,
             (int)e->to_version, e->actor);
    return HEARTH_OK;
}

TEST(labels_move_with_history_and_production_is_protected) {
    hearth_prompt_lib *lib = fresh();
    moves mv = {0};
    hearth_prompt_lib_on_label(lib, on_label, &mv);
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V1, strlen(SUPPORT_V1), "ana", NULL) == HEARTH_OK);
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V2, strlen(SUPPORT_V2), "ana", NULL) == HEARTH_OK);
    CHECK(hearth_prompt_label(lib, "support", "staging", 1, "ana", false) == HEARTH_OK);
    CHECK_STR(mv.last, "support staging 0->1 by ana");
    CHECK(hearth_prompt_label(lib, "support", "staging", 2, "bo", false) == HEARTH_OK);
    CHECK_STR(mv.last, "support staging 1->2 by bo");
    /* production: refused without admin, nothing recorded */
    CHECK(hearth_prompt_label(lib, "support", "production", 1, "bo", false) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "protected"));
    CHECK_EQ_INT(mv.n, 2);
    CHECK(hearth_prompt_label(lib, "support", "production", 1, "admin", true) == HEARTH_OK);
    CHECK(hearth_prompt_label(lib, "support", "production", 7, "admin", true) == HEARTH_ERR_NOT_FOUND);
    CHECK(hearth_prompt_label(lib, "support", "42", 1, "admin", true) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_prompt_label(lib, "../etc", "x", 1, "admin", true) == HEARTH_ERR_INVALID_ARG);
    CHECK_EQ_INT(mv.n, 3);

    hearth_status st;
    cJSON *r = render(lib, "support@staging", "{\"question\": \"hi\"}", &st);
    CHECK(st == HEARTH_OK);
    CHECK_EQ_INT(cJSON_GetObjectItem(r, "version")->valueint, 2);
    cJSON_Delete(r);
    r = render(lib, "support@production", "{\"question\": \"hi\"}", &st);
    CHECK_EQ_INT(cJSON_GetObjectItem(r, "version")->valueint, 1);
    cJSON_Delete(r);
    r = render(lib, "support@canary", "{\"question\": \"hi\"}", &st);
    CHECK(!r && st == HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "no label canary"));

    char *out = NULL;
    CHECK(hearth_prompt_history_json(lib, "support", &out) == HEARTH_OK);
    cJSON *h = cJSON_Parse(out);
    free(out);
    CHECK_EQ_INT(cJSON_GetArraySize(h), 3);
    const cJSON *second = cJSON_GetArrayItem(h, 1);
    CHECK_STR(cJSON_GetObjectItem(second, "label")->valuestring, "staging");
    CHECK_EQ_INT(cJSON_GetObjectItem(second, "from")->valueint, 1);
    CHECK_EQ_INT(cJSON_GetObjectItem(second, "to")->valueint, 2);
    CHECK_STR(cJSON_GetObjectItem(second, "actor")->valuestring, "bo");
    cJSON_Delete(h);
    CHECK(hearth_prompt_list_json(lib, &out) == HEARTH_OK);
    cJSON *l = cJSON_Parse(out);
    free(out);
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetArrayItem(l, 0), "labels");
    CHECK_EQ_INT(cJSON_GetObjectItem(labels, "production")->valueint, 1);
    CHECK_EQ_INT(cJSON_GetObjectItem(labels, "staging")->valueint, 2);
    cJSON_Delete(l);
    hearth_prompt_lib_free(lib);
}

TEST(rendering_blocks_and_variables) {
    hearth_prompt_lib *lib = fresh();
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V1, strlen(SUPPORT_V1), "ana", NULL) == HEARTH_OK);
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V2, strlen(SUPPORT_V2), "ana", NULL) == HEARTH_OK);
    hearth_status st;
    cJSON *r = render(lib, "support@1", "{\"question\": \"How do I rotate a key?\", \"n\": 3}", &st);
    CHECK(st == HEARTH_OK);
    CHECK_STR(msg(r, 0, "role"), "system");
    CHECK_STR(msg(r, 0, "content"), "You help customers of Hearth.");
    CHECK_STR(msg(r, 1, "content"),
              "Question: How do I rotate a key?\n\nSteps:\n1. Find the relevant feature\n2. Answer in 3 sentences");
    CHECK_STR(cJSON_GetObjectItem(r, "model")->valuestring, "hearth-default");
    CHECK_NEAR(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "sampling"), "temperature")->valuedouble, 0.2, 1e-9);
    cJSON_Delete(r);

    /* reasoning and output-format blocks; response_format carries the schema */
    r = render(lib, "support@2", "{\"question\": \"x\"}", &st);
    CHECK(strstr(msg(r, 0, "content"), "<thinking>"));
    CHECK(strstr(msg(r, 0, "content"), "JSON Schema"));
    const cJSON *rf = cJSON_GetObjectItem(r, "response_format");
    CHECK_STR(cJSON_GetObjectItem(rf, "type")->valuestring, "json_schema");
    CHECK_STR(cJSON_GetObjectItem(r, "reasoning")->valuestring, "thinking");
    cJSON_Delete(r);

    /* bad variables: each error names the field */
    CHECK(!render(lib, "support@1", "{}", &st) && st == HEARTH_ERR_INVALID_ARG);
    CHECK_MSG(strstr(hearth_last_error(), "prompt.variables.question: missing"), "%s", hearth_last_error());
    CHECK(!render(lib, "support@1", "{\"question\": \"q\", \"n\": \"three\"}", &st) && st == HEARTH_ERR_INVALID_ARG);
    CHECK_MSG(strstr(hearth_last_error(), "prompt.variables.n: must be an integer"), "%s", hearth_last_error());
    CHECK(!render(lib, "support@1", "{\"question\": \"q\", \"n\": 2.5}", &st));
    CHECK(!render(lib, "support@1", "{\"question\": \"q\", \"extra\": 1}", &st) && st == HEARTH_ERR_INVALID_ARG);
    CHECK_MSG(strstr(hearth_last_error(), "prompt.variables.extra"), "%s", hearth_last_error());
    CHECK(!render(lib, "support@1", "[1,2", &st) && st == HEARTH_ERR_INVALID_ARG);
    /* from a command line: strings read as the declared type */
    hearth_prompt_render_params rp = hearth_prompt_render_default_params();
    rp.from_strings = true;
    const char *vars = "{\"question\": \"42\", \"n\": \"4\"}";
    char *out = NULL;
    CHECK(hearth_prompt_render_json(lib, "support@1", vars, strlen(vars), &rp, &out) == HEARTH_OK);
    CHECK(out && strstr(out, "Question: 42") && strstr(out, "Answer in 4 sentences"));
    free(out);
    vars = "{\"question\": \"q\", \"n\": \"four\"}";
    CHECK(hearth_prompt_render_json(lib, "support@1", vars, strlen(vars), &rp, &out) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "prompt.variables.n"));
    hearth_prompt_lib_free(lib);
}

TEST(bad_specs_are_refused_naming_the_field) {
    hearth_prompt_lib *lib = fresh();
    struct { const char *spec, *want; } cases[] = {
        {"template: \"line one\\n{% if x %}never closed\"\nvariables: {x: boolean}\n", "template: invalid Jinja: template syntax error at line 2"},
        {"system: \"{{ 1 + }}\"\ntemplate: hi\n", "system: invalid Jinja"},
        {"template: hi\nsteps: [\"ok\", \"{% for %}\"]\n", "steps[1]: invalid Jinja"},
        {"variables: {x: string}\n", "template: missing"},
        {"template: hi\nvariables: {x: text}\n", "variables.x: the type must be"},
        {"template: hi\nvariables: {x: {type: integer, default: nope}}\n", "variables.x.default"},
        {"template: hi\ntemperature: 3\n", "unknown field 'temperature'"},
        {"template: hi\nsampling: {temprature: 1}\n", "sampling.temprature"},
        {"template: hi\noutput_schema: {type: object, properties: {a: {pattern: \"(\"}}}\n", "output_schema:"},
        {"template: hi\nexamples: [{input: a}]\n", "examples[0]"},
        {"template: hi\nvariables: {q: string}\nexamples: [{input: a, output: b}]\nfew_shot: {k: 1, by: nope}\n",
         "few_shot.by"},
        {"template: hi\nreasoning: \"<x>\"\n", "reasoning:"},
        {"a: &x [1]\nb: *x\n", "anchors"},
        {"template: [unclosed\n", "spec: line"},
        {"{\"template\": ", "not valid JSON"},
        {"- just\n- a list\n", "must be a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(hearth_prompt_add(lib, "p", cases[i].spec, strlen(cases[i].spec), "t", NULL) == HEARTH_ERR_FORMAT);
        CHECK_MSG(strstr(hearth_last_error(), cases[i].want), "case %zu: %s", i, hearth_last_error());
    }
    char *out = NULL;
    CHECK(hearth_prompt_list_json(lib, &out) == HEARTH_OK);
    CHECK_STR(out, "[]");   /* nothing stored */
    free(out);
    CHECK(hearth_prompt_add(lib, "a/../b", "template: x", 11, "t", NULL) == HEARTH_ERR_INVALID_ARG);
    hearth_prompt_lib_free(lib);
}

TEST(chat_completion_rewrite) {
    hearth_prompt_lib *lib = fresh();
    CHECK(hearth_prompt_add(lib, "support", SUPPORT_V2, strlen(SUPPORT_V2), "ana", NULL) == HEARTH_OK);
    CHECK(hearth_prompt_label(lib, "support", "production", 1, "root", true) == HEARTH_OK);
    const char *body = "{\"prompt\": {\"name\": \"support\", \"label\": \"production\", \"variables\": {\"question\": "
                       "\"Why?\"}}, \"messages\": [{\"role\": \"assistant\", \"content\": \"earlier\"}],"
                       " \"temperature\": 0.5}";
    char *out = NULL;
    CHECK(hearth_prompt_expand_request(lib, body, strlen(body), NULL, &out) == HEARTH_OK);
    cJSON *j = cJSON_Parse(out);
    free(out);
    CHECK(!cJSON_GetObjectItem(j, "prompt"));
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 3);
    CHECK_STR(msg(j, 1, "content"), "Q: Why?");
    CHECK_STR(msg(j, 2, "content"), "earlier");
    CHECK(cJSON_GetObjectItem(j, "response_format"));
    CHECK_NEAR(cJSON_GetObjectItem(j, "temperature")->valuedouble, 0.5, 1e-9);
    cJSON_Delete(j);
    struct { const char *body, *want; hearth_status st; } bad[] = {
        {"{\"prompt\": {\"label\": \"production\"}}", "prompt.name", HEARTH_ERR_FORMAT},
        {"{\"prompt\": {\"name\": \"nope\"}}", "prompt.name: no prompt named nope", HEARTH_ERR_NOT_FOUND},
        {"{\"prompt\": {\"name\": \"support\", \"label\": \"beta\"}}", "prompt.label", HEARTH_ERR_NOT_FOUND},
        {"{\"prompt\": {\"name\": \"support\", \"version\": 9}}", "prompt.version", HEARTH_ERR_NOT_FOUND},
        {"{\"prompt\": {\"name\": \"support\", \"variables\": {\"question\": 1}}}", "prompt.variables.question",
         HEARTH_ERR_INVALID_ARG},
        {"{\"prompt\": \"support\"}", "prompt: must be an object", HEARTH_ERR_FORMAT},
        {"[1]", "not a JSON object", HEARTH_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(hearth_prompt_expand_request(lib, bad[i].body, strlen(bad[i].body), NULL, &out), bad[i].st);
        CHECK_MSG(strstr(hearth_last_error(), bad[i].want), "case %zu: %s", i, hearth_last_error());
    }
    hearth_prompt_lib_free(lib);
}

TEST(reasoning_kept_apart) {
    char *r = NULL, *a = NULL;
    CHECK(hearth_prompt_split_reasoning("<thinking>\n2+2 is 4\n</thinking>\nThe answer is 4.", "thinking", &r, &a) ==
          HEARTH_OK);
    CHECK_STR(r, "2+2 is 4");
    CHECK_STR(a, "The answer is 4.");
    free(r), free(a);
    CHECK(hearth_prompt_split_reasoning("just an answer", "thinking", &r, &a) == HEARTH_OK);
    CHECK_STR(r, "");
    CHECK_STR(a, "just an answer");
    free(r), free(a);
    CHECK(hearth_prompt_split_reasoning("<thinking>cut off", "thinking", &r, &a) == HEARTH_OK);
    CHECK_STR(r, "cut off");
    CHECK_STR(a, "");
    free(r), free(a);
}

/* few-shot selection with the small BGE-style encoder the embedding tests use */
TEST(few_shot_nearest_and_mmr) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(HEARTH_TEST_DATA "/embed/tiny-bert-bge-mean-f16.gguf", NULL, &m) == HEARTH_OK);
    hearth_embedder *e = NULL;
    hearth_embed_params ep = hearth_embed_default_params();
    ep.n_threads = 1;
    CHECK(hearth_embedder_create(m, &ep, &e) == HEARTH_OK);
    if (!e) return;
    const char *texts[] = {"How do I rotate an API key?", "How do I rotate an API key?",
                           "The quick brown fox jumps over the lazy dog.", "LoRA fine-tuning trains few parameters.",
                           "Rotate the API key from the admin console."};
    int n = 5;
    float v[6][512];
    int d = hearth_embedder_n_embd(e);
    CHECK(d <= 512);
    const char *q = "rotate my API key";
    hearth_embed(e, q, strlen(q), v[0], d);
    for (int i = 0; i < n; i++) hearth_embed(e, texts[i], strlen(texts[i]), v[i + 1], d);
    /* the brute-force ranking by cosine */
    float sim[5];
    for (int i = 0; i < n; i++) {
        double s = 0, na = 0, nb = 0;
        for (int t = 0; t < d; t++) s += v[0][t] * v[i + 1][t], na += v[0][t] * v[0][t], nb += v[i + 1][t] * v[i + 1][t];
        sim[i] = (float)(s / sqrt(na * nb));
    }
    int idx[5], got = 0;
    CHECK(hearth_prompt_select_examples(e, q, texts, n, 3, 1.0f, idx, &got) == HEARTH_OK);
    CHECK_EQ_INT(got, 3);
    for (int j = 0; j < got; j++)   /* every pick at least as near as every text left out */
        for (int i = 0; i < n; i++) {
            bool in = false;
            for (int t = 0; t < got; t++) in |= idx[t] == i;
            if (!in) CHECK_MSG(sim[idx[j]] >= sim[i], "pick %d (%.4f) < left-out %d (%.4f)", idx[j], sim[idx[j]], i, sim[i]);
        }
    /* the query itself among the examples is the first pick */
    int idx2[2];
    CHECK(hearth_prompt_select_examples(e, texts[2], texts, n, 1, 1.0f, idx2, &got) == HEARTH_OK);
    CHECK_EQ_INT(idx2[0], 2);
    /* kNN with the duplicate pair nearest takes both; MMR (lambda 0.3) never takes the duplicate twice */
    CHECK(hearth_prompt_select_examples(e, texts[0], texts, n, 2, 1.0f, idx, &got) == HEARTH_OK);
    CHECK((idx[0] == 0 && idx[1] == 1) || (idx[0] == 1 && idx[1] == 0));
    CHECK(hearth_prompt_select_examples(e, texts[0], texts, n, 2, 0.3f, idx, &got) == HEARTH_OK);
    CHECK_EQ_INT(got, 2);
    CHECK(!((idx[0] == 0 && idx[1] == 1) || (idx[0] == 1 && idx[1] == 0)));

    /* through a prompt: the chosen examples become the turns before the request */
    hearth_prompt_lib *lib = fresh();
    const char *spec =
        "template: \"{{ question }}\"\nvariables: {question: string}\n"
        "examples:\n"
        "  - {input: \"The quick brown fox jumps over the lazy dog.\", output: fox}\n"
        "  - {input: \"How do I rotate an API key?\", output: keys}\n"
        "  - {input: \"LoRA fine-tuning trains few parameters.\", output: lora}\n"
        "few_shot: {k: 1, by: question}\n";
    CHECK(hearth_prompt_add(lib, "fs", spec, strlen(spec), "t", NULL) == HEARTH_OK);
    char *out = NULL;
    const char *vars = "{\"question\": \"How do I rotate an API key?\"}";
    CHECK(hearth_prompt_render_json(lib, "fs", vars, strlen(vars), NULL, &out) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "embedding model"));
    hearth_prompt_render_params rp = hearth_prompt_render_default_params();
    rp.embedder = e;
    CHECK(hearth_prompt_render_json(lib, "fs", vars, strlen(vars), &rp, &out) == HEARTH_OK);
    cJSON *r = cJSON_Parse(out);
    free(out);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "messages")), 3);
    CHECK_STR(msg(r, 1, "content"), "keys");
    cJSON_Delete(r);
    hearth_prompt_lib_free(lib);
    hearth_embedder_free(e);
    hearth_model_free(m);
}

int main(void) {
    RUN(versions_are_immutable_and_numbered);
    RUN(labels_move_with_history_and_production_is_protected);
    RUN(rendering_blocks_and_variables);
    RUN(bad_specs_are_refused_naming_the_field);
    RUN(chat_completion_rewrite);
    RUN(reasoning_kept_apart);
    RUN(few_shot_nearest_and_mmr);
    unlink(g_db);
    return harness_done();
}
