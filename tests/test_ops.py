"""Every differentiable op from the catalogue: forward against numpy, gradients
against finite differences (first and second order), and against PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlite
from op_catalogue import CASES

CASE_IDS = [case.name for case in CASES]


def _leaves(arrays):
    return [gradlite.tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@given(data=st.data())
def test_gradient_matches_finite_differences(case, data):
    arrays, param = data.draw(case.inputs)
    assert gradlite.gradcheck(lambda *xs: case.fn(*xs, param), _leaves(arrays))


SECOND_ORDER = [case for case in CASES if case.second_order]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
@settings(max_examples=8)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(case, data):
    arrays, param = data.draw(case.inputs)
    assert gradlite.gradgradcheck(lambda *xs: case.fn(*xs, param), _leaves(arrays), atol=1e-4)


WITH_NUMPY = [case for case in CASES if case.numpy is not None]


@pytest.mark.parametrize("case", WITH_NUMPY, ids=[c.name for c in WITH_NUMPY])
@given(data=st.data())
def test_forward_matches_numpy(case, data):
    arrays, param = data.draw(case.inputs)
    out = case.fn(*[gradlite.tensor(a) for a in arrays], param)
    expected = np.asarray(case.numpy(*arrays, param))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", WITH_NUMPY, ids=[c.name for c in WITH_NUMPY])
@settings(max_examples=10)
@given(data=st.data())
def test_float32_stays_float32(case, data):
    arrays, param = data.draw(case.inputs)
    out = case.fn(*[gradlite.tensor(a.astype(np.float32), requires_grad=True) for a in arrays],
                  param)
    assert out.dtype == np.float32
    expected = np.asarray(case.numpy(*arrays, param))
    np.testing.assert_allclose(out.data, expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@settings(max_examples=10)
@given(data=st.data())
def test_matches_pytorch(case, data):
    torch = pytest.importorskip("torch")
    arrays, param = data.draw(case.inputs)
    ours = _leaves(arrays)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(*ours, param)
    expected = (case.torch_fn or case.fn)(*theirs, param)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    direction = np.random.default_rng(0).standard_normal(out.shape)
    (out * direction).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), rtol=1e-9, atol=1e-12)
