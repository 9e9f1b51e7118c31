/*
 * vision_net.c — the vision network: a list of layers run in order over a
 * batch of images, forward and backward, spread over the thread pool by
 * images; batch norm synchronises the batch between two passes.
 *
 * Activations are per image: image-shaped ones channels-first (C, H, W);
 * token-shaped ones (after `patch`) row-major (T, D) with T = h, D = c.
 * All parameters live in one flat array (so AdamW, gradient reduction and
 * checkpoints are one loop each); batch-norm running statistics in another.
 */
#include "train/vision_internal.h"

#include "core/buf.h"
#include "hearth/gguf.h"
#include "hearth/types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ltype { L_CONV, L_BN, L_RELU, L_POOL, L_GAP, L_FC, L_PATCH, L_BLOCK, L_LN, L_TOKMEAN };

typedef struct vshape {
    int c, h, w;
    bool tok;   /* (T = h, D = c) row-major */
} vshape;

typedef struct vlayer {
    enum ltype type;
    int arg, arg2;          /* conv: outputs; fc: outputs; patch: size, dim; block: heads */
    vshape in, out;
    int64_t p0, np;         /* its parameters: [p0, p0+np) of the flat array */
    int64_t s0, ns;         /* its running statistics (bn) */
    float *act;             /* B * out elements */
    float *save;            /* B * save_n: what the backward needs besides in/out */
    size_t save_n;
    int32_t *idx;           /* pool: argmax, B * out elements */
    float *bnr;             /* bn: the batch's 1/std per channel (training forward) */
} vlayer;

typedef struct vparam_info {
    char name[48];
    int64_t off, ne[4];
    int n_dims;
    bool decay;
} vparam_info;

#define VNET_MAX_LAYERS 64
#define VNET_MAX_THREADS 64

struct hearth_vnet {
    char arch[256];           /* "cnn", "vit" or the layer list */
    char spec[512];           /* the layer list */
    int w, h, c, n_classes;
    float norm_mean, norm_std;
    char **class_names;
    int n_layers;
    vlayer layers[VNET_MAX_LAYERS];
    float *params, *grads;    /* n_params */
    uint8_t *decay;           /* n_params */
    int64_t n_params;
    float *stats;             /* n_stats: bn running mean, var */
    int64_t n_stats;
    vparam_info *pinfo;
    int n_pinfo;
    size_t cap_pinfo;
    /* batch buffers */
    int cap_B;
    float *input;             /* B * in elements (normalised), borrowed during a pass */
    float *dact[2];           /* two ping-pong gradient buffers of B * max elements */
    size_t max_elems;
    float *tgrads[VNET_MAX_THREADS];   /* per-thread gradient accumulators (thread 0 = grads) */
    float *tscratch[VNET_MAX_THREADS];
    size_t scratch_n;
    int n_tgrads;
    double *partial;          /* per-thread bn sums: nth * 2 * max channels */
};

const char *const VNET_CNN = "conv16,bn,relu,pool,conv32,bn,relu,pool,fc128,relu,fc";
const char *const VNET_VIT = "patch4x64,block4,block4,ln,tokmean,fc";

/* ======================================================================== */
/* building                                                                 */
/* ======================================================================== */

static hearth_status add_param(hearth_vnet *net, vlayer *L, int li, const char *what, int n_dims, int64_t a,
                               int64_t b, bool decay) {
    if (!HEARTH_GROW(net->pinfo, net->cap_pinfo, (size_t)net->n_pinfo + 1)) return HEARTH_ERR_NOMEM;
    vparam_info *p = &net->pinfo[net->n_pinfo++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "v.%d.%s", li, what);
    p->off = net->n_params;
    p->n_dims = n_dims;
    p->ne[0] = a;
    p->ne[1] = n_dims > 1 ? b : 1;
    p->ne[2] = p->ne[3] = 1;
    p->decay = decay;
    net->n_params += a * p->ne[1];
    L->np = net->n_params - L->p0;
    return HEARTH_OK;
}

static int64_t shape_n(vshape s) { return (int64_t)s.c * s.h * s.w; }

/* parses one item "name[N[xM]]" */
static hearth_status parse_item(const char *item, size_t len, enum ltype *type, int *a1, int *a2) {
    static const struct { const char *name; enum ltype t; } names[] = {
        {"conv", L_CONV}, {"bn", L_BN}, {"relu", L_RELU}, {"pool", L_POOL}, {"gap", L_GAP}, {"fc", L_FC},
        {"patch", L_PATCH}, {"block", L_BLOCK}, {"ln", L_LN}, {"tokmean", L_TOKMEAN},
    };
    size_t nl = 0;
    while (nl < len && item[nl] >= 'a' && item[nl] <= 'z') nl++;
    *a1 = *a2 = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) != nl || memcmp(names[i].name, item, nl) != 0) continue;
        *type = names[i].t;
        size_t j = nl;
        int *dst = a1;
        while (j < len) {
            if (item[j] == 'x' && dst == a1 && j > nl) {
                dst = a2;
                j++;
                continue;
            }
            if (item[j] < '0' || item[j] > '9' || *dst > 100000)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: bad layer \"%.*s\"", (int)len, item);
            *dst = *dst * 10 + (item[j] - '0');
            j++;
        }
        return HEARTH_OK;
    }
    return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                            "vision arch: unknown layer \"%.*s\" (conv N, bn, relu, pool, gap, fc N, patch PxD, "
                            "block H, ln, tokmean)",
                            (int)len, item);
}

