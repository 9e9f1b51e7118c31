/* constraint.c — the constraint handle over an implementation's vtable
 * (include/hearth/constraint.h). */
#include "hearth/constraint.h"

#include <stdlib.h>

struct hearth_constraint {
    const hearth_constraint_vtable *vt;
    void *state;   /* owned, freed with vt->free */
};

hearth_constraint *hearth_constraint_create(const hearth_constraint_vtable *vt, void *state) {
    if (!vt || !vt->allows || !vt->advance || !vt->complete) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "constraint: the vtable needs allows, advance and complete");
        return NULL;
    }
    hearth_constraint *c = malloc(sizeof *c);
    if (!c) {
        if (vt->free) vt->free(state);
        hearth_set_error(HEARTH_ERR_NOMEM, "constraint %s: out of memory", vt->name ? vt->name : "");
        return NULL;
    }
    c->vt = vt;
    c->state = state;
    return c;
}

void hearth_constraint_free(hearth_constraint *c) {
    if (!c) return;
    if (c->vt->free) c->vt->free(c->state);
    free(c);
}

bool hearth_constraint_allows(const hearth_constraint *c, const char *text, size_t n) {
    return c->vt->allows(c->state, text, n);
}

bool hearth_constraint_advance(hearth_constraint *c, const char *text, size_t n) {
    return c->vt->advance(c->state, text, n);
}

hearth_constraint_state hearth_constraint_complete(const hearth_constraint *c) { return c->vt->complete(c->state); }

const char *hearth_constraint_name(const hearth_constraint *c) { return c->vt->name ? c->vt->name : ""; }

bool hearth_constraint_mask(hearth_constraint *c, uint32_t *bits, int32_t n_vocab) {
    return c->vt->mask && c->vt->mask(c->state, bits, n_vocab);
}
