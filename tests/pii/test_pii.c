/*
 * test_pii.c — unit tests of include/hearth/pii.h: validators, boundaries,
 * full-width offsets, overlaps, policies, mask/unmask round trips (whole and
 * streamed, split at every byte), redact, block, custom patterns, keywords,
 * JSON masking.
 */
#include "harness.h"
#include "hearth/pii.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */
static hearth_pii_policy *pol(void) { return hearth_pii_policy_create(HEARTH_PII_MASK); }

/* Findings of text as "kind@off+len;..." */
static const char *scan_str(const hearth_pii_policy *p, const char *text) {
    static char out[2048];
    hearth_pii_finding *f;
    size_t n;
    out[0] = 0;
    if (hearth_pii_scan(p, text, strlen(text), &f, &n) != HEARTH_OK) return "ERROR";
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%s%s@%zu+%zu", l ? ";" : "", f[i].kind, f[i].offset, f[i].length);
    }
    free(f);
    return out;
}

static char *mask(const hearth_pii_policy *p, hearth_pii_mapping *m, const char *text) {
    char *out = NULL;
    size_t n;
    hearth_status st = hearth_pii_mask(p, m, text, strlen(text), &out, &n);
    CHECK_EQ_INT(st, HEARTH_OK);
    if (out) CHECK_EQ_INT(strlen(out), n);
    return out;
}

/* ---- validators ---- */
TEST(cn_id_check_digit) {
    CHECK(hearth_pii_valid_cn_id("11010519491231002X", 18));
    CHECK(hearth_pii_valid_cn_id("11010519491231002x", 18));
    CHECK(hearth_pii_valid_cn_id("440308199901010012", 18));
    CHECK(!hearth_pii_valid_cn_id("110105194912310021", 18));   /* check digit should be X */
    CHECK(!hearth_pii_valid_cn_id("440308199901010013", 18));   /* wrong check digit */
    CHECK(!hearth_pii_valid_cn_id("11010519491231002", 17));
    CHECK(!hearth_pii_valid_cn_id("1101051949123100X2", 18));   /* X only last */
    /* dates: Feb 29 only in leap years (check digits computed for each) */
    char id[19] = "11010520000229001";
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    for (int i = 0; i < 17; i++) s += (id[i] - '0') * w[i];
    id[17] = "10X98765432"[s % 11];
    CHECK(hearth_pii_valid_cn_id(id, 18));                     /* 2000-02-29: leap */
    memcpy(id + 6, "19000229", 8);
    s = 0;
    for (int i = 0; i < 17; i++) s += (id[i] - '0') * w[i];
    id[17] = "10X98765432"[s % 11];
    CHECK(!hearth_pii_valid_cn_id(id, 18));                    /* 1900-02-29: not leap */
    memcpy(id, "99", 2);
    memcpy(id + 6, "19900101", 8);
    s = 0;
    for (int i = 0; i < 17; i++) s += (id[i] - '0') * w[i];
    id[17] = "10X98765432"[s % 11];
    CHECK(!hearth_pii_valid_cn_id(id, 18));                    /* province 99 */
}

TEST(luhn_and_cards) {
    CHECK(hearth_pii_luhn("79927398713", 11));
    CHECK(!hearth_pii_luhn("79927398710", 11));
    CHECK(!hearth_pii_luhn("7992a398713", 11));
    CHECK(hearth_pii_valid_card("4111111111111111", 16));
    CHECK(hearth_pii_valid_card("378282246310005", 15));      /* Amex */
    CHECK(hearth_pii_valid_card("5500000000000004", 16));
    CHECK(hearth_pii_valid_card("6222021234567890128", 19));  /* UnionPay 19 */
    CHECK(!hearth_pii_valid_card("4111111111111112", 16));    /* Luhn fails */
    CHECK(!hearth_pii_valid_card("1111111111111117", 16));    /* Luhn ok, no issuer 1 */
    CHECK(!hearth_pii_valid_card("378282246310005", 14));
    CHECK(!hearth_pii_valid_card("41111111111111111111", 20));
}

