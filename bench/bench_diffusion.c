/* bench_diffusion: diffusion samplers on the exact Gaussian mixture (public API only).
 *
 * 1. Endpoint RMS error against NFE for every registered sampler (ODE samplers: against
 *    the reference flow, RK4 in lambda with 2000 steps; stochastic samplers: the gap of
 *    the mean exact log-density to that of exact samples, with its standard error).
 * 2. Sampler overhead per step next to the cost of one model call of a 2-64-64-2 tanh
 *    MLP with a time input on a batch of 1024, for every sampler and for ddim with
 *    eta = 1 and euler with churn (their stochastic forms). Two implementations of the
 *    same network with the same weights: a naive loop with libm tanh (the slow model,
 *    most of whose time is tanh) and the nn layer's MLP (nde/nn.h: CBLAS products and
 *    a vectorised tanh, the fast model). The target: the samplers' own work per
 *    step under 1% of the fast model's time. The overhead is the sample call's time minus
 *    the time inside the model (per step, and as a fraction of the model's time in the
 *    same run); the model is also timed on its own (ms per call), next to two floors of
 *    a step: one pass over the batch, and the batch's normals.
 *
 * usage: bench_diffusion [--quick] */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime under -std=c11 */
#include <cblas.h>   /* openblas_set_num_threads: the nn layer's products on one thread */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nde.h"

