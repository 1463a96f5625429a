/* Slow diffusion checks (label slow): distribution tests of every stochastic sampler
 * with the exact mixture density at n = 50 000, and endpoint-error convergence of every
 * deterministic sampler and order on the mixture up to NFE 320 (well-conditioned starts).
 *
 * Distribution test (samplers.md 4.6b): starts drawn from the exact p_T, independent
 * noise (seeded); statistics against exact draws from p_{t_end}:
 *   mode occupancy  chi^2 with 2 dof against the mixture weights, at significance 1e-3
 *                   (chi^2 < 13.8), at NFE 400;
 *   log-density gap mean exact log p of the samples minus that of exact samples, with
 *                   the combined standard error se; at NFE 400 |gap| < 4 se + 0.02 (the
 *                   allowance covers the discretisation bias measured at NFE 400, see
 *                   the printed table), and the gap shrinks from NFE 100 to 400 unless
 *                   both are within 4 se. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "nde/diffusion.h"

static const double MIX_W[3] = { 0.5, 0.3, 0.2 };
static const double MIX_MU[6] = { -2, 0, 2, 0, 0, 2.5 };
static const double MIX_SD[6] = { 0.3, 0.5, 0.5, 0.2, 0.25, 0.25 };
static const nde_gmm MIX = { 2, 3, MIX_W, MIX_MU, MIX_SD };
static nde_schedule *lin;

enum { N = 50000 };
static double xs[2 * N], lp[N];
static int lab[N];

static void mean_sd(const double *v, size_t n, double *m, double *var)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    s /= (double)n;
    for (size_t i = 0; i < n; i++) q += (v[i] - s) * (v[i] - s);
    *m = s;
    *var = q / (double)(n - 1);
}

static void test_stochastic_distributions(void)
{
    double a0 = nde_schedule_alpha(lin, 1e-3), s0 = nde_schedule_sigma(lin, 1e-3);
    double aT = nde_schedule_alpha(lin, 1.0), sT = nde_schedule_sigma(lin, 1.0);
    nde_gmm_sample(&MIX, a0, s0, 9001, N, xs, NULL);
    nde_gmm_log_density(&MIX, a0, s0, xs, N, lp);
    double mex, vex;
    mean_sd(lp, N, &mex, &vex);
    printf("    exact E[log p(t_end)] = %.4f (sd %.3f), n = %d\n", mex, sqrt(vex), N);
    const char *names[] = { "euler_ancestral", "dpm2_ancestral", "dpmpp_2s_ancestral", "dpmpp_sde",
                            "dpmpp_2m_sde", "dpmpp_3m_sde", "dpmsolver++_sde", "dpmsolver_sde", "ddim",
                            "heun" };
    for (int k = 0; k < 10; k++) {
        const nde_sampler_info *si = nde_sampler_find(names[k]);
        double gap[2], se[2], chi2[2];
        for (int j = 0; j < 2; j++) {
            int nfe = j ? 400 : 100;
            nde_gmm_sample(&MIX, aT, sT, 31 + (uint64_t)k, N, xs, NULL);
            nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
            o.sampler = names[k]; o.spacing = "logsnr"; o.seed = 1000 + (uint64_t)k;
            o.steps = nfe / nde_sampler_nfe_per_step(si, 0, 1);
            if (!strcmp(names[k], "ddim")) o.eta = 1.0;
            if (!strcmp(names[k], "heun")) { o.s_churn = 10; o.spacing = "karras"; }
            nde_gmm_model gm = { &MIX, lin, NDE_PRED_EPS, -1, 0 };
            int rc = nde_diffusion_sample(lin, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o, xs, N, 2, NULL);
            CHECK_EQ_INT(rc, 0);
            nde_gmm_classify(&MIX, a0, s0, xs, N, lab);
            double cnt[3] = { 0, 0, 0 };
            for (int i = 0; i < N; i++) cnt[lab[i]]++;
            chi2[j] = 0;
            for (int c = 0; c < 3; c++)
                chi2[j] += (cnt[c] - N * MIX_W[c]) * (cnt[c] - N * MIX_W[c]) / (N * MIX_W[c]);
            nde_gmm_log_density(&MIX, a0, s0, xs, N, lp);
            double m, v;
            mean_sd(lp, N, &m, &v);
            gap[j] = m - mex;
            se[j] = sqrt(v / N + vex / N);
        }
        printf("    %-20s NFE 100: gap %+.4f (se %.4f) chi2 %7.2f | NFE 400: gap %+.4f (se %.4f) chi2 %6.2f\n",
               names[k], gap[0], se[0], chi2[0], gap[1], se[1], chi2[1]);
        CHECK_MSG(chi2[1] < 13.8, "%s: occupancy chi2 %.2f at NFE 400", names[k], chi2[1]);
        CHECK_MSG(fabs(gap[1]) < 4 * se[1] + 0.02, "%s: log-density gap %.4f at NFE 400", names[k], gap[1]);
        CHECK_MSG(fabs(gap[1]) < fabs(gap[0]) || (fabs(gap[0]) < 4 * se[0] && fabs(gap[1]) < 4 * se[1]),
                  "%s: gap does not shrink (%.4f -> %.4f)", names[k], gap[0], gap[1]);
    }
}

/* Starts whose flow map amplifies perturbations more than this (|dx_0| / |dx_T|, by
 * finite differences of the reference flow) lie in the thin layer along the separatrix
 * between two modes: there a first-order sampler at NFE 80-320 is not yet in its
 * asymptotic regime, and one such start can hold the RMS error flat. Such starts are
 * left out: over 30 seeds of 300 starts this drops 0-3 starts, and Euler's slope is then
 * >= 1.0 for every seed, while with them 4 of the 30 seeds give slopes 0.1-0.4. */
