"""Per-coordinate step sizes from gradient statistics: Adagrad, Adadelta, RMSprop."""

import numpy as np

from .optimizer import Optimizer, ema_, ema_square_


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's update rule.

    With ``g`` the gradient after ``maximize`` and weight decay (see :class:`Optimizer`),
    at step ``t = 1, 2, ...``::

        s_t = s_{t-1} + g**2                  s_0 = initial_accumulator_value
        p  <- p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s_t) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        super()._validate(group)
        self._check(group, "lr_decay", "lr_decay value")
        self._check(group, "initial_accumulator_value", "initial_accumulator_value value")

    def _init_state(self, param, group):
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, param, grad, state, group):
        state["step"] += 1
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        tmp = np.multiply(grad, grad)
        state["sum"] += tmp
        denom = np.sqrt(state["sum"], out=tmp)
        denom += group["eps"]
        step = np.divide(grad, denom, out=tmp)
        step *= lr
        param -= step


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's update rule.

    With ``g`` the gradient after ``maximize`` and weight decay (see :class:`Optimizer`)::

        v_t = rho * v_{t-1} + (1 - rho) * g**2                  square_avg
        d   = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g
        u_t = rho * u_{t-1} + (1 - rho) * d**2                  acc_delta
        p  <- p - lr * d
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        super()._validate(group)
        self._check(group, "rho", "rho value", 0.0, 1.0)

    def _init_state(self, param, group):
        return {"step": 0, "square_avg": np.zeros_like(param),
                "acc_delta": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        tmp = np.empty_like(param)
        ema_square_(state["square_avg"], grad, rho, tmp)
        std = np.add(state["square_avg"], eps, out=tmp)
        np.sqrt(std, out=std)
        delta = np.add(state["acc_delta"], eps)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= grad
        ema_square_(state["acc_delta"], delta, rho, tmp)
        delta *= group["lr"]
        param -= delta


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), PyTorch's update rule.

    With ``g`` the gradient after ``maximize`` and weight decay (see :class:`Optimizer`)::

        v_t = alpha * v_{t-1} + (1 - alpha) * g**2
        a_t = alpha * a_{t-1} + (1 - alpha) * g          only if centered
        r   = sqrt(v_t - a_t**2) + eps   if centered  else  sqrt(v_t) + eps
        b_t = mu * b_{t-1} + g / r,  p <- p - lr * b_t    if momentum mu > 0
        p  <- p - lr * g / r                               otherwise
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        super()._validate(group)
        self._check(group, "momentum", "momentum value")
        self._check(group, "alpha", "alpha value")

    def _init_state(self, param, group):
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        state["step"] += 1
        tmp = np.empty_like(param)
        ema_square_(state["square_avg"], grad, alpha, tmp)
        if group["centered"]:
            ema_(state["grad_avg"], grad, alpha, tmp)
            np.multiply(state["grad_avg"], state["grad_avg"], out=tmp)
            np.subtract(state["square_avg"], tmp, out=tmp)
            r = np.sqrt(tmp, out=tmp)
        else:
            r = np.sqrt(state["square_avg"], out=tmp)
        r += group["eps"]
        step = np.divide(grad, r, out=tmp)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += step
            step = np.multiply(buf, group["lr"], out=tmp)
        else:
            step *= group["lr"]
        param -= step
