/*
 * pii_detect.c — PII detectors: full-width folding with an offset map back
 * to the original bytes, PCRE2 candidate finders, C validators (MOD 11-2,
 * Luhn + IIN, IPv4/IPv6 parsers), digit-run segmentation into phones, IDs
 * and cards, and overlap resolution. See include/hearth/pii.h for the rules.
 */
#include "gateway/pii_internal.h"

#include <stdlib.h>
#include <string.h>

/* ==== validators ===== */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_word(int c) { return is_digit(c) || is_alpha(c) || c == '_'; }
static bool is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool hearth_pii_valid_cn_id(const char *s, size_t len) {
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[11] = "10X98765432";
    /* provinces: 11-15 north, 21-23 north-east, 31-37 east, 41-46 central-south,
     * 50-54 south-west, 61-65 north-west, 71 Taiwan, 81-83 HK/Macau/TW residents */
    static const char *const prov =
        "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83";
    if (!s || len != 18) return false;
    for (int i = 0; i < 17; i++)
        if (!is_digit(s[i])) return false;
    char c = s[17] == 'x' ? 'X' : s[17];
    if (!is_digit(c) && c != 'X') return false;
    char pv[3] = {s[0], s[1], 0};
    if (!strstr(prov, pv)) return false;
    int y = (s[6] - '0') * 1000 + (s[7] - '0') * 100 + (s[8] - '0') * 10 + (s[9] - '0');
    int m = (s[10] - '0') * 10 + (s[11] - '0');
    int d = (s[12] - '0') * 10 + (s[13] - '0');
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
    if (d > mdays[m - 1] + (m == 2 && leap(y))) return false;
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (s[i] - '0') * w[i];
    return check[sum % 11] == c;
}

bool hearth_pii_luhn(const char *s, size_t len) {
    if (!s || len == 0) return false;
    int sum = 0;
    for (size_t k = 0; k < len; k++) {
        char c = s[len - 1 - k];
        if (!is_digit(c)) return false;
        int v = c - '0';
        if (k & 1) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* Issuer prefixes and the lengths they issue (Visa, Mastercard, Amex, JCB,
 * Diners, Discover, UnionPay, Maestro). Unknown prefixes are not cards:
 * 13-digit millisecond timestamps start with 1, order numbers often with 2. */
static bool iin_ok(const char *d, size_t n) {
    int p2 = (d[0] - '0') * 10 + (d[1] - '0');
    int p3 = p2 * 10 + (d[2] - '0');
    int p4 = p3 * 10 + (d[3] - '0');
    switch (d[0]) {
    case '2': return p4 >= 2221 && p4 <= 2720 && n == 16;
    case '3':
        if (p2 == 34 || p2 == 37) return n == 15;
        if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;
        if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)) return n >= 14 && n <= 19;
        return false;
    case '4': return n == 13 || n == 16 || n == 19;
    case '5':
        if (p2 >= 51 && p2 <= 55) return n == 16;
        if (p2 == 50 || (p2 >= 56 && p2 <= 58)) return n >= 13 && n <= 19;
        return false;
    case '6': return n >= 16 && n <= 19;
    case '8': return p2 == 81 && n >= 16 && n <= 19;
    default: return false;
    }
}

bool hearth_pii_valid_card(const char *s, size_t len) {
    if (!s || len < 13 || len > 19) return false;
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i])) return false;
    return iin_ok(s, len) && hearth_pii_luhn(s, len);
}

bool hearth_pii_valid_ipv4(const char *s, size_t len) {
    if (!s) return false;
    size_t i = 0;
    for (int oct = 0; oct < 4; oct++) {
        if (oct > 0) {
            if (i >= len || s[i] != '.') return false;
            i++;
        }
        size_t st = i;
        int v = 0;
        while (i < len && is_digit(s[i]) && i - st < 4) v = v * 10 + (s[i++] - '0');
        size_t nd = i - st;
        if (nd == 0 || nd > 3 || v > 255) return false;
        if (nd > 1 && s[st] == '0') return false;   /* leading zero: octal or not an address */
    }
    return i == len;
}

