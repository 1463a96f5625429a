/* The integrate layer: the stepper interface carries a non-explicit family (a toy
 * implicit Euler with a direct solve, through events, dense output and saving),
 * methods of the wrong kind are refused, the reusable solver object (zero allocations
 * across 10^3 solves, identical results, step mode, allocation failure at every
 * allocation of create), the public controller, and the regressions of the hardening
 * issue that live in the loop (defects 5, 8, 9). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"
#include "ode/erk.h"   /* the integrate layer, and the explicit RK tables */

/* ---- a toy second stepper kind: implicit Euler on y' = A y (2 x 2) -------------------
 * y1 = (I - h A)^-1 y by Cramer's rule. Error estimate: the difference with the
 * trapezoidal rule, (h/2)(f(y1) - f(y0)), of size h^2 (embedded order 1). Dense output:
 * cubic Hermite from y0, y1, f0, f1. Nothing here knows about the loop's clipping,
 * saving or events: the loop does all of that. */

typedef struct lin2 { double a11, a12, a21, a22; } lin2;

static int lin2_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const lin2 *A = u;
    dy[0] = A->a11 * y[0] + A->a12 * y[1];
    dy[1] = A->a21 * y[0] + A->a22 * y[1];
    return 0;
}

typedef struct toy_state { double f0[2], f1[2]; int have_f0; } toy_state;

static size_t toy_size(const nde_method *m, size_t dim) { (void)m; return dim == 2 ? sizeof(toy_state) : 0; }
static void toy_init(nde__int_stepper *st) { memset(st->state, 0, sizeof(toy_state)); }
static int toy_degree(const nde_method *m) { (void)m; return 3; }

static int toy_start(nde__int_stepper *st, double s, const double *y)
{
    toy_state *T = st->state;
    st->stats->nfe++;
    T->have_f0 = 1;
    return st->f(s, y, T->f0, st->user);
}

static const double *toy_start_f(const nde__int_stepper *st) { return ((const toy_state *)st->state)->f0; }

/* The toy solves with the matrix it reads from the problem's user pointer: a real
 * implicit family would factor a Jacobian instead. In a backward solve the loop's f is
 * -f(-s, y), so the matrix is -A. */
static int toy_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    toy_state *T = st->state;
    const lin2 *A0 = st->f == lin2_rhs ? st->user : ((const nde__int_rev *)st->user)->user;
    double sg = st->f == lin2_rhs ? 1.0 : -1.0;
    double m11 = 1 - h * sg * A0->a11, m12 = -h * sg * A0->a12, m21 = -h * sg * A0->a21, m22 = 1 - h * sg * A0->a22;
    double det = m11 * m22 - m12 * m21;
    y1[0] = (m22 * y[0] - m12 * y[1]) / det;
    y1[1] = (m11 * y[1] - m21 * y[0]) / det;
    st->stats->nfe++;
    st->stats->nlu++;
    int rc = st->f(s + h, y1, T->f1, st->user);
    if (rc || !err) return rc;
    double e[2] = { 0.5 * h * (T->f1[0] - T->f0[0]), 0.5 * h * (T->f1[1] - T->f0[1]) };
    double sum = 0;
    for (int d = 0; d < 2; d++) {
        double sc = st->atol + st->rtol * fmax(fabs(y[d]), fabs(y1[d]));
        sum += (e[d] / sc) * (e[d] / sc);
    }
    *err = isfinite(sum) ? sqrt(sum / 2) : INFINITY;
    return 0;
}

static int toy_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                      unsigned what, double *P, int *start_valid)
{
    (void)s;
    toy_state *T = st->state;
    if (what & NDE__INT_NEED_DENSE)
        for (int d = 0; d < 2; d++) {
            double dy = y1[d] - y[d];
            P[d] = y[d];
            P[2 + d] = h * T->f0[d];
            P[4 + d] = 3 * dy - h * (2 * T->f0[d] + T->f1[d]);
            P[6 + d] = -2 * dy + h * (T->f0[d] + T->f1[d]);
        }
    memcpy(T->f0, T->f1, sizeof T->f0);   /* f(s + h, y1) is the next start's f */
    *start_valid = 1;
    return 0;
}

