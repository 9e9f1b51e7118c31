/*
 * gguf_write.c — GGUF v3 writer, byte-compatible with llama.cpp's (ggml's
 * gguf_write_to_file):
 *
 *   "GGUF" | u32 3 | u64 n_tensors | u64 n_kv
 *   key/values in insertion order (a replaced key keeps its place)
 *   tensor infos in insertion order; offsets: each tensor's data starts at the
 *     previous one's offset + its size rounded up to the alignment
 *   zero padding to the alignment
 *   each tensor's data followed by zero padding to the alignment
 *
 * Values are serialized when set (one malloc'd blob per key: the bytes after
 * the type tag), so writing is a straight copy. Tensor data is borrowed and
 * only read by hearth_gguf_writer_write(). The file is written to a temporary
 * name beside the target and renamed into place when complete.
 */
#include "formats/gguf_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- state -------------------------------------------------------------- */

typedef struct wkv {
    char *key;               /* owned, NUL-terminated (may contain NULs if copied: klen is the truth) */
    size_t klen;
    hearth_gguf_type type;
    uint8_t *val;            /* owned: the serialized value */
    size_t vlen;
} wkv;

typedef struct wtensor {
    char *name;              /* owned */
    uint32_t type;
    int n_dims;
    int64_t ne[4];
    const void *data;        /* borrowed */
    size_t nbytes;
} wtensor;

struct hearth_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    int64_t *kv_table;       /* index + 1, 0 = empty; capacity kv_tcap (power of two) */
    size_t kv_tcap;
    wtensor *t;
    size_t n_t, cap_t;
    int64_t *t_table;
    size_t t_tcap;
    size_t alignment;
    uint64_t seed;           /* of the hash tables */
};

hearth_gguf_writer *hearth_gguf_writer_create(void) {
    hearth_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) {
        hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
        return NULL;
    }
    w->alignment = 32;
    w->seed = gguf_hash_seed(w);
    return w;
}

void hearth_gguf_writer_free(hearth_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->kv_table);
    free(w->t);
    free(w->t_table);
    free(w);
}

/* ---- hash tables (keys and tensor names) --------------------------------- */

typedef const char *(*name_of_fn)(const hearth_gguf_writer *w, size_t i, size_t *len);

static const char *kv_name(const hearth_gguf_writer *w, size_t i, size_t *len) {
    *len = w->kv[i].klen;
    return w->kv[i].key;
}

static const char *t_name(const hearth_gguf_writer *w, size_t i, size_t *len) {
    *len = strlen(w->t[i].name);
    return w->t[i].name;
}

/* Index of name in the table, or -1; *slot gets the empty slot where it would go. */
static int64_t table_find(const hearth_gguf_writer *w, const int64_t *table, size_t cap, name_of_fn name_of,
                          const char *s, size_t len, size_t *slot) {
    size_t mask = cap - 1;
    for (size_t h = (size_t)gguf_hash(w->seed, s, len) & mask;; h = (h + 1) & mask) {
        if (table[h] == 0) {
            *slot = h;
            return -1;
        }
        size_t l;
        const char *o = name_of(w, (size_t)table[h] - 1, &l);
        if (l == len && memcmp(o, s, len) == 0) return table[h] - 1;
    }
}

/* Makes room for n entries (load <= 1/2), rehashing. */
static hearth_status table_reserve(hearth_gguf_writer *w, int64_t **table, size_t *cap, name_of_fn name_of,
                                   size_t n) {
    if (*table && 2 * n <= *cap) return HEARTH_OK;
    size_t nc = *cap ? *cap : 16;
    while (2 * n > nc) nc *= 2;
    int64_t *nt = calloc(nc, sizeof *nt);
    if (!nt) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    for (size_t i = 0; i + 1 < n; i++) {   /* entries 0..n-2 exist; n-1 is being added */
        size_t len, slot = 0;
        const char *s = name_of(w, i, &len);
        (void)table_find(w, nt, nc, name_of, s, len, &slot);
        nt[slot] = (int64_t)i + 1;
    }
    free(*table);
    *table = nt;
    *cap = nc;
    return HEARTH_OK;
}

/* ---- key/values ---------------------------------------------------------- */

static bool pow2(uint64_t a) { return a && (a & (a - 1)) == 0; }

