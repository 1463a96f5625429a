/* The samplers: each computes a few scalar coefficients per step (in double, phi
 * functions with series fallback) and applies the update as one fused pass over the
 * state (nde__lincomb). Notation (research/samplers.md section 1.5): a step s -> t has
 * h = lambda_t - lambda_s > 0. Both exponential-integrator forms are written as
 *     x_t = A x_s - S [ expm1(hh) m_s + psi2(hh) D1 + psi3(hh) D2 ]
 * with psi2(z) = expm1(z)/z - 1 = z phi_2(z), psi3(z) = psi2/z - 1/2 = z phi_3(z), and
 *     data form (DPM-Solver++, m = x0-hat):  A = sigma_t/sigma_s,         S = alpha_t, hh = -h
 *     noise form (DPM-Solver,  m = eps-hat): A = alpha_t/alpha_s,         S = sigma_t, hh = h
 * which reproduces every update of the reference dpm_solver_pytorch.py term by term
 * (its phi_1, phi_2, phi_3 in either form are expm1(hh), -+psi2, psi3). */
#include "diffusion/internal.h"

#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct ei {
    double A, S, hh, h;
} ei;

static ei ei_make(int data, const nde__diff_tp *s, const nde__diff_tp *t)
{
    ei e;
    e.h = t->lam - s->lam;
    if (data) { e.A = t->sg / s->sg; e.S = t->a; e.hh = -e.h; }
    else { e.A = exp(t->la - s->la); e.S = t->sg; e.hh = e.h; }
    return e;
}

/* expm1(z), psi2(z), psi3(z) */
static void psis(double z, double *e1, double *p2, double *p3)
{
    double ph[4];
    nde__num_phi(z, 3, ph);
    *e1 = expm1(z);
    *p2 = z * ph[2];
    if (p3) *p3 = z * ph[3];
}

static double *swap_x(nde__diff_ctx *c, double **other)
{
    double *t = c->x;
    c->x = *other;
    *other = t;
    return c->x;
}

/* ---- DDIM ------------------------------------------------------------------- */

NDE__DIFF_VEC
static int run_ddim(nde__diff_ctx *c)
{
    int rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, c->steps, c->ts);
    if (rc) return rc;
    double *e = c->buf[0], *x0 = c->buf[1], *z = c->buf[2];
    size_t n = c->n;
    for (int i = 0; i < c->steps; i++) {
        c->step = i + 1;
        nde__diff_tp ps = nde__diff_tpoint(c->s, c->ts[i]);
        nde__diff_tp pt = nde__diff_tpoint(c->s, c->ts[i + 1]);
        if ((rc = nde__diff_eval(c, c->x, ps.t, NDE__DIFF_WANT_EPS, e))) return rc;
        double *x = c->x;
        for (size_t k = 0; k < n; k++) x0[k] = (x[k] - ps.sg * e[k]) / ps.a;
        if (c->thresholding) {
            nde__diff_threshold(x0, c->batch, c->dim, c->th_ratio, c->th_max, c->scr);
            for (size_t k = 0; k < n; k++) e[k] = (x[k] - ps.a * x0[k]) / ps.sg;
        }
        /* sigma_eta = eta sqrt((1-abar')/(1-abar)) sqrt(1 - abar/abar') */
        double se = c->eta * pt.sg / ps.sg * sqrt(-expm1(2.0 * (ps.la - pt.la)));
        double ce = sqrt(fmax(0.0, pt.sg * pt.sg - se * se));
        if (se > 0) {
            if ((rc = nde__diff_noise_over(c, c->step, 0, ps.sg / ps.a, pt.sg / pt.a, z))) return rc;
            double zc = se * c->s_noise;
            for (size_t k = 0; k < n; k++) x[k] = pt.a * x0[k] + ce * e[k] + zc * z[k];
        } else {
            for (size_t k = 0; k < n; k++) x[k] = pt.a * x0[k] + ce * e[k];
        }
        if ((rc = nde__diff_after_step(c, c->step, pt.t))) return rc;
    }
    return NDE_OK;
}

