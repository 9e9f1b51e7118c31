/*
 * cmd_rag.c — `hearth rag ingest|search|ask|list|delete|snapshot|restore`:
 * knowledge collections on the command line (the library is
 * include/hearth/rag.h; this file parses arguments and prints).
 *
 *   hearth rag ingest   --db DIR --collection C [-e EMBED.gguf] PATH...
 *   hearth rag search   --db DIR --collection C [-k 10] [--mode hybrid|bm25|dense] [--json] "QUERY"
 *   hearth rag ask      --db DIR --collection C [-m MODEL] [--json] "QUESTION"
 *   hearth rag list     --db DIR [--collection C] [--json]
 *   hearth rag delete   --db DIR --collection C [SOURCE...]
 *   hearth rag snapshot --db DIR --collection C FILE
 *   hearth rag restore  --db DIR --collection C FILE
 *
 * Without -e, a collection whose vectors came from an embedding model loads
 * that model again (its path is recorded); without vectors, search is BM25
 * and works offline with no model at all.
 */
#include "cli.h"
#include "hearth/rag.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cmd_rag_summary = "knowledge collections: ingest documents, search (BM25 + vectors), answers with sources";

static void usage(void) {
    printf("usage: hearth rag COMMAND --db DIR --collection NAME [options] ...\n\n"
           "Knowledge collections: documents (.txt .md .html .pdf .docx) chunked, indexed\n"
           "for BM25 and (with an embedding model) vectors, searched, and questions\n"
           "answered with numbered sources. A store is a folder; each collection is one\n"
           "file in it (DIR/NAME.hearth-rag).\n\n"
           "commands:\n"
           "  ingest PATH...       add files and folders (recursively); unchanged files are\n"
           "                       skipped, changed ones replaced, deleted ones removed\n"
           "  search \"QUERY\"       the best chunks\n"
           "  ask \"QUESTION\"       an answer from the best chunks, citing them as [1], [2]...\n"
           "  list                 the collections (or, with --collection, its documents)\n"
           "  delete [SOURCE...]   delete the collection, or only the documents given\n"
           "  snapshot FILE        a consistent copy of the collection in FILE\n"
           "  restore FILE         replace (or create) the collection from a snapshot\n\n"
           "options:\n"
           "  --db DIR             the store folder (created by ingest)\n"
           "  -c, --collection C   the collection (A-Z a-z 0-9 _ . -, at most 64)\n"
           "  -e, --embed-model F  embedding model (BERT/BGE GGUF...) for vectors; default: the\n"
           "                       one the collection was built with, else none (BM25 only)\n"
           "  --json               machine-readable output\n"
           "ingest:\n"
           "  --chunk-tokens N     most tokens per chunk (200)\n"
           "  --overlap N          tokens shared by consecutive chunks (40)\n"
           "  --no-headings        do not start chunks at headings\n"
           "  --attributes JSON    attributes of every document ingested (for filters)\n"
           "  --force              re-ingest unchanged files too\n"
           "  --no-prune           keep documents whose files are gone\n"
           "  --max-file-mb N      skip larger files (256)\n"
           "  --index-min N        build the HNSW index for dense search when the collection holds at\n"
           "                       least N vectors (20000; 0: never; searches scan exactly without it)\n"
           "search / ask:\n"
           "  -k N                 results (search: 10, ask: 4)\n"
           "  --mode M             hybrid (default; BM25 only without vectors), bm25 or dense\n"
           "  --filter JSON        e.g. '{\"type\":\"eq\",\"key\":\"format\",\"value\":\"pdf\"}'\n"
           "  --min-score F        drop results below F\n"
           "  --weights B,D        RRF weights of BM25 and dense (1,1)\n"
           "  --rerank F           re-rank the best max(20, 2k) with a cross-encoder GGUF (a BERT with\n"
           "                       a classification head, e.g. bge-reranker); its score becomes the score\n"
           "ask:\n"
           "  -m, --model F        the chat model (default: $HEARTH_MODEL or the built-in one)\n"
           "  -n, --max-tokens N   answer length (256)\n"
           "  -t, --threads N      threads (all CPUs)\n");
}

