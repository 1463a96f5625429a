/* bench/bench.h — the uniform solver interface the ODE benchmark drives.
 *
 * Each tool (nde, GSL, SUNDIALS, Boost) registers a list of bench_solver entries.
 * A solver is prepared once per (problem, tolerance) with setup (allocations, the
 * initial value: not timed), then solve is called repeatedly and timed; it must do
 * everything a fresh solve from t0 to t1 needs (re-initialisation, initial step,
 * integration) and leave y(t1) in y.
 */
#ifndef NDE_BENCH_BENCH_H
#define NDE_BENCH_BENCH_H

#include "problems.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_spec {
    const bench_problem *p;
    double rtol, atol;
    double hmax;        /* > 0: largest step (overhead runs); 0: none */
    double hfixed;      /* > 0: constant steps of this size without error control */
} bench_spec;

typedef struct bench_out {
    int ok;             /* 1: reached t1 */
    long steps;         /* accepted steps */
    long rejected;      /* rejected steps; -1: the tool does not report them */
    long nfe;           /* f-evaluations; filled when counting (all tools) or by the tool */
    char msg[160];      /* failure detail */
} bench_out;

enum {
    BENCH_FIXED = 1u,   /* supports hfixed */
    BENCH_LOOSE = 2u    /* low order: run only for rtol >= 1e-6 */
};

typedef struct bench_solver bench_solver;
struct bench_solver {
    const char *tool, *method;
    int order;                  /* order of the propagated solution */
    unsigned flags;
    int id;                     /* the tool's own method id */
    /* NULL on failure (*msg filled) */
    void *(*setup)(const bench_solver *s, const bench_spec *sp, char *msg, size_t msgsize);
    /* count != 0: count f-evaluations through a wrapper (untimed runs only) */
    int (*solve)(void *ctx, double *y, bench_out *o, int count);
    void (*teardown)(void *ctx);
};

/* Registries; each tool compiled in provides one (see CMakeLists.txt). */
size_t bench_nde_solvers(const bench_solver **list);
size_t bench_gsl_solvers(const bench_solver **list);
size_t bench_sundials_solvers(const bench_solver **list);
size_t bench_boost_solvers(const bench_solver **list);

#ifdef __cplusplus
}
#endif
#endif
