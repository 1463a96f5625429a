/* Underdamped Langevin solvers (nde/langevin.h): ALIGN, ShOULD, QUICSORT.
 *
 * Oracles:
 * - strong order: on the quadratic potential (a linear SDE) each method's error at t = 1,
 *   mean over independent paths, against a reference on the same Brownian path at
 *   2^-12 steps by another method of order 3; the slope of log error against log h
 *   (least squares over the levels) must lie within [order - 0.25, order + 0.5];
 * - adaptive steps converge to the same path's reference as rtol falls (a rejected
 *   step's noise is the tree's, never resampled, or they would not);
 * - the stationary law on an anisotropic Gaussian target: over independent paths after
 *   burn-in, mean and variance of x and v against the exact N(0, 1/k) and N(0, u), with
 *   |z| < 4.5 for every statistic (two-sided p ~ 7e-6 each, 8 statistics per method);
 * - continuity of the coefficients where their evaluation switches from series to closed
 *   forms (gamma h = 1), bit-identical repeats, zero allocations per step, gradient counts;
 * - bad input: a clear status and message, the caller's state untouched;
 * - the ESS estimator on AR(1) chains, whose ESS n (1 - phi)/(1 + phi) is known. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/* ---- problems ----------------------------------------------------------------------- */

/* f = sum_i k_i x_i^2 / 2 */
typedef struct quad { size_t d; const double *k; int calls; int fail_after; } quad;

static int grad_quad(const double *x, double *g, void *user)
{
    quad *q = user;
    q->calls++;
    if (q->fail_after && q->calls > q->fail_after) return -7;
    for (size_t i = 0; i < q->d; i++) g[i] = q->k[i] * x[i];
    return 0;
}

/* Diffrax's harmonic oscillator (test_underdamped_langevin.py): grad f = 2x,
 * gamma = (2, 0.5), u = (0.5, 2); here from a non-zero start. */
static const double osc_k[2] = { 2.0, 2.0 };
static const double osc_gamma[2] = { 2.0, 0.5 };
static const double osc_u[2] = { 0.5, 2.0 };
static const double osc_xv0[4] = { 1.0, -0.5, 0.3, 0.2 };

static nde_langevin osc_problem(quad *q)
{
    q->d = 2; q->k = osc_k; q->calls = 0; q->fail_after = 0;
    nde_langevin p = { .dim = 2, .gamma_vec = osc_gamma, .u_vec = osc_u, .grad = grad_quad, .user = q };
    return p;
}

static int solve_const(const nde_langevin *p, const char *method, nde_brownian *bm, double T, double h,
                       const double *xv0, double *out, size_t *nfe)
{
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.rtol = 0.0;
    o.dt0 = h;
    nde_solution sol;
    int rc = nde_langevin_solve(p, 0.0, T, xv0, bm, &o, &sol);
    if (rc == 0) memcpy(out, sol.y + (sol.n - 1) * sol.dim, sol.dim * sizeof *out);
    if (nfe) *nfe = sol.stats.nfe;
    if (rc) fprintf(stderr, "solve failed: %s\n", nde_solution_message(&sol));
    nde_solution_free(&sol);
    return rc;
}

static double dist(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* Least-squares slope of y against x. */
static double slope(const double *x, const double *y, int n)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    for (int i = 0; i < n; i++) { sxx += (x[i] - mx) * (x[i] - mx); sxy += (x[i] - mx) * (y[i] - my); }
    return sxy / sxx;
}

#define REF_LEVEL 12
#define MAX_LEVELS 12

/* Mean strong error at t = 1 over `paths` paths for steps 2^-k, k = k0..k1, against the
 * method `ref` at 2^-REF_LEVEL on the same path; returns the fitted order. */
static double strong_order(const char *method, const char *ref, int k0, int k1, int paths, double *errs)
{
    quad q;
    nde_langevin p = osc_problem(&q);
    double e[MAX_LEVELS] = { 0 }, lx[MAX_LEVELS], ly[MAX_LEVELS];
    const int n = k1 - k0 + 1;
    for (int s = 0; s < paths; s++) {
        nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, ldexp(1.0, -(REF_LEVEL + 1)), 1000u + (uint64_t)s,
                                                    NDE_LEVY_SPACE_TIME_TIME);
        double yref[4], y[4];
        CHECK(bm && solve_const(&p, ref, bm, 1.0, ldexp(1.0, -REF_LEVEL), osc_xv0, yref, NULL) == 0);
        for (int k = k0; k <= k1; k++) {
            CHECK(solve_const(&p, method, bm, 1.0, ldexp(1.0, -k), osc_xv0, y, NULL) == 0);
            e[k - k0] += dist(y, yref, 4) / paths;
        }
        nde_brownian_free(bm);
    }
    for (int i = 0; i < n; i++) {
        lx[i] = -(double)(k0 + i);
        ly[i] = log2(e[i]);
        if (errs) errs[i] = e[i];
    }
    double order = slope(lx, ly, n);
    if (!test_listing()) {
        printf("%s (ref %s, %d paths): order %.3f; errors", method, ref, paths, order);
        for (int i = 0; i < n; i++) printf(" h=2^-%d:%.3e", k0 + i, e[i]);
        printf("\n");
    }
    return order;
}

