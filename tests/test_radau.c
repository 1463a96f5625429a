/* radau5 (src/implicit/radau5.c): Radau IIA of order 5 as Hairer & Wanner's RADAU5.
 * Oracles: the collocation conditions of the coefficients; closed-form solutions and
 * measured convergence orders (linear, Prothero-Robinson, dense output); a mass-matrix
 * problem with a closed form; Robertson as an index-1 DAE against the ODE form; stiff
 * problems against published or explicitly computed references; the step counts
 * against the Fortran RADAU5's; every failure mode a status, never a hang. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "implicit/internal.h"
#include "testlib.h"
#include "zoo.h"

static const nde_method *radau(void) { return nde_method_find("radau5"); }

/* ---- problems ----------------------------------------------------------------------- */

/* y' = L y, L = [[-1, 2], [-2, -1]]: y(t) = e^-t (cos 2t y0 + sin 2t (y1, -y0)). */
static int linear_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0] + 2.0 * y[1];
    dy[1] = -2.0 * y[0] - y[1];
    return 0;
}
static void linear_exact(double t, double *y)
{
    y[0] = exp(-t) * cos(2.0 * t);
    y[1] = -exp(-t) * sin(2.0 * t);
}

/* Prothero-Robinson: y' = lambda (y - sin t) + cos t, y(0) = 0: y = sin t. */
static int pr_rhs(double t, const double *y, double *dy, void *u)
{
    double lambda = *(const double *)u;
    dy[0] = lambda * (y[0] - sin(t)) + cos(t);
    return 0;
}

/* Robertson, Van der Pol (mu = 1e3) and HIRES are the zoo's ("robertson", "vdp1000",
 * "hires", and "robertson_dae" with M = diag(1, 1, 0)): test_zoo_ode. */
/* Test Set for IVP Solvers (Mazzia & Magherini, release 2.4), problem ROBER, y(1e11). */
static const double rober_ref_1e11[3] = { 0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050 };

static const double hires_y0[8] = { 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057 };
/* Test Set for IVP Solvers, problem HIRES, y(321.8122). */
static const double hires_ref[8] = { 0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4,
                                     0.1175651343283149e-2, 0.2386356198831331e-2, 0.6238968252742796e-2,
                                     0.2849998395185769e-2, 0.2850001604814231e-2 };

/* max_i |y_i - ref_i| / (|ref_i| + floor) */
static double mixed_error(size_t n, const double *y, const double *ref, double floor)
{
    double e = 0.0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs(y[i] - ref[i]) / (fabs(ref[i]) + floor));
    return e;
}

/* y(t1) of a solve, or NAN on failure; stats into *st when given. */
static double solve_to(const nde_ode *ode, const nde_method *m, double t0, double t1, const double *y0,
                       double rtol, double atol, double dt0, double *y, nde_stats *st)
{
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = rtol; o.atol = atol; o.dt0 = dt0; o.max_steps = 2000000;
    nde_solution sol;
    int rc = nde_ode_solve(ode, t0, t1, y0, &o, &sol);
    CHECK_MSG(rc == NDE_OK, "%s: %s (%s)", nde_method_name(m), nde_status_str(rc), nde_solution_message(&sol));
    if (rc == NDE_OK) memcpy(y, sol.y + (sol.n - 1) * ode->dim, ode->dim * sizeof *y);
    if (st) *st = sol.stats;
    nde_solution_free(&sol);
    return rc == NDE_OK ? 0.0 : NAN;
}

/* ---- the coefficients --------------------------------------------------------------- */

