/* nde/diffusion.h — diffusion-model samplers as exponential integrators.
 *
 * Sampling a diffusion model is solving its probability-flow ODE (or reverse SDE)
 * from t_start (noise) down to t_end (data). With x_t = alpha_t x_0 + sigma_t eps and
 * the half log-SNR lambda_t = log(alpha_t / sigma_t), the ODE has an exactly solvable
 * linear part; the samplers here (DPM-Solver, DPM-Solver++, UniPC, DEIS, DDIM, the EDM
 * and k-diffusion family) integrate only the model term with a few high-order steps.
 *
 * Example: DPM-Solver++(2M), 10 model calls, on the exact Gaussian-mixture model.
 *
 *     double w[2] = {0.5, 0.5}, mu[4] = {-2, 0, 2, 0}, sd[4] = {0.3, 0.3, 0.3, 0.3};
 *     nde_gmm g = { 2, 2, w, mu, sd };
 *     nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
 *     nde_gmm_model gm = { &g, s, NDE_PRED_EPS, -1, 0.0 };
 *     double x[2 * 100];                               // 100 points in 2-D
 *     nde_normal_fill(42, 0, 200, x);                  // x_T ~ N(0, I)
 *     nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT; // dpmsolver++, order 2, multistep
 *     o.steps = 10; o.spacing = "logsnr";
 *     nde_stats st;
 *     int rc = nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o,
 *                                   x, 100, 2, &st);  // x now holds x_0 (t = 1e-3)
 *     printf("%s: %zu model calls, x[0] = (%g, %g)\n", nde_status_str(rc), st.nfe, x[0], x[1]);
 *     nde_schedule_free(s);
 *
 * Layers: nde_schedule (alpha, sigma, lambda and its inverse) -> model adaptor (any
 * prediction kind to eps-hat / x0-hat, guidance, thresholding, EDM preconditioning)
 * -> time grid (nde_diffusion_timesteps) -> sampler (nde_diffusion_sample).
 * nde_gmm is an exact Gaussian-mixture "model" for tests and demos without weights.
 *
 * Conventions follow the DPM-Solver reference implementation (LuChengTHU/dpm-solver,
 * dpm_solver_pytorch.py): its time grids (get_time_steps), its singlestep order
 * schedule with inner r1/r2 taken from the sub-grid, its multistep warm-up and the
 * lower_order_final rule (only when steps < 10), t_end = 1/N (1e-3 for continuous
 * schedules), the discrete schedule's t_n = (n+1)/N with piecewise-linear log alpha,
 * the model time 1000 (t - 1/N) for discrete models, and solver_type "dpmsolver".
 * Outputs agree with it (run in float64) to round-off.
 *
 * The discrete model time 1000 (t - 1/N) is the reference's mapping; it equals the
 * training index n of t_n = (n+1)/N only for N = 1000-step tables (for other N the model
 * gets 1000 n / N). It is kept for agreement with the reference; wrap the denoiser to
 * rescale if a model expects the index.
 */
#ifndef NDE_DIFFUSION_H
#define NDE_DIFFUSION_H

#include <stddef.h>
#include <stdint.h>
#include "core.h"
#include "random.h"   /* nde_normal_fill; the samplers' noise streams */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- noise schedules ---------------------------------------------------------- */

