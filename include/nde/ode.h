/* nde/ode.h — ordinary differential equations: methods, options, the solve loop,
 * dense output and events.
 *
 * Example: y' = -y on [0, 1] with tsit5 (the default), saving y(1).
 *
 *     static int f(double t, const double *y, double *dy, void *u)
 *     { (void)t; (void)u; dy[0] = -y[0]; return 0; }
 *
 *     nde_ode ode = { .dim = 1, .f = f };
 *     nde_options o = NDE_OPTIONS_INIT;          // rtol 1e-6, atol 1e-9, tsit5
 *     nde_solution sol;
 *     double y0 = 1.0;
 *     int rc = nde_ode_solve(&ode, 0.0, 1.0, &y0, &o, &sol);
 *     if (rc < 0) fprintf(stderr, "%s\n", nde_solution_message(&sol));
 *     else printf("y(1) = %.12f (nfe %zu)\n", sol.y[0], sol.stats.nfe);
 *     nde_solution_free(&sol);
 *
 * Layers (each usable on its own): nde_method (a constant descriptor: a Butcher tableau
 * for explicit Runge-Kutta; every family has a kind) -> nde_stepper (one explicit RK
 * step with error estimate and dense coefficients) and nde_controller / nde_initial_step
 * (step-size control) for users who drive their own loop -> nde_solver (the reusable
 * solver object: the integrate loop with step control, saving, dense output, events
 * and statistics; create once, solve or step many times without allocating) ->
 * nde_ode_solve (one call: create, solve, free).
 *
 * Step control (nde_options):
 *   rtol > 0   adaptive PID control (Diffrax's formulas): error
 *              e = RMS_i( err_i / (atol + rtol*max(|y0_i|, |y1_i|)) ); accept if e <= 1;
 *              factor = clip(safety * e_n^-b1 * e_{n-1}^-b2 * e_{n-2}^-b3,
 *              accepted ? [factormin_accept, factormax] : [factormin, safety]) with
 *              b1 = (p+i+d)/k, b2 = -(p+2d)/k, b3 = d/k, k = embedded order + 1.
 *              History advances on accepted steps only. dt0 == 0 picks the first step
 *              by Hairer-Norsett-Wanner II.4.
 *              Defaults (p = i = d = 0, factormin_accept = 0): Hairer's PI control of
 *              dopri5.f, factor = safety e_n^-(1/k - 0.75 beta) e_{n-1}^beta with beta
 *              = 0.04 (i.e. p = beta k, i = 1 - 1.75 beta k), safety 0.9, factor in
 *              [0.2, 10] after an accepted step and [0.2, 0.9] after a rejected one.
 *              Diffrax's PIDController defaults (I control, never shrinking after an
 *              accepted step; nde's default before 2026-12) are icoeff = 1,
 *              factormin_accept = 1. Measured (docs/benchmarks.md, "Step-size
 *              controller"): on an explicitly integrated Brusselator, where stability
 *              limits the step, Diffrax's rule rejects a step in four (dopri8: 127,140
 *              rejections over a 5-tolerance sweep, against 33) and spends 20-45% more
 *              f-evaluations; on the non-stiff bench problems the default needs about
 *              the same or fewer f-evaluations at matched error, with 2-10x fewer
 *              rejections.
 *              Tolerance and error: rtol bounds the RMS over components of each step's
 *              estimated local error (codes with a max norm, GSL and Boost, bound the
 *              worst component, a tighter test for many components). The global
 *              error at t1 is another matter: on the bench problems it was from 0.04 x
 *              rtol (linear1000, vern9) and 0.5-2 x (linear1000, dopri8 / tsit5) up to
 *              10-40 x (pleiades, lorenz with vern9) and 1000-6000 x (arenstorf, lorenz
 *              with tsit5 / dopri8) (medians over rtol 1e-4 ... 1e-12).
 *              Own step control instead: radau5, seulex, bdf and gbs always; the Rosenbrock
 *              methods (RODAS's) unless a PID coefficient is set (see their paragraphs).
 *   rtol == 0  constant steps of exactly dt0 from t0: step k ends at t0 + k*dt0
 *              (computed from k, not accumulated); the last step is shortened to end
 *              exactly at t1; a remainder within 100 ULP of t1 is absorbed into the
 *              previous step. With step_ts and dt0 == 0 the solver steps exactly to
 *              the step_ts (and t1).
 *   step_ts    every step is clipped so that it ends on each of these times.
 *   jump_ts    discontinuities of f: a step ends one ULP before the jump and the next
 *              starts two ULPs after it, with f re-evaluated (no FSAL reuse).
 * Time comparisons are relative, never absolute: two times within 100 ULP of the
 * solve's time scale max(|t0|, |t1|) are the same time, so problems on time scales of
 * 1e-10 or 1e10 behave alike, and grids ending at t = 0 leave no 1e-16 slivers.
 * t1 < t0 integrates backwards in time.
 */
#ifndef NDE_ODE_H
#define NDE_ODE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Callbacks return 0 ok, > 0 "retry with a smaller step", < 0 abort (NDE_ECALLBACK). */
typedef int (*nde_rhs)(double t, const double *y, double *dydt, void *user);
typedef int (*nde_jac)(double t, const double *y, double *J, void *user);   /* row-major dim x dim */
typedef int (*nde_vjp)(double t, const double *y, const double *a,
                       double *a_y, double *a_theta, void *user);  /* a^T df/dy, a^T df/dtheta; either may be NULL */
