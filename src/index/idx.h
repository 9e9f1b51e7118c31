/*
 * idx.h — the vector index's internal structures (shared by the files of
 * src/index; not API: see include/hearth/index.h).
 *
 * Storage is by slot (uint32): slot s holds one item's id, vector
 * (vec + s*stride floats, stride = dim rounded up to 16), optional int8 code
 * (code + s*cstride bytes, scale[s], sqnorm[s]), its graph links and its
 * payload (the JSON text and its fields, parsed for filters). A slot is LIVE,
 * DELETED (a tombstone: still a graph node that guides walks, never a
 * result; reused by the next insert) or never used (slots >= n_slots).
 *
 * Graph (HNSW): level[s] is the top layer of slot s. Layer 0 links:
 * link0 + s*(1+M0) holds the count then up to M0 = 2M slot numbers. Layers
 * 1..level[s]: up[s] + (l-1)*(1+M), same shape with M links.
 *
 * Payload fields: strings (keys and string values) are interned in `dict`
 * (string -> uint32); a slot's fields are one allocation (idx_fields) that
 * lists (key, values) pairs. Equality postings map (key, value) to the
 * (slot, incarnation) pairs that had that value when inserted; inc[s] grows
 * each time slot s is deleted, so an entry is current exactly when its slot
 * is live and its incarnation is the slot's. Compaction rebuilds them.
 */
#ifndef HEARTH_INDEX_IDX_H
#define HEARTH_INDEX_IDX_H

#include "hearth/index.h"
#include "index/dist.h"

#include <pthread.h>
#include <stdio.h>

#define IDX_NONE UINT32_MAX
#define IDX_MAX_LEVEL 16
#define IDX_MAX_SLOTS 0x7ffffff0u

enum { IDX_FREE = 0, IDX_LIVE = 1, IDX_DELETED = 2 };

/* ---- interned strings --------------------------------------------------- */
typedef struct idx_dict {
    char **str;          /* str[id]: owned, NUL-terminated */
    uint32_t *len;
    size_t n, cap;
    uint32_t *table;     /* open addressing: id+1, 0 = empty */
    size_t table_cap;    /* power of two */
} idx_dict;

uint32_t idx_dict_find(const idx_dict *d, const char *s, size_t len);   /* IDX_NONE when absent */
bool idx_dict_add(idx_dict *d, const char *s, size_t len, uint32_t *id);
void idx_dict_free(idx_dict *d);

/* ---- payload values ----------------------------------------------------- */
enum { IDX_V_NULL = 0, IDX_V_BOOL = 1, IDX_V_NUM = 2, IDX_V_STR = 3, IDX_V_OTHER = 4 };

typedef struct idx_val {
    uint32_t type;
    uint32_t sid;      /* IDX_V_STR: dict id */
    double num;        /* IDX_V_NUM, IDX_V_BOOL (0/1) */
} idx_val;

typedef struct idx_field {
    uint32_t key;      /* dict id */
    uint32_t first;    /* index into the values */
    uint32_t n;        /* values (1 for a scalar, the elements of an array) */
} idx_field;

typedef struct idx_fields {
    uint32_t n_fields, n_vals;
    idx_field *f;      /* points into this allocation */
    idx_val *v;
} idx_fields;

/* Parses a payload (cJSON object) into fields, interning strings. */
struct cJSON;
hearth_status idx_fields_from_json(idx_dict *d, const struct cJSON *obj, idx_fields **out);

/* ---- filters (filter.c) -------------------------------------------------- */
typedef struct idx_bound idx_bound;   /* a filter resolved against one index's dictionary */
idx_bound *idx_filter_bind(const hearth_index_filter *f, const idx_dict *d);
void idx_bound_free(idx_bound *b);
bool idx_bound_match(const idx_bound *b, const idx_dict *d, const idx_fields *fields);
/* Equality postings usable for a filter (see filter.c). */
bool idx_filter_posting_node(const hearth_index_filter *f, uint32_t *node, bool *whole);
size_t idx_filter_posting_values(const idx_bound *b, uint32_t ni, uint32_t *key, uint32_t *types, uint64_t *bits,
                                 size_t max);
uint32_t idx_filter_posting_count(const idx_bound *b, uint32_t ni);

/* ---- the index ------------------------------------------------------------ */
typedef struct idx_posting {
    uint32_t key, type;
    uint64_t bits;          /* the value: sid, or the double's bits */
    uint64_t *slots;        /* incarnation << 32 | slot */
    uint32_t n, cap;
} idx_posting;

typedef struct idx_visited {
    uint32_t *mark;     /* mark[s] == tag: visited in this walk */
    size_t cap;
    uint32_t tag;
} idx_visited;

struct hearth_index {
    hearth_index_params p;
    int32_t dim, stride, cstride, M, M0;
    double level_mult;
    const idx_dist_ops *ops;

