/* Steady states: the steady-state event (nde_options.steady_state) over every
 * registered ODE method, and the implicit adjoint NDE_ADJOINT_IMPLICIT (include/nde/
 * adjoint.h) against closed forms (a linear system y' = -A y + b(theta), whose steady
 * state is A^-1 b; y' = theta - y^3, whose is theta^(1/3)) and against central finite
 * differences of the solved steady state of a small tanh MLP field with a stable fixed
 * point; Diffrax's training test (learn a steady state of 0.76 to 1e-2 in 100 SGD
 * steps); memory flat in the steps; bad input and out-of-memory at every allocation. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"

/* ---- the steady-state event -------------------------------------------------------- */

/* y' = b - k y componentwise: steady state b / k, every solution converges to it. */
static const double K_RATE[2] = { 1.0, 2.0 }, B_LEVEL[2] = { 0.5, -1.0 };
static int relax_f(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    for (int i = 0; i < 2; i++) dy[i] = B_LEVEL[i] - K_RATE[i] * y[i];
    return 0;
}

static double rms(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s / (double)n);
}

/* The event's own test at (t, y), evaluated independently of the loop. */
static int is_steady(const nde_ode *ode, double t, const double *y, double rtol, double atol)
{
    double f[2];
    ode->f(t, y, f, ode->user);
    return rms(f, ode->dim) < atol + rtol * rms(y, ode->dim);
}

/* Whether the method's solutions of the relaxation settle: all but reversible_heun, whose
 * parasitic mode grows like e^{|lambda| t} on dissipative problems (nde/ode.h), so that
 * its solution of y' = b - k y leaves y* (|f| ~ 1e6 by t = 13 with h = 0.05). */
static int settles(const nde_method *m) { return nde_method_kind(m) != NDE_METHOD_REVERSIBLE; }

/* Options for method m on the relaxation: adaptive where the method has an error
 * estimate, else dt0 = 0.05. */
static nde_options relax_options(const nde_method *m)
{
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    if (nde_method_embedded_order(m) == 0) { o.rtol = 0; o.dt0 = 0.05; }
    o.steady_state = 1;
    return o;
}

/* Every ODE method that settles: the solve ends with NDE_EVENT at the FIRST saved step
 * end where the test holds (no earlier step end passes it), records it like a terminal
 * event, and saves it once. */
static void test_steady_event_every_method(void)
{
    nde_ode ode = { .dim = 2, .f = relax_f };
    const double y0[2] = { 2.0, 1.0 }, T1 = 1000.0;
    size_t n_methods = 0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m) || !settles(m)) continue;
        const char *name = nde_method_name(m);
        nde_options o = relax_options(m);
        o.save = NDE_SAVE_STEPS;
        nde_solution sol;
        int rc = nde_ode_solve(&ode, 0.0, T1, y0, &o, &sol);
        double rtol = o.rtol, atol = o.atol;
        CHECK_MSG(rc == NDE_EVENT, "[%s] returned %d (%s)", name, rc, nde_solution_message(&sol));
        if (rc == NDE_EVENT) {
            n_methods++;
            CHECK_EQ_INT(sol.n_event_hits, 1);
            CHECK_EQ_INT(sol.event_which[0], NDE_EVENT_STEADY_STATE);
            double te = sol.event_t[0];
            CHECK_MSG(te > 0.0 && te < T1, "[%s] steady at t = %g", name, te);
            CHECK_MSG(is_steady(&ode, te, sol.event_y, rtol, atol), "[%s] the event state is not steady", name);
            /* the last saved point is the event, saved once; no earlier step end is steady */
            CHECK(sol.n >= 2 && sol.t[sol.n - 1] == te);
            CHECK(memcmp(sol.y + (sol.n - 1) * 2, sol.event_y, 2 * sizeof(double)) == 0);
            CHECK(sol.n < 2 || sol.t[sol.n - 2] < te);
            for (size_t i = 0; i + 1 < sol.n; i++)
                CHECK_MSG(!is_steady(&ode, sol.t[i], sol.y + i * 2, rtol, atol), "[%s] step end %zu (t = %g) was "
                          "already steady", name, i, sol.t[i]);
            /* the state is close to b / k: |y - y*| = |f| / k */
            for (int d = 0; d < 2; d++)
                CHECK_MSG(fabs(sol.event_y[d] - B_LEVEL[d] / K_RATE[d]) < 2.0 * (atol + rtol * 2.0),
                          "[%s] y[%d] = %.17g", name, d, sol.event_y[d]);
        }
        nde_solution_free(&sol);
    }
    CHECK(n_methods >= 20);
}

