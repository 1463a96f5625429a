/* check_stiff_refs — checks the stored references of the zoo's stiff problems
 * (robertson, vdpol: published by the Test Set for IVP Solvers) against GSL, an
 * independent solver, run on the zoo's own right-hand sides and Jacobians.
 *
 * Not built by CMake (GSL is a bench-only dependency). Build and run from the
 * repository root:
 *
 *     cc -std=c11 -O2 -Wall -Wextra -Izoo -o /tmp/check_stiff_refs scripts/check_stiff_refs.c \
 *        zoo/zoo.c zoo/zoo_detest.c -lgsl -lgslcblas -lm
 *     /tmp/check_stiff_refs
 *
 * For each problem and each of bsimp (Bader-Deuflhard extrapolation) and msbdf
 * (variable-order BDF) at rtol 1e-10, 1e-12, 1e-14 it prints y(t1) and the largest
 * relative difference max_i |y_i - ref_i| / |ref_i| from the stored reference; it
 * exits 1 if the tightest bsimp run differs by more than 1e-9. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "zoo.h"

#define MAX_DIM 3

static int jac(double t, const double *y, double *dfdy, double *dfdt, void *params)
{
    const zoo_problem *p = params;
    for (size_t i = 0; i < p->dim; i++) dfdt[i] = 0.0;   /* autonomous */
    return p->jac(t, y, dfdy, p->user);
}
static int rhs(double t, const double *y, double *dy, void *params)
{
    const zoo_problem *p = params;
    return p->f(t, y, dy, p->user);
}

static double solve(const zoo_problem *p, const gsl_odeiv2_step_type *T, double rtol, double *y)
{
    gsl_odeiv2_system sys = { rhs, jac, p->dim, (void *)p };
    /* atol far below the smallest component (Robertson's y2 ~ 1e-13 at 1e11) */
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, T, 1e-12, rtol * 1e-10, rtol);
    gsl_odeiv2_driver_set_nmax(d, 0);
    double t = p->t0;
    zoo_y0(p, y);
    int rc = gsl_odeiv2_driver_apply(d, &t, p->t1, y);
    gsl_odeiv2_driver_free(d);
    if (rc != GSL_SUCCESS) return INFINITY;
    double worst = 0.0;
    for (size_t i = 0; i < p->dim; i++) {
        double r = fabs(y[i] - p->ref[i]) / fabs(p->ref[i]);
        if (!(r <= worst)) worst = r;
    }
    return worst;
}

int main(void)
{
    gsl_set_error_handler_off();
    static const double rtols[3] = { 1e-10, 1e-12, 1e-14 };
    int bad = 0;
    const zoo_problem *p;
    for (size_t k = 0; (p = zoo_family_at("stiff", k)) != NULL; k++) {
        if (!p->ref || !p->jac || p->dim > MAX_DIM) continue;
        printf("%s on [%g, %g], stored reference:", p->name, p->t0, p->t1);
        for (size_t i = 0; i < p->dim; i++) printf(" %.16e", p->ref[i]);
        printf("\n");
        for (int s = 0; s < 2; s++) {
            const gsl_odeiv2_step_type *T = s ? gsl_odeiv2_step_msbdf : gsl_odeiv2_step_bsimp;
            for (int r = 0; r < 3; r++) {
                double y[MAX_DIM];
                double d = solve(p, T, rtols[r], y);
                printf("  %-6s rtol %.0e: max rel. difference %.1e  y =", s ? "msbdf" : "bsimp",
                       rtols[r], d);
                for (size_t i = 0; i < p->dim; i++) printf(" %.16e", y[i]);
                printf("\n");
                if (s == 0 && r == 2 && !(d <= 1e-9)) bad = 1;
            }
        }
    }
    return bad;
}
