/* The exact Gaussian-mixture diffusion model (research/samplers.md section 4):
 * p_t(x) = sum_k w_k N(x; alpha mu_k, alpha^2 S_k + sigma^2 I), S_k diagonal, so the
 * posterior mean x0*(x) (Tweedie), eps*, v*, the score and log p_t are closed form.
 * Responsibilities use a streaming log-sum-exp, so nothing is allocated per call. */
#include "diffusion/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define NDE__LOG_2PI 1.83787706640934548356
/* Per-call precomputation (1/c, alpha s^2/c per component and axis) lives on the
 * stack when it fits in this many doubles; larger mixtures compute it per point. */
#define NDE__GMM_PRE_MAX 1536

typedef struct gmm_prep {
    const nde_gmm *g;
    double a, s;           /* alpha, sigma */
    double logwsum;        /* log sum of weights */
    int comp;              /* -1: all */
    double *pre;           /* NULL or k*(1 + 2 dim): lognorm_k, then inv_c, gain per axis */
} gmm_prep;

static int gmm_check(const nde_gmm *g)
{
    size_t kd;
    if (!g || g->dim == 0 || g->k == 0 || !g->weights || !g->means || !g->stds
        || nde__size_mul(g->k, g->dim, &kd))
        return 0;
    for (size_t k = 0; k < g->k; k++) {
        if (!(g->weights[k] > 0) || !isfinite(g->weights[k])) return 0;
        for (size_t j = 0; j < g->dim; j++) {
            double sd = g->stds[k * g->dim + j], mu = g->means[k * g->dim + j];
            if (!(sd >= 0) || !isfinite(sd) || !isfinite(mu)) return 0;
        }
    }
    return 1;
}

/* component is -1 (the mixture) or a component index. */
static int comp_ok(const nde_gmm *g, int component)
{
    return component == -1 || (component >= 0 && (size_t)component < g->k);
}

/* Doubles of precomputation per component, 1 + 2 dim; -1 on overflow. */
static int per_component(const nde_gmm *g, size_t *per)
{
    *per = 1;
    return nde__size_muladd(per, 2, g->dim);
}

/* n points of g->dim doubles: the element count must not overflow. */
static int count_ok(const nde_gmm *g, size_t n)
{
    size_t nd;
    return nde__size_mul(n, g->dim, &nd) == 0;
}

/* A usable noise level: alpha, sigma finite, >= 0, not both 0 (x_t would be 0 whatever
 * the data) and every component variance c = alpha^2 s^2 + sigma^2 finite; with
 * need_var also c > 0 (a density exists: not sigma = 0 on an axis of zero spread). */
static int level_ok(const nde_gmm *g, double a, double s, int need_var)
{
    if (!(a >= 0) || !(s >= 0) || !isfinite(a) || !isfinite(s) || (a == 0 && s == 0))
        return 0;
    for (size_t i = 0; i < g->k * g->dim; i++) {
        double sd = g->stds[i], c = a * a * sd * sd + s * s;
        if (!isfinite(c) || (need_var && !(c > 0))) return 0;
    }
    return 1;
}

/* Component k's constants: log w_k/W - 1/2 sum log(2 pi c), 1/c and alpha s^2/c per axis. */
static void comp_consts(const gmm_prep *p, size_t k, double *lognorm, double *inv_c,
                        double *gain)
{
    const nde_gmm *g = p->g;
    double ln = log(g->weights[k]) - p->logwsum;
    for (size_t j = 0; j < g->dim; j++) {
        double sd = g->stds[k * g->dim + j];
        double c = p->a * p->a * sd * sd + p->s * p->s;
        ln -= 0.5 * (NDE__LOG_2PI + log(c));
        inv_c[j] = 1.0 / c;
        gain[j] = p->a * sd * sd / c;
    }
    *lognorm = ln;
}