/* Saving, tolerances, direction, t1 before the steady state, bad options. */
static void test_steady_event_options(void)
{
    nde_ode ode = { .dim = 2, .f = relax_f };
    const double y0[2] = { 2.0, 1.0 };
    nde_solution sol;
    nde_options o = NDE_OPTIONS_INIT;
    o.steady_state = 1;
    /* default saving: the steady point only */
    CHECK(nde_ode_solve(&ode, 0, 1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n == 1 && sol.t[0] == sol.event_t[0]);
    double t_default = sol.event_t[0];
    CHECK(strstr(nde_solution_message(&sol), "steady state") != NULL);
    nde_solution_free(&sol);
    /* a looser steady_atol ends earlier; the test uses it */
    o.steady_atol = 1e-3; o.steady_rtol = 1e-3;
    CHECK(nde_ode_solve(&ode, 0, 1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.event_t[0] < t_default);
    CHECK(is_steady(&ode, sol.event_t[0], sol.event_y, 1e-3, 1e-3));
    CHECK(!is_steady(&ode, sol.event_t[0], sol.event_y, 1e-6, 1e-9));
    nde_solution_free(&sol);
    o.steady_atol = o.steady_rtol = 0;
    /* ts: those after the steady state are dropped; NDE_SAVE_T1 adds the steady point */
    const double ts[4] = { 1.0, 2.0, 5.0, 500.0 };
    o.ts = ts; o.n_ts = 4;
    CHECK(nde_ode_solve(&ode, 0, 1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n == 3 && sol.t[2] == 5.0);
    nde_solution_free(&sol);
    o.save = NDE_SAVE_T1;
    CHECK(nde_ode_solve(&ode, 0, 1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n == 4 && sol.t[3] == sol.event_t[0]);
    nde_solution_free(&sol);
    o.ts = NULL; o.n_ts = 0; o.save = 0;
    /* t1 before the steady state: an ordinary end */
    CHECK(nde_ode_solve(&ode, 0, 1, y0, &o, &sol) == NDE_OK);
    CHECK(sol.n_event_hits == 0 && sol.n == 1 && sol.t[0] == 1.0);
    nde_solution_free(&sol);
    /* bad options */
    o.steady_atol = -1;
    CHECK(nde_ode_solve(&ode, 0, 10, y0, &o, &sol) == NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "steady_atol") != NULL);
    nde_solution_free(&sol);
    o.steady_atol = NAN;
    CHECK(nde_ode_solve(&ode, 0, 10, y0, &o, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);
    o.steady_atol = 0; o.steady_rtol = -1;
    CHECK(nde_ode_solve(&ode, 0, 10, y0, &o, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);
    o.steady_rtol = 0; o.rtol = 0; o.atol = 0; o.dt0 = 0.1;   /* constant steps, no tolerance at all */
    CHECK(nde_ode_solve(&ode, 0, 10, y0, &o, &sol) == NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "tolerance") != NULL);
    nde_solution_free(&sol);
    o.steady_atol = 1e-8;   /* constant steps with an explicit steady_atol */
    CHECK(nde_ode_solve(&ode, 0, 100, y0, &o, &sol) == NDE_EVENT);
    CHECK(is_steady(&ode, sol.event_t[0], sol.event_y, 0.0, 1e-8));
    nde_solution_free(&sol);
}

/* y' = k y - b relaxes to b / k as t DEcreases: the event works in a backward solve. */
static int anti_relax_f(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    for (int i = 0; i < 2; i++) dy[i] = K_RATE[i] * y[i] - B_LEVEL[i];
    return 0;
}

static void test_steady_event_backward(void)
{
    nde_ode ode = { .dim = 2, .f = anti_relax_f };
    const double y0[2] = { 2.0, 1.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.steady_state = 1;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, -1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n_event_hits == 1 && sol.event_t[0] < 0 && sol.event_t[0] > -1000);
    CHECK(is_steady(&ode, sol.event_t[0], sol.event_y, o.rtol, o.atol));
    CHECK(sol.n == 1 && sol.t[0] == sol.event_t[0]);
    nde_solution_free(&sol);
}

/* With a user event: the user's terminal event before the steady state ends the solve;
 * a non-terminal one is recorded and the steady state then ends it. */
static int ev_y0(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = y[0] - 1.0; return 0; }

static void test_steady_event_with_user_events(void)
{
    nde_ode ode = { .dim = 2, .f = relax_f };
    const double y0[2] = { 2.0, 1.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.steady_state = 1;
    o.event = ev_y0; o.n_events = 1;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n_event_hits == 1 && sol.event_which[0] == 0);
    CHECK_NEAR(sol.event_t[0], log(1.5 / 0.5), 1e-5);   /* y0 = 0.5 + 1.5 e^-t = 1 */
    nde_solution_free(&sol);
    const int nonterminal = 0;
    o.event_terminal = &nonterminal;
    CHECK(nde_ode_solve(&ode, 0, 1000, y0, &o, &sol) == NDE_EVENT);
    CHECK(sol.n_event_hits == 2 && sol.event_which[0] == 0 && sol.event_which[1] == NDE_EVENT_STEADY_STATE);
    CHECK(sol.event_t[1] > sol.event_t[0]);
    nde_solution_free(&sol);
}

/* ---- the implicit adjoint: closed forms ------------------------------------------------ */

/* y' = -A y + b(theta), b = (theta0, sin theta1, theta0 theta2); A fixed, stable. */
static const double A_LIN[9] = { 2.0, 0.5, 0.0, -0.3, 1.0, 0.2, 0.1, 0.0, 1.5 };
static int lin_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *th = u;
    double b[3] = { th[0], sin(th[1]), th[0] * th[2] };
    for (int i = 0; i < 3; i++) dy[i] = b[i] - (A_LIN[3 * i] * y[0] + A_LIN[3 * i + 1] * y[1] + A_LIN[3 * i + 2] * y[2]);
    return 0;
}
static int lin_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y;
    const double *th = u;
    if (ay)
        for (int j = 0; j < 3; j++) ay[j] = -(A_LIN[j] * a[0] + A_LIN[3 + j] * a[1] + A_LIN[6 + j] * a[2]);
    if (at) { at[0] = a[0] + a[2] * th[2]; at[1] = a[1] * cos(th[1]); at[2] = a[2] * th[0]; }
    return 0;
}
static int lin_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)y; (void)u;
    for (int i = 0; i < 9; i++) J[i] = -A_LIN[i];
    return 0;
}

