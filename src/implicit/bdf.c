/* The variable-order variable-step BDF (orders 1-5) as a stepper of the integrate loop.
 *
 * Form. The quasi-constant-step form with backward differences (Shampine & Reichelt,
 * "The MATLAB ODE suite", SIAM J. Sci. Comput. 18 (1997); scipy's bdf.py follows it):
 * D_0 = y_n, D_j = nabla^j y_n (j = 1..q) on a grid of constant step h, so the
 * predictor is y_pred = sum_{j<=q} D_j and the BDF of order q,
 *     sum_{j=1}^{q} (1/j) nabla^j y_{n+1} = h f(t_{n+1}, y_{n+1}),
 * written for the correction d = y_{n+1} - y_pred = nabla^{q+1} y_{n+1}, is
 *     M d = c f(t_{n+1}, y_pred + d) - M psi,   c = h / g_q,   psi = sum_{j=1}^{q} g_j D_j / g_q,
 * with g_k = sum_{j=1}^{k} 1/j and M the mass matrix (identity by default). A change of
 * step (by the step control, or because the loop clips a step to t1, step_ts or dtmax)
 * rescales D_0..D_q to the new h: the interpolating polynomial through the last q + 1
 * points is re-sampled on the new grid, D <- (R(rho) U)^T D (Shampine & Reichelt's
 * matrices R and U). The history lives in the stepper; `start` (first step, after a
 * jump or an event restart) begins again at order 1 from (y, y').
 *
 * Corrector. A chord (simplified Newton) iteration on (M - c J) dd = c f - M (psi + d)
 * with the Jacobian J and the LU factors of the iteration matrix kept across steps, as
 * CVODE does (Hindmarsh et al., "SUNDIALS", ACM TOMS 31 (2005), and the CVODE theory
 * guide): the matrix is refactored when c changed by more than NDE__BDF_DGMAX relative
 * to the c it was built with, after NDE__BDF_MSBP accepted steps, or after a new J; in
 * between, the solution is scaled by 2 / (1 + c / c_lu) for the mismatch. J is
 * re-evaluated when the iteration fails with a J from an earlier step and after
 * NDE__BDF_MSBJ accepted steps. Convergence is judged from the estimated contraction
 * rate (Shampine's test, as in scipy): converged when rate / (1 - rate) |dd| < tol,
 * diverging when rate >= 1 or when the remaining iterations cannot reach tol. With the
 * caller's linear solver (nde_options.lin_setup / lin_solve) J is not formed: its point
 * (t, y_pred) is kept, and the caller's setup and solve replace the LU and its solve.
 *
 * Error, step and order. The local error of order q is d / (q + 1) (the leading term of
 * the BDF's error constant times nabla^{q+1} y). After q + 1 steps of one size and order
 * the estimates for orders q - 1 (D_q / q) and q + 1 (nabla^{q+2} y / (q + 2)) are
 * compared with order q's as CVODE does: the order whose error allows the largest step
 * wins; a gain in [1, NDE__BDF_THRESH) keeps h and q (CVODE's THRESH: not worth a new
 * matrix), a factor below 1 shrinks h ahead of a rejection (scipy). Rejections shrink h
 * by the error, lower the order after repeated error failures, and shrink by
 * NDE__BDF_ETACF after a corrector failure.
 *
 * Dense output: the BDF's interpolating polynomial of the accepted step, through y_{n+1}
 * and the q previous points, in the loop's monomial format (degree q, padded to 5).
 *
 * Nothing allocates: the loop gives the stepper one block at create time. */
#include "implicit/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "numerics/internal.h"

/* ---- constants, each with its source ------------------------------------------------- */

#define BDF_QMAX 5                  /* highest order: BDF7+ are not zero-stable and BDF6 is
                                       A(alpha)-stable only for alpha < 18 degrees; CVODE
                                       and DASSL stop at 5 */
#define BDF_NDIFF (BDF_QMAX + 3)    /* D_0 .. D_{q+2} */
#define NDE__BDF_NEWTON_MAXITER 4   /* corrector iterations per attempt (scipy's bdf.py) */
#define NDE__BDF_NEWTON_TOL 0.03    /* converged when the estimated remaining correction is
                                       below 3% of the error test's weighted norm (CVODE:
                                       10%, scipy: min(0.03, sqrt(rtol)); measured on
                                       bench_bdf's problems, 0.03 needs half scipy's
                                       Jacobians at the same accuracy) */
