/* The problems of `nde solve` and the demo: a selection of the zoo (zoo/zoo.h), in the
 * order `nde problems` lists them, and their reference solutions. */
#include <math.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

static const char *const names[] = {
    "lorenz", "vdp", "arenstorf", "pleiades", "kepler", "fehlberg", "ball", "pendulum",
};
#define N_PROBLEMS (sizeof names / sizeof names[0])

size_t tool_problem_count(void) { return N_PROBLEMS; }

const tool_problem *tool_problem_at(size_t i)
{
    return i < N_PROBLEMS ? zoo_find(names[i]) : NULL;
}

const tool_problem *tool_problem_find(const char *name)
{
    for (size_t i = 0; name && i < N_PROBLEMS; i++)
        if (strcmp(names[i], name) == 0) return zoo_find(names[i]);
    return NULL;
}

int tool_problem_reference(const tool_problem *p, double t1, double *yref)
{
    if (p->exact) { p->exact(t1, yref, p->user); return 0; }
    if (p->ref && t1 == p->t1) { memcpy(yref, p->ref, p->dim * sizeof *yref); return 0; }
    const nde_method *m = nde_method_find("dopri8");
    if (!m) {   /* fall back on the highest-order adaptive method */
        for (size_t i = 0; i < nde_method_count(); i++)
            if (nde_method_embedded_order(nde_method_at(i)) > 0 && nde_method_kind(nde_method_at(i)) != NDE_METHOD_SDE)
                m = nde_method_at(i);
    }
    if (!m) return -1;
    nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = TOOL_REFERENCE_RTOL;
    o.atol = TOOL_REFERENCE_RTOL;
    o.max_steps = 10000000;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, p->t0, t1, p->y0, &o, &sol);
    if (rc == NDE_OK && sol.n >= 1)
        memcpy(yref, sol.y + (sol.n - 1) * p->dim, p->dim * sizeof *yref);
    nde_solution_free(&sol);
    return rc == NDE_OK ? 0 : -1;
}

const char *tool_reference_text(const tool_problem *p, double t1)
{
    if (p->exact) return "exact";
    if (p->ref && t1 == p->t1) return p->ref_source;
    return TOOL_REFERENCE_TEXT;
}

double tool_error(size_t dim, const double *y, const double *ref)
{
    double e = 0.0;
    for (size_t i = 0; i < dim; i++) {
        double d = fabs(y[i] - ref[i]) / (1.0 + fabs(ref[i]));
        if (!(d <= e)) e = d;   /* NaN propagates */
    }
    return e;
}
