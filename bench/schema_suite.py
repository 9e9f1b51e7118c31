#!/usr/bin/env python3
"""schema_suite.py — the JSON-Schema-Test-Suite copy in tests/data/schema run
by Python's jsonschema (Debian's python3-jsonschema) and by hearth's
validator (build/tests/schema/test_schema_suite), side by side.

    python3 bench/schema_suite.py [BUILD_DIR]
"""
import glob, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "schema")
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")


def python_rates():
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
    try:
        version = __import__("importlib.metadata").metadata.version("jsonschema")
    except Exception:
        version = "?"
    resources = []
    for path in glob.glob(os.path.join(DATA, "remotes", "**", "*.json"), recursive=True):
        rel = os.path.relpath(path, os.path.join(DATA, "remotes"))
        with open(path) as f:
            doc = json.load(f)
        resources.append(("http://localhost:1234/" + rel,
                          Resource.from_contents(doc, default_specification=DRAFT202012)))
    registry = Registry().with_resources(resources)
    out = {}
    for draft, cls in (("draft2020-12", jsonschema.Draft202012Validator), ("draft7", jsonschema.Draft7Validator)):
        ok = total = 0
        for path in sorted(glob.glob(os.path.join(DATA, draft, "*.json"))):
            with open(path) as f:
                groups = json.load(f)
            for g in groups:
                meta = '"$ref": "https://json-schema.org/' in json.dumps(g["schema"]) or \
                       '"$ref": "http://json-schema.org/' in json.dumps(g["schema"])
                for t in g["tests"]:
                    if meta:
                        continue
                    total += 1
                    try:
                        v = cls(g["schema"], registry=registry)
                        ok += v.is_valid(t["data"]) == t["valid"]
                    except Exception:
                        pass
        out[draft] = (ok, total)
    return version, out


version, py = python_rates()
for draft, (ok, total) in py.items():
    print(f"python jsonschema {version:8s} {draft:13s} {ok} / {total} ({100.0 * ok / total:.2f} %)")
exe = os.path.join(BUILD, "tests", "schema", "test_schema_suite")
res = subprocess.run([exe], capture_output=True, text=True)
for line in res.stdout.splitlines():
    if line.startswith("draft"):
        print("hearth                     " + line)
