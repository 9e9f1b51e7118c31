/*
 * server.h — `hearth serve`: an OpenAI-compatible HTTP server with continuous
 * batching (libmicrohttpd).
 *
 * Endpoints: POST /v1/chat/completions, POST /v1/completions (streaming with
 * server-sent events or not), POST /v1/embeddings, GET /v1/models,
 * GET /health (alive), GET /ready (200 only while a model is loaded and the
 * server is not stopping, else 503), GET /metrics (Prometheus text format),
 * the web console at / (ui/, built in; see ui_dir, ui_off); with rag_dir,
 * OpenAI's files and vector stores (src/server/vector_stores.c) and grounded
 * chat (a "file_search" tool in a chat request).
 *
 * Threads: the server is an explicit component with its own threads — the
 * HTTP threads of libmicrohttpd (one per connection) parse requests, enqueue
 * them and stream results; ONE scheduler thread owns every model forward.
 * Each step of the scheduler runs a single batched forward
 * (hearth_decode_batch) over all active sequences of a model: prompt chunks
 * of new requests and the next token of running ones. Sequences join and
 * leave between steps.
 *
 * Memory: every model gets n_parallel slots, each a context of
 * n_ctx_per_seq tokens (the KV-cache pool is divided evenly among them). A
 * free slot keeps its cache: a new request with the same model and adapter
 * reuses the longest cached prefix (e.g. a shared system prompt).
 *
 * Lifetime: create, add models, start, ..., stop (graceful: stops accepting,
 * lets running requests finish for up to drain_s seconds, cancels the rest),
 * free. The functions are called from one thread.
 */
#ifndef HEARTH_SERVER_H
#define HEARTH_SERVER_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_server hearth_server;

typedef struct hearth_server_params {
    const char *host;         /* "127.0.0.1"; an IPv4 address */
    int port;                 /* 8080; 0: any free port (see hearth_server_port) */
    int n_threads;            /* forward threads; 0: all CPUs */
    int n_parallel;           /* slots (sequences decoded together) per model; 4 */
    int n_ctx_per_seq;        /* context of each slot; 0: the model's, at most 2048 */
    int n_batch;              /* max tokens per forward step (prompt chunks + decodes); 256 */
    int queue_max;            /* requests waiting for a slot before 429; 64 */
    int timeout_s;            /* idle connection timeout, seconds; 60 */
    int max_connections;      /* concurrent HTTP connections; 256 */
    size_t max_body;          /* request body limit in bytes (413 above); 4 MiB */
    double drain_s;           /* graceful stop: how long running requests may finish; 10 */
    const char *rag_dir;      /* files and vector stores (/v1/files, /v1/vector_stores) kept in this
                                 folder (hearth rag's collections); NULL: those endpoints are off */
    const char *rag_embed;    /* embedding model for vector stores (NULL: BM25 search only) */
    const char *classifier;   /* image classifier GGUF (hearth vision train) served at
                                 POST /v1/images/classify; NULL: none */
    const char *admin_token;  /* bearer token of the admin API (/admin/models..., see below);
                                 NULL: that API answers 404 */
    const char *registry_dir; /* a model repository (hearth/registry.h): at start every version an
                                 alias points at is served as "NAME@ALIAS" (adapters on the served
                                 base their lineage names); the admin API loads by reference and
                                 moves aliases (POST /admin/aliases). NULL: none */
    const char *ui_dir;       /* the web console (chat playground at /) read from this folder on every
                                 request (developing the pages); NULL: the files built into hearth */
    bool ui_off;              /* true: no web console (GET / is 404) */
    const char *prompts_db;   /* prompt library database (include/hearth/prompt_library.h): /v1/prompts
                                 and the "prompt" field of chat completions; NULL: off. Moving the
                                 `production` label there needs admin_token */
    const char *prompts_embed;   /* embedding model for few-shot selection (NULL: none) */
} hearth_server_params;

hearth_server_params hearth_server_default_params(void);

hearth_status hearth_server_create(const hearth_server_params *p, hearth_server **out);
/* Loads a model under name (what requests put in "model"). The first model
 * added is the default for requests that name none. */
hearth_status hearth_server_add_model(hearth_server *s, const char *name, const char *path);
/* Attaches an image encoder (llama.cpp mmproj GGUF, include/hearth/clip.h) to
 * the model registered as model (NULL: the first): chat messages may then
 * carry one image_url part (a data URL), and /v1/embeddings image inputs.
 * Fails when the encoder's n_embd is not the model's. */
hearth_status hearth_server_add_mmproj(hearth_server *s, const char *model, const char *path);
/* Registers a LoRA adapter under name, requested as "base+name". */
hearth_status hearth_server_add_lora(hearth_server *s, const char *name, const char *path);

/* ==== hot load, swap and unload =================================================
 * Safe at any time, from any thread, while requests run. Every served model
 * and adapter is one loaded *version* (a file with its sha256 digest): a
 * request pins the versions it starts on and finishes on them; a swap loads
 * the new version beside the old, sends new requests to it and frees the old
 * when its last request ends; unload stops new requests at once and frees
 * likewise. Cached prompt prefixes are keyed by the adapter's digest, so no
 * request reuses K/V computed under another version. The same operations
 * are the admin HTTP API when admin_token is set: POST /admin/models/load,
 * /admin/models/swap, /admin/models/unload (JSON bodies with these fields),
 * GET /admin/models. */
typedef struct hearth_server_load_params {
    const char *name;         /* served name (what requests put in "model") */
    const char *path;         /* a GGUF file (an adapter: GGUF or PEFT folder) */
    const char *base;         /* an adapter: the served model it goes on; NULL: a base model */
    float scale;              /* an adapter's scale; 1 */
    const char *digest;       /* "sha256:<hex>" when known; NULL: computed from the file */
    const char *base_digest;  /* an adapter: the digest of the base it was made for; a loaded base
                                 with another digest is refused (NULL: not checked) */
    const char *ref;          /* a registry reference: with registry_dir and no path, the version
                                 loaded (its digest and lineage too); shown in /v1/models */
    bool replace;             /* swap: replace the loaded version of name; false: name must be new */
} hearth_server_load_params;

hearth_server_load_params hearth_server_load_default_params(void);
/* Loads (or, with replace, swaps in) one version. Errors: HEARTH_ERR_NOT_FOUND
 * (replace of a name not loaded, or an unknown base), HEARTH_ERR_INVALID_ARG
 * (a name already loaded without replace; a base digest that does not match),
 * and the loaders' own. A base model swapped in takes its adapters along
 * (each reloaded on it unless its recorded base digest differs). */
hearth_status hearth_server_load(hearth_server *s, const hearth_server_load_params *p);
/* Unloads a model (with its adapters) or, with base, the adapter name on it. */
hearth_status hearth_server_unload(hearth_server *s, const char *name, const char *base);

/* Binds and starts the HTTP and scheduler threads. */
hearth_status hearth_server_start(hearth_server *s);
int hearth_server_port(const hearth_server *s);   /* the bound port (after start) */
/* Graceful stop (see above); a no-op when not started. */
void hearth_server_stop(hearth_server *s);
void hearth_server_free(hearth_server *s);   /* stops first; NULL is a no-op */

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