static const nde__int_ops toy_ops = {
    .problems = NDE__INT_PROBLEM_ODE, .size = toy_size, .init = toy_init, .dense_degree = toy_degree,
    .start = toy_start, .start_f = toy_start_f, .attempt = toy_attempt, .accept = toy_accept,
};
static const nde_method toy_ie = {
    .name = "toy_implicit_euler", .description = "test only: implicit Euler with a direct 2x2 solve",
    .kind = NDE_METHOD_IMPLICIT_RK, .order = 1, .embedded_order = 1, .stages = 1, .fsal = 0,
    .dense_order = 0, .ops = &toy_ops, .tableau = NULL,
};

/* Exact solution of y' = A y for the diagonalisable A below: y = V diag(e^{l t}) V^-1 y0. */
static lin2 DAMPED = { -1.0, 2.0, 0.0, -3.0 };   /* eigenvalues -1, -3 */
static void damped_exact(double t, const double *y0, double *y)
{
    /* A = [[-1, 2], [0, -3]]: y2 = y2(0) e^{-3t}, y1 = (y1(0) + y2(0)) e^{-t} - y2(0) e^{-3t} */
    y[1] = y0[1] * exp(-3 * t);
    y[0] = (y0[0] + y0[1]) * exp(-t) - y0[1] * exp(-3 * t);
}

static int cross_half(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = y[0] - 0.5;    /* y1 falls through 0.5 */
    g[1] = y[1] - 0.01;   /* y2 falls through 0.01 (non-terminal) */
    return 0;
}

static void test_toy_stepper_constant_order(void)
{
    double y0[2] = { 1.0, 1.0 }, ex[2], err[2];
    nde_ode ode = { .dim = 2, .f = lin2_rhs, .user = &DAMPED };
    damped_exact(1.0, y0, ex);
    for (int k = 0; k < 2; k++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = &toy_ie; o.rtol = 0; o.dt0 = k ? 1.0 / 800 : 1.0 / 400;
        nde_solution sol;
        CHECK(nde_ode_solve(&ode, 0, 1, y0, &o, &sol) == NDE_OK);
        CHECK_EQ_INT(sol.stats.accepted, k ? 800 : 400);
        CHECK_EQ_INT(sol.stats.nlu, sol.stats.steps);
        err[k] = fabs(sol.y[0] - ex[0]) + fabs(sol.y[1] - ex[1]);
        nde_solution_free(&sol);
    }
    double order = log2(err[0] / err[1]);
    CHECK_MSG(fabs(order - 1.0) < 0.05, "implicit Euler measured order %.3f", order);
}

static void test_toy_stepper_through_loop(void)
{
    /* Adaptive, with ts, every step, dense output and two events (one terminal). */
    double y0[2] = { 1.0, 1.0 }, ts[] = { 0.1, 0.2, 0.4 }, ex[2], yd[2];
    int dirs[2] = { -1, -1 }, term[2] = { 1, 0 };
    nde_ode ode = { .dim = 2, .f = lin2_rhs, .user = &DAMPED };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = &toy_ie; o.rtol = 1e-6; o.atol = 1e-9;
    o.ts = ts; o.n_ts = 3; o.save = NDE_SAVE_DENSE | NDE_SAVE_T1;
    o.event = cross_half; o.n_events = 2; o.event_direction = dirs; o.event_terminal = term;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0, 5, y0, &o, &sol);
    CHECK_MSG(rc == NDE_EVENT, "status %d: %s", rc, nde_solution_message(&sol));
    CHECK(sol.stats.rejected < sol.stats.accepted);
    /* the saved ts are on the dense interpolant, near the exact solution (rtol 1e-6
     * local control of a first-order method: global error ~1e-4) */
    CHECK_EQ_INT(sol.n, 4);   /* 3 ts + the terminal event point */
    for (int i = 0; i < 3; i++) {
        CHECK(sol.t[i] == ts[i]);
        damped_exact(ts[i], y0, ex);
        CHECK_NEAR(sol.y[2 * i], ex[0], 5e-4);
        CHECK(nde_solution_eval(&sol, ts[i], yd) == NDE_OK);
        CHECK_NEAR(yd[0], sol.y[2 * i], 1e-15);
    }
    /* y1(t) = 2e^-t - e^-3t = 0.5 at t = 1.35234 (terminal); y2 = e^-3t = 0.01 only
     * at t = 1.535, after it. */
    CHECK(sol.n_event_hits >= 1);
    double t_term = sol.event_t[sol.n_event_hits - 1];
    CHECK_EQ_INT(sol.event_which[sol.n_event_hits - 1], 0);
    CHECK_NEAR(sol.event_y[2 * (sol.n_event_hits - 1)], 0.5, 1e-12);   /* on the interpolant */
    CHECK_NEAR(t_term, 1.3522717, 2e-3);
    CHECK(sol.t[sol.n - 1] == t_term);
    /* dense output is continuous across step boundaries and ends at the event */
    CHECK(nde_solution_eval(&sol, t_term, yd) == NDE_OK);
    CHECK_NEAR(yd[0], 0.5, 1e-12);
    double prev[2];
    CHECK(nde_solution_eval(&sol, 0.0, prev) == NDE_OK);
    CHECK(prev[0] == 1.0 && prev[1] == 1.0);
    double maxjump = 0;
    for (int i = 1; i <= 2000; i++) {
        double t = t_term * i / 2000, y[2];
        CHECK(nde_solution_eval(&sol, t, y) == NDE_OK);
        maxjump = fmax(maxjump, fabs(y[0] - prev[0]));
        prev[0] = y[0];
    }
    CHECK(maxjump < 2e-3);
    nde_solution_free(&sol);
}