/* ==== options shared by the subcommands ============================================= */
typedef struct opts {
    const char *db, *coll, *embed, *model, *filter, *mode, *attributes, *weights, *rerank;
    bool json, force, no_prune, no_headings;
    int64_t k, chunk_tokens, overlap, max_tokens, threads, max_file_mb, index_min;
    double min_score;
    const char **pos;
    int n_pos;
} opts;

static int parse(const char *cmd, int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->k = -1, o->chunk_tokens = 200, o->overlap = 40, o->max_tokens = 256, o->max_file_mb = 256, o->index_min = 20000;
    o->pos = calloc((size_t)argc + 1, sizeof *o->pos);
    cli_args a = cli_args_init(cmd, argc, argv);
    /* positionals are collected here (any number: shell globs) */
    for (a.i = 1; a.i < argc; a.i++) {
        const char *s = argv[a.i];
        if (!strcmp(s, "--")) {
            while (++a.i < argc) o->pos[o->n_pos++] = argv[a.i];
            break;
        }
        if (s[0] != '-' || !s[1]) { o->pos[o->n_pos++] = s; continue; }
        if (cli_opt(&a, NULL, "--db", &o->db)) continue;
        if (cli_opt(&a, "-c", "--collection", &o->coll)) continue;
        if (cli_opt(&a, "-e", "--embed-model", &o->embed)) continue;
        if (cli_opt(&a, "-m", "--model", &o->model)) continue;
        if (cli_opt(&a, NULL, "--filter", &o->filter)) continue;
        if (cli_opt(&a, NULL, "--mode", &o->mode)) continue;
        if (cli_opt(&a, NULL, "--attributes", &o->attributes)) continue;
        if (cli_opt(&a, NULL, "--weights", &o->weights)) continue;
        if (cli_opt(&a, NULL, "--rerank", &o->rerank)) continue;
        if (cli_opt_int(&a, "-k", NULL, &o->k)) continue;
        if (cli_opt_int(&a, NULL, "--chunk-tokens", &o->chunk_tokens)) continue;
        if (cli_opt_int(&a, NULL, "--overlap", &o->overlap)) continue;
        if (cli_opt_int(&a, "-n", "--max-tokens", &o->max_tokens)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &o->threads)) continue;
        if (cli_opt_int(&a, NULL, "--max-file-mb", &o->max_file_mb)) continue;
        if (cli_opt_int(&a, NULL, "--index-min", &o->index_min)) continue;
        if (cli_opt_float(&a, NULL, "--min-score", &o->min_score)) continue;
        if (cli_flag(&a, NULL, "--json")) { o->json = true; continue; }
        if (cli_flag(&a, NULL, "--force")) { o->force = true; continue; }
        if (cli_flag(&a, NULL, "--no-prune")) { o->no_prune = true; continue; }
        if (cli_flag(&a, NULL, "--no-headings")) { o->no_headings = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!o->db) return cli_error(cmd, "--db DIR is required"), 2;
    return -1;   /* go on */
}

static int need_coll(const char *cmd, const opts *o) {
    if (!o->coll) return cli_error(cmd, "--collection NAME is required"), 2;
    return 0;
}

/* the embedder: -e, else the collection's own model when it can be read */
typedef struct embedder { hearth_model *m; hearth_embedder *e; const char *path; } embedder;

static int load_embedder(const char *cmd, hearth_rag *r, const opts *o, bool required_if_recorded, embedder *out) {
    memset(out, 0, sizeof *out);
    static char recorded[512];
    const char *path = o->embed;
    if (!path) {
        hearth_rag_info info;
        hearth_rag_get_info(r, &info);
        snprintf(recorded, sizeof recorded, "%s", info.embed_model);
        hearth_rag_info_clear(&info);
        if (!recorded[0]) return 0;
        if (access(recorded, R_OK) != 0) {
            if (required_if_recorded)
                return cli_error(cmd, "collection %s was built with the embedding model %s, which cannot be read; "
                                      "give it with -e", o->coll, recorded);
            fprintf(stderr, "hearth rag %s: warning: the collection's embedding model %s cannot be read: BM25 only\n",
                    cmd + 4, recorded);
            return 0;
        }
        path = recorded;
    }
    if (hearth_model_load(path, NULL, &out->m) != HEARTH_OK) return cli_lib_error(cmd);
    hearth_embed_params ep = hearth_embed_default_params();
    ep.n_threads = (int)o->threads;
    if (hearth_embedder_create(out->m, &ep, &out->e) != HEARTH_OK) {
        hearth_model_free(out->m);
        out->m = NULL;
        return cli_lib_error(cmd);
    }
    out->path = path;
    return 0;
}

