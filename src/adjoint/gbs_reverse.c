/* One gbs step (src/ode/gbs.c), forwards again and backwards: an explicit method, so its
 * reverse pass is the exact composition of the reverses of its parts. Line j (n = n_j
 * substeps of h_j = H / n) is the explicit midpoint rule
 *   y_0 = y0,  y_1 = y0 + h_j f(s, y0),  y_{m+1} = y_{m-1} + 2 h_j f(s + m h_j, y_m),
 *   T_j = (y_{n-1} + y_n + h_j f(s + H, y_n)) / 2,
 * and the step's solution is the Aitken-Neville extrapolation of T_1 .. T_kc, a linear
 * combination y1 = sum_j w_j T_j with weights that depend on the substep counts only
 * (computed here by running the table's recursion on the coefficients). kc, the lines
 * the forward step computed (its order control), is taped with the step. The reverse
 * of a line runs its substeps backwards (one VJP per evaluation of f; f(s, y0) is shared
 * by every line: one VJP for all). Per step the backward pass costs the forward's
 * evaluations again (each line is recomputed, keeping its n_j + 1 states) plus as many
 * VJPs. Saved points inside steps (gbs's dense interpolant) and the regularisers are not
 * differentiated: NDE_EUNSUPPORTED at the taped solve. */
#include "adjoint/internal.h"
#include "ode/gbs.h"

#include <string.h>

#define MAX_SUB 20   /* n_j of the last line, seq[NDE__GBS_MAX_LINES] = 18, with room */

int nde__adj_is_gbs(const nde_method *m) { return m == &nde__gbs; }

/* Doubles: f0, f0bar, y1, ybar0, tmp, neg, cot, out (dim), Y and Ybar (MAX_SUB + 1 dim
 * each), theta_tmp (np). */
size_t nde__adj_gbs_bytes(size_t dim, size_t np)
{
    size_t n = 0, bytes = 0;
    if (nde__size_muladd(&n, 8 + 2 * (MAX_SUB + 1), dim) || nde__size_add(n, np, &n) ||
        nde__size_muladd(&bytes, n, sizeof(double)))
        return 0;
    return bytes;
}

void nde__adj_gbs_init(nde__adj_gbs *w, size_t dim, void *mem)
{
    double *q = mem;
    w->f0 = q; q += dim;
    w->f0bar = q; q += dim;
    w->y1 = q; q += dim;
    w->ybar0 = q; q += dim;
    w->tmp = q; q += dim;
    w->neg = q; q += dim;
    w->cot = q; q += dim;
    w->out = q; q += dim;
    w->Y = q; q += (MAX_SUB + 1) * dim;
    w->Ybar = q; q += (MAX_SUB + 1) * dim;
    w->theta_tmp = q;
}

/* The weights of y1 = sum_j wt[j] T_j (j = 1 .. kc): gbs.c's in-place recursion
 * T(l - 1) = T(l) + (T(l) - T(l - 1)) / ((n_j / n_{l-1})^2 - 1) run on coefficients. */
static void weights(int kc, double wt[NDE__GBS_MAX_LINES + 1])
{
    double C[NDE__GBS_MAX_LINES][NDE__GBS_MAX_LINES + 1];   /* row l: coefficients of T(l) */
    memset(C, 0, sizeof C);
    for (int j = 1; j <= kc; j++) {
        memset(C[j - 1], 0, sizeof C[j - 1]);
        C[j - 1][j] = 1.0;
        for (int l = j; l >= 2; l--) {
            const double r = (double)nde__gbs_substeps(j) / nde__gbs_substeps(l - 1), fac = r * r - 1.0;
            for (int q = 1; q <= kc; q++) C[l - 2][q] = C[l - 1][q] + (C[l - 1][q] - C[l - 2][q]) / fac;
        }
    }
    for (int q = 1; q <= kc; q++) wt[q] = C[0][q];
}

static int eval(nde__adj_problem *p, double s, const double *y, double *k)
{
    p->nfe++;
    return p->f(s, y, k, p->fuser);
}