static void check_order(const char *method, const char *ref, int nominal, int k0, int k1, int paths)
{
    double order = strong_order(method, ref, k0, k1, paths, NULL);
    CHECK_MSG(order > nominal - 0.25 && order < nominal + 0.5, "%s: measured strong order %.3f, nominal %d",
              method, order, nominal);
}

static void test_strong_order_align(void) { check_order("align", "quicsort", 2, 3, 7, 16); }
static void test_strong_order_should(void) { check_order("should", "quicsort", 3, 3, 7, 16); }
static void test_strong_order_quicsort(void) { check_order("quicsort", "should", 3, 3, 7, 16); }

/* ---- registry and basic properties -------------------------------------------------------- */

static void test_registry(void)
{
    const char *names[3] = { "align", "should", "quicsort" };
    const int orders[3] = { 2, 3, 3 }, levy[3] = { NDE_LEVY_SPACE_TIME, NDE_LEVY_SPACE_TIME_TIME,
                                                   NDE_LEVY_SPACE_TIME_TIME };
    for (int i = 0; i < 3; i++) {
        const nde_method *m = nde_method_find(names[i]);
        CHECK(m != NULL);
        if (!m) continue;
        CHECK_EQ_INT(nde_method_kind(m), NDE_METHOD_LANGEVIN);
        CHECK_EQ_INT(nde_method_order(m), orders[i]);
        CHECK(nde_method_embedded_order(m) > 0);
        CHECK_EQ_INT(nde_langevin_levy(m), levy[i]);
    }
    CHECK_EQ_INT(nde_langevin_levy(nde_method_find("tsit5")), -1);
    CHECK_EQ_INT(nde_langevin_levy(NULL), -1);
}

/* Gradients per constant-step solve of n steps: ALIGN n + 1 (FSAL), ShOULD 2n + 1,
 * QUICSORT 2n. */
static void test_gradient_counts(void)
{
    quad q;
    nde_langevin p = osc_problem(&q);
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, 1e-4, 5, NDE_LEVY_SPACE_TIME_TIME);
    const char *names[3] = { "align", "should", "quicsort" };
    const size_t expect[3] = { 65, 129, 128 };
    for (int i = 0; i < 3; i++) {
        double y[4];
        size_t nfe = 0;
        q.calls = 0;
        CHECK(solve_const(&p, names[i], bm, 1.0, 1.0 / 64, osc_xv0, y, &nfe) == 0);
        CHECK_EQ_INT(nfe, expect[i]);
        CHECK_EQ_INT(q.calls, expect[i]);
    }
    nde_brownian_free(bm);
}

/* The same solve twice (constant and adaptive): the same bits. */
static void test_repeat_bit_identical(void)
{
    quad q;
    nde_langevin p = osc_problem(&q);
    const char *names[3] = { "align", "should", "quicsort" };
    for (int i = 0; i < 3; i++)
        for (int adaptive = 0; adaptive < 2; adaptive++) {
            nde_solution s[2];
            for (int r = 0; r < 2; r++) {
                nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 4.0, 1e-5, 77, NDE_LEVY_SPACE_TIME_TIME);
                nde_options o = NDE_OPTIONS_INIT;
                o.method = nde_method_find(names[i]);
                o.save = NDE_SAVE_STEPS;
                if (adaptive) { o.rtol = 1e-3; o.atol = 1e-3; }
                else { o.rtol = 0.0; o.dt0 = 0.05; }
                CHECK(nde_langevin_solve(&p, 0.0, 4.0, osc_xv0, bm, &o, &s[r]) == 0);
                nde_brownian_free(bm);
            }
            CHECK_EQ_INT(s[0].n, s[1].n);
            CHECK(s[0].n == s[1].n && memcmp(s[0].y, s[1].y, s[0].n * 4 * sizeof(double)) == 0);
            CHECK(s[0].n == s[1].n && memcmp(s[0].t, s[1].t, s[0].n * sizeof(double)) == 0);
            if (adaptive) CHECK(s[0].stats.accepted > 10);
            nde_solution_free(&s[0]);
            nde_solution_free(&s[1]);
        }
}

