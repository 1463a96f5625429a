/* One diagonally implicit Runge-Kutta step (implicit_euler, kvaerno3/4/5, kencarp3/4/5
 * with or without an IMEX split; tables in src/implicit/dirk_tableaux.c), forwards again
 * and backwards through its stages, interpolant, error estimate and stiffness estimate.
 *
 * The step, in the loop's internal time (f~ = dir f(dir s, y)):
 *   K_0 = f~(s, y0), Y_0 = y0;
 *   for i >= 1: base_i = y0 + h sum_{j<i} a_ij K_j, and Y_i solves
 *               Y_i = base_i + h a_ii f~(t_i, Y_i), K_i = f~(t_i, Y_i)   (a_ii = gamma or 0);
 *   y1 = y0 + h sum_j b_j K_j.
 * The reverse pass differentiates the CONVERGED stage equations (implicit function
 * theorem), not the Newton iterations that solved them: with J_i = df~/dy(t_i, Y_i),
 * hg = h a_ii, and the cotangents Kbar_i of K_i and Ybar_i of Y_i (from the stiffness
 * estimate) gathered from everything after stage i,
 *   v_i = (I - hg J_i)^-T (Kbar_i + hg Ybar_i),
 *   base_bar_i = J_i^T v_i + Ybar_i,   theta_bar += (df~/dtheta)^T v_i,
 * one transposed LU solve and one VJP per implicit stage (an explicit stage is hg = 0:
 * v_i = Kbar_i). base_bar_i then flows into y0 and into the earlier K_j by h a_ij.
 *
 * The IMEX split (kencarp with ode->f_explicit, src/implicit/dirk.c): each stage also
 * has the explicit part KE_i = fe~(t_i, Y_i), base_i gains h sum_{j<i} ae_ij KE_j, and
 * y1, the error estimate and the interpolant weigh K_j + KE_j by the same b, bhat and
 * dense rows. KE_i depends on the stage only through Y_i, so its cotangent KEbar_i
 * joins Ybar_i as JE_i^T KEbar_i (one VJP of f_explicit, ode->vjp_explicit, which also
 * adds (dfe~/dtheta)^T KEbar_i to theta_bar) before the implicit solve above, and
 * base_bar_i flows into the earlier KE_j by h ae_ij. The stiffness estimate compares
 * the total derivatives K + KE of the last two stages.
 *
 * Recomputation. The forward solve's stages are not kept; the backward pass solves
 * every stage again from the step's start state by a Newton iteration of its own
 * (chord steps with J refreshed whenever the update shrinks by less than half),
 * iterated to rounding (DIRK_REV_ULPS), and then evaluates J_i at the converged Y_i
 * exactly: from ode->jac when the problem has one (one call), else row by row from dim
 * VJPs with unit cotangents. Factors of (I - hg J_i)^T for every stage are kept in the
 * backward workspace (stages x dim^2 doubles) for the reverse sweep. The taped forward
 * solve solves its own stages to rounding as well (nde__int_stepper.exact_stages), so
 * the states the tape holds and the ones rebuilt here agree to rounding and the taped
 * solve is the smooth function of y0 and theta whose derivative this is.
 *
 * Cost per step of the backward pass: per implicit stage two Jacobians or more (2 dim
 * VJPs each without ode->jac), 2 LU factorisations of order dim, the Newton iteration's
 * f-evaluations (typically 3 to 6) and one more VJP; the step's own VJPs as for an
 * explicit method. */
#include "adjoint/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The backward pass's Newton iteration: converged when the update is at most this many
 * unit roundoffs of |Y|_inf; at most DIRK_REV_MAX_ITER iterations; an iteration that no
 * longer contracts (|dY| > DIRK_REV_SLOW |dY_prev|) with updates below DIRK_REV_STALL
 * |Y|_inf has reached its rounding floor and stops there. */
#define DIRK_REV_ULPS 8.0
#define DIRK_REV_MAX_ITER 40
#define DIRK_REV_SLOW 0.5
#define DIRK_REV_STALL 1e-10

int nde__adj_is_dirk(const nde_method *m) { return nde__dirk_tab(m) != NULL; }

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

/* Doubles: K, Y, Kbar (s each), KE and KEbar (s each) and ybe for an IMEX pair, LT
 * (s dim^2), Mn and J (dim^2 each), 11 vectors, Pbar ((degree + 1) dim), theta_tmp
 * (np); ints: s + 1 pivot arrays. */
