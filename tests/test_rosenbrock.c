/* Rosenbrock methods (src/implicit/rosenbrock.c): ros3p, rodas4, rodas5p.
 *
 *   tables      the Rosenbrock order conditions (exact Jacobian) of every tree up to
 *               order 6 for the solution and the embedded solution of each table:
 *               order exactly p and p-hat (a condition of the next order fails), the
 *               abscissae and gamma_i as the row sums of alpha and Gamma, and the dense
 *               output's conditions up to its order at several theta
 *   orders      measured convergence orders with constant steps on a nonlinear
 *               non-autonomous problem with a closed form, and on Prothero-Robinson
 *               (stiff, lambda = -1e6: the order reduction is printed)
 *   counts      one Jacobian per accepted step, one LU per attempt, f-evaluations as
 *               the table says; nde_options.autonomous saves df/dt; nothing allocates
 *               while solving
 *   misuse      gradients through a Rosenbrock solve are NDE_EUNSUPPORTED
 *
 * Trees are generated, not listed: a rooted tree is its multiset of subtrees; its
 * elementary weight for a Rosenbrock method (Hairer & Wanner II, IV.7, (7.17)) is the
 * Runge-Kutta one with beta = alpha + Gamma (diagonal included) on every vertex with
 * exactly one son and alpha on the others. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "implicit/internal.h"
#include "testlib.h"
#include "zoo.h"

#define MAXS 8          /* stages */
#define MAX_ORDER 6     /* trees up to this order (rodas5p: 5 + 1) */
#define MAX_TREES 64    /* 1 + 1 + 2 + 4 + 9 + 20 = 37 */

typedef struct { int order, nkids, kid[MAX_ORDER]; double density; } tree;
static tree trees[MAX_TREES];
static int ntrees;

/* All multisets of earlier trees (indices nondecreasing from `from`) whose orders sum
 * to `rest`, each as the sons of a new root. */
static void grow(int order, int rest, int from, int *kids, int nk, int limit)
{
    if (rest == 0) {
        tree *t = &trees[ntrees++];
        t->order = order;
        t->nkids = nk;
        t->density = order;
        for (int k = 0; k < nk; k++) { t->kid[k] = kids[k]; t->density *= trees[kids[k]].density; }
        return;
    }
    for (int i = from; i < limit; i++)
        if (trees[i].order <= rest) {
            kids[nk] = i;
            grow(order, rest - trees[i].order, i, kids, nk + 1, limit);
        }
}

static void make_trees(void)
{
    if (ntrees) return;
    int kids[MAX_ORDER];
    for (int n = 1; n <= MAX_ORDER; n++) grow(n, n - 1, 0, kids, 0, ntrees);
}

/* The method in the original form: Gamma (lower, diagonal gamma), alpha, b, b-hat. */
typedef struct { int s; double G[MAXS * MAXS], alpha[MAXS * MAXS], beta[MAXS * MAXS], b[MAXS], bh[MAXS]; } rowform;

static void to_rowform(const nde__ros_tableau *T, rowform *R)
{
    int s = T->stages;
    R->s = s;
    double Gi[MAXS * MAXS];
    for (int i = 0; i < s; i++)
        for (int j = 0; j < s; j++) Gi[i * s + j] = (i == j ? 1.0 / T->gamma : 0.0) - T->C[i * s + j];
    /* G = Gi^-1 (lower triangular), column by column by forward substitution */
    for (int j = 0; j < s; j++)
        for (int i = 0; i < s; i++) {
            double acc = i == j ? 1.0 : 0.0;
            for (int k = 0; k < i; k++) acc -= Gi[i * s + k] * R->G[k * s + j];
            R->G[i * s + j] = acc / Gi[i * s + i];
        }
    for (int i = 0; i < s; i++)
        for (int j = 0; j < s; j++) {
            double acc = 0.0;
            for (int k = 0; k < s; k++) acc += T->a[i * s + k] * R->G[k * s + j];
            R->alpha[i * s + j] = acc;
            R->beta[i * s + j] = acc + R->G[i * s + j];
        }
    for (int j = 0; j < s; j++) {
        double b = 0.0, bh = 0.0;
        for (int i = 0; i < s; i++) { b += T->m[i] * R->G[i * s + j]; bh += (T->m[i] - T->e[i]) * R->G[i * s + j]; }
        R->b[j] = b; R->bh[j] = bh;
    }
}

/* Elementary weights Phi_i(t) for every tree, stage by stage. */
static void weights(const rowform *R, double phi[MAX_TREES][MAXS])
{
    int s = R->s;
    for (int t = 0; t < ntrees; t++) {
        const tree *T = &trees[t];
        const double *W = T->nkids == 1 ? R->beta : R->alpha;
        for (int i = 0; i < s; i++) {
            double p = 1.0;
            for (int k = 0; k < T->nkids; k++) {
                double acc = 0.0;
                for (int j = 0; j < s; j++) acc += W[i * s + j] * phi[T->kid[k]][j];
                p *= acc;
            }
            phi[t][i] = p;
        }
    }
}

/* max over trees of order `order` of |sum_i w_i Phi_i(t) - scale / density(t)|. */
static double residual(const double *w, double phi[MAX_TREES][MAXS], int s, int order, double scale)
{
    double worst = 0.0;
    for (int t = 0; t < ntrees; t++) {
        if (trees[t].order != order) continue;
        double acc = 0.0;
        for (int i = 0; i < s; i++) acc += w[i] * phi[t][i];
        worst = fmax(worst, fabs(acc - scale / trees[t].density));
    }
    return worst;
}

#define COND_TOL 1e-11   /* the tables are printed to 16-20 digits; weights reach ~1e2 */
#define FAIL_TOL 1e-6    /* a condition of the next order must be off by more than this */

