/*
 * vector_stores.c — OpenAI's files and vector stores API on hearth's
 * knowledge collections (include/hearth/rag.h), and grounded chat:
 *
 *   POST   /v1/files                              upload (multipart/form-data: file, purpose)
 *   GET    /v1/files, /v1/files/{id}[/content]    list, retrieve, download
 *   DELETE /v1/files/{id}
 *   POST   /v1/vector_stores                      create {name, file_ids, metadata, chunking_strategy}
 *   GET    /v1/vector_stores[/{vs}]               list, retrieve
 *   POST   /v1/vector_stores/{vs}                 modify {name, metadata}
 *   DELETE /v1/vector_stores/{vs}
 *   POST   /v1/vector_stores/{vs}/files           add a file {file_id, attributes, chunking_strategy}
 *   GET    /v1/vector_stores/{vs}/files[/{id}]    list, retrieve
 *   DELETE /v1/vector_stores/{vs}/files/{id}
 *   POST   /v1/vector_stores/{vs}/file_batches    add files {file_ids}; GET .../file_batches/{id}
 *   POST   /v1/vector_stores/{vs}/search          {query, max_num_results, filters, ranking_options}
 *
 * A vector store is the collection "vs_<hex>" in the server's store folder
 * (--rag-db DIR); uploaded files live in DIR/files/ (the bytes and a JSON
 * description). Files are parsed and ingested when added (synchronously:
 * status "completed", or "failed" with last_error naming what was wrong).
 * Search scores are reciprocal-rank fusion scores scaled so that a chunk
 * first in every list scores 1.
 *
 * Grounded chat: a /v1/chat/completions request with a tool
 * {"type": "file_search", "vector_store_ids": [...], "max_num_results": n}
 * retrieves for its last user message; the passages go into the prompt as
 * numbered context (hearth_rag_prompt), the tool is removed, and the
 * response carries "sources": [{"index": 1, "file_id", "filename", "score",
 * "chunk", "page"?, "char_start", "char_end", "text", "cited"}].
 *
 * Threads: each request opens its own collection handle; the embedding
 * model (--rag-embed) is shared under vs_state.mu.
 */
#include "server_internal.h"

#include "hearth/rag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct vs_state {
    char *dir;                  /* the store folder */
    char files_dir[4096];       /* dir/files */
    hearth_model *emb_model;    /* --rag-embed, or NULL (BM25 only) */
    hearth_embedder *emb;
    char *emb_path;
    pthread_mutex_t mu;         /* the embedder; ingestion */
};

/* ==== state =========================================================================== */
hearth_status vs_create(const char *dir, const char *embed_model, int n_threads, vs_state **out) {
    *out = NULL;
    vs_state *v = calloc(1, sizeof *v);
    if (!v || !(v->dir = strdup(dir))) {
        free(v);
        return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    }
    pthread_mutex_init(&v->mu, NULL);
    snprintf(v->files_dir, sizeof v->files_dir, "%s/files", dir);
    mkdir(dir, 0755);
    if (mkdir(v->files_dir, 0755) != 0 && errno != EEXIST) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "serve: --rag-db %s: cannot create %s: %s", dir,
                                            v->files_dir, strerror(errno));
        vs_free(v);
        return st;
    }
    if (embed_model) {
        hearth_embed_params ep = hearth_embed_default_params();
        ep.n_threads = n_threads;
        hearth_status st = hearth_model_load(embed_model, NULL, &v->emb_model);
        if (!st) st = hearth_embedder_create(v->emb_model, &ep, &v->emb);
        if (st) {
            vs_free(v);
            return st;
        }
        char abs[4096];
        v->emb_path = strdup(realpath(embed_model, abs) ? abs : embed_model);
    }
    *out = v;
    return HEARTH_OK;
}

