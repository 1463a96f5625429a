/* Slow sweeps of the underdamped Langevin solvers (label "slow"; tests/test_langevin.c
 * has the fast checks).
 *
 * - Strong order over more paths and levels on Diffrax's two problems
 *   (test_underdamped_langevin.py): the harmonic oscillator (grad f = 2x, gamma = (2, 0.5),
 *   u = (0.5, 2), diagonal) and the double well (grad f = 4x(x^2 - 1), gamma = 0.8,
 *   u = 0.2, scalar), against a reference on the same path at 2^-13 of the span by
 *   another third-order method. Pass: fitted order in [nominal - 0.25, nominal + 0.5]
 *   (Diffrax's window is [-0.2, +0.25] on its own reference).
 * - The stationary law of the double well f = (x^2 - 1)^2: E x^2 and E v^2 over
 *   independent paths against the exact values (E x^2 by quadrature of exp(-f)), with
 *   |z| < 4.5 (two-sided p ~ 7e-6 per statistic). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

typedef struct prob { int kind; } prob;   /* 0: oscillator (d = 2), 1: double well (d = 1) */

static int grad_osc(const double *x, double *g, void *user)
{
    (void)user;
    g[0] = 2.0 * x[0];
    g[1] = 2.0 * x[1];
    return 0;
}

static int grad_well(const double *x, double *g, void *user)
{
    (void)user;
    g[0] = 4.0 * x[0] * (x[0] * x[0] - 1.0);
    return 0;
}

static const double osc_gamma[2] = { 2.0, 0.5 }, osc_u[2] = { 0.5, 2.0 };

static nde_langevin problem(int kind)
{
    nde_langevin p = { 0 };
    if (kind == 0) { p.dim = 2; p.gamma_vec = osc_gamma; p.u_vec = osc_u; p.grad = grad_osc; }
    else { p.dim = 1; p.gamma = 0.8; p.u = 0.2; p.grad = grad_well; }
    return p;
}

static int solve_const(const nde_langevin *p, const char *method, nde_brownian *bm, double T, double h,
                       const double *xv0, double *out)
{
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.rtol = 0.0;
    o.dt0 = h;
    nde_solution sol;
    int rc = nde_langevin_solve(p, 0.0, T, xv0, bm, &o, &sol);
    if (rc == 0) memcpy(out, sol.y + (sol.n - 1) * sol.dim, sol.dim * sizeof *out);
    nde_solution_free(&sol);
    return rc;
}

#define REF_LEVEL 13

static void sweep(const char *method, const char *ref, int nominal, int kind)
{
    const nde_langevin p = problem(kind);
    const size_t n2 = 2 * p.dim;
    const double T = kind == 0 ? 1.0 : 2.0;
    const double xv0[4] = { 1.0, -0.5, 0.3, 0.2 }, xv0w[2] = { 0.5, 0.0 };
    const int k0 = 2, k1 = 8, n = k1 - k0 + 1, paths = 64;
    double e[16] = { 0 };
    for (int s = 0; s < paths; s++) {
        nde_brownian *bm = nde_brownian_tree_create(p.dim, 0.0, T, T * ldexp(1.0, -(REF_LEVEL + 1)),
                                                    7000u + (uint64_t)s, NDE_LEVY_SPACE_TIME_TIME);
        double yref[4], y[4];
        CHECK(bm && solve_const(&p, ref, bm, T, T * ldexp(1.0, -REF_LEVEL), kind ? xv0w : xv0, yref) == 0);
        for (int k = k0; k <= k1; k++) {
            CHECK(solve_const(&p, method, bm, T, T * ldexp(1.0, -k), kind ? xv0w : xv0, y) == 0);
            double d2 = 0;
            for (size_t i = 0; i < n2; i++) d2 += (y[i] - yref[i]) * (y[i] - yref[i]);
            e[k - k0] += sqrt(d2) / paths;
        }
        nde_brownian_free(bm);
    }
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) { mx += -(double)(k0 + i); my += log2(e[i]); }
    mx /= n; my /= n;
    for (int i = 0; i < n; i++) {
        double x = -(double)(k0 + i) - mx;
        sxx += x * x;
        sxy += x * (log2(e[i]) - my);
    }
    double order = sxy / sxx;
    if (!test_listing()) {
        printf("%s on %s (ref %s, %d paths): order %.3f;", method, kind ? "double well" : "oscillator", ref, paths,
               order);
        for (int i = 0; i < n; i++) printf(" %.2e", e[i]);
        printf("\n");
    }
    CHECK_MSG(order > nominal - 0.25 && order < nominal + 0.5, "%s: order %.3f, nominal %d", method, order, nominal);
}

