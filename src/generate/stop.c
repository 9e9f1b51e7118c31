/*
 * stop.c — stop strings over streamed text.
 *
 * Text comes in as it is generated. Anything that is, or may become, a stop
 * string is held back: after each push the pending text holds no complete
 * stop string, and its held-back tail is the longest suffix that is a
 * prefix of some stop string. Any stop string that will ever complete must
 * start inside that tail, so nothing emitted is ever part of a stop string.
 */
#include "hearth/generate.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

struct hearth_stop_matcher {
    char **stop;        /* owned copies, empty strings dropped */
    size_t *stop_len;
    size_t n_stop;
    char *pend;         /* text not yet emitted */
    size_t n_pend, cap_pend;
    char *emit;         /* returned to the caller */
    size_t cap_emit;
    bool done;
};

hearth_stop_matcher *hearth_stop_matcher_create(const char *const *stop, size_t n_stop) {
    hearth_stop_matcher *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (n_stop) {
        m->stop = calloc(n_stop, sizeof *m->stop);
        m->stop_len = calloc(n_stop, sizeof *m->stop_len);
        if (!m->stop || !m->stop_len) goto oom;
        for (size_t i = 0; i < n_stop; i++) {
            if (!stop[i] || !stop[i][0]) continue;
            m->stop[m->n_stop] = strdup(stop[i]);
            if (!m->stop[m->n_stop]) goto oom;
            m->stop_len[m->n_stop] = strlen(stop[i]);
            m->n_stop++;
        }
    }
    return m;
oom:
    hearth_stop_matcher_free(m);
    return NULL;
}

void hearth_stop_matcher_free(hearth_stop_matcher *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_stop; i++) free(m->stop[i]);
    free(m->stop);
    free(m->stop_len);
    free(m->pend);
    free(m->emit);
    free(m);
}

/* moves pend[0..n) to the emit buffer */
static void take(hearth_stop_matcher *m, size_t n, const char **emit, size_t *emit_len) {
    if (!HEARTH_GROW(m->emit, m->cap_emit, n + 1)) n = 0;
    if (n) memcpy(m->emit, m->pend, n);
    if (m->emit) m->emit[n] = 0;
    if (m->n_pend > n) memmove(m->pend, m->pend + n, m->n_pend - n);   /* pend may still be NULL */
    m->n_pend -= n;
    *emit = m->emit ? m->emit : "";
    *emit_len = n;
}

static const char *find(const char *hay, size_t n, const char *needle, size_t k) {
    if (k > n) return NULL;
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

bool hearth_stop_matcher_push(hearth_stop_matcher *m, const char *text, size_t len, const char **emit,
                              size_t *emit_len) {
    *emit = "";
    *emit_len = 0;
    if (m->done) return true;
    if (len) {
        if (!HEARTH_GROW(m->pend, m->cap_pend, m->n_pend + len)) return false;
        memcpy(m->pend + m->n_pend, text, len);
        m->n_pend += len;
    }
    /* the earliest complete stop string */
    const char *first = NULL;
    for (size_t i = 0; i < m->n_stop; i++) {
        const char *at = find(m->pend, m->n_pend, m->stop[i], m->stop_len[i]);
        if (at && (!first || at < first)) first = at;
    }
    if (first) {
        take(m, (size_t)(first - m->pend), emit, emit_len);
        m->n_pend = 0;
        m->done = true;
        return true;
    }
    /* hold back the longest tail that a stop string starts with */
    size_t hold = 0;
    for (size_t i = 0; i < m->n_stop; i++) {
        size_t k = m->stop_len[i] - 1;
        if (k > m->n_pend) k = m->n_pend;
        for (; k > hold; k--) {
            if (memcmp(m->pend + m->n_pend - k, m->stop[i], k) == 0) {
                hold = k;
                break;
            }
        }
    }
    size_t n = m->n_pend - hold;
    /* never split a UTF-8 character (only possible with odd stop strings) */
    while (n > 0 && n < m->n_pend && ((unsigned char)m->pend[n] & 0xC0) == 0x80) n--;
    take(m, n, emit, emit_len);
    return false;
}

void hearth_stop_matcher_flush(hearth_stop_matcher *m, const char **emit, size_t *emit_len) {
    take(m, m->done ? 0 : m->n_pend, emit, emit_len);
}
