/* `nde demo`, diffusion section: samples of the exact Gaussian-mixture model drawn with
 * DPM-Solver++(2M) in 10 model calls, next to DDIM at 10 and the reference flow
 * (RK4 in lambda, 1000 steps), plus endpoint error against NFE for several samplers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

static const double W[3] = { 0.5, 0.3, 0.2 };
static const double MU[6] = { -2, 0, 2, 0, 0, 2.5 };
static const double SD[6] = { 0.3, 0.5, 0.5, 0.2, 0.25, 0.25 };

static int write_points(const demo_ctx *ctx, const char *name, const double *x, size_t n)
{
    FILE *f = demo_fopen(ctx, name, "w");
    if (!f) return -1;
    for (size_t i = 0; i < n; i++) fprintf(f, "%.6g %.6g\n", x[2 * i], x[2 * i + 1]);
    fclose(f);
    return 0;
}

static double rms(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s / (double)n);
}

static int sample(const nde_schedule *s, const nde_gmm_model *gm, const char *name, int order,
                  int steps, double *x, size_t n, nde_stats *st)
{
    char eb[256];
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    o.sampler = name; o.order = order; o.steps = steps; o.spacing = "logsnr";
    o.errbuf = eb; o.errbuf_size = sizeof eb;
    int rc = nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, (void *)gm, &o, x, n, 2, st);
    if (rc) fprintf(stderr, "nde demo (diffusion): %s: %s\n", name, eb);
    return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over the m rows of the distance between two 2-D samples (scratch: m). */
static double median_distance(const double *a, const double *b, size_t m, double *scratch)
{
    for (size_t r = 0; r < m; r++) scratch[r] = hypot(a[2 * r] - b[2 * r], a[2 * r + 1] - b[2 * r + 1]);
    qsort(scratch, m, sizeof *scratch, cmp_dbl);
    return 0.5 * (scratch[(m - 1) / 2] + scratch[m / 2]);
}

/* The same seed at 8, 16, ..., 512 steps of Euler ancestral, noise per step against
 * noise from Brownian trees: the distance between successive step counts. With trees
 * the sample is a function of one path and converges; per step it never settles. */
static int brownian_noise_study(const nde_schedule *s, const nde_gmm_model *gm, const double *xT,
                                size_t m, double *a, double *b, double *scratch, FILE *out, FILE *js,
                                double *last_tree, double *last_step)
{
    char eb[256];
    for (int bro = 1; bro >= 0; bro--) {
        fprintf(out, "\"%s\" \"median distance\"\n", bro ? "Brownian-tree noise" : "per-step noise");
        if (js) fprintf(js, "%s\"%s\": [", bro ? "" : ", ", bro ? "brownian_tree" : "per_step");
        for (int j = 0; j < 7; j++) {
            nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
            o.sampler = "euler_ancestral"; o.steps = 8 << j; o.seed = 7; o.spacing = "logsnr";
            o.brownian_noise = bro; o.errbuf = eb; o.errbuf_size = sizeof eb;
            double *x = (j & 1) ? b : a, *prev = (j & 1) ? a : b;
            memcpy(x, xT, 2 * m * sizeof *x);
            if (nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, (void *)gm, &o, x, m, 2, NULL)) {
                fprintf(stderr, "nde demo (diffusion): euler_ancestral: %s\n", eb);
                return 1;
            }
            if (j == 0) continue;
            double d = median_distance(prev, x, m, scratch);
            fprintf(out, "%d %.6g\n", o.steps, d);
            if (js) fprintf(js, "%s[%d, %.6g]", j > 1 ? ", " : "", o.steps, d);
            *(bro ? last_tree : last_step) = d;
        }
        fprintf(out, "\n\n");
        if (js) fprintf(js, "]");
    }
    return 0;
}