/* A forward process x_t = alpha(t) x_0 + sigma(t) eps. VP schedules have
 * alpha^2 + sigma^2 = 1 and are expressed through log alpha(t):
 *   vp_linear   log alpha = -t^2 (b1 - b0)/4 - t b0/2, t in [0, 1] (ScoreSDE VPSDE,
 *               b0 = 0.1, b1 = 20); model time = t; default t_end 1e-3. Any finite
 *               0 <= b0 <= b1, b1 > 0 is accepted: t_of_lambda solves the quadratic on
 *               scaled operands (b0^2 + 2 (b1 - b0) L would overflow above ~1e154 and
 *               underflow below ~1e-154), within a few ULP times (1 + |lambda|) for
 *               every such pair and every lambda; only where log alpha(t) itself is
 *               subnormal (betas below ~1e-305) do lambda(t) and hence the round trip
 *               t -> lambda -> t lose precision.
 *   vp_cosine   log alpha = log cos(pi/2 (t+s)/(1+s)) - log cos(pi/2 s/(1+s)) (iDDPM,
 *               s = 0.008); T = 0.9946 as in the reference (T = 1 is singular).
 *   vp_discrete DDPM table beta_0..beta_{N-1}: log alpha_n = 1/2 sum_{k<=n} log(1-beta_k)
 *               placed at t_n = (n+1)/N, piecewise linear in t (linear extrapolation
 *               outside), tail with lambda < -5.1 dropped (reference
 *               numerical_clip_alpha; N becomes the kept length); model time
 *               1000 (t - 1/N); default t_end 1/N. Tables of subnormal betas (log
 *               alpha below ~1e-280) interpolate log alpha with too few bits for
 *               lambda(t) to stay monotone.
 *   ve          alpha = 1, sigma = smin (smax/smin)^t, t in [0, 1] (ScoreSDE VESDE).
 *   edm         alpha = 1, sigma = t in [smin, smax] (Karras et al. 2022); the model
 *               time is sigma itself; default t_start smax, t_end smin.
 * lambda and its inverse are computed without cancellation (expm1/log1p, logaddexp).
 *               The ve model time is t itself (not sigma): wrap a model that is
 *               conditioned on sigma with sigma = nde_schedule_sigma(s, t).
 * Constructors return NULL on invalid parameters (non-finite, b1 < b0, b0 < 0,
 * betas outside (0, 1), n < 2, smin <= 0, smax <= smin, ve smax/smin overflowing, a
 * discrete table whose log alpha is not strictly decreasing in double precision -
 * betas too small to change it - or whose size n * 16 bytes overflows) or out of
 * memory. The _ex forms take their memory through the allocator `a` (copied into the
 * schedule, which frees through it; NULL: malloc/free); the plain forms are the _ex
 * forms with NULL.
 * Accessors: a NULL schedule gives NaN from every function returning a double
 * (alpha, sigma, lambda, t_of_lambda, log_alpha, model_time, time_of_model_time, t_max,
 * t_min) and NULL from nde_schedule_name; a NaN argument gives NaN; other arguments
 * outside [t_min, t_max] go through the same formulas (tables extrapolate linearly).
 * alloc: create only · errors: NULL (invalid parameters, out of memory) · thread: a
 * schedule is immutable; share it freely */
typedef struct nde_schedule nde_schedule;            /* alpha(t), sigma(t), lambda(t), t(lambda) */
NDE_API nde_schedule *nde_schedule_vp_linear(double beta_min, double beta_max);
NDE_API nde_schedule *nde_schedule_vp_cosine(double s);
NDE_API nde_schedule *nde_schedule_vp_discrete(const double *betas, size_t n);
NDE_API nde_schedule *nde_schedule_vp_discrete_alphas_cumprod(const double *alphas_cumprod, size_t n);
NDE_API nde_schedule *nde_schedule_ve(double sigma_min, double sigma_max);
NDE_API nde_schedule *nde_schedule_edm(double sigma_min, double sigma_max);
NDE_API nde_schedule *nde_schedule_vp_linear_ex(double beta_min, double beta_max,
                                        const nde_allocator *a);
NDE_API nde_schedule *nde_schedule_vp_cosine_ex(double s, const nde_allocator *a);
NDE_API nde_schedule *nde_schedule_vp_discrete_ex(const double *betas, size_t n,
                                          const nde_allocator *a);
NDE_API nde_schedule *nde_schedule_vp_discrete_alphas_cumprod_ex(const double *alphas_cumprod,
                                                         size_t n, const nde_allocator *a);
NDE_API nde_schedule *nde_schedule_ve_ex(double sigma_min, double sigma_max, const nde_allocator *a);
NDE_API nde_schedule *nde_schedule_edm_ex(double sigma_min, double sigma_max, const nde_allocator *a);
NDE_API void   nde_schedule_free(nde_schedule *s);                   /* NULL: no-op */
NDE_API double nde_schedule_alpha(const nde_schedule *s, double t);
NDE_API double nde_schedule_sigma(const nde_schedule *s, double t);
NDE_API double nde_schedule_lambda(const nde_schedule *s, double t); /* log alpha - log sigma */
NDE_API double nde_schedule_t_of_lambda(const nde_schedule *s, double lambda);
NDE_API double nde_schedule_log_alpha(const nde_schedule *s, double t);
NDE_API double nde_schedule_model_time(const nde_schedule *s, double t);   /* what the denoiser gets */
NDE_API double nde_schedule_time_of_model_time(const nde_schedule *s, double model_t);
NDE_API double nde_schedule_t_max(const nde_schedule *s);      /* T: the default t_start */
NDE_API double nde_schedule_t_min(const nde_schedule *s);      /* the default t_end */
NDE_API const char *nde_schedule_name(const nde_schedule *s);  /* "vp_linear", ... */

