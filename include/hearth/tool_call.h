/*
 * tool_call.h — tool (function) calls: the models' native call formats,
 * a streaming parser that turns generated text into content and calls, and
 * a checked list of tools (OpenAI's `tools` array) that validates call
 * arguments and compiles the grammar of a required call.
 *
 * Formats (what a model writes to call a function; detected from its chat
 * template by hearth_tool_format_detect):
 *
 *   hermes     <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
 *              (Qwen 2/2.5/3, Hermes 2 Pro, and models without a template of
 *              their own: the chat policy then describes the tools in this
 *              format; several calls in a row are several blocks)
 *   llama3.1   {"name": "f", "parameters": {...}} as the whole reply, or after
 *              <|python_tag|> ("arguments" is accepted for "parameters")
 *   mistral    [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...] (the
 *              [TOOL_CALLS] control token is often not in the text: a reply
 *              that starts with [{"name" is read as calls too)
 *   command-r  Action: ```json\n[{"tool_name": "f", "parameters": {...}}]```
 *   functionary-v3.1  <function=f>{...}</function> (the arguments object
 *              follows the name; one block per call)
 *   functionary-v3.2  >>>f\n{...} per call; >>>all\n text is content (its
 *              generation prompt ends with >>>, so a reply starts with a
 *              name: a reply that does not is plain content)
 *   deepseek   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{...}
 *              <｜tool▁call▁end｜>...<｜tool▁calls▁end｜> (V3.1), and V3's
 *              <｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{...}\n```
 *              <｜tool▁call▁end｜>
 *
 * Parsing: text outside calls is content. Text that may still become a
 * call's opening is held back until it is known (so streamed content never
 * shows half a tag); whitespace between calls is not content. A call's
 * arguments are streamed in pieces as they are generated, once its name is
 * known; the pieces concatenated equal the call's final `arguments`, the
 * exact JSON text the model wrote. Streaming in any split (byte by byte)
 * gives the same events' concatenation as one feed.
 *
 * Errors: a call whose JSON is malformed, or that has no name, or whose
 * arguments are not an object, makes feed/finish return HEARTH_ERR_FORMAT
 * with a message naming the call ("tool call 1: ..."); the parser then
 * ignores the rest. A reply cut off inside a call is an error at finish.
 *
 * Threads: a parser belongs to one thread at a time; a tools list is
 * immutable once made and may be shared.
 */
#ifndef HEARTH_TOOL_CALL_H
#define HEARTH_TOOL_CALL_H

#include "hearth/hearth.h"
#include "hearth/grammar.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef enum hearth_tool_format {
    HEARTH_TOOL_HERMES = 0,
    HEARTH_TOOL_LLAMA31 = 1,
    HEARTH_TOOL_MISTRAL = 2,
    HEARTH_TOOL_COMMAND_R = 3,
    HEARTH_TOOL_FUNCTIONARY31 = 4,
    HEARTH_TOOL_FUNCTIONARY32 = 5,
    HEARTH_TOOL_DEEPSEEK = 6,
    HEARTH_TOOL_N_FORMATS
} hearth_tool_format;

/* "hermes", "llama3.1", "mistral", "command-r", "functionary-v3.1",
 * "functionary-v3.2", "deepseek" */
const char *hearth_tool_format_name(hearth_tool_format f);
/* HEARTH_ERR_NOT_FOUND (with the list) for an unknown name. */
hearth_status hearth_tool_format_from_name(const char *name, hearth_tool_format *out);
/* The format a chat template asks for (NULL or a template that does not
 * describe tools: hermes, the format hearth describes tools in itself). */
hearth_tool_format hearth_tool_format_detect(const char *chat_template);
/* What opens a call in format f: the text a prompt ends with to force a
 * call ("<tool_call>\n", "[TOOL_CALLS]", "Action:\n```json\n"; "" for
 * llama3.1). Static. */
const char *hearth_tool_format_opening(hearth_tool_format f);

/* ---- parsing ------------------------------------------------------------- */
typedef struct hearth_tool_parser hearth_tool_parser;

typedef struct hearth_tool_parser_params {
    hearth_tool_format format;
    bool in_call;     /* the reply starts inside a call: the prompt ended with
                         hearth_tool_format_opening (a forced call) */
    uint64_t seed;    /* for call ids; 0: from the clock */
} hearth_tool_parser_params;

hearth_tool_parser_params hearth_tool_parser_default_params(void);

