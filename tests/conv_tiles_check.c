/* Checks every copy of gradlite/_kernels/conv_tiles.h that this CPU runs against the
   sums its comments promise. Built and run by tests/test_kernels.py:

       cc -O2 -I gradlite/_kernels tests/conv_tiles_check.c -o check && ./check LIMIT

   (LIMIT as gl_select_tiles takes it). Prints the copy in use; exits 1 on a mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_tiles.h"

#define N_OUT 256 /* a multiple of every copy's tile length */
#define TAPS 7
#define SRC (N_OUT + 64)

static double unit(unsigned *state) {
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xffff) / 32768.0 - 1.0;
}

#define CHECK_TYPE(T)                                                                  \
static int check_##T(void) {                                                           \
    static T src[SRC], weights[4 * TAPS], out[4 * N_OUT], sums[4 * 4 * 64];            \
    static T gy[4 * N_OUT];                                                            \
    T starts[4] = {0.5, -1, 2, 0};                                                     \
    int offsets[TAPS] = {0, 1, 2, 17, 33, 34, 63}, bad = 0;                            \
    unsigned state = 1;                                                                \
    for (int i = 0; i < SRC; i++) src[i] = (T)unit(&state);                            \
    for (int i = 0; i < 4 * TAPS; i++) weights[i] = (T)unit(&state);                   \
    for (int i = 0; i < 4 * N_OUT; i++) gy[i] = (T)unit(&state);                       \
    int row_counts[3] = {1, 2, gl_tiles.rows};      /* the counts gl_rows takes */       \
    for (int k = 0; k < 3; k++) {                                                      \
        int rows = row_counts[k];                                                      \
        gl_rows_##T(out, N_OUT, src, offsets, weights, TAPS, TAPS, N_OUT, starts, rows); \
        for (int r = 0; r < rows; r++)                                                 \
            for (int j = 0; j < N_OUT; j++) {                                          \
                double want = starts[r];                                               \
                for (int t = 0; t < TAPS; t++)                                         \
                    want += (double)weights[r * TAPS + t] * src[offsets[t] + j];       \
                bad += fabs(out[r * N_OUT + j] - want) > 1e-4;                         \
            }                                                                          \
    }                                                                                  \
    int W = gl_tiles.width_##T;                                                        \
    for (int k = 1; k < 3; k++) {                                                      \
        int rows = row_counts[k];                                                      \
        for (int i = 0; i < 16 * W; i++) sums[i] = 1;                                  \
        gl_corr_##T(sums, gy, N_OUT, src, offsets, N_OUT, rows);                       \
        for (int r = 0; r < rows; r++)                                                 \
            for (int t = 0; t < 4; t++) {                                              \
                double want = W, got = 0;                                              \
                for (int p = 0; p < N_OUT; p++)                                        \
                    want += (double)gy[r * N_OUT + p] * src[offsets[t] + p];           \
                for (int lane = 0; lane < W; lane++) got += sums[(r * 4 + t) * W + lane]; \
                bad += fabs(got - want) > 1e-3;                                        \
            }                                                                          \
    }                                                                                  \
    return bad;                                                                        \
}
CHECK_TYPE(float)
CHECK_TYPE(double)

int main(int argc, char **argv) {
    const char *name = gl_select_tiles(argc > 1 ? argv[1] : "");
    int bad = check_float() + check_double();
    printf("%s %d\n", name, bad);
    return bad != 0;
}