static void free_embedder(embedder *e) {
    hearth_embedder_free(e->e);
    hearth_model_free(e->m);
}

/* --rerank FILE: the cross-encoder */
typedef struct reranker { hearth_model *m; hearth_rag_reranker *r; } reranker;

static int load_reranker(const char *cmd, const opts *o, reranker *out) {
    memset(out, 0, sizeof *out);
    if (!o->rerank) return 0;
    if (hearth_model_load(o->rerank, NULL, &out->m) != HEARTH_OK) return cli_lib_error(cmd);
    if (hearth_rag_reranker_create(out->m, (int)o->threads, &out->r) != HEARTH_OK) {
        hearth_model_free(out->m);
        out->m = NULL;
        return cli_lib_error(cmd);
    }
    return 0;
}

static void free_reranker(reranker *r) {
    hearth_rag_reranker_free(r->r);
    hearth_model_free(r->m);
}

static void json_opt_str(const char *key, const char *s) {
    printf(",\"%s\":", key);
    if (s) cli_json_str(stdout, s, strlen(s));
    else printf("null");
}

/* ==== ingest ============================================================================ */
typedef struct progress {
    bool tty, json;
    double t0;
    int64_t chunks;
    int width;
} progress;

static void fmt_time(double s, char *out, size_t cap) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, cap, "%ld:%02ld", t / 60, t % 60);
}

static void on_file(const hearth_rag_file_report *r, int64_t done, int64_t total, int64_t bdone, int64_t btotal,
                    void *user) {
    progress *p = user;
    if (r->event == HEARTH_RAG_ADDED || r->event == HEARTH_RAG_UPDATED) p->chunks += r->n_chunks;
    double el = hearth_time_s() - p->t0;
    if (p->tty) {
        if (r->event == HEARTH_RAG_FAILED) fprintf(stderr, "\r\033[Khearth rag ingest: warning: %s\n", r->message);
        double frac = btotal > 0 ? (double)bdone / (double)btotal : 1;
        double rate = el > 0 ? (double)bdone / el : 0;
        char eta[32];
        fmt_time(rate > 0 ? (double)(btotal - bdone) / rate : 0, eta, sizeof eta);
        int w = 24, fill = (int)(frac * w);
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        fprintf(stderr, "\r\033[K[%s] %3.0f%%  %lld/%lld files  %.1f MB/s  %.0f chunks/s  ETA %s", bar, frac * 100,
                (long long)done, (long long)total, rate / 1e6, el > 0 ? (double)p->chunks / el : 0, eta);
        fflush(stderr);
    } else {
        /* one line per file, written after its transaction committed */
        if (r->event == HEARTH_RAG_FAILED)
            fprintf(stderr, "hearth rag ingest: warning: %s\n", r->message);
        else
            fprintf(stderr, "%s %s (%lld chunks) [%lld/%lld]\n", hearth_rag_event_name(r->event), r->source,
                    (long long)r->n_chunks, (long long)done, (long long)total);
        fflush(stderr);
    }
}

static volatile int g_cancel;
static void on_sigint(int sig) { (void)sig; g_cancel = 1; }