    /* slots */
    size_t n_slots, cap;
    uint64_t *ids;
    uint8_t *state;        /* IDX_FREE / IDX_LIVE / IDX_DELETED */
    uint8_t *level;
    float *vec;            /* cap * stride, 64-byte aligned */
    int8_t *code;          /* cap * cstride (quantize_int8) */
    float *scale;          /* code value * scale = vector value */
    float *sqnorm;         /* |vec|^2 */
    uint32_t *link0;       /* cap * (1 + M0) */
    uint32_t **up;         /* cap: layers 1..level, or NULL */
    char **payload;        /* cap: JSON text (owned) or NULL for {} */
    idx_fields **fields;   /* cap: or NULL for {} */
    uint8_t *lock;         /* cap: spin locks on a slot's links while building */
    uint32_t *inc;         /* cap: incarnation of the slot (grows on delete) */
    size_t n_live, n_deleted;
    uint32_t *free_slots;  /* deleted slots to reuse (stack) */
    size_t n_free, free_cap;

    /* graph */
    uint32_t entry;
    int32_t max_level;
    pthread_mutex_t entry_lock;

    /* id -> slot (open addressing; key slot+1 in val, 0 empty, UINT32_MAX tombstone) */
    uint64_t *map_key;
    uint32_t *map_val;
    size_t map_cap, map_used;

    idx_dict dict;
    idx_posting *post;     /* open addressing on (key, type, bits); slots == NULL: empty */
    size_t post_cap, post_used;

    /* visited sets for concurrent walks */
    pthread_mutex_t vis_lock;
    idx_visited **vis;
    size_t n_vis, vis_cap;

    pthread_rwlock_t rw;

    /* durable */
    char *dir;
    int lock_fd;
    bool wal;              /* a durable index (writes are logged to wal_fd) */
    int wal_fd;
    uint64_t gen, wal_bytes, replayed;
    uint64_t snap_bytes, auto_snapshots;   /* the newest snapshot's size; snapshots taken by writes */
    uint64_t auto_failed_at;               /* log size when an automatic snapshot last failed (0: none) */
    char recovery[256];
};

/* index.c */
hearth_status idx_new(const hearth_index_params *p, hearth_index **out);
void idx_destroy(hearth_index *ix);
hearth_status idx_reserve(hearth_index *ix, size_t need);
uint32_t idx_map_get(const hearth_index *ix, uint64_t id);
hearth_status idx_map_put(hearth_index *ix, uint64_t id, uint32_t slot);
void idx_map_del(hearth_index *ix, uint64_t id);
hearth_status idx_apply_batch(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                              const char *const *payloads, const size_t *plens, int threads);
hearth_status idx_apply_delete(hearth_index *ix, uint64_t id);
void idx_set_codes(hearth_index *ix, uint32_t s);
hearth_status idx_post_add(hearth_index *ix, uint32_t slot);
void idx_post_clear(hearth_index *ix);
size_t idx_memory(const hearth_index *ix);

/* hnsw.c */
int idx_random_level(const hearth_index *ix, uint64_t id);
hearth_status idx_alloc_up(hearth_index *ix, uint32_t s, int level);
void idx_graph_insert(hearth_index *ix, uint32_t s, idx_visited *vis, bool reuse);
idx_visited *idx_visited_get(hearth_index *ix);
void idx_visited_put(hearth_index *ix, idx_visited *v);
static inline uint32_t *idx_links(const hearth_index *ix, uint32_t s, int l) {
    return l == 0 ? ix->link0 + (size_t)s * (1 + ix->M0) : ix->up[s] + (size_t)(l - 1) * (1 + ix->M);
}
/* one search result candidate (slot, internal distance: lower is better) */
typedef struct idx_cand {
    float d;
    uint32_t s;
} idx_cand;
/* The walk of a query; q is the float query (normalized for cosine), qc its
 * int8 code when codes are used. Fills out (sorted ascending by d) with at
 * most ef live matching slots; returns the count, or -1 when a filtered walk
 * gave up (budget) and the caller should scan exactly. */
int idx_graph_search(const hearth_index *ix, const float *q, const int8_t *qc, float qscale, float qsq, size_t ef,
                     const idx_bound *filter, idx_visited *vis, idx_cand *out, size_t budget);
float idx_dist_f(const hearth_index *ix, const float *q, uint32_t s);
hearth_status idx_graph_repair(hearth_index *ix);   /* compaction's first half */

/* persist.c */
uint32_t idx_crc32(uint32_t crc, const void *p, size_t n);
hearth_status idx_snapshot_write(hearth_index *ix, const char *path);
hearth_status idx_snapshot_read(const char *path, const hearth_index_params *p, hearth_index **out);
hearth_status idx_snapshot_parse(const uint8_t *data, size_t size, const char *what, const hearth_index_params *p,
                                 hearth_index **out);
hearth_status idx_wal_log_upserts(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                                  char *const *payloads, const size_t *plens);
hearth_status idx_wal_log_delete(hearth_index *ix, uint64_t id);
/* after a write (no lock held): the automatic snapshot when the log has grown
 * past params.auto_snapshot_bytes and half the last snapshot; a failure is
 * logged (the write itself is already durable) */
void idx_auto_snapshot(hearth_index *ix);
hearth_status idx_durable_open(const char *dir, const hearth_index_params *p, hearth_index **out);
hearth_status idx_durable_snapshot(hearth_index *ix);
void idx_durable_close(hearth_index *ix);
/* Replays WAL bytes (after the header) into ix; *good = bytes of complete records. */
hearth_status idx_wal_replay(hearth_index *ix, const uint8_t *data, size_t size, size_t *good, uint64_t *records,
                             char *why, size_t why_len);

#endif
