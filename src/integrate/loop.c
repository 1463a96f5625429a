/* The integrate loop and the reusable solver object: acceptance and rejection,
 * retries on non-finite stages, constant / step-to / PID control, clipping to step_ts
 * and jump_ts, max_steps, saving, dense output, events and statistics, over any
 * method family's nde__int_ops. nde_ode_solve (src/ode/solve.c) is create + solve +
 * free. The loop is resumable: nde_solver_step runs it to the next accepted step. */
#include "integrate/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Consecutive rejections caused by non-finite stages (or callbacks asking for a
 * smaller step) before giving up: each shrinks the step by factormin, so 20 of them
 * shrink it by 0.2^20 ~ 1e-14. */
#define MAX_NONFINITE_REJECTS 20
/* An rtol below this many unit roundoffs cannot be met by a double-precision error
 * estimate (unless atol dominates); step-size failures then say so. */
#define UNATTAINABLE_RTOL (100.0 * DBL_EPSILON)

enum { PHASE_NONE, PHASE_READY, PHASE_RUNNING, PHASE_DONE };

int nde__int_rev_rhs(double s, const double *y, double *dy, void *u)
{
    const nde__int_rev *c = u;
    int rc = c->f(-s, y, dy, c->user);
    if (rc) return rc;
    for (size_t d = 0; d < c->dim; d++) dy[d] = -dy[d];
    return 0;
}

int nde__int_fail(nde_solver *S, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S->sol.message_, sizeof S->sol.message_, fmt, ap);
    va_end(ap);
    S->sol.status = status;
    if (status < 0 && S->errbuf && S->errbuf_size)
        snprintf(S->errbuf, S->errbuf_size, "%s", S->sol.message_);
    return status;
}

static double to_t(const nde_solver *S, double s) { return S->dir * s; }

/* vectorised: a constant-step solve checks every step's y1 with it */
static int all_finite(const double *v, size_t n) { return nde__num_all_finite(n, v); }

static const char *tolerance_hint(const nde_solver *S)
{
    return S->adaptive && S->rtol < UNATTAINABLE_RTOL
               ? " (rtol is below what double precision can attain: the tolerance is unattainable)"
               : "";
}

/* ---- create / free ---------------------------------------------------------------- */

/* Bytes of the solver's block, or -1 on size overflow. The block holds, in order:
 * the doubles (vectors, event scratch, time copies), the ints (event flags), then the
 * stepper's state (aligned). */
static int block_layout(const nde_solver *S, size_t state_bytes, size_t *doubles, size_t *ints,
                        size_t *total)
{
    const nde_options *o = &S->o;
    size_t nvec = 5 + (size_t)S->degree + 1;       /* y y1 yev scratch(2), P */
    size_t nd = 0, ni = 0, bytes = 0;
    int bad = nde__size_muladd(&nd, nvec, S->dim);
    bad |= nde__size_muladd(&nd, 4, S->ne);        /* g0 g1 gt theta */
    bad |= nde__size_muladd(&nd, 2, o->n_ts);      /* caller's copy, internal times */
    bad |= nde__size_muladd(&nd, 2, o->n_step_ts);
    bad |= nde__size_muladd(&nd, 2, o->n_jump_ts);
    bad |= nde__size_muladd(&ni, 2, S->ne);        /* directions, terminal flags */
    bad |= nde__size_muladd(&bytes, nd, sizeof(double));
    bad |= nde__size_muladd(&bytes, ni, sizeof(int));
    bad |= nde__size_add(bytes, 2 * sizeof(double), &bytes);   /* alignment slack */
    bad |= nde__size_add(bytes, state_bytes, &bytes);
    *doubles = nd; *ints = ni; *total = bytes;
    return bad ? -1 : 0;
}

static void *copy_array(void **p, const void *src, size_t n, size_t unit)
{
    void *dst = *p;
    if (n && src) memcpy(dst, src, n * unit);
    *p = (char *)dst + n * unit;
    return n ? dst : NULL;
}

