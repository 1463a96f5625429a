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
#include "sde/internal.h"

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

/* ---- weak order: the mean of Euler-Maruyama on GBM ---------------------------------- */

typedef struct gbm_par { double mu, s; } gbm_par;
static int pgbm_f(double t, const double *y, double *f, void *u) { (void)t; f[0] = ((gbm_par *)u)->mu * y[0]; return 0; }
static int pgbm_g(double t, const double *y, double *g, void *u) { (void)t; g[0] = ((gbm_par *)u)->s * y[0]; return 0; }

/* E[y_N] of Euler-Maruyama on Itô GBM is exactly y0 (1 + mu dt)^N (the steps' factors
 * 1 + mu dt + s W are independent with mean 1 + mu dt), and E[y(1)] = e^mu: its weak
 * error is of order 1. 4000 paths; mu = 1.5, s = 0.2, so that the bias (0.15 at
 * dt = 1/32) stays far above the sampling error (~0.01). Checks: each sample mean
 * against the method's exact mean (5 standard errors, p = 6e-7), and the slope of
 * log |mean - e^mu| over dt = 1/2 .. 1/32 within [0.75, 1.25] of the weak order 1. */
static void test_weak_order_mean(void)
{
    enum { PATHS = 4000, LEV = 5 };
    gbm_par par = { 1.5, 0.2 };
    nde_sde sde = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .drift = pgbm_f, .diffusion = pgbm_g,
                    .user = &par };
    double sum[LEV] = { 0 }, sum2[LEV] = { 0 }, y0 = 1.0;
    for (int i = 0; i < PATHS; i++) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, 1.0 / 128, 7000 + (uint64_t)i, NDE_LEVY_NONE);
        for (int l = 0; l < LEV; l++) {
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_method_find("euler_maruyama");
            o.rtol = 0.0;
            o.dt0 = ldexp(1.0, -(l + 1));
            nde_solution sol;
            CHECK(nde_sde_solve(&sde, 0.0, 1.0, &y0, bm, &o, &sol) == NDE_OK);
            sum[l] += sol.y[0];
            sum2[l] += sol.y[0] * sol.y[0];
            nde_solution_free(&sol);
        }
        nde_brownian_free(bm);
    }
    double x[LEV], y[LEV];
    for (int l = 0; l < LEV; l++) {
        double dt = ldexp(1.0, -(l + 1)), mean = sum[l] / PATHS;
        double se = sqrt((sum2[l] / PATHS - mean * mean) / PATHS);
        double exact_mean = pow(1.0 + par.mu * dt, 1.0 / dt);
        printf("dt %-8g mean %.5f (+- %.5f), method's exact mean %.5f, e^mu %.5f\n", dt, mean, se, exact_mean,
               exp(par.mu));
        CHECK_MSG(fabs(mean - exact_mean) < 5.0 * se, "dt %g: mean %.5f vs %.5f (se %.5f)", dt, mean, exact_mean, se);
        x[l] = log2(dt);
        y[l] = log2(fabs(mean - exp(par.mu)));
    }
    double q = slope(x, y, LEV);
    printf("weak order %.3f\n", q);
    CHECK_MSG(q >= 0.75 && q <= 1.25, "weak order %.3f", q);
}

/* ---- bad input ---------------------------------------------------------------------- */

static int bad_diffusion(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)g; (void)u; return -3; }

/* One bad call: the status, a message containing `what`, y0 and the tree untouched. */
static void expect_bad(const char *label, const nde_sde *sde, double t0, double t1, nde_brownian *bm,
                       const nde_method *m, double rtol, int status, const char *what)
{
    double y0[2] = { 1.0, 0.5 };
    char buf[NDE_MESSAGE_MAX] = "";
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = rtol;
    o.dt0 = 0.1;
    o.errbuf = buf;
    o.errbuf_size = sizeof buf;
    double W0[2], W1[2];
    if (bm) nde_brownian_increment(bm, 0.0, 0.5, W0, NULL, NULL);
    nde_solution sol;
    int rc = nde_sde_solve(sde, t0, t1, y0, bm, &o, &sol);
    CHECK_MSG(rc == status, "%s: status %d (%s), expected %d: %s", label, rc, nde_status_str(rc), status,
              nde_solution_message(&sol));
    CHECK_MSG(strstr(nde_solution_message(&sol), what) != NULL, "%s: message \"%s\" lacks \"%s\"", label,
              nde_solution_message(&sol), what);
    CHECK_MSG(strcmp(buf, nde_solution_message(&sol)) == 0, "%s: errbuf \"%s\"", label, buf);
    CHECK_MSG(y0[0] == 1.0 && y0[1] == 0.5, "%s: y0 changed", label);
    CHECK_MSG(sol.n == 0 && sol.status == status, "%s: n = %zu", label, sol.n);
    if (bm) {
        nde_brownian_increment(bm, 0.0, 0.5, W1, NULL, NULL);
        CHECK_MSG(memcmp(W0, W1, sizeof(double)) == 0, "%s: the path changed", label);
    }
    nde_solution_free(&sol);
}