/* x = A^-1 r by Cramer's rule (3 x 3). */
static void solve3(const double *M, const double *r, double *x)
{
    double det = M[0] * (M[4] * M[8] - M[5] * M[7]) - M[1] * (M[3] * M[8] - M[5] * M[6]) +
                 M[2] * (M[3] * M[7] - M[4] * M[6]);
    for (int c = 0; c < 3; c++) {
        double N[9];
        memcpy(N, M, sizeof N);
        for (int i = 0; i < 3; i++) N[3 * i + c] = r[i];
        x[c] = (N[0] * (N[4] * N[8] - N[5] * N[7]) - N[1] * (N[3] * N[8] - N[5] * N[6]) +
                N[2] * (N[3] * N[7] - N[4] * N[6])) / det;
    }
}

/* L = c . y*: dL/dtheta = mu^T db/dtheta with A^T mu = c, in closed form. Over every ODE
 * method (the gradient does not depend on which steps reached y*), with the VJP-built
 * Jacobian and with the user's jac; dL/dy0 = 0. J and db/dtheta are constant in y, so
 * the gradient is exact whatever the end state's error: 1e-12 relative. */
static void test_implicit_linear_every_method(void)
{
    double th[3] = { 0.7, 0.4, -1.2 };
    const double c[3] = { 1.0, -2.0, 0.5 }, y0[3] = { 0.0, 1.0, -1.0 };
    double AT[9], mu[3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) AT[3 * i + j] = A_LIN[3 * j + i];
    solve3(AT, c, mu);
    const double exact[3] = { mu[0] + mu[2] * th[2], mu[1] * cos(th[1]), mu[2] * th[0] };
    size_t n_methods = 0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m) || !settles(m)) continue;
        const char *name = nde_method_name(m);
        for (int use_jac = 0; use_jac < 2; use_jac++) {
            nde_ode ode = { .dim = 3, .f = lin_f, .vjp = lin_vjp, .jac = use_jac ? lin_jac : NULL, .n_params = 3,
                            .user = th };
            nde_options o = relax_options(m);
            nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
            ao.kind = NDE_ADJOINT_IMPLICIT;
            nde_tape *tape = nde_tape_create(&ao);
            nde_solution sol;
            int rc = nde_ode_solve_taped(&ode, 0, 1000, y0, &o, tape, &sol);
            CHECK_MSG(rc == NDE_EVENT, "[%s] taped solve returned %d (%s)", name, rc, nde_solution_message(&sol));
            double gy0[3] = { 9, 9, 9 }, gth[3] = { 9, 9, 9 };
            rc = nde_ode_backward(tape, c, gy0, gth);
            CHECK_MSG(rc == NDE_OK, "[%s] backward returned %d (%s)", name, rc, nde_tape_message(tape));
            if (rc == NDE_OK) {
                n_methods++;
                for (int k = 0; k < 3; k++) {
                    CHECK_MSG(fabs(gth[k] - exact[k]) <= 1e-12 * (1 + fabs(exact[k])),
                              "[%s jac %d] dL/dtheta[%d] = %.17g, exact %.17g", name, use_jac, k, gth[k], exact[k]);
                    CHECK(gy0[k] == 0.0);
                }
                nde_adjoint_stats st;
                CHECK(nde_tape_stats(tape, &st) == NDE_OK);
                CHECK_EQ_INT(st.nvjp, use_jac ? 1 : 4);   /* dim unit VJPs + the parameter VJP */
            }
            nde_solution_free(&sol);
            nde_tape_free(tape);
        }
    }
    CHECK(n_methods >= 20);
}