static int setup(nde_solver *S, char *msg)
{
    nde_options *o = &S->o;
    const nde__int_ops *ops = S->m->ops;
    size_t dim = S->dim, ne = S->ne;
    size_t state_bytes = ops->size_problem ? ops->size_problem(S->m, &S->ode, o) : ops->size(S->m, dim), nd, ni;
    if (state_bytes == 0 || block_layout(S, state_bytes, &nd, &ni, &S->work_bytes))
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM,
                        "dim = %zu with %zu events and %zu + %zu + %zu times is too large to allocate",
                        dim, ne, o->n_ts, o->n_step_ts, o->n_jump_ts);
    S->work = nde__alloc(&S->al, S->work_bytes);
    if (!S->work)
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the %zu-byte workspace",
                        S->work_bytes);
    double *p = S->work;
    S->y = p; p += dim;
    S->y1 = p; p += dim;
    S->yev = p; p += dim;
    S->scratch = p; p += 2 * dim;
    S->P = p; p += (size_t)(S->degree + 1) * dim;
    S->g0 = p; p += ne;
    S->g1 = p; p += ne;
    S->gt = p; p += ne;
    S->theta = p; p += ne;
    S->ts_s = p; p += o->n_ts;
    S->step_s = p; p += o->n_step_ts;
    S->jump_s = p; p += o->n_jump_ts;
    void *q = p;
    S->ts_user = copy_array(&q, o->ts, o->n_ts, sizeof(double));
    S->step_user = copy_array(&q, o->step_ts, o->n_step_ts, sizeof(double));
    S->jump_user = copy_array(&q, o->jump_ts, o->n_jump_ts, sizeof(double));
    S->dir_user = copy_array(&q, o->event_direction, o->event_direction ? ne : 0, sizeof(int));
    S->term_user = copy_array(&q, o->event_terminal, o->event_terminal ? ne : 0, sizeof(int));
    o->ts = S->ts_user; o->step_ts = S->step_user; o->jump_ts = S->jump_user;
    o->event_direction = S->dir_user; o->event_terminal = S->term_user;
    uintptr_t a = (uintptr_t)q, al = sizeof(double);
    S->st.state = (void *)((a + al - 1) / al * al);
    S->st.m = S->m;
    S->st.dim = dim;
    S->st.err_dim = dim;
    S->st.rtol = S->rtol;
    S->st.atol = S->atol;
    S->st.dense_hint = (o->save & NDE_SAVE_DENSE) || o->n_ts > 0 || ne > 0;
    S->st.stats = &S->sol.stats;
    S->st.ode = &S->ode;
    S->st.dir = 1.0;
    S->st.want_stiffness = S->o.detect_stiffness || S->o.on_step_info;
    S->st.opts = &S->o;
    ops->init(&S->st);

    /* Output: exact size when the number of points is known, else growable. */
    S->out_unit = 1 + dim;
    size_t npts = o->n_ts + 3;   /* + t0, t1, terminal event point */
    if (o->save & NDE_SAVE_STEPS) npts += NDE__INT_INITIAL_GROWABLE;
    if (nde__int_out_reserve(S, npts))
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating output for %zu points", npts);
    int rc;
    if ((ne || o->steady_state) && (rc = nde__int_event_reserve(S)))
        return nde__msg(msg, NDE_MESSAGE_MAX, rc, "%s", S->sol.message_);
    if (o->save & NDE_SAVE_DENSE && (rc = nde__int_dense_create(S)))
        return nde__msg(msg, NDE_MESSAGE_MAX, rc, "%s", S->sol.message_);
    return NDE_OK;
}

static void release(nde_solver *S)
{
    nde__int_solution_release(&S->sol);
    if (S->rec) nde__free(&S->al, S->rec, S->rec_cap * S->rec_unit * sizeof(double));
    nde__free(&S->al, S->work, S->work_bytes);
    nde_allocator al = S->al;
    nde__free(&al, S, sizeof *S);
}

nde_solver *nde__int_create(const nde_ode *ode, const nde_options *opts, int *status, char *msg)
{
    return nde__int_create_problem(ode, NDE__INT_PROBLEM_ODE, NULL, opts, status, msg);
}

nde_solver *nde__int_create_problem(const nde_ode *ode, unsigned kind, const void *problem,
                                    const nde_options *opts, int *status, char *msg)
{
    static const nde_options defaults = NDE_OPTIONS_INIT;
    const nde_options *o = opts ? opts : &defaults;
    const nde_method *m = o->method ? o->method : nde_method_find("tsit5");
    msg[0] = '\0';
    if (!m) { *status = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "no default method registered"); return NULL; }
    if ((*status = nde__int_check_setup(ode, kind, m, o, msg))) return NULL;
    nde_allocator al = nde__allocator_resolve(o->allocator);
    nde_solver *S = nde__calloc(&al, 1, sizeof *S);
    if (!S) { *status = nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the solver"); return NULL; }
    S->al = al;
    S->m = m;
    S->ode = *ode;
    S->st.problem_kind = kind;
    S->st.problem = problem;
    S->o = *o;
    S->o.allocator = NULL;          /* resolved into S->al */
    S->errbuf = o->errbuf;
    S->errbuf_size = o->errbuf_size;
    S->dim = ode->dim;
    S->ne = o->n_events;
    S->sol.dim = ode->dim;
    S->sol.alloc_ = al;
    S->degree = m->ops->dense_degree(m);
    S->adaptive = o->rtol > 0.0;
    S->step_to = !S->adaptive && o->dt0 == 0.0;
    S->rtol = o->rtol;
    S->atol = o->atol;
    S->dt0 = fabs(o->dt0);
    S->dtmin = o->dtmin;
    S->dtmax = o->dtmax;
    S->max_steps = o->max_steps ? o->max_steps : NDE__INT_DEFAULT_MAX_STEPS;
    if (m->embedded_order > 0) nde__int_pid_setup(&S->pid, m->embedded_order, o);
    if ((*status = setup(S, msg))) { release(S); return NULL; }
    return S;
}

nde_solver *nde_solver_create(const nde_ode *ode, const nde_options *opts)
{
    char msg[NDE_MESSAGE_MAX];
    int status;
    nde_solver *S = nde__int_create(ode, opts, &status, msg);
    if (!S && opts && opts->errbuf && opts->errbuf_size)
        snprintf(opts->errbuf, opts->errbuf_size, "%s", msg);
    return S;
}

void nde_solver_free(nde_solver *S)
{
    if (S) release(S);
}

