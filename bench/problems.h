/* bench/problems.h — the test problems of the ODE benchmarks, shared by every tool.
 *
 * The problems are the zoo's (zoo/zoo.h): one right-hand side per problem, written
 * once in zoo/zoo_rhs.inc, is called by nde, GSL, SUNDIALS and Boost alike: GSL takes
 * it as is (same signature), SUNDIALS and Boost through a one-line adaptor. The
 * reference generator (gen_refs.c) compiles the same zoo_rhs.inc in __float128, and
 * its output zoo/refs_bench.h is each problem's ref.
 *
 * Tolerances: every run uses atol = rtol * BENCH_ATOL_RATIO, and the error of a run is
 *     err = max_i |y_i(t1) - ref_i| / (|ref_i| + BENCH_ATOL_RATIO)
 * (a mixed relative/absolute error: BENCH_ATOL_RATIO = 1, so it is relative for
 * |y| > 1 and absolute below).
 */
#ifndef NDE_BENCH_PROBLEMS_H
#define NDE_BENCH_PROBLEMS_H

#include <stddef.h>

#include "zoo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Same signature as nde_rhs and GSL's odeiv2 function: 0 on success. */
typedef zoo_rhs bench_rhs;
typedef zoo_problem bench_problem;

/* atol = rtol * BENCH_ATOL_RATIO; the floor of the error metric. */
#define BENCH_ATOL_RATIO 1.0

/* Work-precision problems, i in [0, bench_n_wp_problems): the zoo's lorenz, arenstorf,
 * pleiades, linear1000. */
extern const size_t bench_n_wp_problems;
const bench_problem *bench_wp_problem(size_t i);

/* Overhead problems: y' = -y, y(0) = 1, dimension 1 and 1000, t in [0, 1] (the zoo's
 * decay1 and decay1000). */
const bench_problem *bench_decay1(void);
const bench_problem *bench_decay1000(void);

/* Any zoo problem by name; NULL if unknown. */
const bench_problem *bench_problem_find(const char *name);

/* max_i |y_i - ref_i| / (|ref_i| + floor) */
double bench_error(size_t dim, const double *y, const double *ref, double floor);

/* Initial step of Hairer, Norsett & Wanner, Solving ODEs I, II.4 (the algorithm nde,
 * ARKODE and SciPy use), for the tools that have none (GSL, Boost). Costs two
 * evaluations of f, counted in *nfe when nfe is not NULL. */
double bench_initial_step(bench_rhs f, void *user, size_t dim, double t0, double t1,
                          const double *y0, int order, double rtol, double atol,
                          long *nfe);

/* Monotonic wall clock in seconds. */
double bench_now(void);

/* Problem constants, exact doubles shared with gen_refs.c so that the reference
 * solves exactly the problem the double-precision tools see. */
#define BENCH_LINEAR_N 1000

#ifdef __cplusplus
}
#endif
#endif
