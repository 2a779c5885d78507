"""Module, Parameter, containers, state_dict, freezing, init and seeding."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
import gradlite.optim
from gradlite.nn import init
from gradlite.serialization import load, save


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("scale", gradlite.ones(3))
        self.register_buffer("cache", gradlite.zeros(3), persistent=False)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x)))) * self.scale


def small_cnn(nn):
    """The same architecture under torch.nn or gradlite.nn."""
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                   nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, bias=False), nn.ReLU())),
        ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("classifier", nn.Sequential(nn.Dropout(0.2), nn.Linear(8, 5), nn.LeakyReLU(0.1),
                                     nn.Linear(5, 3))),
    ]))


# --------------------------------------------------------------------------- registration
def test_parameters_buffers_and_children_are_registered_by_assignment():
    net = TwoLayer()
    assert [name for name, _ in net.named_parameters()] == [
        "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]
    assert [name for name, _ in net.named_buffers()] == [
        "scale", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [name for name, _ in net.named_children()] == ["fc1", "bn", "fc2"]
    assert [name for name, _ in net.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert len(list(net.parameters(recurse=False))) == 0
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_reassigning_and_deleting_registered_attributes():
    net = TwoLayer()
    net.fc1 = nn.Linear(4, 8, bias=False)
    assert "fc1.bias" not in dict(net.named_parameters())
    net.fc1.weight = nn.Parameter(gradlite.zeros(8, 4))
    assert np.all(net.fc1.weight.data == 0)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        net.fc1.weight = gradlite.zeros(8, 4)
    net.scale = gradlite.full((3,), 2.0)
    assert net.state_dict()["scale"].tolist() == [2.0, 2.0, 2.0]
    del net.fc2
    assert "fc2" not in dict(net.named_children())
    with pytest.raises(AttributeError, match="no attribute 'fc2'"):
        net.fc2


def test_super_init_is_required_before_registration():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Broken()


def test_shared_parameters_are_listed_once():
    a = nn.Linear(3, 3)
    net = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_parameter_basics():
    p = nn.Parameter(gradlite.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, gradlite.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    assert nn.Parameter().shape == (0,)
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    assert type(p * 2) is gradlite.Tensor


# --------------------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_append():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[1:]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]  # keys kept, as PyTorch
    seq.append(nn.Sigmoid())
    assert isinstance(seq[3], nn.Sigmoid) and len(seq) == 4
    with pytest.raises(IndexError, match="index 4 is out of range for 4 modules"):
        seq[4]
    with pytest.raises(TypeError, match="expected a Module"):
        seq.append(lambda x: x)
    x = gradlite.randn(5, 2)
    expected = layers[2](layers[1](layers[0](x))).sigmoid()
    np.testing.assert_allclose(seq(x).data, expected.data)


def test_sequential_from_ordered_dict_uses_its_names():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(seq.act, nn.Tanh)


def test_module_list_and_module_dict_register_their_entries():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    blocks.insert(1, nn.Linear(2, 5))
    blocks.extend([nn.Linear(5, 1)])
    assert len(blocks) == 5 and blocks[1].out_features == 5 and blocks[-1].in_features == 5
    assert isinstance(blocks[1:3], nn.ModuleList) and len(blocks[1:3]) == 2
    assert len(list(blocks.parameters())) == 10
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads["c"] = nn.Identity()
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert heads.pop("a").out_features == 1 and list(heads.keys()) == ["b", "c"]


# --------------------------------------------------------------------------- modes, grads
def test_train_eval_propagate_to_every_submodule():
    net = small_cnn(nn)
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="mode must be a bool"):
        net.train("no")


def test_zero_grad_and_apply():
    net = TwoLayer()
    net(gradlite.randn(4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "BatchNorm1d", "Linear", "TwoLayer"]
    net.apply(lambda m: isinstance(m, nn.Linear) and init.zeros_(m.weight))
    assert np.all(net.fc1.weight.data == 0) and np.all(net.fc2.weight.data == 0)


def test_frozen_parameters_get_no_grad_and_do_not_move():
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    net[0].requires_grad_(False)
    frozen = {name: p.data.copy() for name, p in net[0].named_parameters()}
    optimizer = gradlite.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    head_before = net[2].weight.data.copy()
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(net(gradlite.randn(8, 4)), gradlite.randint(0, 2, (8,))).backward()
        optimizer.step()
    assert net[0].weight.grad is None and net[0].bias.grad is None
    for name, p in net[0].named_parameters():
        np.testing.assert_array_equal(p.data, frozen[name])
    assert not np.array_equal(net[2].weight.data, head_before)
    net.requires_grad_(True)
    assert all(p.requires_grad for p in net.parameters())


def test_double_casts_parameters_and_buffers_in_place():
    net = TwoLayer()
    weight = net.fc1.weight
    net.double()
    assert net.fc1.weight is weight and weight.dtype == np.float64
    assert net.bn.running_var.dtype == np.float64
    assert net.bn.num_batches_tracked.dtype == np.int64
    assert net(gradlite.randn(3, 4, dtype=np.float64)).dtype == np.float64


# --------------------------------------------------------------------------- state dict
def test_state_dict_holds_detached_tensors_sharing_memory():
    net = TwoLayer()
    state = net.state_dict()
    assert list(state) == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                           "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                           "fc2.weight", "fc2.bias"]
    assert all(isinstance(v, gradlite.Tensor) and not v.requires_grad for v in state.values())
    assert state["fc1.weight"].data is net.fc1.weight.data


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    source, target = small_cnn(nn), small_cnn(nn)
    x = gradlite.randn(3, 1, 8, 8)
    source.train()
    source(x)  # moves the BatchNorm running statistics
    source.eval()
    save(source.state_dict(), tmp_path / "model.ckpt")
    weight_array = target.features[0].weight.data
    result = target.load_state_dict(load(tmp_path / "model.ckpt"))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.features[0].weight.data is weight_array  # copied in place
    target.eval()
    np.testing.assert_array_equal(target(x).data, source(x).data)
    assert int(target.features[1].num_batches_tracked.item()) == 1


def test_load_state_dict_lists_every_problem_and_copies_nothing():
    net = TwoLayer()
    state = {k: v.data.copy() for k, v in net.state_dict().items()}
    del state["fc2.bias"], state["bn.running_var"]
    state["fc3.weight"] = np.zeros(2)
    state["fc1.weight"] = np.zeros((4, 8), np.float32)
    before = net.fc1.bias.data.copy()
    state["fc1.bias"] = before + 1
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert 'Missing key(s) in state_dict: "bn.running_var", "fc2.bias"' in message
    assert 'Unexpected key(s) in state_dict: "fc3.weight"' in message
    assert ("size mismatch for fc1.weight: copying a param with shape (4, 8) from checkpoint, "
            "the shape in current model is (8, 4)") in message
    np.testing.assert_array_equal(net.fc1.bias.data, before)


def test_load_state_dict_non_strict_reports_keys():
    net = TwoLayer()
    state = dict(net.state_dict())
    del state["fc2.bias"]
    state["extra"] = gradlite.zeros(1)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["extra"]
    state["fc1.weight"] = gradlite.zeros(3, 3)
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        net.load_state_dict(state, strict=False)
    with pytest.raises(TypeError, match="must be a Tensor or a numpy array"):
        net.load_state_dict({"fc1.weight": "weights"}, strict=False)


def test_state_dict_keys_and_repr_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = small_cnn(nn), small_cnn(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape), key
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(gradlite.tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_layer_reprs_match_torch():
    torch = pytest.importorskip("torch")
    for build in (lambda m: m.Conv2d(3, 6, 3, stride=2, padding=1, dilation=2, groups=3, bias=False),
                  lambda m: m.AvgPool2d(3, 2, 1), lambda m: m.ELU(0.5), lambda m: m.GELU("tanh"),
                  lambda m: m.Softmax(dim=1), lambda m: m.LogSoftmax(1), lambda m: m.Identity(),
                  lambda m: m.BatchNorm1d(3, affine=False), lambda m: m.BatchNorm2d(3, bias=False), lambda m: m.CrossEntropyLoss(),
                  lambda m: m.ModuleList([m.Linear(1, 2)]), lambda m: m.ModuleDict({"a": m.Tanh()})):
        assert repr(build(nn)) == repr(build(torch.nn))


# --------------------------------------------------------------------------- init and seeds
def test_calculate_gain_and_fans():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    assert init._calculate_fan_in_and_fan_out(gradlite.zeros(16, 6, 5, 5)) == (150, 400)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gradlite.zeros(3))


def test_init_distributions_have_the_documented_spread():
    w = gradlite.zeros(400, 500)
    bound = math.sqrt(6 / 900)
    init.xavier_uniform_(w)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.xavier_normal_(w, gain=2.0)
    assert abs(w.data.std() - 2 * math.sqrt(2 / 900)) < 0.01 * 2 * math.sqrt(2 / 900)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.data.std() - math.sqrt(2 / 400)) < 0.01 * math.sqrt(2 / 400)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.data).max() <= 1 / math.sqrt(500)
    init.normal_(w, 3.0, 0.5)
    assert abs(w.data.mean() - 3) < 0.01 and abs(w.data.std() - 0.5) < 0.01
    init.uniform_(w, -2, -1)
    assert w.data.min() >= -2 and w.data.max() < -1
    init.constant_(w, 0.25)
    assert np.all(w.data == 0.25) and w.dtype == np.float32
    assert np.all(init.ones_(w).data == 1) and np.all(init.zeros_(w).data == 0)


def test_default_init_bounds_are_pytorchs():
    linear = nn.Linear(50, 10)
    assert np.abs(linear.weight.data).max() <= 1 / math.sqrt(50)
    assert np.abs(linear.bias.data).max() <= 1 / math.sqrt(50)
    conv = nn.Conv2d(4, 8, 3, groups=2)
    fan_in = 2 * 9
    assert conv.weight.shape == (8, 2, 3, 3)
    assert np.abs(conv.weight.data).max() <= 1 / math.sqrt(fan_in)
    assert np.abs(conv.weight.data).max() > 0.9 / math.sqrt(fan_in)


def test_manual_seed_makes_init_and_dropout_reproducible():
    def run():
        gradlite.manual_seed(123)
        net = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5))
        return net.state_dict()["0.weight"].data.copy(), net(gradlite.ones(4, 6)).data

    (w1, y1), (w2, y2) = run(), run()
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(y1, y2)
    gradlite.manual_seed(124)
    assert not np.array_equal(nn.Linear(6, 6).weight.data, w1)


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="has no forward"):
        nn.Module()(1)
