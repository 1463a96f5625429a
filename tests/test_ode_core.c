/* The integrate loop's contract: argument validation (clear message, caller's data
 * untouched), statuses for max_steps / non-finite / callbacks, zero allocations while
 * stepping, NDE_ENOMEM without leaks at every allocation, constant-step semantics,
 * step-level API. Method-independent checks use tsit5 (the default). */
#include <float.h>
#include <math.h>
#include <string.h>
#include "testlib.h"
#include "zoo.h"

static int decay(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -y[0]; return 0; }

static int osc(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[1]; dy[1] = -y[0]; return 0; }

static const nde_ode DECAY = { 1, decay, NULL, NULL, 0, NULL, NULL, NULL, NULL };
static const nde_ode OSC = { 2, osc, NULL, NULL, 0, NULL, NULL, NULL, NULL };

/* Expects EINVAL, a message containing `needle`, and y0/ts untouched. */
static void expect_einval(const nde_ode *ode, double t0, double t1, const double *y0,
                          const nde_options *o, const char *needle)
{
    nde_solution sol;
    double before = y0 ? y0[0] : 0.0;
    int rc = nde_ode_solve(ode, t0, t1, y0, o, &sol);
    CHECK_MSG(rc == NDE_EINVAL, "expected EINVAL for '%s', got %d (%s)", needle, rc, nde_status_str(rc));
    CHECK_MSG(strstr(nde_solution_message(&sol), needle) != NULL,
              "message '%s' lacks '%s'", nde_solution_message(&sol), needle);
    CHECK(sol.status == NDE_EINVAL && sol.n == 0);
    if (y0) CHECK(y0[0] == before || (isnan(before) && isnan(y0[0])));
    nde_solution_free(&sol);
}

static void test_bad_input(void)
{
    double y0 = 1.0, ynan = NAN;
    nde_options o = NDE_OPTIONS_INIT;
    nde_ode z = DECAY;
    z.dim = 0;
    expect_einval(&z, 0, 1, &y0, &o, "dim");
    z = DECAY; z.f = NULL;
    expect_einval(&z, 0, 1, &y0, &o, "ode->f");
    expect_einval(NULL, 0, 1, &y0, &o, "ode is NULL");
    expect_einval(&DECAY, 0, 1, NULL, &o, "y0 is NULL");
    expect_einval(&DECAY, 0, 1, &ynan, &o, "y0[0]");
    expect_einval(&DECAY, NAN, 1, &y0, &o, "t0");
    expect_einval(&DECAY, 0, INFINITY, &y0, &o, "t1");
    expect_einval(&DECAY, 1, 1, &y0, &o, "differ");
    o.rtol = -1e-3;
    expect_einval(&DECAY, 0, 1, &y0, &o, "rtol must be >= 0");
    o = (nde_options)NDE_OPTIONS_INIT; o.atol = NAN;
    expect_einval(&DECAY, 0, 1, &y0, &o, "atol");
    o = (nde_options)NDE_OPTIONS_INIT; o.rtol = 0;
    expect_einval(&DECAY, 0, 1, &y0, &o, "dt0");
    o = (nde_options)NDE_OPTIONS_INIT; o.dt0 = -0.1;
    expect_einval(&DECAY, 0, 1, &y0, &o, "points away");
    o = (nde_options)NDE_OPTIONS_INIT; o.method = nde_method_find("euler");
    expect_einval(&DECAY, 0, 1, &y0, &o, "no error estimate");
    double ts_out[] = { 0.5, 1.5 }, ts_back[] = { 0.7, 0.3 }, ts_nan[] = { NAN };
    o = (nde_options)NDE_OPTIONS_INIT; o.ts = ts_out; o.n_ts = 2;
    expect_einval(&DECAY, 0, 1, &y0, &o, "outside");
    o.ts = ts_back;
    expect_einval(&DECAY, 0, 1, &y0, &o, "monotone");
    o.ts = ts_nan; o.n_ts = 1;
    expect_einval(&DECAY, 0, 1, &y0, &o, "ts[0]");
    o.ts = NULL; o.n_ts = 3;
    expect_einval(&DECAY, 0, 1, &y0, &o, "ts is NULL");
    /* Backwards: ts must decrease. */
    double ts_fwd[] = { 0.3, 0.7 };
    o = (nde_options)NDE_OPTIONS_INIT; o.ts = ts_fwd; o.n_ts = 2;
    expect_einval(&DECAY, 1, 0, &y0, &o, "monotone");
    o = (nde_options)NDE_OPTIONS_INIT; o.n_events = 1;
    expect_einval(&DECAY, 0, 1, &y0, &o, "event is NULL");
    o = (nde_options)NDE_OPTIONS_INIT; o.save = 0x100;
    expect_einval(&DECAY, 0, 1, &y0, &o, "unknown flags");
    o = (nde_options)NDE_OPTIONS_INIT; o.safety = 2.0;
    expect_einval(&DECAY, 0, 1, &y0, &o, "safety");
    /* an explicit method takes neither a mass matrix nor an IMEX split */
    double mass1 = 1.0;
    nde_solution us;
    o = (nde_options)NDE_OPTIONS_INIT;
    z = DECAY; z.mass = &mass1;
    CHECK(nde_ode_solve(&z, 0, 1, &y0, &o, &us) == NDE_EUNSUPPORTED);
    CHECK(strstr(nde_solution_message(&us), "mass matrix") != NULL);
    nde_solution_free(&us);
    z = DECAY; z.f_explicit = DECAY.f;
    CHECK(nde_ode_solve(&z, 0, 1, &y0, &o, &us) == NDE_EUNSUPPORTED);
    CHECK(strstr(nde_solution_message(&us), "IMEX") != NULL);
    nde_solution_free(&us);
    /* errbuf receives the same message */
    char buf[NDE_MESSAGE_MAX] = "";
    o = (nde_options)NDE_OPTIONS_INIT; o.rtol = -1; o.errbuf = buf; o.errbuf_size = sizeof buf;
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_EINVAL);
    CHECK(strcmp(buf, nde_solution_message(&sol)) == 0 && strstr(buf, "-1") != NULL);
    nde_solution_free(&sol);
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, NULL) == NDE_EINVAL);
    CHECK(nde_method_find("nope") == NULL && nde_method_find(NULL) == NULL);
    CHECK(strcmp(nde_status_str(NDE_EINVAL), "invalid argument") == 0);
    CHECK(strcmp(nde_status_str(12345), "unknown status") == 0);
}

