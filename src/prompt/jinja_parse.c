/*
 * jinja_parse.c — tokens -> syntax tree (recursive descent, Jinja2's grammar).
 *
 * Expression precedence, loosest first (as Jinja2's parser):
 *   x if c else y  |  or  |  and  |  not  |  == != < <= > >= in, not in
 *   |  + -  |  ~  |  * / // %  |  **  |  unary - +  |  primary with
 *   postfix .name [i] [a:b:c] (args), then filters `|f(args)` and tests
 *   `is [not] t(args)`.
 * Statements: if/elif/else, for (… in … [if …]) … else, set (name, tuple,
 * ns.attr, block form), macro, call, filter, break, continue, raw (lexer),
 * generation (transformers' assistant-mask block, rendered as its body).
 */
#include "jinja_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 200   /* expression / statement nesting (C stack guard) */

typedef struct parser {
    jarena *ar;
    const jtoken *t;
    size_t n, i;
    jmp_buf fail;
    char *err;
    size_t errn;
    int nest;
} parser;

/* ---- helpers ------------------------------------------------------------------- */
static _Noreturn void perr(parser *P, const jtoken *k, const char *fmt, const char *a) {
    char msg[300];
    snprintf(msg, sizeof msg, fmt, a ? a : "");
    snprintf(P->err, P->errn, "template syntax error at line %d, column %d: %s", k->line, k->col, msg);
    longjmp(P->fail, 1);
}

static const jtoken *cur(parser *P) { return &P->t[P->i < P->n ? P->i : P->n - 1]; }
static const jtoken *peek(parser *P, size_t k) { return &P->t[P->i + k < P->n ? P->i + k : P->n - 1]; }
static const jtoken *next(parser *P) { const jtoken *k = cur(P); if (P->i < P->n - 1) P->i++; return k; }

static bool is_op(const jtoken *k, const char *op) {
    return k->t == TK_OP && k->n == strlen(op) && memcmp(k->p, op, k->n) == 0;
}
static bool is_name(const jtoken *k, const char *nm) {
    return k->t == TK_NAME && k->n == strlen(nm) && memcmp(k->p, nm, k->n) == 0;
}

static const char *tok_desc(const jtoken *k) {
    switch (k->t) {
    case TK_EOF: return "end of template";
    case TK_TEXT: return "template text";
    case TK_VAR_BEGIN: return "'{{'";
    case TK_VAR_END: return "'}}'";
    case TK_BLOCK_BEGIN: return "'{%'";
    case TK_BLOCK_END: return "'%}'";
    case TK_NAME: return "a name";
    case TK_STRING: return "a string";
    case TK_INT: case TK_FLOAT: return "a number";
    case TK_OP: return "an operator";
    }
    return "?";
}

static void expect_op(parser *P, const char *op) {
    if (!is_op(cur(P), op)) {
        char m[64];
        snprintf(m, sizeof m, "expected '%s', got %s", op, tok_desc(cur(P)));
        perr(P, cur(P), "%s", m);
    }
    next(P);
}

static void expect(parser *P, jtok t, const char *what) {
    if (cur(P)->t != t) {
        char m[128];
        snprintf(m, sizeof m, "expected %s, got %s", what, tok_desc(cur(P)));
        perr(P, cur(P), "%s", m);
    }
    next(P);
}

static jnode *node(parser *P, jkind k, const jtoken *at) {
    jnode *e = jarena_alloc(P->ar, sizeof *e);
    e->kind = (uint8_t)k;
    e->line = at->line;
    return e;
}

static const char *tok_name(parser *P, const jtoken *k) {
    char *s = jarena_alloc(P->ar, k->n + 1);
    memcpy(s, k->p, k->n);
    return s;
}

/* growable node-pointer vector in the arena */
typedef struct nvec { jnode **v; int n, cap; } nvec;
static void nv_push(parser *P, nvec *v, jnode *e) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        jnode **nv = jarena_alloc(P->ar, (size_t)cap * sizeof *nv);
        if (v->n) memcpy(nv, v->v, (size_t)v->n * sizeof *nv);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = e;
}
typedef struct svec { const char **v; int n, cap; } svec;
static void sv_push(parser *P, svec *v, const char *s) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        const char **nv = jarena_alloc(P->ar, (size_t)cap * sizeof *nv);
        if (v->n) memcpy(nv, v->v, (size_t)v->n * sizeof *nv);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = s;
}

