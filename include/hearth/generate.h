/*
 * generate.h — the generation loop (prompt -> tokens -> text, streamed) and
 * built-in chat formats.
 *
 * Generation: tokenize the prompt (BOS as the vocab asks), check it fits the
 * context, prefill, then sample / decode until one of:
 *   "eos"       the model produced an end-of-generation token (unless ignore_eos)
 *   "stop"      the text reached one of the stop strings
 *   "length"    max_tokens were generated, or the context is full
 *   "cancelled" the cancel flag was set or the text callback returned false
 *
 * Streaming: on_text receives the generated text in pieces that are always
 * whole UTF-8 characters. Text that might be the start of a stop string is
 * held back until it is known not to be; a stop string and anything after
 * it are never emitted. The pieces concatenated equal the final text.
 *
 * One context, one generation at a time (the context's own rule).
 */
#ifndef HEARTH_GENERATE_H
#define HEARTH_GENERATE_H

#include "hearth/constraint.h"
#include "hearth/model.h"
#include "hearth/sample.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ---- generation --------------------------------------------------------- */
typedef enum hearth_stop_reason {
    HEARTH_STOP_NONE = 0,
    HEARTH_STOP_LENGTH = 1,
    HEARTH_STOP_EOS = 2,
    HEARTH_STOP_STRING = 3,
    HEARTH_STOP_CANCELLED = 4,
    HEARTH_STOP_CONSTRAINT = 5,   /* the constraint's value is complete (or was broken) */
} hearth_stop_reason;

/* "length", "eos", "stop", "cancelled", "constraint" ("" for NONE) */
const char *hearth_stop_reason_str(hearth_stop_reason r);

/* Receives whole-UTF-8 text; return false to stop generating (cancelled). */
typedef bool (*hearth_text_fn)(const char *text, size_t len, void *user);

typedef struct hearth_generate_params {
    hearth_sampler_params sampling;
    int32_t max_tokens;          /* 128; < 0: until EOS / stop / context full */
    bool ignore_eos;             /* keep going past end-of-generation tokens */
    const char *const *stop;     /* stop strings (borrowed for the call); may be NULL */
    size_t n_stop;
    bool add_special;            /* text prompts: add BOS/EOS as the vocab says (true) */
    bool parse_special;          /* text prompts: control-token text is parsed (false) */
    int32_t n_reuse;             /* the first n_reuse prompt ids are already in the context's
                                    KV cache (from an earlier call): only the rest is prefilled.
                                    0 (default): the context is cleared first. */
    /* embeddings inside the prompt (an image's, from hearth_clip_encode):
     * n_embd_rows rows of the model's n_embd floats decoded between prompt
     * ids [0, embd_at) and [embd_at, n); prompt_ids keep only the text's ids,
     * and nothing is reused from the cache. NULL (default): text only. */
    const float *embd;           /* borrowed for the call */
    int32_t n_embd_rows;
    int32_t embd_at;
    hearth_text_fn on_text;      /* may be NULL */
    void *user;
    const volatile int *cancel;  /* non-zero: stop at the next token (may be NULL) */
    hearth_constraint *constraint;   /* borrowed, advanced by the call (a fresh one per call); NULL: none */
} hearth_generate_params;

hearth_generate_params hearth_generate_default_params(void);

typedef struct hearth_generation {
    int32_t *prompt_ids;         /* owned; BOS included when added */
    size_t n_prompt;
    int32_t *ids;                /* owned; every sampled token, including an end-of-generation
                                    token that stopped it (it has no text) */
    size_t n_ids;
    float *logprobs;             /* owned; n_ids: log-softmax of the raw logits at each id */
    char *text;                  /* owned, NUL-terminated: the generated text (stop string cut) */
    size_t text_len;
    hearth_stop_reason stop_reason;
    int32_t n_prefilled;         /* prompt tokens actually decoded (n_prompt - reused) */
    double t_prefill_s;          /* seconds spent prefilling */
    double t_generate_s;         /* seconds spent sampling / decoding after the prompt */
} hearth_generation;

/* Generates a continuation of prompt (len bytes). On success *out holds the
 * result (free with hearth_generation_clear); on failure *out is empty.
 * Errors: HEARTH_ERR_RANGE "prompt is N tokens, context is M" when the prompt
 * does not fit; HEARTH_ERR_INVALID_ARG for an empty prompt or bad settings;
 * decode and tokenizer errors pass through. */
hearth_status hearth_generate(hearth_context *ctx, const hearth_model *model, const char *prompt, size_t len,
                              const hearth_generate_params *p, hearth_generation *out);
