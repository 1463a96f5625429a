/* Optimisers (PyTorch's update rules, torch.optim), learning-rate schedules and losses
 * of nde/nn.h. */
#include "nn/internal.h"

#include <math.h>
#include <string.h>

/* ---- losses --------------------------------------------------------------------- */

int nde_loss_mse(size_t n, const double *pred, const double *target, double *loss, double *grad)
{
    if (n == 0 || !pred || !target || !loss) return NDE_EINVAL;
    double s = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = pred[i] - target[i];
        s += e * e;
        if (grad) grad[i] = 2.0 * e * inv;
    }
    *loss = s * inv;
    return NDE_OK;
}

int nde_loss_l1(size_t n, const double *pred, const double *target, double *loss, double *grad)
{
    if (n == 0 || !pred || !target || !loss) return NDE_EINVAL;
    double s = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = pred[i] - target[i];
        s += fabs(e);
        if (grad) grad[i] = (e > 0 ? inv : e < 0 ? -inv : 0.0);
    }
    *loss = s * inv;
    return NDE_OK;
}

/* log(2 pi) / 2 */
#define HALF_LOG_2PI 0.91893853320467274178

int nde_loss_gaussian_nll(size_t n, const double *mean, const double *log_sigma, const double *x,
                          double *loss, double *gmean, double *glog_sigma)
{
    if (n == 0 || !mean || !log_sigma || !x || !loss) return NDE_EINVAL;
    double s = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = x[i] - mean[i], p = exp(-2.0 * log_sigma[i]), q = e * e * p;
        s += HALF_LOG_2PI + log_sigma[i] + 0.5 * q;
        if (gmean) gmean[i] = -e * p * inv;
        if (glog_sigma) glog_sigma[i] = (1.0 - q) * inv;
    }
    *loss = s * inv;
    return NDE_OK;
}

int nde_loss_bernoulli_nll(size_t n, const double *logit, const double *x, double *loss, double *glogit)
{
    if (n == 0 || !logit || !x || !loss) return NDE_EINVAL;
    double s = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double l = logit[i];
        /* softplus(l) = max(l, 0) + log1p(e^-|l|) */
        s += (l > 0 ? l : 0.0) + log1p(exp(-fabs(l))) - x[i] * l;
        if (glogit) {
            double sg = l >= 0 ? 1.0 / (1.0 + exp(-l)) : exp(l) / (1.0 + exp(l));
            glogit[i] = (sg - x[i]) * inv;
        }
    }
    *loss = s * inv;
    return NDE_OK;
}

/* ---- optimisers ----------------------------------------------------------------- */

struct nde_optim {
    nde_allocator al;
    int kind;
    size_t n, t;
    nde_optim_options o;
    double *s1, *s2, *s3;     /* Adam: m, v; RMSprop: v, grad average, buffer; SGD: buffer */
    size_t bytes;
};

int nde_optim_defaults(int kind, nde_optim_options *o)
{
    if (!o || kind < NDE_OPTIM_SGD || kind > NDE_OPTIM_RMSPROP) return NDE_EINVAL;
    memset(o, 0, sizeof *o);
    o->lr = kind == NDE_OPTIM_RMSPROP ? 1e-2 : 1e-3;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->weight_decay = kind == NDE_OPTIM_ADAMW ? 1e-2 : 0.0;
    o->alpha = 0.99;
    return NDE_OK;
}

