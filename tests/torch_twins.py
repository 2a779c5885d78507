"""Helpers shared by the tests that compare a gradlite layer with its PyTorch twin."""
import numpy as np

import gradlite

#: How close gradlite and PyTorch must agree, by dtype.
TOLERANCES = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=1e-4, atol=2e-5)}


def array(*shape, seed=0, dtype=np.float64):
    """Standard normal values of ``shape``, the same for a given seed."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def leaf(a):
    """``a`` as a gradlite leaf that requires grad."""
    return gradlite.tensor(a, requires_grad=True)


def load_from_torch(ours, theirs):
    """Copy the PyTorch module's weights into the gradlite one, through ``state_dict``."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def assert_same_gradients(ours, theirs, **tol):
    """Both modules have the same parameter names, and each parameter the same gradient."""
    mine = dict(ours.named_parameters())
    assert set(mine) == {name for name, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(mine[name].grad.data, p.grad.numpy(), err_msg=name, **tol)
