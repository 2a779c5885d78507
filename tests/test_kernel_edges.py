"""Hard edges of the conv/pool kernels: degenerate and extreme sizes, bad dtypes, NaN.

Sizes that once crashed the interpreter run in a subprocess, so that a crash fails the
test instead of killing pytest. The fuzz test drives the compiled kernels and their
numpy twins through hypothesis-drawn sizes (zero, one, huge) in one subprocess: every
call returns a result (the same one from both) or raises ValueError/TypeError (or
MemoryError), and the process exits normally.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradlite._kernels as K
from gradlite._kernels import _reference as R

# The folder holding the gradlite under test (the checkout, or site-packages when CI
# tests the installed build): children run there, as ``python -c`` puts its working
# directory first on the path.
HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(K.__file__))))


def run_python(code, timeout=300, env=None):
    """Run ``code`` in a fresh interpreter on the gradlite under test; (returncode, stdout,
    stderr)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=HOME,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


# ------------------------------------------------------- the crashes, in a child

def test_sizes_that_crashed_the_interpreter_now_return_or_raise():
    code, out, err = run_python("""
        import numpy as np, gradlite as gl
        import gradlite.nn.functional as F
        def show(name, f):
            try:
                y = f()
                print(name, "shape", tuple(y.shape), "max", float(np.abs(y.data).max()) if y.data.size else 0)
            except (ValueError, TypeError) as e:
                print(name, type(e).__name__, str(e).splitlines()[0][:60])
        show("c0", lambda: F.conv2d(gl.zeros(1, 0, 3, 3), gl.zeros(2, 0, 3, 3), gl.ones(2)))
        show("dil", lambda: F.conv2d(gl.ones(1, 1, 3, 3), gl.ones(1, 1, 2, 2), padding=25000, dilation=50000))
        show("pool", lambda: F.max_pool2d(gl.ones(1, 1, 3, 3), 2**31 - 1, stride=1, padding=2**30 - 1))
        show("avg", lambda: F.avg_pool2d(gl.ones(1, 1, 3, 3), 2**31 - 1, stride=1, padding=2**30 - 1))
        show("h0", lambda: F.max_pool2d(gl.zeros(1, 1, 0, 300), 2, padding=1))
    """)
    assert code == 0, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["c0"] == "shape (1, 2, 1, 1) max 1.0"        # zeros plus bias
    assert lines["dil"] == "shape (1, 1, 3, 3) max 0.0"       # every tap reads padding
    assert lines["pool"] == "shape (1, 1, 3, 3) max 1.0"      # each window: the whole input
    assert lines["avg"].startswith("shape (1, 1, 3, 3)")
    assert lines["h0"].startswith("ValueError")


@pytest.mark.parametrize("kernels", [K, R], ids=["compiled", "reference"])
def test_zero_size_dims_give_empty_results_or_bias(kernels):
    args = ((1, 1), (1, 1), (1, 1), 1)
    y = kernels.conv2d_forward(np.zeros((2, 0, 3, 3)), np.zeros((4, 0, 3, 3)), np.arange(4.0), *args)
    np.testing.assert_array_equal(y, np.broadcast_to(np.arange(4.0).reshape(1, 4, 1, 1), (2, 4, 3, 3)))
    gx, gw, gb = kernels.conv2d_backward(np.zeros((2, 0, 3, 3)), np.zeros((4, 0, 3, 3)), np.ones(y.shape), *args)
    assert gx.shape == (2, 0, 3, 3) and gw.shape == (4, 0, 3, 3)
    np.testing.assert_array_equal(gb, np.full(4, 18.0))
    assert kernels.conv2d_forward(np.zeros((0, 2, 3, 3)), np.ones((4, 2, 3, 3)), None, *args).shape == (0, 4, 3, 3)
    y, arg = kernels.max_pool2d_forward(np.zeros((0, 3, 4, 4)), (2, 2), (2, 2), (0, 0))
    assert y.shape == arg.shape == (0, 3, 2, 2)
    assert kernels.avg_pool2d_forward(np.zeros((2, 0, 4, 4)), (2, 2), (2, 2), (0, 0)).shape == (2, 0, 2, 2)
    assert kernels.adaptive_avg_pool2d_forward(np.zeros((2, 0, 4, 4)), (3, 3)).shape == (2, 0, 3, 3)