static void test_bad_input(void)
{
    nde_brownian *bm1 = nde_brownian_tree_create(1, 0.0, 1.0, 1e-3, 1, NDE_LEVY_SPACE_TIME);
    nde_brownian *bm2 = nde_brownian_tree_create(2, 0.0, 1.0, 1e-3, 1, NDE_LEVY_SPACE_TIME);
    nde_brownian *bm_w = nde_brownian_tree_create(1, 0.0, 1.0, 1e-3, 1, NDE_LEVY_NONE);
    nde_brownian *bm_short = nde_brownian_tree_create(1, 0.0, 0.5, 1e-3, 1, NDE_LEVY_SPACE_TIME);
    const nde_method *em = nde_method_find("euler_maruyama"), *spark = nde_method_find("spark");
    sde_problem ito = make_problem(P_GBM_ITO), strat = make_problem(P_GBM_STRAT), gen = make_problem(P_ROT2);
    nde_sde s;

    expect_bad("sde NULL", NULL, 0, 1, bm1, em, 0, NDE_EINVAL, "sde is NULL");
    s = ito.sde; s.dim = 0;
    expect_bad("dim 0", &s, 0, 1, bm1, em, 0, NDE_EINVAL, "dim must be > 0");
    s = ito.sde; s.noise_dim = 0;
    expect_bad("noise_dim 0", &s, 0, 1, bm1, em, 0, NDE_EINVAL, "noise_dim must be > 0");
    s = ito.sde; s.drift = NULL;
    expect_bad("drift NULL", &s, 0, 1, bm1, em, 0, NDE_EINVAL, "drift is NULL");
    s = ito.sde; s.diffusion = NULL;
    expect_bad("diffusion NULL", &s, 0, 1, bm1, em, 0, NDE_EINVAL, "diffusion is NULL");
    s = ito.sde; s.noise = 7;
    expect_bad("noise 7", &s, 0, 1, bm1, em, 0, NDE_EINVAL, "got 7");
    s = ito.sde; s.noise_dim = 2;
    expect_bad("diagonal, noise_dim != dim", &s, 0, 1, bm2, em, 0, NDE_EINVAL, "noise_dim == dim");
    expect_bad("bm NULL", &ito.sde, 0, 1, NULL, em, 0, NDE_EINVAL, "bm (the Brownian path) is NULL");
    expect_bad("tree dimension", &ito.sde, 0, 1, bm2, em, 0, NDE_EINVAL, "dimension 2");
    expect_bad("tree span", &ito.sde, 0, 1, bm_short, em, 0, NDE_EINVAL, "does not cover");
    expect_bad("tree span, backwards", &ito.sde, 1, 0, bm_short, em, 0, NDE_EINVAL, "does not cover");
    expect_bad("t1 NaN", &ito.sde, 0, NAN, bm1, em, 0, NDE_EINVAL, "finite");
    expect_bad("Levy area missing", &strat.sde, 0, 1, bm_w, spark, 0, NDE_EUNSUPPORTED, "NDE_LEVY_SPACE_TIME");
    expect_bad("milstein, general noise", &gen.sde, 0, 1, bm2, nde_method_find("milstein"), 0, NDE_EUNSUPPORTED,
               "general noise");
    expect_bad("euler_maruyama, general Stratonovich", &gen.sde, 0, 1, bm2, em, 0, NDE_EUNSUPPORTED, "Stratonovich");
    expect_bad("shark, diagonal noise", &strat.sde, 0, 1, bm1, nde_method_find("shark"), 0, NDE_EUNSUPPORTED,
               "additive noise only");
    expect_bad("sra1, general noise", &gen.sde, 0, 1, bm2, nde_method_find("sra1"), 0, NDE_EUNSUPPORTED,
               "additive noise only");
    expect_bad("Itô method, Stratonovich SDE", &strat.sde, 0, 1, bm1, em, 0, NDE_EUNSUPPORTED, "Itô");
    expect_bad("Stratonovich method, Itô SDE", &ito.sde, 0, 1, bm1, spark, 0, NDE_EUNSUPPORTED, "Stratonovich");
    expect_bad("ODE method", &ito.sde, 0, 1, bm1, nde_method_find("tsit5"), 0, NDE_EUNSUPPORTED,
               "does not solve SDEs");
    expect_bad("rtol without an estimate", &ito.sde, 0, 1, bm1, em, 1e-3, NDE_EINVAL, "no error estimate");
    s = strat.sde; s.diffusion = bad_diffusion;
    expect_bad("diffusion fails", &s, 0, 1, bm1, spark, 0, NDE_ECALLBACK, "returned -3");

    double y0 = 1.0;
    CHECK(nde_sde_solve(&ito.sde, 0, 1, &y0, bm1, NULL, NULL) == NDE_EINVAL);
    nde_solution sol;
    CHECK(nde_sde_solve(&ito.sde, 0, 1, NULL, bm1, NULL, &sol) == NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "y0 is NULL") != NULL);
    nde_solution_free(&sol);
    nde_brownian_free(bm1);
    nde_brownian_free(bm2);
    nde_brownian_free(bm_w);
    nde_brownian_free(bm_short);
}

