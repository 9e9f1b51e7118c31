/*
 * fuzz_jinja.c — libFuzzer target for the Jinja engine (src/prompt).
 *
 * Input: template source, optionally followed by a NUL byte and a JSON
 * context; without one a small chat context is used. Parsing and rendering
 * must never crash, hang or leak: work is capped with small limits so each
 * input finishes in milliseconds. Seed corpus: the templates in
 * tests/data/templates/ (the `template` strings).
 */
#include "hearth/jinja.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char DEFAULT_CTX[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi \\u4f60\"},"
    " {\"role\": \"assistant\", \"content\": \"Yo\", \"tool_calls\": [{\"id\": \"abcdefghi\", \"type\": \"function\","
    " \"function\": {\"name\": \"f\", \"arguments\": {\"x\": 1}}}]}, {\"role\": \"tool\", \"tool_call_id\": \"abcdefghi\","
    " \"content\": \"{}\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}}, \"required\": [\"x\"]}}}],"
    " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *src = (const char *)data;
    size_t src_len = size;
    const char *ctx = DEFAULT_CTX;
    size_t ctx_len = sizeof DEFAULT_CTX - 1;
    const void *nul = memchr(data, 0, size);
    if (nul) {
        src_len = (size_t)((const uint8_t *)nul - data);
        ctx = src + src_len + 1;
        ctx_len = size - src_len - 1;
    }
    hearth_jinja_template *t = NULL;
    if (hearth_jinja_parse(src, src_len, &t) != HEARTH_OK) return 0;
    hearth_jinja_options opt = hearth_jinja_default_options();
    opt.max_steps = 200000;
    opt.max_output = 1 << 20;
    opt.max_memory = 32u << 20;
    opt.max_depth = 50;
    struct tm now;
    memset(&now, 0, sizeof now);
    now.tm_year = 126;
    opt.now = &now;
    char *out = NULL;
    size_t len = 0;
    if (hearth_jinja_render_json(t, ctx, ctx_len, &opt, &out, &len) == HEARTH_OK && out) {
        if (strlen(out) > len) abort();   /* the reported length covers the text */
    }
    free(out);
    hearth_jinja_free(t);
    return 0;
}
