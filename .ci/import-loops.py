#!/usr/bin/env python3
"""Import loops between the modules of src/, at every level (ARCHITECTURE.md: data flows one way,
nothing below calls up). A file of module `x::y` naming `crate::x::z::...` (or `super::z`) is an
arrow y -> z between the siblings, compared at the first level where the two paths differ; a
module and its own submodules are one room. Test code and comments are left out.
Run from the project's root; exits 1 when a loop exists, naming it."""
import re, subprocess, sys, collections, glob

def modpath(f):
    p = f[4:-3].split('/')
    if p[-1] == 'mod': p = p[:-1]
    if p in (['lib'], ['main']): return []
    return p

def strip_tests(src):
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", src):
        if m.start() < i: continue
        out.append(src[i:m.start()])
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[j], 0); j += 1
        i = j
    out.append(src[i:])
    s = "".join(out)
    s = re.sub(r"(?m)^\s*//.*$", "", s)
    return re.sub(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*;", "", s)

files = [f for f in glob.glob("src/**/*.rs", recursive=True) if not f.endswith("/tests.rs") and "/tests/" not in f]
mods = {tuple(modpath(f)) for f in files}
def resolve(path):
    """longest known module prefix of a path"""
    for k in range(len(path), 0, -1):
        if tuple(path[:k]) in mods: return tuple(path[:k])
    return None

edges = collections.defaultdict(set)
for f in files:
    me = tuple(modpath(f))
    src = strip_tests(open(f).read())
    targets = []
    for m in re.finditer(r"crate::((?:\w+::)*\w+)", src):
        targets.append(m.group(1).split("::"))
    for grp in re.finditer(r"use crate::((?:\w+::)*)\{([^;]*)\};", src, re.S):
        base = [x for x in grp.group(1).split("::") if x]
        for item in re.findall(r"(\w+(?:::\w+)*)", grp.group(2)):
            targets.append(base + item.split("::"))
    # super:: paths
    for m in re.finditer(r"\bsuper::((?:\w+::)*\w+)", src):
        parent = list(me[:-1])
        targets.append(parent + m.group(1).split("::"))
    for t in targets:
        tgt = resolve(t)
        if tgt is None or tgt == me: continue
        # compare at the first differing level
        k = 0
        while k < min(len(me), len(tgt)) and me[k] == tgt[k]: k += 1
        if k == len(me) or k == len(tgt):
            continue  # parent <-> child: a module and its own submodule
        a, b = me[:k+1], tgt[:k+1]
        edges[a].add(b)

index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index: visit(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        if len(c) > 1: sccs.append(sorted(c))
sys.setrecursionlimit(10000)
for v in sorted(set(edges) | {w for s in edges.values() for w in s}):
    if v not in index: visit(v)
for c in sccs:
    print("loop:", " <-> ".join("::".join(x) for x in c))
print(f"{len(sccs)} import loop(s) among {len(mods)} modules")
sys.exit(1 if sccs else 0)
