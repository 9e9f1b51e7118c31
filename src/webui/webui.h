/*
 * webui.h — the web console's files (ui/dist), served over HTTP by both
 * `hearth serve` and `hearth gateway` (internal).
 *
 * The files are built into the binary: CMake turns ui/dist into a generated
 * C source (cmake/embed_ui.cmake) at build time, so building hearth needs no
 * Node. With a folder (`--ui-dir DIR`) the files are read from disk on every
 * request instead, for working on the pages without rebuilding.
 *
 * Every answer carries a strong ETag (If-None-Match -> 304), is gzipped when
 * the client accepts it (zlib; embedded files are compressed once, at
 * create), and has a strict Content-Security-Policy: scripts and styles only
 * from the same origin, none inline; no framing; no plugins.
 *
 * Paths: "/" and every path ending in "/" mean that folder's index.html; a
 * path without a dot in its last segment whose "<path>/index.html" exists
 * (e.g. "/admin") means that file too. Segments starting with "." (".." and
 * hidden files), backslashes and control characters are refused; in a
 * folder, symbolic links that lead outside it are refused.
 *
 * Threads: after create, a webui is read-only and may serve from any number
 * of threads at once.
 */
#ifndef HEARTH_WEBUI_H
#define HEARTH_WEBUI_H

#include "hearth/core.h"

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

typedef struct webui webui;

/* dir: serve that folder (it must exist); NULL: the files built in. */
hearth_status webui_create(const char *dir, webui **out);
void webui_free(webui *u);   /* NULL is a no-op */

/* One answer, before it is sent. */
typedef struct webui_reply {
    int status;                 /* 200 or 304 */
    const unsigned char *body;  /* borrowed from the webui, or == owned */
    size_t len;
    unsigned char *owned;       /* freed by webui_reply_free */
    const char *mime;           /* "text/html; charset=utf-8", ... */
    bool gzip;                  /* body is gzip-compressed (Content-Encoding: gzip) */
    char etag[48];              /* with its quotes */
} webui_reply;

/* Looks up path (the URL's path, percent-decoded, no query) for a GET or
 * HEAD. accept_encoding and if_none_match are the request's headers (NULL:
 * absent). Returns false when the path is not one of the console's files
 * (the caller answers 404 its own way), true with *r filled. */
bool webui_get(webui *u, const char *path, const char *accept_encoding, const char *if_none_match, webui_reply *r);
void webui_reply_free(webui_reply *r);

/* The Content-Security-Policy every console file is sent with. */
extern const char *const webui_csp;

/* For libmicrohttpd servers: answers method + url from the console when it
 * is a GET or HEAD of one of its files. Returns 0 when it is not (nothing was
 * queued: the caller routes on), else the HTTP status queued (200, 304) or
 * -1 when queueing failed (the caller returns MHD_NO). */
int webui_respond(webui *u, struct MHD_Connection *c, const char *method, const char *url);

#endif
