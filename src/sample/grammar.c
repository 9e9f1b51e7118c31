/*
 * grammar.c — the grammar builder, the matcher and token masks.
 *
 * The matcher follows the output with a set of parse stacks (as llama.cpp's
 * grammar engine does), made cheap by sharing: a stack is a frame
 * (element position, parent frame) interned in a hash table, so equal
 * stacks are equal ids; a matcher state is an interned sorted set of top
 * frames; a state's successor for each byte is computed once and cached.
 * Tops always sit on byte-class elements (references are expanded when a
 * frame is pushed); frame 0 is the empty stack (the output is complete).
 *
 * Masks walk a trie of the vocabulary from the current state, following
 * cached byte transitions and pruning a subtree as soon as its prefix
 * leaves the language; the finished mask is cached per state.
 */
#include "grammar_internal.h"

#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== builder ============================================================== */
bool gr_seq_push(gr_seq *s, int32_t e) {
    if (!HEARTH_GROW(s->v, s->cap, s->n + 1)) return false;
    s->v[s->n++] = e;
    return true;
}

void gr_seq_free(gr_seq *s) {
    free(s->v);
    memset(s, 0, sizeof *s);
}

hearth_status gr_fail(gr_builder *b, hearth_status st, const char *fmt, ...) {
    if (b->err) return b->err;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->err = hearth_set_error(st, "%s", msg);
    return st;
}

int32_t gr_rule_new(gr_builder *b) {
    if (b->n_rules >= GR_MAX_RULES) {
        gr_fail(b, HEARTH_ERR_RANGE, "grammar: more than %u rules", GR_MAX_RULES);
        return 0;
    }
    if (!HEARTH_GROW(b->rules, b->cap_rules, b->n_rules + 1)) {
        gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
        return 0;
    }
    memset(&b->rules[b->n_rules], 0, sizeof b->rules[0]);
    return (int32_t)b->n_rules++;
}

void gr_alt(gr_builder *b, int32_t r, const int32_t *els, size_t n) {
    if (b->err) return;
    if (b->n_elements + n + 1 > GR_MAX_ELEMENTS) {
        gr_fail(b, HEARTH_ERR_RANGE, "grammar: more than %u elements (the schema or grammar is too large)",
                GR_MAX_ELEMENTS);
        return;
    }
    gr_rule_b *rb = &b->rules[r];
    if (!HEARTH_GROW(rb->alts, rb->cap_alts, rb->n_alts + 1)) {
        gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
        return;
    }
    gr_seq s = {0};
    if (n && !(s.v = malloc(n * sizeof *s.v))) {
        gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
        return;
    }
    if (n) memcpy(s.v, els, n * sizeof *els);
    s.n = s.cap = n;
    rb->alts[rb->n_alts++] = s;
    b->n_elements += n + 1;
}

void gr_alt_seq(gr_builder *b, int32_t r, const gr_seq *s) { gr_alt(b, r, s->v, s->n); }

static size_t bits_hash(const gr_bits *x) {
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 4; i++) {
        h ^= x->w[i];
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return (size_t)h;
}

int32_t gr_class(gr_builder *b, const gr_bits *bits) {
    if (b->err) return GR_CLASS(0);
    if ((b->n_classes + 1) * 2 > b->class_idx_cap) {
        size_t cap = b->class_idx_cap ? b->class_idx_cap * 2 : 512;
        int32_t *t = malloc(cap * sizeof *t);
        if (!t) {
            gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
            return GR_CLASS(0);
        }
        for (size_t i = 0; i < cap; i++) t[i] = -1;
        for (size_t i = 0; i < b->n_classes; i++) {
            size_t h = bits_hash(&b->classes[i]) & (cap - 1);
            while (t[h] >= 0) h = (h + 1) & (cap - 1);
            t[h] = (int32_t)i;
        }
        free(b->class_idx);
        b->class_idx = t, b->class_idx_cap = cap;
    }
    size_t h = bits_hash(bits) & (b->class_idx_cap - 1);
    while (b->class_idx[h] >= 0) {
        if (!memcmp(&b->classes[b->class_idx[h]], bits, sizeof *bits)) return GR_CLASS(b->class_idx[h]);
        h = (h + 1) & (b->class_idx_cap - 1);
    }
    if (!HEARTH_GROW(b->classes, b->cap_classes, b->n_classes + 1)) {
        gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
        return GR_CLASS(0);
    }
    b->classes[b->n_classes] = *bits;
    b->class_idx[h] = (int32_t)b->n_classes;
    return GR_CLASS(b->n_classes++);
}

int32_t gr_byte(gr_builder *b, unsigned char c) {
    gr_bits x = {{0}};
    gr_bits_set(&x, c);
    return gr_class(b, &x);
}

void gr_lit(gr_builder *b, gr_seq *seq, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!gr_seq_push(seq, gr_byte(b, (unsigned char)s[i]))) gr_fail(b, HEARTH_ERR_NOMEM, "grammar: out of memory");
}

int32_t gr_lit_rule(gr_builder *b, const char *s, size_t n) {
    int32_t r = gr_rule_new(b);
    gr_seq q = {0};
    gr_lit(b, &q, s, n);
    gr_alt_seq(b, r, &q);
    gr_seq_free(&q);
    return r;
}

void gr_builder_free(gr_builder *b) {
    for (size_t r = 0; r < b->n_rules; r++) {
        for (size_t a = 0; a < b->rules[r].n_alts; a++) gr_seq_free(&b->rules[r].alts[a]);
        free(b->rules[r].alts);
        free(b->rules[r].name);
    }
    free(b->rules);
    free(b->classes);
    free(b->class_idx);
    memset(b, 0, sizeof *b);
}

