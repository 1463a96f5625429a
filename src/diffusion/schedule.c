/* Noise schedules: log alpha(t), sigma(t), lambda(t) and t(lambda).
 *
 * VP schedules follow LuChengTHU/dpm-solver NoiseScheduleVP (dpm_solver_pytorch.py;
 * the cosine schedule from its commit before 0fdeb80 and dpm_solver_jax.py):
 *   sigma  = sqrt(1 - alpha^2)            computed as sqrt(-expm1(2 log alpha))
 *   lambda = log alpha - 1/2 log(sigma^2) computed with log(-expm1(2 log alpha))
 *   t(lambda): log alpha = -1/2 logaddexp(0, -2 lambda), then the schedule's inverse.
 * VE/EDM schedules (alpha = 1) follow NoiseScheduleEDM of thu-ml/DPM-Solver-v3. */
#include "diffusion/internal.h"

#include <math.h>
#include <string.h>

#define NDE__PI 3.14159265358979323846
/* Reference numerical_clip_alpha: drop the tail of a discrete table below this lambda
 * (the linear DDPM schedule reaches -5.02; cosine tables reach -10). */
#define NDE__DISCRETE_LAMBDA_CLIP (-5.1)
/* Reference cosine end time (T = 1 is singular). */
#define NDE__COSINE_T 0.9946
/* Reference total_N of continuous schedules: default t_end = 1/total_N. */
#define NDE__CONTINUOUS_N 1000.0

static double logaddexp0(double y) /* log(1 + e^y) */
{
    return y > 0 ? y + log1p(exp(-y)) : log1p(exp(y));
}

static nde_schedule *sched_new(int kind, const nde_allocator *a)
{
    nde_allocator al = nde__allocator_resolve(a);
    nde_schedule *s = nde__calloc(&al, 1, sizeof *s);
    if (!s) return NULL;
    s->kind = kind;
    s->alloc = al;
    s->T = 1.0;
    s->t_eps = 1.0 / NDE__CONTINUOUS_N;
    return s;
}

nde_schedule *nde_schedule_vp_linear_ex(double beta_min, double beta_max,
                                        const nde_allocator *a)
{
    if (!isfinite(beta_min) || !isfinite(beta_max) || beta_min < 0 || beta_max < beta_min
        || beta_max <= 0)
        return NULL;
    nde_schedule *s = sched_new(NDE__DIFF_SCHED_VP_LINEAR, a);
    if (!s) return NULL;
    s->b0 = beta_min;
    s->b1 = beta_max;
    return s;
}

nde_schedule *nde_schedule_vp_linear(double beta_min, double beta_max)
{
    return nde_schedule_vp_linear_ex(beta_min, beta_max, NULL);
}

nde_schedule *nde_schedule_vp_cosine_ex(double cs, const nde_allocator *a)
{
    if (!isfinite(cs) || cs < 0 || cs > 1) return NULL;
    nde_schedule *s = sched_new(NDE__DIFF_SCHED_VP_COSINE, a);
    if (!s) return NULL;
    s->cs = cs;
    s->clog_a0 = log(cos(cs / (1.0 + cs) * NDE__PI / 2.0));
    s->T = NDE__COSINE_T;
    return s;
}

nde_schedule *nde_schedule_vp_cosine(double cs)
{
    return nde_schedule_vp_cosine_ex(cs, NULL);
}

/* The discrete constructors: a schedule whose table block has room for 2 n doubles
 * (checked: n comes from the caller), log alpha_i to be written at la_arr = mem + n. */
static nde_schedule *discrete_new(size_t n, const nde_allocator *a)
{
    size_t bytes;
    if (nde__size_mul(n, 2 * sizeof(double), &bytes)) return NULL;
    nde_schedule *s = sched_new(NDE__DIFF_SCHED_VP_DISCRETE, a);
    if (!s) return NULL;
    double *mem = nde__alloc(&s->alloc, bytes);
    if (!mem) { nde__free(&s->alloc, s, sizeof *s); return NULL; }
    s->bytes = bytes;
    s->t_arr = mem;
    s->la_arr = mem + n;
    return s;
}

