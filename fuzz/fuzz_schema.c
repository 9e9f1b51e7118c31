/*
 * fuzz_schema.c — libFuzzer target for the JSON Schema validator
 * (src/prompt/schema*.c) and the schema / GBNF compilers and matcher
 * (src/sample/grammar*.c).
 *
 * Input: a schema (or grammar) text, optionally followed by a NUL byte and
 * an instance text. The text is compiled as a JSON Schema for validation,
 * as a JSON Schema for constrained decoding and as a GBNF grammar; the
 * instance is validated and fed to each matcher byte by byte. Nothing may
 * crash, hang or leak; compile limits keep every input to milliseconds.
 * Seed corpus: fuzz/corpus/schema (schemas and grammars from the tests).
 */
#include "hearth/grammar.h"
#include "hearth/schema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void run_matcher(const hearth_grammar *g, const char *inst, size_t n) {
    hearth_grammar_matcher *m = NULL;
    if (hearth_grammar_matcher_new(g, &m) != HEARTH_OK) return;
    for (size_t i = 0; i < n; i++)
        if (hearth_grammar_advance(m, inst + i, 1) != HEARTH_OK) break;
    (void)hearth_grammar_accepting(m);
    (void)hearth_grammar_finished(m);
    hearth_grammar_matcher_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *src = (const char *)data;
    size_t src_len = size, inst_len = 0;
    const char *inst = "";
    const void *nul = memchr(data, 0, size);
    if (nul) {
        src_len = (size_t)((const uint8_t *)nul - data);
        inst = src + src_len + 1;
        inst_len = size - src_len - 1;
    }
    hearth_schema *s = NULL;
    hearth_schema_params p = hearth_schema_default_params();
    p.max_depth = 64;
    if (hearth_schema_compile(src, src_len, &p, &s) == HEARTH_OK) {
        bool ok;
        char *why = NULL;
        hearth_schema_validate(s, inst, inst_len, &ok, &why);
        free(why);
        hearth_schema_free(s);
    }
    hearth_grammar *g = NULL;
    if (hearth_grammar_from_schema(src, src_len, &g) == HEARTH_OK) {
        run_matcher(g, inst, inst_len);
        hearth_grammar_free(g);
    }
    if (hearth_grammar_from_gbnf(src, src_len, NULL, &g) == HEARTH_OK) {
        run_matcher(g, inst, inst_len);
        hearth_grammar_free(g);
    }
    return 0;
}
