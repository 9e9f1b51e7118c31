/*
 * train.h — fine-tuning llama-family models on the CPU: LoRA (frozen base
 * read in its stored type, quantized included, dequantized on the fly per
 * block of rows) or full fine-tuning (every weight F32), or pretraining a new
 * small model from scratch (--init).
 *
 * The pieces:
 *   hearth_adapter     LoRA weights (include/hearth/adapter.h: A (r, n_in),
 *                      B (n_out, r), scale alpha/r or alpha/sqrt(r)), written
 *                      with hearth_adapter_save() as GGUF or a PEFT folder
 *   hearth_trainer     the model being trained: forward that saves what the
 *                      backward needs, backward, AdamW, schedule, checkpoints
 *   hearth_train_data  JSONL records -> token ids + loss mask
 *
 * One step of training, as hearth_train_run (below) drives it:
 *   for each sequence of the step: hearth_trainer_forward_backward()
 *   (gradients accumulate; loss_scale = 1 / scored tokens of the step)
 *   hearth_trainer_step()  (clip, AdamW with the scheduled rate, zero grads)
 * Deterministic for a given seed and thread count.
 */
#ifndef HEARTH_TRAIN_H
#define HEARTH_TRAIN_H

#include "hearth/adapter.h"
#include "hearth/model.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ==== the trainer ============================================================ */
typedef enum hearth_lr_schedule {
    HEARTH_LR_COSINE = 0,
    HEARTH_LR_LINEAR = 1,
    HEARTH_LR_CONSTANT = 2,
} hearth_lr_schedule;

/* how the frozen base's matrices are multiplied (LoRA) */
typedef enum hearth_train_compute {
    HEARTH_TRAIN_COMPUTE_AUTO = 0,   /* int8 for a quantized base, else exact */
    HEARTH_TRAIN_COMPUTE_EXACT = 1,  /* forward as hearth_matmul; backward in F32 over the dequantized weights */
    HEARTH_TRAIN_COMPUTE_INT8 = 2,   /* forward on the packed int8 tiles; backward through a Q8_0 copy of each W^T
                                      * (AVX-512 VNNI; elsewhere the exact path) */
} hearth_train_compute;

typedef struct hearth_train_params {
    bool full;                 /* every weight trainable (F32); else LoRA */
    /* LoRA */
    int32_t lora_r;            /* 8 */
    float lora_alpha;          /* 32 */
    float lora_dropout;        /* 0.05, on the LoRA input */
    bool rslora;               /* scale alpha / sqrt(r) */
    const char *lora_targets;  /* "q,v" (q,k,v,o,gate,up,down, "all", or globs over tensor names) */
    const char *lora_layers;   /* "0-3,7"; NULL: all */
    float lora_plus;           /* LoRA+: B learns at lr * lora_plus (0: off, same rate as A) */
    /* optimizer (AdamW, decoupled weight decay) */
    float lr;                  /* 2e-4 (LoRA); 1e-3 is common for --init */
    float beta1, beta2, eps;   /* 0.9, 0.999, 1e-8 */
    float weight_decay;        /* 0 (not applied to norms and biases) */
    float grad_clip;           /* 1.0; 0: off */
    int32_t warmup_steps;      /* 0 */
    int32_t total_steps;       /* for the decay; 0: constant after warmup */
    hearth_lr_schedule schedule;
    float min_lr_ratio;        /* the decay ends at lr * min_lr_ratio (0) */
    /* run */
    int32_t n_ctx;             /* longest sequence (512) */
    bool recompute;            /* keep only each layer's input; rebuild the layer in the backward (less memory, ~1/3 more compute) */
    hearth_train_compute compute;   /* AUTO */
    int n_threads;             /* 0: all CPUs */
    uint64_t seed;             /* 42 */
} hearth_train_params;

hearth_train_params hearth_train_default_params(void);

/* shape of a new model for hearth_trainer_create_init */
typedef struct hearth_init_params {
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    float rope_base;        /* 10000 */
    float eps;              /* 1e-5 */
    bool tied;              /* output = token embedding (true) */
} hearth_init_params;

typedef struct hearth_trainer hearth_trainer;

/* Trains on m (borrowed; must outlive the trainer). */
hearth_status hearth_trainer_create(const hearth_model *m, const hearth_train_params *p, hearth_trainer **out);
/* A new model with random weights (full training implied); the vocabulary
 * size and tokenizer.* metadata come from tok (borrowed, must outlive the
 * trainer). */
hearth_status hearth_trainer_create_init(const hearth_gguf *tok, const hearth_init_params *shape,
                                         const hearth_train_params *p, hearth_trainer **out);
void hearth_trainer_free(hearth_trainer *t);   /* NULL is a no-op */

/* Forward + backward over tokens[0..n) (n <= n_ctx + 1): position i predicts
 * tokens[i+1], scored when mask[i+1] is non-zero (mask NULL: all). Gradients
 * of loss_scale * (sum of scored losses) accumulate. *loss_sum gets the sum
 * of scored losses (nats), *n_scored their count. */
