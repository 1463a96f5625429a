/* SDE test problems with closed-form solutions on a given Brownian path, shared by
 * tests/test_sde.c and tests/test_sde_slow.c, and the strong-order measurement.
 *
 *   gbm_ito    dy = mu y dt + s y dW (Itô), y = y0 exp((mu - s^2/2) t + s W_t)
 *   gbm_strat  dy = mu y dt + s y o dW,     y = y0 exp(mu t + s W_t)
 *   ou         dy = th (m - y) dt + s dW (additive)
 *   addt       dy = -y dt + (1 + sin t) G dW, 2-D state, 3-D noise (additive, g depends on t)
 *   addnl      dy = (sin y2 - y1/2, cos y1 - y2) dt + (1 + sin t) G dW: nonlinear drift, no
 *              closed form; reference spark at dt = 2^-12 on the same path (its error,
 *              ~1e-7, is far below the errors measured). On the linear additive problems
 *              (ou, addt) the order-1.5 methods converge with order 2: their leading error
 *              term has f'' in it
 *   rot1       dy = A y dt + B y o dW, 2-D, scalar noise (general noise, commutative)
 *   rot2       dy = A y dt + B1 y o dW1 + B2 y o dW2 (general noise, commuting B's)
 *   rot2_ito   rot2 in Itô form (drift A + (B1^2 + B2^2)/2): the same solution
 * The rot problems use matrices a I + b J (J the rotation generator), which commute, so
 * y = exp(A t + sum_j B_j W_j) y0 with exp(a I + b J) = e^a R(b). The additive ones
 * integrate the variation-of-constants formula over a fine grid of the path with W and
 * H: int_a^b phi dW = phi(a) W + phi'(a) h (W/2 - H) + O(h^2.5) per piece (error ~1e-7
 * on 2^12 pieces of [0, 1]). */
#ifndef NDE_TESTS_SDE_PROBLEMS_H
#define NDE_TESTS_SDE_PROBLEMS_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "testlib.h"

enum { P_GBM_ITO, P_GBM_STRAT, P_OU, P_ADDT, P_ADDNL, P_ROT1, P_ROT2, P_ROT2_ITO, P_COUNT };

/* noise class: the index into nde_sde_method_info.strong_order */
enum { CLASS_GENERAL = 0, CLASS_COMMUTATIVE = 1, CLASS_ADDITIVE = 2 };

typedef struct sde_problem {
    const char *name;
    nde_sde sde;
    double y0[2];
    int cls;
    int linear_additive;   /* linear drift, additive noise: order-1.5 methods reach 2 */
} sde_problem;

#define GBM_MU 0.5
#define GBM_S 0.8
#define OU_TH 1.5
#define OU_M 0.5
#define OU_S 0.6
static const double ADDT_G[6] = { 0.5, -0.3, 0.2, 0.1, 0.4, -0.25 };
/* (a, b) of A, B1, B2 for the rot problems */
static const double ROT_A[2] = { 0.1, 1.0 }, ROT_B1[2] = { 0.3, 0.6 }, ROT_B2[2] = { -0.2, 0.4 };

static int gbm_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = GBM_MU * y[0]; return 0; }
static int gbm_g(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = GBM_S * y[0]; return 0; }
static int ou_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = OU_TH * (OU_M - y[0]); return 0; }
static int ou_g(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)u; g[0] = OU_S; return 0; }
static int addt_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = -y[0]; f[1] = -y[1]; return 0; }
static int addt_g(double t, const double *y, double *g, void *u)
{
    (void)y; (void)u;
    for (int k = 0; k < 6; k++) g[k] = (1.0 + sin(t)) * ADDT_G[k];
    return 0;
}
static int addnl_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    f[0] = sin(y[1]) - 0.5 * y[0];
    f[1] = cos(y[0]) - y[1];
    return 0;
}
static void rot_apply(const double ab[2], const double *y, double *out)
{   /* (a I + b J) y, J = [[0, 1], [-1, 0]] */
    out[0] = ab[0] * y[0] + ab[1] * y[1];
    out[1] = -ab[1] * y[0] + ab[0] * y[1];
}
static int rot_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; rot_apply(ROT_A, y, f); return 0; }
/* rot2_ito's drift: A + (B1^2 + B2^2)/2, the Itô form of rot2, so that its solution
 * is rot2's, y = exp(A t + B W) y0; (a I + b J)^2 = (a^2 - b^2) I + 2ab J */
