/*
 * jinja.h — a sandboxed Jinja2 engine for chat templates.
 *
 * Renders Hugging Face chat templates (`tokenizer.chat_template`) the way
 * transformers does: Jinja2's ImmutableSandboxedEnvironment with
 * trim_blocks and lstrip_blocks on, the loop-controls extension (`break`,
 * `continue`), and the globals transformers adds: `raise_exception(msg)`,
 * `strftime_now(fmt)`, and a `tojson` filter that is Python's
 * json.dumps(x, ensure_ascii=False, indent=None, separators=None,
 * sort_keys=False).
 *
 * Sandbox: a template sees only its context (JSON values) and the built-in
 * filters, tests, globals and a fixed set of safe string / dict / list
 * methods; nothing else of the process. Work is bounded: a step counter,
 * an output-size limit, a memory limit and a call-depth limit abort a
 * hostile template with a clear error instead of hanging or exhausting
 * memory.
 *
 * Errors: syntax errors give HEARTH_ERR_FORMAT with "line L, column C: ...";
 * render errors give HEARTH_ERR_FORMAT ("line L: ..."), except that a
 * template's own raise_exception(msg) gives HEARTH_ERR_INVALID_ARG with
 * hearth_last_error() exactly equal to msg, so a caller can show it; limits
 * give HEARTH_ERR_RANGE.
 *
 * Threads: a parsed template is immutable; any number of threads may render
 * the same template at once.
 */
#ifndef HEARTH_JINJA_H
#define HEARTH_JINJA_H

#include "hearth/hearth.h"

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_jinja_template hearth_jinja_template;

typedef struct hearth_jinja_options {
    int64_t max_steps;        /* evaluation steps before aborting; 0: 10,000,000 */
    size_t max_output;        /* bytes of output; 0: 4 MiB */
    size_t max_memory;        /* bytes of working memory for values; 0: 128 MiB */
    int max_depth;            /* nested macro calls; 0: 100 */
    const struct tm *now;     /* time strftime_now() formats; NULL: the real local time */
} hearth_jinja_options;

hearth_jinja_options hearth_jinja_default_options(void);

/* Parses template source (len bytes, need not be NUL-terminated). On a
 * syntax error returns HEARTH_ERR_FORMAT and a message with line and column.
 * *out is owned by the caller (hearth_jinja_free). */
hearth_status hearth_jinja_parse(const char *src, size_t len, hearth_jinja_template **out);
void hearth_jinja_free(hearth_jinja_template *t);   /* NULL is a no-op */

/* Renders with the context given as JSON text (an object whose members
 * become the template's variables; json NULL: none). It keeps the int / float
 * distinction of the text (1 vs 1.0) as Python's json module does. opt may be
 * NULL (defaults). On success *out is a malloc'd, NUL-terminated string owned
 * by the caller, *len its length (len may be NULL).
 *
 * Status: HEARTH_OK; HEARTH_ERR_INVALID_ARG when the template called
 * raise_exception(msg) — then hearth_last_error() is exactly msg;
 * HEARTH_ERR_RANGE when a limit was hit; HEARTH_ERR_FORMAT for any other
 * render error (undefined used where a value is needed, bad types, a context
 * that is not valid JSON...). */
hearth_status hearth_jinja_render_json(const hearth_jinja_template *t, const char *json,
                                       size_t json_len, const hearth_jinja_options *opt,
                                       char **out, size_t *len);

/* Chat-template convenience: parses template_src and renders it with
 * { messages, add_generation_prompt, bos_token, eos_token, tools }.
 * messages_json is a JSON array of {"role", "content"} objects (text of
 * messages_len bytes); tools_json a JSON array or NULL (then omitted);
 * bos/eos may be NULL (then ""). *out is malloc'd and owned by the caller.
 * Errors as hearth_jinja_render_json; a messages or tools text that is not
 * JSON is HEARTH_ERR_FORMAT. */
hearth_status hearth_chat_template_apply_json(const char *template_src, const char *messages_json,
                                              size_t messages_len, bool add_generation_prompt,
                                              const char *bos, const char *eos,
                                              const char *tools_json, char **out);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