static void test_order_conditions(void)
{
    make_trees();
    CHECK_EQ_INT(ntrees, 37);
    int seen = 0;
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        const nde__ros_tableau *T = nde__ros_tab(m);
        if (!T) continue;
        seen++;
        const char *name = nde_method_name(m);
        int p = nde_method_order(m), ph = nde_method_embedded_order(m), q = nde_method_dense_order(m);
        rowform R;
        to_rowform(T, &R);
        int s = R.s;
        CHECK(s <= MAXS);
        /* a stage that reuses F_{i-1} (same_f) is at stage i-1's point and time: equal
         * rows of a and equal c; the others are f-evaluations (nde_method_stages) */
        int evaluations = s;
        for (int i = 1; T->same_f && i < s; i++)
            if (T->same_f[i]) {
                evaluations--;
                CHECK_MSG(T->c[i] == T->c[i - 1], "[%s] stage %d reuses F_%d at another time", name, i, i - 1);
                for (int j = 0; j < s; j++)
                    CHECK_MSG(T->a[i * s + j] == T->a[(i - 1) * s + j], "[%s] stage %d reuses F_%d at another point "
                              "(a[%d][%d])", name, i, i - 1, i, j);
            }
        CHECK_EQ_INT(evaluations, nde_method_stages(m));
        /* the estimate's own stages do not enter y1 or the interpolant */
        for (int i = s - T->est_stages; i < s; i++) {
            CHECK_MSG(T->m[i] == 0.0 && T->e[i] != 0.0, "[%s] estimate stage %d: m %g, e %g", name, i, T->m[i], T->e[i]);
            for (int r = 0; r < T->dense_rows; r++) CHECK(T->H[r * s + i] == 0.0);
        }
        /* c_i = sum_j alpha_ij, gamma_i = d_i = sum_j gamma_ij */
        for (int i = 0; i < s; i++) {
            double ca = 0.0, dg = 0.0;
            for (int j = 0; j < s; j++) { ca += R.alpha[i * s + j]; dg += R.G[i * s + j]; }
            CHECK_MSG(fabs(ca - T->c[i]) <= 1e-12, "[%s] c[%d] = %.17g, row sum of alpha %.17g", name, i, T->c[i], ca);
            CHECK_MSG(fabs(dg - T->d[i]) <= 1e-12, "[%s] d[%d] = %.17g, row sum of Gamma %.17g", name, i, T->d[i], dg);
        }
        double phi[MAX_TREES][MAXS];
        weights(&R, phi);
        printf("  %-8s solution residuals by order:", name);
        for (int n = 1; n <= MAX_ORDER; n++) printf(" %.1e", residual(R.b, phi, s, n, 1.0));
        printf("\n  %-8s embedded residuals by order:", name);
        for (int n = 1; n <= MAX_ORDER; n++) printf(" %.1e", residual(R.bh, phi, s, n, 1.0));
        printf("\n");
        for (int n = 1; n <= p; n++)
            CHECK_MSG(residual(R.b, phi, s, n, 1.0) <= COND_TOL, "[%s] an order-%d condition fails: %.3g", name, n,
                      residual(R.b, phi, s, n, 1.0));
        CHECK_MSG(residual(R.b, phi, s, p + 1, 1.0) > FAIL_TOL, "[%s] order is above %d", name, p);
        for (int n = 1; n <= ph; n++)
            CHECK_MSG(residual(R.bh, phi, s, n, 1.0) <= COND_TOL, "[%s] embedded: an order-%d condition fails: %.3g",
                      name, n, residual(R.bh, phi, s, n, 1.0));
        CHECK_MSG(residual(R.bh, phi, s, ph + 1, 1.0) > FAIL_TOL, "[%s] embedded order is above %d", name, ph);
        /* on y' = lambda y the estimate is (R - R-hat)(h lambda) y0, whose z^n coefficient
         * is the difference of the tall trees' weights: it must not vanish (issue 10:
         * ROS3P's own embedded formula has R-hat = R) */
        double tall = 0.0;
        for (int t = 0, prev = -1; t < ntrees; t++)
            if (trees[t].order == 1 || (trees[t].nkids == 1 && trees[t].kid[0] == prev)) {
                double d = 0.0;
                for (int i = 0; i < s; i++) d += (R.b[i] - R.bh[i]) * phi[t][i];
                tall = fmax(tall, fabs(d));
                prev = t;
            }
        printf("  %-8s estimate on y' = lambda y: largest coefficient %.2g\n", name, tall);
        CHECK_MSG(tall > FAIL_TOL, "[%s] the error estimate vanishes on linear problems", name);
        /* dense: b(th) = m(th) Gamma, m(th) = th m + th (1 - th) sum_r th^r H_r */
        static const double thetas[4] = { 0.2, 0.5, 0.8, 1.0 };
        double worst = 0.0, next = 0.0;
        for (int it = 0; it < 4; it++) {
            double th = thetas[it], mt[MAXS], bt[MAXS];
            for (int i = 0; i < s; i++) {
                double acc = 0.0, pw = 1.0;
                for (int r = 0; r < T->dense_rows; r++) { acc += pw * T->H[r * s + i]; pw *= th; }
                mt[i] = th * T->m[i] + th * (1.0 - th) * acc;
            }
            for (int j = 0; j < s; j++) {
                bt[j] = 0.0;
                for (int i = 0; i < s; i++) bt[j] += mt[i] * R.G[i * s + j];
            }
            for (int n = 1; n <= q; n++) worst = fmax(worst, residual(bt, phi, s, n, pow(th, n)));
            if (th < 1.0) next = fmax(next, residual(bt, phi, s, q + 1, pow(th, q + 1)));
        }
        printf("  %-8s dense output: order-<=%d residual %.1e, order-%d %.1e\n", name, q, worst, q + 1, next);
        CHECK_MSG(worst <= COND_TOL, "[%s] dense output: an order-<=%d condition fails by %.3g", name, q, worst);
        CHECK_MSG(next > FAIL_TOL, "[%s] dense output is of order above %d", name, q);
    }
    CHECK_EQ_INT(seen, 3);
}

/* ---- measured orders --------------------------------------------------------------- */

/* y' = -2 t y^2, y(0) = 1: y = 1 / (1 + t^2) (nonlinear, non-autonomous). */
static int rhs_riccati(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = -2.0 * t * y[0] * y[0]; return 0; }
static int jac_riccati(double t, const double *y, double *J, void *u)
{ (void)u; J[0] = -4.0 * t * y[0]; return 0; }

/* Prothero-Robinson: y' = lambda (y - sin t) + cos t, y = sin t. */
static const double pr_lambda = -1e6;
static int rhs_pr(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = pr_lambda * (y[0] - sin(t)) + cos(t); return 0; }
static int jac_pr(double t, const double *y, double *J, void *u)
{ (void)t; (void)y; (void)u; J[0] = pr_lambda; return 0; }

/* Least-squares slope of log err against log h over the finest 4 points (coarse to
 * fine) before the error first falls to `floor`. */
static double slope(const double *h, const double *err, int n, double floor)
{
    int last = -1;
    for (int i = 0; i < n && err[i] > floor; i++) last = i;
    int first = last - 3 < 0 ? 0 : last - 3;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int k = 0;
    for (int i = first; i <= last; i++) {
        double x = log(h[i]), y = log(err[i]);
        sx += x; sy += y; sxx += x * x; sxy += x * y; k++;
    }
    return k < 3 ? NAN : (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

/* Errors at t1 with N = n0 2^j constant steps, j < npts. */
static void sweep(const nde_method *m, const nde_ode *ode, double t1, double yex, int n0, int npts, double *h,
                  double *err)
{
    for (int j = 0; j < npts; j++) {
        double N = n0 * pow(2.0, j);
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 0; o.dt0 = t1 / N; o.max_steps = (size_t)N + 10;
        nde_solution sol;
        int rc = nde_ode_solve(ode, 0.0, t1, (double[]){ ode->f == rhs_pr ? 0.0 : 1.0 }, &o, &sol);
        CHECK_MSG(rc == NDE_OK, "[%s] N = %g: %s", nde_method_name(m), N, nde_solution_message(&sol));
        h[j] = t1 / N;
        err[j] = rc == NDE_OK ? fabs(sol.y[0] - yex) : NAN;
        nde_solution_free(&sol);
    }
}

static void test_measured_order_nonlinear(void)
{
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        int p = nde_method_order(m);
        double h[8], err[8];
        nde_ode ode = { .dim = 1, .f = rhs_riccati, .jac = jac_riccati };
        sweep(m, &ode, 3.0, 0.1, 20, 8, h, err);
        double sl = slope(h, err, 8, 1e-14);   /* scalar: rounding ~1e-16 */
        printf("  %-8s y' = -2ty^2: measured order %.3f (p = %d), errors %.2e .. %.2e (N = 20 .. 2560)\n",
               nde_method_name(m), sl, p, err[0], err[7]);
        CHECK_MSG(fabs(sl - p) <= 0.3, "[%s] measured order %.3f, nominal %d", nde_method_name(m), sl, p);
        /* difference Jacobian: same results to the differences' accuracy */
        ode.jac = NULL;
        double h2[8], err2[8];
        sweep(m, &ode, 3.0, 0.1, 20, 4, h2, err2);
        for (int j = 0; j < 4; j++)
            CHECK_MSG(fabs(err2[j] - err[j]) <= 1e-4 * err[j] + 1e-11, "[%s] N = %g: error %.3g with differences, "
                      "%.3g with the Jacobian", nde_method_name(m), 3.0 / h2[j], err2[j], err[j]);
    }
}

static void test_prothero_robinson(void)
{
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        double h[8], err[8];
        nde_ode ode = { .dim = 1, .f = rhs_pr, .jac = jac_pr };
        sweep(m, &ode, 1.0, sin(1.0), 10, 8, h, err);
        double sl = slope(h, err, 8, 1e-14);
        printf("  %-8s Prothero-Robinson lambda = %g: measured order %.3f (p = %d), errors %.2e .. %.2e\n",
               nde_method_name(m), pr_lambda, sl, nde_method_order(m), err[0], err[7]);
        /* stiff: h |lambda| from 1e5 down to 8e2; the error stays small and decreases */
        for (int j = 0; j < 8; j++)
            CHECK_MSG(err[j] <= 1e-6, "[%s] PR error %.3g at h = %.3g", nde_method_name(m), err[j], h[j]);
        CHECK_MSG(err[7] < err[0], "[%s] PR error does not decrease", nde_method_name(m));
    }
}