#define NDE__BDF_DGMAX 0.3          /* refactor when |c / c_lu - 1| > 0.3 (CVODE DGMAX) */
#define NDE__BDF_MSBP 20            /* refactor at least every 20 steps (CVODE MSBP) */
#define NDE__BDF_MSBJ 50            /* new Jacobian at least every 50 steps (CVODE MSBJ) */
#define NDE__BDF_THRESH 1.5         /* a gain in [1, 1.5) keeps h and q (CVODE THRESH) */
#define NDE__BDF_ETACF 0.25         /* factor after a corrector failure (CVODE ETACF) */
#define NDE__BDF_MIN_FACTOR 0.2     /* smallest factor after an error failure (scipy) */
#define NDE__BDF_MAX_FACTOR 10.0    /* largest factor after an accepted step (scipy) */
#define NDE__BDF_ETAMXF 0.2         /* factor after three error failures in a row, with the
                                       order reset to 1 (CVODE ETAMXF, MXNEF1) */
#define NDE__BDF_SAME_H 1e-12       /* a step within this relative distance of the history's
                                       is the same step (h = (s + h) - s rounding) */
#define NDE__BDF_CONST_TOL 1e-9     /* constant steps (no rtol): the corrector's weights
                                       atol = rtol = 1e-9, i.e. converged to ~3e-14 */

/* g_k = sum_{j=1}^{k} 1/j */
static const double bdf_g[BDF_QMAX + 2] = {
    0.0, 1.0, 3.0 / 2.0, 11.0 / 6.0, 25.0 / 12.0, 137.0 / 60.0, 49.0 / 20.0,
};

typedef struct bdf_state {
    int q;                 /* current order */
    int qmin, qmax;        /* order range (bdf: 1..5; the private fixed-order methods: q..q) */
    int fresh;             /* history is (y, y') of a start: D_1 = h y' at the first attempt */
    size_t n_equal;        /* accepted steps since h or q changed */
    double h_D;            /* the step the differences are scaled to */
    int n_iter;            /* corrector iterations of the last attempt */
    int err_fails;         /* consecutive error-test failures of the current step */
    int jac_valid, jac_current;   /* J exists / J was evaluated since the last accepted step */
    int lu_valid;
    double c_lu;           /* c of the factored matrix */
    size_t jac_age, lu_age;   /* accepted steps since J / since the factorisation */
    double newton_tol, nrtol, natol;   /* the corrector's tolerance and norm weights */
    /* dim-vectors */
    double *D;             /* BDF_NDIFF x dim */
    double *f0, *yp0, *ypred, *psi, *d, *ycur, *fcur, *x, *w1, *w2;
    double *J, *A;         /* dim x dim; with the caller's linear solver J[0..dim) holds
                              the y of J's point (s_jac, y) instead */
    double s_jac;
    int *ipiv;
} bdf_state;

static const nde__bdf_range *bdf_range(const nde_method *m) { return m->tableau; }