int nde__diff_run_ddim(nde__diff_ctx *c)
{
    return run_ddim(c);
}

/* ---- DPM-Solver: singlestep updates ------------------------------------------ */

/* One singlestep update of order k (1..3) from s to t with inner ratios r1, r2, into xo
 * (which may alias x). ms and m1 are reused when *have_ms / *have_m1 (the adaptive
 * solver shares them between its two estimates) and marked valid on return. */
static int dpm_single(nde__diff_ctx *c, int data, int k, const double *x, double *xo,
                      const nde__diff_tp *ps, const nde__diff_tp *pt, double r1, double r2,
                      double *ms, int *have_ms, double *m1, int *have_m1, double *m2,
                      double *u)
{
    int want = data ? NDE__DIFF_WANT_X0 : NDE__DIFF_WANT_EPS, rc;
    ei E = ei_make(data, ps, pt);
    double e1, p2, p3;
    psis(E.hh, &e1, &p2, &p3);
    if (!*have_ms) {
        if ((rc = nde__diff_eval(c, x, ps->t, want, ms))) return rc;
        *have_ms = 1;
    }
    if (k == 1) {
        double cf[2] = { E.A, -E.S * e1 };
        const double *v[2] = { x, ms };
        nde__num_lincomb(c->n, xo, 2, cf, v);
        return NDE_OK;
    }
    /* first intermediate point s1 = t(lambda_s + r1 h) */
    nde__diff_tp p1 =
        nde__diff_tpoint(c->s, nde_schedule_t_of_lambda(c->s, ps->lam + r1 * E.h));
    if (!*have_m1) {
        ei E1 = ei_make(data, ps, &p1);
        double cf[2] = { E1.A, -E1.S * expm1(r1 * E.hh) };
        const double *v[2] = { x, ms };
        nde__num_lincomb(c->n, u, 2, cf, v);
        if ((rc = nde__diff_eval(c, u, p1.t, want, m1))) return rc;
        *have_m1 = 1;
    }
    if (k == 2) {
        double c1 = c->taylor ? E.S * p2 / r1 : 0.5 / r1 * E.S * e1;
        double cf[3] = { E.A, -E.S * e1 + c1, -c1 };
        const double *v[3] = { x, ms, m1 };
        nde__num_lincomb(c->n, xo, 3, cf, v);
        return NDE_OK;
    }
    /* third order: second intermediate point s2 = t(lambda_s + r2 h) */
    nde__diff_tp p2t =
        nde__diff_tpoint(c->s, nde_schedule_t_of_lambda(c->s, ps->lam + r2 * E.h));
    {
        ei E2 = ei_make(data, ps, &p2t);
        double e12, p22;
        psis(r2 * E.hh, &e12, &p22, NULL);
        double k1 = r2 / r1 * E2.S * p22;
        double cf[3] = { E2.A, -E2.S * e12 + k1, -k1 };
        const double *v[3] = { x, ms, m1 };
        nde__num_lincomb(c->n, u, 3, cf, v);
        if ((rc = nde__diff_eval(c, u, p2t.t, want, m2))) return rc;
    }
    double cs, c1, c2;
    if (!c->taylor) {
        double k2 = E.S * p2 / r2;
        cs = -E.S * e1 + k2; c1 = 0.0; c2 = -k2;
    } else {
        /* D1 = (r2 D1_0 - r1 D1_1)/(r2 - r1), D2 = 2 (D1_1 - D1_0)/(r2 - r1),
         * D1_0 = (m1 - ms)/r1, D1_1 = (m2 - ms)/r2; x_t = ... - S p2 D1 - S p3 D2 */
        double dr = r2 - r1;
        double d1_m1 = r2 / (r1 * dr), d1_m2 = -r1 / (r2 * dr);
        double d2_m1 = -2.0 / (r1 * dr), d2_m2 = 2.0 / (r2 * dr);
        c1 = -E.S * (p2 * d1_m1 + p3 * d2_m1);
        c2 = -E.S * (p2 * d1_m2 + p3 * d2_m2);
        cs = -E.S * e1 - c1 - c2;
    }
    double cf[4] = { E.A, cs, c1, c2 };
    const double *v[4] = { x, ms, m1, m2 };
    nde__num_lincomb(c->n, xo, 4, cf, v);
    return NDE_OK;
}

