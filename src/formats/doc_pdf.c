/*
 * doc_pdf.c — PDF text through poppler-glib, one page at a time so every
 * byte of text knows its page. Encrypted files (a password is needed) are
 * refused by name; a damaged file is whatever poppler can recover, or an
 * error when it recovers nothing.
 */
#include "doc_internal.h"

#include <poppler.h>
#include <string.h>

hearth_status doc_parse_pdf(const void *data, size_t n, const char *name, doc_builder *b) {
    GBytes *bytes = g_bytes_new(data, n);
    GError *err = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &err);
    g_bytes_unref(bytes);
    if (!doc) {
        hearth_status st;
        if (err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED)
            st = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: the PDF is encrypted (a password is needed)", name);
        else
            st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a readable PDF (%s)", name,
                                  err && err->message ? err->message : "corrupt or truncated");
        if (err) g_error_free(err);
        return st;
    }
    int n_pages = poppler_document_get_n_pages(doc);
    for (int i = 0; i < n_pages && !b->over; i++) {
        docb_page(b);
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page) continue;
        char *t = poppler_page_get_text(page);
        if (t) {
            /* lines of a page: keep paragraph breaks (empty lines), join the rest */
            const char *s = t, *end = t + strlen(t);
            while (s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                const char *e = nl ? nl : end;
                const char *q = s;
                while (q < e && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\f')) q++;
                if (q == e) docb_break(b);
                else {
                    docb_inline(b, s, (size_t)(e - s));
                    b->space = true;
                }
                s = nl ? nl + 1 : end;
            }
            g_free(t);
        }
        g_object_unref(page);
    }
    g_object_unref(doc);
    if (n_pages <= 0) return hearth_set_error(HEARTH_ERR_FORMAT, "%s: the PDF has no pages", name);
    return HEARTH_OK;
}
