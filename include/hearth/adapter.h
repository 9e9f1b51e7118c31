/*
 * adapter.h — LoRA adapters: the one in-memory form used everywhere
 * (training, inference, serving, merging), its two file forms, applying
 * adapters at inference without merging, and merging them into a GGUF.
 *
 * The maths, for a base weight W (n_out, n_in) (GGUF ne = {n_in, n_out}):
 *   y = W x + s * (alpha / r) * B (A x)     A (r, n_in), B (n_out, r)
 * with s the user's scale (--lora FILE:s, default 1) and alpha / sqrt(r)
 * instead of alpha / r for rsLoRA.
 *
 * Names and row order are the GGUF base model's: a weight is named by its
 * base tensor ("blk.3.attn_q.weight") and B's rows follow the base tensor's
 * rows. That matters for llama-architecture models, whose Q and K rows the
 * HF -> GGUF converter permutes (HF's rotate-half RoPE layout -> GGUF's
 * interleaved one): a PEFT adapter's lora_B for q_proj / k_proj gets the same
 * row permutation when loaded, and the inverse when saved (qwen2, NEOX RoPE:
 * no permutation).
 *
 * File forms:
 *  - GGUF, llama.cpp's LoRA layout (what `llama-cli --lora` loads):
 *      general.architecture = base arch, general.type = "adapter",
 *      adapter.type = "lora", adapter.lora.alpha (F32);
 *      "<W name>.lora_a" ne = {n_in, r}, "<W name>.lora_b" ne = {r, n_out}.
 *    rsLoRA is written by folding sqrt(r) into alpha (llama.cpp scales by
 *    alpha / r) and recorded in hearth.lora.rslora, undone on loading.
 *  - PEFT folder: adapter_config.json (peft_type "LORA", r, lora_alpha,
 *    target_modules, lora_dropout, use_rslora, base_model_name_or_path,
 *    bias "none", task_type "CAUSAL_LM") + adapter_model.safetensors with
 *    base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight [r, in]
 *    and ...lora_B.weight [out, r]; module names map to GGUF names as
 *      q_proj attn_q, k_proj attn_k, v_proj attn_v, o_proj attn_output,
 *      gate_proj ffn_gate, up_proj ffn_up, down_proj ffn_down, lm_head output.
 */
#ifndef HEARTH_ADAPTER_H
#define HEARTH_ADAPTER_H

#include "hearth/model.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ==== the in-memory adapter ================================================== */
typedef struct hearth_adapter_weight {
    char name[96];          /* base tensor name, e.g. "blk.3.attn_q.weight" */
    int64_t n_in, n_out;
    float *a;               /* (r, n_in) row-major, owned */
    float *b;               /* (n_out, r) row-major, owned; rows in the base tensor's order */
} hearth_adapter_weight;

typedef struct hearth_adapter {
    int32_t r;
    float alpha;
    bool rslora;              /* scale alpha / sqrt(r) instead of alpha / r */
    int32_t n;                /* weights */
    hearth_adapter_weight *w; /* owned */
    char arch[32];            /* base architecture ("llama"), may be "" */
    float dropout;            /* training dropout, recorded in the files */
    char base_model[256];     /* base_model_name_or_path, may be "" */
} hearth_adapter;

/* alpha / r (rsLoRA: alpha / sqrt(r)) */
float hearth_adapter_scale(const hearth_adapter *a);
/* An empty adapter (n = 0) to which hearth_adapter_add() appends zeroed weights. */
hearth_adapter *hearth_adapter_create(int32_t r, float alpha, bool rslora);
hearth_status hearth_adapter_add(hearth_adapter *a, const char *name, int64_t n_in, int64_t n_out);
const hearth_adapter_weight *hearth_adapter_find(const hearth_adapter *a, const char *name);   /* NULL if absent */
void hearth_adapter_free(hearth_adapter *a);   /* NULL is a no-op */

/* ==== files ===================================================================
 * base: the base model's GGUF metadata (hearth_model_gguf(), or a file opened
 * with hearth_gguf_open()): architecture and head counts for the Q/K row
 * permutation and the check of shapes. */

/* Every weight names a 2-D tensor of base with the adapter's shape;
 * HEARTH_ERR_FORMAT naming the tensor and both shapes otherwise. */
hearth_status hearth_adapter_check(const hearth_adapter *a, const hearth_gguf *base);

hearth_status hearth_adapter_save_gguf(const hearth_adapter *a, const char *path);
hearth_status hearth_adapter_load_gguf(const char *path, hearth_adapter **out);

/* Writes dir/adapter_config.json and dir/adapter_model.safetensors (F32)
 * (dir is created if missing). base may be NULL only when no weight needs
 * the permutation (architecture not "llama", or no attn_q / attn_k). */
hearth_status hearth_adapter_save_peft(const hearth_adapter *a, const hearth_gguf *base, const char *dir);
/* dir: a PEFT folder (or the path of its adapter_model.safetensors). F32,
 * F16 and BF16 tensors; rank_pattern / alpha_pattern, DoRA, fan_in_fan_out
 * and trained biases are HEARTH_ERR_UNSUPPORTED. base as above (NULL: no
 * permutation, names only). */
hearth_status hearth_adapter_load_peft(const char *dir, const hearth_gguf *base, hearth_adapter **out);

/* Either form: a directory or a .safetensors file is PEFT, anything else
 * GGUF. When base is given the adapter is also checked against it. */
hearth_status hearth_adapter_load(const char *path, const hearth_gguf *base, hearth_adapter **out);
/* A path ending in ".gguf" is written as GGUF, anything else as a PEFT folder. */
hearth_status hearth_adapter_save(const hearth_adapter *a, const hearth_gguf *base, const char *path);

/* Parses "FILE[:scale]" (scale a number; a ':' not followed by a number is
 * part of the file name). *path gets a malloc'd copy, owned by the caller. */
hearth_status hearth_adapter_parse_spec(const char *spec, char **path, float *scale);

/* ==== at inference, without merging =============================================
 * Applies n adapters (borrowed: they must outlive the context or the next
 * call) with scales[i] (NULL: all 1) to every decode of the context: after
 * each targeted projection, y += scales[i] * scale(adapter) * B (A x).
 * Checks every adapter against the context's model first (nothing changes
 * on error). n = 0 removes them. */
hearth_status hearth_context_set_adapters(hearth_context *c, const hearth_adapter *const *adapters,
                                          const float *scales, int n);

/* ==== merging =================================================================
 * Writes base_path with W' = W + scales[i] * scale(adapter_i) * B_i A_i added
 * to every targeted weight (n may be 0: a plain conversion). out_type: -1
 * keeps each tensor's type; else a hearth_type for every 2-D weight matrix
 * whose rows fit its blocks (norms and vectors stay F32; rows that do not
 * fit the type's block keep their type). Other tensors and every metadata
 * key are copied; general.file_type is updated. progress (may be NULL) is
 * called after each tensor. */
typedef void (*hearth_merge_progress_fn)(int64_t done, int64_t total, void *user);
hearth_status hearth_adapter_merge(const char *base_path, const hearth_adapter *const *adapters, const float *scales,
                                   int n, int out_type, const char *out_path, hearth_merge_progress_fn progress,
                                   void *user);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
