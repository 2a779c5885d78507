"""Conv and pooling forward+backward: gradlite vs the numpy reference vs PyTorch.

    python -m benchmarks.bench_kernels [--repeats 15] [--level kernel|tensor|both]
                                       [--dtype float32] [--no-reference]

``kernel`` times the numpy-level kernels of ``gradlite._kernels`` (compiled) and
``gradlite._kernels._reference``; ``tensor`` times the differentiable ops
(``gradlite.nn._conv``: Tensor in, ``.backward()``). PyTorch, when installed, runs
with 2 threads, every input requiring grad. All contenders of one row are timed
interleaved in one process; the table shows medians in ms and their ratios.
The load average is printed with the table: other busy processes hurt every
multi-threaded contender (each parallel region waits for its slowest thread),
numpy's OpenBLAS worst of all (measured on a busy 2-core machine: three small
GEMMs took 140 ms with its default 2 threads, 3 ms with one). On a busy machine
compare with ``OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_kernels``.
"""
import argparse
import os

import numpy as np

from benchmarks._timing import interleaved, markdown_table, medians
from gradlite import _kernels as K
from gradlite._kernels import _reference as R

try:
    import torch
    import torch.nn.functional as TF
    torch.set_num_threads(2)
except ImportError:  # the benchmark runs without PyTorch, it just has one column less
    torch = None

# name, x shape, weight shape, stride, padding, groups (all conv: batch 64)
CONVS = [
    ("conv 1->6 5x5 pad 2, 28x28", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1),
    ("conv 6->16 5x5, 14x14", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1),
    ("conv 32->64 3x3, 26x26", (64, 32, 26, 26), (64, 32, 3, 3), 1, 0, 1),
    ("conv 3->16 3x3 stride 2 pad 1, 32x32", (64, 3, 32, 32), (16, 3, 3, 3), 2, 1, 1),
    ("conv depthwise 32 3x3 pad 1, 26x26", (64, 32, 26, 26), (32, 1, 3, 3), 1, 1, 32),
]
POOL_SHAPE = (64, 32, 24, 24)


def _pair(v):
    return (v, v)


def conv_kernel_fns(kernels, x, w, b, gy, stride, padding, groups):
    args = (_pair(stride), _pair(padding), (1, 1), groups)

    def run():
        kernels.conv2d_forward(x, w, b, *args)
        kernels.conv2d_backward(x, w, gy, *args)
    return run


def max_kernel_fns(kernels, x, gy):
    def run():
        _, arg = kernels.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        kernels.max_pool2d_backward(gy, arg, x.shape)
    return run


def avg_kernel_fns(kernels, x, gy):
    def run():
        kernels.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        kernels.avg_pool2d_backward(gy, x.shape, (2, 2), (2, 2), (0, 0))
    return run


def autograd_fn(make_tensor, op, arrays, gy):
    """A timed callable: forward ``op`` on leaf tensors made by ``make_tensor`` (gradlite's
    or torch's), then backward with ``gy``, fresh gradients each call."""
    tensors = [make_tensor(a, requires_grad=True) for a in arrays]
    grad = make_tensor(gy)

    def run():
        for t in tensors:
            t.grad = None
        op(*tensors).backward(grad)
    return run


def torch_fn(op, arrays, gy):
    return autograd_fn(torch.tensor, op, arrays, gy)


def gradlite_fn(op, arrays, gy):
    import gradlite
    return autograd_fn(gradlite.Tensor, op, arrays, gy)


def cases(dtype, level, reference):
    """Yield (name, {contender: callable})."""
    from gradlite.nn._conv import avg_pool2d, conv2d, max_pool2d
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, s, p, g in CONVS:
        x, w, b = (rng.standard_normal(shape).astype(dtype)
                   for shape in (x_shape, w_shape, w_shape[:1]))
        gy = rng.standard_normal(K.conv2d_forward(x, w, b, _pair(s), _pair(p), (1, 1), g).shape)
        gy = gy.astype(dtype)
        fns = {}
        if level == "kernel":
            fns["gradlite"] = conv_kernel_fns(K, x, w, b, gy, s, p, g)
            if reference:
                fns["reference"] = conv_kernel_fns(R, x, w, b, gy, s, p, g)
        else:
            fns["gradlite"] = gradlite_fn(lambda x, w, b: conv2d(x, w, b, s, p, 1, g), (x, w, b), gy)
        if torch is not None:
            fns["torch"] = torch_fn(lambda x, w, b: TF.conv2d(x, w, b, s, p, 1, g), (x, w, b), gy)
        yield name, fns
    x = rng.standard_normal(POOL_SHAPE).astype(dtype)
    gy = rng.standard_normal((*POOL_SHAPE[:2], 12, 12)).astype(dtype)
    for name, kernel_fn, ours, theirs in [
            ("max_pool2d 2x2, 64x32x24x24", max_kernel_fns, max_pool2d,
             None if torch is None else TF.max_pool2d),
            ("avg_pool2d 2x2, 64x32x24x24", avg_kernel_fns, avg_pool2d,
             None if torch is None else TF.avg_pool2d)]:
        fns = {}
        if level == "kernel":
            fns["gradlite"] = kernel_fn(K, x, gy)
            if reference:
                fns["reference"] = kernel_fn(R, x, gy)
        else:
            fns["gradlite"] = gradlite_fn(lambda x: ours(x, 2), (x,), gy)
        if torch is not None:
            fns["torch"] = torch_fn(lambda x: theirs(x, 2), (x,), gy)
        yield name, fns


def run(level, dtype, repeats, reference):
    header = ["forward+backward", "gradlite ms"]
    header += ["reference ms", "reference/gradlite"] if level == "kernel" and reference else []
    header += ["torch ms", "gradlite/torch"] if torch is not None else []
    rows = []
    for name, fns in cases(dtype, level, reference):
        med = {k: 1e3 * v for k, v in medians(interleaved(fns, repeats=repeats)).items()}
        row = [name, f"{med['gradlite']:.2f}"]
        if "reference" in med:
            row += [f"{med['reference']:.1f}", f"{med['reference'] / med['gradlite']:.1f}x"]
        if "torch" in med:
            row += [f"{med['torch']:.2f}", f"{med['gradlite'] / med['torch']:.2f}"]
        rows.append(row)
        print(" | ".join(row), flush=True)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"\n{level} level, {np.dtype(dtype).name}, median of {repeats}, "
          f"compiled kernels: {K.COMPILED}, OPENBLAS_NUM_THREADS={blas}, "
          f"load average {load} on {os.cpu_count()} cores\n")
    print(markdown_table(header, rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--level", choices=["kernel", "tensor", "both"], default="both")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--no-reference", action="store_true", help="skip the slow numpy reference")
    args = parser.parse_args(argv)
    for level in (["kernel", "tensor"] if args.level == "both" else [args.level]):
        run(level, np.dtype(args.dtype).type, args.repeats, not args.no_reference)


if __name__ == "__main__":
    main()
