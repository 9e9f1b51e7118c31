/*
 * images.c — images in the server: image encoders attached to models
 * (hearth_server_add_mmproj), OpenAI `image_url` content parts (data URLs
 * only: nothing is downloaded at run time), the prompt of a conversation
 * with an image, and image inputs of /v1/embeddings.
 *
 * An image in a request is decoded on the HTTP thread (a bad one is a 400
 * before it is queued); the encoder runs on the scheduler thread (one handle,
 * one thread) when the first of the job's sequences takes a slot, and the
 * image's rows then go through the batched forward like prompt tokens
 * (hearth_decode_batch_embd), beside other sequences' text.
 */
#include "server_internal.h"

#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *img_fail(api_error *e, int status, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void *img_fail(api_error *e, int status, const char *param, const char *code, const char *fmt, ...) {
    e->status = status;
    e->type = status >= 500 ? "server_error" : "invalid_request_error";
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return NULL;
}

hearth_status hearth_server_add_mmproj(hearth_server *s, const char *model, const char *path) {
    if (s->started) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: image encoders are added before start");
    srv_model *sm = NULL;
    for (int i = 0; i < s->n_models; i++)
        if (!model || !strcmp(s->models[i]->name, model)) {
            sm = s->models[i];
            break;
        }
    if (!sm) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "serve: --mmproj: no model named '%s'", model ? model : "");
    if (!sm->slots)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: '%s' is an encoder; an image encoder needs a language model",
                                sm->name);
    if (sm->clip) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: '%s' already has an image encoder", sm->name);
    hearth_clip_params p = hearth_clip_default_params();
    p.n_threads = s->p.n_threads;
    hearth_status st = hearth_clip_load(path, &p, &sm->clip);
    if (!st && (st = hearth_clip_check_model(sm->clip, sm->m))) {
        hearth_clip_free(sm->clip);
        sm->clip = NULL;
    }
    return st;
}

/* ==== data URLs ====================================================================== */
/* base64 through libsodium: standard or URL-safe alphabet, '=' padding
 * optional, line breaks and spaces skipped */
uint8_t *srv_base64_decode(const char *s, size_t len, size_t *out_n) {
    while (len && strchr("= \r\n", s[len - 1])) len--;
    uint8_t *out = malloc(len / 4 * 3 + 3);
    if (!out) return NULL;
    static const int variants[] = {sodium_base64_VARIANT_ORIGINAL_NO_PADDING, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (int v = 0; v < 2; v++)
        if (!sodium_base642bin(out, len / 4 * 3 + 3, s, len, " \r\n", out_n, NULL, variants[v])) return out;
    free(out);
    return NULL;
}

/* decodes a data: URL image into *img; param names the field for errors */
static bool decode_url(const char *url, const char *param, hearth_image *img, api_error *e) {
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8) || !strncmp(url, "file:", 5) ||
        !strncmp(url, "ftp://", 6))
        return img_fail(e, 400, param, "invalid_image_url",
                        "'%s': hearth does not download images (no network access at run time); send the image "
                        "inline as a data URL: data:image/png;base64,...",
                        param),
               false;
    if (strncmp(url, "data:", 5))
        return img_fail(e, 400, param, "invalid_image_url",
                        "'%s' must be a data URL (data:image/png;base64,...)", param),
               false;
    const char *comma = strchr(url, ',');
    if (!comma || comma - url > 200 || !strstr(url, ";base64"))
        return img_fail(e, 400, param, "invalid_image_url", "'%s': expected data:<type>;base64,<data>", param), false;
    size_t n = 0;
    uint8_t *bytes = srv_base64_decode(comma + 1, strlen(comma + 1), &n);
    if (!bytes) return img_fail(e, 400, param, "invalid_image_url", "'%s': the base64 data is malformed", param), false;
    hearth_status st = hearth_image_decode(bytes, n, 3, img);
    free(bytes);
    if (st)
        return img_fail(e, 400, param, "invalid_image", "'%s': %s", param, hearth_last_error()), false;
    return true;
}

/* ==== chat: image_url parts ============================================================ */
bool srv_image_part(srv_job *j, const cJSON *part, const char *param, hearth_buf *text, api_error *e) {
    const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
    const cJSON *url = cJSON_IsObject(iu) ? cJSON_GetObjectItemCaseSensitive(iu, "url") : iu;
    if (!cJSON_IsString(url))
        return img_fail(e, 400, param, "invalid_value",
                        "'%s': an image part is {\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}}", param),
               false;
    if (!j->model->clip)
        return img_fail(e, 400, param, "model_not_supported",
                        "the model '%s' has no image encoder: it cannot read images (start hearth serve with "
                        "--mmproj P.gguf for a LLaVA-style model)",
                        j->model->name),
               false;
    if (j->image)
        return img_fail(e, 400, param, "invalid_value", "'%s': one image per request is supported", param), false;
    hearth_image *img = calloc(1, sizeof *img);
    if (!img) return img_fail(e, 500, NULL, NULL, "out of memory"), false;
    if (!decode_url(url->valuestring, param, img, e)) {
        free(img);
        return false;
    }
    j->image = img;
    j->n_image = hearth_clip_n_tokens(j->model->clip);
    hearth_buf_puts(text, "<image>");
    return true;
}

