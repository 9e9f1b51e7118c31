/*
 * clip.h — image encoders from GGUF: llama.cpp's "mmproj" files (a CLIP ViT
 * and a LLaVA projector) that turn an image into the embeddings a language
 * model reads in place of `<image>`.
 *
 *   hearth_clip *v;
 *   hearth_clip_load("mmproj.gguf", NULL, &v);
 *   float *e = malloc(sizeof(float) * hearth_clip_n_tokens(v) * hearth_clip_n_embd(v));
 *   hearth_clip_encode(v, &img, e);       // n_tokens rows of n_embd floats
 *   hearth_clip_free(v);
 *
 * Supported: `general.architecture` "clip" with a vision tower (`clip.vision.*`
 * keys, `v.*` tensors) and `clip.projector_type` "mlp" (mm.0 -> GELU -> mm.2)
 * or "mlp_norm" (mm.0 -> LayerNorm mm.1 -> GELU -> mm.3 -> LayerNorm mm.4);
 * other projector types (ldp, ldpv2, resampler, ...) and files without a
 * vision tower fail with HEARTH_ERR_UNSUPPORTED naming the type. Weights may
 * be F32, F16, BF16 or any quantized type hearth computes with.
 *
 * The computation is llama.cpp's (clip.cpp, LLaVA-1.5 path) for the same
 * file, step by step (docs/vision.md):
 *   1. the image as 8-bit RGB; if not square, padded to a square of its longer
 *      side with RGB (122, 116, 104), the image in the top-left corner;
 *   2. resized to image_size with clip.cpp's linear filter (sample centres
 *      (x + 0.5) * scale - 0.5, index clamped, weight not), rounded to 8 bits;
 *   3. (v / 255 - mean[c]) / std[c] with clip.vision.image_mean / image_std;
 *   4. patch embedding (a convolution with stride = patch size, + bias if
 *      the file has one), class embedding first, position embeddings added,
 *      pre-LayerNorm (when present);
 *   5. the first block_count - 1 pre-norm transformer blocks (LayerNorm ->
 *      attention with biases -> residual; LayerNorm -> ffn_down -> GELU
 *      (quick x*sigmoid(1.702x), or tanh GELU when clip.use_gelu) -> ffn_up
 *      -> residual); post-LayerNorm only when v.post_ln exists;
 *   6. the class token dropped, the patch rows through the projector.
 *
 * A hearth_clip holds the weights (mmapped), a thread pool and buffers for
 * one image: one thread at a time per handle.
 */
#ifndef HEARTH_CLIP_H
#define HEARTH_CLIP_H

#include "hearth/core.h"
#include "hearth/image.h"
#include "hearth/model.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_clip hearth_clip;

typedef struct hearth_clip_params {
    int n_threads;   /* 0: all online CPUs */
} hearth_clip_params;

hearth_clip_params hearth_clip_default_params(void);

/* A file that is not "clip", has no vision tower, or an unsupported
 * projector fails with a message saying so; missing tensors and wrong
 * shapes are listed in one message. */
hearth_status hearth_clip_load(const char *path, const hearth_clip_params *p, hearth_clip **out);
void hearth_clip_free(hearth_clip *v);   /* NULL is a no-op */

int32_t hearth_clip_image_size(const hearth_clip *v);   /* side of the square input (224, 336...) */
int32_t hearth_clip_patch_size(const hearth_clip *v);
/* embeddings per image (the patches: (image_size / patch_size)^2) */
int32_t hearth_clip_n_tokens(const hearth_clip *v);
/* floats per embedding: the projector's output size (what the language
 * model's n_embd must be) */
int32_t hearth_clip_n_embd(const hearth_clip *v);
const char *hearth_clip_projector(const hearth_clip *v);   /* "mlp", "mlp_norm" */
const char *hearth_clip_name(const hearth_clip *v);        /* general.name or the file name */

/* Steps 1-3: the image (c = 1 or 3) as the encoder's input, 3 planes of
 * image_size^2 floats (R, G, B), rows top to bottom. */
hearth_status hearth_clip_preprocess(const hearth_clip *v, const hearth_image *img, float *out);

/* The whole path: out gets n_tokens rows of n_embd floats, what llama.cpp's
 * clip_image_encode gives for the same file and image. */
hearth_status hearth_clip_encode(hearth_clip *v, const hearth_image *img, float *out);
/* Steps 4-6 from preprocessed planes (hearth_clip_preprocess's layout). */
hearth_status hearth_clip_encode_planes(hearth_clip *v, const float *planes, float *out);

/* ---- pooled embeddings and zero-shot classification -------------------------
 * Two-tower CLIP files (clip.has_text_encoder true, no LLaVA projector; a
 * text tower t.* with its tokenizer in the same file, visual_projection and
 * text_projection): images and texts embed into one space. The image: every
 * vision block, the class token after post-LayerNorm, visual_projection;
 * the text: tokenized with the file's tokenizer (BOS as it says, EOS
 * appended; at most clip.text.context_length tokens), token + position
 * embeddings, causal pre-norm blocks, the EOS row after t.post_ln,
 * text_projection. Both L2-normalized, hearth_clip_embd_dim() floats.
 * A LLaVA encoder's image embedding is the mean of its projected patch rows,
 * normalized (it has no text tower). */
bool hearth_clip_has_text(const hearth_clip *v);
int32_t hearth_clip_embd_dim(const hearth_clip *v);   /* floats of a pooled embedding */
hearth_status hearth_clip_embed_image(hearth_clip *v, const hearth_image *img, float *out);
hearth_status hearth_clip_embed_text(hearth_clip *v, const char *text, size_t len, float *out);
/* probs[i] = softmax over labels of logit_scale * cos(image, label i)
 * (clip.logit_scale, default 100 as OpenAI CLIP's) */
hearth_status hearth_clip_classify(hearth_clip *v, const hearth_image *img, const char *const *labels, int n,
                                   float *probs);

/* ---- LLaVA: an image in a language model's prompt -------------------------
 * HEARTH_ERR_INVALID_ARG with a message when the encoder's n_embd is not the
 * language model's (an mmproj made for another model). */
hearth_status hearth_clip_check_model(const hearth_clip *v, const hearth_model *m);

/* Tokenizes "TEXT<image>TEXT" as llama.cpp's llava-cli does: the text before
 * <image> on its own with BOS (as the vocab adds it, unless that text
 * already starts with BOS: hearth_chat_tokenize's rule), the text after it on
 * its own without BOS, special tokens parsed. *ids (malloc'd, owned by the
 * caller) holds both parts, *n ids; the image goes before ids[*at]. A prompt
 * without <image> puts the image first (after BOS); more than one <image> is
 * an error. Decode with hearth_generate_params.embd / embd_at. */
hearth_status hearth_clip_prompt(const hearth_vocab *vocab, const char *prompt, size_t len, int32_t **ids,
                                 size_t *n, int32_t *at);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
