"""RNN, LSTM, GRU and their cells: PyTorch agreement (outputs, input and parameter
gradients), gradcheck of the fused layer ops over hypothesis-drawn shapes, and the
fused ops against their composite definitions."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradlite
import gradlite.nn as nn
from gradlite import _kernels, gradcheck, gradgradcheck
from gradlite.ops import recurrent as R
from torch_twins import TOLERANCES, array, assert_same_gradients, leaf, load_from_torch


def run_both(torch, mode, dtype, kwargs, x, with_state):
    """Build the torch layer, copy it into ours, run both on x, backprop a loss that
    touches every output; return (ours, theirs, (our outs), (their outs), xs)."""
    theirs = getattr(torch.nn, mode)(**kwargs).to(getattr(torch, np.dtype(dtype).name))
    ours = getattr(nn, mode)(**kwargs).to(dtype)
    load_from_torch(ours, theirs)
    tx, gx = torch.tensor(x, requires_grad=True), leaf(x)
    targs, gargs = [tx], [gx]
    if with_state:
        directions = 2 if kwargs.get("bidirectional") else 1
        batch = x.shape[0 if kwargs.get("batch_first") else 1]
        shape = (kwargs.get("num_layers", 1) * directions, batch, kwargs["hidden_size"])
        states = [array(*shape, seed=s, dtype=dtype) for s in (1, 2)]
        if mode == "LSTM":
            targs.append(tuple(torch.tensor(s, requires_grad=True) for s in states))
            gargs.append(tuple(leaf(s) for s in states))
        else:
            targs.append(torch.tensor(states[0], requires_grad=True))
            gargs.append(leaf(states[0]))
    results = []
    for module, args in ((ours, gargs), (theirs, targs)):
        out, state = module(*args)
        states = state if mode == "LSTM" else (state,)
        loss = (out * out).sum() + sum(((k + 2) * s).sum() for k, s in enumerate(states))
        loss = loss + sum((s * s * s).sum() for s in states)
        loss.backward()
        results.append((out,) + tuple(states))
    return ours, theirs, results[0], results[1], (gargs, targs)


def flat_inputs(args):
    flat = []
    for a in args:
        flat.extend(a if isinstance(a, tuple) else (a,))
    return flat


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_layer_bidirectional_matches_torch(mode, batch_first, dtype):
    torch = pytest.importorskip("torch")
    kwargs = dict(input_size=5, hidden_size=6, num_layers=2, bidirectional=True,
                  batch_first=batch_first)
    x = array(3, 4, 5, dtype=dtype)
    ours, theirs, mine, others, (gargs, targs) = run_both(torch, mode, dtype, kwargs, x, True)
    tol = TOLERANCES[dtype]
    for a, b in zip(mine, others):
        np.testing.assert_allclose(a.data, b.detach().numpy(), **tol)
    for a, b in zip(flat_inputs(gargs), flat_inputs(targs)):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tol)
    assert_same_gradients(ours, theirs, **tol)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("mode, kwargs", [
    ("LSTM", dict(bias=False)), ("GRU", dict(bias=False, num_layers=3)),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)), ("RNN", dict(bias=False))])
def test_options_match_torch(mode, kwargs):
    torch = pytest.importorskip("torch")
    kwargs = dict(input_size=3, hidden_size=4, **kwargs)
    ours, theirs, mine, others, _ = run_both(torch, mode, np.float64, kwargs,
                                             array(5, 2, 3), False)
    for a, b in zip(mine, others):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert_same_gradients(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_unbatched_input_and_eval_mode_match_torch(mode):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, mode)(3, 4, num_layers=2, dropout=0.5).double().eval()
    ours = getattr(nn, mode)(3, 4, num_layers=2, dropout=0.5).double().eval()
    load_from_torch(ours, theirs)
    x = array(6, 3)
    out, state = ours(gradlite.tensor(x))
    expected, expected_state = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10)
    assert out.shape == (6, 4)
    states = zip(state, expected_state) if mode == "LSTM" else [(state, expected_state)]
    for a, b in states:
        assert a.shape == (2, 4)
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10)


def test_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = gradlite.tensor(array(5, 2, 3))
    lstm.eval()
    first, second = lstm(x)[0], lstm(x)[0]
    np.testing.assert_array_equal(first.data, second.data)
    lstm.train()
    assert not np.allclose(lstm(x)[0].data, first.data)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(cell, batched):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, cell)(3, 5).double()
    ours = getattr(nn, cell)(3, 5).double()
    load_from_torch(ours, theirs)
    assert list(ours.state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    shape = (2, 3) if batched else (3,)
    x, h, c = array(*shape), array(*shape[:-1], 5, seed=1), array(*shape[:-1], 5, seed=2)
    if cell == "LSTMCell":
        mine = ours(leaf(x), (leaf(h), leaf(c)))
        others = theirs(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    else:
        mine, others = (ours(leaf(x), leaf(h)),), (theirs(torch.tensor(x), torch.tensor(h)),)
    for a, b in zip(mine, others):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum(((k + 1) * m * m).sum() for k, m in enumerate(mine)).backward()
    sum(((k + 1) * o * o).sum() for k, o in enumerate(others)).backward()
    assert_same_gradients(ours, theirs, rtol=1e-9, atol=1e-12)


def test_default_init_and_state_with_wrong_shape():
    lstm = nn.LSTM(3, 16, num_layers=2, bidirectional=True)
    assert lstm.weight_hh_l1_reverse.shape == (64, 16)
    assert lstm.weight_ih_l1.shape == (64, 32)
    values = np.concatenate([p.data.ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24
    assert values.dtype == np.float32
    with pytest.raises(ValueError, match=r"input_size. Expected 3, got 4"):
        lstm(gradlite.zeros(2, 1, 4))
    with pytest.raises(ValueError, match=r"expected hidden size \(4, 1, 16\), got \(2, 1, 16\)"):
        lstm(gradlite.zeros(2, 1, 3), (gradlite.zeros(2, 1, 16), gradlite.zeros(2, 1, 16)))


# ----------------------------------------------------------------- the fused ops themselves
def layer_inputs(draw_sizes, gates, with_cell, bias, seed):
    T, B, I, H = draw_sizes
    parts = [array(T, B, I, seed=seed), array(B, H, seed=seed + 1)]
    if with_cell:
        parts.append(array(B, H, seed=seed + 2))
    parts += [array(gates * H, I, seed=seed + 3) * 0.5, array(gates * H, H, seed=seed + 4) * 0.5]
    tensors = [leaf(p) for p in parts]
    biases = [leaf(array(gates * H, seed=seed + k)) if bias else None for k in (5, 6)]
    return tensors + biases


LAYERS = {"LSTM": (R.LSTMLayer, R.lstm_layer_composite, 4, True, ()),
          "GRU": (R.GRULayer, R.gru_layer_composite, 3, False, ()),
          "RNN_TANH": (R.RNNLayer, R.rnn_layer_composite, 1, False, ("tanh",)),
          "RNN_RELU": (R.RNNLayer, R.rnn_layer_composite, 1, False, ("relu",))}

sizes = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@settings(max_examples=8)
@given(sizes=sizes, mode=st.sampled_from(sorted(LAYERS)), reverse=st.booleans(),
       bias=st.booleans(), seed=st.integers(0, 100))
def test_fused_layers_gradcheck_and_match_composite(sizes, mode, reverse, bias, seed):
    op, composite, gates, with_cell, extra = LAYERS[mode]
    inputs = layer_inputs(sizes, gates, with_cell, bias, seed)
    fused = lambda *a: op.apply(*a, reverse, *extra)  # noqa: E731
    spec = lambda *a: composite(*a, reverse, *extra)  # noqa: E731
    np.testing.assert_allclose(fused(*inputs).data, spec(*inputs).data, rtol=1e-12, atol=1e-12)
    assert gradcheck(fused, inputs)


@pytest.mark.parametrize("mode", sorted(LAYERS))
def test_fused_layers_gradgradcheck(mode):
    op, _, gates, with_cell, extra = LAYERS[mode]
    inputs = layer_inputs((3, 2, 2, 2), gates, with_cell, True, 7)
    assert gradgradcheck(lambda *a: op.apply(*a, True, *extra), inputs)


@pytest.mark.skipif(not _kernels.COMPILED, reason="the compiled kernels are not built")
@given(B=st.integers(0, 5), H=st.integers(0, 9), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2 ** 16))
def test_fused_lstm_backward_step_matches_its_numpy_twin(B, H, dtype, seed):
    """_kernels._lstm.backward_step against the numpy step of LSTMLayer.backward."""
    from gradlite._kernels import _lstm
    rng = np.random.default_rng(seed)
    gates = np.concatenate([rng.uniform(0, 1, (B, 2 * H)), rng.uniform(-1, 1, (B, H)),
                            rng.uniform(0, 1, (B, H))], axis=1).astype(dtype)
    tanh_c, c_prev, dh, dc = (rng.standard_normal((B, H)).astype(dtype) for _ in range(4))
    expected_dc, expected_d = dc.copy(), np.empty((B, 4 * H), dtype)
    R._lstm_cell_grads(gates, tanh_c, c_prev, dh, expected_dc, expected_d)
    fused_dc, fused_d = dc.copy(), np.empty((B, 4 * H), dtype)
    _lstm.backward_step(gates, tanh_c, c_prev, dh, fused_dc, fused_d)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fused_d, expected_d, rtol=tol, atol=tol)
    np.testing.assert_allclose(fused_dc, expected_dc, rtol=tol, atol=tol)


@pytest.mark.skipif(not _kernels.COMPILED, reason="the compiled kernels are not built")
@given(B=st.integers(0, 4), H=st.integers(0, 19), magnitude=st.floats(1e-3, 30),
       seed=st.integers(0, 2 ** 16))
def test_fused_lstm_forward_step_matches_its_numpy_twin(B, H, magnitude, seed):
    """_kernels._lstm.forward_step (its own vectorised exp, sigmoid and tanh) against the
    numpy step of LSTMLayer.forward, H drawn so that rows end in a partial vector."""
    from gradlite._kernels import _lstm
    rng = np.random.default_rng(seed)
    a, recurrent = (rng.standard_normal((B, 4 * H)).astype(np.float32) * np.float32(magnitude)
                    for _ in range(2))
    c_prev = rng.standard_normal((B, H)).astype(np.float32) * np.float32(magnitude)
    results = []
    for step in (R._lstm_cell, _lstm.forward_step):
        gates, c, tanh_c, h = a.copy(), *(np.empty((B, H), np.float32) for _ in range(3))
        step(gates, recurrent, c_prev, c, tanh_c, h)
        results.append((gates, c, tanh_c, h))
    for name, ours, spec in zip(("gates", "c", "tanh_c", "h"), results[1], results[0]):
        np.testing.assert_allclose(ours, spec, rtol=1e-5, atol=2e-6 * max(1, magnitude),
                                   err_msg=name)


@pytest.mark.skipif(not _kernels.COMPILED, reason="the compiled kernels are not built")
def test_fused_lstm_forward_step_keeps_nan_and_saturates_at_infinity():
    from gradlite._kernels import _lstm
    special = np.array([np.nan, np.inf, -np.inf, 100, -100, 0, 1e-30, -1e-30], np.float32)
    a = np.tile(special, 4)[None]               # the same values in all four gates
    c, tanh_c, h = (np.empty((1, 8), np.float32) for _ in range(3))
    _lstm.forward_step(a, np.zeros_like(a), np.zeros((1, 8), np.float32), c, tanh_c, h)
    sigmoid = [np.nan, 1, 0, 1, 0, 0.5, 0.5, 0.5]
    tanh = [np.nan, 1, -1, 1, -1, 0, 1e-30, -1e-30]
    np.testing.assert_allclose(a[0, :8], sigmoid, atol=1e-30)
    np.testing.assert_allclose(a[0, 16:24], tanh, rtol=1e-6, atol=0)
