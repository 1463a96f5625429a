/* `nde demo`, SDE section:
 *   (a) the high-volatility CIR experiment of Foster's SPaRK paper: strong error against
 *       steps, adaptive against constant, on the same Brownian paths, with the fitted
 *       orders (the set-up and reference of tests/sde_problems.h, cir_curves);
 *   (b) Ornstein-Uhlenbeck paths from nde_sde_ensemble: mean and 5-95% band against the
 *       closed form;
 *   (c) one Brownian path and its space-time Lévy area queried at two resolutions;
 *   (d) underdamped Langevin MCMC (adaptive QUICSORT) on the 2-D banana of
 *       examples/langevin_mcmc.c: samples against the target's contours, ESS per gradient. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

/* Slope of the least-squares line through (x[i], y[i]). */
static double fit_slope(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= (double)n; my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
    }
    return sxy / sxx;
}

/* ---- (a) CIR: adaptive against constant steps ----------------------------------------
 * Exactly the experiment of tests/sde_problems.h (cir_curves; run by test_sde and
 * test_sde_slow): Cox-Ingersoll-Ross dy = (1 - y) dt + 1.5 sqrt(y) dW (Itô), y0 = 1 on
 * [0, 1], 2ab < s^2 so paths come close to 0 where sqrt is not smooth, solved in
 * Stratonovich form (drift 1 - y - s^2/4, diffusion s sqrt|y|) by spark. Path i is the
 * tree of seed 100 + i, tol 2^-16, with space-time area; the reference is spark at
 * constant dt = 2^-14 on it. Constant steps 2^-3 .. 2^-8 against adaptive steps at
 * rtol = atol = 1e-1 .. 3e-4 (dt0 = 1/16); steps are attempted steps (rejections
 * included). */
#define CIR_S 1.5
#define CIR_LEVELS 6
static const double cir_rtols[CIR_LEVELS] = { 1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4 };

static int cir_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    f[0] = 1.0 - y[0] - 0.25 * CIR_S * CIR_S;
    return 0;
}

static int cir_g(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = CIR_S * sqrt(fabs(y[0]));
    return 0;
}

/* Per level: mean attempted steps, RMS error and mean absolute error over the paths. */
typedef struct cir_curve { double steps[CIR_LEVELS], rms[CIR_LEVELS], l1[CIR_LEVELS]; } cir_curve;

static int cir_solve(const nde_sde *sde, nde_brownian *bm, const nde_options *o, double *y1, double *steps)
{
    double y0 = 1.0;
    nde_solution sol;
    int rc = nde_sde_solve(sde, 0.0, 1.0, &y0, bm, o, &sol);
    if (rc != NDE_OK) {
        fprintf(stderr, "nde demo (sde): CIR with spark: %s\n", nde_solution_message(&sol));
    } else {
        *y1 = sol.y[0];
        *steps = (double)sol.stats.steps;
    }
    nde_solution_free(&sol);
    return rc != NDE_OK;
}

static int cir_curves(size_t paths, cir_curve *cst, cir_curve *adp)
{
    nde_sde sde = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .stratonovich = 1,
                    .drift = cir_f, .diffusion = cir_g };
    const nde_method *spark = nde_method_find("spark");
    memset(cst, 0, sizeof *cst);
    memset(adp, 0, sizeof *adp);
    for (size_t i = 0; i < paths; i++) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, ldexp(1.0, -16), 100 + (uint64_t)i,
                                                    NDE_LEVY_SPACE_TIME);
        if (!bm) return 1;
        nde_options o = NDE_OPTIONS_INIT;
        o.method = spark;
        o.rtol = 0.0;
        o.dt0 = ldexp(1.0, -14);
        double ref, y, n;
        int bad = cir_solve(&sde, bm, &o, &ref, &n);
        for (int k = 0; k < CIR_LEVELS && !bad; k++) {
            o.dt0 = ldexp(1.0, -(3 + k));
            bad = cir_solve(&sde, bm, &o, &y, &n);
            if (bad) break;
            cst->rms[k] += (y - ref) * (y - ref);
            cst->l1[k] += fabs(y - ref);
            cst->steps[k] += n;
            nde_options a = NDE_OPTIONS_INIT;
            a.method = spark;
            a.rtol = a.atol = cir_rtols[k];
            a.dt0 = 1.0 / 16;
            bad = cir_solve(&sde, bm, &a, &y, &n);
            if (bad) break;
            adp->rms[k] += (y - ref) * (y - ref);
            adp->l1[k] += fabs(y - ref);
            adp->steps[k] += n;
        }
        nde_brownian_free(bm);
        if (bad) return 1;
    }
    double p = (double)paths;
    for (int k = 0; k < CIR_LEVELS; k++) {
        cst->rms[k] = sqrt(cst->rms[k] / p); cst->l1[k] /= p; cst->steps[k] /= p;
        adp->rms[k] = sqrt(adp->rms[k] / p); adp->l1[k] /= p; adp->steps[k] /= p;
    }
    return 0;
}

