"""Learning-rate schedulers: closed forms, PyTorch's sequences, ReduceLROnPlateau's
rules and OneCycleLR's momentum cycling."""

import math

import numpy as np
import pytest

from gradlite import optim
from gradlite.optim import lr_scheduler as sched

try:
    from gradlite.tensor import Tensor
except Exception:       # the core is not importable (yet): a stand-in with its contract
    class Tensor:
        def __init__(self, data, requires_grad=False):
            self.data, self.grad, self.requires_grad = data, None, requires_grad


def make_optimizer(name="SGD", lr=0.1, n_groups=1, **kwargs):
    params = [Tensor(np.zeros(2), requires_grad=True) for _ in range(n_groups)]
    return getattr(optim, name)([{"params": [p]} for p in params], lr=lr, **kwargs)


def lrs(scheduler, n):
    """The lr of group 0 at epochs 0 .. n-1."""
    out = []
    for _ in range(n):
        out.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    return out


CLOSED_FORMS = [
    ("StepLR", dict(step_size=3, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 3)),
    ("MultiStepLR", dict(milestones=[2, 5, 5]), lambda t: 0.1 * 0.1 ** ((t >= 2) + 2 * (t >= 5))),
    ("ExponentialLR", dict(gamma=0.9), lambda t: 0.1 * 0.9 ** t),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01),
     lambda t: 0.01 + 0.09 * (1 + math.cos(math.pi * t / 10)) / 2),
]


@pytest.mark.parametrize("name, kwargs, form", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_closed_forms(name, kwargs, form):
    scheduler = getattr(sched, name)(make_optimizer(), **kwargs)
    np.testing.assert_allclose(lrs(scheduler, 25), [form(t) for t in range(25)], rtol=1e-9)


TORCH_CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5), {}),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 20], gamma=0.3), {}),
    ("ExponentialLR", dict(gamma=0.95), {}),
    ("CosineAnnealingLR", dict(T_max=10), {}),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), {}),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=60), dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], epochs=6, steps_per_epoch=10, pct_start=0.25,
                        anneal_strategy="linear", three_phase=True), dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=60, div_factor=10, final_div_factor=100,
                        base_momentum=0.8, max_momentum=0.9), dict(name="Adam")),
]


@pytest.mark.parametrize("name, kwargs, opt_kwargs", TORCH_CASES)
def test_matches_torch(name, kwargs, opt_kwargs):
    torch = pytest.importorskip("torch")
    opt_kwargs = dict(opt_kwargs)
    opt_name = opt_kwargs.pop("name", "SGD")
    ours = make_optimizer(opt_name, n_groups=2, **opt_kwargs)
    theirs = getattr(torch.optim, opt_name)(
        [{"params": [torch.zeros(2, requires_grad=True)]} for _ in range(2)], lr=0.1,
        **opt_kwargs)
    ours_sched = getattr(sched, name)(ours, **kwargs)
    theirs_sched = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    for _ in range(60):
        np.testing.assert_allclose(ours_sched.get_last_lr(), theirs_sched.get_last_lr(),
                                   rtol=1e-12)
        for g, tg in zip(ours.param_groups, theirs.param_groups):
            key = "betas" if opt_name == "Adam" else "momentum"
            np.testing.assert_allclose(g[key], tg[key], rtol=1e-12)
        theirs.step()
        theirs_sched.step()
        ours_sched.step()


def test_reduce_lr_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 10), 0.5 + 0.01 * rng.random(40)])
    ours = make_optimizer()
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    kwargs = dict(patience=3, cooldown=2, factor=0.5, min_lr=1e-3)
    ours_sched = sched.ReduceLROnPlateau(ours, **kwargs)
    theirs_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    for m in metrics:
        ours_sched.step(m)
        theirs_sched.step(m)
        assert ours_sched.get_last_lr() == theirs_sched.get_last_lr()


