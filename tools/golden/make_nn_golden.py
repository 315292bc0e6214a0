#!/usr/bin/env python3
"""Golden values of dg::nn modules and functionals, from a real PyTorch.

    /usr/bin/python3 tools/golden/make_nn_golden.py   # needs Debian's python3-torch

Each case builds a torch.nn module (or calls a torch.nn.functional function)
with seeded weights and inputs, runs forward, then backward of
(output * grad_out).sum(), and writes the parameters, inputs, output, buffers
after the call and every gradient to tests/golden/nn_golden.json.
tests/test_nn_golden.cpp builds the same dg::nn module, loads the same
parameters by name, and compares.
"""
import json
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("make_nn_golden.py: needs PyTorch: apt-get install python3-torch (run with /usr/bin/python3)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "nn_golden.json")
torch.set_default_dtype(torch.float64)


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "data": t.reshape(-1).tolist()}


def randn(*shape):
    return torch.randn(*shape)


CASES = []


def case(name, make, inputs, train=True, input_grad=True, setup=None):
    CASES.append((name, make, inputs, train, input_grad, setup))


def fn_module(f):
    """A functional as a parameterless module."""
    class M(nn.Module):
        def forward(self, *xs):
            return f(*xs)
    return M()


# ---- layers -------------------------------------------------------------------
case("linear", lambda: nn.Linear(4, 3), lambda: [randn(2, 4)])
case("linear_nobias", lambda: nn.Linear(4, 3, bias=False), lambda: [randn(5, 4)])
case("bilinear", lambda: nn.Bilinear(3, 4, 2), lambda: [randn(2, 3), randn(2, 4)])
case("conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), lambda: [randn(2, 2, 5, 5)])
case("conv2d_groups", lambda: nn.Conv2d(4, 4, (3, 2), stride=2, padding=(1, 0), groups=2, bias=False),
     lambda: [randn(1, 4, 6, 5)])
case("conv2d_same", lambda: nn.Conv2d(2, 2, 4, padding="same"), lambda: [randn(1, 2, 5, 6)])
case("conv2d_reflect", lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), lambda: [randn(1, 2, 4, 5)])
case("conv2d_circular", lambda: nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), lambda: [randn(1, 1, 4, 4)])
case("conv1d", lambda: nn.Conv1d(3, 2, 3, padding=2, dilation=2), lambda: [randn(2, 3, 7)])
case("conv3d", lambda: nn.Conv3d(2, 2, 2, stride=1), lambda: [randn(1, 2, 3, 3, 3)])
case("conv_transpose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
     lambda: [randn(1, 3, 3, 4)])
case("conv_transpose1d", lambda: nn.ConvTranspose1d(2, 4, 3, stride=2, groups=2), lambda: [randn(2, 2, 5)])
case("batchnorm2d_train", lambda: nn.BatchNorm2d(3), lambda: [randn(4, 3, 2, 2)])
case("batchnorm1d_eval", lambda: nn.BatchNorm1d(3), lambda: [randn(5, 3)], train=False,
     setup=lambda m: (m.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3])),
                      m.running_var.copy_(torch.tensor([1.5, 0.5, 2.0]))))
case("batchnorm1d_cumulative", lambda: nn.BatchNorm1d(2, momentum=None), lambda: [randn(6, 2, 3)])
case("layernorm", lambda: nn.LayerNorm([4]), lambda: [randn(3, 4)])
case("layernorm_2d", lambda: nn.LayerNorm([2, 3], eps=1e-3), lambda: [randn(2, 2, 3)])
case("groupnorm", lambda: nn.GroupNorm(2, 4), lambda: [randn(2, 4, 3)])
case("instancenorm2d", lambda: nn.InstanceNorm2d(2, affine=True, track_running_stats=True),
     lambda: [randn(2, 2, 3, 3)])
