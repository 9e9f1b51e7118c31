/* lines.c — line-by-line reading of memory or a FILE (see lines.h). */
#include "core/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void hearth_lines_mem(hearth_lines *r, const char *s, size_t n) {
    memset(r, 0, sizeof *r);
    r->mem = s ? s : "";
    r->len = s ? n : 0;
}

void hearth_lines_file(hearth_lines *r, FILE *f) {
    memset(r, 0, sizeof *r);
    r->f = f;
}

/* drops the "\r" of a "\r\n" ending */
static size_t strip_cr(const char *s, size_t n, bool had_nl) { return had_nl && n && s[n - 1] == '\r' ? n - 1 : n; }

bool hearth_lines_next(hearth_lines *r, const char **line, size_t *n) {
    if (r->error) return false;
    if (!r->f) {
        if (r->off >= r->len) return false;
        const char *p = r->mem + r->off;
        const char *nl = memchr(p, '\n', r->len - r->off);
        size_t k = nl ? (size_t)(nl - p) : r->len - r->off;
        r->off += k + (nl ? 1 : 0);
        *line = p;
        *n = strip_cr(p, k, nl != NULL);
        r->line_no++;
        return true;
    }
    errno = 0;
    ssize_t got = getline(&r->buf, &r->cap, r->f);
    if (got < 0) {
        if (ferror(r->f) || errno == ENOMEM) r->error = true;
        return false;
    }
    size_t k = (size_t)got;
    bool had_nl = k && r->buf[k - 1] == '\n';
    k = strip_cr(r->buf, had_nl ? k - 1 : k, had_nl);
    r->buf[k] = 0;
    *line = r->buf;
    *n = k;
    r->line_no++;
    return true;
}

void hearth_lines_free(hearth_lines *r) {
    if (!r) return;
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}
