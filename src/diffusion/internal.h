/* Private declarations of the diffusion module.
 *
 * Layout (each file depends only on the ones listed after it, and on src/core,
 * src/numerics, src/random; nothing calls back up this list):
 *   sampler.c     the driver: nde_diffusion_sample (one workspace, dispatch through the
 *                 registry), nde_diffusion_plan, nde_diffusion_timesteps
 *   options.c     option resolution and validation into a nde__diff_ctx
 *   registry.c    the sampler table: one descriptor per sampler (designated
 *                 initializers), lookup, the public nde_sampler_* queries
 *   solvers.c     update rules of the exponential integrators in lambda: DDIM,
 *                 DPM-Solver(++) single/multistep/adaptive and SDE, UniPC, DEIS, iPNDM, LMS
 *   kdiffusion.c  update rules in (x/alpha, sigma/alpha): EDM Euler/Heun/DPM2 with churn,
 *                 the ancestral samplers, DPM++ SDE
 *   adaptor.c     the model adaptor (prediction kind -> eps-hat / x0-hat, classifier-free
 *                 guidance, dynamic thresholding, EDM preconditioning) and the per-step
 *                 hooks (finiteness, on_step, noise draws)
 *   grid.c        time grids of every spacing, the singlestep outer grid, grid checks
 *   gmm.c         the exact Gaussian-mixture model (nde_gmm_*)
 *   schedule.c    noise schedules (nde_schedule_*), nde__diff_tpoint, _lpoint
 * The solvers see a sampler only through the resolved context and the descriptor's
 * fields (c->smp); they never look the registry up. */
#ifndef NDE_SRC_DIFFUSION_INTERNAL_H
#define NDE_SRC_DIFFUSION_INTERNAL_H

#include "core/internal.h"
#include "nde/diffusion.h"
#include "numerics/internal.h"
#include "random/internal.h"
#include "nde/brownian.h"

/* ---- schedules (schedule.c) ---- */
enum { NDE__DIFF_SCHED_VP_LINEAR, NDE__DIFF_SCHED_VP_COSINE, NDE__DIFF_SCHED_VP_DISCRETE,
       NDE__DIFF_SCHED_VE, NDE__DIFF_SCHED_EDM };

struct nde_schedule {
    int kind;
    double b0, b1;            /* vp_linear */
    double cs, clog_a0;       /* vp_cosine: s and log cos(pi/2 s/(1+s)) */
    double smin, smax;        /* ve, edm */
    double T, t_eps;          /* default t_start, t_end */
    size_t n;                 /* vp_discrete: kept table length (total_N) */
    double *t_arr, *la_arr;   /* vp_discrete: t_n = (n+1)/N, log alpha_n */
    nde_allocator alloc;
    size_t bytes;             /* of the table block t_arr (la_arr lies inside it) */
};

/* alpha, sigma, lambda at one time, computed once per grid point. */
typedef struct nde__diff_tp {
    double t, la, a, sg, lam;  /* t, log alpha, alpha, sigma, lambda */
} nde__diff_tp;
nde__diff_tp nde__diff_tpoint(const nde_schedule *s, double t);
/* The same at a log-SNR lambda, from lambda itself (alpha and sigma are functions of
 * lambda alone), not through t(lambda), which a nearly flat table saturates; .t is
 * t(lambda). */
nde__diff_tp nde__diff_lpoint(const nde_schedule *s, double lambda);
/* The schedule is usable at t: alpha, sigma, alpha/sigma and sigma/alpha positive and
 * finite (so lambda is finite too). */
int nde__diff_in_domain(const nde_schedule *s, double t);

/* ---- the sampler descriptor (registry.c) ---- */

/* Methods (the `method` option); a descriptor accepts a set of them. */
enum { NDE__DIFF_M_MULTISTEP, NDE__DIFF_M_SINGLESTEP, NDE__DIFF_M_FIXED,
       NDE__DIFF_M_ADAPTIVE };