static int rot_ito_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    double c[2] = { ROT_A[0] + 0.5 * (ROT_B1[0] * ROT_B1[0] - ROT_B1[1] * ROT_B1[1] + ROT_B2[0] * ROT_B2[0] -
                                      ROT_B2[1] * ROT_B2[1]),
                    ROT_A[1] + ROT_B1[0] * ROT_B1[1] + ROT_B2[0] * ROT_B2[1] };
    rot_apply(c, y, f);
    return 0;
}
static int rot1_g(double t, const double *y, double *g, void *u)
{   /* dim 2 x noise 1 */
    (void)t; (void)u;
    rot_apply(ROT_B1, y, g);
    return 0;
}
static int rot2_g(double t, const double *y, double *g, void *u)
{   /* dim 2 x noise 2, row-major: g[i*2 + j] = (B_j y)_i */
    (void)t; (void)u;
    double a[2], b[2];
    rot_apply(ROT_B1, y, a);
    rot_apply(ROT_B2, y, b);
    g[0] = a[0]; g[1] = b[0];
    g[2] = a[1]; g[3] = b[1];
    return 0;
}

static sde_problem make_problem(int which)
{
    sde_problem p;
    memset(&p, 0, sizeof p);
    p.y0[0] = 1.0; p.y0[1] = 0.5;
    switch (which) {
    case P_GBM_ITO:
    case P_GBM_STRAT:
        p.name = which == P_GBM_ITO ? "gbm_ito" : "gbm_strat";
        p.sde = (nde_sde){ .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL,
                           .stratonovich = which == P_GBM_STRAT, .drift = gbm_f, .diffusion = gbm_g };
        p.cls = CLASS_COMMUTATIVE;
        break;
    case P_OU:
        p.name = "ou";
        p.sde = (nde_sde){ .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_ADDITIVE, .drift = ou_f, .diffusion = ou_g };
        p.y0[0] = 2.0;
        p.cls = CLASS_ADDITIVE;
        p.linear_additive = 1;
        break;
    case P_ADDT:
        p.name = "addt";
        p.sde = (nde_sde){ .dim = 2, .noise_dim = 3, .noise = NDE_NOISE_ADDITIVE, .stratonovich = 1,
                           .drift = addt_f, .diffusion = addt_g };
        p.cls = CLASS_ADDITIVE;
        p.linear_additive = 1;
        break;
    case P_ADDNL:
        p.name = "addnl";
        p.sde = (nde_sde){ .dim = 2, .noise_dim = 3, .noise = NDE_NOISE_ADDITIVE, .stratonovich = 1,
                           .drift = addnl_f, .diffusion = addt_g };
        p.cls = CLASS_ADDITIVE;
        break;
    case P_ROT1:
        p.name = "rot1";
        p.sde = (nde_sde){ .dim = 2, .noise_dim = 1, .noise = NDE_NOISE_GENERAL, .stratonovich = 1,
                           .drift = rot_f, .diffusion = rot1_g };
        p.cls = CLASS_COMMUTATIVE;
        break;
    case P_ROT2:
    case P_ROT2_ITO:
        p.name = which == P_ROT2 ? "rot2" : "rot2_ito";
        p.sde = (nde_sde){ .dim = 2, .noise_dim = 2, .noise = NDE_NOISE_GENERAL, .stratonovich = which == P_ROT2,
                           .drift = which == P_ROT2 ? rot_f : rot_ito_f, .diffusion = rot2_g };
        p.cls = CLASS_COMMUTATIVE;
        break;
    }
    return p;
}

/* exp(a I + b J) y */
static void rot_exp(double a, double b, const double *y, double *out)
{
    double e = exp(a), c = cos(b), s = sin(b);
    out[0] = e * (c * y[0] + s * y[1]);
    out[1] = e * (-s * y[0] + c * y[1]);
}

#define REF_PIECES 4096

