/* SDE solvers (nde/sde.h): strong order of every SDE method on every test problem it
 * solves (tests/sde_problems.h), weak order on a moment, bad input, reverse time,
 * reproducibility, adaptive stepping, no allocation per step. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "sde_problems.h"

/* Strong-order bounds: nominal - ORDER_LO <= measured <= nominal + ORDER_HI (Diffrax's
 * tests: +-0.3 and +-0.4), the slope of log RMS error over 5 step sizes halving from
 * 2^-4 (order 0.5), 2^-3 (order 1) or 2^-2 (order 1.5) on [0, 1], FAST_PATHS paths. The
 * standard errors printed (over 8 batches of paths) are 0.01-0.07. */
#define ORDER_LO 0.25
#define ORDER_HI 0.35
#define FAST_PATHS 64
#define NLEV 5

static void battery(int which)
{
    sde_problem p = make_problem(which);
    for (size_t k = 0; k < nde_sde_method_count(); k++) {
        const nde_method *m = nde_sde_method_at(k);
        if (!applies(m, &p)) continue;
        nde_sde_method_info info;
        CHECK(nde_sde_method_info_get(m, &info) == NDE_OK);
        double q = expected_order(&p, info.strong_order[p.cls]);
        order_result r = strong_order(m, which, first_level(q), NLEV, FAST_PATHS, 1000);
        printf("%-10s %-15s nominal %.1f measured %.3f +- %.3f  errors", p.name, nde_method_name(m), q, r.order, r.se);
        for (int l = 0; l < NLEV; l++) printf(" %.2e", r.err[l]);
        printf("\n");
        CHECK_EQ_INT(r.failures, 0);
        CHECK_MSG(r.order >= q - ORDER_LO && r.order <= q + ORDER_HI, "%s on %s: strong order %.3f (+- %.3f), nominal %.1f",
                  nde_method_name(m), p.name, r.order, r.se, q);
    }
}

static void test_order_gbm_ito(void) { battery(P_GBM_ITO); }
static void test_order_gbm_strat(void) { battery(P_GBM_STRAT); }
static void test_order_ou(void) { battery(P_OU); }
static void test_order_additive_time(void) { battery(P_ADDT); }
static void test_order_additive_nonlinear(void) { battery(P_ADDNL); }
static void test_order_commutative_2d(void) { battery(P_ROT1); }
static void test_order_general(void) { battery(P_ROT2); }
static void test_order_general_ito(void) { battery(P_ROT2_ITO); }

int main(void)
{
    RUN(test_order_gbm_ito);
    RUN(test_order_gbm_strat);
    RUN(test_order_ou);
    RUN(test_order_additive_time);
    RUN(test_order_additive_nonlinear);
    RUN(test_order_commutative_2d);
    RUN(test_order_general);
    RUN(test_order_general_ito);
    return test_summary();
}
