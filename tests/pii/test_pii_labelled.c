/*
 * test_pii_labelled.c — recall and precision of the PII detectors over the
 * labelled set tests/data/pii/labelled.tsv (see gen_labelled.c for its
 * format). A positive counts as found when a finding of the labelled kind
 * covers exactly the labelled value's bytes; every other finding, in a
 * positive or a negative line, is a false positive. Requires >= 0.99 each
 * and lists every miss and false positive.
 */
#include "harness.h"
#include "hearth/pii.h"

#include <stdlib.h>
#include <string.h>

TEST(labelled_set) {
    const char *path = HEARTH_TEST_DATA "/pii/labelled.tsv";
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    hearth_pii_policy *p = hearth_pii_policy_create(HEARTH_PII_MASK);
    CHECK(p != NULL);
    char line[4096];
    int lineno = 0, n_pos = 0, n_neg = 0, tp = 0, fn = 0, fp = 0;
    int kinds_pos[6] = {0};
    static const char *const K[6] = {"email", "phone", "cn_id", "bank_card", "ipv4", "ipv6"};
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        char *lab = strtok(line, "\t"), *kind = strtok(NULL, "\t"), *val = strtok(NULL, "\t"),
             *text = strtok(NULL, "");
        CHECK_MSG(lab && kind && val && text, "%s:%d: malformed line", path, lineno);
        if (!lab || !kind || !val || !text) continue;
        bool pos = !strcmp(lab, "pos");
        hearth_pii_finding *fd;
        size_t n;
        CHECK_EQ_INT(hearth_pii_scan(p, text, strlen(text), &fd, &n), HEARTH_OK);
        size_t want_off = 0, want_len = 0;
        if (pos) {
            n_pos++;
            for (int k = 0; k < 6; k++) kinds_pos[k] += !strcmp(kind, K[k]);
            const char *at = strstr(text, val);
            CHECK_MSG(at != NULL, "%s:%d: value not in text", path, lineno);
            want_off = at ? (size_t)(at - text) : 0;
            want_len = strlen(val);
        } else {
            n_neg++;
        }
        bool found = false;
        for (size_t i = 0; i < n; i++) {
            if (pos && !found && !strcmp(fd[i].kind, kind) && fd[i].offset == want_off && fd[i].length == want_len) {
                found = true;
                continue;
            }
            fp++;
            printf("  false positive (line %d): %s \"%.*s\" in: %s\n", lineno, fd[i].kind, (int)fd[i].length,
                   text + fd[i].offset, text);
        }
        if (pos && found) tp++;
        if (pos && !found) {
            fn++;
            printf("  missed (line %d): %s \"%s\" in: %s\n", lineno, kind, val, text);
        }
        free(fd);
    }
    fclose(f);
    hearth_pii_policy_free(p);
    double recall = tp + fn ? (double)tp / (tp + fn) : 0, precision = tp + fp ? (double)tp / (tp + fp) : 0;
    printf("labelled set: %d positive, %d negative lines; positives per kind:", n_pos, n_neg);
    for (int k = 0; k < 6; k++) printf(" %s %d", K[k], kinds_pos[k]);
    printf("\n  true positives %d, missed %d, false positives %d\n  recall %.4f  precision %.4f\n", tp, fn, fp, recall,
           precision);
    CHECK(n_pos >= 200);
    CHECK(n_neg >= 200);
    for (int k = 0; k < 6; k++) CHECK_MSG(kinds_pos[k] >= 10, "kind %s has %d positives", K[k], kinds_pos[k]);
    CHECK_MSG(recall >= 0.99, "recall %.4f", recall);
    CHECK_MSG(precision >= 0.99, "precision %.4f", precision);
}

int main(void) {
    RUN(labelled_set);
    return harness_done();
}