/* ==== compiled grammar ===================================================== */
/* left recursion would make the matcher's stacks grow without input */
static hearth_status check_left_recursion(const hearth_grammar *g, gr_builder *b) {
    size_t nr = g->n_rules;
    bool *nullable = calloc(nr, 1);
    unsigned char *color = calloc(nr, 1);
    int32_t *stack = malloc(nr * 2 * sizeof *stack + 16);
    if (!nullable || !color || !stack) {
        free(nullable), free(color), free(stack);
        return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < nr; r++) {
            if (nullable[r]) continue;
            for (int32_t a = g->rule_alt0[r]; a < g->rule_alt0[r + 1] && !nullable[r]; a++) {
                bool all = true;
                for (int32_t p = g->alt_start[a]; g->el[p] != GR_END && all; p++)
                    all = GR_IS_REF(g->el[p]) && nullable[GR_VAL(g->el[p])];
                if (all) nullable[r] = changed = true;
            }
        }
    }
    /* iterative DFS over "r may start with s" edges */
    hearth_status st = HEARTH_OK;
    for (size_t r0 = 0; r0 < nr && st == HEARTH_OK; r0++) {
        if (color[r0]) continue;
        size_t sp = 0;
        stack[sp++] = (int32_t)r0, stack[sp++] = g->rule_alt0[r0];
        color[r0] = 1;
        while (sp && st == HEARTH_OK) {
            int32_t r = stack[sp - 2], a = stack[sp - 1];
            if (a >= g->rule_alt0[r + 1]) {
                color[r] = 2;
                sp -= 2;
                continue;
            }
            stack[sp - 1]++;
            /* every reference reachable at the start of alternative a */
            for (int32_t p = g->alt_start[a]; g->el[p] != GR_END; p++) {
                int32_t e = g->el[p];
                if (!GR_IS_REF(e)) break;
                int32_t s = GR_VAL(e);
                if (color[s] == 1) {
                    const char *nm = b && (size_t)s < b->n_rules && b->rules[s].name ? b->rules[s].name : NULL;
                    st = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "grammar: left recursion through rule %s%s%d",
                                          nm ? nm : "", nm ? " #" : "#", s);
                    break;
                }
                if (color[s] == 0) {
                    color[s] = 1;
                    stack[sp++] = s, stack[sp++] = g->rule_alt0[s];
                    break;   /* continue this alternative's later refs when s is done: re-scan is cheap */
                }
                if (!nullable[s]) break;
            }
        }
    }
    free(nullable), free(color), free(stack);
    return st;
}

void hearth_grammar_free(hearth_grammar *g) {
    if (!g) return;
    free(g->el);
    free(g->alt_start);
    free(g->rule_alt0);
    free(g->classes);
    free(g);
}

hearth_status gr_finish(gr_builder *b, int32_t root, hearth_grammar **out) {
    *out = NULL;
    if (b->err) {
        hearth_status st = b->err;
        gr_builder_free(b);
        return st;
    }
    hearth_grammar *g = calloc(1, sizeof *g);
    size_t n_alts = 0;
    for (size_t r = 0; r < b->n_rules; r++) n_alts += b->rules[r].n_alts;
    if (g) {
        g->el = malloc((b->n_elements + 1) * sizeof *g->el);
        g->alt_start = malloc((n_alts + 1) * sizeof *g->alt_start);
        g->rule_alt0 = malloc((b->n_rules + 1) * sizeof *g->rule_alt0);
        g->classes = malloc((b->n_classes + 1) * sizeof *g->classes);
    }
    if (!g || !g->el || !g->alt_start || !g->rule_alt0 || !g->classes) {
        hearth_grammar_free(g);
        gr_builder_free(b);
        return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    }
    size_t ne = 0, na = 0;
    for (size_t r = 0; r < b->n_rules; r++) {
        g->rule_alt0[r] = (int32_t)na;
        for (size_t a = 0; a < b->rules[r].n_alts; a++) {
            g->alt_start[na++] = (int32_t)ne;
            const gr_seq *s = &b->rules[r].alts[a];
            for (size_t i = 0; i < s->n; i++) g->el[ne++] = s->v[i];
            g->el[ne++] = GR_END;
        }
    }
    g->rule_alt0[b->n_rules] = (int32_t)na;
    g->n_el = ne;
    g->n_rules = b->n_rules;
    if (b->n_classes) memcpy(g->classes, b->classes, b->n_classes * sizeof *g->classes);
    g->n_classes = b->n_classes;
    g->root = root;
    hearth_status st = check_left_recursion(g, b);
    gr_builder_free(b);
    if (st != HEARTH_OK) {
        hearth_grammar_free(g);
        return st;
    }
    *out = g;
    return HEARTH_OK;
}

/* ==== matcher ================================================================ */
#define MAX_FRAMES (8u << 20)
#define MAX_DEPTH 4096
#define MASK_CACHE 64

typedef struct frame {
    int32_t pos, parent, depth;
} frame;

typedef struct mstate {
    uint32_t off, n;     /* its frames: set_pool[off .. off+n) */
    int32_t *next;       /* 256 successors (-1: not computed), or NULL */
    gr_bits bytes;       /* bytes some top accepts */
    bool bytes_done;
    int32_t uni;         /* string_next() cached: 0 unknown, > 0 the state, -1 none (0), -2 differs (-1) */
} mstate;

struct hearth_grammar_matcher {
    const hearth_grammar *g;
    frame *frames;
    size_t n_frames, cap_frames;
    int32_t *fidx;       /* hash (pos, parent) -> frame */
    size_t fidx_cap;
    mstate *states;
    size_t n_states, cap_states;
    int32_t *set_pool;
    size_t n_pool, cap_pool;
    int32_t *sidx;       /* hash set -> state */
    size_t sidx_cap;
    int32_t start, cur;  /* state ids; 0 is the dead state */
    /* scratch for closures */
    int32_t *tmp;
    size_t n_tmp, cap_tmp;
    uint32_t *seen;      /* generation marks per frame */
    size_t cap_seen;
    uint32_t gen;
    uint64_t *vis;       /* (pos, cont) visited in one closure: open addressing */
    size_t vis_cap, n_vis;
    uint32_t *vis_slot;  /* the slots used since the last clear (cleared one by one when few) */
    size_t cap_vis_slot;
    bool vis_grown;      /* rehashed since the last clear: the slot list is stale */
    int32_t *work;
    size_t cap_work;
    bool oom;
    /* mask cache */
    int32_t mc_state[MASK_CACHE];
    int mc_count[MASK_CACHE];
    uint32_t *mc_mask[MASK_CACHE];
    const hearth_grammar_vocab *mc_vocab;
    int mc_next;
};

