"""``gradlite.save``/``gradlite.load`` on ``.safetensors`` paths: weights exchanged with
PyTorch both ways (LeNet-5 and a BatchNorm model, int64 buffers included), atomic writes,
one clear error for damaged files."""
import json
import os

import numpy as np
import pytest

import gradlite
from gradlite import nn
from gradlite.models import lenet5

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def gradlite_bn_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 5), nn.BatchNorm1d(5))


def torch_bn_model(torch):
    tnn = torch.nn
    return tnn.Sequential(tnn.Conv2d(1, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.Flatten(),
                          tnn.Linear(4 * 6 * 6, 5), tnn.BatchNorm1d(5))


def torch_lenet5(torch):
    tnn = torch.nn
    return tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                          tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                          tnn.Linear(84, 10))


MODELS = {  # name -> (gradlite builder, torch builder, input shape)
    "lenet5": (lenet5, torch_lenet5, (3, 1, 28, 28)),
    "batchnorm": (gradlite_bn_model, torch_bn_model, (3, 1, 8, 8)),
}


def train_a_little(torch, model, shape):
    """Two training steps, so the BatchNorm buffers (and num_batches_tracked) move."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(*shape)).square().mean().backward()
        optimizer.step()
    return model.eval()


def gradlite_output(model, x):
    model.eval()
    with gradlite.no_grad():
        return model(gradlite.tensor(x)).numpy()


@pytest.mark.parametrize("name", MODELS)
def test_pytorch_to_gradlite(tmp_path, name):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    build, build_torch, shape = MODELS[name]
    torch.manual_seed(0)
    source = train_a_little(torch, build_torch(torch), shape)
    path = tmp_path / f"{name}.safetensors"
    save_file(source.state_dict(), str(path))

    state = gradlite.load(path)
    expected = {k: v.numpy() for k, v in source.state_dict().items()}
    assert set(state) == set(expected)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype and state[key].shape == value.shape, key
        np.testing.assert_array_equal(state[key], value)
    if name == "batchnorm":
        assert state["1.num_batches_tracked"].dtype == np.int64
        assert state["1.num_batches_tracked"] == 2
    model = build()
    model.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        reference = source(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(gradlite_output(model, x), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_gradlite_to_pytorch(tmp_path, name):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    build, build_torch, shape = MODELS[name]
    gradlite.manual_seed(1)
    model = build()
    if name == "batchnorm":                 # move the buffers: one forward in train mode
        model.train()
        model(gradlite.randn(*shape))
    path = tmp_path / f"{name}.safetensors"
    gradlite.save(model.state_dict(), path)

    tensors = load_file(str(path))
    for key, value in model.state_dict().items():
        assert tensors[key].numpy().dtype == value.numpy().dtype, key
        np.testing.assert_array_equal(tensors[key].numpy(), value.numpy())
    if name == "batchnorm":
        assert tensors["1.num_batches_tracked"].dtype == torch.int64
        assert tensors["1.num_batches_tracked"].item() == 1
    target = build_torch(torch)
    target.load_state_dict(tensors)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        reference = target.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(gradlite_output(model, x), reference, rtol=1e-4, atol=1e-5)


def test_round_trip_of_dtypes_and_layouts(tmp_path):
    state = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3).T,   # not contiguous
             "f16": np.ones(3, np.float16), "f64": np.zeros((2, 0)),
             "i64": np.array(7, np.int64), "big": np.arange(4, dtype=">i4"),
             "bool": np.array([True, False]), "u8": np.arange(3, dtype=np.uint8),
             "tensor": gradlite.ones(2, 2), "scalar": np.float32(2.5)}
    path = tmp_path / "m.safetensors"
    gradlite.save(state, path)
    back = gradlite.load(path)
    assert set(back) == set(state)
    for key, value in state.items():
        value = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        assert back[key].dtype == value.dtype.newbyteorder("=") and back[key].flags.writeable
        np.testing.assert_array_equal(back[key], value)
    assert safetensors_numpy.load_file(str(path)).keys() == state.keys()


def test_the_write_is_atomic_and_keeps_the_mode(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    gradlite.save({"w": np.ones(3, np.float32)}, path)
    os.chmod(path, 0o600)
    gradlite.save({"w": np.zeros(3, np.float32)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o600 and os.listdir(tmp_path) == [path.name]

    def no_rename(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="gradlite.save: could not write .*m.safetensors"):
        gradlite.save({"w": np.full(3, 5, np.float32)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(gradlite.load(path)["w"], np.zeros(3))
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("obj, message", [
    ([np.ones(2)], "dict of str -> arrays"),
    ({1: np.ones(2)}, "str keys"),
    ({"w": [1, 2]}, r"obj\['w'\] is a list"),
    ({"w": np.array(["a"])}, "cannot write a .safetensors file"),
])
def test_save_refuses_what_the_format_cannot_hold(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        gradlite.save(obj, tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


def damaged_files(good):
    """(what, bytes) of damaged versions of the safetensors file ``good``."""
    n = int.from_bytes(good[:8], "little")
    header = json.loads(good[8:8 + n])
    lying = dict(header, w=dict(header["w"], shape=[1000, 1000]))
    lying_text = json.dumps(lying).encode()
    yield "empty", b""
    yield "truncated length", good[:5]
    yield "length beyond the file", (10 ** 12).to_bytes(8, "little") + good[8:]
    yield "truncated data", good[:-4]
    yield "not json", good[:8] + b"{" * n + good[8 + n:]
    yield "shape lies", len(lying_text).to_bytes(8, "little") + lying_text + good[8 + n:]
    yield "a pickle", b"\x80\x04\x95" + good


def test_damaged_files_give_one_clear_error(tmp_path):
    path = tmp_path / "m.safetensors"
    gradlite.save({"w": np.arange(12, dtype=np.float32)}, path)
    good = path.read_bytes()
    for what, content in damaged_files(good):
        path.write_bytes(content)
        with pytest.raises(ValueError, match=r"^gradlite.load: cannot read .*m\.safetensors "
                                             r"as a safetensors file \(.+\)$"):
            gradlite.load(path)


def test_bfloat16_is_refused_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    save_file({"w": torch.ones(3, dtype=torch.bfloat16)}, str(tmp_path / "bf16.safetensors"))
    with pytest.raises(ValueError, match="cannot read .* as a safetensors file .*bfloat16"):
        gradlite.load(tmp_path / "bf16.safetensors")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        gradlite.load(tmp_path / "none.safetensors")


def test_without_the_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "gradlite\[safetensors\]"'):
        gradlite.save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ImportError, match=r"gradlite.load: .*gradlite\[safetensors\]"):
        gradlite.load(tmp_path / "m.safetensors")
