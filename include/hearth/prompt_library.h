/*
 * prompt_library.h — a versioned prompt library: prompts with immutable
 * numbered versions and movable labels, rendered into chat messages by
 * hearth's sandboxed Jinja engine, with few-shot examples chosen per request
 * by embedding similarity.
 *
 * A prompt version is a spec (YAML or JSON text; JSON is tried when the text
 * starts with '{'):
 *
 *   system: "You are a support agent for {{ product }}."      # Jinja (optional)
 *   template: "Customer: {{ question }}"                       # Jinja (required): the user turn
 *   variables:                                                 # typed inputs
 *     product: string                                          #   string integer number boolean array object
 *     question: {type: string, description: "...", default: "..."}
 *   steps: ["Find the product", "Answer in two sentences"]     # task decomposition (Jinja each)
 *   reasoning: thinking          # chain of thought inside <thinking>...</thinking>, kept apart
 *   output_schema: {type: object, ...}   # JSON Schema of the answer: an instruction and
 *                                        # response_format json_schema (constrained decoding)
 *   model: hearth-default        # model and sampling settings (the request may override)
 *   sampling: {temperature: 0.2, top_p: 0.9, max_tokens: 200, seed: 1}   # as OpenAI names them:
 *                                # temperature top_p max_tokens seed stop presence_penalty frequency_penalty
 *   examples:                    # few-shot examples: user / assistant turns before the request
 *     - {input: "How do I reset my password?", output: "..."}
 *   few_shot: {k: 2, by: question, mmr: 0.5}   # the k examples whose input is nearest to
 *                                              # variable `question` (mmr: maximal marginal
 *                                              # relevance with that lambda; absent or 1: plain kNN)
 *
 * Every Jinja text is parsed when the version is added: a syntax error
 * names the field and the line. Versions are numbered 1, 2, ... per prompt
 * and never change (the database refuses updates). Labels (`production`,
 * `staging`, any name) point at a version and move; each move is kept in the
 * label history and reported to an optional callback (the gateway appends it
 * to its audit chain). `production` is protected: only an admin moves it.
 *
 * References: "NAME" (the latest version), "NAME@LABEL", "NAME@3" (version 3).
 * Names and labels: 1-64 characters of [A-Za-z0-9._-], starting with a
 * letter or digit; a label is not all digits.
 *
 * Storage: one SQLite file (WAL). Threads: a library handle may be used by
 * several threads at once; an embedder passed in is used by one call at a
 * time (the caller serialises).
 */
#ifndef HEARTH_PROMPT_LIBRARY_H
#define HEARTH_PROMPT_LIBRARY_H

#include "hearth/embed.h"
#include "hearth/generate.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_prompt_lib hearth_prompt_lib;

/* A label move, as reported to the callback (all strings borrowed for the call). */
typedef struct hearth_prompt_label_event {
    const char *name;
    const char *label;
    int32_t from_version;     /* 0 when the label is new */
    int32_t to_version;
    const char *actor;        /* who moved it ("" when unknown) */
    int64_t time_ms;          /* Unix time */
} hearth_prompt_label_event;

/* Called after a move is committed; a failure it reports is not undone,
 * the caller of hearth_prompt_label sees it as the call's status. */
typedef hearth_status (*hearth_prompt_label_fn)(const hearth_prompt_label_event *e, void *user);

/* Opens (creating when absent) the prompts database at path. *out is owned
 * by the caller. Errors: HEARTH_ERR_IO naming the file. */
hearth_status hearth_prompt_lib_open(const char *path, hearth_prompt_lib **out);
void hearth_prompt_lib_free(hearth_prompt_lib *lib);   /* NULL is a no-op */
/* Sets the label-move callback (NULL: none). Not while other threads use lib. */
void hearth_prompt_lib_on_label(hearth_prompt_lib *lib, hearth_prompt_label_fn fn, void *user);

/* Checks a spec without storing it: HEARTH_OK, or HEARTH_ERR_FORMAT with a
 * message naming the field (and the Jinja line). */
hearth_status hearth_prompt_spec_check(const char *spec, size_t len);

/* Adds a new version of prompt `name` (created on its first version).
 * author may be NULL (""). *version (may be NULL) receives its number. */
hearth_status hearth_prompt_add(hearth_prompt_lib *lib, const char *name, const char *spec, size_t len,
                                const char *author, int32_t *version);

/* true for labels only an admin may move ("production"). */
bool hearth_prompt_label_is_protected(const char *label);