/* ---- reset ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Copies times into internal coordinates, keeps those strictly inside (s0, s1), sorts. */
static size_t map_times(const nde_solver *S, const double *src, size_t n, double *dst)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double s = S->dir * src[i];
        if (s > S->s0 && s < S->s1) dst[m++] = s;
    }
    qsort(dst, m, sizeof *dst, cmp_double);
    return m;
}

int nde_solver_reset(nde_solver *S, double t0, double t1, const double *y0)
{
    if (!S) return NDE_EINVAL;
    nde_solution *sol = &S->sol;
    sol->n = sol->n_event_hits = 0;
    memset(&sol->stats, 0, sizeof sol->stats);
    sol->status = NDE_OK;
    sol->message_[0] = '\0';
    S->phase = PHASE_NONE;
    char msg[NDE_MESSAGE_MAX];
    int rc = nde__int_check_span(&S->ode, t0, t1, y0, &S->o, msg);
    if (rc) return nde__int_fail(S, rc, "%s", msg);

    S->dir = t1 > t0 ? 1.0 : -1.0;
    S->s0 = S->dir * t0;
    S->s1 = S->dir * t1;
    double scale = fmax(fabs(S->s0), fabs(S->s1));
    S->tol_t = nde__time_shift(scale, (int)NDE__TIME_ULPS) - scale;
    S->s1_near = S->s1 - S->tol_t;
    S->st.dir = S->dir;
    if (S->dir > 0) { S->st.f = S->ode.f; S->st.user = S->ode.user; }
    else {
        S->rev.f = S->ode.f; S->rev.user = S->ode.user; S->rev.dim = S->dim;
        S->st.f = nde__int_rev_rhs; S->st.user = &S->rev;
    }
    const nde_options *o = &S->o;
    for (size_t i = 0; i < o->n_ts; i++)   /* validated to within tol_t of [t0, t1] */
        S->ts_s[i] = fmin(fmax(S->dir * o->ts[i], S->s0), S->s1);
    S->n_ts = o->n_ts;
    S->n_step = map_times(S, o->step_ts, o->n_step_ts, S->step_s);
    S->n_jump = map_times(S, o->jump_ts, o->n_jump_ts, S->jump_s);
    S->it = S->istep = S->ijump = 0;
    S->rec_n = 0;
    struct nde__dense *D = sol->dense_;
    if (D) { D->n = 0; D->dir = S->dir; D->s_end = S->s0; D->tol_t = S->tol_t; }
    memcpy(S->y, y0, S->dim * sizeof *S->y);
    if (S->adaptive) nde_controller_reset(&S->pid);
    S->s = S->s0;
    S->h_prop = 0.0;
    S->kgrid = S->nonfinite_run = 0;
    S->start_valid = S->last_nonfinite = 0;
    S->phase = PHASE_READY;
    return NDE_OK;
}

void nde__int_set_error_dim(nde_solver *S, size_t n)
{
    S->st.err_dim = n && n < S->dim ? n : S->dim;
}

void nde_solver_set_user(nde_solver *S, void *user)
{
    if (!S) return;
    S->ode.user = user;
    if (S->dir > 0) S->st.user = user;
    S->rev.user = user;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int pending_ts_inside(const nde_solver *S, double s_end)
{
    return S->it < S->n_ts && S->ts_s[S->it] < s_end - S->tol_t;
}

/* Everything before the first step: saving at t0, event values, f(t0, y0), dt0. */
static int begin(nde_solver *S)
{
    const nde_options *o = &S->o;
    const nde__int_ops *ops = S->m->ops;
    double s = S->s;
    int rc;
    if (o->save & NDE_SAVE_T0 && (rc = nde__int_save_point(S, s, S->y))) return rc;
    if ((rc = nde__int_save_ts_upto(S, s, 1.0, s, S->y, 0))) return rc;
    if (S->ne && (rc = nde__int_eval_events(S, s, S->y, S->g0))) return rc;

    S->st.new_solve = 1;
    rc = ops->start(&S->st, s, S->y);
    S->st.new_solve = 0;
    if (rc) return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d at t0 = %g", rc, to_t(S, s));
    const double *f0 = ops->start_f(&S->st);
    if (f0 && !all_finite(f0, S->dim))
        return nde__int_fail(S, NDE_ENONFINITE, "right-hand side is not finite at t0 = %g", to_t(S, s));
    S->start_valid = 1;
    if (ops->check_start) {
        char msg[NDE_MESSAGE_MAX];
        msg[0] = '\0';
        if ((rc = ops->check_start(&S->st, s, S->y, msg))) return nde__int_fail(S, rc, "%s", msg);
    }

    if (S->adaptive) {
        double h;
        if (S->dt0 != 0.0) h = S->dt0;
        else {
            if (!f0) {   /* the family keeps no f(t0, y0): evaluate it for the estimate */
                double *fs = S->yev;
                S->sol.stats.nfe++;
                if ((rc = S->st.f(s, S->y, fs, S->st.user)))
                    return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d at t0 = %g", rc, to_t(S, s));
                f0 = fs;
            }
            rc = nde__int_initial_step(S->st.f, S->st.user, S->dim, S->st.err_dim, S->s0, S->s1, S->y, f0, S->rtol,
                                       S->atol, S->m->embedded_order, S->dtmin, S->dtmax, S->scratch,
                                       S->scratch + S->dim, &S->sol.stats.nfe, &h);
            if (rc) return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d estimating the initial step "
                                         "from t0 = %g", rc, to_t(S, s));
        }
        if (S->dtmax > 0.0 && h > S->dtmax) h = S->dtmax;
        S->h_prop = h;
    }
    return NDE_OK;
}