hearth_status hearth_trainer_forward_backward(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask, int32_t n,
                                              float loss_scale, double *loss_sum, int32_t *n_scored);
/* Packed: tokens[0..n) holds n_rec records laid end to end, record k
 * starting at starts[k] (starts[0] = 0, ascending, < n). Each record attends
 * only to itself (block-diagonal causal mask) and its RoPE positions start at
 * 0; the first token of a record is never a target (what the last token of
 * the previous one would predict), so gradients and loss equal those of
 * hearth_trainer_forward_backward on each record (within float rounding). */
hearth_status hearth_trainer_forward_backward_packed(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask,
                                                     int32_t n, const int32_t *starts, int32_t n_rec,
                                                     float loss_scale, double *loss_sum, int32_t *n_scored);
/* Same without gradients and without dropout (evaluation). */
hearth_status hearth_trainer_eval(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask, int32_t n,
                                  double *loss_sum, int32_t *n_scored);
/* Logits (n, n_vocab) of the training forward (no dropout), for checks. */
hearth_status hearth_trainer_logits(hearth_trainer *t, const int32_t *tokens, int32_t n, float *logits);

/* One optimizer step: global-norm clipping, AdamW at the scheduled rate,
 * gradients zeroed. *grad_norm (may be NULL) gets the norm before clipping. */
hearth_status hearth_trainer_step(hearth_trainer *t, float *grad_norm);
float hearth_trainer_lr(const hearth_trainer *t);   /* rate of the next step */
int64_t hearth_trainer_steps(const hearth_trainer *t);   /* steps taken */
int64_t hearth_trainer_n_trainable(const hearth_trainer *t);
size_t hearth_trainer_memory(const hearth_trainer *t);   /* bytes the trainer allocated */
/* how many frozen matrices the backward multiplies in int8 (0: exact compute) */
int hearth_trainer_int8_matrices(const hearth_trainer *t);
int32_t hearth_trainer_n_vocab(const hearth_trainer *t);

/* LoRA mode: the adapter being trained (borrowed; NULL in full mode). */
const hearth_adapter *hearth_trainer_lora(const hearth_trainer *t);
/* LoRA mode: start from from's weights (copied) instead of the random
 * initialisation, e.g. a PEFT folder written by another trainer. from must
 * have the trainer's rank and scale and a weight of the same shape for each
 * target (HEARTH_ERR_INVALID_ARG / HEARTH_ERR_FORMAT naming the difference).
 * Call before the first step. */
hearth_status hearth_trainer_set_lora(hearth_trainer *t, const hearth_adapter *from);
/* Full / init mode: writes the model as GGUF (matrices and embeddings in
 * wtype: HEARTH_TYPE_F32 or HEARTH_TYPE_F16; norms F32), metadata copied from
 * the base model (or the tokenizer file for --init). */
hearth_status hearth_trainer_save_model(const hearth_trainer *t, const char *path, uint32_t wtype);

/* ==== checkpoints ==============================================================
 * Trainable weights, AdamW moments, step count, dropout RNG state and the
 * caller's position (user: up to 8 integers), in one GGUF file written to
 * path.tmp and renamed over path (a crash never leaves a torn checkpoint). */
hearth_status hearth_trainer_save_checkpoint(const hearth_trainer *t, const char *path, const int64_t user[8]);
/* Restores a checkpoint made by the same configuration; a different set of
 * trainable tensors or shapes is HEARTH_ERR_FORMAT naming the difference. */
hearth_status hearth_trainer_load_checkpoint(hearth_trainer *t, const char *path, int64_t user[8]);

/* ==== data ==================================================================
 * JSONL, one record per line (blank lines skipped), each one of:
 *   {"instruction", "input"?, "output", "system"?}   Alpaca
 *   {"messages": [{"role", "content"}, ...]}          chat
 *   {"prompt", "completion"}
 *   {"text"}                                          plain text (all tokens trained)
 * Records are rendered with the chat format fmt (Alpaca records with the
 * standard Alpaca prompt when fmt is alpaca, else as a system/user/assistant
 * conversation) and tokenized; the loss mask covers the answer tokens (and
 * the end-of-sequence token that closes them) unless train_on_all. */
typedef struct hearth_train_example {
    int32_t *tokens;   /* owned */
    uint8_t *mask;     /* owned; 1: token is a training target */
    int32_t n;
    int32_t line;      /* 1-based line in the file */
} hearth_train_example;

typedef struct hearth_train_data {
    hearth_train_example *ex;
    int32_t n;
    int32_t n_truncated;   /* records cut to n_ctx + 1 tokens */
} hearth_train_data;

typedef struct hearth_data_params {
    bool train_on_all;     /* loss on every token (prompt included) */
    int32_t n_ctx;         /* records longer than n_ctx + 1 tokens are cut */
    const char *chat_format;   /* NULL: detect from the model (alpaca for models without a template) */
} hearth_data_params;

