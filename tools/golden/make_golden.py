#!/usr/bin/env python3
"""Forward golden values from a real PyTorch, for every op sample in ops.yaml.

    /usr/bin/python3 tools/golden/make_golden.py   # needs Debian's python3-torch

For each op and each of its samples it draws inputs (seeded, so reruns give
the same file), calls the PyTorch function of the same name with the sample's
arguments, and writes inputs and outputs to tests/golden/ops_golden.yaml.
tests/test_golden.cpp feeds the same inputs to dynagrad's op (through the
generated sample registry) and compares. The C++ tests need no Python.

Ops PyTorch does not have under the same name (dynagrad's backward helpers)
and random ops are skipped; the script prints which and why.
"""
import os
import sys

import numpy as np
import yaml

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("make_golden.py: needs PyTorch: apt-get install python3-torch (run with /usr/bin/python3)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "codegen"))
from load import load  # noqa: E402

OUT = os.path.join(ROOT, "tests", "golden", "ops_golden.yaml")

# Not compared: random, or dynagrad-only helpers with no PyTorch twin.
SKIP = {
    "dropout": "random",
    # Random draws: dynagrad's Philox streams are not PyTorch's (tests/test_random.cpp checks the distributions).
    **{name: "random" for name in ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "geometric_",
                                   "cauchy_", "log_normal_", "bernoulli", "normal", "multinomial")},
}
# dynagrad op -> PyTorch callable, where the name or the calling convention differs.
RENAME = {
    "sum_to": None, "sum_backward": None, "pow_backward": None, "maybe_multiply": None, "permute_backward": None,
    "as_strided_backward": None, "as_strided_backward_adjoint": None,
    "_softmax_backward_data": lambda g, out, dim: torch.ops.aten._softmax_backward_data(g, out, dim, out.dtype),
    "_log_softmax_backward_data":
        lambda g, out, dim: torch.ops.aten._log_softmax_backward_data(g, out, dim, out.dtype),
    "mean_backward": None, "var_backward": None, "std_backward": None, "nll_loss_backward": None,
    # The ATen-level losses take an integer reduction (F.* takes a string).
    "nll_loss": torch._C._nn.nll_loss_nd, "mse_loss": torch._C._nn.mse_loss, "l1_loss": torch._C._nn.l1_loss,
    "smooth_l1_loss": torch._C._nn.smooth_l1_loss, "huber_loss": torch._C._nn.huber_loss,
    "binary_cross_entropy": torch._C._nn.binary_cross_entropy,
    "binary_cross_entropy_with_logits": torch.binary_cross_entropy_with_logits,
    "cross_entropy_loss": torch._C._nn.cross_entropy_loss, "mse_loss_backward": torch.ops.aten.mse_loss_backward,
    # Python's torch.kl_div & co. default to reduction 0; LibTorch's (and dynagrad's) to at::Reduction::Mean.
    "kl_div": lambda self, target, reduction=1, log_target=False:
        torch.kl_div(self, target, reduction, log_target=log_target),
    "soft_margin_loss": torch.ops.aten.soft_margin_loss,
    "soft_margin_loss_backward": torch.ops.aten.soft_margin_loss_backward,
    "hinge_embedding_loss": lambda self, target, margin=1.0, reduction=1:
        torch.hinge_embedding_loss(self, target, margin, reduction),
    "margin_ranking_loss": lambda input1, input2, target, margin=0.0, reduction=1:
        torch.margin_ranking_loss(input1, input2, target, margin, reduction),
    "cosine_embedding_loss": lambda input1, input2, target, margin=0.0, reduction=1:
        torch.cosine_embedding_loss(input1, input2, target, margin, reduction),
    "triplet_margin_loss": lambda anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=1:
        torch.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction),
    "poisson_nll_loss": torch.poisson_nll_loss,
    # CTC: the ATen form (integer reduction); _ctc_loss's log_alpha is left uninitialised by PyTorch past each
    # input and target length, so only its loss is compared (dynagrad's registry returns that output only).
    # (torch.ctc_loss, like torch.kl_div, defaults to reduction 0 in Python.)
    "ctc_loss": lambda log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False:
        torch.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity),
    "_ctc_loss": lambda *a, **k: torch._ctc_loss(*a, **k)[0],
    "_ctc_loss_packed": None, "_ctc_loss_backward": None,
    # Python's torch.unique* drop the outputs not asked for; ATen's return all three (empty when not asked).
    "unique": lambda self, sorted=True, return_inverse=False, return_counts=False, dim=None:
        torch._unique2(self, sorted, return_inverse, return_counts) if dim is None
        else torch.ops.aten.unique_dim(self, dim, sorted, return_inverse, return_counts),
    "unique_consecutive": torch.ops.aten.unique_consecutive,
    # dynagrad's packed decompositions (one output holding all factors) and their backward helpers.
    "_linalg_eigh_packed": None, "_linalg_eigh_packed_backward": None, "_linalg_svd_packed": None,
    "_linalg_svd_packed_backward": None, "_linalg_qr_packed": None, "_linalg_qr_packed_backward": None,
    # Linear algebra: dynagrad's kernels of tuple-returning ops and gradient helpers have no PyTorch twin; the
    # driver "" is the device's default (None in PyTorch).
    "_linalg_slogdet": None, "_linalg_solve": lambda A, B: torch.linalg.solve(A, B),
    "_linalg_lu_factor_packed": None, "_linalg_lstsq": None, "cholesky_backward": None,
    "linalg_solve_triangular_backward": None, "linalg_lstsq_backward": None,
    "linalg_lstsq": lambda self, b, rcond=None, driver="": torch.linalg.lstsq(self, b, rcond, driver=driver or None),
    "linalg_lu_factor": lambda A, pivot=True: tuple(t if t.dtype != torch.int32 else t.long()
                                                    for t in torch.linalg.lu_factor(A, pivot=pivot)),
    # F.* forms with another argument order, or fewer outputs, than the ATen op.
    "instance_norm": torch.instance_norm, "embedding_bag": torch.ops.aten.embedding_bag,
    "adaptive_max_pool1d": torch.ops.aten.adaptive_max_pool1d,
    "adaptive_max_pool2d": torch.ops.aten.adaptive_max_pool2d,
    "feature_dropout": torch.feature_dropout, "alpha_dropout": torch.alpha_dropout,
    "feature_alpha_dropout": torch.feature_alpha_dropout,
    "unfold": lambda self, dimension, size, step: self.unfold(dimension, size, step),  # F.unfold is im2col
}
# Overloads whose PyTorch twin differs from their base name's.
RENAME_OVERLOAD = {
    "batch_norm.cudnn": torch.batch_norm,
    "pow.Scalar": torch.pow,
}