/* Takes ownership of val (freed on failure). */
static hearth_status put_kv(hearth_gguf_writer *w, const char *key, size_t klen, hearth_gguf_type type,
                            uint8_t *val, size_t vlen) {
    if (!w || !key) {
        free(val);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL writer or key");
    }
    static const char ALIGN_KEY[] = "general.alignment";
    if (klen == sizeof ALIGN_KEY - 1 && memcmp(key, ALIGN_KEY, klen) == 0) {
        uint32_t a = 0;
        if (type == HEARTH_GGUF_UINT32) memcpy(&a, val, 4);
        if (type != HEARTH_GGUF_UINT32 || !pow2(a)) {
            free(val);
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "gguf writer: general.alignment must be a uint32 power of two (got %s %u)",
                                    hearth_gguf_type_name(type), a);
        }
        w->alignment = a;
    }
    if (w->kv_table) {
        size_t slot = 0;
        int64_t i = table_find(w, w->kv_table, w->kv_tcap, kv_name, key, klen, &slot);
        if (i >= 0) {   /* replace in place */
            free(w->kv[i].val);
            w->kv[i].type = type;
            w->kv[i].val = val;
            w->kv[i].vlen = vlen;
            return HEARTH_OK;
        }
    }
    if (!HEARTH_GROW(w->kv, w->cap_kv, w->n_kv + 1)) {
        free(val);
        return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    }
    char *k = malloc(klen + 1);
    if (!k) { free(val); return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory"); }
    memcpy(k, key, klen);
    k[klen] = 0;
    wkv *e = &w->kv[w->n_kv++];
    e->key = k;
    e->klen = klen;
    e->type = type;
    e->val = val;
    e->vlen = vlen;
    hearth_status s = table_reserve(w, &w->kv_table, &w->kv_tcap, kv_name, w->n_kv);
    if (s) {
        w->n_kv--;
        free(k);
        free(val);
        return s;
    }
    size_t slot = 0;
    (void)table_find(w, w->kv_table, w->kv_tcap, kv_name, key, klen, &slot);
    w->kv_table[slot] = (int64_t)w->n_kv;
    return HEARTH_OK;
}

static hearth_status put_scalar(hearth_gguf_writer *w, const char *key, hearth_gguf_type type, const void *v) {
    size_t n = gguf_scalar_size(type);
    uint8_t *b = malloc(n);
    if (!b) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    memcpy(b, v, n);
    return put_kv(w, key, key ? strlen(key) : 0, type, b, n);
}

#define SETTER(name, T, gt) \
    hearth_status hearth_gguf_set_##name(hearth_gguf_writer *w, const char *key, T v) { return put_scalar(w, key, gt, &v); }

SETTER(u8, uint8_t, HEARTH_GGUF_UINT8)
SETTER(i8, int8_t, HEARTH_GGUF_INT8)
SETTER(u16, uint16_t, HEARTH_GGUF_UINT16)
SETTER(i16, int16_t, HEARTH_GGUF_INT16)
SETTER(u32, uint32_t, HEARTH_GGUF_UINT32)
SETTER(i32, int32_t, HEARTH_GGUF_INT32)
SETTER(u64, uint64_t, HEARTH_GGUF_UINT64)
SETTER(i64, int64_t, HEARTH_GGUF_INT64)
SETTER(f32, float, HEARTH_GGUF_FLOAT32)
SETTER(f64, double, HEARTH_GGUF_FLOAT64)

hearth_status hearth_gguf_set_bool(hearth_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return put_scalar(w, key, HEARTH_GGUF_BOOL, &b);
}

hearth_status hearth_gguf_set_strn(hearth_gguf_writer *w, const char *key, const char *v, size_t len) {
    if (!v && len) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL string for key '%s'", key ? key : "");
    if (len > SIZE_MAX - 8) return hearth_set_error(HEARTH_ERR_RANGE, "gguf writer: string too long");
    uint8_t *b = malloc(8 + len);
    if (!b) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    uint64_t n = len;
    memcpy(b, &n, 8);
    if (len) memcpy(b + 8, v, len);
    return put_kv(w, key, key ? strlen(key) : 0, HEARTH_GGUF_STRING, b, 8 + len);
}

hearth_status hearth_gguf_set_str(hearth_gguf_writer *w, const char *key, const char *v) {
    if (!v) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL string for key '%s'", key ? key : "");
    return hearth_gguf_set_strn(w, key, v, strlen(v));
}