static void prep_init(gmm_prep *p, const nde_gmm *g, int comp, double a, double s,
                      double *stack)
{
    p->g = g; p->a = a; p->s = s; p->comp = comp;
    double W = 0.0;
    for (size_t k = 0; k < g->k; k++) W += g->weights[k];
    p->logwsum = log(W);
    size_t per, need;
    p->pre = NULL;
    if (per_component(g, &per) == 0 && nde__size_mul(g->k, per, &need) == 0
        && need <= NDE__GMM_PRE_MAX) {
        p->pre = stack;
        for (size_t k = 0; k < g->k; k++) {
            double *row = stack + k * (1 + 2 * g->dim);
            comp_consts(p, k, row, row + 1, row + 1 + g->dim);
        }
    }
}

/* The n points xs x are finite and small enough that no squared distance
 * sum_j (xs x_j - alpha mu_j)^2 / c_j overflows (the log-sum-exp needs a finite
 * log-likelihood): bounded through max |xs x_j|, max |alpha mu| and max 1/c over the
 * components that count. *x0_bound receives a bound on |x0*_j| (mu + gain (xs x -
 * alpha mu) of some component), *x_max max |xs x_j|. O(n dim + k dim), nothing
 * written. */
static int points_ok(const gmm_prep *p, const double *x, double xs, size_t n,
                     double *x_max, double *x0_bound)
{
    const nde_gmm *g = p->g;
    size_t d = g->dim, k0 = 0, k1 = g->k;
    if (p->comp >= 0) { k0 = (size_t)p->comp; k1 = k0 + 1; }
    double amu = 0.0, mumax = 0.0, icmax = 0.0, gmax = 0.0;
    for (size_t i = k0 * d; i < k1 * d; i++) {
        double sd = g->stds[i], c = p->a * p->a * sd * sd + p->s * p->s;
        amu = fmax(amu, fabs(p->a * g->means[i]));
        mumax = fmax(mumax, fabs(g->means[i]));
        icmax = fmax(icmax, 1.0 / c);
        gmax = fmax(gmax, p->a * sd * sd / c);
    }
    double xall = 0.0;                  /* max |x_j| over all points */
    for (size_t i = 0; i < n * d; i++) {
        double v = fabs(x[i]);
        if (!(v <= xall)) {
            if (!(v <= DBL_MAX)) return 0;  /* NaN, Inf */
            xall = v;
        }
    }
    xall *= fabs(xs);
    double r = xall + amu;
    if (!(r * r * icmax * (double)d <= DBL_MAX)) return 0;
    *x_max = xall;
    *x0_bound = mumax + gmax * (xall + amu);
    return *x0_bound <= DBL_MAX;
}

/* A bound on |eps*_j| = |x_j - alpha x0*_j| / sigma for points bounded by xm, x0b. */
static double eps_bound(double a, double s, double xm, double x0b)
{
    return (xm + a * x0b) / s;
}

/* One point xs * x: x0 (dim, may be NULL, must not alias x), log p (may be NULL),
 * argmax component.
 * With comp >= 0 only that component counts (the class-conditional model). */
