/*
 * cmd_train.c — `hearth train`: LoRA (default), full fine-tuning (--full) or
 * pretraining a new small model (--init) on a JSONL file. Options in, progress
 * and Ctrl-C out; the loop (epochs, batches, packing, evaluation, checkpoints)
 * is the library's hearth_train_run (hearth/train.h).
 */
#include "cli.h"
#include "models_register.h"
#include "kernels/kernels.h"
#include "hearth/train.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

const char *const cmd_train_summary = "fine-tune a model (LoRA or full) or pretrain a small one on JSONL data";

static void usage(void) {
    printf("usage: hearth train -m BASE.gguf --data FILE.jsonl -o OUT [options]\n"
           "       hearth train --init --tokenizer TOK.gguf --data FILE.jsonl -o OUT.gguf [shape] [options]\n\n"
           "LoRA by default: the base model stays frozen (read in its stored type) and OUT\n"
           "is the adapter: OUT.gguf a GGUF LoRA adapter (llama.cpp layout), any other\n"
           "name (e.g. outdir/) a PEFT folder. --full trains every weight and\n"
           "writes a model; --init starts a new model from random weights.\n\n"
           "data (one JSON object per line):\n"
           "  {\"instruction\",\"input\"?,\"output\",\"system\"?}  {\"messages\":[{\"role\",\"content\"}..]}\n"
           "  {\"prompt\",\"completion\"}  {\"text\"}\n"
           "  the loss covers the answer tokens only, unless --train-on-all\n\n"
           "  -m, --model FILE        base model (default: the built-in model)\n"
           "  --data FILE             training records (JSONL)\n"
           "  -o, --out FILE          adapter (LoRA) or model (--full, --init) to write\n"
           "  --lora-r N              LoRA rank (8)\n"
           "  --lora-alpha X          LoRA alpha (32); scale alpha/r\n"
           "  --rslora                scale alpha/sqrt(r)\n"
           "  --lora-plus X           LoRA+: B learns X times faster than A (0: off)\n"
           "  --lora-dropout X        dropout on the LoRA input (0.05)\n"
           "  --lora-targets LIST     q,k,v,o,gate,up,down, all, or globs over tensor names (q,v)\n"
           "  --lora-layers LIST      layers to adapt, e.g. 0-3,7 (all)\n"
           "  --lora-init PATH        start from this adapter (PEFT folder or GGUF) instead of a random one;\n"
           "                          same rank, alpha and targets\n"
           "  --full                  full fine-tuning (F32 weights in memory)\n"
           "  --epochs N              passes over the data (1)\n"
           "  --max-steps N           stop after N optimizer steps (0: no limit)\n"
           "  --stop-after N          act as if interrupted after step N (checkpoint, exit 130)\n"
           "  --lr X                  peak learning rate (2e-4 LoRA, 1e-4 --full, 1e-3 --init)\n"
           "  --schedule S            cosine, linear or constant (cosine)\n"
           "  --warmup N              warmup steps (0)\n"
           "  --weight-decay X        AdamW decoupled weight decay (0)\n"
           "  --grad-clip X           clip the global gradient norm (1.0; 0: off)\n"
           "  --batch B               sequences per micro-batch (1)\n"
           "  --grad-accum G          micro-batches per optimizer step (1)\n"
           "  --ctx C                 longest sequence; longer records are cut (512)\n"
           "  --pack                  pack several records into each sequence of up to --ctx tokens\n"
           "                          (each attends only to itself; RoPE restarts per record)\n"
           "  --recompute             keep only each layer's input, rebuild the rest in the backward\n"
           "                          (less memory, about a third more compute)\n"
           "  --compute auto|exact|int8  LoRA: multiply by the frozen base in int8 (packed tiles forward, a\n"
           "                          Q8_0 copy of each W^T backward; AVX-512 VNNI) or exactly (F32\n"
           "                          backward); auto: int8 for a quantized base (auto)\n"
           "  --eval-split F          fraction of the records held out (not trained on) and evaluated\n"
           "                          after each epoch (0: none, every record is trained on)\n"
           "  --seed S                data order, held-out split, initialisation, dropout (42)\n"
           "  --train-on-all          loss on every token, prompts included\n"
           "  --chat-format NAME      render records with this format (default: from the model)\n"
           "  --checkpoint FILE       checkpoint path (OUT.ckpt)\n"
           "  --checkpoint-every N    write a checkpoint every N steps (0: only on Ctrl-C)\n"
           "  --resume FILE           continue from a checkpoint\n"
           "  --out-type f32|f16      weights of a written model (f16)\n"
           "  -t, --threads N         threads (all CPUs)\n"
           "  -q, --quiet             no progress\n"
           MODELS_REGISTER_HELP "\n"
           "--init shape: --tokenizer FILE.gguf (tokenizer.* copied) --dim N --layers N --heads N\n"
           "              [--kv-heads N] --ffn N [--ctx N] [--untied]\n");
}

