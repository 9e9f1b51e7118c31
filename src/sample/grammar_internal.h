/*
 * grammar_internal.h — the byte-level grammar shared by the compilers
 * (grammar_schema.c, grammar_regex.c, grammar_gbnf.c) and the matcher
 * (grammar.c).
 *
 * A grammar is a list of rules; a rule is a list of alternatives; an
 * alternative is a sequence of elements, each a byte class (a set of bytes)
 * or a reference to a rule. Elements are int32: (class << 1) for a class,
 * (rule << 1) | 1 for a reference; GR_END ends an alternative in the
 * flattened array.
 */
#ifndef HEARTH_GRAMMAR_INTERNAL_H
#define HEARTH_GRAMMAR_INTERNAL_H

#include "grammar_cjson.h"

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GR_END (-1)
#define GR_IS_REF(e) (((e) & 1) != 0)
#define GR_CLASS(c) ((int32_t)(c) << 1)
#define GR_REF(r) (((int32_t)(r) << 1) | 1)
#define GR_VAL(e) ((e) >> 1)

/* limits that keep hostile input bounded */
#define GR_MAX_ELEMENTS (4u << 20)   /* elements in all alternatives */
#define GR_MAX_RULES (1u << 20)

typedef struct gr_bits {
    uint64_t w[4];
} gr_bits;

static inline bool gr_bits_has(const gr_bits *b, unsigned c) { return (b->w[c >> 6] >> (c & 63)) & 1; }
static inline void gr_bits_set(gr_bits *b, unsigned c) { b->w[c >> 6] |= (uint64_t)1 << (c & 63); }
static inline void gr_bits_range(gr_bits *b, unsigned lo, unsigned hi) {
    for (unsigned c = lo; c <= hi; c++) gr_bits_set(b, c);
}

/* the compiled grammar (flattened rules) */
struct hearth_grammar {
    int32_t *el;          /* all alternatives, each ended by GR_END */
    size_t n_el;
    int32_t *alt_start;   /* element index of each alternative */
    int32_t *rule_alt0;   /* first alternative of each rule; rule r's are [rule_alt0[r], rule_alt0[r+1]) */
    size_t n_rules;
    gr_bits *classes;
    size_t n_classes;
    int32_t root;
    bool is_schema;       /* compiled from a JSON Schema (else GBNF) */
};

/* a growable int32 sequence */
typedef struct gr_seq {
    int32_t *v;
    size_t n, cap;
} gr_seq;
bool gr_seq_push(gr_seq *s, int32_t e);
void gr_seq_free(gr_seq *s);

typedef struct gr_rule_b {
    gr_seq *alts;
    size_t n_alts, cap_alts;
    char *name;   /* GBNF rule name or NULL */
} gr_rule_b;

/* the grammar under construction */
typedef struct gr_builder {
    gr_rule_b *rules;
    size_t n_rules, cap_rules;
    gr_bits *classes;
    size_t n_classes, cap_classes;
    int32_t *class_idx;          /* hash of classes (open addressing) */
    size_t class_idx_cap;
    size_t n_elements;
    hearth_status err;           /* sticky: the first failure */
} gr_builder;

int32_t gr_rule_new(gr_builder *b);
/* adds alternative els[0..n) to rule r (copied) */
void gr_alt(gr_builder *b, int32_t r, const int32_t *els, size_t n);
void gr_alt_seq(gr_builder *b, int32_t r, const gr_seq *s);
int32_t gr_class(gr_builder *b, const gr_bits *bits);   /* element */
int32_t gr_byte(gr_builder *b, unsigned char c);        /* element */
/* appends the elements of literal s[0..n) to seq */
void gr_lit(gr_builder *b, gr_seq *seq, const char *s, size_t n);
/* a rule matching exactly literal s */
int32_t gr_lit_rule(gr_builder *b, const char *s, size_t n);
void gr_builder_free(gr_builder *b);
/* turns the builder into a grammar with start rule `root` (the builder is
 * emptied); checks for left recursion. */
hearth_status gr_finish(gr_builder *b, int32_t root, hearth_grammar **out);
hearth_status gr_fail(gr_builder *b, hearth_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- regular expressions (grammar_regex.c) ---- */
/* How a regex's matches are written: RX_RAW as the bytes themselves (GBNF
 * classes), RX_JSON as the inside of a JSON string (escaped as json.dumps
 * escapes). */
enum { RX_RAW = 0, RX_JSON = 1 };
/* Compiles ECMA-262 regex `pat` (search semantics unless anchored) into a
 * rule whose language is the encoded matching strings whose length in
 * code points is within [min_len, max_len] (max_len < 0: no limit).
 * Returns the rule, or -1 with the builder's error set. */
int32_t gr_regex_rule(gr_builder *b, const char *pat, int min_len, int max_len, int enc, const char *where);
/* A rule for one code point in [lo, hi] minus the code points in `except`
 * (n_except of them), encoded as enc says. */
int32_t gr_cp_range_rule(gr_builder *b, const uint32_t *ranges, size_t n_ranges, int enc);

#endif
