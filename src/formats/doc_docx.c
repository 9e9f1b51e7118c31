/*
 * doc_docx.c — DOCX (Office Open XML) text: the zip is opened in memory
 * with libzip, word/document.xml is inflated up to max_text_bytes (both its
 * declared size and the bytes actually produced are checked, so a zip bomb
 * is refused without inflating it all) and walked with libxml2 (no network,
 * no entity expansion): w:p paragraphs, w:t text, w:tab, w:br; paragraphs
 * styled "Title" or "Heading N" are headings.
 */
#include "doc_internal.h"

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

static bool wname(const xmlNode *n, const char *local) {
    return n->type == XML_ELEMENT_NODE && n->name && !strcmp((const char *)n->name, local);
}

/* the heading level of a paragraph (its w:pPr/w:pStyle w:val), 0 if none */
static int heading_level(const xmlNode *p) {
    for (const xmlNode *c = p->children; c; c = c->next) {
        if (!wname(c, "pPr")) continue;
        for (const xmlNode *s = c->children; s; s = s->next) {
            if (!wname(s, "pStyle")) continue;
            xmlChar *v = NULL;
            for (xmlAttr *a = s->properties; a && !v; a = a->next)
                if (a->name && !strcmp((const char *)a->name, "val")) v = xmlNodeGetContent((xmlNode *)a);
            int level = 0;
            if (v) {
                const char *t = (const char *)v;
                if (!strcasecmp(t, "Title")) level = 1;
                else if (!strncasecmp(t, "Heading", 7)) {
                    int k = atoi(t + 7);
                    level = k >= 1 && k <= 6 ? k : 0;
                }
                xmlFree(v);
            }
            return level;
        }
    }
    return 0;
}

static void walk(const xmlNode *n, doc_builder *b, int depth) {
    for (; n && !b->over; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || depth > 200) continue;
        if (wname(n, "p")) {
            int level = heading_level(n);
            if (level) docb_heading_begin(b, level);
            else docb_break(b);
            walk(n->children, b, depth + 1);
            if (level) docb_heading_end(b);
            else docb_break(b);
        } else if (wname(n, "t")) {
            xmlChar *t = xmlNodeGetContent((xmlNode *)n);
            if (t) {
                /* w:t keeps its spaces (xml:space="preserve"); runs join without one */
                docb_inline(b, (const char *)t, strlen((const char *)t));
                xmlFree(t);
            }
        } else if (wname(n, "tab")) {
            b->space = true;
        } else if (wname(n, "br") || wname(n, "cr")) {
            docb_line(b);
        } else if (wname(n, "tc")) {
            b->space = true;
            walk(n->children, b, depth + 1);
        } else if (wname(n, "instrText") || wname(n, "delText") || wname(n, "pPr") || wname(n, "rPr")) {
            continue;   /* field codes, deleted text and properties are not text */
        } else {
            walk(n->children, b, depth + 1);
        }
    }
}

hearth_status doc_parse_docx(const void *data, size_t n, const char *name, const hearth_doc_params *p,
                             doc_builder *b) {
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, n, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", name);
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!z) {
        hearth_status st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a DOCX (the zip cannot be opened: %s)", name,
                                            zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return st;
    }
    zip_error_fini(&ze);
    hearth_status st = HEARTH_OK;
    char *xml = NULL;
    zip_stat_t sb;
    zip_stat_init(&sb);
    zip_int64_t idx = zip_name_locate(z, "word/document.xml", 0);
    if (idx < 0 || zip_stat_index(z, (zip_uint64_t)idx, 0, &sb) != 0) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a DOCX (no word/document.xml in the zip)", name);
        goto done;
    }
    size_t cap = p->max_text_bytes;
    if ((sb.valid & ZIP_STAT_SIZE) && sb.size > cap) {
        st = hearth_set_error(HEARTH_ERR_RANGE,
                              "%s: word/document.xml inflates to %llu bytes, over the limit of %zu (a zip bomb?)", name,
                              (unsigned long long)sb.size, cap);
        goto done;
    }
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    if (!f) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: word/document.xml cannot be read (%s)", name,
                              zip_strerror(z));
        goto done;
    }
    size_t want = (sb.valid & ZIP_STAT_SIZE) ? (size_t)sb.size : 1 << 20, len = 0;
    size_t xcap = want + 1;
    xml = malloc(xcap);
    while (xml) {
        if (len == xcap - 1) {
            if (xcap - 1 >= cap) {
                /* more bytes than declared and past the limit */
                char probe;
                if (zip_fread(f, &probe, 1) > 0) {
                    st = hearth_set_error(HEARTH_ERR_RANGE,
                                          "%s: word/document.xml inflates past the limit of %zu bytes (a zip bomb?)",
                                          name, cap);
                }
                break;
            }
            size_t nc = (xcap - 1) * 2 > cap ? cap + 1 : (xcap - 1) * 2 + 1;
            char *t = realloc(xml, nc);
            if (!t) { free(xml); xml = NULL; break; }
            xml = t, xcap = nc;
        }
        /* xml is not NULL here: the loop runs while it is set, and the realloc failure breaks */
        // cppcheck-suppress nullPointerArithmeticRedundantCheck
        zip_int64_t got = zip_fread(f, xml + len, xcap - 1 - len);
        if (got < 0) {
            st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: word/document.xml is corrupt (%s)", name,
                                  zip_file_strerror(f));
            break;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    zip_fclose(f);
    if (!xml) {
        st = hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    if (st) goto done;
    if (len > 0x7fffffff) {
        st = hearth_set_error(HEARTH_ERR_RANGE, "%s: word/document.xml is too large", name);
        goto done;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "document.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: word/document.xml is not well-formed XML", name);
        goto done;
    }
    walk(xmlDocGetRootElement(doc), b, 0);
    xmlFreeDoc(doc);
done:
    free(xml);
    zip_discard(z);   /* also frees src */
    return st;
}