static int options_bad(int kind, const nde_optim_options *o, char *err, size_t esz)
{
#define BAD(cond, ...) if (cond) return nde__msg(err, esz, NDE_EINVAL, __VA_ARGS__)
    BAD(!(o->lr >= 0 && isfinite(o->lr)), "lr must be >= 0 and finite, got %g", o->lr);
    BAD(!(o->weight_decay >= 0 && isfinite(o->weight_decay)), "weight_decay must be >= 0, got %g", o->weight_decay);
    BAD(!(o->eps >= 0 && isfinite(o->eps)), "eps must be >= 0 and finite, got %g", o->eps);
    if (kind == NDE_OPTIM_ADAM || kind == NDE_OPTIM_ADAMW) {
        BAD(!(o->beta1 >= 0 && o->beta1 < 1), "beta1 must be in [0, 1), got %g", o->beta1);
        BAD(!(o->beta2 >= 0 && o->beta2 < 1), "beta2 must be in [0, 1), got %g", o->beta2);
    }
    if (kind == NDE_OPTIM_SGD || kind == NDE_OPTIM_RMSPROP)
        BAD(!(o->momentum >= 0 && isfinite(o->momentum)), "momentum must be >= 0, got %g", o->momentum);
    if (kind == NDE_OPTIM_SGD) {
        BAD(!isfinite(o->dampening), "dampening must be finite, got %g", o->dampening);
        BAD(o->nesterov && (o->momentum <= 0 || o->dampening != 0),
            "nesterov needs momentum > 0 and dampening 0 (got %g, %g)", o->momentum, o->dampening);
    }
    if (kind == NDE_OPTIM_RMSPROP) BAD(!(o->alpha >= 0 && o->alpha < 1), "alpha must be in [0, 1), got %g", o->alpha);
#undef BAD
    return NDE_OK;
}

nde_optim *nde_optim_create(int kind, size_t n, const nde_optim_options *opts)
{
    char *err = opts ? opts->errbuf : NULL;
    size_t esz = opts ? opts->errbuf_size : 0;
    if (err && esz) err[0] = '\0';
    nde_optim_options o;
    if (nde_optim_defaults(kind, &o) != NDE_OK) {
        nde__msg(err, esz, NDE_EINVAL, "unknown optimiser kind %d (NDE_OPTIM_SGD .. NDE_OPTIM_RMSPROP)", kind);
        return NULL;
    }
    if (opts) o = *opts;
    if (n == 0) { nde__msg(err, esz, NDE_EINVAL, "n must be >= 1"); return NULL; }
    if (options_bad(kind, &o, err, esz)) return NULL;
    size_t vecs = kind == NDE_OPTIM_SGD ? 1 : kind == NDE_OPTIM_RMSPROP ? 3 : 2, bytes = 0;
    if (nde__size_mul(n, vecs * sizeof(double), &bytes) || nde__size_add(bytes, sizeof(nde_optim), &bytes)) {
        nde__msg(err, esz, NDE_EINVAL, "n = %zu overflows the state's size", n);
        return NULL;
    }
    nde_allocator al = nde__allocator_resolve(o.allocator);
    nde_optim *p = nde__alloc(&al, bytes);
    if (!p) { nde__msg(err, esz, NDE_ENOMEM, "out of memory (%zu bytes)", bytes); return NULL; }
    memset(p, 0, sizeof *p);
    p->al = al;
    p->kind = kind;
    p->n = n;
    p->o = o;
    p->o.errbuf = NULL;
    p->o.errbuf_size = 0;
    p->bytes = bytes;
    double *s = (double *)(p + 1);
    p->s1 = s;
    p->s2 = vecs >= 2 ? s + n : NULL;
    p->s3 = vecs >= 3 ? s + 2 * n : NULL;
    nde_optim_reset(p);
    return p;
}

void nde_optim_reset(nde_optim *p)
{
    if (!p) return;
    size_t vecs = p->kind == NDE_OPTIM_SGD ? 1 : p->kind == NDE_OPTIM_RMSPROP ? 3 : 2;
    memset(p->s1, 0, vecs * p->n * sizeof *p->s1);
    p->t = 0;
}

void nde_optim_free(nde_optim *p)
{
    if (!p) return;
    nde_allocator al = p->al;
    nde__free(&al, p, p->bytes);
}

int nde_optim_set_lr(nde_optim *p, double lr)
{
    if (!p || !(lr >= 0 && isfinite(lr))) return NDE_EINVAL;
    p->o.lr = lr;
    return NDE_OK;
}
double nde_optim_lr(const nde_optim *p) { return p ? p->o.lr : 0.0; }
size_t nde_optim_steps(const nde_optim *p) { return p ? p->t : 0; }

