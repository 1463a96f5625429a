/* nde/adjoint.h — gradients through solves, and regularisers built from the solver's
 * own heuristics.
 *
 * C has no automatic differentiation: the caller supplies the vector-Jacobian product
 * of the right-hand side (nde_ode.vjp: a^T df/dy and a^T df/dtheta for the parameters
 * theta it reads through `user`), and nde differentiates everything else: every stage
 * of the method, its dense output, its error estimate and its stiffness estimate.
 *
 * Example: the gradient of L = y(1) for y' = -k y with respect to y0 and k.
 *
 *     static int f(double t, const double *y, double *dy, void *u)
 *     { (void)t; dy[0] = -*(double *)u * y[0]; return 0; }
 *     static int vjp(double t, const double *y, const double *a, double *ay, double *ak, void *u)
 *     { (void)t; if (ay) ay[0] = -*(double *)u * a[0]; if (ak) ak[0] = -y[0] * a[0]; return 0; }
 *
 *     double k = 2.0, y0 = 1.0, dL_dy = 1.0, dy0 = 0, dk = 0;
 *     nde_ode ode = { .dim = 1, .f = f, .vjp = vjp, .n_params = 1, .user = &k };
 *     nde_options o = NDE_OPTIONS_INIT;
 *     nde_tape *tape = nde_tape_create(NULL);           // checkpointed, defaults
 *     nde_solution sol;
 *     if (nde_ode_solve_taped(&ode, 0.0, 1.0, &y0, &o, tape, &sol) == NDE_OK &&
 *         nde_ode_backward(tape, &dL_dy, &dy0, &dk) == NDE_OK)   // sol.n = 1 saved point
 *         printf("y(1) = %.9f  dy/dy0 = %.9f  dy/dk = %.9f\n", sol.y[0], dy0, dk);
 *     nde_solution_free(&sol);                           // e^-2, e^-2, -e^-2
 *     nde_tape_free(tape);
 *
 * NDE_ADJOINT_CHECKPOINT (discretise-then-optimise): the exact gradient of what the
 * forward solve computed (its saved points, from step ends or from the dense
 * interpolant), through every stage. Step sizes and step times are treated as
 * constants, as Diffrax does: the gradient is that of the discrete map with the
 * accepted step sequence held fixed. The forward pass keeps the start state of at most
 * `checkpoints` steps (online thinning: every other one is dropped and the stride
 * doubled when the store is full) and 2 doubles per accepted step (its time and
 * size); the backward pass rebuilds the states between checkpoints by recursive
 * bisection, O(log(steps / checkpoints)) extra states, and recomputes each step's
 * stages once more to run through them backwards. nde_adjoint_stats reports the
 * recomputed steps and the memory used.
 *
 * NDE_ADJOINT_REVERSIBLE (reversible_heun only; Kidger, Chen & Lyons 2021): the exact
 * gradient of the discrete solve, like the checkpointed adjoint, in memory flat in the
 * number of steps. The forward pass keeps the step list (2 doubles per accepted step),
 * the end state (y, yh, fh) and, per jump_ts the solve restarted at, 1 + 2 dim
 * doubles; the backward pass rebuilds every step's start from its end by the method's
 * algebraic inverse (one f evaluation and one VJP per step, no checkpoint, no
 * recomputation) and runs the step's discrete adjoint. The rebuilt states differ from
 * the forward ones by round-off only: nde_adjoint_stats.reconstruction_error reports
 * the drift of the rebuilt y0. Measured: below 2e-15 after 10^6 steps on the test
 * problems (linear, Lotka-Volterra, Duffing, a tanh MLP); on dissipative problems it
 * grows like the method's parasitic mode, e^{|lambda| T} (2e-16 at T = 1, 7e-13 at
 * T = 2.5 on y' = -5 y, h = 1e-3), where the forward solve degrades in the same way
 * (reversible_heun in nde/ode.h). Saved points at step ends, every step and inside steps (the method's
 * quadratic interpolant) are all supported, and so are the regularisers: R_E from the
 * method's embedded Euler estimate (h/2)(fh1 - fh0) (the step record then holds 5
 * doubles per step), R_S = 0 (one stage).
 *
 * NDE_ADJOINT_BACKSOLVE: the continuous adjoint solved backwards between saved times
 * (src/adjoint/backsolve.c); memory flat in the steps; accurate to its tolerances.
 *
 * NDE_ADJOINT_IMPLICIT (steady states; Diffrax's ImplicitAdjoint): for a taped solve
 * that ends with the steady-state event (opts->steady_state, required: NDE_EINVAL
 * before solving without it) at (t*, y*), f(t*, y*) ~ 0, the gradient of the fixed
 * point through the implicit function theorem,
 *     dL/dtheta = -lambda^T df/dtheta (t*, y*),   J^T lambda = dL/dy*,   J = df/dy (t*, y*),
 * one LU solve (LAPACK). J is built exactly: from ode->jac when set (one call), else
 * from dim VJPs with unit cotangents; then one VJP with lambda. Any ODE method, explicit
 * or implicit, and any events (they only record): it differentiates the fixed point,
 * not the solver's steps, so the forward pass keeps nothing per step (y* and t*; the
 * backward workspace is dim x dim) and memory is flat in the number of steps. dL/dy0
 * is 0: at an exact steady state the end point does not depend on y0 (within its basin
 * of attraction). Only the saved points at t* (the last one: saved by default, or with
 * NDE_SAVE_T1 when ts is given) may carry nonzero cotangents (NDE_EINVAL otherwise: the
 * others depend on the path). A solve that ended otherwise (at t1, or at a user's
 * terminal event) has no fixed point to differentiate: nde_ode_backward returns
 * NDE_EINVAL with a message. A singular J (an exactly zero LU pivot: the fixed point is
 * not isolated) is NDE_EINVAL, a numerically singular one that overflows lambda
 * NDE_ENONFINITE. The gradient is exact at an exact fixed point; at the solved y* its
 * error is of the order of |y* - y_exact| ~ |f(y*)| / (smallest decay rate), so set
 * steady_atol / steady_rtol (and dtmax, which bounds the round-off scatter h |f| near
 * y*) to the accuracy wanted. Measured on a tanh MLP field (dim 3, 45 parameters,
 * tests/test_steady.c): within 3e-11 (tsit5) and 1e-9 (rodas5p) of central differences
 * of the solved steady state.
 *
 * Regularisers (Pal et al. 2021, "Opening the Blackbox"; Pal et al. 2022, "Locally
 * regularized neural differential equations"), over the accepted steps n of the
 * taped solve, both differentiable through the stages and added, weighted, to the
 * loss by nde_ode_backward:
 *   R_E = sum_n |h_n| e_n, e_n the controller's scaled RMS error norm of step n
 *         (atol + rtol max(|y0|, |y1|) per component, DOP853's 5/3 combination for
 *         dopri8; with constant steps (rtol == 0) the scale is atol alone);
 *   R_S = sum_n |h_n| ||k_a - k_b||_2 / ||Y_a - Y_b||_2, Hairer's stiffness estimate
 *         from the step's last two stages a = s-1, b = s-2 (their inputs Y; for FSAL
 *         methods Y_a = y1), about |h lambda| on y' = lambda y (DOPRI5 calls the problem
 *         stiff above 3.25); 0 for one-stage methods and where Y_a and Y_b differ by
 *         round-off only (|Y_a - Y_b| <= 64 eps (|Y_a| + |Y_b|)), where the ratio is noise.
 * With reg_steps > 0 only that many accepted steps, drawn uniformly without
 * replacement from a pure function of (reg_seed, the tape's solve count, step index),
 * enter R_E and R_S (the local variant).
 *
 * Cost: nde_ode_backward calls ode->vjp once per stage of every step whose stage
 * cotangent is nonzero, plus one forward step per step (and the bisection's
 * recomputation when the checkpoints are thinned). A batch of trajectories solved as
 * one system (dim = batch x state) shares its steps; its vjp then receives the whole
 * batch's cotangent at once, which is what makes batched VJPs (one matrix product per
 * layer) efficient.
 *
 * Supported now, forward and backward in time, constant and adaptive steps, ts /
 * NDE_SAVE_T0 / NDE_SAVE_STEPS / NDE_SAVE_T1 saving, step_ts and jump_ts:
 *   NDE_ADJOINT_CHECKPOINT   every explicit Runge-Kutta method; gbs (its midpoint
 *                            lines and extrapolation table, the lines each step used
 *                            taped; saved points at step ends only and no regularisers:
 *                            ts or a weight > 0 is NDE_EUNSUPPORTED); the diagonally
 *                            implicit family (implicit_euler, kvaerno3/4/5, kencarp3/4/5,
 *                            kencarp's IMEX split ode->f_explicit included given its VJP
 *                            ode->vjp_explicit, else NDE_EINVAL) and the Rosenbrock
 *                            methods (ros3p, rodas4, rodas5p; mass matrices included,
 *                            banded Jacobians not), with the regularisers (an IMEX
 *                            step's weigh f + f_explicit); radau5 (mass matrices
 *                            included), without the regularisers
 *   NDE_ADJOINT_REVERSIBLE   reversible_heun (and only it), with the regularisers
 *   NDE_ADJOINT_BACKSOLVE    every ODE method (reversible_heun too: its backward solve
 *                            then uses it; the implicit ones difference the augmented
 *                            system's Jacobian, of order 2 dim + n_params), without the
 *                            regularisers; not with ode->mass or ode->f_explicit (the
 *                            augmented system has neither: NDE_EUNSUPPORTED)
 *   NDE_ADJOINT_IMPLICIT     every ODE method, solves ending with the steady-state event,
 *                            without the regularisers (an IMEX split needs
 *                            ode->vjp_explicit: J is d(f + f_explicit)/dy); not SDEs
 *                            (NDE_EUNSUPPORTED)
 * The steady-state event (opts->steady_state) works with every kind: it ends the solve
 * at a step end (the taped solve then returns NDE_EVENT), which the checkpointed and
 * reversible adjoints differentiate as the discrete solve up to there and backsolve
 * starts from.
 *
 * A method with another adjoint's kind (reversible_heun with the checkpointed adjoint,
 * an explicit RK method with the reversible one) gets NDE_EUNSUPPORTED with a message
 * naming the right kind. Not yet: the checkpointed adjoint of bdf and auto, of banded
 * Rosenbrock solves, of gbs's interpolant and of radau5's and gbs's regularisers, and user events with the
 * implicit families (the event time is differentiated through explicit RK interpolants):
 * NDE_EUNSUPPORTED with a message (for the methods: pointing to NDE_ADJOINT_BACKSOLVE,
 * which differentiates bdf and auto as every other ODE method).
 *
 * Events (opts->event) with NDE_ADJOINT_CHECKPOINT (explicit RK methods): non-terminal ones only record, so
 * the gradient is as without them. A terminal one ends the solve at t*, inside its last
 * step at theta_e of the step's interpolant P, where g(t*, P(theta_e)) = 0 for the firing
 * condition g; t* then depends on x = (y0, the parameters) (the implicit function
 * theorem), and the saved event state Y = P(theta_e) with it:
 *     dY/dx = dP/dx + P' dtheta_e/dx,   dtheta_e/dx = -(grad_y g . dP/dx) / G',
 *     G' = dg/dt dt/dtheta_e + grad_y g . P',
 * P' the interpolant's own derivative (the exact derivative of what the solve computed,
 * as for the rest of this adjoint; Diffrax's -(grad g . dy/dx) / (grad g . f) with the
 * interpolant's f). grad_y g and dg/dt come from central differences of the user's event
 * function at (t*, Y) (2 (dim + 1) calls after the solve; steps of a power of two near
 * 6e-6 max(1, |x|), so errors ~1e-11 relative for smooth g, none for g linear or
 * quadratic); g's own dependence on the parameters (through user) is not differentiated.
 * Saved ts within the time window of t* are the event state and get the same treatment.
 * Measured (tests/test_event_adjoint.c): the bouncing ball's impact-time gradient within
 * 1e-9 of its closed form for every explicit method of order >= 2 (Diffrax checks 1e-5);
 * central differences of the discrete solve within 2e-8 on Lotka-Volterra with a
 * time-dependent condition, every explicit method, both directions. A tangential
 * crossing (dg/dtheta_e = 0 at t*, where t* has no derivative) with a nonzero
 * cotangent on the event state is NDE_EINVAL in nde_ode_backward. To differentiate t*
 * itself, carry a clock tau' = 1 in the state: tau(t*) - tau(t0) = t* - t0. User events
 * with NDE_ADJOINT_BACKSOLVE / _REVERSIBLE and in SDE solves: NDE_EUNSUPPORTED
 * (NDE_ADJOINT_IMPLICIT takes them: they only end or record).
 *
 * The diagonally implicit family (src/adjoint/dirk_reverse.c) is differentiated through
 * its converged stage equations Y_i = base_i + h gamma f(t_i, Y_i) by the implicit
 * function theorem: per implicit stage one solve with (I - h gamma J(Y_i))^T and one
 * VJP, J exact at the stage (ode->jac when given, else dim VJPs with unit cotangents).
 * The iteration that solved the stages does not enter: a taped solve solves its stages
 * to rounding (Newton's norm at 1e-12 relative, then chord updates until they stop
 * shrinking), whatever rtol, so the solve is the smooth function of y0 and theta whose
 * derivative this is (it costs a few more iterations than nde_ode_solve), and the
 * backward pass solves each step's stages again by Newton's method to rounding. Cost
 * of the backward pass per implicit stage: two Jacobians or more (2 dim VJPs each
 * without ode->jac), two LU factorisations of order dim, 3-6 f-evaluations, one VJP;
 * memory: stages x dim^2 doubles of backward workspace for the factors. R_S uses the
 * last two stages as for explicit methods; for kvaerno4/5, whose last two stages are
 * y1 and the embedded solution, the ratio's denominator is the local error, so R_S is
 * ill-conditioned there (its gradient is exact, its value carries ~1e-8 round-off).
 *
 * The Rosenbrock methods (src/adjoint/ros_reverse.c) are differentiated as the methods
 * WITH THE EXACT JACOBIAN: J = df/dy(t_n, y_n) and df/dt in the stages are functions of
 * y_n and theta, and their derivatives are second derivatives of f, which a VJP alone
 * does not give. They are taken as central differences of the VJP along the stage:
 * grad (w^T J u) = d/de VJP(y + e u, w) with e = eps^(1/3) max(|y|_inf, 1) / |u|_inf
 * (error ~ eps^(2/3) ~ 4e-11 relative; 2 VJPs per stage), and grad (w^T df/dt) = d/ds
 * VJP(s, y, w) with ds = eps^(1/3) max(|s|, 1) (2 VJPs per step; none with
 * nde_options.autonomous). The forward solve's J (ode->jac, or its difference Jacobian)
 * and df/dt (a forward difference) count as the exact ones: the step is recomputed
 * with the forward's own Jacobian code. Measured against differences of the taped
 * solve: ~1e-9 relative with ode->jac; with the difference Jacobian or a
 * non-autonomous f the forward solve itself rounds at ~sqrt(eps), not smoothly in
 * y0, which limits that oracle to ~1e-7 (four-point differences, eps 1e-4). Per step
 * the backward pass costs one Jacobian (as the forward), two LU factorisations of
 * order dim, the stages' f-evaluations and 3 VJPs per stage. R_S (last two stages'
 * inputs and evaluations) costs 2 f-evaluations per step in the taped solve and is
 * computed only when reg_stiffness > 0 (else reported 0); ros3p's last two stage
 * inputs coincide, so its R_S is 0; rodas4/5p's differ by u_{s-2}, of the size of the
 * local error (ill-conditioned as for kvaerno4/5).
 *
 * radau5 (src/adjoint/radau_reverse.c) is differentiated through its exact collocation
 * system M z_i = h sum_j a_ij f(t_j, y0 + z_j) (its simplified Newton iteration's one
 * inexact J does not enter): per step one real LU of order 3 dim of the transposed
 * system matrix, blocks M delta_ij - h a_ij J(Y_j) with J exact at every stage, and 3
 * VJPs; the backward pass solves the collocation system again by Newton's method to
 * rounding (3 Jacobians per Newton matrix; memory 21 dim^2 doubles of workspace), and
 * a taped solve iterates its own Newton to rounding after RADAU5's stopping rule (the
 * step control sees the first rule's counts, as untaped). Its error estimate goes
 * through the forward's simplified Newton matrix, so its regularisers are refused.
 *
 * SDEs (nde_sde_solve_taped, nde_sde_backward). The user supplies sde->drift_vjp
 * (a^T df/dy, a^T df/dtheta) and sde->diffusion_vjp (a^T dg/dy, a^T dg/dtheta, a of
 * g's shape: dim for diagonal noise, dim x noise_dim row-major otherwise). Drift and
 * diffusion share ONE parameter vector theta of sde->n_params entries: each VJP writes
 * its part for all n_params (zeros where it does not read a parameter), and dL_dtheta
 * is their sum over every stage of every step. The path is not stored: the backward
 * pass asks the tree again for each step's W (and H) over the same interval, which
 * gives the same bits (nde/brownian.h), so the tree must stay valid and unchanged
 * until the backward pass (it is queried, never resampled). Step sizes are constants of
 * the gradient, as for ODEs.
 *   NDE_ADJOINT_CHECKPOINT   every stochastic Runge-Kutta method on every noise kind it
 *                            solves, constant and adaptive steps: the exact gradient
 *                            of the discrete solve (checkpoints and their thinning as
 *                            above; each step recomputed bit for bit, then reversed
 *                            through its stages, Milstein's correction and the
 *                            additive form's g(t + dt) term included);
 *   NDE_ADJOINT_REVERSIBLE   reversible_heun's SDE form (Kidger, Foster, Li & Lyons
 *                            2021): the exact discrete gradient with every step's start
 *                            rebuilt from its end; memory: the step list (2 doubles per
 *                            step) and 4 dim doubles (+ 1 + 2 dim per jump); per step
 *                            one f, one g, one drift VJP and one diffusion VJP;
 *   NDE_ADJOINT_BACKSOLVE    the stochastic adjoint (Li, Wong, Chen & Duvenaud 2020):
 *                            the augmented Stratonovich SDE of (y, a_y, a_theta) solved
 *                            backwards along the same tree between the saved times by
 *                            the forward method (one that solves general Stratonovich
 *                            noise: euler_heun, heun, general_shark, spark, slow_rk,
 *                            reversible_heun; Stratonovich or additive-noise SDEs),
 *                            constant steps of -dt0 or adaptive (the tape's rtol/atol,
 *                            else the forward ones); memory flat in the steps; each
 *                            augmented diffusion costs noise_dim diffusion VJPs; the
 *                            gradient of the continuous problem, converging to the
 *                            discrete one at the method's strong order (measured in
 *                            tests/test_sde_adjoint.c).
 * The regularisers are ODE-only (NDE_EUNSUPPORTED on an SDE tape with a weight > 0).
 * Saved points are step ends (or, with NDE_SAVE_DENSE-style interior saves, the step's
 * chord) and all of ts / NDE_SAVE_T0 / NDE_SAVE_STEPS / NDE_SAVE_T1, step_ts and
 * jump_ts work, forwards and backwards in time.
 */
