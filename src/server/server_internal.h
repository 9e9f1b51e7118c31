/*
 * server_internal.h — what the server's files share: registered models and
 * their slots, jobs (one HTTP request each) and the queue, metrics, and the
 * JSON-output constraint.
 *
 * Ownership and threads: a job is reference-counted (the HTTP connection
 * holds one reference, the scheduler one per queued or running choice); its
 * output fields are written by the scheduler and read by the HTTP thread
 * under job->mu. Slots, contexts and samplers belong to the scheduler thread
 * only. The queue, the stopping flag and the slot gauges are under
 * server->mu.
 */
#ifndef HEARTH_SERVER_INTERNAL_H
#define HEARTH_SERVER_INTERNAL_H

#include "hearth/adapter.h"
#include "hearth/chat.h"
#include "hearth/clip.h"
#include "hearth/constraint.h"
#include "hearth/embed.h"
#include "hearth/generate.h"
#include "hearth/grammar.h"
#include "sample/grammar_cjson.h"
#include "hearth/model.h"
#include "hearth/sample.h"
#include "hearth/server.h"
#include "hearth/tool_call.h"
#include "core/buf.h"
#include "webui/webui.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>

/* ==== metrics (metrics.c) =========================================== */
#define MET_N_BUCKETS 14
#define MET_MAX_MODELS 16
typedef struct histogram {
    uint64_t counts[MET_N_BUCKETS + 1];   /* per bucket, not cumulative; last: +Inf */
    double sum;
    uint64_t n;
} histogram;

typedef enum met_hist { MET_TTFT, MET_ITL, MET_E2E, MET_N_HIST } met_hist;

typedef struct met_model {   /* the series of one model (label model="...") */
    char name[128];
    uint64_t tokens_in, tokens_out, prefix_reused;
    histogram h[MET_N_HIST];  /* time to first token, inter-token latency, end to end */
} met_model;

typedef struct metrics {
    pthread_mutex_t mu;
    struct { char endpoint[32]; int status; uint64_t n; } req[64];
    int n_req;
    met_model mod[MET_MAX_MODELS];
    int n_mod;
} metrics;
void metrics_init(metrics *m);
void metrics_request(metrics *m, const char *endpoint, int status);
void metrics_tokens(metrics *m, const char *model, int64_t in, int64_t out, int64_t reused);
void metrics_observe(metrics *m, const char *model, met_hist which, double seconds);
/* Prometheus text; malloc'd (caller frees) */
char *metrics_render(hearth_server *s);
/* 1 when the server takes requests (not stopping, a model loaded);
 * *why gets a short reason either way (GET /ready, hearth_ready). */
int metrics_ready(hearth_server *s, const char **why);

/* ==== models and slots ======================================================= */
typedef struct srv_job srv_job;

typedef struct srv_slot {
    int idx;
    hearth_context *ctx;   /* slot 0's is the model's batch lead (threads, activations) */
    int32_t *cache;        /* tokens whose K/V are in ctx (n_cache == n_past) */
    int n_cache;
    size_t cap_cache;
    /* the adapter the cached K/V were computed under, by content: its digest
     * ("" for none) and scale; a cache is reused only under the same pair, so
     * a swapped adapter never meets K/V of the version before */
    char cache_digest[72];
    float cache_scale;
    const struct srv_lora *applied;   /* set on ctx (hearth_context_set_adapters), NULL: none */
    /* the sequence running in the slot (j == NULL: free) */
    srv_job *j;
    int choice;
    int n_prompt_done;     /* prompt tokens in the cache */
    bool generating;       /* prompt done: next_tok is to be decoded */
    int32_t next_tok;
    int n_gen;
    hearth_sequence *seq;  /* the per-token step: sampling, detokenizing, stops, constraint */
    hearth_constraint *con;   /* the output constraint (response_format), NULL: none */
    double t_last_used;
    double t_token;        /* when the sequence's last token came (inter-token latency) */
} srv_slot;

