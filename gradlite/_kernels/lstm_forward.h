/* The LSTM's forward time step, fused: the four gate activations, the cell update and
 * the output in one pass over a row, eight values at a time. The specification is the
 * numpy loop of LSTMLayer.forward in gradlite/ops/recurrent.py (formulas in its
 * docstring); this must match it to a few float32 roundings.
 *
 * numpy evaluates tanh one value at a time (~3 ns each here); the step needs five
 * sigmoids or tanhs per hidden unit. So they are written out as arithmetic on vectors
 * of eight floats (GCC/Clang vector extensions), with the usual reductions:
 *
 *   exp(x)     = 2^k e^r,  k = round(x / ln 2),  r = x - k ln 2, |r| <= ln2 / 2
 *                (ln 2 in two parts, so k ln 2 is exact to float precision); e^r by its
 *                Taylor polynomial to r^7 (truncation < 1e-8 relative); 2^k written
 *                into the exponent bits. x is clamped to [-87, 88], where 2^k fits.
 *   sigmoid(x) = 1 / (1 + exp(-x))
 *   tanh(x)    = x (1 - x^2/3 + 2x^4/15 - ...) to x^15 for |x| < 0.55, where the form
 *                below would cancel its leading digits; elsewhere
 *                sign(x) (1 - 2 / (exp(2|x|) + 1)).
 * Measured against float64 over [-100, 100]: within 2 float32 ulps (numpy's own float32
 * tanh: 1.4). NaN stays NaN; +-inf saturate.
 *
 * Each function is compiled twice, for baseline x86-64 (each vector op becomes two SSE
 * ops) and for AVX2 + FMA, and lstm_forward_step picks the CPU's copy once.
 */
#ifndef GRADLITE_LSTM_FORWARD_H
#define GRADLITE_LSTM_FORWARD_H
#include <stdint.h>
#include <string.h>

/* The baseline copy passes 8-float vectors between inlined helpers without AVX: fine. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float gl_v8f __attribute__((vector_size(32)));
typedef int32_t gl_v8i __attribute__((vector_size(32)));
#define GL_SPLAT(value) ((gl_v8f){0} + (value))

#define GL_LSTM_FORWARD(SUFFIX, TARGET)                                                    \
TARGET static inline gl_v8f gl_select_##SUFFIX(gl_v8i mask, gl_v8f yes, gl_v8f no)         \
{                                                                                          \
    return (gl_v8f)((mask & (gl_v8i)yes) | (~mask & (gl_v8i)no));                          \
}                                                                                          \
                                                                                           \
TARGET static inline gl_v8f gl_exp_##SUFFIX(gl_v8f x)                                      \
{                                                                                          \
    x = gl_select_##SUFFIX(x > 88.0f, GL_SPLAT(88.0f), x);   /* NaN compares false */    \
    x = gl_select_##SUFFIX(x < -87.0f, GL_SPLAT(-87.0f), x);                               \
    gl_v8f half = gl_select_##SUFFIX(x >= 0.0f, GL_SPLAT(0.5f), GL_SPLAT(-0.5f));           \
    gl_v8i ki = __builtin_convertvector(x * 1.44269504f + half, gl_v8i);                   \
    gl_v8f k = __builtin_convertvector(ki, gl_v8f);                                        \
    gl_v8f r = x - k * 0.693145752f - k * 1.42860677e-6f;                                  \
    gl_v8f p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24           \
               + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));             \
    return p * (gl_v8f)((ki + 127) << 23);                                                 \
}                                                                                          \
                                                                                           \
TARGET static inline gl_v8f gl_sigmoid_##SUFFIX(gl_v8f x)                                  \
{                                                                                          \
    return 1.0f / (1.0f + gl_exp_##SUFFIX(-x));                                            \
}                                                                                          \
                                                                                           \
TARGET static inline gl_v8f gl_tanh_##SUFFIX(gl_v8f x)                                     \
{                                                                                          \
    gl_v8f ax = gl_select_##SUFFIX(x < 0.0f, -x, x);                                       \
    gl_v8f big = 1.0f - 2.0f / (gl_exp_##SUFFIX(2.0f * ax) + 1.0f);                        \
    gl_v8f x2 = x * x;                                                                     \
    gl_v8f small = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315      \
                   + x2 * (62.0f / 2835 + x2 * (-1382.0f / 155925 + x2 * (21844.0f        \
                   / 6081075 + x2 * (-929569.0f / 638512875))))))));                      \
    return gl_select_##SUFFIX(ax < 0.55f, small, gl_select_##SUFFIX(x < 0.0f, -big, big)); \
}                                                                                          \
                                                                                           \
