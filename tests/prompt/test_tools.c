/*
 * test_tools.c — tools through the prompting layer:
 *   1. OpenAI `tools` arrays read and checked (bad ones named by field),
 *      call arguments validated against their schema;
 *   2. the grammar of a required call in each format accepts exactly the
 *      calls whose arguments validate, and what it accepts parses back
 *      (tool_call.h's parser) to the same call;
 *   3. conversations with tools, calls and results rendered through real
 *      chat templates (tests/data/templates) equal the reference renders —
 *      with arguments sent as JSON strings, as OpenAI clients send them —
 *      and templates that know no tools get hearth's hermes description.
 */
#include "harness.h"
#include "hearth/chat.h"
#include "hearth/tool_call.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *TOOLS =
    "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather for a city\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"maxLength\": 20},"
    " \"unit\": {\"enum\": [\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\"], \"additionalProperties\": false}}},"
    " {\"type\": \"function\", \"function\": {\"name\": \"now\"}}]";

TEST(tools_read_and_check) {
    hearth_tools *t = NULL;
    CHECK(hearth_tools_parse(TOOLS, strlen(TOOLS), &t) == HEARTH_OK);
    CHECK_EQ_INT(hearth_tools_count(t), 2);
    CHECK_STR(hearth_tools_name(t, 1), "now");
    CHECK_EQ_INT(hearth_tools_find(t, "get_weather"), 0);
    CHECK_EQ_INT(hearth_tools_find(t, "nope"), -1);
    const char *ok = "{\"city\": \"Paris\", \"unit\": \"celsius\"}";
    CHECK(hearth_tools_check(t, "get_weather", ok, strlen(ok)) == HEARTH_OK);
    const char *bad[] = {"{\"unit\": \"celsius\"}", "{\"city\": 3}", "{\"city\": \"Paris\", \"x\": 1}",
                         "{\"city\": \"Paris\", \"unit\": \"kelvin\"}", "[1]", "{\"city\": "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(hearth_tools_check(t, "get_weather", bad[i], strlen(bad[i])) == HEARTH_ERR_INVALID_ARG, "%s", bad[i]);
        CHECK(strstr(hearth_last_error(), "get_weather") != NULL);
    }
    CHECK(hearth_tools_check(t, "now", "{}", 2) == HEARTH_OK);   /* no parameters: any object */
    CHECK(hearth_tools_check(t, "later", "{}", 2) == HEARTH_ERR_NOT_FOUND);
    hearth_tools_free(t);
    hearth_tools_free(NULL);

    const struct { const char *json; hearth_status st; const char *field; } BAD[] = {
        {"[{\"type\": \"function\"", HEARTH_ERR_FORMAT, "tools: "},
        {"{}", HEARTH_ERR_FORMAT, "tools: "},
        {"[]", HEARTH_ERR_FORMAT, "tools: "},
        {"[{\"type\": \"retrieval\"}]", HEARTH_ERR_UNSUPPORTED, "tools[0].type: "},
        {"[{\"type\": \"function\"}]", HEARTH_ERR_FORMAT, "tools[0].function: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"get weather\"}}]", HEARTH_ERR_FORMAT, "tools[0].function.name: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"a\"}}, {\"type\": \"function\", \"function\": {\"name\": \"a\"}}]",
         HEARTH_ERR_FORMAT, "tools[1].function.name: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"type\": \"object\", \"properties\":"
         " {\"x\": {\"type\": \"string\", \"pattern\": \"([\"}}}}}]",
         HEARTH_ERR_FORMAT, "tools[0].function.parameters: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"properties\": {\"x\": {\"type\": \"strung\"}}}}}]",
         HEARTH_ERR_FORMAT, "tools[0].function.parameters: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"properties\": {\"x\": {\"maxLength\": \"9\"}}}}}]",
         HEARTH_ERR_FORMAT, "tools[0].function.parameters: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"type\": \"array\"}}}]", HEARTH_ERR_FORMAT,
         "tools[0].function.parameters: "},
        {"[{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"$ref\": \"http://x/y.json\"}}}]",
         HEARTH_ERR_FORMAT, "tools[0].function.parameters: "},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        hearth_tools *b = (hearth_tools *)1;
        hearth_status st = hearth_tools_parse(BAD[i].json, strlen(BAD[i].json), &b);
        CHECK_MSG(st == BAD[i].st, "%s: status %d", BAD[i].json, st);
        CHECK(b == NULL);
        CHECK_MSG(!strncmp(hearth_last_error(), BAD[i].field, strlen(BAD[i].field)), "%s: message '%s'", BAD[i].json,
                  hearth_last_error());
    }
    /* the mistake's place in the schema is named */
    const char *typo = "[{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"properties\": {\"x\": {\"type\": \"strung\"}}}}}]";
    hearth_tools *b = NULL;
    hearth_tools_parse(typo, strlen(typo), &b);
    CHECK(strstr(hearth_last_error(), "/properties/x/type") != NULL);
}