static int run_dpm_singlestep(nde__diff_ctx *c)
{
    int data = c->smp->info.data_form, K, rc;
    if ((rc = nde__diff_dpm_outer(c, c->ts, &K))) return rc;
    double *ms = c->buf[0], *m1 = c->buf[1], *m2 = c->buf[2], *u = c->buf[3];
    for (int k = 0; k < K; k++) {
        int ord = nde__diff_dpm_fast_order(c->steps, c->order, c->method, k);
        c->step = k + 1;
        double s = c->ts[k], t = c->ts[k + 1], r1, r2;
        nde__diff_dpm_inner(c, s, t, ord, &r1, &r2);
        nde__diff_tp ps = nde__diff_tpoint(c->s, s), pt = nde__diff_tpoint(c->s, t);
        int hs = 0, h1 = 0;
        if ((rc = dpm_single(c, data, ord, c->x, c->x, &ps, &pt, r1, r2, ms, &hs, m1, &h1,
                             m2, u)))
            return rc;
        if ((rc = nde__diff_after_step(c, c->step, t))) return rc;
    }
    return NDE_OK;
}

/* ---- DPM-Solver-12/23 adaptive (reference dpm_solver_adaptive) ---------------- */

NDE__DIFF_VEC
static int run_dpm_adaptive(nde__diff_ctx *c)
{
    int data = c->smp->info.data_form, order = c->order, rc;
    double *xprev = c->buf[0], *xlow = c->buf[1], *xhigh = c->buf[2];
    double *ms = c->buf[3], *m1 = c->buf[4], *m2 = c->buf[5], *u = c->buf[6];
    size_t n = c->n, d = c->dim;
    nde__diff_tp ps = nde__diff_tpoint(c->s, c->t_T);
    double lam0 = nde_schedule_lambda(c->s, c->t_0), h = c->h_init;
    memcpy(xprev, c->x, n * sizeof *xprev);
    int have_ms = 0, accepted = 0;
    size_t attempts = 0;
    /* until t is within t_err of t_end, or lambda has reached lambda(t_end): a t_err
     * below the resolution of t there would otherwise ask for steps of h <= 0 */
    while (fabs(ps.t - c->t_0) > c->t_err && lam0 - ps.lam > 0) {
        if (attempts++ >= c->max_steps)
            return nde__msg(c->err, c->errsz, NDE_EMAXSTEPS,
                            "adaptive solver took %zu steps without reaching t_end = %g "
                            "(t = %.17g, h = %g)", c->max_steps, c->t_0, ps.t, h);
        c->step = accepted + 1;
        nde__diff_tp pt = nde__diff_tpoint(c->s, nde_schedule_t_of_lambda(c->s, ps.lam + h));
        int have_m1 = 0;
        double *x = c->x;
        if (order == 2) {
            if ((rc = dpm_single(c, data, 1, x, xlow, &ps, &pt, 0.5, 0, ms, &have_ms, m1,
                                 &have_m1, m2, u))) return rc;
            if ((rc = dpm_single(c, data, 2, x, xhigh, &ps, &pt, 0.5, 0, ms, &have_ms, m1,
                                 &have_m1, m2, u))) return rc;
        } else {
            if ((rc = dpm_single(c, data, 2, x, xlow, &ps, &pt, 1.0 / 3.0, 0, ms, &have_ms,
                                 m1, &have_m1, m2, u))) return rc;
            if ((rc = dpm_single(c, data, 3, x, xhigh, &ps, &pt, 1.0 / 3.0, 2.0 / 3.0, ms,
                                 &have_ms, m1, &have_m1, m2, u))) return rc;
        }
        /* E = max over the batch of RMS((x_high - x_low)/delta),
         * delta = max(atol, rtol max(|x_low|, |x_prev|)) */
        double E = 0.0;
        for (size_t b = 0; b < c->batch; b++) {
            double acc = 0.0;
            for (size_t j = 0; j < d; j++) {
                size_t i = b * d + j;
                double m = fmax(fabs(xlow[i]), fabs(xprev[i]));
                double del = fmax(c->atol, c->rtol * m);
                double r = (xhigh[i] - xlow[i]) / del;
                acc += r * r;
            }
            acc = sqrt(acc / (double)d);
            if (!(acc <= E)) E = acc;     /* NaN propagates */
        }
        if (isnan(E))
            return nde__msg(c->err, c->errsz, NDE_ENONFINITE,
                            "adaptive error estimate is NaN at t = %.17g", ps.t);
        if (E <= 1.0) {
            swap_x(c, &xhigh);
            double *tmp = xprev; xprev = xlow; xlow = tmp;
            ps = pt;
            have_ms = 0;
            accepted++;
            if ((rc = nde__diff_after_step(c, accepted, pt.t))) return rc;
        } else {
            c->st.steps++;
            c->st.rejected++;
        }
        /* h <- min(theta h E^(-1/order), lambda_0 - lambda_s). The reference computes
         * E^(-1/order) with torch.float_power(...).float(): rounded to float, which we
         * reproduce so that step sequences (and results) match it. */
        double hn = c->theta * h * (double)(float)pow(E, -1.0 / (double)order);
        h = fmin(hn, lam0 - ps.lam);
    }
    /* keep the caller-visible buffers consistent: c->x holds the state */
    return NDE_OK;
}