static void test_coefficients_collocation_conditions(void)
{
    const nde_method *m = radau();
    CHECK(m != NULL);
    if (!m) return;
    CHECK_EQ_INT(nde_method_kind(m), NDE_METHOD_IMPLICIT_RK);
    CHECK_EQ_INT(nde_method_order(m), 5);
    CHECK_EQ_INT(nde_method_embedded_order(m), 3);
    const nde__radau5_tableau *tb = m->tableau;
    const double *c = tb->c, *a = tb->a, *b = tb->a + 6;   /* stiffly accurate: b = A's last row */
    const double tol = 4e-15;
    /* B(5): sum b_i c_i^(k-1) = 1/k */
    for (int k = 1; k <= 5; k++) {
        double s = 0.0;
        for (int i = 0; i < 3; i++) s += b[i] * pow(c[i], k - 1);
        CHECK_NEAR(s, 1.0 / k, tol);
    }
    /* B(6) fails: the order is exactly 5 */
    { double s = 0.0; for (int i = 0; i < 3; i++) s += b[i] * pow(c[i], 5); CHECK(fabs(s - 1.0 / 6.0) > 1e-4); }
    /* C(3): sum_j a_ij c_j^(k-1) = c_i^k / k */
    for (int i = 0; i < 3; i++)
        for (int k = 1; k <= 3; k++) {
            double s = 0.0;
            for (int j = 0; j < 3; j++) s += a[3 * i + j] * pow(c[j], k - 1);
            CHECK_NEAR(s, pow(c[i], k) / k, tol);
        }
    /* D(2): sum_i b_i c_i^(k-1) a_ij = b_j (1 - c_j^k) / k */
    for (int j = 0; j < 3; j++)
        for (int k = 1; k <= 2; k++) {
            double s = 0.0;
            for (int i = 0; i < 3; i++) s += b[i] * pow(c[i], k - 1) * a[3 * i + j];
            CHECK_NEAR(s, b[j] * (1.0 - pow(c[j], k)) / k, tol);
        }
    /* nodes: zeros of d^2/dx^2 (x^2 (x - 1)^3) = 10 x^3 - 24 x^2 + 18 x - 4 ... i.e.
     * Radau right: c3 = 1 and c1, c2 the roots of 10 x^2 - 8 x + 1 */
    CHECK(c[2] == 1.0);
    for (int i = 0; i < 2; i++) CHECK_NEAR(10.0 * c[i] * c[i] - 8.0 * c[i] + 1.0, 0.0, tol);
    /* T^-1 T = I, and A^-1 T = T Lambda, i.e. T = A T Lambda */
    const double L[9] = { tb->gamma, 0, 0, 0, tb->alpha, -tb->beta, 0, tb->beta, tb->alpha };
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double id = 0.0, atl = 0.0;
            for (int k = 0; k < 3; k++) id += tb->Ti[3 * i + k] * tb->T[3 * k + j];
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++) atl += a[3 * i + k] * tb->T[3 * k + l] * L[3 * l + j];
            CHECK_NEAR(id, i == j ? 1.0 : 0.0, 1e-14);
            CHECK_NEAR(atl, tb->T[3 * i + j], 1e-14);
        }
    /* RADAU5's scaling (the stepper forms z3 = T31 w1 + w2): the real eigenvector has unit
     * length, the complex one last entries (1, 0); T31 as radau5.f's 0.96604818261509293619 */
    CHECK(tb->T[7] == 1.0 && tb->T[8] == 0.0);
    CHECK_NEAR(tb->T[0] * tb->T[0] + tb->T[3] * tb->T[3] + tb->T[6] * tb->T[6], 1.0, 1e-15);
    CHECK_NEAR(tb->T[6], 0.96604818261509293619, 1e-16);
    /* the embedded solution: y1 - yhat1 = h (gamma0 f0 + sum_j (e^T A)_j f_j), e = gamma0 dd,
     * so yhat has weights bhat = (-gamma0, b - e^T A) on the nodes (0, c): order 3 exactly */
    const double g0 = 1.0 / tb->gamma;
    double bhat[4] = { -g0, 0, 0, 0 }, cc[4] = { 0.0, c[0], c[1], c[2] };
    for (int j = 0; j < 3; j++) {
        double ea = 0.0;
        for (int i = 0; i < 3; i++) ea += g0 * tb->dd[i] * a[3 * i + j];
        bhat[j + 1] = b[j] - ea;
    }
    for (int k = 0; k <= 3; k++) {
        double s = 0.0;
        for (int j = 0; j < 4; j++) s += bhat[j] * pow(cc[j], k);
        if (k < 3) CHECK_NEAR(s, 1.0 / (k + 1), 1e-14);
        else CHECK(fabs(s - 0.25) > 1e-3);
    }
    /* dense output: the cubic q(theta) = sum_k theta^(k+1) sum_i dense[3k+i] z_i
     * interpolates q(c_m) = z_m */
    for (int mm = 0; mm < 3; mm++)
        for (int i = 0; i < 3; i++) {
            double q = 0.0;
            for (int k = 0; k < 3; k++) q += pow(c[mm], k + 1) * tb->dense[3 * k + i];
            CHECK_NEAR(q, mm == i ? 1.0 : 0.0, 1e-13);
        }
}

/* ---- convergence orders --------------------------------------------------------------- */

/* log2 ratios of successive errors at halved constant steps; the smallest of the last two */
static double measured_order(const double *err, int n)
{
    double lo = INFINITY;
    for (int i = n - 2; i < n - 1; i++) lo = fmin(lo, log2(err[i] / err[i + 1]));
    lo = fmin(lo, log2(err[n - 3] / err[n - 2]));
    return lo;
}

static void test_order_linear_is_5(void)
{
    nde_ode ode = { .dim = 2, .f = linear_rhs };
    const double y0[2] = { 1.0, 0.0 };
    double err[5], ex[2], y[2];
    linear_exact(2.0, ex);
    for (int k = 0; k < 5; k++) {
        int N = 4 << k;
        solve_to(&ode, radau(), 0.0, 2.0, y0, 0.0, 0.0, 2.0 / N, y, NULL);
        err[k] = fmax(fabs(y[0] - ex[0]), fabs(y[1] - ex[1]));
    }
    double p = measured_order(err, 5);
    printf("radau5 linear: errors %.2e .. %.2e, order %.2f\n", err[0], err[4], p);
    CHECK_MSG(p > 4.7 && p < 5.5, "order %.3f", p);
}

/* Prothero-Robinson: with h |lambda| >> 1 the error is governed by the stage order
 * q = 3 instead of the order 5: measured here, the error behaves like C h^3 / |lambda|
 * (the eps h^q term, eps = 1/|lambda|, of HNW II VI.3 for the algebraic component of
 * a singular perturbation problem), and like h^5 when h |lambda| << 1. */
