/* NDE_ADJOINT_REVERSIBLE: exact discrete gradients of reversible Heun
 * (src/ode/reversible.c) in memory flat in the number of steps (Kidger, Chen & Lyons
 * 2021, "Efficient and accurate gradients for neural SDEs", section 3).
 *
 * The forward hook keeps the step list (s, h: 2 doubles per accepted step), the end
 * state (y, yh, fh) of the last step, y0, and, for each restart of the stepper (after
 * a jump, where the loop sets yh = y again), the (yh, fh) the step before it ended
 * with: 1 + 2 dim doubles per jump, none without jumps.
 *
 * The backward pass walks the steps from the last. Step k, [s, s + h], took
 *     yh1 = 2 y0 - yh0 + h fh0,   fh1 = f(s + h, yh1),   y1 = y0 + (h/2)(fh0 + fh1)
 * and is inverted algebraically from its end (y1, yh1, fh1), with one evaluation:
 *     yh0 = 2 y1 - yh1 - h fh1,   fh0 = f(s, yh0),   y0 = y1 - (h/2)(fh0 + fh1);
 * no checkpoint, no forward recomputation. With (yb, yhb, fhb) the cotangents of the
 * step's end (y1, yh1, fh1), its discrete adjoint is
 *     fhb += (h/2) yb                       (y1's dependence on fh1)
 *     yhb += fhb^T df/dy (s + h, yh1)       (fh1 = f(s + h, yh1): the user's VJP)
 *     then, for the start: yb0 = yb + 2 yhb, yhb0 = -yhb, fhb0 = (h/2) yb + h yhb,
 * and the start of a segment (the first step, a restart), where yh0 = y0 and fh0 =
 * f(s, y0), folds into y's cotangent: yb += yhb + fhb^T df/dy (s, y0). Points saved
 * inside a step come from its quadratic interpolant y0 + theta h fh0 + theta^2 (h/2)
 * (fh1 - fh0): their cotangents enter y0, fh0 and fh1 directly. Per step: one f and at
 * most one VJP call. The parameter cotangent sums the VJPs' parameter parts. R_E's
 * term |h| RMS((h/2)(fh1 - fh0) / sc) of a step is differentiated there too (its
 * cotangents enter y0, y1, fh0, fh1); with a regulariser the step record holds
 * STEP_DOUBLES per step (its terms and the local sampling's selection).
 *
 * The reconstruction is exact in exact arithmetic; in floating point each inverse step
 * rounds, so the reconstructed states drift from the forward ones by a few ULP per
 * step (reported: nde_adjoint_stats.reconstruction_error, the largest component of
 * the reconstructed y0 minus the true y0). The gradient is that of the forward solve
 * evaluated along the reconstructed states. */
#include "adjoint/internal.h"
#include "ode/reversible.h"

#include <math.h>
#include <string.h>

enum { RV_Y, RV_YH, RV_FH, RV_Y0, RV_VECTORS };

int nde__adj_reversible_prepare(nde_tape *t)
{
    const size_t dim = t->p.dim;
    if (t->rv_dim != dim) {
        nde__adj_reversible_release(t);
        size_t n;
        if (nde__size_mul(dim, RV_VECTORS * sizeof(double), &n)) return -1;
        t->rv = nde__alloc(&t->al, n);
        if (!t->rv) return -1;
        t->rv_dim = dim;
    }
    t->n_seg = 0;
    t->rv_starts = 0;
    return 0;
}

void nde__adj_reversible_release(nde_tape *t)
{
    nde__free(&t->al, t->rv, t->rv_dim * RV_VECTORS * sizeof(double));
    nde__free(&t->al, t->rv_seg, t->cap_seg * (1 + 2 * t->rv_dim) * sizeof(double));
    t->rv = t->rv_seg = NULL;
    t->rv_dim = t->cap_seg = t->n_seg = 0;
}