static void test_toy_stepper_backward(void)
{
    /* Backward from t = 1 to 0 against the exact solution run backwards. */
    double y1v[2], y0[2] = { 1.0, 1.0 };
    damped_exact(1.0, y0, y1v);
    nde_ode ode = { .dim = 2, .f = lin2_rhs, .user = &DAMPED };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = &toy_ie; o.rtol = 1e-7; o.atol = 1e-10;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 1, 0, y1v, &o, &sol) == NDE_OK);
    CHECK(sol.t[0] == 0.0);
    CHECK_NEAR(sol.y[0], 1.0, 1e-3);
    CHECK_NEAR(sol.y[1], 1.0, 1e-3);
    nde_solution_free(&sol);
}

/* ---- methods of the wrong kind --------------------------------------------------------- */

static const nde__int_ops sde_only_ops = { .problems = NDE__INT_PROBLEM_SDE };
static const nde_method fake_sde = {
    .name = "fake_sde", .description = "test only", .kind = NDE_METHOD_SDE, .order = 1, .ops = &sde_only_ops,
};

static int decay(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = -y[0]; return 0; }

static void test_wrong_kind_unsupported(void)
{
    double y0 = 1.0;
    nde_ode ode = { .dim = 1, .f = decay };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = &fake_sde;
    char buf[NDE_MESSAGE_MAX] = "";
    o.errbuf = buf; o.errbuf_size = sizeof buf;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 1, &y0, &o, &sol) == NDE_EUNSUPPORTED);
    CHECK_MSG(strstr(nde_solution_message(&sol), "does not solve ODEs") != NULL, "%s", nde_solution_message(&sol));
    CHECK(strstr(buf, "fake_sde") != NULL);
    CHECK(y0 == 1.0 && sol.n == 0);
    nde_solution_free(&sol);
    CHECK(nde_solver_create(&ode, &o) == NULL);
    CHECK(nde_stepper_create(&fake_sde, 1, NULL) == NULL);
    /* every registered method has a kind with a name */
    for (size_t i = 0; i < nde_method_count(); i++) {
        const nde_method *m = nde_method_at(i);
        CHECK(nde_method_kind(m) == NDE_METHOD_EXPLICIT_RK || nde_method_kind(m) == NDE_METHOD_REVERSIBLE ||
              nde_method_kind(m) == NDE_METHOD_ROSENBROCK);
        CHECK(strcmp(nde_method_kind_name(nde_method_kind(m)), "unknown") != 0);
    }
    CHECK(nde_method_kind(NULL) == 0);
    CHECK(strcmp(nde_method_kind_name(99), "unknown") == 0);
}

/* ---- the reusable solver object ------------------------------------------------------ */

static int osc(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = y[1]; dy[1] = -y[0]; return 0; }
static int osc_event(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = y[0]; return 0; }

