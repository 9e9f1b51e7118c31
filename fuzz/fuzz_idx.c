/*
 * fuzz_idx.c — libFuzzer entry for the IDX reader of the vision trainer
 * (hearth_vdata_load_idx, plain or gzip): the input is split at its first
 * byte's position into an image file and a label file, written to memory
 * files. Checks: success gives n images of w x h with labels below
 * n_classes; failure leaves the data set empty.
 *   (target made by fuzz/CMakeLists.txt with every layer)
 */
#include "hearth/vision_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfile(const unsigned char *p, size_t n, char *path, size_t cap) {
    int fd = memfd_create("idx", 0);
    if (fd < 0) return -1;
    if (n && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 1) return 0;
    size_t cut = 1 + (size - 1) * data[0] / 255;
    char pi[64], pl[64];
    int fi = memfile(data + 1, cut - 1, pi, sizeof pi), fl = memfile(data + cut, size - cut, pl, sizeof pl);
    if (fi >= 0 && fl >= 0) {
        hearth_vdata d;
        if (hearth_vdata_load_idx(pi, pl, &d) == HEARTH_OK) {
            if (d.n < 0 || d.w <= 0 || d.h <= 0 || d.c != 1 || !d.labels || !d.pixels) abort();
            for (int64_t i = 0; i < d.n; i++)
                if (d.labels[i] < 0 || d.labels[i] >= d.n_classes) abort();
            hearth_vdata_free(&d);
        } else if (d.n || d.pixels || d.labels) {
            abort();
        }
    }
    if (fi >= 0) close(fi);
    if (fl >= 0) close(fl);
    return 0;
}