bool hearth_pii_valid_ipv6(const char *s, size_t len) {
    if (!s || len < 2 || len > 45) return false;
    int groups = 0;        /* 16-bit groups written out (an IPv4 tail counts 2) */
    bool dcolon = false;
    size_t i = 0;
    if (s[0] == ':') {
        if (s[1] != ':') return false;
        dcolon = true;
        i = 2;
        if (i == len) return true;   /* "::" itself */
    }
    for (;;) {
        /* one group: hex digits, or an IPv4 tail at the end */
        size_t st = i;
        while (i < len && is_hex(s[i]) && i - st < 5) i++;
        if (i < len && s[i] == '.') {
            if (!hearth_pii_valid_ipv4(s + st, len - st)) return false;
            groups += 2;
            i = len;
            break;
        }
        if (i == st || i - st > 4) return false;
        groups++;
        if (i == len) break;
        if (s[i] != ':') return false;
        i++;
        if (i < len && s[i] == ':') {
            if (dcolon) return false;
            dcolon = true;
            i++;
            if (i == len) break;
        } else if (i == len) {
            return false;   /* trailing single ':' */
        }
    }
    return dcolon ? groups <= 7 : groups == 8;
}

/* ==== folding ===== */
/* Full-width U+FF01..U+FF5E (EF BC 81..BF, EF BD 80..9E) -> 0x21..0x7E;
 * U+3000 (E3 80 80) -> ' '. Each fold shortens the text by 2 bytes. */
static int fold_at(const unsigned char *s, size_t n, size_t i) {
    if (i + 3 > n) return -1;
    if (s[i] == 0xEF) {
        if (s[i + 1] == 0xBC && s[i + 2] >= 0x81 && s[i + 2] <= 0xBF) return s[i + 2] - 0x81 + 0x21;
        if (s[i + 1] == 0xBD && s[i + 2] >= 0x80 && s[i + 2] <= 0x9E) return s[i + 2] - 0x80 + 0x60;
    } else if (s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x80) {
        return ' ';
    }
    return -1;
}

hearth_status pii_fold(const char *s, size_t n, char **out, size_t *out_len) {
    char *o = malloc(n + 1);
    if (!o) return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory folding %zu bytes", n);
    const unsigned char *u = (const unsigned char *)s;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        int c = (u[i] == 0xEF || u[i] == 0xE3) ? fold_at(u, n, i) : -1;
        if (c >= 0) {
            o[j++] = (char)c;
            i += 3;
        } else {
            o[j++] = s[i++];
        }
    }
    o[j] = 0;
    *out = o;
    *out_len = j;
    return HEARTH_OK;
}

/* The text detectors run on: the original when nothing folds, else a folded
 * copy with the folded-text positions of every folded character, so that
 * orig(p) = p + 2 * #{folded chars before p}. */
typedef struct view {
    const char *s;
    size_t n;
    char *owned;
    size_t *fpos;     /* folded positions of folded chars, ascending */
    size_t n_fpos;
} view;

static hearth_status view_make(const char *s, size_t n, view *v) {
    memset(v, 0, sizeof *v);
    v->s = s;
    v->n = n;
    const unsigned char *u = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i + 2 < n; i++)
        if ((u[i] == 0xEF || u[i] == 0xE3) && fold_at(u, n, i) >= 0) count++;
    if (!count) return HEARTH_OK;
    v->owned = malloc(n + 1);
    v->fpos = malloc(count * sizeof *v->fpos);
    if (!v->owned || !v->fpos) {
        free(v->owned);
        free(v->fpos);
        return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory folding %zu bytes", n);
    }
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        int c = (u[i] == 0xEF || u[i] == 0xE3) ? fold_at(u, n, i) : -1;
        if (c >= 0) {
            v->fpos[v->n_fpos++] = j;
            v->owned[j++] = (char)c;
            i += 3;
        } else {
            v->owned[j++] = s[i++];
        }
    }
    v->owned[j] = 0;
    v->s = v->owned;
    v->n = j;
    return HEARTH_OK;
}

