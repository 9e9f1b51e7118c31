/* golden_util.h — shared by the golden tests: the reference data and the list
 * of models copied from the reference set (tests/data/models, F16 only). */
#ifndef HEARTH_TEST_GOLDEN_UTIL_H
#define HEARTH_TEST_GOLDEN_UTIL_H

#include <cjson/cJSON.h>
#include <stdlib.h>

static const char *const GOLDEN_MODELS[] = {
    "tiny-llama-spm-f16.gguf",
    "tiny-qwen2-gpt2-f16.gguf",
    "kq-llama-256-f16.gguf",
    "licenses-llama-f16.gguf",
};
#define N_GOLDEN_MODELS 4

static cJSON *load_reference(void) {
    char *txt = harness_read(HEARTH_TEST_DATA "/reference/reference.json", NULL);
    if (!txt) return NULL;
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    return j;
}

static int32_t *json_ids(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    int32_t *ids = malloc((size_t)(*n > 0 ? *n : 1) * sizeof *ids);
    for (int i = 0; i < *n; i++) ids[i] = (int32_t)cJSON_GetArrayItem(arr, i)->valuedouble;
    return ids;
}

#endif