static void test_null_options_default(void)
{
    double y0 = 1.0;
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, NULL, &sol) == NDE_OK);
    CHECK(sol.n == 1 && sol.t[0] == 1.0);
    CHECK_NEAR(sol.y[0], exp(-1.0), 1e-7);
    CHECK(strcmp(nde_solution_message(&sol), "") == 0);
    nde_solution_free(&sol);
    nde_solution_free(&sol);   /* idempotent */
}

static int nan_after(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = t > 0.5 ? NAN : -y[0]; return 0; }
static int abort_after(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = -y[0]; return t > 0.5 ? -7 : 0; }

static void test_statuses(void)
{
    double y0 = 1.0;
    nde_solution sol;
    nde_options o = NDE_OPTIONS_INIT;
    o.max_steps = 5;
    o.save = NDE_SAVE_STEPS;
    o.rtol = 1e-10; o.atol = 1e-12;
    CHECK(nde_ode_solve(&DECAY, 0, 100, &y0, &o, &sol) == NDE_EMAXSTEPS);
    CHECK(sol.stats.steps == 5 && sol.n == sol.stats.accepted && sol.n > 0);
    CHECK(strstr(nde_solution_message(&sol), "max_steps") != NULL);
    nde_solution_free(&sol);

    nde_ode bad = DECAY; bad.f = nan_after;
    o = (nde_options)NDE_OPTIONS_INIT;
    CHECK(nde_ode_solve(&bad, 0, 1, &y0, &o, &sol) == NDE_ENONFINITE);
    CHECK(sol.stats.rejected > 0);
    nde_solution_free(&sol);
    o.rtol = 0; o.dt0 = 0.1;
    CHECK(nde_ode_solve(&bad, 0, 1, &y0, &o, &sol) == NDE_ENONFINITE);
    CHECK(strstr(nde_solution_message(&sol), "cannot shrink") != NULL);
    nde_solution_free(&sol);

    bad.f = abort_after;
    o = (nde_options)NDE_OPTIONS_INIT;
    CHECK(nde_ode_solve(&bad, 0, 1, &y0, &o, &sol) == NDE_ECALLBACK);
    CHECK(strstr(nde_solution_message(&sol), "-7") != NULL);
    nde_solution_free(&sol);
}

