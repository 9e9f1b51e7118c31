/*
 * search.c — retrieval: BM25 through FTS5, exact dense scoring over the
 * stored vectors, reciprocal-rank fusion, thresholds and filters.
 */
#include "rag_internal.h"

#include "core/utf8.h"
#include "hearth/index.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

hearth_rag_search_params hearth_rag_search_default_params(void) {
    hearth_rag_search_params p = {.k = 10, .mode = HEARTH_RAG_HYBRID, .w_bm25 = 1, .w_dense = 1, .rrf_k = 60};
    return p;
}

const char *hearth_rag_mode_name(hearth_rag_mode m) {
    return m == HEARTH_RAG_BM25 ? "bm25" : m == HEARTH_RAG_DENSE ? "dense" : "hybrid";
}

hearth_status hearth_rag_mode_parse(const char *s, hearth_rag_mode *out) {
    if (!strcasecmp(s, "hybrid")) *out = HEARTH_RAG_HYBRID;
    else if (!strcasecmp(s, "bm25")) *out = HEARTH_RAG_BM25;
    else if (!strcasecmp(s, "dense")) *out = HEARTH_RAG_DENSE;
    else return hearth_set_error(HEARTH_ERR_INVALID_ARG, "search mode '%s' (expected hybrid, bm25 or dense)", s);
    return HEARTH_OK;
}

/* ==== candidates ====================================================================== */
typedef struct cand { int64_t id; double score; } cand;

static int by_score(const void *a, const void *b) {
    double x = ((const cand *)a)->score, y = ((const cand *)b)->score;
    if (x != y) return x < y ? 1 : -1;
    int64_t i = ((const cand *)a)->id, j = ((const cand *)b)->id;
    return i < j ? -1 : i > j;
}

/* the FTS5 query of a text: its words, quoted, OR-ed */
static char *fts_query(const char *q) {
    hearth_buf b = {0};
    size_t n = strlen(q), terms = 0;
    for (size_t i = 0; i < n && terms < 64;) {
        size_t l;
        uint32_t cp = hearth_utf8_decode_lenient(q + i, n - i, &l);
        bool word = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                    (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7 && cp != 0xFFFD && !(cp >= 0x2000 && cp <= 0x206F) &&
                     !(cp >= 0x3000 && cp <= 0x303F));
        if (!word) {
            i += l;
            continue;
        }
        size_t s = i;
        while (i < n) {
            cp = hearth_utf8_decode_lenient(q + i, n - i, &l);
            bool w = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_' ||
                     (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7 && cp != 0xFFFD && !(cp >= 0x2000 && cp <= 0x206F) &&
                      !(cp >= 0x3000 && cp <= 0x303F));
            if (!w) break;
            i += l;
        }
        if (terms++) hearth_buf_puts(&b, " OR ");
        hearth_buf_putc(&b, '"');
        hearth_buf_put(&b, q + s, i - s);
        hearth_buf_putc(&b, '"');
    }
    if (b.oom || !b.len) {
        hearth_buf_free(&b);
        return NULL;
    }
    return hearth_buf_take(&b, NULL);
}

static hearth_status bm25_list(hearth_rag *r, const char *query, const rag_filter *f, int32_t limit, cand **out,
                               size_t *n) {
    *out = NULL;
    *n = 0;
    char *fq = fts_query(query);
    if (!fq) return HEARTH_OK;   /* no words: nothing matches */
    hearth_buf sql = {0};
    hearth_buf_printf(&sql,
                      "SELECT c.id, -bm25(fts, 1.0, 0.5) FROM fts JOIN chunks c ON c.id = fts.rowid "
                      "JOIN docs d ON d.id = c.doc WHERE fts MATCH ?1 AND (%s) ORDER BY bm25(fts, 1.0, 0.5) LIMIT %d",
                      f->sql.data, limit);
    sqlite3_stmt *st;
    hearth_status rc = HEARTH_OK;
    if (sql.oom || sqlite3_prepare_v2(r->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = rag_sql_error(r, "bm25 search");
        goto done;
    }
    sqlite3_bind_text(st, 1, fq, -1, SQLITE_STATIC);
    rag_filter_bind(f, st, 2);
    cand *c = NULL;
    size_t cap = 0, k = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (!HEARTH_GROW(c, cap, k + 1)) break;
        c[k].id = sqlite3_column_int64(st, 0);
        c[k].score = sqlite3_column_double(st, 1);
        k++;
    }
    if (s != SQLITE_DONE && s != SQLITE_ROW) rc = rag_sql_error(r, "bm25 search");
    sqlite3_finalize(st);
    if (rc) free(c);
    else *out = c, *n = k;
done:
    hearth_buf_free(&sql);
    free(fq);
    return rc;
}

