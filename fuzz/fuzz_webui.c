/*
 * fuzz_webui.c — the web console's request handling (src/webui): a URL path,
 * Accept-Encoding and If-None-Match from the network, split from the input
 * at NUL bytes, looked up among the files built into the binary.
 */
#include "webui/webui.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static webui *u;
    if (!u && webui_create(NULL, &u) != HEARTH_OK) return 0;
    char *s = malloc(size + 3);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = s[size + 1] = s[size + 2] = 0;
    const char *path = s, *ae = path + strlen(path) + 1;
    const char *inm = ae + strlen(ae) + 1;
    if (inm > s + size) inm = NULL;
    if (ae > s + size) ae = NULL;
    webui_reply r;
    if (webui_get(u, path, ae, inm, &r)) {
        volatile unsigned char sum = 0;
        for (size_t i = 0; i < r.len; i += 4096) sum ^= r.body[i];   /* the body is readable */
        (void)sum;
        webui_reply_free(&r);
    }
    free(s);
    return 0;
}
