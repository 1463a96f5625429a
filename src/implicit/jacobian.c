/* Jacobians of the forward-time right-hand side (see internal.h): the caller's
 * callback mapped to forward time, or forward differences. */
#include "implicit/internal.h"

#include <float.h>
#include <math.h>

int nde__impl_jacobian(const nde__int_stepper *st, double s, const double *y, const double *fy,
                       double *J, double *ywork, double *fwork)
{
    size_t n = st->dim;
    st->stats->njac++;
    if (st->ode && st->ode->jac) {
        int rc = st->ode->jac(st->dir * s, y, J, st->ode->user);
        if (rc) return rc;
        size_t nn = n * n;
        for (size_t i = 0; i < nn; i++)
            if (!isfinite(J[i])) return NDE_ENONFINITE;
        if (st->dir < 0)
            for (size_t i = 0; i < nn; i++) J[i] = -J[i];
        return 0;
    }
    /* Column j from one evaluation at y + delta_j e_j: delta_j is rounded so that
     * (y_j + delta_j) - y_j is exactly the step taken. */
    for (size_t i = 0; i < n; i++) ywork[i] = y[i];
    for (size_t j = 0; j < n; j++) {
        double yj = y[j];
        double delta = sqrt(DBL_EPSILON * fmax(1e-5, fabs(yj)));
        ywork[j] = yj + delta;
        delta = ywork[j] - yj;
        int rc = st->f(s, ywork, fwork, st->user);
        st->stats->nfe++;
        ywork[j] = yj;
        if (rc) return rc;
        double inv = 1.0 / delta;
        for (size_t i = 0; i < n; i++) J[i * n + j] = (fwork[i] - fy[i]) * inv;
    }
    return 0;
}

int nde__impl_time_derivative(const nde__int_stepper *st, double s, const double *y,
                              const double *fy, double *dfdt, double *fwork)
{
    double delta = sqrt(DBL_EPSILON) * fmax(fabs(s), 1e-5);
    volatile double s1 = s + delta;   /* the step actually taken */
    delta = s1 - s;
    int rc = st->f(s1, y, fwork, st->user);
    st->stats->nfe++;
    if (rc) return rc;
    double inv = 1.0 / delta;
    for (size_t i = 0; i < st->dim; i++) dfdt[i] = (fwork[i] - fy[i]) * inv;
    return 0;
}

/* The increment of a difference in y_j by the tolerances: sqrt(eps) max(|y_j|, atol /
 * rtol), i.e. relative to the component's size or, below it, to the size at which
 * atol takes over from rtol in the error test (components far below it do not matter
 * to the solve, and a larger increment would leave the region where f is linear in
 * them: Robertson's y2 ~ 1e-13 against RADAU5's 4.7e-11). Constant steps (rtol = 0):
 * RADAU5's sqrt(eps max(1e-5, |y_j|)). */
static double increment(const nde__int_stepper *st, double yj)
{
    if (st->rtol > 0.0) {
        double d = sqrt(DBL_EPSILON) * fmax(fabs(yj), st->atol / st->rtol);
        if (d > 0.0) return d;
    }
    return sqrt(DBL_EPSILON * fmax(1e-5, fabs(yj)));
}

int nde__impl_jacobian_scaled(const nde__int_stepper *st, double s, const double *y, const double *fy,
                              double *J, double *ywork, double *fwork)
{
    if (st->ode && st->ode->jac) return nde__impl_jacobian(st, s, y, fy, J, ywork, fwork);
    size_t n = st->dim;
    st->stats->njac++;
    for (size_t i = 0; i < n; i++) ywork[i] = y[i];
    for (size_t j = 0; j < n; j++) {
        double yj = y[j];
        ywork[j] = yj + increment(st, yj);
        double inv = 1.0 / (ywork[j] - yj);   /* the step actually taken */
        int rc = st->f(s, ywork, fwork, st->user);
        st->stats->nfe++;
        ywork[j] = yj;
        if (rc) return rc;
        for (size_t i = 0; i < n; i++) J[i * n + j] = (fwork[i] - fy[i]) * inv;
    }
    return 0;
}

int nde__impl_jacobian_band(const nde__int_stepper *st, double s, const double *y, const double *fy,
                            size_t ml, size_t mu, double *Jb, size_t ldj, double *ywork, double *fwork,
                            double *full)
{
    size_t n = st->dim;
    if (st->ode && st->ode->jac) {
        int rc = nde__impl_jacobian(st, s, y, fy, full, ywork, fwork);
        if (rc) return rc;
        for (size_t j = 0; j < n; j++) {
            size_t i0 = j > mu ? j - mu : 0, i1 = j + ml < n ? j + ml : n - 1;
            for (size_t i = i0; i <= i1; i++) Jb[(mu + i - j) + j * ldj] = full[i * n + j];
        }
        return 0;
    }
    st->stats->njac++;
    size_t width = ml + mu + 1;
    if (width > n) width = n;
    for (size_t i = 0; i < n; i++) ywork[i] = y[i];
    for (size_t g = 0; g < width; g++) {
        /* every column j = g (mod width) at once: column j touches rows [j - mu, j + ml] */
        for (size_t j = g; j < n; j += width) ywork[j] = y[j] + increment(st, y[j]);
        int rc = st->f(s, ywork, fwork, st->user);
        st->stats->nfe++;
        for (size_t j = g; j < n; j += width) {
            double inv = 1.0 / (ywork[j] - y[j]);   /* the step actually taken */
            ywork[j] = y[j];
            if (rc) continue;
            size_t i0 = j > mu ? j - mu : 0, i1 = j + ml < n ? j + ml : n - 1;
            for (size_t i = i0; i <= i1; i++) Jb[(mu + i - j) + j * ldj] = (fwork[i] - fy[i]) * inv;
        }
        if (rc) return rc;
    }
    return 0;
}

/* (internal.h) What a step returns when forming J failed with rc: the user's jac's
 * failure named in st->why (a retry for rc > 0, else NDE_ENONFINITE or NDE_ECALLBACK),
 * or f's own code from the differences. */
int nde__impl_jacobian_failure(nde__int_stepper *st, int rc)
{
    if (!st->ode->jac) return rc;
    st->why = rc == NDE_ENONFINITE ? "the Jacobian callback returned non-finite entries"
                                   : "the Jacobian callback returned an error";
    return rc > 0 ? rc : rc == NDE_ENONFINITE ? NDE_ENONFINITE : NDE_ECALLBACK;
}