/* ---- multistep exponential integrators (DPM-Solver 2M/3M and the SDE variants) -- */

/* x <- multistep update of order k from the newest history entry hm[nh-1] at hp[nh-1]
 * to pt. eta > 0 (data form) adds the SDE-DPM-Solver++ damping e^{-eta h} and the
 * (1+eta) h exponent (k-diffusion's generalisation); noise_sde doubles the noise-form
 * model term (diffusers sde-dpmsolver). z (may be NULL) gets weight zc. */
/* The DPM-Solver reference applies lower_order_final only when steps < 10
 * (dpm_solver_pytorch.py sample(): `lower_order_final and steps < 10`); UniPC's uni_pc.py
 * applies it at any step count. */
#define NDE__DPM_LOF_BELOW 10
#define NDE__UNIPC_LOF_BELOW INT_MAX

/* Order used at multistep step `step` (1-based) of `steps`: warm-up steps 1..order-1
 * use order = step; with lower_order_final the last steps drop to
 * min(order, steps + 1 - step), only when steps < lof_below. */
static int multistep_order(int step, int order, int steps, int lower_order_final,
                           int lof_below)
{
    if (step < order) return step;
    if (lower_order_final && steps < lof_below) {
        int tail = steps + 1 - step;
        return order < tail ? order : tail;
    }
    return order;
}

