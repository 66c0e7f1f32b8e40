#!/usr/bin/env python3
"""Prints which folders of a module use types declared in which other folders, and any
dependency cycles between folders: `scripts/folder-deps.py Sources/PDE`. Exit code 1 when
there is a cycle (make test runs it on PDE and Learning)."""
import os, re, sys
root = sys.argv[1]
decl = re.compile(r'^(?:public |internal |private |fileprivate |final |@\w+ )*(?:struct|class|enum|protocol|typealias|actor)\s+([A-Z]\w*)', re.M)
ident = re.compile(r'\b([A-Z]\w*)\b')
strip = re.compile(r'//[^\n]*|"(?:\\.|[^"\\])*"')
folders = {}
for d in sorted(os.listdir(root)):
    p = os.path.join(root, d)
    if os.path.isdir(p):
        folders[d] = [os.path.join(dp, f) for dp, _, fs in os.walk(p) for f in fs if f.endswith('.swift')]
owner = {}
for d, files in folders.items():
    for f in files:
        for name in decl.findall(open(f).read()):
            owner.setdefault(name, d)
deps = {d: {} for d in folders}
for d, files in folders.items():
    for f in files:
        text = strip.sub('', open(f).read())
        for name in set(ident.findall(text)):
            o = owner.get(name)
            if o and o != d:
                deps[d].setdefault(o, set()).add(name)
for d in folders:
    print(f"{d} -> " + ", ".join(f"{o} ({', '.join(sorted(n)[:4])}{'…' if len(n) > 4 else ''})" for o, n in sorted(deps[d].items())))
# cycles
def reach(a, b, seen=()):
    return any(o == b or (o not in seen and reach(o, b, seen + (o,))) for o in deps[a])
cycles = sorted({tuple(sorted((a, b))) for a in folders for b in deps[a] if reach(b, a)})
for a, b in cycles:
    print(f"cycle: {a} <-> {b}")
sys.exit(1 if cycles else 0)
