/* The stochastic Runge-Kutta engine (the formulas are in src/sde/internal.h) as a
 * stepper of the integrate loop.
 *
 * Time: the loop runs forwards in s; the stepper works in the caller's time t = dir s
 * with the signed step dt = dir h, calls the caller's drift and diffusion there, and
 * asks the tree for the increments over [t, t + dt] (a reversed interval when dir < 0).
 * t + dt is bit-identical to the next start dir (s + h), so consecutive steps query
 * abutting intervals.
 *
 * Memory: the stepper's own block holds pointers only; the vectors (their sizes depend
 * on noise_dim, which the loop's size() does not know) are in the workspace that
 * nde_sde_solve allocates with the solver (nde__sde_work_doubles). Nothing allocates
 * while stepping.
 *
 * A start evaluates stage 0 (f(t, y) and g(t, y), as far as the table uses them) and
 * stays valid after a rejected attempt; an accepted step that continues evaluates the
 * next start (the values its first stage needs anyway). */
#include "sde/internal.h"
#include "numerics/internal.h"

#include <math.h>
#include <string.h>

#define S_MAX NDE__SDE_MAX_STAGES

typedef struct srk_state {
    const nde__sde_tableau *T;
    const nde_sde *sde;
    nde_brownian *bm;
    size_t m, gs;                   /* noise dimension; doubles in one g */
    int diag;                       /* diagonal noise: g is a vector, g W elementwise */
    double *f[S_MAX], *gw[S_MAX], *gh[S_MAX];   /* per stage: f_j, g_j W, g_j H */
    double *G0, *G, *G1;            /* g at the start, at the current stage, spare */
    double *W, *H, *V;              /* the step's increments; W/2 - H */
    double *z, *e, *u;              /* stage value; error vector; scratch */
    double t;                       /* the start, in the caller's time */
} srk_state;

size_t nde__sde_work_doubles(size_t dim, size_t noise_dim, int noise)
{
    size_t gs = dim, n = 0;
    if (noise != NDE_NOISE_DIAGONAL && nde__size_mul(dim, noise_dim, &gs)) return 0;
    if (nde__size_muladd(&n, 3 * S_MAX + 5, dim) || nde__size_muladd(&n, 3, gs) ||
        nde__size_muladd(&n, 3, noise_dim))
        return 0;
    return n;
}

