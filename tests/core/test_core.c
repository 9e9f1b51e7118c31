/* test_core.c — thread pool, row splitting, errors, file mapping, type table. */
#include "harness.h"
#include "hearth/core.h"
#include "hearth/types.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct {
    int64_t n;
    atomic_int *hits;   /* hits[i]: how often row i was visited */
} split_job;

static void visit_rows(void *arg, int ith, int nth) {
    split_job *j = arg;
    int64_t r0, r1;
    hearth_split_rows(j->n, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) atomic_fetch_add(&j->hits[r], 1);
}

TEST(pool_visits_every_row_once) {
    for (int nt = 1; nt <= 4; nt++) {
        hearth_pool *p = hearth_pool_create(nt);
        CHECK(p != NULL);
        CHECK_EQ_INT(hearth_pool_size(p), nt);
        for (int64_t n = 0; n < 50; n += 7) {
            atomic_int hits[64] = {0};
            split_job j = {n, hits};
            for (int rep = 0; rep < 100; rep++) hearth_pool_run(p, visit_rows, &j);
            for (int64_t r = 0; r < n; r++) CHECK_EQ_INT(atomic_load(&hits[r]), 100);
            for (int64_t r = n; r < 64; r++) CHECK_EQ_INT(atomic_load(&hits[r]), 0);
        }
        hearth_pool_free(p);
    }
    hearth_pool_free(NULL);
    /* NULL pool runs on the caller */
    atomic_int hits[8] = {0};
    split_job j = {8, hits};
    hearth_pool_run(NULL, visit_rows, &j);
    for (int r = 0; r < 8; r++) CHECK_EQ_INT(atomic_load(&hits[r]), 1);
}

TEST(split_rows_balanced) {
    int64_t r0, r1, total = 0;
    for (int i = 0; i < 3; i++) {
        hearth_split_rows(10, i, 3, &r0, &r1);
        CHECK(r1 - r0 == 3 || r1 - r0 == 4);
        total += r1 - r0;
    }
    CHECK_EQ_INT(total, 10);
}

TEST(errors_carry_message) {
    hearth_status s = hearth_set_error(HEARTH_ERR_FORMAT, "bad thing at offset %d", 42);
    CHECK_EQ_INT(s, HEARTH_ERR_FORMAT);
    CHECK_STR(hearth_last_error(), "bad thing at offset 42");
    CHECK_STR(hearth_status_str(HEARTH_ERR_FORMAT), "format error");
}

/* a message built from the previous one (the usual "context: cause") keeps both */
TEST(error_wraps_the_previous_message) {
    hearth_set_error(HEARTH_ERR_IO, "cannot open weights.gguf: No such file or directory");
    CHECK(hearth_set_error(HEARTH_ERR_FORMAT, "model %s: %s", "chat", hearth_last_error()) == HEARTH_ERR_FORMAT);
    CHECK_STR(hearth_last_error(), "model chat: cannot open weights.gguf: No such file or directory");
    hearth_set_error(HEARTH_ERR_IO, "%s (and %s)", hearth_last_error(), hearth_last_error());
    CHECK_STR(hearth_last_error(), "model chat: cannot open weights.gguf: No such file or directory (and model chat: "
                                   "cannot open weights.gguf: No such file or directory)");
}

TEST(map_missing_file_fails_cleanly) {
    hearth_mapping m;
    CHECK_EQ_INT(hearth_map_file("/nonexistent/hearth/file", &m), HEARTH_ERR_IO);
    CHECK(strstr(hearth_last_error(), "/nonexistent/hearth/file") != NULL);
    hearth_unmap(&m);
    hearth_unmap(NULL);
}

/* huge-page arenas: 2 MiB aligned, zeroed, the whole size writable, several at once */
TEST(huge_alloc_aligned_zeroed) {
    size_t sizes[3] = {1, (size_t)3 << 20, ((size_t)2 << 20) + 4096};
    uint8_t *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = hearth_huge_alloc(sizes[i]);
        CHECK(p[i] != NULL);
        if (!p[i]) return;
        CHECK_MSG(((uintptr_t)p[i] & (((uintptr_t)2 << 20) - 1)) == 0, "arena %d at %p is not 2 MiB aligned", i, (void *)p[i]);
        size_t nz = 0;
        for (size_t k = 0; k < sizes[i]; k++) nz += p[i][k] != 0;
        CHECK_EQ_INT((int)nz, 0);
        memset(p[i], 0xA5, sizes[i]);
    }
    for (int i = 0; i < 3; i++) CHECK(p[i][sizes[i] - 1] == 0xA5 && p[i][0] == 0xA5);
    for (int i = 0; i < 3; i++) hearth_huge_free(p[i], sizes[i]);
    hearth_huge_free(NULL, 0);
}

TEST(type_table_matches_ggml) {
    CHECK_EQ_INT(hearth_row_size(HEARTH_TYPE_Q4_0, 64), 36);
    CHECK_EQ_INT(hearth_row_size(HEARTH_TYPE_Q4_K, 512), 288);
    CHECK_EQ_INT(hearth_row_size(HEARTH_TYPE_Q6_K, 256), 210);
    CHECK_EQ_INT(hearth_row_size(HEARTH_TYPE_F16, 7), 14);
    CHECK_EQ_INT(hearth_row_size(HEARTH_TYPE_Q8_0, 33), 0);   /* not a whole block */
    CHECK(hearth_type_get(4) == NULL);                        /* Q4_2: removed */
    CHECK(hearth_type_get(1000) == NULL);
    CHECK_EQ_INT(hearth_type_from_name("q5_k"), HEARTH_TYPE_Q5_K);
    CHECK_EQ_INT(hearth_type_from_name("nope"), -1);
}

int main(void) {
    RUN(pool_visits_every_row_once);
    RUN(split_rows_balanced);
    RUN(errors_carry_message);
    RUN(error_wraps_the_previous_message);
    RUN(map_missing_file_fails_cleanly);
    RUN(type_table_matches_ggml);
    RUN(huge_alloc_aligned_zeroed);
    return harness_done();
}