static hearth_status build(hearth_vnet *net) {
    vshape s = {net->c, net->h, net->w, false};
    const char *p = net->spec;
    net->n_layers = 0;
    net->n_params = net->n_stats = 0;
    net->max_elems = (size_t)shape_n(s);
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (net->n_layers == VNET_MAX_LAYERS)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: more than %d layers", VNET_MAX_LAYERS);
        int li = net->n_layers;
        vlayer *L = &net->layers[net->n_layers++];
        memset(L, 0, sizeof *L);
        hearth_status st = parse_item(p, len, &L->type, &L->arg, &L->arg2);
        if (st) return st;
        L->in = s;
        L->p0 = net->n_params;
        L->s0 = net->n_stats;
        bool last = e == NULL;
        vshape o = s;
        switch (L->type) {
        case L_CONV:
            if (s.tok || L->arg <= 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: conv needs an image-shaped input and a channel count");
            o.c = L->arg;
            if ((st = add_param(net, L, li, "w", 2, (int64_t)s.c * 9, L->arg, true)) ||
                (st = add_param(net, L, li, "b", 1, L->arg, 1, false)))
                return st;
            break;
        case L_BN:
            if (s.tok) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: bn needs an image-shaped input (use ln)");
            if ((st = add_param(net, L, li, "g", 1, s.c, 1, false)) || (st = add_param(net, L, li, "b", 1, s.c, 1, false)))
                return st;
            net->n_stats += 2 * s.c;
            L->ns = 2 * s.c;
            L->save_n = (size_t)shape_n(s);   /* x hat */
            break;
        case L_RELU: break;
        case L_POOL:
            if (s.tok || s.h < 2 || s.w < 2) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: pool needs an image at least 2x2");
            o.h = s.h / 2;
            o.w = s.w / 2;
            break;
        case L_GAP:
            if (s.tok) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: gap needs an image-shaped input");
            o.h = o.w = 1;
            break;
        case L_FC: {
            int n = last ? net->n_classes : L->arg;
            if (n <= 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: fc needs an output count");
            L->arg = n;
            o = (vshape){n, 1, 1, false};
            if ((st = add_param(net, L, li, "w", 2, n, shape_n(s), true)) || (st = add_param(net, L, li, "b", 1, n, 1, false)))
                return st;
            L->save_n = 0;
            break;
        }
        case L_PATCH: {
            int ps = L->arg, D = L->arg2;
            if (s.tok || ps <= 0 || D <= 0 || s.h % ps || s.w % ps)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: patch%dx%d must divide the %dx%d image",
                                        ps, D, s.w, s.h);
            int T = (s.h / ps) * (s.w / ps), K = s.c * ps * ps;
            o = (vshape){D, T, 1, true};
            if ((st = add_param(net, L, li, "w", 2, D, K, true)) || (st = add_param(net, L, li, "b", 1, D, 1, false)) ||
                (st = add_param(net, L, li, "pos", 2, D, T, false)))
                return st;
            L->save_n = (size_t)T * K;
            break;
        }
        case L_BLOCK: {
            int D = s.c, T = s.h, H = L->arg;
            if (!s.tok || H <= 0 || D % H || T > 1024)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: block%d needs tokens whose width divides by the heads (and at most 1024 tokens)", H);
            if ((st = add_param(net, L, li, "ln1.g", 1, D, 1, false)) || (st = add_param(net, L, li, "ln1.b", 1, D, 1, false)) ||
                (st = add_param(net, L, li, "qkv.w", 2, 3 * D, D, true)) || (st = add_param(net, L, li, "qkv.b", 1, 3 * D, 1, false)) ||
                (st = add_param(net, L, li, "proj.w", 2, D, D, true)) || (st = add_param(net, L, li, "proj.b", 1, D, 1, false)) ||
                (st = add_param(net, L, li, "ln2.g", 1, D, 1, false)) || (st = add_param(net, L, li, "ln2.b", 1, D, 1, false)) ||
                (st = add_param(net, L, li, "fc1.w", 2, 2 * D, D, true)) || (st = add_param(net, L, li, "fc1.b", 1, 2 * D, 1, false)) ||
                (st = add_param(net, L, li, "fc2.w", 2, D, 2 * D, true)) || (st = add_param(net, L, li, "fc2.b", 1, D, 1, false)))
                return st;
            /* ln1 out, ln1 mean/rstd, qkv, q, k, v, att, attn out, x1, ln2 out, ln2 mean/rstd, h pre, h post */
            L->save_n = (size_t)T * D + 2 * T + 3 * (size_t)T * D + 3 * (size_t)T * D + (size_t)H * T * T +
                        (size_t)T * D + (size_t)T * D + (size_t)T * D + 2 * T + 2 * (size_t)T * 2 * D;
            break;
        }
        case L_LN:
            if (!s.tok) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: ln needs tokens (after patch)");
            if ((st = add_param(net, L, li, "g", 1, s.c, 1, false)) || (st = add_param(net, L, li, "b", 1, s.c, 1, false)))
                return st;
            L->save_n = 2 * (size_t)s.h;
            break;
        case L_TOKMEAN:
            if (!s.tok) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: tokmean needs tokens");
            o = (vshape){s.c, 1, 1, false};
            break;
        }
        if (last && L->type != L_FC)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: the last layer must be fc");
        L->out = o;
        s = o;
        if ((size_t)shape_n(o) > net->max_elems) net->max_elems = (size_t)shape_n(o);
        p = e ? e + 1 : p + len;
    }
    if (net->n_layers == 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: no layers");
    return HEARTH_OK;
}

static hearth_status alloc_params(hearth_vnet *net) {
    net->params = calloc((size_t)net->n_params, sizeof(float));
    net->grads = calloc((size_t)net->n_params, sizeof(float));
    net->decay = calloc((size_t)net->n_params, 1);
    net->stats = calloc((size_t)(net->n_stats ? net->n_stats : 1), sizeof(float));
    if (!net->params || !net->grads || !net->decay || !net->stats) return HEARTH_ERR_NOMEM;
    for (int i = 0; i < net->n_pinfo; i++) {
        vparam_info *p = &net->pinfo[i];
        if (p->decay) memset(net->decay + p->off, 1, (size_t)(p->ne[0] * p->ne[1]));
    }
    return HEARTH_OK;
}

static void init_weights(hearth_vnet *net, uint64_t seed) {
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 1;
    for (int i = 0; i < net->n_pinfo; i++) {
        vparam_info *p = &net->pinfo[i];
        float *x = net->params + p->off;
        int64_t n = p->ne[0] * p->ne[1];
        const char *what = strchr(p->name + 2, '.') + 1;
        int li = atoi(p->name + 2);
        enum ltype t = net->layers[li].type;
        float std = 0.0f, fill = 0.0f;
        if (!strcmp(what, "g") || !strcmp(what, "ln1.g") || !strcmp(what, "ln2.g")) fill = 1.0f;
        else if (!strcmp(what, "pos") || (t == L_BLOCK && p->decay) || (t == L_PATCH && p->decay)) std = 0.02f;
        else if (p->decay) {
            /* He initialisation for layers followed by ReLU; the classifier smaller */
            double fan_in = t == L_CONV ? (double)p->ne[0] : (double)p->ne[1];
            bool is_last = li == net->n_layers - 1;
            std = (float)sqrt((is_last ? 1.0 : 2.0) / fan_in);
        }
        for (int64_t j = 0; j < n; j++) x[j] = std > 0 ? (float)(std * vrng_normal(&rng)) : fill;
    }
    for (int i = 0; i < net->n_layers; i++) {
        vlayer *L = &net->layers[i];
        if (L->type == L_BN)
            for (int c = 0; c < L->in.c; c++) net->stats[L->s0 + L->in.c + c] = 1.0f;   /* var */
    }
}

static hearth_status new_net(const char *arch, int w, int h, int c, int n_classes, hearth_vnet **out) {
    *out = NULL;
    if (w <= 0 || h <= 0 || (c != 1 && c != 3) || n_classes < 2 || w > 4096 || h > 4096)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision net: bad shape %dx%dx%d with %d classes", w, h, c,
                                n_classes);
    hearth_vnet *net = calloc(1, sizeof *net);
    if (!net) return HEARTH_ERR_NOMEM;
    snprintf(net->arch, sizeof net->arch, "%s", arch ? arch : "cnn");
    const char *spec = !strcmp(net->arch, "cnn") ? VNET_CNN : !strcmp(net->arch, "vit") ? VNET_VIT : net->arch;
    if (strlen(spec) >= sizeof net->spec) {
        free(net);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision arch: layer list too long");
    }
    strcpy(net->spec, spec);
    net->w = w, net->h = h, net->c = c, net->n_classes = n_classes;
    net->norm_mean = 0.0f, net->norm_std = 1.0f;
    hearth_status st = build(net);
    if (!st) st = alloc_params(net);
    if (!st) {
        net->class_names = calloc((size_t)n_classes, sizeof(char *));
        if (!net->class_names) st = HEARTH_ERR_NOMEM;
        for (int i = 0; !st && i < n_classes; i++) {
            char b[16];
            snprintf(b, sizeof b, "%d", i);
            if (!(net->class_names[i] = strdup(b))) st = HEARTH_ERR_NOMEM;
        }
    }
    if (st) {
        hearth_vnet_free(net);
        return st;
    }
    *out = net;
    return HEARTH_OK;
}