static void enter(parser *P) {
    if (++P->nest > MAX_NEST) perr(P, cur(P), "template nested too deeply (more than %s levels)", "200");
}
static void leave(parser *P) { P->nest--; }

/* ---- expressions ----------------------------------------------------------------- */
static jnode *parse_expr(parser *P);
static jnode *parse_or(parser *P);
static jnode *parse_unary(parser *P, bool with_filter);

/* (args) after the '(' has been consumed: positional and keyword arguments */
static void parse_args(parser *P, jnode *call) {
    nvec pos = {0}, kwv = {0};
    svec kwn = {0};
    while (!is_op(cur(P), ")")) {
        if (pos.n + kwv.n > 0) {
            expect_op(P, ",");
            if (is_op(cur(P), ")")) break;
        }
        if (is_op(cur(P), "*") || is_op(cur(P), "**")) perr(P, cur(P), "*args / **kwargs in calls are not supported%s", NULL);
        if (cur(P)->t == TK_NAME && is_op(peek(P, 1), "=")) {
            const jtoken *k = next(P);
            next(P);
            sv_push(P, &kwn, tok_name(P, k));
            nv_push(P, &kwv, parse_expr(P));
        } else {
            if (kwv.n) perr(P, cur(P), "positional argument after a keyword argument%s", NULL);
            nv_push(P, &pos, parse_expr(P));
        }
    }
    expect_op(P, ")");
    call->list = pos.v;
    call->n = pos.n;
    call->list2 = kwv.v;
    call->n2 = kwv.n;
    call->kw = kwn.v;
}

static jnode *parse_primary(parser *P) {
    const jtoken *k = cur(P);
    jnode *e;
    switch (k->t) {
    case TK_NAME:
        next(P);
        e = node(P, E_LIT, k);
        if (is_name(k, "true") || is_name(k, "True")) e->lit = jv_bool(true);
        else if (is_name(k, "false") || is_name(k, "False")) e->lit = jv_bool(false);
        else if (is_name(k, "none") || is_name(k, "None")) e->lit = jv_none();
        else {
            e->kind = E_NAME;
            e->name = tok_name(P, k);
        }
        return e;
    case TK_STRING: {
        /* adjacent string literals concatenate */
        size_t total = 0, j = P->i;
        while (j < P->n && P->t[j].t == TK_STRING) total += P->t[j++].n;
        char *s = jarena_alloc(P->ar, total + 1);
        size_t o = 0;
        while (cur(P)->t == TK_STRING) {
            const jtoken *sk = next(P);
            memcpy(s + o, sk->p, sk->n);
            o += sk->n;
        }
        e = node(P, E_LIT, k);
        e->lit = jv_strn(s, total);
        return e;
    }
    case TK_INT:
        next(P);
        e = node(P, E_LIT, k);
        e->lit = jv_int(k->i);
        return e;
    case TK_FLOAT:
        next(P);
        e = node(P, E_LIT, k);
        e->lit = jv_float(k->f);
        return e;
    case TK_OP:
        if (is_op(k, "(")) {
            next(P);
            if (is_op(cur(P), ")")) {   /* empty tuple */
                next(P);
                e = node(P, E_TUPLE, k);
                return e;
            }
            jnode *first = parse_expr(P);
            if (!is_op(cur(P), ",")) {
                expect_op(P, ")");
                return first;
            }
            nvec items = {0};
            nv_push(P, &items, first);
            while (is_op(cur(P), ",")) {
                next(P);
                if (is_op(cur(P), ")")) break;
                nv_push(P, &items, parse_expr(P));
            }
            expect_op(P, ")");
            e = node(P, E_TUPLE, k);
            e->list = items.v;
            e->n = items.n;
            return e;
        }
        if (is_op(k, "[")) {
            next(P);
            nvec items = {0};
            while (!is_op(cur(P), "]")) {
                if (items.n) {
                    expect_op(P, ",");
                    if (is_op(cur(P), "]")) break;
                }
                nv_push(P, &items, parse_expr(P));
            }
            expect_op(P, "]");
            e = node(P, E_LIST, k);
            e->list = items.v;
            e->n = items.n;
            return e;
        }
        if (is_op(k, "{")) {
            next(P);
            nvec keys = {0}, vals = {0};
            while (!is_op(cur(P), "}")) {
                if (keys.n) {
                    expect_op(P, ",");
                    if (is_op(cur(P), "}")) break;
                }
                nv_push(P, &keys, parse_expr(P));
                expect_op(P, ":");
                nv_push(P, &vals, parse_expr(P));
            }
            expect_op(P, "}");
            e = node(P, E_DICT, k);
            e->list = keys.v;
            e->n = keys.n;
            e->list2 = vals.v;
            e->n2 = vals.n;
            return e;
        }
        break;
    default: break;
    }
    perr(P, k, "unexpected %s", tok_desc(k));
}

