/* Step-size control: Diffrax's PID controller and the Hairer-Norsett-Wanner initial
 * step, used by the loop and, through nde_controller_* and nde_initial_step, by
 * callers who drive their own loop. */
#include "integrate/internal.h"

#include <float.h>
#include <math.h>

/* Defaults: Diffrax's PIDController bounds and safety (Hairer's codes use the same),
 * with Hairer's choices where they measured better on every bench problem
 * (docs/benchmarks.md, "Step-size controller"): the step may shrink after an accepted
 * step (factormin_accept 0.2, as in dopri5.f; Diffrax: 1), and the PI stabilisation of
 * dopri5.f with beta = 0.04, factor = safety err^-(1/k - 0.75 beta) errold^beta. */
#define DEFAULT_SAFETY 0.9
#define DEFAULT_FACTORMIN 0.2
#define DEFAULT_FACTORMAX 10.0
#define DEFAULT_FACTORMIN_ACCEPT 0.2
#define DEFAULT_BETA 0.04

void nde__int_pid_setup(nde_controller *c, int embedded_order, const nde_options *o)
{
    c->safety = o->safety > 0.0 ? o->safety : DEFAULT_SAFETY;
    c->fmin = o->factormin > 0.0 ? o->factormin : DEFAULT_FACTORMIN;
    c->fmax = o->factormax > 0.0 ? o->factormax : DEFAULT_FACTORMAX;
    c->fmin_accept = o->factormin_accept > 0.0 ? o->factormin_accept : DEFAULT_FACTORMIN_ACCEPT;
    double k = (double)(embedded_order + 1);
    double p = o->pcoeff, i = o->icoeff, d = o->dcoeff;
    if (p == 0.0 && i == 0.0 && d == 0.0) {   /* Hairer's beta in PID terms */
        p = DEFAULT_BETA * k;
        i = 1.0 - 1.75 * DEFAULT_BETA * k;
    }
    c->b1 = (p + i + d) / k;
    c->b2 = -(p + 2.0 * d) / k;
    c->b3 = d / k;
    c->pi = c->b3 == 0.0;
    /* (P)I shortcuts: effective errors beyond these give a clipped factor, no pow needed */
    c->err_grow_max = pow(c->safety / c->fmax, 1.0 / c->b1);
    c->err_shrink_max = pow(c->safety / c->fmin_accept, 1.0 / c->b1);
    c->err_reject_min = pow(c->safety / c->fmin, 1.0 / c->b1);
    c->err_cap = pow(c->safety / NDE__INT_CAP_SLACK, 1.0 / c->b1);   /* factor NDE__INT_CAP_SLACK */
    c->inv1 = c->inv2 = 1.0;
    c->err_scale_max = 1.0;
}

/* Below this the plain sum of squares may have lost terms to underflow. */
#define RMS_FAST_MIN 1e-280

double nde__int_rms_scaled(const double *v, const double *y, size_t dim, double rtol,
                           double atol)
{
    double sum = 0.0;
    for (size_t d = 0; d < dim; d++) {
        double a = v[d] / (atol + rtol * fabs(y[d]));
        sum += a * a;
    }
    if (isfinite(sum) && sum >= RMS_FAST_MIN) return sqrt(sum / (double)dim);
    /* The squares overflowed (tolerances like 1e-200, values like 1e200) or underflowed
     * (derivatives like 1e-200 on a 1e200 time span), or a term is not finite: again,
     * scaled by the largest term as LAPACK's dnrm2 does. */
    double big = 0.0;
    sum = 0.0;
    for (size_t d = 0; d < dim; d++) {
        double a = fabs(v[d] / (atol + rtol * fabs(y[d])));
        if (!(a <= DBL_MAX)) return INFINITY;   /* Inf or NaN */
        if (a > big) { sum = sum * (big / a) * (big / a) + 1.0; big = a; }
        else if (a > 0.0) sum += (a / big) * (a / big);
    }
    return big * sqrt(sum / (double)dim);
}

/* Hairer, Norsett & Wanner, Solving ODEs I, II.4, in time normalised by L = s1 - s0
 * (u = (s - s0)/L, du-derivative L f), so that the same problem on [0, 1e-10] and
 * [0, 1e10] starts alike (the textbook formula mixes time units and has an absolute
 * 1e-6 fallback). For L = 1 it is the textbook rule. When the products d1 = L |f0|
 * and d2 = L |f1 - f0| / u0 leave the double range (spans beyond ~1e150) they are
 * formed in logarithms instead. */
