"""The rows of the suite: what each library runs, and the check that they agree.

A :class:`Row` names, for each contender, a function ``build(cfg)`` that sets the work up
and returns a zero-argument callable doing it once. The contenders ``gradlite`` and
``reference`` (plain numpy: no thread pool of its own) are timed in gradlite's processes,
``torch`` in PyTorch's; a builder imports only its own library, so a PyTorch process never
loads gradlite's threads, nor the other way round. ``row.check(torch)`` runs in a separate,
untimed process with both libraries and raises :class:`Mismatch` unless they compute the
same thing from the same inputs and weights: a fast wrong answer is not a result.

``cfg`` carries ``quick`` (tiny sizes, for the smoke test) and ``specs`` (the layer specs
of ``gradlite.models``, see ``twins.py``, so PyTorch builds the same networks).
"""
from dataclasses import dataclass, field

import numpy as np

from . import micrograd_baseline
from .twins import forward_macs, torch_model, torch_twin


class Mismatch(AssertionError):
    """gradlite and the library it is compared with computed different things."""


@dataclass
class Row:
    """One row of the table. ``unit``: ``ms``, ``us/op`` (time / ``items``) or ``img/s``;
    ``flops(cfg)``: the floating-point operations of one call, where defined (needs
    gradlite); ``repeats``: a cap on the timed calls, for slow rows."""
    name: str
    group: str
    build: dict
    check: object = None
    unit: str = "ms"
    items: int = 1
    flops: object = None
    repeats: int = None
    extra: dict = field(default_factory=dict)


def check_close(what, ours, theirs, rtol=1e-4, atol=1e-5):
    """Raise Mismatch unless ``ours`` and ``theirs`` (arrays or numbers) agree."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=rtol, atol=atol):
        worst = np.max(np.abs(ours - theirs)) if ours.shape == theirs.shape else "shape"
        raise Mismatch(f"{what}: gradlite and the comparison differ (max abs diff {worst})")


def _numpy(t):
    """The values of a gradlite or torch tensor as a numpy array."""
    return t.data if type(t).__module__.startswith("gradlite") else t.detach().numpy()


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


def _chain_inputs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(8).astype(np.float32) for _ in range(3)]


def _chain_step(make, tanh):
    """A callable running the chain forward and backward on fresh leaf tensors' grads."""
    leaves = [make(a, requires_grad=True) for a in _chain_inputs()]

    def run():
        for t in leaves:
            t.grad = None
        loss = _chain(*leaves, tanh)
        loss.backward()
        return loss, leaves
    return run


def _gradlite_chain(cfg):
    import gradlite
    return _chain_step(gradlite.tensor, gradlite.Tensor.tanh)


def _torch_chain(cfg):
    import torch
    return _chain_step(torch.tensor, torch.Tensor.tanh)


def _reference_chain(cfg):
    x, w, b = _chain_inputs()
    return lambda: _numpy_chain(x, w, b)


def _check_chain(cfg, torch):
    expected = _numpy_chain(*_chain_inputs())
    runs = [("", _gradlite_chain(cfg))] + ([] if torch is None else [(" (torch)", _torch_chain(cfg))])
    for label, run in runs:
        loss, leaves = run()
        check_close("per-op chain loss" + label, loss.item(), expected[0])
        for name, t, g in zip("xwb", leaves, expected[1:]):
            check_close(f"per-op chain d/d{name}{label}", _numpy(t.grad), g)


def per_op_rows(cfg):
    """Per-op overhead: a chain of 100 tiny (8-element) ops, forward and backward, in
    microseconds per op: the fixed cost of recording and replaying one node of the graph."""
    yield Row("per-op overhead: 100-op chain fwd+bwd", "per-op",
              {"gradlite": _gradlite_chain, "reference": _reference_chain, "torch": _torch_chain},
              _check_chain, unit="us/op", items=CHAIN_LENGTH)