#define NDE__DIFF_M_BIT(m) (1u << (m))
#define NDE__DIFF_M_ALL (NDE__DIFF_M_BIT(NDE__DIFF_M_MULTISTEP) | \
    NDE__DIFF_M_BIT(NDE__DIFF_M_SINGLESTEP) | NDE__DIFF_M_BIT(NDE__DIFF_M_FIXED) | \
    NDE__DIFF_M_BIT(NDE__DIFF_M_ADAPTIVE))

/* How a sampler uses Gaussian noise (each draw: nde__diff_noise). */
enum nde__diff_noise_use {
    NDE__DIFF_NOISE_NONE,       /* deterministic */
    NDE__DIFF_NOISE_ETA,        /* DDIM: one draw per step when eta > 0 (default eta 0) */
    NDE__DIFF_NOISE_SDE,        /* SDE multistep: the exact noise of the linear part */
    NDE__DIFF_NOISE_ANCESTRAL,  /* one sigma_up draw after each step */
    NDE__DIFF_NOISE_CHURN,      /* EDM churn: a draw before the step when s_churn > 0 */
    NDE__DIFF_NOISE_BRIDGE      /* two Brownian-consistent draws per step (DPM++ SDE) */
};

/* Model evaluations per step (nde_sampler_nfe_per_step, nde_diffusion_plan). */
enum nde__diff_nfe_rule {
    NDE__DIFF_NFE_ONE,          /* one per step */
    NDE__DIFF_NFE_ORDER,        /* multistep one; singlestep `order` per outer step (steps
                                   = NFE in total; fixed: steps / order * order);
                                   adaptive `order` per attempted step */
    NDE__DIFF_NFE_TWO,          /* two per step */
    NDE__DIFF_NFE_TWO_ANCESTRAL /* two per step, one where sigma_down = 0 (eta > 1) */
};

/* Weight of the second difference D2 in multistep order 3 (see solvers.c ms_update). */
enum { NDE__DIFF_D2_NONE, NDE__DIFF_D2_REFERENCE, NDE__DIFF_D2_TAYLOR };

/* Update rules within one runner (the descriptor's `rule`). */
enum { NDE__DIFF_EDM_EULER, NDE__DIFF_EDM_HEUN, NDE__DIFF_EDM_DPM2 };
enum { NDE__DIFF_ANC_EULER, NDE__DIFF_ANC_DPM2, NDE__DIFF_ANC_2S };
enum { NDE__DIFF_EPS_DEIS, NDE__DIFF_EPS_IPNDM, NDE__DIFF_EPS_LMS };

typedef struct nde__diff_ctx nde__diff_ctx;
typedef int (*nde__diff_run_fn)(nde__diff_ctx *c);

/* What a sampler is. The form (data: integrates x0-hat, noise: eps-hat) is
 * info.data_form; info.stochastic says whether the default eta draws noise. */
typedef struct nde__diff_sampler {
    nde_sampler_info info;      /* public part */
    nde__diff_run_fn run;       /* the update loop (solvers.c, kdiffusion.c) */
    int rule;                   /* which update of the runner (NDE__DIFF_EDM_* ...) */
    unsigned methods;           /* accepted methods (NDE__DIFF_M_BIT set); one bit: fixed */
    int nbuf;                   /* state-sized work buffers needed */
    int needs_tilde;            /* works in (x/alpha, sigma/alpha): needs the input buffer */
    int noise;                  /* enum nde__diff_noise_use */
    double eta_default;         /* eta when the option is < 0 */
    int eta_binary;             /* only eta 0 or 1 (diffusers sde-dpmsolver, noise form) */
    int thresholds;             /* dynamic thresholding applies (x0-hat is formed) */
    int steps_min_order;        /* multistep from one model value: needs steps >= order */
    int taylor_order2;          /* second-order steps use the Taylor D1 weight (3M SDE) */
    int nfe;                    /* enum nde__diff_nfe_rule */
    int order_shift;            /* convergence order = order + order_shift (unipc: 1) */
    int d2_weight;              /* NDE__DIFF_D2_*: multistep order 3 with the reference
                                   weight converges at order 2 */
    int order_cap;              /* convergence order is at most this (0: no cap). ipndm: 2,
                                   its Adams-Bashforth coefficients assume equal steps in
                                   sigma/alpha, which no spacing gives (measured: order 2) */
} nde__diff_sampler;

