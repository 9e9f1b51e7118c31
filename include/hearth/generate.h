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

#include "hearth/model.h"
#include "hearth/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- generation --------------------------------------------------------- */
typedef enum hearth_stop_reason {
    HEARTH_STOP_NONE = 0,
    HEARTH_STOP_LENGTH = 1,
    HEARTH_STOP_EOS = 2,
    HEARTH_STOP_STRING = 3,
    HEARTH_STOP_CANCELLED = 4,
} hearth_stop_reason;

/* "length", "eos", "stop", "cancelled" ("" for NONE) */
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

/* ---- stop strings (used by the loop; public for servers that stream) ----
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

#ifdef __cplusplus
}
#endif
#endif
