/*
 * qc_caption.c — captions of inspected parts written by a vision-language
 * model (LLaVA: a language model and its llama.cpp mmproj image encoder).
 *
 * The model sees the image where its chat template puts the user's turn
 * ("<image>\n" + the inspection's facts + the instruction) and answers
 * greedily, so the same image and result always give the same caption.
 */
#include "hearth/chat.h"
#include "hearth/clip.h"
#include "hearth/qc.h"

#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

struct hearth_qc_captioner {
    hearth_model *model;
    hearth_context *ctx;
    hearth_clip *clip;
    hearth_chat_policy *chat;
    char *instruction;
    int max_tokens;
    float *embd;        /* n_tokens x n_embd: the image's rows */
};

hearth_qc_captioner_params hearth_qc_captioner_default_params(void) {
    hearth_qc_captioner_params p = {0};
    p.max_tokens = 48;
    return p;
}

void hearth_qc_captioner_free(hearth_qc_captioner *c) {
    if (!c) return;
    hearth_clip_free(c->clip);
    hearth_chat_policy_free(c->chat);
    hearth_context_free(c->ctx);
    hearth_model_free(c->model);
    free(c->instruction);
    free(c->embd);
    free(c);
}

hearth_status hearth_qc_captioner_load(const char *model_path, const char *mmproj_path,
                                       const hearth_qc_captioner_params *params, hearth_qc_captioner **out) {
    *out = NULL;
    hearth_qc_captioner_params p = params ? *params : hearth_qc_captioner_default_params();
    hearth_qc_captioner *c = calloc(1, sizeof *c);
    if (!c) return hearth_set_error(HEARTH_ERR_NOMEM, "qc captions: out of memory");
    c->max_tokens = p.max_tokens > 0 ? p.max_tokens : 48;
    c->instruction = strdup(p.instruction && *p.instruction ? p.instruction
                                                            : "Describe the defect on this part in one sentence.");
    hearth_clip_params vp = hearth_clip_default_params();
    vp.n_threads = p.n_threads;
    hearth_context_params cp = hearth_context_default_params();
    cp.n_threads = p.n_threads;
    hearth_status st = !c->instruction ? hearth_set_error(HEARTH_ERR_NOMEM, "qc captions: out of memory") : HEARTH_OK;
    if (!st) st = hearth_model_load(model_path, NULL, &c->model);
    if (!st) st = hearth_clip_load(mmproj_path, &vp, &c->clip);
    if (!st) st = hearth_clip_check_model(c->clip, c->model);
    if (!st) {
        /* the image's rows, the prompt and the caption must fit */
        int32_t need = hearth_clip_n_tokens(c->clip) + 256 + c->max_tokens;
        cp.n_ctx = need > 2048 ? need : 2048;
        st = hearth_context_create(c->model, &cp, &c->ctx);
    }
    if (!st) st = hearth_chat_policy_create(c->model, NULL, &c->chat);
    if (!st && !(c->embd = malloc(sizeof *c->embd * (size_t)hearth_clip_n_tokens(c->clip) *
                                  (size_t)hearth_clip_n_embd(c->clip))))
        st = hearth_set_error(HEARTH_ERR_NOMEM, "qc captions: out of memory");
    if (st) {
        hearth_qc_captioner_free(c);
        return st;
    }
    *out = c;
    return HEARTH_OK;
}

char *hearth_qc_captioner_prompt(const hearth_qc_captioner *c, const hearth_qc_result *r, double threshold,
                                 int img_w, int img_h) {
    hearth_buf b = {0};
    hearth_buf_printf(&b,
                      "<image>\nAn inspection camera took this %dx%d image of a part. Its anomaly score is %.2f "
                      "(threshold %.2f: %s); the most unusual region is %dx%d pixels at x=%d, y=%d. %s",
                      img_w, img_h, r->score, threshold, r->anomalous ? "defective" : "good", r->region[2],
                      r->region[3], r->region[0], r->region[1], c->instruction);
    return hearth_buf_take(&b, NULL);
}

hearth_status hearth_qc_captioner_caption(hearth_qc_captioner *c, const hearth_image *img, const hearth_qc_result *r,
                                          double threshold, char **out) {
    *out = NULL;
    char *user = hearth_qc_captioner_prompt(c, r, threshold, img->w, img->h), *text = NULL;
    if (!user) return hearth_set_error(HEARTH_ERR_NOMEM, "qc captions: out of memory");
    hearth_chat_message msg = {.role = "user", .content = user};
    int32_t *ids = NULL;
    size_t n_ids = 0;
    hearth_generate_params gp = hearth_generate_default_params();
    gp.sampling.temp = 0;
    gp.max_tokens = c->max_tokens;
    gp.stop = (const char *const *)hearth_chat_policy_stops(c->chat);
    for (gp.n_stop = 0; gp.stop && gp.stop[gp.n_stop];) gp.n_stop++;
    gp.embd = c->embd;
    gp.n_embd_rows = hearth_clip_n_tokens(c->clip);
    hearth_generation g = {0};
    hearth_status st = hearth_chat_policy_render(c->chat, &msg, 1, true, &text, NULL);
    if (!st) st = hearth_clip_encode(c->clip, img, c->embd);
    if (!st) st = hearth_clip_prompt(hearth_model_vocab(c->model), text, strlen(text), &ids, &n_ids, &gp.embd_at);
    if (!st) st = hearth_generate_ids(c->ctx, c->model, ids, n_ids, &gp, &g);
    if (!st) {
        /* one line, without the spaces around it */
        size_t a = 0, e = g.text_len;
        while (a < e && strchr(" \t\r\n", g.text[a])) a++;
        while (e > a && strchr(" \t\r\n", g.text[e - 1])) e--;
        *out = strndup(g.text + a, e - a);
        for (char *s = *out; s && *s; s++)
            if (*s == '\n' || *s == '\r') *s = ' ';
        if (!*out) st = hearth_set_error(HEARTH_ERR_NOMEM, "qc captions: out of memory");
    }
    hearth_generation_clear(&g);
    free(ids);
    free(text);
    free(user);
    return st;
}
