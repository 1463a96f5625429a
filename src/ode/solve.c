/* The integrate loop: validation, step control (constant, step-to, PID), clipping to
 * step_ts/jump_ts, saving, dense output, events and statistics.
 *
 * Backward solves run forwards in s = dir * t with f~(s, y) = dir * f(dir * s, y); the
 * dense output and saved times are mapped back, so every comparison below is forward. */
#include "ode/erk.h"
#include "core/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_STEPS 100000
/* Consecutive rejections caused by non-finite stages (or callbacks asking for a
 * smaller step) before giving up: each shrinks the step by factormin, so 20 of them
 * shrink it by 0.2^20 ~ 1e-14. */
#define MAX_NONFINITE_REJECTS 20
/* Iteration cap for locating an event time (Illinois converges superlinearly; this is
 * a guard against pathological event functions). */
#define MAX_EVENT_ITERS 200
/* Initial output capacity when the number of saved points is not known in advance. */
#define INITIAL_GROWABLE 64

/* ---- dense output storage ------------------------------------------------------ */

/* One record per accepted step: [s_start, h, P_0 .. P_degree] (2 + (degree+1)*dim). */
struct nde__dense {
    int degree;
    size_t dim, n, cap, rec;   /* rec: doubles per record */
    double dir, s_end;         /* last solved internal time */
    double tol_t;              /* time window (see solver.tol_t) */
    double *data;
};

static size_t dense_bytes(const struct nde__dense *d) { return d->cap * d->rec * sizeof(double); }

static int grow(const nde_allocator *al, void **p, size_t *cap, size_t unit, size_t need)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : INITIAL_GROWABLE;
    while (ncap < need) ncap *= 2;
    if (ncap > (size_t)-1 / unit) return -1;
    void *q = nde__realloc(al, *p, *cap * unit, ncap * unit);
    if (!q) return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

/* ---- the solver state ------------------------------------------------------------ */

typedef struct rev_rhs_ctx { nde_rhs f; void *user; size_t dim; } rev_rhs_ctx;

static int rev_rhs(double s, const double *y, double *dy, void *u)
{
    const rev_rhs_ctx *c = u;
    int rc = c->f(-s, y, dy, c->user);
    if (rc) return rc;
    for (size_t d = 0; d < c->dim; d++) dy[d] = -dy[d];
    return 0;
}

typedef struct solver {
    const nde_method *m;
    nde__erk_plan plan;
    size_t dim;
    nde_rhs f; void *fuser;          /* forward-time right-hand side (maybe rev_rhs) */
    rev_rhs_ctx rev;
    const nde_ode *ode;
    const nde_options *o;
    double dir, s0, s1;
    int adaptive, step_to;
    double rtol, atol, dt0, dtmin, dtmax, safety, fmin, fmax, fmin_accept, b1, b2, b3;
    double tol_t;                    /* two times closer than this are the same time:
                                        100 ULP of the solve's time scale max(|t0|, |t1|) */
    double s1_near;                  /* candidates >= this end exactly at s1 */
    /* I-controller shortcuts: errors beyond these give a clipped factor, no pow needed */
    int pure_i;
    double err_grow_max, err_shrink_max, err_reject_min;
    size_t max_steps;
    unsigned save;
    nde_allocator al;
    nde_solution *sol;
    /* workspace (one block) */
    double *work; size_t work_bytes;
    double *k, *ytmp, *y, *y1, *P, *yev, *g0, *g1, *gt, *theta;
    double *ks[NDE__MAX_STAGES + 1];  /* stage slots (pointers into k) */
    double *ts_s, *step_s, *jump_s;
    size_t n_ts, n_step, n_jump, it, istep, ijump;
    int degree;
    /* output bookkeeping */
    size_t out_unit;                 /* doubles per saved point: 1 + dim */
    int growable;
    double *block;                   /* t then y; sol->t == block */
} solver;

static int fail(solver *S, int status, const char *fmt, ...) NDE__PRINTF(3, 4);
static int fail(solver *S, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S->sol->message_, sizeof S->sol->message_, fmt, ap);
    va_end(ap);
    S->sol->status = status;
    if (status < 0 && S->o && S->o->errbuf && S->o->errbuf_size)
        snprintf(S->o->errbuf, S->o->errbuf_size, "%s", S->sol->message_);
    return status;
}

static double to_t(const solver *S, double s) { return S->dir * s; }

/* ---- saving -------------------------------------------------------------------- */

/* Output layout: sol->t has cap entries, sol->y = sol->t + cap (cap x dim). Growing
 * moves both into one new block so that a failure leaves the old one intact. */
static int out_reserve(solver *S, size_t need)
{
    nde_solution *sol = S->sol;
    if (need <= sol->cap_) return 0;
    size_t ncap = sol->cap_ ? sol->cap_ * 2 : INITIAL_GROWABLE;
    while (ncap < need) ncap *= 2;
    if (ncap > (size_t)-1 / sizeof(double) / S->out_unit) return -1;
    double *nb = nde__alloc(&S->al, ncap * S->out_unit * sizeof(double));
    if (!nb) return -1;
    if (sol->t) {
        memcpy(nb, sol->t, sol->n * sizeof(double));
        memcpy(nb + ncap, sol->y, sol->n * S->dim * sizeof(double));
        nde__free(&S->al, sol->t, sol->cap_ * S->out_unit * sizeof(double));
    }
    sol->t = nb;
    sol->y = nb + ncap;
    sol->cap_ = ncap;
    return 0;
}