@pytest.mark.parametrize("kernels", [K, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.bool_])
def test_non_float_dtypes_raise_type_error_naming_the_kernel(kernels, dtype):
    x = np.zeros((1, 1, 4, 4), dtype=dtype)
    with pytest.raises(TypeError, match=f"conv2d_forward: x has dtype {np.dtype(dtype).name}"):
        kernels.conv2d_forward(x, np.zeros((1, 1, 2, 2)), None, (1, 1), (0, 0), (1, 1), 1)
    for call, name in [(lambda: kernels.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0)), "max_pool2d_forward"),
                       (lambda: kernels.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0)), "avg_pool2d_forward"),
                       (lambda: kernels.adaptive_avg_pool2d_forward(x, (2, 2)), "adaptive_avg_pool2d_forward")]:
        with pytest.raises(TypeError, match=name):
            call()


@pytest.mark.parametrize("kernels", [K, R], ids=["compiled", "reference"])
def test_bad_sizes_raise_value_error_naming_the_kernel_and_sizes(kernels):
    x = np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d_forward: output size \(-1, -1\) is empty"):
        kernels.conv2d_forward(x, np.zeros((1, 1, 5, 5)), None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="conv2d_forward: sizes too large"):
        kernels.conv2d_forward(x, np.zeros((1, 1, 2, 2)), None, (1, 1), (2**62, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="max_pool2d_forward: padding"):
        kernels.max_pool2d_forward(x, (2, 2), (1, 1), (2, 0))
    with pytest.raises(ValueError, match="conv2d_backward: grad_y shape"):
        kernels.conv2d_backward(x, np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="max_pool2d_backward"):
        kernels.max_pool2d_backward(np.ones((1, 1, 1, 1)), np.full((1, 1, 1, 1), 9), (1, 1, 3, 3))


# ---------------------------------------------------------------------------- NaN

@pytest.mark.parametrize("kernels", [K, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_propagates_nan_and_routes_its_gradient_there(kernels, dtype):
    nan = np.nan
    x = np.array([[[[1, nan, 2, 3]]]], dtype=dtype)
    y, arg = kernels.max_pool2d_forward(x, (1, 4), (1, 4), (0, 0))
    assert np.isnan(y.item()) and arg.item() == 1
    # PyTorch's rule: a NaN wins over every number, and a later NaN over an earlier one
    x = np.array([[[[nan, np.inf, nan, 3], [1, 2, 3, 4]]]], dtype=dtype)
    y, arg = kernels.max_pool2d_forward(x, (2, 3), (1, 1), (0, 0))
    assert np.isnan(y).all() and arg.ravel().tolist() == [2, 2]
    gx = kernels.max_pool2d_backward(np.ones(y.shape, dtype), arg, x.shape)
    assert gx.ravel().tolist() == [0, 0, 2, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("shape, k, s, p", [((2, 3, 9, 8), 2, 2, 0), ((2, 3, 9, 8), 3, 2, 1),
                                            ((1, 2, 6, 7), (2, 3), (1, 2), (1, 0))])
def test_max_pool2d_with_nans_matches_torch(shape, k, s, p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.2] = np.nan
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    want, want_arg = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    for kernels in (K, R):
        y, arg = kernels.max_pool2d_forward(x, pair(k), pair(s), pair(p))
        np.testing.assert_array_equal(y, want.numpy())
        np.testing.assert_array_equal(arg, want_arg.numpy())


# ------------------------------------------------------------- the fuzz, in a child

FUZZ = """
import sys
import numpy as np
from hypothesis import given, settings, strategies as st, HealthCheck
import gradlite._kernels as K
from gradlite._kernels import _reference as R
from gradlite._kernels._checks import output_size

OK_ERRORS = (ValueError, TypeError, MemoryError)
HUGE = [2**31 - 1, 2**31, 2**30 - 1, 2**32 + 1, 25000, 50000, 2**62, 2**63 - 1]
size = st.one_of(st.integers(0, 3), st.sampled_from([5, 8]))
param = st.one_of(st.integers(0, 3), st.sampled_from(HUGE), st.integers(-2, -1))
pair = st.tuples(param, param)
dtype = st.sampled_from([np.float32, np.float64, np.float64, np.int64, np.float16])
seen = [0]


def outcome(f):
    try:
        return f()
    except OK_ERRORS as e:
        return type(e)


def too_big_to_allocate_safely(shape):
    # a few million elements is fine; past 2**50 numpy refuses at once; in between an
    # allocation may succeed lazily and then swap: not a crash, but not for a test
    n = 1
    for v in shape:
        n *= max(int(v), 0)
    return 4_000_000 < n < 2**50


def same(a, b):
    if isinstance(a, type) or isinstance(b, type):
        assert a is b, (a, b)
        return
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        if u is None or v is None:
            assert u is v
            continue
        u, v = np.asarray(u), np.asarray(v)
        assert u.shape == v.shape, (u.shape, v.shape)
        np.testing.assert_allclose(u.astype(float), v.astype(float), rtol=1e-3, atol=1e-3)


def out_shape(x_shape, k, s, p, d=(1, 1)):
    try:
        return [output_size(x_shape[2 + a], k[a], s[a], p[a], d[a]) for a in (0, 1)]
    except ZeroDivisionError:
        return [0, 0]


@settings(max_examples=int(sys.argv[1]), deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.tuples(size, size, size, size), st.tuples(size, st.integers(0, 3), size, size),
       pair, pair, pair, st.sampled_from([1, 1, 2, 3, 0, -1]), dtype, st.booleans(),
       st.sampled_from(["conv", "max", "avg", "adaptive"]))
def fuzz(x_shape, w_shape, s, p, d, groups, dt, bias, op):
    n, c, h, w = x_shape
    x = np.random.default_rng(0).standard_normal(x_shape).astype(dt)
    print(op, x_shape, w_shape, s, p, d, groups, np.dtype(dt).name, file=sys.stderr, flush=True)
    if op == "conv":
        o, cg = w_shape[0], w_shape[1]
        wt = np.ones((o, cg, *w_shape[2:]), dtype=dt)
        b = np.ones(o, dtype=dt) if bias else None
        oh, ow = out_shape(x_shape, w_shape[2:], s, p, d)
        if too_big_to_allocate_safely((n, o, oh, ow)) or too_big_to_allocate_safely(
                (n, c, w_shape[2], w_shape[3], oh, ow)):
            return
        args = (s, p, d, groups)
        y = [outcome(lambda: k.conv2d_forward(x, wt, b, *args)) for k in (K, R)]
        same(*y)
        if not isinstance(y[0], type):
            gy = np.ones(y[0].shape, y[0].dtype)
            same(*[outcome(lambda: k.conv2d_backward(x, wt, gy, *args)) for k in (K, R)])
    elif op in ("max", "avg"):
        if too_big_to_allocate_safely((n, c, *out_shape(x_shape, s, d, p))):
            return
        forward = "max_pool2d_forward" if op == "max" else "avg_pool2d_forward"
        y = [outcome(lambda: getattr(k, forward)(x, s, d, p)) for k in (K, R)]
        same(*y)
        if not isinstance(y[0], type):
            if op == "max":
                gy = np.ones(y[0][0].shape, y[0][0].dtype)
                same(*[outcome(lambda: k.max_pool2d_backward(gy, y[0][1], x.shape)) for k in (K, R)])
            else:
                gy = np.ones(y[0].shape, y[0].dtype)
                same(*[outcome(lambda: k.avg_pool2d_backward(gy, x.shape, s, d, p)) for k in (K, R)])
    else:
        if too_big_to_allocate_safely((n, c, *s)):
            return
        y = [outcome(lambda: k.adaptive_avg_pool2d_forward(x, s)) for k in (K, R)]
        same(*y)
        if not isinstance(y[0], type):
            gy = np.ones(y[0].shape, y[0].dtype)
            same(*[outcome(lambda: k.adaptive_avg_pool2d_backward(gy, x.shape)) for k in (K, R)])
    seen[0] += 1


fuzz()
print("examples", seen[0])
"""


def test_kernels_survive_extreme_and_degenerate_sizes():
    """Both kernel sets, one child process, a few hundred hypothesis examples; a crash
    shows as a negative return code, with the example that caused it last on stderr."""
    examples = 300 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 400
    code, out, err = run_python(FUZZ.replace("int(sys.argv[1])", str(examples)))
    last = err.strip().splitlines()[-12:]
    assert code == 0, f"child exited with {code}; stdout: {out[-2000:]}; stderr: {last}"
    assert int(out.split()[-1]) > examples // 4     # most examples reached the kernels