/* Events of the accepted step [s, s + h]: locate every crossing once, then take them
 * in time order; a non-terminal one is recorded and the next considered, a terminal
 * one ends the solve (returns NDE_EVENT). theta[i] < 0 marks "no (more) crossing". */
static int handle_events(nde_solver *S, double s, double h, double s_end)
{
    const nde_options *o = &S->o;
    size_t ne = S->ne, dim = S->dim;
    int rc;
    for (size_t i = 0; i < ne; i++) {
        S->theta[i] = -1.0;
        if (!nde__int_crossed(o->event_direction ? o->event_direction[i] : 0, S->g0[i], S->g1[i])) continue;
        if ((rc = nde__int_locate(S, i, s, h, &S->theta[i]))) return rc;
    }
    for (;;) {
        size_t first = ne;
        double th_first = 2.0;
        for (size_t i = 0; i < ne; i++)
            if (S->theta[i] >= 0.0 && S->theta[i] < th_first) { th_first = S->theta[i]; first = i; }
        if (first == ne) break;
        S->theta[first] = -1.0;
        double s_ev = th_first >= 1.0 ? s_end : s + th_first * h;
        if (th_first >= 1.0) memcpy(S->yev, S->y1, dim * sizeof *S->yev);
        else nde__int_poly_eval(S->P, S->degree, dim, th_first, S->yev);
        if (!all_finite(S->yev, dim))
            return nde__int_fail(S, NDE_ENONFINITE, "the state at event %zu (t = %.17g) is not finite", first,
                                 to_t(S, s_ev));
        int terminal = o->event_terminal ? o->event_terminal[first] != 0 : 1;
        if ((rc = nde__int_event_record(S, s_ev, (int)first, S->yev))) return rc;
        if (terminal) {
            memcpy(S->y1, S->yev, dim * sizeof *S->y1);
            if ((rc = nde__int_save_ts_upto(S, s, h, s_ev, S->y1, 1))) return rc;
            if ((rc = nde__int_dense_append(S, s, h))) return rc;
            if (S->sol.dense_) S->sol.dense_->s_end = s_ev;
            memcpy(S->y, S->y1, dim * sizeof *S->y);
            S->s = s_ev;
            int want = (S->n_ts == 0) || (o->save & (NDE_SAVE_STEPS | NDE_SAVE_T1));
            if (want && (rc = nde__int_save_point(S, s_ev, S->y))) return rc;
            return nde__int_fail(S, NDE_EVENT, "event %zu fired at t = %.17g", first, to_t(S, s_ev));
        }
    }
    memcpy(S->g0, S->g1, ne * sizeof *S->g0);
    return NDE_OK;
}

/* RMS_i v_i, scaled by the largest |v_i| so that the squares neither overflow nor
 * underflow (NaN when some v_i is not finite). */
static double rms(const double *v, size_t n)
{
    double big = 0.0, sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) return NAN;
        if (fabs(v[i]) > big) big = fabs(v[i]);
    }
    if (big == 0.0) return 0.0;
    for (size_t i = 0; i < n; i++) sum += (v[i] / big) * (v[i] / big);
    return big * sqrt(sum / (double)n);
}

/* The steady-state event (nde_options.steady_state) at the accepted step end (s_end, y1):
 * *steady = RMS f < steady_atol + steady_rtol RMS y1. f(s_end, y1) is an FSAL method's
 * next first stage when accept kept it, else one evaluation into yev (other families'
 * start_f need not be f at the new start). In internal time f~ =
 * dir f, whose norm is f's. With an IMEX split f_explicit is added (one more evaluation,
 * into scratch). */
static int steady_test(nde_solver *S, double s_end, int next_valid, int *steady, double *fnorm, double *bound)
{
    const nde_options *o = &S->o;
    const double *f = S->m->fsal && next_valid && S->m->ops->start_f ? S->m->ops->start_f(&S->st) : NULL;
    if (!f) {
        S->sol.stats.nfe++;
        int rc = S->st.f(s_end, S->y1, S->yev, S->st.user);
        if (rc) return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d testing for a steady state at t = %g",
                                     rc, to_t(S, s_end));
        f = S->yev;
    }
    const nde_ode *ode = S->st.ode;
    if (ode && ode->f_explicit) {   /* an IMEX split: the steady state is one of f + f_explicit */
        double *fe = S->scratch;
        S->sol.stats.nfe++;
        int rc = ode->f_explicit(to_t(S, s_end), S->y1, fe, ode->user);
        if (rc) return nde__int_fail(S, NDE_ECALLBACK, "f_explicit returned %d testing for a steady state at t = %g",
                                     rc, to_t(S, s_end));
        for (size_t i = 0; i < S->dim; i++) fe[i] = f[i] + S->st.dir * fe[i];   /* f is in internal time */
        f = fe;
    }
    double rtol = o->steady_rtol > 0.0 ? o->steady_rtol : S->rtol;
    double atol = o->steady_atol > 0.0 ? o->steady_atol : S->atol;
    *fnorm = rms(f, S->dim);
    *bound = atol + rtol * rms(S->y1, S->dim);
    *steady = *fnorm < *bound;
    return NDE_OK;
}

