/*
 * schema_cjson.h — the JSON Schema calls that take parsed cJSON values, for
 * hearth's own layers and tests. Internal: the public schema.h takes JSON
 * text, so library users need no cJSON (docs/install.md).
 */
#ifndef HEARTH_SCHEMA_CJSON_H
#define HEARTH_SCHEMA_CJSON_H

#include "hearth/schema.h"

#include <cjson/cJSON.h>

/* hearth_schema_compile for a parsed schema (copied; the caller keeps `schema`). */
hearth_status hearth_schema_compile_json(const cJSON *schema, const hearth_schema_params *p, hearth_schema **out);
/* hearth_schema_validate for a parsed instance (borrowed). */
hearth_status hearth_schema_validate_json(const hearth_schema *s, const cJSON *instance, bool *valid,
                                          char **why);

#endif