/* Eight hidden units j..j+7 of one row: a holds the row's four gate pre-activations     \
 * (x-part and biases) and becomes the activated gates; rec is h_(t-1) W_hh^T's row. */    \
TARGET static inline void gl_lstm_units_##SUFFIX(float *a, const float *rec,               \
                                                 const float *c_prev, float *c,            \
                                                 float *tanh_c, float *h, long H)          \
{                                                                                          \
    gl_v8f pre[4], gate[4], add, cp, cell, tc;                                             \
    for (int q = 0; q < 4; q++) {                                                          \
        memcpy(&pre[q], a + q * H, sizeof(gl_v8f));                                        \
        memcpy(&add, rec + q * H, sizeof(gl_v8f));                                         \
        pre[q] += add;                                                                     \
    }                                                                                      \
    gate[0] = gl_sigmoid_##SUFFIX(pre[0]);                                                 \
    gate[1] = gl_sigmoid_##SUFFIX(pre[1]);                                                 \
    gate[2] = gl_tanh_##SUFFIX(pre[2]);                                                    \
    gate[3] = gl_sigmoid_##SUFFIX(pre[3]);                                                 \
    memcpy(&cp, c_prev, sizeof(gl_v8f));                                                   \
    cell = gate[1] * cp + gate[0] * gate[2];                                               \
    tc = gl_tanh_##SUFFIX(cell);                                                           \
    for (int q = 0; q < 4; q++)                                                            \
        memcpy(a + q * H, &gate[q], sizeof(gl_v8f));                                       \
    memcpy(c, &cell, sizeof(gl_v8f));                                                      \
    memcpy(tanh_c, &tc, sizeof(gl_v8f));                                                   \
    cell = gate[3] * tc;                                                                   \
    memcpy(h, &cell, sizeof(gl_v8f));                                                      \
}                                                                                          \
                                                                                           \
/* The whole step: a, rec (B, 4H); c_prev, c, tanh_c, h (B, H). A row's last H % 8 units  \
 * go through an 8-wide scratch copy (the numbers are the same). */                        \
TARGET static void gl_lstm_forward_step_##SUFFIX(float *a, const float *rec,                \
                                                  const float *c_prev, float *c,           \
                                                  float *tanh_c, float *h, long B, long H) \
{                                                                                          \
    for (long b = 0; b < B; b++) {                                                         \
        float *ab = a + b * 4 * H;                                                         \
        const float *rb = rec + b * 4 * H;                                                 \
        long j = 0, o = b * H;                                                             \
        for (; j + 8 <= H; j += 8)                                                         \
            gl_lstm_units_##SUFFIX(ab + j, rb + j, c_prev + o + j, c + o + j,              \
                                   tanh_c + o + j, h + o + j, H);                          \
        if (j < H) {                                                                       \
            long n = H - j;                                                                \
            float sa[32] = {0}, sr[32] = {0}, sc[8] = {0}, s1[8], s2[8], s3[8];            \
            for (int q = 0; q < 4; q++) {                                                  \
                memcpy(sa + 8 * q, ab + q * H + j, n * sizeof(float));                     \
                memcpy(sr + 8 * q, rb + q * H + j, n * sizeof(float));                     \
            }                                                                              \
            memcpy(sc, c_prev + o + j, n * sizeof(float));                                 \
            gl_lstm_units_##SUFFIX(sa, sr, sc, s1, s2, s3, 8);                             \
            for (int q = 0; q < 4; q++)                                                    \
                memcpy(ab + q * H + j, sa + 8 * q, n * sizeof(float));                     \
            memcpy(c + o + j, s1, n * sizeof(float));                                      \
            memcpy(tanh_c + o + j, s2, n * sizeof(float));                                 \
            memcpy(h + o + j, s3, n * sizeof(float));                                      \
        }                                                                                  \
    }                                                                                      \
}

GL_LSTM_FORWARD(base, )
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
GL_LSTM_FORWARD(avx2, __attribute__((target("avx2,fma"))))
#define GL_LSTM_HAVE_AVX2 1
#endif

/* One LSTM forward step on the CPU's widest copy. */
static void gl_lstm_forward_step(float *a, const float *rec, const float *c_prev, float *c,
                                 float *tanh_c, float *h, long B, long H)
{
#ifdef GL_LSTM_HAVE_AVX2
    static int avx2 = -1;
    if (avx2 < 0)
        avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2) {
        gl_lstm_forward_step_avx2(a, rec, c_prev, c, tanh_c, h, B, H);
        return;
    }
#endif
    gl_lstm_forward_step_base(a, rec, c_prev, c, tanh_c, h, B, H);
}
#endif