/* y' = theta - y^3 from y0 = 0.2: y* = theta^(1/3), dy*(theta) / dtheta = theta^(-2/3) / 3.
 * Backwards in time the same field with the sign flipped (y' = y^3 - theta relaxes to
 * y* as t decreases) gives the same gradient. */
static int cube_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    dy[0] = *(const double *)u - y[0] * y[0] * y[0];
    return 0;
}
static int cube_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)u;
    if (ay) ay[0] = -3.0 * y[0] * y[0] * a[0];
    if (at) at[0] = a[0];
    return 0;
}
static int cube_back_f(double t, const double *y, double *dy, void *u)
{
    int rc = cube_f(t, y, dy, u);
    dy[0] = -dy[0];
    return rc;
}
static int cube_back_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    int rc = cube_vjp(t, y, a, ay, at, u);
    if (ay) ay[0] = -ay[0];
    if (at) at[0] = -at[0];
    return rc;
}

static void test_implicit_cube_root(void)
{
    double th = 2.0, y0 = 0.2, one = 1.0;
    const double exact = pow(th, -2.0 / 3.0) / 3.0;
    for (int back = 0; back < 2; back++) {
        nde_ode ode = { .dim = 1, .f = back ? cube_back_f : cube_f, .vjp = back ? cube_back_vjp : cube_vjp,
                        .n_params = 1, .user = &th };
        nde_options o = NDE_OPTIONS_INIT;
        o.rtol = 1e-10; o.atol = 1e-12; o.steady_state = 1;
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = NDE_ADJOINT_IMPLICIT;
        nde_tape *tape = nde_tape_create(&ao);
        nde_solution sol;
        CHECK(nde_ode_solve_taped(&ode, 0, back ? -100 : 100, &y0, &o, tape, &sol) == NDE_EVENT);
        /* |f| < atol + rtol |y*| ~ 1.3e-10, so y* is within |f| / (3 y*^2) = 2.7e-11 of the
         * root, and the gradient theta^(-2/3) / 3 = 1 / (3 y*^2) within 2 * 2.7e-11 / y*
         * = 4.3e-11 relative */
        CHECK_NEAR(sol.y[0], cbrt(th), 2.8e-11);
        double g = 0, gy0 = 7;
        CHECK(nde_ode_backward(tape, &one, &gy0, &g) == NDE_OK);
        CHECK_NEAR(g, exact, 5e-11 * exact);
        CHECK(gy0 == 0.0);
        nde_solution_free(&sol);
        nde_tape_free(tape);
    }
}

/* The other adjoint kinds take a solve that ends at the steady-state event too (it ends
 * at a step end, so the checkpointed one differentiates the discrete solve up to there;
 * backsolve starts its backward solve at the event time): on the linear problem their
 * dL/dtheta agrees with the implicit adjoint's closed form up to the transient's
 * remainder and y*'s tolerance, 1e-5 relative here (steady_atol = steady_rtol = 1e-9). */
static void test_steady_other_adjoint_kinds(void)
{
    double th[3] = { 0.7, 0.4, -1.2 };
    const double c[3] = { 1.0, -2.0, 0.5 }, y0[3] = { 0.0, 1.0, -1.0 };
    double AT[9], mu[3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) AT[3 * i + j] = A_LIN[3 * j + i];
    solve3(AT, c, mu);
    const double exact[3] = { mu[0] + mu[2] * th[2], mu[1] * cos(th[1]), mu[2] * th[0] };
    const int kinds[3] = { NDE_ADJOINT_CHECKPOINT, NDE_ADJOINT_BACKSOLVE, NDE_ADJOINT_IMPLICIT };
    for (int k = 0; k < 3; k++) {
        nde_ode ode = { .dim = 3, .f = lin_f, .vjp = lin_vjp, .n_params = 3, .user = th };
        nde_options o = NDE_OPTIONS_INIT;
        o.rtol = 1e-10; o.atol = 1e-12; o.steady_state = 1; o.steady_atol = o.steady_rtol = 1e-9;
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = kinds[k];
        nde_tape *tape = nde_tape_create(&ao);
        nde_solution sol;
        CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EVENT);
        double g[3];
        int rc = nde_ode_backward(tape, c, NULL, g);
        CHECK_MSG(rc == NDE_OK, "kind %d: backward returned %d (%s)", kinds[k], rc, nde_tape_message(tape));
        for (int j = 0; j < 3; j++)
            CHECK_MSG(fabs(g[j] - exact[j]) <= 1e-5 * (1 + fabs(exact[j])), "kind %d: dL/dtheta[%d] = %.12g, "
                      "steady-state closed form %.12g", kinds[k], j, g[j], exact[j]);
        nde_solution_free(&sol);
        nde_tape_free(tape);
    }
}

