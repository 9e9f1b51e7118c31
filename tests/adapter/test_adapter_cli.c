/*
 * test_adapter_cli.c — adapters as a user drives them from the command line
 * (tiny llama F16 model, a random adapter written by the library):
 *   - `hearth merge --type F32` converts; `hearth merge --lora A` merges;
 *   - `hearth run --lora A` (greedy) generates what the merged model
 *     generates, and differs from the base;
 *   - `--lora A:0` generates what the base generates; the same adapter as a
 *     PEFT folder generates the same as the GGUF form;
 *   - a wrong base model, a missing adapter, a bad --type: clear errors, exit != 0.
 */
#include "harness.h"

#include "hearth/adapter.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

#define LLAMA HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define QWEN2 HEARTH_TEST_DATA "/models/tiny-qwen2-gpt2-f16.gguf"

static char dir[256], cmd[4096];

static const char *p(const char *name) {
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

/* ids generated greedily as a JSON string ("[1, 2, ...]"), NULL on failure */
static char *greedy(const char *model, const char *extra) {
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -p 'Once upon a time' -n 12 --temp 0 --ignore-eos --json %s 2>/dev/null",
             HEARTH_BIN, model, extra);
    int rc = harness_run(cmd, &out);
    cJSON *j = rc == 0 && out ? cJSON_Parse(out) : NULL;
    free(out);
    char *ids = j ? cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "ids")) : NULL;
    if (!ids) fprintf(stderr, "failed: %s\n", cmd);
    cJSON_Delete(j);
    return ids;
}

static bool eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* runs a command expected to fail; its stderr must contain want */
static void expect_fail(const char *args, const char *want) {
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", HEARTH_BIN, args);
    int rc = harness_run(cmd, &out);
    CHECK_MSG(rc != 0, "succeeded: %s", cmd);
    CHECK_MSG(out && strstr(out, want), "`%s` said \"%s\", not \"%s\"", cmd, out ? out : "", want);
    free(out);
}

TEST(merge_and_run) {
    /* a random adapter on every attention projection */
    hearth_gguf *g = NULL;
    CHECK(hearth_gguf_open(LLAMA, &g) == HEARTH_OK);
    if (!g) return;
    hearth_adapter *a = hearth_adapter_create(4, 8, false);
    snprintf(a->arch, sizeof a->arch, "llama");
    uint32_t x = 12345;
    char name[64];
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 4; k++) {
            static const char *const t[] = {"attn_q", "attn_k", "attn_v", "attn_output"};
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, t[k]);
            const hearth_gguf_tensor *bt = hearth_gguf_find_tensor(g, name);
            CHECK(bt && hearth_adapter_add(a, name, bt->ne[0], bt->ne[1]) == HEARTH_OK);
            hearth_adapter_weight *w = &a->w[a->n - 1];
            for (int64_t i = 0; i < 4 * w->n_in; i++) w->a[i] = ((x = x * 1103515245u + 12345u) >> 16) / 32768.0f - 1;
            for (int64_t i = 0; i < 4 * w->n_out; i++) w->b[i] = ((x = x * 1103515245u + 12345u) >> 16) / 65536.0f - 0.5f;
        }
    CHECK(hearth_adapter_save_gguf(a, p("a.gguf")) == HEARTH_OK);
    CHECK(hearth_adapter_save_peft(a, g, p("a-peft")) == HEARTH_OK);
    hearth_adapter_free(a);
    hearth_gguf_close(g);

    char args[2048];
    snprintf(args, sizeof args, "%s merge -q -m %s --type F32 -o %s", HEARTH_BIN, LLAMA, p("base32.gguf"));
    CHECK_EQ_INT(harness_run(args, NULL), 0);
    snprintf(args, sizeof args, "%s merge -q -m %s --lora %s:0.8 -o %s", HEARTH_BIN, p("base32.gguf"), p("a.gguf"),
             p("merged.gguf"));
    CHECK_EQ_INT(harness_run(args, NULL), 0);

    char *base = greedy(p("base32.gguf"), "");
    char *merged = greedy(p("merged.gguf"), "");
    snprintf(args, sizeof args, "--lora %s:0.8", p("a.gguf"));
    char *lora = greedy(p("base32.gguf"), args);
    snprintf(args, sizeof args, "--lora %s:0.8", p("a-peft"));
    char *peft = greedy(p("base32.gguf"), args);
    snprintf(args, sizeof args, "--lora %s:0", p("a.gguf"));
    char *zero = greedy(p("base32.gguf"), args);
    snprintf(args, sizeof args, "--lora %s:0.4 --lora %s:0.4", p("a.gguf"), p("a-peft"));
    char *twice = greedy(p("base32.gguf"), args);
    printf("  base   %s\n  merged %s\n  --lora %s\n", base ? base : "-", merged ? merged : "-", lora ? lora : "-");
    CHECK(eq(lora, merged));
    CHECK(eq(peft, lora));
    CHECK(eq(twice, lora));   /* 0.4 + 0.4 of the same adapter */
    CHECK(eq(zero, base));
    CHECK(base && lora && !eq(base, lora));
    free(base);
    free(merged);
    free(lora);
    free(peft);
    free(zero);
    free(twice);

    /* errors */
    snprintf(args, sizeof args, "run -m %s -p hi -n 1 --lora %s", QWEN2, p("a.gguf"));
    expect_fail(args, "wrong base model");
    snprintf(args, sizeof args, "run -m %s -p hi -n 1 --lora %s", LLAMA, p("missing.gguf"));
    expect_fail(args, "missing.gguf");
    snprintf(args, sizeof args, "merge -m %s --lora %s -o %s --type Q9_9", LLAMA, p("a.gguf"), p("x.gguf"));
    expect_fail(args, "Q9_9");
    snprintf(args, sizeof args, "merge -m %s --lora %s -o %s", QWEN2, p("a-peft"), p("x.gguf"));
    expect_fail(args, "[64, 16]");
    CHECK(access(p("x.gguf"), F_OK) != 0);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/hearth-adapter-cli-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(merge_and_run);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
