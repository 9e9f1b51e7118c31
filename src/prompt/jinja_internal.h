/*
 * jinja_internal.h — shared internals of the Jinja engine (src/prompt/jinja_*.c):
 * the arena, values, tokens, the syntax tree and the render state.
 *
 *   jinja_lex.c      source -> tokens (whitespace control, trim/lstrip_blocks)
 *   jinja_parse.c    tokens -> syntax tree
 *   jinja_value.c    arena, values, Python-compatible str/repr/json/compare
 *   jinja_eval.c     statements and expressions
 *   jinja_builtins.c filters, tests, globals, string/dict/list methods
 *   jinja_api.c      public API (hearth/jinja.h), JSON context conversion
 *
 * Errors inside the engine unwind with longjmp to the entry point (parse or
 * render); every allocation comes from an arena freed as a whole, so an
 * abort leaks nothing.
 */
#ifndef HEARTH_JINJA_INTERNAL_H
#define HEARTH_JINJA_INTERNAL_H

#include "jinja_cjson.h"
#include "core/buf.h"
#include "core/utf8.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena ----------------------------------------------------------------- */
typedef struct jchunk jchunk;
typedef struct jarena {
    jchunk *head;
    size_t used;        /* bytes handed out, all chunks */
    size_t cap;         /* limit on used (0: none) */
    jmp_buf *fail;      /* where to unwind when over the limit */
    char *errmsg;       /* set before unwinding */
} jarena;

/* Unwinds through ar->fail on exhaustion. Memory is zeroed. */
void *jarena_alloc(jarena *ar, size_t n);
void jarena_free(jarena *ar);

/* ---- values ---------------------------------------------------------------- */
typedef enum jtype {
    JV_UNDEF = 0, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR,
    JV_LIST, JV_DICT, JV_NS, JV_FUNC, JV_MACRO, JV_METHOD, JV_LOOP,
} jtype;

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jmacro jmacro;
typedef struct jmethod jmethod;
typedef struct jloop jloop;

typedef struct jval {
    uint8_t t;         /* jtype */
    uint8_t tuple;     /* JV_LIST: a tuple (repr only); JV_UNDEF: 1 = unsafe attribute */
    uint16_t fn;       /* JV_FUNC: builtin id */
    union {
        bool b;
        int64_t i;
        double f;
        struct { const char *p; size_t n; } s;   /* JV_STR (UTF-8, not NUL-terminated); JV_UNDEF hint */
        jlist *l;
        jdict *d;      /* JV_DICT, JV_NS */
        jmacro *m;
        jmethod *bm;
        jloop *loop;
    } u;
} jval;

struct jlist { jval *v; size_t n, cap; };
struct jdict { jval *k; jval *v; size_t n, cap; };
struct jmethod { jval self; int id; };

/* ---- tokens ------------------------------------------------------------------ */
typedef enum jtok {
    TK_EOF = 0, TK_TEXT, TK_VAR_BEGIN, TK_VAR_END, TK_BLOCK_BEGIN, TK_BLOCK_END,
    TK_NAME, TK_STRING, TK_INT, TK_FLOAT, TK_OP,
} jtok;

typedef struct jtoken {
    jtok t;
    int line, col;
    const char *p;    /* TEXT / NAME / STRING (decoded) / OP text */
    size_t n;
    int64_t i;
    double f;
} jtoken;

typedef struct jtokens { jtoken *v; size_t n, cap; } jtokens;

/* ---- syntax tree ------------------------------------------------------------- */
typedef enum jkind {
    /* expressions */
    E_LIT, E_NAME, E_LIST, E_TUPLE, E_DICT, E_ATTR, E_INDEX, E_SLICE, E_CALL,
    E_FILTER, E_TEST, E_BIN, E_NEG, E_POS, E_NOT, E_AND, E_OR, E_CMP, E_COND,
    /* statements */
    S_TEXT, S_PRINT, S_IF, S_FOR, S_SET, S_SETBLOCK, S_MACRO, S_CALLBLOCK,
    S_FILTERBLOCK, S_BREAK, S_CONTINUE, S_BLOCK,
} jkind;

