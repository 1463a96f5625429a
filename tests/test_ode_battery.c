/* Conformance battery over every registered ODE method (nde_method_at): a new method
 * is tested the day it is registered. Oracles are closed forms or measured orders:
 *
 *   order      measured convergence order on y' = Ay (10x10, A = 0.5 N(0,1), fixed seed)
 *              against expm, constant steps, vs nde_method_order (Diffrax test_ode_order)
 *   dense      off-grid dense error with constant (y' = -y, oscillator) and adaptive
 *              steps; measured local order of the interpolant (circular Kepler orbit,
 *              the zoo's kepler_circular)
 *   events     root location, directions (forwards and backwards), non-terminal hits,
 *              bouncing ball, events with saving, roots on step ends
 *   reverse    backward solves mirror forward ones (Diffrax test_reverse_time)
 *   saving     ts / t0 / t1 / steps semantics, many ts, step_ts, step-to, jump_ts,
 *              constant-step grids, the step observer and dtmax
 *   scales     the same problem on a 1e-10 time scale; automatic initial step
 *
 * Methods without an error estimate (nde_method_embedded_order == 0) run with constant
 * steps wherever the others run adaptively. Every failure names the method; measured
 * numbers (orders, dense errors, step counts) are printed for the record. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo.h"

#define PI 3.14159265358979323846

/* ---- helpers ---------------------------------------------------------------------- */

#define CHECK_M(c, ...) do { if (!(c)) test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
/* |a - b| <= tol, naming the method and what was compared. */
#define CHECK_CLOSE(mname, what, a, b, tol) do { double a_ = (a), b_ = (b), t_ = (tol);        \
    if (!(fabs(a_ - b_) <= t_))                                                                  \
        test_fail(__FILE__, __LINE__, "[%s] %s: |%.17g - %.17g| = %.3g > %.3g",                  \
                  (mname), (what), a_, b_, fabs(a_ - b_), t_); } while (0)
/* Solve and fail (naming the method) unless the return code is `expect`. */
#define SOLVE_EXPECT(expect, mname, what, ode, t0, t1, y0, o, sol) do {                        \
    int rc_ = nde_ode_solve((ode), (t0), (t1), (y0), (o), (sol));                               \
    if (rc_ != (expect))                                                                         \
        test_fail(__FILE__, __LINE__, "[%s] %s: solve returned %d (%s), expected %d: %s",        \
                  (mname), (what), rc_, nde_status_str(rc_), (expect),                          \
                  nde_solution_message(sol)); } while (0)
#define SOLVE_OK(mname, what, ode, t0, t1, y0, o, sol) \
    SOLVE_EXPECT(NDE_OK, mname, what, ode, t0, t1, y0, o, sol)

static int adaptive(const nde_method *m) { return nde_method_embedded_order(m) > 0; }
/* Reversible Heun's stability region is the segment [-i, i] of the imaginary axis:
 * on y' = -y over [0, 10] (or y' = -1e6 y) its parasitic mode grows like
 * e^{|lambda| t} and adaptive steps shrink without bound. The tests of step control
 * on decaying problems skip it; order, dense output, saving and reverse time run. */
static int dissipation_stable(const nde_method *m) { return nde_method_kind(m) != NDE_METHOD_REVERSIBLE; }
/* The underdamped Langevin methods solve only nde_langevin problems (tests/test_langevin.c). */
/* Multistep methods (bdf) start from a single value at order 1 (and a constant-step
 * solve stays there), so constant steps from a cold start do not show nde_method_order;
 * tests/test_bdf.c measures each of their fixed orders from a seeded history. */
static int one_step(const nde_method *m) { return nde_method_kind(m) != NDE_METHOD_MULTISTEP; }
/* The fixed accuracy bounds of the tests that call this assume a global error near the
 * tolerance, which two implicit methods do not give: implicit_euler (order 1: global
 * error 1e2-1e4 x its tolerance here; its Newton iteration also fails at h = 0.8 on
 * Kepler) and kencarp5 (its embedded solution is of order 5 on linear problems, so its
 * estimate there is ~10x below the true error: node errors of 2e-5 at tol 1e-7 on the
 * oscillator). tests/test_dirk.c tests both against bounds of their own. */
static int tolerance_accurate(const nde_method *m)
{
    const char *n = nde_method_name(m);
    return strcmp(n, "implicit_euler") != 0 && strcmp(n, "kencarp5") != 0;
}
/* Order of the interpolant actually used: the method's own, or cubic Hermite (3). */
static int dense_q(const nde_method *m)
{
    int q = nde_method_dense_order(m);
    return q > 0 ? q : 3;
}
static int imin(int a, int b) { return a < b ? a : b; }

/* Options for method m: adaptive with rtol = atol = tol, or (no error estimate) constant
 * steps of dt, which carries the sign of t1 - t0 (the engine rejects a dt0 pointing away
 * from t1 with NDE_EINVAL). */
static nde_options opts_for(const nde_method *m, double tol, double dt)
{
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    if (adaptive(m)) { o.rtol = tol; o.atol = tol; }
    else { o.rtol = 0; o.dt0 = dt; }
    return o;
}

/* Least-squares slope of log(err) against log(h). */
/* How much more rounding error a method's family makes than explicit RK, for the
 * checks that are exact up to rounding: Rosenbrock methods solve with E = I/(h gamma)
 * - J, whose rounding differs with the scale of h and J, and combine stages with
 * coefficients up to ~100 (Rodas5P's C and H): measured 34 ULP where explicit RK
 * makes 1-2, and 4.3e-12 between time scales where the bound is 1e-12. seulex solves
 * with M/h_j - J too and extrapolates with weights whose magnitudes sum to ~28 (lines
 * 1..4): its order-4 error falls cleanly to 1.2e-12 at 4096 steps, then levels off at
 * 5e-14 .. 1.4e-13 (up to 32768 steps). */
static double rounding_factor(const nde_method *m)
{
    return nde_method_kind(m) == NDE_METHOD_ROSENBROCK || strcmp(nde_method_name(m), "seulex") == 0 ? 16.0 : 1.0;
}

/* Order on linear constant-coefficient problems: the method's order, except where its
 * stability function matches e^z beyond it. Rodas5P's does to O(z^7) (its tall-tree
 * condition of order 6 holds: tests/test_rosenbrock.c), so it measures 6 here. */
static int linear_order(const nde_method *m)
{
    return strcmp(nde_method_name(m), "rodas5p") == 0 ? 6 : nde_method_order(m);
}

static double fit_slope(const double *h, const double *err, int n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double x = log(h[i]), y = log(err[i]);
        sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* Slope over the asymptotic range: of the points (coarse to fine) before the error
 * first falls to `floor` (below it roundoff dominates; accumulated over many steps it can
 * rise above the floor again at the finest grids: gbs, 21 evaluations per step, and the
 * Rosenbrock methods), the
 * finest `k`: indices [*first, *last]. Returns NAN if fewer than 3 points qualify. */
static double asymptotic_slope(const double *h, const double *err, int n, double floor,
                               int k, int *first, int *last)
{
    *last = -1;
    for (int i = 0; i < n && err[i] > floor; i++) *last = i;
    *first = *last - k + 1;
    if (*first < 0) *first = 0;
    if (*last - *first + 1 < 3) return NAN;
    return fit_slope(h + *first, err + *first, *last - *first + 1);
}

/* Deterministic normal variates: splitmix64 + Box-Muller. */
static uint64_t rng_state = 0x5eed5eedULL;
static double rng_uniform(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-53;
}
static double rng_normal(void)
{
    double u1 = rng_uniform(), u2 = rng_uniform();
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

/* ---- linear problem y' = Ay and its exact solution ---------------------------------- */

#define LIN_N 10
typedef struct { double A[LIN_N * LIN_N]; } linear_problem;

/* Its Jacobian A: Rosenbrock methods are of their order only with the exact Jacobian
 * (a difference Jacobian's O(sqrt(eps)) error puts an O(h sqrt(eps)) term in the global
 * error that shows below ~1e-11); explicit methods ignore it. */
static int jac_linear(double t, const double *y, double *J, void *u)
{
    (void)t; (void)y;
    const linear_problem *p = u;
    memcpy(J, p->A, sizeof p->A);
    return 0;
}

static int rhs_linear(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const linear_problem *p = u;
    for (int i = 0; i < LIN_N; i++) {
        double s = 0;
        for (int j = 0; j < LIN_N; j++) s += p->A[i * LIN_N + j] * y[j];
        dy[i] = s;
    }
    return 0;
}

/* E = expm(M) for an n x n matrix (n <= LIN_N), in long double: scale by 2^-s until
 * ||M||_1 <= 1/2, sum 30 Taylor terms (truncation below 2^-31 / 31!), square s times. */
static void expm_ld(int n, const double *M, long double *E)
{
    long double S[LIN_N * LIN_N], T[LIN_N * LIN_N], P[LIN_N * LIN_N];
    long double norm = 0;
    for (int j = 0; j < n; j++) {
        long double c = 0;
        for (int i = 0; i < n; i++) c += fabsl((long double)M[i * n + j]);
        if (c > norm) norm = c;
    }
    int s = 0;
    while (norm > 0.5L) { norm /= 2; s++; }
    long double scale = ldexpl(1.0L, -s);
    for (int i = 0; i < n * n; i++) { S[i] = M[i] * scale; E[i] = 0; T[i] = 0; }
    for (int i = 0; i < n; i++) { E[i * n + i] = 1; T[i * n + i] = 1; }
    for (int k = 1; k <= 30; k++) {          /* T = T * S / k; E += T */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                long double acc = 0;
                for (int l = 0; l < n; l++) acc += T[i * n + l] * S[l * n + j];
                P[i * n + j] = acc / k;
            }
        for (int i = 0; i < n * n; i++) { T[i] = P[i]; E[i] += T[i]; }
    }
    for (int r = 0; r < s; r++) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                long double acc = 0;
                for (int l = 0; l < n; l++) acc += E[i * n + l] * E[l * n + j];
                P[i * n + j] = acc;
            }
        for (int i = 0; i < n * n; i++) E[i] = P[i];
    }
}