static int save_point(solver *S, double s, const double *y)
{
    nde_solution *sol = S->sol;
    if (sol->n == sol->cap_ && out_reserve(S, sol->n + 1))
        return fail(S, NDE_ENOMEM, "out of memory growing the saved output past %zu points", sol->n);
    sol->t[sol->n] = to_t(S, s);
    memcpy(sol->y + sol->n * S->dim, y, S->dim * sizeof *y);
    sol->n++;
    return 0;
}

static int dense_append(solver *S, double s, double h)
{
    struct nde__dense *D = S->sol->dense_;
    if (!D) return 0;
    if (D->n == D->cap) {
        void *p = D->data;
        if (grow(&S->al, &p, &D->cap, D->rec * sizeof(double), D->n + 1))
            return fail(S, NDE_ENOMEM, "out of memory growing the dense output past %zu steps", D->n);
        D->data = p;
    }
    double *r = D->data + D->n * D->rec;
    r[0] = s;
    r[1] = h;
    memcpy(r + 2, S->P, (size_t)(S->degree + 1) * S->dim * sizeof(double));
    D->n++;
    D->s_end = s + h;
    return 0;
}

/* Event records reserved at setup (so a terminal event never allocates in the loop);
 * non-terminal events beyond this grow the arrays geometrically. */
#define INITIAL_EVENT_RECORDS 8

static int event_reserve(solver *S)
{
    nde_solution *sol = S->sol;
    size_t ncap = sol->event_cap_ ? 2 * sol->event_cap_ : INITIAL_EVENT_RECORDS;
    size_t unit = sizeof(double) * (1 + S->dim) + sizeof(int);
    if (ncap > (size_t)-1 / unit) return fail(S, NDE_ENOMEM, "too many events");
    char *nb = nde__alloc(&S->al, ncap * unit);
    if (!nb) return fail(S, NDE_ENOMEM, "out of memory recording event %zu", sol->n_event_hits);
    double *nt = (double *)nb, *ny = nt + ncap;
    int *nw = (int *)(ny + ncap * S->dim);
    if (sol->event_t) {
        memcpy(nt, sol->event_t, sol->n_event_hits * sizeof(double));
        memcpy(ny, sol->event_y, sol->n_event_hits * S->dim * sizeof(double));
        memcpy(nw, sol->event_which, sol->n_event_hits * sizeof(int));
        nde__free(&S->al, sol->event_t, sol->event_cap_ * unit);
    }
    sol->event_t = nt; sol->event_y = ny; sol->event_which = nw;
    sol->event_cap_ = ncap;
    return NDE_OK;
}

static int event_record(solver *S, double s, int which, const double *y)
{
    nde_solution *sol = S->sol;
    if (sol->n_event_hits == sol->event_cap_) {
        int rc = event_reserve(S);
        if (rc) return rc;
    }
    size_t i = sol->n_event_hits++;
    sol->event_t[i] = to_t(S, s);
    sol->event_which[i] = which;
    memcpy(sol->event_y + i * S->dim, y, S->dim * sizeof *y);
    return 0;
}

/* ---- validation ------------------------------------------------------------------ */

static int all_finite(const double *v, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) { if (bad) *bad = i; return 0; }
    return 1;
}