/* The coefficients switch from power series to closed forms at gamma h = 1. One step at
 * gamma h = 1 - 1e-9 (series), 1 and 1 + 1e-9 (closed forms): the state is smooth in
 * gamma, so its second difference is rounding (measured ~1e-15) unless the two forms
 * disagree, which shows as a jump of their difference. */
static void test_coefficients_continuous(void)
{
    static const double k1[1] = { 1.5 };
    quad q = { .d = 1, .k = k1 };
    const char *names[3] = { "align", "should", "quicsort" };
    const double h = 0.25, xv0[2] = { 0.7, -0.4 };
    for (int i = 0; i < 3; i++) {
        double y[3][2];
        for (int side = 0; side < 3; side++) {
            nde_langevin p = { .dim = 1, .gamma = (1.0 + (side - 1) * 1e-9) / h, .u = 1.0, .grad = grad_quad,
                               .user = &q };
            nde_brownian *bm = nde_brownian_tree_create(1, 0.0, h, 1e-3, 3, NDE_LEVY_SPACE_TIME_TIME);
            CHECK(solve_const(&p, names[i], bm, h, h, xv0, y[side], NULL) == 0);
            nde_brownian_free(bm);
        }
        double d2 = fabs(y[2][0] - 2 * y[1][0] + y[0][0]) + fabs(y[2][1] - 2 * y[1][1] + y[0][1]);
        CHECK_MSG(d2 < 1e-12, "%s: second difference across gamma h = 1 is %.3g", names[i], d2);
        CHECK(dist(y[0], y[2], 2) < 1e-8);   /* and the step does depend on gamma smoothly */
    }
}

/* Adaptive steps on one path converge to that path's fine reference as rtol falls. */
static void test_adaptive_converges_on_path(void)
{
    quad q;
    nde_langevin p = osc_problem(&q);
    const char *names[3] = { "align", "should", "quicsort" };
    const double tols[3] = { 1e-2, 1e-3, 1e-4 };
    for (int i = 0; i < 3; i++) {
        double err[3] = { 0 };
        size_t rejected = 0;
        const int paths = 8;
        for (int s = 0; s < paths; s++) {
            nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, ldexp(1.0, -16), 500u + (uint64_t)s,
                                                        NDE_LEVY_SPACE_TIME_TIME);
            double yref[4];
            CHECK(solve_const(&p, "quicsort", bm, 1.0, ldexp(1.0, -REF_LEVEL), osc_xv0, yref, NULL) == 0);
            for (int t = 0; t < 3; t++) {
                nde_options o = NDE_OPTIONS_INIT;
                o.method = nde_method_find(names[i]);
                o.rtol = tols[t]; o.atol = tols[t];
                nde_solution sol;
                CHECK(nde_langevin_solve(&p, 0.0, 1.0, osc_xv0, bm, &o, &sol) == 0);
                err[t] += dist(sol.y, yref, 4) / paths;
                rejected += sol.stats.rejected;
                nde_solution_free(&sol);
            }
            nde_brownian_free(bm);
        }
        if (!test_listing())
            printf("%s adaptive: error %.3e %.3e %.3e at rtol 1e-2 1e-3 1e-4 (%zu rejections)\n", names[i], err[0],
                   err[1], err[2], rejected);
        CHECK_MSG(err[1] < 0.5 * err[0] && err[2] < 0.5 * err[1], "%s: errors %.3g %.3g %.3g do not fall", names[i],
                  err[0], err[1], err[2]);
        CHECK(err[2] < 1e-3);
        CHECK(rejected > 0);   /* the retries on the same path were exercised */
    }
}

/* Save times inside steps are the linear interpolant of the two step ends (constant
 * steps of 0.125, ts at the midpoints), and ts that are step ends are the states. */
