/*
 * limits.c — per-key rate limits in memory: a requests/minute token bucket, a
 * tokens/minute bucket and a count of requests in flight.
 *
 * Buckets hold up to one minute's allowance and refill continuously. A request
 * takes one request token; model tokens are charged after the answer (their
 * number is known only then), so the tokens bucket may go below zero and then
 * refuses requests until it has refilled above zero. Retry-After is the time
 * the refill needs, rounded up to whole seconds.
 *
 * Several gateways on one PostgreSQL database share the rates instead
 * (gw_limiter_share): each request is one atomic upsert on the key's row for
 * the current minute of the database's clock (store_pg.c), so together they
 * admit exactly rpm requests per minute (fixed windows, not a sliding bucket).
 * Requests in flight are still counted here, per gateway. If the database
 * cannot be asked, the request is refused (fail closed).
 */
#include "gateway_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket_state {
    char key_id[HEARTH_KEY_ID_LEN + 1];
    double req, tok;          /* tokens now in the buckets */
    double t;                 /* monotonic time of the last refill */
    int64_t rpm, tpm;         /* the limits the buckets were last refilled with */
    int64_t in_flight;
    bool fresh;
} bucket_state;

struct gw_limiter {
    pthread_mutex_t mu;
    hearth_keystore *shared;    /* rates counted by the store (NULL: the buckets below) */
    bucket_state *v;
    size_t n, cap;
};

gw_limiter *gw_limiter_new(void) {
    gw_limiter *l = calloc(1, sizeof *l);
    if (l) pthread_mutex_init(&l->mu, NULL);
    return l;
}

void gw_limiter_share(gw_limiter *l, hearth_keystore *ks) {
    l->shared = ks && gw_keys_shared_limits(ks) ? ks : NULL;
}

void gw_limiter_free(gw_limiter *l) {
    if (!l) return;
    pthread_mutex_destroy(&l->mu);
    free(l->v);
    free(l);
}

/* with l->mu held */
static bucket_state *find(gw_limiter *l, const char *key_id) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].key_id, key_id)) return &l->v[i];
    if (!HEARTH_GROW(l->v, l->cap, l->n + 1)) return NULL;
    bucket_state *b = &l->v[l->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->key_id, sizeof b->key_id, "%s", key_id);
    b->fresh = true;
    return b;
}

static void refill(bucket_state *b, int64_t rpm, int64_t tpm, double t) {
    if (b->fresh || rpm != b->rpm || tpm != b->tpm) {
        /* first sight, or the limits changed: start full */
        if (b->fresh || rpm != b->rpm) b->req = (double)rpm;
        if (b->fresh || tpm != b->tpm) b->tok = (double)tpm;
        b->rpm = rpm;
        b->tpm = tpm;
        b->fresh = false;
        b->t = t;
        return;
    }
    double dt = t - b->t;
    if (dt <= 0) return;
    b->req = fmin((double)rpm, b->req + dt * (double)rpm / 60.0);
    b->tok = fmin((double)tpm, b->tok + dt * (double)tpm / 60.0);
    b->t = t;
}

static int wait_s(double missing, int64_t per_minute) {
    double s = missing * 60.0 / (double)per_minute;
    int r = (int)ceil(s - 1e-9);
    return r < 1 ? 1 : r;
}

/* with l->mu not held: a slot is taken here, the rates are asked of the store */
static gw_limit_result admit_shared(gw_limiter *l, const char *key_id, int64_t rpm, int64_t tpm, int64_t max_conc,
                                    int *retry_after) {
    pthread_mutex_lock(&l->mu);
    bucket_state *b = find(l, key_id);
    if (b && max_conc > 0 && b->in_flight >= max_conc) {
        pthread_mutex_unlock(&l->mu);
        *retry_after = 1;
        return GW_LIMIT_CONCURRENT;
    }
    if (b) {
        b->in_flight++;
        b->tpm = tpm;   /* charged after the answer (gw_limiter_done) */
    }
    pthread_mutex_unlock(&l->mu);
    gw_limit_result r = GW_LIMIT_OK;
    bool rpm_ok = true, tpm_ok = true;
    if ((rpm > 0 || tpm > 0) && gw_keys_window_admit(l->shared, key_id, rpm, tpm, &rpm_ok, &tpm_ok, retry_after)) {
        hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
        r = GW_LIMIT_UNAVAILABLE;
        *retry_after = 1;
    } else if (!rpm_ok) {
        r = GW_LIMIT_RPM;
    } else if (!tpm_ok) {
        r = GW_LIMIT_TPM;
    } else {
        *retry_after = 0;
    }
    if (r != GW_LIMIT_OK && b) {
        pthread_mutex_lock(&l->mu);
        b = find(l, key_id);
        if (b && b->in_flight > 0) b->in_flight--;
        pthread_mutex_unlock(&l->mu);
    }
    return r;
}

gw_limit_result gw_limiter_admit(gw_limiter *l, const char *key_id, int64_t rpm, int64_t tpm, int64_t max_conc,
                                 double t, int *retry_after) {
    *retry_after = 0;
    if (l->shared) return admit_shared(l, key_id, rpm, tpm, max_conc, retry_after);
    pthread_mutex_lock(&l->mu);
    bucket_state *b = find(l, key_id);
    gw_limit_result r = GW_LIMIT_OK;
    if (!b) goto out;   /* out of memory: do not refuse service for it */
    refill(b, rpm, tpm, t);
    if (max_conc > 0 && b->in_flight >= max_conc) {
        r = GW_LIMIT_CONCURRENT;
        *retry_after = 1;
    } else if (rpm > 0 && b->req < 1.0) {
        r = GW_LIMIT_RPM;
        *retry_after = wait_s(1.0 - b->req, rpm);
    } else if (tpm > 0 && b->tok <= 0.0) {
        r = GW_LIMIT_TPM;
        *retry_after = wait_s(-b->tok + 1e-6, tpm);
    } else {
        if (rpm > 0) b->req -= 1.0;
        b->in_flight++;
    }
out:
    pthread_mutex_unlock(&l->mu);
    return r;
}

void gw_limiter_done(gw_limiter *l, const char *key_id, int64_t tokens, double t) {
    pthread_mutex_lock(&l->mu);
    bucket_state *b = find(l, key_id);
    if (b && l->shared) {
        if (b->in_flight > 0) b->in_flight--;
        bool charge = b->tpm > 0 && tokens > 0;
        pthread_mutex_unlock(&l->mu);
        if (charge && gw_keys_window_charge(l->shared, key_id, tokens))
            hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
        return;
    }
    if (b) {
        refill(b, b->rpm, b->tpm, t);
        if (b->in_flight > 0) b->in_flight--;
        if (b->tpm > 0) b->tok -= (double)tokens;
    }
    pthread_mutex_unlock(&l->mu);
}