# ----------------------------------------------------------------------------- scalar
def fused_hinge_step(params, points, labels):
    """The micrograd demo's step written with gradlite.Value's n-ary ops: each neuron is
    one ``Value.dot`` node (bias included), and the loss is one ``Value.sum`` node."""
    import gradlite
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


def _scalar_step(cfg, engine, fused):
    """A callable: the micrograd demo's step (2-16-16-1 ReLU MLP, summed hinge loss,
    forward + backward) on ``engine`` (``"gradlite"`` or ``"reference"``); returns
    (loss, parameters) for the check."""
    mb = micrograd_baseline
    points, labels = mb.moons(10 if cfg.quick else 100)
    if engine == "reference":
        params = mb.mlp_params(mb.Node)
        return lambda: (mb.hinge_step(params, points, labels, mb.Node), params)
    import gradlite
    params = mb.mlp_params(gradlite.Value)
    if fused:
        return lambda: (fused_hinge_step(params, points, labels), params)
    return lambda: (mb.hinge_step(params, points, labels, gradlite.Value), params)


def _check_scalar(fused):
    def check(cfg, torch):
        (ours, our_params), (theirs, their_params) = (
            _scalar_step(cfg, engine, fused)() for engine in ("gradlite", "reference"))
        check_close("scalar hinge loss", ours.data, theirs.data, 1e-12)
        flat = [[v for layer in p for w, b in layer for v in (*w, b)]
                for p in (our_params, their_params)]
        for a, b in zip(*flat):
            check_close("scalar weight gradient", a.grad, b.grad, 1e-9, 1e-12)
    return check


def scalar_rows(cfg):
    """Scalar engine: the micrograd demo's step with ``gradlite.Value`` against the plain
    closure engine of ``micrograd_baseline.py`` (the reference column). ``fused``: each
    neuron is one ``Value.dot`` node; otherwise the very same binary-op code as the
    baseline. No PyTorch: it has no scalar engine."""
    points = 10 if cfg.quick else 100
    for fused, label in ((True, ""), (False, ", binary ops only")):
        yield Row(f"scalar engine{label}: MLP 2-16-16-1, {points} points", "scalar",
                  {"gradlite": lambda cfg, f=fused: _scalar_step(cfg, "gradlite", f),
                   "reference": lambda cfg, f=fused: _scalar_step(cfg, "reference", f)},
                  _check_scalar(fused), repeats=7)


# ----------------------------------------------------------------------------- conv, pool
# name, x shape, weight shape, stride, padding, groups (all conv: batch 64)
CONVS = [
    ("conv 1->6 5x5 pad 2, 28x28", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1),
    ("conv 6->16 5x5, 14x14", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1),
    ("conv 32->64 3x3, 26x26", (64, 32, 26, 26), (64, 32, 3, 3), 1, 0, 1),
    ("conv 3->16 3x3 stride 2 pad 1, 32x32", (64, 3, 32, 32), (16, 3, 3, 3), 2, 1, 1),
    ("conv depthwise 32 3x3 pad 1, 26x26", (64, 32, 26, 26), (32, 1, 3, 3), 1, 1, 32),
]
POOL_SHAPE = (64, 32, 24, 24)


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _autograd_step(make, op, arrays, grad_shape):
    """A callable: forward ``op`` on leaf tensors made by ``make`` (gradlite's or torch's
    ``tensor``), then backward with a fixed output gradient, fresh gradients each call."""
    leaves = [make(a, requires_grad=True) for a in arrays]
    grad = make(_arrays([grad_shape], seed=1)[0])

    def run():
        for t in leaves:
            t.grad = None
        op(*leaves).backward(grad)
        return leaves
    return run


