"""Tensor creation, dtypes (PyTorch's rules), conversion and printing."""
import numpy as np
import pytest

import gradlite


def test_python_floats_and_lists_become_float32_ints_int64():
    assert gradlite.tensor(1.5).dtype == np.float32
    assert gradlite.tensor([[1.0, 2.0]]).dtype == np.float32
    assert gradlite.tensor([1, 2]).dtype == np.int64
    assert gradlite.tensor([True, False]).dtype == np.bool_
    assert gradlite.tensor([1, 2.5]).dtype == np.float32


def test_numpy_arrays_keep_their_dtype():
    assert gradlite.tensor(np.zeros(2)).dtype == np.float64
    assert gradlite.tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert gradlite.tensor(np.zeros(2, np.uint8)).dtype == np.uint8
    assert gradlite.tensor([1.0], dtype=gradlite.float64).dtype == np.float64


def test_float32_with_python_scalar_stays_float32():
    x = gradlite.ones(3)
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3, x ** 2, 1 - x, x * np.float64(2.0)):
        assert y.dtype == np.float32
    assert (gradlite.tensor([1, 2]) * 0.5).dtype == np.float32
    assert (gradlite.tensor([1, 2]) / 2).dtype == np.float32


def test_tensor_copies_from_numpy_shares():
    a = np.zeros(3)
    t = gradlite.tensor(a)
    s = gradlite.from_numpy(a)
    a[0] = 7
    assert t.data[0] == 0 and s.data[0] == 7
    with pytest.raises(TypeError, match="from_numpy"):
        gradlite.from_numpy([1, 2])


def test_creation_functions():
    assert gradlite.zeros(2, 3).shape == (2, 3)
    assert gradlite.ones((2, 3)).data.sum() == 6
    assert gradlite.full((2,), 7).dtype == np.int64
    assert gradlite.full((2,), 7.0).dtype == np.float32
    assert gradlite.arange(5).dtype == np.int64
    assert gradlite.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert gradlite.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(gradlite.eye(2).data, np.eye(2))
    x = gradlite.randn(4, 5, dtype=gradlite.float64)
    assert x.dtype == np.float64 and x.shape == (4, 5)
    assert 0 <= gradlite.rand(100).data.min() and gradlite.rand(100).data.max() < 1
    for like in (gradlite.zeros_like, gradlite.ones_like, gradlite.rand_like, gradlite.randn_like):
        assert like(x).shape == x.shape and like(x).dtype == np.float64
    assert gradlite.full_like(x, 3.0).data.mean() == 3.0
    assert gradlite.zeros(2, requires_grad=True).requires_grad


def test_manual_seed_makes_random_tensors_reproducible():
    gradlite.manual_seed(3)
    a = gradlite.randn(5)
    gradlite.manual_seed(3)
    b = gradlite.randn(5)
    assert a.equal(b)


def test_array_facts_and_conversions():
    x = gradlite.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (x.shape, x.ndim, len(x), x.numel(), x.size(1), x.dim()) == ((2, 3), 2, 2, 6, 3, 2)
    assert x[1, 2].item() == 6.0
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert isinstance(x.numpy(), np.ndarray)
    assert np.asarray(x).shape == (2, 3)
    assert x.double().dtype == np.float64 and x.long().dtype == np.int64
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match="CPU only"):
        x.to("cuda:0")
    with pytest.raises(ValueError, match="only one-element"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert [row.shape for row in x] == [(3,), (3,)]


def test_repr_reads_like_pytorch():
    assert repr(gradlite.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(gradlite.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "dtype=gradlite.float64" in repr(gradlite.tensor(np.ones(1)))
    y = gradlite.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"


def test_comparisons_and_argmax_are_not_differentiable():
    x = gradlite.tensor([1.0, 3.0, 2.0], requires_grad=True)
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == x).all().item()
    assert x.argmax().item() == 1 and x.argmin().item() == 0
    assert not (x > 1).requires_grad
    values, indices = gradlite.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]


def test_torch_namespace_functions():
    a, b = gradlite.ones(2, 3), gradlite.zeros(2, 3)
    assert gradlite.cat([a, b], dim=1).shape == (2, 6)
    assert gradlite.stack([a, b]).shape == (2, 2, 3)
    assert gradlite.where(a > 0, a, b).data.sum() == 6
    assert gradlite.pad(a, (1, 1)).shape == (2, 5)
    assert gradlite.exp(b).data.sum() == 6
    assert gradlite.sum(a, dim=0).tolist() == [2.0, 2.0, 2.0]
    assert [t.shape for t in gradlite.split(gradlite.ones(5), 2)] == [(2,), (2,), (1,)]
    assert [t.shape for t in gradlite.ones(5).chunk(2)] == [(3,), (2,)]


def test_setitem_and_inplace_updates_without_grad():
    x = gradlite.zeros(3)
    x[1] = 5.0
    x += 1
    x.mul_(2)
    assert x.tolist() == [2.0, 12.0, 2.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