/* ---- the method table ----------------------------------------------------------------- */

static void test_method_table(void)
{
    static const char *const names[] = { "euler_maruyama", "milstein", "euler_heun", "heun", "sea", "sra1",
                                         "shark", "general_shark", "spark", "slow_rk", "reversible_heun" };
    CHECK_EQ_INT(nde_sde_method_count(), sizeof names / sizeof names[0]);
    CHECK(nde_sde_method_at(nde_sde_method_count()) == NULL);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const nde_method *m = nde_sde_method_find(names[i]);
        CHECK_MSG(m && m == nde_sde_method_at(i), "%s", names[i]);
        if (!m) continue;
        CHECK_EQ_INT(nde_method_kind(m), NDE_METHOD_SDE);
        /* registered under its name, except heun and reversible_heun (ODE methods' names) */
        if (strcmp(names[i], "heun") != 0 && strcmp(names[i], "reversible_heun") != 0)
            CHECK(nde_method_find(names[i]) == m);
        nde_sde_method_info info;
        CHECK(nde_sde_method_info_get(m, &info) == NDE_OK);
        CHECK_EQ_INT(info.drift_evals + info.diffusion_evals, nde_method_stages(m));
        CHECK_EQ_INT(info.adaptive, nde_method_embedded_order(m) > 0);
        CHECK(info.levy == (i >= 4 && i < 10 ? NDE_LEVY_SPACE_TIME : NDE_LEVY_NONE));
    }
    nde_sde_method_info info;
    CHECK(nde_sde_method_info_get(nde_method_find("heun"), &info) == NDE_OK && info.stratonovich);
    CHECK(nde_sde_method_info_get(nde_method_find("reversible_heun"), &info) == NDE_OK && info.drift_evals == 1);
    CHECK(nde_sde_method_info_get(nde_method_find("tsit5"), &info) == NDE_EINVAL);
    CHECK(nde_sde_method_info_get(NULL, &info) == NDE_EINVAL);
    CHECK(nde_sde_method_find("tsit5") == NULL && nde_sde_method_find(NULL) == NULL);
    const char *adaptive[] = { "sra1", "shark", "spark" };
    for (int i = 0; i < 3; i++) CHECK(nde_method_embedded_order(nde_method_find(adaptive[i])) > 0);
}

/* Every SDE table's consistency (the conditions that do not need a convergence
 * measurement): drift weights and W weights sum to 1, error weights to 0, rows of a sum
 * to c where f is evaluated, the Stratonovich order-1 condition sum_j bw_j sum_i aw_ji =
 * 1/2 for the methods of commutative order >= 1, skipped stages carry no weight, and the
 * evaluation counts of the info match the skip masks. */
