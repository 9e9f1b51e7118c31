/*
 * fuzz_pii.c — libFuzzer entry for the PII module: scan, mask, unmask (whole
 * and streamed at a split taken from the input) and JSON masking on
 * arbitrary bytes. Checks: findings lie inside the input, do not overlap and
 * are sorted; unmask(mask(x)) == x when x holds no '[' (so no literal
 * placeholder text); the streamed restore equals the whole one.
 * Needs hearth_gateway (and its deps) in the fuzz build:
 *   hearth_fuzz_target(fuzz_pii hearth_gateway hearth_formats hearth_core)
 */
#include "hearth/pii.h"

#include <stdlib.h>
#include <string.h>

static hearth_pii_policy *policy(void) {
    static hearth_pii_policy *p;
    if (!p) {
        p = hearth_pii_policy_create(HEARTH_PII_MASK);
        const char *kw[] = {"secret", "张三", "Project X"};
        hearth_pii_policy_add_pattern(p, "emp", "EMP-[0-9]{3,8}", HEARTH_PII_MASK);
        hearth_pii_policy_add_keywords(p, "kw", kw, 3, true, HEARTH_PII_MASK);
    }
    return p;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const hearth_pii_policy *p = policy();
    const char *t = (const char *)data;
    hearth_pii_finding *f;
    size_t n;
    if (hearth_pii_scan(p, t, size, &f, &n) == HEARTH_OK) {
        size_t end = 0;
        for (size_t i = 0; i < n; i++) {
            if (f[i].length == 0 || f[i].offset < end || f[i].offset + f[i].length > size) abort();
            end = f[i].offset + f[i].length;
        }
        free(f);
    }
    hearth_pii_mapping *m = hearth_pii_mapping_create();
    char *masked = NULL, *back = NULL;
    size_t ml, bl;
    if (hearth_pii_mask(p, m, t, size, &masked, &ml) == HEARTH_OK) {
        if (hearth_pii_unmask(m, masked, ml, &back, &bl) != HEARTH_OK) abort();
        if (!memchr(t, '[', size) && (bl != size || memcmp(back, t, size))) abort();
        /* streamed: two chunks split where the first byte says */
        size_t cut = ml ? (size ? data[0] : 0) % (ml + 1) : 0;
        hearth_pii_unmasker *u = hearth_pii_unmasker_create(m);
        char *s = malloc(bl + 1);
        size_t sl = 0;
        const char *o;
        size_t ol;
        hearth_pii_unmasker_feed(u, masked, cut, &o, &ol);
        if (sl + ol > bl) abort();
        memcpy(s + sl, o, ol), sl += ol;
        hearth_pii_unmasker_feed(u, masked + cut, ml - cut, &o, &ol);
        if (sl + ol > bl) abort();
        memcpy(s + sl, o, ol), sl += ol;
        hearth_pii_unmasker_finish(u, &o, &ol);
        if (sl + ol != bl) abort();
        memcpy(s + sl, o, ol), sl += ol;
        if (memcmp(s, back, bl)) abort();
        free(s);
        hearth_pii_unmasker_free(u);
    }
    free(masked);
    free(back);
    char *j = NULL;
    size_t jl;
    if (hearth_pii_mask_json(p, m, t, size, &j, &jl) == HEARTH_OK) free(j);
    hearth_pii_mapping_free(m);
    return 0;
}
