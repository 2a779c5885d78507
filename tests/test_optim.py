"""Optimizers: the update formulas written out, PyTorch trajectories, param groups,
zero_grad, state_dict round trips and argument validation."""

import numpy as np
import pytest

from gradlite import optim
from gradlite.serialization import load, save

try:
    from gradlite.tensor import Tensor
except Exception:       # the core is not importable (yet): a stand-in with its contract
    class Tensor:
        def __init__(self, data, requires_grad=False):
            self.data, self.grad, self.requires_grad = data, None, requires_grad


def param(array, dtype=np.float64):
    return Tensor(np.array(array, dtype=dtype), requires_grad=True)


def set_grad(p, g):
    p.grad = Tensor(np.array(g, dtype=p.data.dtype))


def grads(n, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(n)]


# -- the update rules, written out plainly (one step, returns new p and state) -------

def sgd_rule(p, g, s, t, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False,
             maximize=False):
    g = (-g if maximize else g) + weight_decay * p
    if momentum:
        s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return p - lr * g


def adam_rule(p, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              amsgrad=False, decoupled=False):
    b1, b2 = betas
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    s["vmax"] = np.maximum(s.get("vmax", 0), s["v"])
    v = s["vmax"] if amsgrad else s["v"]
    m_hat, v_hat = s["m"] / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def adagrad_rule(p, g, s, t, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10):
    g = g + weight_decay * p
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)


def adadelta_rule(p, g, s, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0):
    g = g + weight_decay * p
    s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
    d = np.sqrt(s.get("u", 0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0) + (1 - rho) * d * d
    return p - lr * d


def rmsprop_rule(p, g, s, t, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
    g = g + weight_decay * p
    s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
    s["a"] = alpha * s.get("a", 0) + (1 - alpha) * g
    r = np.sqrt(s["v"] - s["a"] ** 2 if centered else s["v"]) + eps
    if momentum:
        s["b"] = momentum * s.get("b", 0) + g / r
        return p - lr * s["b"]
    return p - lr * g / r


RULES = [
    (optim.SGD, sgd_rule, dict(lr=0.1)),
    (optim.SGD, sgd_rule, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, sgd_rule, dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    (optim.Adam, adam_rule, dict(lr=0.1)),
    (optim.Adam, adam_rule, dict(lr=0.1, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    (optim.Adagrad, adagrad_rule, dict(lr=0.1, lr_decay=0.5, weight_decay=0.1,
                                       initial_accumulator_value=0.2)),
    (optim.Adadelta, adadelta_rule, dict(rho=0.8, weight_decay=0.1)),
    (optim.RMSprop, rmsprop_rule, dict(lr=0.01)),
    (optim.RMSprop, rmsprop_rule, dict(lr=0.01, momentum=0.9, centered=True,
                                       weight_decay=0.1)),
]


@pytest.mark.parametrize("cls, rule, kwargs", RULES, ids=lambda x: getattr(x, "__name__", ""))
def test_matches_written_out_rule(cls, rule, kwargs):
    p0 = grads(1, seed=1)[0]
    p = param(p0)
    opt = cls([p], **kwargs)
    expected, state = p0, {}
    for t, g in enumerate(grads(4), start=1):
        set_grad(p, g)
        opt.step()
        expected = rule(expected, g, state, t, **kwargs)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-14)


def test_adamw_decouples_weight_decay():
    p0 = grads(1, seed=1)[0]
    p = param(p0)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    expected, state = p0, {}
    for t, g in enumerate(grads(4), start=1):
        set_grad(p, g)
        opt.step()
        expected = adam_rule(expected, g, state, t, lr=0.1, weight_decay=0.5, decoupled=True)
    np.testing.assert_allclose(p.data, expected, rtol=1e-12)


# -- against PyTorch ------------------------------------------------------------------

TORCH_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(momentum=0.9)),
    ("RMSprop", dict(centered=True, weight_decay=0.1)),
    ("RMSprop", dict(alpha=0.9, momentum=0.5, centered=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.1, weight_decay=0.5, amsgrad=True)),
]


def run_both(torch, name, groups, steps=20, dtype=np.float64, seed=0):
    """Same start, same gradients (random noise + the gradient of 0.5*|p|^2), ``steps``
    steps in gradlite and torch. ``groups``: list of per-group option dicts."""
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal((3, 4)).astype(dtype) for _ in groups]
    ours = [param(x, dtype) for x in starts]
    theirs = [torch.tensor(x, requires_grad=True) for x in starts]
    # The first group's options are also passed as defaults: torch's Adagrad reads
    # initial_accumulator_value from its constructor arguments only, not from the groups.
    opt = getattr(optim, name)([{"params": [p], **g} for p, g in zip(ours, groups)],
                               **groups[0])
    topt = getattr(torch.optim, name)([{"params": [p], **g} for p, g in zip(theirs, groups)],
                                      **groups[0])
    for _ in range(steps):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.data.shape).astype(dtype) + p.data
            set_grad(p, g)
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
    return ours, theirs


