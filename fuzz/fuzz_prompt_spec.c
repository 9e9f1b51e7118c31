/*
 * fuzz_prompt_spec.c — libFuzzer target for the prompt library's parsers
 * (src/prompt/yaml_json.c, library.c, eval.c): prompt specs (YAML or JSON,
 * their Jinja fields parsed, variables and schemas checked) and evaluation
 * suites.
 *
 * Input: a spec text; the same bytes are also read as a suite and run
 * against an empty in-memory library with a model path that does not
 * exist, so only the suite checks run. Nothing may crash, hang or leak.
 * Seed corpus: fuzz/corpus/prompt_spec.
 */
#include "hearth/prompt_library.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    (void)hearth_prompt_spec_check((const char *)data, size);
    hearth_prompt_lib *lib = NULL;
    if (hearth_prompt_lib_open(":memory:", &lib) != HEARTH_OK) return 0;
    int32_t v = 0;
    if (hearth_prompt_add(lib, "p", (const char *)data, size, "fuzz", &v) == HEARTH_OK) {
        char *out = NULL;
        if (hearth_prompt_render_json(lib, "p@1", "{}", 2, NULL, &out) == HEARTH_OK) free(out);
    }
    const char *models[] = {"/nonexistent/fuzz.gguf"};
    hearth_prompt_eval_params p = hearth_prompt_eval_default_params();
    p.models = models;
    p.n_models = 1;
    char *res = NULL;
    if (hearth_prompt_eval(lib, (const char *)data, size, &p, &res) == HEARTH_OK) free(res);
    hearth_prompt_lib_free(lib);
    return 0;
}