#define ILL_CONDITIONED 30.0

static void test_mixture_convergence_all(void)
{
    enum { M = 300 };
    static double x0[2 * M], ref[2 * M], x[2 * M], p1[2 * M], p2[2 * M];
    static int keep[M];
    nde_gmm_sample(&MIX, nde_schedule_alpha(lin, 1), nde_schedule_sigma(lin, 1), 404, M, x0, NULL);
    memcpy(ref, x0, sizeof x0);
    nde_gmm_flow(&MIX, lin, 1.0, 1e-3, 4000, ref, M);
    const double dx = 1e-6;
    memcpy(p1, x0, sizeof x0);
    memcpy(p2, x0, sizeof x0);
    for (int i = 0; i < M; i++) { p1[2 * i] += dx; p2[2 * i + 1] += dx; }
    nde_gmm_flow(&MIX, lin, 1.0, 1e-3, 4000, p1, M);
    nde_gmm_flow(&MIX, lin, 1.0, 1e-3, 4000, p2, M);
    int kept = 0;
    for (int i = 0; i < M; i++) {
        double g1 = hypot(p1[2 * i] - ref[2 * i], p1[2 * i + 1] - ref[2 * i + 1]) / dx;
        double g2 = hypot(p2[2 * i] - ref[2 * i], p2[2 * i + 1] - ref[2 * i + 1]) / dx;
        keep[i] = fmax(g1, g2) <= ILL_CONDITIONED;
        kept += keep[i];
    }
    printf("    %d of %d starts kept (flow-map amplification <= %g)\n", kept, M, ILL_CONDITIONED);
    CHECK(kept >= M - M / 20);
    printf("    %-14s %-5s %10s %10s %10s  slope(80->320)\n", "sampler", "order", "NFE 80", "NFE 160", "NFE 320");
    for (size_t i = 0; i < nde_sampler_count(); i++) {
        const nde_sampler_info *si = nde_sampler_at(i);
        if (si->stochastic || strstr(si->name, "adaptive")) continue;
        for (int ord = si->order_min; ord <= si->order_max; ord++) {
            double e[3];
            for (int j = 0; j < 3; j++) {
                nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
                o.sampler = si->name; o.order = ord; o.spacing = "logsnr";
                o.steps = (80 << j) / nde_sampler_nfe_per_step(si, ord, 1);
                memcpy(x, x0, sizeof x);
                nde_gmm_model gm = { &MIX, lin, NDE_PRED_EPS, -1, 0 };
                CHECK_EQ_INT(nde_diffusion_sample(lin, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o, x, M, 2, NULL), 0);
                double s = 0;
                for (int k = 0; k < 2 * M; k++)
                    if (keep[k / 2]) s += (x[k] - ref[k]) * (x[k] - ref[k]);
                e[j] = sqrt(s / (2 * kept));
            }
            double slope = log(e[0] / e[2]) / log(4.0);
            printf("    %-14s %-5d %10.3e %10.3e %10.3e  %.2f\n", si->name, ord, e[0], e[1], e[2], slope);
            /* asymptotic slopes on the mixture approach the order from below; require
             * at least 0.6 of the reported order (which is the measured one: ipndm 3/4
             * and the reference multistep-3 report 2, test_diffusion.c) */
            int nominal = nde_sampler_convergence_order(si, ord, 1);
            CHECK_MSG(slope > 0.6 * nominal, "%s order %d: slope %.2f", si->name, ord, slope);
            CHECK(e[2] < e[0]);
        }
    }
}

int main(void)
{
    lin = nde_schedule_vp_linear(0.1, 20.0);
    RUN(test_stochastic_distributions);
    RUN(test_mixture_convergence_all);
    nde_schedule_free(lin);
    return test_summary();
}