static int validate(solver *S, const nde_ode *ode, double t0, double t1, const double *y0,
                    const nde_options *o)
{
    size_t bad;
    if (!ode) return fail(S, NDE_EINVAL, "ode is NULL");
    if (ode->dim == 0) return fail(S, NDE_EINVAL, "ode->dim must be > 0, got 0");
    if (!ode->f) return fail(S, NDE_EINVAL, "ode->f (right-hand side) is NULL");
    if (!y0) return fail(S, NDE_EINVAL, "y0 is NULL");
    if (!isfinite(t0)) return fail(S, NDE_EINVAL, "t0 must be finite, got %g", t0);
    if (!isfinite(t1)) return fail(S, NDE_EINVAL, "t1 must be finite, got %g", t1);
    if (t0 == t1) return fail(S, NDE_EINVAL, "t1 must differ from t0, both are %g", t0);
    if (!all_finite(y0, ode->dim, &bad))
        return fail(S, NDE_EINVAL, "y0[%zu] is not finite (%g)", bad, y0[bad]);
    if (!(o->rtol >= 0.0) || !isfinite(o->rtol))
        return fail(S, NDE_EINVAL, "rtol must be >= 0 and finite, got %g", o->rtol);
    if (!(o->atol >= 0.0) || !isfinite(o->atol))
        return fail(S, NDE_EINVAL, "atol must be >= 0 and finite, got %g", o->atol);
    if (!isfinite(o->dt0)) return fail(S, NDE_EINVAL, "dt0 must be finite, got %g", o->dt0);
    if (o->dt0 != 0.0 && (o->dt0 > 0.0) != (t1 > t0))
        return fail(S, NDE_EINVAL, "dt0 = %g points away from t1 = %g (t0 = %g)", o->dt0, t1, t0);
    if (o->dtmin > 0.0 && o->dt0 != 0.0 && fabs(o->dt0) < o->dtmin)
        return fail(S, NDE_EINVAL, "|dt0| = %g is below dtmin = %g", fabs(o->dt0), o->dtmin);
    if (o->rtol > 0.0 && o->atol == 0.0)
        return fail(S, NDE_EINVAL, "atol must be > 0 for adaptive steps (rtol = %g), got 0", o->rtol);
    if (o->rtol == 0.0 && o->dt0 == 0.0 && !(o->step_ts && o->n_step_ts))
        return fail(S, NDE_EINVAL, "rtol == 0 asks for constant steps, which need dt0 != 0 (or step_ts)");
    if (o->rtol > 0.0 && nde_method_embedded_order(S->m) == 0)
        return fail(S, NDE_EINVAL, "method %s has no error estimate: use rtol = 0 with dt0 (constant steps)",
                    S->m->name);
    if (o->save & ~(unsigned)(NDE_SAVE_T0 | NDE_SAVE_STEPS | NDE_SAVE_DENSE | NDE_SAVE_T1))
        return fail(S, NDE_EINVAL, "save has unknown flags 0x%x", o->save);
    if (o->n_ts && !o->ts) return fail(S, NDE_EINVAL, "ts is NULL but n_ts = %zu", o->n_ts);
    double lo = t0 < t1 ? t0 : t1, hi = t0 < t1 ? t1 : t0, dir = t1 > t0 ? 1.0 : -1.0;
    /* ts a few ULP outside (linspace round-off) count as the end point */
    double win = nde__time_shift(fmax(fabs(t0), fabs(t1)), (int)NDE__TIME_ULPS) - fmax(fabs(t0), fabs(t1));
    for (size_t i = 0; i < o->n_ts; i++) {
        double t = o->ts[i];
        if (!isfinite(t)) return fail(S, NDE_EINVAL, "ts[%zu] is not finite (%g)", i, t);
        if (t < lo - win || t > hi + win)
            return fail(S, NDE_EINVAL, "ts[%zu] = %.17g lies outside [t0, t1] = [%.17g, %.17g]", i, t, t0, t1);
        if (i && dir * (t - o->ts[i - 1]) < 0.0)
            return fail(S, NDE_EINVAL, "ts is not monotone in the direction of integration: ts[%zu] = %.17g after ts[%zu] = %.17g",
                        i, t, i - 1, o->ts[i - 1]);
    }
    if (o->n_step_ts && !o->step_ts) return fail(S, NDE_EINVAL, "step_ts is NULL but n_step_ts = %zu", o->n_step_ts);
    if (!all_finite(o->step_ts, o->n_step_ts, &bad))
        return fail(S, NDE_EINVAL, "step_ts[%zu] is not finite", bad);
    if (o->n_jump_ts && !o->jump_ts) return fail(S, NDE_EINVAL, "jump_ts is NULL but n_jump_ts = %zu", o->n_jump_ts);
    if (!all_finite(o->jump_ts, o->n_jump_ts, &bad))
        return fail(S, NDE_EINVAL, "jump_ts[%zu] is not finite", bad);
    if (o->n_events && !o->event) return fail(S, NDE_EINVAL, "event is NULL but n_events = %zu", o->n_events);
    if (!(o->event_tol >= 0.0)) return fail(S, NDE_EINVAL, "event_tol must be >= 0, got %g", o->event_tol);
    for (size_t i = 0; o->event_direction && i < o->n_events; i++)
        if (o->event_direction[i] < -1 || o->event_direction[i] > 1)
            return fail(S, NDE_EINVAL, "event_direction[%zu] must be -1, 0 or +1, got %d", i, o->event_direction[i]);
    if (!(o->pcoeff >= 0.0 && o->icoeff >= 0.0 && o->dcoeff >= 0.0) ||
        !isfinite(o->pcoeff + o->icoeff + o->dcoeff))
        return fail(S, NDE_EINVAL, "PID coefficients must be >= 0, got p=%g i=%g d=%g", o->pcoeff, o->icoeff, o->dcoeff);
    if (!(o->safety >= 0.0 && o->safety <= 1.0))
        return fail(S, NDE_EINVAL, "safety must be in (0, 1], got %g", o->safety);
    if (!(o->factormin >= 0.0 && o->factormin < 1.0))
        return fail(S, NDE_EINVAL, "factormin must be in (0, 1), got %g", o->factormin);
    if (!(o->factormax == 0.0 || o->factormax >= 1.0) || !isfinite(o->factormax))
        return fail(S, NDE_EINVAL, "factormax must be >= 1, got %g", o->factormax);
    if (!(o->factormin_accept >= 0.0 && o->factormin_accept <= 1.0))
        return fail(S, NDE_EINVAL, "factormin_accept must be in (0, 1], got %g", o->factormin_accept);
    if (!(o->dtmin >= 0.0) || !isfinite(o->dtmin)) return fail(S, NDE_EINVAL, "dtmin must be >= 0, got %g", o->dtmin);
    if (!(o->dtmax >= 0.0) || !isfinite(o->dtmax)) return fail(S, NDE_EINVAL, "dtmax must be >= 0, got %g", o->dtmax);
    if (o->dtmax > 0.0 && o->dtmin > o->dtmax)
        return fail(S, NDE_EINVAL, "dtmin = %g exceeds dtmax = %g", o->dtmin, o->dtmax);
    return NDE_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Copies times into internal coordinates, keeps those strictly inside (s0, s1), sorts. */
static size_t map_times(const solver *S, const double *src, size_t n, double *dst)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double s = S->dir * src[i];
        if (s > S->s0 && s < S->s1) dst[m++] = s;
    }
    qsort(dst, m, sizeof *dst, cmp_double);
    return m;
}

/* ---- setup ---------------------------------------------------------------------- */