/* ---- the implicit adjoint against finite differences: a tanh MLP field ------------------ */

/* f(y) = -y + W2 tanh(W1 y + b1) + b2, dim 3, hidden 6; theta = W1 (18) b1 (6) W2 (18)
 * b2 (3). Weights of size ~0.35 keep y -> W2 tanh(W1 y + b1) + b2 a contraction, so the
 * fixed point is unique and stable. */
#define MD 3
#define MH 6
#define MNP (2 * MD * MH + MH + MD)
static int mlp_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *p = u, *W1 = p, *b1 = p + MD * MH, *W2 = b1 + MH, *b2 = W2 + MD * MH;
    double z[MH];
    for (int i = 0; i < MH; i++) {
        double s = b1[i];
        for (int j = 0; j < MD; j++) s += W1[i * MD + j] * y[j];
        z[i] = tanh(s);
    }
    for (int o = 0; o < MD; o++) {
        double s = b2[o] - y[o];
        for (int i = 0; i < MH; i++) s += W2[o * MH + i] * z[i];
        dy[o] = s;
    }
    return 0;
}
static int mlp_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *p = u, *W1 = p, *b1 = p + MD * MH, *W2 = b1 + MH;
    double z[MH], g[MH];
    for (int i = 0; i < MH; i++) {
        double s = b1[i];
        for (int j = 0; j < MD; j++) s += W1[i * MD + j] * y[j];
        z[i] = tanh(s);
        double w = 0;
        for (int o = 0; o < MD; o++) w += W2[o * MH + i] * a[o];
        g[i] = w * (1 - z[i] * z[i]);
    }
    if (ay)
        for (int j = 0; j < MD; j++) {
            double s = -a[j];
            for (int i = 0; i < MH; i++) s += g[i] * W1[i * MD + j];
            ay[j] = s;
        }
    if (at) {
        double *gW1 = at, *gb1 = at + MD * MH, *gW2 = gb1 + MH, *gb2 = gW2 + MD * MH;
        for (int i = 0; i < MH; i++) {
            for (int j = 0; j < MD; j++) gW1[i * MD + j] = g[i] * y[j];
            gb1[i] = g[i];
        }
        for (int o = 0; o < MD; o++) {
            for (int i = 0; i < MH; i++) gW2[o * MH + i] = a[o] * z[i];
            gb2[o] = a[o];
        }
    }
    return 0;
}

static void mlp_params(double *p)
{
    double u[MNP];
    nde_uniform_fill(11, NDE_STREAM_USER_FIRST, MNP, u);
    for (int i = 0; i < MNP; i++) p[i] = 0.7 * (u[i] - 0.5);
}

/* The steady state of the MLP field by a solve to a tight steady test. */
static int mlp_steady(const nde_method *m, double *p, double *ystar)
{
    nde_ode ode = { .dim = MD, .f = mlp_f, .user = p };
    const double y0[MD] = { 0.5, -0.5, 0.25 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 1e-10; o.atol = 1e-12; o.steady_state = 1; o.steady_atol = o.steady_rtol = 1e-13;
    o.dtmax = 1.0;   /* steps of 1e3 near y* would scatter y by h x round-off of f */
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0, 1e4, y0, &o, &sol);
    if (rc == NDE_EVENT) memcpy(ystar, sol.y, MD * sizeof *ystar);
    nde_solution_free(&sol);
    return rc;
}

/* dL/dtheta for L = w . y* against central differences (eps 1e-5) of the solved steady
 * state (RMS f < 1e-13 + 1e-13 RMS y), for an explicit (tsit5) and an implicit (rodas5p)
 * method: agreement to 1e-7 absolute on gradients up to ~2 (the differences' truncation
 * is ~eps^2 = 1e-10; the solved y*'s error, |f| / (1 - Lip) ~ 1e-13, enters divided by
 * eps: 1e-8). */
