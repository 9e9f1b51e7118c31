#!/usr/bin/env python3
"""maskbench.py — MaskBench (github:guidance-ai/jsonschemabench, maskbench/data)
through `hearth grammar check`: a schema passes when it compiles, every valid
instance is accepted and every invalid one rejected. Instances are written as
json.dumps(data, ensure_ascii=False) writes them, as MaskBench's runner does.
The data has no licence file: it is read from a path, never copied here.

    python3 bench/maskbench.py PATH/maskbench/data [--hearth build/hearth] [--limit N] [--show-unsafe]
"""
import argparse, collections, glob, json, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("data")
ap.add_argument("--hearth", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "hearth"))
ap.add_argument("--limit", type=int, default=0)
ap.add_argument("--show-unsafe", action="store_true")
ap.add_argument("--show-errors", type=int, default=0)
args = ap.parse_args()

files = sorted(glob.glob(os.path.join(args.data, "*.json")))
if args.limit:
    files = files[:: max(1, len(files) // args.limit)][: args.limit]
tmp = tempfile.mkdtemp()
sp, ip = os.path.join(tmp, "s.json"), os.path.join(tmp, "i.jsonl")
n = passed = compiled = 0
valid_acc = valid_tot = inval_rej = inval_tot = 0
unsafe = []
errors = collections.Counter()
for f in files:
    with open(f) as fh:
        d = json.load(fh)
    tests = d.get("tests", [])
    n += 1
    with open(sp, "w") as fh:
        json.dump(d["schema"], fh)
    with open(ip, "w", encoding="utf-8") as fh:
        for t in tests:
            fh.write(json.dumps(t["data"], ensure_ascii=False) + "\n")
    r = subprocess.run([args.hearth, "grammar", "check", "--schema", sp, "--jsonl", ip], capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        msg = r.stderr.strip().split(": ")
        errors[" ".join(msg[3:])[:70] if len(msg) > 3 else r.stderr.strip()[:70]] += 1
        continue
    compiled += 1
    out = r.stdout.split()
    ok = len(out) == len(tests)
    for t, o in zip(tests, out):
        if t["valid"]:
            valid_tot += 1
            valid_acc += o == "accept"
            ok &= o == "accept"
        else:
            inval_tot += 1
            inval_rej += o == "reject"
            ok &= o == "reject"
            if o == "accept":
                unsafe.append((os.path.basename(f), json.dumps(t["data"], ensure_ascii=False)[:200]))
    passed += ok
print(f"schemas {n}, compiled {compiled} ({100.0 * compiled / n:.1f} %), passed {passed} ({100.0 * passed / n:.1f} %)")
print(f"valid instances accepted {valid_acc} / {valid_tot}; invalid instances rejected {inval_rej} / {inval_tot}; "
      f"invalid accepted: {len(unsafe)}")
if args.show_unsafe:
    for u in unsafe[:50]:
        print("  UNSAFE", *u)
for e, c in errors.most_common(args.show_errors):
    print(f"  {c:5d}  {e}")