static size_t header_bytes(void)
{
    return (sizeof(srk_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static size_t srk_size(const nde_method *m, size_t dim)
{
    (void)m; (void)dim;
    return header_bytes();
}

static void srk_init(nde__int_stepper *st)
{
    srk_state *R = st->state;
    const nde__sde_problem *P = st->problem;
    const size_t dim = st->dim;
    R->T = P->tab;
    R->sde = &P->sde;
    R->bm = P->bm;
    R->m = P->sde.noise_dim;
    R->diag = P->sde.noise == NDE_NOISE_DIAGONAL;
    R->gs = R->diag ? dim : dim * R->m;
    double *v = P->work;
    for (int j = 0; j < S_MAX; j++) {
        R->f[j] = v; v += dim;
        R->gw[j] = v; v += dim;
        R->gh[j] = v; v += dim;
    }
    R->G0 = v; v += R->gs;
    R->G = v; v += R->gs;
    R->G1 = v; v += R->gs;
    R->W = v; v += R->m;
    R->H = v; v += R->m;
    R->V = v; v += R->m;
    R->z = v; v += dim;
    R->e = v; v += dim;
    R->u = v;
    R->t = 0.0;
}

static int srk_dense_degree(const nde_method *m) { (void)m; return 1; }

/* out = g v: elementwise for diagonal noise, a dim x m product (CBLAS) otherwise. */
static void gprod(const srk_state *R, size_t dim, const double *g, const double *v, double *out)
{
    if (R->diag) {
        nde__num_mul(dim, out, g, v);
        return;
    }
    (void)nde__num_gemv(NDE__NUM_NOTRANS, dim, R->m, 1.0, g, R->m, v, 0.0, out);
}

/* out = base + sum_k c[k] v[k] over the terms with c[k] != 0, in one pass; base may be
 * NULL (then 0). The terms stay in a fixed order, so results do not depend on which
 * vectors happen to be zero. */
static void combine(size_t dim, double *out, const double *base, int n, const double *c,
                    double *const *v)
{
    double cc[3 * S_MAX];
    const double *vv[3 * S_MAX];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (c[i] != 0.0) { cc[k] = c[i]; vv[k] = v[i]; k++; }
    nde__num_sum_terms(dim, out, base, k, cc, vv);
}

static int skips(const unsigned char *mask, int j) { return mask && mask[j]; }

/* Is stage 0 evaluated at y itself (so that the start holds its f)? Always in the
 * general form; in the additive form unless it adds noise (shark, sea: y + g H ...). */
static int stage0_at_y(const nde__sde_tableau *T)
{
    return !T->additive || (T->aw[0] == 0.0 && (!T->ah || T->ah[0] == 0.0));
}

/* Does the start evaluate f at y? */
static int start_has_f(const nde__sde_tableau *T) { return !skips(T->skip_f, 0) && stage0_at_y(T); }

static int srk_start(nde__int_stepper *st, double s, const double *y)
{
    srk_state *R = st->state;
    const nde__sde_tableau *T = R->T;
    const nde_sde *q = R->sde;
    int rc;
    R->t = st->dir * s;
    if (start_has_f(T)) {
        st->stats->nfe++;
        if ((rc = q->drift(R->t, y, R->f[0], q->user))) return rc;
    }
    if (T->additive || T->milstein || !skips(T->skip_g, 0)) {
        st->stats->nfe++;
        if ((rc = q->diffusion(R->t, y, R->G0, q->user))) return rc;
    }
    return 0;
}

static const double *srk_start_f(const nde__int_stepper *st)
{
    /* f in the loop's forward time is dir f: only forwards is it the stage we hold */
    const srk_state *R = st->state;
    return st->dir > 0.0 && start_has_f(R->T) ? R->f[0] : NULL;
}

/* RMS_d(e_d / (atol + rtol max(|y0_d|, |y1_d|))) over the first err_dim components;
 * +Inf when y1 or the estimate is not finite. */
static double error_norm(const nde__int_stepper *st, const srk_state *R, const double *y0,
                         const double *y1)
{
    for (size_t d = 0; d < st->dim; d++)
        if (!isfinite(y1[d])) return INFINITY;
    const size_t n = st->err_dim;
    for (size_t d = 0; d < n; d++)
        R->u[d] = R->e[d] / (st->atol + st->rtol * fmax(fabs(y0[d]), fabs(y1[d])));
    return nde__int_rms_scaled(R->u, R->u, n, 0.0, 1.0);
}

static int srk_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                       double *err)
{
    (void)s;
    srk_state *R = st->state;
    const nde__sde_tableau *T = R->T;
    const nde_sde *q = R->sde;
    const size_t dim = st->dim, m = R->m;
    const int ns = T->stages, use_h = T->levy >= NDE_LEVY_SPACE_TIME;
    const double t = R->t, dt = st->dir * h;
    int rc = nde_brownian_increment(R->bm, t, t + dt, R->W, use_h ? R->H : NULL, NULL);
    if (rc) return rc;
    double coef[3 * S_MAX];
    double *vecs[3 * S_MAX];

    if (T->additive) {
        /* g(t) W and g(t) H once; every stage adds multiples of them */
        gprod(R, dim, R->G0, R->W, R->gw[0]);
        if (use_h) gprod(R, dim, R->G0, R->H, R->gh[0]);
        for (int j = stage0_at_y(T) ? 1 : 0; j < ns; j++) {
            int n = 0;
            for (int i = 0; i < j; i++) { coef[n] = dt * T->a[j * ns + i]; vecs[n++] = R->f[i]; }
            coef[n] = T->aw[j]; vecs[n++] = R->gw[0];
            if (use_h) { coef[n] = T->ah[j]; vecs[n++] = R->gh[0]; }
            combine(dim, R->z, y, n, coef, vecs);
            st->stats->nfe++;
            if ((rc = q->drift(t + T->c[j] * dt, R->z, R->f[j], q->user))) return rc;
        }
        /* the time dependence of g: (g(t + dt) - g(t)) (W/2 - H) */
        st->stats->nfe++;
        if ((rc = q->diffusion(t + dt, y, R->G1, q->user))) return rc;
        for (size_t k = 0; k < R->gs; k++) R->G1[k] -= R->G0[k];
        for (size_t k = 0; k < m; k++) R->V[k] = 0.5 * R->W[k] - (use_h ? R->H[k] : 0.0);
        gprod(R, dim, R->G1, R->V, R->u);
        int n = 0;
        for (int j = 0; j < ns; j++) { coef[n] = dt * T->b[j]; vecs[n++] = R->f[j]; }
        coef[n] = T->bw[0]; vecs[n++] = R->gw[0];
        if (use_h) { coef[n] = T->bh[0]; vecs[n++] = R->gh[0]; }
        coef[n] = 1.0; vecs[n++] = R->u;
        combine(dim, y1, y, n, coef, vecs);
        if (err) {
            for (int j = 0; j < ns; j++) coef[j] = dt * T->be[j];
            combine(dim, R->e, NULL, ns, coef, R->f);
            *err = error_norm(st, R, y, y1);
        }
        return 0;
    }

    /* general form: stage 0 is the start */
    if (!skips(T->skip_g, 0)) {
        gprod(R, dim, R->G0, R->W, R->gw[0]);
        if (use_h) gprod(R, dim, R->G0, R->H, R->gh[0]);
    }
    for (int j = 1; j < ns; j++) {
        int n = 0;
        for (int i = 0; i < j; i++) {
            coef[n] = dt * T->a[j * ns + i]; vecs[n++] = R->f[i];
            coef[n] = T->aw[j * ns + i]; vecs[n++] = R->gw[i];
            if (use_h) { coef[n] = T->ah[j * ns + i]; vecs[n++] = R->gh[i]; }
        }
        combine(dim, R->z, y, n, coef, vecs);
        const double tj = t + T->c[j] * dt;
        if (!skips(T->skip_f, j)) {
            st->stats->nfe++;
            if ((rc = q->drift(tj, R->z, R->f[j], q->user))) return rc;
        }
        if (!skips(T->skip_g, j)) {
            st->stats->nfe++;
            if ((rc = q->diffusion(tj, R->z, R->G, q->user))) return rc;
            gprod(R, dim, R->G, R->W, R->gw[j]);
            if (use_h) gprod(R, dim, R->G, R->H, R->gh[j]);
        }
    }
    int n = 0;
    for (int j = 0; j < ns; j++) {
        coef[n] = dt * T->b[j]; vecs[n++] = R->f[j];
        coef[n] = T->bw[j]; vecs[n++] = R->gw[j];
        if (use_h) { coef[n] = T->bh[j]; vecs[n++] = R->gh[j]; }
    }
    combine(dim, y1, y, n, coef, vecs);

    if (T->milstein && R->diag) {
        /* Kloeden & Platen (11.1.5): g(yb) - g(y) = sqrt|dt| g g' + O(|dt|), so this adds
         * (1/2) g g' (W^2 - |dt|), the Itô-Taylor term of diagonal commutative noise */
        const double sq = sqrt(fabs(dt));
        for (size_t d = 0; d < dim; d++) R->z[d] = y[d] + dt * R->f[0][d] + sq * R->G0[d];
        st->stats->nfe++;
        if ((rc = q->diffusion(t, R->z, R->G1, q->user))) return rc;
        const double w = 0.5 / sq;
        for (size_t d = 0; d < dim; d++)
            y1[d] += w * (R->G1[d] - R->G0[d]) * (R->W[d] * R->W[d] - fabs(dt));
    }

    if (err) {
        n = 0;
        for (int j = 0; j < ns; j++) {
            coef[n] = dt * T->be[j]; vecs[n++] = R->f[j];
            if (T->bwe) { coef[n] = T->bwe[j]; vecs[n++] = R->gw[j]; }
            if (use_h && T->bhe) { coef[n] = T->bhe[j]; vecs[n++] = R->gh[j]; }
        }
        combine(dim, R->e, NULL, n, coef, vecs);
        *err = error_norm(st, R, y, y1);
    }
    return 0;
}

static int srk_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                      unsigned what, double *P, int *start_valid)
{
    const size_t dim = st->dim;
    if (what & NDE__INT_NEED_DENSE)
        for (size_t d = 0; d < dim; d++) {   /* the step's chord (Diffrax's local linear) */
            P[d] = y[d];
            P[dim + d] = y1[d] - y[d];
        }
    *start_valid = 0;
    if (what & NDE__INT_CONTINUE) {
        int rc = srk_start(st, s + h, y1);
        if (rc) return rc;
        *start_valid = 1;
    }
    return 0;
}

const nde__int_ops nde__sde_ops = {
    .problems = NDE__INT_PROBLEM_SDE,
    .size = srk_size,
    .init = srk_init,
    .dense_degree = srk_dense_degree,
    .start = srk_start,
    .start_f = srk_start_f,
    .attempt = srk_attempt,
    .accept = srk_accept,
};
