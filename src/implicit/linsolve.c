/* The caller's linear solver (nde_options.lin_setup / lin_solve, include/nde/ode.h) as
 * the implicit families call it: the map from the loop's forward time to the caller's,
 * the counting, and what its return codes mean to the stepper (st->why contract of
 * src/integrate/internal.h). */
#include "implicit/internal.h"

#include <math.h>

int nde__impl_lin_setup(const nde__int_stepper *st, double s, const double *y, double hg, const char **why)
{
    st->stats->nlu++;
    int rc = st->opts->lin_setup(st->dir * s, y, st->dir * hg, st->opts->lin_user);
    if (rc == 0) return 0;
    if (rc > 0) {
        *why = "the linear-solver setup callback (lin_setup) asked for a smaller step";
        return 1;
    }
    *why = "the linear-solver setup callback (lin_setup) returned an error";
    return NDE_ECALLBACK;
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int nde__impl_lin_solve(const nde__int_stepper *st, double *x, const char **why)
{
    /* a non-finite right-hand side is the caller's f's doing, not the solver's: the
     * family's own checks report it */
    int finite_in = all_finite(x, st->dim);
    int rc = st->opts->lin_solve(x, st->opts->lin_user);
    if (rc < 0) {
        *why = "the linear-solver callback (lin_solve) returned an error";
        return NDE_ECALLBACK;
    }
    if (rc > 0) {
        *why = "the linear-solver callback (lin_solve) asked for a smaller step";
        return 1;
    }
    if (finite_in && !all_finite(x, st->dim)) {
        *why = "the linear-solver callback (lin_solve) wrote a non-finite value";
        return 1;
    }
    return 0;
}