#ifndef NDE_ADJOINT_H
#define NDE_ADJOINT_H

#include "ode.h"
#include "sde.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { NDE_ADJOINT_CHECKPOINT = 0, NDE_ADJOINT_BACKSOLVE = 1, NDE_ADJOINT_REVERSIBLE = 2,
       NDE_ADJOINT_IMPLICIT = 3 };

/* checkpoints: keep the start of every step (fastest backward; memory grows with the
 * number of steps). */
#define NDE_CHECKPOINTS_ALL ((size_t)-1)
/* checkpoints == 0 means this many. */
#define NDE_CHECKPOINTS_DEFAULT 1024

typedef struct nde_adjoint_options {   /* NDE_ADJOINT_OPTIONS_INIT gives defaults; zeroed = defaults */
    int kind;              /* default NDE_ADJOINT_CHECKPOINT */
    size_t checkpoints;    /* states kept by the forward pass, >= 2 or NDE_CHECKPOINTS_ALL;
                              0: NDE_CHECKPOINTS_DEFAULT */
    double rtol, atol;     /* backsolve's own tolerances; 0: those of the forward solve */
    double reg_error;      /* weight of the local-error regulariser R_E added to the loss */
    double reg_stiffness;  /* weight of the stiffness regulariser R_S added to the loss */
    /* -- appended */
    size_t reg_steps;      /* local regularisation: only this many sampled steps; 0: all */
    uint64_t reg_seed;     /* seed of that sampling */
    const nde_allocator *allocator;   /* the tape's memory; NULL: malloc/free */
    char *errbuf; size_t errbuf_size; /* optional: the detailed message of a failure */
} nde_adjoint_options;

