/* NDE_ADJOINT_IMPLICIT: the gradient of a steady state through the implicit function
 * theorem (Bai, Kolter & Koltun 2019, "Deep Equilibrium Models"; Diffrax's
 * ImplicitAdjoint). A solve that ends with the steady-state event (nde_options.
 * steady_state) ends at y* with f(t*, y*; theta) ~ 0, so
 *     d(y*)/d(theta) = -J^{-1} df/dtheta,   J = df/dy at (t*, y*),
 * and for a loss L(y*)
 *     dL/dtheta = -lambda^T df/dtheta,   J^T lambda = dL/dy*,
 * one dense linear solve, whatever method (explicit, implicit, extrapolation) and
 * whatever steps reached y*: it differentiates the fixed point, not the solver. J^T is
 * built exactly, from the user's jac when the problem has one (one call), else from dim
 * VJPs with unit cotangents (row i of J is e_i^T J); lambda^T df/dtheta is one more
 * VJP. With an IMEX split (ode->f_explicit) the steady state is one of f + f_explicit:
 * J adds dim VJPs of f_explicit (ode->vjp_explicit) to f's, and df/dtheta its part. At an exact steady state the end point does not depend on y0 (within its basin
 * of attraction), so dL/dy0 = 0. Memory: y* and a dim x dim workspace, flat in the
 * number of steps. */
#include "adjoint/internal.h"
#include "numerics/internal.h"

#include <math.h>
#include <string.h>

int nde__adj_implicit_record(nde_tape *t, int rc, const nde_solution *sol)
{
    const size_t dim = t->p.dim;
    t->steady = 0;
    t->n_end = 0;
    size_t last = sol->n_event_hits ? sol->n_event_hits - 1 : 0;
    if (rc != NDE_EVENT || !sol->n_event_hits || sol->event_which[last] != NDE_EVENT_STEADY_STATE) {
        t->t_star = sol->n ? sol->t[sol->n - 1] : t->t1;   /* for the message only */
        return NDE_OK;
    }
    if (t->y_end_n != dim) {
        nde__free(&t->al, t->y_end, t->y_end_n * sizeof(double));
        t->y_end = nde__alloc(&t->al, dim * sizeof(double));
        t->y_end_n = t->y_end ? dim : 0;
        if (!t->y_end) return NDE_ENOMEM;
    }
    memcpy(t->y_end, sol->event_y + last * dim, dim * sizeof(double));
    t->t_star = sol->event_t[last];
    while (t->n_end < sol->n && sol->t[sol->n - 1 - t->n_end] == t->t_star) t->n_end++;
    t->steady = 1;
    return NDE_OK;
}