/* A right-hand side defined only for y >= 0 (returns 1 "retry smaller" otherwise):
 * a first step of 10 on y' = -y overshoots below 0; the solver must shrink and finish. */
static int decay_domain(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -y[0]; return y[0] < 0.0 ? 1 : 0; }
static void test_retry_smaller(void)
{
    double y0 = 1.0;
    nde_ode ode = DECAY; ode.f = decay_domain;
    nde_options o = NDE_OPTIONS_INIT;
    o.dt0 = 10.0;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 10, &y0, &o, &sol) == NDE_OK);
    CHECK(sol.stats.rejected > 0);
    CHECK_NEAR(sol.y[0], exp(-10.0), 1e-8);
    nde_solution_free(&sol);
}

static void test_zero_allocations_in_loop(void)
{
    /* Allocation count of a 10-step and a 10^4-step constant-step solve must match. */
    double y0[2] = { 1.0, 0.0 };
    size_t calls[2];
    double dts[2] = { 0.1, 1e-4 };
    for (int i = 0; i < 2; i++) {
        test_alloc ta; test_alloc_init(&ta);
        nde_options o = NDE_OPTIONS_INIT;
        o.allocator = &ta.a;
        o.rtol = 0; o.dt0 = dts[i];
        double ts[5] = { 0.1, 0.2, 0.3, 0.4, 0.5 };
        o.ts = ts; o.n_ts = 5;
        nde_solution sol;
        CHECK(nde_ode_solve(&OSC, 0, 1, y0, &o, &sol) == NDE_OK);
        CHECK(sol.stats.accepted == (i ? 10000u : 10u));
        calls[i] = ta.calls;
        nde_solution_free(&sol);
        CHECK(ta.live == 0 && ta.live_bytes == 0);
    }
    CHECK_MSG(calls[0] == calls[1], "allocations: %zu for 10 steps, %zu for 10^4 steps", calls[0], calls[1]);
    /* Adaptive with events, too. */
    size_t acalls[2];
    double tols[2] = { 1e-4, 1e-12 };
    for (int i = 0; i < 2; i++) {
        test_alloc ta; test_alloc_init(&ta);
        nde_options o = NDE_OPTIONS_INIT;
        o.allocator = &ta.a; o.rtol = tols[i]; o.atol = tols[i];
        nde_solution sol;
        CHECK(nde_ode_solve(&OSC, 0, 50, y0, &o, &sol) == NDE_OK);
        acalls[i] = ta.calls;
        if (i) CHECK(sol.stats.accepted > 1000);
        nde_solution_free(&sol);
        CHECK(ta.live == 0);
    }
    CHECK(acalls[0] == acalls[1]);
}

static int bounce_event(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0]; return 0; }

static void test_enomem_every_allocation(void)
{
    /* Dense + steps + events: every allocation site is exercised. Fail each one. */
    double y0[2] = { 1.0, 0.0 };
    test_alloc probe; test_alloc_init(&probe);
    int dirn = 0, term = 0;
    nde_options o = NDE_OPTIONS_INIT;
    o.save = NDE_SAVE_STEPS | NDE_SAVE_DENSE | NDE_SAVE_T0;
    o.event = bounce_event; o.n_events = 1; o.event_direction = &dirn; o.event_terminal = &term;
    o.rtol = 1e-9; o.atol = 1e-9;
    o.allocator = &probe.a;
    nde_solution sol;
    CHECK(nde_ode_solve(&OSC, 0, 60, y0, &o, &sol) == NDE_OK);
    CHECK(sol.n_event_hits >= 18);
    size_t total = probe.calls;
    nde_solution_free(&sol);
    CHECK(total >= 5);
    for (size_t n = 1; n <= total; n++) {
        test_alloc ta; test_alloc_init(&ta);
        ta.fail_at = n;
        o.allocator = &ta.a;
        int rc = nde_ode_solve(&OSC, 0, 60, y0, &o, &sol);
        CHECK_MSG(rc == NDE_ENOMEM, "failing allocation %zu of %zu gave %d", n, total, rc);
        CHECK(strstr(nde_solution_message(&sol), "memory") != NULL);
        nde_solution_free(&sol);
        CHECK_MSG(ta.live == 0 && ta.live_bytes == 0, "leak after failing allocation %zu: %zu blocks", n, ta.live);
    }
}

