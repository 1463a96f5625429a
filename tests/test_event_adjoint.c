/* Terminal events in checkpointed taped solves (include/nde/adjoint.h): the event time
 * depends on the parameters through g(t*, y(t*)) = 0, and the end state y(t*) with it.
 * Oracles: Diffrax's bouncing ball (x' = v, v' = -8: the gradient of the impact time
 * against its closed form, which Diffrax checks to rtol 1e-5), for every explicit
 * Runge-Kutta method of order >= 2 (exact on this quadratic solution); central finite
 * differences of the discrete solve (constant steps, so that perturbations keep the
 * steps) on Lotka-Volterra with a time-dependent event condition, every explicit method,
 * forwards and backwards in time; non-terminal events change nothing; a tangential
 * crossing is refused; out of memory at every allocation. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"

static int is_erk(const nde_method *m) { return nde_method_kind(m) == NDE_METHOD_EXPLICIT_RK; }

/* ---- the bouncing ball, with a clock: y = (x, v, tau), tau(t*) = t* ------------------ */

static int ball_f(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1]; dy[1] = -8.0; dy[2] = 1.0;
    return 0;
}
static int ball_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y; (void)at; (void)u;
    if (ay) { ay[0] = 0.0; ay[1] = a[0]; ay[2] = 0.0; }
    return 0;
}
static int ground(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = y[0]; return 0; }

/* Taped solve from (x0, v0, 0) until impact, then the gradient of L = c . y(t*) w.r.t. y0. */
static int ball_gradient(const nde_method *m, int adaptive, const double *y0, const double *c, double *g,
                         double *t_hit)
{
    nde_ode ode = { .dim = 3, .f = ball_f, .vjp = ball_vjp };
    const int down = -1;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    if (!adaptive) { o.rtol = 0; o.dt0 = 0.01; }
    o.event = ground; o.n_events = 1; o.event_direction = &down;
    nde_tape *tape = nde_tape_create(NULL);
    nde_solution sol;
    int rc = nde_ode_solve_taped(&ode, 0, 10, y0, &o, tape, &sol);
    if (rc == NDE_EVENT) {
        *t_hit = sol.event_t[0];
        rc = sol.n == 1 ? nde_ode_backward(tape, c, g, NULL) : -100;
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    return rc;
}

static void test_bouncing_ball_event_time(void)
{
    const double x0 = 2.0, v0 = 1.5, y0[3] = { x0, v0, 0.0 }, D = sqrt(v0 * v0 + 16.0 * x0);
    /* x0 + v0 t - 4 t^2 = 0: t* = (v0 + sqrt(v0^2 + 16 x0)) / 8 */
    const double t_exact = (v0 + D) / 8.0, dt_dx0 = 1.0 / D, dt_dv0 = (1.0 + v0 / D) / 8.0;
    const double clock[3] = { 0, 0, 1 }, height[3] = { 1, 0, 0 }, speed[3] = { 0, 1, 0 };
    size_t n = 0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!is_erk(m) || nde_method_order(m) < 2) continue;
        const char *name = nde_method_name(m);
        for (int adaptive = 0; adaptive < 2; adaptive++) {
            if (adaptive && nde_method_embedded_order(m) == 0) continue;
            double g[3], th;
            int rc = ball_gradient(m, adaptive, y0, clock, g, &th);
            CHECK_MSG(rc == NDE_OK, "[%s] returned %d", name, rc);
            if (rc) continue;
            n++;
            /* (vern6's interpolant, adaptive: 5e-12 off) */
            CHECK_MSG(fabs(th - t_exact) < 1e-10, "[%s] t* = %.17g, exact %.17g", name, th, t_exact);
            /* Diffrax: rtol 1e-5; the solution is quadratic, so every method of order >= 2
             * and its interpolant are exact, and so is the gradient (to the differences of
             * g, exact for this linear g) */
            CHECK_MSG(fabs(g[0] - dt_dx0) <= 1e-9 * dt_dx0 && fabs(g[1] - dt_dv0) <= 1e-9 * dt_dv0,
                      "[%s %s] dt*/d(x0, v0) = (%.12g, %.12g), exact (%.12g, %.12g)", name,
                      adaptive ? "adaptive" : "constant", g[0], g[1], dt_dx0, dt_dv0);
            CHECK(fabs(g[2] - 1.0) <= 1e-12);   /* d t* / d tau0 = 1: the clock's offset */
            /* x(t*) = 0 whatever y0: its gradient vanishes */
            CHECK(ball_gradient(m, adaptive, y0, height, g, &th) == NDE_OK);
            CHECK_MSG(fabs(g[0]) < 1e-12 && fabs(g[1]) < 1e-12, "[%s] dx(t*)/dy0 = (%g, %g)", name, g[0], g[1]);
            /* v(t*) = v0 - 8 t* */
            CHECK(ball_gradient(m, adaptive, y0, speed, g, &th) == NDE_OK);
            CHECK(fabs(g[0] + 8.0 * dt_dx0) <= 1e-9 && fabs(g[1] - (1.0 - 8.0 * dt_dv0)) <= 1e-9);
        }
    }
    CHECK(n >= 15);
}