static size_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int32_t frame_get(hearth_grammar_matcher *m, int32_t pos, int32_t parent) {
    if ((m->n_frames + 1) * 2 > m->fidx_cap) {
        size_t cap = m->fidx_cap ? m->fidx_cap * 2 : 1024;
        int32_t *t = malloc(cap * sizeof *t);
        if (!t) {
            m->oom = true;
            return -1;
        }
        for (size_t i = 0; i < cap; i++) t[i] = -1;
        for (size_t i = 1; i < m->n_frames; i++) {
            size_t h = mix(((uint64_t)(uint32_t)m->frames[i].pos << 32) | (uint32_t)m->frames[i].parent) & (cap - 1);
            while (t[h] >= 0) h = (h + 1) & (cap - 1);
            t[h] = (int32_t)i;
        }
        free(m->fidx);
        m->fidx = t, m->fidx_cap = cap;
    }
    size_t h = mix(((uint64_t)(uint32_t)pos << 32) | (uint32_t)parent) & (m->fidx_cap - 1);
    while (m->fidx[h] >= 0) {
        const frame *f = &m->frames[m->fidx[h]];
        if (f->pos == pos && f->parent == parent) return m->fidx[h];
        h = (h + 1) & (m->fidx_cap - 1);
    }
    int32_t depth = parent > 0 ? m->frames[parent].depth + 1 : 1;
    if (depth > MAX_DEPTH || m->n_frames >= MAX_FRAMES) return -1;   /* too deep: this path dies */
    if (!HEARTH_GROW(m->frames, m->cap_frames, m->n_frames + 1)) {
        m->oom = true;
        return -1;
    }
    m->frames[m->n_frames] = (frame){pos, parent, depth};
    m->fidx[h] = (int32_t)m->n_frames;
    return (int32_t)m->n_frames++;
}

static void tmp_add(hearth_grammar_matcher *m, int32_t f) {
    if ((size_t)f >= m->cap_seen) {
        size_t cap = m->cap_seen ? m->cap_seen : 1024;
        while (cap <= (size_t)f) cap *= 2;
        uint32_t *s = realloc(m->seen, cap * sizeof *s);
        if (!s) {
            m->oom = true;
            return;
        }
        memset(s + m->cap_seen, 0, (cap - m->cap_seen) * sizeof *s);
        m->seen = s, m->cap_seen = cap;
    }
    if (m->seen[f] == m->gen) return;
    m->seen[f] = m->gen;
    if (!HEARTH_GROW(m->tmp, m->cap_tmp, m->n_tmp + 1)) {
        m->oom = true;
        return;
    }
    m->tmp[m->n_tmp++] = f;
}

/* (pos, cont) pairs visited in one closure: each is expanded once */
static bool vis_insert(hearth_grammar_matcher *m, int32_t pos, int32_t cont) {
    if ((m->n_vis + 1) * 2 > m->vis_cap) {
        size_t cap = m->vis_cap ? m->vis_cap * 2 : 256;
        uint64_t *t = malloc(cap * sizeof *t);
        if (!t) {
            m->oom = true;
            return false;
        }
        memset(t, 0xff, cap * sizeof *t);
        for (size_t i = 0; i < m->vis_cap; i++)
            if (m->vis[i] != UINT64_MAX) {
                size_t h = mix(m->vis[i]) & (cap - 1);
                while (t[h] != UINT64_MAX) h = (h + 1) & (cap - 1);
                t[h] = m->vis[i];
            }
        free(m->vis);
        m->vis = t, m->vis_cap = cap;
        m->vis_grown = true;
    }
    uint64_t key = ((uint64_t)(uint32_t)pos << 32) | (uint32_t)cont;
    size_t h = mix(key) & (m->vis_cap - 1);
    while (m->vis[h] != UINT64_MAX) {
        if (m->vis[h] == key) return false;
        h = (h + 1) & (m->vis_cap - 1);
    }
    m->vis[h] = key;
    if (HEARTH_GROW(m->vis_slot, m->cap_vis_slot, m->n_vis + 1)) m->vis_slot[m->n_vis] = (uint32_t)h;
    else m->vis_grown = true;
    m->n_vis++;
    return true;
}

static void vis_clear(hearth_grammar_matcher *m) {
    if (m->vis_grown || m->n_vis * 8 > m->vis_cap) {
        if (m->n_vis) memset(m->vis, 0xff, m->vis_cap * sizeof *m->vis);
    } else {
        for (size_t i = 0; i < m->n_vis; i++) m->vis[m->vis_slot[i]] = UINT64_MAX;
    }
    m->vis_grown = false;
    m->n_vis = 0;
}