/* Appends the accepted step [s, s + h] to the record (before accept changes the
 * stepper's slots). Grows geometrically: output that grows with the steps. */
static int record_step(nde_solver *S, double s, double h)
{
    if (S->rec_n == S->rec_cap) {
        size_t ncap = S->rec_cap ? 2 * S->rec_cap : NDE__INT_INITIAL_GROWABLE, bytes;
        if (nde__size_mul(ncap, S->rec_unit, &bytes) || nde__size_mul(bytes, sizeof(double), &bytes))
            return nde__int_fail(S, NDE_ENOMEM, "the step record is too large");
        double *q = nde__realloc(&S->al, S->rec, S->rec_cap * S->rec_unit * sizeof(double), bytes);
        if (!q) return nde__int_fail(S, NDE_ENOMEM, "out of memory growing the step record past %zu steps", S->rec_n);
        S->rec = q;
        S->rec_cap = ncap;
    }
    double *r = S->rec + S->rec_n * S->rec_unit;
    r[0] = to_t(S, s);
    r[1] = S->dir * h;
    if (S->record & NDE_RECORD_STATES) memcpy(r + 2, S->y, S->dim * sizeof *r);
    if (S->record & NDE_RECORD_STAGES) {
        double *k = r + 2 + S->dim;
        S->m->ops->record(&S->st, k);
        if (S->dir < 0)   /* stages of f~(s, y) = -f(-s, y): store them as f in t */
            for (size_t j = 0; j < S->rec_vectors * S->dim; j++) k[j] = -k[j];
    }
    S->rec_n++;
    return NDE_OK;
}

