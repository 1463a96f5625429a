/* Diffusion module hardening (issue 7): one regression test per defect found from
 * outside (test_defectNN_...), SIZE_MAX-scale counts fed to every diffusion constructor
 * and entry point, and allocation failure injected into the schedule constructors and
 * nde_gmm_flow. Each failure must end in a clear status (and a message where the API
 * has a channel) with nothing written to the caller's buffers. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "nde/diffusion.h"

/* ---- fixtures ------------------------------------------------------------------ */

static const double W2[2] = { 0.4, 0.6 };
static const double MU2[4] = { -1.0, 0.5, 1.5, -0.5 };
static const double SD2[4] = { 0.3, 0.4, 0.5, 0.2 };
static const nde_gmm MIX = { 2, 2, W2, MU2, SD2 };

/* a model that counts its calls and answers with the mixture's eps* */
static int calls;
static int counting_model(const double *x, double t, size_t b, size_t d, double *out, void *u)
{
    calls++;
    return nde_gmm_denoiser(x, t, b, d, out, u);
}

/* An allocator that refuses requests above `cap` bytes (so that huge but non-overflowing
 * sizes fail cleanly, also under ASan) and counts live blocks. */
typedef struct capped {
    nde_allocator a;
    size_t cap, calls, live;
} capped;
static void *cap_alloc(size_t size, void *user)
{
    capped *c = user;
    c->calls++;
    if (size > c->cap) return NULL;
    void *p = malloc(size);
    if (p) c->live++;
    return p;
}
static void cap_free(void *p, size_t size, void *user)
{
    capped *c = user;
    (void)size;
    if (!p) return;
    c->live--;
    free(p);
}
static void capped_init(capped *c, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->a.alloc = cap_alloc;
    c->a.free = cap_free;
    c->a.user = c;
    c->cap = cap;
}

static int all_equal(const double *a, double v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == v)) return 0;
    return 1;
}

/* Sampling is rejected with NDE_EINVAL and a message containing needle, before any model
 * call, x and stats untouched; nde_diffusion_plan rejects it too, its outputs untouched. */
static void expect_rejected(const nde_schedule *s, nde_sampler_options *o, const char *needle)
{
    char eb[512] = "";
    o->errbuf = eb; o->errbuf_size = sizeof eb;
    nde_gmm_model gm = { &MIX, s, NDE_PRED_EPS, -1, 0.0 };
    double x[4] = { 0.5, -0.25, 1.0, 2.0 }, keep[4];
    memcpy(keep, x, sizeof x);
    calls = 0;
    nde_stats st, st_keep;
    memset(&st, 0xab, sizeof st);
    st_keep = st;
    CHECK_EQ_INT(nde_diffusion_sample(s, counting_model, NDE_PRED_EPS, &gm, o, x, 2, 2, &st),
                 NDE_EINVAL);
    CHECK_MSG(strstr(eb, needle) != NULL, "message '%s' lacks '%s'", eb, needle);
    CHECK_EQ_INT(calls, 0);
    CHECK(memcmp(x, keep, sizeof x) == 0);
    CHECK(memcmp(&st, &st_keep, sizeof st) == 0);
    eb[0] = '\0';
    size_t nfe = 77;
    int order = 77;
    CHECK_EQ_INT(nde_diffusion_plan(s, o, &order, &nfe), NDE_EINVAL);
    CHECK_MSG(strstr(eb, needle) != NULL, "plan: message '%s' lacks '%s'", eb, needle);
    CHECK(nfe == 77 && order == 77);
}

/* ---- crashes and memory safety ------------------------------------------------- */

/* 1. A 2-entry discrete table queried with NaN read far out of bounds; a table whose
 * betas are too small to change log alpha is not strictly monotone (0/0 in the
 * interpolation): it is rejected. Samplers that invert lambda run cleanly on a 2-entry
 * table. */
static void test_defect01_interp_nan(void)
{
    const double b2[2] = { 0.1, 0.2 };
    nde_schedule *s = nde_schedule_vp_discrete(b2, 2);
    CHECK(s != NULL);
    CHECK(isnan(nde_schedule_t_of_lambda(s, NAN)));
    CHECK(isnan(nde_schedule_log_alpha(s, NAN)));
    CHECK(isnan(nde_schedule_sigma(s, NAN)));
    /* finite queries on either side and inside still extrapolate/interpolate */
    double lam_hi = nde_schedule_lambda(s, 0.5), lam_lo = nde_schedule_lambda(s, 1.0);
    CHECK_NEAR(nde_schedule_t_of_lambda(s, lam_hi), 0.5, 1e-12);
    CHECK_NEAR(nde_schedule_t_of_lambda(s, lam_lo), 1.0, 1e-12);
    CHECK_NEAR(nde_schedule_t_of_lambda(s, nde_schedule_lambda(s, 0.75)), 0.75, 1e-12);
    CHECK(isfinite(nde_schedule_t_of_lambda(s, lam_hi + 1.0)));
    CHECK(isfinite(nde_schedule_t_of_lambda(s, lam_lo - 1.0)));

    /* samplers that invert lambda (dpmpp_sde, adaptive, singlestep) on the short table */
    static const struct { const char *sampler, *method; int order; } runs[] = {
        { "dpmpp_sde", NULL, 0 }, { "dpmsolver++_adaptive", NULL, 0 },
        { "dpmsolver++", "singlestep", 3 }, { "dpmsolver", "singlestep", 2 },
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        char eb[256] = "";
        o.errbuf = eb; o.errbuf_size = sizeof eb;
        o.sampler = runs[k].sampler; o.method = runs[k].method; o.order = runs[k].order;
        o.steps = 6; o.seed = 3;
        nde_gmm_model gm = { &MIX, s, NDE_PRED_EPS, -1, 0.0 };
        double x[4] = { 0.3, -0.7, 1.1, 0.2 };
        int rc = nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o, x, 2, 2, NULL);
        CHECK_MSG(rc == NDE_OK, "%s: %d %s", runs[k].sampler, rc, eb);
        for (int i = 0; i < 4; i++) CHECK(isfinite(x[i]));
    }
    /* a Karras grid with rho = 2.2e-308 (NaN times) is rejected before any model call */
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        if (strstr(runs[k].sampler, "adaptive")) continue;    /* no time grid */
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        o.sampler = runs[k].sampler; o.method = runs[k].method; o.order = runs[k].order;
        o.steps = 6; o.spacing = "karras"; o.rho = 2.2e-308;
        expect_rejected(s, &o, "karras' time grid");
    }
    nde_schedule_free(s);

    /* betas that stop changing log alpha: equal table entries */
    const double tiny[4] = { 0.5, 1e-17, 1e-17, 0.3 };
    CHECK(nde_schedule_vp_discrete(tiny, 4) == NULL);
    /* a table of distinct betas is fine */
    const double ok[4] = { 0.5, 1e-3, 1e-3, 0.3 };
    s = nde_schedule_vp_discrete(ok, 4);
    CHECK(s != NULL);
    nde_schedule_free(s);
}

