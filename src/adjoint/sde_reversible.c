/* NDE_ADJOINT_REVERSIBLE for SDEs: exact discrete gradients of reversible Heun
 * (src/sde/reversible.c) in memory flat in the number of steps (Kidger, Foster, Li &
 * Lyons 2021, "Efficient and accurate gradients for neural SDEs", section 3).
 *
 * The forward hook keeps what the ODE version (reversible.c) keeps: the step list (s, h
 * per accepted step), the end state (y, yh) and y0, and per restart of the stepper (a
 * jump, where yh = y again) the yh the step before it ended with. No noise is kept:
 * each step's W is asked of the tree again over the same [t, t + dt].
 *
 * With v(t, z) = f(t, z) dt + g(t, z) W, step k took
 *     v0 = v(t, yh0),  yh1 = 2 y0 - yh0 + v0,  v1 = v(t + dt, yh1),  y1 = y0 + (v0 + v1)/2
 * and is inverted from its end with one f and one g evaluation:
 *     yh0 = 2 y1 - yh1 - v1,   v0 = v(t, yh0),   y0 = y1 - (v0 + v1)/2.
 * Its discrete adjoint, with yb, yhb the cotangents of y1, yh1:
 *     vb1 = yb/2;  yhb += VJP_v(t + dt, yh1)(vb1);  vb0 = yb/2 + yhb;
 *     yb0 = yb + 2 yhb;  yhb0 = -yhb + VJP_v(t, yh0)(vb0),
 * VJP_v(t, z)(c) = dt drift_vjp(t, z, c) + diffusion_vjp(t, z, c W^T). The evaluations
 * at a node are shared by the two steps that meet there (its f and g serve the v1 of
 * the step before and the v0 of the step after, with their own dt and W), so the pass
 * merges the two VJPs of a node into one drift VJP with cotangent dt_k vb0_k +
 * dt_{k-1} vb1_{k-1} and one diffusion VJP with vb0_k W_k^T + vb1_{k-1} W_{k-1}^T: per
 * step one f, one g, one drift VJP and one diffusion VJP. At the start of a segment
 * (yh = y there) the node's cotangents fold into y's.
 *
 * The reconstruction is exact in exact arithmetic; in floating point each inverse step
 * rounds, so the rebuilt states drift from the forward ones by a few ULP per step:
 * nde_adjoint_stats.reconstruction_error reports max_i |y0_i rebuilt - y0_i| (measured
 * in tests/test_sde_adjoint.c). The gradient is that of the forward solve evaluated
 * along the rebuilt states. */
#include "adjoint/internal.h"
#include "numerics/internal.h"

#include <math.h>
#include <string.h>

enum { RV_Y, RV_YH, RV_FH, RV_Y0, RV_VECTORS };   /* as reversible.c lays out t->rv (RV_FH unused) */

int nde__adj_sde_reversible_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                                   const double *y1)
{
    nde_tape *t = ctx;
    const size_t k = t->n_steps, dim = t->p.dim, unit = 1 + 2 * dim;
    const double *yh1;
    size_t starts;
    nde__sde_rev_view(&S->st, &yh1, &starts);
    if (nde__adj_grow(t, &t->steps, &t->cap_steps, t->step_unit, k + 1)) goto nomem;
    if (k == 0) memcpy(t->rv + RV_Y0 * dim, y, dim * sizeof *y);
    else if (starts != t->rv_starts) {   /* restarted (a jump): keep how step k - 1 ended */
        if (nde__adj_grow(t, &t->rv_seg, &t->cap_seg, unit, t->n_seg + 1)) goto nomem;
        double *r = t->rv_seg + t->n_seg++ * unit;
        r[0] = (double)k;
        memcpy(r + 1, t->rv + RV_YH * dim, dim * sizeof *r);
    }
    t->rv_starts = starts;
    double *r = t->steps + k * t->step_unit;
    r[STEP_S] = s;
    r[STEP_H] = h;
    memcpy(t->rv + RV_Y * dim, y1, dim * sizeof *y1);
    memcpy(t->rv + RV_YH * dim, yh1, dim * sizeof *yh1);
    t->n_steps++;
    return 0;
nomem:
    t->failed = 1;
    return NDE_ENOMEM;
}

typedef struct srv_work {
    const nde_sde *q;
    size_t dim, m, gs, np;
    int diag;
    double *y, *yh, *fh, *y0, *yh0, *fh0, *v0, *v1, *yb, *yhb, *cf, *ay, *inside;   /* dim */
    double *gh, *gh0, *cg;                                                           /* g's shape */
    double *W;                                                                       /* m */
    double *at, *theta_bar;                                                          /* np */
    size_t nfe, nvjp;
} srv_work;

static void swap(double **a, double **b) { double *t = *a; *a = *b; *b = t; }