hearth_status hearth_vnet_create(const char *arch, int w, int h, int c, int n_classes, uint64_t seed,
                                 hearth_vnet **out) {
    hearth_status st = new_net(arch, w, h, c, n_classes, out);
    if (st) return st;
    init_weights(*out, seed);
    return HEARTH_OK;
}

static void free_batch(hearth_vnet *net) {
    for (int i = 0; i < net->n_layers; i++) {
        free(net->layers[i].act);
        free(net->layers[i].save);
        free(net->layers[i].idx);
        free(net->layers[i].bnr);
        net->layers[i].act = net->layers[i].save = net->layers[i].bnr = NULL;
        net->layers[i].idx = NULL;
    }
    free(net->dact[0]);
    free(net->dact[1]);
    net->dact[0] = net->dact[1] = NULL;
    for (int t = 1; t < net->n_tgrads; t++) free(net->tgrads[t]);
    for (int t = 0; t < net->n_tgrads; t++) free(net->tscratch[t]);
    memset(net->tgrads, 0, sizeof net->tgrads);
    memset(net->tscratch, 0, sizeof net->tscratch);
    net->n_tgrads = 0;
    free(net->partial);
    net->partial = NULL;
    net->cap_B = 0;
}

void hearth_vnet_free(hearth_vnet *net) {
    if (!net) return;
    free_batch(net);
    free(net->params);
    free(net->grads);
    free(net->decay);
    free(net->stats);
    free(net->pinfo);
    if (net->class_names)
        for (int i = 0; i < net->n_classes; i++) free(net->class_names[i]);
    free(net->class_names);
    free(net);
}

/* scratch floats one thread needs for one image in any layer's backward */
static size_t layer_scratch(const vlayer *L, int B) {
    switch (L->type) {
    case L_CONV: {
        size_t K = (size_t)L->in.c * 9, P = (size_t)L->in.h * L->in.w;
        return 3 * K * P + K * (size_t)L->out.c;   /* col, dcol, colT, WT */
    }
    case L_FC: {
        size_t K = (size_t)shape_n(L->in), N = (size_t)L->out.c;
        return (size_t)B * K + K * N;
    }
    case L_PATCH: {
        size_t T = (size_t)L->out.h, D = (size_t)L->out.c, K = L->np / D;
        return 2 * T * K + K * D;
    }
    case L_BLOCK: {
        size_t T = (size_t)L->in.h, D = (size_t)L->in.c;
        return 12 * T * D + 4 * T * D + 2 * D * 2 * D + 3 * D * D + 16 * T * D;
    }
    default: return 0;
    }
}

static hearth_status ensure_batch(hearth_vnet *net, int B, int nth) {
    if (nth > VNET_MAX_THREADS) nth = VNET_MAX_THREADS;
    if (B <= net->cap_B && nth <= net->n_tgrads) return HEARTH_OK;
    free_batch(net);
    size_t scratch = 0;
    int maxc = 1;
    for (int i = 0; i < net->n_layers; i++) {
        vlayer *L = &net->layers[i];
        size_t n = (size_t)shape_n(L->out);
        if (!(L->act = malloc((size_t)B * n * sizeof(float)))) return HEARTH_ERR_NOMEM;
        if (L->save_n && !(L->save = malloc((size_t)B * L->save_n * sizeof(float)))) return HEARTH_ERR_NOMEM;
        if (L->type == L_POOL && !(L->idx = malloc((size_t)B * n * sizeof(int32_t)))) return HEARTH_ERR_NOMEM;
        if (L->type == L_BN && !(L->bnr = calloc((size_t)L->in.c, sizeof(float)))) return HEARTH_ERR_NOMEM;
        size_t s = layer_scratch(L, B);
        scratch = s > scratch ? s : scratch;
        if (L->in.c > maxc) maxc = L->in.c;
    }
    for (int k = 0; k < 2; k++)
        if (!(net->dact[k] = malloc((size_t)B * net->max_elems * sizeof(float)))) return HEARTH_ERR_NOMEM;
    net->scratch_n = scratch + 16;
    net->n_tgrads = nth;
    net->tgrads[0] = net->grads;
    for (int t = 0; t < nth; t++) {
        if (t > 0 && !(net->tgrads[t] = calloc((size_t)net->n_params, sizeof(float)))) return HEARTH_ERR_NOMEM;
        if (!(net->tscratch[t] = malloc(net->scratch_n * sizeof(float)))) return HEARTH_ERR_NOMEM;
    }
    if (!(net->partial = calloc((size_t)nth * 2 * maxc, sizeof(double)))) return HEARTH_ERR_NOMEM;
    net->cap_B = B;
    return HEARTH_OK;
}

/* ======================================================================== */
/* forward                                                                  */
/* ======================================================================== */

typedef struct pass {
    hearth_vnet *net;
    int li, B;
    bool train;
    const float *in;      /* layer input, B * in elements */
    const float *dout;    /* backward: gradient of the layer's output */
    float *din;           /* backward: gradient of the layer's input (NULL for the first layer) */
    int phase;
    float *logits;
} pass;

