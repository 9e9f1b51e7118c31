/*
 * test_rag.c — knowledge collections through the library (hearth/rag.h):
 * chunks point at their text, pages and headings; re-ingesting is
 * incremental (unchanged skipped, changed replaced, deleted removed, never
 * duplicated); BM25, dense and hybrid search with filters that keep k
 * results; bad files do not stop an ingestion; dimension mismatch, unknown
 * collections and malformed filters are clear errors; snapshots restore;
 * image items share a collection with text; answers carry their sources.
 */
#include "harness.h"
#include "hearth/rag.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA HEARTH_TEST_DATA "/rag/"
#define EMBED HEARTH_TEST_DATA "/embed/tiny-bert-bge-mean-f16.gguf"
#define CHAT HEARTH_TEST_DATA "/models/tiny-qwen2-gpt2-f16.gguf"

static char g_tmp[256];

static void write_file(const char *dir, const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void copy_file(const char *from, const char *dir, const char *name) {
    char *data;
    size_t n;
    if (hearth_read_file(from, &data, &n) != HEARTH_OK) return;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    free(data);
}

/* a folder of documents: text, markdown, html, pdf, docx and two bad files */
static void make_corpus(const char *dir) {
    mkdir(dir, 0755);
    write_file(dir, "ducks.txt",
               "Ducks are waterfowl. The mallard is the most common duck in the northern hemisphere.\n\n"
               "Ducklings leave the nest within a day of hatching.");
    write_file(dir, "bread.md",
               "# Bread\n\nFlour, water, salt and yeast.\n\n## Proofing\n\nLet the dough rise for two hours at room "
               "temperature until it doubles.\n\n## Baking\n\nBake at 230 degrees for forty minutes.\n");
    write_file(dir, "rivers.html",
               "<html><body><h1>Rivers</h1><p>The Danube flows through ten countries.</p>"
               "<p>The Rhine rises in the Swiss Alps.</p></body></html>");
    copy_file(DATA "manual.pdf", dir, "manual.pdf");
    copy_file(DATA "kiln.docx", dir, "kiln.docx");
    copy_file(DATA "encrypted.pdf", dir, "locked.pdf");
    copy_file(DATA "bomb.docx", dir, "bomb.docx");
}

typedef struct events { int added, updated, unchanged, removed, failed; char failed_msgs[2048]; } events;

static void on_file(const hearth_rag_file_report *r, int64_t done, int64_t total, int64_t bd, int64_t bt,
                    void *user) {
    events *e = user;
    (void)done, (void)total, (void)bd, (void)bt;
    switch (r->event) {
    case HEARTH_RAG_ADDED: e->added++; break;
    case HEARTH_RAG_UPDATED: e->updated++; break;
    case HEARTH_RAG_UNCHANGED: e->unchanged++; break;
    case HEARTH_RAG_REMOVED: e->removed++; break;
    case HEARTH_RAG_FAILED:
        e->failed++;
        strncat(e->failed_msgs, r->message, sizeof e->failed_msgs - strlen(e->failed_msgs) - 2);
        strcat(e->failed_msgs, "\n");
        break;
    }
}

/* NAME.hearth-rag-hnsw-GEN files in db */
static int count_index_files(const char *db, const char *name) {
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s.hearth-rag-hnsw-", name);
    DIR *d = opendir(db);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    if (d) closedir(d);
    return n;
}

static int64_t count_hits(hearth_rag *r, const char *q, const char *source_end) {
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.k = 50;
    hearth_rag_results res;
    if (hearth_rag_search(r, q, &sp, &res) != HEARTH_OK) return -1;
    int64_t n = 0;
    for (size_t i = 0; i < res.n; i++) {
        size_t l = strlen(res.hits[i].source), e = strlen(source_end);
        if (l >= e && !strcmp(res.hits[i].source + l - e, source_end)) n++;
    }
    hearth_rag_results_clear(&res);
    return n;
}

TEST(chunks_point_at_text) {
    /* long text with headings: every chunk is its exact byte range, within one section, and overlaps */
    char *text = malloc(20000);
    size_t n = 0;
    n += (size_t)sprintf(text + n, "# Alpha\n\n");
    for (int i = 0; i < 300; i++) n += (size_t)sprintf(text + n, "alpha%d word. ", i);
    n += (size_t)sprintf(text + n, "\n\n# Beta\n\n");
    for (int i = 0; i < 40; i++) n += (size_t)sprintf(text + n, "beta%d ", i);
    hearth_doc d;
    CHECK_EQ_INT(hearth_doc_parse(text, n, HEARTH_DOC_MARKDOWN, "t.md", NULL, &d), HEARTH_OK);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/chunks", g_tmp);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(dir, "c", true, &r), HEARTH_OK);
    hearth_rag_ingest_params p = hearth_rag_ingest_default_params();
    p.chunk_tokens = 64;
    p.overlap_tokens = 16;
    hearth_rag_event ev;
    int64_t nc = 0;
    CHECK_EQ_INT(hearth_rag_ingest_doc(r, "mem:t.md", &d, "h1", 0, &p, &ev, &nc), HEARTH_OK);
    CHECK_EQ_INT(ev, HEARTH_RAG_ADDED);
    CHECK(nc > 5);
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.k = 1000;
    sp.mode = HEARTH_RAG_BM25;
    hearth_rag_results res;
    CHECK_EQ_INT(hearth_rag_search(r, "word beta1 beta2 alpha7", &sp, &res), HEARTH_OK);
    CHECK_EQ_INT(res.n, nc);   /* every chunk matches one of the words */
    bool overlap = false, mixed = false;
    for (size_t i = 0; i < res.n; i++) {
        const hearth_rag_hit *h = &res.hits[i];
        CHECK(h->char_end > h->char_start && (size_t)h->char_end <= d.len);
        CHECK(strlen(h->text) == (size_t)(h->char_end - h->char_start) &&
              !memcmp(h->text, d.text + h->char_start, strlen(h->text)));
        if (strstr(h->text, "alpha") && strstr(h->text, "beta")) mixed = true;
        CHECK(h->heading && (!strcmp(h->heading, "Alpha") || !strcmp(h->heading, "Beta")));
        for (size_t j = 0; j < res.n; j++)
            if (i != j && res.hits[j].chunk == h->chunk + 1 && res.hits[j].char_start < h->char_end) overlap = true;
    }
    CHECK_MSG(!mixed, "a chunk spans two sections");
    CHECK(overlap);
    hearth_rag_results_clear(&res);
    /* the same hash: unchanged, nothing rewritten */
    CHECK_EQ_INT(hearth_rag_ingest_doc(r, "mem:t.md", &d, "h1", 0, &p, &ev, &nc), HEARTH_OK);
    CHECK_EQ_INT(ev, HEARTH_RAG_UNCHANGED);
    hearth_rag_close(r);
    hearth_doc_clear(&d);
    free(text);
}

TEST(ingest_incremental) {
    char dir[300], db[300];
    snprintf(dir, sizeof dir, "%s/docs", g_tmp);
    snprintf(db, sizeof db, "%s/db", g_tmp);
    make_corpus(dir);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(db, "kb", false, &r), HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "unknown collection 'kb'") != NULL);
    CHECK_EQ_INT(hearth_rag_open(db, "../evil", true, &r), HEARTH_ERR_INVALID_ARG);
    CHECK_EQ_INT(hearth_rag_open(db, "kb", true, &r), HEARTH_OK);
    events e = {0};
    hearth_rag_ingest_params p = hearth_rag_ingest_default_params();
    p.on_file = on_file;
    p.user = &e;
    const char *paths[] = {dir};
    hearth_rag_ingest_stats s;
    CHECK_EQ_INT(hearth_rag_ingest(r, paths, 1, &p, &s), HEARTH_OK);
    CHECK_EQ_INT(e.added, 5);
    CHECK_EQ_INT(e.failed, 2);   /* the encrypted PDF and the zip bomb, each named */
    CHECK(strstr(e.failed_msgs, "locked.pdf") && strstr(e.failed_msgs, "bomb.docx"));
    hearth_rag_info info;
    CHECK_EQ_INT(hearth_rag_get_info(r, &info), HEARTH_OK);
    int64_t chunks = info.n_chunks;
    CHECK_EQ_INT(info.n_docs, 5);
    CHECK_EQ_INT(chunks, s.n_chunks);
    hearth_rag_info_clear(&info);

    /* each format is searchable, with pages for the PDF */
    CHECK_EQ_INT(count_hits(r, "mallard", "ducks.txt"), 1);
    CHECK_EQ_INT(count_hits(r, "Danube", "rivers.html"), 1);
    CHECK_EQ_INT(count_hits(r, "proofing dough", "bread.md"), 1);
    CHECK_EQ_INT(count_hits(r, "kiln shelves", "kiln.docx"), 1);
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    hearth_rag_results res;
    CHECK_EQ_INT(hearth_rag_search(r, "how often to sweep the chimney flue", &sp, &res), HEARTH_OK);
    CHECK(res.n >= 1 && strstr(res.hits[0].source, "manual.pdf") && res.hits[0].page == 2);
    CHECK_EQ_INT(res.mode, HEARTH_RAG_BM25);   /* no vectors: hybrid is BM25 */
    hearth_rag_results_clear(&res);

    /* again: nothing changes */
    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(hearth_rag_ingest(r, paths, 1, &p, &s), HEARTH_OK);
    CHECK_EQ_INT(e.unchanged, 5);
    CHECK_EQ_INT(e.added + e.updated + e.removed, 0);
    CHECK_EQ_INT(hearth_rag_get_info(r, &info), HEARTH_OK);
    CHECK_EQ_INT(info.n_chunks, chunks);
    hearth_rag_info_clear(&info);

    /* a changed file replaces its chunks, a deleted one is removed */
    write_file(dir, "ducks.txt", "Geese are larger than ducks. The greylag goose is the ancestor of farm geese.");
    char gone[400];
    snprintf(gone, sizeof gone, "%s/rivers.html", dir);
    unlink(gone);
    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(hearth_rag_ingest(r, paths, 1, &p, &s), HEARTH_OK);
    CHECK_EQ_INT(e.updated, 1);
    CHECK_EQ_INT(e.removed, 1);
    CHECK_EQ_INT(e.unchanged, 3);
    CHECK_EQ_INT(count_hits(r, "mallard", "ducks.txt"), 0);
    CHECK_EQ_INT(count_hits(r, "greylag", "ducks.txt"), 1);
    CHECK_EQ_INT(count_hits(r, "Danube", "rivers.html"), 0);
    hearth_rag_doc_info *docs;
    size_t nd;
    CHECK_EQ_INT(hearth_rag_docs(r, &docs, &nd), HEARTH_OK);
    CHECK_EQ_INT(nd, 4);
    hearth_rag_docs_free(docs, nd);
    hearth_rag_close(r);
}