/* expm check: expm(M) expm(-M) = I, and a diagonalizable 2x2 rotation in closed form. */
static void test_expm_oracle(void)
{
    double R[4] = { 0, 1.3, -1.3, 0 };
    long double E[4];
    expm_ld(2, R, E);
    CHECK_NEAR((double)E[0], cos(1.3), 1e-15);
    CHECK_NEAR((double)E[1], sin(1.3), 1e-15);
    CHECK_NEAR((double)E[2], -sin(1.3), 1e-15);
    double M[LIN_N * LIN_N], Mn[LIN_N * LIN_N];
    long double E1[LIN_N * LIN_N], E2[LIN_N * LIN_N];
    rng_state = 7;
    for (int i = 0; i < LIN_N * LIN_N; i++) { M[i] = 2.0 * rng_normal(); Mn[i] = -M[i]; }
    expm_ld(LIN_N, M, E1);
    expm_ld(LIN_N, Mn, E2);
    double worst = 0;
    for (int i = 0; i < LIN_N; i++)
        for (int j = 0; j < LIN_N; j++) {
            long double acc = 0;
            for (int l = 0; l < LIN_N; l++) acc += E1[i * LIN_N + l] * E2[l * LIN_N + j];
            double d = fabs((double)(acc - (i == j)));
            if (d > worst) worst = d;
        }
    CHECK_MSG(worst < 1e-12, "expm(M) expm(-M) - I = %.3g", worst);
}

/* ---- 1. convergence order ------------------------------------------------------------ */

#define ORDER_T1 4.0
#define ORDER_SLACK 0.3      /* measured slope must lie within +-0.3 of the nominal order */
/* Relative errors below this are roundoff-dominated: on this problem dopri5 and dopri8
 * stay on their asymptotic lines down to 5e-14, and the engine's roundoff floor is
 * ~5e-15 (h applied after the stage sums; vern6's noisiest fine-grid point is 3.6e-14),
 * so 4.5e-14 keeps a margin. Fitting close to the floor matters for methods with tuned
 * (tiny) principal error coefficients, whose next degree's term stays visible down to
 * errors of ~1e-11 (tsit5) and ~1e-13 (vern6, vern8: Verner's "most efficient" pairs). */
#define ORDER_ERR_FLOOR 4.5e-14
#define ORDER_FIT_POINTS 3   /* fit over the finest 3 points above the floor (dt / 2): the
                                asymptotic range of vern8 above the floor is that short */
#define ORDER_MAX_STEPS 32768 /* finest grid: dt = 4 / 32768 (euler needs it) */

static void test_convergence_order(void)
{
    linear_problem lp;
    double y0[LIN_N], yex[LIN_N];
    rng_state = 0x0de0de0dULL;                     /* fixed seed */
    for (int i = 0; i < LIN_N * LIN_N; i++) lp.A[i] = 0.5 * rng_normal();
    for (int i = 0; i < LIN_N; i++) y0[i] = rng_normal();
    double M[LIN_N * LIN_N];
    long double E[LIN_N * LIN_N];
    for (int i = 0; i < LIN_N * LIN_N; i++) M[i] = ORDER_T1 * lp.A[i];
    expm_ld(LIN_N, M, E);
    double ynorm = 0;
    for (int i = 0; i < LIN_N; i++) {
        long double s = 0;
        for (int j = 0; j < LIN_N; j++) s += E[i * LIN_N + j] * (long double)y0[j];
        yex[i] = (double)s;
        if (fabs(yex[i]) > ynorm) ynorm = fabs(yex[i]);
    }
    nde_ode ode = { .dim = LIN_N, .f = rhs_linear, .jac = jac_linear, .user = &lp };

    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!one_step(m)) continue;
        const char *name = nde_method_name(m);
        int p = linear_order(m);
        double h[64], err[64];
        int n = 0;
        /* N = 4 * 2^(j/2) steps (rounded), coarse to fine; stop below the floor. */
        for (int j = 0; n < 64; j++) {
            double N = floor(4.0 * pow(2.0, j / 2.0) + 0.5);
            if (N > ORDER_MAX_STEPS) break;
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 0; o.dt0 = ORDER_T1 / N; o.max_steps = ORDER_MAX_STEPS + 10;
            nde_solution sol;
            int rc = nde_ode_solve(&ode, 0.0, ORDER_T1, y0, &o, &sol);
            if (rc != NDE_OK) {
                test_fail(__FILE__, __LINE__, "[%s] order: N = %g: solve returned %d", name, N, rc);
                nde_solution_free(&sol);
                break;
            }
            if (sol.stats.accepted != (size_t)N)
                test_fail(__FILE__, __LINE__, "[%s] order: dt0 = 4/%g took %zu steps, expected %g",
                          name, N, sol.stats.accepted, N);
            double e = 0;
            for (int i = 0; i < LIN_N; i++) e = fmax(e, fabs(sol.y[i] - yex[i]));
            nde_solution_free(&sol);
            h[n] = ORDER_T1 / N; err[n] = e / ynorm; n++;
            if (e / ynorm < ORDER_ERR_FLOOR / 100) break;
        }
        int first, last;
        double slope = asymptotic_slope(h, err, n, ORDER_ERR_FLOOR * rounding_factor(m), ORDER_FIT_POINTS, &first, &last);
        if (last >= 0)
            printf("  %-10s order %d  measured %6.3f  (fit dt %.3g..%.3g, rel err %.2e..%.2e)\n",
                   name, p, slope, h[first], h[last], err[first], err[last]);
        CHECK_M(!isnan(slope), "[%s] order: fewer than 3 points above the floor", name);
        CHECK_M(fabs(slope - p) <= ORDER_SLACK,
                "[%s] measured order %.3f, nominal %d (tolerance %.1f)", name, slope, p, ORDER_SLACK);
    }
}

/* ---- 2. dense output ------------------------------------------------------------------ */

static int rhs_decay(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -y[0]; return 0; }
static int rhs_grow(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[0]; return 0; }
static int rhs_osc(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[1]; dy[1] = -y[0]; return 0; }

#define DENSE_DT 1e-3          /* Diffrax test_dense_interpolation: constant dt0 = 1e-3 */
#define DENSE_N_EVAL 10000     /* ... evaluated at 1e4 points */
#define DENSE_ROUNDOFF 1e-12   /* floor of the bound: 1e3 steps of roundoff */
#define NODE_TOL 1e-14         /* interpolant at a step end = the saved state (relative) */
#define DENSE_LOCAL_FLOOR 1e-12 /* local interpolation errors below this are roundoff (vern9
                                  levels off at 1e-13..4e-13: its interpolant has large
                                  coefficients) */
#define DENSE_LOCAL_SLACK 0.3  /* measured local order >= expected - 0.3 */

/* Bound on the dense error over [0, 1] with constant steps h for a problem whose
 * derivatives are bounded by 1 (y' = -y, the oscillator): global error of the nodes
 * (C h^p, C < 1 for every RK method here on [0, 1]) plus the interpolant's own local
 * error (h^(q+1), q = its order). */
static double dense_bound(const nde_method *m, double h)
{
    double b = pow(h, nde_method_order(m)) + pow(h, dense_q(m) + 1);
    return b > DENSE_ROUNDOFF ? b : DENSE_ROUNDOFF;
}

static void dense_global_case(const nde_method *m, const char *what, const nde_ode *ode,
                              const double *y0, void (*exact)(double, double *), double *worst)
{
    const char *name = nde_method_name(m);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 0; o.dt0 = DENSE_DT;
    o.save = NDE_SAVE_DENSE | NDE_SAVE_STEPS;
    nde_solution sol;
    SOLVE_OK(name, what, ode, 0.0, 1.0, y0, &o, &sol);
    if (sol.status == NDE_OK) {
        double y[2], ye[2], w = 0, bound = dense_bound(m, DENSE_DT);
        for (int k = 1; k < DENSE_N_EVAL; k++) {
            double t = (k + 0.37) / (DENSE_N_EVAL + 1);   /* off-grid */
            int rc = nde_solution_eval(&sol, t, y);
            if (rc != NDE_OK) {
                test_fail(__FILE__, __LINE__, "[%s] %s: eval(%g) returned %d", name, what, t, rc);
                break;
            }
            exact(t, ye);
            for (size_t i = 0; i < ode->dim; i++) w = fmax(w, fabs(y[i] - ye[i]));
        }
        CHECK_M(w <= bound, "[%s] %s: dense error %.3g > bound %.3g (p = %d, q = %d, h = %g)",
                name, what, w, bound, nde_method_order(m), dense_q(m), DENSE_DT);
        if (w > *worst) *worst = w;
        /* at the step ends the interpolant reproduces the saved states */
        double wn = 0;
        for (size_t k = 0; k < sol.n; k++) {
            if (nde_solution_eval(&sol, sol.t[k], y) != NDE_OK) { wn = INFINITY; break; }
            for (size_t i = 0; i < ode->dim; i++)
                wn = fmax(wn, fabs(y[i] - sol.y[k * ode->dim + i]) / (1 + fabs(y[i])));
        }
        CHECK_M(wn <= NODE_TOL, "[%s] %s: interpolant at step ends differs from the saved "
                "states by %.3g", name, what, wn);
        /* t0 itself */
        if (nde_solution_eval(&sol, 0.0, y) == NDE_OK)
            CHECK_CLOSE(name, "dense at t0", y[0], y0[0], 1e-15);
        else
            test_fail(__FILE__, __LINE__, "[%s] %s: eval(t0) failed", name, what);
        CHECK_M(nde_solution_eval(&sol, 1.5, y) == NDE_EINVAL,
                "[%s] %s: eval outside [t0, t1] must be NDE_EINVAL", name, what);
    }
    nde_solution_free(&sol);
}