static int layout(const nde_method *m, size_t dim, size_t np, size_t *doubles, size_t *ints)
{
    const nde__dirk_tableau *T = nde__dirk_tab(m);
    if (!T || T->stages > NDE__ADJ_DIRK_MAX) return 1;
    const size_t s = (size_t)T->stages, deg = T->dense_b ? (size_t)T->dense_degree : 3u;
    const size_t imex = T->ae ? 2 * s + 1 : 0;
    size_t d2, n = 0;
    if (nde__size_mul(dim, dim, &d2)) return 1;
    if (nde__size_muladd(&n, s + 2, d2) || nde__size_muladd(&n, 3 * s + imex + 11 + deg + 1, dim) ||
        nde__size_add(n, np, &n))
        return 1;
    *doubles = n;
    *ints = 0;
    return nde__size_muladd(ints, s + 1, dim);
}

size_t nde__adj_dirk_bytes(const nde_method *m, size_t dim, size_t np)
{
    size_t nd, ni, bytes = 0;
    if (layout(m, dim, np, &nd, &ni)) return 0;
    if (nde__size_muladd(&bytes, nd, sizeof(double)) || nde__size_muladd(&bytes, ni, sizeof(int)) ||
        nde__size_add(bytes, sizeof(double), &bytes))
        return 0;
    return bytes;
}

void nde__adj_dirk_init(nde__adj_dirk *w, const nde_method *m, size_t dim, size_t np, void *mem,
                        int imex)
{
    const nde__dirk_tableau *T = nde__dirk_tab(m);
    size_t nd = 0, ni = 0;
    layout(m, dim, np, &nd, &ni);
    memset(w, 0, sizeof *w);
    w->T = T;
    w->s = T->stages;
    w->degree = T->dense_b ? T->dense_degree : 3;
    w->imex = imex && T->ae;
    double *p = mem;
    for (int i = 0; i < w->s; i++, p += dim) w->K[i] = p;
    for (int i = 0; i < w->s; i++, p += dim) w->Y[i] = p;
    for (int i = 0; i < w->s; i++, p += dim) w->Kbar[i] = p;
    if (T->ae) {
        for (int i = 0; i < w->s; i++, p += dim) w->KE[i] = p;
        for (int i = 0; i < w->s; i++, p += dim) w->KEbar[i] = p;
        w->ybe = p; p += dim;
    }
    for (int i = 0; i < w->s; i++, p += dim * dim) w->LT[i] = p;
    w->Mn = p; p += dim * dim;
    w->J = p; p += dim * dim;
    w->y1 = p; p += dim;
    w->ybar0 = p; p += dim;
    w->f1 = p; p += dim;
    w->tmp = p; p += dim;
    w->neg = p; p += dim;
    w->v = p; p += dim;
    w->r = p; p += dim;
    w->dY = p; p += dim;
    w->unit = p; p += dim;
    w->Ya_bar = p; p += dim;
    w->Yb_bar = p; p += dim;
    w->Pbar = p; p += (size_t)(w->degree + 1) * dim;
    w->theta_tmp = p; p += np;
    int *q = (int *)(void *)((char *)mem + align_up(nd * sizeof(double), sizeof(int)));
    for (int i = 0; i < w->s; i++, q += dim) w->piv[i] = q;
    w->pn = q;
}

static double norm_inf(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static int eval(nde__adj_problem *p, double s, const double *y, double *k)
{
    p->nfe++;
    return p->f(s, y, k, p->fuser);
}

/* The explicit part fe~ of an IMEX split. */
static int eval_e(nde__adj_problem *p, double s, const double *y, double *k)
{
    p->nfe++;
    return p->fe(s, y, k, p->feuser);
}

int nde__adj_exact_jacobian(nde__adj_problem *p, double t, const double *Y, double *J, double *unit,
                            double *neg, double *theta_tmp)
{
    const size_t n = p->dim;
    int rc;
    if (p->jac) {
        if ((rc = p->jac(p->dir * t, Y, J, p->user))) return rc;
        for (size_t i = 0; i < n * n; i++) {
            if (!isfinite(J[i])) return NDE_ENONFINITE;
            if (p->dir < 0) J[i] = -J[i];
        }
        return 0;
    }
    memset(unit, 0, n * sizeof *unit);
    for (size_t r = 0; r < n; r++) {
        unit[r] = 1.0;
        rc = nde__adj_vjp(p, t, Y, unit, J + r * n, neg, theta_tmp, NULL);
        unit[r] = 0.0;
        if (rc) return rc;
    }
    return 0;
}

/* w->J = df~/dy at (t, Y). */
static int jacobian(nde__adj_problem *p, nde__adj_dirk *w, double t, const double *Y)
{
    return nde__adj_exact_jacobian(p, t, Y, w->J, w->unit, w->neg, w->theta_tmp);
}

/* Factors of I - hg J (trans = 0) or of its transpose (trans = 1) into M / piv.
 * NDE_ENONLINEAR when singular or not finite. */
static int factor(const nde__adj_dirk *w, size_t n, double hg, int trans, double *M, int *piv)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            M[i * n + j] = (i == j ? 1.0 : 0.0) - hg * (trans ? w->J[j * n + i] : w->J[i * n + j]);
    return nde__num_lu_factor(n, M, n, piv) == NDE_OK ? 0 : NDE_ENONLINEAR;
}