/* ---- models ------------------------------------------------------------------- */

/* What the model outputs (nde_diffusion_sample converts, following the reference
 * model_wrapper: everything goes through eps-hat, x0-hat = (x - sigma eps)/alpha):
 *   EPS    noise eps                       eps = m
 *   X0     data x_0                        eps = (x - alpha m)/sigma
 *   V      v = alpha eps - sigma x_0       eps = alpha m + sigma x
 *   SCORE  grad log p_t(x)                 eps = -sigma m
 *   EDM    raw network F of an EDM-preconditioned model (Karras et al. 2022):
 *          with xt = x/alpha, st = sigma/alpha, sd = sigma_data,
 *          D = sd^2/(st^2+sd^2) xt + st sd/sqrt(st^2+sd^2) F(xt/sqrt(st^2+sd^2), log(st)/4),
 *          i.e. the model is called with the preconditioned input and c_noise as t. */
enum { NDE_PRED_EPS = 0, NDE_PRED_X0 = 1, NDE_PRED_V = 2, NDE_PRED_SCORE = 3,
       NDE_PRED_EDM = 4 };

/* Model output for a batch: x and out are batch x dim row-major; t is the model time
 * (nde_schedule_model_time, or c_noise for NDE_PRED_EDM). Return 0 on success,
 * nonzero to stop sampling (NDE_ECALLBACK). */
typedef int (*nde_denoiser)(const double *x, double t, size_t batch, size_t dim,
                            double *out, void *user);   /* model output for a batch */

/* Called after every sampler step with the current state (which it may modify, as the
 * reference's correcting_xt_fn: every sampler continues from the modified state); step
 * counts from 1, t is the time reached. Return 0 to continue, nonzero to stop
 * (NDE_ECALLBACK). With denoise_to_zero, euler/heun/dpm2 take the final step to sigma = 0
 * themselves and call it once more (step = steps + 1, t = 0, x = the result); for every
 * other sampler the final x <- x0-hat is not a step: no call, not counted in stats.steps
 * (it is in stats.nfe). */
typedef int (*nde_sampler_step_fn)(int step, double t, double *x, size_t batch,
                                   size_t dim, void *user);

/* ---- sampling ----------------------------------------------------------------- */