/* R_E's norm of one step: RMS_d(u_d), u_d = (h/2)(fh1_d - fh0_d) / sc_d, sc_d = atol +
 * rtol max(|y0_d|, |y1_d|) (the stepper's error norm, without its overflow guard); u
 * and sc receive the components when not NULL. */
static double error_norm(const nde__adj_problem *p, double h, const double *y0, const double *y1,
                         const double *fh0, const double *fh1, double *u, double *sc)
{
    double sum = 0.0;
    for (size_t d = 0; d < p->dim; d++) {
        double a = fabs(y0[d]), b = fabs(y1[d]);
        double scale = p->atol + p->rtol * (a > b ? a : b), ud = 0.5 * h * (fh1[d] - fh0[d]) / scale;
        sum += ud * ud;
        if (u) { u[d] = ud; sc[d] = scale; }
    }
    return sqrt(sum / (double)p->dim);
}

int nde__adj_reversible_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                               const double *y1)
{
    nde_tape *t = ctx;
    const size_t k = t->n_steps, dim = t->p.dim, unit = 1 + 2 * dim;
    const double *fh0, *yh1, *fh1;
    size_t starts;
    nde__rev_stepper_view(&S->st, &fh0, &yh1, &fh1, &starts);
    if (nde__adj_grow(t, &t->steps, &t->cap_steps, t->step_unit, k + 1)) goto nomem;
    if (k == 0) memcpy(t->rv + RV_Y0 * dim, y, dim * sizeof *y);
    else if (starts != t->rv_starts) {   /* restarted (a jump): keep how step k - 1 ended */
        if (nde__adj_grow(t, &t->rv_seg, &t->cap_seg, unit, t->n_seg + 1)) goto nomem;
        double *r = t->rv_seg + t->n_seg++ * unit;
        r[0] = (double)k;
        memcpy(r + 1, t->rv + RV_YH * dim, 2 * dim * sizeof *r);   /* yh, fh: adjacent */
    }
    t->rv_starts = starts;
    double *r = t->steps + k * t->step_unit;
    r[STEP_S] = s;
    r[STEP_H] = h;
    if (t->step_unit == STEP_DOUBLES) {   /* regularising: the step's terms */
        r[STEP_RE] = t->o.reg_error > 0.0 ? fabs(h) * error_norm(&t->p, h, y, y1, fh0, fh1, NULL, NULL) : 0.0;
        r[STEP_RS] = 0.0;   /* one stage: no stiffness estimate */
        r[STEP_SELECTED] = 1.0;
        if (t->o.reg_steps) nde__adj_heap_offer(t, nde__adj_step_key(t, k), k);
    }
    memcpy(t->rv + RV_Y * dim, y1, dim * sizeof *y1);
    memcpy(t->rv + RV_YH * dim, yh1, dim * sizeof *yh1);
    memcpy(t->rv + RV_FH * dim, fh1, dim * sizeof *fh1);
    t->n_steps++;
    return 0;
nomem:
    t->failed = 1;
    return NDE_ENOMEM;
}

/* ---- backward ------------------------------------------------------------------------ */

typedef struct rv_work {
    double *y, *yh, *fh;           /* the reconstructed state at the current boundary */
    double *y0, *yh0, *fh0;        /* the start of the step being reversed */
    double *yb, *yhb, *fhb;        /* cotangents of y, yh, fh at the current boundary */
    double *tmp, *neg, *theta_tmp, *theta_bar;
    double *ue, *scb;    /* R_E's components u and scales (2 x dim) */
} rv_work;

/* tmp = cot^T df~/dy at (s, Y); the parameter part is added to theta_bar. */
static int vjp(nde__adj_problem *p, rv_work *w, double s, const double *Y, const double *cot)
{
    return nde__adj_vjp(p, s, Y, cot, w->tmp, w->neg, w->theta_tmp, w->theta_bar);
}

/* The saved points at boundary k (the state after k steps): their cotangents into yb. */
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

