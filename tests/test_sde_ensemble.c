/* SDE ensembles (nde_sde_ensemble, include/nde/sde.h): moments and quantiles against
 * closed forms with stated significance, independence of the thread count, each path
 * equal to a single solve on its tree, per-path failures, bad input. */
#include <math.h>
#include <string.h>

#include "testlib.h"

/* OU dy = -theta y dt + sigma dW: mean y0 e^{-theta t}, var sigma^2 (1 - e^{-2 theta t})/(2 theta). */
static const double THETA = 1.0, SIGMA = 0.5;
static int ou_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = -THETA * y[0]; return 0; }
static int ou_g(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)u; g[0] = SIGMA; return 0; }
static const nde_sde OU = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_ADDITIVE, .drift = ou_f, .diffusion = ou_g };

/* Itô GBM dy = mu y dt + s y dW: log y(t) ~ N((mu - s^2/2) t, s^2 t). */
static const double MU = 0.1, S = 0.4;
static int gbm_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = MU * y[0]; return 0; }
static int gbm_g(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = S * y[0]; return 0; }
static const nde_sde GBM = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .drift = gbm_f, .diffusion = gbm_g };

/* Standard normal quantile (Acklam's rational approximation, |rel err| < 1.2e-9). */
static double probit(double p)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00 };
    double q, r;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -probit(1 - p);
    q = p - 0.5; r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* 4000 OU paths (shark, constant steps: strong order 1.5 on additive noise, so the
 * discretisation bias is far below the sampling error): mean and variance at four times
 * within 4 standard errors (two-sided significance about 6e-5 each). */
static void test_ou_moments(void)
{
    double ts[4] = { 0.25, 1.0, 2.0, 4.0 }, y0 = 1.5;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("shark"); o.rtol = 0; o.dt0 = 0.01; o.ts = ts; o.n_ts = 4;
    nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
    eo.paths = 4000; eo.seed = 11; eo.threads = 2;
    nde_ensemble e;
    CHECK_EQ_INT(nde_sde_ensemble(&OU, 0.0, 4.0, &y0, &o, &eo, &e), NDE_OK);
    CHECK(e.n == 4 && e.paths == 4000 && e.failed == 0);
    for (size_t k = 0; k < 4; k++) {
        double t = ts[k], m = y0 * exp(-THETA * t), v = SIGMA * SIGMA * -expm1(-2 * THETA * t) / (2 * THETA);
        CHECK(e.t[k] == t);
        CHECK_NEAR(e.mean[k], m, 4 * sqrt(v / 4000));
        CHECK_NEAR(e.var[k], v, 4 * v * sqrt(2.0 / 3999));   /* var of the sample variance: 2 v^2/(n - 1) */
    }
    CHECK(e.total.steps == 4000 * 400 && e.stats[17].steps == 400);
    nde_ensemble_free(&e);
}

/* GBM quantiles against the lognormal's (Euler-Maruyama at dt 1e-3: bias well below the
 * tolerance, the quantiles' sampling error sqrt(p (1 - p)/n)/density, checked at 4 of
 * those). */