static void test_implicit_mlp_finite_differences(void)
{
    const char *methods[2] = { "tsit5", "rodas5p" };
    const double w[MD] = { 1.0, -0.5, 2.0 }, y0[MD] = { 0.5, -0.5, 0.25 };
    for (int mi = 0; mi < 2; mi++) {
        const nde_method *m = nde_method_find(methods[mi]);
        CHECK(m != NULL);
        if (!m) continue;
        double p[MNP];
        mlp_params(p);
        nde_ode ode = { .dim = MD, .f = mlp_f, .vjp = mlp_vjp, .n_params = MNP, .user = p };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 1e-10; o.atol = 1e-12; o.steady_state = 1; o.steady_atol = o.steady_rtol = 1e-13;
        o.dtmax = 1.0;   /* steps of 1e3 near y* would scatter y by h x round-off of f */
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = NDE_ADJOINT_IMPLICIT;
        nde_tape *tape = nde_tape_create(&ao);
        nde_solution sol;
        int rc = nde_ode_solve_taped(&ode, 0, 1e4, y0, &o, tape, &sol);
        CHECK_MSG(rc == NDE_EVENT, "[%s] taped solve returned %d: %s", methods[mi], rc, nde_solution_message(&sol));
        double g[MNP];
        CHECK(nde_ode_backward(tape, w, NULL, g) == NDE_OK);
        double worst = 0, gmax = 0;
        for (int k = 0; k < MNP; k++) {
            const double eps = 1e-5, keep = p[k];
            double yp[MD], ym[MD];
            p[k] = keep + eps;
            int rp = mlp_steady(m, p, yp);
            p[k] = keep - eps;
            int rm = mlp_steady(m, p, ym);
            p[k] = keep;
            CHECK(rp == NDE_EVENT && rm == NDE_EVENT);
            double fd = 0;
            for (int d = 0; d < MD; d++) fd += w[d] * (yp[d] - ym[d]) / (2 * eps);
            worst = fmax(worst, fabs(g[k] - fd));
            gmax = fmax(gmax, fabs(fd));
        }
        printf("  %-8s MLP steady state: max |implicit - fd| = %.2e over %d parameters (max |grad| %.2f)\n",
               methods[mi], worst, MNP, gmax);
        CHECK_MSG(worst <= 1e-7, "[%s] max |implicit - fd| = %.3g", methods[mi], worst);
        CHECK(gmax > 0.1);
        nde_solution_free(&sol);
        nde_tape_free(tape);
    }
}

/* ---- training: Diffrax's ImplicitAdjoint test ------------------------------------------- */

/* y' = -y + w2 tanh(w1 y + b), theta = (w1, b, w2), y0 = 1: learn theta so that the steady
 * state is 0.76 (Diffrax test_adjoint.py: 1e-2 within 100 SGD steps). */
static int tiny_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *p = u;
    dy[0] = -y[0] + p[2] * tanh(p[0] * y[0] + p[1]);
    return 0;
}
static int tiny_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *p = u, z = tanh(p[0] * y[0] + p[1]), dz = 1 - z * z;
    if (ay) ay[0] = a[0] * (-1 + p[2] * dz * p[0]);
    if (at) { at[0] = a[0] * p[2] * dz * y[0]; at[1] = a[0] * p[2] * dz; at[2] = a[0] * z; }
    return 0;
}

static void test_implicit_learns_steady_state(void)
{
    double p[3] = { 0.5, -0.2, 0.3 }, y0 = 1.0;
    const double target = 0.76, lr = 0.5;
    nde_ode ode = { .dim = 1, .f = tiny_f, .vjp = tiny_vjp, .n_params = 3, .user = p };
    nde_options o = NDE_OPTIONS_INIT;
    o.steady_state = 1;
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = NDE_ADJOINT_IMPLICIT;
    nde_tape *tape = nde_tape_create(&ao);
    double first = NAN, last = NAN;
    for (int it = 0; it < 100; it++) {
        nde_solution sol;
        int rc = nde_ode_solve_taped(&ode, 0, 1e3, &y0, &o, tape, &sol);
        CHECK_EQ_INT(rc, NDE_EVENT);
        double ys = sol.y[0], dL = 2 * (ys - target), g[3];
        nde_solution_free(&sol);
        if (rc != NDE_EVENT || nde_ode_backward(tape, &dL, NULL, g) != NDE_OK) { CHECK(0); break; }
        if (it == 0) first = ys;
        last = ys;
        for (int k = 0; k < 3; k++) p[k] -= lr * g[k];
    }
    printf("  steady state %.4f -> %.4f (target %.2f) in 100 SGD steps\n", first, last, target);
    CHECK(fabs(first - target) > 0.3);
    CHECK(fabs(last - target) < 1e-2);
    nde_tape_free(tape);
}

