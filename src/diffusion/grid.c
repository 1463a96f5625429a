/* Time grids: the N+1 times of every spacing from t_start down to t_end (the reference
 * get_time_steps for logSNR, time_uniform and time_quadratic; Karras rho-spacing; Align
 * Your Steps tables; custom times), each point computable on its own so that validation
 * and nde_diffusion_plan need no workspace; the grid check; the singlestep DPM-Solver
 * outer grid and order schedule. */
#include "diffusion/internal.h"

#include <math.h>
#include <stdio.h>

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

/* Point i of the N+1-point grid of a spacing, computed on its own (validation and the
 * plan walk the grid without a workspace); nde__diff_grid writes all of them. */
double nde__diff_grid_at(const nde__diff_ctx *c, int spacing, double t_T, double t_0,
                         int N, int i)
{
    const nde_schedule *s = c->s;
    switch (spacing) {
    case NDE__DIFF_SP_LOGSNR: {
        double lT = nde_schedule_lambda(s, t_T), l0 = nde_schedule_lambda(s, t_0);
        return nde_schedule_t_of_lambda(s, linspace_at(lT, l0, N + 1, i));
    }
    case NDE__DIFF_SP_UNIFORM:
        return linspace_at(t_T, t_0, N + 1, i);
    case NDE__DIFF_SP_QUADRATIC: {
        double r = linspace_at(sqrt(t_T), sqrt(t_0), N + 1, i);
        return r * r;
    }
    case NDE__DIFF_SP_KARRAS: {
        if (i == 0) return t_T;
        if (i == N) return t_0;
        double smax = exp(-nde_schedule_lambda(s, t_T));
        double smin = exp(-nde_schedule_lambda(s, t_0));
        double ir = 1.0 / c->rho, a = pow(smax, ir), b = pow(smin, ir);
        double ramp = linspace_at(0.0, 1.0, N + 1, i);
        double st = pow(a + ramp * (b - a), c->rho);
        return nde_schedule_t_of_lambda(s, -log(st));
    }
    case NDE__DIFF_SP_AYS_SD15: case NDE__DIFF_SP_AYS_SDXL: case NDE__DIFF_SP_AYS_SVD:
        return nde_schedule_t_of_lambda(
            s, -log(ays_sigma(spacing - NDE__DIFF_SP_AYS_SD15, N, i)));
    default:   /* NDE__DIFF_SP_CUSTOM */
        return c->o->timesteps[i];
    }
}

int nde__diff_grid(const nde__diff_ctx *c, int spacing, double t_T, double t_0, int N,
                   double *ts)
{
    if (spacing < NDE__DIFF_SP_LOGSNR || spacing > NDE__DIFF_SP_CUSTOM) return NDE_EINVAL;
    for (int i = 0; i <= N; i++) ts[i] = nde__diff_grid_at(c, spacing, t_T, t_0, N, i);
    return NDE_OK;
}

int nde__diff_grid_range(const nde_schedule *s, int spacing, double *t_T, double *t_0)
{
    if (spacing < NDE__DIFF_SP_AYS_SD15 || spacing > NDE__DIFF_SP_AYS_SVD) return 0;
    const double *tab = ays_tables[spacing - NDE__DIFF_SP_AYS_SD15];
    *t_T = nde_schedule_t_of_lambda(s, -log(tab[0]));
    *t_0 = nde_schedule_t_of_lambda(s, -log(tab[10]));
    return 1;
}

const char *nde__diff_spacing_name(int spacing)
{
    static const char *const names[] = { "logsnr", "time_uniform", "time_quadratic",
                                         "karras", "ays_sd15", "ays_sdxl", "ays_svd",
                                         "custom" };
    return names[spacing];
}

static int dpm_check(nde__diff_ctx *c);

/* The fixed-step grid must be usable by every sampler: finite times inside the
 * schedule's domain, strictly decreasing, with lambda strictly increasing and
 * sigma/alpha strictly decreasing (each step has h > 0; the samplers divide by step
 * lengths and history differences). A Karras grid with an extreme rho, t_end a few ULPs
 * below t_start or steps so many that neighbouring times coincide fail here, before
 * any model call. O(steps) schedule evaluations, no workspace. */
int nde__diff_grid_check(nde__diff_ctx *c)
{
    const nde_schedule *s = c->s;
    nde__diff_tp prev = { 0, 0, 0, 0, 0 };
    for (int i = 0; i <= c->steps; i++) {
        double t = nde__diff_grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, i);
        nde__diff_tp p = nde__diff_tpoint(s, t);
        int ok = isfinite(t) && nde__diff_in_domain(s, t);
        if (ok && i > 0) ok = t < prev.t && p.lam > prev.lam && p.sg / p.a < prev.sg / prev.a;
        if (!ok) {
            char rho[48] = "", after[48] = "";
            if (c->spacing == NDE__DIFF_SP_KARRAS)
                snprintf(rho, sizeof rho, " (rho = %g)", c->rho);
            if (i > 0) snprintf(after, sizeof after, " after %.17g", prev.t);
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "the '%s' time grid%s of %d steps from %.17g to %.17g is not "
                            "usable: time %d is %.17g (lambda %.17g)%s; times must be "
                            "finite, inside the schedule's domain and strictly decreasing "
                            "with lambda strictly increasing",
                            nde__diff_spacing_name(c->spacing), rho, c->steps, c->t_T,
                            c->t_0, i, t, p.lam, after);
        }
        prev = p;
    }
    if (c->method == NDE__DIFF_M_SINGLESTEP || c->method == NDE__DIFF_M_FIXED)
        return dpm_check(c);
    return NDE_OK;
}

