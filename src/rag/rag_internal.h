/*
 * rag_internal.h — what src/rag's files share: the open collection (its
 * SQLite connection and settings), statement helpers, the chunker and the
 * filter compiler.
 */
#ifndef HEARTH_RAG_INTERNAL_H
#define HEARTH_RAG_INTERNAL_H

#include "hearth/rag.h"

#include "core/buf.h"

#include <sqlite3.h>

struct hearth_index;

struct hearth_rag {
    sqlite3 *db;
    char name[HEARTH_RAG_NAME_MAX + 1];
    char *path;              /* the collection file */
    struct hearth_index *ix; /* the HNSW index loaded for dense search (vindex.c), or NULL */
    int64_t ix_gen;          /* the vector generation it was built at */
};

/* ==== store.c ======================================================================= */
/* HEARTH_ERR_IO with "collection NAME: what: sqlite's message" */
hearth_status rag_sql_error(hearth_rag *r, const char *what);
/* re-raises this thread's error as "<a><b><the message>" (copied first) */
hearth_status rag_wrap_error(hearth_status st, const char *a, const char *b);
/* ROLLBACK, keeping the error message of what failed */
void rag_rollback(hearth_rag *r);
/* runs SQL without results; false on error (message set) */
bool rag_exec(hearth_rag *r, const char *sql);
/* meta table: value of key (malloc'd) or NULL */
char *rag_meta_get(hearth_rag *r, const char *key);
bool rag_meta_set(hearth_rag *r, const char *key, const char *value);
/* vector dimension recorded for the collection (0: none yet) */
int32_t rag_dim(hearth_rag *r);
bool rag_valid_name(const char *name);
/* deletes a document's chunks and row (inside the caller's transaction) */
bool rag_delete_doc(hearth_rag *r, int64_t doc_id);

/* bumps the vector generation (inside the caller's write transaction) */
bool rag_bump_gen(hearth_rag *r);
int64_t rag_gen(hearth_rag *r);

/* ==== vindex.c ====================================================================== */
/* the current HNSW index of r (loaded on first use), or NULL when there is none */
struct hearth_index *rag_index_current(hearth_rag *r);
void rag_index_drop_files(const char *coll_path, int64_t keep_gen);   /* keep_gen < 0: all */

/* ==== chunk.c ======================================================================= */
typedef struct rag_chunk {
    size_t start, end;   /* bytes of the document's text */
    int32_t page;        /* 1-based, 0: none */
    char *heading;       /* owned heading path "A > B", or NULL */
} rag_chunk;

/* Splits d into chunks of at most chunk_tokens tokens (counted with v when
 * not NULL, else estimated from words), overlapping by overlap_tokens,
 * starting anew at headings when by_headings. *out is malloc'd. */
hearth_status rag_chunk_doc(const hearth_doc *d, int32_t chunk_tokens, int32_t overlap_tokens, bool by_headings,
                            const hearth_vocab *v, rag_chunk **out, size_t *n);
void rag_chunks_free(rag_chunk *c, size_t n);

/* ==== filter.c ====================================================================== */
/* A compiled filter: SQL text over aliases c (chunks) and d (docs) with '?'
 * parameters, and their values in order. */
typedef struct rag_filter_val {
    int type;            /* SQLITE_TEXT, SQLITE_FLOAT, SQLITE_INTEGER, SQLITE_NULL */
    char *s;
    double f;
    int64_t i;
} rag_filter_val;

typedef struct rag_filter {
    hearth_buf sql;      /* "1" when there is no filter */
    rag_filter_val *vals;
    size_t n_vals, cap_vals;
} rag_filter;

/* HEARTH_ERR_INVALID_ARG "filter: ..." naming what is wrong and where */
hearth_status rag_filter_compile(const char *json, rag_filter *out);
/* binds the filter's values from parameter index first (1-based) */
void rag_filter_bind(const rag_filter *f, sqlite3_stmt *st, int first);
void rag_filter_free(rag_filter *f);

#endif
