/*
 * test_index.c — the in-memory vector index: recall against exact search on
 * a seeded mixture (cosine, inner product, L2; one and two build threads;
 * int8 codes within a point of the floats), payloads, the filter language,
 * filtered searches that return k results whenever k items match, deletes
 * with slot reuse and compaction that gives memory back, save/load, and bad
 * input refused with a message.
 */
#include "harness.h"
#include "hearth/index.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==== data ================================================================= */

static uint64_t rng = 1;
static double urand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static float nrand(void) { return (float)(sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand())); }

/* n unit vectors: one of c centres N(0,1) + 0.35 N(0,1), normalised */
static float *mixture(size_t n, int dim, int c, uint64_t seed) {
    rng = seed;
    float *centres = malloc((size_t)c * dim * sizeof *centres), *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < (size_t)c * dim; i++) centres[i] = nrand();
    for (size_t i = 0; i < n; i++) {
        int k = (int)(urand() * c);
        double ss = 0;
        for (int d = 0; d < dim; d++) {
            float v = centres[k * dim + d] + 0.35f * nrand();
            x[i * dim + d] = v;
            ss += v * v;
        }
        for (int d = 0; d < dim; d++) x[i * dim + d] /= (float)sqrt(ss);
    }
    free(centres);
    return x;
}

static double dist(const float *a, const float *b, int dim, hearth_index_metric m) {
    double s = 0;
    for (int d = 0; d < dim; d++) s += m == HEARTH_INDEX_L2 ? (a[d] - b[d]) * (a[d] - b[d]) : -a[d] * b[d];
    return s;
}

/* exact k nearest among base items i with keep[i] (NULL: all) */
static size_t exact(const float *base, size_t n, const float *q, int dim, hearth_index_metric m, size_t k,
                    const bool *keep, uint64_t *out) {
    double *best = malloc(k * sizeof *best);
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep[i]) continue;
        double d = dist(base + i * dim, q, dim, m);
        size_t j = got < k ? got++ : k;
        if (j == k && d >= best[k - 1]) continue;
        if (j == k) j = k - 1;
        while (j > 0 && best[j - 1] > d) { best[j] = best[j - 1]; out[j] = out[j - 1]; j--; }
        best[j] = d;
        out[j] = i;
    }
    free(best);
    return got;
}

static double overlap(const hearth_index_hit *h, size_t nh, const uint64_t *t, size_t nt) {
    size_t hit = 0;
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; j < nt; j++)
            if (h[i].id == t[j]) { hit++; break; }
    return nt ? (double)hit / nt : 1.0;
}

#define N 4000
#define DIM 32
#define NQ 100
#define K 10

static hearth_index *build(hearth_index_metric m, bool int8, int threads, const float *base, size_t n) {
    hearth_index_params p = hearth_index_default_params();
    p.dim = DIM;
    p.metric = m;
    p.M = 12;
    p.ef_construction = 100;
    p.quantize_int8 = int8;
    p.n_threads = threads;
    hearth_index *ix = NULL;
    CHECK_EQ_INT(hearth_index_create(&p, &ix), HEARTH_OK);
    uint64_t *ids = malloc(n * sizeof *ids);
    char **pl = malloc(n * sizeof *pl);
    for (size_t i = 0; i < n; i++) {
        ids[i] = i;
        pl[i] = malloc(96);
        snprintf(pl[i], 96, "{\"label\": %zu, \"kind\": \"%s\", \"page\": %zu, \"tags\": [\"t%zu\", \"all\"]}", i % 100,
                 i % 10 == 0 ? "image" : "text", i, i % 7);
    }
    CHECK_EQ_INT(hearth_index_upsert_batch(ix, n, ids, base, (const char *const *)pl), HEARTH_OK);
    for (size_t i = 0; i < n; i++) free(pl[i]);
    free(pl);
    free(ids);
    return ix;
}