/* ---- the error estimate ----------------------------------------------------------------- */

/* y' = (-2 y0 + 1, -y1 / 2), y(0) = (1, 1): linear with constant coefficients, where
 * ROS3P's own estimate vanished (issue 10: 7 steps to t = 10, error 7e-2 at tolerance
 * 1e-6). */
static int rhs_lin2(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -2.0 * y[0] + 1.0; dy[1] = -0.5 * y[1]; return 0; }
static int jac_lin2(double t, const double *y, double *J, void *u)
{ (void)t; (void)y; (void)u; J[0] = -2.0; J[1] = 0.0; J[2] = 0.0; J[3] = -0.5; return 0; }

static void test_linear_problem_adaptive(void)
{
    const double T = 10.0, yex[2] = { 0.5 + 0.5 * exp(-2.0 * T), exp(-0.5 * T) }, y0[2] = { 1.0, 1.0 };
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        size_t last_steps = 0;
        for (int j = 0; j < 3; j++) {
            const double tol = pow(10.0, -3.0 - 3.0 * j);
            nde_ode ode = { .dim = 2, .f = rhs_lin2, .jac = jac_lin2 };
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = tol; o.atol = tol;
            nde_solution sol;
            int rc = nde_ode_solve(&ode, 0.0, T, y0, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "[%s] %s", nde_method_name(m), nde_solution_message(&sol));
            if (rc == NDE_OK) {
                double e = fmax(fabs(sol.y[0] - yex[0]), fabs(sol.y[1] - yex[1]));
                printf("  %-8s y' = J y + b, tolerance %.0e: %zu steps, error %.2g (%.2g x tolerance)\n",
                       nde_method_name(m), tol, sol.stats.accepted, e, e / tol);
                /* local error control: the global error within a few tolerances, and
                 * the steps grow like tol^(-1/(p-hat + 1)) (x 10 per 1e-3 for p-hat = 2) */
                CHECK_MSG(e <= 5.0 * tol, "[%s] tolerance %g: global error %.3g", nde_method_name(m), tol, e);
                CHECK_MSG(sol.stats.accepted >= 2 * last_steps, "[%s] tolerance %g: %zu steps (%zu at 1000 x it)",
                          nde_method_name(m), tol, sol.stats.accepted, last_steps);
                last_steps = sol.stats.accepted;
            }
            nde_solution_free(&sol);
        }
    }
}

/* The scaled error norm of the first attempt, which the step observer reports. */
static int first_attempt(double t, double dt, double err, int accepted, void *user)
{
    (void)t; (void)dt; (void)accepted;
    *(double *)user = err;
    return -1;
}

/* The local error estimate of a first step scales as h^(p-hat + 1): on the linear
 * system above (the estimate's stability-function part), on y' = -y^2 (nonlinear;
 * autonomous, as a difference df/dt would put a floor of its rounding under the
 * estimate), with a mass matrix (M y' = -y) and with banded storage (a nonlinear
 * tridiagonal problem, jac_lower = jac_upper = 1, difference Jacobian). */
static int rhs_square(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = -y[0] * y[0]; return 0; }
static int jac_square(double t, const double *y, double *J, void *u) { (void)t; (void)u; J[0] = -2.0 * y[0]; return 0; }
static int rhs_minus_y(double t, const double *y, double *dy, void *u);
static int rhs_tridiag(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    for (int i = 0; i < 4; i++)
        dy[i] = -2.0 * y[i] + (i > 0 ? y[i - 1] : 0.0) + (i < 3 ? 0.5 * y[i + 1] : 0.0) + 0.1 * y[i] * y[i];
    return 0;
}

static void test_estimate_order(void)
{
    static const double spd[4] = { 2.0, 1.0, 1.0, 3.0 };
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        const int q = nde_method_embedded_order(m) + 1;
        for (int which = 0; which < 4; which++) {
            static const char *const what[4] = { "y' = J y + b", "y' = -y^2", "M y' = -y", "banded" };
            nde_ode ode = { .dim = 2, .f = rhs_lin2, .jac = jac_lin2 };
            double y0[4] = { 1.0, 1.0, 1.0, 1.0 }, t0 = 0.0, h0 = 0.1;
            nde_options o = NDE_OPTIONS_INIT;
            if (which == 1) { ode.dim = 1; ode.f = rhs_square; ode.jac = jac_square; }
            if (which == 2) { ode.f = rhs_minus_y; ode.jac = NULL; ode.mass = spd; y0[1] = -0.5; h0 = 0.25; }
            if (which == 3) { ode.dim = 4; ode.f = rhs_tridiag; ode.jac = NULL; o.jac_lower = o.jac_upper = 1; }
            double h[6], est[6];
            for (int j = 0; j < 6; j++) {
                o.method = m; o.rtol = 1e-3; o.atol = 1e-3; o.autonomous = 1;
                h[j] = h0 / pow(2.0, j);
                o.dt0 = h[j];
                o.on_step = first_attempt; o.on_step_user = &est[j];
                est[j] = NAN;
                nde_solution sol;
                CHECK(nde_ode_solve(&ode, t0, t0 + 2.0 * h0, y0, &o, &sol) == NDE_ECALLBACK);
                nde_solution_free(&sol);
            }
            double sl = slope(h, est, 6, 1e-9);
            printf("  %-8s estimate on %-13s: measured order %.2f (p-hat + 1 = %d), %.2g .. %.2g\n", nde_method_name(m),
                   what[which], sl, q, est[0], est[5]);
            CHECK_MSG(fabs(sl - q) <= 0.3, "[%s] %s: the estimate scales as h^%.2f, expected h^%d", nde_method_name(m),
                      what[which], sl, q);
        }
    }
}

/* ---- counts, allocation, unsupported uses ------------------------------------------ */

static int rhs_rober(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
    dy[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1];
    dy[2] = 3e7 * y[1] * y[1];
    return 0;
}
static int jac_rober(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    J[0] = -0.04; J[1] = 1e4 * y[2];                J[2] = 1e4 * y[1];
    J[3] = 0.04;  J[4] = -1e4 * y[2] - 6e7 * y[1];  J[5] = -1e4 * y[1];
    J[6] = 0.0;   J[7] = 6e7 * y[1];                J[8] = 0.0;
    return 0;
}

