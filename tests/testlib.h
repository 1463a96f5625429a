/* Minimal test harness shared by the test programs.
 *
 *   static void test_x(void) { CHECK(cond); CHECK_NEAR(a, b, tol); }
 *   int main(void) { setup(); RUN(test_x); RUN(test_y); return test_summary(); }
 *
 * Each failed check prints file:line and the values; test_summary prints
 * "N passed, N failed" and returns the exit code.
 *
 * Command line. testlib.c owns the real main(argc, argv): the program's own
 * `int main(void)` is renamed test_main by the macro below (the SDL_main idiom), so a
 * test program is written exactly as above and still takes arguments:
 *
 *   ./test_ode_core                   run every test
 *   ./test_ode_core test_bad_input    run only the tests named (any number of names)
 *   ./test_ode_core --list            print the test names, one a line; run none
 *
 * A name that no RUN matches is an error: a message on stderr and exit status 2.
 * Set-up code before the RUNs runs in every mode (it must be cheap and must not print
 * when test_listing() is true). Each test must stand alone: tests/CMakeLists.txt
 * registers every RUN(name) as its own ctest entry `<program>.<name>`, run in its
 * own process, so no test may rely on state left by an earlier one. */
#ifndef NDE_TESTLIB_H
#define NDE_TESTLIB_H
#include <stddef.h>
#include <stdio.h>
#include "nde.h"

extern int test_failures_now;
void test_fail(const char *file, int line, const char *fmt, ...);
void test_run(const char *name, void (*fn)(void));
int  test_summary(void);
/* Nonzero when the program runs with --list (tests are only named, not run). */
int  test_listing(void);

/* The test program's main(void), called by testlib.c's main after it has read the
 * command line. */
int test_main(void);
#ifndef NDE_TESTLIB_OWN_MAIN
#define main test_main
#endif

#define RUN(fn) test_run(#fn, fn)
#define CHECK(c) do { if (!(c)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECK_MSG(c, ...) do { if (!(c)) test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %s: %lld vs %lld", #a, #b, a_, b_); } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b), t_ = (tol); \
    if (!(fabs(a_ - b_) <= t_)) test_fail(__FILE__, __LINE__, "|%s - %s| = |%.17g - %.17g| = %.3g > %.3g", \
                                          #a, #b, a_, b_, fabs(a_ - b_), t_); } while (0)

/* Counting allocator: counts live allocations/bytes and can fail the N-th call
 * (fail_at = N, 1-based; 0 never fails). */
typedef struct test_alloc {
    nde_allocator a;
    size_t calls, live, live_bytes, fail_at;
} test_alloc;
void test_alloc_init(test_alloc *ta);

/* Whether a registered method solves nde_ode problems (the ODE batteries run over
 * these): not the SDE and underdamped-Langevin families, which have their own tests. */
int test_solves_odes(const nde_method *m);

/* The zoo's problem `name` (zoo/zoo.h: defined once there, references included) as an
 * nde_ode: dim, f, jac, user and mass as the zoo gives them; a test sets .jac = NULL for
 * difference Jacobians. Fails the test (and returns an empty problem) for an unknown name. */
nde_ode test_zoo_ode(const char *name);
#endif
