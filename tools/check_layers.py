#!/usr/bin/env python3
"""Checks that every #include runs along an arrow of docs/ARCHITECTURE.md.

    tools/check_layers.py            check; print each include that crosses a
                                     "never", exit 1 if there is one
    tools/check_layers.py --stats    also print files and lines per folder and
                                     the include arrows between layers

The rules are the ```layers block of docs/ARCHITECTURE.md, so the document
and this test cannot disagree. Each rule line is

    <path>  ->  <path> <path> ...     may include (directly) only these
    <path>  !>  <path> <path> ...     must never reach these, even transitively

A path is a folder or a file, relative to the repository root; a file belongs
to the longest rule path that contains it. Quoted includes are resolved the
way the build resolves them: next to the including file, then from the
repository root, then in the public include folders (<layer>/dynagrad/...,
generated/dynagrad/...). Angle-bracket includes (system and third-party
headers) are not layers and are not checked.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_EXT = (".h", ".cpp", ".cu", ".cuh")
# Where `#include "dynagrad/x.h"` is looked for, in the build's order.
PUBLIC_ROOTS = ["core", "autograd", "api", "serialize", "nn", "optim", "data", "distributed", "generated"]
SKIP_DIRS = {".git", "build", "__pycache__", ".gpu-bundle"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_rules(doc: str):
    text = open(doc, encoding="utf-8").read()
    m = re.search(r"```layers\n(.*?)```", text, re.S)
    if not m:
        sys.exit(f"check_layers: no ```layers block in {doc}")
    allowed, never = {}, {}
    for n, raw in enumerate(m.group(1).splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        rm = re.fullmatch(r"(\S+)\s+(->|!>)\s*(.*)", line)
        if not rm:
            sys.exit(f"check_layers: cannot read rule line {n} of the layers block: {raw!r}")
        src, arrow, targets = rm.group(1).rstrip("/"), rm.group(2), rm.group(3).split()
        (allowed if arrow == "->" else never).setdefault(src, []).extend(t.rstrip("/") for t in targets)
    return allowed, never


def owner(path: str, keys) -> str | None:
    """The longest rule path that is `path` or a folder containing it."""
    best = None
    for k in keys:
        if (path == k or path.startswith(k + "/")) and (best is None or len(k) > len(best)):
            best = k
    return best


def source_files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build"))
        for f in sorted(filenames):
            if f.endswith(SOURCE_EXT):
                yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def resolve(including: str, name: str) -> str | None:
    here = os.path.dirname(including)
    candidates = [os.path.join(here, name), name]
    candidates += [os.path.join(r, name) for r in PUBLIC_ROOTS]
    candidates += [os.path.join("generated", "kernels", name)]  # the kernels' include folders
    candidates += [os.path.join("kernels", name)]
    candidates += [os.path.join("tests", name)]  # the test programs' include folder
    for c in candidates:
        c = os.path.normpath(c)
        if os.path.isfile(os.path.join(ROOT, c)):
            return c
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stats", action="store_true", help="print files, lines and arrows per layer")
    ap.add_argument("--root", help="check this tree instead of the repository (for the self-test)")
    args = ap.parse_args(argv)
    global ROOT
    if args.root:
        ROOT = os.path.abspath(args.root)
    allowed, never = read_rules(os.path.join(ROOT, "docs", "ARCHITECTURE.md"))
    layers = sorted(set(allowed) | set(never))

    files = [f for f in source_files() if owner(f, layers)]
    graph, problems, lines = {}, [], {}
    for f in files:
        text = open(os.path.join(ROOT, f), encoding="utf-8", errors="replace").read()
        lines[f] = text.count("\n")
        graph[f] = []
        for name in INCLUDE_RE.findall(text):
            target = resolve(f, name)
            if target is None:
                problems.append(f'{f}: #include "{name}" names no file of the repository')
                continue
            graph[f].append(target)

    arrows = {}
    for f, targets in graph.items():
        src = owner(f, layers)
        for t in targets:
            dst = owner(t, layers) or t
            arrows[(src, dst)] = arrows.get((src, dst), 0) + 1
            ok = allowed.get(src)
            if ok is not None and not any(t == a or t.startswith(a + "/") for a in ok):
                problems.append(f"{f}: includes {t} ({dst}), but {src} may only include {' '.join(ok)}")

    # Transitive "never": what a file reaches through any chain of includes.
    # One line per file and banned path, with the chain that gets there.
    def chain_to(f: str, banned: str):
        seen, queue = {f: None}, [f]
        while queue:
            cur = queue.pop(0)
            for t in graph.get(cur, []):
                if t in seen:
                    continue
                seen[t] = cur
                if t == banned or t.startswith(banned + "/"):
                    path = [t]
                    while seen[path[-1]] is not None:
                        path.append(seen[path[-1]])
                    return list(reversed(path))
                if t in graph:
                    queue.append(t)
        return None

    for f in files:
        src = owner(f, list(never))
        if src is None:
            continue
        for banned in never[src]:
            chain = chain_to(f, banned)
            if chain:
                problems.append(f"{f}: reaches {banned}, which {src} must never do: {' -> '.join(chain)}")

    if args.stats:
        print("folder                       files   lines")
        per = {}
        for f in files:
            k = owner(f, layers)
            n, l = per.get(k, (0, 0))
            per[k] = (n + 1, l + lines[f])
        for k in layers:
            if k in per:
                print(f"{k:28} {per[k][0]:5} {per[k][1]:7}")
        print("\ninclude arrows (from -> to: count)")
        for (a, b), n in sorted(arrows.items()):
            if a != b:
                print(f"  {a} -> {b}: {n}")

    for p in problems:
        print(f"check_layers: {p}", file=sys.stderr)
    if problems:
        print(f"check_layers: {len(problems)} include(s) against docs/ARCHITECTURE.md", file=sys.stderr)
        return 1
    print(f"check_layers: {len(files)} files, every include runs along an arrow of docs/ARCHITECTURE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
