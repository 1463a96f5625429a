/* nde/sde.h — stochastic differential equations dy = f(t, y) dt + g(t, y) dW (Itô) or
 * dy = f dt + g o dW (Stratonovich), solved by one stochastic Runge-Kutta engine on a
 * Brownian path from nde/brownian.h.
 *
 * Example: Itô GBM dy = y/2 dt + 0.3 y dW by Euler-Maruyama, against its closed form.
 *
 *     static int drift(double t, const double *y, double *f, void *u)
 *     { (void)t; (void)u; f[0] = 0.5 * y[0]; return 0; }
 *     static int diffusion(double t, const double *y, double *g, void *u)
 *     { (void)t; (void)u; g[0] = 0.3 * y[0]; return 0; }
 *
 *     nde_sde sde = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL,
 *                     .drift = drift, .diffusion = diffusion };
 *     nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, 1e-4, 7, NDE_LEVY_NONE);
 *     nde_options o = NDE_OPTIONS_INIT;
 *     o.method = nde_method_find("euler_maruyama");
 *     o.rtol = 0.0; o.dt0 = 1e-3;                 // constant steps
 *     nde_solution sol;
 *     double y0 = 1.0, W;
 *     int rc = nde_sde_solve(&sde, 0.0, 1.0, &y0, bm, &o, &sol);
 *     nde_brownian_increment(bm, 0.0, 1.0, &W, NULL, NULL);
 *     if (rc < 0) fprintf(stderr, "%s\n", nde_solution_message(&sol));
 *     else printf("y(1) = %.6f, exact %.6f\n", sol.y[0], exp((0.5 - 0.045) + 0.3 * W));
 *     nde_solution_free(&sol);
 *     nde_brownian_free(bm);
 *
 * The problem. g(t, y) is written by `diffusion`:
 *   NDE_NOISE_DIAGONAL  g[dim], noise_dim == dim: dy_i = f_i dt + g_i dW_i. Commutative
 *                       (the orders below for "commutative") when g_i depends on y_i only.
 *   NDE_NOISE_ADDITIVE  g[dim x noise_dim] row-major, independent of y (it may depend on
 *                       t): dy = f dt + g(t) dW. Itô and Stratonovich coincide, so every
 *                       method solves it, whatever `stratonovich` says.
 *   NDE_NOISE_GENERAL   g[dim x noise_dim] row-major: dy_i = f_i dt + sum_j g_ij dW_j
 *                       (g dW through CBLAS dgemv). noise_dim == 1 is commutative.
 * The path is a tree of dimension noise_dim whose span covers [t0, t1] (either order).
 * Every attempted step [t, t + dt] asks the tree for nde_brownian_increment(bm, t,
 * t + dt, W, H, NULL): a rejected step asks again for its shorter interval (the tree
 * is queried, never resampled, so the noise of an adaptive solve is the one path), and
 * the same arguments give the same bits whatever the tree was asked before. A backward
 * solve (t1 < t0) queries the reversed intervals; for Stratonovich problems (and
 * additive noise) it integrates the same equation backwards along the same path, for
 * Itô ones it is the Itô scheme in reversed time (the backward Itô integral).
 *
 * Methods (nde_method_find, or nde_sde_method_find for the SDE forms of heun and
 * reversible_heun; nde_sde_solve maps the ODE methods of those names to them).
 * Strong orders: general / commutative / additive noise; "-": not solved.
 *
 *   name            calculus  Levy  strong order      f, g per step  adaptive
 *   euler_maruyama  Itô       W     0.5 / 0.5 / 1.0   1, 1           no
 *   milstein        Itô       W     -   / 1.0 / 1.0   1, 2           no
 *   euler_heun      Strat     W     0.5 / 1.0 / 1.0   1, 2           no
 *   heun            Strat     W     0.5 / 1.0 / 1.0   2, 2           no
 *   reversible_heun Strat     W     0.5 / 1.0 / 1.0   1, 1           no
 *   sea             additive  H     -   / -   / 1.0   1, 2 (g(t))    no
 *   sra1            additive  H     -   / -   / 1.5   2, 2 (g(t))    yes
 *   shark           additive  H     -   / -   / 1.5   2, 2 (g(t))    yes
 *   general_shark   Strat     H     0.5 / 1.0 / 1.5   2, 3           no
 *   spark           Strat     H     0.5 / 1.0 / 1.5   3, 3           yes
 *   slow_rk         Strat     H     0.5 / 1.5 / 1.5   2, 5           no
 *   reversible_heun Strat     W     0.5 / 1.0 / 1.0   1, 1           yes
 *
 * euler_maruyama: Maruyama (1955). milstein: the derivative-free Milstein scheme for
 * diagonal noise (Kloeden & Platen 1992, (11.1.5)): y1 = y + f dt + g W +
 * (g(yb) - g(y)) (W^2 - |dt|) / (2 sqrt|dt|), yb = y + f dt + g sqrt|dt|, which needs no
 * derivative of g (on additive noise the term vanishes and is skipped: 1 f and 1 g per
 * step). euler_heun, heun: Diffrax's EulerHeun and Heun. reversible_heun (Kidger, Foster,
 * Li & Lyons 2021): the state (y, yh), yh1 = 2 y - yh + f(yh) dt + g(yh) W, y1 = y +
 * (f(yh) + f(yh1)) dt/2 + (g(yh) + g(yh1)) W/2, algebraically reversible; a restart (the
 * first step, after a jump) sets yh = y and costs one f and one g more. sea, sra1, shark,
 * general_shark, spark, slow_rk: the tableaux of Foster, Lord & Roberts' ShARK/SEA
 * ("High order splitting methods for SDEs satisfying a commutativity condition", 2023),
 * Rößler's SRA1 (2010), Foster's SPaRK ("On the convergence of adaptive approximations
 * for SDEs", 2023) and Foster & Reis' SLOW-RK, as Diffrax stores them (src/sde/srk.c).
 * The additive methods evaluate g at t and t + dt only and add (g(t + dt) - g(t))
 * (W/2 - H). reversible_heun: Kidger, Foster, Li & Lyons 2021 (src/sde/reversible.c),
 * algebraically reversible (its exact O(1)-memory gradient: NDE_ADJOINT_REVERSIBLE in
 * nde/adjoint.h), error estimate (v1 - v0)/2 with v = f dt + g W; the SDE form of the
 * ODE method of the same name (nde_sde_solve maps it, as it maps heun).
 *
 * Method checks (NDE_EUNSUPPORTED with a message): an Itô-only method (euler_maruyama,
 * milstein) on a Stratonovich problem and a Stratonovich method on an Itô problem
 * (except additive noise, where they coincide); milstein on general noise; an
 * additive-only method (sea, sra1, shark) on diagonal or general noise; a method that
 * needs H on a tree without it (create the tree with NDE_LEVY_SPACE_TIME).
 *
 * Default method (opts->method NULL): shark for additive noise; spark for Stratonovich
 * problems; euler_maruyama for Itô problems (constant steps only: no Itô method for
 * multiplicative noise here has an error estimate).
 *
 * Step control. rtol == 0: constant steps of dt0, as for ODEs. rtol > 0: PID control on
 * the method's embedded estimate (spark: drift, W and H parts; sra1, shark: the drift
 * part), the error normed as for ODEs; a method without one gives NDE_EINVAL. When
 * pcoeff, icoeff and dcoeff are all 0, SDE solves use Diffrax's SDE recommendation
 * pcoeff = 0.1, icoeff = 0.3 (its PIDController docs), with exponents divided by
 * embedded order + 1 = 2 for all three adaptive methods (the local error order,
 * strong order + 1/2, of shark and sra1; Diffrax uses 1 for spark, whose strong order it
 * declares 0.5: set icoeff = 0.6, pcoeff = 0.2 for its exponents). dt0 == 0 picks the
 * first step from the drift (Hairer-Norsett-Wanner II.4). Save times ts are step ends:
 * every step is clipped to end on them (saved values are the solution there, never an
 * interpolation); dense output and events use the linear interpolant of each step.
 * Choose the tree's tol below the smallest step (nde/brownian.h): two query times inside
 * one leaf share its normals. Not done: Foster & Jelinčič's revisiting of rejected step
 * ends (Diffrax's store_rejected_steps), which adaptive solves of non-commutative noise
 * need for the exact statistics of the omitted Lévy area; with commutative or additive
 * noise (where the methods' adaptive orders hold) it is not needed.
 *
 * Statistics: stats.nfe counts drift and diffusion evaluations together. */
