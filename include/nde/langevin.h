/* nde/langevin.h — underdamped (kinetic) Langevin diffusion and its splitting solvers
 * ALIGN, ShOULD and QUICSORT, driven by a virtual Brownian tree (nde/brownian.h).
 *
 * The diffusion, in Diffrax's convention (friction gamma, mass factor u, potential f):
 *
 *   dx = v dt
 *   dv = -gamma v dt - u grad f(x) dt + sqrt(2 gamma u) dW          x, v, W in R^d
 *
 * with gamma and u positive, scalars or diagonal (one value per component). Its
 * stationary law is exp(-f(x) - |v|^2_{u^-1} / 2): x ~ exp(-f) and v ~ N(0, u)
 * independent, whatever gamma, so a long solve samples the target exp(-f) (MCMC by
 * simulation: each step costs one or two gradients, no accept/reject).
 *
 * Example: a standard normal target, f = |x|^2/2, sampled by QUICSORT in 2-D.
 *
 *     static int grad(const double *x, double *g, void *user)
 *     { (void)user; g[0] = x[0]; g[1] = x[1]; return 0; }
 *
 *     nde_langevin p = { .dim = 2, .gamma = 1.0, .u = 1.0, .grad = grad };
 *     nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 10.0, 1e-3, 7, NDE_LEVY_SPACE_TIME_TIME);
 *     nde_options o = NDE_OPTIONS_INIT;
 *     o.method = nde_method_find("quicsort");
 *     o.rtol = 0.0; o.dt0 = 0.1;                    // constant steps
 *     double xv0[4] = { 1.0, -1.0, 0.0, 0.0 };      // state [x, v]
 *     nde_solution sol;
 *     int rc = nde_langevin_solve(&p, 0.0, 10.0, xv0, bm, &o, &sol);
 *     if (rc < 0) fprintf(stderr, "%s\n", nde_solution_message(&sol));
 *     else printf("x(10) = (%.4f, %.4f), %zu gradients\n", sol.y[0], sol.y[1], sol.stats.nfe);
 *     nde_solution_free(&sol);
 *     nde_brownian_free(bm);
 *
 * The solvers (nde_method_find names; kind NDE_METHOD_LANGEVIN), coefficients checked
 * against Diffrax (patrick-kidger/diffrax 5ea5fcb, diffrax/_solver/align.py, should.py,
 * quicsort.py), each exact for the Ornstein-Uhlenbeck part (gamma, u) and using the
 * tree's Lévy areas (H, and K where marked):
 *
 *   align     ALIGN (J. Foster; a modification of the Strang splitting of Foster, Lyons
 *             & Oberhauser 2021, Def. 4.2): strong order 2, 1 gradient per step (FSAL),
 *             needs H. Error estimate Diffrax's: on v only, -u b1 (g1 - g0).
 *   should    ShOULD (Foster, Lyons & Oberhauser, "The shifted ODE method for
 *             underdamped Langevin MCMC", 2021, Def. 7.1): strong order 3, 2 gradients
 *             per step (FSAL), needs H and K. Diffrax gives it no error estimate; ours
 *             is the difference on v between its Simpson-like gradient quadrature and
 *             the trapezoidal rule on the same gradients (no extra gradient).
 *   quicsort  QUICSORT (Foster & O'Kane; SORT of Foster, Lyons & Oberhauser, Def. 1.2,
 *             with the UBU-inspired changes of Chada, Leimkuhler, Paulin & Whalley
 *             2024): strong order 3, 2 gradients per step (not FSAL), needs H and K.
 *             Diffrax gives it no error estimate; ours is the difference on v between
 *             its two-point Gauss-Legendre gradient quadrature and the one-point rule at
 *             the first node (no extra gradient).
 *
 * Every estimate is zero on x and is normed like the ODE pairs' (RMS over the 2d
 * components of e_i / (atol + rtol max(|y0_i|, |y1_i|))). Adaptive steps (rtol > 0)
 * query the tree once per attempt over the attempted interval, so a rejected step's
 * noise is the same path's, never resampled. Dense output is linear between steps
 * (Diffrax's LocalLinearInterpolation for these solvers).
 */
#ifndef NDE_LANGEVIN_H
#define NDE_LANGEVIN_H

#include <stddef.h>

