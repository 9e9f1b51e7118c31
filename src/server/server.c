/*
 * server.c — the server's lifetime: settings, the table of loaded model and
 * adapter versions (each model with its slots; content digests; freeing a
 * retired version once its last request ends), start and graceful stop.
 * Hot load / swap / unload and their HTTP API are in admin_models.c.
 */
#include "server_internal.h"

#include "hearth/registry.h"


#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    pthread_mutex_init(&s->admin_mu, NULL);
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
    if (p.registry_dir) {
        hearth_status st = hearth_registry_open(p.registry_dir, &s->reg);
        if (st) {
            hearth_server_free(s);
            return st;
        }
    }
    if (p.prompts_db) {
        hearth_status st = pr_create(p.prompts_db, p.prompts_embed, p.admin_token, p.n_threads, &s->pr);
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

/* ==== digests ======================================================================= */
static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

hearth_status srv_digest_path(const char *path, char out[72]) {
    struct stat sb;
    if (stat(path, &sb) != 0) return hearth_set_error(HEARTH_ERR_IO, "serve: %s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return hearth_sha256_file(path, out);
    /* a PEFT folder: the SHA-256 of "name\0digest\n" for each regular file, by name */
    DIR *d = opendir(path);
    if (!d) return hearth_set_error(HEARTH_ERR_IO, "serve: %s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    hearth_status st = HEARTH_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (e->d_name[0] == '.' || stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if (!HEARTH_GROW(names, cap, n + 1) || !(names[n] = strdup(e->d_name)))
            st = hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
        else
            n++;
    }
    closedir(d);
    if (!st) qsort(names, n, sizeof *names, cmp_names);
    hearth_buf list = {0};
    for (size_t i = 0; !st && i < n; i++) {
        char full[4096], dg[HEARTH_DIGEST_LEN + 1];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        if (!(st = hearth_sha256_file(full, dg))) {
            hearth_buf_put(&list, names[i], strlen(names[i]) + 1);
            hearth_buf_printf(&list, "%s\n", dg);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!st) {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)(list.data ? list.data : ""), list.len);
        memcpy(out, "sha256:", 7);
        sodium_bin2hex(out + 7, 65, h, sizeof h);
    }
    hearth_buf_free(&list);
    return st;
}

/* ==== model versions ================================================================== */
void srv_model_free(hearth_server *s, srv_model *sm) {
    if (!sm) return;
    for (int i = 0; sm->slots && i < s->p.n_parallel; i++) {
        hearth_context_free(sm->slots[i].ctx);
        free(sm->slots[i].cache);
        atomic_fetch_sub(&s->kv_used, sm->slots[i].n_cache);
    }
    if (sm->slots) atomic_fetch_sub(&s->kv_total, s->p.n_parallel * s->p.n_ctx_per_seq);
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
    free(sm->path);
    free(sm);
}

static hearth_status check_name(const char *what, const char *name) {
    if (!name || !*name || strlen(name) >= sizeof ((srv_model *)0)->name || strchr(name, '+'))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: %s name '%.200s' (1..127 characters, no '+')", what,
                                name ? name : "");
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: %s name '%.200s' has a control character, quote or "
                                    "backslash", what, name);
    return HEARTH_OK;
}

