"""Recurrent layers, each one Function over the whole sequence with a hand-written
backpropagation through time.

A layer runs one cell over time: state_t = cell(x_t, state_(t-1)). Unrolled, it is
a T-step chain of the same cell sharing weights, so backpropagation through time
(BPTT) is the ordinary chain rule on that chain: walking from t = T down to 1, the
gradient reaching state_(t-1) is what flows back through cell t, plus nothing else.
The weight gradients are sums over the steps; the input projections x_t W_ih^T of
all steps are done as one matrix product before the loop, and their gradients as
one after it, so the loop itself holds only the recurrent product h W_hh^T and the
gate arithmetic.

Arguments (PyTorch's layouts): x (T, B, I); h0, c0 (B, H); w_ih (G*H, I); w_hh (G*H, H);
b_ih, b_hh (G*H,) or None, with G = 4 gates i, f, g, o for the LSTM, 3 gates r, z, n
for the GRU, 1 for the plain RNN. ``reverse`` runs the cell from t = T to 1 (the
backward direction of a bidirectional layer); outputs stay in input order.

Under ``create_graph=True`` the backward differentiates the composite definitions
(the ``*_cell`` functions below, looped), so these layers can be differentiated twice.
"""
import functools

import numpy as np

from ..autograd import Function, is_grad_enabled
from .composite import composite_grads
from .shape import Cat

# ---------------------------------------------------------------------- shared pieces


def _project_inputs(x, w_ih, *biases):
    """x_t W_ih^T + biases for every step at once: (T, B, G*H)."""
    T, B, _ = x.shape
    projected = (x.reshape(T * B, -1) @ w_ih.T).reshape(T, B, -1)
    for b in biases:
        if b is not None:
            projected += b
    return projected


def _time_order(array, reverse):
    return array[::-1] if reverse else array


