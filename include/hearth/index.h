/*
 * index.h — the vector index: HNSW over float32 vectors with JSON payloads,
 * filters inside the graph walk, deletes that give memory back, and (for a
 * durable index) a write-ahead log, snapshots and crash recovery.
 *
 *   hearth_index_params p = hearth_index_default_params();
 *   p.dim = 384;                        // metric cosine, M 16, ef_construction 200
 *   hearth_index *ix;
 *   hearth_index_open("kb/vectors", &p, &ix);          // or hearth_index_create(&p, &ix)
 *   hearth_index_upsert(ix, 42, vec, "{\"kind\": \"text\", \"source\": \"a.pdf\", \"page\": 3}");
 *   hearth_index_filter *f;
 *   hearth_index_filter_parse("{\"kind\": \"text\", \"page\": {\"$lt\": 10}}", &f);
 *   hearth_index_search_params sp = hearth_index_default_search_params();
 *   sp.filter = f;
 *   hearth_index_hit hits[10]; size_t n;
 *   hearth_index_search(ix, query, 10, &sp, hits, &n);  // hits[0] is the best
 *   hearth_index_filter_free(f);
 *   hearth_index_close(ix);
 *
 * ---- items ----------------------------------------------------------------
 * An item is a caller-chosen uint64 id, one vector of `dim` floats and a
 * payload: a JSON object (or nothing, = {}). Upserting an existing id
 * replaces its vector and payload. A collection holds text and image items
 * side by side: tag them in the payload ({"kind": "image"}) and filter on it.
 * Payload values that filters can test: strings, numbers, booleans, null and
 * arrays of those (an array field matches when any element does, as in
 * MongoDB); nested objects are stored and returned but not filterable.
 *
 * ---- metrics and scores ---------------------------------------------------
 *   HEARTH_INDEX_COSINE  vectors are L2-normalized on insert (and queries on
 *                        search); score = cosine similarity, higher is better.
 *   HEARTH_INDEX_IP      inner product as given; score = dot product, higher is
 *                        better (equals cosine for unit vectors).
 *   HEARTH_INDEX_L2      score = Euclidean distance, lower is better.
 * Search results are always ordered best first.
 *
 * ---- filters (JSON, MongoDB-like) -----------------------------------------
 *   {"kind": "text"}                       field equals value (string, number, bool, null)
 *   {"page": {"$gte": 2, "$lt": 10}}       ranges: $gt $gte $lt $lte (numbers, or strings by bytes)
 *   {"lang": {"$in": ["en", "de"]}}        set membership; $nin: not in the set
 *   {"kind": {"$ne": "image"}}             not equal (a missing field is "not equal")
 *   {"page": {"$exists": true}}            field present (any value)
 *   {"$and": [F, ...]}  {"$or": [F, ...]}  {"$not": F}
 * Several keys in one object, or several operators on one field, must all
 * hold (and). {} matches everything. A malformed filter (unknown $operator,
 * $in without an array, wrong types) is HEARTH_ERR_FORMAT with a message
 * naming the offending part. A field missing from a payload matches only
 * $ne, $nin, {"$exists": false} and $not of something that needs it.
 *
 * Filtered search checks the filter inside the graph walk (items that fail
 * still guide the walk but are never returned). When the filter is very
 * selective (few matching items), the search scans the matching items
 * exactly instead. Either way, a filtered search returns min(k, number of
 * matching items) results.
 *
 * ---- durability (hearth_index_open) --------------------------------------
 * A durable index lives in a directory: snap-<gen>.hidx (a snapshot: all
 * items, payloads and the graph, with a checksum) and wal-<gen>.log (the
 * write-ahead log of every upsert and delete since that snapshot, each
 * record with its own checksum). A write is appended to the log (and
 * fsync'ed when params.fsync is HEARTH_INDEX_FSYNC_ALWAYS) before the call
 * returns, so an acknowledged write survives a crash of the process (and,
 * with FSYNC_ALWAYS, of the machine). hearth_index_open loads the newest
 * valid snapshot and replays the logs after it; a log whose tail is
 * truncated or corrupt (a crash mid-write) is replayed up to its last
 * complete record, cut there, and the recovery is reported through the log
 * callback (HEARTH_LOG_WARN) and in hearth_index_stats.recovery. A corrupt
 * newest snapshot falls back to the previous one (kept, with its log, until
 * the next snapshot) with a warning; with no usable snapshot and no
 * complete history the open fails with HEARTH_ERR_FORMAT naming the file.
 * One process at a time may open a directory (the open takes a lock and
 * fails with HEARTH_ERR_IO when another process holds it).
 *
 * ---- threads -------------------------------------------------------------
 * A handle may be used from several threads: searches, gets, counts and
 * selects run concurrently with each other; writes (upsert, delete,
 * snapshot, compact, save) take the handle exclusively. Build parallelism:
 * hearth_index_upsert_batch inserts with params.n_threads threads.
 *
 * Errors: every call returns a hearth_status (HEARTH_OK = 0); the message is
 * in hearth_last_error(). Whoever creates frees: hearth_index_close(NULL)
 * and hearth_index_filter_free(NULL) are no-ops.
 */