static int setup(solver *S)
{
    const nde_options *o = S->o;
    size_t dim = S->dim, ne = o->n_events;
    size_t slots = nde__erk_slots(S->m);
    S->degree = nde__erk_dense_degree(S->m);
    size_t nvec = slots + 4 + (size_t)S->degree + 1;      /* k, ytmp y y1 yev, P */
    size_t ndoubles = nvec * dim + 4 * ne + o->n_ts + o->n_step_ts + o->n_jump_ts;
    if (dim > (size_t)-1 / sizeof(double) / (nvec + 1))
        return fail(S, NDE_ENOMEM, "dim = %zu is too large", dim);
    S->work_bytes = ndoubles * sizeof(double);
    S->work = nde__alloc(&S->al, S->work_bytes);
    if (!S->work) return fail(S, NDE_ENOMEM, "out of memory allocating the %zu-byte workspace", S->work_bytes);
    double *p = S->work;
    S->k = p; p += slots * dim;
    for (size_t i = 0; i < slots; i++) S->ks[i] = S->k + i * dim;
    S->ytmp = p; p += dim;
    S->y = p; p += dim;
    S->y1 = p; p += dim;
    S->yev = p; p += dim;
    S->P = p; p += (size_t)(S->degree + 1) * dim;
    S->g0 = p; p += ne;
    S->g1 = p; p += ne;
    S->gt = p; p += ne;
    S->theta = p; p += ne;
    S->ts_s = p; p += o->n_ts;
    S->step_s = p; p += o->n_step_ts;
    S->jump_s = p;
    for (size_t i = 0; i < o->n_ts; i++)   /* validated to within tol_t of [t0, t1] */
        S->ts_s[i] = fmin(fmax(S->dir * o->ts[i], S->s0), S->s1);
    S->n_ts = o->n_ts;
    S->n_step = map_times(S, o->step_ts, o->n_step_ts, S->step_s);
    S->n_jump = map_times(S, o->jump_ts, o->n_jump_ts, S->jump_s);

    /* Output: exact size when the number of points is known, else growable. */
    S->out_unit = 1 + dim;
    S->growable = (o->save & NDE_SAVE_STEPS) != 0;
    size_t npts = o->n_ts + 3;   /* + t0, t1, terminal event point */
    if (S->growable) npts += INITIAL_GROWABLE;
    if (out_reserve(S, npts)) return fail(S, NDE_ENOMEM, "out of memory allocating output for %zu points", npts);

    if (ne && event_reserve(S)) return S->sol->status;
    if (o->save & NDE_SAVE_DENSE) {
        struct nde__dense *D = nde__calloc(&S->al, 1, sizeof *D);
        if (!D) return fail(S, NDE_ENOMEM, "out of memory allocating dense output");
        D->degree = S->degree;
        D->dim = dim;
        D->dir = S->dir;
        D->rec = 2 + (size_t)(S->degree + 1) * dim;
        D->s_end = S->s0;
        D->tol_t = S->tol_t;
        S->sol->dense_ = D;
        void *q = NULL;
        if (grow(&S->al, &q, &D->cap, D->rec * sizeof(double), INITIAL_GROWABLE))
            return fail(S, NDE_ENOMEM, "out of memory allocating dense output");
        D->data = q;
    }
    return NDE_OK;
}

/* ---- step control ------------------------------------------------------------------ */

static double rms_scaled(const solver *S, const double *v, const double *y0)
{
    double sum = 0.0;
    for (size_t d = 0; d < S->dim; d++) {
        double a = v[d] / (S->atol + S->rtol * fabs(y0[d]));
        sum += a * a;
    }
    return sqrt(sum / (double)S->dim);
}

/* Hairer, Norsett & Wanner, Solving ODEs I, II.4: the automatic initial step, applied
 * in time normalised by L = |t1 - t0| (u = (s - s0)/L, du-derivative L f), so that the
 * same problem on [0, 1e-10] and [0, 1e10] starts alike (the textbook formula mixes
 * time units and has an absolute 1e-6 fallback). For L = 1 it is the textbook rule.
 * k slot 0 holds f(s0, y0); uses ytmp and slot 1 as scratch. */
static int initial_step(solver *S, double *h_out)
{
    size_t dim = S->dim;
    const double *y0 = S->y, *f0 = S->ks[0];
    double *f1 = S->ks[1], L = S->s1 - S->s0;
    double d0 = rms_scaled(S, y0, y0), d1 = L * rms_scaled(S, f0, y0);
    double u0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;   /* normalised */
    if (u0 > 1.0) u0 = 1.0;
    if (S->dtmax > 0.0) u0 = fmin(u0, S->dtmax / L);
    double h0 = u0 * L;
    for (size_t d = 0; d < dim; d++) S->ytmp[d] = y0[d] + h0 * f0[d];
    S->sol->stats.nfe++;
    int rc = S->f(S->s0 + h0, S->ytmp, f1, S->fuser);
    if (rc < 0) return fail(S, NDE_ECALLBACK, "right-hand side returned %d at t = %g", rc, to_t(S, S->s0 + h0));
    double u;
    if (rc > 0 || !all_finite(f1, dim, NULL)) {
        u = u0;   /* the probe failed: start small and let the controller adapt */
    } else {
        for (size_t d = 0; d < dim; d++) S->ytmp[d] = f1[d] - f0[d];
        double d2 = L * rms_scaled(S, S->ytmp, y0) / u0, dm = fmax(d1, d2);
        double k = (double)(S->m->embedded_order + 1);
        double u1 = dm <= 1e-15 ? fmax(1e-6, u0 * 1e-3) : pow(0.01 / dm, 1.0 / k);
        u = fmin(100.0 * u0, u1);
    }
    double h = fmin(u, 1.0) * L;
    if (S->dtmax > 0.0) h = fmin(h, S->dtmax);
    if (S->dtmin > 0.0) h = fmax(h, S->dtmin);
    *h_out = h;
    return NDE_OK;
}