typedef enum jop {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN,
} jop;

typedef struct jnode jnode;
struct jnode {
    uint8_t kind;      /* jkind */
    uint8_t op;        /* E_BIN: jop; E_TEST: negated */
    int line;
    jval lit;          /* E_LIT, S_TEXT */
    const char *name;  /* E_NAME, E_ATTR, E_FILTER, E_TEST, S_MACRO; NUL-terminated */
    jnode *a, *b, *c;
    jnode **list; int n;          /* children / positional args / body */
    jnode **list2; int n2;        /* keyword values / else body / defaults */
    const char **kw;              /* keyword names (n2 of them) / macro params */
    uint8_t *ops;                 /* E_CMP: n-1... one per comparison */
};

/* ---- templates ---------------------------------------------------------------- */
struct hearth_jinja_template {
    jarena ar;
    jnode *root;       /* S_BLOCK */
};

/* Lexes src (already newline-normalized) into toks; on error writes a
 * message to err and returns false. */
bool jinja_lex(jarena *ar, const char *src, size_t len, jtokens *toks, char *err, size_t errn);
/* Parses tokens into a statement list (S_BLOCK); on error as above. */
jnode *jinja_parse_tokens(jarena *ar, const jtokens *toks, char *err, size_t errn);

/* ---- render state ------------------------------------------------------------ */
typedef struct jframe jframe;
struct jframe { jframe *parent; jdict vars; };

struct jmacro { const jnode *def; jframe *closure; const jnode *caller_body; jframe *caller_frame; };

struct jloop {
    jlist *items;
    size_t index0;
    int depth;
};

#define JINJA_MAX_NEST 2000   /* eval/exec nesting: keeps the C stack well under 1 MB */

/* The render's text buffer: core's hearth_buf with its memory from the
 * render arena (jb_put sets that up on first use), so the template's memory
 * limit covers it and a longjmp out of a failed render frees it with the
 * arena; jb_put also enforces the output limit. `jbuf b = {0}` is empty. */
typedef hearth_buf jbuf;

typedef struct jctx {
    jarena ar;
    jmp_buf fail;
    hearth_status status;
    char err[1024];
    int line;                 /* line of the statement being run */
    int64_t steps, max_steps;
    size_t max_output;
    int depth, max_depth;
    int nest;                 /* C recursion depth of eval/exec (stack guard) */
    const struct tm *now;
    jframe *globals;
    jbuf *out;                /* current output buffer */
    int loop_ctl;             /* 0, 1 = break, 2 = continue */
} jctx;

