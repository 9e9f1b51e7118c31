/*
 * pool.c — the upstream replicas: readiness (GET /ready every interval on a
 * thread of its own: alive with a model loaded), requests in flight per
 * replica, least-busy choice.
 *
 * A replica is taken out when a health check fails or a request to it fails
 * at the transport level, and put back by the next health check that
 * succeeds.
 */
#include "gateway_internal.h"

#include "core/prom.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct replica {
    char url[256];
    bool healthy;
    int64_t in_flight;
    uint64_t requests, failures;
} replica;

struct gw_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    replica r[16];
    int n;
    unsigned rr;                /* rotates the tie-break among equally busy replicas */
    double interval_s;
    int connect_ms;
    pthread_t thread;
    bool running, stop;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

gw_pool *gw_pool_new(const hearth_gateway_config *c) {
    pthread_once(&curl_once, curl_init);
    gw_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->n = c->n_replicas;
    for (int i = 0; i < p->n; i++) {
        snprintf(p->r[i].url, sizeof p->r[i].url, "%s", c->replicas[i]);
        p->r[i].healthy = true;   /* optimistic until the first check says otherwise */
    }
    p->interval_s = c->health_interval_s;
    p->connect_ms = c->connect_timeout_ms;
    return p;
}

/* ==== health checks ================================================================= */
static size_t discard(char *ptr, size_t size, size_t n, void *user) {
    (void)ptr;
    (void)user;
    return size * n;
}

static bool check(CURL *h, const char *base, int connect_ms, double interval_s) {
    char url[300];
    snprintf(url, sizeof url, "%s/ready", base);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    long total = (long)(interval_s * 1000) + connect_ms;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total < 2000 ? 2000L : total);
    long code = 0;
    if (curl_easy_perform(h) != CURLE_OK) return false;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code == 200;
}

static void *health_main(void *arg) {
    gw_pool *p = arg;
    CURL *h[16] = {0};
    for (int i = 0; i < p->n; i++) h[i] = curl_easy_init();
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n; i++) {
            bool ok = h[i] && check(h[i], p->r[i].url, p->connect_ms, p->interval_s);
            pthread_mutex_lock(&p->mu);
            if (ok != p->r[i].healthy)
                hearth_log(ok ? HEARTH_LOG_INFO : HEARTH_LOG_WARN, "gateway: replica %s is %s", p->r[i].url,
                           ok ? "back" : "down");
            p->r[i].healthy = ok;
            pthread_mutex_unlock(&p->mu);
        }
        pthread_mutex_lock(&p->mu);
        if (p->stop) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (long)((p->interval_s - (long)p->interval_s) * 1e9);
        ts.tv_sec += (time_t)p->interval_s + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++) curl_easy_cleanup(h[i]);
    return NULL;
}

void gw_pool_start(gw_pool *p) {
    if (p->running) return;
    p->stop = false;
    if (pthread_create(&p->thread, NULL, health_main, p) == 0) p->running = true;
}

void gw_pool_stop(gw_pool *p) {
    if (!p || !p->running) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = false;
}

void gw_pool_free(gw_pool *p) {
    if (!p) return;
    gw_pool_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/* ==== choosing ====================================================================== */
int gw_pool_acquire(gw_pool *p, uint32_t tried) {
    pthread_mutex_lock(&p->mu);
    int best = -1;
    unsigned start = p->rr++;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        /* pass 0: healthy replicas; pass 1: any untried one (all may be marked
         * down only because the checker has not seen them come back yet) */
        for (int k = 0; k < p->n; k++) {
            int i = (int)((start + (unsigned)k) % (unsigned)p->n);
            if (tried & (1u << i)) continue;
            if (pass == 0 && !p->r[i].healthy) continue;
            if (best < 0 || p->r[i].in_flight < p->r[best].in_flight) best = i;
        }
    }
    if (best >= 0) {
        p->r[best].in_flight++;
        p->r[best].requests++;
    }
    pthread_mutex_unlock(&p->mu);
    return best;
}

void gw_pool_release(gw_pool *p, int i, bool failed) {
    if (i < 0 || i >= p->n) return;
    pthread_mutex_lock(&p->mu);
    p->r[i].in_flight--;
    if (failed) {
        p->r[i].failures++;
        if (p->r[i].healthy) hearth_log(HEARTH_LOG_WARN, "gateway: replica %s failed a request; taken out", p->r[i].url);
        p->r[i].healthy = false;
    }
    pthread_mutex_unlock(&p->mu);
}

const char *gw_pool_url(gw_pool *p, int i) { return p->r[i].url; }

int gw_pool_healthy(gw_pool *p) {
    pthread_mutex_lock(&p->mu);
    int n = 0;
    for (int i = 0; i < p->n; i++) n += p->r[i].healthy;
    pthread_mutex_unlock(&p->mu);
    return n;
}
int gw_pool_size(gw_pool *p) { return p->n; }

void gw_pool_state(gw_pool *p, int i, bool *healthy, int64_t *in_flight, uint64_t *requests, uint64_t *failures) {
    pthread_mutex_lock(&p->mu);
    *healthy = p->r[i].healthy;
    *in_flight = p->r[i].in_flight;
    *requests = p->r[i].requests;
    *failures = p->r[i].failures;
    pthread_mutex_unlock(&p->mu);
}

/* name{replica="URL"} (the URL escaped as a label value) */
static void replica_series(hearth_buf *o, const char *name, const char *url) {
    hearth_buf_printf(o, "%s{replica=\"", name);
    prom_label_value(o, url);
    hearth_buf_puts(o, "\"} ");
}

void gw_pool_render(gw_pool *p, hearth_buf *o) {
    pthread_mutex_lock(&p->mu);
    hearth_buf_printf(o, "# HELP hearth_gateway_replica_up Whether the replica passes its checks (GET /ready).\n"
                         "# TYPE hearth_gateway_replica_up gauge\n");
    for (int i = 0; i < p->n; i++) {
        replica_series(o, "hearth_gateway_replica_up", p->r[i].url);
        hearth_buf_printf(o, "%d\n", p->r[i].healthy ? 1 : 0);
    }
    hearth_buf_printf(o, "# HELP hearth_gateway_replica_in_flight Requests now forwarded to the replica.\n"
                         "# TYPE hearth_gateway_replica_in_flight gauge\n");
    for (int i = 0; i < p->n; i++) {
        replica_series(o, "hearth_gateway_replica_in_flight", p->r[i].url);
        hearth_buf_printf(o, "%lld\n", (long long)p->r[i].in_flight);
    }
    hearth_buf_printf(o, "# HELP hearth_gateway_replica_failures_total Requests to the replica that failed in transport.\n"
                         "# TYPE hearth_gateway_replica_failures_total counter\n");
    for (int i = 0; i < p->n; i++) {
        replica_series(o, "hearth_gateway_replica_failures_total", p->r[i].url);
        hearth_buf_printf(o, "%llu\n", (unsigned long long)p->r[i].failures);
    }
    pthread_mutex_unlock(&p->mu);
}
