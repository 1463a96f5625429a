/* The virtual Brownian tree's joint law over a sweep of random configurations (label
 * slow): the statistical sweep that test_brownian.c does for a few fixed ones.
 *
 * Each configuration draws, from fixed uniforms, a tree [0, T], times s < r1 < r2 < u
 * (not dyadic) and a tol below half the smallest gap, so that every query time sits
 * alone in its leaf; then 20000 seeds give the 9 values (W, Hb, Kb) of [s, u], [s, r1]
 * and [s, r2] (Hb = h H, Kb = h^2 K), whitened by the Cholesky factor of their exact
 * covariance (integrated from the kernels of the functionals, as in test_brownian.c:
 * W: 1, Hb: x/2 - r, Kb: r^2/2 - x r/2 + x^2/12 on r < x). The whitened values must be
 * iid N(0, 1). Every Lévy level is swept; half the configurations use the coarsest tree
 * (tol = T: one leaf, s = 0 and u = T its ends, one inner point) so that the leaf
 * interpolation alone is tested.
 *
 * Significance, Bonferroni over the sweep: with m KS tests in all, each allows
 * sqrt(n) D < sqrt(ln(2m/alpha)/2), alpha = 1e-3 for the whole program; the
 * correlation z-tests allow |z| < 5.5 each (two-sided 3.8e-8; fewer than 10^4 of them). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define NSEED 20000
#define NCONF 24   /* per Lévy level */
#define ZN 9

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double ks_normal(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
    double D = 0;
    for (size_t i = 0; i < n; i++) {
        double F = 0.5 * erfc(-x[i] / sqrt(2.0));
        double a = fabs(F - (double)i / (double)n), b = fabs((double)(i + 1) / (double)n - F);
        if (a > D) D = a;
        if (b > D) D = b;
    }
    return sqrt((double)n) * D;
}

typedef struct { int kind; double x; } functional;   /* kind 0 W, 1 Hb, 2 Kb on [s, s + x] */

static double kernel(functional f, double r)
{
    if (r >= f.x) return 0;
    if (f.kind == 0) return 1;
    if (f.kind == 1) return f.x / 2 - r;
    return r * r / 2 - f.x * r / 2 + f.x * f.x / 12;
}

static double oracle_cov(functional a, functional b)
{
    static const double gx[3] = { -0.7745966692414834, 0.0, 0.7745966692414834 },
                        gw[3] = { 5.0 / 9, 8.0 / 9, 5.0 / 9 };
    double m = fmin(a.x, b.x), c = 0;
    for (int k = 0; k < 3; k++) {
        double r = 0.5 * m * (gx[k] + 1);
        c += gw[k] * kernel(a, r) * kernel(b, r);
    }
    return 0.5 * m * c;
}

static int ks_tests, ks_failed;
static double ks_worst;

static void sweep_one(int levy, double T, double tol, double s, const double *x, int nt, double ksmax,
                      uint64_t seed0)
{
    static double z[ZN][NSEED];
    int nc = levy + 1, n = nc * nt;
    functional f[ZN];
    for (int j = 0; j < nt; j++)
        for (int c = 0; c < nc; c++) f[j * nc + c] = (functional){ c, x[j] };
    double L[ZN][ZN] = { { 0 } };
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double a = oracle_cov(f[i], f[j]);
            for (int k = 0; k < j; k++) a -= L[i][k] * L[j][k];
            L[i][j] = i == j ? sqrt(a) : a / L[j][j];
        }
    for (size_t q = 0; q < NSEED; q++) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, T, tol, seed0 + q, levy);
        double v[ZN];
        for (int j = 0; j < nt; j++) {
            double W, H, K;
            nde_brownian_increment(bm, s, s + x[j], &W, levy >= 1 ? &H : NULL, levy == 2 ? &K : NULL);
            v[j * nc] = W;
            if (levy >= 1) v[j * nc + 1] = x[j] * H;
            if (levy == 2) v[j * nc + 2] = x[j] * x[j] * K;
        }
        nde_brownian_free(bm);
        for (int i = 0; i < n; i++) {
            double a = v[i];
            for (int k = 0; k < i; k++) a -= L[i][k] * z[k][q];
            z[i][q] = a / L[i][i];
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double e = 0;
            for (size_t q = 0; q < NSEED; q++) e += z[i][q] * z[j][q];
            double zz = e / sqrt((double)NSEED);
            CHECK_MSG(fabs(zz) < 5.5, "levy %d T %g tol %g s %g: whitened %d, %d correlated, z = %.2f",
                      levy, T, tol, s, i, j, zz);
        }
    for (int i = 0; i < n; i++) {
        double ks = ks_normal(z[i], NSEED);
        ks_tests++;
        if (ks > ks_worst) ks_worst = ks;
        if (!(ks < ksmax)) ks_failed++;
        CHECK_MSG(ks < ksmax, "levy %d T %g tol %g s %g: whitened component %d: KS %.3f", levy, T, tol, s,
                  i, ks);
    }
}

static void test_joint_law_sweep(void)
{
    /* at most 3 levels x NCONF configurations x 9 components KS tests */
    double m = 3.0 * NCONF * ZN, ksmax = sqrt(log(2 * m / 1e-3) / 2);
    double u[3 * NCONF * 8];
    nde_uniform_fill(2024, NDE_STREAM_USER_FIRST, sizeof u / sizeof u[0], u);
    const double *p = u;
    for (int levy = 0; levy <= 2; levy++)
        for (int c = 0; c < NCONF; c++, p += 8) {
            double T = 0.2 + 20 * p[0];
            uint64_t seed0 = 100000 * (uint64_t)(levy * NCONF + c + 1);
            if (c % 2) {   /* the one-leaf tree: [0, T] and an inner point */
                double x[2] = { T, T * (0.02 + 0.96 * p[1]) };
                sweep_one(levy, T, T, 0.0, x, 2, ksmax, seed0);
                continue;
            }
            double t[4] = { p[1], p[2], p[3], p[4] };
            qsort(t, 4, sizeof *t, cmp_double);
            double gap = fmin(fmin(t[1] - t[0], t[2] - t[1]), t[3] - t[2]);
            if (gap < 1e-3) continue;    /* (none with these uniforms; keeps the depth modest) */
            double s = T * t[0], x[3] = { T * (t[3] - t[0]), T * (t[1] - t[0]), T * (t[2] - t[0]) };
            sweep_one(levy, T, 0.5 * gap * T * (0.1 + 0.9 * p[5]), s, x, 3, ksmax, seed0);
        }
    printf("  %d KS tests, worst sqrt(n) D %.3f (limit %.3f), %d over\n", ks_tests, ks_worst, ksmax, ks_failed);
}

int main(void)
{
    RUN(test_joint_law_sweep);
    return test_summary();
}