static void fill_options(nde_options *o, const double *ts, size_t n_ts)
{
    *o = (nde_options)NDE_OPTIONS_INIT;
    o->rtol = 1e-8; o->atol = 1e-10;
    o->ts = ts; o->n_ts = n_ts;
    o->save = NDE_SAVE_DENSE | NDE_SAVE_T0;
    static const int nonterminal[1] = { 0 };
    o->event = osc_event; o->n_events = 1; o->event_terminal = nonterminal;
}

static void test_solver_reuse_no_alloc_identical(void)
{
    double ts[] = { 0.5, 1.0, 2.0, 3.0 };
    nde_ode ode = { .dim = 2, .f = osc };
    nde_options o;
    fill_options(&o, ts, 4);
    test_alloc ta;
    test_alloc_init(&ta);
    o.allocator = &ta.a;
    nde_solver *s = nde_solver_create(&ode, &o);
    CHECK(s != NULL);
    if (!s) return;
    /* the options may change after create: the solver kept copies */
    double ts_copy[4];
    memcpy(ts_copy, ts, sizeof ts);
    ts[0] = 99.0;
    /* a warm-up solve sizes the growable output (dense records, event records) */
    double y0[2] = { 1.0, 0.0 };
    CHECK(nde_solver_solve(s, 0, 3.5, y0) == NDE_OK);
    size_t calls = ta.calls;
    int same = 1;
    for (int k = 0; k < 1000; k++) {
        y0[0] = 1.0 + 1e-3 * k; y0[1] = -1e-3 * k;
        int rc = nde_solver_solve(s, 0, 3.5, y0);
        CHECK(rc == NDE_OK);
        if (k % 97 == 0) {   /* identical to a one-call solve with the same arguments */
            nde_options o2;
            fill_options(&o2, ts_copy, 4);
            nde_solution ref;
            CHECK(nde_ode_solve(&ode, 0, 3.5, y0, &o2, &ref) == NDE_OK);
            const nde_solution *sol = nde_solver_solution(s);
            same &= sol->n == ref.n && sol->n_event_hits == ref.n_event_hits &&
                    memcmp(sol->t, ref.t, ref.n * sizeof *ref.t) == 0 &&
                    memcmp(sol->y, ref.y, ref.n * 2 * sizeof *ref.y) == 0 &&
                    memcmp(sol->event_t, ref.event_t, ref.n_event_hits * sizeof(double)) == 0 &&
                    memcmp(&sol->stats, &ref.stats, sizeof ref.stats) == 0;
            double a[2], b[2];
            CHECK(nde_solution_eval(sol, 1.2345, a) == NDE_OK && nde_solution_eval(&ref, 1.2345, b) == NDE_OK);
            same &= memcmp(a, b, sizeof a) == 0;
            nde_solution_free(&ref);
        }
    }
    CHECK(same);
    CHECK_MSG(ta.calls == calls, "%zu allocations across 1000 solves", ta.calls - calls);
    const nde_solution *sol = nde_solver_solution(s);
    CHECK_EQ_INT(sol->n, 5);          /* t0 and the 4 ts */
    CHECK(sol->t[1] == 0.5);          /* the copy, not the changed caller array */
    CHECK_EQ_INT(sol->n_event_hits, 1);   /* y0 = cos t - ... crosses 0 once in [0, 3.5] */
    nde_solver_free(s);
    CHECK_EQ_INT(ta.live, 0);
}

static void test_solver_create_enomem_every_allocation(void)
{
    double ts[] = { 0.5, 1.0 };
    nde_ode ode = { .dim = 2, .f = osc };
    for (size_t n = 1; n < 20; n++) {
        nde_options o;
        fill_options(&o, ts, 2);
        test_alloc ta;
        test_alloc_init(&ta);
        ta.fail_at = n;
        o.allocator = &ta.a;
        char buf[NDE_MESSAGE_MAX] = "";
        o.errbuf = buf; o.errbuf_size = sizeof buf;
        nde_solver *s = nde_solver_create(&ode, &o);
        if (s) {   /* past the number of allocations create makes */
            CHECK(ta.calls < n);
            double y0[2] = { 1, 0 };
            CHECK(nde_solver_solve(s, 0, 1, y0) == NDE_OK);
            nde_solver_free(s);
            CHECK_EQ_INT(ta.live, 0);
            CHECK(n > 3);
            break;
        }
        CHECK_EQ_INT(ta.live, 0);
        CHECK_MSG(strstr(buf, "out of memory") != NULL, "allocation %zu: '%s'", n, buf);
    }
}