def candidates(op):
    if op.name in RENAME_OVERLOAD:
        return [RENAME_OVERLOAD[op.name]]
    return base_candidates(op.base)


def base_candidates(base):
    """PyTorch callables that may be this op, most specific first. F.* comes
    before torch.*: the functional forms carry the argument names dynagrad
    uses for them (torch.nll_loss & co. keep legacy positional parameters)."""
    if base in RENAME:
        return [RENAME[base]] if RENAME[base] else []
    found = []
    for ns in (F, torch, torch.special, torch.linalg):
        fn = getattr(ns, base, None)
        if callable(fn):
            found.append(fn)
    aten = getattr(torch.ops.aten, base, None)  # backward helpers: aten.tanh_backward, ...
    if aten is not None:
        found.append(aten)
    if base.endswith("_") and hasattr(torch.Tensor, base):  # in-place ops: on a clone
        found.append(lambda self, *a, **k: getattr(self.clone(), base)(*a, **k))
    elif hasattr(torch.Tensor, base):
        found.append(lambda self, *a, **k: getattr(self, base)(*a, **k))
    return found


def draw(spec, rng):
    """A sample tensor (shape, or {shape, low, high, dtype, transposed})."""
    if isinstance(spec, dict):
        shape, low, high = spec["shape"], spec.get("low", -1.0), spec.get("high", 1.0)
        dtype = spec.get("dtype", "float64")
    else:
        shape, low, high, dtype = spec, -1.0, 1.0, "float64"
    u = rng.random(size=shape)
    if dtype == "float64":
        t = torch.tensor(u * (high - low) + low, dtype=torch.float64)
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind:  # tests/op_registry.h's SampleKind: M + n I, or M Mᵀ + n I
            n = shape[-1]
            t = (t @ t.mT if kind == "spd" else t) + n * torch.eye(n, dtype=torch.float64)
        return t
    if dtype == "int64":
        return torch.tensor(np.floor(u * (high - low) + low), dtype=torch.int64)
    return torch.tensor(u < 0.5, dtype=torch.bool)