static jnode *parse_subscript(parser *P, jnode *obj, const jtoken *at) {
    /* after '[' */
    jnode *parts[3] = {NULL, NULL, NULL};
    bool slice = false;
    if (!is_op(cur(P), ":")) parts[0] = parse_expr(P);
    if (is_op(cur(P), ":")) {
        slice = true;
        next(P);
        if (!is_op(cur(P), "]") && !is_op(cur(P), ":")) parts[1] = parse_expr(P);
        if (is_op(cur(P), ":")) {
            next(P);
            if (!is_op(cur(P), "]")) parts[2] = parse_expr(P);
        }
    }
    expect_op(P, "]");
    jnode *e = node(P, slice ? E_SLICE : E_INDEX, at);
    e->a = obj;
    if (slice) {
        e->list = jarena_alloc(P->ar, 3 * sizeof(jnode *));
        memcpy(e->list, parts, sizeof parts);
        e->n = 3;
    } else {
        e->b = parts[0];
    }
    return e;
}

static jnode *parse_postfix(parser *P, jnode *e) {
    for (;;) {
        const jtoken *k = cur(P);
        if (is_op(k, ".")) {
            next(P);
            const jtoken *nk = cur(P);
            if (nk->t == TK_NAME) {
                next(P);
                jnode *a = node(P, E_ATTR, k);
                a->a = e;
                a->name = tok_name(P, nk);
                e = a;
            } else if (nk->t == TK_INT) {
                next(P);
                jnode *a = node(P, E_INDEX, k);
                a->a = e;
                a->b = node(P, E_LIT, nk);
                a->b->lit = jv_int(nk->i);
                e = a;
            } else {
                perr(P, nk, "expected a name after '.', got %s", tok_desc(nk));
            }
        } else if (is_op(k, "[")) {
            next(P);
            e = parse_subscript(P, e, k);
        } else if (is_op(k, "(")) {
            next(P);
            jnode *c = node(P, E_CALL, k);
            c->a = e;
            parse_args(P, c);
            e = c;
        } else {
            return e;
        }
    }
}

static const char *parse_dotted_name(parser *P) {
    const jtoken *k = cur(P);
    if (k->t != TK_NAME) perr(P, k, "expected a filter or test name, got %s", tok_desc(k));
    next(P);
    return tok_name(P, k);
}

static jnode *parse_filter(parser *P, jnode *operand, const jtoken *at) {
    /* after '|' */
    jnode *f = node(P, E_FILTER, at);
    f->a = operand;
    f->name = parse_dotted_name(P);
    if (!jfilter_exists(f->name)) perr(P, at, "No filter named '%s'.", f->name);
    if (is_op(cur(P), "(")) {
        next(P);
        parse_args(P, f);
    }
    return f;
}

