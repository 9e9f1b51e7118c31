/*
 * utf8.h — the one UTF-8 module of libhearth (internal): decoding, encoding,
 * validation, and the boundary test that streaming output needs.
 *
 * Strict decoding (RFC 3629): overlong forms, surrogates (U+D800..DFFF),
 * values above U+10FFFF and truncated sequences are malformed. Callers that
 * want the reference tokenizers' lenient behaviour (a bad byte becomes
 * U+FFFD and decoding resumes at the next byte) use hearth_utf8_decode_lenient.
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
/* As above, but malformed input yields U+FFFD (advancing one byte). */
uint32_t hearth_utf8_decode_lenient(const char *s, size_t n, size_t *len);
/* Writes cp as UTF-8 into out (4 bytes of room); returns the byte count.
 * cp above U+10FFFF or a surrogate writes U+FFFD. */
size_t hearth_utf8_encode(uint32_t cp, char out[4]);
/* true when s[0..n) is valid UTF-8; otherwise false and, when bad_at is not
 * NULL, the offset of the first malformed sequence. */
bool hearth_utf8_valid(const char *s, size_t n, size_t *bad_at);
/* Length of the longest prefix of s[0..n) that does not end inside an
 * incomplete multi-byte sequence (the bytes after it may still be completed
 * by more input): what a streaming writer may flush now. */
size_t hearth_utf8_complete_prefix(const char *s, size_t n);
/* Number of code points in s[0..n) (malformed bytes count one each). */
size_t hearth_utf8_count(const char *s, size_t n);

#endif