static void test_table_conditions(void)
{
    for (size_t k = 0; k < nde_sde_method_count(); k++) {
        const nde_method *m = nde_sde_method_at(k);
        const nde__sde_tableau *T = nde__sde_tab(m);
        const char *name = nde_method_name(m);
        CHECK_MSG(T != NULL, "%s: no table", name);
        if (!T) continue;
        /* reversible Heun has a stepper of its own (src/sde/reversible.c): its table holds
         * the weights only, its stage 0 is the previous step's */
        const int rev = strcmp(name, "reversible_heun") == 0;
        const int s = T->stages;
        CHECK(s >= 1 && s <= NDE__SDE_MAX_STAGES);
        double sb = 0, sbw = 0, sbe = 0, sbwe = 0, sbhe = 0, strat = 0;
        int nf = 0, ng = 0;
        for (int j = 0; j < s; j++) {
            int skf = T->skip_f && T->skip_f[j], skg = T->skip_g && T->skip_g[j];
            sb += T->b[j];
            if (T->be) sbe += T->be[j];
            nf += !skf;
            CHECK_NEAR(T->a[j * s + j], 0.0, 0.0);
            if (!T->additive) {
                sbw += T->bw[j];
                if (T->bwe) sbwe += T->bwe[j];
                if (T->bhe) sbhe += T->bhe[j];
                ng += !skg;
                double rw = 0;
                for (int i = 0; i < j; i++) rw += T->aw[j * s + i];
                strat += T->bw[j] * rw;
                for (int i = j; i < s; i++) CHECK(T->aw[j * s + i] == 0.0 && (!T->ah || T->ah[j * s + i] == 0.0));
            }
            double ra = 0;
            for (int i = 0; i < j; i++) ra += T->a[j * s + i];
            for (int i = j + 1; i < s; i++) CHECK(T->a[j * s + i] == 0.0);
            if (!skf && !rev) CHECK_MSG(fabs(ra - T->c[j]) < 1e-15, "%s: stage %d: row sum %.17g, c %.17g", name, j, ra, T->c[j]);
            /* skipped evaluations carry no weight anywhere */
            for (int r = 0; r < s; r++) {
                if (skf) CHECK_MSG(T->a[r * s + j] == 0.0, "%s: a uses skipped f_%d", name, j);
                if (skg && !T->additive)
                    CHECK_MSG(T->aw[r * s + j] == 0.0 && (!T->ah || T->ah[r * s + j] == 0.0), "%s: uses skipped g_%d",
                              name, j);
            }
            if (skf) CHECK(T->b[j] == 0.0 && (!T->be || T->be[j] == 0.0));
            if (skg && !T->additive) CHECK(T->bw[j] == 0.0 && (!T->bh || T->bh[j] == 0.0));
        }
        if (T->additive) { sbw = T->bw[0]; ng = 2; }
        if (T->milstein) ng++;
        if (rev) { nf = 1; ng = 1; strat = 0.5; }   /* stage 0 is the previous step's */
        CHECK_MSG(fabs(sb - 1.0) < 1e-15 && fabs(sbw - 1.0) < 1e-15, "%s: sum b = %.17g, sum bw = %.17g", name, sb, sbw);
        if (T->be) CHECK_MSG(fabs(sbe) < 1e-15, "%s: sum be = %.3g", name, sbe);
        CHECK_MSG(fabs(sbwe) < 1e-15 && fabs(sbhe) < 1e-15, "%s: noise error weights sum to %.3g, %.3g", name, sbwe, sbhe);
        if (!T->additive && T->stratonovich && T->strong[1] >= 1.0)
            CHECK_MSG(fabs(strat - 0.5) < 1e-15, "%s: sum bw (aw 1) = %.17g, Stratonovich needs 1/2", name, strat);
        CHECK_MSG(nf == T->drift_evals && ng == T->diffusion_evals, "%s: %d f and %d g evaluations, table says %d, %d",
                  name, nf, ng, T->drift_evals, T->diffusion_evals);
        if (!rev) CHECK((T->be != NULL) == (m->embedded_order > 0));   /* rev: its estimate is its own */
        CHECK((T->ah != NULL) == (T->levy >= NDE_LEVY_SPACE_TIME));
    }
}

/* nfe counts drift and diffusion evaluations: N constant steps cost N (drift + diffusion
 * evaluations per step) for every method (reversible_heun: 2 more, its first start); the
 * ODE heun and reversible_heun solve SDEs as their SDE forms. */
