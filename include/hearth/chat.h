/*
 * chat.h — the chat policy: how a conversation becomes a model's prompt and
 * which stop strings end a reply. One rule, used by `hearth chat`, the
 * server's /v1/chat/completions and training data (hearth_train_data_load),
 * so a model is trained on exactly the text it is served with:
 *
 *   1. the model's chat template (tokenizer.chat_template) through the Jinja
 *      engine, with bos_token / eos_token the vocabulary's texts — unless a
 *      built-in format was asked for by name, or the template does not parse;
 *   2. otherwise the built-in format (generate.h) detected from the template
 *      and vocabulary (alpaca for a model without either).
 *   When the template fails on a conversation (an unsupported construct, a
 *   limit) that one rendering falls back to the built-in format; when the
 *   template refuses the conversation itself (raise_exception, e.g. "System
 *   role not supported") the error is returned (HEARTH_ERR_INVALID_ARG with
 *   the template's message), as transformers' apply_chat_template does —
 *   unless params.fallback_on_refusal (interactive chat keeps going with the
 *   built-in format).
 *
 * Stop strings: the built-in format's (the start of the next turn for
 * formats without an end token: alpaca, llama2, mistral) whichever way the
 * conversation was rendered; end-of-generation tokens stop replies anyway.
 *
 * Threads: a policy is immutable once created; any number of threads may
 * render with it at once.
 */
#ifndef HEARTH_CHAT_H
#define HEARTH_CHAT_H

#include "hearth/generate.h"
#include "hearth/tool_call.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_chat_policy hearth_chat_policy;

typedef struct hearth_chat_params {
    const char *format;         /* a built-in format's name (generate.h) to use instead of the
                                   model's template; NULL (default): the rule above */
    bool fallback_on_refusal;   /* a template's raise_exception also falls back to the built-in
                                   format (default false: it is an error) */
} hearth_chat_params;

hearth_chat_params hearth_chat_default_params(void);

/* The policy for model m (p NULL: defaults). Errors: HEARTH_ERR_NOT_FOUND
 * for an unknown format name. *out is owned by the caller
 * (hearth_chat_policy_free). */
hearth_status hearth_chat_policy_create(const hearth_model *m, const hearth_chat_params *p, hearth_chat_policy **out);
/* The same from a template's text (NULL or "": none) and a vocabulary (may
 * be NULL: bos/eos "<s>" / "</s>"), e.g. for a tokenizer-only training run. */
hearth_status hearth_chat_policy_create_from(const char *chat_template, const hearth_vocab *v,
                                             const hearth_chat_params *p, hearth_chat_policy **out);
void hearth_chat_policy_free(hearth_chat_policy *p);   /* NULL is a no-op */

/* Renders messages (roles system, user, assistant; others only through a
 * template that knows them). *out is malloc'd, owned by the caller.
 * used_template (may be NULL): whether the model's template rendered it;
 * when the template failed and the built-in format rendered instead,
 * hearth_last_error() still holds the template's error. */
hearth_status hearth_chat_policy_render(const hearth_chat_policy *p, const hearth_chat_message *msgs, size_t n,
                                        bool add_generation_prompt, char **out, bool *used_template);
/* Renders an OpenAI-style conversation given as JSON text (messages_len
 * bytes): an array of {"role", "content"} where content is a string or null,
 * assistant messages may carry "tool_calls" ([{"id", "type", "function":
 * {"name", "arguments"}}], arguments a JSON string or object) and "tool"
 * messages "tool_call_id" and "name"; role "developer" is "system". tools_json
 * (NULL: none) is OpenAI's tools array, passed to the template as `tools`,
 * as transformers does; a call's arguments reach the template as an object.
 * A template that does not describe tools (or no template) gets the
 * conversation rewritten in the hermes format (tool_call.h): the tools
 * described in the system message, calls as <tool_call> blocks, results as
 * user turns in <tool_response> blocks. Errors: HEARTH_ERR_FORMAT naming
 * the message and field ("messages[2].tool_calls[0].function.name: ..."),
 * otherwise as hearth_chat_policy_render. */
hearth_status hearth_chat_policy_render_json(const hearth_chat_policy *p, const char *messages_json,
                                             size_t messages_len, const char *tools_json, bool add_generation_prompt,
                                             char **out, bool *used_template);
/* The tool-call format replies rendered by hearth_chat_policy_render_json
 * use: the template's (tool_call.h), hermes when it does not describe tools. */
hearth_tool_format hearth_chat_policy_tool_format(const hearth_chat_policy *p);
/* The stop strings for replies: NULL-terminated, borrowed from p. */
const char *const *hearth_chat_policy_stops(const hearth_chat_policy *p);
/* Whether the model's template is tried first. */
bool hearth_chat_policy_has_template(const hearth_chat_policy *p);
/* The built-in format (the fallback when the template is used). */
const hearth_chat_format *hearth_chat_policy_format(const hearth_chat_policy *p);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
