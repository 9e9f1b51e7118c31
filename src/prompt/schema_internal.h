/*
 * schema_internal.h — what the JSON Schema validator's files share: the
 * compiled schema (every subschema indexed with its base URI and resource,
 * anchors, resources, compiled patterns), URI resolution and formats.
 */
#ifndef HEARTH_SCHEMA_INTERNAL_H
#define HEARTH_SCHEMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "schema_cjson.h"

#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

/* one indexed subschema */
typedef struct sch_node {
    const cJSON *node;
    const char *base;   /* base URI (owned by the schema's string list) */
    int res;            /* index of the resource it belongs to */
} sch_node;

/* a schema resource: a document or a subschema with "$id" */
typedef struct sch_res {
    const char *uri;    /* absolute, no fragment */
    const cJSON *root;
    int draft;          /* hearth_schema_draft */
} sch_res;

typedef struct sch_anchor {
    const char *uri;    /* "base#name" */
    const cJSON *node;
    int res;
    bool dynamic;       /* from $dynamicAnchor */
} sch_anchor;

typedef struct sch_regex {
    const char *pat;    /* the pattern string inside the schema document */
    pcre2_code *re;
} sch_regex;

struct hearth_schema {
    cJSON **docs;                  /* owned: [0] the schema, then the resources */
    int n_docs;
    sch_node *nodes;               /* indexed subschemas; nidx hashes node pointers */
    size_t n_nodes, cap_nodes;
    int32_t *nidx;
    size_t nidx_cap;               /* power of two */
    sch_res *res;
    size_t n_res, cap_res;
    sch_anchor *anchors;
    size_t n_anchors, cap_anchors;
    sch_regex *rx;
    size_t n_rx, cap_rx;
    char **strs;                   /* owned strings (URIs) */
    size_t n_strs, cap_strs;
    int draft;
    bool format_assert;
    bool no_validation;            /* the meta-schema leaves out the validation vocabulary */
    int max_depth;
    pcre2_match_context *mctx;     /* match limits for patterns */
};

/* ---- schema.c ---- */
const sch_node *sch_info(const hearth_schema *s, const cJSON *node);
/* Resolves reference `ref` against `base`. On success stores the target
 * schema, its base URI and resource index and returns true. *dyn_anchor is
 * set when the reference ended at a $dynamicAnchor (name in *frag_name). */
bool sch_resolve(const hearth_schema *s, const char *base, const char *ref, const cJSON **target,
                 const char **tbase, int *tres, bool *dyn_anchor);
/* The node of $dynamicAnchor `name` in resource `res`, or NULL. */
const cJSON *sch_dynamic_anchor(const hearth_schema *s, int res, const char *name);
pcre2_code *sch_regex_get(const hearth_schema *s, const char *pat);

/* URI reference resolution (RFC 3986 section 5.2); malloc'd result. */
char *sch_uri_resolve(const char *base, const char *ref);

/* ---- schema_format.c ---- */
/* true when s[0..n) is a valid `fmt`; *known false for formats hearth does
 * not check (then the result is true). */
bool sch_format_ok(const char *fmt, const char *s, size_t n, bool *known);

#endif
