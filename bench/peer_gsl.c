/* bench/peer_gsl.c — GSL 2.x odeiv2 behind the benchmark interface.
 *
 * Usage as GSL documents it: one gsl_odeiv2_driver per (problem, tolerance) with the
 * standard y-control (D_i = atol + rtol |y_i|), reused across solves with
 * gsl_odeiv2_driver_reset_hstart. GSL has no automatic initial step; every solve
 * computes one with the same Hairer-Norsett-Wanner algorithm nde and ARKODE use
 * (bench_initial_step, timed). The right-hand side is the problem's own function:
 * GSL's signature is the same as nde's.
 */
#include "bench.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gsl_ctx {
    const bench_spec *sp;
    gsl_odeiv2_system sys;
    gsl_odeiv2_driver *d;
    double *y0;
    int order;
    long counted;
} gsl_ctx;

static int counting_rhs(double t, const double *y, double *dy, void *u)
{
    gsl_ctx *c = u;
    c->counted++;
    return c->sp->p->f(t, y, dy, c->sp->p->user);
}

static void *gsl_setup(const bench_solver *s, const bench_spec *sp, char *msg, size_t msgsize)
{
    const gsl_odeiv2_step_type *T = s->id == 0 ? gsl_odeiv2_step_rkf45 : gsl_odeiv2_step_rk8pd;
    gsl_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->sp = sp;
    c->order = s->order;
    c->y0 = malloc(sp->p->dim * sizeof *c->y0);
    if (!c->y0) { free(c); return NULL; }
    zoo_y0(sp->p, c->y0);
    c->sys = (gsl_odeiv2_system){ sp->p->f, NULL, sp->p->dim, sp->p->user };
    /* Fixed steps: no error control wanted; GSL still checks it in
     * apply_fixed_step, so give it tolerances it cannot fail. */
    const double atol = sp->hfixed > 0.0 ? 1e30 : sp->atol;
    const double rtol = sp->hfixed > 0.0 ? 1e30 : sp->rtol;
    c->d = gsl_odeiv2_driver_alloc_y_new(&c->sys, T, 1e-6, atol, rtol);
    if (!c->d) {
        snprintf(msg, msgsize, "gsl_odeiv2_driver_alloc_y_new failed");
        free(c->y0); free(c);
        return NULL;
    }
    if (sp->hmax > 0.0) gsl_odeiv2_driver_set_hmax(c->d, sp->hmax);
    return c;
}

static int gsl_solve(void *ctx, double *y, bench_out *o, int count)
{
    gsl_ctx *c = ctx;
    const bench_problem *p = c->sp->p;
    if (count) { c->sys.function = counting_rhs; c->sys.params = c; c->counted = 0; }
    memcpy(y, c->y0, p->dim * sizeof *y);
    double t = p->t0;
    int rc;
    if (c->sp->hfixed > 0.0) {
        const unsigned long n = (unsigned long)llround((p->t1 - p->t0) / c->sp->hfixed);
        gsl_odeiv2_driver_reset_hstart(c->d, c->sp->hfixed);
        rc = gsl_odeiv2_driver_apply_fixed_step(c->d, &t, c->sp->hfixed, n, y);
    } else {
        double h0 = bench_initial_step(c->sys.function, c->sys.params, p->dim, p->t0, p->t1,
                                       y, c->order, c->sp->rtol, c->sp->atol, NULL);
        if (c->sp->hmax > 0.0 && h0 > c->sp->hmax) h0 = c->sp->hmax;
        gsl_odeiv2_driver_reset_hstart(c->d, h0);
        rc = gsl_odeiv2_driver_apply(c->d, &t, p->t1, y);
    }
    o->ok = rc == GSL_SUCCESS;
    o->steps = (long)c->d->e->count;
    o->rejected = (long)c->d->e->failed_steps;
    o->nfe = count ? c->counted : -1;
    if (!o->ok) snprintf(o->msg, sizeof o->msg, "gsl status %d (%s) at t = %g", rc, gsl_strerror(rc), t);
    if (count) { c->sys.function = p->f; c->sys.params = p->user; }
    return o->ok ? 0 : -1;
}

static void gsl_teardown(void *ctx)
{
    gsl_ctx *c = ctx;
    if (!c) return;
    gsl_odeiv2_driver_free(c->d);
    free(c->y0);
    free(c);
}

static const bench_solver gsl_solvers[] = {
    { "gsl", "rkf45", 5, BENCH_FIXED, 0, gsl_setup, gsl_solve, gsl_teardown },
    { "gsl", "rk8pd", 8, BENCH_FIXED, 1, gsl_setup, gsl_solve, gsl_teardown },
};

size_t bench_gsl_solvers(const bench_solver **list)
{
    gsl_set_error_handler_off();
    *list = gsl_solvers;
    return sizeof gsl_solvers / sizeof gsl_solvers[0];
}
