/* nde_ode_solve: the one-call driver over the reusable solver object of the integrate
 * layer (src/integrate/loop.c): create, solve, move the output to the caller, free. */
#include "integrate/internal.h"

int nde_ode_solve(const nde_ode *ode, double t0, double t1, const double *y0,
                  const nde_options *opts, nde_solution *sol)
{
    if (!sol) return NDE_EINVAL;
    return nde__int_solve_once(ode, t0, t1, y0, opts, sol, NULL, NULL, NULL);
}
