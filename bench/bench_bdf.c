/* nde's variable-order BDF against CVODE's BDF (SUNDIALS, dense direct linear solver),
 * on the same right-hand sides and analytic Jacobians: Robertson to 1e11, Van der Pol
 * (mu = 1e3, [0, 3000]) and HIRES ([0, 321.8122]) at rtol 1e-4 ... 1e-10.
 *
 * Per solver and tolerance: time per solve (best of 5 repetitions, each repeating the
 * solve until >= 30 ms), the largest relative error at t1 against a reference (CVODE at
 * rtol 1e-13, checked against nde's bdf at 1e-12: their agreement is printed), steps,
 * Jacobians, LU factorisations (CVODE: linear-solver setups), corrector iterations and
 * f-evaluations (CVODE's count excludes those of its difference quotients; both use the
 * analytic J here), and the time ratio nde / CVODE.
 *
 * Debian's SUNDIALS is built at -O0 (research/peers-ode.md gives CVODE's -O2 figures:
 * HIRES 0.32 ms); ratios against it flatter nde.
 *
 *     cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNDE_BUILD_BENCH=ON
 *     cmake --build build --target nde_bench_bdf && ./build/bench/nde_bench_bdf */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nde.h"
#include "zoo.h"

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

/* ---- problems: the zoo's (zoo/zoo.h), as tests/test_bdf.c ------------------------------ */

typedef struct problem {
    const char *name;
    const char *zoo_name;    /* the zoo problem: f, jac and their user pointer */
    size_t dim;
    double t1, atol_scale;   /* atol = atol_scale * rtol */
    double y0[8];
    double floor_;           /* relative errors are taken against max(|ref|, floor_) */
} problem;

static const problem PROBLEMS[] = {
    { "robertson 1e11", "robertson", 3, 1e11, 1e-8, { 1.0, 0.0, 0.0 }, 1e-20 },
    { "vdp mu=1e3", "vdp1000", 2, 3000.0, 1.0, { 2.0, 0.0 }, 1e-3 },
    { "hires", "hires", 8, 321.8122, 1e-4, { 1.0, 0, 0, 0, 0, 0, 0, 0.0057 }, 1e-20 },
};
/* The zoo entry of PROBLEMS[k], looked up once (main): the callbacks use it directly. */
static const zoo_problem *ZOO[sizeof PROBLEMS / sizeof PROBLEMS[0]];
static const zoo_problem *zoo_of(const problem *p) { return ZOO[p - PROBLEMS]; }
#define N_PROBLEMS (sizeof PROBLEMS / sizeof PROBLEMS[0])

typedef struct result { double y[8]; size_t steps, njac, nlu, nnewton, nfe; int rc; } result;

/* ---- nde ------------------------------------------------------------------------------ */