/* Event conditions: write g[0..n_events-1] for state y at time t. */
typedef int (*nde_event_fn)(double t, const double *y, double *g, void *user);
/* Step observer: called after every attempted step [t, t + dt] with its scaled error
 * norm (accept iff err <= 1; 0 for constant steps; +Inf for a non-finite stage) and
 * whether it was accepted. Return < 0 to stop the solve (NDE_ECALLBACK). */
typedef int (*nde_step_fn)(double t, double dt, double err, int accepted, void *user);
/* What the detailed step observer (nde_options.on_step_info) receives after every
 * attempted step. stiffness: for methods with a stiffness test (dopri5, tsit5), Hairer's
 * estimate h |lambda| of the step times the dominant eigenvalue modulus along the step
 * (h |k_7 - k_6| / |y1 - Y_6| from the last two stages, both at t + dt; Hairer & Wanner
 * II, IV.2 and dopri5.f), divided by the method's stability boundary on the negative real
 * axis (dopri5 3.25 as dopri5.f, tsit5 3.5): above 1 the step size is limited by
 * stability rather than accuracy, the problem is stiff for the method. NaN for methods
 * without a test and for steps with a non-finite stage. */
typedef struct nde_step_info {
    double t, dt, err;      /* as nde_step_fn's */
    int accepted;
    double stiffness;
    const struct nde_method *method;   /* the method that took the step: the solve's, or under
                                   `auto` tsit5 or kvaerno5 (a change is a switch point) */
} nde_step_info;
typedef int (*nde_step_info_fn)(const nde_step_info *info, void *user);
/* A caller's linear solver for the implicit methods (nde_options.lin_setup, lin_solve,
 * lin_user), for systems too large for a dense LU: matrix-free Krylov iterations,
 * sparse or structured factorisations of the caller's own. Wherever the library would
 * form and factor its iteration matrix it calls instead
 *     setup(t, y, gamma_h, user)   with  A = M - gamma_h J,  J = df/dy at (t, y),
 * M the mass matrix (identity without one), t the caller's time and gamma_h the step
 * times the method's coefficient, signed as t1 - t0 (negative in a backward solve);
 * the caller prepares what its solves need (a factorisation, a preconditioner, or just
 * t, y and gamma_h for matrix-free products; y is valid during the call only). Then,
 * until the next setup,
 *     solve(x, user)   overwrites x (dim values, the right-hand side b) with A^-1 b.
 * Both return 0 on success, > 0 "retry with a smaller step" (a singular A, an
 * iteration that did not converge: the step is rejected and h cut, as for a failed
 * Newton iteration; NDE_ENONLINEAR after 20 such rejections in a row), < 0 stop
 * (NDE_ECALLBACK); a solve that writes a NaN or Inf is a "retry smaller" as well. The
 * messages name the callback. With the hook the library evaluates no Jacobian
 * (ode->jac is not called, nothing is differenced: stats.njac stays 0) and factors no
 * iteration matrix: stats.nlu counts the setups (bdf also counts its one LU of a mass
 * matrix at the start). When J is reused across steps (Newton, BDF),
 * setup is called again with the earlier (t, y) and a new gamma_h. Nor does the solver
 * store a dim x dim matrix (only a mass matrix's copy and, for bdf, its LU, or for a
 * Rosenbrock method a singular one's check): its memory is linear in dim (about 90
 * doubles per component measured at dim 10^5, tests/test_linsolve.c).
 * Which systems: the diagonally implicit and IMEX methods (implicit_euler, kvaerno*,
 * kencarp*; M = I) call setup at the point where they would evaluate J and solve once
 * per Newton iteration; the Rosenbrock methods (ros3p, rodas4, rodas5p) at every
 * attempt's start and once per stage (each solve's result enters the step as it is,
 * with no Newton correction: an iterative solver's tolerance adds to the local error);
 * bdf at its Jacobian points, once per
 * corrector iteration. radau5 (its complex system), auto and the explicit methods do
 * not take the hook: NDE_EUNSUPPORTED. With a singular mass matrix a Rosenbrock method
 * still forms J once (ode->jac or differences, counted) to check y0's algebraic
 * equations. Exclusive with a banded Jacobian (jac_lower/jac_upper: NDE_EINVAL).
 * Example (tests/test_linsolve.c: conjugate gradients on a 2-D heat equation, and a
 * caller's direct solver on Robertson as an ODE and as a DAE):
 *     static int setup(double t, const double *y, double gamma_h, void *u)
 *     { (void)t; (void)y; ((heat *)u)->gh = gamma_h; return 0; }   // A = I - gh * Laplacian
 *     static int solve(double *x, void *u)
 *     { return cg_solve((heat *)u, x) ? 1 : 0; }                   // > 0: not converged
 *     o.lin_setup = setup; o.lin_solve = solve; o.lin_user = &h;
 */
typedef int (*nde_lin_setup)(double t, const double *y, double gamma_h, void *user);
typedef int (*nde_lin_solve)(double *x, void *user);

/* ---- methods ------------------------------------------------------------------ */

typedef struct nde_method nde_method;                   /* opaque constant descriptor */

/* Method families (nde_method_kind). One integrate loop serves them all; a method
 * used on a problem its family cannot solve (an SDE method in nde_ode_solve) gets
 * NDE_EUNSUPPORTED with a message. */