static void exact_decay13(double t, double *y) { y[0] = 1.3 * exp(-t); }
static void exact_osc(double t, double *y) { y[0] = cos(t); y[1] = -sin(t); }

static void test_dense_output_error(void)
{
    nde_ode dec = { .dim = 1, .f = rhs_decay }, osc = { .dim = 2, .f = rhs_osc };
    double y0d[1] = { 1.3 }, y0o[2] = { 1.0, 0.0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!one_step(m)) continue;
        double worst = 0;
        dense_global_case(m, "dense y'=-y", &dec, y0d, exact_decay13, &worst);
        dense_global_case(m, "dense oscillator", &osc, y0o, exact_osc, &worst);
        printf("  %-10s p %d q %d  dense error (dt %g) %.2e  bound %.2e\n", nde_method_name(m),
               nde_method_order(m), dense_q(m), DENSE_DT, worst, dense_bound(m, DENSE_DT));
    }
}

/* Adaptive steps: off-grid dense values on the oscillator over [0, 10] are as good as the
 * step ends, up to the interpolant's own local error. */
#define DENSE_ADAPTIVE_TOL 1e-7    /* rtol = atol */
#define DENSE_ADAPTIVE_RATIO 5.0   /* off-grid error <= 5 x node error (dopri8 measures 2.2) */
/* An interpolant of lower order than the solution (radau5: the collocation cubic, q = 3,
 * beside order 5) has its own local error h^(q+1) above the nodes' error: radau5
 * measures 6.3x. */
#define DENSE_ADAPTIVE_RATIO_LOW_Q 20.0

static void test_dense_output_adaptive(void)
{
    nde_ode ode = { .dim = 2, .f = rhs_osc };
    double y0[2] = { 1.0, 0.0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        if (!adaptive(m)) continue;
        nde_options o = opts_for(m, DENSE_ADAPTIVE_TOL, 0);
        o.save = NDE_SAVE_DENSE | NDE_SAVE_STEPS;
        nde_solution sol;
        SOLVE_OK(name, "adaptive dense", &ode, 0.0, 10.0, y0, &o, &sol);
        if (sol.status == NDE_OK) {
            double en = 0, eo = 0, y[2];
            for (size_t k = 0; k < sol.n; k++)
                en = fmax(en, fmax(fabs(sol.y[2 * k] - cos(sol.t[k])),
                                   fabs(sol.y[2 * k + 1] + sin(sol.t[k]))));
            for (int k = 0; k <= DENSE_N_EVAL; k++) {
                double t = 10.0 * k / DENSE_N_EVAL;
                if (nde_solution_eval(&sol, t, y) != NDE_OK) { eo = INFINITY; break; }
                eo = fmax(eo, fmax(fabs(y[0] - cos(t)), fabs(y[1] + sin(t))));
            }
            printf("  %-10s adaptive dense (tol %g, %zu steps): node error %.2e, off-grid %.2e\n",
                   name, DENSE_ADAPTIVE_TOL, sol.stats.accepted, en, eo);
            double ratio = dense_q(m) + 1 < nde_method_order(m) ? DENSE_ADAPTIVE_RATIO_LOW_Q : DENSE_ADAPTIVE_RATIO;
            CHECK_M(eo <= ratio * en + DENSE_ROUNDOFF,
                    "[%s] adaptive dense: off-grid error %.3g > %g x node error %.3g", name, eo, ratio, en);
        }
        nde_solution_free(&sol);
    }
}

/* Local order of the interpolant: one step of size h from the exact state of the
 * circular Kepler orbit y = (cos t, sin t, -sin t, cos t) (nonlinear, so that neither
 * linear-problem superconvergence nor vanishing elementary differentials can hide a
 * defect), max error over 19 interior points. The step's own error is O(h^(p+1)) and
 * the interpolant's O(h^(q+1)), so the slope is min(p, q) + 1. */
static void test_dense_local_order(void)
{
    const zoo_problem *kc = zoo_find("kepler_circular");
    CHECK(kc != NULL);
    if (!kc) return;
    nde_ode ode = { .dim = 4, .f = kc->f, .user = kc->user };
    double y0[4] = { 1.0, 0.0, 0.0, 1.0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!one_step(m)) continue;
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        int expect = imin(nde_method_order(m), dense_q(m)) + 1;
        double h[40], err[40];
        int n = 0;
        for (int j = 0; j < 40; j++) {
            double hj = 0.8 * pow(2.0, -j / 2.0);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 0; o.dt0 = hj; o.save = NDE_SAVE_DENSE;
            nde_solution sol;
            SOLVE_OK(name, "dense local order", &ode, 0.0, hj, y0, &o, &sol);
            if (sol.status != NDE_OK) { nde_solution_free(&sol); break; }
            CHECK_M(sol.stats.accepted == 1, "[%s] dense local: h = %g took %zu steps", name, hj,
                    sol.stats.accepted);
            double e = 0, y[4];
            for (int k = 1; k < 20; k++) {
                double t = hj * k / 20.0;
                if (nde_solution_eval(&sol, t, y) != NDE_OK) { e = INFINITY; break; }
                double ye[4] = { cos(t), sin(t), -sin(t), cos(t) };
                for (int i = 0; i < 4; i++) e = fmax(e, fabs(y[i] - ye[i]));
            }
            nde_solution_free(&sol);
            h[n] = hj; err[n] = e; n++;
            if (e < DENSE_LOCAL_FLOOR / 100) break;
        }
        int first, last;
        double slope = asymptotic_slope(h, err, n, DENSE_LOCAL_FLOOR, ORDER_FIT_POINTS, &first, &last);
        if (last >= 0)
            printf("  %-10s p %d q %d  local interpolation error slope %.3f (expected min(p,q)+1 "
                   "= %d; h %.3g..%.3g, err %.2e..%.2e)\n", name, nde_method_order(m), dense_q(m),
                   slope, expect, h[first], h[last], err[first], err[last]);
        CHECK_M(!isnan(slope), "[%s] dense local order: fewer than 3 points", name);
        CHECK_M(slope >= expect - DENSE_LOCAL_SLACK,
                "[%s] local interpolation error slope %.3f < min(p, q) + 1 = %d", name, slope, expect);
    }
}

/* ---- 3. events ----------------------------------------------------------------------- */

/* t = 1 of y = e^t = e within 1e-8. The time error is the solve's global relative error
 * (dt = dy / y'), which at rtol = 1e-8 reaches 1.5e-8 (bosh3, dopri8): ask for 1e-10. */
#define EVENT_RTOL 1e-10
#define EVENT_T_TOL 1e-8
#define EVENT_CONST_DT 1e-4    /* methods without an estimate: constant steps ... */
#define EXACT_T_TOL 1e-12      /* events of problems every method integrates exactly */

/* Tolerance on an event time for a constant-step method: its global error C h^p with
 * C <= 10 on these problems over [0, 1]. */
static double const_event_tol(const nde_method *m)
{
    return 10.0 * pow(EVENT_CONST_DT, nde_method_order(m));
}

static int ev_y_minus_e(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0] - exp(1.0); return 0; }

static void test_event_exp(void)
{
    nde_ode ode = { .dim = 1, .f = rhs_grow };
    double y0 = 1.0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        nde_options o = opts_for(m, EVENT_RTOL, EVENT_CONST_DT);
        o.atol = adaptive(m) ? EVENT_RTOL * 1e-2 : o.atol;
        o.event = ev_y_minus_e; o.n_events = 1;
        nde_solution sol;
        SOLVE_EXPECT(NDE_EVENT, name, "event y = e", &ode, 0.0, 2.0, &y0, &o, &sol);
        if (sol.status == NDE_EVENT && sol.n >= 1) {
            double tol = adaptive(m) ? EVENT_T_TOL : const_event_tol(m);
            CHECK_CLOSE(name, "event time of y = e", sol.t[sol.n - 1], 1.0, tol);
            CHECK_M(sol.n_event_hits == 1, "[%s] event y = e: %zu hits", name, sol.n_event_hits);
            if (sol.n_event_hits == 1) {
                CHECK_M(sol.event_t[0] == sol.t[sol.n - 1] && sol.event_which[0] == 0 &&
                        sol.event_y[0] == sol.y[sol.n - 1],
                        "[%s] event record (t %.17g, which %d, y %.17g) differs from the last "
                        "saved point (t %.17g, y %.17g)", name, sol.event_t[0], sol.event_which[0],
                        sol.event_y[0], sol.t[sol.n - 1], sol.y[sol.n - 1]);
            }
            /* the returned state solves g = 0 (root found on the interpolant) */
            CHECK_CLOSE(name, "y at the event", sol.y[sol.n - 1], exp(1.0), 1e-12);
        }
        nde_solution_free(&sol);
    }
}

/* y = (t, t + 1): g0 = y0 - 5 (up at t = 5), g1 = -(y1 - 5) (down at t = 4). */
static int rhs_ones(double t, const double *y, double *dy, void *u)
{ (void)t; (void)y; (void)u; dy[0] = 1.0; dy[1] = 1.0; return 0; }
static int ev_up(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0] - 5.0; return 0; }
static int ev_down(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = -(y[1] - 5.0); return 0; }
static int ev_both(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0] - 5.0; g[1] = -(y[1] - 5.0); return 0; }