TEST(ip_validators) {
    CHECK(hearth_pii_valid_ipv4("0.0.0.0", 7));
    CHECK(hearth_pii_valid_ipv4("255.255.255.255", 15));
    CHECK(!hearth_pii_valid_ipv4("256.1.1.1", 9));
    CHECK(!hearth_pii_valid_ipv4("1.2.3", 5));
    CHECK(!hearth_pii_valid_ipv4("1.2.3.4.5", 9));
    CHECK(!hearth_pii_valid_ipv4("01.2.3.4", 8));
    CHECK(!hearth_pii_valid_ipv4("1..3.4", 6));
    const char *good[] = {"::1", "::", "2001:db8::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::",
                          "::ffff:192.168.1.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_MSG(hearth_pii_valid_ipv6(good[i], strlen(good[i])), "%s", good[i]);
    const char *bad[] = {"1:2:3:4:5:6:7:8:9", "2001:db8:::1", "1::2::3", "12345::1", "gggg::1", ":1:2:3:4:5:6:7",
                         "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:256.1.1.1", "1:2:3:4:5:6:7:8:"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(!hearth_pii_valid_ipv6(bad[i], strlen(bad[i])), "%s", bad[i]);
}

/* ---- detection: boundaries, full-width, overlaps ---- */
TEST(boundaries) {
    hearth_pii_policy *p = pol();
    CHECK_STR(scan_str(p, "x 4111111111111111 y"), "bank_card@2+16");
    CHECK_STR(scan_str(p, "x 4111111111111111123456789 y"), "");        /* inside a 25-digit run */
    CHECK_STR(scan_str(p, "413812345678"), "");                        /* phone inside a longer run */
    CHECK_STR(scan_str(p, "13812345678 13912345678"), "phone@0+11;phone@12+11");
    CHECK_STR(scan_str(p, "4111 1111 1111 1111 2023"), "bank_card@0+19");
    CHECK_STR(scan_str(p, "1.2.3.4.5 and 256.1.1.1"), "");
    CHECK_STR(scan_str(p, "at 10.1.2.3."), "ipv4@3+8");
    CHECK_STR(scan_str(p, "pi 3.13812345678"), "");
    CHECK_STR(scan_str(p, "abc13812345678"), "");                      /* glued to letters: a code */
    CHECK_STR(scan_str(p, "电话13812345678。"), "phone@6+11");
    CHECK_STR(scan_str(p, "1+13812345678"), "phone@2+11");             /* '+' as an operator */
    CHECK_STR(scan_str(p, "+86 138 1234 5678"), "phone@0+17");
    CHECK_STR(scan_str(p, "0086 13812345678"), "phone@0+16");
    CHECK_STR(scan_str(p, "call +1 415 555 2671 now"), "phone@5+15");
    CHECK_STR(scan_str(p, "+1 415 555 2671 1234 5678"), "");           /* over 15 digits: not E.164 */
    CHECK_STR(scan_str(p, "12:30:45 std::vector a::b ::"), "");
    CHECK_STR(scan_str(p, "[2001:db8::1]:80"), "ipv6@1+11");
    hearth_pii_policy_free(p);
}

TEST(fullwidth_offsets) {
    hearth_pii_policy *p = pol();
    /* "电话" (6 bytes) then 11 full-width digits (33 bytes) then "，" */
    const char *t = "电话１３８１２３４５６７８，ok";
    CHECK_STR(scan_str(p, t), "phone@6+33");
    /* full-width X check digit and ideographic spaces as separators */
    const char *id = "号码110105　19491231　002Ｘ end";
    CHECK_STR(scan_str(p, id), "cn_id@6+26");
    /* full-width e-mail @ and dot */
    CHECK_STR(scan_str(p, "a＠example．com"), "email@0+17");
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    char *o = mask(p, m, t);
    CHECK_STR(o, "电话[PHONE_1]，ok");
    char *u = NULL;
    size_t un;
    CHECK_EQ_INT(hearth_pii_unmask(m, o, strlen(o), &u, &un), HEARTH_OK);
    CHECK_STR(u, t);
    free(o);
    free(u);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

TEST(overlaps) {
    hearth_pii_policy *p = pol();
    /* the e-mail contains a phone number: the longer e-mail wins */
    CHECK_STR(scan_str(p, "13812345678@163.com"), "email@0+19");
    /* 18 digits valid both as an ID (province 62) and as a UnionPay card? ID wins at equal length */
    const char *both = NULL;
    static char buf[32];
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    for (int seq = 0; seq < 1000 && !both; seq++) {
        snprintf(buf, sizeof buf, "62010219900101%03d", seq);
        int s = 0;
        for (int i = 0; i < 17; i++) s += (buf[i] - '0') * w[i];
        buf[17] = "10X98765432"[s % 11];
        buf[18] = 0;
        if (buf[17] != 'X' && hearth_pii_valid_card(buf, 18)) both = buf;
    }
    CHECK(both != NULL);
    if (both) CHECK_STR(scan_str(p, both), "cn_id@0+18");
    hearth_pii_policy_free(p);
}

/* ---- masking ---- */
TEST(mask_unmask_roundtrip) {
    hearth_pii_policy *p = pol();
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    const char *t = "Mail a@example.com and b@example.org, again a@example.com; call 13812345678.";
    char *o = mask(p, m, t);
    CHECK_STR(o, "Mail [EMAIL_1] and [EMAIL_2], again [EMAIL_1]; call [PHONE_1].");
    CHECK_EQ_INT(hearth_pii_mapping_count(m), 3);
    CHECK_STR(hearth_pii_mapping_kinds(m), "email,phone");
    CHECK_STR(hearth_pii_mapping_blocked(m), "");
    /* a second message of the same request continues the numbering */
    char *o2 = mask(p, m, "and c@example.net or a@example.com");
    CHECK_STR(o2, "and [EMAIL_3] or [EMAIL_1]");
    /* model output with placeholders, an unknown one, and brackets */
    const char *reply = "Sent to [EMAIL_2] and [EMAIL_1]; [EMAIL_9] unknown, [PHONE_1] ok [x]";
    char *u = NULL;
    size_t un;
    CHECK_EQ_INT(hearth_pii_unmask(m, reply, strlen(reply), &u, &un), HEARTH_OK);
    CHECK_STR(u, "Sent to b@example.org and a@example.com; [EMAIL_9] unknown, 13812345678 ok [x]");
    free(u);
    CHECK_EQ_INT(hearth_pii_unmask(m, o, strlen(o), &u, &un), HEARTH_OK);
    CHECK_STR(u, t);
    free(u);
    free(o);
    free(o2);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

TEST(streaming_unmask_every_split) {
    hearth_pii_policy *p = pol();
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    const char *t = "x a@example.com y 13812345678 z 11010519491231002X";
    char *o = mask(p, m, t);
    CHECK_STR(o, "x [EMAIL_1] y [PHONE_1] z [ID_1]");
    /* plus text that looks like a placeholder start but is not one */
    char model[256];
    snprintf(model, sizeof model, "%s [A [EMAIL_1 [EMAIL_1]] [", o);
    char want[256];
    snprintf(want, sizeof want, "%s [A [EMAIL_1 a@example.com] [", t);
    size_t n = strlen(model);
    int bad = 0;
    /* two chunks, split at every byte; then three chunks at every pair */
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b += (a == 0 ? 1 : n)) {
            hearth_pii_unmasker *u = hearth_pii_unmasker_create(m);
            char got[512] = "";
            size_t gl = 0;
            const char *out;
            size_t ol;
            size_t cuts[4] = {0, a, b, n};
            for (int c = 0; c < 3; c++) {
                CHECK_EQ_INT(hearth_pii_unmasker_feed(u, model + cuts[c], cuts[c + 1] - cuts[c], &out, &ol), HEARTH_OK);
                memcpy(got + gl, out, ol);
                gl += ol;
            }
            CHECK_EQ_INT(hearth_pii_unmasker_finish(u, &out, &ol), HEARTH_OK);
            memcpy(got + gl, out, ol);
            gl += ol;
            got[gl] = 0;
            if (strcmp(got, want)) {
                if (bad++ < 3) fprintf(stderr, "split %zu/%zu: got \"%s\"\n", a, b, got);
            }
            hearth_pii_unmasker_free(u);
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* one byte at a time */
    hearth_pii_unmasker *u = hearth_pii_unmasker_create(m);
    char got[512] = "";
    size_t gl = 0;
    const char *out;
    size_t ol;
    for (size_t i = 0; i < n; i++) {
        hearth_pii_unmasker_feed(u, model + i, 1, &out, &ol);
        memcpy(got + gl, out, ol);
        gl += ol;
    }
    hearth_pii_unmasker_finish(u, &out, &ol);
    memcpy(got + gl, out, ol);
    got[gl + ol] = 0;
    CHECK_STR(got, want);
    hearth_pii_unmasker_free(u);
    free(o);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

TEST(redact_and_allow) {
    hearth_pii_policy *p = pol();
    CHECK_EQ_INT(hearth_pii_policy_parse(p, "email=redact,phone=allow,ipv4=mask"), HEARTH_OK);
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    char *o = mask(p, m, "a@example.com 13812345678 10.0.0.1");
    CHECK_STR(o, "[EMAIL] 13812345678 [IPV4_1]");
    CHECK_STR(hearth_pii_mapping_kinds(m), "email,phone,ipv4");
    CHECK_EQ_INT(hearth_pii_mapping_count(m), 1);   /* redacted values are not kept */
    free(o);
    hearth_pii_policy_set_redact_generic(p, true);
    o = mask(p, m, "b@example.com");
    CHECK_STR(o, "[REDACTED]");
    free(o);
    CHECK_EQ_INT(hearth_pii_policy_action(p, "phone"), HEARTH_PII_ALLOW);
    CHECK_EQ_INT(hearth_pii_policy_parse(p, "all=allow"), HEARTH_OK);
    CHECK_EQ_INT(hearth_pii_policy_action(p, "email"), HEARTH_PII_ALLOW);
    /* bad specs name the bad part */
    CHECK_EQ_INT(hearth_pii_policy_parse(p, "email=hide"), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "hide") != NULL);
    CHECK_EQ_INT(hearth_pii_policy_parse(p, "mail=mask"), HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "mail") != NULL);
    CHECK_EQ_INT(hearth_pii_policy_parse(p, "email"), HEARTH_ERR_INVALID_ARG);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

TEST(block_lists_kinds_not_values) {
    hearth_pii_policy *p = pol();
    CHECK_EQ_INT(hearth_pii_policy_parse(p, "cn_id=block,bank_card=block"), HEARTH_OK);
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    char *o = mask(p, m, "id 11010519491231002X, mail a@example.com");
    CHECK_STR(hearth_pii_mapping_blocked(m), "cn_id");
    CHECK_STR(hearth_pii_mapping_kinds(m), "cn_id,email");
    CHECK(strstr(o, "11010519491231002X") == NULL);   /* blocked values never in the output */
    CHECK_STR(o, "id [ID], mail [EMAIL_1]");
    free(o);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

TEST(custom_patterns) {
    hearth_pii_policy *p = pol();
    CHECK_EQ_INT(hearth_pii_policy_add_pattern(p, "employee_id", "EMP-[0-9]{6}", HEARTH_PII_MASK), HEARTH_OK);
    CHECK_EQ_INT(hearth_pii_policy_add_pattern(p, "project", "项目[A-Z]+", HEARTH_PII_REDACT), HEARTH_OK);
    CHECK_STR(scan_str(p, "by EMP-123456 in 项目ALPHA"), "employee_id@3+10;project@17+11");
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    char *o = mask(p, m, "by EMP-123456 in 项目ALPHA and EMP-654321");
    CHECK_STR(o, "by [EMPLOYEE_ID_1] in [PROJECT] and [EMPLOYEE_ID_2]");
    free(o);
    /* errors name the pattern */
    CHECK_EQ_INT(hearth_pii_policy_add_pattern(p, "broken", "a(b", HEARTH_PII_MASK), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "broken") != NULL);
    CHECK_EQ_INT(hearth_pii_policy_add_pattern(p, "Bad Name", "x", HEARTH_PII_MASK), HEARTH_ERR_INVALID_ARG);
    CHECK_EQ_INT(hearth_pii_policy_add_pattern(p, "email", "x", HEARTH_PII_MASK), HEARTH_ERR_INVALID_ARG);
    CHECK_EQ_INT(hearth_pii_policy_set(p, "employee_id", HEARTH_PII_ALLOW), HEARTH_OK);
    CHECK_EQ_INT(hearth_pii_policy_action(p, "employee_id"), HEARTH_PII_ALLOW);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
    /* a catastrophic pattern fails with an error instead of hanging */
    p = pol();
    CHECK_EQ_INT(hearth_pii_policy_add_pattern(p, "slow", "(a+)+$", HEARTH_PII_MASK), HEARTH_OK);
    char text[64];
    memset(text, 'a', 40);
    strcpy(text + 40, "!");
    hearth_pii_finding *f;
    size_t n;
    CHECK(hearth_pii_scan(p, text, strlen(text), &f, &n) != HEARTH_OK);
    CHECK(strstr(hearth_last_error(), "slow") != NULL);
    hearth_pii_policy_free(p);
}

TEST(keywords) {
    hearth_pii_policy *p = pol();
    const char *words[] = {"Project Falcon", "falcon", "张三", ""};
    CHECK_EQ_INT(hearth_pii_policy_add_keywords(p, "codename", words, 4, true, HEARTH_PII_MASK), HEARTH_OK);
    /* case-insensitive, longest first, whole words (not inside "falcons"), CJK without spaces */
    CHECK_STR(scan_str(p, "PROJECT FALCON, falcons, Falcon; 客户张三说"),
              "codename@0+14;codename@25+6;codename@39+6");
    const char *w2[] = {"falcon"};
    CHECK_EQ_INT(hearth_pii_policy_add_keywords(p, "sub", w2, 1, false, HEARTH_PII_MASK), HEARTH_OK);
    hearth_pii_policy *q = pol();
    CHECK_EQ_INT(hearth_pii_policy_add_keywords(q, "sub", w2, 1, false, HEARTH_PII_MASK), HEARTH_OK);
    CHECK_STR(scan_str(q, "falcons"), "sub@0+6");
    const char *none[] = {""};
    CHECK_EQ_INT(hearth_pii_policy_add_keywords(q, "empty", none, 1, true, HEARTH_PII_MASK), HEARTH_ERR_INVALID_ARG);
    hearth_pii_policy_free(q);
    hearth_pii_policy_free(p);
}

TEST(json_masking) {
    hearth_pii_policy *p = pol();
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    const char *j = "{\"z\":1,\"messages\":[{\"role\":\"user\",\"content\":\"mail a@example.com\"},"
                    "{\"role\":\"assistant\",\"content\":\"ok, a@example.com and 13812345678\"}],"
                    "\"a@example.com\":true,\"n\":[1.5,null,\"10.0.0.1\"]}";
    char *o = NULL;
    size_t n;
    CHECK_EQ_INT(hearth_pii_mask_json(p, m, j, strlen(j), &o, &n), HEARTH_OK);
    CHECK_STR(o, "{\"z\":1,\"messages\":[{\"role\":\"user\",\"content\":\"mail [EMAIL_1]\"},"
                 "{\"role\":\"assistant\",\"content\":\"ok, [EMAIL_1] and [PHONE_1]\"}],"
                 "\"a@example.com\":true,\"n\":[1.5,null,\"[IPV4_1]\"]}");
    free(o);
    CHECK_EQ_INT(hearth_pii_mask_json(p, m, "{\"a\":", 5, &o, &n), HEARTH_ERR_FORMAT);
    CHECK(o == NULL);
    CHECK_EQ_INT(hearth_pii_mask_json(p, m, "{} x", 4, &o, &n), HEARTH_ERR_FORMAT);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

TEST(null_and_empty) {
    hearth_pii_policy_free(NULL);
    hearth_pii_mapping_free(NULL);
    hearth_pii_unmasker_free(NULL);
    hearth_pii_policy *p = pol();
    hearth_pii_finding *f;
    size_t n;
    CHECK_EQ_INT(hearth_pii_scan(p, "", 0, &f, &n), HEARTH_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(hearth_pii_scan(NULL, "x", 1, &f, &n) != HEARTH_OK);
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    char *o = mask(p, m, "");
    CHECK_STR(o, "");
    free(o);
    /* an empty mapping holds nothing back */
    hearth_pii_unmasker *u = hearth_pii_unmasker_create(m);
    const char *out;
    size_t ol;
    CHECK_EQ_INT(hearth_pii_unmasker_feed(u, "abc [EM", 7, &out, &ol), HEARTH_OK);
    CHECK_EQ_INT(ol, 7);
    hearth_pii_unmasker_free(u);
    hearth_pii_mapping_free(m);
    hearth_pii_policy_free(p);
}

int main(void) {
    RUN(cn_id_check_digit);
    RUN(luhn_and_cards);
    RUN(ip_validators);
    RUN(boundaries);
    RUN(fullwidth_offsets);
    RUN(overlaps);
    RUN(mask_unmask_roundtrip);
    RUN(streaming_unmask_every_split);
    RUN(redact_and_allow);
    RUN(block_lists_kinds_not_values);
    RUN(custom_patterns);
    RUN(keywords);
    RUN(json_masking);
    RUN(null_and_empty);
    return harness_done();
}