static jnode *parse_filter_expr(parser *P, jnode *e) {
    for (;;) {
        const jtoken *k = cur(P);
        if (is_op(k, "|")) {
            next(P);
            e = parse_filter(P, e, k);
        } else if (is_name(k, "is")) {
            next(P);
            jnode *t = node(P, E_TEST, k);
            if (is_name(cur(P), "not")) {
                next(P);
                t->op = 1;
            }
            t->a = e;
            /* test names may be keywords-ish: none, true, false, ==, in */
            const jtoken *nk = cur(P);
            if (nk->t == TK_NAME) t->name = tok_name(P, next(P));
            else if (nk->t == TK_OP && (is_op(nk, "==") || is_op(nk, "!=") || is_op(nk, "<") || is_op(nk, ">") ||
                                         is_op(nk, "<=") || is_op(nk, ">=")))
                t->name = tok_name(P, next(P));
            else perr(P, nk, "expected a test name after 'is', got %s", tok_desc(nk));
            if (!jtest_exists(t->name)) perr(P, nk, "No test named '%s'.", t->name);
            const jtoken *ak = cur(P);
            if (is_op(ak, "(")) {
                next(P);
                parse_args(P, t);
            } else if ((ak->t == TK_NAME && !is_name(ak, "else") && !is_name(ak, "or") && !is_name(ak, "and") &&
                        !is_name(ak, "is") && !is_name(ak, "if") && !is_name(ak, "in") && !is_name(ak, "not")) ||
                       ak->t == TK_STRING || ak->t == TK_INT || ak->t == TK_FLOAT || is_op(ak, "[") ||
                       is_op(ak, "{")) {
                /* one argument without parentheses: `is divisibleby 3` */
                jnode *arg = parse_postfix(P, parse_primary(P));
                t->list = jarena_alloc(P->ar, sizeof(jnode *));
                t->list[0] = arg;
                t->n = 1;
            }
            e = t;
        } else if (is_op(k, "(")) {
            next(P);
            jnode *c = node(P, E_CALL, k);
            c->a = e;
            parse_args(P, c);
            e = c;
        } else {
            return e;
        }
    }
}

static jnode *parse_unary(parser *P, bool with_filter) {
    const jtoken *k = cur(P);
    jnode *e;
    enter(P);
    if (is_op(k, "-") || is_op(k, "+")) {
        next(P);
        e = node(P, is_op(k, "-") ? E_NEG : E_POS, k);
        e->a = parse_unary(P, false);
    } else {
        e = parse_primary(P);
    }
    e = parse_postfix(P, e);
    if (with_filter) e = parse_filter_expr(P, e);
    leave(P);
    return e;
}

static jnode *binary(parser *P, int op, jnode *a, jnode *b, const jtoken *at) {
    jnode *e = node(P, E_BIN, at);
    e->op = (uint8_t)op;
    e->a = a;
    e->b = b;
    return e;
}

static jnode *parse_pow(parser *P) {
    jnode *e = parse_unary(P, true);
    while (is_op(cur(P), "**")) {
        const jtoken *k = next(P);
        e = binary(P, OP_POW, e, parse_unary(P, true), k);
    }
    return e;
}

static jnode *parse_math2(parser *P) {
    jnode *e = parse_pow(P);
    for (;;) {
        const jtoken *k = cur(P);
        int op = is_op(k, "*") ? OP_MUL : is_op(k, "/") ? OP_DIV : is_op(k, "//") ? OP_FLOORDIV : is_op(k, "%") ? OP_MOD : -1;
        if (op < 0) return e;
        next(P);
        e = binary(P, op, e, parse_pow(P), k);
    }
}

static jnode *parse_concat(parser *P) {
    jnode *e = parse_math2(P);
    while (is_op(cur(P), "~")) {
        const jtoken *k = next(P);
        e = binary(P, OP_CONCAT, e, parse_math2(P), k);
    }
    return e;
}

static jnode *parse_math1(parser *P) {
    jnode *e = parse_concat(P);
    for (;;) {
        const jtoken *k = cur(P);
        int op = is_op(k, "+") ? OP_ADD : is_op(k, "-") ? OP_SUB : -1;
        if (op < 0) return e;
        next(P);
        e = binary(P, op, e, parse_concat(P), k);
    }
}

