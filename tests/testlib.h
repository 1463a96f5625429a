/* Minimal test harness shared by the test programs.
 *   static void test_x(void) { CHECK(cond); CHECK_NEAR(a, b, tol); }
 *   int main(void) { RUN(test_x); return test_summary(); }
 * Each failed check prints file:line and the values; test_summary prints
 * "N passed, N failed" and returns the exit code. */
#ifndef NDE_TESTLIB_H
#define NDE_TESTLIB_H
#include <stddef.h>
#include <stdio.h>
#include "nde.h"

extern int test_failures_now;
void test_fail(const char *file, int line, const char *fmt, ...);
void test_run(const char *name, void (*fn)(void));
int  test_summary(void);

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
#endif
