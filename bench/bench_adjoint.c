/* bench/bench_adjoint.c — the cost of gradients through a solve, on the training-step
 * problem of the neural-ODE issue (../shared/data/mlp_2_64_64_2.txt): the vector field
 * f(y) = W3 tanh(W2 tanh(W1 y + b1) + b2) + b3, MLP 2 -> 64 -> 64 -> 2, on a batch of
 * 256 states solved as one system of dimension 512 (shared steps), dopri5 at rtol =
 * atol = 1e-3 from t = 0 to 1, loss = mean (y(1) - R y0)^2 with R the rotation by 1 rad.
 * The MLP and its VJP run through CBLAS (OpenBLAS, one thread); the VJP recomputes
 * the forward activations it needs (a C callback keeps no autodiff tape).
 *
 * Prints, best of the repeats: the plain solve, the taped forward solve, and the
 * backward pass of each adjoint kind, with NFE, VJP calls, memory and the ratio
 * backward / forward. torch 1.13 float64 on this machine, quoted in the issue:
 * 31 ms median / 8.8 ms best per training step with backprop, 16 ms with its adjoint.
 *
 * With --train N: N Adam steps (lr 1e-3, PyTorch's defaults otherwise) of that loss at
 * rtol = atol = 1e-5, once plain and once with the local-error regulariser R_E
 * (weight --reg W, default 1e-3), printing loss and forward NFE along the way: the
 * claim of "Opening the Blackbox" is that R_E makes the learned dynamics cheaper to
 * solve at a similar loss.
 *
 *   nde_bench_adjoint [--weights FILE] [--repeats N] [--train N] [--reg W]
 * Without the weights file (it lives outside the repository) the weights are drawn with
 * PyTorch's default Linear initialisation from a fixed seed, and the loss differs. */
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
#define NP (HID * D + HID + HID * HID + HID + D * HID + D)

typedef struct mlp {
    double theta[NP];     /* W1 b1 W2 b2 W3 b3 */
    double h1[B * HID], h2[B * HID], g1[B * HID], g2[B * HID];
} mlp;

static double *W1(mlp *m) { return m->theta; }
static double *b1(mlp *m) { return m->theta + HID * D; }
static double *W2(mlp *m) { return m->theta + HID * D + HID; }
static double *b2(mlp *m) { return m->theta + HID * D + HID + HID * HID; }
static double *W3(mlp *m) { return m->theta + HID * D + 2 * HID + HID * HID; }
static double *b3(mlp *m) { return m->theta + HID * D + 2 * HID + HID * HID + D * HID; }

/* h = tanh(x W^T + b) for x (B x in), W (out x in) */
static void layer(const double *x, int in, const double *W, const double *b, int out, double *h, int act)
{
    for (int r = 0; r < B; r++) memcpy(h + r * out, b, (size_t)out * sizeof *h);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0, x, in, W, in, 1.0, h, out);
    if (act)
        for (int i = 0; i < B * out; i++) h[i] = tanh(h[i]);
}

static int rhs(double t, const double *y, double *dy, void *u)
{
    (void)t;
    mlp *m = u;
    layer(y, D, W1(m), b1(m), HID, m->h1, 1);
    layer(m->h1, HID, W2(m), b2(m), HID, m->h2, 1);
    layer(m->h2, HID, W3(m), b3(m), D, dy, 0);
    return 0;
}

/* a^T df/dy (B x D) and a^T df/dtheta (NP), recomputing the activations at y */
static int vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    mlp *m = u;
    layer(y, D, W1(m), b1(m), HID, m->h1, 1);
    layer(m->h1, HID, W2(m), b2(m), HID, m->h2, 1);
    /* g2 = (a W3) * (1 - h2^2) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, HID, D, 1.0, a, D, W3(m), HID, 0.0, m->g2, HID);
    for (int i = 0; i < B * HID; i++) m->g2[i] *= 1.0 - m->h2[i] * m->h2[i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, HID, HID, 1.0, m->g2, HID, W2(m), HID, 0.0, m->g1, HID);
    for (int i = 0; i < B * HID; i++) m->g1[i] *= 1.0 - m->h1[i] * m->h1[i];
    if (ay) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, HID, 1.0, m->g1, HID, W1(m), D, 0.0, ay, D);
    if (at) {
        double *dW1 = at, *db1 = at + HID * D, *dW2 = db1 + HID, *db2 = dW2 + HID * HID, *dW3 = db2 + HID,
               *db3 = dW3 + D * HID;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, HID, D, B, 1.0, m->g1, HID, y, D, 0.0, dW1, D);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, HID, HID, B, 1.0, m->g2, HID, m->h1, HID, 0.0, dW2, HID);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, HID, B, 1.0, a, D, m->h2, HID, 0.0, dW3, HID);
        memset(db1, 0, HID * sizeof *db1); memset(db2, 0, HID * sizeof *db2); memset(db3, 0, D * sizeof *db3);
        for (int r = 0; r < B; r++) {
            for (int i = 0; i < HID; i++) { db1[i] += m->g1[r * HID + i]; db2[i] += m->g2[r * HID + i]; }
            for (int i = 0; i < D; i++) db3[i] += a[r * D + i];
        }
    }
    return 0;
}

static int read_block(FILE *f, const char *name, int rows, int cols, double *dst)
{
    char line[256], nm[32];
    int r, c;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "%31s %d %d", nm, &r, &c) != 3 || strcmp(nm, name) || r != rows || c != cols) return -1;
        for (int i = 0; i < rows * cols; i++)
            if (fscanf(f, "%lf", &dst[i]) != 1) return -1;
        return 0;
    }
    return -1;
}

static double now(void);

/* Adam (Kingma & Ba; PyTorch's defaults beta1 0.9, beta2 0.999, eps 1e-8) in place. */
static void adam(double *x, const double *g, double *m1, double *m2, size_t n, int step, double lr)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double c1 = 1.0 - pow(b1, step), c2 = 1.0 - pow(b2, step);
    for (size_t i = 0; i < n; i++) {
        m1[i] = b1 * m1[i] + (1 - b1) * g[i];
        m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i];
        x[i] -= lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + eps);
    }
}

