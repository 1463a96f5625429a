/* Argument validation of the integrate layer: every rejection names the argument and
 * its value, and happens before anything is computed or written. */
#include "integrate/internal.h"

#include <math.h>

static int all_finite(const double *v, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) { if (bad) *bad = i; return 0; }
    return 1;
}

#define FAIL(...) return nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, __VA_ARGS__)

int nde__int_check_setup(const nde_ode *ode, unsigned kind, const nde_method *m,
                         const nde_options *o, char *msg)
{
    size_t bad;
    if (!ode) FAIL("ode is NULL");
    if (ode->dim == 0) FAIL("ode->dim must be > 0, got 0");
    if (!ode->f) FAIL("ode->f (right-hand side) is NULL");
    if (!(m->ops->problems & kind))
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED,
                        "method %s is a %s method: it does not solve %s", m->name,
                        nde_method_kind_name(m->kind),
                        kind == NDE__INT_PROBLEM_SDE ? "SDEs" : kind == NDE__INT_PROBLEM_LANGEVIN ? "Langevin problems" : "ODEs");
    if (ode->mass && !(m->ops->features & NDE__INT_FEATURE_MASS))
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED,
                        "method %s (%s) cannot take a mass matrix: use a Rosenbrock or BDF method",
                        m->name, nde_method_kind_name(m->kind));
    if (ode->f_explicit && !(m->ops->features & NDE__INT_FEATURE_IMEX))
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED,
                        "method %s (%s) has no IMEX split for f_explicit: use kencarp3/4/5",
                        m->name, nde_method_kind_name(m->kind));
    if (ode->mass) {
        size_t nn;
        if (nde__size_mul(ode->dim, ode->dim, &nn)) FAIL("dim = %zu is too large for a mass matrix", ode->dim);
        if (!all_finite(ode->mass, nn, &bad))
            FAIL("mass[%zu] (row %zu, column %zu) is not finite", bad, bad / ode->dim, bad % ode->dim);
    }
    if ((o->jac_lower || o->jac_upper) && (o->jac_lower >= ode->dim || o->jac_upper >= ode->dim))
        FAIL("jac_lower = %zu and jac_upper = %zu must be < dim = %zu", o->jac_lower, o->jac_upper, ode->dim);
    if (!o->lin_setup != !o->lin_solve)
        FAIL("lin_setup and lin_solve must be given together (lin_setup %s, lin_solve %s)",
             o->lin_setup ? "set" : "NULL", o->lin_solve ? "set" : "NULL");
    if (o->lin_setup && !(m->ops->features & NDE__INT_FEATURE_LINSOLVE))
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED,
                        "method %s (%s) does not take a caller's linear solver (lin_setup, lin_solve): use "
                        "implicit_euler, kvaerno*, kencarp*, ros3p, rodas4, rodas5p or bdf",
                        m->name, nde_method_kind_name(m->kind));
    if (o->lin_setup && (o->jac_lower || o->jac_upper))
        FAIL("lin_setup/lin_solve and a banded Jacobian (jac_lower = %zu, jac_upper = %zu) are alternatives",
             o->jac_lower, o->jac_upper);
    if (!(o->rtol >= 0.0) || !isfinite(o->rtol)) FAIL("rtol must be >= 0 and finite, got %g", o->rtol);
    if (!(o->atol >= 0.0) || !isfinite(o->atol)) FAIL("atol must be >= 0 and finite, got %g", o->atol);
    if (!isfinite(o->dt0)) FAIL("dt0 must be finite, got %g", o->dt0);
    if (o->dtmin > 0.0 && o->dt0 != 0.0 && fabs(o->dt0) < o->dtmin)
        FAIL("|dt0| = %g is below dtmin = %g", fabs(o->dt0), o->dtmin);
    if (o->rtol > 0.0 && o->atol == 0.0) FAIL("atol must be > 0 for adaptive steps (rtol = %g), got 0", o->rtol);
    if (o->rtol == 0.0 && o->dt0 == 0.0 && !(o->step_ts && o->n_step_ts))
        FAIL("rtol == 0 asks for constant steps, which need dt0 != 0 (or step_ts)");
    if (o->rtol > 0.0 && m->embedded_order == 0)
        FAIL("method %s has no error estimate: use rtol = 0 with dt0 (constant steps)", m->name);
    if (o->save & ~(unsigned)(NDE_SAVE_T0 | NDE_SAVE_STEPS | NDE_SAVE_DENSE | NDE_SAVE_T1))
        FAIL("save has unknown flags 0x%x", o->save);
    if (o->n_ts && !o->ts) FAIL("ts is NULL but n_ts = %zu", o->n_ts);
    for (size_t i = 0; i < o->n_ts; i++)
        if (!isfinite(o->ts[i])) FAIL("ts[%zu] is not finite (%g)", i, o->ts[i]);
    if (o->n_step_ts && !o->step_ts) FAIL("step_ts is NULL but n_step_ts = %zu", o->n_step_ts);
    if (!all_finite(o->step_ts, o->n_step_ts, &bad)) FAIL("step_ts[%zu] is not finite", bad);
    if (o->n_jump_ts && !o->jump_ts) FAIL("jump_ts is NULL but n_jump_ts = %zu", o->n_jump_ts);
    if (!all_finite(o->jump_ts, o->n_jump_ts, &bad)) FAIL("jump_ts[%zu] is not finite", bad);
    if (o->n_events && !o->event) FAIL("event is NULL but n_events = %zu", o->n_events);
    if (!(o->event_tol >= 0.0)) FAIL("event_tol must be >= 0, got %g", o->event_tol);
    for (size_t i = 0; o->event_direction && i < o->n_events; i++)
        if (o->event_direction[i] < -1 || o->event_direction[i] > 1)
            FAIL("event_direction[%zu] must be -1, 0 or +1, got %d", i, o->event_direction[i]);
    if (!(o->pcoeff >= 0.0 && o->icoeff >= 0.0 && o->dcoeff >= 0.0) ||
        !isfinite(o->pcoeff + o->icoeff + o->dcoeff))
        FAIL("PID coefficients must be >= 0, got p=%g i=%g d=%g", o->pcoeff, o->icoeff, o->dcoeff);
    if (!(o->safety >= 0.0 && o->safety <= 1.0)) FAIL("safety must be in (0, 1], got %g", o->safety);
    if (!(o->factormin >= 0.0 && o->factormin < 1.0)) FAIL("factormin must be in (0, 1), got %g", o->factormin);
    if (!(o->factormax == 0.0 || o->factormax >= 1.0) || !isfinite(o->factormax))
        FAIL("factormax must be >= 1, got %g", o->factormax);
    if (!(o->factormin_accept >= 0.0 && o->factormin_accept <= 1.0))
        FAIL("factormin_accept must be in (0, 1], got %g", o->factormin_accept);
    if (!(o->dtmin >= 0.0) || !isfinite(o->dtmin)) FAIL("dtmin must be >= 0, got %g", o->dtmin);
    if (!(o->dtmax >= 0.0) || !isfinite(o->dtmax)) FAIL("dtmax must be >= 0, got %g", o->dtmax);
    if (o->dtmax > 0.0 && o->dtmin > o->dtmax) FAIL("dtmin = %g exceeds dtmax = %g", o->dtmin, o->dtmax);
    if (o->steady_state) {
        if (kind != NDE__INT_PROBLEM_ODE)
            return nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED,
                            "steady_state is an ODE event (an SDE's drift need not vanish where its law is stationary)");
        if (!(o->steady_rtol >= 0.0) || !isfinite(o->steady_rtol))
            FAIL("steady_rtol must be >= 0 and finite, got %g", o->steady_rtol);
        if (!(o->steady_atol >= 0.0) || !isfinite(o->steady_atol))
            FAIL("steady_atol must be >= 0 and finite, got %g", o->steady_atol);
        if ((o->steady_rtol > 0.0 ? o->steady_rtol : o->rtol) == 0.0 && (o->steady_atol > 0.0 ? o->steady_atol : o->atol) == 0.0)
            FAIL("steady_state needs a tolerance: steady_rtol and steady_atol are 0 and so are rtol and atol "
                 "(||f|| < 0 never holds)");
    }
    return NDE_OK;
}