/* The start of a segment at internal time s: yh = y and fh = f(s, y). */
static int fold_start(nde__adj_problem *p, rv_work *w, double s)
{
    const size_t dim = p->dim;
    int rc = vjp(p, w, s, w->y, w->fhb);
    if (rc) return rc;
    for (size_t d = 0; d < dim; d++) {
        w->yb[d] += w->yhb[d] + w->tmp[d];
        w->yhb[d] = w->fhb[d] = 0.0;
    }
    return 0;
}

/* Backwards through We N(y0, y1, fh0, fh1) at the reconstructed step (w->y0, w->fh0
 * its start, w->y, w->fh its end): the cotangents of y1 and fh1 are added to w->yb and
 * w->fhb, those of y0 and fh0 written into w->tmp and w->neg. dN/du_d = u_d / (n N). */
static void error_reverse(const nde__adj_problem *p, rv_work *w, double h, double We)
{
    const size_t dim = p->dim;
    double *yb0 = w->tmp, *fhb0 = w->neg, *u = w->ue, *sc = w->scb;
    double N = error_norm(p, h, w->y0, w->y, w->fh0, w->fh, u, sc);
    memset(yb0, 0, dim * sizeof *yb0);
    memset(fhb0, 0, dim * sizeof *fhb0);
    if (!(N > 0.0)) return;
    for (size_t d = 0; d < dim; d++) {
        const double gu = We * u[d] / ((double)dim * N), ebar = gu / sc[d], scbar = -gu * u[d] / sc[d];
        w->fhb[d] += 0.5 * h * ebar;
        fhb0[d] -= 0.5 * h * ebar;
        /* sc = atol + rtol max(|y0|, |y1|): the larger one (y1 on a tie) */
        double a = fabs(w->y0[d]), b = fabs(w->y[d]), g = p->rtol * scbar;
        if (a > b) yb0[d] += w->y0[d] < 0 ? -g : g;
        else w->yb[d] += w->y[d] < 0 ? -g : g;
    }
}

static void swap(double **a, double **b) { double *t = *a; *a = *b; *b = t; }

