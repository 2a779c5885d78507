"""Autograd that is right or says why (issue 15): version counters, grad mode per
thread, graphs that let go after backward, leaf gradients that never share memory,
hooks that return the wrong thing. Compared with PyTorch where it is installed."""
import threading
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F

INPLACE = "modified by an inplace operation"


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ------------------------------------------------------------------ version counters
def test_issue_reproducers_raise_instead_of_a_wrong_gradient():
    w, x = gradlite.tensor([1., 2.], requires_grad=True), gradlite.tensor([3., 4.])
    y = (w * x).sum()
    x += 10
    with pytest.raises(RuntimeError, match=INPLACE + r".*shape \(2,\).*saved by Mul"):
        y.backward()

    w = gradlite.tensor([1., 2.], requires_grad=True)
    y = (w * w).sum()
    with gradlite.no_grad():
        w -= 1                                        # an optimizer step
    with pytest.raises(RuntimeError, match=INPLACE + ".*is at version 1, written after it was saved"):
        y.backward()

    w = gradlite.tensor([1., 2.], requires_grad=True)
    e = w.exp()
    e.detach()[0] = 100                               # a write through a detach() alias
    with pytest.raises(RuntimeError, match=INPLACE + ".*saved by Exp"):
        e.sum().backward()


WRITES = {
    "+=": lambda t: t.__iadd__(1.0),
    "mul_": lambda t: t.mul_(2.0),
    "zero_": lambda t: t.zero_(),
    "setitem": lambda t: t.__setitem__(0, 5.0),
    "copy_": lambda t: t.copy_(t.detach() * 3),
    "view +=": lambda t: t.reshape(-1).__iadd__(1.0),
    "detach +=": lambda t: t.detach().__iadd__(1.0),
}


@pytest.mark.parametrize("write", WRITES, ids=str)
@pytest.mark.parametrize("op", ["mul", "div", "exp", "tanh", "sigmoid", "add", "matmul"])
@pytest.mark.parametrize("written", ["w", "x", "y"])
def test_every_inplace_write_is_seen_by_backward_as_in_torch(op, written, write):
    """Whenever PyTorch refuses, gradlite refuses; whenever gradlite answers, the
    answer is PyTorch's. (gradlite may refuse more: its Mul saves both factors.)"""
    torch = pytest.importorskip("torch")
    def run(lib):
        w = lib.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=lib.float64, requires_grad=True)
        x = lib.tensor([[1.5, 2.0], [-0.5, 3.0]], dtype=lib.float64)
        y = {"mul": lambda: w * x, "div": lambda: w / x, "exp": lambda: w.exp(),
             "tanh": lambda: w.tanh(), "sigmoid": lambda: w.sigmoid(),
             "add": lambda: w + x, "matmul": lambda: w @ x}[op]()
        target = {"w": w, "x": x, "y": y}[written]
        with lib.no_grad():
            WRITES[write](target)
        try:
            y.sum().backward()
        except RuntimeError as error:
            assert INPLACE in str(error)
            return None
        return np.array(w.grad.tolist())

    ours = run(gradlite)
    theirs = run(torch)
    if theirs is None:
        assert ours is None, "torch refuses this backward; gradlite must too"
    elif ours is not None:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), st.integers(0, 2 ** 16))
def test_saved_values_are_checked_for_any_shape(shape, seed):
    rng = np.random.default_rng(seed)
    w = gradlite.tensor(rng.standard_normal(shape), requires_grad=True)
    x = gradlite.tensor(rng.standard_normal(shape))
    loss = (w * x).sum()
    x[(0,) * len(shape)] = 1.0
    with pytest.raises(RuntimeError, match=INPLACE + f".*shape {tuple(shape)}".replace("(", r"\(")
                       .replace(")", r"\)")):
        loss.backward()
    x2 = gradlite.tensor(rng.standard_normal(shape))
    loss = (w * x2).sum()
    expected = x2.detach().numpy().copy()
    (w * 0).sum().backward()                          # other graphs do not bump versions
    w.grad = None
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, expected)


def test_an_optimizer_step_between_forward_and_backward_is_refused():
    """The GAN step: D's optimizer steps between G's loss forward and backward."""
    def run(lib):
        lib.manual_seed(0)
        disc = lib.nn.Linear(3, 1)
        opt = lib.optim.SGD(disc.parameters(), lr=0.1)
        z = lib.ones(2, 3, requires_grad=True)
        g_loss = disc(z.tanh()).sum()
        opt.zero_grad()
        disc(lib.ones(2, 3)).sum().backward()
        opt.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            g_loss.backward()
    run(gradlite)
    torch = _torch()
    if torch is not None:
        run(torch)


def test_writes_after_backward_and_to_unsaved_inputs_are_fine():
    w, x = gradlite.tensor([1., 2.], requires_grad=True), gradlite.tensor([3., 4.])
    y = (w + x).sum()                                 # Add saves nothing
    x += 10
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [1., 1.])
    assert x._version == 1 and w._version == 0
    opt = gradlite.optim.SGD([w], lr=0.5)
    opt.step()
    assert w._version == 1


def test_numpy_of_a_tensor_that_requires_grad_is_read_only():
    w = gradlite.tensor([1., 2.], requires_grad=True)
    with pytest.raises(ValueError, match="read-only"):
        w.numpy()[0] = 5
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(w)[0] = 5
    np.testing.assert_array_equal(w.numpy(), [1., 2.])
    plain = w.detach().numpy()
    plain[0] = 7                                      # detach() is the documented way out
    assert w.data[0] == 7


