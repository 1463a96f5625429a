/* One radau5 step (3-stage Radau IIA, src/implicit/radau5.c), forwards again and
 * backwards through its collocation system and its interpolant. The step, in the loop's
 * internal time, with the stage increments z_i = Y_i - y0:
 *   G_i(Z) = M z_i - h sum_j a_ij F_j = 0,  F_j = f~(s + c_j h, y0 + z_j),  y1 = y0 + z_3,
 *   dense y(s + theta h) = y0 + sum_k theta^(k+1) sum_i dense[3k + i] z_i.
 * The reverse pass differentiates the exact collocation system (the forward's simplified
 * Newton iteration, with its one inexact J for all stages, does not enter): with the
 * cotangent zbar of Z, lambda solves the (3 dim) x (3 dim) system
 *   (dG/dZ)^T lambda = zbar,  block (i, j) of dG/dZ = M delta_ij - h a_ij J_j,
 * J_j = df~/dy at stage j, exact (ode->jac, else dim VJPs with unit cotangents); then
 * with mu_j = h sum_i a_ij lambda_i, y0's cotangent gets sum_j J_j^T mu_j and theta's
 * sum_j (dF_j/dtheta)^T mu_j: three VJPs. One real LU of order 3 dim per step (the
 * forward's complex splitting needs the same J in every stage, which the exact
 * derivative does not have): (3 dim)^3 / 3 flops, 9 dim^2 doubles twice (the
 * recomputation's Newton matrix and the transposed one).
 *
 * Recomputation: the backward pass solves the collocation system again from the step's
 * start by Newton's method on the 3 dim system (J_j refreshed whenever the update shrinks
 * by less than half), to rounding; the taped forward solve converges its own iteration
 * to rounding too (nde__int_stepper.exact_stages), so the states agree to rounding.
 * The regularisers are not differentiated for radau5 (its error estimate goes through
 * the simplified Newton matrix of the forward solve): NDE_EUNSUPPORTED at the taped
 * solve. */
#include "adjoint/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The Newton iteration of the recomputation (as dirk_reverse.c's). */
#define RADAU_REV_ULPS 8.0
#define RADAU_REV_MAX_ITER 40
#define RADAU_REV_SLOW 0.5
#define RADAU_REV_STALL 1e-10

int nde__adj_is_radau(const nde_method *m) { return m == &nde__radau5; }

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

/* Doubles: Z, F, Zbar, res, mu (3 dim each), J (3 dim^2), Big, BigT (9 dim^2 each),
 * y1, ybar0, tmp, neg, unit (dim), Pbar (4 dim), theta_tmp (np); ints: 6 dim. */
static int layout(size_t dim, size_t np, size_t *doubles, size_t *ints)
{
    size_t d2, n = 0;
    if (nde__size_mul(dim, dim, &d2)) return 1;
    if (nde__size_muladd(&n, 21, d2) || nde__size_muladd(&n, 15 + 5 + 4, dim) || nde__size_add(n, np, &n)) return 1;
    *doubles = n;
    *ints = 0;
    return nde__size_muladd(ints, 6, dim);
}

size_t nde__adj_radau_bytes(size_t dim, size_t np)
{
    size_t nd, ni, bytes = 0;
    if (layout(dim, np, &nd, &ni)) return 0;
    if (nde__size_muladd(&bytes, nd, sizeof(double)) || nde__size_muladd(&bytes, ni, sizeof(int)) ||
        nde__size_add(bytes, sizeof(double), &bytes))
        return 0;
    return bytes;
}

void nde__adj_radau_init(nde__adj_radau *w, const nde_ode *ode, size_t dim, size_t np, void *mem)
{
    size_t nd = 0, ni = 0;
    layout(dim, np, &nd, &ni);
    memset(w, 0, sizeof *w);
    w->tb = nde__radau5.tableau;
    w->M = ode->mass;
    double *q = mem;
    w->Z = q; q += 3 * dim;
    w->F = q; q += 3 * dim;
    w->Zbar = q; q += 3 * dim;
    w->res = q; q += 3 * dim;
    w->mu = q; q += 3 * dim;
    w->J = q; q += 3 * dim * dim;
    w->Big = q; q += 9 * dim * dim;
    w->BigT = q; q += 9 * dim * dim;
    w->y1 = q; q += dim;
    w->ybar0 = q; q += dim;
    w->tmp = q; q += dim;
    w->neg = q; q += dim;
    w->unit = q; q += dim;
    w->Pbar = q; q += 4 * dim;
    w->theta_tmp = q;
    int *iq = (int *)(void *)((char *)mem + align_up(nd * sizeof(double), sizeof(int)));
    w->pb = iq;
    w->pt = iq + 3 * dim;
}

