/* nde_diffusion_sample: the sampler table, option resolution and validation, the model
 * adaptor (prediction kinds, classifier-free guidance, dynamic thresholding, EDM
 * preconditioning), time grids, and the one-allocation workspace. The update rules
 * themselves are in solvers.c. */
#include "diffusion/internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- the sampler table ------------------------------------------------------ */

/* Fields: { name, description, order_min, order_max, order_default, stochastic,
 *           data_form, has_singlestep }, run, nbuf, family, method, eta_default, tilde,
 *           order_shift, nfe_kind (0: 1/step, 1: `order`/step when singlestep, 2: 2/step),
 *           d2_weight (multistep order 3: 0 the reference's, 2 Taylor-consistent),
 *           order_cap (0: none; ipndm 2, see nde__sampler) */
static const nde__sampler samplers[] = {
    { { "ddim",
        "DDIM (Song, Meng, Ermon 2021) with eta; eta 0 is DPM-Solver-1",
        1, 1, 1, 0, 0, 0 },
      nde__run_ddim, 3, 0, -1, 0.0, 0, 0, 0, 0, 0 },
    { { "dpmsolver",
        "DPM-Solver, noise form (Lu et al. 2022): multistep, singlestep "
        "(DPM-Solver-fast), singlestep_fixed, adaptive; multistep order 3 "
        "converges at order 2 (reference D2 weight)",
        1, 3, 2, 0, 0, 1 },
      nde__run_dpm, 7, NDE__F_NOISE, -1, 0.0, 0, 0, 1, 0, 0 },
    { { "dpmsolver++",
        "DPM-Solver++, data form (Lu et al. 2022): 2M/3M multistep, 2S/3S "
        "singlestep, adaptive; 3M converges at order 2 (see dpmpp_3m)",
        1, 3, 2, 0, 1, 1 },
      nde__run_dpm, 7, NDE__F_DATA, -1, 0.0, 0, 0, 1, 0, 0 },
    { { "dpmsolver_adaptive",
        "DPM-Solver-12/23 adaptive step in lambda (Lu et al. 2022)",
        2, 3, 3, 0, 0, 0 },
      nde__run_dpm, 7, NDE__F_NOISE, NDE__M_ADAPTIVE, 0.0, 0, 0, 1, 0, 0 },
    { { "dpmsolver++_adaptive",
        "DPM-Solver++ adaptive (data form of DPM-Solver-12/23)",
        2, 3, 3, 0, 1, 0 },
      nde__run_dpm, 7, NDE__F_DATA, NDE__M_ADAPTIVE, 0.0, 0, 0, 1, 0, 0 },
    { { "dpmpp_2m",
        "DPM-Solver++(2M) (k-diffusion/A1111 name of dpmsolver++ multistep 2)",
        2, 2, 2, 0, 1, 0 },
      nde__run_dpm, 7, NDE__F_DATA, NDE__M_MULTISTEP, 0.0, 0, 0, 0, 0, 0 },
    { { "dpmpp_3m",
        "DPM-Solver++(3M) with the Taylor-consistent D2 weight 2 phi_3 (order "
        "3; the reference 3M is order 2)",
        3, 3, 3, 0, 1, 0 },
      nde__run_dpm, 7, NDE__F_DATA, NDE__M_MULTISTEP, 0.0, 0, 0, 0, 2, 0 },
    { { "dpmsolver++_sde",
        "SDE-DPM-Solver++ multistep (diffusers sde-dpmsolver++), eta as "
        "k-diffusion; order 3 converges at order 2 (reference D2 weight)",
        1, 3, 2, 1, 1, 0 },
      nde__run_sde_multistep, 4, NDE__SDE_DATA, -1, 1.0, 0, 0, 0, 0, 0 },
    { { "dpmpp_2m_sde",
        "DPM++ 2M SDE (k-diffusion sample_dpmpp_2m_sde)",
        2, 2, 2, 1, 1, 0 },
      nde__run_sde_multistep, 4, NDE__SDE_DATA, -1, 1.0, 0, 0, 0, 0, 0 },
    { { "dpmpp_3m_sde",
        "DPM++ 3M SDE (k-diffusion sample_dpmpp_3m_sde); converges at order 2 "
        "(reference D2 weight)",
        3, 3, 3, 1, 1, 0 },
      nde__run_sde_multistep, 4, NDE__SDE_DATA_3M, -1, 1.0, 0, 0, 0, 0, 0 },
    { { "dpmsolver_sde",
        "SDE-DPM-Solver, noise form (diffusers sde-dpmsolver)",
        1, 2, 2, 1, 0, 0 },
      nde__run_sde_multistep, 4, NDE__SDE_NOISE, -1, 1.0, 0, 0, 0, 0, 0 },
    { { "unipc",
        "UniPC: UniP-p predictor + UniC corrector, data form (Zhao et al. 2023)",
        1, 3, 2, 0, 1, 0 },
      nde__run_unipc, 6, NDE__F_DATA, -1, 0.0, 0, 1, 0, 0, 0 },
    { { "unipc_noise",
        "UniPC in the noise-prediction form",
        1, 3, 2, 0, 0, 0 },
      nde__run_unipc, 6, NDE__F_NOISE, -1, 0.0, 0, 1, 0, 0, 0 },
    { { "deis",
        "DEIS tAB: eps polynomial in t, exponential integrator (Zhang & Chen "
        "2023)",
        1, 4, 3, 0, 0, 0 },
      nde__run_deis, 5, 0, -1, 0.0, 0, 0, 0, 0, 0 },
    { { "ipndm",
        "improved PNDM: equal-step Adams-Bashforth on eps (Zhang & Chen 2023); "
        "orders 3, 4 converge at order 2 on non-uniform grids",
        1, 4, 4, 0, 0, 0 },
      nde__run_ipndm, 5, 0, -1, 0.0, 0, 0, 0, 0, 2 },
    { { "lms",
        "linear multistep in sigma/alpha (k-diffusion sample_lms)",
        1, 4, 4, 0, 0, 0 },
      nde__run_lms, 5, 0, -1, 0.0, 0, 0, 0, 0, 0 },
    { { "euler",
        "EDM Euler with churn (Karras et al. 2022, Alg. 2)",
        1, 1, 1, 0, 1, 0 },
      nde__run_edm, 5, NDE__EDM_EULER, -1, 0.0, 1, 0, 0, 0, 0 },
    { { "heun",
        "EDM Heun with churn (Karras et al. 2022, Alg. 2)",
        2, 2, 2, 0, 1, 0 },
      nde__run_edm, 5, NDE__EDM_HEUN, -1, 0.0, 1, 0, 2, 0, 0 },
    { { "dpm2",
        "DPM2: midpoint in log sigma with churn (k-diffusion sample_dpm_2)",
        2, 2, 2, 0, 1, 0 },
      nde__run_edm, 5, NDE__EDM_DPM2, -1, 0.0, 1, 0, 2, 0, 0 },
    { { "euler_ancestral",
        "Euler ancestral (k-diffusion sample_euler_ancestral)",
        1, 1, 1, 1, 1, 0 },
      nde__run_ancestral, 5, NDE__ANC_EULER, -1, 1.0, 1, 0, 0, 0, 0 },
    { { "dpm2_ancestral",
        "DPM2 ancestral (k-diffusion sample_dpm_2_ancestral)",
        2, 2, 2, 1, 1, 0 },
      nde__run_ancestral, 5, NDE__ANC_DPM2, -1, 1.0, 1, 0, 2, 0, 0 },
    { { "dpmpp_2s_ancestral",
        "DPM++(2S) ancestral (k-diffusion sample_dpmpp_2s_ancestral)",
        2, 2, 2, 1, 1, 0 },
      nde__run_ancestral, 5, NDE__ANC_2S, -1, 1.0, 1, 0, 2, 0, 0 },
    { { "dpmpp_sde",
        "DPM++ SDE, singlestep r = 1/2 (k-diffusion sample_dpmpp_sde)",
        2, 2, 2, 1, 1, 0 },
      nde__run_dpmpp_sde, 5, 0, -1, 1.0, 1, 0, 2, 0, 0 },
};
#define NDE__NSAMPLERS (sizeof samplers / sizeof samplers[0])

