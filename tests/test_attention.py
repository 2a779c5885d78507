"""scaled_dot_product_attention, MultiheadAttention and the transformer encoder:
PyTorch agreement (outputs, input and parameter gradients) with every kind of mask,
gradcheck of the fused attention op over hypothesis-drawn shapes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
from gradlite import gradcheck, gradgradcheck
from gradlite.ops.attention import Attention, attention_composite
from torch_twins import TOLERANCES, array, assert_same_gradients, leaf, load_from_torch


# ----------------------------------------------------------------- scaled_dot_product_attention
def sdpa_masks(L, S):
    causal_bool = np.tril(np.ones((L, S), bool))
    return {"none": None, "bool": causal_bool, "float": array(L, S, seed=9),
            "batched-bool": np.random.default_rng(3).random((2, 1, L, S)) > 0.3}


@pytest.mark.parametrize("mask", ["none", "bool", "float", "batched-bool", "causal"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_matches_torch(mask, dtype):
    torch = pytest.importorskip("torch")
    q, k, v = array(2, 3, 4, 5, dtype=dtype), array(2, 3, 6, 5, seed=1, dtype=dtype), \
        array(2, 3, 6, 7, seed=2, dtype=dtype)
    m = None if mask == "causal" else sdpa_masks(4, 6)[mask]
    m = m.astype(dtype) if m is not None and m.dtype != bool else m
    ours_in, theirs_in = [leaf(a) for a in (q, k, v)], [torch.tensor(a, requires_grad=True)
                                                         for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours_in, attn_mask=m, is_causal=mask == "causal")
    expected = torch.nn.functional.scaled_dot_product_attention(
        *theirs_in, attn_mask=None if m is None else torch.tensor(m), is_causal=mask == "causal")
    tol = TOLERANCES[dtype]
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tol)


def test_sdpa_fully_masked_row_gives_zeros_and_float_mask_gets_gradient():
    q, k, v = leaf(array(3, 2)), leaf(array(4, 2, seed=1)), leaf(array(4, 2, seed=2))
    mask = np.ones((3, 4), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_array_equal(out.data[1], 0)
    out.sum().backward()
    assert np.isfinite(q.grad.data).all()
    float_mask = leaf(array(3, 4, seed=5))
    assert gradcheck(lambda m: F.scaled_dot_product_attention(q.detach(), k.detach(),
                                                              v.detach(), attn_mask=m),
                     [float_mask])


def test_sdpa_dropout_and_errors():
    q = gradlite.tensor(array(2, 8, 4))
    gradlite.manual_seed(1)
    first = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert not np.allclose(first.data, F.scaled_dot_product_attention(q, q, q).data)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: query .* do not fit"):
        F.scaled_dot_product_attention(q, gradlite.zeros(2, 8, 3), q)
    with pytest.raises(ValueError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((8, 8), bool), is_causal=True)


@settings(max_examples=10)
@given(batch=st.lists(st.integers(1, 2), max_size=2), L=st.integers(1, 4), S=st.integers(1, 4),
       E=st.integers(1, 3), Ev=st.integers(1, 3), masked=st.booleans(), dropout=st.booleans(),
       seed=st.integers(0, 100))
def test_attention_gradcheck(batch, L, S, E, Ev, masked, dropout, seed):
    q, k, v = (leaf(array(*batch, n, e, seed=seed + i))
               for i, (n, e) in enumerate([(L, E), (S, E), (S, Ev)]))
    mask = leaf(array(L, S, seed=seed + 3)) if masked else None
    drop = (np.random.default_rng(seed).random((*batch, L, S)) > 0.3) / 0.7 if dropout else None
    inputs = [q, k, v] + ([mask] if masked else [])
    fused = lambda q, k, v, m=None: Attention.apply(q, k, v, m, 0.7, drop)  # noqa: E731
    np.testing.assert_allclose(fused(*inputs).data,
                               attention_composite(*inputs[:3], mask, 0.7, drop).data,
                               rtol=1e-12, atol=1e-12)
    assert gradcheck(fused, inputs)


def test_attention_gradgradcheck():
    inputs = [leaf(array(2, 3, 2, seed=s)) for s in range(3)] + [leaf(array(3, 3, seed=4))]
    assert gradgradcheck(lambda q, k, v, m: Attention.apply(q, k, v, m, 0.5, None), inputs)


# ----------------------------------------------------------------- MultiheadAttention
MHA_CASES = {
    "self, bool masks": dict(self_attention=True, attn_mask="bool", key_padding="bool"),
    "self, float masks": dict(self_attention=True, attn_mask="float", key_padding="float"),
    "cross, per-head mask": dict(self_attention=False, attn_mask="per-head"),
    "cross, kdim/vdim": dict(self_attention=False, kdim=3, vdim=5, key_padding="bool"),
    "no bias": dict(self_attention=True, bias=False),
}


def mha_inputs(case, L, S, N, E):
    rng = np.random.default_rng(4)
    masks = {"bool": np.triu(np.ones((L, S), bool), 1), "float": array(L, S, seed=6),
             "per-head": rng.random((N * 2, L, S)) > 0.6}
    padding = np.zeros((N, S), bool)
    padding[0, -1] = padding[1, -2] = True      # never a whole row (that gives NaN, as in torch)
    kpm = {"bool": padding, "float": array(N, S, seed=7)}
    return masks.get(case.get("attn_mask")), kpm.get(case.get("key_padding"))


@pytest.mark.parametrize("case", sorted(MHA_CASES))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_multihead_attention_matches_torch(case, batch_first, need_weights, average):
    torch = pytest.importorskip("torch")
    spec = MHA_CASES[case]
    L, S, N, E = 4, (4 if spec["self_attention"] else 3), 2, 6
    kwargs = dict(bias=spec.get("bias", True), kdim=spec.get("kdim"), vdim=spec.get("vdim"),
                  batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(E, 2, **kwargs).double()
    ours = nn.MultiheadAttention(E, 2, **kwargs).double()
    load_from_torch(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())

    def seq(n, width, seed):
        return array(*((N, n) if batch_first else (n, N)), width, seed=seed)
    q = seq(L, E, 0)
    k = q if spec["self_attention"] else seq(S, spec.get("kdim") or E, 1)
    v = q if spec["self_attention"] else seq(S, spec.get("vdim") or E, 2)
    attn_mask, kpm = mha_inputs(spec, L, S, N, E)
    tq, gq = torch.tensor(q, requires_grad=True), leaf(q)
    tk, gk = (tq, gq) if spec["self_attention"] else (torch.tensor(k, requires_grad=True), leaf(k))
    tv, gv = (tq, gq) if spec["self_attention"] else (torch.tensor(v, requires_grad=True), leaf(v))
    options = dict(need_weights=need_weights, average_attn_weights=average)
    out, weights = ours(gq, gk, gv, key_padding_mask=kpm, attn_mask=attn_mask, **options)
    expected, expected_weights = theirs(
        tq, tk, tv, key_padding_mask=None if kpm is None else torch.tensor(kpm),
        attn_mask=None if attn_mask is None else torch.tensor(attn_mask), **options)
    tol = TOLERANCES[np.float64]
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    if need_weights:
        np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), **tol)
        ((out * out).sum() + (weights * weights * 3).sum()).backward()
        ((expected * expected).sum() + (expected_weights * expected_weights * 3).sum()).backward()
    else:
        assert weights is None and expected_weights is None
        (out * out).sum().backward()
        (expected * expected).sum().backward()
    for a, b in {(gq, tq), (gk, tk), (gv, tv)}:
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tol)
    assert_same_gradients(ours, theirs, **tol)


def test_multihead_attention_unbatched_float32_and_errors():
    torch = pytest.importorskip("torch")
    theirs, ours = torch.nn.MultiheadAttention(8, 4), nn.MultiheadAttention(8, 4)
    load_from_torch(ours, theirs)
    x = array(5, 8, dtype=np.float32)
    out, weights = ours(gradlite.tensor(x), gradlite.tensor(x), gradlite.tensor(x))
    expected, expected_weights = theirs(*(torch.tensor(x),) * 3)
    assert out.shape == (5, 8) and weights.shape == (5, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(ValueError, match="embed_dim .6. must be divisible by num_heads .4."):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(1, 5\)"):
        ours(*(gradlite.tensor(x[:, None]),) * 3, key_padding_mask=np.zeros((1, 4), bool))
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal"):
        ours(*(gradlite.tensor(x),) * 3, is_causal=True)


def test_multihead_attention_init_like_torch():
    mha = nn.MultiheadAttention(16, 4)
    bound = np.sqrt(6 / (16 + 48))
    assert np.abs(mha.in_proj_weight.data).max() <= bound
    assert not mha.in_proj_bias.data.any() and not mha.out_proj.bias.data.any()


# ----------------------------------------------------------------- transformer encoder
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["causal", "padding"])
def test_transformer_encoder_matches_torch(norm_first, activation, batch_first, masks):
    torch = pytest.importorskip("torch")
    layer = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, activation=activation,
                 norm_first=norm_first, batch_first=batch_first)
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**layer), 2,
                                         norm=torch.nn.LayerNorm(8),
                                         enable_nested_tensor=False).double()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), 2, norm=nn.LayerNorm(8))
    ours.double()
    load_from_torch(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = array(*((3, 5) if batch_first else (5, 3)), 8)
    options = {}
    if masks == "causal":
        options = dict(mask=np.triu(np.full((5, 5), -np.inf), 1), is_causal=True)
    else:
        options = dict(src_key_padding_mask=np.arange(5)[None, :] >= np.array([[5], [3], [4]]))
    torch_options = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                     for k, v in options.items()}
    tx, gx = torch.tensor(x, requires_grad=True), leaf(x)
    out, expected = ours(gx, **options), theirs(tx, **torch_options)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-9, atol=1e-11)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    assert_same_gradients(ours, theirs, rtol=1e-8, atol=1e-10)
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        expected = theirs(tx, **torch_options)
    np.testing.assert_allclose(ours(gx, **options).data, expected.numpy(), rtol=1e-9,
                               atol=1e-10)


def test_transformer_layer_float32_training_step_matches_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    ours = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    load_from_torch(ours, theirs)
    x = array(2, 7, 16, dtype=np.float32)
    out, expected = ours(gradlite.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    assert_same_gradients(ours, theirs, rtol=1e-4, atol=1e-4)


def test_transformer_dropout_is_active_only_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = gradlite.tensor(array(4, 2, 8, dtype=np.float32))
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    layer.train()
    assert not np.allclose(layer(x).data, layer(x).data)