/* Errors name the file and line: "data.jsonl:7: ...". vocab, chat template
 * and special tokens from m (or from vocab alone when m is NULL: alpaca). */
hearth_status hearth_train_data_load(const char *path, const hearth_model *m, const hearth_vocab *vocab,
                                     const hearth_data_params *p, hearth_train_data **out);
void hearth_train_data_free(hearth_train_data *d);   /* NULL is a no-op */
/* Moves a fraction (0..1) of the examples, chosen with seed, into *heldout
 * (NULL when frac is 0 or nothing would be held out); d keeps the rest. */
hearth_status hearth_train_data_split(hearth_train_data *d, double frac, uint64_t seed, hearth_train_data **heldout);

/* ==== the training loop =======================================================
 * hearth_train_run drives a trainer over the data: for each epoch a seeded
 * shuffle of the records; each optimizer step takes batch * grad_accum
 * sequences (one record each, or with pack as many consecutive records as fit
 * in n_ctx + 1 tokens, each attending only to itself); the held-out records
 * are evaluated after each epoch; checkpoints are written every
 * checkpoint_every steps and when the run stops early.
 *
 * A step's loss is the mean cross-entropy (nats) over the step's scored
 * tokens — what PyTorch/TRL print — and the gradient is that mean's. */
typedef struct hearth_train_run_params {
    int32_t epochs;            /* passes over the data (1) */
    int64_t max_steps;         /* stop after this many optimizer steps in all (0: no limit) */
    int64_t stop_after;        /* stop as if interrupted after step N: checkpoint, result.stopped (0: off) */
    int32_t batch;             /* sequences per micro-batch (1) */
    int32_t grad_accum;        /* micro-batches per optimizer step (1) */
    bool pack;                 /* pack records into sequences of up to n_ctx + 1 tokens */
    int32_t n_ctx;             /* packing capacity: n_ctx + 1 tokens (512) */
    uint64_t seed;             /* data order (42) */
    const char *checkpoint;    /* checkpoint path (NULL: none written) */
    int64_t checkpoint_every;  /* write one every N steps (0: only when stopping early) */
    const char *resume;        /* continue from this checkpoint (NULL: from the start) */
} hearth_train_run_params;

hearth_train_run_params hearth_train_run_default_params(void);

typedef enum hearth_train_event {
    HEARTH_TRAIN_STEP = 0,     /* an optimizer step was taken */
    HEARTH_TRAIN_EVAL = 1,     /* an epoch ended and the held-out loss is in loss */
    HEARTH_TRAIN_RESUMED = 2,  /* a checkpoint was loaded: step and epoch say where */
} hearth_train_event;

typedef struct hearth_train_progress {
    hearth_train_event event;
    int64_t step, total_steps; /* steps taken (1-based after a step), steps in the run */
    int64_t epoch;             /* 1-based */
    double loss;               /* STEP: mean cross-entropy over the step's scored tokens; EVAL: held-out mean */
    int64_t n_scored;          /* STEP: scored tokens of the step */
    float lr;                  /* STEP: the rate the step used */
    float grad_norm;           /* STEP: global gradient norm before clipping */
    int64_t tokens;            /* tokens trained so far (positions run through the model) */
    double tokens_per_s, seconds_left;
    int32_t record;            /* STEP: index in data of the step's last record */
} hearth_train_progress;

/* Called after each step and each evaluation; return false to stop the run
 * (a checkpoint is written when params.checkpoint is set). */
typedef bool (*hearth_train_progress_cb)(const hearth_train_progress *p, void *user);

typedef struct hearth_train_result {
    int64_t steps;             /* steps the trainer has taken in all */
    bool stopped;              /* ended early (callback or stop_after); checkpoint written if asked */
    double last_loss, eval_loss;   /* the last step's loss; the last held-out loss (0: none) */
    int64_t tokens;
    double seconds, tokens_per_s;
} hearth_train_result;

/* Optimizer steps a run with these params takes over d (the trainer's
 * hearth_train_params.total_steps for the schedule), and the sequences of the
 * first epoch (n_seq_first_epoch may be NULL). */
hearth_status hearth_train_plan(const hearth_train_data *d, const hearth_train_run_params *p, int64_t *total_steps,
                                int64_t *n_seq_first_epoch);
/* Runs the loop (params NULL: defaults; heldout, cb, user, res may be NULL).
 * Errors from the trainer, the checkpoint files or the data are returned as
 * they come; a run stopped early is HEARTH_OK with res->stopped. */
hearth_status hearth_train_run(hearth_trainer *t, const hearth_train_data *data, const hearth_train_data *heldout,
                               const hearth_train_run_params *params, hearth_train_progress_cb cb, void *user,
                               hearth_train_result *res);
/* Mean cross-entropy over the scored tokens of every record of d (no dropout, no gradient). */
hearth_status hearth_train_evaluate(hearth_trainer *t, const hearth_train_data *d, double *loss);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
