/*
 * cmd_merge.c — `hearth merge`: folds LoRA adapters into a base model and
 * writes the merged GGUF (optionally in another type, quantized included).
 */
#include "cli.h"

#include "hearth/adapter.h"
#include "hearth/types.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_merge_summary = "merge LoRA adapters into a model (GGUF out, optionally quantized)";

#define MAX_LORA 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth merge -m BASE.gguf --lora ADAPTER[:S] [--lora ...] -o OUT.gguf [--type TYPE]\n"
            "\n"
            "Writes OUT.gguf with W' = W + S * alpha/r * B A for every weight the adapters target\n"
            "(alpha/sqrt(r) for rsLoRA); every other tensor and all metadata are copied.\n"
            "\n"
            "  -m, --model FILE          the base model (GGUF)\n"
            "      --lora FILE[:S]       a GGUF LoRA adapter or a PEFT folder, at scale S (default 1);\n"
            "                            repeatable: the adapters add up\n"
            "  -o, --output FILE         the merged model to write\n"
            "      --type TYPE           store the weight matrices as TYPE: F32, F16, BF16, Q8_0, Q4_0,\n"
            "                            Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (Q4_K_M and the\n"
            "                            like are read as their base type); default: each tensor keeps\n"
            "                            the base model's type. Norms and vectors stay as they are.\n"
            "  -q, --quiet               no progress\n");
}

typedef struct progress_state {
    bool tty;
    double t0;
} progress_state;

static void on_progress(int64_t done, int64_t total, void *user) {
    progress_state *p = user;
    if (!p->tty) return;
    double el = hearth_time_s() - p->t0, left = done ? el / done * (total - done) : 0;
    fprintf(stderr, "\rhearth merge: %lld/%lld tensors, %.1f s, %.1f s left   ", (long long)done, (long long)total,
            el, left);
    if (done == total) fputc('\n', stderr);
}

/* "Q4_K_M" -> Q4_K; "f16" -> F16; -1 if unknown */
static int parse_type(const char *s) {
    int t = hearth_type_from_name(s);
    if (t >= 0) return t;
    size_t n = strlen(s);
    if (n > 2 && s[n - 2] == '_' && strchr("SMLsml", s[n - 1])) {
        char buf[16];
        if (n - 2 >= sizeof buf) return -1;
        memcpy(buf, s, n - 2);
        buf[n - 2] = 0;
        return hearth_type_from_name(buf);
    }
    return -1;
}

int cmd_merge(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *type_name = NULL, *v = NULL;
    const char *specs[MAX_LORA];
    int n_lora = 0;
    bool quiet = false;
    cli_args a = cli_args_init("merge", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, "-o", "--output", &out)) continue;
        if (cli_opt(&a, NULL, "--type", &type_name)) continue;
        if (cli_flag(&a, "-q", "--quiet")) { quiet = true; continue; }
        if (cli_opt(&a, NULL, "--lora", &v)) {
            if (!v) continue;
            if (n_lora == MAX_LORA) return cli_error("merge", "too many --lora adapters (at most %d)", MAX_LORA), 2;
            specs[n_lora++] = v;
            continue;
        }
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("merge", "unexpected argument '%s'", a.pos[0]), 2;
    if (!model) return cli_error("merge", "no base model: pass -m BASE.gguf (see hearth merge --help)"), 2;
    if (!out) return cli_error("merge", "no output: pass -o OUT.gguf"), 2;
    if (n_lora == 0 && !type_name) return cli_error("merge", "nothing to do: give --lora ADAPTER (or --type to convert)"), 2;
    int type = -1;
    if (type_name) {
        type = parse_type(type_name);
        const hearth_type_info *ti = type >= 0 ? hearth_type_get((uint32_t)type) : NULL;
        if (!ti || type == HEARTH_TYPE_Q8_1 || type == HEARTH_TYPE_Q8_K || (ti->quantized && type > HEARTH_TYPE_Q6_K) ||
            type == HEARTH_TYPE_F64 || (type >= HEARTH_TYPE_I8 && type <= HEARTH_TYPE_I64))
            return cli_error("merge", "--type %s: not a type hearth writes (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                             "Q5_1, Q2_K ... Q6_K)", type_name), 2;
    }

    hearth_gguf *base = NULL;
    hearth_adapter *ads[MAX_LORA] = {0};
    float scales[MAX_LORA];
    int rc = 0;
    if (hearth_gguf_open(model, &base) != HEARTH_OK) return cli_lib_error("merge");
    for (int i = 0; i < n_lora && !rc; i++) {
        char *path = NULL;
        if (hearth_adapter_parse_spec(specs[i], &path, &scales[i]) != HEARTH_OK ||
            hearth_adapter_load(path, base, &ads[i]) != HEARTH_OK)
            rc = cli_lib_error("merge");
        free(path);
    }
    if (!rc) {
        progress_state ps = {!quiet && cli_stderr_tty(), hearth_time_s()};
        if (hearth_adapter_merge(model, (const hearth_adapter *const *)ads, scales, n_lora, type, out, on_progress,
                                 &ps) != HEARTH_OK)
            rc = cli_lib_error("merge");
        else if (!quiet)
            fprintf(stderr, "hearth merge: wrote %s (%d adapter%s, %.1f s)\n", out, n_lora, n_lora == 1 ? "" : "s",
                    hearth_time_s() - ps.t0);
    }
    for (int i = 0; i < n_lora; i++) hearth_adapter_free(ads[i]);
    hearth_gguf_close(base);
    return rc;
}