static void test_ts_between_steps_linear(void)
{
    quad q;
    nde_langevin p = osc_problem(&q);
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, 1e-4, 21, NDE_LEVY_SPACE_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("align");
    o.rtol = 0.0; o.dt0 = 0.125;
    o.save = NDE_SAVE_STEPS | NDE_SAVE_T0;
    nde_solution steps, mids;
    CHECK(nde_langevin_solve(&p, 0.0, 1.0, osc_xv0, bm, &o, &steps) == 0);
    double ts[8];
    for (int k = 0; k < 8; k++) ts[k] = 0.125 * k + (k % 2 ? 0.0625 : 0.125);   /* midpoints and ends */
    o.save = 0; o.ts = ts; o.n_ts = 8;
    CHECK(nde_langevin_solve(&p, 0.0, 1.0, osc_xv0, bm, &o, &mids) == 0);
    CHECK_EQ_INT(steps.n, 9);
    CHECK_EQ_INT(mids.n, 8);
    for (int k = 0; k < 8 && steps.n == 9 && mids.n == 8; k++)
        for (int c = 0; c < 4; c++) {
            double want = k % 2 ? 0.5 * (steps.y[k * 4 + c] + steps.y[(k + 1) * 4 + c]) : steps.y[(k + 1) * 4 + c];
            CHECK_NEAR(mids.y[k * 4 + c], want, 1e-14);
        }
    nde_solution_free(&steps);
    nde_solution_free(&mids);
    nde_brownian_free(bm);
}

/* ---- the stationary law ----------------------------------------------------------------- */

/* Target f = sum k_i x_i^2/2 with k = (1, 4), u = (1, 0.5), gamma = 1.5: stationary
 * x_i ~ N(0, 1/k_i), v_i ~ N(0, u_i), independent. Final states of `paths` independent
 * trees at t = 30 (relaxation time ~ 1/gamma, 45 of them) from a far-away start. */
static void check_stationary(const char *method, double h)
{
    static const double k[2] = { 1.0, 4.0 }, u[2] = { 1.0, 0.5 };
    quad q = { .d = 2, .k = k };
    nde_langevin p = { .dim = 2, .gamma = 1.5, .u_vec = u, .grad = grad_quad, .user = &q };
    const int paths = 2000;
    const double T = 30.0, xv0[4] = { 3.0, -2.0, 1.0, 0.0 };
    double sum[4] = { 0 }, sum2[4] = { 0 };
    for (int s = 0; s < paths; s++) {
        nde_brownian *bm = nde_brownian_tree_create(2, 0.0, T, h / 2, 90000u + (uint64_t)s, NDE_LEVY_SPACE_TIME_TIME);
        double y[4];
        CHECK(solve_const(&p, method, bm, T, h, xv0, y, NULL) == 0);
        for (int c = 0; c < 4; c++) { sum[c] += y[c]; sum2[c] += y[c] * y[c]; }
        nde_brownian_free(bm);
    }
    const double var_true[4] = { 1.0 / k[0], 1.0 / k[1], u[0], u[1] };
    for (int c = 0; c < 4; c++) {
        double mean = sum[c] / paths, var = sum2[c] / paths - mean * mean;
        double z_mean = mean / sqrt(var_true[c] / paths);
        /* the sample variance of n normals has sd sigma^2 sqrt(2/(n - 1)) */
        double z_var = (var * paths / (paths - 1) - var_true[c]) / (var_true[c] * sqrt(2.0 / (paths - 1)));
        if (!test_listing())
            printf("%s h=%.2f component %d: mean %+.4f (z %+.2f), var %.4f vs %.4f (z %+.2f)\n", method, h, c, mean,
                   z_mean, var, var_true[c], z_var);
        CHECK_MSG(fabs(z_mean) < 4.5, "%s component %d: mean %.4g, z = %.2f", method, c, mean, z_mean);
        CHECK_MSG(fabs(z_var) < 4.5, "%s component %d: variance %.4g vs %.4g, z = %.2f", method, c, var,
                  var_true[c], z_var);
    }
}

static void test_stationary_align(void) { check_stationary("align", 0.25); }
static void test_stationary_should(void) { check_stationary("should", 0.25); }
static void test_stationary_quicsort(void) { check_stationary("quicsort", 0.25); }

/* ---- memory ------------------------------------------------------------------------------- */