def encode(t):
    t = t.detach().contiguous()
    kind = {torch.float64: "float64", torch.float32: "float64", torch.int64: "int64", torch.bool: "bool"}[t.dtype]
    flat = t.reshape(-1).tolist()
    if kind == "float64":
        data = [float(v) for v in flat]
    elif kind == "int64":
        data = [int(v) for v in flat]
    else:
        data = [bool(v) for v in flat]
    return {"shape": list(t.shape), "dtype": kind, "data": data}


def call(op, sample, rng):
    """Returns (inputs, outputs) as tensors, or raises. Tries two calling
    conventions on each candidate: tensors by position and the rest by
    keyword (what F.* wants: it has legacy positional parameters), then
    everything by position in signature order, switching to keywords after
    the first argument the sample leaves to its default."""
    fns = candidates(op)
    if not fns:
        raise LookupError("no PyTorch function of this name")
    if op.base.endswith("_"):
        # torch.addmv_ & co. write their first argument: call them on clones,
        # so that the inputs recorded are the ones the op saw.
        fns = [(lambda f: lambda *a, **k: f(*[x.clone() if isinstance(x, torch.Tensor) else x for x in a], **k))(f)
               for f in fns]
    inputs, values = [], []
    for a in op.sig.args:
        v = sample.values.get(a.name)
        if a.type == "Tensor[]":
            ts = [draw(s, rng) for s in v]
            inputs += ts
            values.append((a, True, ts))
        elif a.type in ("Tensor", "Tensor?"):
            t = None if v is None else draw(v, rng)
            if t is not None:
                inputs.append(t)
                if isinstance(v, dict) and v.get("symmetric"):  # the op sees X + X^T (as in the C++ registry)
                    t = t + t.transpose(-2, -1)
                if isinstance(v, dict) and v.get("log_softmax"):  # the op sees log_softmax(X, -1)
                    t = t.log_softmax(-1)
            values.append((a, True, t))
        elif a.type == "ScalarType?" and v is not None:
            values.append((a, True, getattr(torch, v)))  # "float64" -> torch.float64
        else:
            values.append((a, a.name in sample.values, v))

    def by_kind():
        # Leading tensors by position; everything after the first non-tensor by keyword.
        pos, kw, leading = [], {}, True
        for a, given, v in values:
            is_tensor = a.type in ("Tensor", "Tensor?", "Tensor[]")
            leading = leading and is_tensor
            if leading:
                pos.append(v)
            elif given and (v is not None or not is_tensor):
                kw[a.name] = v
        while pos and pos[-1] is None:
            pos.pop()
        return pos, kw

    def in_order():
        pos, kw, gap = [], {}, False
        for a, given, v in values:
            if not given:
                gap = True
            elif gap or a.kwarg_only:
                kw[a.name] = v
            else:
                pos.append(v)
        return pos, kw

    errors = []
    for fn in fns:
        for pos, kw in (by_kind(), in_order()):
            try:
                out = fn(*pos, **kw)
            except Exception as e:  # noqa: BLE001 - try the next way, report all if none fits
                errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
                continue
            outs = [out] if isinstance(out, torch.Tensor) else list(out)
            return inputs, outs
    raise RuntimeError(" | ".join(errors))


def write_cases(path, script, cases):
    """Writes the cases (and the PyTorch version) as tests/golden's YAML."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# @generated by tools/golden/{script} with PyTorch {str(torch.__version__)}. Do not edit.\n")
        yaml.safe_dump({"torch_version": str(torch.__version__), "cases": cases}, f, default_flow_style=None,
                       width=120, sort_keys=False)
    print(f"{script}: {len(cases)} cases written to {os.path.relpath(path, ROOT)}")


def main():
    ops = load(os.path.join(ROOT, "ops.yaml"), os.path.join(ROOT, "derivatives.yaml"))
    rng = np.random.default_rng(20261126)
    cases, skipped = [], []
    for op in ops:
        if op.base in SKIP:
            skipped.append(f"{op.name}: {SKIP[op.base]}")
            continue
        for i, sample in enumerate(op.samples):
            try:
                inputs, outputs = call(op, sample, rng)
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                skipped.append(f"{op.name} sample {i}: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
                continue
            cases.append({"op": op.name, "sample": i, "inputs": [encode(t) for t in inputs],
                          "outputs": [encode(t) for t in outputs]})
    write_cases(OUT, "make_golden.py", cases)
    if skipped:
        print(f"skipped ({len(skipped)}):")
        for s in skipped:
            print("  " + s)


if __name__ == "__main__":
    main()