void vs_free(vs_state *v) {
    if (!v) return;
    hearth_embedder_free(v->emb);
    hearth_model_free(v->emb_model);
    free(v->emb_path);
    free(v->dir);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

/* ==== replies ============================================================================ */
typedef struct vs_out {
    int status;
    char *body;
    size_t len;          /* bytes of body when ctype is set */
    const char *ctype;   /* NULL: JSON */
} vs_out;

static int err(vs_out *o, int status, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int err(vs_out *o, int status, const char *param, const char *code, const char *fmt, ...) {
    api_error e = {.status = status, .code = code};
    e.type = status == 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error";
    snprintf(e.param, sizeof e.param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    o->status = status;
    o->body = api_error_body(&e);
    return status;
}

static int ok_json(vs_out *o, cJSON *j) {
    o->status = 200;
    o->body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return 200;
}

static void rand_hex(char *out, int n) {
    unsigned char b[32];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)(rand() ^ (int)time(NULL) >> (i % 8));
    }
    for (int i = 0; i < n; i++) out[i] = "0123456789abcdef"[(b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[n] = 0;
}

static bool id_ok(const char *id, const char *prefix) {
    size_t pl = strlen(prefix), n = strlen(id);
    if (n <= pl || n > 64 || strncmp(id, prefix, pl)) return false;
    for (size_t i = pl; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return false;
    return true;
}

/* ==== files ================================================================================= */
static void file_path(const vs_state *v, const char *id, const char *ext, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s%s", v->files_dir, id, ext);
}

/* the file's description (owned cJSON) or NULL */
static cJSON *file_meta(const vs_state *v, const char *id) {
    if (!id_ok(id, "file-")) return NULL;
    char p[4200];
    file_path(v, id, ".json", p, sizeof p);
    char *s;
    size_t n;
    if (hearth_read_file(p, &s, &n) != HEARTH_OK) return NULL;
    cJSON *j = cJSON_ParseWithLength(s, n);
    free(s);
    return j;
}

static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* multipart/form-data: the "file" part (data, filename) and the "purpose" field */
static bool multipart(const char *ctype, const char *body, size_t len, const char **data, size_t *n, char *filename,
                      size_t fcap, char *purpose, size_t pcap) {
    const char *b = ctype ? strstr(ctype, "boundary=") : NULL;
    if (!b) return false;
    b += 9;
    char bound[200];
    size_t bl = 0;
    bool quoted = *b == '"';
    if (quoted) b++;
    bound[0] = '-', bound[1] = '-';
    bl = 2;
    while (*b && bl < sizeof bound - 1 && (quoted ? *b != '"' : (*b != ';' && *b != ' '))) bound[bl++] = *b++;
    bound[bl] = 0;
    if (bl <= 2) return false;
    *data = NULL;
    filename[0] = purpose[0] = 0;
    const char *p = body, *end = body + len;
    for (;;) {
        const char *s = memmem(p, (size_t)(end - p), bound, bl);
        if (!s) break;
        s += bl;
        if (end - s >= 2 && s[0] == '-' && s[1] == '-') break;   /* the closing boundary */
        if (end - s >= 2 && s[0] == '\r' && s[1] == '\n') s += 2;
        const char *hend = memmem(s, (size_t)(end - s), "\r\n\r\n", 4);
        if (!hend) break;
        const char *content = hend + 4;
        const char *next = memmem(content, (size_t)(end - content), bound, bl);
        if (!next) break;
        size_t clen = (size_t)(next - content);
        if (clen >= 2 && content[clen - 2] == '\r' && content[clen - 1] == '\n') clen -= 2;
        /* the part's headers */
        char hdr[2048];
        size_t hl = (size_t)(hend - s) < sizeof hdr - 1 ? (size_t)(hend - s) : sizeof hdr - 1;
        memcpy(hdr, s, hl);
        hdr[hl] = 0;
        /* name="..." (not the tail of filename="...") */
        const char *nm = NULL;
        for (const char *x = hdr; (x = strcasestr(x, "name=\"")); x += 6)
            if (x > hdr && (x[-1] == ' ' || x[-1] == ';' || x[-1] == '\t')) {
                nm = x;
                break;
            }
        const char *fn = strcasestr(hdr, "filename=\"");
        if (nm) {
            nm += 6;
            if (!strncmp(nm, "file\"", 5)) {
                *data = content;
                *n = clen;
                if (fn) {
                    fn += 10;
                    size_t k = 0;
                    while (fn[k] && fn[k] != '"' && k < fcap - 1) k++;
                    snprintf(filename, fcap, "%.*s", (int)k, fn);
                }
            } else if (!strncmp(nm, "purpose\"", 8)) {
                snprintf(purpose, pcap, "%.*s", (int)(clen < pcap - 1 ? clen : pcap - 1), content);
            }
        }
        p = next;
    }
    return *data != NULL;
}

static int files_upload(vs_state *v, const char *ctype, const char *body, size_t len, vs_out *o) {
    const char *data;
    size_t n = 0;
    char filename[256], purpose[64];
    if (!multipart(ctype, body, len, &data, &n, filename, sizeof filename, purpose, sizeof purpose))
        return err(o, 400, "file", "invalid_request",
                   "upload a file as multipart/form-data with a 'file' part (and 'purpose')");
    for (char *c = filename; *c; c++)
        if (*c == '/' || *c == '\\' || (unsigned char)*c < 0x20) *c = '_';
    if (!filename[0]) snprintf(filename, sizeof filename, "upload");
    char id[40] = "file-";
    rand_hex(id + 5, 24);
    char p[4200];
    file_path(v, id, ".bin", p, sizeof p);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fflush(f) || fsync(fileno(f))) {
        if (f) fclose(f);
        unlink(p);
        return err(o, 500, NULL, NULL, "cannot store the file: %s", strerror(errno));
    }
    fclose(f);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", id);
    cJSON_AddStringToObject(j, "object", "file");
    cJSON_AddNumberToObject(j, "bytes", (double)n);
    cJSON_AddNumberToObject(j, "created_at", (double)time(NULL));
    cJSON_AddStringToObject(j, "filename", filename);
    cJSON_AddStringToObject(j, "purpose", purpose[0] ? purpose : "assistants");
    cJSON_AddStringToObject(j, "status", "processed");
    char *s = cJSON_PrintUnformatted(j);
    file_path(v, id, ".json", p, sizeof p);
    f = fopen(p, "wb");
    bool okw = f && s && fputs(s, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f) fclose(f);
    free(s);
    if (!okw) {
        cJSON_Delete(j);
        return err(o, 500, NULL, NULL, "cannot store the file's description");
    }
    return ok_json(o, j);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int files_list(vs_state *v, vs_out *o) {
    cJSON *j = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(j, "data");
    cJSON_AddStringToObject(j, "object", "list");
    DIR *d = opendir(v->files_dir);
    char **ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json") && HEARTH_GROW(ids, cap, n + 1) &&
            (ids[n] = strndup(e->d_name, l - 5)))
            n++;
    }
    if (d) closedir(d);
    if (n) qsort(ids, n, sizeof *ids, cmp_str);
    for (size_t i = 0; i < n; i++) {
        cJSON *m = file_meta(v, ids[i]);
        if (m) cJSON_AddItemToArray(data, m);
        free(ids[i]);
    }
    free(ids);
    cJSON_AddBoolToObject(j, "has_more", false);
    return ok_json(o, j);
}

/* ==== vector stores ============================================================================ */
static int open_vs(vs_state *v, const char *id, bool create, hearth_rag **r, vs_out *o) {
    if (!id_ok(id, "vs_"))
        return err(o, 404, NULL, "not_found", "No vector store found with id '%.80s'", id);
    if (hearth_rag_open(v->dir, id, create, r) != HEARTH_OK) {
        if (!create) return err(o, 404, NULL, "not_found", "No vector store found with id '%s'", id);
        return err(o, 500, NULL, NULL, "%s", hearth_last_error());
    }
    return 0;
}

/* meta of a store: {"name", "metadata", "created_at", "batches": {...}} */
static cJSON *store_meta(hearth_rag *r) {
    hearth_rag_info info;
    hearth_rag_get_info(r, &info);
    cJSON *m = info.metadata ? cJSON_Parse(info.metadata) : NULL;
    if (!m) m = cJSON_CreateObject();
    if (!cJSON_GetObjectItem(m, "created_at")) cJSON_AddNumberToObject(m, "created_at", (double)(long)info.created);
    hearth_rag_info_clear(&info);
    return m;
}

static void save_meta(hearth_rag *r, cJSON *m) {
    char *s = cJSON_PrintUnformatted(m);
    if (s) hearth_rag_set_metadata(r, s);
    free(s);
}

static cJSON *failures(cJSON *meta) {
    cJSON *f = cJSON_GetObjectItem(meta, "failed");
    if (!cJSON_IsObject(f)) {
        cJSON_DeleteItemFromObject(meta, "failed");
        f = cJSON_AddObjectToObject(meta, "failed");
    }
    return f;
}

static cJSON *store_object(hearth_rag *r, const char *id) {
    cJSON *m = store_meta(r);
    hearth_rag_info info;
    hearth_rag_get_info(r, &info);
    hearth_rag_info_clear(&info);
    int n_failed = cJSON_GetArraySize(failures(m));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", id);
    cJSON_AddStringToObject(j, "object", "vector_store");
    const cJSON *ca = cJSON_GetObjectItem(m, "created_at");
    cJSON_AddNumberToObject(j, "created_at", cJSON_IsNumber(ca) ? ca->valuedouble : 0);
    const char *name = jstr(m, "name");
    if (name) cJSON_AddStringToObject(j, "name", name);
    else cJSON_AddNullToObject(j, "name");
    cJSON_AddNumberToObject(j, "usage_bytes", (double)info.text_bytes);
    cJSON *fc = cJSON_AddObjectToObject(j, "file_counts");
    cJSON_AddNumberToObject(fc, "in_progress", 0);
    cJSON_AddNumberToObject(fc, "completed", (double)info.n_docs);
    cJSON_AddNumberToObject(fc, "failed", n_failed);
    cJSON_AddNumberToObject(fc, "cancelled", 0);
    cJSON_AddNumberToObject(fc, "total", (double)info.n_docs + n_failed);
    cJSON_AddStringToObject(j, "status", "completed");
    cJSON_AddNullToObject(j, "expires_after");
    cJSON_AddNullToObject(j, "expires_at");
    cJSON_AddNumberToObject(j, "last_active_at", (double)time(NULL));
    cJSON *md = cJSON_GetObjectItem(m, "metadata");
    cJSON_AddItemToObject(j, "metadata", cJSON_IsObject(md) ? cJSON_Duplicate(md, true) : cJSON_CreateObject());
    cJSON_Delete(m);
    return j;
}

static cJSON *vs_file_object(const char *vs, const char *fid, const char *status, const cJSON *last_error,
                             double created, int64_t usage, const char *attributes, int chunk, int overlap) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", fid);
    cJSON_AddStringToObject(j, "object", "vector_store.file");
    cJSON_AddNumberToObject(j, "usage_bytes", (double)usage);
    cJSON_AddNumberToObject(j, "created_at", created);
    cJSON_AddStringToObject(j, "vector_store_id", vs);
    cJSON_AddStringToObject(j, "status", status);
    cJSON_AddItemToObject(j, "last_error", last_error ? cJSON_Duplicate(last_error, true) : cJSON_CreateNull());
    cJSON *a = attributes ? cJSON_Parse(attributes) : NULL;
    cJSON_AddItemToObject(j, "attributes", a ? a : cJSON_CreateObject());
    cJSON *cs = cJSON_AddObjectToObject(j, "chunking_strategy");
    cJSON_AddStringToObject(cs, "type", "static");
    cJSON *st = cJSON_AddObjectToObject(cs, "static");
    cJSON_AddNumberToObject(st, "max_chunk_size_tokens", chunk);
    cJSON_AddNumberToObject(st, "chunk_overlap_tokens", overlap);
    return j;
}

/* chunking_strategy of a request -> tokens and overlap; false with o filled when invalid */
static bool chunking(const cJSON *req, int *chunk, int *overlap, vs_out *o) {
    *chunk = 200, *overlap = 40;
    const cJSON *cs = cJSON_GetObjectItem(req, "chunking_strategy");
    if (!cs || cJSON_IsNull(cs)) return true;
    const char *t = jstr(cs, "type");
    if (t && !strcmp(t, "auto")) return true;
    const cJSON *st = cJSON_GetObjectItem(cs, "static");
    const cJSON *mx = st ? cJSON_GetObjectItem(st, "max_chunk_size_tokens") : NULL;
    const cJSON *ov = st ? cJSON_GetObjectItem(st, "chunk_overlap_tokens") : NULL;
    if (!t || strcmp(t, "static") || !cJSON_IsNumber(mx) || !cJSON_IsNumber(ov) || mx->valuedouble < 100 ||
        mx->valuedouble > 4096 || ov->valuedouble < 0 || ov->valuedouble > mx->valuedouble / 2) {
        err(o, 400, "chunking_strategy", "invalid_value",
            "'chunking_strategy' must be {\"type\":\"auto\"} or {\"type\":\"static\",\"static\":"
            "{\"max_chunk_size_tokens\": 100..4096, \"chunk_overlap_tokens\": 0..half of it}}");
        return false;
    }
    *chunk = (int)mx->valuedouble, *overlap = (int)ov->valuedouble;
    return true;
}

/* parses and ingests one uploaded file into r; the vector_store.file object (failed or completed) */
static cJSON *add_file(vs_state *v, hearth_rag *r, const char *vs, const char *fid, const cJSON *attributes,
                       int chunk, int overlap, bool *failed) {
    *failed = true;
    char code[32] = "invalid_file", msg[700] = "";
    cJSON *meta = file_meta(v, fid);
    char *attr = attributes && cJSON_IsObject(attributes) ? cJSON_PrintUnformatted(attributes) : NULL;
    int64_t usage = 0;
    if (!meta) {
        snprintf(code, sizeof code, "file_not_found");
        snprintf(msg, sizeof msg, "No file found with id '%.80s'", fid);
    } else {
        const char *fname = jstr(meta, "filename");
        char p[4200];
        file_path(v, fid, ".bin", p, sizeof p);
        char *data = NULL;
        size_t n = 0;
        if (hearth_read_file(p, &data, &n) != HEARTH_OK) {
            snprintf(msg, sizeof msg, "%s: the file's bytes cannot be read", fname ? fname : fid);
        } else {
            hearth_doc_kind k = hearth_doc_kind_from_path(fname ? fname : "");
            hearth_doc d;
            hearth_status st = hearth_doc_parse(data, n, k, fname ? fname : fid, NULL, &d);
            if (st == HEARTH_ERR_UNSUPPORTED) snprintf(code, sizeof code, "unsupported_file");
            if (st) {
                snprintf(msg, sizeof msg, "%s", hearth_last_error());
            } else {
                hearth_rag_ingest_params ip = hearth_rag_ingest_default_params();
                ip.chunk_tokens = chunk;
                ip.overlap_tokens = overlap;
                ip.attributes = attr;
                pthread_mutex_lock(&v->mu);
                ip.embedder = v->emb;
                ip.embed_model = v->emb_path;
                hearth_rag_event ev;
                st = hearth_rag_ingest_doc(r, fid, &d, NULL, (int64_t)n, &ip, &ev, NULL);
                pthread_mutex_unlock(&v->mu);
                if (st) {
                    snprintf(code, sizeof code, "server_error");
                    snprintf(msg, sizeof msg, "%s", hearth_last_error());
                } else {
                    *failed = false;
                    usage = (int64_t)d.len;
                }
                hearth_doc_clear(&d);
            }
            free(data);
        }
    }
    cJSON_Delete(meta);
    /* record or clear the failure in the store's meta */
    cJSON *m = store_meta(r), *f = failures(m);
    cJSON_DeleteItemFromObject(f, fid);
    cJSON *le = NULL;
    if (*failed) {
        le = cJSON_CreateObject();
        cJSON_AddStringToObject(le, "code", code);
        cJSON_AddStringToObject(le, "message", msg);
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddItemToObject(rec, "last_error", cJSON_Duplicate(le, true));
        cJSON_AddNumberToObject(rec, "created_at", (double)time(NULL));
        if (id_ok(fid, "file-")) cJSON_AddItemToObject(f, fid, rec);
        else cJSON_Delete(rec);
    }
    save_meta(r, m);
    cJSON_Delete(m);
    cJSON *j = vs_file_object(vs, fid, *failed ? "failed" : "completed", le, (double)time(NULL), usage, attr, chunk,
                              overlap);
    cJSON_Delete(le);
    free(attr);
    return j;
}

static int vs_create_store(vs_state *v, const cJSON *req, vs_out *o) {
    int chunk, overlap;
    if (!chunking(req, &chunk, &overlap, o)) return o->status;
    const cJSON *name = cJSON_GetObjectItem(req, "name"), *md = cJSON_GetObjectItem(req, "metadata");
    const cJSON *fids = cJSON_GetObjectItem(req, "file_ids");
    if (name && !cJSON_IsNull(name) && !cJSON_IsString(name))
        return err(o, 400, "name", "invalid_type", "'name' must be a string");
    if (md && !cJSON_IsNull(md) && !cJSON_IsObject(md))
        return err(o, 400, "metadata", "invalid_type", "'metadata' must be an object");
    if (fids && !cJSON_IsArray(fids)) return err(o, 400, "file_ids", "invalid_type", "'file_ids' must be an array");
    char id[40] = "vs_";
    rand_hex(id + 3, 24);
    hearth_rag *r;
    if (open_vs(v, id, true, &r, o)) return o->status;
    cJSON *m = store_meta(r);
    if (cJSON_IsString(name)) cJSON_AddStringToObject(m, "name", name->valuestring);
    if (cJSON_IsObject(md)) cJSON_AddItemToObject(m, "metadata", cJSON_Duplicate(md, true));
    save_meta(r, m);
    cJSON_Delete(m);
    const cJSON *f;
    cJSON_ArrayForEach(f, fids) {
        bool failed;
        if (cJSON_IsString(f)) cJSON_Delete(add_file(v, r, id, f->valuestring, NULL, chunk, overlap, &failed));
    }
    cJSON *j = store_object(r, id);
    hearth_rag_close(r);
    return ok_json(o, j);
}

static int vs_list(vs_state *v, vs_out *o) {
    char **names;
    size_t n;
    cJSON *j = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(j, "data");
    cJSON_AddStringToObject(j, "object", "list");
    if (hearth_rag_list(v->dir, &names, &n) == HEARTH_OK) {
        for (size_t i = 0; i < n; i++) {
            hearth_rag *r;
            if (!id_ok(names[i], "vs_") || hearth_rag_open(v->dir, names[i], false, &r)) continue;
            cJSON_AddItemToArray(data, store_object(r, names[i]));
            hearth_rag_close(r);
        }
        hearth_rag_names_free(names, n);
    }
    int k = cJSON_GetArraySize(data);
    if (k) {
        cJSON_AddStringToObject(j, "first_id", cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "id")->valuestring);
        cJSON_AddStringToObject(j, "last_id", cJSON_GetObjectItem(cJSON_GetArrayItem(data, k - 1), "id")->valuestring);
    }
    cJSON_AddBoolToObject(j, "has_more", false);
    return ok_json(o, j);
}

