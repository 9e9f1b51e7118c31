/* gen_opts.c — see gen_opts.h. */
#include "gen_opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gen_opts_init(gen_opts *o) {
    memset(o, 0, sizeof *o);
    o->sampling = hearth_sampler_default_params();
    o->seed = -1;
}

static bool parse_bias(gen_opts *o, cli_args *a, const char *v) {
    const char *eq = v ? strchr(v, '=') : NULL;
    int64_t id;
    double b;
    char idbuf[32];
    if (!eq || (size_t)(eq - v) >= sizeof idbuf) goto bad;
    memcpy(idbuf, v, (size_t)(eq - v));
    idbuf[eq - v] = 0;
    if (!cli_parse_int(idbuf, &id) || id < 0 || id > INT32_MAX) goto bad;
    if (strcmp(eq + 1, "-inf") == 0) b = -INFINITY;
    else if (!cli_parse_float(eq + 1, &b)) goto bad;
    if (o->n_bias == GEN_MAX_BIAS) {
        cli_error(a->cmd, "too many --logit-bias options (at most %d)", GEN_MAX_BIAS);
        a->failed = true;
        return true;
    }
    o->bias[o->n_bias].id = (int32_t)id;
    o->bias[o->n_bias].bias = (float)b;
    o->n_bias++;
    return true;
bad:
    cli_error(a->cmd, "--logit-bias expects ID=BIAS (e.g. 13=-inf), got '%s'", v ? v : "");
    a->failed = true;
    return true;
}

bool gen_opts_parse(gen_opts *o, cli_args *a) {
    double f;
    int64_t i;
    const char *s = NULL;
    hearth_sampler_params *p = &o->sampling;
#define FLOAT_OPT(name, field)                                  \
    if (cli_opt_float(a, NULL, name, &f)) {                      \
        p->field = (float)f;                                     \
        return true;                                             \
    }
    FLOAT_OPT("--temp", temp)
    FLOAT_OPT("--top-p", top_p)
    FLOAT_OPT("--min-p", min_p)
    FLOAT_OPT("--typical", typical_p)
    FLOAT_OPT("--repeat-penalty", repeat_penalty)
    FLOAT_OPT("--presence-penalty", presence_penalty)
    FLOAT_OPT("--frequency-penalty", frequency_penalty)
#undef FLOAT_OPT
    if (cli_opt_int(a, NULL, "--top-k", &i)) {
        if (i < 0 || i > INT32_MAX) {
            cli_error(a->cmd, "--top-k must be 0 or more, got %lld", (long long)i);
            a->failed = true;
        }
        p->top_k = (int32_t)i;
        return true;
    }
    if (cli_opt_int(a, NULL, "--repeat-last-n", &i)) {
        if (i < -1 || i > INT32_MAX) {
            cli_error(a->cmd, "--repeat-last-n must be -1 or more, got %lld", (long long)i);
            a->failed = true;
        }
        p->repeat_last_n = (int32_t)i;
        return true;
    }
    if (cli_opt_int(a, NULL, "--seed", &i)) {
        if (i < -1) {
            cli_error(a->cmd, "--seed must be -1 (random) or a non-negative integer, got %lld", (long long)i);
            a->failed = true;
        }
        o->seed = i;
        return true;
    }
    if (cli_opt(a, NULL, "--stop", &s)) {
        if (!s) return true;
        if (!*s) {
            cli_error(a->cmd, "--stop needs a non-empty string");
            a->failed = true;
        } else if (o->n_stop == GEN_MAX_STOP) {
            cli_error(a->cmd, "too many --stop strings (at most %d)", GEN_MAX_STOP);
            a->failed = true;
        } else {
            o->stop[o->n_stop++] = s;
        }
        return true;
    }
    if (cli_opt(a, NULL, "--logit-bias", &s)) return s ? parse_bias(o, a, s) : true;
    if (cli_opt(a, NULL, "--lora", &s)) {
        if (!s) return true;
        if (o->n_lora == GEN_MAX_LORA) {
            cli_error(a->cmd, "too many --lora adapters (at most %d)", GEN_MAX_LORA);
            a->failed = true;
        } else {
            o->lora[o->n_lora++] = s;
        }
        return true;
    }
    return false;
}

int gen_opts_check(gen_opts *o, const char *cmd) {
    o->sampling.seed = o->seed < 0 ? hearth_seed_from_time() : (uint64_t)o->seed;
    o->sampling.logit_bias = o->n_bias ? o->bias : NULL;
    o->sampling.n_logit_bias = o->n_bias;
    hearth_sampler *s = NULL;
    if (hearth_sampler_create(&o->sampling, &s) != HEARTH_OK) {
        cli_lib_error(cmd);
        return 2;
    }
    hearth_sampler_free(s);
    return 0;
}

uint64_t gen_seed_used(const gen_opts *o) { return o->sampling.seed; }

int gen_apply_lora(gen_opts *o, const hearth_model *m, hearth_context *ctx, const char *cmd) {
    for (size_t i = 0; i < o->n_lora; i++) {
        char *path = NULL;
        if (hearth_adapter_parse_spec(o->lora[i], &path, &o->lora_scale[i]) != HEARTH_OK ||
            hearth_adapter_load(path, hearth_model_gguf(m), &o->adapters[i]) != HEARTH_OK) {
            free(path);
            return cli_lib_error(cmd);
        }
        free(path);
    }
    if (o->n_lora &&
        hearth_context_set_adapters(ctx, (const hearth_adapter *const *)o->adapters, o->lora_scale, (int)o->n_lora) !=
            HEARTH_OK)
        return cli_lib_error(cmd);
    return 0;
}

void gen_opts_free(gen_opts *o) {
    for (size_t i = 0; i < o->n_lora; i++) {
        hearth_adapter_free(o->adapters[i]);
        o->adapters[i] = NULL;
    }
}

int32_t gen_default_ctx(const hearth_model *m, int32_t requested) {
    if (requested > 0) return requested;
    int32_t t = hearth_model_n_ctx_train(m);
    return t > 0 && t < 4096 ? t : 4096;
}

bool gen_stream_stdout(const char *text, size_t len, void *user) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}