static void event_direction_case(const nde_method *m, const char *what, nde_event_fn ev,
                                 size_t n_ev, const int *dir, int expect_rc,
                                 double expect_t, int expect_which)
{
    const char *name = nde_method_name(m);
    nde_ode ode = { .dim = 2, .f = rhs_ones };
    double y0[2] = { 0.0, 1.0 };
    nde_options o = opts_for(m, 1e-6, 0.1);
    o.event = ev; o.n_events = n_ev; o.event_direction = dir;
    nde_solution sol;
    SOLVE_EXPECT(expect_rc, name, what, &ode, 0.0, 10.0, y0, &o, &sol);
    if (sol.status == expect_rc && sol.n >= 1) {
        CHECK_CLOSE(name, what, sol.t[sol.n - 1], expect_t, EXACT_T_TOL * 10);
        if (expect_rc == NDE_EVENT) {
            CHECK_M(sol.n_event_hits == 1 && sol.event_which[0] == expect_which,
                    "[%s] %s: %zu hits, first which = %d (expected 1 hit of %d)", name, what,
                    sol.n_event_hits, sol.n_event_hits ? sol.event_which[0] : -1, expect_which);
            CHECK_CLOSE(name, what, sol.y[(sol.n - 1) * 2], expect_t, EXACT_T_TOL * 10);
        } else {
            CHECK_M(sol.n_event_hits == 0, "[%s] %s: %zu unexpected hits", name, what,
                    sol.n_event_hits);
        }
    }
    nde_solution_free(&sol);
}

static void test_event_directions(void)
{
    static const int up[1] = { +1 }, down[1] = { -1 }, both[2] = { +1, -1 }, wrong[2] = { -1, +1 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        event_direction_case(m, "up-crossing of y0 - 5", ev_up, 1, up, NDE_EVENT, 5.0, 0);
        event_direction_case(m, "down-crossing of -(y1 - 5)", ev_down, 1, down, NDE_EVENT, 4.0, 0);
        event_direction_case(m, "either direction, y0 - 5", ev_up, 1, NULL, NDE_EVENT, 5.0, 0);
        event_direction_case(m, "two events, first wins", ev_both, 2, both, NDE_EVENT, 4.0, 1);
        event_direction_case(m, "wrong directions never fire", ev_both, 2, wrong, NDE_OK, 10.0, 0);
        /* backwards from t = 10, directions are along the integration: y0 - 5 decreases */
        const char *name = nde_method_name(m);
        nde_ode ode = { .dim = 2, .f = rhs_ones };
        double y10[2] = { 10.0, 11.0 };
        for (int d = -1; d <= 1; d++) {
            nde_options o = opts_for(m, 1e-6, -0.1);
            int dir = d;
            o.event = ev_up; o.n_events = 1; o.event_direction = &dir;
            nde_solution sol;
            int expect = d == 1 ? NDE_OK : NDE_EVENT;
            SOLVE_EXPECT(expect, name, "backward event direction", &ode, 10.0, 0.0, y10, &o, &sol);
            if (sol.status == expect && sol.n >= 1)
                CHECK_CLOSE(name, "backward event time", sol.t[sol.n - 1], d == 1 ? 0.0 : 5.0,
                            EXACT_T_TOL * 10);
            nde_solution_free(&sol);
        }
    }
}

/* y' = cos t from t = 0.5: y = sin t. g0 = y (zeros pi, 2pi, 3pi), g1 = t - 5. */
static int rhs_cos(double t, const double *y, double *dy, void *u)
{ (void)y; (void)u; dy[0] = cos(t); return 0; }
static int ev_sin_time(double t, const double *y, double *g, void *u)
{ (void)u; g[0] = y[0]; g[1] = t - 5.0; return 0; }

#define NONTERM_RTOL 1e-8      /* event times (|y'| = 1 at the zeros) then within ~1e-7 */
#define NONTERM_T_TOL 1e-6

static void test_event_nonterminal(void)
{
    nde_ode ode = { .dim = 1, .f = rhs_cos };
    double y0 = sin(0.5);
    static const int not_terminal[2] = { 0, 0 }, first_terminal[2] = { 1, 0 };
    static const int up_either[2] = { +1, 0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        double ttol = adaptive(m) ? NONTERM_T_TOL : 10.0 * const_event_tol(m);
        /* all non-terminal: pi, 5, 2pi, 3pi recorded, the solve reaches t1 */
        nde_options o = opts_for(m, NONTERM_RTOL, EVENT_CONST_DT);
        o.event = ev_sin_time; o.n_events = 2; o.event_terminal = not_terminal;
        o.save = NDE_SAVE_STEPS;
        nde_solution sol;
        SOLVE_OK(name, "non-terminal events", &ode, 0.5, 10.0, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            static const double et[4] = { PI, 5.0, 2 * PI, 3 * PI };
            static const int ew[4] = { 0, 1, 0, 0 };
            CHECK_M(sol.n_event_hits == 4, "[%s] non-terminal: %zu hits, expected 4", name,
                    sol.n_event_hits);
            for (size_t k = 0; k < sol.n_event_hits && k < 4; k++) {
                CHECK_CLOSE(name, "non-terminal event time", sol.event_t[k], et[k], ttol);
                CHECK_M(sol.event_which[k] == ew[k], "[%s] non-terminal hit %zu: which %d, "
                        "expected %d", name, k, sol.event_which[k], ew[k]);
            }
            CHECK_M(sol.n >= 1 && sol.t[sol.n - 1] == 10.0,
                    "[%s] non-terminal: solve ended at %.17g, not t1", name, sol.n ? sol.t[sol.n - 1] : NAN);
        }
        nde_solution_free(&sol);
        /* g0 terminal on up-crossings only (2pi), g1 non-terminal (5) */
        o.event_terminal = first_terminal; o.event_direction = up_either; o.save = 0;
        SOLVE_EXPECT(NDE_EVENT, name, "terminal after non-terminal", &ode, 0.5, 10.0, &y0, &o, &sol);
        if (sol.status == NDE_EVENT) {
            CHECK_M(sol.n_event_hits == 2 && sol.event_which[0] == 1 && sol.event_which[1] == 0,
                    "[%s] terminal after non-terminal: %zu hits (which %d, %d), expected 1 then 0",
                    name, sol.n_event_hits, sol.n_event_hits > 0 ? sol.event_which[0] : -1,
                    sol.n_event_hits > 1 ? sol.event_which[1] : -1);
            if (sol.n_event_hits == 2) {
                CHECK_CLOSE(name, "non-terminal time 5", sol.event_t[0], 5.0, ttol);
                CHECK_CLOSE(name, "terminal time 2pi", sol.event_t[1], 2 * PI, ttol);
            }
            CHECK_CLOSE(name, "solve ends at 2pi", sol.t[sol.n - 1], 2 * PI, ttol);
        }
        nde_solution_free(&sol);
    }
}

/* Bouncing ball x' = v, v' = -8, bouncing with restitution 0.8 from x0 = 1: impacts at
 * 0.5, 1.3, 1.94 (a quadratic: every method of order >= 2 and every interpolant of
 * order >= 2 is exact). At each impact the returned state is the interpolant's. */
static int rhs_ball(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[1]; dy[1] = -8.0; return 0; }
static int ev_ground(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0]; return 0; }

static void test_event_bouncing_ball(void)
{
    static const int down[1] = { -1 };
    static const double impacts[3] = { 0.5, 1.3, 1.94 };
    nde_ode ode = { .dim = 2, .f = rhs_ball };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const char *name = nde_method_name(m);
        int exact = nde_method_order(m) >= 2 && one_step(m);   /* bdf's first step is BDF1 */
        double t = 0.0, y[2] = { 1.0, 0.0 };
        for (int b = 0; b < 3; b++) {
            nde_options o = opts_for(m, 1e-8, 1e-3);
            o.event = ev_ground; o.n_events = 1; o.event_direction = down;
            o.save = NDE_SAVE_DENSE;
            nde_solution sol;
            SOLVE_EXPECT(NDE_EVENT, name, "bouncing ball", &ode, t, 10.0, y, &o, &sol);
            if (sol.status != NDE_EVENT || sol.n < 1) { nde_solution_free(&sol); break; }
            double te = sol.t[sol.n - 1], yi[2];
            const double *ye = sol.y + (sol.n - 1) * 2;
            if (nde_solution_eval(&sol, te, yi) == NDE_OK) {
                CHECK_M(fabs(yi[0] - ye[0]) <= 1e-15 && fabs(yi[1] - ye[1]) <= 1e-15 * fabs(ye[1]) + 1e-15,
                        "[%s] bounce %d: state at the event (%.17g, %.17g) is not the interpolant's "
                        "(%.17g, %.17g)", name, b, ye[0], ye[1], yi[0], yi[1]);
            } else {
                test_fail(__FILE__, __LINE__, "[%s] bounce %d: eval at the event time failed", name, b);
            }
            CHECK_M(fabs(ye[0]) <= 1e-12, "[%s] bounce %d: x = %.3g at the event", name, b, ye[0]);
            if (exact) CHECK_CLOSE(name, "impact time", te, impacts[b], 1e-10);
            t = te; y[0] = ye[0]; y[1] = -0.8 * ye[1];
            nde_solution_free(&sol);
        }
    }
}

/* Events and saving: the event state is the last saved point when t1 would be saved
 * (default, SAVE_T1, SAVE_STEPS); save times after the event are not saved; the dense
 * output ends at the event; g(t0) = 0 is no crossing; a root exactly at a step end
 * fires once. */
static int ev_t5(double t, const double *y, double *g, void *u)
{ (void)y; (void)u; g[0] = t - 5.0; return 0; }
static int ev_y_minus_1(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0] - 1.0; return 0; }