/* the documents (and failures) of a store as vector_store.file objects */
static cJSON *vs_files(hearth_rag *r, const char *vs) {
    cJSON *arr = cJSON_CreateArray();
    hearth_rag_doc_info *d;
    size_t n;
    if (hearth_rag_docs(r, &d, &n) == HEARTH_OK) {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, vs_file_object(vs, d[i].source, "completed", NULL, d[i].ingested,
                                                     d[i].text_bytes, d[i].attributes, 200, 40));
        hearth_rag_docs_free(d, n);
    }
    cJSON *m = store_meta(r), *f = failures(m), *x;
    cJSON_ArrayForEach(x, f) {
        const cJSON *ca = cJSON_GetObjectItem(x, "created_at");
        cJSON_AddItemToArray(arr, vs_file_object(vs, x->string, "failed", cJSON_GetObjectItem(x, "last_error"),
                                                 cJSON_IsNumber(ca) ? ca->valuedouble : 0, 0, NULL, 200, 40));
    }
    cJSON_Delete(m);
    return arr;
}

/* ==== search ====================================================================================== */
/* RRF score of a hit scaled to 1 for a chunk first in every list used */
static double unit_score(const hearth_rag_hit *h, bool dense) {
    double s = (h->bm25_rank ? 1.0 / (60 + h->bm25_rank) : 0) + (h->dense_rank ? 1.0 / (60 + h->dense_rank) : 0);
    return s / ((dense ? 2.0 : 1.0) / 61.0);
}