@pytest.mark.parametrize("name, kwargs", TORCH_CASES)
def test_matches_torch_20_steps(name, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = run_both(torch, name, [kwargs])
    np.testing.assert_allclose(ours[0].data, theirs[0].detach().numpy(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_matches_torch_float32(name):
    torch = pytest.importorskip("torch")
    ours, theirs = run_both(torch, name, [{"lr": 0.01}], dtype=np.float32)
    assert ours[0].data.dtype == np.float32
    np.testing.assert_allclose(ours[0].data, theirs[0].detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_matches_torch_with_param_groups():
    torch = pytest.importorskip("torch")
    groups = [{"lr": 0.1, "momentum": 0.9}, {"lr": 0.01, "weight_decay": 0.1},
              {"lr": 0.05, "momentum": 0.5, "nesterov": True}]
    ours, theirs = run_both(torch, "SGD", groups)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- behaviour of the base class ------------------------------------------------------

def test_update_is_in_place_and_skips_params_without_grad():
    a, b = param(np.ones(3)), param(np.ones(3))
    array = a.data
    set_grad(a, np.ones(3))
    optim.Adam([a, b], lr=0.1).step()
    assert a.data is array
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_array_equal(b.data, 1.0)


def test_grad_is_not_modified():
    p = param(np.ones(3))
    set_grad(p, np.ones(3))
    optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5, maximize=True).step()
    np.testing.assert_array_equal(p.grad.data, 1.0)


def test_zero_grad():
    p = param(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, np.ones(3))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, 0.0)
    opt.zero_grad()
    assert p.grad is None


def test_step_returns_closure_loss():
    p = param(np.ones(3))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        set_grad(p, 2 * p.data)
        return float((p.data ** 2).sum())

    assert opt.step(closure) == 3.0
    np.testing.assert_allclose(p.data, 0.8)


def test_param_groups_take_defaults_and_add_param_group():
    a, b, c = param(np.ones(2)), param(np.ones(2)), param(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b]
    assert opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})


def test_state_dict_layout():
    a, b = param(np.ones(2)), param(np.ones(3))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}])
    set_grad(b, np.ones(3))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.1
    assert list(sd["state"]) == [1]
    assert sd["state"][1]["step"] == 1
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(amsgrad=True)),
    ("AdamW", dict()), ("RMSprop", dict(momentum=0.9, centered=True)),
    ("Adagrad", dict()), ("Adadelta", dict())])
def test_state_dict_round_trip_continues_identically(tmp_path, name, kwargs):
    gs = grads(20)
    p = param(grads(1, seed=3)[0])
    opt = getattr(optim, name)([p], **kwargs)
    for g in gs[:10]:
        set_grad(p, g)
        opt.step()
    save({"param": p.data, "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = load(tmp_path / "ckpt.npz")
    q = param(ckpt["param"])
    opt2 = getattr(optim, name)([q], lr=123.0)       # options come from the state dict
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for g in gs[10:]:
        for p_, o in ((p, opt), (q, opt2)):
            set_grad(p_, g)
            o.step()
    np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_copies_and_casts_state():
    p = param(np.ones(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    set_grad(p, np.ones(3))
    opt.step()
    sd = opt.state_dict()
    q = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt2 = optim.SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    buf = opt2.state[q]["momentum_buffer"]
    assert buf.dtype == np.float32
    assert buf is not sd["state"][0]["momentum_buffer"]


def test_load_state_dict_rejects_mismatched_groups():
    a, b = param(np.ones(2)), param(np.ones(2))
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


# -- argument validation --------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, message", [
    (optim.SGD, dict(lr=-1), "Invalid learning rate: -1"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (optim.Adam, dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (optim.Adam, dict(eps=-1e-8), "Invalid epsilon value"),
    (optim.Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (optim.AdamW, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (optim.Adagrad, dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    (optim.Adagrad, dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value"),
    (optim.Adadelta, dict(rho=1.5), "Invalid rho value: 1.5"),
    (optim.RMSprop, dict(alpha=-1), "Invalid alpha value: -1"),
    (optim.RMSprop, dict(momentum=-1), "Invalid momentum value: -1"),
])
def test_invalid_arguments(cls, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cls([param(np.ones(2))], **kwargs)


def test_invalid_param_groups():
    p = param(np.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([{"params": [p], "lr": -1.0}], lr=0.1)


def test_training_loop_with_autograd_matches_torch():
    """End to end: gradlite autograd + Adam(amsgrad) + OneCycleLR on least squares."""
    torch = pytest.importorskip("torch")
    if not hasattr(Tensor, "backward"):
        pytest.skip("the gradlite core is not importable")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)), rng.standard_normal((64, 1))
    w0 = rng.standard_normal((5, 1))
    w, tw = param(w0), torch.tensor(w0, requires_grad=True)
    opt, topt = optim.Adam([w], amsgrad=True), torch.optim.Adam([tw], amsgrad=True)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=30)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=30)
    for _ in range(30):
        for o, s, v, lib in ((opt, sched, w, Tensor), (topt, tsched, tw, torch.tensor)):
            o.zero_grad()
            ((lib(X) @ v - lib(y)) ** 2).mean().backward()
            o.step()
            s.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