TEST(filters) {
    char db[300];
    snprintf(db, sizeof db, "%s/db", g_tmp);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(db, "kb", false, &r), HEARTH_OK);
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    hearth_rag_results res;
    /* a filter never loses results: every chunk of the PDF's page 1 */
    sp.filter = "{\"type\":\"and\",\"filters\":[{\"type\":\"eq\",\"key\":\"format\",\"value\":\"pdf\"},"
                "{\"type\":\"lte\",\"key\":\"page\",\"value\":1}]}";
    CHECK_EQ_INT(hearth_rag_search(r, "boiler chimney gauge flue", &sp, &res), HEARTH_OK);
    CHECK(res.n >= 1);
    for (size_t i = 0; i < res.n; i++) CHECK(strstr(res.hits[i].source, ".pdf") && res.hits[i].page == 1);
    hearth_rag_results_clear(&res);
    sp.filter = "{\"type\":\"in\",\"key\":\"format\",\"value\":[\"markdown\",\"docx\"]}";
    CHECK_EQ_INT(hearth_rag_search(r, "bake kiln temperature degrees", &sp, &res), HEARTH_OK);
    CHECK(res.n >= 2);
    for (size_t i = 0; i < res.n; i++)
        CHECK(strstr(res.hits[i].source, "bread.md") || strstr(res.hits[i].source, "kiln.docx"));
    hearth_rag_results_clear(&res);
    /* malformed filters are errors that say what is wrong */
    const char *bad[] = {"{", "[]", "{\"type\":\"like\",\"key\":\"a\",\"value\":1}", "{\"type\":\"eq\",\"value\":1}",
                         "{\"type\":\"eq\",\"key\":\"x'); DROP TABLE docs; --\",\"value\":1}",
                         "{\"type\":\"and\",\"filters\":[]}", "{\"type\":\"in\",\"key\":\"a\",\"value\":3}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sp.filter = bad[i];
        CHECK_MSG(hearth_rag_search(r, "bread", &sp, &res) == HEARTH_ERR_INVALID_ARG, "%s", bad[i]);
        CHECK(strncmp(hearth_last_error(), "filter", 6) == 0);
    }
    sp.filter = NULL;
    CHECK_EQ_INT(hearth_rag_search(r, "bread", &sp, &res), HEARTH_OK);   /* the table survived */
    CHECK(res.n >= 1);
    hearth_rag_results_clear(&res);
    sp.mode = HEARTH_RAG_DENSE;
    CHECK_EQ_INT(hearth_rag_search(r, "bread", &sp, &res), HEARTH_ERR_INVALID_ARG);   /* no vectors */
    hearth_rag_close(r);
}