/* Samplers (`nde samplers` lists them with order and NFE per step):
 *   ddim              DDIM with eta (0: deterministic, = DPM-Solver-1); order 1, 1 NFE/step
 *   dpmsolver         DPM-Solver, noise form; multistep 1/2/3 (1 NFE/step), singlestep
 *                     "DPM-Solver-fast" 1/2/3 (steps = NFE, reference order schedule),
 *                     method "singlestep_fixed", or "adaptive" (DPM-Solver-12/23)
 *   dpmsolver++       DPM-Solver++, data form; same methods (2M, 3M, 2S, 3S ...)
 *                     Multistep order 3 reproduces the reference, whose weight of the
 *                     second difference (phi_3 D2, D2 ~ h^2 x''/2) is half the Taylor-
 *                     consistent one: it converges at order 2 (measured); singlestep 3
 *                     is third order.
 *   dpmpp_3m          DPM-Solver++(3M) with the weight 2 phi_3: third order
 *   dpmsolver_adaptive, dpmsolver++_adaptive   method "adaptive", order 2 or 3 (default 3);
 *                     like the reference, the step factor E^(-1/order) is rounded to float
 *   dpmpp_2m          = dpmsolver++ multistep order 2 (A1111/k-diffusion name)
 *   dpmsolver++_sde   SDE-DPM-Solver++ multistep (diffusers sde-dpmsolver++), orders 1-3,
 *                     generalised with eta as k-diffusion (eta 0 = dpmsolver++ multistep;
 *                     order 3 has the reference D2 weight: converges at order 2)
 *   dpmpp_2m_sde, dpmpp_3m_sde   k-diffusion DPM++ 2M / 3M SDE (eta default 1; 3M has
 *                     the reference D2 weight: order 2)
 *   dpmsolver_sde     SDE-DPM-Solver, noise form (diffusers sde-dpmsolver), orders 1-2
 *   unipc             UniPC (bh1 default, variant "bh2"), data form; UniP-p + UniC,
 *                     order p+1 (order field = p, 1..3), 1 NFE/step, no corrector on
 *                     the final step, lower_order_final at any step count (as reference)
 *   unipc_noise       UniPC in the noise form
 *   deis              DEIS tAB (Zhang & Chen): Lagrange polynomial in t through the last
 *                     `order` eps values, integrated exactly (Gauss-Legendre in lambda)
 *   ipndm             improved PNDM: equal-step Adams-Bashforth (order 1-4) on eps in
 *                     (x/alpha, sigma/alpha); the equal-step coefficients on the non-
 *                     uniform grids of every spacing make orders 3 and 4 converge at
 *                     order 2 (measured), which is what is reported
 *   lms               k-diffusion linear multistep in sigma/alpha, order 1-4
 *   euler, heun, dpm2 EDM Euler / Heun (2 NFE/step) / DPM2 midpoint, with churn
 *                     (s_churn, s_tmin, s_tmax, s_noise), in (x/alpha, sigma/alpha);
 *                     with denoise_to_zero they take k-diffusion's final step to sigma = 0
 *                     themselves (churn included; gamma = s_churn/(steps + 1))
 *   euler_ancestral, dpm2_ancestral, dpmpp_2s_ancestral   ancestral (eta default 1);
 *                     a step whose sigma_down is 0 (eta > 1 can give one) is a single
 *                     Euler step to x0-hat, 1 NFE; dpm2_ancestral then adds no noise
 *                     (k-diffusion's behaviour), dpmpp_2s_ancestral does
 *   dpmpp_sde         k-diffusion DPM++ SDE (singlestep, r = 1/2, 2 NFE/step), with
 *                     Brownian-consistent noise inside a step
 * Spacings (N = steps, N+1 times from t_start down to t_end):
 *   "logsnr" ("logSNR", "exponential")  uniform in lambda (reference logSNR)
 *   "time_uniform"                      uniform in t (default for VP schedules)
 *   "time_quadratic"                    uniform in sqrt(t)
 *   "karras"                            Karras rho-spacing of sigma/alpha (rho = 7;
 *                                       default for ve/edm)
 *   "ays_sd15", "ays_sdxl", "ays_svd"   Align Your Steps 10-step sigma tables,
 *                                       log-linearly interpolated to N+1 points; the
 *                                       table's own range replaces t_start/t_end
 *   "custom"                            the times in `timesteps` (N+1, decreasing)
 * Noise. Stochastic samplers draw Gaussian noise from a counter-based generator
 * (Philox4x32-10, Random123): by default the noise is a function of (seed, step, stage,
 * index) only, the normals of stream NDE_STREAM_SAMPLER(step, stage) (nde/random.h), as
 * the reference implementations draw it: a different number of steps gives an
 * independent sample. With brownian_noise = 1 the noise is instead the increments of a
 * Brownian path, one virtual Brownian tree of dimension dim per batch row (row r's tree
 * has seed nde__philox(seed, r), so a row does not depend on the batch size), queried
 * in k-diffusion's BrownianTreeNoiseSampler convention: a step from tau_i to tau_i+1
 * (tau = sigma/alpha, the tree on [0, tau(t_start)]) draws
 * z = (W(tau_i) - W(tau_i+1)) / sqrt(tau_i - tau_i+1), and DPM++ SDE's two draws of a
 * step are the increments over [tau_s, tau_i] and [tau_i+1, tau_i]. EDM churn, whose
 * noise is added going up in sigma, uses a tree in the step's fraction u = i / N of the
 * run instead (z = (W(u_i+1) - W(u_i)) sqrt(N)), so its increments never overlap. The
 * sample is then a function of one path: as steps grow it converges to the reverse
 * SDE's solution for that path (tested on the exact mixture). Memory: about 70 dim
 * doubles per row, from the allocator, once per call. */
