/*
 * hnsw.c — the graph: levels, the layer walk (building and searching, with
 * filters and tombstones), insertion with the neighbour-selection heuristic
 * (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
 * search using Hierarchical Navigable Small World graphs", 2016/2018,
 * algorithms 1-4), and the repair of links around deleted nodes before a
 * compaction.
 *
 * Internal distances are "lower is better": -dot for cosine/ip, squared L2
 * for l2. Building uses the float vectors; searches of an int8 index walk on
 * the codes and the caller re-ranks with the floats.
 *
 * Concurrency while building (hearth_index_upsert_batch): each slot's link
 * lists are guarded by a one-byte spin lock (ix->lock[s]); the entry point
 * and top level by entry_lock. Searches run under the handle's read lock, when
 * nothing is written, and read links without locking.
 */
#include "index/idx.h"

#include "core/buf.h"
#include "hearth/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== levels and visited sets ============================================== */

static uint64_t mix64(uint64_t x) {   /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* floor(-ln(u) / ln(M)), u uniform in (0, 1] drawn from (seed, id): a slot's
 * level does not depend on the order or the thread that inserts it */
int idx_random_level(const hearth_index *ix, uint64_t id) {
    uint64_t r = mix64(ix->p.seed * 0x100000001b3ull ^ mix64(id));
    double u = ((double)(r >> 11) + 1.0) / 9007199254740992.0;
    int l = (int)(-log(u) * ix->level_mult);
    return l > IDX_MAX_LEVEL ? IDX_MAX_LEVEL : l;
}

hearth_status idx_alloc_up(hearth_index *ix, uint32_t s, int level) {
    free(ix->up[s]);
    ix->up[s] = NULL;
    if (level > 0) {
        ix->up[s] = calloc((size_t)level * (1 + ix->M), sizeof(uint32_t));
        if (!ix->up[s]) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for graph links");
    }
    return HEARTH_OK;
}

idx_visited *idx_visited_get(hearth_index *ix) {
    idx_visited *v = NULL;
    pthread_mutex_lock(&ix->vis_lock);
    if (ix->n_vis) v = ix->vis[--ix->n_vis];
    pthread_mutex_unlock(&ix->vis_lock);
    if (!v) v = calloc(1, sizeof *v);
    if (!v) return NULL;
    if (v->cap < ix->cap) {
        free(v->mark);
        v->mark = calloc(ix->cap, sizeof *v->mark);
        v->cap = v->mark ? ix->cap : 0;
        v->tag = 0;
        if (!v->mark) { free(v); return NULL; }
    }
    if (++v->tag == 0) {   /* wrapped: clear */
        memset(v->mark, 0, v->cap * sizeof *v->mark);
        v->tag = 1;
    }
    return v;
}

void idx_visited_put(hearth_index *ix, idx_visited *v) {
    if (!v) return;
    pthread_mutex_lock(&ix->vis_lock);
    if (HEARTH_GROW(ix->vis, ix->vis_cap, ix->n_vis + 1)) v = (ix->vis[ix->n_vis++] = v, NULL);
    pthread_mutex_unlock(&ix->vis_lock);
    if (v) { free(v->mark); free(v); }
}

/* ==== distances ============================================================ */

static inline float dist_ff(const hearth_index *ix, const float *a, const float *b) {
    return ix->p.metric == HEARTH_INDEX_L2 ? ix->ops->l2sq_f32(a, b, ix->dim) : -ix->ops->dot_f32(a, b, ix->dim);
}

float idx_dist_f(const hearth_index *ix, const float *q, uint32_t s) {
    return dist_ff(ix, q, ix->vec + (size_t)s * ix->stride);
}

static inline float dist_ss(const hearth_index *ix, uint32_t a, uint32_t b) {
    return dist_ff(ix, ix->vec + (size_t)a * ix->stride, ix->vec + (size_t)b * ix->stride);
}

typedef struct qctx {
    const float *q;
    const int8_t *qc;   /* non-NULL: walk on int8 codes */
    float qscale, qsq;
} qctx;

static inline float qdist(const hearth_index *ix, const qctx *c, uint32_t s) {
    if (!c->qc) return dist_ff(ix, c->q, ix->vec + (size_t)s * ix->stride);
    float dot = c->qscale * ix->scale[s] * (float)ix->ops->dot_i8(c->qc, ix->code + (size_t)s * ix->cstride, ix->dim);
    return ix->p.metric == HEARTH_INDEX_L2 ? c->qsq + ix->sqnorm[s] - 2 * dot : -dot;
}

static inline void prefetch_slot(const hearth_index *ix, const qctx *c, uint32_t s) {
    if (c->qc) {
        const char *p = (const char *)(ix->code + (size_t)s * ix->cstride);
        for (int32_t o = 0; o < ix->cstride; o += 64) __builtin_prefetch(p + o);
    } else {
        const char *p = (const char *)(ix->vec + (size_t)s * ix->stride);
        int32_t n = ix->stride * 4;
        if (n > 512) n = 512;
        for (int32_t o = 0; o < n; o += 64) __builtin_prefetch(p + o);
    }
}

/* ==== heaps of candidates ================================================== */
/* max-heap (worst on top) for results, min-heap (best on top) for candidates */

static inline void heap_up(idx_cand *h, size_t i, bool max) {
    idx_cand x = h[i];
    while (i) {
        size_t p = (i - 1) / 2;
        if (max ? !(h[p].d < x.d) : !(h[p].d > x.d)) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static inline void heap_down(idx_cand *h, size_t n, bool max) {
    if (!n) return;
    idx_cand x = h[0];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && (max ? h[c + 1].d > h[c].d : h[c + 1].d < h[c].d)) c++;
        if (max ? !(h[c].d > x.d) : !(h[c].d < x.d)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static int cand_cmp(const void *a, const void *b) {
    float x = ((const idx_cand *)a)->d, y = ((const idx_cand *)b)->d;
    if (x < y) return -1;
    if (x > y) return 1;
    uint32_t s = ((const idx_cand *)a)->s, t = ((const idx_cand *)b)->s;
    return s < t ? -1 : s > t;
}

/* ==== link access ========================================================== */

static inline void spin_lock(uint8_t *l) {
    while (__atomic_test_and_set(l, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED)) __builtin_ia32_pause();
}
static inline void spin_unlock(uint8_t *l) { __atomic_clear(l, __ATOMIC_RELEASE); }

/* copies slot s's links at layer l into buf (locking when building); returns the count */
static inline uint32_t read_links(const hearth_index *ix, uint32_t s, int l, uint32_t *buf, bool locked) {
    const uint32_t *ln = idx_links(ix, s, l);
    uint32_t cap = l ? (uint32_t)ix->M : (uint32_t)ix->M0;
    if (locked) spin_lock(&ix->lock[s]);
    uint32_t n = ln[0];
    if (n > cap) n = cap;
    memcpy(buf, ln + 1, n * sizeof *buf);
    if (locked) spin_unlock(&ix->lock[s]);
    return n;
}

/* ==== the layer walk ======================================================= */

typedef struct walk {
    idx_cand *cand;     /* min-heap of nodes to expand */
    size_t n_cand, cap_cand;
    idx_cand *res;      /* max-heap of the best ef results */
    size_t n_res;
} walk;

/* Walks layer l from entry ep (distance dep) keeping the ef best nodes that
 * are live, pass filter (when given) and are not `self`. Returns the number
 * of results in w->res (a max-heap), or -1 when a budget of distance
 * evaluations ran out before ef results were found (filtered walks). */
static long search_layer(const hearth_index *ix, const qctx *q, uint32_t ep, float dep, size_t ef, int l,
                         const idx_bound *filter, idx_visited *vis, walk *w, uint32_t self, bool locked,
                         size_t budget) {
    uint32_t tag = vis->tag, *mark = vis->mark;
    uint32_t nb[1 + 2 * 256], todo[2 * 256];
    size_t evals = 0;
    w->n_cand = w->n_res = 0;
    mark[ep] = tag;
    w->cand[w->n_cand++] = (idx_cand){dep, ep};
    if (ep != self && ix->state[ep] == IDX_LIVE && (!filter || idx_bound_match(filter, &ix->dict, ix->fields[ep])))
        w->res[w->n_res++] = (idx_cand){dep, ep};
    float bound = w->n_res ? dep : INFINITY;
    while (w->n_cand) {
        idx_cand c = w->cand[0];
        if (c.d > bound && w->n_res >= ef) break;
        w->cand[0] = w->cand[--w->n_cand];
        heap_down(w->cand, w->n_cand, false);
        uint32_t n = read_links(ix, c.s, l, nb, locked), n_todo = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t s = nb[i];
            if (mark[s] == tag) continue;
            mark[s] = tag;
            prefetch_slot(ix, q, s);
            todo[n_todo++] = s;
        }
        evals += n_todo;
        for (uint32_t i = 0; i < n_todo; i++) {
            uint32_t s = todo[i];
            float d = qdist(ix, q, s);
            if (w->n_res < ef || d < bound) {
                if (w->n_cand == w->cap_cand) {   /* grow (rare: the arrays start at 4 ef) */
                    size_t cap = w->cap_cand;
                    if (!HEARTH_GROW(w->cand, cap, w->n_cand + 1)) continue;
                    w->cap_cand = cap;
                }
                w->cand[w->n_cand] = (idx_cand){d, s};
                heap_up(w->cand, w->n_cand++, false);
                /* it may be expanded soon: start loading its links */
                const char *lp = (const char *)idx_links(ix, s, l);
                __builtin_prefetch(lp);
                __builtin_prefetch(lp + 64);
                if (s != self && ix->state[s] == IDX_LIVE &&
                    (!filter || idx_bound_match(filter, &ix->dict, ix->fields[s]))) {
                    w->res[w->n_res] = (idx_cand){d, s};
                    heap_up(w->res, w->n_res++, true);
                    if (w->n_res > ef) {
                        w->res[0] = w->res[--w->n_res];
                        heap_down(w->res, w->n_res, true);
                    }
                    if (w->n_res) bound = w->res[0].d;
                }
            }
        }
        if (budget && evals > budget && w->n_res < ef) return -1;
    }
    return (long)w->n_res;
}

/* greedy descent through layers top .. stop+1: the closest node found */
static uint32_t descend(const hearth_index *ix, const qctx *q, uint32_t ep, float *dep, int top, int stop, bool locked) {
    uint32_t nb[1 + 2 * 256];
    float d = *dep;
    for (int l = top; l > stop; l--) {
        bool changed = true;
        while (changed) {
            changed = false;
            uint32_t n = read_links(ix, ep, l, nb, locked);
            for (uint32_t i = 0; i < n; i++) {
                float x = qdist(ix, q, nb[i]);
                if (x < d) { d = x; ep = nb[i]; changed = true; }
            }
        }
    }
    *dep = d;
    return ep;
}

static bool walk_init(walk *w, size_t ef) {
    memset(w, 0, sizeof *w);
    w->cap_cand = 4 * ef + 64;
    w->cand = malloc(w->cap_cand * sizeof *w->cand);
    w->res = malloc((ef + 1) * sizeof *w->res);
    return w->cand && w->res;
}

static void walk_free(walk *w) {
    free(w->cand);
    free(w->res);
}

int idx_graph_search(const hearth_index *ix, const float *q, const int8_t *qc, float qscale, float qsq, size_t ef,
                     const idx_bound *filter, idx_visited *vis, idx_cand *out, size_t budget) {
    if (ix->entry == IDX_NONE) return 0;
    qctx c = {q, qc, qscale, qsq};
    uint32_t ep = ix->entry;
    float d = qdist(ix, &c, ep);
    ep = descend(ix, &c, ep, &d, ix->max_level, 0, false);
    walk w;
    if (!walk_init(&w, ef)) { walk_free(&w); return -2; }
    long n = search_layer(ix, &c, ep, d, ef, 0, filter, vis, &w, IDX_NONE, false, budget);
    if (n > 0) {
        memcpy(out, w.res, (size_t)n * sizeof *out);
        qsort(out, (size_t)n, sizeof *out, cand_cmp);
    }
    walk_free(&w);
    return (int)n;
}

/* ==== insertion ============================================================ */

/* The heuristic of the paper's algorithm 4 (without extending candidates):
 * keep a candidate (sorted by distance to the new node) only when it is
 * closer to the new node than to every neighbour kept so far. */
static size_t select_neighbours(const hearth_index *ix, idx_cand *c, size_t n, size_t m) {
    if (n <= m) return n;
    size_t k = 0;
    for (size_t i = 0; i < n && k < m; i++) {
        bool good = true;
        for (size_t j = 0; j < k; j++)
            if (dist_ss(ix, c[i].s, c[j].s) < c[i].d) { good = false; break; }
        if (good) c[k++] = c[i];
    }
    return k;
}

/* adds link from -> to at layer l, pruning from's list with the heuristic when full */
static void link_back(hearth_index *ix, uint32_t from, uint32_t to, int l) {
    uint32_t cap = l ? (uint32_t)ix->M : (uint32_t)ix->M0;
    spin_lock(&ix->lock[from]);
    uint32_t *ln = idx_links(ix, from, l);
    uint32_t n = ln[0];
    for (uint32_t i = 0; i < n; i++)
        if (ln[1 + i] == to) { spin_unlock(&ix->lock[from]); return; }
    if (n < cap) {
        ln[1 + n] = to;
        ln[0] = n + 1;
    } else {
        idx_cand c[2 * 256 + 1];
        for (uint32_t i = 0; i < n; i++) c[i] = (idx_cand){dist_ss(ix, from, ln[1 + i]), ln[1 + i]};
        c[n] = (idx_cand){dist_ss(ix, from, to), to};
        qsort(c, n + 1, sizeof *c, cand_cmp);
        size_t k = select_neighbours(ix, c, n + 1, cap);
        for (size_t i = 0; i < k; i++) ln[1 + i] = c[i].s;
        ln[0] = (uint32_t)k;
    }
    spin_unlock(&ix->lock[from]);
}

/* Inserts slot s (vector, level and up[] already set) into the graph. reuse:
 * s was a deleted node (its old links are replaced; edges pointing at it
 * stay, leading to its new vector). */
void idx_graph_insert(hearth_index *ix, uint32_t s, idx_visited *vis, bool reuse) {
    int L = ix->level[s];
    pthread_mutex_lock(&ix->entry_lock);
    uint32_t ep = ix->entry;
    int top = ix->max_level;
    if (ep == IDX_NONE || (reuse && ep == s && top == L && ix->n_slots == 1)) {
        ix->entry = s;
        ix->max_level = L;
        pthread_mutex_unlock(&ix->entry_lock);
        return;
    }
    bool raise = L > top;
    if (!raise) pthread_mutex_unlock(&ix->entry_lock);

    qctx q = {ix->vec + (size_t)s * ix->stride, NULL, 0, 0};
    float d = qdist(ix, &q, ep);
    if (ep == s) d = INFINITY;
    ep = descend(ix, &q, ep, &d, top, L, true);
    walk w;
    size_t ef = (size_t)ix->p.ef_construction;
    if (walk_init(&w, ef)) {
        for (int l = L < top ? L : top; l >= 0; l--) {
            if (++vis->tag == 0) { memset(vis->mark, 0, vis->cap * sizeof *vis->mark); vis->tag = 1; }
            long n = search_layer(ix, &q, ep, d, ef, l, NULL, vis, &w, s, true, 0);
            if (n <= 0) {
                if (reuse) {   /* nothing else live near: clear its old links at this layer */
                    spin_lock(&ix->lock[s]);
                    idx_links(ix, s, l)[0] = 0;
                    spin_unlock(&ix->lock[s]);
                }
                continue;
            }
            qsort(w.res, (size_t)n, sizeof *w.res, cand_cmp);
            ep = w.res[0].s;
            d = w.res[0].d;
            size_t k = select_neighbours(ix, w.res, (size_t)n, (size_t)ix->M);
            spin_lock(&ix->lock[s]);
            uint32_t *ln = idx_links(ix, s, l);
            for (size_t i = 0; i < k; i++) ln[1 + i] = w.res[i].s;
            ln[0] = (uint32_t)k;
            spin_unlock(&ix->lock[s]);
            for (size_t i = 0; i < k; i++) link_back(ix, w.res[i].s, s, l);
        }
    }
    walk_free(&w);
    if (raise) {
        ix->entry = s;
        ix->max_level = L;
        pthread_mutex_unlock(&ix->entry_lock);
    }
}

/* ==== repair before compaction ============================================= */

typedef struct repair_job {
    hearth_index *ix;
    size_t next;        /* atomic: next slot to repair */
} repair_job;

static void repair_slot(hearth_index *ix, uint32_t p, idx_cand *c, size_t cap_c) {
    for (int l = 0; l <= ix->level[p]; l++) {
        uint32_t *ln = idx_links(ix, p, l);
        uint32_t n = ln[0], mcap = l ? (uint32_t)ix->M : (uint32_t)ix->M0;
        bool any = false;
        for (uint32_t i = 0; i < n; i++) any |= ix->state[ln[1 + i]] != IDX_LIVE;
        if (!any) continue;
        /* candidates: p's live neighbours and the live neighbours of its deleted ones */
        size_t k = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = ln[1 + i];
            if (ix->state[x] == IDX_LIVE) {
                if (k < cap_c) c[k++] = (idx_cand){dist_ss(ix, p, x), x};
                continue;
            }
            if (ix->level[x] < l) continue;
            const uint32_t *lx = idx_links(ix, x, l);
            for (uint32_t j = 0; j < lx[0] && j < mcap; j++) {
                uint32_t y = lx[1 + j];
                if (y == p || ix->state[y] != IDX_LIVE) continue;
                bool dup = false;
                for (size_t t = 0; t < k && !dup; t++) dup = c[t].s == y;
                if (!dup && k < cap_c) c[k++] = (idx_cand){dist_ss(ix, p, y), y};
            }
        }
        qsort(c, k, sizeof *c, cand_cmp);
        size_t m = select_neighbours(ix, c, k, mcap);
        /* written to a copy first: other threads read deleted nodes' lists only */
        for (size_t i = 0; i < m; i++) ln[1 + i] = c[i].s;
        ln[0] = (uint32_t)m;
    }
}

static void repair_worker(void *arg, int ith, int nth) {
    repair_job *j = arg;
    hearth_index *ix = j->ix;
    size_t cap_c = (size_t)ix->M0 * (ix->M0 + 1) + 1;
    idx_cand *c = malloc(cap_c * sizeof *c);
    if (!c) return;
    for (;;) {
        size_t s = __atomic_fetch_add(&j->next, 64, __ATOMIC_RELAXED);
        if (s >= ix->n_slots) break;
        size_t e = s + 64 < ix->n_slots ? s + 64 : ix->n_slots;
        for (; s < e; s++)
            if (ix->state[s] == IDX_LIVE) repair_slot(ix, (uint32_t)s, c, cap_c);
    }
    free(c);
}

/* Re-links every live node that points at a deleted one (candidates: its live
 * neighbours plus the deleted neighbours' live neighbours, chosen with the
 * heuristic). Readers of a deleted node's lists see them unchanged; a live
 * node's lists are written only by its own worker. Moves the entry point to a
 * live node of the highest level. */
hearth_status idx_graph_repair(hearth_index *ix) {
    repair_job j = {ix, 0};
    hearth_pool *pool = ix->p.n_threads == 1 ? NULL : hearth_pool_create(ix->p.n_threads);
    hearth_pool_run(pool, repair_worker, &j);
    hearth_pool_free(pool);
    ix->entry = IDX_NONE;
    ix->max_level = -1;
    for (size_t s = 0; s < ix->n_slots; s++)
        if (ix->state[s] == IDX_LIVE && (int)ix->level[s] > ix->max_level) {
            ix->max_level = ix->level[s];
            ix->entry = (uint32_t)s;
        }
    return HEARTH_OK;
}