static void split_images(int B, int ith, int nth, int *b0, int *b1) {
    int64_t r0, r1;
    hearth_split_rows(B, ith, nth, &r0, &r1);
    *b0 = (int)r0, *b1 = (int)r1;
}

/* block forward for one image: x (T, D) -> y (T, D); sv = its saved slots */
typedef struct block_slots {
    float *ln1, *m1, *r1, *qkv, *q, *k, *v, *att, *ao, *x1, *ln2, *m2, *r2, *hpre, *hpost;
} block_slots;

static block_slots block_slots_of(float *sv, int T, int D, int H) {
    block_slots s;
    float *p = sv;
    s.ln1 = p, p += (size_t)T * D;
    s.m1 = p, p += T;
    s.r1 = p, p += T;
    s.qkv = p, p += 3 * (size_t)T * D;
    s.q = p, p += (size_t)T * D;
    s.k = p, p += (size_t)T * D;
    s.v = p, p += (size_t)T * D;
    s.att = p, p += (size_t)H * T * T;
    s.ao = p, p += (size_t)T * D;
    s.x1 = p, p += (size_t)T * D;
    s.ln2 = p, p += (size_t)T * D;
    s.m2 = p, p += T;
    s.r2 = p, p += T;
    s.hpre = p, p += (size_t)T * 2 * D;
    s.hpost = p;
    return s;
}

/* block parameter pointers, in the order of build() */
typedef struct block_params {
    float *g1, *b1, *wqkv, *bqkv, *wo, *bo, *g2, *b2, *w1, *bb1, *w2, *bb2;
} block_params;

static block_params block_params_of(float *p, int D) {
    block_params b;
    b.g1 = p, p += D;
    b.b1 = p, p += D;
    b.wqkv = p, p += (size_t)3 * D * D;   /* (D, 3D): ne[0] = 3D fastest */
    b.bqkv = p, p += 3 * D;
    b.wo = p, p += (size_t)D * D;
    b.bo = p, p += D;
    b.g2 = p, p += D;
    b.b2 = p, p += D;
    b.w1 = p, p += (size_t)D * 2 * D;
    b.bb1 = p, p += 2 * D;
    b.w2 = p, p += (size_t)2 * D * D;
    b.bb2 = p;
    return b;
}

static void block_forward(const vlayer *L, float *params, float *y, float *sv, const float *x) {
    int T = L->in.h, D = L->in.c, H = L->arg, hd = D / H;
    block_slots s = block_slots_of(sv, T, D, H);
    block_params w = block_params_of(params + L->p0, D);
    /* attention: x1 = x + proj(attn(ln1(x))) */
    vop_layernorm_forward(s.ln1, s.m1, s.r1, x, w.g1, w.b1, T, D);
    vop_fc_forward(s.qkv, s.ln1, w.wqkv, w.bqkv, T, D, 3 * D);
    for (int t = 0; t < T; t++) {
        memcpy(s.q + (size_t)t * D, s.qkv + (size_t)t * 3 * D, D * sizeof(float));
        memcpy(s.k + (size_t)t * D, s.qkv + (size_t)t * 3 * D + D, D * sizeof(float));
        memcpy(s.v + (size_t)t * D, s.qkv + (size_t)t * 3 * D + 2 * D, D * sizeof(float));
    }
    vop_attn_forward(s.ao, s.att, s.q, s.k, s.v, T, H, hd);
    vop_fc_forward(s.x1, s.ao, w.wo, w.bo, T, D, D);
    for (size_t i = 0; i < (size_t)T * D; i++) s.x1[i] += x[i];
    /* MLP: y = x1 + fc2(gelu(fc1(ln2(x1)))) */
    vop_layernorm_forward(s.ln2, s.m2, s.r2, s.x1, w.g2, w.b2, T, D);
    vop_fc_forward(s.hpre, s.ln2, w.w1, w.bb1, T, D, 2 * D);
    vop_gelu_forward(s.hpost, s.hpre, (size_t)T * 2 * D);
    vop_fc_forward(y, s.hpost, w.w2, w.bb2, T, 2 * D, D);
    for (size_t i = 0; i < (size_t)T * D; i++) y[i] += s.x1[i];
}

static void block_backward(const vlayer *L, float *params, float *grads, float *dx, const float *dy, float *sv,
                           const float *x, float *scr) {
    int T = L->in.h, D = L->in.c, H = L->arg, hd = D / H;
    size_t TD = (size_t)T * D;
    block_slots s = block_slots_of(sv, T, D, H);
    block_params w = block_params_of(params + L->p0, D);
    block_params g = block_params_of(grads + L->p0, D);
    float *dx1 = scr, *dh = dx1 + TD, *dln = dh + 2 * TD, *dao = dln + TD, *dq = dao + TD, *dk = dq + TD,
          *dv = dk + TD, *dqkv = dv + TD, *fs = dqkv + 3 * TD;
    /* MLP */
    memcpy(dx1, dy, TD * sizeof(float));
    vop_fc_backward(dh, g.w2, g.bb2, dy, s.hpost, w.w2, T, 2 * D, D, fs);
    vop_gelu_backward(dh, dh, s.hpre, 2 * TD);
    vop_fc_backward(dln, g.w1, g.bb1, dh, s.ln2, w.w1, T, D, 2 * D, fs);
    {
        float *tmp = dq;   /* free for now */
        vop_layernorm_backward(tmp, g.g2, g.b2, dln, s.x1, w.g2, s.m2, s.r2, T, D);
        for (size_t i = 0; i < TD; i++) dx1[i] += tmp[i];
    }
    /* attention */
    memcpy(dx, dx1, TD * sizeof(float));
    vop_fc_backward(dao, g.wo, g.bo, dx1, s.ao, w.wo, T, D, D, fs);
    vop_attn_backward(dq, dk, dv, dao, s.q, s.k, s.v, s.att, T, H, hd);
    for (int t = 0; t < T; t++) {
        memcpy(dqkv + (size_t)t * 3 * D, dq + (size_t)t * D, D * sizeof(float));
        memcpy(dqkv + (size_t)t * 3 * D + D, dk + (size_t)t * D, D * sizeof(float));
        memcpy(dqkv + (size_t)t * 3 * D + 2 * D, dv + (size_t)t * D, D * sizeof(float));
    }
    vop_fc_backward(dln, g.wqkv, g.bqkv, dqkv, s.ln1, w.wqkv, T, D, 3 * D, fs);
    vop_layernorm_backward(dq, g.g1, g.b1, dln, x, w.g1, s.m1, s.r1, T, D);
    for (size_t i = 0; i < TD; i++) dx[i] += dq[i];
}