static void test_order_prothero_robinson_reduction(void)
{
    double lambda = -1e6;
    nde_ode ode = { .dim = 1, .f = pr_rhs, .user = &lambda };
    const double y0[1] = { 0.0 };
    double err[5], y[1];
    for (int k = 0; k < 5; k++) {
        int N = 4 << k;
        solve_to(&ode, radau(), 0.0, 2.0, y0, 0.0, 0.0, 2.0 / N, y, NULL);
        err[k] = fabs(y[0] - sin(2.0));
    }
    double p = measured_order(err, 5);
    printf("radau5 Prothero-Robinson lambda = -1e6: errors %.2e .. %.2e, order %.2f (classical 5)\n", err[0],
           err[4], p);
    CHECK_MSG(p > 2.7 && p < 3.4, "stiff order %.3f", p);
    CHECK(err[0] < 1e-6 * 1e-2);   /* and small: the 1/|lambda| factor */
    lambda = -1.0;   /* non-stiff: the classical order */
    for (int k = 0; k < 5; k++) {
        int N = 4 << k;
        solve_to(&ode, radau(), 0.0, 2.0, y0, 0.0, 0.0, 2.0 / N, y, NULL);
        err[k] = fabs(y[0] - sin(2.0));
    }
    p = measured_order(err, 5);
    printf("radau5 Prothero-Robinson lambda = -1: order %.2f\n", p);
    CHECK_MSG(p > 4.7, "non-stiff order %.3f", p);
}

/* The collocation polynomial: between the step ends an O(h^4) approximation
 * (degree 3, stage order 3), exact at the ends. */
static void test_dense_output_order_4(void)
{
    nde_ode ode = { .dim = 2, .f = linear_rhs };
    const double y0[2] = { 1.0, 0.0 };
    double err[4];
    for (int k = 0; k < 4; k++) {
        int N = 8 << k;
        nde_options o = NDE_OPTIONS_INIT;
        o.method = radau(); o.rtol = 0.0; o.dt0 = 2.0 / N; o.save = NDE_SAVE_DENSE | NDE_SAVE_STEPS;
        nde_solution sol;
        CHECK(nde_ode_solve(&ode, 0.0, 2.0, y0, &o, &sol) == NDE_OK);
        double e = 0.0, y[2], ex[2];
        for (int i = 0; i <= 997; i++) {
            double t = 2.0 * i / 997.0;
            CHECK(nde_solution_eval(&sol, t, y) == NDE_OK);
            linear_exact(t, ex);
            e = fmax(e, fmax(fabs(y[0] - ex[0]), fabs(y[1] - ex[1])));
        }
        /* at the saved step ends the interpolant is the solution itself */
        for (size_t i = 0; i < sol.n; i++) {
            CHECK(nde_solution_eval(&sol, sol.t[i], y) == NDE_OK);
            CHECK_NEAR(y[0], sol.y[2 * i], 1e-15);
            CHECK_NEAR(y[1], sol.y[2 * i + 1], 1e-15);
        }
        err[k] = e;
        nde_solution_free(&sol);
    }
    double p = log2(err[2] / err[3]);
    printf("radau5 dense output: errors %.2e .. %.2e, order %.2f\n", err[0], err[3], p);
    CHECK_MSG(p > 3.6 && p < 4.6, "dense order %.3f", p);
}

/* ---- the loop's features -------------------------------------------------------------- */

static void test_adaptive_reverse_time_and_tolerance(void)
{
    nde_ode ode = { .dim = 2, .f = linear_rhs };
    double y0[2], y[2], ex[2];
    for (int dir = 0; dir < 2; dir++)
        for (double rtol = 1e-4; rtol >= 1e-10; rtol *= 1e-3) {
            double t0 = dir ? 3.0 : 0.0, t1 = dir ? 0.0 : 3.0;
            linear_exact(t0, y0);
            nde_stats st;
            solve_to(&ode, radau(), t0, t1, y0, rtol, rtol, 0.0, y, &st);
            linear_exact(t1, ex);
            double scale = dir ? exp(3.0) : 1.0;   /* backwards the solution grows by e^3 */
            double e = fmax(fabs(y[0] - ex[0]), fabs(y[1] - ex[1])) / scale;
            CHECK_MSG(e < 20.0 * rtol, "dir %d rtol %g: error %g", dir, rtol, e);
            CHECK(st.njac >= 1 && st.nlu >= 1 && st.nnewton >= st.accepted);
        }
}

static int event_half(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = y[0] - 0.5;
    return 0;
}

/* y' = -y crosses 1/2 at t = ln 2; found on the collocation polynomial. */
static int decay_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0];
    return 0;
}

static void test_event_on_collocation_polynomial(void)
{
    nde_ode ode = { .dim = 1, .f = decay_rhs };
    const double y0[1] = { 1.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = radau(); o.rtol = 1e-10; o.atol = 1e-12;
    o.event = event_half; o.n_events = 1;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, 5.0, y0, &o, &sol);
    CHECK_EQ_INT(rc, NDE_EVENT);
    CHECK_EQ_INT(sol.n_event_hits, 1);
    if (sol.n_event_hits == 1) {
        CHECK_NEAR(sol.event_t[0], log(2.0), 1e-8);
        CHECK_NEAR(sol.event_y[0], 0.5, 1e-9);
    }
    nde_solution_free(&sol);
    /* backwards from t = 2 along y = e^-t, which rises through 1/2 at t = ln 2 */
    double yb[1] = { exp(-2.0) };
    o.event_direction = (const int[]){ 0 };
    rc = nde_ode_solve(&ode, 2.0, 0.0, yb, &o, &sol);
    CHECK_EQ_INT(rc, NDE_EVENT);
    if (sol.n_event_hits == 1) CHECK_NEAR(sol.event_t[0], log(2.0), 1e-8);
    nde_solution_free(&sol);
}

/* M y' = M L y with a full, non-symmetric M: y' = L y, the closed form above. */
static int mass_rhs(double t, const double *y, double *dy, void *u)
{
    const double *M = u;
    double ly[2];
    linear_rhs(t, y, ly, NULL);
    dy[0] = M[0] * ly[0] + M[1] * ly[1];
    dy[1] = M[2] * ly[0] + M[3] * ly[1];
    return 0;
}

