/* Public accessors of the constant method descriptors (include/nde/ode.h). The
 * registry (src/ode/tableaux.c) lists every method of every family. */
#include <string.h>

#include "ode/erk.h"

const nde_method *nde_method_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < nde__n_methods; i++)
        if (strcmp(nde__methods[i]->name, name) == 0) return nde__methods[i];
    return NULL;
}

const char *nde_method_name(const nde_method *m) { return m ? m->name : NULL; }
const char *nde_method_description(const nde_method *m) { return m ? m->description : NULL; }
int nde_method_order(const nde_method *m) { return m ? m->order : 0; }
int nde_method_embedded_order(const nde_method *m) { return m ? m->embedded_order : 0; }
int nde_method_stages(const nde_method *m) { return m ? m->stages : 0; }
int nde_method_is_fsal(const nde_method *m) { return m ? m->fsal : 0; }
int nde_method_dense_order(const nde_method *m) { return m ? m->dense_order : 0; }
int nde_method_kind(const nde_method *m) { return m ? m->kind : 0; }

const char *nde_method_kind_name(int kind)
{
    switch (kind) {
    case NDE_METHOD_EXPLICIT_RK: return "explicit Runge-Kutta";
    case NDE_METHOD_IMPLICIT_RK: return "implicit Runge-Kutta";
    case NDE_METHOD_ROSENBROCK: return "Rosenbrock";
    case NDE_METHOD_MULTISTEP: return "multistep";
    case NDE_METHOD_SDE: return "stochastic (SDE)";
    case NDE_METHOD_LANGEVIN: return "underdamped Langevin";
    case NDE_METHOD_REVERSIBLE: return "reversible";
    case NDE_METHOD_SWITCHING: return "stiffness-switching";
    case NDE_METHOD_EXTRAPOLATION: return "extrapolation";
    default: return "unknown";
    }
}

size_t nde_method_count(void) { return nde__n_methods; }

const nde_method *nde_method_at(size_t i) { return i < nde__n_methods ? nde__methods[i] : NULL; }
