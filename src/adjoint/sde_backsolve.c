/* NDE_ADJOINT_BACKSOLVE for SDEs: the stochastic adjoint of Li, Wong, Chen & Duvenaud
 * (2020, "Scalable gradients for stochastic differential equations"), solved backwards
 * along the same Brownian tree, segment by segment between the saved times.
 *
 * For the Stratonovich SDE dy = f dt + g o dW the augmented state z = (y, a, b), a the
 * cotangent of y and b that of theta, satisfies, from t1 back to t0,
 *     dy = f dt + sum_k g_k o dW_k
 *     da = -a^T df/dy dt - sum_k a^T dg_k/dy o dW_k
 *     db = -a^T df/dtheta dt - sum_k a^T dg_k/dtheta o dW_k
 * (g_k the k-th column of g), with y(t1) the forward end state, a(t1) = dL/dy(t1), b = 0;
 * a saved point's cotangent is added to a when the backward solve passes its time, and
 * dL/dy0 = a(t0), dL/dtheta = b(t0). The augmented SDE has general noise (dim 2 dim +
 * n_params, noise_dim that of the SDE) and is solved by nde_sde_solve in reverse time,
 * which integrates a Stratonovich equation backwards along the same path: so the
 * forward method must solve general Stratonovich noise (not the additive-only methods,
 * not the Itô ones), and it is used backwards too, with the forward solve's step
 * control (constant steps of -dt0, or the tape's rtol/atol, else the forward ones; the
 * error norm covers the whole augmented state). The forward's step_ts and jump_ts are
 * not passed on.
 *
 * Cost: each augmented drift is one f and one drift VJP; each augmented diffusion is one
 * g and noise_dim diffusion VJPs (column k of a^T dg/dy is the VJP with the cotangent
 * a e_k^T). Memory: flat in the number of steps (the end state, the saved times, and
 * the backward solves' own workspaces). The gradient is that of the continuous problem,
 * accurate to the backward solve's discretisation (measured in tests/test_sde_adjoint.c
 * against the exact discrete gradient as the steps shrink), not the discrete one. */
#include "adjoint/internal.h"

#include <math.h>
#include <string.h>

int nde__adj_sde_backsolve_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                                  const double *y1)
{
    (void)S; (void)s; (void)h; (void)y;
    nde_tape *t = ctx;
    memcpy(t->y_end, y1, t->p.dim * sizeof *y1);
    t->n_steps++;
    return 0;
}

typedef struct aug {
    const nde_sde *q;
    size_t dim, m, np, gs;
    int diag;
    double *g, *A, *ay, *at;
    size_t nfe, nvjp;
} aug;

static int aug_drift(double t, const double *z, double *F, void *u)
{
    aug *w = u;
    const nde_sde *q = w->q;
    const size_t dim = w->dim;
    w->nfe++;
    int rc = q->drift(t, z, F, q->user);
    if (rc) return rc;
    w->nvjp++;
    if ((rc = q->drift_vjp(t, z, z + dim, w->ay, w->np ? w->at : NULL, q->user))) return rc;
    for (size_t d = 0; d < dim; d++) F[dim + d] = -w->ay[d];
    for (size_t i = 0; i < w->np; i++) F[2 * dim + i] = -w->at[i];
    return 0;
}

static int aug_diffusion(double t, const double *z, double *G, void *u)
{
    aug *w = u;
    const nde_sde *q = w->q;
    const size_t dim = w->dim, m = w->m;
    const double *a = z + dim;
    w->nfe++;
    int rc = q->diffusion(t, z, w->g, q->user);
    if (rc) return rc;
    for (size_t d = 0; d < dim; d++)
        for (size_t k = 0; k < m; k++) G[d * m + k] = w->diag ? (k == d ? w->g[d] : 0.0) : w->g[d * m + k];
    for (size_t k = 0; k < m; k++) {
        memset(w->A, 0, w->gs * sizeof *w->A);   /* a e_k^T in g's shape */
        if (w->diag) w->A[k] = a[k];
        else
            for (size_t d = 0; d < dim; d++) w->A[d * m + k] = a[d];
        w->nvjp++;
        if ((rc = q->diffusion_vjp(t, z, w->A, w->ay, w->np ? w->at : NULL, q->user))) return rc;
        for (size_t d = 0; d < dim; d++) G[(dim + d) * m + k] = -w->ay[d];
        for (size_t i = 0; i < w->np; i++) G[(2 * dim + i) * m + k] = -w->at[i];
    }
    return 0;
}