static void test_gbm_quantiles(void)
{
    double y0 = 1.0, qs[3] = { 0.05, 0.5, 0.95 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("euler_maruyama"); o.rtol = 0; o.dt0 = 1e-3;
    nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
    eo.paths = 3000; eo.seed = 5; eo.quantiles = qs; eo.n_quantiles = 3;
    nde_ensemble e;
    CHECK_EQ_INT(nde_sde_ensemble(&GBM, 0.0, 1.0, &y0, &o, &eo, &e), NDE_OK);
    CHECK(e.n == 1 && e.n_quantiles == 3);
    double mlog = MU - S * S / 2, slog = S;
    for (int a = 0; a < 3; a++) {
        double z = probit(qs[a]), q = exp(mlog + slog * z);
        double dens = exp(-z * z / 2) / sqrt(2 * 3.14159265358979323846) / (slog * q);   /* lognormal density at q */
        double se = sqrt(qs[a] * (1 - qs[a]) / 3000) / dens;
        CHECK_NEAR(e.quantiles[a], q, 4 * se);
    }
    nde_ensemble_free(&e);
}

/* The same bits for 1, 2 and 5 threads, and path i is nde_sde_solve on its own tree. */
static void test_thread_count_and_single_paths(void)
{
    double ts[3] = { 0.3, 0.6, 1.0 }, y0 = 1.0, qs[1] = { 0.3 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("spark"); o.rtol = 1e-3; o.atol = 1e-4; o.ts = ts; o.n_ts = 3;
    nde_sde strat = GBM;
    strat.stratonovich = 1;
    nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
    eo.paths = 37; eo.seed = 3; eo.quantiles = qs; eo.n_quantiles = 1;
    nde_ensemble e[3];
    int threads[3] = { 1, 2, 5 };
    for (int k = 0; k < 3; k++) {
        eo.threads = threads[k];
        CHECK_EQ_INT(nde_sde_ensemble(&strat, 0.0, 1.0, &y0, &o, &eo, &e[k]), NDE_OK);
    }
    size_t bytes = 37 * 3 * sizeof(double);
    for (int k = 1; k < 3; k++) {
        CHECK(memcmp(e[0].y, e[k].y, bytes) == 0);
        CHECK(memcmp(e[0].mean, e[k].mean, 3 * sizeof(double)) == 0);
        CHECK(memcmp(e[0].quantiles, e[k].quantiles, 3 * sizeof(double)) == 0);
        CHECK(e[0].total.nfe == e[k].total.nfe);
    }
    /* path 20 alone: the tree the ensemble made for it (adaptive: tol |t1 - t0| 2^-24) */
    nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, ldexp(1.0, -24), nde_ensemble_path_seed(3, 20),
                                                NDE_LEVY_SPACE_TIME);
    nde_solution sol;
    CHECK_EQ_INT(nde_sde_solve(&strat, 0.0, 1.0, &y0, bm, &o, &sol), NDE_OK);
    CHECK(sol.n == 3 && memcmp(sol.y, e[0].y + 20 * 3, 3 * sizeof(double)) == 0);
    CHECK(sol.stats.nfe == e[0].stats[20].nfe);
    nde_solution_free(&sol);
    nde_brownian_free(bm);
    for (int k = 0; k < 3; k++) nde_ensemble_free(&e[k]);
    CHECK(nde_ensemble_path_seed(3, 20) != nde_ensemble_path_seed(3, 21));
    CHECK(nde_ensemble_path_seed(3, 20) != nde_ensemble_path_seed(4, 20));
}

/* A drift that fails on some paths: those are NaN and counted, the rest summarised, the
 * first failure's status and message returned. */
static int flaky_f(double t, const double *y, double *f, void *u)
{
    (void)t; (void)u;
    f[0] = -y[0];
    return y[0] > 1.25 ? -7 : 0;   /* stop once the path has wandered above 1.25 */
}
static void test_failed_paths(void)
{
    nde_sde s = OU;
    s.drift = flaky_f;
    double y0 = 1.0;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("euler_maruyama"); o.rtol = 0; o.dt0 = 0.01;
    nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
    eo.paths = 400; eo.seed = 1; eo.threads = 3;
    nde_ensemble e;
    s.diffusion = ou_g;
    int rc = nde_sde_ensemble(&s, 0.0, 3.0, &y0, &o, &eo, &e);
    CHECK(e.failed > 0 && e.failed < 400);
    CHECK_EQ_INT(rc, NDE_ECALLBACK);
    size_t first = 0;
    while (e.status[first] >= 0) first++;
    char want[32];
    snprintf(want, sizeof want, "path %zu:", first);
    CHECK_MSG(strstr(nde_ensemble_message(&e), want) != NULL, "%s", nde_ensemble_message(&e));
    CHECK(isnan(e.y[first]));
    double sum = 0;
    size_t ok = 0;
    for (size_t i = 0; i < 400; i++)
        if (e.status[i] >= 0) { sum += e.y[i]; ok++; }
    CHECK(ok == 400 - e.failed);
    CHECK_NEAR(e.mean[0], sum / (double)ok, 1e-12);
    nde_ensemble_free(&e);
}

static void test_bad_input(void)
{
    double y0 = 1.0, bad_q[1] = { 1.5 };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("euler_maruyama"); o.rtol = 0; o.dt0 = 0.1;
    nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
    nde_ensemble e;
    eo.paths = 0;
    CHECK_EQ_INT(nde_sde_ensemble(&OU, 0, 1, &y0, &o, &eo, &e), NDE_EINVAL);
    CHECK(strstr(nde_ensemble_message(&e), "paths") != NULL);
    nde_ensemble_free(&e);
    eo.paths = 4; eo.quantiles = bad_q; eo.n_quantiles = 1;
    CHECK_EQ_INT(nde_sde_ensemble(&OU, 0, 1, &y0, &o, &eo, &e), NDE_EINVAL);
    CHECK(strstr(nde_ensemble_message(&e), "quantiles[0]") != NULL);
    nde_ensemble_free(&e);
    eo.n_quantiles = 0;
    o.save = NDE_SAVE_STEPS;
    CHECK_EQ_INT(nde_sde_ensemble(&OU, 0, 1, &y0, &o, &eo, &e), NDE_EINVAL);
    nde_ensemble_free(&e);
    o.save = 0;
    o.method = nde_method_find("milstein");       /* Itô-only on a Stratonovich problem */
    nde_sde strat = GBM;
    strat.stratonovich = 1;
    char buf[NDE_MESSAGE_MAX] = "";
    o.errbuf = buf; o.errbuf_size = sizeof buf;
    CHECK_EQ_INT(nde_sde_ensemble(&strat, 0, 1, &y0, &o, &eo, &e), NDE_EUNSUPPORTED);
    CHECK(strlen(buf) > 0 && strcmp(buf, nde_ensemble_message(&e)) == 0);
    CHECK(e.y == NULL);
    nde_ensemble_free(&e);
    CHECK_EQ_INT(nde_sde_ensemble(NULL, 0, 1, &y0, &o, &eo, &e), NDE_EINVAL);
    nde_ensemble_free(&e);
    CHECK_EQ_INT(nde_sde_ensemble(&OU, 0, 1, &y0, &o, &eo, NULL), NDE_EINVAL);
    nde_ensemble_free(NULL);
}

int main(void)
{
    RUN(test_ou_moments);
    RUN(test_gbm_quantiles);
    RUN(test_thread_count_and_single_paths);
    RUN(test_failed_paths);
    RUN(test_bad_input);
    return test_summary();
}
