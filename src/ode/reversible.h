/* Private: the reversible family (src/ode/reversible.c): reversible Heun as a stepper
 * of the integrate loop, and what the reversible adjoint (src/adjoint/reversible.c)
 * reads from it. */
#ifndef NDE_SRC_ODE_REVERSIBLE_H
#define NDE_SRC_ODE_REVERSIBLE_H

#include "integrate/internal.h"

extern const nde__int_ops nde__rev_ops;
extern const nde_method nde__reversible_heun;

/* After an attempt (an accepted step, before accept): its start's fh0, its yh1 and
 * fh1 = f(s + h, yh1), and the number of starts so far (it changes when the loop
 * restarts the stepper: yh = y again). */
void nde__rev_stepper_view(const nde__int_stepper *st, const double **fh0, const double **yh1, const double **fh1,
                           size_t *starts);

#endif
