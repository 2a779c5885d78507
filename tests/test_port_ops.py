"""The tensor ops added for PyTorch ports (issue 17): values and gradients against
PyTorch (where installed) and finite differences, and their errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradlite

SHAPES = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4)


def unique_array(draw, shape):
    """Distinct values 2/41 apart, so sorting and top-k have no ties within reach of
    the finite differences."""
    values = draw(st.permutations(range(-40, 41)))[:int(np.prod(shape))]
    return (np.array(values, dtype=np.float64) * 2 / 41).reshape(shape)


@st.composite
def indexed(draw):
    """An input, a dim and an index tensor for gather / scatter."""
    shape = draw(SHAPES)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, n)) for n in shape)
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1)))
    return unique_array(draw, shape), dim, index


@st.composite
def unique_with_dim(draw):
    shape = draw(SHAPES)
    return unique_array(draw, shape), draw(st.integers(-len(shape), len(shape) - 1))


def permutation_index(draw, shape, dim):
    """An index along ``dim`` with no repeats (scatter's gradient is then unambiguous)."""
    n = shape[dim]
    rows = [draw(st.permutations(range(n))) for _ in range(int(np.prod(shape)) // n)]
    return np.moveaxis(np.array(rows, dtype=np.int64).reshape(
        tuple(s for d, s in enumerate(shape) if d != dim % len(shape)) + (n,)), -1, dim)


# name -> (strategy drawing (arrays, param), fn(*tensors, param) shared by both libraries)
CASES = {
    "gather": (indexed().map(lambda t: ([t[0]], (t[1], t[2]))),
               lambda x, p, lib: x.gather(p[0], lib.tensor(p[1]))),
    "scatter_add": (indexed().map(lambda t: ([t[0], t[0][tuple(slice(0, n) for n in t[2].shape)]],
                                             (t[1], t[2]))),
                    lambda x, src, p, lib: x.scatter_add(p[0], lib.tensor(p[1]), src)),
    "sort": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
             lambda x, dim, lib: x.sort(dim, descending=True)[0]),
    "topk": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
             lambda x, dim, lib: x.topk(1, dim)[0]),
    "cumsum": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
               lambda x, dim, lib: x.cumsum(dim)),
    "cumprod": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
                lambda x, dim, lib: x.cumprod(dim)),
    "tril": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
             lambda x, d, lib: x.tril(d)),
    "triu": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
             lambda x, d, lib: x.triu(-d)),
    "masked_fill": (unique_with_dim().map(lambda t: ([t[0]], None)),
                    lambda x, _, lib: x.masked_fill(x > 0.3, -1.5)),
    "repeat": (unique_with_dim().map(lambda t: ([t[0]], None)),
               lambda x, _, lib: x.repeat(2, *([1] * (x.dim() - 1)), 3)),
    "norm_fro": (unique_with_dim().map(lambda t: ([t[0]], t[1])),
                 lambda x, dim, lib: x.norm(dim=dim)),
    "norm_3": (unique_with_dim().map(lambda t: ([t[0]], None)),
               lambda x, _, lib: x.norm(p=3)),
    "log2_log10": (unique_with_dim().map(lambda t: ([np.abs(t[0]) + 0.5], None)),
                   lambda x, _, lib: x.log2() + x.log10()),
    "einsum_chain": (st.builds(lambda seed: ([np.random.default_rng(seed).standard_normal(shape)
                                              for shape in [(2, 3), (3, 4), (4,)]], None),
                               st.integers(0, 99)),
                     lambda a, b, c, _, lib: lib.einsum("ij,jk,k->i", a, b, c)),
    "einsum_sum_out": (unique_with_dim().map(lambda t: ([t[0]], None)),
                       lambda x, _, lib: lib.einsum("abc->b" if x.dim() == 3 else "ab->b", x)),
    "bmm": (st.builds(lambda seed: ([np.random.default_rng(seed).standard_normal(shape)
                                     for shape in [(2, 3, 4), (2, 4, 2)]], None),
                      st.integers(0, 99)),
            lambda a, b, _, lib: a.bmm(b)),
}


def run(name, lib, arrays, param):
    leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
    return leaves, CASES[name][1](*leaves, param, lib)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=15)
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    arrays, param = data.draw(CASES[name][0])
    leaves = [gradlite.tensor(a, requires_grad=True) for a in arrays]
    assert gradlite.gradcheck(lambda *xs: CASES[name][1](*xs, param, gradlite), leaves)


@pytest.mark.parametrize("name", ["gather", "cumsum", "cumprod", "einsum_chain", "norm_fro"])
@settings(max_examples=5)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, data):
    arrays, param = data.draw(CASES[name][0])
    leaves = [gradlite.tensor(a, requires_grad=True) for a in arrays]
    assert gradlite.gradgradcheck(lambda *xs: CASES[name][1](*xs, param, gradlite), leaves,
                                  atol=1e-4)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=10)
