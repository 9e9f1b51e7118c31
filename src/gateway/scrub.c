/*
 * scrub.c — PII handling for one gateway request on top of the PII layer
 * (hearth/pii.h): one mapping per request (placeholders <-> values, kinds
 * found), shared read-only policies for each action.
 *
 * Placeholders read "[KIND_N]" ("[EMAIL_1]"); redaction puts "[KIND]".
 * Under block the text is only scanned (the caller refuses the request).
 */
#include "gateway_internal.h"

#include "hearth/pii.h"

#include <stdlib.h>
#include <string.h>

struct gw_scrub {
    hearth_pii_mapping *m;
};

static hearth_pii_policy *g_pol[3];   /* allow (scan only), mask, redact */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void make_policies(void) {
    g_pol[0] = hearth_pii_policy_create(HEARTH_PII_ALLOW);
    g_pol[1] = hearth_pii_policy_create(HEARTH_PII_MASK);
    g_pol[2] = hearth_pii_policy_create(HEARTH_PII_REDACT);
}

gw_scrub *gw_scrub_new(void) {
    pthread_once(&g_once, make_policies);
    gw_scrub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->m = hearth_pii_mapping_create();
    if (!s->m) {
        free(s);
        return NULL;
    }
    return s;
}

void gw_scrub_free(gw_scrub *s) {
    if (!s) return;
    hearth_pii_mapping_free(s->m);
    free(s);
}

const char *gw_scrub_kinds(gw_scrub *s) { return hearth_pii_mapping_kinds(s->m); }
int gw_scrub_found(const gw_scrub *s) { return hearth_pii_mapping_kinds(s->m)[0] != 0; }
const hearth_pii_mapping *gw_scrub_mapping(const gw_scrub *s) { return s->m; }

char *gw_scrub_text(gw_scrub *s, const char *text, gw_pii_action action) {
    const hearth_pii_policy *p = g_pol[action == GW_PII_MASK ? 1 : action == GW_PII_REDACT ? 2 : 0];
    if (!p) return NULL;
    char *out = NULL;
    size_t n = 0;
    if (hearth_pii_mask(p, s->m, text, strlen(text), &out, &n) != HEARTH_OK) return NULL;
    return out;
}

char *gw_scrub_unmask(gw_scrub *s, const char *text) {
    char *out = NULL;
    size_t n = 0;
    if (hearth_pii_unmask(s->m, text, strlen(text), &out, &n) != HEARTH_OK) return NULL;
    return out;
}