static size_t view_orig(const view *v, size_t p) {
    size_t lo = 0, hi = v->n_fpos;   /* count of fpos < p */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->fpos[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return p + 2 * lo;
}

static void view_free(view *v) {
    free(v->owned);
    free(v->fpos);
}

/* ==== candidate list ===== */
typedef struct cand {
    size_t off, len;   /* folded text */
    int kind;
} cand;

typedef struct cands {
    cand *v;
    size_t n, cap;
    bool oom;
} cands;

static void cands_push(cands *c, size_t off, size_t len, int kind) {
    if (len == 0 || c->oom) return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cand *nv = realloc(c->v, cap * sizeof *nv);
        if (!nv) {
            c->oom = true;
            return;
        }
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = (cand){off, len, kind};
}

/* ==== compiling ===== */
hearth_status pii_compile(const char *what, const char *regex, uint32_t flags, pcre2_code **out) {
    int err;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, flags, &err, &eoff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: %s: bad regex at offset %zu: %s", what,
                                (size_t)eoff, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if unavailable */
    *out = re;
    return HEARTH_OK;
}

/* Digit runs: digits joined by single spaces/dashes, optional leading '+',
 * optional trailing check-digit X. Segmented in C (see num_run). */
static const char RE_NUM[] = "\\+?[0-9]++(?:[ \\-][0-9]++)*+(?:[Xx](?![A-Za-z0-9_]))?";
/* Domain part of an e-mail, anchored on '@'; the local part is found in C. */
static const char RE_EMAIL[] =
    "@[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?)*"
    "\\.[A-Za-z]{2,24}(?![A-Za-z0-9\\-])";
static const char RE_IPV4[] =
    "(?<![0-9A-Za-z_.])[0-9]{1,3}(?:\\.[0-9]{1,3}){3}(?![0-9A-Za-z_]|\\.[0-9])";
/* An address starts after a non-word character, or right after "KEY:" (as in
 * "ip:2ea0:df5f::1" or a folded "IPv6：…"): that match includes the key's ':'
 * (so the pattern starts only at colons there), which ipv6_cand drops. */
static const char RE_IPV6[] =
    "(?<![0-9A-Za-z_:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:\\.[0-9]{1,3}){0,3}"
    "|(?<=[0-9A-Za-z_]):(?=[0-9A-Fa-f]|::)[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:\\.[0-9]{1,3}){0,3}";

hearth_status pii_builtin_compile(hearth_pii_policy *p) {
    hearth_status st;
    if ((st = pii_compile("built-in digits", RE_NUM, 0, &p->re_num)) != HEARTH_OK) return st;
    if ((st = pii_compile("built-in email", RE_EMAIL, 0, &p->re_email)) != HEARTH_OK) return st;
    if ((st = pii_compile("built-in ipv4", RE_IPV4, 0, &p->re_ipv4)) != HEARTH_OK) return st;
    return pii_compile("built-in ipv6", RE_IPV6, 0, &p->re_ipv6);
}

/* ==== digit runs: phone, cn_id, bank_card ===== */
#define MAX_GROUPS 8   /* most groups one phone/ID/card is written in */

typedef struct group {
    size_t s, e;       /* digits [s, e) in the folded text (X included for the last) */
} group;

/* Group-length shapes each kind may be written in (sum checked separately). */
static bool shape_is(const int *gl, int ng, const int *want, int nw) {
    if (ng != nw) return false;
    for (int i = 0; i < ng; i++)
        if (gl[i] != want[i]) return false;
    return true;
}

static bool mobile_digits(const char *d, size_t n) {
    return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

static bool mobile_shape(const int *gl, int ng) {
    static const int a[] = {11}, b[] = {3, 4, 4}, c[] = {3, 8}, d[] = {7, 4};
    return shape_is(gl, ng, a, 1) || shape_is(gl, ng, b, 3) || shape_is(gl, ng, c, 2) ||
           shape_is(gl, ng, d, 2);
}

static bool id_shape(const int *gl, int ng) {
    static const int a[] = {18}, b[] = {6, 8, 4};
    return shape_is(gl, ng, a, 1) || shape_is(gl, ng, b, 3);
}

static bool card_shape(const int *gl, int ng) {
    if (ng == 1) return true;
    static const int amex[] = {4, 6, 5}, diners[] = {4, 6, 4};
    if (shape_is(gl, ng, amex, 3) || shape_is(gl, ng, diners, 3)) return true;
    if (ng == 2 && gl[0] == 6) return true;   /* "622848 0012345678901" */
    if (ng >= 3) {
        for (int i = 0; i < ng - 1; i++)
            if (gl[i] != 4) return false;
        return gl[ng - 1] >= 1 && gl[ng - 1] <= 4;
    }
    return false;
}

/* ==== card context: a Luhn-valid 16-19-digit number of an unknown issuer ===== */
/* Chinese debit cards are 16-19 digits and not all carry a known IIN, so a
 * Luhn-valid 16-19-digit number is also a card when its context says so:
 *  - key=value: the number follows `KEY=` or `KEY:` (ASCII or full-width, a
 *    quote and spaces allowed between) and KEY names no other kind of number
 *    (no word of NOT_CARD below); a KEY with a word of CARD_WORDS always counts;
 *  - prose: the nearest of the words below within 48 bytes before the number
 *    (same line) is a card word (卡号, 银行卡, 账号, 客户, card, account …),
 *    not an other-number word (订单, 手机, 时间, order, phone, id …); or a
 *    card word follows within 12 bytes ("打到…这个账户").
 * Without such context an unknown-issuer number stays unreported, so order
 * numbers, timestamps and IDs in logs do not turn into cards. */
static const char *const CARD_WORDS[] = {
    "\xe5\x8d\xa1",                   /* 卡 (卡号, 银行卡, 借记卡, 信用卡 …) */
    "\xe8\xb4\xa6\xe5\x8f\xb7", "\xe5\xb8\x90\xe5\x8f\xb7",   /* 账号 帐号 */
    "\xe8\xb4\xa6\xe6\x88\xb7", "\xe5\xb8\x90\xe6\x88\xb7",   /* 账户 帐户 */
    "\xe5\xae\xa2\xe6\x88\xb7",   /* 客户 */
    "\xe6\x88\xb7\xe5\x90\x8d",   /* 户名 */
    "\xe5\xbc\x80\xe6\x88\xb7",   /* 开户 */
    "\xe6\x94\xb6\xe6\xac\xbe", "\xe4\xbb\x98\xe6\xac\xbe",   /* 收款 付款 */
    "\xe8\xbd\xac\xe8\xb4\xa6", "\xe6\xb1\x87\xe6\xac\xbe",   /* 转账 汇款 */
    "\xe9\x93\xb6\xe8\xa1\x8c",   /* 银行 */
    "card", "acct", "account", "bank", "pan", "iban", "debit", "credit", NULL,
};
static const char *const NOT_CARD[] = {
    "\xe8\xae\xa2\xe5\x8d\x95", "\xe5\x8d\x95\xe5\x8f\xb7",   /* 订单 单号 */
    "\xe6\xb5\x81\xe6\xb0\xb4", "\xe7\xbc\x96\xe5\x8f\xb7",   /* 流水 编号 */
    "\xe8\xbf\x90\xe5\x8d\x95", "\xe5\xbf\xab\xe9\x80\x92",   /* 运单 快递 */
    "\xe6\x89\x8b\xe6\x9c\xba", "\xe7\x94\xb5\xe8\xaf\x9d",   /* 手机 电话 */
    "\xe6\x97\xb6\xe9\x97\xb4", "\xe6\x97\xa5\xe6\x9c\x9f",   /* 时间 日期 */
    "\xe8\xba\xab\xe4\xbb\xbd", "\xe8\xaf\x81\xe4\xbb\xb6",   /* 身份 证件 */
    "\xe5\x8f\x91\xe7\xa5\xa8", "\xe5\xba\x8f\xe5\x88\x97",   /* 发票 序列 */
    "\xe5\xb7\xa5\xe5\x8f\xb7", "\xe5\xad\xa6\xe5\x8f\xb7",   /* 工号 学号 */
    "order", "ord", "phone", "tel", "mobile", "time", "ts", "timestamp", "date", "id", "uid", "uuid",
    "invoice", "tracking", "serial", "sn", "seq", "trace", "txn", "sku", "imei", "isbn", "ref", NULL,
};

static int lower_ascii(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Does word w occur in t[s, e) at p? ASCII words match case-insensitively
 * and only as whole words (letters around them end the match). */
static bool word_at(const char *t, size_t s, size_t e, size_t p, const char *w) {
    size_t l = strlen(w);
    if (p + l > e) return false;
    for (size_t k = 0; k < l; k++)
        if (lower_ascii((unsigned char)t[p + k]) != (unsigned char)w[k]) return false;
    if ((unsigned char)w[0] >= 0x80) return true;
    bool before = p > s && is_alpha((unsigned char)t[p - 1]);
    bool after = p + l < e && is_alpha((unsigned char)t[p + l]);
    return !before && !after;
}

/* Rightmost card (1) or not-card (-1) word in t[s, e); 0 if none. */
static int nearest_word(const char *t, size_t s, size_t e) {
    for (size_t p = e; p-- > s;) {
        for (int i = 0; NOT_CARD[i]; i++)
            if (word_at(t, s, e, p, NOT_CARD[i])) return -1;
        for (int i = 0; CARD_WORDS[i]; i++)
            if (word_at(t, s, e, p, CARD_WORDS[i])) return 1;
    }
    return 0;
}

static bool any_word(const char *t, size_t s, size_t e, const char *const *words) {
    for (size_t p = s; p < e; p++)
        for (int i = 0; words[i]; i++)
            if (word_at(t, s, e, p, words[i])) return true;
    return false;
}

static bool key_char(unsigned char c) { return is_word(c) || c == '-' || c == '.' || c >= 0x80; }

/* See the comment above CARD_WORDS. ds, de: the digits' bytes in t. */
static bool card_context(const char *t, size_t n, size_t ds, size_t de) {
    /* key=value: back over spaces and a quote to '=' or ':' */
    size_t p = ds;
    while (p > 0 && (t[p - 1] == ' ' || t[p - 1] == '"' || t[p - 1] == '\'')) p--;
    if (p > 0 && (t[p - 1] == '=' || t[p - 1] == ':')) {
        size_t ke = p - 1;
        while (ke > 0 && (t[ke - 1] == ' ' || t[ke - 1] == '"' || t[ke - 1] == '\'')) ke--;
        size_t ks = ke;
        while (ks > 0 && ke - ks < 40 && key_char((unsigned char)t[ks - 1])) ks--;
        while (ks < ke && ((unsigned char)t[ks] & 0xC0) == 0x80) ks++;   /* whole characters only */
        if (ks < ke) {
            char key[96];   /* camelCase split into words: bankCardNo -> bank_Card_No */
            size_t m = 0;
            for (size_t i = ks; i < ke && m + 2 < sizeof key; i++) {
                unsigned char c = (unsigned char)t[i];
                if (c >= 'A' && c <= 'Z' && i > ks && t[i - 1] >= 'a' && t[i - 1] <= 'z') key[m++] = '_';
                key[m++] = (char)c;
            }
            if (any_word(key, 0, m, CARD_WORDS)) return true;
            return !any_word(key, 0, m, NOT_CARD);
        }
    }
    /* prose: the nearest word before, on the same line */
    size_t s = ds > 48 ? ds - 48 : 0;
    for (size_t i = ds; i > s; i--)
        if (t[i - 1] == '\n') {
            s = i;
            break;
        }
    while (s < ds && ((unsigned char)t[s] & 0xC0) == 0x80) s++;
    int w = nearest_word(t, s, ds);
    if (w) return w > 0;
    size_t e = de + 12 < n ? de + 12 : n;
    for (size_t i = de; i < e; i++)
        if (t[i] == '\n') e = i;
    while (e > de && e < n && ((unsigned char)t[e] & 0xC0) == 0x80) e--;
    return any_word(t, de, e, CARD_WORDS) && !any_word(t, de, e, NOT_CARD);
}

/* Kind for groups [i, j] of a run, or -1. plus: the run began with '+'
 * right before group 0. ctx_card: the run stands in a card context. */
static int classify(const char *t, const group *g, int i, int j, int ng_run, bool plus, bool ctx_card) {
    char d[48];
    size_t n = 0;
    int gl[MAX_GROUPS];
    int ng = j - i + 1;
    if (ng > MAX_GROUPS) return -1;
    for (int k = i; k <= j; k++) {
        size_t l = g[k].e - g[k].s;
        if (n + l > 40) return -1;
        memcpy(d + n, t + g[k].s, l);
        n += l;
        gl[k - i] = (int)l;
    }
    bool has_x = d[n - 1] == 'X' || d[n - 1] == 'x';
    if (has_x) return (n == 18 && id_shape(gl, ng) && hearth_pii_valid_cn_id(d, n)) ? PII_CN_ID : -1;
    if (n == 18 && id_shape(gl, ng) && hearth_pii_valid_cn_id(d, n)) return PII_CN_ID;
    if (n >= 13 && n <= 19 && !(plus && i == 0) && card_shape(gl, ng) && hearth_pii_valid_card(d, n))
        return PII_CARD;
    if (ctx_card && n >= 16 && n <= 19 && !plus && i == 0 && j == ng_run - 1 && card_shape(gl, ng) &&
        hearth_pii_luhn(d, n))
        return PII_CARD;   /* unknown issuer, card context: the whole run */
    /* mainland mobile, bare or after a country-code prefix (+86, 0086) */
    bool lead_plus = plus && i == 0;
    if (!lead_plus && mobile_shape(gl, ng) && mobile_digits(d, n)) return PII_PHONE;
    bool cc86 = (lead_plus && gl[0] >= 2 && d[0] == '8' && d[1] == '6') ||
                (!lead_plus && gl[0] >= 4 && !memcmp(d, "0086", 4));
    if (cc86) {
        int skip = d[0] == '8' ? 2 : 4;
        if (gl[0] == skip) {
            if (mobile_shape(gl + 1, ng - 1) && mobile_digits(d + skip, n - skip)) return PII_PHONE;
        } else if (ng == 1 && mobile_digits(d + skip, n - skip)) {
            return PII_PHONE;
        }
    }
    /* E.164: '+', country code 1-9, 8-15 digits, the whole run, at most 6 groups */
    if (lead_plus && j == ng_run - 1 && n >= 8 && n <= 15 && d[0] != '0' && ng <= 6) return PII_PHONE;
    return -1;
}

static void num_run(const char *t, size_t n, size_t s, size_t e, cands *out) {
    bool plus = t[s] == '+';
    if (plus && s > 0 && (is_word((unsigned char)t[s - 1]) || t[s - 1] == '+')) {
        s++;   /* "3+4", "a+1": the '+' is an operator, not a country code */
        plus = false;
    }
    size_t ds = plus ? s + 1 : s;
    bool x = t[e - 1] == 'X' || t[e - 1] == 'x';
    size_t de = x ? e - 1 : e;
    /* A first/last group glued to letters (hashes, UUIDs, part numbers) or to
     * a decimal point and digits ("3.14", "1.2.3") is not part of the run. */
    bool cut_first = (ds > 0 && (is_alpha((unsigned char)t[ds - 1]) || t[ds - 1] == '_')) ||
                     (!plus && ds > 1 && t[ds - 1] == '.' && is_digit((unsigned char)t[ds - 2]));
    bool cut_last = (!x && de < n && (is_alpha((unsigned char)t[de]) || t[de] == '_')) ||
                    (e + 1 < n && t[e] == '.' && is_digit((unsigned char)t[e + 1]));
    if (cut_first) {
        plus = false;
        while (ds < de && is_digit((unsigned char)t[ds])) ds++;
        if (ds < de) ds++;   /* the separator */
        s = ds;
        if (ds >= de) return;
    }
    if (cut_last) {
        if (x) return;   /* "…X.5": not an ID */
        while (de > ds && is_digit((unsigned char)t[de - 1])) de--;
        if (de > ds) de--;   /* the separator */
        e = de;
        if (de <= ds) return;
    }
    int cap = 1;
    for (size_t i = ds; i < de; i++) cap += !is_digit((unsigned char)t[i]);
    group gbuf[64], *g = cap <= 64 ? gbuf : malloc((size_t)cap * sizeof *g);
    if (!g) {
        out->oom = true;
        return;
    }
    int ng = 0;
    for (size_t i = ds; i < de && ng < cap;) {
        size_t st = i;
        while (i < de && is_digit((unsigned char)t[i])) i++;
        g[ng++] = (group){st, i};
        if (i < de) i++;   /* separator */
    }
    if (x && ng > 0) g[ng - 1].e = e;
    int total = 0;
    for (int i = 0; i < ng; i++) total += (int)(g[i].e - g[i].s);
    bool ctx_card = !plus && !x && total >= 16 && total <= 19 && card_context(t, n, g[0].s, g[ng - 1].e);
    for (int i = 0; i < ng;) {
        int best_j = -1, best_k = -1;
        for (int j = i; j < ng && j < i + MAX_GROUPS; j++) {
            int k = classify(t, g, i, j, ng, plus, ctx_card);
            if (k >= 0) {
                best_j = j;
                best_k = k;
            }
        }
        if (best_j >= 0) {
            size_t off = (plus && i == 0) ? s : g[i].s;
            cands_push(out, off, g[best_j].e - off, best_k);
            i = best_j + 1;
        } else {
            i++;
        }
    }
    if (g != gbuf) free(g);
}

/* ==== e-mail, IPv4, IPv6 ===== */
static bool email_local_char(int c) {
    return is_word(c) || c == '.' || c == '%' || c == '+' || c == '-';
}

static void email_at(const char *t, size_t at, size_t end, cands *out) {
    size_t s = at;
    while (s > 0 && at - s < 64 && email_local_char((unsigned char)t[s - 1])) s--;
    if (s > 0 && email_local_char((unsigned char)t[s - 1])) return;   /* local part over 64 */
    while (s < at && t[s] == '.') s++;
    if (s == at || t[at - 1] == '.') return;
    for (size_t i = s; i + 1 < at; i++)
        if (t[i] == '.' && t[i + 1] == '.') return;
    cands_push(out, s, end - s, PII_EMAIL);
}

static void ipv6_cand(const char *t, size_t n, size_t s, size_t e, cands *out) {
    if (t[s] == ':' && s > 0 && is_word((unsigned char)t[s - 1])) s++;   /* "KEY:" then the address */
    if (e < n && (is_word((unsigned char)t[e]) || t[e] == '.')) {
        if (!(t[e] == '.' && (e + 1 >= n || !is_digit((unsigned char)t[e + 1])))) return;
    }
    if (e - s >= 2 && t[e - 1] == ':' && t[e - 2] != ':') e--;   /* "2001:db8::1: next" */
    if (!hearth_pii_valid_ipv6(t + s, e - s)) return;
    /* too bare to be an address in prose: "::", "a::b" (C++ scopes), times */
    int hex_groups = 0, digits = 0;
    bool v4 = false;
    for (size_t i = s; i < e; i++) {
        if (is_digit((unsigned char)t[i])) digits++;
        if (t[i] == '.') v4 = true;
        if (is_hex((unsigned char)t[i]) && (i == s || t[i - 1] == ':')) hex_groups++;
    }
    bool loopback = e - s == 3 && !memcmp(t + s, "::1", 3);
    /* no decimal digit at all ("cafe:babe::", "a::b"): an address only with 3+ groups */
    if ((!digits && hex_groups < 3) || (hex_groups < 2 && !v4 && !loopback)) return;
    cands_push(out, s, e - s, PII_IPV6);
}

/* ==== running patterns ===== */
typedef void (*on_match)(const char *t, size_t n, size_t s, size_t e, int kind, cands *out);

static hearth_status run_re(const pcre2_code *re, pcre2_match_context *mc, const char *what, const char *t,
                            size_t n, bool utf, int kind, on_match fn, cands *out) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
    size_t off = 0;
    hearth_status st = HEARTH_OK;
    while (off <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)t, n, off, 0, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st = hearth_set_error(HEARTH_ERR_RANGE, "pii: %s: match failed at byte %zu: %s", what, off,
                                  (const char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e > s) fn(t, n, s, e, kind, out);
        if (e > off) {
            off = e;
        } else {
            off++;
            if (utf)
                while (off < n && ((unsigned char)t[off] & 0xC0) == 0x80) off++;
        }
    }
    pcre2_match_data_free(md);
    return st;
}

static void m_num(const char *t, size_t n, size_t s, size_t e, int k, cands *o) { num_run(t, n, s, e, o); }
static void m_email(const char *t, size_t n, size_t s, size_t e, int k, cands *o) { email_at(t, s, e, o); }
static void m_ipv6(const char *t, size_t n, size_t s, size_t e, int k, cands *o) { ipv6_cand(t, n, s, e, o); }
static void m_ipv4(const char *t, size_t n, size_t s, size_t e, int k, cands *o) {
    if (hearth_pii_valid_ipv4(t + s, e - s)) cands_push(o, s, e - s, PII_IPV4);
}
static void m_plain(const char *t, size_t n, size_t s, size_t e, int k, cands *o) { cands_push(o, s, e - s, k); }

/* ==== overlap resolution ===== */
static int by_start(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->kind - y->kind;
}

typedef struct ranked {
    cand c;
    int prio;
} ranked;

static int by_rank(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->c.len != y->c.len) return x->c.len > y->c.len ? -1 : 1;
    if (x->prio != y->prio) return x->prio - y->prio;
    return x->c.off < y->c.off ? -1 : x->c.off > y->c.off;
}

/* Keeps a non-overlapping subset: within each cluster of overlapping
 * candidates, longest first, then priority. Result sorted by offset. */
static hearth_status resolve(const hearth_pii_policy *p, cands *c) {
    if (c->n < 2) return HEARTH_OK;
    qsort(c->v, c->n, sizeof *c->v, by_start);
    ranked *r = malloc(c->n * sizeof *r);
    if (!r) return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
    size_t w = 0;
    for (size_t i = 0; i < c->n;) {
        size_t j = i + 1, end = c->v[i].off + c->v[i].len;
        while (j < c->n && c->v[j].off < end) {
            if (c->v[j].off + c->v[j].len > end) end = c->v[j].off + c->v[j].len;
            j++;
        }
        if (j == i + 1) {
            c->v[w++] = c->v[i];
        } else {
            /* rank the cluster; keep each candidate whose bytes are still free */
            size_t nr = j - i, kept0 = w, base = c->v[i].off;
            unsigned char *occ = calloc(end - base, 1);
            if (!occ) {
                free(r);
                return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
            }
            for (size_t k = 0; k < nr; k++) r[k] = (ranked){c->v[i + k], p->kinds[c->v[i + k].kind].priority};
            qsort(r, nr, sizeof *r, by_rank);
            for (size_t k = 0; k < nr; k++) {
                unsigned char *o = occ + (r[k].c.off - base);
                if (memchr(o, 1, r[k].c.len)) continue;
                memset(o, 1, r[k].c.len);
                c->v[w++] = r[k].c;
            }
            free(occ);
            qsort(c->v + kept0, w - kept0, sizeof *c->v, by_start);
        }
        i = j;
    }
    c->n = w;
    free(r);
    return HEARTH_OK;
}

/* ==== scanning ===== */
hearth_status pii_detect(const hearth_pii_policy *p, const char *text, size_t len, pii_hit **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!p || (!text && len)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: scan needs a policy and text");
    if (!len) return HEARTH_OK;
    view v;
    hearth_status st = view_make(text, len, &v);
    if (st != HEARTH_OK) return st;
    cands c = {0};
    const char *t = v.s;
    size_t n = v.n;
    st = run_re(p->re_num, NULL, "digits", t, n, false, 0, m_num, &c);
    if (st == HEARTH_OK && memchr(t, '@', n)) st = run_re(p->re_email, NULL, "email", t, n, false, 0, m_email, &c);
    if (st == HEARTH_OK && memchr(t, '.', n)) st = run_re(p->re_ipv4, NULL, "ipv4", t, n, false, 0, m_ipv4, &c);
    if (st == HEARTH_OK && memchr(t, ':', n)) st = run_re(p->re_ipv6, NULL, "ipv6", t, n, false, 0, m_ipv6, &c);
    for (int k = PII_N_BUILTIN; k < p->n_kinds && st == HEARTH_OK; k++)
        st = run_re(p->kinds[k].re, p->mctx, p->kinds[k].name, t, n, true, k, m_plain, &c);
    if (st == HEARTH_OK && c.oom) st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory (findings)");
    if (st == HEARTH_OK) st = resolve(p, &c);
    if (st == HEARTH_OK && c.n) {
        pii_hit *h = malloc(c.n * sizeof *h);
        if (!h) {
            st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory (findings)");
        } else {
            for (size_t i = 0; i < c.n; i++) {
                size_t o0 = view_orig(&v, c.v[i].off), o1 = view_orig(&v, c.v[i].off + c.v[i].len);
                h[i] = (pii_hit){o0, o1 - o0, c.v[i].kind};
            }
            *out = h;
            *n_out = c.n;
        }
    }
    free(c.v);
    view_free(&v);
    return st;
}

hearth_status hearth_pii_scan(const hearth_pii_policy *p, const char *text, size_t len, hearth_pii_finding **out,
                              size_t *n) {
    if (!out || !n) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: scan needs out and n");
    *out = NULL;
    *n = 0;
    pii_hit *h;
    size_t nh;
    hearth_status st = pii_detect(p, text, len, &h, &nh);
    if (st != HEARTH_OK || !nh) return st;
    hearth_pii_finding *f = malloc(nh * sizeof *f);
    if (!f) {
        free(h);
        return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory (findings)");
    }
    for (size_t i = 0; i < nh; i++) f[i] = (hearth_pii_finding){p->kinds[h[i].kind].name, h[i].offset, h[i].length};
    free(h);
    *out = f;
    *n = nh;
    return HEARTH_OK;
}
