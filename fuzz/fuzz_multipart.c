/*
 * fuzz_multipart.c — libFuzzer entry for the gateway's multipart/form-data
 * reader (src/gateway/pii_store.c: gw_multipart_file, which finds an
 * upload's "file" part before the PII policy reads it). The input's first
 * line is the Content-Type, the rest the body. Checks: a part that is found
 * lies inside the body, its content after its headers.
 */
#include "gateway/gateway_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    size_t cl = (size_t)(nl - (const char *)data);
    char *ctype = strndup((const char *)data, cl);
    size_t blen = size - cl - 1;
    char *body = malloc(blen + 1);   /* an exact copy: reads past it are caught */
    if (!ctype || !body) abort();
    memcpy(body, nl + 1, blen);
    gw_part p;
    if (gw_multipart_file(ctype, body, blen, &p)) {
        if (p.head < body || p.head + p.head_len > body + blen || p.data < p.head + p.head_len ||
            p.data + p.len > body + blen)
            abort();
    }
    free(body);
    free(ctype);
    return 0;
}