/* Order in steps: the slope of log error against -log(mean steps). */
static double cir_order(const cir_curve *c, const double *err)
{
    double x[CIR_LEVELS], y[CIR_LEVELS];
    for (int k = 0; k < CIR_LEVELS; k++) { x[k] = -log(c->steps[k]); y[k] = log(err[k]); }
    return fit_slope(x, y, CIR_LEVELS);
}

/* Mean steps to reach mean absolute error e, interpolated log-log (NaN if not reached). */
static double cir_steps_for(const cir_curve *c, double e)
{
    for (int k = 0; k + 1 < CIR_LEVELS; k++)
        if (c->l1[k] >= e && c->l1[k + 1] <= e) {
            double u = (log(e) - log(c->l1[k])) / (log(c->l1[k + 1]) - log(c->l1[k]));
            return exp(log(c->steps[k]) + u * (log(c->steps[k + 1]) - log(c->steps[k])));
        }
    return NAN;
}

typedef struct cir_result {
    size_t paths;
    cir_curve cst, adp;
    double q_rms_c, q_rms_a, q_l1_c, q_l1_a;   /* orders in steps */
    double n_c, n_a;                           /* steps for mean |e| = 1e-2 */
} cir_result;

static int run_cir(const demo_ctx *ctx, cir_result *r)
{
    r->paths = ctx->quick ? 32 : 256;   /* test_sde and test_sde_slow */
    if (cir_curves(r->paths, &r->cst, &r->adp)) return 1;
    r->q_rms_c = cir_order(&r->cst, r->cst.rms);
    r->q_rms_a = cir_order(&r->adp, r->adp.rms);
    r->q_l1_c = cir_order(&r->cst, r->cst.l1);
    r->q_l1_a = cir_order(&r->adp, r->adp.l1);
    r->n_c = cir_steps_for(&r->cst, 1e-2);
    r->n_a = cir_steps_for(&r->adp, 1e-2);
    FILE *f = demo_fopen(ctx, "sde_cir.dat", "w");
    if (!f) return 1;
    static const char *const titles[4] = { "constant steps, RMS", "adaptive (spark), RMS",
                                           "constant steps, mean |e|", "adaptive (spark), mean |e|" };
    for (int c = 0; c < 4; c++) {
        const cir_curve *cv = (c & 1) ? &r->adp : &r->cst;
        const double *e = (c & 2) ? cv->l1 : cv->rms;
        fprintf(f, "\"%s\" \"error\"\n", titles[c]);
        for (int k = 0; k < CIR_LEVELS; k++) fprintf(f, "%.6g %.6g\n", cv->steps[k], e[k]);
        fprintf(f, "\n\n");
    }
    fclose(f);
    return 0;
}

/* ---- (b) OU ensemble against its closed form -----------------------------------------
 * dy = th (m - y) dt + s dW, y0 = 2, th = 1, m = 0.5, s = 0.6 on [0, 5]: y(t) is normal
 * with mean m + (y0 - m) e^{-th t} and variance s^2 (1 - e^{-2 th t}) / (2 th), so its
 * 5% and 95% quantiles are mean -/+ 1.6449 sd. Solved by shark (additive noise, strong
 * order 1.5) at constant dt = 0.05, saved every 0.1. */
#define OU_TH 1.0
#define OU_M 0.5
#define OU_S 0.6
#define OU_Y0 2.0
#define OU_T1 5.0
#define OU_SAVES 50
#define Z95 1.6448536269514722   /* the standard normal's 95% quantile */

static int ou_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    f[0] = OU_TH * (OU_M - y[0]);
    return 0;
}

static int ou_g(double t, const double *y, double *g, void *u)
{
    (void)t; (void)y; (void)u;
    g[0] = OU_S;
    return 0;
}

