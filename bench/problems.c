/* bench/problems.c — the benchmark's choice of zoo problems, error metric, initial
 * step, clock. */
#define _POSIX_C_SOURCE 199309L
#include "problems.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The work-precision set, in the order of the report. */
static const char *const wp_names[] = { "lorenz", "arenstorf", "pleiades", "linear1000" };
const size_t bench_n_wp_problems = sizeof wp_names / sizeof wp_names[0];

const bench_problem *bench_wp_problem(size_t i)
{
    return i < bench_n_wp_problems ? zoo_find(wp_names[i]) : NULL;
}

const bench_problem *bench_decay1(void) { return zoo_find("decay1"); }
const bench_problem *bench_decay1000(void) { return zoo_find("decay1000"); }
const bench_problem *bench_problem_find(const char *name) { return zoo_find(name); }

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