def _sigmoid_(a):
    """sigmoid(a) in place, as (1 + tanh(a / 2)) / 2: one transcendental and no overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


@functools.lru_cache(maxsize=16)
def _lstm_gate_scales(H, dtype):
    """(scale, shift) such that every LSTM gate is scale * tanh(scale * a) + shift:
    sigmoid(a) = tanh(a/2)/2 + 1/2 for i, f, o and tanh(a) itself for g, so all four
    gates take four whole-row operations. Made once per (H, dtype), read-only: every
    time step uses them."""
    scale = np.full(4 * H, 0.5, dtype)
    shift = np.full(4 * H, 0.5, dtype)
    scale[2 * H:3 * H], shift[2 * H:3 * H] = 1, 0
    scale.flags.writeable = shift.flags.writeable = False
    return scale, shift


def _layer_grads(ctx, x, w_ih, d_pre_x, h_prev, d_pre_h):
    """Gradients of x, w_ih, w_hh, b_ih, b_hh from the pre-activation gradients of every
    step (time in run order): d_pre_x of x_t W_ih^T + b_ih, d_pre_h of h_(t-1) W_hh^T + b_hh."""
    T, B, GH = d_pre_x.shape
    dx_rows, dh_rows = d_pre_x.reshape(T * B, GH), d_pre_h.reshape(T * B, GH)
    x_rows = _time_order(x, ctx.reverse).reshape(T * B, -1)
    return (lambda: _time_order((dx_rows @ w_ih).reshape(x.shape), ctx.reverse),
            lambda: dx_rows.T @ x_rows,
            lambda: dh_rows.T @ h_prev.reshape(T * B, -1),
            lambda: dx_rows.sum(axis=0),
            lambda: dh_rows.sum(axis=0))


# ---------------------------------------------------------------------- LSTM
class LSTMLayer(Function):
    """One LSTM direction over a sequence; returns (T + 1, B, H): h_1..h_T in input
    order, then the final cell state c_T.

    Step (gates from a = x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh, split i, f, g, o):
        i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g)
        c_t = f c_(t-1) + i g,   h_t = o tanh(c_t)
    BPTT, with dh = dL/dh_t (from the output and from step t+1), dc = dL/dc_t:
        dc  = dc_(from t+1) + dh o (1 - tanh(c_t)^2)
        da_i = dc g i (1 - i),   da_f = dc c_(t-1) f (1 - f)
        da_g = dc i (1 - g^2),   da_o = dh tanh(c_t) o (1 - o)
        dL/dc_(t-1) = dc f,      dL/dh_(t-1) = da W_hh
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        T, B, _ = x.shape
        H = w_hh.shape[1]
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        pre = _project_inputs(_time_order(x, reverse), w_ih, b_ih, b_hh)
        h = np.empty((T + 1, B, H), x.dtype)
        c = np.empty((T + 1, B, H), x.dtype)
        tanh_c = np.empty((T, B, H), x.dtype)
        h[0], c[0] = h0, c0
        w_hh_t, recurrent = w_hh.T, np.empty((B, 4 * H), x.dtype)
        cell_step = _lstm_forward_step if x.dtype == np.float32 else _lstm_cell
        for t in range(T):                   # pre[t] becomes the gates i, f, g, o
            np.matmul(h[t], w_hh_t, out=recurrent)
            cell_step(pre[t], recurrent, c[t], c[t + 1], tanh_c[t], h[t + 1])
        ctx.gates, ctx.h, ctx.c, ctx.tanh_c = pre, h, c, tanh_c
        return np.concatenate([_time_order(h[1:], reverse), c[T:]])

    @staticmethod
    def backward(ctx, grad):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh = inputs = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(lambda *a: lstm_layer_composite(*a, ctx.reverse), inputs,
                                   ctx.needs_input_grad[:7], grad) + (None,)
        w_hh = w_hh.data
        T, B, H = ctx.tanh_c.shape
        g_h = _time_order(grad.data[:T], ctx.reverse)
        dc = grad.data[T].copy()
        dh = np.zeros((B, H), x.dtype)
        d_pre = np.empty((T, B, 4 * H), x.dtype)
        cell_step = _lstm_backward_step if dc.dtype == dh.dtype == w_hh.dtype else _lstm_cell_grads
        for t in reversed(range(T)):
            dh += g_h[t]
            cell_step(ctx.gates[t], ctx.tanh_c[t], ctx.c[t], dh, dc, d_pre[t])
            dh = d_pre[t] @ w_hh
        x_grad, w_ih_grad, w_hh_grad, b_ih_grad, b_hh_grad = _layer_grads(
            ctx, x.data, w_ih.data, d_pre, ctx.h[:T], d_pre)
        return ctx.needed(x_grad, lambda: dh, lambda: dc, w_ih_grad, w_hh_grad, b_ih_grad,
                          b_hh_grad, lambda: None)


def _lstm_cell(a, recurrent, c_prev, c, tanh_c, h):
    """One step of LSTMLayer's forward (the formulas of its docstring): a (B, 4H), the
    gates' input parts x_t W_ih^T + biases, becomes the gates i, f, g, o, with
    recurrent = h_(t-1) W_hh^T (B, 4H); writes c_t, tanh(c_t) and h_t (B, H). The
    compiled twin, ``_kernels._lstm.forward_step`` (float32), does it in one pass."""
    H = c.shape[1]
    scale, shift = _lstm_gate_scales(H, a.dtype)
    a += recurrent
    a *= scale
    np.tanh(a, out=a)
    a *= scale
    a += shift
    i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    np.multiply(f, c_prev, out=c)
    c += i * g
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)


def _lstm_cell_grads(gates, tanh_c, c_prev, dh, dc, d):
    """One step of LSTMLayer's BPTT (the formulas of its docstring): writes d, the
    gradient of the step's gate pre-activations (B, 4H), and turns dc = dL/dc_t into
    dL/dc_(t-1). The compiled twin, ``_kernels._lstm.backward_step``, does it in one pass."""
    H = dc.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc += dh * o * (1 - tanh_c * tanh_c)
    np.multiply(dc * g, i * (1 - i), out=d[:, :H])
    np.multiply(dc * c_prev, f * (1 - f), out=d[:, H:2 * H])
    np.multiply(dc * i, 1 - g * g, out=d[:, 2 * H:3 * H])
    np.multiply(dh * tanh_c, o * (1 - o), out=d[:, 3 * H:])
    dc *= f


