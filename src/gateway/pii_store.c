/*
 * pii_store.c — the key's PII policy on files and vector stores passed
 * through the gateway (hearth serve --rag-db behind it).
 *
 * Request side (the policy's `request` action):
 *   - a search (POST /v1/vector_stores/{id}/search): its "query" (a string
 *     or an array of strings) is scanned; mask and redact replace the values
 *     before the replica sees them (placeholders of a mask are restored in
 *     the results), block refuses the request (400 pii_blocked).
 *   - an upload (POST /v1/files, multipart/form-data): the "file" part.
 *     Text, Markdown and HTML files are scanned as they are; mask and redact
 *     both replace the values in the uploaded bytes (a stored document
 *     outlives the request, so a mask's placeholders could never be
 *     restored), block refuses it. PDF and DOCX files are read with
 *     hearth_doc and scanned; the gateway cannot rewrite them, so one that
 *     holds personal data is refused under mask, redact and block alike
 *     (400 pii_blocked, saying to upload its text instead). A document the
 *     gateway cannot read under such a policy is refused (fail closed).
 * Response side (the `response` action): the text of each search result
 *   (data[].content[].text) — documents' own personal data — is redacted or
 *   blocks the answer (502 pii_blocked_response), as a model's answer would.
 * With allow on a side nothing is changed there (uploads are not even
 * read; search results are scanned so the audit record names their kinds).
 */
#include "gateway_internal.h"

#include "hearth/doc.h"
#include "hearth/pii.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_search(const char *method, const char *url) {
    size_t n = strlen(url);
    return !strcmp(method, "POST") && !strncmp(url, "/v1/vector_stores/", 18) && n > 25 &&
           !strcmp(url + n - 7, "/search");
}

/* ---- search queries ------------------------------------------------------------ */
static int search_request(gw_req *r, const char *body, size_t len, hearth_buf *fwd, char *msg, size_t cap,
                          const char **code) {
    cJSON *req = cJSON_ParseWithLength(body ? body : "", len);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return 0;   /* the replica says what is wrong with it */
    }
    cJSON *q = cJSON_GetObjectItemCaseSensitive(req, "query");
    cJSON *items = cJSON_IsArray(q) ? q->child : q, *it;
    bool oom = false;
    for (it = items; it && !oom; it = cJSON_IsArray(q) ? it->next : NULL) {
        if (!cJSON_IsString(it)) continue;
        char *t = gw_scrub_text(r->scrub, it->valuestring, r->pii->req_pol);
        if (!t || !cJSON_SetValuestring(it, t)) oom = true;
        free(t);
    }
    int status = 0;
    if (oom) {
        snprintf(msg, cap, "out of memory");
        *code = NULL;
        status = 500;
    } else if (r->pii->request == GW_PII_BLOCK && gw_scrub_found(r->scrub) > 0) {
        snprintf(msg, cap, "search refused: the query contains personal data (%s)", gw_scrub_kinds(r->scrub));
        *code = "pii_blocked";
        status = 400;
    } else if (gw_scrub_found(r->scrub) > 0) {
        char *s = cJSON_PrintUnformatted(req);
        if (s) hearth_buf_put(fwd, s, strlen(s));
        free(s);
    }
    cJSON_Delete(req);
    return status;
}

/* ---- uploads --------------------------------------------------------------------- */
/* the boundary of a multipart/form-data content type, into out (cap bytes) */
static bool boundary_of(const char *ctype, char *out, size_t cap) {
    if (!ctype || strncasecmp(ctype, "multipart/form-data", 19)) return false;
    const char *b = strcasestr(ctype, "boundary=");
    if (!b) return false;
    b += 9;
    size_t n = 0;
    if (*b == '"') {
        const char *e = strchr(++b, '"');
        if (!e) return false;
        n = (size_t)(e - b);
    } else {
        n = strcspn(b, "; \t");
    }
    if (!n || n + 1 > cap) return false;
    memcpy(out, b, n);
    out[n] = 0;
    return true;
}

/* the part whose Content-Disposition names name="file" */
bool gw_multipart_file(const char *ctype, const char *body, size_t len, gw_part *p) {
    char boundary[80];
    memset(p, 0, sizeof *p);
    if (!boundary_of(ctype, boundary, sizeof boundary)) return false;
    char delim[96], next[100];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary), nl = snprintf(next, sizeof next, "\r\n--%s", boundary);
    const char *end = body + len, *at = len ? memmem(body, len, delim, (size_t)dl) : NULL;
    while (at) {
        const char *h = at + dl;
        if (end - h < 2 || h[0] != '\r' || h[1] != '\n') return false;   /* "--" closes; anything else is broken */
        h += 2;
        const char *hend = memmem(h, (size_t)(end - h), "\r\n\r\n", 4);
        if (!hend) return false;
        const char *data = hend + 4;
        const char *stop = memmem(data, (size_t)(end - data), next, (size_t)nl);
        if (!stop) return false;
        p->head = h, p->head_len = (size_t)(hend - h), p->data = data, p->len = (size_t)(stop - data);
        /* name="file" in this part's headers */
        for (const char *s = h; s < hend; s++) {
            s = memmem(s, (size_t)(hend - s), "name=\"file\"", 11);
            if (!s) break;
            if (s == h || s[-1] == ' ' || s[-1] == ';') return true;
        }
        at = stop + 2;
    }
    return false;
}

/* filename="..." of a part, into out */
static void part_filename(const gw_part *p, char *out, size_t cap) {
    out[0] = 0;
    const char *f = memmem(p->head, p->head_len, "filename=\"", 10);
    if (!f) return;
    f += 10;
    const char *e = memchr(f, '"', p->head_len - (size_t)(f - p->head));
    if (!e) return;
    snprintf(out, cap, "%.*s", (int)(e - f), f);
}