/* ---- finite differences: Lotka-Volterra, an event condition in t and y ----------------- */

typedef struct lv { double p[4]; } lv;
static int lv_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *p = ((const lv *)u)->p;
    dy[0] = p[0] * y[0] - p[1] * y[0] * y[1];
    dy[1] = p[2] * y[0] * y[1] - p[3] * y[1];
    return 0;
}
static int lv_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *p = ((const lv *)u)->p;
    if (ay) {
        ay[0] = a[0] * (p[0] - p[1] * y[1]) + a[1] * p[2] * y[1];
        ay[1] = -a[0] * p[1] * y[0] + a[1] * (p[2] * y[0] - p[3]);
    }
    if (at) { at[0] = a[0] * y[0]; at[1] = -a[0] * y[0] * y[1]; at[2] = a[1] * y[0] * y[1]; at[3] = -a[1] * y[1]; }
    return 0;
}
/* g0 = y0 y1 - 1.2 - 0.1 |t| (terminal, up), g1 = y1 - 10 (never fires) */
static int lv_event(double t, const double *y, double *g, void *u)
{
    (void)u;
    g[0] = y[0] * y[1] - 1.2 - 0.1 * fabs(t);
    g[1] = y[1] - 10.0;
    return 0;
}

#define NTS 2
/* L = w . y(t*) + v . y(ts[0]) (ts[0] before the event) from a taped solve, constant
 * steps of dt0 from t0 = 0 to +-4; NDE_SAVE_T1 saves the event point after the ts. */