static double ou_mean(double t) { return OU_M + (OU_Y0 - OU_M) * exp(-OU_TH * t); }
static double ou_sd(double t) { return OU_S * sqrt(-expm1(-2.0 * OU_TH * t) / (2.0 * OU_TH)); }

typedef struct ou_result {
    size_t paths;
    double mean_z;                    /* max over t of |mean - exact| / (sd / sqrt(paths)) */
    double q05_err, q95_err;          /* max over t of |quantile - exact quantile| */
    double sd_max;                    /* the largest exact sd (scale for the quantile errors) */
    size_t nfe;
} ou_result;

static int run_ou(const demo_ctx *ctx, ou_result *r)
{
    nde_sde ou = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_ADDITIVE, .drift = ou_f, .diffusion = ou_g };
    double ts[OU_SAVES], qs[2] = { 0.05, 0.95 }, y0 = OU_Y0;
    for (int k = 0; k < OU_SAVES; k++) ts[k] = OU_T1 * (k + 1) / OU_SAVES;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("shark");
    o.rtol = 0.0; o.dt0 = 0.05;
    o.ts = ts; o.n_ts = OU_SAVES;
    o.save = NDE_SAVE_T0;
    nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
    r->paths = eo.paths = ctx->quick ? 500 : 4000;
    eo.seed = 11; eo.quantiles = qs; eo.n_quantiles = 2;
    nde_ensemble e;
    int rc = nde_sde_ensemble(&ou, 0.0, OU_T1, &y0, &o, &eo, &e);
    if (rc != NDE_OK) {
        fprintf(stderr, "nde demo (sde): OU ensemble: %s\n", nde_ensemble_message(&e));
        nde_ensemble_free(&e);
        return 1;
    }
    r->nfe = e.total.nfe;
    FILE *f = demo_fopen(ctx, "sde_ou.dat", "w");
    if (!f) { nde_ensemble_free(&e); return 1; }
    /* index 0: t, ensemble mean, q05, q95, exact mean, exact q05, exact q95 */
    r->mean_z = r->q05_err = r->q95_err = r->sd_max = 0;
    for (size_t k = 0; k < e.n; k++) {
        double t = e.t[k], m = ou_mean(t), sd = ou_sd(t);
        double lo = e.quantiles[k], hi = e.quantiles[e.n + k];
        fprintf(f, "%.6g %.6g %.6g %.6g %.6g %.6g %.6g\n", t, e.mean[k], lo, hi, m, m - Z95 * sd, m + Z95 * sd);
        if (sd > 0) {
            double z = fabs(e.mean[k] - m) / (sd / sqrt((double)e.paths));
            if (z > r->mean_z) r->mean_z = z;
        }
        r->q05_err = fmax(r->q05_err, fabs(lo - (m - Z95 * sd)));
        r->q95_err = fmax(r->q95_err, fabs(hi - (m + Z95 * sd)));
        r->sd_max = fmax(r->sd_max, sd);
    }
    /* index 1: the first 20 paths, one block each */
    fprintf(f, "\n\n");
    for (size_t i = 0; i < 20 && i < e.paths; i++) {
        for (size_t k = 0; k < e.n; k++) fprintf(f, "%.6g %.6g\n", e.t[k], e.y[i * e.n + k]);
        fprintf(f, "\n");
    }
    fclose(f);
    nde_ensemble_free(&e);
    return 0;
}

/* ---- (c) a Brownian path and its space-time Lévy area at two resolutions -------------
 * One tree on [0, 1] (seed 2026, leaves 2^-12). The path is queried on a fine grid of
 * 256 intervals and on a coarse grid of 16; the coarse W are the sums of the fine ones
 * and the coarse H are Chen's combination of the fine (W, H) of their 16 sub-intervals
 * (nde/brownian.h), both to rounding: the tree is one path at every resolution. The
 * area H = (1/h) int (W(r) - W(s)) dr - W/2 is the mean height of the path above the
 * chord of the interval. */
#define BM_FINE 256
#define BM_COARSE 16

typedef struct bm_result { double w_dev, h_dev, h_max; } bm_result;