const nde__diff_sampler *nde__diff_sampler_find(const char *name);   /* NULL if unknown */
/* The method a descriptor runs when the options name none (multistep: the option). */
int nde__diff_default_method(const nde__diff_sampler *smp, int multistep);
/* The measured convergence order of the ODE part for a resolved order and method. */
int nde__diff_conv_order(const nde__diff_sampler *smp, int order, int method);

/* ---- the sampler context: resolved options, sizes, workspace (options.c) ---- */
enum { NDE__DIFF_SP_LOGSNR, NDE__DIFF_SP_UNIFORM, NDE__DIFF_SP_QUADRATIC,
       NDE__DIFF_SP_KARRAS, NDE__DIFF_SP_AYS_SD15, NDE__DIFF_SP_AYS_SDXL,
       NDE__DIFF_SP_AYS_SVD, NDE__DIFF_SP_CUSTOM };
enum { NDE__DIFF_WANT_EPS, NDE__DIFF_WANT_X0 };
#define NDE__DIFF_NBUF_MAX 10

struct nde__diff_ctx {
    const nde_schedule *s;
    nde_denoiser model; int pred; void *user;
    const nde_sampler_options *o;
    const nde__diff_sampler *smp;
    /* resolved options */
    int order, steps, method, spacing, taylor, bh2, denoise_to_zero, lower_order_final;
    int thresholding;
    double t_T, t_0, eta, s_noise, s_churn, s_tmin, s_tmax, rho, sigma_data, gscale;
    double th_ratio, th_max, atol, rtol, h_init, theta, t_err;
    size_t max_steps;
    uint64_t seed;
    int brownian;               /* o->brownian_noise */
    /* sizes and memory */
    size_t batch, dim, n;
    double *x;                  /* working state (copied back on success) */
    double *buf[NDE__DIFF_NBUF_MAX];
    double *raw, *raw2, *xin, *xs, *scr;  /* model outputs, EDM input, alpha*xt, dim scratch */
    double *ts;                 /* grid: steps + 1 */
    nde_stats st;
    int step;                   /* current step (messages, noise stream) */
    nde_brownian **trees;       /* brownian_noise: one tree per batch row; NULL: per-step
                                   normals */
    double tree_span;           /* the trees' time span [0, tree_span] */
    int denoised;               /* the sampler took the final step to t = 0 itself */
    double d2_weight;           /* 3M: weight of psi3 D2 (1 reference, 2 Taylor) */
    char *err; size_t errsz;
};

/* Resolves and validates o for schedule s into c (memset first; the message goes to
 * o->errbuf). model may be NULL (plan, timesteps); batch and dim are checked for
 * overflow only. Returns NDE_OK or NDE_EINVAL, before any model call. */
int nde__diff_resolve(nde__diff_ctx *c, const nde_schedule *s, nde_denoiser model,
                      int pred, const nde_sampler_options *o, size_t batch, size_t dim);

/* The samplers' passes over the batch vectorise: on x86-64 Linux with GCC the functions
 * that hold them are built for AVX-512, AVX2 and the baseline at -O3 (GCC 12's -O2
 * leaves loops of unknown length scalar), picked at load time, as the nn layer's tanh.
 * The passes are elementwise (no FMA contraction in ISO C mode, no reassociation), so
 * every version gives the same bits. Only static functions get it (the private entry
 * points call them): GCC exports a non-static clone's ifunc and resolver whatever the
 * visibility. */
#define NDE__DIFF_VEC NDE__VEC_CLONES

/* ---- the model adaptor and per-step hooks (adaptor.c) ---- */
/* x0 = (x - sigma eps) / alpha over n values (out may alias eps). */
void nde__diff_x0_of_eps(size_t n, const double *x, const double *eps, double alpha,
                         double sigma, double *out);
