/*
 * packed.h — how packed.c (the portable side: layout, repacking, the
 * matmul driver) and packed_avx512.c (the register tiles) meet.
 *
 * A packed matrix is a list of units of 8 weight rows (the last one 4 rows
 * when N is not a multiple of 8), each one stream of chunks of 4 blocks
 * (4 x 32 elements; the last chunk of a row may hold fewer):
 *     d   [4 blocks][R rows]     f16 scales               (64 bytes, padded)
 *     qs  [4 blocks][R/4][QS]    quants of 4 rows, interleaved by 4-byte groups
 * so that the tiles read each unit front to back, 64-byte aligned, and one
 * 512-bit load of a 4-row group's block has, in 128-bit lane c and dword r,
 * four consecutive quants of row r (elements 4c .. 4c+3, or 16 + 4c .. for
 * the block's second half). Q4_0: QS = 64, the low nibbles are elements
 * 4c+e and the high nibbles 16+4c+e (exactly Q4_0's own nibble order, so
 * each dword is copied as it is). Q8_0: QS = 128, two such registers
 * (elements 0..15, then 16..31), the quants stored + 128 as unsigned bytes.
 *
 * Activations are Q8_0 rows (the usual conversion) plus, per row and
 * block, the scale as a float and the offset term: -8 * sum(q) for Q4_0
 * weights (nibbles u = value + 8), -128 * sum(q) for Q8_0 (bytes u = value +
 * 128), so that vpdpbusd's unsigned x signed products come out exact.
 */
#ifndef HEARTH_PACKED_H
#define HEARTH_PACKED_H

#include "quant.h"

typedef struct packed_x {
    const block_q8_0 *q;   /* T rows of nb blocks */
    const float *d;        /* (T, nb) activation scales */
    const int32_t *off;    /* (T, nb) offset terms */
    int64_t nb;
} packed_x;

#define PACK_UNIT 8   /* rows per unit */
#define PACK_CHUNK 4  /* blocks per chunk */

typedef struct packed_w {
    const uint8_t *data;
    int64_t nb;            /* blocks per row */
    int64_t N;             /* rows */
    uint32_t type;         /* HEARTH_TYPE_Q4_0, Q8_0 or Q4_K (nb: super-blocks) */
} packed_w;

static inline size_t packed_qs_bytes(uint32_t type) { return type == HEARTH_TYPE_Q4_0 ? 64 : 128; }
/* bytes of one chunk of a unit of `rows` rows (8 or 4) */
static inline size_t packed_chunk_bytes(uint32_t type, int rows) {
    return 64 + (size_t)PACK_CHUNK * (size_t)(rows / 4) * packed_qs_bytes(type);
}
/* bytes of a whole unit of 8 rows (the last unit starts at u * this) */
static inline size_t packed_unit_bytes(uint32_t type, int64_t nb, int rows) {
    return (size_t)((nb + PACK_CHUNK - 1) / PACK_CHUNK) * packed_chunk_bytes(type, rows);
}

/* Y[t, n] for the rows of units u0 .. u1 - 1 of W and activation rows
 * t0 .. t1 - 1 (Y row-major with N columns) */
void packed_rows_avx512(const packed_w *w, const packed_x *x, int64_t u0, int64_t u1, int64_t t0, int64_t t1,
                        float *Y, int64_t N);

/* ---- Q4_0 / Q8_0 against 4 activation rows at once (T >= 4) ---------------
 * The activations spread for 4 rows (a "group") per block:
 *     qs   [8 steps][4 rows j][4 copies][4]  step g: the row's elements
 *                                            4g .. 4g+3 (g < 4) or
 *                                            16 + 4(g-4) .. (g >= 4)
 *     off  [4 rows j][4 copies]  int32 offset term (as packed_x.off)
 *     d    [4 rows j][4 copies]  float scale
 * so that lane (j, r) of a vpdpbusd of one step against the weights' dword
 * of that step broadcast to every 128-bit lane (lane (j, r) = weight row r)
 * adds 4 products of activation row j and weight row r: after the 8 steps
 * each lane holds one whole block dot, and the float work is one convert,
 * one multiply and one FMA per block for 16 (row, row) pairs. */
#define PACK_XS_BYTES 640   /* bytes per group and block */

/* Y[t, n] for units u0 .. u1 - 1 and all T rows, from the spread
 * activations xs (ceil(T/4) groups of nb blocks) */
void packed_rows_spread_avx512(const packed_w *w, const uint8_t *xs, int64_t T, int64_t u0, int64_t u1, float *Y,
                               int64_t N);

