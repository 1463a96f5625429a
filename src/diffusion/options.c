/* Option resolution and validation: nde_sampler_options (zero fields meaning defaults)
 * into a nde__diff_ctx, every rejection with a message naming the option and the value,
 * all before the workspace is allocated or the model called. */
#include "diffusion/internal.h"

#include <math.h>
#include <string.h>

static int streq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z') ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z') cb += 'a' - 'A';
        if (ca != cb) return 0;
    }
    return *a == *b;
}

static int parse_spacing(const char *sp, int *out)
{
    static const struct { const char *name; int id; } tab[] = {
        { "logsnr", NDE__DIFF_SP_LOGSNR }, { "exponential", NDE__DIFF_SP_LOGSNR },
        { "time_uniform", NDE__DIFF_SP_UNIFORM }, { "time_quadratic", NDE__DIFF_SP_QUADRATIC },
        { "karras", NDE__DIFF_SP_KARRAS }, { "ays_sd15", NDE__DIFF_SP_AYS_SD15 },
        { "ays_sdxl", NDE__DIFF_SP_AYS_SDXL }, { "ays_svd", NDE__DIFF_SP_AYS_SVD },
        { "custom", NDE__DIFF_SP_CUSTOM },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (streq_ci(sp, tab[i].name)) { *out = tab[i].id; return 1; }
    return 0;
}

static int bad(nde__diff_ctx *c, const char *fmt, double v)
{
    return nde__msg(c->err, c->errsz, NDE_EINVAL, fmt, v);
}

#define NDE__DIFF_KNOWN_SAMPLERS_MAX 1024
static int unknown_sampler(nde__diff_ctx *c, const char *name)
{
    char list[NDE__DIFF_KNOWN_SAMPLERS_MAX];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < nde_sampler_count(); i++) {
        const char *nm = nde_sampler_at(i)->name;
        size_t l = strlen(nm);
        if (len + l + 2 >= sizeof list) break;
        if (len) { list[len++] = ' '; }
        memcpy(list + len, nm, l);
        len += l;
        list[len] = '\0';
    }
    return nde__msg(c->err, c->errsz, NDE_EINVAL, "unknown sampler '%s' (known: %s)",
                    name, list);
}

/* Option defaults (the header documents each with its field). */
#define NDE__DIFF_DEFAULT_STEPS 20
#define NDE__DIFF_DEFAULT_TH_RATIO 0.995  /* Imagen (Saharia et al. 2022), reference default */
#define NDE__DIFF_DEFAULT_TH_MAX 1.0      /* reference max_val */
#define NDE__DIFF_DEFAULT_SIGMA_DATA 0.5  /* EDM (Karras et al. 2022) */
#define NDE__DIFF_DEFAULT_RHO 7.0         /* EDM karras spacing */
/* DPM-Solver-12/23 (reference dpm_solver_adaptive defaults) */
#define NDE__DIFF_DEFAULT_ATOL 0.0078
#define NDE__DIFF_DEFAULT_RTOL 0.05
#define NDE__DIFF_DEFAULT_H_INIT 0.05
#define NDE__DIFF_DEFAULT_THETA 0.9
#define NDE__DIFF_DEFAULT_T_ERR 1e-5
#define NDE__DIFF_DEFAULT_MAX_STEPS 100000
/* Largest `steps`. Far above any use (samplers run 10 to a few thousand steps), it
 * bounds the work of validation and of nde_diffusion_plan, which walk the grid point by
 * point (about 0.1 us each): a million steps cost a fraction of a second. */
#define NDE__DIFF_STEPS_MAX 1000000
/* The workspace holds at most this many state-sized vectors (1 + NDE__DIFF_NBUF_MAX + 4
 * are used); batch x dim is rejected above SIZE_MAX / this, so that the element counts
 * of the workspace do not overflow (its byte size is checked in sampler.c). */
#define NDE__DIFF_WORK_VECS_MAX 16
_Static_assert(1 + NDE__DIFF_NBUF_MAX + 4 <= NDE__DIFF_WORK_VECS_MAX, "workspace vectors");