static int run_brownian(const demo_ctx *ctx, bm_result *r)
{
    nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, ldexp(1.0, -12), 2026, NDE_LEVY_SPACE_TIME);
    if (!bm) return 1;
    FILE *f = demo_fopen(ctx, "sde_brownian.dat", "w");
    if (!f) { nde_brownian_free(bm); return 1; }
    const int per = BM_FINE / BM_COARSE;
    const double hf = 1.0 / BM_FINE, hc = 1.0 / BM_COARSE;
    double wfine[BM_FINE], hfine[BM_FINE], wc[BM_COARSE], hc_direct[BM_COARSE], hc_chen[BM_COARSE];
    int rc = 0;
    for (int j = 0; j < BM_FINE && !rc; j++)
        rc = nde_brownian_increment(bm, j * hf, (j + 1) * hf, &wfine[j], &hfine[j], NULL);
    for (int c = 0; c < BM_COARSE && !rc; c++)
        rc = nde_brownian_increment(bm, c * hc, (c + 1) * hc, &wc[c], &hc_direct[c], NULL);
    if (rc) {
        fprintf(stderr, "nde demo (sde): Brownian tree: %s\n", nde_brownian_message(bm));
        fclose(f);
        nde_brownian_free(bm);
        return 1;
    }
    r->w_dev = r->h_dev = r->h_max = 0;
    /* index 0: the fine path W(t) */
    double w = 0;
    fprintf(f, "0 0\n");
    for (int j = 0; j < BM_FINE; j++) {
        w += wfine[j];
        fprintf(f, "%.6g %.9g\n", (j + 1) * hf, w);
    }
    /* index 1: the coarse nodes, W summed from the coarse increments */
    fprintf(f, "\n\n0 0\n");
    double wcs = 0, wfs = 0;
    for (int c = 0; c < BM_COARSE; c++) {
        /* join the fine sub-intervals left to right by Chen's relation */
        double W = wfine[c * per], H = hfine[c * per], h = hf;
        for (int j = 1; j < per; j++) {
            double W2 = wfine[c * per + j], H2 = hfine[c * per + j], hs = h + hf;
            H = (h * H + hf * H2) / hs + (hf * W - h * W2) / (2.0 * hs);
            W += W2;
            h = hs;
        }
        hc_chen[c] = H;
        wcs += wc[c];
        wfs += W;
        r->w_dev = fmax(r->w_dev, fabs(wcs - wfs));
        r->h_dev = fmax(r->h_dev, fabs(hc_direct[c] - hc_chen[c]));
        r->h_max = fmax(r->h_max, fabs(hc_direct[c]));
        fprintf(f, "%.6g %.9g\n", (c + 1) * hc, wcs);
    }
    /* index 2: per coarse interval, its midpoint, H queried directly, H joined from the
     * fine queries; index 3: per fine interval, its midpoint and H (sd sqrt(hf/12), a
     * quarter of the coarse one) */
    fprintf(f, "\n\n");
    for (int c = 0; c < BM_COARSE; c++)
        fprintf(f, "%.6g %.9g %.9g\n", (c + 0.5) * hc, hc_direct[c], hc_chen[c]);
    fprintf(f, "\n\n");
    for (int j = 0; j < BM_FINE; j++) fprintf(f, "%.6g %.9g\n", (j + 0.5) * hf, hfine[j]);
    fclose(f);
    nde_brownian_free(bm);
    return 0;
}

/* ---- (d) underdamped Langevin MCMC on the banana -------------------------------------
 * The target of examples/langevin_mcmc.c: f(x) = x1^2/2 + (x2 - (x1^2 - 1))^2/2, so that
 * (x1, x2 - (x1^2 - 1)) is a standard 2-D normal (the map has Jacobian 1): E x = 0,
 * Var x1 = 1, Var x2 = 3, and the region f <= c holds mass 1 - e^{-c}. Its contours are
 * x1 = r cos a, x2 = x1^2 - 1 + r sin a with r^2 = 2c. gamma = u = 1, adaptive QUICSORT
 * at rtol = atol = 1e-2, a sample every time unit (forced step ends), burn-in 100. */
static int banana_grad(const double *x, double *g, void *user)
{
    (void)user;
    double r = x[1] - (x[0] * x[0] - 1.0);
    g[0] = x[0] - 2.0 * x[0] * r;
    g[1] = r;
    return 0;
}

static const double banana_mass[3] = { 0.5, 0.9, 0.99 };

typedef struct mcmc_result {
    size_t samples;
    double mean[2], var[2], ess[2], ess_per_grad, grads;
    double inside[3];                 /* fraction of samples inside each contour */
    size_t steps, rejected;
} mcmc_result;