static int lv_loss(const nde_method *m, double dir, lv *P, const double *y0, double *L, double *gy0, double *gp,
                   double *t_event)
{
    nde_ode ode = { .dim = 2, .f = lv_f, .vjp = lv_vjp, .n_params = 4, .user = P };
    const int up[2] = { 1, 1 };
    /* inside the first step (from its interpolant), and after the event (dropped) */
    const double ts[NTS] = { 0.02 * dir, 3.9 * dir };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 0; o.dt0 = 0.05 * dir;
    o.event = lv_event; o.n_events = 2; o.event_direction = up;
    o.ts = ts; o.n_ts = NTS; o.save = NDE_SAVE_T1;
    nde_tape *tape = nde_tape_create(NULL);
    nde_solution sol;
    int rc = nde_ode_solve_taped(&ode, 0, 4 * dir, y0, &o, tape, &sol);
    if (rc == NDE_EVENT && sol.n == 2 && sol.event_which[0] == 0) {
        const double c[4] = { 0.3, -0.7, 1.0, 0.5 };   /* v (point 0), w (the event point) */
        *L = 0;
        for (int i = 0; i < 4; i++) *L += c[i] * sol.y[i];
        *t_event = sol.event_t[0];
        rc = gy0 ? nde_ode_backward(tape, c, gy0, gp) : NDE_OK;
    } else if (rc == NDE_EVENT) {
        rc = -100;
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    return rc;
}

/* Central differences (eps 1e-5) of the discrete L: the step sequence is fixed and the
 * event root is found to a few ULP (event_tol 0). Agreement to 1e-7 (1 + |fd|). Measured
 * worst: 1.8e-8 (vern6; the others 1e-10 .. 1e-9). vern6's and vern8's located roots
 * carry ~1e-13 of noise (the root finder on their degree-6/8 interpolants), so their
 * differences' error grows like 1/eps: vern6 1.5e-7 at eps = 1e-6, 1.5e-6 at 1e-7,
 * while tsit5's stays near 1e-10 down to 1e-6; eps = 1e-5 keeps truncation (eps^2) and
 * that noise both below 2e-8. */
static void test_event_gradient_finite_differences(void)
{
    size_t n = 0, n_erk = 0;
    double worst_all = 0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!is_erk(m)) continue;
        const char *name = nde_method_name(m);
        n_erk++;
        for (int back = 0; back < 2; back++) {
            const double dir = back ? -1.0 : 1.0;
            lv P = { { 1.5, 1.0, 1.0, 3.0 } };
            double y0[2] = { 1.0, 1.0 }, L, gy0[2], gp[4], te;
            int rc = lv_loss(m, dir, &P, y0, &L, gy0, gp, &te);
            CHECK_MSG(rc == NDE_OK, "[%s] returned %d", name, rc);
            if (rc) continue;
            n++;
            double worst = 0;
            for (int k = 0; k < 6; k++) {
                double *x = k < 2 ? &y0[k] : &P.p[k - 2], keep = *x, eps = 1e-5, Lp, Lm, tp, tm;
                *x = keep + eps;
                int rp = lv_loss(m, dir, &P, y0, &Lp, NULL, NULL, &tp);
                *x = keep - eps;
                int rm = lv_loss(m, dir, &P, y0, &Lm, NULL, NULL, &tm);
                *x = keep;
                CHECK(rp == NDE_OK && rm == NDE_OK);
                double fd = (Lp - Lm) / (2 * eps), an = k < 2 ? gy0[k] : gp[k - 2];
                worst = fmax(worst, fabs(an - fd) / (1 + fabs(fd)));
                CHECK_MSG(fabs(an - fd) <= 1e-7 * (1 + fabs(fd)), "[%s dir %g] dL/dx[%d] = %.10g, fd %.10g", name,
                          dir, k, an, fd);
            }
            worst_all = fmax(worst_all, worst);
            if (!back && strcmp(name, "tsit5") == 0)
                printf("  tsit5: t* = %.6f, max |grad - fd| / (1 + |fd|) = %.2e\n", te, worst);
        }
    }
    printf("  every explicit method, both directions: max |grad - fd| / (1 + |fd|) = %.2e\n", worst_all);
    CHECK(n_erk >= 12 && n == 2 * n_erk);
}

/* Non-terminal events only record: the gradient is the same, bit for bit, as without them. */
static int lv_event_nonterminal(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = y[0] - 1.1;
    return 0;
}

static void test_nonterminal_events_change_nothing(void)
{
    lv P = { { 1.5, 1.0, 1.0, 3.0 } };
    nde_ode ode = { .dim = 2, .f = lv_f, .vjp = lv_vjp, .n_params = 4, .user = &P };
    const double y0[2] = { 1.0, 1.0 }, c[2] = { 1.0, -2.0 };
    double g[2][2], gp[2][4];
    for (int with = 0; with < 2; with++) {
        nde_options o = NDE_OPTIONS_INIT;
        const int nonterminal = 0;
        if (with) { o.event = lv_event_nonterminal; o.n_events = 1; o.event_terminal = &nonterminal; }
        nde_tape *tape = nde_tape_create(NULL);
        nde_solution sol;
        CHECK(nde_ode_solve_taped(&ode, 0, 3, y0, &o, tape, &sol) == NDE_OK);
        if (with) CHECK(sol.n_event_hits >= 2);
        CHECK(nde_ode_backward(tape, c, g[with], gp[with]) == NDE_OK);
        nde_solution_free(&sol);
        nde_tape_free(tape);
    }
    CHECK(memcmp(g[0], g[1], sizeof g[0]) == 0 && memcmp(gp[0], gp[1], sizeof gp[0]) == 0);
}

/* g = -(t - 1)^2 touches 0 at t = 1, a step end of dt0 = 0.25: a tangential "crossing",
 * whose time has no derivative (NDE_EINVAL, outputs untouched). Backsolve and the
 * reversible adjoint take no user events (NDE_EUNSUPPORTED). */