/* Common tail of the two discrete constructors: la_arr holds log alpha_n (n entries).
 * Drops the tail with lambda < -5.1 (reference numerical_clip_alpha) and places the
 * kept m entries at t_n = (n+1)/m. The table must be strictly decreasing in log alpha
 * (else t(lambda) is not a function: betas too small to change log alpha in double
 * precision make equal entries), or the schedule is rejected (freed, NULL). */
static nde_schedule *discrete_finish(nde_schedule *s, size_t n)
{
    const double *la = s->la_arr;
    size_t drop = 0;
    for (size_t i = n; i-- > 0;) {
        double lam = la[i] - 0.5 * log(-expm1(2.0 * la[i]));
        if (lam < NDE__DISCRETE_LAMBDA_CLIP) drop++;
        else break;
    }
    size_t m = n - drop;
    int ok = m >= 2;
    for (size_t i = 1; ok && i < m; i++) ok = la[i] < la[i - 1];
    if (!ok) { nde_schedule_free(s); return NULL; }
    s->n = m;
    for (size_t i = 0; i < m; i++) s->t_arr[i] = (double)(i + 1) / (double)m;
    s->T = 1.0;
    s->t_eps = 1.0 / (double)m;
    return s;
}

nde_schedule *nde_schedule_vp_discrete_ex(const double *betas, size_t n,
                                          const nde_allocator *a)
{
    if (!betas || n < 2) return NULL;
    nde_schedule *s = discrete_new(n, a);
    if (!s) return NULL;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(betas[i] > 0.0 && betas[i] < 1.0)) { nde_schedule_free(s); return NULL; }
        acc += log1p(-betas[i]);
        s->la_arr[i] = 0.5 * acc;
    }
    return discrete_finish(s, n);
}

nde_schedule *nde_schedule_vp_discrete(const double *betas, size_t n)
{
    return nde_schedule_vp_discrete_ex(betas, n, NULL);
}

nde_schedule *nde_schedule_vp_discrete_alphas_cumprod_ex(const double *acp, size_t n,
                                                         const nde_allocator *a)
{
    if (!acp || n < 2) return NULL;
    nde_schedule *s = discrete_new(n, a);
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(acp[i] > 0.0 && acp[i] < 1.0) || (i > 0 && !(acp[i] < acp[i - 1]))) {
            nde_schedule_free(s);
            return NULL;
        }
        s->la_arr[i] = 0.5 * log(acp[i]);
    }
    return discrete_finish(s, n);
}

nde_schedule *nde_schedule_vp_discrete_alphas_cumprod(const double *acp, size_t n)
{
    return nde_schedule_vp_discrete_alphas_cumprod_ex(acp, n, NULL);
}

nde_schedule *nde_schedule_ve_ex(double sigma_min, double sigma_max, const nde_allocator *a)
{
    /* sigma = smin (smax/smin)^t needs a finite ratio */
    if (!isfinite(sigma_min) || !isfinite(sigma_max) || !(sigma_min > 0)
        || !(sigma_max > sigma_min) || !isfinite(sigma_max / sigma_min))
        return NULL;
    nde_schedule *s = sched_new(NDE__DIFF_SCHED_VE, a);
    if (!s) return NULL;
    s->smin = sigma_min;
    s->smax = sigma_max;
    return s;
}

nde_schedule *nde_schedule_ve(double sigma_min, double sigma_max)
{
    return nde_schedule_ve_ex(sigma_min, sigma_max, NULL);
}

