/*
 * harness.h — the tiny test harness: CHECK macros that print file:line and
 * the values on failure, and keep going; main() returns the failure count.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_NEAR(x, y, 1e-5); }
 *   int main(void) { RUN(name); return harness_done(); }
 */
#ifndef HEARTH_TEST_HARNESS_H
#define HEARTH_TEST_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int harness_failures;
extern int harness_checks;

#define TEST(name) static void name(void)
#define RUN(name)                                        \
    do {                                                 \
        int before_ = harness_failures;                  \
        name();                                          \
        printf("%s %s\n", harness_failures == before_ ? "ok  " : "FAIL", #name); \
        fflush(stdout);                                  \
    } while (0)

#define CHECK(cond)                                                                 \
    do {                                                                            \
        harness_checks++;                                                           \
        if (!(cond)) {                                                              \
            harness_failures++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_MSG(cond, ...)                                                        \
    do {                                                                            \
        harness_checks++;                                                           \
        if (!(cond)) {                                                              \
            harness_failures++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
        }                                                                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        harness_checks++;                                                                \
        if (a_ != b_) {                                                                  \
            harness_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld vs %lld\n", __FILE__, __LINE__, \
                    #a, #b, a_, b_);                                                     \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                \
    do {                                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                                           \
        harness_checks++;                                                                    \
        if (!(fabs(a_ - b_) <= (tol))) {                                                     \
            harness_failures++;                                                              \
            fprintf(stderr, "%s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__, __LINE__, \
                    #a, #b, (double)(tol), a_, b_);                                          \
        }                                                                                    \
    } while (0)

#define CHECK_STR(a, b)                                                                       \
    do {                                                                                      \
        const char *a_ = (a), *b_ = (b);                                                      \
        harness_checks++;                                                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                              \
            harness_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got:      \"%s\"\n  expected: \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");      \
        }                                                                                     \
    } while (0)

int harness_done(void);

/* Runs `cmd` through /bin/sh, capturing stdout (malloc'd, NUL-terminated) into
 * *out if out is non-NULL; returns the exit status (or -1). */
int harness_run(const char *cmd, char **out);
/* Reads a whole file (malloc'd, NUL-terminated); NULL on failure. */
char *harness_read(const char *path, size_t *len);

#endif