static void test_mass_matrix_closed_form(void)
{
    static const double M[4] = { 2.0, 1.0, -0.5, 3.0 };
    nde_ode ode = { .dim = 2, .f = mass_rhs, .user = (void *)M, .mass = M };
    const double y0[2] = { 1.0, 0.0 };
    double y[2], ex[2];
    linear_exact(2.0, ex);
    for (int dir = 0; dir < 2; dir++) {
        double yy0[2], t0 = dir ? 2.0 : 0.0, t1 = dir ? 0.0 : 2.0;
        if (dir) memcpy(yy0, ex, sizeof yy0); else memcpy(yy0, y0, sizeof yy0);
        solve_to(&ode, radau(), t0, t1, yy0, 1e-9, 1e-12, 0.0, y, NULL);
        const double *want = dir ? y0 : ex;
        double e = fmax(fabs(y[0] - want[0]), fabs(y[1] - want[1]));
        CHECK_MSG(e < (dir ? 1e-7 : 1e-8), "dir %d: error %g", dir, e);
    }
    /* the explicit methods refuse a mass matrix */
    nde_options o = NDE_OPTIONS_INIT;
    nde_solution sol;
    CHECK_EQ_INT(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol), NDE_EUNSUPPORTED);
    nde_solution_free(&sol);
}

/* Robertson as an index-1 DAE (M = diag(1, 1, 0)) against the ODE form, both at tight
 * tolerance, at t = 40 (HNW's classic plot range), 1e5 and 1e11. */
static void test_robertson_dae_matches_ode(void)
{
    nde_ode dae = test_zoo_ode("robertson_dae");   /* M = diag(1, 1, 0) */
    dae.jac = NULL;
    nde_ode ode = test_zoo_ode("robertson");
    const double y0[3] = { 1.0, 0.0, 0.0 };
    const double t1s[3] = { 40.0, 1e5, 1e11 };
    for (int k = 0; k < 3; k++) {
        double yd[3], yo[3];
        nde_stats sd;
        solve_to(&dae, radau(), 0.0, t1s[k], y0, 1e-10, 1e-16, 0.0, yd, &sd);
        solve_to(&ode, radau(), 0.0, t1s[k], y0, 1e-11, 1e-17, 0.0, yo, NULL);
        double e = 0.0;
        for (int i = 0; i < 3; i++) e = fmax(e, fabs(yd[i] - yo[i]) / fabs(yo[i]));
        printf("radau5 Robertson DAE vs ODE at t = %g: max relative difference %.2e (%zu steps)\n", t1s[k], e,
               sd.accepted);
        CHECK_MSG(e < 1e-6, "t = %g: %g", t1s[k], e);
        CHECK_NEAR(yd[0] + yd[1] + yd[2], 1.0, 1e-14);
    }
}

/* ---- stiff problems against references ------------------------------------------------ */

/* Robertson at t = 1e11 against the Test Set's reference, over tolerances; the error
 * follows the tolerance. */
static void test_robertson_against_test_set(void)
{
    nde_ode ode = test_zoo_ode("robertson");
    const double y0[3] = { 1.0, 0.0, 0.0 };
    for (double rtol = 1e-4; rtol >= 1e-10; rtol *= 1e-3) {
        double y[3];
        nde_stats st;
        solve_to(&ode, radau(), 0.0, 1e11, y0, rtol, 1e-6 * rtol, 0.0, y, &st);
        double e = mixed_error(3, y, rober_ref_1e11, 0.0);
        printf("radau5 Robertson 1e11 rtol %g atol %g: relative error %.2e, %zu steps, %zu jac, %zu lu\n", rtol,
               1e-6 * rtol, e, st.steps, st.njac, st.nlu);
        CHECK_MSG(e < 100.0 * rtol, "rtol %g: error %g", rtol, e);
    }
}

/* HIRES: radau5 at rtol 1e-12 against two independent references (the Test Set's and
 * dopri8 at rtol 1e-12), then the tolerance sweep. */
static void test_hires_against_test_set_and_dopri8(void)
{
    nde_ode ode = test_zoo_ode("hires");
    ode.jac = NULL;
    double yr[8], ye[8];
    solve_to(&ode, radau(), 0.0, 321.8122, hires_y0, 1e-12, 1e-14, 0.0, yr, NULL);
    solve_to(&ode, nde_method_find("dopri8"), 0.0, 321.8122, hires_y0, 1e-12, 1e-16, 0.0, ye, NULL);
    double e_ts = mixed_error(8, yr, hires_ref, 0.0), e_dp = mixed_error(8, ye, hires_ref, 0.0);
    printf("HIRES relative errors against the Test Set: radau5 %.2e, dopri8 %.2e\n", e_ts, e_dp);
    CHECK(e_ts < 1e-8);
    CHECK(e_dp < 1e-8);
    for (double rtol = 1e-4; rtol >= 1e-10; rtol *= 1e-3) {
        double y[8];
        nde_stats st;
        solve_to(&ode, radau(), 0.0, 321.8122, hires_y0, rtol, rtol * 1e-4, 0.0, y, &st);
        double e = mixed_error(8, y, hires_ref, 0.0);
        printf("radau5 HIRES rtol %g: relative error %.2e, %zu steps, %zu jac, %zu lu\n", rtol, e, st.steps,
               st.njac, st.nlu);
        CHECK_MSG(e < 100.0 * rtol, "rtol %g: error %g", rtol, e);
    }
}