#include "core.h"       /* NDE_API */
#include "ode.h"        /* nde_method, nde_options, nde_solution */
#include "brownian.h"   /* nde_brownian, NDE_LEVY_* */

#ifdef __cplusplus
extern "C" {
#endif

/* The gradient of the potential: g[dim] = grad f(x[dim]). Returns 0, > 0 "retry with a
 * smaller step" (an adaptive solve shrinks the step; a constant-step solve fails),
 * < 0 stop (NDE_ECALLBACK). */
typedef int (*nde_grad_fn)(const double *x, double *g, void *user);

/* An underdamped Langevin diffusion on R^d x R^d. gamma and u are used when gamma_vec /
 * u_vec are NULL; otherwise gamma_vec[i], u_vec[i] (i < dim) are the diagonals. Every
 * value must be finite and > 0. The arrays are read during the solve only. */
typedef struct nde_langevin {
    size_t dim;                 /* d >= 1: x and v each have d components */
    double gamma, u;            /* scalar friction and mass factor */
    const double *gamma_vec;    /* d diagonal frictions, or NULL: gamma for all */
    const double *u_vec;        /* d diagonal mass factors, or NULL: u for all */
    nde_grad_fn grad;           /* grad f, required */
    void *user;                 /* passed to grad */
} nde_langevin;

/* Solves the diffusion from the state xv0 = [x0 (d), v0 (d)] at t0 to t1 > t0, driven by
 * the tree bm (dimension d, its span containing [t0, t1], Lévy areas up to what the
 * method needs: nde_langevin_levy). The options are nde_ode_solve's: method one of
 * align / should / quicsort (NULL: quicsort), rtol == 0 constant steps of dt0, or
 * adaptive steps with the method's error estimate (all three have one); ts, save flags,
 * max_steps, dtmin/dtmax, PID coefficients, on_step, allocator, errbuf. sol receives
 * states of dimension 2d (rows [x, v]); sol->stats.nfe counts gradient evaluations
 * (the automatic initial step's included). Returns 0 or an NDE_* error with the reason
 * in nde_solution_message: NDE_EINVAL for NULL p, xv0, bm or sol, dim 0, NULL grad, a
 * gamma or u that is not finite and > 0, a non-finite xv0, a tree of another dimension
 * or a span not containing [t0, t1], t1 <= t0 or bad options; NDE_EUNSUPPORTED for a
 * method that is not a Langevin method, a tree without the Lévy area the method needs,
 * or events (n_events > 0); NDE_ECALLBACK when grad stops the solve. xv0, p's arrays
 * and the tree's path are never modified. alloc: create-only (the solve's workspace
 * and output, nothing per step) · errors: status + message · thread: one solve per tree
 * at a time (the tree's query cache); distinct trees are independent */
NDE_API int nde_langevin_solve(const nde_langevin *p, double t0, double t1, const double *xv0,
                               nde_brownian *bm, const nde_options *opts, nde_solution *sol);

/* The Lévy level (NDE_LEVY_*) method m needs from the tree: NDE_LEVY_SPACE_TIME for
 * align, NDE_LEVY_SPACE_TIME_TIME for should and quicsort; -1 when m is NULL or not a
 * Langevin method. alloc: none · errors: -1 · thread: safe */
NDE_API int nde_langevin_levy(const nde_method *m);

/* Effective sample size of the n draws x[0], x[stride], ..., x[(n - 1) stride] of one
 * scalar chain, by Geyer's initial monotone sequence estimator (Geyer 1992, "Practical
 * Markov chain Monte Carlo", Stat. Sci. 7): with rho_k the lag-k autocorrelation (the
 * biased autocovariance over n, divided by the variance), G_m = rho_2m + rho_2m+1
 * summed while positive and made non-increasing, tau = -1 + 2 sum_m G_m and
 * *ess = n / tau (an AR(1) chain of coefficient phi has tau = (1 + phi)/(1 - phi)),
 * capped at n log10 n (Stan's cap, for strongly antithetic chains).
 * Cost O(n L), L the lags summed. Returns 0; NDE_EINVAL for x or ess NULL, n < 4,
 * stride 0, a non-finite draw, or a constant chain (*ess untouched).
 * alloc: none · errors: status · thread: safe */
NDE_API int nde_ess(const double *x, size_t n, size_t stride, double *ess);

#ifdef __cplusplus
}
#endif
#endif