static const double W[3] = { 0.5, 0.3, 0.2 };
static const double MU[6] = { -2, 0, 2, 0, 0, 2.5 };
static const double SD[6] = { 0.3, 0.5, 0.5, 0.2, 0.25, 0.25 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- a 2-64-64-2 MLP with a time input, as a stand-in for a network ----
 * eps(x, t) = 0.1 (W3 tanh(W2 tanh(W1 x + wt t + b1) + b2) + b3), weights from fixed
 * seeds, biases 0. Both models compute it and count their own time. */
enum { H = 64 };
typedef struct model_weights {
    double w1[H * 2], b1[H], wt[H], w2[H * H], b2[H], w3[2 * H], b3[2];
} model_weights;

typedef struct model_clock {
    double t_model;       /* seconds spent in the model */
    size_t calls;
} model_clock;

static void weights_init(model_weights *w)
{
    nde_normal_fill(99, 0, H * H, w->w2);
    for (int i = 0; i < H * H; i++) w->w2[i] /= sqrt((double)H);
    nde_normal_fill(99, 1, H * 2, w->w1);
    nde_normal_fill(99, 2, H, w->wt);
    nde_normal_fill(99, 3, 2 * H, w->w3);
    for (int i = 0; i < 2 * H; i++) w->w3[i] /= sqrt((double)H);
    memset(w->b1, 0, sizeof w->b1);
    memset(w->b2, 0, sizeof w->b2);
    memset(w->b3, 0, sizeof w->b3);
}

/* The slow model: a plain loop per row with libm tanh. */
typedef struct naive_mlp {
    const model_weights *w;
    double *h1, *h2;      /* batch x H scratch */
    model_clock clock;
} naive_mlp;

static int naive_model(const double *x, double t, size_t batch, size_t dim, double *out, void *u)
{
    naive_mlp *m = u;
    const model_weights *w = m->w;
    double t0 = now();
    (void)dim;
    for (size_t b = 0; b < batch; b++) {
        double *h1 = m->h1 + b * H, *h2 = m->h2 + b * H;
        const double *xb = x + 2 * b;
        for (int i = 0; i < H; i++)
            h1[i] = tanh(w->w1[2 * i] * xb[0] + w->w1[2 * i + 1] * xb[1] + w->b1[i] + w->wt[i] * t);
        for (int i = 0; i < H; i++) {
            double acc = w->b2[i];
            const double *wr = w->w2 + i * H;
            for (int j = 0; j < H; j++) acc += wr[j] * h1[j];
            h2[i] = tanh(acc);
        }
        for (size_t o = 0; o < 2; o++) {
            double acc = w->b3[o];
            for (size_t j = 0; j < H; j++) acc += w->w3[o * H + j] * h2[j];
            out[2 * b + o] = 0.1 * acc;
        }
    }
    m->clock.t_model += now() - t0;
    m->clock.calls++;
    return 0;
}

/* The fast model: the same network as an nde_mlp 3 -> 64 -> 64 -> 2 (tanh), its input
 * the rows (x1, x2, t), W1 = [w1 | wt]; the output scaled by 0.1 as above. */
typedef struct fast_mlp {
    nde_mlp *net;
    double *in;           /* batch x 3 */
    model_clock clock;
} fast_mlp;

static int fast_model(const double *x, double t, size_t batch, size_t dim, double *out, void *u)
{
    fast_mlp *m = u;
    double t0 = now();
    (void)dim;
    for (size_t b = 0; b < batch; b++) {
        m->in[3 * b] = x[2 * b];
        m->in[3 * b + 1] = x[2 * b + 1];
        m->in[3 * b + 2] = t;
    }
    int rc = nde_mlp_forward(m->net, batch, m->in, out);
    for (size_t k = 0; k < 2 * batch; k++) out[k] *= 0.1;
    m->clock.t_model += now() - t0;
    m->clock.calls++;
    return rc == NDE_OK ? 0 : -1;
}

/* Builds the fast model with the weights w for batches up to `batch`; 0 on success. */
static int fast_init(fast_mlp *m, const model_weights *w, size_t batch)
{
    static const size_t widths[4] = { 3, H, H, 2 };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = batch;
    m->net = nde_mlp_create(3, widths, &mo);
    m->in = malloc(3 * batch * sizeof *m->in);
    if (!m->net || !m->in) return 1;
    double *p = nde_mlp_params(m->net);
    double *W1 = p + nde_mlp_weight_offset(m->net, 1), *b1 = W1 + 3 * H;
    double *W2 = p + nde_mlp_weight_offset(m->net, 2), *b2 = W2 + H * H;
    double *W3 = p + nde_mlp_weight_offset(m->net, 3), *b3 = W3 + 2 * H;
    for (int i = 0; i < H; i++) {
        W1[3 * i] = w->w1[2 * i];
        W1[3 * i + 1] = w->w1[2 * i + 1];
        W1[3 * i + 2] = w->wt[i];
    }
    memcpy(b1, w->b1, sizeof w->b1);
    memcpy(W2, w->w2, sizeof w->w2);
    memcpy(b2, w->b2, sizeof w->b2);
    memcpy(W3, w->w3, sizeof w->w3);
    memcpy(b3, w->b3, sizeof w->b3);
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* Median time of one call over `reps` calls on x (batch rows), each at another t: the
 * nn layer reuses a cached forward pass whose input is bit for bit the last one, and a
 * sampler never repeats an input. */
static double time_model(nde_denoiser fn, void *m, const double *x, size_t batch, double *out, int reps)
{
    double ts[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fn(x, 0.5 + 1e-3 * r, batch, 2, out, m);
        ts[r] = now() - t0;
    }
    qsort(ts, (size_t)reps, sizeof *ts, cmp_dbl);
    return ts[reps / 2];
}

static double rms(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s / (double)n);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const nde_gmm g = { 2, 3, W, MU, SD };
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    nde_gmm_model gm = { &g, s, NDE_PRED_EPS, -1, 0.0 };
    size_t M = quick ? 200 : 1000;
    double *xT = malloc(2 * M * sizeof(double)), *ref = malloc(2 * M * sizeof(double));
    double *x = malloc(2 * M * sizeof(double)), *lp = malloc(M * sizeof(double));
    double aT = nde_schedule_alpha(s, 1.0), sT = nde_schedule_sigma(s, 1.0);
    double a0 = nde_schedule_alpha(s, 1e-3), s0 = nde_schedule_sigma(s, 1e-3);
    nde_gmm_sample(&g, aT, sT, 2024, M, xT, NULL);
    memcpy(ref, xT, 2 * M * sizeof(double));
    nde_gmm_flow(&g, s, 1.0, 1e-3, 2000, ref, M);
    /* exact E[log p] at t_end for the stochastic samplers */
    double *ex = malloc(2 * M * sizeof(double)), mex = 0, vex = 0;
    nde_gmm_sample(&g, a0, s0, 77, M, ex, NULL);
    nde_gmm_log_density(&g, a0, s0, ex, M, lp);
    for (size_t i = 0; i < M; i++) mex += lp[i];
    mex /= (double)M;
    for (size_t i = 0; i < M; i++) vex += (lp[i] - mex) * (lp[i] - mex);
    vex /= (double)(M - 1);

    static const int nfes[] = { 5, 10, 20, 40, 80, 160 };
    int nn = quick ? 4 : 6;
    printf("# endpoint error vs NFE: Gaussian mixture (samplers.md 4.7), linear VP, t 1 -> 1e-3,\n"
           "# uniform logSNR grid, %zu exact p_T starts; ODE samplers: RMS vs the reference flow;\n"
           "# stochastic (eta default): E[log p] gap to exact samples (se %.3f)\n", M,
           sqrt(2 * vex / (double)M));
    printf("%-22s %-5s", "sampler", "order");
    for (int j = 0; j < nn; j++) printf(" %9s%-3d", "NFE ", nfes[j]);
    printf("\n");
    for (size_t i = 0; i < nde_sampler_count(); i++) {
        const nde_sampler_info *si = nde_sampler_at(i);
        for (int ord = si->order_min; ord <= si->order_max; ord++) {
            if (strstr(si->name, "adaptive")) continue;
            printf("%-22s %-5d", si->name, ord);
            int per = nde_sampler_nfe_per_step(si, ord, 1);
            for (int j = 0; j < nn; j++) {
                nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
                o.sampler = si->name; o.order = ord; o.spacing = "logsnr"; o.seed = 5;
                o.steps = nfes[j] / per;
                if (o.steps < ord) { printf(" %12s", "-"); continue; }
                memcpy(x, xT, 2 * M * sizeof(double));
                nde_stats st;
                if (nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o, x, M, 2, &st)) {
                    printf(" %12s", "fail");
                    continue;
                }
                if (si->stochastic) {
                    nde_gmm_log_density(&g, a0, s0, x, M, lp);
                    double m = 0;
                    for (size_t k = 0; k < M; k++) m += lp[k];
                    printf(" %+12.3e", m / (double)M - mex);
                } else {
                    printf(" %12.3e", rms(x, ref, 2 * M));
                }
            }
            printf("\n");
        }
    }
    /* adaptive: NFE chosen by the tolerance */
    for (int k = 0; k < 3; k++) {
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        o.sampler = "dpmsolver++_adaptive";
        o.rtol = 0.05 / pow(10, k); o.atol = 0.0078 / pow(10, k);
        memcpy(x, xT, 2 * M * sizeof(double));
        nde_stats st;
        nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o, x, M, 2, &st);
        printf("dpmsolver++_adaptive   3     rtol %-8.2g NFE %-5zu RMS %.3e (rejected %zu)\n",
               o.rtol, st.nfe, rms(x, ref, 2 * M), st.rejected);
    }

    /* ---- overhead per step vs the model ---- */
    size_t B = quick ? 256 : 1024;
    openblas_set_num_threads(1);
    model_weights *w = calloc(1, sizeof *w);
    naive_mlp *slow = calloc(1, sizeof *slow);
    fast_mlp *fast = calloc(1, sizeof *fast);
    double *xb = malloc(2 * B * sizeof(double)), *ya = malloc(2 * B * sizeof(double));
    double *yb = malloc(2 * B * sizeof(double));
    if (!w || !slow || !fast || !xb || !ya || !yb) return 1;
    weights_init(w);
    slow->w = w;
    slow->h1 = malloc(B * H * sizeof(double));
    slow->h2 = malloc(B * H * sizeof(double));
    if (!slow->h1 || !slow->h2 || fast_init(fast, w, B)) {
        fprintf(stderr, "bench_diffusion: cannot build the models\n");
        return 1;
    }
    /* the two models are one function: their outputs agree to rounding */
    nde_normal_fill(1, 0, 2 * B, xb);
    naive_model(xb, 0.5, B, 2, ya, slow);
    fast_model(xb, 0.5, B, 2, yb, fast);
    double dmax = 0, ymax = 0;
    for (size_t k = 0; k < 2 * B; k++) {
        dmax = fmax(dmax, fabs(ya[k] - yb[k]));
        ymax = fmax(ymax, fabs(ya[k]));
    }
    int mreps = quick ? 9 : 31;
    double ms_slow = 1e3 * time_model(naive_model, slow, xb, B, ya, mreps);
    double ms_fast = 1e3 * time_model(fast_model, fast, xb, B, yb, mreps);
    printf("\n# the model: eps(x, t) = 2-64-64-2 tanh MLP with a time input, batch %zu, %zu MACs per row\n",
           B, nde_mlp_macs(fast->net));
    printf("naive loop, libm tanh:        %8.3f ms per call (median of %d)\n", ms_slow, mreps);
    printf("nn layer (nde_mlp_forward):   %8.3f ms per call (median of %d), %.1fx faster\n", ms_fast, mreps,
           ms_slow / ms_fast);
    printf("same weights: max |naive - nn| = %.2e (outputs up to %.2f)\n", dmax, ymax);
    /* what a step must do at least: one pass x = a x + b e over the batch, and for the
     * stochastic samplers the batch's normals (median of mreps) */
    double t_axpy[64], t_noise[64];
    for (int r = 0; r < mreps && r < 64; r++) {
        double t0 = now();
        for (size_t k = 0; k < 2 * B; k++) ya[k] = 0.99 * ya[k] + 0.01 * yb[k];
        t_axpy[r] = now() - t0;
        t0 = now();
        nde_normal_fill(5, (uint64_t)r, 2 * B, yb);
        t_noise[r] = now() - t0;
    }
    volatile double sink = ya[B];   /* the passes' result is used */
    (void)sink;
    int nr = mreps < 64 ? mreps : 64;
    qsort(t_axpy, (size_t)nr, sizeof *t_axpy, cmp_dbl);
    qsort(t_noise, (size_t)nr, sizeof *t_noise, cmp_dbl);
    printf("per step floors: one pass x = a x + b e over the batch %.2f us; the batch's %zu normals "
           "(nde_normal_fill) %.2f us (%.1f%% of the nn model)\n", 1e6 * t_axpy[nr / 2], 2 * B,
           1e6 * t_noise[nr / 2], 100 * t_noise[nr / 2] / (1e-3 * ms_fast));
    printf("(1%% of the nn model is %.2f us)\n", 10 * ms_fast);

    printf("\n# sampler overhead: sample time minus model time, per step, and as a fraction of the model\n"
           "# time (so a step with two model calls is held to two calls); model us: one call,\n"
           "# timed inside the runs; 50 steps, batch %zu, 1 thread; best ratio of %d runs (slow model),\n"
           "# %d (fast)\n", B,
           quick ? 2 : 5, quick ? 6 : 15);
    printf("%-22s %8s | %10s %12s %9s | %10s %12s %9s\n", "sampler", "steps", "slow us", "overhead us",
           "ratio", "fast us", "overhead us", "ratio");
    /* every sampler with its defaults, then the stochastic forms of ddim and EDM euler */
    static const struct { const char *name, *label; double eta, churn; } extra[] = {
        { "ddim", "ddim eta=1", 1.0, 0.0 }, { "euler", "euler s_churn=10", 0.0, 10.0 },
    };
    size_t nreg = nde_sampler_count(), nextra = sizeof extra / sizeof extra[0];
    /* worst ratio per model (slow, fast) and class (deterministic, stochastic): the
     * stochastic samplers also draw the batch's normals every step */
    double worst[2][2] = { { 0, 0 }, { 0, 0 } };
    const char *worst_name[2][2] = { { "", "" }, { "", "" } };
    int failed = 0;
    for (size_t i = 0; i < nreg + nextra; i++) {
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        const char *label;
        int stochastic = 1;
        if (i < nreg) {
            label = o.sampler = nde_sampler_at(i)->name;
            if (strstr(label, "adaptive")) continue;
            stochastic = nde_sampler_at(i)->stochastic;
        } else {
            o.sampler = extra[i - nreg].name;
            label = extra[i - nreg].label;
            o.eta = extra[i - nreg].eta;
            o.s_churn = extra[i - nreg].churn;
        }
        o.steps = 50; o.spacing = "logsnr"; o.seed = 3;
        printf("%-22s %8d", label, o.steps);
        for (int which = 0; which < 2; which++) {
            /* the fast model's runs are short: more of them, against the machine's noise */
            int reps = (quick ? 2 : 5) * (which ? 3 : 1);
            nde_denoiser fn = which ? fast_model : naive_model;
            void *m = which ? (void *)fast : (void *)slow;
            model_clock *clk = which ? &fast->clock : &slow->clock;
            double best_ratio = INFINITY, best_ov = 0, best_mc = 0;
            for (int r = 0; r < reps; r++) {
                nde_normal_fill(1, 0, 2 * B, xb);
                clk->t_model = 0; clk->calls = 0;
                double t0 = now();
                nde_stats st;
                if (nde_diffusion_sample(s, fn, NDE_PRED_EPS, m, &o, xb, B, 2, &st) != NDE_OK) {
                    failed = 1;
                    break;
                }
                double tot = now() - t0;
                double per_call = clk->t_model / (double)clk->calls;
                double overhead = (tot - clk->t_model) / (double)o.steps;
                double ratio = (tot - clk->t_model) / clk->t_model;   /* per step: over the step's calls */
                if (ratio < best_ratio) { best_ratio = ratio; best_ov = overhead; best_mc = per_call; }
            }
            if (best_ratio > worst[which][stochastic]) {
                worst[which][stochastic] = best_ratio;
                worst_name[which][stochastic] = label;
            }
            printf(" | %10.1f %12.2f %8.3f%%", 1e6 * best_mc, 1e6 * best_ov, 100 * best_ratio);
        }
        printf("\n");
    }
    static const char *klass[2] = { "deterministic", "stochastic" };
    for (int k = 0; k < 2; k++)
        printf("worst %s: %.3f%% of the slow model's time (%s); %.3f%% of the fast model's (%s); "
               "target < 1%% of the fast model: %s\n", klass[k], 100 * worst[0][k], worst_name[0][k],
               100 * worst[1][k], worst_name[1][k], worst[1][k] < 0.01 ? "met" : "NOT met");
    printf("(a stochastic step draws the batch's %zu normals at least once: %.2f us, %.1f%% of the nn "
           "model on their own, from the frozen Philox4x32-10 stream of docs/random.md)\n", 2 * B,
           1e6 * t_noise[nr / 2], 100 * t_noise[nr / 2] / (1e-3 * ms_fast));
    if (failed) printf("some samples failed\n");
    free(slow->h1); free(slow->h2); free(slow);
    nde_mlp_free(fast->net); free(fast->in); free(fast);
    free(w); free(xb); free(ya); free(yb);
    free(xT); free(ref); free(x); free(lp); free(ex);
    nde_schedule_free(s);
    return failed;
}
