/*
 * vindex.c — the HNSW index (hearth/index.h) of a collection's vectors: a
 * cache derived from the SQLite file, saved as NAME.hearth-rag-hnsw-GEN
 * where GEN is the collection's vector generation (meta "vec_gen", bumped
 * by every write that adds or removes vectors). A search uses the index
 * only when its GEN is current, so it never returns a deleted chunk or
 * misses a new one; item ids are the chunks' row ids.
 */
#include "rag_internal.h"

#include "hearth/index.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void index_path(const char *coll_path, int64_t gen, char *out, size_t cap) {
    snprintf(out, cap, "%s-hnsw-%lld", coll_path, (long long)gen);
}

void rag_index_drop_files(const char *coll_path, int64_t keep_gen) {
    const char *slash = strrchr(coll_path, '/');
    char dir[4096], prefix[512];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - coll_path) : 1, slash ? coll_path : ".");
    snprintf(prefix, sizeof prefix, "%s-hnsw-", slash ? slash + 1 : coll_path);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    size_t pl = strlen(prefix);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, pl)) continue;
        char *end;
        long long g = strtoll(e->d_name + pl, &end, 10);
        if (keep_gen >= 0 && g == keep_gen && !*end) continue;
        char p[4700];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

struct hearth_index *rag_index_current(hearth_rag *r) {
    int64_t gen = rag_gen(r);
    if (r->ix && r->ix_gen == gen) return r->ix;
    hearth_index_close(r->ix);
    r->ix = NULL;
    char p[4200];
    index_path(r->path, gen, p, sizeof p);
    if (access(p, R_OK) != 0) return NULL;
    hearth_index_params ip = hearth_index_default_params();
    ip.n_threads = 1;
    if (hearth_index_load(p, &ip, &r->ix) != HEARTH_OK) {
        hearth_log(HEARTH_LOG_WARN, "collection %s: its index %s cannot be loaded (%s): searching exactly", r->name,
                   p, hearth_last_error());
        r->ix = NULL;
        return NULL;
    }
    if (hearth_index_dim(r->ix) != rag_dim(r)) {
        hearth_index_close(r->ix);
        r->ix = NULL;
        return NULL;
    }
    r->ix_gen = gen;
    return r->ix;
}

hearth_status hearth_rag_build_index(hearth_rag *r, int n_threads) {
    /* the vectors and their generation, read in one transaction */
    if (!rag_exec(r, "BEGIN")) return HEARTH_ERR_IO;
    int64_t gen = rag_gen(r);
    int32_t dim = rag_dim(r);
    char p[4200], tmp[4300];
    index_path(r->path, gen, p, sizeof p);
    if (dim == 0 || access(p, R_OK) == 0) {
        rag_rollback(r);
        return dim ? HEARTH_OK : hearth_set_error(HEARTH_ERR_INVALID_ARG, "collection %s holds no vectors", r->name);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT id, vec FROM chunks WHERE vec IS NOT NULL", -1, &st, NULL) != SQLITE_OK) {
        hearth_status s = rag_sql_error(r, "index");
        rag_rollback(r);
        return s;
    }
    uint64_t *ids = NULL;
    float *vecs = NULL;
    size_t n = 0, cap_ids = 0, cap_vecs = 0;
    bool oom = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != dim * (int)sizeof(float)) continue;
        if (!HEARTH_GROW(ids, cap_ids, n + 1) || !HEARTH_GROW(vecs, cap_vecs, (n + 1) * (size_t)dim)) {
            oom = true;
            break;
        }
        ids[n] = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(vecs + n * (size_t)dim, sqlite3_column_blob(st, 1), (size_t)dim * sizeof(float));
        n++;
    }
    sqlite3_finalize(st);
    rag_rollback(r);   /* read only: ends the transaction */
    hearth_status s = HEARTH_OK;
    hearth_index *ix = NULL;
    if (oom) s = hearth_set_error(HEARTH_ERR_NOMEM, "collection %s: out of memory for %zu vectors", r->name, n);
    hearth_index_params ip = hearth_index_default_params();
    ip.dim = dim;
    ip.metric = HEARTH_INDEX_IP;   /* the stored vectors are unit vectors */
    ip.n_threads = n_threads;
    if (!s) s = hearth_index_create(&ip, &ix);
    if (!s && n) s = hearth_index_upsert_batch(ix, n, ids, vecs, NULL);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    if (!s) s = hearth_index_save(ix, tmp);
    if (!s && rename(tmp, p) != 0) s = hearth_set_error(HEARTH_ERR_IO, "collection %s: cannot write %s", r->name, p);
    if (s) unlink(tmp);
    else rag_index_drop_files(r->path, gen);
    hearth_index_close(ix);
    free(ids);
    free(vecs);
    return s;
}