/* adds to tmp the tops reached from element pos with continuation cont */
static void expand(hearth_grammar_matcher *m, int32_t pos, int32_t cont) {
    const hearth_grammar *g = m->g;
    size_t sp = 0;
    if (!HEARTH_GROW(m->work, m->cap_work, 2)) {
        m->oom = true;
        return;
    }
    m->work[sp++] = pos, m->work[sp++] = cont;
    while (sp) {
        int32_t c = m->work[--sp], p = m->work[--sp];
        /* an alternative ended: return to the continuation */
        while (g->el[p] == GR_END && c > 0) {
            const frame *f = &m->frames[c];
            p = f->pos, c = f->parent;
        }
        if (g->el[p] == GR_END) {
            tmp_add(m, 0);   /* the stack is empty: complete */
            continue;
        }
        if (!vis_insert(m, p, c)) continue;
        int32_t e = g->el[p];
        if (!GR_IS_REF(e)) {
            int32_t f = frame_get(m, p, c);
            if (f > 0) tmp_add(m, f);
            continue;
        }
        int32_t r = GR_VAL(e);
        int32_t nc = c;
        if (g->el[p + 1] != GR_END) {
            nc = frame_get(m, p + 1, c);
            if (nc < 0) continue;
        }
        for (int32_t a = g->rule_alt0[r]; a < g->rule_alt0[r + 1]; a++) {
            if (!HEARTH_GROW(m->work, m->cap_work, sp + 2)) {
                m->oom = true;
                return;
            }
            m->work[sp++] = g->alt_start[a], m->work[sp++] = nc;
        }
    }
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* interns the set in tmp as a state */
static int32_t state_intern(hearth_grammar_matcher *m) {
    if (m->oom) return 0;
    if (m->n_tmp == 0) return 0;
    if (m->n_tmp > 32) {
        qsort(m->tmp, m->n_tmp, sizeof *m->tmp, cmp_i32);
    } else {   /* small sets (the usual case): insertion sort */
        for (size_t i = 1; i < m->n_tmp; i++) {
            int32_t x = m->tmp[i];
            size_t j = i;
            while (j > 0 && m->tmp[j - 1] > x) m->tmp[j] = m->tmp[j - 1], j--;
            m->tmp[j] = x;
        }
    }
    uint64_t h0 = 1469598103934665603ULL;
    for (size_t i = 0; i < m->n_tmp; i++) h0 = (h0 ^ (uint32_t)m->tmp[i]) * 1099511628211ULL;
    if ((m->n_states + 1) * 2 > m->sidx_cap) {
        size_t cap = m->sidx_cap ? m->sidx_cap * 2 : 1024;
        int32_t *t = malloc(cap * sizeof *t);
        if (!t) {
            m->oom = true;
            return 0;
        }
        for (size_t i = 0; i < cap; i++) t[i] = -1;
        for (size_t i = 1; i < m->n_states; i++) {
            uint64_t h = 1469598103934665603ULL;
            for (uint32_t k = 0; k < m->states[i].n; k++) h = (h ^ (uint32_t)m->set_pool[m->states[i].off + k]) * 1099511628211ULL;
            size_t s = mix(h) & (cap - 1);
            while (t[s] >= 0) s = (s + 1) & (cap - 1);
            t[s] = (int32_t)i;
        }
        free(m->sidx);
        m->sidx = t, m->sidx_cap = cap;
    }
    size_t s = mix(h0) & (m->sidx_cap - 1);
    while (m->sidx[s] >= 0) {
        const mstate *st = &m->states[m->sidx[s]];
        if (st->n == m->n_tmp && !memcmp(m->set_pool + st->off, m->tmp, m->n_tmp * sizeof *m->tmp)) return m->sidx[s];
        s = (s + 1) & (m->sidx_cap - 1);
    }
    if (!HEARTH_GROW(m->set_pool, m->cap_pool, m->n_pool + m->n_tmp) ||
        !HEARTH_GROW(m->states, m->cap_states, m->n_states + 1)) {
        m->oom = true;
        return 0;
    }
    memcpy(m->set_pool + m->n_pool, m->tmp, m->n_tmp * sizeof *m->tmp);
    mstate *st = &m->states[m->n_states];
    memset(st, 0, sizeof *st);
    st->off = (uint32_t)m->n_pool, st->n = (uint32_t)m->n_tmp;
    m->n_pool += m->n_tmp;
    m->sidx[s] = (int32_t)m->n_states;
    return (int32_t)m->n_states++;
}

static void closure_begin(hearth_grammar_matcher *m) {
    m->n_tmp = 0;
    if (++m->gen == 0) {
        memset(m->seen, 0, m->cap_seen * sizeof *m->seen);
        m->gen = 1;
    }
    vis_clear(m);
}

static const gr_bits *state_bytes(hearth_grammar_matcher *m, int32_t s) {
    mstate *st = &m->states[s];
    if (!st->bytes_done) {
        gr_bits b = {{0}};
        for (uint32_t i = 0; i < st->n; i++) {
            int32_t f = m->set_pool[st->off + i];
            if (f == 0) continue;
            const gr_bits *c = &m->g->classes[GR_VAL(m->g->el[m->frames[f].pos])];
            for (int k = 0; k < 4; k++) b.w[k] |= c->w[k];
        }
        m->states[s].bytes = b;
        m->states[s].bytes_done = true;
    }
    return &m->states[s].bytes;
}

/* the state after byte c from state s (0: dead) */
static int32_t step(hearth_grammar_matcher *m, int32_t s, unsigned char c) {
    if (s <= 0) return 0;
    mstate *st = &m->states[s];
    if (st->next && st->next[c] >= 0) return st->next[c];
    if (!gr_bits_has(state_bytes(m, s), c)) return 0;
    closure_begin(m);
    for (uint32_t i = 0; i < m->states[s].n; i++) {
        int32_t f = m->set_pool[m->states[s].off + i];
        if (f == 0) continue;
        int32_t pos = m->frames[f].pos;
        if (gr_bits_has(&m->g->classes[GR_VAL(m->g->el[pos])], c)) expand(m, pos + 1, m->frames[f].parent);
    }
    int32_t ns = state_intern(m);
    st = &m->states[s];
    if (!st->next) {
        st->next = malloc(256 * sizeof *st->next);
        if (st->next) memset(st->next, 0xff, 256 * sizeof *st->next);
    }
    if (st->next && !m->oom) st->next[c] = ns;
    return ns;
}

static bool state_accepting(const hearth_grammar_matcher *m, int32_t s) {
    return s > 0 && m->states[s].n > 0 && m->set_pool[m->states[s].off] == 0;   /* sorted: frame 0 first */
}

hearth_status hearth_grammar_matcher_new(const hearth_grammar *g, hearth_grammar_matcher **out) {
    *out = NULL;
    hearth_grammar_matcher *m = calloc(1, sizeof *m);
    if (!m) return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    m->g = g;
    /* frame 0: the empty stack; state 0: dead */
    if (!HEARTH_GROW(m->frames, m->cap_frames, 1) || !HEARTH_GROW(m->states, m->cap_states, 1)) {
        hearth_grammar_matcher_free(m);
        return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    }
    m->frames[0] = (frame){-1, -1, 0};
    m->n_frames = 1;
    memset(&m->states[0], 0, sizeof m->states[0]);
    m->n_states = 1;
    for (int i = 0; i < MASK_CACHE; i++) m->mc_state[i] = -1;
    closure_begin(m);
    for (int32_t a = g->rule_alt0[g->root]; a < g->rule_alt0[g->root + 1]; a++) expand(m, g->alt_start[a], 0);
    m->start = m->cur = state_intern(m);
    if (m->oom) {
        hearth_grammar_matcher_free(m);
        return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    }
    *out = m;
    return HEARTH_OK;
}

void hearth_grammar_matcher_free(hearth_grammar_matcher *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_states; i++) free(m->states[i].next);
    free(m->states);
    free(m->frames);
    free(m->fidx);
    free(m->set_pool);
    free(m->sidx);
    free(m->tmp);
    free(m->seen);
    free(m->vis);
    free(m->vis_slot);
    free(m->work);
    for (int i = 0; i < MASK_CACHE; i++) free(m->mc_mask[i]);
    free(m);
}