/* ---- grammars of required calls ---------------------------------------------------- */
static bool grammar_takes(const hearth_grammar *g, const char *text) {
    hearth_grammar_matcher *m = NULL;
    if (hearth_grammar_matcher_new(g, &m) != HEARTH_OK) return false;
    bool ok = hearth_grammar_advance(m, text, strlen(text)) == HEARTH_OK && hearth_grammar_accepting(m);
    hearth_grammar_matcher_free(m);
    return ok;
}

TEST(required_call_grammars) {
    hearth_tools *t = NULL;
    CHECK(hearth_tools_parse(TOOLS, strlen(TOOLS), &t) == HEARTH_OK);
    const char *args_ok = "{\"city\": \"Paris\", \"unit\": \"celsius\"}";
    const char *args_bad[] = {"{\"city\": 3}", "{\"unit\": \"celsius\"}", "{\"city\": \"abcdefghijklmnopqrstuvwxyz\"}"};
    for (int f = 0; f <= HEARTH_TOOL_COMMAND_R; f++) {
        const char *fmt = f == HEARTH_TOOL_HERMES    ? "{\"name\": \"%s\", \"arguments\": %s}"
                        : f == HEARTH_TOOL_LLAMA31   ? "{\"name\": \"%s\", \"parameters\": %s}"
                        : f == HEARTH_TOOL_MISTRAL   ? "[{\"name\": \"%s\", \"arguments\": %s}]"
                                                     : "[{\"tool_name\": \"%s\", \"parameters\": %s}]";
        const char *fname = hearth_tool_format_name((hearth_tool_format)f);
        hearth_grammar *named = NULL, *any = NULL;
        CHECK_MSG(hearth_tools_grammar(t, (hearth_tool_format)f, "get_weather", &named) == HEARTH_OK, "%s: %s", fname,
                  hearth_last_error());
        CHECK(hearth_tools_grammar(t, (hearth_tool_format)f, NULL, &any) == HEARTH_OK);
        char text[512];
        snprintf(text, sizeof text, fmt, "get_weather", args_ok);
        CHECK_MSG(named && grammar_takes(named, text), "%s: %s refused", fname, text);
        CHECK(any && grammar_takes(any, text));
        /* what the grammar takes parses back to the same call, which validates */
        hearth_tool_parser_params pp = hearth_tool_parser_default_params();
        pp.format = (hearth_tool_format)f;
        pp.in_call = true;
        hearth_tool_parser *tp = NULL;
        CHECK(hearth_tool_parser_new(&pp, &tp) == HEARTH_OK);
        CHECK(hearth_tool_parser_feed(tp, text, strlen(text), NULL, NULL) == HEARTH_OK);
        CHECK(hearth_tool_parser_finish(tp, NULL, NULL) == HEARTH_OK);
        CHECK_EQ_INT(hearth_tool_parser_n_calls(tp), 1);
        const hearth_tool_call *c = hearth_tool_parser_call(tp, 0);
        if (c) {
            CHECK_STR(c->name, "get_weather");
            CHECK_STR(c->arguments, args_ok);
            CHECK(hearth_tools_check(t, c->name, c->arguments, strlen(c->arguments)) == HEARTH_OK);
        }
        hearth_tool_parser_free(tp);
        snprintf(text, sizeof text, fmt, "now", "{}");
        CHECK_MSG(named && !grammar_takes(named, text), "%s: named grammar took another tool", fname);
        CHECK_MSG(any && grammar_takes(any, text), "%s: %s refused", fname, text);
        for (size_t i = 0; i < sizeof args_bad / sizeof *args_bad; i++) {
            snprintf(text, sizeof text, fmt, "get_weather", args_bad[i]);
            CHECK_MSG(any && !grammar_takes(any, text), "%s: took %s", fname, text);
        }
        hearth_grammar_free(named);
        hearth_grammar_free(any);
    }
    hearth_grammar *g = NULL;
    CHECK(hearth_tools_grammar(t, HEARTH_TOOL_HERMES, "later", &g) == HEARTH_ERR_NOT_FOUND);
    /* formats whose name stands outside the JSON: no grammar yet, a clear refusal */
    for (int f = HEARTH_TOOL_FUNCTIONARY31; f < HEARTH_TOOL_N_FORMATS; f++) {
        CHECK(hearth_tools_grammar(t, (hearth_tool_format)f, "get_weather", &g) == HEARTH_ERR_UNSUPPORTED);
        CHECK(g == NULL);
        CHECK_MSG(!strncmp(hearth_last_error(), "tool_choice: ", 13) &&
                      strstr(hearth_last_error(), hearth_tool_format_name((hearth_tool_format)f)),
                  "%s", hearth_last_error());
    }
    hearth_tools_free(t);
    /* a schema the grammar cannot enforce: the tool is named */
    const char *hard = "[{\"type\": \"function\", \"function\": {\"name\": \"a\"}}, {\"type\": \"function\", \"function\": "
                       "{\"name\": \"b\", \"parameters\": {\"type\": \"object\", \"properties\": {\"n\": {\"type\": "
                       "\"integer\", \"multipleOf\": 3}}}}}]";
    CHECK(hearth_tools_parse(hard, strlen(hard), &t) == HEARTH_OK);
    CHECK(hearth_tools_grammar(t, HEARTH_TOOL_HERMES, NULL, &g) == HEARTH_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(hearth_last_error(), "tools[1].function.parameters") && strstr(hearth_last_error(), "multipleOf"),
              "%s", hearth_last_error());
    CHECK(hearth_tools_grammar(t, HEARTH_TOOL_HERMES, "a", &g) == HEARTH_OK);
    hearth_grammar_free(g);
    hearth_tools_free(t);
}

