/*
 * schema_format.c — the "format" checks the validator asserts when asked
 * (hearth_schema_params.format_assert): RFC 3339 date/time/date-time,
 * ISO 8601 durations, email, hostname (RFC 1123), ipv4, ipv6, uri,
 * uri-reference (RFC 3986), uuid, regex and json-pointer.
 */
#include "schema_internal.h"

#include <arpa/inet.h>
#include <string.h>

static bool digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int num(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static bool is_date(const char *s, size_t n) {
    if (n != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2)) return false;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static bool is_time(const char *s, size_t n) {
    if (n < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 2) || !digits(s + 3, 2) || !digits(s + 6, 2)) return false;
    int h = num(s, 2), mi = num(s + 3, 2), se = num(s + 6, 2);
    size_t i = 8;
    if (i < n && s[i] == '.') {
        size_t j = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == j) return false;
    }
    if (i >= n) return false;
    int oh = 0, om = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != n) return false;
    } else if (s[i] == '+' || s[i] == '-') {
        if (n - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2) || !digits(s + i + 4, 2)) return false;
        oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh > 23 || om > 59) return false;
        if (s[i] == '-') oh = -oh, om = -om;
    } else {
        return false;
    }
    if (h > 23 || mi > 59 || se > 60) return false;
    if (se == 60) {   /* a leap second: 23:59:60 in UTC */
        int t = ((h - oh) * 60 + (mi - om)) % (24 * 60);
        if (t < 0) t += 24 * 60;
        if (t != 23 * 60 + 59) return false;
    }
    return true;
}

static bool is_date_time(const char *s, size_t n) {
    return n > 11 && (s[10] == 'T' || s[10] == 't') && is_date(s, 10) && is_time(s + 11, n - 11);
}

/* ISO 8601 duration as RFC 3339 appendix A writes it: P[nY][nM][nD][T[nH][nM][nS]] or PnW */
static bool is_duration(const char *s, size_t n) {
    if (n < 2 || s[0] != 'P') return false;
    size_t i = 1;
    const char *order = "YMD";
    bool any = false, in_t = false;
    int last = -1;
    while (i < n) {
        if (s[i] == 'T') {
            if (in_t) return false;
            in_t = true, order = "HMS", last = -1, i++;
            if (i >= n) return false;
            continue;
        }
        size_t j = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == j || i >= n) return false;
        if (s[i] == 'W') {
            return !any && !in_t && i + 1 == n;
        }
        const char *p = strchr(order, s[i]);
        if (!p || !s[i]) return false;
        int k = (int)(p - order);
        if (k <= last) return false;
        last = k, any = true, i++;
    }
    if (in_t && last < 0) return false;
    return any;
}

static bool is_hostname(const char *s, size_t n) {
    if (n == 0 || n > 253) return false;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '.') j++;
        size_t len = j - i;
        if (len == 0 || len > 63 || s[i] == '-' || s[j - 1] == '-') return false;
        for (size_t k = i; k < j; k++) {
            char c = s[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
        }
        if (len >= 4 && s[i + 2] == '-' && s[i + 3] == '-' && !((s[i] == 'x' || s[i] == 'X') && (s[i + 1] == 'n' || s[i + 1] == 'N')))
            return false;
        if (j == n) break;
        i = j + 1;
        if (i == n) return true;   /* a trailing dot */
    }
    return true;
}

static bool is_ipv4(const char *s, size_t n) {
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        if (j == i || j - i > 3 || (j - i > 1 && s[i] == '0') || num(s + i, j - i) > 255) return false;
        parts++;
        if (parts < 4) {
            if (j >= n || s[j] != '.') return false;
            i = j + 1;
        } else if (j != n) {
            return false;
        }
    }
    return true;
}

static bool is_ipv6(const char *s, size_t n) {
    char b[64];
    if (n >= sizeof b) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
              s[i] == ':' || s[i] == '.'))
            return false;
    memcpy(b, s, n);
    b[n] = 0;
    unsigned char out[16];
    return inet_pton(AF_INET6, b, out) == 1;
}

static bool uri_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~:/?#[]@!$&'()*+,;=%", c);
}

static bool is_uri_ref(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!c || !uri_char(c)) return false;
        if (c == '%') {
            if (i + 2 >= n) return false;
            for (int k = 1; k <= 2; k++) {
                char h = s[i + k];
                if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
            }
        }
    }
    /* '#' at most once, '[' ']' only in the authority */
    const char *h = memchr(s, '#', n);
    if (h && memchr(h + 1, '#', n - (size_t)(h + 1 - s))) return false;
    return true;
}

static bool is_uri(const char *s, size_t n) {
    if (!is_uri_ref(s, n) || n == 0) return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
    size_t i = 1;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                     s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i >= n || s[i] != ':') return false;
    if (i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/') {
        /* authority: no '[' unless an IP literal */
        size_t a = i + 3, e = a;
        while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#') e++;
        for (size_t k = a; k < e; k++)
            if ((s[k] == '[' || s[k] == ']') && s[a] != '[' && !memchr(s + a, '@', e - a)) return false;
    }
    return true;
}

static bool is_uuid(const char *s, size_t n) {
    if (n != 36) return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    }
    return true;
}

static bool is_email(const char *s, size_t n) {
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '@') at = s + i;
    if (!at || at == s || at == s + n - 1) return false;
    size_t nl = (size_t)(at - s);
    if (s[0] == '.' || s[nl - 1] == '.') return false;
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || strchr("()<>[]:;@\\,\"", c)) return false;
        if (c == '.' && i + 1 < nl && s[i + 1] == '.') return false;
    }
    const char *d = at + 1;
    size_t nd = n - nl - 1;
    if (d[0] == '[' && d[nd - 1] == ']') {
        if (nd > 6 && !strncmp(d + 1, "IPv6:", 5)) return is_ipv6(d + 6, nd - 7);
        return is_ipv4(d + 1, nd - 2);
    }
    return is_hostname(d, nd);
}

static bool is_json_pointer(const char *s, size_t n) {
    if (n && s[0] != '/') return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '~' && (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))) return false;
    return true;
}

static bool is_regex(const char *s, size_t n) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, n, PCRE2_UTF, &err, &off, NULL);
    if (!re) return false;
    pcre2_code_free(re);
    return true;
}

bool sch_format_ok(const char *fmt, const char *s, size_t n, bool *known) {
    *known = true;
    if (!strcmp(fmt, "date")) return is_date(s, n);
    if (!strcmp(fmt, "time")) return is_time(s, n);
    if (!strcmp(fmt, "date-time")) return is_date_time(s, n);
    if (!strcmp(fmt, "duration")) return is_duration(s, n);
    if (!strcmp(fmt, "email")) return is_email(s, n);
    if (!strcmp(fmt, "hostname")) return is_hostname(s, n);
    if (!strcmp(fmt, "ipv4")) return is_ipv4(s, n);
    if (!strcmp(fmt, "ipv6")) return is_ipv6(s, n);
    if (!strcmp(fmt, "uri")) return is_uri(s, n);
    if (!strcmp(fmt, "uri-reference")) return is_uri_ref(s, n);
    if (!strcmp(fmt, "uuid")) return is_uuid(s, n);
    if (!strcmp(fmt, "regex")) return is_regex(s, n);
    if (!strcmp(fmt, "json-pointer")) return is_json_pointer(s, n);
    *known = false;
    return true;
}
