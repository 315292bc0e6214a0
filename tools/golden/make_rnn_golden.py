#!/usr/bin/env python3
"""Golden values of dg::nn's recurrent and attention layers, from a real PyTorch.

    /usr/bin/python3 tools/golden/make_rnn_golden.py   # needs Debian's python3-torch

Each case builds a torch.nn module (RNN, LSTM, GRU, the cells,
MultiheadAttention, TransformerEncoderLayer/Encoder) with seeded weights, calls
it on seeded inputs (initial states and masks among them), then runs backward
of sum_i (outputs[i] * grad_outs[i]).sum() and writes the parameters, inputs,
every output, and the gradients of every parameter and floating input to
tests/golden/nn_rnn_golden.json. tests/test_nn_rnn.cpp builds the same dg::nn
module, loads the parameters by name, calls it the same way and compares.

Inputs are sequence-first unless the case says batch_first, and batched: the
layout LibTorch 1.13's C++ frontend takes. The attention cases run in eval
mode (dropout off).
"""
import json
import os
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    sys.exit("make_rnn_golden.py: needs PyTorch: apt-get install python3-torch (run with /usr/bin/python3)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "nn_rnn_golden.json")
torch.set_default_dtype(torch.float64)


def number(v):
    """JSON has no infinities: they are written as the strings "inf" and "-inf" (masks hold -inf)."""
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return v


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
            "data": [number(v) for v in t.reshape(-1).tolist()]}


def randn(*shape):
    return torch.randn(*shape)


CASES = []


def case(name, make, inputs, call, train=True):
    """call(module, inputs) -> list of output tensors (None for an absent one)."""
    CASES.append((name, make, inputs, call, train))


def seq(m, xs):
    """RNN/GRU: (output, h_n) from input and an optional h_0."""
    out, h = m(xs[0], xs[1] if len(xs) > 1 else None)
    return [out, h]


def lstm(m, xs):
    out, (h, c) = m(xs[0], (xs[1], xs[2]) if len(xs) > 1 else None)
    return [out, h, c]


def cell(m, xs):
    return [m(xs[0], xs[1] if len(xs) > 1 else None)]


def lstm_cell(m, xs):
    h, c = m(xs[0], (xs[1], xs[2]) if len(xs) > 1 else None)
    return [h, c]


# ---- RNN, LSTM, GRU: seq 5, batch 2, input 3, hidden 4 -----------------------------------
case("rnn_tanh_2layers_h0", lambda: nn.RNN(3, 4, num_layers=2),
     lambda: [randn(5, 2, 3), randn(2, 2, 4)], seq)
case("rnn_relu_bidir_batch_first", lambda: nn.RNN(3, 4, nonlinearity="relu", bidirectional=True, batch_first=True),
     lambda: [randn(2, 5, 3)], seq)
case("rnn_tanh_nobias", lambda: nn.RNN(3, 4, bias=False), lambda: [randn(4, 3, 3)], seq)
case("lstm_2layers_bidir_h0", lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
     lambda: [randn(5, 2, 3), randn(4, 2, 4), randn(4, 2, 4)], lstm)
case("lstm_batch_first_nobias", lambda: nn.LSTM(3, 4, batch_first=True, bias=False), lambda: [randn(2, 5, 3)], lstm)
case("lstm_proj_2layers", lambda: nn.LSTM(3, 4, num_layers=2, proj_size=2),
     lambda: [randn(5, 2, 3), randn(2, 2, 2), randn(2, 2, 4)], lstm)
case("lstm_proj_bidir", lambda: nn.LSTM(3, 5, proj_size=3, bidirectional=True, batch_first=True),
     lambda: [randn(2, 4, 3)], lstm)
case("gru_2layers_bidir_h0", lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True),
     lambda: [randn(5, 2, 3), randn(4, 2, 4)], seq)
case("gru_batch_first", lambda: nn.GRU(3, 4, batch_first=True), lambda: [randn(3, 6, 3)], seq)
case("gru_3layers_nobias", lambda: nn.GRU(2, 3, num_layers=3, bias=False), lambda: [randn(4, 2, 2)], seq)

# ---- cells ------------------------------------------------------------------------------
case("rnn_cell_tanh", lambda: nn.RNNCell(3, 4), lambda: [randn(2, 3), randn(2, 4)], cell)
case("rnn_cell_relu_nobias", lambda: nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), lambda: [randn(3, 3)], cell)
case("lstm_cell", lambda: nn.LSTMCell(3, 4), lambda: [randn(2, 3), randn(2, 4), randn(2, 4)], lstm_cell)
case("lstm_cell_nostate", lambda: nn.LSTMCell(3, 4), lambda: [randn(2, 3)], lstm_cell)
case("gru_cell", lambda: nn.GRUCell(3, 4), lambda: [randn(2, 3), randn(2, 4)], cell)
case("gru_cell_nobias_nostate", lambda: nn.GRUCell(3, 4, bias=False), lambda: [randn(3, 3)], cell)


