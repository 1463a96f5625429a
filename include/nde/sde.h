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
 * Methods (nde_method_find, or nde_sde_method_find for the SDE form of heun).
 * Strong orders: general / commutative / additive noise; "-": not solved.
 *
 *   name            calculus  Levy  strong order      f, g per step  adaptive
 *   euler_maruyama  Itô       W     0.5 / 0.5 / 1.0   1, 1           no
 *   milstein        Itô       W     -   / 1.0 / 1.0   1, 2           no
 *   euler_heun      Strat     W     0.5 / 1.0 / 1.0   1, 2           no
 *   heun            Strat     W     0.5 / 1.0 / 1.0   2, 2           no
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
 * step). euler_heun, heun: Diffrax's EulerHeun and Heun. sea, sra1, shark,
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
 * give their SDE forms;
 * nde_sde_solve maps the ODE heun to it too); NULL if none.
 * alloc: none · errors: NULL · thread: safe */
NDE_API const nde_method *nde_sde_method_find(const char *name);
/* The SDE methods, in the table's order: i in [0, nde_sde_method_count()).
 * alloc: none · errors: NULL past the end · thread: safe */
NDE_API size_t nde_sde_method_count(void);
NDE_API const nde_method *nde_sde_method_at(size_t i);
/* Fills *info for an SDE method (or the ODE heun: its SDE form). Returns NDE_OK, or
 * NDE_EINVAL for NULL arguments or a method that does not solve SDEs.
 * alloc: none · errors: status · thread: safe */
NDE_API int nde_sde_method_info_get(const nde_method *m, nde_sde_method_info *info);

#ifdef __cplusplus
}
#endif

#endif