static void ms_update(nde__diff_ctx *c, int data, int k, int taylor, double eta,
                      int noise_sde, double *const *hm, const nde__diff_tp *hp, int nh,
                      const nde__diff_tp *pt,
                      const double *z, double zc)
{
    const nde__diff_tp *p0 = &hp[nh - 1];
    ei E = ei_make(data, p0, pt);
    double hh = E.hh, A = E.A, S = E.S;
    if (data && eta > 0) { A *= exp(-eta * E.h); hh = -(1.0 + eta) * E.h; }
    if (noise_sde) S *= 2.0;
    double e1, p2, p3;
    psis(hh, &e1, &p2, &p3);
    double cf[5];
    const double *v[5];
    int nt = 0;
    cf[nt] = A; v[nt++] = c->x;
    const double *m0 = hm[nh - 1];
    if (k == 1) {
        cf[nt] = -S * e1; v[nt++] = m0;
    } else if (k == 2) {
        double r0 = (p0->lam - hp[nh - 2].lam) / E.h;
        double k1 = taylor ? S * p2 / r0 : 0.5 * S * e1 / r0;   /* weight of m0 - m1 */
        cf[nt] = -S * e1 - k1; v[nt++] = m0;
        cf[nt] = k1; v[nt++] = hm[nh - 2];
    } else {
        double r0 = (p0->lam - hp[nh - 2].lam) / E.h;
        double r1 = (hp[nh - 2].lam - hp[nh - 3].lam) / E.h;
        double q = r0 / (r0 + r1), sr = r0 + r1;
        /* D1 = D1_0 + q (D1_0 - D1_1), D2 = (D1_0 - D1_1)/(r0 + r1). Note D1 ~ h x' and
         * D2 ~ h^2 x''/2, so the Taylor-consistent weight of D2 is 2 psi3; the reference
         * (and diffusers, k-diffusion 3M SDE) use psi3, which leaves an O(h^3) local error:
         * its 3M converges with order 2. dpmpp_3m uses 2 psi3 (order 3). */
        double d1_0 = (1.0 + q) / r0, d1_1 = -(1.0 + q) / r0 - q / r1, d1_2 = q / r1;
        double d2_0 = 1.0 / (r0 * sr), d2_1 = -(1.0 / r0 + 1.0 / r1) / sr, d2_2 = 1.0 / (r1 * sr);
        p3 *= c->d2_weight;     /* 1: the reference; 2: Taylor-consistent (dpmpp_3m) */
        cf[nt] = -S * (e1 + p2 * d1_0 + p3 * d2_0); v[nt++] = m0;
        cf[nt] = -S * (p2 * d1_1 + p3 * d2_1); v[nt++] = hm[nh - 2];
        cf[nt] = -S * (p2 * d1_2 + p3 * d2_2); v[nt++] = hm[nh - 3];
    }
    if (z) { cf[nt] = zc; v[nt++] = z; }
    nde__num_lincomb(c->n, c->x, nt, cf, v);
}

/* The reference multistep loop: model at t_T, warm-up orders 1..order-1, then `order`
 * (lower_order_final: min(order, steps + 1 - step) when steps < 10); no model call after
 * the final step. sde: the SDE variants (noise of the linear part, scaled by eta). */
static int run_multistep(nde__diff_ctx *c, int data, double eta, int sde)
{
    int rc, order = c->order, steps = c->steps;
    if ((rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, steps, c->ts))) return rc;
    int want = data ? NDE__DIFF_WANT_X0 : NDE__DIFF_WANT_EPS;
    double *hm[4] = { c->buf[0], c->buf[1], c->buf[2], NULL };
    double *z = sde ? c->buf[3] : NULL;
    nde__diff_tp hp[3];
    int nh = 1;
    hp[0] = nde__diff_tpoint(c->s, c->ts[0]);
    c->step = 0;
    if ((rc = nde__diff_eval(c, c->x, hp[0].t, want, hm[0]))) return rc;
    for (int step = 1; step <= steps; step++) {
        int so = multistep_order(step, order, steps, c->lower_order_final,
                                 NDE__DPM_LOF_BELOW);
        c->step = step;
        nde__diff_tp pt = nde__diff_tpoint(c->s, c->ts[step]);
        /* k-diffusion's 3M SDE takes its second-order steps with the Taylor weight */
        int taylor = (c->smp->taylor_order2 && so == 2) ? 1 : c->taylor;
        double zc = 0.0;
        const double *zz = NULL;
        if (sde && eta > 0) {
            double h = pt.lam - hp[nh - 1].lam;
            zc = data ? pt.sg * sqrt(-expm1(-2.0 * eta * h)) : pt.sg * sqrt(expm1(2.0 * h));
            zc *= c->s_noise;
            const nde__diff_tp *pp = &hp[nh - 1];
            if ((rc = nde__diff_noise_over(c, step, 0, pp->sg / pp->a, pt.sg / pt.a, z))) return rc;
            zz = z;
        }
        ms_update(c, data, so, taylor, data ? eta : 0.0, !data && eta > 0, hm, hp, nh, &pt,
                  zz, zc);
        if ((rc = nde__diff_after_step(c, step, pt.t))) return rc;
        if (step < order) {
            hp[nh] = pt;
            if ((rc = nde__diff_eval(c, c->x, pt.t, want, hm[nh]))) return rc;
            nh++;
        } else {
            double *old = hm[0];
            for (int i = 0; i < order - 1; i++) { hm[i] = hm[i + 1]; hp[i] = hp[i + 1]; }
            hm[order - 1] = old;
            hp[order - 1] = pt;
            if (step < steps && (rc = nde__diff_eval(c, c->x, pt.t, want, hm[order - 1])))
                return rc;
        }
    }
    return NDE_OK;
}

