/* One explicit Runge-Kutta step, forwards again and backwards (reverse mode) through
 * its stages, its dense interpolant, its error estimate and its stiffness estimate.
 * With Y_i = y0 + h sum_{j<i} a_ij K_j and K_i = f(s + c_i h, Y_i), y1 = y0 + h sum
 * b_j K_j, the reverse sweep takes the cotangents of y1 and of the interpolated points
 * to those of y0 and the parameters: Ybar_i = K_bar_i^T df/dy (the user's VJP), then
 * K_bar_j += h a_ij Ybar_i, y0_bar += Ybar_i, stage by stage from the last. The
 * forward recomputation repeats the kernels' arithmetic exactly (same terms, same
 * order), so the gradient is that of the very numbers the taped solve produced. */
#include "adjoint/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

size_t nde__adj_step_doubles(const nde_method *m, size_t dim, size_t np, int *nslots, int *degree)
{
    *nslots = (int)nde__erk_slots(m);
    *degree = nde__erk_dense_degree(m);
    size_t n = 0;
    /* K, Y, Kbar slots; y1 ybar0 Yb_bar Ya_bar tmp neg; Pbar; theta_tmp */
    if (nde__size_muladd(&n, 3 * (size_t)*nslots + 6 + (size_t)*degree + 1, dim) || nde__size_add(n, np, &n))
        return 0;
    return n;
}

void nde__adj_step_init(nde__adj_step *w, const nde_method *m, size_t dim, double *mem,
                        double **slot_ptrs, int nslots, int degree)
{
    (void)m;
    w->nslots = nslots;
    w->degree = degree;
    w->K = slot_ptrs;
    w->Y = slot_ptrs + nslots;
    w->Kbar = slot_ptrs + 2 * nslots;
    for (int i = 0; i < 3 * nslots; i++) slot_ptrs[i] = mem + (size_t)i * dim;
    double *p = mem + 3 * (size_t)nslots * dim;
    w->y1 = p; p += dim;
    w->ybar0 = p; p += dim;
    w->Yb_bar = p; p += dim;
    w->Ya_bar = p; p += dim;
    w->tmp = p; p += dim;
    w->neg = p; p += dim;
    w->Pbar = p; p += (size_t)(degree + 1) * dim;
    w->theta_tmp = p;
}

/* out = base + h (sum_{j < n} coef_j K_j) over the nonzero coefficients, as the
 * kernels compute it (src/ode/stepper.c apply_h: the sum from 0, j ascending, then h). */
static void combine(double *out, const double *base, const double *coef, int n, double h,
                    double *const *K, size_t dim)
{
    for (size_t d = 0; d < dim; d++) {
        double acc = 0.0;
        for (int j = 0; j < n; j++)
            if (coef[j] != 0.0) acc += coef[j] * K[j][d];
        out[d] = base[d] + h * acc;
    }
}

/* v += (h coef_j) x into K_bar_j for every nonzero coefficient. */
static void spread(double *const *Kbar, const double *coef, int n, double h, const double *x, size_t dim)
{
    for (int j = 0; j < n; j++) {
        if (coef[j] == 0.0) continue;
        const double w = h * coef[j];
        for (size_t d = 0; d < dim; d++) Kbar[j][d] += w * x[d];
    }
}

static void axpy(double *y, double a, const double *x, size_t dim)
{
    for (size_t d = 0; d < dim; d++) y[d] += a * x[d];
}

static int eval(nde__adj_problem *p, double s, const double *y, double *k)
{
    p->nfe++;
    return p->f(s, y, k, p->fuser);
}

void nde__adj_stage_input(const nde__adj_problem *p, double *const *K, const double *y0, double h,
                          int i, double *out)
{
    const int S = p->m->stages;
    if (i == 0) { memcpy(out, y0, p->dim * sizeof *out); return; }
    combine(out, y0, p->tab->a + (size_t)i * (size_t)S, i, h, K, p->dim);
}

