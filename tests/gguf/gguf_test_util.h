/* gguf_test_util.h — helpers shared by the GGUF tests: listing test files. */
#ifndef GGUF_TEST_UTIL_H
#define GGUF_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gguf_files {
    int n;
    char *path[256];
} gguf_files;

static inline int gguf_files_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends every *.gguf in dir (silently nothing if dir is absent). */
static inline void gguf_files_add_dir(gguf_files *f, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    int first = f->n;
    while ((e = readdir(d)) && f->n < 256) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0) continue;
        char *p = malloc(strlen(dir) + n + 2);
        sprintf(p, "%s/%s", dir, e->d_name);
        f->path[f->n++] = p;
    }
    closedir(d);
    qsort(f->path + first, (size_t)(f->n - first), sizeof(char *), gguf_files_cmp);
}

/* Vocab files (always in the repo), the repo's model files, and the shared
 * reference models when the build machine has them (GGUF_EXTRA_DIR). */
static inline gguf_files gguf_files_all(void) {
    gguf_files f;
    memset(&f, 0, sizeof f);
    gguf_files_add_dir(&f, HEARTH_TEST_DATA "/vocab");
    gguf_files_add_dir(&f, HEARTH_TEST_DATA "/models");
#ifdef GGUF_EXTRA_DIR
    gguf_files_add_dir(&f, GGUF_EXTRA_DIR);
#endif
    return f;
}

static inline void gguf_files_free(gguf_files *f) {
    for (int i = 0; i < f->n; i++) free(f->path[i]);
    f->n = 0;
}

static inline const char *gguf_basename(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

#endif
