/* bench/bench_sde.c — the SDE solvers (nde/sde.h): loop overhead, a batched workload
 * against torchsde's number, and work-precision of every SDE method.
 *
 *   nde_bench_sde [--quick]
 *
 * (a) Euler-Maruyama through nde_sde_solve against a plain C loop over the same tree
 *     queries (t_k = k dt, the loop's grid) on the same problem (GBM with diagonal noise,
 *     dim 1 and dim 100, 10^5 steps): both times and their ratio (target <= 1.5x;
 *     Diffrax's #517 reports 80-200x against a plain lax.scan).
 * (b) torchsde's OU benchmark: dim 10 x 1024 paths x 100 steps of dt = 0.01 as one
 *     10240-dimensional diagonal-noise SDE (as torchsde batches it), Euler-Maruyama,
 *     tree creation included, against torchsde's 47 ms (float64, 1 thread, this
 *     machine; 42 ms of it Brownian generation): the ratio (target >= 20x faster), the
 *     tree's share (its queries alone) and the solver's (the rest), for two trees, and
 *     the floor of 10^6 normals drawn alone.
 * (c) Work-precision: RMS strong error at t = 1 against time per solve for every SDE
 *     method on one problem every method solves (2-D nonlinear drift, 3-D additive noise
 *     with time-dependent g; reference spark at dt = 2^-12 on the same paths).
 * Timing only; nothing is asserted. Times are minima over repeats. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "nde.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- (a) GBM, diagonal noise ------------------------------------------------------------ */

#define MU 0.05
#define SIG 0.2
static int gbm_f(double t, const double *y, double *f, void *u)
{
    (void)t;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) f[i] = MU * y[i];
    return 0;
}
static int gbm_g(double t, const double *y, double *g, void *u)
{
    (void)t;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) g[i] = SIG * y[i];
    return 0;
}

/* The plain loop: the same callbacks, the same tree queries, y += f dt + g W. */
static void plain_em(size_t dim, nde_brownian *bm, int n, double dt, double *y, double *f, double *g,
                     double *W)
{
    size_t d = dim;
    double t = 0.0;
    for (int k = 0; k < n; k++) {
        double t1 = k + 1 == n ? 1.0 : (double)(k + 1) * dt;
        nde_brownian_increment(bm, t, t1, W, NULL, NULL);
        gbm_f(t, y, f, &d);
        gbm_g(t, y, g, &d);
        double h = t1 - t;
        for (size_t i = 0; i < dim; i++) y[i] = y[i] + h * f[i] + g[i] * W[i];
        t = t1;
    }
}

static void bench_overhead(int quick)
{
    const int n = quick ? 20000 : 100000, reps = quick ? 3 : 5;
    const double dt = 1.0 / n;
    printf("(a) Euler-Maruyama, GBM with diagonal noise, %d steps of dt = %g on [0, 1], tree tol dt/2\n", n, dt);
    printf("%-6s %14s %14s %8s %12s\n", "dim", "plain loop ms", "nde_sde ms", "ratio", "max |diff|");
    const size_t dims[2] = { 1, 100 };
    for (int q = 0; q < 2; q++) {
        size_t dim = dims[q];
        nde_brownian *bm = nde_brownian_tree_create(dim, 0.0, 1.0, dt / 2, 11, NDE_LEVY_NONE);
        double y0[100], y[100], f[100], g[100], W[100];
        for (size_t i = 0; i < dim; i++) y0[i] = 1.0 + 0.01 * (double)i;
        nde_sde sde = { .dim = dim, .noise_dim = dim, .noise = NDE_NOISE_DIAGONAL, .drift = gbm_f,
                        .diffusion = gbm_g, .user = &dim };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("euler_maruyama");
        o.rtol = 0.0;
        o.dt0 = dt;
        double tp = INFINITY, ts = INFINITY, diff = 0.0;
        for (int r = 0; r < reps; r++) {
            memcpy(y, y0, dim * sizeof *y);
            double t0 = now();
            plain_em(dim, bm, n, dt, y, f, g, W);
            tp = fmin(tp, now() - t0);
            nde_solution sol;
            t0 = now();
            int rc = nde_sde_solve(&sde, 0.0, 1.0, y0, bm, &o, &sol);
            ts = fmin(ts, now() - t0);
            if (rc != NDE_OK) printf("nde_sde_solve: %s\n", nde_solution_message(&sol));
            else
                for (size_t i = 0; i < dim; i++) diff = fmax(diff, fabs(sol.y[i] - y[i]));
            nde_solution_free(&sol);
        }
        printf("%-6zu %14.2f %14.2f %8.2f %12.2e\n", dim, 1e3 * tp, 1e3 * ts, ts / tp, diff);
        nde_brownian_free(bm);
    }
}