hearth_status srv_model_load(hearth_server *s, const char *name, const char *path, const char *digest,
                             srv_model **out) {
    *out = NULL;
    hearth_status st = check_name("model", name);
    if (st) return st;
    srv_model *sm = calloc(1, sizeof *sm);
    if (!sm || !(sm->path = strdup(path))) {
        free(sm);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    snprintf(sm->name, sizeof sm->name, "%s", name);
    if (digest) snprintf(sm->digest, sizeof sm->digest, "%s", digest);
    if ((st = hearth_model_load(path, NULL, &sm->m)) || (!digest && (st = srv_digest_path(path, sm->digest)))) {
        srv_model_free(s, sm);
        return st;
    }
    if (hearth_model_is_encoder(sm->m)) {
        /* an encoder (BERT) only embeds: no slots, its embedder made now so
         * that a model it cannot run fails at load */
        hearth_embed_params ep = hearth_embed_default_params();
        ep.n_threads = s->p.n_threads;
        sm->embed_only = true;
        if ((st = hearth_embedder_create(sm->m, &ep, &sm->emb))) srv_model_free(s, sm);
        else *out = sm;
        return st;
    }
    if (s->p.n_ctx_per_seq == 0) {   /* the first model sets it (before start) */
        int n = hearth_model_n_ctx_train(sm->m);
        s->p.n_ctx_per_seq = n > 0 && n < 2048 ? n : 2048;
    }
    if (!(sm->slots = calloc((size_t)s->p.n_parallel, sizeof *sm->slots))) {
        srv_model_free(s, sm);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    atomic_fetch_add(&s->kv_total, s->p.n_parallel * s->p.n_ctx_per_seq);
    for (int i = 0; i < s->p.n_parallel; i++) {
        /* slot 0 leads every batch: it has the threads and batch-sized buffers */
        hearth_context_params cp = hearth_context_default_params();
        cp.n_ctx = s->p.n_ctx_per_seq;
        cp.n_batch = i == 0 ? s->p.n_batch : 1;
        cp.n_threads = i == 0 ? s->p.n_threads : 1;
        sm->slots[i].idx = i;
        if ((st = hearth_context_create(sm->m, &cp, &sm->slots[i].ctx))) {
            srv_model_free(s, sm);
            return st;
        }
    }
    if ((st = hearth_chat_policy_create(sm->m, NULL, &sm->chat))) {
        srv_model_free(s, sm);
        return st;
    }
    *out = sm;
    return HEARTH_OK;
}

void srv_lora_free(hearth_server *s, srv_lora *l) {
    if (!l) return;
    /* no slot may keep pointing at it (the scheduler owns the slots) */
    for (int i = 0; l->base && l->base->slots && i < s->p.n_parallel; i++)
        if (l->base->slots[i].applied == l) {
            hearth_context_set_adapters(l->base->slots[i].ctx, NULL, NULL, 0);
            l->base->slots[i].applied = NULL;
        }
    hearth_adapter_free(l->a);
    if (l->base) atomic_fetch_sub(&l->base->refs, 1);
    free(l->path);
    free(l);
}

hearth_status srv_lora_load(hearth_server *s, const char *name, const char *path, float scale, const char *digest,
                            srv_model *base, srv_lora **out) {
    *out = NULL;
    hearth_status st = check_name("adapter", name);
    if (st) return st;
    if (base->embed_only)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: '%s' is an encoder; adapters go on a language model",
                                base->name);
    srv_lora *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path))) {
        free(l);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    snprintf(l->name, sizeof l->name, "%s", name);
    if (digest) snprintf(l->digest, sizeof l->digest, "%s", digest);
    l->scale = scale;
    if ((st = hearth_adapter_load(path, hearth_model_gguf(base->m), &l->a)) ||
        (!digest && (st = srv_digest_path(path, l->digest)))) {
        srv_lora_free(s, l);
        return st;
    }
    atomic_fetch_add(&base->refs, 1);
    l->base = base;
    *out = l;
    return HEARTH_OK;
}

/* ==== the table ======================================================================= */
srv_model *srv_find_model(hearth_server *s, const char *name) {
    for (int i = 0; i < s->n_models; i++)
        if (!s->models[i]->retired && (!name || !strcmp(s->models[i]->name, name))) return s->models[i];
    return NULL;
}

srv_lora *srv_find_lora(hearth_server *s, const char *name, const srv_model *base) {
    for (int i = 0; i < s->n_loras; i++)
        if (!s->loras[i]->retired && s->loras[i]->base == base && !strcmp(s->loras[i]->name, name)) return s->loras[i];
    return NULL;
}

bool srv_table_add_model(hearth_server *s, srv_model *sm) {
    srv_model **t = realloc(s->models, (size_t)(s->n_models + 1) * sizeof *t);
    if (!t) return false;
    s->models = t;
    s->models[s->n_models++] = sm;
    return true;
}

bool srv_table_add_lora(hearth_server *s, srv_lora *l) {
    srv_lora **t = realloc(s->loras, (size_t)(s->n_loras + 1) * sizeof *t);
    if (!t) return false;
    s->loras = t;
    s->loras[s->n_loras++] = l;
    return true;
}

void srv_reclaim(hearth_server *s) {
    srv_lora *dl[64];
    srv_model *dm[64];
    int nl = 0, nm = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_loras && nl < 64;)
        if (s->loras[i]->retired && atomic_load(&s->loras[i]->refs) == 0) {
            dl[nl++] = s->loras[i];
            s->loras[i] = s->loras[--s->n_loras];
        } else {
            i++;
        }
    for (int i = 0; i < s->n_models && nm < 64;)
        if (s->models[i]->retired && atomic_load(&s->models[i]->refs) == 0) {
            dm[nm++] = s->models[i];
            memmove(&s->models[i], &s->models[i + 1], (size_t)(s->n_models - i - 1) * sizeof *s->models);
            s->n_models--;
        } else {
            i++;
        }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < nl; i++) srv_lora_free(s, dl[i]);
    for (int i = 0; i < nm; i++) srv_model_free(s, dm[i]);
}

