/* Control paths and CDEs (include/nde/cde.h): the interpolations against their
 * definitions, missing values against the path of the observed points alone, and CDE
 * solves and gradients against closed forms. */
#include <math.h>
#include <string.h>

#include "nde/adjoint.h"
#include "nde/cde.h"
#include "testlib.h"

static const double T6[6] = { 0.0, 0.4, 1.0, 1.3, 2.2, 3.0 };

static void test_linear_path(void)
{
    /* channel 0 fully observed; channel 1 missing at 0 (leading), 2 (inside), 5 (trailing) */
    double x[12] = { 1, NAN, 2, 0.5, -1, NAN, 0, 2.0, 3, 4.0, 1, NAN };
    nde_path *p = nde_path_create(6, 2, T6, x, NDE_PATH_LINEAR, NULL, NULL, 0);
    CHECK(p && nde_path_channels(p) == 2 && nde_path_t0(p) == 0.0 && nde_path_t1(p) == 3.0);
    double v[2], d[2];
    for (int i = 0; i < 6; i++) {
        CHECK(nde_path_eval(p, T6[i], v, NULL) == NDE_OK);
        CHECK_NEAR(v[0], x[2 * i], 1e-15);
    }
    /* inside an interval: the chord, slope the interval's */
    CHECK(nde_path_eval(p, 0.7, v, d) == NDE_OK);
    CHECK_NEAR(v[0], 2 + (-1 - 2) * 0.3 / 0.6, 1e-14);
    CHECK_NEAR(d[0], -3 / 0.6, 1e-13);
    /* channel 1: constant 0.5 before its first observation (t = 0.4), linear 0.5 -> 2.0
     * across the gap t = 0.4 .. 1.3, then 2 -> 4 on [1.3, 2.2], constant 4 after 2.2 */
    CHECK(nde_path_eval(p, 0.2, v, d) == NDE_OK);
    CHECK_NEAR(v[1], 0.5, 1e-15); CHECK_NEAR(d[1], 0.0, 0.0);
    CHECK(nde_path_eval(p, 1.0, v, d) == NDE_OK);
    CHECK_NEAR(v[1], 0.5 + 1.5 * 0.6 / 0.9, 1e-14); CHECK_NEAR(d[1], 1.5 / 0.9, 1e-13);
    CHECK(nde_path_eval(p, 2.6, v, d) == NDE_OK);
    CHECK_NEAR(v[1], 4.0, 1e-15); CHECK_NEAR(d[1], 0.0, 0.0);
    /* knots: the observation times */
    size_t nk;
    const double *k = nde_path_knots(p, &nk);
    CHECK(nk == 6 && k[3] == 1.3);
    nde_path_free(p);
}

/* The backward Hermite cubic: through the observations, slope at an interval's right
 * end its own chord slope, C1 at the knots, causal, exact on a line. */