static int gmm_point(const gmm_prep *p, const double *x, double xs, double *x0, double *logp)
{
    const nde_gmm *g = p->g;
    size_t d = g->dim;
    double m = -INFINITY, S = 0.0, best = -INFINITY;
    int arg = 0;
    double inv_c_tmp[64], gain_tmp[64];
    size_t k0 = 0, k1 = g->k;
    if (p->comp >= 0) { k0 = (size_t)p->comp; k1 = k0 + 1; }
    if (x0) memset(x0, 0, d * sizeof *x0);
    for (size_t k = k0; k < k1; k++) {
        const double *mu = g->means + k * d;
        double lognorm;
        const double *inv_c, *gain;
        if (p->pre) {
            const double *row = p->pre + k * (1 + 2 * d);
            lognorm = row[0]; inv_c = row + 1; gain = row + 1 + d;
        } else if (d <= 64) {
            comp_consts(p, k, &lognorm, inv_c_tmp, gain_tmp);
            inv_c = inv_c_tmp; gain = gain_tmp;
        } else {
            /* very large dims: compute per axis inline */
            inv_c = NULL; gain = NULL;
            lognorm = log(g->weights[k]) - p->logwsum;
        }
        double q = 0.0;
        for (size_t j = 0; j < d; j++) {
            double r = xs * x[j] - p->a * mu[j];
            double ic;
            if (inv_c) ic = inv_c[j];
            else {
                double sd = g->stds[k * d + j];
                double c = p->a * p->a * sd * sd + p->s * p->s;
                ic = 1.0 / c;
                lognorm -= 0.5 * (NDE__LOG_2PI + log(c));
            }
            q += r * r * ic;
        }
        double ll = lognorm - 0.5 * q;
        if (p->comp >= 0) ll = 0.0;  /* conditional: responsibility 1 */
        if (ll > best) { best = ll; arg = (int)k; }
        double wk;
        if (ll > m) {
            double scale = exp(m - ll);     /* 0 on the first component */
            S = S * scale + 1.0;
            if (x0) for (size_t j = 0; j < d; j++) x0[j] *= scale;
            m = ll;
            wk = 1.0;
        } else {
            wk = exp(ll - m);
            S += wk;
        }
        if (x0) {
            for (size_t j = 0; j < d; j++) {
                double gj;
                if (gain) gj = gain[j];
                else {
                    double sd = g->stds[k * d + j];
                    gj = p->a * sd * sd / (p->a * p->a * sd * sd + p->s * p->s);
                }
                x0[j] += wk * (mu[j] + gj * (xs * x[j] - p->a * mu[j]));
            }
        }
    }
    if (x0) for (size_t j = 0; j < d; j++) x0[j] /= S;
    if (logp) *logp = m + log(S);
    return arg;
}

int nde_gmm_predict(const nde_gmm *g, int component, double alpha, double sigma,
                    const double *x, size_t n, double *eps, double *x0)
{
    if (!gmm_check(g) || !x || !(alpha > 0) || !(sigma > 0) || !level_ok(g, alpha, sigma, 1)
        || !comp_ok(g, component) || !count_ok(g, n))
        return NDE_EINVAL;
    if (!eps && !x0) return NDE_OK;      /* nothing asked for */
    double stack[NDE__GMM_PRE_MAX];
    gmm_prep p;
    prep_init(&p, g, component, alpha, sigma, stack);
    double xm, x0b;
    if (!points_ok(&p, x, 1.0, n, &xm, &x0b)
        || (eps && !(eps_bound(alpha, sigma, xm, x0b) <= DBL_MAX)))
        return NDE_EINVAL;                    /* eps* ~ 1/sigma would overflow */
    size_t d = g->dim;
    double tmp[64];
    for (size_t i = 0; i < n; i++) {
        double *xo = x0 ? x0 + i * d : (d <= 64 ? tmp : NULL);
        if (!xo) {  /* eps only, huge dim: write x0 into eps and convert in place */
            xo = eps + i * d;
        }
        gmm_point(&p, x + i * d, 1.0, xo, NULL);
        if (eps) {
            for (size_t j = 0; j < d; j++)
                eps[i * d + j] = (x[i * d + j] - alpha * xo[j]) / sigma;
        }
    }
    return NDE_OK;
}

int nde_gmm_log_density(const nde_gmm *g, double alpha, double sigma,
                        const double *x, size_t n, double *out)
{
    if (!gmm_check(g) || !x || !out || !level_ok(g, alpha, sigma, 1) || !count_ok(g, n))
        return NDE_EINVAL;
    double stack[NDE__GMM_PRE_MAX];
    gmm_prep p;
    prep_init(&p, g, -1, alpha, sigma, stack);
    double xm, x0b;
    if (!points_ok(&p, x, 1.0, n, &xm, &x0b)) return NDE_EINVAL;
    for (size_t i = 0; i < n; i++) gmm_point(&p, x + i * g->dim, 1.0, NULL, &out[i]);
    return NDE_OK;
}

