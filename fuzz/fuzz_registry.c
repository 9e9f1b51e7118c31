/*
 * fuzz_registry.c — libFuzzer entry for the model repository's readers of
 * untrusted input. The first byte picks:
 *   0: a manifest (JSON) -> reg_manifest_parse; one that parses is written
 *      back and must parse to the same fields
 *   1: a bundle file -> hearth_registry_import into an empty store (each run
 *      starts from an empty one; a failed import must leave no file behind)
 *   2: a reference / URL -> hearth_registry_parse_ref, hearth_registry_url_resolve
 * Checks: no crash, no leak, no partial import.
 *   hearth_fuzz_target(fuzz_registry hearth_registry hearth_core)
 */
#include "registry/registry_internal.h"
#include "../tests/registry/registry_test.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void import_bundle(const unsigned char *data, size_t size) {
    char dir[] = "/tmp/fuzz-registry-XXXXXX", bundle[64];
    if (!mkdtemp(dir)) return;
    snprintf(bundle, sizeof bundle, "%s.bundle", dir);
    FILE *f = fopen(bundle, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
        hearth_registry *r = NULL;
        if (hearth_registry_open(dir, &r) == HEARTH_OK) {
            size_t n = 0;
            if (hearth_registry_import(r, bundle, &n) != HEARTH_OK &&
                (count_files(dir, "blobs") > 0 || count_files(dir, "manifests") > 0))
                abort();   /* a failed import left files behind */
            hearth_registry_free(r);
        }
        unlink(bundle);
    }
    if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) != 0) abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] % 3;
    data++;
    size--;
    if (mode == 0) {
        hearth_registry_entry e, e2;
        if (reg_manifest_parse((const char *)data, size, &e) == HEARTH_OK) {
            size_t len = 0;
            char *json = reg_manifest_json(&e, &len);
            if (json) {
                if (reg_manifest_parse(json, len, &e2) != HEARTH_OK || strcmp(e.digest, e2.digest) != 0 ||
                    strcmp(e.name, e2.name) != 0 || e.n_parents != e2.n_parents || strcmp(e.command, e2.command) != 0)
                    abort();
                hearth_registry_entry_clear(&e2);
            }
            free(json);
            hearth_registry_entry_clear(&e);
        }
    } else if (mode == 1) {
        import_bundle(data, size);
    } else {
        char s[512];
        size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
        memcpy(s, data, n);
        s[n] = 0;
        char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1], *url = NULL;
        bool alias;
        if (hearth_registry_parse_ref(s, name, tag, &alias) == HEARTH_OK &&
            (strstr(name, "..") || name[0] == '/' || strchr(tag, '/')))
            abort();   /* a traversal got through */
        hearth_registry_looks_like_ref(s);
        if (hearth_registry_url_resolve(s, &url) == HEARTH_OK && strncmp(s, "hf://", 5) == 0 && strstr(url, "/../"))
            abort();
        free(url);
    }
    return 0;
}