void hearth_grammar_matcher_reset(hearth_grammar_matcher *m) { m->cur = m->start; }

bool hearth_grammar_allows(hearth_grammar_matcher *m, const char *s, size_t n) {
    int32_t st = m->cur;
    for (size_t i = 0; i < n && st > 0; i++) st = step(m, st, (unsigned char)s[i]);
    return st > 0;
}

hearth_status hearth_grammar_advance(hearth_grammar_matcher *m, const char *s, size_t n) {
    int32_t st = m->cur;
    for (size_t i = 0; i < n && st > 0; i++) st = step(m, st, (unsigned char)s[i]);
    if (m->oom) return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    if (st <= 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "grammar: the text leaves the language");
    m->cur = st;
    return HEARTH_OK;
}

bool hearth_grammar_accepting(const hearth_grammar_matcher *m) { return state_accepting(m, m->cur); }

bool hearth_grammar_finished(const hearth_grammar_matcher *m) {
    return state_accepting(m, m->cur) && m->states[m->cur].n == 1;
}

/* ==== as a constraint ========================================================== */
typedef struct gcon {
    hearth_grammar_matcher *m;
    const hearth_grammar_vocab *v;   /* borrowed; NULL: no fast mask */
} gcon;

static bool con_allows(const void *st, const char *text, size_t n) {
    /* the matcher's caches grow, its position does not move */
    return hearth_grammar_allows(((const gcon *)st)->m, text, n);
}

static bool con_advance(void *st, const char *text, size_t n) {
    return hearth_grammar_advance(((gcon *)st)->m, text, n) == HEARTH_OK;
}

static hearth_constraint_state con_complete(const void *st) {
    const hearth_grammar_matcher *m = ((const gcon *)st)->m;
    if (hearth_grammar_finished(m)) return HEARTH_CONSTRAINT_DONE;
    return hearth_grammar_accepting(m) ? HEARTH_CONSTRAINT_CAN_END : HEARTH_CONSTRAINT_OPEN;
}

static bool con_mask(void *st, uint32_t *bits, int32_t n_vocab) {
    gcon *c = st;
    if (!c->v || hearth_grammar_vocab_size(c->v) != n_vocab) return false;
    hearth_grammar_mask(c->m, c->v, bits);
    return true;
}

static void con_free(void *st) {
    if (!st) return;
    hearth_grammar_matcher_free(((gcon *)st)->m);
    free(st);
}

static const hearth_constraint_vtable SCHEMA_VT = {"json_schema", con_allows, con_advance, con_complete, con_free,
                                                   con_mask};
static const hearth_constraint_vtable GBNF_VT = {"gbnf", con_allows, con_advance, con_complete, con_free, con_mask};

hearth_status hearth_grammar_constraint_vocab(const hearth_grammar *g, const hearth_grammar_vocab *v,
                                              hearth_constraint **out) {
    *out = NULL;
    gcon *c = calloc(1, sizeof *c);
    if (!c) return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    c->v = v;
    hearth_status st = hearth_grammar_matcher_new(g, &c->m);
    if (st != HEARTH_OK) {
        free(c);
        return st;
    }
    *out = hearth_constraint_create(g->is_schema ? &SCHEMA_VT : &GBNF_VT, c);
    return *out ? HEARTH_OK : HEARTH_ERR_NOMEM;
}

hearth_status hearth_grammar_constraint(const hearth_grammar *g, hearth_constraint **out) {
    return hearth_grammar_constraint_vocab(g, NULL, out);
}

/* ==== vocabulary trie ========================================================
 * Two tries: `all` over every token, `other` over the tokens that are not
 * plain string text. A token is plain string text when its bytes are whole
 * UTF-8 characters other than controls, '"' and '\' (possibly ending in the
 * first bytes of one more): inside a free JSON string such a token is
 * allowed exactly when the string may still take its number of characters,
 * so masks there need no trie walk over them (see string_chain below). */
#define LMAX 16   /* plain-text tokens longer than this many characters go to `other` */

typedef struct tnode {
    uint32_t child0, n_child;   /* edges [child0, child0 + n_child) */
    uint32_t tok0, n_tok;       /* tokens ending here: toks[tok0 ..) */
} tnode;

typedef struct trie {
    tnode *nodes;
    size_t n_nodes;
    uint8_t *edge_byte;
    uint32_t *edge_node;
    int32_t *toks;
} trie;

struct hearth_grammar_vocab {
    int n_tokens;
    trie all, other;
    int32_t *eog;
    int n_eog;
    char **piece;          /* each token's bytes */
    uint32_t *plen;
    uint8_t *nchar;        /* characters of a plain-text token (a trailing partial one counts); 0: not plain */
    uint32_t *le[LMAX + 1];   /* le[k]: bitset of plain-text tokens with 1..k characters */
    int lmax;              /* the longest plain-text token, in characters */
};

typedef struct sort_ctx {
    char *const *p;
    const uint32_t *l;
} sort_ctx;

