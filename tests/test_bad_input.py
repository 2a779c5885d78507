"""Bad input to the public API: every failure is a one-line TypeError, ValueError,
RuntimeError or IndexError whose message names the function and the argument.

Two parts, both written once against a namespace ``L`` that is either gradlite or
PyTorch, so each call runs unchanged in both libraries:

- ``CASES``: hand-written bad calls, each with the exception gradlite raises and the
  words its message must contain;
- ``SWEEP``: valid calls with one argument slot; every value of ``BAD_VALUES`` goes into
  every slot. The result must be an allowed exception naming the function, or a
  success (some bad values are fine in some slots; PyTorch says which ones it refuses).

PyTorch, where installed, is the oracle for the exception type: gradlite raises the
same type, or ValueError where PyTorch's C++ core reports a bad argument value as
RuntimeError. ``python tests/fuzz_summary.py`` prints the counts.
"""
import math
import types

import pytest
from hypothesis import given, strategies as st

ALLOWED = (TypeError, ValueError, RuntimeError, IndexError)


def namespace(lib):
    """The names the cases use, from gradlite or from torch."""
    if lib == "gradlite":
        import gradlite as m
        from gradlite import data, nn, optim
        return types.SimpleNamespace(lib=m, nn=nn, F=nn.functional, optim=optim, data=data,
                                     DataLoader=data.DataLoader, int64=m.int64,
                                     float64=m.float64, name="gradlite")
    torch = pytest.importorskip("torch")
    from torch.utils import data
    return types.SimpleNamespace(lib=torch, nn=torch.nn, F=torch.nn.functional,
                                 optim=torch.optim, data=data, DataLoader=data.DataLoader,
                                 int64=torch.int64,
                                 float64=torch.float64, name="torch")


def param(L, *shape):
    return L.lib.zeros(*shape, requires_grad=True)


def hook_backward(L, hook):
    x = param(L, 2)
    x.register_hook(hook)
    (x * 2).sum().backward()


def run(fn, L):
    """Call ``fn(L)``; the exception it raised, or None."""
    try:
        fn(L)
    except Exception as error:  # noqa: BLE001  (classifying every outcome is the point)
        return error
    return None


