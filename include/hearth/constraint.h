/*
 * constraint.h — constrained decoding: the interface every output
 * constraint implements (JSON object now; JSON Schema and grammars plug in
 * the same way), and the built-in JSON-object constraint.
 *
 * A constraint is a parser over the generated text, fed byte strings (token
 * texts). The sequence step (hearth_sequence in generate.h) asks it, for a
 * sampled token, whether the token's text may come next; a refused token is
 * masked and another drawn (a few redraws, then every refused token is
 * masked at once). When a token is kept, the step advances the constraint by
 * the token's detokenized text. After each token the step asks whether the
 * value is complete:
 *
 *   HEARTH_CONSTRAINT_OPEN     more text is needed: end-of-generation tokens
 *                              and tokens with no text are refused
 *   HEARTH_CONSTRAINT_CAN_END  a complete value that may still grow (a number,
 *                              a grammar's optional tail): end-of-generation
 *                              tokens are allowed, sampling decides
 *   HEARTH_CONSTRAINT_DONE     complete, nothing may follow: the step ends the
 *                              sequence (stop reason HEARTH_STOP_CONSTRAINT)
 *
 * Implementing one (e.g. a JSON-Schema or GBNF constraint):
 *
 *     static bool my_allows(const void *st, const char *text, size_t n) {...}
 *     static bool my_advance(void *st, const char *text, size_t n) {...}
 *     static hearth_constraint_state my_state(const void *st) {...}
 *     static void my_free(void *st) {...}
 *     static const hearth_constraint_vtable MY_VT = {
 *         "my-grammar", my_allows, my_advance, my_state, my_free};
 *     ...
 *     hearth_constraint *c = hearth_constraint_create(&MY_VT, state);
 *
 * Rules for an implementation: `allows` must not change the state (it is
 * called for many candidate tokens, up to the whole vocabulary, per step:
 * keep it cheap; copying a small state and feeding it is fine); `advance`
 * may be given text `allows` was not asked about (the detokenized text can
 * differ from the token's text, e.g. a held-back partial UTF-8 character
 * arrives with the next token) and returns false when that text breaks the
 * constraint (the step then ends the sequence with HEARTH_STOP_CONSTRAINT);
 * texts are arbitrary bytes, not necessarily whole UTF-8 characters.
 *
 * Threads: a constraint is the state of one sequence; one thread at a time.
 */
#ifndef HEARTH_CONSTRAINT_H
#define HEARTH_CONSTRAINT_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef enum hearth_constraint_state {
    HEARTH_CONSTRAINT_OPEN = 0,
    HEARTH_CONSTRAINT_CAN_END = 1,
    HEARTH_CONSTRAINT_DONE = 2,
} hearth_constraint_state;

typedef struct hearth_constraint_vtable {
    const char *name;   /* for messages: "json_object", "json_schema", "gbnf" ... */
    /* true when appending text[0..n) keeps the output acceptable; state unchanged */
    bool (*allows)(const void *state, const char *text, size_t n);
    /* appends text[0..n) to the state; false when it breaks the constraint */
    bool (*advance)(void *state, const char *text, size_t n);
    /* whether the text so far is a complete value (see above) */
    hearth_constraint_state (*complete)(const void *state);
    /* frees the state (may be NULL when there is nothing to free) */
    void (*free)(void *state);
    /* optional (may be NULL): the whole allowed-token mask at once, faster
     * than `allows` per token (e.g. over a trie of the vocabulary): sets bit
     * (id % 32) of bits[id / 32] for every allowed token of the n_vocab,
     * end-of-generation tokens included when the value may end; returns
     * false when it cannot (the step then asks `allows` per token) */
    bool (*mask)(void *state, uint32_t *bits, int32_t n_vocab);
} hearth_constraint_vtable;

typedef struct hearth_constraint hearth_constraint;

/* Wraps an implementation: vt must outlive the constraint (a static table);
 * the constraint owns state and frees it with vt->free. NULL (with the
 * error set) when out of memory — state is freed then too. */
hearth_constraint *hearth_constraint_create(const hearth_constraint_vtable *vt, void *state);
void hearth_constraint_free(hearth_constraint *c);   /* NULL is a no-op */

bool hearth_constraint_allows(const hearth_constraint *c, const char *text, size_t n);
bool hearth_constraint_advance(hearth_constraint *c, const char *text, size_t n);
hearth_constraint_state hearth_constraint_complete(const hearth_constraint *c);
const char *hearth_constraint_name(const hearth_constraint *c);
/* The vtable's mask (false when it has none or it cannot). */
bool hearth_constraint_mask(hearth_constraint *c, uint32_t *bits, int32_t n_vocab);

/* The JSON-object constraint (OpenAI response_format {"type":"json_object"}):
 * accepts exactly the byte prefixes of one JSON object (RFC 8259 values
 * inside; at most 48 nested containers; at most 4 whitespace bytes in a row,
 * none before the opening brace, so a small model cannot emit blanks
 * forever); DONE at the closing brace. */
hearth_status hearth_constraint_json_object(hearth_constraint **out);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
