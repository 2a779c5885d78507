"""Embedding, LayerNorm and GroupNorm: PyTorch agreement, gradcheck over
hypothesis-drawn shapes, the fused norms against their composite definitions."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
from gradlite import gradcheck, gradgradcheck
from gradlite.ops import norm


def array(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def leaf(a):
    return gradlite.tensor(a, requires_grad=True)


# ----------------------------------------------------------------- embedding
def test_embedding_lookup_and_scatter_add_gradient():
    table = leaf(array(5, 3))
    ids = gradlite.tensor([[0, 2, 2], [4, 2, 0]])
    out = F.embedding(ids, table)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data[0, 1], table.data[2])
    out.backward(gradlite.ones(2, 3, 3, dtype=np.float64))
    np.testing.assert_array_equal(table.grad.data[:, 0], [2, 0, 3, 0, 1])


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_embedding_matches_torch(padding_idx, dtype):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(6, 4, padding_idx=padding_idx).to(getattr(torch, np.dtype(dtype).name))
    ours = nn.Embedding(6, 4, padding_idx=padding_idx).to(dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ids = np.array([[1, 5, 1, 0], [3, 5, 5, 2]])
    out, expected = ours(gradlite.tensor(ids)), theirs(torch.tensor(ids))
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    g = array(2, 4, 4, dtype=dtype)
    out.backward(gradlite.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-6)


def test_embedding_padding_row_starts_at_zero_and_max_norm_renormalises():
    emb = nn.Embedding(10, 3, padding_idx=2)
    assert not emb.weight.data[2].any() and emb.weight.data.dtype == np.float32
    capped = nn.Embedding(4, 3, max_norm=1.0)
    capped.weight.data[:] = [[3, 4, 0], [0.1, 0, 0], [0, 0, 5], [1, 1, 1]]
    out = capped(gradlite.tensor([0, 1, 0]))
    np.testing.assert_allclose(np.linalg.norm(out.data, axis=1), [1, 0.1, 1], rtol=1e-5)
    np.testing.assert_array_equal(capped.weight.data[2], [0, 0, 5])   # not looked up
    frozen = nn.Embedding.from_pretrained(gradlite.tensor(array(3, 2)))
    assert not frozen.weight.requires_grad


def test_embedding_errors():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"embedding: index 4 is out of range for a table of 4"):
        emb(gradlite.tensor([0, 4]))
    with pytest.raises(TypeError, match="embedding: input must hold integer ids"):
        emb(gradlite.tensor([0.0, 1.0]))


@settings(max_examples=10)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=2), rows=st.integers(1, 4),
       dim=st.integers(1, 3), seed=st.integers(0, 100))
def test_embedding_gradcheck(shape, rows, dim, seed):
    """(padding_idx is left out: by definition its row gets no gradient, which is not
    the derivative finite differences see; test_embedding_matches_torch covers it.)"""
    ids = np.random.default_rng(seed).integers(0, rows, shape)
    assert gradcheck(lambda w: F.embedding(ids, w), [leaf(array(rows, dim, seed=seed))])


def test_embedding_gradgradcheck():
    ids = np.array([0, 2, 2])
    assert gradgradcheck(lambda w: F.embedding(ids, w) ** 2, [leaf(array(3, 2))])


# ----------------------------------------------------------------- layer norm / group norm
@pytest.mark.parametrize("shape, normalized", [((2, 3, 5), (5,)), ((4, 3, 2), (3, 2)),
                                               ((7,), 7)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_matches_torch(shape, normalized, affine, dtype):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=affine)
    ours = nn.LayerNorm(normalized, elementwise_affine=affine)
    if affine:
        for p in theirs.parameters():
            p.data.normal_()
    theirs.to(getattr(torch, np.dtype(dtype).name))
    ours.to(dtype).load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = array(*shape, dtype=dtype) * 3 + 1
    tx, gx = torch.tensor(x, requires_grad=True), leaf(x)
    out, expected = ours(gx), theirs(tx)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    g = array(*shape, seed=1, dtype=dtype)
    out.backward(gradlite.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), **tol)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.data, p.grad.numpy(), **tol)


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 4), 3), ((3, 4, 5), 4), ((2, 4), 1)])
def test_group_norm_matches_torch(shape, groups):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.GroupNorm(groups, shape[1]).double()
    for p in theirs.parameters():
        p.data.normal_()
    ours = nn.GroupNorm(groups, shape[1]).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = array(*shape)
    tx, gx = torch.tensor(x, requires_grad=True), leaf(x)
    out, expected = ours(gx), theirs(tx)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * out * out).sum().backward()
    (expected * expected * expected).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), rtol=1e-9)


def test_norm_errors():
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) must match the "
                                         r"last dims of the input, whose shape is \(2, 3\)"):
        F.layer_norm(gradlite.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match=r"group_norm: the 6 channels .* divisible by "
                                         r"num_groups=4"):
        F.group_norm(gradlite.zeros(2, 6), 4)
    with pytest.raises(ValueError, match="GroupNorm: num_channels .5. must be divisible"):
        nn.GroupNorm(2, 5)


@settings(max_examples=10)
@given(lead=st.lists(st.integers(1, 3), max_size=2), tail=st.lists(st.integers(1, 3), min_size=1,
                                                                    max_size=2),
       affine=st.booleans(), seed=st.integers(0, 100))
def test_layer_norm_gradcheck_and_composite(lead, tail, affine, seed):
    x = leaf(array(*lead, *tail, seed=seed) * 2)
    params = [leaf(array(*tail, seed=seed + 1)), leaf(array(*tail, seed=seed + 2))] if affine \
        else [None, None]
    inputs = [x] + [p for p in params if p is not None]
    fused = lambda x, w=None, b=None: norm.LayerNormalization.apply(x, w, b, len(tail), 1e-5)  # noqa
    np.testing.assert_allclose(fused(*inputs).data,
                               norm.layer_norm_composite(x, *params, len(tail), 1e-5).data,
                               rtol=1e-12, atol=1e-12)
    if np.prod(tail) > 1:     # one element: the output is the constant 0 (or b)
        assert gradcheck(fused, inputs)


@settings(max_examples=10)
@given(n=st.integers(1, 2), groups=st.integers(1, 3), per_group=st.integers(1, 2),
       spatial=st.lists(st.integers(1, 3), max_size=2), seed=st.integers(0, 100))
def test_group_norm_gradcheck_and_composite(n, groups, per_group, spatial, seed):
    channels = groups * per_group
    x = leaf(array(n, channels, *spatial, seed=seed))
    w, b = leaf(array(channels, seed=seed + 1)), leaf(array(channels, seed=seed + 2))
    fused = lambda x, w, b: norm.GroupNormalization.apply(x, w, b, groups, 1e-5)  # noqa: E731
    np.testing.assert_allclose(fused(x, w, b).data,
                               norm.group_norm_composite(x, w, b, groups, 1e-5).data,
                               rtol=1e-12, atol=1e-12)
    if per_group * int(np.prod(spatial)) > 1:
        assert gradcheck(fused, [x, w, b])


def test_norms_gradgradcheck():
    x, w, b = leaf(array(2, 4)), leaf(array(4, seed=1)), leaf(array(4, seed=2))
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), [x, w, b])
    assert gradgradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, w, b])