size_t nde_sampler_count(void) { return NDE__NSAMPLERS; }

const nde_sampler_info *nde_sampler_at(size_t i)
{
    return i < NDE__NSAMPLERS ? &samplers[i].info : NULL;
}

static const nde__sampler *find_sampler(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < NDE__NSAMPLERS; i++)
        if (strcmp(samplers[i].info.name, name) == 0) return &samplers[i];
    return NULL;
}

const nde_sampler_info *nde_sampler_find(const char *name)
{
    const nde__sampler *s = find_sampler(name);
    return s ? &s->info : NULL;
}

static const nde__sampler *from_info(const nde_sampler_info *si)
{
    for (size_t i = 0; i < NDE__NSAMPLERS; i++)
        if (&samplers[i].info == si) return &samplers[i];
    return NULL;
}

/* The measured convergence order of the ODE part (test_measured_orders checks every
 * entry on the closed-form single-Gaussian flow). Multistep order 3 with the reference's
 * weight of D2 (DPM-Solver, DPM-Solver++, the SDE variants and k-diffusion's 3M SDE;
 * solvers.c ms_update) leaves an O(h^3) local error: order 2. dpmpp_3m (weight 2) is
 * third order; singlestep order 3 too. */
static int conv_order(const nde__sampler *s, int order, int method)
{
    int p = order + s->order_shift;
    if (order == 3 && method == NDE__M_MULTISTEP && s->d2_weight != 2
        && (s->run == nde__run_dpm || s->run == nde__run_sde_multistep))
        p = 2;
    if (s->order_cap > 0 && p > s->order_cap) p = s->order_cap;
    return p;
}

int nde_sampler_convergence_order(const nde_sampler_info *si, int order, int multistep)
{
    const nde__sampler *s = from_info(si);
    if (!s) return 0;
    if (order <= 0) order = si->order_default;
    if (order < si->order_min) order = si->order_min;
    if (order > si->order_max) order = si->order_max;
    int method = s->method >= 0 ? s->method
               : (!si->has_singlestep || multistep) ? NDE__M_MULTISTEP : NDE__M_SINGLESTEP;
    return conv_order(s, order, method);
}

int nde_sampler_nfe_per_step(const nde_sampler_info *si, int order, int multistep)
{
    const nde__sampler *s = from_info(si);
    if (!s) return 0;
    if (order <= 0) order = si->order_default;
    if (s->nfe_kind == 2) return 2;
    if (s->nfe_kind == 1 && (!multistep || s->method == NDE__M_ADAPTIVE)
        && s->method != NDE__M_MULTISTEP)
        return order;
    return 1;
}

/* ---- small helpers ---------------------------------------------------------- */

static int streq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z') ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z') cb += 'a' - 'A';
        if (ca != cb) return 0;
    }
    return *a == *b;
}

/* ---- time grids ------------------------------------------------------------- */

/* torch.linspace(a, b, n) element i (symmetric evaluation). */
static double linspace_at(double a, double b, int n, int i)
{
    if (n <= 1) return a;
    double step = (b - a) / (double)(n - 1);
    return i < n / 2 ? a + step * (double)i : b - step * (double)(n - 1 - i);
}

/* Align Your Steps 10-step sigma tables (Sabour et al. 2024), as shipped in diffusers
 * AysSchedules and stable-diffusion.cpp. */
