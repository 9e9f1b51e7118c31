/*
 * sched.c — the scheduler: continuous batching over a fixed set of slots.
 *
 * One thread owns every forward. Each step, for one model (models take
 * turns):
 *   1. running sequences whose client went away are dropped (slot freed);
 *   2. queued sequences move into free slots of their model — the free slot
 *      whose cached tokens (same adapter) share the longest prefix with the
 *      prompt, whose K/V are then kept (prefix reuse);
 *   3. one hearth_decode_batch over every active slot: the next token of each
 *      generating sequence, then prompt chunks of new ones, up to n_batch
 *      tokens in all;
 *   4. every sequence that got logits takes one sequence step (hearth_sequence:
 *      sampling under its constraint, detokenizing, stop strings — the same
 *      step as hearth_generate), streams its text to the job, and leaves its
 *      slot when it ends.
 * Embedding requests run whole in one step, in a free slot.
 */
#include "server_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== jobs ======================================================================= */
srv_job *job_new(void) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    atomic_init(&j->refs, 1);
    j->logprobs = -1;
    return j;
}

void job_unref(srv_job *j) {
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
    for (int i = 0; j->ch && i < j->n; i++)   /* ch is NULL when parsing failed */
        free(j->ch[i].text), free(j->ch[i].lps), hearth_tool_parser_free(j->ch[i].tp);
    hearth_tools_free(j->tools);
    free(j->tools_json);
    free(j->ch);
    for (int i = 0; i < j->n_stop; i++) free(j->stop[i]);
    free(j->stop);
    free(j->prompt);
    free(j->bias);
    hearth_grammar_free(j->grammar);
    for (int i = 0; i < j->n_inputs; i++) {
        if (j->in_ids) free(j->in_ids[i]);
        if (j->in_text) free(j->in_text[i]);
    }
    for (int i = 0; j->in_image && i < j->n_inputs; i++) hearth_image_free(j->in_image[i]), free(j->in_image[i]);
    free(j->in_image);
    hearth_image_free(j->image);
    free(j->image);
    free(j->image_embd);
    free(j->in_ids);
    free(j->in_text);
    free(j->in_n);
    free(j->embd);
    free(j->error);
    /* the versions it pinned: retired ones are freed by the scheduler at 0 */
    if (j->lora) atomic_fetch_sub(&j->lora->refs, 1);
    if (j->model) atomic_fetch_sub(&j->model->refs, 1);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

void choice_append(srv_choice *c, const char *s, size_t n) {
    if (!HEARTH_GROW(c->text, c->cap, c->len + n + 1)) return;
    memcpy(c->text + c->len, s, n);
    c->len += n;
    c->text[c->len] = 0;
}

int sched_enqueue(hearth_server *s, srv_job *j) {
    int need = j->kind == JOB_EMBED ? 1 : j->n;
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->stopping)) {
        pthread_mutex_unlock(&s->mu);
        return 503;
    }
    if (s->q_len + need > s->p.queue_max) {
        pthread_mutex_unlock(&s->mu);
        return 429;
    }
    j->t_enqueue = hearth_time_s();
    j->n_running = need;
    j->n_queued = need;
    for (int i = 0; i < need; i++) {
        atomic_fetch_add(&j->refs, 1);
        s->queue[s->q_len++] = (srv_qent){j, i};
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* ==== finishing ==================================================================== */
/* one choice ended (job->mu not held); the job is done when all have */
static void finish_choice(hearth_server *s, srv_job *j, int choice, const char *reason) {
    pthread_mutex_lock(&j->mu);
    srv_choice *c = &j->ch[choice];
    if (!c->finish) {
        c->finish = reason;
        if (--j->n_running == 0) {
            j->done = true;
            double now = hearth_time_s();
            int gen = 0;
            for (int i = 0; i < j->n; i++) gen += j->ch[i].n_gen;
            if (!atomic_load(&j->cancelled)) {
                metrics_observe(&s->met, j->model->name, MET_E2E, now - j->t_enqueue);
                metrics_tokens(&s->met, j->model->name, j->n_prompt, gen, j->prompt_reused);
            }
        }
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void job_fail(hearth_server *s, srv_job *j, int choice, const char *msg) {
    pthread_mutex_lock(&j->mu);
    if (!j->error) j->error = strdup(msg);
    pthread_mutex_unlock(&j->mu);
    finish_choice(s, j, choice, "error");
}

static void slot_release(hearth_server *s, srv_slot *sl, const char *reason) {
    if (!sl->j) return;
    finish_choice(s, sl->j, sl->choice, reason);
    job_unref(sl->j);
    sl->j = NULL;
    sl->t_last_used = hearth_time_s();
    hearth_sequence_free(sl->seq), sl->seq = NULL;
    hearth_constraint_free(sl->con), sl->con = NULL;
    atomic_fetch_sub(&s->slots_busy, 1);
}

/* ==== the cache of a slot ============================================================ */
static bool cache_push(hearth_server *s, srv_slot *sl, const int32_t *ids, int n) {
    if (!HEARTH_GROW(sl->cache, sl->cap_cache, (size_t)sl->n_cache + (size_t)n)) return false;
    memcpy(sl->cache + sl->n_cache, ids, (size_t)n * sizeof *ids);
    sl->n_cache += n;
    atomic_fetch_add(&s->kv_used, n);
    return true;
}

static void cache_truncate(hearth_server *s, srv_slot *sl, int n) {
    if (n >= sl->n_cache) return;
    atomic_fetch_sub(&s->kv_used, sl->n_cache - n);
    sl->n_cache = n;
    hearth_context_truncate(sl->ctx, n);
}

/* ==== starting a sequence in a slot ==================================================== */
/* every token's text (for constraints), built on first use; NULL when out of memory */
static const char *const *token_texts(srv_model *sm) {
    if (!sm->pieces) {
        const hearth_vocab *v = hearth_model_vocab(sm->m);
        int nv = hearth_model_n_vocab(sm->m);
        char **pieces = calloc((size_t)nv, sizeof *pieces);
        if (!pieces) return NULL;
        char buf[256];
        for (int i = 0; i < nv; i++) {
            int64_t n = hearth_token_to_piece(v, i, false, buf, sizeof buf - 1);
            if (n < 0) n = 0;
            if (n > (int64_t)sizeof buf - 1) n = sizeof buf - 1;
            buf[n] = 0;
            pieces[i] = strdup(buf);
        }
        sm->pieces = pieces;
    }
    return (const char *const *)sm->pieces;
}

/* true when the slot's cached K/V were computed under the job's adapter version */
static bool cache_fits(const srv_slot *sl, const srv_job *j) {
    if (!j->lora) return sl->cache_digest[0] == 0;
    return !strcmp(sl->cache_digest, j->lora->digest) && sl->cache_scale == j->lora->scale;
}

static bool slot_start(hearth_server *s, srv_model *sm, srv_slot *sl, srv_job *j, int choice) {
    /* keep the longest cached prefix (at most n_prompt - 1: the last prompt
     * token must run to give logits) */
    int common = 0;
    if (cache_fits(sl, j))
        while (common < sl->n_cache && common < j->n_prompt && sl->cache[common] == j->prompt[common]) common++;
    if (common > j->n_prompt - 1) common = j->n_prompt - 1;
    if (j->image && common > j->image_at) common = j->image_at;   /* positions after the image are not the ids' */
    if (j->image) {   /* the image through its encoder, once per job */
        hearth_status ist = srv_image_encode(sm, j);
        if (ist != HEARTH_OK) {
            job_fail(s, j, choice, hearth_last_error());
            job_unref(j);
            return false;
        }
    }
    cache_truncate(s, sl, common);
    snprintf(sl->cache_digest, sizeof sl->cache_digest, "%s", j->lora ? j->lora->digest : "");
    sl->cache_scale = j->lora ? j->lora->scale : 0;
    if (sl->applied != j->lora) {
        /* the request's adapter on this slot's context (its rows only, inside the batch) */
        hearth_status st;
        if (j->lora) {
            const hearth_adapter *a = j->lora->a;
            st = hearth_context_set_adapters(sl->ctx, &a, &j->lora->scale, 1);
        } else {
            st = hearth_context_set_adapters(sl->ctx, NULL, NULL, 0);
        }
        if (st != HEARTH_OK) {
            cache_truncate(s, sl, 0);
            sl->cache_digest[0] = 0;
            sl->applied = NULL;
            hearth_context_set_adapters(sl->ctx, NULL, NULL, 0);
            job_fail(s, j, choice, hearth_last_error());
            job_unref(j);
            return false;
        }
        sl->applied = j->lora;
    }
    hearth_sequence_params sp = hearth_sequence_default_params();
    sp.sampling = j->sp;
    if (j->n > 1 && sp.sampling.seed != HEARTH_SEED_RANDOM) sp.sampling.seed += (uint64_t)choice;
    sp.max_tokens = j->max_tokens;
    sp.stop = (const char *const *)j->stop;
    sp.n_stop = (size_t)j->n_stop;
    hearth_status st = HEARTH_OK;
    if (j->json_mode || j->grammar) {
        /* grammars: the vocabulary's trie (built once per model) gives whole masks fast */
        if (j->grammar && !sm->gvocab) hearth_grammar_vocab_from(hearth_model_vocab(sm->m), &sm->gvocab);
        st = j->grammar ? hearth_grammar_constraint_vocab(j->grammar, sm->gvocab, &sl->con)
                        : hearth_constraint_json_object(&sl->con);
        sp.constraint = sl->con;
        sp.token_texts = token_texts(sm);
        if (st == HEARTH_OK && !sp.token_texts) st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    if (st == HEARTH_OK) st = hearth_sequence_create(hearth_model_vocab(sm->m), hearth_model_n_vocab(sm->m), &sp, &sl->seq);
    if (st != HEARTH_OK) {
        hearth_constraint_free(sl->con), sl->con = NULL;
        job_fail(s, j, choice, hearth_last_error());
        job_unref(j);
        return false;
    }
    sl->j = j;
    sl->choice = choice;
    sl->n_prompt_done = common;
    sl->generating = false;
    sl->n_gen = 0;
    if (choice == 0) j->prompt_reused = common;
    atomic_fetch_add(&s->slots_busy, 1);
    return true;
}

/* ==== embeddings =========================================================================
 * Through the model's embedder (include/hearth/embed.h): a BERT encoder with
 * its own pooling, a llama-family model mean-pooled over its final
 * normalized hidden states; L2-normalized. Text inputs are tokenized by the
 * embedder (with the model's special tokens), so the vectors equal
 * `hearth embed`'s. */
static void embed_fail(hearth_server *s, srv_job *j, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void embed_fail(hearth_server *s, srv_job *j, int status, const char *code, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&j->mu);
    j->error_status = status;
    j->error_code = code;
    pthread_mutex_unlock(&j->mu);
    job_fail(s, j, 0, msg);
}

static void run_embed(hearth_server *s, srv_model *sm, srv_job *j) {
    if (!sm->emb) {
        hearth_embed_params ep = hearth_embed_default_params();
        ep.n_threads = s->p.n_threads;
        ep.n_ctx = s->p.n_ctx_per_seq;
        if (hearth_embedder_create(sm->m, &ep, &sm->emb) != HEARTH_OK) {
            embed_fail(s, j, 500, NULL, "cannot embed with this model: %s", hearth_last_error());
            return;
        }
    }
    int dim = j->embd_rows ? hearth_clip_n_tokens(sm->clip) * hearth_clip_n_embd(sm->clip) : hearth_embedder_n_embd(sm->emb);
    float *embd = calloc((size_t)j->n_inputs * dim, sizeof(float));
    if (!embd) { embed_fail(s, j, 500, NULL, "out of memory"); return; }
    int64_t n_tok = 0;
    for (int i = 0; i < j->n_inputs && !atomic_load(&j->cancelled); i++) {
        float *e = embd + (size_t)i * dim;
        if (j->in_image && j->in_image[i]) {   /* an image: its encoder's patch embeddings (images.c) */
            if (srv_embed_image(sm, j->in_image[i], !j->embd_rows, e) != HEARTH_OK) {
                free(embd);
                embed_fail(s, j, 500, NULL, "input %d: %s", i, hearth_last_error());
                return;
            }
            n_tok += hearth_clip_n_tokens(sm->clip);
            continue;
        }
        hearth_status st = j->in_text && j->in_text[i]
                               ? hearth_embed(sm->emb, j->in_text[i], strlen(j->in_text[i]), e, dim)
                               : hearth_embed_tokens(sm->emb, j->in_ids[i], j->in_n[i], e, dim);
        if (st != HEARTH_OK) {
            free(embd);
            if (st == HEARTH_ERR_RANGE)
                embed_fail(s, j, 400, "context_length_exceeded", "input %d: %s (the model takes at most %d tokens)", i,
                           hearth_last_error(), (int)hearth_embedder_n_ctx(sm->emb));
            else if (st == HEARTH_ERR_INVALID_ARG)
                embed_fail(s, j, 400, "invalid_value", "input %d: %s", i, hearth_last_error());
            else
                embed_fail(s, j, 500, NULL, "input %d: %s", i, hearth_last_error());
            return;
        }
        n_tok += hearth_embedder_last_tokens(sm->emb);
    }
    pthread_mutex_lock(&j->mu);
    j->embd = embd;
    j->dim = dim;
    j->n_prompt = (int)n_tok;
    pthread_mutex_unlock(&j->mu);
    finish_choice(s, j, 0, atomic_load(&j->cancelled) ? "cancelled" : "stop");
}

/* ==== one token of a sequence ============================================================ */
/* the slot's sequence got logits: sample, stream, decide whether it ends */
static void slot_sample(hearth_server *s, srv_model *sm, srv_slot *sl) {
    (void)sm;
    srv_job *j = sl->j;
    hearth_sequence_token t;
    hearth_sequence_step(sl->seq, hearth_get_logits(sl->ctx), &t);
    if (t.id < 0) {
        slot_release(s, sl, sl->con ? "length" : "stop");
        return;
    }
    sl->n_gen++;
    srv_logprob lp = {t.id, t.logprob, 0, {{0}}};
    if (j->logprobs > 0)
        lp.n_top = hearth_sampler_last_top(hearth_sequence_sampler(sl->seq), lp.top, j->logprobs > 20 ? 20 : j->logprobs);

    double now = hearth_time_s();
    pthread_mutex_lock(&j->mu);
    srv_choice *c = &j->ch[sl->choice];
    c->n_gen = sl->n_gen;
    if (j->t_first == 0) {
        j->t_first = now;
        metrics_observe(&s->met, j->model->name, MET_TTFT, now - j->t_enqueue);
    }
    if (sl->n_gen > 1) metrics_observe(&s->met, j->model->name, MET_ITL, now - sl->t_token);
    sl->t_token = now;
    if (j->logprobs >= 0 && !t.eog) {
        if (HEARTH_GROW(c->lps, c->cap_lps, c->n_lps + 1)) c->lps[c->n_lps++] = lp;
    }
    if (t.len) choice_append(c, t.text, t.len);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);

    const char *reason = NULL;
    if (t.stop == HEARTH_STOP_EOS || t.stop == HEARTH_STOP_STRING || t.stop == HEARTH_STOP_CONSTRAINT) reason = "stop";
    else if (t.stop == HEARTH_STOP_LENGTH || hearth_context_n_past(sl->ctx) >= hearth_context_n_ctx(sl->ctx))
        reason = "length";
    if (reason) {
        if (t.stop != HEARTH_STOP_STRING) {
            /* whatever is held back was not a stop string */
            hearth_stop_reason end = t.stop;
            const char *tail;
            size_t n_tail = hearth_sequence_finish(sl->seq, &tail, &end);
            if (end == HEARTH_STOP_STRING) reason = "stop";
            pthread_mutex_lock(&j->mu);
            if (n_tail) choice_append(c, tail, n_tail);
            pthread_mutex_unlock(&j->mu);
        }
        slot_release(s, sl, reason);
        return;
    }
    sl->generating = true;
    sl->next_tok = t.id;
}

/* ==== one step for one model ================================================================ */
/* moves queued sequences of model sm into its free slots (s->mu held);
 * returns an embedding job to run now, if any */
static srv_job *assign(hearth_server *s, srv_model *sm) {
    srv_job *embed = NULL;
    int w = 0;
    for (int q = 0; q < s->q_len; q++) {
        srv_qent e = s->queue[q];
        bool keep = true;
        if (atomic_load(&e.j->cancelled)) {
            pthread_mutex_lock(&e.j->mu);
            e.j->n_queued--;
            pthread_mutex_unlock(&e.j->mu);
            finish_choice(s, e.j, e.choice, "cancelled");
            job_unref(e.j);
            keep = false;
        } else if (e.j->model == sm && e.j->kind == JOB_EMBED) {
            if (!embed) {
                keep = false;
                pthread_mutex_lock(&e.j->mu);
                e.j->n_queued--;
                pthread_mutex_unlock(&e.j->mu);
                embed = e.j;
            }
        } else if (e.j->model == sm && !embed && sm->slots) {
            /* the free slot with the longest common prefix; then the least recently used */
            srv_slot *best = NULL;
            int best_common = -1;
            for (int i = 0; i < s->p.n_parallel; i++) {
                srv_slot *sl = &sm->slots[i];
                if (sl->j) continue;
                int common = 0;
                if (cache_fits(sl, e.j))
                    while (common < sl->n_cache && common < e.j->n_prompt && sl->cache[common] == e.j->prompt[common])
                        common++;
                if (common > best_common || (common == best_common && sl->t_last_used < best->t_last_used))
                    best = sl, best_common = common;
            }
            if (best) {
                keep = false;
                pthread_mutex_lock(&e.j->mu);
                e.j->n_queued--;
                pthread_mutex_unlock(&e.j->mu);
                slot_start(s, sm, best, e.j, e.choice);
            }
        }
        if (keep) s->queue[w++] = e;
    }
    s->q_len = w;
    return embed;
}

/* one batched forward over the active slots of sm; false if nothing ran */
static bool step(hearth_server *s, srv_model *sm) {
    int np = s->p.n_parallel;
    /* 1. drop sequences whose client left */
    for (int i = 0; i < np && sm->slots; i++)
        if (sm->slots[i].j && atomic_load(&sm->slots[i].j->cancelled)) slot_release(s, &sm->slots[i], "cancelled");
    /* 2. queued -> free slots */
    pthread_mutex_lock(&s->mu);
    srv_job *embed = assign(s, sm);
    pthread_mutex_unlock(&s->mu);
    if (embed) {
        run_embed(s, sm, embed);
        job_unref(embed);
        return true;
    }
    if (!sm->slots) return false;
    /* 3. the batch: decode tokens first, then prompt chunks */
    hearth_context *cs[257];
    const int32_t *toks[257];
    const float *embs[257];   /* an image's rows instead of tokens (NULL: tokens) */
    int32_t n[257];
    srv_slot *who[257];
    int nb = 0, budget = s->p.n_batch;
    cs[0] = sm->slots[0].ctx, toks[0] = NULL, embs[0] = NULL, n[0] = 0, who[0] = NULL;
    nb = 1;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < np && budget > 0; i++) {
            srv_slot *sl = &sm->slots[i];
            if (!sl->j || sl->generating != (pass == 0)) continue;
            const int32_t *t = NULL;
            const float *em = NULL;
            int cnt;
            if (sl->generating) {
                t = &sl->next_tok, cnt = 1;
            } else if (sl->j->image) {
                /* positions: text before the image, its rows, the text after */
                const srv_job *j = sl->j;
                int done = sl->n_prompt_done, at = j->image_at, ni = j->n_image;
                int hd = hearth_model_n_embd(sm->m);
                if (done < at) t = j->prompt + done, cnt = at - done;
                else if (done < at + ni) em = j->image_embd + (size_t)(done - at) * hd, cnt = at + ni - done;
                else t = j->prompt + done - ni, cnt = j->n_prompt + ni - done;
                if (cnt > budget) cnt = budget;
            } else {
                t = sl->j->prompt + sl->n_prompt_done;
                cnt = sl->j->n_prompt - sl->n_prompt_done;
                if (cnt > budget) cnt = budget;
            }
            int k = i == 0 ? 0 : nb++;
            cs[k] = sl->ctx, toks[k] = t, embs[k] = em, n[k] = cnt, who[k] = sl;
            budget -= cnt;
        }
    if (nb == 1 && n[0] == 0) return false;
    /* the lead: slot 0 always (its pool and buffers); idle when n[0] == 0 */
    hearth_status st = hearth_decode_batch_embd(cs, toks, embs, n, nb, false);
    if (st != HEARTH_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "forward failed: %s", hearth_last_error());
        for (int k = 0; k < nb; k++)
            if (who[k] && n[k]) {
                srv_job *j = who[k]->j;
                atomic_fetch_add(&j->refs, 1);
                pthread_mutex_lock(&j->mu);
                if (!j->error) j->error = strdup(msg);
                pthread_mutex_unlock(&j->mu);
                slot_release(s, who[k], "error");
                cache_truncate(s, who[k], 0);
                job_unref(j);
            }
        return true;
    }
    /* 4. the cache grew; sequences with logits sample */
    for (int k = 0; k < nb; k++) {
        srv_slot *sl = who[k];
        if (!sl || !n[k]) continue;
        if (embs[k]) {   /* image positions: ids that match no prompt (prefix reuse stops there) */
            for (int r = 0; r < n[k]; r++) cache_push(s, sl, (const int32_t[]){-1}, 1);
        } else {
            cache_push(s, sl, toks[k], n[k]);
        }
        if (!sl->generating) {
            sl->n_prompt_done += n[k];
            if (sl->n_prompt_done < sl->j->n_prompt + (sl->j->image ? sl->j->n_image : 0)) continue;
        }
        slot_sample(s, sm, sl);
    }
    return true;
}

/* ==== the thread ================================================================================ */
#define MAX_SNAP 256   /* versions stepped per turn (live and draining) */

/* the versions loaded now (retired ones included until freed); the table may
 * change under s->mu, but only this thread frees a version */
static int snapshot(hearth_server *s, srv_model **out) {
    pthread_mutex_lock(&s->mu);
    int n = s->n_models < MAX_SNAP ? s->n_models : MAX_SNAP;
    memcpy(out, s->models, (size_t)n * sizeof *out);
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool any_active(srv_model **ms, int n, int np) {
    for (int m = 0; m < n; m++)
        for (int i = 0; ms[m]->slots && i < np; i++)
            if (ms[m]->slots[i].j) return true;
    return false;
}

/* cancels everything queued (s->mu held) */
static void cancel_queue(hearth_server *s) {
    for (int q = 0; q < s->q_len; q++) {
        srv_job *j = s->queue[q].j;
        atomic_store(&j->cancelled, 1);
        finish_choice(s, j, s->queue[q].choice, "cancelled");
        job_unref(j);
    }
    s->q_len = 0;
}

void *sched_main(void *arg) {
    hearth_server *s = arg;
    int turn = 0, np = s->p.n_parallel;
    double drain_deadline = 0;
    srv_model *ms[MAX_SNAP];
    for (;;) {
        srv_reclaim(s);   /* versions retired by a swap or unload whose last request ended */
        int n = snapshot(s, ms);
        int stopping = atomic_load(&s->stopping);
        if (stopping) {
            if (drain_deadline == 0) drain_deadline = hearth_time_s() + s->p.drain_s;
            pthread_mutex_lock(&s->mu);
            cancel_queue(s);
            pthread_mutex_unlock(&s->mu);
            if (stopping >= 2 || hearth_time_s() > drain_deadline)
                for (int m = 0; m < n; m++)
                    for (int i = 0; ms[m]->slots && i < np; i++)
                        if (ms[m]->slots[i].j) {
                            atomic_store(&ms[m]->slots[i].j->cancelled, 1);
                            slot_release(s, &ms[m]->slots[i], "cancelled");
                        }
            if (!any_active(ms, n, np)) break;
        }
        bool ran = false;
        for (int k = 0; k < n && !ran; k++) ran = step(s, ms[(turn + k) % n]);
        turn++;
        if (!ran) {
            pthread_mutex_lock(&s->mu);
            if (s->q_len == 0 && !atomic_load(&s->stopping)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 50 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            }
            pthread_mutex_unlock(&s->mu);
        }
    }
    return NULL;
}