static int run_mcmc(const demo_ctx *ctx, mcmc_result *r)
{
    const double T = ctx->quick ? 600.0 : 4000.0, burn = 100.0;
    const size_t n_save = (size_t)T;
    double *ts = malloc(n_save * sizeof *ts);
    if (!ts) return 1;
    for (size_t i = 0; i < n_save; i++) ts[i] = (double)(i + 1);
    nde_langevin p = { .dim = 2, .gamma = 1.0, .u = 1.0, .grad = banana_grad };
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, T, 1e-4, 2024, NDE_LEVY_SPACE_TIME_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("quicsort");
    o.rtol = o.atol = 1e-2;
    o.ts = ts; o.n_ts = n_save;
    o.step_ts = ts; o.n_step_ts = n_save;
    o.max_steps = 10000000;
    double xv0[4] = { 0, 0, 0, 0 };
    nde_solution sol;
    int rc = bm ? nde_langevin_solve(&p, 0.0, T, xv0, bm, &o, &sol) : NDE_ENOMEM;
    if (rc != NDE_OK) {
        fprintf(stderr, "nde demo (sde): Langevin: %s\n", bm ? nde_solution_message(&sol) : "no tree");
        if (bm) nde_solution_free(&sol);
        nde_brownian_free(bm);
        free(ts);
        return 1;
    }
    size_t first = (size_t)burn, n = sol.n - first;
    const double *x = sol.y + first * sol.dim;
    r->samples = n;
    for (int c = 0; c < 2; c++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < n; i++) m += x[i * sol.dim + (size_t)c];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) v += (x[i * sol.dim + (size_t)c] - m) * (x[i * sol.dim + (size_t)c] - m);
        r->mean[c] = m;
        r->var[c] = v / (double)(n - 1);
        if (nde_ess(x + c, n, sol.dim, &r->ess[c]) != NDE_OK) rc = 1;
    }
    memset(r->inside, 0, sizeof r->inside);
    FILE *f = demo_fopen(ctx, "sde_banana.dat", "w");
    if (!f) rc = 1;
    for (size_t i = 0; i < n; i++) {
        double x1 = x[i * sol.dim], x2 = x[i * sol.dim + 1], d = x2 - (x1 * x1 - 1.0);
        double fx = 0.5 * (x1 * x1 + d * d);
        for (int l = 0; l < 3; l++) r->inside[l] += fx <= -log1p(-banana_mass[l]);
        if (f) fprintf(f, "%.6g %.6g\n", x1, x2);
    }
    for (int l = 0; l < 3; l++) r->inside[l] /= (double)n;
    /* index 1..3: the contours holding 50%, 90% and 99% of the mass */
    for (int l = 0; f && l < 3; l++) {
        double rad = sqrt(-2.0 * log1p(-banana_mass[l]));
        fprintf(f, "\n\n");
        for (int k = 0; k <= 200; k++) {
            double a = 2.0 * 3.141592653589793 * k / 200.0, x1 = rad * cos(a);
            fprintf(f, "%.6g %.6g\n", x1, x1 * x1 - 1.0 + rad * sin(a));
        }
    }
    if (f) fclose(f);
    /* gradients spent on the kept part, in proportion to its time (as the example) */
    r->grads = (double)sol.stats.nfe * (T - burn) / T;
    r->ess_per_grad = fmin(r->ess[0], r->ess[1]) / r->grads;
    r->steps = sol.stats.steps;
    r->rejected = sol.stats.rejected;
    nde_solution_free(&sol);
    nde_brownian_free(bm);
    free(ts);
    return rc;
}

/* ---- the section -------------------------------------------------------------------- */

static void json_curve(FILE *js, const char *name, const cir_curve *c, int first)
{
    fprintf(js, "%s\"%s\": {\"steps\": [", first ? "" : ", ", name);
    for (int k = 0; k < CIR_LEVELS; k++) fprintf(js, "%s%.6g", k ? ", " : "", c->steps[k]);
    fprintf(js, "], \"rms\": [");
    for (int k = 0; k < CIR_LEVELS; k++) fprintf(js, "%s%.6g", k ? ", " : "", c->rms[k]);
    fprintf(js, "], \"mean_abs\": [");
    for (int k = 0; k < CIR_LEVELS; k++) fprintf(js, "%s%.6g", k ? ", " : "", c->l1[k]);
    fprintf(js, "]}");
}

