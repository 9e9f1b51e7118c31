/*
 * registry_test.h — helpers shared by the model store's tests and fuzzer:
 * counting the files of a store's subfolder and its versions.
 */
#ifndef HEARTH_TESTS_REGISTRY_TEST_H
#define HEARTH_TESTS_REGISTRY_TEST_H

#include "hearth/registry.h"

#include <dirent.h>
#include <stdio.h>

/* files in DIR/SUB (dot files aside); -1 when it cannot be read */
static inline int count_files(const char *dir, const char *sub) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    DIR *d = opendir(p);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* versions in the store; (size_t)-1 on error */
static inline size_t n_versions(hearth_registry *r) {
    hearth_registry_entry *v = NULL;
    size_t n = 0;
    if (hearth_registry_list(r, &v, &n) != HEARTH_OK) return (size_t)-1;
    hearth_registry_entries_free(v, n);
    return n;
}

#endif