static double recall_at(hearth_index *ix, const float *base, const float *qs, hearth_index_metric m, int ef) {
    double r = 0;
    for (int q = 0; q < NQ; q++) {
        uint64_t truth[K];
        exact(base, N, qs + q * DIM, DIM, m, K, NULL, truth);
        hearth_index_search_params sp = hearth_index_default_search_params();
        sp.ef = ef;
        hearth_index_hit h[K];
        size_t n = 0;
        CHECK_EQ_INT(hearth_index_search(ix, qs + q * DIM, K, &sp, h, &n), HEARTH_OK);
        CHECK_EQ_INT(n, K);
        for (size_t i = 1; i < n; i++)
            CHECK(m == HEARTH_INDEX_L2 ? h[i].score >= h[i - 1].score : h[i].score <= h[i - 1].score);
        r += overlap(h, n, truth, K);
    }
    return r / NQ;
}

/* ==== recall =============================================================== */

TEST(recall_against_exact_search) {
    float *base = mixture(N + NQ, DIM, 40, 11), *qs = base + (size_t)N * DIM;
    hearth_index_metric ms[] = {HEARTH_INDEX_COSINE, HEARTH_INDEX_IP, HEARTH_INDEX_L2};
    for (int mi = 0; mi < 3; mi++) {
        hearth_index *ix = build(ms[mi], false, 1, base, N);
        double r = recall_at(ix, base, qs, ms[mi], 64);
        printf("  %s: recall@10 %.3f at ef 64\n", hearth_index_metric_name(ms[mi]), r);
        CHECK_MSG(r >= 0.95, "%s recall %.3f", hearth_index_metric_name(ms[mi]), r);
        CHECK_EQ_INT(hearth_index_count(ix), N);
        /* exact mode equals brute force */
        hearth_index_search_params sp = hearth_index_default_search_params();
        sp.exact = true;
        hearth_index_hit h[K];
        size_t n;
        uint64_t truth[K];
        exact(base, N, qs, DIM, ms[mi], K, NULL, truth);
        CHECK_EQ_INT(hearth_index_search(ix, qs, K, &sp, h, &n), HEARTH_OK);
        CHECK_NEAR(overlap(h, n, truth, K), 1.0, 1e-9);
        hearth_index_close(ix);
    }
    free(base);
}

TEST(threaded_build_and_int8) {
    float *base = mixture(N + NQ, DIM, 40, 21), *qs = base + (size_t)N * DIM;
    /* a threaded build's graph depends on the threads' interleaving, so the
     * threaded builds are held to an absolute recall, and int8's loss is
     * measured between two one-thread (reproducible) builds */
    hearth_index *ft = build(HEARTH_INDEX_IP, false, 2, base, N);
    hearth_index *qt = build(HEARTH_INDEX_IP, true, 2, base, N);
    double rft = recall_at(ft, base, qs, HEARTH_INDEX_IP, 64), rqt = recall_at(qt, base, qs, HEARTH_INDEX_IP, 64);
    printf("  ef 64, 2 threads: float %.3f, int8 %.3f\n", rft, rqt);
    CHECK_MSG(rft >= 0.95 && rqt >= 0.95, "threaded builds: float %.3f, int8 %.3f", rft, rqt);
    hearth_index_close(ft);
    hearth_index_close(qt);
    hearth_index *f = build(HEARTH_INDEX_IP, false, 1, base, N);
    hearth_index *q = build(HEARTH_INDEX_IP, true, 1, base, N);
    for (int ef = 16; ef <= 64; ef *= 2) {
        double rf = recall_at(f, base, qs, HEARTH_INDEX_IP, ef), rq = recall_at(q, base, qs, HEARTH_INDEX_IP, ef);
        printf("  ef %d: float %.3f, int8 %.3f (1 thread)\n", ef, rf, rq);
        CHECK_MSG(rq >= rf - 0.01, "int8 loses more than a point at ef %d: %.3f vs %.3f", ef, rq, rf);
        if (ef == 64) CHECK(rf >= 0.95);
    }
    /* scores of an int8 index are the float scores (re-ranked) */
    hearth_index_hit h[K];
    size_t n;
    CHECK_EQ_INT(hearth_index_search(q, qs, K, NULL, h, &n), HEARTH_OK);
    double s = 0;
    for (int d = 0; d < DIM; d++) s += base[h[0].id * DIM + d] * qs[d];
    CHECK_NEAR(h[0].score, s, 1e-4);
    hearth_index_close(f);
    hearth_index_close(q);
    free(base);
}

