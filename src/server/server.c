/*
 * server.c — the server's lifetime: settings, the model registry (each
 * model with its slots), adapters, start and graceful stop.
 */
#include "server_internal.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hearth_server_params hearth_server_default_params(void) {
    hearth_server_params p = {.host = "127.0.0.1", .port = 8080, .n_threads = 0, .n_parallel = 4,
                              .n_ctx_per_seq = 0, .n_batch = 256, .queue_max = 64, .timeout_s = 60,
                              .max_connections = 256, .max_body = 4u << 20, .drain_s = 10};
    return p;
}

hearth_status hearth_server_create(const hearth_server_params *pp, hearth_server **out) {
    *out = NULL;
    hearth_server_params p = pp ? *pp : hearth_server_default_params();
    if (!p.host) p.host = "127.0.0.1";
    if (p.n_parallel < 1 || p.n_parallel > 256)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: --parallel %d (1 .. 256)", p.n_parallel);
    if (p.port < 0 || p.port > 65535) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: --port %d", p.port);
    if (p.n_ctx_per_seq < 0 || p.n_batch < 1 || p.queue_max < 1 || p.timeout_s < 1 || p.max_connections < 1 ||
        p.max_body < 1)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "serve: settings out of range (ctx-per-seq %d, batch %d, queue %d, timeout %d, "
                                "connections %d)",
                                p.n_ctx_per_seq, p.n_batch, p.queue_max, p.timeout_s, p.max_connections);
    hearth_server *s = calloc(1, sizeof *s);
    if (!s) return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    s->p = p;
    s->queue = calloc((size_t)p.queue_max, sizeof *s->queue);
    if (!s->queue) {
        free(s);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    metrics_init(&s->met);
    if (!p.ui_off) {
        hearth_status st = webui_create(p.ui_dir, &s->ui);
        if (st) {
            hearth_server_free(s);
            return st;
        }
    }
    if (p.classifier) {
        hearth_status st = cls_create(p.classifier, &s->cls);
        if (st) {
            hearth_server_free(s);
            return st;
        }
    }
    if (p.rag_dir) {
        hearth_status st = vs_create(p.rag_dir, p.rag_embed, p.n_threads, &s->vs);
        if (st) {
            hearth_server_free(s);
            return st;
        }
    }
    *out = s;
    return HEARTH_OK;
}

static void model_clear(hearth_server *s, srv_model *sm) {
    for (int i = 0; sm->slots && i < s->p.n_parallel; i++) {
        hearth_context_free(sm->slots[i].ctx);
        free(sm->slots[i].cache);
    }
    free(sm->slots);
    hearth_embedder_free(sm->emb);
    hearth_chat_policy_free(sm->chat);
    hearth_clip_free(sm->clip);
    hearth_grammar_vocab_free(sm->gvocab);
    if (sm->pieces) {
        for (int i = 0; i < hearth_model_n_vocab(sm->m); i++) free(sm->pieces[i]);
        free(sm->pieces);
    }
    hearth_model_free(sm->m);
}

/* adds *sm to the server's models; frees it on failure */
static hearth_status models_append(hearth_server *s, srv_model *sm) {
    srv_model *ms = realloc(s->models, (size_t)(s->n_models + 1) * sizeof *ms);
    if (!ms) {
        model_clear(s, sm);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    s->models = ms;
    s->models[s->n_models++] = *sm;
    return HEARTH_OK;
}

hearth_status hearth_server_add_model(hearth_server *s, const char *name, const char *path) {
    if (s->started) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: models are added before start");
    if (!name || !*name || strlen(name) >= sizeof s->models[0].name || strchr(name, '+'))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: model name '%s' (1..127 characters, no '+')",
                                name ? name : "");
    for (int i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].name, name))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: two models named '%s'", name);
    srv_model sm;
    memset(&sm, 0, sizeof sm);
    snprintf(sm.name, sizeof sm.name, "%s", name);
    hearth_status st = hearth_model_load(path, NULL, &sm.m);
    if (st) return st;
    if (hearth_model_is_encoder(sm.m)) {
        /* an encoder (BERT) only embeds: no slots, its embedder made now so
         * that a model it cannot run fails at startup */
        hearth_embed_params ep = hearth_embed_default_params();
        ep.n_threads = s->p.n_threads;
        sm.embed_only = true;
        if ((st = hearth_embedder_create(sm.m, &ep, &sm.emb))) {
            hearth_model_free(sm.m);
            return st;
        }
        return models_append(s, &sm);
    }
    if (s->p.n_ctx_per_seq == 0) {
        int n = hearth_model_n_ctx_train(sm.m);
        s->p.n_ctx_per_seq = n > 0 && n < 2048 ? n : 2048;
    }
    sm.slots = calloc((size_t)s->p.n_parallel, sizeof *sm.slots);
    if (!sm.slots) {
        hearth_model_free(sm.m);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    for (int i = 0; i < s->p.n_parallel; i++) {
        /* slot 0 leads every batch: it has the threads and batch-sized buffers */
        hearth_context_params cp = hearth_context_default_params();
        cp.n_ctx = s->p.n_ctx_per_seq;
        cp.n_batch = i == 0 ? s->p.n_batch : 1;
        cp.n_threads = i == 0 ? s->p.n_threads : 1;
        sm.slots[i].idx = i;
        sm.slots[i].adapter = -1;
        sm.slots[i].applied = -1;
        if ((st = hearth_context_create(sm.m, &cp, &sm.slots[i].ctx))) {
            model_clear(s, &sm);
            return st;
        }
    }
    if ((st = hearth_chat_policy_create(sm.m, NULL, &sm.chat))) {
        model_clear(s, &sm);
        return st;
    }
    st = models_append(s, &sm);
    if (st == HEARTH_OK) s->kv_total += s->p.n_parallel * s->p.n_ctx_per_seq;
    return st;
}