static int cmp_tok(const void *a, const void *b, void *ctx) {
    const sort_ctx *sc = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    size_t lx = sc->l[x], ly = sc->l[y];
    int c = memcmp(sc->p[x], sc->p[y], lx < ly ? lx : ly);
    if (c) return c;
    return (lx > ly) - (lx < ly);
}

static void trie_free(trie *t) {
    free(t->nodes);
    free(t->edge_byte);
    free(t->edge_node);
    free(t->toks);
    memset(t, 0, sizeof *t);
}

/* builds a trie over tokens order[0..n) (non-empty pieces); order is sorted here */
static bool trie_build(trie *t, char *const *piece, const uint32_t *plen, int32_t *order, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += plen[order[i]];
    t->nodes = calloc(total + 1, sizeof *t->nodes);
    t->edge_byte = malloc(total + 1);
    t->edge_node = malloc((total + 1) * sizeof *t->edge_node);
    t->toks = malloc((n + 1) * sizeof *t->toks);
    typedef struct qitem {
        uint32_t node, lo, hi, depth;
    } qitem;
    qitem *q = malloc((total + 2) * sizeof *q);
    if (!t->nodes || !t->edge_byte || !t->edge_node || !t->toks || !q) {
        free(q);
        trie_free(t);
        return false;
    }
    sort_ctx sc = {piece, plen};
    qsort_r(order, n, sizeof *order, cmp_tok, &sc);
    /* breadth-first: the tokens below a node are a contiguous range of order[] */
    size_t qh = 0, qt = 0, n_edges = 0, n_toks = 0;
    t->n_nodes = 1;
    q[qt++] = (qitem){0, 0, (uint32_t)n, 0};
    while (qh < qt) {
        qitem it = q[qh++];
        tnode *nd = &t->nodes[it.node];
        uint32_t i = it.lo;
        nd->tok0 = (uint32_t)n_toks;
        while (i < it.hi && plen[order[i]] == it.depth) t->toks[n_toks++] = order[i++];
        nd->n_tok = (uint32_t)n_toks - nd->tok0;
        nd->child0 = (uint32_t)n_edges;
        while (i < it.hi) {
            unsigned char c = (unsigned char)piece[order[i]][it.depth];
            uint32_t j = i;
            while (j < it.hi && (unsigned char)piece[order[j]][it.depth] == c) j++;
            uint32_t child = (uint32_t)t->n_nodes++;
            t->edge_byte[n_edges] = c;
            t->edge_node[n_edges] = child;
            n_edges++;
            q[qt++] = (qitem){child, i, j, it.depth + 1};
            i = j;
        }
        t->nodes[it.node].n_child = (uint32_t)n_edges - t->nodes[it.node].child0;
    }
    free(q);
    return true;
}

/* characters of a plain-text piece (see above), or 0 */
static int plain_chars(const unsigned char *s, size_t n) {
    int chars = 0;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x20 || c == '"' || c == '\\') return 0;
        int k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) k = 1;
        else if (c >= 0xC2 && c <= 0xDF) k = 2;
        else if (c >= 0xE0 && c <= 0xEF) k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4) k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else return 0;
        for (int j = 1; j < k; j++) {
            if (i + (size_t)j >= n) return chars + 1;   /* a partial character at the end */
            unsigned d = s[i + (size_t)j];
            if (d < (j == 1 ? lo : 0x80) || d > (j == 1 ? hi : 0xBF)) return 0;
        }
        i += (size_t)k;
        chars++;
    }
    return chars;
}

void hearth_grammar_vocab_free(hearth_grammar_vocab *v) {
    if (!v) return;
    trie_free(&v->all);
    trie_free(&v->other);
    free(v->eog);
    if (v->piece) free(v->piece[0]);
    free(v->piece);
    free(v->plen);
    free(v->nchar);
    for (int k = 0; k <= LMAX; k++) free(v->le[k]);
    free(v);
}

int hearth_grammar_vocab_size(const hearth_grammar_vocab *v) { return v->n_tokens; }

hearth_status hearth_grammar_vocab_new(const char *const *pieces, const size_t *lens, const bool *is_eog, int n,
                                       hearth_grammar_vocab **out) {
    *out = NULL;
    hearth_grammar_vocab *v = calloc(1, sizeof *v);
    if (!v) return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    v->n_tokens = n;
    size_t total = 0, nw = ((size_t)n + 31) / 32;
    for (int i = 0; i < n; i++) {
        total += lens[i];
        if (is_eog && is_eog[i]) v->n_eog++;
    }
    int32_t *all = malloc(((size_t)n + 1) * sizeof *all), *other = malloc(((size_t)n + 1) * sizeof *other);
    v->eog = malloc(((size_t)v->n_eog + 1) * sizeof *v->eog);
    v->piece = malloc(((size_t)n + 1) * sizeof *v->piece);
    v->plen = malloc(((size_t)n + 1) * sizeof *v->plen);
    v->nchar = calloc((size_t)n + 1, 1);
    char *blob = malloc(total + 1);
    bool ok = all && other && v->eog && v->piece && v->plen && v->nchar && blob;
    for (int k = 0; ok && k <= LMAX; k++) ok = (v->le[k] = calloc(nw + 1, sizeof *v->le[k])) != NULL;
    if (!ok) {
        free(all), free(other), free(blob);
        hearth_grammar_vocab_free(v);
        return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    }
    size_t off = 0, n_all = 0, n_other = 0;
    int e = 0;
    v->piece[0] = blob;
    for (int i = 0; i < n; i++) {
        memcpy(blob + off, pieces[i], lens[i]);
        v->piece[i] = blob + off;
        v->plen[i] = (uint32_t)lens[i];
        off += lens[i];
        if (is_eog && is_eog[i]) {
            v->eog[e++] = i;
            continue;
        }
        if (!lens[i]) continue;
        all[n_all++] = i;
        int c = plain_chars((const unsigned char *)pieces[i], lens[i]);
        if (c > 0 && c <= LMAX) {
            v->nchar[i] = (uint8_t)c;
            if (c > v->lmax) v->lmax = c;
            for (int k = c; k <= LMAX; k++) v->le[k][i >> 5] |= 1u << (i & 31);
        } else {
            other[n_other++] = i;
        }
    }
    ok = trie_build(&v->all, v->piece, v->plen, all, n_all) && trie_build(&v->other, v->piece, v->plen, other, n_other);
    free(all), free(other);
    if (!ok) {
        hearth_grammar_vocab_free(v);
        return hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    }
    *out = v;
    return HEARTH_OK;
}

