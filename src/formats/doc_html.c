/*
 * doc_html.c — HTML text through libxml2's HTML parser (recovering from
 * broken markup, no network): the <body>'s text with block elements as
 * paragraphs, h1-h6 as headings, <pre> with its lines; <script>, <style>,
 * <noscript>, <template>, <svg> and the <head> (but its <title>) dropped.
 */
#include "doc_internal.h"

#include <libxml/HTMLparser.h>
#include <string.h>
#include <strings.h>

static bool is(const xmlNode *n, const char *name) { return !strcasecmp((const char *)n->name, name); }

static bool is_block(const xmlNode *n) {
    static const char *B[] = {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "ul",
                              "ol", "li", "dl", "dt", "dd", "table", "tr", "blockquote", "figure", "figcaption",
                              "form", "fieldset", "address", "hr", "caption", "details", "summary", "body"};
    for (size_t i = 0; i < sizeof B / sizeof B[0]; i++)
        if (is(n, B[i])) return true;
    return false;
}

static void walk(const xmlNode *n, doc_builder *b, int pre, int depth) {
    for (; n && !b->over; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            const char *t = (const char *)n->content;
            if (!t) continue;
            if (pre) docb_raw(b, t, strlen(t));
            else docb_inline(b, t, strlen(t));
            continue;
        }
        if (n->type != XML_ELEMENT_NODE || !n->name) continue;
        if (is(n, "script") || is(n, "style") || is(n, "noscript") || is(n, "template") || is(n, "svg") ||
            is(n, "head") || is(n, "iframe") || is(n, "object"))
            continue;
        if (depth > 200) continue;   /* libxml2 caps nesting too; this keeps the stack small */
        if (n->name[0] && (n->name[0] == 'h' || n->name[0] == 'H') && n->name[1] >= '1' && n->name[1] <= '6' &&
            !n->name[2]) {
            docb_heading_begin(b, n->name[1] - '0');
            walk(n->children, b, pre, depth + 1);
            docb_heading_end(b);
            continue;
        }
        if (is(n, "br")) { docb_line(b); continue; }
        if (is(n, "pre")) {
            docb_break(b);
            walk(n->children, b, 1, depth + 1);
            docb_break(b);
            continue;
        }
        bool block = is_block(n);
        bool cell = is(n, "td") || is(n, "th");
        if (block) docb_break(b);
        if (cell || is(n, "img")) b->space = true;
        if (is(n, "li") || is(n, "tr") || is(n, "dt")) docb_line(b);
        walk(n->children, b, pre, depth + 1);
        if (block) docb_break(b);
        if (cell) b->space = true;
    }
}

static const xmlNode *find(const xmlNode *n, const char *name, int depth) {
    for (; n && depth < 8; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && n->name && is(n, name)) return n;
        const xmlNode *c = find(n->children, name, depth + 1);
        if (c) return c;
    }
    return NULL;
}

hearth_status doc_parse_html(const void *data, size_t n, const char *name, doc_builder *b) {
    if (n > 0x7fffffff) return hearth_set_error(HEARTH_ERR_RANGE, "%s: too large for the HTML parser", name);
    htmlDocPtr doc = htmlReadMemory(data, (int)n, NULL, NULL,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NOIMPLIED | HTML_PARSE_COMPACT);
    if (!doc) {
        if (n == 0) return HEARTH_OK;
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: not readable as HTML", name);
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    const xmlNode *title = find(root, "title", 0);
    const xmlNode *body = find(root, "body", 0);
    if (title && title->children && title->children->content) {
        docb_heading_begin(b, 1);
        docb_inline(b, (const char *)title->children->content, strlen((const char *)title->children->content));
        docb_heading_end(b);
    }
    walk(body ? body : root, b, 0, 0);
    xmlFreeDoc(doc);
    return HEARTH_OK;
}
