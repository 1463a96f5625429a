/* Reversible Heun for Stratonovich SDEs (P. Kidger, J. Foster, X. Li, T. Lyons,
 * "Efficient and accurate gradients for neural SDEs", NeurIPS 2021, Algorithm 1;
 * Diffrax's ReversibleHeun) as a stepper of the integrate loop.
 *
 * The state is (y, yh) with f and g evaluated at yh. A step [t, t + dt] with the path's
 * increment W, writing v(t, z) = f(t, z) dt + g(t, z) W:
 *     v0  = v(t, yh0)                           (f, g at yh0: kept from the last step)
 *     yh1 = 2 y0 - yh0 + v0
 *     v1  = v(t + dt, yh1)                      (the step's one f and one g evaluation)
 *     y1  = y0 + (v0 + v1) / 2
 * and its exact algebraic inverse (src/adjoint/sde_reversible.c runs it):
 *     yh0 = 2 y1 - yh1 - v1,   v0 = v(t, yh0),   y0 = y1 - (v0 + v1) / 2.
 * Stratonovich; strong order 0.5 on general noise (the paper's theorem), 1.0 on
 * additive noise and, like Heun, on commutative noise (measured by tests/test_sde.c's
 * battery: 0.99 on Stratonovich GBM); order 2 on ODEs. A start (the first step,
 * after a jump) sets yh = y.
 * Error estimate (Diffrax's): y1 minus the Euler step y0 + v0, that is (v1 - v0) / 2,
 * normed like the SRK methods' (RMS over atol + rtol max(|y0|, |y1|)); embedded order 1.
 * Dense output: the step's chord, as for every SDE method.
 *
 * Time: as in srk.c, the stepper works in the caller's time t = dir s with dt = dir h.
 * Memory: the vectors live in nde_sde_solve's workspace (nde__sde_work_doubles, which
 * has room for them); nothing allocates while stepping. */
#include "sde/internal.h"
#include "numerics/internal.h"

#include <math.h>
#include <string.h>

typedef struct srev_state {
    const nde_sde *sde;
    nde_brownian *bm;
    size_t m, gs;                   /* noise dimension; doubles in one g */
    int diag;
    double *yh, *fh, *gh;           /* start: yh0 with f and g there */
    double *yh1, *fh1, *gh1;        /* the last attempt's */
    double *v0, *v1, *W, *u;        /* the attempt's v(t, yh0), v(t + dt, yh1), W; scratch */
    size_t starts;                  /* start calls: a change marks a restart */
} srev_state;