/* Line j's states y_0 .. y_n into w->Y (f(s + H, y_n) into w->tmp) and its T_j into out. */
static int run_line(nde__adj_problem *p, nde__adj_gbs *w, int j, double s, double H, const double *y0, double *out)
{
    const size_t dim = p->dim;
    const int n = nde__gbs_substeps(j);
    const double hj = H / n;
    int rc;
    double *Y = w->Y;
    memcpy(Y, y0, dim * sizeof *Y);
    for (size_t d = 0; d < dim; d++) Y[dim + d] = y0[d] + hj * w->f0[d];
    for (int m = 1; m < n; m++) {
        if ((rc = eval(p, s + m * hj, Y + (size_t)m * dim, w->tmp))) return rc;
        const double *ya = Y + (size_t)(m - 1) * dim;
        double *yc = Y + (size_t)(m + 1) * dim;
        for (size_t d = 0; d < dim; d++) yc[d] = ya[d] + 2.0 * hj * w->tmp[d];
    }
    const double *yn = Y + (size_t)n * dim, *ym = Y + (size_t)(n - 1) * dim;
    if ((rc = eval(p, s + H, yn, w->tmp))) return rc;
    if (out)
        for (size_t d = 0; d < dim; d++) out[d] = 0.5 * (ym[d] + yn[d] + hj * w->tmp[d]);
    return 0;
}

int nde__adj_gbs_forward(nde__adj_problem *p, nde__adj_gbs *w, int kc, double s, double h, const double *y0)
{
    const size_t dim = p->dim;
    int rc;
    double wt[NDE__GBS_MAX_LINES + 1];
    if (kc < 1 || kc > NDE__GBS_MAX_LINES) return NDE_EINVAL;
    weights(kc, wt);
    if ((rc = eval(p, s, y0, w->f0))) return rc;
    memset(w->y1, 0, dim * sizeof *w->y1);
    for (int j = 1; j <= kc; j++) {
        if ((rc = run_line(p, w, j, s, h, y0, w->ybar0))) return rc;   /* ybar0: scratch for T_j */
        for (size_t d = 0; d < dim; d++) w->y1[d] += wt[j] * w->ybar0[d];
    }
    return 0;
}

int nde__adj_gbs_reverse(nde__adj_problem *p, nde__adj_gbs *w, int kc, double s, double h, const double *y0,
                         double *ybar, double *theta_bar)
{
    const size_t dim = p->dim;
    double wt[NDE__GBS_MAX_LINES + 1];
    int rc;
    weights(kc, wt);
    if ((rc = eval(p, s, y0, w->f0))) return rc;   /* every line starts from it */
    memset(w->ybar0, 0, dim * sizeof *w->ybar0);
    memset(w->f0bar, 0, dim * sizeof *w->f0bar);
    for (int j = kc; j >= 1; j--) {
        const int n = nde__gbs_substeps(j);
        const double hj = h / n;
        if ((rc = run_line(p, w, j, s, h, y0, NULL))) return rc;   /* the states again */
        double *Yb = w->Ybar;
        memset(Yb, 0, (size_t)(n + 1) * dim * sizeof *Yb);
        /* T_j = (y_{n-1} + y_n + h_j f(s + H, y_n)) / 2, with cotangent wt_j ybar */
        for (size_t d = 0; d < dim; d++) {
            const double tb = 0.5 * wt[j] * ybar[d];
            Yb[(size_t)(n - 1) * dim + d] += tb;
            Yb[(size_t)n * dim + d] += tb;
            w->cot[d] = hj * tb;
        }
        if ((rc = nde__adj_vjp(p, s + h, w->Y + (size_t)n * dim, w->cot, w->out, w->neg, w->theta_tmp, theta_bar)))
            return rc;
        for (size_t d = 0; d < dim; d++) Yb[(size_t)n * dim + d] += w->out[d];
        /* y_{m+1} = y_{m-1} + 2 h_j f(s + m h_j, y_m), m = n - 1 .. 1 */
        for (int m = n - 1; m >= 1; m--) {
            const double *ybn = Yb + (size_t)(m + 1) * dim;
            double *ybp = Yb + (size_t)(m - 1) * dim, *ybm = Yb + (size_t)m * dim;
            for (size_t d = 0; d < dim; d++) {
                ybp[d] += ybn[d];
                w->cot[d] = 2.0 * hj * ybn[d];
            }
            if ((rc = nde__adj_vjp(p, s + m * hj, w->Y + (size_t)m * dim, w->cot, w->out, w->neg, w->theta_tmp,
                                   theta_bar)))
                return rc;
            for (size_t d = 0; d < dim; d++) ybm[d] += w->out[d];
        }
        /* y_1 = y0 + h_j f(s, y0); y_0 = y0 */
        for (size_t d = 0; d < dim; d++) {
            w->f0bar[d] += hj * Yb[dim + d];
            w->ybar0[d] += Yb[d] + Yb[dim + d];
        }
    }
    if ((rc = nde__adj_vjp(p, s, y0, w->f0bar, w->out, w->neg, w->theta_tmp, theta_bar))) return rc;
    for (size_t d = 0; d < dim; d++) ybar[d] = w->ybar0[d] + w->out[d];
    return 0;
}