static void test_hermite_path(void)
{
    double x[6] = { 0.0, 1.0, 0.2, 0.9, 3.0, 2.5 };
    nde_path *p = nde_path_create(6, 1, T6, x, NDE_PATH_HERMITE, NULL, NULL, 0);
    CHECK(p != NULL);
    double v, d, dl;
    for (int i = 0; i < 6; i++) {
        CHECK(nde_path_eval(p, T6[i], &v, NULL) == NDE_OK);
        CHECK_NEAR(v, x[i], 1e-14);
    }
    for (int i = 1; i < 5; i++) {
        /* the derivative just left of knot i is interval i-1's chord slope, and the right
         * derivative (the next interval's g) equals it */
        double m = (x[i] - x[i - 1]) / (T6[i] - T6[i - 1]), tl = T6[i] - 1e-9;
        nde_path_eval(p, tl, NULL, &dl);
        nde_path_eval(p, T6[i], NULL, &d);
        CHECK_NEAR(dl, m, 1e-6 * (1 + fabs(m)));
        CHECK_NEAR(d, m, 1e-12 * (1 + fabs(m)));
    }
    /* causal: changing the last observation leaves [t_0, t_4] alone */
    double x2[6];
    memcpy(x2, x, sizeof x);
    x2[5] = -7;
    nde_path *q = nde_path_create(6, 1, T6, x2, NDE_PATH_HERMITE, NULL, NULL, 0);
    for (double t = 0; t <= 2.2; t += 0.05) {
        double a, b;
        nde_path_eval(p, t, &a, NULL);
        nde_path_eval(q, t, &b, NULL);
        CHECK(a == b);
    }
    nde_path_free(q);
    /* a line is reproduced with its slope everywhere */
    double line[6];
    for (int i = 0; i < 6; i++) line[i] = 2 - 3 * T6[i];
    q = nde_path_create(6, 1, T6, line, NDE_PATH_HERMITE, NULL, NULL, 0);
    for (double t = 0; t <= 3.0; t += 0.07) {
        nde_path_eval(q, t, &v, &d);
        CHECK_NEAR(v, 2 - 3 * t, 1e-13);
        CHECK_NEAR(d, -3, 1e-12);
    }
    nde_path_free(q);
    nde_path_free(p);
}

/* Missing values: each channel is the path of its own observations. */
static void test_missing_values_are_the_observed_subsequence(void)
{
    double x[12] = { 1, NAN, 2, 0.5, -1, NAN, 0, 2.0, 3, 4.0, 1, 3.5 };
    double t1[4] = { T6[1], T6[3], T6[4], T6[5] }, y1[4] = { 0.5, 2.0, 4.0, 3.5 };
    for (int kind = 0; kind < 2; kind++) {
        nde_path *p = nde_path_create(6, 2, T6, x, kind, NULL, NULL, 0);
        nde_path *q = nde_path_create(4, 1, t1, y1, kind, NULL, NULL, 0);
        CHECK(p && q);
        for (double t = T6[1]; t <= 3.0; t += 0.01) {
            double v[2], w, dv[2], dw;
            nde_path_eval(p, t, v, dv);
            nde_path_eval(q, t, &w, &dw);
            CHECK_NEAR(v[1], w, 1e-12);
            CHECK_NEAR(dv[1], dw, 1e-10);
        }
        nde_path_free(p);
        nde_path_free(q);
    }
}

static void test_rectilinear_path(void)
{
    double t[3] = { 0.0, 0.5, 2.0 }, x[3] = { 1.0, NAN, 3.0 };
    nde_path *p = nde_path_create(3, 1, t, x, NDE_PATH_RECTILINEAR, NULL, NULL, 0);
    CHECK(p && nde_path_channels(p) == 2 && nde_path_t0(p) == 0.0 && nde_path_t1(p) == 4.0);
    /* index time 0..4 through (0, 1), (0.5, 1), (0.5, 1) (missing: held), (2, 1), (2, 3) */
    static const double pts[5][2] = { { 0, 1 }, { 0.5, 1 }, { 0.5, 1 }, { 2, 1 }, { 2, 3 } };
    for (int k = 0; k < 5; k++) {
        double v[2];
        CHECK(nde_path_eval(p, (double)k, v, NULL) == NDE_OK);
        CHECK_NEAR(v[0], pts[k][0], 1e-15);
        CHECK_NEAR(v[1], pts[k][1], 1e-15);
    }
    double v[2], d[2];
    nde_path_eval(p, 3.5, v, d);   /* the data jump: time held, data halfway */
    CHECK_NEAR(v[0], 2.0, 0.0); CHECK_NEAR(v[1], 2.0, 1e-15);
    CHECK_NEAR(d[0], 0.0, 0.0); CHECK_NEAR(d[1], 2.0, 1e-15);
    nde_path_free(p);
}