/* the rendered conversation with its image: the text before <image> as a
 * chat text (BOS as the vocab says), the rest without BOS; the image's rows
 * go before prompt[image_at] */
bool srv_image_tokenize(srv_job *j, const char *text, api_error *e) {
    if (!strstr(text, "<image>"))
        return img_fail(e, 400, "messages", "invalid_value", "the chat template dropped the image"), false;
    size_t n = 0;
    int32_t at = 0;
    if (hearth_clip_prompt(hearth_model_vocab(j->model->m), text, strlen(text), &j->prompt, &n, &at))
        return img_fail(e, 400, "messages", "invalid_value", "cannot tokenize the conversation: %s",
                        hearth_last_error()),
               false;
    j->n_prompt = (int)n;
    j->image_at = (int)at;
    return true;
}

/* ==== /v1/embeddings: image inputs ========================================================
 * An input item {"type":"image_url","image_url":{"url":"data:..."}} (the chat
 * part's shape) is embedded by the model's image encoder: the mean of its
 * projected patch embeddings, L2-normalized ("pooling":"none": all n_tokens
 * rows, row-major, not normalized — what `hearth embed --mmproj --image`
 * prints). */
bool srv_embed_image_input(srv_job *j, int i, const cJSON *x, api_error *e) {
    char param[48];
    snprintf(param, sizeof param, "input[%d]", i);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(x, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "image_url"))
        return img_fail(e, 400, param, "invalid_value",
                        "'%s': an object input must be {\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}}",
                        param),
               false;
    if (!j->model->clip)
        return img_fail(e, 400, param, "model_not_supported",
                        "the model '%s' has no image encoder: it cannot embed images (start hearth serve with "
                        "--mmproj P.gguf)",
                        j->model->name),
               false;
    const cJSON *iu = cJSON_GetObjectItemCaseSensitive(x, "image_url");
    const cJSON *url = cJSON_IsObject(iu) ? cJSON_GetObjectItemCaseSensitive(iu, "url") : iu;
    if (!cJSON_IsString(url)) return img_fail(e, 400, param, "invalid_value", "'%s': image_url.url is missing", param), false;
    if (!j->in_image && !(j->in_image = calloc((size_t)j->n_inputs, sizeof *j->in_image)))
        return img_fail(e, 500, NULL, NULL, "out of memory"), false;
    hearth_image *img = calloc(1, sizeof *img);
    if (!img) return img_fail(e, 500, NULL, NULL, "out of memory"), false;
    if (!decode_url(url->valuestring, param, img, e)) {
        free(img);
        return false;
    }
    j->in_image[i] = img;
    return true;
}

/* runs on the scheduler thread: out gets the input's vector (dim floats, or
 * n_tokens * n_embd with pooling none) */
hearth_status srv_embed_image(srv_model *sm, const hearth_image *img, bool pooled, float *out) {
    int nt = hearth_clip_n_tokens(sm->clip), ne = hearth_clip_n_embd(sm->clip);
    float *rows = pooled ? malloc(sizeof *rows * nt * ne) : out;
    if (!rows) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    hearth_status st = hearth_clip_encode(sm->clip, img, rows);
    if (!st && pooled) {
        double norm = 0;
        for (int d = 0; d < ne; d++) {
            double m = 0;
            for (int t = 0; t < nt; t++) m += rows[(size_t)t * ne + d];
            out[d] = (float)(m / nt);
            norm += (double)out[d] * out[d];
        }
        norm = norm > 0 ? 1 / sqrt(norm) : 0;
        for (int d = 0; d < ne; d++) out[d] = (float)(out[d] * norm);
    }
    if (pooled) free(rows);
    return st;
}

/* the job's image through the encoder, once (the first sequence of the job
 * to take a slot) */
hearth_status srv_image_encode(srv_model *sm, srv_job *j) {
    if (j->image_embd) return HEARTH_OK;
    float *e = malloc(sizeof *e * (size_t)j->n_image * hearth_clip_n_embd(sm->clip));
    if (!e) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for the image's embeddings");
    hearth_status st = hearth_clip_encode(sm->clip, j->image, e);
    if (st) {
        free(e);
        return st;
    }
    j->image_embd = e;
    return HEARTH_OK;
}