static int cmp_op(parser *P) {
    const jtoken *k = cur(P);
    if (is_op(k, "==")) return OP_EQ;
    if (is_op(k, "!=")) return OP_NE;
    if (is_op(k, "<")) return OP_LT;
    if (is_op(k, "<=")) return OP_LE;
    if (is_op(k, ">")) return OP_GT;
    if (is_op(k, ">=")) return OP_GE;
    if (is_name(k, "in")) return OP_IN;
    if (is_name(k, "not") && is_name(peek(P, 1), "in")) return OP_NOTIN;
    return -1;
}

static jnode *parse_compare(parser *P) {
    const jtoken *at = cur(P);
    jnode *e = parse_math1(P);
    int op = cmp_op(P);
    if (op < 0) return e;
    nvec operands = {0};
    uint8_t ops[64] = {0};
    int nops = 0;
    nv_push(P, &operands, e);
    while ((op = cmp_op(P)) >= 0) {
        if (nops == 64) perr(P, cur(P), "too many chained comparisons%s", NULL);
        next(P);
        if (op == OP_NOTIN) next(P);
        ops[nops++] = (uint8_t)op;
        nv_push(P, &operands, parse_math1(P));
    }
    jnode *c = node(P, E_CMP, at);
    c->list = operands.v;
    c->n = operands.n;
    c->ops = jarena_alloc(P->ar, (size_t)nops);
    memcpy(c->ops, ops, (size_t)nops);
    return c;
}

static jnode *parse_not(parser *P) {
    if (is_name(cur(P), "not")) {
        const jtoken *k = next(P);
        enter(P);
        jnode *e = node(P, E_NOT, k);
        e->a = parse_not(P);
        leave(P);
        return e;
    }
    return parse_compare(P);
}

static jnode *parse_and(parser *P) {
    jnode *e = parse_not(P);
    while (is_name(cur(P), "and")) {
        const jtoken *k = next(P);
        jnode *a = node(P, E_AND, k);
        a->a = e;
        a->b = parse_not(P);
        e = a;
    }
    return e;
}

static jnode *parse_or(parser *P) {
    jnode *e = parse_and(P);
    while (is_name(cur(P), "or")) {
        const jtoken *k = next(P);
        jnode *a = node(P, E_OR, k);
        a->a = e;
        a->b = parse_and(P);
        e = a;
    }
    return e;
}

static jnode *parse_expr(parser *P) {
    enter(P);
    jnode *e = parse_or(P);
    while (is_name(cur(P), "if")) {
        const jtoken *k = next(P);
        jnode *c = node(P, E_COND, k);
        c->b = e;
        c->a = parse_or(P);
        if (is_name(cur(P), "else")) {
            next(P);
            c->c = parse_expr(P);
        }
        e = c;
    }
    leave(P);
    return e;
}

/* expression or bare tuple `a, b` (for `{{ a, b }}` and `set x = 1, 2`) */
static jnode *parse_tuple_expr(parser *P) {
    const jtoken *at = cur(P);
    jnode *e = parse_expr(P);
    if (!is_op(cur(P), ",")) return e;
    nvec items = {0};
    nv_push(P, &items, e);
    while (is_op(cur(P), ",")) {
        next(P);
        if (cur(P)->t == TK_BLOCK_END || cur(P)->t == TK_VAR_END) break;
        nv_push(P, &items, parse_expr(P));
    }
    jnode *t = node(P, E_TUPLE, at);
    t->list = items.v;
    t->n = items.n;
    return t;
}

/* ---- statements -------------------------------------------------------------------- */
static jnode *parse_body(parser *P, const char *const *ends, const jtoken **end_tok);

static jnode *stmt_list(parser *P, const jtoken *at, nvec *v) {
    jnode *b = node(P, S_BLOCK, at);
    b->list = v->v;
    b->n = v->n;
    return b;
}