static int do_ingest(const opts *o) {
    const char *cmd = "rag ingest";
    if (need_coll(cmd, o)) return 2;
    if (o->n_pos == 0) return cli_error(cmd, "no PATH to ingest"), 2;
    if (o->chunk_tokens < 16 || o->chunk_tokens > 100000000 || o->overlap < 0 || o->overlap >= o->chunk_tokens)
        return cli_error(cmd, "--chunk-tokens %lld / --overlap %lld: need 16 <= chunk and 0 <= overlap < chunk",
                         (long long)o->chunk_tokens, (long long)o->overlap), 2;
    hearth_rag *r;
    if (hearth_rag_open(o->db, o->coll, true, &r) != HEARTH_OK) return cli_lib_error(cmd);
    embedder e;
    if (load_embedder(cmd, r, o, true, &e)) {
        hearth_rag_close(r);
        return 1;
    }
    hearth_rag_ingest_params p = hearth_rag_ingest_default_params();
    p.chunk_tokens = (int32_t)o->chunk_tokens;
    p.overlap_tokens = (int32_t)o->overlap;
    p.by_headings = !o->no_headings;
    p.embedder = e.e;
    char absm[4096];
    if (e.path && realpath(e.path, absm)) p.embed_model = absm;
    else p.embed_model = e.path;
    p.attributes = o->attributes;
    p.prune = !o->no_prune;
    p.force = o->force;
    p.doc.max_file_bytes = (size_t)o->max_file_mb << 20;
    p.index_min_vectors = o->index_min;
    p.index_threads = (int)o->threads;
    progress pr = {.tty = cli_stderr_tty() && !o->json, .json = o->json, .t0 = hearth_time_s()};
    p.on_file = on_file;
    p.user = &pr;
    p.cancel = &g_cancel;
    signal(SIGINT, on_sigint);
    hearth_rag_ingest_stats s;
    hearth_status st = hearth_rag_ingest(r, o->pos, (size_t)o->n_pos, &p, &s);
    if (pr.tty) fprintf(stderr, "\n");
    int rc = 0;
    if (st) rc = cli_lib_error(cmd);
    double mb = (double)s.text_bytes / 1e6, sec = s.seconds > 0 ? s.seconds : 1e-9;
    if (o->json) {
        printf("{\"collection\":");
        cli_json_str(stdout, o->coll, strlen(o->coll));
        printf(",\"files\":%lld,\"added\":%lld,\"updated\":%lld,\"unchanged\":%lld,\"removed\":%lld,\"failed\":%lld,"
               "\"chunks\":%lld,\"text_bytes\":%lld,\"file_bytes\":%lld,\"seconds\":%.3f,\"text_mb_per_s\":%.3f,"
               "\"chunks_per_s\":%.1f,\"embedded\":%s}\n",
               (long long)s.n_files, (long long)s.n_added, (long long)s.n_updated, (long long)s.n_unchanged,
               (long long)s.n_removed, (long long)s.n_failed, (long long)s.n_chunks, (long long)s.text_bytes,
               (long long)s.file_bytes, s.seconds, mb / sec, (double)s.n_chunks / sec, e.e ? "true" : "false");
    } else {
        printf("%s: %lld files: %lld added, %lld updated, %lld unchanged, %lld removed, %lld failed; %lld chunks "
               "(%.2f MB of text) in %.2f s: %.2f MB/s, %.0f chunks/s%s\n",
               o->coll, (long long)s.n_files, (long long)s.n_added, (long long)s.n_updated, (long long)s.n_unchanged,
               (long long)s.n_removed, (long long)s.n_failed, (long long)s.n_chunks, mb, s.seconds, mb / sec,
               (double)s.n_chunks / sec, e.e ? " (embedded)" : "");
    }
    free_embedder(&e);
    hearth_rag_close(r);
    if (!rc && s.n_failed) rc = 1;
    return rc;
}

/* ==== search / ask ========================================================================= */
static int search_params(const char *cmd, const opts *o, hearth_rag_search_params *sp) {
    if (o->k >= 0) {
        if (o->k < 1 || o->k > 10000) return cli_error(cmd, "-k %lld (1 .. 10000)", (long long)o->k), 2;
        sp->k = (int32_t)o->k;
    }
    if (o->mode && hearth_rag_mode_parse(o->mode, &sp->mode) != HEARTH_OK) return cli_lib_error(cmd), 2;
    if (o->weights) {
        double b, d;
        char tail;
        if (sscanf(o->weights, "%lf,%lf%c", &b, &d, &tail) != 2 || b < 0 || d < 0)
            return cli_error(cmd, "--weights '%s': expected two non-negative numbers B,D", o->weights), 2;
        sp->w_bm25 = (float)b, sp->w_dense = (float)d;
    }
    sp->filter = o->filter;
    sp->min_score = o->min_score;
    return 0;
}