try:
    from .._kernels._lstm import backward_step as _lstm_backward_step
    from .._kernels._lstm import forward_step as _lstm_forward_step
except ImportError:  # the kernels are not compiled
    _lstm_backward_step, _lstm_forward_step = _lstm_cell_grads, _lstm_cell


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step in Tensor ops: returns (h', c')."""
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    i, f, g, o = a.chunk(4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def lstm_layer_composite(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """LSTMLayer in Tensor ops (the specification): lstm_cell looped over time."""
    h, c, outputs = h0, c0, []
    for t in _time_order(range(x.shape[0]), reverse):
        h, c = lstm_cell(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        outputs.append(h)
    return _stack_time(_time_order(outputs, reverse) + [c])


# ---------------------------------------------------------------------- GRU
class GRULayer(Function):
    """One GRU direction over a sequence; returns h_1..h_T (T, B, H) in input order.

    Step (x-part xa = x_t W_ih^T + b_ih, h-part ha = h_(t-1) W_hh^T + b_hh, split r, z, n):
        r = sigmoid(xa_r + ha_r),  z = sigmoid(xa_z + ha_z),  n = tanh(xa_n + r ha_n)
        h_t = (1 - z) n + z h_(t-1)
    BPTT, with dh = dL/dh_t:
        dn_pre = dh (1 - z) (1 - n^2),  dr_pre = dn_pre ha_n r (1 - r),
        dz_pre = dh (h_(t-1) - n) z (1 - z)
        d xa = (dr_pre, dz_pre, dn_pre),   d ha = (dr_pre, dz_pre, dn_pre r)
        dL/dh_(t-1) = dh z + d ha W_hh
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        T, B, _ = x.shape
        H = w_hh.shape[1]
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh)
        xa = _project_inputs(_time_order(x, reverse), w_ih, b_ih)
        ha = np.empty((T, B, 3 * H), x.dtype)
        h = np.empty((T + 1, B, H), x.dtype)
        h[0] = h0
        for t in range(T):
            np.matmul(h[t], w_hh.T, out=ha[t])
            if b_hh is not None:
                ha[t] += b_hh
            a = xa[t]                        # becomes the gate activations r, z, n
            a[:, :2 * H] += ha[t, :, :2 * H]
            _sigmoid_(a[:, :2 * H])
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            n += r * ha[t, :, 2 * H:]
            np.tanh(n, out=n)
            np.subtract(h[t], n, out=h[t + 1])
            h[t + 1] *= z
            h[t + 1] += n
        ctx.gates, ctx.ha, ctx.h = xa, ha, h
        return np.ascontiguousarray(_time_order(h[1:], reverse))

    @staticmethod
    def backward(ctx, grad):
        x, h0, w_ih, w_hh, b_ih, b_hh = inputs = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(lambda *a: gru_layer_composite(*a, ctx.reverse), inputs,
                                   ctx.needs_input_grad[:6], grad) + (None,)
        w_hh = w_hh.data
        T, B, H = grad.shape
        g_h = _time_order(grad.data, ctx.reverse)
        dh = np.zeros((B, H), x.dtype)
        d_xa = np.empty((T, B, 3 * H), x.dtype)
        d_ha = np.empty((T, B, 3 * H), x.dtype)
        for t in reversed(range(T)):
            a = ctx.gates[t]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dh += g_h[t]
            dn = d_xa[t, :, 2 * H:]
            np.multiply(dh * (1 - z), 1 - n * n, out=dn)
            np.multiply(dn * ctx.ha[t, :, 2 * H:], r * (1 - r), out=d_xa[t, :, :H])
            np.multiply(dh * (ctx.h[t] - n), z * (1 - z), out=d_xa[t, :, H:2 * H])
            d_ha[t, :, :2 * H] = d_xa[t, :, :2 * H]
            np.multiply(dn, r, out=d_ha[t, :, 2 * H:])
            dh = dh * z + d_ha[t] @ w_hh
        x_grad, w_ih_grad, w_hh_grad, b_ih_grad, b_hh_grad = _layer_grads(
            ctx, x.data, w_ih.data, d_xa, ctx.h[:T], d_ha)
        return ctx.needed(x_grad, lambda: dh, w_ih_grad, w_hh_grad, b_ih_grad, b_hh_grad,
                          lambda: None)


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step in Tensor ops: returns h'."""
    xr, xz, xn = _affine(x, w_ih, b_ih).chunk(3, dim=-1)
    hr, hz, hn = _affine(h, w_hh, b_hh).chunk(3, dim=-1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1 - z) * n + z * h


