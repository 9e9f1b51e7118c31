/*
 * tokenizer.h — tokenizers built from a model's GGUF metadata
 * (tokenizer.ggml.*): SentencePiece-style ("llama"), byte-level BPE ("gpt2")
 * with the pre-tokenizer chosen by tokenizer.ggml.pre, and WordPiece ("bert").
 *
 * A hearth_vocab is immutable after loading and may be used from many
 * threads at once.
 */
#ifndef HEARTH_TOKENIZER_H
#define HEARTH_TOKENIZER_H

#include "hearth/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_vocab hearth_vocab;

typedef enum hearth_vocab_kind {
    HEARTH_VOCAB_SPM = 1,   /* tokenizer.ggml.model = "llama" */
    HEARTH_VOCAB_BPE = 2,   /* "gpt2" */
    HEARTH_VOCAB_WPM = 3,   /* "bert" */
} hearth_vocab_kind;

/* token attributes (from tokenizer.ggml.token_type) */
typedef enum hearth_token_type {
    HEARTH_TOKEN_NORMAL = 1,
    HEARTH_TOKEN_UNKNOWN = 2,
    HEARTH_TOKEN_CONTROL = 3,
    HEARTH_TOKEN_USER_DEFINED = 4,
    HEARTH_TOKEN_UNUSED = 5,
    HEARTH_TOKEN_BYTE = 6,
} hearth_token_type;

/* Builds the tokenizer from g's metadata. g may be closed afterwards (the
 * vocab copies what it needs). */
hearth_status hearth_vocab_load(const hearth_gguf *g, hearth_vocab **out);
hearth_status hearth_vocab_load_file(const char *path, hearth_vocab **out);
void hearth_vocab_free(hearth_vocab *v);   /* NULL is a no-op */

hearth_vocab_kind hearth_vocab_get_kind(const hearth_vocab *v);
int32_t hearth_vocab_n_tokens(const hearth_vocab *v);
/* special token ids; -1 when the vocab has none */
int32_t hearth_vocab_bos(const hearth_vocab *v);
int32_t hearth_vocab_eos(const hearth_vocab *v);
int32_t hearth_vocab_eot(const hearth_vocab *v);
int32_t hearth_vocab_unk(const hearth_vocab *v);
int32_t hearth_vocab_pad(const hearth_vocab *v);
int32_t hearth_vocab_sep(const hearth_vocab *v);
int32_t hearth_vocab_cls(const hearth_vocab *v);
bool hearth_vocab_add_bos(const hearth_vocab *v);
bool hearth_vocab_add_eos(const hearth_vocab *v);
/* true for tokens that end generation (EOS, EOT and other end-of-generation ids) */
bool hearth_vocab_is_eog(const hearth_vocab *v, int32_t id);
hearth_token_type hearth_vocab_token_type(const hearth_vocab *v, int32_t id);
/* The token's text as stored in the vocab (e.g. "▁the", "Ġthe", "<0x0A>").
 * Borrowed; NUL-terminated. NULL if id is out of range. */
const char *hearth_vocab_token_text(const hearth_vocab *v, int32_t id);
/* id of an exact token text, -1 if absent */
int32_t hearth_vocab_find(const hearth_vocab *v, const char *text, size_t len);

/* ---- tokenizing --------------------------------------------------------- */
typedef struct hearth_tokenize_params {
    bool add_special;     /* add BOS/EOS (or CLS/SEP) as the vocab's add_bos/add_eos say */
    bool parse_special;   /* recognise control/user-defined token texts in the input */
} hearth_tokenize_params;

hearth_tokenize_params hearth_tokenize_default_params(void);  /* add_special = true, parse_special = false */

/* Tokenizes len bytes of text (need not be NUL-terminated; invalid UTF-8 is
 * handled the way the reference tokenizers handle it). *ids is malloc'd and
 * owned by the caller. */
hearth_status hearth_tokenize(const hearth_vocab *v, const char *text, size_t len,
                              const hearth_tokenize_params *p, int32_t **ids, size_t *n_ids);

/* ---- detokenizing -------------------------------------------------------
 * Bytes a token stands for: "▁" becomes a space (SPM), byte tokens become
 * their byte, byte-level BPE maps back to raw bytes, WordPiece "##x" joins.
 * Control tokens yield their text only when `special` is set. Writes at most
 * cap bytes (no NUL) and returns the number of bytes the piece has (which
 * may exceed cap), or -1 for an invalid id. */
int64_t hearth_token_to_piece(const hearth_vocab *v, int32_t id, bool special, char *buf, size_t cap);

/* Whole sequence to text; malloc'd, NUL-terminated, owned by the caller.
 * remove_special drops BOS/EOS/control tokens; unparse_special renders
 * control tokens' text. For SPM, the leading space the tokenizer added is
 * removed so that detokenize(tokenize(s)) == s. */
hearth_status hearth_detokenize(const hearth_vocab *v, const int32_t *ids, size_t n, bool remove_special,
                                bool unparse_special, char **text, size_t *len);

/* Streaming: feed ids one at a time; text comes out only in whole UTF-8
 * characters (a multi-byte character split over tokens is held back until
 * complete). */
typedef struct hearth_detok hearth_detok;
hearth_detok *hearth_detok_create(const hearth_vocab *v, bool unparse_special);
void hearth_detok_free(hearth_detok *d);   /* NULL is a no-op */
/* Appends the complete text produced by id to *out (a malloc'd buffer the
 * detok owns, valid until the next call); returns its length. */
size_t hearth_detok_push(hearth_detok *d, int32_t id, const char **out);
/* Whatever is held back (an incomplete UTF-8 tail, emitted as U+FFFD per byte). */
size_t hearth_detok_flush(hearth_detok *d, const char **out);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