/* out = dt f + g W, as src/sde/reversible.c forms it. */
static void vf_prod(const srv_work *w, double dt, const double *f, const double *g, double *out)
{
    if (w->diag) {
        for (size_t d = 0; d < w->dim; d++) out[d] = dt * f[d] + g[d] * w->W[d];
        return;
    }
    for (size_t d = 0; d < w->dim; d++) out[d] = dt * f[d];
    (void)nde__num_gemv(NDE__NUM_NOTRANS, w->dim, w->m, 1.0, g, w->m, w->W, 1.0, out);
}

/* f and g at (t, z) into f, g. */
static int eval(srv_work *w, double t, const double *z, double *f, double *g)
{
    w->nfe += 2;
    int rc = w->q->drift(t, z, f, w->q->user);
    return rc ? rc : w->q->diffusion(t, z, g, w->q->user);
}

/* Adds dt c to the node's drift cotangent and c W^T to its diffusion cotangent. */
static void node_add(srv_work *w, double dt, const double *c)
{
    const size_t dim = w->dim, m = w->m;
    for (size_t d = 0; d < dim; d++) w->cf[d] += dt * c[d];
    if (w->diag)
        for (size_t d = 0; d < dim; d++) w->cg[d] += c[d] * w->W[d];
    else
        for (size_t d = 0; d < dim; d++)
            for (size_t k = 0; k < m; k++) w->cg[d * m + k] += c[d] * w->W[k];
}

/* out = the node's VJPs at (t, z) with its pending cotangents cf, cg (then cleared); the
 * parameter parts into theta_bar. */
static int node_vjp(srv_work *w, double t, const double *z, double *out)
{
    const size_t dim = w->dim;
    memset(out, 0, dim * sizeof *out);
    for (int part = 0; part < 2; part++) {
        const double *c = part ? w->cg : w->cf;
        const size_t n = part ? w->gs : dim;
        size_t i = 0;
        while (i < n && c[i] == 0.0) i++;
        if (i == n) continue;
        w->nvjp++;
        double *at = w->theta_bar ? w->at : NULL;
        int rc = part ? w->q->diffusion_vjp(t, z, c, w->ay, at, w->q->user)
                      : w->q->drift_vjp(t, z, c, w->ay, at, w->q->user);
        if (rc) return rc;
        for (size_t d = 0; d < dim; d++) out[d] += w->ay[d];
        if (at)
            for (size_t k = 0; k < w->np; k++) w->theta_bar[k] += at[k];
    }
    memset(w->cf, 0, dim * sizeof *w->cf);
    memset(w->cg, 0, w->gs * sizeof *w->cg);
    return 0;
}

/* The saved points at boundary k: their cotangents into yb. */
static void take_boundary(const nde_tape *t, const double *dL_dy, size_t *isrc, size_t k, double *yb)
{
    const size_t dim = t->p.dim;
    while (*isrc > 0) {
        const double *r = t->src + 2 * (*isrc - 1);
        if (r[1] >= 0.0 || (size_t)r[0] != k) break;
        if (dL_dy)
            for (size_t d = 0; d < dim; d++) yb[d] += dL_dy[(*isrc - 1) * dim + d];
        (*isrc)--;
    }
}