/* Initialise with NDE_SAMPLER_OPTIONS_INIT. A zeroed struct is valid, but by the field
 * meanings below it asks for singlestep DPM-Solver (multistep 0), no lower_order_final
 * and eta 0 (the stochastic samplers made deterministic), unlike the INIT defaults. */
typedef struct nde_sampler_options {     /* NDE_SAMPLER_OPTIONS_INIT gives defaults */
    const char *sampler;   /* "ddim" "dpmsolver" "dpmsolver++" "unipc" "deis" "euler" "heun"
                              "euler_ancestral" "dpmsolver++_sde" ... ; NULL: "dpmsolver++" */
    int order;             /* 1..3 where it applies (1..4: ipndm, lms, deis); 0: the
                              sampler's default (2 for dpmsolver/dpmsolver++/unipc) */
    int steps;             /* number of steps (NFE follows from sampler and order); 0: 20;
                              at most 1000000 */
    int multistep;         /* 1 multistep, 0 singlestep (dpmsolver, dpmsolver++; ignored
                              by samplers without a singlestep method). INIT: 1 */
    const char *spacing;   /* "logsnr" "time_uniform" "time_quadratic" "karras" ...;
                              NULL: "time_uniform" (VP) or "karras" (ve, edm) */
    double t_start, t_end; /* default 1 and 1e-3 (continuous); 0: the schedule's
                              nde_schedule_t_max / nde_schedule_t_min. Both (and custom
                              times) must lie where alpha, sigma, alpha/sigma and
                              sigma/alpha are positive and finite (lambda finite) */
    int lower_order_final; /* as in the reference implementation (INIT: 1) */
    uint64_t seed;         /* stochastic samplers */
    /* -- messages */
    char *errbuf; size_t errbuf_size;   /* optional: receives the detailed message */
    /* -- method details */
    const char *method;       /* NULL: from `multistep`; "multistep" "singlestep"
                                 "singlestep_fixed" "adaptive" (dpmsolver, dpmsolver++);
                                 other samplers accept only their own ("adaptive" for the
                                 _adaptive ones, else "multistep") */
    const char *solver_type;  /* "dpmsolver" (default; diffusers "midpoint") or "taylor"
                                 ("heun"): the first-derivative weight of 2nd-order updates */
    const char *variant;      /* UniPC: "bh1" (default, as the reference) or "bh2" */
    int denoise_to_zero;      /* after the last step, x <- x0-hat(x, t_end): one more NFE
                                 (the k-diffusion convention of a final sigma = 0) */
    /* -- stochasticity */
    double eta;               /* < 0: the sampler's default (0 for ddim, 1 for ancestral
                                 and SDE samplers; INIT: -1); 0 makes them deterministic */
    double s_noise;           /* noise multiplier; 0: 1 */
    double s_churn, s_tmin, s_tmax;   /* EDM churn (euler, heun, dpm2) on sigma/alpha;
                                 s_churn 0: none; s_tmin >= 0 (default 0); s_tmax 0: +inf */
    /* -- model adaptor */
    int thresholding;         /* dynamic thresholding of x0-hat (data-form samplers and
                                 ddim; NDE_EINVAL for a noise-form sampler) */
    double thresholding_ratio;   /* quantile of |x0| per sample; 0: 0.995 */
    double thresholding_max_val; /* lower bound of the threshold; 0: 1 */
    double guidance_scale;    /* classifier-free guidance: eps = eps_u + g (eps_c - eps_u);
                                 0 or 1: none (a single conditional call) */
    void *uncond_user;        /* user pointer that makes the model unconditional
                                 (the conditional call gets `user`); NULL: no guidance
                                 whatever guidance_scale says (a single conditional call) */
    double sigma_data;        /* NDE_PRED_EDM preconditioning; 0: 0.5 */
    /* -- grids */
    const double *timesteps; size_t n_timesteps;  /* spacing "custom": n = steps + 1
                                 decreasing times (steps 0: n - 1) */
    double rho;               /* karras spacing exponent; 0: 7 */
    /* -- adaptive (DPM-Solver-12/23; reference dpm_solver_adaptive) */
    double atol, rtol;        /* 0: 0.0078, 0.05. NFE: each attempted step costs `order`
                                 evaluations, except that a retry after a rejection reuses
                                 the model value at the step start (order - 1) */
    double h_init;            /* initial step in lambda; 0: 0.05 */
    double theta;             /* safety factor; 0: 0.9 */
    double t_err;             /* stop when |t - t_end| <= t_err (or lambda has reached
                                 lambda(t_end)); 0: 1e-5 */
    size_t max_steps;         /* attempted steps; 0: 100000 */
    /* -- observation and memory */
    nde_sampler_step_fn on_step; void *on_step_user;
    const nde_allocator *allocator;  /* NULL: malloc/free */
    /* -- noise source (stochastic samplers) */
    int brownian_noise;       /* 0 (default): independent normals per step and stage, the
                                 reference implementations' noise. 1: increments of one
                                 virtual Brownian tree per batch row (nde/brownian.h), so
                                 that the same seed gives a sample that converges as the
                                 number of steps grows (see "Noise" above) */
} nde_sampler_options;

