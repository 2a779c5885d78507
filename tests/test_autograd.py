"""The tensor engine's autograd contract: accumulation, graph freeing, grad
modes, hooks, higher order, custom Functions and error messages."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradlite
from gradlite import Function, Tensor


def leaf(values, dtype=np.float64):
    return gradlite.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_chain_rule_example_with_tensors():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_leaf_gradients_accumulate_until_reset():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])
    x.grad.zero_()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_reused_tensor_gets_summed_gradient():
    a = leaf([3.0])
    (a * a + a).sum().backward()
    assert a.grad.item() == 7.0


def test_gradients_of_two_leaves_never_share_memory():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])


def _leaf_grad_from(make_gradient):
    """x.grad after a backward through an op whose backward returns make_gradient(g)."""
    class Op(gradlite.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return make_gradient(g)
    x = leaf([1.0, 2.0])
    Op.apply(x).sum().backward()
    return x.grad.data


def test_leaf_keeps_an_unshared_gradient_array_and_copies_a_shared_one():
    fresh = {}
    got = _leaf_grad_from(lambda g: fresh.setdefault("a", np.full(2, 3.0)))
    assert got is not fresh["a"]                    # someone else holds it: copied
    np.testing.assert_array_equal(got, [3.0, 3.0])
    ids = []
    got = _leaf_grad_from(lambda g: ids.append(id(a := np.full(2, 3.0))) or a)
    assert id(got) == ids[0]                        # nobody else can see it: kept
    kept = np.full(4, 3.0)
    got = _leaf_grad_from(lambda g: kept[:2])       # a view of someone's array: copied
    assert not np.shares_memory(got, kept)


def test_intermediate_nodes_keep_grad_only_when_asked():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = x * 3
    y.retain_grad()
    (y * z).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [3.0, 6.0])
    assert z.grad is None


def test_graph_is_freed_and_second_backward_explains():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_backward_on_non_scalar_needs_gradient():
    x = leaf([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match=r"shape \(1, 2\).*y.sum\(\)"):
        (x * 2).backward()
    (x * 2).backward(gradient=gradlite.tensor([[1.0, 10.0]], dtype=gradlite.float64))
    np.testing.assert_array_equal(x.grad.data, [[2.0, 20.0]])


def test_backward_without_graph_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gradlite.tensor(1.0).backward()


def test_no_grad_records_nothing_and_works_as_decorator():
    x = leaf([1.0])
    with gradlite.no_grad():
        y = x * 2
        with gradlite.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @gradlite.no_grad()
    def double(t):
        return t * 2
    assert not double(x).requires_grad
    assert gradlite.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    y = x * x
    (y.detach() * x).sum().backward()
    assert x.grad.item() == 4.0


def test_hooks_see_and_can_replace_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.data.copy()))
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_array_equal(seen[0], [20.0, 20.0])
    np.testing.assert_array_equal(x.grad.data, [20.0, 20.0])
    handle.remove()
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_chain_of_100000_tensor_ops():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_inplace_is_refused_on_leaf_that_requires_grad():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="in-place operation on a leaf"):
        w += 1
    with gradlite.no_grad():
        w -= 0.5 * gradlite.tensor([2.0, 2.0], dtype=gradlite.float64)
    np.testing.assert_array_equal(w.data, [0.0, 1.0])


def test_requires_grad_refused_for_integer_tensors():
    labels = gradlite.tensor([0, 1, 2])
    assert labels.dtype == np.int64
    with pytest.raises(TypeError, match="only floating point tensors"):
        labels.requires_grad_()


def test_second_derivative_of_tanh():
    x = leaf([0.3, -1.2])
    (g,) = gradlite.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (h,) = gradlite.autograd.grad(g.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(g.data, 1 - t ** 2)
    np.testing.assert_allclose(h.data, -2 * t * (1 - t ** 2))


def test_fourth_derivative_of_tanh_via_backward_create_graph():
    x = leaf(0.5)
    y = x.tanh()
    derivatives = []
    for _ in range(4):
        (y,) = gradlite.autograd.grad(y, x, create_graph=True)
        derivatives.append(y.item())
    t = np.tanh(0.5)
    d1 = 1 - t ** 2
    d2 = -2 * t * d1
    d3 = -2 * d1 * d1 - 2 * t * d2
    d4 = -4 * d1 * d2 - 2 * d1 * d2 - 2 * t * d3
    np.testing.assert_allclose(derivatives, [d1, d2, d3, d4])


def test_hessian_vector_product_of_quadratic_form():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = leaf([1.0, -1.0])
    v = gradlite.tensor([0.5, 2.0], dtype=gradlite.float64)
    f = 0.5 * (x @ gradlite.tensor(a) @ x)
    (g,) = gradlite.autograd.grad(f, x, create_graph=True)
    (g * v).sum().backward()
    np.testing.assert_allclose(x.grad.data, a @ v.data)


class Cube(Function):
    """y = x^3;  dy/dx = 3 x^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x ** 2


