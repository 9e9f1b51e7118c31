#!/usr/bin/env python3
"""rag_quality.py — retrieval quality and ingestion rate of `hearth rag`.

Corpus: the Node.js API documentation Debian installs with nodejs
(/usr/share/doc/nodejs/api/*.md, 64 Markdown files, 3.5 MB, MIT licence);
questions: bench/rag_questions.tsv (42 questions written as a user would
ask, each with the document(s) holding the answer and a phrase of it).

Compared side by side, in the same run:
  default   `hearth rag search` with its defaults (no model given: chunks of
            200 tokens with 40 overlapping, cut at headings, BM25 over chunk
            text and headings), results grouped by document
  whole     the reference: plain BM25 over whole documents (one chunk per
            document, no headings), the same FTS5 ranking function
  hybrid    (with --embed MODEL) BM25 + dense by reciprocal-rank fusion
Figures: recall@5 and MRR@10 at the document level, the answer phrase in the
top 5 chunks (passage hit@5), re-ingestion adding nothing, and ingestion
rates (MB/s of text, chunks/s; with --embed including embedding).

  bench/rag_quality.py [--hearth build/hearth] [--docs DIR] [--embed BGE.gguf]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))


def run(hearth, *args):
    p = subprocess.run([hearth, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def ingest(hearth, db, coll, path, *extra):
    rc, out, err = run(hearth, "rag", "ingest", "--db", db, "--collection", coll, "--json", *extra, path)
    if rc not in (0, 1):
        sys.exit(f"ingest {coll} failed ({rc}): {err}")
    return json.loads(out)


def search(hearth, db, coll, q, k, *extra):
    rc, out, err = run(hearth, "rag", "search", "--db", db, "--collection", coll, "-k", str(k), "--json", *extra, q)
    if rc != 0:
        sys.exit(f"search {coll} failed: {err}")
    return json.loads(out)["results"]


def doc_ranks(results):
    docs = []
    for r in results:
        d = os.path.basename(r["source"])
        if d not in docs:
            docs.append(d)
    return docs


def evaluate(hearth, db, coll, questions, k_chunks, *extra):
    rec5 = mrr10 = hit5 = 0.0
    t0 = time.time()
    for q, rel, phrase in questions:
        res = search(hearth, db, coll, q, k_chunks, *extra)
        docs = doc_ranks(res)
        rank = next((i + 1 for i, d in enumerate(docs[:10]) if d in rel), 0)
        rec5 += 1 if 0 < rank <= 5 else 0
        mrr10 += 1.0 / rank if rank else 0
        hit5 += 1 if any(phrase in r["text"] for r in res[:5]) else 0
    n = len(questions)
    return rec5 / n, mrr10 / n, hit5 / n, (time.time() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hearth", default=os.path.join(here, "..", "build", "hearth"))
    ap.add_argument("--docs", default="/usr/share/doc/nodejs/api")
    ap.add_argument("--questions", default=os.path.join(here, "rag_questions.tsv"))
    ap.add_argument("--embed", help="embedding model (BERT/BGE GGUF) for the hybrid row and the embedding rate")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    hearth = os.path.abspath(a.hearth)
    work = tempfile.mkdtemp(prefix="hearth-rag-bench-")
    try:
        docs = os.path.join(work, "docs")
        os.mkdir(docs)
        for f in sorted(os.listdir(a.docs)):
            if f.endswith(".md"):
                shutil.copy(os.path.join(a.docs, f), docs)
        questions = []
        for line in open(a.questions, encoding="utf-8"):
            if not line.strip() or line.startswith("#"):
                continue
            q, rel, phrase = line.rstrip("\n").split("\t")
            rel = rel.split(",")
            if not any(phrase in open(os.path.join(docs, d), encoding="utf-8").read() for d in rel):
                sys.exit(f"question '{q}': '{phrase}' is in none of {rel}")
            questions.append((q, rel, phrase))
        n_docs = len(os.listdir(docs))
        size = sum(os.path.getsize(os.path.join(docs, f)) for f in os.listdir(docs))
        db = os.path.join(work, "db")
        print(f"corpus: {n_docs} Markdown files, {size / 1e6:.2f} MB ({a.docs}); {len(questions)} questions")

        s = ingest(hearth, db, "default", docs)
        print(f"ingest (defaults, BM25 only): {s['chunks']} chunks, {s['text_bytes'] / 1e6:.2f} MB of text in "
              f"{s['seconds']:.2f} s: {s['text_mb_per_s']:.2f} MB/s, {s['chunks_per_s']:.0f} chunks/s")
        again = ingest(hearth, db, "default", docs)
        print(f"re-ingest: {again['unchanged']} unchanged, {again['added']} added, {again['updated']} updated, "
              f"{again['removed']} removed, {again['chunks']} chunks written")
        w = ingest(hearth, db, "whole", docs, "--chunk-tokens", "100000000", "--overlap", "0", "--no-headings")
        print(f"ingest (whole documents): {w['chunks']} chunks")

        rows = [("hearth rag search (defaults)",) + evaluate(hearth, db, "default", questions, 50),
                ("plain BM25, whole documents",) + evaluate(hearth, db, "whole", questions, 10, "--mode", "bm25")]
        if a.embed:
            e = ingest(hearth, db, "hybrid", docs, "-e", a.embed)
            print(f"ingest (with embeddings, {os.path.basename(a.embed)}): {e['chunks']} chunks in {e['seconds']:.2f} s:"
                  f" {e['text_mb_per_s']:.3f} MB/s, {e['chunks_per_s']:.1f} chunks/s")
            rows.append((f"hybrid (BM25 + {os.path.basename(a.embed)})",) +
                        evaluate(hearth, db, "hybrid", questions, 50))
            rows.append((f"dense only ({os.path.basename(a.embed)})",) +
                        evaluate(hearth, db, "hybrid", questions, 50, "--mode", "dense"))
        print()
        print(f"| retrieval | recall@5 | MRR@10 | answer in top-5 chunks | s/query |")
        print(f"|---|---|---|---|---|")
        for name, r5, m10, h5, t in rows:
            print(f"| {name} | {r5:.3f} | {m10:.3f} | {h5:.3f} | {t:.3f} |")
        html = os.path.join(work, "html")
        os.mkdir(html)
        for f in sorted(os.listdir(a.docs)):
            if f.endswith(".html") and f != "all.html":
                shutil.copy(os.path.join(a.docs, f), html)
        h = ingest(hearth, db, "html", html)
        print(f"\ningest HTML ({h['files']} files, {h['file_bytes'] / 1e6:.1f} MB of HTML -> {h['text_bytes'] / 1e6:.2f} MB"
              f" of text): {h['seconds']:.2f} s, {h['file_bytes'] / 1e6 / max(h['seconds'], 1e-9):.1f} MB/s of HTML, "
              f"{h['chunks_per_s']:.0f} chunks/s")
    finally:
        if a.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
