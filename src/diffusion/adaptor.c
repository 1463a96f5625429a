/* The model adaptor: whatever the model predicts (eps, x0, v, score, EDM F), the
 * samplers see eps-hat or x0-hat (reference model_wrapper: everything through eps-hat,
 * x0-hat = (x - sigma eps)/alpha), after classifier-free guidance and, for x0-hat,
 * dynamic thresholding; EDM-preconditioned models get their scaled input and c_noise.
 * Also the per-step hooks every sampler calls: the finiteness check and on_step after a
 * step, and the noise draws of a step. */
#include "diffusion/internal.h"

#include <math.h>
#include <string.h>

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
void nde__diff_threshold(double *x0, size_t batch, size_t dim, double ratio,
                         double max_val, double *scr)
{
    size_t d = dim;
    for (size_t b = 0; b < batch; b++) {
        double *row = x0 + b * d;
        for (size_t j = 0; j < d; j++) scr[j] = fabs(row[j]);
        double pos = ratio * (double)(d - 1);
        size_t lo = (size_t)floor(pos);
        double frac = pos - (double)lo;
        double q = select_kth(scr, d, lo);
        if (frac > 0 && lo + 1 < d) {
            double nxt = INFINITY;   /* smallest of the upper part = (lo+1)-th */
            for (size_t j = lo + 1; j < d; j++) if (scr[j] < nxt) nxt = scr[j];
            q = q + (nxt - q) * frac;
        }
        double sc = q > max_val ? q : max_val;
        for (size_t j = 0; j < d; j++) {
            double v = row[j];
            v = v < -sc ? -sc : (v > sc ? sc : v);
            row[j] = v / sc;
        }
    }
}

NDE__DIFF_VEC
static void x0_of_eps(size_t n, const double *x, const double *eps, double alpha,
                         double sigma, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = (x[i] - sigma * eps[i]) / alpha;
}

void nde__diff_x0_of_eps(size_t n, const double *x, const double *eps, double alpha,
                         double sigma, double *out)
{
    x0_of_eps(n, x, eps, alpha, sigma, out);
}

/* Model output m -> eps in place, for prediction kind pred at (x, alpha, sigma). */
NDE__DIFF_VEC
static void to_eps(nde__diff_ctx *c, const double *x, double a, double sg, double *m)
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

static int callback_fail(nde__diff_ctx *c, int rc, double t, const char *what)
{
    return nde__msg(c->err, c->errsz, NDE_ECALLBACK,
                    "%s returned %d at step %d (t = %.17g)", what, rc, c->step, t);
}

int nde__diff_eval(nde__diff_ctx *c, const double *x, double t, int want, double *out)
{
    nde__diff_tp p = nde__diff_tpoint(c->s, t);
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
    if (want == NDE__DIFF_WANT_EPS) memcpy(out, e, n * sizeof *out);
    else nde__diff_x0_of_eps(n, x, e, a, sg, out);
    if (!nde__num_all_finite(n, out)) {
        size_t bad = 0;
        while (bad < n && isfinite(out[bad])) bad++;
        return nde__msg(c->err, c->errsz, NDE_ENONFINITE,
                        "model output is not finite at step %d (t = %.17g, model time %.17g): "
                        "element %zu (batch %zu, dim %zu) is %g", c->step, t, tin, bad,
                        bad / c->dim, bad % c->dim, bad < n ? out[bad] : NAN);
    }
    if (want == NDE__DIFF_WANT_X0 && c->thresholding)
        nde__diff_threshold(out, c->batch, c->dim, c->th_ratio, c->th_max, c->scr);
    return NDE_OK;
}

NDE__DIFF_VEC
static int eval_tilde(nde__diff_ctx *c, const double *xt, double t, double *D)
{
    double a = nde_schedule_alpha(c->s, t);
    double *xs = c->xs;
    for (size_t i = 0; i < c->n; i++) xs[i] = a * xt[i];
    return nde__diff_eval(c, xs, t, NDE__DIFF_WANT_X0, D);
}

int nde__diff_eval_tilde(nde__diff_ctx *c, const double *xt, double t, double *D)
{
    return eval_tilde(c, xt, t, D);
}

int nde__diff_after_step(nde__diff_ctx *c, int step, double t)
{
    c->st.steps++;
    c->st.accepted++;
    /* a step that produced a non-finite state (say, overflow) stops here */
    if (!nde__num_all_finite(c->n, c->x))
        return nde__msg(c->err, c->errsz, NDE_ENONFINITE,
                        "state is not finite after step %d (t = %.17g)", step, t);
    if (c->o->on_step) {
        int rc = c->o->on_step(step, t, c->x, c->batch, c->dim, c->o->on_step_user);
        if (rc != 0) return callback_fail(c, rc, t, "on_step");
    }
    return NDE_OK;
}