/* Points `label` of prompt `name` at `version`. A protected label with admin
 * false: HEARTH_ERR_INVALID_ARG ("label production is protected..."); an
 * unknown prompt or version: HEARTH_ERR_NOT_FOUND. */
hearth_status hearth_prompt_label(hearth_prompt_lib *lib, const char *name, const char *label, int32_t version,
                                  const char *actor, bool admin);

/* JSON views; *out is malloc'd, owned by the caller.
 *   list:    [{"name", "latest", "labels": {"production": 2, ...}, "updated_ms"}]
 *   get:     {"name", "version", "author", "created_ms", "labels": [...], "spec": {...}}
 *   history: [{"label", "from", "to", "actor", "time_ms"}] oldest first
 *   versions:[{"version", "author", "created_ms"}] */
hearth_status hearth_prompt_list_json(hearth_prompt_lib *lib, char **out);
hearth_status hearth_prompt_get_json(hearth_prompt_lib *lib, const char *ref, char **out);
hearth_status hearth_prompt_history_json(hearth_prompt_lib *lib, const char *name, char **out);
hearth_status hearth_prompt_versions_json(hearth_prompt_lib *lib, const char *name, char **out);

typedef struct hearth_prompt_render_params {
    hearth_embedder *embedder;   /* needed when the version selects examples by similarity (else
                                    HEARTH_ERR_INVALID_ARG); NULL (default) otherwise */
    bool from_strings;           /* variables given as strings (a command line's k=v) are read as
                                    their declared type: "3" for an integer is 3 (default false) */
} hearth_prompt_render_params;

hearth_prompt_render_params hearth_prompt_render_default_params(void);

/* Renders prompt `ref` with variables (a JSON object text; NULL: none) into
 *   {"name", "version", "messages": [{"role", "content"}...], "model",
 *    "sampling": {...}, "response_format": {...} (with an output_schema),
 *    "reasoning": "TAG" (when set), "examples": [indices chosen]}
 * p may be NULL (defaults). Errors name the field as the API sees it
 * ("prompt.variables.question: ..."): HEARTH_ERR_NOT_FOUND unknown
 * prompt/label/version; HEARTH_ERR_INVALID_ARG a missing, unknown or
 * ill-typed variable; HEARTH_ERR_FORMAT a render error. */
hearth_status hearth_prompt_render_json(hearth_prompt_lib *lib, const char *ref, const char *variables,
                                        size_t len, const hearth_prompt_render_params *p, char **out);

/* A chat-completion request body with a "prompt": {"name", "label" or
 * "version", "variables"} member, rewritten into one without it: the
 * rendered messages (then the request's own "messages", if any), and the
 * prompt's model, sampling settings and response_format where the request
 * does not set them. A body without "prompt" is returned unchanged (a copy).
 * Errors as hearth_prompt_render_json, plus HEARTH_ERR_FORMAT for a body
 * that is not a JSON object or a "prompt" of the wrong shape. */
hearth_status hearth_prompt_expand_request(hearth_prompt_lib *lib, const char *body, size_t len,
                                           hearth_embedder *embedder, char **out);

/* ---- running a rendered prompt on a model ---------------------------------
 * A runner holds a context, the model's chat policy and (when a version has
 * an output_schema) the grammar vocabulary for constrained decoding. Sampling
 * reads the rendered "sampling" as the server reads a chat completion
 * (OpenAI's defaults: temperature 1, top_p 1; max_tokens 256 when unset).
 * One thread at a time per runner. */
typedef struct hearth_prompt_runner hearth_prompt_runner;

typedef struct hearth_prompt_runner_params {
    int32_t n_ctx;        /* 0: the model's training context, at most 4096 */
    int n_threads;        /* 0: all online CPUs */
    int64_t seed;         /* used when the prompt sets none; -1 (default): from the clock */
    float temperature;    /* used when the prompt sets none; < 0 (default): OpenAI's 1 */
    int32_t max_tokens;   /* used when the prompt sets none; 0 (default): 256 */
} hearth_prompt_runner_params;

hearth_prompt_runner_params hearth_prompt_runner_default_params(void);

/* m is borrowed and must outlive the runner. */
hearth_status hearth_prompt_runner_create(const hearth_model *m, const hearth_prompt_runner_params *p,
                                          hearth_prompt_runner **out);
void hearth_prompt_runner_free(hearth_prompt_runner *r);   /* NULL is a no-op */

typedef struct hearth_prompt_output {
    char *text;            /* the whole reply (owned) */
    char *reasoning;       /* the chain of thought when the version has `reasoning` ("" otherwise; owned) */
    char *answer;          /* the reply without it (owned) */
    int32_t n_prompt;      /* prompt tokens */
    int32_t n_generated;   /* generated tokens */
    double latency_ms;     /* wall time of the generation (prefill included) */
    hearth_stop_reason stop;
} hearth_prompt_output;

