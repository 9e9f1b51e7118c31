/*
 * pii.h — personal-data detection and masking: the detectors behind the
 * gateway's PII policy and `hearth pii scan|mask`.
 *
 * Built-in kinds (names as used in policies, findings and audit records):
 *   email      local@domain.tld
 *   phone      mainland China mobile 1[3-9]x xxxx xxxx (optional +86 / 0086),
 *              international E.164 "+" then 8-15 digits (see "phone rule")
 *   cn_id      PRC resident ID: 17 digits + check digit (0-9/X), ISO 7064
 *              MOD 11-2 verified, province code, plausible YYYYMMDD
 *   bank_card  13-19 digits, Luhn verified, known IIN prefix and length; or
 *              16-19 digits, Luhn verified, any prefix, in a card context
 *              (see "card context rule")
 *   ipv4       dotted quad, octets 0-255, not part of a longer dotted number
 *   ipv6       full, compressed (::) or with an embedded IPv4 tail; groups
 *              of 1-4 hex digits; also right after "KEY:" ("ip:2ea0::1")
 * plus custom kinds: PCRE2 patterns and keyword lists, each with a name.
 *
 * Text is UTF-8. Full-width ASCII variants (U+FF01..U+FF5E, e.g. the digits
 * U+FF10..U+FF19, "＋", "－") and the ideographic space U+3000 are folded to
 * ASCII for matching; findings always report offsets and lengths in bytes of
 * the ORIGINAL text.
 *
 * Number boundaries: a digit run is taken whole; a phone, ID or card is made
 * of whole runs joined by single spaces or dashes in an accepted grouping, so
 * a 19-digit card inside a 25-digit number is not a card. A run glued to a
 * decimal point or comma and a digit ("3.1415926535897", "1,234") is a
 * number, not PII.
 *
 * Card context rule (Chinese debit cards are 16-19 digits and not all carry
 * a known IIN): a Luhn-valid 16-19-digit run, written whole (bare, in 4-digit
 * groups or 6 + rest), is a card when
 *   - it is the value of a KEY=VALUE or KEY: VALUE field (quotes and spaces
 *     allowed) whose KEY names no other kind of number: keys with a card
 *     word (card, bank, acct, account, 卡, 账号 …) always count; keys with an
 *     other-number word (order, id, ts, time, phone, tel, trace, invoice,
 *     serial, 订单, 手机, 时间 …; camelCase and snake_case split) never do;
 *   - or, in prose, the nearest such word in the 48 bytes before it on the
 *     same line is a card word (卡号, 银行卡, 借记卡, 账号, 账户, 客户, 户名,
 *     收款, 转账, 银行, card, account, bank …) rather than an other-number
 *     word (订单号 2024…, 时间戳 17…, order 123…); or a card word follows
 *     within 12 bytes ("打到…这个账户").
 * Measured on tests/data/pii/labelled.tsv (48 such cards, 48 Luhn-valid
 * look-alikes keyed as orders, timestamps, phones, IDs): recall and precision
 * 1.0 (docs/pii.md).
 *
 * Overlaps: when findings overlap, the longer one wins; at equal length the
 * more specific kind wins in the order cn_id, bank_card, phone, email, ipv6,
 * ipv4, custom patterns (in the order added), keyword lists. Candidates that
 * fail validation never compete.
 *
 * Thread safety: a policy is read-only once configured and may be shared by
 * any number of threads; a mapping or unmasker belongs to one request (one
 * thread at a time).
 */
#ifndef HEARTH_PII_H
#define HEARTH_PII_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ---- validators (exposed for tests and callers with their own candidates) */
/* s: 18 chars, 17 ASCII digits + check digit 0-9/X/x; province, date and
 * MOD 11-2 check digit verified. */
bool hearth_pii_valid_cn_id(const char *s, size_t len);
/* s: ASCII digits only; true if the Luhn sum is a multiple of 10. */
bool hearth_pii_luhn(const char *s, size_t len);
/* Digits only (no separators): Luhn + IIN prefix/length table. */
bool hearth_pii_valid_card(const char *s, size_t len);
/* Dotted quad, 4 octets 0-255, no leading zeros ("0" itself is fine). */
bool hearth_pii_valid_ipv4(const char *s, size_t len);
/* RFC 4291 text form: 8 hextets, or "::" once, optional IPv4 tail. */
bool hearth_pii_valid_ipv6(const char *s, size_t len);

/* ---- policy --------------------------------------------------------------- */
typedef enum hearth_pii_action {
    HEARTH_PII_ALLOW = 0,    /* found, reported, left in the text */
    HEARTH_PII_MASK = 1,     /* replaced by [KIND_N], restorable from the mapping */
    HEARTH_PII_REDACT = 2,   /* replaced by [KIND] (or [REDACTED]), not restorable */
    HEARTH_PII_BLOCK = 3,    /* redacted, and the kind listed as blocked */
} hearth_pii_action;

/* "allow" | "mask" | "redact" | "block"; NULL for anything else. */
const char *hearth_pii_action_str(hearth_pii_action a);
bool hearth_pii_action_parse(const char *s, hearth_pii_action *out);

typedef struct hearth_pii_policy hearth_pii_policy;

/* A policy with every built-in kind set to `action` (HEARTH_PII_MASK is
 * the usual choice). NULL on allocation failure. */
hearth_pii_policy *hearth_pii_policy_create(hearth_pii_action action);
void hearth_pii_policy_free(hearth_pii_policy *p);   /* NULL is a no-op */

/* Action of kind `kind` (built-in, custom pattern or keyword-list name);
 * "all" or "*" sets every kind known so far. NOT_FOUND for unknown names. */
