/*
 * metrics.c — the gateway's Prometheus series: requests by key, model and
 * status; tokens by key, model and direction; request latency by model
 * (histogram). Series are few (keys x models), so a flat table under one
 * mutex is enough.
 */
#include "gateway_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
#define N_BOUNDS (sizeof BOUNDS / sizeof BOUNDS[0])

typedef struct req_series {
    char key_id[HEARTH_KEY_ID_LEN + 1];
    char model[96];
    int status;
    uint64_t count;
} req_series;

typedef struct tok_series {
    char key_id[HEARTH_KEY_ID_LEN + 1];
    char model[96];
    uint64_t in, out;
} tok_series;

typedef struct lat_series {
    char model[96];
    uint64_t buckets[N_BOUNDS];
    uint64_t count;
    double sum;
} lat_series;

struct gw_metrics {
    pthread_mutex_t mu;
    req_series *req;
    size_t n_req, cap_req;
    tok_series *tok;
    size_t n_tok, cap_tok;
    lat_series *lat;
    size_t n_lat, cap_lat;
};

gw_metrics *gw_metrics_new(void) {
    gw_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void gw_metrics_free(gw_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->req);
    free(m->tok);
    free(m->lat);
    free(m);
}

/* model names come from clients: keep label values to a safe character set */
static void label(char *dst, size_t cap, const char *s) {
    size_t j = 0;
    for (; s && *s && j + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        dst[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '_';
    }
    dst[j] = 0;
}

void gw_metrics_request(gw_metrics *m, const char *key_id, const char *model, int status, int64_t tokens_in,
                        int64_t tokens_out, double latency_s) {
    char mod[96];
    label(mod, sizeof mod, model && *model ? model : "-");
    const char *kid = key_id && *key_id ? key_id : "-";
    pthread_mutex_lock(&m->mu);
    size_t i;
    for (i = 0; i < m->n_req; i++)
        if (m->req[i].status == status && !strcmp(m->req[i].key_id, kid) && !strcmp(m->req[i].model, mod)) break;
    if (i == m->n_req) {
        if (!HEARTH_GROW(m->req, m->cap_req, m->n_req + 1)) goto out;
        req_series *v = m->req;
        memset(&v[i], 0, sizeof v[i]);
        snprintf(v[i].key_id, sizeof v[i].key_id, "%s", kid);
        snprintf(v[i].model, sizeof v[i].model, "%s", mod);
        v[i].status = status;
        m->n_req++;
    }
    m->req[i].count++;
    for (i = 0; i < m->n_tok; i++)
        if (!strcmp(m->tok[i].key_id, kid) && !strcmp(m->tok[i].model, mod)) break;
    if (i == m->n_tok) {
        if (!HEARTH_GROW(m->tok, m->cap_tok, m->n_tok + 1)) goto out;
        tok_series *v = m->tok;
        memset(&v[i], 0, sizeof v[i]);
        snprintf(v[i].key_id, sizeof v[i].key_id, "%s", kid);
        snprintf(v[i].model, sizeof v[i].model, "%s", mod);
        m->n_tok++;
    }
    m->tok[i].in += (uint64_t)(tokens_in > 0 ? tokens_in : 0);
    m->tok[i].out += (uint64_t)(tokens_out > 0 ? tokens_out : 0);
    for (i = 0; i < m->n_lat; i++)
        if (!strcmp(m->lat[i].model, mod)) break;
    if (i == m->n_lat) {
        if (!HEARTH_GROW(m->lat, m->cap_lat, m->n_lat + 1)) goto out;
        lat_series *v = m->lat;
        memset(&v[i], 0, sizeof v[i]);
        snprintf(v[i].model, sizeof v[i].model, "%s", mod);
        m->n_lat++;
    }
    for (size_t b = 0; b < N_BOUNDS; b++)
        if (latency_s <= BOUNDS[b]) m->lat[i].buckets[b]++;
    m->lat[i].count++;
    m->lat[i].sum += latency_s;
out:
    pthread_mutex_unlock(&m->mu);
}

void gw_metrics_render(gw_metrics *m, hearth_buf *o) {
    pthread_mutex_lock(&m->mu);
    hearth_buf_printf(o, "# HELP hearth_gateway_requests_total Requests answered by the gateway.\n"
                     "# TYPE hearth_gateway_requests_total counter\n");
    for (size_t i = 0; i < m->n_req; i++)
        hearth_buf_printf(o, "hearth_gateway_requests_total{key=\"%s\",model=\"%s\",status=\"%d\"} %llu\n",
                      m->req[i].key_id, m->req[i].model, m->req[i].status, (unsigned long long)m->req[i].count);
    hearth_buf_printf(o, "# HELP hearth_gateway_tokens_total Model tokens through the gateway.\n"
                     "# TYPE hearth_gateway_tokens_total counter\n");
    for (size_t i = 0; i < m->n_tok; i++) {
        hearth_buf_printf(o, "hearth_gateway_tokens_total{key=\"%s\",model=\"%s\",direction=\"in\"} %llu\n",
                      m->tok[i].key_id, m->tok[i].model, (unsigned long long)m->tok[i].in);
        hearth_buf_printf(o, "hearth_gateway_tokens_total{key=\"%s\",model=\"%s\",direction=\"out\"} %llu\n",
                      m->tok[i].key_id, m->tok[i].model, (unsigned long long)m->tok[i].out);
    }
    hearth_buf_printf(o, "# HELP hearth_gateway_request_duration_seconds Time from request to answer.\n"
                     "# TYPE hearth_gateway_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_lat; i++) {
        const lat_series *l = &m->lat[i];
        for (size_t b = 0; b < N_BOUNDS; b++)
            hearth_buf_printf(o, "hearth_gateway_request_duration_seconds_bucket{model=\"%s\",le=\"%g\"} %llu\n", l->model,
                          BOUNDS[b], (unsigned long long)l->buckets[b]);
        hearth_buf_printf(o, "hearth_gateway_request_duration_seconds_bucket{model=\"%s\",le=\"+Inf\"} %llu\n", l->model,
                      (unsigned long long)l->count);
        hearth_buf_printf(o, "hearth_gateway_request_duration_seconds_sum{model=\"%s\"} %.6f\n", l->model, l->sum);
        hearth_buf_printf(o, "hearth_gateway_request_duration_seconds_count{model=\"%s\"} %llu\n", l->model,
                      (unsigned long long)l->count);
    }
    pthread_mutex_unlock(&m->mu);
}