/* 2. The schedule accessors dereferenced a NULL schedule: each returns NaN. */
static void test_defect02_null_schedule(void)
{
    CHECK(isnan(nde_schedule_log_alpha(NULL, 0.5)));
    CHECK(isnan(nde_schedule_alpha(NULL, 0.5)));
    CHECK(isnan(nde_schedule_sigma(NULL, 0.5)));
    CHECK(isnan(nde_schedule_lambda(NULL, 0.5)));
    CHECK(isnan(nde_schedule_t_of_lambda(NULL, 0.5)));
    CHECK(isnan(nde_schedule_model_time(NULL, 0.5)));
    CHECK(isnan(nde_schedule_time_of_model_time(NULL, 0.5)));
    CHECK(isnan(nde_schedule_t_max(NULL)));
    CHECK(isnan(nde_schedule_t_min(NULL)));
    CHECK(nde_schedule_name(NULL) == NULL);
    nde_schedule_free(NULL);
    /* a ve schedule whose sigma ratio overflows would be NaN everywhere: rejected */
    CHECK(nde_schedule_ve(1e-300, 1e300) == NULL);
    CHECK(nde_schedule_ve(5e-324, 1.0) == NULL);
    /* a NaN argument gives NaN from every accessor of every kind */
    const double b[3] = { 0.1, 0.2, 0.3 };
    nde_schedule *all[6] = { nde_schedule_vp_linear(0.1, 20.0), nde_schedule_vp_cosine(0.008),
                             nde_schedule_vp_discrete(b, 3), nde_schedule_ve(0.01, 50.0),
                             nde_schedule_edm(0.002, 80.0), NULL };
    const double b2[2] = { 0.1, 0.2 };
    all[5] = nde_schedule_vp_discrete(b2, 2);
    for (int k = 0; k < 6; k++) {
        const nde_schedule *s = all[k];
        CHECK(s != NULL);
        CHECK(isnan(nde_schedule_log_alpha(s, NAN)));
        CHECK(isnan(nde_schedule_alpha(s, NAN)));
        CHECK(isnan(nde_schedule_sigma(s, NAN)));
        CHECK(isnan(nde_schedule_lambda(s, NAN)));
        CHECK(isnan(nde_schedule_t_of_lambda(s, NAN)));
        CHECK(isnan(nde_schedule_model_time(s, NAN)));
        CHECK(isnan(nde_schedule_time_of_model_time(s, NAN)));
        nde_schedule_free(all[k]);
    }
}

/* 3. n * sizeof wrapped in the discrete constructors: NULL, nothing allocated, the
 * table not read. */
static void test_defect03_discrete_size_overflow(void)
{
    const double b[2] = { 0.1, 0.2 }, acp[2] = { 0.9, 0.8 };
    const size_t huge[] = { SIZE_MAX / 8 + 2, SIZE_MAX / 16 + 1, SIZE_MAX, SIZE_MAX / 2 };
    test_alloc ta;
    test_alloc_init(&ta);
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        CHECK(nde_schedule_vp_discrete(b, huge[i]) == NULL);
        CHECK(nde_schedule_vp_discrete_alphas_cumprod(acp, huge[i]) == NULL);
        CHECK(nde_schedule_vp_discrete_ex(b, huge[i], &ta.a) == NULL);
        CHECK(nde_schedule_vp_discrete_alphas_cumprod_ex(acp, huge[i], &ta.a) == NULL);
    }
    CHECK_EQ_INT(ta.calls, 0);
    CHECK_EQ_INT(ta.live, 0);
    /* huge but representable: the allocation fails before the table is read */
    capped cp;
    capped_init(&cp, (size_t)1 << 30);
    CHECK(nde_schedule_vp_discrete_ex(b, (size_t)1 << 40, &cp.a) == NULL);
    CHECK(nde_schedule_vp_discrete_alphas_cumprod_ex(acp, (size_t)1 << 40, &cp.a) == NULL);
    CHECK_EQ_INT(cp.live, 0);
}

/* 4. nde_gmm_predict with both outputs NULL, dim > 64, n >= 2 wrote through NULL. */
static void test_defect04_predict_no_outputs(void)
{
    enum { D = 70, N = 3 };
    double w[1] = { 1.0 }, mu[D], sd[D], x[N * D], e1[N * D], e2[N * D], x0[N * D];
    for (int j = 0; j < D; j++) { mu[j] = 0.01 * j; sd[j] = 0.5 + 0.001 * j; }
    for (int i = 0; i < N * D; i++) x[i] = sin(0.1 * i);
    nde_gmm g = { D, 1, w, mu, sd };
    CHECK_EQ_INT(nde_gmm_predict(&g, -1, 0.8, 0.6, x, N, NULL, NULL), NDE_OK);
    /* eps alone (computed through the eps buffer) equals eps with x0 */
    CHECK_EQ_INT(nde_gmm_predict(&g, -1, 0.8, 0.6, x, N, e1, NULL), NDE_OK);
    CHECK_EQ_INT(nde_gmm_predict(&g, -1, 0.8, 0.6, x, N, e2, x0), NDE_OK);
    for (int i = 0; i < N * D; i++) CHECK_NEAR(e1[i], e2[i], 1e-14);
}

