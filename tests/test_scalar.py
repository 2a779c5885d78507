"""The scalar engine: the lecture's examples, node reuse, deep chains, DOT graphs."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlite import Value, draw_dot, render_dot


def test_chain_rule_example_from_the_lecture():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert (q.data, f.data) == (3.0, -12.0)
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_neuron_example_from_the_lecture():
    # two sigmoid hidden units fed by inputs (1.0, 0.0), then a sigmoid output unit
    x1, x2 = Value(1.0), Value(0.0)
    h1 = (x1 * 3.7 + x2 * 3.7 + 1 * -1.5).sigmoid()
    h2 = (x1 * 2.9 + x2 * 2.9 + 1 * -4.5).sigmoid()
    out = (h1 * 4.5 + h2 * -5.2 + 1 * -2.0).sigmoid()
    assert round(h1.data, 2) == 0.90
    assert round(h2.data, 2) == 0.17
    assert round(out.data, 2) == 0.76
    out.backward()
    s = out.data
    assert h1.grad == pytest.approx(s * (1 - s) * 4.5)


def test_reused_node_accumulates_gradient():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    b = Value(-1.5)
    (b + b).backward()
    assert b.grad == 2.0
    c = Value(2.0)
    d = c * c + c          # dd/dc = 2c + 1
    d.backward()
    assert c.grad == 5.0


def test_backward_twice_gives_the_same_answer():
    x = Value(0.7)
    f = (x * x).tanh() + x.exp()
    f.backward()
    first = x.grad
    f.backward()
    assert x.grad == first


def test_chain_of_100000_nodes_has_no_recursion_error():
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1
    y.backward()
    assert y.data == 100_001.0
    assert x.grad == 1.0


def test_power_with_a_value_exponent():
    a, b = Value(2.0), Value(3.0)
    f = a ** b
    f.backward()
    assert f.data == 8.0
    assert a.grad == pytest.approx(3 * 2.0 ** 2)
    assert b.grad == pytest.approx(8.0 * math.log(2.0))


def test_reflected_operators_and_division():
    x = Value(4.0)
    f = 1 - 2 / x + 3 * x - x / 2 + 2 ** x
    f.backward()
    assert f.data == pytest.approx(1 - 0.5 + 12 - 2 + 16)
    assert x.grad == pytest.approx(2 / 16 + 3 - 0.5 + 16 * math.log(2))


def test_sigmoid_is_stable_at_extremes():
    assert Value(-1e4).sigmoid().data == 0.0
    assert Value(1e4).sigmoid().data == 1.0


UNARY = {
    "exp": (lambda v: v.exp(), math.exp),
    "log": (lambda v: v.log(), math.log),
    "tanh": (lambda v: v.tanh(), math.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x))),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0)),
    "pow": (lambda v: v ** 2.5, lambda x: x ** 2.5),
    "div": (lambda v: 1.5 / (v + 1), lambda x: 1.5 / (x + 1)),
    "neg_sub": (lambda v: 2 - (-v) * v, lambda x: 2 + x * x),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(x=st.floats(0.05, 3.0))
def test_gradient_matches_central_difference(name, x):
    build, plain = UNARY[name]
    v = Value(x)
    out = build(v)
    out.backward()
    eps = 1e-6
    numerical = (plain(x + eps) - plain(x - eps)) / (2 * eps)
    assert out.data == pytest.approx(plain(x))
    assert v.grad == pytest.approx(numerical, rel=1e-5, abs=1e-6)


def test_draw_dot_names_every_node_with_op_data_and_grad(tmp_path):
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    f = (x + y) * z
    f.backward()
    dot = draw_dot(f)
    assert dot.startswith("digraph")
    assert "x | data -2.0000 | grad -4.0000" in dot
    assert "z | data -4.0000 | grad 3.0000" in dot
    assert 'label="+"' in dot and 'label="*"' in dot
    assert render_dot(dot, tmp_path / "graph.dot").read_text() == dot


def test_render_dot_explains_how_to_get_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        render_dot("digraph G {}", tmp_path / "graph.svg")


def test_sum_and_dot_are_single_nodes_with_the_right_gradients():
    w = [Value(0.5), Value(-2.0), Value(3.0)]
    x = [Value(1.0), Value(4.0), Value(-1.0)]
    d = Value.dot(w, x)
    assert d.data == 0.5 - 8.0 - 3.0 and len(d._prev) == 6
    s = Value.sum([d, w[0], 2.0])
    s.backward()
    assert s.data == d.data + 0.5 + 2.0
    assert [v.grad for v in w] == [1.0 + 1.0, 4.0, -1.0]
    assert [v.grad for v in x] == [0.5, -2.0, 3.0]


def _source_module():
    """gradlite/scalar.py run by the interpreter, as a reader sees it, even where
    ``pip install`` compiled it with Cython (then ``gradlite.scalar`` is the .so)."""
    import importlib.util
    from pathlib import Path

    import gradlite.scalar
    source = Path(gradlite.scalar.__file__).with_name("scalar.py")
    spec = importlib.util.spec_from_file_location("gradlite_scalar_source", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mlp_step(engine, seed):
    """A small ReLU MLP's summed hinge loss on a few points, with ``dot`` neurons and
    a shared subexpression; returns the loss and every weight (to read their grads)."""
    import random
    rng = random.Random(seed)
    layers = [[([engine(rng.uniform(-1, 1)) for _ in range(n_in)], engine(rng.uniform(-1, 1)))
               for _ in range(n_out)] for n_in, n_out in ((2, 5), (5, 3), (3, 1))]
    losses = []
    for _ in range(4):
        x = [engine(rng.uniform(-2, 2)), engine(rng.uniform(-2, 2))]
        for depth, layer in enumerate(layers):
            x = [engine.dot(w, x, b) if depth else engine.dot(w, x) + b for w, b in layer]
            if depth < len(layers) - 1:
                x = [v.relu() if k % 2 else v.tanh() * v for k, v in enumerate(x)]
        losses.append((1 - rng.choice((-1.0, 1.0)) * x[0]).relu())
    loss = engine.sum(losses) + 1e-3 * engine.sum([wi * wi for w, _ in layers[0] for wi in w])
    loss.backward()
    return loss, [v for layer in layers for w, b in layer for v in (*w, b)]


@given(seed=st.integers(0, 10_000))
def test_compiled_engine_and_its_python_source_agree(seed):
    source = _source_module()
    ours, our_weights = _mlp_step(Value, seed)
    theirs, their_weights = _mlp_step(source.Value, seed)
    assert ours.data == theirs.data
    assert [w.grad for w in our_weights] == [w.grad for w in their_weights]


def test_python_source_runs_the_lecture_example_and_deep_chains():
    V = _source_module().Value
    x, y, z = V(-2.0), V(5.0), V(-4.0)
    f = (x + y) * z
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    chain = x
    for _ in range(20_000):
        chain = chain + 1
    chain.backward()
    assert x.grad == 1.0


def test_backward_from_a_subgraph_then_the_whole_graph():
    # each backward is a new search: Values reached by an earlier one are visited again
    a, b = Value(2.0), Value(3.0)
    inner = a * b
    outer = inner * a + b
    inner.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)
    outer.backward()
    assert (a.grad, b.grad) == (2 * 2.0 * 3.0, 2.0 * 2.0 + 1)


def test_dot_with_a_bias_is_one_node():
    w, x, b = [Value(2.0), Value(-1.0)], [Value(3.0), Value(4.0)], Value(0.5)
    d = Value.dot(w, x, b)
    assert d.data == 2.0 * 3.0 - 4.0 + 0.5 and len(d._prev) == 5
    (d * d).backward()
    assert b.grad == 2 * d.data
    assert [v.grad for v in w] == [2 * d.data * 3.0, 2 * d.data * 4.0]
    assert [v.grad for v in x] == [2 * d.data * 2.0, 2 * d.data * -1.0]