@given(data=st.data())
def test_matches_pytorch(name, data):
    torch = pytest.importorskip("torch")
    arrays, param = data.draw(CASES[name][0])
    ours, out = run(name, gradlite, arrays, param)
    theirs, expected = run(name, torch, arrays, param)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    direction = np.random.default_rng(0).standard_normal(out.shape)
    (out * gradlite.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cumprod_gradient_through_zeros_matches_pytorch():
    torch = pytest.importorskip("torch")
    values = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 1.5, -2.0, 4.0, 1.0]])
    ours, theirs = gradlite.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours.cumprod(1).sum().backward()
    theirs.cumprod(1).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())


def test_norm_at_zero_has_zero_gradient_as_in_pytorch():
    x = gradlite.zeros(3, dtype=gradlite.float64, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_index_results_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 4.0, 5.0]])
    for ours, theirs in [
        (gradlite.tensor(x).sort(dim=1, stable=True).indices, torch.tensor(x).sort(dim=1, stable=True).indices),
        (gradlite.tensor(x).argsort(dim=0), torch.tensor(x).argsort(dim=0, stable=True)),
        (gradlite.tensor(x).topk(2, largest=False).values, torch.tensor(x).topk(2, largest=False).values),
        (gradlite.one_hot(gradlite.tensor([0, 3, 1])), torch.nn.functional.one_hot(torch.tensor([0, 3, 1]))),
        (gradlite.tensor(x).scatter(1, gradlite.tensor([[3], [0]]), 9.0),
         torch.tensor(x).scatter(1, torch.tensor([[3], [0]]), 9.0)),
        (gradlite.tensor(x).tril(1), torch.tensor(x).tril(1)),
    ]:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_random_draws():
    generator = gradlite.Generator().manual_seed(3)
    first = gradlite.randperm(10, generator=generator)
    assert sorted(first.tolist()) == list(range(10)) and first.dtype == np.int64
    generator.manual_seed(3)
    assert gradlite.randperm(10, generator=generator).tolist() == first.tolist()
    weights = gradlite.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]])
    draws = gradlite.multinomial(weights, 2000, replacement=True, generator=generator)
    assert draws.shape == (2, 2000) and (draws[1] == 0).all()
    assert abs(float((draws[0] == 2).float().mean()) - 0.75) < 0.05
    without = weights[0].multinomial(2)
    assert sorted(without.tolist()) == [1, 2]


def test_errors_name_the_op_and_the_problem():
    x = gradlite.zeros(2, 3)
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds for dim 1 of size 3"):
        x.gather(1, gradlite.tensor([[3]]))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        x.gather(1, gradlite.tensor([[0.0]]))
    with pytest.raises(ValueError, match="as many dims"):
        x.gather(1, gradlite.tensor([0]))
    with pytest.raises(RuntimeError, match="topk: k \\(4\\) is out of range"):
        x.topk(4)
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor"):
        x.masked_fill(gradlite.tensor([1, 0, 1]), 0.0)
    with pytest.raises(ValueError, match="bmm: expected"):
        x.bmm(x)
    with pytest.raises(ValueError, match="einsum: the equation 'ij,jk->ik' has 2 operands"):
        gradlite.einsum("ij,jk->ik", x)
    with pytest.raises(RuntimeError, match="multinomial: cannot sample"):
        gradlite.multinomial(gradlite.tensor([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="one_hot: class value 3"):
        gradlite.one_hot(gradlite.tensor([3]), num_classes=3)
    with pytest.raises(ValueError, match="tril: input tensor must have at least 2"):
        gradlite.zeros(3).tril()


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0, 1, 1)])
def test_pad_modes_match_pytorch(mode, pad):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)[4 - len(pad) // 2 - 2:])
    ours, theirs = gradlite.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = gradlite.nn.functional.pad(ours, pad, mode=mode)
    expected = torch.nn.functional.pad(theirs, pad, mode=mode)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy())
    direction = np.random.default_rng(1).standard_normal(out.shape)
    (out * gradlite.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    assert gradlite.gradcheck(lambda t: gradlite.nn.functional.pad(t, pad, mode=mode),
                             [gradlite.tensor(x[:1], requires_grad=True)])


def test_pad_mode_errors():
    with pytest.raises(ValueError, match="reflect padding \\(3, 0\\) must be smaller than the size 3"):
        gradlite.nn.functional.pad(gradlite.zeros(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="padding size 2 is not supported for a 4-d"):
        gradlite.nn.functional.pad(gradlite.zeros(1, 1, 2, 3), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="mode must be"):
        gradlite.nn.functional.pad(gradlite.zeros(1, 2, 3), (1, 1), mode="mirror")
