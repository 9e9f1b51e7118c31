/*
 * test_golden.c — the forward pass against llama.cpp's outputs
 * (tests/data/reference/reference.json) on the four F16 reference models:
 * greedy decoding of each reference prompt reproduces the reference ids up to
 * the first near-tie (gap < 0.05), and the first position's top-5 logits are
 * within 1 % of the logit range. The prompt ids are fed as the reference gives
 * them (the tokenizer is checked against them in test_perplexity), with the
 * default (F16) KV cache; once with the fast kernels and once with the
 * scalar reference (HEARTH_FORCE_REFERENCE is read at start-up, so the
 * reference run is a second process).
 */
#include "harness.h"

#include "golden_util.h"
#include "kernels/kernels.h"
#include "hearth/model.h"

#include <stdio.h>

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

static void greedy_one(const char *file, const cJSON *entry) {
    char path[512];
    snprintf(path, sizeof path, HEARTH_TEST_DATA "/models/%s", file);
    hearth_model *m = NULL;
    hearth_status s = hearth_model_load(path, NULL, &m);
    CHECK_MSG(s == HEARTH_OK, "%s: %s", file, hearth_last_error());
    if (s) return;
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 2;
    hearth_context *c = NULL;
    s = hearth_context_create(m, &cp, &c);
    CHECK_MSG(s == HEARTH_OK, "%s: %s", file, hearth_last_error());
    const cJSON *greedy = cJSON_GetObjectItem(entry, "greedy");
    int n_vocab = hearth_model_n_vocab(m);
    for (int p = 0; c && p < cJSON_GetArraySize(greedy); p++) {
        const cJSON *g = cJSON_GetArrayItem(greedy, p);
        const char *prompt = cJSON_GetObjectItem(g, "prompt")->valuestring;
        int np, nids, ngaps, ntop;
        int32_t *pids = json_ids(cJSON_GetObjectItem(g, "prompt_ids"), &np);
        int32_t *ids = json_ids(cJSON_GetObjectItem(g, "ids"), &nids);
        const cJSON *gaps = cJSON_GetObjectItem(g, "gaps"), *top5 = cJSON_GetObjectItem(g, "top5_first");
        ngaps = cJSON_GetArraySize(gaps);
        ntop = cJSON_GetArraySize(top5);
        hearth_context_truncate(c, 0);
        s = hearth_decode(c, pids, np, false);
        CHECK_MSG(s == HEARTH_OK, "%s: %s", file, hearth_last_error());
        const float *lg = hearth_get_logits(c);
        /* top-5 logits of the first generated position */
        float lo = lg[0], hi = lg[0];
        for (int k = 0; k < n_vocab; k++) { lo = lg[k] < lo ? lg[k] : lo; hi = lg[k] > hi ? lg[k] : hi; }
        float *sorted = malloc((size_t)n_vocab * sizeof *sorted);
        memcpy(sorted, lg, (size_t)n_vocab * sizeof *sorted);
        double worst = 0;
        for (int k = 0; k < ntop; k++) {
            /* reference entry k: [id, logit]; compare the logit of that id */
            const cJSON *pair = cJSON_GetArrayItem(top5, k);
            int rid = (int)cJSON_GetArrayItem(pair, 0)->valuedouble;
            double ref = cJSON_GetArrayItem(pair, 1)->valuedouble;
            int b = argmax(sorted, n_vocab);
            double err = fabs(lg[rid] - ref) / (hi - lo);
            worst = err > worst ? err : worst;
            CHECK_MSG(err <= 0.01, "%s \"%s\": top-%d (id %d) logit %.5f vs reference %.5f (range %.3f)", file, prompt,
                      k + 1, rid, lg[rid], ref, hi - lo);
            /* and our k-th largest logit is within the same tolerance of the reference k-th */
            CHECK_MSG(fabs(sorted[b] - ref) / (hi - lo) <= 0.01, "%s \"%s\": our top-%d logit %.5f vs %.5f", file,
                      prompt, k + 1, sorted[b], ref);
            sorted[b] = -INFINITY;
        }
        free(sorted);
        /* greedy ids up to the first near-tie */
        int agree = 0;
        for (int i = 0; i < nids && i < ngaps; i++) {
            if (cJSON_GetArrayItem(gaps, i)->valuedouble < 0.05) break;
            int id = argmax(hearth_get_logits(c), n_vocab);
            CHECK_MSG(id == ids[i], "%s \"%s\": step %d: id %d, reference %d", file, prompt, i, id, ids[i]);
            if (id != ids[i]) break;
            agree++;
            if ((s = hearth_decode(c, &id, 1, false))) {
                CHECK_MSG(0, "%s: %s", file, hearth_last_error());
                break;
            }
        }
        printf("  %-26s %-36s greedy %2d ids agree before the first near-tie; top-5 worst %.4f%% of range\n", file,
               prompt, agree, worst * 100);
        free(pids);
        free(ids);
    }
    hearth_context_free(c);
    hearth_model_free(m);
}

TEST(greedy_matches_reference) {
    cJSON *ref = load_reference();
    CHECK(ref != NULL);
    if (!ref) return;
    for (int i = 0; i < N_GOLDEN_MODELS; i++) {
        const cJSON *e = cJSON_GetObjectItem(ref, GOLDEN_MODELS[i]);
        CHECK(e != NULL);
        if (e) greedy_one(GOLDEN_MODELS[i], e);
    }
    cJSON_Delete(ref);
}

int main(void) {
    printf("kernels: %s\n", hearth_isa_name(hearth_kernels_isa()));
    RUN(greedy_matches_reference);
    return harness_done();
}