int nde__diff_run_dpm(nde__diff_ctx *c)
{
    switch (c->method) {
    case NDE__DIFF_M_MULTISTEP:
        return run_multistep(c, c->smp->info.data_form, 0.0, 0);
    case NDE__DIFF_M_ADAPTIVE:
        return run_dpm_adaptive(c);
    default:
        return run_dpm_singlestep(c);
    }
}

int nde__diff_run_dpm_sde(nde__diff_ctx *c)
{
    return run_multistep(c, c->smp->info.data_form, c->eta,
                         c->smp->noise == NDE__DIFF_NOISE_SDE);
}

/* ---- UniPC (wl-zhao/UniPC uni_pc.py, multistep_uni_pc_bh_update) ---------------- */

/* Solve the k x k system R rho = b (k <= 3) by Gaussian elimination with pivoting. */
static void solve_small(int k, double R[3][3], const double *b, double *rho)
{
    double M[3][4];
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) M[i][j] = R[i][j];
        M[i][k] = b[i];
    }
    for (int col = 0; col < k; col++) {
        int piv = col;
        for (int i = col + 1; i < k; i++) if (fabs(M[i][col]) > fabs(M[piv][col])) piv = i;
        if (piv != col)
            for (int j = 0; j <= k; j++) { double t = M[col][j]; M[col][j] = M[piv][j]; M[piv][j] = t; }
        for (int i = col + 1; i < k; i++) {
            double f = M[i][col] / M[col][col];
            for (int j = col; j <= k; j++) M[i][j] -= f * M[col][j];
        }
    }
    for (int i = k - 1; i >= 0; i--) {
        double acc = M[i][k];
        for (int j = i + 1; j < k; j++) acc -= M[i][j] * rho[j];
        rho[i] = acc / M[i][i];
    }
}

/* UniP-k prediction into xp, then (use_corr) the model at xp into mt and the UniC
 * correction into c->x; without the corrector c->x = xp. */
static int unipc_update(nde__diff_ctx *c, int data, int k, double *const *hm,
                        const nde__diff_tp *hp,
                        int nh, const nde__diff_tp *pt, int use_corr, double *mt, double *xp)
{
    int rc;
    const nde__diff_tp *p0 = &hp[nh - 1];
    const double *m0 = hm[nh - 1];
    ei E = ei_make(data, p0, pt);
    double hh = E.hh;
    double rks[3];
    for (int i = 1; i < k; i++) rks[i - 1] = (hp[nh - 1 - i].lam - p0->lam) / E.h;
    rks[k - 1] = 1.0;
    double ph[5];
    nde__num_phi(hh, k + 1, ph);
    double e1 = expm1(hh);
    double Bh = c->bh2 ? e1 : hh;
    double R[3][3], b[3], fact = 1.0;
    for (int i = 1; i <= k; i++) {
        for (int j = 0; j < k; j++) R[i - 1][j] = pow(rks[j], (double)(i - 1));
        fact *= (double)i;                           /* i! */
        b[i - 1] = hh * ph[i + 1] * fact / Bh;       /* h_phi_k * i! / B(h) */
    }
    double SB = E.S * Bh;
    /* x_t_ = A x - S e1 m0; D1_i = (m_i - m0)/rk_i */
    double cf[6];
    const double *v[6];
    int nt = 0;
    cf[nt] = E.A; v[nt++] = c->x;
    cf[nt] = -E.S * e1; v[nt++] = m0;
    int m0_slot = 1;
    if (k >= 2) {
        double rho[3];
        if (k == 2) rho[0] = 0.5;
        else solve_small(k - 1, R, b, rho);
        for (int i = 1; i < k; i++) {
            double w = -SB * rho[i - 1] / rks[i - 1];
            cf[nt] = w; v[nt++] = hm[nh - 1 - i];
            cf[m0_slot] -= w;
        }
    }
    nde__num_lincomb(c->n, use_corr ? xp : c->x, nt, cf, v);
    if (!use_corr) return NDE_OK;
    int want = data ? NDE__DIFF_WANT_X0 : NDE__DIFF_WANT_EPS;
    if ((rc = nde__diff_eval(c, xp, pt->t, want, mt))) return rc;
    double rho[3];
    if (k == 1) rho[0] = 0.5;
    else solve_small(k, R, b, rho);
    nt = 2;
    cf[1] = -E.S * e1;
    for (int i = 1; i < k; i++) {
        double w = -SB * rho[i - 1] / rks[i - 1];
        cf[nt] = w; v[nt++] = hm[nh - 1 - i];
        cf[1] -= w;
    }
    double wt = -SB * rho[k - 1];
    cf[nt] = wt; v[nt++] = mt;
    cf[1] -= wt;
    nde__num_lincomb(c->n, c->x, nt, cf, v);
    return NDE_OK;
}

