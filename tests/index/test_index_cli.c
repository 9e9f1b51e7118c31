/*
 * test_index_cli.c — `hearth index bench` as the checks call it, on
 * a small seeded set written here in TEXMEX format: the JSON object, recall
 * from --truth, DIR/ef<EF>.ivecs rows, --index built then loaded answering
 * the same, --labels/--filter-label rows holding k distinct ids with the
 * label, and bad files refused by name.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NB 3000
#define NQ 50
#define D 24
#define K 10

static char dir[] = "/tmp/hearth_index_cli_XXXXXX";

static void write_fvecs(const char *name, const float *x, int n, int d) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    for (int i = 0; i < n; i++) {
        fwrite(&d, 4, 1, f);
        fwrite(x + (size_t)i * d, 4, d, f);
    }
    fclose(f);
}

static int32_t *read_ivecs(const char *name, int *n, int *d) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t len;
    char *raw = harness_read(p, &len);
    if (!raw || len < 4) { free(raw); return NULL; }
    memcpy(d, raw, 4);
    *n = (int)(len / (4 + 4 * (size_t)*d));
    int32_t *out = malloc((size_t)*n * *d * 4);
    for (int i = 0; i < *n; i++) memcpy(out + (size_t)i * *d, raw + (size_t)i * (4 + 4 * *d) + 4, 4 * (size_t)*d);
    free(raw);
    return out;
}

static uint64_t s = 3;
static float nrand(void) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double u = ((s >> 11) + 0.5) / 9007199254740992.0;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double v = ((s >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307 * v));
}

static float base[NB * D], qs[NQ * D];
static int labels[NB];

static void truth(const bool *keep, const char *name) {
    int32_t t[NQ * K];
    for (int q = 0; q < NQ; q++) {
        float best[K];
        int n = 0;
        for (int i = 0; i < NB; i++) {
            if (keep && !keep[i]) continue;
            float d = 0;
            for (int j = 0; j < D; j++) d += base[i * D + j] * qs[q * D + j];
            int at;
            if (n < K) at = n++;
            else if (d <= best[K - 1]) continue;
            else at = K - 1;
            while (at > 0 && best[at - 1] < d) { best[at] = best[at - 1]; t[q * K + at] = t[q * K + at - 1]; at--; }
            best[at] = d;
            t[q * K + at] = i;
        }
    }
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    int k = K;
    for (int q = 0; q < NQ; q++) { fwrite(&k, 4, 1, f); fwrite(t + q * K, 4, K, f); }
    fclose(f);
}

static void make_data(void) {
    CHECK(mkdtemp(dir) != NULL);
    float c[30 * D];
    for (int i = 0; i < 30 * D; i++) c[i] = nrand();
    for (int i = 0; i < NB + NQ; i++) {
        float *x = i < NB ? base + i * D : qs + (i - NB) * D;
        int k = (int)((s >> 33) % 30);
        double ss = 0;
        for (int j = 0; j < D; j++) { x[j] = c[k * D + j] + 0.35f * nrand(); ss += x[j] * x[j]; }
        for (int j = 0; j < D; j++) x[j] /= (float)sqrt(ss);
        if (i < NB) labels[i] = (int)((s >> 20) % 100);
    }
    write_fvecs("base.fvecs", base, NB, D);
    write_fvecs("queries.fvecs", qs, NQ, D);
    truth(NULL, "truth.ivecs");
    bool keep[NB];
    for (int i = 0; i < NB; i++) keep[i] = labels[i] == 7;
    truth(keep, "truth7.ivecs");
    char p[256];
    snprintf(p, sizeof p, "%s/labels.txt", dir);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < NB; i++) fprintf(f, "%d\n", labels[i]);
    fclose(f);
}

static char *bench(const char *extra, int *rc) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s index bench --base %s/base.fvecs --queries %s/queries.fvecs -k 10 --ef 10,32 --M 12 "
             "--ef-construction 80 -t 1 --json %s 2>&1",
             HEARTH_BIN, dir, dir, extra);
    char *out = NULL;
    *rc = harness_run(cmd, &out);
    return out;
}

TEST(bench_json_recall_out_index) {
    char extra[1024];
    snprintf(extra, sizeof extra, "--truth %s/truth.ivecs --index %s/ix.hidx --out %s/out1", dir, dir, dir);
    int rc;
    char *a = bench(extra, &rc);
    CHECK_EQ_INT(rc, 0);
    CHECK_MSG(a && strstr(a, "\"n\": 3000, \"dim\": 24") && strstr(a, "\"ef\": 10, \"qps\": ") && strstr(a, "\"build_s\": "),
              "%s", a ? a : "");
    const char *r = a ? strstr(a, "\"ef\": 32") : NULL;
    r = r ? strstr(r, "\"recall\": ") : NULL;
    CHECK_MSG(r && atof(r + 10) >= 0.95, "%s", a ? a : "");
    CHECK(a && strstr(a, "\"loaded\": false"));
    int n, d;
    int32_t *rows = read_ivecs("out1/ef32.ivecs", &n, &d);
    CHECK(rows && n == NQ && d == K);
    /* loaded from --index: the same rows */
    snprintf(extra, sizeof extra, "--index %s/ix.hidx --out %s/out2", dir, dir);
    char *b = bench(extra, &rc);
    CHECK_EQ_INT(rc, 0);
    CHECK(b && strstr(b, "\"loaded\": true"));
    int n2, d2;
    int32_t *rows2 = read_ivecs("out2/ef32.ivecs", &n2, &d2);
    CHECK(rows2 && n2 == n && d2 == d && memcmp(rows, rows2, (size_t)n * d * 4) == 0);
    free(rows);
    free(rows2);
    free(a);
    free(b);
}