static void test_solver_step_mode(void)
{
    nde_ode ode = { .dim = 2, .f = osc };
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 1e-7; o.atol = 1e-9; o.save = NDE_SAVE_STEPS;
    nde_solver *s = nde_solver_create(&ode, &o);
    CHECK(s != NULL);
    if (!s) return;
    double t, y[2], y0[2] = { 1, 0 };
    CHECK(nde_solver_step(s, &t, y) == NDE_EINVAL);   /* before reset */
    CHECK(strstr(nde_solver_message(s), "reset") != NULL);
    CHECK(nde_solver_reset(s, 0, 2, NULL) == NDE_EINVAL);
    CHECK(strstr(nde_solver_message(s), "y0 is NULL") != NULL);
    CHECK(nde_solver_reset(s, 0, 2, y0) == NDE_OK);
    size_t n = 0;
    double tprev = 0;
    while (!nde_solver_finished(s)) {
        int rc = nde_solver_step(s, &t, y);
        CHECK(rc == NDE_OK);
        if (rc) break;
        CHECK(t > tprev);
        tprev = t;
        n++;
    }
    CHECK(t == 2.0);
    CHECK(nde_solver_step(s, &t, y) == NDE_EINVAL);   /* after the end */
    nde_solution ref;
    CHECK(nde_ode_solve(&ode, 0, 2, y0, &o, &ref) == NDE_OK);
    const nde_solution *sol = nde_solver_solution(s);
    CHECK_EQ_INT(n, ref.stats.accepted);
    CHECK(sol->n == ref.n && memcmp(sol->y, ref.y, ref.n * 2 * sizeof(double)) == 0);
    CHECK(y[0] == ref.y[2 * (ref.n - 1)] && y[1] == ref.y[2 * (ref.n - 1) + 1]);
    nde_solution_free(&ref);
    nde_solver_free(s);
    nde_solver_free(NULL);
    CHECK(nde_solver_finished(NULL) && nde_solver_solution(NULL) == NULL);
}

static void test_solver_record(void)
{
    const nde_method *m = nde_method_find("dopri5");
    const nde__erk_tableau *tab = nde__erk_tab(m);
    nde_ode ode = { .dim = 2, .f = osc };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 1e-6; o.atol = 1e-9; o.save = NDE_SAVE_STEPS | NDE_SAVE_T0;
    test_alloc ta;
    test_alloc_init(&ta);
    o.allocator = &ta.a;
    nde_solver *s = nde_solver_create(&ode, &o);
    CHECK(s && nde_solver_set_record(s, NDE_RECORD_STAGES) == NDE_OK);
    CHECK(nde_solver_set_record(s, 0x40) == NDE_EINVAL);
    for (int dir = 0; dir < 2; dir++) {
        double y0[2] = { 1, 0 }, t0 = dir ? 3.0 : 0.0, t1 = dir ? 0.0 : 3.0;
        CHECK(nde_solver_solve(s, t0, t1, y0) == NDE_OK);
        size_t calls = ta.calls;
        CHECK(nde_solver_solve(s, t0, t1, y0) == NDE_OK);
        CHECK_EQ_INT(ta.calls, calls);   /* the record keeps its capacity */
        const nde_solution *sol = nde_solver_solution(s);
        size_t n = nde_solver_record_count(s);
        CHECK_EQ_INT(n, sol->stats.accepted);
        CHECK_EQ_INT(n + 1, sol->n);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double t, h, y[2], k[7 * 2], f0[2];
            CHECK(nde_solver_record_get(s, i, &t, &h, y, k) == NDE_OK);
            CHECK(t == sol->t[i] && y[0] == sol->y[2 * i] && y[1] == sol->y[2 * i + 1]);
            CHECK((h > 0) == (dir == 0));
            osc(t, y, f0, NULL);
            worst = fmax(worst, fabs(k[0] - f0[0]) + fabs(k[1] - f0[1]));
            for (size_t d = 0; d < 2; d++) {   /* the step's end from its stages */
                double y1 = y[d];
                for (size_t j = 0; j < (size_t)m->stages; j++) y1 += h * tab->b[j] * k[2 * j + d];
                worst = fmax(worst, fabs(y1 - sol->y[2 * (i + 1) + d]));
            }
        }
        CHECK_MSG(worst < 1e-15, "record reproduces the steps to %.3g", worst);
    }
    CHECK(nde_solver_record_get(s, 100000, NULL, NULL, NULL, NULL) == NDE_EINVAL);
    CHECK(nde_solver_set_record(s, NDE_RECORD_STEPS) == NDE_OK);
    double y0[2] = { 1, 0 }, y[2];
    CHECK(nde_solver_solve(s, 0, 1, y0) == NDE_OK);
    CHECK(nde_solver_record_get(s, 0, NULL, NULL, y, NULL) == NDE_EINVAL);   /* states not recorded */
    nde_solver_free(s);
    CHECK_EQ_INT(ta.live, 0);
}