/* assignment target: name, a, b (tuple of names), or ns.attr */
static jnode *parse_target(parser *P, bool allow_attr) {
    const jtoken *k = cur(P);
    if (k->t != TK_NAME) perr(P, k, "expected a variable name, got %s", tok_desc(k));
    next(P);
    jnode *e = node(P, E_NAME, k);
    e->name = tok_name(P, k);
    if (allow_attr && is_op(cur(P), ".")) {
        next(P);
        const jtoken *a = cur(P);
        if (a->t != TK_NAME) perr(P, a, "expected an attribute name, got %s", tok_desc(a));
        next(P);
        jnode *at = node(P, E_ATTR, a);
        at->a = e;
        at->name = tok_name(P, a);
        return at;
    }
    if (!is_op(cur(P), ",")) return e;
    nvec items = {0};
    nv_push(P, &items, e);
    while (is_op(cur(P), ",")) {
        next(P);
        const jtoken *nk = cur(P);
        if (nk->t != TK_NAME) break;
        next(P);
        jnode *ne = node(P, E_NAME, nk);
        ne->name = tok_name(P, nk);
        nv_push(P, &items, ne);
    }
    jnode *t = node(P, E_TUPLE, k);
    t->list = items.v;
    t->n = items.n;
    return t;
}

static void end_tag(parser *P) { expect(P, TK_BLOCK_END, "'%}'"); }

static jnode *parse_if(parser *P, const jtoken *at) {
    jnode *s = node(P, S_IF, at);
    s->a = parse_expr(P);
    end_tag(P);
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const jtoken *e;
    jnode *body = parse_body(P, ends, &e);
    s->list = body->list;
    s->n = body->n;
    if (is_name(e, "elif")) {
        jnode *sub = parse_if(P, e);
        s->list2 = jarena_alloc(P->ar, sizeof(jnode *));
        s->list2[0] = sub;
        s->n2 = 1;
        return s;   /* the nested if consumed endif */
    }
    if (is_name(e, "else")) {
        end_tag(P);
        static const char *const ends2[] = {"endif", NULL};
        jnode *eb = parse_body(P, ends2, &e);
        s->list2 = eb->list;
        s->n2 = eb->n;
    }
    end_tag(P);
    return s;
}

static jnode *parse_for(parser *P, const jtoken *at) {
    jnode *s = node(P, S_FOR, at);
    s->a = parse_target(P, false);
    if (!is_name(cur(P), "in")) perr(P, cur(P), "expected 'in' in for loop, got %s", tok_desc(cur(P)));
    next(P);
    /* the iterable: or-expression (a bare `if` starts the loop filter) */
    const jtoken *ik = cur(P);
    jnode *it = parse_or(P);
    if (is_op(cur(P), ",")) {   /* for x in a, b */
        nvec items = {0};
        nv_push(P, &items, it);
        while (is_op(cur(P), ",")) {
            next(P);
            nv_push(P, &items, parse_or(P));
        }
        it = node(P, E_TUPLE, ik);
        it->list = items.v;
        it->n = items.n;
    }
    s->b = it;
    if (is_name(cur(P), "if")) {
        next(P);
        s->c = parse_expr(P);
    }
    if (is_name(cur(P), "recursive")) perr(P, cur(P), "recursive for loops are not supported%s", NULL);
    end_tag(P);
    static const char *const ends[] = {"else", "endfor", NULL};
    const jtoken *e;
    jnode *body = parse_body(P, ends, &e);
    s->list = body->list;
    s->n = body->n;
    if (is_name(e, "else")) {
        end_tag(P);
        static const char *const ends2[] = {"endfor", NULL};
        jnode *eb = parse_body(P, ends2, &e);
        s->list2 = eb->list;
        s->n2 = eb->n;
    }
    end_tag(P);
    return s;
}

/* filter chain for `{% set x | f %}` and `{% filter f | g %}`: E_FILTER nodes with a == NULL at the bottom */
static jnode *parse_filter_chain(parser *P, const jtoken *at) {
    jnode *f = parse_filter(P, NULL, at);
    while (is_op(cur(P), "|")) {
        const jtoken *k = next(P);
        f = parse_filter(P, f, k);
    }
    return f;
}