static const double ays_tables[3][11] = {
    { 14.6146, 6.4746, 3.8637, 2.6946, 1.8842, 1.3944, 0.9643, 0.6524, 0.3977, 0.1515, 0.0292 },
    { 14.6146, 6.3184, 3.7682, 2.1811, 1.3405, 0.8621, 0.5551, 0.3799, 0.2332, 0.1114, 0.0292 },
    { 700.0, 54.5, 15.886, 7.977, 4.248, 1.789, 0.981, 0.403, 0.173, 0.034, 0.002 },
};

/* Log-linear interpolation of a 11-point decreasing table to N+1 points, point i. */
static double ays_sigma(int which, int N, int i)
{
    const double *tab = ays_tables[which];
    /* the reference reverses to ascending, interpolates log sigma on linspace(0,1,11) */
    double xq = linspace_at(0.0, 1.0, N + 1, N - i);      /* ascending position */
    double pos = xq * 10.0;
    int j = (int)floor(pos);
    if (j >= 10) j = 9;
    if (j < 0) j = 0;
    double x0 = linspace_at(0.0, 1.0, 11, j), x1 = linspace_at(0.0, 1.0, 11, j + 1);
    double y0 = log(tab[10 - j]), y1 = log(tab[9 - j]);
    return exp(y0 + (xq - x0) * (y1 - y0) / (x1 - x0));
}

/* Point i of the N+1-point grid of a spacing, computed on its own (the plan counts
 * per-step NFE without a workspace); nde__grid writes all of them. */
static double grid_at(const nde__ctx *c, int spacing, double t_T, double t_0, int N, int i)
{
    const nde_schedule *s = c->s;
    switch (spacing) {
    case NDE__SP_LOGSNR: {
        double lT = nde_schedule_lambda(s, t_T), l0 = nde_schedule_lambda(s, t_0);
        return nde_schedule_t_of_lambda(s, linspace_at(lT, l0, N + 1, i));
    }
    case NDE__SP_UNIFORM:
        return linspace_at(t_T, t_0, N + 1, i);
    case NDE__SP_QUADRATIC: {
        double r = linspace_at(sqrt(t_T), sqrt(t_0), N + 1, i);
        return r * r;
    }
    case NDE__SP_KARRAS: {
        if (i == 0) return t_T;
        if (i == N) return t_0;
        double smax = exp(-nde_schedule_lambda(s, t_T)), smin = exp(-nde_schedule_lambda(s, t_0));
        double ir = 1.0 / c->rho, a = pow(smax, ir), b = pow(smin, ir);
        double ramp = linspace_at(0.0, 1.0, N + 1, i);
        double st = pow(a + ramp * (b - a), c->rho);
        return nde_schedule_t_of_lambda(s, -log(st));
    }
    case NDE__SP_AYS_SD15: case NDE__SP_AYS_SDXL: case NDE__SP_AYS_SVD:
        return nde_schedule_t_of_lambda(s, -log(ays_sigma(spacing - NDE__SP_AYS_SD15, N, i)));
    default:   /* NDE__SP_CUSTOM */
        return c->o->timesteps[i];
    }
}

int nde__grid(nde__ctx *c, int spacing, double t_T, double t_0, int N, double *ts)
{
    if (spacing < NDE__SP_LOGSNR || spacing > NDE__SP_CUSTOM) return NDE_EINVAL;
    for (int i = 0; i <= N; i++) ts[i] = grid_at(c, spacing, t_T, t_0, N, i);
    return NDE_OK;
}

/* ---- the model adaptor ------------------------------------------------------ */

/* Quickselect: the k-th smallest of v[0..n-1] (reorders v). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                double tmp = v[i]; v[i] = v[j]; v[j] = tmp;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return v[k];
}

/* Reference dynamic_thresholding_fn: s = max(quantile(|x0|, ratio), max_val) per sample
 * (torch.quantile's linear interpolation), x0 <- clamp(x0, -s, s) / s. */
void nde__threshold(nde__ctx *c, double *x0)
{
    size_t d = c->dim;
    for (size_t b = 0; b < c->batch; b++) {
        double *row = x0 + b * d;
        for (size_t j = 0; j < d; j++) c->scr[j] = fabs(row[j]);
        double pos = c->th_ratio * (double)(d - 1);
        size_t lo = (size_t)floor(pos);
        double frac = pos - (double)lo;
        double q = select_kth(c->scr, d, lo);
        if (frac > 0 && lo + 1 < d) {
            double nxt = INFINITY;   /* smallest of the upper part = (lo+1)-th */
            for (size_t j = lo + 1; j < d; j++) if (c->scr[j] < nxt) nxt = c->scr[j];
            q = q + (nxt - q) * frac;
        }
        double sc = q > c->th_max ? q : c->th_max;
        for (size_t j = 0; j < d; j++) {
            double v = row[j];
            v = v < -sc ? -sc : (v > sc ? sc : v);
            row[j] = v / sc;
        }
    }
}

/* Model output m -> eps in place, for prediction kind pred at (x, alpha, sigma). */
static void to_eps(nde__ctx *c, const double *x, double a, double sg, double *m)
{
    size_t n = c->n;
    switch (c->pred) {
    case NDE_PRED_EPS: break;
    case NDE_PRED_X0:
        for (size_t i = 0; i < n; i++) m[i] = (x[i] - a * m[i]) / sg;
        break;
    case NDE_PRED_V:
        for (size_t i = 0; i < n; i++) m[i] = a * m[i] + sg * x[i];
        break;
    case NDE_PRED_SCORE:
        for (size_t i = 0; i < n; i++) m[i] = -sg * m[i];
        break;
    default: {  /* EDM: D = c_skip xt + c_out F, eps = (x - alpha D)/sigma */
        double st = sg / a, sd = c->sigma_data, r2 = st * st + sd * sd;
        double c_skip = sd * sd / r2, c_out = st * sd / sqrt(r2);
        for (size_t i = 0; i < n; i++) {
            double D = c_skip * (x[i] / a) + c_out * m[i];
            m[i] = (x[i] - a * D) / sg;
        }
    }
    }
}

