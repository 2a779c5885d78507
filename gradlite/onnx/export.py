"""``gradlite.onnx.export``: a model's forward pass as an ONNX file, as ``torch.onnx.export``.

    gradlite.onnx.export(model, gradlite.randn(1, 1, 28, 28), "model.onnx",
                         input_names=["input"], output_names=["logits"],
                         dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})

The model runs once on ``args`` (in evaluation mode) while ``trace.tracing`` records the
operations it calls; its parameters and buffers are stored in the file as initializers.
Shapes are fixed to those of ``args`` except the axes named in ``dynamic_axes``. Needs the
``onnx`` package (``pip install "gradlite[onnx]"``); ONNX Runtime runs the file.
"""
import os
import tempfile

import numpy as np

from ..tensor import Tensor, unwrap
from .trace import tracing

#: The opset written when ``opset_version`` is not given (torch.onnx's default too).
DEFAULT_OPSET = 17
#: The oldest opset whose operators (Softmax over one axis) the converters use.
MIN_OPSET = 13


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError('gradlite.onnx.export needs the onnx package: '
                          'pip install "gradlite[onnx]"') from None
    return onnx


def _names(given, count, default, what):
    if given is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    given = list(given)
    if len(given) != count or len(set(given)) != count:
        raise ValueError(f"onnx.export: {what} must be {count} distinct names, got {given}")
    return given


def _dynamic_dims(dynamic_axes, names):
    """{value name: {axis: dim name}} from torch's forms {name: {axis: "batch"}} or
    {name: [axis, ...]}."""
    result = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is neither an "
                             f"input nor an output name ({', '.join(names)})")
        if not isinstance(axes, dict):
            axes = {axis: f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(axes)}
        result[name] = {int(axis): str(dim) for axis, dim in axes.items()}
    return result


def _value_info(onnx, name, array, dynamic):
    shape = [dynamic.get(axis, size) for axis, size in enumerate(array.shape)]
    return onnx.helper.make_tensor_value_info(
        name, onnx.helper.np_dtype_to_tensor_dtype(array.dtype), shape)


def _rename_outputs(graph, outputs, output_names, inputs):
    """Give the output values their names: rename the node output that holds each,
    or add an Identity node when the value is an input, a constant or already named."""
    taken = set(inputs)
    for tensor, wanted in zip(outputs, output_names):
        current = graph.name(tensor)
        producers = [node for node in graph.nodes if current in node[2]]
        if current in taken or not producers:
            graph.nodes.append(("Identity", [current], [wanted], {}))
        else:
            for node in graph.nodes:
                node[1][:] = [wanted if n == current else n for n in node[1]]
                node[2][:] = [wanted if n == current else n for n in node[2]]
            graph.bind(tensor, wanted)
        taken.add(wanted)


def _write(model_proto, f):
    """Save to a path atomically (a temporary file, then a rename), or to a file object."""
    data = model_proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                         prefix=".onnx-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=None):
    """Trace ``model(*args)`` and write it to ``f`` (a path or a binary file) as ONNX.

    ``args``: a Tensor (or array), or a tuple of them, the example inputs.
    ``input_names``/``output_names``: the graph's value names (default ``input``,
    ``output``, or ``input_0``, ... for several). ``dynamic_axes``: ``{name: {axis:
    "dim name"}}`` or ``{name: [axis, ...]}`` for axes whose size may vary (the batch).
    ``opset_version``: the ONNX opset (default 17, at least 13).
    Returns the ``onnx.ModelProto`` (checked by ``onnx.checker``). An operation the
    exporter cannot convert raises ``UnsupportedOperatorError`` naming the module.
    """
    onnx = _import_onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"onnx.export: opset_version must be in [{MIN_OPSET}, {newest}], "
                         f"got {opset_version}")
    args = args if isinstance(args, tuple) else (args,)
    inputs = [Tensor(np.array(unwrap(a))) for a in args]
    for i, t in enumerate(inputs):
        if t.dtype.kind != "f":
            raise TypeError(f"onnx.export: input {i} must be a floating-point tensor, "
                            f"got {t.dtype}")
        t.requires_grad = True
    input_names = _names(input_names, len(inputs), "input", "input_names")

    with tracing(model) as graph:
        for t, name in zip(inputs, input_names):
            graph.bind(t, name)
        result = model(*inputs)
        outputs = [result] if isinstance(result, Tensor) else list(result)
        if not all(isinstance(t, Tensor) for t in outputs):
            raise TypeError("onnx.export: the model must return a Tensor or a tuple of Tensors")
        graph.check_outputs(model, outputs)
        output_names = _names(output_names, len(outputs), "output", "output_names")
        dims = _dynamic_dims(dynamic_axes, input_names + output_names)
        _rename_outputs(graph, outputs, output_names, input_names)

    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    nodes = [helper.make_node(op, ins, outs, **attrs) for op, ins, outs, attrs in graph.nodes]
    onnx_graph = helper.make_graph(
        nodes, type(model).__name__,
        [_value_info(onnx, n, t.data, dims.get(n, {})) for n, t in zip(input_names, inputs)],
        [_value_info(onnx, n, t.data, dims.get(n, {})) for n, t in zip(output_names, outputs)],
        [numpy_helper.from_array(array, name) for name, array in graph.initializers.items()])
    from .. import __version__
    model_proto = helper.make_model(onnx_graph, producer_name="gradlite",
                                    producer_version=__version__,
                                    opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model_proto)
    _write(model_proto, f)
    return model_proto
