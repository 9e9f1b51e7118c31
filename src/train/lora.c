/*
 * lora.c — the choice of LoRA target tensors (the weights themselves are a
 * hearth_adapter, include/hearth/adapter.h): short names (q, k, v, o, gate, up, down, all) or globs over
 * tensor names ("blk.*.attn_q.weight"), restricted to a list of layers.
 */
#include "train_internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== target selection ============================================================= */
static const char *const SHORT[][2] = {
    {"q", "attn_q.weight"},     {"k", "attn_k.weight"},   {"v", "attn_v.weight"}, {"o", "attn_output.weight"},
    {"gate", "ffn_gate.weight"}, {"up", "ffn_up.weight"}, {"down", "ffn_down.weight"},
};

static bool in_layers(const char *spec, int layer, bool *bad) {
    if (!spec || !*spec) return true;
    const char *p = spec;
    while (*p) {
        char *e;
        long a = strtol(p, &e, 10), b;
        if (e == p || a < 0) return *bad = true, false;
        b = a;
        if (*e == '-') {
            const char *q = e + 1;
            b = strtol(q, &e, 10);
            if (e == q || b < a) return *bad = true, false;
        }
        if (layer >= a && layer <= b) return true;
        if (*e == ',') e++;
        else if (*e) return *bad = true, false;
        p = e;
    }
    return false;
}

hearth_status lora_target_match(const char *targets, const char *layers, const char *name, int layer, bool *out) {
    *out = false;
    bool bad = false;
    bool lay = in_layers(layers, layer, &bad);
    if (bad) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "LoRA layers \"%s\": expected a list like 0-3,7", layers);
    if (!targets || !*targets) targets = "q,v";
    const char *p = targets;
    bool match = false;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[128];
        if (len == 0 || len >= sizeof item)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "LoRA targets \"%s\": empty or too long item", targets);
        memcpy(item, p, len);
        item[len] = 0;
        bool found = false;
        if (strcmp(item, "all") == 0) {
            found = true;
            for (size_t i = 0; i < sizeof SHORT / sizeof SHORT[0]; i++) {
                const char *dot = strchr(name, '.');
                dot = dot ? strchr(dot + 1, '.') : NULL;   /* after "blk.N." */
                if (dot && strcmp(dot + 1, SHORT[i][1]) == 0) match = true;
            }
        }
        for (size_t i = 0; !found && i < sizeof SHORT / sizeof SHORT[0]; i++) {
            if (strcmp(item, SHORT[i][0]) != 0 && strcmp(item, SHORT[i][1]) != 0) continue;
            found = true;
            const char *dot = strchr(name, '.');
            dot = dot ? strchr(dot + 1, '.') : NULL;
            if (dot && strcmp(dot + 1, SHORT[i][1]) == 0) match = true;
        }
        if (!found) {
            if (!strpbrk(item, "*?[.")) {
                return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                        "LoRA target \"%s\" is unknown (q, k, v, o, gate, up, down, all, or a glob "
                                        "over tensor names such as blk.*.attn_q.weight)", item);
            }
            if (fnmatch(item, name, 0) == 0) match = true;
        }
        p += len;
        if (*p == ',') p++;
    }
    *out = match && lay;
    return HEARTH_OK;
}