int nde__diff_run_unipc(nde__diff_ctx *c)
{
    int rc, order = c->order, steps = c->steps;
    int data = c->smp->info.data_form;
    int want = data ? NDE__DIFF_WANT_X0 : NDE__DIFF_WANT_EPS;
    if ((rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, steps, c->ts))) return rc;
    double *hm[4] = { c->buf[0], c->buf[1], c->buf[2], c->buf[3] };
    double *xp = c->buf[4];
    nde__diff_tp hp[3];
    int nh = 1;
    hp[0] = nde__diff_tpoint(c->s, c->ts[0]);
    c->step = 0;
    if ((rc = nde__diff_eval(c, c->x, hp[0].t, want, hm[0]))) return rc;
    for (int step = 1; step <= steps; step++) {
        int so = multistep_order(step, order, steps, c->lower_order_final,
                                 NDE__UNIPC_LOF_BELOW);
        int use_corr = step < order || step < steps;
        c->step = step;
        nde__diff_tp pt = nde__diff_tpoint(c->s, c->ts[step]);
        double *mt = hm[nh < order ? nh : order];          /* a free slot */
        if ((rc = unipc_update(c, data, so, hm, hp, nh, &pt, use_corr, mt, xp))) return rc;
        if ((rc = nde__diff_after_step(c, step, pt.t))) return rc;
        if (step < order) {
            hp[nh] = pt;
            nh++;                       /* mt is hm[nh-1] now */
        } else if (step < steps) {
            double *old = hm[0];
            for (int i = 0; i < order; i++) hm[i] = hm[i + 1];
            hm[order] = old;
            for (int i = 0; i < order - 1; i++) hp[i] = hp[i + 1];
            hp[order - 1] = pt;
        }
    }
    return NDE_OK;
}

/* ---- DEIS tAB, iPNDM, LMS (multistep on eps with history) ------------------------ */

/* Lagrange basis j through nodes tn[0..q-1] at tau. */
static double lagrange(const double *tn, int q, int j, double tau)
{
    double p = 1.0;
    for (int m = 0; m < q; m++)
        if (m != j) p *= (tau - tn[m]) / (tn[j] - tn[m]);
    return p;
}