int nde__adj_implicit(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    const size_t dim = t->p.dim, np = t->p.np;
    const nde_ode *ode = &t->ode;
    if (!t->steady)
        return nde__adj_fail(t, NDE_EINVAL, "the taped solve ended at t = %.17g without the steady-state event: "
                             "NDE_ADJOINT_IMPLICIT differentiates a fixed point f(t*, y*) = 0 (solve longer, or "
                             "loosen steady_rtol / steady_atol)", t->t_star);
    /* only the saved points at t* may carry a cotangent: the others depend on the path */
    const size_t first_end = t->n_saved - t->n_end;
    for (size_t i = 0; dL_dy && i < first_end * dim; i++)
        if (dL_dy[i] != 0.0)
            return nde__adj_fail(t, NDE_EINVAL, "dL_dy[%zu] (saved point %zu of %zu, component %zu) is nonzero: "
                                 "NDE_ADJOINT_IMPLICIT differentiates only the steady state y* at t* = %.17g%s",
                                 i, i / dim, t->n_saved, i % dim, t->t_star,
                                 t->n_end ? " (the last saved point)"
                                          : ", which no saved point holds (save it: no ts, or NDE_SAVE_T1)");
    /* workspace: A = J^T (dim x dim), g = dL/dy* then lambda, a unit vector, a row of J,
     * the parameter part (np), the pivots */
    size_t nd = 0, bytes = 0;
    int bad = nde__size_mul(dim, dim, &nd);
    bad |= nde__size_muladd(&nd, 4, dim);
    bad |= nde__size_muladd(&nd, 2, np);
    bad |= nde__size_muladd(&bytes, nd, sizeof(double));
    bad |= nde__size_muladd(&bytes, dim, sizeof(int));
    if (bad) return nde__adj_fail(t, NDE_ENOMEM, "the implicit adjoint's dim x dim Jacobian for dim = %zu is too large", dim);
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    double *A = t->work, *g = A + dim * dim, *e = g + dim, *row = e + dim, *row_e = row + dim, *th = row_e + dim;
    double *th_e = th + np;
    int *ipiv = (int *)(th_e + np);
    const nde_vjp vjp_e = t->p.fe ? t->p.vjp_e : NULL;   /* an IMEX split: J = d(f + f_explicit)/dy */
    t->stats.nfe = t->stats.nvjp = 0;
    t->stats.recomputed = 0;

    memset(g, 0, dim * sizeof *g);
    for (size_t k = first_end; dL_dy && k < t->n_saved; k++)
        for (size_t d = 0; d < dim; d++) g[d] += dL_dy[k * dim + d];
    int zero = 1;
    for (size_t d = 0; d < dim; d++) zero &= g[d] == 0.0;

    if (!zero) {
        const double ts = t->t_star, *ys = t->y_end;
        if (ode->jac) {   /* J row-major from the user, transposed in place */
            int rc = ode->jac(ts, ys, A, ode->user);
            if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "ode->jac returned %d at the steady state t* = %g", rc, ts);
            for (size_t i = 0; i < dim; i++)
                for (size_t j = i + 1; j < dim; j++) {
                    double x = A[i * dim + j]; A[i * dim + j] = A[j * dim + i]; A[j * dim + i] = x;
                }
        }
        if (!ode->jac || vjp_e) {          /* row i of J = e_i^T J, written as column i of A = J^T */
            memset(e, 0, dim * sizeof *e);
            for (size_t i = 0; i < dim; i++) {
                e[i] = 1.0;
                int rc = ode->jac ? 0 : t->p.vjp(ts, ys, e, row, NULL, t->p.user);
                t->stats.nvjp += !ode->jac;
                if (rc == 0 && vjp_e) {
                    rc = vjp_e(ts, ys, e, row_e, NULL, t->p.user);
                    t->stats.nvjp++;
                }
                e[i] = 0.0;
                if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "ode->vjp%s returned %d building df/dy at the steady "
                                             "state t* = %g (unit cotangent %zu)", vjp_e ? " or ode->vjp_explicit" : "",
                                             rc, ts, i);
                for (size_t j = 0; j < dim; j++)
                    A[j * dim + i] = (ode->jac ? A[j * dim + i] : row[j]) + (vjp_e ? row_e[j] : 0.0);
            }
        }
        int rc = nde__num_lu_factor(dim, A, dim, ipiv);
        if (rc == NDE_ENONFINITE)
            return nde__adj_fail(t, NDE_ENONFINITE, "df/dy at the steady state t* = %g has a non-finite entry", ts);
        if (rc == NDE__NUM_SINGULAR)
            return nde__adj_fail(t, NDE_EINVAL, "df/dy at the steady state t* = %g is singular (an exactly zero LU "
                                 "pivot): the fixed point is not isolated, so dy*/dtheta does not exist", ts);
        if (rc) return nde__adj_fail(t, rc, "LU factorisation of df/dy (dim %zu) failed", dim);
        if ((rc = nde__num_lu_solve(dim, A, dim, ipiv, 1, g, dim)))
            return nde__adj_fail(t, rc, "LU solve with df/dy (dim %zu) failed", dim);
        for (size_t d = 0; d < dim; d++)
            if (!isfinite(g[d]))
                return nde__adj_fail(t, NDE_ENONFINITE, "the adjoint lambda of J^T lambda = dL/dy* overflowed "
                                     "(component %zu): df/dy at t* = %g is numerically singular", d, ts);
        if (np && dL_dtheta) {
            rc = t->p.vjp(ts, ys, g, NULL, th, t->p.user);
            t->stats.nvjp++;
            if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "ode->vjp returned %d at the steady state t* = %g", rc, ts);
            if (vjp_e) {
                rc = vjp_e(ts, ys, g, NULL, th_e, t->p.user);
                t->stats.nvjp++;
                if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "ode->vjp_explicit returned %d at the steady state t* = %g",
                                             rc, ts);
                for (size_t k = 0; k < np; k++) th[k] += th_e[k];
            }
            for (size_t k = 0; k < np; k++) th[k] = -th[k];
        }
    } else {
        memset(th, 0, np * sizeof *th);
    }
    t->stats.bytes = nde__adj_tape_bytes(t);
    if (dL_dy0) memset(dL_dy0, 0, dim * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, th, np * sizeof *dL_dtheta);
    return NDE_OK;
}