/* ---- rendering through real templates ----------------------------------------------- */
/* the case's messages as a client sends them: arguments as JSON text */
static char *client_messages(const cJSON *msgs) {
    cJSON *m = cJSON_Duplicate(msgs, true), *x, *c;
    cJSON_ArrayForEach(x, m) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(x, "tool_calls")) {
            cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
            cJSON *a = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
            if (cJSON_IsObject(a)) {
                char *s = cJSON_PrintUnformatted(a);
                cJSON_ReplaceItemInObjectCaseSensitive(fn, "arguments", cJSON_CreateString(s));
                free(s);
            }
        }
    }
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return s;
}

static const char *const FILES[] = {
    "Qwen-Qwen2.5-7B-Instruct.json", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.json",
    "meta-llama-Llama-3.1-8B-Instruct.json", "mistralai-Mistral-Nemo-Instruct-2407.json",
    "CohereForAI-c4ai-command-r-plus-tool_use.json", "google-gemma-2-2b-it.json",
    "microsoft-Phi-3.5-mini-instruct.json", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.json",
    "extra/Qwen-Qwen3-0.6B.json", "extra/deepseek-ai-DeepSeek-V3.1.json", "extra/meetkai-functionary-medium-v3.2.json",
};

TEST(render_through_templates) {
    int n_ref = 0, n_rewrite = 0;
    for (size_t fi = 0; fi < sizeof FILES / sizeof *FILES; fi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/templates/%s", HEARTH_TEST_DATA, FILES[fi]);
        char *txt = harness_read(path, NULL);
        cJSON *doc = txt ? cJSON_Parse(txt) : NULL;
        free(txt);
        CHECK_MSG(doc != NULL, "cannot read %s", path);
        if (!doc) continue;
        const char *tmpl = cJSON_GetObjectItemCaseSensitive(doc, "template")->valuestring;
        hearth_chat_policy *p = NULL;
        CHECK(hearth_chat_policy_create_from(tmpl, NULL, NULL, &p) == HEARTH_OK);
        bool knows_tools = strstr(tmpl, "tools") != NULL;
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
            const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(cs, "context");
            const cJSON *tools = cJSON_GetObjectItemCaseSensitive(ctx, "tools");
            const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(ctx, "messages");
            char *mj = client_messages(msgs);
            if (!tools && !strstr(mj, "tool")) {
                free(mj);
                continue;
            }
            char *tj = tools ? cJSON_PrintUnformatted(tools) : NULL;
            bool agp = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx, "add_generation_prompt"));
            const cJSON *exp = cJSON_GetObjectItemCaseSensitive(cs, "expected");
            const cJSON *err = cJSON_GetObjectItemCaseSensitive(cs, "error");
            char *out = NULL;
            bool used = false;
            hearth_status st = hearth_chat_policy_render_json(p, mj, strlen(mj), tj, agp, &out, &used);
            if ((knows_tools || (!tools && strstr(tmpl, "tool_calls"))) && exp) {   /* exactly the reference */
                CHECK_MSG(st == HEARTH_OK && used, "%s: %s", FILES[fi], hearth_last_error());
                if (st == HEARTH_OK && strcmp(out, exp->valuestring))
                    CHECK_MSG(false, "%s: differs\n--- expected ---\n%s\n--- got ---\n%s", FILES[fi], exp->valuestring, out);
                n_ref++;
            } else if (knows_tools && err) {   /* the template's own refusal (Mistral: call ids of 9) */
                CHECK_MSG(st == HEARTH_ERR_INVALID_ARG && strstr(hearth_last_error(), err->valuestring),
                          "%s: status %d '%s'", FILES[fi], st, hearth_last_error());
                n_ref++;
            } else {   /* hearth's own description, through the template */
                CHECK_MSG(st == HEARTH_OK && used, "%s: %s", FILES[fi], hearth_last_error());
                if (st == HEARTH_OK) {
                    if (tools) CHECK(strstr(out, "<tools>\n{\"type\":\"function\"") && strstr(out, "get_weather"));
                    if (strstr(mj, "tool_calls")) {
                        CHECK_MSG(strstr(out, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":"),
                                  "%s:\n%s", FILES[fi], out);
                        CHECK(strstr(out, "<tool_response>\n{\"temp_c\": 18}\n</tool_response>"));
                    }
                }
                n_rewrite++;
            }
            free(out);
            free(mj);
            free(tj);
        }
        /* a call without a name and arguments that are not an object are named */
        const char *bad1 = "[{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"a\", \"type\": \"function\", \"function\": {\"arguments\": \"{}\"}}]}]";
        const char *bad2 = "[{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"a\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{oops\"}}]}]";
        char *out = NULL;
        CHECK(hearth_chat_policy_render_json(p, bad1, strlen(bad1), NULL, true, &out, NULL) == HEARTH_ERR_FORMAT);
        CHECK(strstr(hearth_last_error(), "messages[0].tool_calls[0].function.name") != NULL);
        CHECK(hearth_chat_policy_render_json(p, bad2, strlen(bad2), NULL, true, &out, NULL) == HEARTH_ERR_FORMAT);
        CHECK(strstr(hearth_last_error(), "messages[1].tool_calls[0].function.arguments") != NULL);
        CHECK(hearth_chat_policy_render_json(p, "[{\"role\": 3}]", 13, NULL, true, &out, NULL) == HEARTH_ERR_FORMAT);
        CHECK(hearth_chat_policy_render_json(p, "[", 1, NULL, true, &out, NULL) == HEARTH_ERR_FORMAT);
        CHECK(out == NULL);
        hearth_chat_policy_free(p);
        cJSON_Delete(doc);
    }
    CHECK_MSG(n_ref >= 14, "only %d reference renders compared", n_ref);
    CHECK_MSG(n_rewrite >= 6, "only %d rewritten renders", n_rewrite);
}

