/*
 * test_prompt_eval.c — `hearth prompt eval SUITE.yaml`: cases run across two
 * prompt versions on a model; the exit status is 0 when every assertion
 * holds, 1 when one fails, 2 for a malformed suite (its place named); the
 * JSON results hold each run's answer and assertion verdicts, and the HTML
 * file is a self-contained page of them.
 */
#include "harness.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"
#define EMBED HEARTH_TEST_DATA "/embed/tiny-bert-bge-mean-f16.gguf"

static char g_dir[256];

static void write_file(const char *name, const char *text) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return harness_read(p, NULL);
}

/* `hearth prompt ARGS --db DIR/p.db`, stdout to DIR/out.txt, stderr to DIR/err.txt; the exit status */
static int run(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && %s prompt %s --db p.db -t 2 >out.txt 2>err.txt", g_dir, HEARTH_BIN, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char *SUITE_HEAD =
    "description: license extraction\n"
    "prompts: [lic@1, lic@staging]\n"
    "models: [" MODEL "]\n"
    "embedder: " EMBED "\n"
    "cases:\n";

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/hearth_test_prompt_eval_%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", g_dir, g_dir);
    CHECK(system(cmd) == 0);
    write_file("v1.yaml", "template: \"Which license: {{ text }}\"\n"
                          "variables: {text: string}\n"
                          "sampling: {max_tokens: 40}\n"
                          "output_schema: {type: object, properties: {license: {enum: [MIT, GPL-3.0]}},"
                          " required: [license], additionalProperties: false}\n");
    write_file("v2.yaml", "system: \"Answer with the license.\"\n"
                          "template: \"License of: {{ text }}\"\n"
                          "variables: {text: string}\n"
                          "sampling: {max_tokens: 40}\n"
                          "output_schema: {type: object, properties: {license: {enum: [MIT, GPL-3.0]}},"
                          " required: [license], additionalProperties: false}\n");
    CHECK_EQ_INT(run("add lic v1.yaml"), 0);
    CHECK_EQ_INT(run("add lic v2.yaml"), 0);
    CHECK_EQ_INT(run("label lic staging 2"), 0);

    /* every assertion holds: exit 0, JSON and HTML written */
    char suite[4096];
    snprintf(suite, sizeof suite, "%s"
             "  - name: mit\n"
             "    vars: {text: \"MIT licensed\"}\n"
             "    assert:\n"
             "      - is-json\n"
             "      - matches-schema: true\n"
             "      - contains: license\n"
             "      - regex: '^\\{\\s*\"license\"'\n"
             "      - max-tokens: 40\n"
             "      - max-latency-ms: 600000\n", SUITE_HEAD);
    write_file("pass.yaml", suite);
    CHECK_EQ_INT(run("eval pass.yaml --json-out r.json --html-out r.html"), 0);
    char *out = read_file("out.txt"), *json = read_file("r.json"), *html = read_file("r.html");
    CHECK(out && strstr(out, "2 of 2 runs passed"));
    cJSON *r = json ? cJSON_Parse(json) : NULL;
    CHECK(r != NULL);
    CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "summary"), "passed") ?
                 cJSON_GetObjectItem(cJSON_GetObjectItem(r, "summary"), "passed")->valueint : -1, 2);
    const cJSON *res = cJSON_GetObjectItem(r, "results");
    CHECK_EQ_INT(cJSON_GetArraySize(res), 2);
    const cJSON *first = cJSON_GetArrayItem(res, 0), *second = cJSON_GetArrayItem(res, 1);
    CHECK_EQ_INT(cJSON_GetObjectItem(first, "version") ? cJSON_GetObjectItem(first, "version")->valueint : 0, 1);
    CHECK_EQ_INT(cJSON_GetObjectItem(second, "version") ? cJSON_GetObjectItem(second, "version")->valueint : 0, 2);
    const cJSON *ans = cJSON_GetObjectItem(first, "answer");
    CHECK(cJSON_IsString(ans));
    char answer[256] = "";
    if (cJSON_IsString(ans)) snprintf(answer, sizeof answer, "%s", ans->valuestring);
    CHECK(html && strstr(html, "<!DOCTYPE html>") && strstr(html, "license extraction") && strstr(html, "2 passed"));
    CHECK(html && !strstr(html, "<script") && !strstr(html, "http://") && !strstr(html, "https://"));
    cJSON_Delete(r);
    free(out), free(json), free(html);

    /* failures: exit 1; the failing assertion named in the table and the results */
    char esc[300] = "";
    for (size_t i = 0, k = 0; answer[i] && k + 2 < sizeof esc; i++) {   /* YAML single-quoted */
        if (answer[i] == '\'') esc[k++] = '\'';
        esc[k++] = answer[i];
    }
    snprintf(suite, sizeof suite, "%s"
             "  - name: same\n"
             "    vars: {text: \"MIT licensed\"}\n"
             "    assert:\n"
             "      - similar-to: '%s'\n"
             "        threshold: 0.99\n"
             "  - name: wrong\n"
             "    vars: {text: \"MIT licensed\"}\n"
             "    assert:\n"
             "      - equals: \"certainly not this\"\n"
             "  - name: unrelated\n"
             "    vars: {text: \"MIT licensed\"}\n"
             "    assert:\n"
             "      - similar-to: \"The quick brown fox jumps over the lazy dog near the river bank.\"\n"
             "        threshold: 0.99\n"
             "  - name: novars\n"
             "    assert:\n"
             "      - is-json\n", SUITE_HEAD, esc);
    write_file("fail.yaml", suite);
    CHECK_EQ_INT(run("eval fail.yaml --json-out f.json"), 1);
    out = read_file("out.txt");
    json = read_file("f.json");
    CHECK(out && strstr(out, "FAIL") && strstr(out, "equals: expected exactly"));
    CHECK(out && strstr(out, "prompt.variables.text: missing"));
    r = json ? cJSON_Parse(json) : NULL;
    res = cJSON_GetObjectItem(r, "results");
    CHECK_EQ_INT(cJSON_GetArraySize(res), 8);
    const cJSON *x;
    int i = 0;
    cJSON_ArrayForEach(x, res) {   /* per version: same passes, the others fail (first version's answer) */
        const char *name = cJSON_GetObjectItem(x, "case")->valuestring;
        bool passed = cJSON_IsTrue(cJSON_GetObjectItem(x, "passed"));
        if (!strcmp(name, "same") && i < 4) CHECK_MSG(passed, "same/%d", i);
        if (strcmp(name, "same")) CHECK_MSG(!passed, "%s/%d should fail", name, i);
        i++;
    }
    cJSON_Delete(r);
    free(out), free(json);

    /* malformed suites: exit 2, the place named, nothing run */
    struct { const char *suite, *want; } bad[] = {
        {"prompts: [lic@1]\ncases: [{vars: {text: a}, assert: [{contain: x}]}]\n", "cases[0].assert[0]: unknown assertion 'contain'"},
        {"prompts: [lic@1]\ncases: [{vars: {text: a}, assert: [{regex: \"(\"}]}]\n", "cases[0].assert[0].regex"},
        {"prompts: [lic@1]\ncases: [{assert: [{similar-to: x}]}]\n", "needs an embedding model"},
        {"prompts: [lic@nolabel]\ncases: [{assert: [is-json]}]\n", "no label nolabel"},
        {"prompts: [lic@1]\ncases: []\n", "cases: must be a non-empty list"},
        {"prompts: [lic@1]\ncases: [{assert: [is-json]}\n", "suite: line"},
        {"prompts: [lic@1]\nmodels: [/nonexistent.gguf]\ncases: [{assert: [is-json]}]\n", "/nonexistent.gguf"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_file("bad.yaml", bad[k].suite);
        CHECK_EQ_INT(run("eval bad.yaml"), 2);
        char *err = read_file("err.txt");
        CHECK_MSG(err && strstr(err, bad[k].want), "case %zu: %s", k, err ? err : "");
        free(err);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    CHECK(system(cmd) == 0);
    return harness_done();
}