int nde_gmm_classify(const nde_gmm *g, double alpha, double sigma,
                     const double *x, size_t n, int *labels)
{
    if (!gmm_check(g) || !x || !labels || !level_ok(g, alpha, sigma, 1) || !count_ok(g, n))
        return NDE_EINVAL;
    double stack[NDE__GMM_PRE_MAX];
    gmm_prep p;
    prep_init(&p, g, -1, alpha, sigma, stack);
    double xm, x0b;
    if (!points_ok(&p, x, 1.0, n, &xm, &x0b)) return NDE_EINVAL;
    for (size_t i = 0; i < n; i++) labels[i] = gmm_point(&p, x + i * g->dim, 1.0, NULL, NULL);
    return NDE_OK;
}

int nde_gmm_sample(const nde_gmm *g, double alpha, double sigma, uint64_t seed,
                   size_t n, double *x, int *labels)
{
    if (!gmm_check(g) || !x || !level_ok(g, alpha, sigma, 0) || !count_ok(g, n))
        return NDE_EINVAL;
    double W = 0.0;
    for (size_t k = 0; k < g->k; k++) W += g->weights[k];
    size_t d = g->dim;
    for (size_t i = 0; i < n; i++) {
        double u = nde__rand_uniform(seed, NDE_STREAM_GMM_COMPONENT, i) * W, acc = 0.0;
        size_t k = 0;
        for (; k + 1 < g->k; k++) {
            acc += g->weights[k];
            if (u < acc) break;
        }
        double *xi = x + i * d;
        nde__rand_normals(seed, NDE_STREAM_GMM_POINT + i, d, xi);
        for (size_t j = 0; j < d; j++) {
            double sd = g->stds[k * d + j];
            xi[j] = alpha * g->means[k * d + j] + sqrt(alpha * alpha * sd * sd + sigma * sigma) * xi[j];
        }
        if (labels) labels[i] = (int)k;
    }
    return NDE_OK;
}

int nde_gmm_denoiser(const double *x, double t, size_t batch, size_t dim,
                     double *out, void *user)
{
    const nde_gmm_model *gm = user;
    if (!gm || !gmm_check(gm->gmm) || dim != gm->gmm->dim || !x || !out
        || !comp_ok(gm->gmm, gm->component) || !count_ok(gm->gmm, batch))
        return NDE_EINVAL;
    /* everything is checked before out is written */
    switch (gm->prediction) {
    case NDE_PRED_EPS: case NDE_PRED_X0: case NDE_PRED_V: case NDE_PRED_SCORE:
    case NDE_PRED_EDM: break;
    default: return NDE_EINVAL;
    }
    const nde_gmm *g = gm->gmm;
    double stack[NDE__GMM_PRE_MAX];
    gmm_prep p;
    if (gm->prediction == NDE_PRED_EDM) {
        /* x is c_in * xt, t is c_noise = log(st)/4; the mixture in (xt, st) has
         * alpha = 1, sigma = st. Output F = (D - c_skip xt) / c_out. */
        double sd = gm->sigma_data > 0 ? gm->sigma_data : 0.5;
        if (!isfinite(sd)) return NDE_EINVAL;
        double st = exp(4.0 * t);
        double r = sqrt(st * st + sd * sd);
        double c_skip = sd * sd / (r * r), c_out = st * sd / r;
        /* c_noise so large (or small) that st, r or c_out over- or underflow */
        if (!(st > 0) || !isfinite(r) || !(c_out > 0) || !isfinite(c_out)
            || !level_ok(g, 1.0, st, 1))
            return NDE_EINVAL;
        prep_init(&p, g, gm->component, 1.0, st, stack);
        double xm, x0b;
        if (!points_ok(&p, x, r, batch, &xm, &x0b)
            || !((x0b + c_skip * xm) / c_out <= DBL_MAX))
            return NDE_EINVAL;                /* F = (D - c_skip xt)/c_out would overflow */
        for (size_t i = 0; i < batch; i++) {
            const double *xi = x + i * dim;
            double *o = out + i * dim;
            gmm_point(&p, xi, r, o, NULL);              /* D at xt = r x */
            for (size_t j = 0; j < dim; j++) o[j] = (o[j] - c_skip * r * xi[j]) / c_out;
        }
        return NDE_OK;
    }
    if (!gm->schedule) return NDE_EINVAL;
    double tc = nde_schedule_time_of_model_time(gm->schedule, t);
    nde__diff_tp tp = nde__diff_tpoint(gm->schedule, tc);
    double a = tp.a, s = tp.sg;
    /* a model time outside the schedule's domain */
    if (!(a > 0) || !(s > 0) || !level_ok(g, a, s, 1)) return NDE_EINVAL;
    prep_init(&p, g, gm->component, a, s, stack);
    double xm, x0b;
    if (!points_ok(&p, x, 1.0, batch, &xm, &x0b)) return NDE_EINVAL;
    double eb = eps_bound(a, s, xm, x0b);
    double ob = gm->prediction == NDE_PRED_X0 ? x0b
              : gm->prediction == NDE_PRED_V ? a * eb + s * x0b
              : gm->prediction == NDE_PRED_SCORE ? eb / s : eb;
    if (!(ob <= DBL_MAX)) return NDE_EINVAL;  /* the output would overflow */
    for (size_t i = 0; i < batch; i++) {
        const double *xi = x + i * dim;
        double *o = out + i * dim;
        gmm_point(&p, xi, 1.0, o, NULL);         /* o = x0* */
        switch (gm->prediction) {
        case NDE_PRED_X0: break;
        case NDE_PRED_EPS:
            for (size_t j = 0; j < dim; j++) o[j] = (xi[j] - a * o[j]) / s;
            break;
        case NDE_PRED_V:
            for (size_t j = 0; j < dim; j++) {
                double e = (xi[j] - a * o[j]) / s;
                o[j] = a * e - s * o[j];
            }
            break;
        case NDE_PRED_SCORE:
            for (size_t j = 0; j < dim; j++) o[j] = -(xi[j] - a * o[j]) / (s * s);
            break;
        default:      /* NDE_PRED_EDM: handled above */
            break;
        }
    }
    return NDE_OK;
}

