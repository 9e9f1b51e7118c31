/*
 * bench_gateway.c — latency the gateway adds: N non-streaming requests paced
 * at RATE/s over one keep-alive connection, straight to a fake replica and
 * through `hearth gateway` (key check, limits, PII scan, audit record,
 * proxy), p50/p99 of each and the difference. The two are measured in
 * alternating blocks of 500 requests (direct, gateway, direct, ...), so a
 * change in the machine's load hits both alike.
 *
 *   bench_gateway [N=5000] [RATE=500] [sync=normal|full] [mem]
 *
 * With HEARTH_BENCH_DATABASE=postgresql://... the gateway keeps keys, usage,
 * limits and the audit chain in that PostgreSQL database (`database:`)
 * instead of SQLite files; bench/gateway_pg.sh runs both side by side.
 *
 * With "mem" (memory growth): the gateway's resident set size (VmRSS from
 * /proc) after 2000 warm-up requests and after N more, unpaced (RATE 0 = as
 * fast as one client goes), each prompt carrying an e-mail and a phone number
 * (masked and restored per request).
 */
#define HEARTH_BIN_PATH HEARTH_BIN
#include "../tests/gateway/gw_fixture.h"

#include "hearth/gateway.h"

#include <time.h>

int harness_failures, harness_checks;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t sink(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }

static const char *g_prompt = "Summarise the quarterly report for the board in three sentences.";

static long rss_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

/* n requests paced at rate/s, latencies to lat[0..n) (1e9 for a failure), unsorted */
static void run_unsorted(int port, const char *key, int n, int rate, double *lat) {
    CURL *h = curl_easy_init();
    char url[128], auth[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", port);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    if (key) { snprintf(auth, sizeof auth, "Authorization: Bearer %s", key); hd = curl_slist_append(hd, auth); }
    char *body = chat_body("m1", g_prompt, false);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        double due = rate > 0 ? t0 + (double)i / rate : 0;
        while (rate > 0 && now_s() < due) usleep(50);
        double a = now_s();
        long code = 0;
        if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        lat[i] = code == 200 ? now_s() - a : 1e9;
    }
    free(body);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
}

static void run(int port, const char *key, int n, int rate, double *lat) {
    run_unsorted(port, key, n, rate, lat);
    qsort(lat, (size_t)n, sizeof *lat, cmp);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5000, rate = argc > 2 ? atoi(argv[2]) : 500;
    const char *sync = argc > 3 ? argv[3] : "normal";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char dir[128], cmd[300], db[200], cfg[200], key[HEARTH_KEY_MAX];
    snprintf(dir, sizeof dir, "/tmp/hearth-bench-gw-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    int rport, gport;
    pid_t rpid = fake_start(0, &rport);
    const char *pg = getenv("HEARTH_BENCH_DATABASE");
    snprintf(db, sizeof db, "%s", pg && *pg ? pg : "");
    if (!db[0]) snprintf(db, sizeof db, "%s/keys.db", dir);
    hearth_keystore *ks;
    if (hearth_keystore_open(db, &ks)) return 1;
    hearth_key_params p = hearth_key_default_params();
    p.name = "bench";
    hearth_keys_create(ks, &p, key, NULL);
    hearth_keystore_free(ks);
    snprintf(cfg, sizeof cfg, "%s/gw.yaml", dir);
    FILE *f = fopen(cfg, "w");
    if (pg && *pg)
        fprintf(f, "database: %s\nupstream: {replicas: [http://127.0.0.1:%d]}\npii: {request: mask}\n", pg, rport);
    else
        fprintf(f, "keys_db: keys.db\naudit: {db: audit.db, sync: %s}\nupstream: {replicas: [http://127.0.0.1:%d]}\n"
                   "pii: {request: mask}\n", sync, rport);
    fclose(f);
    pid_t gpid = gateway_start(cfg, &gport);
    if (argc > 4 && !strcmp(argv[4], "mem")) {
        g_prompt = "Mail jane.doe@example.com or call +8613800138000 about the quarterly report.";
        double *w = malloc(sizeof(double) * (size_t)(n > 2000 ? n : 2000));
        run(gport, key, 2000, rate, w);
        long before = rss_kb(gpid), q[4];
        double t0 = now_s();
        int failed = 0;
        for (int k = 0; k < 4; k++) {   /* RSS at each quarter: growth vs. caches filling once */
            run(gport, key, n / 4, rate, w);
            q[k] = rss_kb(gpid);
            for (int i = 0; i < n / 4; i++) failed += w[i] >= 1e9;
        }
        double secs = now_s() - t0;
        long after = q[3];
        printf("RSS at 1/4 .. 4/4: %ld %ld %ld %ld kB\n", q[0], q[1], q[2], q[3]);
        printf("memory: %d requests in %.1f s (%d failed), gateway RSS %ld kB after warm-up, %ld kB after (%+ld kB)\n",
               n, secs, failed, before, after, after - before);
        free(w);
        stop(gpid, SIGTERM);
        stop(rpid, SIGKILL);
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        return system(cmd) != 0;
    }
    double *d = malloc(sizeof(double) * (size_t)n), *g = malloc(sizeof(double) * (size_t)n);
    run(rport, NULL, n / 10, rate, d);   /* warm-up */
    run(gport, key, n / 10, rate, g);
    for (int done = 0; done < n; done += 500) {   /* alternating blocks */
        int k = n - done < 500 ? n - done : 500;
        run_unsorted(rport, NULL, k, rate, d + done);
        run_unsorted(gport, key, k, rate, g + done);
    }
    qsort(d, (size_t)n, sizeof *d, cmp);
    qsort(g, (size_t)n, sizeof *g, cmp);
    int p50 = n / 2, p99 = (int)(n * 0.99), failed = 0;
    for (int i = 0; i < n; i++) failed += g[i] >= 1e9;
    printf("requests %d at %d/s, storage %s, %d failed through the gateway\n", n, rate,
           pg && *pg ? "postgresql" : !strcmp(sync, "full") ? "sqlite (audit sync=full)" : "sqlite (audit sync=normal)",
           failed);
    printf("direct : p50 %.3f ms  p99 %.3f ms\n", d[p50] * 1e3, d[p99] * 1e3);
    printf("gateway: p50 %.3f ms  p99 %.3f ms\n", g[p50] * 1e3, g[p99] * 1e3);
    printf("added  : p50 %.3f ms  p99 %.3f ms\n", (g[p50] - d[p50]) * 1e3, (g[p99] - d[p99]) * 1e3);
    stop(gpid, SIGTERM);
    stop(rpid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return 0;
}
