/*
 * pull.c — hearth_registry_pull: an HTTP(S) download through libcurl into
 * DIR/partial/, resumed with a Range request, verified, then added to the
 * store (renamed in: no second copy). Hugging Face-style URLs are rewritten
 * to their "resolve" form first.
 */
#include "registry_internal.h"

#include "core/buf.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

hearth_registry_pull_params hearth_registry_default_pull_params(void) {
    hearth_registry_pull_params p;
    memset(&p, 0, sizeof p);
    p.add = hearth_registry_default_add_params();
    p.connect_timeout_s = 30;
    p.low_speed_time_s = 60;
    return p;
}

/* ==== Hugging Face URLs ===================================================== */

static const char *hf_endpoint(void) {
    const char *e = getenv("HF_ENDPOINT");
    return e && *e ? e : "https://huggingface.co";
}

/* Rejects path parts that could walk out of the repository ("..", empty). */
static bool hf_path_ok(const char *p) {
    if (!*p || *p == '/') return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 2 && s[0] == '.' && s[1] == '.') || (n == 1 && s[0] == '.')) return false;
        s += n + (e ? 1 : 0);
    }
    for (const char *s = p; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == '?' || *s == '#' || *s == '\\') return false;
    return true;
}

hearth_status hearth_registry_url_resolve(const char *url, char **out) {
    *out = NULL;
    if (!url || !*url) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "empty URL");
    hearth_buf b = {0};
    if (strncmp(url, "hf://", 5) == 0) {
        /* hf://OWNER/REPO[@REV]/PATH */
        const char *s = url + 5, *slash1 = strchr(s, '/');
        const char *slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
        if (!slash1 || !slash2 || !hf_path_ok(slash2 + 1))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s': expected hf://OWNER/REPO[@REVISION]/PATH/TO/FILE", url);
        const char *at = memchr(slash1, '@', (size_t)(slash2 - slash1));
        const char *repo_end = at ? at : slash2;
        char repo[256], rev[128] = "main";
        if ((size_t)(repo_end - s) >= sizeof repo || (at && (size_t)(slash2 - at - 1) >= sizeof rev) ||
            (at && slash2 == at + 1))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s': repository or revision too long or empty", url);
        memcpy(repo, s, (size_t)(repo_end - s));
        repo[repo_end - s] = 0;
        if (at) { memcpy(rev, at + 1, (size_t)(slash2 - at - 1)); rev[slash2 - at - 1] = 0; }
        if (!hf_path_ok(repo) || !hf_path_ok(rev))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s': bad repository or revision", url);
        hearth_buf_printf(&b, "%s/%s/resolve/%s/%s", hf_endpoint(), repo, rev, slash2 + 1);
    } else if (strncmp(url, "https://huggingface.co/", 23) == 0 && strstr(url, "/blob/")) {
        /* the page of a file -> its contents */
        const char *blob = strstr(url, "/blob/");
        hearth_buf_printf(&b, "%.*s/resolve/%s", (int)(blob - url), url, blob + 6);
    } else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        hearth_buf_puts(&b, url);
    } else {
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s': expected an http://, https:// or hf:// URL", url);
    }
    if (b.oom) { hearth_buf_free(&b); return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); }
    *out = hearth_buf_take(&b, NULL);
    return HEARTH_OK;
}

/* ==== download ============================================================== */