static void test_event_saving(void)
{
    nde_ode grow = { .dim = 1, .f = rhs_grow }, ones = { .dim = 2, .f = rhs_ones };
    double y0 = 1.0, z0[2] = { 0.0, 1.0 };
    static const double ts[2] = { 0.5, 1.5 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        double ttol = adaptive(m) ? 1e-6 : const_event_tol(m);
        nde_solution sol;
        /* every step + dense: the last saved step ends at the event */
        nde_options o = opts_for(m, 1e-8, EVENT_CONST_DT);
        o.event = ev_y_minus_e; o.n_events = 1; o.save = NDE_SAVE_STEPS | NDE_SAVE_DENSE;
        SOLVE_EXPECT(NDE_EVENT, name, "event + steps", &grow, 0.0, 2.0, &y0, &o, &sol);
        if (sol.status == NDE_EVENT && sol.n >= 1 && sol.n_event_hits == 1) {
            CHECK_M(sol.n == sol.stats.accepted && sol.t[sol.n - 1] == sol.event_t[0],
                    "[%s] event + steps: n = %zu, accepted = %zu, last t %.17g, event %.17g", name,
                    sol.n, sol.stats.accepted, sol.t[sol.n - 1], sol.event_t[0]);
            CHECK_CLOSE(name, "event + steps time", sol.event_t[0], 1.0, ttol);
            double y;
            CHECK_M(nde_solution_eval(&sol, 0.5 * (sol.event_t[0] + 2.0), &y) == NDE_EINVAL,
                    "[%s] dense output must end at the terminal event", name);
        } else {
            test_fail(__FILE__, __LINE__, "[%s] event + steps: status %d, %zu hits", name,
                      sol.status, sol.n_event_hits);
        }
        nde_solution_free(&sol);
        /* ts = [0.5, 1.5] with SAVE_T1: 0.5 then the event; without SAVE_T1 only 0.5 */
        o.save = NDE_SAVE_T1; o.ts = ts; o.n_ts = 2;
        SOLVE_EXPECT(NDE_EVENT, name, "event + ts + t1", &grow, 0.0, 2.0, &y0, &o, &sol);
        if (sol.status == NDE_EVENT) {
            CHECK_M(sol.n == 2 && sol.t[0] == 0.5 && sol.n_event_hits == 1 &&
                    sol.t[1] == sol.event_t[0] && sol.y[1] == sol.event_y[0],
                    "[%s] event + ts + SAVE_T1: n = %zu (expected 0.5 and the event)", name, sol.n);
        }
        nde_solution_free(&sol);
        o.save = 0;
        SOLVE_EXPECT(NDE_EVENT, name, "event + ts", &grow, 0.0, 2.0, &y0, &o, &sol);
        if (sol.status == NDE_EVENT)
            CHECK_M(sol.n >= 1 && sol.t[0] == 0.5 && (sol.n == 1 || sol.t[1] == sol.event_t[0]) &&
                    sol.n_event_hits == 1, "[%s] event + ts: n = %zu, t[0] = %.17g", name, sol.n,
                    sol.n ? sol.t[0] : NAN);
        nde_solution_free(&sol);
        /* g(t0) = 0 and moving away: no crossing */
        o = opts_for(m, 1e-6, EVENT_CONST_DT);
        o.event = ev_y_minus_1; o.n_events = 1;
        SOLVE_OK(name, "g(t0) = 0", &grow, 0.0, 0.5, &y0, &o, &sol);
        CHECK_M(sol.n_event_hits == 0, "[%s] g(t0) = 0 fired %zu times", name, sol.n_event_hits);
        nde_solution_free(&sol);
        /* a root exactly on a step end (constant steps of 0.5, g = t - 5) fires once */
        int nonterm = 0;
        o = opts_for(m, 1e-6, 0.5);
        o.rtol = 0; o.dt0 = 0.5;
        o.event = ev_t5; o.n_events = 1; o.event_terminal = &nonterm;
        SOLVE_OK(name, "root on a step end", &ones, 0.0, 10.0, z0, &o, &sol);
        CHECK_M(sol.n_event_hits == 1 && sol.event_t[0] == 5.0,
                "[%s] root on a step end: %zu hits, first at %.17g", name, sol.n_event_hits,
                sol.n_event_hits ? sol.event_t[0] : NAN);
        nde_solution_free(&sol);
        o.event_terminal = NULL;
        SOLVE_EXPECT(NDE_EVENT, name, "terminal root on a step end", &ones, 0.0, 10.0, z0, &o, &sol);
        /* y comes from the interpolant at theta = 1, which reproduces the step's y1 up to
         * rounding of its coefficients (measured 1-2 ULP for dopri5, tsit5, dopri8); y1
         * itself is 5 up to the rounding of sum_i b_i over 10 steps (vern8: 9 ULP) */
        nde_options oplain = opts_for(m, 1e-6, 0.5);
        oplain.rtol = 0; oplain.dt0 = 0.5;
        nde_solution plain;
        SOLVE_OK(name, "steps to 5", &ones, 0.0, 5.0, z0, &oplain, &plain);
        double y1_at5 = plain.status == NDE_OK ? plain.y[(plain.n - 1) * 2] : 5.0;
        nde_solution_free(&plain);
        CHECK_M(sol.n >= 1 && sol.t[sol.n - 1] == 5.0 &&
                fabs(sol.y[(sol.n - 1) * 2] - y1_at5) <= 4 * rounding_factor(m) * 0x1.0p-52 * 5.0 &&
                fabs(y1_at5 - 5.0) <= 1e-13 * rounding_factor(m),
                "[%s] terminal root on a step end: ended at t = %.17g with y = %.17g (the step "
                "ends exactly at 5 with y1 = %.17g)", name, sol.n ? sol.t[sol.n - 1] : NAN,
                sol.n ? sol.y[(sol.n - 1) * 2] : NAN, y1_at5);
        nde_solution_free(&sol);
    }
}

/* ---- 4. reverse time ----------------------------------------------------------------- */

#define MIRROR_TOL 1e-13       /* mirrored solves agree to rounding (relative) */

static void test_reverse_time(void)
{
    nde_ode back = { .dim = 1, .f = rhs_decay }, fwd = { .dim = 1, .f = rhs_grow };
    double y0 = 1.5;
    static const double tsb[4] = { 3.9, 2.5, 1.0, 0.3 }, tsf[4] = { -3.9, -2.5, -1.0, -0.3 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        for (int mode = 0; mode < 3; mode++) {
            static const char *const modes[3] = { "ts", "steps", "dense" };
            nde_options o = opts_for(m, 1e-8, -0.01);   /* constant steps: dt0 signed */
            nde_options of = opts_for(m, 1e-8, 0.01);
            if (mode == 0) { o.ts = tsb; of.ts = tsf; o.n_ts = of.n_ts = 4; }
            if (mode == 1) o.save = of.save = NDE_SAVE_STEPS | NDE_SAVE_T0;
            if (mode == 2) o.save = of.save = NDE_SAVE_DENSE;
            nde_solution sb, sf;
            SOLVE_OK(name, modes[mode], &back, 4.0, 0.3, &y0, &o, &sb);
            SOLVE_OK(name, modes[mode], &fwd, -4.0, -0.3, &y0, &of, &sf);
            if (sb.status == NDE_OK && sf.status == NDE_OK) {
                CHECK_M(sb.n == sf.n, "[%s] reverse %s: %zu vs %zu saved points", name, modes[mode],
                        sb.n, sf.n);
                double wt = 0, wy = 0;
                for (size_t k = 0; k < sb.n && k < sf.n; k++) {
                    wt = fmax(wt, fabs(sb.t[k] + sf.t[k]) / fabs(sb.t[k]));
                    wy = fmax(wy, fabs(sb.y[k] - sf.y[k]) / fabs(sb.y[k]));
                }
                CHECK_M(wt <= MIRROR_TOL && wy <= MIRROR_TOL, "[%s] reverse %s: times differ by "
                        "%.3g, states by %.3g (relative)", name, modes[mode], wt, wy);
                CHECK_M(sb.stats.steps == sf.stats.steps, "[%s] reverse %s: %zu vs %zu steps",
                        name, modes[mode], sb.stats.steps, sf.stats.steps);
                if (mode == 0)
                    for (size_t k = 0; k < sb.n && k < 4; k++)
                        CHECK_M(sb.t[k] == tsb[k], "[%s] reverse ts: t[%zu] = %.17g", name, k, sb.t[k]);
                if (mode == 1 && sb.n >= 1)
                    CHECK_M(sb.t[0] == 4.0 && sb.t[sb.n - 1] == 0.3,
                            "[%s] reverse steps: first %.17g last %.17g", name, sb.t[0], sb.t[sb.n - 1]);
                if (mode == 2) {
                    double w = 0;
                    for (int k = 0; k <= 100; k++) {
                        double t = 0.3 + 3.7 * k / 100.0, a, b;
                        if (nde_solution_eval(&sb, t, &a) != NDE_OK ||
                            nde_solution_eval(&sf, -t, &b) != NDE_OK) { w = INFINITY; break; }
                        w = fmax(w, fabs(a - b) / fabs(a));
                    }
                    CHECK_M(w <= MIRROR_TOL, "[%s] reverse dense: evaluations differ by %.3g", name, w);
                }
                /* closed form: y(0.3) = y0 e^(4 - 0.3) */
                double tol = adaptive(m) ? 1e-6 : 10 * pow(0.01, nde_method_order(m)) * 4;
                double yend = sb.y[sb.n - 1], yex = y0 * exp(4.0 - 0.3);
                if (mode != 0 || sb.n == 4)
                    CHECK_M(fabs(yend - yex) <= tol * yex, "[%s] backward solve: y(0.3) = %.17g, "
                            "exact %.17g (rel err %.3g > %.3g)", name, yend, yex,
                            fabs(yend - yex) / yex, tol);
            }
            nde_solution_free(&sb);
            nde_solution_free(&sf);
        }
    }
}

/* ---- 5. saving semantics, step_ts, jump_ts, constant steps -------------------------- */

static int rhs_half_decay(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -0.5 * y[0]; return 0; }

#define SAVE_RTOL 1e-8          /* Diffrax test_saveat_solution: PID(1e-8, 1e-8) */
#define SAVE_VALUE_TOL 1e-6     /* values at rtol 1e-8 (global error ~ 10 rtol, margin 10) */