static char *filename_of(vs_state *v, const char *fid) {
    cJSON *m = file_meta(v, fid);
    const char *fn = m ? jstr(m, "filename") : NULL;
    char *s = strdup(fn ? fn : fid);
    cJSON_Delete(m);
    return s;
}

/* searches r for query; hits appended to *arr as (hit, unit score) pairs */
typedef struct scored { hearth_rag_hit h; double score; } scored;

static int search_store(vs_state *v, hearth_rag *r, const char *query, int k, const char *filter, scored **arr,
                        size_t *n, size_t *cap, vs_out *o) {
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.k = k;
    sp.filter = filter;
    pthread_mutex_lock(&v->mu);
    sp.embedder = v->emb;
    hearth_rag_results res;
    hearth_status st = hearth_rag_search(r, query, &sp, &res);
    pthread_mutex_unlock(&v->mu);
    if (st) {
        if (st == HEARTH_ERR_INVALID_ARG) return err(o, 400, filter ? "filters" : "query", "invalid_value", "%s",
                                                     hearth_last_error());
        return err(o, 500, NULL, NULL, "%s", hearth_last_error());
    }
    for (size_t i = 0; i < res.n; i++) {
        if (!HEARTH_GROW(*arr, *cap, *n + 1)) break;
        (*arr)[*n].h = res.hits[i];
        (*arr)[*n].score = unit_score(&res.hits[i], res.mode == HEARTH_RAG_HYBRID);
        memset(&res.hits[i], 0, sizeof res.hits[i]);
        (*n)++;
    }
    hearth_rag_results_clear(&res);
    return 0;
}

