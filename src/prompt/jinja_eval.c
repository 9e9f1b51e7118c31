/*
 * jinja_eval.c — evaluating the syntax tree: scopes, expressions (Jinja2 /
 * Python semantics), statements, macros, loops.
 *
 * Scopes follow Jinja2: a `for` loop and a macro call open a new scope
 * (assignments inside do not leak out); `if` does not. Undefined values are
 * Jinja2's default Undefined: printing gives "", truthiness false, iterating
 * gives nothing, but attribute access, arithmetic or calls on them fail
 * with "'x' is undefined" / "'dict object' has no attribute 'x'".
 */
#include "jinja_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and limits ------------------------------------------------------------ */
void jfail(jctx *c, hearth_status s, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->line > 0) snprintf(c->err, sizeof c->err, "template error at line %d: %s", c->line, msg);
    else snprintf(c->err, sizeof c->err, "%s", msg);
    c->status = s;
    longjmp(c->fail, 1);
}

void jstep(jctx *c, int64_t n) {
    c->steps += n;
    if (c->steps > c->max_steps)
        jfail(c, HEARTH_ERR_RANGE, "step limit exceeded: the template ran more than %lld steps", (long long)c->max_steps);
}

void jcheck_defined(jctx *c, jval v) {
    if (v.t != JV_UNDEF) return;
    if (v.tuple) jfail(c, HEARTH_ERR_FORMAT, "%.*s", (int)v.u.s.n, v.u.s.p);
    if (v.u.s.p) jfail(c, HEARTH_ERR_FORMAT, "%.*s", (int)v.u.s.n, v.u.s.p);
    jfail(c, HEARTH_ERR_FORMAT, "a value is undefined");
}

/* ---- frames ---------------------------------------------------------------------- */
jframe *jframe_new(jctx *c, jframe *parent) {
    jframe *f = jarena_alloc(&c->ar, sizeof *f);
    f->parent = parent;
    return f;
}

void jframe_set(jctx *c, jframe *f, const char *name, jval v) {
    jd_set(c, &f->vars, jv_strn(name, strlen(name)), v);
}

bool jframe_get(jframe *f, const char *name, jval *out) {
    size_t n = strlen(name);
    for (; f; f = f->parent)
        if (jd_get_str(&f->vars, name, n, out)) return true;
    return false;
}

/* ---- attribute and item access ------------------------------------------------------- */
static jval method_val(jctx *c, jval self, int id) {
    jval v = {0};
    v.t = JV_METHOD;
    v.u.bm = jarena_alloc(&c->ar, sizeof(jmethod));
    v.u.bm->self = self;
    v.u.bm->id = id;
    return v;
}

static const char *obj_desc(jval v) {
    switch (v.t) {
    case JV_DICT: return "dict object";
    case JV_LIST: return v.tuple ? "tuple object" : "list object";
    case JV_STR: return "str object";
    case JV_INT: return "int object";
    case JV_FLOAT: return "float object";
    case JV_BOOL: return "bool object";
    case JV_NONE: return "None";
    case JV_NS: return "Namespace object";
    default: return "object";
    }
}

static jval loop_attr(jctx *c, jval obj, const char *name) {
    jloop *L = obj.u.loop;
    int64_t n = (int64_t)L->items->n, i = (int64_t)L->index0;
    if (!strcmp(name, "index")) return jv_int(i + 1);
    if (!strcmp(name, "index0")) return jv_int(i);
    if (!strcmp(name, "revindex")) return jv_int(n - i);
    if (!strcmp(name, "revindex0")) return jv_int(n - i - 1);
    if (!strcmp(name, "first")) return jv_bool(i == 0);
    if (!strcmp(name, "last")) return jv_bool(i == n - 1);
    if (!strcmp(name, "length")) return jv_int(n);
    if (!strcmp(name, "depth")) return jv_int(L->depth);
    if (!strcmp(name, "depth0")) return jv_int(L->depth - 1);
    if (!strcmp(name, "previtem"))
        return i > 0 ? L->items->v[i - 1] : jv_undef_hint(c, "there is no previous item");
    if (!strcmp(name, "nextitem"))
        return i + 1 < n ? L->items->v[i + 1] : jv_undef_hint(c, "there is no next item");
    if (!strcmp(name, "cycle")) {
        jval f = {0};
        f.t = JV_FUNC;
        f.fn = FN_LOOP_CYCLE;
        f.u.loop = L;
        return f;
    }
    return jv_undef_hint(c, "'LoopContext object' has no attribute '%s'", name);
}