nde_schedule *nde_schedule_edm_ex(double sigma_min, double sigma_max, const nde_allocator *a)
{
    if (!isfinite(sigma_min) || !isfinite(sigma_max) || !(sigma_min > 0)
        || !(sigma_max > sigma_min))
        return NULL;
    nde_schedule *s = sched_new(NDE__DIFF_SCHED_EDM, a);
    if (!s) return NULL;
    s->smin = sigma_min;
    s->smax = sigma_max;
    s->T = sigma_max;
    s->t_eps = sigma_min;
    return s;
}

nde_schedule *nde_schedule_edm(double sigma_min, double sigma_max)
{
    return nde_schedule_edm_ex(sigma_min, sigma_max, NULL);
}

void nde_schedule_free(nde_schedule *s)
{
    if (!s) return;
    nde_allocator al = s->alloc;
    if (s->t_arr) nde__free(&al, s->t_arr, s->bytes);
    nde__free(&al, s, sizeof *s);
}

/* Piecewise-linear interpolation through (xp[i], yp[i]), k >= 2 points, xp strictly
 * monotone (either direction; the discrete constructors ensure it), with linear
 * extrapolation by the end segments: the reference interpolate_fn. NaN gives NaN. */
static double interp(double x, const double *xp, const double *yp, size_t k)
{
    if (isnan(x)) return x;
    int inc = xp[k - 1] > xp[0];
    size_t lo;
    /* find the segment [lo, lo+1] containing x, clamped to the end segments */
    if (k == 2 || (inc ? x <= xp[1] : x >= xp[1])) {
        lo = 0;
    } else if (inc ? x >= xp[k - 2] : x <= xp[k - 2]) {
        lo = k - 2;
    } else {
        /* here k >= 4 (for k = 3, xp[1] = xp[k-2] and one test above holds) */
        size_t hi = k - 2;
        lo = 1;                  /* invariant: x between xp[lo] and xp[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (inc ? x >= xp[mid] : x <= xp[mid]) lo = mid; else hi = mid;
        }
    }
    double x0 = xp[lo], x1 = xp[lo + 1], y0 = yp[lo], y1 = yp[lo + 1];
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0);
}

/* vp_linear's inverse: the root t >= 0 of db/2 t^2 + b0 t = L, L = -2 log alpha =
 * log(1 + e^(-2 lambda)) >= 0, rationalised against cancellation,
 * t = 2 L / (b0 + sqrt(b0^2 + 2 db L)), and computed on scaled operands: b0^2 and
 * 2 db L overflow for betas above ~1e154 and underflow below ~1e-154 (fuzz finding F4),
 * and L itself underflows for lambda > ~354, while t is still representable. With
 * L = mL 2^eL (mL in [1/2, 1), taken from -2 lambda directly where e^(-2 lambda) would
 * be subnormal), db = md 2^ed likewise and 2^k near the larger of b0 and sqrt(db L):
 * k = max(e0, (ed + eL)/2) (e0 the exponent of b0), p = b0 2^-k < 1 and
 * q2 = 2 db L 2^-2k = 2 md mL 2^(ed+eL-2k) < 4; the larger of the two is >= 1/4 and the
 * smaller underflows only where it is negligible, so
 *   t = 2^(eL-k) 2 mL / (p + sqrt(p^2 + q2))
 * has a denominator in [1/2, 4] and one rounding into the result's range: a few ULP
 * (times the condition number |lambda|) for every pair of betas the constructor
 * accepts and every lambda. */
static double linear_t_of_lambda(double b0, double db, double lambda)
{
    /* fdlibm's split of log 2: eL * LN2_HI is exact for |eL| < 2^11 */
    static const double LN2_HI = 6.93147180369123816490e-01;
    static const double LN2_LO = 1.90821492927058770002e-10;
    double y = -2.0 * lambda, mL;
    int eL;
    if (isnan(y)) return y;
    if (y < -700.0) {
        /* L = e^y (log1p(x) = x to the last bit here); beyond y = -2400, L < 2^-3462
         * and t < 2^-1194 underflows to 0 for every accepted b0, db */
        if (y < -2400.0) return 0.0;
        eL = (int)floor(y / LN2_HI) + 1;
        mL = exp((y - eL * LN2_HI) - eL * LN2_LO);
    } else {
        double L = logaddexp0(y);
        if (isinf(L)) return L;                  /* lambda = -inf: t = +inf */
        mL = frexp(L, &eL);                      /* L > 0 here */
    }
    int ed = 0, e0 = 0;
    double md = db > 0.0 ? frexp(db, &ed) : 0.0;
    int k = (ed + eL) / 2;                       /* 2k in [ed+eL-1, ed+eL+1] */
    if (b0 > 0.0) {
        (void)frexp(b0, &e0);
        if (md == 0.0 || e0 > k) k = e0;
    }
    double p = ldexp(b0, -k), q2 = ldexp(2.0 * md * mL, ed + eL - 2 * k);
    return ldexp(2.0 * mL / (p + sqrt(p * p + q2)), eL - k);
}

/* Every accessor returns NaN for a NULL schedule (nde_schedule_name: NULL). */
double nde_schedule_log_alpha(const nde_schedule *s, double t)
{
    if (!s) return NAN;
    switch (s->kind) {
    case NDE__DIFF_SCHED_VP_LINEAR:
        return -0.25 * t * t * (s->b1 - s->b0) - 0.5 * t * s->b0;
    case NDE__DIFF_SCHED_VP_COSINE:
        return log(cos((t + s->cs) / (1.0 + s->cs) * NDE__PI / 2.0)) - s->clog_a0;
    case NDE__DIFF_SCHED_VP_DISCRETE: {
        /* t_n = (n+1)/N is uniform: locate the segment directly */
        size_t m = s->n;
        double p = t * (double)m - 1.0;
        size_t j;
        if (!(p > 0.0)) j = 0;
        else if (p >= (double)(m - 2)) j = m - 2;
        else j = (size_t)p;
        double x0 = s->t_arr[j], x1 = s->t_arr[j + 1];
        double y0 = s->la_arr[j], y1 = s->la_arr[j + 1];
        return y0 + (t - x0) * (y1 - y0) / (x1 - x0);
    }
    default:            /* ve, edm: alpha = 1 */
        return isnan(t) ? t : 0.0;
    }
}

double nde_schedule_alpha(const nde_schedule *s, double t)
{
    if (!s) return NAN;
    return exp(nde_schedule_log_alpha(s, t));
}

double nde_schedule_sigma(const nde_schedule *s, double t)
{
    if (!s) return NAN;
    switch (s->kind) {
    case NDE__DIFF_SCHED_VE: return s->smin * pow(s->smax / s->smin, t);
    case NDE__DIFF_SCHED_EDM: return t;
    default: return sqrt(-expm1(2.0 * nde_schedule_log_alpha(s, t)));
    }
}

double nde_schedule_lambda(const nde_schedule *s, double t)
{
    if (!s) return NAN;
    switch (s->kind) {
    case NDE__DIFF_SCHED_VE: return -log(s->smin) - t * log(s->smax / s->smin);
    case NDE__DIFF_SCHED_EDM: return -log(t);
    default: {
        double la = nde_schedule_log_alpha(s, t);
        return la - 0.5 * log(-expm1(2.0 * la));
    }
    }
}

double nde_schedule_t_of_lambda(const nde_schedule *s, double lambda)
{
    if (!s) return NAN;
    switch (s->kind) {
    case NDE__DIFF_SCHED_VE: return (-lambda - log(s->smin)) / log(s->smax / s->smin);
    case NDE__DIFF_SCHED_EDM: return exp(-lambda);
    default: break;
    }
    if (s->kind == NDE__DIFF_SCHED_VP_LINEAR)
        return linear_t_of_lambda(s->b0, s->b1 - s->b0, lambda);
    double L = logaddexp0(-2.0 * lambda);     /* -2 log alpha */
    switch (s->kind) {
    case NDE__DIFF_SCHED_VP_COSINE: {
        double la = -0.5 * L;
        return 2.0 * (1.0 + s->cs) / NDE__PI * acos(exp(la + s->clog_a0)) - s->cs;
    }
    default: {  /* discrete: interpolate the reversed table log alpha -> t */
        double la = -0.5 * L;
        return interp(la, s->la_arr, s->t_arr, s->n);
    }
    }
}

double nde_schedule_model_time(const nde_schedule *s, double t)
{
    if (!s) return NAN;
    if (s->kind == NDE__DIFF_SCHED_VP_DISCRETE) return (t - 1.0 / (double)s->n) * 1000.0;
    return t;
}

double nde_schedule_time_of_model_time(const nde_schedule *s, double mt)
{
    if (!s) return NAN;
    if (s->kind == NDE__DIFF_SCHED_VP_DISCRETE) return mt / 1000.0 + 1.0 / (double)s->n;
    return mt;
}

double nde_schedule_t_max(const nde_schedule *s) { return s ? s->T : NAN; }
double nde_schedule_t_min(const nde_schedule *s) { return s ? s->t_eps : NAN; }

const char *nde_schedule_name(const nde_schedule *s)
{
    if (!s) return NULL;
    switch (s->kind) {
    case NDE__DIFF_SCHED_VP_LINEAR: return "vp_linear";
    case NDE__DIFF_SCHED_VP_COSINE: return "vp_cosine";
    case NDE__DIFF_SCHED_VP_DISCRETE: return "vp_discrete";
    case NDE__DIFF_SCHED_VE: return "ve";
    default: return "edm";
    }
}

nde__diff_tp nde__diff_tpoint(const nde_schedule *s, double t)
{
    nde__diff_tp p;
    p.t = t;
    if (s->kind == NDE__DIFF_SCHED_VE || s->kind == NDE__DIFF_SCHED_EDM) {
        p.la = 0.0;
        p.a = 1.0;
        p.sg = nde_schedule_sigma(s, t);
        p.lam = nde_schedule_lambda(s, t);
    } else {
        p.la = nde_schedule_log_alpha(s, t);
        p.a = exp(p.la);
        double sg2 = -expm1(2.0 * p.la);
        p.sg = sqrt(sg2);
        p.lam = p.la - 0.5 * log(sg2);
    }
    return p;
}

/* VP: log alpha = -1/2 log(1 + e^(-2 lambda)), sigma^2 = 1 - alpha^2 = -expm1(2 log alpha)
 * (= sigmoid(-2 lambda)); VE, EDM: alpha = 1, sigma = e^-lambda. */
nde__diff_tp nde__diff_lpoint(const nde_schedule *s, double lambda)
{
    nde__diff_tp p;
    p.t = nde_schedule_t_of_lambda(s, lambda);
    p.lam = lambda;
    if (s->kind == NDE__DIFF_SCHED_VE || s->kind == NDE__DIFF_SCHED_EDM) {
        p.la = 0.0;
        p.a = 1.0;
        p.sg = exp(-lambda);
    } else {
        p.la = -0.5 * logaddexp0(-2.0 * lambda);
        p.a = exp(p.la);
        p.sg = sqrt(-expm1(2.0 * p.la));
    }
    return p;
}

int nde__diff_in_domain(const nde_schedule *s, double t)
{
    nde__diff_tp p = nde__diff_tpoint(s, t);
    /* the samplers also use sigma/alpha (k-diffusion coordinates, x/alpha) and
     * alpha/sigma: a subnormal alpha or sigma would make them overflow */
    return p.a > 0 && p.sg > 0 && isfinite(p.a) && isfinite(p.sg) && isfinite(p.lam)
           && isfinite(p.sg / p.a) && isfinite(p.a / p.sg);
}