/* The exact y(t1) on the path bm (span [t0, t1], t1 > t0), into y. */
static void exact_solution(int which, const sde_problem *p, nde_brownian *bm, double t0, double t1, double *y)
{
    const double T = t1 - t0;
    double W[3], H[3];
    switch (which) {
    case P_GBM_ITO:
        nde_brownian_increment(bm, t0, t1, W, NULL, NULL);
        y[0] = p->y0[0] * exp((GBM_MU - 0.5 * GBM_S * GBM_S) * T + GBM_S * W[0]);
        return;
    case P_GBM_STRAT:
        nde_brownian_increment(bm, t0, t1, W, NULL, NULL);
        y[0] = p->y0[0] * exp(GBM_MU * T + GBM_S * W[0]);
        return;
    case P_ROT1:
        nde_brownian_increment(bm, t0, t1, W, NULL, NULL);
        rot_exp(ROT_A[0] * T + ROT_B1[0] * W[0], ROT_A[1] * T + ROT_B1[1] * W[0], p->y0, y);
        return;
    case P_ROT2:
    case P_ROT2_ITO:
        nde_brownian_increment(bm, t0, t1, W, NULL, NULL);
        rot_exp(ROT_A[0] * T + ROT_B1[0] * W[0] + ROT_B2[0] * W[1],
                ROT_A[1] * T + ROT_B1[1] * W[0] + ROT_B2[1] * W[1], p->y0, y);
        return;
    case P_OU: {
        double acc = 0.0, h = T / REF_PIECES;
        for (int k = 0; k < REF_PIECES; k++) {
            double a = t0 + k * h, b = k + 1 == REF_PIECES ? t1 : t0 + (k + 1) * h;
            nde_brownian_increment(bm, a, b, W, H, NULL);
            double phi = OU_S * exp(-OU_TH * (t1 - a));
            acc += phi * W[0] + OU_TH * phi * (b - a) * (0.5 * W[0] - H[0]);
        }
        double e = exp(-OU_TH * T);
        y[0] = e * p->y0[0] + OU_M * (1.0 - e) + acc;
        return;
    }
    case P_ADDNL: {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("spark");
        o.rtol = 0.0;
        o.dt0 = T / REF_PIECES;
        nde_solution sol;
        if (nde_sde_solve(&p->sde, t0, t1, p->y0, bm, &o, &sol) == NDE_OK) memcpy(y, sol.y, 2 * sizeof *y);
        else y[0] = y[1] = NAN;
        nde_solution_free(&sol);
        return;
    }
    case P_ADDT: {
        double acc[2] = { 0.0, 0.0 }, h = T / REF_PIECES;
        for (int k = 0; k < REF_PIECES; k++) {
            double a = t0 + k * h, b = k + 1 == REF_PIECES ? t1 : t0 + (k + 1) * h;
            nde_brownian_increment(bm, a, b, W, H, NULL);
            double e = exp(-(t1 - a));
            double phi = e * (1.0 + sin(a)), dphi = e * ((1.0 + sin(a)) + cos(a));
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    acc[i] += ADDT_G[i * 3 + j] * (phi * W[j] + dphi * (b - a) * (0.5 * W[j] - H[j]));
        }
        double e = exp(-T);
        y[0] = e * p->y0[0] + acc[0];
        y[1] = e * p->y0[1] + acc[1];
        return;
    }
    }
}

/* Does method m solve problem p (noise kind and calculus)? */
static int applies(const nde_method *m, const sde_problem *p)
{
    nde_sde_method_info info;
    if (nde_sde_method_info_get(m, &info) != NDE_OK) return 0;
    if (!(info.noises & (1u << p->sde.noise))) return 0;
    return p->sde.noise == NDE_NOISE_ADDITIVE || !info.stratonovich == !p->sde.stratonovich;
}

/* The order a method of nominal strong order q shows on p. */
static double expected_order(const sde_problem *p, double q)
{
    return p->linear_additive && q == 1.5 ? 2.0 : q;
}

/* Least-squares slope of y on x. */
static double slope(const double *x, const double *y, int n)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    for (int i = 0; i < n; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); }
    return sxy / sxx;
}

#define MAX_LEVELS 8
#define BATCHES 8

typedef struct order_result {
    double order, se;           /* slope of log2 RMS error against log2 dt; its standard error */
    double err[MAX_LEVELS];     /* RMS error at each level over all paths */
    int failures;               /* solves that did not return NDE_OK */
} order_result;

/* Strong order of method m on problem `which` on [0, 1]: constant steps dt = 2^-k for
 * k = k0 .. k0 + nlev - 1, `paths` paths (seeds seed0 + i), error = RMS over paths of
 * |y_N - y(1)|. The standard error is over BATCHES batches of paths (each its own slope). */