enum {
    NDE_METHOD_EXPLICIT_RK = 1,   /* explicit Runge-Kutta (Butcher tableau) */
    NDE_METHOD_IMPLICIT_RK = 2,   /* diagonally implicit / IMEX / fully implicit RK */
    NDE_METHOD_ROSENBROCK = 3,    /* linearly implicit Rosenbrock-Wanner */
    NDE_METHOD_MULTISTEP = 4,     /* BDF and other multistep methods */
    NDE_METHOD_SDE = 5,           /* stochastic Runge-Kutta */
    NDE_METHOD_LANGEVIN = 6,      /* underdamped Langevin splitting methods */
    NDE_METHOD_REVERSIBLE = 7,    /* algebraically reversible methods (reversible Heun) */
    NDE_METHOD_SWITCHING = 8,     /* automatic stiff/non-stiff switching */
    NDE_METHOD_EXTRAPOLATION = 9  /* extrapolation (gbs, seulex): chooses its own order and step */
};

/* Method by lower-case name ("tsit5"); NULL if unknown or name is NULL.
 * Explicit Runge-Kutta methods, by order: euler, heun, midpoint, ralston, bosh3,
 * dopri5, tsit5, vern6, vern7, dopri8, vern8, vern9 (nde_method_at lists them, with
 * reversible_heun among the order-2 ones), then gbs and seulex.
 * gbs (NDE_METHOD_EXTRAPOLATION; Hairer, Norsett & Wanner I, II.9, their ODEX):
 * Gragg-Bulirsch-Stoer extrapolation of the explicit midpoint rule with smoothing on
 * the harmonic sequence 2, 4, 6, ..., choosing per step both the order (4 ... 18) and
 * the step by Deuflhard's work-per-step rule; constant steps use 4 lines (order 8,
 * nde_method_order). Its interpolant (ODEX's: degree up to 13, order >= 5) matches y, f
 * at both ends and the midpoint's derivatives extrapolated from the lines n = 2, 6, 10,
 * 14, 18; when a solve interpolates (dense output, ts, events) gbs also requires the
 * midpoint value to converge, so ts may shorten its steps (unlike the Runge-Kutta
 * methods), and dense output costs the lines among those the step did not run (up to
 * 50 evaluations). No reverse pass (the gradients API refuses it).
 * Diagonally implicit (NDE_METHOD_IMPLICIT_RK), for stiff problems: implicit_euler
 * (order 1), kvaerno3, kvaerno4, kvaerno5 (Kvaerno 2004 ESDIRK pairs) and kencarp3,
 * kencarp4, kencarp5 (Kennedy & Carpenter 2003 ARK pairs: with ode->f_explicit set they
 * treat f implicitly and f_explicit explicitly, y' = f + f_explicit; without it they are
 * ESDIRKs). All are L-stable and stiffly accurate, adaptive with embedded estimates, with
 * cubic Hermite dense output (kencarp4: the paper's order-3 interpolant). Each implicit
 * stage is solved by a simplified Newton iteration whose Jacobian (ode->jac, else
 * forward differences) and LU factorisation are reused across steps (stats njac, nlu,
 * nnewton count them); a failed iteration rejects the step (cut by factormin), and
 * NDE_ENONLINEAR ends a solve whose iterations keep failing. No mass matrices
 * (NDE_EUNSUPPORTED); f_explicit with an ESDIRK: NDE_EUNSUPPORTED.
 * auto (NDE_METHOD_SWITCHING): tsit5, switching to kvaerno5 after 15 consecutive steps
 * that Hairer's stiffness test finds stiff, and back after 6 on which kvaerno5's estimate
 * says tsit5 could take the step (LSODA's idea); nde_step_info.method shows the switch
 * points. Stiffness detection alone: nde_options.detect_stiffness or on_step_info.
 * reversible_heun (NDE_METHOD_REVERSIBLE; Kidger, Chen & Lyons 2021): order 2, one f
 * evaluation per step, algebraically reversible, which NDE_ADJOINT_REVERSIBLE
 * (nde/adjoint.h) uses for exact gradients in O(1) memory. Embedded Euler estimate
 * (h/2)(f(t1, yh1) - f(t0, yh0)) as Diffrax's; quadratic dense output (order 2); a
 * restart (the first step, after a jump) sets yh = y. Its stability region is the
 * segment [-i, i] of the imaginary axis: on strongly decaying problems its parasitic
 * mode grows like e^{|lambda| t} and adaptive steps shrink without bound, so it is a
 * method for training neural ODEs whose gradients matter, not a general-purpose one.
 * bdf (NDE_METHOD_MULTISTEP): the variable-order (1-5) variable-step BDF for stiff
 * problems and index-1 DAEs (ode->mass), CVODE's step and order selection in Shampine's
 * difference form, with ode->jac (else finite differences) reused across steps. Order 5
 * is its highest; embedded order 1 is its starting order, for which the initial step is
 * estimated. Constant steps (rtol = 0) are BDF1 (implicit Euler) steps of dt0. Dense
 * output is its interpolating polynomial; it has no reverse pass for gradients yet.
 * Against CVODE's BDF on Robertson, Van der Pol (mu = 1e3) and HIRES at rtol 1e-6: as
 * many steps or fewer, half the LU factorisations, 1.0-1.6x the corrector iterations
 * (bench/bench_bdf.c).
 * Choosing one (f-evaluations for a given global error, default controller, on
 * lorenz, arenstorf, pleiades and a 1000-dimensional linear system: bench/ctrl_study.c,
 * docs/benchmarks.md):
 *   error ~1e-4    vern8 (fewest on lorenz, arenstorf, linear1000; on pleiades vern7,
 *                  with vern8 +19%); vern7 1.1-1.3x, dopri8 1.0-1.6x, tsit5 1.1-2.6x
 *   error ~1e-7    vern8 (fewest on lorenz, arenstorf, linear1000; on pleiades vern7,
 *                  vern8 +8%); dopri8 1.15-1.4x, vern9 1.0-1.7x
 *   error ~1e-10   vern8 (lorenz, pleiades, linear1000; dopri8 about 1.2x, vern7
 *                  1.4-1.9x) or dopri8 / vern9 (arenstorf, where vern8 stalls near 7e-10
 *                  and error 1e-10 needs rtol 1e-13); the fifth-order pairs 2.8-4.9x
 *   gbs needs 1.3-3.0x vern8's evaluations on all four at these errors.
 * nde solve --method auto-explicit picks vern8 for rtol >= 1e-12 and vern9 below.
 * rtol bounds the RMS-normed local error: the global error it gives varies by orders of
 * magnitude between problems (arenstorf: rtol 1e-10 gives ~1e-7).
 * Implicit Runge-Kutta (NDE_METHOD_IMPLICIT_RK, for stiff problems and M y' = f with a
 * constant, possibly singular mass matrix: index-1 DAEs): radau5, Radau IIA of order 5
 * (3 stages) as Hairer & Wanner's RADAU5: simplified Newton on one real and one complex
 * n x n system, Jacobian (ode->jac, or differences) reused while Newton contracts fast,
 * its own predictive step control, an embedded order-3 estimate and the collocation
 * cubic as dense output (order 3). Like RADAU5 it maps the tolerances to rtol' = 0.1
 * rtol^(2/3), atol' = atol rtol'/rtol; nlu counts one per factorisation of the pair.
 * Banded Jacobians (jac_lower, jac_upper) factor both as band matrices (a real and a
 * complex band LU); on the 1-D Brusselator it takes RADAU5's banded steps.
 * Dense output and events cost extra evaluations per step with the methods' own
 * interpolants: vern6 3 (on 9), vern7 5 (on 10), vern8 7 (on 13), vern9 9 (on 16),
 * dopri8 3 (on 12), none for dopri5 and tsit5; with many output points per step vern9's advantage shrinks accordingly.
 * seulex (NDE_METHOD_EXTRAPOLATION; Deuflhard 1985, Hairer & Wanner II, IV.9, their
 * SEULEX): extrapolation of the linearly implicit Euler method for stiff problems, mass
 * matrices (singular ones: index-1 DAEs) and banded Jacobians (jac_lower, jac_upper),
 * on the step number sequence 1, 2, 3, ..., choosing per step the order (2 ... 12) and the
 * step by Deuflhard's work-per-step rule, with SEULEX's stability check and Jacobian
 * reuse (a new J when the check's contraction exceeds min(1e-4, rtol)); one LU per
 * extrapolation line, no Newton iteration. Set opts->autonomous for f independent of t
 * (else f is also evaluated at each line's first substep, SEULEX's IFCN = 1). Constant
 * steps use 4 lines (order 4, nde_method_order). Dense output is SEULEX's (LAMBDA = 1, of
 * order kc - 1 for kc lines: 3 with constant steps); when a solve interpolates (dense
 * output, ts, events) seulex also controls the interpolant and may take more lines or
 * shorter steps for it. On HIRES it takes SEULEX's steps, Jacobians and LUs exactly
 * (tests/test_seulex.c). No reverse pass for gradients; no IMEX split.
 * Rosenbrock methods (NDE_METHOD_ROSENBROCK; stiff problems, mass matrices and index-1
 * DAEs M y' = f): ros3p (Lang & Verwer 2001, 3(2), A-stable, order-2 dense output),
 * rodas4 (Hairer & Wanner's RODAS, 4(3), L-stable, stiffly accurate, order-3 dense
 * output), rodas5p (Steinebach 2023, 5(4), L-stable, stiffly accurate, order-4 dense
 * output). Per step one Jacobian (ode->jac, else differences: dim evaluations, or
 * jac_lower + jac_upper + 1 with a banded Jacobian), one LU of M/(h gamma) - J per
 * attempt (kept over rejected attempts: the Jacobian), stages-1 evaluations per
 * attempt, and df/dt by a forward difference unless opts->autonomous. They are of their
 * order only with an accurate Jacobian (not W-methods): differences cost ~sqrt(eps)
 * relative in J, visible in the global error below ~1e-10. Measured on
 * Prothero-Robinson (lambda = -1e6, constant steps, h |lambda| 1e5 .. 8e2) the orders
 * reduce to 2.0 (ros3p), 1.0 (rodas4) and 2.9 (rodas5p); on Robertson, Van der Pol
 * and HIRES see bench/bench_stiff.c. ros3p's error estimate is not the paper's (a
 * multiple of k1 - k2, zero on every linear constant-coefficient problem): a fourth
 * stage for the estimate only, at stage 2's point (no f-evaluation, one more solve with
 * the factors per attempt; no counter of nde_stats counts solves), gives an order-2
 * embedded solution with another stability function, of order 3 on every problem,
 * with mass matrices, banded Jacobians and the caller's linear solver alike (the
 * table's comment in src/implicit/rosenbrock.c derives it). Its gradients (R_E
 * included) go through that stage like the others.
 * Step control of the Rosenbrock methods: RODAS's (rodas.f) unless the caller sets a PID
 * coefficient. fac = err^(1/k) / safety (k = embedded order + 1), h_new = h / fac with
 * h_new / h in [factormin, min(factormax, 6)] (defaults 0.2 and 6, as RODAS; the PID
 * default factormax 10 is not used); from the second accepted step on Gustafsson's
 * predictive factor (h_acc / h) (err^2 / err_acc)^(1/k) / safety, err_acc =
 * max(1e-2, err) of the last accepted step, when it gives the smaller step; after a
 * rejection the next accepted step does not grow the step; factormin_accept is
 * ignored; a failed attempt (non-finite, singular matrix) cuts h by factormin. The
 * Jacobian is kept over rejected attempts, as RODAS keeps it. rodas4 then takes exactly
 * RODAS's steps, Jacobians and LUs with the same first step (robertson, vdp1000, hires
 * at rtol 1e-3 .. 1e-10; tests/test_rosenbrock.c). Any nonzero pcoeff, icoeff or
 * dcoeff selects the PID controller above (with safety, factormin, factormax and
 * factormin_accept as there) instead.
 * alloc: none · errors: NULL · thread: safe */
