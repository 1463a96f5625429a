/* The problem zoo (zoo/zoo.h) checked against itself and against nde:
 *
 *   table      names unique, fields complete, y0 finite, f finite at y0
 *   jacobian   every Jacobian against central differences of f
 *   exact      every closed form starts at y0 and satisfies y' = f(t, y)
 *   refs       stored references against closed forms (DETEST), invariants
 *              (Robertson's mass), and nde's dopri8 at tight tolerance (non-stiff)
 *   events     the exact event times against nde's event location
 *   detest     the 25 DETEST problems in order, Kepler initial speeds exact */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"
#include "zoo.h"

static double mixed_diff(size_t n, const double *a, const double *b)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (!(d <= m)) m = d;
    }
    return m;
}

static void test_table(void)
{
    static const char *const families[] = { "hnw", "mechanics", "linear", "overhead", "stiff",
                                            "detest" };
    CHECK(zoo_count() > 30);
    CHECK(zoo_at(zoo_count()) == NULL);
    CHECK(zoo_find(NULL) == NULL && zoo_find("no_such_problem") == NULL);
    CHECK(zoo_family_at(NULL, 0) == NULL && zoo_family_at("none", 0) == NULL);
    static double y[ZOO_MAX_DIM], dy[ZOO_MAX_DIM];
    for (size_t i = 0; i < zoo_count(); i++) {
        const zoo_problem *p = zoo_at(i);
        CHECK_MSG(zoo_find(p->name) == p, "%s: zoo_find finds another problem", p->name);
        int known = 0;
        for (size_t k = 0; k < sizeof families / sizeof families[0]; k++)
            known |= strcmp(p->family, families[k]) == 0;
        CHECK_MSG(known, "%s: unknown family %s", p->name, p->family);
        CHECK_MSG(p->description && p->description[0] && p->source && p->source[0],
                  "%s: description and source", p->name);
        CHECK_MSG(p->dim > 0 && p->dim <= ZOO_MAX_DIM, "%s: dim %zu", p->name, p->dim);
        CHECK_MSG((p->y0 != NULL) != (p->init != NULL), "%s: exactly one of y0, init", p->name);
        CHECK_MSG(!p->y0 || p->dim <= ZOO_MAX_INLINE_DIM, "%s: y0 table of %zu", p->name, p->dim);
        CHECK_MSG(p->f && isfinite(p->t0) && isfinite(p->t1) && p->t1 != p->t0,
                  "%s: f and interval", p->name);
        CHECK_MSG(!p->ref || (p->ref_source && p->ref_source[0]), "%s: ref without source", p->name);
        CHECK_MSG(!p->event || (p->event_what && p->event_direction >= -1 && p->event_direction <= 1),
                  "%s: event fields", p->name);
        if (p->dim > ZOO_MAX_DIM) continue;
        zoo_y0(p, y);
        int finite = 1;
        for (size_t k = 0; k < p->dim; k++) finite &= isfinite(y[k]) != 0;
        CHECK_MSG(finite, "%s: y0 not finite", p->name);
        CHECK_MSG(p->f(p->t0, y, dy, p->user) == 0, "%s: f fails at y0", p->name);
        for (size_t k = 0; k < p->dim; k++) finite &= isfinite(dy[k]) != 0;
        CHECK_MSG(finite, "%s: f(t0, y0) not finite", p->name);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(zoo_at(j)->name, p->name) != 0, "%s: name used twice", p->name);
    }
}

/* Central differences with a step relative to each component; the truncation error is
 * O(h^2 f''') and the rounding O(eps |f_i| / h), both far below 1e-6 of the row's
 * scale 1 + max_j |J_ij| (the entries of a row share f_i's rounding). */