# ---- attention (eval: dropout off) ------------------------------------------------------------
def mha(need_weights=True, average=True):
    def call(m, xs):
        q, k, v = xs[0], xs[1], xs[2]
        padding = xs[3] if len(xs) > 3 else None
        mask = xs[4] if len(xs) > 4 else None
        out, w = m(q, k, v, key_padding_mask=padding, need_weights=need_weights, attn_mask=mask,
                   average_attn_weights=average)
        return [out, w]
    return call


def padding_mask():
    return torch.tensor([[False, False, False, True], [False, True, False, False]])


def float_mask():
    return torch.triu(torch.full((3, 4), float("-inf")), diagonal=2) + 0.1 * randn(3, 4)


case("mha_self", lambda: nn.MultiheadAttention(8, 2), lambda: [randn(4, 2, 8)] * 3, mha(), train=False)
case("mha_masks", lambda: nn.MultiheadAttention(8, 2),
     lambda: [randn(3, 2, 8), randn(4, 2, 8), randn(4, 2, 8), padding_mask(), float_mask()], mha(), train=False)
case("mha_per_head_weights", lambda: nn.MultiheadAttention(6, 3),
     lambda: [randn(3, 2, 6), randn(4, 2, 6), randn(4, 2, 6), padding_mask()], mha(average=False), train=False)
case("mha_kdim_vdim_nobias", lambda: nn.MultiheadAttention(8, 4, bias=False, kdim=5, vdim=3),
     lambda: [randn(3, 2, 8), randn(4, 2, 5), randn(4, 2, 3)], mha(need_weights=False), train=False)
case("mha_bias_kv_zero_attn", lambda: nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True),
     lambda: [randn(3, 2, 4), randn(4, 2, 4), randn(4, 2, 4), padding_mask(), float_mask()], mha(), train=False)


def encoder_call(m, xs):
    src = xs[0]
    mask = xs[1] if len(xs) > 1 else None
    padding = xs[2] if len(xs) > 2 else None
    return [m(src, mask, src_key_padding_mask=padding)]


def square_mask():
    return torch.triu(torch.full((4, 4), float("-inf")), diagonal=1)


case("encoder_layer", lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16),
     lambda: [randn(4, 2, 8), square_mask(), padding_mask()], encoder_call, train=False)
case("encoder_layer_gelu", lambda: nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, activation="gelu"),
     lambda: [randn(4, 3, 8)], encoder_call, train=False)
case("encoder_2layers_norm",
     lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), 2,
                                   norm=nn.LayerNorm(8), enable_nested_tensor=False),
     lambda: [randn(4, 2, 8), square_mask(), padding_mask()], encoder_call, train=False)


def main():
    torch.manual_seed(20261202)
    out = {}
    for name, make, inputs, call, train in CASES:
        m = make()
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn_like(p) * 0.5)
        m.train(train)
        xs = inputs()
        self_attention = len(xs) == 3 and xs[0] is xs[1] is xs[2]
        if self_attention:  # one tensor as query, key and value
            xs = xs[:1]
        # Sequences and states learn; masks (2-D floats beside 3-D sequences) do not.
        is_cell = "cell" in name
        for x in xs:
            if x.is_floating_point() and (x.dim() == 3 or is_cell):
                x.requires_grad_(True)
        ys = call(m, xs * 3 if self_attention else xs)
        grad_outs = [torch.randn_like(y) if y is not None else None for y in ys]
        loss = sum((y * g).sum() for y, g in zip(ys, grad_outs) if y is not None)
        loss.backward()
        out[name] = {
            "train": train,
            "inputs": [enc(x) for x in xs],
            "input_requires_grad": [bool(x.requires_grad) for x in xs],
            "params": {k: enc(v) for k, v in m.named_parameters()},
            "outputs": [enc(y) if y is not None else None for y in ys],
            "grad_outs": [enc(g) if g is not None else None for g in grad_outs],
            "param_grads": {k: enc(v.grad) for k, v in m.named_parameters()},
            "input_grads": [enc(x.grad) if x.grad is not None else None for x in xs],
        }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)
    print(f"make_rnn_golden.py: {len(out)} cases -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