/* Van der Pol mu = 1e3 to t = 3000: radau5 at rtol 1e-12 against dopri8 at rtol 1e-12
 * (explicit: held to its stability bound by the stiffness, millions of steps, but an
 * independent method), then the tolerance sweep against that reference. */
static void test_vdp_against_dopri8(void)
{
    nde_ode ode = test_zoo_ode("vdp1000");
    const double y0[2] = { 2.0, 0.0 };
    double yr[2], ye[2];
    solve_to(&ode, radau(), 0.0, 3000.0, y0, 1e-12, 1e-12, 0.0, yr, NULL);
    solve_to(&ode, nde_method_find("dopri8"), 0.0, 3000.0, y0, 1e-12, 1e-12, 0.0, ye, NULL);
    double d = mixed_error(2, yr, ye, 1.0);
    printf("VdP mu = 1e3: radau5 (%.15g, %.15g), dopri8 (%.15g, %.15g), difference %.2e\n", yr[0], yr[1], ye[0],
           ye[1], d);
    CHECK(d < 1e-8);
    for (double rtol = 1e-4; rtol >= 1e-10; rtol *= 1e-3) {
        double y[2];
        nde_stats st;
        solve_to(&ode, radau(), 0.0, 3000.0, y0, rtol, rtol, 0.0, y, &st);
        double e = mixed_error(2, y, ye, 1.0);
        printf("radau5 VdP rtol %g: error %.2e, %zu steps, %zu jac, %zu lu\n", rtol, e, st.steps, st.njac, st.nlu);
        CHECK_MSG(e < 100.0 * rtol, "rtol %g: error %g", rtol, e);
    }
}

/* ---- work against the Fortran RADAU5 ---------------------------------------------------- */

/* Hairer's RADAU5 (radau5.f as in github.com/cpmech/hwode with decsol.f, gfortran -O2,
 * same right-hand sides and Jacobians, initial step H = 1e-6, default parameters), run
 * on this machine for this test; its IWORK(16) steps, IWORK(15) Jacobians and IWORK(19)
 * decompositions. radau5 follows the same algorithm, so with the same first step it
 * takes the same work up to rounding: within 3% (+2). */
typedef struct fortran_run {
    const char *problem;
    double rtol, atol;
    size_t steps, njac, ndec;
} fortran_run;

static const fortran_run fortran_runs[] = {
    { "robertson", 1e-4, 1e-10, 138, 128, 138 },
    { "robertson", 1e-7, 1e-13, 373, 351, 364 },
    { "robertson", 1e-10, 1e-16, 1143, 481, 525 },
    { "robertson", 1e-10, 1e-10, 325, 307, 312 },
    { "vdp", 1e-4, 1e-4, 334, 210, 316 },
    { "vdp", 1e-7, 1e-7, 745, 498, 628 },
    { "vdp", 1e-10, 1e-10, 2295, 633, 1735 },
    { "hires", 1e-4, 1e-4, 42, 21, 41 },
    { "hires", 1e-7, 1e-7, 74, 30, 53 },
    { "hires", 1e-10, 1e-10, 196, 62, 96 },
};

static int close_to(size_t ours, size_t theirs)
{
    double d = fabs((double)ours - (double)theirs);
    return d <= 0.03 * (double)theirs + 2.0;
}

static void test_work_matches_fortran_radau5(void)
{
    for (size_t k = 0; k < sizeof fortran_runs / sizeof fortran_runs[0]; k++) {
        const fortran_run *fr = &fortran_runs[k];
        static const double rober_y0[3] = { 1.0, 0.0, 0.0 }, vdp_y0[2] = { 2.0, 0.0 };
        nde_ode ode;
        const double *y0;
        double t1;
        if (!strcmp(fr->problem, "robertson")) {
            ode = test_zoo_ode("robertson");
            y0 = rober_y0; t1 = 1e11;
        } else if (!strcmp(fr->problem, "vdp")) {
            ode = test_zoo_ode("vdp1000");
            y0 = vdp_y0; t1 = 3000.0;
        } else {
            ode = test_zoo_ode("hires");
            ode.jac = NULL;   /* differences: RADAU5 had the exact J */
            y0 = hires_y0; t1 = 321.8122;
        }
        double y[8];
        nde_stats st;
        solve_to(&ode, radau(), 0.0, t1, y0, fr->rtol, fr->atol, 1e-6, y, &st);
        printf("radau5 %-9s rtol %.0e atol %.0e: steps %zu (RADAU5 %zu), jac %zu (%zu), lu %zu (%zu)\n", fr->problem,
               fr->rtol, fr->atol, st.steps, fr->steps, st.njac, fr->njac, st.nlu, fr->ndec);
        CHECK_MSG(close_to(st.steps, fr->steps), "%s rtol %g: %zu steps, RADAU5 %zu", fr->problem, fr->rtol, st.steps,
                  fr->steps);
        CHECK_MSG(close_to(st.njac, fr->njac), "%s rtol %g: %zu Jacobians, RADAU5 %zu", fr->problem, fr->rtol, st.njac,
                  fr->njac);
        CHECK_MSG(close_to(st.nlu, fr->ndec), "%s rtol %g: %zu LUs, RADAU5 %zu", fr->problem, fr->rtol, st.nlu,
                  fr->ndec);
    }
}

