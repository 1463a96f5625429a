/* Private: the underdamped Langevin family (src/sde/langevin.c): ALIGN, ShOULD and
 * QUICSORT as steppers of the integrate loop (kind NDE_METHOD_LANGEVIN, problem kind
 * NDE__INT_PROBLEM_SDE with st.problem an nde__lgv_problem), registered in
 * nde__methods[] (src/ode/tableaux.c). */
#ifndef NDE_SRC_SDE_LANGEVIN_H
#define NDE_SRC_SDE_LANGEVIN_H

#include "integrate/internal.h"
#include "nde/langevin.h"

extern const nde_method nde__lgv_align, nde__lgv_should, nde__lgv_quicsort;

/* What nde_langevin_solve hands the loop as st.problem: the diffusion (by value) and
 * its Brownian path. */
typedef struct nde__lgv_problem {
    nde_langevin p;
    nde_brownian *bm;
} nde__lgv_problem;

#endif