#ifndef NDE_SDE_H
#define NDE_SDE_H

#include "ode.h"
#include "brownian.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The noise's structure (nde_sde.noise). */
enum { NDE_NOISE_DIAGONAL = 0, NDE_NOISE_ADDITIVE = 1, NDE_NOISE_GENERAL = 2 };

typedef struct nde_sde {
    size_t dim, noise_dim;   /* state and Brownian dimensions (diagonal: equal) */
    int noise;               /* NDE_NOISE_* */
    int stratonovich;        /* 0: Itô, 1: Stratonovich */
    nde_rhs drift;           /* f(t, y) into f[dim] */
    int (*diffusion)(double t, const double *y, double *g, void *user);
        /* diagonal: g[dim]; additive/general: g[dim x noise_dim] row-major */
    void *user;
    /* -- gradients (nde/adjoint.h; unused by nde_sde_solve) */
    nde_vjp drift_vjp;       /* a^T d drift/dy, a^T d drift/dtheta */
    int (*diffusion_vjp)(double t, const double *y, const double *a,
                         double *a_y, double *a_theta, void *user);  /* a has g's shape */
    size_t n_params;
} nde_sde;

/* Solve the SDE from (t0, y0) to t1 along the path bm, with the options and output of
 * nde_ode_solve (method, rtol/atol, dt0, ts, save flags, max_steps, on_step, PID
 * fields, step_ts, jump_ts, events, allocator, errbuf). sol is overwritten; free it
 * with nde_solution_free whatever the return code. Returns what nde_ode_solve returns.
 * NDE_EINVAL (nothing computed, y0 and bm untouched, sol holds the message): sde, y0,
 * bm or sol NULL, dim or noise_dim 0, NULL drift or diffusion, an unknown noise kind,
 * diagonal noise with noise_dim != dim, a tree of another dimension than noise_dim or
 * whose span does not cover [t0, t1], a method without error estimate with rtol > 0,
 * and nde_ode_solve's checks; NDE_EUNSUPPORTED: the method checks above, or a method
 * that does not solve SDEs. alloc: at the start (plus the growth of nde_ode_solve's
 * growing output) · thread: one solve per tree at a time (its query cache) */