/* ---- Q4_K ------------------------------------------------------------------
 * Units of 4 rows, chunks of PACK_CHUNK super-blocks (256 elements):
 *     hdr [4][80]   per super-block: d[4], dmin[4] (f16, one per row), the
 *                   6-bit scales sc[8 sub-blocks][4 rows] and mins
 *                   m[4 rows][8 sub-blocks] as bytes
 *     qs  [4][512]  per super-block and sub-block pair c (elements 64c ..
 *                   64c + 63): two registers whose 128-bit lane r is row r's
 *                   qs[32c .. 32c + 15] (the first) and qs[32c + 16 .. 32c +
 *                   31] (the second); low nibbles are sub-block 2c, high
 *                   ones 2c + 1. Lane (r, g) of a register thus meets the
 *                   activations' bytes 4g .. 4g + 3 of a 16-byte quarter
 *                   broadcast to all four 128-bit lanes (one load, no
 *                   shuffle), and row r's sums gather in 128-bit lane r.
 * (hdr and qs of a chunk are 320 + 2048 bytes: 64-byte aligned throughout).
 * Activations are Q8_K rows plus, per row and super-block, the 8 sub-block
 * sums of the quants as int16 (bs[j] = bsums[2j] + bsums[2j + 1]). Per row:
 *     dot = dx * (d * sum_j sc_j * s_j - dmin * sum_j m_j * bs_j)
 * with s_j the sub-block's integer dot (vpdpbusd, exact, |s_j| < 2^15 so
 * that vpdpwssd multiplies it by sc_j as a 16-bit value). */
#define PACK_K_HDR 80
#define PACK_K_QS 512

typedef struct packed_xk {
    const block_q8_K *q;   /* T rows of ns super-blocks */
    const int16_t *bs;     /* (T, ns, 8) sub-block sums */
    int64_t ns;
} packed_xk;

static inline size_t packed_k_chunk_bytes(void) { return (size_t)PACK_CHUNK * (PACK_K_HDR + PACK_K_QS); }
static inline size_t packed_k_unit_bytes(int64_t ns) {
    return (size_t)((ns + PACK_CHUNK - 1) / PACK_CHUNK) * packed_k_chunk_bytes();
}

/* ---- Q6_K --------------------------------------------------------------------
 * Units of 4 rows, chunks of PACK_CHUNK super-blocks:
 *     hdr [4][80]   per super-block: d[4] (f16), then the 16 int8 scales as
 *                   sc[2 halves][4 rows][4 pairs][2]: half p / 4, row r,
 *                   pair p % 4, sub-block 2p + h
 *     qs  [4][768]  per super-block: 8 registers P_k (low nibbles: sub-block
 *                   k, high: k + 8), then 4 registers H_m (2-bit high parts
 *                   of sub-blocks m, m + 4, m + 8, m + 12 at bits 0, 2, 4, 6);
 *                   byte 16r + 4g + e is row r's element 16j + 4g + e (the
 *                   Q4_K lane order: row r in 128-bit lane r, the
 *                   activations' 16 bytes of a sub-block broadcast)
 * The 6-bit quants u = q + 32 enter vpdpbusd unsigned against the Q8_K
 * activations; the -32 comes back through the activations' sums of 16
 * (bsums, broadcast) times the scales, one vpdpwssd per half of the scales:
 *     dot = dx * d * (sum_j sc_j * s_j - 32 * sum_j sc_j * bsums_j)
 * with |s_j| < 2^15 so that vpdpwssd multiplies it by sc_j (the scale as a
 * 16-bit value, the high half zero). */
#define PACK_Q6_HDR 80
#define PACK_Q6_QS 768

static inline size_t packed_q6_chunk_bytes(void) { return (size_t)PACK_CHUNK * (PACK_Q6_HDR + PACK_Q6_QS); }
static inline size_t packed_q6_unit_bytes(int64_t ns) {
    return (size_t)((ns + PACK_CHUNK - 1) / PACK_CHUNK) * packed_q6_chunk_bytes();
}

/* as packed_rows_avx512 for Q6_K (units of 4 rows; x->bs unused) */
void packed_rows_q6k_avx512(const packed_w *w, const packed_xk *x, int64_t u0, int64_t u1, int64_t t0, int64_t t1,
                            float *Y, int64_t N);

/* as packed_rows_avx512 for Q4_K (units of 4 rows) */
void packed_rows_q4k_avx512(const packed_w *w, const packed_xk *x, int64_t u0, int64_t u1, int64_t t0, int64_t t1,
                            float *Y, int64_t N);

#endif