hearth_status hearth_server_add_lora(hearth_server *s, const char *name, const char *spec) {
    if (s->started) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: adapters are added before start");
    if (!name || !*name || strlen(name) >= sizeof s->loras[0].name || strchr(name, '+'))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: adapter name '%s' (1..127 characters, no '+')",
                                name ? name : "");
    for (int i = 0; i < s->n_loras; i++)
        if (!strcmp(s->loras[i].name, name))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: two adapters named '%s'", name);
    char *path = NULL;
    float scale = 1.0f;
    hearth_status st = hearth_adapter_parse_spec(spec ? spec : "", &path, &scale);
    if (st) return st;
    if (access(path, R_OK) != 0) {
        st = hearth_set_error(HEARTH_ERR_IO, "serve: adapter '%s': %s cannot be read", name, path);
        free(path);
        return st;
    }
    srv_lora *l = realloc(s->loras, (size_t)(s->n_loras + 1) * sizeof *l);
    if (!l) {
        free(path);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    s->loras = l;
    memset(&l[s->n_loras], 0, sizeof *l);
    snprintf(l[s->n_loras].name, sizeof l->name, "%s", name);
    l[s->n_loras].path = path;
    l[s->n_loras].scale = scale;
    s->n_loras++;
    return HEARTH_OK;
}

/* loads every adapter against every generative model; an adapter that fits
 * none of them is an error (naming the shapes) */
static hearth_status load_loras(hearth_server *s) {
    for (int i = 0; i < s->n_loras; i++) {
        srv_lora *l = &s->loras[i];
        if (!(l->fit = calloc((size_t)s->n_models, sizeof *l->fit)))
            return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
        int n_fit = 0;
        char why[512] = "no generative model is served";
        for (int m = 0; m < s->n_models; m++) {
            if (s->models[m].embed_only) continue;
            if (hearth_adapter_load(l->path, hearth_model_gguf(s->models[m].m), &l->fit[m]) == HEARTH_OK) {
                n_fit++;
            } else {
                l->fit[m] = NULL;
                if (n_fit == 0) snprintf(why, sizeof why, "%s", hearth_last_error());
            }
        }
        if (n_fit == 0)
            return hearth_set_error(HEARTH_ERR_FORMAT, "serve: adapter '%s' (%s) fits no served model: %s", l->name,
                                    l->path, why);
    }
    return HEARTH_OK;
}

hearth_status hearth_server_start(hearth_server *s) {
    if (s->started) return HEARTH_OK;
    if (s->n_models == 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: no model was added");
    hearth_status st = load_loras(s);
    if (st) return st;
    st = http_start(s);
    if (st) return st;
    if (pthread_create(&s->sched_thread, NULL, sched_main, s) != 0) {
        http_stop(s);
        return hearth_set_error(HEARTH_ERR_INTERNAL, "serve: cannot start the scheduler thread");
    }
    s->started = true;
    return HEARTH_OK;
}

int hearth_server_port(const hearth_server *s) { return s->port; }

void hearth_server_stop(hearth_server *s) {
    if (!s || !s->started) return;
    /* stop accepting; the scheduler cancels the queue, lets running
     * sequences finish for up to drain_s, cancels the rest and exits */
    http_quiesce(s);
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stopping, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->sched_thread, NULL);
    http_stop(s);   /* waits for the connection threads (their jobs are all finished) */
    s->started = false;
}

void hearth_server_free(hearth_server *s) {
    if (!s) return;
    hearth_server_stop(s);
    for (int i = 0; i < s->n_models; i++) model_clear(s, &s->models[i]);
    free(s->models);
    for (int i = 0; i < s->n_loras; i++) {
        free(s->loras[i].path);
        for (int m = 0; s->loras[i].fit && m < s->n_models; m++) hearth_adapter_free(s->loras[i].fit[m]);
        free(s->loras[i].fit);
    }
    free(s->loras);
    free(s->queue);
    vs_free(s->vs);
    cls_free(s->cls);
    webui_free(s->ui);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