/* ---- memory, bad input, out of memory ----------------------------------------------------- */

/* The tape and the solve hold the same bytes whether y* takes 100x more steps (dtmax). */
static void test_implicit_memory_flat(void)
{
    double th[3] = { 0.7, 0.4, -1.2 };
    const double c[3] = { 1.0, -2.0, 0.5 }, y0[3] = { 0.0, 1.0, -1.0 };
    nde_ode ode = { .dim = 3, .f = lin_f, .vjp = lin_vjp, .n_params = 3, .user = th };
    size_t live[2], steps[2], bytes[2];
    for (int r = 0; r < 2; r++) {
        test_alloc ta;
        test_alloc_init(&ta);
        nde_options o = NDE_OPTIONS_INIT;
        o.steady_state = 1; o.allocator = &ta.a;
        o.dtmax = r ? 0.002 : 1.0;
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = NDE_ADJOINT_IMPLICIT; ao.allocator = &ta.a;
        nde_tape *tape = nde_tape_create(&ao);
        nde_solution sol;
        CHECK(nde_ode_solve_taped(&ode, 0, 1e4, y0, &o, tape, &sol) == NDE_EVENT);
        double g[3];
        CHECK(nde_ode_backward(tape, c, NULL, g) == NDE_OK);
        live[r] = ta.live_bytes;
        steps[r] = sol.stats.accepted;
        nde_adjoint_stats st;
        CHECK(nde_tape_stats(tape, &st) == NDE_OK);
        bytes[r] = st.bytes;
        nde_solution_free(&sol);
        nde_tape_free(tape);
        CHECK_EQ_INT(ta.live, 0);
    }
    printf("  implicit adjoint: %zu and %zu steps hold %zu and %zu bytes (tape %zu, %zu)\n", steps[0], steps[1],
           live[0], live[1], bytes[0], bytes[1]);
    CHECK(steps[1] >= 100 * steps[0]);
    CHECK_EQ_INT(live[0], live[1]);
    CHECK_EQ_INT(bytes[0], bytes[1]);
}

/* y' = (theta - y0 - y1) (1, 2): every point of the line y0 + y1 = theta is steady, J is
 * singular. */
static int line_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    double r = *(const double *)u - y[0] - y[1];
    dy[0] = r; dy[1] = 2 * r;
    return 0;
}
static int line_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y; (void)u;
    if (ay) ay[0] = ay[1] = -(a[0] + 2 * a[1]);
    if (at) at[0] = a[0] + 2 * a[1];
    return 0;
}
static int failing_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y; (void)a; (void)ay; (void)at; (void)u;
    return -3;
}

