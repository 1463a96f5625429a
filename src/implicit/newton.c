/* Simplified Newton (chord) iteration for the stages of diagonally implicit methods
 * (see internal.h): the Jacobian and the LU of I - hg J are kept across stages and
 * steps, Hairer & Wanner's rate estimate decides convergence and divergence. */
#include "implicit/internal.h"

#include <float.h>
#include <math.h>

#include "numerics/internal.h"

int nde__impl_newton_size(size_t dim, int user_lin, size_t *doubles, size_t *ints)
{
    size_t nn;
    if (user_lin) {   /* matrix-free: J's point only */
        *doubles = dim;
        *ints = 0;
        return 0;
    }
    if (nde__size_mul(dim, dim, &nn) || nde__size_mul(nn, 2, doubles)) return -1;
    *ints = dim;
    return 0;
}

void nde__impl_newton_init(nde__impl_newton *nw, size_t dim, int user_lin, double *J_lu, int *ipiv)
{
    nw->dim = dim;
    nw->J = J_lu;
    nw->lu = user_lin ? NULL : J_lu + dim * dim;
    nw->ipiv = user_lin ? NULL : ipiv;
    nde__impl_newton_forget(nw);
}

void nde__impl_newton_forget(nde__impl_newton *nw)
{
    nw->hg_lu = 0.0;
    nw->have_jac = nw->jac_current = nw->want_jac = 0;
    nw->eta = 1.0;   /* RADAU5's first faccon */
    nw->eta_hg = 0.0;
    nw->theta_max = 0.0;
    nw->why = NULL;
}

int nde__impl_newton_jacobian(nde__impl_newton *nw, const nde__int_stepper *st, double s,
                              const double *y, const double *fy, double *ywork, double *fwork)
{
    nw->why = NULL;
    if (nde__impl_user_linsolve(st)) {   /* no J: its point, for the caller's setup */
        for (size_t i = 0; i < nw->dim; i++) nw->J[i] = y[i];
        nw->s_jac = s;
        nw->have_jac = nw->jac_current = 1;
        nw->want_jac = 0;
        nw->jnorm = NAN;
        nw->hg_lu = 0.0;
        nw->eta_hg = 0.0;
        return 0;
    }
    int rc = nde__impl_jacobian(st, s, y, fy, nw->J, ywork, fwork);
    if (rc) {
        if (st->ode && st->ode->jac)
            nw->why = rc == NDE_ENONFINITE ? "the Jacobian callback wrote a non-finite entry"
                                           : "the Jacobian callback returned an error";
        nw->have_jac = nw->jac_current = 0;
        nw->hg_lu = 0.0;
        return rc;
    }
    nw->have_jac = nw->jac_current = 1;
    nw->want_jac = 0;
    size_t n = nw->dim;
    nw->jnorm = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = 0.0;
        for (size_t j = 0; j < n; j++) r += fabs(nw->J[i * n + j]);
        if (r > nw->jnorm) nw->jnorm = r;
    }
    nw->hg_lu = 0.0;   /* the factors belong to the old J */
    nw->eta_hg = 0.0;
    return 0;
}

int nde__impl_newton_factor(nde__impl_newton *nw, const nde__int_stepper *st, double hg)
{
    if (nw->hg_lu != 0.0 && fabs(hg / nw->hg_lu - 1.0) <= NDE__NEWTON_REFACTOR) return 0;
    nw->why = NULL;
    nw->eta_hg = 0.0;
    if (nde__impl_user_linsolve(st)) {
        int rc = nde__impl_lin_setup(st, nw->s_jac, nw->J, hg, &nw->why);
        nw->hg_lu = rc == 0 ? hg : 0.0;
        return rc;
    }
    size_t n = nw->dim, nn = n * n;
    for (size_t i = 0; i < nn; i++) nw->lu[i] = -hg * nw->J[i];
    for (size_t i = 0; i < n; i++) nw->lu[i * n + i] += 1.0;
    st->stats->nlu++;
    nw->eta_hg = 0.0;   /* a rate measured with other factors says nothing of these */
    int rc = nde__num_lu_factor(n, nw->lu, n, nw->ipiv);
    if (rc == NDE_OK) {
        nw->hg_lu = hg;
        return 0;
    }
    nw->hg_lu = 0.0;
    nw->why = rc == NDE__NUM_SINGULAR ? "the iteration matrix I - h gamma J is singular"
                                      : "the iteration matrix I - h gamma J is not finite";
    return 1;
}

/* RMS of v_i winv_i. Stage increments are O(tolerance) by construction: squares stay
 * in range unless something is not finite, which the caller tests for. */
static double wrms(const double *v, const double *winv, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i] * winv[i];
        s += x * x;
    }
    return sqrt(s / (double)n);
}

int nde__impl_newton_solve(nde__impl_newton *nw, const nde__int_stepper *st, double t, double hg,
                           const double *base, const double *winv, double *z, double *Y, double *fz,
                           double *dz)
{
    size_t n = nw->dim;
    double dn_prev = 0.0, eta = 1.0;
    const int user_lin = nde__impl_user_linsolve(st);
    nw->why = NULL;
    for (int k = 0; k < NDE__NEWTON_MAX_ITER; k++) {
        for (size_t i = 0; i < n; i++) Y[i] = base[i] + z[i];
        st->stats->nfe++;
        int rc = st->f(t, Y, fz, st->user);
        if (rc) return rc;
        for (size_t i = 0; i < n; i++) dz[i] = hg * fz[i] - z[i];
        if (user_lin) {
            if ((rc = nde__impl_lin_solve(st, dz, &nw->why))) return rc;
        } else {
            nde__num_lu_solve(n, nw->lu, n, nw->ipiv, 1, dz, n);   /* valid factors: NDE_OK */
        }
        for (size_t i = 0; i < n; i++) z[i] += dz[i];
        st->stats->nnewton++;
        double dn = wrms(dz, winv, n);
        if (!isfinite(dn)) {
            nw->why = "the Newton iteration produced non-finite values";
            return 1;
        }
        if (k == 0) {
            /* No rate yet: the previous solve's, damped (Hairer & Wanner IV.8), when it
             * was measured with these factors at this hg (a stale hg_lu slows the
             * iteration by a rate the old eta does not know); else none (eta = 1) */
            eta = nw->eta_hg == hg && hg == nw->hg_lu ? pow(fmax(nw->eta, DBL_EPSILON), 0.8) : 1.0;
        } else {
            double theta = dn_prev > 0.0 ? dn / dn_prev : 0.0;
            if (theta > nw->theta_max) nw->theta_max = theta;
            if (theta >= 1.0) {
                nw->why = "the Newton iteration diverged (contraction rate >= 1)";
                return 1;
            }
            /* the rate cannot reach kappa within the iterations left */
            if (k < NDE__NEWTON_MAX_ITER - 1 &&
                pow(theta, (double)(NDE__NEWTON_MAX_ITER - 1 - k)) / (1.0 - theta) * dn > NDE__NEWTON_KAPPA) {
                nw->why = "the Newton iteration converged too slowly to finish";
                return 1;
            }
            eta = theta / (1.0 - theta);
        }
        if (dn == 0.0 || eta * dn <= NDE__NEWTON_KAPPA) {
            nw->eta = eta;
            nw->eta_hg = hg;
            for (size_t i = 0; i < n; i++) Y[i] = base[i] + z[i];
            return 0;
        }
        dn_prev = dn;
    }
    nw->why = "the Newton iteration reached its iteration limit";
    return 1;
}