static int callback_fail(nde__ctx *c, int rc, double t, const char *what)
{
    return nde__msg(c->err, c->errsz, NDE_ECALLBACK,
                    "%s returned %d at step %d (t = %.17g)", what, rc, c->step, t);
}

int nde__eval(nde__ctx *c, const double *x, double t, int want, double *out)
{
    nde__tp p = nde__tpoint(c->s, t);
    double a = p.a, sg = p.sg;
    size_t n = c->n;
    const double *xm = x;
    double tin;
    if (c->pred == NDE_PRED_EDM) {
        double st = sg / a, cin = 1.0 / sqrt(st * st + c->sigma_data * c->sigma_data);
        for (size_t i = 0; i < n; i++) c->xin[i] = x[i] / a * cin;
        xm = c->xin;
        tin = 0.25 * log(st);
    } else {
        tin = nde_schedule_model_time(c->s, t);
    }
    int rc = c->model(xm, tin, c->batch, c->dim, c->raw, c->user);
    if (rc != 0) return callback_fail(c, rc, t, "model");
    c->st.nfe++;
    to_eps(c, x, a, sg, c->raw);
    if (c->raw2) {
        rc = c->model(xm, tin, c->batch, c->dim, c->raw2, c->o->uncond_user);
        if (rc != 0) return callback_fail(c, rc, t, "model (unconditional)");
        to_eps(c, x, a, sg, c->raw2);
        double g = c->gscale;
        const double *u = c->raw2;
        for (size_t i = 0; i < n; i++) c->raw[i] = u[i] + g * (c->raw[i] - u[i]);
    }
    const double *e = c->raw;
    double chk = 0.0;
    if (want == NDE__WANT_EPS) {
        for (size_t i = 0; i < n; i++) { out[i] = e[i]; chk += e[i] * 0.0; }
    } else {
        for (size_t i = 0; i < n; i++) {
            double v = (x[i] - sg * e[i]) / a;
            out[i] = v;
            chk += v * 0.0;
        }
    }
    if (chk != 0.0) {
        size_t bad = 0;
        while (bad < n && isfinite(out[bad])) bad++;
        return nde__msg(c->err, c->errsz, NDE_ENONFINITE,
                        "model output is not finite at step %d (t = %.17g, model time %.17g): "
                        "element %zu (batch %zu, dim %zu) is %g", c->step, t, tin, bad,
                        bad / c->dim, bad % c->dim, bad < n ? out[bad] : NAN);
    }
    if (want == NDE__WANT_X0 && c->thresholding) nde__threshold(c, out);
    return NDE_OK;
}

/* Data prediction D at time t for the scaled state xt = x/alpha (k-diffusion samplers). */
int nde__eval_tilde(nde__ctx *c, const double *xt, double t, double *D)
{
    double a = nde_schedule_alpha(c->s, t);
    double *xs = c->xs;
    for (size_t i = 0; i < c->n; i++) xs[i] = a * xt[i];
    return nde__eval(c, xs, t, NDE__WANT_X0, D);
}

int nde__after_step(nde__ctx *c, int step, double t)
{
    c->st.steps++;
    c->st.accepted++;
    /* a step that produced a non-finite state (say, overflow) stops here */
    double chk = 0.0;
    for (size_t i = 0; i < c->n; i++) chk += c->x[i] * 0.0;
    if (chk != 0.0)
        return nde__msg(c->err, c->errsz, NDE_ENONFINITE,
                        "state is not finite after step %d (t = %.17g)", step, t);
    if (c->o->on_step) {
        int rc = c->o->on_step(step, t, c->x, c->batch, c->dim, c->o->on_step_user);
        if (rc != 0) return callback_fail(c, rc, t, "on_step");
    }
    return NDE_OK;
}

void nde__noise(nde__ctx *c, int step, int stage, double *z)
{
    nde__rand_normals(c->seed, NDE_STREAM_SAMPLER(step, stage), c->n, z);
}

/* ---- option resolution and validation ---------------------------------------- */

static int parse_spacing(const char *sp, int *out)
{
    static const struct { const char *name; int id; } tab[] = {
        { "logsnr", NDE__SP_LOGSNR }, { "exponential", NDE__SP_LOGSNR },
        { "time_uniform", NDE__SP_UNIFORM }, { "time_quadratic", NDE__SP_QUADRATIC },
        { "karras", NDE__SP_KARRAS }, { "ays_sd15", NDE__SP_AYS_SD15 },
        { "ays_sdxl", NDE__SP_AYS_SDXL }, { "ays_svd", NDE__SP_AYS_SVD },
        { "custom", NDE__SP_CUSTOM },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (streq_ci(sp, tab[i].name)) { *out = tab[i].id; return 1; }
    return 0;
}

static int bad(nde__ctx *c, const char *fmt, double v)
{
    return nde__msg(c->err, c->errsz, NDE_EINVAL, fmt, v);
}

#define NDE__KNOWN_SAMPLERS_MAX 1024
static int unknown_sampler(nde__ctx *c, const char *name)
{
    char list[NDE__KNOWN_SAMPLERS_MAX];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < NDE__NSAMPLERS; i++) {
        const char *nm = samplers[i].info.name;
        size_t l = strlen(nm);
        if (len + l + 2 >= sizeof list) break;
        if (len) { list[len++] = ' '; }
        memcpy(list + len, nm, l);
        len += l;
        list[len] = '\0';
    }
    return nde__msg(c->err, c->errsz, NDE_EINVAL, "unknown sampler '%s' (known: %s)",
                    name, list);
}

