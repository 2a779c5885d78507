"""Stochastic gradient descent, with momentum and Nesterov momentum."""
import math

from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's update rule).

    With ``g`` the gradient after ``maximize`` and weight decay (see :class:`Optimizer`)::

        b_1 = g                                   first step
        b_t = mu * b_{t-1} + (1 - dampening) * g   later steps      (if momentum mu != 0)
        d   = g + mu * b_t   if nesterov  else  b_t                 (d = g if mu == 0)
        p  <- p - lr * d
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        super()._validate(group)
        self._check(group, "momentum", "momentum value")
        self._check(group, "dampening", "dampening value", -math.inf)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param, grad, state, group):
        mu = group["momentum"]
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * grad if group["dampening"] else grad
            grad = grad + mu * buf if group["nesterov"] else buf
        param -= group["lr"] * grad
