"""gradlite.onnx.export: every file passes onnx.checker, and ONNX Runtime computes what
gradlite computes (atol 1e-4) at batch 1 and batch 7 from one file with a dynamic batch."""
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import pytest

import gradlite
import gradlite.onnx
from gradlite import models, nn
from gradlite.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ATOL = 1e-4


def model_zoo():
    if not (EXAMPLES / "model_zoo.py").is_file():
        pytest.skip("examples/model_zoo.py not found next to tests/")
    spec = importlib.util.spec_from_file_location("example_model_zoo", EXAMPLES / "model_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MODELS


class EveryLayer(nn.Module):
    """The layers and forward-code operations the exporter covers, with their options."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 6, 3, stride=(2, 1), padding=(1, 2), dilation=2, groups=2)
        self.bn2 = nn.BatchNorm2d(6)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.maxpool = nn.MaxPool2d((2, 3), stride=1, padding=1)
        self.adaptive = nn.AdaptiveAvgPool2d((2, 3))           # overlapping windows
        self.act = nn.Sequential(nn.LeakyReLU(0.2), nn.ELU(0.7), nn.GELU(), nn.Tanh())
        self.fc = nn.Linear(6 * 2 * 3, 12)
        self.bn1 = nn.BatchNorm1d(12, affine=False)
        self.seq = nn.Linear(4, 5)
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(12 + 15, 8), nn.GELU("tanh"),
                                  nn.Sigmoid(), nn.Softmax(dim=1))
        self.log_head = nn.LogSoftmax(dim=-1)
        self.register_buffer("offset", gradlite.linspace(0, 1, 8))

    def forward(self, x):
        y = self.act(self.bn2(self.conv(x)))
        y = self.adaptive(self.maxpool(self.pool(y) * 2 - 1))
        y = F.relu(self.bn1(self.fc(y.reshape(y.shape[0], -1))))
        z = self.seq((1 - y.reshape(y.shape[0], 3, 4) / 3).relu())     # Linear on 3-d input
        both = gradlite.cat([y, z.flatten(1)], dim=1)
        return self.log_head(self.head(-both) + self.offset)


def _randomise_batchnorm(model):
    rng = np.random.default_rng(3)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.data[...] = rng.standard_normal(m.num_features)
            m.running_var.data[...] = rng.uniform(0.5, 2, m.num_features)
            if m.weight is not None:
                m.weight.data[...] = rng.uniform(0.5, 1.5, m.num_features)
                m.bias.data[...] = rng.standard_normal(m.num_features)
    return model


def export_and_compare(model, input_shape):
    """Export with a dynamic batch; return the max abs difference over batches 1 and 7."""
    gradlite.manual_seed(0)
    buffer = io.BytesIO()
    gradlite.onnx.export(model, gradlite.randn(1, *input_shape), buffer, input_names=["input"],
                         output_names=["logits"],
                         dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    model.eval()
    worst = 0.0
    for batch in (1, 7):
        x = np.random.default_rng(batch).standard_normal((batch, *input_shape)).astype(np.float32)
        expected = model(gradlite.tensor(x)).data
        (got,) = session.run(None, {"input": x})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


@pytest.mark.parametrize("name", list(models.MODELS))
def test_library_models(name):
    gradlite.manual_seed(0)
    export_and_compare(models.MODELS[name](), (1, 28, 28))


@pytest.mark.parametrize("name", ["VGG-style", "ResNet-style", "Inception-style"])
def test_model_zoo_residual_and_inception(name):
    gradlite.manual_seed(0)
    export_and_compare(_randomise_batchnorm(model_zoo()[name]()), (1, 28, 28))


def test_every_layer_and_operation():
    gradlite.manual_seed(0)
    export_and_compare(_randomise_batchnorm(EveryLayer()), (2, 9, 8))


def test_export_leaves_the_model_and_tensor_as_they_were(tmp_path):
    model = models.lenet5()
    model.train()
    model[0].weight.requires_grad = False
    add, cat, conv2d = gradlite.Tensor.__add__, gradlite.cat, F.conv2d
    gradlite.onnx.export(model, gradlite.randn(2, 1, 28, 28), tmp_path / "lenet.onnx")
    assert model.training and all(m.training for m in model.modules())
    assert not model[0].weight.requires_grad and model[3].weight.requires_grad
    assert gradlite.Tensor.__add__ is add and gradlite.cat is cat and F.conv2d is conv2d
    assert sys.modules[cat.__module__].cat is cat        # patched where defined, too
    graph = onnx.load(tmp_path / "lenet.onnx").graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [2, 1, 28, 28]
    assert [i.name for i in graph.input] == ["input"]
    assert [o.name for o in graph.output] == ["output"]
    assert len(graph.initializer) >= len(list(model.parameters()))


def test_several_inputs_and_outputs_and_list_dynamic_axes():
    class TwoWay(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, a, b):
            return self.fc(a) + b, a

    model = TwoWay()
    a, b = gradlite.randn(4, 3), gradlite.randn(4, 2)
    buffer = io.BytesIO()
    proto = gradlite.onnx.export(model, (a, b), buffer, input_names=["a", "b"],
                                 output_names=["sum", "echo"], dynamic_axes={"a": [0], "sum": [0]})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "a_dynamic_axes_1"
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    got_sum, got_echo = session.run(None, {"a": a.data, "b": b.data})
    np.testing.assert_allclose(got_sum, (model.fc(a) + b).data, atol=ATOL)
    np.testing.assert_array_equal(got_echo, a.data)


class Exponential(nn.Module):
    def forward(self, x):
        return x.exp()


@pytest.mark.parametrize("model,named", [
    (nn.Sequential(nn.Flatten(), nn.Maxout(4, 3)),
     r"Maxout \(module '1'\): its forward uses the operation \w+, which has no ONNX"),
    (nn.Sequential(nn.Linear(4, 4), Exponential()),
     r"Exponential \(module '1'\).*no ONNX conversion"),
])
def test_a_layer_it_cannot_export_is_named(model, named):
    with pytest.raises(gradlite.onnx.UnsupportedOperatorError, match=named):
        gradlite.onnx.export(model, gradlite.randn(2, 4), io.BytesIO())
    assert gradlite.Tensor.exp.__name__ == "exp" and model.training


def test_bad_arguments():
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset_version must be in"):
        gradlite.onnx.export(model, gradlite.randn(1, 3), io.BytesIO(), opset_version=9)
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        gradlite.onnx.export(model, gradlite.randn(1, 3), io.BytesIO(), dynamic_axes={"x": [0]})
    with pytest.raises(TypeError, match="input 0 must be a floating-point tensor"):
        gradlite.onnx.export(model, gradlite.tensor([[1, 2, 3]]), io.BytesIO())


def test_command_line_export(tmp_path, capsys):
    from gradlite.cli import main, save_checkpoint
    gradlite.manual_seed(0)
    model = models.lenet5()
    meta = {"model": "lenet", "data": "mnist-small", "num_classes": 10,
            "classes": [str(i) for i in range(10)], "normalize": [0.1307, 0.3081]}
    save_checkpoint(tmp_path / "model.npz", model, meta)
    assert main(["export", str(tmp_path / "model.npz"), str(tmp_path / "lenet.onnx")]) == 0
    assert "lenet.onnx" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "lenet.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    model.eval()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model(gradlite.tensor(x)).data,
                               atol=ATOL)
    assert main(["export", str(tmp_path / "missing.npz"), str(tmp_path / "x.onnx")]) == 1
    assert "gradlite: error: checkpoint" in capsys.readouterr().err