static void print_hit(const hearth_rag_hit *h, bool json) {
    if (json) {
        printf("{\"source\":");
        cli_json_str(stdout, h->source, strlen(h->source));
        printf(",\"chunk\":%lld,\"score\":%.6g,\"text\":", (long long)h->chunk, h->score);
        cli_json_str(stdout, h->text, strlen(h->text));
        if (h->page > 0) printf(",\"page\":%d", h->page);
        printf(",\"char_start\":%lld,\"char_end\":%lld,\"kind\":\"%s\"", (long long)h->char_start,
               (long long)h->char_end, h->kind);
        if (h->heading) json_opt_str("heading", h->heading);
        if (h->bm25_rank) printf(",\"bm25_rank\":%d", h->bm25_rank);
        if (h->dense_rank) printf(",\"dense_rank\":%d", h->dense_rank);
        if (h->fused != h->score) printf(",\"fused\":%.6g", h->fused);
        if (h->attributes) printf(",\"attributes\":%s", h->attributes);
        printf("}");
    }
}

static int do_search(const opts *o) {
    const char *cmd = "rag search";
    if (need_coll(cmd, o)) return 2;
    if (o->n_pos != 1) return cli_error(cmd, "give exactly one QUERY (quote it)"), 2;
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    int rc = search_params(cmd, o, &sp);
    if (rc) return rc;
    hearth_rag *r;
    if (hearth_rag_open(o->db, o->coll, false, &r) != HEARTH_OK) return cli_lib_error(cmd);
    embedder e = {0};
    reranker rr = {0};
    if ((sp.mode != HEARTH_RAG_BM25 && load_embedder(cmd, r, o, false, &e)) || load_reranker(cmd, o, &rr)) {
        free_embedder(&e);
        hearth_rag_close(r);
        return 1;
    }
    sp.embedder = e.e;
    sp.reranker = rr.r;
    hearth_rag_results res;
    if (hearth_rag_search(r, o->pos[0], &sp, &res) != HEARTH_OK) {
        rc = cli_lib_error(cmd);
    } else if (o->json) {
        printf("{\"results\":[");
        for (size_t i = 0; i < res.n; i++) {
            if (i) printf(",");
            print_hit(&res.hits[i], true);
        }
        printf("],\"mode\":\"%s\"}\n", hearth_rag_mode_name(res.mode));
    } else {
        for (size_t i = 0; i < res.n; i++) {
            const hearth_rag_hit *h = &res.hits[i];
            printf("%zu. %s", i + 1, h->source);
            if (h->page) printf(" (page %d)", h->page);
            printf("  chunk %lld  score %.4g\n", (long long)h->chunk, h->score);
            if (h->heading) printf("   § %s\n", h->heading);
            size_t n = strlen(h->text);
            printf("   %.*s%s\n\n", (int)(n > 300 ? 300 : n), h->text, n > 300 ? "..." : "");
        }
        if (!res.n) printf("no results\n");
    }
    hearth_rag_results_clear(&res);
    free_reranker(&rr);
    free_embedder(&e);
    hearth_rag_close(r);
    return rc;
}