static double norm_inf(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* J_j at every stage, then Big = dG/dZ (trans = 0) or its transpose (trans = 1), factored. */
static int jacobians(nde__adj_problem *p, nde__adj_radau *w, double s, double h, const double *y0)
{
    const size_t n = p->dim;
    int rc;
    for (int j = 0; j < 3; j++) {
        double *Y = w->tmp;
        for (size_t k = 0; k < n; k++) Y[k] = y0[k] + w->Z[(size_t)j * n + k];
        if ((rc = nde__adj_exact_jacobian(p, s + w->tb->c[j] * h, Y, w->J + (size_t)j * n * n, w->unit, w->neg,
                                          w->theta_tmp)))
            return rc;
    }
    return 0;
}

static int factor(nde__adj_radau *w, size_t n, double h, int trans, double *B, int *piv)
{
    const size_t N = 3 * n;
    for (int bi = 0; bi < 3; bi++)
        for (int bj = 0; bj < 3; bj++) {
            /* block (bi, bj) of dG/dZ: M delta - h a_{bi bj} J_bj */
            const double a = h * w->tb->a[3 * bi + bj];
            const double *Jb = w->J + (size_t)bj * n * n;
            for (size_t r = 0; r < n; r++)
                for (size_t c = 0; c < n; c++) {
                    double v = -a * Jb[r * n + c];
                    if (bi == bj) v += w->M ? w->M[r * n + c] : (r == c ? 1.0 : 0.0);
                    size_t row = (size_t)bi * n + r, col = (size_t)bj * n + c;
                    if (trans) B[col * N + row] = v;
                    else B[row * N + col] = v;
                }
        }
    return nde__num_lu_factor(N, B, N, piv) == NDE_OK ? 0 : NDE_ENONLINEAR;
}

/* F_j = f~ at the stages, and res = -G(Z). */
static int residual(nde__adj_problem *p, nde__adj_radau *w, double s, double h, const double *y0)
{
    const size_t n = p->dim;
    int rc;
    for (int j = 0; j < 3; j++) {
        for (size_t k = 0; k < n; k++) w->tmp[k] = y0[k] + w->Z[(size_t)j * n + k];
        p->nfe++;
        if ((rc = p->f(s + w->tb->c[j] * h, w->tmp, w->F + (size_t)j * n, p->fuser))) return rc;
    }
    for (int i = 0; i < 3; i++) {
        double *ri = w->res + (size_t)i * n;
        const double *zi = w->Z + (size_t)i * n;
        if (w->M) nde__num_gemv(NDE__NUM_NOTRANS, n, n, -1.0, w->M, n, zi, 0.0, ri);
        else for (size_t k = 0; k < n; k++) ri[k] = -zi[k];
        for (int j = 0; j < 3; j++) {
            const double a = h * w->tb->a[3 * i + j];
            for (size_t k = 0; k < n; k++) ri[k] += a * w->F[(size_t)j * n + k];
        }
    }
    return 0;
}

int nde__adj_radau_forward(nde__adj_problem *p, nde__adj_radau *w, double s, double h, const double *y0, int dense)
{
    (void)dense;   /* the interpolant is a combination of the stages */
    const size_t n = p->dim, N = 3 * n;
    int rc;
    /* predictor: z_i = c_i h f~(s, y0) */
    p->nfe++;
    if ((rc = p->f(s, y0, w->tmp, p->fuser))) return rc;
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < n; k++) w->Z[(size_t)i * n + k] = w->tb->c[i] * h * w->tmp[k];
    if ((rc = jacobians(p, w, s, h, y0)) || (rc = factor(w, n, h, 0, w->Big, w->pb))) return rc;
    double prev = INFINITY;
    for (int it = 0;; it++) {
        if (it == RADAU_REV_MAX_ITER) return NDE_ENONLINEAR;
        if ((rc = residual(p, w, s, h, y0))) return rc;
        nde__num_lu_solve(N, w->Big, N, w->pb, 1, w->res, N);
        for (size_t k = 0; k < N; k++) w->Z[k] += w->res[k];
        const double dn = norm_inf(w->res, N), zn = fmax(norm_inf(w->Z, N), norm_inf(y0, n));
        if (!isfinite(dn)) return NDE_ENONLINEAR;
        if (dn <= RADAU_REV_ULPS * DBL_EPSILON * zn) break;
        if (dn > RADAU_REV_SLOW * prev) {
            if (dn <= RADAU_REV_STALL * zn) break;   /* the rounding floor */
            if ((rc = jacobians(p, w, s, h, y0)) || (rc = factor(w, n, h, 0, w->Big, w->pb))) return rc;
        }
        prev = dn;
    }
    /* the exact derivative at the solution */
    if ((rc = jacobians(p, w, s, h, y0)) || (rc = factor(w, n, h, 1, w->BigT, w->pt))) return rc;
    for (size_t k = 0; k < n; k++) w->y1[k] = y0[k] + w->Z[2 * n + k];
    return 0;
}