case("maxpool2d", lambda: nn.MaxPool2d(2), lambda: [randn(1, 2, 4, 5)])
case("maxpool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1), lambda: [randn(2, 2, 7)])
case("avgpool2d", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), lambda: [randn(1, 2, 5, 5)])
case("adaptive_avgpool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: [randn(1, 2, 5, 7)])
case("adaptive_maxpool2d", lambda: nn.AdaptiveMaxPool2d(2), lambda: [randn(1, 2, 5, 4)])
case("flatten", lambda: nn.Flatten(), lambda: [randn(2, 3, 2)])
case("unflatten", lambda: nn.Unflatten(1, (2, 3)), lambda: [randn(2, 6)])
case("embedding", lambda: nn.Embedding(10, 3, padding_idx=0),
     lambda: [torch.tensor([[0, 2, 4], [4, 9, 0]])], input_grad=False)
case("prelu", lambda: nn.PReLU(3, init=0.1), lambda: [randn(2, 3, 4)])
case("sequential", lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Tanh()),
     lambda: [randn(5, 3)])
# ---- activations ------------------------------------------------------------------
for name, make in [("relu", lambda: nn.ReLU()), ("relu6", lambda: nn.ReLU6()), ("selu", lambda: nn.SELU()),
                   ("leaky_relu", lambda: nn.LeakyReLU(0.2)), ("elu", lambda: nn.ELU(0.7)),
                   ("celu", lambda: nn.CELU(1.3)), ("gelu_tanh", lambda: nn.GELU(approximate="tanh")),
                   ("gelu", lambda: nn.GELU()), ("glu", lambda: nn.GLU(1)), ("silu", lambda: nn.SiLU()),
                   ("mish", lambda: nn.Mish()), ("sigmoid", lambda: nn.Sigmoid()), ("tanh", lambda: nn.Tanh()),
                   ("hardtanh", lambda: nn.Hardtanh(-0.5, 0.7)), ("softplus", lambda: nn.Softplus(2.0, 1.0)),
                   ("softshrink", lambda: nn.Softshrink(0.3)), ("hardshrink", lambda: nn.Hardshrink(0.3)),
                   ("threshold", lambda: nn.Threshold(0.1, -2.0)), ("logsigmoid", lambda: nn.LogSigmoid()),
                   ("softsign", lambda: nn.Softsign()), ("tanhshrink", lambda: nn.Tanhshrink()),
                   ("hardswish", lambda: nn.Hardswish()), ("hardsigmoid", lambda: nn.Hardsigmoid()),
                   ("softmax", lambda: nn.Softmax(1)), ("log_softmax", lambda: nn.LogSoftmax(0)),
                   ("softmin", lambda: nn.Softmin(1))]:
    case(name, make, lambda: [randn(3, 4)])
# ---- losses ----------------------------------------------------------------------------
cls_target = lambda: torch.tensor([1, 0, 3, 1])
case("cross_entropy", lambda: nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.5]), label_smoothing=0.1),
     lambda: [randn(4, 4), cls_target()])
case("cross_entropy_ignore_sum", lambda: nn.CrossEntropyLoss(ignore_index=0, reduction="sum"),
     lambda: [randn(4, 4), cls_target()])
case("nll", lambda: nn.NLLLoss(), lambda: [torch.log_softmax(randn(4, 4), 1), cls_target()])
case("bce", lambda: nn.BCELoss(weight=torch.tensor([0.5, 2.0, 1.0])),
     lambda: [torch.rand(2, 3) * 0.9 + 0.05, torch.rand(2, 3)])
case("bce_logits", lambda: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 3.0, 0.5])),
     lambda: [randn(2, 3), torch.rand(2, 3)])
