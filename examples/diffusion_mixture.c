/* Sampling a diffusion model without weights: the exact Gaussian-mixture "model" of a
 * 2-D, 3-mode distribution, sampled with DPM-Solver++(2M) and with DDIM in 10 model
 * calls each, from the same noise, and compared with the reference probability-flow
 * solution (RK4 in lambda, 1000 steps) and with the true mode weights. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <nde.h>

#define N 2000

static double rms(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s / (double)n);
}

static int sample(const char *sampler, nde_schedule *s, nde_gmm_model *gm, double *x, size_t *nfe)
{
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    char err[NDE_MESSAGE_MAX] = "";
    o.sampler = sampler;
    o.steps = 10;
    o.spacing = "logsnr";
    o.errbuf = err; o.errbuf_size = sizeof err;
    nde_stats st;
    int rc = nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, gm, &o, x, N, 2, &st);
    if (rc) fprintf(stderr, "%s: %s\n", sampler, err);
    *nfe = st.nfe;
    return rc;
}

int main(void)
{
    double w[3] = { 0.5, 0.3, 0.2 };
    double mu[6] = { -2, 0,   2, 0,   0, 2.5 };
    double sd[6] = { 0.3, 0.5,   0.5, 0.2,   0.25, 0.25 };
    nde_gmm g = { 2, 3, w, mu, sd };
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    if (!s) return 1;
    nde_gmm_model gm = { &g, s, NDE_PRED_EPS, -1, 0.0 };

    /* Start from exact draws of p_T so that any error is the sampler's. */
    static double xT[2 * N], ref[2 * N], dpm[2 * N], ddim[2 * N];
    double t0 = 1.0, t1 = 1e-3;
    if (nde_gmm_sample(&g, nde_schedule_alpha(s, t0), nde_schedule_sigma(s, t0), 7, N, xT, NULL)) return 1;
    memcpy(ref, xT, sizeof xT); memcpy(dpm, xT, sizeof xT); memcpy(ddim, xT, sizeof xT);
    if (nde_gmm_flow(&g, s, t0, t1, 1000, ref, N)) return 1;
    size_t nfe_dpm, nfe_ddim;
    if (sample("dpmpp_2m", s, &gm, dpm, &nfe_dpm) || sample("ddim", s, &gm, ddim, &nfe_ddim)) return 1;

    static int lab[N];
    int counts[3] = { 0, 0, 0 };
    nde_gmm_classify(&g, nde_schedule_alpha(s, t1), nde_schedule_sigma(s, t1), dpm, N, lab);
    for (int i = 0; i < N; i++) counts[lab[i]]++;
    double e_dpm = rms(dpm, ref, 2 * N), e_ddim = rms(ddim, ref, 2 * N);
    printf("DPM-Solver++(2M): %zu model calls, RMS error vs reference flow %.3f\n", nfe_dpm, e_dpm);
    printf("DDIM:             %zu model calls, RMS error vs reference flow %.3f\n", nfe_ddim, e_ddim);
    printf("mode occupancy (2M): %.3f %.3f %.3f (true weights 0.5 0.3 0.2)\n",
           counts[0] / (double)N, counts[1] / (double)N, counts[2] / (double)N);
    nde_schedule_free(s);
    return (nfe_dpm == 10 && nfe_ddim == 10 && e_dpm < e_ddim) ? 0 : 1;
}
