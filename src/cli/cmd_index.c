/*
 * cmd_index.c — `hearth index bench|stats`: the vector index from the command
 * line (include/hearth/index.h).
 *
 *   hearth index bench --base B.fvecs --queries Q.fvecs [--truth T.ivecs] -k 10
 *       --ef 10,16,32,64 --M 16 --ef-construction 200 -t 1
 *       [--labels L.txt --filter-label N] [--index FILE] [--out DIR] [--json]
 *
 * fvecs/ivecs are the TEXMEX format: per vector an int32 dimension, then that
 * many float32 (int32) values. Vectors are compared by inner product (cosine
 * on unit vectors) unless --metric says otherwise. Ids are the 0-based
 * positions in --base. Times are CPU time of the process
 * (CLOCK_PROCESS_CPUTIME_ID): build_s for the build, and qps from the best of
 * 3 passes over the queries, searched one at a time.
 */
#include "cli.h"
#include "hearth/core.h"
#include "hearth/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *const cmd_index_summary = "vector index: benchmark against references (bench), inspect a durable index (stats)";

static void usage(void) {
    printf("usage: hearth index bench --base B.fvecs --queries Q.fvecs [options]\n"
           "       hearth index stats DIR [--json]\n\n"
           "bench: builds an HNSW index over B (or loads it from --index), searches every\n"
           "query of Q one at a time for each --ef, and prints queries per second (CPU\n"
           "time, best of 3 passes) and recall@k against --truth.\n\n"
           "  --base FILE            base vectors (.fvecs); ids are their 0-based positions\n"
           "  --queries FILE         query vectors (.fvecs)\n"
           "  --truth FILE           true neighbours per query (.ivecs, best first): report recall@k\n"
           "  -k N                   neighbours per query (default 10)\n"
           "  --ef LIST              search candidate lists, comma-separated (default 10,16,32,64,128)\n"
           "  --M N                  links per node (default 16)\n"
           "  --ef-construction N    candidate list while building (default 200)\n"
           "  -t, --threads N        threads for the build (default 1; searches use one)\n"
           "  --labels FILE          one integer per line per base vector (stored as payload {\"label\": L})\n"
           "  --filter-label N       search only vectors with label N (a payload filter)\n"
           "  --index FILE           load the index from FILE when it exists, else build and save it there\n"
           "  --out DIR              write DIR/ef<EF>.ivecs: per query the k result ids, best first\n"
           "  --metric M             ip (default), cosine or l2\n"
           "  --int8                 walk the graph on int8 codes, re-rank with the floats\n"
           "  --json                 one object {\"build_s\", \"n\", \"dim\", \"results\": [{\"ef\", \"qps\", \"recall\"}]}\n\n"
           "stats: opens the durable index in DIR (replaying its log) and prints its counts.\n");
}

/* ==== TEXMEX files ========================================================== */

/* Reads an fvecs/ivecs file: n rows of d 4-byte values into *out (malloc'd). */
static int read_vecs(const char *path, void **out, size_t *n, int *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("index", "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) { fclose(f); return cli_error("index", "cannot stat %s", path); }
    int32_t dim;
    if (fread(&dim, 4, 1, f) != 1 || dim <= 0 || dim > 1 << 20) {
        fclose(f);
        return cli_error("index", "%s: not an fvecs/ivecs file (first dimension unreadable or out of range)", path);
    }
    size_t row = 4 + 4 * (size_t)dim;
    if ((size_t)sb.st_size % row != 0) {
        fclose(f);
        return cli_error("index", "%s: size %lld is not a multiple of the row size %zu (dimension %d)", path,
                         (long long)sb.st_size, row, dim);
    }
    size_t rows = (size_t)sb.st_size / row;
    uint8_t *buf = malloc(rows * 4 * (size_t)dim + 1);
    if (!buf) { fclose(f); return cli_error("index", "out of memory reading %s", path); }
    rewind(f);
    for (size_t i = 0; i < rows; i++) {
        int32_t di;
        if (fread(&di, 4, 1, f) != 1 || di != dim || fread(buf + i * 4 * (size_t)dim, 4, (size_t)dim, f) != (size_t)dim) {
            free(buf);
            fclose(f);
            return cli_error("index", "%s: row %zu has dimension %d, not %d (or is truncated)", path, i, di, dim);
        }
    }
    fclose(f);
    *out = buf;
    *n = rows;
    *d = dim;
    return 0;
}

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int parse_ef_list(const char *s, int64_t **out, size_t *n) {
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy) return 1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int64_t v;
        if (!cli_parse_int(tok, &v) || v <= 0 || v > 100000) {
            free(copy);
            return cli_error("index", "--ef: \"%s\" is not a positive integer", tok);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *t = realloc(*out, cap * sizeof *t);
            if (!t) { free(copy); return 1; }
            *out = t;
        }
        (*out)[(*n)++] = v;
    }
    free(copy);
    return *n ? 0 : cli_error("index", "--ef: empty list");
}

