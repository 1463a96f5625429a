/* Private declarations of the diffusion module: the schedule object, the sampler
 * context and the sampler table. */
#ifndef NDE_SRC_DIFFUSION_INTERNAL_H
#define NDE_SRC_DIFFUSION_INTERNAL_H

#include "core/internal.h"
#include "nde/diffusion.h"
#include "numerics/internal.h"
#include "random/internal.h"

/* ---- schedules ---- */
enum { NDE__SCHED_VP_LINEAR, NDE__SCHED_VP_COSINE, NDE__SCHED_VP_DISCRETE,
       NDE__SCHED_VE, NDE__SCHED_EDM };

struct nde_schedule {
    int kind;
    double b0, b1;            /* vp_linear */
    double cs, clog_a0;       /* vp_cosine: s and log cos(pi/2 s/(1+s)) */
    double smin, smax;        /* ve, edm */
    double T, t_eps;          /* default t_start, t_end */
    size_t n;                 /* vp_discrete: kept table length (total_N) */
    double *t_arr, *la_arr;   /* vp_discrete: t_n = (n+1)/N, log alpha_n */
    nde_allocator alloc;
    size_t bytes;
};

/* alpha, sigma, lambda at one time, computed once per grid point. */
typedef struct nde__tp {
    double t, la, a, sg, lam;  /* t, log alpha, alpha, sigma, lambda */
} nde__tp;
nde__tp nde__tpoint(const nde_schedule *s, double t);

/* ---- sampler context ---- */
enum { NDE__M_MULTISTEP, NDE__M_SINGLESTEP, NDE__M_FIXED, NDE__M_ADAPTIVE };
enum { NDE__SP_LOGSNR, NDE__SP_UNIFORM, NDE__SP_QUADRATIC, NDE__SP_KARRAS,
       NDE__SP_AYS_SD15, NDE__SP_AYS_SDXL, NDE__SP_AYS_SVD, NDE__SP_CUSTOM };
enum { NDE__WANT_EPS, NDE__WANT_X0 };
#define NDE__NBUF_MAX 10

typedef struct nde__ctx nde__ctx;
typedef int (*nde__run_fn)(nde__ctx *c);

typedef struct nde__sampler {
    nde_sampler_info info;      /* public part */
    nde__run_fn run;
    int nbuf;                   /* state-sized work buffers needed */
    int family;                 /* sampler-specific selector */
    int method;                 /* forced method, or -1 */
    double eta_default;
    int tilde;                  /* works in (x/alpha, sigma/alpha): needs the input buffer */
    int order_shift;            /* convergence order = order + order_shift (unipc: 1) */
    int nfe_kind;               /* 0: 1 per step, 1: `order` per step if singlestep, 2: two */
    int d2_weight;              /* multistep order-3 weight of D2 (0 or 1: reference; 2) */
    int order_cap;              /* convergence order is at most this (0: no cap). ipndm: 2,
                                   its Adams-Bashforth coefficients assume equal steps in
                                   sigma/alpha, which no spacing gives (measured: order 2) */
} nde__sampler;

struct nde__ctx {
    const nde_schedule *s;
    nde_denoiser model; int pred; void *user;
    const nde_sampler_options *o;
    const nde__sampler *smp;
    /* resolved options */
    int order, steps, method, spacing, taylor, bh2, denoise_to_zero, lower_order_final;
    int thresholding;
    double t_T, t_0, eta, s_noise, s_churn, s_tmin, s_tmax, rho, sigma_data, gscale;
    double th_ratio, th_max, atol, rtol, h_init, theta, t_err;
    size_t max_steps;
    uint64_t seed;
    /* sizes and memory */
    size_t batch, dim, n;
    double *x;                  /* working state (copied back on success) */
    double *buf[NDE__NBUF_MAX];
    double *raw, *raw2, *xin, *xs, *scr;  /* model outputs, EDM input, alpha*xt, dim scratch */
    double *ts;                 /* grid: steps + 1 */
    nde_stats st;
    int step;                   /* current step (messages, noise stream) */
    int denoised;               /* the sampler took the final step to t = 0 itself */
    double d2_weight;           /* 3M: weight of psi3 D2 (1 reference, 2 Taylor) */
    char *err; size_t errsz;
};

int nde__eval(nde__ctx *c, const double *x, double t, int want, double *out);
int nde__eval_tilde(nde__ctx *c, const double *xt, double t, double *d0);
int nde__after_step(nde__ctx *c, int step, double t);
int nde__grid(nde__ctx *c, int spacing, double t_T, double t_0, int N, double *ts);
/* Singlestep DPM-Solver outer grid (K+1 times, in place in ts of capacity steps+1) and
 * the reference order of outer step k. */
int nde__dpm_outer(nde__ctx *c, double *ts, int *K);
int nde__dpm_fast_order(int steps, int order, int method, int k);
void nde__noise(nde__ctx *c, int step, int stage, double *z);
/* k-diffusion get_ancestral_step from sigma/alpha sf to st: sigma_down, sigma_up. */
void nde__ancestral_step(double sf, double st, double eta, double *sd, double *su);
/* Dynamic thresholding of x0 in place (batch rows). */
void nde__threshold(nde__ctx *c, double *x0);

/* samplers (solvers.c) */
int nde__run_ddim(nde__ctx *c);
int nde__run_dpm(nde__ctx *c);
int nde__run_sde_multistep(nde__ctx *c);
int nde__run_unipc(nde__ctx *c);
int nde__run_deis(nde__ctx *c);
int nde__run_ipndm(nde__ctx *c);
int nde__run_lms(nde__ctx *c);
int nde__run_edm(nde__ctx *c);        /* euler, heun, dpm2 (+ churn) */
int nde__run_ancestral(nde__ctx *c);  /* euler_ancestral, dpm2_ancestral, dpmpp_2s_ancestral */
int nde__run_dpmpp_sde(nde__ctx *c);

/* families */
enum { NDE__F_DATA = 1, NDE__F_NOISE = 0 };
enum { NDE__EDM_EULER, NDE__EDM_HEUN, NDE__EDM_DPM2 };
enum { NDE__ANC_EULER, NDE__ANC_DPM2, NDE__ANC_2S };
enum { NDE__SDE_DATA = 0, NDE__SDE_DATA_3M = 1, NDE__SDE_NOISE = 2 };

#endif
