/*
 * doc_internal.h — what the document readers (doc_*.c) share: a builder
 * that accumulates clean text with its paragraph breaks, headings and page
 * starts, under a size limit.
 */
#ifndef HEARTH_DOC_INTERNAL_H
#define HEARTH_DOC_INTERNAL_H

#include "hearth/doc.h"

#include "core/buf.h"

typedef struct doc_builder {
    hearth_buf text;
    size_t *pages;
    size_t n_pages, cap_pages;
    hearth_doc_heading *heads;
    size_t n_heads, cap_heads;
    size_t limit;          /* most bytes of text */
    bool over;             /* the limit was reached: the text was cut */
    bool space;            /* collapsing: a space is due before the next visible character */
    int head_level;        /* > 0 while inside a heading */
    size_t head_start;
} doc_builder;

void docb_init(doc_builder *b, size_t limit);
void docb_free(doc_builder *b);
/* Inline text: whitespace runs become one space, control characters are
 * dropped, invalid UTF-8 becomes U+FFFD. */
void docb_inline(doc_builder *b, const char *s, size_t n);
/* Text whose lines matter (plain text, <pre>, code blocks): CRLF/CR -> LF,
 * tabs kept, other control characters dropped, invalid UTF-8 -> U+FFFD. */
void docb_raw(doc_builder *b, const char *s, size_t n);
void docb_line(doc_builder *b);     /* a line break inside a paragraph */
void docb_break(doc_builder *b);    /* a paragraph break ("\n\n"), not at the start */
void docb_heading_begin(doc_builder *b, int level);
void docb_heading_end(doc_builder *b);
void docb_page(doc_builder *b);     /* a page starts here */
/* Moves the result into *out (kind set); HEARTH_ERR_NOMEM or HEARTH_ERR_RANGE
 * (text over the limit) with a message naming `name`. Frees b either way. */
hearth_status docb_finish(doc_builder *b, hearth_doc_kind kind, const char *name, hearth_doc *out);

/* the readers: data[0..n), into b; errors name `name` */
hearth_status doc_parse_pdf(const void *data, size_t n, const char *name, doc_builder *b);
hearth_status doc_parse_html(const void *data, size_t n, const char *name, doc_builder *b);
hearth_status doc_parse_docx(const void *data, size_t n, const char *name, const hearth_doc_params *p,
                             doc_builder *b);
hearth_status doc_parse_markdown(const void *data, size_t n, const char *name, doc_builder *b);

#endif