jval jgetattr(jctx *c, jval obj, const char *name, size_t n) {
    jval r;
    if (obj.t == JV_UNDEF) jcheck_defined(c, obj);
    if (obj.t == JV_LOOP) return loop_attr(c, obj, name);
    if (obj.t == JV_NS) {
        if (jd_get_str(obj.u.d, name, n, &r)) return r;
        return jv_undef_hint(c, "'%s' has no attribute '%.*s'", obj_desc(obj), (int)n, name);
    }
    /* Python getattr first: safe methods of str / dict / list */
    bool unsafe = false;
    int id = jmethod_lookup(obj, name, n, &unsafe);
    if (id > 0) return method_val(c, obj, id);
    if (unsafe) {
        jval u = jv_undef_hint(c, "access to attribute '%.*s' of '%s' object is unsafe.", (int)n, name,
                               jv_type_name(obj));
        u.tuple = 1;
        return u;
    }
    if (obj.t == JV_DICT && jd_get_str(obj.u.d, name, n, &r)) return r;
    return jv_undef_hint(c, "'%s' has no attribute '%.*s'", obj_desc(obj), (int)n, name);
}

static int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

jval jgetitem(jctx *c, jval obj, jval key) {
    jval r;
    if (obj.t == JV_UNDEF) jcheck_defined(c, obj);
    if (key.t == JV_UNDEF && obj.t != JV_DICT) jcheck_defined(c, key);
    switch (obj.t) {
    case JV_DICT: case JV_NS:
        if (jd_get(obj.u.d, key, &r)) return r;
        if (key.t == JV_STR) return jgetattr(c, obj, key.u.s.p, key.u.s.n);
        break;
    case JV_LIST:
        if (key.t == JV_INT || key.t == JV_BOOL) {
            int64_t i = norm_index(key.t == JV_INT ? key.u.i : key.u.b, (int64_t)obj.u.l->n);
            if (i >= 0 && i < (int64_t)obj.u.l->n) return obj.u.l->v[i];
            return jv_undef_hint(c, "'%s' has no element %lld", obj_desc(obj), (long long)(key.t == JV_INT ? key.u.i : key.u.b));
        }
        if (key.t == JV_STR) return jgetattr(c, obj, key.u.s.p, key.u.s.n);
        break;
    case JV_STR:
        if (key.t == JV_INT || key.t == JV_BOOL) {
            int64_t len = (int64_t)utf8_len(obj.u.s.p, obj.u.s.n);
            int64_t i = norm_index(key.t == JV_INT ? key.u.i : key.u.b, len);
            if (i >= 0 && i < len) {
                size_t a = utf8_offset(obj.u.s.p, obj.u.s.n, i), b = utf8_offset(obj.u.s.p, obj.u.s.n, i + 1);
                return jv_strn(obj.u.s.p + a, b - a);
            }
            return jv_undef_hint(c, "'str object' has no element %lld", (long long)key.u.i);
        }
        if (key.t == JV_STR) return jgetattr(c, obj, key.u.s.p, key.u.s.n);
        break;
    case JV_LOOP:
        if (key.t == JV_STR) {
            char nm[64];
            snprintf(nm, sizeof nm, "%.*s", (int)key.u.s.n, key.u.s.p);
            return loop_attr(c, obj, nm);
        }
        break;
    default: break;
    }
    if (key.t == JV_STR) return jv_undef_hint(c, "'%s' has no attribute '%.*s'", obj_desc(obj), (int)key.u.s.n, key.u.s.p);
    jbuf kb = {0};
    jv_repr_to(c, &kb, key);
    return jv_undef_hint(c, "'%s' has no element %.*s", obj_desc(obj), (int)kb.len, kb.data ? kb.data : "");
}

/* Python slice indices for a sequence of length n */
static void slice_indices(jctx *c, jval start, jval stop, jval step, int64_t n, int64_t *s0, int64_t *s1, int64_t *st) {
    int64_t k = 1;
    if (step.t == JV_INT) k = step.u.i;
    else if (step.t != JV_NONE && step.t != JV_UNDEF) jfail(c, HEARTH_ERR_FORMAT, "slice indices must be integers or None");
    if (k == 0) jfail(c, HEARTH_ERR_FORMAT, "slice step cannot be zero");
    int64_t lo = k > 0 ? 0 : -1, hi = k > 0 ? n : n - 1;
    int64_t a = k > 0 ? lo : hi, b = k > 0 ? hi : lo;
    if (start.t == JV_INT) {
        a = start.u.i < 0 ? start.u.i + n : start.u.i;
        if (a < lo) a = lo;
        if (a > hi) a = hi;
    } else if (start.t != JV_NONE && start.t != JV_UNDEF) jfail(c, HEARTH_ERR_FORMAT, "slice indices must be integers or None");
    if (stop.t == JV_INT) {
        b = stop.u.i < 0 ? stop.u.i + n : stop.u.i;
        if (b < lo) b = lo;
        if (b > hi) b = hi;
    } else if (stop.t != JV_NONE && stop.t != JV_UNDEF) jfail(c, HEARTH_ERR_FORMAT, "slice indices must be integers or None");
    *s0 = a;
    *s1 = b;
    *st = k;
}