static void test_counts(void)
{
    const double y0[3] = { 1.0, 0.0, 0.0 };
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        const char *name = nde_method_name(m);
        size_t S = (size_t)nde_method_stages(m);
        nde_ode ode = { .dim = 3, .f = rhs_rober, .jac = jac_rober };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 1e-5; o.atol = 1e-10;
        o.dt0 = 0.5;   /* too large: rejections; and no initial-step evaluations */
        nde_solution a, b;
        CHECK(nde_ode_solve(&ode, 0.0, 40.0, y0, &o, &a) == NDE_OK);
        const nde_stats *st = &a.stats;
        printf("  %-8s robertson [0, 40]: steps %zu (rejected %zu), nfe %zu, njac %zu, nlu %zu\n", name, st->steps,
               st->rejected, st->nfe, st->njac, st->nlu);
        CHECK(st->steps > 10 && st->rejected > 0);   /* the Jacobian's reuse over rejections is exercised */
        /* one Jacobian per accepted step's start, one LU per attempt; f: S - 1 stages per
         * attempt, f(t, y) at each start, df/dt at each Jacobian */
        CHECK_EQ_INT(st->njac, st->accepted);
        CHECK_EQ_INT(st->nlu, st->steps);
        CHECK_EQ_INT(st->nfe, st->steps * (S - 1) + 2 * st->accepted);
        CHECK_EQ_INT(st->nnewton, 0);
        /* autonomous: no df/dt, the same solution (the difference of an autonomous f
         * in t is exactly zero) */
        o.autonomous = 1;
        CHECK(nde_ode_solve(&ode, 0.0, 40.0, y0, &o, &b) == NDE_OK);
        CHECK_EQ_INT(b.stats.nfe, b.stats.steps * (S - 1) + b.stats.accepted);
        CHECK(b.stats.steps == st->steps && memcmp(a.y, b.y, 3 * sizeof *a.y) == 0);
        nde_solution_free(&b);
        /* a difference Jacobian costs dim evaluations each */
        ode.jac = NULL;
        CHECK(nde_ode_solve(&ode, 0.0, 40.0, y0, &o, &b) == NDE_OK);
        CHECK_EQ_INT(b.stats.nfe, b.stats.steps * (S - 1) + b.stats.accepted + 3 * b.stats.njac);
        for (int i = 0; i < 3; i++) CHECK_NEAR(b.y[i], a.y[i], 1e-6 * fabs(a.y[i]) + 1e-12);
        nde_solution_free(&b);
        nde_solution_free(&a);
    }
}

/* ---- step control: RODAS's (rodas.f, ROCORE) ------------------------------------------ */

typedef struct { size_t n; double t[4096], dt[4096], err[4096]; int acc[4096]; } attempt_log;

static int log_attempt(double t, double dt, double err, int accepted, void *user)
{
    attempt_log *L = user;
    if (L->n < 4096) { L->t[L->n] = t; L->dt[L->n] = dt; L->err[L->n] = err; L->acc[L->n] = accepted; L->n++; }
    return 0;
}

/* RODAS's rule written from rodas.f for the oracle: fac = err^(1/k) / 0.9 in [1/6, 5],
 * after an accepted step from the second on the larger of it and Gustafsson's
 * (h_acc / h) (err^2 / err_acc)^(1/k) / 0.9, err_acc = max(1e-2, err); h_new = h / fac,
 * at most h after a rejection. */
static double rodas_next(double h, double err, int accepted, double k, size_t *naccept, double *hacc,
                         double *erracc, int *reject)
{
    double fac = fmax(1.0 / 6.0, fmin(5.0, pow(err, 1.0 / k) / 0.9));
    if (!accepted) { *reject = 1; return h / fac; }
    if (++*naccept > 1)
        fac = fmax(fac, fmax(1.0 / 6.0, fmin(5.0, (*hacc / h) * pow(err * err / *erracc, 1.0 / k) / 0.9)));
    *hacc = h;
    *erracc = fmax(1e-2, err);
    double hn = h / fac;
    if (*reject && hn > h) hn = h;
    *reject = 0;
    return hn;
}

/* Every attempt's h follows from the previous one by RODAS's rule (the last, clipped to
 * t1, excepted), for each method with its own exponent 1/(embedded order + 1): the step
 * never grows right after a rejection, never by more than 6 nor shrinks below 1/5.
 * With PID coefficients set, the steps follow nde_controller (the PID rule) instead. */
static void test_rodas_step_control(void)
{
    const double y0[2] = { 2.0, 0.0 };
    const zoo_problem *p = zoo_find("vdp1000");
    CHECK(p != NULL);
    if (!p) return;
    static attempt_log L;
    for (size_t km = 0; km < nde_method_count(); km++) {
        const nde_method *m = nde_method_at(km);
        if (!nde__ros_tab(m)) continue;
        for (int pid = 0; pid < 2; pid++) {
            nde_ode ode = { .dim = 2, .f = p->f, .jac = p->jac, .user = p->user };
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 1e-5; o.atol = 1e-5; o.autonomous = 1;
            o.on_step = log_attempt; o.on_step_user = &L;
            if (pid) o.icoeff = 1.0;   /* the I controller */
            L.n = 0;
            nde_solution sol;
            CHECK(nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol) == NDE_OK);
            CHECK(L.n == sol.stats.steps && L.n < 4096);
            nde_controller c;
            CHECK(nde_controller_init(&c, m, &o) == NDE_OK);
            size_t naccept = 0, rejections = 0, after_reject = 0, bad = 0;
            double hacc = 0.0, erracc = 0.0, kexp = (double)(nde_method_embedded_order(m) + 1), worst = 0.0;
            int reject = 0, grew_after_reject = 0;
            for (size_t i = 0; i + 1 < L.n; i++) {
                double want;
                if (pid) {
                    int acc;
                    want = nde_controller_next(&c, L.dt[i], L.err[i], &acc);
                    CHECK(acc == L.acc[i]);
                } else {
                    want = rodas_next(L.dt[i], L.err[i], L.acc[i], kexp, &naccept, &hacc, &erracc, &reject);
                }
                if (!L.acc[i]) rejections++;
                if (i > 0 && !L.acc[i - 1] && L.acc[i]) {
                    after_reject++;
                    if (L.dt[i + 1] > L.dt[i]) grew_after_reject = 1;
                }
                if (L.t[i + 1] + L.dt[i + 1] >= p->t1) continue;   /* clipped to t1 */
                /* the loop forms h as (t + h) - t: off by rounding in t */
                double rel = fabs(L.dt[i + 1] - want) / want;
                worst = fmax(worst, rel);
                if (fabs(L.dt[i + 1] - want) > 1e-12 * want + 4.0 * DBL_EPSILON * fabs(L.t[i + 1])) bad++;
            }
            printf("  %-8s vdp1000 rtol 1e-5 %s: %zu attempts, %zu rejected (%zu accepted right after one), "
                   "worst |h - rule| / h %.2g (rounding in t)\n", nde_method_name(m), pid ? "I control" : "RODAS's control", L.n,
                   rejections, after_reject, worst);
            CHECK_MSG(bad == 0, "[%s] %zu steps off the %s rule (worst %.3g)", nde_method_name(m), bad,
                      pid ? "PID" : "RODAS", worst);
            CHECK(rejections > 0 && after_reject > 0);   /* the rules after a rejection are exercised */
            if (!pid) CHECK_MSG(!grew_after_reject, "[%s] the step grew right after a rejection", nde_method_name(m));
            nde_solution_free(&sol);
        }
    }
}

/* Hairer's RODAS (rodas.f as in github.com/cpmech/hwode, gfortran -O2, default parameters,
 * IWORK(1) = 200000) run on this machine for this test (2026-12-02) on the zoo's problems
 * with the zoo's right-hand sides and Jacobians, ITOL = 0 with atol = rtol, autonomous
 * (IFCN = 0), the first step H = nde_initial_step's for rodas4: IWORK(16) NSTEP (every
 * attempt, those of the first step included), IWORK(15) NJAC (one per accepted step)
 * and IWORK(19) NDEC, and the error at t1 max_i |y_i - ref_i| / (1 + |ref_i|) (vdp1000's
 * at 1e-10 re-measured after zoo/refs_stiff.h's vdp1000 was corrected by 1.2e-10). rodas4
 * is RODAS's method with RODAS's step control: the same work. */
typedef struct { const char *problem; double rtol; size_t steps, njac, ndec; double error; } rodas_run;