/* Solves the augmented SDE from (ta, z) to tb (ta != tb), z overwritten. */
static int segment(nde_tape *t, const nde_sde *aq, double ta, double tb, double *z, size_t n)
{
    nde_options o = t->sde_bs_opts;
    if (o.rtol == 0.0) o.dt0 = (tb < ta ? -1.0 : 1.0) * fabs(o.dt0);
    else if ((tb - ta) * o.dt0 < 0.0) o.dt0 = -o.dt0;
    nde_solution sol;
    int rc = nde_sde_solve(aq, ta, tb, z, t->bm, &o, &sol);
    if (rc == NDE_OK) memcpy(z, sol.y + (sol.n - 1) * n, n * sizeof *z);
    else nde__adj_fail(t, rc, "the adjoint SDE's backward solve over [%.17g, %.17g] failed: %s", tb, ta,
                       nde_solution_message(&sol));
    nde_solution_free(&sol);
    return rc;
}

int nde__adj_sde_backsolve(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    const nde_sde *q = &t->sde;
    const size_t dim = q->dim, np = q->n_params, m = q->noise_dim;
    const int diag = q->noise == NDE_NOISE_DIAGONAL;
    const size_t gs = diag ? dim : dim * m;
    size_t n = 0, bytes = 0;
    if (nde__size_muladd(&n, 2, dim) || nde__size_add(n, np, &n) || nde__size_add(bytes, n, &bytes) ||
        nde__size_muladd(&bytes, 2, gs) || nde__size_add(bytes, dim, &bytes) || nde__size_add(bytes, np, &bytes) ||
        nde__size_mul(bytes, sizeof(double), &bytes))
        return nde__adj_fail(t, NDE_ENOMEM, "the backward workspace for dim = %zu is too large", dim);
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    double *z = t->work;
    aug w = { .q = q, .dim = dim, .m = m, .np = np, .gs = gs, .diag = diag };
    w.g = z + n;
    w.A = w.g + gs;
    w.ay = w.A + gs;
    w.at = w.ay + dim;
    nde_sde aq = { .dim = n, .noise_dim = m, .noise = NDE_NOISE_GENERAL, .stratonovich = 1, .drift = aug_drift,
                   .diffusion = aug_diffusion, .user = &w };
    memcpy(z, t->y_end, dim * sizeof *z);
    memset(z + dim, 0, (dim + np) * sizeof *z);
    double tc = t->t1;
    int rc = NDE_OK;
    for (size_t i = t->n_saved; i-- > 0 && rc == NDE_OK;) {
        const double ti = t->ts[i];
        if (!nde__time_close(ti, tc, 100.0)) {
            rc = segment(t, &aq, tc, ti, z, n);
            tc = ti;
        }
        if (rc == NDE_OK && dL_dy)
            for (size_t d = 0; d < dim; d++) z[dim + d] += dL_dy[i * dim + d];
    }
    if (rc == NDE_OK && !nde__time_close(tc, t->t0, 100.0)) rc = segment(t, &aq, tc, t->t0, z, n);
    t->stats.nfe = w.nfe;
    t->stats.nvjp = w.nvjp;
    if (rc) return rc;
    if (dL_dy0) memcpy(dL_dy0, z + dim, dim * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, z + 2 * dim, np * sizeof *dL_dtheta);
    return NDE_OK;
}
