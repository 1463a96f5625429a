/* bench/gen_refs.c — writes zoo/refs_bench.h: the solutions y(t1) of the
 * work-precision problems in quadruple precision (__float128, libquadmath), rounded to
 * double.
 *
 *     cmake --build build-bench --target nde_gen_refs
 *     build-bench/bench/nde_gen_refs > zoo/refs_bench.h    (about 30 s)
 *
 * Method: Gragg-Bulirsch-Stoer extrapolation with constant macro-steps H = (t1-t0)/N:
 * in each macro-step the explicit (Gragg) midpoint rule with n_j = 2j substeps,
 * j = 1..10, whose end values have an asymptotic expansion in even powers of H/n_j,
 * extrapolated to zero step by the Aitken-Neville scheme: order 20 per macro-step.
 * No tolerances and no step-size control, so nothing can silently stop early.
 *
 * Convergence is shown, not assumed: every problem is solved with N and 2N
 * macro-steps, doubling N until the two agree to 1e-20 in the benchmark error metric
 * (max_i |a_i - b_i| / (|b_i| + 1)); the 2N solution is kept and the N-vs-2N
 * difference (an upper estimate of the kept solution's error, which is ~2^20 times
 * smaller) is written beside it. The linear problem is checked a second, independent
 * way: exactly, through the eigen-decomposition of its circulant matrix (DFT).
 *
 * The right-hand sides are zoo/zoo_rhs.inc, the very code the timed tools run,
 * compiled here for __float128; initial values and problem constants are the same
 * doubles the tools use. The benchmark runs' errors are >= 1e-13, so references
 * accurate to ~1e-25 make their error measurement exact to all printed digits.
 */
#include "problems.h"

#include <quadmath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef __float128 quad;

#define REAL quad
#define RSQRT(x) sqrtq(x)
#define RHS(name) name##_f128
#include "zoo_rhs.inc"

typedef void (*quad_rhs)(size_t n, const quad *y, quad *dy);

enum { GBS_K = 10 };   /* sequence n_j = 2, 4, ..., 20: order 2*GBS_K = 20 */

typedef struct gbs {
    size_t n;
    quad *f0, *z0, *z1, *fz, *P;   /* P: GBS_K rows of n */
} gbs;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) { fprintf(stderr, "gen_refs: out of memory\n"); exit(1); }
    return p;
}

/* One macro-step y <- y(t + H). Autonomous right-hand sides only. */
static void gbs_step(const gbs *g, quad_rhs f, quad *y, quad H)
{
    const size_t n = g->n;
    f(n, y, g->f0);
    for (int j = 0; j < GBS_K; j++) {
        const int nj = 2 * (j + 1);
        const quad h = H / nj;
        quad *z0 = g->z0, *z1 = g->z1;
        for (size_t i = 0; i < n; i++) { z0[i] = y[i]; z1[i] = y[i] + h * g->f0[i]; }
        for (int m = 1; m < nj; m++) {           /* z_{m+1} = z_{m-1} + 2h f(z_m) */
            f(n, z1, g->fz);
            for (size_t i = 0; i < n; i++) z0[i] += 2 * h * g->fz[i];
            quad *tmp = z0; z0 = z1; z1 = tmp;
        }
        memcpy(g->P + (size_t)j * n, z1, n * sizeof *z1);
    }
    /* Aitken-Neville to h = 0 in the variable h^2, in place over descending rows. */
    for (int k = 1; k < GBS_K; k++) {
        for (int j = GBS_K - 1; j >= k; j--) {
            const quad r = (quad)(j + 1) / (quad)(j + 1 - k);     /* n_j / n_{j-k} */
            const quad den = r * r - 1;
            quad *pj = g->P + (size_t)j * n, *pm = g->P + (size_t)(j - 1) * n;
            for (size_t i = 0; i < n; i++) pj[i] += (pj[i] - pm[i]) / den;
        }
    }
    memcpy(y, g->P + (size_t)(GBS_K - 1) * n, n * sizeof *y);
}

static void gbs_solve(quad_rhs f, size_t n, const double *y0, double t0, double t1,
                      long N, quad *y)
{
    gbs g = { n, xmalloc(n * sizeof(quad)), xmalloc(n * sizeof(quad)),
              xmalloc(n * sizeof(quad)), xmalloc(n * sizeof(quad)),
              xmalloc((size_t)GBS_K * n * sizeof(quad)) };
    for (size_t i = 0; i < n; i++) y[i] = (quad)y0[i];
    const quad H = ((quad)t1 - (quad)t0) / N;
    for (long s = 0; s < N; s++) gbs_step(&g, f, y, H);
    free(g.f0); free(g.z0); free(g.z1); free(g.fz); free(g.P);
}

static quad diff_metric(size_t n, const quad *a, const quad *b)
{
    quad e = 0;
    for (size_t i = 0; i < n; i++) {
        const quad d = fabsq(a[i] - b[i]) / (fabsq(b[i]) + 1);
        if (d > e) e = d;
    }
    return e;
}