static hearth_status dense_list(hearth_rag *r, const float *q, int32_t dim, const rag_filter *f, int32_t limit,
                                cand **out, size_t *n) {
    *out = NULL;
    *n = 0;
    /* no filter and a current HNSW index: the graph (vindex.c) */
    hearth_index *ix = f->n_vals == 0 && !strcmp(f->sql.data, "1") ? rag_index_current(r) : NULL;
    if (ix) {
        hearth_index_hit *hits = malloc((size_t)limit * sizeof *hits);
        cand *c = malloc((size_t)limit * sizeof *c);
        size_t k = 0;
        hearth_index_search_params sp = hearth_index_default_search_params();
        sp.ef = limit * 2 > 64 ? limit * 2 : 64;
        hearth_status st = hits && c ? hearth_index_search(ix, q, (size_t)limit, &sp, hits, &k)
                                     : hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
        if (st) {
            free(hits);
            free(c);
            return st;
        }
        for (size_t i = 0; i < k; i++) c[i] = (cand){.id = (int64_t)hits[i].id, .score = hits[i].score};
        free(hits);
        *out = c;
        *n = k;
        return HEARTH_OK;
    }
    hearth_buf sql = {0};
    hearth_buf_printf(&sql,
                      "SELECT c.id, c.vec FROM chunks c JOIN docs d ON d.id = c.doc WHERE c.vec IS NOT NULL AND (%s)",
                      f->sql.data);
    sqlite3_stmt *st;
    if (sql.oom || sqlite3_prepare_v2(r->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        hearth_buf_free(&sql);
        return rag_sql_error(r, "dense search");
    }
    hearth_buf_free(&sql);
    rag_filter_bind(f, st, 1);
    cand *c = NULL;
    size_t cap = 0, k = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const float *v = sqlite3_column_blob(st, 1);
        if (sqlite3_column_bytes(st, 1) != dim * (int)sizeof(float) || !v) continue;
        if (!HEARTH_GROW(c, cap, k + 1)) break;
        double dot = 0;
        for (int32_t i = 0; i < dim; i++) dot += (double)q[i] * v[i];
        c[k].id = sqlite3_column_int64(st, 0);
        c[k].score = dot;
        k++;
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE && s != SQLITE_ROW) {
        free(c);
        return rag_sql_error(r, "dense search");
    }
    if (k) qsort(c, k, sizeof *c, by_score);
    if (k > (size_t)limit) k = (size_t)limit;
    *out = c;
    *n = k;
    return HEARTH_OK;
}

/* ==== results ========================================================================= */
typedef struct fused { int64_t id; double score, bm25, dense; int32_t rb, rd; } fused;

static int by_fused(const void *a, const void *b) {
    double x = ((const fused *)a)->score, y = ((const fused *)b)->score;
    if (x != y) return x < y ? 1 : -1;
    int64_t i = ((const fused *)a)->id, j = ((const fused *)b)->id;
    return i < j ? -1 : i > j;
}