NDE_API const nde_method *nde_method_find(const char *name);
NDE_API const char *nde_method_name(const nde_method *m);       /* NULL for NULL */
NDE_API int nde_method_order(const nde_method *m);              /* order of the propagated solution; 0 for NULL */
NDE_API int nde_method_embedded_order(const nde_method *m);     /* order of the embedded solution; 0: no error estimate.
                                                           The controller exponent is 1/(this + 1). dopri8: 7
                                                           (exponent 1/8, as DOP853; its 5th- and 3rd-order
                                                           estimators are combined) */
NDE_API int nde_method_stages(const nde_method *m);             /* f-evaluations per step, FSAL stage included */
NDE_API int nde_method_is_fsal(const nde_method *m);            /* last stage is f(t1, y1), reused as next first */
NDE_API int nde_method_dense_order(const nde_method *m);        /* order of the method's own interpolant;
                                                           0: cubic Hermite (order 3) is used */
NDE_API const char *nde_method_description(const nde_method *m);/* one line: authors, year */
NDE_API int nde_method_kind(const nde_method *m);               /* NDE_METHOD_*; 0 for NULL */
NDE_API const char *nde_method_kind_name(int kind);             /* "explicit Runge-Kutta", ...; "unknown" */
/* The accessors above return 0/NULL for a NULL method. alloc: none · thread: safe.
 * Registered methods, in order of increasing order: i in [0, nde_method_count()). */
