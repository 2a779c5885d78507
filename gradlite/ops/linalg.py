"""Einstein summation and the 2-norm."""
import numpy as np

from ..autograd import Function


def parse_einsum(equation, count):
    """``"ij,jk->ik"`` -> (["ij", "jk"], "ik"); the implicit form ``"ij,jk"`` gets the
    letters that appear once, sorted, as its output (numpy's and PyTorch's rule)."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != count:
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operands, "
                         f"but {count} tensors were given")
    if "." in equation:
        raise NotImplementedError("einsum: '...' (ellipsis) is not supported; name every dim")
    for term in terms:
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum: a letter repeated within one operand "
                                      f"({term!r}, a diagonal) is not supported")
    if not arrow:
        letters = "".join(terms)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return terms, output


class Einsum(Function):
    """y = sum over the letters not in the output of the product of the operands;
    dL/dx_k = the same sum of g times the other operands, written to x_k's letters
    (letters only x_k has were summed away, so their gradient is g broadcast along them)."""

    @staticmethod
    def forward(ctx, equation, *xs):
        ctx.terms, ctx.output = parse_einsum(equation, len(xs))
        for term, x in zip(ctx.terms, xs):
            if len(term) != x.ndim:
                raise ValueError(f"einsum: operand {term!r} has {len(term)} letters, but its "
                                 f"tensor has {x.ndim} dims (shape {x.shape})")
        ctx.save_for_backward(*xs)
        return np.asarray(np.einsum(f"{','.join(ctx.terms)}->{ctx.output}", *xs))

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        for k, (term, x) in enumerate(zip(ctx.terms, xs)):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            others = [t for i, t in enumerate(ctx.terms) if i != k]
            known = set(ctx.output).union(*others)
            kept = "".join(c for c in term if c in known)
            spec = ",".join([ctx.output] + others) + "->" + kept
            part = Einsum.apply(spec, g, *[t for i, t in enumerate(xs) if i != k])
            shape = tuple(n if c in known else 1 for c, n in zip(term, x.shape))
            grads.append(part.reshape(shape).expand(x.shape))
        return (None, *grads)


class Norm2(Function):
    """y = sqrt(sum x^2) over ``axes``;  dy/dx = x / y (0 where y = 0, as PyTorch's
    subgradient)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.save_for_backward(x)
        y = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdim))
        return y

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        y = (x * x).sum(dim=ctx.axes, keepdim=True).sqrt()
        if not ctx.keepdim:
            g = g.reshape(y.shape)
        safe = y.masked_fill(y == 0, float("inf"))
        return g * x / safe, None, None