static size_t header_bytes(void)
{
    return (sizeof(srev_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static size_t srev_size(const nde_method *m, size_t dim)
{
    (void)m; (void)dim;
    return header_bytes();
}

static void srev_init(nde__int_stepper *st)
{
    srev_state *R = st->state;
    const nde__sde_problem *P = st->problem;
    const size_t dim = st->dim;
    R->sde = &P->sde;
    R->bm = P->bm;
    R->m = P->sde.noise_dim;
    R->diag = P->sde.noise == NDE_NOISE_DIAGONAL;
    R->gs = R->diag ? dim : dim * R->m;
    /* 7 dim-vectors, 2 g's and W out of the workspace's 3 S_MAX + 3, 3 and 3 */
    double *v = P->work;
    double **dv[] = { &R->yh, &R->fh, &R->yh1, &R->fh1, &R->v0, &R->v1, &R->u };
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++, v += dim) *dv[i] = v;
    R->gh = v; v += R->gs;
    R->gh1 = v; v += R->gs;
    R->W = v;
    R->starts = 0;
}

static int srev_dense_degree(const nde_method *m) { (void)m; return 1; }

/* out = dt f + g W (g elementwise for diagonal noise, a dim x m product otherwise). */
static void vf_prod(const srev_state *R, size_t dim, double dt, const double *f, const double *g, double *out)
{
    if (R->diag) {
        for (size_t d = 0; d < dim; d++) out[d] = dt * f[d] + g[d] * R->W[d];
        return;
    }
    for (size_t d = 0; d < dim; d++) out[d] = dt * f[d];
    (void)nde__num_gemv(NDE__NUM_NOTRANS, dim, R->m, 1.0, g, R->m, R->W, 1.0, out);
}

static int srev_start(nde__int_stepper *st, double s, const double *y)
{
    srev_state *R = st->state;
    const nde_sde *q = R->sde;
    const double t = st->dir * s;
    memcpy(R->yh, y, st->dim * sizeof *y);
    R->starts++;
    st->stats->nfe += 2;
    int rc = q->drift(t, R->yh, R->fh, q->user);
    return rc ? rc : q->diffusion(t, R->yh, R->gh, q->user);
}

static const double *srev_start_f(const nde__int_stepper *st)
{
    /* the loop asks right after a start (yh = y); in forward time only */
    const srev_state *R = st->state;
    return st->dir > 0.0 ? R->fh : NULL;
}

static int srev_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    srev_state *R = st->state;
    const nde_sde *q = R->sde;
    const size_t dim = st->dim;
    const double t = st->dir * s, dt = st->dir * h;
    int rc = nde_brownian_increment(R->bm, t, t + dt, R->W, NULL, NULL);
    if (rc) return rc;
    vf_prod(R, dim, dt, R->fh, R->gh, R->v0);
    for (size_t d = 0; d < dim; d++) R->yh1[d] = 2.0 * y[d] - R->yh[d] + R->v0[d];
    st->stats->nfe += 2;
    if ((rc = q->drift(t + dt, R->yh1, R->fh1, q->user))) return rc;
    if ((rc = q->diffusion(t + dt, R->yh1, R->gh1, q->user))) return rc;
    vf_prod(R, dim, dt, R->fh1, R->gh1, R->v1);
    /* a non-finite yh1 is part of the state: it shows in y1, which the loop checks */
    for (size_t d = 0; d < dim; d++) {
        y1[d] = y[d] + 0.5 * (R->v0[d] + R->v1[d]);
        if (!isfinite(R->yh1[d])) y1[d] = R->yh1[d];
    }
    if (err) {
        for (size_t d = 0; d < dim; d++)
            if (!isfinite(y1[d])) { *err = INFINITY; return 0; }
        const size_t n = st->err_dim;
        for (size_t d = 0; d < n; d++)
            R->u[d] = 0.5 * (R->v1[d] - R->v0[d]) / (st->atol + st->rtol * fmax(fabs(y[d]), fabs(y1[d])));
        *err = nde__int_rms_scaled(R->u, R->u, n, 0.0, 1.0);
    }
    return 0;
}

static void swap(double **a, double **b) { double *t = *a; *a = *b; *b = t; }

static int srev_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                       unsigned what, double *P, int *start_valid)
{
    (void)s; (void)h;
    srev_state *R = st->state;
    const size_t dim = st->dim;
    if (what & NDE__INT_NEED_DENSE)
        for (size_t d = 0; d < dim; d++) {
            P[d] = y[d];
            P[dim + d] = y1[d] - y[d];
        }
    if (what & NDE__INT_CONTINUE) {   /* (yh1, f, g there) is the next start */
        swap(&R->yh, &R->yh1);
        swap(&R->fh, &R->fh1);
        swap(&R->gh, &R->gh1);
    }
    *start_valid = (what & NDE__INT_CONTINUE) != 0;
    return 0;
}

void nde__sde_rev_view(const nde__int_stepper *st, const double **yh1, size_t *starts)
{
    const srev_state *R = st->state;
    *yh1 = R->yh1;
    *starts = R->starts;
}

const nde__int_ops nde__sde_rev_ops = {
    .problems = NDE__INT_PROBLEM_SDE,
    .size = srev_size,
    .init = srev_init,
    .dense_degree = srev_dense_degree,
    .start = srev_start,
    .start_f = srev_start_f,
    .attempt = srev_attempt,
    .accept = srev_accept,
};

/* What nde_sde_method_info and the method checks read (the engine's coefficients are
 * unused: this is not an SRK table). */
static const double one[1] = { 1.0 }, zero[1] = { 0.0 };
static const nde__sde_tableau srev_tab = {
    .stages = 1, .stratonovich = 1, .levy = NDE_LEVY_NONE,
    .noises = (1u << NDE_NOISE_DIAGONAL) | (1u << NDE_NOISE_ADDITIVE) | (1u << NDE_NOISE_GENERAL),
    .strong = { 0.5, 1.0, 1.0 }, .drift_evals = 1, .diffusion_evals = 1,
    .c = zero, .a = zero, .b = one, .aw = zero, .bw = one,
};

const nde_method nde__sde_reversible_heun = {
    .name = "reversible_heun",
    .description = "reversible Heun (Kidger, Foster, Li & Lyons 2021): Stratonovich, algebraically reversible, "
                   "strong order 0.5 (commutative and additive 1.0), 1 f and 1 g per step, embedded Euler",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_rev_ops, .tableau = &srev_tab,
    .stages = 2, .order = 2, .embedded_order = 1, .dense_order = 1,
};
