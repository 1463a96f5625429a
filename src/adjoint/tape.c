/* The tape of discretise-then-optimise gradients (NDE_ADJOINT_CHECKPOINT): hooks in the
 * integrate loop record every accepted step (its internal time and size), the start
 * states of some of them (online thinning: when the store is full every other state is
 * dropped and the stride doubles), where every saved point came from (a step boundary,
 * or a step's interpolant at theta) and the regulariser terms. The backward pass walks
 * the steps from the last: each segment between kept states is reversed by recursive
 * bisection (recompute the state at the middle, reverse the second half, then the
 * first), one step at a time by erk_reverse.c. */
#include "adjoint/internal.h"
#include "random/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int nde__adj_fail(nde_tape *t, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    if (t->o.errbuf && t->o.errbuf_size) snprintf(t->o.errbuf, t->o.errbuf_size, "%s", t->message);
    return status;
}

int nde__adj_workspace(nde_tape *t, size_t bytes)
{
    if (bytes <= t->work_bytes) return NDE_OK;
    void *q = nde__alloc(&t->al, bytes);
    if (!q) return nde__adj_fail(t, NDE_ENOMEM, "out of memory allocating the %zu-byte backward workspace", bytes);
    nde__free(&t->al, t->work, t->work_bytes);
    t->work = q;
    t->work_bytes = bytes;
    return NDE_OK;
}

int nde__adj_grow(nde_tape *t, double **p, size_t *cap, size_t unit, size_t need)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 64, bytes;
    while (ncap < need) {
        if (ncap > (size_t)-1 / 2) return -1;
        ncap *= 2;
    }
    if (nde__size_mul(ncap, unit, &bytes) || nde__size_mul(bytes, sizeof(double), &bytes)) return -1;
    double *q = nde__realloc(&t->al, *p, *cap * unit * sizeof(double), bytes);
    if (!q) return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

nde_tape *nde_tape_create(const nde_adjoint_options *opts)
{
    static const nde_adjoint_options defaults = NDE_ADJOINT_OPTIONS_INIT;
    const nde_adjoint_options *o = opts ? opts : &defaults;
    char msg[NDE_MESSAGE_MAX] = "";
    int rc = NDE_OK;
    if (o->kind < NDE_ADJOINT_CHECKPOINT || o->kind > NDE_ADJOINT_IMPLICIT)
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "unknown adjoint kind %d", o->kind);
    else if (o->checkpoints == 1)
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "checkpoints must be >= 2 (or 0: automatic), got 1");
    else if (!(o->rtol >= 0.0) || !(o->atol >= 0.0) || !isfinite(o->rtol + o->atol))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "rtol and atol must be >= 0 and finite, got %g and %g", o->rtol, o->atol);
    else if (!(o->reg_error >= 0.0) || !isfinite(o->reg_error) || !(o->reg_stiffness >= 0.0) ||
             !isfinite(o->reg_stiffness))
        rc = nde__msg(msg, sizeof msg, NDE_EINVAL, "regulariser weights must be >= 0 and finite, got %g and %g",
                      o->reg_error, o->reg_stiffness);
    if (rc) {
        if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", msg);
        return NULL;
    }
    nde_allocator al = nde__allocator_resolve(o->allocator);
    nde_tape *t = nde__calloc(&al, 1, sizeof *t);
    if (!t) {
        if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "out of memory allocating the tape");
        return NULL;
    }
    t->o = *o;
    t->o.allocator = NULL;
    t->al = al;
    t->ck_limit = o->checkpoints ? o->checkpoints : NDE_CHECKPOINTS_DEFAULT;
    /* the reversible adjoint keeps (s, h) per step, and the regulariser terms only
     * when they are asked for */
    t->step_unit = o->kind == NDE_ADJOINT_REVERSIBLE && o->reg_error == 0.0 && o->reg_stiffness == 0.0 ? 2
                                                                                                     : STEP_DOUBLES;
    return t;
}

size_t nde__adj_tape_bytes(const nde_tape *t)
{
    return sizeof *t + (t->cap_steps * t->step_unit + t->cap_ck * t->ck_dim + 2 * t->cap_src +
                        2 * t->cap_heap + t->fwd_n + t->y_end_n + t->cap_ts + t->cap_bs + 4 * t->rv_dim +
                        t->cap_seg * (1 + 2 * t->rv_dim) + t->cap_ev) * sizeof(double) + t->work_bytes;
}

void nde_tape_free(nde_tape *t)
{
    if (!t) return;
    nde_allocator al = t->al;
    nde__free(&al, t->steps, t->cap_steps * t->step_unit * sizeof(double));
    nde__free(&al, t->ck, t->cap_ck * t->ck_dim * sizeof(double));
    nde__free(&al, t->src, t->cap_src * 2 * sizeof(double));
    nde__free(&al, t->heap, t->cap_heap * 2 * sizeof(double));
    nde__free(&al, t->fwd, t->fwd_n * sizeof(double));
    nde__free(&al, t->work, t->work_bytes);
    nde__free(&al, t->ev, t->cap_ev * sizeof(double));
    nde__adj_backsolve_release(t);
    nde__adj_reversible_release(t);
    nde__free(&al, t, sizeof *t);
}

const char *nde_tape_message(const nde_tape *t) { return t ? t->message : "tape is NULL"; }

/* ---- forward: the hooks --------------------------------------------------------------- */

