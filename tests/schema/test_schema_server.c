/*
 * test_schema_server.c — structured output through `hearth serve`
 * (licenses-llama F16 model, a server on a free 127.0.0.1 port stopped by
 * the test):
 *   - response_format {"type":"json_schema"}: sampled outputs (n = 3, at
 *     temperature 1) that finish with "stop" are valid instances of the
 *     schema by hearth's validator; cut ones are prefixes the constraint
 *     still allows;
 *   - the `grammar` field (GBNF) likewise;
 *   - a schema with a keyword that cannot be enforced, a broken schema and a
 *     broken grammar are 400 errors naming the field.
 */
#include "harness.h"

#include "../server/http_client.h"
#include "hearth/grammar.h"
#include "hearth/schema.h"

#include <signal.h>
#include <sys/wait.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

static int port;

static const char *SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"licence\":{\"enum\":[\"MIT\",\"Apache-2.0\",\"GPL-3.0\"]},"
    "\"year\":{\"type\":\"integer\",\"minimum\":1990,\"maximum\":2030},\"holder\":{\"type\":\"string\","
    "\"maxLength\":24},\"clauses\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":12},\"maxItems\":3}},"
    "\"required\":[\"licence\",\"year\",\"holder\",\"clauses\"],\"additionalProperties\":false}";

TEST(json_schema_outputs_validate) {
    char body[2048];
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"Describe the licence as JSON\"}],\"max_tokens\":120,"
             "\"seed\":7,\"n\":3,\"temperature\":1.0,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
             "{\"name\":\"licence\",\"strict\":true,\"schema\":%s}}}",
             SCHEMA);
    int st;
    cJSON *j = http_post_json(port, "/v1/chat/completions", body, &st);
    CHECK_EQ_INT(st, 200);
    hearth_schema *val = NULL;
    CHECK(hearth_schema_compile(SCHEMA, strlen(SCHEMA), NULL, &val) == HEARTH_OK);
    hearth_grammar *g = NULL;
    CHECK(hearth_grammar_from_schema(SCHEMA, strlen(SCHEMA), &g) == HEARTH_OK);
    int finished = 0;
    for (int c = 0; c < 3; c++) {
        char p1[64], p2[64];
        snprintf(p1, sizeof p1, "choices.%d.message.content", c);
        snprintf(p2, sizeof p2, "choices.%d.finish_reason", c);
        const char *text = json_path_str(j, p1), *fin = json_path_str(j, p2);
        CHECK(text && fin);
        if (!text || !fin) continue;
        hearth_grammar_matcher *m = NULL;
        CHECK(hearth_grammar_matcher_new(g, &m) == HEARTH_OK);
        CHECK_MSG(hearth_grammar_allows(m, text, strlen(text)), "not a prefix the schema allows: %s", text);
        hearth_grammar_matcher_free(m);
        if (!strcmp(fin, "stop")) {
            finished++;
            bool ok = false;
            char *why = NULL;
            CHECK(hearth_schema_validate(val, text, strlen(text), &ok, &why) == HEARTH_OK);
            CHECK_MSG(ok, "finished but invalid (%s): %s", why ? why : "?", text);
            free(why);
        } else {
            CHECK_MSG(!strcmp(fin, "length"), "finish_reason %s", fin);
        }
    }
    fprintf(stderr, "  %d of 3 outputs complete within max_tokens\n", finished);
    hearth_grammar_free(g);
    hearth_schema_free(val);
    cJSON_Delete(j);
}

TEST(gbnf_grammar_field) {
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"yes or no?\"}],\"max_tokens\":20,\"seed\":3,"
                       "\"temperature\":1.0,\"grammar\":\"root ::= (\\\"yes\\\" | \\\"no\\\") \\\", \\\" [a-z]{1,8}\"}";
    int st;
    cJSON *j = http_post_json(port, "/v1/chat/completions", body, &st);
    CHECK_EQ_INT(st, 200);
    const char *text = json_path_str(j, "choices.0.message.content");
    const char *fin = json_path_str(j, "choices.0.finish_reason");
    CHECK_MSG(text && (!strncmp(text, "yes, ", 5) || !strncmp(text, "no, ", 4)), "text: %s", text ? text : "(none)");
    CHECK_MSG(fin && !strcmp(fin, "stop"), "finish_reason %s", fin ? fin : "(none)");
    cJSON_Delete(j);
}

static void check_400(const char *body, const char *param, const char *word) {
    int st;
    cJSON *j = http_post_json(port, "/v1/chat/completions", body, &st);
    CHECK_MSG(st == 400, "status %d for %s", st, body);
    const char *p = json_path_str(j, "error.param"), *msg = json_path_str(j, "error.message");
    CHECK_MSG(p && !strcmp(p, param), "param %s, want %s", p ? p : "(none)", param);
    CHECK_MSG(msg && strstr(msg, word), "message %s lacks %s", msg ? msg : "(none)", word);
    cJSON_Delete(j);
}

TEST(refusals_are_400) {
    check_400("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
              "\"json_schema\":{\"name\":\"n\",\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"not\":{\"minimum\":3}}}}}}}",
              "response_format.json_schema.schema", "not");
    check_400("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
              "\"json_schema\":{\"name\":\"n\"}}}",
              "response_format.json_schema.schema", "schema");
    check_400("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"grammar\":\"root ::= undefined-rule\"}", "grammar",
              "undefined-rule");
    /* a broken grammar (unterminated literal) after the choices were counted */
    check_400("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2,\"grammar\":\"root ::= \\\"a\"}", "grammar",
              "literal");
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *args[] = {"--model", "lic=" MODEL, "-t", "2", "--parallel", "3", NULL};
    pid_t pid;
    port = start_server(HEARTH_BIN, args, &pid);
    if (port <= 0) {
        fprintf(stderr, "the server did not start\n");
        return 1;
    }
    RUN(json_schema_outputs_validate);
    RUN(gbnf_grammar_field);
    RUN(refusals_are_400);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
    return harness_done();
}
