/*
 * cmd_quantize.c — `hearth quantize IN OUT TYPE`: a GGUF model in another
 * tensor type or mixed preset (the library: include/hearth/quantize.h).
 */
#include "cli.h"

#include "hearth/core.h"
#include "hearth/quantize.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cmd_quantize_summary = "quantize a GGUF model (Q4_K_M, Q8_0, Q4_0, ... as llama-quantize)";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth quantize [options] IN.gguf OUT.gguf TYPE\n"
            "\n"
            "Writes OUT.gguf with IN's weight matrices in TYPE, with the same per-tensor choices as\n"
            "llama.cpp's llama-quantize presets (no importance matrix): e.g. Q4_K_M keeps Q6_K for\n"
            "the output / tied embedding and for some attn_v and ffn_down layers. Norms and other\n"
            "vectors stay F32. The file loads in other GGUF engines.\n"
            "\n"
            "TYPE: Q2_K Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K\n"
            "      Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 F16 BF16 F32           (presets, as llama-quantize)\n"
            "      Q3_K Q4_K Q5_K                                  (every matrix in that type)\n"
            "\n"
            "  -t, --threads N    threads (default 2)\n"
            "      --pure         no per-tensor rules: every matrix in TYPE's base type\n"
            "  -q, --quiet        no progress\n");
}

typedef struct progress_state {
    bool tty, quiet;
    double t0;
    const char *out;
} progress_state;

static const char *tname(uint32_t t) {
    const hearth_type_info *i = hearth_type_get(t);
    return i ? i->name : "?";
}

static void on_progress(void *user, int i, int n, const char *name, uint32_t tin, uint32_t tout, uint64_t done,
                        uint64_t total) {
    progress_state *p = user;
    if (p->quiet) return;
    double el = hearth_time_s() - p->t0, mbs = el > 0 ? done / 1e6 / el : 0;
    double left = done && done < total ? el / (double)done * (double)(total - done) : 0;
    if (p->tty) {
        fprintf(stderr, "\rhearth quantize: [%d/%d] %5.1f%% %7.1f MB/s %5.0f s left  %-28.28s %s -> %-5s", i, n,
                total ? 100.0 * (double)done / (double)total : 100.0, mbs, left, name, tname(tin), tname(tout));
        if (i == n) fputc('\n', stderr);
    } else {
        fprintf(stderr, "hearth quantize: [%d/%d] %s %s -> %s (%.1f MB/s)\n", i, n, name, tname(tin), tname(tout), mbs);
    }
}

int cmd_quantize(int argc, char **argv) {
    int64_t threads = 2;
    bool quiet = false, pure = false;
    cli_args a = cli_args_init("quantize", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_flag(&a, "-q", "--quiet")) { quiet = true; continue; }
        if (cli_flag(&a, NULL, "--pure")) { pure = true; continue; }
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos != 3) {
        usage(stderr);
        return cli_error("quantize", "expected IN.gguf OUT.gguf TYPE (got %d argument%s)", a.n_pos,
                         a.n_pos == 1 ? "" : "s"), 2;
    }
    if (threads < 1 || threads > 256) return cli_error("quantize", "--threads must be 1..256 (got %lld)", (long long)threads), 2;
    const char *in = a.pos[0], *out = a.pos[1], *type = a.pos[2];
    if (hearth_quantize_preset(type, NULL, NULL)) return cli_error("quantize", "%s", hearth_last_error()), 2;
    if (strcmp(in, out) == 0) return cli_error("quantize", "IN and OUT are the same file (%s)", in), 2;

    progress_state ps = {.tty = isatty(2), .quiet = quiet, .t0 = hearth_time_s(), .out = out};
    hearth_quantize_params p = hearth_quantize_default_params();
    p.n_threads = (int)threads;
    p.pure = pure;
    p.progress = on_progress;
    p.progress_user = &ps;
    if (hearth_quantize_file(in, out, type, &p)) return cli_error("quantize", "%s", hearth_last_error());
    if (!quiet) fprintf(stderr, "hearth quantize: wrote %s (%s) in %.1f s\n", out, type, hearth_time_s() - ps.t0);
    return 0;
}