static jnode *parse_set(parser *P, const jtoken *at) {
    jnode *target = parse_target(P, true);
    if (is_op(cur(P), "=")) {
        next(P);
        jnode *s = node(P, S_SET, at);
        s->a = target;
        s->b = parse_tuple_expr(P);
        end_tag(P);
        return s;
    }
    if (target->kind != E_NAME) perr(P, cur(P), "block set needs a plain variable name%s", NULL);
    jnode *s = node(P, S_SETBLOCK, at);
    s->a = target;
    if (is_op(cur(P), "|")) {
        const jtoken *k = next(P);
        s->c = parse_filter_chain(P, k);
    }
    end_tag(P);
    static const char *const ends[] = {"endset", NULL};
    const jtoken *e;
    jnode *body = parse_body(P, ends, &e);
    s->list = body->list;
    s->n = body->n;
    end_tag(P);
    return s;
}

/* (a, b=default, ...) parameter list for macro and call blocks */
static void parse_params(parser *P, jnode *s) {
    svec names = {0};
    nvec defs = {0};
    if (!is_op(cur(P), "(")) return;
    next(P);
    while (!is_op(cur(P), ")")) {
        if (names.n) {
            expect_op(P, ",");
            if (is_op(cur(P), ")")) break;
        }
        const jtoken *k = cur(P);
        if (k->t != TK_NAME) perr(P, k, "expected a parameter name, got %s", tok_desc(k));
        next(P);
        sv_push(P, &names, tok_name(P, k));
        if (is_op(cur(P), "=")) {
            next(P);
            nv_push(P, &defs, parse_expr(P));
        } else {
            if (defs.n && defs.v[defs.n - 1]) perr(P, k, "parameter without a default after one with a default%s", NULL);
            nv_push(P, &defs, NULL);
        }
    }
    next(P);
    s->kw = names.v;
    s->list2 = defs.v;
    s->n2 = names.n;
}

static jnode *parse_macro(parser *P, const jtoken *at) {
    const jtoken *k = cur(P);
    if (k->t != TK_NAME) perr(P, k, "expected a macro name, got %s", tok_desc(k));
    next(P);
    jnode *s = node(P, S_MACRO, at);
    s->name = tok_name(P, k);
    if (!is_op(cur(P), "(")) perr(P, cur(P), "expected '(' after the macro name%s", NULL);
    parse_params(P, s);
    end_tag(P);
    static const char *const ends[] = {"endmacro", NULL};
    const jtoken *e;
    jnode *body = parse_body(P, ends, &e);
    s->list = body->list;
    s->n = body->n;
    if (cur(P)->t == TK_NAME) next(P);   /* {% endmacro name %} */
    end_tag(P);
    return s;
}

static jnode *parse_call_block(parser *P, const jtoken *at) {
    jnode *s = node(P, S_CALLBLOCK, at);
    if (is_op(cur(P), "(")) parse_params(P, s);   /* caller's parameters */
    jnode *call = parse_expr(P);
    if (call->kind != E_CALL) perr(P, at, "expected a macro call in call block%s", NULL);
    s->a = call;
    end_tag(P);
    static const char *const ends[] = {"endcall", NULL};
    const jtoken *e;
    jnode *body = parse_body(P, ends, &e);
    s->list = body->list;
    s->n = body->n;
    end_tag(P);
    return s;
}

static jnode *parse_statement(parser *P) {
    const jtoken *at = cur(P);   /* the keyword */
    if (at->t != TK_NAME) perr(P, at, "expected a statement keyword, got %s", tok_desc(at));
    next(P);
    if (is_name(at, "if")) return parse_if(P, at);
    if (is_name(at, "for")) return parse_for(P, at);
    if (is_name(at, "set")) return parse_set(P, at);
    if (is_name(at, "macro")) return parse_macro(P, at);
    if (is_name(at, "call")) return parse_call_block(P, at);
    if (is_name(at, "break") || is_name(at, "continue")) {
        jnode *s = node(P, is_name(at, "break") ? S_BREAK : S_CONTINUE, at);
        end_tag(P);
        return s;
    }
    if (is_name(at, "filter")) {
        jnode *s = node(P, S_FILTERBLOCK, at);
        s->c = parse_filter_chain(P, at);
        end_tag(P);
        static const char *const ends[] = {"endfilter", NULL};
        const jtoken *e;
        jnode *body = parse_body(P, ends, &e);
        s->list = body->list;
        s->n = body->n;
        end_tag(P);
        return s;
    }
    if (is_name(at, "generation")) {
        end_tag(P);
        static const char *const ends[] = {"endgeneration", NULL};
        const jtoken *e;
        jnode *body = parse_body(P, ends, &e);
        end_tag(P);
        return body;
    }
    if (is_name(at, "do")) {
        jnode *s = node(P, S_PRINT, at);
        s->a = parse_tuple_expr(P);
        s->op = 1;   /* evaluate, discard */
        end_tag(P);
        return s;
    }
    if (is_name(at, "include") || is_name(at, "import") || is_name(at, "from") || is_name(at, "extends") ||
        is_name(at, "block"))
        perr(P, at, "'%s' is not supported: chat templates are self-contained", tok_name(P, at));
    perr(P, at, "unknown statement '%s'", tok_name(P, at));
}

