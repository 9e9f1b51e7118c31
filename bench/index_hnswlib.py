#!/usr/bin/python3
"""The reference side of bench/index_bench.sh: Debian's hnswlib (python3-hnswlib)
on the same files and settings as `hearth index bench`, printing the same JSON.

  index_hnswlib.py --base B.fvecs --queries Q.fvecs --truth T.ivecs -k 10 --ef 10,16
                   --M 16 --ef-construction 200 -t 1 [--labels L.txt --filter-label N]

Times are CPU time of the process (time.process_time): build_s for add_items,
qps the best of 3 passes. Each pass searches the queries one at a time
(knn_query on one row), as hearth does; "qps_batch" is one knn_query call
over all queries (num_threads 1), which leaves out Python's per-call cost.
With --filter-label: an exact BFIndex over the vectors with that label
(hnswlib's brute-force index), searched the same way; "ef" is then ignored.
"""
import argparse
import json
import os
import time
import numpy as np
import hnswlib


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].view(dtype).copy()


def recall(found, truth, k):
    hit = 0
    for f, t in zip(found, truth):
        hit += len(set(int(x) for x in f[:k]) & set(int(x) for x in t[:k]))
    return hit / (len(found) * k)


def passes(search, queries):
    best, rows = None, None
    for _ in range(3):
        t0 = time.process_time()
        out = [search(q) for q in queries]
        t = time.process_time() - t0
        if best is None or t < best:
            best = t
        rows = out
    return len(queries) / best, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--truth")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--ef", default="10,16,32,64,128")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("-t", type=int, default=1)
    ap.add_argument("--labels")
    ap.add_argument("--filter-label", type=int)
    ap.add_argument("--index", help="load the hnswlib index from this file when it exists, else build and save it")
    a = ap.parse_args()
    base = read_vecs(a.base, np.float32)
    queries = read_vecs(a.queries, np.float32)
    truth = read_vecs(a.truth, np.int32) if a.truth else None
    n, dim = base.shape
    k = a.k
    res = {"n": n, "dim": int(dim), "results": []}
    q1 = [q.reshape(1, -1) for q in queries]
    if a.filter_label is not None:
        labels = np.loadtxt(a.labels, dtype=np.int64)
        sub = np.nonzero(labels == a.filter_label)[0]
        bf = hnswlib.BFIndex(space="ip", dim=int(dim))
        t0 = time.process_time()
        bf.init_index(max_elements=len(sub))
        bf.add_items(base[sub], sub)
        res["build_s"] = time.process_time() - t0
        res["subset"] = int(len(sub))
        qps, rows = passes(lambda q: bf.knn_query(q, k=k)[0][0], q1)
        r = {"ef": 0, "qps": qps}
        if truth is not None:
            r["recall"] = recall(rows, truth, k)
        res["results"].append(r)
    else:
        ix = hnswlib.Index(space="ip", dim=int(dim))
        ix.set_num_threads(a.t)
        t0 = time.process_time()
        if a.index and os.path.exists(a.index):
            ix.load_index(a.index, max_elements=n)
            res["loaded"] = True
        else:
            ix.init_index(max_elements=n, M=a.M, ef_construction=a.ef_construction, random_seed=100)
            ix.add_items(base, np.arange(n), num_threads=a.t)
            if a.index:
                ix.save_index(a.index)
        res["build_s"] = time.process_time() - t0
        ix.set_num_threads(1)
        for ef in [int(x) for x in a.ef.split(",")]:
            ix.set_ef(max(ef, k))
            qps, rows = passes(lambda q: ix.knn_query(q, k=k)[0][0], q1)
            t0 = time.process_time()
            ix.knn_query(queries, k=k, num_threads=1)
            qb = len(queries) / (time.process_time() - t0)
            r = {"ef": ef, "qps": qps, "qps_batch": qb}
            if truth is not None:
                r["recall"] = recall(rows, truth, k)
            res["results"].append(r)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
