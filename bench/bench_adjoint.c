/* bench/bench_adjoint.c — the cost of gradients through a solve, on the training-step
 * problem of the neural-ODE issue (data/mlp_2_64_64_2.txt): the vector field
 * f(y) = W3 tanh(W2 tanh(W1 y + b1) + b2) + b3, MLP 2 -> 64 -> 64 -> 2, on a batch of
 * 256 states solved as one system of dimension 512 (shared steps), dopri5 at rtol =
 * atol = 1e-3 from t = 0 to 1, loss = mean (y(1) - R y0)^2 with R the rotation by 1 rad.
 * The MLP and its VJP are the nn layer's (include/nde/nn.h: CBLAS, OpenBLAS on one
 * thread); the VJP recomputes the forward activations it needs (a C callback keeps no
 * autodiff tape).
 *
 * Prints, best of the repeats: the plain solve, the taped forward solve, and the
 * backward pass of each adjoint kind, with NFE, VJP calls, memory and the ratio
 * backward / forward. Then the stiff families (stiff_section): every implicit method
 * with a checkpointed reverse pass (and backsolve for kvaerno5, rodas5p and bdf) on a
 * batch of 16 Van der Pol oscillators, plain solve, taped solve (its stages solved to
 * rounding) and backward pass. torch 1.13 float64 on this machine, quoted in the issue:
 * 31 ms median / 8.8 ms best per training step with backprop, 16 ms with its adjoint.
 *
 * With --train N: N Adam steps (lr 1e-3, PyTorch's defaults otherwise) of that loss at
 * rtol = atol = 1e-5, once plain and once with the local-error regulariser R_E
 * (weight --reg W, default 1e-3), printing loss and forward NFE along the way: the
 * claim of "Opening the Blackbox" is that R_E makes the learned dynamics cheaper to
 * solve at a similar loss.
 *
 *   nde_bench_adjoint [--weights FILE] [--repeats N] [--train N] [--reg W]
 * Without a weights file (run-bench.sh passes data/mlp_2_64_64_2.txt) the weights are
 * drawn with PyTorch's default Linear initialisation from a fixed seed, and the loss
 * differs. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nde.h"

#define B 256
#define D 2
#define HID 64

/* The vector field: the nn layer's MLP (include/nde/nn.h) as an ODE field; its VJP
 * recomputes the forward activations at the state it gets. */
static nde_mlp *make_mlp(void)
{
    size_t widths[4] = { D, HID, HID, D };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = B;
    mo.cache = 8;            /* dopri5's stages + 1: the backward's VJPs reuse the recomputed passes */
    return nde_mlp_create(3, widths, &mo);
}

static double now(void);

/* ---- the stiff families: a batch of Van der Pol oscillators ---------------------------
 * y0' = y1, y1' = mu (1 - y0^2) y1 - y0, mu = 5, VDP_B oscillators from (2 + 0.01 i, 0)
 * solved as one system (dim 2 VDP_B), with its exact Jacobian (ode->jac) and VJP; theta =
 * (mu). Loss: sum of y(2). */
#define VDP_B 16
static int vdp_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double mu = *(const double *)u;
    for (int b = 0; b < VDP_B; b++) {
        const double x = y[2 * b], v = y[2 * b + 1];
        dy[2 * b] = v;
        dy[2 * b + 1] = mu * (1 - x * x) * v - x;
    }
    return 0;
}
static int vdp_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double mu = *(const double *)u;
    if (at) at[0] = 0;
    for (int b = 0; b < VDP_B; b++) {
        const double x = y[2 * b], v = y[2 * b + 1], a0 = a[2 * b], a1 = a[2 * b + 1];
        if (ay) { ay[2 * b] = a1 * (-2 * mu * x * v - 1); ay[2 * b + 1] = a0 + a1 * mu * (1 - x * x); }
        if (at) at[0] += a1 * (1 - x * x) * v;
    }
    return 0;
}
static int vdp_jac(double t, const double *y, double *J, void *u)
{
    (void)t;
    const double mu = *(const double *)u;
    const int n = 2 * VDP_B;
    memset(J, 0, (size_t)n * (size_t)n * sizeof *J);
    for (int b = 0; b < VDP_B; b++) {
        const double x = y[2 * b], v = y[2 * b + 1];
        J[(2 * b) * n + 2 * b + 1] = 1;
        J[(2 * b + 1) * n + 2 * b] = -2 * mu * x * v - 1;
        J[(2 * b + 1) * n + 2 * b + 1] = mu * (1 - x * x);
    }
    return 0;
}

