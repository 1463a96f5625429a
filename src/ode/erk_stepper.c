/* The explicit Runge-Kutta family as a stepper of the integrate loop: the engine of
 * stepper.c behind nde__int_ops. Stage storage is an array of slot pointers, so that
 * FSAL reuse of f(t1, y1) as the next first stage is a pointer swap, not a copy. */
#include "ode/erk.h"

#include <math.h>
#include <string.h>

typedef struct erk_state {
    /* the table-specialised kernels when the system is small enough (else NULL) */
    nde__erk_step_fn step_fixed;
    nde__erk_norm_fn norm_fixed;
    nde__erk_plan plan;
    int end_slot;
    double *ytmp;
    double *scratch;                   /* 2 x dim: the error-norm fallback */
    double *ks[NDE__MAX_STAGES + 1];   /* stage slots */
} erk_state;

/* The state struct padded to a multiple of sizeof(double), then the vectors. */
static size_t header_bytes(void)
{
    return (sizeof(erk_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static size_t erk_size(const nde_method *m, size_t dim)
{
    size_t n = 0;
    if (nde__size_muladd(&n, nde__erk_slots(m) + 3, dim) ||
        nde__size_mul(n, sizeof(double), &n) || nde__size_add(n, header_bytes(), &n))
        return 0;
    return n;
}

static void erk_init(nde__int_stepper *st)
{
    erk_state *E = st->state;
    const nde_method *m = st->m;
    size_t slots = nde__erk_slots(m), dim = st->dim;
    nde__erk_plan_init(&E->plan, m);
    const nde__erk_tableau *tab = nde__erk_tab(m);
    int fixed = dim < NDE__FIXED_MAX_DIM && tab->step_fixed && tab->norm_fixed;
    E->step_fixed = fixed ? tab->step_fixed : NULL;
    E->norm_fixed = fixed ? tab->norm_fixed : NULL;
    E->end_slot = nde__erk_end_slot(m);
    double *k = (double *)((char *)st->state + header_bytes());
    for (size_t i = 0; i < slots; i++) E->ks[i] = k + i * dim;
    E->ytmp = k + slots * dim;
    E->scratch = E->ytmp + dim;
}

static int erk_dense_degree(const nde_method *m) { return nde__erk_dense_degree(m); }

static int erk_start(nde__int_stepper *st, double s, const double *y)
{
    erk_state *E = st->state;
    st->stats->nfe++;
    return st->f(s, y, E->ks[0], st->user);
}

static const double *erk_start_f(const nde__int_stepper *st)
{
    const erk_state *E = st->state;
    return E->ks[0];
}

/* Hairer's stiffness estimate of the last attempt over the method's boundary (see
 * nde_step_info): h |k_{s-1} - k_{s-2}| / |y1 - Y_{s-2}|, y1 - Y_{s-2} = h sum_j (b_j -
 * a_{s-2,j}) k_j, in Euclidean norms as dopri5.f; NaN without a test. */
static double stiffness(const nde__int_stepper *st)
{
    const erk_state *E = st->state;
    const nde__erk_tableau *T = nde__erk_tab(st->m);
    if (!(T->stiff_boundary > 0.0)) return NAN;
    int s = st->m->stages, r = s - 2;
    const double *kl = E->ks[s - 1], *kp = E->ks[r], *ar = T->a + (size_t)r * (size_t)s;
    double num = 0.0, den = 0.0;
    for (size_t q = 0; q < st->dim; q++) {
        double d = kl[q] - kp[q], w = 0.0;
        for (int j = 0; j < s - 1; j++) w += (T->b[j] - ar[j]) * E->ks[j][q];
        num += d * d;
        den += w * w;
    }
    /* h |k_{s-1} - k_{s-2}| / |y1 - Y_{s-2}|: the h of the denominator cancels */
    if (!(den > 0.0)) return num > 0.0 ? INFINITY : 0.0;
    return sqrt(num / den) / T->stiff_boundary;
}

static int erk_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                       double *err)
{
    erk_state *E = st->state;
    int rc;
    double e;
    if (E->step_fixed) {   /* small systems: straight to the specialised kernels */
        rc = E->step_fixed(st->f, st->user, s, h, y, y1, E->ks, E->ytmp, st->dim, &st->stats->nfe);
        if (!rc && !err && st->want_stiffness) st->stiffness = stiffness(st);
        if (rc || !err) return rc;
        e = E->norm_fixed(h, E->ks, y, y1, st->err_dim, st->rtol, st->atol);
    } else {
        rc = nde__erk_step(&E->plan, st->f, st->user, s, h, y, y1, NULL, NULL, E->ks, E->ytmp, st->dim,
                           &st->stats->nfe);
        if (!rc && !err && st->want_stiffness) st->stiffness = stiffness(st);
        if (rc || !err) return rc;
        e = nde__erk_error_norm(&E->plan, h, E->ks, y, y1, st->err_dim, st->rtol, st->atol);
    }
    /* +Inf from the fused norm is either a non-finite value or squares that overflowed
     * (tolerances near 1e-200): tell them apart, rarely, with the scaled norm. */
    if (isinf(e))
        e = nde__erk_error_norm_scaled(&E->plan, h, E->ks, y, y1, st->err_dim, st->rtol, st->atol, E->scratch);
    *err = e;
    if (st->want_stiffness) st->stiffness = stiffness(st);
    return 0;
}

/* accept with dense output, out of line so that the common path stays short:
 * f(s + h, y1) when the method is not FSAL (the Hermite interpolant needs it), then
 * the interpolant. */
static __attribute__((noinline)) int erk_accept_slow(nde__int_stepper *st, double s, double h,
                                                     const double *y, const double *y1,
                                                     unsigned what, double *P, int *start_valid)
{
    erk_state *E = st->state;
    const nde_method *m = st->m;
    const int need_dense = (what & NDE__INT_NEED_DENSE) != 0;
    int end_valid = m->fsal;
    int rc;
    if (!end_valid && (need_dense || (what & NDE__INT_CONTINUE))) {
        rc = nde__erk_eval_end(m, st->f, st->user, s, h, y1, E->ks, st->dim, &st->stats->nfe);
        if (rc < 0 || (rc > 0 && need_dense)) return rc;
        end_valid = rc == 0;
    }
    if (need_dense &&
        (rc = nde__erk_dense_coeffs(&E->plan, st->f, st->user, s, h, y, y1, E->ks, E->ytmp, st->dim, P,
                                    &st->stats->nfe)))
        return rc;
    if (end_valid) {   /* end_slot >= 1 always */
        double *tmp = E->ks[0]; E->ks[0] = E->ks[E->end_slot]; E->ks[E->end_slot] = tmp;
    }
    *start_valid = end_valid;
    return 0;
}

static int erk_accept(nde__int_stepper *st, double s, double h, const double *y,
                      const double *y1, unsigned what, double *P, int *start_valid)
{
    erk_state *E = st->state;
    const nde_method *m = st->m;
    if (what & NDE__INT_NEED_DENSE) return erk_accept_slow(st, s, h, y, y1, what, P, start_valid);
    if (!m->fsal) {   /* f(s + h, y1) only when the next step starts there */
        if (!(what & NDE__INT_CONTINUE)) { *start_valid = 0; return 0; }
        st->stats->nfe++;
        int rc = st->f(s + h, y1, E->ks[E->end_slot], st->user);
        if (rc < 0) return rc;
        if (rc > 0) { *start_valid = 0; return 0; }
    }
    double *tmp = E->ks[0]; E->ks[0] = E->ks[E->end_slot]; E->ks[E->end_slot] = tmp;
    *start_valid = 1;
    return 0;
}

double *const *nde__erk_stepper_stages(const nde__int_stepper *st)
{
    const erk_state *E = st->state;
    return E->ks;
}

static size_t erk_record_vectors(const nde_method *m) { return (size_t)m->stages; }

static void erk_record(const nde__int_stepper *st, double *dst)
{
    const erk_state *E = st->state;
    for (int i = 0; i < st->m->stages; i++) memcpy(dst + (size_t)i * st->dim, E->ks[i], st->dim * sizeof *dst);
}

const nde__int_ops nde__erk_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .size = erk_size,
    .init = erk_init,
    .dense_degree = erk_dense_degree,
    .start = erk_start,
    .start_f = erk_start_f,
    .attempt = erk_attempt,
    .accept = erk_accept,
    .record_vectors = erk_record_vectors,
    .record = erk_record,
};