static order_result strong_order(const nde_method *m, int which, int k0, int nlev, int paths, uint64_t seed0)
{
    order_result r;
    memset(&r, 0, sizeof r);
    sde_problem p = make_problem(which);
    double sq[BATCHES][MAX_LEVELS];
    memset(sq, 0, sizeof sq);
    const size_t dim = p.sde.dim;
    double tol = ldexp(1.0, -(k0 + nlev + 2));
    if (tol > 1.0 / (4 * REF_PIECES)) tol = 1.0 / (4 * REF_PIECES);
    for (int i = 0; i < paths; i++) {
        nde_brownian *bm = nde_brownian_tree_create(p.sde.noise_dim, 0.0, 1.0, tol, seed0 + (uint64_t)i,
                                                    NDE_LEVY_SPACE_TIME);
        double ex[2];
        /* the references that are solves or quadratures (ou, addt, addnl): computed once
         * per (problem, seed) and kept for the next method */
        const int cached = which == P_OU || which == P_ADDT || which == P_ADDNL;
        static int cache_which = -1;
        static uint64_t cache_seed[1024];
        static double cache_y[1024][2];
        if (cached && i < 1024 && cache_which == which && cache_seed[i] == seed0 + (uint64_t)i) {
            memcpy(ex, cache_y[i], sizeof ex);
        } else {
            exact_solution(which, &p, bm, 0.0, 1.0, ex);
            if (cached && i < 1024) {
                if (cache_which != which) memset(cache_seed, 0xff, sizeof cache_seed);
                cache_which = which;
                cache_seed[i] = seed0 + (uint64_t)i;
                memcpy(cache_y[i], ex, sizeof ex);
            }
        }
        for (int l = 0; l < nlev; l++) {
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m;
            o.rtol = 0.0;
            o.dt0 = ldexp(1.0, -(k0 + l));
            nde_solution sol;
            int rc = nde_sde_solve(&p.sde, 0.0, 1.0, p.y0, bm, &o, &sol);
            if (rc != NDE_OK) r.failures++;
            else
                for (size_t d = 0; d < dim; d++) {
                    double e = sol.y[d] - ex[d];
                    sq[i % BATCHES][l] += e * e;
                }
            nde_solution_free(&sol);
        }
        nde_brownian_free(bm);
    }
    double x[MAX_LEVELS], y[MAX_LEVELS], bs[BATCHES];
    for (int l = 0; l < nlev; l++) {
        double s = 0;
        for (int b = 0; b < BATCHES; b++) s += sq[b][l];
        r.err[l] = sqrt(s / paths);
        x[l] = -(double)(k0 + l);
        y[l] = log2(r.err[l]);
    }
    r.order = slope(x, y, nlev);
    double mb = 0, vb = 0;
    for (int b = 0; b < BATCHES; b++) {
        for (int l = 0; l < nlev; l++) y[l] = 0.5 * log2(sq[b][l]);
        bs[b] = slope(x, y, nlev);
        mb += bs[b];
    }
    mb /= BATCHES;
    for (int b = 0; b < BATCHES; b++) vb += (bs[b] - mb) * (bs[b] - mb);
    r.se = sqrt(vb / (BATCHES - 1) / BATCHES);
    return r;
}

/* The first level 2^-k0 of a sweep for a method of nominal order q: finer for lower
 * orders, so that each sweep ends where its error is well resolved. */
static int first_level(double q) { return q <= 0.5 ? 4 : q <= 1.0 ? 3 : 2; }

/* ---- adaptive steps on the high-volatility CIR model ------------------------------------ */

/* Cox-Ingersoll-Ross dy = a (b - y) dt + s sqrt(y) dW (Itô), a = b = y0 = 1, s = 1.5 (2ab
 * < s^2: the path comes close to 0, where sqrt is not smooth), solved in Stratonovich
 * form (drift a (b - y) - s^2/4, diffusion s sqrt|y|) with spark, the same paths, error
 * against spark at dt = 2^-14. Steps are attempted steps (rejections included). */
#define CIR_S 1.5
static int cir_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = 1.0 - y[0] - 0.25 * CIR_S * CIR_S; return 0; }
static int cir_g(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = CIR_S * sqrt(fabs(y[0])); return 0; }

/* Per step size or tolerance: mean steps, RMS error and mean absolute error. The RMS
 * is dominated by the few paths that come close to 0 (at 256 paths it stops falling
 * with constant steps), the mean absolute error less so: the tests report both. */
typedef struct cir_curve { double steps[6], err[6], l1[6]; } cir_curve;