static const rodas_run rodas_runs[] = {
    { "robertson", 1e-4, 61, 55, 61, 6.33e-09 },   { "robertson", 1e-7, 224, 217, 224, 8.81e-10 },
    { "robertson", 1e-10, 1137, 1129, 1137, 8.08e-12 },
    { "vdp1000", 1e-4, 325, 298, 325, 2.44e-05 },  { "vdp1000", 1e-7, 1624, 1605, 1624, 3.78e-07 },
    { "vdp1000", 1e-10, 11106, 11095, 11106, 3.27e-10 },   /* against the corrected vdp1000 reference */
    { "hires", 1e-4, 29, 25, 29, 1.39e-04 },       { "hires", 1e-7, 131, 129, 131, 8.24e-08 },
    { "hires", 1e-10, 992, 991, 992, 4.45e-11 },
};

static void test_work_matches_fortran_rodas(void)
{
    for (size_t r = 0; r < sizeof rodas_runs / sizeof rodas_runs[0]; r++) {
        const rodas_run *R = &rodas_runs[r];
        const zoo_problem *p = zoo_find(R->problem);
        CHECK(p != NULL && p->ref != NULL);
        if (!p || !p->ref) continue;
        static double y0[ZOO_MAX_DIM];
        zoo_y0(p, y0);
        nde_ode ode = { .dim = p->dim, .f = p->f, .jac = p->jac, .user = p->user };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("rodas4");
        o.rtol = R->rtol; o.atol = R->rtol; o.autonomous = 1; o.max_steps = 200000;
        nde_solution sol;
        CHECK(nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol) == NDE_OK);
        double e = 0.0;
        for (size_t i = 0; i < p->dim; i++) e = fmax(e, fabs(sol.y[i] - p->ref[i]) / (1.0 + fabs(p->ref[i])));
        printf("  %-9s rtol %.0e: rodas4 %5zu steps %5zu njac %5zu nlu, error %.2e; RODAS %5zu %5zu %5zu, %.2e\n",
               R->problem, R->rtol, sol.stats.steps, sol.stats.njac, sol.stats.nlu, e, R->steps, R->njac, R->ndec,
               R->error);
        CHECK_EQ_INT(sol.stats.steps, R->steps);
        CHECK_EQ_INT(sol.stats.njac, R->njac);
        CHECK_EQ_INT(sol.stats.nlu, R->ndec);
        CHECK_MSG(fabs(e - R->error) <= 0.01 * R->error, "%s rtol %g: error %.3g, RODAS's %.3g", R->problem,
                  R->rtol, e, R->error);   /* the stored error has 3 digits */
        nde_solution_free(&sol);
    }
}

static void test_no_allocation_while_solving(void)
{
    const double y0[3] = { 1.0, 0.0, 0.0 };
    static const double ts[3] = { 1.0, 10.0, 100.0 };
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        test_alloc ta;
        test_alloc_init(&ta);
        nde_ode ode = { .dim = 3, .f = rhs_rober };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 1e-6; o.atol = 1e-10; o.allocator = &ta.a; o.ts = ts; o.n_ts = 3;
        nde_solver *S = nde_solver_create(&ode, &o);
        CHECK(S != NULL);
        if (!S) continue;
        size_t calls = ta.calls;
        for (int r = 0; r < 3; r++) CHECK(nde_solver_solve(S, 0.0, 1e3, y0) == NDE_OK);
        CHECK_MSG(ta.calls == calls, "[%s] %zu allocations while solving", nde_method_name(m), ta.calls - calls);
        CHECK(nde_solver_solution(S)->stats.steps > 50);
        nde_solver_free(S);
        CHECK_EQ_INT(ta.live, 0);
    }
}

static void test_gradients_unsupported(void)
{
    const double y0[3] = { 1.0, 0.0, 0.0 };
    nde_ode ode = { .dim = 3, .f = rhs_rober, .jac = jac_rober };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("rodas4");
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    nde_tape *tape = nde_tape_create(&ao);
    CHECK(tape != NULL);
    nde_solution sol;
    /* the checkpointed adjoint takes the Rosenbrock methods (tests/test_adjoint.c checks
     * the gradients); without a VJP the backward pass says so */
    CHECK(nde_ode_solve_taped(&ode, 0.0, 1.0, y0, &o, tape, &sol) == NDE_OK);
    double g[3];
    CHECK(nde_ode_backward(tape, NULL, g, NULL) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "vjp") != NULL);
    nde_solution_free(&sol);
    /* banded Jacobians have no reverse pass */
    o.jac_lower = o.jac_upper = 1;
    CHECK(nde_ode_solve_taped(&ode, 0.0, 1.0, y0, &o, tape, &sol) == NDE_EUNSUPPORTED);
    CHECK_MSG(strstr(nde_solution_message(&sol), "rodas4") != NULL, "%s", nde_solution_message(&sol));
    nde_solution_free(&sol);
    nde_tape_free(tape);
}

/* ---- mass matrices and index-1 DAEs -------------------------------------------------- */

/* Robertson as a DAE (Hairer & Wanner II, VI.1): y1' and y2' as the ODE, and the
 * conservation law 0 = y1 + y2 + y3 - 1 instead of y3' (M = diag(1, 1, 0)); its
 * solution is the ODE's, so the zoo's reference y(1e11) (Test Set ROBER) applies. */
static const double rober_mass[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 0 };
static int rhs_rober_dae(double t, const double *y, double *dy, void *u)
{
    rhs_rober(t, y, dy, u);
    dy[2] = y[0] + y[1] + y[2] - 1.0;
    return 0;
}
static int jac_rober_dae(double t, const double *y, double *J, void *u)
{
    jac_rober(t, y, J, u);
    J[6] = 1.0; J[7] = 1.0; J[8] = 1.0;
    return 0;
}
/* Test Set for IVP Solvers (Mazzia & Magherini, release 2.4), ROBER, y(1e11) */
static const double rober_ref[3] = { 0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050 };

static double rel_err3(const double *y, const double *ref)
{
    double w = 0.0;
    for (int i = 0; i < 3; i++) w = fmax(w, fabs(y[i] - ref[i]) / fabs(ref[i]));
    return w;
}

/* max_i |y_i - ref_i| / (atol + rtol |ref_i|) */
static double tol_err3(const double *y, const double *ref, double rtol, double atol)
{
    double w = 0.0;
    for (int i = 0; i < 3; i++) w = fmax(w, fabs(y[i] - ref[i]) / (atol + rtol * fabs(ref[i])));
    return w;
}

static void test_dae_robertson(void)
{
    const double y0[3] = { 1.0, 0.0, 0.0 };
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        const char *name = nde_method_name(m);
        for (int with_jac = 0; with_jac < 2; with_jac++) {
            /* With differences the Jacobian of Robertson (components from 1 down to
             * 1e-13, f quadratic in y2 with coefficient 3e7) is accurate to ~1e-7, not
             * enough for ros3p (not stiffly accurate: > 10^6 steps by t = 4e-4); the
             * stiffly accurate pair needs 1.5-20x the steps of the exact Jacobian. */
            if (!with_jac && strcmp(name, "ros3p") == 0) continue;
            nde_ode dae = { .dim = 3, .f = rhs_rober_dae, .jac = with_jac ? jac_rober_dae : NULL, .mass = rober_mass };
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 1e-8; o.atol = 1e-14; o.autonomous = 1;
            o.max_steps = 1000000;
            nde_solution sol;
            int rc = nde_ode_solve(&dae, 0.0, 1e11, y0, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "[%s] Robertson DAE: %s", name, nde_solution_message(&sol));
            if (rc == NDE_OK) {
                double e = rel_err3(sol.y, rober_ref), cons = fabs(sol.y[0] + sol.y[1] + sol.y[2] - 1.0);
                double u = tol_err3(sol.y, rober_ref, o.rtol, o.atol);
                printf("  %-8s Robertson DAE to 1e11 (%s Jacobian): rel err %.2e (%.2g x tolerance), |sum - 1| %.1e, "
                       "%zu steps, njac %zu\n", name, with_jac ? "exact" : "difference", e, u, cons, sol.stats.steps,
                       sol.stats.njac);
                /* within 100 tolerances, as the zoo's stiff references below (y1 ~ 2e-8
                 * and y2 ~ 8e-14 are atol's: their relative errors reach 1e-6 at a few
                 * tolerances); rtol 1e-8: the stiffly accurate methods keep the
                 * constraint exactly */
                CHECK_MSG(u <= 100.0, "[%s] Robertson DAE: error %.3g tolerances (relative %.3g)", name, u, e);
                CHECK_MSG(cons <= (nde__ros_tab(m)->e[nde_method_stages(m) - 1] == 1.0 ? 1e-14 : 1e-9),
                          "[%s] Robertson DAE: conservation %.3g", name, cons);
            }
            nde_solution_free(&sol);
        }
    }
}