typedef struct dl {
    FILE *f;
    const char *path;
    int64_t have;         /* bytes in the partial file before this transfer */
    int64_t got;          /* bytes written in this transfer */
    int64_t total;        /* expected final size, -1 unknown */
    long status;          /* HTTP status of the final response */
    bool checked;         /* status looked at (first body byte) */
    bool restart;         /* server ignored Range: start the file over */
    int write_errno;
    const hearth_registry_pull_params *p;
    bool cancelled;
    double last_report;
    curl_off_t last_now;  /* dlnow at the last report */
    crypto_hash_sha256_state hash;   /* of the partial file's bytes so far */
} dl;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    dl *d = user;
    size_t n = size * nmemb;
    if (!d->checked) {
        d->checked = true;
        if (d->status == 200 && d->have > 0) {
            /* the server sent the whole file: start over */
            if (ftruncate(fileno(d->f), 0) != 0 || fseek(d->f, 0, SEEK_SET) != 0) { d->write_errno = errno; return 0; }
            d->restart = true;
            d->have = 0;
            crypto_hash_sha256_init(&d->hash);
        }
    }
    if (d->status >= 300) return n;   /* error body: read and dropped */
    if (fwrite(data, 1, n, d->f) != n) {
        d->write_errno = errno ? errno : EIO;
        return 0;
    }
    crypto_hash_sha256_update(&d->hash, (const unsigned char *)data, n);
    d->got += (int64_t)n;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user) {
    dl *d = user;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {   /* a new response (after a redirect) */
        const char *sp = memchr(data, ' ', n);
        d->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        d->total = -1;
    } else if (n > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        long long len = strtoll(data + 15, NULL, 10);
        if (d->status == 200) d->total = len;
        else if (d->status == 206 && d->total < 0) d->total = d->have + len;
    } else if (n > 14 && strncasecmp(data, "content-range:", 14) == 0) {
        /* bytes START-END/TOTAL */
        const char *slash = memchr(data, '/', n);
        if (slash && slash[1] != '*') d->total = strtoll(slash + 1, NULL, 10);
    }
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)ultotal, (void)ulnow;
    dl *d = user;
    if (!d->p->progress || d->status >= 300) return 0;
    /* every 0.1 s, and the first bytes and the end at once */
    double now = hearth_time_s();
    if (dlnow == d->last_now || (now - d->last_report < 0.1 && d->last_now > 0 &&
                                 (d->total < 0 || d->have + dlnow < d->total)))
        return 0;
    d->last_report = now;
    d->last_now = dlnow;
    if (!d->p->progress(d->p->progress_user, d->have + (int64_t)dlnow, d->total)) {
        d->cancelled = true;
        return 1;
    }
    return 0;
}

/* partial file name: the SHA-256 of the URL and the target reference */
static char *partial_path(hearth_registry *r, const char *url, const char *ref) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)url, strlen(url) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)ref, strlen(ref));
    crypto_hash_sha256_final(&st, h);
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    hearth_buf b = {0};
    hearth_buf_printf(&b, "%s/partial/%.32s.part", r->dir, hex);
    return b.oom ? (hearth_buf_free(&b), NULL) : hearth_buf_take(&b, NULL);
}

/* Hashes what a partial file already holds into st; its length into *have. */
static hearth_status hash_partial(const char *path, crypto_hash_sha256_state *st, int64_t *have) {
    crypto_hash_sha256_init(st);
    *have = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return HEARTH_OK;   /* nothing yet */
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    size_t got;
    while (buf && (got = fread(buf, 1, CHUNK, f)) > 0) {
        crypto_hash_sha256_update(st, buf, got);
        *have += (int64_t)got;
    }
    bool bad = !buf || ferror(f);
    free(buf);
    fclose(f);
    return bad ? hearth_set_error(HEARTH_ERR_IO, "reading %s failed", path) : HEARTH_OK;
}

/* Downloads url into path (appending to what is there); digest gets the
 * SHA-256 of the whole file. */