static jval do_slice(jctx *c, jval obj, jval start, jval stop, jval step) {
    int64_t a, b, k;
    if (obj.t == JV_UNDEF) jcheck_defined(c, obj);
    if (obj.t == JV_LIST) {
        int64_t n = (int64_t)obj.u.l->n;
        slice_indices(c, start, stop, step, n, &a, &b, &k);
        jval r = jv_list(c, 0);
        r.tuple = obj.tuple;
        for (int64_t i = a; k > 0 ? i < b : i > b; i += k) jl_push(c, r.u.l, obj.u.l->v[i]);
        jstep(c, (int64_t)r.u.l->n / 16);
        return r;
    }
    if (obj.t == JV_STR) {
        const char *p = obj.u.s.p;
        size_t bn = obj.u.s.n;
        int64_t n = (int64_t)utf8_len(p, bn);
        slice_indices(c, start, stop, step, n, &a, &b, &k);
        if (k == 1) {
            if (b <= a) return jv_strn("", 0);
            size_t oa = utf8_offset(p, bn, a);
            size_t ob = oa + utf8_offset(p + oa, bn - oa, b - a);
            return jv_strn(p + oa, ob - oa);
        }
        /* general step: index code points */
        size_t *offs = jarena_alloc(&c->ar, ((size_t)n + 1) * sizeof(size_t));
        size_t o = 0;
        for (int64_t i = 0; i < n; i++) {
            offs[i] = o;
            o++;
            while (o < bn && ((unsigned char)p[o] & 0xC0) == 0x80) o++;
        }
        offs[n] = bn;
        jbuf out = {0};
        for (int64_t i = a; k > 0 ? i < b : i > b; i += k) jb_put(c, &out, p + offs[i], offs[i + 1] - offs[i]);
        jstep(c, n / 16);
        return jb_val(&out);
    }
    jfail(c, HEARTH_ERR_FORMAT, "'%s' object is not subscriptable", jv_type_name(obj));
}

jval jiter_list(jctx *c, jval v) {
    switch (v.t) {
    case JV_LIST: return v;
    case JV_UNDEF:
        if (v.tuple) jcheck_defined(c, v);
        return jv_list(c, 0);
    case JV_DICT: case JV_NS: {
        jval l = jv_list(c, v.u.d->n);
        for (size_t i = 0; i < v.u.d->n; i++) jl_push(c, l.u.l, v.u.d->k[i]);
        return l;
    }
    case JV_STR: {
        jval l = jv_list(c, v.u.s.n);
        const char *p = v.u.s.p;
        size_t i = 0;
        while (i < v.u.s.n) {
            size_t j = i + 1;
            while (j < v.u.s.n && ((unsigned char)p[j] & 0xC0) == 0x80) j++;
            jl_push(c, l.u.l, jv_strn(p + i, j - i));
            i = j;
        }
        jstep(c, (int64_t)l.u.l->n / 16);
        return l;
    }
    default:
        jfail(c, HEARTH_ERR_FORMAT, "'%s' object is not iterable", jv_type_name(v));
    }
}

