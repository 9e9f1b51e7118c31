/*
 * unicode.h — the small slice of Unicode the tokenizers need (internal).
 *
 * Code point classes follow the reference tokenizers (llama.cpp): each code
 * point has ONE general-category class (letter, number, punctuation, symbol,
 * mark, separator, control, or unassigned) plus a White_Space bit. UTF-8 is
 * decoded leniently the way the reference does: a malformed byte becomes
 * U+FFFD and decoding resumes at the next byte; overlong forms and
 * surrogates are not rejected.
 */
#ifndef HEARTH_TOKENIZER_UNICODE_H
#define HEARTH_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    UC_UNDEF = 0x01,     /* unassigned (Cn) */
    UC_NUMBER = 0x02,    /* \p{N} */
    UC_LETTER = 0x04,    /* \p{L} */
    UC_SEP = 0x08,       /* \p{Z} */
    UC_MARK = 0x10,      /* \p{M} */
    UC_PUNCT = 0x20,     /* \p{P} */
    UC_SYMBOL = 0x40,    /* \p{S} */
    UC_CONTROL = 0x80,   /* \p{C} */
    UC_CATEGORIES = 0xFF,
    UC_SPACE = 0x100,    /* White_Space property */
};

#define UC_MAX 0x110000u

/* generated tables (unicode_tables.c) */
extern const uint32_t tok_uc_flag_ranges[][2];
extern const size_t tok_uc_n_flag_ranges;
extern const uint32_t tok_uc_whitespace[];
extern const size_t tok_uc_n_whitespace;
extern const uint32_t tok_uc_lower[][2];
extern const size_t tok_uc_n_lower;
extern const uint32_t tok_uc_nfd_ranges[][3];
extern const size_t tok_uc_n_nfd_ranges;

/* Class flags of a code point (0 for values >= UC_MAX). Thread-safe. */
uint16_t uc_flags(uint32_t cp);
uint32_t uc_tolower(uint32_t cp);
/* first code point of the canonical decomposition (cp itself if none) */
uint32_t uc_nfd_first(uint32_t cp);

/* Byte length of the UTF-8 sequence a lead byte announces (1 for stray
 * continuation bytes), without validating: the reference's symbol split. */
static inline size_t uc_len_utf8(unsigned char c) {
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

/* Decodes one code point at s[*i] (n bytes total), advancing *i; a malformed
 * sequence yields 0xFFFD and advances one byte. */
uint32_t uc_decode(const char *s, size_t n, size_t *i);
/* Encodes cp (<= 0x10FFFF; larger values encode U+FFFD) into out; returns bytes (1..4). */
int uc_encode(uint32_t cp, char *out);

#endif