case("mse_sum", lambda: nn.MSELoss(reduction="sum"), lambda: [randn(3, 2), randn(3, 2)])
case("l1", lambda: nn.L1Loss(), lambda: [randn(3, 2), randn(3, 2)])
case("smooth_l1", lambda: nn.SmoothL1Loss(beta=0.5), lambda: [randn(3, 2), randn(3, 2)])
case("huber_none", lambda: nn.HuberLoss(reduction="none", delta=0.4), lambda: [randn(3, 2), randn(3, 2)])
case("kl_div_batchmean", lambda: nn.KLDivLoss(reduction="batchmean"),
     lambda: [torch.log_softmax(randn(3, 4), 1), torch.softmax(randn(3, 4), 1)])
case("margin_ranking", lambda: nn.MarginRankingLoss(margin=0.2),
     lambda: [randn(5), randn(5), torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])])
case("triplet", lambda: nn.TripletMarginLoss(margin=0.5), lambda: [randn(3, 4), randn(3, 4), randn(3, 4)])
case("ctc", lambda: nn.CTCLoss(blank=0, zero_infinity=True), lambda: [
    torch.log_softmax(randn(6, 2, 4), 2), torch.tensor([[1, 2, 2], [3, 1, 0]]), torch.tensor([6, 5]),
    torch.tensor([3, 2])])
case("multi_margin", lambda: nn.MultiMarginLoss(p=2, margin=0.7, weight=torch.tensor([1.0, 0.5, 2.0, 1.5])),
     lambda: [randn(3, 4), torch.tensor([2, 0, 3])])
case("multilabel_margin", lambda: nn.MultiLabelMarginLoss(),
     lambda: [randn(3, 4), torch.tensor([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 1, 2, 0]])])
case("triplet_distance", lambda: nn.TripletMarginWithDistanceLoss(
    distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.3, swap=True),
     lambda: [randn(3, 4), randn(3, 4), randn(3, 4)])
# ---- functionals ---------------------------------------------------------------------------
case("F_pad_reflect", lambda: fn_module(lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect")),
     lambda: [randn(1, 2, 3, 4)])
case("F_pad_replicate", lambda: fn_module(lambda x: F.pad(x, (1, 2), mode="replicate")), lambda: [randn(2, 2, 3)])
case("F_pad_circular", lambda: fn_module(lambda x: F.pad(x, (1, 2, 2, 0), mode="circular")),
     lambda: [randn(1, 1, 3, 4)])
case("F_interpolate_bilinear", lambda: fn_module(
    lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True)), lambda: [randn(1, 2, 3, 4)])
case("F_interpolate_nearest_scale", lambda: fn_module(
    lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest")), lambda: [randn(1, 2, 3, 4)])
case("F_normalize", lambda: fn_module(lambda x: F.normalize(x, p=1.5, dim=0)), lambda: [randn(3, 4)])
case("F_local_response_norm", lambda: fn_module(lambda x: F.local_response_norm(x, 3)), lambda: [randn(2, 5, 3, 3)])
case("F_cosine_similarity", lambda: fn_module(lambda a, b: F.cosine_similarity(a, b, dim=1)),
     lambda: [randn(3, 4), randn(3, 4)])


def main():
    torch.manual_seed(20261202)
    out = {}
    for name, make, inputs, train, input_grad, setup in CASES:
        m = make()
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn_like(p))
            if setup:
                setup(m)
        m.train(train)
        xs = inputs()
        xs = [x.requires_grad_(input_grad) if x.is_floating_point() else x for x in xs]
        params = {k: enc(v) for k, v in m.named_parameters()}
        buffers_before = {k: enc(v) for k, v in m.named_buffers()}
        y = m(*xs)
        grad_out = torch.randn_like(y)
        (y * grad_out).sum().backward()
        out[name] = {
            "train": train,
            "inputs": [enc(x) for x in xs],
            "params": params,
            "buffers_before": buffers_before,
            "output": enc(y),
            "grad_out": enc(grad_out),
            "buffers": {k: enc(v) for k, v in m.named_buffers()},
            "param_grads": {k: enc(v.grad) for k, v in m.named_parameters()},
            "input_grads": [enc(x.grad) if x.grad is not None else None for x in xs],
        }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"make_nn_golden.py: {len(out)} cases -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