/* y' = -0.5 y, y0 = 2.1 on [0.1, 1.1] (Diffrax test_saveat_solution). */
static void test_save_semantics(void)
{
    nde_ode ode = { .dim = 1, .f = rhs_half_decay };
    double y0 = 2.1;
#define YEX(t) (2.1 * exp(-0.5 * ((t) - 0.1)))
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        double vtol = adaptive(m) ? SAVE_VALUE_TOL : pow(1e-3, nde_method_order(m));
        nde_solution sol;
        nde_options o = opts_for(m, SAVE_RTOL, 1e-3);
        o.atol = adaptive(m) ? SAVE_RTOL : 0;

        /* default: t1 only */
        SOLVE_OK(name, "save t1", &ode, 0.1, 1.1, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            CHECK_M(sol.n == 1 && sol.t[0] == 1.1, "[%s] default save: n = %zu, t = %.17g",
                    name, sol.n, sol.t[0]);
            CHECK_CLOSE(name, "y(t1)", sol.y[0], YEX(1.1), vtol);
        }
        nde_solution_free(&sol);

        /* ts = [0.5, 0.8] */
        static const double ts[2] = { 0.5, 0.8 };
        o.ts = ts; o.n_ts = 2;
        SOLVE_OK(name, "save ts", &ode, 0.1, 1.1, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            CHECK_M(sol.n == 2 && sol.t[0] == 0.5 && sol.t[1] == 0.8,
                    "[%s] save ts: n = %zu, t = %.17g ...", name, sol.n, sol.t[0]);
            if (sol.n == 2) {
                CHECK_CLOSE(name, "y(0.5)", sol.y[0], 2.1 * exp(-0.2), vtol);
                CHECK_CLOSE(name, "y(0.8)", sol.y[1], 2.1 * exp(-0.35), vtol);
            }
        }
        nde_solution_free(&sol);

        /* ts with T0 and T1 */
        o.save = NDE_SAVE_T0 | NDE_SAVE_T1;
        SOLVE_OK(name, "save t0 + ts + t1", &ode, 0.1, 1.1, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            CHECK_M(sol.n == 4 && sol.t[0] == 0.1 && sol.t[1] == 0.5 && sol.t[2] == 0.8 &&
                    sol.t[3] == 1.1, "[%s] save t0+ts+t1: n = %zu", name, sol.n);
            if (sol.n == 4) {
                CHECK_M(sol.y[0] == 2.1, "[%s] saved y0 = %.17g", name, sol.y[0]);
                CHECK_CLOSE(name, "y(t1) with ts", sol.y[3], YEX(1.1), vtol);
            }
        }
        nde_solution_free(&sol);

        /* ts ending at t1 with NDE_SAVE_T1 does not duplicate t1; ts starting at t0 */
        static const double ts2[3] = { 0.1, 0.5, 1.1 };
        o.ts = ts2; o.n_ts = 3; o.save = NDE_SAVE_T1;
        SOLVE_OK(name, "ts = [t0, 0.5, t1]", &ode, 0.1, 1.1, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            CHECK_M(sol.n == 3 && sol.t[0] == 0.1 && sol.t[2] == 1.1,
                    "[%s] ts = [t0, 0.5, t1] + SAVE_T1: n = %zu", name, sol.n);
            if (sol.n >= 1) CHECK_M(sol.y[0] == 2.1, "[%s] y at ts[0] = t0: %.17g", name, sol.y[0]);
        }
        nde_solution_free(&sol);

        /* every step: strictly increasing ends of accepted steps, last = t1 */
        o.ts = NULL; o.n_ts = 0; o.save = NDE_SAVE_STEPS;
        SOLVE_OK(name, "save steps", &ode, 0.1, 1.1, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            CHECK_M(sol.n == sol.stats.accepted, "[%s] save steps: n = %zu, accepted = %zu",
                    name, sol.n, sol.stats.accepted);
            int mono = 1;
            double w = 0;
            for (size_t k = 0; k < sol.n; k++) {
                if (k && !(sol.t[k] > sol.t[k - 1])) mono = 0;
                w = fmax(w, fabs(sol.y[k] - YEX(sol.t[k])));
            }
            CHECK_M(mono && sol.n && sol.t[0] > 0.1 && sol.t[sol.n - 1] == 1.1,
                    "[%s] save steps: not strictly increasing from t0 to exactly t1", name);
            CHECK_M(w <= vtol, "[%s] save steps: worst error %.3g", name, w);
        }
        nde_solution_free(&sol);
        o.save = NDE_SAVE_STEPS | NDE_SAVE_T0;
        SOLVE_OK(name, "save steps + t0", &ode, 0.1, 1.1, &y0, &o, &sol);
        if (sol.status == NDE_OK)
            CHECK_M(sol.n == sol.stats.accepted + 1 && sol.t[0] == 0.1 && sol.y[0] == 2.1,
                    "[%s] save steps + t0: n = %zu, accepted = %zu", name, sol.n, sol.stats.accepted);
        nde_solution_free(&sol);
    }
#undef YEX
}

/* step_ts = [3, 4] appear among the step ends, forwards and backwards (Diffrax
 * test_adaptive_stepsize_controller). */
static void test_step_ts(void)
{
    nde_ode ode = { .dim = 1, .f = rhs_decay };
    double y0 = 1.0;
    static const double step_ts[2] = { 3.0, 4.0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const char *name = nde_method_name(m);
        if (!dissipation_stable(m)) continue;
        for (int dir = 0; dir < 2; dir++) {
            nde_options o = opts_for(m, 1e-6, dir ? -0.3 : 0.3);
            o.step_ts = step_ts; o.n_step_ts = 2; o.save = NDE_SAVE_STEPS;
            nde_solution sol;
            double t0 = dir ? 10.0 : 0.0, t1 = dir ? 0.0 : 10.0;
            SOLVE_OK(name, dir ? "step_ts backward" : "step_ts forward", &ode, t0, t1, &y0, &o, &sol);
            if (sol.status == NDE_OK) {
                int found3 = 0, found4 = 0;
                for (size_t k = 0; k < sol.n; k++) {
                    found3 |= sol.t[k] == 3.0;
                    found4 |= sol.t[k] == 4.0;
                }
                CHECK_M(found3 && found4, "[%s] step_ts %s: 3 %s, 4 %s among %zu step ends", name,
                        dir ? "backward" : "forward", found3 ? "found" : "missing",
                        found4 ? "found" : "missing", sol.n);
            }
            nde_solution_free(&sol);
        }
    }
}

/* Step exactly to the step_ts with rtol = 0 and dt0 = 0 (Diffrax test_step_to):
 * Euler on y' = -y over [0, 2] with 4 steps gives 1, 0.5, 0.25, 0.125, 0.0625. */
static void test_step_to(void)
{
    nde_ode ode = { .dim = 1, .f = rhs_decay };
    double y0 = 1.0;
    static const double grid[5] = { 0.0, 0.5, 1.0, 1.5, 2.0 }, rgrid[5] = { 2.0, 1.5, 1.0, 0.5, 0.0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const char *name = nde_method_name(m);
        for (int dir = 0; dir < 2; dir++) {
            const double *g = dir ? rgrid : grid;
            nde_options o = NDE_OPTIONS_INIT;
            o.method = m; o.rtol = 0; o.dt0 = 0;
            o.step_ts = g; o.n_step_ts = 5; o.save = NDE_SAVE_STEPS | NDE_SAVE_T0;
            nde_solution sol;
            SOLVE_OK(name, "step to step_ts", &ode, g[0], g[4], &y0, &o, &sol);
            if (sol.status == NDE_OK) {
                CHECK_M(sol.n == 5, "[%s] step to: n = %zu", name, sol.n);
                for (size_t k = 0; k < sol.n && k < 5; k++)
                    CHECK_M(sol.t[k] == g[k], "[%s] step to: t[%zu] = %.17g, expected %g", name, k,
                            sol.t[k], g[k]);
                if (strcmp(name, "euler") == 0 && sol.n == 5)
                    for (int k = 0; k < 5; k++) {
                        double e = dir ? pow(1.5, k) : pow(0.5, k);
                        CHECK_CLOSE(name, "euler step-to values", sol.y[k], e, 1e-15);
                    }
            }
            nde_solution_free(&sol);
        }
    }
}

/* Forced oscillator with a jump at 7.5 (Diffrax): declaring it in jump_ts saves steps. */
static int rhs_forced(double t, const double *y, double *dy, void *u)
{
    (void)u;
    double F = t < 7.5 ? 10.0 : -10.0;
    dy[0] = y[1];
    dy[1] = -4 * PI * PI * y[0] - 4 * PI * 0.05 * y[1] + F;
    return 0;
}

static void test_jump_ts(void)
{
    nde_ode ode = { .dim = 2, .f = rhs_forced };
    double y0[2] = { 1.5, 0.0 };
    static const double jump[1] = { 7.5 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const char *name = nde_method_name(m);
        if (!adaptive(m)) continue;
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 1e-4; o.atol = 1e-6;
        nde_solution a, b;
        SOLVE_OK(name, "forced oscillator", &ode, 0.0, 15.0, y0, &o, &a);
        o.jump_ts = jump; o.n_jump_ts = 1; o.save = NDE_SAVE_STEPS;
        SOLVE_OK(name, "forced oscillator + jump_ts", &ode, 0.0, 15.0, y0, &o, &b);
        if (a.status == NDE_OK && b.status == NDE_OK) {
            printf("  %-10s steps without jump_ts %zu (rejected %zu), with %zu (rejected %zu)\n",
                   name, a.stats.steps, a.stats.rejected, b.stats.steps, b.stats.rejected);
            /* order >= 3 saves steps; the order-2 pairs take ~8000 steps either way and
             * the default controller recovers from the jump within a step or two */
            if (nde_method_kind(m) == NDE_METHOD_IMPLICIT_RK)
                ;   /* not asserted: kvaerno4 and kvaerno5 (stages beyond the step, c > 1) take
                     * 8% and 15% more steps with the restart at the jump (701 vs 648, 206
                     * vs 179), the other implicit methods fewer */
            else if (nde_method_order(m) >= 3)
                CHECK_M(b.stats.steps < a.stats.steps, "[%s] jump_ts: %zu steps, without %zu", name,
                        b.stats.steps, a.stats.steps);
            else
                CHECK_M(b.stats.steps <= a.stats.steps + a.stats.steps / 1000,
                        "[%s] jump_ts: %zu steps, without %zu", name, b.stats.steps, a.stats.steps);
            /* a step ends just before the jump (within a few ULP) */
            int found = 0;
            for (size_t k = 0; k < b.n; k++)
                if (b.t[k] <= 7.5 && 7.5 - b.t[k] <= 8 * 7.5 * 0x1.0p-52) found = 1;
            CHECK_M(found, "[%s] jump_ts: no step ends at the jump 7.5", name);
        }
        nde_solution_free(&a);
        nde_solution_free(&b);
    }
}