TEST(snapshot_restore) {
    char db[300], snap[300];
    snprintf(db, sizeof db, "%s/db", g_tmp);
    snprintf(snap, sizeof snap, "%s/kb.snapshot", g_tmp);
    CHECK_EQ_INT(hearth_rag_snapshot(db, "kb", snap), HEARTH_OK);
    CHECK_EQ_INT(hearth_rag_snapshot(db, "kb", snap), HEARTH_ERR_IO);   /* never overwritten */
    CHECK_EQ_INT(hearth_rag_drop(db, "kb"), HEARTH_OK);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(db, "kb", false, &r), HEARTH_ERR_NOT_FOUND);
    CHECK_EQ_INT(hearth_rag_restore(db, "kb", snap), HEARTH_OK);
    CHECK_EQ_INT(hearth_rag_open(db, "kb", false, &r), HEARTH_OK);
    CHECK_EQ_INT(count_hits(r, "greylag", "ducks.txt"), 1);
    hearth_rag_close(r);
    char **names;
    size_t n;
    CHECK_EQ_INT(hearth_rag_list(db, &names, &n), HEARTH_OK);
    CHECK(n == 1 && !strcmp(names[0], "kb"));
    hearth_rag_names_free(names, n);
    /* not a snapshot */
    CHECK_EQ_INT(hearth_rag_restore(db, "kb2", DATA "manual.pdf"), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "manual.pdf") != NULL);
    CHECK_EQ_INT(hearth_rag_drop(db, "nope"), HEARTH_ERR_NOT_FOUND);
    /* a truncated snapshot is refused, naming it; the collection is untouched */
    char cut[320];
    snprintf(cut, sizeof cut, "%s/cut.snapshot", g_tmp);
    char *data;
    size_t nbytes;
    CHECK_EQ_INT(hearth_read_file(snap, &data, &nbytes), HEARTH_OK);
    FILE *f = fopen(cut, "wb");
    if (f) {
        fwrite(data, 1, nbytes / 2, f);
        fclose(f);
    }
    free(data);
    CHECK_EQ_INT(hearth_rag_restore(db, "kb", cut), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "cut.snapshot") != NULL);
    CHECK_EQ_INT(hearth_rag_open(db, "kb", false, &r), HEARTH_OK);
    CHECK_EQ_INT(count_hits(r, "greylag", "ducks.txt"), 1);
    hearth_rag_close(r);
    /* a collection file that is not one: a clear error naming it */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/junk.hearth-rag", db);
    f = fopen(bad, "wb");
    if (f) {
        fputs("this is not a database, just text that happens to have the extension", f);
        fclose(f);
    }
    CHECK(hearth_rag_open(db, "junk", false, &r) != HEARTH_OK);
    CHECK(strstr(hearth_last_error(), "junk") != NULL);
    unlink(bad);
}

