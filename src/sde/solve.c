/* nde_sde_solve: checks the SDE against its method and its Brownian path, then solves
 * it with the integrate loop (nde__int_solve_problem): the loop integrates the drift's
 * view of the problem and hands the SDE, the tree, the table and the workspace to the
 * stochastic RK stepper (srk.c). Also the SDE method lookups of nde/sde.h. */
#include "sde/internal.h"
#include "random/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Diffrax's PID recommendation for SDEs (PIDController docs): used when the options
 * leave all three coefficients 0. */
#define SDE_PCOEFF 0.1
#define SDE_ICOEFF 0.3
/* Times within this many ULP of the tree's ends are inside its span (the tree's own
 * tolerance, nde/brownian.h). */
#define SPAN_ULPS 100.0

const nde_method *nde_sde_method_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < nde__sde_n_methods; i++)
        if (strcmp(nde__sde_methods[i]->name, name) == 0) return nde__sde_methods[i];
    return NULL;
}

size_t nde_sde_method_count(void) { return nde__sde_n_methods; }

const nde_method *nde_sde_method_at(size_t i) { return i < nde__sde_n_methods ? nde__sde_methods[i] : NULL; }

/* The SDE form of m: m itself, or the SDE method of the same name (heun). */
static const nde_method *sde_form(const nde_method *m)
{
    if (nde__sde_tab(m)) return m;
    return m ? nde_sde_method_find(m->name) : NULL;
}

int nde_sde_method_info_get(const nde_method *m, nde_sde_method_info *info)
{
    const nde_method *s = sde_form(m);
    if (!s || !info) return NDE_EINVAL;
    const nde__sde_tableau *T = nde__sde_tab(s);
    info->stratonovich = T->stratonovich;
    info->additive_only = T->noises == (1u << NDE_NOISE_ADDITIVE);
    info->noises = T->noises;
    info->levy = T->levy;
    for (int k = 0; k < 3; k++) info->strong_order[k] = T->strong[k];
    info->drift_evals = T->drift_evals;
    info->diffusion_evals = T->diffusion_evals;
    info->adaptive = s->embedded_order > 0;
    return NDE_OK;
}

static const char *noise_name(int noise)
{
    switch (noise) {
    case NDE_NOISE_DIAGONAL: return "diagonal";
    case NDE_NOISE_ADDITIVE: return "additive";
    default: return "general";
    }
}

static const char *levy_name(int levy)
{
    return levy == NDE_LEVY_NONE ? "NDE_LEVY_NONE" : levy == NDE_LEVY_SPACE_TIME ? "NDE_LEVY_SPACE_TIME"
                                                                                 : "NDE_LEVY_SPACE_TIME_TIME";
}

/* The default of nde/sde.h: shark (additive), spark (Stratonovich), euler_maruyama (Itô). */
static const nde_method *default_method(const nde_sde *q)
{
    if (q->noise == NDE_NOISE_ADDITIVE) return &nde__sde_shark;
    return q->stratonovich ? &nde__sde_spark : &nde__sde_euler_maruyama;
}

#define FAIL(status, ...) return nde__msg(msg, NDE_MESSAGE_MAX, status, __VA_ARGS__)

/* Everything about the SDE, the path and the method that the loop does not check. */
int nde__sde_check(const nde_sde *q, double t0, double t1, const double *y0, nde_brownian *bm,
                 const nde_options *o, const nde_method **method, char *msg)
{
    if (!q) FAIL(NDE_EINVAL, "sde is NULL");
    if (q->dim == 0) FAIL(NDE_EINVAL, "sde->dim must be > 0, got 0");
    if (q->noise_dim == 0) FAIL(NDE_EINVAL, "sde->noise_dim must be > 0, got 0");
    if (!q->drift) FAIL(NDE_EINVAL, "sde->drift is NULL");
    if (!q->diffusion) FAIL(NDE_EINVAL, "sde->diffusion is NULL");
    if (q->noise != NDE_NOISE_DIAGONAL && q->noise != NDE_NOISE_ADDITIVE && q->noise != NDE_NOISE_GENERAL)
        FAIL(NDE_EINVAL, "sde->noise must be NDE_NOISE_DIAGONAL, _ADDITIVE or _GENERAL, got %d", q->noise);
    if (q->noise == NDE_NOISE_DIAGONAL && q->noise_dim != q->dim)
        FAIL(NDE_EINVAL, "diagonal noise needs noise_dim == dim, got noise_dim = %zu, dim = %zu", q->noise_dim,
             q->dim);
    if (!y0) FAIL(NDE_EINVAL, "y0 is NULL");
    if (!isfinite(t0) || !isfinite(t1)) FAIL(NDE_EINVAL, "t0 and t1 must be finite, got %g and %g", t0, t1);
    if (!bm) FAIL(NDE_EINVAL, "bm (the Brownian path) is NULL");
    size_t bdim;
    double b0, b1;
    int blevy;
    nde__rand_brownian_shape(bm, &bdim, &b0, &b1, &blevy);
    if (bdim != q->noise_dim)
        FAIL(NDE_EINVAL, "the Brownian tree has dimension %zu, the SDE's noise_dim is %zu", bdim, q->noise_dim);
    double lo = fmin(t0, t1), hi = fmax(t0, t1);
    if ((lo < b0 && !nde__time_close(lo, b0, SPAN_ULPS)) || (hi > b1 && !nde__time_close(hi, b1, SPAN_ULPS)))
        FAIL(NDE_EINVAL, "the Brownian tree's span [%.17g, %.17g] does not cover [%.17g, %.17g]", b0, b1, lo, hi);

    const nde_method *m = o->method ? sde_form(o->method) : default_method(q);
    if (!m)
        FAIL(NDE_EUNSUPPORTED, "method %s is a %s method: it does not solve SDEs (nde_sde_method_at lists those)",
             o->method->name, nde_method_kind_name(o->method->kind));
    const nde__sde_tableau *T = nde__sde_tab(m);
    if (!(T->noises & (1u << q->noise))) {
        if (T->noises == (1u << NDE_NOISE_ADDITIVE))
            FAIL(NDE_EUNSUPPORTED, "method %s solves additive noise only (g independent of y), the SDE declares %s "
                 "noise: use spark, general_shark or slow_rk", m->name, noise_name(q->noise));
        FAIL(NDE_EUNSUPPORTED, "method %s does not solve %s noise (it needs the commutative diagonal case): use "
             "euler_maruyama, or a Stratonovich method", m->name, noise_name(q->noise));
    }
    if (q->noise != NDE_NOISE_ADDITIVE && !q->stratonovich != !T->stratonovich)
        FAIL(NDE_EUNSUPPORTED, "method %s converges to the %s solution, the SDE is %s (%s noise): %s", m->name,
             T->stratonovich ? "Stratonovich" : "Itô", q->stratonovich ? "Stratonovich" : "Itô",
             noise_name(q->noise),
             q->stratonovich ? "use heun, spark, general_shark, slow_rk or euler_heun"
                             : "use euler_maruyama or milstein, or write the SDE in Stratonovich form");
    if (blevy < T->levy)
        FAIL(NDE_EUNSUPPORTED, "method %s needs the space-time Levy area H: the Brownian tree was created with %s, "
             "create it with %s", m->name, levy_name(blevy), levy_name(T->levy));
    *method = m;
    return NDE_OK;
}

