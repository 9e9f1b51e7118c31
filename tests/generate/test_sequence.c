/*
 * test_sequence.c — the sequence step shared by hearth_generate and the
 * server (include/hearth/generate.h) and the constraint interface
 * (include/hearth/constraint.h), driven by hand-made logits over a real
 * SentencePiece vocabulary (tests/data/models/tiny-llama-spm-f16.gguf):
 * a stop string split across tokens, a UTF-8 character split across byte
 * tokens, the JSON-object constraint refusing tokens and ending the
 * sequence, a constraint written outside the library through the vtable,
 * max_tokens and end-of-generation.
 */
#include "harness.h"
#include "hearth/constraint.h"
#include "hearth/generate.h"
#include "hearth/tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"

static hearth_vocab *vocab;
static int32_t n_vocab;
static float *logits;

static int32_t tok(const char *text) {
    int32_t id = hearth_vocab_find(vocab, text, strlen(text));
    CHECK_MSG(id >= 0, "token '%s' not in the vocabulary", text);
    return id;
}

/* logits that make `want` the greedy choice, `second` the runner-up */
static const float *prefer(int32_t want, int32_t second) {
    if (want < 0) want = 0;
    for (int32_t i = 0; i < n_vocab; i++) logits[i] = -10.0f;
    if (second >= 0) logits[second] = 5.0f;
    logits[want] = 10.0f;
    return logits;
}

static hearth_sequence *new_seq(const char *const *stop, size_t n_stop, hearth_constraint *c, int32_t max_tokens) {
    hearth_sequence_params p = hearth_sequence_default_params();
    p.sampling.temp = 0.0f;
    p.stop = stop;
    p.n_stop = n_stop;
    p.constraint = c;
    p.max_tokens = max_tokens;
    hearth_sequence *s = NULL;
    CHECK(hearth_sequence_create(vocab, n_vocab, &p, &s) == HEARTH_OK);
    return s;
}

/* feeds ids one by one; returns the text emitted, the last stop in *stop */
static void run_ids(hearth_sequence *s, const int32_t *ids, int n, char *out, size_t cap, hearth_stop_reason *stop,
                    int *steps) {
    size_t len = 0;
    out[0] = 0;
    *stop = HEARTH_STOP_NONE;
    int k = 0;
    for (; k < n && *stop == HEARTH_STOP_NONE; k++) {
        hearth_sequence_token t;
        hearth_sequence_step(s, prefer(ids[k], -1), &t);
        CHECK_EQ_INT(t.id, ids[k]);
        if (len + t.len < cap) memcpy(out + len, t.text, t.len), len += t.len, out[len] = 0;
        *stop = t.stop;
    }
    if (steps) *steps = k;
    if (*stop != HEARTH_STOP_STRING) {
        const char *tail;
        size_t n_tail = hearth_sequence_finish(s, &tail, stop);
        if (len + n_tail < cap) memcpy(out + len, tail, n_tail), len += n_tail, out[len] = 0;
    }
}

TEST(stop_string_split_across_tokens) {
    /* "▁Hello" "▁wor" "ld": the stop string "o wor" spans the first two */
    const char *stop[] = {"o wor"};
    hearth_sequence *s = new_seq(stop, 1, NULL, -1);
    int32_t ids[] = {tok("▁Hel"), tok("lo"), tok("▁wor"), tok("ld")};
    char out[256];
    hearth_stop_reason r;
    int steps;
    run_ids(s, ids, 4, out, sizeof out, &r, &steps);
    CHECK_EQ_INT(r, HEARTH_STOP_STRING);
    CHECK_EQ_INT(steps, 3);          /* stopped at the token completing the stop string */
    CHECK_STR(out, "Hell");          /* the leading SentencePiece space dropped, the stop cut */
    hearth_sequence_free(s);
}

TEST(held_back_text_is_released_at_the_end) {
    /* "o w" could start the stop string "o wow": held back, then released by finish */
    const char *stop[] = {"o wow"};
    hearth_sequence *s = new_seq(stop, 1, NULL, 3);
    int32_t ids[] = {tok("▁Hel"), tok("lo"), tok("▁wor")};
    char out[256];
    hearth_stop_reason r;
    int32_t id0 = ids[0];
    hearth_sequence_token t;
    hearth_sequence_step(s, prefer(id0, -1), &t);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_NONE);
    CHECK_STR(t.text, "Hel");
    hearth_sequence_step(s, prefer(ids[1], -1), &t);
    CHECK_STR(t.text, "l");      /* "o" is held: it may start "o wow" */
    hearth_sequence_free(s);

    s = new_seq(stop, 1, NULL, 3);
    run_ids(s, ids, 3, out, sizeof out, &r, NULL);
    CHECK_EQ_INT(r, HEARTH_STOP_LENGTH);   /* max_tokens 3 */
    CHECK_STR(out, "Hello wor");
    hearth_sequence_free(s);
}