/* Same from prompt ids (no tokenizing; add_special/parse_special unused). */
hearth_status hearth_generate_ids(hearth_context *ctx, const hearth_model *model, const int32_t *ids, size_t n,
                                  const hearth_generate_params *p, hearth_generation *out);
void hearth_generation_clear(hearth_generation *g);   /* frees and zeroes; NULL is a no-op */

/* ---- the sequence step ----------------------------------------------------
 * What happens to one sequence after each forward pass, shared by
 * hearth_generate and the server's scheduler (which batches many sequences
 * and calls this once per sequence per step):
 *
 *   sample (logits -> token; a constraint masks refused tokens)
 *   -> end-of-generation? (stop "eos", unless ignore_eos)
 *   -> detokenize (streaming-safe: a UTF-8 character split across tokens is
 *      held back until complete)
 *   -> constraint advance (stop "constraint" once its value is DONE)
 *   -> stop strings (text that may start one is held back; stop "stop")
 *   -> max_tokens (stop "length")
 *   -> the text to flush now
 *
 * The caller owns the model forward and the context: it feeds the logits,
 * decodes the returned token when the sequence goes on, and decides about
 * context space and cancellation itself. At the end it calls
 * hearth_sequence_finish for the text still held back. */
typedef struct hearth_sequence hearth_sequence;

typedef struct hearth_sequence_params {
    hearth_sampler_params sampling;
    int32_t max_tokens;          /* < 0: no limit (the default) */
    bool ignore_eos;             /* end-of-generation tokens do not stop (their text is empty) */
    const char *const *stop;     /* stop strings, copied at create; may be NULL */
    size_t n_stop;
    hearth_constraint *constraint;   /* borrowed (outlives the sequence); NULL: none */
    const char *const *token_texts;  /* optional, borrowed: n_vocab NUL-terminated token texts
                                        (hearth_token_to_piece, no special) to spare recomputing
                                        them when a constraint masks the vocabulary */
} hearth_sequence_params;

hearth_sequence_params hearth_sequence_default_params(void);

/* One step's outcome. */
typedef struct hearth_sequence_token {
    int32_t id;                  /* the sampled token; -1 when none could be sampled (every
                                    logit -inf/NaN, or the constraint refused them all) */
    float logprob;               /* log-softmax of the raw logits at id */
    bool eog;                    /* id is an end-of-generation token */
    const char *text;            /* text to emit now (borrowed until the next call) */
    size_t len;
    hearth_stop_reason stop;     /* NONE: go on (decode id next) */
} hearth_sequence_token;

/* v: the model's vocabulary, n_vocab: the logits' length. *out is owned by
 * the caller (hearth_sequence_free). */
hearth_status hearth_sequence_create(const hearth_vocab *v, int32_t n_vocab, const hearth_sequence_params *p,
                                     hearth_sequence **out);
void hearth_sequence_free(hearth_sequence *s);   /* NULL is a no-op */
/* Adds prompt tokens to the sampler's history (repetition penalties). */
void hearth_sequence_accept_prompt(hearth_sequence *s, const int32_t *ids, size_t n);
/* One step from the logits of the sequence's last position. */
void hearth_sequence_step(hearth_sequence *s, const float *logits, hearth_sequence_token *out);
/* The end (call it unless the last stop was "stop" or the caller cancelled):
 * returns the text still held back (borrowed until the next call), which
 * was not a stop string — unless a stop string completes in it, in which
 * case the text before it is returned and *stop (when not NULL) is set to
 * HEARTH_STOP_STRING. */
size_t hearth_sequence_finish(hearth_sequence *s, const char **text, hearth_stop_reason *stop);
/* The sampler (for hearth_sampler_last_top and the seed); borrowed. */
hearth_sampler *hearth_sequence_sampler(hearth_sequence *s);
int32_t hearth_sequence_n_generated(const hearth_sequence *s);

/* ---- stop strings (used by the sequence step; public for servers that stream) ----
 * Feed text as it is produced; it comes back in *emit (borrowed, valid until
 * the next call) minus anything that may still turn into a stop string. */
typedef struct hearth_stop_matcher hearth_stop_matcher;
hearth_stop_matcher *hearth_stop_matcher_create(const char *const *stop, size_t n_stop);
void hearth_stop_matcher_free(hearth_stop_matcher *m);   /* NULL is a no-op */
/* Returns true when a stop string was found: *emit then holds the text
 * before it, and the matcher is finished. */