static void forward_worker(void *arg, int ith, int nth) {
    pass *P = arg;
    hearth_vnet *net = P->net;
    vlayer *L = &net->layers[P->li];
    int b0, b1;
    split_images(P->B, ith, nth, &b0, &b1);
    size_t ni = (size_t)shape_n(L->in), no = (size_t)shape_n(L->out);
    float *prm = net->params + L->p0;
    float *scr = net->tscratch[ith];
    switch (L->type) {
    case L_FC:
        if (b1 > b0)
            vop_fc_forward(L->act + (size_t)b0 * no, P->in + (size_t)b0 * ni, prm, prm + ni * no, b1 - b0, (int)ni,
                           (int)no);
        return;
    case L_BN: {
        int C = L->in.c;
        size_t HW = (size_t)L->in.h * L->in.w;
        if (P->phase == 0) {   /* per-channel sums of this thread's images */
            double *part = net->partial + (size_t)ith * 2 * C;
            memset(part, 0, 2 * (size_t)C * sizeof(double));
            for (int b = b0; b < b1; b++)
                for (int c = 0; c < C; c++) {
                    const float *x = P->in + (size_t)b * ni + (size_t)c * HW;
                    double s = 0, s2 = 0;
                    for (size_t i = 0; i < HW; i++) s += x[i], s2 += (double)x[i] * x[i];
                    part[c] += s;
                    part[C + c] += s2;
                }
            return;
        }
        /* phase 1: normalise with mean / rstd left in partial[0..2C) by the caller */
        const double *ms = net->partial;
        for (int b = b0; b < b1; b++)
            for (int c = 0; c < C; c++) {
                const float *x = P->in + (size_t)b * ni + (size_t)c * HW;
                float *xh = L->save + (size_t)b * ni + (size_t)c * HW;
                float *y = L->act + (size_t)b * no + (size_t)c * HW;
                float m = (float)ms[c], r = (float)ms[C + c], gg = prm[c], bb = prm[C + c];
                for (size_t i = 0; i < HW; i++) {
                    xh[i] = (x[i] - m) * r;
                    y[i] = xh[i] * gg + bb;
                }
            }
        return;
    }
    default: break;
    }
    for (int b = b0; b < b1; b++) {
        const float *x = P->in + (size_t)b * ni;
        float *y = L->act + (size_t)b * no;
        float *sv = L->save ? L->save + (size_t)b * L->save_n : NULL;
        switch (L->type) {
        case L_CONV:
            vop_conv3_forward(y, scr, x, prm, prm + (size_t)L->in.c * 9 * L->out.c, L->in.c, L->in.h, L->in.w,
                              L->out.c);
            break;
        case L_RELU: vop_relu_forward(y, x, no); break;
        case L_POOL: vop_maxpool_forward(y, L->idx + (size_t)b * no, x, L->in.c, L->in.h, L->in.w); break;
        case L_GAP: vop_gap_forward(y, x, L->in.c, L->in.h * L->in.w); break;
        case L_PATCH: {
            int ps = L->arg, D = L->arg2, C = L->in.c, Wd = L->in.w, gw = Wd / ps, T = L->out.h, K = C * ps * ps;
            for (int t = 0; t < T; t++) {
                int py = (t / gw) * ps, px = (t % gw) * ps;
                float *row = sv + (size_t)t * K;
                for (int c = 0; c < C; c++)
                    for (int yy = 0; yy < ps; yy++)
                        for (int xx = 0; xx < ps; xx++)
                            row[(c * ps + yy) * ps + xx] = x[((size_t)c * L->in.h + py + yy) * Wd + px + xx];
            }
            vop_fc_forward(y, sv, prm, prm + (size_t)K * D, T, K, D);
            const float *pos = prm + (size_t)K * D + D;
            for (size_t i = 0; i < (size_t)T * D; i++) y[i] += pos[i];
            break;
        }
        case L_BLOCK: block_forward(L, net->params, y, sv, x); break;
        case L_LN: vop_layernorm_forward(y, sv, sv + L->in.h, x, prm, prm + L->in.c, L->in.h, L->in.c); break;
        case L_TOKMEAN: {
            int T = L->in.h, D = L->in.c;
            for (int d = 0; d < D; d++) y[d] = 0.0f;
            for (int t = 0; t < T; t++)
                for (int d = 0; d < D; d++) y[d] += x[(size_t)t * D + d] / (float)T;
            break;
        }
        default: break;
        }
    }
}

hearth_status vnet_forward(hearth_vnet *net, hearth_pool *pool, const float *x, int B, bool train, float *logits) {
    int nth = hearth_pool_size(pool);
    hearth_status st = ensure_batch(net, B, nth);
    if (st) return hearth_set_error(st, "vision net: out of memory for a batch of %d", B);
    net->input = (float *)x;
    const float *in = x;
    for (int li = 0; li < net->n_layers; li++) {
        vlayer *L = &net->layers[li];
        pass P = {.net = net, .li = li, .B = B, .train = train, .in = in};
        if (L->type == L_BN) {
            int C = L->in.c;
            double cnt = (double)B * L->in.h * L->in.w;
            float *rm = net->stats + L->s0, *rv = rm + C;
            if (train) {
                P.phase = 0;
                hearth_pool_run(pool, forward_worker, &P);
                for (int t = 1; t < nth; t++)
                    for (int i = 0; i < 2 * C; i++) net->partial[i] += net->partial[(size_t)t * 2 * C + i];
                for (int c = 0; c < C; c++) {
                    double m = net->partial[c] / cnt, v = net->partial[C + c] / cnt - m * m;
                    if (v < 0) v = 0;
                    rm[c] = 0.9f * rm[c] + 0.1f * (float)m;
                    rv[c] = 0.9f * rv[c] + 0.1f * (float)(v * cnt / (cnt > 1 ? cnt - 1 : 1));
                    net->partial[c] = m;
                    net->partial[C + c] = 1.0 / sqrt(v + 1e-5);
                    L->bnr[c] = (float)net->partial[C + c];
                }
            } else {
                for (int c = 0; c < C; c++) {
                    net->partial[c] = rm[c];
                    net->partial[C + c] = 1.0 / sqrt((double)rv[c] + 1e-5);
                }
            }
            P.phase = 1;
        }
        hearth_pool_run(pool, forward_worker, &P);
        in = L->act;
    }
    if (logits) memcpy(logits, in, (size_t)B * net->n_classes * sizeof(float));
    return HEARTH_OK;
}

