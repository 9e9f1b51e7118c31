/* test_helpers.c — the core buffer and UTF-8 module. */
#include "harness.h"

#include "core/buf.h"
#include "core/utf8.h"
#include "core/lines.h"

#include <stdlib.h>

TEST(buf_appends_and_takes) {
    hearth_buf b = {0};
    hearth_buf_puts(&b, "n=");
    hearth_buf_printf(&b, "%d", 42);
    hearth_buf_putc(&b, ';');
    CHECK(!b.oom);
    CHECK_STR(b.data, "n=42;");
    /* a long printf goes past the stack buffer */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    hearth_buf_printf(&b, "[%s]", big);
    CHECK_EQ_INT((long long)b.len, 5 + 1001);
    CHECK(b.data[b.len] == 0 && b.data[b.len - 1] == ']');
    size_t n;
    char *s = hearth_buf_take(&b, &n);
    CHECK_EQ_INT((long long)n, 1006);
    CHECK(b.data == NULL && b.len == 0);
    free(s);
    s = hearth_buf_take(&b, &n);   /* empty buffer gives "" */
    CHECK(s && s[0] == 0 && n == 0);
    free(s);
    hearth_buf_free(&b);
    hearth_buf_free(NULL);
}

TEST(buf_json_string_escapes) {
    hearth_buf b = {0};
    const char in[] = "a\"b\\c\n\x01\xc3\xa9";
    hearth_buf_json_str(&b, in, sizeof in - 1);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    hearth_buf_reset(&b);
    CHECK_EQ_INT((long long)b.len, 0);
    hearth_buf_json_str(&b, "", 0);
    CHECK_STR(b.data, "\"\"");
    hearth_buf_free(&b);
}

TEST(grow_doubles_and_keeps_items) {
    int *a = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK(HEARTH_GROW(a, cap, (size_t)i + 1));
        a[i] = i;
    }
    CHECK(cap >= 1000);
    long long sum = 0;
    for (int i = 0; i < 1000; i++) sum += a[i];
    CHECK_EQ_INT(sum, 999LL * 1000 / 2);
    free(a);
}

TEST(utf8_decodes_strictly) {
    size_t len;
    CHECK_EQ_INT(hearth_utf8_decode("\xe4\xb8\xad", 3, &len), 0x4E2D);
    CHECK_EQ_INT((long long)len, 3);
    CHECK_EQ_INT(hearth_utf8_decode("\xf0\x9f\x98\x80", 4, &len), 0x1F600);
    CHECK_EQ_INT(hearth_utf8_decode("\xc0\xaf", 2, &len), -1);       /* overlong '/' */
    CHECK_EQ_INT(hearth_utf8_decode("\xed\xa0\x80", 3, &len), -1);   /* surrogate */
    CHECK_EQ_INT(hearth_utf8_decode("\xf4\x90\x80\x80", 4, &len), -1); /* > U+10FFFF */
    CHECK_EQ_INT(hearth_utf8_decode("\xe4\xb8", 2, &len), -1);       /* truncated */
    CHECK_EQ_INT((long long)len, 1);
    CHECK_EQ_INT(hearth_utf8_decode_lenient("\xff" "a", 2, &len), 0xFFFD);
    CHECK_EQ_INT((long long)len, 1);
}

TEST(utf8_encode_round_trips) {
    uint32_t cps[] = {0x24, 0xA2, 0x20AC, 0x10348, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char out[4];
        size_t n = hearth_utf8_encode(cps[i], out), len;
        CHECK_EQ_INT(hearth_utf8_decode(out, n, &len), (long long)cps[i]);
        CHECK_EQ_INT((long long)len, (long long)n);
    }
    char out[4];
    CHECK_EQ_INT((long long)hearth_utf8_encode(0xD800, out), 3);   /* surrogate -> U+FFFD */
    CHECK(memcmp(out, "\xef\xbf\xbd", 3) == 0);
}

TEST(utf8_lenient_decoding_is_the_reference_tokenizers) {
    size_t len;
    /* overlong '/' and a surrogate decode to what they spell, as in llama.cpp */
    CHECK_EQ_INT(hearth_utf8_decode_lenient("\xc0\xaf", 2, &len), 0x2F);
    CHECK_EQ_INT((long long)len, 2);
    CHECK_EQ_INT(hearth_utf8_decode_lenient("\xed\xa0\x80", 3, &len), 0xD800);
    CHECK_EQ_INT(hearth_utf8_decode_lenient("\xf4\x90\x80\x80", 4, &len), 0xFFFD);   /* > U+10FFFF */
    CHECK_EQ_INT((long long)len, 1);
    CHECK_EQ_INT(hearth_utf8_decode_lenient("\xe4\xb8", 2, &len), 0xFFFD);              /* truncated */
    CHECK_EQ_INT((long long)len, 1);
    char out[4];
    CHECK_EQ_INT((long long)hearth_utf8_encode_lenient(0xD800, out), 3);   /* round-trips */
    CHECK(memcmp(out, "\xed\xa0\x80", 3) == 0);
    CHECK_EQ_INT((long long)hearth_utf8_seq_len(0x80), 1);
    CHECK_EQ_INT((long long)hearth_utf8_seq_len(0xF8), 4);
}

TEST(utf8_tells_cut_off_from_malformed) {
    CHECK(hearth_utf8_incomplete("\xe4\xb8", 2));      /* the start of U+4E2D */
    CHECK(hearth_utf8_incomplete("\xf0", 1));
    CHECK(!hearth_utf8_incomplete("\xe4\xb8\xad", 3)); /* complete */
    CHECK(!hearth_utf8_incomplete("\xe0\x80", 2));      /* can only become an overlong */
    CHECK(!hearth_utf8_incomplete("\xed\xa0", 2));      /* can only become a surrogate */
    CHECK(!hearth_utf8_incomplete("\xe4" "a", 2));
    CHECK(!hearth_utf8_incomplete("", 0));
}

