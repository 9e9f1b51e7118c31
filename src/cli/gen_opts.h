/*
 * gen_opts.h — sampling and stop options shared by `hearth run` and
 * `hearth chat` (parsing and checking only; the work is in libhearth).
 */
#ifndef HEARTH_CLI_GEN_OPTS_H
#define HEARTH_CLI_GEN_OPTS_H

#include "cli.h"

#include "hearth/adapter.h"
#include "hearth/generate.h"

#define GEN_MAX_STOP 32
#define GEN_MAX_BIAS 64
#define GEN_MAX_LORA 16

typedef struct gen_opts {
    hearth_sampler_params sampling;
    int64_t seed;                       /* -1: from the clock */
    const char *stop[GEN_MAX_STOP];
    size_t n_stop;
    hearth_logit_bias bias[GEN_MAX_BIAS];
    size_t n_bias;
    const char *lora[GEN_MAX_LORA];     /* --lora FILE[:scale] as given */
    size_t n_lora;
    hearth_adapter *adapters[GEN_MAX_LORA];   /* loaded by gen_apply_lora, owned */
    float lora_scale[GEN_MAX_LORA];
    bool failed;
} gen_opts;

#define GEN_SAMPLING_HELP                                                                     \
    "\nadapters:\n"                                                                            \
    "      --lora FILE[:S]       apply a LoRA adapter at scale S (default 1) without merging:\n" \
    "                            a GGUF adapter or a PEFT folder (repeatable: adapters add up)\n" \
    "\nsampling (applied in this order; llama.cpp's default chain):\n"                        \
    "      --logit-bias ID=B     add B to token ID's logit (repeatable; B = -inf bans it)\n"   \
    "      --repeat-penalty X    divide positive / multiply negative logits of recent tokens (1.0: off)\n" \
    "      --repeat-last-n N     recent tokens the penalties look at (64; -1: all)\n"          \
    "      --frequency-penalty X subtract X * count (0)\n"                                     \
    "      --presence-penalty X  subtract X once for any recent token (0)\n"                   \
    "      --top-k K             keep the K most likely tokens (40; 0: off)\n"                 \
    "      --typical P           locally typical sampling (1.0: off)\n"                        \
    "      --top-p P             keep the smallest set with probability >= P (0.95; 1: off)\n" \
    "      --min-p P             drop tokens below P x the top probability (0.05; 0: off)\n"   \
    "      --temp T              temperature (0.8; 0: greedy, always the most likely token)\n" \
    "      --seed S              random seed (-1: from the clock); same seed, same text\n"

void gen_opts_init(gen_opts *o);
/* true if the current argument was one of the options above (errors are
 * reported and set a->failed) */
bool gen_opts_parse(gen_opts *o, cli_args *a);
/* validates the settings (prints the error); 0 if fine. Resolves seed -1. */
int gen_opts_check(gen_opts *o, const char *cmd);
uint64_t gen_seed_used(const gen_opts *o);
/* loads the --lora adapters (checked against the model) and sets them on
 * ctx; prints the error and returns 1 on failure, 0 if fine */
int gen_apply_lora(gen_opts *o, const hearth_model *m, hearth_context *ctx, const char *cmd);
void gen_opts_free(gen_opts *o);

/* context size for a command: the requested one, else the model's training
 * context capped at 4096 */
int32_t gen_default_ctx(const hearth_model *m, int32_t requested);
/* generation text callback: writes each piece to stdout and flushes */
bool gen_stream_stdout(const char *text, size_t len, void *user);

#endif