/* Constant steps: step k ends at t0 + k dt0 (from k, not accumulated), the last step is
 * shortened to t1, a remainder within 100 ULP of t1 is absorbed. */
static void const_steps_case(const nde_method *m, double t0, double t1, double dt0,
                             size_t expect_n, const char *what)
{
    const char *name = nde_method_name(m);
    nde_ode ode = { .dim = 1, .f = rhs_decay };
    double y0 = 1.0;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m; o.rtol = 0; o.dt0 = dt0; o.save = NDE_SAVE_STEPS;
    nde_solution sol;
    SOLVE_OK(name, what, &ode, t0, t1, &y0, &o, &sol);
    if (sol.status == NDE_OK) {
        CHECK_M(sol.n == expect_n && sol.stats.accepted == expect_n && sol.stats.rejected == 0,
                "[%s] %s: %zu saved, %zu accepted, expected %zu", name, what, sol.n,
                sol.stats.accepted, expect_n);
        double sgn = t1 > t0 ? 1.0 : -1.0;
        for (size_t k = 0; k < sol.n; k++) {
            double want = k + 1 == expect_n ? t1 : t0 + (double)(k + 1) * (sgn * fabs(dt0));
            CHECK_M(sol.t[k] == want, "[%s] %s: step %zu ends at %.17g, expected %.17g", name,
                    what, k + 1, sol.t[k], want);
        }
    }
    nde_solution_free(&sol);
}

static void test_constant_steps(void)
{
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const_steps_case(m, 0.0, 1.0, 0.3, 4, "dt0 = 0.3 on [0, 1] (last step shortened)");
        const_steps_case(m, 0.1, 1.1, 0.1, 10, "dt0 = 0.1 on [0.1, 1.1] (remainder absorbed)");
        const_steps_case(m, 0.0, 1.0, 0.1, 10, "dt0 = 0.1 on [0, 1]");
        const_steps_case(m, 0.0, 1.0, 1.0 / 3.0, 3, "dt0 = 1/3 on [0, 1]");
        const_steps_case(m, 0.0, 0.9, 0.3, 3, "dt0 = 0.3 on [0, 0.9] (3 dt0 is 1 ULP short)");
        const_steps_case(m, 0.0, 0.7, 0.1, 7, "dt0 = 0.1 on [0, 0.7] (7 dt0 is 1 ULP long)");
        const_steps_case(m, 0.0, 1.0 + 1e-12, 0.1, 11, "dt0 = 0.1 on [0, 1 + 1e-12] (tiny last step)");
        const_steps_case(m, 1.0, 0.0, -0.3, 4, "dt0 = -0.3 on [1, 0] (backward)");
        const_steps_case(m, 1e-10, 3e-10, 0.3e-10, 7, "dt0 = 0.3e-10 on [1e-10, 3e-10]");
    }
}

/* ---- 6. time scales and the initial step --------------------------------------------- */

/* y' = -y on [0, 1] against z' = -1e10 z on [0, 1e-10] (Diffrax #632): same steps, same
 * values; also with an offset t0 = 1e-10. */
static int rhs_fast_decay(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -1e10 * y[0]; return 0; }
/* Exact Jacobians for the implicit families (a difference Jacobian rounds differently
 * at the two scales: 1e10 is not a power of 2); explicit methods ignore them. */
static int jac_decay(double t, const double *y, double *J, void *u)
{ (void)t; (void)y; (void)u; J[0] = -1.0; return 0; }
static int jac_fast_decay(double t, const double *y, double *J, void *u)
{ (void)t; (void)y; (void)u; J[0] = -1e10; return 0; }

#define SCALE_TOL 1e-12        /* relative: identical algorithm up to rounding of t */
/* Scaled error norms of the two runs' first steps that differ by more than this
 * (relative) are rounding noise, not the algorithm: the first step's error is far below
 * the tolerance (vern6: 6.5e-7 of it, vern8: 2e-9), and the stages' roundoff, amplified by
 * the large coefficients of Verner's tables, moves the estimate by 1% (vern6), 3% (vern9)
 * and 60% (vern8) between the two time scales (the other methods: below 1e-4). The next step sizes then differ by err^(-1/(q+1)), and
 * the values only by the solve's error: they are compared to SCALE_NOISE_TOL. */
#define SCALE_ERR_NOISE 1e-3
#define SCALE_NOISE_TOL 1e-6

typedef struct { int n; double err0; } first_err;
static int record_first_err(double t, double dt, double err, int accepted, void *u)
{
    (void)t; (void)dt; (void)accepted;
    first_err *fe = u;
    if (fe->n++ == 0) fe->err0 = err;
    return 0;
}

static void test_tiny_time_scale(void)
{
    nde_ode slow = { .dim = 1, .f = rhs_decay, .jac = jac_decay },
            fast = { .dim = 1, .f = rhs_fast_decay, .jac = jac_fast_decay };
    double y0 = 1.0;
    static const double ts[3] = { 0.25, 0.5, 0.75 }, tsf[3] = { 0.25e-10, 0.5e-10, 0.75e-10 };
    static const double tso[3] = { 1.25e-10, 1.5e-10, 1.75e-10 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        for (int off = 0; off < 2; off++) {
            nde_options o = opts_for(m, 1e-6, 1e-2), of = o;
            of.dt0 = o.dt0 * 1e-10;
            o.ts = ts; o.n_ts = 3; of.ts = off ? tso : tsf; of.n_ts = 3;
            o.save = of.save = NDE_SAVE_T1;
            double ft0 = off ? 1e-10 : 0.0, ft1 = ft0 + 1e-10;
            first_err fa = { 0, 0.0 }, fb = { 0, 0.0 };
            o.on_step = record_first_err; o.on_step_user = &fa;
            of.on_step = record_first_err; of.on_step_user = &fb;
            nde_solution a, b;
            SOLVE_OK(name, "time scale 1", &slow, 0.0, 1.0, &y0, &o, &a);
            SOLVE_OK(name, off ? "time scale 1e-10, offset" : "time scale 1e-10", &fast, ft0, ft1,
                     &y0, &of, &b);
            if (a.status == NDE_OK && b.status == NDE_OK) {
                CHECK_M(a.n == 4 && b.n == 4, "[%s] time scale: n = %zu vs %zu", name, a.n, b.n);
                double w = 0;
                for (size_t k = 0; k < a.n && k < b.n; k++)
                    w = fmax(w, fabs(a.y[k] - b.y[k]) / fabs(a.y[k]));
                /* with an offset the step sizes are rounded at the scale of t0; implicit
                 * methods agree to their Newton iterations' tolerance (kappa tol = 1e-8
                 * here), not to rounding (measured: kvaerno5 1e-12, kencarp5 1e-10) */
                int noise = fabs(fa.err0 - fb.err0) > SCALE_ERR_NOISE * fabs(fa.err0);
                double tol = off || noise ? SCALE_NOISE_TOL
                           : nde_method_kind(m) == NDE_METHOD_IMPLICIT_RK ? 1e-8 : SCALE_TOL * rounding_factor(m);
                if (!off && noise)
                    printf("  %-10s first-step error %.4g vs %.4g at scale 1e-10 (rounding noise)\n",
                           name, fa.err0, fb.err0);
                CHECK_M(w <= tol, "[%s] time scale 1e-10%s: values differ by %.3g (relative)",
                        name, off ? " (offset)" : "", w);
                if (!off)
                    CHECK_M(a.stats.steps == b.stats.steps, "[%s] time scale: %zu vs %zu steps",
                            name, a.stats.steps, b.stats.steps);
                CHECK_CLOSE(name, "y(1) at scale 1e-10", b.y[b.n - 1], exp(-1.0),
                            adaptive(m) ? 1e-4 : pow(1e-2, nde_method_order(m)));
            }
            nde_solution_free(&a);
            nde_solution_free(&b);
        }
    }
}

/* Automatic initial step: on y' = -1e6 y over [0, 1e-5] the first attempted step must be
 * on the problem's time scale (1e-6), far below the interval's 0.01 (on_step sees it). */
typedef struct { int n; double first_dt; } step_log;
static int log_step(double t, double dt, double err, int accepted, void *u)
{
    (void)t; (void)err; (void)accepted;
    step_log *s = u;
    if (s->n++ == 0) s->first_dt = dt;
    return 0;
}
static int rhs_stiffish(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -1e6 * y[0]; return 0; }

#define FIRST_DT_MAX 1e-6      /* the problem's time scale; 0.01 would be (t1 - t0) scale */