/* Banded iteration matrices (jac_lower/jac_upper; the complex one solved in its real
 * form as a band of 2 ml + 1 / 2 mu + 1 diagonals on the interleaved unknowns):
 * (a) with the band as wide as the matrix (HIRES, ml = mu = 7) the same iteration as the
 * dense one, so the same steps, Jacobians and LUs, and y(t1) equal to rounding;
 * (b) the 1-D Brusselator (N = 500, ml = mu = 2, difference Jacobians by column groups)
 * takes the Fortran RADAU5's work with its banded difference Jacobian (MLJAC = MUJAC = 2,
 * same first step: nde's automatic one; run on this machine), within 3% + 2, and its
 * error against the zoo's reference is RADAU5's (1.33e-5 at rtol = atol 1e-4, 2.95e-8 at
 * 1e-7; within 1.5x). */
static void test_banded_matches_dense_and_fortran(void)
{
    nde_ode ode = test_zoo_ode("hires");
    double yd[8], yb[8];
    nde_stats sd, sb;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = radau(); o.rtol = 1e-7; o.atol = 1e-7;
    nde_solution sol;
    CHECK_EQ_INT(nde_ode_solve(&ode, 0.0, 321.8122, hires_y0, &o, &sol), NDE_OK);
    memcpy(yd, sol.y + (sol.n - 1) * 8, sizeof yd); sd = sol.stats;
    nde_solution_free(&sol);
    o.jac_lower = 7; o.jac_upper = 7;
    CHECK_EQ_INT(nde_ode_solve(&ode, 0.0, 321.8122, hires_y0, &o, &sol), NDE_OK);
    memcpy(yb, sol.y + (sol.n - 1) * 8, sizeof yb); sb = sol.stats;
    nde_solution_free(&sol);
    CHECK_EQ_INT((int)sb.steps, (int)sd.steps);
    CHECK_EQ_INT((int)sb.njac, (int)sd.njac);
    CHECK_EQ_INT((int)sb.nlu, (int)sd.nlu);
    for (int i = 0; i < 8; i++) CHECK_NEAR(yb[i], yd[i], 1e-12 * (1.0 + fabs(yd[i])));

    static const struct { double rtol; size_t steps, njac, ndec; double err; } fr[] = {
        { 1e-4, 37, 33, 37, 1.33e-5 },
        { 1e-7, 96, 89, 92, 2.95e-8 },
    };
    const zoo_problem *p = zoo_find("bruss1d");
    nde_ode bo = { .dim = p->dim, .f = p->f, .user = p->user };
    static double y0[1000];
    zoo_y0(p, y0);
    for (size_t k = 0; k < sizeof fr / sizeof fr[0]; k++) {
        nde_options ob = NDE_OPTIONS_INIT;
        ob.method = radau(); ob.rtol = fr[k].rtol; ob.atol = fr[k].rtol; ob.autonomous = 1;
        ob.jac_lower = p->jac_lower; ob.jac_upper = p->jac_upper;
        int rc = nde_ode_solve(&bo, p->t0, p->t1, y0, &ob, &sol);
        CHECK_EQ_INT(rc, NDE_OK);
        if (rc != NDE_OK) { nde_solution_free(&sol); continue; }
        double err = 0.0;
        for (size_t i = 0; i < p->dim; i++) {
            double e = fabs(sol.y[(sol.n - 1) * p->dim + i] - p->ref[i]) / (fabs(p->ref[i]) + 1.0);
            if (e > err) err = e;
        }
        printf("radau5 bruss1d banded rtol %.0e: error %.2e (RADAU5 %.2e), steps %zu (%zu), jac %zu (%zu), lu %zu (%zu)\n",
               fr[k].rtol, err, fr[k].err, sol.stats.steps, fr[k].steps, sol.stats.njac, fr[k].njac, sol.stats.nlu,
               fr[k].ndec);
        CHECK(close_to(sol.stats.steps, fr[k].steps));
        CHECK(close_to(sol.stats.njac, fr[k].njac));
        CHECK(close_to(sol.stats.nlu, fr[k].ndec));
        CHECK(err <= 1.5 * fr[k].err && err >= fr[k].err / 1.5);
        nde_solution_free(&sol);
    }
}

/* Robertson to 1e11 with rtol = atol = 1e-3 ... 1e-7 (issue 10). atol = rtol does not
 * resolve y2 (~3.6e-5 at its peak, below 1e-12 at the end): a step may take y2 below 0,
 * and from y2 < 0 the equations themselves blow up (y2' ~ -3e7 y2^2, y2 -> -inf in finite
 * time), which the solver follows down to steps below t's resolution (EDTMIN), or steps
 * over to a garbage end value. RADAU5 does exactly that (drv.f beside radau5.f, as above,
 * with IWORK(2) = 100000, ITOL = 0): its IDID, IWORK(17) accepted steps and error
 * max_i |y_i - ref_i| / (1 + |ref_i|) for the first steps H = 1e-6 and H = 11.18 (nde's
 * automatic first step here). Where RADAU5 succeeds, radau5 must too (no EDTMIN); where
 * its answer is accurate, radau5's is within 2x with the same steps (3% + 2); where it
 * blows up, radau5's end error is the same blown-up size (within 2x: the steps differ
 * after the blow-up, which amplifies rounding). The error where RADAU5 fails is none. */
typedef struct fortran_loose {
    double tol, h0;
    int idid;
    size_t accepted;
    double err;
} fortran_loose;