static int read_labels(const char *path, size_t n, int64_t **out) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("index", "cannot open %s: %s", path, strerror(errno));
    int64_t *l = malloc(n * sizeof *l + 1);
    char line[64];
    size_t i = 0;
    while (l && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        if (i == n || !cli_parse_int(line, &l[i])) {
            fclose(f);
            free(l);
            return cli_error("index", "%s: line %zu: %s", path, i + 1, i == n ? "more labels than base vectors" : "not an integer");
        }
        i++;
    }
    fclose(f);
    if (!l) return cli_error("index", "out of memory");
    if (i != n) { free(l); return cli_error("index", "%s: %zu labels for %zu base vectors", path, i, n); }
    *out = l;
    return 0;
}

/* ==== bench ================================================================== */

static int bench(int argc, char **argv) {
    const char *base = NULL, *queries = NULL, *truth = NULL, *labels = NULL, *index = NULL, *outdir = NULL;
    const char *ef_list = "10,16,32,64,128", *metric = "ip";
    int64_t k = 10, M = 16, efc = 200, threads = 1, filter_label = 0;
    bool json = false, int8 = false, have_filter = false;
    cli_args a = cli_args_init("index bench", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--base", &base)) continue;
        if (cli_opt(&a, NULL, "--queries", &queries)) continue;
        if (cli_opt(&a, NULL, "--truth", &truth)) continue;
        if (cli_opt_int(&a, "-k", "--k", &k)) continue;
        if (cli_opt(&a, NULL, "--ef", &ef_list)) continue;
        if (cli_opt_int(&a, NULL, "--M", &M)) continue;
        if (cli_opt_int(&a, NULL, "--ef-construction", &efc)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_opt(&a, NULL, "--labels", &labels)) continue;
        if (cli_opt_int(&a, NULL, "--filter-label", &filter_label)) { have_filter = true; continue; }
        if (cli_opt(&a, NULL, "--index", &index)) continue;
        if (cli_opt(&a, NULL, "--out", &outdir)) continue;
        if (cli_opt(&a, NULL, "--metric", &metric)) continue;
        if (cli_flag(&a, NULL, "--int8")) { int8 = true; continue; }
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!base || !queries) return cli_error("index", "bench needs --base and --queries (see hearth index --help)");
    if (k <= 0 || k > 10000) return cli_error("index", "-k must be 1..10000");
    if (have_filter && !labels) return cli_error("index", "--filter-label needs --labels");
    if (threads <= 0) threads = 1;
    hearth_index_params p = hearth_index_default_params();
    if (hearth_index_metric_parse(metric, &p.metric)) return cli_lib_error("index");
    p.M = (int32_t)M;
    p.ef_construction = (int32_t)efc;
    p.n_threads = (int32_t)threads;
    p.quantize_int8 = int8;
    int64_t *efs = NULL;
    size_t n_ef = 0;
    if (parse_ef_list(ef_list, &efs, &n_ef)) return 1;

    float *bv = NULL, *qv = NULL;
    int32_t *tv = NULL;
    int64_t *lab = NULL;
    size_t nb = 0, nq = 0, nt = 0;
    int db = 0, dq = 0, dt = 0, rc = 1;
    hearth_index *ix = NULL;
    hearth_index_filter *filter = NULL;
    uint64_t *ids = NULL;
    hearth_index_hit *hits = NULL;
    int32_t *rows = NULL;
    double *recalls = NULL, *qps = NULL;
    if (read_vecs(base, (void **)&bv, &nb, &db) || read_vecs(queries, (void **)&qv, &nq, &dq)) goto done;
    if (db != dq) { cli_error("index", "%s has dimension %d but %s has %d", base, db, queries, dq); goto done; }
    if (truth) {
        if (read_vecs(truth, (void **)&tv, &nt, &dt)) goto done;
        if (nt != nq) { cli_error("index", "%s has %zu rows for %zu queries", truth, nt, nq); goto done; }
        if (dt < k) { cli_error("index", "%s has %d neighbours per query, fewer than k = %lld", truth, dt, (long long)k); goto done; }
    }
    if (labels && read_labels(labels, nb, &lab)) goto done;
    p.dim = db;

    /* build or load */
    double build_s = 0;
    bool loaded = false;
    struct stat sb;
    if (index && stat(index, &sb) == 0) {
        double t0 = cpu_s();
        if (hearth_index_load(index, &p, &ix)) { cli_lib_error("index"); goto done; }
        build_s = cpu_s() - t0;
        loaded = true;
        if (hearth_index_count(ix) != nb) {
            cli_error("index", "%s holds %zu vectors but %s has %zu", index, hearth_index_count(ix), base, nb);
            goto done;
        }
    } else {
        if (hearth_index_create(&p, &ix)) { cli_lib_error("index"); goto done; }
        ids = malloc(nb * sizeof *ids);
        if (!ids) { cli_error("index", "out of memory"); goto done; }
        for (size_t i = 0; i < nb; i++) ids[i] = i;
        char **pl = NULL;
        if (lab) {
            pl = calloc(nb, sizeof *pl);
            for (size_t i = 0; pl && i < nb; i++) {
                pl[i] = malloc(40);
                if (pl[i]) snprintf(pl[i], 40, "{\"label\":%lld}", (long long)lab[i]);
            }
        }
        bool tty = cli_stderr_tty() && !json;
        double t0 = cpu_s(), w0 = hearth_time_s();
        size_t chunk = 10000;
        hearth_status st = HEARTH_OK;
        for (size_t i = 0; i < nb && !st; i += chunk) {
            size_t m = nb - i < chunk ? nb - i : chunk;
            st = hearth_index_upsert_batch(ix, m, ids + i, bv + i * (size_t)db, pl ? (const char *const *)pl + i : NULL);
            if (tty) {
                double el = hearth_time_s() - w0, rate = (double)(i + m) / (el > 0 ? el : 1e-9);
                fprintf(stderr, "\rbuilding: %zu/%zu  %.0f vectors/s  %.0f s left   ", i + m, nb, rate, (double)(nb - i - m) / rate);
            }
        }
        build_s = cpu_s() - t0;
        if (tty) fprintf(stderr, "\n");
        for (size_t i = 0; pl && i < nb; i++) free(pl[i]);
        free(pl);
        if (st) { cli_lib_error("index"); goto done; }
        if (index && hearth_index_save(ix, index)) { cli_lib_error("index"); goto done; }
    }
    if (have_filter) {
        char f[64];
        snprintf(f, sizeof f, "{\"label\": %lld}", (long long)filter_label);
        if (hearth_index_filter_parse(f, &filter)) { cli_lib_error("index"); goto done; }
    }
    if (outdir && mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        cli_error("index", "cannot create %s: %s", outdir, strerror(errno));
        goto done;
    }

    /* search */
    hits = malloc((size_t)k * sizeof *hits);
    rows = malloc(nq * (size_t)k * sizeof *rows);
    recalls = calloc(n_ef, sizeof *recalls);
    qps = calloc(n_ef, sizeof *qps);
    if (!hits || !rows || !recalls || !qps) { cli_error("index", "out of memory"); goto done; }
    for (size_t e = 0; e < n_ef; e++) {
        hearth_index_search_params sp = hearth_index_default_search_params();
        sp.ef = (int32_t)efs[e];
        sp.filter = filter;
        double best = 0;
        for (int pass = 0; pass < 3; pass++) {
            double t0 = cpu_s();
            for (size_t q = 0; q < nq; q++) {
                size_t n = 0;
                if (hearth_index_search(ix, qv + q * (size_t)db, (size_t)k, &sp, hits, &n)) { cli_lib_error("index"); goto done; }
                if (pass == 0)
                    for (int64_t j = 0; j < k; j++) rows[q * k + j] = j < (int64_t)n ? (int32_t)hits[j].id : -1;
            }
            double t = cpu_s() - t0;
            if (pass == 0 || t < best) best = t;
        }
        qps[e] = (double)nq / (best > 0 ? best : 1e-9);
        if (tv) {
            double hit = 0;
            for (size_t q = 0; q < nq; q++)
                for (int64_t j = 0; j < k; j++)
                    for (int64_t t = 0; t < k; t++)
                        if (rows[q * k + j] >= 0 && rows[q * k + j] == tv[q * (size_t)dt + t]) { hit++; break; }
            recalls[e] = hit / ((double)nq * (double)k);
        }
        if (outdir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/ef%lld.ivecs", outdir, (long long)efs[e]);
            FILE *f = fopen(path, "wb");
            int32_t kk = (int32_t)k;
            bool ok = f != NULL;
            for (size_t q = 0; ok && q < nq; q++)
                ok = fwrite(&kk, 4, 1, f) == 1 && fwrite(rows + q * k, 4, (size_t)k, f) == (size_t)k;
            if (f && fclose(f) != 0) ok = false;
            if (!ok) { cli_error("index", "cannot write %s", path); goto done; }
        }
        if (!json) {
            if (e == 0)
                printf("%s %zu x %d, %s in %.2f s CPU (M %lld, ef_construction %lld, %lld threads%s)\n%8s %12s %8s\n",
                       loaded ? "loaded" : "built", nb, db, loaded ? "loaded" : "built", build_s, (long long)M,
                       (long long)efc, (long long)threads, int8 ? ", int8" : "", "ef", "queries/s", tv ? "recall" : "");
            printf("%8lld %12.0f", (long long)efs[e], qps[e]);
            if (tv) printf(" %8.4f", recalls[e]);
            printf("\n");
            fflush(stdout);
        }
    }
    if (json) {
        printf("{\"build_s\": %.3f, \"n\": %zu, \"dim\": %d, \"loaded\": %s, \"results\": [", build_s, nb, db,
               loaded ? "true" : "false");
        for (size_t e = 0; e < n_ef; e++) {
            printf("%s{\"ef\": %lld, \"qps\": %.1f", e ? ", " : "", (long long)efs[e], qps[e]);
            if (tv) printf(", \"recall\": %.4f", recalls[e]);
            printf("}");
        }
        printf("]}\n");
    }
    rc = 0;
done:
    hearth_index_close(ix);
    hearth_index_filter_free(filter);
    free(bv); free(qv); free(tv); free(lab); free(ids); free(hits); free(rows); free(recalls); free(qps); free(efs);
    return rc;
}