/* Runs until t1, an error, or (one_step) the next accepted step. */
static int run(nde_solver *S, int one_step)
{
    const nde_options *o = &S->o;
    const nde__int_ops *ops = S->m->ops;
    nde__int_stepper *st = &S->st;
    nde_stats *stats = &S->sol.stats;
    size_t dim = S->dim, ne = S->ne;
    int rc;
    double s = S->s;

    while (s < S->s1) {
        if (stats->steps >= S->max_steps)
            return nde__int_fail(S, NDE_EMAXSTEPS, "reached max_steps = %zu at t = %.17g before t1 = %.17g",
                                 S->max_steps, to_t(S, s), to_t(S, S->s1));
        if (!S->start_valid) {
            rc = ops->start(st, s, S->y);
            if (rc < 0) return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d at t = %g", rc, to_t(S, s));
            if (rc > 0)
                return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d at an accepted point t = %g",
                                     rc, to_t(S, s));
            S->start_valid = 1;
        }
        /* Proposed end of the step, then clipping. */
        double cand, clip_at = INFINITY;
        int grid_step = 0, jump_clip = 0;
        if (S->adaptive) cand = s + S->h_prop;
        else if (S->step_to) cand = INFINITY;
        else { cand = S->s0 + (double)(S->kgrid + 1) * S->dt0; grid_step = 1; }
        while (S->istep < S->n_step && S->step_s[S->istep] <= s + S->tol_t) S->istep++;
        /* A jump at or within one ULP ahead of s leaves no room for a step before it:
         * restart just past it, as after a step clipped to it. */
        if (S->ijump < S->n_jump && nextafter(S->jump_s[S->ijump], -INFINITY) <= s) {
            double jump = S->jump_s[S->ijump++];
            if (jump > s) {
                double after = nextafter(nextafter(jump, INFINITY), INFINITY);
                s = S->s = after < S->s1 ? after : S->s1;
                S->start_valid = 0;
                if ((rc = nde__int_save_ts_upto(S, s, 1.0, s, S->y, 0))) return rc;
            }
            continue;
        }
        if (S->istep < S->n_step) clip_at = S->step_s[S->istep];
        if (S->ijump < S->n_jump) {
            double before = nextafter(S->jump_s[S->ijump], -INFINITY);
            if (before <= clip_at) { clip_at = before; jump_clip = 1; }
        }
        int clipped = 0;
        if (clip_at < INFINITY && cand >= clip_at - S->tol_t) {
            if (grid_step && cand <= clip_at + S->tol_t) S->kgrid++;
            clipped = cand > clip_at;
            grid_step = 0;
            cand = clip_at;
        } else {
            jump_clip = 0;
        }
        if (cand >= S->s1_near) { cand = S->s1; jump_clip = 0; }
        double h = cand - s;
        if (!(h > 0.0) || s + h == s) {
            if (S->last_nonfinite && st->why)
                return nde__int_fail(S, NDE_ENONLINEAR, "%s at t = %.17g, down to step-size underflow", st->why,
                                     to_t(S, s));
            if (S->last_nonfinite)
                return nde__int_fail(S, NDE_ENONFINITE, "non-finite values (or the right-hand side refusing steps) at "
                                     "t = %.17g persisted down to step-size underflow", to_t(S, s));
            return nde__int_fail(S, NDE_EDTMIN, "step size underflow at t = %.17g (h = %g)%s", to_t(S, s), h,
                                 tolerance_hint(S));
        }

        stats->steps++;
        double err = 0.0;
        st->why = NULL;
        st->stiffness = NAN;
        rc = ops->attempt(st, s, h, S->y, S->y1, S->adaptive ? &err : NULL);
        if (rc < 0 && st->why) {
            /* the family's own statuses pass through; a user callback's code (its
             * Jacobian's, say) is NDE_ECALLBACK */
            int status = rc == NDE_ENONLINEAR || rc == NDE_ENONFINITE || rc == NDE_ECALLBACK || rc == NDE_EDTMIN
                             ? rc : NDE_ECALLBACK;
            return nde__int_fail(S, status, "%s (%d) in the step from t = %.17g (h = %g)", st->why, rc, to_t(S, s),
                                 S->dir * h);
        }
        if (rc < 0)
            return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d in the step from t = %g", rc, to_t(S, s));
        int ok;
        if (rc > 0) ok = 0, err = INFINITY;
        else if (S->adaptive) ok = err <= 1.0;
        else { ok = all_finite(S->y1, dim); if (!ok) err = INFINITY; }
        if (o->on_step && o->on_step(to_t(S, s), S->dir * h, err, ok, o->on_step_user) < 0)
            return nde__int_fail(S, NDE_ECALLBACK, "on_step asked to stop at t = %g", to_t(S, s));
        if (st->want_stiffness) {
            if (ok && st->stiffness > 1.0) stats->stiff_steps++;
            nde_step_info info = { to_t(S, s), S->dir * h, err, ok, ok || !isinf(err) ? st->stiffness : NAN,
                                   st->active ? st->active : S->m };
            if (o->on_step_info && o->on_step_info(&info, o->on_step_info_user) < 0)
                return nde__int_fail(S, NDE_ECALLBACK, "on_step_info asked to stop at t = %g", to_t(S, s));
        }

        if (!ok) {
            stats->rejected++;
            S->last_nonfinite = isinf(err);
            if (isinf(err)) {
                const char *why = rc > 0 && st->why ? st->why : NULL;
                int status = why ? NDE_ENONLINEAR : NDE_ENONFINITE;
                if (!S->adaptive)
                    return nde__int_fail(S, status, "%s in the constant step from t = %.17g (h = %g), which "
                                         "cannot shrink", why ? why : rc > 0 ? "right-hand side asked for a smaller step"
                                                                             : "non-finite values", to_t(S, s), h);
                if (++S->nonfinite_run > MAX_NONFINITE_REJECTS)
                    return nde__int_fail(S, status, "%zu consecutive steps from t = %.17g failed with %s",
                                         S->nonfinite_run, to_t(S, s),
                                         why ? why : rc > 0 ? "the right-hand side asking for a smaller step"
                                                            : "non-finite values");
            }
            S->h_prop = h * (ops->step_factor ? ops->step_factor(st, h, err, 0) : nde__int_pid_factor(&S->pid, err, 0));
            if (S->dtmin > 0.0 && S->h_prop < S->dtmin && S->last_nonfinite && st->why)
                return nde__int_fail(S, NDE_ENONLINEAR, "step size %g fell below dtmin = %g at t = %.17g: %s",
                                     S->h_prop, S->dtmin, to_t(S, s), st->why);
            if (S->dtmin > 0.0 && S->h_prop < S->dtmin)
                return nde__int_fail(S, S->last_nonfinite ? NDE_ENONFINITE : NDE_EDTMIN,
                                     "step size %g fell below dtmin = %g at t = %.17g%s", S->h_prop, S->dtmin,
                                     to_t(S, s), S->last_nonfinite ? "" : tolerance_hint(S));
            continue;   /* the start (f at s) is still valid */
        }
        S->nonfinite_run = 0;
        stats->accepted++;
        double s_end = cand;
        const int at_end = s_end == S->s1;

        int need_P = (o->save & NDE_SAVE_DENSE) || pending_ts_inside(S, s_end);
        if (ne) {
            if ((rc = nde__int_eval_events(S, s_end, S->y1, S->g1))) return rc;
            for (size_t i = 0; i < ne && !need_P; i++)
                need_P = nde__int_crossed(o->event_direction ? o->event_direction[i] : 0, S->g0[i], S->g1[i]);
        }
        if (S->record && (rc = record_step(S, s, h))) return rc;
        if (S->on_accept && (rc = S->on_accept(S->hook_ctx, S, s, h, S->y, S->y1)))
            return nde__int_fail(S, rc, "out of memory taping step %zu", stats->accepted);
        /* f(s_end, y1) is the next step's first stage unless the solve ends or jumps here. */
        unsigned what = (need_P ? NDE__INT_NEED_DENSE : 0u) | (!at_end && !jump_clip ? NDE__INT_CONTINUE : 0u);
        int next_valid = 0;
        rc = ops->accept(st, s, h, S->y, S->y1, what, S->P, &next_valid);
        if (rc < 0)
            return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d at t = %g", rc, to_t(S, s_end));
        if (rc > 0)
            return nde__int_fail(S, NDE_ECALLBACK, "right-hand side returned %d evaluating dense output on [%g, %g]",
                                 rc, to_t(S, s), to_t(S, s_end));
        if (need_P && !all_finite(S->P, (size_t)(S->degree + 1) * dim))
            return nde__int_fail(S, NDE_ENONFINITE, "the dense interpolant of the accepted step [%.17g, %.17g] is not "
                                 "finite (f(t1, y1) or h f overflowed)", to_t(S, s), to_t(S, s_end));

        if (ne && (rc = handle_events(S, s, h, s_end))) return rc;

        if ((rc = nde__int_save_ts_upto(S, s, h, s_end, S->y1, need_P))) return rc;
        if (o->save & NDE_SAVE_DENSE && (rc = nde__int_dense_append(S, s, h))) return rc;
        if (o->save & NDE_SAVE_STEPS && (rc = nde__int_save_point(S, s_end, S->y1))) return rc;

        int steady = 0;
        double fnorm = 0.0, bound = 0.0;
        if (o->steady_state && (rc = steady_test(S, s_end, next_valid, &steady, &fnorm, &bound))) return rc;

        /* Advance: y <- y1 by a pointer swap. */
        { double *tmp = S->y; S->y = S->y1; S->y1 = tmp; }
        S->start_valid = next_valid;
        if (steady) {   /* a terminal event at the step end, saved as t1 would have been */
            s = S->s = s_end;
            if ((rc = nde__int_event_record(S, s_end, NDE_EVENT_STEADY_STATE, S->y))) return rc;
            const nde_solution *sol = &S->sol;
            int want = (S->n_ts == 0 && !(o->save & NDE_SAVE_STEPS)) ||
                       ((o->save & NDE_SAVE_T1) && !(sol->n && sol->t[sol->n - 1] == to_t(S, s_end)));
            if (want && (rc = nde__int_save_point(S, s_end, S->y))) return rc;
            return nde__int_fail(S, NDE_EVENT, "steady state at t = %.17g: RMS f = %g < %g = steady_atol + "
                                 "steady_rtol RMS y", to_t(S, s_end), fnorm, bound);
        }
        if (grid_step) S->kgrid++;
        if (S->adaptive) {
            /* a step at dtmax (to rounding) that would grow stays at dtmax: no pow */
            double f;
            if (ops->step_factor) {
                f = ops->step_factor(st, h, err, 1);
            } else {
                f = S->dtmax > 0.0 && h * NDE__INT_CAP_SLACK >= S->dtmax && nde__int_pid_beyond_cap(&S->pid, err)
                        ? S->pid.fmax : nde__int_pid_factor(&S->pid, err, 1);
                nde__int_pid_accept(&S->pid, err);
            }
            double hn = h * f;
            if (clipped && S->h_prop > hn) hn = S->h_prop;   /* a clipped step says nothing new */
            if (S->dtmax > 0.0 && hn > S->dtmax) hn = S->dtmax;
            if (S->dtmin > 0.0 && hn < S->dtmin)   /* only with factormin_accept < 1 */
                return nde__int_fail(S, NDE_EDTMIN, "step size %g fell below dtmin = %g at t = %.17g", hn, S->dtmin,
                                     to_t(S, s_end));
            S->h_prop = hn;
        }
        s = S->s = s_end;
        if (jump_clip) {
            /* Skip the discontinuity: restart two ULPs past it with fresh f. */
            double after = nextafter(nextafter(S->jump_s[S->ijump], INFINITY), INFINITY);
            s = S->s = after < S->s1 ? after : S->s1;
            S->start_valid = 0;
            if (!S->adaptive && !S->step_to) {
                /* constant steps continue on the dt0 grid after the jump (adaptive
                 * steps keep their proposal) */
                double k = floor((s - S->s0) / S->dt0) - 1.0;   /* then at most a few steps up */
                if (k > (double)S->kgrid) S->kgrid = k < 0x1p63 ? (size_t)k : (size_t)1 << 63;
                for (int guard = 0; guard < 4096 && S->s0 + (double)(S->kgrid + 1) * S->dt0 <= s; guard++) S->kgrid++;
            }
            if ((rc = nde__int_save_ts_upto(S, s, 1.0, s, S->y, 0))) return rc;
        }
        if (one_step && s < S->s1) return NDE_OK;
    }
    const nde_solution *sol = &S->sol;
    int want_t1 = (S->n_ts == 0 && !(o->save & NDE_SAVE_STEPS)) ||
                  ((o->save & NDE_SAVE_T1) && !(sol->n && sol->t[sol->n - 1] == to_t(S, S->s1)));
    if (want_t1 && (rc = nde__int_save_point(S, S->s1, S->y))) return rc;
    S->phase = PHASE_DONE;
    return NDE_OK;
}