/* Exact solution of the linear ring: y(t) = F^-1 diag(exp(lambda_k t)) F y0. */
static void linear_exact(size_t n, const double *y0, double t, quad *y)
{
    quad *c = xmalloc(n * sizeof *c), *s = xmalloc(n * sizeof *s);
    quad *zr = xmalloc(n * sizeof *zr), *zi = xmalloc(n * sizeof *zi);
    for (size_t r = 0; r < n; r++) {
        c[r] = cosq(2 * M_PIq * (quad)r / (quad)n);
        s[r] = sinq(2 * M_PIq * (quad)r / (quad)n);
    }
    const quad a = (quad)linear_a, b = (quad)linear_b, d = (quad)linear_d, tq = (quad)t;
    for (size_t k = 0; k < n; k++) {
        quad yr = 0, yi = 0;                   /* Y_k = sum_m y0_m exp(-i th_k m) */
        for (size_t m = 0; m < n; m++) {
            const size_t r = (k * m) % n;
            yr += (quad)y0[m] * c[r];
            yi -= (quad)y0[m] * s[r];
        }
        const quad re = -a - 2 * d * (1 - c[k]), im = 2 * b * s[k];
        const quad mag = expq(re * tq), er = mag * cosq(im * tq), ei = mag * sinq(im * tq);
        zr[k] = er * yr - ei * yi;
        zi[k] = er * yi + ei * yr;
    }
    for (size_t j = 0; j < n; j++) {
        quad acc = 0;
        for (size_t k = 0; k < n; k++) {
            const size_t r = (k * j) % n;
            acc += zr[k] * c[r] - zi[k] * s[r];
        }
        y[j] = acc / (quad)n;
    }
    free(c); free(s); free(zr); free(zi);
}

static const char *qstr(quad x, char *buf, size_t size)
{
    quadmath_snprintf(buf, size, "%.25Qe", x);
    return buf;
}

int main(void)
{
    static const struct { const char *name; long N0; } plan[] = {
        { "lorenz", 1000 }, { "arenstorf", 30000 }, { "pleiades", 6000 }, { "linear1000", 80 },
    };
    const int nplan = (int)(sizeof plan / sizeof plan[0]);
    const quad target = 1e-20;
    char buf[64];
    char log[4096] = "";
    size_t loglen = 0;
    quad *refs[8] = { 0 };

    for (int p = 0; p < nplan; p++) {
        const bench_problem *pb = bench_problem_find(plan[p].name);
        quad_rhs f = strcmp(pb->name, "lorenz") == 0 ? lorenz_f128
                   : strcmp(pb->name, "arenstorf") == 0 ? arenstorf_f128
                   : strcmp(pb->name, "pleiades") == 0 ? pleiades_f128 : linear_f128;
        const size_t n = pb->dim;
        double *y0 = xmalloc(n * sizeof *y0);
        zoo_y0(pb, y0);
        quad *ya = xmalloc(n * sizeof *ya), *yb = xmalloc(n * sizeof *yb);
        long N = plan[p].N0;
        gbs_solve(f, n, y0, pb->t0, pb->t1, N, ya);
        quad diff = 0;
        for (int it = 0; it < 6; it++) {
            gbs_solve(f, n, y0, pb->t0, pb->t1, 2 * N, yb);
            diff = diff_metric(n, ya, yb);
            fprintf(stderr, "gen_refs: %-10s N=%7ld vs %7ld macro-steps: difference %s\n",
                    pb->name, N, 2 * N, qstr(diff, buf, sizeof buf));
            N *= 2;
            memcpy(ya, yb, n * sizeof *ya);
            if (diff < target) break;
        }
        if (!(diff < target)) {
            fprintf(stderr, "gen_refs: %s did not converge to %g\n", pb->name, (double)target);
            return 1;
        }
        loglen += (size_t)snprintf(log + loglen, sizeof log - loglen,
                                   " *   %-10s %7ld macro-steps, N/2-vs-N difference %.1e",
                                   pb->name, N, (double)diff);
        if (strcmp(pb->name, "linear1000") == 0) {
            quad *ye = xmalloc(n * sizeof *ye);
            linear_exact(n, y0, pb->t1, ye);
            const quad d = diff_metric(n, ya, ye);
            fprintf(stderr, "gen_refs: linear1000 GBS vs exact (DFT) solution: %s\n",
                    qstr(d, buf, sizeof buf));
            if (!(d < 1e-20)) { fprintf(stderr, "gen_refs: linear check failed\n"); return 1; }
            loglen += (size_t)snprintf(log + loglen, sizeof log - loglen,
                                       "; vs exact DFT solution %.1e", (double)d);
            free(ye);
        }
        loglen += (size_t)snprintf(log + loglen, sizeof log - loglen, "\n");
        refs[p] = ya;
        free(yb);
        free(y0);
    }

    printf("/* zoo/refs_bench.h - reference solutions y(t1) of the work-precision problems.\n"
           " * GENERATED by bench/gen_refs.c (do not edit); regenerate with\n"
           " *     cmake --build build-bench --target nde_gen_refs\n"
           " *     build-bench/bench/nde_gen_refs > zoo/refs_bench.h\n"
           " * __float128 Gragg-Bulirsch-Stoer extrapolation (order 20), constant macro-steps,\n"
           " * converged by doubling the macro-steps (see gen_refs.c):\n%s"
           " * Values are printed with 26 significant digits and rounded to double by the\n"
           " * compiler. */\n"
           "#ifndef NDE_ZOO_REFS_BENCH_H\n#define NDE_ZOO_REFS_BENCH_H\n\n#include <stddef.h>\n\n",
           log);
    for (int p = 0; p < nplan; p++) {
        const bench_problem *pb = bench_problem_find(plan[p].name);
        printf("static const double bench_ref_%s[%zu] = {\n", pb->name, pb->dim);
        for (size_t i = 0; i < pb->dim; i++)
            printf("    %s,\n", qstr(refs[p][i], buf, sizeof buf));
        printf("};\n\n");
    }
    printf("#endif\n");
    for (int p = 0; p < nplan; p++) free(refs[p]);
    return 0;
}
