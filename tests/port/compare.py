#!/usr/bin/env python3
"""Runs a port program's LibTorch build and its dynagrad build (the same
source with torch:: changed to dg::) and compares what they print: the labels
and sizes exactly, the values to a relative 1e-4 (float32 sums may round
differently). Usage: compare.py <libtorch program> <dynagrad program>."""
import subprocess
import sys


def run(path):
    r = subprocess.run([path], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit(f"compare.py: {path} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout.splitlines()


def close(a, b):
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    if x != x or y != y:
        return x != x and y != y
    return abs(x - y) <= 1e-5 + 1e-4 * max(abs(x), abs(y))


def main():
    torch_out, dg_out = run(sys.argv[1]), run(sys.argv[2])
    bad = []
    if len(torch_out) != len(dg_out):
        bad.append(f"LibTorch printed {len(torch_out)} lines, dynagrad {len(dg_out)}")
    for t, d in zip(torch_out, dg_out):
        tw, dw = t.split(), d.split()
        if len(tw) != len(dw) or tw[:2] != dw[:2] or not all(close(a, b) for a, b in zip(tw[2:], dw[2:])):
            bad.append(f"  LibTorch: {t}\n  dynagrad: {d}")
    for line in dg_out:
        print(line)
    if bad:
        sys.exit("compare.py: the outputs differ:\n" + "\n".join(bad))
    print(f"compare.py: {len(dg_out)} lines agree with LibTorch")


if __name__ == "__main__":
    main()
