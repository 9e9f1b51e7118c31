/*
 * lines.h — reading text line by line (internal): over a memory buffer or
 * an open FILE, lines of any length, "\n" and "\r\n" endings (a final line
 * without an ending counts too).
 *
 *     hearth_lines r;
 *     hearth_lines_mem(&r, text, len);          // or hearth_lines_file(&r, f)
 *     const char *line;
 *     size_t n;
 *     while (hearth_lines_next(&r, &line, &n)) {
 *         ... line[0..n), r.line_no is its 1-based number ...
 *     }
 *     if (r.error) ...                          // FILE: read error or out of memory
 *     hearth_lines_free(&r);
 *
 * Memory source: the line points into the buffer (not NUL-terminated; it
 * stays valid as long as the buffer). FILE source: the line is in the
 * reader's own buffer, NUL-terminated, valid until the next call (an
 * embedded NUL byte is kept: use n, not strlen).
 */
#ifndef HEARTH_CORE_LINES_H
#define HEARTH_CORE_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct hearth_lines {
    const char *mem;   /* memory source (NULL for a FILE) */
    size_t len, off;
    FILE *f;           /* FILE source (borrowed; not closed) */
    char *buf;         /* the current line of a FILE source (getline's) */
    size_t cap;
    size_t line_no;    /* number of the line last returned (1-based) */
    bool error;        /* reading the FILE failed, or out of memory */
} hearth_lines;

void hearth_lines_mem(hearth_lines *r, const char *s, size_t n);
void hearth_lines_file(hearth_lines *r, FILE *f);
/* The next line without its ending; false at the end or on error. */
bool hearth_lines_next(hearth_lines *r, const char **line, size_t *n);
void hearth_lines_free(hearth_lines *r);   /* frees the FILE buffer; NULL is a no-op */

#endif
