/*
 * index.c — the public API of the vector index (include/hearth/index.h):
 * slot storage, the id map, payloads and their equality postings, upserts
 * and deletes (logged first when durable), search planning (graph walk,
 * filtered walk or exact scan, int8 re-ranking), selects and compaction.
 * The graph lives in hnsw.c, files in persist.c, filters in filter.c.
 */
#include "index/idx.h"

#include "core/buf.h"
#include "hearth/core.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== parameters =========================================================== */

const char *hearth_index_metric_name(hearth_index_metric m) {
    switch (m) {
    case HEARTH_INDEX_COSINE: return "cosine";
    case HEARTH_INDEX_IP: return "ip";
    case HEARTH_INDEX_L2: return "l2";
    }
    return "?";
}

hearth_status hearth_index_metric_parse(const char *name, hearth_index_metric *out) {
    if (name && out) {
        if (!strcmp(name, "cosine")) { *out = HEARTH_INDEX_COSINE; return HEARTH_OK; }
        if (!strcmp(name, "ip") || !strcmp(name, "dot")) { *out = HEARTH_INDEX_IP; return HEARTH_OK; }
        if (!strcmp(name, "l2") || !strcmp(name, "euclid")) { *out = HEARTH_INDEX_L2; return HEARTH_OK; }
    }
    return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: unknown metric \"%s\" (expected cosine, ip or l2)",
                            name ? name : "(null)");
}

hearth_index_params hearth_index_default_params(void) {
    hearth_index_params p;
    memset(&p, 0, sizeof p);
    p.metric = HEARTH_INDEX_COSINE;
    p.M = 16;
    p.ef_construction = 200;
    p.ef_search = 64;
    p.fsync = HEARTH_INDEX_FSYNC_ALWAYS;
    p.seed = 42;
    return p;
}