static void check_jacobian(const zoo_problem *p, double t, const double *y)
{
    enum { N = ZOO_MAX_DIM };   /* bruss1d: 1000 */
    static double J[N * N], yp[N], fp[N], fm[N], rowmax[N];
    if (p->dim > N) { CHECK_MSG(0, "%s: dim %zu too large for the check", p->name, p->dim); return; }
    CHECK(p->jac(t, y, J, p->user) == 0);
    double worst = 0;
    for (size_t i = 0; i < p->dim; i++) {
        rowmax[i] = 0;
        for (size_t j = 0; j < p->dim; j++) rowmax[i] = fmax(rowmax[i], fabs(J[i * p->dim + j]));
    }
    for (size_t j = 0; j < p->dim; j++) {
        const double h = 1e-6 * fmax(1.0, fabs(y[j]));
        memcpy(yp, y, p->dim * sizeof *yp);
        yp[j] = y[j] + h;
        p->f(t, yp, fp, p->user);
        yp[j] = y[j] - h;
        p->f(t, yp, fm, p->user);
        for (size_t i = 0; i < p->dim; i++) {
            const double fd = (fp[i] - fm[i]) / (2.0 * h), an = J[i * p->dim + j];
            const double e = fabs(fd - an) / (1.0 + rowmax[i]);
            if (!(e <= worst)) worst = e;
        }
    }
    printf("    %-16s max |J - finite differences| / (1 + max |row|) = %.1e\n", p->name, worst);
    CHECK_MSG(worst < 1e-6, "%s: Jacobian differs from finite differences by %.3g", p->name, worst);
}

static void test_jacobians(void)
{
    int n = 0;
    for (size_t i = 0; i < zoo_count(); i++) {
        const zoo_problem *p = zoo_at(i);
        if (!p->jac) continue;
        static double y[ZOO_MAX_DIM], dy[ZOO_MAX_DIM];
        zoo_y0(p, y);
        /* at y0 (some entries vanish there) and at a generic nearby state */
        check_jacobian(p, p->t0, y);
        p->f(p->t0, y, dy, p->user);
        for (size_t k = 0; k < p->dim; k++) y[k] += 0.1 + 1e-3 * dy[k] + 0.05 * (double)k;
        check_jacobian(p, p->t0, y);
        n++;
    }
    CHECK(n >= 8);
}

/* exact(t0) = y0, and the five-point derivative of exact equals f(t, exact(t)) at
 * interior times (h = 1e-5 (1 + |t|): truncation h^4 |y^(5)| / 30 below 1e-9 even at
 * D5's perihelion, rounding ~eps / h ~ 1e-11). */
static void test_exact_solutions(void)
{
    static double y0[ZOO_MAX_DIM], y[ZOO_MAX_DIM], f[ZOO_MAX_DIM], d[ZOO_MAX_DIM];
    static double a[4][ZOO_MAX_DIM];
    static const double off[4] = { -2, -1, 1, 2 };
    int n = 0;
    for (size_t i = 0; i < zoo_count(); i++) {
        const zoo_problem *p = zoo_at(i);
        if (!p->exact) continue;
        zoo_y0(p, y0);
        p->exact(p->t0, y, p->user);
        double e0 = mixed_diff(p->dim, y, y0), worst = 0;
        for (int k = 1; k < 8; k++) {
            const double t = p->t0 + (p->t1 - p->t0) * k / 8.0, h = 1e-5 * (1.0 + fabs(t));
            for (int m = 0; m < 4; m++) p->exact(t + off[m] * h, a[m], p->user);
            p->exact(t, y, p->user);
            p->f(t, y, f, p->user);
            for (size_t c = 0; c < p->dim; c++)
                d[c] = (a[0][c] - 8.0 * a[1][c] + 8.0 * a[2][c] - a[3][c]) / (12.0 * h);
            double e = mixed_diff(p->dim, d, f);
            if (!(e <= worst)) worst = e;
        }
        printf("    %-16s closed form: |y0 - exact(t0)| %.1e, |five-point y' - f| %.1e\n",
               p->name, e0, worst);
        CHECK_MSG(e0 <= 1e-15, "%s: exact(t0) differs from y0 by %.3g", p->name, e0);
        CHECK_MSG(worst <= 1e-8, "%s: the closed form misses y' = f by %.3g", p->name, worst);
        n++;
    }
    CHECK(n >= 10);
}