TEST(bench_filtered_rows_hold_the_label) {
    char extra[1024];
    snprintf(extra, sizeof extra, "--truth %s/truth7.ivecs --labels %s/labels.txt --filter-label 7 --out %s/out3", dir,
             dir, dir);
    int rc;
    char *a = bench(extra, &rc);
    CHECK_EQ_INT(rc, 0);
    const char *r = a ? strstr(a, "\"recall\": ") : NULL;
    CHECK_MSG(r && atof(r + 10) >= 0.95, "%s", a ? a : "");
    int n, d;
    int32_t *rows = read_ivecs("out3/ef10.ivecs", &n, &d);
    CHECK(rows && n == NQ && d == K);
    int bad = 0;
    for (int q = 0; rows && q < n; q++)
        for (int j = 0; j < d; j++) {
            int32_t id = rows[q * d + j];
            bool dup = false;
            for (int t = 0; t < j; t++) dup |= rows[q * d + t] == id;
            bad += id < 0 || id >= NB || labels[id] != 7 || dup;
        }
    CHECK_EQ_INT(bad, 0);
    free(rows);
    free(a);
}

TEST(bench_bad_input_named) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "printf 'abc' > %s/bad.fvecs; %s index bench --base %s/bad.fvecs --queries %s/queries.fvecs 2>&1",
             dir, HEARTH_BIN, dir, dir);
    char *out = NULL;
    int rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "bad.fvecs"), "%s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "%s index bench --base %s/base.fvecs --queries %s/queries.fvecs --labels %s/truth.ivecs --filter-label 1 2>&1",
             HEARTH_BIN, dir, dir, dir);
    rc = harness_run(cmd, &out);
    CHECK(rc != 0);
    CHECK_MSG(out && strstr(out, "truth.ivecs"), "%s", out ? out : "");
    free(out);
}

int main(void) {
    make_data();
    RUN(bench_json_recall_out_index);
    RUN(bench_filtered_rows_hold_the_label);
    RUN(bench_bad_input_named);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    harness_run(cmd, NULL);
    return harness_done();
}
