/* Public accessors of the constant method descriptors (include/nde/ode.h). */
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

size_t nde_method_count(void) { return nde__n_methods; }

const nde_method *nde_method_at(size_t i) { return i < nde__n_methods ? nde__methods[i] : NULL; }
