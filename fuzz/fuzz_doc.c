/*
 * fuzz_doc.c — libFuzzer entry for the document readers (hearth/doc.h): the
 * first byte picks the format (text, Markdown, HTML, PDF, DOCX, sniffed),
 * the rest is the document. Checks: success gives valid UTF-8 text without
 * NUL bytes, headings inside the text in order, page starts inside the text
 * and non-decreasing; failure leaves the result empty. Limits are small so
 * zip bombs and huge texts are refused quickly.
 *   hearth_fuzz_target(fuzz_doc hearth_formats hearth_core)
 */
#include "hearth/doc.h"

#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 1) return 0;
    static const hearth_doc_kind K[] = {HEARTH_DOC_TEXT, HEARTH_DOC_MARKDOWN, HEARTH_DOC_HTML,
                                        HEARTH_DOC_PDF,  HEARTH_DOC_DOCX,     HEARTH_DOC_UNKNOWN};
    hearth_doc_kind k = K[data[0] % 6];
    hearth_doc_params p = hearth_doc_default_params();
    p.max_file_bytes = 1 << 20;
    p.max_text_bytes = 1 << 20;
    hearth_doc d;
    if (hearth_doc_parse(data + 1, size - 1, k, "fuzz", &p, &d) != HEARTH_OK) {
        if (d.text || d.pages || d.headings) abort();
        return 0;
    }
    if (!d.text || strlen(d.text) != d.len || !hearth_utf8_valid(d.text, d.len, NULL)) abort();
    size_t prev = 0;
    for (size_t i = 0; i < d.n_headings; i++) {
        const hearth_doc_heading *h = &d.headings[i];
        if (h->start < prev || h->start + h->len > d.len || h->level < 1 || h->level > 6) abort();
        prev = h->start;
    }
    prev = 0;
    for (int32_t i = 0; i < d.n_pages; i++) {
        if (d.pages[i] < prev || d.pages[i] > d.len) abort();
        prev = d.pages[i];
    }
    hearth_doc_clear(&d);
    return 0;
}
