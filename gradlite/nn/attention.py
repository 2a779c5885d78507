"""nn.MultiheadAttention (PyTorch's parameters, masks and return values)."""
import numpy as np

from .. import Tensor, zeros
from . import _functional_seq as seq
from . import init
from .functional import linear
from .layers import Linear
from .module import Module
from .parameter import Parameter


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads of size embed_dim / num_heads:

        head_h = softmax(Q_h K_h^T / sqrt(d) + mask) V_h,   out = concat(heads) W_o^T + b_o

    where Q, K, V are the inputs projected by the three blocks of ``in_proj_weight``
    (3 E, E) and ``in_proj_bias`` (3 E,) (or ``q_proj_weight``, ``k_proj_weight``,
    ``v_proj_weight`` when kdim or vdim differ from embed_dim); ``out_proj`` is a Linear.
    Inputs are (L, N, E) ((N, L, E) with batch_first, or unbatched (L, E)).
    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns (output, weights or None).
    Bool masks are True where attention is NOT allowed; float masks are added.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible "
                             f"by num_heads ({num_heads}), both positive")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are "
                                      "not supported")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, float(dropout)
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(zeros(3 * embed_dim, embed_dim))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(zeros(embed_dim, embed_dim))
            self.k_proj_weight = Parameter(zeros(embed_dim, self.kdim))
            self.v_proj_weight = Parameter(zeros(embed_dim, self.vdim))
        self.register_parameter("in_proj_bias", Parameter(zeros(3 * embed_dim)) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's: xavier_uniform_ projections, zero biases (out_proj.weight keeps
        Linear's default)."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                       self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query, key, value):
        """Q, K, V (N, L or S, E): one product for self-attention, three otherwise."""
        E, b = self.embed_dim, self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            if query is key and key is value:
                return linear(query, self.in_proj_weight, b).chunk(3, dim=-1)
            w = self.in_proj_weight
            weights = (w[:E], w[E:2 * E], w[2 * E:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return tuple(linear(x, w, bias) for x, w, bias in zip((query, key, value), weights,
                                                                 biases))

    def _heads(self, x):
        """(N, L, E) -> (N, heads, L, head_dim)."""
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def _mask(self, attn_mask, key_padding_mask, N, L, S, dtype):
        """attn_mask (L, S) or (N*heads, L, S) and key_padding_mask (N, S) as one additive
        mask broadcastable to (N, heads, L, S), or None."""
        fn = "MultiheadAttention"
        mask = seq.additive_mask(attn_mask, dtype, False, fn, "attn_mask")
        if mask is not None:
            if tuple(mask.shape) == (N * self.num_heads, L, S):
                mask = mask.reshape(N, self.num_heads, L, S)
            elif tuple(mask.shape) != (L, S):
                raise ValueError(f"{fn}: attn_mask must have shape ({L}, {S}) or "
                                 f"({N * self.num_heads}, {L}, {S}), got {tuple(mask.shape)}")
        padding = seq.additive_mask(key_padding_mask, dtype, False, fn, "key_padding_mask")
        if padding is not None:
            if tuple(padding.shape) != (N, S):
                raise ValueError(f"{fn}: key_padding_mask must have shape ({N}, {S}), got "
                                 f"{tuple(padding.shape)}")
            padding = padding.reshape(N, 1, 1, S)
            mask = padding if mask is None else mask + padding
        return mask

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        fn = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{fn}: need attn_mask if specifying the is_causal hint")
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{fn}: query, key and value must all be 3-d (batched) or 2-d "
                             f"(unbatched), got shapes {tuple(query.shape)}, "
                             f"{tuple(key.shape)}, {tuple(value.shape)}")
        batched = query.ndim == 3
        same = (query is key, key is value)
        if not batched:
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else _unsqueeze0(key_padding_mask)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if same[0]:
            key = query
        if same[1]:
            value = key
        (N, L, E), S = query.shape, key.shape[1]
        if E != self.embed_dim or key.shape[0] != N or value.shape[:2] != key.shape[:2]:
            raise ValueError(f"{fn}: expected query (L, N, {self.embed_dim}) and key, value "
                             f"(S, N, ·) of one batch (batch_first={self.batch_first}), got "
                             f"shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                             f"{tuple(value.shape)}")
        q, k, v = (self._heads(t) for t in self._project(query, key, value))
        mask = self._mask(attn_mask, key_padding_mask, N, L, S, q.dtype)
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = seq.attention_with_weights(q, k, v, mask, dropout_p)
            weights = weights.mean(dim=1) if average_attn_weights else weights
        else:
            out = seq.scaled_dot_product_attention(q, k, v, mask, dropout_p)
            weights = None
        out = self.out_proj(out.permute(0, 2, 1, 3).reshape(N, L, E))
        if not batched:
            return out.squeeze(0), None if weights is None else weights.squeeze(0)
        return (out if self.batch_first else out.transpose(0, 1)), weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


def _unsqueeze0(mask):
    return mask.unsqueeze(0) if isinstance(mask, Tensor) else np.asarray(mask)[None]