/* Y = base + hg f~(t, Y) by Newton's method from the Y given, to rounding; on success
 * w->J is the Jacobian at the solution and K the stage derivative (Y - base) / hg. */
static int solve_stage(nde__adj_problem *p, nde__adj_dirk *w, double t, double hg, const double *base,
                       double *Y, double *K)
{
    const size_t n = p->dim;
    int rc;
    double prev = INFINITY;
    if ((rc = jacobian(p, w, t, Y)) || (rc = factor(w, n, hg, 0, w->Mn, w->pn))) return rc;
    for (int it = 0;; it++) {
        if (it == DIRK_REV_MAX_ITER) return NDE_ENONLINEAR;
        if ((rc = eval(p, t, Y, w->r))) return rc;
        for (size_t q = 0; q < n; q++) w->dY[q] = base[q] + hg * w->r[q] - Y[q];
        nde__num_lu_solve(n, w->Mn, n, w->pn, 1, w->dY, n);
        for (size_t q = 0; q < n; q++) Y[q] += w->dY[q];
        double dn = norm_inf(w->dY, n), yn = fmax(norm_inf(Y, n), norm_inf(base, n));
        if (!isfinite(dn)) return NDE_ENONLINEAR;
        if (dn <= DIRK_REV_ULPS * DBL_EPSILON * yn) break;
        if (dn > DIRK_REV_SLOW * prev) {
            if (dn <= DIRK_REV_STALL * yn) break;   /* the rounding floor */
            if ((rc = jacobian(p, w, t, Y)) || (rc = factor(w, n, hg, 0, w->Mn, w->pn))) return rc;
        }
        prev = dn;
    }
    const double inv = 1.0 / hg;
    for (size_t q = 0; q < n; q++) K[q] = (Y[q] - base[q]) * inv;
    return jacobian(p, w, t, Y);
}

int nde__adj_dirk_forward(nde__adj_problem *p, nde__adj_dirk *w, double s, double h, const double *y0,
                          int dense)
{
    const nde__dirk_tableau *T = w->T;
    const size_t n = p->dim;
    const int S = w->s;
    const double hg = h * T->gamma;
    int rc;
    const int imex = w->imex;
    memcpy(w->Y[0], y0, n * sizeof *y0);
    if ((rc = eval(p, s, y0, w->K[0]))) return rc;
    if (imex && (rc = eval_e(p, s, y0, w->KE[0]))) return rc;
    for (int i = 1; i < S; i++) {
        const double *ai = T->ai + (size_t)i * (size_t)S, *ae = imex ? T->ae + (size_t)i * (size_t)S : NULL;
        double *base = w->tmp, *Y = w->Y[i];
        memcpy(base, y0, n * sizeof *base);
        for (int j = 0; j < i; j++) {
            if (ai[j] != 0.0) {
                const double a = h * ai[j];
                for (size_t q = 0; q < n; q++) base[q] += a * w->K[j][q];
            }
            if (imex && ae[j] != 0.0) {
                const double a = h * ae[j];
                for (size_t q = 0; q < n; q++) base[q] += a * w->KE[j][q];
            }
        }
        const double ti = s + T->c[i] * h;
        if (ai[i] == 0.0) {   /* an explicit stage inside the table */
            memcpy(Y, base, n * sizeof *Y);
            if ((rc = eval(p, ti, Y, w->K[i]))) return rc;
            if (imex && (rc = eval_e(p, ti, Y, w->KE[i]))) return rc;
            continue;
        }
        for (size_t q = 0; q < n; q++) Y[q] = base[q] + hg * w->K[i - 1][q];   /* predictor */
        if ((rc = solve_stage(p, w, ti, hg, base, Y, w->K[i]))) return rc;
        if ((rc = factor(w, n, hg, 1, w->LT[i], w->piv[i]))) return rc;
        if (imex && (rc = eval_e(p, ti, Y, w->KE[i]))) return rc;
    }
    memcpy(w->y1, y0, n * sizeof *y0);
    for (int j = 0; j < S; j++) {
        const double bj = h * T->b[j];
        if (bj == 0.0) continue;
        for (size_t q = 0; q < n; q++) w->y1[q] += bj * w->K[j][q];
        if (imex)
            for (size_t q = 0; q < n; q++) w->y1[q] += bj * w->KE[j][q];
    }
    if (dense && !T->dense_b && (rc = eval(p, s + h, w->y1, w->f1))) return rc;   /* Hermite's f(s + h, y1) */
    return 0;
}

