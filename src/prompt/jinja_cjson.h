/*
 * jinja_cjson.h — the Jinja calls that take cJSON values, for hearth's own
 * layers (server, command line) and tests. Internal: the public jinja.h
 * takes JSON text, so library users need no cJSON.
 */
#ifndef HEARTH_JINJA_CJSON_H
#define HEARTH_JINJA_CJSON_H

#include "hearth/jinja.h"

#include <cjson/cJSON.h>

/* Renders with `context` (a JSON object whose members become the template's
 * variables; NULL: none). opt may be NULL (defaults). On success *out is a
 * malloc'd, NUL-terminated string owned by the caller, *len its length
 * (len may be NULL). JSON numbers that are whole and below 2^53 become
 * integers, others floats. Status as hearth_jinja_render_json. */
hearth_status hearth_jinja_render(const hearth_jinja_template *t, const cJSON *context,
                                  const hearth_jinja_options *opt, char **out, size_t *len);

/* Chat-template convenience: parses template_src and renders it with
 * { messages, add_generation_prompt, bos_token, eos_token, tools } (tools
 * omitted when NULL; bos/eos may be NULL: then ""). *out is malloc'd and
 * owned by the caller. Errors as hearth_jinja_render. */
hearth_status hearth_chat_template_apply(const char *template_src, const cJSON *messages,
                                         bool add_generation_prompt, const char *bos,
                                         const char *eos, const cJSON *tools_or_null,
                                         char **out);

#endif
