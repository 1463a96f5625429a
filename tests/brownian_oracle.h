/* Shared by test_brownian.c and test_brownian_slow.c: the KS statistic against N(0, 1)
 * and the exact joint law of (W, H, K) over intervals [s, s + x_j] sharing a start.
 *
 * Every value is a linear functional int_0^x k(r) dW(s + r) of the Brownian path on
 * [s, s + x], so Cov(F, G) = int k_F k_G. For the triple of [s, s + x] (barred, as in
 * the tree: Hb = x H, Kb = x^2 K) the kernels on r < x (0 beyond) are
 *   W: 1,   Hb: x/2 - r,   Kb: r^2/2 - x r/2 + x^2/12,
 * and products of two are quartics, which 3-point Gauss-Legendre integrates exactly.
 * The values, whitened by the Cholesky factor of their covariance, must be iid N(0, 1). */
#ifndef NDE_TESTS_BROWNIAN_ORACLE_H
#define NDE_TESTS_BROWNIAN_ORACLE_H

#include <math.h>
#include <stdlib.h>
#include "nde.h"

#define ORACLE_ZN 9   /* at most 3 intervals x 3 values */

static inline int oracle_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sqrt(n) times the KS distance of x[0..n) (sorted in place) from N(0, 1). */
static inline double ks_normal(double *x, size_t n)
{
    qsort(x, n, sizeof *x, oracle_cmp_double);
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

static inline double oracle_kernel(functional f, double r)
{
    if (r >= f.x) return 0;
    if (f.kind == 0) return 1;
    if (f.kind == 1) return f.x / 2 - r;
    return r * r / 2 - f.x * r / 2 + f.x * f.x / 12;
}

static inline double oracle_cov(functional a, functional b)
{
    static const double gx[3] = { -0.7745966692414834, 0.0, 0.7745966692414834 },
                        gw[3] = { 5.0 / 9, 8.0 / 9, 5.0 / 9 };
    double m = fmin(a.x, b.x), c = 0;
    for (int k = 0; k < 3; k++) {
        double r = 0.5 * m * (gx[k] + 1);
        c += gw[k] * oracle_kernel(a, r) * oracle_kernel(b, r);
    }
    return 0.5 * m * c;
}

/* The (levy + 1) values of each of the nt <= 3 intervals [s, s + x_j] from nseed trees
 * (seeds seed0, seed0 + 1, ...) on [0, T], whitened by the exact covariance: z[i][q] is
 * value i of tree q (z rows of nseed doubles). Returns the number of values. */
static inline int oracle_whitened(int levy, double T, double tol, double s, const double *x, int nt,
                                  uint64_t seed0, size_t nseed, double *const *z)
{
    int nc = levy + 1, n = nc * nt;
    functional f[ORACLE_ZN];
    for (int j = 0; j < nt; j++)
        for (int c = 0; c < nc; c++) f[j * nc + c] = (functional){ c, x[j] };
    double L[ORACLE_ZN][ORACLE_ZN] = { { 0 } };
    for (int i = 0; i < n; i++)   /* Cholesky of the oracle covariance */
        for (int j = 0; j <= i; j++) {
            double a = oracle_cov(f[i], f[j]);
            for (int k = 0; k < j; k++) a -= L[i][k] * L[j][k];
            L[i][j] = i == j ? sqrt(a) : a / L[j][j];
        }
    for (size_t q = 0; q < nseed; q++) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, T, tol, seed0 + q, levy);
        double v[ORACLE_ZN];
        for (int j = 0; j < nt; j++) {
            double W, H, K;
            nde_brownian_increment(bm, s, s + x[j], &W, levy >= 1 ? &H : NULL, levy == 2 ? &K : NULL);
            v[j * nc] = W;
            if (levy >= 1) v[j * nc + 1] = x[j] * H;
            if (levy == 2) v[j * nc + 2] = x[j] * x[j] * K;
        }
        nde_brownian_free(bm);
        for (int i = 0; i < n; i++) {   /* forward substitution: L w = v */
            double a = v[i];
            for (int k = 0; k < i; k++) a -= L[i][k] * z[k][q];
            z[i][q] = a / L[i][i];
        }
    }
    return n;
}

#endif