void nde__diff_noise(const nde__diff_ctx *c, int step, int stage, double *z)
{
    nde__rand_normals(c->seed, NDE_STREAM_SAMPLER(step, stage), c->n, z);
}

int nde__diff_noise_over(nde__diff_ctx *c, int step, int stage, double a, double b, double *z)
{
    if (!c->trees) { nde__diff_noise(c, step, stage, z); return NDE_OK; }
    /* The grid's first time comes back from lambda space, so its noise level can exceed
     * the span the trees were made with (that of t_T) by more than the trees' rounding
     * tolerance (2e-14 relative seen by fuzz_sampler, at sigma ~ 1e-125): clip to the
     * span, and normalise by the clipped interval so the noise stays N(0, 1). */
    double lo = fmax(fmin(a, b), 0.0), hi = fmin(fmax(a, b), c->tree_span);
    if (!(hi > lo)) { nde__diff_noise(c, step, stage, z); return NDE_OK; }   /* nothing left */
    double inv = 1.0 / sqrt(hi - lo);
    for (size_t r = 0; r < c->batch; r++) {
        double *zr = z + r * c->dim;
        int rc = nde_brownian_increment(c->trees[r], lo, hi, zr, NULL, NULL);
        if (rc != NDE_OK)
            return nde__msg(c->err, c->errsz, rc, "step %d: Brownian noise of row %zu over [%.17g, %.17g]: %s",
                            step, r, lo, hi, nde_brownian_message(c->trees[r]));
        for (size_t k = 0; k < c->dim; k++) zr[k] *= inv;
    }
    return NDE_OK;
}

/* Row r's tree seed: one Philox block of (seed, r), so rows are independent and a row
 * does not depend on the batch size. */
static uint64_t row_seed(uint64_t seed, size_t r)
{
    const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    const uint32_t ctr[4] = { (uint32_t)r, (uint32_t)((uint64_t)r >> 32), 0x74726565u /* "tree" */, 0 };
    uint32_t out[4];
    nde_philox4x32_10(ctr, key, out);
    return (uint64_t)out[0] | (uint64_t)out[1] << 32;
}

/* The trees' depth: leaves 2^-32 of the span, whatever the number of steps (a tree
 * that depended on the grid would give another path for another step count). */
#define NDE__DIFF_TREE_DEPTH 32

int nde__diff_trees_create(nde__diff_ctx *c, const nde_allocator *al)
{
    c->trees = NULL;
    int noise = c->smp->noise;
    int draws = noise == NDE__DIFF_NOISE_CHURN ? c->s_churn > 0
                                               : noise != NDE__DIFF_NOISE_NONE && c->eta > 0;
    if (!c->brownian || !draws) return NDE_OK;
    double span = 1.0;                          /* churn: the run fraction u */
    if (noise != NDE__DIFF_NOISE_CHURN) {
        nde__diff_tp p = nde__diff_tpoint(c->s, c->t_T);
        span = p.sg / p.a;
    }
    size_t bytes;
    if (nde__size_mul(c->batch, sizeof *c->trees, &bytes))
        return nde__msg(c->err, c->errsz, NDE_ENOMEM, "batch %zu is too large for Brownian trees", c->batch);
    nde_brownian **t = nde__calloc(al, c->batch, sizeof *t);
    if (!t) return nde__msg(c->err, c->errsz, NDE_ENOMEM, "cannot allocate %zu Brownian trees", c->batch);
    c->trees = t;
    c->tree_span = span;
    char why[NDE_MESSAGE_MAX];
    for (size_t r = 0; r < c->batch; r++) {
        t[r] = nde_brownian_tree_create_ex(c->dim, 0.0, span, ldexp(span, -NDE__DIFF_TREE_DEPTH),
                                           row_seed(c->seed, r), NDE_LEVY_NONE, al, why, sizeof why);
        if (!t[r]) {
            nde__diff_trees_free(c, al);
            return nde__msg(c->err, c->errsz, NDE_ENOMEM, "Brownian tree of row %zu: %s", r, why);
        }
    }
    return NDE_OK;
}

void nde__diff_trees_free(nde__diff_ctx *c, const nde_allocator *al)
{
    if (!c->trees) return;
    for (size_t r = 0; r < c->batch; r++) nde_brownian_free(c->trees[r]);
    nde__free(al, c->trees, c->batch * sizeof *c->trees);
    c->trees = NULL;
}