/* Keeps the state at the start of step k when k is on the stride, thinning when full. */
int nde__adj_keep_state(nde_tape *t, size_t k, const double *y)
{
    const size_t dim = t->p.dim;
    if (k % t->stride) return 0;
    if (t->n_ck == t->ck_limit) {   /* full: keep every other state, double the stride */
        size_t j = 0;
        for (size_t i = 0; i < t->n_ck; i += 2, j++)
            if (i != j) memcpy(t->ck + j * dim, t->ck + i * dim, dim * sizeof *t->ck);
        t->n_ck = j;
        t->stride *= 2;
        if (k % t->stride) return 0;
    }
    if (t->n_ck == t->cap_ck && nde__adj_grow(t, &t->ck, &t->cap_ck, dim, t->n_ck + 1)) return -1;
    memcpy(t->ck + t->n_ck * dim, y, dim * sizeof *y);
    t->n_ck++;
    return 0;
}

/* Local sampling: the step's key decides whether it is among the reg_steps lowest. */
void nde__adj_heap_offer(nde_tape *t, double key, size_t k)
{
    double *H = t->heap;
    size_t n = t->n_heap;
    if (n < t->o.reg_steps) {   /* sift up */
        size_t i = n++;
        while (i > 0 && H[2 * ((i - 1) / 2)] < key) {
            H[2 * i] = H[2 * ((i - 1) / 2)]; H[2 * i + 1] = H[2 * ((i - 1) / 2) + 1];
            i = (i - 1) / 2;
        }
        H[2 * i] = key; H[2 * i + 1] = (double)k;
        t->n_heap = n;
        return;
    }
    if (key >= H[0]) return;
    size_t i = 0;   /* replace the largest, sift down */
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        double kb = key;
        if (l < n && H[2 * l] > kb) { big = l; kb = H[2 * l]; }
        if (r < n && H[2 * r] > kb) big = r;
        if (big == i) break;
        H[2 * i] = H[2 * big]; H[2 * i + 1] = H[2 * big + 1];
        i = big;
    }
    H[2 * i] = key; H[2 * i + 1] = (double)k;
}

static int on_accept(void *ctx, nde_solver *S, double s, double h, const double *y, const double *y1)
{
    nde_tape *t = ctx;
    const size_t k = t->n_steps, dim = t->p.dim;
    if (nde__adj_grow(t, &t->steps, &t->cap_steps, STEP_DOUBLES, k + 1) || nde__adj_keep_state(t, k, y)) {
        t->failed = 1;
        return NDE_ENOMEM;
    }
    double *r = t->steps + k * STEP_DOUBLES;
    r[STEP_S] = s;
    r[STEP_H] = h;
    /* the regulariser terms, from the stages the stepper still holds */
    if (nde__adj_is_dirk(t->p.m)) {
        nde__adj_dirk_regularisers(&t->p, nde__dirk_stages(&S->st), nde__dirk_explicit_stages(&S->st), h, y, y1,
                                   t->fwd, t->fwd + dim, &r[STEP_RE], &r[STEP_RS]);
        goto recorded;
    }
    if (nde__adj_is_gbs(t->p.m)) {   /* no regularisers (refused before solving): the lines */
        r[STEP_RE] = 0.0;
        r[STEP_LINES] = (double)nde__gbs_lines(&S->st);
        goto recorded;
    }
    if (nde__adj_is_radau(t->p.m)) {   /* no regularisers (refused before solving) */
        r[STEP_RE] = r[STEP_RS] = 0.0;
        goto recorded;
    }
    if (nde__adj_is_ros(t->p.m)) {
        int rc = nde__adj_ros_regularisers(&t->p, nde__ros_stages(&S->st), s, h, y, y1, t->o.reg_stiffness > 0.0,
                                           t->fwd, t->fwd + dim, t->fwd + 2 * dim, t->fwd + 3 * dim, &r[STEP_RE],
                                           &r[STEP_RS]);
        if (rc) { t->failed = 1; return rc; }
        goto recorded;
    }
    double *const *K = nde__erk_stepper_stages(&S->st);
    double *Ya = NULL, *Yb = NULL;
    int a, b;
    if (nde__adj_stiff_stages(t->p.m, &a, &b)) {
        Yb = t->fwd;
        nde__adj_stage_input(&t->p, K, y, h, b, Yb);
        if (t->p.m->fsal) Ya = (double *)y1;
        else { Ya = t->fwd + dim; nde__adj_stage_input(&t->p, K, y, h, a, Ya); }
    }
    nde__adj_step_regularisers(&t->p, K, h, y, y1, Ya, Yb, &r[STEP_RE], &r[STEP_RS]);
recorded:
    r[STEP_SELECTED] = 1.0;
    if (t->o.reg_steps)
        nde__adj_heap_offer(t, nde__adj_step_key(t, k), k);
    t->n_steps++;
    return 0;
}

int nde__adj_on_save(void *ctx, nde_solver *S, int inside, double theta)
{
    (void)S;
    nde_tape *t = ctx;
    if (nde__adj_grow(t, &t->src, &t->cap_src, 2, t->n_src + 1)) { t->failed = 1; return NDE_ENOMEM; }
    double *r = t->src + 2 * t->n_src++;
    if (inside) { r[0] = (double)(t->n_steps - 1); r[1] = theta; }
    else { r[0] = (double)t->n_steps; r[1] = -1.0; }
    return 0;
}

