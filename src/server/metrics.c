/*
 * metrics.c — the server's counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4) for GET /metrics.
 */
#include "server_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double BUCKETS[MET_N_BUCKETS] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

void metrics_init(metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void metrics_request(metrics *m, const char *endpoint, int status) {
    pthread_mutex_lock(&m->mu);
    int i;
    for (i = 0; i < m->n_req; i++)
        if (m->req[i].status == status && !strcmp(m->req[i].endpoint, endpoint)) break;
    if (i == m->n_req && m->n_req < (int)(sizeof m->req / sizeof m->req[0])) {
        snprintf(m->req[i].endpoint, sizeof m->req[i].endpoint, "%s", endpoint);
        m->req[i].status = status;
        m->n_req++;
    }
    if (i < m->n_req) m->req[i].n++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_tokens(metrics *m, int64_t in, int64_t out, int64_t reused) {
    pthread_mutex_lock(&m->mu);
    m->tokens_in += (uint64_t)in;
    m->tokens_out += (uint64_t)out;
    m->prefix_reused += (uint64_t)reused;
    pthread_mutex_unlock(&m->mu);
}

void metrics_observe(metrics *m, histogram *h, double seconds) {
    pthread_mutex_lock(&m->mu);
    int b = 0;
    while (b < MET_N_BUCKETS && seconds > BUCKETS[b]) b++;
    h->counts[b]++;
    h->sum += seconds;
    h->n++;
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---- */
static void hist(hearth_buf *b, const char *name, const char *help, const histogram *h) {
    hearth_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < MET_N_BUCKETS; i++) {
        cum += h->counts[i];
        hearth_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, BUCKETS[i], (unsigned long long)cum);
    }
    cum += h->counts[MET_N_BUCKETS];
    hearth_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum, name,
              h->sum, name, (unsigned long long)h->n);
}

char *metrics_render(hearth_server *s) {
    hearth_buf b = {0};
    metrics *m = &s->met;
    pthread_mutex_lock(&s->mu);
    int q = s->q_len;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&m->mu);
    hearth_buf_printf(&b, "# HELP hearth_requests_total HTTP requests answered, by endpoint and status code.\n"
                  "# TYPE hearth_requests_total counter\n");
    for (int i = 0; i < m->n_req; i++)
        hearth_buf_printf(&b, "hearth_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", m->req[i].endpoint,
                  m->req[i].status, (unsigned long long)m->req[i].n);
    hearth_buf_printf(&b,
              "# HELP hearth_prompt_tokens_total Prompt tokens of finished requests.\n"
              "# TYPE hearth_prompt_tokens_total counter\nhearth_prompt_tokens_total %llu\n"
              "# HELP hearth_generated_tokens_total Tokens generated.\n"
              "# TYPE hearth_generated_tokens_total counter\nhearth_generated_tokens_total %llu\n"
              "# HELP hearth_prompt_tokens_reused_total Prompt tokens found in a slot's KV cache (prefix reuse).\n"
              "# TYPE hearth_prompt_tokens_reused_total counter\nhearth_prompt_tokens_reused_total %llu\n",
              (unsigned long long)m->tokens_in, (unsigned long long)m->tokens_out,
              (unsigned long long)m->prefix_reused);
    hist(&b, "hearth_time_to_first_token_seconds", "Time from a request's arrival to its first generated token.",
         &m->ttft);
    hist(&b, "hearth_request_duration_seconds", "Time from a request's arrival to its last token.", &m->latency);
    pthread_mutex_unlock(&m->mu);
    int slots = 0;
    pthread_mutex_lock(&s->mu);   /* the table changes with hot swaps (admin_models.c) */
    for (int i = 0; i < s->n_models; i++) slots += s->models[i]->embed_only ? 0 : s->p.n_parallel;
    pthread_mutex_unlock(&s->mu);
    hearth_buf_printf(&b,
              "# HELP hearth_queue_depth Sequences waiting for a slot.\n# TYPE hearth_queue_depth gauge\n"
              "hearth_queue_depth %d\n"
              "# HELP hearth_slots_busy Slots running a sequence.\n# TYPE hearth_slots_busy gauge\n"
              "hearth_slots_busy %d\n"
              "# HELP hearth_slots_capacity Slots (parallel sequences) over all models.\n"
              "# TYPE hearth_slots_capacity gauge\nhearth_slots_capacity %d\n"
              "# HELP hearth_kv_cache_used_tokens Tokens held in the slots' KV caches.\n"
              "# TYPE hearth_kv_cache_used_tokens gauge\nhearth_kv_cache_used_tokens %d\n"
              "# HELP hearth_kv_cache_capacity_tokens Tokens the KV-cache pool holds.\n"
              "# TYPE hearth_kv_cache_capacity_tokens gauge\nhearth_kv_cache_capacity_tokens %d\n",
              q, atomic_load(&s->slots_busy), slots, atomic_load(&s->kv_used), s->kv_total);
    return hearth_buf_take(&b, NULL);
}