TEST(dense_hybrid_and_images) {
    char db[300], dir[300];
    snprintf(db, sizeof db, "%s/db", g_tmp);
    snprintf(dir, sizeof dir, "%s/docs", g_tmp);
    hearth_model *m;
    CHECK_EQ_INT(hearth_model_load(EMBED, NULL, &m), HEARTH_OK);
    hearth_embedder *e;
    CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e), HEARTH_OK);
    int32_t dim = hearth_embedder_n_embd(e);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(db, "vec", true, &r), HEARTH_OK);
    hearth_rag_ingest_params p = hearth_rag_ingest_default_params();
    p.embedder = e;
    p.embed_model = EMBED;
    const char *paths[] = {dir};
    hearth_rag_ingest_stats s;
    CHECK_EQ_INT(hearth_rag_ingest(r, paths, 1, &p, &s), HEARTH_OK);
    hearth_rag_info info;
    hearth_rag_get_info(r, &info);
    CHECK_EQ_INT(info.dim, dim);
    CHECK_EQ_INT(info.n_vectors, info.n_chunks);
    CHECK_STR(info.embed_model, EMBED);
    hearth_rag_info_clear(&info);
    /* dense: the chunk's own text is its nearest neighbour */
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.embedder = e;
    sp.mode = HEARTH_RAG_DENSE;
    sp.k = 3;
    hearth_rag_results res;
    const char *q = "Geese are larger than ducks. The greylag goose is the ancestor of farm geese.";
    CHECK_EQ_INT(hearth_rag_search(r, q, &sp, &res), HEARTH_OK);
    CHECK(res.n == 3 && strstr(res.hits[0].source, "ducks.txt") && res.hits[0].dense > 0.99);
    hearth_rag_results_clear(&res);
    /* hybrid: both lists, fused by rank (1/61 + 1/61 for a chunk first in both) */
    sp.mode = HEARTH_RAG_HYBRID;
    CHECK_EQ_INT(hearth_rag_search(r, q, &sp, &res), HEARTH_OK);
    CHECK_EQ_INT(res.mode, HEARTH_RAG_HYBRID);
    CHECK(res.n >= 1 && res.hits[0].bm25_rank == 1 && res.hits[0].dense_rank == 1);
    if (res.n) CHECK_NEAR(res.hits[0].score, 2.0 / 61.0, 1e-9);
    hearth_rag_results_clear(&res);
    /* the HNSW index: the same nearest chunks as the exact scan (forced by a filter that holds for all) */
    CHECK_EQ_INT(hearth_rag_build_index(r, 2), HEARTH_OK);
    CHECK_EQ_INT(count_index_files(db, "vec"), 1);
    hearth_rag_results ex;
    sp.k = 5;
    CHECK_EQ_INT(hearth_rag_search(r, "how long does bread dough rise", &sp, &res), HEARTH_OK);
    sp.filter = "{\"type\":\"ne\",\"key\":\"kind\",\"value\":\"none\"}";
    CHECK_EQ_INT(hearth_rag_search(r, "how long does bread dough rise", &sp, &ex), HEARTH_OK);
    CHECK_EQ_INT(res.n, ex.n);
    for (size_t i = 0; i < res.n && i < ex.n; i++) {
        CHECK_STR(res.hits[i].source, ex.hits[i].source);
        CHECK_EQ_INT(res.hits[i].chunk, ex.hits[i].chunk);
        CHECK_NEAR(res.hits[i].dense, ex.hits[i].dense, 1e-5);
    }
    hearth_rag_results_clear(&res);
    hearth_rag_results_clear(&ex);
    sp.filter = NULL;
    /* a filter over a dense search still fills k when k chunks match */
    sp.mode = HEARTH_RAG_DENSE;
    sp.k = 2;
    sp.filter = "{\"type\":\"eq\",\"key\":\"format\",\"value\":\"markdown\"}";
    CHECK_EQ_INT(hearth_rag_search(r, "rivers of europe", &sp, &res), HEARTH_OK);
    CHECK_EQ_INT(res.n, 2);
    for (size_t i = 0; i < res.n; i++) CHECK(strstr(res.hits[i].source, "bread.md") != NULL);
    hearth_rag_results_clear(&res);
    sp.filter = NULL;
    /* an image item beside the text: found by its vector, kind "image" */
    float *img = calloc((size_t)dim, sizeof *img);
    for (int32_t i = 0; i < dim; i++) img[i] = (float)((i * 7) % 13) - 6.0f;
    int64_t chunk = -1;
    CHECK_EQ_INT(hearth_rag_add_item(r, "photos/kiln.png", "image", "a kiln full of pots", img, dim,
                                     "{\"camera\":\"x100\"}", &chunk),
                 HEARTH_OK);
    CHECK_EQ_INT(chunk, 0);
    sp.k = 1;
    /* (the index predates the image: it is stale, and the exact scan finds the image) */
    CHECK_EQ_INT(hearth_rag_search_vector(r, img, dim, &sp, &res), HEARTH_OK);
    CHECK(res.n == 1 && !strcmp(res.hits[0].kind, "image") && !strcmp(res.hits[0].source, "photos/kiln.png"));
    hearth_rag_results_clear(&res);
    CHECK_EQ_INT(hearth_rag_build_index(r, 2), HEARTH_OK);   /* and the rebuilt index too (the old one deleted) */
    CHECK_EQ_INT(count_index_files(db, "vec"), 1);
    CHECK_EQ_INT(hearth_rag_search_vector(r, img, dim, &sp, &res), HEARTH_OK);
    CHECK(res.n == 1 && !strcmp(res.hits[0].kind, "image") && !strcmp(res.hits[0].source, "photos/kiln.png"));
    hearth_rag_results_clear(&res);
    sp.filter = "{\"type\":\"eq\",\"key\":\"camera\",\"value\":\"x100\"}";
    sp.mode = HEARTH_RAG_BM25;
    CHECK_EQ_INT(hearth_rag_search(r, "kiln pots", &sp, &res), HEARTH_OK);
    CHECK(res.n == 1 && !strcmp(res.hits[0].kind, "image"));
    hearth_rag_results_clear(&res);
    /* dimension mismatch: named, nothing written */
    CHECK_EQ_INT(hearth_rag_add_item(r, "photos/x.png", "image", "", img, dim - 1, NULL, NULL),
                 HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "dimension mismatch") != NULL);
    CHECK_EQ_INT(hearth_rag_search_vector(r, img, dim + 1, &sp, &res), HEARTH_ERR_INVALID_ARG);
    CHECK_EQ_INT(hearth_rag_add_item(r, "x", "video", "", NULL, 0, NULL, NULL), HEARTH_ERR_INVALID_ARG);
    free(img);
    hearth_rag_close(r);
    /* ingesting into a collection of other-sized vectors */
    CHECK_EQ_INT(hearth_rag_open(db, "other", true, &r), HEARTH_OK);
    float v3[3] = {1, 0, 0};
    CHECK_EQ_INT(hearth_rag_add_item(r, "a", "text", "hello", v3, 3, NULL, NULL), HEARTH_OK);
    CHECK_EQ_INT(hearth_rag_ingest(r, paths, 1, &p, &s), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "dimension mismatch") && strstr(hearth_last_error(), "other"));
    hearth_rag_close(r);
    hearth_embedder_free(e);
    hearth_model_free(m);
}