TEST(unicode_case_mapping_needs_no_locale) {
    CHECK_EQ_INT(hearth_uc_toupper(0xE9), 0xC9);     /* é -> É */
    CHECK_EQ_INT(hearth_uc_tolower(0x41F), 0x43F);   /* П -> п */
    CHECK_EQ_INT(hearth_uc_toupper(0x1C6), 0x1C4);   /* dž -> DŽ */
    CHECK_EQ_INT(hearth_uc_totitle(0x1C6), 0x1C5);   /* dž -> Dž */
    CHECK_EQ_INT(hearth_uc_totitle('a'), 'A');
    CHECK_EQ_INT(hearth_uc_toupper(0x4E2D), 0x4E2D); /* uncased */
    CHECK(hearth_uc_flags(0x17C) & HEARTH_UC_LETTER); /* ż */
    CHECK(hearth_uc_flags(0x3000) & HEARTH_UC_SPACE);
    CHECK(!(hearth_uc_flags('7') & HEARTH_UC_LETTER));
    CHECK_EQ_INT(hearth_uc_nfd_first(0xE9), 'e');
    CHECK_EQ_INT(hearth_uc_flags(0x110000), 0);
}

TEST(utf8_validates_and_finds_boundaries) {
    size_t bad = 0;
    CHECK(hearth_utf8_valid("h\xc3\xa9llo", 6, &bad));
    CHECK(!hearth_utf8_valid("ab\x80" "cd", 5, &bad));
    CHECK_EQ_INT((long long)bad, 2);
    /* "a" + first two bytes of a 3-byte sequence: only "a" may be flushed */
    CHECK_EQ_INT((long long)hearth_utf8_complete_prefix("a\xe4\xb8", 3), 1);
    CHECK_EQ_INT((long long)hearth_utf8_complete_prefix("a\xe4\xb8\xad", 4), 4);
    CHECK_EQ_INT((long long)hearth_utf8_complete_prefix("\xf0\x9f\x98", 3), 0);
    CHECK_EQ_INT((long long)hearth_utf8_complete_prefix("ab", 2), 2);
    CHECK_EQ_INT((long long)hearth_utf8_count("a\xe4\xb8\xad\xff", 5), 3);
}

TEST(lines_from_memory_and_files) {
    const char *text = "one\r\ntwo\n\nthree";
    hearth_lines r;
    hearth_lines_mem(&r, text, strlen(text));
    const char *want[] = {"one", "two", "", "three"};
    const char *line;
    size_t n, k = 0;
    while (hearth_lines_next(&r, &line, &n)) {
        CHECK(k < 4);
        if (k >= 4) break;
        CHECK_EQ_INT((long long)n, (long long)strlen(want[k]));
        CHECK(memcmp(line, want[k], n) == 0);
        CHECK_EQ_INT((long long)r.line_no, (long long)k + 1);
        k++;
    }
    CHECK_EQ_INT((long long)k, 4);
    /* a FILE: a line longer than any fixed buffer, CRLF, a final line without an ending */
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    for (int i = 0; i < 100000; i++) fputc('x', f);
    fputs("\r\nend", f);
    rewind(f);
    hearth_lines_file(&r, f);
    CHECK(hearth_lines_next(&r, &line, &n));
    CHECK_EQ_INT((long long)n, 100000);
    CHECK_EQ_INT((long long)strlen(line), 100000);
    CHECK(hearth_lines_next(&r, &line, &n));
    CHECK_STR(line, "end");
    CHECK(!hearth_lines_next(&r, &line, &n));
    CHECK(!r.error);
    hearth_lines_free(&r);
    fclose(f);
}

/* a buffer on caller-provided memory: every block from a fixed pool */
typedef struct pool { char mem[4096]; size_t used; int calls; } pool;
static void *pool_realloc(void *ctx, void *p, size_t keep, size_t size) {
    pool *pl = ctx;
    pl->calls++;
    if (pl->used + size > sizeof pl->mem) return NULL;
    char *q = pl->mem + pl->used;
    pl->used += size;
    if (keep) memcpy(q, p, keep);
    return q;
}

TEST(buf_with_its_own_allocator) {
    static pool pl;
    hearth_buf b = {0};
    b.realloc_fn = pool_realloc;
    b.alloc_ctx = &pl;
    for (int i = 0; i < 20; i++) hearth_buf_puts(&b, "0123456789");
    CHECK(!b.oom);
    CHECK_EQ_INT((long long)b.len, 200);
    CHECK(b.data >= pl.mem && b.data < pl.mem + sizeof pl.mem);
    CHECK(memcmp(b.data + 190, "0123456789", 11) == 0);   /* NUL-terminated */
    CHECK(pl.calls >= 2);
    for (int i = 0; i < 400; i++) hearth_buf_puts(&b, "0123456789");   /* more than the pool */
    CHECK(b.oom);
    hearth_buf_free(&b);   /* forgets the pool's memory, frees nothing */
    CHECK(b.data == NULL);
}

int main(void) {
    RUN(buf_appends_and_takes);
    RUN(buf_json_string_escapes);
    RUN(grow_doubles_and_keeps_items);
    RUN(utf8_decodes_strictly);
    RUN(utf8_encode_round_trips);
    RUN(utf8_validates_and_finds_boundaries);
    RUN(utf8_lenient_decoding_is_the_reference_tokenizers);
    RUN(utf8_tells_cut_off_from_malformed);
    RUN(unicode_case_mapping_needs_no_locale);
    RUN(lines_from_memory_and_files);
    RUN(buf_with_its_own_allocator);
    return harness_done();
}
