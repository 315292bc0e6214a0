#!/usr/bin/env python3
"""Golden values for tests/test_data.cpp (the data API), from readers that
share no code with dynagrad:

    /usr/bin/python3 tools/golden/make_data_golden.py [ROOT]

ROOT is the Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist,
Debian's dataset-fashion-mnist). The IDX files are read here with Python's
gzip and struct modules: counts, image sizes, the first labels, per-class
label counts, the raw byte sums of the first images and of the whole set,
and every byte of the first image. The Normalize values come from PyTorch
1.13 (python3-torch): torch.sub / torch.div in float32 with the mean and
stddev shaped [C, 1, 1], as LibTorch's transforms::Normalize keeps them.
Writes tests/golden/data_golden.yaml.
"""
import gzip
import os
import struct
import sys

import yaml

try:
    import torch
except ImportError:
    sys.exit("make_data_golden.py: needs PyTorch: apt-get install python3-torch (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "golden", "data_golden.yaml")
FIRST_LABELS = 32
FIRST_SUMS = 8


def read(root, name):
    with gzip.open(os.path.join(root, name + ".gz"), "rb") as f:
        return f.read()


def split(root, prefix):
    images = read(root, prefix + "-images-idx3-ubyte")
    labels = read(root, prefix + "-labels-idx1-ubyte")
    magic, count, rows, cols = struct.unpack(">IIII", images[:16])
    assert magic == 2051, magic
    lmagic, lcount = struct.unpack(">II", labels[:8])
    assert lmagic == 2049 and lcount == count
    pixels = images[16:]
    assert len(pixels) == count * rows * cols
    size = rows * cols
    label_bytes = labels[8:]
    return {
        "count": count,
        "rows": rows,
        "cols": cols,
        "first_labels": list(label_bytes[:FIRST_LABELS]),
        "class_counts": [label_bytes.count(c) for c in range(10)],
        "first_pixel_sums": [sum(pixels[i * size:(i + 1) * size]) for i in range(FIRST_SUMS)],
        "total_pixel_sum": sum(pixels),
        "first_image": list(pixels[:size]),
    }


def normalize_cases():
    cases = []
    x = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    for mean, std in (([10.0, 30.0, 50.0], [2.0, 4.0, 8.0]), ([0.5], [0.25]), ([0.2860], [0.3530])):
        m = torch.tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
        y = torch.sub(x, m).div(s)
        cases.append({"input_shape": list(x.shape), "mean": mean, "stddev": std,
                      "output": [float(v) for v in y.flatten().tolist()]})
    return cases


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    golden = {
        "comment": "written by tools/golden/make_data_golden.py; do not edit",
        "fashion_mnist": {"train": split(root, "train"), "test": split(root, "t10k")},
        "normalize": normalize_cases(),
    }
    with open(OUT, "w") as f:
        yaml.safe_dump(golden, f, default_flow_style=None, width=120, sort_keys=False)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