/* ---- arithmetic --------------------------------------------------------------------- */
static bool isnum(jval v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static double fnum(jval v) { return v.t == JV_FLOAT ? v.u.f : v.t == JV_INT ? (double)v.u.i : (double)v.u.b; }
static int64_t inum(jval v) { return v.t == JV_INT ? v.u.i : v.t == JV_BOOL ? (int64_t)v.u.b : 0; }

static const char *OPSYM[] = {"+", "-", "*", "/", "//", "%", "**", "~"};

static _Noreturn void type_err(jctx *c, int op, jval a, jval b) {
    jcheck_defined(c, a);
    jcheck_defined(c, b);
    if (op == OP_ADD && (a.t == JV_STR || a.t == JV_LIST))
        jfail(c, HEARTH_ERR_FORMAT, "can only concatenate %s (not \"%s\") to %s", jv_type_name(a), jv_type_name(b),
              jv_type_name(a));
    jfail(c, HEARTH_ERR_FORMAT, "unsupported operand type(s) for %s: '%s' and '%s'", OPSYM[op], jv_type_name(a),
          jv_type_name(b));
}

static jval html_escape(jctx *c, jval s) {
    jbuf b = {0};
    for (size_t i = 0; i < s.u.s.n; i++) {
        char ch = s.u.s.p[i];
        switch (ch) {
        case '&': jb_puts(c, &b, "&amp;"); break;
        case '<': jb_puts(c, &b, "&lt;"); break;
        case '>': jb_puts(c, &b, "&gt;"); break;
        case '"': jb_puts(c, &b, "&#34;"); break;
        case '\'': jb_puts(c, &b, "&#39;"); break;
        default: jb_put(c, &b, &ch, 1);
        }
    }
    return jb_val(&b);
}

static jval repeat(jctx *c, jval seq, int64_t k) {
    if (k < 0) k = 0;
    if (seq.t == JV_STR) {
        if (seq.u.s.n && (uint64_t)k > (uint64_t)(c->ar.cap ? c->ar.cap : SIZE_MAX) / seq.u.s.n)
            jfail(c, HEARTH_ERR_RANGE, "memory limit exceeded: string repetition too large");
        jbuf b = {0};
        for (int64_t i = 0; i < k; i++) jb_put(c, &b, seq.u.s.p, seq.u.s.n);
        jstep(c, k);
        return jb_val(&b);
    }
    jval r = jv_list(c, 0);
    r.tuple = seq.tuple;
    jstep(c, k * (int64_t)seq.u.l->n);
    for (int64_t i = 0; i < k; i++)
        for (size_t j = 0; j < seq.u.l->n; j++) jl_push(c, r.u.l, seq.u.l->v[j]);
    return r;
}

jval jbinop(jctx *c, int op, jval a, jval b) {
    if (op == OP_CONCAT) {
        jbuf buf = {0};
        jv_str_to(c, &buf, a);
        jv_str_to(c, &buf, b);
        return jb_val(&buf);
    }
    bool ints = (a.t == JV_INT || a.t == JV_BOOL) && (b.t == JV_INT || b.t == JV_BOOL);
    if (isnum(a) && isnum(b)) {
        int64_t x = inum(a), y = inum(b), r;
        double fx = fnum(a), fy = fnum(b);
        switch (op) {
        case OP_ADD:
            if (ints) { if (__builtin_add_overflow(x, y, &r)) goto ovf; return jv_int(r); }
            return jv_float(fx + fy);
        case OP_SUB:
            if (ints) { if (__builtin_sub_overflow(x, y, &r)) goto ovf; return jv_int(r); }
            return jv_float(fx - fy);
        case OP_MUL:
            if (ints) { if (__builtin_mul_overflow(x, y, &r)) goto ovf; return jv_int(r); }
            return jv_float(fx * fy);
        case OP_DIV:
            if (fy == 0) jfail(c, HEARTH_ERR_FORMAT, "division by zero");
            return jv_float(fx / fy);
        case OP_FLOORDIV:
            if (fy == 0) jfail(c, HEARTH_ERR_FORMAT, "integer division or modulo by zero");
            if (ints) {
                if (x == INT64_MIN && y == -1) goto ovf;
                int64_t q = x / y;
                if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
                return jv_int(q);
            }
            return jv_float(floor(fx / fy));
        case OP_MOD:
            if (fy == 0) jfail(c, HEARTH_ERR_FORMAT, "integer division or modulo by zero");
            if (ints) {
                if (y == -1) return jv_int(0);
                int64_t m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) m += y;
                return jv_int(m);
            } else {
                double m = fmod(fx, fy);
                if (m != 0 && ((m < 0) != (fy < 0))) m += fy;
                return jv_float(m);
            }
        case OP_POW:
            if (ints && y >= 0) {
                int64_t acc = 1, base = x;
                int64_t e = y;
                while (e > 0) {
                    if (e & 1) { if (__builtin_mul_overflow(acc, base, &acc)) goto ovf; }
                    e >>= 1;
                    if (e && __builtin_mul_overflow(base, base, &base)) goto ovf;
                }
                return jv_int(acc);
            }
            return jv_float(pow(fx, fy));
        }
    }
    switch (op) {
    case OP_ADD:
        if (a.t == JV_STR && b.t == JV_STR) {
            /* Markup (from |safe) + str escapes the plain side */
            if (a.tuple && !b.tuple) b = html_escape(c, b);
            else if (b.tuple && !a.tuple) a = html_escape(c, a);
            jbuf buf = {0};
            jb_put(c, &buf, a.u.s.p, a.u.s.n);
            jb_put(c, &buf, b.u.s.p, b.u.s.n);
            jval r = jb_val(&buf);
            r.tuple = a.tuple || b.tuple;
            return r;
        }
        if (a.t == JV_LIST && b.t == JV_LIST && a.tuple == b.tuple) {
            jval r = jv_list(c, a.u.l->n + b.u.l->n);
            r.tuple = a.tuple;
            for (size_t i = 0; i < a.u.l->n; i++) jl_push(c, r.u.l, a.u.l->v[i]);
            for (size_t i = 0; i < b.u.l->n; i++) jl_push(c, r.u.l, b.u.l->v[i]);
            jstep(c, (int64_t)r.u.l->n / 16);
            return r;
        }
        break;
    case OP_MUL:
        if ((a.t == JV_STR || a.t == JV_LIST) && (b.t == JV_INT || b.t == JV_BOOL)) return repeat(c, a, inum(b));
        if ((b.t == JV_STR || b.t == JV_LIST) && (a.t == JV_INT || a.t == JV_BOOL)) return repeat(c, b, inum(a));
        break;
    case OP_MOD:
        if (a.t == JV_STR) {
            jval args[1] = {b};
            return japply_filter(c, "format", a, args, 1, NULL, NULL, 0, NULL);
        }
        break;
    }
    type_err(c, op, a, b);
ovf:
    jfail(c, HEARTH_ERR_RANGE, "integer overflow in '%s' (hearth integers are 64-bit)", OPSYM[op]);
}