/* A served model or adapter is one loaded *version*: a swap loads a new one
 * and retires the old, which stays until its last request ends. refs counts
 * its users (jobs, and for a base the adapters loaded on it); it is taken
 * under server->mu while the version is live (not retired) and dropped
 * anywhere. The scheduler frees retired versions at refs 0. */
typedef struct srv_model {
    char name[128];
    char digest[72];       /* "sha256:<hex>" of the file */
    char *path;            /* the file */
    char ref[256];         /* the registry reference it was resolved from ("" for a path) */
    atomic_int refs;
    bool retired;          /* under server->mu: no new requests; freed at refs 0 */
    hearth_model *m;
    srv_slot *slots;       /* n_parallel; NULL for an embedding-only (encoder) model */
    bool embed_only;       /* an encoder (BERT): /v1/embeddings only */
    hearth_embedder *emb;  /* embeddings (created on first use for a generative model) */
    char **pieces;         /* token texts (for constraints), built on first use */
    hearth_grammar_vocab *gvocab;   /* the vocabulary's trie for grammar masks, built on first use */
    hearth_chat_policy *chat;   /* how conversations become prompts (hearth/chat.h) */
    hearth_clip *clip;     /* image encoder (--mmproj), NULL: the model reads no images (images.c) */
} srv_model;

/* an adapter loaded on one base version (an adapter given at startup is
 * loaded on every model it fits: one srv_lora each) */
typedef struct srv_lora {
    char name[128];
    char digest[72];       /* "sha256:<hex>" of the adapter file(s) */
    char base_digest[72];  /* the base it was made for, "" when not recorded */
    char *path;            /* GGUF file or PEFT folder */
    char ref[256];         /* the registry reference ("" for a path) */
    float scale;           /* --lora NAME=PATH:SCALE, default 1 */
    srv_model *base;       /* holds a reference */
    hearth_adapter *a;
    atomic_int refs;
    bool retired;
} srv_lora;

/* a --lora given before start: loaded on every fitting model by start */
typedef struct srv_lora_spec {
    char name[128];
    char *path;
    float scale;
} srv_lora_spec;

/* ==== jobs ===================================================================== */
typedef struct srv_logprob {
    int32_t id;
    float lp;
    int n_top;
    hearth_token_logprob top[20];
} srv_logprob;

typedef struct srv_choice {
    char *text;            /* emitted text (stop strings cut), NUL-terminated */
    size_t len, cap, sent; /* sent: bytes already streamed */
    srv_logprob *lps;
    size_t n_lps, cap_lps, lps_sent;
    int n_gen;
    const char *finish;    /* NULL while running: "stop", "length", "cancelled" */
    bool started;          /* streaming: the first chunk (role) went out */
    hearth_tool_parser *tp;   /* streaming with tools: the reply's calls so far (tool_calls.c) */
    bool finish_sent;
} srv_choice;

enum { JOB_CHAT, JOB_COMPLETION, JOB_EMBED };