/* Every stiff method with a checkpointed reverse pass, and backsolve, on the batch. */
static void stiff_section(int repeats)
{
    static double mu = 5.0;
    double y0[2 * VDP_B], dLdy[2 * VDP_B], gy[2 * VDP_B], gth[1];
    for (int b = 0; b < VDP_B; b++) { y0[2 * b] = 2.0 + 0.01 * b; y0[2 * b + 1] = 0.0; }
    for (int i = 0; i < 2 * VDP_B; i++) dLdy[i] = 1.0;
    nde_ode ode = { .dim = 2 * VDP_B, .f = vdp_f, .jac = vdp_jac, .vjp = vdp_vjp, .n_params = 1, .user = &mu };
    printf("\n== stiff families: %d Van der Pol oscillators (mu = 5, dim %d, ode->jac), t in [0, 2], rtol 1e-6, "
           "atol 1e-8, loss sum y(2)\n", VDP_B, 2 * VDP_B);
    printf("%-26s %6s %9s %9s %9s %9s %9s %8s %8s\n", "method/adjoint", "steps", "plain ms", "taped ms", "bwd ms",
           "bwd/plain", "bwd/taped", "nvjp", "nfe(bwd)");
    const char *methods[] = { "implicit_euler", "kvaerno3", "kvaerno5", "kencarp4", "ros3p", "rodas4", "rodas5p",
                              "radau5", "bdf" };
    for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
        for (int kind = 0; kind < 2; kind++) {
            const int bdf = strcmp(methods[k], "bdf") == 0;
            if (bdf && kind == 0) continue;   /* bdf: backsolve only */
            if (!bdf && kind == 1 && strcmp(methods[k], "kvaerno5") && strcmp(methods[k], "rodas5p")) continue;
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_method_find(methods[k]);
            o.rtol = 1e-6; o.atol = 1e-8;
            nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
            ao.kind = kind ? NDE_ADJOINT_BACKSOLVE : NDE_ADJOINT_CHECKPOINT;
            nde_tape *tape = nde_tape_create(&ao);
            double bp = INFINITY, bf = INFINITY, bb = INFINITY;
            size_t steps = 0;
            nde_adjoint_stats st = { 0 };
            int ok = 1;
            for (int r = 0; r < repeats && ok; r++) {
                nde_solution sol;
                double t0 = now();
                ok = nde_ode_solve(&ode, 0, 2, y0, &o, &sol) == NDE_OK;
                double t1 = now();
                nde_solution_free(&sol);
                ok = ok && nde_ode_solve_taped(&ode, 0, 2, y0, &o, tape, &sol) == NDE_OK;
                double t2 = now();
                steps = sol.stats.accepted;
                nde_solution_free(&sol);
                ok = ok && nde_ode_backward(tape, dLdy, gy, gth) == NDE_OK;
                double t3 = now();
                nde_tape_stats(tape, &st);
                bp = fmin(bp, t1 - t0); bf = fmin(bf, t2 - t1); bb = fmin(bb, t3 - t2);
            }
            char name[40];
            snprintf(name, sizeof name, "%s/%s", methods[k], kind ? "backsolve" : "checkpoint");
            if (!ok) printf("%-26s failed: %s\n", name, nde_tape_message(tape));
            else
                printf("%-26s %6zu %9.3f %9.3f %9.3f %9.2f %9.2f %8zu %8zu\n", name, steps, 1e3 * bp, 1e3 * bf,
                       1e3 * bb, bb / bp, bb / bf, st.nvjp, st.nfe);
            nde_tape_free(tape);
        }
    }
}