hearth_status hearth_grammar_vocab_from(const hearth_vocab *vocab, hearth_grammar_vocab **out) {
    *out = NULL;
    int n = hearth_vocab_n_tokens(vocab);
    char **pieces = calloc((size_t)n + 1, sizeof *pieces);
    size_t *lens = calloc((size_t)n + 1, sizeof *lens);
    bool *eog = calloc((size_t)n + 1, sizeof *eog);
    hearth_status st = HEARTH_OK;
    if (!pieces || !lens || !eog) st = hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
    char buf[256];
    for (int i = 0; i < n && st == HEARTH_OK; i++) {
        eog[i] = hearth_vocab_is_eog(vocab, i);
        int64_t k = hearth_token_to_piece(vocab, i, false, buf, sizeof buf);
        if (k < 0) k = 0;
        pieces[i] = malloc((size_t)k + 1);
        if (!pieces[i]) {
            st = hearth_set_error(HEARTH_ERR_NOMEM, "grammar: out of memory");
            break;
        }
        if (k > (int64_t)sizeof buf) hearth_token_to_piece(vocab, i, false, pieces[i], (size_t)k);
        else memcpy(pieces[i], buf, (size_t)k);
        lens[i] = (size_t)k;
    }
    if (st == HEARTH_OK) st = hearth_grammar_vocab_new((const char *const *)pieces, lens, eog, n, out);
    for (int i = 0; pieces && i < n; i++) free(pieces[i]);
    free(pieces), free(lens), free(eog);
    return st;
}

/* ==== tokens ================================================================== */
static bool is_eog_tok(const hearth_grammar_vocab *v, int32_t id) {
    for (int i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) return true;
    return false;
}

bool hearth_grammar_allows_token(hearth_grammar_matcher *m, const hearth_grammar_vocab *v, int32_t id) {
    if (id < 0 || id >= v->n_tokens) return false;
    if (is_eog_tok(v, id)) return state_accepting(m, m->cur);
    if (!v->plen[id]) return false;
    return hearth_grammar_allows(m, v->piece[id], v->plen[id]);
}

hearth_status hearth_grammar_accept_token(hearth_grammar_matcher *m, const hearth_grammar_vocab *v, int32_t id) {
    if (id < 0 || id >= v->n_tokens) return hearth_set_error(HEARTH_ERR_RANGE, "grammar: token %d out of range", id);
    if (is_eog_tok(v, id)) {
        if (!state_accepting(m, m->cur)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "grammar: the output is not complete");
        return HEARTH_OK;
    }
    if (!v->plen[id]) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "grammar: token %d has no text", id);
    return hearth_grammar_advance(m, v->piece[id], v->plen[id]);
}

/* ==== masks ===================================================================== */
/* Every step of a byte range [lo, hi] from state s: the distinct successors
 * (bytes with the same membership in the tops' classes behave alike, so one
 * byte per group is stepped). Returns false if one is dead. */
static bool step_range(hearth_grammar_matcher *m, int32_t s, unsigned lo, unsigned hi, int32_t *succ, int *n_succ) {
    *n_succ = 0;
    const mstate *st = &m->states[s];
    uint32_t n_top = st->n;
    if (n_top > 64) {   /* too many tops to group: step each byte */
        for (unsigned b = lo; b <= hi; b++) {
            int32_t t = step(m, s, (unsigned char)b);
            if (t <= 0) return false;
            int k;
            for (k = 0; k < *n_succ && succ[k] != t; k++) {}
            if (k == *n_succ) {
                if (*n_succ == 8) return false;
                succ[(*n_succ)++] = t;
            }
        }
        return true;
    }
    uint64_t sigs[8];
    int n_sig = 0;
    for (unsigned b = lo; b <= hi; b++) {
        uint64_t sig = 0;
        st = &m->states[s];
        for (uint32_t i = 0; i < st->n; i++) {
            int32_t f = m->set_pool[st->off + i];
            if (f > 0 && gr_bits_has(&m->g->classes[GR_VAL(m->g->el[m->frames[f].pos])], b)) sig |= (uint64_t)1 << i;
        }
        if (!sig) return false;
        int k;
        for (k = 0; k < n_sig && sigs[k] != sig; k++) {}
        if (k < n_sig) continue;
        if (n_sig == 8) return false;
        sigs[n_sig++] = sig;
        int32_t t = step(m, s, (unsigned char)b);
        if (t <= 0) return false;
        for (k = 0; k < *n_succ && succ[k] != t; k++) {}
        if (k == *n_succ) succ[(*n_succ)++] = t;
    }
    return true;
}

/* all continuation bytes (need of them) from s end in the same state, stored in *res */
static bool conts_uniform(hearth_grammar_matcher *m, int32_t s, int need, unsigned lo, unsigned hi, int32_t *res) {
    int32_t succ[8];
    int ns;
    if (!step_range(m, s, lo, hi, succ, &ns)) return false;
    for (int i = 0; i < ns; i++) {
        int32_t t = succ[i];
        if (need > 1) {
            int32_t r2 = -1;
            if (!conts_uniform(m, t, need - 1, 0x80, 0xBF, &r2)) return false;
            t = r2;
        }
        if (*res < 0) *res = t;
        else if (*res != t) return false;
    }
    return true;
}

/* The state every plain-text character leads to from s, when it is the same
 * for all of them (s is inside a free string): > 0; 0 when no character may
 * follow; -1 when they differ or some are refused. Cached per state. */