static double pid_factor(const solver *S, double err, double inv1, double inv2, int accept)
{
    if (S->pure_i) {   /* factor = safety err^-b1 is monotone in err: skip pow when clipped */
        if (accept) {
            if (err <= S->err_grow_max) return S->fmax;
            if (err >= S->err_shrink_max) return S->fmin_accept;
        } else if (err >= S->err_reject_min) {
            return S->fmin;
        }
    }
    double inv = err == 0.0 ? INFINITY : 1.0 / err;
    double f = S->safety * pow(inv, S->b1);
    if (S->b2 != 0.0) f *= pow(inv1, S->b2);
    if (S->b3 != 0.0) f *= pow(inv2, S->b3);
    double lo = accept ? S->fmin_accept : S->fmin, hi = accept ? S->fmax : S->safety;
    if (!(f >= lo)) f = lo;   /* also catches NaN */
    if (f > hi) f = hi;
    return f;
}

/* ---- events ----------------------------------------------------------------------- */

static int eval_events(solver *S, double s, const double *y, double *g)
{
    int rc = S->o->event(to_t(S, s), y, g, S->ode->user);
    if (rc < 0) return fail(S, NDE_ECALLBACK, "event function returned %d at t = %g", rc, to_t(S, s));
    if (rc > 0) return fail(S, NDE_ECALLBACK, "event function returned %d at t = %g (events cannot retry)", rc, to_t(S, s));
    return NDE_OK;
}

static int crossed(int dirn, double ga, double gb)
{
    if (dirn >= 0 && ga < 0.0 && gb >= 0.0) return 1;
    if (dirn <= 0 && ga > 0.0 && gb <= 0.0) return 1;
    return 0;
}

/* Root of g_i on the step's interpolant in theta in (0, 1] by the Illinois variant of
 * regula falsi, to |dtheta| h <= event_tol + 4 ULP(s). */