int nde__diff_resolve(nde__diff_ctx *c, const nde_schedule *s, nde_denoiser model,
                      int pred, const nde_sampler_options *o, size_t batch, size_t dim)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->err = o ? o->errbuf : NULL;
    c->errsz = o ? o->errbuf_size : 0;
    if (c->err && c->errsz) c->err[0] = '\0';
    if (!o) return NDE_EINVAL;
    if (!s) return nde__msg(c->err, c->errsz, NDE_EINVAL, "schedule is NULL");
    c->s = s;
    c->model = model;
    c->pred = pred;
    if (pred < NDE_PRED_EPS || pred > NDE_PRED_EDM)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "unknown prediction kind %d (NDE_PRED_EPS..NDE_PRED_EDM)", pred);
    c->batch = batch;
    c->dim = dim;
    size_t nmax;
    if (nde__size_mul(batch, dim, &c->n)
        || nde__size_mul(c->n, NDE__DIFF_WORK_VECS_MAX, &nmax))
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "batch x dim = %zu x %zu overflows the workspace size", batch, dim);

    const char *name = o->sampler ? o->sampler : "dpmsolver++";
    const nde__diff_sampler *smp = nde__diff_sampler_find(name);
    if (!smp) return unknown_sampler(c, name);
    c->smp = smp;
    const nde_sampler_info *si = &smp->info;

    /* method: `method` names one of the sampler's own; `multistep` only matters where
     * there is a choice */
    if (o->method) {
        int m;
        if (streq_ci(o->method, "multistep")) m = NDE__DIFF_M_MULTISTEP;
        else if (streq_ci(o->method, "singlestep")) m = NDE__DIFF_M_SINGLESTEP;
        else if (streq_ci(o->method, "singlestep_fixed")) m = NDE__DIFF_M_FIXED;
        else if (streq_ci(o->method, "adaptive")) m = NDE__DIFF_M_ADAPTIVE;
        else return nde__msg(c->err, c->errsz, NDE_EINVAL,
                             "unknown method '%s' (multistep singlestep singlestep_fixed "
                             "adaptive)", o->method);
        if (!(smp->methods & NDE__DIFF_M_BIT(m)))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "method '%s' does not apply to sampler '%s' (its method is %s)",
                            o->method, si->name,
                            nde__diff_default_method(smp, 1) == NDE__DIFF_M_ADAPTIVE
                            ? "adaptive" : "multistep");
        c->method = m;
    } else {
        c->method = nde__diff_default_method(smp, o->multistep);
    }

    /* order */
    c->order = o->order == 0 ? si->order_default : o->order;
    if (c->method == NDE__DIFF_M_ADAPTIVE && o->order == 0) c->order = 3;
    int omin = si->order_min, omax = si->order_max;
    if (c->method == NDE__DIFF_M_ADAPTIVE) { omin = 2; omax = 3; }
    if (c->order < omin || c->order > omax)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "order %d is out of range for sampler '%s'%s (%d..%d)", o->order,
                        si->name, c->method == NDE__DIFF_M_ADAPTIVE ? " (adaptive)" : "",
                        omin, omax);

    /* solver type, variant */
    c->taylor = 0;
    if (o->solver_type) {
        if (streq_ci(o->solver_type, "dpmsolver") || streq_ci(o->solver_type, "midpoint"))
            c->taylor = 0;
        else if (streq_ci(o->solver_type, "taylor") || streq_ci(o->solver_type, "heun"))
            c->taylor = 1;
        else return nde__msg(c->err, c->errsz, NDE_EINVAL,
                             "unknown solver_type '%s' (dpmsolver or taylor)", o->solver_type);
    }
    c->bh2 = 0;
    if (o->variant) {
        if (streq_ci(o->variant, "bh1")) c->bh2 = 0;
        else if (streq_ci(o->variant, "bh2")) c->bh2 = 1;
        else return nde__msg(c->err, c->errsz, NDE_EINVAL,
                             "unknown UniPC variant '%s' (bh1 or bh2)", o->variant);
    }

    /* spacing and times */
    if (o->spacing) {
        if (!parse_spacing(o->spacing, &c->spacing))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "unknown spacing '%s' (logsnr time_uniform time_quadratic karras "
                            "ays_sd15 ays_sdxl ays_svd custom)", o->spacing);
    } else {
        c->spacing = (s->kind == NDE__DIFF_SCHED_VE || s->kind == NDE__DIFF_SCHED_EDM)
                     ? NDE__DIFF_SP_KARRAS : NDE__DIFF_SP_UNIFORM;
    }
    if (o->steps < 0) return bad(c, "steps must be >= 1, got %g", (double)o->steps);
    if (o->steps > NDE__DIFF_STEPS_MAX)
        return nde__msg(c->err, c->errsz, NDE_EINVAL, "steps must be <= %d, got %d",
                        NDE__DIFF_STEPS_MAX, o->steps);
    c->steps = o->steps == 0 ? NDE__DIFF_DEFAULT_STEPS : o->steps;
    c->t_T = o->t_start == 0 ? s->T : o->t_start;
    c->t_0 = o->t_end == 0 ? s->t_eps : o->t_end;
    if (c->spacing == NDE__DIFF_SP_CUSTOM) {
        if (!o->timesteps || o->n_timesteps < 2)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "spacing 'custom' needs timesteps with n_timesteps >= 2");
        if (o->n_timesteps - 1 > (size_t)NDE__DIFF_STEPS_MAX)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "spacing 'custom': n_timesteps = %zu is too large", o->n_timesteps);
        if (o->steps == 0) c->steps = (int)(o->n_timesteps - 1);
        if ((size_t)c->steps + 1 != o->n_timesteps)
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "spacing 'custom' needs steps + 1 = %d times, got n_timesteps = %zu",
                            c->steps + 1, o->n_timesteps);
        for (size_t i = 0; i < o->n_timesteps; i++) {
            double v = o->timesteps[i];
            if (!isfinite(v) || !(v > 0) || (i > 0 && !(v < o->timesteps[i - 1])))
                return nde__msg(c->err, c->errsz, NDE_EINVAL,
                                "custom timesteps must be finite, > 0 and strictly "
                                "decreasing: timesteps[%zu] = %g", i, v);
            if (!nde__diff_in_domain(s, v))
                return nde__msg(c->err, c->errsz, NDE_EINVAL,
                                "custom timesteps[%zu] = %g is outside the domain of schedule "
                                "'%s' (alpha, sigma, alpha/sigma positive and finite needed)", i, v,
                                nde_schedule_name(s));
        }
        c->t_T = o->timesteps[0];
        c->t_0 = o->timesteps[o->n_timesteps - 1];
    } else {
        nde__diff_grid_range(s, c->spacing, &c->t_T, &c->t_0);   /* the table spacings */
    }
    if (!isfinite(c->t_T) || !isfinite(c->t_0))
        return nde__msg(c->err, c->errsz, NDE_EINVAL, "t_start = %g and t_end = %g must be finite",
                        c->t_T, c->t_0);
    if (!(c->t_0 > 0))
        return bad(c, "t_end must be > 0 (lambda is infinite at t = 0; use denoise_to_zero), "
                      "got %g", c->t_0);
    if (!(c->t_0 < c->t_T))
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "t_end (%g) must be < t_start (%g): sampling runs from noise to data",
                        c->t_0, c->t_T);
    if (s->kind == NDE__DIFF_SCHED_VE && (c->t_T > 1.0 || c->t_0 < 0.0))
        return bad(c, "ve schedule times must lie in (0, 1], got t_start = %g", c->t_T);
    for (int end = 0; end < 2; end++) {
        double t = end ? c->t_0 : c->t_T;
        if (!nde__diff_in_domain(s, t)) {
            nde__diff_tp p = nde__diff_tpoint(s, t);
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "%s = %g is outside the domain of schedule '%s': alpha = %g, "
                            "sigma = %g, lambda = %g (alpha, sigma, alpha/sigma positive and "
                            "finite needed)", end ? "t_end" : "t_start", t,
                            nde_schedule_name(s), p.a, p.sg, p.lam);
        }
    }

    /* NFE vs order */
    if (c->method == NDE__DIFF_M_MULTISTEP && smp->steps_min_order && c->steps < c->order)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "sampler '%s' multistep order %d needs steps >= %d, got %d",
                        si->name, c->order, c->order, c->steps);
    if (c->method == NDE__DIFF_M_FIXED && c->steps < c->order)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "singlestep_fixed order %d needs steps >= %d (NFE = steps/order*order), "
                        "got %d", c->order, c->order, c->steps);

    c->denoise_to_zero = o->denoise_to_zero != 0;
    c->lower_order_final = o->lower_order_final != 0;
    c->d2_weight = smp->d2_weight == NDE__DIFF_D2_TAYLOR ? 2.0 : 1.0;

    /* stochastic */
    c->eta = o->eta < 0 ? smp->eta_default : o->eta;
    if (!isfinite(c->eta)) return bad(c, "eta must be finite, got %g", c->eta);
    if (smp->eta_binary && c->eta != 0.0 && c->eta != 1.0)
        return nde__msg(c->err, c->errsz, NDE_EINVAL, "%s supports eta 0 or 1 only, got %g",
                        si->name, c->eta);
    c->s_noise = o->s_noise == 0 ? 1.0 : o->s_noise;
    if (!(c->s_noise >= 0) || !isfinite(c->s_noise))
        return bad(c, "s_noise must be finite and >= 0, got %g", c->s_noise);
    c->s_churn = o->s_churn;
    c->s_tmin = o->s_tmin;
    c->s_tmax = o->s_tmax == 0 ? INFINITY : o->s_tmax;
    if (!(c->s_tmin >= 0) || !isfinite(c->s_tmin))
        return bad(c, "s_tmin must be finite and >= 0, got %g", c->s_tmin);
    if (!(c->s_tmax > 0))
        return bad(c, "s_tmax must be > 0 (0: +inf), got %g", c->s_tmax);
    if (!(c->s_churn >= 0) || !isfinite(c->s_churn))
        return bad(c, "s_churn must be finite and >= 0, got %g", c->s_churn);
    c->seed = o->seed;
    if (o->brownian_noise != 0 && o->brownian_noise != 1)
        return bad(c, "brownian_noise must be 0 (per-step normals) or 1 (Brownian trees), got %d",
                   o->brownian_noise);
    c->brownian = o->brownian_noise;

    /* adaptor */
    c->thresholding = o->thresholding != 0;
    if (c->thresholding && !smp->thresholds)
        return nde__msg(c->err, c->errsz, NDE_EINVAL,
                        "thresholding clips x0-hat: it applies to data-form samplers and "
                        "ddim, not to '%s' (noise form)", si->name);
    c->th_ratio = o->thresholding_ratio == 0 ? NDE__DIFF_DEFAULT_TH_RATIO
                                             : o->thresholding_ratio;
    c->th_max = o->thresholding_max_val == 0 ? NDE__DIFF_DEFAULT_TH_MAX
                                             : o->thresholding_max_val;
    if (!(c->th_ratio > 0 && c->th_ratio <= 1))
        return bad(c, "thresholding_ratio must lie in (0, 1], got %g", c->th_ratio);
    if (!(c->th_max > 0) || !isfinite(c->th_max))
        return bad(c, "thresholding_max_val must be > 0, got %g", c->th_max);
    c->gscale = o->guidance_scale;
    if (!isfinite(c->gscale)) return bad(c, "guidance_scale must be finite, got %g", c->gscale);
    c->sigma_data = o->sigma_data == 0 ? NDE__DIFF_DEFAULT_SIGMA_DATA : o->sigma_data;
    if (!(c->sigma_data > 0) || !isfinite(c->sigma_data))
        return bad(c, "sigma_data must be > 0, got %g", c->sigma_data);
    c->rho = o->rho == 0 ? NDE__DIFF_DEFAULT_RHO : o->rho;
    if (!(c->rho > 0) || !isfinite(c->rho)) return bad(c, "rho must be > 0, got %g", c->rho);

    /* adaptive */
    c->atol = o->atol == 0 ? NDE__DIFF_DEFAULT_ATOL : o->atol;
    c->rtol = o->rtol == 0 ? NDE__DIFF_DEFAULT_RTOL : o->rtol;
    c->h_init = o->h_init == 0 ? NDE__DIFF_DEFAULT_H_INIT : o->h_init;
    c->theta = o->theta == 0 ? NDE__DIFF_DEFAULT_THETA : o->theta;
    c->t_err = o->t_err == 0 ? NDE__DIFF_DEFAULT_T_ERR : o->t_err;
    c->max_steps = o->max_steps == 0 ? NDE__DIFF_DEFAULT_MAX_STEPS : o->max_steps;
    if (c->method == NDE__DIFF_M_ADAPTIVE) {
        if (!(c->atol > 0) || !(c->rtol >= 0) || !isfinite(c->atol) || !isfinite(c->rtol))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "adaptive tolerances must be atol > 0, rtol >= 0, got %g, %g",
                            c->atol, c->rtol);
        if (!(c->h_init > 0) || !(c->theta > 0) || !(c->t_err > 0))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "adaptive h_init, theta, t_err must be > 0, got %g, %g, %g",
                            c->h_init, c->theta, c->t_err);
        /* the first step is h_init unclipped (as the reference): it must not pass t_end */
        double range = nde_schedule_lambda(s, c->t_0) - nde_schedule_lambda(s, c->t_T);
        if (!(c->h_init <= range))
            return nde__msg(c->err, c->errsz, NDE_EINVAL,
                            "adaptive h_init = %g must be <= lambda(t_end) - lambda(t_start) "
                            "= %g (the first step would pass t_end)", c->h_init, range);
        return NDE_OK;
    }
    return nde__diff_grid_check(c);
}