NDE_API size_t nde_method_count(void);
NDE_API const nde_method *nde_method_at(size_t i);               /* NULL past the end */

/* ---- problem, options, solution ---------------------------------------------- */

typedef struct nde_ode {
    size_t dim; nde_rhs f; nde_jac jac; nde_vjp vjp; size_t n_params; void *user;
    const double *mass;   /* constant mass matrix M, dim x dim row-major, in M y' = f(t, y);
                             NULL: identity. A singular M gives an index-1 DAE (Rosenbrock,
                             BDF). A method that cannot take one returns NDE_EUNSUPPORTED */
    nde_rhs f_explicit;   /* IMEX methods (kencarp*): y' = f (implicit part) + f_explicit
                             (explicit part); NULL: none. Other methods: NDE_EUNSUPPORTED.
                             Its VJP is vjp_explicit below */
    nde_vjp vjp_explicit; /* a^T d f_explicit/dy, a^T d f_explicit/dtheta, as vjp for f: it
                             writes (does not accumulate) a_y and a_theta, either may be
                             NULL, and shares vjp's parameters (n_params) and user. Needed
                             by the checkpointed adjoint of an IMEX solve; NULL: none */
} nde_ode;

/* What to save (bit flags). Without NDE_SAVE_STEPS and without ts, t1 is saved. */
enum {
    NDE_SAVE_T0 = 1u,     /* also save (t0, y0) first */
    NDE_SAVE_STEPS = 2u,  /* save the end of every accepted step (grows the output) */
    NDE_SAVE_DENSE = 4u,  /* keep the dense interpolant for nde_solution_eval (grows) */
    NDE_SAVE_T1 = 8u      /* also save t1 when ts is given and does not end there */
};

/* Options. NDE_OPTIONS_INIT gives every default; in a zeroed struct every field but
 * rtol/atol also means its default (rtol == 0 asks for constant steps). */
