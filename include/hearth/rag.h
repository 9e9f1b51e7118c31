/*
 * rag.h — knowledge collections: documents chunked and stored durably,
 * searched by BM25, by embedding similarity or both (hybrid), and
 * questions answered from them with numbered sources.
 *
 * Layout: a store is a folder (--db DIR); each collection is one SQLite
 * database DIR/NAME.hearth-rag (WAL journal, synchronous=FULL) holding
 *   docs   (source path, content hash, attributes)       one row per document
 *   chunks (text, page, char_start/char_end, kind, vector) one row per chunk
 *   fts    an FTS5 index over the chunks' text and section headings
 * so a collection is one file: snapshot = a consistent copy of it.
 *
 * Durability: each document is ingested in one transaction (its old chunks
 * deleted, the new ones inserted, its hash recorded); when the file callback
 * reports it, it is on disk. A crash (kill -9) loses at most the document in
 * flight, and re-running the ingestion finishes the job without duplicates
 * (chunks are unique per (document, index)).
 *
 * Incremental: a document whose content hash (BLAKE2b-256) and chunking /
 * embedding settings are unchanged is skipped; a changed one has its chunks
 * replaced; a document under an ingested folder that is gone from disk is
 * removed.
 *
 * Retrieval:
 *   bm25    SQLite FTS5's bm25() (k1 = 1.2, b = 0.75, fixed by FTS5), Porter
 *           stemming, over the chunk text and (weight 0.5) its headings; the
 *           query's words are OR-ed.
 *   dense   cosine similarity of the query's embedding with every chunk
 *           vector that passes the filter (exact: a filtered search returns
 *           k results whenever k chunks match); without a filter, through
 *           the collection's HNSW index when one is current
 *           (hearth_rag_build_index).
 *   hybrid  reciprocal-rank fusion: score = sum over the two lists of
 *           w / (rrf_k + rank), rank from 1, rrf_k = 60.
 * Filters (OpenAI's vector-store filter JSON) are SQL over the chunks and
 * their documents' attributes, so they never lose results either:
 *   {"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key": K, "value": V}
 *   {"type": "and"|"or", "filters": [ ... ]}
 * keys: "source", "kind" ("text"/"image"), "page", "chunk", "format"
 * ("pdf", "html"...), or any attribute given at ingestion.
 *
 * Multimodal: every item has a kind ("text" or "image") and an optional
 * vector; images (their embeddings, with a caption or path as text) go into
 * the same collections through hearth_rag_add_item, and are found by dense
 * search with a query vector (hearth_rag_search_vector).
 *
 * Threads: a collection handle is used by one thread at a time; several
 * handles (threads or processes) may open the same collection.
 */
#ifndef HEARTH_RAG_H
#define HEARTH_RAG_H

#include "hearth/doc.h"
#include "hearth/embed.h"
#include "hearth/generate.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ---- collections ------------------------------------------------------------ */
typedef struct hearth_rag hearth_rag;   /* an open collection */

#define HEARTH_RAG_NAME_MAX 64   /* collection names: 1..64 of [A-Za-z0-9_.-], not starting with '.' */

/* Opens DIR/NAME; with create, makes the folder and the collection when
 * missing. HEARTH_ERR_NOT_FOUND "unknown collection" otherwise. */
hearth_status hearth_rag_open(const char *dir, const char *name, bool create, hearth_rag **out);
void hearth_rag_close(hearth_rag *r);   /* NULL is a no-op */

typedef struct hearth_rag_info {
    char name[HEARTH_RAG_NAME_MAX + 1];
    int64_t n_docs, n_chunks, n_vectors;
    int64_t text_bytes;      /* bytes of chunk text (overlaps counted once per chunk) */
    int64_t file_bytes;      /* bytes of the collection file */
    int32_t dim;             /* vector dimension (0: no vectors yet) */
    char embed_model[512];   /* the embedding model that made its vectors ("" if none) */
    double created;          /* unix seconds */
    char *metadata;          /* owned JSON object text set by hearth_rag_set_metadata, or NULL */
} hearth_rag_info;

hearth_status hearth_rag_get_info(hearth_rag *r, hearth_rag_info *out);
void hearth_rag_info_clear(hearth_rag_info *i);   /* frees metadata */
/* Free-form JSON object kept with the collection (the server's store name,
 * metadata). HEARTH_ERR_FORMAT if not a JSON object. */
