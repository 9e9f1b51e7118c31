/*
 * utf8.h — the one UTF-8 module of libhearth (internal): decoding, encoding,
 * validation, and the boundary test that streaming output needs.
 *
 * Strict decoding (RFC 3629): overlong forms, surrogates (U+D800..DFFF),
 * values above U+10FFFF and truncated sequences are malformed. Callers that
 * want the reference tokenizers' lenient behaviour (llama.cpp's: a bad byte
 * becomes U+FFFD and decoding resumes at the next byte; overlong forms and
 * surrogates are decoded as the values they spell) use
 * hearth_utf8_decode_lenient, and hearth_utf8_encode_lenient to write such
 * values back unchanged.
 *
 * Code point properties come from tables generated from the Unicode
 * Character Database (core/unicode_tables.c, by core/gen/gen_unicode_tables.py):
 * general-category classes, White_Space, simple case mappings and the first
 * code point of NFD. Nothing depends on the host's locale.
 */
#ifndef HEARTH_CORE_UTF8_H
#define HEARTH_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEARTH_UTF8_REPLACEMENT 0xFFFDu

/* Decodes the code point at s[0..n). Returns it and stores its byte length in
 * *len; on malformed input returns -1 and stores 1 in *len (n == 0: -1, 0). */
int32_t hearth_utf8_decode(const char *s, size_t n, size_t *len);
/* true when s[0..n) is a cut-off beginning of a well-formed sequence (more
 * bytes could complete it, so a stream should wait for them); false for a
 * complete, malformed or empty input. */
bool hearth_utf8_incomplete(const char *s, size_t n);
/* The reference tokenizers' decoding: lead and continuation bytes are
 * checked, values are not (overlong forms and surrogates decode to what they
 * spell); malformed input or a value above U+10FFFF yields U+FFFD, advancing
 * one byte (n == 0: U+FFFD, 0). */
uint32_t hearth_utf8_decode_lenient(const char *s, size_t n, size_t *len);
/* Writes cp as UTF-8 into out (4 bytes of room); returns the byte count.
 * cp above U+10FFFF or a surrogate writes U+FFFD. */
size_t hearth_utf8_encode(uint32_t cp, char out[4]);
/* As above, but surrogates are written as they are (what the lenient decoder
 * can yield); only values above U+10FFFF become U+FFFD. */
size_t hearth_utf8_encode_lenient(uint32_t cp, char out[4]);
/* Byte length a lead byte announces without validating anything (1 for a
 * stray continuation byte, 4 for F8..FF): the reference tokenizers' split of
 * text into symbols. */
static inline size_t hearth_utf8_seq_len(unsigned char lead) {
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}
/* true when s[0..n) is valid UTF-8; otherwise false and, when bad_at is not
 * NULL, the offset of the first malformed sequence. */
bool hearth_utf8_valid(const char *s, size_t n, size_t *bad_at);
/* Length of the longest prefix of s[0..n) that does not end inside an
 * incomplete multi-byte sequence (the bytes after it may still be completed
 * by more input): what a streaming writer may flush now. */
size_t hearth_utf8_complete_prefix(const char *s, size_t n);
/* Number of code points in s[0..n) (malformed bytes count one each). */
size_t hearth_utf8_count(const char *s, size_t n);


/* ---- code point properties (unicode.c) ------------------------------------ */
/* One general-category class per code point plus the White_Space bit. */
enum {
    HEARTH_UC_UNDEF = 0x01,     /* unassigned (Cn) */
    HEARTH_UC_NUMBER = 0x02,    /* \p{N} */
    HEARTH_UC_LETTER = 0x04,    /* \p{L} */
    HEARTH_UC_SEP = 0x08,       /* \p{Z} */
    HEARTH_UC_MARK = 0x10,      /* \p{M} */
    HEARTH_UC_PUNCT = 0x20,     /* \p{P} */
    HEARTH_UC_SYMBOL = 0x40,    /* \p{S} */
    HEARTH_UC_CONTROL = 0x80,   /* \p{C} */
    HEARTH_UC_CATEGORIES = 0xFF,
    HEARTH_UC_SPACE = 0x100,    /* White_Space property */
};
#define HEARTH_UC_MAX 0x110000u

/* Class flags of a code point (0 for values >= HEARTH_UC_MAX). Thread-safe;
 * the first call expands a 2 MiB lookup table. */
uint16_t hearth_uc_flags(uint32_t cp);
/* Simple (one-to-one) case mappings of UnicodeData.txt; cp itself where there
 * is none. Title case differs from upper case for the digraphs (U+01C4 DŽ ->
 * U+01C5 Dž) and a few Greek letters with iota. */
uint32_t hearth_uc_tolower(uint32_t cp);
uint32_t hearth_uc_toupper(uint32_t cp);
uint32_t hearth_uc_totitle(uint32_t cp);
/* First code point of the canonical decomposition (cp itself if none). */
uint32_t hearth_uc_nfd_first(uint32_t cp);

/* the generated tables (unicode_tables.c), sorted by code point */
extern const uint32_t hearth_uc_flag_ranges[][2];   /* {first cp, flags} runs */
extern const size_t hearth_uc_n_flag_ranges;
extern const uint32_t hearth_uc_whitespace[];
extern const size_t hearth_uc_n_whitespace;
extern const uint32_t hearth_uc_lower[][2], hearth_uc_upper[][2], hearth_uc_title[][2];
extern const size_t hearth_uc_n_lower, hearth_uc_n_upper, hearth_uc_n_title;
extern const uint32_t hearth_uc_nfd_ranges[][3];    /* {first, last, nfd first} */
extern const size_t hearth_uc_n_nfd_ranges;

#endif