struct srv_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int refs;
    atomic_int cancelled;  /* the client went away or the server stops */
    int kind;
    bool stream, include_usage;
    srv_model *model;      /* the version the request started on (a reference) */
    srv_lora *lora;        /* its adapter (a reference), NULL: none */
    char model_name[280];  /* as the request named it (echoed back) */
    char fingerprint[48];  /* system_fingerprint: the digests of the versions it runs on */
    char id[48];
    long created;
    /* the prompt */
    int32_t *prompt;
    int n_prompt;
    /* generation settings */
    hearth_sampler_params sp;
    hearth_logit_bias *bias;
    int max_tokens;
    char **stop;
    int n_stop;
    bool json_mode;
    hearth_grammar *grammar;   /* response_format json_schema or `grammar` (owned); NULL: none */
    int logprobs;          /* -1: off; else number of top alternatives */
    /* tools (tool_calls.c) */
    hearth_tools *tools;   /* the request's function tools; NULL: none */
    char *tools_json;      /* their JSON, for the chat template */
    int tool_choice;       /* TOOL_AUTO, TOOL_NONE, TOOL_REQUIRED, TOOL_NAMED */
    char tool_name[72];    /* TOOL_NAMED: the function */
    hearth_tool_format tool_fmt;
    /* output */
    int n;                 /* choices */
    srv_choice *ch;
    int n_running;         /* choices not finished */
    int n_queued;          /* choices waiting for a slot */
    bool done;
    int prompt_reused;     /* prompt tokens found in a slot's cache (first choice) */
    char *error;           /* set by the scheduler on failure */
    int error_status;      /* HTTP status of error (0: 500) */
    const char *error_code;/* OpenAI error code of error, or NULL */
    double t_enqueue, t_first;
    /* embeddings: inputs and results */
    int n_inputs;
    int32_t **in_ids;      /* token-id inputs (NULL for a text input) */
    int *in_n;
    char **in_text;        /* text inputs (NULL for token ids), tokenized by the embedder */
    float *embd;           /* (n_inputs, dim) */
    int dim;
    /* an image in the prompt (images.c): its n_image rows go before prompt[image_at] */
    hearth_image *image;   /* decoded on the HTTP thread; NULL: text only */
    int n_image, image_at;
    float *image_embd;     /* (n_image, n_embd), made by the scheduler */
    hearth_image **in_image;   /* /v1/embeddings: image inputs (NULL entries: text) */
    bool embd_rows;        /* /v1/embeddings "pooling":"none": an image's rows, not pooled */
};

srv_job *job_new(void);
void job_unref(srv_job *j);   /* frees at 0 */
/* appends text to choice c (job->mu held) */
void choice_append(srv_choice *c, const char *s, size_t n);

typedef struct vs_state vs_state;   /* files and vector stores (vector_stores.c) */
typedef struct cls_state cls_state; /* the image classifier (classify.c) */
typedef struct pr_state pr_state;   /* the prompt library (prompts.c) */

/* ==== the server ================================================================ */
typedef struct srv_qent { srv_job *j; int choice; } srv_qent;

struct hearth_server {
    hearth_server_params p;
    /* the versions loaded, retired ones included until freed (under mu; the
     * first live model is the default); adapters likewise */
    srv_model **models;
    int n_models;
    srv_lora **loras;
    int n_loras;
    srv_lora_spec *lora_specs;
    int n_lora_specs;
    pthread_mutex_t admin_mu;   /* one load / swap / unload at a time; guards reg */
    struct hearth_registry *reg;   /* serve --registry (NULL: none) */
    struct MHD_Daemon *httpd;
    int port;
    pthread_t sched_thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* scheduler wakes on new work */
    srv_qent *queue;            /* FIFO, queue_max entries */
    int q_len;
    atomic_int stopping;        /* 1: no new requests; 2: scheduler exits */
    atomic_int slots_busy;
    atomic_int kv_used;         /* tokens held in all slots' caches */
    atomic_int kv_total;
    metrics met;
    vs_state *vs;               /* files and vector stores (NULL: off) */
    cls_state *cls;             /* image classifier (NULL: off) */
    webui *ui;                  /* the web console's files (NULL: off) */
    pr_state *pr;               /* prompt library (NULL: off) */
};

/* scheduler (sched.c) */
void *sched_main(void *arg);
/* Queues every choice of j (takes one reference per choice). Returns 0, or
 * 429 when the queue is full, 503 when the server is stopping. */
int sched_enqueue(hearth_server *s, srv_job *j);

/* ==== the model table (server.c) and its admin API (admin_models.c) ============= */
/* Loads one base version (any thread; not yet in the table). digest: known
 * ("sha256:<hex>"), or NULL to hash the file. */
hearth_status srv_model_load(hearth_server *s, const char *name, const char *path, const char *digest,
                             srv_model **out);