/* All n x dim values finite (n x dim checked by count_ok). */
static int all_finite(const double *x, size_t nd)
{
    for (size_t i = 0; i < nd; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* t is a finite time in the domain of s; *p its schedule values. */
static int time_ok(const nde_schedule *s, double t, nde__diff_tp *p)
{
    if (!isfinite(t) || !nde__diff_in_domain(s, t)) return 0;
    *p = nde__diff_tpoint(s, t);
    return 1;
}

int nde_gmm_flow_ex(const nde_gmm *g, const nde_schedule *s, double t_from, double t_to,
                    int steps, double *x, size_t n, const nde_allocator *alloc)
{
    nde__diff_tp p0, p1;
    if (!gmm_check(g) || !s || !x || steps < 1 || !(t_from > 0) || !(t_to > 0)
        || !time_ok(s, t_from, &p0) || !time_ok(s, t_to, &p1) || !count_ok(g, n)
        || !all_finite(x, n * g->dim))
        return NDE_EINVAL;
    size_t d = g->dim, per, nl = 0, nd = 0;
    /* lambda nodes l0 + i h/2 (nl of them), each with 3 scalars and the k components'
     * constants, then 5 state vectors and the n x dim results (x is written only when
     * all of them are finite) */
    if (per_component(g, &per) || nde__size_mul(per, g->k, &per)
        || nde__size_muladd(&nl, 2, (size_t)steps)
        || nde__size_add(nl, 1, &nl) || nde__size_muladd(&nd, nl, 3)
        || nde__size_muladd(&nd, nl, per) || nde__size_muladd(&nd, 5, d)
        || nde__size_muladd(&nd, n, d) || nde__size_mul(nd, sizeof(double), &nd))
        return NDE_ENOMEM;
    size_t bytes = nd;
    nde_allocator al = nde__allocator_resolve(alloc);
    double *w = nde__alloc(&al, bytes);
    if (!w) return NDE_ENOMEM;
    double *Sg = w, *El = w + nl, *A = w + 2 * nl, *pre = w + 3 * nl;
    double *y = pre + nl * per, *k1 = y + d, *k2 = k1 + d, *k3 = k2 + d, *yt = k3 + d;
    double *res = yt + d;
    double l0 = p0.lam, l1 = p1.lam, h = (l1 - l0) / steps;
    double logW = 0.0;
    for (size_t k = 0; k < g->k; k++) logW += g->weights[k];
    logW = log(logW);
    for (size_t i = 0; i < nl; i++) {
        nde__diff_tp p;
        if (i == 0) p = p0;
        else if (i == nl - 1) p = p1;
        else p = nde__diff_lpoint(s, l0 + 0.5 * h * (double)i);   /* not through t */
        Sg[i] = p.sg; El[i] = exp(p.lam); A[i] = p.a;
        gmm_prep pp = { g, p.a, p.sg, logW, -1, NULL };
        for (size_t k = 0; k < g->k; k++) {
            double *row = pre + i * per + k * (1 + 2 * d);
            comp_consts(&pp, k, row, row + 1, row + 1 + d);
        }
    }
    /* f(node, y) = e^lambda x0*(sigma y) */
#define NDE__F(node, yy, out) do { \
        gmm_prep pp_ = { g, A[node], Sg[node], logW, -1, pre + (node) * per }; \
        gmm_point(&pp_, yy, Sg[node], out, NULL); \
        for (size_t j_ = 0; j_ < d; j_++) (out)[j_] *= El[node]; } while (0)
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * d;
        for (size_t j = 0; j < d; j++) y[j] = xi[j] / Sg[0];
        for (int st = 0; st < steps; st++) {
            size_t a = 2 * (size_t)st, b = a + 1, c = a + 2;
            NDE__F(a, y, k1);
            for (size_t j = 0; j < d; j++) yt[j] = y[j] + 0.5 * h * k1[j];
            NDE__F(b, yt, k2);
            for (size_t j = 0; j < d; j++) { yt[j] = y[j] + 0.5 * h * k2[j]; k1[j] += 2.0 * k2[j]; }
            NDE__F(b, yt, k3);
            for (size_t j = 0; j < d; j++) { yt[j] = y[j] + h * k3[j]; k1[j] += 2.0 * k3[j]; }
            NDE__F(c, yt, k2);
            for (size_t j = 0; j < d; j++) y[j] += h / 6.0 * (k1[j] + k2[j]);
        }
        for (size_t j = 0; j < d; j++) res[i * d + j] = Sg[nl - 1] * y[j];
    }
#undef NDE__F
    /* RK4 overflows when the steps are far too long for the lambda range */
    int rc = all_finite(res, n * d) ? NDE_OK : NDE_ENONFINITE;
    if (rc == NDE_OK) memcpy(x, res, n * d * sizeof *x);
    nde__free(&al, w, bytes);
    return rc;
}