/* ---- (b) torchsde's OU workload ------------------------------------------------------------ */

#define OU_TH 0.1
#define OU_MU 0.2
#define OU_SIG 0.3
static int ou_f(double t, const double *y, double *f, void *u)
{
    (void)t;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) f[i] = OU_TH * (OU_MU - y[i]);
    return 0;
}
static int ou_g(double t, const double *y, double *g, void *u)
{
    (void)t; (void)y;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) g[i] = OU_SIG;
    return 0;
}

/* One timed run: path creation (a tree, or with tol 0 a stored grid of 100 cells), then
 * either the solve or the same queries alone. */
static double ou_run(nde_sde *sde, const double *y0, double span, double tol, int solve, uint64_t seed,
                     double *mean)
{
    static double W[10240];
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("euler_maruyama");
    o.rtol = 0.0;
    o.dt0 = 0.01;
    double t0 = now();
    nde_brownian *bm = tol > 0 ? nde_brownian_tree_create(sde->noise_dim, 0.0, span, tol, seed, NDE_LEVY_NONE)
                               : nde_brownian_grid_create(sde->noise_dim, 0.0, span, 100, seed, NDE_LEVY_NONE);
    if (solve) {
        nde_solution sol;
        int rc = nde_sde_solve(sde, 0.0, 1.0, y0, bm, &o, &sol);
        if (rc != NDE_OK) printf("nde_sde_solve: %s\n", nde_solution_message(&sol));
        else if (mean) {
            *mean = 0.0;
            for (size_t i = 0; i < sde->dim; i++) *mean += sol.y[i] / (double)sde->dim;
        }
        nde_solution_free(&sol);
    } else {
        /* the solver's queries: [k dt, (k + 1) dt], the last one ending at 1 */
        for (int k = 0; k < 100; k++) nde_brownian_increment(bm, k * 0.01, k == 99 ? 1.0 : (k + 1) * 0.01, W, NULL, NULL);
    }
    double t = now() - t0;
    nde_brownian_free(bm);
    return t;
}

static void bench_torchsde_ou(int quick)
{
    enum { DIM = 10, PATHS = 1024 };
    static double y0[DIM * PATHS];
    size_t n = DIM * PATHS;
    for (size_t i = 0; i < n; i++) y0[i] = 0.1;
    nde_sde sde = { .dim = n, .noise_dim = n, .noise = NDE_NOISE_DIAGONAL, .drift = ou_f, .diffusion = ou_g,
                    .user = &n };
    const int reps = quick ? 3 : 10;
    printf("\n(b) torchsde's OU benchmark: dim 10 x 1024 paths x 100 steps of 0.01, one 10240-dim diagonal SDE,\n"
           "    Euler-Maruyama, tree creation included; torchsde: 47 ms (42 ms of it Brownian generation)\n");
    printf("%-44s %10s %10s %10s %12s\n", "tree", "total ms", "tree ms", "solver ms", "vs torchsde");
    /* [0, 1] with tol dt/2 (leaves 1/256: every query interpolates inside a leaf), and
     * [0, 1.28] with tol dt (leaves exactly 0.01: every query ends on a node) */
    const double spans[3] = { 1.0, 1.28, 1.0 }, tols[3] = { 0.005, 0.01, 0.0 };
    const char *names[3] = { "[0, 1], tol 0.005 (leaves 1/256)", "[0, 1.28], tol 0.01 (leaves = dt)",
                             "stored grid, 100 cells of dt (grid_create)" };
    double mean = 0.0;
    for (int c = 0; c < 3; c++) {
        double tot = INFINITY, tree = INFINITY;
        for (int r = 0; r < reps; r++) {
            tot = fmin(tot, ou_run(&sde, y0, spans[c], tols[c], 1, 5 + (uint64_t)r, &mean));
            tree = fmin(tree, ou_run(&sde, y0, spans[c], tols[c], 0, 5 + (uint64_t)r, NULL));
        }
        printf("%-44s %10.2f %10.2f %10.2f %11.1fx\n", names[c], 1e3 * tot, 1e3 * tree, 1e3 * (tot - tree),
               0.047 / tot);
    }
    double z[10240], t0 = now();
    for (int k = 0; k < 100; k++) nde_normal_fill(5, NDE_STREAM_USER_FIRST, n, z);
    printf("floor: 100 x 10240 normals from nde_normal_fill alone: %.2f ms; solver part against torchsde's "
           "5 ms outside Brownian generation: see 'solver ms'\n(mean y(1) %.4f, exact mean %.4f)\n",
           1e3 * (now() - t0), mean, OU_MU + (0.1 - OU_MU) * exp(-OU_TH));
}