int nde__int_initial_step(nde_rhs f, void *user, size_t dim, size_t err_dim, double s0, double s1,
                          const double *y0, const double *f0, double rtol, double atol,
                          int embedded_order, double dtmin, double dtmax, double *ytmp,
                          double *f1, size_t *nfe, double *h_out)
{
    const double L = s1 - s0;
    double d0 = nde__int_rms_scaled(y0, y0, err_dim, rtol, atol);
    double r0 = nde__int_rms_scaled(f0, y0, err_dim, rtol, atol), d1 = L * r0;
    double u0;
    if (isfinite(d1)) u0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    else u0 = d0 < 1e-5 ? 1e-6 : exp(log(0.01) + log(d0) - log(L) - log(r0));
    if (u0 > 1.0) u0 = 1.0;
    if (dtmax > 0.0) u0 = fmin(u0, dtmax / L);
    double h0 = u0 * L;
    for (size_t d = 0; d < dim; d++) ytmp[d] = y0[d] + h0 * f0[d];
    ++*nfe;
    int rc = f(s0 + h0, ytmp, f1, user);
    if (rc < 0) return rc;
    double u = u0;   /* a failed probe: start small and let the controller adapt */
    int probe_ok = rc == 0;
    for (size_t d = 0; probe_ok && d < dim; d++) probe_ok = isfinite(f1[d]);
    if (probe_ok) {
        for (size_t d = 0; d < dim; d++) ytmp[d] = f1[d] - f0[d];
        double r2 = nde__int_rms_scaled(ytmp, y0, err_dim, rtol, atol), d2 = L * r2 / u0;
        double k = (double)(embedded_order + 1), u1;
        if (isfinite(d1) && isfinite(d2)) {
            double dm = fmax(d1, d2);
            u1 = dm <= 1e-15 ? fmax(1e-6, u0 * 1e-3) : pow(0.01 / dm, 1.0 / k);
        } else {   /* (0.01 / dm)^(1/k) in logarithms */
            double log_dm = fmax(log(L) + log(r0), log(L) + log(r2) - log(u0));
            u1 = exp((log(0.01) - log_dm) / k);
        }
        u = fmin(100.0 * u0, u1);
    }
    double h = fmin(u, 1.0) * L;
    if (dtmax > 0.0) h = fmin(h, dtmax);
    if (dtmin > 0.0) h = fmax(h, dtmin);
    if (!(h > 0.0)) h = fmax(u0, DBL_MIN) * L;   /* u underflowed: still a positive step */
    if (!(h > 0.0)) h = L;
    *h_out = h;
    return 0;
}

/* ---- public: step-size control for callers who drive their own loop ---------------- */

int nde_controller_init(nde_controller *c, const nde_method *m, const nde_options *o)
{
    static const nde_options defaults = NDE_OPTIONS_INIT;
    if (!c) return NDE_EINVAL;
    if (!o) o = &defaults;
    if (!m) m = o->method ? o->method : nde_method_find("tsit5");
    char msg[NDE_MESSAGE_MAX];
    int rc = NDE_OK;
    if (!m) rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "no method");
    else if (m->embedded_order == 0)
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "method %s has no error estimate to control", m->name);
    else if (!(o->pcoeff >= 0.0 && o->icoeff >= 0.0 && o->dcoeff >= 0.0) ||
             !isfinite(o->pcoeff + o->icoeff + o->dcoeff))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "PID coefficients must be >= 0, got p=%g i=%g d=%g",
                      o->pcoeff, o->icoeff, o->dcoeff);
    else if (!(o->safety >= 0.0 && o->safety <= 1.0))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "safety must be in (0, 1], got %g", o->safety);
    else if (!(o->factormin >= 0.0 && o->factormin < 1.0))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "factormin must be in (0, 1), got %g", o->factormin);
    else if (!(o->factormax == 0.0 || o->factormax >= 1.0) || !isfinite(o->factormax))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "factormax must be >= 1, got %g", o->factormax);
    else if (!(o->factormin_accept >= 0.0 && o->factormin_accept <= 1.0))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "factormin_accept must be in (0, 1], got %g",
                      o->factormin_accept);
    if (rc) {
        if (o->errbuf && o->errbuf_size) nde__msg(o->errbuf, o->errbuf_size, rc, "%s", msg);
        return rc;
    }
    nde__int_pid_setup(c, m->embedded_order, o);
    return NDE_OK;
}

void nde_controller_reset(nde_controller *c)
{
    if (c) { c->inv1 = c->inv2 = 1.0; c->err_scale_max = 1.0; }
}