static int do_ask(const opts *o) {
    const char *cmd = "rag ask";
    if (need_coll(cmd, o)) return 2;
    if (o->n_pos != 1) return cli_error(cmd, "give exactly one QUESTION (quote it)"), 2;
    hearth_rag_ask_params ap = hearth_rag_ask_default_params();
    int rc = search_params(cmd, o, &ap.search);
    if (rc) return rc;
    if (o->max_tokens < 1 || o->max_tokens > 100000) return cli_error(cmd, "--max-tokens %lld", (long long)o->max_tokens), 2;
    ap.gen.max_tokens = (int32_t)o->max_tokens;
    const char *mpath = cli_model_or_default(cmd, o->model);
    if (!mpath) return 1;
    hearth_rag *r;
    if (hearth_rag_open(o->db, o->coll, false, &r) != HEARTH_OK) return cli_lib_error(cmd);
    embedder e = {0};
    reranker rr = {0};
    if ((ap.search.mode != HEARTH_RAG_BM25 && load_embedder(cmd, r, o, false, &e)) || load_reranker(cmd, o, &rr)) {
        free_embedder(&e);
        hearth_rag_close(r);
        return 1;
    }
    ap.search.embedder = e.e;
    ap.search.reranker = rr.r;
    hearth_model *m = NULL;
    hearth_context *ctx = NULL;
    hearth_rag_answer ans = {0};
    if (hearth_model_load(mpath, NULL, &m) != HEARTH_OK) {
        rc = cli_lib_error(cmd);
        goto done;
    }
    hearth_context_params cp = hearth_context_default_params();
    int32_t nt = hearth_model_n_ctx_train(m);
    cp.n_ctx = nt > 0 && nt < 4096 ? nt : 4096;
    cp.n_threads = (int)o->threads;
    if (hearth_context_create(m, &cp, &ctx) != HEARTH_OK) {
        rc = cli_lib_error(cmd);
        goto done;
    }
    if (hearth_rag_ask(r, ctx, m, o->pos[0], &ap, &ans) != HEARTH_OK) {
        rc = cli_lib_error(cmd);
        goto done;
    }
    if (o->json) {
        printf("{\"answer\":");
        cli_json_str(stdout, ans.text, strlen(ans.text));
        printf(",\"sources\":[");
        for (size_t i = 0; i < ans.sources.n; i++) {
            const hearth_rag_hit *h = &ans.sources.hits[i];
            printf("%s{\"n\":%zu,\"source\":", i ? "," : "", i + 1);
            cli_json_str(stdout, h->source, strlen(h->source));
            printf(",\"chunk\":%lld,\"score\":%.6g", (long long)h->chunk, h->score);
            if (h->page > 0) printf(",\"page\":%d", h->page);
            printf(",\"char_start\":%lld,\"char_end\":%lld,\"cited\":%s,\"text\":", (long long)h->char_start,
                   (long long)h->char_end, ans.cited[i] ? "true" : "false");
            cli_json_str(stdout, h->text, strlen(h->text));
            printf("}");
        }
        printf("],\"model\":");
        cli_json_str(stdout, mpath, strlen(mpath));
        printf(",\"stop_reason\":\"%s\",\"prompt_tokens\":%d,\"completion_tokens\":%d}\n",
               hearth_stop_reason_str(ans.stop_reason), ans.n_prompt, ans.n_generated);
    } else {
        printf("%s\n\nSources:\n", ans.text);
        for (size_t i = 0; i < ans.sources.n; i++) {
            const hearth_rag_hit *h = &ans.sources.hits[i];
            printf("[%zu] %s", i + 1, h->source);
            if (h->page) printf(", page %d", h->page);
            printf(", chunk %lld, bytes %lld-%lld%s\n", (long long)h->chunk, (long long)h->char_start,
                   (long long)h->char_end, ans.cited[i] ? " (cited)" : "");
        }
    }
done:
    hearth_rag_answer_clear(&ans);
    hearth_context_free(ctx);
    hearth_model_free(m);
    free_reranker(&rr);
    free_embedder(&e);
    hearth_rag_close(r);
    return rc;
}

/* ==== list / delete / snapshot / restore =================================================== */
static int do_list(const opts *o) {
    const char *cmd = "rag list";
    if (o->coll) {
        hearth_rag *r;
        if (hearth_rag_open(o->db, o->coll, false, &r) != HEARTH_OK) return cli_lib_error(cmd);
        hearth_rag_doc_info *d;
        size_t n;
        if (hearth_rag_docs(r, &d, &n) != HEARTH_OK) {
            hearth_rag_close(r);
            return cli_lib_error(cmd);
        }
        if (o->json) printf("{\"collection\":\"%s\",\"documents\":[", o->coll);
        for (size_t i = 0; i < n; i++) {
            if (o->json) {
                printf("%s{\"source\":", i ? "," : "");
                cli_json_str(stdout, d[i].source, strlen(d[i].source));
                printf(",\"format\":\"%s\",\"chunks\":%lld,\"file_bytes\":%lld,\"text_bytes\":%lld,\"hash\":\"%s\"",
                       d[i].format ? d[i].format : "", (long long)d[i].n_chunks, (long long)d[i].file_bytes,
                       (long long)d[i].text_bytes, d[i].hash);
                if (d[i].attributes) printf(",\"attributes\":%s", d[i].attributes);
                printf("}");
            } else {
                printf("%-6s %5lld chunks %9lld bytes  %s\n", d[i].format ? d[i].format : "", (long long)d[i].n_chunks,
                       (long long)d[i].file_bytes, d[i].source);
            }
        }
        if (o->json) printf("]}\n");
        hearth_rag_docs_free(d, n);
        hearth_rag_close(r);
        return 0;
    }
    char **names;
    size_t n;
    if (hearth_rag_list(o->db, &names, &n) != HEARTH_OK) return cli_lib_error(cmd);
    if (o->json) printf("{\"collections\":[");
    for (size_t i = 0; i < n; i++) {
        hearth_rag *r;
        hearth_rag_info info;
        memset(&info, 0, sizeof info);
        if (hearth_rag_open(o->db, names[i], false, &r) == HEARTH_OK) {
            hearth_rag_get_info(r, &info);
            hearth_rag_close(r);
        }
        if (o->json) {
            printf("%s{\"name\":\"%s\",\"documents\":%lld,\"chunks\":%lld,\"vectors\":%lld,\"dim\":%d,\"bytes\":%lld",
                   i ? "," : "", names[i], (long long)info.n_docs, (long long)info.n_chunks,
                   (long long)info.n_vectors, info.dim, (long long)info.file_bytes);
            json_opt_str("embed_model", info.embed_model[0] ? info.embed_model : NULL);
            printf("}");
        } else {
            printf("%-24s %6lld documents %8lld chunks %8lld vectors%s%s\n", names[i], (long long)info.n_docs,
                   (long long)info.n_chunks, (long long)info.n_vectors, info.embed_model[0] ? "  " : "",
                   info.embed_model);
        }
        hearth_rag_info_clear(&info);
    }
    if (o->json) printf("]}\n");
    else if (!n) printf("no collections in %s\n", o->db);
    hearth_rag_names_free(names, n);
    return 0;
}

