/* Events: sign changes of the conditions g_i across an accepted step, located by the
 * Illinois variant of regula falsi on the step's interpolant. */
#include "integrate/internal.h"

#include <float.h>
#include <math.h>

/* Iteration cap for locating an event time (Illinois converges superlinearly; this is
 * a guard against pathological event functions). */
#define MAX_EVENT_ITERS 200

int nde__int_eval_events(nde_solver *S, double s, const double *y, double *g)
{
    double t = S->dir * s;
    int rc = S->o.event(t, y, g, S->ode.user);
    if (rc < 0) return nde__int_fail(S, NDE_ECALLBACK, "event function returned %d at t = %g", rc, t);
    if (rc > 0)
        return nde__int_fail(S, NDE_ECALLBACK, "event function returned %d at t = %g (events cannot retry)", rc, t);
    return NDE_OK;
}

int nde__int_crossed(int direction, double ga, double gb)
{
    if (direction >= 0 && ga < 0.0 && gb >= 0.0) return 1;
    if (direction <= 0 && ga > 0.0 && gb <= 0.0) return 1;
    return 0;
}

/* Root of g_i on the interpolant in theta in (0, 1], to |dtheta| h <= event_tol + 4
 * ULP(s); returns the bracket end on the far side of the crossing. */
int nde__int_locate(nde_solver *S, size_t i, double s, double h, double *theta_out)
{
    double a = 0.0, b = 1.0, ga = S->g0[i], gb = S->g1[i];
    if (gb == 0.0) { *theta_out = 1.0; return NDE_OK; }   /* the root is the step end */
    double tol = (S->o.event_tol + 4.0 * DBL_EPSILON * fmax(fabs(s), fabs(s + h))) / h;
    int side = 0;
    for (int it = 0; it < MAX_EVENT_ITERS && b - a > tol; it++) {
        double c = (a * gb - b * ga) / (gb - ga);
        if (!(c > a && c < b)) c = 0.5 * (a + b);
        nde__int_poly_eval(S->P, S->degree, S->dim, c, S->yev);
        int rc = nde__int_eval_events(S, s + c * h, S->yev, S->gt);
        if (rc) return rc;
        double gc = S->gt[i];
        if ((gc >= 0.0) == (gb >= 0.0) && (gc > 0.0) == (gb > 0.0)) {
            b = c; gb = gc;
            if (side == -1) ga *= 0.5;
            side = -1;
        } else {
            a = c; ga = gc;
            if (side == 1) gb *= 0.5;
            side = 1;
        }
        if (gc == 0.0) { b = c; break; }
    }
    *theta_out = b;
    return NDE_OK;
}
