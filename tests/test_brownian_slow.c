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
#include "brownian_oracle.h"

#define NSEED 20000
#define NCONF 24   /* per Lévy level */

static int ks_tests, ks_failed;
static double ks_worst;

static void sweep_one(int levy, double T, double tol, double s, const double *x, int nt, double ksmax,
                      uint64_t seed0)
{
    static double zs[ORACLE_ZN][NSEED];
    double *z[ORACLE_ZN];
    for (int i = 0; i < ORACLE_ZN; i++) z[i] = zs[i];
    int n = oracle_whitened(levy, T, tol, s, x, nt, seed0, NSEED, z);
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
    double m = 3.0 * NCONF * ORACLE_ZN, ksmax = sqrt(log(2 * m / 1e-3) / 2);
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
            qsort(t, 4, sizeof *t, oracle_cmp_double);
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