static void test_constant_step_semantics(void)
{
    /* dt0 = 0.3 on [0, 1]: steps end at 0.3, 0.6, 0.9 and a short last step to 1. */
    double y0 = 1.0;
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 0; o.dt0 = 0.3; o.save = NDE_SAVE_STEPS; o.method = nde_method_find("euler");
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.n, 4);
    if (sol.n == 4) {
        CHECK(sol.t[0] == 0.3 && sol.t[1] == 2 * 0.3 && sol.t[2] == 3 * 0.3 && sol.t[3] == 1.0);
        double y = 1.0;
        for (int i = 0; i < 3; i++) y *= 1 - 0.3;
        y *= 1 - (1.0 - 3 * 0.3);
        CHECK_NEAR(sol.y[3], y, 1e-15);
    }
    nde_solution_free(&sol);
    /* dt0 = 0.1 on [0, 1]: 0.1*10 is within ULPs of 1, so exactly 10 steps. */
    o.dt0 = 0.1;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.n, 10);
    CHECK(sol.t[sol.n - 1] == 1.0);
    nde_solution_free(&sol);
    /* Backwards with a negative dt0. */
    o.dt0 = -0.3;
    CHECK(nde_ode_solve(&DECAY, 1, 0, &y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.n, 4);
    if (sol.n == 4) CHECK(sol.t[0] == 1 - 0.3 && sol.t[3] == 0.0);
    nde_solution_free(&sol);
    /* Step-to: rtol == 0, dt0 == 0, step_ts. Euler on y' = -y: halves each step. */
    double sts[] = { 0.5, 1.0, 1.5 };
    o = (nde_options)NDE_OPTIONS_INIT;
    o.rtol = 0; o.method = nde_method_find("euler"); o.step_ts = sts; o.n_step_ts = 3;
    o.save = NDE_SAVE_STEPS;
    CHECK(nde_ode_solve(&DECAY, 0, 2, &y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.n, 4);
    for (size_t i = 0; i < sol.n && i < 4; i++) CHECK_NEAR(sol.y[i], pow(0.5, (double)(i + 1)), 1e-15);
    nde_solution_free(&sol);
}

static int decay_scaled(double t, const double *y, double *dy, void *u)
{ (void)t; dy[0] = -y[0] / *(const double *)u; return 0; }

static void test_tiny_time_scale(void)
{
    /* y' = -y/T on [t0, t0 + T] for T = 1e-10, 1, 1e10 (and an offset t0 so that the
     * step is tiny relative to t): same answer, same steps (Diffrax #632, #657). */
    double scales[] = { 1e-10, 1.0, 1e10 };
    double yT[3], ymid[3];
    size_t steps[3];
    for (int i = 0; i < 3; i++) {
        double T = scales[i], y0 = 1.0, t0 = 3.0 * T;
        nde_ode ode = { 1, decay_scaled, NULL, NULL, 0, &T, NULL, NULL, NULL };
        nde_options o = NDE_OPTIONS_INIT;
        o.rtol = 1e-8; o.atol = 1e-10;
        double ts[1] = { t0 + 0.5 * T };
        o.ts = ts; o.n_ts = 1; o.save = NDE_SAVE_T1;
        nde_solution sol;
        CHECK(nde_ode_solve(&ode, t0, t0 + T, &y0, &o, &sol) == NDE_OK);
        CHECK_EQ_INT(sol.n, 2);
        ymid[i] = sol.y[0]; yT[i] = sol.y[1]; steps[i] = sol.stats.steps;
        CHECK(sol.t[1] == t0 + T);
        nde_solution_free(&sol);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_NEAR(yT[i], exp(-1.0), 1e-7);
        CHECK_NEAR(ymid[i], exp(-0.5), 1e-7);
        CHECK_MSG(steps[i] == steps[1], "T = %g took %zu steps, T = 1 took %zu", scales[i], steps[i], steps[1]);
    }
}

static void test_stepper_api(void)
{
    const nde_method *m = nde_method_find("dopri5");
    nde_stepper *st = nde_stepper_create(m, 1, NULL);
    CHECK(st != NULL);
    if (!st) return;
    double t = 0, h = 0.01, y = 1.0, y1, err;
    for (int i = 0; i < 100; i++) {
        CHECK(nde_stepper_step(st, decay, NULL, t, h, &y, &y1, &err, i > 0) == NDE_OK);
        y = y1; t += h;
    }
    CHECK_NEAR(y, exp(-1.0), 1e-12);
    CHECK_EQ_INT(nde_stepper_nfe(st), 1 + 100 * 6);   /* FSAL: 6 new stages per step */
    double ym;
    CHECK(nde_stepper_dense(st, decay, NULL, 0.5, &ym) == NDE_OK);
    CHECK_NEAR(ym, exp(-(t - 0.5 * h)), 1e-12);
    CHECK(nde_stepper_dense(st, decay, NULL, 1.5, &ym) == NDE_EINVAL);
    CHECK(nde_stepper_step(st, decay, NULL, t, 0.0, &y, &y1, &err, 1) == NDE_EINVAL);
    nde_stepper_free(st);
    nde_stepper_free(NULL);
    CHECK(nde_stepper_create(NULL, 1, NULL) == NULL);
    CHECK(nde_stepper_create(m, 0, NULL) == NULL);
}

static void test_eval_errors(void)
{
    double y0 = 1.0, y;
    nde_options o = NDE_OPTIONS_INIT;
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_OK);
    CHECK(nde_solution_eval(&sol, 0.5, &y) == NDE_EINVAL);   /* no dense output kept */
    nde_solution_free(&sol);
    o.save = NDE_SAVE_DENSE;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_OK);
    CHECK(nde_solution_eval(&sol, 0.5, &y) == NDE_OK);
    CHECK_NEAR(y, exp(-0.5), 1e-6);
    CHECK(nde_solution_eval(&sol, 1.5, &y) == NDE_EINVAL);
    CHECK(nde_solution_eval(&sol, -0.1, &y) == NDE_EINVAL);
    CHECK(nde_solution_eval(&sol, NAN, &y) == NDE_EINVAL);
    CHECK(nde_solution_eval(&sol, 0.5, NULL) == NDE_EINVAL);
    CHECK(nde_solution_eval(&sol, 0.0, &y) == NDE_OK && y == 1.0);
    nde_solution_free(&sol);
}

