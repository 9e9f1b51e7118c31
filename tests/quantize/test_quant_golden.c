/*
 * test_quant_golden.c — the reference engine's quantized files against its
 * own outputs (tests/data/reference/reference.json): perplexity at c = 128 on
 * gpl3.txt and zh3.txt within 1 % and greedy ids up to the first near-tie.
 *
 *   test_quant_golden licenses   licenses-llama-{Q8_0,Q4_0}.gguf (tests/data)
 *   test_quant_golden kq         kq-llama-256-{Q4_K_M,Q5_K_M,Q6_K}.gguf, from
 *                                tests/data/models or ../shared/testdata/models;
 *                                exit 77 (skipped) when they are in neither
 */
#include "golden_check.h"

#include "kernels/kernels.h"

static const char *const LICENSES[] = {"licenses-llama-Q8_0.gguf", "licenses-llama-Q4_0.gguf", NULL};
static const char *const KQ[] = {"kq-llama-256-Q4_K_M.gguf", "kq-llama-256-Q5_K_M.gguf", "kq-llama-256-Q6_K.gguf", NULL};
static const char *const TEXTS[] = {"gpl3.txt", "zh3.txt"};

static void check_file(const cJSON *ref, const char *file, const char *path) {
    hearth_model *m = NULL;
    hearth_status s = hearth_model_load(path, NULL, &m);
    CHECK_MSG(s == HEARTH_OK, "%s: %s", file, hearth_last_error());
    if (s) return;
    for (int t = 0; t < 2; t++) {
        double want = gc_ref_ppl(ref, file, TEXTS[t]), got = gc_ppl(m, TEXTS[t]);
        double rel = fabs(got - want) / want;
        CHECK_MSG(rel <= 0.01, "%s %s: PPL %.4f, reference %.4f (%.3f%%)", file, TEXTS[t], got, want, rel * 100);
        printf("  %-28s %-9s PPL %14.4f  reference %14.4f  (%+.3f%%)\n", file, TEXTS[t], got, want,
               (got - want) / want * 100);
    }
    const cJSON *e = cJSON_GetObjectItem(ref, file);
    CHECK_MSG(e != NULL, "%s: no reference entry", file);
    if (e) CHECK_MSG(gc_greedy(m, file, e) > 0, "%s: no greedy id checked", file);
    hearth_model_free(m);
}

int main(int argc, char **argv) {
    bool kq = argc > 1 && strcmp(argv[1], "kq") == 0;
    const char *const *files = kq ? KQ : LICENSES;
    char path[1024];
    for (int i = 0; files[i]; i++) {
        if (!gc_find_model(files[i], path, sizeof path)) {
            printf("skipped: %s is neither in " HEARTH_TEST_DATA "/models nor in %s (the reference set beside "
                   "the clone)\n", files[i], HEARTH_SHARED_MODELS[0] ? HEARTH_SHARED_MODELS : "(not configured)");
            return 77;
        }
    }
    printf("kernels: %s\n", hearth_isa_name(hearth_kernels_isa()));
    cJSON *ref = gc_reference();
    CHECK(ref != NULL);
    for (int i = 0; ref && files[i]; i++) {
        gc_find_model(files[i], path, sizeof path);
        printf("%s\n", path);
        check_file(ref, files[i], path);
    }
    cJSON_Delete(ref);
    return harness_done();
}