/* ---- the public controller drives a user's own loop to nde_ode_solve's steps --------- */

static int count_steps(double t, double dt, double err, int ok, void *u)
{
    (void)t; (void)err;
    double *log = u;
    if (ok && log[0] < 511) log[1 + (size_t)log[0]++] = dt;
    return 0;
}

static void test_controller_matches_loop(void)
{
    nde_ode ode = { .dim = 2, .f = osc };
    const nde_method *m = nde_method_find("dopri5");
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 1e-6; o.atol = 1e-8; o.pcoeff = 0.1; o.icoeff = 0.3; o.dcoeff = 0.0;
    static double log_loop[512];
    log_loop[0] = 0;
    o.on_step = count_steps; o.on_step_user = log_loop;
    double y0[2] = { 1, 0 };
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 4, y0, &o, &sol) == NDE_OK);
    o.on_step = NULL;

    nde_controller c;
    CHECK(nde_controller_init(&c, m, &o) == NDE_OK);
    double work[6], h, y[2] = { 1, 0 }, y1[2], e[2], t = 0;
    CHECK(nde_initial_step(&ode, 0, 4, y, &o, work, &h) == NDE_OK);
    nde_stepper *st = nde_stepper_create(m, 2, NULL);
    int fsal = 0, k = 0, agree = 1;
    while (t < 4 && k < 500) {
        if (t + h > 4) h = 4 - t;
        CHECK(nde_stepper_step(st, osc, NULL, t, h, y, y1, e, fsal) == NDE_OK);
        double sum = 0;
        for (int d = 0; d < 2; d++) {
            double sc = o.atol + o.rtol * fmax(fabs(y[d]), fabs(y1[d]));
            sum += (e[d] / sc) * (e[d] / sc);
        }
        int acc;
        double hn = nde_controller_next(&c, h, sqrt(sum / 2), &acc);
        if (acc) {
            /* the user's error norm differs from the fused one in the last bits, which
             * the PID history carries along: agreement to 1e-8, not bitwise */
            agree &= k < (int)log_loop[0] && fabs(h - log_loop[1 + k]) <= 1e-8 * h;
            k++;
            t += h; y[0] = y1[0]; y[1] = y1[1];
        }
        fsal = 1;
        h = hn;
    }
    CHECK_MSG(agree, "own loop's steps differ from nde_ode_solve's");
    CHECK_EQ_INT(k, (int)sol.stats.accepted);
    CHECK_NEAR(y[0], sol.y[0], 1e-12);
    nde_stepper_free(st);
    nde_solution_free(&sol);
    /* bad input */
    CHECK(nde_controller_init(&c, nde_method_find("euler"), &o) == NDE_EINVAL);
    CHECK(isnan(nde_controller_next(NULL, 1.0, 0.5, NULL)));
    CHECK(nde_initial_step(&ode, 0, 0, y0, &o, work, &h) == NDE_EINVAL);
}

/* ---- hardening regressions that live in the loop ----------------------------------------- */

static int never(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)u; g[0] = 1; return 0; }

static void test_defect05_event_workspace_overflow(void)
{
    double y0 = 1.0;
    nde_ode ode = { .dim = 1, .f = decay };
    const size_t huge[] = { (size_t)1 << 62, SIZE_MAX / 8 + 2, SIZE_MAX / 2, SIZE_MAX };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.event = never; o.n_events = huge[i];
        nde_solution sol;
        int rc = nde_ode_solve(&ode, 0, 1, &y0, &o, &sol);
        CHECK_MSG(rc == NDE_ENOMEM, "n_events = %zu: status %d", huge[i], rc);
        CHECK(strstr(nde_solution_message(&sol), "too large") != NULL);
        nde_solution_free(&sol);
    }
    /* (time-array counts cannot be faked: the arrays are read, so they must exist) */
    nde_ode big = { .dim = SIZE_MAX / 4, .f = decay };
    nde_options o = NDE_OPTIONS_INIT;
    CHECK(nde_solver_create(&big, &o) == NULL);
}