/* Option defaults (the header documents each with its field). */
#define NDE__DEFAULT_STEPS 20
#define NDE__DEFAULT_TH_RATIO 0.995     /* Imagen (Saharia et al. 2022), reference default */
#define NDE__DEFAULT_TH_MAX 1.0         /* reference max_val */
#define NDE__DEFAULT_SIGMA_DATA 0.5     /* EDM (Karras et al. 2022) */
#define NDE__DEFAULT_RHO 7.0            /* EDM karras spacing */
/* DPM-Solver-12/23 (reference dpm_solver_adaptive defaults) */
#define NDE__DEFAULT_ATOL 0.0078
#define NDE__DEFAULT_RTOL 0.05
#define NDE__DEFAULT_H_INIT 0.05
#define NDE__DEFAULT_THETA 0.9
#define NDE__DEFAULT_T_ERR 1e-5
#define NDE__DEFAULT_MAX_STEPS 100000
/* Largest `steps`. Far above any use (samplers run 10 to a few thousand steps), it
 * bounds the work of validation and of nde_diffusion_plan, which walk the grid point by
 * point (about 0.1 us each): a million steps cost a fraction of a second. */
#define NDE__STEPS_MAX 1000000
/* The workspace holds at most this many state-sized vectors (1 + NDE__NBUF_MAX + 4 are
 * used); batch x dim is rejected above SIZE_MAX / this so no size product overflows. */
#define NDE__WORK_VECS_MAX 16
_Static_assert(1 + NDE__NBUF_MAX + 4 <= NDE__WORK_VECS_MAX, "workspace vectors");

/* The schedule is usable at t: alpha and sigma positive and finite, lambda finite. */
static int in_domain(const nde_schedule *s, double t)
{
    nde__tp p = nde__tpoint(s, t);
    return p.a > 0 && p.sg > 0 && isfinite(p.a) && isfinite(p.sg) && isfinite(p.lam);
}

static const char *spacing_name(int spacing)
{
    static const char *const names[] = { "logsnr", "time_uniform", "time_quadratic",
                                         "karras", "ays_sd15", "ays_sdxl", "ays_svd",
                                         "custom" };
    return names[spacing];
}

/* The fixed-step grid must be usable by every sampler: finite times inside the
 * schedule's domain, strictly decreasing, with lambda strictly increasing and
 * sigma/alpha strictly decreasing (each step has h > 0; the samplers divide by step
 * lengths and history differences). A Karras grid with an extreme rho, t_end a few ULPs
 * below t_start or steps so many that neighbouring times coincide fail here, before
 * any model call. O(steps) schedule evaluations, no workspace. */
static int check_grid(nde__ctx *c)
{
    const nde_schedule *s = c->s;
    nde__tp prev = { 0, 0, 0, 0, 0 };
    for (int i = 0; i <= c->steps; i++) {
        double t = grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, i);
        nde__tp p = nde__tpoint(s, t);
        int ok = isfinite(t) && in_domain(s, t);
        if (ok && i > 0) ok = t < prev.t && p.lam > prev.lam && p.sg / p.a < prev.sg / prev.a;
        if (!ok) {
            char rho[48] = "", after[48] = "";
            if (c->spacing == NDE__SP_KARRAS) snprintf(rho, sizeof rho, " (rho = %g)", c->rho);
            if (i > 0) snprintf(after, sizeof after, " after %.17g", prev.t);
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "the '%s' time grid%s of %d steps from %.17g to %.17g is not "
                            "usable: time %d is %.17g (lambda %.17g)%s; times must be "
                            "finite, inside the schedule's domain and strictly decreasing "
                            "with lambda strictly increasing", spacing_name(c->spacing), rho,
                            c->steps, c->t_T, c->t_0, i, t, p.lam, after);
        }
        prev = p;
    }
    return NDE_OK;
}

