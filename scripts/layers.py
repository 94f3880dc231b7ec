#!/usr/bin/env python3
"""Checks that imports point down the layers and that no two files import each other.

Layers (src/lib.rs): main → cli → startup → web → hosting → jobs → {db, whm} → domain;
config, crypto, metrics and private_pg are leaves. Prints violations; exits 1 if any."""
import os, re, sys

RANK = {"cli": 7, "startup": 6, "web": 5, "hosting": 4, "jobs": 3, "db": 2, "whm": 2,
        "domain": 1, "config": 0, "crypto": 0, "metrics": 0, "private_pg": 0}
root = os.path.join(os.path.dirname(__file__), "..", "src")

def module_of(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel

files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith(".rs") and f not in ("lib.rs", "main.rs"):
            p = os.path.join(d, f)
            files[tuple(module_of(p))] = p

def resolve(parts):
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in files:
            return tuple(parts[:n])
    return None

def strip_tests(text):
    i = text.find("#[cfg(test)]")
    return text if i < 0 else text[:i]

edges, bad = set(), []
for mod, path in files.items():
    text = strip_tests(open(path).read())
    refs = set()
    for m in re.finditer(r"\bcrate((?:::\w+)+)", text):
        refs.add(tuple(m.group(1).split("::")[1:]))
    for m in re.finditer(r"\bcrate::\{([^}]*)\}", text):
        for item in m.group(1).split(","):
            item = item.strip()
            if item:
                refs.add(tuple(item.split("::")))
    for m in re.finditer(r"\b((?:super::)+)((?:\w+::)*\w+)", text):
        up = m.group(1).count("super::")
        base = list(mod[: len(mod) - up])
        refs.add(tuple(base + m.group(2).split("::")))
    for r in refs:
        if not r:
            continue
        top_from, top_to = mod[0], r[0]
        if top_to not in RANK:
            continue
        if top_from != top_to:
            rf, rt = RANK[top_from], RANK[top_to]
            if rt >= rf:
                bad.append(f"{'/'.join(mod)} imports {'::'.join(r)} ({top_from} → {top_to} points up or sideways)")
        target = resolve(list(r))
        if target and target != mod and mod[: len(target)] != target:
            edges.add((mod, target))
for a, b in sorted(edges):
    if (b, a) in edges and a < b:
        bad.append(f"{'/'.join(a)} and {'/'.join(b)} import each other")
for line in bad:
    print(line)
print(f"{len(files)} files, {len(edges)} file-to-file imports, {len(bad)} violations")
sys.exit(1 if bad else 0)
