"""The ``Optimizer`` base class: parameter groups, per-parameter state, the step loop.

An optimizer sees only parameters, through three attributes:

- ``p.data``: the parameter's numpy array, updated in place (no graph is built);
- ``p.grad``: ``None`` or a tensor whose ``.data`` is the gradient array;
- ``p.requires_grad``.

A subclass supplies its defaults, a check of its options (``_validate``), the state it
keeps per parameter (``_init_state``) and its update rule (``_update``). The base class
does everything shared once: it walks the groups, skips parameters without a gradient,
negates the gradient for ``maximize``, applies weight decay, and keeps the state in
PyTorch's ``state_dict`` layout.
"""

import math

import numpy as np

from ..autograd import bump_version


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of parameters, or of dicts ``{'params': [...], **options}``
    that give some groups their own options (the rest come from ``defaults``).

    Shared by every optimizer, before its own rule: ``g = -grad`` if ``maximize`` (else
    ``grad``); then weight decay ``wd``, by default L2 regularisation added to the
    gradient, ``g <- g + wd * p``, or, for a subclass with ``decoupled_weight_decay =
    True``, a shrinking of the parameter, ``p <- p * (1 - lr * wd)`` (AdamW).
    """

    decoupled_weight_decay = False

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        name = type(self).__name__
        if _is_param(params) or isinstance(params, dict) or not hasattr(params, "__iter__"):
            raise TypeError(
                f"{name}: params argument given to the optimizer should be an iterable of "
                f"Tensors or dicts, but got {type(params).__name__}")
        groups = list(_ordered(params))
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- parameter groups -------------------------------------------------------

    def add_param_group(self, param_group):
        """Add a group ``{'params': ..., **options}``; missing options take the defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a param_group must be a dict with a 'params' entry, "
                            f"got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if _is_param(params) else list(_ordered(params))
        for p in params:
            if not _is_param(p):
                raise TypeError(f"{name}: optimizer can only optimize Tensors (objects with an "
                                f"ndarray .data), but one of the params is {type(p).__name__}")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) < len(params):
            raise ValueError(f"{name}: some parameters appear more than once in the parameter "
                             "groups")
        group = {**self.defaults, **param_group, "params": params}
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group):
        """Raise an error naming the optimizer for a bad option value: TypeError for a
        non-number, ValueError (in PyTorch's words) for one out of range or not finite."""
        self._check(group, "lr", "learning rate")
        self._check(group, "weight_decay", "weight_decay value")
        self._check(group, "eps", "epsilon value")

    def _check(self, group, key, what, low=0.0, high=math.inf, high_open=False):
        """``group[key]`` (when present) must be a finite number in [low, high] (or
        [low, high) with ``high_open``); ``what`` names it in the message."""
        if key not in group:
            return
        value = group[key]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{type(self).__name__}: {key} must be a number, got "
                            f"{type(value).__name__} {value!r}")
        above = value >= high if high_open else value > high
        if not math.isfinite(value) or value < low or above:
            raise ValueError(f"{type(self).__name__}: Invalid {what}: {value}")

    # -- the step ---------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``p.grad = None``, or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data.fill(0)
                    bump_version(p.grad)

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` (optional)
        re-evaluates the model and returns the loss, which ``step`` returns."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, wd = group["lr"], group.get("weight_decay", 0)
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if group.get("maximize", False):
                    grad = -grad
                if wd != 0:
                    if self.decoupled_weight_decay:
                        p.data *= 1 - lr * wd
                    else:
                        grad = grad + wd * p.data
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = self._init_state(p.data, group)
                self._update(p.data, grad, state, group)
                bump_version(p)
        return loss

    def _init_state(self, param, group):
        """The new state dict of ``param`` (an ndarray), before its first update."""
        return {}

    def _update(self, param, grad, state, group):
        """Update ``param`` in place from ``grad`` (after maximize and weight decay)."""
        raise NotImplementedError

    # -- state dict ---------------------------------------------------------------

    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``,
        parameters numbered in group order, as in PyTorch. Arrays are not copied."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append({**group, "params": ids})
        state = {index[id(p)]: dict(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state from ``state_dict()`` output (arrays are copied and
        cast to each parameter's dtype; ``step`` counts may be numbers or arrays)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(groups)}) than the optimizer ({len(self.param_groups)})")
        for mine, saved in zip(self.param_groups, groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        states = {int(k): v for k, v in state_dict["state"].items()}
        self.state = {}
        for mine, saved in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], saved["params"]):
                if i in states:
                    self.state[p] = {k: _load_value(k, v, p.data) for k, v in states[i].items()}
            mine.update({k: v for k, v in saved.items() if k != "params"})


def ema_(avg, x, beta, tmp):
    """In place: ``avg <- beta * avg + (1 - beta) * x`` (as ``avg += (1-beta)(x-avg)``).
    ``tmp`` is a scratch array of ``avg``'s shape."""
    np.subtract(x, avg, out=tmp)
    tmp *= 1 - beta
    avg += tmp


def ema_square_(avg, x, beta, tmp):
    """In place: ``avg <- beta * avg + (1 - beta) * x**2``."""
    np.multiply(x, x, out=tmp)
    tmp *= 1 - beta
    avg *= beta
    avg += tmp


def _ordered(params):
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters must be in an ordered collection (a list), "
                        "not a set: a set's order changes between runs, and the state "
                        "dict numbers parameters by position")
    return params


def _is_param(obj):
    return isinstance(getattr(obj, "data", None), np.ndarray)


def _load_value(key, value, param):
    if key == "step":
        return int(np.asarray(value))
    if _is_param(value):                       # a Tensor rather than an array
        value = value.data
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=param.dtype)
    return value