/* ---- the controller, checked against Diffrax's formulas ------------------------- */

typedef struct step_log {
    size_t n;
    double t[4096], dt[4096], err[4096];
    int acc[4096];
} step_log;

static int log_step(double t, double dt, double err, int accepted, void *u)
{
    step_log *L = u;
    if (L->n < 4096) {
        L->t[L->n] = t; L->dt[L->n] = dt; L->err[L->n] = err; L->acc[L->n] = accepted;
        L->n++;
    }
    return 0;
}

/* Every step-size change of a PID-controlled solve must equal
 * clip(safety e_n^-b1 e_{n-1}^-b2 e_{n-2}^-b3, accepted ? [fmin_accept, 10] : [0.2, 0.9])
 * with b1 = (p+i+d)/k, b2 = -(p+2d)/k, b3 = d/k, and history advancing on accepted
 * steps only (Diffrax's PIDController); p = i = d = 0 is the default, Hairer's beta =
 * 0.04 (p = beta k, i = 1 - 1.75 beta k), and fmin_accept 0 its default 0.2. Recomputed
 * here from the logged error norms. */
static void check_pid(double p, double i, double d, double fmin_accept)
{
    static step_log L;
    memset(&L, 0, sizeof L);
    const zoo_problem *vp = zoo_find("vdp");   /* Van der Pol, mu = 5, from (2, 0) */
    CHECK(vp != NULL);
    if (!vp) return;
    nde_ode ode = { 2, vp->f, NULL, NULL, 0, vp->user, NULL, NULL, NULL };
    double y0[2] = { 2.0, 0.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = 1e-6; o.atol = 1e-6;
    o.pcoeff = p; o.icoeff = i; o.dcoeff = d;
    o.factormin_accept = fmin_accept;
    o.on_step = log_step; o.on_step_user = &L;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 10, y0, &o, &sol) == NDE_OK);
    nde_solution_free(&sol);
    CHECK(L.n > 50 && L.n < 4096);
    double k = 5.0;
    if (p == 0.0 && i == 0.0 && d == 0.0) { p = 0.04 * k; i = 1.0 - 1.75 * 0.04 * k; }  /* default: beta 0.04 */
    double b1 = (p + i + d) / k, b2 = -(p + 2 * d) / k, b3 = d / k;
    double lo_acc = fmin_accept > 0 ? fmin_accept : 0.2;
    double inv1 = 1.0, inv2 = 1.0, worst = 0.0;
    size_t checked = 0, shrunk_after_accept = 0;
    for (size_t n = 0; n + 2 < L.n; n++) {   /* the last step is clipped to t1 */
        double e = L.err[n], inv = e == 0.0 ? INFINITY : 1.0 / e;
        double f = 0.9 * pow(inv, b1) * pow(inv1, b2) * pow(inv2, b3);
        double lo = L.acc[n] ? lo_acc : 0.2, hi = L.acc[n] ? 10.0 : 0.9;
        f = f < lo ? lo : f > hi ? hi : f;
        double ratio = L.dt[n + 1] / L.dt[n];
        double rel = fabs(ratio - f) / f;
        if (rel > worst) worst = rel;
        checked++;
        if (L.acc[n]) {
            if (ratio < 1.0 - 1e-12) shrunk_after_accept++;   /* (s+h)-s rounds by an ULP of s */
            inv2 = inv1;
            inv1 = (inv == 0.0 || isinf(inv)) ? 1.0 : inv;
        }
    }
    CHECK_MSG(worst < 1e-12, "PID p=%g i=%g d=%g: worst relative deviation from Diffrax's factor %.3g over %zu steps",
              p, i, d, worst, checked);
    if (fmin_accept == 1.0) CHECK_EQ_INT(shrunk_after_accept, 0);   /* Diffrax: never */
    else CHECK(shrunk_after_accept > 0);
}