double nde_controller_next(nde_controller *c, double h, double err, int *accepted)
{
    if (!c || !isfinite(h) || !(err >= 0.0)) { if (accepted) *accepted = 0; return NAN; }
    int ok = err <= 1.0;
    double f = nde__int_pid_factor(c, err, ok);
    if (ok) nde__int_pid_accept(c, err);
    if (accepted) *accepted = ok;
    return h * f;
}

int nde_initial_step(const nde_ode *ode, double t0, double t1, const double *y0,
                     const nde_options *opts, double *work, double *dt0)
{
    static const nde_options defaults = NDE_OPTIONS_INIT;
    const nde_options *o = opts ? opts : &defaults;
    const nde_method *m = o->method ? o->method : nde_method_find("tsit5");
    const char *why = NULL;
    if (!ode || !ode->f || ode->dim == 0) why = "ode is NULL, has dim 0 or no right-hand side";
    else if (!y0 || !work || !dt0) why = "y0, work or dt0 is NULL";
    else if (!isfinite(t0) || !isfinite(t1) || t0 == t1) why = "t0 and t1 must be finite and differ";
    else if (!(o->rtol > 0.0) || !(o->atol > 0.0)) why = "rtol and atol must be > 0 for an adaptive first step";
    else if (!m || m->embedded_order == 0) why = "the method has no error estimate";
    if (why) {
        if (o->errbuf && o->errbuf_size) nde__msg(o->errbuf, o->errbuf_size, NDE_EINVAL, "nde_initial_step: %s", why);
        return NDE_EINVAL;
    }
    const double dir = t1 > t0 ? 1.0 : -1.0;
    size_t dim = ode->dim, nfe = 0;
    double *f0 = work, *ytmp = work + dim, *f1 = work + 2 * dim;
    int rc = ode->f(t0, y0, f0, ode->user);
    if (rc) return rc < 0 ? NDE_ECALLBACK : NDE_ENONFINITE;
    for (size_t d = 0; d < dim; d++)
        if (!isfinite(f0[d])) return NDE_ENONFINITE;
    /* Forward internal time s = dir * t, as in the loop. */
    nde__int_rev rev = { ode->f, ode->user, dim };
    nde_rhs f = dir > 0 ? ode->f : nde__int_rev_rhs;
    void *user = dir > 0 ? ode->user : (void *)&rev;
    if (dir < 0)
        for (size_t d = 0; d < dim; d++) f0[d] = -f0[d];
    double h = 0.0;
    rc = nde__int_initial_step(f, user, dim, dim, dir * t0, dir * t1, y0, f0, o->rtol, o->atol,
                               m->embedded_order, o->dtmin, o->dtmax, ytmp, f1, &nfe, &h);
    if (rc < 0) return NDE_ECALLBACK;
    *dt0 = dir * h;
    return NDE_OK;
}

/* (internal.h) The order after an accepted attempt: one lower or higher when its work per
 * unit step is clearly less (the codes' KOPT logic), then the step for that order. */
void nde__int_extrap_accept(int km, double fac3, double fac4, const double *w, const double *hh, const double *a,
                            double H, int kc, int *k, int *reject, double *h_next)
{
    int kopt;
    if (kc == 2) {
        kopt = 3 < km - 1 ? 3 : km - 1;
        if (*reject) kopt = 2;
    } else if (kc <= *k) {
        kopt = kc;
        if (w[kc - 1] < w[kc] * fac3) kopt = kc - 1;
        if (w[kc] < w[kc - 1] * fac4) kopt = kc + 1 < km - 1 ? kc + 1 : km - 1;
    } else {
        kopt = kc - 1;
        if (kc > 3 && w[kc - 2] < w[kc - 1] * fac3) kopt = kc - 2;
        if (w[kc] < w[kopt] * fac4) kopt = kc < km - 1 ? kc : km - 1;
    }
    if (*reject) {
        *k = kopt < kc ? kopt : kc;
        *h_next = fmin(H, hh[*k]);
        *reject = 0;
        return;
    }
    if (kopt <= kc) *h_next = hh[kopt];
    else if (kc < *k && w[kc] < w[kc - 1] * fac4) *h_next = hh[kc] * a[kopt + 1] / a[kc];
    else *h_next = hh[kc] * a[kopt] / a[kc];
    *k = kopt;
}

void nde__int_extrap_reject(int km, double fac3, const double *w, const double *hh, int kc, int *k, int *reject,
                            double *h_next)
{
    int kk = *k;
    if (kc < kk) kk = kc;
    if (kk > km - 1) kk = km - 1;
    if (kk > 2 && w[kk - 1] < w[kk] * fac3) kk--;
    *k = kk;
    *h_next = hh[kk];
    *reject = 1;
}
