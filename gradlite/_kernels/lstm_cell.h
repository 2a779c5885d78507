/* The LSTM's backward time step, fused: the gradients of the four gate pre-activations
 * and of the previous cell state in one pass over memory, where numpy takes a dozen
 * passes with a temporary each. The specification is the numpy loop of
 * LSTMLayer.backward in gradlite/ops/recurrent.py (its docstring has the formulas), which
 * this must match to float32 rounding. Plain arithmetic over a row: compilers vectorize it.
 *
 * From the activated gates i, f, g, o (B, 4H), tanh(c_t) and c_(t-1) (B, H), dh = dL/dh_t
 * (B, H) and dc = dL/dc_t from step t+1 (B, H), writes d (B, 4H), the gradient of the
 * pre-activations, and turns dc into dL/dc_(t-1). */
#ifndef GRADLITE_LSTM_CELL_H
#define GRADLITE_LSTM_CELL_H

#define GL_LSTM_BACKWARD_STEP(NAME, T)                                                     \
static void NAME(const T *gates, const T *tanh_c, const T *c_prev, const T *dh, T *dc,    \
                 T *d, long B, long H)                                                     \
{                                                                                          \
    for (long b = 0; b < B; b++) {                                                         \
        const T *gb = gates + b * 4 * H;                                                   \
        T *db = d + b * 4 * H;                                                             \
        for (long j = 0; j < H; j++) {                                                     \
            T i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];              \
            T tc = tanh_c[b * H + j], dhj = dh[b * H + j];                                 \
            T dcj = dc[b * H + j] + dhj * o * (1 - tc * tc);                               \
            db[j] = dcj * g * (i * (1 - i));                                               \
            db[H + j] = dcj * c_prev[b * H + j] * (f * (1 - f));                           \
            db[2 * H + j] = dcj * i * (1 - g * g);                                         \
            db[3 * H + j] = dhj * tc * (o * (1 - o));                                      \
            dc[b * H + j] = dcj * f;                                                       \
        }                                                                                  \
    }                                                                                      \
}

GL_LSTM_BACKWARD_STEP(gl_lstm_backward_step_float, float)
GL_LSTM_BACKWARD_STEP(gl_lstm_backward_step_double, double)
#endif