static const fortran_loose fortran_loose_runs[] = {
    { 1e-3, 1e-6, -3, 0, NAN },      /* EDTMIN at t = 2.54e-2 */
    { 1e-4, 1e-6, -3, 0, NAN },      /* EDTMIN at t = 3.37e-2 */
    { 1e-5, 1e-6, 1, 226, 4.087e7 },
    { 1e-6, 1e-6, 1, 102, 1.703e-7 },
    { 1e-3, 11.18, -3, 0, NAN },     /* EDTMIN at t = 5.73e-3 */
    { 1e-4, 11.18, 1, 383, 4.414e7 },
    { 1e-5, 11.18, 1, 234, 4.192e7 },
    { 1e-6, 11.18, 1, 229, 7.457e6 },
    { 1e-7, 11.18, 1, 124, 2.349e-9 },
};

static void test_robertson_loose_tolerances_as_fortran(void)
{
    nde_ode ode = test_zoo_ode("robertson");
    const double y0[3] = { 1.0, 0.0, 0.0 };
    for (size_t k = 0; k < sizeof fortran_loose_runs / sizeof fortran_loose_runs[0]; k++) {
        const fortran_loose *fr = &fortran_loose_runs[k];
        nde_options o = NDE_OPTIONS_INIT;
        o.method = radau(); o.rtol = fr->tol; o.atol = fr->tol; o.dt0 = fr->h0;
        nde_solution sol;
        int rc = nde_ode_solve(&ode, 0.0, 1e11, y0, &o, &sol);
        double err = rc == NDE_OK ? mixed_error(3, sol.y + (sol.n - 1) * 3, rober_ref_1e11, 1.0) : NAN;
        printf("radau5 Robertson rtol = atol %.0e, dt0 %g: %s, %zu accepted, error %.3e (RADAU5: IDID %d, %zu, %.3e)"
               "%s%s\n", fr->tol, fr->h0, nde_status_str(rc), sol.stats.accepted, err, fr->idid, fr->accepted,
               fr->err, rc ? ": " : "", rc ? nde_solution_message(&sol) : "");
        if (fr->idid == 1) {
            CHECK_MSG(rc == NDE_OK, "rtol %g dt0 %g: %s where RADAU5 succeeds (%s)", fr->tol, fr->h0,
                      nde_status_str(rc), nde_solution_message(&sol));
            if (rc == NDE_OK) {
                CHECK_MSG(err <= 2.0 * fr->err && err >= 0.5 * fr->err, "rtol %g dt0 %g: error %g, RADAU5 %g",
                          fr->tol, fr->h0, err, fr->err);
                if (fr->err < 1e-6)
                    CHECK_MSG(close_to(sol.stats.accepted, fr->accepted), "rtol %g dt0 %g: %zu steps, RADAU5 %zu",
                              fr->tol, fr->h0, sol.stats.accepted, fr->accepted);
            }
        } else {
            /* RADAU5's failure: radau5 may fail the same way, with a status that says so */
            CHECK_MSG(rc == NDE_OK || rc == NDE_EDTMIN, "rtol %g dt0 %g: %s", fr->tol, fr->h0, nde_status_str(rc));
            if (rc == NDE_EDTMIN) CHECK(strstr(nde_solution_message(&sol), "below the resolution of t") != NULL);
        }
        nde_solution_free(&sol);
    }
}

/* The issue quotes RADAU5 at 778 steps on Robertson to 1e11 "at rtol 1e-10" (its atol
 * unrecorded; the run above with atol = 1e-6 rtol takes 779 at rtol 1e-9 and 1143 at
 * 1e-10): ours stays within 1.5x of 778 at rtol 1e-10 with atol = rtol, and within 1.5x
 * of the same-settings Fortran count with atol = 1e-6 rtol. */
static void test_robertson_work_against_fortran(void)
{
    nde_ode ode = test_zoo_ode("robertson");
    const double y0[3] = { 1.0, 0.0, 0.0 };
    const double atols[2] = { 1e-10, 1e-16 };
    const size_t bound[2] = { 1167, 1714 };   /* 1.5 x 778, 1.5 x 1143 */
    for (int k = 0; k < 2; k++) {
        double y[3];
        nde_stats st;
        solve_to(&ode, radau(), 0.0, 1e11, y0, 1e-10, atols[k], 0.0, y, &st);
        printf("radau5 Robertson 1e11 rtol 1e-10 atol %g: %zu steps (%zu accepted), %zu jac, %zu lu, %zu newton, "
               "%zu f\n", atols[k], st.steps, st.accepted, st.njac, st.nlu, st.nnewton, st.nfe);
        CHECK_MSG(st.steps <= bound[k], "%zu steps > %zu", st.steps, bound[k]);
        CHECK(st.njac <= st.accepted && st.nlu <= st.steps);
        CHECK(mixed_error(3, y, rober_ref_1e11, 1.0) < 1e-9);
    }
}

/* ---- failures: statuses, never hangs -------------------------------------------------- */

static int jac_fails(double t, const double *y, double *J, void *u)
{
    (void)t; (void)y; (void)J; (void)u;
    return -3;
}
static int jac_retry(double t, const double *y, double *J, void *u)
{
    (void)t; (void)y; (void)J; (void)u;
    return 1;
}

static int jac_nan(double t, const double *y, double *J, void *u)
{
    test_zoo_ode("robertson").jac(t, y, J, u);
    J[4] = NAN;
    return 0;
}

