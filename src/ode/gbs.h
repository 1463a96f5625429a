/* Private: the extrapolation family (src/ode/gbs.c): the Gragg-Bulirsch-Stoer method
 * with Deuflhard's order and step-size control as a stepper of the integrate loop. */
#ifndef NDE_SRC_ODE_GBS_H
#define NDE_SRC_ODE_GBS_H

#include "integrate/internal.h"

extern const nde__int_ops nde__gbs_ops;
extern const nde_method nde__gbs;

/* For the gradients layer (src/adjoint/gbs_reverse.c): at most this many lines a step, */
#define NDE__GBS_MAX_LINES 9
/* the substeps n_j of line j (1 .. NDE__GBS_MAX_LINES), and the lines the last
 * accepted attempt computed (its solution is their extrapolation). */
int nde__gbs_substeps(int j);
int nde__gbs_lines(const nde__int_stepper *st);

#endif