static void test_implicit_bad_input(void)
{
    double th[3] = { 0.7, 0.4, -1.2 };
    const double y0[3] = { 0.0, 1.0, -1.0 };
    nde_ode ode = { .dim = 3, .f = lin_f, .vjp = lin_vjp, .n_params = 3, .user = th };
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = NDE_ADJOINT_IMPLICIT;
    nde_tape *tape = nde_tape_create(&ao);
    nde_options o = NDE_OPTIONS_INIT;
    nde_solution sol;
    /* without the steady-state event */
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "steady_state") != NULL);
    nde_solution_free(&sol);
    o.steady_state = 1;
    /* a solve that ends at t1 before the steady state: backward refuses, outputs kept */
    CHECK(nde_ode_solve_taped(&ode, 0, 1, y0, &o, tape, &sol) == NDE_OK);
    double c[3] = { 1, 1, 1 }, gy0[3] = { 5, 5, 5 }, gth[3] = { 5, 5, 5 };
    CHECK(nde_ode_backward(tape, c, gy0, gth) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "without the steady-state event") != NULL);
    CHECK(gy0[0] == 5 && gth[0] == 5);
    nde_solution_free(&sol);
    /* cotangents on interior points (NDE_SAVE_STEPS): nonzero refused, zero accepted */
    o.save = NDE_SAVE_STEPS;
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EVENT);
    double *cot = calloc(sol.n * 3, sizeof *cot);
    cot[(sol.n - 1) * 3] = 1.0;
    CHECK(nde_ode_backward(tape, cot, gy0, gth) == NDE_OK);
    double ref[3];
    memcpy(ref, gth, sizeof ref);
    cot[3] = 1.0;   /* point 1, an interior step end */
    gth[0] = 5;
    CHECK(nde_ode_backward(tape, cot, gy0, gth) == NDE_EINVAL && gth[0] == 5);
    CHECK(strstr(nde_tape_message(tape), "saved point 1") != NULL);
    cot[3] = NAN;
    CHECK(nde_ode_backward(tape, cot, gy0, gth) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "not finite") != NULL);
    free(cot);
    nde_solution_free(&sol);
    /* the same gradient without interior points */
    o.save = 0;
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EVENT);
    const double e0[3] = { 1, 0, 0 };
    CHECK(nde_ode_backward(tape, e0, NULL, gth) == NDE_OK);
    for (int k = 0; k < 3; k++) CHECK_NEAR(gth[k], ref[k], 1e-14);
    nde_solution_free(&sol);
    /* ts without NDE_SAVE_T1: no saved point is y*, so no cotangent may be nonzero */
    const double ts[2] = { 1.0, 2.0 };
    o.ts = ts; o.n_ts = 2;
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EVENT);
    double cot2[6] = { 0, 0, 0, 1, 0, 0 };
    CHECK(nde_ode_backward(tape, cot2, NULL, gth) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "NDE_SAVE_T1") != NULL);
    nde_solution_free(&sol);
    o.ts = NULL; o.n_ts = 0;
    /* no VJP; a failing VJP */
    ode.vjp = NULL;
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EVENT);
    CHECK(nde_ode_backward(tape, e0, NULL, gth) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "vjp") != NULL);
    nde_solution_free(&sol);
    ode.vjp = failing_vjp;
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EVENT);
    CHECK(nde_ode_backward(tape, e0, NULL, gth) == NDE_ECALLBACK);
    nde_solution_free(&sol);
    /* a singular Jacobian at the steady state */
    double tl = 1.0, yl[2] = { 2.0, 0.0 }, cl[2] = { 1.0, 0.0 }, gl = 3;
    nde_ode line = { .dim = 2, .f = line_f, .vjp = line_vjp, .n_params = 1, .user = &tl };
    CHECK(nde_ode_solve_taped(&line, 0, 1e3, yl, &o, tape, &sol) == NDE_EVENT);
    CHECK(nde_ode_backward(tape, cl, NULL, &gl) == NDE_EINVAL && gl == 3);
    CHECK(strstr(nde_tape_message(tape), "singular") != NULL);
    nde_solution_free(&sol);
    nde_tape_free(tape);
    /* the regularisers keep steps, which this kind does not */
    ao.reg_error = 1.0;
    tape = nde_tape_create(&ao);
    CHECK(nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol) == NDE_EUNSUPPORTED);
    nde_solution_free(&sol);
    nde_tape_free(tape);
}

/* Every allocation of a taped solve and its backward pass failed in turn: NDE_ENOMEM (or
 * a NULL tape), and nothing leaks. */
static void test_implicit_out_of_memory(void)
{
    double th[3] = { 0.7, 0.4, -1.2 };
    const double c[3] = { 1.0, -2.0, 0.5 }, y0[3] = { 0.0, 1.0, -1.0 };
    nde_ode ode = { .dim = 3, .f = lin_f, .vjp = lin_vjp, .n_params = 3, .user = th };
    int done = 0;
    for (size_t n = 1; n < 100 && !done; n++) {
        test_alloc ta;
        test_alloc_init(&ta);
        ta.fail_at = n;
        nde_options o = NDE_OPTIONS_INIT;
        o.steady_state = 1; o.allocator = &ta.a;
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = NDE_ADJOINT_IMPLICIT; ao.allocator = &ta.a;
        nde_tape *tape = nde_tape_create(&ao);
        if (tape) {
            nde_solution sol;
            int rc = nde_ode_solve_taped(&ode, 0, 1e3, y0, &o, tape, &sol);
            CHECK_MSG(rc == NDE_EVENT || rc == NDE_ENOMEM, "fail_at %zu: solve returned %d", n, rc);
            if (rc == NDE_EVENT) {
                double g[3];
                rc = nde_ode_backward(tape, c, NULL, g);
                CHECK_MSG(rc == NDE_OK || rc == NDE_ENOMEM, "fail_at %zu: backward returned %d", n, rc);
                done = rc == NDE_OK;
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
    RUN(test_steady_event_every_method);
    RUN(test_steady_event_options);
    RUN(test_steady_event_backward);
    RUN(test_steady_event_with_user_events);
    RUN(test_implicit_linear_every_method);
    RUN(test_implicit_cube_root);
    RUN(test_steady_other_adjoint_kinds);
    RUN(test_implicit_mlp_finite_differences);
    RUN(test_implicit_learns_steady_state);
    RUN(test_implicit_memory_flat);
    RUN(test_implicit_bad_input);
    RUN(test_implicit_out_of_memory);
    return test_summary();
}