static int write_json(const demo_ctx *ctx, const cir_result *c, const ou_result *ou, const bm_result *b,
                      const mcmc_result *m)
{
    FILE *js = demo_fopen(ctx, "sde.json", "w");
    if (!js) return 1;
    fprintf(js, "{\"cir\": {\"paths\": %zu, ", c->paths);
    json_curve(js, "constant", &c->cst, 1);
    json_curve(js, "adaptive", &c->adp, 0);
    fprintf(js, ", \"order_rms_constant\": ");      json_num(js, c->q_rms_c);
    fprintf(js, ", \"order_rms_adaptive\": ");      json_num(js, c->q_rms_a);
    fprintf(js, ", \"order_mean_abs_constant\": "); json_num(js, c->q_l1_c);
    fprintf(js, ", \"order_mean_abs_adaptive\": "); json_num(js, c->q_l1_a);
    fprintf(js, ", \"steps_for_mean_abs_1e-2_constant\": "); json_num(js, c->n_c);
    fprintf(js, ", \"steps_for_mean_abs_1e-2_adaptive\": "); json_num(js, c->n_a);
    fprintf(js, "},\n \"ou\": {\"paths\": %zu, \"mean_max_z\": ", ou->paths);
    json_num(js, ou->mean_z);
    fprintf(js, ", \"q05_max_abs_err\": "); json_num(js, ou->q05_err);
    fprintf(js, ", \"q95_max_abs_err\": "); json_num(js, ou->q95_err);
    fprintf(js, ", \"nfe\": %zu},\n \"brownian\": {\"w_max_dev\": ", ou->nfe);
    json_num(js, b->w_dev);
    fprintf(js, ", \"h_max_dev\": "); json_num(js, b->h_dev);
    fprintf(js, "},\n \"langevin\": {\"method\": \"quicsort\", \"samples\": %zu, \"mean\": [", m->samples);
    json_num(js, m->mean[0]); fprintf(js, ", "); json_num(js, m->mean[1]);
    fprintf(js, "], \"var\": ["); json_num(js, m->var[0]); fprintf(js, ", "); json_num(js, m->var[1]);
    fprintf(js, "], \"ess\": ["); json_num(js, m->ess[0]); fprintf(js, ", "); json_num(js, m->ess[1]);
    fprintf(js, "], \"gradients\": "); json_num(js, m->grads);
    fprintf(js, ", \"ess_per_gradient\": "); json_num(js, m->ess_per_grad);
    fprintf(js, ", \"inside_50_90_99\": [");
    for (int l = 0; l < 3; l++) { fprintf(js, "%s", l ? ", " : ""); json_num(js, m->inside[l]); }
    fprintf(js, "]}}\n");
    return fclose(js) != 0;
}