static size_t header_bytes(void)
{
    return (sizeof(bdf_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

/* The matrices: J (dim^2) and A (dim^2, with dim pivots). With the caller's linear
 * solver (user_lin) J holds only its point's y (dim), and A is there only for the LU of
 * a mass matrix at the start. */
static void bdf_matrices(size_t dim, int user_lin, int mass, size_t *j_doubles, size_t *a_doubles, size_t *pivots)
{
    *j_doubles = user_lin ? dim : dim * dim;
    *a_doubles = user_lin && !mass ? 0 : dim * dim;
    *pivots = user_lin && !mass ? 0 : dim;
}

static size_t bdf_bytes(size_t dim, int user_lin, int mass)
{
    size_t n = 0, nn, ibytes;
    if (nde__size_mul(dim, dim, &nn)) return 0;   /* then the products below fit */
    size_t jd, ad, piv;
    bdf_matrices(dim, user_lin, mass, &jd, &ad, &piv);
    if (nde__size_muladd(&n, BDF_NDIFF + 10, dim) || nde__size_add(n, jd, &n) || nde__size_add(n, ad, &n) ||
        nde__size_mul(n, sizeof(double), &n) || nde__size_mul(piv, sizeof(int), &ibytes) ||
        nde__size_add(n, ibytes, &n) || nde__size_add(n, header_bytes(), &n))
        return 0;
    return n;
}

static size_t bdf_size(const nde_method *m, size_t dim)
{
    (void)m;
    return bdf_bytes(dim, 0, 1);
}

static size_t bdf_size_problem(const nde_method *m, const nde_ode *ode, const nde_options *o)
{
    (void)m;
    return bdf_bytes(ode->dim, o && o->lin_setup, ode->mass != NULL);
}

static void bdf_init(nde__int_stepper *st)
{
    bdf_state *B = st->state;
    size_t n = st->dim;
    const nde__bdf_range *r = bdf_range(st->m);
    memset(B, 0, sizeof *B);
    B->qmin = r->qmin;
    B->qmax = r->qmax;
    double *p = (double *)((char *)st->state + header_bytes());
    B->D = p; p += BDF_NDIFF * n;
    B->f0 = p; p += n;
    B->yp0 = p; p += n;
    B->ypred = p; p += n;
    B->psi = p; p += n;
    B->d = p; p += n;
    B->ycur = p; p += n;
    B->fcur = p; p += n;
    B->x = p; p += n;
    B->w1 = p; p += n;
    B->w2 = p; p += n;
    size_t jd, ad, piv;
    bdf_matrices(n, nde__impl_user_linsolve(st), st->ode && st->ode->mass, &jd, &ad, &piv);
    B->J = p; p += jd;
    B->A = ad ? p : NULL; p += ad;
    B->ipiv = piv ? (int *)p : NULL;
}

static int bdf_dense_degree(const nde_method *m) { (void)m; return BDF_QMAX; }

static double *Drow(const bdf_state *B, size_t dim, int j) { return B->D + (size_t)j * dim; }

/* v = M u (M the caller's mass matrix), or v = u without one. */
static void mass_apply(const nde__int_stepper *st, const double *u, double *v)
{
    size_t n = st->dim;
    const double *M = st->ode ? st->ode->mass : NULL;
    if (!M) { memcpy(v, u, n * sizeof *v); return; }
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) s += M[i * n + j] * u[j];
        v[i] = s;
    }
}

static int bdf_start(nde__int_stepper *st, double s, const double *y)
{
    bdf_state *B = st->state;
    size_t n = st->dim;
    st->stats->nfe++;
    int rc = st->f(s, y, B->f0, st->user);
    if (rc) return rc;
    /* y' = M^-1 f; with a singular M (a DAE), f itself: exact on unit rows of M, and
     * the algebraic components' slopes are found by the corrector. */
    memcpy(B->yp0, B->f0, n * sizeof *B->yp0);
    const double *M = st->ode ? st->ode->mass : NULL;
    if (M) {
        memcpy(B->A, M, n * n * sizeof *B->A);
        if (nde__num_lu_factor(n, B->A, n, B->ipiv) == NDE_OK) {
            st->stats->nlu++;
            nde__num_lu_solve(n, B->A, n, B->ipiv, 1, B->yp0, n);
        }
        B->lu_valid = 0;
    }
    memcpy(Drow(B, n, 0), y, n * sizeof *y);
    B->q = B->qmin;
    B->fresh = 1;
    B->n_equal = 0;
    B->err_fails = 0;
    /* a restart forgets the old J and LU: a solve does not depend on earlier solves */
    B->jac_valid = B->jac_current = B->lu_valid = 0;
    B->jac_age = B->lu_age = 0;
    /* The corrector's tolerance on the scaled norm: NDE__BDF_NEWTON_TOL of the error
     * test's weights; constant steps use tight weights and Shampine's tolerance (scipy's
     * bdf.py: between 10 eps / rtol and min(0.03, sqrt(rtol))). */
    B->nrtol = st->rtol > 0.0 ? st->rtol : NDE__BDF_CONST_TOL;
    B->natol = st->rtol > 0.0 ? st->atol : NDE__BDF_CONST_TOL;
    B->newton_tol = st->rtol > 0.0 ? NDE__BDF_NEWTON_TOL
                                   : fmax(10.0 * DBL_EPSILON / B->nrtol, fmin(0.03, sqrt(B->nrtol)));
    return 0;
}

static const double *bdf_start_f(const nde__int_stepper *st)
{
    const bdf_state *B = st->state;
    return B->f0;
}

/* D_0..D_q <- (R(rho) U)^T D_0..D_q: the differences of the same interpolating
 * polynomial on the grid of step rho h. R(rho)_{ij} = prod_{k=1}^{i} (k - 1 - rho j) / k
 * (row 0 all ones), U = R(1) (Shampine & Reichelt 1997, section 2.3). */
static void rescale(bdf_state *B, size_t dim, int q, double rho)
{
    double R[BDF_QMAX + 1][BDF_QMAX + 1], U[BDF_QMAX + 1][BDF_QMAX + 1], RU[BDF_QMAX + 1][BDF_QMAX + 1];
    for (int j = 0; j <= q; j++) { R[0][j] = 1.0; U[0][j] = 1.0; }
    for (int i = 1; i <= q; i++)
        for (int j = 0; j <= q; j++) {
            R[i][j] = R[i - 1][j] * ((double)(i - 1) - rho * (double)j) / (double)i;
            U[i][j] = U[i - 1][j] * ((double)(i - 1) - (double)j) / (double)i;
        }
    for (int i = 0; i <= q; i++)
        for (int j = 0; j <= q; j++) {
            double s = 0.0;
            for (int k = 0; k <= q; k++) s += R[i][k] * U[k][j];
            RU[i][j] = s;
        }
    /* D_new_j = sum_i RU_ij D_i for j = 1..q (RU_i0 = [i == 0], so D_0 stays) */
    for (size_t e = 0; e < dim; e++) {
        double old[BDF_QMAX + 1];
        for (int i = 0; i <= q; i++) old[i] = B->D[(size_t)i * dim + e];
        for (int j = 1; j <= q; j++) {
            double s = 0.0;
            for (int i = 1; i <= q; i++) s += RU[i][j] * old[i];
            B->D[(size_t)j * dim + e] = s;
        }
    }
}

/* The iteration matrix A = M - c J (M = I without a mass matrix), factored. */
static int factor_matrix(nde__int_stepper *st, bdf_state *B, double c)
{
    size_t n = st->dim, nn = n * n;
    if (nde__impl_user_linsolve(st)) {   /* the caller's setup at J's point */
        B->lu_valid = 0;
        int rc = nde__impl_lin_setup(st, B->s_jac, B->J, c, &st->why);
        if (rc) return rc;
        B->lu_valid = 1;
        B->c_lu = c;
        B->lu_age = 0;
        return 0;
    }
    const double *M = st->ode ? st->ode->mass : NULL;
    for (size_t i = 0; i < nn; i++) B->A[i] = -c * B->J[i];
    if (M) for (size_t i = 0; i < nn; i++) B->A[i] += M[i];
    else for (size_t i = 0; i < n; i++) B->A[i * n + i] += 1.0;
    st->stats->nlu++;
    B->lu_valid = 0;
    int rc = nde__num_lu_factor(n, B->A, n, B->ipiv);
    if (rc != NDE_OK) return rc;   /* NDE__NUM_SINGULAR, or NDE_ENONFINITE */
    B->lu_valid = 1;
    B->c_lu = c;
    B->lu_age = 0;
    return 0;
}

/* The chord iteration from y_pred: 0 converged, 1 not converged (or not finite), or
 * the right-hand side's code. On success ycur = y_pred + d, d the correction. */
static int corrector(nde__int_stepper *st, bdf_state *B, double s1, double c)
{
    size_t n = st->dim;
    double scale_c = c == B->c_lu ? 1.0 : 2.0 / (1.0 + c / B->c_lu);
    double dn_old = 0.0, tol = B->newton_tol;
    memset(B->d, 0, n * sizeof *B->d);
    memcpy(B->ycur, B->ypred, n * sizeof *B->ycur);
    B->n_iter = 0;
    for (int k = 0; k < NDE__BDF_NEWTON_MAXITER; k++) {
        const double *f = B->fcur;
        if (k == 0) f = B->w2;   /* f(s1, y_pred), evaluated by the caller */
        else {
            st->stats->nfe++;
            int rc = st->f(s1, B->ycur, B->fcur, st->user);
            if (rc) return rc;
        }
        for (size_t i = 0; i < n; i++) B->x[i] = B->psi[i] + B->d[i];
        mass_apply(st, B->x, B->w1);
        for (size_t i = 0; i < n; i++) B->x[i] = c * f[i] - B->w1[i];
        if (nde__impl_user_linsolve(st)) {
            int rc = nde__impl_lin_solve(st, B->x, &st->why);
            if (rc) return rc;
        } else {
            nde__num_lu_solve(n, B->A, n, B->ipiv, 1, B->x, n);
        }
        if (scale_c != 1.0) for (size_t i = 0; i < n; i++) B->x[i] *= scale_c;
        st->stats->nnewton++;
        B->n_iter = k + 1;
        double dn = nde__int_rms_scaled(B->x, B->ypred, n, B->nrtol, B->natol);
        if (!isfinite(dn)) return 1;
        double rate = 1.0;   /* unknown before the second iteration */
        if (k > 0) {
            rate = dn / dn_old;
            if (rate >= 1.0 ||
                pow(rate, NDE__BDF_NEWTON_MAXITER - k) / (1.0 - rate) * dn > tol)
                return 1;
        }
        for (size_t i = 0; i < n; i++) { B->ycur[i] += B->x[i]; B->d[i] += B->x[i]; }
        if (dn == 0.0 || (rate < 1.0 && rate / (1.0 - rate) * dn < tol)) return 0;
        dn_old = dn;
    }
    return 1;
}

static int bdf_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                       double *err)
{
    bdf_state *B = st->state;
    size_t n = st->dim;
    int q = B->q;
    if (B->fresh) {
        const nde__bdf_range *r = bdf_range(st->m);
        memcpy(Drow(B, n, 0), y, n * sizeof *y);
        for (int j = 1; j < BDF_NDIFF; j++) memset(Drow(B, n, j), 0, n * sizeof *B->D);
        if (r->history) {
            /* exact past values y(t - j h), j = 1..qmax, then their backward differences */
            q = B->q = B->qmax;
            for (int j = 1; j <= q; j++) {
                int rc = r->history(st->dir * (s - (double)j * h), Drow(B, n, j), st->ode->user);
                if (rc) return rc;
            }
            for (int k = 1; k <= q; k++)
                for (int j = q; j >= k; j--) {
                    double *Dj = Drow(B, n, j);
                    const double *Dp = Drow(B, n, j - 1);
                    for (size_t i = 0; i < n; i++) Dj[i] = Dp[i] - Dj[i];
                }
        } else {
            double *D1 = Drow(B, n, 1);
            for (size_t i = 0; i < n; i++) D1[i] = h * B->yp0[i];
            q = B->q = B->qmin;
        }
        B->h_D = h;
    } else if (fabs(h / B->h_D - 1.0) > NDE__BDF_SAME_H) {
        rescale(B, n, q, h / B->h_D);
        B->h_D = h;
        B->n_equal = 0;
    }
    /* predictor and the history term psi */
    const double c = h / bdf_g[q];
    for (size_t i = 0; i < n; i++) {
        double yp = 0.0, ps = 0.0;
        for (int j = q; j >= 1; j--) {
            double Dj = B->D[(size_t)j * n + i];
            yp += Dj;
            ps += bdf_g[j] * Dj;
        }
        B->ypred[i] = B->D[i] + yp;
        B->psi[i] = ps / bdf_g[q];
    }
    const double s1 = s + h;
    st->stats->nfe++;
    int rc = st->f(s1, B->ypred, B->w2, st->user);
    if (rc) return rc;
    int new_jac = !B->jac_valid || B->jac_age >= NDE__BDF_MSBJ;
    for (;;) {
        if (new_jac && nde__impl_user_linsolve(st)) {   /* no J: its point */
            memcpy(B->J, B->ypred, n * sizeof *B->J);
            B->s_jac = s1;
            B->jac_valid = B->jac_current = 1;
            B->jac_age = 0;
            B->lu_valid = 0;
            new_jac = 0;
        }
        if (new_jac) {
            rc = nde__impl_jacobian(st, s1, B->ypred, B->w2, B->J, B->ycur, B->fcur);
            if (rc == NDE_ENONFINITE) {
                st->why = "the Jacobian is not finite";
                return 1;
            }
            if (rc) {
                st->why = st->ode->jac ? "the Jacobian callback failed"
                                       : "the right-hand side failed while differencing the Jacobian";
                return rc > 0 ? rc : NDE_ECALLBACK;
            }
            B->jac_valid = B->jac_current = 1;
            B->jac_age = 0;
            B->lu_valid = 0;
            new_jac = 0;
        }
        if (!B->lu_valid || fabs(c / B->c_lu - 1.0) > NDE__BDF_DGMAX || B->lu_age >= NDE__BDF_MSBP) {
            rc = factor_matrix(st, B, c);
            if (rc && nde__impl_user_linsolve(st)) {   /* st->why says why */
                if (rc == 1 && !B->jac_current) { new_jac = 1; continue; }
                return rc;
            }
            if (rc) {
                if (!B->jac_current) { new_jac = 1; continue; }
                st->why = rc == NDE__NUM_SINGULAR ? "the BDF iteration matrix M - h/g J is singular"
                                                  : "the BDF iteration matrix is not finite";
                return 1;
            }
        }
        st->why = NULL;
        rc = corrector(st, B, s1, c);
        if (rc == 0) break;
        if (rc != 1) return rc;
        if (!B->jac_current) { new_jac = 1; continue; }
        if (!st->why) st->why = "the BDF corrector iteration did not converge";   /* else lin_solve's */
        B->err_fails = 0;
        return 1;
    }
    memcpy(y1, B->ycur, n * sizeof *y1);
    if (err) {
        double *e = B->w1;
        double ec = 1.0 / (double)(q + 1);
        for (size_t i = 0; i < n; i++) e[i] = ec * B->d[i];
        *err = nde__int_rms_scaled(e, y1, st->err_dim, st->rtol, st->atol);
        if (!isfinite(*err)) *err = INFINITY;
    }
    return 0;
}