static void test_pid_formula(void)
{
    check_pid(0.0, 0.0, 0.0, 0.0);    /* the default: Hairer's PI (beta 0.04), factormin_accept 0.2 */
    check_pid(0.0, 1.0, 0.0, 1.0);    /* Diffrax's default: I-controller, never shrinking after acceptance */
    check_pid(0.3, 0.4, 0.0, 1.0);    /* PI, Diffrax's suggestion for harder problems */
    check_pid(0.2, 0.4, 0.1, 1.0);    /* full PID */
    check_pid(0.0, 1.0, 0.0, 0.3);    /* shrinking after accepted steps allowed */
}

static int fast_decay(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -1e6 * y[0]; return 0; }

static void test_dtmin_dtmax(void)
{
    double y0 = 1.0;
    static step_log L;
    memset(&L, 0, sizeof L);
    nde_options o = NDE_OPTIONS_INIT;
    o.dtmax = 0.05; o.on_step = log_step; o.on_step_user = &L;
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0, 10, &y0, &o, &sol) == NDE_OK);
    double worst = 0.0;
    for (size_t n = 0; n < L.n; n++) worst = fmax(worst, fabs(L.dt[n]));
    CHECK_MSG(worst <= 0.05 * (1 + 1e-12), "largest step %.17g > dtmax 0.05", worst);
    CHECK(L.n >= 200);
    nde_solution_free(&sol);
    /* Explicit stability on y' = -1e6 y needs h < ~3e-6: dtmin = 1e-4 cannot hold. */
    nde_ode stiff = { 1, fast_decay, NULL, NULL, 0, NULL, NULL, NULL, NULL };
    o = (nde_options)NDE_OPTIONS_INIT;
    o.dtmin = 1e-4; o.dt0 = 1e-3;
    int rc = nde_ode_solve(&stiff, 0, 1, &y0, &o, &sol);
    CHECK_MSG(rc == NDE_EDTMIN, "expected EDTMIN, got %s", nde_status_str(rc));
    CHECK(strstr(nde_solution_message(&sol), "dtmin") != NULL);
    nde_solution_free(&sol);
    o.dtmin = 2e-4; o.dtmax = 1e-4;
    expect_einval(&DECAY, 0, 1, &y0, &o, "exceeds dtmax");
}

