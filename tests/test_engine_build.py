"""The tensor engine, compiled or not.

``pip install .`` compiles the engine's hot path with Cython (setup.py's ``ENGINE``:
the graph, Tensor, the most used ops); ``GRADLITE_PLAIN_ENGINE=1`` builds without it, and
CI runs the core tests on that build too, so the .py files, which are the source, keep
working as the interpreter runs them. Either way a Tensor must behave as the .py says.
"""
import copy
import importlib
import os
import pickle
import weakref

import numpy as np
import pytest

import gradlite
from gradlite import nn

ENGINE = ["autograd", "tensor", "ops.util", "ops.elementwise", "ops.activation", "ops.reduce"]


def _is_compiled(name):
    return not importlib.import_module(f"gradlite.{name}").__file__.endswith(".py")


def test_the_engine_is_compiled_in_a_build_unless_asked_not_to():
    if not _is_compiled("scalar"):
        pytest.skip("nothing of gradlite is compiled here (a checkout that was not built)")
    plain = os.environ.get("GRADLITE_PLAIN_ENGINE", "") not in ("", "0")
    compiled = {name: _is_compiled(name) for name in ENGINE}
    if not plain and not any(compiled.values()):
        pytest.skip("the engine is not compiled in this build (built with "
                    "GRADLITE_PLAIN_ENGINE=1, or before the engine was compiled)")
    assert compiled == {name: not plain for name in ENGINE}


def test_tensor_keeps_its_python_semantics():
    t = gradlite.tensor([1.0, -2.0], requires_grad=True)
    assert hash(t) == hash(t) and {t: 1}[t] == 1          # hashed by identity
    assert weakref.ref(t)() is t
    with pytest.raises(AttributeError):
        t.label = "x"                                       # no __dict__, as __slots__ says
    p = nn.Parameter(gradlite.ones(3))
    assert isinstance(p, gradlite.Tensor) and type(copy.deepcopy(p)) is nn.Parameter
    assert not hasattr(p, "__dict__")
    back = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(back.data, t.data)
    assert back.requires_grad and back.grad is None
    y = (t * t).tanh().sum()
    y.backward()
    np.testing.assert_allclose(t.grad.data, 2 * t.data / np.cosh(t.data ** 2) ** 2,
                               rtol=1e-4, atol=1e-6)
    assert gradlite.Tensor._make(np.zeros(2), False).requires_grad is False


def test_a_subclass_gets_its_own_attributes():
    class Tagged(gradlite.Tensor):
        pass

    t = Tagged(np.ones(2, np.float32), requires_grad=True)
    t.tag = "mine"
    (t * 2).sum().backward()
    assert t.tag == "mine" and t.grad.data.tolist() == [2.0, 2.0]