static hearth_status download(const char *url, const char *path, const hearth_registry_pull_params *p, int64_t *resumed,
                              char digest[HEARTH_DIGEST_LEN + 1]) {
    dl d = {.path = path, .total = -1, .p = p, .last_report = -1};
    int64_t have = 0;
    hearth_status hs = hash_partial(path, &d.hash, &have);
    if (hs) return hs;
    d.have = have;
    FILE *f = fopen(path, "ab");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    d.f = f;
    CURL *c = curl_easy_init();
    if (!c) { fclose(f); return hearth_set_error(HEARTH_ERR_INTERNAL, "libcurl failed to start"); }
    char err[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    const char *token = p->bearer_token;
    if (!token && (strncmp(url, hf_endpoint(), strlen(hf_endpoint())) == 0 ||
                   strncmp(url, "https://huggingface.co/", 23) == 0))
        token = getenv("HF_TOKEN");
    char auth[1024];
    if (token && *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    char range[64];
    if (have > 0) {
        snprintf(range, sizeof range, "%lld-", (long long)have);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hearth/" HEARTH_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &d);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, p->connect_timeout_s > 0 ? p->connect_timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, p->low_speed_time_s > 0 ? p->low_speed_time_s : 60L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    bool synced = fflush(f) == 0 && fsync(fileno(f)) == 0;   /* on disk before it is renamed in */
    bool closed = fclose(f) == 0 && synced;
    if (resumed) *resumed = d.restart ? 0 : have;

    int64_t now = d.have + d.got;
    if (d.cancelled) return hearth_set_error(HEARTH_ERR_CANCELLED, "pull cancelled after %lld bytes; run again to resume",
                                             (long long)now);
    if (d.write_errno)
        return hearth_set_error(HEARTH_ERR_IO, "writing %s failed after %lld bytes: %s; nothing registered", path,
                                (long long)now, strerror(d.write_errno));
    if (status == 416 && have > 0) {
        /* the partial file is as long as (or longer than) the file: start over next time */
        unlink(path);
        return hearth_set_error(HEARTH_ERR_IO, "%s: the server refused to resume at byte %lld (HTTP 416); the partial "
                                "file was deleted, run again", url, (long long)have);
    }
    if (status >= 300 || (rc == CURLE_OK && status != 200 && status != 206 && status != 0)) {
        if (d.restart || have == 0) unlink(path);
        return hearth_set_error(HEARTH_ERR_IO, "%s: HTTP %ld%s; nothing registered", url, status,
                                status == 401 || status == 403 ? " (a private repository? set HF_TOKEN)" : "");
    }
    if (rc != CURLE_OK && now == 0) {
        unlink(path);
        return hearth_set_error(HEARTH_ERR_IO, "cannot download %s: %s; nothing registered", url,
                                err[0] ? err : curl_easy_strerror(rc));
    }
    if (rc != CURLE_OK)
        return hearth_set_error(HEARTH_ERR_IO, "%s: transfer cut after %lld of %s bytes (%s); the partial file is kept: "
                                "run the same pull again to resume; nothing registered",
                                url, (long long)now, d.total >= 0 ? "the expected" : "unknown",
                                err[0] ? err : curl_easy_strerror(rc));
    if (!closed) return hearth_set_error(HEARTH_ERR_IO, "writing %s failed: %s", path, strerror(errno));
    if (d.total >= 0 && now != d.total)
        return hearth_set_error(HEARTH_ERR_IO, "%s: got %lld bytes, the server announced %lld; run again to resume",
                                url, (long long)now, (long long)d.total);
    if (p->progress) p->progress(p->progress_user, now, now);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&d.hash, h);
    reg_digest_hex(h, digest);
    return HEARTH_OK;
}

hearth_status hearth_registry_pull(hearth_registry *r, const char *url, const char *ref,
                                   const hearth_registry_pull_params *p, hearth_registry_entry *out,
                                   int64_t *resumed_from) {
    hearth_registry_pull_params def = hearth_registry_default_pull_params();
    if (!p) p = &def;
    if (out) memset(out, 0, sizeof *out);
    if (resumed_from) *resumed_from = 0;
    char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1], want[HEARTH_DIGEST_LEN + 1];
    bool is_alias = false;
    hearth_status s = hearth_registry_parse_ref(ref, name, tag, &is_alias);
    if (s) return s;
    if (is_alias) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pull into a version NAME:TAG, not an alias ('%s')", ref);
    if (p->add.expected_digest && !reg_digest_norm(p->add.expected_digest, want))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "--sha256 '%s' is not a SHA-256 digest (64 hex digits)",
                                p->add.expected_digest);
    hearth_registry_entry probe;
    if (hearth_registry_resolve(r, ref, &probe) == HEARTH_OK) {
        hearth_registry_entry_clear(&probe);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s already exists (versions are immutable: use a new tag)", ref);
    }
    char *full = NULL;
    if ((s = hearth_registry_url_resolve(url, &full))) return s;
    char *part = partial_path(r, full, ref);
    if (!part) { free(full); return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char digest[HEARTH_DIGEST_LEN + 1];
    s = download(full, part, p, resumed_from, digest);
    if (!s) {
        hearth_registry_add_params ap = p->add;
        ap.move = true;
        ap.source = full;
        s = reg_add(r, part, ref, &ap, digest, out);
        if (s == HEARTH_ERR_FORMAT) {   /* a wrong digest: this download is no good, do not resume it */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", hearth_last_error());
            unlink(part);
            s = hearth_set_error(s, "%s (from %s; the download was deleted)", msg, full);
        }
    }
    free(part);
    free(full);
    return s;
}