static bool contains(jctx *c, jval item, jval seq) {
    switch (seq.t) {
    case JV_STR:
        if (item.t != JV_STR) {
            jcheck_defined(c, item);
            jfail(c, HEARTH_ERR_FORMAT, "'in <string>' requires string as left operand, not %s", jv_type_name(item));
        }
        if (item.u.s.n == 0) return true;
        if (item.u.s.n > seq.u.s.n) return false;
        return memmem(seq.u.s.p, seq.u.s.n, item.u.s.p, item.u.s.n) != NULL;
    case JV_LIST:
        jstep(c, (int64_t)seq.u.l->n / 16);
        for (size_t i = 0; i < seq.u.l->n; i++)
            if (jv_equal(seq.u.l->v[i], item)) return true;
        return false;
    case JV_DICT: {
        jval r;
        return jd_get(seq.u.d, item, &r);
    }
    case JV_UNDEF:
        if (seq.tuple) jcheck_defined(c, seq);
        return false;
    default:
        jfail(c, HEARTH_ERR_FORMAT, "argument of type '%s' is not iterable", jv_type_name(seq));
    }
}

/* ---- calls ---------------------------------------------------------------------------- */
#define MAX_ARGS 64

/* evaluated call arguments; arrays live in the arena (keeps C frames small) */
typedef struct callargs {
    jval *pos;
    int npos;
    const char **kwn;
    jval *kwv;
    int nkw;
} callargs;

static void eval_args(jctx *c, jframe *f, const jnode *e, callargs *a) {
    if (e->n > MAX_ARGS || e->n2 > MAX_ARGS) jfail(c, HEARTH_ERR_FORMAT, "too many arguments (at most %d)", MAX_ARGS);
    a->npos = e->n;
    a->pos = e->n ? jarena_alloc(&c->ar, (size_t)e->n * sizeof(jval)) : NULL;
    for (int i = 0; i < e->n; i++) a->pos[i] = jeval(c, f, e->list[i]);
    a->nkw = e->n2;
    a->kwn = (const char **)e->kw;
    a->kwv = e->n2 ? jarena_alloc(&c->ar, (size_t)e->n2 * sizeof(jval)) : NULL;
    for (int i = 0; i < e->n2; i++) a->kwv[i] = jeval(c, f, e->list2[i]);
}

static jval call_value(jctx *c, jval fn, callargs *a, const jnode *caller_body, jframe *caller_frame) {
    switch (fn.t) {
    case JV_MACRO:
        return jcall_macro(c, fn, a->pos, a->npos, a->kwn, a->kwv, a->nkw, caller_body, caller_frame);
    case JV_FUNC:
        return jcall_builtin(c, fn, a->pos, a->npos, a->kwn, a->kwv, a->nkw);
    case JV_METHOD:
        return jcall_method(c, fn.u.bm, a->pos, a->npos, a->kwn, a->kwv, a->nkw);
    case JV_UNDEF:
        jcheck_defined(c, fn);
        /* fallthrough */
    default:
        jfail(c, HEARTH_ERR_FORMAT, "'%s' object is not callable", jv_type_name(fn));
    }
}