/* Y_i = y0 + h sum_{j <= i} (a_ij K_j + ae_ij KE_j), the stage value from the stage
 * derivatives (KE: the explicit part's, NULL without an IMEX split). */
static void stage_value(const nde__dirk_tableau *T, double *const *K, double *const *KE, const double *y0,
                        double h, int i, size_t n, double *out)
{
    const int S = T->stages;
    memcpy(out, y0, n * sizeof *out);
    for (int j = 0; j <= i; j++) {
        const double a = h * T->ai[(size_t)i * (size_t)S + (size_t)j];
        if (a != 0.0)
            for (size_t q = 0; q < n; q++) out[q] += a * K[j][q];
        const double ae = KE ? h * T->ae[(size_t)i * (size_t)S + (size_t)j] : 0.0;
        if (ae != 0.0)
            for (size_t q = 0; q < n; q++) out[q] += ae * KE[j][q];
    }
}

/* Component d of stage j's total derivative K_j + KE_j (KE NULL: K_j). */
static double total(double *const *K, double *const *KE, int j, size_t d)
{
    return KE ? K[j][d] + KE[j][d] : K[j][d];
}

/* ||(K + KE)_a - (K + KE)_b||_2, the stiffness estimate's numerator. */
static double stage_dist(double *const *K, double *const *KE, int a, int b, size_t n)
{
    double s = 0.0;
    for (size_t d = 0; d < n; d++) {
        const double t = total(K, KE, a, d) - total(K, KE, b, d);
        s += t * t;
    }
    return sqrt(s);
}

/* The controller's error norm of the step (src/implicit/dirk.c error_norm: RMS of
 * ev / (atol + rtol max(|y0|, |y1|)), ev = h sum_j (b_j - bhat_j) (K_j + KE_j)); with u,
 * the scaled components and their scales. */
static double error_norm(const nde__adj_problem *p, const nde__dirk_tableau *T, double *const *K,
                         double *const *KE, double h, const double *y0, const double *y1, double *u,
                         double *scale)
{
    const size_t n = p->dim;
    double su = 0.0;
    for (size_t d = 0; d < n; d++) {
        double e = 0.0;
        for (int j = 0; j < T->stages; j++) {
            const double ej = h * (T->b[j] - T->bhat[j]);
            if (ej != 0.0) e += ej * total(K, KE, j, d);
        }
        const double sc = p->atol + p->rtol * fmax(fabs(y0[d]), fabs(y1[d])), ud = e / sc;
        su += ud * ud;
        if (u) { u[d] = ud; scale[d] = sc; }
    }
    return sqrt(su / (double)n);
}

void nde__adj_dirk_regularisers(const nde__adj_problem *p, double *const *K, double *const *KE, double h,
                                const double *y0, const double *y1, double *Ya, double *Yb, double *r_error,
                                double *r_stiff)
{
    const nde__dirk_tableau *T = nde__dirk_tab(p->m);
    const size_t n = p->dim;
    const int a = T->stages - 1, b = T->stages - 2;
    *r_error = *r_stiff = 0.0;
    if (p->m->embedded_order > 0) *r_error = fabs(h) * error_norm(p, T, K, KE, h, y0, y1, NULL, NULL);
    stage_value(T, K, KE, y0, h, a, n, Ya);
    stage_value(T, K, KE, y0, h, b, n, Yb);
    const double B = nde__adj_stiff_denominator(Ya, Yb, n);
    if (B > 0.0) *r_stiff = fabs(h) * stage_dist(K, KE, a, b, n) / B;
}

