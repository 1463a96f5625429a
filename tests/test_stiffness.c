/* Stiffness detection for the explicit methods (Hairer's test in src/ode/erk_stepper.c):
 * the estimate is exact on linear problems, flags a stiff problem and not a non-stiff
 * one, is reported per step through on_step_info and counted in stats.stiff_steps. */
#include <math.h>
#include <string.h>

#include "ode/erk.h"
#include "testlib.h"

typedef struct { double lambda; } lin;
static int linear(double t, const double *y, double *dy, void *u)
{
    (void)t;
    dy[0] = ((const lin *)u)->lambda * y[0];
    return 0;
}

typedef struct {
    size_t n, n_acc;
    double worst;       /* largest |stiffness * boundary / (|dt| |lambda|) - 1| */
    double lambda, boundary;
    size_t nan_seen;
} record;
static int rec_info(const nde_step_info *info, void *u)
{
    record *r = u;
    r->n++;
    if (info->accepted) r->n_acc++;
    if (isnan(info->stiffness)) { r->nan_seen++; return 0; }
    double hl = fabs(info->dt) * fabs(r->lambda);
    double e = fabs(info->stiffness * r->boundary / hl - 1.0);
    if (e > r->worst) r->worst = e;
    return 0;
}

static double boundary_of(const char *name)
{
    return nde__erk_tab(nde_method_find(name))->stiff_boundary;
}

/* On y' = lambda y, k_{s-1} - k_{s-2} = lambda (y1 - Y_{s-2}): the estimate is h |lambda|
 * to rounding, forwards and backwards, constant and adaptive steps. */
static void test_estimate_exact_on_linear(void)
{
    const char *names[2] = { "dopri5", "tsit5" };
    for (int k = 0; k < 2; k++)
        for (int back = 0; back < 2; back++)
            for (int adaptive = 0; adaptive < 2; adaptive++) {
                lin p = { -50.0 };
                nde_ode ode = { .dim = 1, .f = linear, .user = &p };
                record r = { 0, 0, 0.0, p.lambda, boundary_of(names[k]), 0 };
                nde_options o = NDE_OPTIONS_INIT;
                o.method = nde_method_find(names[k]);
                if (!adaptive) { o.rtol = 0.0; o.dt0 = back ? -0.01 : 0.01; }
                o.on_step_info = rec_info; o.on_step_info_user = &r;
                double y0[1] = { 1.0 };
                nde_solution sol;
                CHECK(nde_ode_solve(&ode, back ? 1.0 : 0.0, back ? 0.0 : 1.0, y0, &o, &sol) == NDE_OK);
                CHECK(r.n == sol.stats.steps && r.n_acc == sol.stats.accepted && r.nan_seen == 0);
                CHECK_MSG(r.worst < 1e-9, "%s: estimate off by %g relative", names[k], r.worst);
                /* h |lambda| = 0.5: below the boundary, no stiff steps */
                if (!adaptive) CHECK_EQ_INT(sol.stats.stiff_steps, 0);
                nde_solution_free(&sol);
            }
}

/* Prothero-Robinson, lambda = -1e4: after the transient, the explicit method's steps
 * are stability-limited (h |lambda| near the boundary) and flagged; an oscillator is not;
 * without detect_stiffness or on_step_info nothing is computed or counted. */
static int pr(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = -1e4 * (y[0] - cos(t)) - sin(t);
    return 0;
}
static int osc(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1];
    dy[1] = -y[0];
    return 0;
}

static void test_detects_stiff_not_nonstiff(void)
{
    const char *names[2] = { "dopri5", "tsit5" };
    for (int k = 0; k < 2; k++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find(names[k]);
        o.detect_stiffness = 1;
        nde_ode stiff = { .dim = 1, .f = pr }, calm = { .dim = 2, .f = osc };
        double y0[2] = { 1.0, 0.0 };
        nde_solution sol;
        CHECK(nde_ode_solve(&stiff, 0.0, 1.0, y0, &o, &sol) == NDE_OK);
        printf("%s on Prothero-Robinson (lambda -1e4): %zu of %zu accepted steps stiff\n", names[k],
               sol.stats.stiff_steps, sol.stats.accepted);
        CHECK(sol.stats.accepted > 1000);   /* stability-limited: h ~ 3.3e-4 */
        CHECK_MSG(sol.stats.stiff_steps * 10 > sol.stats.accepted * 3, "%s: %zu of %zu", names[k],
                  sol.stats.stiff_steps, sol.stats.accepted);
        nde_solution_free(&sol);
        CHECK(nde_ode_solve(&calm, 0.0, 20.0, y0, &o, &sol) == NDE_OK);
        CHECK_EQ_INT(sol.stats.stiff_steps, 0);
        nde_solution_free(&sol);
        o.detect_stiffness = 0;
        CHECK(nde_ode_solve(&stiff, 0.0, 1.0, y0, &o, &sol) == NDE_OK);
        CHECK_EQ_INT(sol.stats.stiff_steps, 0);
        nde_solution_free(&sol);
    }
}