static int upload_request(gw_req *r, const char *ctype, const char *body, size_t len, hearth_buf *fwd, char *msg,
                          size_t cap, const char **code) {
    char name[256];
    gw_part p;
    if (!gw_multipart_file(ctype, body, len, &p)) return 0;   /* not an upload the replica would take either: it says why */
    part_filename(&p, name, sizeof name);
    hearth_doc_kind kind = hearth_doc_kind_from_path(name);
    if (kind == HEARTH_DOC_UNKNOWN) kind = hearth_doc_kind_sniff(p.data, p.len);
    bool textual = kind != HEARTH_DOC_PDF && kind != HEARTH_DOC_DOCX && !memchr(p.data, 0, p.len);
    *code = "pii_blocked";
    if (textual) {   /* scanned and rewritten as it is */
        char *text = strndup(p.data, p.len);
        char *t = text ? gw_scrub_text(r->scrub, text, r->pii->req_pol) : NULL;
        free(text);
        if (!t) return snprintf(msg, cap, "out of memory"), *code = NULL, 500;
        int status = 0;
        if (r->pii->request == GW_PII_BLOCK && gw_scrub_found(r->scrub) > 0) {
            snprintf(msg, cap, "upload refused: %s contains personal data (%s)", name[0] ? name : "the file",
                     gw_scrub_kinds(r->scrub));
            status = 400;
        } else if (gw_scrub_found(r->scrub) > 0) {   /* the same body around the rewritten file */
            hearth_buf_put(fwd, body, (size_t)(p.data - body));
            hearth_buf_put(fwd, t, strlen(t));
            hearth_buf_put(fwd, p.data + p.len, (size_t)(body + len - (p.data + p.len)));
            if (fwd->oom) status = 500, snprintf(msg, cap, "out of memory"), *code = NULL;
        }
        free(t);
        return status;
    }
    /* PDF / DOCX: read, scan, refuse when personal data is found */
    hearth_doc d = {0};
    if (hearth_doc_parse(p.data, p.len, kind, name[0] ? name : "the file", NULL, &d) != HEARTH_OK) {
        snprintf(msg, cap, "upload refused: the PII policy (%s) needs the document's text, and it cannot be read: %s",
                 gw_pii_action_str(r->pii->request), hearth_last_error());
        *code = "pii_unreadable";
        return 400;
    }
    char *t = gw_scrub_text(r->scrub, d.text, r->pii->req_pol);
    bool scanned = t != NULL;
    hearth_doc_clear(&d);
    free(t);
    if (!scanned) return snprintf(msg, cap, "out of memory"), *code = NULL, 500;
    if (gw_scrub_found(r->scrub) == 0) return 0;
    if (r->pii->request == GW_PII_BLOCK)
        snprintf(msg, cap, "upload refused: %s contains personal data (%s)", name[0] ? name : "the document",
                 gw_scrub_kinds(r->scrub));
    else
        snprintf(msg, cap,
                 "upload refused: %s contains personal data (%s) and the policy is to %s it, which the gateway "
                 "cannot do inside a %s; upload its text (e.g. a .txt file) instead",
                 name[0] ? name : "the document", gw_scrub_kinds(r->scrub), gw_pii_action_str(r->pii->request),
                 kind == HEARTH_DOC_PDF ? "PDF" : "DOCX");
    return 400;
}

int gw_store_pii_request(gw_req *r, const char *method, const char *url, const char *ctype, const char *body,
                         size_t len, hearth_buf *fwd, char *msg, size_t cap, const char **code) {
    if (!r->pii || r->pii->request == GW_PII_ALLOW) return 0;
    if (is_search(method, url)) return search_request(r, body, len, fwd, msg, cap, code);
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/files")) return upload_request(r, ctype, body, len, fwd, msg, cap, code);
    return 0;
}

/* ---- search results ----------------------------------------------------------------- */
bool gw_store_pii_response(gw_req *r, const char *method, const char *url, hearth_buf *resp) {
    if (!r->pii || !is_search(method, url)) return true;
    bool restore = gw_scrub_found(r->scrub) > 0;   /* a masked query's placeholders */
    cJSON *j = cJSON_ParseWithLength(resp->data ? resp->data : "", resp->len);
    if (!j) return true;
    gw_scrub *docs = gw_scrub_new();
    if (!docs) {
        cJSON_Delete(j);
        return true;
    }
    cJSON *hit, *c;
    cJSON_ArrayForEach(hit, cJSON_GetObjectItemCaseSensitive(j, "data")) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(hit, "content")) {
            cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "text");
            if (!cJSON_IsString(t)) continue;
            /* under allow the policy only scans: the kinds go to the audit record */
            char *policed = gw_scrub_text(docs, t->valuestring, r->pii->resp_pol);
            char *restored = policed && restore ? gw_scrub_unmask(r->scrub, policed) : NULL;
            if (policed) cJSON_SetValuestring(t, restored ? restored : policed);
            free(restored);
            free(policed);
        }
    }
    gw_kinds_add(r->resp_kinds, sizeof r->resp_kinds, gw_scrub_kinds(docs));
    bool blocked = r->pii->response == GW_PII_BLOCK && gw_scrub_found(docs) > 0;
    if (blocked) snprintf(r->resp_blocked, sizeof r->resp_blocked, "%s", gw_scrub_kinds(docs));
    gw_scrub_free(docs);
    char *s = blocked ? NULL : cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (s) {
        hearth_buf_reset(resp);
        hearth_buf_put(resp, s, strlen(s));
        free(s);
    }
    return !blocked;
}