def gru_layer_composite(x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
    """GRULayer in Tensor ops (the specification): gru_cell looped over time."""
    h, outputs = h0, []
    for t in _time_order(range(x.shape[0]), reverse):
        h = gru_cell(x[t], h, w_ih, w_hh, b_ih, b_hh)
        outputs.append(h)
    return _stack_time(_time_order(outputs, reverse))


# ---------------------------------------------------------------------- plain RNN
class RNNLayer(Function):
    """One Elman RNN direction over a sequence; returns h_1..h_T (T, B, H) in input order.

    Step: h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh), act = tanh or relu.
    BPTT: da = (dL/dh_t) act'(a) with tanh' = 1 - h_t^2, relu' = [h_t > 0];
          dL/dh_(t-1) = da W_hh.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity):
        T, B, _ = x.shape
        ctx.reverse, ctx.nonlinearity = reverse, nonlinearity
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh)
        h = _project_inputs(_time_order(x, reverse), w_ih, b_ih, b_hh)
        h = np.concatenate([h0[None], h])    # h[t + 1] holds a_t, then h_t
        for t in range(T):
            a = h[t + 1]
            a += h[t] @ w_hh.T
            if nonlinearity == "tanh":
                np.tanh(a, out=a)
            else:
                np.maximum(a, 0, out=a)
        ctx.h = h
        return np.ascontiguousarray(_time_order(h[1:], reverse))

    @staticmethod
    def backward(ctx, grad):
        x, h0, w_ih, w_hh, b_ih, b_hh = inputs = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(
                lambda *a: rnn_layer_composite(*a, ctx.reverse, ctx.nonlinearity), inputs,
                ctx.needs_input_grad[:6], grad) + (None, None)
        w_hh = w_hh.data
        T, B, H = grad.shape
        g_h = _time_order(grad.data, ctx.reverse)
        derivative = (1 - ctx.h[1:] ** 2) if ctx.nonlinearity == "tanh" else (ctx.h[1:] > 0)
        dh = np.zeros((B, H), x.dtype)
        d_pre = np.empty((T, B, H), x.dtype)
        for t in reversed(range(T)):
            dh += g_h[t]
            np.multiply(dh, derivative[t], out=d_pre[t])
            dh = d_pre[t] @ w_hh
        x_grad, w_ih_grad, w_hh_grad, b_ih_grad, b_hh_grad = _layer_grads(
            ctx, x.data, w_ih.data, d_pre, ctx.h[:T], d_pre)
        return ctx.needed(x_grad, lambda: dh, w_ih_grad, w_hh_grad, b_ih_grad, b_hh_grad,
                          lambda: None, lambda: None)


def rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity):
    """One Elman RNN step in Tensor ops: returns h'."""
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    return a.tanh() if nonlinearity == "tanh" else a.relu()


def rnn_layer_composite(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity):
    """RNNLayer in Tensor ops (the specification): rnn_cell looped over time."""
    h, outputs = h0, []
    for t in _time_order(range(x.shape[0]), reverse):
        h = rnn_cell(x[t], h, w_ih, w_hh, b_ih, b_hh, nonlinearity)
        outputs.append(h)
    return _stack_time(_time_order(outputs, reverse))


# ---------------------------------------------------------------------- Tensor helpers
def _affine(x, w, b):
    y = x @ w.mT
    return y if b is None else y + b


def _stack_time(steps):
    return Cat.apply(0, *[s.unsqueeze(0) for s in steps])