static void test_evaluation_counts(void)
{
    for (int which = 0; which < P_COUNT; which++) {
        sde_problem p = make_problem(which);
        nde_brownian *bm = nde_brownian_tree_create(p.sde.noise_dim, 0.0, 1.0, 1e-3, 5, NDE_LEVY_SPACE_TIME);
        for (size_t k = 0; k < nde_sde_method_count(); k++) {
            const nde_method *m = nde_sde_method_at(k);
            if (!applies(m, &p)) continue;
            nde_sde_method_info info;
            nde_sde_method_info_get(m, &info);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 0.0; o.dt0 = 0.05;
            nde_solution sol;
            CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &sol) == NDE_OK);
            CHECK_EQ_INT(sol.stats.steps, 20);
            /* milstein's term vanishes on additive noise and is not evaluated */
            int per = info.drift_evals + info.diffusion_evals;
            if (strcmp(nde_method_name(m), "milstein") == 0 && p.sde.noise == NDE_NOISE_ADDITIVE) per--;
            /* reversible Heun evaluates f and g at y0 once more (its yh0 = y0) */
            size_t start = strcmp(nde_method_name(m), "reversible_heun") == 0 ? 2 : 0;
            CHECK_MSG(sol.stats.nfe == 20u * (size_t)per + start, "%s on %s: nfe %zu", nde_method_name(m), p.name,
                      sol.stats.nfe);
            if (strcmp(nde_method_name(m), "heun") == 0 || strcmp(nde_method_name(m), "reversible_heun") == 0) {
                nde_solution s2;
                o.method = nde_method_find(nde_method_name(m));   /* the ODE one */
                CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &s2) == NDE_OK);
                CHECK(memcmp(sol.y, s2.y, p.sde.dim * sizeof(double)) == 0);
                nde_solution_free(&s2);
            }
            nde_solution_free(&sol);
        }
        nde_brownian_free(bm);
    }
}

/* ---- reverse time --------------------------------------------------------------------- */

/* Stratonovich GBM from t = 1 back to 0 along the path: y(0) = y(1) exp(-mu - s W(0, 1)).
 * heun and spark (constant steps) converge with order 1 (bounds as the battery's, 32
 * paths); spark adaptive at rtol = atol = 1e-4 reaches RMS error < 1e-2 (measured 3e-3). */
static void test_reverse_time(void)
{
    sde_problem p = make_problem(P_GBM_STRAT);
    const char *names[] = { "heun", "spark" };
    for (int k = 0; k < 2; k++) {
        double sq[NLEV] = { 0 }, sqa = 0;
        for (int i = 0; i < 32; i++) {
            nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, ldexp(1.0, -10), 300 + (uint64_t)i,
                                                        NDE_LEVY_SPACE_TIME);
            double W, y1 = 1.3, exact;
            nde_brownian_increment(bm, 0.0, 1.0, &W, NULL, NULL);
            exact = y1 * exp(-GBM_MU - GBM_S * W);
            for (int l = 0; l < NLEV; l++) {
                nde_options o = NDE_OPTIONS_INIT;
                o.method = nde_sde_method_find(names[k]);
                o.rtol = 0.0;
                o.dt0 = -ldexp(1.0, -(3 + l));
                nde_solution sol;
                CHECK(nde_sde_solve(&p.sde, 1.0, 0.0, &y1, bm, &o, &sol) == NDE_OK);
                CHECK(sol.n == 1 && sol.t[0] == 0.0);
                sq[l] += (sol.y[0] - exact) * (sol.y[0] - exact);
                nde_solution_free(&sol);
            }
            if (k == 1) {
                nde_options o = NDE_OPTIONS_INIT;
                o.method = nde_method_find("spark");
                o.rtol = o.atol = 1e-4;
                nde_solution sol;
                CHECK(nde_sde_solve(&p.sde, 1.0, 0.0, &y1, bm, &o, &sol) == NDE_OK);
                sqa += (sol.y[0] - exact) * (sol.y[0] - exact);
                nde_solution_free(&sol);
            }
            nde_brownian_free(bm);
        }
        double x[NLEV], y[NLEV];
        for (int l = 0; l < NLEV; l++) { x[l] = -(double)(3 + l); y[l] = 0.5 * log2(sq[l] / 32); }
        double q = slope(x, y, NLEV);
        printf("%s backwards: strong order %.3f, errors %.2e .. %.2e\n", names[k], q, sqrt(sq[0] / 32),
               sqrt(sq[NLEV - 1] / 32));
        CHECK_MSG(q >= 1.0 - ORDER_LO && q <= 1.0 + ORDER_HI, "%s backwards: order %.3f", names[k], q);
        if (k == 1) {
            printf("spark adaptive backwards (rtol 1e-4): error %.2e\n", sqrt(sqa / 32));
            CHECK(sqrt(sqa / 32) < 1e-2);
        }
    }
}

