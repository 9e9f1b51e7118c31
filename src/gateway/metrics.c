/*
 * metrics.c — the gateway's Prometheus series: requests by key, model and
 * status; tokens by key, model and direction; request latency by model
 * (histogram); token budgets used per key; whether the audit chain takes
 * appends. Series are few (keys x models), so flat tables under one mutex
 * are enough.
 */
#include "gateway_internal.h"

#include "core/prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
#define N_BOUNDS ((int)(sizeof BOUNDS / sizeof BOUNDS[0]))

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
    uint64_t buckets[N_BOUNDS + 1];   /* per bucket; last: +Inf */
    uint64_t count;
    double sum;
} lat_series;

typedef struct budget_series {
    char key_id[HEARTH_KEY_ID_LEN + 1];
    int64_t used, budget;
} budget_series;

struct gw_metrics {
    pthread_mutex_t mu;
    req_series *req;
    size_t n_req, cap_req;
    tok_series *tok;
    size_t n_tok, cap_tok;
    lat_series *lat;
    size_t n_lat, cap_lat;
    budget_series *bud;
    size_t n_bud, cap_bud;
    bool audit_failed;          /* the last audit append failed */
    uint64_t audit_failures;
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
    free(m->bud);
    free(m);
}

void gw_metrics_request(gw_metrics *m, const char *key_id, const char *model, int status, int64_t tokens_in,
                        int64_t tokens_out, double latency_s) {
    char mod[96];
    snprintf(mod, sizeof mod, "%s", model && *model ? model : "-");   /* escaped when rendered */
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
    prom_hist_observe(BOUNDS, N_BOUNDS, m->lat[i].buckets, &m->lat[i].sum, &m->lat[i].count, latency_s);
out:
    pthread_mutex_unlock(&m->mu);
}

void gw_metrics_budget(gw_metrics *m, const char *key_id, int64_t used, int64_t budget) {
    pthread_mutex_lock(&m->mu);
    size_t i;
    for (i = 0; i < m->n_bud; i++)
        if (!strcmp(m->bud[i].key_id, key_id)) break;
    if (i == m->n_bud) {
        if (!HEARTH_GROW(m->bud, m->cap_bud, m->n_bud + 1)) goto out;
        snprintf(m->bud[i].key_id, sizeof m->bud[i].key_id, "%s", key_id);
        m->n_bud++;
    }
    m->bud[i].used = used;
    m->bud[i].budget = budget;
out:
    pthread_mutex_unlock(&m->mu);
}

void gw_metrics_audit(gw_metrics *m, bool ok) {
    pthread_mutex_lock(&m->mu);
    m->audit_failed = !ok;
    if (!ok) m->audit_failures++;
    pthread_mutex_unlock(&m->mu);
}

/* ==== rendering ===================================================================== */
/* name{key="...",model="..."(,extra)} — the label pairs every per-key series starts with */
static void key_model(hearth_buf *o, const char *name, const char *key_id, const char *model) {
    hearth_buf_printf(o, "%s{key=\"", name);
    prom_label_value(o, key_id);
    hearth_buf_puts(o, "\",model=\"");
    prom_label_value(o, model);
    hearth_buf_putc(o, '"');
}

void gw_metrics_render(gw_metrics *m, hearth_buf *o) {
    pthread_mutex_lock(&m->mu);
    hearth_buf_printf(o, "# HELP hearth_gateway_requests_total Requests answered by the gateway.\n"
                         "# TYPE hearth_gateway_requests_total counter\n");
    for (size_t i = 0; i < m->n_req; i++) {
        key_model(o, "hearth_gateway_requests_total", m->req[i].key_id, m->req[i].model);
        hearth_buf_printf(o, ",status=\"%d\"} %llu\n", m->req[i].status, (unsigned long long)m->req[i].count);
    }
    hearth_buf_printf(o, "# HELP hearth_gateway_tokens_total Model tokens through the gateway.\n"
                         "# TYPE hearth_gateway_tokens_total counter\n");
    for (size_t i = 0; i < m->n_tok; i++) {
        key_model(o, "hearth_gateway_tokens_total", m->tok[i].key_id, m->tok[i].model);
        hearth_buf_printf(o, ",direction=\"in\"} %llu\n", (unsigned long long)m->tok[i].in);
        key_model(o, "hearth_gateway_tokens_total", m->tok[i].key_id, m->tok[i].model);
        hearth_buf_printf(o, ",direction=\"out\"} %llu\n", (unsigned long long)m->tok[i].out);
    }
    hearth_buf_printf(o, "# HELP hearth_gateway_request_duration_seconds Time from request to answer.\n"
                         "# TYPE hearth_gateway_request_duration_seconds histogram\n");
    hearth_buf lab = {0};
    for (size_t i = 0; i < m->n_lat; i++) {
        const lat_series *l = &m->lat[i];
        hearth_buf_reset(&lab);
        hearth_buf_puts(&lab, "model=\"");
        prom_label_value(&lab, l->model);
        hearth_buf_putc(&lab, '"');
        prom_hist_render(o, "hearth_gateway_request_duration_seconds", lab.data ? lab.data : "", BOUNDS, N_BOUNDS,
                         l->buckets, l->sum, l->count);
    }
    hearth_buf_free(&lab);
    hearth_buf_printf(o, "# HELP hearth_gateway_budget_used_tokens Tokens a key used this budget period "
                         "(as of its last request).\n# TYPE hearth_gateway_budget_used_tokens gauge\n");
    for (size_t i = 0; i < m->n_bud; i++)
        hearth_buf_printf(o, "hearth_gateway_budget_used_tokens{key=\"%s\"} %lld\n", m->bud[i].key_id,
                          (long long)m->bud[i].used);
    hearth_buf_printf(o, "# HELP hearth_gateway_budget_tokens A key's token budget per period.\n"
                         "# TYPE hearth_gateway_budget_tokens gauge\n");
    for (size_t i = 0; i < m->n_bud; i++)
        hearth_buf_printf(o, "hearth_gateway_budget_tokens{key=\"%s\"} %lld\n", m->bud[i].key_id,
                          (long long)m->bud[i].budget);
    hearth_buf_printf(o, "# HELP hearth_audit_chain_ok 1 while audit records append to the chain; 0 after an "
                         "append failed (requests fail closed).\n# TYPE hearth_audit_chain_ok gauge\n"
                         "hearth_audit_chain_ok %d\n"
                         "# HELP hearth_audit_append_failures_total Audit records that could not be written.\n"
                         "# TYPE hearth_audit_append_failures_total counter\nhearth_audit_append_failures_total %llu\n",
                      m->audit_failed ? 0 : 1, (unsigned long long)m->audit_failures);
    pthread_mutex_unlock(&m->mu);
}
