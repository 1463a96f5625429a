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