/* Monomial coefficients of b_j(theta) = prod_{m=0}^{j-1} (theta - 1 + m) / (m + 1),
 * j = 1..q: y(s + theta h) = D_0 + sum_j b_j(theta) D_j through the step's end
 * (theta = 1) and the q points before it (theta = 0, -1, ..., 1 - q). */
static void basis_monomials(int q, double C[BDF_QMAX + 1][BDF_QMAX + 1])
{
    double p[BDF_QMAX + 1] = { 1.0 };
    for (int j = 1; j <= q; j++) {
        /* p <- p (theta + j - 2) / j */
        double a = (double)(j - 2), inv = 1.0 / (double)j;
        for (int k = j; k >= 1; k--) p[k] = (p[k - 1] + a * p[k]) * inv;
        p[0] = a * p[0] * inv;
        for (int k = 0; k <= BDF_QMAX; k++) C[j][k] = k <= j ? p[k] : 0.0;
    }
}

static int bdf_accept(nde__int_stepper *st, double s, double h, const double *y,
                      const double *y1, unsigned what, double *P, int *start_valid)
{
    (void)s; (void)h; (void)y;
    bdf_state *B = st->state;
    size_t n = st->dim;
    int q = B->q;
    /* nabla^{q+2} y_{n+1} = d - nabla^{q+1} y_n, nabla^{q+1} y_{n+1} = d, then
     * nabla^j y_{n+1} = nabla^j y_n + nabla^{j+1} y_{n+1} downwards */
    double *Dq1 = Drow(B, n, q + 1), *Dq2 = Drow(B, n, q + 2);
    for (size_t i = 0; i < n; i++) { Dq2[i] = B->d[i] - Dq1[i]; Dq1[i] = B->d[i]; }
    for (int j = q; j >= 0; j--) {
        double *Dj = Drow(B, n, j), *Dn = Drow(B, n, j + 1);
        for (size_t i = 0; i < n; i++) Dj[i] += Dn[i];
    }
    memcpy(Drow(B, n, 0), y1, n * sizeof *y1);
    B->fresh = 0;
    B->n_equal++;
    B->jac_current = 0;
    B->jac_age++;
    B->lu_age++;
    B->err_fails = 0;
    if (what & NDE__INT_NEED_DENSE) {
        double C[BDF_QMAX + 1][BDF_QMAX + 1];
        basis_monomials(q, C);
        for (int k = 0; k <= BDF_QMAX; k++) {
            double *Pk = P + (size_t)k * n;
            for (size_t i = 0; i < n; i++) {
                double v = k == 0 ? B->D[i] : 0.0;
                for (int j = k > 1 ? k : 1; j <= q; j++) v += C[j][k] * B->D[(size_t)j * n + i];
                Pk[i] = v;
            }
        }
    }
    *start_valid = (what & NDE__INT_CONTINUE) != 0;
    return 0;
}