/* ---- regressions from review ----------------------------------------------------- */

#include "core/internal.h"

static void test_ulps_exact(void)
{
    double x = 1.0, y = 1.0;
    for (int i = 0; i < 101; i++) y = nextafter(y, 2.0);
    CHECK(nde__ulps_between(x, y) == 101.0);
    CHECK(nde__ulps_between(y, x) == 101.0);
    CHECK(nde__ulps_between(-0.0, 0.0) == 0.0);
    CHECK(nde__ulps_between(nextafter(0.0, -1.0), nextafter(0.0, 1.0)) == 2.0);
    CHECK(nde__time_close(x, y, 101.0) && !nde__time_close(x, y, 100.0));
    CHECK(nde__time_shift(1.0, 101) == y);
    CHECK(nde__time_shift(DBL_MAX, 5) == INFINITY);
}

static void test_grid_to_zero(void)
{
    /* 0.9 -> 0 with dt0 = -0.3: 0.9 - 3*0.3 = 1.1e-16 must count as t = 0 (3 steps). */
    double y0 = 1.0;
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 0; o.dt0 = -0.3; o.save = NDE_SAVE_STEPS;
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0.9, 0.0, &y0, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.n, 3);
    CHECK(sol.t[sol.n - 1] == 0.0);
    nde_solution_free(&sol);
    /* ts one ULP past t1 (linspace round-off) is accepted as t1 */
    double ts[2] = { 0.5, nextafter(1.0, 2.0) };
    o = (nde_options)NDE_OPTIONS_INIT; o.ts = ts; o.n_ts = 2;
    CHECK(nde_ode_solve(&DECAY, 0.0, 1.0, &y0, &o, &sol) == NDE_OK);
    CHECK(sol.n == 2 && sol.t[1] == 1.0);
    nde_solution_free(&sol);
}

static void test_dt0_bounds(void)
{
    double y0 = 1.0;
    static step_log L;
    memset(&L, 0, sizeof L);
    nde_options o = NDE_OPTIONS_INIT;
    o.dt0 = 0.5; o.dtmax = 0.01; o.on_step = log_step; o.on_step_user = &L;
    nde_solution sol;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_OK);
    CHECK_MSG(fabs(L.dt[0]) <= 0.01 * (1 + 1e-12), "first step %g ignores dtmax 0.01", L.dt[0]);
    nde_solution_free(&sol);
    o = (nde_options)NDE_OPTIONS_INIT;
    o.dt0 = 1e-6; o.dtmin = 1e-3;
    expect_einval(&DECAY, 0, 1, &y0, &o, "below dtmin");
}

static void test_jump_one_ulp_ahead(void)
{
    double y0 = 1.0, jumps[2] = { 0.5, 0.0 };
    jumps[1] = nde__time_shift(0.5, 3);
    nde_options o = NDE_OPTIONS_INIT;
    o.jump_ts = jumps; o.n_jump_ts = 2;
    nde_solution sol;
    int rc = nde_ode_solve(&DECAY, nextafter(0.5, 0.0), 1.0, &y0, &o, &sol);
    CHECK_MSG(rc == NDE_OK, "start one ULP before a jump: %s (%s)", nde_status_str(rc), nde_solution_message(&sol));
    CHECK_NEAR(sol.y[0], exp(-0.5), 1e-7);
    nde_solution_free(&sol);
}

static int count_calls;
static int tcross(double t, const double *y, double *g, void *u)
{ (void)y; (void)u; count_calls++; g[0] = t - 0.5; return 0; }

