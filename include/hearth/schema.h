/*
 * schema.h — a JSON Schema validator: draft 2020-12 (the default) and
 * draft-07 (when the root's "$schema" names it).
 *
 * Every keyword of the two drafts' validation and applicator vocabularies
 * is checked, including unevaluatedProperties/unevaluatedItems (with
 * annotations collected from allOf/anyOf/oneOf/if/$ref...), $ref to JSON
 * pointers, $anchor, $id-based resources and $dynamicRef/$dynamicAnchor.
 * "format" is an annotation unless params.format_assert is set (as the
 * specification says); asserted formats: date, time, date-time, duration,
 * email, hostname, ipv4, ipv6, uri, uri-reference, uuid, regex,
 * json-pointer.
 *
 * References to other documents resolve only against the resources given
 * in params (nothing is downloaded). A reference that cannot be resolved, a
 * "$schema" naming another draft, or a "pattern" that is not a valid
 * regular expression makes hearth_schema_compile fail with
 * HEARTH_ERR_UNSUPPORTED / HEARTH_ERR_FORMAT and a message naming the
 * keyword and its location.
 *
 * Threads: a compiled schema is immutable; any number of threads may
 * validate against it at once.
 */
#ifndef HEARTH_SCHEMA_H
#define HEARTH_SCHEMA_H

#include "hearth/hearth.h"


#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_schema hearth_schema;

typedef enum hearth_schema_draft {
    HEARTH_SCHEMA_DRAFT_2020_12 = 0,
    HEARTH_SCHEMA_DRAFT_7 = 7,
} hearth_schema_draft;

/* A document a "$ref" may name (e.g. http://example.com/defs.json). */
typedef struct hearth_schema_resource {
    const char *uri;    /* absolute URI, no fragment */
    const char *json;   /* the document's text (NUL-terminated) */
} hearth_schema_resource;

typedef struct hearth_schema_params {
    hearth_schema_draft draft;   /* when the root has no "$schema" */
    bool format_assert;          /* "format" as an assertion (default: annotation) */
    const hearth_schema_resource *resources;   /* borrowed during compile only */
    int n_resources;
    int max_depth;               /* nested evaluation depth; 0: 512 */
} hearth_schema_params;

hearth_schema_params hearth_schema_default_params(void);

/* Compiles schema text (len bytes). p may be NULL (defaults). *out is owned
 * by the caller (hearth_schema_free). Errors: HEARTH_ERR_FORMAT (not JSON,
 * a bad regular expression, a schema that is not an object or boolean),
 * HEARTH_ERR_UNSUPPORTED (another draft, an unresolvable reference). */
hearth_status hearth_schema_compile(const char *json, size_t len, const hearth_schema_params *p,
                                    hearth_schema **out);
void hearth_schema_free(hearth_schema *s);   /* NULL is a no-op */

/* The draft the schema is read as. */
hearth_schema_draft hearth_schema_get_draft(const hearth_schema *s);

/* Validates an instance given as JSON text. *valid is the verdict; the
 * return is HEARTH_OK, or HEARTH_ERR_FORMAT when the text is not JSON (then
 * *valid is false), or HEARTH_ERR_RANGE when evaluation went deeper than
 * max_depth (an infinitely recursive schema) or a pattern hit its matching
 * limit. When the instance is invalid and why is not NULL, *why receives a
 * malloc'd one-line reason ("/a/0: 3 is greater than the maximum 2"). */
hearth_status hearth_schema_validate(const hearth_schema *s, const char *json, size_t len, bool *valid,
                                     char **why);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
