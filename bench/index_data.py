#!/usr/bin/python3
"""Writes the index benchmark's data set (TEXMEX files) into a directory.

A seeded mixture as issue 12 describes it: N base and Q query vectors in D
dimensions, each a random one of C centres drawn from N(0, 1) plus
0.35 * N(0, 1) noise, normalised to unit length; labels uniform over 0..99.
Exact neighbours by inner product (= cosine on unit vectors):
  base.fvecs  queries.fvecs  truth.ivecs (k 100)  labels.txt
  truth_label<L>.ivecs (k 100, only base vectors with label L; L = --filter-label)

usage: bench/index_data.py DIR [--n 100000] [--q 1000] [--dim 384] [--centres 1000]
                               [--seed 1] [--filter-label 7]
"""
import argparse
import os
import numpy as np


def write_vecs(path, a, dtype):
    a = np.ascontiguousarray(a, dtype=dtype)
    n, d = a.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = a.view(np.int32)
    out.tofile(path)


def truth(base, queries, k):
    rows = []
    for i in range(0, len(queries), 100):
        s = queries[i:i + 100] @ base.T
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(s, idx, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        rows.append(np.take_along_axis(idx, order, axis=1))
    return np.vstack(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--q", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--filter-label", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    centres = rng.standard_normal((a.centres, a.dim), dtype=np.float32)

    def draw(n):
        x = centres[rng.integers(0, a.centres, n)] + 0.35 * rng.standard_normal((n, a.dim), dtype=np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    base, queries = draw(a.n), draw(a.q)
    labels = rng.integers(0, 100, a.n)
    k = min(100, a.n)
    write_vecs(os.path.join(a.dir, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(a.dir, "queries.fvecs"), queries, np.float32)
    write_vecs(os.path.join(a.dir, "truth.ivecs"), truth(base, queries, k), np.int32)
    np.savetxt(os.path.join(a.dir, "labels.txt"), labels, fmt="%d")
    sub = np.nonzero(labels == a.filter_label)[0]
    kf = min(100, len(sub))
    write_vecs(os.path.join(a.dir, "truth_label%d.ivecs" % a.filter_label), sub[truth(base[sub], queries, kf)], np.int32)
    print("wrote %s: %d x %d base, %d queries, %d with label %d" % (a.dir, a.n, a.dim, a.q, len(sub), a.filter_label))


if __name__ == "__main__":
    main()
