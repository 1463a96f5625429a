/* bench/problems.c — problem table, error metric, initial step, clock. */
#define _POSIX_C_SOURCE 199309L
#include "problems.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REAL double
#define RSQRT(x) sqrt(x)
#define RHS(name) name##_f64
#include "problems_rhs.inc"

/* Adaptors to the common signature (inlined by the compiler). */
static int lorenz_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; lorenz_f64(3, y, dy); return 0; }
static int arenstorf_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; arenstorf_f64(4, y, dy); return 0; }
static int pleiades_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; pleiades_f64(28, y, dy); return 0; }
static int linear_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; linear_f64(BENCH_LINEAR_N, y, dy); return 0; }

static int decay_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) dy[i] = -y[i];
    return 0;
}

static void lorenz_init(double *y)
{ y[0] = 1.0; y[1] = 0.0; y[2] = 0.0; }

static void arenstorf_init(double *y)
{ y[0] = 0.994; y[1] = 0.0; y[2] = 0.0; y[3] = -2.00158510637908252240537862224; }

static void pleiades_init(double *y)
{
    static const double x[7] = { 3, 3, -1, -3, 2, -2, 2 };
    static const double yy[7] = { 3, -3, 2, 0, 0, -4, 4 };
    static const double vx[7] = { 0, 0, 0, 0, 0, 1.75, -1.5 };
    static const double vy[7] = { 0, 0, 0, -1.25, 1, 0, 0 };
    memcpy(y, x, sizeof x);
    memcpy(y + 7, yy, sizeof yy);
    memcpy(y + 14, vx, sizeof vx);
    memcpy(y + 21, vy, sizeof vy);
}

/* A Gaussian bump, a long wave and uniform pseudo-random noise in [-0.5, 0.5) (a
 * fixed 64-bit LCG, Knuth's MMIX constants): every Fourier mode is excited. */
static void linear_init(double *y)
{
    const double pi = 3.14159265358979323846;
    uint64_t s = 12345u;
    for (size_t i = 0; i < BENCH_LINEAR_N; i++) {
        const double g = ((double)i - 300.0) / 40.0;
        s = s * 6364136223846793005u + 1442695040888963407u;
        const double u = (double)(s >> 11) * 0x1.0p-53 - 0.5;
        y[i] = exp(-g * g) + 0.5 * sin(2.0 * pi * 3.0 * (double)i / BENCH_LINEAR_N) + u;
    }
}

static void decay1_init(double *y) { y[0] = 1.0; }
static void decay1000_init(double *y) { for (size_t i = 0; i < 1000; i++) y[i] = 1.0; }

static const size_t dim1 = 1, dim1000 = 1000;

const bench_problem bench_wp_problems[] = {
    { "lorenz", "Lorenz sigma=10 rho=28 beta=8/3, y0=(1,0,0), t in [0,20]",
      3, 0.0, 20.0, 1.0, lorenz_rhs, NULL, lorenz_init },
    { "arenstorf", "Arenstorf orbit, one period t in [0,17.0652165601579625588917206249]",
      4, 0.0, 17.0652165601579625588917206249, 1.0, arenstorf_rhs, NULL, arenstorf_init },
    { "pleiades", "Pleiades 7-body problem (28 states), t in [0,3]",
      28, 0.0, 3.0, 1.0, pleiades_rhs, NULL, pleiades_init },
    { "linear1000", "y'=Ay, A periodic tridiagonal advection-diffusion, n=1000, t in [0,20]",
      BENCH_LINEAR_N, 0.0, 20.0, 1.0, linear_rhs, NULL, linear_init },
};
const size_t bench_n_wp_problems = sizeof bench_wp_problems / sizeof bench_wp_problems[0];

const bench_problem bench_decay1 = {
    "decay1", "y'=-y, n=1", 1, 0.0, 1.0, 1.0, decay_rhs, (void *)&dim1, decay1_init };
const bench_problem bench_decay1000 = {
    "decay1000", "y'=-y, n=1000", 1000, 0.0, 1.0, 1.0, decay_rhs, (void *)&dim1000,
    decay1000_init };

const bench_problem *bench_problem_find(const char *name)
{
    for (size_t i = 0; i < bench_n_wp_problems; i++)
        if (strcmp(bench_wp_problems[i].name, name) == 0) return &bench_wp_problems[i];
    if (strcmp(name, bench_decay1.name) == 0) return &bench_decay1;
    if (strcmp(name, bench_decay1000.name) == 0) return &bench_decay1000;
    return NULL;
}

double bench_error(size_t dim, const double *y, const double *ref, double floor)
{
    double e = 0.0;
    for (size_t i = 0; i < dim; i++) {
        const double d = fabs(y[i] - ref[i]) / (fabs(ref[i]) + floor);
        if (!(d <= e)) e = d;   /* NaN propagates */
    }
    return e;
}

double bench_initial_step(bench_rhs f, void *user, size_t dim, double t0, double t1,
                          const double *y0, int order, double rtol, double atol,
                          long *nfe)
{
    double stackbuf[3 * 64];
    double *w = dim <= 64 ? stackbuf : malloc(3 * dim * sizeof *w);
    if (!w) return 1e-6 * fabs(t1 - t0);
    double *f0 = w, *y1 = w + dim, *f1 = w + 2 * dim;
    const double dir = t1 >= t0 ? 1.0 : -1.0;
    double d0 = 0, d1 = 0, d2 = 0;
    f(t0, y0, f0, user);
    for (size_t i = 0; i < dim; i++) {
        const double sc = atol + rtol * fabs(y0[i]);
        d0 += (y0[i] / sc) * (y0[i] / sc);
        d1 += (f0[i] / sc) * (f0[i] / sc);
    }
    d0 = sqrt(d0 / (double)dim);
    d1 = sqrt(d1 / (double)dim);
    const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    for (size_t i = 0; i < dim; i++) y1[i] = y0[i] + dir * h0 * f0[i];
    f(t0 + dir * h0, y1, f1, user);
    for (size_t i = 0; i < dim; i++) {
        const double sc = atol + rtol * fabs(y0[i]);
        d2 += ((f1[i] - f0[i]) / sc) * ((f1[i] - f0[i]) / sc);
    }
    d2 = sqrt(d2 / (double)dim) / h0;
    const double m = d1 > d2 ? d1 : d2;
    const double h1 = m <= 1e-15 ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / m, 1.0 / (order + 1));
    double h = fmin(100.0 * h0, h1);
    h = fmin(h, fabs(t1 - t0));
    if (nfe) *nfe += 2;
    if (w != stackbuf) free(w);
    return dir * h;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