def test_reduce_lr_on_plateau_rules():
    opt = make_optimizer(lr=1.0)
    s = sched.ReduceLROnPlateau(opt, mode="max", patience=2, factor=0.5, threshold=0.1,
                                threshold_mode="abs", cooldown=1, min_lr=0.2)
    history = []
    for metric in [1.0, 1.05, 1.05, 1.05, 1.05, 1.05, 1.05, 1.05, 2.0, 2.0, 2.0, 2.0, 2.0,
                   2.0, 2.0]:
        s.step(metric)
        history.append(s.get_last_lr()[0])
    # 1.05 is not better than 1.0 + 0.1: three bad epochs (> patience 2) -> 0.5 at
    # epoch 4; cooldown 1 absorbs epoch 5; epochs 6, 7, 8 bad -> 0.25 at epoch 8.
    # 2.0 improves at epoch 9, then epochs 10, 11, 12 are bad -> max(0.125, min_lr 0.2).
    assert history == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2,
                       0.2, 0.2, 0.2]


def test_reduce_lr_on_plateau_validation():
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.ReduceLROnPlateau(make_optimizer(), factor=1.0)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        sched.ReduceLROnPlateau(make_optimizer(), mode="up")
    with pytest.raises(ValueError, match="threshold mode 'x' is unknown"):
        sched.ReduceLROnPlateau(make_optimizer(), threshold_mode="x")
    with pytest.raises(ValueError, match="expected 2 values for min_lr, got 3"):
        sched.ReduceLROnPlateau(make_optimizer(n_groups=2), min_lr=[0, 0, 0])


def test_one_cycle_shape_and_momentum():
    opt = make_optimizer(momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=100)
    seq, moms = [], []
    for _ in range(100):
        seq.append(s.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        if len(seq) < 100:
            s.step()
    assert seq[0] == pytest.approx(1.0 / 25) and moms[0] == pytest.approx(0.95)
    assert max(seq) == pytest.approx(1.0) and int(np.argmax(seq)) == 29
    assert moms[29] == pytest.approx(0.85)
    assert seq[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert moms[-1] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        s.step()
        s.step()


def test_one_cycle_cycles_adam_beta1():
    opt = make_optimizer("Adam", betas=(0.9, 0.99))
    s = sched.OneCycleLR(opt, max_lr=0.01, total_steps=10, pct_start=0.5)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    for _ in range(4):
        s.step()
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.85), 0.99)


def test_one_cycle_validation():
    with pytest.raises(ValueError, match="either total_steps OR"):
        sched.OneCycleLR(make_optimizer(), max_lr=1.0)
    with pytest.raises(ValueError, match="positive integer total_steps"):
        sched.OneCycleLR(make_optimizer(), max_lr=1.0, total_steps=0)
    with pytest.raises(ValueError, match="pct_start"):
        sched.OneCycleLR(make_optimizer(), max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched.OneCycleLR(make_optimizer(), max_lr=1.0, total_steps=10, anneal_strategy="x")
    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.OneCycleLR(make_optimizer("Adagrad"), max_lr=1.0, total_steps=10)


def test_initial_lr_required_when_resuming():
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(make_optimizer(), step_size=2, last_epoch=4)


def test_state_dict_round_trip(tmp_path):
    from gradlite.serialization import load, save
    opt = make_optimizer(momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=50)
    lrs(s, 10)
    save({"optim": opt.state_dict(), "sched": s.state_dict()}, tmp_path / "s.npz")
    ckpt = load(tmp_path / "s.npz")
    opt2 = make_optimizer(momentum=0.9)
    opt2.load_state_dict(ckpt["optim"])
    s2 = sched.OneCycleLR(opt2, max_lr=1.0, total_steps=50, last_epoch=ckpt["sched"]["last_epoch"])
    s2.load_state_dict(ckpt["sched"])
    assert lrs(s2, 20) == lrs(s, 20)
    assert "optimizer" not in s.state_dict()


def test_chained_schedulers_compose():
    opt = make_optimizer(lr=1.0)
    a, b = sched.ExponentialLR(opt, gamma=0.9), sched.StepLR(opt, step_size=2, gamma=0.5)
    for t in range(1, 6):
        a.step()
        b.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(0.9 ** t * 0.5 ** (t // 2))