/* Allocations of a solve do not grow with its number of steps. */
static void test_no_allocation_per_step(void)
{
    quad q;
    nde_langevin p = osc_problem(&q);
    const char *names[3] = { "align", "should", "quicsort" };
    for (int i = 0; i < 3; i++) {
        size_t calls[2];
        for (int r = 0; r < 2; r++) {
            test_alloc ta;
            test_alloc_init(&ta);
            nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 10.0, 1e-4, 9, NDE_LEVY_SPACE_TIME_TIME);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_method_find(names[i]);
            o.rtol = 0.0;
            o.dt0 = r ? 1e-3 : 1e-1;   /* 100 or 10^4 steps */
            o.allocator = &ta.a;
            nde_solution sol;
            CHECK(nde_langevin_solve(&p, 0.0, 10.0, osc_xv0, bm, &o, &sol) == 0);
            CHECK_EQ_INT(sol.stats.steps, r ? 10000 : 100);
            nde_solution_free(&sol);
            CHECK_EQ_INT(ta.live, 0);
            calls[r] = ta.calls;
            nde_brownian_free(bm);
        }
        CHECK_EQ_INT(calls[1], calls[0]);
    }
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void expect_fail(const nde_langevin *p, double t0, double t1, const double *xv0, nde_brownian *bm,
                        const nde_options *o, int status, const char *needle)
{
    nde_solution sol;
    int rc = nde_langevin_solve(p, t0, t1, xv0, bm, o, &sol);
    CHECK_EQ_INT(rc, status);
    CHECK_EQ_INT(sol.status, status);
    CHECK_MSG(strstr(nde_solution_message(&sol), needle) != NULL, "message \"%s\" lacks \"%s\"",
              nde_solution_message(&sol), needle);
    nde_solution_free(&sol);
}

static int any_event(double t, const double *y, double *g, void *user)
{
    (void)t; (void)user;
    g[0] = y[0];
    return 0;
}

static void test_bad_input(void)
{
    quad q;
    nde_langevin good = osc_problem(&q), p;
    double xv0[4], keep[4];
    memcpy(xv0, osc_xv0, sizeof xv0);
    memcpy(keep, xv0, sizeof keep);
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, 1e-3, 1, NDE_LEVY_SPACE_TIME_TIME);
    nde_brownian *bm_h = nde_brownian_tree_create(2, 0.0, 1.0, 1e-3, 1, NDE_LEVY_SPACE_TIME);
    nde_brownian *bm_3 = nde_brownian_tree_create(3, 0.0, 1.0, 1e-3, 1, NDE_LEVY_SPACE_TIME_TIME);
    nde_brownian *bm_short = nde_brownian_tree_create(2, 0.0, 0.5, 1e-3, 1, NDE_LEVY_SPACE_TIME_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("quicsort");
    o.rtol = 0.0; o.dt0 = 0.1;

    expect_fail(NULL, 0, 1, xv0, bm, &o, NDE_EINVAL, "NULL");
    p = good; p.dim = 0;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_EINVAL, "dim must be > 0");
    p = good; p.grad = NULL;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_EINVAL, "grad");
    static const double bad_gamma[2] = { 1.0, -1.0 }, bad_u[2] = { 1.0, NAN };
    p = good; p.gamma_vec = bad_gamma;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_EINVAL, "gamma_vec[1]");
    p = good; p.u_vec = bad_u;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_EINVAL, "u_vec[1]");
    p = good; p.gamma_vec = NULL; p.gamma = 0.0;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_EINVAL, "gamma must be");
    p = good; p.u_vec = NULL; p.u = INFINITY;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_EINVAL, "u must be");
    expect_fail(&good, 0, 1, NULL, bm, &o, NDE_EINVAL, "xv0");
    expect_fail(&good, 0, 1, xv0, NULL, &o, NDE_EINVAL, "bm");
    expect_fail(&good, 0, 1, xv0, bm_3, &o, NDE_EINVAL, "dimension 3");
    expect_fail(&good, 0, 1, xv0, bm_short, &o, NDE_EINVAL, "does not contain");
    expect_fail(&good, 1, 0, xv0, bm, &o, NDE_EINVAL, "t1 must be > t0");
    expect_fail(&good, 0, NAN, xv0, bm, &o, NDE_EINVAL, "finite");
    expect_fail(&good, 0, 1, xv0, bm_h, &o, NDE_EUNSUPPORTED, "space-time-time");
    nde_options o2 = o;
    o2.method = nde_method_find("align");
    nde_solution sol;
    CHECK(nde_langevin_solve(&good, 0, 1, xv0, bm_h, &o2, &sol) == 0);   /* ALIGN needs H only */
    nde_solution_free(&sol);
    o2.method = nde_method_find("tsit5");
    expect_fail(&good, 0, 1, xv0, bm, &o2, NDE_EUNSUPPORTED, "tsit5");
    o2 = o; o2.rtol = -1.0;
    expect_fail(&good, 0, 1, xv0, bm, &o2, NDE_EINVAL, "rtol");
    o2 = o; o2.dt0 = 0.0;
    expect_fail(&good, 0, 1, xv0, bm, &o2, NDE_EINVAL, "dt0");
    o2 = o; o2.event = any_event; o2.n_events = 1;
    expect_fail(&good, 0, 1, xv0, bm, &o2, NDE_EUNSUPPORTED, "events");
    double xv_nan[4] = { 0, NAN, 0, 0 };
    expect_fail(&good, 0, 1, xv_nan, bm, &o, NDE_EINVAL, "");
    /* the gradient stopping the solve */
    p = good; q.calls = 0; q.fail_after = 5;
    expect_fail(&p, 0, 1, xv0, bm, &o, NDE_ECALLBACK, "returned -7");
    q.fail_after = 0;
    CHECK_EQ_INT(nde_langevin_solve(&good, 0, 1, xv0, bm, &o, NULL), NDE_EINVAL);
    CHECK(memcmp(xv0, keep, sizeof keep) == 0);
    nde_brownian_free(bm);
    nde_brownian_free(bm_h);
    nde_brownian_free(bm_3);
    nde_brownian_free(bm_short);
}