/* A linear index-1 DAE with a closed form: y1' = -y1 + y2, 0 = y2 - sin t (M =
 * diag(1, 0)), y(0) = (0, 0): y2 = sin t, y1 = (sin t - cos t + e^-t) / 2.
 * Non-autonomous: df/dt enters the stages. Constant steps measure the order of both
 * components (the algebraic one is where non-stiffly-accurate methods lose order). */
static const double dae1_mass[4] = { 1, 0, 0, 0 };
static int rhs_dae1(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = -y[0] + y[1]; dy[1] = y[1] - sin(t); return 0; }
static int jac_dae1(double t, const double *y, double *J, void *u)
{ (void)t; (void)y; (void)u; J[0] = -1; J[1] = 1; J[2] = 0; J[3] = 1; return 0; }

static void test_dae_measured_order(void)
{
    const double T = 2.0, y1ex = (sin(T) - cos(T) + exp(-T)) / 2, y2ex = sin(T);
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        const char *name = nde_method_name(m);
        nde_ode dae = { .dim = 2, .f = rhs_dae1, .jac = jac_dae1, .mass = dae1_mass };
        double h[7], e1[7], e2[7];
        for (int j = 0; j < 7; j++) {
            double N = 10.0 * pow(2.0, j);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 0; o.dt0 = T / N;
            nde_solution sol;
            const double y0[2] = { 0.0, 0.0 };
            int rc = nde_ode_solve(&dae, 0.0, T, y0, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "[%s] %s", name, nde_solution_message(&sol));
            h[j] = T / N;
            e1[j] = rc == NDE_OK ? fabs(sol.y[0] - y1ex) : NAN;
            e2[j] = rc == NDE_OK ? fabs(sol.y[1] - y2ex) : NAN;
            nde_solution_free(&sol);
        }
        /* floor 1e-11: below it the forward-difference df/dt (relative accuracy ~1e-8)
         * stalls rodas4 at 7e-13 */
        double s1 = slope(h, e1, 7, 1e-11), s2 = slope(h, e2, 7, 1e-11);
        printf("  %-8s index-1 DAE: measured order %.2f (differential), %.2f (algebraic); p = %d; errors "
               "%.1e / %.1e at N = 640\n", name, s1, isnan(s2) ? 0.0 : s2, nde_method_order(m), e1[6], e2[6]);
                printf("           differential errors:");
        for (int j = 0; j < 7; j++) printf(" %.2e", e1[j]);
        printf("\n");
        /* each method's ODE order: the algebraic equation is linear, so y2 is exact
         * at every stage (to rounding); the nonlinear index-1 case is Robertson's DAE
         * (test_dae_robertson) */
        double expect = nde_method_order(m);
        CHECK_MSG(s1 >= expect - 0.4, "[%s] DAE order %.2f, expected %.0f", name, s1, expect);
        CHECK_MSG(e2[6] <= 1e-12, "[%s] algebraic error %.3g", name, e2[6]);
    }
}