int nde__adj_radau_reverse(nde__adj_problem *p, nde__adj_radau *w, double s, double h, const double *y0,
                           double *ybar, size_t n_in, const double *theta, const double *const *cot,
                           double *theta_bar)
{
    const size_t n = p->dim, N = 3 * n;
    const double *D = w->tb->dense;
    double *ybar0 = w->ybar0;
    int rc;
    memset(w->Zbar, 0, N * sizeof *w->Zbar);
    /* y1 = y0 + z_3 */
    memcpy(ybar0, ybar, n * sizeof *ybar0);
    for (size_t k = 0; k < n; k++) w->Zbar[2 * n + k] += ybar[k];
    /* the interpolant: P_0 = y0, P_{k+1} = sum_i dense[3k + i] z_i */
    if (n_in) {
        double *Pb = w->Pbar;
        memset(Pb, 0, 4 * n * sizeof *Pb);
        for (size_t q = 0; q < n_in; q++) {
            double tp = 1.0;
            for (int j = 0; j <= 3; j++, tp *= theta[q])
                for (size_t k = 0; k < n; k++) Pb[(size_t)j * n + k] += tp * cot[q][k];
        }
        for (size_t k = 0; k < n; k++) ybar0[k] += Pb[k];
        for (int kk = 0; kk < 3; kk++)
            for (int i = 0; i < 3; i++) {
                const double d = D[3 * kk + i];
                for (size_t k = 0; k < n; k++) w->Zbar[(size_t)i * n + k] += d * Pb[(size_t)(kk + 1) * n + k];
            }
    }
    /* lambda = (dG/dZ)^-T zbar (the solve is on the cotangent of -G: see the sign below) */
    nde__num_lu_solve(N, w->BigT, N, w->pt, 1, w->Zbar, N);
    const double *lam = w->Zbar;
    /* dZ = (dG/dZ)^-1 h A (x) (J dy0 + F_theta dtheta): mu_j = h sum_i a_ij lambda_i */
    for (int j = 0; j < 3; j++) {
        double *mj = w->mu + (size_t)j * n;
        memset(mj, 0, n * sizeof *mj);
        for (int i = 0; i < 3; i++) {
            const double a = h * w->tb->a[3 * i + j];
            for (size_t k = 0; k < n; k++) mj[k] += a * lam[(size_t)i * n + k];
        }
    }
    for (int j = 0; j < 3; j++) {
        double *Y = w->y1;   /* free here: y1 is not needed in the reverse sweep */
        for (size_t k = 0; k < n; k++) Y[k] = y0[k] + w->Z[(size_t)j * n + k];
        if ((rc = nde__adj_vjp(p, s + w->tb->c[j] * h, Y, w->mu + (size_t)j * n, w->tmp, w->neg, w->theta_tmp,
                               theta_bar)))
            return rc;
        for (size_t k = 0; k < n; k++) ybar0[k] += w->tmp[k];
    }
    memcpy(ybar, ybar0, n * sizeof *ybar);
    return 0;
}