#define NDE_ADJOINT_OPTIONS_INIT { NDE_ADJOINT_CHECKPOINT, 0, 0.0, 0.0, 0.0, 0.0, 0, 0, NULL, NULL, 0 }

typedef struct nde_tape nde_tape;

/* A tape for taped solves and their backward passes; opts NULL: defaults; copied.
 * NULL on bad options (message in opts->errbuf) or out of memory.
 * alloc: create · thread: one tape per thread */
NDE_API nde_tape *nde_tape_create(const nde_adjoint_options *opts);

/* nde_ode_solve, recording what the backward pass needs. Returns what nde_ode_solve
 * returns (NDE_EVENT: a terminal or the steady-state event ended it), or
 * NDE_EUNSUPPORTED (a method the tape's adjoint kind does not differentiate, user events
 * with backsolve or reversible, the regularisers with backsolve or implicit) /
 * NDE_EINVAL (reg_error > 0 with a method without error estimate, or with rtol == atol
 * == 0; NDE_ADJOINT_IMPLICIT without opts->steady_state) before solving; NDE_ECALLBACK
 * (the event function failing while its gradient is taken). ode (its user data
 * included) must stay valid and unchanged until the backward pass. A tape holds one solve: a
 * new taped solve replaces it. alloc: the forward solve's, plus the tape's records
 * (growing with the number of steps, capacity kept across solves) · thread: one tape
 * per thread */