class _Op:
    """One conv or pooling row: the op in gradlite, PyTorch and the reference kernels."""

    def __init__(self, kind, x_shape, w_shape=None, stride=1, padding=0, groups=1):
        self.kind, self.stride, self.padding, self.groups = kind, stride, padding, groups
        shapes = [x_shape] if w_shape is None else [x_shape, w_shape, w_shape[:1]]
        self.shapes = shapes
        n, _, h, w = x_shape
        if kind == "conv2d":
            kh, kw = w_shape[2:]
            size = [(d + 2 * padding - k) // stride + 1 for d, k in ((h, kh), (w, kw))]
            self.y_shape = (n, w_shape[0], *size)
        else:
            self.y_shape = (n, x_shape[1], h // 2, w // 2)

    def call(self, functional):
        if self.kind == "conv2d":
            return lambda x, w, b: functional.conv2d(x, w, b, self.stride, self.padding, 1,
                                                     self.groups)
        return lambda x: getattr(functional, self.kind)(x, 2)

    def gradlite(self, cfg):
        import gradlite
        import gradlite.nn.functional as F
        return _autograd_step(gradlite.tensor, self.call(F), _arrays(self.shapes), self.y_shape)

    def torch(self, cfg):
        import torch
        return _autograd_step(torch.tensor, self.call(torch.nn.functional), _arrays(self.shapes),
                              self.y_shape)

    def reference(self, cfg):
        """The pure-numpy kernel spec (``gradlite._kernels._reference``), forward and
        backward at the kernel level (no autograd around it)."""
        from gradlite._kernels import _reference as R
        arrays, gy = _arrays(self.shapes), _arrays([self.y_shape], seed=1)[0]
        pair, x = (lambda v: (v, v)), arrays[0]
        if self.kind == "conv2d":
            args = (pair(self.stride), pair(self.padding), (1, 1), self.groups)
            return lambda: (R.conv2d_forward(*arrays, *args), R.conv2d_backward(x, arrays[1], gy, *args))
        if self.kind == "max_pool2d":
            def run():
                _, arg = R.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
                return R.max_pool2d_backward(gy, arg, x.shape)
            return run
        return lambda: (R.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0)),
                        R.avg_pool2d_backward(gy, x.shape, (2, 2), (2, 2), (0, 0)))

    def check(self, cfg, torch):
        if torch is None:
            return
        ours, theirs = self.gradlite(cfg)(), self.torch(cfg)()
        for i, (a, t) in enumerate(zip(ours, theirs)):
            expected = _numpy(t.grad)  # sums of up to ~40,000 float32 terms: round-off
            check_close(f"{self.row_name}: gradient of input {i}", a.grad.data, expected, 1e-3,
                        1e-5 * max(1.0, float(np.abs(expected).max())))
        import gradlite
        import gradlite.nn.functional as F
        arrays = _arrays(self.shapes)
        y_ours = self.call(F)(*map(gradlite.tensor, arrays))
        y_theirs = self.call(torch.nn.functional)(*map(torch.tensor, arrays))
        check_close(f"{self.row_name}: output", y_ours.data, _numpy(y_theirs), 1e-4, 1e-4)

    def row(self, name):
        self.row_name = name
        macs = (int(np.prod(self.y_shape)) * int(np.prod(self.shapes[1][1:]))
                if self.kind == "conv2d" else None)
        return Row(name, "kernels", {"gradlite": self.gradlite, "reference": self.reference,
                                     "torch": self.torch}, self.check,
                   flops=None if macs is None else (lambda cfg: 3 * 2 * macs))


def conv_pool_rows(cfg):
    """Conv2d and pooling, forward + backward of the differentiable op (every input
    requires grad). FLOPs of a conv: forward 2 x MACs, backward 2 x that."""
    batch = 4 if cfg.quick else None
    for name, x_shape, w_shape, stride, padding, groups in CONVS[:1] if cfg.quick else CONVS:
        x_shape = (batch or x_shape[0], *x_shape[1:])
        label = name if batch is None else f"{name} (batch {batch})"
        yield _Op("conv2d", x_shape, w_shape, stride, padding, groups).row(label)
    pool_shape = (batch or POOL_SHAPE[0], *POOL_SHAPE[1:])
    for kind in ("max_pool2d", "avg_pool2d"):
        yield _Op(kind, pool_shape).row(f"{kind} 2x2, {'x'.join(map(str, pool_shape))}")