static void solve_nde(const problem *p, double rtol, result *r)
{
    const zoo_problem *z = zoo_of(p);
    nde_ode ode = { .dim = p->dim, .f = z->f, .jac = z->jac, .user = z->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("bdf");
    o.rtol = rtol; o.atol = rtol * p->atol_scale;
    o.max_steps = 10000000;
    nde_solution sol;
    r->rc = nde_ode_solve(&ode, 0.0, p->t1, p->y0, &o, &sol);
    if (sol.n) memcpy(r->y, sol.y + (sol.n - 1) * p->dim, p->dim * sizeof *r->y);
    r->steps = sol.stats.steps; r->njac = sol.stats.njac; r->nlu = sol.stats.nlu;
    r->nnewton = sol.stats.nnewton; r->nfe = sol.stats.nfe;
    nde_solution_free(&sol);
}

/* ---- CVODE ----------------------------------------------------------------------------- */

static int cv_rhs(sunrealtype t, N_Vector y, N_Vector dy, void *u)
{
    const problem *p = u;
    return zoo_of(p)->f(t, N_VGetArrayPointer(y), N_VGetArrayPointer(dy), zoo_of(p)->user);
}
/* SUNDIALS' dense matrices are column-major. */
static int cv_jac(sunrealtype t, N_Vector y, N_Vector fy, SUNMatrix Jm, void *u, N_Vector t1, N_Vector t2,
                  N_Vector t3)
{
    (void)fy; (void)t1; (void)t2; (void)t3;
    const problem *p = u;
    double J[64];
    int rc = zoo_of(p)->jac(t, N_VGetArrayPointer(y), J, zoo_of(p)->user);
    for (size_t i = 0; i < p->dim; i++)
        for (size_t j = 0; j < p->dim; j++) SM_ELEMENT_D(Jm, i, j) = J[i * p->dim + j];
    return rc;
}

static void solve_cvode(const problem *p, double rtol, result *r)
{
    SUNContext ctx;
    r->rc = -1;
    if (SUNContext_Create(NULL, &ctx)) return;
    N_Vector y = N_VNew_Serial((sunindextype)p->dim, ctx);
    memcpy(N_VGetArrayPointer(y), p->y0, p->dim * sizeof(double));
    void *mem = CVodeCreate(CV_BDF, ctx);
    SUNMatrix A = SUNDenseMatrix((sunindextype)p->dim, (sunindextype)p->dim, ctx);
    SUNLinearSolver LS = SUNLinSol_Dense(y, A, ctx);
    int rc = CVodeInit(mem, cv_rhs, 0.0, y);
    rc |= CVodeSStolerances(mem, rtol, rtol * p->atol_scale);
    rc |= CVodeSetUserData(mem, (void *)p);
    rc |= CVodeSetLinearSolver(mem, LS, A);
    rc |= CVodeSetJacFn(mem, cv_jac);
    rc |= CVodeSetMaxNumSteps(mem, 10000000L);
    rc |= CVodeSetStopTime(mem, p->t1);
    double t;
    if (!rc) rc = CVode(mem, p->t1, y, &t, CV_NORMAL);
    r->rc = rc < 0 ? rc : 0;
    memcpy(r->y, N_VGetArrayPointer(y), p->dim * sizeof(double));
    long nst = 0, nje = 0, nsetups = 0, nni = 0, nfe = 0;
    CVodeGetNumSteps(mem, &nst);
    CVodeGetNumJacEvals(mem, &nje);
    CVodeGetNumLinSolvSetups(mem, &nsetups);
    CVodeGetNumNonlinSolvIters(mem, &nni);
    CVodeGetNumRhsEvals(mem, &nfe);
    r->steps = (size_t)nst; r->njac = (size_t)nje; r->nlu = (size_t)nsetups;
    r->nnewton = (size_t)nni; r->nfe = (size_t)nfe;
    CVodeFree(&mem);
    SUNLinSolFree(LS);
    SUNMatDestroy(A);
    N_VDestroy(y);
    SUNContext_Free(&ctx);
}

/* ---- timing ------------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define MIN_BATCH_S 0.03
#define REPEATS 5
typedef void (*solve_fn)(const problem *, double, result *);
/* Best over REPEATS batches (each >= MIN_BATCH_S) of the time per solve, in ms. */
static double time_solve(solve_fn fn, const problem *p, double rtol, result *r)
{
    double best = INFINITY;
    for (int k = 0; k < REPEATS; k++) {
        size_t n = 0;
        double t0 = now(), el;
        do { fn(p, rtol, r); n++; el = now() - t0; } while (el < MIN_BATCH_S);
        if (el / (double)n < best) best = el / (double)n;
    }
    return 1e3 * best;
}

static double rel_err(const problem *p, const double *y, const double *ref)
{
    double e = 0.0;
    for (size_t i = 0; i < p->dim; i++) e = fmax(e, fabs(y[i] - ref[i]) / fmax(fabs(ref[i]), p->floor_));
    return e;
}

int main(void)
{
    static const double rtols[] = { 1e-4, 1e-6, 1e-8, 1e-10 };
    printf("nde bdf vs CVODE BDF (SUNDIALS %s, dense LU, analytic Jacobian). time: ms per solve,\n"
           "best of %d batches of >= %.0f ms; err: max relative error at t1 vs the reference.\n\n",
           SUNDIALS_VERSION, REPEATS, 1e3 * MIN_BATCH_S);
    for (size_t k = 0; k < N_PROBLEMS; k++)
        if (!(ZOO[k] = zoo_find(PROBLEMS[k].zoo_name))) { fprintf(stderr, "no zoo problem %s\n", PROBLEMS[k].zoo_name); return 1; }
    for (size_t k = 0; k < N_PROBLEMS; k++) {
        const problem *p = &PROBLEMS[k];
        result ref, ref2;
        solve_cvode(p, 1e-13, &ref);
        solve_nde(p, 1e-12, &ref2);
        printf("%s (t1 = %g, atol = %g rtol): reference CVODE rtol 1e-13 (rc %d); nde bdf rtol 1e-12 "
               "agrees to %.2e\n  y(t1) =", p->name, p->t1, p->atol_scale, ref.rc, rel_err(p, ref2.y, ref.y));
        for (size_t i = 0; i < p->dim; i++) printf(" %.16e", ref.y[i]);
        printf("\n");
        printf("  %-7s | %-9s %-9s %6s %5s %5s %6s %6s | %-9s %-9s %6s %5s %5s %6s %6s | %s\n", "rtol", "nde ms",
               "err", "steps", "njac", "nlu", "newton", "nfe", "cvode ms", "err", "steps", "njac", "nlu",
               "newton", "nfe", "nde/cvode");
        for (size_t j = 0; j < sizeof rtols / sizeof rtols[0]; j++) {
            result a, b;
            double ta = time_solve(solve_nde, p, rtols[j], &a);
            double tb = time_solve(solve_cvode, p, rtols[j], &b);
            printf("  %-7.0e | %-9.4f %-9.2e %6zu %5zu %5zu %6zu %6zu | %-9.4f %-9.2e %6zu %5zu %5zu %6zu %6zu | "
                   "%.2f%s\n", rtols[j], ta, a.rc ? NAN : rel_err(p, a.y, ref.y), a.steps, a.njac, a.nlu,
                   a.nnewton, a.nfe, tb, b.rc ? NAN : rel_err(p, b.y, ref.y), b.steps, b.njac, b.nlu, b.nnewton,
                   b.nfe, ta / tb, a.rc || b.rc ? " (a solve failed)" : "");
        }
        printf("\n");
    }
    return 0;
}