hearth_status hearth_rag_set_metadata(hearth_rag *r, const char *json);

/* Names of the collections in dir, sorted (malloc'd array of malloc'd
 * strings; free with hearth_rag_names_free). An absent dir has none. */
hearth_status hearth_rag_list(const char *dir, char ***names, size_t *n);
void hearth_rag_names_free(char **names, size_t n);
/* Deletes a collection's file. HEARTH_ERR_NOT_FOUND when absent. */
hearth_status hearth_rag_drop(const char *dir, const char *name);
/* A consistent copy of the collection in one file (while others write). */
hearth_status hearth_rag_snapshot(const char *dir, const char *name, const char *file);
/* Replaces (or creates) the collection with a snapshot, after checking it
 * is one (HEARTH_ERR_FORMAT naming the file otherwise). */
hearth_status hearth_rag_restore(const char *dir, const char *name, const char *file);

/* ---- ingestion -------------------------------------------------------------- */
typedef enum hearth_rag_event {
    HEARTH_RAG_ADDED = 0,     /* new document, chunks stored */
    HEARTH_RAG_UPDATED,       /* changed document, its chunks replaced */
    HEARTH_RAG_UNCHANGED,     /* same hash and settings: skipped */
    HEARTH_RAG_REMOVED,       /* gone from disk: its chunks deleted */
    HEARTH_RAG_FAILED,        /* unreadable / corrupt / too large: message says why; nothing stored */
} hearth_rag_event;

const char *hearth_rag_event_name(hearth_rag_event e);   /* "added", "updated"... */

typedef struct hearth_rag_file_report {
    hearth_rag_event event;
    const char *source;      /* the stored path (absolute) */
    const char *message;     /* FAILED: the error; else NULL */
    int64_t n_chunks;        /* chunks stored for it (ADDED / UPDATED / UNCHANGED) */
    int64_t text_bytes;      /* bytes of its text */
    int64_t file_bytes;      /* bytes of the file */
} hearth_rag_file_report;

/* Called after each document's transaction committed (or it failed / was
 * skipped): what it reports is durable. files_done / files_total and
 * bytes_done / bytes_total count the whole ingestion. */
typedef void (*hearth_rag_file_fn)(const hearth_rag_file_report *r, int64_t files_done, int64_t files_total,
                                   int64_t bytes_done, int64_t bytes_total, void *user);

typedef struct hearth_rag_ingest_params {
    int32_t chunk_tokens;       /* most tokens per chunk; 200 */
    int32_t overlap_tokens;     /* tokens repeated from the previous chunk; 40 */
    bool by_headings;           /* start a new chunk at each heading (true) */
    hearth_embedder *embedder;  /* NULL: no vectors (BM25 only); borrowed. Token counts then come from
                                   its tokenizer, else about 1 token per word */
    const char *embed_model;    /* the embedder's model path, recorded so searches can load it */
    const char *attributes;     /* JSON object given to every document ingested (may be NULL) */
    bool prune;                 /* remove documents under an ingested folder that no longer exist (true) */
    bool force;                 /* re-ingest even unchanged documents (false) */
    hearth_doc_params doc;      /* size limits */
    int64_t index_min_vectors;  /* after an ingestion that changed vectors, build the HNSW index when the
                                   collection holds at least this many (20000); 0: never */
    int index_threads;          /* threads for that build; 0: all CPUs */
    hearth_rag_file_fn on_file; /* may be NULL */
    void *user;
    const volatile int *cancel; /* non-zero: stop after the current document */
} hearth_rag_ingest_params;

hearth_rag_ingest_params hearth_rag_ingest_default_params(void);

typedef struct hearth_rag_ingest_stats {
    int64_t n_files, n_added, n_updated, n_unchanged, n_removed, n_failed;
    int64_t n_chunks;        /* chunks written */
    int64_t text_bytes;      /* text bytes of the documents written */
    int64_t file_bytes;      /* file bytes of the documents read */
    double seconds;
} hearth_rag_ingest_stats;