/* ---- contract and robustness --------------------------------------------------- */

/* 6. An unknown prediction kind wrote into out before NDE_EINVAL: now nothing is written. */
static void test_defect06_denoiser_bad_kind(void)
{
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    double x[4] = { 0.1, 0.2, 0.3, 0.4 }, out[4] = { 7, 7, 7, 7 };
    const int kinds[] = { -1, 5, 99, INT_MIN, INT_MAX };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        nde_gmm_model gm = { &MIX, s, kinds[k], -1, 0.0 };
        CHECK_EQ_INT(nde_gmm_denoiser(x, 0.5, 2, 2, out, &gm), NDE_EINVAL);
        CHECK(all_equal(out, 7, 4));
    }
    /* bad component, dim mismatch, model time outside the schedule: untouched too */
    nde_gmm_model gm = { &MIX, s, NDE_PRED_EPS, 2, 0.0 };
    CHECK_EQ_INT(nde_gmm_denoiser(x, 0.5, 2, 2, out, &gm), NDE_EINVAL);
    gm.component = -1;
    CHECK_EQ_INT(nde_gmm_denoiser(x, 0.5, 1, 4, out, &gm), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_denoiser(x, NAN, 2, 2, out, &gm), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_denoiser(x, 1e6, 2, 2, out, &gm), NDE_EINVAL);
    CHECK(all_equal(out, 7, 4));
    CHECK_EQ_INT(nde_gmm_denoiser(x, 0.5, 2, 2, out, &gm), NDE_OK);
    nde_schedule_free(s);
}

/* 7. nde_diffusion_plan for dpm2_ancestral / dpmpp_2s_ancestral walked the grid of up
 * to INT_MAX - 2 steps (minutes): steps are bounded, the walk of the largest accepted
 * count takes well under a second. */
static void test_defect07_plan_bounded(void)
{
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    const char *names[] = { "dpm2_ancestral", "dpmpp_2s_ancestral" };
    for (int k = 0; k < 2; k++) {
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        char eb[256] = "";
        o.errbuf = eb; o.errbuf_size = sizeof eb;
        o.sampler = names[k];
        o.steps = INT_MAX - 2;
        size_t nfe = 0;
        clock_t c0 = clock();
        CHECK_EQ_INT(nde_diffusion_plan(s, &o, NULL, &nfe), NDE_EINVAL);
        CHECK_MSG(strstr(eb, "steps must be <= 1000000") != NULL, "'%s'", eb);
        o.steps = 1000001;
        CHECK_EQ_INT(nde_diffusion_plan(s, &o, NULL, &nfe), NDE_EINVAL);
        o.steps = 1000000;
        CHECK_EQ_INT(nde_diffusion_plan(s, &o, NULL, &nfe), NDE_OK);
        double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
        CHECK_EQ_INT(nfe, 2000000);          /* eta 1: no step has sigma_down = 0 */
        CHECK_MSG(secs < 10.0, "%s: plan of 1e6 steps took %.2f s", names[k], secs);
        printf("    %s: plan of 1e6 steps in %.3f s\n", names[k], secs);
    }
    nde_schedule_free(s);
}

/* 10. The mixture accepted alpha = sigma = 0, alpha = Inf (log density, classify,
 * sample), t_from = Inf (exact flow) and an EDM c_noise that overflows sigma, with
 * NDE_OK and NaN results: now NDE_EINVAL, nothing written. So are points whose squared
 * distances overflow. */