#define NDE_SAMPLER_OPTIONS_INIT { "dpmsolver++", 0, 20, 1, NULL, 0.0, 0.0, 1, 0u, \
    NULL, 0, NULL, NULL, NULL, 0, -1.0, 1.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, NULL, 0.0, \
    NULL, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, NULL, NULL, NULL, 0 }

/* Sample: integrate from x = x_T at t_start down to t_end (and to t = 0 with
 * denoise_to_zero), in place. model(x, t, batch, dim, out, user) returns the
 * `prediction` kind. Returns NDE_OK or: NDE_EINVAL (bad argument, before any model call:
 * unknown sampler, spacing, method, solver_type or variant; a method the sampler does
 * not have; order out of range; steps too small for the order or above 1000000;
 * t_end >= t_start, t_end <= 0, or a time outside the schedule's domain; a time grid
 * that is not finite and strictly decreasing with lambda strictly increasing (an extreme
 * rho, t_end a few ULPs below t_start); an adaptive h_init beyond lambda(t_end) -
 * lambda(t_start); thresholding with a noise-form sampler; NaN or negative eta, s_noise,
 * s_churn, s_tmin, s_tmax; non-finite x; batch or dim 0, batch x dim overflowing;
 * ... x untouched),
 * NDE_ENOMEM (also a workspace size that overflows), NDE_ENONFINITE (the model or a
 * step produced NaN/Inf: x untouched),
 * NDE_ECALLBACK (model or on_step returned nonzero: x untouched), NDE_EMAXSTEPS
 * (adaptive). The detailed message goes to o->errbuf. stats (may be NULL; written on
 * success and on the failures after the run began - NDE_ENONFINITE, NDE_ECALLBACK,
 * NDE_EMAXSTEPS - where it says how far the run got; untouched otherwise): steps,
 * accepted, rejected (adaptive), nfe = evaluations of the (guided) model; with
 * classifier-free guidance each evaluation makes two denoiser calls. With
 * denoise_to_zero the final x0-hat is one more nfe (and, for euler/heun/dpm2, one more
 * step; see nde_sampler_step_fn). Adaptive: see atol.
 * alloc: one workspace per call, nothing per step · errors: NDE_EINVAL, NDE_ENOMEM,
 * NDE_ENONFINITE, NDE_ECALLBACK, NDE_EMAXSTEPS · thread: reentrant */
NDE_API int nde_diffusion_sample(const nde_schedule *s, nde_denoiser model, int prediction,
                         void *user, const nde_sampler_options *o,
                         double *x, size_t batch, size_t dim,   /* in: x_T, out: x_0 */
                         nde_stats *stats);                     /* nfe counts model calls */

/* The time grid a fixed-step sampler would use: writes steps + 1 times (t_start ... t_end)
 * to ts (capacity n_ts). For singlestep DPM-Solver these are the outer step ends.
 * *n_out receives the count. Validation as nde_diffusion_sample.
 * alloc: none · errors: NDE_EINVAL (options, ts too small), NDE_EUNSUPPORTED (adaptive)
 * · thread: safe */