TEST(answers_with_sources) {
    char db[300];
    snprintf(db, sizeof db, "%s/db", g_tmp);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(db, "kb", false, &r), HEARTH_OK);
    /* the prompt numbers the passages and names their sources */
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.k = 2;
    hearth_rag_results res;
    CHECK_EQ_INT(hearth_rag_search(r, "chimney flue boiler", &sp, &res), HEARTH_OK);
    char *sys, *user;
    CHECK_EQ_INT(hearth_rag_prompt("How often?", res.hits, res.n, &sys, &user), HEARTH_OK);
    CHECK(strstr(sys, "[1]") != NULL);
    CHECK(strstr(user, "[1] (manual.pdf, page ") && strstr(user, "[2] (") && strstr(user, "Question: How often?"));
    free(sys);
    free(user);
    hearth_rag_results_clear(&res);
    hearth_model *m;
    CHECK_EQ_INT(hearth_model_load(CHAT, NULL, &m), HEARTH_OK);
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 1024;
    cp.n_threads = 2;
    hearth_context *ctx;
    CHECK_EQ_INT(hearth_context_create(m, &cp, &ctx), HEARTH_OK);
    hearth_rag_ask_params ap = hearth_rag_ask_default_params();
    ap.gen.max_tokens = 16;
    hearth_rag_answer a;
    CHECK_EQ_INT(hearth_rag_ask(r, ctx, m, "How often should the chimney flue be swept?", &ap, &a), HEARTH_OK);
    CHECK(a.text != NULL && a.sources.n >= 1 && a.sources.n <= 4);
    CHECK(a.sources.n >= 1 && strstr(a.sources.hits[0].source, "manual.pdf") && a.sources.hits[0].page == 2);
    CHECK(a.n_prompt > 0);
    hearth_rag_answer_clear(&a);
    CHECK_EQ_INT(hearth_rag_ask(r, ctx, m, "", &ap, &a), HEARTH_ERR_INVALID_ARG);
    hearth_context_free(ctx);
    hearth_model_free(m);
    hearth_rag_close(r);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/hearth-test-rag-XXXXXX");
    if (!mkdtemp(g_tmp)) return 1;
    RUN(chunks_point_at_text);
    RUN(ingest_incremental);
    RUN(filters);
    RUN(snapshot_restore);
    RUN(dense_hybrid_and_images);
    RUN(answers_with_sources);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (harness_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return harness_done();
}