# ----------------------------------------------------------------------------- models
MODEL_ROWS = [  # builder name in gradlite.models, label, training batch sizes
    ("mlp", "MLP 784-512-512-10", (64,)),
    ("lenet", "LeNet-5", (64, 1, 256)),
    ("cnn", "MNIST example CNN", (64,)),
]


def model_specs():
    """The layer specs of every model of the suite (needs gradlite: the driver's job)."""
    from gradlite import models
    from .twins import layer_specs
    return {builder: layer_specs(models.MODELS[builder]()) for builder, _, _ in MODEL_ROWS}


def _batch(batch):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),
            rng.integers(0, 10, batch))


def gradlite_model(builder, seed=0):
    """The gradlite model and its SGD optimizer (lr 0.01, momentum 0.9)."""
    import gradlite
    from gradlite import models, optim
    gradlite.manual_seed(seed)
    model = models.MODELS[builder]()
    return model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def torch_optimizer(model):
    import torch
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def gradlite_step(model, optimizer):
    """One training step: zero_grad, forward, cross-entropy, backward, SGD; returns the loss."""
    import gradlite.nn.functional as F

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def torch_step(model, optimizer):
    import torch

    def step(x, y):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _gradlite_train(builder, batch):
    def build(cfg):
        import gradlite
        model, optimizer = gradlite_model(builder)
        x, y = map(gradlite.tensor, _batch(batch))
        step = gradlite_step(model, optimizer)
        return lambda: step(x, y)
    return build


def _torch_train(builder, batch):
    def build(cfg):
        import torch
        torch.manual_seed(0)
        model = torch_model(cfg.specs[builder])
        x, y = map(torch.from_numpy, _batch(batch))
        step = torch_step(model, torch_optimizer(model))
        return lambda: step(x, y)
    return build


def _gradlite_infer(builder, batch):
    def build(cfg):
        import gradlite
        model, _ = gradlite_model(builder)
        model.eval()
        x = gradlite.tensor(_batch(batch)[0])

        def run():
            with gradlite.no_grad():
                return model(x)
        return run
    return build


def _torch_infer(builder, batch):
    def build(cfg):
        import torch
        torch.manual_seed(0)
        model = torch_model(cfg.specs[builder]).eval()
        x = torch.from_numpy(_batch(batch)[0])

        def run():
            with torch.no_grad():
                return model(x)
        return run
    return build


def _check_model(builder, batch):
    """Same structure as the PyTorch processes build, and (dropout off) the same logits,
    loss, gradients and weights after one SGD step from the same weights."""
    def check(cfg, torch):
        if torch is None:
            return
        import gradlite
        label = f"{builder} batch {batch}"
        model, optimizer = gradlite_model(builder)
        twin = torch_twin(model)
        if str(twin) != str(torch_model(cfg.specs[builder])):
            raise Mismatch(f"{label}: the PyTorch processes build a different network")
        model.eval(), twin.eval()
        x, y = _batch(batch)
        with gradlite.no_grad():
            logits = model(gradlite.tensor(x))
        check_close(f"{label} logits", logits.data, _numpy(twin(torch.from_numpy(x))), 1e-3, 1e-4)
        ours = gradlite_step(model, optimizer)(gradlite.tensor(x), gradlite.tensor(y))
        theirs = torch_step(twin, torch_optimizer(twin))(torch.from_numpy(x), torch.from_numpy(y))
        check_close(f"{label} loss", ours.item(), theirs.item())
        twin_parameters = dict(twin.named_parameters())
        for name, p in model.named_parameters():
            check_close(f"{label} gradient of {name}", p.grad.data,
                        _numpy(twin_parameters[name].grad), 1e-3, 1e-5)
            check_close(f"{label} {name} after one SGD step", p.data,
                        _numpy(twin_parameters[name]), 1e-4, 1e-6)
    return check