/* ---- the ESS estimator ------------------------------------------------------------------------ */

/* AR(1) x_k = phi x_{k-1} + sqrt(1 - phi^2) z_k, stationary start: ESS = n (1-phi)/(1+phi). */
static void test_ess_ar1(void)
{
    const size_t n = 200000;
    double *x = malloc(n * sizeof *x), *z = malloc(n * sizeof *z);
    CHECK(x && z);
    if (!x || !z) { free(x); free(z); return; }
    const double phis[4] = { 0.0, 0.5, 0.9, -0.5 };
    for (int i = 0; i < 4; i++) {
        const double phi = phis[i];
        nde_normal_fill(2024u + (uint64_t)i, NDE_STREAM_USER_FIRST, n, z);
        x[0] = z[0];
        for (size_t k = 1; k < n; k++) x[k] = phi * x[k - 1] + sqrt(1.0 - phi * phi) * z[k];
        double ess = 0.0;
        CHECK(nde_ess(x, n, 1, &ess) == 0);
        const double exact = (double)n * (1.0 - phi) / (1.0 + phi);
        if (!test_listing()) printf("AR(1) phi=%+.1f: ESS %.0f, exact %.0f (ratio %.3f)\n", phi, ess, exact, ess / exact);
        /* the estimate's relative sd is ~ sqrt(2 (2L + 1)/n) for L lags summed: below
         * 3% here; 10% is > 3 sd */
        CHECK_MSG(fabs(ess / exact - 1.0) < 0.10, "phi = %g: ESS %.1f vs %.1f", phi, ess, exact);
    }
    /* stride: the same chain interleaved with another */
    double ess1 = 0, ess2 = 0;
    CHECK(nde_ess(x, n / 2, 2, &ess1) == 0);
    for (size_t k = 0; k < n / 2; k++) z[k] = x[2 * k];
    CHECK(nde_ess(z, n / 2, 1, &ess2) == 0);
    CHECK(ess1 == ess2);
    CHECK_EQ_INT(nde_ess(NULL, n, 1, &ess1), NDE_EINVAL);
    CHECK_EQ_INT(nde_ess(x, 3, 1, &ess1), NDE_EINVAL);
    CHECK_EQ_INT(nde_ess(x, n, 0, &ess1), NDE_EINVAL);
    for (size_t k = 0; k < 10; k++) z[k] = 1.0;
    CHECK_EQ_INT(nde_ess(z, 10, 1, &ess1), NDE_EINVAL);
    /* constant, with a mean that rounds to another value (found by fuzz_brownian) */
    for (size_t k = 0; k < 7; k++) z[k] = 3181453007.0227604;
    ess1 = -1.0;
    CHECK_EQ_INT(nde_ess(z, 7, 1, &ess1), NDE_EINVAL);
    CHECK(ess1 == -1.0);
    free(x);
    free(z);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_gradient_counts);
    RUN(test_repeat_bit_identical);
    RUN(test_coefficients_continuous);
    RUN(test_strong_order_align);
    RUN(test_strong_order_should);
    RUN(test_strong_order_quicsort);
    RUN(test_adaptive_converges_on_path);
    RUN(test_ts_between_steps_linear);
    RUN(test_stationary_align);
    RUN(test_stationary_should);
    RUN(test_stationary_quicsort);
    RUN(test_no_allocation_per_step);
    RUN(test_bad_input);
    RUN(test_ess_ar1);
    return test_summary();
}
