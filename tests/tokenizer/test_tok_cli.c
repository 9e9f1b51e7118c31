/*
 * test_tok_cli.c — `hearth tokenize`: every llama.cpp vector (12 sets)
 * through the command (`--no-bos --ids -f FILE`, one temporary file per
 * case) gives exactly the expected ids line; --json carries the same ids and
 * the pieces; bad invocations fail with a message and a non-zero status.
 */
#include "harness.h"
#include "vectors.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_tmp[256];

static void expected_line(const vec_case *c, char *buf, size_t cap) {
    size_t m = 0;
    buf[0] = 0;
    for (size_t i = 0; i < c->n_ids && m + 16 < cap; i++) m += (size_t)snprintf(buf + m, cap - m, i ? " %d" : "%d", c->ids[i]);
    snprintf(buf + m, cap - m, "\n");
}

TEST(cli_ids_match_every_vector) {
    int total = 0, pass = 0;
    for (int s = 0; s < 12; s++) {
        char ip[1024], op[1024], vp[1024];
        snprintf(vp, sizeof vp, "%s/vocab/%s", HEARTH_TEST_DATA, k_vector_sets[s][0]);
        snprintf(ip, sizeof ip, "%s/vocab/%s.inp", HEARTH_TEST_DATA, k_vector_sets[s][1]);
        snprintf(op, sizeof op, "%s/vocab/%s.out", HEARTH_TEST_DATA, k_vector_sets[s][1]);
        vec_case *cases = NULL;
        int n = vectors_load(ip, op, &cases);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            FILE *f = fopen(g_tmp, "wb");
            CHECK(f != NULL);
            if (!f) break;
            fwrite(cases[i].text, 1, cases[i].len, f);
            fclose(f);
            char cmd[4096], want[65536];
            snprintf(cmd, sizeof cmd, "'%s' tokenize -m '%s' --no-bos --ids -f '%s'", HEARTH_BIN, vp, g_tmp);
            char *out = NULL;
            int rc = harness_run(cmd, &out);
            expected_line(&cases[i], want, sizeof want);
            bool ok = rc == 0 && out && strcmp(out, want) == 0;
            CHECK_MSG(ok, "%s case %d: rc %d, got \"%s\", expected \"%s\"", k_vector_sets[s][1], i, rc, out ? out : "", want);
            pass += ok;
            total++;
            free(out);
        }
        vectors_free(cases, n);
    }
    printf("cli: %d/%d vectors exact\n", pass, total);
}

TEST(cli_json_and_default_output) {
    char cmd[4096];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' tokenize -m '%s/vocab/ggml-vocab-llama-spm.gguf' -p 'Hello world' --json", HEARTH_BIN,
             HEARTH_TEST_DATA);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    CHECK_MSG(j != NULL, "not JSON: %s", out ? out : "");
    if (j) {
        cJSON *ids = cJSON_GetObjectItem(j, "ids"), *pieces = cJSON_GetObjectItem(j, "pieces");
        CHECK(cJSON_IsArray(ids) && cJSON_IsArray(pieces));
        /* BOS, "▁Hello", "▁world" in the Llama 2 vocabulary */
        CHECK_EQ_INT(cJSON_GetArraySize(ids), 3);
        CHECK_EQ_INT(cJSON_GetArrayItem(ids, 0)->valueint, 1);
        CHECK_EQ_INT(cJSON_GetArrayItem(ids, 1)->valueint, 15043);
        CHECK_EQ_INT(cJSON_GetArrayItem(ids, 2)->valueint, 3186);
        CHECK_STR(cJSON_GetArrayItem(pieces, 1)->valuestring, " Hello");
        CHECK_STR(cJSON_GetArrayItem(pieces, 2)->valuestring, " world");
        cJSON_Delete(j);
    }
    free(out);
    out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' tokenize -m '%s/vocab/ggml-vocab-gpt-2.gguf' -p 'Hello world'", HEARTH_BIN, HEARTH_TEST_DATA);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK_STR(out, "15496 'Hello'\n995 ' world'\n");
    free(out);
}

TEST(cli_errors) {
    char cmd[4096];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' tokenize -p hi -m 2>&1", HEARTH_BIN);
    int rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "-m"), "message: %s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' tokenize -m /nonexistent/vocab.gguf -p hi 2>&1", HEARTH_BIN);
    rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "/nonexistent/vocab.gguf"), "message: %s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' tokenize -m '%s/vocab/ggml-vocab-gpt-2.gguf' --frobnicate -p hi 2>&1", HEARTH_BIN,
             HEARTH_TEST_DATA);
    rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "--frobnicate"), "message: %s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' tokenize -m '%s/vocab/ggml-vocab-gpt-2.gguf' -f /nonexistent/input.txt 2>&1", HEARTH_BIN,
             HEARTH_TEST_DATA);
    rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "/nonexistent/input.txt"), "message: %s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' tokenize -m '%s/vocab/ggml-vocab-gpt-2.gguf' 2>&1", HEARTH_BIN, HEARTH_TEST_DATA);
    rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    free(out);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/hearth_tok_cli_%d.txt", (int)getpid());
    RUN(cli_ids_match_every_vector);
    RUN(cli_json_and_default_output);
    RUN(cli_errors);
    unlink(g_tmp);
    return harness_done();
}
