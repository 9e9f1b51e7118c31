/*
 * metrics.c — the server's counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * The meanings follow what operators know from vLLM and llama.cpp, under
 * hearth_* names: requests running (vllm:num_requests_running) and waiting
 * (vllm:num_requests_waiting), KV-cache use as a ratio
 * (vllm:gpu_cache_usage_perc, llamacpp:kv_cache_usage_ratio), time to first
 * token, inter-token latency (vllm:time_per_output_token_seconds) and
 * end-to-end latency histograms, prompt and generated tokens — the token and
 * latency series per model (a server has a handful of models, so the label's
 * cardinality is small; past MET_MAX_MODELS names they share model="other").
 */
#include "server_internal.h"

#include "core/prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* upper bounds in seconds: CPU decoding runs ~5-200 ms a token, a request up to minutes */
static const double BUCKETS[MET_N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10,    30,  60};

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

/* the series of model (m->mu held); the last row collects names past the table */
static met_model *model_row(metrics *m, const char *model) {
    if (!model || !*model) model = "-";
    for (int i = 0; i < m->n_mod; i++)
        if (!strcmp(m->mod[i].name, model)) return &m->mod[i];
    if (m->n_mod == MET_MAX_MODELS - 1) {
        snprintf(m->mod[m->n_mod].name, sizeof m->mod[0].name, "other");
        m->n_mod++;
    }
    if (m->n_mod == MET_MAX_MODELS) return &m->mod[MET_MAX_MODELS - 1];
    met_model *r = &m->mod[m->n_mod++];
    snprintf(r->name, sizeof r->name, "%s", model);
    return r;
}

void metrics_tokens(metrics *m, const char *model, int64_t in, int64_t out, int64_t reused) {
    pthread_mutex_lock(&m->mu);
    met_model *r = model_row(m, model);
    r->tokens_in += (uint64_t)in;
    r->tokens_out += (uint64_t)out;
    r->prefix_reused += (uint64_t)reused;
    pthread_mutex_unlock(&m->mu);
}

void metrics_observe(metrics *m, const char *model, met_hist which, double seconds) {
    pthread_mutex_lock(&m->mu);
    histogram *h = &model_row(m, model)->h[which];
    prom_hist_observe(BUCKETS, MET_N_BUCKETS, h->counts, &h->sum, &h->n, seconds);
    pthread_mutex_unlock(&m->mu);
}

/* ==== readiness ==================================================================== */
int metrics_ready(hearth_server *s, const char **why) {
    if (atomic_load(&s->stopping)) return *why = "shutting down", 0;
    int loaded = 0;
    pthread_mutex_lock(&s->mu);   /* the table changes with hot swaps (admin_models.c) */
    for (int i = 0; i < s->n_models; i++) loaded += !s->models[i]->retired && s->models[i]->m;
    pthread_mutex_unlock(&s->mu);
    return loaded ? (*why = "ready", 1) : (*why = "no model loaded", 0);
}