NDE_API int  nde_ode_solve_taped(const nde_ode *ode, double t0, double t1, const double *y0,
                         const nde_options *opts, nde_tape *tape, nde_solution *sol);

/* The gradient of L + reg_error R_E + reg_stiffness R_S with respect to y0 and the
 * parameters, given dL_dy (sol->n x dim, the cotangents of the saved points of the
 * last taped solve; NULL: L = 0, only the regularisers). dL_dy0 (dim) and dL_dtheta
 * (ode->n_params) are overwritten; either may be NULL. May be called again on the same
 * tape (e.g. with other cotangents). Returns NDE_OK, NDE_EINVAL (no successful taped
 * solve, ode->vjp NULL, a non-finite cotangent; for NDE_ADJOINT_IMPLICIT also a solve
 * that did not end at a steady state, a nonzero cotangent before t*, a singular df/dy;
 * for a terminal event, a tangential crossing; outputs untouched), NDE_ECALLBACK (vjp, jac or f returned nonzero), NDE_ENONFINITE
 * (NDE_ADJOINT_IMPLICIT: df/dy not finite or numerically singular), NDE_ENOMEM, and for
 * NDE_ADJOINT_BACKSOLVE whatever its
 * backward solve returns (NDE_EMAXSTEPS, NDE_EDTMIN, NDE_ENONFINITE), with the message
 * in nde_tape_message. Backsolve's augmented solver is built on the first backward
 * pass and reused while the forward options (method, tolerances, dt0, max_steps,
 * step_ts, jump_ts) stay the same. ode->vjp(t, y, a, a_y, a_theta, user) must WRITE
 * (not accumulate) a^T df/dy into a_y (dim) and a^T df/dtheta into a_theta (n_params)
 * when they are not NULL. alloc: a workspace kept by the tape · thread: one tape per
 * thread */