static void test_defect10_mixture_levels(void)
{
    double x[4] = { 0.1, 0.2, 0.3, 0.4 }, out[2] = { 7, 7 }, xs[4];
    int lab[2] = { 7, 7 };
    const double bad[][2] = { { 0, 0 }, { INFINITY, 0.5 }, { 0.5, INFINITY }, { NAN, 0.5 },
                              { 0.5, NAN }, { -1, 0.5 }, { 0.5, -1 }, { 1e200, 0.5 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double a = bad[i][0], s = bad[i][1];
        CHECK_EQ_INT(nde_gmm_log_density(&MIX, a, s, x, 2, out), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_classify(&MIX, a, s, x, 2, lab), NDE_EINVAL);
        for (int j = 0; j < 4; j++) xs[j] = 7;
        CHECK_EQ_INT(nde_gmm_sample(&MIX, a, s, 1, 2, xs, lab), NDE_EINVAL);
        CHECK(all_equal(xs, 7, 4));
        CHECK_EQ_INT(nde_gmm_predict(&MIX, -1, a, s, x, 2, xs, NULL), NDE_EINVAL);
        CHECK(all_equal(xs, 7, 4));
    }
    CHECK(all_equal(out, 7, 2));
    CHECK(lab[0] == 7 && lab[1] == 7);
    /* sigma = 0 with a zero-spread axis has no density; positive spread has one */
    const double sd0[4] = { 0.0, 0.4, 0.5, 0.2 };
    nde_gmm g0 = { 2, 2, W2, MU2, sd0 };
    CHECK_EQ_INT(nde_gmm_log_density(&g0, 1.0, 0.0, x, 2, out), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_log_density(&MIX, 1.0, 0.0, x, 2, out), NDE_OK);
    CHECK(isfinite(out[0]) && isfinite(out[1]));

    /* points that are not finite, or so large that a squared distance overflows (the
     * log-sum-exp then had no finite term: NaN with NDE_OK) */
    nde_schedule *vp = nde_schedule_vp_linear(0.1, 20.0);
    nde_gmm_model gx = { &MIX, vp, NDE_PRED_EPS, -1, 0.0 };
    const double xbad[] = { NAN, INFINITY, 1e160, -1e200 };
    for (size_t i = 0; i < sizeof xbad / sizeof xbad[0]; i++) {
        double xb[4] = { 0.1, xbad[i], 0.3, 0.4 }, o4b[4] = { 7, 7, 7, 7 };
        out[0] = out[1] = 7;
        lab[0] = lab[1] = 7;
        CHECK_EQ_INT(nde_gmm_log_density(&MIX, 0.8, 0.6, xb, 2, out), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_classify(&MIX, 0.8, 0.6, xb, 2, lab), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_predict(&MIX, -1, 0.8, 0.6, xb, 2, o4b, NULL), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_denoiser(xb, 0.5, 2, 2, o4b, &gx), NDE_EINVAL);
        CHECK(all_equal(out, 7, 2) && lab[0] == 7 && lab[1] == 7 && all_equal(o4b, 7, 4));
    }
    /* outputs that would overflow: eps* ~ 1/sigma, the score ~ 1/sigma^2 */
    {
        double xb[4] = { 3.0, 0.2, 0.3, 0.4 }, o4b[4] = { 7, 7, 7, 7 };
        CHECK_EQ_INT(nde_gmm_predict(&MIX, -1, 0.8, 1e-308, xb, 2, o4b, NULL), NDE_EINVAL);
        CHECK(all_equal(o4b, 7, 4));
        CHECK_EQ_INT(nde_gmm_predict(&MIX, -1, 0.8, 1e-308, xb, 2, NULL, o4b), NDE_OK);
        CHECK(isfinite(o4b[0]) && isfinite(o4b[3]));
        nde_gmm_model gs = { &MIX, vp, NDE_PRED_SCORE, -1, 0.0 };
        double t_tiny = nde_schedule_model_time(vp, 1e-318);    /* sigma ~ 3e-160 */
        for (int j = 0; j < 4; j++) o4b[j] = 7;
        CHECK_EQ_INT(nde_gmm_denoiser(xb, t_tiny, 2, 2, o4b, &gs), NDE_EINVAL);
        CHECK(all_equal(o4b, 7, 4));
    }
    double xl[4] = { 0.1, 1e100, 0.3, 0.4 };   /* large but representable: finite */
    CHECK_EQ_INT(nde_gmm_log_density(&MIX, 0.8, 0.6, xl, 2, out), NDE_OK);
    CHECK_MSG(isfinite(out[0]) && out[0] < -1e199, "log p = %g", out[0]);
    nde_schedule_free(vp);

    /* flows: non-finite or out-of-domain times */
    nde_schedule *lin = nde_schedule_vp_linear(0.1, 20.0);
    const double one_w[1] = { 1.0 };
    nde_gmm one = { 2, 1, one_w, MU2, SD2 };
    const double tbad[] = { INFINITY, NAN, 1e6, -0.5, 0.0 };
    for (size_t i = 0; i < sizeof tbad / sizeof tbad[0]; i++) {
        for (int j = 0; j < 4; j++) xs[j] = 7;
        CHECK_EQ_INT(nde_gmm_flow_exact(&one, lin, tbad[i], 0.5, xs, 2), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_flow_exact(&one, lin, 0.5, tbad[i], xs, 2), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_flow(&MIX, lin, tbad[i], 0.5, 4, xs, 2), NDE_EINVAL);
        CHECK_EQ_INT(nde_gmm_flow(&MIX, lin, 0.5, tbad[i], 4, xs, 2), NDE_EINVAL);
        CHECK(all_equal(xs, 7, 4));
    }

    /* the reference flow: non-finite x is rejected; RK4 far too coarse for the lambda
     * range overflows: NDE_ENONFINITE, x untouched */
    {
        nde_schedule *edm = nde_schedule_edm(0.002, 80.0);
        double xf[4] = { 0.1, NAN, 0.3, 0.4 };
        CHECK_EQ_INT(nde_gmm_flow(&MIX, lin, 0.9, 0.5, 4, xf, 2), NDE_EINVAL);
        double xo[4] = { 1e250, -1e250, 3e250, 1e250 }, xk[4];
        memcpy(xk, xo, sizeof xo);
        CHECK_EQ_INT(nde_gmm_flow(&MIX, edm, 1e300, 0.01, 1, xo, 2), NDE_ENONFINITE);
        CHECK(memcmp(xo, xk, sizeof xo) == 0);
        nde_schedule_free(edm);
    }

    /* EDM denoiser: c_noise = log(st)/4 with st overflowing or underflowing */
    nde_gmm_model gm = { &MIX, NULL, NDE_PRED_EDM, -1, 0.0 };
    double o4[4] = { 7, 7, 7, 7 };
    const double cn[] = { 200.0, 1e300, -200.0, INFINITY, -INFINITY, NAN };
    for (size_t i = 0; i < sizeof cn / sizeof cn[0]; i++) {
        CHECK_EQ_INT(nde_gmm_denoiser(x, cn[i], 2, 2, o4, &gm), NDE_EINVAL);
        CHECK(all_equal(o4, 7, 4));
    }
    CHECK_EQ_INT(nde_gmm_denoiser(x, 0.25, 2, 2, o4, &gm), NDE_OK);
    for (int j = 0; j < 4; j++) CHECK(isfinite(o4[j]));
    nde_schedule_free(lin);
}

/* 11. Validation passed inputs that failed later (NDE_ENONFINITE after model calls):
 * Karras rho so extreme that the grid is NaN or constant, an adaptive h_init that jumps
 * past t_end, t_end one ULP below t_start. Now rejected before any model call. */
static void test_defect11_validation_up_front(void)
{
    nde_schedule *lin = nde_schedule_vp_linear(0.1, 20.0);
    nde_schedule *edm = nde_schedule_edm(0.002, 80.0);
    const double rhos[] = { 1e-300, 1e300, 2.2e-308 };
    for (int k = 0; k < 3; k++) {
        for (int e = 0; e < 2; e++) {
            nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
            o.spacing = "karras"; o.rho = rhos[k]; o.steps = 10;
            o.sampler = e ? "euler" : "dpmsolver++";
            expect_rejected(e ? edm : lin, &o, "karras' time grid (rho =");
        }
    }
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    o.sampler = "dpmsolver++_adaptive"; o.h_init = 1e300;
    expect_rejected(lin, &o, "h_init = 1e+300");
    o = (nde_sampler_options)NDE_SAMPLER_OPTIONS_INIT;
    o.sampler = "dpmsolver_adaptive"; o.h_init = INFINITY;
    expect_rejected(lin, &o, "h_init");
    /* t_end = t_start - 1 ULP: zero-length steps */
    const char *names[] = { "dpmsolver++", "unipc", "deis", "lms", "heun", "euler_ancestral",
                            "dpmpp_sde", "ddim" };
    for (int k = 0; k < 8; k++) {
        o = (nde_sampler_options)NDE_SAMPLER_OPTIONS_INIT;
        o.sampler = names[k];
        o.t_start = 0.5; o.t_end = nextafter(0.5, 0.0); o.steps = 4;
        expect_rejected(lin, &o, "time grid");
        o.spacing = "logsnr";
        expect_rejected(lin, &o, "time grid");
    }
    /* singlestep: a fine grid that passes, but a step whose inner sub-grid point does
     * not advance lambda (r1 = 0 or 1 would divide by zero in the update) */
    o = (nde_sampler_options)NDE_SAMPLER_OPTIONS_INIT;
    o.sampler = "dpmsolver++"; o.method = "singlestep"; o.order = 2; o.steps = 3;
    o.spacing = "logsnr"; o.t_start = 0.017; o.t_end = 0.017;
    for (int i = 0; i < 9; i++) o.t_end = nextafter(o.t_end, 0.0);
    expect_rejected(lin, &o, "singlestep step 1 of 2 (order 2)");
    /* adaptive with t_err below the resolution of t near t_end: it stops where lambda
     * reaches lambda(t_end) (it took steps of h = 0 until max_steps, or with rounding
     * past t_end a negative h that ended at t = Inf) */
    nde_schedule *edm2 = nde_schedule_edm(0.002, 80.0);
    const nde_schedule *ad_s[2] = { lin, edm2 };
    for (int k = 0; k < 2; k++)
        for (int ord = 2; ord <= 3; ord++) {
            nde_sampler_options oa = NDE_SAMPLER_OPTIONS_INIT;
            char eb[256] = "";
            oa.errbuf = eb; oa.errbuf_size = sizeof eb;
            oa.sampler = "dpmsolver++_adaptive"; oa.order = ord; oa.t_err = 1e-300;
            nde_gmm_model gm = { &MIX, ad_s[k], NDE_PRED_EPS, -1, 0.0 };
            double x[4] = { 0.1, 0.2, 0.3, 0.4 };
            nde_stats st;
            int rc = nde_diffusion_sample(ad_s[k], nde_gmm_denoiser, NDE_PRED_EPS, &gm, &oa, x,
                                          2, 2, &st);
            CHECK_MSG(rc == NDE_OK, "schedule %d order %d: %d %s", k, ord, rc, eb);
            CHECK_MSG(st.steps < 1000, "schedule %d order %d: %zu steps", k, ord, st.steps);
            for (int i = 0; i < 4; i++) CHECK(isfinite(x[i]));
        }
    nde_schedule_free(edm2);
    /* the same sampler with a usable grid runs */
    o = (nde_sampler_options)NDE_SAMPLER_OPTIONS_INIT;
    o.spacing = "karras"; o.rho = 3.0; o.steps = 8;
    size_t nfe = 0;
    CHECK_EQ_INT(nde_diffusion_plan(lin, &o, NULL, &nfe), NDE_OK);
    CHECK_EQ_INT(nfe, 8);
    nde_schedule_free(lin);
    nde_schedule_free(edm);
}

/* ---- fuzzer findings beyond issue 7 -------------------------------------------- */

/* F4. vp_linear's t_of_lambda formed b0^2 + 2 (b1 - b0) L, which overflowed for betas
 * above ~1e154 (t_of_lambda(lambda(1e-3)) was 0 for b0 = b1 = 1e200) and underflowed
 * below ~1e-154 (2e117 for (5e-324, 1e-200)). Oracle: the round trip t -> lambda -> t
 * over [t_min, t_max] for pairs of betas across the whole accepted range, within a few
 * ULP times the inverse's condition (1 + |lambda|), wherever log alpha(t) is a normal
 * number (a subnormal one has too few bits for lambda(t) itself); t_of_lambda
 * non-increasing over lambda in [-1e3, 1e3]; for b0 = 0 and lambda far beyond the
 * forward range (L = e^(-2 lambda) subnormal or 0 in double) the closed form
 * t = e^-lambda sqrt(2/b1). */
static void test_findingF4_vp_linear_inverse(void)
{
    const double betas[] = { 0.0, 5e-324, 1e-310, 1e-300, 1e-200, 1e-155, 1e-150, 1e-3,
                             0.1, 1.0, 20.0, 1e150, 1e155, 1e200, 1e300, DBL_MAX };
    const int nb = (int)(sizeof betas / sizeof betas[0]);
    double worst = 0.0;
    int pairs = 0, points = 0;
    for (int i = 0; i < nb; i++)
        for (int j = i; j < nb; j++) {
            double b0 = betas[i], b1 = betas[j];
            if (!(b1 > 0)) continue;
            nde_schedule *s = nde_schedule_vp_linear(b0, b1);
            CHECK_MSG(s != NULL, "vp_linear(%g, %g) refused", b0, b1);
            if (!s) continue;
            pairs++;
            double t0 = nde_schedule_t_min(s), t1 = nde_schedule_t_max(s);
            for (int q = 0; q <= 64; q++) {
                /* log-spaced near t_min, then uniform */
                double t = q <= 32 ? t0 * pow(t1 / t0, q / 32.0)
                                   : t0 + (t1 - t0) * (q - 32) / 32.0;
                double la = nde_schedule_log_alpha(s, t);
                if (!(fabs(la) >= DBL_MIN)) continue;
                double lam = nde_schedule_lambda(s, t), back = nde_schedule_t_of_lambda(s, lam);
                CHECK_MSG(isfinite(lam), "(%g, %g): lambda(%.17g) = %g", b0, b1, t, lam);
                double err = fabs(back - t) / t / (DBL_EPSILON * (1.0 + fabs(lam)));
                CHECK_MSG(err <= 16.0, "(%g, %g): t_of_lambda(lambda(%.17g) = %.17g) = %.17g",
                          b0, b1, t, lam, back);
                if (err > worst) worst = err;
                points++;
            }
            double prev = INFINITY;
            for (int q = 0; q <= 2000; q++) {
                double l = -1e3 + q, t = nde_schedule_t_of_lambda(s, l);
                CHECK_MSG(t >= 0 && t <= prev, "(%g, %g): t_of_lambda(%g) = %g after %g", b0, b1,
                          l, t, prev);
                prev = t;
            }
            CHECK(nde_schedule_t_of_lambda(s, INFINITY) == 0.0);
            CHECK(nde_schedule_t_of_lambda(s, -INFINITY) == INFINITY);
            CHECK(isnan(nde_schedule_t_of_lambda(s, NAN)));
            nde_schedule_free(s);
        }
    CHECK(pairs == nb * (nb - 1) / 2 + nb - 1);
    CHECK(points > 8000);
    printf("    F4 round trip: %d beta pairs, %d points, worst %.2f eps (1 + |lambda|)\n",
           pairs, points, worst);
    /* the two recorded reproducers */
    const double finding[2][2] = { { 1e200, 1e200 }, { 5e-324, 1e-200 } };
    for (int k = 0; k < 2; k++) {
        nde_schedule *s = nde_schedule_vp_linear(finding[k][0], finding[k][1]);
        double back = nde_schedule_t_of_lambda(s, nde_schedule_lambda(s, 1e-3));
        CHECK_MSG(fabs(back - 1e-3) <= 1e-12, "(%g, %g): %.17g", finding[k][0], finding[k][1],
                  back);
        nde_schedule_free(s);
    }
    /* lambda beyond ~354: L = log(1 + e^(-2 lambda)) is subnormal or 0 in double */
    nde_schedule *s = nde_schedule_vp_linear(0.0, 20.0);
    for (double l = 300; l <= 700; l += 50) {
        double want = exp(-l) * sqrt(2.0 / 20.0);
        CHECK_NEAR(nde_schedule_t_of_lambda(s, l) / want, 1.0, 64 * DBL_EPSILON * l);
    }
    nde_schedule_free(s);
}

/* F5. nde_diffusion_timesteps returned NDE_OK with repeated times on a discrete table
 * whose first beta is tiny (6e-74: lambda(t_end) = 84): a logSNR grid maps most of its
 * lambdas to t_end = 1/N. Every entry point that returns or uses the grid refuses it,
 * before any model call, with the grid in the message and nothing written: timesteps
 * (ts and n_out), plan and sample (x, stats), multistep and singlestep alike. A
 * uniform-in-t grid on the same table has distinct times and is accepted. The
 * reference flow's lambda grid on the table is exact. */
static void test_findingF5_repeated_grid_times(void)
{
    enum { N = 1000 };
    static double betas[N];
    betas[0] = 6.112583388706783e-74;
    for (int i = 1; i < N; i++) betas[i] = 1e-4 + (0.02 - 1e-4) * i / (N - 1.0);
    nde_schedule *s = nde_schedule_vp_discrete(betas, N);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_NEAR(nde_schedule_lambda(s, nde_schedule_t_min(s)), 84.29, 0.01);
    const char *names[] = { "dpmsolver++", "dpmsolver", "unipc", "deis", "ddim", "euler",
                            "heun", "dpmpp_2m", "ipndm", "lms" };
    for (int k = 0; k < 10; k++)
        for (int ms = 0; ms < 2; ms++)
            for (int steps = 4; steps <= 40; steps += 12) {
                nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
                char eb[512] = "";
                o.sampler = names[k]; o.multistep = ms; o.steps = steps; o.spacing = "logsnr";
                o.errbuf = eb; o.errbuf_size = sizeof eb;
                double ts[64];
                size_t n_out = 77;
                for (int i = 0; i < 64; i++) ts[i] = -1.0;
                int rc = nde_diffusion_timesteps(s, &o, ts, 64, &n_out);
                CHECK_MSG(rc == NDE_EINVAL, "%s multistep %d steps %d: %d", names[k], ms, steps,
                          rc);
                CHECK_MSG(strstr(eb, "'logsnr' time grid") != NULL, "%s: message '%s'", names[k],
                          eb);
                CHECK(n_out == 77 && all_equal(ts, -1.0, 64));
                expect_rejected(s, &o, "'logsnr' time grid");
            }
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    o.spacing = "time_uniform"; o.steps = 20;
    double ts[21];
    size_t n_out = 0;
    CHECK_EQ_INT(nde_diffusion_timesteps(s, &o, ts, 21, &n_out), NDE_OK);
    CHECK_EQ_INT(n_out, 21);
    for (size_t i = 1; i < n_out; i++) CHECK(ts[i] < ts[i - 1]);
    /* nde_gmm_flow integrates on a uniform lambda grid; its nodes went through t(lambda)
     * and back, so on this table most of them collapsed onto t_end with the wrong
     * lambda (NDE_OK with x ~ 1e-27). Nodes now come from lambda itself: against the
     * closed-form flow of one component it converges at RK4's order (4^4 = 256 per
     * 4x steps; the lambda range is -5 .. 84). */
    static const double w1[1] = { 1.0 }, mu1[2] = { 0.5, -1.0 }, sd1[2] = { 0.3, 0.7 };
    const nde_gmm one = { 2, 1, w1, mu1, sd1 };
    double exact[2] = { 0.7, -0.4 }, err[2];
    CHECK_EQ_INT(nde_gmm_flow_exact(&one, s, 1.0, nde_schedule_t_min(s), exact, 1), NDE_OK);
    for (int k = 0; k < 2; k++) {
        double x[2] = { 0.7, -0.4 };
        CHECK_EQ_INT(nde_gmm_flow(&one, s, 1.0, nde_schedule_t_min(s), k ? 2560 : 640, x, 1),
                     NDE_OK);
        err[k] = fmax(fabs(x[0] - exact[0]), fabs(x[1] - exact[1]));
    }
    CHECK_MSG(err[1] < 1e-5 && err[0] / err[1] > 100, "flow errors %g (640), %g (2560)", err[0],
              err[1]);
    nde_schedule_free(s);
}

/* ---- SIZE_MAX-scale counts ---------------------------------------------------- */

static void test_size_max_counts(void)
{
    nde_schedule *lin = nde_schedule_vp_linear(0.1, 20.0);
    capped cp;
    capped_init(&cp, (size_t)1 << 30);
    char eb[256];
    double x[8] = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8 }, keep[8];
    memcpy(keep, x, sizeof x);
    nde_gmm_model gm = { &MIX, lin, NDE_PRED_EPS, -1, 0.0 };

    /* sampling: batch x dim overflowing; huge but representable (the allocation fails
     * before x is read); the model is never called, x untouched */
    static const struct { size_t batch, dim; int rc; } bd[] = {
        { SIZE_MAX, 2, NDE_EINVAL }, { 2, SIZE_MAX, NDE_EINVAL },
        { SIZE_MAX / 2 + 1, 2, NDE_EINVAL }, { (size_t)1 << 32, (size_t)1 << 32, NDE_EINVAL },
        { (size_t)1 << 39, (size_t)1 << 20, NDE_ENOMEM },    /* bytes overflow */
        { (size_t)1 << 30, (size_t)1 << 10, NDE_ENOMEM },    /* the allocator refuses */
    };
    for (size_t i = 0; i < sizeof bd / sizeof bd[0]; i++) {
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        o.errbuf = eb; o.errbuf_size = sizeof eb; o.allocator = &cp.a;
        eb[0] = '\0';
        calls = 0;
        int rc = nde_diffusion_sample(lin, counting_model, NDE_PRED_EPS, &gm, &o, x, bd[i].batch,
                                      bd[i].dim, NULL);
        CHECK_MSG(rc == bd[i].rc, "batch %zu dim %zu: %d (%s)", bd[i].batch, bd[i].dim, rc, eb);
        CHECK_MSG(eb[0] != '\0', "batch %zu dim %zu: no message", bd[i].batch, bd[i].dim);
        CHECK_EQ_INT(calls, 0);
        CHECK(memcmp(x, keep, sizeof x) == 0);
    }
    CHECK_EQ_INT(cp.live, 0);

    /* steps and custom grids of SIZE_MAX scale */
    double ts[4];
    size_t n_out = 99;
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    o.errbuf = eb; o.errbuf_size = sizeof eb;
    o.spacing = "custom"; o.timesteps = ts; o.n_timesteps = SIZE_MAX; o.steps = 0;
    CHECK_EQ_INT(nde_diffusion_timesteps(lin, &o, ts, 4, &n_out), NDE_EINVAL);
    CHECK(strstr(eb, "too large") != NULL);
    o.n_timesteps = SIZE_MAX / 2;
    CHECK_EQ_INT(nde_diffusion_plan(lin, &o, NULL, NULL), NDE_EINVAL);
    o = (nde_sampler_options)NDE_SAMPLER_OPTIONS_INIT;
    o.errbuf = eb; o.errbuf_size = sizeof eb;
    o.steps = INT_MAX;
    CHECK_EQ_INT(nde_diffusion_timesteps(lin, &o, ts, SIZE_MAX, &n_out), NDE_EINVAL);
    CHECK_EQ_INT(n_out, 99);
    o.steps = 3;
    CHECK_EQ_INT(nde_diffusion_timesteps(lin, &o, ts, SIZE_MAX, &n_out), NDE_OK);
    CHECK_EQ_INT(n_out, 4);

    /* the mixture: counts whose element count overflows */
    double out[4] = { 7, 7, 7, 7 };
    int lab[4] = { 7, 7, 7, 7 };
    CHECK_EQ_INT(nde_gmm_predict(&MIX, -1, 0.8, 0.6, x, SIZE_MAX, out, NULL), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_predict(&MIX, -1, 0.8, 0.6, x, SIZE_MAX / 2 + 1, NULL, out), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_log_density(&MIX, 0.8, 0.6, x, SIZE_MAX, out), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_classify(&MIX, 0.8, 0.6, x, SIZE_MAX, lab), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_sample(&MIX, 0.8, 0.6, 1, SIZE_MAX, out, lab), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_denoiser(x, 0.5, SIZE_MAX, 2, out, &gm), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_flow_exact(&MIX, lin, 0.9, 0.5, out, SIZE_MAX), NDE_EINVAL);
    CHECK_EQ_INT(nde_gmm_flow(&MIX, lin, 0.9, 0.5, 4, out, SIZE_MAX), NDE_EINVAL);
    CHECK(all_equal(out, 7, 4));
    CHECK(lab[0] == 7 && lab[3] == 7);
    /* a mixture whose k x dim overflows (its arrays are never read) */
    nde_gmm huge = { SIZE_MAX / 2, 4, W2, MU2, SD2 };
    CHECK_EQ_INT(nde_gmm_log_density(&huge, 0.8, 0.6, x, 1, out), NDE_EINVAL);
    huge.dim = 2; huge.k = SIZE_MAX;
    CHECK_EQ_INT(nde_gmm_predict(&huge, -1, 0.8, 0.6, x, 1, out, NULL), NDE_EINVAL);
    CHECK(all_equal(out, 7, 4));
    /* the reference flow's workspace: steps of INT_MAX need ~2^38 bytes */
    CHECK_EQ_INT(nde_gmm_flow_ex(&MIX, lin, 0.9, 0.5, INT_MAX, out, 2, &cp.a), NDE_ENOMEM);
    CHECK(all_equal(out, 7, 4));
    CHECK_EQ_INT(cp.live, 0);

    /* constructors: the discrete ones take a count (the others take no size) */
    const double b[2] = { 0.1, 0.2 };
    CHECK(nde_schedule_vp_discrete(b, SIZE_MAX) == NULL);
    CHECK(nde_schedule_vp_discrete_alphas_cumprod(b, SIZE_MAX) == NULL);
    CHECK(nde_sampler_at(SIZE_MAX) == NULL);
    CHECK(nde_sampler_at(nde_sampler_count()) == NULL);
    nde_schedule_free(lin);
}

