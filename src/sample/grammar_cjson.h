/*
 * grammar_cjson.h — the grammar call that takes a parsed cJSON schema, for
 * libhearth's own users (the server parses requests with cJSON); the public
 * header include/hearth/grammar.h stays free of cJSON.
 */
#ifndef HEARTH_GRAMMAR_CJSON_H
#define HEARTH_GRAMMAR_CJSON_H

#include "hearth/grammar.h"

#include <cjson/cJSON.h>

/* hearth_grammar_from_schema for a parsed schema (borrowed). */
hearth_status hearth_grammar_from_schema_json(const cJSON *schema, hearth_grammar **out);

#endif