/* Methods without a test report NaN; an observer returning < 0 stops the solve. */
static int stop_at_3(const nde_step_info *info, void *u)
{
    (void)info;
    return ++*(int *)u >= 3 ? -1 : 0;
}

static void test_no_test_and_stop(void)
{
    const char *names[3] = { "dopri8", "bosh3", "kvaerno3" };
    for (int k = 0; k < 3; k++) {
        lin p = { -1.0 };
        nde_ode ode = { .dim = 1, .f = linear, .user = &p };
        record r = { 0, 0, 0.0, p.lambda, 1.0, 0 };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find(names[k]);
        o.on_step_info = rec_info; o.on_step_info_user = &r;
        double y0[1] = { 1.0 };
        nde_solution sol;
        CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol) == NDE_OK);
        CHECK(r.nan_seen == r.n && r.n == sol.stats.steps);
        CHECK_EQ_INT(sol.stats.stiff_steps, 0);
        nde_solution_free(&sol);
    }
    int calls = 0;
    nde_ode ode = { .dim = 2, .f = osc };
    nde_options o = NDE_OPTIONS_INIT;
    o.on_step_info = stop_at_3; o.on_step_info_user = &calls;
    double y0[2] = { 1.0, 0.0 };
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0.0, 10.0, y0, &o, &sol) == NDE_ECALLBACK);
    CHECK(strstr(nde_solution_message(&sol), "on_step_info") != NULL);
    CHECK_EQ_INT(calls, 3);
    nde_solution_free(&sol);
}

/* Each boundary lies inside the method's stability region on the negative real axis,
 * within 2% of its end: |R(-b)| <= 1, and |R(-x)| > 1 somewhere in (b, 1.1 b). */
static void test_boundaries(void)
{
    const char *names[2] = { "dopri5", "tsit5" };
    for (int k = 0; k < 2; k++) {
        const nde_method *m = nde_method_find(names[k]);
        const nde__erk_tableau *T = nde__erk_tab(m);
        int s = m->stages;
        double end = 0.0;
        for (double x = 1e-3; x < 10.0 && end == 0.0; x += 1e-4) {
            double u[16], R = 1.0;
            for (int i = 0; i < s; i++) {
                double acc = 1.0;
                for (int j = 0; j < i; j++) acc -= x * T->a[i * s + j] * u[j];
                u[i] = acc;
                R -= x * T->b[i] * u[i];
            }
            if (fabs(R) > 1.0) end = x;
        }
        printf("%s: stability boundary %.4f, test boundary %.2f\n", names[k], end, T->stiff_boundary);
        CHECK(T->stiff_boundary <= end && T->stiff_boundary > 0.98 * end - 0.1);
    }
}

/* ---- auto ---------------------------------------------------------------------------- */

/* y' = lambda(t) (y - cos t) - sin t, y = cos t, with lambda = -1 - 1e4 b(t) and a bump b
 * equal to 1 on [2, 4], 0 outside [1.5, 4.5] (smooth in between): stiff only in the
 * middle of [0, 10]. */
static double bump(double t)
{
    double x = t < 3.0 ? (t - 1.5) / 0.5 : (4.5 - t) / 0.5;
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    return x * x * (3.0 - 2.0 * x);
}
static int window(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = (-1.0 - 1e4 * bump(t)) * (y[0] - cos(t)) - sin(t);
    return 0;
}

typedef struct { const nde_method *last; int n_switch; double at[8]; const nde_method *to[8]; size_t implicit; } trace;
static int on_info(const nde_step_info *info, void *u)
{
    trace *tr = u;
    if (!info->accepted) return 0;
    if (tr->last && info->method != tr->last && tr->n_switch < 8) {
        tr->at[tr->n_switch] = info->t;
        tr->to[tr->n_switch++] = info->method;
    }
    tr->last = info->method;
    if (info->method == nde_method_find("kvaerno5")) tr->implicit++;
    return 0;
}

