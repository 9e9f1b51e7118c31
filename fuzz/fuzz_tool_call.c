/*
 * fuzz_tool_call.c — libFuzzer target for the tool-call parser
 * (src/generate/tool_call.c) and the tools reader (src/prompt/tools.c).
 *
 * Input: byte 0 picks the format (bits 0-1, plus 4 when bit 7 is set,
 * modulo the number of formats), whether the reply starts inside a call
 * (bit 2) and the piece size the text is fed in (bits 3-6: 1..16 bytes);
 * the rest is the model's reply. The reply is parsed in
 * pieces and then whole, and the two must agree (same calls, names,
 * arguments and content). The same bytes are read as a `tools` array, and
 * each parsed call is checked against it. Nothing may crash, hang or leak.
 * Seed corpus: fuzz/corpus/tool_call (replies in each format).
 */
#include "hearth/tool_call.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static hearth_tool_parser *parse(hearth_tool_format f, bool in_call, const char *s, size_t n, size_t step,
                                 hearth_status *st) {
    hearth_tool_parser_params pp = hearth_tool_parser_default_params();
    pp.format = f;
    pp.in_call = in_call;
    pp.seed = 1;
    hearth_tool_parser *tp = NULL;
    if (hearth_tool_parser_new(&pp, &tp) != HEARTH_OK) return NULL;
    *st = HEARTH_OK;
    for (size_t i = 0; i < n && *st == HEARTH_OK; i += step)
        *st = hearth_tool_parser_feed(tp, s + i, step < n - i ? step : n - i, NULL, NULL);
    if (*st == HEARTH_OK) *st = hearth_tool_parser_finish(tp, NULL, NULL);
    return tp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    hearth_tool_format f = (hearth_tool_format)(((data[0] & 3) | ((data[0] >> 5) & 4)) % HEARTH_TOOL_N_FORMATS);
    bool in_call = (data[0] >> 2) & 1;
    size_t step = (size_t)((data[0] >> 3) & 15) + 1;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    hearth_status st1, st2;
    hearth_tool_parser *a = parse(f, in_call, s, n, step, &st1);
    hearth_tool_parser *b = parse(f, in_call, s, n, n ? n : 1, &st2);
    if (a && b) {
        /* pieces or whole: the same verdict and the same calls */
        if (st1 != st2 || hearth_tool_parser_n_calls(a) != hearth_tool_parser_n_calls(b)) abort();
        size_t la, lb;
        const char *ca = hearth_tool_parser_content(a, &la), *cb = hearth_tool_parser_content(b, &lb);
        if (st1 == HEARTH_OK && (la != lb || memcmp(ca, cb, la))) abort();
        for (int i = 0; st1 == HEARTH_OK && i < hearth_tool_parser_n_calls(a); i++) {
            const hearth_tool_call *x = hearth_tool_parser_call(a, i), *y = hearth_tool_parser_call(b, i);
            if (strcmp(x->name, y->name) || strcmp(x->arguments, y->arguments)) abort();
        }
    }
    hearth_tools *t = NULL;
    if (hearth_tools_parse(s, n, &t) == HEARTH_OK) {
        for (int i = 0; b && i < hearth_tool_parser_n_calls(b); i++) {
            const hearth_tool_call *c = hearth_tool_parser_call(b, i);
            (void)hearth_tools_check(t, c->name, c->arguments, strlen(c->arguments));
        }
        hearth_grammar *g = NULL;
        if (hearth_tools_grammar(t, f, NULL, &g) == HEARTH_OK) hearth_grammar_free(g);
        hearth_tools_free(t);
    }
    hearth_tool_parser_free(a);
    hearth_tool_parser_free(b);
    return 0;
}