static int plot(const demo_ctx *ctx, const bm_result *b)
{
    FILE *gp = demo_fopen(ctx, "sde.gp", "w");
    if (!gp) return 1;
    fprintf(gp,
        "set output 'sde_cir.png'\n"
        "set logscale xy\nset key bottom left\nset grid\n"
        "set xlabel 'mean attempted steps per path'\nset ylabel 'error at t = 1 against spark, dt = 2^{-14}'\n"
        "set title 'CIR dy = (1 - y) dt + 1.5 sqrt(y) dW, spark on the same Brownian paths'\n"
        "plot 'sde_cir.dat' index 0 w lp pt 7 lw 2 lc rgb '#1f77b4' title columnheader(1), "
        "'' index 1 w lp pt 7 lw 2 lc rgb '#d62728' title columnheader(1), "
        "'' index 2 w lp pt 6 lw 2 dt 2 lc rgb '#1f77b4' title columnheader(1), "
        "'' index 3 w lp pt 6 lw 2 dt 2 lc rgb '#d62728' title columnheader(1)\n"
        "unset logscale\nunset grid\n"
        "set output 'sde_ou.png'\n"
        "set key top right\nset xlabel 't'\nset ylabel 'y'\n"
        "set title 'Ornstein-Uhlenbeck dy = (0.5 - y) dt + 0.6 dW from y = 2: ensemble against closed form'\n"
        "plot 'sde_ou.dat' index 0 u 1:3:4 w filledcurves lc rgb '#c6dbef' title 'ensemble 5-95%% band', "
        "'sde_ou.dat' index 1 w l lc rgb '#aaaaaa' lw 0.6 notitle, "
        "'sde_ou.dat' index 0 u 1:2 w l lw 2 lc rgb '#1f77b4' title 'ensemble mean', "
        "'sde_ou.dat' index 0 u 1:5 w l lw 2 dt 2 lc rgb '#000000' title 'exact mean', "
        "'sde_ou.dat' index 0 u 1:6 w l lw 1.5 dt 3 lc rgb '#d62728' title 'exact 5%% and 95%%', "
        "'sde_ou.dat' index 0 u 1:7 w l lw 1.5 dt 3 lc rgb '#d62728' notitle\n"
        "set output 'sde_brownian.png'\n"
        "set terminal @png_term size 900,700\n"
        "set multiplot layout 2,1\n"
        "set key bottom left\nset xlabel 't'\nset ylabel 'W(t)'\n"
        "set title 'one Brownian path: 256 fine increments, 16 coarse ones (nodes: sums of the coarse increments)'\n"
        "plot 'sde_brownian.dat' index 0 w l lc rgb '#555555' title 'W from 256 fine queries', "
        "'sde_brownian.dat' index 1 w lp pt 7 lc rgb '#d62728' title 'W from 16 coarse queries'\n"
        "set ylabel 'space-time Levy area H'\nset key below horizontal\n"
        "set title 'H per coarse interval: queried directly and joined from its 16 fine intervals "
        "(max difference %.1e)'\n"
        "set xzeroaxis\n"
        "plot 'sde_brownian.dat' index 2 u 1:2:(0.05) w boxes fs solid 0.35 lc rgb '#1f77b4' "
        "title 'H, coarse query', "
        "'sde_brownian.dat' index 2 u 1:3 w p pt 2 ps 1.5 lw 2 lc rgb '#d62728' title 'H, Chen join of fine queries', "
        "'sde_brownian.dat' index 3 u 1:2 w i lc rgb '#999999' title 'H of the fine intervals'\n"
        "unset multiplot\n"
        "set terminal @png_term size 640,760\n"
        "set output 'sde_banana.png'\n"
        "unset xzeroaxis\nset size ratio -1\nset key below\n"
        "set xrange [-3.5:3.5]\nset yrange [-4.5:9]\nset xlabel 'x_1'\nset ylabel 'x_2'\n"
        "set title 'underdamped Langevin (adaptive QUICSORT) on the banana'\n"
        "plot 'sde_banana.dat' index 0 w p pt 7 ps 0.3 lc rgb '#1f77b4' title 'samples', "
        "for [i=1:3] 'sde_banana.dat' index i w l lw 2 lc rgb '#d62728' "
        "title (i == 1 ? 'target contours: 50, 90, 99%% of the mass' : '')\n",
        b->h_dev);
    fclose(gp);
    return demo_gnuplot(ctx, "sde.gp") != 0;
}