static int resolve(nde__ctx *c, const nde_schedule *s, nde_denoiser model, int pred,
                   const nde_sampler_options *o, size_t batch, size_t dim)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->err = o ? o->errbuf : NULL;
    c->errsz = o ? o->errbuf_size : 0;
    if (c->err && c->errsz) c->err[0] = '\0';
    if (!o) return NDE_EINVAL;
    if (!s) return nde__msg(c->err, c->errsz, NDE_EINVAL, "schedule is NULL");
    c->s = s;
    c->model = model;
    c->pred = pred;
    if (pred < NDE_PRED_EPS || pred > NDE_PRED_EDM)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "unknown prediction kind %d (NDE_PRED_EPS..NDE_PRED_EDM)", pred);
    c->batch = batch;
    c->dim = dim;
    size_t nmax;
    if (nde__size_mul(batch, dim, &c->n) || nde__size_mul(c->n, NDE__WORK_VECS_MAX, &nmax))
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "batch x dim = %zu x %zu overflows the workspace size", batch, dim);

    const char *name = o->sampler ? o->sampler : "dpmsolver++";
    const nde__sampler *smp = find_sampler(name);
    if (!smp) return unknown_sampler(c, name);
    c->smp = smp;
    const nde_sampler_info *si = &smp->info;

    /* method: `method` names one of the sampler's own; `multistep` only matters where
     * there is a choice (has_singlestep) */
    int own = smp->method >= 0 ? smp->method
            : !si->has_singlestep ? NDE__M_MULTISTEP : -1;   /* -1: any of the four */
    if (o->method) {
        int m;
        if (streq_ci(o->method, "multistep")) m = NDE__M_MULTISTEP;
        else if (streq_ci(o->method, "singlestep")) m = NDE__M_SINGLESTEP;
        else if (streq_ci(o->method, "singlestep_fixed")) m = NDE__M_FIXED;
        else if (streq_ci(o->method, "adaptive")) m = NDE__M_ADAPTIVE;
        else return nde__msg(c->err, c->errsz, NDE_EINVAL,
                             "unknown method '%s' (multistep singlestep singlestep_fixed "
                             "adaptive)", o->method);
        if (own >= 0 && m != own)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "method '%s' does not apply to sampler '%s' (its method is %s)",
                            o->method, si->name,
                            own == NDE__M_ADAPTIVE ? "adaptive" : "multistep");
        c->method = m;
    } else if (own >= 0) {
        c->method = own;
    } else {
        c->method = o->multistep ? NDE__M_MULTISTEP : NDE__M_SINGLESTEP;
    }

    /* order */
    c->order = o->order == 0 ? si->order_default : o->order;
    if (c->method == NDE__M_ADAPTIVE && o->order == 0) c->order = 3;
    int omin = si->order_min, omax = si->order_max;
    if (c->method == NDE__M_ADAPTIVE) { omin = 2; omax = 3; }
    if (c->order < omin || c->order > omax)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "order %d is out of range for sampler '%s'%s (%d..%d)", o->order,
                        si->name, c->method == NDE__M_ADAPTIVE ? " (adaptive)" : "",
                        omin, omax);

    /* solver type, variant */
    c->taylor = 0;
    if (o->solver_type) {
        if (streq_ci(o->solver_type, "dpmsolver") || streq_ci(o->solver_type, "midpoint"))
            c->taylor = 0;
        else if (streq_ci(o->solver_type, "taylor") || streq_ci(o->solver_type, "heun"))
            c->taylor = 1;
        else return nde__msg(c->err, c->errsz, NDE_EINVAL,
                             "unknown solver_type '%s' (dpmsolver or taylor)", o->solver_type);
    }
    c->bh2 = 0;
    if (o->variant) {
        if (streq_ci(o->variant, "bh1")) c->bh2 = 0;
        else if (streq_ci(o->variant, "bh2")) c->bh2 = 1;
        else return nde__msg(c->err, c->errsz, NDE_EINVAL,
                             "unknown UniPC variant '%s' (bh1 or bh2)", o->variant);
    }

    /* spacing and times */
    if (o->spacing) {
        if (!parse_spacing(o->spacing, &c->spacing))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "unknown spacing '%s' (logsnr time_uniform time_quadratic karras "
                            "ays_sd15 ays_sdxl ays_svd custom)", o->spacing);
    } else {
        c->spacing = (s->kind == NDE__SCHED_VE || s->kind == NDE__SCHED_EDM)
                     ? NDE__SP_KARRAS : NDE__SP_UNIFORM;
    }
    if (o->steps < 0) return bad(c, "steps must be >= 1, got %g", (double)o->steps);
    if (o->steps > NDE__STEPS_MAX)
        return nde__msg(c->err, c->errsz, NDE_EINVAL, "steps must be <= %d, got %d",
                        NDE__STEPS_MAX, o->steps);
    c->steps = o->steps == 0 ? NDE__DEFAULT_STEPS : o->steps;
    c->t_T = o->t_start == 0 ? s->T : o->t_start;
    c->t_0 = o->t_end == 0 ? s->t_eps : o->t_end;
    if (c->spacing == NDE__SP_CUSTOM) {
        if (!o->timesteps || o->n_timesteps < 2)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "spacing 'custom' needs timesteps with n_timesteps >= 2");
        if (o->n_timesteps - 1 > (size_t)NDE__STEPS_MAX)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "spacing 'custom': n_timesteps = %zu is too large", o->n_timesteps);
        if (o->steps == 0) c->steps = (int)(o->n_timesteps - 1);
        if ((size_t)c->steps + 1 != o->n_timesteps)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "spacing 'custom' needs steps + 1 = %d times, got n_timesteps = %zu",
                            c->steps + 1, o->n_timesteps);
        for (size_t i = 0; i < o->n_timesteps; i++) {
            double v = o->timesteps[i];
            if (!isfinite(v) || !(v > 0) || (i > 0 && !(v < o->timesteps[i - 1])))
                return nde__msg(c->err, c->errsz, NDE_EINVAL,
                                "custom timesteps must be finite, > 0 and strictly "
                                "decreasing: timesteps[%zu] = %g", i, v);
            if (!in_domain(s, v))
                return nde__msg(c->err, c->errsz, NDE_EINVAL,
                                "custom timesteps[%zu] = %g is outside the domain of schedule "
                                "'%s' (alpha, sigma > 0 and lambda finite needed)", i, v,
                                nde_schedule_name(s));
        }
        c->t_T = o->timesteps[0];
        c->t_0 = o->timesteps[o->n_timesteps - 1];
    } else if (c->spacing >= NDE__SP_AYS_SD15 && c->spacing <= NDE__SP_AYS_SVD) {
        const double *tab = ays_tables[c->spacing - NDE__SP_AYS_SD15];
        c->t_T = nde_schedule_t_of_lambda(s, -log(tab[0]));
        c->t_0 = nde_schedule_t_of_lambda(s, -log(tab[10]));
    }
    if (!isfinite(c->t_T) || !isfinite(c->t_0))
        return nde__msg(c->err, c->errsz, NDE_EINVAL, "t_start = %g and t_end = %g must be finite",
                        c->t_T, c->t_0);
    if (!(c->t_0 > 0))
        return bad(c, "t_end must be > 0 (lambda is infinite at t = 0; use denoise_to_zero), "
                      "got %g", c->t_0);
    if (!(c->t_0 < c->t_T))
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "t_end (%g) must be < t_start (%g): sampling runs from noise to data",
                        c->t_0, c->t_T);
    if (s->kind == NDE__SCHED_VE && (c->t_T > 1.0 || c->t_0 < 0.0))
        return bad(c, "ve schedule times must lie in (0, 1], got t_start = %g", c->t_T);
    for (int end = 0; end < 2; end++) {
        double t = end ? c->t_0 : c->t_T;
        if (!in_domain(s, t)) {
            nde__tp p = nde__tpoint(s, t);
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "%s = %g is outside the domain of schedule '%s': alpha = %g, "
                            "sigma = %g, lambda = %g (alpha, sigma > 0 and lambda finite "
                            "needed)", end ? "t_end" : "t_start", t, nde_schedule_name(s),
                            p.a, p.sg, p.lam);
        }
    }

    /* NFE vs order */
    if (c->method == NDE__M_MULTISTEP && (smp->run == nde__run_dpm || smp->run == nde__run_unipc
                                          || smp->run == nde__run_sde_multistep)
        && c->steps < c->order)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "sampler '%s' multistep order %d needs steps >= %d, got %d",
                        si->name, c->order, c->order, c->steps);
    if (c->method == NDE__M_FIXED && c->steps < c->order)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "singlestep_fixed order %d needs steps >= %d (NFE = steps/order*order), "
                        "got %d", c->order, c->order, c->steps);

    c->denoise_to_zero = o->denoise_to_zero != 0;
    c->lower_order_final = o->lower_order_final != 0;
    c->d2_weight = smp->d2_weight ? (double)smp->d2_weight : 1.0;

    /* stochastic */
    c->eta = o->eta < 0 ? smp->eta_default : o->eta;
    if (!isfinite(c->eta)) return bad(c, "eta must be finite, got %g", c->eta);
    if (smp->family == NDE__SDE_NOISE && smp->run == nde__run_sde_multistep
        && c->eta != 0.0 && c->eta != 1.0)
        return bad(c, "dpmsolver_sde supports eta 0 or 1 only, got %g", c->eta);
    c->s_noise = o->s_noise == 0 ? 1.0 : o->s_noise;
    if (!(c->s_noise >= 0) || !isfinite(c->s_noise))
        return bad(c, "s_noise must be finite and >= 0, got %g", c->s_noise);
    c->s_churn = o->s_churn;
    c->s_tmin = o->s_tmin;
    c->s_tmax = o->s_tmax == 0 ? INFINITY : o->s_tmax;
    if (!(c->s_tmin >= 0) || !isfinite(c->s_tmin))
        return bad(c, "s_tmin must be finite and >= 0, got %g", c->s_tmin);
    if (!(c->s_tmax > 0))
        return bad(c, "s_tmax must be > 0 (0: +inf), got %g", c->s_tmax);
    if (!(c->s_churn >= 0) || !isfinite(c->s_churn))
        return bad(c, "s_churn must be finite and >= 0, got %g", c->s_churn);
    c->seed = o->seed;

    /* adaptor */
    c->thresholding = o->thresholding != 0;
    if (c->thresholding && !si->data_form && smp->run != nde__run_ddim)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "thresholding clips x0-hat: it applies to data-form samplers and "
                        "ddim, not to '%s' (noise form)", si->name);
    c->th_ratio = o->thresholding_ratio == 0 ? NDE__DEFAULT_TH_RATIO : o->thresholding_ratio;
    c->th_max = o->thresholding_max_val == 0 ? NDE__DEFAULT_TH_MAX : o->thresholding_max_val;
    if (!(c->th_ratio > 0 && c->th_ratio <= 1))
        return bad(c, "thresholding_ratio must lie in (0, 1], got %g", c->th_ratio);
    if (!(c->th_max > 0) || !isfinite(c->th_max))
        return bad(c, "thresholding_max_val must be > 0, got %g", c->th_max);
    c->gscale = o->guidance_scale;
    if (!isfinite(c->gscale)) return bad(c, "guidance_scale must be finite, got %g", c->gscale);
    c->sigma_data = o->sigma_data == 0 ? NDE__DEFAULT_SIGMA_DATA : o->sigma_data;
    if (!(c->sigma_data > 0) || !isfinite(c->sigma_data))
        return bad(c, "sigma_data must be > 0, got %g", c->sigma_data);
    c->rho = o->rho == 0 ? NDE__DEFAULT_RHO : o->rho;
    if (!(c->rho > 0) || !isfinite(c->rho)) return bad(c, "rho must be > 0, got %g", c->rho);

    /* adaptive */
    c->atol = o->atol == 0 ? NDE__DEFAULT_ATOL : o->atol;
    c->rtol = o->rtol == 0 ? NDE__DEFAULT_RTOL : o->rtol;
    c->h_init = o->h_init == 0 ? NDE__DEFAULT_H_INIT : o->h_init;
    c->theta = o->theta == 0 ? NDE__DEFAULT_THETA : o->theta;
    c->t_err = o->t_err == 0 ? NDE__DEFAULT_T_ERR : o->t_err;
    c->max_steps = o->max_steps == 0 ? NDE__DEFAULT_MAX_STEPS : o->max_steps;
    if (c->method == NDE__M_ADAPTIVE) {
        if (!(c->atol > 0) || !(c->rtol >= 0) || !isfinite(c->atol) || !isfinite(c->rtol))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "adaptive tolerances must be atol > 0, rtol >= 0, got %g, %g",
                            c->atol, c->rtol);
        if (!(c->h_init > 0) || !(c->theta > 0) || !(c->t_err > 0))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "adaptive h_init, theta, t_err must be > 0, got %g, %g, %g",
                            c->h_init, c->theta, c->t_err);
        /* the first step is h_init unclipped (as the reference): it must not pass t_end */
        double range = nde_schedule_lambda(s, c->t_0) - nde_schedule_lambda(s, c->t_T);
        if (!(c->h_init <= range))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "adaptive h_init = %g must be <= lambda(t_end) - lambda(t_start) "
                            "= %g (the first step would pass t_end)", c->h_init, range);
        return NDE_OK;
    }
    return check_grid(c);
}