/* no template at all: the built-in format with the hermes description */
TEST(render_builtin_format) {
    hearth_chat_params cp = hearth_chat_default_params();
    cp.format = "chatml";
    hearth_chat_policy *p = NULL;
    CHECK(hearth_chat_policy_create_from(NULL, NULL, &cp, &p) == HEARTH_OK);
    CHECK_EQ_INT(hearth_chat_policy_tool_format(p), HEARTH_TOOL_HERMES);
    const char *msgs = "[{\"role\": \"developer\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Weather?\"},"
                       " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
                       " \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
                       " {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"18 C\"},"
                       " {\"role\": \"tool\", \"tool_call_id\": \"call_2\", \"content\": \"sunny\"}]";
    char *out = NULL;
    bool used = true;
    CHECK(hearth_chat_policy_render_json(p, msgs, strlen(msgs), TOOLS, true, &out, &used) == HEARTH_OK);
    CHECK(!used);
    if (out) {
        CHECK_MSG(!strncmp(out, "<|im_start|>system\nBe brief.\n\n# Tools\n", 38), "%s", out);
        CHECK(strstr(out, "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}\n</tool_call><|im_end|>"));
        /* results in a row share one user turn */
        CHECK_MSG(strstr(out, "<|im_start|>user\n<tool_response>\n18 C\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n"),
                  "%s", out);
    }
    free(out);
    hearth_chat_policy_free(p);
}

int main(void) {
    RUN(tools_read_and_check);
    RUN(required_call_grammars);
    RUN(render_through_templates);
    RUN(render_builtin_format);
    return harness_done();
}