/* z_i' = -theta_i z_i X_i'(t): z_i(t) = z_i(t0) exp(-theta_i (X_i(t) - X_i(t0))). */
typedef struct decay_field { double theta[2]; } decay_field;
static int decay(double t, const double *z, double *F, void *u)
{
    (void)t;
    const decay_field *D = u;
    F[0] = -D->theta[0] * z[0]; F[1] = 0;
    F[2] = 0; F[3] = -D->theta[1] * z[1];
    return 0;
}
static int decay_vjp(double t, const double *z, const double *A, double *a_z, double *a_theta, void *u)
{
    (void)t;
    const decay_field *D = u;
    if (a_z) { a_z[0] = -D->theta[0] * A[0]; a_z[1] = -D->theta[1] * A[3]; }
    if (a_theta) { a_theta[0] = -z[0] * A[0]; a_theta[1] = -z[1] * A[3]; }
    return 0;
}

static void test_cde_solve_closed_form(void)
{
    double x[12] = { 0, 1, 0.3, NAN, -0.2, 0.4, 0.8, 0.6, 1.1, -0.3, 0.9, 0.2 };
    decay_field D = { { 1.0, 0.7 } };
    for (int kind = 0; kind < 2; kind++) {      /* rectilinear has 3 channels: below */
        nde_path *p = nde_path_create(6, 2, T6, x, kind, NULL, NULL, 0);
        nde_cde cde = { .dim = 2, .path = p, .field = decay, .user = &D };
        double z0[2] = { 1.0, 2.0 }, ta = 0.2, tb = 2.9, xa[2], xb[2];
        nde_options o = NDE_OPTIONS_INIT;
        o.rtol = 1e-10; o.atol = 1e-12;
        nde_solution sol;
        CHECK_EQ_INT(nde_cde_solve(&cde, ta, tb, z0, &o, &sol), NDE_OK);
        nde_path_eval(p, ta, xa, NULL);
        nde_path_eval(p, tb, xb, NULL);
        for (int i = 0; i < 2; i++)
            CHECK_NEAR(sol.y[i], z0[i] * exp(-D.theta[i] * (xb[i] - xa[i])), 1e-8);
        nde_solution_free(&sol);
        /* backwards in time too */
        CHECK_EQ_INT(nde_cde_solve(&cde, tb, ta, z0, &o, &sol), NDE_OK);
        for (int i = 0; i < 2; i++)
            CHECK_NEAR(sol.y[i], z0[i] * exp(-D.theta[i] * (xa[i] - xb[i])), 1e-8);
        nde_solution_free(&sol);
        nde_path_free(p);
    }
}