int nde__adj_sde_reversible(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    const nde_sde *q = &t->sde;
    const size_t dim = q->dim, np = q->n_params, unit = 1 + 2 * dim;
    const int diag = q->noise == NDE_NOISE_DIAGONAL;
    const size_t gs = diag ? dim : dim * q->noise_dim;
    const double dir = t->p.dir;
    size_t bytes = 0;
    if (nde__size_muladd(&bytes, 13, dim) || nde__size_muladd(&bytes, 3, gs) ||
        nde__size_add(bytes, q->noise_dim, &bytes) || nde__size_muladd(&bytes, 2, np) ||
        nde__size_mul(bytes, sizeof(double), &bytes))
        return nde__adj_fail(t, NDE_ENOMEM, "the backward workspace for dim = %zu is too large", dim);
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    srv_work w = { .q = q, .dim = dim, .m = q->noise_dim, .gs = gs, .np = np, .diag = diag };
    double *v = t->work;
    double **vec[] = { &w.y, &w.yh, &w.fh, &w.y0, &w.yh0, &w.fh0, &w.v0, &w.v1, &w.yb, &w.yhb, &w.cf, &w.ay,
                       &w.inside };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++, v += dim) *vec[i] = v;
    w.gh = v; v += gs;
    w.gh0 = v; v += gs;
    w.cg = v; v += gs;
    w.W = v; v += w.m;
    w.at = v; v += np;
    w.theta_bar = np ? v : NULL;
    memcpy(w.y, t->rv + RV_Y * dim, dim * sizeof *w.y);
    memcpy(w.yh, t->rv + RV_YH * dim, dim * sizeof *w.yh);
    memset(w.yb, 0, dim * sizeof *w.yb);
    memset(w.yhb, 0, dim * sizeof *w.yhb);
    memset(w.cf, 0, dim * sizeof *w.cf);
    memset(w.cg, 0, gs * sizeof *w.cg);
    if (w.theta_bar) memset(w.theta_bar, 0, np * sizeof *w.theta_bar);
    size_t isrc = t->n_src, iseg = t->n_seg;
    const size_t N = t->n_steps;
    /* f and g at the end node, where the last step evaluated them */
    const double *rl = t->steps + (N - 1) * t->step_unit;
    double tnode = dir * rl[STEP_S] + dir * rl[STEP_H];
    int rc = eval(&w, tnode, w.yh, w.fh, w.gh);
    for (size_t k = N; rc == 0 && k-- > 0;) {
        const double *rk = t->steps + k * t->step_unit;
        const double tk = dir * rk[STEP_S], dt = dir * rk[STEP_H];
        take_boundary(t, dL_dy, &isrc, k + 1, w.yb);
        memset(w.inside, 0, dim * sizeof *w.inside);   /* points on the chord y0 + theta (y1 - y0) */
        while (isrc > 0) {
            const double *r = t->src + 2 * (isrc - 1);
            if (r[1] < 0.0 || (size_t)r[0] != k) break;
            if (dL_dy) {
                const double th = r[1], *c = dL_dy + (isrc - 1) * dim;
                for (size_t d = 0; d < dim; d++) {
                    w.yb[d] += th * c[d];
                    w.inside[d] += (1.0 - th) * c[d];
                }
            }
            isrc--;
        }
        if ((rc = nde_brownian_increment(t->bm, tk, tk + dt, w.W, NULL, NULL))) break;
        /* vb1 = yb/2 joins the node's pending cotangents: its VJP completes yh1's */
        for (size_t d = 0; d < dim; d++) w.v0[d] = 0.5 * w.yb[d];
        node_add(&w, dt, w.v0);
        if ((rc = node_vjp(&w, tnode, w.yh, w.v0))) break;
        for (size_t d = 0; d < dim; d++) w.yhb[d] += w.v0[d];
        /* the start of step k from its end */
        vf_prod(&w, dt, w.fh, w.gh, w.v1);
        for (size_t d = 0; d < dim; d++) w.yh0[d] = 2.0 * w.y[d] - w.yh[d] - w.v1[d];
        if ((rc = eval(&w, tk, w.yh0, w.fh0, w.gh0))) break;
        vf_prod(&w, dt, w.fh0, w.gh0, w.v0);
        for (size_t d = 0; d < dim; d++) w.y0[d] = w.y[d] - 0.5 * (w.v0[d] + w.v1[d]);
        /* the step's adjoint; vb0 is pending at node k */
        for (size_t d = 0; d < dim; d++) {
            const double yhb = w.yhb[d], yb = w.yb[d];
            w.v1[d] = 0.5 * yb + yhb;   /* vb0 */
            w.yb[d] = yb + 2.0 * yhb + w.inside[d];
            w.yhb[d] = -yhb;
        }
        node_add(&w, dt, w.v1);
        swap(&w.y, &w.y0);
        swap(&w.yh, &w.yh0);
        swap(&w.fh, &w.fh0);
        swap(&w.gh, &w.gh0);
        tnode = tk;
        if (k == 0 || (iseg > 0 && (size_t)t->rv_seg[(iseg - 1) * unit] == k)) {
            /* a segment starts here: yh = y */
            if ((rc = node_vjp(&w, tk, w.yh, w.v0))) break;
            for (size_t d = 0; d < dim; d++) {
                w.yb[d] += w.yhb[d] + w.v0[d];
                w.yhb[d] = 0.0;
            }
            if (k > 0) {   /* across the jump: how step k - 1 ended (y is unchanged) */
                const double *r = t->rv_seg + --iseg * unit, *rp = t->steps + (k - 1) * t->step_unit;
                memcpy(w.yh, r + 1, dim * sizeof *w.yh);
                tnode = dir * rp[STEP_S] + dir * rp[STEP_H];
                if ((rc = eval(&w, tnode, w.yh, w.fh, w.gh))) break;
            }
        }
    }
    t->stats.nvjp = w.nvjp;
    t->stats.nfe = w.nfe;
    t->stats.recomputed = N;
    if (rc)
        return nde__adj_fail(t, NDE_ECALLBACK, "a drift, diffusion or VJP callback (or the Brownian tree) returned %d "
                             "in the backward pass", rc);
    take_boundary(t, dL_dy, &isrc, 0, w.yb);
    double drift = 0.0;
    for (size_t d = 0; d < dim; d++) drift = fmax(drift, fabs(w.y[d] - t->rv[RV_Y0 * dim + d]));
    t->stats.reconstruction_error = drift;
    if (dL_dy0) memcpy(dL_dy0, w.yb, dim * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, w.theta_bar, np * sizeof *dL_dtheta);
    return NDE_OK;
}