/* Scaled error norm of ec * D_j over the error components. */
static double diff_norm(const nde__int_stepper *st, const bdf_state *B, int j, double ec)
{
    size_t n = st->dim;
    double *e = B->w1;
    const double *Dj = B->D + (size_t)j * n;
    for (size_t i = 0; i < n; i++) e[i] = ec * Dj[i];
    return nde__int_rms_scaled(e, B->D, st->err_dim, st->rtol, st->atol);
}

static double bdf_step_factor(nde__int_stepper *st, double h, double err, int accepted)
{
    (void)h;
    bdf_state *B = st->state;
    int q = B->q;
    /* Shampine's safety: smaller after a corrector that needed many iterations */
    double safety = 0.9 * (2.0 * NDE__BDF_NEWTON_MAXITER + 1.0) / (2.0 * NDE__BDF_NEWTON_MAXITER + B->n_iter);
    if (!accepted) {
        if (isinf(err)) return NDE__BDF_ETACF;   /* corrector failure or non-finite values */
        B->err_fails++;
        if (B->err_fails >= 3) {   /* CVODE MXNEF1: restart the order ramp with a small step */
            if (B->q > B->qmin) { B->q = B->qmin; B->n_equal = 0; }
            return NDE__BDF_ETAMXF;
        }
        if (B->err_fails == 2 && B->q > B->qmin) {   /* the order's estimate is not to be trusted */
            B->q--;
            B->n_equal = 0;
        }
        double f = safety * pow(err, -1.0 / (double)(q + 1));
        return f < NDE__BDF_MIN_FACTOR ? NDE__BDF_MIN_FACTOR : f > 0.9 ? 0.9 : f;
    }
    if (B->n_equal < (size_t)q + 1) return 1.0;
    double e_m = q > B->qmin ? diff_norm(st, B, q, 1.0 / (double)q) : INFINITY;
    double e_p = q < B->qmax ? diff_norm(st, B, q + 2, 1.0 / (double)(q + 2)) : INFINITY;
    double fac_m = e_m == 0.0 ? INFINITY : pow(e_m, -1.0 / (double)q);
    double fac_q = err == 0.0 ? INFINITY : pow(err, -1.0 / (double)(q + 1));
    double fac_p = e_p == 0.0 ? INFINITY : pow(e_p, -1.0 / (double)(q + 2));
    if (!(fac_m >= 0.0)) fac_m = 0.0;
    if (!(fac_p >= 0.0)) fac_p = 0.0;
    int dq = 0;
    double best = fac_q;
    if (fac_m > best) { best = fac_m; dq = -1; }
    if (fac_p > best) { best = fac_p; dq = +1; }
    double f = safety * best;
    if (f >= 1.0 && f < NDE__BDF_THRESH) return 1.0;   /* not worth a new matrix: keep h and q */
    if (f > NDE__BDF_MAX_FACTOR) f = NDE__BDF_MAX_FACTOR;
    if (dq) {
        B->q = q + dq;
        /* the new order's top difference D_{q+1} = d is already scaled to h */
    }
    B->n_equal = 0;
    return f;
}

const nde__int_ops nde__bdf_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .features = NDE__INT_FEATURE_MASS | NDE__INT_FEATURE_LINSOLVE,
    .size = bdf_size,
    .size_problem = bdf_size_problem,
    .init = bdf_init,
    .dense_degree = bdf_dense_degree,
    .start = bdf_start,
    .start_f = bdf_start_f,
    .attempt = bdf_attempt,
    .accept = bdf_accept,
    .record_vectors = NULL,
    .record = NULL,
    .step_factor = bdf_step_factor,
};

static const nde__bdf_range bdf_full = { 1, BDF_QMAX, NULL };

const nde_method nde__bdf = {
    .name = "bdf",
    .description = "variable-order variable-step BDF, orders 1-5, in Shampine's quasi-constant-"
                   "step difference form with CVODE's order selection and a chord corrector "
                   "(Jacobian and LU reuse); mass matrices (index-1 DAEs)",
    .kind = NDE_METHOD_MULTISTEP, .ops = &nde__bdf_ops, .tableau = &bdf_full,
    .stages = 1, .order = BDF_QMAX, .embedded_order = 1, .fsal = 0, .dense_order = BDF_QMAX,
};