TEST(utf8_split_across_byte_tokens) {
    /* "é" = C3 A9 as two byte-fallback tokens: nothing is emitted until the
     * character is whole, and then it comes out in one piece */
    hearth_sequence *s = new_seq(NULL, 0, NULL, -1);
    hearth_sequence_token t;
    hearth_sequence_step(s, prefer(tok("▁ca"), -1), &t);
    CHECK_STR(t.text, "ca");
    hearth_sequence_step(s, prefer(tok("<0xC3>"), -1), &t);
    CHECK_EQ_INT((long long)t.len, 0);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_NONE);
    hearth_sequence_step(s, prefer(tok("<0xA9>"), -1), &t);
    CHECK_STR(t.text, "\xc3\xa9");
    /* a lone lead byte at the end is flushed as U+FFFD */
    hearth_sequence_step(s, prefer(tok("<0xC3>"), -1), &t);
    CHECK_EQ_INT((long long)t.len, 0);
    const char *tail;
    hearth_stop_reason r = HEARTH_STOP_LENGTH;
    size_t n = hearth_sequence_finish(s, &tail, &r);
    CHECK_EQ_INT((long long)n, 3);
    CHECK(memcmp(tail, "\xef\xbf\xbd", 3) == 0);
    CHECK_EQ_INT(r, HEARTH_STOP_LENGTH);
    hearth_sequence_free(s);
}

TEST(eos_stops_and_max_tokens) {
    hearth_sequence *s = new_seq(NULL, 0, NULL, 2);
    hearth_sequence_token t;
    hearth_sequence_step(s, prefer(tok("▁Hel"), -1), &t);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_NONE);
    hearth_sequence_step(s, prefer(hearth_vocab_eos(vocab), -1), &t);
    CHECK(t.eog);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_EOS);
    CHECK_EQ_INT((long long)t.len, 0);
    hearth_sequence_free(s);
    s = new_seq(NULL, 0, NULL, 2);
    hearth_sequence_step(s, prefer(tok("▁Hel"), -1), &t);
    hearth_sequence_step(s, prefer(tok("lo"), -1), &t);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_LENGTH);
    CHECK_EQ_INT(hearth_sequence_n_generated(s), 2);
    hearth_sequence_free(s);
}