/* ---- reproducibility and rejected steps ------------------------------------------------ */

static int same_solution(const nde_solution *a, const nde_solution *b)
{
    return a->n == b->n && memcmp(a->t, b->t, a->n * sizeof(double)) == 0 &&
           memcmp(a->y, b->y, a->n * a->dim * sizeof(double)) == 0 && a->stats.steps == b->stats.steps;
}

/* The same result bit for bit: solved twice, after the tree answered other queries in
 * another order, and on a second tree of the same seed; adaptive (with rejections) and
 * constant. */
static void test_bitwise_reproducible(void)
{
    sde_problem p = make_problem(P_ROT2);
    for (int adaptive = 0; adaptive < 2; adaptive++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("spark");
        o.save = NDE_SAVE_STEPS;
        if (adaptive) o.rtol = o.atol = 1e-3;
        else { o.rtol = 0.0; o.dt0 = 0.01; }
        nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, 1e-4, 99, NDE_LEVY_SPACE_TIME);
        nde_brownian *twin = nde_brownian_tree_create(2, 0.0, 1.0, 1e-4, 99, NDE_LEVY_SPACE_TIME);
        nde_solution a, b, c, d;
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &a) == NDE_OK);
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &b) == NDE_OK);
        double W[2], H[2];
        for (int k = 0; k < 50; k++) {   /* scattered queries, backwards and forwards */
            double u = fmod(0.6180339887 * (k + 1), 1.0), v = fmod(0.4142135623 * (k + 3), 1.0);
            nde_brownian_increment(bm, u, v, W, H, NULL);
        }
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &c) == NDE_OK);
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, twin, &o, &d) == NDE_OK);
        CHECK(same_solution(&a, &b));
        CHECK(same_solution(&a, &c));
        CHECK(same_solution(&a, &d));
        if (adaptive) CHECK(a.stats.rejected > 0);
        nde_solution_free(&a); nde_solution_free(&b); nde_solution_free(&c); nde_solution_free(&d);
        nde_brownian_free(bm);
        nde_brownian_free(twin);
    }
}

/* A rejected attempt leaves no trace: the adaptive solve's result equals, bit for bit,
 * a solve stepping exactly to its accepted step ends (no rejections there), because
 * each attempt queries the tree for its own interval. */
static void test_rejections_leave_no_trace(void)
{
    const char *names[] = { "spark", "shark", "sra1" };
    for (int k = 0; k < 3; k++) {
        sde_problem p = make_problem(k == 0 ? P_ROT2 : P_ADDNL);
        nde_brownian *bm = nde_brownian_tree_create(p.sde.noise_dim, 0.0, 1.0, 1e-5, 17, NDE_LEVY_SPACE_TIME);
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find(names[k]);
        o.rtol = o.atol = 1e-3;
        o.save = NDE_SAVE_STEPS;
        nde_solution a, b;
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &a) == NDE_OK);
        CHECK_MSG(a.stats.rejected > 0, "%s: no rejections to test (%zu steps)", names[k], a.stats.steps);
        nde_options c = NDE_OPTIONS_INIT;
        c.method = o.method;
        c.rtol = 0.0;
        c.dt0 = 0.0;
        c.step_ts = a.t;
        c.n_step_ts = a.n;
        c.save = NDE_SAVE_STEPS;
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &c, &b) == NDE_OK);
        CHECK_EQ_INT(b.stats.rejected, 0);
        CHECK_MSG(a.n == b.n && memcmp(a.y, b.y, a.n * p.sde.dim * sizeof(double)) == 0,
                  "%s: %zu accepted steps, replay differs", names[k], a.n);
        nde_solution_free(&a); nde_solution_free(&b);
        nde_brownian_free(bm);
    }
}