/* Parses statements until `{% <one of ends> ...`; *end_tok gets that
 * keyword (consumed; the caller consumes the rest of the tag). ends NULL:
 * until end of template. */
static jnode *parse_body(parser *P, const char *const *ends, const jtoken **end_tok) {
    const jtoken *start = cur(P);
    int open_line = P->i > 0 ? P->t[P->i - 1].line : 1;   /* the opening tag's %} */
    nvec v = {0};
    enter(P);
    for (;;) {
        const jtoken *k = cur(P);
        if (k->t == TK_EOF) {
            if (ends) {
                char m[200];
                int last = 0;
                while (ends[last + 1]) last++;
                snprintf(m, sizeof m, "unexpected end of template: missing {%% %s %%} for the block opened at line %d",
                         ends[last], open_line);
                perr(P, k, "%s", m);
            }
            break;
        }
        if (k->t == TK_TEXT) {
            next(P);
            jnode *s = node(P, S_TEXT, k);
            s->lit = jv_strn(k->p, k->n);
            nv_push(P, &v, s);
            continue;
        }
        if (k->t == TK_VAR_BEGIN) {
            next(P);
            jnode *s = node(P, S_PRINT, k);
            s->a = parse_tuple_expr(P);
            expect(P, TK_VAR_END, "'}}'");
            nv_push(P, &v, s);
            continue;
        }
        if (k->t == TK_BLOCK_BEGIN) {
            const jtoken *kw = peek(P, 1);
            if (ends && kw->t == TK_NAME) {
                bool hit = false;
                for (int i = 0; ends[i]; i++) hit = hit || is_name(kw, ends[i]);
                if (hit) {
                    next(P);
                    next(P);
                    *end_tok = kw;
                    break;
                }
            }
            if (kw->t == TK_NAME && (is_name(kw, "endif") || is_name(kw, "endfor") || is_name(kw, "else") ||
                                     is_name(kw, "elif") || is_name(kw, "endmacro") || is_name(kw, "endset") ||
                                     is_name(kw, "endcall") || is_name(kw, "endfilter") ||
                                     is_name(kw, "endgeneration") || is_name(kw, "endraw"))) {
                char m[160];
                if (ends) {
                    int last = 0;
                    while (ends[last + 1]) last++;
                    snprintf(m, sizeof m, "unexpected '%.*s' (expected {%% %s %%})", (int)kw->n, kw->p, ends[last]);
                }
                else snprintf(m, sizeof m, "unexpected '%.*s' with no open block", (int)kw->n, kw->p);
                perr(P, kw, "%s", m);
            }
            next(P);
            nv_push(P, &v, parse_statement(P));
            continue;
        }
        perr(P, k, "unexpected %s", tok_desc(k));
    }
    leave(P);
    return stmt_list(P, start, &v);
}

jnode *jinja_parse_tokens(jarena *ar, const jtokens *toks, char *err, size_t errn) {
    parser P;
    memset(&P, 0, sizeof P);
    P.ar = ar;
    P.t = toks->v;
    P.n = toks->n;
    P.err = err;
    P.errn = errn;
    if (setjmp(P.fail)) return NULL;
    const jtoken *e = NULL;
    return parse_body(&P, NULL, &e);
}