int nde__adj_step_forward(nde__adj_problem *p, nde__adj_step *w, double s, double h,
                          const double *y0, int dense)
{
    const nde_method *m = p->m;
    const nde__erk_tableau *T = p->tab;
    const int S = m->stages, last = m->fsal ? S - 1 : S;
    const size_t dim = p->dim;
    int rc;
    memcpy(w->Y[0], y0, dim * sizeof *y0);
    if ((rc = eval(p, s, y0, w->K[0]))) return rc;
    for (int i = 1; i < last; i++) {
        combine(w->Y[i], y0, T->a + (size_t)i * (size_t)S, i, h, w->K, dim);
        if ((rc = eval(p, s + T->c[i] * h, w->Y[i], w->K[i]))) return rc;
    }
    combine(w->y1, y0, T->b, last, h, w->K, dim);
    if (m->fsal) {
        memcpy(w->Y[S - 1], w->y1, dim * sizeof *w->y1);
        if ((rc = eval(p, s + h, w->y1, w->K[S - 1]))) return rc;
    }
    if (!dense) return 0;
    if (T->dense_b) {
        const int ds = T->dense_stages;
        for (int i = S; i < ds; i++) {
            if (i == S && T->dense_end_first) {   /* the first extra stage is f(s + h, y1) */
                memcpy(w->Y[i], w->y1, dim * sizeof *w->y1);
                if ((rc = eval(p, s + h, w->y1, w->K[i]))) return rc;
                continue;
            }
            combine(w->Y[i], y0, T->dense_a + (size_t)(i - S) * (size_t)ds, i, h, w->K, dim);
            if ((rc = eval(p, s + T->dense_c[i - S] * h, w->Y[i], w->K[i]))) return rc;
        }
    } else if (!m->fsal) {   /* the Hermite interpolant's f(s + h, y1) */
        memcpy(w->Y[S], w->y1, dim * sizeof *w->y1);
        if ((rc = eval(p, s + h, w->y1, w->K[S]))) return rc;
    }
    return 0;
}

void nde__adj_interp_rate(const nde__adj_problem *p, const nde__adj_step *w, double h, const double *y0,
                          double theta, double *out)
{
    const nde_method *m = p->m;
    const nde__erk_tableau *T = p->tab;
    const size_t dim = p->dim;
    const int deg = w->degree;
    if (T->dense_b) {
        /* P_j = h sum_i Db_ji K_i (0 < j < deg), P_deg = y1 - y0 - sum P_j: the rate
         * sum_j j theta^(j-1) P_j = deg theta^(deg-1) (y1 - y0) + sum_j (j theta^(j-1) -
         * deg theta^(deg-1)) P_j */
        const int ds = T->dense_stages;
        const double top = (double)deg * pow(theta, deg - 1);
        for (size_t d = 0; d < dim; d++) out[d] = top * (w->y1[d] - y0[d]);
        double tp = 1.0;   /* theta^(j-1) */
        for (int j = 1; j < deg; j++, tp *= theta) {
            const double cj = (double)j * tp - top, *Db = T->dense_b + (size_t)(j - 1) * (size_t)ds;
            for (size_t d = 0; d < dim; d++) {
                double acc = 0.0;
                for (int i = 0; i < ds; i++)
                    if (Db[i] != 0.0) acc += Db[i] * w->K[i][d];
                out[d] += cj * h * acc;
            }
        }
    } else {
        /* cubic Hermite: P1 = h f0, P2 = 3(y1-y0) - h(2 f0 + f1), P3 = -2(y1-y0) + h(f0 + f1) */
        const int end = m->fsal ? m->stages - 1 : m->stages;
        for (size_t d = 0; d < dim; d++) {
            double D = w->y1[d] - y0[d], f0 = w->K[0][d], f1 = w->K[end][d];
            double P1 = h * f0, P2 = 3.0 * D - h * (2.0 * f0 + f1), P3 = -2.0 * D + h * (f0 + f1);
            out[d] = P1 + 2.0 * theta * P2 + 3.0 * theta * theta * P3;
        }
    }
}

int nde__adj_stiff_stages(const nde_method *m, int *a, int *b)
{
    *a = m->stages - 1;
    *b = m->stages - 2;
    return m->stages >= 2;
}

/* The step's scaled error norm (the controller's), and, when u is not NULL, the
 * scaled error components u_d = e_d / scale_d (and DOP853's third-order v_d) and the
 * scales. */
static double error_norm(const nde__adj_problem *p, double *const *K, double h, const double *y0,
                         const double *y1, double *u, double *v, double *scale)
{
    const nde__erk_tableau *T = p->tab;
    const int S = p->m->stages;
    const size_t dim = p->dim;
    const int dop = T->error_kind == NDE__ERR_DOP853;
    double su = 0.0, sv = 0.0;
    for (size_t d = 0; d < dim; d++) {
        double e = 0.0, e3 = 0.0;
        for (int j = 0; j < S; j++)
            if (T->e[j] != 0.0) e += (h * T->e[j]) * K[j][d];
        double a = fabs(y0[d]), b = fabs(y1[d]);
        double sc = p->atol + p->rtol * (a > b ? a : b), ud = e / sc;
        su += ud * ud;
        if (u) { u[d] = ud; scale[d] = sc; }
        if (dop) {
            for (int j = 0; j < S; j++)
                if (T->e3[j] != 0.0) e3 += (h * T->e3[j]) * K[j][d];
            double vd = e3 / sc;
            sv += vd * vd;
            if (u) v[d] = vd;
        }
    }
    if (dop) {
        double den = su + 0.01 * sv;
        return den > 0.0 ? su / sqrt(den * (double)dim) : 0.0;
    }
    return sqrt(su / (double)dim);
}

