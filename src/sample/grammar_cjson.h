/*
 * grammar_cjson.h — hearth_grammar_from_schema for a parsed cJSON schema, for
 * hearth's own layers (the server). Internal: the public grammar.h takes
 * JSON text, so library users need no cJSON (docs/install.md).
 */
#ifndef HEARTH_GRAMMAR_CJSON_H
#define HEARTH_GRAMMAR_CJSON_H

#include "hearth/grammar.h"

#include <cjson/cJSON.h>

/* hearth_grammar_from_schema for a parsed schema (borrowed). */
hearth_status hearth_grammar_from_schema_json(const cJSON *schema, hearth_grammar **out);

#endif