typedef struct nde_options {
    const nde_method *method;           /* NULL: tsit5 */
    double rtol, atol;                  /* rtol == 0: constant steps of dt0. Default 1e-6, 1e-9 */
    double dt0;                         /* first (adaptive) or every (constant) step; its sign
                                           must be that of t1 - t0 (else NDE_EINVAL).
                                           0: automatic initial step (adaptive) */
    size_t max_steps;                   /* attempted steps; 0: default (100000) */
    const double *ts; size_t n_ts;      /* save times, monotone in the direction of
                                           integration, inside [t0, t1]; NULL: t1 only */
    unsigned save;                      /* NDE_SAVE_T0 | NDE_SAVE_STEPS | NDE_SAVE_DENSE | NDE_SAVE_T1 */
    /* -- PID controller (all three 0: the default, Hairer's PI with beta = 0.04; pure
     *    I control, Diffrax's default: icoeff = 1) */
    double pcoeff, icoeff, dcoeff;
    double safety;                      /* 0: 0.9 */
    double factormin, factormax;        /* bounds on a step-size change; 0: 0.2 and 10 */
    double dtmin;                       /* a proposed |dt| below this returns NDE_EDTMIN (dt0
                                           below it: NDE_EINVAL); 0: none */
    double dtmax;                       /* largest |dt|, also bounding dt0; 0: none */
    double factormin_accept;            /* lower bound on the step-size change after an
                                           ACCEPTED step; 0: 0.2 (Hairer's codes: shrink
                                           ahead of a rejection). 1: never shrink after
                                           acceptance, as Diffrax */
    /* -- forced step ends and discontinuities (any order; outside (t0, t1) ignored) */
    const double *step_ts; size_t n_step_ts;
    const double *jump_ts; size_t n_jump_ts;
    /* -- events: n_events scalar conditions g_i(t, y); an event fires when g_i changes
     *    sign across an accepted step in the given direction, and its time is found by
     *    root-finding on the dense interpolant to |dt| <= event_tol + 4 ULP. Directions
     *    are taken along the integration: in a backward solve (t1 < t0) "+1" means g
     *    goes from < 0 to >= 0 as t DEcreases. Every fired event is recorded in
     *    sol->event_t/event_which/event_y; a terminal one also appends (t_event, y) to
     *    the saved points when t1 would have been saved (no ts, NDE_SAVE_T1 or
     *    NDE_SAVE_STEPS), and saved ts after the event are dropped. */
    nde_event_fn event; size_t n_events;  /* event receives ode->user */
    const int *event_direction;         /* n_events: +1 up-crossing (g<0 -> g>=0), -1 down,
                                           0 either; NULL: all 0 */
    const int *event_terminal;          /* n_events: nonzero ends the solve with NDE_EVENT;
                                           NULL: all terminal */
    double event_tol;                   /* time tolerance of the root; 0: a few ULP */
    /* -- observation: progress meters, step-size plots, diagnostics */
    nde_step_fn on_step; void *on_step_user;
    /* -- memory and messages */
    const nde_allocator *allocator;     /* NULL: malloc/free */
    char *errbuf; size_t errbuf_size;   /* optional: receives the detailed message of a
                                           failure from functions without a solution */
    /* -- stiffness detection (explicit methods with a test: dopri5, tsit5) */
    int detect_stiffness;               /* nonzero: run the stiffness test after every step
                                           and count stiff accepted steps in
                                           sol->stats.stiff_steps (on_step_info implies it) */
    nde_step_info_fn on_step_info; void *on_step_info_user;   /* called after on_step with the
                                           step's nde_step_info; < 0 stops the solve
                                           (NDE_ECALLBACK); NULL: none */
    /* -- Jacobians of the implicit families (Rosenbrock, radau5, seulex): both 0, dense. Otherwise
     *    df/dy is banded with jac_lower sub- and jac_upper superdiagonals: the linear
     *    systems use LAPACK's banded LU, and the difference Jacobian groups columns
     *    (Curtis-Powell-Reid: min(dim, jac_lower + jac_upper + 1) evaluations of f). A
     *    user jac still writes the full dim x dim array (entries outside the band are
     *    ignored); a mass matrix must vanish outside the band (else NDE_EINVAL).
     *    Each must be < dim. */
    size_t jac_lower, jac_upper;
    int autonomous;                     /* nonzero: f does not depend on t, so Rosenbrock
                                           methods skip df/dt (one f-evaluation per
                                           step); 0: df/dt by a forward difference.
                                           seulex then shares f(t0, y0) among its lines
                                           (0: one more f per line, at t0 + h_j) */
    /* -- a caller's linear solver for the implicit methods (nde_lin_setup above): both
     *    NULL, the library's dense or banded LU; both set, the caller's (one alone:
     *    NDE_EINVAL). lin_user goes to both, kept by reference */
    nde_lin_setup lin_setup; nde_lin_solve lin_solve; void *lin_user;
    /* -- steady states (Diffrax's steady_state_event). Nonzero: the solve ends with
     *    NDE_EVENT at the first accepted step end (t, y) where
     *        RMS_i f_i(t, y) < steady_atol + steady_rtol RMS_i y_i,
     *    recorded in sol->event_* like a terminal event with event_which =
     *    NDE_EVENT_STEADY_STATE, and (t, y) saved where t1 would have been (no ts,
     *    NDE_SAVE_T1; NDE_SAVE_STEPS saved it already); saved ts after t are dropped.
     *    The test is also made at t1 (a solve that is steady there ends with NDE_EVENT).
     *    It needs f(t, y) at every step end: free for FSAL methods, one evaluation of f
     *    per accepted step for the others. With an IMEX split f is f + f_explicit (one
     *    more evaluation of f_explicit per step). ODEs only (NDE_EUNSUPPORTED on an SDE). */
    int steady_state;
    double steady_rtol, steady_atol;    /* 0: the solve's rtol / atol; they must not both
                                           end up 0 (NDE_EINVAL: the test could never hold) */
} nde_options;

/* sol->event_which of the steady-state event (nde_options.steady_state): not an index
 * into the event conditions. */
#define NDE_EVENT_STEADY_STATE (-1)

#define NDE_OPTIONS_INIT { NULL, 1e-6, 1e-9, 0.0, 0, NULL, 0, 0u, \
                           0.0, 0.0, 0.0, 0.9, 0.2, 10.0, 0.0, 0.0, 0.0, \
                           NULL, 0, NULL, 0, NULL, 0, NULL, NULL, 0.0, \
                           NULL, NULL, NULL, NULL, 0, \
                           0, NULL, NULL, 0, 0, 0, \
                           NULL, NULL, NULL, \
                           0, 0.0, 0.0 }

struct nde__dense;

typedef struct nde_solution {
    size_t dim, n;          /* n saved points */
    double *t;              /* n */
    double *y;              /* n x dim, row i is the state at t[i] */
    nde_stats stats;
    int status;
    /* -- events that fired (terminal or not), in time order */
    size_t n_event_hits;
    double *event_t;        /* n_event_hits times */
    int *event_which;       /* n_event_hits indices into the event conditions, or
                               NDE_EVENT_STEADY_STATE */
    double *event_y;        /* n_event_hits x dim states at the event times */
    /* -- private: allocator, dense output, message */
    nde_allocator alloc_;
    struct nde__dense *dense_;
    size_t cap_, event_cap_;
    char message_[NDE_MESSAGE_MAX];
} nde_solution;