double nde__adj_dist2(const double *x, const double *y, size_t dim)
{
    double s = 0.0;
    for (size_t d = 0; d < dim; d++) { double t = x[d] - y[d]; s += t * t; }
    return sqrt(s);
}

/* Stage inputs closer than this many unit roundoffs of their size differ by round-off
 * only: the stiffness ratio there is noise (and its gradient could overflow), so the
 * step's R_S term is 0. */
#define STIFF_NOISE_ULPS 64.0

/* ||Ya - Yb||, or 0 when that is round-off next to ||Ya|| + ||Yb||. */
double nde__adj_stiff_denominator(const double *Ya, const double *Yb, size_t dim)
{
    double B = nde__adj_dist2(Ya, Yb, dim), na = 0.0, nb = 0.0;
    for (size_t d = 0; d < dim; d++) { na += Ya[d] * Ya[d]; nb += Yb[d] * Yb[d]; }
    return B > STIFF_NOISE_ULPS * DBL_EPSILON * (sqrt(na) + sqrt(nb)) ? B : 0.0;
}

void nde__adj_step_regularisers(const nde__adj_problem *p, double *const *K, double h,
                                const double *y0, const double *y1, const double *Ya,
                                const double *Yb, double *r_error, double *r_stiff)
{
    *r_error = *r_stiff = 0.0;
    const size_t dim = p->dim;
    if (p->m->embedded_order > 0) *r_error = fabs(h) * error_norm(p, K, h, y0, y1, NULL, NULL, NULL);
    int a, b;
    if (nde__adj_stiff_stages(p->m, &a, &b) && Ya && Yb) {
        double B = nde__adj_stiff_denominator(Ya, Yb, dim);
        if (B > 0.0) *r_stiff = fabs(h) * nde__adj_dist2(K[a], K[b], dim) / B;
    }
}

int nde__adj_vjp(nde__adj_problem *p, double s, const double *Y, const double *cot, double *out,
                 double *neg, double *theta_tmp, double *theta_bar)
{
    return nde__adj_vjp_of(p, p->vjp, s, Y, cot, out, neg, theta_tmp, theta_bar);
}

int nde__adj_vjp_of(nde__adj_problem *p, nde_vjp vjp, double s, const double *Y, const double *cot,
                    double *out, double *neg, double *theta_tmp, double *theta_bar)
{
    const size_t dim = p->dim;
    int nonzero = 0;
    for (size_t d = 0; d < dim && !nonzero; d++) nonzero = cot[d] != 0.0;
    if (!nonzero) { memset(out, 0, dim * sizeof *out); return 0; }
    const double *a = cot;
    if (p->dir < 0) {
        for (size_t d = 0; d < dim; d++) neg[d] = -cot[d];
        a = neg;
    }
    p->nvjp++;
    int rc = vjp(p->dir * s, Y, a, out, theta_bar && p->np ? theta_tmp : NULL, p->user);
    if (rc) return rc;
    if (theta_bar)
        for (size_t i = 0; i < p->np; i++) theta_bar[i] += theta_tmp[i];
    return 0;
}

/* The VJP into w->tmp (nde__adj_vjp with this step's scratch). */
static int vjp(nde__adj_problem *p, nde__adj_step *w, double s, const double *Y, const double *cot,
               double *theta_bar)
{
    return nde__adj_vjp(p, s, Y, cot, w->tmp, w->neg, w->theta_tmp, theta_bar);
}

/* Cotangents of the regularisers' inputs, weighted by W_e = w_error |h| and
 * W_s = w_stiff |h|: into Kbar, ybar0, y1bar, and w->Ya_bar / w->Yb_bar. */
