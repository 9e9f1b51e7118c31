/*
 * gen_labelled.c — writes the labelled PII set tests/data/pii/labelled.tsv
 * (deterministic: fixed seed). Built by CMake but not a test; regenerate with
 *   build/tests/pii/pii_gen_labelled > tests/data/pii/labelled.tsv
 * and commit the file.
 *
 * Line format (TAB separated, no TABs or newlines inside fields):
 *   pos  KIND  VALUE  TEXT    TEXT contains VALUE once; it must be found as KIND
 *                             with exactly VALUE's bytes, and nothing else found
 *   neg  -     -      TEXT    nothing may be found in TEXT
 *
 * Check digits here are computed by this file's own code (independent of
 * the library's validators): ID numbers by ISO 7064 MOD 11-2, cards by Luhn.
 * Negatives are checked against every kind's rules before being written, so
 * a "wrong check digit ID" that happens to be a valid card is not used.
 * Hand-written tricky cases follow the generated ones (tricky.tsv content
 * is inline below).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static int rint_(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static void digits(char *d, int n) {
    for (int i = 0; i < n; i++) d[i] = (char)('0' + rint_(0, 9));
    d[n] = 0;
}

/* ---- check digits ---- */
static char id_check(const char *d17) {
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    for (int i = 0; i < 17; i++) s += (d17[i] - '0') * w[i];
    return "10X98765432"[s % 11];
}
static int luhn_sum(const char *d, int n) {   /* sum over d[0..n) as a full number */
    int s = 0;
    for (int k = 0; k < n; k++) {
        int v = d[n - 1 - k] - '0';
        if (k & 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        s += v;
    }
    return s;
}
static bool luhn_ok(const char *d) { return luhn_sum(d, (int)strlen(d)) % 10 == 0; }
static void luhn_complete(char *d, int n) {   /* sets d[n-1] */
    for (char c = '0'; c <= '9'; c++) {
        d[n - 1] = c;
        if (luhn_ok(d)) return;
    }
}

static const char *const PROV[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                                   "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                                   "53", "54", "61", "62", "63", "64", "65"};

static void make_id(char *out, bool want_x) {
    for (;;) {
        char d[19];
        strcpy(d, PROV[rint_(0, 30)]);
        snprintf(d + 2, 5, "%02d%02d", rint_(1, 20), rint_(1, 30));
        int y = rint_(1940, 2012), m = rint_(1, 12), dd = rint_(1, 28);
        snprintf(d + 6, 9, "%04d%02d%02d", y, m, dd);
        snprintf(d + 14, 4, "%03d", rint_(1, 999));
        char c = id_check(d);
        if ((c == 'X') != want_x) continue;
        d[17] = c;
        d[18] = 0;
        strcpy(out, d);
        return;
    }
}

static const char *const CARD_PFX[] = {"4", "51", "52", "53", "54", "55", "622", "621", "623", "625", "356", "6011"};
static void make_card(char *out, int *len_out) {
    int pi = rint_(0, 11);
    const char *p = CARD_PFX[pi];
    int n = p[0] == '4' ? (rint_(0, 3) ? 16 : 19) : p[0] == '5' ? 16 : rint_(16, 19);
    if (pi == 11) n = 16;
    strcpy(out, p);
    digits(out + strlen(p), n - (int)strlen(p));
    luhn_complete(out, n);
    *len_out = n;
}

static void make_mobile(char *out) {
    out[0] = '1';
    out[1] = (char)('0' + rint_(3, 9));
    digits(out + 2, 9);
}

/* ---- formatting ---- */
static void fullwidth(const char *in, char *out) {
    size_t j = 0;
    for (const char *c = in; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u >= 0x21 && u <= 0x7E) {
            unsigned cp = 0xFF01 + (u - 0x21);
            out[j++] = (char)(0xE0 | (cp >> 12));
            out[j++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[j++] = (char)(0x80 | (cp & 0x3F));
        } else if (u == ' ') {   /* ideographic space */
            out[j++] = (char)0xE3;
            out[j++] = (char)0x80;
            out[j++] = (char)0x80;
        } else {
            out[j++] = *c;
        }
    }
    out[j] = 0;
}

static void group(const char *d, const int *sizes, int ns, char sep, char *out) {
    size_t j = 0, k = 0;
    for (int g = 0; g < ns && d[k]; g++) {
        if (g) out[j++] = sep;
        for (int i = 0; i < sizes[g] && d[k]; i++) out[j++] = d[k++];
    }
    while (d[k]) out[j++] = d[k++];
    out[j] = 0;
}

static const char *const ZH[] = {
    "我的手机号是%s，请联系我。", "身份证号码：%s", "请把款打到%s这个账户", "服务器%s已经下线了",
    "客户张伟（%s）投诉了两次", "他说%s是他的", "地址：北京市朝阳区，备注%s。", "收到%s的消息后请回复",
};
static const char *const EN[] = {
    "Please reach me at %s tomorrow.", "My number is %s.", "value=%s;", "%s",
    "Contact: %s, thanks", "\"%s\" was in the log", "(%s)", "see %s for details",
};

static void emit(bool pos, const char *kind, const char *value, const char *text) {
    printf("%s\t%s\t%s\t%s\n", pos ? "pos" : "neg", pos ? kind : "-", pos ? value : "-", text);
}

static void ctx(char *text, size_t cap, const char *value) {
    const char *t = rint_(0, 1) ? ZH[rint_(0, 7)] : EN[rint_(0, 7)];
    snprintf(text, cap, t, value);
}

static void pos(const char *kind, const char *value) {
    char text[512];
    ctx(text, sizeof text, value);
    emit(true, kind, value, text);
}

static void neg(const char *value) {
    char text[512];
    ctx(text, sizeof text, value);
    emit(false, NULL, NULL, text);
}

/* Contexts with no card word before or after (pii.h: a Luhn-valid 16-19-digit
 * number of an unknown issuer is a card in a card context: 卡号, 银行卡,
 * 客户, card, account …, or a key=value field whose key names no other kind
 * of number). */
static const char *const NEUTRAL[] = {
    "服务器%s已经下线了", "他说%s是他的", "收到%s的消息后请回复", "Please reach me at %s tomorrow.",
    "%s", "\"%s\" was in the log", "(%s)", "see %s for details",
};
static void neg_neutral(const char *value) {
    char text[512];
    snprintf(text, sizeof text, NEUTRAL[rint_(0, 7)], value);
    emit(false, NULL, NULL, text);
}

/* card contexts (Chinese prose, key=value, JSON) */
static const char *const CARD_CTX[] = {
    "客户卡号：%s", "银行卡号%s，户名李四", "客户王芳的借记卡%s已冻结", "卡号 %s",
    "请把款打到%s这个账户", "收款账号：%s（工商银行）", "card=%s&name=zhang", "bank_card_no: %s",
    "{\"cardNo\": \"%s\"}", "account=%s;", "客户张伟（%s）投诉了两次", "Card number %s expired",
    "储蓄卡%s余额不足", "转账至%s", "acct:%s", "value=%s;",
};
/* look-alike contexts: order numbers, timestamps, phones, IDs, tracking */
static const char *const NOT_CARD_CTX[] = {
    "订单号：%s", "order_id=%s", "ts=%s", "时间戳%s", "流水号%s已入账", "运单号 %s",
    "user_id=%s", "tracking no. %s", "序列号%s", "发票号码%s", "编号：%s", "\"orderId\": \"%s\"",
    "trace=%s status=200", "快递单号%s，请查收", "客户订单号 %s", "手机%s",
};
/* issuers the IIN table does not know (pii.h), so only context makes them cards */
static void make_unknown_card(char *out, int n) {
    static const char *const PFX[] = {"9558", "9400", "1", "7", "0", "20", "28", "29", "80", "85"};
    const char *p = PFX[rint_(0, 9)];
    strcpy(out, p);
    digits(out + strlen(p), n - (int)strlen(p));
    luhn_complete(out, n);
}

/* true if digits-only d is a valid ID, card or mobile by the rules in pii.h */
static bool any_valid(const char *d) {
    size_t n = strlen(d);
    if (n == 18) {
        bool prov = false;
        for (int i = 0; i < 31; i++) prov |= !memcmp(d, PROV[i], 2);
        int mo = (d[10] - '0') * 10 + d[11] - '0', da = (d[12] - '0') * 10 + d[13] - '0';
        if (prov && mo >= 1 && mo <= 12 && da >= 1 && da <= 28 && id_check(d) == d[17]) return true;
    }
    if (n >= 13 && n <= 19 && (d[0] >= '2' && d[0] <= '6') && luhn_ok(d)) return true;
    if (n == 11 && d[0] == '1' && d[1] >= '3') return true;
    return false;
}

int main(void) {
    char v[256], w[512], d[64];
    int n;
    /* ---- positives: cn_id ---- */
    for (int i = 0; i < 40; i++) {
        make_id(d, i % 4 == 0);
        if (i % 8 == 4) d[17] = d[17] == 'X' ? 'x' : d[17];
        if (i % 5 == 1) {
            static const int s[] = {6, 8, 4};
            group(d, s, 3, ' ', v);
        } else {
            strcpy(v, d);
        }
        if (i % 6 == 2) {
            fullwidth(v, w);
            pos("cn_id", w);
        } else {
            pos("cn_id", v);
        }
    }
    /* ---- positives: bank_card ---- */
    for (int i = 0; i < 40; i++) {
        make_card(d, &n);
        static const int s4[] = {4, 4, 4, 4, 4};
        if (i % 3 == 1) group(d, s4, 5, i % 2 ? '-' : ' ', v);
        else strcpy(v, d);
        if (i % 7 == 3) {
            fullwidth(v, w);
            pos("bank_card", w);
        } else {
            pos("bank_card", v);
        }
    }
    /* amex 4-6-5 */
    for (int i = 0; i < 5; i++) {
        strcpy(d, i % 2 ? "34" : "37");
        digits(d + 2, 13);
        luhn_complete(d, 15);
        static const int s[] = {4, 6, 5};
        group(d, s, 3, ' ', v);
        pos("bank_card", v);
    }
    /* ---- positives: phone ---- */
    for (int i = 0; i < 40; i++) {
        make_mobile(d);
        static const int s[] = {3, 4, 4};
        switch (i % 6) {
        case 0: strcpy(v, d); break;
        case 1: group(d, s, 3, ' ', v); break;
        case 2: group(d, s, 3, '-', v); break;
        case 3: snprintf(v, sizeof v, "+86 %s", d); break;
        case 4: snprintf(v, sizeof v, "+86%s", d); break;
        default: snprintf(v, sizeof v, "0086-%s", d); break;
        }
        if (i % 5 == 2) {
            fullwidth(v, w);
            pos("phone", w);
        } else {
            pos("phone", v);
        }
    }
    static const char *const E164[] = {"+44 20 7946 0958", "+1 415 555 2671", "+49 30 1234567", "+33 1 23 45 67 89",
                                       "+81-3-1234-5678",  "+14155552671",    "+61 2 9876 5432", "+852 2345 6789",
                                       "+7 495 123-45-67", "+34 912 345 678"};
    for (int i = 0; i < 10; i++) pos("phone", E164[i]);
    /* ---- positives: email ---- */
    static const char *const USERS[] = {"john.doe", "li.wei", "zhang_san", "a", "first+tag", "x-y.z", "user123", "ops"};
    static const char *const DOMS[] = {"example.com", "mail.example.cn", "qq.com", "163.com", "corp.example.co.uk",
                                       "sub-domain.example.org", "gmail.com", "example.io"};
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof v, "%s%s@%s", USERS[rint_(0, 7)], i % 4 == 0 ? "2024" : "", DOMS[rint_(0, 7)]);
        pos("email", v);
    }
    /* ---- positives: ipv4 ---- */
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof v, "%d.%d.%d.%d", rint_(1, 255), rint_(0, 255), rint_(0, 255), rint_(0, 255));
        if (i == 0) strcpy(v, "0.0.0.0");
        if (i == 1) strcpy(v, "255.255.255.255");
        pos("ipv4", v);
    }
    /* ---- positives: ipv6 ---- */
    static const char *const V6[] = {"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3::8a2e:370:7334",
                                      "fe80::1ff:fe23:4567:890a", "::1", "::ffff:192.168.1.1", "2001:db8::",
                                      "2001:db8::1", "FE80::0202:B3FF:FE1E:8329", "64:ff9b::192.0.2.33",
                                      "2409:8a00:1:2::3", "fd00:1234:5678::abcd", "1:2:3:4:5:6:7:8",
                                      "::ffff:10.0.0.1", "2001:db8:0:0:1:0:0:1", "ff02::2"};
    for (int i = 0; i < 15; i++) pos("ipv6", V6[i]);
    /* groups of 1-4 hex digits, "::" for a run of zero groups, after KEY: and in Chinese text */
    static const char *const V6CTX[] = {
        "ip:%s", "IPv6：%s。", "客户登录地址%s，请核实", "src=%s dst=gw01", "from %s port 443",
        "[%s]:8080", "addr=%s;", "\"remote\":\"%s\"", "主机 %s 不可达", "peer %s/64 up",
    };
    for (int i = 0; i < 30; i++) {
        unsigned gr[8];
        for (int k = 0; k < 8; k++) {
            int nd = rint_(1, 4);
            gr[k] = rnd() & ((1u << (4 * nd)) - 1);
            if (gr[k] < (nd > 1 ? 1u << (4 * (nd - 1)) : 0u)) gr[k] |= 1u << (4 * (nd - 1));   /* nd digits */
        }
        gr[rint_(0, 7)] |= 0x1;   /* at least one decimal digit somewhere */
        int z0 = -1, zl = 0;
        if (i % 3) {   /* compress groups z0 .. z0+zl-1 */
            zl = rint_(1, 5);
            z0 = rint_(0, 8 - zl);
            for (int k = z0; k < z0 + zl; k++) gr[k] = 0;
        }
        size_t o = 0;
        for (int k = 0; k < 8; k++) {
            if (k == z0) {
                o += (size_t)snprintf(v + o, sizeof v - o, "::");
                k += zl - 1;
                continue;
            }
            if (k > 0 && k != z0 + zl) v[o++] = ':';
            o += (size_t)snprintf(v + o, sizeof v - o, i % 4 == 1 ? "%X" : "%x", gr[k]);
        }
        v[o] = 0;
        char text[512];
        snprintf(text, sizeof text, V6CTX[i % 10], v);
        emit(true, "ipv6", v, text);
    }

    /* ---- negatives: IDs with a wrong check digit / bad date / bad province ---- */
    for (int i = 0; i < 40;) {
        make_id(d, false);
        switch (i % 4) {
        case 0: d[17] = d[17] == '0' ? '1' : (char)(d[17] == 'X' ? '2' : d[17] == '9' ? '0' : d[17] + 1); break;
        case 1: d[10] = '1'; d[11] = '3'; d[17] = id_check(d); break;        /* month 13 */
        case 2: d[10] = '0'; d[11] = '2'; d[12] = '3'; d[13] = '0'; d[17] = id_check(d); break;   /* Feb 30 */
        default: d[0] = '9'; d[1] = '9'; d[17] = id_check(d); break;         /* no province 99 */
        }
        if (d[17] == 'X' || any_valid(d)) continue;
        neg(d);
        i++;
    }
    /* ---- negatives: Luhn-failing cards, 25-digit runs, bad prefixes ---- */
    for (int i = 0; i < 40;) {
        make_card(d, &n);
        switch (i % 4) {
        case 0: d[n - 1] = (char)('0' + (d[n - 1] - '0' + 3) % 10); break;   /* Luhn fails */
        case 1: digits(d + n, 25 - n); break;                                  /* card inside 25 digits */
        case 2: d[0] = '1'; break;                                             /* no issuer 1 */
        default: d[0] = '9'; luhn_complete(d, n); break;                       /* issuer 9 not accepted */
        }
        if (any_valid(d)) continue;
        if (i % 8 == 0 && n == 16) {   /* grouped: 16 digits only (no shorter valid prefix) */
            static const int s4[] = {4, 4, 4, 4, 4};
            group(d, s4, 5, ' ', v);
            neg_neutral(v);
        } else {
            neg_neutral(d);
        }
        i++;
    }
    /* ---- positives: unknown-issuer cards in a card context ---- */
    for (int i = 0; i < 48; i++) {
        n = 16 + i % 4;
        make_unknown_card(d, n);
        static const int s4[] = {4, 4, 4, 4, 4}, s6[] = {6, 13};
        if (i % 5 == 2) group(d, s4, 5, i % 2 ? '-' : ' ', v);
        else if (i % 11 == 7) group(d, s6, 2, ' ', v);
        else strcpy(v, d);
        char text[512];
        snprintf(text, sizeof text, CARD_CTX[i % 16], v);
        if (i % 9 == 4) {   /* full-width digits and colon */
            char fw[512], t2[512];
            fullwidth(v, fw);
            snprintf(t2, sizeof t2, CARD_CTX[i % 16], fw);
            emit(true, "bank_card", fw, t2);
        } else {
            emit(true, "bank_card", v, text);
        }
    }
    /* ---- negatives: Luhn-valid 16-19-digit look-alikes with their own keys ---- */
    for (int i = 0; i < 48; i++) {
        n = 16 + i % 4;
        if (i % 3 == 0) {   /* microsecond timestamps and 16-19-digit order numbers */
            snprintf(d, sizeof d, "17%02d", rint_(0, 99));
            digits(d + 4, n - 4);
            luhn_complete(d, n);
        } else if (i % 3 == 1) {
            snprintf(d, sizeof d, "2024%02d%02d", rint_(1, 12), rint_(1, 28));
            digits(d + 8, n - 8);
            luhn_complete(d, n);
        } else {
            make_unknown_card(d, n);
        }
        char text[512];
        snprintf(text, sizeof text, NOT_CARD_CTX[i % 16], d);
        emit(false, NULL, NULL, text);
    }
    /* ---- negatives: phone-like ---- */
    for (int i = 0; i < 30; i++) {
        make_mobile(d);
        switch (i % 5) {
        case 0: d[10] = 0; break;                       /* 10 digits */
        case 1: d[11] = (char)('0' + rint_(0, 9)); d[12] = 0; break;   /* 12 digits */
        case 2: d[1] = (char)('0' + rint_(0, 2)); break;   /* 10x-12x */
        case 3: snprintf(w, sizeof w, "%.3s %.4s %.3s", d, d + 3, d + 7); strcpy(d, w); break;   /* 3-4-3 */
        default: snprintf(w, sizeof w, "ORD%.11s%c", d, '0' + rint_(0, 9)); strcpy(d, w); break;
        }
        neg(d);
    }
    /* ---- negatives: IPv4-like ---- */
    for (int i = 0; i < 25; i++) {
        switch (i % 5) {
        case 0: snprintf(v, sizeof v, "%d.%d.%d.%d", rint_(256, 999), rint_(0, 255), rint_(0, 255), rint_(0, 255)); break;
        case 1: snprintf(v, sizeof v, "%d.%d.%d.%d.%d", rint_(1, 9), rint_(0, 9), rint_(0, 9), rint_(0, 9), rint_(0, 9)); break;
        case 2: snprintf(v, sizeof v, "%d.%d.%d", rint_(1, 255), rint_(0, 255), rint_(0, 255)); break;
        case 3: snprintf(v, sizeof v, "%d.%d.%d.%d", rint_(1, 255), rint_(0, 255), rint_(0, 255), rint_(300, 999)); break;
        default: snprintf(v, sizeof v, "v%d.%d.%d.%d", rint_(1, 9), rint_(0, 9), rint_(0, 20), rint_(0, 999)); break;
        }
        neg(v);
    }
    /* ---- negatives: IPv6-like ---- */
    static const char *const NV6[] = {"12:30:45", "00:1A:2B:3C:4D:5E", "std::vector<int>", "2001:db8:::1",
                                      "1:2:3:4:5:6:7:8:9", "gggg::1", "fe80::1::2", "10:00-11:30",
                                      "ratio 3:2:1", "2001:db8:85a3:0:0:8a2e:370", "12345::1", "a::b"};
    for (int i = 0; i < 12; i++) neg(NV6[i]);
    static const char *const NV6K[] = {"time:12:30:45", "mac:00:1a:2b:3c:4d:5e", "localhost:8080",
                                       "id:1:2:3", "std::vector", "a::b", "ip:abc", "port:22:tcp",
                                       "http://x:8080/a:b", "at 10:00:00:00", "key:1::", "C++ A::B::C"};
    for (int i = 0; i < 12; i++) emit(false, NULL, NULL, NV6K[i]);
    /* ---- negatives: e-mail-like ---- */
    static const char *const NEM[] = {"user@localhost", "john@", "@zhangsan", "name at example dot com",
                                      "foo@bar", "a@b.c", "x@.com", "first..last@", "follow @hearth_ai on X",
                                      "mailto:", "email: (none)", "user@-bad.com?"};
    for (int i = 0; i < 12; i++) neg(NEM[i]);

    /* ---- hand-written tricky cases ---- */
    static const char *const TRICKY[][3] = {
        {"phone", "13812345678", "订单13812345678已发货，单号20231105000123"},
        {"phone", "+86 138 0013 8000", "客服电话：+86 138 0013 8000（工作日）"},
        {"phone", "138-0013-8000", "call 138-0013-8000."},
        {"phone", "１３９００１３９０００", "电话：１３９００１３９０００，谢谢"},
        {"phone", "＋86－13900139000", "手机＋86－13900139000"},
        {"cn_id", "11010519491231002X", "身份证11010519491231002X，有效期长期"},
        {"cn_id", "440308199901010012", "ID: 440308199901010012."},
        {"cn_id", "１１０１０５１９４９１２３１００２Ｘ", "证件号１１０１０５１９４９１２３１００２Ｘ。"},
        {"bank_card", "6222 0212 3456 7890 128", "工行卡号6222 0212 3456 7890 128，户名张三"},
        {"bank_card", "4111111111111111", "test card 4111111111111111 exp 12/30"},
        {"bank_card", "5500-0000-0000-0004", "MC 5500-0000-0000-0004!"},
        {"bank_card", "378282246310005", "Amex 378282246310005"},
        {"email", "zhang.san@example.com.cn", "邮箱zhang.san@example.com.cn。"},
        {"email", "13812345678@163.com", "发到13812345678@163.com就行"},
        {"ipv4", "10.0.0.1", "ssh root@10.0.0.1 -p 22"},
        {"ipv4", "192.168.0.1", "gateway 192.168.0.1:8080/admin"},
        {"ipv4", "172.16.254.1", "网关是172.16.254.1。"},
        {"ipv6", "2001:db8::1", "http://[2001:db8::1]:8080/"},
        {"ipv6", "fe80::1", "link fe80::1%eth0 up"},
    };
    for (size_t i = 0; i < sizeof TRICKY / sizeof TRICKY[0]; i++)
        emit(true, TRICKY[i][0], TRICKY[i][1], TRICKY[i][2]);
    static const char *const TNEG[] = {
        "version 1.2.3.4.5 released", "IP 256.1.1.1 is not valid", "ISBN 978-7-111-54742-6",
        "ISBN 9787111547426", "价格：¥1,299.00，优惠价1,199.00", "时间戳1699171200123毫秒",
        "2023-11-05 14:30:00 登录", "订单号 2023110512345678", "pi=3.14159265358979323846264",
        "uuid 550e8400-e29b-41d4-a716-446655440000", "sha 3f786850e387550fdab836ed7e6dc881de23001b",
        "客服热线10086或95588", "座机010-62345678", "400-820-8820", "编号12345678901234567890123456",
        "1+13812345678x", "ratio 0.13812345678", "build 20231105.13812345678", "第13812345678a号",
        "port 8080, pid 31337, uid 1000", "2024年1月1日至2024年12月31日", "金额：13,812,345,678元",
        "发票号码044031900111 校验码12345", "credit 4111 1111 1111 1112", "card ending 1111",
        "邮编100101，区号0755", "照片IMG_20231105_138123.jpg", "coordinates 39.9042,116.4074",
        "版本10.0.19045.2364", "hash a13812345678b", "1234567890123", "0.0.0", "::", "C++ A::B::C",
        "温度-12.5℃到+13.8℃", "tel: 12345", "+1", "+12 34", "电话号码：(未填写)", "12345678901X",
        "ISBN-10 0-306-40615-2", "SKU 12-3456-7890", "Room 1203, Building 5", "06/15/2024", "2024/06/15",
        "¥13,800", "订单编号：SO2023110500012", "tracking 1Z999AA10123456784", "MAC 00-1A-2B-3C-4D-5E",
        "page 13 of 138", "序列号 SN4111111111111111A", "0086", "+86", "+86 12345", "电话 138 0013 800",
    };
    for (size_t i = 0; i < sizeof TNEG / sizeof TNEG[0]; i++) emit(false, NULL, NULL, TNEG[i]);
    return 0;
}