/* Runs from the current phase; marks the solve done on any outcome but a step. */
static int advance(nde_solver *S, int one_step)
{
    int rc = NDE_OK;
    if (S->phase == PHASE_READY) {
        S->phase = PHASE_RUNNING;
        rc = begin(S);
    }
    if (rc == NDE_OK) rc = run(S, one_step);
    if (rc != NDE_OK) S->phase = PHASE_DONE;
    S->sol.status = rc;
    if (rc == NDE_OK) S->sol.message_[0] = '\0';
    return rc;
}

int nde_solver_solve(nde_solver *S, double t0, double t1, const double *y0)
{
    if (!S) return NDE_EINVAL;
    int rc = nde_solver_reset(S, t0, t1, y0);
    return rc ? rc : advance(S, 0);
}

int nde_solver_step(nde_solver *S, double *t, double *y)
{
    if (!S) return NDE_EINVAL;
    if (S->phase == PHASE_NONE)
        return nde__int_fail(S, NDE_EINVAL, "nde_solver_step before a successful nde_solver_reset");
    if (S->phase == PHASE_DONE)
        return nde__int_fail(S, NDE_EINVAL, "the solve has ended (status %d): reset the solver first",
                             S->sol.status);
    int rc = advance(S, 1);
    if (rc >= 0) {
        if (t) *t = to_t(S, S->s);
        if (y) memcpy(y, S->y, S->dim * sizeof *y);
    }
    return rc;
}