def test_custom_function_is_differentiable_twice():
    x = leaf([1.0, 2.0])
    assert gradlite.gradcheck(Cube.apply, [x])
    assert gradlite.gradgradcheck(Cube.apply, [x])


def test_custom_function_with_wrong_gradient_shape_is_reported():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match=r"Bad.backward returned a gradient of shape \(\)"):
        Bad.apply(leaf([1.0, 2.0])).backward()


def test_gradcheck_names_input_and_index_on_failure():
    class WrongExp(Function):
        @staticmethod
        def forward(ctx, x):
            return np.exp(x)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    with pytest.raises(gradlite.GradcheckError, match=r"input 0 \(shape \(3,\)\).*analytic"):
        gradlite.gradcheck(WrongExp.apply, [leaf([0.0, 1.0, 2.0])])
    assert not gradlite.gradcheck(WrongExp.apply, [leaf([1.0])], raise_exception=False)


def test_gradcheck_requires_float64():
    with pytest.raises(ValueError, match="float64"):
        gradlite.gradcheck(lambda x: x * 2, [gradlite.tensor([1.0], requires_grad=True)])


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
def test_broadcast_gradients_come_back_in_input_shape(shapes):
    a_shape, b_shape = shapes.input_shapes
    a, b = leaf(np.ones(a_shape)), leaf(np.ones(b_shape))
    (a * b).sum().backward()
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    out_size = int(np.prod(shapes.result_shape))
    assert a.grad.data.sum() == out_size and b.grad.data.sum() == out_size


@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=8))
def test_softmax_family_is_stable_at_extremes(values):
    x = leaf(values, dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = x.softmax(dim=0)
        ls = x.log_softmax(dim=0)
        lse = x.logsumexp(dim=0)
        sig = x.sigmoid()
        (s.sum() + ls.sum() + lse + sig.sum()).backward()
    for t in (s, ls, lse, sig, x.grad):
        assert np.all(np.isfinite(t.data))
    np.testing.assert_allclose(s.data.sum(), 1.0, rtol=1e-5)


def test_error_messages_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: .*\(3, 4\) @ \(5, 2\) — inner dims 4 != 5"):
        gradlite.zeros(3, 4) @ gradlite.zeros(5, 2)
    with pytest.raises(ValueError, match=r"add: .*\(3,\), \(4,\)"):
        gradlite.zeros(3) + gradlite.zeros(4)
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\)"):
        gradlite.zeros(2, 3).reshape(4)
    with pytest.raises(IndexError, match="sum: dim 2 is out of range"):
        gradlite.zeros(2, 3).sum(dim=2)
    with pytest.raises(ValueError, match=r"stack: .*\(2,\).*\(3,\)"):
        gradlite.stack([gradlite.zeros(2), gradlite.zeros(3)])


def test_index_gradient_scatter_adds_repeated_indices():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 1.0])
    y = leaf([[1.0, -2.0], [3.0, -4.0]])
    y[y > 0].sum().backward()
    np.testing.assert_array_equal(y.grad.data, [[1.0, 0.0], [1.0, 0.0]])


def test_backward_on_mixed_dtypes_keeps_each_leafs_dtype():
    a = gradlite.tensor([1.0, 2.0], requires_grad=True)                 # float32
    b = gradlite.tensor(np.array([3.0, 4.0]), requires_grad=True)      # float64
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_gradients_summed_in_the_sweep_never_write_into_a_gradient_someone_holds():
    # Add.backward hands the incoming gradient itself to both inputs: the sweep sums
    # x's three contributions into an array of its own, never into the caller's one.
    x = gradlite.tensor([1., 2., 3.], requires_grad=True)
    upstream = gradlite.ones(3)
    (x + x + x).backward(upstream)
    np.testing.assert_array_equal(upstream.data, np.ones(3, np.float32))
    np.testing.assert_array_equal(x.grad.data, np.full(3, 3, np.float32))
    assert not np.shares_memory(x.grad.data, upstream.data)
    (x * 2 + x).backward(upstream)                    # .grad accumulates across calls
    np.testing.assert_array_equal(x.grad.data, np.full(3, 6, np.float32))
