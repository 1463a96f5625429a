/* NDE_ADJOINT_BACKSOLVE: the continuous adjoint ("optimise then discretise", Chen et
 * al. 2018), solved backwards from the end of the forward solve to its start, segment
 * by segment between the saved times, on the augmented system
 *     y' = f(t, y),   a' = -a^T df/dy,   g' = -a^T df/dtheta
 * with a jump a += dL/dy_i at each saved time t_i; then dL/dy0 = a(t0), dL/dtheta =
 * g(t0). Error control uses the seminorm over (y, a) only (Kidger, Chen & Lyons 2021,
 * "Hey, that's not an ODE"): the parameter integral g takes whatever steps y and a
 * need. Memory is the end state and the saved times: flat in the number of steps. The
 * gradient is that of the exact solution, accurate to the backward solve's tolerances,
 * not the exact gradient of the forward discretisation (NDE_ADJOINT_CHECKPOINT). */
#include "adjoint/internal.h"

#include <math.h>
#include <string.h>

int nde__adj_backsolve_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                              const double *y1)
{
    (void)S; (void)s; (void)h; (void)y;
    nde_tape *t = ctx;
    memcpy(t->y_end, y1, t->y_end_n * sizeof *y1);   /* the state at the end so far */
    t->n_steps++;
    return 0;
}

/* The augmented right-hand side, in t; z = [y (n), a (n), g (np)]. */
static int aug_rhs(double tt, const double *z, double *dz, void *u)
{
    nde_tape *t = u;
    const size_t n = t->ode.dim, np = t->ode.n_params;
    int rc = t->ode.f(tt, z, dz, t->ode.user);
    if (rc) return rc;
    t->stats.nfe++;
    t->stats.nvjp++;
    rc = t->ode.vjp(tt, z, z + n, dz + n, np ? dz + 2 * n : NULL, t->ode.user);
    if (rc) return rc;
    for (size_t i = n; i < 2 * n + np; i++) dz[i] = -dz[i];
    return 0;
}

int nde__adj_backsolve_prepare(nde_tape *t, const nde_options *o, const nde_method *m)
{
    const nde_options *f = &t->fwd_opts;
    size_t ns = o->n_step_ts, nj = o->n_jump_ts;
    int same = t->aug && f->method == m && f->rtol == o->rtol && f->atol == o->atol && f->dt0 == o->dt0 &&
               f->max_steps == o->max_steps && t->n_bs_step == ns && t->n_bs_jump == nj &&
               (!ns || memcmp(t->bs_times, o->step_ts, ns * sizeof(double)) == 0) &&
               (!nj || memcmp(t->bs_times + ns, o->jump_ts, nj * sizeof(double)) == 0);
    t->fwd_opts = *o;
    t->fwd_opts.method = m;
    if (same) return NDE_OK;
    nde_solver_free(t->aug);
    t->aug = NULL;
    if (nde__adj_grow(t, &t->bs_times, &t->cap_bs, 1, ns + nj + 1)) return NDE_ENOMEM;
    if (ns) memcpy(t->bs_times, o->step_ts, ns * sizeof(double));
    if (nj) memcpy(t->bs_times + ns, o->jump_ts, nj * sizeof(double));
    t->n_bs_step = ns;
    t->n_bs_jump = nj;
    return NDE_OK;
}

void nde__adj_backsolve_release(nde_tape *t)
{
    nde_solver_free(t->aug);
    t->aug = NULL;
    nde__free(&t->al, t->bs_times, t->cap_bs * sizeof(double));
    t->bs_times = NULL;
    t->cap_bs = 0;
    nde__free(&t->al, t->y_end, t->y_end_n * sizeof(double));
    nde__free(&t->al, t->ts, t->cap_ts * sizeof(double));
    t->y_end = t->ts = NULL;
    t->y_end_n = t->cap_ts = 0;
}

int nde__adj_backsolve(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    const size_t n = t->ode.dim, np = t->ode.n_params, N = 2 * n + np;
    if (!t->aug || t->aug_dim != N) {   /* one solver for the augmented system, reused */
        nde_solver_free(t->aug);
        t->aug = NULL;
        nde_options o = t->fwd_opts;
        o.ts = NULL; o.n_ts = 0; o.save = 0;
        /* the forward solve's forced step ends and discontinuities, crossed backwards */
        o.step_ts = t->n_bs_step ? t->bs_times : NULL; o.n_step_ts = t->n_bs_step;
        o.jump_ts = t->n_bs_jump ? t->bs_times + t->n_bs_step : NULL; o.n_jump_ts = t->n_bs_jump;
        o.event = NULL; o.n_events = 0; o.event_direction = NULL; o.event_terminal = NULL;
        o.on_step = NULL;
        o.jac_lower = o.jac_upper = 0;   /* the augmented system is not banded like f */
        o.errbuf = NULL; o.errbuf_size = 0;
        /* constant forward steps: the same size backwards; steps to step_ts: the same;
         * adaptive: automatic dt0 */
        o.dt0 = o.rtol == 0.0 ? -o.dt0 : 0.0;
        if (t->o.rtol > 0.0) { o.rtol = t->o.rtol; o.dt0 = 0.0; }
        if (t->o.atol > 0.0) o.atol = t->o.atol;
        if (o.rtol > 0.0 && !(o.atol > 0.0)) o.atol = o.rtol * 1e-3;   /* adaptive needs atol > 0 */
        o.allocator = &t->al;
        nde_ode aug = { .dim = N, .f = aug_rhs, .user = t };
        int status;
        char msg[NDE_MESSAGE_MAX];
        t->aug = nde__int_create(&aug, &o, &status, msg);
        if (!t->aug) return nde__adj_fail(t, status, "creating the backward solver (dim %zu): %s", N, msg);
        nde__int_set_error_dim(t->aug, 2 * n);   /* the seminorm: y and a */
        t->aug_dim = N;
    }
    /* z: the backward state, in the workspace */
    size_t bytes;
    if (nde__size_mul(N, sizeof(double), &bytes)) return nde__adj_fail(t, NDE_ENOMEM, "dim too large");
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    double *z = t->work;
    memcpy(z, t->y_end, n * sizeof *z);
    memset(z + n, 0, (n + np) * sizeof *z);
    t->stats.nfe = t->stats.nvjp = 0;
    double tau = t->t1;
    for (size_t i = t->n_saved + 1; i-- > 0;) {
        double target = i ? t->ts[i - 1] : t->t0;
        if (target != tau) {
            int rc = nde_solver_solve(t->aug, tau, target, z);
            if (rc != NDE_OK)
                return nde__adj_fail(t, rc < 0 ? rc : NDE_ECALLBACK, "the backward solve from t = %g to %g failed: %s", tau,
                                     target, nde_solver_message(t->aug));
            const nde_solution *sol = nde_solver_solution(t->aug);
            memcpy(z, sol->y + (sol->n - 1) * N, N * sizeof *z);
            tau = target;
        }
        if (i && dL_dy)
            for (size_t d = 0; d < n; d++) z[n + d] += dL_dy[(i - 1) * n + d];
    }
    if (dL_dy0) memcpy(dL_dy0, z + n, n * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, z + 2 * n, np * sizeof *dL_dtheta);
    return NDE_OK;
}