int nde_solver_finished(const nde_solver *S) { return !S || S->phase == PHASE_DONE; }

const nde_solution *nde_solver_solution(const nde_solver *S) { return S ? &S->sol : NULL; }

const char *nde_solver_message(const nde_solver *S) { return S ? S->sol.message_ : "solver is NULL"; }

const nde_method *nde_solver_method(const nde_solver *S) { return S ? S->m : NULL; }

int nde_solver_set_record(nde_solver *S, unsigned what)
{
    if (!S) return NDE_EINVAL;
    if (what & ~(unsigned)(NDE_RECORD_STEPS | NDE_RECORD_STATES | NDE_RECORD_STAGES))
        return nde__int_fail(S, NDE_EINVAL, "record has unknown flags 0x%x", what);
    const nde__int_ops *ops = S->m->ops;
    if ((what & NDE_RECORD_STAGES) && !ops->record)
        return nde__int_fail(S, NDE_EUNSUPPORTED, "method %s keeps no stages to record", S->m->name);
    if (what & NDE_RECORD_STAGES) what |= NDE_RECORD_STATES;   /* each implies the ones before */
    if (what & NDE_RECORD_STATES) what |= NDE_RECORD_STEPS;
    size_t vectors = (what & NDE_RECORD_STAGES) ? ops->record_vectors(S->m) : 0, unit = 2;
    if ((what & NDE_RECORD_STATES) && nde__size_muladd(&unit, 1 + vectors, S->dim))
        return nde__int_fail(S, NDE_ENOMEM, "the step record of dim = %zu is too large", S->dim);
    if (S->rec && unit != S->rec_unit) {   /* a new layout: drop the old storage */
        nde__free(&S->al, S->rec, S->rec_cap * S->rec_unit * sizeof(double));
        S->rec = NULL;
        S->rec_cap = 0;
    }
    S->record = what;
    S->rec_unit = unit;
    S->rec_vectors = vectors;
    S->rec_n = 0;
    return NDE_OK;
}

size_t nde_solver_record_count(const nde_solver *S) { return S ? S->rec_n : 0; }

int nde_solver_record_get(const nde_solver *S, size_t i, double *t, double *h, double *y,
                          double *stages)
{
    if (!S || i >= S->rec_n) return NDE_EINVAL;
    if ((y && !(S->record & NDE_RECORD_STATES)) || (stages && !(S->record & NDE_RECORD_STAGES)))
        return NDE_EINVAL;
    const double *r = S->rec + i * S->rec_unit;
    if (t) *t = r[0];
    if (h) *h = r[1];
    if (y) memcpy(y, r + 2, S->dim * sizeof *y);
    if (stages) memcpy(stages, r + 2 + S->dim, S->rec_vectors * S->dim * sizeof *stages);
    return NDE_OK;
}

/* nde_solution from a solve by a temporary solver: the driver behind nde_ode_solve. */
int nde__int_solve_once(const nde_ode *ode, double t0, double t1, const double *y0,
                        const nde_options *opts, nde_solution *sol, nde__int_accept_hook on_accept,
                        nde__int_save_hook on_save, void *hook_ctx)
{
    return nde__int_solve_problem(ode, NDE__INT_PROBLEM_ODE, NULL, t0, t1, y0, opts, sol,
                                  on_accept, on_save, hook_ctx);
}

int nde__int_solve_problem(const nde_ode *ode, unsigned kind, const void *problem, double t0,
                           double t1, const double *y0, const nde_options *opts,
                           nde_solution *sol, nde__int_accept_hook on_accept,
                           nde__int_save_hook on_save, void *hook_ctx)
{
    memset(sol, 0, sizeof *sol);
    sol->alloc_ = nde__allocator_resolve(opts ? opts->allocator : NULL);
    sol->dim = ode ? ode->dim : 0;
    int status;
    nde_solver *S = nde__int_create_problem(ode, kind, problem, opts, &status, sol->message_);
    if (!S) {
        sol->status = status;
        if (opts && opts->errbuf && opts->errbuf_size)
            snprintf(opts->errbuf, opts->errbuf_size, "%s", sol->message_);
        return status;
    }
    S->on_accept = on_accept;
    S->on_save = on_save;
    S->hook_ctx = hook_ctx;
    int rc = nde_solver_solve(S, t0, t1, y0);
    *sol = S->sol;                                  /* the output moves to the caller */
    memset(&S->sol, 0, sizeof S->sol);
    nde_solver_free(S);
    return rc;
}