static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static hearth_status fill_hits(hearth_rag *r, const fused *f, size_t n, hearth_rag_results *out) {
    if (!n) return HEARTH_OK;
    out->hits = calloc(n, sizeof *out->hits);
    if (!out->hits) return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT d.source, c.idx, c.text, c.page, c.char_start, c.char_end, c.kind, c.heading, "
                           "d.attributes FROM chunks c JOIN docs d ON d.id = c.doc WHERE c.id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return rag_sql_error(r, "results");
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, f[i].id);
        if (sqlite3_step(st) != SQLITE_ROW) continue;
        hearth_rag_hit *h = &out->hits[out->n++];
        h->source = col_dup(st, 0);
        h->chunk = sqlite3_column_int64(st, 1);
        h->text = col_dup(st, 2);
        h->page = sqlite3_column_int(st, 3);
        h->char_start = sqlite3_column_int64(st, 4);
        h->char_end = sqlite3_column_int64(st, 5);
        const unsigned char *kind = sqlite3_column_text(st, 6);
        snprintf(h->kind, sizeof h->kind, "%s", kind ? (const char *)kind : "text");
        h->heading = col_dup(st, 7);
        h->attributes = col_dup(st, 8);
        h->score = h->fused = f[i].score;
        h->bm25 = f[i].bm25;
        h->dense = f[i].dense;
        h->bm25_rank = f[i].rb;
        h->dense_rank = f[i].rd;
        if (!h->source || !h->text) {
            sqlite3_finalize(st);
            return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
        }
    }
    sqlite3_finalize(st);
    return HEARTH_OK;
}

