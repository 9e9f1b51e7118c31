/*
 * chunk.c — splitting a document's text into retrieval chunks.
 *
 * 1. Sections: with by_headings, the text is cut at every heading; each
 *    section knows its heading path ("Install > Debian"). A section too
 *    small to stand alone (under chunk_tokens / 8 tokens, e.g. a heading
 *    directly followed by a sub-heading) joins the next one. A PDF's text
 *    is also cut at every page start (never joined across), so a chunk's
 *    page is the page of all its text.
 * 2. Words: maximal runs of non-space bytes, each with its token count
 *    (the embedder's tokenizer when there is one, else 1 + bytes / 8).
 * 3. Windows: words are taken greedily up to chunk_tokens; the cut moves
 *    back to the end of a sentence or paragraph when one lies in the last
 *    40 % of the window; the next window starts overlap_tokens earlier.
 * A chunk is the exact byte range [first word's start, last word's end) of
 * the text, so its offsets point into the document.
 */
#include "rag_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct word { size_t start, end; int32_t tok; } word;

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static int32_t word_tokens(const hearth_vocab *v, const char *s, size_t n) {
    if (v) {
        hearth_tokenize_params tp = {.add_special = false, .parse_special = false};
        int32_t *ids = NULL;
        size_t k = 0;
        if (hearth_tokenize(v, s, n, &tp, &ids, &k) == HEARTH_OK) {
            free(ids);
            return k > 0 ? (int32_t)k : 1;
        }
    }
    return (int32_t)(1 + n / 8);
}

/* true when a chunk may end after word w (a sentence or paragraph ends there) */
static bool good_end(const char *t, size_t len, const word *w) {
    char c = t[w->end - 1];
    if (c == '.' || c == '!' || c == '?' || c == ':' || c == ';') return true;
    return w->end + 1 < len && t[w->end] == '\n' && t[w->end + 1] == '\n';
}

typedef struct section { size_t start, end; char *heading; bool new_page; } section;

static char *heading_path(const hearth_doc *d, const size_t *stack, int depth) {
    hearth_buf b = {0};
    for (int i = 0; i < depth; i++) {
        const hearth_doc_heading *h = &d->headings[stack[i]];
        if (i) hearth_buf_puts(&b, " > ");
        hearth_buf_put(&b, d->text + h->start, h->len);
    }
    if (b.oom || !b.len) {
        hearth_buf_free(&b);
        return NULL;
    }
    return hearth_buf_take(&b, NULL);
}

/* sections: cut at headings (when asked) and at page starts */
static hearth_status sections(const hearth_doc *d, bool by_headings, section **out, size_t *n) {
    section *s = NULL;
    size_t cap = 0, k = 0;
    size_t stack[6];
    int depth = 0;
    size_t pos = 0;
    size_t nh = by_headings ? d->n_headings : 0, np = d->n_pages > 1 ? (size_t)d->n_pages : 0;
    size_t hi = 0, pi = 1;
    bool page_next = false;   /* the section starting at pos starts a page */
    for (;;) {
        size_t hs = hi < nh ? d->headings[hi].start : SIZE_MAX, ps = pi < np ? d->pages[pi] : SIZE_MAX;
        size_t end = hs < ps ? hs : ps;
        bool last = end == SIZE_MAX;
        if (last) end = d->len;
        if (end > pos) {
            if (!HEARTH_GROW(s, cap, k + 1)) goto oom;
            s[k].start = pos;
            s[k].end = end;
            s[k].heading = heading_path(d, stack, depth);
            s[k].new_page = page_next;
            k++;
            pos = end;
            page_next = false;
        }
        if (last) break;
        if (ps <= hs) {
            page_next = true;
            pi++;
        } else {
            int lv = d->headings[hi].level;
            while (depth > 0 && d->headings[stack[depth - 1]].level >= lv) depth--;
            if (depth < 6) stack[depth++] = hi;
            hi++;
        }
    }
    *out = s;
    *n = k;
    return HEARTH_OK;
oom:
    for (size_t i = 0; i < k; i++) free(s[i].heading);
    free(s);
    return hearth_set_error(HEARTH_ERR_NOMEM, "chunking: out of memory");
}

hearth_status rag_chunk_doc(const hearth_doc *d, int32_t chunk_tokens, int32_t overlap_tokens, bool by_headings,
                            const hearth_vocab *v, rag_chunk **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (chunk_tokens < 8) chunk_tokens = 8;
    if (overlap_tokens < 0) overlap_tokens = 0;
    if (overlap_tokens > chunk_tokens / 2) overlap_tokens = chunk_tokens / 2;
    section *secs = NULL;
    size_t n_secs = 0;
    hearth_status st = sections(d, by_headings, &secs, &n_secs);
    if (st) return st;
    word *w = NULL;
    size_t wcap = 0;
    rag_chunk *c = NULL;
    size_t ccap = 0, k = 0;
    int32_t min_tokens = chunk_tokens / 8;
    size_t si = 0;
    while (si < n_secs) {
        /* words of this section, joined with the following ones while too small */
        size_t nw = 0;
        int32_t total = 0;
        size_t sj = si;
        for (;;) {
            const section *s = &secs[sj];
            for (size_t i = s->start; i < s->end;) {
                while (i < s->end && is_space(d->text[i])) i++;
                if (i >= s->end) break;
                size_t j = i;
                while (j < s->end && !is_space(d->text[j])) j++;
                if (!HEARTH_GROW(w, wcap, nw + 1)) goto oom;
                w[nw].start = i;
                w[nw].end = j;
                w[nw].tok = word_tokens(v, d->text + i, j - i);
                total += w[nw].tok;
                nw++;
                i = j;
            }
            if (total >= min_tokens || sj + 1 >= n_secs || secs[sj + 1].new_page) break;
            sj++;
        }
        const char *heading = secs[sj].heading;
        si = sj + 1;
        /* windows over the words */
        size_t i = 0;
        while (i < nw) {
            int32_t tok = 0;
            size_t j = i;
            while (j < nw && (j == i || tok + w[j].tok <= chunk_tokens)) tok += w[j++].tok;
            if (j < nw) {
                size_t lo = i + (j - i) * 6 / 10;
                for (size_t e = j; e > lo && e > i + 1; e--)
                    if (good_end(d->text, d->len, &w[e - 1])) {
                        j = e;
                        break;
                    }
            }
            if (!HEARTH_GROW(c, ccap, k + 1)) goto oom;
            c[k].start = w[i].start;
            c[k].end = w[j - 1].end;
            c[k].page = hearth_doc_page_at(d, w[i].start);
            c[k].heading = heading ? strdup(heading) : NULL;
            k++;
            if (j >= nw) break;
            size_t ni = j;
            int32_t back = 0;
            while (ni > i + 1 && back + w[ni - 1].tok <= overlap_tokens) back += w[--ni].tok;
            i = ni;
        }
    }
    free(w);
    for (size_t i = 0; i < n_secs; i++) free(secs[i].heading);
    free(secs);
    *out = c;
    *n = k;
    return HEARTH_OK;
oom:
    free(w);
    for (size_t i = 0; i < n_secs; i++) free(secs[i].heading);
    free(secs);
    rag_chunks_free(c, k);
    return hearth_set_error(HEARTH_ERR_NOMEM, "chunking: out of memory");
}

void rag_chunks_free(rag_chunk *c, size_t n) {
    for (size_t i = 0; c && i < n; i++) free(c[i].heading);
    free(c);
}