/* Trains from the current weights; prints loss, NFE and R_E every `every` steps. */
static void train(nde_ode *odep, nde_mlp *m, const double *y0, const double *target, int iters, double reg)
{
    static double dLdy[B * D];
    nde_ode ode = *odep;
    size_t np = nde_mlp_n_params(m);
    double *theta0 = malloc(np * sizeof *theta0), *gth = malloc(np * sizeof *gth);
    memcpy(theta0, nde_mlp_params(m), np * sizeof *theta0);
    nde_optim *adam = nde_optim_create(NDE_OPTIM_ADAM, np, NULL);   /* lr 1e-3, PyTorch's defaults */
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-5;
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.reg_error = reg;
    nde_tape *tape = nde_tape_create(&ao);
    double t0 = now(), L = NAN, re = NAN;
    size_t nfe = 0;
    printf("train %s R_E (weight %g):", reg > 0 ? "with" : "without", reg);
    for (int it = 1; it <= iters; it++) {
        nde_solution sol;
        if (nde_ode_solve_taped(&ode, 0, 1, y0, &o, tape, &sol) != NDE_OK) { printf(" solve failed\n"); break; }
        L = 0;
        for (int i = 0; i < B * D; i++) {
            double e = sol.y[i] - target[i];
            L += e * e / (B * D);
            dLdy[i] = 2.0 * e / (B * D);
        }
        nfe = sol.stats.nfe;
        nde_tape_regularisers(tape, &re, NULL);
        nde_solution_free(&sol);
        if (it == 1 || it % (iters / 5 > 0 ? iters / 5 : 1) == 0)
            printf(" [%d] loss %.4g nfe %zu R_E %.3g", it, L, nfe, re);
        if (nde_ode_backward(tape, dLdy, NULL, gth) != NDE_OK) { printf(" backward failed\n"); break; }
        nde_optim_step(adam, nde_mlp_params(m), gth);
    }
    printf("\n  final: loss %.4g, nfe %zu, R_E %.3g, %.1f s\n", L, nfe, re, now() - t0);
    nde_tape_free(tape);
    nde_optim_free(adam);
    memcpy(nde_mlp_params(m), theta0, np * sizeof *theta0);   /* the next run starts from the same weights */
    free(theta0);
    free(gth);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *weights = NULL;
    int repeats = 20, iters = 0;
    double reg = 1e-3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reg") && i + 1 < argc) reg = atof(argv[++i]);
        else { fprintf(stderr, "usage: nde_bench_adjoint [--weights FILE] [--repeats N] [--train N] [--reg W]\n"); return 2; }
    }
    openblas_set_num_threads(1);
    nde_mlp *m = make_mlp();
    static double y0[B * D], y1ref[B * D], target[B * D];
    int loaded = 0;
    if (!m) { fprintf(stderr, "bench_adjoint: out of memory\n"); return 1; }
    if (weights) {
        char err[NDE_MESSAGE_MAX];
        loaded = !nde_mlp_load(m, weights, err, sizeof err) && !nde_block_read(weights, "y0", B, D, y0, err, sizeof err) &&
                 !nde_block_read(weights, "y1_ref", B, D, y1ref, err, sizeof err);
        if (!loaded) { fprintf(stderr, "bench_adjoint: %s\n", err); return 1; }
    } else {   /* PyTorch's Linear default: U(-1/sqrt(in), 1/sqrt(in)) for W and b */
        nde_mlp_init(m, NDE_INIT_TORCH, 0.0, 2024);
        nde_normal_fill(2024, NDE_STREAM_USER_FIRST + 1, B * D, y0);
    }
    for (int r = 0; r < B; r++) {
        target[r * D] = cos(1.0) * y0[r * D] - sin(1.0) * y0[r * D + 1];
        target[r * D + 1] = sin(1.0) * y0[r * D] + cos(1.0) * y0[r * D + 1];
    }
    nde_mlp_field field = { m, B, 0 };
    nde_ode ode;
    nde_mlp_field_ode(&field, &ode, NULL, 0);
    const size_t NP = ode.n_params;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-3;
    static double dLdy[B * D], gy[B * D];
    double *gth = malloc(NP * sizeof *gth);

    printf("== nde_bench_adjoint: MLP 2-64-64-2 tanh (nn layer), batch %d (dim %d, %zu parameters), dopri5 rtol = atol = "
           "1e-3\n", B, B * D, NP);
    printf("weights: %s\n", loaded ? weights : "seeded PyTorch-style init (nde_mlp_init; no --weights file given)");
    double best_plain = INFINITY;
    size_t nfe = 0;
    for (int r = 0; r < repeats; r++) {
        nde_solution sol;
        double t = now();
        nde_ode_solve(&ode, 0, 1, y0, &o, &sol);
        t = now() - t;
        if (t < best_plain) best_plain = t;
        if (r == 0) {
            double L = 0, e = 0;
            for (int i = 0; i < B * D; i++) {
                L += (sol.y[i] - target[i]) * (sol.y[i] - target[i]);
                if (loaded) e = fmax(e, fabs(sol.y[i] - y1ref[i]));
            }
            nfe = sol.stats.nfe;
            printf("plain solve: loss %.6f (issue: 0.865099 with its weights), nfe %zu", L / (B * D), nfe);
            if (loaded) printf(", max |y(1) - DOP853 ref| %.2e", e);
            printf("\n");
        }
        nde_solution_free(&sol);
    }
    printf("%-12s %10s %10s %10s %8s %8s %10s %14s\n", "adjoint", "fwd ms", "bwd ms", "step ms", "bwd/fwd",
           "nvjp", "nfe(bwd)", "tape bytes");
    printf("%-12s %10.3f %10s %10.3f\n", "none", 1e3 * best_plain, "-", 1e3 * best_plain);
    const int kinds[2] = { NDE_ADJOINT_CHECKPOINT, NDE_ADJOINT_BACKSOLVE };
    const char *names[2] = { "checkpoint", "backsolve" };
    for (int k = 0; k < 2; k++) {
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = kinds[k];
        nde_tape *tape = nde_tape_create(&ao);
        double bf = INFINITY, bb = INFINITY, bs = INFINITY;
        nde_adjoint_stats st = { 0 };
        for (int r = 0; r < repeats; r++) {
            nde_solution sol;
            double t0 = now();
            nde_ode_solve_taped(&ode, 0, 1, y0, &o, tape, &sol);
            double t1 = now();
            for (int i = 0; i < B * D; i++) dLdy[i] = 2.0 * (sol.y[i] - target[i]) / (B * D);
            nde_ode_backward(tape, dLdy, gy, gth);
            double t2 = now();
            nde_tape_stats(tape, &st);
            bf = fmin(bf, t1 - t0); bb = fmin(bb, t2 - t1); bs = fmin(bs, t2 - t0);
            nde_solution_free(&sol);
        }
        printf("%-12s %10.3f %10.3f %10.3f %8.2f %8zu %10zu %14zu\n", names[k], 1e3 * bf, 1e3 * bb, 1e3 * bs, bb / bf,
               st.nvjp, st.nfe, st.bytes);
        nde_tape_free(tape);
    }
    printf("torch 1.13 (issue, float64, 1 thread): 8.8 ms best / 31 ms median per step with backprop, 16 ms adjoint\n");
    stiff_section(repeats < 5 ? repeats : 5);
    if (iters > 0) {
        train(&ode, m, y0, target, iters, 0.0);
        train(&ode, m, y0, target, iters, reg);
    }
    free(gth);
    nde_mlp_free(m);
    return 0;
}