static int by_hit_score(const void *a, const void *b) {
    double x = ((const hearth_rag_hit *)a)->score, y = ((const hearth_rag_hit *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void hit_free(hearth_rag_hit *h) {
    free(h->source), free(h->text), free(h->heading), free(h->attributes);
}

/* scores every hit with the cross-encoder, orders by that, keeps k above min_score */
static hearth_status rerank(const hearth_rag_search_params *p, const char *q, hearth_rag_results *out) {
    for (size_t i = 0; i < out->n; i++) {
        float s;
        hearth_status st = hearth_rag_rerank_score(p->reranker, q, out->hits[i].text, &s);
        if (st) return st;
        out->hits[i].score = s;
    }
    if (out->n) qsort(out->hits, out->n, sizeof *out->hits, by_hit_score);
    size_t keep = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (keep < (size_t)p->k && (p->min_score == 0 || out->hits[i].score >= p->min_score))
            out->hits[keep++] = out->hits[i];
        else
            hit_free(&out->hits[i]);
    }
    out->n = keep;
    return HEARTH_OK;
}

/* runs the lists asked for and fuses them; q may be NULL (no BM25), qv NULL (no dense) */
static hearth_status run(hearth_rag *r, const char *q, const float *qv, int32_t dim, const hearth_rag_search_params *p,
                         hearth_rag_mode mode, hearth_rag_results *out) {
    if (p->k < 1 || p->k > 10000)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "search: k = %d (1 .. 10000)", p->k);
    rag_filter f;
    hearth_status st = rag_filter_compile(p->filter, &f);
    if (st) return st;
    int32_t limit = p->n_candidates > 0 ? p->n_candidates : (p->k * 4 > 50 ? p->k * 4 : 50);
    if (mode != HEARTH_RAG_HYBRID) limit = p->k;
    cand *b = NULL, *d = NULL;
    size_t nb = 0, nd = 0;
    if (mode != HEARTH_RAG_DENSE && q) st = bm25_list(r, q, &f, limit, &b, &nb);
    if (!st && mode != HEARTH_RAG_BM25 && qv) st = dense_list(r, qv, dim, &f, limit, &d, &nd);
    rag_filter_free(&f);
    if (st) {
        free(b);
        free(d);
        return st;
    }
    fused *u = calloc(nb + nd + 1, sizeof *u);
    if (!u) {
        free(b);
        free(d);
        return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    }
    size_t nu = 0;
    double rk = p->rrf_k > 0 ? p->rrf_k : 60;
    for (size_t i = 0; i < nb; i++) {
        u[nu] = (fused){.id = b[i].id, .bm25 = b[i].score, .rb = (int32_t)i + 1};
        u[nu].score = mode == HEARTH_RAG_HYBRID ? p->w_bm25 / (rk + (double)(i + 1)) : b[i].score;
        nu++;
    }
    for (size_t i = 0; i < nd; i++) {
        fused *x = NULL;
        for (size_t j = 0; j < nb && !x; j++)
            if (u[j].id == d[i].id) x = &u[j];
        if (!x) {
            x = &u[nu++];
            *x = (fused){.id = d[i].id};
        }
        x->dense = d[i].score;
        x->rd = (int32_t)i + 1;
        x->score += mode == HEARTH_RAG_HYBRID ? p->w_dense / (rk + (double)(i + 1)) : d[i].score;
    }
    free(b);
    free(d);
    qsort(u, nu, sizeof *u, by_fused);
    out->mode = mode;
    if (p->reranker && q) {
        size_t nr = (size_t)(p->n_rerank > 0 ? p->n_rerank : p->k * 2 > 20 ? p->k * 2 : 20);
        st = fill_hits(r, u, nu < nr ? nu : nr, out);
        free(u);
        if (!st) st = rerank(p, q, out);
    } else {
        size_t keep = 0;
        for (size_t i = 0; i < nu && keep < (size_t)p->k; i++)
            if (p->min_score == 0 || u[i].score >= p->min_score) u[keep++] = u[i];
        st = fill_hits(r, u, keep, out);
        free(u);
    }
    if (st) hearth_rag_results_clear(out);
    return st;
}

hearth_status hearth_rag_search(hearth_rag *r, const char *query, const hearth_rag_search_params *pp,
                                hearth_rag_results *out) {
    memset(out, 0, sizeof *out);
    hearth_rag_search_params p = pp ? *pp : hearth_rag_search_default_params();
    if (!query) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "search: no query");
    hearth_rag_mode mode = p.mode;
    int32_t dim = rag_dim(r);
    if (p.embedder && dim && hearth_embedder_n_embd(p.embedder) != dim) {
        char *m = rag_meta_get(r, "embed_model");
        hearth_status st = hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                            "dimension mismatch: collection %s holds %d-dimensional vectors (from %s); "
                                            "the query's embedding model gives %d",
                                            r->name, dim, m ? m : "another model", hearth_embedder_n_embd(p.embedder));
        free(m);
        return st;
    }
    if (mode == HEARTH_RAG_DENSE && (!p.embedder || !dim))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "dense search in collection %s needs %s", r->name,
                                dim ? "its embedding model (-e MODEL)" : "vectors (it was ingested without an embedding "
                                                                        "model)");
    if (mode == HEARTH_RAG_HYBRID && (!p.embedder || !dim)) mode = HEARTH_RAG_BM25;
    float *qv = NULL;
    if (mode != HEARTH_RAG_BM25) {
        if (!(qv = malloc((size_t)dim * sizeof *qv))) return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
        hearth_status st = hearth_embed(p.embedder, query, strlen(query), qv, dim);
        if (st) {
            free(qv);
            return rag_wrap_error(st, "search", ": embedding the query: ");
        }
    }
    hearth_status st = run(r, query, qv, dim, &p, mode, out);
    free(qv);
    return st;
}

hearth_status hearth_rag_search_vector(hearth_rag *r, const float *vec, int32_t dim, const hearth_rag_search_params *pp,
                                       hearth_rag_results *out) {
    memset(out, 0, sizeof *out);
    hearth_rag_search_params p = pp ? *pp : hearth_rag_search_default_params();
    int32_t d = rag_dim(r);
    if (!d) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "collection %s holds no vectors", r->name);
    if (dim != d)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "dimension mismatch: collection %s holds %d-dimensional vectors; the query has %d",
                                r->name, d, dim);
    float *q = malloc((size_t)dim * sizeof *q);
    if (!q) return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    memcpy(q, vec, (size_t)dim * sizeof *q);
    hearth_embed_normalize(q, dim);
    hearth_status st = run(r, NULL, q, dim, &p, HEARTH_RAG_DENSE, out);
    free(q);
    return st;
}

void hearth_rag_results_clear(hearth_rag_results *res) {
    if (!res) return;
    for (size_t i = 0; i < res->n; i++) {
        free(res->hits[i].source);
        free(res->hits[i].text);
        free(res->hits[i].heading);
        free(res->hits[i].attributes);
    }
    free(res->hits);
    memset(res, 0, sizeof *res);
}