static int locate(solver *S, size_t i, double s, double h, double *theta_out)
{
    double a = 0.0, b = 1.0, ga = S->g0[i], gb = S->g1[i];
    if (gb == 0.0) { *theta_out = 1.0; return NDE_OK; }   /* the root is the step end */
    double tol = (S->o->event_tol + 4.0 * DBL_EPSILON * fmax(fabs(s), fabs(s + h))) / h;
    int side = 0;
    for (int it = 0; it < MAX_EVENT_ITERS && b - a > tol; it++) {
        double c = (a * gb - b * ga) / (gb - ga);
        if (!(c > a && c < b)) c = 0.5 * (a + b);
        nde__poly_eval(S->P, S->degree, S->dim, c, S->yev);
        int rc = eval_events(S, s + c * h, S->yev, S->gt);
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
    *theta_out = b;   /* the bracket end on the far side of the crossing */
    return NDE_OK;
}

/* ---- the loop ----------------------------------------------------------------------- */

/* Saves every ts at or before s (within ULPs) from y (exactly at s) or P (inside). */
static int save_ts_upto(solver *S, double s_from, double h, double s_to, const double *y_to, int have_P)
{
    while (S->it < S->n_ts) {
        double ts = S->ts_s[S->it];
        int close = fabs(ts - s_to) <= S->tol_t;
        if (ts > s_to && !close) break;
        int at_end = close || ts >= s_to;
        int rc;
        if (at_end || !have_P) {
            rc = save_point(S, ts, y_to);
        } else {
            double theta = (ts - s_from) / h;
            if (theta < 0.0) theta = 0.0;
            nde__poly_eval(S->P, S->degree, S->dim, theta, S->yev);
            rc = save_point(S, ts, S->yev);
        }
        if (rc) return rc;
        S->it++;
    }
    return NDE_OK;
}

static int pending_ts_inside(const solver *S, double s_end)
{
    return S->it < S->n_ts && S->ts_s[S->it] < s_end - S->tol_t;
}

static int run(solver *S)
{
    const nde_method *m = S->m;
    const nde_options *o = S->o;
    nde_solution *sol = S->sol;
    nde_stats *st = &sol->stats;
    size_t dim = S->dim, ne = o->n_events;
    int rc, end_slot = nde__erk_end_slot(m);
    double s = S->s0, h_prop = 0.0, inv1 = 1.0, inv2 = 1.0;
    size_t kgrid = 0, nonfinite_run = 0;
    int k0_valid = 0, last_nonfinite = 0;

    if (o->save & NDE_SAVE_T0 && (rc = save_point(S, s, S->y))) return rc;
    if ((rc = save_ts_upto(S, s, 1.0, s, S->y, 0))) return rc;
    if (ne && (rc = eval_events(S, s, S->y, S->g0))) return rc;

    st->nfe++;
    rc = S->f(s, S->y, S->ks[0], S->fuser);
    if (rc) return fail(S, NDE_ECALLBACK, "right-hand side returned %d at t0 = %g", rc, to_t(S, s));
    if (!all_finite(S->ks[0], dim, NULL))
        return fail(S, NDE_ENONFINITE, "right-hand side is not finite at t0 = %g", to_t(S, s));
    k0_valid = 1;

    if (S->adaptive) {
        if (S->dt0 != 0.0) h_prop = fabs(S->dt0);
        else if ((rc = initial_step(S, &h_prop))) return rc;
        if (S->dtmax > 0.0 && h_prop > S->dtmax) h_prop = S->dtmax;
    }

    while (s < S->s1) {
        if (st->steps >= S->max_steps)
            return fail(S, NDE_EMAXSTEPS, "reached max_steps = %zu at t = %.17g before t1 = %.17g",
                        S->max_steps, to_t(S, s), to_t(S, S->s1));
        if (!k0_valid) {
            st->nfe++;
            rc = S->f(s, S->y, S->ks[0], S->fuser);
            if (rc < 0) return fail(S, NDE_ECALLBACK, "right-hand side returned %d at t = %g", rc, to_t(S, s));
            if (rc > 0) return fail(S, NDE_ECALLBACK, "right-hand side returned %d at an accepted point t = %g", rc, to_t(S, s));
            k0_valid = 1;
        }
        /* Proposed end of the step, then clipping. */
        double cand, clip_at = INFINITY;
        int grid_step = 0, jump_clip = 0;
        if (S->adaptive) cand = s + h_prop;
        else if (S->step_to) cand = INFINITY;
        else { cand = S->s0 + (double)(kgrid + 1) * S->dt0; grid_step = 1; }
        while (S->istep < S->n_step && S->step_s[S->istep] <= s + S->tol_t) S->istep++;
        /* A jump at or within one ULP ahead of s leaves no room for a step before it:
         * restart just past it, as after a step clipped to it. */
        if (S->ijump < S->n_jump && nextafter(S->jump_s[S->ijump], -INFINITY) <= s) {
            double jump = S->jump_s[S->ijump++];
            if (jump > s) {
                double after = nextafter(nextafter(jump, INFINITY), INFINITY);
                s = after < S->s1 ? after : S->s1;
                k0_valid = 0;
                if ((rc = save_ts_upto(S, s, 1.0, s, S->y, 0))) return rc;
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
            if (grid_step && cand <= clip_at + S->tol_t) kgrid++;
            clipped = cand > clip_at;
            grid_step = 0;
            cand = clip_at;
        } else {
            jump_clip = 0;
        }
        if (cand >= S->s1_near) { cand = S->s1; jump_clip = 0; }
        double h = cand - s;
        if (!(h > 0.0) || s + h == s) {
            if (last_nonfinite)
                return fail(S, NDE_ENONFINITE, "non-finite values (or the right-hand side refusing steps) at t = %.17g "
                            "persisted down to step-size underflow", to_t(S, s));
            return fail(S, NDE_EDTMIN, "step size underflow at t = %.17g (h = %g)", to_t(S, s), h);
        }

        st->steps++;
        rc = nde__erk_step(&S->plan, S->f, S->fuser, s, h, S->y, S->y1, NULL, NULL, S->ks, S->ytmp,
                           dim, &st->nfe);
        if (rc < 0) return fail(S, NDE_ECALLBACK, "right-hand side returned %d in the step from t = %g", rc, to_t(S, s));
        double err = 0.0;
        int ok;
        if (rc > 0) ok = 0, err = INFINITY;
        else if (S->adaptive) {
            err = nde__erk_error_norm(&S->plan, h, S->ks, S->y, S->y1, dim, S->rtol, S->atol);
            ok = err <= 1.0;
        }
        else { ok = all_finite(S->y1, dim, NULL); if (!ok) err = INFINITY; }
        if (o->on_step && o->on_step(to_t(S, s), S->dir * h, err, ok, o->on_step_user) < 0)
            return fail(S, NDE_ECALLBACK, "on_step asked to stop at t = %g", to_t(S, s));

        if (!ok) {
            st->rejected++;
            last_nonfinite = isinf(err);
            if (isinf(err)) {
                if (!S->adaptive)
                    return fail(S, NDE_ENONFINITE, "%s in the constant step from t = %.17g (h = %g), which cannot shrink",
                                rc > 0 ? "right-hand side asked for a smaller step" : "non-finite values", to_t(S, s), h);
                if (++nonfinite_run > MAX_NONFINITE_REJECTS)
                    return fail(S, NDE_ENONFINITE, "%zu consecutive steps from t = %.17g failed with %s",
                                nonfinite_run, to_t(S, s), rc > 0 ? "the right-hand side asking for a smaller step" : "non-finite values");
            }
            h_prop = h * pid_factor(S, err, inv1, inv2, 0);
            if (S->dtmin > 0.0 && h_prop < S->dtmin)
                return fail(S, last_nonfinite ? NDE_ENONFINITE : NDE_EDTMIN, "step size %g fell below dtmin = %g at t = %.17g", h_prop, S->dtmin, to_t(S, s));
            continue;   /* stage 0 (f at s) is still valid */
        }
        nonfinite_run = 0;
        st->accepted++;
        double s_end = cand;
        const int at_end = s_end == S->s1;

        /* f(s_end, y1): free for FSAL methods; otherwise it is the next step's first
         * stage, so compute it now unless the solve ends or jumps here. */
        int end_valid = m->fsal;
        int need_P = (o->save & NDE_SAVE_DENSE) || pending_ts_inside(S, s_end);
        if (ne) {
            if ((rc = eval_events(S, s_end, S->y1, S->g1))) return rc;
            for (size_t i = 0; i < ne && !need_P; i++)
                need_P = crossed(o->event_direction ? o->event_direction[i] : 0, S->g0[i], S->g1[i]);
        }
        if (!end_valid && (need_P || (!at_end && !jump_clip))) {
            rc = nde__erk_eval_end(m, S->f, S->fuser, s, h, S->y1, S->ks, dim, &st->nfe);
            if (rc < 0) return fail(S, NDE_ECALLBACK, "right-hand side returned %d at t = %g", rc, to_t(S, s_end));
            end_valid = rc == 0;
            if (rc > 0 && need_P)
                return fail(S, NDE_ECALLBACK, "right-hand side returned %d at accepted point t = %g", rc, to_t(S, s_end));
        }
        if (need_P) {
            rc = nde__erk_dense_coeffs(&S->plan, S->f, S->fuser, s, h, S->y, S->y1, S->ks, S->ytmp, dim, S->P, &st->nfe);
            if (rc) return fail(S, NDE_ECALLBACK, "right-hand side returned %d evaluating dense output on [%g, %g]",
                                rc, to_t(S, s), to_t(S, s_end));
        }

        /* Events: locate every crossing once, then take them in time order; a
         * non-terminal one is recorded and the next considered, a terminal one ends
         * the solve. theta[i] < 0 marks "no (more) crossing of condition i here". */
        if (ne) {
            for (size_t i = 0; i < ne; i++) {
                S->theta[i] = -1.0;
                if (!crossed(o->event_direction ? o->event_direction[i] : 0, S->g0[i], S->g1[i])) continue;
                if ((rc = locate(S, i, s, h, &S->theta[i]))) return rc;
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
                else nde__poly_eval(S->P, S->degree, dim, th_first, S->yev);
                int terminal = o->event_terminal ? o->event_terminal[first] != 0 : 1;
                if ((rc = event_record(S, s_ev, (int)first, S->yev))) return rc;
                if (terminal) {
                    memcpy(S->y1, S->yev, dim * sizeof *S->y1);
                    if ((rc = save_ts_upto(S, s, h, s_ev, S->y1, 1))) return rc;
                    if ((rc = dense_append(S, s, h))) return rc;
                    if (sol->dense_) sol->dense_->s_end = s_ev;
                    memcpy(S->y, S->y1, dim * sizeof *S->y);
                    int want = (S->n_ts == 0) || (o->save & (NDE_SAVE_STEPS | NDE_SAVE_T1));
                    if (want && (rc = save_point(S, s_ev, S->y))) return rc;
                    return fail(S, NDE_EVENT, "event %zu fired at t = %.17g", first, to_t(S, s_ev));
                }
            }
            memcpy(S->g0, S->g1, ne * sizeof *S->g0);
        }

        if ((rc = save_ts_upto(S, s, h, s_end, S->y1, need_P))) return rc;
        if (o->save & NDE_SAVE_DENSE && (rc = dense_append(S, s, h))) return rc;
        if (o->save & NDE_SAVE_STEPS && (rc = save_point(S, s_end, S->y1))) return rc;

        /* Advance: y <- y1 and (when valid) stage 0 <- f(s_end, y1), by pointer swaps. */
        { double *tmp = S->y; S->y = S->y1; S->y1 = tmp; }
        if (end_valid && end_slot != 0) {
            double *tmp = S->ks[0]; S->ks[0] = S->ks[end_slot]; S->ks[end_slot] = tmp;
        }
        k0_valid = end_valid;
        if (grid_step) kgrid++;
        if (S->adaptive) {
            double f = pid_factor(S, err, inv1, inv2, 1);
            double inv = err == 0.0 ? INFINITY : 1.0 / err;
            inv2 = inv1;
            inv1 = (inv == 0.0 || isinf(inv)) ? 1.0 : inv;
            double hn = h * f;
            if (clipped && h_prop > hn) hn = h_prop;   /* a clipped step says nothing new */
            if (S->dtmax > 0.0 && hn > S->dtmax) hn = S->dtmax;
            if (S->dtmin > 0.0 && hn < S->dtmin)   /* only with factormin_accept < 1 */
                return fail(S, NDE_EDTMIN, "step size %g fell below dtmin = %g at t = %.17g", hn, S->dtmin, to_t(S, s_end));
            h_prop = hn;
        }
        s = s_end;
        if (jump_clip) {
            /* Skip the discontinuity: restart two ULPs past it with fresh f. */
            double after = nextafter(nextafter(S->jump_s[S->ijump], INFINITY), INFINITY);
            s = after < S->s1 ? after : S->s1;
            k0_valid = 0;
            if (!S->adaptive && !S->step_to) {
                /* constant steps continue on the dt0 grid after the jump (adaptive
                 * steps keep their proposal) */
                while (S->s0 + (double)(kgrid + 1) * S->dt0 <= s) kgrid++;
            }
            if ((rc = save_ts_upto(S, s, 1.0, s, S->y, 0))) return rc;
        }
    }
    int want_t1 = (S->n_ts == 0 && !(o->save & NDE_SAVE_STEPS)) ||
                  ((o->save & NDE_SAVE_T1) && !(sol->n && sol->t[sol->n - 1] == to_t(S, S->s1)));
    if (want_t1 && (rc = save_point(S, S->s1, S->y))) return rc;
    return NDE_OK;
}

int nde_ode_solve(const nde_ode *ode, double t0, double t1, const double *y0,
                  const nde_options *opts, nde_solution *sol)
{
    static const nde_options defaults = NDE_OPTIONS_INIT;
    if (!sol) return NDE_EINVAL;
    memset(sol, 0, sizeof *sol);
    const nde_options *o = opts ? opts : &defaults;
    solver S;
    memset(&S, 0, sizeof S);
    S.sol = sol;
    S.o = o;
    S.al = nde__allocator_resolve(o->allocator);
    sol->alloc_ = S.al;
    sol->dim = ode ? ode->dim : 0;
    S.m = o->method ? o->method : nde_method_find("tsit5");
    if (!S.m) return fail(&S, NDE_EINVAL, "no default method registered");
    int rc = validate(&S, ode, t0, t1, y0, o);
    if (rc) return rc;

    S.ode = ode;
    S.dim = ode->dim;
    nde__erk_plan_init(&S.plan, S.m);
    S.dir = t1 > t0 ? 1.0 : -1.0;
    S.s0 = S.dir * t0;
    S.s1 = S.dir * t1;
    if (S.dir > 0) { S.f = ode->f; S.fuser = ode->user; }
    else {
        S.rev.f = ode->f; S.rev.user = ode->user; S.rev.dim = ode->dim;
        S.f = rev_rhs; S.fuser = &S.rev;
    }
    S.adaptive = o->rtol > 0.0;
    S.step_to = !S.adaptive && o->dt0 == 0.0;
    S.rtol = o->rtol;
    S.atol = o->atol;
    S.dt0 = fabs(o->dt0);
    S.dtmin = o->dtmin;
    S.dtmax = o->dtmax;
    S.safety = o->safety > 0.0 ? o->safety : 0.9;
    S.fmin = o->factormin > 0.0 ? o->factormin : 0.2;
    S.fmax = o->factormax > 0.0 ? o->factormax : 10.0;
    S.fmin_accept = o->factormin_accept > 0.0 ? o->factormin_accept : 1.0;
    double p = o->pcoeff, i = o->icoeff, d = o->dcoeff;
    if (p == 0.0 && i == 0.0 && d == 0.0) i = 1.0;
    double k = (double)(S.m->embedded_order + 1);
    S.b1 = (p + i + d) / k;
    S.b2 = -(p + 2.0 * d) / k;
    S.b3 = d / k;
    S.max_steps = o->max_steps ? o->max_steps : DEFAULT_MAX_STEPS;
    double scale = fmax(fabs(S.s0), fabs(S.s1));
    S.tol_t = nde__time_shift(scale, (int)NDE__TIME_ULPS) - scale;
    S.s1_near = S.s1 - S.tol_t;
    S.pure_i = S.b2 == 0.0 && S.b3 == 0.0;
    S.err_grow_max = pow(S.safety / S.fmax, 1.0 / S.b1);
    S.err_shrink_max = pow(S.safety / S.fmin_accept, 1.0 / S.b1);
    S.err_reject_min = pow(S.safety / S.fmin, 1.0 / S.b1);
    S.save = o->save;

    if ((rc = setup(&S)) == NDE_OK) {
        memcpy(S.y, y0, S.dim * sizeof *S.y);
        rc = run(&S);
    }
    nde__free(&S.al, S.work, S.work_bytes);
    sol->status = rc;
    if (rc == NDE_OK) sol->message_[0] = '\0';
    return rc;
}

/* ---- solution access ----------------------------------------------------------------- */

int nde_solution_eval(const nde_solution *sol, double t, double *y)
{
    if (!sol || !y || !isfinite(t)) return NDE_EINVAL;
    const struct nde__dense *D = sol->dense_;
    if (!D || D->n == 0) return NDE_EINVAL;
    double s = D->dir * t;
    double lo_s = D->data[0], hi_s = D->s_end;
    if (s < lo_s - D->tol_t || s > hi_s + D->tol_t) return NDE_EINVAL;
    /* Last record whose start is <= s. */
    size_t lo = 0, hi = D->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (D->data[mid * D->rec] <= s) lo = mid; else hi = mid - 1;
    }
    const double *r = D->data + lo * D->rec;
    double theta = (s - r[0]) / r[1];
    if (theta < 0.0) theta = 0.0;
    if (theta > 1.0) theta = 1.0;
    nde__poly_eval(r + 2, D->degree, D->dim, theta, y);
    return NDE_OK;
}

void nde_solution_free(nde_solution *sol)
{
    if (!sol) return;
    nde_allocator al = nde__allocator_resolve(&sol->alloc_);
    if (sol->t) nde__free(&al, sol->t, sol->cap_ * (1 + sol->dim) * sizeof(double));
    if (sol->event_t)
        nde__free(&al, sol->event_t, sol->event_cap_ * (sizeof(double) * (1 + sol->dim) + sizeof(int)));
    struct nde__dense *D = sol->dense_;
    if (D) {
        nde__free(&al, D->data, dense_bytes(D));
        nde__free(&al, D, sizeof *D);
    }
    sol->t = sol->y = sol->event_t = sol->event_y = NULL;
    sol->event_which = NULL;
    sol->dense_ = NULL;
    sol->n = sol->n_event_hits = sol->cap_ = sol->event_cap_ = 0;
}

const char *nde_solution_message(const nde_solution *sol)
{
    return sol ? sol->message_ : "solution is NULL";
}