/* The central differences of the user's event function step by 2^EVENT_FD_EXP times
 * the power of two at or below max(1, |x|): their error is O(step^2) for smooth g, their
 * round-off O(eps / step), and a relative step near cbrt(eps) = 6.1e-6 balances the two
 * (Numerical Recipes 5.7); a power of two makes x +- step exact, so the differences are
 * symmetric (and exact for quadratics, which finds g = -(t - 1)^2's tangency at 1). */
#define EVENT_FD_EXP (-17)   /* 2^-17 = 7.6e-6 */

/* A terminal user event ended the checkpointed solve in its last step: that step and
 * theta, the saved points that are the event state (the trailing ones recorded as the
 * state after the last step: the event point, and ts within the time window of it),
 * re-recorded as the interpolant at theta, and grad_y g, dg/dt of the firing condition
 * at the event by central differences of the user's event function. NDE_OK,
 * NDE_ENOMEM or NDE_ECALLBACK (the message set). */
static int event_record(nde_tape *t, const nde_options *o, const nde_solution *sol)
{
    const size_t dim = t->p.dim, ne = o->n_events, last = sol->n_event_hits - 1;
    const int which = sol->event_which[last];
    const size_t k = t->n_steps - 1;
    const double *r = t->steps + k * STEP_DOUBLES;
    const double te = sol->event_t[last], *ye = sol->event_y + last * dim;
    double theta = (t->p.dir * te - r[STEP_S]) / r[STEP_H];
    theta = theta < 0.0 ? 0.0 : theta > 1.0 ? 1.0 : theta;
    size_t n = 0;
    for (size_t i = t->n_src; i-- > 0; n++) {
        double *q = t->src + 2 * i;
        if (q[1] >= 0.0 || (size_t)q[0] != t->n_steps) break;
        q[0] = (double)k; q[1] = theta;
    }
    if (n == 0) return NDE_OK;   /* no saved point is the event state: nothing depends on t* */
    size_t need;
    if (nde__size_mul(3, dim, &need) || nde__size_muladd(&need, 2, ne) || nde__adj_grow(t, &t->ev, &t->cap_ev, 1, need))
        return nde__adj_fail(t, NDE_ENOMEM, "out of memory keeping the event's gradient");
    double *grad = t->ev, *yp = t->ev + 2 * dim, *gp = yp + dim, *gm = gp + ne;
    void *user = t->ode.user;
    memcpy(yp, ye, dim * sizeof *yp);
    int rc = 0;
    for (size_t d = 0; d <= dim && rc == 0; d++) {   /* d == dim: the time */
        double x = d < dim ? ye[d] : te, step = ldexp(1.0, ilogb(fmax(1.0, fabs(x))) + EVENT_FD_EXP);
        double xp = x + step, xm = x - step;
        if (d < dim) yp[d] = xp;
        rc = o->event(d < dim ? te : xp, yp, gp, user);
        if (d < dim) yp[d] = xm;
        if (rc == 0) rc = o->event(d < dim ? te : xm, yp, gm, user);
        if (d < dim) yp[d] = x;
        double der = (gp[which] - gm[which]) / (xp - xm);
        if (d < dim) grad[d] = der; else t->ev_gt = der;
    }
    if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "the event function returned %d differentiating event %d at t = %g",
                                 rc, which, te);
    t->ev_on = 1;
    t->t_star = te;
    t->ev_step = k;
    t->ev_theta = theta;
    t->n_ev_src = n;
    return NDE_OK;
}

/* nde__int_solve_once with the checkpointed adjoint's hooks, and with the implicit
 * families' stages solved to rounding (nde__int_stepper.exact_stages): the reverse pass
 * differentiates the converged stage equations, and the solve is then the smooth
 * function of y0 and theta that it differentiates. */
static int solve_exact_stages(const nde_ode *ode, double t0, double t1, const double *y0,
                              const nde_options *o, nde_solution *sol, nde_tape *t)
{
    memset(sol, 0, sizeof *sol);
    sol->alloc_ = nde__allocator_resolve(o->allocator);
    sol->dim = ode ? ode->dim : 0;
    int status;
    nde_solver *S = nde__int_create(ode, o, &status, sol->message_);
    if (!S) {
        sol->status = status;
        if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", sol->message_);
        return status;
    }
    S->on_accept = on_accept;
    S->on_save = nde__adj_on_save;
    S->hook_ctx = t;
    S->st.exact_stages = 1;
    int rc = nde_solver_solve(S, t0, t1, y0);
    *sol = S->sol;                                  /* the output moves to the caller */
    memset(&S->sol, 0, sizeof S->sol);
    nde_solver_free(S);
    return rc;
}