int nde_gmm_flow(const nde_gmm *g, const nde_schedule *s, double t_from, double t_to,
                 int steps, double *x, size_t n)
{
    return nde_gmm_flow_ex(g, s, t_from, t_to, steps, x, n, NULL);
}

int nde_gmm_flow_exact(const nde_gmm *g, const nde_schedule *s, double t_from,
                       double t_to, double *x, size_t n)
{
    nde__diff_tp p0, p1;
    if (!gmm_check(g) || !s || !x || !(t_from > 0) || !(t_to > 0)
        || !time_ok(s, t_from, &p0) || !time_ok(s, t_to, &p1) || !count_ok(g, n))
        return NDE_EINVAL;
    if (g->k != 1) return NDE_EUNSUPPORTED;
    size_t d = g->dim;
    /* x_t - alpha_t mu = sqrt(c_t / c_s) (x_s - alpha_s mu): a pass that checks every
     * result is finite, then the pass that writes them */
    for (int write = 0; write < 2; write++)
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < d; j++) {
                double mu = g->means[j], sd = g->stds[j];
                double c0 = p0.a * p0.a * sd * sd + p0.sg * p0.sg;
                double c1 = p1.a * p1.a * sd * sd + p1.sg * p1.sg;
                double *v = &x[i * d + j];
                double r = p1.a * mu + sqrt(c1 / c0) * (*v - p0.a * mu);
                if (write) *v = r;
                else if (!isfinite(r)) return NDE_EINVAL;
            }
        }
    return NDE_OK;
}