static void test_order_sweep_oscillator(void)
{
    sweep("align", "quicsort", 2, 0);
    sweep("should", "quicsort", 3, 0);
    sweep("quicsort", "should", 3, 0);
}

static void test_order_sweep_double_well(void)
{
    sweep("align", "quicsort", 2, 1);
    sweep("should", "quicsort", 3, 1);
    sweep("quicsort", "should", 3, 1);
}

/* E x^2 under exp(-(x^2 - 1)^2), by the composite Simpson rule on [-5, 5]. */
static double well_second_moment(void)
{
    const int n = 20000;
    const double a = -5.0, h = 10.0 / n;
    double z = 0, m2 = 0;
    for (int i = 0; i <= n; i++) {
        double x = a + i * h, w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
        double q = exp(-(x * x - 1.0) * (x * x - 1.0));
        z += w * q;
        m2 += w * q * x * x;
    }
    return m2 / z;
}

static void test_stationary_double_well(void)
{
    /* f = (x^2 - 1)^2, grad 4x(x^2 - 1); gamma = 1, u = 1: v ~ N(0, 1) */
    nde_langevin p = { .dim = 1, .gamma = 1.0, .u = 1.0, .grad = grad_well };
    const double m2 = well_second_moment(), T = 40.0;
    const char *names[3] = { "align", "should", "quicsort" };
    const int paths = 4000;
    for (int i = 0; i < 3; i++) {
        double sx2 = 0, sx4 = 0, sv2 = 0, sv4 = 0;
        for (int s = 0; s < paths; s++) {
            nde_brownian *bm = nde_brownian_tree_create(1, 0.0, T, 0.05, 40000u + (uint64_t)s,
                                                        NDE_LEVY_SPACE_TIME_TIME);
            double xv0[2] = { 0.0, 0.0 }, y[2];
            CHECK(solve_const(&p, names[i], bm, T, 0.1, xv0, y) == 0);
            sx2 += y[0] * y[0]; sx4 += pow(y[0], 4);
            sv2 += y[1] * y[1]; sv4 += pow(y[1], 4);
            nde_brownian_free(bm);
        }
        double ex2 = sx2 / paths, ev2 = sv2 / paths;
        double sd_x2 = sqrt((sx4 / paths - ex2 * ex2) / paths), sd_v2 = sqrt(2.0 / paths);   /* Var v^2 = 2 */
        double zx = (ex2 - m2) / sd_x2, zv = (ev2 - 1.0) / sd_v2;
        if (!test_listing())
            printf("%s double well (h 0.1): E x^2 %.4f vs %.4f (z %+.2f), E v^2 %.4f vs 1 (z %+.2f)\n", names[i], ex2,
                   m2, zx, ev2, zv);
        CHECK_MSG(fabs(zx) < 4.5, "%s: E x^2 = %.4f vs %.4f, z = %.2f", names[i], ex2, m2, zx);
        CHECK_MSG(fabs(zv) < 4.5, "%s: E v^2 = %.4f vs 1, z = %.2f", names[i], ev2, zv);
    }
}

int main(void)
{
    RUN(test_order_sweep_oscillator);
    RUN(test_order_sweep_double_well);
    RUN(test_stationary_double_well);
    return test_summary();
}