hearth_status hearth_server_add_model(hearth_server *s, const char *name, const char *path) {
    if (s->started) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: models are added before start (later: "
                                            "hearth_server_load)");
    hearth_status st = check_name("model", name);
    if (st) return st;
    if (srv_find_model(s, name)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: two models named '%s'", name);
    srv_model *sm;
    if ((st = srv_model_load(s, name, path, NULL, &sm))) return st;
    if (!srv_table_add_model(s, sm)) {
        srv_model_free(s, sm);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    return HEARTH_OK;
}

hearth_status hearth_server_add_lora(hearth_server *s, const char *name, const char *spec) {
    if (s->started) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: adapters are added before start (later: "
                                            "hearth_server_load)");
    hearth_status st = check_name("adapter", name);
    if (st) return st;
    for (int i = 0; i < s->n_lora_specs; i++)
        if (!strcmp(s->lora_specs[i].name, name))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: two adapters named '%s'", name);
    char *path = NULL;
    float scale = 1.0f;
    if ((st = hearth_adapter_parse_spec(spec ? spec : "", &path, &scale))) return st;
    if (access(path, R_OK) != 0) {
        st = hearth_set_error(HEARTH_ERR_IO, "serve: adapter '%s': %s cannot be read", name, path);
        free(path);
        return st;
    }
    srv_lora_spec *l = realloc(s->lora_specs, (size_t)(s->n_lora_specs + 1) * sizeof *l);
    if (!l) {
        free(path);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    s->lora_specs = l;
    memset(&l[s->n_lora_specs], 0, sizeof *l);
    snprintf(l[s->n_lora_specs].name, sizeof l->name, "%s", name);
    l[s->n_lora_specs].path = path;
    l[s->n_lora_specs].scale = scale;
    s->n_lora_specs++;
    return HEARTH_OK;
}

/* loads every --lora against every generative model; an adapter that fits
 * none of them is an error (naming the shapes) */
static hearth_status load_loras(hearth_server *s) {
    for (int i = 0; i < s->n_lora_specs; i++) {
        const srv_lora_spec *sp = &s->lora_specs[i];
        int n_fit = 0;
        char why[512] = "no generative model is served", digest[72];
        hearth_status st = srv_digest_path(sp->path, digest);
        if (st) return st;
        for (int m = 0; m < s->n_models; m++) {
            if (s->models[m]->embed_only || srv_find_lora(s, sp->name, s->models[m])) continue;
            srv_lora *l;
            if (srv_lora_load(s, sp->name, sp->path, sp->scale, digest, s->models[m], &l) == HEARTH_OK) {
                if (!srv_table_add_lora(s, l)) {
                    srv_lora_free(s, l);
                    return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
                }
                n_fit++;
            } else if (n_fit == 0) {
                snprintf(why, sizeof why, "%s", hearth_last_error());
            }
        }
        if (n_fit == 0)
            return hearth_set_error(HEARTH_ERR_FORMAT, "serve: adapter '%s' (%s) fits no served model: %s", sp->name,
                                    sp->path, why);
    }
    return HEARTH_OK;
}

hearth_status hearth_server_start(hearth_server *s) {
    if (s->started) return HEARTH_OK;
    hearth_status st = s->reg ? srv_registry_serve_aliases(s) : HEARTH_OK;
    if (st) return st;
    if (s->n_models == 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, s->reg ? "serve: no model was added, and no alias in the registry "
                                                                 "points at a model"
                                                               : "serve: no model was added");
    st = load_loras(s);
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
    for (int i = 0; i < s->n_loras; i++) srv_lora_free(s, s->loras[i]);
    free(s->loras);
    for (int i = 0; i < s->n_models; i++) srv_model_free(s, s->models[i]);
    free(s->models);
    for (int i = 0; i < s->n_lora_specs; i++) free(s->lora_specs[i].path);
    free(s->lora_specs);
    free(s->queue);
    vs_free(s->vs);
    cls_free(s->cls);
    hearth_registry_free(s->reg);
    webui_free(s->ui);
    pr_free(s->pr);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->admin_mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