/* ==== stats ================================================================== */

static int stats(int argc, char **argv) {
    bool json = false;
    cli_args a = cli_args_init("index stats", argc, argv);
    while (cli_next(&a)) {
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos != 1) return cli_error("index", "stats needs one directory");
    struct stat sb;
    if (stat(a.pos[0], &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cli_error("index", "%s is not a directory holding an index", a.pos[0]);
    hearth_index *ix;
    if (hearth_index_open(a.pos[0], NULL, &ix)) return cli_lib_error("index");
    hearth_index_stats s;
    hearth_index_get_stats(ix, &s);
    if (json) {
        printf("{\"count\": %zu, \"deleted\": %zu, \"dim\": %d, \"metric\": \"%s\", \"M\": %d, \"ef_construction\": %d, "
               "\"int8\": %s, \"memory_bytes\": %zu, \"generation\": %llu, \"wal_bytes\": %llu, \"replayed\": %llu, \"recovery\": ",
               s.count, s.deleted, s.dim, hearth_index_metric_name(s.metric), s.M, s.ef_construction,
               s.quantize_int8 ? "true" : "false", s.memory_bytes, (unsigned long long)s.generation,
               (unsigned long long)s.wal_bytes, (unsigned long long)s.replayed);
        cli_json_str(stdout, s.recovery, strlen(s.recovery));
        printf("}\n");
    } else {
        printf("%s: %zu items (%zu deleted), dim %d, %s, M %d, ef_construction %d%s\n", a.pos[0], s.count, s.deleted,
               s.dim, hearth_index_metric_name(s.metric), s.M, s.ef_construction, s.quantize_int8 ? ", int8" : "");
        printf("memory %.1f MB, generation %llu, log %llu bytes, %llu records replayed\n", s.memory_bytes / 1e6,
               (unsigned long long)s.generation, (unsigned long long)s.wal_bytes, (unsigned long long)s.replayed);
        if (s.recovery[0]) printf("recovery: %s\n", s.recovery);
    }
    hearth_index_close(ix);
    return 0;
}

int cmd_index(int argc, char **argv) {
    cli_install_logger();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "bench")) return bench(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats")) return stats(argc - 1, argv + 1);
    return cli_error("index", "unknown subcommand \"%s\" (expected bench or stats)", argv[1]);
}