static int scaled_decay(double t, const double *y, double *dy, void *u)
{
    (void)t;
    dy[0] = -y[0] / *(const double *)u;
    return 0;
}

static void test_defect08_huge_time_span(void)
{
    /* y' = -y / T on [0, T] is the same problem for every T: the same steps. */
    const double T[] = { 1.0, 1e154, 1e200, 1e300 };
    size_t steps0 = 0;
    for (int i = 0; i < 4; i++) {
        for (int given = 0; given < 2; given++) {
            double y0 = 1.0, span = T[i];
            nde_ode ode = { .dim = 1, .f = scaled_decay, .user = &span };
            nde_options o = NDE_OPTIONS_INIT;
            if (given) o.dt0 = span / 64;
            nde_solution sol;
            int rc = nde_ode_solve(&ode, 0, span, &y0, &o, &sol);
            CHECK_MSG(rc == NDE_OK, "T = %g (dt0 %s): %d %s", span, given ? "given" : "auto", rc,
                      nde_solution_message(&sol));
            if (rc == NDE_OK) {
                CHECK_NEAR(sol.y[0], exp(-1.0), 1e-5);
                if (i == 0 && !given) steps0 = sol.stats.steps;
                if (!given)
                    CHECK_MSG(sol.stats.steps == steps0, "T = %g: %zu steps, %zu at T = 1", span,
                              sol.stats.steps, steps0);
            }
            nde_solution_free(&sol);
        }
    }
    /* y' = -y over [0, 1e154] is hopelessly stiff for an explicit method: the automatic
     * initial step must still be a positive step (it overflowed to h = 0 and reported
     * NDE_EDTMIN "h = 0"), and the solve runs into max_steps like the one with dt0. */
    for (int given = 0; given < 2; given++) {
        double y0 = 1.0;
        nde_ode ode = { .dim = 1, .f = decay };
        nde_options o = NDE_OPTIONS_INIT;
        o.max_steps = 2000;
        if (given) o.dt0 = 1.0;
        nde_solution sol;
        int rc = nde_ode_solve(&ode, 0, 1e154, &y0, &o, &sol);
        CHECK_MSG(rc == NDE_EMAXSTEPS, "dt0 %s: %d %s", given ? "given" : "auto", rc, nde_solution_message(&sol));
        nde_solution_free(&sol);
    }
    double work[3], h, y0 = 1.0;
    nde_ode ode = { .dim = 1, .f = decay };
    CHECK(nde_initial_step(&ode, 0, 1e300, &y0, NULL, work, &h) == NDE_OK);
    CHECK_MSG(h > 0 && isfinite(h), "initial step %g", h);
}

static void test_defect09_tiny_tolerance(void)
{
    /* rtol = atol = 1e-200: every value stays finite, the squared scaled error is
     * ~1e380; the solve must report an unattainable tolerance, not non-finite values. */
    const double tols[] = { 1e-100, 1e-200, 1e-300 };
    for (int i = 0; i < 3; i++) {
        double y0 = 1.0;
        nde_ode ode = { .dim = 1, .f = decay };
        nde_options o = NDE_OPTIONS_INIT;
        o.rtol = o.atol = tols[i];
        nde_solution sol;
        int rc = nde_ode_solve(&ode, 0, 1, &y0, &o, &sol);
        CHECK_MSG(rc == NDE_EDTMIN, "tol %g: %d %s", tols[i], rc, nde_solution_message(&sol));
        CHECK_MSG(strstr(nde_solution_message(&sol), "unattainable") != NULL, "%s", nde_solution_message(&sol));
        nde_solution_free(&sol);
    }
    /* with a large state and the same tolerances on a DOP853 estimate */
    double y0[20];
    for (int d = 0; d < 20; d++) y0[d] = 1e150;
    nde_ode ode = { .dim = 1, .f = decay };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri8");
    o.rtol = o.atol = 1e-200;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 1, y0, &o, &sol) == NDE_EDTMIN);
    nde_solution_free(&sol);
    /* the scaled norm itself */
    double v[3] = { 1e100, -1e100, 0 }, y[3] = { 0, 0, 0 };   /* squares of 1e300 overflow */
    CHECK_NEAR(nde__int_rms_scaled(v, y, 3, 0.0, 1e-200) / 1e300, sqrt(2.0 / 3.0), 1e-14);
    v[2] = NAN;
    CHECK(isinf(nde__int_rms_scaled(v, y, 3, 0.0, 1e-200)));
}