/* Ingests files and folders (recursively; files of a known kind only —
 * .txt .md .html .pdf .docx ...; hidden entries skipped). A file that fails
 * is reported (FAILED) and the rest goes on: the call still returns
 * HEARTH_OK. It fails only when the collection cannot be written, on a
 * dimension mismatch (the embedder's n_embd is not the collection's), or when
 * a path given does not exist and was never ingested. */
hearth_status hearth_rag_ingest(hearth_rag *r, const char *const *paths, size_t n_paths,
                                const hearth_rag_ingest_params *p, hearth_rag_ingest_stats *stats);

/* Ingests one parsed document under a source name (a server's file id, a
 * URL...), replacing any document of that name. hash: a content hash (hex)
 * for the unchanged check, or NULL to always write. *n_chunks may be NULL. */
hearth_status hearth_rag_ingest_doc(hearth_rag *r, const char *source, const hearth_doc *doc, const char *hash,
                                    int64_t file_bytes, const hearth_rag_ingest_params *p, hearth_rag_event *event,
                                    int64_t *n_chunks);

/* Adds one item: kind "text" or "image", its text (a caption, a path; may
 * be ""), and optionally its vector (dim floats, normalized here; the
 * collection's dimension is set by the first vector and checked after).
 * Items of one source are numbered in order; *chunk gets the number. */
hearth_status hearth_rag_add_item(hearth_rag *r, const char *source, const char *kind, const char *text,
                                  const float *vec, int32_t dim, const char *attributes, int64_t *chunk);

/* Builds the collection's HNSW index (hearth/index.h: inner product over its
 * unit vectors, M 16, ef_construction 200) and saves it beside the
 * collection file (NAME.hearth-rag-hnsw-GEN). It is a cache: dense searches
 * without a filter use it while no vector has changed since (GEN counts the
 * writes); otherwise, and for filtered searches, they scan exactly. Does
 * nothing when the index is current. n_threads 0: all CPUs. */
hearth_status hearth_rag_build_index(hearth_rag *r, int n_threads);

/* Removes a document (all its chunks). HEARTH_ERR_NOT_FOUND when absent. */
hearth_status hearth_rag_remove(hearth_rag *r, const char *source);

typedef struct hearth_rag_doc_info {
    char *source;        /* owned */
    char *format;        /* owned: "pdf", "text"... or the item kind */
    char *attributes;    /* owned JSON object text or NULL */
    char hash[65];
    int64_t n_chunks, file_bytes, text_bytes;
    double ingested;     /* unix seconds */
} hearth_rag_doc_info;
/* Every document, ordered by source; free with hearth_rag_docs_free. */
hearth_status hearth_rag_docs(hearth_rag *r, hearth_rag_doc_info **docs, size_t *n);
void hearth_rag_docs_free(hearth_rag_doc_info *docs, size_t n);

/* ---- search ----------------------------------------------------------------- */
typedef enum hearth_rag_mode {
    HEARTH_RAG_HYBRID = 0,   /* BM25 + dense by RRF; BM25 alone when there is no embedder or no vectors */
    HEARTH_RAG_BM25,
    HEARTH_RAG_DENSE,
} hearth_rag_mode;

const char *hearth_rag_mode_name(hearth_rag_mode m);
hearth_status hearth_rag_mode_parse(const char *s, hearth_rag_mode *out);

/* ---- re-ranking with a cross-encoder -------------------------------------------
 * A BERT-style encoder with a classification head (GGUF tensors cls.weight /
 * cls.bias and/or cls.output.weight / cls.output.bias; bert.pooling_type 4 =
 * rank), as llama.cpp's rerank pooling computes it: the pair is tokenized as
 * [CLS] query [SEP] document (BOS, query, EOS if the vocab adds one, SEP if
 * it adds one, document, EOS if it adds one), the first token's final state
 * h goes through tanh(cls.weight h + cls.bias), then cls.output; the score is
 * the first output (a logit: higher is more relevant). */
typedef struct hearth_rag_reranker hearth_rag_reranker;

/* HEARTH_ERR_UNSUPPORTED when m is not an encoder or has no classification
 * head. The model is borrowed (must outlive the reranker). One thread at a
 * time per reranker. */
hearth_status hearth_rag_reranker_create(const hearth_model *m, int n_threads, hearth_rag_reranker **out);
void hearth_rag_reranker_free(hearth_rag_reranker *r);   /* NULL is a no-op */
/* The relevance score of doc for query; a document too long for the model's
 * context is cut (its first tokens are scored). */