/* ts are step ends: the value saved at ts[k] is bit-identical to a solve that ends there. */
static void test_ts_are_step_ends(void)
{
    sde_problem p = make_problem(P_GBM_STRAT);
    nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, 1e-4, 3, NDE_LEVY_SPACE_TIME);
    const double ts[3] = { 1.0 / 3.0, 0.7, 1.0 };
    for (int adaptive = 0; adaptive < 2; adaptive++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("spark");
        if (adaptive) { o.rtol = o.atol = 1e-3; o.dt0 = 0.05; }
        else { o.rtol = 0.0; o.dt0 = 0.25; }
        o.ts = ts; o.n_ts = 3;
        nde_solution all, one;
        CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &all) == NDE_OK);
        CHECK(all.n == 3);
        o.ts = NULL; o.n_ts = 0;
        o.step_ts = ts; o.n_step_ts = 3;   /* the same step ends, to t1 = ts[0] */
        CHECK(nde_sde_solve(&p.sde, 0.0, ts[0], p.y0, bm, &o, &one) == NDE_OK);
        CHECK_MSG(one.y[0] == all.y[0], "%s: %.17g vs %.17g", adaptive ? "adaptive" : "constant", one.y[0], all.y[0]);
        nde_solution_free(&all); nde_solution_free(&one);
    }
    /* ts together with step_ts of the caller's own */
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("heun");
    o.rtol = 0.0; o.dt0 = 0.25;
    const double extra[1] = { 0.1 };
    o.ts = ts; o.n_ts = 3; o.step_ts = extra; o.n_step_ts = 1;
    nde_solution sol;
    CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &sol) == NDE_OK);
    CHECK_EQ_INT(sol.stats.steps, 7);   /* 0.1 0.25 1/3 0.5 0.7 0.75 1 */
    nde_solution_free(&sol);
    nde_brownian_free(bm);
}

/* Nothing allocates per step: a 10^4-step solve allocates as much as a 10-step one. */
static void test_no_allocation_per_step(void)
{
    sde_problem p = make_problem(P_ROT2);
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 1.0, 1e-5, 3, NDE_LEVY_SPACE_TIME);
    for (size_t k = 0; k < nde_sde_method_count(); k++) {
        const nde_method *m = nde_sde_method_at(k);
        if (!applies(m, &p)) continue;
        size_t calls[2];
        for (int r = 0; r < 2; r++) {
            test_alloc ta;
            test_alloc_init(&ta);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 0.0; o.dt0 = r ? 1e-4 : 0.1;
            o.allocator = &ta.a;
            nde_solution sol;
            CHECK(nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &sol) == NDE_OK);
            nde_solution_free(&sol);
            CHECK_EQ_INT(ta.live, 0);
            calls[r] = ta.calls;
        }
        CHECK_MSG(calls[0] == calls[1], "%s: %zu allocations for 10 steps, %zu for 10^4", nde_method_name(m),
                  calls[0], calls[1]);
    }
    /* out of memory at every allocation: NDE_ENOMEM, nothing leaked */
    for (size_t n = 1; n < 20; n++) {
        test_alloc ta;
        test_alloc_init(&ta);
        ta.fail_at = n;
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("spark"); o.rtol = 0.0; o.dt0 = 0.1;
        o.allocator = &ta.a;
        nde_solution sol;
        int rc = nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &sol);
        CHECK(rc == NDE_OK || rc == NDE_ENOMEM);
        nde_solution_free(&sol);
        CHECK_EQ_INT(ta.live, 0);
        if (rc == NDE_OK) break;
    }
    nde_brownian_free(bm);
}

/* ---- adaptive steps on the high-volatility CIR model ------------------------------------ */

/* Adaptive spark on the high-volatility CIR model (tests/sde_problems.h, cir_experiment)
 * on 32 paths (test_sde_slow: 256). */
static void test_adaptive_cir(void) { cir_experiment(32); }

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
    RUN(test_weak_order_mean);
    RUN(test_bad_input);
    RUN(test_method_table);
    RUN(test_table_conditions);
    RUN(test_evaluation_counts);
    RUN(test_reverse_time);
    RUN(test_bitwise_reproducible);
    RUN(test_rejections_leave_no_trace);
    RUN(test_ts_are_step_ends);
    RUN(test_no_allocation_per_step);
    RUN(test_adaptive_cir);
    return test_summary();
}