static size_t plan_nfe(const nde__ctx *c)
{
    size_t steps = (size_t)c->steps, nfe;
    if (c->smp->run == nde__run_dpm) {
        switch (c->method) {
        case NDE__M_ADAPTIVE: return 0;
        case NDE__M_FIXED: nfe = steps / (size_t)c->order * (size_t)c->order; break;
        default: nfe = steps;
        }
    } else if (c->smp->run == nde__run_ancestral && c->smp->family != NDE__ANC_EULER) {
        /* dpm2_ancestral, dpmpp_2s_ancestral: a step with sigma_down = 0 (eta > 1 can
         * give one) is a single Euler step to D, 1 NFE; the same test as the sampler */
        nfe = 0;
        nde__tp ps = nde__tpoint(c->s, grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, 0));
        for (int i = 0; i < c->steps; i++) {
            nde__tp pt = nde__tpoint(c->s, grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, i + 1));
            double sd, su;
            nde__ancestral_step(ps.sg / ps.a, pt.sg / pt.a, c->eta, &sd, &su);
            nfe += sd == 0.0 ? 1 : 2;
            ps = pt;
        }
    } else if (c->smp->nfe_kind == 2) {
        nfe = 2 * steps;
    } else {
        nfe = steps;
    }
    return nfe + (c->denoise_to_zero ? 1 : 0);
}

