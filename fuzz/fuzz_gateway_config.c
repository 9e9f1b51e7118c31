/*
 * fuzz_gateway_config.c — libFuzzer entry for the gateway's YAML
 * configuration (hearth_gateway_config_load: libyaml events, every section,
 * PII patterns compiled by PCRE2, keyword lists). The input is written to a
 * file in a private temporary folder (the loader reads a path; relative
 * paths in the config stay inside that folder). Checks: the load either
 * succeeds or fails with a message naming the file.
 */
#include "hearth/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[96];

static void cleanup(void) {
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/hearth-fuzz-gw-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/gateway.yaml", dir);
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    hearth_gateway_config *c = NULL;
    hearth_status st = hearth_gateway_config_load(path, &c);
    if (st == HEARTH_OK) {
        if (!c) abort();
        hearth_gateway_config_free(c);
    } else {
        if (c) abort();
        if (!strstr(hearth_last_error(), "gateway.yaml")) abort();
    }
    return 0;
}