/* dL/dtheta and dL/dz0 of L = z_0(T) + z_1(T) through the taped ODE view. */
static void test_cde_gradients(void)
{
    double x[12] = { 0, 1, 0.3, NAN, -0.2, 0.4, 0.8, 0.6, 1.1, -0.3, 0.9, 0.2 };
    nde_path *p = nde_path_create(6, 2, T6, x, NDE_PATH_HERMITE, NULL, NULL, 0);
    decay_field D = { { 1.0, 0.7 } };
    nde_cde cde = { .dim = 2, .path = p, .field = decay, .field_vjp = decay_vjp, .n_params = 2, .user = &D };
    nde_cde_ode *v = nde_cde_ode_create(&cde, NULL, NULL, 0);
    CHECK(v != NULL && nde_cde_ode_get(v)->vjp != NULL);
    size_t nk;
    const double *knots = nde_path_knots(p, &nk);
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 1e-10; o.atol = 1e-12; o.step_ts = knots; o.n_step_ts = nk;
    nde_tape *tape = nde_tape_create(NULL);
    double z0[2] = { 1.0, 2.0 }, x0[2], x1[2], one[2] = { 1, 1 }, gz[2], gth[2];
    nde_solution sol;
    CHECK_EQ_INT(nde_ode_solve_taped(nde_cde_ode_get(v), 0.0, 3.0, z0, &o, tape, &sol), NDE_OK);
    CHECK_EQ_INT(nde_ode_backward(tape, one, gz, gth), NDE_OK);
    nde_path_eval(p, 0.0, x0, NULL);
    nde_path_eval(p, 3.0, x1, NULL);
    for (int i = 0; i < 2; i++) {
        double dX = x1[i] - x0[i], e = exp(-D.theta[i] * dX);
        CHECK_NEAR(gz[i], e, 1e-7);
        CHECK_NEAR(gth[i], -z0[i] * dX * e, 1e-7);
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    nde_cde_ode_free(v);
    nde_path_free(p);
}

/* The rectilinear path drives a 3-channel CDE (time, then the data): z' = -z dX_data. */
static int rect_field(double t, const double *z, double *F, void *u)
{
    (void)t; (void)u;
    F[0] = 0; F[1] = -z[0];
    return 0;
}
static void test_cde_rectilinear(void)
{
    double t[4] = { 0.0, 0.5, 1.7, 2.0 }, x[4] = { 0.2, 1.0, NAN, 0.4 };
    nde_path *p = nde_path_create(4, 1, t, x, NDE_PATH_RECTILINEAR, NULL, NULL, 0);
    nde_cde cde = { .dim = 1, .path = p, .field = rect_field };
    double z0 = 1.5;
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 1e-10; o.atol = 1e-12;
    nde_solution sol;
    CHECK_EQ_INT(nde_cde_solve(&cde, 0.0, 6.0, &z0, &o, &sol), NDE_OK);
    CHECK_NEAR(sol.y[0], z0 * exp(-(0.4 - 0.2)), 1e-8);
    nde_solution_free(&sol);
    nde_path_free(p);
}

static void test_bad_input(void)
{
    double t[3] = { 0, 1, 2 }, tbad[3] = { 0, 1, 1 }, x[3] = { 1, 2, 3 };
    double xnan[3] = { NAN, NAN, NAN }, xinf[3] = { 1, INFINITY, 2 };
    char eb[NDE_MESSAGE_MAX];
    CHECK(nde_path_create(1, 1, t, x, NDE_PATH_LINEAR, NULL, eb, sizeof eb) == NULL && strstr(eb, "at least 2"));
    CHECK(nde_path_create(3, 0, t, x, NDE_PATH_LINEAR, NULL, eb, sizeof eb) == NULL && strstr(eb, "channels"));
    CHECK(nde_path_create(3, 1, tbad, x, NDE_PATH_LINEAR, NULL, eb, sizeof eb) == NULL && strstr(eb, "increase"));
    CHECK(nde_path_create(3, 1, t, xnan, NDE_PATH_HERMITE, NULL, eb, sizeof eb) == NULL && strstr(eb, "no observation"));
    CHECK(nde_path_create(3, 1, t, xinf, NDE_PATH_LINEAR, NULL, eb, sizeof eb) == NULL && strstr(eb, "infinite"));
    CHECK(nde_path_create(3, 1, t, x, 7, NULL, eb, sizeof eb) == NULL && strstr(eb, "unknown kind"));
    CHECK(nde_path_create(3, 1, NULL, x, 0, NULL, eb, sizeof eb) == NULL && strstr(eb, "t is NULL"));
    nde_path *p = nde_path_create(3, 1, t, x, NDE_PATH_LINEAR, NULL, NULL, 0);
    double v = 42;
    CHECK(nde_path_eval(p, 2.5, &v, NULL) == NDE_EINVAL && v == 42);
    CHECK(nde_path_eval(p, NAN, &v, NULL) == NDE_EINVAL && v == 42);
    CHECK(nde_path_eval(NULL, 1, &v, NULL) == NDE_EINVAL);
    CHECK(nde_path_eval(p, 2.0 + 1e-15, &v, NULL) == NDE_OK && v == 3);   /* ULP slack */
    nde_cde cde = { .dim = 1, .path = p, .field = NULL };
    double z0 = 1;
    nde_solution sol;
    CHECK_EQ_INT(nde_cde_solve(&cde, 0, 1, &z0, NULL, &sol), NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "field") != NULL);
    nde_solution_free(&sol);
    cde.field = rect_field;
    CHECK_EQ_INT(nde_cde_solve(&cde, 0, 2.5, &z0, NULL, &sol), NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "outside the path's domain") != NULL);
    nde_solution_free(&sol);
    cde.dim = 0;
    CHECK(nde_cde_ode_create(&cde, NULL, eb, sizeof eb) == NULL && strstr(eb, "dim"));
    CHECK(nde_path_channels(NULL) == 0 && nde_path_knots(NULL, NULL) == NULL);
    nde_path_free(p);
}