/* Trains from the current weights; prints loss, NFE and R_E every `every` steps. */
static void train(mlp *m, const double *y0, const double *target, int iters, double reg)
{
    static double theta0[NP], m1[NP], m2[NP], dLdy[B * D], gth[NP];
    memcpy(theta0, m->theta, sizeof theta0);
    memset(m1, 0, sizeof m1);
    memset(m2, 0, sizeof m2);
    nde_ode ode = { .dim = B * D, .f = rhs, .vjp = vjp, .n_params = NP, .user = m };
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
        adam(m->theta, gth, m1, m2, NP, it, 1e-3);
    }
    printf("\n  final: loss %.4g, nfe %zu, R_E %.3g, %.1f s\n", L, nfe, re, now() - t0);
    nde_tape_free(tape);
    memcpy(m->theta, theta0, sizeof theta0);   /* the next run starts from the same weights */
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
    static mlp m;
    static double y0[B * D], y1ref[B * D], target[B * D];
    int loaded = 0;
    if (weights) {
        FILE *f = fopen(weights, "r");
        loaded = f && !read_block(f, "W1", HID, D, W1(&m)) && !read_block(f, "b1", 1, HID, b1(&m)) &&
                 !read_block(f, "W2", HID, HID, W2(&m)) && !read_block(f, "b2", 1, HID, b2(&m)) &&
                 !read_block(f, "W3", D, HID, W3(&m)) && !read_block(f, "b3", 1, D, b3(&m)) &&
                 !read_block(f, "y0", B, D, y0) && !read_block(f, "y1_ref", B, D, y1ref);
        if (f) fclose(f);
        if (!loaded) { fprintf(stderr, "bench_adjoint: cannot read %s\n", weights); return 1; }
    } else {   /* PyTorch's Linear default: U(-1/sqrt(in), 1/sqrt(in)) for W and b */
        double u[NP];
        nde_uniform_fill(2024, NDE_STREAM_USER_FIRST, NP, u);
        int fan[6] = { D, D, HID, HID, HID, HID }, len[6] = { HID * D, HID, HID * HID, HID, D * HID, D }, k = 0;
        for (int l = 0; l < 6; l++)
            for (int i = 0; i < len[l]; i++, k++) m.theta[k] = (2 * u[k] - 1) / sqrt((double)fan[l]);
        nde_normal_fill(2024, NDE_STREAM_USER_FIRST + 1, B * D, y0);
    }
    for (int r = 0; r < B; r++) {
        target[r * D] = cos(1.0) * y0[r * D] - sin(1.0) * y0[r * D + 1];
        target[r * D + 1] = sin(1.0) * y0[r * D] + cos(1.0) * y0[r * D + 1];
    }
    nde_ode ode = { .dim = B * D, .f = rhs, .vjp = vjp, .n_params = NP, .user = &m };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-3;
    static double dLdy[B * D], gy[B * D], gth[NP];

    printf("== nde_bench_adjoint: MLP 2-64-64-2 tanh, batch %d (dim %d, %d parameters), dopri5 rtol = atol = 1e-3\n",
           B, B * D, NP);
    printf("weights: %s\n", loaded ? weights : "seeded PyTorch-style init (../shared/data file not given)");
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
    if (iters > 0) {
        train(&m, y0, target, iters, 0.0);
        train(&m, y0, target, iters, reg);
    }
    return 0;
}
