/* bench/peer_sundials.c — SUNDIALS (6.x) ARKODE ERKStep and CVODE Adams behind the
 * benchmark interface.
 *
 * One integrator memory per (problem, tolerance), reinitialised for every solve
 * (ERKStepReInit / CVodeReInit keep the options and recompute the initial step),
 * with a stop time at t1 so that the integrator steps exactly to t1 as the other
 * tools do. Library defaults otherwise (ARKODE's PID controller, CVODE's variable
 * order up to 12 with the fixed-point corrector that non-stiff Adams runs use).
 *
 * Compiled twice when an -O2 build of SUNDIALS is available (see CMakeLists.txt):
 * against Debian's packages (built -O0) as tools "arkode"/"cvode", and against the
 * -O2 build with BENCH_SUNDIALS_SUFFIX="_o2" as "arkode_o2"/"cvode_o2".
 */
#include "bench.h"

#include <arkode/arkode_erkstep.h>
#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BENCH_SUNDIALS_SUFFIX
#define BENCH_SUNDIALS_SUFFIX ""
#endif

enum { ARK_DP5, ARK_VERNER65, ARK_FEHLBERG78, CV_ADAMS_ID };

typedef struct sun_ctx {
    const bench_spec *sp;
    int id;
    SUNContext sunctx;
    N_Vector y;
    void *mem;
    SUNNonlinearSolver nls;
    double *y0;
    int count;
    long counted;
    char errmsg[120];
} sun_ctx;

static int sun_rhs(realtype t, N_Vector y, N_Vector ydot, void *u)
{
    sun_ctx *c = u;
    if (c->count) c->counted++;
    return c->sp->p->f(t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot), c->sp->p->user);
}

/* Keep SUNDIALS quiet; remember its last message for the failure report. */
static void sun_err(int code, const char *module, const char *function, char *msg, void *u)
{
    sun_ctx *c = u;
    snprintf(c->errmsg, sizeof c->errmsg, "%s %s (%d): %s", module, function, code, msg);
}

static void sun_teardown(void *ctx)
{
    sun_ctx *c = ctx;
    if (!c) return;
    if (c->mem) {
        if (c->id == CV_ADAMS_ID) CVodeFree(&c->mem);
        else ERKStepFree(&c->mem);
    }
    if (c->nls) SUNNonlinSolFree(c->nls);
    if (c->y) N_VDestroy(c->y);
    if (c->sunctx) SUNContext_Free(&c->sunctx);
    free(c->y0);
    free(c);
}

static void *sun_setup(const bench_solver *s, const bench_spec *sp, char *msg, size_t msgsize)
{
    sun_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->sp = sp;
    c->id = s->id;
    const size_t n = sp->p->dim;
    c->y0 = malloc(n * sizeof *c->y0);
    if (!c->y0 || SUNContext_Create(NULL, &c->sunctx) != 0) goto fail;
    zoo_y0(sp->p, c->y0);
    c->y = N_VNew_Serial((sunindextype)n, c->sunctx);
    if (!c->y) goto fail;
    memcpy(N_VGetArrayPointer(c->y), c->y0, n * sizeof *c->y0);
    int rc = 0;
    if (c->id == CV_ADAMS_ID) {
        if (sp->hfixed > 0.0) { snprintf(msg, msgsize, "CVODE has no fixed-step mode"); goto fail; }
        c->mem = CVodeCreate(CV_ADAMS, c->sunctx);
        if (!c->mem) goto fail;
        rc |= CVodeSetErrHandlerFn(c->mem, sun_err, c);
        rc |= CVodeInit(c->mem, sun_rhs, sp->p->t0, c->y);
        rc |= CVodeSStolerances(c->mem, sp->rtol, sp->atol);
        c->nls = SUNNonlinSol_FixedPoint(c->y, 0, c->sunctx);
        if (!c->nls) goto fail;
        rc |= CVodeSetNonlinearSolver(c->mem, c->nls);
        rc |= CVodeSetUserData(c->mem, c);
        rc |= CVodeSetMaxNumSteps(c->mem, 50000000L);
        if (sp->hmax > 0.0) rc |= CVodeSetMaxStep(c->mem, sp->hmax);
    } else {
        c->mem = ERKStepCreate(sun_rhs, sp->p->t0, c->y, c->sunctx);
        if (!c->mem) goto fail;
        rc |= ERKStepSetErrHandlerFn(c->mem, sun_err, c);
        const ARKODE_ERKTableID table = c->id == ARK_DP5 ? ARKODE_DORMAND_PRINCE_7_4_5
                                      : c->id == ARK_VERNER65 ? ARKODE_VERNER_8_5_6
                                      : ARKODE_FEHLBERG_13_7_8;
        rc |= ERKStepSetTableNum(c->mem, table);
        rc |= ERKStepSStolerances(c->mem, sp->rtol, sp->atol);
        rc |= ERKStepSetUserData(c->mem, c);
        rc |= ERKStepSetMaxNumSteps(c->mem, 50000000L);
        if (sp->hmax > 0.0) rc |= ERKStepSetMaxStep(c->mem, sp->hmax);
        if (sp->hfixed > 0.0) rc |= ERKStepSetFixedStep(c->mem, sp->hfixed);
    }
    if (rc != 0) { snprintf(msg, msgsize, "SUNDIALS setup failed: %s", c->errmsg); goto fail; }
    return c;
fail:
    sun_teardown(c);
    return NULL;
}