/* ==== payloads and filters ================================================= */

TEST(payloads_get_replace_delete) {
    hearth_index_params p = hearth_index_default_params();
    p.dim = 4;
    hearth_index *ix;
    CHECK_EQ_INT(hearth_index_create(&p, &ix), HEARTH_OK);
    float a[4] = {1, 0, 0, 0}, b[4] = {0, 2, 0, 0}, out[4];
    CHECK_EQ_INT(hearth_index_upsert(ix, 7, a, "{\"kind\": \"text\", \"src\": \"a.pdf\"}"), HEARTH_OK);
    CHECK_EQ_INT(hearth_index_upsert(ix, 8, b, NULL), HEARTH_OK);
    char *pl = NULL;
    CHECK_EQ_INT(hearth_index_get(ix, 7, out, &pl), HEARTH_OK);
    CHECK_STR(pl, "{\"kind\":\"text\",\"src\":\"a.pdf\"}");
    free(pl);
    CHECK_EQ_INT(hearth_index_get(ix, 8, out, &pl), HEARTH_OK);
    CHECK_STR(pl, "{}");
    CHECK_NEAR(out[1], 1.0, 1e-6);   /* cosine: stored normalized */
    free(pl);
    /* replace: new vector and payload, still one item */
    CHECK_EQ_INT(hearth_index_upsert(ix, 7, b, "{\"kind\": \"image\"}"), HEARTH_OK);
    CHECK_EQ_INT(hearth_index_count(ix), 2);
    CHECK_EQ_INT(hearth_index_get(ix, 7, out, &pl), HEARTH_OK);
    CHECK_STR(pl, "{\"kind\":\"image\"}");
    CHECK_NEAR(out[1], 1.0, 1e-6);
    free(pl);
    CHECK_EQ_INT(hearth_index_delete(ix, 7), HEARTH_OK);
    CHECK(!hearth_index_contains(ix, 7));
    CHECK_EQ_INT(hearth_index_delete(ix, 7), HEARTH_ERR_NOT_FOUND);
    CHECK_EQ_INT(hearth_index_get(ix, 7, NULL, NULL), HEARTH_ERR_NOT_FOUND);
    CHECK_EQ_INT(hearth_index_count(ix), 1);
    /* bad input: refused, nothing written */
    float nan4[4] = {1, NAN, 0, 0}, zero[4] = {0};
    CHECK_EQ_INT(hearth_index_upsert(ix, 9, nan4, NULL), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "finite") != NULL);
    CHECK_EQ_INT(hearth_index_upsert(ix, 9, zero, NULL), HEARTH_ERR_INVALID_ARG);
    CHECK_EQ_INT(hearth_index_upsert(ix, 9, a, "[1, 2]"), HEARTH_ERR_FORMAT);
    CHECK_EQ_INT(hearth_index_upsert(ix, 9, a, "{\"a\": "), HEARTH_ERR_FORMAT);
    uint64_t ids[2] = {10, 11};
    float two[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    const char *pls[2] = {"{}", "not json"};
    CHECK_EQ_INT(hearth_index_upsert_batch(ix, 2, ids, two, pls), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "item 1") != NULL);
    CHECK_EQ_INT(hearth_index_count(ix), 1);
    CHECK(!hearth_index_contains(ix, 10));
    hearth_index_close(ix);
    hearth_index_close(NULL);
}