/* The (guided, converted, thresholded) model at (x, t) as eps-hat or x0-hat into out. */
int nde__diff_eval(nde__diff_ctx *c, const double *x, double t, int want, double *out);
/* x0-hat at t for the scaled state xt = x/alpha (k-diffusion samplers) into D. */
int nde__diff_eval_tilde(nde__diff_ctx *c, const double *xt, double t, double *D);
/* Counts the step, checks c->x is finite, calls on_step. */
int nde__diff_after_step(nde__diff_ctx *c, int step, double t);
/* The n = batch x dim normals of (step, stage) under the seed. */
void nde__diff_noise(const nde__diff_ctx *c, int step, int stage, double *z);
/* The step's normals z: with brownian_noise the normalised increments of each row's
 * tree over [min(a, b), max(a, b)] in the tree's time (tau = sigma/alpha, or the run
 * fraction for churn: see nde/diffusion.h), else nde__diff_noise(step, stage). */
int nde__diff_noise_over(nde__diff_ctx *c, int step, int stage, double a, double b, double *z);
/* Creates c->trees when brownian_noise asks for them and the run draws noise (span: the
 * tree's time [0, span]); frees them. */
int nde__diff_trees_create(nde__diff_ctx *c, const nde_allocator *al);
void nde__diff_trees_free(nde__diff_ctx *c, const nde_allocator *al);
/* Reference dynamic thresholding of batch rows of dim values in place: per row,
 * s = max(quantile(|x0|, ratio), max_val), x0 <- clamp(x0, -s, s) / s; scratch: dim. */
void nde__diff_threshold(double *x0, size_t batch, size_t dim, double ratio,
                         double max_val, double *scratch);

/* ---- time grids (grid.c) ---- */
/* Point i of the N+1-point grid of a spacing from t_T to t_0 (no workspace). */
double nde__diff_grid_at(const nde__diff_ctx *c, int spacing, double t_T, double t_0,
                         int N, int i);
/* All N+1 points into ts. */
int nde__diff_grid(const nde__diff_ctx *c, int spacing, double t_T, double t_0, int N,
                   double *ts);
/* A spacing with its own range (the Align Your Steps tables): its t_start and t_end on
 * schedule s; returns 0 for other spacings. */
int nde__diff_grid_range(const nde_schedule *s, int spacing, double *t_T, double *t_0);
/* The fixed-step grid of c is usable by every sampler, else NDE_EINVAL with a message. */
int nde__diff_grid_check(nde__diff_ctx *c);
/* Singlestep DPM-Solver outer grid (K+1 times, in place in ts of capacity steps+1) and
 * the reference order of outer step k. */
int nde__diff_dpm_outer(const nde__diff_ctx *c, double *ts, int *K);
int nde__diff_dpm_fast_order(int steps, int order, int method, int k);
/* Inner lambda ratios r1 (and r2, order 3) of the singlestep step s -> t of order ord:
 * the reference's sub-grid of the same spacing (0.5, 2/3 unused for lower orders). */
void nde__diff_dpm_inner(const nde__diff_ctx *c, double s, double t, int ord, double *r1,
                         double *r2);
const char *nde__diff_spacing_name(int spacing);

/* ---- update rules (solvers.c, kdiffusion.c) ---- */
int nde__diff_run_ddim(nde__diff_ctx *c);
int nde__diff_run_dpm(nde__diff_ctx *c);           /* multistep, singlestep, adaptive */
int nde__diff_run_dpm_sde(nde__diff_ctx *c);       /* SDE multistep */
int nde__diff_run_unipc(nde__diff_ctx *c);
int nde__diff_run_eps_multistep(nde__diff_ctx *c); /* deis, ipndm, lms */
int nde__diff_run_edm(nde__diff_ctx *c);           /* euler, heun, dpm2 (+ churn) */
int nde__diff_run_ancestral(nde__diff_ctx *c);     /* euler/dpm2/dpmpp_2s ancestral */
int nde__diff_run_dpmpp_sde(nde__diff_ctx *c);
/* k-diffusion get_ancestral_step from sigma/alpha sf to st: sigma_down, sigma_up. */
void nde__diff_ancestral_step(double sf, double st, double eta, double *sd, double *su);

#endif
