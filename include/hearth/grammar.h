/*
 * grammar.h — constrained decoding: a JSON Schema or a GBNF grammar
 * compiled to a byte-level context-free grammar, a matcher that follows
 * the output byte by byte, and token masks over a vocabulary.
 *
 * JSON Schema: the output is the instance serialised the way Python's
 * json.dumps(x, ensure_ascii=False) writes it (", " between items, ": "
 * after keys, no other whitespace, non-ASCII as raw UTF-8) with properties
 * in the order of the schema's "properties" (extra properties, where
 * allowed, after them). Supported: type (and lists of types), enum, const,
 * properties, required, additionalProperties, items, prefixItems,
 * minItems, maxItems, anyOf, oneOf (alternatives told apart by type or by
 * a const/enum property), allOf (merged), local $ref/$defs/$anchor
 * (recursive too), minLength, maxLength, pattern (a regular-expression
 * automaton, no backtracking), format (date, time, date-time, email,
 * hostname, ipv4, ipv6, uri, uuid), minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum (integer bounds). Anything else that constrains a value
 * makes compilation fail with HEARTH_ERR_UNSUPPORTED and a message naming
 * the keyword and where it is — never silently ignored. Annotations
 * (title, description, default, examples, $comment...) and keywords
 * outside JSON Schema are ignored, as the specification says.
 *
 * GBNF: llama.cpp's grammar format (root ::= ..., "literals", [classes],
 * rule references, ( ), | , * + ? {m,n}, comments).
 *
 * Cost: compiling is linear in the schema (bounded: nesting, repetition
 * counts and pattern sizes have limits that give HEARTH_ERR_RANGE); the
 * matcher caches its transitions, so following a byte is a table lookup
 * once seen; masks walk a trie of the vocabulary and are cached per
 * matcher state.
 *
 * Threads: a compiled grammar and a vocabulary trie are immutable and may
 * be shared; a matcher belongs to one thread at a time.
 */
#ifndef HEARTH_GRAMMAR_H
#define HEARTH_GRAMMAR_H

#include "hearth/hearth.h"
#include "hearth/tokenizer.h"
#include "hearth/constraint.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN
HEARTH_API_BEGIN

typedef struct hearth_grammar hearth_grammar;              /* compiled, immutable */
typedef struct hearth_grammar_matcher hearth_grammar_matcher;   /* follows one output */
typedef struct hearth_grammar_vocab hearth_grammar_vocab;  /* token trie, immutable */

/* Compiles a JSON Schema (text, len bytes). On failure the message names
 * the keyword and its location ("/properties/when/format: format
 * 'idn-email' cannot be enforced"). *out is owned by the caller. */
hearth_status hearth_grammar_from_schema(const char *json, size_t len, hearth_grammar **out);
/* Compiles a GBNF grammar; `root` names the start rule (NULL: "root"). */
hearth_status hearth_grammar_from_gbnf(const char *text, size_t len, const char *root, hearth_grammar **out);
/* Any JSON object (response_format {"type": "json_object"}), written as
 * json.dumps writes it. */
hearth_status hearth_grammar_json_object(hearth_grammar **out);
void hearth_grammar_free(hearth_grammar *g);   /* NULL is a no-op */

/* ---- matcher ------------------------------------------------------------ */
hearth_status hearth_grammar_matcher_new(const hearth_grammar *g, hearth_grammar_matcher **out);
void hearth_grammar_matcher_free(hearth_grammar_matcher *m);   /* NULL is a no-op */
void hearth_grammar_matcher_reset(hearth_grammar_matcher *m);  /* back to the start, caches kept */
/* true when bytes s[0..n) may follow what was accepted so far (the output
 * stays a prefix of the language). */
bool hearth_grammar_allows(hearth_grammar_matcher *m, const char *s, size_t n);
/* Accepts bytes; HEARTH_ERR_INVALID_ARG (nothing changed) when they leave
 * the language. */
hearth_status hearth_grammar_advance(hearth_grammar_matcher *m, const char *s, size_t n);
/* The output so far is complete (generation may stop here). */
bool hearth_grammar_accepting(const hearth_grammar_matcher *m);
/* Complete and nothing may follow: generation must stop. */
bool hearth_grammar_finished(const hearth_grammar_matcher *m);

/* ---- as a constraint of the sequence step (constraint.h) ----------------
 * A fresh matcher over g (borrowed: g must outlive the constraint): OPEN
 * until the text is complete, CAN_END when complete but it may grow, DONE
 * when nothing may follow. Name "json_schema" for schemas, "gbnf" for
 * grammars. */
hearth_status hearth_grammar_constraint(const hearth_grammar *g, hearth_constraint **out);
/* The same with the vocabulary's trie (borrowed, must outlive the
 * constraint): when the sampled token is refused, the step takes the whole
 * mask from hearth_grammar_mask instead of asking token by token. */
hearth_status hearth_grammar_constraint_vocab(const hearth_grammar *g, const hearth_grammar_vocab *v,
                                              hearth_constraint **out);

/* ---- tokens --------------------------------------------------------------- */
/* A trie over the vocabulary: pieces[i] (lens[i] bytes) is token i's text;
 * tokens with is_eog[i] end generation (allowed only when the output is
 * complete); empty pieces are never allowed. Borrowed during the call. */
hearth_status hearth_grammar_vocab_new(const char *const *pieces, const size_t *lens, const bool *is_eog, int n_tokens,
                                       hearth_grammar_vocab **out);
/* The same from a loaded vocabulary: each token's piece as the detokenizer
 * writes it (control tokens have none), end-of-generation tokens marked. */
hearth_status hearth_grammar_vocab_from(const hearth_vocab *vocab, hearth_grammar_vocab **out);
void hearth_grammar_vocab_free(hearth_grammar_vocab *v);   /* NULL is a no-op */
int hearth_grammar_vocab_size(const hearth_grammar_vocab *v);

/* true when token id may come next (a quick check for a sampled token). */
bool hearth_grammar_allows_token(hearth_grammar_matcher *m, const hearth_grammar_vocab *v, int32_t id);
/* Accepts a token (an end-of-generation token only when accepting). */
hearth_status hearth_grammar_accept_token(hearth_grammar_matcher *m, const hearth_grammar_vocab *v, int32_t id);
/* The full mask: bit (id % 32) of mask[id / 32] set when token id may
 * come next; mask has (n_tokens + 31) / 32 words. Returns the number of
 * allowed tokens (0: nothing may follow — the output cannot be completed). */
int hearth_grammar_mask(hearth_grammar_matcher *m, const hearth_grammar_vocab *v, uint32_t *mask);

HEARTH_API_END
HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
