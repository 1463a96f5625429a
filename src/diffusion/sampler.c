/* The driver: nde_diffusion_sample resolves the options (options.c), allocates the one
 * workspace of the call and runs the sampler's update loop through its descriptor
 * (registry.c); nde_diffusion_plan and nde_diffusion_timesteps answer from the resolved
 * options and the grids without a workspace. */
#include "diffusion/internal.h"

#include <math.h>
#include <string.h>

/* The exact model evaluations of a resolved run (0 when adaptive). */
static size_t plan_nfe(const nde__diff_ctx *c)
{
    size_t steps = (size_t)c->steps, nfe;
    switch (c->smp->nfe) {
    case NDE__DIFF_NFE_ORDER:
        if (c->method == NDE__DIFF_M_ADAPTIVE) return 0;
        /* singlestep: steps = NFE; fixed: whole steps of `order` */
        nfe = c->method == NDE__DIFF_M_FIXED ? steps / (size_t)c->order * (size_t)c->order
                                             : steps;
        break;
    case NDE__DIFF_NFE_TWO_ANCESTRAL: {
        /* a step with sigma_down = 0 (eta > 1 can give one) is a single Euler step to
         * D, 1 NFE: the sampler's own test on each step of the grid (at most
         * NDE__DIFF_STEPS_MAX of them: well under a second) */
        nfe = 0;
        nde__diff_tp ps = nde__diff_tpoint(
            c->s, nde__diff_grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, 0));
        for (int i = 0; i < c->steps; i++) {
            nde__diff_tp pt = nde__diff_tpoint(
                c->s, nde__diff_grid_at(c, c->spacing, c->t_T, c->t_0, c->steps, i + 1));
            double sd, su;
            nde__diff_ancestral_step(ps.sg / ps.a, pt.sg / pt.a, c->eta, &sd, &su);
            nfe += sd == 0.0 ? 1 : 2;
            ps = pt;
        }
        break;
    }
    case NDE__DIFF_NFE_TWO:
        nfe = 2 * steps;
        break;
    default:
        nfe = steps;
    }
    return nfe + (c->denoise_to_zero ? 1 : 0);
}

int nde_diffusion_plan(const nde_schedule *s, const nde_sampler_options *o, int *order,
                       size_t *nfe)
{
    nde__diff_ctx c;
    int rc = nde__diff_resolve(&c, s, NULL, NDE_PRED_EPS, o, 1, 1);
    if (rc != NDE_OK) return rc;
    if (order) *order = nde__diff_conv_order(c.smp, c.order, c.method);
    if (nfe) *nfe = plan_nfe(&c);
    return NDE_OK;
}

int nde_diffusion_timesteps(const nde_schedule *s, const nde_sampler_options *o,
                            double *ts, size_t n_ts, size_t *n_out)
{
    nde__diff_ctx c;
    int rc = nde__diff_resolve(&c, s, NULL, NDE_PRED_EPS, o, 1, 1);
    if (rc != NDE_OK) return rc;
    if (c.method == NDE__DIFF_M_ADAPTIVE)
        return nde__msg(c.err, c.errsz, NDE_EUNSUPPORTED,
                        "the adaptive method has no fixed time grid");
    if (!ts || n_ts < (size_t)c.steps + 1)
        return nde__msg(c.err, c.errsz, NDE_EINVAL,
                        "ts needs room for %d times, got %zu", c.steps + 1, n_ts);
    /* singlestep DPM-Solver (the only samplers with these methods): its outer grid */
    int singlestep = c.method == NDE__DIFF_M_SINGLESTEP || c.method == NDE__DIFF_M_FIXED;
    if (!singlestep) {
        rc = nde__diff_grid(&c, c.spacing, c.t_T, c.t_0, c.steps, ts);
        if (rc != NDE_OK) return rc;
    }
    size_t cnt = (size_t)c.steps + 1;
    if (singlestep) {
        int K = 0;
        rc = nde__diff_dpm_outer(&c, ts, &K);   /* in place: the outer step ends */
        if (rc != NDE_OK) return rc;
        cnt = (size_t)K + 1;
    }
    if (n_out) *n_out = cnt;
    return NDE_OK;
}

