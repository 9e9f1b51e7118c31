/*
 * doc.h — document text: .txt, .md, .html, .pdf, .docx to plain UTF-8 text
 * with its pages and headings, for chunking and retrieval (hearth rag).
 *
 *   hearth_doc d;
 *   if (hearth_doc_read("manual.pdf", NULL, &d) == HEARTH_OK) {
 *       ... d.text[0 .. d.len), page of byte i: hearth_doc_page_at(&d, i)
 *       hearth_doc_clear(&d);
 *   }
 *
 * The text: paragraphs (and headings) separated by one blank line ("\n\n"),
 * runs of spaces inside HTML/Markdown/DOCX paragraphs collapsed to one,
 * always valid UTF-8 (invalid bytes become U+FFFD), no NUL bytes. Offsets
 * anywhere in hearth rag ("char_start"/"char_end") are byte offsets into
 * this text.
 *
 * Readers (Debian libraries): PDF poppler-glib (one page at a time, pages
 * kept), HTML libxml2's HTML parser (script/style dropped, h1-h6 kept as
 * headings), DOCX libzip + libxml2 (word/document.xml; "Heading N" and
 * "Title" paragraph styles kept as headings), Markdown md4c (ATX/Setext
 * headings), text as is (CRLF -> LF, BOM dropped).
 *
 * Bad input gets a status and a message naming the file and what is wrong:
 * HEARTH_ERR_FORMAT (corrupt or truncated), HEARTH_ERR_UNSUPPORTED
 * (encrypted PDF, unknown extension), HEARTH_ERR_RANGE (larger than the
 * limits below; a DOCX whose XML inflates past max_text_bytes — a zip
 * bomb — is refused without inflating it), HEARTH_ERR_IO (unreadable).
 * Nothing is printed.
 */
#ifndef HEARTH_DOC_H
#define HEARTH_DOC_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef enum hearth_doc_kind {
    HEARTH_DOC_UNKNOWN = 0,
    HEARTH_DOC_TEXT,       /* .txt .text .log .csv .rst (anything plain) */
    HEARTH_DOC_MARKDOWN,   /* .md .markdown */
    HEARTH_DOC_HTML,       /* .html .htm .xhtml */
    HEARTH_DOC_PDF,        /* .pdf */
    HEARTH_DOC_DOCX,       /* .docx */
} hearth_doc_kind;

/* by the file name's extension (case-insensitive); UNKNOWN if none fits */
hearth_doc_kind hearth_doc_kind_from_path(const char *path);
/* by the first bytes: "%PDF-", a zip ("PK\3\4"), "<!doctype html"/"<html";
 * else UNKNOWN */
hearth_doc_kind hearth_doc_kind_sniff(const void *data, size_t n);
const char *hearth_doc_kind_name(hearth_doc_kind k);   /* "text", "markdown", "html", "pdf", "docx", "unknown" */

typedef struct hearth_doc_heading {
    size_t start;   /* byte offset of the heading's text in hearth_doc.text (its section starts there) */
    size_t len;     /* bytes of heading text */
    int level;      /* 1 (h1 / "Heading 1" / "Title") .. 6 */
} hearth_doc_heading;

typedef struct hearth_doc {
    char *text;                    /* owned, NUL-terminated */
    size_t len;
    size_t *pages;                 /* owned; PDF: pages[i] = offset where page i+1 starts; else NULL */
    int32_t n_pages;               /* 0 for formats without pages */
    hearth_doc_heading *headings;  /* owned, in text order */
    size_t n_headings;
    hearth_doc_kind kind;
} hearth_doc;

typedef struct hearth_doc_params {
    size_t max_file_bytes;   /* larger files are refused (HEARTH_ERR_RANGE); 256 MiB */
    size_t max_text_bytes;   /* most bytes of text or of inflated DOCX XML; 64 MiB */
} hearth_doc_params;

hearth_doc_params hearth_doc_default_params(void);

/* Reads a file (kind from its extension, else sniffed; HEARTH_ERR_UNSUPPORTED
 * when neither says). p may be NULL (defaults). On failure *out is empty and
 * the message starts with the path. */
hearth_status hearth_doc_read(const char *path, const hearth_doc_params *p, hearth_doc *out);
/* Parses n bytes of a document of the given kind (UNKNOWN: sniffed, else
 * text). name only labels error messages (may be NULL). */
hearth_status hearth_doc_parse(const void *data, size_t n, hearth_doc_kind kind, const char *name,
                               const hearth_doc_params *p, hearth_doc *out);
/* 1-based page holding byte off; 0 when the document has no pages. */
int32_t hearth_doc_page_at(const hearth_doc *d, size_t off);
void hearth_doc_clear(hearth_doc *d);   /* frees and zeroes; NULL is a no-op */

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