/* ======================================================================== */
/* backward                                                                 */
/* ======================================================================== */

static void backward_worker(void *arg, int ith, int nth) {
    pass *P = arg;
    hearth_vnet *net = P->net;
    vlayer *L = &net->layers[P->li];
    int b0, b1;
    split_images(P->B, ith, nth, &b0, &b1);
    size_t ni = (size_t)shape_n(L->in), no = (size_t)shape_n(L->out);
    float *prm = net->params + L->p0, *grd = net->tgrads[ith] + L->p0;
    float *scr = net->tscratch[ith];
    if (L->type == L_FC) {
        if (b1 > b0)
            vop_fc_backward(P->din ? P->din + (size_t)b0 * ni : NULL, grd, grd + ni * no, P->dout + (size_t)b0 * no,
                            P->in + (size_t)b0 * ni, prm, b1 - b0, (int)ni, (int)no, scr);
        return;
    }
    if (L->type == L_BN) {
        int C = L->in.c;
        size_t HW = (size_t)L->in.h * L->in.w;
        if (P->phase == 0) {   /* per-channel sums of dy and dy * xhat */
            double *part = net->partial + (size_t)ith * 2 * C;
            memset(part, 0, 2 * (size_t)C * sizeof(double));
            for (int b = b0; b < b1; b++)
                for (int c = 0; c < C; c++) {
                    const float *dy = P->dout + (size_t)b * no + (size_t)c * HW;
                    const float *xh = L->save + (size_t)b * ni + (size_t)c * HW;
                    double s = 0, s2 = 0;
                    for (size_t i = 0; i < HW; i++) s += dy[i], s2 += (double)dy[i] * xh[i];
                    part[c] += s;
                    part[C + c] += s2;
                }
            return;
        }
        if (!P->din) return;
        /* dx = g * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)) */
        const double *ms = net->partial;
        double cnt = (double)P->B * HW;
        for (int b = b0; b < b1; b++)
            for (int c = 0; c < C; c++) {
                const float *dy = P->dout + (size_t)b * no + (size_t)c * HW;
                const float *xh = L->save + (size_t)b * ni + (size_t)c * HW;
                float *dx = P->din + (size_t)b * ni + (size_t)c * HW;
                float k = prm[c] * L->bnr[c];   /* g * rstd */
                float m1 = (float)(ms[c] / cnt), m2 = (float)(ms[C + c] / cnt);
                for (size_t i = 0; i < HW; i++) dx[i] = k * (dy[i] - m1 - xh[i] * m2);
            }
        return;
    }
    for (int b = b0; b < b1; b++) {
        const float *x = P->in + (size_t)b * ni, *dy = P->dout + (size_t)b * no;
        const float *y = L->act + (size_t)b * no;
        float *dx = P->din ? P->din + (size_t)b * ni : NULL;
        float *sv = L->save ? L->save + (size_t)b * L->save_n : NULL;
        switch (L->type) {
        case L_CONV: {
            int C = L->in.c, H = L->in.h, Wd = L->in.w, O = L->out.c;
            size_t K = (size_t)C * 9, Pn = (size_t)H * Wd;
            float *col = scr, *dcol = col + K * Pn, *colT = dcol + K * Pn, *WT = colT + K * Pn;
            /* recompute im2col (cheaper than keeping it per image) */
            vop_im2col3(col, x, C, H, Wd);
            vg_transpose(WT, prm, O, (int)K);
            vop_conv3_backward(dx, grd, grd + K * O, dy, col, WT, dcol, colT, C, H, Wd, O);
            break;
        }
        case L_RELU:
            if (dx) vop_relu_backward(dx, dy, y, no);
            break;
        case L_POOL:
            if (dx) vop_maxpool_backward(dx, dy, L->idx + (size_t)b * no, L->in.c, L->in.h, L->in.w);
            break;
        case L_GAP:
            if (dx) vop_gap_backward(dx, dy, L->in.c, L->in.h * L->in.w);
            break;
        case L_PATCH: {
            int D = L->arg2, T = L->out.h, K = L->in.c * L->arg * L->arg;
            vop_fc_backward(NULL, grd, grd + (size_t)K * D, dy, sv, prm, T, K, D, scr);
            float *gpos = grd + (size_t)K * D + D;
            for (size_t i = 0; i < (size_t)T * D; i++) gpos[i] += dy[i];
            break;   /* the first layer: no dx */
        }
        case L_BLOCK: block_backward(L, net->params, net->tgrads[ith], dx, dy, sv, x, scr); break;
        case L_LN:
            vop_layernorm_backward(dx ? dx : scr, grd, grd + L->in.c, dy, x, prm, sv, sv + L->in.h, L->in.h,
                                   L->in.c);
            break;
        case L_TOKMEAN:
            if (dx) {
                int T = L->in.h, D = L->in.c;
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < D; d++) dx[(size_t)t * D + d] = dy[d] / (float)T;
            }
            break;
        default: break;
        }
    }
}

static void reduce_worker(void *arg, int ith, int nth) {
    hearth_vnet *net = arg;
    int64_t r0, r1;
    hearth_split_rows(net->n_params, ith, nth, &r0, &r1);
    for (int t = 1; t < net->n_tgrads; t++) {
        float *g = net->tgrads[t];
        for (int64_t i = r0; i < r1; i++) {
            net->grads[i] += g[i];
            g[i] = 0.0f;
        }
    }
}

void vnet_zero_grad(hearth_vnet *net) {
    memset(net->grads, 0, (size_t)net->n_params * sizeof(float));
    for (int t = 1; t < net->n_tgrads; t++) memset(net->tgrads[t], 0, (size_t)net->n_params * sizeof(float));
}

hearth_status vnet_backward(hearth_vnet *net, hearth_pool *pool, const float *dlogits, int B) {
    int nth = hearth_pool_size(pool);
    if (B > net->cap_B || nth > net->n_tgrads)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision net: backward without a matching forward");
    const float *dout = dlogits;
    int k = 0;
    for (int li = net->n_layers - 1; li >= 0; li--) {
        vlayer *L = &net->layers[li];
        float *din = li > 0 ? net->dact[k] : NULL;
        const float *in = li > 0 ? net->layers[li - 1].act : net->input;
        pass P = {.net = net, .li = li, .B = B, .train = true, .in = in, .dout = dout, .din = din};
        if (L->type == L_BN) {
            int C = L->in.c;
            P.phase = 0;
            hearth_pool_run(pool, backward_worker, &P);
            for (int t = 1; t < nth; t++)
                for (int i = 0; i < 2 * C; i++) net->partial[i] += net->partial[(size_t)t * 2 * C + i];
            /* dbeta = sum dy, dgamma = sum dy * xhat */
            float *g = net->grads + L->p0;
            for (int c = 0; c < C; c++) {
                g[c] += (float)net->partial[C + c];
                g[C + c] += (float)net->partial[c];
            }
            P.phase = 1;
        }
        hearth_pool_run(pool, backward_worker, &P);
        dout = din;
        k ^= 1;
    }
    hearth_pool_run(pool, reduce_worker, net);
    return HEARTH_OK;
}