static int sun_solve(void *ctx, double *y, bench_out *o, int count)
{
    sun_ctx *c = ctx;
    const bench_problem *p = c->sp->p;
    double *yd = N_VGetArrayPointer(c->y);
    memcpy(yd, c->y0, p->dim * sizeof *yd);
    c->count = count;
    c->counted = 0;
    realtype t = p->t0;
    int rc;
    long nst = 0, nfe = 0, netf = 0, ncf = 0;
    if (c->id == CV_ADAMS_ID) {
        CVodeReInit(c->mem, p->t0, c->y);
        CVodeSetStopTime(c->mem, p->t1);
        rc = CVode(c->mem, p->t1, c->y, &t, CV_NORMAL);
        o->ok = rc >= 0;
        CVodeGetNumSteps(c->mem, &nst);
        CVodeGetNumRhsEvals(c->mem, &nfe);
        CVodeGetNumErrTestFails(c->mem, &netf);
        CVodeGetNumNonlinSolvConvFails(c->mem, &ncf);
    } else {
        ERKStepReInit(c->mem, sun_rhs, p->t0, c->y);
        ERKStepSetStopTime(c->mem, p->t1);
        rc = ERKStepEvolve(c->mem, p->t1, c->y, &t, ARK_NORMAL);
        o->ok = rc >= 0;
        ERKStepGetNumSteps(c->mem, &nst);
        ERKStepGetNumRhsEvals(c->mem, &nfe);
        ERKStepGetNumErrTestFails(c->mem, &netf);
    }
    memcpy(y, yd, p->dim * sizeof *y);
    o->steps = nst;          /* SUNDIALS counts successful steps */
    o->rejected = netf + ncf;
    o->nfe = nfe;
    if (count && nfe != c->counted)
        snprintf(o->msg, sizeof o->msg, "library nfe %ld != %ld counted", nfe, c->counted);
    if (!o->ok) snprintf(o->msg, sizeof o->msg, "flag %d at t = %g: %s", rc, t, c->errmsg);
    c->count = 0;
    return o->ok ? 0 : -1;
}

#define SUN_SOLVER(tool, name, order, flags, id) \
    { tool BENCH_SUNDIALS_SUFFIX, name, order, flags, id, sun_setup, sun_solve, sun_teardown }

static const bench_solver sun_solvers[] = {
    SUN_SOLVER("arkode", "erk_dp5", 5, BENCH_FIXED, ARK_DP5),
    SUN_SOLVER("arkode", "erk_verner65", 6, BENCH_FIXED, ARK_VERNER65),
    SUN_SOLVER("arkode", "erk_fehlberg78", 8, BENCH_FIXED, ARK_FEHLBERG78),
    SUN_SOLVER("cvode", "adams", 12, 0, CV_ADAMS_ID),
};

size_t bench_sundials_solvers(const bench_solver **list)
{
    *list = sun_solvers;
    return sizeof sun_solvers / sizeof sun_solvers[0];
}