int demo_sde(demo_ctx *ctx)
{
    cir_result cir;
    ou_result ou;
    bm_result bro;
    mcmc_result mc;
    memset(&cir, 0, sizeof cir); memset(&ou, 0, sizeof ou);
    memset(&bro, 0, sizeof bro); memset(&mc, 0, sizeof mc);
    double t0 = wall_seconds();
    if (run_cir(ctx, &cir)) return 1;
    double t_cir = wall_seconds() - t0;
    if (run_ou(ctx, &ou) || run_brownian(ctx, &bro) || run_mcmc(ctx, &mc)) return 1;
    int rc = write_json(ctx, &cir, &ou, &bro, &mc);
    rc |= plot(ctx, &bro);

    fprintf(ctx->html,
        "<section id=\"sde\">\n<h2>Stochastic differential equations</h2>\n"
        "<p>Stochastic Runge-Kutta solves on virtual Brownian trees (<code>nde/sde.h</code>, "
        "<code>nde/brownian.h</code>): every path is a pure function of one seed, so a solve "
        "at another step size, or an adaptive one, sees the same path.</p>\n"
        "<figure><img src=\"sde_cir.png\"><figcaption>The high-volatility CIR experiment of "
        "Foster's SPaRK paper: Cox-Ingersoll-Ross dy = (1 - y) dt + 1.5 &radic;y dW (Itô, solved "
        "in Stratonovich form), y(0) = 1, error at t = 1 over %zu Brownian paths against spark "
        "at dt = 2<sup>-14</sup> on the same path, spark with constant steps 2<sup>-3</sup> to "
        "2<sup>-8</sup> against adaptive spark at rtol = atol = 10<sup>-1</sup> to "
        "3&middot;10<sup>-4</sup> (steps: attempted, rejections included). Fitted order in "
        "steps, RMS error: constant %.2f, adaptive %.2f; mean absolute error: constant %.2f, "
        "adaptive %.2f. Steps for mean |e| = 10<sup>-2</sup>: constant %.1f, adaptive %.1f. "
        "(2ab &lt; &sigma;<sup>2</sup>: paths come close to 0, where &radic;y is not smooth, "
        "and the adaptive steps shrink there.)</figcaption></figure>\n",
        cir.paths, cir.q_rms_c, cir.q_rms_a, cir.q_l1_c, cir.q_l1_a, cir.n_c, cir.n_a);
    fprintf(ctx->html,
        "<figure><img src=\"sde_ou.png\"><figcaption>%zu Ornstein-Uhlenbeck paths from "
        "<code>nde_sde_ensemble</code> (shark, dt = 0.05, one tree per path, on threads; 20 "
        "paths drawn): the ensemble's mean and 5-95%% quantile band against the closed form "
        "N(0.5 + 1.5 e<sup>-t</sup>, 0.18 (1 - e<sup>-2t</sup>)). Largest deviation of the mean "
        "over the 50 save times: %.2f standard errors; of the 5%% and 95%% quantiles: %.3f and "
        "%.3f (the stationary sd is %.3f).</figcaption></figure>\n",
        ou.paths, ou.mean_z, ou.q05_err, ou.q95_err, ou.sd_max);
    fprintf(ctx->html,
        "<figure><img src=\"sde_brownian.png\"><figcaption>One Brownian tree (seed 2026) "
        "queried on 256 and on 16 intervals of [0, 1]. Top: the path; the coarse nodes lie on "
        "the fine path (largest gap %.1e). Bottom: the space-time Lévy area H (the mean height "
        "of the path above the chord of the interval) of each coarse interval, queried directly "
        "and joined from its 16 fine intervals by Chen's relation: they agree to %.1e (largest "
        "|H| %.2f). The tree is one path at every resolution, which is what lets an adaptive "
        "solver reject a step and ask again for a shorter one.</figcaption></figure>\n",
        bro.w_dev, bro.h_dev, bro.h_max);
    fprintf(ctx->html,
        "<figure><img src=\"sde_banana.png\"><figcaption>Underdamped Langevin MCMC "
        "(<code>nde/langevin.h</code>, adaptive QUICSORT at rtol = 10<sup>-2</sup>, &gamma; = u = "
        "1) on the banana f(x) = x<sub>1</sub><sup>2</sup>/2 + (x<sub>2</sub> - x<sub>1</sub><sup>2</sup> "
        "+ 1)<sup>2</sup>/2: %zu samples one time unit apart after a burn-in of 100, against the "
        "contours holding 50, 90 and 99%% of the mass (%.1f, %.1f and %.1f%% of the samples "
        "fall inside). Mean (%+.3f, %+.3f) [exact 0, 0], variance (%.3f, %.3f) [exact 1, 3]; "
        "ESS (nde_ess, Geyer) (%.0f, %.0f) for %.0f gradients: min ESS per gradient %.4f "
        "(%zu steps, %zu rejected).</figcaption></figure>\n</section>\n",
        mc.samples, 100 * mc.inside[0], 100 * mc.inside[1], 100 * mc.inside[2], mc.mean[0], mc.mean[1],
        mc.var[0], mc.var[1], mc.ess[0], mc.ess[1], mc.grads, mc.ess_per_grad, mc.steps, mc.rejected);

    fprintf(ctx->summary, "sde: CIR over %zu paths (%.1f s), order in steps (RMS): constant %.2f, adaptive %.2f; "
            "steps for mean |e| 1e-2: constant %.1f, adaptive %.1f\n", cir.paths, t_cir, cir.q_rms_c,
            cir.q_rms_a, cir.n_c, cir.n_a);
    fprintf(ctx->summary, "sde: OU ensemble of %zu paths: mean within %.2f standard errors of the closed form\n",
            ou.paths, ou.mean_z);
    fprintf(ctx->summary, "sde: Brownian tree, coarse against joined fine queries: W %.1e, H %.1e\n",
            bro.w_dev, bro.h_dev);
    fprintf(ctx->summary, "sde: Langevin banana (quicsort): %zu samples, var (%.2f, %.2f) [1, 3], "
            "min ESS per gradient %.4f\n", mc.samples, mc.var[0], mc.var[1], mc.ess_per_grad);
    return rc;
}