def _model_flops(builder, batch, factor):
    def flops(cfg):
        model, _ = gradlite_model(builder)
        return factor * 2 * forward_macs(model, _batch(batch)[0])
    return flops


def model_rows(cfg):
    """Models on a batch of 1x28x28 images: one training step (zero_grad, forward,
    cross-entropy, backward, SGD with momentum 0.9; dropout on) and one inference batch
    (eval mode, no_grad). FLOPs: forward 2 x MACs of the conv and linear layers, a
    training step 3 x that."""
    for builder, label, batches in MODEL_ROWS:
        for batch in batches[:1] if cfg.quick else batches:
            batch = min(batch, 8) if cfg.quick else batch
            yield Row(f"{label} train step, batch {batch}", "models",
                      {"gradlite": _gradlite_train(builder, batch),
                       "torch": _torch_train(builder, batch)},
                      _check_model(builder, batch), flops=_model_flops(builder, batch, 3))
            if batch == 64 or cfg.quick:
                yield Row(f"{label} inference, batch {batch}", "models",
                          {"gradlite": _gradlite_infer(builder, batch),
                           "torch": _torch_infer(builder, batch)},
                          flops=_model_flops(builder, batch, 1))


# ----------------------------------------------------------------------------- optimizer
ADAM_PARAMETERS, ADAM_SIZE = 200, 100  # parameter tensors, elements each


def _adam_arrays(cfg):
    """The parameters' starting values and their gradients (set once, kept every step)."""
    rng = np.random.default_rng(0)
    count = 10 if cfg.quick else ADAM_PARAMETERS
    return [[rng.standard_normal(ADAM_SIZE).astype(np.float32) for _ in range(count)]
            for _ in range(2)]


def _gradlite_adam(cfg):
    import gradlite
    from gradlite import nn, optim
    values, grads = _adam_arrays(cfg)
    params = [nn.Parameter(gradlite.tensor(v)) for v in values]
    for p, g in zip(params, grads):
        p.grad = gradlite.tensor(g)
    optimizer = optim.Adam(params, lr=1e-3)
    return lambda: (optimizer.step(), params)[1]


def _torch_adam(cfg):
    import torch
    values, grads = _adam_arrays(cfg)
    params = [torch.nn.Parameter(torch.from_numpy(v)) for v in values]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    optimizer = torch.optim.Adam(params, lr=1e-3)
    return lambda: (optimizer.step(), params)[1]


def _check_adam(cfg, torch):
    """The same parameters after each of three steps (a step moves them by ~1e-3)."""
    if torch is None:
        return
    ours, theirs = _gradlite_adam(cfg), _torch_adam(cfg)
    for step in range(3):
        for i, (a, b) in enumerate(zip(ours(), theirs())):
            check_close(f"Adam step {step + 1}, parameter {i}", a.data, _numpy(b), 1e-6, 1e-7)


def optimizer_rows(cfg):
    """One Adam step (PyTorch's defaults, lr 1e-3) over many small parameter tensors: the
    optimizer's cost per parameter, not its arithmetic."""
    count = 10 if cfg.quick else ADAM_PARAMETERS
    yield Row(f"Adam step over {count} parameter tensors of {ADAM_SIZE} elements", "optimizer",
              {"gradlite": _gradlite_adam, "torch": _torch_adam}, _check_adam)


GROUPS = [per_op_rows, optimizer_rows, scalar_rows, conv_pool_rows, model_rows]


def lenet_step_name(cfg):
    """The row the robustness runs repeat: LeNet-5's training step at batch 64 (8 quick)."""
    return f"LeNet-5 train step, batch {8 if cfg.quick else 64}"


def all_rows(cfg):
    return [row for group in GROUPS for row in group(cfg)]