NDE_API int nde_sde_solve(const nde_sde *sde, double t0, double t1, const double *y0,
                          nde_brownian *bm, const nde_options *opts, nde_solution *sol);

/* What an SDE method is (the table above, as data). */
typedef struct nde_sde_method_info {
    int stratonovich;        /* 1: Stratonovich, 0: Itô; either for additive-only methods */
    int additive_only;       /* 1: solves additive noise only */
    unsigned noises;         /* bit (1u << NDE_NOISE_*) of each noise kind it solves */
    int levy;                /* NDE_LEVY_* it needs from the tree */
    double strong_order[3];  /* [0] general, [1] commutative, [2] additive noise; 0
                                where it does not solve that kind */
    int drift_evals, diffusion_evals;   /* per step */
    int adaptive;            /* has an embedded error estimate */
} nde_sde_method_info;

/* The SDE method called `name` (as nde_method_find, but "heun" and "reversible_heun"
 * give their SDE forms; nde_sde_solve maps the ODE methods of those names to them too);
 * NULL if none.
 * alloc: none · errors: NULL · thread: safe */
NDE_API const nde_method *nde_sde_method_find(const char *name);
/* The SDE methods, in the table's order: i in [0, nde_sde_method_count()).
 * alloc: none · errors: NULL past the end · thread: safe */
NDE_API size_t nde_sde_method_count(void);
NDE_API const nde_method *nde_sde_method_at(size_t i);
/* Fills *info for an SDE method (or the ODE heun, reversible_heun: their SDE forms). Returns NDE_OK, or
 * NDE_EINVAL for NULL arguments or a method that does not solve SDEs.
 * alloc: none · errors: status · thread: safe */
NDE_API int nde_sde_method_info_get(const nde_method *m, nde_sde_method_info *info);

