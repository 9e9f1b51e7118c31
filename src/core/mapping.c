/* mapping.c — read-only file mapping, whole-file reads and huge-page allocations. */
#include "hearth/core.h"
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

hearth_status hearth_map_file(const char *path, hearth_mapping *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return hearth_set_error(HEARTH_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return hearth_set_error(HEARTH_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {   /* mmap of 0 bytes fails; an empty view is fine */
        close(fd);
        static const uint8_t empty[1];
        out->data = empty;
        out->size = 0;
        return HEARTH_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    out->data = p;
    out->size = (size_t)st.st_size;
    out->priv_ = p;
    return HEARTH_OK;
}

#define HUGE_ALIGN ((size_t)2 << 20)

void *hearth_huge_alloc(size_t n) {
    if (n == 0) n = 1;
    size_t len = (n + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
    /* map one alignment more and trim both ends to a 2 MiB boundary */
    uint8_t *raw = mmap(NULL, len + HUGE_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    if (raw + len + HUGE_ALIGN > p + len) munmap(p + len, (size_t)(raw + len + HUGE_ALIGN - (p + len)));
#ifdef MADV_HUGEPAGE
    if (!getenv("HEARTH_NO_HUGE")) madvise(p, len, MADV_HUGEPAGE);   /* advice only: without THP the pages stay 4 KiB */
#endif
    return p;
}

void hearth_huge_free(void *p, size_t n) {
    if (!p) return;
    if (n == 0) n = 1;
    munmap(p, (n + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN);
}

void hearth_unmap(hearth_mapping *m) {
    if (!m) return;
    if (m->priv_) munmap(m->priv_, m->size);
    memset(m, 0, sizeof *m);
}

hearth_status hearth_read_stream(FILE *f, const char *what, char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    if (!what) what = "stream";
    hearth_buf b = {0};
    size_t got;
    do {
        if (!hearth_buf_reserve(&b, 1 << 16)) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", what);
        got = fread(b.data + b.len, 1, b.cap - b.len - 1, f);
        b.len += got;
        b.data[b.len] = 0;
    } while (got > 0);
    if (ferror(f)) {
        hearth_buf_free(&b);
        return hearth_set_error(HEARTH_ERR_IO, "%s: read error", what);
    }
    *out = hearth_buf_take(&b, len);
    return HEARTH_OK;
}

hearth_status hearth_read_file(const char *path, char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    hearth_status st = hearth_read_stream(f, path, out, len);
    fclose(f);
    return st;
}
