/* bench/peer_nde.c — nde's solvers behind the benchmark interface: one call to
 * nde_ode_solve per solve (its allocations, initial step and loop all timed). */
#include "bench.h"

#include <nde.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct nde_ctx {
    const bench_spec *sp;
    nde_ode ode;
    nde_options o;
    double *y0;
    long counted;
    bench_rhs f;
    void *user;
} nde_ctx;

static int counting_rhs(double t, const double *y, double *dy, void *u)
{
    nde_ctx *c = u;
    c->counted++;
    return c->f(t, y, dy, c->user);
}

static void *nde_setup(const bench_solver *s, const bench_spec *sp, char *msg, size_t msgsize)
{
    const nde_method *m = nde_method_find(s->method);
    if (!m) { snprintf(msg, msgsize, "nde has no method %s", s->method); return NULL; }
    nde_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->y0 = malloc(sp->p->dim * sizeof *c->y0);
    if (!c->y0) { free(c); return NULL; }
    zoo_y0(sp->p, c->y0);
    c->sp = sp;
    c->f = sp->p->f;
    c->user = sp->p->user;
    c->ode = (nde_ode){ .dim = sp->p->dim, .f = sp->p->f, .user = sp->p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = sp->rtol;
    o.atol = sp->atol;
    o.max_steps = 50000000;
    o.dtmax = sp->hmax;
    if (sp->hfixed > 0.0) { o.rtol = 0.0; o.dt0 = sp->hfixed; }
    c->o = o;
    return c;
}

static int nde_solve(void *ctx, double *y, bench_out *out, int count)
{
    nde_ctx *c = ctx;
    nde_ode ode = c->ode;
    if (count) { ode.f = counting_rhs; ode.user = c; c->counted = 0; }
    nde_solution sol;
    const bench_problem *p = c->sp->p;
    const int rc = nde_ode_solve(&ode, p->t0, p->t1, c->y0, &c->o, &sol);
    out->ok = rc == NDE_OK && sol.n > 0;
    if (sol.n > 0) memcpy(y, sol.y + (sol.n - 1) * p->dim, p->dim * sizeof *y);
    out->steps = (long)sol.stats.accepted;
    out->rejected = (long)sol.stats.rejected;
    out->nfe = (long)sol.stats.nfe;
    if (count && (long)sol.stats.nfe != c->counted)
        snprintf(out->msg, sizeof out->msg, "stats.nfe %zu != %ld counted", sol.stats.nfe, c->counted);
    if (!out->ok)
        snprintf(out->msg, sizeof out->msg, "%s: %s", nde_status_str(rc), nde_solution_message(&sol));
    nde_solution_free(&sol);
    return out->ok ? 0 : -1;
}

static void nde_teardown(void *ctx)
{
    nde_ctx *c = ctx;
    if (!c) return;
    free(c->y0);
    free(c);
}

#define NDE_SOLVER(name, order, flags) \
    { "nde", name, order, flags, 0, nde_setup, nde_solve, nde_teardown }

static const bench_solver nde_solvers[] = {
    NDE_SOLVER("bosh3", 3, BENCH_FIXED | BENCH_LOOSE),
    NDE_SOLVER("dopri5", 5, BENCH_FIXED),
    NDE_SOLVER("tsit5", 5, BENCH_FIXED),
    NDE_SOLVER("vern6", 6, BENCH_FIXED),
    NDE_SOLVER("vern7", 7, BENCH_FIXED),
    NDE_SOLVER("dopri8", 8, BENCH_FIXED),
    NDE_SOLVER("vern8", 8, BENCH_FIXED),
    NDE_SOLVER("vern9", 9, BENCH_FIXED),
    NDE_SOLVER("gbs", 8, BENCH_FIXED),   /* order: its constant steps (4 lines) */
};

size_t bench_nde_solvers(const bench_solver **list)
{
    *list = nde_solvers;
    return sizeof nde_solvers / sizeof nde_solvers[0];
}
