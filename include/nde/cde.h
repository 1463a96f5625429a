/* nde/cde.h — controlled differential equations: control paths interpolated from
 * irregularly sampled, partially missing time series, and the CDE
 *
 *   dz = F(t, z) dX(t),   F(t, z) a dim x channels matrix,
 *
 * solved as the ODE z' = F(t, z) X'(t) by any ODE method (Kidger et al. 2020, "Neural
 * Controlled Differential Equations for Irregular Time Series"; the interpolations of
 * Morrill, Kidger et al. 2021, "Neural CDEs for Online Prediction Tasks", as in
 * Diffrax's _global_interpolation.py).
 *
 * Example: a 1-channel series with a missing value drives z' = -z X'(t).
 *
 *     static int field(double t, const double *z, double *F, void *u)
 *     { (void)t; (void)u; F[0] = -z[0]; return 0; }
 *
 *     double t[4] = { 0.0, 0.5, 1.5, 2.0 }, x[4] = { 0.0, NAN, 1.0, 1.2 };
 *     nde_path *X = nde_path_create(4, 1, t, x, NDE_PATH_HERMITE, NULL, NULL, 0);
 *     nde_cde cde = { .dim = 1, .path = X, .field = field };
 *     double z0 = 1.0;
 *     nde_solution sol;
 *     nde_cde_solve(&cde, 0.0, 2.0, &z0, NULL, &sol);   // z(2) = exp(-(X(2) - X(0)))
 *     printf("z(2) = %.6f (exact %.6f)\n", sol.y[0], exp(-1.2));
 *     nde_solution_free(&sol);
 *     nde_path_free(X);
 *
 * Paths. nde_path_create takes n >= 2 observation times t (strictly increasing, finite)
 * and values x (n x channels, row-major); NaN marks a missing value. Each channel is
 * interpolated through its own observations only: before its first observation it is
 * constant at that value, after its last constant at the last (Diffrax's
 * replace_nans_at_start / fill_forward_nans_at_end). A channel with no observation at
 * all is an error. Kinds:
 *   NDE_PATH_LINEAR      piecewise linear: continuous, its derivative jumps at the
 *                        knots (solve with the knots as jump_ts: nde_cde_solve does)
 *   NDE_PATH_HERMITE     Hermite cubic with backward differences: on [t_i, t_i+1] the
 *                        cubic through y_i, y_i+1 with slope g_i = the previous
 *                        interval's slope at the left end and the interval's own slope
 *                        at the right end; C1 and causal (the value on [t_i, t_i+1]
 *                        needs no later observation), g_0 the first interval's slope
 *   NDE_PATH_RECTILINEAR for online CDEs: 1 + channels channels (channel 0 is time) over
 *                        an index time s in [0, 2(n - 1)]: linear through the points
 *                        (t_0, y_0), (t_1, y_0), (t_1, y_1), (t_2, y_1), ..., so time
 *                        advances with the data held, then the data jump with time held
 *                        (missing values forward-filled, leading ones back-filled)
 * Values beyond +-1e300, and series whose slopes overflow (huge values over tiny time
 * steps), are refused. The path is piecewise cubic in memory (4 coefficients per interval and channel): a
 * query is one binary search and a Horner step per channel. At a knot the derivative is
 * the right interval's (the left one's at the end).
 *
 * Gradients. Give the field's vector-Jacobian product (field_vjp) and n_params: the ODE
 * of nde_cde_ode_create then carries a vjp, so nde_ode_solve_taped / nde_ode_backward
 * (nde/adjoint.h) give dL/dz0 and dL/dtheta through the CDE. */
#ifndef NDE_CDE_H
#define NDE_CDE_H

#include <stddef.h>

#include "core.h"
#include "ode.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { NDE_PATH_LINEAR = 0, NDE_PATH_HERMITE = 1, NDE_PATH_RECTILINEAR = 2 };

typedef struct nde_path nde_path;