jval jcall_macro(jctx *c, jval mv, jval *args, int nargs, const char **kwn, jval *kwv, int nkw,
                 const jnode *caller_body, jframe *caller_frame) {
    jmacro *m = mv.u.m;
    const jnode *def = m->def;
    if (c->depth >= c->max_depth)
        jfail(c, HEARTH_ERR_RANGE, "recursion limit exceeded: more than %d nested macro calls", c->max_depth);
    c->depth++;
    int saved_line = c->line;
    jframe *f = jframe_new(c, m->closure);
    int np = def->n2;
    jval varargs = jv_undef(), kwargs = jv_undef();   /* made only when extra arguments come */
    bool *given = jarena_alloc(&c->ar, (size_t)(np + 1) * sizeof(bool));
    for (int i = 0; i < nargs; i++) {
        if (i < np) {
            jframe_set(c, f, def->kw[i], args[i]);
            given[i] = true;
        } else {
            if (varargs.t == JV_UNDEF) { varargs = jv_list(c, 0); varargs.tuple = 1; }
            jl_push(c, varargs.u.l, args[i]);
        }
    }
    for (int k = 0; k < nkw; k++) {
        int i;
        for (i = 0; i < np; i++)
            if (!strcmp(def->kw[i], kwn[k])) break;
        if (i < np) {
            if (given[i]) jfail(c, HEARTH_ERR_FORMAT, "macro '%s' got multiple values for argument '%s'",
                                def->name ? def->name : "caller", kwn[k]);
            jframe_set(c, f, def->kw[i], kwv[k]);
            given[i] = true;
        } else {
            if (kwargs.t == JV_UNDEF) kwargs = jv_dict(c, 0);
            jd_set(c, kwargs.u.d, jv_str(c, kwn[k]), kwv[k]);
        }
    }
    for (int i = 0; i < np; i++) {
        if (given[i]) continue;
        if (def->list2 && def->list2[i]) jframe_set(c, f, def->kw[i], jeval(c, f, def->list2[i]));
        else jframe_set(c, f, def->kw[i], jv_undef_hint(c, "parameter '%s' was not provided", def->kw[i]));
    }
    if (varargs.t != JV_UNDEF) jframe_set(c, f, "varargs", varargs);
    if (kwargs.t != JV_UNDEF) jframe_set(c, f, "kwargs", kwargs);
    if (caller_body) {
        jval cm = {0};
        cm.t = JV_MACRO;
        cm.u.m = jarena_alloc(&c->ar, sizeof(jmacro));
        cm.u.m->def = caller_body;
        cm.u.m->closure = caller_frame;
        jframe_set(c, f, "caller", cm);
    }
    jbuf out = {0};
    jbuf *saved = c->out;
    int saved_ctl = c->loop_ctl;
    c->out = &out;
    c->loop_ctl = 0;
    jexec_block(c, f, def->list, def->n);
    c->out = saved;
    c->loop_ctl = saved_ctl;
    c->depth--;
    c->line = saved_line;
    return jb_val(&out);   /* plain str: Markup only with autoescape, which is off */
}

/* ---- filters and tests --------------------------------------------------------------------- */
static jval eval_filter(jctx *c, jframe *f, const jnode *e, jval operand) {
    callargs a;
    eval_args(c, f, e, &a);
    return japply_filter(c, e->name, operand, a.pos, a.npos, a.kwn, a.kwv, a.nkw, f);
}

/* applies a chain of E_FILTER nodes whose innermost operand is NULL to v */
static jval apply_chain(jctx *c, jframe *f, const jnode *chain, jval v) {
    if (!chain) return v;
    v = apply_chain(c, f, chain->a, v);
    return eval_filter(c, f, chain, v);
}

/* ---- expressions ---------------------------------------------------------------------------- */
static jval eval_node(jctx *c, jframe *f, const jnode *e);

jval jeval(jctx *c, jframe *f, const jnode *e) {
    jstep(c, 1);
    if (++c->nest > JINJA_MAX_NEST)
        jfail(c, HEARTH_ERR_RANGE, "recursion limit exceeded: evaluation nested more than %d levels", JINJA_MAX_NEST);
    jval r = eval_node(c, f, e);
    c->nest--;
    return r;
}