hearth_status hearth_rag_rerank_score(hearth_rag_reranker *r, const char *query, const char *doc, float *score);

typedef struct hearth_rag_search_params {
    int32_t k;                  /* results; 10 */
    hearth_rag_mode mode;       /* HYBRID */
    float w_bm25, w_dense;      /* RRF weights; 1, 1 */
    int32_t rrf_k;              /* 60 */
    int32_t n_candidates;       /* per list before fusion; 0: max(50, 4k) */
    double min_score;           /* drop results scoring below it (the final score's scale: RRF, BM25 or
                                   cosine); 0: none */
    const char *filter;         /* filter JSON (see above) or NULL; malformed: HEARTH_ERR_INVALID_ARG */
    hearth_embedder *embedder;  /* for dense/hybrid; borrowed; its n_embd must equal the collection's */
    hearth_rag_reranker *reranker;  /* NULL: none. Else the best n_rerank fused results are scored by it and
                                       ordered by that score (the final score; min_score applies to it) */
    int32_t n_rerank;           /* candidates re-ranked; 0: max(20, 2k) */
} hearth_rag_search_params;

hearth_rag_search_params hearth_rag_search_default_params(void);

typedef struct hearth_rag_hit {
    char *source;            /* owned */
    int64_t chunk;           /* chunk number within its document, from 0 */
    double score;            /* final score (higher is better) */
    double bm25, dense;      /* the two lists' own scores (BM25: -bm25(), higher better; dense: cosine) */
    double fused;            /* the score before re-ranking (RRF, or the single list's) */
    int32_t bm25_rank, dense_rank;   /* 1-based; 0: not in that list */
    char *text;              /* owned */
    int32_t page;            /* 1-based; 0: no pages */
    int64_t char_start, char_end;    /* byte offsets into the document's text (doc.h) */
    char kind[8];            /* "text" / "image" */
    char *heading;           /* owned: the section's heading path ("A > B"), or NULL */
    char *attributes;        /* owned JSON object text of its document, or NULL */
} hearth_rag_hit;

typedef struct hearth_rag_results {
    hearth_rag_hit *hits;
    size_t n;
    hearth_rag_mode mode;    /* the mode actually used (HYBRID falls back to BM25 without vectors) */
} hearth_rag_results;

hearth_status hearth_rag_search(hearth_rag *r, const char *query, const hearth_rag_search_params *p,
                                hearth_rag_results *out);
/* Dense search with a given query vector (an image's embedding...). */
hearth_status hearth_rag_search_vector(hearth_rag *r, const float *vec, int32_t dim, const hearth_rag_search_params *p,
                                       hearth_rag_results *out);
void hearth_rag_results_clear(hearth_rag_results *res);   /* NULL is a no-op */

/* ---- answers with sources ---------------------------------------------------- */
/* The system message that asks for cited answers, and the user message with
 * the hits as numbered context ("[1] (source, page 3)\ntext") and the
 * question. Both malloc'd (caller frees). */
hearth_status hearth_rag_prompt(const char *question, const hearth_rag_hit *hits, size_t n, char **system_msg,
                                char **user_msg);

typedef struct hearth_rag_answer {
    char *text;                  /* owned */
    hearth_rag_results sources;  /* the context given, numbered from 1 in order */
    bool *cited;                 /* owned, sources.n: the answer cites [i+1] */
    hearth_stop_reason stop_reason;
    int32_t n_prompt, n_generated;
} hearth_rag_answer;

typedef struct hearth_rag_ask_params {
    hearth_rag_search_params search;   /* k defaults to 4 here */
    hearth_generate_params gen;        /* max_tokens 256, temp 0 (greedy) */
} hearth_rag_ask_params;

hearth_rag_ask_params hearth_rag_ask_default_params(void);

/* Retrieves, renders the prompt with the model's chat template (the Jinja
 * template when it has one, else its built-in format), generates in ctx and
 * returns the answer with its sources. */
hearth_status hearth_rag_ask(hearth_rag *r, hearth_context *ctx, const hearth_model *model, const char *question,
                             const hearth_rag_ask_params *p, hearth_rag_answer *out);
void hearth_rag_answer_clear(hearth_rag_answer *a);   /* NULL is a no-op */

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
