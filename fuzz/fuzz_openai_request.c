/*
 * fuzz_openai_request.c — libFuzzer entry for the OpenAI request parser of
 * hearth serve (src/server/api.c: api_parse) on arbitrary bodies. The first
 * byte picks the endpoint (chat completions, completions, embeddings); the
 * rest is the body. A server with the tiny test model is created once (not
 * started: nothing listens). Checks: a parsed request has a model and a
 * prompt that fits the context; a refused one has an HTTP 4xx/5xx status,
 * a message, and an error body that is valid JSON.
 */
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static hearth_server *server(void) {
    static hearth_server *s;
    if (!s) {
        hearth_server_params p = hearth_server_default_params();
        p.n_parallel = 1;
        p.n_ctx_per_seq = 256;
        if (hearth_server_create(&p, &s) != HEARTH_OK ||
            hearth_server_add_model(s, "tiny", HEARTH_SOURCE_DIR "/tests/data/models/tiny-llama-spm-f16.gguf") != HEARTH_OK)
            abort();
    }
    return s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    hearth_server *s = server();
    if (size < 1) return 0;
    int kind = data[0] % 3 == 0 ? JOB_CHAT : data[0] % 3 == 1 ? JOB_COMPLETION : JOB_EMBED;
    api_error e;
    memset(&e, 0, sizeof e);
    srv_job *j = api_parse(s, kind, (const char *)data + 1, size - 1, &e);
    if (j) {
        if (!j->model) abort();
        if (kind != JOB_EMBED && (j->n_prompt <= 0 || j->n_prompt >= 256)) abort();
        job_unref(j);
    } else {
        if (e.status < 400 || e.status > 599 || !e.message[0]) abort();
        char *body = api_error_body(&e);
        if (!body) abort();
        cJSON *b = cJSON_Parse(body);
        if (!b) abort();
        cJSON_Delete(b);
        free(body);
    }
    return 0;
}