static int by_score(const void *a, const void *b) {
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void free_hit_strings(scored *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(s[i].h.source), free(s[i].h.text), free(s[i].h.heading), free(s[i].h.attributes);
    }
}

static void free_scored(scored *s, size_t n) {
    free_hit_strings(s, n);
    free(s);
}

static int vs_search(vs_state *v, const char *vs, const cJSON *req, vs_out *o) {
    const cJSON *q = cJSON_GetObjectItem(req, "query");
    hearth_buf qb = {0};
    if (cJSON_IsString(q)) hearth_buf_puts(&qb, q->valuestring);
    else if (cJSON_IsArray(q)) {
        const cJSON *x;
        cJSON_ArrayForEach(x, q) if (cJSON_IsString(x)) {
            if (qb.len) hearth_buf_putc(&qb, ' ');
            hearth_buf_puts(&qb, x->valuestring);
        }
    }
    if (!qb.len) {
        hearth_buf_free(&qb);
        return err(o, 400, "query", "invalid_value", "'query' must be a non-empty string or array of strings");
    }
    double k = 10;
    const cJSON *mx = cJSON_GetObjectItem(req, "max_num_results");
    if (mx && !cJSON_IsNull(mx)) {
        if (!cJSON_IsNumber(mx) || mx->valuedouble < 1 || mx->valuedouble > 50) {
            hearth_buf_free(&qb);
            return err(o, 400, "max_num_results", "invalid_value", "'max_num_results' must be 1 .. 50");
        }
        k = mx->valuedouble;
    }
    double threshold = 0;
    const cJSON *ro = cJSON_GetObjectItem(req, "ranking_options");
    const cJSON *th = ro ? cJSON_GetObjectItem(ro, "score_threshold") : NULL;
    if (th && !cJSON_IsNull(th)) {
        if (!cJSON_IsNumber(th) || th->valuedouble < 0 || th->valuedouble > 1) {
            hearth_buf_free(&qb);
            return err(o, 400, "ranking_options.score_threshold", "invalid_value",
                       "'ranking_options.score_threshold' must be 0 .. 1");
        }
        threshold = th->valuedouble;
    }
    const cJSON *fl = cJSON_GetObjectItem(req, "filters");
    char *filter = fl && !cJSON_IsNull(fl) ? cJSON_PrintUnformatted(fl) : NULL;
    hearth_rag *r;
    if (open_vs(v, vs, false, &r, o)) {
        free(filter);
        hearth_buf_free(&qb);
        return o->status;
    }
    scored *arr = NULL;
    size_t n = 0, cap = 0;
    int rc = search_store(v, r, qb.data, (int)k, filter, &arr, &n, &cap, o);
    hearth_rag_close(r);
    free(filter);
    if (rc) {
        free_scored(arr, n);
        hearth_buf_free(&qb);
        return rc;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "object", "vector_store.search_results.page");
    cJSON *sq = cJSON_AddArrayToObject(j, "search_query");
    cJSON_AddItemToArray(sq, cJSON_CreateString(qb.data));
    cJSON *data = cJSON_AddArrayToObject(j, "data");
    for (size_t i = 0; i < n; i++) {
        if (arr[i].score < threshold) continue;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "file_id", arr[i].h.source);
        char *fn = filename_of(v, arr[i].h.source);
        cJSON_AddStringToObject(x, "filename", fn ? fn : "");
        free(fn);
        cJSON_AddNumberToObject(x, "score", arr[i].score);
        cJSON *a = arr[i].h.attributes ? cJSON_Parse(arr[i].h.attributes) : NULL;
        cJSON_AddItemToObject(x, "attributes", a ? a : cJSON_CreateObject());
        cJSON *content = cJSON_AddArrayToObject(x, "content"), *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "text");
        cJSON_AddStringToObject(c, "text", arr[i].h.text);
        cJSON_AddItemToArray(content, c);
        /* hearth's own: where the chunk is */
        cJSON_AddNumberToObject(x, "chunk", (double)arr[i].h.chunk);
        if (arr[i].h.page > 0) cJSON_AddNumberToObject(x, "page", arr[i].h.page);
        cJSON_AddNumberToObject(x, "char_start", (double)arr[i].h.char_start);
        cJSON_AddNumberToObject(x, "char_end", (double)arr[i].h.char_end);
        cJSON_AddItemToArray(data, x);
    }
    cJSON_AddBoolToObject(j, "has_more", false);
    cJSON_AddNullToObject(j, "next_page");
    free_scored(arr, n);
    hearth_buf_free(&qb);
    return ok_json(o, j);
}

static bool file_meta_exists_impl(vs_state *v, const char *id);

/* ==== routing ========================================================================================= */
bool vs_route(const char *url) {
    return !strcmp(url, "/v1/files") || !strncmp(url, "/v1/files/", 10) || !strcmp(url, "/v1/vector_stores") ||
           !strncmp(url, "/v1/vector_stores/", 18);
}

const char *vs_endpoint(const char *url) {
    return !strncmp(url, "/v1/files", 9) ? "/v1/files" : "/v1/vector_stores";
}