static int touch(double t, const double *y, double *g, void *u) { (void)y; (void)u; g[0] = -(t - 1) * (t - 1); return 0; }
static int decay(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = -y[0]; return 0; }
static int decay_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y; (void)at; (void)u;
    if (ay) ay[0] = -a[0];
    return 0;
}

static void test_event_bad_input(void)
{
    nde_ode ode = { .dim = 1, .f = decay, .vjp = decay_vjp };
    double y0 = 1.0, c = 1.0, g = 42;
    const int up = 1;
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 0; o.dt0 = 0.25; o.method = nde_method_find("rk4");
    o.event = touch; o.n_events = 1; o.event_direction = &up;
    nde_tape *tape = nde_tape_create(NULL);
    nde_solution sol;
    CHECK(nde_ode_solve_taped(&ode, 0, 2, &y0, &o, tape, &sol) == NDE_EVENT);
    CHECK(sol.n_event_hits == 1 && sol.event_t[0] == 1.0);
    CHECK(nde_ode_backward(tape, &c, &g, NULL) == NDE_EINVAL && g == 42);
    CHECK(strstr(nde_tape_message(tape), "tangentially") != NULL);
    double zero = 0.0;   /* nothing asks for the event time's derivative: fine */
    CHECK(nde_ode_backward(tape, &zero, &g, NULL) == NDE_OK && g == 0.0);
    nde_solution_free(&sol);
    nde_tape_free(tape);
    const int kinds[2] = { NDE_ADJOINT_BACKSOLVE, NDE_ADJOINT_REVERSIBLE };
    for (int k = 0; k < 2; k++) {
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = kinds[k];
        tape = nde_tape_create(&ao);
        o.method = nde_method_find(k ? "reversible_heun" : "rk4");
        CHECK(nde_ode_solve_taped(&ode, 0, 2, &y0, &o, tape, &sol) == NDE_EUNSUPPORTED);
        CHECK(strstr(nde_solution_message(&sol), "NDE_ADJOINT_CHECKPOINT") != NULL);
        nde_solution_free(&sol);
        nde_tape_free(tape);
    }
}

/* Every allocation of an event-terminated taped solve and its backward pass failed in
 * turn: NDE_ENOMEM (or a NULL tape), no leaks, and the run that gets all its memory
 * gives the gradient of the run with malloc. */
static void test_event_out_of_memory(void)
{
    const double y0[3] = { 2.0, 1.5, 0.0 }, c[3] = { 0, 0, 1 };
    nde_ode ode = { .dim = 3, .f = ball_f, .vjp = ball_vjp };
    const int down = -1;
    double ref[3], th;
    CHECK(ball_gradient(nde_method_find("tsit5"), 1, y0, c, ref, &th) == NDE_OK);
    int done = 0;
    for (size_t n = 1; n < 200 && !done; n++) {
        test_alloc ta;
        test_alloc_init(&ta);
        ta.fail_at = n;
        nde_options o = NDE_OPTIONS_INIT;
        o.event = ground; o.n_events = 1; o.event_direction = &down; o.allocator = &ta.a;
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.allocator = &ta.a;
        nde_tape *tape = nde_tape_create(&ao);
        if (tape) {
            nde_solution sol;
            int rc = nde_ode_solve_taped(&ode, 0, 10, y0, &o, tape, &sol);
            CHECK_MSG(rc == NDE_EVENT || rc == NDE_ENOMEM, "fail_at %zu: solve returned %d", n, rc);
            if (rc == NDE_EVENT) {
                double g[3];
                rc = nde_ode_backward(tape, c, g, NULL);
                CHECK_MSG(rc == NDE_OK || rc == NDE_ENOMEM, "fail_at %zu: backward returned %d", n, rc);
                if (rc == NDE_OK) { done = 1; CHECK(memcmp(g, ref, sizeof g) == 0); }
            }
            nde_solution_free(&sol);
            nde_tape_free(tape);
        }
        CHECK_MSG(ta.live == 0, "fail_at %zu: %zu allocations leaked", n, ta.live);
    }
    CHECK(done);
}

int main(void)
{
    RUN(test_bouncing_ball_event_time);
    RUN(test_event_gradient_finite_differences);
    RUN(test_nonterminal_events_change_nothing);
    RUN(test_event_bad_input);
    RUN(test_event_out_of_memory);
    return test_summary();
}