static void regulariser_reverse(nde__adj_problem *p, nde__adj_step *w, double h, const double *y0,
                                double *y1bar, double w_error, double w_stiff)
{
    const nde_method *m = p->m;
    const nde__erk_tableau *T = p->tab;
    const size_t dim = p->dim;
    const int S = m->stages;
    if (w_error != 0.0 && m->embedded_order > 0) {
        /* u, v, scale in Ya_bar, Yb_bar, tmp: free until the stiffness part below */
        double *u = w->Ya_bar, *v = w->Yb_bar, *sc = w->tmp;
        const int dop = T->error_kind == NDE__ERR_DOP853;
        double N = error_norm(p, w->K, h, y0, w->y1, u, v, sc);
        double We = w_error * fabs(h), n = (double)dim;
        if (N > 0.0) {
            double su = 0.0, sv = 0.0;
            for (size_t d = 0; d < dim; d++) { su += u[d] * u[d]; if (dop) sv += v[d] * v[d]; }
            double D = su + 0.01 * sv, rDn = dop ? 1.0 / sqrt(D * n) : 0.0;
            for (size_t d = 0; d < dim; d++) {
                double gu, gv = 0.0;   /* dN/du_d, dN/dv_d */
                if (dop) {
                    gu = 2.0 * u[d] * rDn * (1.0 - su / (2.0 * D));
                    gv = -0.01 * su * v[d] * n * rDn * rDn * rDn;
                } else {
                    gu = u[d] / (n * N);
                }
                double ebar = We * gu / sc[d], e3bar = We * gv / sc[d];
                double scbar = -We * (gu * u[d] + gv * (dop ? v[d] : 0.0)) / sc[d];
                for (int j = 0; j < S; j++) {
                    if (T->e[j] != 0.0) w->Kbar[j][d] += h * T->e[j] * ebar;
                    if (dop && T->e3[j] != 0.0) w->Kbar[j][d] += h * T->e3[j] * e3bar;
                }
                /* scale = atol + rtol max(|y0|, |y1|): the larger one (y1 on a tie) */
                double a = fabs(y0[d]), b = fabs(w->y1[d]), g = p->rtol * scbar;
                if (a > b) w->ybar0[d] += y0[d] < 0 ? -g : g;
                else y1bar[d] += w->y1[d] < 0 ? -g : g;
            }
        }
    }
    memset(w->Ya_bar, 0, dim * sizeof *w->Ya_bar);
    memset(w->Yb_bar, 0, dim * sizeof *w->Yb_bar);
    int a, b;
    if (w_stiff != 0.0 && nde__adj_stiff_stages(m, &a, &b)) {
        nde__adj_stiff_reverse(w->K[a], w->K[b], w->Y[a], w->Y[b], dim, w_stiff * fabs(h), w->Kbar[a], w->Kbar[b],
                               w->Ya_bar, w->Yb_bar);
    }
}

/* (internal.h) d/dK and d/dY of Ws A / B, A = |Ka - Kb|, B = |Ya - Yb|. */
void nde__adj_stiff_reverse(const double *Ka, const double *Kb, const double *Ya, const double *Yb, size_t dim,
                            double Ws, double *Ka_bar, double *Kb_bar, double *Ya_bar, double *Yb_bar)
{
    const double B = nde__adj_stiff_denominator(Ya, Yb, dim), A = nde__adj_dist2(Ka, Kb, dim);
    if (!(B > 0.0)) return;
    for (size_t d = 0; d < dim; d++) {
        if (A > 0.0) {
            const double gk = Ws * (Ka[d] - Kb[d]) / (A * B);
            Ka_bar[d] += gk;
            Kb_bar[d] -= gk;
        }
        const double gy = -Ws * A * (Ya[d] - Yb[d]) / (B * B * B);
        Ya_bar[d] += gy;
        Yb_bar[d] -= gy;
    }
}

