"""Names added so PyTorch scripts port with only new imports (issue 17): device and dtype
shims, Size, grad_fn nodes, nn extras, hooks, schedulers; against PyTorch where installed."""
import numpy as np
import pytest

import gradlite
import gradlite.nn.functional as F
from gradlite import nn, optim


# ----------------------------------------------------------------- device, dtype, Size, grad_fn

def test_device_preamble_picks_the_cpu():
    device = gradlite.device("cuda:0" if gradlite.cuda.is_available() else "cpu")
    assert device == "cpu" and str(device) == "cpu" and repr(device) == "device(type='cpu')"
    assert not gradlite.accelerator.is_available() and not gradlite.backends.mps.is_available()
    gradlite.set_default_device("cpu")
    x = gradlite.ones(2, device=device)
    assert x.to(device) is x and x.device == "cpu" and x.to("cpu", gradlite.double).dtype == np.float64
    model = nn.Linear(2, 1).to(device)
    assert model(x.reshape(1, 2)).shape == (1, 1)
    with pytest.raises(ValueError, match="zeros: gradlite runs on the CPU only, not on device 'cuda'"):
        gradlite.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="Linear.to: gradlite runs on the CPU only"):
        model.to(gradlite.device("cuda", 0))
    with pytest.raises(ValueError, match="expected one of"):
        gradlite.device("gpu")


def test_dtype_aliases_and_utils_data():
    torch = pytest.importorskip("torch")
    for name in ("float", "double", "half", "long", "int", "bool"):
        ours, theirs = getattr(gradlite, name), getattr(torch, name)
        assert np.dtype(ours) == torch.empty(0, dtype=theirs).numpy().dtype, name
    import gradlite.utils.data as data
    assert data.DataLoader is gradlite.data.DataLoader and gradlite.utils.data is gradlite.data


def test_size_is_a_tuple_with_numel():
    size = gradlite.zeros(2, 3, 4).size()
    assert size == (2, 3, 4) and size.numel() == 24 and isinstance(size[1:], gradlite.Size)
    assert repr(size) == "gradlite.Size([2, 3, 4])" and gradlite.zeros(2, 3).nelement() == 6


def test_grad_fn_is_a_node_with_next_functions():
    w = gradlite.randn(3, requires_grad=True)
    loss = ((w * 2).exp() - 1).sum()
    assert loss.grad_fn.name() == "SumBackward0" and "SumBackward0 object at 0x" in repr(loss.grad_fn)
    sub = loss.grad_fn.next_functions[0][0]
    assert sub.name() == "SubBackward0"
    exp = sub.next_functions[0][0]
    mul = exp.next_functions[0][0]
    leaf = mul.next_functions[0][0]
    assert mul.name() == "MulBackward0" and leaf.name() == "AccumulateGrad" and leaf.variable is w
    assert loss.grad_fn == loss.grad_fn and w.grad_fn is None


# ----------------------------------------------------------------- nn extras

def test_silu_and_dropout2d_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 5))
    ours, theirs = gradlite.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    nn.SiLU()(ours).sum().backward()
    torch.nn.SiLU()(theirs).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    assert gradlite.gradcheck(F.silu, [gradlite.tensor(x, requires_grad=True)])
    drop = nn.Dropout2d(0.5)
    out = drop(gradlite.ones(8, 16, 3, 3)).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()   # whole channels
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    assert drop.eval()(gradlite.ones(1, 2, 2, 2)).numpy().tolist() == np.ones((1, 2, 2, 2)).tolist()
    assert repr(drop) == repr(torch.nn.Dropout2d(0.5))
    with pytest.raises(ValueError, match="dropout2d: expected a 3-d"):
        F.dropout2d(gradlite.ones(2, 3))


def grads_pair(torch, shapes, scale=3.0):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) * scale for s in shapes]
    ours = [nn.Parameter(gradlite.tensor(a)) for a in arrays]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    for o, t, a in zip(ours, theirs, arrays):
        o.grad, t.grad = gradlite.tensor(a * 2), torch.tensor(a * 2)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_pytorch(norm_type):
    torch = pytest.importorskip("torch")
    ours, theirs = grads_pair(torch, [(3, 4), (4,)])
    total = nn.utils.clip_grad_norm_(ours, 1.5, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    nn.utils.clip_grad_value_(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy())


def test_clip_grad_norm_refuses_non_finite_when_asked():
    p = nn.Parameter(gradlite.zeros(2))
    p.grad = gradlite.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_parameters_to_vector_round_trip():
    model = nn.Linear(3, 2)
    vector = nn.utils.parameters_to_vector(model.parameters())
    assert vector.shape == (8,)
    nn.utils.vector_to_parameters(gradlite.arange(8.0), model.parameters())
    assert model.weight.numpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert model.bias.numpy().tolist() == [6, 7]
    with pytest.raises(ValueError, match="the vector has 3 elements, the parameters 8"):
        nn.utils.vector_to_parameters(gradlite.zeros(3), model.parameters())


# ----------------------------------------------------------------- hooks

def test_forward_and_backward_hooks_see_what_pytorch_hooks_see():
    torch = pytest.importorskip("torch")
    records = {}
    for lib in (gradlite, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        with lib.no_grad():
            for p, a in zip(model.parameters(), [np.full((4, 3), 0.1), np.zeros(4),
                                                 np.full((2, 4), -0.2), np.ones(2)]):
                p.copy_(lib.tensor(a, dtype=lib.float32))
        seen = []
        model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        model[1].register_forward_hook(lambda m, args, out: seen.append(out.sum().item()))
        model[2].register_full_backward_hook(
            lambda m, gin, gout: seen.append((gin[0].numpy().copy(), gout[0].numpy().copy())))
        model[0].register_full_backward_hook(lambda m, gin, gout: seen.append(gin))
        x = lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float32)
        model(x).pow(2).sum().backward()
        records[lib.__name__] = seen
    ours, theirs = records["gradlite"], records["torch"]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    for mine, reference in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(mine, reference, rtol=1e-5)
    assert ours[2] == (None,) and theirs[2] == (None,)


def test_hook_handles_remove_and_backward_hook_can_replace_the_gradient():
    model = nn.Linear(2, 2)
    calls = []
    handle = model.register_forward_hook(lambda m, args, out: calls.append(1))
    model(gradlite.ones(1, 2))
    handle.remove()
    model(gradlite.ones(1, 2))
    assert calls == [1]
    x = gradlite.ones(1, 2, requires_grad=True)
    model.register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0,))
    model(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0]]