/* ---- the driver ------------------------------------------------------------- */

int nde_diffusion_sample(const nde_schedule *s, nde_denoiser model, int prediction,
                         void *user, const nde_sampler_options *o,
                         double *x, size_t batch, size_t dim, nde_stats *stats)
{
    nde__diff_ctx c;
    int rc = nde__diff_resolve(&c, s, model, prediction, o, batch, dim);
    if (rc != NDE_OK) return rc;
    if (!model) return nde__msg(c.err, c.errsz, NDE_EINVAL, "model is NULL");
    if (!x) return nde__msg(c.err, c.errsz, NDE_EINVAL, "x is NULL");
    if (batch == 0 || dim == 0)
        return nde__msg(c.err, c.errsz, NDE_EINVAL, "batch and dim must be >= 1, got %zu, %zu",
                        batch, dim);
    c.user = user;

    /* one workspace: state copy, sampler buffers, model output(s), inputs, grids */
    int guided = o->uncond_user && c.gscale != 0.0 && c.gscale != 1.0;
    size_t n = c.n, nb = (size_t)c.smp->nbuf;
    size_t nvec = 1 + nb + 1 + (guided ? 1 : 0) + (prediction == NDE_PRED_EDM ? 1 : 0)
                  + (c.smp->needs_tilde ? 1 : 0);
    size_t ngrid = (size_t)c.steps + 1;                               /* ts */
    size_t bytes = 0;
    if (nde__size_muladd(&bytes, nvec, n) || nde__size_add(bytes, dim, &bytes)
        || nde__size_add(bytes, ngrid, &bytes) || nde__size_mul(bytes, sizeof(double), &bytes))
        return nde__msg(c.err, c.errsz, NDE_ENOMEM,
                        "the workspace size (%zu vectors of batch x dim = %zu doubles) "
                        "overflows", nvec, n);
    nde_allocator al = nde__allocator_resolve(o->allocator);
    double *w = nde__alloc(&al, bytes);
    if (!w) return nde__msg(c.err, c.errsz, NDE_ENOMEM, "cannot allocate %zu bytes", bytes);
    /* x is read only once its size has passed the workspace allocation */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            nde__free(&al, w, bytes);
            return nde__msg(c.err, c.errsz, NDE_EINVAL,
                            "x_T is not finite: element %zu is %g", i, x[i]);
        }
    double *p = w;
    c.x = p; p += n;
    for (size_t i = 0; i < nb; i++) { c.buf[i] = p; p += n; }
    c.raw = p; p += n;
    c.raw2 = guided ? p : NULL; p += guided ? n : 0;
    c.xin = prediction == NDE_PRED_EDM ? p : NULL; p += prediction == NDE_PRED_EDM ? n : 0;
    if (c.smp->needs_tilde) { c.xs = p; p += n; }
    c.scr = p; p += dim;
    c.ts = p;

    if ((rc = nde__diff_trees_create(&c, &al))) { nde__free(&al, w, bytes); return rc; }
    memcpy(c.x, x, n * sizeof *x);
    rc = c.smp->run(&c);
    if (rc == NDE_OK && c.denoise_to_zero && !c.denoised) {
        c.step++;
        rc = nde__diff_eval(&c, c.x, c.t_0, NDE__DIFF_WANT_X0, c.x);
    }
    if (rc == NDE_OK) memcpy(x, c.x, n * sizeof *x);
    if (stats) *stats = c.st;      /* also on failure once the run began: how far it got */
    nde__diff_trees_free(&c, &al);
    nde__free(&al, w, bytes);
    return rc;
}