static volatile sig_atomic_t g_stop = 0;
static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1;
}

/* progress on stderr: one rewritten line on a terminal, plain lines otherwise */
typedef struct progress {
    bool tty, quiet;
    const char *resume;
} progress;

static bool on_progress(const hearth_train_progress *p, void *user) {
    const progress *pg = user;
    if (p->event == HEARTH_TRAIN_RESUMED) {
        if (!pg->quiet)
            fprintf(stderr, "resumed from %s at step %lld (epoch %lld)\n", pg->resume, (long long)p->step,
                    (long long)p->epoch);
    } else if (p->event == HEARTH_TRAIN_EVAL) {
        if (pg->tty) fputc('\n', stderr);
        if (!pg->quiet)
            fprintf(stderr, "epoch %lld: eval loss %.4f, perplexity %.3f\n", (long long)p->epoch, p->loss, exp(p->loss));
    } else if (pg->tty) {
        fprintf(stderr, "\rstep %lld/%lld  epoch %lld  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s  %.0f s left   ",
                (long long)p->step, (long long)p->total_steps, (long long)p->epoch, p->loss, p->lr, p->grad_norm,
                p->tokens_per_s, p->seconds_left);
    } else if (!pg->quiet) {
        fprintf(stderr, "step %lld/%lld epoch %lld loss %.4f lr %.3e grad_norm %.3f tok/s %.1f left_s %.0f\n",
                (long long)p->step, (long long)p->total_steps, (long long)p->epoch, p->loss, p->lr, p->grad_norm,
                p->tokens_per_s, p->seconds_left);
    }
    return !g_stop;
}