int demo_diffusion(demo_ctx *ctx)
{
    const nde_gmm g = { 2, 3, W, MU, SD };
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    if (!s) return 1;
    nde_gmm_model gm = { &g, s, NDE_PRED_EPS, -1, 0.0 };
    size_t n = ctx->quick ? 400 : 2000;
    size_t bytes = 4 * 2 * n * sizeof(double);
    double *mem = malloc(bytes);
    if (!mem) { nde_schedule_free(s); return 1; }
    double *xT = mem, *ref = mem + 2 * n, *a = mem + 4 * n, *b = mem + 6 * n;
    int rc = 0;
    /* exact p_T starts, so that every difference is solver error */
    nde_gmm_sample(&g, nde_schedule_alpha(s, 1.0), nde_schedule_sigma(s, 1.0), 2024, n, xT, NULL);
    memcpy(ref, xT, 2 * n * sizeof *ref);
    rc |= nde_gmm_flow(&g, s, 1.0, 1e-3, 1000, ref, n);
    nde_stats st2m, stddim;
    memcpy(a, xT, 2 * n * sizeof *a);
    rc |= sample(s, &gm, "dpmsolver++", 2, 10, a, n, &st2m);
    memcpy(b, xT, 2 * n * sizeof *b);
    rc |= sample(s, &gm, "ddim", 1, 10, b, n, &stddim);
    double e2m = rms(a, ref, 2 * n), eddim = rms(b, ref, 2 * n);
    rc |= write_points(ctx, "diffusion_ref.dat", ref, n);
    rc |= write_points(ctx, "diffusion_2m.dat", a, n);
    rc |= write_points(ctx, "diffusion_ddim.dat", b, n);

    /* endpoint error vs NFE on a subset */
    static const struct { const char *name; int order; const char *label; } ss[] = {
        { "ddim", 1, "DDIM" }, { "dpmsolver++", 2, "DPM-Solver++(2M)" },
        { "dpmsolver++", 3, "DPM-Solver++(3M)" }, { "dpmpp_3m", 3, "3M (Taylor D2 weight)" },
        { "unipc", 2, "UniPC-2 (bh1)" }, { "deis", 3, "DEIS tAB2" }, { "heun", 2, "EDM Heun" },
    };
    static const int nfes[] = { 5, 10, 20, 40, 80 };
    size_t m = ctx->quick ? 100 : 400;
    FILE *ef = demo_fopen(ctx, "diffusion_err.dat", "w");
    FILE *js = demo_fopen(ctx, "diffusion.json", "w");
    if (!ef || !js) rc = 1;
    if (js) fprintf(js, "{\"dpmpp_2m_nfe10_rms\": %.6g, \"ddim_nfe10_rms\": %.6g, \"error_vs_nfe\": {",
                    e2m, eddim);
    for (size_t k = 0; ef && k < sizeof ss / sizeof ss[0]; k++) {
        fprintf(ef, "\"%s\" \"rms\"\n", ss[k].label);     /* columnheader(1) */
        if (js) fprintf(js, "%s\"%s\": [", k ? ", " : "", ss[k].label);
        const nde_sampler_info *si = nde_sampler_find(ss[k].name);
        int per = nde_sampler_nfe_per_step(si, ss[k].order, 1);
        for (size_t j = 0; j < sizeof nfes / sizeof nfes[0]; j++) {
            int steps = nfes[j] / per;
            if (steps < ss[k].order) steps = ss[k].order;
            memcpy(a, xT, 2 * m * sizeof *a);
            nde_stats st;
            if (sample(s, &gm, ss[k].name, ss[k].order, steps, a, m, &st)) { rc = 1; break; }
            double e = rms(a, ref, 2 * m);
            fprintf(ef, "%zu %.6g\n", st.nfe, e);
            if (js) fprintf(js, "%s[%zu, %.6g]", j ? ", " : "", st.nfe, e);
        }
        fprintf(ef, "\n\n");
        if (js) fprintf(js, "]");
    }
    if (js) fprintf(js, "}, \"same_seed_as_steps_double\": {");
    FILE *bf = demo_fopen(ctx, "diffusion_brownian.dat", "w");
    double d_tree = NAN, d_step = NAN;
    if (!bf) rc = 1;
    else {
        rc |= brownian_noise_study(s, &gm, xT, m, a, b, b + 2 * m, bf, js, &d_tree, &d_step);
        fclose(bf);
    }
    if (js) { fprintf(js, "}}\n"); fclose(js); }
    if (ef) fclose(ef);

    FILE *gp = demo_fopen(ctx, "diffusion.gp", "w");
    if (!gp) rc = 1;
    else {
        fprintf(gp,
            "set terminal @png_term size 1200,420\n"
            "set output 'diffusion_samples.png'\n"
            "set multiplot layout 1,3\n"
            "set size ratio -1\nset xrange [-4:4]\nset yrange [-2:4]\nunset key\n"
            "set title 'reference flow (RK4 in lambda, 1000 steps)'\n"
            "plot 'diffusion_ref.dat' w p pt 7 ps 0.25 lc rgb '#333333'\n"
            "set title 'DPM-Solver++(2M), 10 model calls (RMS %.3g)'\n"
            "plot 'diffusion_2m.dat' w p pt 7 ps 0.25 lc rgb '#1f77b4'\n"
            "set title 'DDIM, 10 model calls (RMS %.3g)'\n"
            "plot 'diffusion_ddim.dat' w p pt 7 ps 0.25 lc rgb '#d62728'\n"
            "unset multiplot\n"
            "set terminal @png_term size 900,540\n"
            "set output 'diffusion_error.png'\n"
            "set size noratio\nset autoscale\nset logscale xy\nset key bottom left\n"
            "set xlabel 'model evaluations (NFE)'\nset ylabel 'endpoint RMS error vs reference'\n"
            "set title 'Gaussian mixture (samplers.md 4.7), uniform logSNR grid'\n"
            "plot for [i=0:%d] 'diffusion_err.dat' index i w lp pt 7 title columnheader(1)\n"
            "set output 'diffusion_brownian.png'\n"
            "set key top right\nset xlabel 'steps N'\n"
            "set ylabel 'median distance, N/2 steps to N steps'\n"
            "set title 'Euler ancestral, same seed and start: per-step noise vs Brownian trees'\n"
            "plot for [i=0:1] 'diffusion_brownian.dat' index i w lp pt 7 title columnheader(1)\n",
            e2m, eddim, (int)(sizeof ss / sizeof ss[0]) - 1);
        fclose(gp);
        if (demo_gnuplot(ctx, "diffusion.gp") != 0) rc = 1;
    }

    fprintf(ctx->html,
        "<section id=\"diffusion\">\n<h2>Diffusion samplers</h2>\n"
        "<p>Sampling the probability-flow ODE of an exact Gaussian-mixture model "
        "(3 components in 2-D, linear VP schedule, t from 1 to 10<sup>-3</sup>; "
        "the model's noise prediction is computed in closed form, so every error is solver "
        "error). %zu starts drawn from the exact p<sub>T</sub>. The nn layer does not exist "
        "yet, so this section uses the exact mixture model instead of a trained network.</p>\n"
        "<figure><img src=\"diffusion_samples.png\"><figcaption>DPM-Solver++(2M) with 10 "
        "model calls (RMS endpoint error %.3g) next to DDIM with 10 (%.3g) and the reference "
        "flow.</figcaption></figure>\n"
        "<figure><img src=\"diffusion_error.png\"><figcaption>Endpoint error against the "
        "number of model evaluations.</figcaption></figure>\n"
        "<figure><img src=\"diffusion_brownian.png\"><figcaption>A stochastic sampler's "
        "sample for one seed as the steps double: with per-step normals (the reference "
        "code's noise) each step count is an independent sample; with "
        "<code>brownian_noise = 1</code> the noise is the increments of one Brownian path "
        "per row and the sample converges (median distance %.3g at 512 steps, against %.3g "
        "per step).</figcaption></figure>\n</section>\n",
        n, e2m, eddim, d_tree, d_step);
    fprintf(ctx->summary, "diffusion: DPM-Solver++(2M) NFE %zu RMS %.3g; DDIM NFE %zu RMS %.3g\n",
            st2m.nfe, e2m, stddim.nfe, eddim);
    fprintf(ctx->summary, "diffusion: same seed at 256 vs 512 steps (Euler ancestral): Brownian trees "
            "%.3g, per-step noise %.3g (median distance)\n", d_tree, d_step);
    free(mem);
    nde_schedule_free(s);
    return rc ? 1 : 0;
}