typedef enum hearth_tool_event_kind {
    HEARTH_TOOL_EVENT_CONTENT = 0,    /* text: a piece of content */
    HEARTH_TOOL_EVENT_CALL = 1,       /* a call begins: index, text = its name */
    HEARTH_TOOL_EVENT_ARGUMENTS = 2,  /* index, text: a piece of its arguments */
    HEARTH_TOOL_EVENT_CALL_END = 3,   /* index: the call is complete */
} hearth_tool_event_kind;

typedef struct hearth_tool_event {
    hearth_tool_event_kind kind;
    int index;          /* the call (0, 1, ...) */
    const char *text;   /* borrowed for the callback; not NUL-terminated */
    size_t len;
} hearth_tool_event;

typedef void (*hearth_tool_event_fn)(void *user, const hearth_tool_event *ev);

/* A finished or running call; strings owned by the parser, valid until it
 * is freed. */
typedef struct hearth_tool_call {
    const char *id;          /* "call_" + 24 letters/digits; 9 for mistral (its template's rule) */
    const char *name;
    const char *arguments;   /* JSON text of an object ("{}" when the model gave none) */
    bool complete;
} hearth_tool_call;

hearth_status hearth_tool_parser_new(const hearth_tool_parser_params *p, hearth_tool_parser **out);
void hearth_tool_parser_free(hearth_tool_parser *tp);   /* NULL is a no-op */

/* Feeds generated text (any bytes, any split); events go to fn (may be
 * NULL). HEARTH_ERR_FORMAT once a call is malformed (see above). */
hearth_status hearth_tool_parser_feed(hearth_tool_parser *tp, const char *text, size_t n, hearth_tool_event_fn fn,
                                      void *user);
/* The reply ended: held-back text goes out as content. HEARTH_ERR_FORMAT
 * when it ended inside a call. */
hearth_status hearth_tool_parser_finish(hearth_tool_parser *tp, hearth_tool_event_fn fn, void *user);

int hearth_tool_parser_n_calls(const hearth_tool_parser *tp);
const hearth_tool_call *hearth_tool_parser_call(const hearth_tool_parser *tp, int i);   /* NULL out of range */
/* All content emitted so far (borrowed, NUL-terminated); *len may be NULL. */
const char *hearth_tool_parser_content(const hearth_tool_parser *tp, size_t *len);

/* ---- a list of tools (src/prompt/tools.c) ---------------------------------- */
typedef struct hearth_tools hearth_tools;

/* Reads OpenAI's `tools` array (JSON text, len bytes):
 *   [{"type": "function", "function": {"name", "description"?, "parameters"?, "strict"?}}]
 * Names are 1-64 of [A-Za-z0-9_-], unique; "parameters" is a JSON Schema
 * (compiled by the validator, schema.h; absent: any object). On failure
 * the message starts with the field's path and a colon
 * ("tools[1].function.parameters: ..."): HEARTH_ERR_FORMAT (not JSON, a
 * wrong shape, a bad schema), HEARTH_ERR_UNSUPPORTED (a tool type other
 * than function). *out is owned by the caller. */
hearth_status hearth_tools_parse(const char *json, size_t len, hearth_tools **out);
void hearth_tools_free(hearth_tools *t);   /* NULL is a no-op */
int hearth_tools_count(const hearth_tools *t);
const char *hearth_tools_name(const hearth_tools *t, int i);   /* borrowed; NULL out of range */
int hearth_tools_find(const hearth_tools *t, const char *name);   /* -1: none */

/* Checks a call: HEARTH_OK when name is a tool and arguments (JSON text)
 * validate against its parameters; HEARTH_ERR_NOT_FOUND for an unknown
 * name; HEARTH_ERR_INVALID_ARG when the arguments are not JSON or fail the
 * schema. The message says why ("get_weather: /city: ..."). */
hearth_status hearth_tools_check(const hearth_tools *t, const char *name, const char *arguments, size_t len);

/* The grammar of one call in format f to tool `name` (NULL: any of the
 * tools), written after hearth_tool_format_opening(f): the call's JSON as
 * json.dumps writes it, its arguments the parameters' schema compiled by
 * grammar.h (so they always validate). A schema the grammar cannot enforce
 * is HEARTH_ERR_UNSUPPORTED, the message starting with the tool's field
 * path; so is a format whose name stands outside the JSON (functionary,
 * deepseek: no grammar for them yet); HEARTH_ERR_NOT_FOUND for an unknown name. *out owned by the caller. */
hearth_status hearth_tools_grammar(const hearth_tools *t, hearth_tool_format f, const char *name,
                                   hearth_grammar **out);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