/* The history loop of the eps-based multistep methods (rule: DEIS, iPNDM, LMS). */
int nde__diff_run_eps_multistep(nde__diff_ctx *c)
{
    const int rule = c->smp->rule;
    int rc, order = c->order, steps = c->steps;
    if ((rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, steps, c->ts))) return rc;
    double *hm[4] = { c->buf[0], c->buf[1], c->buf[2], c->buf[3] };
    double htime[4], hsig[4];          /* times and sigma/alpha of the history, newest first */
    int nh = 0;
    static const double ab[4][4] = {
        { 1.0, 0, 0, 0 }, { 1.5, -0.5, 0, 0 },
        { 23.0 / 12, -16.0 / 12, 5.0 / 12, 0 }, { 55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24 } };
    for (int i = 0; i < steps; i++) {
        c->step = i + 1;
        nde__diff_tp ps = nde__diff_tpoint(c->s, c->ts[i]);
        nde__diff_tp pt = nde__diff_tpoint(c->s, c->ts[i + 1]);
        /* newest eps goes to hm[0]: reuse the next free buffer, or the oldest when full */
        int last = nh < order ? nh : order - 1;
        double *slot = hm[last];
        for (int j = last; j > 0; j--) {
            hm[j] = hm[j - 1]; htime[j] = htime[j - 1]; hsig[j] = hsig[j - 1];
        }
        hm[0] = slot;
        htime[0] = ps.t;
        hsig[0] = ps.sg / ps.a;
        if (nh < order) nh++;
        if ((rc = nde__diff_eval(c, c->x, ps.t, NDE__DIFF_WANT_EPS, hm[0]))) return rc;
        int q = nh;                                     /* current order */
        double cf[5];
        const double *v[5];
        cf[0] = pt.a / ps.a; v[0] = c->x;
        double base = -pt.sg * expm1(pt.lam - ps.lam);  /* sigma' - alpha' sigma/alpha */
        if (rule == NDE__DIFF_EPS_IPNDM) {
            for (int j = 0; j < q; j++) { cf[1 + j] = base * ab[q - 1][j]; v[1 + j] = hm[j]; }
        } else if (q == 1) {
            cf[1] = base; v[1] = hm[0];
        } else if (rule == NDE__DIFF_EPS_DEIS) {        /* DEIS tAB */
            /* C_j = -alpha' e^{-lambda_s} int_0^h e^{-u} l_j(t(lambda_s + u)) du */
            double h = pt.lam - ps.lam, pref = -pt.a * ps.sg / ps.a;
            double acc[4] = { 0, 0, 0, 0 };
            const nde__num_rule *gl8 = nde__num_gauss_legendre(8);
            const int panels = 2;     /* 2 panels of 8-point Gauss-Legendre over one step:
                                         the integrand e^{-u} l_j(t(lambda_s + u)) is smooth */
            for (int pn = 0; pn < panels; pn++) {
                double a = h * pn / panels, bnd = h * (pn + 1) / panels;
                double mid = 0.5 * (a + bnd), half = 0.5 * (bnd - a);
                for (int g = 0; g < 8; g++) {
                    int r = g < 4 ? 3 - g : g;   /* nodes -x_0 .. -x_3, then x_0 .. x_3 */
                    double u = mid + half * gl8->x[r];
                    double w = half * gl8->w[r] * exp(-u);
                    double tau = nde_schedule_t_of_lambda(c->s, ps.lam + u);
                    for (int j = 0; j < q; j++) acc[j] += w * lagrange(htime, q, j, tau);
                }
            }
            for (int j = 0; j < q; j++) { cf[1 + j] = pref * acc[j]; v[1 + j] = hm[j]; }
        } else {                                        /* LMS in sigma/alpha */
            /* c_j = int_{st_i}^{st_{i+1}} l_j(tau) dtau over nodes st_{i-k}; x' = (a'/a) x
             * + a' sum c_j eps_j; 3-point Gauss-Legendre is exact for degree <= 5 */
            double s0 = hsig[0], s1 = pt.sg / pt.a, mid = 0.5 * (s0 + s1), half = 0.5 * (s1 - s0);
            const nde__num_rule *gl3 = nde__num_gauss_legendre(3);
            const double *gx = gl3->x, *gw = gl3->w;
            for (int j = 0; j < q; j++) {
                double acc = 0.0;
                for (int g = 0; g < 3; g++) acc += gw[g] * lagrange(hsig, q, j, mid + half * gx[g]);
                cf[1 + j] = pt.a * half * acc;
                v[1 + j] = hm[j];
            }
        }
        nde__num_lincomb(c->n, c->x, 1 + q, cf, v);
        if ((rc = nde__diff_after_step(c, c->step, pt.t))) return rc;
    }
    return NDE_OK;
}