/* Loads one adapter version on base (taking a base reference). */
hearth_status srv_lora_load(hearth_server *s, const char *name, const char *path, float scale, const char *digest,
                            srv_model *base, srv_lora **out);
void srv_model_free(hearth_server *s, srv_model *sm);   /* refs 0; scheduler thread once started */
void srv_lora_free(hearth_server *s, srv_lora *l);
/* the live version named name (s->mu held), NULL: none; base: that base's adapter */
srv_model *srv_find_model(hearth_server *s, const char *name);
srv_lora *srv_find_lora(hearth_server *s, const char *name, const srv_model *base);
/* s->mu held: appends; false when out of memory */
bool srv_table_add_model(hearth_server *s, srv_model *sm);
bool srv_table_add_lora(hearth_server *s, srv_lora *l);
/* scheduler thread: frees retired versions nobody uses any more */
void srv_reclaim(hearth_server *s);
/* "sha256:<hex>" of a file, or of a folder's regular files in name order */
hearth_status srv_digest_path(const char *path, char out[72]);

/* serve --registry: loads every aliased model, then adapter (before start) */
hearth_status srv_registry_serve_aliases(hearth_server *s);

bool admin_route(const char *url);   /* /admin/models... and /admin/aliases */
/* Answers one admin request: the HTTP status; *out the malloc'd JSON body.
 * auth: the Authorization header (NULL: none). */
int admin_handle(hearth_server *s, const char *method, const char *url, const char *auth, const char *body, size_t len,
                 char **out);

/* HTTP (http.c) */
hearth_status http_start(hearth_server *s);
void http_stop(hearth_server *s);
void http_quiesce(hearth_server *s);

/* request parsing and responses (api.c) */
typedef struct api_error {
    int status;            /* HTTP status */
    char message[512];
    const char *type;      /* "invalid_request_error", "not_found_error", ... */
    char param[64];        /* the field at fault, "" for none */
    const char *code;      /* NULL or e.g. "model_not_found" */
} api_error;
/* {"error":{...}} in OpenAI's shape; malloc'd */
char *api_error_body(const api_error *e);
/* Parses a /v1/chat/completions (kind JOB_CHAT), /v1/completions
 * (JOB_COMPLETION) or /v1/embeddings (JOB_EMBED) body into a job ready to
 * queue; NULL with *e filled on a bad request. */
srv_job *api_parse(hearth_server *s, int kind, const char *body, size_t len, api_error *e);
/* the whole response of a finished job (non-streaming); malloc'd */
char *api_response(const srv_job *j);
/* Streaming: appends to *out the SSE events for what the job produced
 * since the last call (job->mu held); *end set when the stream is over
 * (final chunk, usage if asked, "data: [DONE]" written). */
void api_stream_events(srv_job *j, hearth_buf *out, bool *end);
char *api_models(hearth_server *s);
/* fills *e (returns NULL), for the request readers of other files */
void *api_fail(api_error *e, int status, const char *param, const char *code, const char *msg);

/* ==== tool calls (tool_calls.c) ================================================ */
enum { TOOL_AUTO, TOOL_NONE, TOOL_REQUIRED, TOOL_NAMED };
/* `tools`, `tool_choice`, `parallel_tool_calls` of a chat request */
bool srv_tools_parse(srv_job *j, const cJSON *req, api_error *e);
/* whether the reply is read for calls */
bool srv_tools_on(const srv_job *j);
/* the history's calls: arguments are JSON objects that pass their tool's schema */
bool srv_tools_check_history(const srv_job *j, const cJSON *msgs, api_error *e);
/* a required call: j->grammar and *opening, the text the prompt ends with
 * (static; NULL: no call is forced); false (400) when the grammar fails */