#ifndef HEARTH_INDEX_H
#define HEARTH_INDEX_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_index hearth_index;
typedef struct hearth_index_filter hearth_index_filter;

typedef enum hearth_index_metric {
    HEARTH_INDEX_COSINE = 0,   /* normalized on insert; score = cosine similarity */
    HEARTH_INDEX_IP = 1,       /* score = inner product */
    HEARTH_INDEX_L2 = 2,       /* score = Euclidean distance (lower is better) */
} hearth_index_metric;

const char *hearth_index_metric_name(hearth_index_metric m);   /* "cosine", "ip", "l2"; "?" */
/* "cosine" / "ip" (also "dot") / "l2" (also "euclid") -> *out; HEARTH_ERR_INVALID_ARG otherwise */
hearth_status hearth_index_metric_parse(const char *name, hearth_index_metric *out);

typedef enum hearth_index_fsync {
    HEARTH_INDEX_FSYNC_ALWAYS = 0,  /* fdatasync the log before every write call returns (default) */
    HEARTH_INDEX_FSYNC_NEVER = 1,   /* write() before returning (survives a process crash, not a
                                       power loss); the OS flushes when it likes */
} hearth_index_fsync;

typedef struct hearth_index_params {
    int32_t dim;                 /* floats per vector; required to create. On open of an existing
                                    index: 0 = from the files, otherwise must match */
    hearth_index_metric metric;  /* default COSINE; on open of an existing index the stored
                                    metric wins */
    int32_t M;                   /* graph links per node and layer (layer 0: 2*M); default 16 */
    int32_t ef_construction;     /* candidate list while inserting; default 200 */
    int32_t ef_search;           /* default candidate list of a search (raised to k); default 64 */
    bool quantize_int8;          /* keep an int8 copy of each vector (one scale per vector), walk the
                                    graph on it, re-rank the candidates with the float vectors
                                    (the walk keeps at least 1.5k candidates). Default false. */
    int32_t n_threads;           /* threads of hearth_index_upsert_batch and compaction; 0 = all CPUs */
    hearth_index_fsync fsync;    /* durable index only; default ALWAYS */
    uint64_t seed;               /* level generator; default 42 (builds are reproducible with 1 thread) */
    int64_t auto_snapshot_bytes; /* durable index only: a write that leaves the log longer than this
                                    and than half the last snapshot takes a snapshot before it
                                    returns (the log starts over, so reopening stays fast); 0
                                    (default): 64 MiB; < 0: never (hearth_index_snapshot only) */
} hearth_index_params;

hearth_index_params hearth_index_default_params(void);

/* ---- lifetime --------------------------------------------------------------- */

/* An empty index in memory (nothing on disk until hearth_index_save). */
hearth_status hearth_index_create(const hearth_index_params *p, hearth_index **out);

/* Opens the durable index in directory dir, creating the directory and an
 * empty index (p->dim required) when it holds none; otherwise loads the
 * newest valid snapshot and replays the write-ahead log (see above). M,
 * ef_construction and quantize_int8 come from the files for an existing
 * index; ef_search, n_threads and fsync from p. p may be NULL for an
 * existing index. */
hearth_status hearth_index_open(const char *dir, const hearth_index_params *p, hearth_index **out);

/* Closes and frees (a durable index's log is flushed and fsync'ed first;
 * no snapshot is taken). NULL is a no-op. */
void hearth_index_close(hearth_index *ix);

/* ---- single-file save/load (any index, durable or not) ----------------------
 * The same format as a snapshot. hearth_index_load gives an in-memory index
 * whose searches equal those of the index that was saved. p may be NULL
 * (ef_search / n_threads from p when given). */
hearth_status hearth_index_save(hearth_index *ix, const char *path);
hearth_status hearth_index_load(const char *path, const hearth_index_params *p, hearth_index **out);

/* ---- writes ----------------------------------------------------------------- */

/* Inserts or replaces item id. vec: dim floats (copied). payload_json: a JSON
 * object as text, or NULL for {}; anything else is HEARTH_ERR_FORMAT.
 * Non-finite vector values are HEARTH_ERR_INVALID_ARG; so is a zero vector
 * with COSINE. Durable: in the log before returning. */
hearth_status hearth_index_upsert(hearth_index *ix, uint64_t id, const float *vec, const char *payload_json);

/* n items at once: vecs is n*dim floats, payloads NULL or n entries (each NULL
 * or a JSON object). Inserted with params.n_threads threads; durable: one log
 * write and one fsync for the batch. All items are checked before any is
 * inserted: on an error nothing was written. Ids repeated within the batch:
 * the last one wins. */