static void test_initial_step(void)
{
    nde_ode ode = { .dim = 1, .f = rhs_stiffish };
    double y0 = 1.0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const char *name = nde_method_name(m);
        if (!adaptive(m) || !dissipation_stable(m)) continue;
        step_log log = { 0, 0 };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 1e-6; o.atol = 1e-9; o.dt0 = 0;
        o.on_step = log_step; o.on_step_user = &log;
        nde_solution sol;
        SOLVE_OK(name, "automatic dt0", &ode, 0.0, 1e-5, &y0, &o, &sol);
        if (sol.status == NDE_OK) {
            printf("  %-10s automatic first step %.3g (%zu steps, %zu rejected)\n", name,
                   log.first_dt, sol.stats.steps, sol.stats.rejected);
            CHECK_M(log.n > 0 && log.first_dt > 0 && log.first_dt <= FIRST_DT_MAX,
                    "[%s] automatic dt0: first step %.3g on a 1e-6 time scale", name, log.first_dt);
            CHECK_M((size_t)log.n == sol.stats.steps, "[%s] on_step called %d times for %zu steps",
                    name, log.n, sol.stats.steps);
            CHECK_CLOSE(name, "y(1e-5) = e^-10", sol.y[0], exp(-10.0), 1e-6 * 10);
        }
        nde_solution_free(&sol);
    }
}

/* The step observer sees every attempted step: accepted ones chain from t0 to t1 and
 * match the saved step ends, err <= 1 exactly for accepted steps; dtmax bounds every
 * step. */
typedef struct { size_t n, n_acc, n_bad; double t_next, t0; double ends[4096]; int chain_ok; double worst_dt; } obs_log;
static int observe(double t, double dt, double err, int accepted, void *u)
{
    obs_log *L = u;
    L->n++;
    if (fabs(dt) > L->worst_dt) L->worst_dt = fabs(dt);
    if (t != L->t_next) L->chain_ok = 0;           /* every attempt starts where we are */
    if (accepted) {
        if (!(err <= 1.0)) L->n_bad++;
        if (L->n_acc < 4096) L->ends[L->n_acc] = t + dt;
        L->n_acc++;
        L->t_next = t + dt;
    } else if (!(err > 1.0)) {
        L->n_bad++;
    }
    return 0;
}

#define STEP_END_ULPS 4.0      /* observer's t + dt vs the saved step end (jump/clip rounding) */

static void test_step_observer_and_dtmax(void)
{
    nde_ode ode = { .dim = 2, .f = rhs_forced };
    double y0[2] = { 1.5, 0.0 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        const char *name = nde_method_name(m);
        static obs_log L;
        memset(&L, 0, sizeof L);
        L.chain_ok = 1;
        nde_options o = opts_for(m, 1e-4, 0.01);
        o.atol = adaptive(m) ? 1e-6 : 0;
        o.dtmax = 0.25;
        o.save = NDE_SAVE_STEPS;
        o.on_step = observe; o.on_step_user = &L;
        nde_solution sol;
        SOLVE_OK(name, "observer", &ode, 0.0, 15.0, y0, &o, &sol);
        if (sol.status == NDE_OK) {
            CHECK_M(L.n == sol.stats.steps && L.n_acc == sol.stats.accepted && L.n_acc == sol.n,
                    "[%s] observer: %zu calls (%zu accepted) for %zu steps (%zu accepted), %zu saved",
                    name, L.n, L.n_acc, sol.stats.steps, sol.stats.accepted, sol.n);
            CHECK_M(L.chain_ok, "[%s] observer: an attempt did not start at the last accepted end", name);
            CHECK_M(L.n_bad == 0, "[%s] observer: %zu steps with err inconsistent with acceptance",
                    name, L.n_bad);
            size_t bad = 0;
            for (size_t k = 0; k < sol.n && k < L.n_acc && k < 4096; k++)
                if (fabs(L.ends[k] - sol.t[k]) > STEP_END_ULPS * 0x1.0p-52 * fabs(sol.t[k])) bad++;
            CHECK_M(bad == 0, "[%s] observer: %zu accepted step ends differ from the saved ones", name, bad);
            /* step sizes are differences of times near 15: allow their rounding */
            CHECK_M(L.worst_dt <= 0.25 + 4 * 0x1.0p-52 * 15.0,
                    "[%s] dtmax = 0.25 but a step of %.17g", name, L.worst_dt);
        }
        nde_solution_free(&sol);
    }
}

/* Many save times inside few steps are served by the interpolant (Diffrax: ts do not
 * shorten steps): 10^4 ts on y' = -y, values within the dense bound. */
static void test_many_ts(void)
{
    enum { NTS = 10000 };
    static double ts[NTS];
    for (int k = 0; k < NTS; k++) ts[k] = 2.0 * (k + 1) / NTS;
    nde_ode ode = { .dim = 1, .f = rhs_decay };
    double y0 = 1.0;
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;   /* SDE / Langevin methods: their own tests */
        if (!tolerance_accurate(m)) continue;
        const char *name = nde_method_name(m);
        nde_options o = opts_for(m, 1e-9, 1e-3);
        o.ts = ts; o.n_ts = NTS;
        nde_solution sol, ref;
        SOLVE_OK(name, "10^4 ts", &ode, 0.0, 2.0, &y0, &o, &sol);
        o.ts = NULL; o.n_ts = 0;
        SOLVE_OK(name, "same without ts", &ode, 0.0, 2.0, &y0, &o, &ref);
        if (sol.status == NDE_OK && ref.status == NDE_OK) {
            CHECK_M(sol.n == NTS, "[%s] 10^4 ts: n = %zu", name, sol.n);
            /* extrapolation (gbs) takes steps longer than its interpolant spans when
             * nothing is interpolated; with save times it controls the interpolant too
             * (as ODEX does with dense output), so ts may shorten its steps */
            const int ts_control = nde_method_kind(m) == NDE_METHOD_EXTRAPOLATION;
            if (ts_control)
                CHECK_M(sol.stats.steps >= ref.stats.steps, "[%s] ts took fewer steps: %zu vs %zu",
                        name, sol.stats.steps, ref.stats.steps);
            else
                CHECK_M(sol.stats.steps == ref.stats.steps, "[%s] ts changed the steps: %zu vs %zu",
                        name, sol.stats.steps, ref.stats.steps);
            double w = 0;
            for (size_t k = 0; k < sol.n; k++) w = fmax(w, fabs(sol.y[k] - exp(-sol.t[k])));
            double tol = adaptive(m) ? 1e-7 : 2.0 * dense_bound(m, 1e-3);
            CHECK_M(w <= tol, "[%s] 10^4 ts: worst error %.3g > %.3g", name, w, tol);
            CHECK_M(ts_control ? fabs(sol.y[NTS - 1] - ref.y[0]) <= tol : sol.y[NTS - 1] == ref.y[0],
                    "[%s] y(t1) with ts %.17g differs from %.17g", name, sol.y[NTS - 1], ref.y[0]);
        }
        nde_solution_free(&sol);
        nde_solution_free(&ref);
    }
}

/* A solver object that solves the same problem twice gives the same bits (no state of
 * a family's work reuse - Jacobians, factors, rates - carries from one solve into the
 * next), on Lotka-Volterra for every method. Found by fuzz_adjoint: the DIRK family
 * kept its Jacobian and LU, so a second backsolve backward pass differed. */
static int rhs_lv(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = 1.75 * y[0] - 1.17 * y[0] * y[1];
    dy[1] = 1.17 * y[0] * y[1] - 3.5 * y[1];
    return 0;
}

static void test_repeated_solves(void)
{
    nde_ode ode = { .dim = 2, .f = rhs_lv };
    const double y0[2] = { 1.1, 1.1 };
    for (size_t mi = 0; mi < nde_method_count(); mi++) {
        const nde_method *m = nde_method_at(mi);
        if (!test_solves_odes(m)) continue;
        const char *name = nde_method_name(m);
        nde_options o = opts_for(m, 1e-6, 0.05);
        nde_solver *S = nde_solver_create(&ode, &o);
        CHECK_M(S != NULL, "[%s] solver", name);
        if (!S) continue;
        double a[2] = { 0, 0 }, b[2] = { 1, 1 };
        for (int k = 0; k < 2; k++) {
            int rc = nde_solver_solve(S, 0.0, 2.0, y0);
            const nde_solution *sol = nde_solver_solution(S);
            CHECK_M(rc == NDE_OK && sol->n > 0, "[%s] solve %d: %s", name, k, nde_solver_message(S));
            if (rc == NDE_OK && sol->n > 0) memcpy(k ? b : a, sol->y + 2 * (sol->n - 1), sizeof a);
        }
        CHECK_M(memcmp(a, b, sizeof a) == 0, "[%s] the second solve differs: %.17g vs %.17g", name, a[0], b[0]);
        nde_solver_free(S);
    }
}

int main(void)
{
    if (!test_listing()) {
        printf("%zu registered methods:", nde_method_count());
        for (size_t i = 0; i < nde_method_count(); i++) {
            const nde_method *m = nde_method_at(i);
            if (nde_method_kind(m) == NDE_METHOD_SDE) continue;   /* SDE methods: tests/test_sde.c */
            printf(" %s(p%d,e%d,q%d)", nde_method_name(m), nde_method_order(m),
                   nde_method_embedded_order(m), nde_method_dense_order(m));
        }
        printf("\n");
    }
    RUN(test_expm_oracle);
    RUN(test_convergence_order);
    RUN(test_dense_output_error);
    RUN(test_dense_output_adaptive);
    RUN(test_dense_local_order);
    RUN(test_event_exp);
    RUN(test_event_directions);
    RUN(test_event_nonterminal);
    RUN(test_event_bouncing_ball);
    RUN(test_event_saving);
    RUN(test_reverse_time);
    RUN(test_save_semantics);
    RUN(test_step_ts);
    RUN(test_step_to);
    RUN(test_jump_ts);
    RUN(test_step_observer_and_dtmax);
    RUN(test_many_ts);
    RUN(test_repeated_solves);
    RUN(test_constant_steps);
    RUN(test_tiny_time_scale);
    RUN(test_initial_step);
    return test_summary();
}