/* ======================================================================== */
/* accessors, inference                                                     */
/* ======================================================================== */

float *vnet_params(hearth_vnet *net) { return net->params; }
float *vnet_grads(hearth_vnet *net) { return net->grads; }
const uint8_t *vnet_decay_mask(const hearth_vnet *net) { return net->decay; }
int64_t hearth_vnet_n_params(const hearth_vnet *net) { return net ? net->n_params : 0; }
const char *hearth_vnet_arch(const hearth_vnet *net) { return net->arch; }
int vnet_n_layers(const hearth_vnet *net) { return net->n_layers; }

void hearth_vnet_shape(const hearth_vnet *net, int *w, int *h, int *c, int *n_classes) {
    if (w) *w = net->w;
    if (h) *h = net->h;
    if (c) *c = net->c;
    if (n_classes) *n_classes = net->n_classes;
}

const char *hearth_vnet_class_name(const hearth_vnet *net, int i) {
    return i >= 0 && i < net->n_classes ? net->class_names[i] : NULL;
}

hearth_status hearth_vnet_set_class_names(hearth_vnet *net, char *const *names, int n) {
    if (n != net->n_classes)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision net: %d class names for %d classes", n,
                                net->n_classes);
    for (int i = 0; i < n; i++) {
        char *s = strdup(names[i]);
        if (!s) return HEARTH_ERR_NOMEM;
        free(net->class_names[i]);
        net->class_names[i] = s;
    }
    return HEARTH_OK;
}

void vnet_copy_state(hearth_vnet *dst, const hearth_vnet *src) {
    memcpy(dst->params, src->params, (size_t)dst->n_params * sizeof(float));
    memcpy(dst->stats, src->stats, (size_t)dst->n_stats * sizeof(float));
    dst->norm_mean = src->norm_mean;
    dst->norm_std = src->norm_std;
}

void vnet_set_norm(hearth_vnet *net, float mean, float std) {
    net->norm_mean = mean;
    net->norm_std = std > 1e-6f ? std : 1.0f;
}

/* bytes (H, W, C interleaved) -> floats (C, H, W), normalised */
void vnet_normalise(const hearth_vnet *net, float *dst, const uint8_t *src) {
    int C = net->c;
    size_t HW = (size_t)net->h * net->w;
    float k = 1.0f / (255.0f * net->norm_std), m = net->norm_mean / net->norm_std;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < HW; i++) dst[(size_t)c * HW + i] = src[i * C + c] * k - m;
}

const float *vnet_activation(const hearth_vnet *net, int layer, int b, int *C, int *H, int *W) {
    if (layer < 0 || layer >= net->n_layers || !net->layers[layer].act || b >= net->cap_B) return NULL;
    const vlayer *L = &net->layers[layer];
    if (C) *C = L->out.c;
    if (H) *H = L->out.h;
    if (W) *W = L->out.w;
    return L->act + (size_t)b * shape_n(L->out);
}

hearth_status hearth_vnet_predict(hearth_vnet *net, hearth_pool *pool, const uint8_t *images, int64_t n,
                                  float *probs) {
    enum { CHUNK = 64 };
    size_t in_n = (size_t)net->w * net->h * net->c;
    float *x = malloc((size_t)CHUNK * in_n * sizeof(float));
    float *logits = malloc((size_t)CHUNK * net->n_classes * sizeof(float));
    if (!x || !logits) {
        free(x);
        free(logits);
        return HEARTH_ERR_NOMEM;
    }
    hearth_status st = HEARTH_OK;
    for (int64_t i0 = 0; i0 < n && !st; i0 += CHUNK) {
        int B = (int)(n - i0 < CHUNK ? n - i0 : CHUNK);
        for (int b = 0; b < B; b++) vnet_normalise(net, x + (size_t)b * in_n, images + (size_t)(i0 + b) * in_n);
        st = vnet_forward(net, pool, x, B, false, logits);
        for (int b = 0; !st && b < B; b++)
            vop_xent(NULL, probs + (size_t)(i0 + b) * net->n_classes, logits + (size_t)b * net->n_classes, 0,
                     net->n_classes, 1.0f);
    }
    free(x);
    free(logits);
    return st;
}

hearth_status hearth_vnet_evaluate(hearth_vnet *net, hearth_pool *pool, const hearth_vdata *d, double *accuracy,
                                   int64_t *correct, int64_t *total) {
    if (d->w != net->w || d->h != net->h || d->c != net->c)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision eval: images are %dx%dx%d, the model wants %dx%dx%d",
                                d->w, d->h, d->c, net->w, net->h, net->c);
    int K = net->n_classes;
    float *probs = malloc((size_t)(d->n ? d->n : 1) * K * sizeof(float));
    if (!probs) return HEARTH_ERR_NOMEM;
    hearth_status st = hearth_vnet_predict(net, pool, d->pixels, d->n, probs);
    if (st) {
        free(probs);
        return st;
    }
    if (correct) memset(correct, 0, (size_t)K * sizeof(int64_t));
    if (total) memset(total, 0, (size_t)K * sizeof(int64_t));
    int64_t ok = 0;
    for (int64_t i = 0; i < d->n; i++) {
        const float *p = probs + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        int y = d->labels[i];
        bool hit = best == y;
        ok += hit;
        if (y >= 0 && y < K) {
            if (correct) correct[y] += hit;
            if (total) total[y]++;
        }
    }
    *accuracy = d->n ? (double)ok / (double)d->n : 0.0;
    free(probs);
    return HEARTH_OK;
}

/* ======================================================================== */
/* GGUF                                                                     */
/* ======================================================================== */