NDE_API int  nde_ode_backward(nde_tape *tape, const double *dL_dy, double *dL_dy0, double *dL_dtheta);

/* nde_sde_solve, recording what nde_sde_backward needs (see "SDEs" above). Returns
 * what nde_sde_solve returns (its checks first: nothing is solved on bad input), or
 * NDE_EUNSUPPORTED before solving: NDE_ADJOINT_BACKSOLVE with a method that does not
 * solve general Stratonovich noise or with an Itô SDE, a regulariser weight > 0,
 * NDE_ADJOINT_REVERSIBLE with a method other than reversible_heun, reversible_heun with
 * NDE_ADJOINT_CHECKPOINT, events. sde (its user data included) and bm must stay valid
 * and unchanged until the backward pass. A tape holds one solve, ODE or SDE: a new
 * taped solve replaces it. alloc: the forward solve's, plus the tape's records · thread:
 * one tape per thread, one solve per tree at a time */
NDE_API int  nde_sde_solve_taped(const nde_sde *sde, double t0, double t1, const double *y0,
                                 nde_brownian *bm, const nde_options *opts, nde_tape *tape,
                                 nde_solution *sol);

/* The gradient of L with respect to y0 and theta for the last nde_sde_solve_taped:
 * dL_dy holds sol->n x dim cotangents of the saved points (NULL: L = 0); dL_dy0 (dim)
 * and dL_dtheta (n_params) are overwritten, either may be NULL. May be called again.
 * Returns NDE_OK; NDE_EINVAL (no successful taped SDE solve on the tape, e.g. an ODE
 * one; drift_vjp or diffusion_vjp NULL; a non-finite cotangent: outputs untouched);
 * NDE_ECALLBACK (a callback or the tree returned nonzero); NDE_ENOMEM; for
 * NDE_ADJOINT_BACKSOLVE whatever its backward solve returns. The VJPs must
 * WRITE (not accumulate) a_y (dim) and a_theta (n_params) when not NULL.
 * alloc: a workspace kept by the tape · thread: one tape per thread */
