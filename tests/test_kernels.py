"""Compiled conv/pool kernels against their numpy reference twins (the spec).

hypothesis draws shapes and parameters; every compiled kernel must agree with
``gradlite._kernels._reference`` to float tolerance, forward and backward.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradlite._kernels as K
from gradlite._kernels import _reference as R

pytestmark = pytest.mark.skipif(not K.COMPILED, reason="compiled kernels not built")

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
dtypes = st.sampled_from([np.float32, np.float64])
pairs = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731


def close(a, b, dtype):
    assert a.dtype == b.dtype == dtype
    np.testing.assert_allclose(a, b, **TOL[dtype])


def draw(data, shape, dtype):
    seed = data.draw(st.integers(0, 2**16), label="seed")
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@st.composite
def conv_cases(draw_, strides=pairs(1, 3)):
    groups = draw_(st.integers(1, 3))
    cg = draw_(st.integers(1, 3))
    og = draw_(st.one_of(st.integers(1, 3), st.integers(17, 19)))  # > 16: GEMM backward
    k, s, d = draw_(pairs(1, 4)), draw_(strides), draw_(pairs(1, 2))
    p = draw_(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    n, h, w = draw_(st.integers(1, 3)), draw_(st.integers(1, 9)), draw_(st.integers(1, 9))
    x_shape, w_shape = (n, groups * cg, h, w), (groups * og, cg, *k)
    out = [R.output_size(x_shape[2 + a], k[a], s[a], p[a], d[a]) for a in (0, 1)]
    assume(min(out) >= 1)
    return x_shape, w_shape, dict(stride=s, padding=p, dilation=d, groups=groups)


@given(conv_cases(), dtypes, st.booleans(), st.data())
def test_conv2d_forward_and_backward_match_reference(case, dtype, bias, data):
    check_conv(case, dtype, bias, data)


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
@given(case=conv_cases(), dtype=dtypes, bias=st.booleans(), data=st.data())
def test_conv2d_each_algorithm_matches_reference(algorithm, case, dtype, bias, data):
    """Each algorithm forced on every shape (the dispatcher would send most of these to
    the direct kernels); im2col + GEMM in chunks of one image each (the chunk loop and
    its last partial chunk)."""
    conv_module = pytest.importorskip("gradlite._kernels._conv")
    forward = lambda *a: conv_module.forward_with(algorithm, *a, chunk_bytes=1)  # noqa: E731
    backward = lambda *a, needs: conv_module.backward_with(  # noqa: E731
        algorithm, *a, needs=needs, chunk_bytes=1)
    check_conv(case, dtype, bias, data, forward, backward)


@given(conv_cases(), dtypes, st.booleans(), st.data())
def test_direct_conv_ignores_stale_scratch(case, dtype, bias, data):
    """The direct kernels' wide register tiles (every stride, through the stride phases)
    have junk columns that must never be read uninitialised: NaN left in the scratch
    buffers must not reach any output."""
    workspace = pytest.importorskip("gradlite._kernels._workspace")
    for slot in ("cols", "rows"):
        workspace.scratch((1 << 17,), dtype, slot)[...] = np.nan
    check_conv(case, dtype, bias, data)


def check_conv(case, dtype, bias, data, forward=K.conv2d_forward, backward=K.conv2d_backward):
    x_shape, w_shape, args = case
    x, w = draw(data, x_shape, dtype), draw(data, w_shape, dtype)
    b = draw(data, w_shape[:1], dtype) if bias else None
    args = [args[name] for name in ("stride", "padding", "dilation", "groups")]
    y = forward(x, w, b, *args)
    close(y, R.conv2d_forward(x, w, b, *args), dtype)
    gy = draw(data, y.shape, dtype)
    needs = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()), label="needs")
    got = backward(x, w, gy, *args, needs=needs)
    want = R.conv2d_backward(x, w, gy, *args, needs=needs)
    for g, r, need in zip(got, want, needs):
        assert (g is None) == (not need)
        if need:
            close(g, r, dtype)


def test_conv2d_accepts_noncontiguous_inputs():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))[:, :, ::2, ::2]
    w = np.random.default_rng(1).standard_normal((4, 3, 3, 3)).transpose(0, 1, 3, 2)
    args = ((1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(K.conv2d_forward(x, w, None, *args),
                               R.conv2d_forward(x, w, None, *args), rtol=1e-12)


@st.composite
def pool_cases(draw_):
    k, s = draw_(pairs(1, 4)), draw_(pairs(1, 3))
    p = draw_(st.tuples(st.integers(0, k[0] // 2), st.integers(0, k[1] // 2)))
    shape = (draw_(st.integers(1, 3)), draw_(st.integers(1, 3)),
             draw_(st.integers(1, 9)), draw_(st.integers(1, 9)))
    assume(all(R.output_size(shape[2 + a], k[a], s[a], p[a]) >= 1 for a in (0, 1)))
    return shape, dict(kernel=k, stride=s, padding=p)


@given(pool_cases(), dtypes, st.data())
def test_max_pool2d_matches_reference(case, dtype, data):
    shape, args = case
    x = draw(data, shape, dtype)
    y, arg = K.max_pool2d_forward(x, **args)
    y_ref, arg_ref = R.max_pool2d_forward(x, **args)
    close(y, y_ref, dtype)
    np.testing.assert_array_equal(arg, arg_ref)
    gy = draw(data, y.shape, dtype)
    close(K.max_pool2d_backward(gy, arg, shape), R.max_pool2d_backward(gy, arg, shape), dtype)


def test_max_pool2d_ties_pick_the_first_maximum():
    x = np.zeros((1, 1, 2, 2), dtype=np.float32)
    assert K.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))[1].item() == 0


@given(pool_cases(), dtypes, st.booleans(), st.data())
def test_avg_pool2d_matches_reference(case, dtype, include_pad, data):
    shape, args = case
    x = draw(data, shape, dtype)
    y = K.avg_pool2d_forward(x, **args, count_include_pad=include_pad)
    close(y, R.avg_pool2d_forward(x, **args, count_include_pad=include_pad), dtype)
    gy = draw(data, y.shape, dtype)
    close(K.avg_pool2d_backward(gy, shape, **args, count_include_pad=include_pad),
          R.avg_pool2d_backward(gy, shape, **args, count_include_pad=include_pad), dtype)


@given(pairs(1, 4), pairs(1, 9), st.integers(1, 3), dtypes, st.booleans(), st.data())
def test_pooling_with_tiling_windows_matches_reference(kernel, extra, planes, dtype, ties, data):
    """stride = kernel, no padding: the compiled tiled paths (2x2 has its own), with rows
    and columns left over that no window reaches; ``ties``: small integers, so windows
    hold equal maxima and the argmax must be the first in row-major order."""
    shape = (planes, 2, kernel[0] + extra[0] - 1, kernel[1] + extra[1] - 1)
    args = dict(kernel=kernel, stride=kernel, padding=(0, 0))
    x = draw(data, shape, dtype)
    if ties:
        x = np.round(x).astype(dtype)
    y, arg = K.max_pool2d_forward(x, **args)
    y_ref, arg_ref = R.max_pool2d_forward(x, **args)
    close(y, y_ref, dtype)
    np.testing.assert_array_equal(arg, arg_ref)
    y = K.avg_pool2d_forward(x, **args)
    close(y, R.avg_pool2d_forward(x, **args), dtype)
    gy = draw(data, y.shape, dtype)
    close(K.avg_pool2d_backward(gy, shape, **args), R.avg_pool2d_backward(gy, shape, **args),
          dtype)


@given(st.integers(1, 9), st.integers(1, 9), pairs(1, 9), dtypes, st.data())
def test_adaptive_avg_pool2d_matches_reference(h, w, out, dtype, data):
    x = draw(data, (2, 3, h, w), dtype)
    y = K.adaptive_avg_pool2d_forward(x, out)
    close(y, R.adaptive_avg_pool2d_forward(x, out), dtype)
    gy = draw(data, y.shape, dtype)
    close(K.adaptive_avg_pool2d_backward(gy, x.shape), R.adaptive_avg_pool2d_backward(gy, x.shape),
          dtype)


def test_adaptive_windows_follow_pytorch_formula():
    # start = floor(i*H/out), end = ceil((i+1)*H/out): windows may overlap
    assert R.adaptive_windows(5, 3) == [(0, 2), (1, 4), (3, 5)]
    assert R.adaptive_windows(4, 1) == [(0, 4)]


def test_missing_extension_falls_back_to_reference_with_one_warning(monkeypatch):
    import builtins
    import importlib
    import sys

    real_import = builtins.__import__

    def no_compiled(name, globals=None, locals=None, fromlist=(), level=0):
        if level and name in ("_conv", "_pool"):
            raise ImportError(f"no module named {name}")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_compiled)
    monkeypatch.delitem(sys.modules, "gradlite._kernels")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fallback = importlib.import_module("gradlite._kernels")
        assert not fallback.COMPILED
        assert fallback.conv2d_forward is R.conv2d_forward
        assert len(caught) == 1 and "pip install ." in str(caught[0].message)
    finally:
        monkeypatch.undo()
        sys.modules["gradlite._kernels"] = K
        sys.modules["gradlite"]._kernels = K


@pytest.mark.parametrize("flags", [[], ["-DGL_PLAIN_LOOPS"]], ids=["vector", "plain"])
def test_conv_tiles_header_every_copy_this_cpu_runs(tmp_path, flags):
    """conv_tiles.h compiled on its own (tests/conv_tiles_check.c), each copy of the
    register tiles the CPU can run forced in turn and checked against plain sums."""
    import shutil
    import subprocess
    from pathlib import Path
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    root = Path(__file__).resolve().parents[1]
    exe = tmp_path / "conv_tiles_check"
    subprocess.run([cc, "-O2", *flags, "-I", str(root / "gradlite" / "_kernels"),
                    str(root / "tests" / "conv_tiles_check.c"), "-o", str(exe), "-lm"],
                   check=True)
    names = set()
    for limit in ("", "avx2", "sse2", "plain"):
        out = subprocess.run([str(exe), limit], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        names.add(out.stdout.split()[0])
    assert "plain" in names and (flags or len(names) >= 2)


@pytest.mark.parametrize("limit", ["plain", "sse2", "avx2", ""])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_conv_with_each_copy_of_the_tiles_matches_reference(limit, dtype):
    """Each copy has its own tile length and vector width, which the direct kernels'
    layout (rounding, overrun, weight-gradient partial sums) follows at run time."""
    direct = pytest.importorskip("gradlite._kernels._direct")
    conv = pytest.importorskip("gradlite._kernels._conv")
    rng = np.random.default_rng(0)
    try:
        direct.select_tiles(limit)
        for x_shape, w_shape, args in [((2, 3, 11, 9), (5, 3, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),
                                       ((2, 4, 9, 10), (6, 2, 3, 2), ((2, 3), (1, 0), (2, 1), 2))]:
            x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
            y = conv.forward_with("direct", x, w, None, *args)
            close(y, R.conv2d_forward(x, w, None, *args), dtype)
            gy = rng.standard_normal(y.shape).astype(dtype)
            for got, want in zip(conv.backward_with("direct", x, w, gy, *args),
                                 R.conv2d_backward(x, w, gy, *args)):
                close(got, want, dtype)
    finally:
        assert direct.select_tiles("") == direct.TILES