/* ---- (c) work-precision ------------------------------------------------------------------ */

static const double G[6] = { 0.5, -0.3, 0.2, 0.1, 0.4, -0.25 };
static int wp_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    f[0] = sin(y[1]) - 0.5 * y[0];
    f[1] = cos(y[0]) - y[1];
    return 0;
}
static int wp_g(double t, const double *y, double *g, void *u)
{
    (void)y; (void)u;
    for (int k = 0; k < 6; k++) g[k] = (1.0 + sin(t)) * G[k];
    return 0;
}

static void bench_work_precision(int quick)
{
    const int paths = quick ? 8 : 32, k0 = 2, nlev = 6;
    nde_sde sde = { .dim = 2, .noise_dim = 3, .noise = NDE_NOISE_ADDITIVE, .stratonovich = 1, .drift = wp_f,
                    .diffusion = wp_g };
    double y0[2] = { 1.0, 0.5 };
    printf("\n(c) work-precision, 2-D nonlinear drift, 3-D additive noise (g depends on t), %d paths, "
           "constant steps 2^-%d .. 2^-%d\n", paths, k0, k0 + nlev - 1);
    printf("%-15s %8s %8s %12s %12s\n", "method", "dt", "nfe", "RMS error", "us/solve");
    nde_brownian *bms[32];
    double ref[32][2];
    for (int i = 0; i < paths; i++) {
        bms[i] = nde_brownian_tree_create(3, 0.0, 1.0, ldexp(1.0, -14), 500 + (uint64_t)i, NDE_LEVY_SPACE_TIME);
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("spark");
        o.rtol = 0.0;
        o.dt0 = ldexp(1.0, -12);
        nde_solution sol;
        nde_sde_solve(&sde, 0.0, 1.0, y0, bms[i], &o, &sol);
        memcpy(ref[i], sol.y, sizeof ref[i]);
        nde_solution_free(&sol);
    }
    for (size_t k = 0; k < nde_sde_method_count(); k++) {
        const nde_method *m = nde_sde_method_at(k);
        for (int l = 0; l < nlev; l++) {
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m;
            o.rtol = 0.0;
            o.dt0 = ldexp(1.0, -(k0 + l));
            double sq = 0.0, t0 = now();
            size_t nfe = 0;
            for (int i = 0; i < paths; i++) {
                nde_solution sol;
                if (nde_sde_solve(&sde, 0.0, 1.0, y0, bms[i], &o, &sol) == NDE_OK) {
                    for (int d = 0; d < 2; d++) sq += (sol.y[d] - ref[i][d]) * (sol.y[d] - ref[i][d]);
                    nfe = sol.stats.nfe;
                }
                nde_solution_free(&sol);
            }
            double us = 1e6 * (now() - t0) / paths;
            printf("%-15s %8g %8zu %12.3e %12.2f\n", nde_method_name(m), o.dt0, nfe, sqrt(sq / paths), us);
        }
    }
    for (int i = 0; i < paths; i++) nde_brownian_free(bms[i]);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_overhead(quick);
    bench_torchsde_ou(quick);
    bench_work_precision(quick);
    return 0;
}