static int route(vs_state *v, const char *method, const char *url, const char *ctype, const char *body, size_t len,
                 vs_out *o) {
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST"), del = !strcmp(method, "DELETE");
    /* segments after /v1/ */
    char path[512];
    snprintf(path, sizeof path, "%s", url + 4);
    char *q = strchr(path, '?');
    if (q) *q = 0;
    char *seg[6] = {0};
    int ns = 0;
    for (char *save = NULL, *t = strtok_r(path, "/", &save); t && ns < 6; t = strtok_r(NULL, "/", &save))
        seg[ns++] = t;
    cJSON *req = NULL;
    if (post && strcmp(seg[0], "files")) {
        req = cJSON_ParseWithLength(body ? body : "{}", body ? len : 2);
        if (!req || !cJSON_IsObject(req)) {
            cJSON_Delete(req);
            return err(o, 400, NULL, "invalid_json", "the request body must be a JSON object");
        }
    }
    int rc = -1;
    if (!strcmp(seg[0], "files")) {
        if (ns == 1 && post) rc = files_upload(v, ctype, body, len, o);
        else if (ns == 1 && get) rc = files_list(v, o);
        else if (ns >= 2) {
            cJSON *m = file_meta(v, seg[1]);
            if (!m) rc = err(o, 404, NULL, "not_found", "No file found with id '%.80s'", seg[1]);
            else if (ns == 2 && get) rc = ok_json(o, m), m = NULL;
            else if (ns == 3 && get && !strcmp(seg[2], "content")) {
                char p[4200];
                file_path(v, seg[1], ".bin", p, sizeof p);
                size_t n = 0;
                if (hearth_read_file(p, &o->body, &n) != HEARTH_OK) {
                    rc = err(o, 500, NULL, NULL, "cannot read the file");
                } else {
                    o->status = rc = 200, o->ctype = "application/octet-stream";
                    o->len = n;
                }
            } else if (ns == 2 && del) {
                char p[4200];
                file_path(v, seg[1], ".bin", p, sizeof p);
                unlink(p);
                file_path(v, seg[1], ".json", p, sizeof p);
                unlink(p);
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "id", seg[1]);
                cJSON_AddStringToObject(j, "object", "file");
                cJSON_AddBoolToObject(j, "deleted", true);
                rc = ok_json(o, j);
            }
            cJSON_Delete(m);
        }
    } else if (ns == 1) {
        if (post) rc = vs_create_store(v, req, o);
        else if (get) rc = vs_list(v, o);
    } else {
        const char *vs = seg[1];
        hearth_rag *r = NULL;
        if (ns == 2 && del) {
            if (!id_ok(vs, "vs_") || hearth_rag_drop(v->dir, vs) != HEARTH_OK) {
                rc = err(o, 404, NULL, "not_found", "No vector store found with id '%.80s'", vs);
            } else {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "id", vs);
                cJSON_AddStringToObject(j, "object", "vector_store.deleted");
                cJSON_AddBoolToObject(j, "deleted", true);
                rc = ok_json(o, j);
            }
        } else if (ns == 3 && post && !strcmp(seg[2], "search")) {
            rc = vs_search(v, vs, req, o);
        } else if (open_vs(v, vs, false, &r, o) == 0) {
            if (ns == 2 && get) {
                rc = ok_json(o, store_object(r, vs));
            } else if (ns == 2 && post) {
                const cJSON *name = cJSON_GetObjectItem(req, "name"), *md = cJSON_GetObjectItem(req, "metadata");
                cJSON *m = store_meta(r);
                if (cJSON_IsString(name)) {
                    cJSON_DeleteItemFromObject(m, "name");
                    cJSON_AddStringToObject(m, "name", name->valuestring);
                }
                if (cJSON_IsObject(md)) {
                    cJSON_DeleteItemFromObject(m, "metadata");
                    cJSON_AddItemToObject(m, "metadata", cJSON_Duplicate(md, true));
                }
                save_meta(r, m);
                cJSON_Delete(m);
                rc = ok_json(o, store_object(r, vs));
            } else if (!strcmp(seg[2], "files")) {
                int chunk, overlap;
                if (ns == 3 && post) {
                    const cJSON *fid = cJSON_GetObjectItem(req, "file_id");
                    if (!cJSON_IsString(fid)) rc = err(o, 400, "file_id", "missing_required_parameter", "'file_id' is required");
                    else if (!file_meta_exists_impl(v, fid->valuestring))
                        rc = err(o, 404, "file_id", "not_found", "No file found with id '%.80s'", fid->valuestring);
                    else if (chunking(req, &chunk, &overlap, o)) {
                        bool failed;
                        rc = ok_json(o, add_file(v, r, vs, fid->valuestring, cJSON_GetObjectItem(req, "attributes"),
                                                 chunk, overlap, &failed));
                    } else {
                        rc = o->status;
                    }
                } else if (ns == 3 && get) {
                    cJSON *j = cJSON_CreateObject();
                    cJSON_AddStringToObject(j, "object", "list");
                    cJSON *arr = vs_files(r, vs);
                    cJSON_AddItemToObject(j, "data", arr);
                    int k = cJSON_GetArraySize(arr);
                    if (k) {
                        cJSON_AddStringToObject(j, "first_id", cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "id")->valuestring);
                        cJSON_AddStringToObject(j, "last_id", cJSON_GetObjectItem(cJSON_GetArrayItem(arr, k - 1), "id")->valuestring);
                    }
                    cJSON_AddBoolToObject(j, "has_more", false);
                    rc = ok_json(o, j);
                } else if (ns == 4 && (get || del)) {
                    cJSON *arr = vs_files(r, vs), *x, *found = NULL;
                    cJSON_ArrayForEach(x, arr) if (!strcmp(jstr(x, "id"), seg[3])) found = x;
                    if (!found) {
                        rc = err(o, 404, NULL, "not_found", "No file '%.80s' in vector store '%s'", seg[3], vs);
                    } else if (get) {
                        rc = ok_json(o, cJSON_Duplicate(found, true));
                    } else {
                        hearth_rag_remove(r, seg[3]);
                        cJSON *m = store_meta(r);
                        cJSON_DeleteItemFromObject(failures(m), seg[3]);
                        save_meta(r, m);
                        cJSON_Delete(m);
                        cJSON *j = cJSON_CreateObject();
                        cJSON_AddStringToObject(j, "id", seg[3]);
                        cJSON_AddStringToObject(j, "object", "vector_store.file.deleted");
                        cJSON_AddBoolToObject(j, "deleted", true);
                        rc = ok_json(o, j);
                    }
                    cJSON_Delete(arr);
                }
            } else if (!strcmp(seg[2], "file_batches")) {
                int chunk, overlap;
                if (ns == 3 && post) {
                    const cJSON *fids = cJSON_GetObjectItem(req, "file_ids");
                    if (!cJSON_IsArray(fids) || cJSON_GetArraySize(fids) == 0) {
                        rc = err(o, 400, "file_ids", "invalid_value", "'file_ids' must be a non-empty array");
                    } else if (chunking(req, &chunk, &overlap, o)) {
                        int done = 0, failed_n = 0;
                        const cJSON *f;
                        cJSON_ArrayForEach(f, fids) {
                            bool failed = true;
                            if (cJSON_IsString(f))
                                cJSON_Delete(add_file(v, r, vs, f->valuestring, cJSON_GetObjectItem(req, "attributes"),
                                                      chunk, overlap, &failed));
                            failed ? failed_n++ : done++;
                        }
                        char bid[40] = "vsfb_";
                        rand_hex(bid + 5, 24);
                        cJSON *j = cJSON_CreateObject();
                        cJSON_AddStringToObject(j, "id", bid);
                        cJSON_AddStringToObject(j, "object", "vector_store.files_batch");
                        cJSON_AddNumberToObject(j, "created_at", (double)time(NULL));
                        cJSON_AddStringToObject(j, "vector_store_id", vs);
                        cJSON_AddStringToObject(j, "status", "completed");
                        cJSON *fc = cJSON_AddObjectToObject(j, "file_counts");
                        cJSON_AddNumberToObject(fc, "in_progress", 0);
                        cJSON_AddNumberToObject(fc, "completed", done);
                        cJSON_AddNumberToObject(fc, "failed", failed_n);
                        cJSON_AddNumberToObject(fc, "cancelled", 0);
                        cJSON_AddNumberToObject(fc, "total", done + failed_n);
                        cJSON *m = store_meta(r), *bs = cJSON_GetObjectItem(m, "batches");
                        if (!cJSON_IsObject(bs)) bs = cJSON_AddObjectToObject(m, "batches");
                        cJSON_AddItemToObject(bs, bid, cJSON_Duplicate(j, true));
                        save_meta(r, m);
                        cJSON_Delete(m);
                        rc = ok_json(o, j);
                    } else {
                        rc = o->status;
                    }
                } else if (ns >= 4 && get) {
                    cJSON *m = store_meta(r), *bs = cJSON_GetObjectItem(m, "batches");
                    cJSON *b = cJSON_IsObject(bs) ? cJSON_GetObjectItem(bs, seg[3]) : NULL;
                    if (!b) rc = err(o, 404, NULL, "not_found", "No file batch '%.80s' in vector store '%s'", seg[3], vs);
                    else if (ns == 4) rc = ok_json(o, cJSON_Duplicate(b, true));
                    cJSON_Delete(m);
                }
            }
            hearth_rag_close(r);
        } else {
            rc = o->status;
        }
    }
    cJSON_Delete(req);
    if (rc < 0) return err(o, 404, NULL, "unknown_url", "no such endpoint: %s %.200s", method, url);
    return rc;
}