/* Fuzz findings: next to a large value the path is still exact at the observations
 * (a monomial form a + b s lost 4.5 to cancellation against 1.1e37), and values whose
 * interpolant would overflow are refused with a message. */
static void test_large_values(void)
{
    double t[3] = { 0.0, 1.0, 2.7 }, x[3] = { 1.0, 1.13e37, 4.5 }, v;
    for (int kind = 0; kind < 3; kind++) {
        nde_path *p = nde_path_create(3, 1, t, x, kind, NULL, NULL, 0);
        CHECK(p != NULL);
        double tend = kind == NDE_PATH_RECTILINEAR ? 4.0 : 2.7;
        CHECK(nde_path_eval(p, tend, kind == NDE_PATH_RECTILINEAR ? NULL : &v, NULL) == NDE_OK);
        if (kind != NDE_PATH_RECTILINEAR) CHECK(v == 4.5);
        nde_path_free(p);
    }
    char eb[NDE_MESSAGE_MAX];
    double huge[3] = { 1.0, 1e306, 2.0 }, tt[3] = { 0.0, 1e-12, 1.0 }, steep[3] = { 0.0, 1e299, 0.0 };
    CHECK(nde_path_create(3, 1, t, huge, NDE_PATH_LINEAR, NULL, eb, sizeof eb) == NULL && strstr(eb, "overflow"));
    CHECK(nde_path_create(3, 1, tt, steep, NDE_PATH_HERMITE, NULL, eb, sizeof eb) == NULL && strstr(eb, "overflow"));
}

static void test_allocation_failures(void)
{
    double t[3] = { 0, 1, 2 }, x[3] = { 1, 2, 3 };
    test_alloc ta;
    test_alloc_init(&ta);
    for (int kind = 0; kind < 3; kind++) {
        size_t before = ta.calls;
        nde_path *p = nde_path_create(3, 1, t, x, kind, &ta.a, NULL, 0);
        CHECK(p != NULL);
        size_t calls = ta.calls - before;
        nde_path_free(p);
        for (size_t k = 1; k <= calls; k++) {
            ta.fail_at = ta.calls + k;
            CHECK(nde_path_create(3, 1, t, x, kind, &ta.a, NULL, 0) == NULL);
            CHECK_EQ_INT(ta.live, 0);
        }
        ta.fail_at = 0;
    }
    nde_path *p = nde_path_create(3, 1, t, x, NDE_PATH_LINEAR, NULL, NULL, 0);
    nde_cde cde = { .dim = 1, .path = p, .field = rect_field };
    for (size_t k = 1; k <= 2; k++) {
        ta.fail_at = ta.calls + k;
        CHECK(nde_cde_ode_create(&cde, &ta.a, NULL, 0) == NULL);
        CHECK_EQ_INT(ta.live, 0);
    }
    nde_path_free(p);
}

int main(void)
{
    RUN(test_linear_path);
    RUN(test_hermite_path);
    RUN(test_missing_values_are_the_observed_subsequence);
    RUN(test_rectilinear_path);
    RUN(test_cde_solve_closed_form);
    RUN(test_cde_gradients);
    RUN(test_cde_rectilinear);
    RUN(test_bad_input);
    RUN(test_large_values);
    RUN(test_allocation_failures);
    return test_summary();
}