static void cir_curves(int paths, cir_curve *cst, cir_curve *adp)
{
    static const double rtols[6] = { 1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4 };
    nde_sde sde = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .stratonovich = 1, .drift = cir_f,
                    .diffusion = cir_g };
    memset(cst, 0, sizeof *cst);
    memset(adp, 0, sizeof *adp);
    double y0 = 1.0;
    for (int i = 0; i < paths; i++) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, ldexp(1.0, -16), 100 + (uint64_t)i,
                                                    NDE_LEVY_SPACE_TIME);
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find("spark");
        o.rtol = 0.0;
        o.dt0 = ldexp(1.0, -14);
        nde_solution sol;
        CHECK(nde_sde_solve(&sde, 0.0, 1.0, &y0, bm, &o, &sol) == NDE_OK);
        double ref = sol.y[0];
        nde_solution_free(&sol);
        for (int k = 0; k < 6; k++) {
            o.rtol = 0.0;
            o.dt0 = ldexp(1.0, -(3 + k));
            CHECK(nde_sde_solve(&sde, 0.0, 1.0, &y0, bm, &o, &sol) == NDE_OK);
            cst->err[k] += (sol.y[0] - ref) * (sol.y[0] - ref);
            cst->l1[k] += fabs(sol.y[0] - ref);
            cst->steps[k] += (double)sol.stats.steps;
            nde_solution_free(&sol);
            nde_options a = NDE_OPTIONS_INIT;
            a.method = o.method;
            a.rtol = a.atol = rtols[k];
            a.dt0 = 1.0 / 16;
            CHECK(nde_sde_solve(&sde, 0.0, 1.0, &y0, bm, &a, &sol) == NDE_OK);
            adp->err[k] += (sol.y[0] - ref) * (sol.y[0] - ref);
            adp->l1[k] += fabs(sol.y[0] - ref);
            adp->steps[k] += (double)sol.stats.steps;
            nde_solution_free(&sol);
        }
        nde_brownian_free(bm);
    }
    for (int k = 0; k < 6; k++) {
        cst->err[k] = sqrt(cst->err[k] / paths); cst->l1[k] /= paths; cst->steps[k] /= paths;
        adp->err[k] = sqrt(adp->err[k] / paths); adp->l1[k] /= paths; adp->steps[k] /= paths;
    }
}

/* Steps to reach mean absolute error e, interpolated log-log (Inf if never). */
static double steps_for(const cir_curve *c, double e)
{
    for (int k = 0; k + 1 < 6; k++)
        if (c->l1[k] >= e && c->l1[k + 1] <= e) {
            double u = (log(e) - log(c->l1[k])) / (log(c->l1[k + 1]) - log(c->l1[k]));
            return exp(log(c->steps[k]) + u * (log(c->steps[k + 1]) - log(c->steps[k])));
        }
    return INFINITY;
}

/* The experiment: prints both curves and the orders in steps (slope of log error against
 * log mean steps), RMS and mean absolute; checks that adaptive steps reach mean
 * absolute error 1e-2 with fewer steps and converge faster in both measures. */
static void cir_experiment(int paths)
{
    cir_curve c, a;
    cir_curves(paths, &c, &a);
    double x[2][6], y[2][6], z[2][6];
    for (int k = 0; k < 6; k++) {
        printf("constant dt 2^-%d: %6.1f steps, RMS %.3e, mean |e| %.3e | adaptive: %6.1f steps, RMS %.3e, "
               "mean |e| %.3e\n", 3 + k, c.steps[k], c.err[k], c.l1[k], a.steps[k], a.err[k], a.l1[k]);
        x[0][k] = -log(c.steps[k]); y[0][k] = log(c.err[k]); z[0][k] = log(c.l1[k]);
        x[1][k] = -log(a.steps[k]); y[1][k] = log(a.err[k]); z[1][k] = log(a.l1[k]);
    }
    double qc = slope(x[0], y[0], 6), qa = slope(x[1], y[1], 6);
    double lc = slope(x[0], z[0], 6), la = slope(x[1], z[1], 6);
    double nc = steps_for(&c, 1e-2), na = steps_for(&a, 1e-2);
    printf("%d paths: order in steps, RMS: constant %.3f, adaptive %.3f (x%.2f); mean |e|: constant %.3f, adaptive "
           "%.3f (x%.2f); steps for mean |e| = 1e-2: constant %.1f, adaptive %.1f\n", paths, qc, qa, qa / qc, lc, la,
           la / lc, nc, na);
    CHECK_MSG(na < nc, "adaptive needs %.1f steps, constant %.1f", na, nc);
    CHECK_MSG(qa > qc && la > lc, "orders: RMS adaptive %.3f, constant %.3f; mean |e| %.3f, %.3f", qa, qc, la, lc);
}

#endif