static bool matches(const char *filter, const char *payload) {
    hearth_index_filter *f = NULL;
    bool m = false;
    CHECK_EQ_INT(hearth_index_filter_parse(filter, &f), HEARTH_OK);
    if (f) CHECK_EQ_INT(hearth_index_filter_match(f, payload, &m), HEARTH_OK);
    hearth_index_filter_free(f);
    return m;
}

TEST(filter_language) {
    const char *doc = "{\"kind\": \"text\", \"page\": 4, \"lang\": \"en\", \"tags\": [\"a\", \"b\"], \"ok\": true, \"x\": null}";
    CHECK(matches("{}", doc));
    CHECK(matches("{\"kind\": \"text\"}", doc));
    CHECK(!matches("{\"kind\": \"image\"}", doc));
    CHECK(matches("{\"page\": 4}", doc));
    CHECK(matches("{\"page\": {\"$gte\": 4, \"$lt\": 5}}", doc));
    CHECK(!matches("{\"page\": {\"$gt\": 4}}", doc));
    CHECK(matches("{\"lang\": {\"$in\": [\"de\", \"en\"]}}", doc));
    CHECK(!matches("{\"lang\": {\"$nin\": [\"de\", \"en\"]}}", doc));
    CHECK(matches("{\"lang\": {\"$lt\": \"fr\"}}", doc));   /* strings by bytes */
    CHECK(matches("{\"tags\": \"b\"}", doc));                /* arrays: any element */
    CHECK(matches("{\"ok\": true, \"x\": null}", doc));
    CHECK(!matches("{\"ok\": 1}", doc));                     /* types do not mix */
    CHECK(matches("{\"missing\": {\"$ne\": 3}}", doc));
    CHECK(!matches("{\"missing\": {\"$gt\": 3}}", doc));
    CHECK(matches("{\"missing\": {\"$exists\": false}, \"page\": {\"$exists\": true}}", doc));
    CHECK(matches("{\"$or\": [{\"kind\": \"image\"}, {\"page\": {\"$lte\": 4}}]}", doc));
    CHECK(!matches("{\"$and\": [{\"kind\": \"text\"}, {\"lang\": \"de\"}]}", doc));
    CHECK(matches("{\"$not\": {\"kind\": \"image\"}}", doc));
    /* malformed filters name the problem */
    static const struct { const char *f, *says; } bad[] = {
        {"{\"page\": {\"$between\": [1, 2]}}", "$between"},
        {"{\"lang\": {\"$in\": \"en\"}}", "$in"},
        {"{\"$or\": {}}", "$or"},
        {"{\"$foo\": 1}", "$foo"},
        {"[1]", "object"},
        {"{\"page\": {\"$gt\": true}}", "ranges"},
        {"{\"page\": ", "malformed JSON"},
        {"{\"a\": {\"$exists\": 1}}", "$exists"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hearth_index_filter *f = NULL;
        CHECK_EQ_INT(hearth_index_filter_parse(bad[i].f, &f), HEARTH_ERR_FORMAT);
        CHECK_MSG(strstr(hearth_last_error(), bad[i].says) != NULL, "%s -> %s", bad[i].f, hearth_last_error());
        CHECK(f == NULL);
    }
    /* deep nesting is refused, not a stack overflow */
    char deep[4000] = "";
    for (int i = 0; i < 300; i++) strcat(deep, "{\"$not\":");
    strcat(deep, "{}");
    for (int i = 0; i < 300; i++) strcat(deep, "}");
    hearth_index_filter *f = NULL;
    CHECK_EQ_INT(hearth_index_filter_parse(deep, &f), HEARTH_ERR_FORMAT);
    hearth_index_filter_free(NULL);
}

/* every result matches, ids are distinct, and the count is min(k, matches) */
static void filtered(hearth_index *ix, const float *base, const float *qs, const char *ftext, bool (*keep_fn)(size_t),
                     double min_recall) {
    hearth_index_filter *f = NULL;
    CHECK_EQ_INT(hearth_index_filter_parse(ftext, &f), HEARTH_OK);
    bool *keep = malloc(N);
    size_t n_keep = 0;
    for (size_t i = 0; i < N; i++) n_keep += keep[i] = keep_fn(i);
    double r = 0;
    for (int q = 0; q < NQ; q++) {
        hearth_index_search_params sp = hearth_index_default_search_params();
        sp.filter = f;
        sp.ef = 32;
        hearth_index_hit h[K];
        size_t n = 99;
        CHECK_EQ_INT(hearth_index_search(ix, qs + q * DIM, K, &sp, h, &n), HEARTH_OK);
        CHECK_EQ_INT(n, n_keep < K ? n_keep : K);
        for (size_t i = 0; i < n; i++) {
            CHECK_MSG(keep[h[i].id], "%s returned id %llu", ftext, (unsigned long long)h[i].id);
            for (size_t j = 0; j < i; j++) CHECK(h[i].id != h[j].id);
        }
        uint64_t truth[K];
        size_t nt = exact(base, N, qs + q * DIM, DIM, HEARTH_INDEX_IP, K, keep, truth);
        r += overlap(h, n, truth, nt);
    }
    r /= NQ;
    printf("  %-46s %4zu matches: recall %.3f\n", ftext, n_keep, r);
    CHECK_MSG(r >= min_recall, "%s: recall %.3f", ftext, r);
    free(keep);
    hearth_index_filter_free(f);
}

static bool label7(size_t i) { return i % 100 == 7; }
static bool label_lt10(size_t i) { return i % 100 < 10; }
static bool images(size_t i) { return i % 10 == 0; }
static bool text_pages(size_t i) { return i % 10 != 0 && i >= 1000 && i < 3000; }
static bool few_pages(size_t i) { return i < 3; }
static bool tag3(size_t i) { return i % 7 == 3; }
static bool no_item(size_t i) { return false; }

TEST(filtered_search_returns_k) {
    float *base = mixture(N + NQ, DIM, 40, 31), *qs = base + (size_t)N * DIM;
    hearth_index *ix = build(HEARTH_INDEX_IP, false, 1, base, N);
    filtered(ix, base, qs, "{\"label\": 7}", label7, 0.99);                       /* 1 %: exact scan */
    filtered(ix, base, qs, "{\"label\": {\"$in\": [0,1,2,3,4,5,6,7,8,9]}}", label_lt10, 0.9);
    filtered(ix, base, qs, "{\"kind\": \"image\"}", images, 0.9);                 /* 10 % */
    filtered(ix, base, qs, "{\"kind\": \"text\", \"page\": {\"$gte\": 1000, \"$lt\": 3000}}", text_pages, 0.9);
    filtered(ix, base, qs, "{\"page\": {\"$lt\": 3}}", few_pages, 1.0);            /* 3 items: all of them */
    filtered(ix, base, qs, "{\"tags\": \"t3\"}", tag3, 0.9);
    filtered(ix, base, qs, "{\"kind\": \"video\"}", no_item, 1.0);
    /* select */
    hearth_index_filter *f;
    CHECK_EQ_INT(hearth_index_filter_parse("{\"label\": 7}", &f), HEARTH_OK);
    uint64_t *ids = NULL;
    size_t n = 0;
    CHECK_EQ_INT(hearth_index_select(ix, f, &ids, &n), HEARTH_OK);
    CHECK_EQ_INT(n, N / 100);
    for (size_t i = 0; i < n; i++) CHECK(ids[i] % 100 == 7);
    free(ids);
    hearth_index_filter_free(f);
    hearth_index_close(ix);
    free(base);
}

TEST(filtered_search_on_int8_codes) {
    float *base = mixture(N + NQ, DIM, 40, 33), *qs = base + (size_t)N * DIM;
    hearth_index *ix = build(HEARTH_INDEX_IP, true, 2, base, N);
    filtered(ix, base, qs, "{\"label\": 7}", label7, 0.99);   /* exact scan on codes, re-ranked */
    filtered(ix, base, qs, "{\"kind\": \"text\", \"page\": {\"$gte\": 1000, \"$lt\": 3000}}", text_pages, 0.9);
    filtered(ix, base, qs, "{\"page\": {\"$lt\": 3}}", few_pages, 1.0);
    hearth_index_close(ix);
    free(base);
}

/* ==== deletes, reuse, compaction =========================================== */

TEST(delete_reuse_compact) {
    float *base = mixture(N + NQ, DIM, 40, 41), *qs = base + (size_t)N * DIM;
    hearth_index *ix = build(HEARTH_INDEX_IP, true, 2, base, N);
    hearth_index_stats s0, s1, s2, s3;
    hearth_index_get_stats(ix, &s0);
    /* delete 3 of every 4 */
    for (size_t i = 0; i < N; i++)
        if (i % 4) CHECK_EQ_INT(hearth_index_delete(ix, i), HEARTH_OK);
    hearth_index_get_stats(ix, &s1);
    CHECK_EQ_INT(s1.count, N / 4);
    CHECK_EQ_INT(s1.deleted, N - N / 4);
    bool *keep = malloc(N);
    for (size_t i = 0; i < N; i++) keep[i] = i % 4 == 0;
    /* deleted items never come back from a search */
    double r = 0;
    for (int q = 0; q < NQ; q++) {
        hearth_index_hit h[K];
        size_t n;
        CHECK_EQ_INT(hearth_index_search(ix, qs + q * DIM, K, NULL, h, &n), HEARTH_OK);
        CHECK_EQ_INT(n, K);
        for (size_t i = 0; i < n; i++) CHECK(h[i].id % 4 == 0);
        uint64_t truth[K];
        exact(base, N, qs + q * DIM, DIM, HEARTH_INDEX_IP, K, keep, truth);
        r += overlap(h, n, truth, K);
    }
    printf("  after deleting 75 %%: recall %.3f\n", r / NQ);
    CHECK(r / NQ >= 0.9);
    /* new items reuse the deleted slots */
    float *more = mixture(500, DIM, 40, 43);
    uint64_t ids[500];
    for (int i = 0; i < 500; i++) ids[i] = 100000 + i;
    CHECK_EQ_INT(hearth_index_upsert_batch(ix, 500, ids, more, NULL), HEARTH_OK);
    hearth_index_get_stats(ix, &s2);
    CHECK_EQ_INT(s2.slots, s1.slots);
    CHECK_EQ_INT(s2.capacity, s1.capacity);
    CHECK_EQ_INT(s2.count, N / 4 + 500);
    CHECK_EQ_INT(s2.deleted, s1.deleted - 500);
    /* the reused items are found */
    int found = 0;
    for (int i = 0; i < 500; i += 25) {
        hearth_index_hit h[1];
        size_t n;
        CHECK_EQ_INT(hearth_index_search(ix, more + i * DIM, 1, NULL, h, &n), HEARTH_OK);
        found += n == 1 && h[0].id == ids[i];
    }
    CHECK_MSG(found >= 19, "%d of 20 reused items found as their own nearest", found);
    /* compaction gives the memory of the deleted slots back */
    CHECK_EQ_INT(hearth_index_compact(ix), HEARTH_OK);
    hearth_index_get_stats(ix, &s3);
    printf("  memory: %.2f MB built, %.2f MB with tombstones, %.2f MB compacted\n", s0.memory_bytes / 1e6,
           s2.memory_bytes / 1e6, s3.memory_bytes / 1e6);
    CHECK_EQ_INT(s3.deleted, 0);
    CHECK_EQ_INT(s3.count, N / 4 + 500);
    CHECK(s3.capacity < s2.capacity);
    CHECK_MSG(s3.memory_bytes < s2.memory_bytes * 6 / 10, "%zu vs %zu", s3.memory_bytes, s2.memory_bytes);
    r = 0;
    for (int q = 0; q < NQ; q++) {
        hearth_index_hit h[K];
        size_t n;
        CHECK_EQ_INT(hearth_index_search(ix, qs + q * DIM, K, NULL, h, &n), HEARTH_OK);
        CHECK_EQ_INT(n, K);
        /* exact answer over the live set */
        hearth_index_search_params sp = hearth_index_default_search_params();
        sp.exact = true;
        hearth_index_hit t[K];
        size_t nt;
        CHECK_EQ_INT(hearth_index_search(ix, qs + q * DIM, K, &sp, t, &nt), HEARTH_OK);
        uint64_t tid[K];
        for (size_t i = 0; i < nt; i++) tid[i] = t[i].id;
        r += overlap(h, n, tid, nt);
    }
    printf("  after compaction: recall %.3f\n", r / NQ);
    CHECK(r / NQ >= 0.9);
    for (size_t i = 0; i < N; i += 4) CHECK(hearth_index_contains(ix, i));
    char *pl = NULL;
    CHECK_EQ_INT(hearth_index_get(ix, 8, NULL, &pl), HEARTH_OK);
    CHECK(pl && strstr(pl, "\"page\":8"));
    free(pl);
    free(keep);
    free(more);
    hearth_index_close(ix);
    free(base);
}

/* ==== save / load ============================================================ */

TEST(save_and_load_answer_the_same) {
    float *base = mixture(N + NQ, DIM, 40, 51), *qs = base + (size_t)N * DIM;
    hearth_index *ix = build(HEARTH_INDEX_COSINE, false, 1, base, N);
    for (size_t i = 0; i < N; i += 9) hearth_index_delete(ix, i);   /* tombstones travel too */
    char path[] = "/tmp/hearth_index_test_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_EQ_INT(hearth_index_save(ix, path), HEARTH_OK);
    hearth_index *ld = NULL;
    CHECK_EQ_INT(hearth_index_load(path, NULL, &ld), HEARTH_OK);
    CHECK_EQ_INT(hearth_index_count(ld), hearth_index_count(ix));
    int same = 0;
    for (int q = 0; q < NQ; q++) {
        hearth_index_hit a[K], b[K];
        size_t na, nb;
        hearth_index_search(ix, qs + q * DIM, K, NULL, a, &na);
        hearth_index_search(ld, qs + q * DIM, K, NULL, b, &nb);
        bool eq = na == nb;
        for (size_t i = 0; eq && i < na; i++) eq = a[i].id == b[i].id && a[i].score == b[i].score;
        same += eq;
    }
    CHECK_EQ_INT(same, NQ);
    char *p1, *p2;
    CHECK_EQ_INT(hearth_index_get(ld, 10, NULL, &p1), HEARTH_OK);
    CHECK_EQ_INT(hearth_index_get(ix, 10, NULL, &p2), HEARTH_OK);
    CHECK_STR(p1, p2);
    free(p1);
    free(p2);
    /* a wrong dimension is refused by name */
    hearth_index_params p = hearth_index_default_params();
    p.dim = DIM + 1;
    hearth_index *bad = NULL;
    CHECK_EQ_INT(hearth_index_load(path, &p, &bad), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "dimensional") != NULL);
    hearth_index_close(ld);
    hearth_index_close(ix);
    unlink(path);
    free(base);
}

int main(void) {
    RUN(recall_against_exact_search);
    RUN(threaded_build_and_int8);
    RUN(payloads_get_replace_delete);
    RUN(filter_language);
    RUN(filtered_search_returns_k);
    RUN(filtered_search_on_int8_codes);
    RUN(delete_reuse_compact);
    RUN(save_and_load_answer_the_same);
    return harness_done();
}