static bool file_meta_exists_impl(vs_state *v, const char *id) {
    cJSON *m = file_meta(v, id);
    cJSON_Delete(m);
    return m != NULL;
}

int vs_handle(hearth_server *s, const char *method, const char *url, const char *ctype, const char *body, size_t len,
              char **out, size_t *out_len, const char **out_ctype) {
    vs_out o = {0};
    if (!s->vs) {
        err(&o, 404, NULL, "not_enabled",
            "this server keeps no files or vector stores: start hearth serve with --rag-db DIR");
    } else {
        route(s->vs, method, url, ctype, body, len, &o);
    }
    *out = o.body;
    *out_len = o.len;
    *out_ctype = o.ctype;
    return o.status ? o.status : 500;
}

/* ==== grounded chat ====================================================================================== */
#define GROUND_K 4

static char *message_text(const cJSON *content) {
    if (cJSON_IsString(content)) return strdup(content->valuestring);
    hearth_buf b = {0};
    const cJSON *p;
    cJSON_ArrayForEach(p, content) {
        const char *t = jstr(p, "text");
        if (t) {
            if (b.len) hearth_buf_putc(&b, ' ');
            hearth_buf_puts(&b, t);
        }
    }
    return b.oom || !b.len ? (hearth_buf_free(&b), NULL) : hearth_buf_take(&b, NULL);
}

