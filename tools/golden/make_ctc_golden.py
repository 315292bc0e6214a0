#!/usr/bin/env python3
"""CTC loss values and gradients from a real PyTorch, for tests/test_ctc_loss.cpp.

    /usr/bin/python3 tools/golden/make_ctc_golden.py   # needs Debian's python3-torch

Each case draws logits (seeded), takes log_softmax over the classes, and
records torch.ctc_loss's loss and the gradient of sum(loss * grad_output)
with respect to the log-probabilities (PyTorch's own gradient, which assumes
normalised inputs), plus _ctc_loss's negative log likelihood and its log_alpha
where PyTorch defines it (t < input length, s <= 2 target length). Writes
tests/golden/ctc_golden.yaml.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import ROOT, torch, write_cases  # noqa: E402 - also checks that PyTorch is there

OUT = os.path.join(ROOT, "tests", "golden", "ctc_golden.yaml")
REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def flat(t):
    return [float(v) if t.is_floating_point() else int(v) for v in t.detach().contiguous().reshape(-1).tolist()]


def case(gen, name, T, N, C, targets, input_lengths, target_lengths, reduction="mean", blank=0, zero_infinity=False,
         batched=True, targets_dtype="int64", dtype="float64", tensor_lengths=False):
    shape = (T, N, C) if batched else (T, C)
    logits = torch.randn(shape, generator=gen, dtype=torch.float64)
    log_probs = logits.log_softmax(-1).to(getattr(torch, dtype)).detach().requires_grad_()
    tg = torch.tensor(targets, dtype=getattr(torch, targets_dtype))
    il = torch.tensor(input_lengths) if tensor_lengths else input_lengths
    tl = torch.tensor(target_lengths) if tensor_lengths else target_lengths
    loss = torch.ctc_loss(log_probs, tg, il, tl, blank, REDUCTIONS[reduction], zero_infinity)
    grad_output = torch.rand(loss.shape, generator=gen, dtype=torch.float64).to(loss.dtype) + 0.5
    (loss * grad_output).sum().backward()
    out = {"name": name, "dtype": dtype, "shape": list(shape), "log_probs": flat(log_probs),
           "targets_shape": list(tg.shape), "targets": flat(tg), "targets_dtype": targets_dtype,
           "input_lengths": list(input_lengths), "target_lengths": list(target_lengths), "blank": blank,
           "reduction": REDUCTIONS[reduction], "zero_infinity": zero_infinity, "tensor_lengths": tensor_lengths,
           "loss_shape": list(loss.shape), "loss": flat(loss), "grad_output": flat(grad_output),
           "grad": flat(log_probs.grad), "grad_fn": type(loss.grad_fn).__name__}
    if batched:
        nll, log_alpha = torch._ctc_loss(log_probs.detach(), tg, input_lengths, target_lengths, blank, zero_infinity)
        out["nll"] = flat(nll)
        # log_alpha where PyTorch writes it; -inf (unwritten) elsewhere.
        defined = torch.full_like(log_alpha, float("-inf"))
        for n in range(N):
            defined[n, :input_lengths[n], :2 * target_lengths[n] + 1] = \
                log_alpha[n, :input_lengths[n], :2 * target_lengths[n] + 1]
        out["log_alpha_shape"] = list(log_alpha.shape)
        out["log_alpha"] = flat(defined)
    return out


def main():
    gen = torch.Generator().manual_seed(20261202)
    padded = [[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 1, 0]]
    concat = [1, 2, 2, 3, 4, 1, 3, 3, 1]
    lengths = dict(input_lengths=[7, 6, 5], target_lengths=[4, 2, 3])
    cases = []
    for r in ("mean", "sum", "none"):
        cases.append(case(gen, f"padded {r}", 7, 3, 5, padded, reduction=r, **lengths))
        cases.append(case(gen, f"concatenated {r}", 7, 3, 5, concat, reduction=r, **lengths))
    cases.append(case(gen, "int32 targets", 7, 3, 5, padded, targets_dtype="int32", **lengths))
    cases.append(case(gen, "int32 concatenated targets none", 7, 3, 5, concat, targets_dtype="int32",
                      reduction="none", **lengths))
    cases.append(case(gen, "blank last, empty target", 6, 2, 4, [[0, 1, 1], [2, 0, 0]], input_lengths=[6, 4],
                      target_lengths=[3, 0], blank=3, reduction="none"))
    cases.append(case(gen, "blank last, empty target mean", 6, 2, 4, [[0, 1, 1], [2, 0, 0]], input_lengths=[6, 4],
                      target_lengths=[3, 0], blank=3))
    # Batch element 1 cannot align: 3 labels with a repeat need 4 steps, it has 3.
    impossible = dict(input_lengths=[5, 3], target_lengths=[2, 3])
    for r in ("mean", "none", "sum"):
        cases.append(case(gen, f"zero_infinity {r}", 5, 2, 4, [[1, 2, 0], [2, 2, 3]], reduction=r,
                          zero_infinity=True, **impossible))
    cases.append(case(gen, "impossible without zero_infinity", 5, 2, 4, [[1, 2, 0], [2, 2, 3]], reduction="none",
                      **impossible))
    cases.append(case(gen, "unbatched none", 6, 1, 5, [1, 3, 3], input_lengths=[6], target_lengths=[3],
                      reduction="none", batched=False))
    cases.append(case(gen, "unbatched mean", 6, 1, 5, [1, 3, 3], input_lengths=[6], target_lengths=[3],
                      batched=False))
    cases.append(case(gen, "unbatched padded 2-D targets sum", 6, 1, 5, [[2, 4, 0, 0]], input_lengths=[5],
                      target_lengths=[2], reduction="sum", batched=False))
    cases.append(case(gen, "float32 mean", 7, 3, 5, padded, dtype="float32", **lengths))
    cases.append(case(gen, "tensor lengths mean", 7, 3, 5, padded, tensor_lengths=True, **lengths))
    cases.append(case(gen, "tensor lengths concatenated none", 7, 3, 5, concat, tensor_lengths=True,
                      reduction="none", **lengths))
    write_cases(OUT, "make_ctc_golden.py", cases)


if __name__ == "__main__":
    main()