NDE_API int nde_diffusion_timesteps(const nde_schedule *s, const nde_sampler_options *o,
                            double *ts, size_t n_ts, size_t *n_out);

/* Validates options and reports the sampler's convergence order (ODE part, the measured
 * one: see nde_sampler_convergence_order) and the exact total number of model
 * evaluations (0 when adaptive; dpm2_ancestral / dpmpp_2s_ancestral steps whose
 * sigma_down is 0, possible with eta > 1, count 1). Either pointer may be NULL.
 * alloc: none · errors: NDE_EINVAL (as nde_diffusion_sample) · thread: safe */
NDE_API int nde_diffusion_plan(const nde_schedule *s, const nde_sampler_options *o,
                       int *order, size_t *nfe);

/* The registered samplers, one table shared by the listing, validation and dispatch.
 * alloc: none · errors: NULL (past the end, unknown name) · thread: safe */
typedef struct nde_sampler_info {
    const char *name;
    const char *description;   /* one line: what it is, source */
    int order_min, order_max, order_default;   /* range of the `order` option */
    int stochastic;            /* uses noise with its default eta */
    int data_form;             /* 1: integrates x0-hat (thresholding applies) */
    int has_singlestep;        /* honours multistep = 0 / method */
} nde_sampler_info;
NDE_API size_t nde_sampler_count(void);
NDE_API const nde_sampler_info *nde_sampler_at(size_t i);           /* NULL past the end */
NDE_API const nde_sampler_info *nde_sampler_find(const char *name); /* NULL if unknown */
/* Convergence order and model evaluations per step for an `order` option value
 * (0: default) and method (multistep 1/0). The order is the measured one (a test
 * checks every sampler and order on a closed-form flow): the `order` option, plus 1 for
 * UniPC, except multistep order 3 with the reference D2 weight (dpmsolver, dpmsolver++,
 * dpmsolver++_sde, dpmpp_3m_sde: 2) and ipndm orders 3-4 (2). Singlestep DPM-Solver:
 * `order` NFE per step (steps = NFE in total). Adaptive: NFE per attempted step.
 * alloc: none · errors: 0 for an unknown si · thread: safe */
NDE_API int nde_sampler_convergence_order(const nde_sampler_info *si, int order, int multistep);
NDE_API int nde_sampler_nfe_per_step(const nde_sampler_info *si, int order, int multistep);

/* ---- exact Gaussian-mixture model (a test oracle and a weight-free demo model) ----
 *
 * Data p_0(x) = sum_k w_k N(x; mu_k, diag(s_k^2)). Every marginal is a mixture too:
 * p_t(x) = sum_k w_k N(x; alpha mu_k, C_k), C_k = alpha^2 diag(s_k^2) + sigma^2 I, so
 * the ideal model is closed form (responsibilities gamma_k by log-sum-exp):
 *   x0*(x)  = sum_k gamma_k [mu_k + alpha s_k^2 / C_k (x - alpha mu_k)]   (Tweedie)
 *   eps*(x) = (x - alpha x0*)/sigma,  score = -eps* / sigma,  v* = alpha eps* - sigma x0*.
 * A single component (k = 1) has the closed-form probability-flow map
 *   x_t - alpha_t mu = sqrt(c(t)/c(s)) (x_s - alpha_s mu),  c = alpha^2 s^2 + sigma^2,
 * a point mass (s = 0) makes DDIM exact, and N(0, I) data makes the flow the identity. */
typedef struct nde_gmm {
    size_t dim, k;             /* dimension, components */
    const double *weights;     /* k positive weights (normalised internally) */
    const double *means;       /* k x dim */
    const double *stds;        /* k x dim per-axis standard deviations (>= 0) */
} nde_gmm;

/* The mixture as an nde_denoiser: user = nde_gmm_model*. */
typedef struct nde_gmm_model {
    const nde_gmm *gmm;
    const nde_schedule *schedule;  /* maps the model time back to alpha, sigma */
    int prediction;                /* NDE_PRED_* the denoiser returns */
    int component;                 /* -1: the mixture; c >= 0: conditional on component c
                                      (class c), for classifier-free guidance tests */
    double sigma_data;             /* NDE_PRED_EDM only; 0: 0.5 */
} nde_gmm_model;