static void test_auto_switches_and_back(void)
{
    nde_ode ode = { .dim = 1, .f = window };
    double y0[1] = { 1.0 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("auto");
    CHECK(o.method && nde_method_kind(o.method) == NDE_METHOD_SWITCHING);
    trace tr = { 0 };
    o.on_step_info = on_info; o.on_step_info_user = &tr;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0.0, 10.0, y0, &o, &sol) == NDE_OK);
    nde_stats a = sol.stats;
    double err = fabs(sol.y[0] - cos(10.0));
    nde_solution_free(&sol);
    o.method = nde_method_find("tsit5");
    o.on_step_info = NULL;
    CHECK(nde_ode_solve(&ode, 0.0, 10.0, y0, &o, &sol) == NDE_OK);
    nde_stats b = sol.stats;
    double err_t = fabs(sol.y[0] - cos(10.0));
    nde_solution_free(&sol);
    printf("auto: %zu steps (%zu by kvaerno5), nfe %zu, njac %zu, nlu %zu, error %.1e; tsit5: %zu steps, nfe %zu, "
           "error %.1e; switches:", a.accepted, tr.implicit, a.nfe, a.njac, a.nlu, err, b.accepted, b.nfe, err_t);
    for (int i = 0; i < tr.n_switch; i++) printf(" t = %.4f -> %s", tr.at[i], nde_method_name(tr.to[i]));
    printf("\n");
    CHECK_EQ_INT(tr.n_switch, 2);
    if (tr.n_switch == 2) {
        CHECK(tr.to[0] == nde_method_find("kvaerno5") && tr.to[1] == nde_method_find("tsit5"));
        CHECK(tr.at[0] > 1.5 && tr.at[0] < 2.5);   /* into the stiff window */
        CHECK(tr.at[1] > 4.0 && tr.at[1] < 7.0);   /* out of it (lambda ~ -50 at t = 4.48) */
    }
    CHECK(err < 1e-5);
    CHECK_MSG(a.nfe * 3 < b.nfe, "auto nfe %zu, tsit5 %zu", a.nfe, b.nfe);
}

/* A problem that is never stiff: auto is tsit5, step for step and bit for bit. */
static void test_auto_nonstiff_is_tsit5(void)
{
    nde_ode ode = { .dim = 2, .f = osc };
    double y0[2] = { 1.0, 0.0 };
    nde_solution a, b;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("auto");
    o.save = NDE_SAVE_STEPS;
    CHECK(nde_ode_solve(&ode, 0.0, 20.0, y0, &o, &a) == NDE_OK);
    o.method = nde_method_find("tsit5");
    CHECK(nde_ode_solve(&ode, 0.0, 20.0, y0, &o, &b) == NDE_OK);
    CHECK(a.n == b.n && a.stats.nfe == b.stats.nfe);
    CHECK(a.n == b.n && memcmp(a.y, b.y, a.n * 2 * sizeof *a.y) == 0);
    CHECK_EQ_INT(a.stats.njac, 0);
    nde_solution_free(&a);
    nde_solution_free(&b);
}

/* Robertson to t = 1e5 (stiff from the first steps): auto switches once and stays with
 * kvaerno5, at about kvaerno5's cost and accuracy; the Jacobian-norm test keeps it
 * from switching back while the problem stays stiff. */
static int robertson(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
    dy[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1];
    dy[2] = 3e7 * y[1] * y[1];
    return 0;
}

static void test_auto_robertson(void)
{
    nde_ode ode = { .dim = 3, .f = robertson };
    double y0[3] = { 1.0, 0.0, 0.0 }, ref[3];
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("kvaerno5");
    o.rtol = 1e-10; o.atol = 1e-16;
    nde_solution sol;
    CHECK(nde_ode_solve(&ode, 0.0, 1e5, y0, &o, &sol) == NDE_OK);
    memcpy(ref, sol.y, sizeof ref);
    nde_solution_free(&sol);
    o.rtol = 1e-6; o.atol = 1e-12;
    CHECK(nde_ode_solve(&ode, 0.0, 1e5, y0, &o, &sol) == NDE_OK);
    size_t nfe_k = sol.stats.nfe;
    nde_solution_free(&sol);
    trace tr = { 0 };
    o.method = nde_method_find("auto");
    o.on_step_info = on_info; o.on_step_info_user = &tr;
    CHECK(nde_ode_solve(&ode, 0.0, 1e5, y0, &o, &sol) == NDE_OK);
    double err = 0.0;
    for (int i = 0; i < 3; i++) err = fmax(err, fabs(sol.y[i] - ref[i]) / ref[i]);
    printf("auto on Robertson: %d switch(es), first at t = %.3g, nfe %zu (kvaerno5 alone %zu), rel error %.1e\n",
           tr.n_switch, tr.n_switch ? tr.at[0] : 0.0, sol.stats.nfe, nfe_k, err);
    CHECK_EQ_INT(tr.n_switch, 1);
    CHECK(sol.stats.nfe < 2 * nfe_k);
    CHECK(err < 1e-4);
    nde_solution_free(&sol);
}

int main(void)
{
    RUN(test_estimate_exact_on_linear);
    RUN(test_detects_stiff_not_nonstiff);
    RUN(test_no_test_and_stop);
    RUN(test_boundaries);
    RUN(test_auto_switches_and_back);
    RUN(test_auto_nonstiff_is_tsit5);
    RUN(test_auto_robertson);
    return test_summary();
}
