/*
 * doc.c — document text: kinds, the shared text builder, plain text, and
 * hearth_doc_read / hearth_doc_parse dispatching to the readers
 * (doc_pdf.c, doc_html.c, doc_docx.c, doc_md.c).
 */
#include "doc_internal.h"

#include "core/utf8.h"
#include "hearth/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

hearth_doc_params hearth_doc_default_params(void) {
    hearth_doc_params p = {.max_file_bytes = (size_t)256 << 20, .max_text_bytes = (size_t)64 << 20};
    return p;
}

/* ==== kinds ========================================================================== */
hearth_doc_kind hearth_doc_kind_from_path(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot) return HEARTH_DOC_UNKNOWN;
    static const struct { const char *ext; hearth_doc_kind k; } T[] = {
        {".txt", HEARTH_DOC_TEXT},      {".text", HEARTH_DOC_TEXT},     {".log", HEARTH_DOC_TEXT},
        {".csv", HEARTH_DOC_TEXT},      {".rst", HEARTH_DOC_TEXT},      {".md", HEARTH_DOC_MARKDOWN},
        {".markdown", HEARTH_DOC_MARKDOWN}, {".html", HEARTH_DOC_HTML}, {".htm", HEARTH_DOC_HTML},
        {".xhtml", HEARTH_DOC_HTML},    {".pdf", HEARTH_DOC_PDF},       {".docx", HEARTH_DOC_DOCX},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcasecmp(dot, T[i].ext)) return T[i].k;
    return HEARTH_DOC_UNKNOWN;
}

hearth_doc_kind hearth_doc_kind_sniff(const void *data, size_t n) {
    const char *s = data;
    if (n >= 5 && !memcmp(s, "%PDF-", 5)) return HEARTH_DOC_PDF;
    if (n >= 4 && !memcmp(s, "PK\3\4", 4)) return HEARTH_DOC_DOCX;
    size_t i = 0;
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    if (n - i >= 14 && !strncasecmp(s + i, "<!doctype html", 14)) return HEARTH_DOC_HTML;
    if (n - i >= 5 && !strncasecmp(s + i, "<html", 5)) return HEARTH_DOC_HTML;
    return HEARTH_DOC_UNKNOWN;
}

const char *hearth_doc_kind_name(hearth_doc_kind k) {
    switch (k) {
    case HEARTH_DOC_TEXT: return "text";
    case HEARTH_DOC_MARKDOWN: return "markdown";
    case HEARTH_DOC_HTML: return "html";
    case HEARTH_DOC_PDF: return "pdf";
    case HEARTH_DOC_DOCX: return "docx";
    default: return "unknown";
    }
}

/* ==== the builder ==================================================================== */
void docb_init(doc_builder *b, size_t limit) {
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void docb_free(doc_builder *b) {
    hearth_buf_free(&b->text);
    free(b->pages);
    free(b->heads);
    memset(b, 0, sizeof *b);
}

static bool room(doc_builder *b, size_t n) {
    if (b->over) return false;
    if (b->text.len + n > b->limit) {
        b->over = true;
        return false;
    }
    return true;
}

static bool at_para_start(const doc_builder *b) {
    return b->text.len == 0 || b->text.data[b->text.len - 1] == '\n';
}

void docb_inline(doc_builder *b, const char *s, size_t n) {
    for (size_t i = 0; i < n && !b->over;) {
        size_t l;
        uint32_t cp = hearth_utf8_decode_lenient(s + i, n - i, &l);
        i += l;
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' || cp == 0xA0) {
            if (!at_para_start(b)) b->space = true;
            continue;
        }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) continue;
        char u[4];
        size_t k = hearth_utf8_encode(cp, u);
        if (!room(b, k + 1)) return;
        if (b->space && !at_para_start(b)) hearth_buf_putc(&b->text, ' ');
        b->space = false;
        hearth_buf_put(&b->text, u, k);
    }
}

