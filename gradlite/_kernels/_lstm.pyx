"""The LSTM's time step, fused: forward (``lstm_forward.h``, float32) and backward
(``lstm_cell.h``, float32 or float64).

``gradlite.ops.recurrent.LSTMLayer`` calls them in its time loops when they are built;
its numpy steps (``_lstm_cell``, ``_lstm_cell_grads``) are the specification they are
tested against (tests/test_recurrent.py). The arrays are C-contiguous.
"""
from cython.parallel cimport prange

from ._parallel cimport threads_for

cdef extern from "lstm_cell.h" nogil:
    void gl_lstm_backward_step_float(const float *gates, const float *tanh_c,
                                     const float *c_prev, const float *dh, float *dc,
                                     float *d, long B, long H)
    void gl_lstm_backward_step_double(const double *gates, const double *tanh_c,
                                      const double *c_prev, const double *dh, double *dc,
                                      double *d, long B, long H)

cdef extern from "lstm_forward.h" nogil:
    void gl_lstm_forward_step(float *a, const float *rec, const float *c_prev, float *c,
                              float *tanh_c, float *h, long B, long H)

ctypedef fused real:
    float
    double


def _check_step(fn, wide, narrow):
    """(B, H) if every array of ``wide`` is (B, 4H) and every one of ``narrow`` (B, H)."""
    B, H = narrow[0].shape[0], narrow[0].shape[1]
    if any(tuple(a.shape[:2]) != (B, 4 * H) for a in wide) or \
            any(tuple(a.shape[:2]) != (B, H) for a in narrow):
        raise ValueError(f"lstm {fn}: expected (B, 4H) and (B, H) arrays, got shapes "
                         f"{[tuple(a.shape[:2]) for a in wide + narrow]}")
    return B, H


def backward_step(const real[:, ::1] gates, const real[:, ::1] tanh_c,
                  const real[:, ::1] c_prev, const real[:, ::1] dh, real[:, ::1] dc,
                  real[:, ::1] d):
    """d (B, 4H) = dL/d(pre-activations) of the step, from the step's gates (B, 4H),
    tanh_c and c_prev (B, H) and dh = dL/dh_t (B, H); dc (B, H): dL/dc_t in, dL/dc_(t-1)
    out."""
    cdef long B, H
    B, H = _check_step("backward_step", [gates, d], [tanh_c, c_prev, dh, dc])
    if B == 0 or H == 0:
        return
    with nogil:
        if real is float:
            gl_lstm_backward_step_float(&gates[0, 0], &tanh_c[0, 0], &c_prev[0, 0],
                                        &dh[0, 0], &dc[0, 0], &d[0, 0], B, H)
        else:
            gl_lstm_backward_step_double(&gates[0, 0], &tanh_c[0, 0], &c_prev[0, 0],
                                         &dh[0, 0], &dc[0, 0], &d[0, 0], B, H)


def forward_step(float[:, ::1] a, const float[:, ::1] rec, const float[:, ::1] c_prev,
                 float[:, ::1] c, float[:, ::1] tanh_c, float[:, ::1] h):
    """a (B, 4H): the gates' input parts (x W_ih^T + biases) in, the activated gates
    i, f, g, o out; rec (B, 4H) = h_(t-1) W_hh^T; writes c, tanh_c and h (B, H) from
    c_prev (B, H)."""
    cdef long B, H, row
    B, H = _check_step("forward_step", [a, rec], [c_prev, c, tanh_c, h])
    # a hidden unit costs about a hundred multiply-adds (five exp-based activations)
    cdef int nt = threads_for(B * H * 100)
    if B == 0 or H == 0:
        return
    for row in prange(B, nogil=True, schedule="static", num_threads=nt):
        gl_lstm_forward_step(&a[row, 0], &rec[row, 0], &c_prev[row, 0], &c[row, 0],
                             &tanh_c[row, 0], &h[row, 0], 1, H)