/* The failure of a solve that never started: sol as nde_ode_solve leaves it. */
static int fail_early(nde_solution *sol, const nde_options *o, size_t dim, int status)
{
    sol->status = status;
    sol->dim = dim;
    sol->alloc_ = nde__allocator_resolve(o ? o->allocator : NULL);
    if (o && o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", sol->message_);
    return status;
}

int nde_sde_solve(const nde_sde *sde, double t0, double t1, const double *y0, nde_brownian *bm,
                  const nde_options *opts, nde_solution *sol)
{
    return nde__sde_solve_hooked(sde, t0, t1, y0, bm, opts, sol, NULL, NULL, NULL);
}

int nde__sde_solve_hooked(const nde_sde *sde, double t0, double t1, const double *y0, nde_brownian *bm,
                          const nde_options *opts, nde_solution *sol, nde__int_accept_hook on_accept,
                          nde__int_save_hook on_save, void *hook_ctx)
{
    if (!sol) return NDE_EINVAL;
    static const nde_options defaults = NDE_OPTIONS_INIT;
    const nde_options *in = opts ? opts : &defaults;
    memset(sol, 0, sizeof *sol);
    const nde_method *m = NULL;
    int status = nde__sde_check(sde, t0, t1, y0, bm, in, &m, sol->message_);
    if (status) return fail_early(sol, opts, sde ? sde->dim : 0, status);

    nde_options o = *in;
    o.method = m;
    if (o.pcoeff == 0.0 && o.icoeff == 0.0 && o.dcoeff == 0.0) {
        o.pcoeff = SDE_PCOEFF;
        o.icoeff = SDE_ICOEFF;
    }
    nde_allocator al = nde__allocator_resolve(o.allocator);
    /* save times are step ends: with step_ts of its own, the union (the loop copies it) */
    double *steps = NULL;
    size_t n_steps = 0;
    if (o.n_ts && o.ts) {
        if (!o.n_step_ts) {
            o.step_ts = o.ts;
            o.n_step_ts = o.n_ts;
        } else {
            if (nde__size_add(o.n_ts, o.n_step_ts, &n_steps) ||
                !(steps = nde__calloc(&al, n_steps, sizeof *steps))) {
                nde__msg(sol->message_, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory for %zu + %zu step times",
                         o.n_ts, o.n_step_ts);
                return fail_early(sol, opts, sde->dim, NDE_ENOMEM);
            }
            memcpy(steps, o.ts, o.n_ts * sizeof *steps);
            if (o.step_ts) memcpy(steps + o.n_ts, o.step_ts, o.n_step_ts * sizeof *steps);
            o.step_ts = steps;
            o.n_step_ts = n_steps;
        }
    }
    size_t nw = nde__sde_work_doubles(sde->dim, sde->noise_dim, sde->noise);
    nde__sde_problem P = { .sde = *sde, .bm = bm, .tab = nde__sde_tab(m), .work = NULL };
    if (!nw || !(P.work = nde__calloc(&al, nw, sizeof(double)))) {
        if (steps) nde__free(&al, steps, n_steps * sizeof *steps);
        nde__msg(sol->message_, NDE_MESSAGE_MAX, nw ? NDE_ENOMEM : NDE_EINVAL,
                 "%s the SDE workspace (dim %zu, noise_dim %zu)", nw ? "out of memory for" : "no size fits",
                 sde->dim, sde->noise_dim);
        return fail_early(sol, opts, sde->dim, nw ? NDE_ENOMEM : NDE_EINVAL);
    }
    nde_ode view = { .dim = sde->dim, .f = sde->drift, .user = sde->user };
    int rc = nde__int_solve_problem(&view, NDE__INT_PROBLEM_SDE, &P, t0, t1, y0, &o, sol, on_accept, on_save, hook_ctx);
    nde__free(&al, P.work, nw * sizeof(double));
    if (steps) nde__free(&al, steps, n_steps * sizeof *steps);
    return rc;
}
