/*
 * fuzz_index.c — libFuzzer entry for the vector index's file readers: the
 * snapshot parser and the write-ahead-log replay, on arbitrary bytes. The
 * first byte picks the reader and whether checksums are fixed up first (so
 * the fuzzer reaches the structure checks behind them):
 *   0: snapshot as is          1: snapshot with a valid trailer appended
 *   2: log records as they are 3: log records with their checksums fixed
 * Checks: no crash, no leak, and a snapshot that parses answers a search.
 *   hearth_fuzz_target(fuzz_index hearth_index hearth_core)
 */
#include "index/idx.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] & 3;
    data++;
    size--;
    if (mode <= 1) {
        size_t n = size + (mode == 1 ? 12 : 0);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) return 0;
        memcpy(buf, data, size);
        if (mode == 1) {
            uint32_t crc = idx_crc32(0, buf, size);
            memcpy(buf + size, &crc, 4);
            memcpy(buf + size + 4, "HIDXEND1", 8);
        }
        hearth_index *ix = NULL;
        if (idx_snapshot_parse(buf, n, "fuzz", NULL, &ix) == HEARTH_OK) {
            float *q = calloc((size_t)ix->dim, sizeof *q);
            hearth_index_hit h[4];
            size_t nh;
            if (q) {
                q[0] = 1;
                hearth_index_search(ix, q, 4, NULL, h, &nh);
            }
            free(q);
            hearth_index_close(ix);
        }
        free(buf);
        return 0;
    }
    hearth_index_params p = hearth_index_default_params();
    p.dim = 4;
    p.M = 4;
    p.ef_construction = 8;
    p.n_threads = 1;
    hearth_index *ix = NULL;
    if (hearth_index_create(&p, &ix) != HEARTH_OK) return 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf) {
        memcpy(buf, data, size);
        if (mode == 3)   /* fix each record's checksum where its length fits */
            for (size_t at = 0; at + 8 <= size;) {
                uint32_t len;
                memcpy(&len, buf + at, 4);
                if (len > size - at - 8) break;
                uint32_t crc = idx_crc32(0, buf + at + 8, len);
                memcpy(buf + at + 4, &crc, 4);
                at += 8 + len;
            }
        size_t good;
        uint64_t recs;
        char why[160];
        idx_wal_replay(ix, buf, size, &good, &recs, why, sizeof why);
        if (good > size) abort();
        float q[4] = {1, 0, 0, 0};
        hearth_index_hit h[4];
        size_t nh;
        hearth_index_search(ix, q, 4, NULL, h, &nh);
        free(buf);
    }
    hearth_index_close(ix);
    return 0;
}
