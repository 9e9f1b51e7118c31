/*
 * test_inspect_cli.c — `hearth inspect` as a user runs it: a vocab file's
 * metadata is printed, --json parses and lists the tensors a file holds, a
 * corrupt file fails with an error naming the offset.
 */
#include "harness.h"
#include "hearth/gguf.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp_dir[256];

static void tmp_name(char *out, size_t n, const char *tag) {
    snprintf(out, n, "%s/hearth-inspect-%ld-%s", tmp_dir, (long)getpid(), tag);
}

static int run(const char *args, char **out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s inspect %s 2>&1", HEARTH_BIN, args);
    return harness_run(cmd, out);
}

TEST(vocab_text) {
    char *out = NULL;
    int rc = run(HEARTH_TEST_DATA "/vocab/ggml-vocab-gpt-2.gguf", &out);
    CHECK_EQ_INT(rc, 0);
    CHECK(out && strstr(out, "tokenizer.ggml.model") && strstr(out, "\"gpt2\""));
    CHECK(out && strstr(out, "GGUF v3"));
    CHECK(out && strstr(out, "[string; 50257]"));   /* long arrays: count shown, elements cut */
    CHECK(out && strlen(out) < 20000);
    free(out);
    /* -m form, --no-tensors */
    rc = run("-m " HEARTH_TEST_DATA "/vocab/ggml-vocab-llama-spm.gguf --no-tensors", &out);
    CHECK_EQ_INT(rc, 0);
    CHECK(out && strstr(out, "tokenizer.ggml.model") && strstr(out, "\"llama\""));
    free(out);
}

TEST(json_model) {
    /* a small model file made with the writer: 3 tensors */
    char path[512];
    tmp_name(path, sizeof path, "model.gguf");
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    static float x[64 * 16];
    const int64_t ne_e[2] = {16, 64}, ne_n[1] = {16}, ne_o[2] = {16, 8};
    hearth_gguf_set_str(w, "general.architecture", "llama");
    hearth_gguf_set_u32(w, "llama.block_count", 1);
    const char *toks[20];
    for (int i = 0; i < 20; i++) toks[i] = i % 2 ? "a" : "b";
    hearth_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 20);
    CHECK(hearth_gguf_add_tensor(w, "token_embd.weight", HEARTH_TYPE_F32, 2, ne_e, x) == HEARTH_OK);
    CHECK(hearth_gguf_add_tensor(w, "output_norm.weight", HEARTH_TYPE_F32, 1, ne_n, x) == HEARTH_OK);
    CHECK(hearth_gguf_add_tensor(w, "output.weight", HEARTH_TYPE_F16, 2, ne_o, x) == HEARTH_OK);
    CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
    hearth_gguf_writer_free(w);

    char args[600], *out = NULL;
    snprintf(args, sizeof args, "%s --json", path);
    int rc = run(args, &out);
    CHECK_EQ_INT(rc, 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    CHECK_MSG(j != NULL, "output does not parse as JSON: %.200s", out ? out : "(none)");
    if (j) {
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "version")->valueint, 3);
        cJSON *t = cJSON_GetObjectItem(j, "tensors");
        CHECK(cJSON_IsArray(t) && cJSON_GetArraySize(t) == 3);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_tensors")->valuedouble, 3);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_params")->valuedouble, 16 * 64 + 16 + 16 * 8);
        cJSON *t2 = cJSON_GetArrayItem(t, 2);
        CHECK_STR(cJSON_GetObjectItem(t2, "name")->valuestring, "output.weight");
        CHECK_STR(cJSON_GetObjectItem(t2, "type")->valuestring, "F16");
        cJSON *shape = cJSON_GetObjectItem(t2, "shape");
        CHECK(cJSON_GetArraySize(shape) == 2 && cJSON_GetArrayItem(shape, 1)->valueint == 8);
        CHECK_EQ_INT(cJSON_GetObjectItem(t2, "bytes")->valuedouble, 16 * 8 * 2);
        cJSON *md = cJSON_GetObjectItem(j, "metadata");
        CHECK_STR(cJSON_GetObjectItem(md, "general.architecture")->valuestring, "llama");
        CHECK_EQ_INT(cJSON_GetObjectItem(md, "llama.block_count")->valueint, 1);
        /* arrays are cut to 16 elements; the full count is given */
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(md, "tokenizer.ggml.tokens")), 16);
        cJSON *tr = cJSON_GetObjectItem(j, "truncated_arrays");
        CHECK(tr && cJSON_GetObjectItem(tr, "tokenizer.ggml.tokens") &&
              cJSON_GetObjectItem(tr, "tokenizer.ggml.tokens")->valueint == 20);
        cJSON_Delete(j);
    }
    free(out);

    /* --no-tensors: empty list, totals kept; --full: whole arrays */
    snprintf(args, sizeof args, "%s --json --no-tensors --full", path);
    rc = run(args, &out);
    CHECK_EQ_INT(rc, 0);
    j = out ? cJSON_Parse(out) : NULL;
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tensors")), 0);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_tensors")->valuedouble, 3);
        cJSON *md = cJSON_GetObjectItem(j, "metadata");
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(md, "tokenizer.ggml.tokens")), 20);
        cJSON_Delete(j);
    }
    free(out);
    unlink(path);
}

TEST(json_vocab_all) {
    /* every vocab file gives valid JSON (their strings hold all kinds of bytes) */
    const char *names[] = {"gpt-2", "llama-spm", "phi-3", "bert-bge", "falcon", "deepseek-llm"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char args[512], *out = NULL;
        snprintf(args, sizeof args, "--json --full %s/vocab/ggml-vocab-%s.gguf", HEARTH_TEST_DATA, names[i]);
        CHECK_EQ_INT(run(args, &out), 0);
        cJSON *j = out ? cJSON_Parse(out) : NULL;
        CHECK_MSG(j != NULL, "%s: JSON does not parse", names[i]);
        if (j) {
            cJSON *md = cJSON_GetObjectItem(j, "metadata");
            CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(md, "tokenizer.ggml.tokens")) > 30000);
            CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_tensors")->valueint, 0);
        }
        cJSON_Delete(j);
        free(out);
    }
}

TEST(corrupt_file) {
    /* the first 1000 bytes of a vocab file: the token array runs past the end */
    size_t n = 0;
    char *data = harness_read(HEARTH_TEST_DATA "/vocab/ggml-vocab-gpt-2.gguf", &n);
    CHECK(data && n > 1000);
    char path[512];
    tmp_name(path, sizeof path, "cut.gguf");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f || !data) { free(data); return; }
    fwrite(data, 1, 1000, f);
    fclose(f);
    free(data);
    char *out = NULL;
    int rc = run(path, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "hearth inspect: error:") && strstr(out, "offset"), "%s", out ? out : "");
    CHECK(out && strstr(out, "cut.gguf"));
    free(out);
    unlink(path);
    /* missing file, unknown option */
    rc = run("/nonexistent/x.gguf", &out);
    CHECK(rc != 0 && out && strstr(out, "hearth inspect: error:"));
    free(out);
    rc = run("--bogus x.gguf", &out);
    CHECK_EQ_INT(rc, 2);
    free(out);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s", t && *t ? t : "/tmp");
    RUN(vocab_text);
    RUN(json_model);
    RUN(json_vocab_all);
    RUN(corrupt_file);
    return harness_done();
}
