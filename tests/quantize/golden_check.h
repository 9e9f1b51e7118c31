/* golden_check.h — helpers shared by the quantized-model golden tests
 * (test_quant_golden, test_quantize): finding a model file (tests/data or the
 * reference set beside the clone), perplexity at c = 128 the llama.cpp way
 * and greedy decoding against tests/data/reference/reference.json, with the
 * agreement rules of tests/model (PPL within a tolerance, greedy ids equal up
 * to the first near-tie, gap < 0.05). */
#ifndef HEARTH_TEST_GOLDEN_CHECK_H
#define HEARTH_TEST_GOLDEN_CHECK_H

#include "harness.h"
#include "hearth/model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HEARTH_SHARED_MODELS
#define HEARTH_SHARED_MODELS ""
#endif

static inline cJSON *gc_reference(void) {
    char *txt = harness_read(HEARTH_TEST_DATA "/reference/reference.json", NULL);
    if (!txt) return NULL;
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    return j;
}

/* path of model `file` in tests/data/models, else in the shared reference set;
 * false if in neither */
static inline bool gc_find_model(const char *file, char *path, size_t size) {
    snprintf(path, size, HEARTH_TEST_DATA "/models/%s", file);
    if (access(path, R_OK) == 0) return true;
    snprintf(path, size, "%s/%s", HEARTH_SHARED_MODELS, file);
    return HEARTH_SHARED_MODELS[0] && access(path, R_OK) == 0;
}

static inline int32_t *gc_ids(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    int32_t *ids = malloc((size_t)(*n > 0 ? *n : 1) * sizeof *ids);
    for (int i = 0; i < *n; i++) ids[i] = (int32_t)cJSON_GetArrayItem(arr, i)->valuedouble;
    return ids;
}

static inline double gc_ref_ppl(const cJSON *ref, const char *file, const char *text) {
    const cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ref, file), "ppl"), text);
    const cJSON *p = cJSON_GetObjectItem(e, "ppl");
    return p ? p->valuedouble : NAN;
}

/* perplexity of text (tests/data/reference/<text>) at context 128; NAN on failure */
static inline double gc_ppl(hearth_model *m, const char *text) {
    char tp[512];
    snprintf(tp, sizeof tp, HEARTH_TEST_DATA "/reference/%s", text);
    size_t len;
    char *txt = harness_read(tp, &len);
    hearth_tokenize_params par = hearth_tokenize_default_params();
    int32_t *ids = NULL;
    size_t nids = 0;
    double out = NAN;
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 128;
    cp.n_threads = 2;
    hearth_context *c = NULL;
    hearth_ppl_result res;
    if (txt && hearth_tokenize(hearth_model_vocab(m), txt, len, &par, &ids, &nids) == HEARTH_OK &&
        hearth_context_create(m, &cp, &c) == HEARTH_OK && hearth_perplexity(c, ids, nids, 128, NULL, NULL, &res) == HEARTH_OK)
        out = res.ppl;
    hearth_context_free(c);
    free(ids);
    free(txt);
    return out;
}

static inline int gc_argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

/* greedy decoding of every reference prompt of `entry` reproduces the
 * reference ids up to the first near-tie; returns the total of agreeing ids */
static inline int gc_greedy(hearth_model *m, const char *label, const cJSON *entry) {
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 2;
    hearth_context *c = NULL;
    hearth_status s = hearth_context_create(m, &cp, &c);
    CHECK_MSG(s == HEARTH_OK, "%s: %s", label, hearth_last_error());
    const cJSON *greedy = cJSON_GetObjectItem(entry, "greedy");
    CHECK_MSG(cJSON_GetArraySize(greedy) > 0, "%s: no greedy reference", label);
    int n_vocab = hearth_model_n_vocab(m), total = 0;
    for (int p = 0; c && p < cJSON_GetArraySize(greedy); p++) {
        const cJSON *g = cJSON_GetArrayItem(greedy, p);
        const char *prompt = cJSON_GetObjectItem(g, "prompt")->valuestring;
        int np, nids;
        int32_t *pids = gc_ids(cJSON_GetObjectItem(g, "prompt_ids"), &np);
        int32_t *ids = gc_ids(cJSON_GetObjectItem(g, "ids"), &nids);
        const cJSON *gaps = cJSON_GetObjectItem(g, "gaps");
        hearth_context_truncate(c, 0);
        s = hearth_decode(c, pids, np, false);
        CHECK_MSG(s == HEARTH_OK, "%s: %s", label, hearth_last_error());
        int agree = 0;
        for (int i = 0; s == HEARTH_OK && i < nids && i < cJSON_GetArraySize(gaps); i++) {
            if (cJSON_GetArrayItem(gaps, i)->valuedouble < 0.05) break;
            int id = gc_argmax(hearth_get_logits(c), n_vocab);
            CHECK_MSG(id == ids[i], "%s \"%s\": step %d: id %d, reference %d", label, prompt, i, id, ids[i]);
            if (id != ids[i]) break;
            agree++;
            s = hearth_decode(c, &id, 1, false);
            CHECK_MSG(s == HEARTH_OK, "%s: %s", label, hearth_last_error());
        }
        printf("  %-28s %-36s greedy: %2d ids agree before the first near-tie\n", label, prompt, agree);
        total += agree;
        free(pids);
        free(ids);
    }
    hearth_context_free(c);
    return total;
}

#endif
