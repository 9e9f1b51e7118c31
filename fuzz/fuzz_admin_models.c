/*
 * fuzz_admin_models.c — libFuzzer entry for the admin API of hearth serve
 * (src/server/admin_models.c: admin_handle) on arbitrary bodies. The first
 * byte picks the call (GET /admin/models, POST load, swap, unload, aliases);
 * the rest is the body. A server with the tiny test model and the right
 * admin token is created once (not started: nothing listens, no scheduler).
 * Checks: every answer has a status in 200..599 and a body that is valid
 * JSON; a refusal (4xx/5xx) carries an error message.
 */
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "fuzz-admin-token-0123456789"

static hearth_server *server(void) {
    static hearth_server *s;
    if (!s) {
        hearth_server_params p = hearth_server_default_params();
        p.n_parallel = 1;
        p.n_ctx_per_seq = 128;
        p.admin_token = TOKEN;
        if (hearth_server_create(&p, &s) != HEARTH_OK ||
            hearth_server_add_model(s, "tiny", HEARTH_SOURCE_DIR "/tests/data/models/tiny-llama-spm-f16.gguf") != HEARTH_OK)
            abort();
    }
    return s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static const char *const urls[] = {"/admin/models", "/admin/models/load", "/admin/models/swap",
                                       "/admin/models/unload", "/admin/aliases", "/admin/models/nothing"};
    hearth_server *s = server();
    if (size < 1) return 0;
    int op = data[0] % 6;
    char *out = NULL;
    int st = admin_handle(s, op == 0 ? "GET" : "POST", urls[op], "Bearer " TOKEN, (const char *)data + 1, size - 1, &out);
    if (st < 200 || st > 599 || !out) abort();
    cJSON *j = cJSON_Parse(out);
    if (!j) abort();
    if (st >= 400) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
        if (!cJSON_IsString(m) || !m->valuestring[0]) abort();
    }
    cJSON_Delete(j);
    free(out);
    return 0;
}