/* Unwinds with status s and a message (prefixed with the line for FORMAT errors). */
_Noreturn void jfail(jctx *c, hearth_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void jstep(jctx *c, int64_t n);

/* values (jinja_value.c) */
static inline jval jv_undef(void) { jval v = {0}; return v; }
static inline jval jv_none(void) { jval v = {0}; v.t = JV_NONE; return v; }
static inline jval jv_bool(bool b) { jval v = {0}; v.t = JV_BOOL; v.u.b = b; return v; }
static inline jval jv_int(int64_t i) { jval v = {0}; v.t = JV_INT; v.u.i = i; return v; }
static inline jval jv_float(double f) { jval v = {0}; v.t = JV_FLOAT; v.u.f = f; return v; }
static inline jval jv_strn(const char *p, size_t n) { jval v = {0}; v.t = JV_STR; v.u.s.p = p; v.u.s.n = n; return v; }
jval jv_str(jctx *c, const char *s);                 /* copies */
jval jv_strcpy(jctx *c, const char *p, size_t n);    /* copies */
jval jv_undef_hint(jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
jval jv_list(jctx *c, size_t cap);
jval jv_dict(jctx *c, size_t cap);
void jl_push(jctx *c, jlist *l, jval v);
void jd_set(jctx *c, jdict *d, jval k, jval v);
bool jd_get(const jdict *d, jval k, jval *out);
bool jd_get_str(const jdict *d, const char *k, size_t n, jval *out);
bool jv_is_str(jval v, const char *s);
const char *jv_type_name(jval v);                    /* Python's: 'str', 'dict'... */

bool jv_truthy(jval v);
bool jv_equal(jval a, jval b);
int jv_compare(jctx *c, jval a, jval b);             /* <0, 0, >0; fails on unorderable */
size_t utf8_len(const char *p, size_t n);
size_t utf8_offset(const char *p, size_t n, int64_t cp);   /* byte offset of code point cp */

/* buffers (arena-backed) */
void jb_put(jctx *c, jbuf *b, const char *p, size_t n);
void jb_puts(jctx *c, jbuf *b, const char *s);
void jb_printf(jctx *c, jbuf *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
jval jb_val(jbuf *b);

/* Python str(v) / repr(v) appended to b; undefined -> "" in str. */
void jv_str_to(jctx *c, jbuf *b, jval v);
void jv_repr_to(jctx *c, jbuf *b, jval v);
jval jv_tostr(jctx *c, jval v);                      /* str(v) as a string value */
/* json.dumps(v, ensure_ascii=False, indent, separators, sort_keys); indent < 0: None */
void jv_json_to(jctx *c, jbuf *b, jval v, int indent, const char *item_sep, const char *key_sep,
                bool sort_keys, int level);
void jv_float_repr(double f, char *buf, size_t n);   /* Python repr(float) */

/* Converts a cJSON tree to a value. */
jval jv_from_cjson(jctx *c, const cJSON *j);
/* Parses JSON text (ints stay ints, floats stay floats); fails with a message. */
jval jv_from_json_text(jctx *c, const char *p, size_t n);

/* evaluation (jinja_eval.c) */
jval jeval(jctx *c, jframe *f, const jnode *e);
void jexec_block(jctx *c, jframe *f, jnode **body, int n);
jval jcall_macro(jctx *c, jval m, jval *args, int nargs, const char **kwn, jval *kwv, int nkw,
                 const jnode *caller_body, jframe *caller_frame);
jframe *jframe_new(jctx *c, jframe *parent);
void jframe_set(jctx *c, jframe *f, const char *name, jval v);
bool jframe_get(jframe *f, const char *name, jval *out);
jval jgetattr(jctx *c, jval obj, const char *name, size_t n);
jval jgetitem(jctx *c, jval obj, jval key);
jval jiter_list(jctx *c, jval v);                    /* a JV_LIST to iterate v's items */
jval jbinop(jctx *c, int op, jval a, jval b);
void jcheck_defined(jctx *c, jval v);                /* fails on undefined with its hint */

/* builtins (jinja_builtins.c) */
enum {
    FN_RANGE = 1, FN_NAMESPACE, FN_DICT, FN_RAISE, FN_STRFTIME, FN_LIPSUM, FN_JOINER, FN_CYCLER,
    FN_LOOP_CYCLE,
};
void jinja_install_globals(jctx *c, jframe *g);
jval jcall_builtin(jctx *c, jval fn, jval *args, int nargs, const char **kwn, jval *kwv, int nkw);
jval jcall_method(jctx *c, jmethod *m, jval *args, int nargs, const char **kwn, jval *kwv, int nkw);
int jmethod_lookup(jval obj, const char *name, size_t n, bool *unsafe);
jval japply_filter(jctx *c, const char *name, jval v, jval *args, int nargs, const char **kwn,
                   jval *kwv, int nkw, jframe *f);
bool japply_test(jctx *c, const char *name, jval v, jval *args, int nargs);
bool jtest_exists(const char *name);
bool jfilter_exists(const char *name);

/* UTF-8 encoding of code point cp at o (room for 4 bytes); returns its length (jinja_value.c) */

#endif