int nde__adj_reversible(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    nde__adj_problem *p = &t->p;
    const size_t dim = p->dim, np = p->np, unit = 1 + 2 * dim;
    size_t bytes = 0;
    if (nde__size_muladd(&bytes, 13, dim) || nde__size_muladd(&bytes, 2, np) ||
        nde__size_mul(bytes, sizeof(double), &bytes))
        return nde__adj_fail(t, NDE_ENOMEM, "the backward workspace for dim = %zu is too large", dim);
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    rv_work w;
    double *v = t->work;
    double **vec[] = { &w.y, &w.yh, &w.fh, &w.y0, &w.yh0, &w.fh0, &w.yb, &w.yhb, &w.fhb, &w.tmp, &w.neg,
                       &w.ue, &w.scb };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++, v += dim) *vec[i] = v;
    w.theta_tmp = v;
    w.theta_bar = np ? v + np : NULL;
    memcpy(w.y, t->rv + RV_Y * dim, dim * sizeof *w.y);
    memcpy(w.yh, t->rv + RV_YH * dim, dim * sizeof *w.yh);
    memcpy(w.fh, t->rv + RV_FH * dim, dim * sizeof *w.fh);
    memset(w.yb, 0, 3 * dim * sizeof *w.yb);   /* yb, yhb, fhb: adjacent */
    if (w.theta_bar) memset(w.theta_bar, 0, np * sizeof *w.theta_bar);
    p->nfe = p->nvjp = 0;
    size_t isrc = t->n_src, iseg = t->n_seg;
    int rc = 0;
    for (size_t k = t->n_steps; k-- > 0 && rc == 0;) {
        const double s = t->steps[k * t->step_unit + STEP_S], h = t->steps[k * t->step_unit + STEP_H], hh = 0.5 * h;
        take_boundary(t, dL_dy, &isrc, k + 1, w.yb);
        /* reconstruct the start of step k from its end */
        for (size_t d = 0; d < dim; d++) w.yh0[d] = 2.0 * w.y[d] - w.yh[d] - h * w.fh[d];
        p->nfe++;
        if ((rc = p->f(s, w.yh0, w.fh0, p->fuser))) break;
        for (size_t d = 0; d < dim; d++) w.y0[d] = w.y[d] - hh * (w.fh0[d] + w.fh[d]);
        /* y1 and fh1 are no longer needed (yh1 is: the VJP's point): their vectors
         * collect the cotangents of y0 and fh0 from the points saved from the
         * interpolant y0 + theta h fh0 + theta^2 (h/2)(fh1 - fh0); those of fh1 go
         * into fhb */
        double *yb0 = w.y, *fhb0 = w.fh;
        const double *rk = t->steps + k * t->step_unit;
        if (t->step_unit == STEP_DOUBLES && t->o.reg_error > 0.0 && rk[STEP_SELECTED] != 0.0) {
            /* R_E's term |h| N(y0, y1, fh0, fh1): its y1 and fh1 parts into yb and
             * fhb, its y0 and fh0 parts via tmp and neg into yb0 and fhb0 */
            error_reverse(p, &w, h, t->o.reg_error * fabs(h));
            memcpy(yb0, w.tmp, dim * sizeof *yb0);
            memcpy(fhb0, w.neg, dim * sizeof *fhb0);
        } else {
            memset(yb0, 0, dim * sizeof *yb0);
            memset(fhb0, 0, dim * sizeof *fhb0);
        }
        while (isrc > 0) {
            const double *q = t->src + 2 * (isrc - 1);
            if (q[1] < 0.0 || (size_t)q[0] != k) break;
            if (dL_dy) {
                const double th = q[1], c2 = th * th * hh, c1 = th * h - c2;
                const double *c = dL_dy + (isrc - 1) * dim;
                for (size_t d = 0; d < dim; d++) {
                    yb0[d] += c[d];
                    fhb0[d] += c1 * c[d];
                    w.fhb[d] += c2 * c[d];
                }
            }
            isrc--;
        }
        /* the step's adjoint */
        for (size_t d = 0; d < dim; d++) w.fhb[d] += hh * w.yb[d];
        if ((rc = vjp(p, &w, s + h, w.yh, w.fhb))) break;
        for (size_t d = 0; d < dim; d++) {
            const double yhb = w.yhb[d] + w.tmp[d], yb = w.yb[d];
            w.fhb[d] = hh * yb + h * yhb + fhb0[d];
            w.yb[d] = yb + 2.0 * yhb + yb0[d];
            w.yhb[d] = -yhb;
        }
        swap(&w.y, &w.y0);
        swap(&w.yh, &w.yh0);
        swap(&w.fh, &w.fh0);
        if (k == 0 || (iseg > 0 && (size_t)t->rv_seg[(iseg - 1) * unit] == k)) {
            /* a segment starts here: yh = y, fh = f(s, y) */
            if ((rc = fold_start(p, &w, s))) break;
            if (k > 0) {   /* across the jump: how step k - 1 ended (y is unchanged) */
                const double *r = t->rv_seg + --iseg * unit;
                memcpy(w.yh, r + 1, dim * sizeof *w.yh);
                memcpy(w.fh, r + 1 + dim, dim * sizeof *w.fh);
            }
        }
    }
    t->stats.nvjp = p->nvjp;
    t->stats.nfe = p->nfe;
    t->stats.recomputed = t->n_steps;
    if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "the vjp or the right-hand side returned %d in the backward pass", rc);
    take_boundary(t, dL_dy, &isrc, 0, w.yb);
    double drift = 0.0;
    for (size_t d = 0; d < dim; d++) drift = fmax(drift, fabs(w.y[d] - t->rv[RV_Y0 * dim + d]));
    t->stats.reconstruction_error = t->n_steps ? drift : 0.0;
    if (dL_dy0) memcpy(dL_dy0, w.yb, dim * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, w.theta_bar, np * sizeof *dL_dtheta);
    return NDE_OK;
}
