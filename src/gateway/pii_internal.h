/*
 * pii_internal.h — shared pieces of the PII module (not API): the policy's
 * layout, the folded-text view, detection into candidate lists.
 * pii_detect.c finds and validates; pii_mask.c applies actions.
 */
#ifndef HEARTH_PII_INTERNAL_H
#define HEARTH_PII_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "hearth/pii.h"

#include <pcre2.h>

/* ==== kinds ===== */
enum { PII_EMAIL = 0, PII_PHONE, PII_CN_ID, PII_CARD, PII_IPV4, PII_IPV6, PII_N_BUILTIN };
#define PII_MAX_KINDS 64
#define PII_NAME_MAX 32

typedef struct pii_kind {
    char name[PII_NAME_MAX];    /* "email", or the custom name */
    char label[PII_NAME_MAX];   /* placeholder label: "EMAIL", "EMPLOYEE_ID" */
    hearth_pii_action action;
    pcre2_code *re;             /* custom pattern / keyword alternation; NULL for built-ins */
    int priority;               /* lower wins an overlap of equal length */
} pii_kind;

struct hearth_pii_policy {
    pii_kind kinds[PII_MAX_KINDS];
    int n_kinds;
    bool redact_generic;
    pcre2_code *re_num, *re_email, *re_ipv4, *re_ipv6;   /* built-in candidate finders */
    pcre2_match_context *mctx;                           /* match limits for custom patterns */
};

/* Compiles the built-in candidate patterns into p (called by policy_create). */
hearth_status pii_builtin_compile(hearth_pii_policy *p);
/* Compiles a custom pattern (UTF-8, JIT when available); errors name `what`. */
hearth_status pii_compile(const char *what, const char *regex, uint32_t flags, pcre2_code **out);

/* Folds full-width ASCII variants and U+3000 to ASCII into a malloc'd copy
 * (*out, NUL-terminated) of the same or smaller length; *out_len its length. */
hearth_status pii_fold(const char *s, size_t n, char **out, size_t *out_len);
/* Reads a keyword file (one keyword per line; blank and '#' lines skipped):
 * *words (n_words malloc'd strings) owned by the caller. */
hearth_status pii_keyword_file_read(const char *path, char ***words, size_t *n_words);

/* Scan on a policy, returning kind indices too (pii_mask.c needs them). */
typedef struct pii_hit {
    size_t offset, length;   /* original bytes */
    int kind;                /* index into policy->kinds */
} pii_hit;
hearth_status pii_detect(const hearth_pii_policy *p, const char *text, size_t len,
                         pii_hit **out, size_t *n);

#endif
