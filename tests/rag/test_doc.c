/*
 * test_doc.c — document text (include/hearth/doc.h): each format's text,
 * headings and pages, and the bad inputs a user may feed it (encrypted,
 * truncated and non-PDFs, a DOCX zip bomb, a zip that is no DOCX, binary
 * text, files over the limit), each refused with a message naming the file.
 */
#include "harness.h"
#include "hearth/doc.h"

#include <stdlib.h>
#include <string.h>

#define DATA HEARTH_TEST_DATA "/rag/"

static bool has(const hearth_doc *d, const char *s) { return d->text && strstr(d->text, s) != NULL; }

static const char *heading(const hearth_doc *d, size_t i, char *buf, size_t cap) {
    if (i >= d->n_headings) return "";
    snprintf(buf, cap, "%.*s", (int)d->headings[i].len, d->text + d->headings[i].start);
    return buf;
}

TEST(text_plain) {
    const char s[] = "\xEF\xBB\xBFline one\r\nline two\r\n\r\nsecond \xFF paragraph\n";
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_parse(s, sizeof s - 1, HEARTH_DOC_TEXT, "a.txt", NULL, &d), HEARTH_OK);
    CHECK_STR(d.text, "line one\nline two\n\nsecond \xEF\xBF\xBD paragraph");   /* BOM, CR dropped; bad byte U+FFFD */
    CHECK_EQ_INT(d.n_pages, 0);
    CHECK_EQ_INT(hearth_doc_page_at(&d, 3), 0);
    hearth_doc_clear(&d);
    /* binary data is not text */
    const char bin[] = "ab\0cd";
    CHECK_EQ_INT(hearth_doc_parse(bin, 5, HEARTH_DOC_TEXT, "x.txt", NULL, &d), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "x.txt") != NULL);
}

TEST(markdown) {
    const char s[] = "# Install\n\nRun **make** then `make install`.\n\n## On Debian\n\n- apt-get install hearth\n"
                     "- done &amp; dusted\n\n<div>raw html</div>\n\n```\ncode  line\n```\n";
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_parse(s, sizeof s - 1, HEARTH_DOC_MARKDOWN, "r.md", NULL, &d), HEARTH_OK);
    char b[64];
    CHECK_EQ_INT(d.n_headings, 2);
    CHECK_STR(heading(&d, 0, b, sizeof b), "Install");
    CHECK_EQ_INT(d.headings[0].level, 1);
    CHECK_STR(heading(&d, 1, b, sizeof b), "On Debian");
    CHECK_EQ_INT(d.headings[1].level, 2);
    CHECK(has(&d, "Run make then make install."));   /* markup gone */
    CHECK(has(&d, "done & dusted"));
    CHECK(!has(&d, "raw html") && !has(&d, "<div>"));
    CHECK(has(&d, "code  line"));   /* code keeps its spaces */
    hearth_doc_clear(&d);
}

TEST(html) {
    const char s[] = "<!DOCTYPE html><html><head><title>Guide</title><style>p{color:red}</style>"
                     "<script>var secret = 1;</script></head><body><h1>Chapter   One</h1><p>First\n   para.</p>"
                     "<div>Second<br>line</div><pre>a  b\n c</pre><h2>Sub</h2><p>Tail &amp; end</p></body></html>";
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_parse(s, sizeof s - 1, HEARTH_DOC_UNKNOWN, "g.html", NULL, &d), HEARTH_OK);
    CHECK_EQ_INT(d.kind, HEARTH_DOC_HTML);   /* sniffed */
    char b[64];
    CHECK_EQ_INT(d.n_headings, 3);
    CHECK_STR(heading(&d, 0, b, sizeof b), "Guide");
    CHECK_STR(heading(&d, 1, b, sizeof b), "Chapter One");
    CHECK_STR(heading(&d, 2, b, sizeof b), "Sub");
    CHECK_EQ_INT(d.headings[2].level, 2);
    CHECK(has(&d, "First para."));
    CHECK(has(&d, "Second\nline"));
    CHECK(has(&d, "a  b\n c"));
    CHECK(has(&d, "Tail & end"));
    CHECK(!has(&d, "secret") && !has(&d, "color"));
    hearth_doc_clear(&d);
    /* a page without text: an empty, NUL-terminated text (found by fuzz_doc) */
    const char empty[] = "<html><head><title></title></head><body><script>x</script></body></html>";
    CHECK_EQ_INT(hearth_doc_parse(empty, sizeof empty - 1, HEARTH_DOC_HTML, "e.html", NULL, &d), HEARTH_OK);
    CHECK(d.text && d.len == 0 && d.text[0] == 0);
    hearth_doc_clear(&d);
    /* broken markup is recovered, not refused */
    const char bad[] = "<p>unclosed <b>bold <i>text";
    CHECK_EQ_INT(hearth_doc_parse(bad, sizeof bad - 1, HEARTH_DOC_HTML, "b.html", NULL, &d), HEARTH_OK);
    CHECK(has(&d, "unclosed bold text"));
    hearth_doc_clear(&d);
}