int nde__adj_step_reverse(nde__adj_problem *p, nde__adj_step *w, double s, double h,
                          const double *y0, double *ybar, size_t n_in, const double *theta,
                          const double *const *cot, double w_error, double w_stiff,
                          double *theta_bar)
{
    const nde_method *m = p->m;
    const nde__erk_tableau *T = p->tab;
    const size_t dim = p->dim;
    const int S = m->stages, last = m->fsal ? S - 1 : S;
    double *y1bar = ybar, *ybar0 = w->ybar0;
    int rc;
    memset(ybar0, 0, dim * sizeof *ybar0);
    for (int i = 0; i < w->nslots; i++) memset(w->Kbar[i], 0, dim * sizeof(double));

    /* the interpolant: y(theta) = sum_j theta^j P_j */
    if (n_in) {
        const int deg = w->degree;
        double *Pb = w->Pbar;
        memset(Pb, 0, (size_t)(deg + 1) * dim * sizeof *Pb);
        for (size_t q = 0; q < n_in; q++) {
            double tp = 1.0;
            for (int j = 0; j <= deg; j++, tp *= theta[q]) axpy(Pb + (size_t)j * dim, tp, cot[q], dim);
        }
        double *P0 = Pb, *Pd = Pb + (size_t)deg * dim;
        if (T->dense_b) {
            /* P_0 = y0, P_j = h sum_i Db_ji K_i (0 < j < deg), P_deg = y1 - y0 - sum P_j */
            const int ds = T->dense_stages;
            for (size_t d = 0; d < dim; d++) {
                ybar0[d] += P0[d] - Pd[d];
                y1bar[d] += Pd[d];
            }
            for (int j = 1; j < deg; j++) {
                double *Pj = Pb + (size_t)j * dim;
                for (size_t d = 0; d < dim; d++) Pj[d] -= Pd[d];
                spread(w->Kbar, T->dense_b + (size_t)(j - 1) * (size_t)ds, ds, h, Pj, dim);
            }
        } else {
            /* cubic Hermite: P1 = h f0, P2 = 3(y1-y0) - h(2 f0 + f1), P3 = -2(y1-y0) + h(f0 + f1) */
            const int end = m->fsal ? S - 1 : S;
            const double *P1 = Pb + dim, *P2 = Pb + 2 * dim, *P3 = Pb + 3 * dim;
            for (size_t d = 0; d < dim; d++) {
                ybar0[d] += P0[d] - 3.0 * P2[d] + 2.0 * P3[d];
                y1bar[d] += 3.0 * P2[d] - 2.0 * P3[d];
                w->Kbar[0][d] += h * (P1[d] - 2.0 * P2[d] + P3[d]);
                w->Kbar[end][d] += h * (P3[d] - P2[d]);
            }
        }
    }
    regulariser_reverse(p, w, h, y0, y1bar, w_error, w_stiff);

    /* the interpolant's own stages (they depend on every main stage) */
    if (n_in && T->dense_b) {
        const int ds = T->dense_stages;
        for (int i = ds - 1; i >= S; i--) {
            if (i == S && T->dense_end_first) {   /* f(s + h, y1): into y1's cotangent */
                if ((rc = vjp(p, w, s + h, w->y1, w->Kbar[i], theta_bar))) return rc;
                axpy(y1bar, 1.0, w->tmp, dim);
                continue;
            }
            if ((rc = vjp(p, w, s + T->dense_c[i - S] * h, w->Y[i], w->Kbar[i], theta_bar))) return rc;
            axpy(ybar0, 1.0, w->tmp, dim);
            spread(w->Kbar, T->dense_a + (size_t)(i - S) * (size_t)ds, i, h, w->tmp, dim);
        }
    } else if (n_in && !m->fsal) {
        if ((rc = vjp(p, w, s + h, w->y1, w->Kbar[S], theta_bar))) return rc;
        axpy(y1bar, 1.0, w->tmp, dim);
    }
    /* the FSAL stage f(s + h, y1) */
    if (m->fsal) {
        if ((rc = vjp(p, w, s + h, w->y1, w->Kbar[S - 1], theta_bar))) return rc;
        axpy(y1bar, 1.0, w->tmp, dim);
        axpy(y1bar, 1.0, w->Ya_bar, dim);   /* the stiffness estimate's Y_a = y1 */
    }
    /* y1 = y0 + h sum b_j K_j */
    axpy(ybar0, 1.0, y1bar, dim);
    spread(w->Kbar, T->b, last, h, y1bar, dim);
    /* the main stages, last first */
    int a, b;
    int stiff = nde__adj_stiff_stages(m, &a, &b);
    for (int i = last - 1; i >= 1; i--) {
        if ((rc = vjp(p, w, s + T->c[i] * h, w->Y[i], w->Kbar[i], theta_bar))) return rc;
        if (stiff && i == b) axpy(w->tmp, 1.0, w->Yb_bar, dim);
        if (stiff && !m->fsal && i == a) axpy(w->tmp, 1.0, w->Ya_bar, dim);
        axpy(ybar0, 1.0, w->tmp, dim);
        spread(w->Kbar, T->a + (size_t)i * (size_t)S, i, h, w->tmp, dim);
    }
    if ((rc = vjp(p, w, s, y0, w->Kbar[0], theta_bar))) return rc;
    axpy(ybar0, 1.0, w->tmp, dim);
    if (stiff && b == 0) axpy(ybar0, 1.0, w->Yb_bar, dim);
    memcpy(ybar, ybar0, dim * sizeof *ybar);
    return 0;
}
