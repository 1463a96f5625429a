/* bench/bench_steady.c — gradients of a steady state: the implicit adjoint
 * (NDE_ADJOINT_IMPLICIT: one linear solve at y*) beside the checkpointed and backsolve
 * adjoints through the same solve, as the solve takes more steps.
 *
 * Problem: f(y) = -y + W2 tanh(W1 y + b1) + b2, dim 16, hidden 32 (1072 parameters),
 * weights uniform in +-0.5/sqrt(fan-in) from a fixed seed (a contraction: one stable
 * fixed point), y0 = 1, tsit5 at rtol 1e-8, atol 1e-10, solved until the steady-state
 * event (RMS f < 1e-10 + 1e-10 RMS y); loss L = |y* - 0.5|^2 / 2. dtmax = 0 (none),
 * 0.1 and 0.01 make the same solve take more steps. Prints, best of the repeats, per
 * adjoint kind: accepted steps, the taped forward and the backward time, backward /
 * forward, VJP calls, the tape's bytes, and the gradient's relative distance to the
 * implicit adjoint's (the checkpointed adjoint differentiates the discrete solve, whose
 * end is y* to the steady tolerance; backsolve the continuous one to its tolerances).
 *
 *   nde_bench_steady [--repeats N] [--quick] */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nde.h"

#define D 16
#define H 32
#define NP (2 * D * H + H + D)

static int field(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *W1 = u, *b1 = W1 + H * D, *W2 = b1 + H, *b2 = W2 + D * H;
    double z[H];
    for (int i = 0; i < H; i++) {
        double s = b1[i];
        for (int j = 0; j < D; j++) s += W1[i * D + j] * y[j];
        z[i] = tanh(s);
    }
    for (int o = 0; o < D; o++) {
        double s = b2[o] - y[o];
        for (int i = 0; i < H; i++) s += W2[o * H + i] * z[i];
        dy[o] = s;
    }
    return 0;
}

static int field_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *W1 = u, *b1 = W1 + H * D, *W2 = b1 + H;
    double z[H], g[H];
    for (int i = 0; i < H; i++) {
        double s = b1[i], w = 0;
        for (int j = 0; j < D; j++) s += W1[i * D + j] * y[j];
        z[i] = tanh(s);
        for (int o = 0; o < D; o++) w += W2[o * H + i] * a[o];
        g[i] = w * (1 - z[i] * z[i]);
    }
    if (ay)
        for (int j = 0; j < D; j++) {
            double s = -a[j];
            for (int i = 0; i < H; i++) s += g[i] * W1[i * D + j];
            ay[j] = s;
        }
    if (at) {
        double *gW1 = at, *gb1 = at + H * D, *gW2 = gb1 + H, *gb2 = gW2 + D * H;
        for (int i = 0; i < H; i++) {
            for (int j = 0; j < D; j++) gW1[i * D + j] = g[i] * y[j];
            gb1[i] = g[i];
        }
        for (int o = 0; o < D; o++) {
            for (int i = 0; i < H; i++) gW2[o * H + i] = a[o] * z[i];
            gb2[o] = a[o];
        }
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int repeats = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0) repeats = 2;
        else { fprintf(stderr, "usage: nde_bench_steady [--repeats N] [--quick]\n"); return 2; }
    }
    if (repeats < 1) repeats = 1;
    static double theta[NP];
    nde_uniform_fill(2024, NDE_STREAM_USER_FIRST, NP, theta);
    for (int k = 0; k < NP; k++) {
        double fan = k < H * D + H ? D : H;
        theta[k] = (2 * theta[k] - 1) * 0.5 / sqrt(fan);
    }
    double y0[D];
    for (int d = 0; d < D; d++) y0[d] = 1.0;
    nde_ode ode = { .dim = D, .f = field, .vjp = field_vjp, .n_params = NP, .user = theta };
    const int kinds[3] = { NDE_ADJOINT_IMPLICIT, NDE_ADJOINT_CHECKPOINT, NDE_ADJOINT_BACKSOLVE };
    const char *names[3] = { "implicit", "checkpoint", "backsolve" };
    const double dtmaxes[3] = { 0.0, 0.1, 0.01 };
    printf("== nde_bench_steady: steady state of a tanh MLP field (dim %d, hidden %d, %d parameters), tsit5 "
           "rtol 1e-8, best of %d\n", D, H, NP, repeats);
    printf("%-6s %-10s %7s %11s %11s %8s %6s %10s %10s\n", "dtmax", "adjoint", "steps", "forward ms", "backward ms",
           "bwd/fwd", "nvjp", "tape bytes", "rel diff");
    static double g[3][NP];
    for (int di = 0; di < 3; di++) {
        for (int ki = 0; ki < 3; ki++) {
            nde_options o = NDE_OPTIONS_INIT;
            o.rtol = 1e-8; o.atol = 1e-10; o.dtmax = dtmaxes[di];
            o.steady_state = 1; o.steady_rtol = o.steady_atol = 1e-10;
            nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
            ao.kind = kinds[ki];
            nde_tape *tape = nde_tape_create(&ao);
            if (!tape) { fprintf(stderr, "bench_steady: out of memory\n"); return 1; }
            double best_f = INFINITY, best_b = INFINITY, dL[D];
            size_t steps = 0;
            for (int r = 0; r < repeats; r++) {
                nde_solution sol;
                double t0 = now();
                int rc = nde_ode_solve_taped(&ode, 0.0, 1e6, y0, &o, tape, &sol);
                double t1 = now();
                if (rc != NDE_EVENT) {
                    fprintf(stderr, "bench_steady: %s: %s\n", names[ki], nde_solution_message(&sol));
                    return 1;
                }
                for (int d = 0; d < D; d++) dL[d] = sol.y[(sol.n - 1) * D + (size_t)d] - 0.5;
                steps = sol.stats.accepted;
                nde_solution_free(&sol);
                double t2 = now();
                rc = nde_ode_backward(tape, dL, NULL, g[ki]);
                double t3 = now();
                if (rc != NDE_OK) { fprintf(stderr, "bench_steady: %s: %s\n", names[ki], nde_tape_message(tape)); return 1; }
                if (t1 - t0 < best_f) best_f = t1 - t0;
                if (t3 - t2 < best_b) best_b = t3 - t2;
            }
            nde_adjoint_stats st;
            nde_tape_stats(tape, &st);
            double num = 0, den = 0;
            for (int k = 0; k < NP; k++) { num += (g[ki][k] - g[0][k]) * (g[ki][k] - g[0][k]); den += g[0][k] * g[0][k]; }
            printf("%-6g %-10s %7zu %11.3f %11.3f %8.3f %6zu %10zu %10.2e\n", dtmaxes[di], names[ki], steps, 1e3 * best_f,
                   1e3 * best_b, best_b / best_f, st.nvjp, st.bytes, sqrt(num / den));
            nde_tape_free(tape);
        }
    }
    return 0;
}