/* ---- singlestep DPM-Solver: order schedule and outer grid ------------------------ */

/* The reference's singlestep orders (DPM-Solver-fast, "singlestep"): order `order` steps
 * with the remainder 1 or 2 at the end; "singlestep_fixed": all of order `order`. */
int nde__diff_dpm_fast_order(int steps, int order, int method, int k)
{
    if (method == NDE__DIFF_M_FIXED || order == 1) return order;
    if (order == 2) {
        int K = steps / 2 + steps % 2;
        return (steps % 2 == 1 && k == K - 1) ? 1 : 2;
    }
    int K = steps / 3 + 1, r = steps % 3;
    if (r == 0) return k < K - 2 ? 3 : (k == K - 2 ? 2 : 1);
    if (k < K - 1) return 3;
    return r == 1 ? 1 : 2;
}

/* Number of outer steps. */
static int dpm_fast_count(int steps, int order, int method)
{
    if (method == NDE__DIFF_M_FIXED) return steps / order;
    if (order == 1) return steps;
    if (order == 2) return steps / 2 + steps % 2;
    return steps / 3 + 1;
}

void nde__diff_dpm_inner(const nde__diff_ctx *c, double s, double t, int ord, double *r1,
                         double *r2)
{
    *r1 = 0.5;
    *r2 = 2.0 / 3.0;
    if (ord <= 1) return;
    /* inner sub-grids use the same spacing (table spacings and custom: uniform lambda) */
    int inner = c->spacing;
    if (inner == NDE__DIFF_SP_CUSTOM
        || (inner >= NDE__DIFF_SP_AYS_SD15 && inner <= NDE__DIFF_SP_AYS_SVD))
        inner = NDE__DIFF_SP_LOGSNR;
    double lin[4];
    for (int i = 0; i <= ord; i++)
        lin[i] = nde_schedule_lambda(c->s, nde__diff_grid_at(c, inner, s, t, ord, i));
    double h = lin[ord] - lin[0];
    *r1 = (lin[1] - lin[0]) / h;
    if (ord > 2) *r2 = (lin[2] - lin[0]) / h;
}

/* Outer point k of the singlestep grid with K steps, pointwise (idx: the fine-grid
 * index of point k, advanced by the caller), as nde__diff_dpm_outer writes it. */
static double dpm_outer_at(const nde__diff_ctx *c, int K, int k, int idx)
{
    if (c->method == NDE__DIFF_M_FIXED || c->spacing == NDE__DIFF_SP_LOGSNR)
        return nde__diff_grid_at(c, c->spacing, c->t_T, c->t_0, K, k);
    return nde__diff_grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, idx);
}

/* The singlestep steps: outer times strictly decreasing in t and increasing in lambda,
 * inside the domain, inner points strictly inside each step (0 < r1 < r2 < 1). */
static int dpm_check(nde__diff_ctx *c)
{
    int K = dpm_fast_count(c->steps, c->order, c->method), idx = 0;
    double s = dpm_outer_at(c, K, 0, 0);
    for (int k = 0; k < K; k++) {
        int ord = nde__diff_dpm_fast_order(c->steps, c->order, c->method, k);
        idx += ord;
        double t = dpm_outer_at(c, K, k + 1, idx), r1, r2;
        int ok = isfinite(t) && nde__diff_in_domain(c->s, t) && t < s
                 && nde_schedule_lambda(c->s, t) > nde_schedule_lambda(c->s, s);
        if (ok) {
            nde__diff_dpm_inner(c, s, t, ord, &r1, &r2);
            ok = ord < 2 || (r1 > 0 && r1 < 1 && (ord < 3 || (r2 > r1 && r2 < 1)));
        }
        if (!ok)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "singlestep step %d of %d (order %d) from t = %.17g to %.17g on "
                            "the '%s' grid is not usable: its end or inner points do not "
                            "advance lambda strictly", k + 1, K, ord, s, t,
                            nde__diff_spacing_name(c->spacing));
        s = t;
    }
    return NDE_OK;
}

int nde__diff_dpm_outer(const nde__diff_ctx *c, double *ts, int *Kout)
{
    int K = dpm_fast_count(c->steps, c->order, c->method), rc;
    *Kout = K;
    if (c->method == NDE__DIFF_M_FIXED || c->spacing == NDE__DIFF_SP_LOGSNR)
        return nde__diff_grid(c, c->spacing, c->t_T, c->t_0, K, ts);
    /* the fine grid of the spacing, then the cumulative-order indices (in place: the
     * picked index is never below the slot it moves to) */
    if ((rc = nde__diff_grid(c, c->spacing, c->t_T, c->t_0, c->steps, ts))) return rc;
    int idx = 0;
    for (int k = 0; k < K; k++) {
        ts[k] = ts[idx];
        idx += nde__diff_dpm_fast_order(c->steps, c->order, c->method, k);
    }
    ts[K] = ts[idx];
    return NDE_OK;
}