bool srv_tools_force(srv_job *j, const char **opening, api_error *e);
/* non-streaming: the message's content / tool_calls and the finish reason */
void srv_tools_message(const srv_job *j, const srv_choice *c, cJSON *msg, const char **finish);
/* streaming: the delta for text[0..n) (and the end when fin); false with *err
 * (malloc'd) when a call is malformed or fails its schema */
bool srv_tools_delta(srv_job *j, srv_choice *c, const char *text, size_t n, bool fin, cJSON *delta,
                     const char **finish, char **err);

/* ==== images (images.c) ============================================================ */
/* base64 (standard or URL-safe, '=' optional, spaces and line breaks skipped) via
 * libsodium; a malloc'd buffer owned by the caller, or NULL when s is not base64 */
uint8_t *srv_base64_decode(const char *s, size_t len, size_t *n);
/* an image_url content part of param into j->image; "<image>" appended to text */
bool srv_image_part(srv_job *j, const cJSON *part, const char *param, hearth_buf *text, api_error *e);
/* j->prompt / n_prompt / image_at from the rendered conversation */
bool srv_image_tokenize(srv_job *j, const char *text, api_error *e);
/* input i of /v1/embeddings, an image_url object, into j->in_image[i] */
bool srv_embed_image_input(srv_job *j, int i, const cJSON *x, api_error *e);
/* scheduler thread: an image's vector (pooled: mean, L2-normalized) or rows */
hearth_status srv_embed_image(srv_model *sm, const hearth_image *img, bool pooled, float *out);
/* scheduler thread: j->image_embd (once per job) */
hearth_status srv_image_encode(srv_model *sm, srv_job *j);

/* ==== files, vector stores, grounded chat (vector_stores.c) ==================== */
hearth_status vs_create(const char *dir, const char *embed_model, int n_threads, vs_state **out);
void vs_free(vs_state *v);   /* NULL is a no-op */
/* true for /v1/files... and /v1/vector_stores... */
bool vs_route(const char *url);
const char *vs_endpoint(const char *url);   /* the metrics label */
/* Answers one request: returns the HTTP status; *out is the malloc'd body,
 * *out_ctype its type (NULL: JSON, NUL-terminated; else *out_len bytes). */
int vs_handle(hearth_server *s, const char *method, const char *url, const char *ctype, const char *body, size_t len,
              char **out, size_t *out_len, const char **out_ctype);
/* A chat request with a "file_search" tool: 0 when it has none (nothing
 * changed), 1 with *out_body the grounded request and *sources the JSON
 * array of its sources (both malloc'd), -1 with *e filled. */
int vs_ground(hearth_server *s, const char *body, size_t len, char **out_body, char **sources, api_error *e);
/* response (taken) with "sources" added, each marked "cited"; returns the new text */
char *vs_attach_sources(char *response, const char *sources);

/* ==== image classification (classify.c) ========================================== */
hearth_status cls_create(const char *path, cls_state **out);
void cls_free(cls_state *c);   /* NULL is a no-op */
bool cls_route(const char *url);   /* POST /v1/images/classify */
/* Answers one request: the HTTP status; *out the malloc'd JSON body. */
int cls_handle(hearth_server *s, const char *method, const char *ctype, const char *body, size_t len, char **out);

/* ==== the prompt library (prompts.c) ============================================= */
hearth_status pr_create(const char *db, const char *embed_model, const char *admin_token, int n_threads,
                        pr_state **out);
void pr_free(pr_state *p);   /* NULL is a no-op */
bool pr_route(const char *url);   /* /v1/prompts... */
/* Answers one request: the HTTP status; *out the malloc'd JSON body. auth: the
 * Authorization header (may be NULL). */
int pr_handle(hearth_server *s, const char *method, const char *url, const char *auth, const char *body, size_t len,
              char **out);
/* A chat request with a "prompt" member: 0 when it has none, 1 with *out_body
 * the rendered request (malloc'd), -1 with *e filled (400 naming the field). */
int pr_expand(hearth_server *s, const char *body, size_t len, char **out_body, api_error *e);

#endif
