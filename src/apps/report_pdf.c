/*
 * report_pdf.c — a report's HTML to PDF (A4) through cairo, pango and
 * librsvg. Not a browser: it lays out the blocks reports are made of —
 * h1-h3, p, li, table rows, inline <svg> charts, <hr> — with bold and italic
 * inside text; <style>, <script> and <head> contents are skipped, other tags
 * dropped and their text kept. Pages break between blocks (and between
 * table rows).
 */
#include "apps/report_cjson.h"

#include "core/buf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <ctype.h>
#include <librsvg/rsvg.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 595.0
#define PAGE_H 842.0
#define MARGIN 50.0

typedef struct pdf {
    cairo_surface_t *surf;
    cairo_t *cr;
    double y;
    int page;
} pdf;

static void new_page(pdf *d) {
    if (d->page > 0) cairo_show_page(d->cr);
    d->page++;
    d->y = MARGIN;
    /* page number */
    char num[16];
    snprintf(num, sizeof num, "%d", d->page);
    PangoLayout *l = pango_cairo_create_layout(d->cr);
    PangoFontDescription *fd = pango_font_description_from_string("DejaVu Sans 7");
    pango_layout_set_font_description(l, fd);
    pango_layout_set_text(l, num, -1);
    cairo_set_source_rgb(d->cr, 0.5, 0.5, 0.5);
    cairo_move_to(d->cr, PAGE_W / 2, PAGE_H - 30);
    pango_cairo_show_layout(d->cr, l);
    pango_font_description_free(fd);
    g_object_unref(l);
}

static void ensure(pdf *d, double h) {
    if (d->y + h > PAGE_H - MARGIN && d->y > MARGIN + 1) new_page(d);
}

/* pango markup of one block's inner HTML: text escaped, <b>/<strong>, <i>/<em> kept */
static void to_markup(hearth_buf *m, const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        if (s[i] == '<') {
            const char *e = memchr(s + i, '>', n - i);
            if (!e) break;
            size_t tl = (size_t)(e - (s + i)) + 1;
            char tag[16] = "";
            size_t k = 0, j = i + 1;
            bool close = j < n && s[j] == '/';
            if (close) j++;
            while (j < i + tl && k < sizeof tag - 1 && isalpha((unsigned char)s[j])) tag[k++] = (char)tolower((unsigned char)s[j++]);
            tag[k] = 0;
            if (!strcmp(tag, "b") || !strcmp(tag, "strong")) hearth_buf_puts(m, close ? "</b>" : "<b>");
            else if (!strcmp(tag, "i") || !strcmp(tag, "em")) hearth_buf_puts(m, close ? "</i>" : "<i>");
            else if (!strcmp(tag, "br")) hearth_buf_putc(m, '\n');
            else if (!strcmp(tag, "mark")) hearth_buf_puts(m, close ? "</span>" : "<span background=\"#fefcbf\">");
            i += tl;
            continue;
        }
        if (s[i] == '&') {
            static const struct { const char *e, *r; } ents[] = {{"&amp;", "&amp;"}, {"&lt;", "&lt;"}, {"&gt;", "&gt;"},
                                                                 {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "},
                                                                 {"&#34;", "\""}, {"&mdash;", "\xE2\x80\x94"},
                                                                 {"&ndash;", "\xE2\x80\x93"}};
            bool done = false;
            for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++) {
                size_t el = strlen(ents[k].e);
                if (i + el <= n && !strncmp(s + i, ents[k].e, el)) {
                    hearth_buf_puts(m, ents[k].r);
                    i += el;
                    done = true;
                    break;
                }
            }
            if (!done) {
                hearth_buf_puts(m, "&amp;");
                i++;
            }
            continue;
        }
        if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
            if (m->len && m->data[m->len - 1] != ' ') hearth_buf_putc(m, ' ');
            i++;
            continue;
        }
        if (s[i] == ' ' && m->len && m->data[m->len - 1] == ' ') {
            i++;
            continue;
        }
        if (s[i] == '>') hearth_buf_puts(m, "&gt;");
        else hearth_buf_putc(m, s[i]);
        i++;
    }
}