bool hearth_stop_matcher_push(hearth_stop_matcher *m, const char *text, size_t len, const char **emit,
                              size_t *emit_len);
/* At the end: everything held back (it was not a stop string). */
void hearth_stop_matcher_flush(hearth_stop_matcher *m, const char **emit, size_t *emit_len);

/* ---- chat formats --------------------------------------------------------
 * Built-in renderings of common chat templates, for models whose template
 * the Jinja engine does not handle (or when it is not wanted). Each writes
 * exactly what the family's Hugging Face template writes for plain
 * system / user / assistant messages (no tools):
 *
 *   chatml      <|im_start|>role\n...<|im_end|>\n   (Qwen2, SmolLM, Hermes)
 *   llama2      <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>
 *   llama3      <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
 *   llama3.1    llama3 with the "Cutting Knowledge Date" system header
 *   mistral     <s>[INST]...[/INST]...</s>  (v3-tekken / Nemo: system joins the last user turn)
 *   mistral-v1  <s>[INST] ... [/INST]...</s>  (Mistral 7B v0.1/v0.2; system joins the first user turn)
 *   zephyr      <|system|>\n...</s>\n<|user|>\n...</s>\n<|assistant|>\n
 *   gemma       <start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n
 *               (no system role: a system message is put before the first user turn)
 *   phi3        <|user|>\n...<|end|>\n<|assistant|>\n  (Phi-3.5)
 *   deepseek-r1 <｜User｜>...<｜Assistant｜>...<｜end▁of▁sentence｜>
 *   alpaca      "<system>\n\n### Instruction:\n...\n\n### Response:\n" — the
 *               fallback for models without a template; the default system
 *               text is HEARTH_ALPACA_SYSTEM.
 */
#define HEARTH_ALPACA_SYSTEM \
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."

typedef enum hearth_chat_format_kind {
    HEARTH_CHAT_ALPACA = 0,
    HEARTH_CHAT_CHATML,
    HEARTH_CHAT_LLAMA2,
    HEARTH_CHAT_LLAMA3,
    HEARTH_CHAT_LLAMA31,
    HEARTH_CHAT_MISTRAL,
    HEARTH_CHAT_MISTRAL_V1,
    HEARTH_CHAT_ZEPHYR,
    HEARTH_CHAT_GEMMA,
    HEARTH_CHAT_PHI3,
    HEARTH_CHAT_DEEPSEEK_R1,
    HEARTH_CHAT_N_KINDS
} hearth_chat_format_kind;

typedef struct hearth_chat_format {
    hearth_chat_format_kind kind;
    char bos[64];   /* BOS token text where the format writes it ("<s>"); "" for none */
    char eos[64];   /* EOS token text where the format writes it ("</s>") */
} hearth_chat_format;

typedef struct hearth_chat_message {
    const char *role;      /* "system", "user", "assistant" */
    const char *content;
} hearth_chat_message;

const char *hearth_chat_format_name(hearth_chat_format_kind k);   /* "chatml"... */
/* By name (as listed above); bos/eos default to "<s>" / "</s>".
 * HEARTH_ERR_NOT_FOUND with the list of names if unknown. */
hearth_status hearth_chat_format_from_name(const char *name, hearth_chat_format *out);
/* From a Jinja chat template's text (NULL: none) and, when that says
 * nothing, the vocab's special tokens (v may be NULL). Unknown templates
 * fall back to chatml when the vocab has <|im_start|>, else alpaca. */
hearth_chat_format hearth_chat_format_detect_template(const char *tmpl, const hearth_vocab *v);
/* The model's tokenizer.chat_template and vocab. */
hearth_chat_format hearth_chat_format_detect(const hearth_model *m);

/* Renders messages; *out is malloc'd, NUL-terminated, owned by the caller.
 * add_generation_prompt: end with the opening of an assistant turn.
 * HEARTH_ERR_INVALID_ARG for an unknown role or NULL content. */
hearth_status hearth_chat_format_apply(const hearth_chat_format *fmt, const hearth_chat_message *msgs, size_t n,
                                       bool add_generation_prompt, char **out);
/* Stop strings the format needs besides end-of-generation tokens (the
 * start of the next turn for formats without an end token); NULL-terminated,
 * static. */
const char *const *hearth_chat_format_stops(const hearth_chat_format *fmt);
/* Tokenizes a rendered conversation: special-token text is parsed, and BOS
 * is added as the vocab says unless the text already starts with it. */
hearth_status hearth_chat_tokenize(const hearth_vocab *v, const char *text, int32_t **ids, size_t *n_ids);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
