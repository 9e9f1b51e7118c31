/*
 * test_stop.c — stop strings over streamed text: held-back text, cutting,
 * and that the emitted pieces always add up to the final text.
 */
#include "harness.h"
#include "hearth/generate.h"
#include "hearth/sample.h"

#include <stdlib.h>

typedef struct acc {
    char s[4096];
    size_t n;
} acc;

static bool push(hearth_stop_matcher *m, acc *a, const char *t) {
    const char *e;
    size_t n;
    bool stop = hearth_stop_matcher_push(m, t, strlen(t), &e, &n);
    memcpy(a->s + a->n, e, n);
    a->n += n;
    a->s[a->n] = 0;
    return stop;
}

static void flush(hearth_stop_matcher *m, acc *a) {
    const char *e;
    size_t n;
    hearth_stop_matcher_flush(m, &e, &n);
    memcpy(a->s + a->n, e, n);
    a->n += n;
    a->s[a->n] = 0;
}

TEST(holds_back_and_cuts) {
    const char *stops[] = {"END", "\n\n"};
    hearth_stop_matcher *m = hearth_stop_matcher_create(stops, 2);
    acc a = {{0}, 0};
    CHECK(!push(m, &a, "Hello E"));
    CHECK_STR(a.s, "Hello ");          /* "E" may start END */
    CHECK(!push(m, &a, "N"));
    CHECK_STR(a.s, "Hello ");
    CHECK(!push(m, &a, "X\n"));
    CHECK_STR(a.s, "Hello ENX");       /* not END after all; "\n" may start "\n\n" */
    CHECK(push(m, &a, " foo END bar"));
    CHECK_STR(a.s, "Hello ENX\n foo ");
    CHECK(push(m, &a, "more"));         /* finished: nothing more comes out */
    flush(m, &a);
    CHECK_STR(a.s, "Hello ENX\n foo ");
    hearth_stop_matcher_free(m);

    /* no stop strings: everything passes straight through */
    m = hearth_stop_matcher_create(NULL, 0);
    a.n = 0;
    CHECK(!push(m, &a, "abc"));
    CHECK_STR(a.s, "abc");
    hearth_stop_matcher_free(m);

    /* earliest of two overlapping stops wins */
    const char *two[] = {"cd", "bcde"};
    m = hearth_stop_matcher_create(two, 2);
    a.n = 0;
    CHECK(!push(m, &a, "ab"));
    CHECK(push(m, &a, "cdef"));
    CHECK_STR(a.s, "a");
    hearth_stop_matcher_free(m);
}

TEST(utf8_never_split) {
    const char *stops[] = {"\xc3\xa9!"};   /* "é!" */
    hearth_stop_matcher *m = hearth_stop_matcher_create(stops, 1);
    acc a = {{0}, 0};
    CHECK(!push(m, &a, "caf"));
    CHECK(!push(m, &a, "\xc3\xa9"));
    CHECK_STR(a.s, "caf");
    CHECK(!push(m, &a, "?"));
    CHECK_STR(a.s, "caf\xc3\xa9?");
    CHECK(push(m, &a, "\xc3\xa9!"));
    CHECK_STR(a.s, "caf\xc3\xa9?");
    hearth_stop_matcher_free(m);
}

TEST(random_pieces_add_up) {
    hearth_rng r;
    hearth_rng_seed(&r, 3);
    const char *stops[] = {"abca", "cc"};
    for (int trial = 0; trial < 300; trial++) {
        char text[200];
        int len = 1 + (int)(hearth_rng_next(&r) % 150);
        for (int i = 0; i < len; i++) text[i] = "abc"[hearth_rng_next(&r) % 3];
        text[len] = 0;
        /* expected: text cut at the earliest occurrence of either stop */
        size_t cut = (size_t)len;
        for (int s = 0; s < 2; s++) {
            const char *at = strstr(text, stops[s]);
            if (at && (size_t)(at - text) < cut) cut = (size_t)(at - text);
        }
        hearth_stop_matcher *m = hearth_stop_matcher_create(stops, 2);
        acc a = {{0}, 0};
        bool stopped = false;
        for (int i = 0; i < len && !stopped;) {
            int k = 1 + (int)(hearth_rng_next(&r) % 5);
            if (i + k > len) k = len - i;
            char piece[8];
            memcpy(piece, text + i, (size_t)k);
            piece[k] = 0;
            stopped = push(m, &a, piece);
            i += k;
            CHECK(a.n <= cut && memcmp(a.s, text, a.n) == 0);   /* emitted so far is a prefix */
        }
        if (!stopped) flush(m, &a);
        CHECK_EQ_INT(stopped, cut < (size_t)len);
        CHECK_EQ_INT(a.n, cut);
        CHECK(memcmp(a.s, text, cut) == 0);
        hearth_stop_matcher_free(m);
    }
}

int main(void) {
    RUN(holds_back_and_cuts);
    RUN(utf8_never_split);
    RUN(random_pieces_add_up);
    return harness_done();
}