static void axpy(double *y, double a, const double *x, size_t n)
{
    for (size_t d = 0; d < n; d++) y[d] += a * x[d];
}

/* Cotangents of the regularisers' inputs, weighted by w_error |h| and w_stiff |h|:
 * into Kbar, ybar0, y1bar and w->Ya_bar / w->Yb_bar (the last two stage values). */
static void regulariser_reverse(nde__adj_problem *p, nde__adj_dirk *w, double h, const double *y0,
                                double *y1bar, double w_error, double w_stiff)
{
    const nde__dirk_tableau *T = w->T;
    const size_t n = p->dim;
    const int S = w->s, a = S - 1, b = S - 2;
    double *const *KE = w->imex ? w->KE : NULL;
    if (w_error != 0.0 && p->m->embedded_order > 0) {
        double *u = w->Ya_bar, *sc = w->Yb_bar;   /* free until the stiffness part */
        const double N = error_norm(p, T, w->K, KE, h, y0, w->y1, u, sc), We = w_error * fabs(h);
        if (N > 0.0) {
            for (size_t d = 0; d < n; d++) {
                const double gu = u[d] / ((double)n * N), ebar = We * gu / sc[d];
                for (int j = 0; j < S; j++) {
                    const double ej = T->b[j] - T->bhat[j];
                    if (ej == 0.0) continue;
                    w->Kbar[j][d] += h * ej * ebar;
                    if (KE) w->KEbar[j][d] += h * ej * ebar;
                }
                /* scale = atol + rtol max(|y0|, |y1|): the larger one (y1 on a tie) */
                const double g = -p->rtol * We * gu * u[d] / sc[d];
                if (fabs(y0[d]) > fabs(w->y1[d])) w->ybar0[d] += y0[d] < 0 ? -g : g;
                else y1bar[d] += w->y1[d] < 0 ? -g : g;
            }
        }
    }
    memset(w->Ya_bar, 0, n * sizeof *w->Ya_bar);
    memset(w->Yb_bar, 0, n * sizeof *w->Yb_bar);
    if (w_stiff == 0.0) return;
    const double *Ya = w->Y[a], *Yb = w->Y[b];
    const double B = nde__adj_stiff_denominator(Ya, Yb, n), A = stage_dist(w->K, KE, a, b, n);
    const double Ws = w_stiff * fabs(h);
    if (!(B > 0.0)) return;
    for (size_t d = 0; d < n; d++) {
        if (A > 0.0) {
            const double gk = Ws * (total(w->K, KE, a, d) - total(w->K, KE, b, d)) / (A * B);
            w->Kbar[a][d] += gk;
            w->Kbar[b][d] -= gk;
            if (KE) {
                w->KEbar[a][d] += gk;
                w->KEbar[b][d] -= gk;
            }
        }
        const double gy = -Ws * A * (Ya[d] - Yb[d]) / (B * B * B);
        w->Ya_bar[d] += gy;
        w->Yb_bar[d] -= gy;
    }
}