/* ---- allocation through nde_allocator, failure injected at every allocation ---- */

static nde_schedule *make(int kind, const nde_allocator *a)
{
    static const double betas[6] = { 0.01, 0.05, 0.1, 0.2, 0.3, 0.4 };
    static const double acp[5] = { 0.99, 0.9, 0.7, 0.5, 0.3 };
    switch (kind) {
    case 0: return nde_schedule_vp_linear_ex(0.1, 20.0, a);
    case 1: return nde_schedule_vp_cosine_ex(0.008, a);
    case 2: return nde_schedule_vp_discrete_ex(betas, 6, a);
    case 3: return nde_schedule_vp_discrete_alphas_cumprod_ex(acp, 5, a);
    case 4: return nde_schedule_ve_ex(0.01, 50.0, a);
    default: return nde_schedule_edm_ex(0.002, 80.0, a);
    }
}

static void test_allocation_failure(void)
{
    for (int kind = 0; kind < 6; kind++) {
        /* every byte goes through the allocator; the plain constructor gives the same */
        test_alloc ta;
        test_alloc_init(&ta);
        nde_schedule *s = make(kind, &ta.a);
        CHECK(s != NULL);
        size_t need = ta.calls;
        CHECK(need >= 1);
        CHECK(ta.live >= 1);
        nde_schedule *ref = make(kind, NULL);
        CHECK_EQ_INT(nde_schedule_lambda(s, 0.5) == nde_schedule_lambda(ref, 0.5), 1);
        CHECK_EQ_INT(nde_schedule_t_of_lambda(s, 0.3) == nde_schedule_t_of_lambda(ref, 0.3), 1);
        nde_schedule_free(ref);
        nde_schedule_free(s);
        CHECK_EQ_INT(ta.live, 0);
        CHECK_EQ_INT(ta.live_bytes, 0);
        /* fail the N-th allocation for every N: NULL, nothing leaked */
        for (size_t n = 1; n <= need; n++) {
            test_alloc_init(&ta);
            ta.fail_at = n;
            CHECK_MSG(make(kind, &ta.a) == NULL, "kind %d, failing allocation %zu", kind, n);
            CHECK_EQ_INT(ta.live, 0);
        }
    }

    /* the reference flow */
    nde_schedule *lin = nde_schedule_vp_linear(0.1, 20.0);
    double x[4] = { 0.5, -0.3, 1.2, 0.1 }, y[4], z[4];
    memcpy(y, x, sizeof x);
    memcpy(z, x, sizeof x);
    test_alloc ta;
    test_alloc_init(&ta);
    CHECK_EQ_INT(nde_gmm_flow_ex(&MIX, lin, 0.9, 0.2, 16, y, 2, &ta.a), NDE_OK);
    size_t need = ta.calls;
    CHECK_EQ_INT(need, 1);
    CHECK_EQ_INT(ta.live, 0);
    CHECK_EQ_INT(nde_gmm_flow(&MIX, lin, 0.9, 0.2, 16, z, 2), NDE_OK);
    CHECK(memcmp(y, z, sizeof y) == 0);
    for (size_t n = 1; n <= need; n++) {
        test_alloc_init(&ta);
        ta.fail_at = n;
        memcpy(y, x, sizeof x);
        CHECK_EQ_INT(nde_gmm_flow_ex(&MIX, lin, 0.9, 0.2, 16, y, 2, &ta.a), NDE_ENOMEM);
        CHECK(memcmp(y, x, sizeof x) == 0);
        CHECK_EQ_INT(ta.live, 0);
    }
    nde_schedule_free(lin);
}

int main(void)
{
    RUN(test_defect01_interp_nan);
    RUN(test_defect02_null_schedule);
    RUN(test_defect03_discrete_size_overflow);
    RUN(test_defect04_predict_no_outputs);
    RUN(test_defect06_denoiser_bad_kind);
    RUN(test_defect07_plan_bounded);
    RUN(test_defect10_mixture_levels);
    RUN(test_defect11_validation_up_front);
    RUN(test_findingF4_vp_linear_inverse);
    RUN(test_findingF5_repeated_grid_times);
    RUN(test_size_max_counts);
    RUN(test_allocation_failure);
    return test_summary();
}