hearth_status hearth_gguf_set_arr(hearth_gguf_writer *w, const char *key, hearth_gguf_type elem_type,
                                  const void *data, uint64_t n) {
    size_t es = gguf_scalar_size(elem_type);
    if (!es)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "gguf writer: key '%s': hearth_gguf_set_arr takes fixed-size elements, not %s",
                                key ? key : "", hearth_gguf_type_name(elem_type));
    if (n > (SIZE_MAX - 12) / es) return hearth_set_error(HEARTH_ERR_RANGE, "gguf writer: array too long");
    if (!data && n) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL array data");
    size_t len = 12 + (size_t)n * es;
    uint8_t *b = malloc(len);
    if (!b) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    uint32_t t = elem_type;
    memcpy(b, &t, 4);
    memcpy(b + 4, &n, 8);
    if (n) memcpy(b + 12, data, (size_t)n * es);
    return put_kv(w, key, key ? strlen(key) : 0, HEARTH_GGUF_ARRAY, b, len);
}

hearth_status hearth_gguf_set_arr_str(hearth_gguf_writer *w, const char *key, const char *const *v, uint64_t n) {
    if (!v && n) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL string array");
    size_t len = 12;
    for (uint64_t i = 0; i < n; i++) {
        if (!v[i]) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: key '%s': string %llu is NULL",
                                           key ? key : "", (unsigned long long)i);
        size_t l = strlen(v[i]);
        if (l > SIZE_MAX - 8 - len) return hearth_set_error(HEARTH_ERR_RANGE, "gguf writer: array too long");
        len += 8 + l;
    }
    uint8_t *b = malloc(len), *p = b;
    if (!b) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    uint32_t t = HEARTH_GGUF_STRING;
    memcpy(p, &t, 4);
    memcpy(p + 4, &n, 8);
    p += 12;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = strlen(v[i]);
        memcpy(p, &l, 8);
        memcpy(p + 8, v[i], (size_t)l);
        p += 8 + l;
    }
    return put_kv(w, key, key ? strlen(key) : 0, HEARTH_GGUF_ARRAY, b, len);
}

hearth_status hearth_gguf_copy_kv(hearth_gguf_writer *w, const hearth_gguf *g, int64_t i) {
    const gguf_kv *kv = gguf_kv_at(g, i);
    if (!kv)
        return hearth_set_error(HEARTH_ERR_RANGE, "gguf writer: key index %lld out of range (%lld keys)",
                                (long long)i, (long long)hearth_gguf_n_kv(g));
    size_t len = kv->vend - kv->voff;   /* validated at open: the value's exact bytes */
    uint8_t *b = malloc(len ? len : 1);
    if (!b) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    memcpy(b, gguf_base(g) + kv->voff, len);
    return put_kv(w, kv->key.ptr, kv->key.len, kv->type, b, len);
}

hearth_status hearth_gguf_set_alignment(hearth_gguf_writer *w, uint32_t alignment) {
    if (!pow2(alignment))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: alignment %u is not a power of two", alignment);
    return hearth_gguf_set_u32(w, "general.alignment", alignment);
}

/* ---- tensors ------------------------------------------------------------- */

hearth_status hearth_gguf_add_tensor(hearth_gguf_writer *w, const char *name, uint32_t type, int n_dims,
                                     const int64_t *ne, const void *data) {
    if (!w || !name || !ne) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL argument");
    const hearth_type_info *ti = hearth_type_get(type);
    if (!ti) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown type id %u", name, type);
    if (n_dims < 1 || n_dims > 4)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: tensor '%s': n_dims %d, must be 1..4", name,
                                n_dims);
    wtensor t = {0};
    t.type = type;
    t.n_dims = n_dims;
    for (int d = 0; d < 4; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: tensor '%s': dimension %d is negative",
                                    name, d);
    }
    if (t.ne[0] % ti->block_size)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "gguf writer: tensor '%s': row length %lld is not a multiple of %s's block size %lld",
                                name, (long long)t.ne[0], ti->name, (long long)ti->block_size);
    uint64_t bytes = (uint64_t)(t.ne[0] / ti->block_size);
    if (bytes > SIZE_MAX / ti->type_size) goto too_big;
    bytes *= ti->type_size;
    for (int d = 1; d < 4; d++) {
        if (t.ne[d] && bytes > SIZE_MAX / (uint64_t)t.ne[d]) goto too_big;
        bytes *= (uint64_t)t.ne[d];
    }
    t.nbytes = (size_t)bytes;
    if (!data && t.nbytes)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: tensor '%s': data is NULL", name);
    t.data = data;
    size_t len = strlen(name), slot = 0;
    if (w->t_table && table_find(w, w->t_table, w->t_tcap, t_name, name, len, &slot) >= 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: duplicate tensor name '%s'", name);
    if (!HEARTH_GROW(w->t, w->cap_t, w->n_t + 1)) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    t.name = malloc(len + 1);
    if (!t.name) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    memcpy(t.name, name, len + 1);
    w->t[w->n_t++] = t;
    hearth_status s = table_reserve(w, &w->t_table, &w->t_tcap, t_name, w->n_t);
    if (s) {
        free(w->t[--w->n_t].name);
        return s;
    }
    (void)table_find(w, w->t_table, w->t_tcap, t_name, name, len, &slot);
    w->t_table[slot] = (int64_t)w->n_t;
    return HEARTH_OK;
too_big:
    return hearth_set_error(HEARTH_ERR_RANGE, "gguf writer: tensor '%s': size overflows", name);
}

