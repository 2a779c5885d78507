"""Recurrent layers: RNN, LSTM, GRU and their single-step cells (PyTorch's API).

Parameters are PyTorch's, in its order and layout, so a PyTorch ``state_dict`` loads:
``weight_ih_l{k}`` (G*hidden, input), ``weight_hh_l{k}`` (G*hidden, hidden),
``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*hidden,), with the suffix ``_reverse`` for the
backward direction; G stacks the gates: 4 (i, f, g, o) for the LSTM, 3 (r, z, n) for
the GRU, 1 for the RNN. All start uniform in (-1/sqrt(hidden), 1/sqrt(hidden)).
Each layer and direction is one fused op of ``gradlite.ops.recurrent`` (its docstring
has the cell and its backpropagation through time).
"""
import math
import warnings

from .. import functions
from ..ops import recurrent as ops
from .. import zeros
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _run_layer(mode, x, h0, c0, weights, reverse):
    """One direction of one layer over x (T, B, I): returns (output (T, B, H), h_n, c_n)."""
    if mode == "LSTM":
        out = ops.LSTMLayer.apply(x, h0, c0, *weights, reverse)
        T = x.shape[0]
        output = out[:T]
        return output, output[0 if reverse else T - 1], out[T]
    if mode == "GRU":
        output = ops.GRULayer.apply(x, h0, *weights, reverse)
    else:
        output = ops.RNNLayer.apply(x, h0, *weights, reverse, mode[4:].lower())
    return output, output[0 if reverse else x.shape[0] - 1], None


class RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters, checks and the loop over layers and
    directions (each direction of a layer sees the whole output of the layer below)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False):
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent "
                          f"layer, so non-zero dropout expects num_layers greater than 1, but "
                          f"got dropout={dropout} and num_layers={num_layers}", UserWarning)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                self.register_parameter(f"weight_ih_l{layer}{suffix}",
                                        Parameter(zeros(gate_size, layer_input)))
                self.register_parameter(f"weight_hh_l{layer}{suffix}",
                                        Parameter(zeros(gate_size, hidden_size)))
                if bias:
                    self.register_parameter(f"bias_ih_l{layer}{suffix}",
                                            Parameter(zeros(gate_size)))
                    self.register_parameter(f"bias_hh_l{layer}{suffix}",
                                            Parameter(zeros(gate_size)))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self):
        """A no-op, kept so PyTorch code that calls it runs unchanged."""

    def _layer_weights(self, layer, suffix):
        names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}",
                 f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
        return [self._parameters.get(name) for name in names]

    def _check_input(self, input, hx_shape, hx):
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input to be 2-d (unbatched) or 3-d, got shape "
                             f"{tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]} (input shape "
                             f"{tuple(input.shape)})")
        if input.dtype.kind != "f":
            raise TypeError(f"{name}: input must be a floating point tensor, got {input.dtype}")
        for state in (hx if isinstance(hx, tuple) else (hx,)):
            if state is not None and tuple(state.shape) != hx_shape:
                raise ValueError(f"{name}: expected hidden size {hx_shape}, got "
                                 f"{tuple(state.shape)}")

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        batched = input.ndim == 3
        directions = 2 if self.bidirectional else 1
        batch = (input.shape[0 if self.batch_first else 1]) if batched else 1
        hx_shape = (self.num_layers * directions,) + ((batch,) if batched else ()) + (
            self.hidden_size,)
        if is_lstm and hx is not None and not (isinstance(hx, tuple) and len(hx) == 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
        self._check_input(input, hx_shape, hx)
        if not batched:
            input = input.unsqueeze(1)
            hx = None if hx is None else tuple(h.unsqueeze(1) for h in hx) if is_lstm \
                else hx.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if hx is None:
            state = zeros(self.num_layers * directions, batch, self.hidden_size,
                          dtype=input.dtype)
            h0, c0 = state, state if is_lstm else None
        else:
            h0, c0 = hx if is_lstm else (hx, None)
        output, h_n, c_n = input, [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                output = F.dropout(output, self.dropout, True)
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, h, c = _run_layer(self.mode, output, h0[k], None if c0 is None else c0[k],
                                       self._layer_weights(layer, "_reverse" * direction),
                                       direction == 1)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            output = outputs[0] if directions == 1 else functions.cat(outputs, dim=2)
        h_n = functions.stack(h_n)
        c_n = functions.stack(c_n) if is_lstm else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, hx=None)``
    returns (output, h_n): output (L, N, D*H) (or (N, L, D*H) with batch_first),
    h_n (D*num_layers, N, H)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or "
                             "'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(f"RNN_{nonlinearity.upper()}", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, o = sigmoid(...), g = tanh(...) of
    x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh;  c_t = f c_(t-1) + i g,  h_t = o tanh(c_t).

    ``forward(input, (h_0, c_0)=None)`` returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0):
        if proj_size:
            raise NotImplementedError("LSTM: proj_size > 0 is not supported")
        self.proj_size = 0
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = sigmoid(...), n = tanh(x-part + r * h-part),
    h_t = (1 - z) n + z h_(t-1) (PyTorch's variant, b_hn inside r * (...)).

    ``forward(input, h_0=None)`` returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional)


# ---------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """Shared by the cells: one step of the layer's op (a sequence of length 1)."""
    mode = None

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate_size = _GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(zeros(gate_size, input_size))
        self.weight_hh = Parameter(zeros(gate_size, hidden_size))
        self.register_parameter("bias_ih", Parameter(zeros(gate_size)) if bias else None)
        self.register_parameter("bias_hh", Parameter(zeros(gate_size)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _step(self, input, hx):
        """(batched input (1, N, I), states (N, H) each, was the input unbatched)."""
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(input.shape)}")
        batched = input.ndim == 2
        shape = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        states = hx if isinstance(hx, tuple) else (hx,)
        states = tuple(zeros(*shape, dtype=input.dtype) if s is None else s for s in states)
        for s in states:
            if tuple(s.shape) != shape:
                raise ValueError(f"{name}: expected hidden state of shape {shape}, got "
                                 f"{tuple(s.shape)} (input shape {tuple(input.shape)})")
        if not batched:
            input, states = input.unsqueeze(0), tuple(s.unsqueeze(0) for s in states)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return input.unsqueeze(0), states, weights, batched

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        return text


def _unbatch(t, batched):
    return t if batched else t.squeeze(0)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu); ``forward(input, hx=None)``."""
    mode = "RNN_TANH"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias)

    def forward(self, input, hx=None):
        x, (h,), weights, batched = self._step(input, hx)
        out = ops.RNNLayer.apply(x, h, *weights, False, self.nonlinearity)
        return _unbatch(out[0], batched)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c)=None)`` returns (h', c')."""
    mode = "LSTM"

    def forward(self, input, hx=None):
        x, (h, c), weights, batched = self._step(input, (None, None) if hx is None else hx)
        out = ops.LSTMLayer.apply(x, h, c, *weights, False)
        return _unbatch(out[0], batched), _unbatch(out[1], batched)


class GRUCell(RNNCellBase):
    """One GRU step; ``forward(input, hx=None)`` returns h'."""
    mode = "GRU"

    def forward(self, input, hx=None):
        x, (h,), weights, batched = self._step(input, hx)
        return _unbatch(ops.GRULayer.apply(x, h, *weights, False)[0], batched)
