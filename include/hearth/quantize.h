/*
 * quantize.h — converting a GGUF model file to another tensor type or to one
 * of the usual mixed presets (Q4_K_M, Q5_K_S, ...), the way llama.cpp's
 * llama-quantize does without an importance matrix: the same per-tensor
 * choices, the same quantizers (bit-identical blocks), the same tensor order
 * (non-layer tensors first, then layer by layer, names sorted), the input's
 * metadata copied with general.file_type and general.quantization_version = 2
 * set. The output loads in other GGUF engines.
 *
 * What is quantized: 2-D (or more) tensors whose names end in "weight",
 * except norms (*_norm.weight), position / token-type embeddings and MoE
 * router weights (ffn_gate_inp); everything else is copied as it is.
 *
 * Type names: a preset (Q2_K, Q2_K_S, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M,
 * Q5_K_S, Q5_K_M, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16, F32;
 * case-insensitive) or a plain K-quant type (Q3_K, Q4_K, Q5_K) meaning
 * "every quantizable tensor in this type" (llama-quantize --pure).
 */
#ifndef HEARTH_QUANTIZE_H
#define HEARTH_QUANTIZE_H

#include "hearth/hearth.h"
#include "hearth/types.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* Called once per tensor after it was written to memory (i from 1 to n);
 * bytes_done / bytes_total count input bytes. */
typedef void (*hearth_quantize_progress_fn)(void *user, int i, int n, const char *name, uint32_t type_in,
                                            uint32_t type_out, uint64_t bytes_done, uint64_t bytes_total);

typedef struct hearth_quantize_params {
    int n_threads;                        /* 0: 2 */
    bool pure;                            /* every quantizable tensor in the preset's base type */
    hearth_quantize_progress_fn progress; /* may be NULL */
    void *progress_user;
} hearth_quantize_params;

hearth_quantize_params hearth_quantize_default_params(void);

/* The preset named `name`: its base tensor type and llama.cpp's file type
 * number (general.file_type). HEARTH_ERR_INVALID_ARG with the list of known
 * names if unknown. */
hearth_status hearth_quantize_preset(const char *name, uint32_t *base_type, uint32_t *file_type);
/* Space-separated list of the accepted names (static string). */
const char *hearth_quantize_preset_names(void);

/* Quantizes in_path into out_path. Errors name the file / tensor. */
hearth_status hearth_quantize_file(const char *in_path, const char *out_path, const char *type_name,
                                   const hearth_quantize_params *params);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