/* Generates the reply to a rendered prompt (hearth_prompt_render_json's
 * text). on_text (may be NULL) receives the reply as it is generated. */
hearth_status hearth_prompt_runner_run(hearth_prompt_runner *r, const char *rendered, hearth_text_fn on_text,
                                       void *user, hearth_prompt_output *out);
void hearth_prompt_output_clear(hearth_prompt_output *o);   /* frees and zeroes; NULL is a no-op */

/* ---- evaluation suites ------------------------------------------------------
 * A suite (YAML) runs cases across prompt versions and models:
 *
 *   prompts: [support@staging, support@production]   # references (or `prompt: REF`)
 *   models: [model.gguf]        # paths; relative to the suite's folder (params override)
 *   embedder: bge-small.gguf    # for few-shot selection and similar-to (optional)
 *   cases:
 *     - name: rotate
 *       vars: {question: "How do I rotate a key?"}
 *       assert:
 *         - contains: key                     # the answer (reasoning split off) contains it
 *         - equals: "..."                     # the whole answer, trimmed
 *         - regex: "^[A-Z]"                   # PCRE2, anywhere in the answer
 *         - is-json                           # the answer parses as JSON
 *         - matches-schema: {type: object}    # or `true`: the version's output_schema
 *         - similar-to: "Open the key page"   # cosine of the embeddings >= threshold
 *           threshold: 0.8
 *         - max-latency-ms: 2000
 *         - max-tokens: 64                    # generated tokens
 *
 * Results: {"suite", "prompts", "models", "summary": {"runs", "passed",
 * "failed"}, "results": [{"case", "prompt", "version", "model", "passed",
 * "answer", "reasoning", "latency_ms", "tokens", "error", "assertions":
 * [{"type", "passed", "detail"}]}]}. A case that cannot be rendered or run
 * (a missing variable...) fails with "error" set. */
typedef struct hearth_prompt_eval_params {
    const char *const *models;   /* overrides the suite's models when n_models > 0 (borrowed) */
    int n_models;
    const char *default_model;   /* when neither gives one (may be NULL) */
    const char *embedder;        /* overrides the suite's embedder (may be NULL) */
    const char *base_dir;        /* relative paths in the suite resolve here (NULL: as given) */
    int n_threads;               /* 0: all online CPUs */
    int64_t seed;                /* sampling seed when the prompt sets none (default 1) */
    float temperature;           /* when the prompt sets none (default 0: greedy, repeatable) */
    /* called after each run with its result object as JSON text (may be NULL) */
    void (*on_result)(const char *result_json, void *user);
    void *user;
} hearth_prompt_eval_params;

hearth_prompt_eval_params hearth_prompt_eval_default_params(void);

/* Runs the suite (YAML text). *out receives the results JSON (owned). A
 * failing assertion is not an error (see "summary"); a malformed suite is
 * HEARTH_ERR_FORMAT naming the place ("cases[2].assert[0]: ..."), an
 * unknown prompt HEARTH_ERR_NOT_FOUND, a model that does not load its error. */
hearth_status hearth_prompt_eval(hearth_prompt_lib *lib, const char *suite, size_t len,
                                 const hearth_prompt_eval_params *p, char **out);
/* A self-contained HTML page (inline CSS, no scripts) of eval results. */
hearth_status hearth_prompt_eval_html(const char *results_json, char **out);

/* ---- building blocks ---------------------------------------------------- */
/* Few-shot selection: embeds query and the n texts, and writes to idx[] the
 * indices of the k chosen (k > n: n), best first: the nearest by cosine
 * similarity when lambda >= 1; otherwise maximal marginal relevance, each
 * next pick maximising lambda * sim(query, t) - (1 - lambda) * max sim(t, picked).
 * *n_out receives how many were written. */
hearth_status hearth_prompt_select_examples(hearth_embedder *e, const char *query, const char *const *texts, int n,
                                            int k, float lambda, int *idx, int *n_out);

/* Splits a reply written in the chain-of-thought format of tag TAG:
 * *reasoning gets the text inside the first <TAG>...</TAG> (trimmed; "" if
 * none), *answer the rest (trimmed). Both malloc'd, owned by the caller. An
 * unclosed <TAG> counts the whole rest as reasoning (the answer is ""). */
hearth_status hearth_prompt_split_reasoning(const char *text, const char *tag, char **reasoning, char **answer);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