int nde_optim_step(nde_optim *p, double *x, const double *grad)
{
    if (!p || !x || !grad) return NDE_EINVAL;
    for (size_t i = 0; i < p->n; i++)
        if (!isfinite(grad[i])) return NDE_EINVAL;
    const nde_optim_options *o = &p->o;
    const double lr = o->lr, wd = o->weight_decay;
    size_t n = p->n;
    p->t++;
    switch (p->kind) {
    case NDE_OPTIM_SGD: {
        double mu = o->momentum, damp = 1.0 - o->dampening;
        for (size_t i = 0; i < n; i++) {
            double g = grad[i] + wd * x[i];
            if (mu > 0) {
                double *b = p->s1 + i;
                *b = p->t == 1 ? g : mu * *b + damp * g;
                g = o->nesterov ? g + mu * *b : *b;
            }
            x[i] -= lr * g;
        }
        break;
    }
    case NDE_OPTIM_ADAM:
    case NDE_OPTIM_ADAMW: {
        double b1 = o->beta1, b2 = o->beta2, t = (double)p->t;
        double step = lr / (1.0 - pow(b1, t)), bc2 = sqrt(1.0 - pow(b2, t));
        int decoupled = p->kind == NDE_OPTIM_ADAMW;
        for (size_t i = 0; i < n; i++) {
            double g = grad[i];
            if (decoupled) x[i] *= 1.0 - lr * wd;
            else g += wd * x[i];
            double *m = p->s1 + i, *v = p->s2 + i;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            x[i] -= step * *m / (sqrt(*v) / bc2 + o->eps);
        }
        break;
    }
    case NDE_OPTIM_RMSPROP: {
        double a = o->alpha, mu = o->momentum;
        for (size_t i = 0; i < n; i++) {
            double g = grad[i] + wd * x[i];
            double *v = p->s1 + i, *ga = p->s2 + i, *b = p->s3 + i;
            *v = a * *v + (1.0 - a) * g * g;
            double var = *v;
            if (o->centered) {
                *ga = a * *ga + (1.0 - a) * g;
                var -= *ga * *ga;
                /* v - a^2 >= 0 exactly, but rounds below 0 when the gradient barely
                 * varies (alpha near 0): PyTorch's sqrt gives NaN there, we give 0 */
                if (var < 0) var = 0;
            }
            double d = sqrt(var) + o->eps;
            if (mu > 0) {
                *b = mu * *b + g / d;
                x[i] -= lr * *b;
            } else {
                x[i] -= lr * g / d;
            }
        }
        break;
    }
    default: return NDE_EINVAL;
    }
    return NDE_OK;
}

/* ---- learning-rate schedules ----------------------------------------------------- */

/* PI to 21 digits (M_PI is not C11) */
#define NN_PI 3.14159265358979323846

double nde_lr_cosine(double lr_max, double lr_min, size_t t, size_t t_max)
{
    if (t_max == 0) return lr_max;
    return lr_min + (lr_max - lr_min) * (1.0 + cos(NN_PI * (double)t / (double)t_max)) / 2.0;
}

double nde_lr_warm_restarts(double lr_max, double lr_min, size_t t, size_t t_0, size_t t_mult)
{
    if (t_0 == 0) return lr_max;
    if (t_mult < 1) t_mult = 1;
    size_t t_i = t_0, t_cur = t;
    if (t_mult == 1) {
        t_cur = t % t_0;
    } else {
        while (t_cur >= t_i) {
            t_cur -= t_i;
            if (t_i > (size_t)-1 / t_mult) break;   /* the next period is longer than any t */
            t_i *= t_mult;
        }
    }
    return lr_min + (lr_max - lr_min) * (1.0 + cos(NN_PI * (double)t_cur / (double)t_i)) / 2.0;
}