/* The path of kind NDE_PATH_* through the n observations (t[n], x[n x channels], NaN:
 * missing). The inputs are copied. NULL on bad input (n < 2, channels 0, NULL t or x,
 * t not finite and strictly increasing, an infinite value or one beyond +-1e300, an
 * interpolant that overflows, a channel without any observation, an unknown kind) or
 * out of memory, with the reason in errbuf (may be
 * NULL). alloc: create-only (through a; NULL: malloc) · errors: NULL · thread: safe */
NDE_API nde_path *nde_path_create(size_t n, size_t channels, const double *t, const double *x,
                                  int kind, const nde_allocator *a, char *errbuf, size_t errbuf_size);
/* X(t) into x[nde_path_channels(p)], and dX/dt(t) into dx (either may be NULL), for t in
 * [nde_path_t0, nde_path_t1] (100 ULP slack, then clamped). NDE_OK, or NDE_EINVAL (p
 * NULL, t outside or not finite; outputs untouched). alloc: none · thread: safe */
NDE_API int nde_path_eval(const nde_path *p, double t, double *x, double *dx);
/* Channels (channels + 1 for rectilinear), the domain, and the knots (the interval ends,
 * in the path's own time: the observation times, or 0, 1, ..., 2(n - 1) for
 * rectilinear; count into *n). 0 / NULL for NULL. alloc: none · thread: safe */
NDE_API size_t nde_path_channels(const nde_path *p);
NDE_API double nde_path_t0(const nde_path *p);
NDE_API double nde_path_t1(const nde_path *p);
NDE_API const double *nde_path_knots(const nde_path *p, size_t *n);
/* NULL is a no-op. alloc: frees · thread: safe */
NDE_API void nde_path_free(nde_path *p);

/* The CDE dz = F(t, z) dX(t). field writes F (dim x channels, row-major, channels =
 * nde_path_channels(path)); field_vjp (for gradients; NULL: none) writes, not
 * accumulates, A:dF/dz (dim) into a_z and A:dF/dtheta (n_params) into a_theta for a
 * cotangent A of F's shape (dim x channels), either output may be NULL. Both return 0,
 * or nonzero as an nde_rhs does (> 0 retry smaller, < 0 stop). */
typedef struct nde_cde {
    size_t dim;
    const nde_path *path;
    int (*field)(double t, const double *z, double *F, void *user);
    int (*field_vjp)(double t, const double *z, const double *A, double *a_z, double *a_theta,
                     void *user);
    size_t n_params;
    void *user;
} nde_cde;

typedef struct nde_cde_ode nde_cde_ode;

/* An nde_ode view of the CDE: f(t, z) = F(t, z) X'(t), with a vjp when field_vjp is
 * given (a^T d(F X')/dz through A = a X'(t)^T). The cde and its path must outlive it.
 * It keeps scratch for F: one view per thread. NULL on bad input (dim 0, NULL path or
 * field) or out of memory, the reason in errbuf. alloc: create-only · errors: NULL ·
 * thread: one view per thread */
NDE_API nde_cde_ode *nde_cde_ode_create(const nde_cde *cde, const nde_allocator *a, char *errbuf,
                                        size_t errbuf_size);
NDE_API const nde_ode *nde_cde_ode_get(const nde_cde_ode *c);   /* NULL for NULL */
NDE_API void nde_cde_ode_free(nde_cde_ode *c);                   /* NULL: no-op */

/* Solves the CDE from z0 at t0 to t1 (inside the path's domain) like nde_ode_solve (opts
 * NULL: defaults), with the path's knots inside (t0, t1) added as jump_ts for the linear
 * and rectilinear paths (their derivative jumps there) and as step_ts for the Hermite
 * path, unless opts gives jump_ts or step_ts of its own. Statuses as nde_ode_solve's;
 * NDE_EINVAL also for t0 or t1 outside the path's domain. alloc: the solution, and a
 * temporary view · errors: status (message in sol) · thread: safe */
NDE_API int nde_cde_solve(const nde_cde *cde, double t0, double t1, const double *z0,
                          const nde_options *opts, nde_solution *sol);

#ifdef __cplusplus
}
#endif
#endif
