"""The workloads of the suite: one function per table row (or family of rows).

Each ``*_cases(cfg)`` function yields ``(name, build)`` where ``build()`` sets the row
up and returns its :class:`Case` (so ``--filter`` skips the setup of rows it leaves out).
Before returning, ``build`` checks that gradlite and PyTorch (and the numpy reference,
where there is one) compute the same thing from the same inputs and weights, and raises
:class:`Mismatch` if not: a fast wrong answer is not a result. ``cfg`` carries ``quick`` (tiny sizes for the CI smoke test) and
``torch`` (the module, or None when PyTorch is not installed).
"""
from dataclasses import dataclass, field

import numpy as np

import gradlite
import gradlite.nn.functional as F
from gradlite import models, optim
from gradlite._kernels import _reference as reference_kernels

from . import bench_kernels, micrograd_baseline
from .twins import forward_macs, torch_twin


class Mismatch(AssertionError):
    """gradlite and the library it is compared with computed different things."""


@dataclass
class Case:
    """One row of the table.

    ``fns`` maps a contender (``gradlite``, ``reference``, ``torch``) to a zero-argument
    callable doing the work once; ``items`` is how many units one call does (ops for
    ``us/op``, images for ``img/s``); ``flops`` the floating-point operations of one call,
    when defined. ``values`` replaces ``fns`` for rows that are measured, not timed (memory).
    """
    fns: dict = field(default_factory=dict)
    unit: str = "ms"
    items: int = 1
    flops: float = None
    repeats: int = None
    values: dict = None
    note: str = ""