int nde_ode_solve_taped(const nde_ode *ode, double t0, double t1, const double *y0,
                        const nde_options *opts, nde_tape *tape, nde_solution *sol)
{
    static const nde_options defaults = NDE_OPTIONS_INIT;
    if (!sol) return NDE_EINVAL;
    memset(sol, 0, sizeof *sol);
    const nde_options *o = opts ? opts : &defaults;
    int rc = NDE_OK;
    const nde_method *m = o->method ? o->method : nde_method_find("tsit5");
    char *msg = sol->message_;
    if (!tape) rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "tape is NULL");
    else if (tape->o.kind == NDE_ADJOINT_IMPLICIT) {   /* any method, any events: only y* matters */
        if (!o->steady_state)
            rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "NDE_ADJOINT_IMPLICIT differentiates the steady state the "
                          "solve ends at: set opts->steady_state");
        else if (tape->o.reg_error > 0.0 || tape->o.reg_stiffness > 0.0)
            rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "the regularisers need NDE_ADJOINT_CHECKPOINT or "
                          "NDE_ADJOINT_REVERSIBLE (the implicit adjoint keeps no steps)");
        else if (ode && ode->f_explicit && !ode->vjp_explicit)   /* J is d(f + f_explicit)/dy */
            rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "NDE_ADJOINT_IMPLICIT with an IMEX split (ode->f_explicit) "
                          "needs ode->vjp_explicit, the VJP of f_explicit (the steady state is one of f + f_explicit)");
    } else if (tape->o.kind == NDE_ADJOINT_REVERSIBLE && m && m->kind != NDE_METHOD_REVERSIBLE)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "NDE_ADJOINT_REVERSIBLE needs an algebraically "
                      "reversible method (reversible_heun), got %s", m->name);
    else if (tape->o.kind == NDE_ADJOINT_BACKSOLVE && (tape->o.reg_error > 0.0 || tape->o.reg_stiffness > 0.0))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "the regularisers need NDE_ADJOINT_CHECKPOINT or "
                      "NDE_ADJOINT_REVERSIBLE (backsolve keeps no steps to differentiate)");
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && m && m->kind == NDE_METHOD_REVERSIBLE)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "method %s is differentiated by NDE_ADJOINT_REVERSIBLE "
                      "(the checkpointed adjoint covers explicit Runge-Kutta)", m->name);
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && m && m->kind != NDE_METHOD_EXPLICIT_RK && !nde__adj_is_dirk(m) &&
             !nde__adj_is_ros(m) && !nde__adj_is_radau(m) && !nde__adj_is_gbs(m))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "method %s has no checkpointed reverse pass yet (%s); "
                      "NDE_ADJOINT_BACKSOLVE differentiates every ODE method", m->name,
                      m->kind == NDE_METHOD_MULTISTEP ? "a multistep method carries its backward differences and its "
                                                        "order from step to step, which the tape does not keep"
                      : m->kind == NDE_METHOD_SWITCHING ? "it switches between methods mid-solve"
                                                        : "explicit Runge-Kutta, gbs, the diagonally implicit family, "
                                                          "the Rosenbrock methods and radau5 only");
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && m && nde__adj_is_gbs(m) &&
             (tape->o.reg_error > 0.0 || tape->o.reg_stiffness > 0.0 || o->n_ts > 0))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "gbs's reverse pass differentiates its steps, not %s",
                      o->n_ts > 0 ? "its dense interpolant (ts saves points inside steps: put the ts into step_ts, "
                                    "or save NDE_SAVE_STEPS)"
                                  : "the regularisers (its error estimate is the extrapolation table's)");
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && m && nde__adj_is_radau(m) &&
             (tape->o.reg_error > 0.0 || tape->o.reg_stiffness > 0.0))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "the regularisers are not differentiated for radau5 "
                      "(its error estimate goes through the forward's simplified Newton matrix)");
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && m && nde__adj_is_ros(m) && (o->jac_lower || o->jac_upper))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "method %s with a banded Jacobian (jac_lower, jac_upper) "
                      "has no reverse pass (its backward pass is dense)", m->name);
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && m && nde__adj_is_dirk(m) && ode && ode->f_explicit &&
             !ode->vjp_explicit)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "method %s with an IMEX split (ode->f_explicit) needs "
                      "ode->vjp_explicit, the VJP of f_explicit, for its checkpointed reverse pass", m->name);
    else if (tape->o.kind == NDE_ADJOINT_BACKSOLVE && ode && (ode->mass || ode->f_explicit))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "NDE_ADJOINT_BACKSOLVE with %s is not supported (the "
                      "augmented adjoint system has neither)", ode->mass ? "a mass matrix" : "an IMEX split (f_explicit)");
    else if (o->n_events && tape->o.kind != NDE_ADJOINT_CHECKPOINT)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "events in a taped solve need NDE_ADJOINT_CHECKPOINT "
                      "(which differentiates the event time) or NDE_ADJOINT_IMPLICIT");
    else if (o->n_events && m && m->kind != NDE_METHOD_EXPLICIT_RK)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "events in a checkpointed taped solve need an explicit "
                      "Runge-Kutta method (the event time is differentiated through its interpolant), got %s", m->name);
    else if (m && tape->o.reg_error > 0.0 && m->embedded_order == 0)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "reg_error needs an error estimate, which method %s lacks", m->name);
    else if (tape->o.reg_error > 0.0 && o->rtol == 0.0 && !(o->atol > 0.0))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "reg_error with constant steps needs atol > 0 (the error's scale)");
    if (rc) {
        sol->status = rc;
        if (tape) nde__adj_fail(tape, rc, "%s", msg);
        if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", msg);
        return rc;
    }
    nde_tape *t = tape;
    t->have = 0;
    t->is_sde = 0;
    t->failed = 0;
    t->message[0] = '\0';
    size_t dim = ode && ode->dim ? ode->dim : 1;
    /* the problem in internal time (valid once the arguments pass validation) */
    t->ode = ode ? *ode : (nde_ode){ 0 };
    t->p.m = m;
    t->p.tab = nde__erk_tab(m);
    t->p.dim = dim;
    t->p.np = ode ? ode->n_params : 0;
    t->p.dir = t1 >= t0 ? 1.0 : -1.0;
    t->rev = (nde__int_rev){ t->ode.f, t->ode.user, dim };
    t->p.f = t->p.dir > 0 ? t->ode.f : nde__int_rev_rhs;
    t->p.fuser = t->p.dir > 0 ? t->ode.user : (void *)&t->rev;
    t->p.vjp = t->ode.vjp;
    t->rev_e = (nde__int_rev){ t->ode.f_explicit, t->ode.user, dim };
    t->p.fe = !t->ode.f_explicit ? NULL : t->p.dir > 0 ? t->ode.f_explicit : nde__int_rev_rhs;
    t->p.feuser = t->p.dir > 0 ? t->ode.user : (void *)&t->rev_e;
    t->p.vjp_e = t->ode.vjp_explicit;
    t->p.jac = t->ode.jac;
    t->p.autonomous = o->autonomous;
    t->p.user = t->ode.user;
    t->p.rtol = o->rtol;
    t->p.atol = o->atol;
    /* records: states and the forward hook's scratch are dim-sized */
    if (t->ck_dim != dim) {
        nde__free(&t->al, t->ck, t->cap_ck * t->ck_dim * sizeof(double));
        nde__free(&t->al, t->fwd, t->fwd_n * sizeof(double));
        t->ck = t->fwd = NULL;
        t->cap_ck = t->fwd_n = 0;
        t->ck_dim = dim;
    }
    int fail_mem = 0;
    if (!t->fwd) {
        t->fwd = nde__alloc(&t->al, 4 * dim * sizeof(double));
        if (t->fwd) t->fwd_n = 4 * dim; else fail_mem = 1;
    }
    if (!fail_mem && t->o.reg_steps && t->cap_heap < t->o.reg_steps) {
        nde__free(&t->al, t->heap, t->cap_heap * 2 * sizeof(double));
        t->cap_heap = 0;
        t->heap = nde__calloc(&t->al, t->o.reg_steps, 2 * sizeof(double));
        if (t->heap) t->cap_heap = t->o.reg_steps; else fail_mem = 1;
    }
    if (fail_mem) {
        sol->status = nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the tape's records");
        if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", msg);
        return nde__adj_fail(t, NDE_ENOMEM, "%s", msg);
    }
    t->n_steps = t->n_ck = t->n_src = t->n_heap = 0;
    t->stride = 1;
    t->ev_on = 0;
    const int backsolve = t->o.kind == NDE_ADJOINT_BACKSOLVE, reversible = t->o.kind == NDE_ADJOINT_REVERSIBLE;
    const int implicit = t->o.kind == NDE_ADJOINT_IMPLICIT;
    if (implicit) {   /* nothing per step: y* is read from the steady-state event's record */
        t->t1 = t1;
        rc = nde__int_solve_once(ode, t0, t1, y0, o, sol, NULL, NULL, t);
    } else if (reversible) {   /* the steps, the end state and the restarts: O(1) in the steps */
        if (nde__adj_reversible_prepare(t)) {
            sol->status = nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the tape's records");
            return nde__adj_fail(t, NDE_ENOMEM, "%s", msg);
        }
        rc = nde__int_solve_once(ode, t0, t1, y0, o, sol, nde__adj_reversible_accept, nde__adj_on_save, t);
    } else if (backsolve) {   /* only the end state and the saved times: O(1) in the steps */
        if (t->y_end_n != dim) {
            nde__free(&t->al, t->y_end, t->y_end_n * sizeof(double));
            t->y_end = nde__alloc(&t->al, dim * sizeof(double));
            t->y_end_n = t->y_end ? dim : 0;
            if (!t->y_end) {
                sol->status = nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the tape's records");
                return nde__adj_fail(t, NDE_ENOMEM, "%s", msg);
            }
        }
        if (y0 && ode && ode->dim == dim) memcpy(t->y_end, y0, dim * sizeof(double));
        t->t0 = t0; t->t1 = t1;
        if (nde__adj_backsolve_prepare(t, o, m)) {
            sol->status = nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory keeping the forward options");
            if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", msg);
            return nde__adj_fail(t, NDE_ENOMEM, "%s", msg);
        }
        rc = nde__int_solve_once(ode, t0, t1, y0, o, sol, nde__adj_backsolve_accept, NULL, t);
    } else {
        rc = solve_exact_stages(ode, t0, t1, y0, o, sol, t);
    }
    t->solves++;
    /* NDE_EVENT: a terminal event (checkpointed, implicit) or the steady-state event ended
     * the solve, a normal end */
    if (rc != NDE_OK && rc != NDE_EVENT) {
        nde__adj_fail(t, rc, "the taped solve failed: %s", sol->message_);
        return rc;
    }
    if (backsolve && rc == NDE_EVENT) t->t1 = sol->event_t[sol->n_event_hits - 1];   /* where it ended */
    /* the regularisers (local: only the sampled steps); backsolve keeps no steps */
    t->r_error = t->r_stiff = 0.0;
    /* steps carry their terms (gbs's keep their lines instead) */
    const int have_reg = !backsolve && !implicit && t->step_unit == STEP_DOUBLES && !nde__adj_is_gbs(m);
    if (have_reg && t->o.reg_steps) {
        for (size_t k = 0; k < t->n_steps; k++) t->steps[k * STEP_DOUBLES + STEP_SELECTED] = 0.0;
        for (size_t i = 0; i < t->n_heap; i++) t->steps[(size_t)t->heap[2 * i + 1] * STEP_DOUBLES + STEP_SELECTED] = 1.0;
    }
    for (size_t k = 0; have_reg && k < t->n_steps; k++) {
        const double *r = t->steps + k * STEP_DOUBLES;
        if (r[STEP_SELECTED] == 0.0) continue;
        t->r_error += r[STEP_RE];
        t->r_stiff += r[STEP_RS];
    }
    t->n_saved = sol->n;
    if (backsolve) {
        if (nde__adj_grow(t, &t->ts, &t->cap_ts, 1, sol->n ? sol->n : 1)) {
            sol->status = nde__msg(sol->message_, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory keeping the saved times");
            if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", sol->message_);
            return nde__adj_fail(t, NDE_ENOMEM, "%s", sol->message_);
        }
        memcpy(t->ts, sol->t, sol->n * sizeof *t->ts);
    }
    if (!backsolve && !implicit && !reversible && rc == NDE_EVENT &&
        sol->event_which[sol->n_event_hits - 1] != NDE_EVENT_STEADY_STATE) {
        int st = event_record(t, o, sol);
        if (st) {
            sol->status = nde__msg(sol->message_, NDE_MESSAGE_MAX, st, "%s", t->message);
            if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", sol->message_);
            return st;
        }
    }
    if (implicit && nde__adj_implicit_record(t, rc, sol)) {
        sol->status = nde__msg(sol->message_, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory keeping the steady state");
        if (o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", sol->message_);
        return nde__adj_fail(t, NDE_ENOMEM, "%s", sol->message_);
    }
    t->have = 1;
    memset(&t->stats, 0, sizeof t->stats);
    t->stats.steps = t->n_steps;
    t->stats.checkpoints = t->n_ck;
    t->stats.stride = t->stride;
    t->stats.bytes = nde__adj_tape_bytes(t);
    return rc;
}

int nde_tape_regularisers(const nde_tape *t, double *r_error, double *r_stiffness)
{
    if (!t || !t->have) return NDE_EINVAL;
    if (r_error) *r_error = t->r_error;
    if (r_stiffness) *r_stiffness = t->r_stiff;
    return NDE_OK;
}

int nde_tape_stats(const nde_tape *t, nde_adjoint_stats *stats)
{
    if (!t || !stats || !t->have) return NDE_EINVAL;
    *stats = t->stats;
    return NDE_OK;
}

/* ---- backward ------------------------------------------------------------------------------ */

typedef struct backward {
    nde_tape *t;
    nde__adj_step w;                 /* explicit RK */
    nde__adj_dirk *dw;               /* diagonally implicit; NULL otherwise */
    nde__adj_ros *rw;                /* Rosenbrock; NULL otherwise */
    nde__adj_radau *qw;              /* radau5; NULL otherwise */
    nde__adj_gbs *gw;                /* gbs; NULL otherwise */
    double *ybar;                    /* running cotangent (dim) */
    double *theta_bar;               /* np, or NULL */
    const double *dL_dy;             /* n_saved x dim, or NULL */
    double **pool;                   /* recursion states */
    size_t depth;
    size_t isrc;                     /* saved points not yet consumed: [0, isrc) */
    /* the interpolated points of the current step */
    double *theta_in; const double **cot_in; size_t cap_in;
    double grazing;                  /* G' of a tangential event (event_failed) */
    int event_failed;
} backward;

static void axpy_cot(double *y, const double *x, size_t dim)
{
    for (size_t d = 0; d < dim; d++) y[d] += x[d];
}

/* Adds the cotangents of the saved points that are the state at boundary k. */
static void take_boundary(backward *B, size_t k)
{
    const nde_tape *t = B->t;
    const size_t dim = t->p.dim;
    while (B->isrc > 0) {
        const double *r = t->src + 2 * (B->isrc - 1);
        if (r[1] >= 0.0 || (size_t)r[0] != k) break;
        if (B->dL_dy) axpy_cot(B->ybar, B->dL_dy + (B->isrc - 1) * dim, dim);
        B->isrc--;
    }
}

/* Step k from y0 once more, its end into the family's scratch (step_end). */
static int step_forward(backward *B, size_t k, const double *y0, int dense)
{
    const double *r = B->t->steps + k * STEP_DOUBLES;
    const double s = r[STEP_S], h = r[STEP_H];
    if (B->gw) return nde__adj_gbs_forward(&B->t->p, B->gw, (int)r[STEP_LINES], s, h, y0);
    if (B->dw) return nde__adj_dirk_forward(&B->t->p, B->dw, s, h, y0, dense);
    if (B->rw) return nde__adj_ros_forward(&B->t->p, B->rw, s, h, y0, dense);
    if (B->qw) return nde__adj_radau_forward(&B->t->p, B->qw, s, h, y0, dense);
    return nde__adj_step_forward(&B->t->p, &B->w, s, h, y0, dense);
}

static const double *step_end(const backward *B)
{
    return B->dw ? B->dw->y1 : B->rw ? B->rw->y1 : B->qw ? B->qw->y1 : B->gw ? B->gw->y1 : B->w.y1;
}

static int reverse_step(backward *B, size_t k, const double *y0)
{
    nde_tape *t = B->t;
    const double *r = t->steps + k * STEP_DOUBLES;
    const double s = r[STEP_S], h = r[STEP_H];
    take_boundary(B, k + 1);
    /* the points saved from this step's interpolant; a terminal event's state points
     * (the last n_ev_src) are summed into ybar_ev */
    const size_t dim = t->p.dim;
    const int ev = t->ev_on && k == t->ev_step && B->dL_dy;
    double *ybar_ev = ev ? t->ev + dim : NULL;
    if (ev) memset(ybar_ev, 0, dim * sizeof *ybar_ev);
    size_t n_in = 0;
    while (B->isrc > 0) {
        const double *q = t->src + 2 * (B->isrc - 1);
        if (q[1] < 0.0 || (size_t)q[0] != k) break;
        if (B->dL_dy) {
            const double *c = B->dL_dy + (B->isrc - 1) * dim;
            if (ev && B->isrc - 1 >= t->n_src - t->n_ev_src) axpy_cot(ybar_ev, c, dim);
            else {
                B->theta_in[n_in] = q[1];
                B->cot_in[n_in] = c;
                n_in++;
            }
        }
        B->isrc--;
    }
    int selected = r[STEP_SELECTED] != 0.0;
    double we = selected ? t->o.reg_error : 0.0, ws = selected ? t->o.reg_stiffness : 0.0;
    if (B->gw) {   /* recomputed line by line inside its reverse */
        t->stats.recomputed++;
        return nde__adj_gbs_reverse(&t->p, B->gw, (int)r[STEP_LINES], s, h, y0, B->ybar, B->theta_bar);
    }
    int rc = step_forward(B, k, y0, n_in > 0 || ev);
    if (rc) return rc;
    if (ev) {
        /* Y = P(th(x); x) with g(t(th), P(th)) = 0 (th: the event's theta): dY/dx = dP/dx +
         * P' dth/dx, dth/dx = -(grad g . dP/dx) / G', G' = dg/dt dir h + grad g . P', so
         * the event point's cotangent Ybar acts on dP/dx as Ybar - (Ybar . P' / G') grad g */
        const double *grad = t->ev;
        double *rate = t->ev + 2 * dim, num = 0.0, den = t->ev_gt * t->p.dir * h;
        nde__adj_interp_rate(&t->p, &B->w, h, y0, t->ev_theta, rate);
        for (size_t d = 0; d < dim; d++) { num += ybar_ev[d] * rate[d]; den += grad[d] * rate[d]; }
        if (num != 0.0 && (!(fabs(den) > 0.0) || !isfinite(num / den))) {
            B->event_failed = 1;
            B->grazing = den;
            return -1;
        }
        const double c = num != 0.0 ? num / den : 0.0;
        for (size_t d = 0; d < dim; d++) ybar_ev[d] -= c * grad[d];
        B->theta_in[n_in] = t->ev_theta;
        B->cot_in[n_in] = ybar_ev;
        n_in++;
    }
    t->stats.recomputed++;
    if (B->dw)
        return nde__adj_dirk_reverse(&t->p, B->dw, s, h, y0, B->ybar, n_in, B->theta_in, B->cot_in, we, ws,
                                     B->theta_bar);
    if (B->rw)
        return nde__adj_ros_reverse(&t->p, B->rw, s, h, y0, B->ybar, n_in, B->theta_in, B->cot_in, we, ws,
                                    B->theta_bar);
    if (B->qw) return nde__adj_radau_reverse(&t->p, B->qw, s, h, y0, B->ybar, n_in, B->theta_in, B->cot_in, B->theta_bar);
    return nde__adj_step_reverse(&t->p, &B->w, s, h, y0, B->ybar, n_in, B->theta_in, B->cot_in, we, ws,
                                 B->theta_bar);
}

/* Reverses steps b-1 .. a given the state ya at boundary a; level indexes the pool. */
static int reverse_range(backward *B, size_t a, size_t b, const double *ya, size_t level)
{
    if (b - a == 1) return reverse_step(B, a, ya);
    nde_tape *t = B->t;
    const size_t dim = t->p.dim, mid = a + (b - a) / 2;
    double *ym = B->pool[level];
    memcpy(ym, ya, dim * sizeof *ym);
    for (size_t k = a; k < mid; k++) {   /* recompute the state at mid */
        int rc = step_forward(B, k, ym, 0);
        if (rc) return rc;
        memcpy(ym, step_end(B), dim * sizeof *ym);
        t->stats.recomputed++;
    }
    int rc = reverse_range(B, mid, b, ym, level + 1);
    return rc ? rc : reverse_range(B, a, mid, ya, level + 1);
}

int nde_ode_backward(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    if (!t) return NDE_EINVAL;
    if (!t->have) return nde__adj_fail(t, NDE_EINVAL, "nde_ode_backward needs a successful nde_ode_solve_taped first");
    if (t->is_sde)
        return nde__adj_fail(t, NDE_EINVAL, "the tape holds an SDE solve (nde_sde_solve_taped): use nde_sde_backward");
    if (!t->p.vjp) return nde__adj_fail(t, NDE_EINVAL, "ode->vjp is NULL: the backward pass needs the vector-Jacobian product");
    const size_t dim = t->p.dim, np = t->p.np;
    for (size_t i = 0; dL_dy && i < t->n_saved * dim; i++)
        if (!isfinite(dL_dy[i]))
            return nde__adj_fail(t, NDE_EINVAL, "dL_dy[%zu] (point %zu, component %zu) is not finite", i, i / dim, i % dim);
    if (t->o.kind == NDE_ADJOINT_BACKSOLVE) return nde__adj_backsolve(t, dL_dy, dL_dy0, dL_dtheta);
    if (t->o.kind == NDE_ADJOINT_IMPLICIT) return nde__adj_implicit(t, dL_dy, dL_dy0, dL_dtheta);
    if (t->o.kind == NDE_ADJOINT_REVERSIBLE) {
        int rc = nde__adj_reversible(t, dL_dy, dL_dy0, dL_dtheta);
        t->stats.bytes = nde__adj_tape_bytes(t);
        return rc;
    }
    /* workspace: one step's scratch, ybar, theta_bar, the recursion pool, the
     * interpolated points of one step (at most all saved points) */
    int nslots = 0, degree = 0;
    const int dirk = nde__adj_is_dirk(t->p.m), ros = nde__adj_is_ros(t->p.m), radau = nde__adj_is_radau(t->p.m);
    const int gbs = nde__adj_is_gbs(t->p.m);
    size_t fam_bytes = dirk ? nde__adj_dirk_bytes(t->p.m, dim, np)
                       : ros ? nde__adj_ros_bytes(t->p.m, dim, np)
                       : radau ? nde__adj_radau_bytes(dim, np)
                       : gbs ? nde__adj_gbs_bytes(dim, np) : 0;
    size_t step_doubles = dirk || ros || radau || gbs ? (fam_bytes + sizeof(double) - 1) / sizeof(double)
                                                      : nde__adj_step_doubles(t->p.m, dim, np, &nslots, &degree);
    size_t depth = nde__adj_ceil_log2(t->stride) + 1, n_in = t->n_saved ? t->n_saved : 1, bytes = 0, nd = 0;
    int bad = step_doubles == 0;
    bad |= nde__size_add(nd, step_doubles, &nd);
    bad |= nde__size_muladd(&nd, 1 + depth, dim);   /* ybar, pool */
    bad |= nde__size_add(nd, np, &nd);              /* theta_bar */
    bad |= nde__size_add(nd, n_in, &nd);            /* theta_in */
    bad |= nde__size_muladd(&bytes, nd, sizeof(double));
    bad |= nde__size_muladd(&bytes, 3 * (size_t)nslots + depth + n_in, sizeof(void *));
    if (bad) return nde__adj_fail(t, NDE_ENOMEM, "the backward workspace for dim = %zu is too large", dim);
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    backward B = { .t = t, .dL_dy = dL_dy, .depth = depth, .isrc = t->n_src, .cap_in = n_in };
    double *p = t->work;
    double *step_mem = p; p += step_doubles;
    B.ybar = p; p += dim;
    double *pool_mem = p; p += depth * dim;
    B.theta_bar = np ? p : NULL; p += np;
    B.theta_in = p; p += n_in;
    void **ptrs = (void **)p;
    nde__adj_dirk dw;
    nde__adj_ros rw;
    nde__adj_radau qw;
    nde__adj_gbs gw;
    if (dirk) {
        nde__adj_dirk_init(&dw, t->p.m, dim, np, step_mem, t->p.fe != NULL);
        B.dw = &dw;
    } else if (ros) {
        nde__adj_ros_init(&rw, t->p.m, &t->ode, t->p.autonomous, np, step_mem, &t->p);
        B.rw = &rw;
    } else if (radau) {
        nde__adj_radau_init(&qw, &t->ode, dim, np, step_mem);
        B.qw = &qw;
    } else if (gbs) {
        nde__adj_gbs_init(&gw, dim, step_mem);
        B.gw = &gw;
    } else {
        nde__adj_step_init(&B.w, t->p.m, dim, step_mem, (double **)ptrs, nslots, degree);
    }
    B.pool = (double **)(ptrs + 3 * nslots);
    for (size_t i = 0; i < depth; i++) B.pool[i] = pool_mem + i * dim;
    B.cot_in = (const double **)(ptrs + 3 * nslots + depth);
    memset(B.ybar, 0, dim * sizeof *B.ybar);
    if (B.theta_bar) memset(B.theta_bar, 0, np * sizeof *B.theta_bar);
    t->p.nfe = t->p.nvjp = 0;
    t->stats.recomputed = 0;

    int rc = NDE_OK;
    for (size_t i = t->n_ck; i-- > 0 && rc == NDE_OK;) {
        size_t a = i * t->stride, b = a + t->stride;
        if (b > t->n_steps) b = t->n_steps;
        if (a < b) rc = reverse_range(&B, a, b, t->ck + i * dim, 0);
    }
    if (rc == NDE_OK) take_boundary(&B, 0);
    t->stats.nvjp = t->p.nvjp;
    t->stats.nfe = t->p.nfe;
    t->stats.bytes = nde__adj_tape_bytes(t);
    if (B.event_failed)
        return nde__adj_fail(t, NDE_EINVAL, "the terminal event's condition crosses zero tangentially at t = %.17g "
                             "(d/dtheta of g along the step's interpolant is %g): its time has no derivative", t->t_star, B.grazing);
    if (rc == NDE_ENONLINEAR)
        return nde__adj_fail(t, rc, "the backward pass's Newton iteration for an implicit stage did not converge "
                             "to rounding, or its iteration matrix (I - h gamma J, M/(h gamma) - J) is singular");
    if (rc == NDE_ENONFINITE)
        return nde__adj_fail(t, rc, "the Jacobian has a non-finite entry in the backward pass");
    if (rc) return nde__adj_fail(t, NDE_ECALLBACK, "the vjp, the Jacobian or the right-hand side returned %d in the "
                                 "backward pass", rc);
    if (dL_dy0) memcpy(dL_dy0, B.ybar, dim * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, B.theta_bar, np * sizeof *dL_dtheta);
    return NDE_OK;
}
