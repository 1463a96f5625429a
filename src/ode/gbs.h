/* Private: the extrapolation family (src/ode/gbs.c): the Gragg-Bulirsch-Stoer method
 * with Deuflhard's order and step-size control as a stepper of the integrate loop. */
#ifndef NDE_SRC_ODE_GBS_H
#define NDE_SRC_ODE_GBS_H

#include "integrate/internal.h"

extern const nde__int_ops nde__gbs_ops;
extern const nde_method nde__gbs;

#endif