static void test_dae_inconsistent_y0(void)
{
    nde_ode dae = { .dim = 3, .f = rhs_rober_dae, .jac = jac_rober_dae, .mass = rober_mass };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("rodas4"); o.rtol = 1e-6; o.atol = 1e-10;
    double y0[3] = { 1.0, 0.0, 1e-3 };   /* y1 + y2 + y3 - 1 = 1e-3: far beyond the tolerance */
    nde_solution sol;
    CHECK(nde_ode_solve(&dae, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    CHECK_MSG(strstr(nde_solution_message(&sol), "inconsistent") != NULL, "%s", nde_solution_message(&sol));
    CHECK(y0[0] == 1.0 && y0[1] == 0.0 && y0[2] == 1e-3);
    printf("  message: %s\n", nde_solution_message(&sol));
    nde_solution_free(&sol);
    /* within the tolerance: accepted (the correction 1e-13 is below atol) */
    y0[2] = 1e-13;
    CHECK(nde_ode_solve(&dae, 0.0, 1.0, y0, &o, &sol) == NDE_OK);
    nde_solution_free(&sol);
    /* backwards too (f and J change sign; the test does not) */
    y0[2] = 1e-3;
    CHECK(nde_ode_solve(&dae, 1.0, 0.0, y0, &o, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);
}

/* 0 = f3 with f3 independent of y: M's null space gives an equation that does not
 * determine y3 (not index 1). */
static int rhs_not_index1(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0]; dy[1] = -y[1]; dy[2] = 0.0;
    return 0;
}

static void test_dae_not_index1(void)
{
    nde_ode dae = { .dim = 3, .f = rhs_not_index1, .mass = rober_mass };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("rodas5p");
    const double y0[3] = { 1.0, 2.0, 3.0 };
    nde_solution sol;
    CHECK(nde_ode_solve(&dae, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    CHECK_MSG(strstr(nde_solution_message(&sol), "not an index-1 DAE") != NULL, "%s", nde_solution_message(&sol));
    nde_solution_free(&sol);
}

/* M y' = -y with a full symmetric positive definite M: y' = -M^-1 y, M^-1 = [[3, -1],
 * [-1, 2]] / 5, whose closed form y(t) = V exp(-L t) V^T y0 is computed from the
 * eigen-decomposition of M^-1. */
static const double spd_mass[4] = { 2.0, 1.0, 1.0, 3.0 };
static int rhs_minus_y(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -y[0]; dy[1] = -y[1]; return 0; }

static void spd_exact(double t, const double *y0, double *y)
{
    /* M^-1 = [[0.6, -0.2], [-0.2, 0.4]]: eigenvalues 0.5 +- sqrt(0.05) */
    double r = sqrt(0.05), l1 = 0.5 + r, l2 = 0.5 - r;
    /* eigenvector of l: (0.2, 0.6 - l) normalised (first row: 0.6 v0 - 0.2 v1 = l v0) */
    double v1[2] = { 0.2, 0.6 - l1 }, v2[2] = { 0.2, 0.6 - l2 };
    double n1 = hypot(v1[0], v1[1]), n2 = hypot(v2[0], v2[1]);
    v1[0] /= n1; v1[1] /= n1; v2[0] /= n2; v2[1] /= n2;
    double c1 = v1[0] * y0[0] + v1[1] * y0[1], c2 = v2[0] * y0[0] + v2[1] * y0[1];
    for (int i = 0; i < 2; i++) y[i] = c1 * exp(-l1 * t) * v1[i] + c2 * exp(-l2 * t) * v2[i];
}

static int rhs_minus_y4(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; for (int i = 0; i < 4; i++) dy[i] = -(double)(i + 1) * y[i]; return 0; }

static void test_mass_matrix_closed_form(void)
{
    const double y0[2] = { 1.0, -0.5 };
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        if (!nde__ros_tab(m)) continue;
        const char *name = nde_method_name(m);
        nde_ode ode = { .dim = 2, .f = rhs_minus_y, .mass = spd_mass };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m;
        o.rtol = 1e-9; o.atol = 1e-12;
        static const double ts[3] = { 0.5, 1.7, 3.0 };
        o.ts = ts; o.n_ts = 3; o.save = NDE_SAVE_DENSE;
        for (int back = 0; back < 2; back++) {
            /* backwards from the exact y(3) to 0 */
            double ya[2], t0 = back ? 3.0 : 0.0, t1 = back ? 0.0 : 3.0;
            static const double tsb[3] = { 2.5, 1.3, 0.0 };
            if (back) { spd_exact(3.0, y0, ya); o.ts = tsb; }
            else memcpy(ya, y0, sizeof ya);
            nde_solution sol;
            int rc = nde_ode_solve(&ode, t0, t1, ya, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "[%s] %s", name, nde_solution_message(&sol));
            double w = 0.0, yex[2], yd[2];
            for (size_t i = 0; rc == NDE_OK && i < sol.n; i++) {
                spd_exact(sol.t[i], y0, yex);
                for (size_t c = 0; c < 2; c++) w = fmax(w, fabs(sol.y[i * 2 + c] - yex[c]));
            }
            for (int j = 0; rc == NDE_OK && j <= 30; j++) {   /* dense output */
                double t = 0.1 * j;
                CHECK(nde_solution_eval(&sol, t, yd) == NDE_OK);
                spd_exact(t, y0, yex);
                for (int c = 0; c < 2; c++) w = fmax(w, fabs(yd[c] - yex[c]));
            }
            printf("  %-8s M y' = -y (%s): worst error %.2e (saved and dense)\n", name, back ? "backward" : "forward", w);
            CHECK_MSG(w <= 1e-7, "[%s] M y' = -y %s: error %.3g", name, back ? "backward" : "forward", w);
            nde_solution_free(&sol);
        }
    }
}

static int rhs_8y(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = 8.0 * y[0]; return 0; }
static int jac_fails(double t, const double *y, double *J, void *u) { (void)t; (void)y; (void)u; J[0] = 0; return -3; }

static void test_bad_input(void)
{
    const double y0[3] = { 1.0, 0.0, 0.0 };
    nde_solution sol;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("rodas4");
    /* NaN in M: rejected before anything is computed */
    double bad_mass[9];
    memcpy(bad_mass, rober_mass, sizeof bad_mass);
    bad_mass[4] = NAN;
    nde_ode dae = { .dim = 3, .f = rhs_rober_dae, .mass = bad_mass };
    CHECK(nde_ode_solve(&dae, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    CHECK_MSG(strstr(nde_solution_message(&sol), "mass[4]") != NULL, "%s", nde_solution_message(&sol));
    nde_solution_free(&sol);
    /* a mass matrix with an explicit method */
    dae.mass = rober_mass;
    o.method = nde_method_find("tsit5");
    CHECK(nde_ode_solve(&dae, 0.0, 1.0, y0, &o, &sol) == NDE_EUNSUPPORTED);
    nde_solution_free(&sol);
    /* a Jacobian callback that fails: the solve stops with its code named */
    o.method = nde_method_find("rodas5p");
    nde_ode ode = { .dim = 1, .f = rhs_8y, .jac = jac_fails };
    double one = 1.0;
    CHECK(nde_ode_solve(&ode, 0.0, 1.0, &one, &o, &sol) == NDE_ECALLBACK);
    CHECK_MSG(strstr(nde_solution_message(&sol), "-3") != NULL, "%s", nde_solution_message(&sol));
    nde_solution_free(&sol);
    /* a singular iteration matrix: y' = 8y with h gamma = 1/8 (rodas4: gamma = 1/4, h =
     * 1/2) makes 1/(h gamma) - J exactly 0. Constant steps cannot shrink: an error that
     * names it; adaptive steps retry smaller and succeed */
    o.method = nde_method_find("rodas4");
    ode.jac = NULL;
    o.rtol = 0; o.dt0 = 0.5;
    CHECK(nde_ode_solve(&ode, 0.0, 1.0, &one, &o, &sol) == NDE_ENONLINEAR);
    CHECK_MSG(strstr(nde_solution_message(&sol), "is singular") != NULL, "%s",
              nde_solution_message(&sol));
    printf("  message: %s\n", nde_solution_message(&sol));
    nde_solution_free(&sol);
    o.rtol = 1e-6; o.atol = 1e-9; o.dt0 = 0.5;
    CHECK(nde_ode_solve(&ode, 0.0, 1.0, &one, &o, &sol) == NDE_OK);
    CHECK(sol.stats.rejected >= 1);
    CHECK_NEAR(sol.y[0], exp(8.0), 1e-4 * exp(8.0));
    nde_solution_free(&sol);
    /* bandwidths must be below dim */
    o.jac_lower = 3; o.jac_upper = 1;
    CHECK(nde_ode_solve(&dae, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);
}

/* ---- the stiff references of the zoo ------------------------------------------------- */

/* max_i |y_i - ref_i| / (atol + rtol |ref_i|): the global error in units of the local
 * tolerance. */
/* y' = A y with A lower block triangular: E = I/(h gamma) - A has nonzero multipliers in
 * its first column and, while 1/(h gamma) + 1 < 1000, a row interchange at the second
 * one. In dimension 3 it goes through the Rosenbrock engine's own small LU, padded to 9
 * (six more components y' = -y, decoupled) through LAPACK's: the two solves agree to
 * rounding, where a solve that paired a row of b with another row's multipliers would
 * not. */
static const double pivot_A[9] = { -1, 0, 0, 2, -1, 1, 3, 1000, -2000 };
static int rhs_pivot(double t, const double *y, double *dy, void *u)
{
    (void)t;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) {
        dy[i] = -y[i];
        if (i < 3) dy[i] = pivot_A[3 * i] * y[0] + pivot_A[3 * i + 1] * y[1] + pivot_A[3 * i + 2] * y[2];
    }
    return 0;
}
static int jac_pivot(double t, const double *y, double *J, void *u)
{
    (void)t; (void)y;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n * n; i++) J[i] = 0.0;
    for (size_t i = 0; i < n; i++) J[i * n + i] = -1.0;
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) J[i * n + j] = pivot_A[3 * i + j];
    return 0;
}

static void test_small_lu_row_interchange(void)
{
    static const char *const names[] = { "ros3p", "rodas4", "rodas5p" };
    for (size_t k = 0; k < 3; k++) {
        double y[2][3];
        for (int pad = 0; pad < 2; pad++) {
            size_t n = pad ? 9 : 3;
            nde_ode ode = { .dim = n, .f = rhs_pivot, .jac = jac_pivot, .user = &n };
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_method_find(names[k]);
            o.rtol = 0; o.dt0 = 0.01; o.autonomous = 1;
            double y0[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
            nde_solution sol;
            int rc = nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "[%s] n = %zu: %s", names[k], n, nde_solution_message(&sol));
            for (int i = 0; i < 3; i++) y[pad][i] = rc == NDE_OK ? sol.y[(sol.n - 1) * n + (size_t)i] : NAN;
            nde_solution_free(&sol);
        }
        for (int i = 0; i < 3; i++)
            CHECK_MSG(fabs(y[0][i] - y[1][i]) <= 1e-12 * (fabs(y[1][i]) + 1e-3), "[%s] y%d: %.17g (own LU) vs %.17g "
                      "(LAPACK)", names[k], i, y[0][i], y[1][i]);
    }
}

static double tol_units(const zoo_problem *p, const double *y, double rtol, double atol)
{
    double w = 0.0;
    for (size_t i = 0; i < p->dim; i++) w = fmax(w, fabs(y[i] - p->ref[i]) / (atol + rtol * fabs(p->ref[i])));
    return w;
}

typedef struct { const char *name; double atol; } stiff_case;

static void test_stiff_references(void)
{
    static const stiff_case cases[] = {
        { "robertson", 1e-14 }, { "robertson1e5", 1e-14 }, { "robertson_dae", 1e-14 }, { "vdpol", 1e-8 },
        { "vdp1000", 1e-8 }, { "hires", 1e-10 }, { "bruss1d", 1e-8 },
    };
    const double rtol = 1e-8;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const zoo_problem *p = zoo_find(cases[c].name);
        CHECK_MSG(p && p->ref, "zoo problem %s with a reference", cases[c].name);
        if (!p || !p->ref) continue;
        static double y0[ZOO_MAX_DIM];
        zoo_y0(p, y0);
        for (size_t k = 0; k < nde_method_count(); k++) {
            const nde_method *m = nde_method_at(k);
            if (!nde__ros_tab(m)) continue;
            nde_ode ode = { .dim = p->dim, .f = p->f, .jac = p->jac, .user = p->user, .mass = p->mass };
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = rtol; o.atol = cases[c].atol; o.autonomous = 1; o.max_steps = 2000000;
            if (p->jac_lower || p->jac_upper) {   /* the band, by grouped differences */
                ode.jac = NULL; o.jac_lower = p->jac_lower; o.jac_upper = p->jac_upper;
            }
            nde_solution sol;
            int rc = nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "[%s] %s: %s", nde_method_name(m), p->name, nde_solution_message(&sol));
            if (rc == NDE_OK) {
                double u = tol_units(p, sol.y, rtol, cases[c].atol);
                printf("  %-8s %-13s rtol %.0e atol %.0e: error %.3g x tolerance, %zu steps (%zu rejected), "
                       "nfe %zu, njac %zu, nlu %zu\n", nde_method_name(m), p->name, rtol, cases[c].atol, u,
                       sol.stats.accepted, sol.stats.rejected, sol.stats.nfe, sol.stats.njac, sol.stats.nlu);
                /* global error within 100 tolerances (local error control) */
                CHECK_MSG(u <= 100.0, "[%s] %s: error %.3g tolerances", nde_method_name(m), p->name, u);
            }
            nde_solution_free(&sol);
        }
    }
}

/* The banded paths: grouped differences cost jac_lower + jac_upper + 1 evaluations;
 * a user Jacobian with bandwidths, and a wider band than needed, give the same
 * solution to the differences' accuracy. */
static void test_banded_brusselator(void)
{
    const zoo_problem *p = zoo_find("bruss1d");
    CHECK(p != NULL);
    if (!p) return;
    static double y0[ZOO_MAX_DIM], ya[ZOO_MAX_DIM];
    zoo_y0(p, y0);
    const nde_method *m = nde_method_find("rodas4");
    nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 1e-6; o.atol = 1e-6; o.autonomous = 1;
    o.dt0 = 1e-4;   /* no initial-step evaluation: the counts below are exact */
    o.jac_lower = 2; o.jac_upper = 2;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol) == NDE_OK);
    size_t S = (size_t)nde_method_stages(m);
    CHECK_EQ_INT(sol.stats.nfe, sol.stats.steps * (S - 1) + sol.stats.accepted + 5 * sol.stats.njac);
    memcpy(ya, sol.y, p->dim * sizeof *ya);
    printf("  rodas4 bruss1d banded (2, 2) differences: %zu steps, nfe %zu, njac %zu; error %.2e\n",
           sol.stats.accepted, sol.stats.nfe, sol.stats.njac, tol_units(p, sol.y, 0.0, 1.0));
    nde_solution_free(&sol);
    /* the user's (full-array) Jacobian, band copied */
    ode.jac = p->jac;
    CHECK(nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol) == NDE_OK);
    double w = 0.0;
    for (size_t i = 0; i < p->dim; i++) w = fmax(w, fabs(sol.y[i] - ya[i]) / (1.0 + fabs(ya[i])));
    CHECK_MSG(w <= 1e-5, "user band Jacobian vs differences: %.3g", w);
    CHECK_EQ_INT(sol.stats.nfe, sol.stats.steps * (S - 1) + sol.stats.accepted);
    nde_solution_free(&sol);
    /* a wider band (3, 4): 8 evaluations per Jacobian, the same solution */
    ode.jac = NULL; o.jac_lower = 3; o.jac_upper = 4;
    CHECK(nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.stats.nfe, sol.stats.steps * (S - 1) + sol.stats.accepted + 8 * sol.stats.njac);
    w = 0.0;
    for (size_t i = 0; i < p->dim; i++) w = fmax(w, fabs(sol.y[i] - ya[i]) / (1.0 + fabs(ya[i])));
    CHECK_MSG(w <= 1e-5, "band (3, 4) vs (2, 2): %.3g", w);
    nde_solution_free(&sol);
    /* wider than the engine's own narrow-band LU (kl + ku > 8): LAPACK's dgbtrf/dgbtrs */
    o.jac_lower = 5; o.jac_upper = 4;
    CHECK(nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.stats.nfe, sol.stats.steps * (S - 1) + sol.stats.accepted + 10 * sol.stats.njac);
    w = 0.0;
    for (size_t i = 0; i < p->dim; i++) w = fmax(w, fabs(sol.y[i] - ya[i]) / (1.0 + fabs(ya[i])));
    CHECK_MSG(w <= 1e-5, "band (5, 4) vs (2, 2): %.3g", w);
    nde_solution_free(&sol);
    /* a mass matrix outside the band is refused */
    static double M[16];
    for (int i = 0; i < 4; i++) M[i * 4 + i] = 1.0;
    M[3] = 0.5;   /* (0, 3): three above the diagonal */
    nde_ode small = { .dim = 4, .f = rhs_minus_y4, .mass = M };
    nde_options ob = NDE_OPTIONS_INIT;
    ob.method = m; ob.jac_lower = 1; ob.jac_upper = 1;
    const double z0[4] = { 1, 1, 1, 1 };
    CHECK(nde_ode_solve(&small, 0.0, 1.0, z0, &ob, &sol) == NDE_EINVAL);
    CHECK_MSG(strstr(nde_solution_message(&sol), "outside the band") != NULL, "%s", nde_solution_message(&sol));
    nde_solution_free(&sol);
    /* inside the band (tridiagonal M) it solves, and matches the dense solve */
    M[3] = 0.0; M[1] = 0.5; M[4] = 0.5;
    CHECK(nde_ode_solve(&small, 0.0, 1.0, z0, &ob, &sol) == NDE_OK);
    nde_solution ref;
    ob.jac_lower = ob.jac_upper = 0;
    CHECK(nde_ode_solve(&small, 0.0, 1.0, z0, &ob, &ref) == NDE_OK);
    for (size_t i = 0; i < 4; i++) CHECK_NEAR(sol.y[i], ref.y[i], 1e-12);
    nde_solution_free(&sol);
    nde_solution_free(&ref);
}

int main(void)
{
    RUN(test_order_conditions);
    RUN(test_measured_order_nonlinear);
    RUN(test_prothero_robinson);
    RUN(test_linear_problem_adaptive);
    RUN(test_estimate_order);
    RUN(test_counts);
    RUN(test_rodas_step_control);
    RUN(test_work_matches_fortran_rodas);
    RUN(test_no_allocation_while_solving);
    RUN(test_gradients_unsupported);
    RUN(test_dae_robertson);
    RUN(test_dae_measured_order);
    RUN(test_dae_inconsistent_y0);
    RUN(test_dae_not_index1);
    RUN(test_mass_matrix_closed_form);
    RUN(test_bad_input);
    RUN(test_stiff_references);
    RUN(test_banded_brusselator);
    RUN(test_small_lu_row_interchange);
    return test_summary();
}