static void test_references(void)
{
    static double y[ZOO_MAX_DIM];
    /* closed forms at t1 against the stored references (the generator's own
     * agreement, zoo/refs_detest.h: worst 5.2e-13) */
    for (size_t i = 0; i < zoo_count(); i++) {
        const zoo_problem *p = zoo_at(i);
        if (!p->exact || !p->ref) continue;
        p->exact(p->t1, y, p->user);
        const double d = mixed_diff(p->dim, y, p->ref);
        CHECK_MSG(d <= 1e-12, "%s: closed form and reference differ by %.3g", p->name, d);
    }
    /* Robertson conserves y1 + y2 + y3 = 1; the published y(1e11) has 16 significant
     * digits and sums to 1 - 1.0e-14 */
    const zoo_problem *rb = zoo_find("robertson");
    CHECK(rb && rb->ref);
    if (rb && rb->ref) CHECK_NEAR(rb->ref[0] + rb->ref[1] + rb->ref[2], 1.0, 2e-14);
    /* non-stiff references against dopri8 at rtol 1e-13: the reference is ~1e-20,
     * dopri8's own global error dominates the difference */
    static const struct { const char *name; double tol; } runs[] = {
        { "arenstorf", 1e-9 }, { "pleiades", 1e-9 }, { "linear1000", 1e-10 }, { "lorenz", 1e-5 },
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        const zoo_problem *p = zoo_find(runs[r].name);
        CHECK(p && p->ref);
        if (!p || !p->ref) continue;
        zoo_y0(p, y);
        nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("dopri8");
        o.rtol = o.atol = 1e-13;
        o.max_steps = 1000000;
        nde_solution sol;
        int rc = nde_ode_solve(&ode, p->t0, p->t1, y, &o, &sol);
        CHECK_MSG(rc == NDE_OK, "%s: %s", p->name, nde_solution_message(&sol));
        if (rc == NDE_OK) {
            const double d = mixed_diff(p->dim, sol.y, p->ref);
            printf("    %-10s dopri8 at 1e-13 vs the stored reference: %.1e (%zu steps)\n",
                   p->name, d, sol.stats.steps);
            CHECK_MSG(d <= runs[r].tol, "%s: dopri8 differs from the reference by %.3g", p->name, d);
        }
        nde_solution_free(&sol);
    }
}

static void test_event_times(void)
{
    int n = 0;
    for (size_t i = 0; i < zoo_count(); i++) {
        const zoo_problem *p = zoo_at(i);
        if (!p->event || !p->event_time) continue;
        nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("dopri8");
        o.rtol = o.atol = 1e-12;
        o.event = p->event;
        o.n_events = 1;
        o.event_direction = &p->event_direction;
        nde_solution sol;
        int rc = nde_ode_solve(&ode, p->t0, p->t1, p->y0, &o, &sol);
        CHECK_MSG(rc == NDE_EVENT && sol.n_event_hits == 1, "%s: rc %d, %zu hits", p->name, rc,
                  sol.n_event_hits);
        if (rc == NDE_EVENT && sol.n_event_hits == 1)
            CHECK_NEAR(sol.event_t[0], p->event_time(), 1e-10);
        nde_solution_free(&sol);
        n++;
    }
    CHECK(n == 2);
}

static void test_detest_table(void)
{
    static const char *const names[25] = {
        "A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3",
        "C4", "C5", "D1", "D2", "D3", "D4", "D5", "E1", "E2", "E3", "E4", "E5" };
    for (size_t k = 0; k < 25; k++) {
        const zoo_problem *p = zoo_family_at("detest", k);
        CHECK(p != NULL);
        if (!p) return;
        CHECK_MSG(strcmp(p->name, names[k]) == 0, "DETEST %zu is %s, not %s", k, p->name, names[k]);
        CHECK(p->t0 == 0.0 && p->t1 == 20.0 && p->ref != NULL && p->y0 != NULL);
        if (p->name[0] == 'D') {
            static const double ecc[5] = { 0.1, 0.3, 0.5, 0.7, 0.9 };
            const double e = *(const double *)p->user;
            CHECK(e == ecc[k - 15]);
            CHECK(p->y0[0] == 1.0 - e && p->y0[1] == 0.0 && p->y0[2] == 0.0);
            CHECK_MSG(p->y0[3] == sqrt((1.0 + e) / (1.0 - e)), "%s: y0[3] = %.17g, sqrt gives %.17g",
                      p->name, p->y0[3], sqrt((1.0 + e) / (1.0 - e)));
        }
    }
    CHECK(zoo_family_at("detest", 25) == NULL);
}

int main(void)
{
    RUN(test_table);
    RUN(test_jacobians);
    RUN(test_exact_solutions);
    RUN(test_references);
    RUN(test_event_times);
    RUN(test_detest_table);
    return test_summary();
}