/* ==== rendering ==================================================================== */
static void family(hearth_buf *b, const char *name, const char *type, const char *help) {
    hearth_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(hearth_buf *b, const char *name, const char *help, double v) {
    family(b, name, "gauge", help);
    hearth_buf_printf(b, "%s %.17g\n", name, v);
}

/* one sample per model row: name{model="..."} value */
static void per_model(hearth_buf *b, const metrics *m, const char *name, const char *help, size_t field) {
    family(b, name, "counter", help);
    for (int i = 0; i < m->n_mod; i++) {
        hearth_buf_printf(b, "%s{model=\"", name);
        prom_label_value(b, m->mod[i].name);
        hearth_buf_printf(b, "\"} %llu\n", (unsigned long long)*(const uint64_t *)((const char *)&m->mod[i] + field));
    }
}

static void hist(hearth_buf *b, const metrics *m, const char *name, const char *help, met_hist which) {
    family(b, name, "histogram", help);
    hearth_buf lab = {0};
    for (int i = 0; i < m->n_mod; i++) {
        hearth_buf_reset(&lab);
        hearth_buf_puts(&lab, "model=\"");
        prom_label_value(&lab, m->mod[i].name);
        hearth_buf_putc(&lab, '"');
        const histogram *h = &m->mod[i].h[which];
        prom_hist_render(b, name, lab.data ? lab.data : "", BUCKETS, MET_N_BUCKETS, h->counts, h->sum, h->n);
    }
    hearth_buf_free(&lab);
}

char *metrics_render(hearth_server *s) {
    hearth_buf b = {0};
    metrics *m = &s->met;
    /* the queue, and the models now served (names copied: the table changes with hot swaps) */
    char names[MET_MAX_MODELS][128];
    int n_names = 0, slots = 0;
    pthread_mutex_lock(&s->mu);
    int q = s->q_len;
    for (int i = 0; i < s->n_models; i++) {
        const srv_model *sm = s->models[i];
        if (!sm->embed_only) slots += s->p.n_parallel;
        if (!sm->retired && !sm->embed_only && n_names < MET_MAX_MODELS)
            snprintf(names[n_names++], sizeof names[0], "%s", sm->name);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < n_names; i++) model_row(m, names[i]);   /* series exist from the start (rate() sees 0) */
    family(&b, "hearth_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
    for (int i = 0; i < m->n_req; i++)
        hearth_buf_printf(&b, "hearth_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", m->req[i].endpoint,
                          m->req[i].status, (unsigned long long)m->req[i].n);
    per_model(&b, m, "hearth_prompt_tokens_total", "Prompt tokens of finished requests.",
              offsetof(met_model, tokens_in));
    per_model(&b, m, "hearth_generated_tokens_total", "Tokens generated by finished requests.",
              offsetof(met_model, tokens_out));
    per_model(&b, m, "hearth_prompt_tokens_reused_total", "Prompt tokens found in a slot's KV cache (prefix reuse).",
              offsetof(met_model, prefix_reused));
    hist(&b, m, "hearth_time_to_first_token_seconds", "Time from a request's arrival to its first generated token.",
         MET_TTFT);
    hist(&b, m, "hearth_inter_token_latency_seconds", "Time between two generated tokens of one sequence.", MET_ITL);
    hist(&b, m, "hearth_request_duration_seconds", "End to end: time from a request's arrival to its last token.",
         MET_E2E);
    pthread_mutex_unlock(&m->mu);
    int busy = atomic_load(&s->slots_busy), kv = atomic_load(&s->kv_used), kv_total = atomic_load(&s->kv_total);
    const char *why;
    int ready = metrics_ready(s, &why);
    gauge(&b, "hearth_requests_running", "Sequences being decoded (a request with n choices runs n).", busy);
    gauge(&b, "hearth_requests_waiting", "Sequences queued for a slot.", q);
    gauge(&b, "hearth_queue_depth", "Sequences waiting for a slot (as hearth_requests_waiting).", q);
    gauge(&b, "hearth_slots_busy", "Slots running a sequence (as hearth_requests_running).", busy);
    gauge(&b, "hearth_slots_capacity", "Slots (parallel sequences) over all models.", slots);
    gauge(&b, "hearth_kv_cache_used_tokens", "Tokens held in the slots' KV caches.", kv);
    gauge(&b, "hearth_kv_cache_capacity_tokens", "Tokens the KV-cache pool holds.", kv_total);
    gauge(&b, "hearth_kv_cache_usage_ratio", "KV-cache use: used tokens over capacity (0 to 1).",
          kv_total > 0 ? (double)kv / kv_total : 0);
    gauge(&b, "hearth_ready", "1 when the server takes requests (models loaded, not stopping), as GET /ready.", ready);
    family(&b, "hearth_model_loaded", "gauge", "Generative models loaded and served, by name.");
    for (int i = 0; i < n_names; i++) {
        hearth_buf_puts(&b, "hearth_model_loaded{model=\"");
        prom_label_value(&b, names[i]);
        hearth_buf_puts(&b, "\"} 1\n");
    }
    return hearth_buf_take(&b, NULL);
}