int cmd_train(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *out = NULL, *targets = "q,v", *layers = NULL, *ckpt = NULL;
    const char *resume = NULL, *schedule = "cosine", *out_type = "f16", *tokenizer = NULL, *chat_format = NULL;
    const char *compute = "auto", *lora_init = NULL, *reg = NULL, *store = NULL;
    int64_t r = 8, epochs = 1, batch = 1, accum = 1, ctx = 512, seed = 42, ck_every = 0, threads = 0, warmup = 0;
    int64_t max_steps = 0, stop_after = 0, dim = 0, n_layers = 0, heads = 0, kv_heads = 0, ffn = 0;
    double lora_plus = 0, alpha = 32, dropout = 0.05, lr = -1, eval_split = 0, wd = 0, clip = 1.0;
    bool full = false, init = false, rslora = false, all = false, quiet = false, untied = false;
    bool pack = false, recompute = false;
    cli_args a = cli_args_init("train", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, NULL, "--data", &data)) continue;
        if (cli_opt(&a, NULL, "--register", &reg)) continue;
        if (cli_opt(&a, NULL, "--store", &store)) continue;
        if (cli_opt(&a, "-o", "--out", &out)) continue;
        if (cli_opt_int(&a, NULL, "--lora-r", &r)) continue;
        if (cli_opt_float(&a, NULL, "--lora-alpha", &alpha)) continue;
        if (cli_opt_float(&a, NULL, "--lora-dropout", &dropout)) continue;
        if (cli_opt(&a, NULL, "--lora-targets", &targets)) continue;
        if (cli_opt(&a, NULL, "--lora-layers", &layers)) continue;
        if (cli_opt(&a, NULL, "--lora-init", &lora_init)) continue;
        if (cli_flag(&a, NULL, "--rslora")) { rslora = true; continue; }
        if (cli_opt_float(&a, NULL, "--lora-plus", &lora_plus)) continue;
        if (cli_flag(&a, NULL, "--full")) { full = true; continue; }
        if (cli_flag(&a, NULL, "--init")) { init = true; continue; }
        if (cli_opt_int(&a, NULL, "--epochs", &epochs)) continue;
        if (cli_opt_int(&a, NULL, "--max-steps", &max_steps)) continue;
        if (cli_opt_int(&a, NULL, "--stop-after", &stop_after)) continue;
        if (cli_opt_float(&a, NULL, "--lr", &lr)) continue;
        if (cli_opt(&a, NULL, "--schedule", &schedule)) continue;
        if (cli_opt_int(&a, NULL, "--warmup", &warmup)) continue;
        if (cli_opt_float(&a, NULL, "--weight-decay", &wd)) continue;
        if (cli_opt_float(&a, NULL, "--grad-clip", &clip)) continue;
        if (cli_opt_int(&a, NULL, "--batch", &batch)) continue;
        if (cli_opt_int(&a, NULL, "--grad-accum", &accum)) continue;
        if (cli_opt_int(&a, "-c", "--ctx", &ctx)) continue;
        if (cli_flag(&a, NULL, "--pack")) { pack = true; continue; }
        if (cli_flag(&a, NULL, "--recompute")) { recompute = true; continue; }
        if (cli_opt(&a, NULL, "--compute", &compute)) continue;
        if (cli_opt_float(&a, NULL, "--eval-split", &eval_split)) continue;
        if (cli_opt_int(&a, NULL, "--seed", &seed)) continue;
        if (cli_flag(&a, NULL, "--train-on-all")) { all = true; continue; }
        if (cli_opt(&a, NULL, "--chat-format", &chat_format)) continue;
        if (cli_opt(&a, NULL, "--checkpoint", &ckpt)) continue;
        if (cli_opt_int(&a, NULL, "--checkpoint-every", &ck_every)) continue;
        if (cli_opt(&a, NULL, "--resume", &resume)) continue;
        if (cli_opt(&a, NULL, "--out-type", &out_type)) continue;
        if (cli_opt(&a, NULL, "--tokenizer", &tokenizer)) continue;
        if (cli_opt_int(&a, NULL, "--dim", &dim)) continue;
        if (cli_opt_int(&a, NULL, "--layers", &n_layers)) continue;
        if (cli_opt_int(&a, NULL, "--heads", &heads)) continue;
        if (cli_opt_int(&a, NULL, "--kv-heads", &kv_heads)) continue;
        if (cli_opt_int(&a, NULL, "--ffn", &ffn)) continue;
        if (cli_flag(&a, NULL, "--untied")) { untied = true; continue; }
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_flag(&a, "-q", "--quiet")) { quiet = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!data) return cli_error("train", "no --data FILE.jsonl given (see hearth train --help)");
    if (!out) return cli_error("train", "no -o OUT given (see hearth train --help)");
    if (reg && models_register_check("train", store, reg, out)) return 1;
    if (epochs < 1 || batch < 1 || accum < 1 || r < 1 || ctx < 2 || ck_every < 0 || max_steps < 0 || warmup < 0)
        return cli_error("train", "--epochs, --batch, --grad-accum, --lora-r must be >= 1, --ctx >= 2, and step "
                         "counts >= 0");
    if (!(eval_split >= 0 && eval_split < 1)) return cli_error("train", "--eval-split %g not in [0, 1)", eval_split);
    uint32_t wtype = HEARTH_TYPE_F16;
    if (strcmp(out_type, "f32") == 0) wtype = HEARTH_TYPE_F32;
    else if (strcmp(out_type, "f16") != 0) return cli_error("train", "--out-type %s: expected f32 or f16", out_type);
    hearth_lr_schedule sched = HEARTH_LR_COSINE;
    if (strcmp(schedule, "linear") == 0) sched = HEARTH_LR_LINEAR;
    else if (strcmp(schedule, "constant") == 0) sched = HEARTH_LR_CONSTANT;
    else if (strcmp(schedule, "cosine") != 0) return cli_error("train", "--schedule %s: cosine, linear or constant", schedule);
    hearth_train_compute comp = HEARTH_TRAIN_COMPUTE_AUTO;
    if (strcmp(compute, "exact") == 0) comp = HEARTH_TRAIN_COMPUTE_EXACT;
    else if (strcmp(compute, "int8") == 0) comp = HEARTH_TRAIN_COMPUTE_INT8;
    else if (strcmp(compute, "auto") != 0) return cli_error("train", "--compute %s: auto, exact or int8", compute);
    cli_install_logger();

    /* model or tokenizer */
    hearth_model *m = NULL;
    const char *base_path = NULL;   /* the base model's file (lineage) */
    hearth_gguf *tokg = NULL;
    hearth_vocab *vocab = NULL;
    if (init) {
        if (!tokenizer) return cli_error("train", "--init needs --tokenizer FILE.gguf");
        if (!dim || !n_layers || !heads || !ffn) return cli_error("train", "--init needs --dim, --layers, --heads and --ffn");
        if (hearth_gguf_open(tokenizer, &tokg) || hearth_vocab_load(tokg, &vocab)) {
            hearth_gguf_close(tokg);
            return cli_lib_error("train");
        }
    } else {
        const char *path = cli_model_or_default("train", model);
        if (!path) return 1;
        if (hearth_model_load(path, NULL, &m)) return cli_lib_error("train");
        base_path = path;
    }
    int rc = 1;
    hearth_train_data *train = NULL, *held = NULL;
    hearth_trainer *t = NULL;
    hearth_data_params dp = {.train_on_all = all, .n_ctx = (int32_t)ctx, .chat_format = chat_format};
    if (hearth_train_data_load(data, m, m ? NULL : vocab, &dp, &train) ||
        hearth_train_data_split(train, eval_split, (uint64_t)seed, &held)) {
        cli_lib_error("train");
        goto done;
    }
    hearth_train_run_params rp = hearth_train_run_default_params();
    rp.epochs = (int32_t)epochs, rp.max_steps = max_steps, rp.stop_after = stop_after, rp.batch = (int32_t)batch;
    rp.grad_accum = (int32_t)accum, rp.pack = pack, rp.n_ctx = (int32_t)ctx, rp.seed = (uint64_t)seed;
    rp.checkpoint_every = ck_every, rp.resume = resume;
    int64_t total = 0, n_seq0 = 0, cap = ctx + 1, per_step = batch * accum;
    if (hearth_train_plan(train, &rp, &total, &n_seq0)) {
        cli_lib_error("train");
        goto done;
    }

    hearth_train_params tp = hearth_train_default_params();
    tp.full = full, tp.lora_r = (int32_t)r, tp.lora_alpha = (float)alpha, tp.lora_dropout = (float)dropout;
    tp.lora_plus = (float)lora_plus, tp.rslora = rslora, tp.lora_targets = targets, tp.lora_layers = layers;
    tp.lr = (float)(lr >= 0 ? lr : init ? 1e-3 : full ? 1e-4 : 2e-4);
    tp.weight_decay = (float)wd, tp.grad_clip = (float)clip, tp.warmup_steps = (int32_t)warmup;
    /* buffers for the longest record (records are already cut to --ctx + 1 tokens) */
    int32_t longest = 2;
    for (int32_t i = 0; i < train->n; i++) longest = train->ex[i].n > longest ? train->ex[i].n : longest;
    for (int32_t i = 0; held && i < held->n; i++) longest = held->ex[i].n > longest ? held->ex[i].n : longest;
    if (pack) longest = (int32_t)cap;
    tp.total_steps = (int32_t)total, tp.schedule = sched, tp.n_threads = (int)threads;
    tp.n_ctx = longest - 1 < (int32_t)ctx ? longest - 1 : (int32_t)ctx;
    tp.seed = (uint64_t)seed;
    tp.recompute = recompute;
    tp.compute = comp;
    hearth_status s;
    if (init) {
        hearth_init_params ip = {(int32_t)dim, (int32_t)n_layers, (int32_t)heads, (int32_t)kv_heads, (int32_t)ffn,
                                 (int32_t)ctx, 10000.0f, 1e-5f, !untied};
        s = hearth_trainer_create_init(tokg, &ip, &tp, &t);
    } else {
        s = hearth_trainer_create(m, &tp, &t);
    }
    if (s) {
        cli_lib_error("train");
        goto done;
    }
    if (lora_init) {
        if (full || init) {
            cli_error("train", "--lora-init needs LoRA training (not --full or --init)");
            goto done;
        }
        hearth_adapter *ia = NULL;
        s = hearth_adapter_load(lora_init, hearth_model_gguf(m), &ia);
        if (!s) s = hearth_trainer_set_lora(t, ia);
        hearth_adapter_free(ia);
        if (s) {
            cli_lib_error("train");
            goto done;
        }
    }
    char ckpath[4096];
    snprintf(ckpath, sizeof ckpath, "%s", ckpt ? ckpt : out);
    for (size_t l = strlen(ckpath); !ckpt && l > 1 && ckpath[l - 1] == '/'; l--) ckpath[l - 1] = 0;   /* outdir/ -> outdir.ckpt */
    if (!ckpt) strncat(ckpath, ".ckpt", sizeof ckpath - strlen(ckpath) - 1);
    rp.checkpoint = ckpath;
    if (!quiet) {
        fprintf(stderr, "%s: %d training records, %d held out%s; %lld steps of %lld sequences; %lld trainable "
                "parameters; %.1f MiB allocated; %d threads; %s compute\n",
                full || init ? (init ? "init" : "full") : "lora", train->n, held ? held->n : 0,
                train->n_truncated ? " (some cut to --ctx)" : "", (long long)total, (long long)per_step,
                (long long)hearth_trainer_n_trainable(t), hearth_trainer_memory(t) / 1048576.0,
                threads > 0 ? (int)threads : hearth_cpu_count(), hearth_trainer_int8_matrices(t) ? "int8" : "exact");
        if (pack) {
            int64_t tok = 0;
            for (int32_t i = 0; i < train->n; i++) tok += train->ex[i].n;
            fprintf(stderr, "packing: %d records in %lld sequences of up to %lld tokens (%.0f %% full)\n", train->n,
                    (long long)n_seq0, (long long)cap, 100.0 * (double)tok / ((double)n_seq0 * (double)cap));
        }
    }
    signal(SIGINT, on_sigint);
    progress pg = {cli_stderr_tty() && !quiet, quiet, resume};
    hearth_train_result res;
    s = hearth_train_run(t, train, held, &rp, on_progress, &pg, &res);
    if (pg.tty) fputc('\n', stderr);
    if (s) {
        cli_lib_error("train");
        goto done;
    }
    if (res.stopped) {
        fprintf(stderr, "interrupted: checkpoint saved to %s (continue with --resume %s)\n", ckpath, ckpath);
        rc = 130;
        goto done;
    }
    s = full || init ? hearth_trainer_save_model(t, out, wtype) : hearth_adapter_save(hearth_trainer_lora(t), hearth_model_gguf(m), out);
    if (s) {
        cli_lib_error("train");
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "wrote %s (%lld steps, %.1f s, %.1f tokens/s)\n", out, (long long)res.steps, res.seconds,
                res.tokens_per_s);
    rc = reg ? models_register_output("train", store, reg, out, full || init ? HEARTH_ARTIFACT_MODEL : HEARTH_ARTIFACT_ADAPTER,
                                      init ? NULL : base_path, data, argc, argv)
             : 0;
done:
    hearth_trainer_free(t);
    hearth_train_data_free(train);
    hearth_train_data_free(held);
    hearth_model_free(m);
    hearth_vocab_free(vocab);
    hearth_gguf_close(tokg);
    return rc;
}