TEST(json_object_constraint_accepts_exactly_json_objects) {
    const char *ok[] = {"{}", "{\"a\":1}", "{\"a\":[1,-2.5e+3,true,null,\"x\\u00e9\\n\"],\"b\":{\"c\":false}}",
                        "{ \"a\" : 0.5 }"};
    const char *bad[] = {"[1]", "{\"a\"}", "{\"a\":01}", "{a:1}", "{\"a\":tru}", "{\"a\":1,}", "{\"a\":\"\x01\"}",
                         " {}", "{\"a\":1}}", "{\"a\":\"\\x\"}", "{\"a\":1     }"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        hearth_constraint *c = NULL;
        CHECK(hearth_constraint_json_object(&c) == HEARTH_OK);
        CHECK_EQ_INT(hearth_constraint_complete(c), HEARTH_CONSTRAINT_OPEN);
        bool acc = hearth_constraint_allows(c, ok[i], strlen(ok[i]));
        bool adv = hearth_constraint_advance(c, ok[i], strlen(ok[i]));
        CHECK_MSG(acc && adv && hearth_constraint_complete(c) == HEARTH_CONSTRAINT_DONE,
                  "valid JSON refused or not complete: %s", ok[i]);
        hearth_constraint_free(c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hearth_constraint *c = NULL;
        CHECK(hearth_constraint_json_object(&c) == HEARTH_OK);
        bool acc = hearth_constraint_allows(c, bad[i], strlen(bad[i]));
        bool adv = acc && hearth_constraint_advance(c, bad[i], strlen(bad[i]));
        CHECK_MSG(!adv || hearth_constraint_complete(c) != HEARTH_CONSTRAINT_DONE,
                  "invalid JSON accepted as complete: %s", bad[i]);
        hearth_constraint_free(c);
    }
    hearth_constraint *c = NULL;
    CHECK(hearth_constraint_json_object(&c) == HEARTH_OK);
    CHECK_STR(hearth_constraint_name(c), "json_object");
    hearth_constraint_free(c);
}

TEST(constraint_refuses_tokens_and_ends_the_sequence) {
    hearth_constraint *c = NULL;
    CHECK(hearth_constraint_json_object(&c) == HEARTH_OK);
    hearth_sequence *s = new_seq(NULL, 0, c, 50);
    hearth_sequence_token t;
    int32_t open = tok("{"), close = tok("}"), hello = tok("▁Hello"), eos = hearth_vocab_eos(vocab);
    /* the model prefers plain text: refused, the runner-up "{" is drawn */
    hearth_sequence_step(s, prefer(hello, open), &t);
    CHECK_EQ_INT(t.id, open);
    CHECK_STR(t.text, "{");
    CHECK_EQ_INT(t.stop, HEARTH_STOP_NONE);
    /* end-of-generation is refused while the object is open: "}" instead */
    hearth_sequence_step(s, prefer(eos, close), &t);
    CHECK_EQ_INT(t.id, close);
    /* the object is complete: the step ends the sequence */
    CHECK_EQ_INT(t.stop, HEARTH_STOP_CONSTRAINT);
    CHECK_STR(hearth_stop_reason_str(t.stop), "constraint");
    hearth_sequence_free(s);
    hearth_constraint_free(c);

    /* nothing acceptable among the candidates beyond the mask: every token
     * but two refused ones is -inf, so no token can be sampled */
    CHECK(hearth_constraint_json_object(&c) == HEARTH_OK);
    s = new_seq(NULL, 0, c, 50);
    for (int32_t i = 0; i < n_vocab; i++) logits[i] = -INFINITY;
    logits[hello] = 1.0f;
    logits[eos] = 0.5f;
    hearth_sequence_step(s, logits, &t);
    CHECK_EQ_INT(t.id, -1);
    hearth_sequence_free(s);
    hearth_constraint_free(c);
}

/* ---- a constraint from outside the library: digits only, may end after one ---- */
typedef struct digits { int n; } digits;
static bool d_allows(const void *st, const char *t, size_t n) {
    (void)st;
    for (size_t i = 0; i < n; i++)
        if (t[i] < '0' || t[i] > '9') return false;
    return true;
}
static bool d_advance(void *st, const char *t, size_t n) {
    ((digits *)st)->n += (int)n;
    return d_allows(st, t, n);
}
static hearth_constraint_state d_complete(const void *st) {
    int n = ((const digits *)st)->n;
    return n >= 4 ? HEARTH_CONSTRAINT_DONE : n >= 1 ? HEARTH_CONSTRAINT_CAN_END : HEARTH_CONSTRAINT_OPEN;
}
static const hearth_constraint_vtable DIGITS = {"digits", d_allows, d_advance, d_complete, free, NULL};

TEST(constraint_through_the_vtable) {
    digits *d = calloc(1, sizeof *d);
    hearth_constraint *c = hearth_constraint_create(&DIGITS, d);
    CHECK(c != NULL);
    CHECK_STR(hearth_constraint_name(c), "digits");
    hearth_sequence *s = new_seq(NULL, 0, c, 50);
    int32_t eos = hearth_vocab_eos(vocab), one = tok("1"), two = tok("2");
    hearth_sequence_token t;
    hearth_sequence_step(s, prefer(eos, one), &t);   /* OPEN: end refused */
    CHECK_EQ_INT(t.id, one);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_NONE);
    hearth_sequence_step(s, prefer(tok("▁Hel"), two), &t);   /* text refused */
    CHECK_EQ_INT(t.id, two);
    hearth_sequence_step(s, prefer(eos, one), &t);   /* CAN_END: the model may end */
    CHECK_EQ_INT(t.id, eos);
    CHECK_EQ_INT(t.stop, HEARTH_STOP_EOS);
    hearth_sequence_free(s);
    hearth_constraint_free(c);
}

int main(void) {
    if (hearth_vocab_load_file(VOCAB, &vocab) != HEARTH_OK) {
        fprintf(stderr, "%s: %s\n", VOCAB, hearth_last_error());
        return 1;
    }
    n_vocab = hearth_vocab_n_tokens(vocab);
    logits = malloc((size_t)n_vocab * sizeof *logits);
    RUN(stop_string_split_across_tokens);
    RUN(held_back_text_is_released_at_the_end);
    RUN(utf8_split_across_byte_tokens);
    RUN(eos_stops_and_max_tokens);
    RUN(json_object_constraint_accepts_exactly_json_objects);
    RUN(constraint_refuses_tokens_and_ends_the_sequence);
    RUN(constraint_through_the_vtable);
    free(logits);
    hearth_vocab_free(vocab);
    return harness_done();
}
