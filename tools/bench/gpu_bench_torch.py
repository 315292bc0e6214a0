"""PyTorch's half of the GPU benchmark: the cases of tools/gpu_bench.cpp,
timed the same way (median of synchronised wall-clock runs after warm-ups),
printed in the same "name value unit" lines. Run by tools/gpu-check.sh."""
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

CHAIN = 1000


def time_it(warm, reps, fn):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - a)
    return statistics.median(ts)


def main():
    if not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device")
        return
    torch.backends.cuda.matmul.allow_tf32 = False  # dynagrad's float32 matmul is full precision
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    f32 = dict(dtype=torch.float32, device=dev)
    torch.manual_seed(0)

    x = torch.full((1,), 0.5, **f32, requires_grad=True)
    w = torch.full((1,), 1.0001, **f32)

    def chain():
        y = x
        for _ in range(CHAIN // 2):
            y = (y * w).sin()
        return y

    fwd = time_it(3, 15, chain)

    def chain_bwd():
        x.grad = None
        chain().backward()

    both = time_it(3, 15, chain_bwd)
    print(f"op_record_us {fwd / CHAIN * 1e6:.3f} us")
    print(f"op_backward_us {max(both - fwd, 0.0) / CHAIN * 1e6:.3f} us")

    n = 1 << 26
    a, b = torch.randn(n, **f32), torch.randn(n, **f32)
    t = time_it(3, 20, lambda: a + b)
    print(f"add_GBps {3 * 4 * n / t / 1e9:.1f} GB/s")
    del a, b

    for dtype, name in ((torch.float32, "matmul4096_TFLOPs"), (torch.bfloat16, "matmul4096_bf16_TFLOPs")):
        n = 4096
        a = torch.randn(n, n, dtype=dtype, device=dev, requires_grad=True)
        b = torch.randn(n, n, dtype=dtype, device=dev, requires_grad=True)
        g = torch.randn(n, n, dtype=dtype, device=dev)

        def mm():
            a.grad = None
            b.grad = None
            a.mm(b).backward(g)

        t = time_it(2, 10, mm)
        print(f"{name} {6 * n ** 3 / t / 1e12:.2f} TFLOP/s")
        del a, b, g

    def param(shape, fan_in):
        return (torch.randn(*shape, **f32) / math.sqrt(fan_in)).requires_grad_()

    def zeros(n):
        return torch.zeros(n, **f32, requires_grad=True)

    def targets(n, classes):
        return torch.tensor([(i * 7 + 3) % classes for i in range(n)], device=dev)

    def step(params, loss_fn):
        for p in params:
            p.grad = None
        loss_fn().backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=0.01)

    p = [param((4096, 1024), 1024), zeros(4096), param((4096, 4096), 4096), zeros(4096), param((10, 4096), 4096),
         zeros(10)]
    xm = torch.randn(512, 1024, **f32)
    tm = targets(512, 10)

    def mlp_loss():
        h = F.relu(F.linear(xm, p[0], p[1]))
        h = F.relu(F.linear(h, p[2], p[3]))
        return F.cross_entropy(F.linear(h, p[4], p[5]), tm)

    print(f"mlp_step_ms {time_it(3, 20, lambda: step(p, mlp_loss)) * 1e3:.3f} ms")

    q = [param((32, 3, 3, 3), 27), zeros(32), param((64, 32, 3, 3), 288), zeros(64), param((10, 64 * 8 * 8), 64 * 64),
         zeros(10)]
    xc = torch.randn(128, 3, 32, 32, **f32)
    tc = targets(128, 10)

    def cnn_loss():
        h = F.max_pool2d(F.relu(F.conv2d(xc, q[0], q[1], padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, q[2], q[3], padding=1)), 2)
        return F.cross_entropy(F.linear(h.flatten(1), q[4], q[5]), tc)

    print(f"cnn_step_ms {time_it(3, 20, lambda: step(q, cnn_loss)) * 1e3:.3f} ms")


if __name__ == "__main__":
    sys.exit(main())