static PangoLayout *layout(pdf *d, const char *markup, const char *font, double width) {
    PangoLayout *l = pango_cairo_create_layout(d->cr);
    PangoFontDescription *fd = pango_font_description_from_string(font);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(l, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    if (!pango_parse_markup(markup, -1, 0, NULL, NULL, NULL, NULL)) pango_layout_set_text(l, markup, -1);
    else pango_layout_set_markup(l, markup, -1);
    return l;
}

/* keep: room wanted below the block on the same page (headings stay with what follows) */
static void text_block(pdf *d, const char *s, size_t n, const char *font, double indent, double before,
                       double after, const char *bullet, double r, double g, double b, double keep) {
    hearth_buf m = {0};
    to_markup(&m, s, n);
    if (!m.len || m.oom) {
        hearth_buf_free(&m);
        return;
    }
    double w = PAGE_W - 2 * MARGIN - indent;
    PangoLayout *l = layout(d, m.data, font, w);
    int pw, ph;
    pango_layout_get_size(l, &pw, &ph);
    double h = (double)ph / PANGO_SCALE;
    d->y += before;
    ensure(d, h + keep);
    cairo_set_source_rgb(d->cr, r, g, b);
    if (bullet) {
        cairo_move_to(d->cr, MARGIN + indent - 12, d->y);
        PangoLayout *bl = layout(d, bullet, font, 20);
        pango_cairo_show_layout(d->cr, bl);
        g_object_unref(bl);
    }
    cairo_move_to(d->cr, MARGIN + indent, d->y);
    pango_cairo_show_layout(d->cr, l);
    d->y += h + after;
    g_object_unref(l);
    hearth_buf_free(&m);
}

static hearth_status svg_block(pdf *d, const char *s, size_t n) {
    GError *err = NULL;
    RsvgHandle *h = rsvg_handle_new_from_data((const guint8 *)s, n, &err);
    if (!h) {
        hearth_status st = hearth_set_error(HEARTH_ERR_FORMAT, "report pdf: a chart's SVG does not parse (%s)",
                                            err ? err->message : "?");
        if (err) g_error_free(err);
        return st;
    }
    gdouble w = 640, hh = 280;
    gboolean has_w, has_h, has_vb;
    RsvgLength lw, lh;
    RsvgRectangle vb;
    rsvg_handle_get_intrinsic_dimensions(h, &has_w, &lw, &has_h, &lh, &has_vb, &vb);
    if (has_vb) w = vb.width, hh = vb.height;
    else if (has_w && has_h) w = lw.length, hh = lh.length;
    double maxw = PAGE_W - 2 * MARGIN, scale = w > maxw ? maxw / w : 1.0;
    double dh = hh * scale;
    d->y += 6;
    ensure(d, dh);
    RsvgRectangle vp = {MARGIN, d->y, w * scale, dh};
    rsvg_handle_render_document(h, d->cr, &vp, NULL);
    d->y += dh + 8;
    g_object_unref(h);
    return HEARTH_OK;
}

/* ---- tables ------------------------------------------------------------------------------- */

typedef struct trow {
    char *cell[24];
    bool head[24];
    int n;
} trow;

static void table_rows(pdf *d, trow *rows, int nr) {
    int nc = 0;
    for (int i = 0; i < nr; i++) nc = rows[i].n > nc ? rows[i].n : nc;
    if (!nc) return;
    /* column widths in proportion to their longest text (between 8 and 60 characters) */
    double weight[24] = {0}, total = 0, x0[25];
    for (int i = 0; i < nr; i++)
        for (int c = 0; c < rows[i].n; c++) {
            double l = (double)strlen(rows[i].cell[c]);
            weight[c] = l > weight[c] ? l : weight[c];
        }
    for (int c = 0; c < nc; c++) total += (weight[c] = weight[c] < 8 ? 8 : weight[c] > 60 ? 60 : weight[c]);
    x0[0] = MARGIN;
    for (int c = 0; c < nc; c++) x0[c + 1] = x0[c] + (PAGE_W - 2 * MARGIN) * weight[c] / total;
    d->y += 4;
    for (int i = 0; i < nr; i++) {
        PangoLayout *ls[24];
        double h = 0;
        bool head = rows[i].n && rows[i].head[0];
        for (int c = 0; c < rows[i].n; c++) {
            hearth_buf m = {0};
            to_markup(&m, rows[i].cell[c], strlen(rows[i].cell[c]));
            ls[c] = layout(d, m.len ? m.data : "", head ? "DejaVu Sans Bold 8" : "DejaVu Sans 8", x0[c + 1] - x0[c] - 6);
            hearth_buf_free(&m);
            int pw, ph;
            pango_layout_get_size(ls[c], &pw, &ph);
            h = (double)ph / PANGO_SCALE > h ? (double)ph / PANGO_SCALE : h;
        }
        h += 6;
        ensure(d, h);
        if (head) {
            cairo_set_source_rgb(d->cr, 0.93, 0.95, 0.97);
            cairo_rectangle(d->cr, MARGIN, d->y, PAGE_W - 2 * MARGIN, h);
            cairo_fill(d->cr);
        }
        for (int c = 0; c < rows[i].n; c++) {
            cairo_set_source_rgb(d->cr, 0.1, 0.12, 0.16);
            cairo_move_to(d->cr, x0[c] + 3, d->y + 3);
            pango_cairo_show_layout(d->cr, ls[c]);
            g_object_unref(ls[c]);
        }
        cairo_set_source_rgb(d->cr, 0.8, 0.82, 0.86);
        cairo_set_line_width(d->cr, 0.5);
        cairo_move_to(d->cr, MARGIN, d->y + h);
        cairo_line_to(d->cr, PAGE_W - MARGIN, d->y + h);
        cairo_stroke(d->cr);
        d->y += h;
    }
    d->y += 8;
}

/* ---- the walk over the HTML ------------------------------------------------------------------- */

static const char *find_ci(const char *s, const char *end, const char *needle) {
    size_t n = strlen(needle);
    for (; s + n <= end; s++)
        if (!strncasecmp(s, needle, n)) return s;
    return NULL;
}

hearth_status hearth_report_pdf(const char *html, const char *path) {
    pdf d = {0};
    d.surf = cairo_pdf_surface_create(path, PAGE_W, PAGE_H);
    if (cairo_surface_status(d.surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(d.surf);
        return hearth_set_error(HEARTH_ERR_IO, "%s: cannot write the PDF", path);
    }
    d.cr = cairo_create(d.surf);
    new_page(&d);
    const char *s = html, *end = html + strlen(html);
    hearth_status st = HEARTH_OK;
    trow *rows = NULL;
    size_t cap = 0;
    int nr = 0;
    while (s < end && !st) {
        const char *lt = memchr(s, '<', (size_t)(end - s));
        if (!lt) break;
        const char *gt = memchr(lt, '>', (size_t)(end - lt));
        if (!gt) break;
        char tag[16] = "";
        size_t k = 0;
        const char *q = lt + 1;
        bool close = *q == '/';
        if (close) q++;
        while (q < gt && k < sizeof tag - 1 && isalnum((unsigned char)*q)) tag[k++] = (char)tolower((unsigned char)*q++);
        tag[k] = 0;
        s = gt + 1;
        if (close) continue;
        /* skipped elements */
        if (!strcmp(tag, "style") || !strcmp(tag, "script") || !strcmp(tag, "head") || !strcmp(tag, "title")) {
            char c[24];
            snprintf(c, sizeof c, "</%s", tag);
            const char *e = find_ci(s, end, c);
            s = e ? e : end;
            continue;
        }
        if (!strcmp(tag, "svg")) {
            const char *e = find_ci(s, end, "</svg>");
            if (!e) break;
            st = svg_block(&d, lt, (size_t)(e + 6 - lt));
            s = e + 6;
            continue;
        }
        if (!strcmp(tag, "hr")) {
            d.y += 6;
            cairo_set_source_rgb(d.cr, 0.8, 0.82, 0.86);
            cairo_set_line_width(d.cr, 0.7);
            cairo_move_to(d.cr, MARGIN, d.y);
            cairo_line_to(d.cr, PAGE_W - MARGIN, d.y);
            cairo_stroke(d.cr);
            d.y += 8;
            continue;
        }
        if (!strcmp(tag, "tr")) {
            const char *e = find_ci(s, end, "</tr");
            if (!e) break;
            if (!HEARTH_GROW(rows, cap, (size_t)nr + 1)) {
                st = HEARTH_ERR_NOMEM;
                break;
            }
            trow *r = &rows[nr++];
            memset(r, 0, sizeof *r);
            const char *c = s;
            while (c < e && r->n < 24) {
                const char *td = find_ci(c, e, "<td"), *th = find_ci(c, e, "<th");
                const char *o = td && (!th || td < th) ? td : th;
                if (!o) break;
                const char *og = memchr(o, '>', (size_t)(e - o));
                if (!og) break;
                const char *ce = find_ci(og, e, o == td ? "</td" : "</th");
                if (!ce) ce = e;
                r->head[r->n] = o == th;
                r->cell[r->n] = strndup(og + 1, (size_t)(ce - og - 1));
                r->n++;
                c = ce;
            }
            s = e;
            /* flush at the table's end */
            const char *next_tr = find_ci(s, end, "<tr"), *tend = find_ci(s, end, "</table");
            if (!next_tr || (tend && tend < next_tr)) {
                table_rows(&d, rows, nr);
                for (int i = 0; i < nr; i++)
                    for (int j = 0; j < rows[i].n; j++) free(rows[i].cell[j]);
                nr = 0;
            }
            continue;
        }
        struct { const char *tag, *font; double indent, before, after; const char *bullet; double r, g, b, keep; } blocks[] = {
            {"h1", "DejaVu Sans Bold 20", 0, 4, 8, NULL, 0.1, 0.15, 0.25, 120},
            {"h2", "DejaVu Sans Bold 14", 0, 10, 5, NULL, 0.1, 0.15, 0.25, 120},
            {"h3", "DejaVu Sans Bold 11", 0, 8, 4, NULL, 0.1, 0.15, 0.25, 100},
            {"p", "DejaVu Sans 10", 0, 3, 6, NULL, 0.1, 0.1, 0.1, 0},
            {"li", "DejaVu Sans 10", 16, 1, 3, "\xE2\x80\xA2", 0.1, 0.1, 0.1, 0},
            {"figcaption", "DejaVu Sans Oblique 8", 0, 0, 6, NULL, 0.35, 0.38, 0.42, 0},
        };
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            if (strcmp(tag, blocks[b].tag)) continue;
            char c[24];
            snprintf(c, sizeof c, "</%s", tag);
            const char *e = find_ci(s, end, c);
            if (!e) e = end;
            /* a chart inside a paragraph: text before it, then the chart */
            const char *svg = find_ci(s, e, "<svg");
            text_block(&d, s, (size_t)((svg ? svg : e) - s), blocks[b].font, blocks[b].indent, blocks[b].before,
                       blocks[b].after, blocks[b].bullet, blocks[b].r, blocks[b].g, blocks[b].b, blocks[b].keep);
            s = svg ? svg : e;
            break;
        }
    }
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < rows[i].n; j++) free(rows[i].cell[j]);
    free(rows);
    cairo_show_page(d.cr);
    cairo_destroy(d.cr);
    cairo_surface_finish(d.surf);
    if (!st && cairo_surface_status(d.surf) != CAIRO_STATUS_SUCCESS)
        st = hearth_set_error(HEARTH_ERR_IO, "%s: writing the PDF failed", path);
    cairo_surface_destroy(d.surf);
    return st;
}