hearth_status hearth_pii_policy_set(hearth_pii_policy *p, const char *kind, hearth_pii_action a);
/* "email=mask,phone=redact,all=allow" (applied left to right). Errors name
 * the bad item. */
hearth_status hearth_pii_policy_parse(hearth_pii_policy *p, const char *spec);
/* Action for a kind name; HEARTH_PII_ALLOW for unknown names. */
hearth_pii_action hearth_pii_policy_action(const hearth_pii_policy *p, const char *kind);
/* Redaction text: false (default) "[EMAIL]" (the kind's label), true "[REDACTED]". */
void hearth_pii_policy_set_redact_generic(hearth_pii_policy *p, bool generic);

/* A custom kind found by a PCRE2 pattern (UTF-8 mode, run on the folded
 * text). name: [a-z0-9_], 1..31 chars, not a built-in name; its placeholder
 * label is the name upper-cased. Errors name the pattern and PCRE2's message
 * with the offset. Empty matches are ignored. */
hearth_status hearth_pii_policy_add_pattern(hearth_pii_policy *p, const char *name,
                                            const char *regex, hearth_pii_action a);
/* A custom kind found by a keyword list (case-insensitive, longest keyword
 * first). whole_word: a match may not touch an ASCII letter, digit or '_'
 * on either side (CJK text has no spaces, so CJK neighbours are allowed).
 * Empty keywords are skipped; at least one must remain. */
hearth_status hearth_pii_policy_add_keywords(hearth_pii_policy *p, const char *name,
                                             const char *const *words, size_t n_words,
                                             bool whole_word, hearth_pii_action a);
/* Same, from a file: one keyword per line (blank lines and lines starting
 * with '#' skipped). */
hearth_status hearth_pii_policy_add_keyword_file(hearth_pii_policy *p, const char *name,
                                                 const char *path, bool whole_word,
                                                 hearth_pii_action a);

/* ---- scanning ------------------------------------------------------------- */
typedef struct hearth_pii_finding {
    const char *kind;   /* borrowed from the policy ("email", custom name...) */
    size_t offset;      /* bytes into the original text */
    size_t length;      /* bytes in the original text */
} hearth_pii_finding;

/* All findings (every kind, whatever its action), non-overlapping, sorted by
 * offset. *out is malloc'd (free()), NULL when *n == 0. Fails only on memory
 * or a custom pattern's match error (e.g. its backtracking limit). */
hearth_status hearth_pii_scan(const hearth_pii_policy *p, const char *text, size_t len,
                              hearth_pii_finding **out, size_t *n);

/* ---- masking -------------------------------------------------------------- */
/* The per-request record of what was masked: placeholder <-> original value,
 * kinds found and kinds blocked. One mapping may serve many texts (all
 * messages of a request): the same value gets the same placeholder, and
 * numbers go on counting per kind ([EMAIL_1], [EMAIL_2], [PHONE_1]...). */
typedef struct hearth_pii_mapping hearth_pii_mapping;

hearth_pii_mapping *hearth_pii_mapping_create(void);
void hearth_pii_mapping_free(hearth_pii_mapping *m);   /* NULL is a no-op; wipes values */
/* Number of placeholders in the mapping. */
size_t hearth_pii_mapping_count(const hearth_pii_mapping *m);
/* Comma-separated kinds found by every mask call so far, in first-seen order
 * ("email,phone"; "" if none) — fit for an audit record: no values. Borrowed,
 * valid until the next call on m. */
const char *hearth_pii_mapping_kinds(const hearth_pii_mapping *m);
/* Same for kinds whose action was block; "" when nothing was blocked. */
const char *hearth_pii_mapping_blocked(const hearth_pii_mapping *m);

/* Applies the policy to text: masked/redacted/blocked spans replaced,
 * allowed ones left. *out is malloc'd, NUL-terminated (free()), *out_len its
 * length. A blocked kind does not make the call fail: check
 * hearth_pii_mapping_blocked() and refuse the request; its values are
 * redacted in *out all the same. */
hearth_status hearth_pii_mask(const hearth_pii_policy *p, hearth_pii_mapping *m,
                              const char *text, size_t len, char **out, size_t *out_len);
/* JSON document (one JSONL line): every string VALUE, at any depth, masked
 * as above; keys, numbers and structure kept, key order kept; written
 * compact. FORMAT error "invalid JSON near byte N" for bad input. */
hearth_status hearth_pii_mask_json(const hearth_pii_policy *p, hearth_pii_mapping *m,
                                   const char *json, size_t len, char **out, size_t *out_len);

/* Replaces every placeholder of m found in text by its original value;
 * other text (and unknown placeholders) unchanged. *out malloc'd (free()). */
hearth_status hearth_pii_unmask(const hearth_pii_mapping *m, const char *text, size_t len,
                                char **out, size_t *out_len);

/* Streaming restore: feed chunks as they come; each call returns the text
 * that is safe to emit now, holding back a tail that may be the start of a
 * placeholder split across chunks ("[EMA" ... "IL_1]"). The mapping is
 * borrowed and must outlive the unmasker. */
typedef struct hearth_pii_unmasker hearth_pii_unmasker;
hearth_pii_unmasker *hearth_pii_unmasker_create(const hearth_pii_mapping *m);
void hearth_pii_unmasker_free(hearth_pii_unmasker *u);   /* NULL is a no-op */
/* out and out_len: borrowed, valid until the next call on u (may be empty). */
hearth_status hearth_pii_unmasker_feed(hearth_pii_unmasker *u, const char *chunk, size_t len,
                                       const char **out, size_t *out_len);
/* End of stream: returns whatever was held back. */
hearth_status hearth_pii_unmasker_finish(hearth_pii_unmasker *u, const char **out, size_t *out_len);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