/* nde_denoiser for an nde_gmm_model. Returns NDE_EINVAL, with out untouched, on a dim
 * mismatch, bad component or prediction kind, batch x dim overflowing, a model time
 * outside the schedule's domain, (NDE_PRED_EDM) a c_noise whose sigma over- or
 * underflows, or points too large for the mixture functions below (a squared distance
 * or the output would overflow: an extreme guidance_scale can drive x there, and
 * nde_diffusion_sample then ends with NDE_ECALLBACK, x untouched).
 * alloc: none · errors: NDE_EINVAL · thread: safe */
NDE_API int nde_gmm_denoiser(const double *x, double t, size_t batch, size_t dim,
                     double *out, void *user);
/* The mixture functions below need a valid mixture (positive finite weights, finite
 * means, finite stds >= 0, k x dim not overflowing), n x dim not overflowing and a
 * noise level with alpha, sigma finite, >= 0 and not both 0, and every variance
 * alpha^2 s^2 + sigma^2 finite - and, except for nde_gmm_sample, > 0 (sigma = 0 on an
 * axis without spread has no density), and points that are finite and not so large
 * that a squared distance to a component - or a requested output (eps* ~ 1/sigma, the
 * score ~ 1/sigma^2, EDM's F ~ 1/c_out) - could overflow; else NDE_EINVAL with nothing
 * written. nde_gmm_denoiser checks the same.
 * eps* and x0* (either may be NULL; both NULL: nothing to do) at noise level
 * (alpha, sigma), both > 0, for n points; component as in nde_gmm_model.
 * alloc: none · errors: NDE_EINVAL (bad mixture, component, NULL x, noise level)
 * · thread: safe */
NDE_API int nde_gmm_predict(const nde_gmm *g, int component, double alpha, double sigma,
                    const double *x, size_t n, double *eps, double *x0);
/* log p_t(x) for n points (out[n]). alloc: none · errors: NDE_EINVAL · thread: safe */
NDE_API int nde_gmm_log_density(const nde_gmm *g, double alpha, double sigma,
                        const double *x, size_t n, double *out);
/* Index of the most responsible component for each point (labels[n]).
 * alloc: none · errors: NDE_EINVAL · thread: safe */
NDE_API int nde_gmm_classify(const nde_gmm *g, double alpha, double sigma,
                     const double *x, size_t n, int *labels);
/* n exact draws from p_t (and their components; labels may be NULL), a pure function
 * of the seed. alloc: none · errors: NDE_EINVAL · thread: safe */
NDE_API int nde_gmm_sample(const nde_gmm *g, double alpha, double sigma, uint64_t seed,
                   size_t n, double *x, int *labels);
/* Reference probability-flow solve from t_from to t_to (either direction): classical
 * RK4 in lambda with `steps` uniform steps on y = x/sigma, dy/dlambda = e^lambda x0*
 * (alpha and sigma at the nodes computed from lambda itself, never through t(lambda)).
 * Both times must be finite, > 0 and inside the schedule's domain (alpha, sigma,
 * alpha/sigma and sigma/alpha positive and finite). x must be finite; it is written
 * only when every result is (else NDE_ENONFINITE: too few steps for the lambda range
 * make RK4 overflow). nde_gmm_flow_ex takes its workspace through `a` (NULL:
 * malloc/free).
 * alloc: one workspace per call · errors: NDE_EINVAL, NDE_ENOMEM (also a workspace size
 * that overflows), NDE_ENONFINITE · thread: safe */
NDE_API int nde_gmm_flow(const nde_gmm *g, const nde_schedule *s, double t_from, double t_to,
                 int steps, double *x, size_t n);
NDE_API int nde_gmm_flow_ex(const nde_gmm *g, const nde_schedule *s, double t_from, double t_to,
                    int steps, double *x, size_t n, const nde_allocator *a);
/* Closed-form flow for a single component (k == 1; else NDE_EUNSUPPORTED); times as
 * for nde_gmm_flow; NDE_EINVAL, x untouched, when a result is not finite.
 * alloc: none · errors: NDE_EINVAL, NDE_EUNSUPPORTED · thread: safe */
NDE_API int nde_gmm_flow_exact(const nde_gmm *g, const nde_schedule *s, double t_from,
                       double t_to, double *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* NDE_DIFFUSION_H */
