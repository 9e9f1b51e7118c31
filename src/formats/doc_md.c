/*
 * doc_md.c — Markdown text through md4c (CommonMark + GitHub tables):
 * markup removed, headings kept, code blocks with their lines, inline HTML
 * dropped.
 */
#include "doc_internal.h"

#include <md4c.h>
#include <string.h>

static int enter_block(MD_BLOCKTYPE type, void *detail, void *user) {
    doc_builder *b = user;
    switch (type) {
    case MD_BLOCK_H: docb_heading_begin(b, (int)((MD_BLOCK_H_DETAIL *)detail)->level); break;
    case MD_BLOCK_P: case MD_BLOCK_CODE: case MD_BLOCK_HTML: case MD_BLOCK_TABLE: case MD_BLOCK_QUOTE:
    case MD_BLOCK_UL: case MD_BLOCK_OL: case MD_BLOCK_HR:
        docb_break(b);
        break;
    case MD_BLOCK_LI: case MD_BLOCK_TR: docb_line(b); break;
    case MD_BLOCK_TH: case MD_BLOCK_TD: b->space = true; break;
    default: break;
    }
    return b->over ? 1 : 0;
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *user) {
    doc_builder *b = user;
    (void)detail;
    if (type == MD_BLOCK_H) docb_heading_end(b);
    else if (type == MD_BLOCK_P || type == MD_BLOCK_CODE || type == MD_BLOCK_TABLE) docb_break(b);
    else if (type == MD_BLOCK_TD || type == MD_BLOCK_TH) b->space = true;
    return b->over ? 1 : 0;
}

static int span(MD_SPANTYPE type, void *detail, void *user) {
    (void)type, (void)detail, (void)user;
    return 0;
}

static int text(MD_TEXTTYPE type, const MD_CHAR *s, MD_SIZE n, void *user) {
    doc_builder *b = user;
    switch (type) {
    case MD_TEXT_NULLCHAR: docb_inline(b, "\xEF\xBF\xBD", 3); break;
    case MD_TEXT_BR: docb_line(b); break;
    case MD_TEXT_SOFTBR: b->space = true; break;
    case MD_TEXT_HTML: break;
    case MD_TEXT_CODE: docb_raw(b, s, n); break;
    case MD_TEXT_ENTITY: {
        static const struct { const char *e, *t; } E[] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&nbsp;", " "},
        };
        const char *t = NULL;
        for (size_t i = 0; i < sizeof E / sizeof E[0]; i++)
            if (strlen(E[i].e) == n && !memcmp(E[i].e, s, n)) t = E[i].t;
        if (t) docb_inline(b, t, strlen(t));
        else docb_inline(b, s, n);
        break;
    }
    default: docb_inline(b, s, n); break;
    }
    return b->over ? 1 : 0;
}

hearth_status doc_parse_markdown(const void *data, size_t n, const char *name, doc_builder *b) {
    const char *s = data;
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3;
    if (memchr(s, 0, n < 8192 ? n : 8192))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: binary data (NUL bytes), not Markdown", name);
    MD_PARSER p;
    memset(&p, 0, sizeof p);
    p.abi_version = 0;
    p.flags = MD_DIALECT_GITHUB;
    p.enter_block = enter_block;
    p.leave_block = leave_block;
    p.enter_span = span;
    p.leave_span = span;
    p.text = text;
    int rc = md_parse(s, (MD_SIZE)n, &p, b);
    if (rc != 0 && !b->over) return hearth_set_error(HEARTH_ERR_FORMAT, "%s: the Markdown parser failed", name);
    return HEARTH_OK;
}
