/* Reversible Heun for ODEs (Kidger, Chen & Lyons 2021, "Efficient and accurate
 * gradients for neural SDEs", the ODE case of their algebraically reversible solver;
 * Diffrax's ReversibleHeun) as a stepper of the integrate loop.
 *
 * The state is (y, yh, fh) with fh = f(s, yh); a start sets yh = y (the first step,
 * and after every jump the loop restarts at). A step from s to s + h:
 *     yh1 = 2 y0 - yh0 + h fh0
 *     fh1 = f(s + h, yh1)                       (the step's one evaluation)
 *     y1  = y0 + (h/2) (fh0 + fh1)
 * and its exact algebraic inverse (src/adjoint/reversible.c runs it):
 *     yh0 = 2 y1 - yh1 - h fh1,   fh0 = f(s, yh0),   y0 = y1 - (h/2) (fh0 + fh1).
 * Order 2 for ODEs, one evaluation per step (fh1 is the next step's fh0).
 * Error estimate (Diffrax's): y1 minus the explicit Euler step y0 + h fh0, that is
 * (h/2) (fh1 - fh0), normed like the explicit RK pairs' (RMS of the components over
 * atol + rtol max(|y0|, |y1|)); embedded order 1.
 * Dense output: the quadratic y(s + theta h) = y0 + theta h fh0 + theta^2 (h/2)(fh1 -
 * fh0), the integral of the slope interpolated linearly between fh0 and fh1; it ends
 * at y1 and is the cubic Hermite interpolant with slopes fh0, fh1 (its cubic term
 * vanishes because y1 - y0 = (h/2)(fh0 + fh1)). Order 2, no extra evaluation. */
#include "ode/reversible.h"

#include <math.h>
#include <string.h>

typedef struct rev_state {
    double *yh, *fh;      /* start: yh0 and fh0 = f(s, yh0) */
    double *yh1, *fh1;    /* the last attempt's */
    size_t starts;        /* start calls: a change marks a restart (a jump) */
} rev_state;

static size_t header_bytes(void)
{
    return (sizeof(rev_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static size_t rev_size(const nde_method *m, size_t dim)
{
    (void)m;
    size_t n = 0;
    if (nde__size_muladd(&n, 4, dim) || nde__size_mul(n, sizeof(double), &n) || nde__size_add(n, header_bytes(), &n))
        return 0;
    return n;
}

static void rev_init(nde__int_stepper *st)
{
    rev_state *R = st->state;
    double *v = (double *)((char *)st->state + header_bytes());
    const size_t dim = st->dim;
    R->yh = v; R->fh = v + dim; R->yh1 = v + 2 * dim; R->fh1 = v + 3 * dim;
    R->starts = 0;
}

static int rev_dense_degree(const nde_method *m) { (void)m; return 2; }

/* A start from scratch: yh = y (reinitialised after a jump too), fh = f(s, y). */
static int rev_start(nde__int_stepper *st, double s, const double *y)
{
    rev_state *R = st->state;
    memcpy(R->yh, y, st->dim * sizeof *y);
    R->starts++;
    st->stats->nfe++;
    return st->f(s, R->yh, R->fh, st->user);
}

static const double *rev_start_f(const nde__int_stepper *st)
{
    /* f(s, y) only right after a start, where yh = y: the loop asks only then */
    const rev_state *R = st->state;
    return R->fh;
}

/* RMS_d(e_d / (atol + rtol max(|y0_d|, |y1_d|))), e = (h/2)(fh1 - fh0), scaled by its
 * largest term so that the squares neither overflow nor underflow; +Inf when anything
 * is not finite (y1 included: h fh can overflow while fh1 - fh0 does not). */
static double rev_error_norm(const nde__int_stepper *st, const rev_state *R, double h, const double *y0,
                             const double *y1)
{
    const size_t n = st->err_dim;
    for (size_t d = 0; d < st->dim; d++)
        if (!isfinite(y1[d])) return INFINITY;
    double big = 0.0;
    for (size_t d = 0; d < n; d++) {
        double sc = st->atol + st->rtol * fmax(fabs(y0[d]), fabs(y1[d]));
        double u = fabs(0.5 * h * (R->fh1[d] - R->fh[d]) / sc);
        if (!(u <= big)) big = u;   /* NaN sticks */
    }
    if (!isfinite(big)) return INFINITY;
    if (big == 0.0) return 0.0;
    double sum = 0.0;
    for (size_t d = 0; d < n; d++) {
        double sc = st->atol + st->rtol * fmax(fabs(y0[d]), fabs(y1[d]));
        double u = 0.5 * h * (R->fh1[d] - R->fh[d]) / sc / big;
        sum += u * u;
    }
    return big * sqrt(sum / (double)n);
}

static int rev_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    rev_state *R = st->state;
    const size_t dim = st->dim;
    const double hh = 0.5 * h;
    for (size_t d = 0; d < dim; d++) R->yh1[d] = 2.0 * y[d] - R->yh[d] + h * R->fh[d];
    st->stats->nfe++;
    int rc = st->f(s + h, R->yh1, R->fh1, st->user);
    if (rc) return rc;
    /* a non-finite yh1 (f may stay finite there, a saturating network) is part of the
     * state: it shows in y1, which the loop checks, so that the step is refused */
    for (size_t d = 0; d < dim; d++) {
        y1[d] = y[d] + hh * (R->fh[d] + R->fh1[d]);
        if (!isfinite(R->yh1[d])) y1[d] = R->yh1[d];
    }
    if (err) *err = rev_error_norm(st, R, h, y, y1);
    return 0;
}

static int rev_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                      unsigned what, double *P, int *start_valid)
{
    (void)s; (void)y1;
    rev_state *R = st->state;
    const size_t dim = st->dim;
    if (what & NDE__INT_NEED_DENSE)
        for (size_t d = 0; d < dim; d++) {
            P[d] = y[d];
            P[dim + d] = h * R->fh[d];
            P[2 * dim + d] = 0.5 * h * (R->fh1[d] - R->fh[d]);
        }
    if (what & NDE__INT_CONTINUE) {   /* (yh1, fh1) is the next start: swap the slots */
        double *t = R->yh; R->yh = R->yh1; R->yh1 = t;
        t = R->fh; R->fh = R->fh1; R->fh1 = t;
    }
    /* without CONTINUE (the end, a jump) the loop restarts with start, yh = y */
    *start_valid = (what & NDE__INT_CONTINUE) != 0;
    return 0;
}

void nde__rev_stepper_view(const nde__int_stepper *st, const double **fh0, const double **yh1, const double **fh1,
                           size_t *starts)
{
    const rev_state *R = st->state;
    *fh0 = R->fh;
    *yh1 = R->yh1;
    *fh1 = R->fh1;
    *starts = R->starts;
}

const nde__int_ops nde__rev_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .size = rev_size,
    .init = rev_init,
    .dense_degree = rev_dense_degree,
    .start = rev_start,
    .start_f = rev_start_f,
    .attempt = rev_attempt,
    .accept = rev_accept,
};

const nde_method nde__reversible_heun = {
    .name = "reversible_heun",
    .description = "reversible Heun (Kidger, Chen & Lyons 2021): order 2, algebraically reversible, "
                   "1 evaluation per step, embedded Euler",
    .kind = NDE_METHOD_REVERSIBLE, .ops = &nde__rev_ops, .tableau = NULL,
    .stages = 1, .order = 2, .embedded_order = 1, .fsal = 0, .dense_order = 2,
};