hearth_status vnet_save_ex(const hearth_vnet *net, const char *path, const float *m, const float *v, int64_t step,
                           int epoch) {
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!w) return HEARTH_ERR_NOMEM;
    hearth_status st = HEARTH_OK;
    int32_t shape[4] = {net->w, net->h, net->c, net->n_classes};
    if (!st) st = hearth_gguf_set_str(w, "general.architecture", "hearth-vision");
    if (!st) st = hearth_gguf_set_str(w, "vision.arch", net->arch);
    if (!st) st = hearth_gguf_set_str(w, "vision.layers", net->spec);
    if (!st) st = hearth_gguf_set_arr(w, "vision.shape", HEARTH_GGUF_INT32, shape, 4);
    if (!st) st = hearth_gguf_set_f32(w, "vision.norm_mean", net->norm_mean);
    if (!st) st = hearth_gguf_set_f32(w, "vision.norm_std", net->norm_std);
    if (!st) st = hearth_gguf_set_arr_str(w, "vision.classes", (const char *const *)net->class_names, net->n_classes);
    if (!st && m) st = hearth_gguf_set_i64(w, "train.step", step);
    if (!st && m) st = hearth_gguf_set_i32(w, "train.epoch", epoch);
    for (int i = 0; !st && i < net->n_pinfo; i++) {
        const vparam_info *p = &net->pinfo[i];
        st = hearth_gguf_add_tensor(w, p->name, HEARTH_TYPE_F32, p->n_dims, p->ne, net->params + p->off);
    }
    if (!st && net->n_stats) {
        int64_t ne[1] = {net->n_stats};
        st = hearth_gguf_add_tensor(w, "v.stats", HEARTH_TYPE_F32, 1, ne, net->stats);
    }
    if (!st && m && v) {
        int64_t ne[1] = {net->n_params};
        st = hearth_gguf_add_tensor(w, "train.adam_m", HEARTH_TYPE_F32, 1, ne, m);
        if (!st) st = hearth_gguf_add_tensor(w, "train.adam_v", HEARTH_TYPE_F32, 1, ne, v);
    }
    if (!st) st = hearth_gguf_writer_write(w, path);
    hearth_gguf_writer_free(w);
    return st;
}

hearth_status hearth_vnet_save(const hearth_vnet *net, const char *path) {
    return vnet_save_ex(net, path, NULL, NULL, 0, 0);
}

static hearth_status str_dup(hearth_str s, char *dst, size_t cap) {
    if (s.len >= cap) return HEARTH_ERR_RANGE;
    memcpy(dst, s.ptr, s.len);
    dst[s.len] = 0;
    return HEARTH_OK;
}

static hearth_status copy_tensor(const hearth_gguf *g, const char *path, const char *name, float *dst, int64_t n) {
    const hearth_gguf_tensor *t = hearth_gguf_find_tensor(g, name);
    if (!t) return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor %s is missing", path, name);
    if (t->type != HEARTH_TYPE_F32 || hearth_gguf_tensor_nelements(t) != n)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor %s should be F32 with %lld elements", path, name,
                                (long long)n);
    memcpy(dst, t->data, (size_t)n * sizeof(float));
    return HEARTH_OK;
}

hearth_status vnet_load_ex(const char *path, hearth_vnet **out, float **m, float **v, int64_t *step, int *epoch) {
    *out = NULL;
    hearth_gguf *g = NULL;
    hearth_status st = hearth_gguf_open(path, &g);
    if (st) return st;
    hearth_str s;
    char arch[256], spec[512];
    hearth_gguf_arr shape, classes;
    double nm = 0, ns = 1;
    hearth_vnet *net = NULL;
    if (hearth_gguf_get_str(g, "general.architecture", &s) || s.len != 13 || memcmp(s.ptr, "hearth-vision", 13)) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a hearth vision model (general.architecture)", path);
        goto done;
    }
    if (hearth_gguf_get_str(g, "vision.layers", &s) || str_dup(s, spec, sizeof spec) ||
        hearth_gguf_get_str(g, "vision.arch", &s) || str_dup(s, arch, sizeof arch) ||
        hearth_gguf_get_arr(g, "vision.shape", &shape) || shape.n != 4 ||
        hearth_gguf_get_arr(g, "vision.classes", &classes) || classes.type != HEARTH_GGUF_STRING ||
        hearth_gguf_get_float(g, "vision.norm_mean", &nm) || hearth_gguf_get_float(g, "vision.norm_std", &ns)) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: vision.* metadata missing or malformed", path);
        goto done;
    }
    int w = (int)hearth_gguf_arr_int(&shape, 0), h = (int)hearth_gguf_arr_int(&shape, 1),
        c = (int)hearth_gguf_arr_int(&shape, 2), k = (int)hearth_gguf_arr_int(&shape, 3);
    if ((int64_t)classes.n != k) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %llu class names for %d classes", path,
                              (unsigned long long)classes.n, k);
        goto done;
    }
    if ((st = new_net(spec, w, h, c, k, &net))) goto done;
    snprintf(net->arch, sizeof net->arch, "%s", arch);
    net->norm_mean = (float)nm;
    net->norm_std = (float)ns;
    for (int i = 0; i < k; i++) {
        hearth_str cn = hearth_gguf_arr_str(&classes, (uint64_t)i);
        char *d = malloc(cn.len + 1);
        if (!d) {
            st = HEARTH_ERR_NOMEM;
            goto done;
        }
        memcpy(d, cn.ptr, cn.len);
        d[cn.len] = 0;
        free(net->class_names[i]);
        net->class_names[i] = d;
    }
    for (int i = 0; i < net->n_pinfo && !st; i++)
        st = copy_tensor(g, path, net->pinfo[i].name, net->params + net->pinfo[i].off,
                         net->pinfo[i].ne[0] * net->pinfo[i].ne[1]);
    if (!st && net->n_stats) st = copy_tensor(g, path, "v.stats", net->stats, net->n_stats);
    if (!st && m && v) {
        *m = *v = NULL;
        if (hearth_gguf_find_tensor(g, "train.adam_m")) {
            *m = malloc((size_t)net->n_params * sizeof(float));
            *v = malloc((size_t)net->n_params * sizeof(float));
            if (!*m || !*v) st = HEARTH_ERR_NOMEM;
            if (!st) st = copy_tensor(g, path, "train.adam_m", *m, net->n_params);
            if (!st) st = copy_tensor(g, path, "train.adam_v", *v, net->n_params);
            int64_t e = 0;
            if (step) *step = hearth_gguf_get_int(g, "train.step", step) ? 0 : *step;
            if (epoch) *epoch = hearth_gguf_get_int(g, "train.epoch", &e) ? 0 : (int)e;
            if (st) {
                free(*m);
                free(*v);
                *m = *v = NULL;
            }
        }
    }
done:
    hearth_gguf_close(g);
    if (st) {
        hearth_vnet_free(net);
        return st;
    }
    *out = net;
    return HEARTH_OK;
}

hearth_status hearth_vnet_load(const char *path, hearth_vnet **out) {
    return vnet_load_ex(path, out, NULL, NULL, NULL, NULL);
}