# ------------------------------------------------------------------ grad mode per thread
def test_no_grad_in_one_thread_does_not_switch_off_recording_in_another():
    entered, checked = threading.Event(), threading.Event()

    def other():
        with gradlite.no_grad():
            entered.set()
            checked.wait(5)
    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(5)
    try:
        assert gradlite.is_grad_enabled()
        y = gradlite.tensor([1.], requires_grad=True) * 2
        assert y.requires_grad
    finally:
        checked.set()
        thread.join()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(gradlite.is_grad_enabled()))
    with gradlite.no_grad():
        worker.start()
        worker.join()
    assert seen == [True]                             # each thread starts with grad on


def test_set_grad_enabled_switches_at_once_as_a_statement_and_back_as_a_block():
    try:
        gradlite.set_grad_enabled(False)                   # a statement, as in PyTorch
        assert not gradlite.is_grad_enabled()
        with gradlite.set_grad_enabled(True):
            assert gradlite.is_grad_enabled()
        assert not gradlite.is_grad_enabled()
    finally:
        gradlite.set_grad_enabled(True)
    assert gradlite.is_grad_enabled()


def test_grad_mode_decorators_switch_only_while_the_function_runs():
    @gradlite.set_grad_enabled(False)
    def off():
        return gradlite.is_grad_enabled()

    @gradlite.no_grad()
    def off_too():
        return gradlite.is_grad_enabled()
    assert gradlite.is_grad_enabled()                     # decorating switched nothing
    assert off() is False and off_too() is False
    assert gradlite.is_grad_enabled()


def test_no_grad_and_enable_grad_decorate_without_parentheses_as_in_pytorch():
    @gradlite.no_grad
    def off():
        return gradlite.is_grad_enabled()

    @gradlite.enable_grad
    def on():
        return gradlite.is_grad_enabled()
    assert off.__name__ == "off"
    assert off() is False
    with gradlite.no_grad():
        assert on() is True
        assert not gradlite.is_grad_enabled()
    assert gradlite.is_grad_enabled()


def test_inference_mode_records_nothing_and_its_false_mode_records():
    x = gradlite.tensor([1., 2.], requires_grad=True)
    with gradlite.inference_mode():
        assert not (x * 2).requires_grad
    with gradlite.inference_mode(False):
        assert (x * 2).requires_grad


def test_one_no_grad_instance_nested_in_itself_restores_the_outer_mode():
    block = gradlite.no_grad()
    with block:
        with block:
            assert not gradlite.is_grad_enabled()
        assert not gradlite.is_grad_enabled()
    assert gradlite.is_grad_enabled()


def _train(seed, validate, out, steps=40):
    rng = np.random.default_rng(seed)
    x = gradlite.tensor(rng.standard_normal((16, 8)).astype(np.float32))
    y = gradlite.tensor(rng.integers(0, 3, 16))
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    for p in model.parameters():                      # seeded per model, not by the global generator
        p.data[...] = rng.standard_normal(p.shape) * 0.3
    opt = gradlite.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if validate:
            with gradlite.no_grad():
                model(x)
    out[seed] = [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize("validate", [False, True], ids=["train", "train+no_grad validation"])
def test_two_models_trained_in_two_threads_match_the_sequential_run(validate):
    expected = {}
    for seed in (1, 2):
        _train(seed, validate, expected)
    for _ in range(10):
        got = {}
        threads = [threading.Thread(target=_train, args=(seed, validate, got)) for seed in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for seed in (1, 2):
            for ours, theirs in zip(got[seed], expected[seed]):
                np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------------------ graphs that let go
def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def test_a_kept_loss_pins_only_itself_after_backward():
    net, x, y = _lenet(), gradlite.randn(8, 1, 28, 28), gradlite.randint(0, 10, (8,))
    history = []

    def step():
        net.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        history.append(loss)
    tracemalloc.start()
    try:
        step()                                        # this step's gradients stay, as they would
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            step()
        per_loss = (tracemalloc.get_traced_memory()[0] - before) / 5
    finally:
        tracemalloc.stop()
    assert per_loss < 20_000, f"{per_loss / 1e6:.3f} MB per kept loss"


def test_intermediate_tensors_are_freed_after_backward():
    w = gradlite.tensor(np.ones((3, 3)), requires_grad=True)
    hidden = (w * 2).tanh()
    kept = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    del hidden
    assert kept() is not None                         # the graph holds it until backward
    loss.backward()
    assert kept() is None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_keeps_everything_for_a_second_backward():
    w = gradlite.tensor([1., 2.], requires_grad=True)
    loss = (w.exp() * w).sum()
    loss.backward(retain_graph=True)
    first = w.grad.data.copy()
    loss.backward()
    np.testing.assert_allclose(w.grad.data, 2 * first)


# ------------------------------------------------------------------ leaf gradient buffers
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_leaves_never_share_gradient_buffers_after_create_graph(shape):
    a = gradlite.tensor(np.ones(shape), requires_grad=True)
    b = gradlite.tensor(np.ones(shape), requires_grad=True)
    c = gradlite.tensor(np.ones(shape[1:] if shape else ()), requires_grad=True)
    ((a + b) * 1 + c).sum().backward(create_graph=True)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(a.grad.data, c.grad.data)
    opt = gradlite.optim.SGD([a, b, c], lr=0.1)
    opt.zero_grad(set_to_none=False)
    for t in (a, b, c):
        np.testing.assert_array_equal(t.grad.data, 0)


# ------------------------------------------------------------------ hooks
def test_a_hook_returning_something_else_than_a_tensor_or_none_is_named():
    w = gradlite.tensor([1., 2.], requires_grad=True)

    def double_as_array(g):
        return g.data * 2
    w.register_hook(double_as_array)
    with pytest.raises(TypeError, match="hook .*double_as_array returned a ndarray"):
        (w * 3).sum().backward()
