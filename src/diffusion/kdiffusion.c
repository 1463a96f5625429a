/* The k-diffusion / EDM samplers: EDM Euler, Heun and DPM2 with churn (Karras et al.
 * 2022, Alg. 2; k-diffusion sample_euler, sample_heun, sample_dpm_2), the ancestral
 * samplers (sample_euler_ancestral, sample_dpm_2_ancestral, sample_dpmpp_2s_ancestral)
 * and DPM++ SDE (sample_dpmpp_sde). They work in the scaled coordinates xt = x/alpha,
 * st = sigma/alpha (VE form), where x0-hat D gives the ODE dxt/dst = (xt - D)/st. */
#include "diffusion/internal.h"

#include <math.h>
#include <string.h>

/* ---- k-diffusion / EDM samplers in (xt = x/alpha, st = sigma/alpha) ----------- */

static double st_of(const nde__diff_tp *p) { return p->sg / p->a; }
static double t_of_st(const nde__diff_ctx *c, double st)
{
    return nde_schedule_t_of_lambda(c->s, -log(st));
}

/* d = (xt - D)/st */
NDE__DIFF_VEC
static void to_d(size_t n, const double *xt, const double *D, double st, double *d)
{
    for (size_t i = 0; i < n; i++) d[i] = (xt[i] - D[i]) / st;
}

/* Write the VP state x = alpha xt for the step callback and the result. With an
 * on_step callback, which may edit x (the reference's correcting_xt_fn), the loop
 * continues from the state it left: xt <- x / alpha. Without one xt is kept as is (no
 * round trip through alpha, so results do not change). */
NDE__DIFF_VEC
static int tilde_commit(nde__diff_ctx *c, double *xt, const nde__diff_tp *pt, int step)
{
    double a = pt->a;
    for (size_t i = 0; i < c->n; i++) c->x[i] = a * xt[i];
    int rc = nde__diff_after_step(c, step, pt->t);
    if (rc == NDE_OK && c->o->on_step)
        for (size_t i = 0; i < c->n; i++) xt[i] = c->x[i] / a;
    return rc;
}

/* get_ancestral_step (k-diffusion), radicands clamped at 0 (diffusers #14213) */
void nde__diff_ancestral_step(double sf, double st, double eta, double *sd, double *su)
{
    if (eta == 0) { *sd = st; *su = 0.0; return; }
    double up = eta * sqrt(fmax(0.0, st * st * (sf * sf - st * st) / (sf * sf)));
    *su = up < st ? up : st;
    *sd = sqrt(fmax(0.0, st * st - *su * *su));
}

/* The time grid into c->ts and the state in x / alpha coordinates into c->buf[0]: the
 * start of every sampler here. */
NDE__DIFF_VEC
static int tilde_start(nde__diff_ctx *c)
{
    int rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, c->steps, c->ts);
    if (rc) return rc;
    nde__diff_tp p = nde__diff_tpoint(c->s, c->ts[0]);
    for (size_t i = 0; i < c->n; i++) c->buf[0][i] = c->x[i] / p.a;
    return 0;
}

NDE__DIFF_VEC
static int run_edm(nde__diff_ctx *c)
{
    int rc, rule = c->smp->rule;
    if ((rc = tilde_start(c))) return rc;
    size_t n = c->n;
    double *xt = c->buf[0], *D = c->buf[1], *d = c->buf[2], *x2 = c->buf[3], *z = c->buf[4];
    double gmax = sqrt(2.0) - 1.0;   /* EDM Alg. 2: gamma <= sqrt(2) - 1 (sigma_hat <= sqrt(2) sigma) */
    /* With denoise_to_zero the final step to sigma = 0 is taken here, as k-diffusion's
     * last step (Euler, churn included); len(sigmas) - 1 = steps + 1 then. */
    int nsteps = c->steps + c->denoise_to_zero;
    for (int i = 0; i < nsteps; i++) {
        c->step = i + 1;
        int last0 = i == c->steps;                      /* the step to sigma = 0 */
        nde__diff_tp ps = nde__diff_tpoint(c->s, c->ts[i]);
        nde__diff_tp pt = last0 ? ps : nde__diff_tpoint(c->s, c->ts[i + 1]);
        double si = st_of(&ps), sn = last0 ? 0.0 : st_of(&pt);
        double gamma = 0.0;
        if (c->s_churn > 0 && si >= c->s_tmin && si <= c->s_tmax)
            gamma = fmin(c->s_churn / (double)nsteps, gmax);
        double shat = si * (gamma + 1.0), that = ps.t;
        if (gamma > 0) {
            that = t_of_st(c, shat);
            double u0 = (double)i / nsteps, u1 = (double)(i + 1) / nsteps;
            if ((rc = nde__diff_noise_over(c, c->step, 0, u0, u1, z))) return rc;
            double zc = sqrt(shat * shat - si * si) * c->s_noise;
            for (size_t k = 0; k < n; k++) xt[k] += zc * z[k];
        }
        if ((rc = nde__diff_eval_tilde(c, xt, that, D))) return rc;
        to_d(n, xt, D, shat, d);
        double dt = sn - shat;
        if (rule == NDE__DIFF_EDM_EULER || last0) {
            for (size_t k = 0; k < n; k++) xt[k] += d[k] * dt;
        } else if (rule == NDE__DIFF_EDM_HEUN) {
            for (size_t k = 0; k < n; k++) x2[k] = xt[k] + d[k] * dt;
            if ((rc = nde__diff_eval_tilde(c, x2, pt.t, D))) return rc;
            for (size_t k = 0; k < n; k++) {
                double d2 = (x2[k] - D[k]) / sn;
                xt[k] += 0.5 * (d[k] + d2) * dt;
            }
        } else {                                        /* DPM2 */
            double smid = exp(log(shat) + 0.5 * (log(sn) - log(shat)));
            for (size_t k = 0; k < n; k++) x2[k] = xt[k] + d[k] * (smid - shat);
            if ((rc = nde__diff_eval_tilde(c, x2, t_of_st(c, smid), D))) return rc;
            for (size_t k = 0; k < n; k++) xt[k] += (x2[k] - D[k]) / smid * dt;
        }
        if (last0) {                                    /* sigma = 0: x = xt */
            memcpy(c->x, xt, n * sizeof *xt);
            c->denoised = 1;
            if ((rc = nde__diff_after_step(c, c->step, 0.0))) return rc;
        } else if ((rc = tilde_commit(c, xt, &pt, c->step))) {
            return rc;
        }
    }
    return NDE_OK;
}