# ----------------------------------------------------------------------------- the table
# (id, call, exception gradlite raises, words its message contains, PyTorch's verdict):
# True when PyTorch raises the same kind of exception (see same_kind), False when it
# accepts the call (gradlite refuses NaN/inf hyperparameters and other silent mistakes
# on purpose), or the exception type PyTorch raises where it differs.
CASES = [
    # creation
    ("zeros-negative", lambda L: L.lib.zeros(-1), ValueError, ["zeros", "size", "-1"], True),
    ("ones-float", lambda L: L.lib.ones(2.5), TypeError, ["ones", "size", "float"], True),
    ("ones-bool", lambda L: L.lib.ones(True), TypeError, ["ones", "size", "bool"], True),
    ("ones-None", lambda L: L.lib.ones(None), TypeError, ["ones", "size", "NoneType"], True),
    ("ones-str", lambda L: L.lib.ones("a"), TypeError, ["ones", "size", "str"], True),
    ("ones-overflow", lambda L: L.lib.ones(2 ** 63), ValueError, ["ones", "size"], TypeError),
    ("empty-tuple-float", lambda L: L.lib.empty((2, 1.5)), TypeError, ["empty", "size"], True),
    ("rand-float", lambda L: L.lib.rand(1.5), TypeError, ["rand", "size"], True),
    ("randn-negative", lambda L: L.lib.randn(-2), ValueError, ["randn", "size", "-2"], True),
    ("full-float-size", lambda L: L.lib.full((2.5,), 1.0), TypeError, ["full", "size"], True),
    ("full-int-size", lambda L: L.lib.full(2.5, 1.0), TypeError, ["full", "size"], True),
    ("full-fill_value-str", lambda L: L.lib.full((2,), "a"), TypeError, ["full", "fill_value"],
     True),
    ("tensor-ragged", lambda L: L.lib.tensor([[1, 2], [3]]), ValueError,
     ["tensor", "data", "length 2 at dim 1 (got 1)"], True),
    ("tensor-str", lambda L: L.lib.tensor("abc"), TypeError, ["tensor", "data", "str"], True),
    ("tensor-None", lambda L: L.lib.tensor(None), TypeError, ["tensor", "data", "NoneType"],
     RuntimeError),
    ("arange-step-0", lambda L: L.lib.arange(0, 5, 0), ValueError, ["arange", "step"], True),
    ("arange-nan", lambda L: L.lib.arange(float("nan")), ValueError, ["arange", "end"], True),
    ("arange-inf", lambda L: L.lib.arange(float("inf")), ValueError, ["arange", "end"], True),
    ("arange-wrong-sign", lambda L: L.lib.arange(0, 5, -1), ValueError, ["arange", "step"],
     True),
    ("linspace-negative", lambda L: L.lib.linspace(0, 1, -1), ValueError,
     ["linspace", "steps"], True),
    ("linspace-float", lambda L: L.lib.linspace(0, 1, 2.5), TypeError, ["linspace", "steps"],
     True),
    ("eye-negative", lambda L: L.lib.eye(-1), ValueError, ["eye", "n", "-1"], True),
    ("eye-float", lambda L: L.lib.eye(2.5), TypeError, ["eye", "n", "float"], True),
    ("randint-empty-range", lambda L: L.lib.randint(5, 2, (3,)), ValueError,
     ["randint", "low", "high"], True),
    ("zeros_like-int", lambda L: L.lib.zeros_like(3), TypeError, ["zeros_like", "input"], True),
    ("full_like-list", lambda L: L.lib.full_like([1, 2], 0.0), TypeError,
     ["full_like", "input"], True),
    # Tensor methods
    ("chunk-0", lambda L: L.lib.zeros(4).chunk(0), ValueError, ["chunk", "chunks", "0"], True),
    ("chunk-negative", lambda L: L.lib.zeros(4).chunk(-1), ValueError, ["chunk", "chunks"],
     True),
    ("split-0", lambda L: L.lib.zeros(4).split(0), ValueError, ["split", "split_size"], True),
    ("split-float", lambda L: L.lib.zeros(4).split(1.5), TypeError, ["split", "split_size"],
     True),
    ("split-sections", lambda L: L.lib.zeros(4).split([1, 2]), ValueError,
     ["split", "sum to 3", "4"], True),
    ("reshape-numel", lambda L: L.lib.zeros(4).reshape(3), ValueError,
     ["reshape", "shape", "(3,)", "4"], True),
    ("reshape-two-minus-one", lambda L: L.lib.zeros(4).reshape(-1, -1), ValueError,
     ["reshape", "-1"], True),
    ("reshape-float", lambda L: L.lib.zeros(4).reshape(2.5), TypeError, ["reshape", "shape"],
     True),
    ("view-negative", lambda L: L.lib.zeros(4).view(-2, -2), ValueError, ["view", "shape"],
     True),
    ("permute-duplicate", lambda L: L.lib.zeros(2, 3).permute(0, 0), ValueError,
     ["permute", "dim (0, 0)"], True),
    ("permute-short", lambda L: L.lib.zeros(2, 3).permute(0), ValueError, ["permute", "dims"],
     True),
    ("transpose-range", lambda L: L.lib.zeros(2, 3).transpose(0, 5), IndexError,
     ["transpose", "dim", "5"], True),
    ("sum-dim-range", lambda L: L.lib.zeros(2, 3).sum(5), IndexError, ["sum", "dim 5"], True),
    ("sum-dim-float", lambda L: L.lib.zeros(2, 3).sum(1.5), TypeError, ["sum", "dim"], True),
    ("sum-dim-repeated", lambda L: L.lib.zeros(2, 3).sum((1, 1)), ValueError,
     ["sum", "dim (1, 1)", "multiple"], True),
    ("mean-dim-str", lambda L: L.lib.zeros(2, 3).mean("a"), TypeError, ["mean", "dim"], True),
    ("var-dim-range", lambda L: L.lib.zeros(2).var(5), IndexError, ["var", "dim 5"], True),
    ("max-dim-range", lambda L: L.lib.zeros(2).max(5), IndexError, ["max", "dim 5"], True),
    ("max-empty", lambda L: L.lib.zeros(0).max(), ValueError, ["max", "empty"], True),
    ("softmax-dim-range", lambda L: L.lib.zeros(2, 3).softmax(3), IndexError,
     ["softmax", "dim 3"], True),
    ("unsqueeze-range", lambda L: L.lib.zeros(2).unsqueeze(5), IndexError, ["unsqueeze", "dim"],
     True),
    ("squeeze-range", lambda L: L.lib.zeros(2).squeeze(5), IndexError, ["squeeze", "dim"], True),
    ("expand-size", lambda L: L.lib.zeros(2, 3).expand(4, 3), ValueError,
     ["expand", "(2, 3)", "(4, 3)"], True),
    ("expand-fewer", lambda L: L.lib.zeros(2, 3).expand(3), ValueError,
     ["expand", "(2, 3)"], True),
    ("matmul-shapes", lambda L: L.lib.zeros(2, 3) @ L.lib.zeros(2, 3), ValueError,
     ["matmul", "(2, 3)"], True),
    ("matmul-0d", lambda L: L.lib.zeros(()) @ L.lib.zeros(3), ValueError,
     ["matmul", "1-d", "()"], True),
    ("index-out-of-range", lambda L: L.lib.zeros(3)[5], IndexError, ["index", "5", "size 3"],
     True),
    ("index-float", lambda L: L.lib.zeros(3)[1.5], IndexError, ["index", "1.5"], True),
    ("index-too-many", lambda L: L.lib.zeros(3)[0, 0], IndexError, ["index", "too many"], True),
    ("to-unknown-dtype", lambda L: L.lib.zeros(3).to("float99"), TypeError,
     ["to", "float99"], RuntimeError),
    ("clamp-str", lambda L: L.lib.zeros(3).clamp("a"), TypeError, ["clamp", "min", "str"], True),
    ("register_hook-int", lambda L: hook_backward(L, lambda g: 3), TypeError,
     ["hook", "int"], True),
    ("register_hook-shape", lambda L: hook_backward(L, lambda g: L.lib.zeros(3)), RuntimeError,
     ["hook", "shape"], True),
    ("register_hook-not-callable", lambda L: param(L, 2).register_hook(3), TypeError,
     ["register_hook", "hook", "int"], False),
    # nn layers
    ("Linear-negative", lambda L: L.nn.Linear(-1, 3), ValueError,
     ["Linear", "in_features", "-1"], True),
    ("Linear-float", lambda L: L.nn.Linear(2.5, 3), TypeError, ["Linear", "in_features"], True),
    ("Conv2d-groups-0", lambda L: L.nn.Conv2d(2, 4, 3, groups=0), ValueError,
     ["Conv2d", "groups"], True),
    ("Conv2d-groups-divide", lambda L: L.nn.Conv2d(3, 4, 3, groups=2), ValueError,
     ["Conv2d", "groups"], True),
    ("Conv2d-kernel-float", lambda L: L.nn.Conv2d(2, 4, 2.5), TypeError,
     ["Conv2d", "kernel_size"], True),
    ("Conv2d-negative-channels", lambda L: L.nn.Conv2d(-2, 4, 3), ValueError,
     ["Conv2d", "in_channels"], True),
    ("MaxPool2d-kernel-0", lambda L: L.nn.MaxPool2d(0)(L.lib.zeros(1, 1, 4, 4)), ValueError,
     ["max_pool2d", "kernel_size"], True),
    ("Dropout-p", lambda L: L.nn.Dropout(1.5), ValueError, ["Dropout", "p", "1.5"], True),
    ("Dropout-p-nan", lambda L: L.nn.Dropout(math.nan), ValueError, ["Dropout", "p"], False),
    ("BatchNorm2d-negative", lambda L: L.nn.BatchNorm2d(-1), ValueError,
     ["BatchNorm2d", "num_features"], True),
    ("BatchNorm2d-eps-negative", lambda L: L.nn.BatchNorm2d(2, eps=-1.0), ValueError,
     ["BatchNorm2d", "eps"], False),
    # nn.functional
    ("conv2d-groups-0", lambda L: L.F.conv2d(L.lib.zeros(1, 2, 4, 4), L.lib.zeros(2, 2, 3, 3),
                                            groups=0), ValueError, ["conv2d", "groups"], True),
    ("conv2d-weight-3d", lambda L: L.F.conv2d(L.lib.zeros(1, 2, 4, 4), L.lib.zeros(2, 2, 3)),
     ValueError, ["conv2d", "weight", "(2, 2, 3)"], True),
    ("conv2d-stride-0", lambda L: L.F.conv2d(L.lib.zeros(1, 2, 4, 4), L.lib.zeros(2, 2, 3, 3),
                                            stride=0), ValueError, ["conv2d", "stride"], True),
    ("max_pool2d-padding", lambda L: L.F.max_pool2d(L.lib.zeros(1, 1, 4, 4), 2, padding=2),
     ValueError, ["max_pool2d", "padding"], True),
    ("avg_pool2d-stride-0", lambda L: L.F.avg_pool2d(L.lib.zeros(1, 1, 4, 4), 2, stride=0),
     ValueError, ["avg_pool2d", "stride"], True),
    ("linear-shapes", lambda L: L.F.linear(L.lib.zeros(2, 3), L.lib.zeros(4, 5)), ValueError,
     ["linear", "(2, 3)", "(4, 5)"], True),
    ("dropout-p", lambda L: L.F.dropout(L.lib.zeros(3), 2.0), ValueError, ["dropout", "p"], True),
    ("cross_entropy-float-target", lambda L: L.F.cross_entropy(L.lib.zeros(2, 3), L.lib.zeros(2)),
     TypeError, ["cross_entropy", "target"], RuntimeError),
    ("cross_entropy-target-shape", lambda L: L.F.cross_entropy(
        L.lib.zeros(2, 3), L.lib.zeros(3, dtype=L.int64)), ValueError,
     ["cross_entropy", "target", "(3,)", "(2, 3)"], True),
    ("cross_entropy-target-range", lambda L: L.F.cross_entropy(
        L.lib.zeros(2, 3), L.lib.tensor([0, 7])), IndexError, ["cross_entropy", "target", "7"],
     True),
    ("nll_loss-float-target", lambda L: L.F.nll_loss(L.lib.zeros(2, 3), L.lib.zeros(2)),
     TypeError, ["nll_loss", "target"], RuntimeError),
    ("mse_loss-shapes", lambda L: L.F.mse_loss(L.lib.zeros(2, 3), L.lib.zeros(3, 2)),
     ValueError, ["mse_loss", "(3, 2)", "(2, 3)"], True),
    # optim
    ("SGD-lr-negative", lambda L: L.optim.SGD([param(L, 2)], lr=-1), ValueError,
     ["SGD", "learning rate", "-1"], True),
    ("SGD-lr-nan", lambda L: L.optim.SGD([param(L, 2)], lr=math.nan), ValueError,
     ["SGD", "learning rate", "nan"], False),
    ("SGD-lr-str", lambda L: L.optim.SGD([param(L, 2)], lr="a"), TypeError,
     ["SGD", "lr", "str"], True),
    ("SGD-momentum-negative", lambda L: L.optim.SGD([param(L, 2)], lr=0.1, momentum=-1),
     ValueError, ["SGD", "momentum", "-1"], True),
    ("SGD-empty", lambda L: L.optim.SGD([], lr=0.1), ValueError, ["SGD", "empty"], True),
    ("SGD-not-tensors", lambda L: L.optim.SGD([1, 2], lr=0.1), TypeError,
     ["SGD", "Tensors", "int"], True),
    ("Adam-beta", lambda L: L.optim.Adam([param(L, 2)], betas=(1.5, 0.9)), ValueError,
     ["Adam", "beta", "1.5"], True),
    ("Adam-betas-length", lambda L: L.optim.Adam([param(L, 2)], betas=(0.5,)), ValueError,
     ["Adam", "betas"], IndexError),
    ("Adam-weight_decay", lambda L: L.optim.Adam([param(L, 2)], weight_decay=-1), ValueError,
     ["Adam", "weight_decay", "-1"], True),
    ("Adam-eps-inf", lambda L: L.optim.Adam([param(L, 2)], eps=math.inf), ValueError,
     ["Adam", "eps"], False),
    ("StepLR-step_size-0", lambda L: L.optim.lr_scheduler.StepLR(
        L.optim.SGD([param(L, 2)], lr=0.1), 0), ValueError, ["StepLR", "step_size"], False),
    ("StepLR-not-optimizer", lambda L: L.optim.lr_scheduler.StepLR(3, 1), TypeError,
     ["StepLR", "Optimizer", "int"], True),
    ("ExponentialLR-gamma-str", lambda L: L.optim.lr_scheduler.ExponentialLR(
        L.optim.SGD([param(L, 2)], lr=0.1), "a"), TypeError, ["ExponentialLR", "gamma"], False),
    # data
    ("DataLoader-batch_size-0", lambda L: L.DataLoader([1, 2], batch_size=0), ValueError,
     ["DataLoader", "batch_size", "0"], True),
    ("DataLoader-batch_size-float", lambda L: L.DataLoader([1, 2], batch_size=1.5), ValueError,
     ["DataLoader", "batch_size", "1.5"], True),
    # load_state_dict: PyTorch's messages
    ("load_state_dict-missing", lambda L: L.nn.Linear(2, 3).load_state_dict({}), RuntimeError,
     ["Error(s) in loading state_dict for Linear", 'Missing key(s) in state_dict: "weight", '
      '"bias"'], True),
    ("load_state_dict-unexpected", lambda L: L.nn.Linear(2, 3).load_state_dict(
        {**L.nn.Linear(2, 3).state_dict(), "extra": L.lib.zeros(1)}), RuntimeError,
     ['Unexpected key(s) in state_dict: "extra"'], True),
    ("load_state_dict-shape", lambda L: L.nn.Linear(2, 3).load_state_dict(
        {"weight": L.lib.zeros(3, 3), "bias": L.lib.zeros(3)}), RuntimeError,
     ["size mismatch for weight: copying a param with shape", "(3, 3)", "(3, 2)"], True),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_call_names_the_op(case):
    name, fn, expected, words, _ = case
    error = run(fn, namespace("gradlite"))
    assert type(error) is expected, f"{name}: {type(error).__name__}: {error}"
    message = str(error)
    assert "\n" not in message or name.startswith("load_state_dict"), message
    for word in words:
        assert word in message, f"{name}: {word!r} not in {message!r}"


def same_kind(ours, theirs):
    """gradlite's exception type against PyTorch's: the same, or ValueError for
    PyTorch's RuntimeError (a bad value caught in C++)."""
    return ours is theirs or (ours, theirs) == (ValueError, RuntimeError)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_torch_agrees(case):
    name, fn, expected, _, verdict = case
    theirs = run(fn, namespace("torch"))
    if verdict is False:
        assert theirs is None, f"{name}: PyTorch now rejects it: {theirs!r}"
    elif verdict is True:
        assert theirs is not None, f"{name}: PyTorch accepts it"
        assert same_kind(expected, type(theirs)), f"{name}: PyTorch raises {theirs!r}"
    else:
        assert type(theirs) is verdict, f"{name}: PyTorch raises {theirs!r}"


# ----------------------------------------------------------------------------- the sweep
def X(L):
    return L.lib.zeros(2, 3)


def IMG(L):
    return L.lib.zeros(1, 2, 5, 5)


def SGD(L):
    return L.optim.SGD([param(L, 2)], lr=0.1)


def hook_returning(L, value):
    hook_backward(L, lambda g: value)


#: Values that are wrong in most argument slots (some are fine in some: PyTorch decides).
BAD_VALUES = [-1, -3, 0, 2.5, True, None, "a", math.nan, math.inf, -math.inf, 2 ** 63,
              [], [[1, 2], [3]], (2, -1), (1.5, 2), object()]

#: (the function name its errors must give, a call with one argument slot ``v``)
SWEEP = [
    ("zeros", lambda L, v: L.lib.zeros(v)),
    ("zeros", lambda L, v: L.lib.zeros(2, v)),
    ("ones", lambda L, v: L.lib.ones((v, 2))),
    ("ones", lambda L, v: L.lib.ones(2, dtype=v)),
    ("empty", lambda L, v: L.lib.empty(v)),
    ("rand", lambda L, v: L.lib.rand(v)),
    ("randn", lambda L, v: L.lib.randn(2, v)),
    ("full", lambda L, v: L.lib.full((v,), 1.0)),
    ("arange", lambda L, v: L.lib.arange(v)),
    ("arange", lambda L, v: L.lib.arange(0, 4, v)),
    ("linspace", lambda L, v: L.lib.linspace(0, 1, v)),
    ("eye", lambda L, v: L.lib.eye(v)),
    ("eye", lambda L, v: L.lib.eye(2, v)),
    ("randint", lambda L, v: L.lib.randint(0, v, (2,))),
    ("randint", lambda L, v: L.lib.randint(0, 5, (v,))),
    ("tensor", lambda L, v: L.lib.tensor(v)),
    ("zeros_like", lambda L, v: L.lib.zeros_like(v)),
    ("ones_like", lambda L, v: L.lib.ones_like(X(L), dtype=v)),
    ("reshape", lambda L, v: X(L).reshape(v)),
    ("reshape", lambda L, v: X(L).reshape(3, v)),
    ("view", lambda L, v: X(L).view(v, 2)),
    ("permute", lambda L, v: X(L).permute(1, v)),
    ("transpose", lambda L, v: X(L).transpose(0, v)),
    ("squeeze", lambda L, v: X(L).squeeze(v)),
    ("unsqueeze", lambda L, v: X(L).unsqueeze(v)),
    ("expand", lambda L, v: L.lib.ones(1, 3).expand(v, 3)),
    ("split", lambda L, v: X(L).split(v)),
    ("split", lambda L, v: X(L).split(1, v)),
    ("chunk", lambda L, v: X(L).chunk(v)),
    ("chunk", lambda L, v: X(L).chunk(2, v)),
    ("sum", lambda L, v: X(L).sum(v)),
    ("mean", lambda L, v: X(L).mean(v)),
    ("var", lambda L, v: X(L).var(v)),
    ("std", lambda L, v: X(L).std(v)),
    ("max", lambda L, v: X(L).max(v)),
    ("min", lambda L, v: X(L).min(v)),
    ("argmax", lambda L, v: X(L).argmax(v)),
    ("softmax", lambda L, v: X(L).softmax(v)),
    ("log_softmax", lambda L, v: X(L).log_softmax(v)),
    ("flatten", lambda L, v: X(L).flatten(v)),
    ("matmul", lambda L, v: X(L) @ v),
    ("clamp", lambda L, v: X(L).clamp(v)),
    ("clamp", lambda L, v: X(L).clamp(max=v)),
    ("to", lambda L, v: X(L).to(v)),
    ("index", lambda L, v: X(L)[v]),
    ("index", lambda L, v: X(L)[0, v]),
    ("Linear", lambda L, v: L.nn.Linear(v, 2)),
    ("Linear", lambda L, v: L.nn.Linear(2, v)),
    ("Conv2d", lambda L, v: L.nn.Conv2d(v, 2, 3)),
    ("Conv2d", lambda L, v: L.nn.Conv2d(2, 2, v)),
    ("Conv2d", lambda L, v: L.nn.Conv2d(2, 2, 3, stride=v)),
    ("Conv2d", lambda L, v: L.nn.Conv2d(2, 2, 3, padding=v)),
    ("Conv2d", lambda L, v: L.nn.Conv2d(2, 2, 3, dilation=v)),
    ("Conv2d", lambda L, v: L.nn.Conv2d(2, 2, 3, groups=v)),
    ("max_pool2d", lambda L, v: L.nn.MaxPool2d(v)(IMG(L))),
    ("max_pool2d", lambda L, v: L.F.max_pool2d(IMG(L), 2, stride=v)),
    ("avg_pool2d", lambda L, v: L.F.avg_pool2d(IMG(L), 3, padding=v)),
    ("adaptive_avg_pool2d", lambda L, v: L.F.adaptive_avg_pool2d(IMG(L), v)),
    ("conv2d", lambda L, v: L.F.conv2d(IMG(L), L.lib.zeros(2, 2, 3, 3), stride=v)),
    ("conv2d", lambda L, v: L.F.conv2d(IMG(L), L.lib.zeros(2, 2, 3, 3), padding=v)),
    ("conv2d", lambda L, v: L.F.conv2d(IMG(L), L.lib.zeros(2, 2, 3, 3), dilation=v)),
    ("conv2d", lambda L, v: L.F.conv2d(IMG(L), L.lib.zeros(2, 2, 3, 3), groups=v)),
    ("conv2d", lambda L, v: L.F.conv2d(IMG(L), v)),
    ("BatchNorm2d", lambda L, v: L.nn.BatchNorm2d(v)),
    ("BatchNorm2d", lambda L, v: L.nn.BatchNorm2d(2, eps=v)),
    ("BatchNorm2d", lambda L, v: L.nn.BatchNorm2d(2, momentum=v)),
    ("Dropout", lambda L, v: L.nn.Dropout(v)),
    ("dropout", lambda L, v: L.F.dropout(X(L), v)),
    ("linear", lambda L, v: L.F.linear(X(L), v)),
    ("cross_entropy", lambda L, v: L.F.cross_entropy(X(L), v)),
    ("nll_loss", lambda L, v: L.F.nll_loss(X(L), v)),
    ("mse_loss", lambda L, v: L.F.mse_loss(X(L), v)),
    ("SGD", lambda L, v: L.optim.SGD(v, lr=0.1)),
    ("SGD", lambda L, v: L.optim.SGD([param(L, 2)], lr=v)),
    ("SGD", lambda L, v: L.optim.SGD([param(L, 2)], lr=0.1, momentum=v)),
    ("SGD", lambda L, v: L.optim.SGD([param(L, 2)], lr=0.1, weight_decay=v)),
    ("Adam", lambda L, v: L.optim.Adam([param(L, 2)], lr=v)),
    ("Adam", lambda L, v: L.optim.Adam([param(L, 2)], betas=(v, 0.9))),
    ("Adam", lambda L, v: L.optim.Adam([param(L, 2)], betas=v)),
    ("Adam", lambda L, v: L.optim.Adam([param(L, 2)], eps=v)),
    ("StepLR", lambda L, v: L.optim.lr_scheduler.StepLR(SGD(L), v)),
    ("StepLR", lambda L, v: L.optim.lr_scheduler.StepLR(SGD(L), 2, gamma=v)),
    ("StepLR", lambda L, v: L.optim.lr_scheduler.StepLR(v, 2)),
    ("ExponentialLR", lambda L, v: L.optim.lr_scheduler.ExponentialLR(SGD(L), v)),
    ("CosineAnnealingLR", lambda L, v: L.optim.lr_scheduler.CosineAnnealingLR(SGD(L), v)),
    ("DataLoader", lambda L, v: L.DataLoader([1, 2, 3], batch_size=v)),
    ("TensorDataset", lambda L, v: L.data.TensorDataset(X(L), v)),
    ("random_split", lambda L, v: L.data.random_split(range(4), v)),
    ("cat", lambda L, v: L.lib.cat([X(L), X(L)], v)),
    ("stack", lambda L, v: L.lib.stack([X(L), X(L)], v)),
    ("pad", lambda L, v: L.F.pad(X(L), v)),
    ("Sequential", lambda L, v: L.nn.Sequential(v)),
    ("Flatten", lambda L, v: L.nn.Flatten(v)(X(L))),
    ("avg_pool2d", lambda L, v: L.nn.AvgPool2d(v)(IMG(L))),
    ("cross_entropy", lambda L, v: L.F.cross_entropy(X(L), L.lib.zeros(2, dtype=L.int64),
                                                     label_smoothing=v)),
    ("huber_loss", lambda L, v: L.F.huber_loss(X(L), X(L), delta=v)),
    ("leaky_relu", lambda L, v: L.F.leaky_relu(X(L), v)),
    ("AdamW", lambda L, v: L.optim.AdamW([param(L, 2)], weight_decay=v)),
    ("Adagrad", lambda L, v: L.optim.Adagrad([param(L, 2)], lr_decay=v)),
    ("RMSprop", lambda L, v: L.optim.RMSprop([param(L, 2)], alpha=v)),
    ("Adadelta", lambda L, v: L.optim.Adadelta([param(L, 2)], rho=v)),
    ("MultiStepLR", lambda L, v: L.optim.lr_scheduler.MultiStepLR(SGD(L), v)),
    ("ReduceLROnPlateau", lambda L, v: L.optim.lr_scheduler.ReduceLROnPlateau(SGD(L),
                                                                             factor=v)),
    ("OneCycleLR", lambda L, v: L.optim.lr_scheduler.OneCycleLR(SGD(L), 0.1, total_steps=v)),
    ("OneCycleLR", lambda L, v: L.optim.lr_scheduler.OneCycleLR(SGD(L), v, total_steps=4)),
    ("manual_seed", lambda L, v: L.lib.manual_seed(v)),
    ("hook", lambda L, v: hook_returning(L, v)),
    ("state_dict", lambda L, v: L.nn.Linear(2, 3).load_state_dict(
        {"weight": v, "bias": L.lib.zeros(3)})),
]


def outcome(name, call, L, value):
    """'accepted', 'named' (an allowed one-line error naming the function, in any case:
    nn.Flatten's errors may say flatten), 'unnamed' (allowed type, but the message does
    not name it) or 'crash' (any other exception)."""
    error = run(lambda L: call(L, value), L)
    if error is None:
        return "accepted"
    if not isinstance(error, ALLOWED):
        return "crash"
    message = str(error)
    one_line = "\n" not in message or name == "state_dict"
    return "named" if name.lower() in message.lower() and one_line else "unnamed"


def sweep(L, slots=SWEEP, values=BAD_VALUES):
    """``{(slot index, value index): outcome}`` over every slot and value."""
    return {(i, j): outcome(name, call, L, value)
            for i, (name, call) in enumerate(slots) for j, value in enumerate(values)}


def describe(i, value):
    return f"{SWEEP[i][0]} slot {i} with {value!r}"


def test_sweep_never_crashes_and_always_names_the_op():
    results = sweep(namespace("gradlite"))
    bad = [describe(i, BAD_VALUES[j]) + f": {kind}" for (i, j), kind in results.items()
           if kind in ("crash", "unnamed")]
    assert not bad, "\n".join(bad)


#: Calls PyTorch refuses that gradlite accepts on purpose: (function, repr(value)) -> why.
ACCEPTED_ON_PURPOSE = {
    ("eye", "None"): "m=None means m = n, gradlite's default",
    ("squeeze", "None"): "dim=None squeezes every size-1 dim, gradlite's default",
    ("max", "None"): "dim=None reduces over every element, gradlite's default",
    ("min", "None"): "dim=None reduces over every element, gradlite's default",
    ("Adam", "0"): "an int beta is a number (PyTorch wants both floats or both Tensors)",
}


def silent_acceptances(L, T):
    """Calls PyTorch refuses with a TypeError or ValueError (a wrong type or value, not a
    failed allocation) that gradlite accepts: silent wrong answers, unless on purpose."""
    found = []
    for i, (name, call) in enumerate(SWEEP):
        for value in BAD_VALUES:
            theirs = run(lambda T: call(T, value), T)
            if (isinstance(theirs, (TypeError, ValueError)) and run(lambda L: call(L, value), L)
                    is None and (name, repr(value)) not in ACCEPTED_ON_PURPOSE):
                found.append(describe(i, value) + f": PyTorch says {theirs!r}"[:200])
    return found


def test_sweep_refuses_what_torch_refuses():
    silent = silent_acceptances(namespace("gradlite"), namespace("torch"))
    assert not silent, "\n".join(silent)


bad_numbers = st.one_of(st.integers(max_value=-1), st.integers(min_value=2 ** 63),
                        st.floats().filter(lambda f: not f.is_integer()), st.booleans())
bad_values = st.one_of(st.sampled_from(BAD_VALUES), bad_numbers, st.none(),
                       st.text(max_size=3), st.lists(st.integers(-3, 3), max_size=3),
                       st.tuples(bad_numbers, bad_numbers))


@given(slot=st.integers(0, len(SWEEP) - 1), value=bad_values)
def test_drawn_bad_arguments_name_the_op(slot, value):
    name, call = SWEEP[slot]
    assert outcome(name, call, namespace("gradlite"), value) in ("accepted", "named")


def torch_or_none():
    try:
        return namespace("torch")
    except BaseException:  # pytest.importorskip's Skipped
        return None


bad_sizes = st.one_of(st.integers(max_value=-1), st.integers(min_value=2 ** 63),
                      st.floats().filter(lambda f: not f.is_integer()), st.booleans(),
                      st.none(), st.text(max_size=2))


@given(fn=st.sampled_from(["zeros", "ones", "empty", "rand", "randn"]), size=bad_sizes)
def test_drawn_bad_sizes_are_refused_as_by_torch(fn, size):
    """A size must be an int >= 0 (not a bool, a float or 2**63); PyTorch refuses the
    same sizes, bools aside (it takes a bool after the first size as an int)."""
    error = run(lambda L: getattr(L.lib, fn)(2, size), namespace("gradlite"))
    assert isinstance(error, (TypeError, ValueError)) and str(error).startswith(f"{fn}: size")
    T = torch_or_none()
    if T is not None and not isinstance(size, bool):
        assert run(lambda T: getattr(T.lib, fn)(2, size), T) is not None