static jval eval_node(jctx *c, jframe *f, const jnode *e) {
    switch (e->kind) {
    case E_LIT: return e->lit;
    case E_NAME: {
        jval v;
        if (jframe_get(f, e->name, &v)) return v;
        return jv_undef_hint(c, "'%s' is undefined", e->name);
    }
    case E_LIST: case E_TUPLE: {
        jval l = jv_list(c, (size_t)e->n);
        l.tuple = e->kind == E_TUPLE;
        for (int i = 0; i < e->n; i++) jl_push(c, l.u.l, jeval(c, f, e->list[i]));
        return l;
    }
    case E_DICT: {
        jval d = jv_dict(c, (size_t)e->n);
        for (int i = 0; i < e->n; i++) {
            jval k = jeval(c, f, e->list[i]);
            if (k.t == JV_LIST && !k.tuple) jfail(c, HEARTH_ERR_FORMAT, "unhashable type: 'list'");
            if (k.t == JV_DICT) jfail(c, HEARTH_ERR_FORMAT, "unhashable type: 'dict'");
            jcheck_defined(c, k);
            jd_set(c, d.u.d, k, jeval(c, f, e->list2[i]));
        }
        return d;
    }
    case E_ATTR: {
        jval o = jeval(c, f, e->a);
        c->line = e->line;
        return jgetattr(c, o, e->name, strlen(e->name));
    }
    case E_INDEX: {
        jval o = jeval(c, f, e->a);
        jval k = jeval(c, f, e->b);
        c->line = e->line;
        return jgetitem(c, o, k);
    }
    case E_SLICE: {
        jval o = jeval(c, f, e->a);
        jval p[3];
        for (int i = 0; i < 3; i++) p[i] = e->list[i] ? jeval(c, f, e->list[i]) : jv_none();
        c->line = e->line;
        return do_slice(c, o, p[0], p[1], p[2]);
    }
    case E_CALL: {
        jval fn = jeval(c, f, e->a);
        callargs a;
        eval_args(c, f, e, &a);
        c->line = e->line;
        return call_value(c, fn, &a, NULL, NULL);
    }
    case E_FILTER: {
        jval v = jeval(c, f, e->a);
        c->line = e->line;
        return eval_filter(c, f, e, v);
    }
    case E_TEST: {
        jval v = jeval(c, f, e->a);
        callargs a;
        eval_args(c, f, e, &a);
        c->line = e->line;
        bool r = japply_test(c, e->name, v, a.pos, a.npos);
        return jv_bool(e->op ? !r : r);
    }
    case E_BIN: {
        jval a = jeval(c, f, e->a);
        jval b = jeval(c, f, e->b);
        c->line = e->line;
        return jbinop(c, e->op, a, b);
    }
    case E_NEG: case E_POS: {
        jval v = jeval(c, f, e->a);
        c->line = e->line;
        if (v.t == JV_INT || v.t == JV_BOOL) {
            int64_t x = v.t == JV_INT ? v.u.i : v.u.b;
            if (e->kind == E_POS) return jv_int(x);
            if (x == INT64_MIN) jfail(c, HEARTH_ERR_RANGE, "integer overflow in unary '-'");
            return jv_int(-x);
        }
        if (v.t == JV_FLOAT) return jv_float(e->kind == E_NEG ? -v.u.f : v.u.f);
        jcheck_defined(c, v);
        jfail(c, HEARTH_ERR_FORMAT, "bad operand type for unary %s: '%s'", e->kind == E_NEG ? "-" : "+", jv_type_name(v));
    }
    case E_NOT: return jv_bool(!jv_truthy(jeval(c, f, e->a)));
    case E_AND: {
        jval a = jeval(c, f, e->a);
        return jv_truthy(a) ? jeval(c, f, e->b) : a;
    }
    case E_OR: {
        jval a = jeval(c, f, e->a);
        return jv_truthy(a) ? a : jeval(c, f, e->b);
    }
    case E_CMP: {
        jval left = jeval(c, f, e->list[0]);
        jval res = jv_bool(true);
        for (int i = 1; i < e->n; i++) {
            jval right = jeval(c, f, e->list[i]);
            c->line = e->line;
            bool r;
            switch (e->ops[i - 1]) {
            case OP_EQ: r = jv_equal(left, right); break;
            case OP_NE: r = !jv_equal(left, right); break;
            case OP_LT: r = jv_compare(c, left, right) < 0; break;
            case OP_LE: r = jv_compare(c, left, right) <= 0; break;
            case OP_GT: r = jv_compare(c, left, right) > 0; break;
            case OP_GE: r = jv_compare(c, left, right) >= 0; break;
            case OP_IN: r = contains(c, left, right); break;
            default: r = !contains(c, left, right); break;
            }
            res = jv_bool(r);
            if (!r) break;
            left = right;
        }
        return res;
    }
    case E_COND:
        if (jv_truthy(jeval(c, f, e->a))) return jeval(c, f, e->b);
        if (e->c) return jeval(c, f, e->c);
        return jv_undef_hint(c, "the inline if-expression on line %d evaluated to false and no else section was defined.", e->line);
    default:
        jfail(c, HEARTH_ERR_INTERNAL, "unknown expression node %d", e->kind);
    }
}

/* ---- statements ------------------------------------------------------------------------------- */
static void assign(jctx *c, jframe *f, const jnode *target, jval v) {
    if (target->kind == E_NAME) {
        jframe_set(c, f, target->name, v);
        return;
    }
    if (target->kind == E_ATTR) {
        jval ns;
        if (!jframe_get(f, target->a->name, &ns)) jfail(c, HEARTH_ERR_FORMAT, "'%s' is undefined", target->a->name);
        if (ns.t != JV_NS) jfail(c, HEARTH_ERR_FORMAT, "cannot assign attribute on non-namespace object");
        jd_set(c, ns.u.d, jv_str(c, target->name), v);
        return;
    }
    /* tuple unpacking */
    jval l = jiter_list(c, v);
    if ((int)l.u.l->n != target->n)
        jfail(c, HEARTH_ERR_FORMAT, "%s values to unpack (expected %d, got %zu)",
              (int)l.u.l->n > target->n ? "too many" : "not enough", target->n, l.u.l->n);
    for (int i = 0; i < target->n; i++) assign(c, f, target->list[i], l.u.l->v[i]);
}