int nde__diff_run_edm(nde__diff_ctx *c)
{
    return run_edm(c);
}

NDE__DIFF_VEC
static int run_ancestral(nde__diff_ctx *c)
{
    int rc, rule = c->smp->rule;
    if ((rc = tilde_start(c))) return rc;
    size_t n = c->n;
    double *xt = c->buf[0], *D = c->buf[1], *d = c->buf[2], *x2 = c->buf[3], *z = c->buf[4];
    for (int i = 0; i < c->steps; i++) {
        c->step = i + 1;
        nde__diff_tp ps = nde__diff_tpoint(c->s, c->ts[i]);
        nde__diff_tp pt = nde__diff_tpoint(c->s, c->ts[i + 1]);
        double si = st_of(&ps), sn = st_of(&pt), sd, su;
        if ((rc = nde__diff_eval_tilde(c, xt, ps.t, D))) return rc;
        nde__diff_ancestral_step(si, sn, c->eta, &sd, &su);
        /* the noise is drawn just before the step's last pass and added in it (one pass
         * less; the same sums in the same order as an update and then x += zc z). A step
         * to D (sd = 0) of dpm2_ancestral adds none, as k-diffusion's sample_dpm_2_ancestral. */
        int noise = su > 0 && !(sd == 0.0 && rule == NDE__DIFF_ANC_DPM2);
        double zc = su * c->s_noise;
        if (sd == 0.0) {       /* Euler to D: one NFE */
            if (noise) {
                if ((rc = nde__diff_noise_over(c, c->step, 0, si, sn, z))) return rc;
                for (size_t k = 0; k < n; k++) xt[k] = D[k] + zc * z[k];
            } else {
                for (size_t k = 0; k < n; k++) xt[k] = D[k];
            }
        } else if (rule == NDE__DIFF_ANC_EULER) {
            to_d(n, xt, D, si, d);
            double dt = sd - si;
            if (noise) {
                if ((rc = nde__diff_noise_over(c, c->step, 0, si, sn, z))) return rc;
                for (size_t k = 0; k < n; k++) xt[k] = (xt[k] + d[k] * dt) + zc * z[k];
            } else {
                for (size_t k = 0; k < n; k++) xt[k] += d[k] * dt;
            }
        } else if (rule == NDE__DIFF_ANC_DPM2) {
            to_d(n, xt, D, si, d);
            double smid = exp(log(si) + 0.5 * (log(sd) - log(si)));
            for (size_t k = 0; k < n; k++) x2[k] = xt[k] + d[k] * (smid - si);
            if ((rc = nde__diff_eval_tilde(c, x2, t_of_st(c, smid), D))) return rc;
            double dt = sd - si;
            if (noise) {
                if ((rc = nde__diff_noise_over(c, c->step, 0, si, sn, z))) return rc;
                for (size_t k = 0; k < n; k++) xt[k] = (xt[k] + (x2[k] - D[k]) / smid * dt) + zc * z[k];
            } else {
                for (size_t k = 0; k < n; k++) xt[k] += (x2[k] - D[k]) / smid * dt;
            }
        } else {                                        /* DPM++(2S): midpoint in lambda */
            double li = -log(si), ld = -log(sd), h = ld - li, ls = li + 0.5 * h;
            double a1 = exp(-0.5 * h), b1 = -expm1(-0.5 * h);
            for (size_t k = 0; k < n; k++) x2[k] = a1 * xt[k] + b1 * D[k];
            if ((rc = nde__diff_eval_tilde(c, x2, nde_schedule_t_of_lambda(c->s, ls), D)))
                return rc;
            double a2 = sd / si, b2 = -expm1(-h);
            if (noise) {
                if ((rc = nde__diff_noise_over(c, c->step, 0, si, sn, z))) return rc;
                for (size_t k = 0; k < n; k++) xt[k] = (a2 * xt[k] + b2 * D[k]) + zc * z[k];
            } else {
                for (size_t k = 0; k < n; k++) xt[k] = a2 * xt[k] + b2 * D[k];
            }
        }
        if ((rc = tilde_commit(c, xt, &pt, c->step))) return rc;
    }
    return NDE_OK;
}