/* ---- writing ------------------------------------------------------------- */

typedef struct out {
    FILE *f;
    uint64_t pos;
    bool failed;
} out;

static void put(out *o, const void *p, size_t n) {
    if (o->failed || n == 0) return;
    if (fwrite(p, 1, n, o->f) != n) o->failed = true;
    o->pos += n;
}

static void put_u32(out *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(out *o, uint64_t v) { put(o, &v, 8); }

static void put_pad(out *o, size_t align) {
    static const uint8_t zeros[4096];
    size_t n = (size_t)((align - o->pos % align) % align);
    while (n) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        put(o, zeros, k);
        n -= k;
    }
}

static size_t pad_up(size_t x, size_t a) { return x + (a - x % a) % a; }

hearth_status hearth_gguf_writer_write(hearth_gguf_writer *w, const char *path) {
    if (!w || !path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "gguf writer: NULL writer or path");
    size_t a = w->alignment;
    /* offsets first, so an overflow is reported before anything is written */
    uint64_t *offs = calloc(w->n_t ? w->n_t : 1, sizeof *offs);
    if (!offs) return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory");
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        offs[i] = off;
        size_t p = pad_up(w->t[i].nbytes, a);
        if (p < w->t[i].nbytes || off > UINT64_MAX - p) {
            free(offs);
            return hearth_set_error(HEARTH_ERR_RANGE, "gguf writer: total tensor size overflows");
        }
        off += p;
    }

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) { free(offs); return hearth_set_error(HEARTH_ERR_NOMEM, "gguf writer: out of memory"); }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    out o = {fopen(tmp, "wb"), 0, false};
    if (!o.f) {
        hearth_status s = hearth_set_error(HEARTH_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        free(offs);
        return s;
    }
    setvbuf(o.f, NULL, _IOFBF, 1 << 20);

    put(&o, "GGUF", 4);
    put_u32(&o, 3);
    put_u64(&o, w->n_t);
    put_u64(&o, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        const wkv *e = &w->kv[i];
        put_u64(&o, e->klen);
        put(&o, e->key, e->klen);
        put_u32(&o, (uint32_t)e->type);
        put(&o, e->val, e->vlen);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        size_t l = strlen(t->name);
        put_u64(&o, l);
        put(&o, t->name, l);
        put_u32(&o, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&o, (uint64_t)t->ne[d]);
        put_u32(&o, t->type);
        put_u64(&o, offs[i]);
    }
    put_pad(&o, a);
    for (size_t i = 0; i < w->n_t; i++) {
        put(&o, w->t[i].data, w->t[i].nbytes);
        put_pad(&o, a);
    }
    int e = o.failed ? errno : 0;
    if (fclose(o.f) != 0 && !e) e = errno ? errno : EIO;
    if (o.failed && !e) e = EIO;
    free(offs);
    if (e) {
        remove(tmp);
        hearth_status s = hearth_set_error(HEARTH_ERR_IO, "%s: write failed: %s", path, strerror(e));
        free(tmp);
        return s;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        hearth_status s = hearth_set_error(HEARTH_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp,
                                           strerror(e));
        free(tmp);
        return s;
    }
    free(tmp);
    return HEARTH_OK;
}