int nde_diffusion_plan(const nde_schedule *s, const nde_sampler_options *o, int *order,
                       size_t *nfe)
{
    nde__ctx c;
    int rc = resolve(&c, s, NULL, NDE_PRED_EPS, o, 1, 1);
    if (rc != NDE_OK) return rc;
    if (order) *order = conv_order(c.smp, c.order, c.method);
    if (nfe) *nfe = plan_nfe(&c);
    return NDE_OK;
}

int nde_diffusion_timesteps(const nde_schedule *s, const nde_sampler_options *o,
                            double *ts, size_t n_ts, size_t *n_out)
{
    nde__ctx c;
    int rc = resolve(&c, s, NULL, NDE_PRED_EPS, o, 1, 1);
    if (rc != NDE_OK) return rc;
    if (c.method == NDE__M_ADAPTIVE)
        return nde__msg(c.err, c.errsz, NDE_EUNSUPPORTED,
                        "the adaptive method has no fixed time grid");
    if (!ts || n_ts < (size_t)c.steps + 1)
        return nde__msg(c.err, c.errsz, NDE_EINVAL,
                        "ts needs room for %d times, got %zu", c.steps + 1, n_ts);
    if (!(c.smp->run == nde__run_dpm && c.method != NDE__M_MULTISTEP)) {
        rc = nde__grid(&c, c.spacing, c.t_T, c.t_0, c.steps, ts);
        if (rc != NDE_OK) return rc;
    }
    size_t cnt = (size_t)c.steps + 1;
    if (c.smp->run == nde__run_dpm && c.method != NDE__M_MULTISTEP) {
        int K = 0;
        rc = nde__dpm_outer(&c, ts, &K);   /* in place: outer ends of the singlestep steps */
        if (rc != NDE_OK) return rc;
        cnt = (size_t)K + 1;
    }
    if (n_out) *n_out = cnt;
    return NDE_OK;
}

/* ---- the driver ------------------------------------------------------------- */

int nde_diffusion_sample(const nde_schedule *s, nde_denoiser model, int prediction,
                         void *user, const nde_sampler_options *o,
                         double *x, size_t batch, size_t dim, nde_stats *stats)
{
    nde__ctx c;
    if (stats) memset(stats, 0, sizeof *stats);
    int rc = resolve(&c, s, model, prediction, o, batch, dim);
    if (rc != NDE_OK) return rc;
    if (!model) return nde__msg(c.err, c.errsz, NDE_EINVAL, "model is NULL");
    if (!x) return nde__msg(c.err, c.errsz, NDE_EINVAL, "x is NULL");
    if (batch == 0 || dim == 0)
        return nde__msg(c.err, c.errsz, NDE_EINVAL, "batch and dim must be >= 1, got %zu, %zu",
                        batch, dim);
    c.user = user;

    /* one workspace: state copy, sampler buffers, model output(s), inputs, grids */
    int guided = o->uncond_user && c.gscale != 0.0 && c.gscale != 1.0;
    size_t n = c.n, nb = (size_t)c.smp->nbuf;
    size_t nvec = 1 + nb + 1 + (guided ? 1 : 0) + (prediction == NDE_PRED_EDM ? 1 : 0)
                  + (c.smp->tilde ? 1 : 0);
    size_t ngrid = (size_t)c.steps + 1;                               /* ts */
    size_t bytes = 0;
    if (nde__size_muladd(&bytes, nvec, n) || nde__size_add(bytes, dim, &bytes)
        || nde__size_add(bytes, ngrid, &bytes) || nde__size_mul(bytes, sizeof(double), &bytes))
        return nde__msg(c.err, c.errsz, NDE_ENOMEM,
                        "the workspace size (%zu vectors of batch x dim = %zu doubles) "
                        "overflows", nvec, n);
    nde_allocator al = nde__allocator_resolve(o->allocator);
    double *w = nde__alloc(&al, bytes);
    if (!w) return nde__msg(c.err, c.errsz, NDE_ENOMEM, "cannot allocate %zu bytes", bytes);
    /* x is read only once its size has passed the workspace allocation */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            nde__free(&al, w, bytes);
            return nde__msg(c.err, c.errsz, NDE_EINVAL,
                            "x_T is not finite: element %zu is %g", i, x[i]);
        }
    double *p = w;
    c.x = p; p += n;
    for (size_t i = 0; i < nb; i++) { c.buf[i] = p; p += n; }
    c.raw = p; p += n;
    c.raw2 = guided ? p : NULL; p += guided ? n : 0;
    c.xin = prediction == NDE_PRED_EDM ? p : NULL; p += prediction == NDE_PRED_EDM ? n : 0;
    if (c.smp->tilde) { c.xs = p; p += n; }
    c.scr = p; p += dim;
    c.ts = p;

    memcpy(c.x, x, n * sizeof *x);
    rc = c.smp->run(&c);
    if (rc == NDE_OK && c.denoise_to_zero && !c.denoised) {
        c.step++;
        rc = nde__eval(&c, c.x, c.t_0, NDE__WANT_X0, c.x);
    }
    if (rc == NDE_OK) memcpy(x, c.x, n * sizeof *x);
    if (stats) *stats = c.st;
    nde__free(&al, w, bytes);
    return rc;
}
