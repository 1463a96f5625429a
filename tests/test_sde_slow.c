/* Slow sweeps of the SDE solvers (nde/sde.h): the strong-order battery of test_sde.c
 * with 256 paths and 6 step sizes, non-commutative noise (order 0.5, each method against
 * itself at a fine step, and the limits of different methods agreeing), and the
 * adaptive CIR experiment on 256 paths. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "sde_problems.h"

#define ORDER_LO 0.25
#define ORDER_HI 0.35
#define SLOW_PATHS 256
#define NLEV 6

static void sweep(int which)
{
    sde_problem p = make_problem(which);
    for (size_t k = 0; k < nde_sde_method_count(); k++) {
        const nde_method *m = nde_sde_method_at(k);
        if (!applies(m, &p)) continue;
        nde_sde_method_info info;
        nde_sde_method_info_get(m, &info);
        double q = expected_order(&p, info.strong_order[p.cls]);
        order_result r = strong_order(m, which, first_level(q), NLEV, SLOW_PATHS, 20000);
        printf("%-10s %-15s nominal %.1f measured %.3f +- %.3f  errors", p.name, nde_method_name(m), q, r.order, r.se);
        for (int l = 0; l < NLEV; l++) printf(" %.2e", r.err[l]);
        printf("\n");
        CHECK_EQ_INT(r.failures, 0);
        CHECK_MSG(r.order >= q - ORDER_LO && r.order <= q + ORDER_HI, "%s on %s: strong order %.3f (+- %.3f), nominal %.1f",
                  nde_method_name(m), p.name, r.order, r.se, q);
    }
}

static void test_sweep_all_problems(void)
{
    for (int which = 0; which < P_COUNT; which++) sweep(which);
}

/* Non-commutative noise: dy = A y dt + B1 y o dW1 + B2 y o dW2 with B1 = s [[0, 1], [0, 0]]
 * and B2 = s [[0, 0], [1, 0]] (B1 B2 != B2 B1), s = 0.8; no closed form. Each method
 * against itself at dt = 2^-11 over dt = 2^-3 .. 2^-7 (Diffrax's test_sde1 approach):
 * strong order 0.5 for every method (bounds as above, 128 paths); and the fine
 * solutions of heun, spark, general_shark and slow_rk agree (RMS < 0.01): they converge
 * to the same (Stratonovich) limit. */
#define NC_S 0.8
static int nc_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    f[0] = -0.5 * y[0] + y[1];
    f[1] = -y[0] - 0.5 * y[1];
    return 0;
}
static int nc_g(double t, const double *y, double *g, void *u)
{   /* g[i*2 + j] = (B_j y)_i */
    (void)t; (void)u;
    g[0] = NC_S * y[1]; g[1] = 0.0;
    g[2] = 0.0;         g[3] = NC_S * y[0];
    return 0;
}

static void test_noncommutative_order(void)
{
    enum { PATHS = 128, LEV = 5, FINE = 11 };
    nde_sde sde = { .dim = 2, .noise_dim = 2, .noise = NDE_NOISE_GENERAL, .stratonovich = 1, .drift = nc_f,
                    .diffusion = nc_g };
    double y0[2] = { 1.0, 0.5 };
    const char *names[] = { "euler_heun", "heun", "general_shark", "spark", "slow_rk" };
    enum { NM = 5 };
    static double fine[NM][PATHS][2];
    for (int k = 0; k < NM; k++) {
        const nde_method *m = nde_sde_method_find(names[k]);
        double sq[LEV] = { 0 };
        for (int i = 0; i < PATHS; i++) {
            nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, ldexp(1.0, -(FINE + 2)), 40000 + (uint64_t)i,
                                                        NDE_LEVY_SPACE_TIME);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m;
            o.rtol = 0.0;
            o.dt0 = ldexp(1.0, -FINE);
            nde_solution sol;
            CHECK(nde_sde_solve(&sde, 0.0, 1.0, y0, bm, &o, &sol) == NDE_OK);
            memcpy(fine[k][i], sol.y, 2 * sizeof(double));
            nde_solution_free(&sol);
            for (int l = 0; l < LEV; l++) {
                o.dt0 = ldexp(1.0, -(3 + l));
                CHECK(nde_sde_solve(&sde, 0.0, 1.0, y0, bm, &o, &sol) == NDE_OK);
                for (int d = 0; d < 2; d++) sq[l] += (sol.y[d] - fine[k][i][d]) * (sol.y[d] - fine[k][i][d]);
                nde_solution_free(&sol);
            }
            nde_brownian_free(bm);
        }
        double x[LEV], y[LEV];
        for (int l = 0; l < LEV; l++) { x[l] = -(double)(3 + l); y[l] = 0.5 * log2(sq[l] / PATHS); }
        double q = slope(x, y, LEV);
        printf("non-commutative %-15s strong order %.3f (errors %.2e .. %.2e)\n", names[k], q, sqrt(sq[0] / PATHS),
               sqrt(sq[LEV - 1] / PATHS));
        CHECK_MSG(q >= 0.5 - ORDER_LO && q <= 0.5 + ORDER_HI, "%s: order %.3f on non-commutative noise", names[k], q);
    }
    for (int k = 2; k < NM; k++) {
        double sq = 0;
        for (int i = 0; i < PATHS; i++)
            for (int d = 0; d < 2; d++) sq += (fine[k][i][d] - fine[1][i][d]) * (fine[k][i][d] - fine[1][i][d]);
        printf("fine %s against fine heun: RMS %.2e\n", names[k], sqrt(sq / PATHS));
        CHECK_MSG(sqrt(sq / PATHS) < 0.01, "%s and heun converge to different limits (%.3g)", names[k], sqrt(sq / PATHS));
    }
}

/* The CIR experiment of test_sde.c (test_adaptive_cir) on 256 paths. */
static void test_adaptive_cir_256(void) { cir_experiment(256); }

int main(void)
{
    RUN(test_sweep_all_problems);
    RUN(test_noncommutative_order);
    RUN(test_adaptive_cir_256);
    return test_summary();
}