static void exec_for(jctx *c, jframe *f, const jnode *s) {
    jval seq = jiter_list(c, jeval(c, f, s->b));
    jlist *items = seq.u.l;
    if (s->c) {   /* loop filter: `for x in xs if cond` */
        jval kept = jv_list(c, 0);
        jframe *tf = jframe_new(c, f);
        for (size_t i = 0; i < items->n; i++) {
            assign(c, tf, s->a, items->v[i]);
            if (jv_truthy(jeval(c, tf, s->c))) jl_push(c, kept.u.l, items->v[i]);
        }
        items = kept.u.l;
    }
    /* Each iteration is a fresh scope (Jinja2: a `set` in the body is not
     * seen by the next iteration); the frame's storage is reused. */
    jframe *lf = jframe_new(c, f);
    jval lv = {0};
    lv.t = JV_LOOP;
    lv.u.loop = jarena_alloc(&c->ar, sizeof(jloop));
    lv.u.loop->items = items;
    lv.u.loop->depth = 1;   /* > 1 only in recursive loops, which are not supported */
    for (size_t i = 0; i < items->n; i++) {
        jstep(c, 1);
        lv.u.loop->index0 = i;
        c->line = s->line;
        lf->vars.n = 0;
        jframe_set(c, lf, "loop", lv);
        assign(c, lf, s->a, items->v[i]);
        jexec_block(c, lf, s->list, s->n);
        if (c->loop_ctl == 1) { c->loop_ctl = 0; break; }
        c->loop_ctl = 0;
    }
    if (items->n == 0 && s->n2) jexec_block(c, f, s->list2, s->n2);
}

static void exec_stmt_body(jctx *c, jframe *f, const jnode *s);

static jval render_body(jctx *c, jframe *f, jnode **body, int n) {
    jbuf out = {0};
    jbuf *saved = c->out;
    c->out = &out;
    jexec_block(c, f, body, n);
    c->out = saved;
    return jb_val(&out);
}

static void exec_stmt(jctx *c, jframe *f, const jnode *s) {
    jstep(c, 1);
    c->line = s->line;
    if (++c->nest > JINJA_MAX_NEST)
        jfail(c, HEARTH_ERR_RANGE, "recursion limit exceeded: evaluation nested more than %d levels", JINJA_MAX_NEST);
    exec_stmt_body(c, f, s);
    c->nest--;
}

static void exec_stmt_body(jctx *c, jframe *f, const jnode *s) {
    switch (s->kind) {
    case S_TEXT: jb_put(c, c->out, s->lit.u.s.p, s->lit.u.s.n); return;
    case S_PRINT: {
        jval v = jeval(c, f, s->a);
        c->line = s->line;
        if (!s->op) jv_str_to(c, c->out, v);
        return;
    }
    case S_IF: {
        if (jv_truthy(jeval(c, f, s->a))) jexec_block(c, f, s->list, s->n);
        else jexec_block(c, f, s->list2, s->n2);
        return;
    }
    case S_FOR: exec_for(c, f, s); return;
    case S_SET: assign(c, f, s->a, jeval(c, f, s->b)); return;
    case S_SETBLOCK: {
        jval v = render_body(c, f, s->list, s->n);
        assign(c, f, s->a, apply_chain(c, f, s->c, v));
        return;
    }
    case S_MACRO: {
        jval m = {0};
        m.t = JV_MACRO;
        m.u.m = jarena_alloc(&c->ar, sizeof(jmacro));
        m.u.m->def = s;
        m.u.m->closure = f;
        jframe_set(c, f, s->name, m);
        return;
    }
    case S_CALLBLOCK: {
        const jnode *call = s->a;
        jval fn = jeval(c, f, call->a);
        callargs a;
        eval_args(c, f, call, &a);
        c->line = s->line;
        if (fn.t != JV_MACRO) jfail(c, HEARTH_ERR_FORMAT, "call block needs a macro, got '%s'", jv_type_name(fn));
        jval r = call_value(c, fn, &a, s, f);
        jv_str_to(c, c->out, r);
        return;
    }
    case S_FILTERBLOCK: {
        jval v = render_body(c, f, s->list, s->n);
        jv_str_to(c, c->out, apply_chain(c, f, s->c, v));
        return;
    }
    case S_BREAK: c->loop_ctl = 1; return;
    case S_CONTINUE: c->loop_ctl = 2; return;
    case S_BLOCK: jexec_block(c, f, s->list, s->n); return;
    default: jfail(c, HEARTH_ERR_INTERNAL, "unknown statement node %d", s->kind);
    }
}

void jexec_block(jctx *c, jframe *f, jnode **body, int n) {
    for (int i = 0; i < n && !c->loop_ctl; i++) exec_stmt(c, f, body[i]);
}