void docb_raw(doc_builder *b, const char *s, size_t n) {
    if (b->space && !at_para_start(b) && room(b, 1)) hearth_buf_putc(&b->text, ' ');
    b->space = false;
    for (size_t i = 0; i < n && !b->over;) {
        size_t l;
        uint32_t cp = hearth_utf8_decode_lenient(s + i, n - i, &l);
        i += l;
        if (cp == '\r') {
            if (i < n && s[i] == '\n') i++;
            cp = '\n';
        }
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F || cp == 0xFEFF) continue;
        char u[4];
        size_t k = hearth_utf8_encode(cp, u);
        if (!room(b, k)) return;
        hearth_buf_put(&b->text, u, k);
    }
}

static void trim_spaces(doc_builder *b) {
    while (b->text.len && (b->text.data[b->text.len - 1] == ' ' || b->text.data[b->text.len - 1] == '\t'))
        b->text.data[--b->text.len] = 0;
}

void docb_line(doc_builder *b) {
    b->space = false;
    trim_spaces(b);
    if (b->text.len && room(b, 1)) hearth_buf_putc(&b->text, '\n');
}

void docb_break(doc_builder *b) {
    b->space = false;
    trim_spaces(b);
    size_t n = b->text.len;
    if (n == 0) return;
    int have = (n >= 1 && b->text.data[n - 1] == '\n') + (n >= 2 && b->text.data[n - 2] == '\n');
    /* more than two newlines at the end (plain text) are left as they are */
    for (int k = have; k < 2; k++)
        if (room(b, 1)) hearth_buf_putc(&b->text, '\n');
}

void docb_heading_begin(doc_builder *b, int level) {
    docb_break(b);
    b->head_level = level < 1 ? 1 : level > 6 ? 6 : level;
    b->head_start = b->text.len;
}

void docb_heading_end(doc_builder *b) {
    if (b->head_level <= 0) return;
    /* the heading's text ends at its last visible character */
    while (b->text.len > b->head_start && strchr(" \t\n", b->text.data[b->text.len - 1]))
        b->text.data[--b->text.len] = 0;
    size_t len = b->text.len - b->head_start;
    if (len > 0 && HEARTH_GROW(b->heads, b->cap_heads, b->n_heads + 1)) {
        b->heads[b->n_heads++] = (hearth_doc_heading){.start = b->head_start, .len = len, .level = b->head_level};
    }
    b->head_level = 0;
    docb_break(b);
}

void docb_page(doc_builder *b) {
    docb_break(b);
    if (HEARTH_GROW(b->pages, b->cap_pages, b->n_pages + 1)) b->pages[b->n_pages++] = b->text.len;
    else b->text.oom = true;
}

hearth_status docb_finish(doc_builder *b, hearth_doc_kind kind, const char *name, hearth_doc *out) {
    memset(out, 0, sizeof *out);
    if (b->over) {
        hearth_status st = hearth_set_error(HEARTH_ERR_RANGE, "%s: its text is larger than the limit of %zu bytes",
                                            name, b->limit);
        docb_free(b);
        return st;
    }
    trim_spaces(b);
    while (b->text.len && b->text.data[b->text.len - 1] == '\n') b->text.data[--b->text.len] = 0;
    if (b->text.oom || !hearth_buf_put(&b->text, "", 0)) {   /* NUL-terminated even when empty */
        docb_free(b);
        return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", name);
    }
    out->len = b->text.len;
    out->text = hearth_buf_take(&b->text, NULL);
    for (size_t i = 0; i < b->n_pages; i++)
        if (b->pages[i] > out->len) b->pages[i] = out->len;
    size_t k = 0;   /* headings inside the (trimmed) text */
    for (size_t i = 0; i < b->n_heads; i++) {
        hearth_doc_heading h = b->heads[i];
        if (h.start >= out->len) continue;
        if (h.start + h.len > out->len) h.len = out->len - h.start;
        b->heads[k++] = h;
    }
    b->n_heads = k;
    out->pages = b->pages;
    out->n_pages = (int32_t)b->n_pages;
    out->headings = b->heads;
    out->n_headings = b->n_heads;
    out->kind = kind;
    b->pages = NULL;
    b->heads = NULL;
    docb_free(b);
    return HEARTH_OK;
}