int nde__diff_run_ancestral(nde__diff_ctx *c)
{
    return run_ancestral(c);
}

/* k-diffusion sample_dpmpp_sde (r = 1/2): two ancestral DPM-Solver++ sub-steps. Its
 * Brownian-tree noise makes the two increments of a step consistent: with the tree
 * time sigma, z2 = sqrt(f) z1 + sqrt(1 - f) z', f = (st_i - st_s)/(st_i - st_next). */
NDE__DIFF_VEC
static int run_dpmpp_sde(nde__diff_ctx *c)
{
    int rc;
    if ((rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, c->steps, c->ts))) return rc;
    size_t n = c->n;
    double *xt = c->buf[0], *D = c->buf[1], *x2 = c->buf[2], *z1 = c->buf[3], *z2 = c->buf[4];
    const double r = 0.5, fac = 1.0 / (2.0 * r);
    nde__diff_tp p = nde__diff_tpoint(c->s, c->ts[0]);
    for (size_t i = 0; i < n; i++) xt[i] = c->x[i] / p.a;
    for (int i = 0; i < c->steps; i++) {
        c->step = i + 1;
        nde__diff_tp ps = nde__diff_tpoint(c->s, c->ts[i]);
        nde__diff_tp pt = nde__diff_tpoint(c->s, c->ts[i + 1]);
        double si = st_of(&ps), sn = st_of(&pt);
        if ((rc = nde__diff_eval_tilde(c, xt, ps.t, D))) return rc;
        double lt = -log(si), ln = -log(sn), h = ln - lt, ls = lt + h * r;
        double ss = exp(-ls);
        /* step 1: to s with its own ancestral split */
        double sd, su;
        nde__diff_ancestral_step(si, ss, c->eta, &sd, &su);
        double ls_ = -log(sd);
        double ax = sd / si, bx = -expm1(lt - ls_);
        if (c->eta > 0) {
            double zc = su > 0 ? su * c->s_noise : 0.0;
            if (c->trees) {
                /* the trees' increments over [ss, si] and [sn, si], normalised */
                if ((rc = nde__diff_noise_over(c, c->step, 0, si, ss, z1))) return rc;
                if ((rc = nde__diff_noise_over(c, c->step, 1, si, sn, z2))) return rc;
                for (size_t k = 0; k < n; k++) x2[k] = ax * xt[k] + bx * D[k] + zc * z1[k];
            } else {
                /* both increments in one pass: x2 gets z1, z2 becomes the bridge sample */
                nde__diff_noise(c, c->step, 0, z1);
                nde__diff_noise(c, c->step, 1, z2);
                double f = (si - ss) / (si - sn), a = sqrt(f), b = sqrt(1.0 - f);
                for (size_t k = 0; k < n; k++) {
                    x2[k] = ax * xt[k] + bx * D[k] + zc * z1[k];
                    z2[k] = a * z1[k] + b * z2[k];
                }
            }
        } else {
            for (size_t k = 0; k < n; k++) x2[k] = ax * xt[k] + bx * D[k];
        }
        double *D2 = z1;        /* z1 is no longer needed */
        if ((rc = nde__diff_eval_tilde(c, x2, nde_schedule_t_of_lambda(c->s, ls), D2)))
            return rc;
        /* step 2: to next with D_d = (1 - fac) D + fac D2 */
        nde__diff_ancestral_step(si, sn, c->eta, &sd, &su);
        double ln_ = -log(sd);
        ax = sd / si;
        bx = -expm1(lt - ln_);
        double zc = su * c->s_noise;
        if (su > 0) {
            for (size_t k = 0; k < n; k++)
                xt[k] = ax * xt[k] + bx * ((1.0 - fac) * D[k] + fac * D2[k]) + zc * z2[k];
        } else {
            for (size_t k = 0; k < n; k++)
                xt[k] = ax * xt[k] + bx * ((1.0 - fac) * D[k] + fac * D2[k]);
        }
        if ((rc = tilde_commit(c, xt, &pt, c->step))) return rc;
    }
    return NDE_OK;
}

int nde__diff_run_dpmpp_sde(nde__diff_ctx *c)
{
    return run_dpmpp_sde(c);
}
