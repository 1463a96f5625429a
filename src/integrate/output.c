/* Output of the integrate loop: saved points, event records and the dense store,
 * and the public accessors of nde_solution. Output that grows with the number of
 * steps grows geometrically; capacity is kept across resets of a solver, so repeated
 * solves of the same shape allocate nothing. */
#include "integrate/internal.h"

#include <math.h>
#include <string.h>

static double to_t(const nde_solver *S, double s) { return S->dir * s; }

/* Output layout: sol->t has cap entries, sol->y = sol->t + cap (cap x dim). Growing
 * moves both into one new block so that a failure leaves the old one intact. */
int nde__int_out_reserve(nde_solver *S, size_t need)
{
    nde_solution *sol = &S->sol;
    if (need <= sol->cap_) return 0;
    size_t ncap = sol->cap_ ? sol->cap_ : NDE__INT_INITIAL_GROWABLE, bytes;
    while (ncap < need) {
        if (ncap > (size_t)-1 / 2) return -1;
        ncap *= 2;
    }
    if (nde__size_mul(ncap, S->out_unit, &bytes) || nde__size_mul(bytes, sizeof(double), &bytes))
        return -1;
    double *nb = nde__alloc(&S->al, bytes);
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

int nde__int_save_point(nde_solver *S, double s, const double *y)
{
    nde_solution *sol = &S->sol;
    if (sol->n == sol->cap_ && nde__int_out_reserve(S, sol->n + 1))
        return nde__int_fail(S, NDE_ENOMEM, "out of memory growing the saved output past %zu points", sol->n);
    if (S->on_save) {
        int rc = S->on_save(S->hook_ctx, S, y == S->yev, S->save_theta);
        if (rc) return nde__int_fail(S, rc, "out of memory recording where saved point %zu comes from", sol->n);
    }
    sol->t[sol->n] = to_t(S, s);
    memcpy(sol->y + sol->n * S->dim, y, S->dim * sizeof *y);
    sol->n++;
    return 0;
}

/* Saves every ts at or before s_to from y_to (when within the time window of s_to:
 * the same time) or from the step's interpolant S->P (inside the step [s_from, s_from +
 * h]). A ts a few ULP after s_to waits for the point that passes it, so saved times
 * never go back, whatever comes next (a step end before a jump, an event). */
int nde__int_save_ts_upto(nde_solver *S, double s_from, double h, double s_to,
                          const double *y_to, int have_P)
{
    while (S->it < S->n_ts) {
        double ts = S->ts_s[S->it];
        int close = fabs(ts - s_to) <= S->tol_t;
        if (ts > s_to) break;
        int at_end = close || ts >= s_to;
        int rc;
        if (at_end || !have_P) {
            rc = nde__int_save_point(S, ts, y_to);
        } else {
            double theta = (ts - s_from) / h;
            if (theta < 0.0) theta = 0.0;
            nde__int_poly_eval(S->P, S->degree, S->dim, theta, S->yev);
            for (size_t d = 0; d < S->dim; d++)
                if (!isfinite(S->yev[d]))
                    return nde__int_fail(S, NDE_ENONFINITE, "the dense interpolant is not finite at t = %.17g",
                                         S->dir * ts);
            S->save_theta = theta;
            rc = nde__int_save_point(S, ts, S->yev);
        }
        if (rc) return rc;
        S->it++;
    }
    return NDE_OK;
}

static size_t event_unit(size_t dim) { return sizeof(double) * (1 + dim) + sizeof(int); }

int nde__int_event_reserve(nde_solver *S)
{
    nde_solution *sol = &S->sol;
    size_t ncap = sol->event_cap_ ? 2 * sol->event_cap_ : NDE__INT_INITIAL_EVENT_RECORDS, bytes;
    if (nde__size_mul(ncap, event_unit(S->dim), &bytes))
        return nde__int_fail(S, NDE_ENOMEM, "too many events");
    char *nb = nde__alloc(&S->al, bytes);
    if (!nb) return nde__int_fail(S, NDE_ENOMEM, "out of memory recording event %zu", sol->n_event_hits);
    double *nt = (double *)nb, *ny = nt + ncap;
    int *nw = (int *)(ny + ncap * S->dim);
    if (sol->event_t) {
        memcpy(nt, sol->event_t, sol->n_event_hits * sizeof(double));
        memcpy(ny, sol->event_y, sol->n_event_hits * S->dim * sizeof(double));
        memcpy(nw, sol->event_which, sol->n_event_hits * sizeof(int));
        nde__free(&S->al, sol->event_t, sol->event_cap_ * event_unit(S->dim));
    }
    sol->event_t = nt; sol->event_y = ny; sol->event_which = nw;
    sol->event_cap_ = ncap;
    return NDE_OK;
}

int nde__int_event_record(nde_solver *S, double s, int which, const double *y)
{
    nde_solution *sol = &S->sol;
    if (sol->n_event_hits == sol->event_cap_) {
        int rc = nde__int_event_reserve(S);
        if (rc) return rc;
    }
    size_t i = sol->n_event_hits++;
    sol->event_t[i] = to_t(S, s);
    sol->event_which[i] = which;
    memcpy(sol->event_y + i * S->dim, y, S->dim * sizeof *y);
    return 0;
}

/* ---- dense store ---------------------------------------------------------------- */

static size_t dense_bytes(const struct nde__dense *d) { return d->cap * d->rec * sizeof(double); }

static int dense_grow(const nde_allocator *al, struct nde__dense *D, size_t need)
{
    if (need <= D->cap) return 0;
    size_t ncap = D->cap ? D->cap : NDE__INT_INITIAL_GROWABLE, bytes;
    while (ncap < need) {
        if (ncap > (size_t)-1 / 2) return -1;
        ncap *= 2;
    }
    if (nde__size_mul(ncap, D->rec, &bytes) || nde__size_mul(bytes, sizeof(double), &bytes)) return -1;
    void *q = nde__realloc(al, D->data, dense_bytes(D), bytes);
    if (!q) return -1;
    D->data = q;
    D->cap = ncap;
    return 0;
}

int nde__int_dense_create(nde_solver *S)
{
    struct nde__dense *D = nde__calloc(&S->al, 1, sizeof *D);
    if (!D) return nde__int_fail(S, NDE_ENOMEM, "out of memory allocating dense output");
    D->degree = S->degree;
    D->dim = S->dim;
    D->rec = 2 + (size_t)(S->degree + 1) * S->dim;
    S->sol.dense_ = D;
    if (dense_grow(&S->al, D, NDE__INT_INITIAL_GROWABLE))
        return nde__int_fail(S, NDE_ENOMEM, "out of memory allocating dense output");
    return NDE_OK;
}

int nde__int_dense_append(nde_solver *S, double s, double h)
{
    struct nde__dense *D = S->sol.dense_;
    if (!D) return 0;
    if (D->n == D->cap && dense_grow(&S->al, D, D->n + 1))
        return nde__int_fail(S, NDE_ENOMEM, "out of memory growing the dense output past %zu steps", D->n);
    double *r = D->data + D->n * D->rec;
    r[0] = s;
    r[1] = h;
    memcpy(r + 2, S->P, (size_t)(S->degree + 1) * S->dim * sizeof(double));
    D->n++;
    D->s_end = s + h;
    return 0;
}

void nde__int_poly_eval(const double *P, int degree, size_t dim, double theta, double *y)
{
    const double *top = P + (size_t)degree * dim;
    memcpy(y, top, dim * sizeof *y);
    for (int j = degree - 1; j >= 0; j--) {
        const double *pj = P + (size_t)j * dim;
        for (size_t d = 0; d < dim; d++) y[d] = y[d] * theta + pj[d];
    }
}

/* ---- public solution access ---------------------------------------------------------- */

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
    nde__int_poly_eval(r + 2, D->degree, D->dim, theta, y);
    return NDE_OK;
}

void nde__int_solution_release(nde_solution *sol)
{
    nde_allocator al = nde__allocator_resolve(&sol->alloc_);
    if (sol->t) nde__free(&al, sol->t, sol->cap_ * (1 + sol->dim) * sizeof(double));
    if (sol->event_t) nde__free(&al, sol->event_t, sol->event_cap_ * event_unit(sol->dim));
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

void nde_solution_free(nde_solution *sol)
{
    if (sol) nde__int_solution_release(sol);
}

const char *nde_solution_message(const nde_solution *sol)
{
    return sol ? sol->message_ : "solution is NULL";
}