# ----------------------------------------------------------------- schedulers

SCHEDULES = {
    "lambda": lambda lr, o: lr.LambdaLR(o, lambda epoch: 0.9 ** epoch),
    "linear": lambda lr, o: lr.LinearLR(o, 0.25, 1.0, 4),
    "linear_down": lambda lr, o: lr.LinearLR(o, 1.0, 0.1, 5),
    "sequential": lambda lr, o: lr.SequentialLR(o, [lr.LinearLR(o, 0.1, 1.0, 3),
                                                    lr.ExponentialLR(o, 0.8)], [4]),
    "sequential3": lambda lr, o: lr.SequentialLR(o, [lr.LinearLR(o, 0.5, 1.0, 2),
                                                     lr.StepLR(o, 2, 0.5),
                                                     lr.LinearLR(o, 0.2, 1.0, 3)], [3, 7]),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedulers_give_pytorchs_lrs(name):
    torch = pytest.importorskip("torch")
    sequences = []
    for lib in (gradlite, torch):
        optimizer = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        scheduler = SCHEDULES[name](lib.optim.lr_scheduler, optimizer)
        lrs = []
        for _ in range(12):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        sequences.append(lrs + scheduler.get_last_lr())
    np.testing.assert_allclose(*sequences, rtol=1e-12)


def test_scheduler_argument_errors():
    optimizer = optim.SGD([nn.Parameter(gradlite.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        optim.lr_scheduler.LinearLR(optimizer, start_factor=0)
    with pytest.raises(ValueError, match="number of milestone points"):
        optim.lr_scheduler.SequentialLR(optimizer, [optim.lr_scheduler.StepLR(optimizer, 2)], [1])
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        optim.lr_scheduler.LambdaLR(optimizer, [lambda e: 1, lambda e: 1])


def test_value_prints_the_full_float_as_micrograd():
    a = gradlite.Value(2.0) / 3.0
    assert repr(a) == "Value(data=0.6666666666666666, grad=0.0)"


@pytest.mark.parametrize("kernel, dilation", [(3, 1), (4, 1), ((2, 5), (2, 1))])
def test_conv2d_same_padding_matches_pytorch(kernel, dilation):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    ours = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation).double()
    theirs = torch.nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    xs = gradlite.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xs[0]), theirs(xs[1])
    assert out.shape == (2, 4, 7, 6) and repr(ours) == repr(theirs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy(), rtol=1e-10, atol=1e-12)
    assert nn.Conv2d(3, 4, 3, padding="valid")(gradlite.zeros(1, 3, 5, 5)).shape == (1, 4, 3, 3)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        F.conv2d(gradlite.zeros(1, 3, 5, 5), gradlite.zeros(4, 3, 3, 3), padding="full")


def test_data_update_idioms_of_micrograd_and_dcgan():
    """``.data`` is the numpy array (not a Tensor, see the guide), but the idioms that
    update through it work: in-place numpy ops take Tensors, nn.init takes arrays."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gradlite, torch):
        lib.manual_seed(0)
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0]))
        (p * p).sum().backward()
        p.data += -0.1 * p.grad
        p.data -= 0.1 * p.grad
        results.append(np.asarray(p.detach().numpy()).copy())
    np.testing.assert_allclose(*results, rtol=1e-6)
    weight = nn.Parameter(gradlite.zeros(200, 50))
    nn.init.normal_(weight.data, 0.0, 0.02)
    nn.init.constant_(nn.Linear(2, 2).bias.data, 0)
    assert abs(float(weight.std()) - 0.02) < 0.002
    x = gradlite.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x + np.ones(2)          # numpy on the left stays a Tensor op
    assert isinstance(y, gradlite.Tensor) and y.requires_grad
    with pytest.raises(TypeError):
        np.exp(x)
    weight.data.fill(1.0)
    assert float(weight.sum()) == 200 * 50
    w = gradlite.zeros(3, 4).normal_(0, 2.0, generator=gradlite.Generator().manual_seed(1))
    assert w.std().item() > 0.5 and gradlite.zeros(5).uniform_(2, 3).min().item() >= 2