static int do_delete(const opts *o) {
    const char *cmd = "rag delete";
    if (need_coll(cmd, o)) return 2;
    if (o->n_pos == 0) {
        if (hearth_rag_drop(o->db, o->coll) != HEARTH_OK) return cli_lib_error(cmd);
        printf("deleted collection %s\n", o->coll);
        return 0;
    }
    hearth_rag *r;
    if (hearth_rag_open(o->db, o->coll, false, &r) != HEARTH_OK) return cli_lib_error(cmd);
    int rc = 0;
    for (int i = 0; i < o->n_pos; i++) {
        /* as stored (absolute), or as given relative to here */
        char abs[4096];
        const char *src = o->pos[i];
        hearth_status st = hearth_rag_remove(r, src);
        if (st == HEARTH_ERR_NOT_FOUND && realpath(src, abs)) st = hearth_rag_remove(r, abs);
        if (st) rc = cli_lib_error(cmd);
        else printf("deleted %s\n", src);
    }
    hearth_rag_close(r);
    return rc;
}

static int do_snapshot(const opts *o, bool restore) {
    const char *cmd = restore ? "rag restore" : "rag snapshot";
    if (need_coll(cmd, o)) return 2;
    if (o->n_pos != 1) return cli_error(cmd, "give exactly one FILE"), 2;
    hearth_status st = restore ? hearth_rag_restore(o->db, o->coll, o->pos[0])
                               : hearth_rag_snapshot(o->db, o->coll, o->pos[0]);
    if (st) return cli_lib_error(cmd);
    printf("%s %s %s %s\n", restore ? "restored" : "snapshot of", o->coll, restore ? "from" : "to", o->pos[0]);
    return 0;
}

int cmd_rag(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    static const char *const SUBS[] = {"ingest", "search", "ask", "list", "delete", "snapshot", "restore"};
    bool known = false;
    for (size_t i = 0; i < sizeof SUBS / sizeof SUBS[0]; i++) known |= !strcmp(sub, SUBS[i]);
    if (!known)
        return cli_error("rag", "unknown command '%s' (ingest, search, ask, list, delete, snapshot, restore)", sub), 2;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "rag %s", sub);
    cli_install_logger();
    opts o;
    int rc = parse(cmd, argc - 1, argv + 1, &o);
    if (rc < 0) {
        if (!strcmp(sub, "ingest")) rc = do_ingest(&o);
        else if (!strcmp(sub, "search")) rc = do_search(&o);
        else if (!strcmp(sub, "ask")) rc = do_ask(&o);
        else if (!strcmp(sub, "list")) rc = do_list(&o);
        else if (!strcmp(sub, "delete")) rc = do_delete(&o);
        else rc = do_snapshot(&o, !strcmp(sub, "restore"));
    }
    free(o.pos);
    return rc;
}