/* ---- ensembles: many independent paths ------------------------------------------
 *
 * nde_sde_ensemble solves one SDE along `paths` independent Brownian paths: path i gets
 * its own virtual Brownian tree with seed nde_ensemble_path_seed(seed, i) (so path i is
 * exactly nde_sde_solve on that tree, whatever the number of paths or threads), solved
 * on `threads` POSIX threads. The output keeps every path's saved values and the
 * summaries over the paths at each saved time: mean, variance (n - 1) and quantiles
 * (linear interpolation between order statistics, numpy's default). Results are bit
 * for bit the same for any thread count: each path is a pure function of its seed, and
 * the summaries are formed in path order after all paths are done.
 *
 * Example: 1000 OU paths dy = -y dt + 0.5 dW from y = 1, mean and 95% band at t = 1..4
 * (tests/test_sde_ensemble.c runs it).
 *
 *     static int f(double t, const double *y, double *f, void *u)
 *     { (void)t; (void)u; f[0] = -y[0]; return 0; }
 *     static int g(double t, const double *y, double *g, void *u)
 *     { (void)t; (void)y; (void)u; g[0] = 0.5; return 0; }
 *     nde_sde ou = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_ADDITIVE, .drift = f, .diffusion = g };
 *
 *     double ts[4] = { 1, 2, 3, 4 }, qs[2] = { 0.025, 0.975 }, y0 = 1.0;
 *     nde_options o = NDE_OPTIONS_INIT;
 *     o.method = nde_method_find("euler_maruyama"); o.rtol = 0; o.dt0 = 0.01;
 *     o.ts = ts; o.n_ts = 4;
 *     nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
 *     eo.paths = 1000; eo.seed = 7; eo.quantiles = qs; eo.n_quantiles = 2;
 *     nde_ensemble e;
 *     if (nde_sde_ensemble(&ou, 0.0, 4.0, &y0, &o, &eo, &e) == NDE_OK)
 *         for (size_t k = 0; k < e.n; k++)
 *             printf("t %g: mean %.3f, 95%% in [%.3f, %.3f]\n", e.t[k], e.mean[k],
 *                    e.quantiles[k], e.quantiles[e.n + k]);
 *     nde_ensemble_free(&e);
 *
 * Threads need a thread-safe allocator (malloc is) and drift/diffusion callbacks that may
 * run concurrently on distinct paths (they get the same user pointer). */
typedef struct nde_ensemble_options {   /* NDE_ENSEMBLE_OPTIONS_INIT gives the defaults */
    size_t paths;            /* number of paths, >= 1 */
    uint64_t seed;           /* path i's tree: nde_ensemble_path_seed(seed, i) */
    double tree_tol;         /* leaves of each tree; 0: |dt0|/2 for constant steps, else
                                |t1 - t0| 2^-24 */
    int threads;             /* worker threads (the caller's included); 0: one per online
                                CPU; at most paths and 64 */
    const double *quantiles; size_t n_quantiles;   /* each in [0, 1]; NULL/0: none */
} nde_ensemble_options;
#define NDE_ENSEMBLE_OPTIONS_INIT { 1, 0u, 0.0, 0, NULL, 0 }

typedef struct nde_ensemble {
    size_t paths, n, dim, n_quantiles;   /* n saved times per path */
    double *t;               /* n saved times (the same for every path) */
    double *y;               /* paths x n x dim: row (i, k) is path i at t[k]; a failed
                                path's rows are NaN */
    double *mean, *var;      /* n x dim, over the paths that succeeded (var: NaN below 2) */
    double *quantiles;       /* n_quantiles x n x dim */
    int *status;             /* paths: each path's status (as nde_sde_solve's) */
    nde_stats *stats;        /* paths */
    nde_stats total;         /* summed over the paths */
    size_t failed;           /* paths whose status is < 0 */
    /* -- private */
    nde_allocator alloc_;
    size_t bytes_;
    char message_[NDE_MESSAGE_MAX];
} nde_ensemble;

/* Solves the ensemble (see above) with nde_sde_solve's options, saving at opts->ts (or
 * t1; NDE_SAVE_T0 / NDE_SAVE_T1 as usual). Returns NDE_OK when every path succeeded;
 * otherwise the status of the first failed path, with the message naming it, and the
 * other paths' results kept. Before anything is solved: NDE_EINVAL for paths 0, a
 * quantile outside [0, 1], NDE_SAVE_STEPS or NDE_SAVE_DENSE (paths would differ in
 * length), events, a NULL argument, and everything nde_sde_solve refuses (path 0 is
 * solved first and its refusal returned); NDE_ENOMEM. out is always initialised: free
 * it with nde_ensemble_free. alloc: the output, per path a tree and its solve ·
 * errors: status (nde_ensemble_message) · thread: threads of its own */
NDE_API int nde_sde_ensemble(const nde_sde *sde, double t0, double t1, const double *y0,
                             const nde_options *opts, const nde_ensemble_options *eo,
                             nde_ensemble *out);
/* The tree seed of path i: one Philox-4x32 block of (seed, i). alloc: none · thread: safe */
NDE_API uint64_t nde_ensemble_path_seed(uint64_t seed, size_t i);
/* Why the last nde_sde_ensemble on e failed; "" if it did not. Never NULL. */
NDE_API const char *nde_ensemble_message(const nde_ensemble *e);
/* Frees what e holds and zeroes it; NULL is a no-op. alloc: frees · thread: safe */
NDE_API void nde_ensemble_free(nde_ensemble *e);

#ifdef __cplusplus
}
#endif

#endif