int nde__int_check_span(const nde_ode *ode, double t0, double t1, const double *y0,
                        const nde_options *o, char *msg)
{
    size_t bad;
    if (!y0) FAIL("y0 is NULL");
    if (!isfinite(t0)) FAIL("t0 must be finite, got %g", t0);
    if (!isfinite(t1)) FAIL("t1 must be finite, got %g", t1);
    if (t0 == t1) FAIL("t1 must differ from t0, both are %g", t0);
    if (!all_finite(y0, ode->dim, &bad)) FAIL("y0[%zu] is not finite (%g)", bad, y0[bad]);
    if (o->dt0 != 0.0 && (o->dt0 > 0.0) != (t1 > t0))
        FAIL("dt0 = %g points away from t1 = %g (t0 = %g)", o->dt0, t1, t0);
    double lo = t0 < t1 ? t0 : t1, hi = t0 < t1 ? t1 : t0, dir = t1 > t0 ? 1.0 : -1.0;
    /* ts a few ULP outside (linspace round-off) count as the end point */
    double scale = fmax(fabs(t0), fabs(t1));
    double win = nde__time_shift(scale, (int)NDE__TIME_ULPS) - scale;
    for (size_t i = 0; i < o->n_ts; i++) {
        double t = o->ts[i];
        if (t < lo - win || t > hi + win)
            FAIL("ts[%zu] = %.17g lies outside [t0, t1] = [%.17g, %.17g]", i, t, t0, t1);
        if (i && dir * (t - o->ts[i - 1]) < 0.0)
            FAIL("ts is not monotone in the direction of integration: ts[%zu] = %.17g after ts[%zu] = %.17g",
                 i, t, i - 1, o->ts[i - 1]);
    }
    return NDE_OK;
}