def check_close(what, ours, theirs, rtol=1e-4, atol=1e-5):
    """Raise Mismatch unless ``ours`` and ``theirs`` (arrays or numbers) agree."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=rtol, atol=atol):
        worst = np.max(np.abs(ours - theirs)) if ours.shape == theirs.shape else "shape"
        raise Mismatch(f"{what}: gradlite and the comparison differ (max abs diff {worst})")


def _numpy(t):
    """The values of a gradlite or torch tensor as a numpy array."""
    return t.data if isinstance(t, gradlite.Tensor) else t.detach().numpy()


# ----------------------------------------------------------------------------- per-op
CHAIN_LENGTH = 100  # ops in the chain, the final sum included


def _chain(x, w, b, tanh):
    """``CHAIN_LENGTH - 1`` elementwise ops cycling multiply by w, add b, tanh; then sum."""
    steps = [lambda y: y * w, lambda y: y + b, tanh]
    y = x
    for i in range(CHAIN_LENGTH - 1):
        y = steps[i % 3](y)
    return y.sum()


def _numpy_chain(x, w, b):
    """The chain and its hand-written backward in plain numpy: the floor for a tensor op
    (one small numpy call forward, one or two backward). Returns (loss, dx, dw, db)."""
    steps, y = [], x
    for i in range(CHAIN_LENGTH - 1):
        steps.append(y)
        y = y * w if i % 3 == 0 else y + b if i % 3 == 1 else np.tanh(y)
    g, gw, gb = np.ones_like(y), np.zeros_like(w), np.zeros_like(b)
    for i in reversed(range(CHAIN_LENGTH - 1)):
        inp = steps[i]
        if i % 3 == 0:
            gw += g * inp
            g = g * w
        elif i % 3 == 1:
            gb += g
        else:
            t = np.tanh(inp)
            g = g * (1 - t * t)
    return y.sum(), g, gw, gb


def per_op_cases(cfg):
    yield "per-op overhead: 100-op chain fwd+bwd", lambda: per_op_case(cfg)


def per_op_case(cfg):
    """Per-op overhead: a chain of 100 tiny (8-element) ops, forward and backward, in
    microseconds per op. What it measures is the fixed cost of recording and replaying one
    node of the graph; the arithmetic on 8 numbers is negligible."""
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(8).astype(np.float32) for _ in range(3))
    ours = [gradlite.tensor(a, requires_grad=True) for a in (x, w, b)]

    def gradlite_run():
        for t in ours:
            t.grad = None
        loss = _chain(*ours, gradlite.Tensor.tanh)
        loss.backward()
        return loss

    fns = {"gradlite": gradlite_run, "reference": lambda: _numpy_chain(x, w, b)}
    loss = gradlite_run()
    expected = _numpy_chain(x, w, b)
    check_close("per-op chain loss", loss.item(), expected[0])
    for name, t, g in zip("xwb", ours, expected[1:]):
        check_close(f"per-op chain d/d{name}", t.grad.data, g)
    torch = cfg.torch
    if torch is not None:
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]

        def torch_run():
            for t in theirs:
                t.grad = None
            loss = _chain(*theirs, torch.Tensor.tanh)
            loss.backward()
            return loss
        check_close("per-op chain loss vs torch", torch_run().item(), loss.item())
        fns["torch"] = torch_run
    return Case(fns, unit="us/op", items=CHAIN_LENGTH)


# ----------------------------------------------------------------------------- scalar
def scalar_cases(cfg):
    points = 10 if cfg.quick else 100
    yield f"scalar engine: MLP 2-16-16-1, {points} points", lambda: scalar_case(cfg, fused=True)
    yield (f"scalar engine, binary ops only: MLP 2-16-16-1, {points} points",
           lambda: scalar_case(cfg, fused=False))


def fused_hinge_step(params, points, labels):
    """The same step written with gradlite.Value's n-ary ops: each neuron is one
    ``Value.dot`` node (bias included), and the loss is one ``Value.sum`` node."""
    losses = []
    for (x0, x1), label in zip(points, labels):
        x = [gradlite.Value(x0), gradlite.Value(x1)]
        for i, layer in enumerate(params):
            x = [gradlite.Value.dot(w, x, b) for w, b in layer]
            if i < len(params) - 1:
                x = [v.relu() for v in x]
        losses.append((1 + -label * x[0]).relu())
    total = gradlite.Value.sum(losses)
    total.backward()
    return total


def scalar_case(cfg, fused):
    """Scalar engine: the micrograd demo's step (2-16-16-1 ReLU MLP, summed hinge loss over
    100 points, forward + backward) with ``gradlite.Value`` against the plain closure engine
    of ``benchmarks/micrograd_baseline.py`` (the "reference" column). ``fused``: gradlite
    writes each neuron as one ``Value.dot`` node (its idiomatic form); otherwise it runs the
    very same binary-op code as the baseline. No PyTorch: it has no scalar engine."""
    mb = micrograd_baseline
    points, labels = mb.moons(10 if cfg.quick else 100)
    engines = {"gradlite": gradlite.Value, "reference": mb.Node}
    params = {name: mb.mlp_params(make) for name, make in engines.items()}
    steps = {"gradlite": (lambda p: fused_hinge_step(p, points, labels)) if fused else
             (lambda p: mb.hinge_step(p, points, labels, gradlite.Value)),
             "reference": lambda p: mb.hinge_step(p, points, labels, mb.Node)}
    losses = {name: steps[name](params[name]) for name in engines}
    check_close("scalar hinge loss", losses["gradlite"].data, losses["reference"].data, 1e-12)
    for ours, theirs in zip(_flat(params["gradlite"]), _flat(params["reference"])):
        check_close("scalar weight gradient", ours.grad, theirs.grad, 1e-9, 1e-12)
    fns = {name: (lambda step=steps[name], p=params[name]: step(p)) for name in engines}
    return Case(fns, repeats=7)


def _flat(params):
    return [v for layer in params for w, b in layer for v in (*w, b)]


# ----------------------------------------------------------------------------- conv, pool
def conv_pool_cases(cfg):
    """Conv2d and pooling, forward + backward of the differentiable ops (every input
    requires grad), on the shapes of the kernels issue (``bench_kernels.CONVS``); the
    reference column is the pure-numpy kernel spec (``_kernels/_reference.py``), timed at
    the kernel level (no autograd around it). FLOPs: forward 2 x MACs, backward 2 x that."""
    batch = 4 if cfg.quick else None
    for name, x_shape, w_shape, stride, padding, groups in (
            bench_kernels.CONVS[:1] if cfg.quick else bench_kernels.CONVS):
        x_shape = (batch or x_shape[0], *x_shape[1:])
        yield (name if batch is None else f"{name} (batch {batch})",
               _bind(conv_case, cfg, x_shape, w_shape, stride, padding, groups))
    pool_shape = (batch or bench_kernels.POOL_SHAPE[0], *bench_kernels.POOL_SHAPE[1:])
    for kind in ("max", "avg"):
        yield (f"{kind}_pool2d 2x2, {'x'.join(map(str, pool_shape))}",
               _bind(pool_case, cfg, kind, pool_shape))


def _bind(fn, *args):
    return lambda: fn(*args)


def conv_case(cfg, x_shape, w_shape, stride, padding, groups):
    torch, rng = cfg.torch, np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape, w_shape[:1]))

    def ours(x, w, b):
        return F.conv2d(x, w, b, stride, padding, 1, groups)

    def theirs(x, w, b):
        return torch.nn.functional.conv2d(x, w, b, stride, padding, 1, groups)
    y_shape, fns = _checked_op("conv2d", ours, theirs, (x, w, b), rng, torch)
    gy = rng.standard_normal(y_shape).astype(np.float32)
    fns["reference"] = bench_kernels.conv_kernel_fns(reference_kernels, x, w, b, gy,
                                                     stride, padding, groups)
    macs = int(np.prod(y_shape)) * w_shape[1] * w_shape[2] * w_shape[3]
    return Case(fns, flops=3 * 2 * macs)


def pool_case(cfg, kind, shape):
    torch, rng = cfg.torch, np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    op = getattr(F, f"{kind}_pool2d")
    top = None if torch is None else getattr(torch.nn.functional, f"{kind}_pool2d")
    y_shape, fns = _checked_op(f"{kind}_pool2d", lambda x: op(x, 2), lambda x: top(x, 2),
                               (x,), rng, torch)
    gy = rng.standard_normal(y_shape).astype(np.float32)
    kernel_fns = getattr(bench_kernels, f"{kind}_kernel_fns")
    fns["reference"] = kernel_fns(reference_kernels, x, gy)
    return Case(fns)


def _checked_op(name, ours, theirs, arrays, rng, torch):
    """Check op ``ours`` (gradlite) against ``theirs`` (torch) on ``arrays``: output and every
    input gradient for a random output gradient. Returns (output shape, timing callables
    from bench_kernels)."""
    y = ours(*(gradlite.tensor(a) for a in arrays))
    gy = rng.standard_normal(y.shape).astype(np.float32)
    fns = {"gradlite": bench_kernels.gradlite_fn(ours, arrays, gy)}
    if torch is not None:
        mine = [gradlite.tensor(a, requires_grad=True) for a in arrays]
        other = [torch.tensor(a, requires_grad=True) for a in arrays]
        y_ours, y_theirs = ours(*mine), theirs(*other)
        y_ours.backward(gradlite.tensor(gy))
        y_theirs.backward(torch.tensor(gy))
        check_close(f"{name} output", y_ours.data, _numpy(y_theirs), 1e-4, 1e-4)
        for i, (a, t) in enumerate(zip(mine, other)):
            check_close(f"{name} gradient of input {i}", a.grad.data, _numpy(t.grad), 1e-3, 1e-3)
        fns["torch"] = bench_kernels.torch_fn(theirs, arrays, gy)
    return y.shape, fns


# ----------------------------------------------------------------------------- models
MODEL_ROWS = [  # builder name in gradlite.models, label, batch sizes
    ("mlp", "MLP 784-512-512-10", (64,)),
    ("lenet", "LeNet-5", (64, 1, 256)),
    ("cnn", "MNIST example CNN", (64,)),
]


class ModelPair:
    """A gradlite model, its PyTorch twin with the same weights, an SGD-momentum optimizer
    for each, and one batch of 1x28x28 images with labels."""

    def __init__(self, builder, batch, torch, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
        self.y = rng.integers(0, 10, batch)
        gradlite.manual_seed(seed)
        self.model = models.MODELS[builder]()
        self.optimizer = optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.x_ours, self.y_ours = gradlite.tensor(self.x), gradlite.tensor(self.y)
        self.torch = torch
        if torch is not None:
            self.twin = torch_twin(self.model)
            self.twin_optimizer = torch.optim.SGD(self.twin.parameters(), lr=0.01, momentum=0.9)
            self.x_theirs, self.y_theirs = torch.from_numpy(self.x), torch.from_numpy(self.y)

    def train_step(self, x=None, y=None):
        """zero_grad, forward, cross-entropy, backward, SGD step; returns the loss."""
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(self.x_ours if x is None else x),
                               self.y_ours if y is None else y)
        loss.backward()
        self.optimizer.step()
        return loss

    def torch_train_step(self, x=None, y=None):
        self.twin_optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(
            self.twin(self.x_theirs if x is None else x), self.y_theirs if y is None else y)
        loss.backward()
        self.twin_optimizer.step()
        return loss

    def infer(self):
        with gradlite.no_grad():
            return self.model(self.x_ours)

    def torch_infer(self):
        with self.torch.no_grad():
            return self.twin(self.x_theirs)

    def check(self, label):
        """With dropout off: same logits, same loss, same gradients, same updated weights."""
        if self.torch is None:
            return
        self.model.eval(), self.twin.eval()
        check_close(f"{label} logits", self.infer().data, _numpy(self.torch_infer()), 1e-3, 1e-4)
        check_close(f"{label} loss", self.train_step().item(), self.torch_train_step().item())
        theirs = dict(self.twin.named_parameters())
        for name, p in self.model.named_parameters():
            check_close(f"{label} gradient of {name}", p.grad.data, _numpy(theirs[name].grad),
                        1e-3, 1e-5)
            check_close(f"{label} {name} after one SGD step", p.data, _numpy(theirs[name]),
                        1e-4, 1e-6)
        self.model.train(), self.twin.train()


def model_cases(cfg):
    """Models on a batch of 1x28x28 images: one training step (zero_grad, forward,
    cross-entropy, backward, SGD with momentum 0.9; dropout on, in training mode) and one
    inference batch (eval mode, no_grad). FLOPs: forward 2 x MACs of the conv and linear
    layers, training step 3 x that."""
    for builder, label, batches in MODEL_ROWS:
        for batch in batches[:1] if cfg.quick else batches:
            batch = min(batch, 8) if cfg.quick else batch
            yield f"{label} train step, batch {batch}", _bind(train_case, cfg, builder, label, batch)
            if batch == 64 or cfg.quick:
                yield f"{label} inference, batch {batch}", _bind(infer_case, cfg, builder, batch)


def train_case(cfg, builder, label, batch):
    pair = ModelPair(builder, batch, cfg.torch)
    pair.check(f"{label} batch {batch}")
    fns = {"gradlite": pair.train_step}
    if cfg.torch is not None:
        fns["torch"] = pair.torch_train_step
    return Case(fns, flops=6 * forward_macs(pair.model, pair.x))


def infer_case(cfg, builder, batch):
    pair = ModelPair(builder, batch, cfg.torch)
    pair.model.eval()
    fns = {"gradlite": pair.infer}
    if cfg.torch is not None:
        pair.twin.eval()
        fns["torch"] = pair.torch_infer
        check_close("inference logits", pair.infer().data, _numpy(pair.torch_infer()), 1e-3, 1e-4)
    return Case(fns, flops=2 * forward_macs(pair.model, pair.x))


# ----------------------------------------------------------------------------- end to end
def epoch_cases(cfg):
    yield (f"LeNet-5 epoch on MNISTSmall ({128 if cfg.quick else 10000} images)",
           lambda: epoch_case(cfg))


def epoch_case(cfg):
    """End to end: one epoch of LeNet-5 training on the bundled MNIST subset (10,000
    digits, batch 64, shuffled), data loading included, in images per second. PyTorch
    trains on the very same numpy batches from gradlite's DataLoader, converted with
    ``torch.from_numpy`` (no copy)."""
    from gradlite.data import DataLoader, Subset, transforms
    from gradlite.data.datasets import MNISTSmall
    dataset = MNISTSmall(train=True, transform=transforms.ToTensor())
    if cfg.quick:
        dataset = Subset(dataset, list(range(128)))
    pair = ModelPair("lenet", 64, cfg.torch)
    images, labels = dataset[np.arange(64)]
    pair.x, pair.y = images, labels
    pair.x_ours, pair.y_ours = gradlite.tensor(images), gradlite.tensor(labels)
    if cfg.torch is not None:
        pair.x_theirs, pair.y_theirs = cfg.torch.from_numpy(images), cfg.torch.from_numpy(labels)
    pair.check("LeNet-5 on MNISTSmall")
    loader = DataLoader(dataset, batch_size=64, shuffle=True, generator=0)

    def gradlite_epoch():
        for x, y in loader:
            pair.train_step(x, y)

    def torch_epoch():
        for x, y in loader:
            pair.torch_train_step(cfg.torch.from_numpy(x.data), cfg.torch.from_numpy(y.data))

    fns = {"gradlite": gradlite_epoch}
    if cfg.torch is not None:
        fns["torch"] = torch_epoch
    return Case(fns, unit="img/s", items=len(dataset), repeats=3)


# ----------------------------------------------------------------------------- memory
def memory_cases(cfg):
    """Peak resident memory of a process doing LeNet-5 training steps at batch 64 (each
    library in its own fresh subprocess, so the peaks don't mix): the total peak, and how
    much it grew from after setup (imports, model, batch) to the end of the steps."""
    yield "peak RSS, LeNet-5 train steps b64", lambda: memory_case(cfg, "peak_mb")
    yield "RSS growth during those steps", lambda: memory_case(cfg, "growth_mb")


_memory_results = {}


def memory_case(cfg, what):
    from .memory import measure_in_subprocesses
    if not _memory_results:
        libraries = ["gradlite"] + (["torch"] if cfg.torch is not None else [])
        results = measure_in_subprocesses(libraries, batch=64, steps=2 if cfg.quick else 20)
        for lib, r in results.items():
            _memory_results[lib] = dict(r, growth_mb=r["peak_mb"] - r["setup_mb"])
    return Case(unit="MB", values={lib: r[what] for lib, r in _memory_results.items()})


GROUPS = [("per-op", per_op_cases), ("scalar", scalar_cases), ("kernels", conv_pool_cases),
          ("models", model_cases), ("end-to-end", epoch_cases), ("memory", memory_cases)]