NDE_API int  nde_sde_backward(nde_tape *tape, const double *dL_dy, double *dL_dy0, double *dL_dtheta);

/* R_E and R_S of the last taped solve (either pointer may be NULL). NDE_OK or
 * NDE_EINVAL (no taped solve). alloc: none */
NDE_API int  nde_tape_regularisers(const nde_tape *tape, double *r_error, double *r_stiffness);

/* Work of the last taped solve and backward pass. */
typedef struct nde_adjoint_stats {
    size_t steps;          /* accepted steps taped */
    size_t checkpoints;    /* states kept at the end of the forward pass */
    size_t stride;         /* steps between kept states */
    size_t recomputed;     /* steps recomputed by the backward pass */
    size_t nvjp;           /* vjp calls of the backward pass */
    size_t nfe;            /* right-hand side calls of the backward pass */
    size_t bytes;          /* memory held by the tape (records and workspace) */
    /* -- appended */
    double reconstruction_error;   /* NDE_ADJOINT_REVERSIBLE: max_i |y0_i reconstructed by
                                      the backward pass - y0_i| (round-off drift); else 0 */
} nde_adjoint_stats;
NDE_API int  nde_tape_stats(const nde_tape *tape, nde_adjoint_stats *stats);   /* NDE_OK / NDE_EINVAL */

NDE_API const char *nde_tape_message(const nde_tape *tape);   /* last failure; "" if none */
NDE_API void nde_tape_free(nde_tape *tape);                   /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif /* NDE_ADJOINT_H */