/* ==== reading ======================================================================== */
hearth_status hearth_doc_parse(const void *data, size_t n, hearth_doc_kind kind, const char *name,
                               const hearth_doc_params *pp, hearth_doc *out) {
    memset(out, 0, sizeof *out);
    hearth_doc_params p = pp ? *pp : hearth_doc_default_params();
    if (!name) name = "document";
    if (n > p.max_file_bytes)
        return hearth_set_error(HEARTH_ERR_RANGE, "%s: %zu bytes is larger than the limit of %zu bytes", name, n,
                                p.max_file_bytes);
    if (kind == HEARTH_DOC_UNKNOWN) kind = hearth_doc_kind_sniff(data, n);
    if (kind == HEARTH_DOC_UNKNOWN) kind = HEARTH_DOC_TEXT;
    doc_builder b;
    docb_init(&b, p.max_text_bytes);
    hearth_status st = HEARTH_OK;
    switch (kind) {
    case HEARTH_DOC_PDF: st = doc_parse_pdf(data, n, name, &b); break;
    case HEARTH_DOC_HTML: st = doc_parse_html(data, n, name, &b); break;
    case HEARTH_DOC_DOCX: st = doc_parse_docx(data, n, name, &p, &b); break;
    case HEARTH_DOC_MARKDOWN: st = doc_parse_markdown(data, n, name, &b); break;
    default: {
        const char *s = data;
        if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3;
        /* a plain-text file with NUL bytes in its first block is binary */
        if (memchr(s, 0, n < 8192 ? n : 8192))
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: binary data (NUL bytes), not text", name);
        docb_raw(&b, s, n);
        break;
    }
    }
    if (st != HEARTH_OK) {
        docb_free(&b);
        return st;
    }
    return docb_finish(&b, kind, name, out);
}

hearth_status hearth_doc_read(const char *path, const hearth_doc_params *pp, hearth_doc *out) {
    memset(out, 0, sizeof *out);
    hearth_doc_params p = pp ? *pp : hearth_doc_default_params();
    struct stat sb;
    if (stat(path, &sb) != 0) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot read it (no such file?)", path);
    if (!S_ISREG(sb.st_mode)) return hearth_set_error(HEARTH_ERR_IO, "%s: not a regular file", path);
    if ((uint64_t)sb.st_size > p.max_file_bytes)
        return hearth_set_error(HEARTH_ERR_RANGE, "%s: %lld bytes is larger than the limit of %zu bytes", path,
                                (long long)sb.st_size, p.max_file_bytes);
    char *data = NULL;
    size_t n = 0;
    hearth_status st = hearth_read_file(path, &data, &n);
    if (st) return st;
    hearth_doc_kind k = hearth_doc_kind_from_path(path);
    if (k == HEARTH_DOC_UNKNOWN) {
        k = hearth_doc_kind_sniff(data, n);
        if (k == HEARTH_DOC_UNKNOWN) {
            free(data);
            return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                    "%s: unknown document type (expected .txt, .md, .html, .pdf or .docx)", path);
        }
    }
    st = hearth_doc_parse(data, n, k, path, &p, out);
    free(data);
    return st;
}

int32_t hearth_doc_page_at(const hearth_doc *d, size_t off) {
    if (!d->n_pages) return 0;
    /* the last page starting at or before off */
    int32_t lo = 0, hi = d->n_pages - 1;
    while (lo < hi) {
        int32_t mid = (lo + hi + 1) / 2;
        if (d->pages[mid] <= off) lo = mid;
        else hi = mid - 1;
    }
    return lo + 1;
}

void hearth_doc_clear(hearth_doc *d) {
    if (!d) return;
    free(d->text);
    free(d->pages);
    free(d->headings);
    memset(d, 0, sizeof *d);
}