int vs_ground(hearth_server *s, const char *body, size_t len, char **out_body, char **sources, api_error *e) {
    *out_body = *sources = NULL;
    if (!body || !memmem(body, len, "file_search", 11)) return 0;   /* the common case, unparsed */
    cJSON *req = cJSON_ParseWithLength(body, len);
    cJSON *tools = req ? cJSON_GetObjectItem(req, "tools") : NULL;
    if (!cJSON_IsArray(tools)) {
        cJSON_Delete(req);
        return 0;
    }
    /* the file_search tools: their stores and result count, removed from the request */
    const char *ids[16];
    int n_ids = 0, k = GROUND_K;
    cJSON *keep = cJSON_CreateArray(), *t;
    cJSON *fs_tools = cJSON_CreateArray();
    while ((t = cJSON_DetachItemFromArray(tools, 0))) {
        const char *type = jstr(t, "type");
        if (type && !strcmp(type, "file_search")) cJSON_AddItemToArray(fs_tools, t);
        else cJSON_AddItemToArray(keep, t);
    }
    int rc = 0;
    cJSON_ArrayForEach(t, fs_tools) {
        const cJSON *inner = cJSON_GetObjectItem(t, "file_search");
        const cJSON *vids = cJSON_GetObjectItem(t, "vector_store_ids");
        if (!vids && inner) vids = cJSON_GetObjectItem(inner, "vector_store_ids");
        const cJSON *mx = cJSON_GetObjectItem(t, "max_num_results");
        if (!mx && inner) mx = cJSON_GetObjectItem(inner, "max_num_results");
        if (cJSON_IsNumber(mx) && mx->valuedouble >= 1 && mx->valuedouble <= 50) k = (int)mx->valuedouble;
        const cJSON *x;
        cJSON_ArrayForEach(x, vids) if (cJSON_IsString(x) && n_ids < 16) ids[n_ids++] = x->valuestring;
    }
    hearth_rag_hit *hits = NULL;
    scored *arr = NULL;
    size_t n = 0, cap = 0;
    char *question = NULL;
    if (n_ids == 0) {
        e->status = 400, e->type = "invalid_request_error", e->code = "invalid_value";
        snprintf(e->param, sizeof e->param, "tools");
        snprintf(e->message, sizeof e->message, "a file_search tool needs 'vector_store_ids'");
        rc = -1;
        goto done;
    }
    if (!s->vs) {
        e->status = 400, e->type = "invalid_request_error", e->code = "not_enabled";
        snprintf(e->param, sizeof e->param, "tools");
        snprintf(e->message, sizeof e->message,
                 "file_search: this server keeps no vector stores (start hearth serve with --rag-db DIR)");
        rc = -1;
        goto done;
    }
    /* the question: the last user message */
    cJSON *msgs = cJSON_GetObjectItem(req, "messages"), *m, *last_user = NULL, *first_sys = NULL;
    cJSON_ArrayForEach(m, msgs) {
        const char *role = jstr(m, "role");
        if (role && !strcmp(role, "user")) last_user = m;
        if (role && (!strcmp(role, "system") || !strcmp(role, "developer")) && !first_sys) first_sys = m;
    }
    question = last_user ? message_text(cJSON_GetObjectItem(last_user, "content")) : NULL;
    if (!question || !*question) {
        e->status = 400, e->type = "invalid_request_error", e->code = "invalid_value";
        snprintf(e->param, sizeof e->param, "messages");
        snprintf(e->message, sizeof e->message, "file_search needs a user message with text to search for");
        rc = -1;
        goto done;
    }
    for (int i = 0; i < n_ids; i++) {
        hearth_rag *r = NULL;
        vs_out o = {0};
        int bad = open_vs(s->vs, ids[i], false, &r, &o);
        if (!bad) {
            bad = search_store(s->vs, r, question, k, NULL, &arr, &n, &cap, &o);
            hearth_rag_close(r);
        }
        if (bad) {
            if (!o.status) o.status = 404;
            api_error pe;
            memset(&pe, 0, sizeof pe);
            cJSON *ej = o.body ? cJSON_Parse(o.body) : NULL;
            const char *msg = ej ? jstr(cJSON_GetObjectItem(ej, "error"), "message") : NULL;
            e->status = o.status, e->type = o.status == 404 ? "not_found_error" : "invalid_request_error";
            e->code = "not_found";
            snprintf(e->param, sizeof e->param, "tools");
            snprintf(e->message, sizeof e->message, "file_search: %s", msg ? msg : "vector store error");
            cJSON_Delete(ej);
            free(o.body);
            rc = -1;
            goto done;
        }
    }
    if (n) qsort(arr, n, sizeof *arr, by_score);
    if (n > (size_t)k) {
        free_hit_strings(arr + k, n - (size_t)k);
        n = (size_t)k;
    }
    /* the prompt names each source by its file name */
    cJSON *src = cJSON_CreateArray();
    hits = calloc(n + 1, sizeof *hits);
    for (size_t i = 0; i < n && hits; i++) {
        hits[i] = arr[i].h;
        hits[i].source = filename_of(s->vs, arr[i].h.source);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "index", (double)(i + 1));
        cJSON_AddStringToObject(x, "file_id", arr[i].h.source);
        cJSON_AddStringToObject(x, "filename", hits[i].source ? hits[i].source : "");
        cJSON_AddNumberToObject(x, "score", arr[i].score);
        cJSON_AddNumberToObject(x, "chunk", (double)arr[i].h.chunk);
        if (arr[i].h.page > 0) cJSON_AddNumberToObject(x, "page", arr[i].h.page);
        cJSON_AddNumberToObject(x, "char_start", (double)arr[i].h.char_start);
        cJSON_AddNumberToObject(x, "char_end", (double)arr[i].h.char_end);
        cJSON_AddStringToObject(x, "text", arr[i].h.text);
        cJSON_AddItemToArray(src, x);
    }
    char *sys = NULL, *user = NULL;
    if (!hits || hearth_rag_prompt(question, hits, n, &sys, &user) != HEARTH_OK) {
        cJSON_Delete(src);
        e->status = 500, e->type = "server_error", e->code = NULL;
        snprintf(e->message, sizeof e->message, "file_search: out of memory");
        rc = -1;
        goto done;
    }
    /* the request, grounded: instructions in the system message, context in the question */
    cJSON_ReplaceItemInObject(last_user, "content", cJSON_CreateString(user));
    if (first_sys) {
        char *old = message_text(cJSON_GetObjectItem(first_sys, "content"));
        hearth_buf b = {0};
        hearth_buf_puts(&b, old ? old : "");
        if (b.len) hearth_buf_puts(&b, "\n\n");
        hearth_buf_puts(&b, sys);
        cJSON_ReplaceItemInObject(first_sys, "content", cJSON_CreateString(b.data ? b.data : sys));
        hearth_buf_free(&b);
        free(old);
    } else {
        cJSON *sm = cJSON_CreateObject();
        cJSON_AddStringToObject(sm, "role", "system");
        cJSON_AddStringToObject(sm, "content", sys);
        cJSON_InsertItemInArray(msgs, 0, sm);
    }
    free(sys);
    free(user);
    if (cJSON_GetArraySize(keep) == 0) {
        cJSON_DeleteItemFromObject(req, "tools");
        cJSON_DeleteItemFromObject(req, "tool_choice");
    } else {
        cJSON_ReplaceItemInObject(req, "tools", keep);
        keep = NULL;
    }
    *out_body = cJSON_PrintUnformatted(req);
    *sources = cJSON_PrintUnformatted(src);
    cJSON_Delete(src);
    rc = 1;
done:
    for (size_t i = 0; hits && i < n; i++) free(hits[i].source);
    free(hits);
    free_scored(arr, n);
    free(question);
    cJSON_Delete(keep);
    cJSON_Delete(fs_tools);
    cJSON_Delete(req);
    return rc;
}

char *vs_attach_sources(char *response, const char *sources) {
    cJSON *j = response ? cJSON_Parse(response) : NULL, *src = sources ? cJSON_Parse(sources) : NULL;
    if (!j || !src) {
        cJSON_Delete(j);
        cJSON_Delete(src);
        return response;
    }
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    const char *text = jstr(cJSON_GetObjectItem(ch, "message"), "content");
    int n = cJSON_GetArraySize(src);
    cJSON *x;
    cJSON_ArrayForEach(x, src) {
        int idx = cJSON_GetObjectItem(x, "index")->valueint;
        char tag[16];
        snprintf(tag, sizeof tag, "[%d]", idx);
        cJSON_AddBoolToObject(x, "cited", text && idx <= n && strstr(text, tag) != NULL);
    }
    cJSON_AddItemToObject(j, "sources", src);
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!out) return response;
    free(response);
    return out;
}