hearth_status hearth_index_upsert_batch(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                                        const char *const *payloads);

/* Deletes item id (a tombstone; its slot is reused by a later insert and its
 * memory returned by hearth_index_compact). HEARTH_ERR_NOT_FOUND when absent. */
hearth_status hearth_index_delete(hearth_index *ix, uint64_t id);

/* ---- reads ------------------------------------------------------------------ */

/* Item id's vector (dim floats into vec_out, may be NULL; for COSINE the
 * normalized vector) and payload (*payload_out: a malloc'd JSON object text
 * owned by the caller, free() it; payload_out may be NULL).
 * HEARTH_ERR_NOT_FOUND when absent. */
hearth_status hearth_index_get(hearth_index *ix, uint64_t id, float *vec_out, char **payload_out);
bool hearth_index_contains(hearth_index *ix, uint64_t id);

size_t hearth_index_count(hearth_index *ix);   /* live items; NULL -> 0 */
int32_t hearth_index_dim(const hearth_index *ix);
hearth_index_metric hearth_index_get_metric(const hearth_index *ix);

/* Ids of the live items matching filter (NULL = all), in no particular
 * order. *ids is malloc'd, owned by the caller (free()); NULL when *n == 0. */
hearth_status hearth_index_select(hearth_index *ix, const hearth_index_filter *filter, uint64_t **ids, size_t *n);

/* ---- search ----------------------------------------------------------------- */

typedef struct hearth_index_hit {
    uint64_t id;
    float score;    /* see "metrics and scores" */
} hearth_index_hit;

typedef struct hearth_index_search_params {
    int32_t ef;                         /* candidate list; 0 = params.ef_search; raised to k */
    const hearth_index_filter *filter;  /* NULL = no filter; borrowed for the call */
    bool exact;                         /* scan every (matching) item instead of the graph */
} hearth_index_search_params;

hearth_index_search_params hearth_index_default_search_params(void);

/* The k items nearest to query (dim floats) into hits[0 .. *n_hits), best
 * first; *n_hits = min(k, matching items). sp may be NULL (defaults). */
hearth_status hearth_index_search(hearth_index *ix, const float *query, size_t k,
                                  const hearth_index_search_params *sp, hearth_index_hit *hits, size_t *n_hits);

/* ---- filters ---------------------------------------------------------------- */

/* Parses a filter (syntax above); *out owned by the caller. */
hearth_status hearth_index_filter_parse(const char *json, hearth_index_filter **out);
void hearth_index_filter_free(hearth_index_filter *f);   /* NULL is a no-op */
/* Whether payload_json (a JSON object text) matches f (for tests and callers
 * filtering their own lists). HEARTH_ERR_FORMAT for a payload that is not an
 * object; *match otherwise. */
hearth_status hearth_index_filter_match(const hearth_index_filter *f, const char *payload_json, bool *match);

/* ---- maintenance ------------------------------------------------------------ */

/* Durable index: writes a new snapshot (to a temporary file, fsync'ed, then
 * renamed), starts a new log and removes the files older than the previous
 * snapshot. In-memory index: HEARTH_ERR_INVALID_ARG (use hearth_index_save). */
hearth_status hearth_index_snapshot(hearth_index *ix);

/* Removes the tombstones: the graph is repaired around deleted items, live
 * items are moved into a dense range of slots and the arrays are shrunk, so
 * the memory of deleted items goes back to the allocator. Searches after a
 * compaction find what they found before (up to graph approximation). A
 * durable index takes a snapshot afterwards. */
hearth_status hearth_index_compact(hearth_index *ix);

typedef struct hearth_index_stats {
    size_t count;            /* live items */
    size_t deleted;          /* tombstones awaiting reuse or compaction */
    size_t slots;            /* slots in use (count + deleted) */
    size_t capacity;         /* slots allocated */
    size_t memory_bytes;     /* bytes held by vectors, codes, graph, payloads and maps */
    int32_t dim;
    hearth_index_metric metric;
    int32_t M, ef_construction, ef_search;
    bool quantize_int8;
    int32_t max_level;       /* top graph layer (-1 when empty) */
    uint64_t generation;     /* durable: current snapshot/log generation; 0 in memory */
    uint64_t wal_bytes;      /* durable: size of the current log */
    uint64_t replayed;       /* durable: log records replayed by the open */
    char recovery[256];      /* durable: what the open had to repair ("" when nothing) */
    uint64_t snapshot_bytes; /* durable: size of the newest snapshot (0: none yet) */
    uint64_t auto_snapshots; /* durable: snapshots taken by writes since the open */
} hearth_index_stats;

hearth_status hearth_index_get_stats(hearth_index *ix, hearth_index_stats *out);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