static void test_jacobian_callback_error(void)
{
    nde_ode ode = test_zoo_ode("robertson");
    ode.jac = jac_fails;
    const double y0[3] = { 1.0, 0.0, 0.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = radau();
    nde_solution sol;
    CHECK_EQ_INT(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol), NDE_ECALLBACK);
    CHECK(strstr(nde_solution_message(&sol), "Jacobian") != NULL);
    nde_solution_free(&sol);
    ode.jac = jac_retry;   /* "retry smaller" forever: NDE_ENONLINEAR after the loop's retries */
    CHECK_EQ_INT(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol), NDE_ENONLINEAR);
    CHECK(strstr(nde_solution_message(&sol), "Jacobian") != NULL);
    nde_solution_free(&sol);
    ode.jac = jac_nan;     /* a NaN entry: the solve stops with NDE_ENONFINITE */
    CHECK_EQ_INT(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol), NDE_ENONFINITE);
    CHECK(strstr(nde_solution_message(&sol), "non-finite") != NULL);
    nde_solution_free(&sol);
}

/* y' = y^2, y(0) = 1: y = 1/(1 - t) blows up at t = 1. Asked for t = 2, the steps
 * shrink towards the singularity until the collocation equations have no solution the
 * Newton iteration can find, or the step underflows: a status, after few steps. */
static int blowup_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[0] * y[0];
    return 0;
}

static void test_newton_that_cannot_converge(void)
{
    nde_ode ode = { .dim = 1, .f = blowup_rhs };
    const double y0[1] = { 1.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = radau();
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, 2.0, y0, &o, &sol);
    printf("radau5 past a blow-up: %s (%s), %zu steps\n", nde_status_str(rc), nde_solution_message(&sol),
           sol.stats.steps);
    CHECK_MSG(rc == NDE_ENONLINEAR || rc == NDE_EDTMIN || rc == NDE_ENONFINITE, "%s", nde_status_str(rc));
    CHECK(sol.stats.steps < 5000);
    nde_solution_free(&sol);
    /* constant steps cannot shrink: the step from y(0.5) = 2 with h = 0.5, which ends at
     * the singularity, makes the Newton iteration diverge and ends the solve */
    o.rtol = 0.0; o.dt0 = 0.5;
    rc = nde_ode_solve(&ode, 0.0, 2.0, y0, &o, &sol);
    printf("radau5 constant steps past a blow-up: %s (%s)\n", nde_status_str(rc), nde_solution_message(&sol));
    CHECK_EQ_INT(rc, NDE_ENONLINEAR);
    CHECK(strstr(nde_solution_message(&sol), "Newton") != NULL);
    nde_solution_free(&sol);
}

/* M = 0 and f independent of y: gamma/h M - J = 0 is singular at every h. */
static int const_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)y; (void)u;
    dy[0] = 1.0; dy[1] = 0.0;
    return 0;
}

static void test_singular_iteration_matrix(void)
{
    static const double M[4] = { 1.0, 0.0, 0.0, 0.0 };
    nde_ode ode = { .dim = 2, .f = const_rhs, .mass = M };   /* second row: 0 = 0 */
    const double y0[2] = { 0.0, 0.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = radau();
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol);
    CHECK_EQ_INT(rc, NDE_ENONLINEAR);
    CHECK(strstr(nde_solution_message(&sol), "singular") != NULL);
    nde_solution_free(&sol);
}

/* nothing allocates after create: 1000 solves on one solver */
static void test_no_allocation_in_solves(void)
{
    test_alloc ta;
    test_alloc_init(&ta);
    nde_ode ode = test_zoo_ode("robertson");
    ode.jac = NULL;
    const double y0[3] = { 1.0, 0.0, 0.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = radau(); o.rtol = 1e-6; o.atol = 1e-12; o.allocator = &ta.a;
    nde_solver *s = nde_solver_create(&ode, &o);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(nde_solver_solve(s, 0.0, 1e5, y0) == NDE_OK);
    size_t calls = ta.calls;
    nde_stats first = nde_solver_solution(s)->stats;
    for (int i = 0; i < 200; i++) CHECK(nde_solver_solve(s, 0.0, 1e5, y0) == NDE_OK);
    CHECK_EQ_INT(ta.calls, calls);
    /* every solve starts afresh: the same work each time */
    CHECK_EQ_INT(nde_solver_solution(s)->stats.steps, first.steps);
    CHECK_EQ_INT(nde_solver_solution(s)->stats.njac, first.njac);
    nde_solver_free(s);
    CHECK_EQ_INT(ta.live, 0);
}

int main(void)
{
    RUN(test_coefficients_collocation_conditions);
    RUN(test_order_linear_is_5);
    RUN(test_order_prothero_robinson_reduction);
    RUN(test_dense_output_order_4);
    RUN(test_adaptive_reverse_time_and_tolerance);
    RUN(test_event_on_collocation_polynomial);
    RUN(test_mass_matrix_closed_form);
    RUN(test_robertson_dae_matches_ode);
    RUN(test_robertson_against_test_set);
    RUN(test_hires_against_test_set_and_dopri8);
    RUN(test_vdp_against_dopri8);
    RUN(test_robertson_work_against_fortran);
    RUN(test_work_matches_fortran_radau5);
    RUN(test_banded_matches_dense_and_fortran);
    RUN(test_robertson_loose_tolerances_as_fortran);
    RUN(test_jacobian_callback_error);
    RUN(test_newton_that_cannot_converge);
    RUN(test_singular_iteration_matrix);
    RUN(test_no_allocation_in_solves);
    return test_summary();
}
