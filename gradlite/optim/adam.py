"""Adam and AdamW: adaptive moment estimation."""

import math

import numpy as np

from .optimizer import Optimizer, ema_, ema_square_


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's update rule.

    With ``g`` the gradient after ``maximize`` and weight decay (see :class:`Optimizer`),
    at step ``t = 1, 2, ...``::

        m_t = b1 * m_{t-1} + (1 - b1) * g          first moment
        v_t = b2 * v_{t-1} + (1 - b2) * g**2       second moment
        v^  = max(v^_{t-1}, v_t) if amsgrad else v_t
        p  <- p - lr / (1 - b1**t) * m_t / (sqrt(v^) / sqrt(1 - b2**t) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        super()._validate(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), "
                             f"got {betas!r}")
        group["betas"] = tuple(betas)
        for i, beta in enumerate(betas):
            self._check({"beta": beta}, "beta", f"beta parameter at index {i}", 0.0, 1.0,
                        high_open=True)

    def _init_state(self, param, group):
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        tmp = np.empty_like(param)
        ema_(m, grad, beta1, tmp)
        ema_square_(v, grad, beta2, tmp)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v, out=tmp)
        denom /= math.sqrt(1 - beta2 ** t)
        denom += group["eps"]
        step = np.divide(m, denom, out=tmp)
        step *= group["lr"] / (1 - beta1 ** t)
        param -= step


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    As :class:`Adam`, but weight decay shrinks the parameter instead of adding to the
    gradient: ``p <- p * (1 - lr * wd)`` before the Adam step, which uses ``g`` alone.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