hearth_index_search_params hearth_index_default_search_params(void) {
    hearth_index_search_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* ==== creation and storage ================================================= */

hearth_status idx_new(const hearth_index_params *pp, hearth_index **out) {
    *out = NULL;
    hearth_index_params p = pp ? *pp : hearth_index_default_params();
    if (p.dim <= 0 || p.dim > 65536)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: dim %d out of range (1..65536)", p.dim);
    if ((unsigned)p.metric > HEARTH_INDEX_L2) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: unknown metric %d", p.metric);
    if (p.M == 0) p.M = 16;
    if (p.M < 2 || p.M > 128) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: M %d out of range (2..128)", p.M);
    if (p.ef_construction <= 0) p.ef_construction = 200;
    if (p.ef_construction > 100000) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: ef_construction %d too large", p.ef_construction);
    if (p.ef_search <= 0) p.ef_search = 64;
    hearth_index *ix = calloc(1, sizeof *ix);
    if (!ix) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    ix->p = p;
    ix->dim = p.dim;
    ix->stride = (p.dim + 15) & ~15;
    ix->cstride = (p.dim + 63) & ~63;
    ix->M = p.M;
    ix->M0 = 2 * p.M;
    ix->level_mult = 1.0 / log((double)p.M);
    ix->ops = idx_dist_get();
    ix->entry = IDX_NONE;
    ix->max_level = -1;
    ix->lock_fd = -1;
    ix->wal_fd = -1;
    pthread_mutex_init(&ix->entry_lock, NULL);
    pthread_mutex_init(&ix->vis_lock, NULL);
    pthread_rwlock_init(&ix->rw, NULL);
    *out = ix;
    return HEARTH_OK;
}

void idx_destroy(hearth_index *ix) {
    if (!ix) return;
    for (size_t s = 0; s < ix->n_slots; s++) {
        free(ix->up[s]);
        free(ix->payload[s]);
        free(ix->fields[s]);
    }
    free(ix->ids); free(ix->state); free(ix->level); free(ix->vec); free(ix->code);
    free(ix->scale); free(ix->sqnorm); free(ix->link0); free(ix->up); free(ix->payload);
    free(ix->fields); free(ix->lock); free(ix->inc); free(ix->free_slots); free(ix->map_key); free(ix->map_val);
    idx_post_clear(ix);
    free(ix->post);
    idx_dict_free(&ix->dict);
    for (size_t i = 0; i < ix->n_vis; i++) { free(ix->vis[i]->mark); free(ix->vis[i]); }
    free(ix->vis);
    free(ix->dir);
    pthread_mutex_destroy(&ix->entry_lock);
    pthread_mutex_destroy(&ix->vis_lock);
    pthread_rwlock_destroy(&ix->rw);
    free(ix);
}

/* realloc of an array to cap elements (old elements kept, new ones zeroed) */
static bool resize(void **p, size_t old_n, size_t new_n, size_t elem) {
    size_t bytes = new_n * elem;
    void *q = realloc(*p, bytes > 0 ? bytes : 1);
    if (!q) return false;
    if (new_n > old_n) memset((char *)q + old_n * elem, 0, (new_n - old_n) * elem);
    *p = q;
    return true;
}

static bool resize_aligned(void **p, size_t keep_bytes, size_t new_bytes) {
    void *q = NULL;
    if (posix_memalign(&q, 64, new_bytes ? new_bytes : 64)) return false;
    if (keep_bytes) memcpy(q, *p, keep_bytes);
    if (new_bytes > keep_bytes) memset((char *)q + keep_bytes, 0, new_bytes - keep_bytes);
    free(*p);
    *p = q;
    return true;
}

/* sets the slot arrays' capacity to cap (>= n_slots) */
static hearth_status set_capacity(hearth_index *ix, size_t cap) {
    size_t o = ix->cap, keep = ix->n_slots < cap ? ix->n_slots : cap;
    bool ok = resize((void **)&ix->ids, o, cap, sizeof *ix->ids) && resize((void **)&ix->state, o, cap, 1) &&
              resize((void **)&ix->level, o, cap, 1) && resize((void **)&ix->lock, o, cap, 1) &&
              resize((void **)&ix->inc, o, cap, sizeof *ix->inc) &&
              resize((void **)&ix->up, o, cap, sizeof *ix->up) && resize((void **)&ix->payload, o, cap, sizeof(char *)) &&
              resize((void **)&ix->fields, o, cap, sizeof *ix->fields) &&
              resize((void **)&ix->sqnorm, o, cap, sizeof(float)) &&
              resize((void **)&ix->link0, o * (1 + ix->M0), cap * (1 + ix->M0), sizeof(uint32_t)) &&
              resize_aligned((void **)&ix->vec, keep * ix->stride * sizeof(float), cap * ix->stride * sizeof(float));
    if (ok && ix->p.quantize_int8)
        ok = resize((void **)&ix->scale, o, cap, sizeof(float)) &&
             resize_aligned((void **)&ix->code, keep * ix->cstride, cap * ix->cstride);
    if (!ok) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for %zu slots of %d floats", cap, ix->dim);
    ix->cap = cap;
    return HEARTH_OK;
}

hearth_status idx_reserve(hearth_index *ix, size_t need) {
    if (need > IDX_MAX_SLOTS) return hearth_set_error(HEARTH_ERR_RANGE, "index: more than %u items", IDX_MAX_SLOTS);
    if (need <= ix->cap) return HEARTH_OK;
    size_t cap = ix->cap ? ix->cap : 64;
    while (cap < need) cap = cap + cap / 2 + 64;
    if (cap > IDX_MAX_SLOTS) cap = IDX_MAX_SLOTS;
    return set_capacity(ix, cap);
}

size_t idx_memory(const hearth_index *ix) {
    size_t b = sizeof *ix;
    b += ix->cap * (sizeof(uint64_t) + 3 + sizeof(uint32_t) + sizeof(uint32_t *) + sizeof(char *) + sizeof(idx_fields *) + sizeof(float));
    b += ix->cap * (1 + ix->M0) * sizeof(uint32_t) + ix->cap * ix->stride * sizeof(float);
    if (ix->p.quantize_int8) b += ix->cap * (ix->cstride + sizeof(float));
    for (size_t s = 0; s < ix->n_slots; s++) {
        if (ix->up[s]) b += (size_t)ix->level[s] * (1 + ix->M) * sizeof(uint32_t);
        if (ix->payload[s]) b += strlen(ix->payload[s]) + 1;
        if (ix->fields[s]) b += sizeof(idx_fields) + ix->fields[s]->n_fields * sizeof(idx_field) + ix->fields[s]->n_vals * sizeof(idx_val);
    }
    b += ix->free_cap * sizeof(uint32_t) + ix->map_cap * (sizeof(uint64_t) + sizeof(uint32_t));
    b += ix->post_cap * sizeof(idx_posting);
    for (size_t i = 0; i < ix->post_cap; i++) b += ix->post[i].cap * sizeof(uint64_t);
    for (size_t i = 0; i < ix->n_vis; i++) b += ix->vis[i]->cap * sizeof(uint32_t);
    return b;
}

/* ==== id -> slot map ====================================================== */

#define MAP_EMPTY 0u
#define MAP_GONE UINT32_MAX

static inline size_t map_hash(uint64_t id, size_t cap) {
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

uint32_t idx_map_get(const hearth_index *ix, uint64_t id) {
    if (!ix->map_cap) return IDX_NONE;
    for (size_t i = map_hash(id, ix->map_cap);; i = (i + 1) & (ix->map_cap - 1)) {
        uint32_t v = ix->map_val[i];
        if (v == MAP_EMPTY) return IDX_NONE;
        if (v != MAP_GONE && ix->map_key[i] == id) return v - 1;
    }
}

static bool map_rehash(hearth_index *ix, size_t cap) {
    uint64_t *k = calloc(cap, sizeof *k);
    uint32_t *v = calloc(cap, sizeof *v);
    if (!k || !v) { free(k); free(v); return false; }
    size_t used = 0;
    for (size_t i = 0; i < ix->map_cap; i++) {
        if (ix->map_val[i] == MAP_EMPTY || ix->map_val[i] == MAP_GONE) continue;
        size_t j = map_hash(ix->map_key[i], cap);
        while (v[j]) j = (j + 1) & (cap - 1);
        k[j] = ix->map_key[i];
        v[j] = ix->map_val[i];
        used++;
    }
    free(ix->map_key);
    free(ix->map_val);
    ix->map_key = k;
    ix->map_val = v;
    ix->map_cap = cap;
    ix->map_used = used;
    return true;
}

hearth_status idx_map_put(hearth_index *ix, uint64_t id, uint32_t slot) {
    if ((ix->map_used + 1) * 10 > ix->map_cap * 7) {
        size_t cap = ix->map_cap ? ix->map_cap : 64;
        while ((ix->n_live + 1) * 10 > cap * 5) cap *= 2;
        if (!map_rehash(ix, cap)) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for the id map");
    }
    size_t gone = SIZE_MAX;
    for (size_t i = map_hash(id, ix->map_cap);; i = (i + 1) & (ix->map_cap - 1)) {
        uint32_t v = ix->map_val[i];
        if (v == MAP_GONE) { if (gone == SIZE_MAX) gone = i; continue; }
        if (v != MAP_EMPTY && ix->map_key[i] == id) { ix->map_val[i] = slot + 1; return HEARTH_OK; }
        if (v == MAP_EMPTY) {
            if (gone != SIZE_MAX) i = gone;
            else ix->map_used++;
            ix->map_key[i] = id;
            ix->map_val[i] = slot + 1;
            return HEARTH_OK;
        }
    }
}

void idx_map_del(hearth_index *ix, uint64_t id) {
    if (!ix->map_cap) return;
    for (size_t i = map_hash(id, ix->map_cap);; i = (i + 1) & (ix->map_cap - 1)) {
        uint32_t v = ix->map_val[i];
        if (v == MAP_EMPTY) return;
        if (v != MAP_GONE && ix->map_key[i] == id) { ix->map_val[i] = MAP_GONE; return; }
    }
}

/* ==== equality postings ==================================================== */

static inline size_t post_hash(uint32_t key, uint32_t type, uint64_t bits, size_t cap) {
    uint64_t h = bits * 0x9e3779b97f4a7c15ull ^ ((uint64_t)key << 8 | type) * 0xc2b2ae3d27d4eb4full;
    h ^= h >> 31;
    return (size_t)h & (cap - 1);
}

static idx_posting *post_find(const hearth_index *ix, uint32_t key, uint32_t type, uint64_t bits) {
    if (!ix->post_cap) return NULL;
    for (size_t i = post_hash(key, type, bits, ix->post_cap);; i = (i + 1) & (ix->post_cap - 1)) {
        idx_posting *p = &ix->post[i];
        if (!p->slots) return NULL;
        if (p->key == key && p->type == type && p->bits == bits) return p;
    }
}

static bool post_grow(hearth_index *ix) {
    size_t cap = ix->post_cap ? ix->post_cap * 2 : 256;
    idx_posting *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t i = 0; i < ix->post_cap; i++) {
        idx_posting *p = &ix->post[i];
        if (!p->slots) continue;
        size_t j = post_hash(p->key, p->type, p->bits, cap);
        while (t[j].slots) j = (j + 1) & (cap - 1);
        t[j] = *p;
    }
    free(ix->post);
    ix->post = t;
    ix->post_cap = cap;
    return true;
}

static uint64_t val_bits(const idx_val *v) {
    if (v->type == IDX_V_STR) return v->sid;
    if (v->type == IDX_V_NUM || v->type == IDX_V_BOOL) {
        double d = v->num == 0 ? 0.0 : v->num;
        uint64_t x;
        memcpy(&x, &d, sizeof x);
        return x;
    }
    return 0;
}

hearth_status idx_post_add(hearth_index *ix, uint32_t slot) {
    const idx_fields *f = ix->fields[slot];
    if (!f) return HEARTH_OK;
    for (uint32_t i = 0; i < f->n_fields; i++)
        for (uint32_t j = 0; j < f->f[i].n; j++) {
            const idx_val *v = &f->v[f->f[i].first + j];
            if (v->type == IDX_V_OTHER) continue;
            uint64_t bits = val_bits(v);
            idx_posting *p = post_find(ix, f->f[i].key, v->type, bits);
            if (!p) {
                if ((ix->post_used + 1) * 10 > ix->post_cap * 7 && !post_grow(ix)) goto oom;
                size_t k = post_hash(f->f[i].key, v->type, bits, ix->post_cap);
                while (ix->post[k].slots) k = (k + 1) & (ix->post_cap - 1);
                p = &ix->post[k];
                p->slots = malloc(4 * sizeof *p->slots);
                if (!p->slots) goto oom;
                p->key = f->f[i].key;
                p->type = v->type;
                p->bits = bits;
                p->n = 0;
                p->cap = 4;
                ix->post_used++;
            }
            uint64_t e = (uint64_t)ix->inc[slot] << 32 | slot;
            /* p is set: found, or made just above */
            // cppcheck-suppress nullPointerRedundantCheck
            if (p->n && p->slots[p->n - 1] == e) continue;
            // cppcheck-suppress nullPointerRedundantCheck
            if (p->n == p->cap) {
                size_t cap = p->cap;
                if (!HEARTH_GROW(p->slots, cap, p->n + 1)) goto oom;
                p->cap = (uint32_t)cap;
            }
            p->slots[p->n++] = e;
        }
    return HEARTH_OK;
oom:
    return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for payload postings");
}

void idx_post_clear(hearth_index *ix) {
    for (size_t i = 0; i < ix->post_cap; i++) free(ix->post[i].slots);
    if (ix->post) memset(ix->post, 0, ix->post_cap * sizeof *ix->post);
    ix->post_used = 0;
}

/* ==== writing items ======================================================== */

/* int8 code of x (dim floats): code = round(x / scale), scale = max|x| / 127
 * (computed in double so that tiny or huge finite values stay in range) */
static float quantize(const float *x, int32_t n, int8_t *code) {
    double m = 0;
    for (int32_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    double inv = m > 0 ? 127.0 / m : 0.0;
    for (int32_t i = 0; i < n; i++) {
        double v = nearbyint((double)x[i] * inv);
        code[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return m > 0 ? (float)(m / 127.0) : 1.0f;
}

void idx_set_codes(hearth_index *ix, uint32_t s) {
    const float *v = ix->vec + (size_t)s * ix->stride;
    ix->sqnorm[s] = ix->ops->dot_f32(v, v, ix->dim);
    if (ix->p.quantize_int8) ix->scale[s] = quantize(v, ix->dim, ix->code + (size_t)s * ix->cstride);
}

/* checks a vector: finite, and non-zero for cosine */
static hearth_status check_vec(const hearth_index *ix, const float *v, const char *what, size_t i) {
    double ss = 0;
    for (int32_t d = 0; d < ix->dim; d++) {
        if (!isfinite(v[d]))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: %s %zu: value %d is not a finite number", what, i, d);
        ss += (double)v[d] * v[d];
    }
    if (ix->p.metric == HEARTH_INDEX_COSINE && ss == 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: %s %zu is all zeros (cosine needs a direction)", what, i);
    return HEARTH_OK;
}

/* Parses a payload text into a canonical JSON object text (*canon, malloc'd;
 * NULL for {} or NULL) */
static hearth_status canon_payload(const char *json, size_t len, size_t item, char **canon) {
    *canon = NULL;
    if (!json) return HEARTH_OK;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (j && end) {
        while ((size_t)(end - json) < len && (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')) end++;
    }
    if (!j || !cJSON_IsObject(j) || (end && (size_t)(end - json) != len)) {
        cJSON_Delete(j);
        return hearth_set_error(HEARTH_ERR_FORMAT, "index: payload of item %zu is not a JSON object", item);
    }
    if (j->child) {
        *canon = cJSON_PrintUnformatted(j);
        if (!*canon) { cJSON_Delete(j); return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory"); }
    }
    cJSON_Delete(j);
    return HEARTH_OK;
}

static void tombstone(hearth_index *ix, uint32_t s, bool to_free_list) {
    ix->state[s] = IDX_DELETED;
    ix->inc[s]++;   /* its postings are stale from now on */
    free(ix->payload[s]);
    ix->payload[s] = NULL;
    free(ix->fields[s]);
    ix->fields[s] = NULL;
    ix->n_live--;
    ix->n_deleted++;
    if (to_free_list && HEARTH_GROW(ix->free_slots, ix->free_cap, ix->n_free + 1))
        ix->free_slots[ix->n_free++] = s;
}

typedef struct batch_job {
    hearth_index *ix;
    const uint32_t *slots;
    const uint8_t *reuse;
    size_t n, next;
    bool failed;
} batch_job;

static void batch_worker(void *arg, int ith, int nth) {
    batch_job *j = arg;
    idx_visited *vis = idx_visited_get(j->ix);
    if (!vis) { j->failed = true; return; }
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n) break;
        idx_graph_insert(j->ix, j->slots[i], vis, j->reuse[i]);
    }
    idx_visited_put(j->ix, vis);
}

/* Applies n upserts (already checked; payloads canonical text or NULL) with
 * params.n_threads threads. */
hearth_status idx_apply_batch(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                              const char *const *payloads, const size_t *plens, int threads) {
    if (!n) return HEARTH_OK;
    hearth_status st = idx_reserve(ix, ix->n_slots + n);
    if (st) return st;
    uint32_t *slots = malloc(n * sizeof *slots), *dead = malloc(n * sizeof *dead);
    uint8_t *reuse = malloc(n);
    if (!slots || !dead || !reuse) {
        free(slots); free(dead); free(reuse);
        return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    }
    size_t n_dead = 0, n_done = 0, first_new = ix->n_slots;
    for (size_t i = 0; i < n && !st; i++) {
        /* parse the payload first: nothing changes when it fails */
        idx_fields *fields = NULL;
        char *text = NULL;
        if (payloads && payloads[i]) {
            size_t len = plens ? plens[i] : strlen(payloads[i]);
            cJSON *j = cJSON_ParseWithLength(payloads[i], len);
            if (!j || !cJSON_IsObject(j)) {
                cJSON_Delete(j);
                st = hearth_set_error(HEARTH_ERR_FORMAT, "index: payload of item %zu is not a JSON object", i);
                break;
            }
            st = idx_fields_from_json(&ix->dict, j, &fields);
            cJSON_Delete(j);
            (void)0;
            if (!st && fields) {
                text = malloc(len + 1);
                if (!text) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
                else { memcpy(text, payloads[i], len); text[len] = 0; }
            }
            if (st) { free(fields); break; }
        }
        uint32_t old = idx_map_get(ix, ids[i]);
        if (old != IDX_NONE) {
            bool in_batch = old >= first_new;
            for (size_t k = 0; !in_batch && k < i; k++) in_batch = slots[k] == old;
            tombstone(ix, old, !in_batch);
            if (in_batch) dead[n_dead++] = old;
        }
        uint32_t s;
        if (ix->n_free) {
            s = ix->free_slots[--ix->n_free];
            reuse[i] = 1;
            ix->n_deleted--;
        } else {
            s = (uint32_t)ix->n_slots++;
            reuse[i] = 0;
            int lv = idx_random_level(ix, ids[i]);
            ix->level[s] = (uint8_t)lv;
            ix->link0[(size_t)s * (1 + ix->M0)] = 0;
            if ((st = idx_alloc_up(ix, s, lv))) { ix->n_slots--; free(fields); free(text); break; }
        }
        slots[i] = s;
        float *v = ix->vec + (size_t)s * ix->stride;
        memcpy(v, vecs + (size_t)i * ix->dim, ix->dim * sizeof(float));
        if (ix->p.metric == HEARTH_INDEX_COSINE) {
            double ss = 0;
            for (int32_t d = 0; d < ix->dim; d++) ss += (double)v[d] * v[d];
            float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
            for (int32_t d = 0; d < ix->dim; d++) v[d] *= inv;
        }
        idx_set_codes(ix, s);
        ix->ids[s] = ids[i];
        ix->state[s] = IDX_LIVE;
        ix->payload[s] = text;
        ix->fields[s] = fields;
        ix->n_live++;
        n_done = i + 1;
        if (!st) st = idx_map_put(ix, ids[i], s);
        if (!st) st = idx_post_add(ix, s);
    }
    n = n_done;   /* on a failure, the items written so far still get their links */
    batch_job job = {ix, slots, reuse, n, 0, false};
    if (n) {
        if (threads <= 0) threads = hearth_cpu_count();
        if ((size_t)threads > n) threads = (int)n;
        hearth_pool *pool = threads > 1 ? hearth_pool_create(threads) : NULL;
        hearth_pool_run(pool, batch_worker, &job);
        hearth_pool_free(pool);
    }
    for (size_t k = 0; k < n_dead; k++)
        if (HEARTH_GROW(ix->free_slots, ix->free_cap, ix->n_free + 1)) ix->free_slots[ix->n_free++] = dead[k];
    free(slots); free(dead); free(reuse);
    if (!st && job.failed) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory while linking the graph");
    return st;
}

hearth_status idx_apply_delete(hearth_index *ix, uint64_t id) {
    uint32_t s = idx_map_get(ix, id);
    if (s == IDX_NONE) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "index: no item with id %llu", (unsigned long long)id);
    tombstone(ix, s, true);
    idx_map_del(ix, id);
    return HEARTH_OK;
}

/* ==== public writes ======================================================== */

hearth_status hearth_index_create(const hearth_index_params *p, hearth_index **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_create: out is NULL");
    return idx_new(p, out);
}

void hearth_index_close(hearth_index *ix) {
    if (!ix) return;
    idx_durable_close(ix);
    idx_destroy(ix);
}

static hearth_status upsert_batch(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                                  const char *const *payloads, int threads) {
    if (!ix || (n && (!ids || !vecs))) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_upsert_batch: NULL argument");
    for (size_t i = 0; i < n; i++) {
        hearth_status st = check_vec(ix, vecs + i * ix->dim, "vector of item", i);
        if (st) return st;
    }
    char **canon = calloc(n ? n : 1, sizeof *canon);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    hearth_status st = canon && lens ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    for (size_t i = 0; i < n && !st && payloads; i++) {
        if (!payloads[i]) continue;
        st = canon_payload(payloads[i], strlen(payloads[i]), i, &canon[i]);
        if (!st && canon[i]) lens[i] = strlen(canon[i]);
    }
    if (!st) {
        pthread_rwlock_wrlock(&ix->rw);
        if (ix->wal) st = idx_wal_log_upserts(ix, n, ids, vecs, canon, lens);
        if (!st) st = idx_apply_batch(ix, n, ids, vecs, (const char *const *)canon, lens, threads);
        pthread_rwlock_unlock(&ix->rw);
    }
    for (size_t i = 0; canon && i < n; i++) free(canon[i]);
    free(canon);
    free(lens);
    if (!st) idx_auto_snapshot(ix);
    return st;
}

hearth_status hearth_index_upsert_batch(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                                        const char *const *payloads) {
    return upsert_batch(ix, n, ids, vecs, payloads, ix ? ix->p.n_threads : 1);
}

hearth_status hearth_index_upsert(hearth_index *ix, uint64_t id, const float *vec, const char *payload_json) {
    if (!ix || !vec) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_upsert: NULL argument");
    const char *pl[1] = {payload_json};
    return upsert_batch(ix, 1, &id, vec, pl, 1);
}

hearth_status hearth_index_delete(hearth_index *ix, uint64_t id) {
    if (!ix) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_delete: index is NULL");
    pthread_rwlock_wrlock(&ix->rw);
    hearth_status st = HEARTH_OK;
    if (idx_map_get(ix, id) == IDX_NONE)
        st = hearth_set_error(HEARTH_ERR_NOT_FOUND, "index: no item with id %llu", (unsigned long long)id);
    if (!st && ix->wal) st = idx_wal_log_delete(ix, id);
    if (!st) st = idx_apply_delete(ix, id);
    pthread_rwlock_unlock(&ix->rw);
    if (!st) idx_auto_snapshot(ix);
    return st;
}

/* ==== reads ================================================================ */

hearth_status hearth_index_get(hearth_index *ix, uint64_t id, float *vec_out, char **payload_out) {
    if (payload_out) *payload_out = NULL;
    if (!ix) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_get: index is NULL");
    pthread_rwlock_rdlock(&ix->rw);
    hearth_status st = HEARTH_OK;
    uint32_t s = idx_map_get(ix, id);
    if (s == IDX_NONE) st = hearth_set_error(HEARTH_ERR_NOT_FOUND, "index: no item with id %llu", (unsigned long long)id);
    else {
        if (vec_out) memcpy(vec_out, ix->vec + (size_t)s * ix->stride, ix->dim * sizeof(float));
        if (payload_out) {
            *payload_out = strdup(ix->payload[s] ? ix->payload[s] : "{}");
            if (!*payload_out) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
        }
    }
    pthread_rwlock_unlock(&ix->rw);
    return st;
}

bool hearth_index_contains(hearth_index *ix, uint64_t id) {
    if (!ix) return false;
    pthread_rwlock_rdlock(&ix->rw);
    bool r = idx_map_get(ix, id) != IDX_NONE;
    pthread_rwlock_unlock(&ix->rw);
    return r;
}

size_t hearth_index_count(hearth_index *ix) {
    if (!ix) return 0;
    pthread_rwlock_rdlock(&ix->rw);
    size_t n = ix->n_live;
    pthread_rwlock_unlock(&ix->rw);
    return n;
}

int32_t hearth_index_dim(const hearth_index *ix) { return ix ? ix->dim : 0; }
hearth_index_metric hearth_index_get_metric(const hearth_index *ix) { return ix ? ix->p.metric : HEARTH_INDEX_COSINE; }

hearth_status hearth_index_select(hearth_index *ix, const hearth_index_filter *filter, uint64_t **ids, size_t *n) {
    if (!ix || !ids || !n) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_select: NULL argument");
    *ids = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&ix->rw);
    hearth_status st = HEARTH_OK;
    idx_bound *b = filter ? idx_filter_bind(filter, &ix->dict) : NULL;
    uint64_t *out = ix->n_live ? malloc(ix->n_live * sizeof *out) : NULL;
    if ((filter && !b) || (ix->n_live && !out)) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    size_t k = 0;
    for (size_t s = 0; !st && s < ix->n_slots; s++)
        if (ix->state[s] == IDX_LIVE && (!b || idx_bound_match(b, &ix->dict, ix->fields[s]))) out[k++] = ix->ids[s];
    pthread_rwlock_unlock(&ix->rw);
    idx_bound_free(b);
    if (st || !k) { free(out); return st; }
    *ids = out;
    *n = k;
    return HEARTH_OK;
}

/* ==== search =============================================================== */

static float to_score(const hearth_index *ix, float d) {
    return ix->p.metric == HEARTH_INDEX_L2 ? sqrtf(fmaxf(d, 0.0f)) : -d;
}

/* keeps the k best of (d, s) in a max-heap res (n of them) */
static void topk_push(idx_cand *res, size_t *n, size_t k, float d, uint32_t s) {
    if (*n < k) {
        size_t i = (*n)++;
        while (i) {
            size_t p = (i - 1) / 2;
            if (!(res[p].d < d)) break;
            res[i] = res[p];
            i = p;
        }
        res[i] = (idx_cand){d, s};
        return;
    }
    if (!(d < res[0].d)) return;
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && res[c + 1].d > res[c].d) c++;
        if (!(res[c].d > d)) break;
        res[i] = res[c];
        i = c;
    }
    res[i] = (idx_cand){d, s};
}

static int cand_cmp2(const void *a, const void *b) {
    float x = ((const idx_cand *)a)->d, y = ((const idx_cand *)b)->d;
    return x < y ? -1 : x > y ? 1 : 0;
}

#ifndef SCAN_AHEAD
#define SCAN_AHEAD 8
#endif

/* distance of slot s to an int8 query (as hnsw.c's walk computes it) */
static inline float code_dist(const hearth_index *ix, const int8_t *qc, float qscale, float qsq, uint32_t s) {
    float dot = qscale * ix->scale[s] * (float)ix->ops->dot_i8(qc, ix->code + (size_t)s * ix->cstride, ix->dim);
    return ix->p.metric == HEARTH_INDEX_L2 ? qsq + ix->sqnorm[s] - 2 * dot : -dot;
}

/* the k best among slots list[0..n) (live and matching already), or among
 * all live slots matching b when list is NULL; returns the count, sorted. With an int8 query (qc), the
 * scan ranks by the codes, keeps 4k and re-ranks those with the floats. */
static size_t exact_scan(const hearth_index *ix, const float *q, const int8_t *qc, float qscale, float qsq,
                         const uint32_t *list, size_t n, const idx_bound *b, size_t k, idx_cand *res) {
    size_t m = 0, keep = qc ? 4 * k : k;
    idx_cand *top = qc ? malloc(keep * sizeof *top) : res;
    if (!top) { qc = NULL; keep = k; top = res; }
    size_t total = list ? n : ix->n_slots;
    for (size_t i = 0; i < total; i++) {
        uint32_t s = list ? list[i] : (uint32_t)i;
        if (i + SCAN_AHEAD < total) {   /* the items are scattered: keep many loads in flight */
            uint32_t t = list ? list[i + SCAN_AHEAD] : (uint32_t)(i + SCAN_AHEAD);
            const char *p = qc ? (const char *)(ix->code + (size_t)t * ix->cstride) : (const char *)(ix->vec + (size_t)t * ix->stride);
            int len = qc ? ix->cstride : ix->dim * 4;
            for (int o = 0; o < len; o += 64) __builtin_prefetch(p + o);
        }
        if (!list && (ix->state[s] != IDX_LIVE || (b && !idx_bound_match(b, &ix->dict, ix->fields[s])))) continue;
        topk_push(top, &m, keep, qc ? code_dist(ix, qc, qscale, qsq, s) : idx_dist_f(ix, q, s), s);
    }
    if (qc) {   /* re-rank with the floats */
        size_t r = 0;
        for (size_t i = 0; i < m; i++) topk_push(res, &r, k, idx_dist_f(ix, q, top[i].s), top[i].s);
        free(top);
        m = r;
    }
    qsort(res, m, sizeof *res, cand_cmp2);
    return m;
}

static int slot_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The postings a filter can use: its equality condition's (key, value)
 * lists. plan->bound is the total of their lengths (an upper bound on the
 * matches: deleted entries are still counted). False when the filter has no
 * equality at its top. */
typedef struct posting_plan {
    const idx_posting *p[64];
    size_t n_p;
    size_t bound;
    bool whole;        /* the filter is that condition alone: no check needed */
} posting_plan;

static bool plan_postings(const hearth_index *ix, const hearth_index_filter *f, const idx_bound *b, posting_plan *pl) {
    uint32_t node;
    memset(pl, 0, sizeof *pl);
    if (!idx_filter_posting_node(f, &node, &pl->whole)) return false;
    uint32_t key, types[64];
    uint64_t bits[64];
    if (idx_filter_posting_count(b, node) > 64) return false;
    size_t m = idx_filter_posting_values(b, node, &key, types, bits, 64);
    for (size_t i = 0; key != IDX_NONE && i < m; i++) {
        const idx_posting *p = post_find(ix, key, types[i], bits[i]);
        if (!p) continue;
        pl->p[pl->n_p++] = p;
        pl->bound += p->n;
    }
    return true;
}

/* the current, matching slots of a plan's postings, deduplicated (by the
 * visited marks), in slot order */
static hearth_status plan_collect(const hearth_index *ix, const posting_plan *pl, const idx_bound *b, idx_visited *vis,
                                  uint32_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!pl->bound) return HEARTH_OK;
    uint32_t *list = malloc(pl->bound * sizeof *list);
    if (!list) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    uint32_t tag = vis->tag;
    size_t k = 0;
    bool dedupe = pl->n_p > 1;   /* one list holds a slot once (post_add keeps it so) */
    for (size_t i = 0; i < pl->n_p; i++) {
        const idx_posting *p = pl->p[i];
        for (uint32_t j = 0; j < p->n; j++) {
            /* a current incarnation means live: deleting a slot bumps it */
            uint32_t s = (uint32_t)p->slots[j], inc = (uint32_t)(p->slots[j] >> 32);
            if (ix->inc[s] != inc) continue;
            if (dedupe) {
                if (vis->mark[s] == tag) continue;
                vis->mark[s] = tag;
            }
            if (pl->whole || idx_bound_match(b, &ix->dict, ix->fields[s])) list[k++] = s;
        }
    }
    if (pl->n_p > 1) qsort(list, k, sizeof *list, slot_cmp);
    *out = list;
    *n_out = k;
    return HEARTH_OK;
}

hearth_status hearth_index_search(hearth_index *ix, const float *query, size_t k, const hearth_index_search_params *spp,
                                  hearth_index_hit *hits, size_t *n_hits) {
    if (n_hits) *n_hits = 0;
    if (!ix || !query || !n_hits || (k && !hits))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_search: NULL argument");
    hearth_index_search_params sp = spp ? *spp : hearth_index_default_search_params();
    if (k == 0) return HEARTH_OK;
    hearth_status st = check_vec(ix, query, "query", 0);
    if (st) return st;
    /* the query, normalized for cosine, in an aligned buffer */
    float qbuf_small[1024];
    float *q = ix->dim <= 1024 ? qbuf_small : malloc(ix->dim * sizeof *q);
    int8_t code_small[1024];
    int8_t *qc = NULL;
    if (!q) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    memcpy(q, query, ix->dim * sizeof *q);
    if (ix->p.metric == HEARTH_INDEX_COSINE) {
        double ss = 0;
        for (int32_t d = 0; d < ix->dim; d++) ss += (double)q[d] * q[d];
        float inv = (float)(1.0 / sqrt(ss));
        for (int32_t d = 0; d < ix->dim; d++) q[d] *= inv;
    }
    float qscale = 0, qsq = ix->ops->dot_f32(q, q, ix->dim);
    if (ix->p.quantize_int8 && !sp.exact) {
        qc = ix->cstride <= 1024 ? code_small : malloc(ix->cstride);
        if (!qc) { if (q != qbuf_small) free(q); return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory"); }
        memset(qc, 0, ix->cstride);
        qscale = quantize(q, ix->dim, qc);
    }

    pthread_rwlock_rdlock(&ix->rw);
    size_t ef = sp.ef > 0 ? (size_t)sp.ef : (size_t)ix->p.ef_search;
    if (ef < k) ef = k;
    if (qc && ef < k + k / 2) ef = k + k / 2;   /* int8 walks keep at least 1.5k candidates to re-rank */
    idx_bound *b = sp.filter ? idx_filter_bind(sp.filter, &ix->dict) : NULL;
    idx_visited *vis = idx_visited_get(ix);
    idx_cand *res = malloc((ef > k ? ef : k) * sizeof *res + 1);
    uint32_t *list = NULL;
    size_t n_list = 0, m = 0;
    bool done = false;
    if ((sp.filter && !b) || !vis || !res) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    if (!st && ix->n_live == 0) done = true;
    posting_plan plan;
    bool planned = false;
    if (!st && !done && b && (planned = plan_postings(ix, sp.filter, b, &plan))) {
        /* exact over the matching items when they are few next to a walk's cost */
        double c = (double)plan.bound;
        if (sp.exact || c * c <= 8.0 * (double)ef * (double)ix->n_live || c <= 2.0 * (double)ef) {
            st = plan_collect(ix, &plan, b, vis, &list, &n_list);
            if (++vis->tag == 0) { memset(vis->mark, 0, vis->cap * sizeof *vis->mark); vis->tag = 1; }
            if (!st) m = n_list ? exact_scan(ix, q, qc, qscale, qsq, list, n_list, NULL, k, res) : 0;
            done = true;
        }
    }
    if (!st && !done && sp.exact) {
        m = exact_scan(ix, q, qc, qscale, qsq, NULL, 0, b, k, res);
        done = true;
    }
    if (!st && !done) {
        size_t budget = b ? 16 * ef * (size_t)ix->M0 + 4096 : 0;
        int r = idx_graph_search(ix, q, qc, qscale, qsq, ef, b, vis, res, budget);
        if (r == -2) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
        size_t want = k;
        if (planned && plan.bound < want) want = plan.bound;
        if (!b && ix->n_live < want) want = ix->n_live;
        if (!st && r >= 0 && (size_t)r >= want) {
            m = (size_t)r;
            if (qc) {   /* re-rank the walk's candidates with the float vectors */
                for (size_t i = 0; i < m; i++) res[i].d = idx_dist_f(ix, q, res[i].s);
                qsort(res, m, sizeof *res, cand_cmp2);
            }
            if (m > k) m = k;
        } else if (!st) {   /* the walk found too few: scan exactly */
            m = exact_scan(ix, q, qc, qscale, qsq, NULL, 0, b, k, res);
        }
    }
    for (size_t i = 0; !st && i < m; i++) hits[i] = (hearth_index_hit){ix->ids[res[i].s], to_score(ix, res[i].d)};
    pthread_rwlock_unlock(&ix->rw);
    if (!st) *n_hits = m;
    idx_visited_put(ix, vis);
    idx_bound_free(b);
    free(list);
    free(res);
    if (q != qbuf_small) free(q);
    if (qc && qc != code_small) free(qc);
    return st;
}

/* ==== maintenance ========================================================== */

hearth_status hearth_index_compact(hearth_index *ix) {
    if (!ix) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_compact: index is NULL");
    pthread_rwlock_wrlock(&ix->rw);
    hearth_status st = HEARTH_OK;
    if (ix->n_deleted) {
        idx_graph_repair(ix);
        uint32_t *map = malloc((ix->n_slots + 1) * sizeof *map);
        if (!map) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for compaction");
        if (!st) {
            uint32_t n = 0;
            for (size_t s = 0; s < ix->n_slots; s++) map[s] = ix->state[s] == IDX_LIVE ? n++ : IDX_NONE;
            size_t L0 = 1 + (size_t)ix->M0;
            for (size_t s = 0; s < ix->n_slots; s++) {
                if (map[s] == IDX_NONE) {
                    free(ix->up[s]); ix->up[s] = NULL;
                    free(ix->payload[s]); ix->payload[s] = NULL;
                    free(ix->fields[s]); ix->fields[s] = NULL;
                    continue;
                }
                uint32_t t = map[s];
                /* links: translate (dropping any that still point at deleted nodes) */
                for (int l = 0; l <= ix->level[s]; l++) {
                    uint32_t *ln = idx_links(ix, (uint32_t)s, l), k = 0;
                    for (uint32_t i = 0; i < ln[0]; i++)
                        if (map[ln[1 + i]] != IDX_NONE) ln[1 + k++] = map[ln[1 + i]];
                    ln[0] = k;
                }
                if (t == s) continue;
                ix->ids[t] = ix->ids[s];
                ix->state[t] = IDX_LIVE;
                ix->level[t] = ix->level[s];
                memcpy(ix->vec + (size_t)t * ix->stride, ix->vec + (size_t)s * ix->stride, ix->stride * sizeof(float));
                ix->sqnorm[t] = ix->sqnorm[s];
                if (ix->p.quantize_int8) {
                    memcpy(ix->code + (size_t)t * ix->cstride, ix->code + (size_t)s * ix->cstride, ix->cstride);
                    ix->scale[t] = ix->scale[s];
                }
                memcpy(ix->link0 + t * L0, ix->link0 + s * L0, L0 * sizeof(uint32_t));
                ix->up[t] = ix->up[s]; ix->up[s] = NULL;
                ix->payload[t] = ix->payload[s]; ix->payload[s] = NULL;
                ix->fields[t] = ix->fields[s]; ix->fields[s] = NULL;
            }
            ix->entry = ix->entry == IDX_NONE ? IDX_NONE : map[ix->entry];
            memset(ix->state + n, 0, ix->n_slots - n);
            ix->n_slots = n;
            ix->n_deleted = 0;
            ix->n_free = 0;
            free(ix->free_slots);
            ix->free_slots = NULL;
            ix->free_cap = 0;
            free(map);
            /* shrink: the deleted items' memory goes back */
            st = set_capacity(ix, n > 16 ? n : 16);
            for (size_t i = 0; i < ix->n_vis; i++) { free(ix->vis[i]->mark); free(ix->vis[i]); }
            ix->n_vis = 0;
            /* id map and postings from scratch */
            free(ix->map_key); free(ix->map_val);
            ix->map_key = NULL; ix->map_val = NULL; ix->map_cap = ix->map_used = 0;
            idx_post_clear(ix);
            free(ix->post); ix->post = NULL; ix->post_cap = 0;
            memset(ix->inc, 0, ix->cap * sizeof *ix->inc);
            for (uint32_t s = 0; s < n && !st; s++) {
                st = idx_map_put(ix, ix->ids[s], s);
                if (!st) st = idx_post_add(ix, s);
            }
            malloc_trim(0);
        }
        /* map is freed above on success and NULL on failure */
        // cppcheck-suppress memleak
    }
    pthread_rwlock_unlock(&ix->rw);
    if (!st && ix->wal) st = hearth_index_snapshot(ix);
    return st;
}

hearth_status hearth_index_get_stats(hearth_index *ix, hearth_index_stats *out) {
    if (!ix || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_get_stats: NULL argument");
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&ix->rw);
    out->count = ix->n_live;
    out->deleted = ix->n_deleted;
    out->slots = ix->n_slots;
    out->capacity = ix->cap;
    out->memory_bytes = idx_memory(ix);
    out->dim = ix->dim;
    out->metric = ix->p.metric;
    out->M = ix->M;
    out->ef_construction = ix->p.ef_construction;
    out->ef_search = ix->p.ef_search;
    out->quantize_int8 = ix->p.quantize_int8;
    out->max_level = ix->max_level;
    out->generation = ix->gen;
    out->wal_bytes = ix->wal_bytes;
    out->replayed = ix->replayed;
    out->snapshot_bytes = ix->snap_bytes;
    out->auto_snapshots = ix->auto_snapshots;
    snprintf(out->recovery, sizeof out->recovery, "%s", ix->recovery);
    pthread_rwlock_unlock(&ix->rw);
    return HEARTH_OK;
}