/* Solve y' = f(t, y) from (t0, y0) to t1 (t1 < t0 integrates backwards).
 * sol is overwritten (its previous contents are not freed); free it with
 * nde_solution_free whatever the return code. Returns NDE_OK, NDE_EVENT (a terminal
 * event, or opts->steady_state, ended the solve at sol->event_t[sol->n_event_hits-1]), or an error: NDE_EINVAL (bad argument;
 * nothing computed), NDE_ENOMEM, NDE_EMAXSTEPS, NDE_EDTMIN, NDE_ENONFINITE,
 * NDE_ECALLBACK, NDE_EUNSUPPORTED; on errors after the start, sol keeps everything
 * saved so far. sol->status repeats the return code; nde_solution_message explains.
 * alloc: at the start (and geometric growth with NDE_SAVE_STEPS/DENSE/non-terminal
 * events) · thread: distinct solutions are independent */
NDE_API int  nde_ode_solve(const nde_ode *ode, double t0, double t1, const double *y0,
                   const nde_options *opts, nde_solution *sol);

/* Dense output: y(t) for t in the solved interval. Needs NDE_SAVE_DENSE.
 * Returns NDE_OK, or NDE_EINVAL (no dense output, t outside, NULL y).
 * alloc: none · thread: concurrent reads of one solution are safe */
NDE_API int  nde_solution_eval(const nde_solution *sol, double t, double *y);
/* Frees what a solve allocated and zeroes the arrays; safe on a zeroed solution and on
 * NULL. alloc: frees · errors: none · thread: one solution per thread */
NDE_API void nde_solution_free(nde_solution *sol);
/* Detailed message of the last solve ("" after success). Never NULL.
 * alloc: none · errors: none · thread: safe */
NDE_API const char *nde_solution_message(const nde_solution *sol);

/* ---- the reusable solver object ------------------------------------------------ */

/* The integrate loop as an object, for solving the same shape of problem many times
 * (a neural ODE solves one shape thousands of times per epoch):
 *
 *     nde_solver *s = nde_solver_create(&ode, &opts);   // allocates everything here
 *     for (int epoch = 0; epoch < n; epoch++) {
 *         if (nde_solver_solve(s, 0.0, 1.0, y0) < 0) break;
 *         const nde_solution *sol = nde_solver_solution(s);   // owned by s
 *         ... use sol->t, sol->y, sol->stats, nde_solution_eval(sol, t, y) ...
 *     }
 *     nde_solver_free(s);
 *
 * create copies ode and opts (and the arrays opts points to: ts, step_ts, jump_ts,
 * event_direction, event_terminal), so they may change or go away afterwards; only
 * ode->user, opts->errbuf and the callbacks are kept by reference. A solve or reset
 * allocates nothing unless output that grows with the number of steps outgrows what
 * earlier solves needed (NDE_SAVE_STEPS, NDE_SAVE_DENSE, non-terminal events): the
 * capacity is kept, so repeated solves of the same shape allocate nothing.
 * The results are bit-identical to nde_ode_solve with the same arguments.
 *
 * create: NULL on bad arguments (message in opts->errbuf) or out of memory; the
 *   checks are nde_ode_solve's, except those on t0, t1, y0 and ts, made by reset.
 * reset: validates (t0, t1, y0) against the options and rewinds: NDE_OK or NDE_EINVAL.
 * solve: reset, then integrate to t1; returns what nde_ode_solve returns.
 * step: after reset, integrates to the end of the next accepted step, writing its end
 *   time and state to *t and y (either may be NULL), saving and firing events as a
 *   solve does; returns NDE_OK (*t == t1 exactly when the solve has reached t1; then
 *   nde_solver_finished is true), NDE_EVENT, or an error, after which the solver
 *   must be reset; NDE_EINVAL before a reset or after the end. After a step clipped
 *   just before a jump_ts, *t is the restart time two ULP past the jump (y is the same
 *   state, which the jump does not change).
 * A failing call (step after the end, a bad set_record flag) replaces the status and
 *   message that nde_solver_solution and nde_solver_message report.
 * solution: the output of the last solve or steps, owned by the solver, valid until
 *   the next reset/solve or free; never pass it to nde_solution_free.
 * set_user: replaces ode->user (e.g. new parameters) for the following solves.
 * alloc: create only (and growth as above) · thread: one solver per thread */
typedef struct nde_solver nde_solver;
NDE_API nde_solver *nde_solver_create(const nde_ode *ode, const nde_options *opts);
NDE_API int  nde_solver_reset(nde_solver *s, double t0, double t1, const double *y0);
NDE_API int  nde_solver_solve(nde_solver *s, double t0, double t1, const double *y0);
NDE_API int  nde_solver_step(nde_solver *s, double *t, double *y);
NDE_API int  nde_solver_finished(const nde_solver *s);           /* 1 after the end or an error (NULL: 1) */
NDE_API const nde_solution *nde_solver_solution(const nde_solver *s);
NDE_API const char *nde_solver_message(const nde_solver *s);     /* "" after success; never NULL */
NDE_API const nde_method *nde_solver_method(const nde_solver *s);
NDE_API void nde_solver_set_user(nde_solver *s, void *user);
NDE_API void nde_solver_free(nde_solver *s);                     /* NULL is a no-op */