static int32_t string_next(hearth_grammar_matcher *m, int32_t s) {
    if (m->states[s].uni != 0) return m->states[s].uni > 0 ? m->states[s].uni : m->states[s].uni + 1;
    int32_t res = -1;
    bool ok = true;
    const gr_bits *bytes = state_bytes(m, s);
    bool any = false;
    for (unsigned b = 0x20; b < 0x100 && !any; b++) any = b != '"' && b != '\\' && gr_bits_has(bytes, b);
    if (!any) {
        m->states[s].uni = -1;   /* encodes 0: no character */
        return 0;
    }
    static const struct { unsigned lo, hi, need, c_lo, c_hi; } R[] = {
        {0x20, 0x21, 0, 0, 0}, {0x23, 0x5B, 0, 0, 0}, {0x5D, 0x7F, 0, 0, 0},
        {0xC2, 0xDF, 1, 0x80, 0xBF}, {0xE0, 0xE0, 2, 0xA0, 0xBF}, {0xE1, 0xEC, 2, 0x80, 0xBF},
        {0xED, 0xED, 2, 0x80, 0x9F}, {0xEE, 0xEF, 2, 0x80, 0xBF}, {0xF0, 0xF0, 3, 0x90, 0xBF},
        {0xF1, 0xF3, 3, 0x80, 0xBF}, {0xF4, 0xF4, 3, 0x80, 0x8F},
    };
    for (size_t r = 0; r < sizeof R / sizeof R[0] && ok; r++) {
        int32_t succ[8];
        int ns;
        ok = step_range(m, s, R[r].lo, R[r].hi, succ, &ns);
        for (int i = 0; ok && i < ns; i++) {
            int32_t t = succ[i];
            if (R[r].need) {
                int32_t r2 = -1;
                ok = conts_uniform(m, t, (int)R[r].need, R[r].c_lo, R[r].c_hi, &r2);
                t = r2;
            }
            if (ok && res < 0) res = t;
            else if (ok && res != t) ok = false;
        }
    }
    if (m->oom) ok = false;
    m->states[s].uni = ok && res > 0 ? res : -2;   /* -2 encodes -1 */
    return ok && res > 0 ? res : -1;
}

/* walks trie t from state s, setting the allowed tokens' bits; returns their count */
static int walk(hearth_grammar_matcher *m, const trie *t, int32_t s, uint32_t *mask, const uint8_t *skip_plain) {
    int count = 0;
    size_t cap = 256, sp = 0;
    int32_t *stk = malloc(cap * 2 * sizeof *stk);
    if (!stk || !t->nodes) {
        free(stk);
        return 0;
    }
    stk[sp++] = 0, stk[sp++] = s;
    while (sp) {
        int32_t cs = stk[--sp];
        uint32_t node = (uint32_t)stk[--sp];
        const tnode *nd = &t->nodes[node];
        state_bytes(m, cs);
        for (uint32_t k = nd->child0; k < nd->child0 + nd->n_child; k++) {
            unsigned char c = t->edge_byte[k];
            if (!gr_bits_has(&m->states[cs].bytes, c)) continue;
            const int32_t *nx = m->states[cs].next;   /* the cached transition, without a call */
            int32_t ns = nx && nx[c] >= 0 ? nx[c] : step(m, cs, c);
            if (ns <= 0) continue;
            const tnode *ch = &t->nodes[t->edge_node[k]];
            for (uint32_t i = ch->tok0; i < ch->tok0 + ch->n_tok; i++) {
                int32_t id = t->toks[i];
                if (skip_plain && skip_plain[id]) continue;
                mask[id >> 5] |= 1u << (id & 31);
                count++;
            }
            if (ch->n_child) {
                if (sp + 2 > cap * 2) {
                    int32_t *t2 = realloc(stk, cap * 4 * sizeof *stk);
                    if (!t2) break;
                    stk = t2, cap *= 2;
                }
                stk[sp++] = (int32_t)t->edge_node[k], stk[sp++] = ns;
            }
        }
    }
    free(stk);
    return count;
}

static int popcount_words(const uint32_t *w, size_t n) {
    int c = 0;
    for (size_t i = 0; i < n; i++) c += __builtin_popcount(w[i]);
    return c;
}

int hearth_grammar_mask(hearth_grammar_matcher *m, const hearth_grammar_vocab *v, uint32_t *mask) {
    size_t nw = ((size_t)v->n_tokens + 31) / 32;
    if (m->mc_vocab != v) {
        for (int i = 0; i < MASK_CACHE; i++) m->mc_state[i] = -1;
        m->mc_vocab = v;
    }
    for (int i = 0; i < MASK_CACHE; i++)
        if (m->mc_state[i] == m->cur && m->mc_mask[i]) {
            memcpy(mask, m->mc_mask[i], nw * sizeof *mask);
            return m->mc_count[i];
        }
    int count = 0;
    /* inside a free string: plain-text tokens by their length, a walk for the rest */
    int k = 0;
    int32_t s = m->cur;
    bool chain = true;
    while (k < v->lmax) {
        int32_t t = string_next(m, s);
        if (t < 0) {
            chain = false;
            break;
        }
        if (t == 0) break;
        s = t, k++;
    }
    if (k > 0 && chain && (k == v->lmax || string_next(m, s) == 0)) {
        memcpy(mask, v->le[k], nw * sizeof *mask);
        count = popcount_words(mask, nw) + walk(m, &v->other, m->cur, mask, NULL);
    } else {
        memset(mask, 0, nw * sizeof *mask);
        count = walk(m, &v->all, m->cur, mask, NULL);
    }
    if (state_accepting(m, m->cur))
        for (int i = 0; i < v->n_eog; i++) mask[v->eog[i] >> 5] |= 1u << (v->eog[i] & 31), count++;
    int slot = m->mc_next;
    m->mc_next = (m->mc_next + 1) % MASK_CACHE;
    if (!m->mc_mask[slot]) m->mc_mask[slot] = malloc(nw * sizeof *mask);
    if (m->mc_mask[slot]) {
        memcpy(m->mc_mask[slot], mask, nw * sizeof *mask);
        m->mc_state[slot] = m->cur;
        m->mc_count[slot] = count;
    }
    return count;
}