int nde__adj_dirk_reverse(nde__adj_problem *p, nde__adj_dirk *w, double s, double h, const double *y0,
                          double *ybar, size_t n_in, const double *theta, const double *const *cot,
                          double w_error, double w_stiff, double *theta_bar)
{
    const nde__dirk_tableau *T = w->T;
    const size_t n = p->dim;
    const int S = w->s, a = S - 1, b = S - 2;
    const double hg = h * T->gamma;
    const int imex = w->imex;
    double *y1bar = ybar, *ybar0 = w->ybar0;
    int rc;
    memset(ybar0, 0, n * sizeof *ybar0);
    for (int i = 0; i < S; i++) memset(w->Kbar[i], 0, n * sizeof(double));
    for (int i = 0; imex && i < S; i++) memset(w->KEbar[i], 0, n * sizeof(double));

    /* the interpolant y(theta) = sum_j theta^j P_j */
    if (n_in) {
        const int deg = w->degree;
        double *Pb = w->Pbar;
        memset(Pb, 0, (size_t)(deg + 1) * n * sizeof *Pb);
        for (size_t q = 0; q < n_in; q++) {
            double tp = 1.0;
            for (int j = 0; j <= deg; j++, tp *= theta[q]) axpy(Pb + (size_t)j * n, tp, cot[q], n);
        }
        axpy(ybar0, 1.0, Pb, n);   /* P_0 = y0 */
        if (T->dense_b) {   /* P_d = h sum_i dense_b[d-1][i] K_i */
            for (int d = 1; d <= deg; d++) {
                const double *row = T->dense_b + (size_t)(d - 1) * (size_t)S;
                for (int j = 0; j < S; j++) {
                    if (row[j] == 0.0) continue;
                    axpy(w->Kbar[j], h * row[j], Pb + (size_t)d * n, n);
                    if (imex) axpy(w->KEbar[j], h * row[j], Pb + (size_t)d * n, n);
                }
            }
        } else {   /* cubic Hermite: P1 = h f0, P2 = 3(y1-y0) - h(2 f0 + f1), P3 = -2(y1-y0) + h(f0 + f1),
                    * f0 and f1 the total derivatives (IMEX: f~ + fe~) */
            const double *P1 = Pb + n, *P2 = Pb + 2 * n, *P3 = Pb + 3 * n;
            for (size_t d = 0; d < n; d++) {
                ybar0[d] += -3.0 * P2[d] + 2.0 * P3[d];
                y1bar[d] += 3.0 * P2[d] - 2.0 * P3[d];
                w->Kbar[0][d] += h * (P1[d] - 2.0 * P2[d] + P3[d]);
                if (imex) w->KEbar[0][d] += h * (P1[d] - 2.0 * P2[d] + P3[d]);
                w->v[d] = h * (P3[d] - P2[d]);   /* the cotangent of f1 = f~(s + h, y1) */
            }
            if ((rc = nde__adj_vjp(p, s + h, w->y1, w->v, w->tmp, w->neg, w->theta_tmp, theta_bar))) return rc;
            axpy(y1bar, 1.0, w->tmp, n);
            if (imex) {
                if ((rc = nde__adj_vjp_of(p, p->vjp_e, s + h, w->y1, w->v, w->tmp, w->neg, w->theta_tmp, theta_bar)))
                    return rc;
                axpy(y1bar, 1.0, w->tmp, n);
            }
        }
    }
    regulariser_reverse(p, w, h, y0, y1bar, w_error, w_stiff);

    /* y1 = y0 + h sum_j b_j K_j */
    axpy(ybar0, 1.0, y1bar, n);
    for (int j = 0; j < S; j++) {
        if (T->b[j] == 0.0) continue;
        axpy(w->Kbar[j], h * T->b[j], y1bar, n);
        if (imex) axpy(w->KEbar[j], h * T->b[j], y1bar, n);
    }
    /* the stages, last first */
    for (int i = S - 1; i >= 0; i--) {
        const double *Ydir = NULL;   /* the direct cotangent of Y_i: the stiffness estimate's, */
        if (i == a) Ydir = w->Ya_bar;
        else if (i == b) Ydir = w->Yb_bar;
        const double ti = i == 0 ? s : s + T->c[i] * h;
        if (imex) {   /* and the explicit part's, JE_i^T KEbar_i */
            if ((rc = nde__adj_vjp_of(p, p->vjp_e, ti, w->Y[i], w->KEbar[i], w->ybe, w->neg, w->theta_tmp,
                                      theta_bar)))
                return rc;
            if (Ydir) axpy(w->ybe, 1.0, Ydir, n);
            Ydir = w->ybe;
        }
        const int implicit = i > 0 && T->ai[(size_t)i * (size_t)S + (size_t)i] != 0.0;
        memcpy(w->v, w->Kbar[i], n * sizeof *w->v);
        if (implicit) {
            if (Ydir) axpy(w->v, hg, Ydir, n);
            nde__num_lu_solve(n, w->LT[i], n, w->piv[i], 1, w->v, n);
        }
        if ((rc = nde__adj_vjp(p, ti, w->Y[i], w->v, w->tmp, w->neg, w->theta_tmp, theta_bar))) return rc;
        if (Ydir) axpy(w->tmp, 1.0, Ydir, n);   /* base_bar_i (stage 0: y0's) */
        axpy(ybar0, 1.0, w->tmp, n);
        const double *ai = T->ai + (size_t)i * (size_t)S, *ae = imex ? T->ae + (size_t)i * (size_t)S : NULL;
        for (int j = 0; j < i; j++) {
            if (ai[j] != 0.0) axpy(w->Kbar[j], h * ai[j], w->tmp, n);
            if (imex && ae[j] != 0.0) axpy(w->KEbar[j], h * ae[j], w->tmp, n);
        }
    }
    memcpy(ybar, ybar0, n * sizeof *ybar);
    return 0;
}