/* A record of every accepted step, kept by the solver across the following solves
 * until changed (the checkpoint store of discretise-then-optimise gradients): with
 * NDE_RECORD_STEPS the step's start time t and signed size h; NDE_RECORD_STATES adds
 * the state y at its start (dim doubles); NDE_RECORD_STAGES adds the method's stage
 * vectors (explicit RK: the s = nde_method_stages(m) values k_i = f(t + c_i h, Y_i),
 * s x dim doubles, so that the step's end is y + h sum_i b_i k_i whatever the
 * direction of time). Each flag implies the ones before. Call between solves. The record grows geometrically and keeps its capacity across solves.
 * set_record: NDE_OK, NDE_EINVAL (unknown flag), NDE_EUNSUPPORTED (stages of a family
 * that keeps none), NDE_ENOMEM (size overflow); it clears the current record at once and
 * applies from the next solve. With a terminal event the last record is the whole
 * accepted step in which the event fired (the solution ends at the event inside it).
 * record_get: step i of the last solve, into any non-NULL outputs; NDE_EINVAL for i
 * past the count or an output that was not recorded.
 * alloc: record growth only · thread: one solver per thread */
enum { NDE_RECORD_STEPS = 1u, NDE_RECORD_STATES = 2u, NDE_RECORD_STAGES = 4u };
NDE_API int    nde_solver_set_record(nde_solver *s, unsigned what);
NDE_API size_t nde_solver_record_count(const nde_solver *s);
NDE_API int    nde_solver_record_get(const nde_solver *s, size_t i, double *t, double *h, double *y,
                             double *stages);

/* ---- step-size control for your own loop ------------------------------------------ */

/* The PID controller of nde_ode_solve (formulas at the top of this file), in caller
 * storage. init reads pcoeff/icoeff/dcoeff, safety, factormin, factormax and
 * factormin_accept from opts (NULL: defaults) and the exponent from m's embedded order
 * (m NULL: opts->method, or tsit5); NDE_EINVAL (message in opts->errbuf) for a method
 * without error estimate or bad coefficients. next: given the step h just attempted
 * and its scaled error norm err (accept iff err <= 1), sets *accepted and returns the
 * next step (same sign as h); the history advances on accepted steps only. NaN for a
 * NULL controller, non-finite h or err < 0 / NaN (then *accepted = 0). reset clears the
 * history. alloc: none · thread: one controller per thread */
typedef struct nde_controller {
    /* private; filled by nde_controller_init */
    double b1, b2, b3, safety, fmin, fmax, fmin_accept;
    double inv1, inv2;                         /* 1/err of the last two accepted steps */
    double err_scale_max;                      /* PI (b3 = 0): a bound on inv1^(-b2/b1) */
    double err_grow_max, err_shrink_max, err_reject_min, err_cap;
    int pi;                                    /* b3 == 0 */
} nde_controller;
NDE_API int    nde_controller_init(nde_controller *c, const nde_method *m, const nde_options *opts);
NDE_API double nde_controller_next(nde_controller *c, double h, double err, int *accepted);
NDE_API void   nde_controller_reset(nde_controller *c);

/* The automatic initial step of nde_ode_solve (Hairer-Norsett-Wanner II.4 in time
 * normalised by |t1 - t0|): writes to *dt0 a first step from (t0, y0) towards t1 for
 * opts' method, rtol, atol, dtmin and dtmax. work: 3 * ode->dim doubles of scratch.
 * Costs two evaluations of ode->f. Returns NDE_OK, NDE_EINVAL (bad argument, rtol or
 * atol not > 0, a method without error estimate), NDE_ECALLBACK (f < 0) or
 * NDE_ENONFINITE (f(t0, y0) not finite or refusing). alloc: none · thread: safe */
NDE_API int nde_initial_step(const nde_ode *ode, double t0, double t1, const double *y0,
                     const nde_options *opts, double *work, double *dt0);

/* ---- step level --------------------------------------------------------------- */

/* One explicit Runge-Kutta step object for users who drive their own loop (create
 * returns NULL for a method of another family).
 * nde_stepper_step advances (t, y) by h (either sign) writing y1, the local error
 * estimate err (may be NULL; zeros for methods without an estimate) and keeps the
 * step's stages so that nde_stepper_dense can evaluate the step's interpolant at
 * theta in [0, 1]. fsal_valid: nonzero when y is unchanged since the previous call and
 * t is either that step's end (its f(t1, y1) is reused) or its start (a retry with a
 * smaller h: f(t, y) is reused); pass 0 after changing y or t by hand.
 * create: NULL on a NULL method, dim 0 or out of memory. step/dense: NDE_OK, NDE_EINVAL
 * (NULL argument, h == 0 or non-finite, dense before a step or theta outside [0, 1]),
 * NDE_ECALLBACK for a callback's code < 0, or its positive "retry smaller" code as is.
 * nfe: evaluations so far. free: NULL is a no-op.
 * alloc: create only · thread: one stepper per thread */
typedef struct nde_stepper nde_stepper;
NDE_API nde_stepper *nde_stepper_create(const nde_method *m, size_t dim, const nde_allocator *a);
NDE_API int  nde_stepper_step(nde_stepper *s, nde_rhs f, void *user, double t, double h,
                      const double *y, double *y1, double *err, int fsal_valid);
NDE_API int  nde_stepper_dense(nde_stepper *s, nde_rhs f, void *user, double theta, double *y);
NDE_API size_t nde_stepper_nfe(const nde_stepper *s);
NDE_API void nde_stepper_free(nde_stepper *s);

#ifdef __cplusplus
}
#endif
#endif /* NDE_ODE_H */