TEST(pdf_pages) {
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_read(DATA "manual.pdf", NULL, &d), HEARTH_OK);
    CHECK_EQ_INT(d.kind, HEARTH_DOC_PDF);
    CHECK_EQ_INT(d.n_pages, 2);
    const char *boiler = strstr(d.text, "boiler pressure"), *flue = strstr(d.text, "chimney flue");
    CHECK(boiler && flue);
    if (boiler && flue) {
        CHECK_EQ_INT(hearth_doc_page_at(&d, (size_t)(boiler - d.text)), 1);
        CHECK_EQ_INT(hearth_doc_page_at(&d, (size_t)(flue - d.text)), 2);
    }
    hearth_doc_clear(&d);
}

TEST(pdf_bad) {
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_read(DATA "encrypted.pdf", NULL, &d), HEARTH_ERR_UNSUPPORTED);
    CHECK(strstr(hearth_last_error(), "encrypted.pdf") && strstr(hearth_last_error(), "encrypted"));
    CHECK(d.text == NULL);
    hearth_status st = hearth_doc_read(DATA "truncated.pdf", NULL, &d);
    CHECK(st == HEARTH_ERR_FORMAT || (st == HEARTH_OK && d.len == 0));
    if (st) CHECK(strstr(hearth_last_error(), "truncated.pdf") != NULL);
    hearth_doc_clear(&d);
    const char junk[] = "%PDF-1.4\nthis is not really a pdf";
    st = hearth_doc_parse(junk, sizeof junk - 1, HEARTH_DOC_PDF, "junk.pdf", NULL, &d);
    CHECK(st == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "junk.pdf") != NULL);
}

TEST(docx) {
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_read(DATA "kiln.docx", NULL, &d), HEARTH_OK);
    char b[64];
    CHECK_EQ_INT(d.n_headings, 3);
    CHECK_STR(heading(&d, 0, b, sizeof b), "Kiln safety");
    CHECK_STR(heading(&d, 1, b, sizeof b), "Loading");
    CHECK_EQ_INT(d.headings[1].level, 1);
    CHECK(has(&d, "Stack the pots on shelves with a finger of space between them."));   /* runs joined */
    CHECK(has(&d, "1240 degrees"));
    hearth_doc_clear(&d);
}

TEST(docx_bad) {
    hearth_doc d;
    /* 80 MB of XML from 80 KB: refused by its declared size, not inflated */
    CHECK_EQ_INT(hearth_doc_read(DATA "bomb.docx", NULL, &d), HEARTH_ERR_RANGE);
    CHECK(strstr(hearth_last_error(), "bomb.docx") && strstr(hearth_last_error(), "zip bomb"));
    CHECK_EQ_INT(hearth_doc_read(DATA "notadocx.docx", NULL, &d), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "notadocx.docx") && strstr(hearth_last_error(), "word/document.xml"));
    const char junk[] = "PK\3\4 garbage that is no zip";
    CHECK_EQ_INT(hearth_doc_parse(junk, sizeof junk - 1, HEARTH_DOC_DOCX, "j.docx", NULL, &d), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "j.docx") != NULL);
}

TEST(limits) {
    hearth_doc_params p = hearth_doc_default_params();
    p.max_file_bytes = 100;
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_read(DATA "manual.pdf", &p, &d), HEARTH_ERR_RANGE);
    CHECK(strstr(hearth_last_error(), "manual.pdf") && strstr(hearth_last_error(), "limit"));
    p = hearth_doc_default_params();
    p.max_text_bytes = 10;
    CHECK_EQ_INT(hearth_doc_read(DATA "kiln.docx", &p, &d), HEARTH_ERR_RANGE);
    CHECK_EQ_INT(hearth_doc_read(DATA "no-such-file.txt", NULL, &d), HEARTH_ERR_IO);
    CHECK(strstr(hearth_last_error(), "no-such-file.txt") != NULL);
    CHECK_EQ_INT(hearth_doc_read(DATA "make_docs.py", NULL, &d), HEARTH_ERR_UNSUPPORTED);
    CHECK_EQ_INT(hearth_doc_kind_from_path("a/B.PDF"), HEARTH_DOC_PDF);
    CHECK_EQ_INT(hearth_doc_kind_from_path("notes.markdown"), HEARTH_DOC_MARKDOWN);
    CHECK_EQ_INT(hearth_doc_kind_from_path("x.tar.gz"), HEARTH_DOC_UNKNOWN);
    hearth_doc_clear(NULL);
}

int main(void) {
    RUN(text_plain);
    RUN(markdown);
    RUN(html);
    RUN(pdf_pages);
    RUN(pdf_bad);
    RUN(docx);
    RUN(docx_bad);
    RUN(limits);
    return harness_done();
}
