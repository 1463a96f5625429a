/* Known defects of issue 7 that other changes fix. Each flag set to 1 keeps a test
 * (tests/test_sizes.c) or a fuzz harness (tests/fuzz/) away from the one pattern
 * that still fails because of that defect, so that the rest runs green meanwhile.
 * After merging a fix, set its flag to 0 (or build with -DPENDING_DEFECT_N=0): the
 * guarded cases then run and must pass.
 *
 *   1  schedule.c interp: NaN or a non-strictly-monotone discrete table reads out of
 *      bounds / divides 0 by 0 (t_of_lambda(NaN), tiny betas, extreme Karras rho)
 *   2  schedule accessors dereference a NULL schedule
 *   3  nde_schedule_vp_discrete(_alphas_cumprod): n * sizeof without overflow check
 *   4  nde_gmm_predict with both outputs NULL, dim > 64, n >= 2 writes through NULL
 *   5  nde_ode_solve: workspace 4 n_events + n_ts + ... added without overflow check
 *   6  nde_gmm_denoiser with an unknown prediction kind writes `out`, then EINVAL
 *   7  nde_diffusion_plan for dpm2_ancestral / dpmpp_2s_ancestral is linear in steps
 *   8  |t1 - t0| >~ 1e154: the automatic initial step overflows (EDTMIN / EMAXSTEPS)
 *   9  rtol = atol <~ 1e-200: the squared error overflows, reported as ENONFINITE
 *  10  mixture functions accept alpha = sigma = 0, alpha = Inf, t_from = Inf, and the
 *      EDM denoiser with a huge c_noise returns NaN, all with NDE_OK
 *  11  sampler validation passes inputs that fail later (extreme rho, h_init 1e300,
 *      t_end = t_start - 1 ULP)
 *
 * Findings of the fuzzers beyond issue 7 (tests/fuzz/findings/, one reproducer each):
 *  F1  nde_ode_solve returns NDE_OK / NDE_EVENT while values taken from a step's
 *      interpolant (nde_solution_eval, ts inside a step, event states) are NaN: the
 *      interpolant uses f(t1, y1) of an accepted step unchecked, and h f or
 *      3 (y1 - y0) may overflow (findings/ode_solve-dense-nan, -event-state-nan,
 *      -event-state-overflow)
 *  F2  nde_ode_solve with NDE_SAVE_STEPS: a ts within 100 ULP of a jump_ts is saved at
 *      its own time before the step end one ULP before the jump: sol->t goes back by
 *      1 ULP (findings/ode_solve-steps-ts-jump-order)
 *  F3  nde_ode_solve hangs: constant steps (rtol 0, dt0) after a jump_ts find their
 *      place on the dt0 grid by counting up one grid point at a time, |jump - t0|/dt0
 *      iterations not bounded by max_steps; a jump is reached in one step when the
 *      100-ULP time window of a large |t1| covers it (t0 2, t1 1e300, dt0 1e-10, jump
 *      3.5e8: ~1e18 iterations) (findings/ode_solve-jump-grid-hang)
 *  F4  nde_schedule_t_of_lambda on vp_linear with betas outside about [1e-150,
 *      1e150]: b0*b0 + 2 db L overflows or underflows, so t_of_lambda(lambda(1e-3))
 *      is 0 for beta_min = beta_max = 1e200 and 2e117 for (5e-324, 1e-200)
 *      (findings/schedule-vp_linear-inverse-overflow, -underflow)
 *  F5  nde_diffusion_timesteps returns NDE_OK with repeated times (zero-length steps):
 *      a logSNR grid on a discrete table whose first beta is tiny (6e-74: lambda(t_end)
 *      = 84) maps most lambdas to t_end = 1/N; like defect 11, validation should
 *      refuse such a grid (findings/sampler-logsnr-grid-repeats)
 */
#ifndef NDE_TESTS_PENDING_DEFECTS_H
#define NDE_TESTS_PENDING_DEFECTS_H

#ifndef PENDING_DEFECT_1
#define PENDING_DEFECT_1 0
#endif
#ifndef PENDING_DEFECT_2
#define PENDING_DEFECT_2 0
#endif
#ifndef PENDING_DEFECT_3
#define PENDING_DEFECT_3 0
#endif
#ifndef PENDING_DEFECT_4
#define PENDING_DEFECT_4 0
#endif
#ifndef PENDING_DEFECT_5
#define PENDING_DEFECT_5 0
#endif
#ifndef PENDING_DEFECT_6
#define PENDING_DEFECT_6 0
#endif
#ifndef PENDING_DEFECT_7
#define PENDING_DEFECT_7 0
#endif
#ifndef PENDING_DEFECT_8
#define PENDING_DEFECT_8 0
#endif
#ifndef PENDING_DEFECT_9
#define PENDING_DEFECT_9 0
#endif
#ifndef PENDING_DEFECT_10
#define PENDING_DEFECT_10 0
#endif
#ifndef PENDING_DEFECT_11
#define PENDING_DEFECT_11 0
#endif

#ifndef PENDING_FINDING_F1
#define PENDING_FINDING_F1 0
#endif
#ifndef PENDING_FINDING_F2
#define PENDING_FINDING_F2 0
#endif
#ifndef PENDING_FINDING_F3
#define PENDING_FINDING_F3 0
#endif
#ifndef PENDING_FINDING_F4
#define PENDING_FINDING_F4 0
#endif
#ifndef PENDING_FINDING_F5
#define PENDING_FINDING_F5 0
#endif

#endif