/* ---- fuzzer findings in the loop (tests/pending_defects.h F1-F3) ------------------------ */

static int blowup(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = 1e300 * y[0] * y[0]; return 0; }

static void test_findingF1_nonfinite_interpolant(void)
{
    /* euler: y1 = 1 + 1e-295 * 1e300 = 1e5 is finite, f(t1, y1) = 1e310 is not: the
     * Hermite interpolant would be NaN. Never NDE_OK with NaN values. */
    double y0 = 1.0, ts = 0.5e-295, t1 = 1e-295;
    nde_ode ode = { .dim = 1, .f = blowup };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("euler"); o.rtol = 0; o.dt0 = t1;
    o.ts = &ts; o.n_ts = 1; o.save = NDE_SAVE_DENSE;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0, t1, &y0, &o, &sol);
    CHECK_MSG(rc == NDE_ENONFINITE, "status %d: %s", rc, nde_solution_message(&sol));
    CHECK(strstr(nde_solution_message(&sol), "interpolant") != NULL);
    for (size_t i = 0; i < sol.n; i++) CHECK(isfinite(sol.y[i]));
    nde_solution_free(&sol);
}

static void test_findingF2_saved_times_ordered(void)
{
    /* a ts a few ULP after a jump, with every step saved: times never go back */
    double y0 = 1.0, jump = 0.5, ts[2] = { nextafter(nextafter(0.5, 1), 1), 0.75 };
    nde_ode ode = { .dim = 1, .f = decay };
    nde_options o = NDE_OPTIONS_INIT;
    o.jump_ts = &jump; o.n_jump_ts = 1;
    o.ts = ts; o.n_ts = 2; o.save = NDE_SAVE_STEPS;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0, 1, &y0, &o, &sol) == NDE_OK);
    int ordered = 1, found = 0;
    for (size_t i = 1; i < sol.n; i++) ordered &= sol.t[i] >= sol.t[i - 1];
    for (size_t i = 0; i < sol.n; i++) found += sol.t[i] == ts[0];
    CHECK(ordered);
    CHECK_EQ_INT(found, 1);
    nde_solution_free(&sol);
}

static void test_findingF3_constant_steps_after_far_jump(void)
{
    /* constant steps of 1e-10 from t0 = 2 towards 1e300, a jump at 3.5e8 reached in one
     * step (inside the 100-ULP window of 1e300): finding the grid point after it took
     * ~1e18 iterations. Now it ends at once, with a status. */
    double y0 = 1.0, jump = 3.5e8;
    nde_ode ode = { .dim = 1, .f = decay };
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 0; o.dt0 = 1e-10; o.max_steps = 1000;
    o.jump_ts = &jump; o.n_jump_ts = 1;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 2, 1e300, &y0, &o, &sol);
    CHECK_MSG(rc == NDE_EMAXSTEPS || rc == NDE_EDTMIN || rc == NDE_OK, "status %d: %s", rc, nde_solution_message(&sol));
    nde_solution_free(&sol);
}

int main(void)
{
    RUN(test_toy_stepper_constant_order);
    RUN(test_toy_stepper_through_loop);
    RUN(test_toy_stepper_backward);
    RUN(test_wrong_kind_unsupported);
    RUN(test_solver_reuse_no_alloc_identical);
    RUN(test_solver_create_enomem_every_allocation);
    RUN(test_solver_step_mode);
    RUN(test_solver_record);
    RUN(test_controller_matches_loop);
    RUN(test_defect05_event_workspace_overflow);
    RUN(test_defect08_huge_time_span);
    RUN(test_defect09_tiny_tolerance);
    RUN(test_findingF1_nonfinite_interpolant);
    RUN(test_findingF2_saved_times_ordered);
    RUN(test_findingF3_constant_steps_after_far_jump);
    return test_summary();
}