static void test_event_at_step_end(void)
{
    /* Constant steps of 0.25: the root t = 0.5 is exactly a step end. */
    double y0 = 1.0;
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 0; o.dt0 = 0.25; o.event = tcross; o.n_events = 1;
    char buf[NDE_MESSAGE_MAX] = "untouched";
    o.errbuf = buf; o.errbuf_size = sizeof buf;
    nde_solution sol;
    count_calls = 0;
    CHECK(nde_ode_solve(&DECAY, 0, 1, &y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n_event_hits == 1 && sol.event_t[0] == 0.5);
    CHECK_MSG(count_calls <= 4, "event at a step end took %d event calls", count_calls);
    CHECK_MSG(strcmp(buf, "untouched") == 0, "errbuf written on NDE_EVENT: %s", buf);
    nde_solution_free(&sol);
}

static void test_dense_continuity(void)
{
    /* The interpolant of each step ends exactly (to round-off) at the step's y1. */
    const char *names[] = { "dopri5", "tsit5", "dopri8", "bosh3" };
    for (int i = 0; i < 4; i++) {
        nde_stepper *st = nde_stepper_create(nde_method_find(names[i]), 2, NULL);
        double y[2] = { 1.0, 0.0 }, y1[2], yd[2];
        CHECK(nde_stepper_step(st, osc, NULL, 0.0, 0.25, y, y1, NULL, 0) == NDE_OK);
        CHECK(nde_stepper_dense(st, osc, NULL, 1.0, yd) == NDE_OK);
        double e = fmax(fabs(yd[0] - y1[0]), fabs(yd[1] - y1[1]));
        CHECK_MSG(e <= 4e-16, "%s: dense(1) - y1 = %.3g", names[i], e);
        nde_stepper_free(st);
    }
}

static void test_terminal_event_no_alloc(void)
{
    /* A terminal event must not allocate in the loop: same count for short and long
     * solves that end in an event. */
    size_t calls[2];
    double t1s[2] = { 0.7, 60.7 };
    for (int i = 0; i < 2; i++) {
        test_alloc ta; test_alloc_init(&ta);
        int down = 0;
        nde_options o = NDE_OPTIONS_INIT;
        o.allocator = &ta.a; o.event = tcross; o.n_events = 1; o.event_direction = &down;
        double y0[2] = { 1.0, 0.0 };
        nde_solution sol;
        CHECK(nde_ode_solve(&OSC, 0, t1s[i], y0, &o, &sol) == NDE_EVENT);
        calls[i] = ta.calls;
        nde_solution_free(&sol);
    }
    CHECK_MSG(calls[0] == calls[1], "allocations: %zu vs %zu", calls[0], calls[1]);
}

static void test_stepper_retry_reuses_f0(void)
{
    nde_stepper *st = nde_stepper_create(nde_method_find("dopri5"), 1, NULL);
    double y = 1.0, y1, err;
    CHECK(nde_stepper_step(st, decay, NULL, 0.0, 0.5, &y, &y1, &err, 0) == NDE_OK);
    size_t n1 = nde_stepper_nfe(st);
    CHECK(nde_stepper_step(st, decay, NULL, 0.0, 0.25, &y, &y1, &err, 1) == NDE_OK);   /* retry */
    CHECK_EQ_INT(nde_stepper_nfe(st) - n1, 6);
    CHECK_NEAR(y1, exp(-0.25), 1e-6);   /* one dopri5 step of 0.25: local error ~8e-8 */
    nde_stepper_free(st);
}

int main(void)
{
    RUN(test_bad_input);
    RUN(test_null_options_default);
    RUN(test_statuses);
    RUN(test_retry_smaller);
    RUN(test_zero_allocations_in_loop);
    RUN(test_enomem_every_allocation);
    RUN(test_constant_step_semantics);
    RUN(test_tiny_time_scale);
    RUN(test_stepper_api);
    RUN(test_eval_errors);
    RUN(test_pid_formula);
    RUN(test_dtmin_dtmax);
    RUN(test_ulps_exact);
    RUN(test_grid_to_zero);
    RUN(test_dt0_bounds);
    RUN(test_jump_one_ulp_ahead);
    RUN(test_event_at_step_end);
    RUN(test_dense_continuity);
    RUN(test_terminal_event_no_alloc);
    RUN(test_stepper_retry_reuses_f0);
    return test_summary();
}
