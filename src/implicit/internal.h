/* Private declarations of the implicit families (src/implicit/): Jacobians of the
 * forward-time right-hand side, shared by the DIRK/IMEX, Rosenbrock, Radau and BDF
 * steppers. Every stepper here works in the loop's forward time s = dir t on
 * f~(s, y) = dir f(dir s, y) (st->f), so its Jacobian is J~ = dir J(dir s, y) and its
 * time derivative df~/ds = df/dt(dir s, y); the mass matrix is unchanged. */
#ifndef NDE_SRC_IMPLICIT_INTERNAL_H
#define NDE_SRC_IMPLICIT_INTERNAL_H

#include "integrate/internal.h"

/* J (dim x dim row-major, leading dimension dim) = d f~/dy at (s, y), where fy =
 * f~(s, y) is given. With the caller's nde_jac it is called at t = dir s (and negated
 * backwards); otherwise forward differences column by column, the increment of column
 * j being sqrt(eps max(1e-5, |y_j|)) (Hairer & Wanner's RADAU5 choice), with ywork a
 * dim scratch copy of y and fwork a dim scratch vector. Counts stats->njac (+1) and
 * stats->nfe (+dim for differences). Returns 0, the first nonzero code of f or jac, or
 * NDE_ENONFINITE when a user Jacobian has a NaN/Inf entry. */
int nde__impl_jacobian(const nde__int_stepper *st, double s, const double *y, const double *fy,
                       double *J, double *ywork, double *fwork);

/* dfdt = d f~/ds at (s, y) by a forward difference in time (increment sqrt(eps)
 * max(|s|, 1e-5), with fy = f~(s, y) given); fwork is a dim scratch vector, may not
 * alias dfdt. Counts stats->nfe. For Rosenbrock methods on non-autonomous problems. */
int nde__impl_time_derivative(const nde__int_stepper *st, double s, const double *y,
                              const double *fy, double *dfdt, double *fwork);

/* ---- the caller's linear solver (linsolve.c; nde_options.lin_setup / lin_solve) -------
 * In forward time the families factor M - hg J~ (Newton: M = I; Rosenbrock scales its
 * M/(h gamma) - J~ by h gamma); the caller sees A = M - gamma_h J in its own time, and
 * since J~ = dir J, gamma_h = dir hg and t = dir s. */

/* Nonzero when the options give a caller's linear solver. */
static inline int nde__impl_user_linsolve(const nde__int_stepper *st)
{
    return st->opts && st->opts->lin_setup;
}
/* Calls the caller's setup for M - hg J~ at (s, y) (forward time) and counts stats->nlu.
 * Returns 0; 1 (retry smaller) or NDE_ECALLBACK (the callback's < 0), with *why set. */
int nde__impl_lin_setup(const nde__int_stepper *st, double s, const double *y, double hg, const char **why);
/* x <- A^-1 x with the caller's solve. Returns 0; 1 with *why set when the callback asks
 * for a smaller step or writes a non-finite value into x although x was finite;
 * NDE_ECALLBACK with *why set for its < 0. */
int nde__impl_lin_solve(const nde__int_stepper *st, double *x, const char **why);

/* ---- BDF (bdf.c) ------------------------------------------------------------------- */

/* The BDF's family data (nde_method.tableau): the order range, and for tests only an
 * exact solution that seeds the history. bdf is { 1, 5, NULL }; a test pins the order q
 * with a copy of nde__bdf whose tableau is { q, q, history }: each start then takes
 * the past values y(t - j h), j = 1..q, from history(t, y, ode->user) (caller's time) at
 * the first attempt's h, so that constant steps measure order q from the first step. */
typedef struct nde__bdf_range {
    int qmin, qmax;
    int (*history)(double t, double *y, void *user);
} nde__bdf_range;

extern const nde__int_ops nde__bdf_ops;
extern const nde_method nde__bdf;
/* ---- linearly implicit Euler extrapolation (seulex.c) ---------------------------------
 * seulex: NDE_METHOD_EXTRAPOLATION, its own order (2 .. 12) and step control
 * (ops->step_factor), mass matrices, dense or banded Jacobians. Its family data: the
 * lines of a constant step (rtol = 0), whose order equals them; seulex has
 * NDE__SEULEX_CONST_LINES, and a test measures other orders with a copy of nde__seulex
 * whose tableau holds another count (1 .. 12). */
#define NDE__SEULEX_CONST_LINES 4
typedef struct nde__seulex_config {
    int lines;
    int sequence;   /* adaptive steps' substep numbers n_j, SEULEX's NSEQU: 2 (2, 3, 4, 6, 8,
                       12, ...), 3 (1, 2, 3, 4, ...); 0: by the tolerance (seulex.c) */
} nde__seulex_config;
extern const nde_method nde__seulex;

/* ---- Radau IIA of order 5 (radau5.c) --------------------------------------------------
 * The coefficients of the 3-stage Radau IIA method and of Hairer & Wanner's RADAU5
 * implementation of it (scripts/gen_radau_coeffs.py computes them at 50 digits and
 * checks the identities below; tests/test_radau.c checks them again in double). */
typedef struct nde__radau5_tableau {
    double c[3];        /* nodes (4 - sqrt 6)/10, (4 + sqrt 6)/10, 1 */
    double a[9];        /* A, row-major; its last row is b (stiffly accurate) */
    double T[9];        /* T^-1 A^-1 T = [[gamma, 0, 0], [0, alpha, -beta], [0, beta, alpha]],
                           last row (1, 1, 0) */
    double Ti[9];       /* T^-1 */
    double gamma, alpha, beta;   /* the real and complex eigenvalues of A^-1 */
    double dd[3];       /* error estimate: err = (M/(h gamma0) - J)^-1 (f(x0, y0) +
                           M sum_i dd_i z_i / h), gamma0 = 1/gamma: the difference to the
                           embedded order-3 solution through the extra node c0 = 0 */
    double dense[9];    /* u(x0 + theta h) = y0 + sum_k theta^(k+1) sum_i dense[3k + i] z_i */
} nde__radau5_tableau;

/* radau5: NDE_METHOD_IMPLICIT_RK, order 5, embedded order 3, mass matrices (singular
 * ones included: index-1 DAEs), its own step control (ops->step_factor). */
extern const nde_method nde__radau5;
/* ---- Newton / chord iteration for implicit stages (newton.c) ----------------------------
 * A stage of a diagonally implicit method solves z = hg f~(t, base + z) for the stage
 * increment z (hg = h gamma, gamma the diagonal entry). The iteration is simplified
 * Newton (Hairer & Wanner II, IV.8): M dz = hg f~(t, base + z) - z with the iteration
 * matrix M = I - hg_lu J, where J = df~/dy is kept across stages and steps and M's LU
 * factorisation is reused while hg stays within NDE__NEWTON_REFACTOR of hg_lu (a stale
 * hg_lu leaves the fixed point exact and only slows the rate). Convergence follows
 * Hairer & Wanner's rate estimate theta_k = |dz_k| / |dz_{k-1}| and stopping rule
 * eta_k |dz_k| <= kappa with eta_k = theta_k / (1 - theta_k) (eta_0 from the previous
 * solve, as RADAU5's faccon, when that solve used the same factors at the same hg; else
 * 1, so that a first iterate is kept only when |dz_0| <= kappa), in the RMS norm weighted by 1 / (atol + rtol |y_i|) at the
 * step's start, so kappa is a fraction of the local error tolerance. It fails (a
 * "retry smaller" for the loop) when theta_k >= 1, when the rate predicts a miss of the
 * iteration limit (theta^(kmax - 1 - k) / (1 - theta) |dz_k| > kappa), when the
 * iteration limit is reached, or when dz is not finite. */

/* Newton's tolerance kappa on eta |dz| in tolerance-scaled units: Diffrax's VeryChord
 * default 1e-2 (Hairer & Wanner IV.8 recommend 1e-1 .. 1e-2). */
#define NDE__NEWTON_KAPPA 1e-2
/* Iterations per stage before the attempt fails: Diffrax's root_find_max_steps (RADAU5's
 * nit is 7, for a 3-stage solve). Measured on Van der Pol (eps = 1e-6, rtol 1e-6, user
 * J), 7 -> 10: Newton failures kvaerno5 41 -> 22, kencarp5 17 -> 2; Jacobians 130 -> 106
 * and 168 -> 104; f-evaluations within +1..3%. */
#define NDE__NEWTON_MAX_ITER 10
/* Constant steps (rtol = 0) have no tolerance and cannot shrink: Newton's norm uses
 * this relative tolerance (atol unused), and a failed chord iteration continues as Newton's
 * method with J at the iterate, at most this many times per stage. */
#define NDE__NEWTON_CONSTANT_RTOL 1e-12
#define NDE__NEWTON_CONSTANT_RESTARTS 3
/* The LU of I - hg J is reused while |hg / hg_lu - 1| <= this: ARKODE's dgmax = 0.2. */
#define NDE__NEWTON_REFACTOR 0.2
/* A step whose worst rate theta exceeded this asks for a new Jacobian at the next step
 * (converging at theta = 0.1 costs about one iteration more per stage than a fresh J
 * would; Hairer's RADAU5 recomputes J above its thet = 0.001, tuned for a system where
 * a Jacobian costs less than an iteration of its 3-stage solve). */
#define NDE__NEWTON_THETA_JAC 0.1

typedef struct nde__impl_newton {
    size_t dim;
    double *J;              /* dim x dim: df~/dy */
    double *lu;             /* dim x dim: the factors of I - hg_lu J */
    int *ipiv;              /* dim pivots */
    double hg_lu;           /* hg of the factorisation; 0: none valid */
    int have_jac;           /* J holds a Jacobian */
    int jac_current;        /* ... evaluated at the current step's start */
    int want_jac;           /* the last step converged slowly: a new J at the next start */
    double eta;             /* eta of the last converged solve (RADAU5's faccon) */
    double eta_hg;          /* ... at this hg with the current factors; 0: none */
    double theta_max;       /* worst rate of the current attempt */
    double jnorm;           /* |J|_inf (max row sum) of the current J; NaN with the
                               caller's linear solver */
    double s_jac;           /* the caller's linear solver: J's point is (s_jac, J[0..dim)),
                               y stored where the library's J would be */
    const char *why;        /* why the last solve or factorisation failed (static) */
} nde__impl_newton;

/* Doubles and ints of storage for dimension dim (2 dim^2 doubles, dim ints; with the
 * caller's linear solver, user_lin, dim doubles for J's point and no ints); nonzero on
 * size overflow. */
/* The status of a step whose Jacobian could not be formed (code rc): see jacobian.c. */
int nde__impl_jacobian_failure(nde__int_stepper *st, int rc);

int nde__impl_newton_size(size_t dim, int user_lin, size_t *doubles, size_t *ints);
/* Lays the iteration out over J_lu (those doubles) and ipiv (those ints); no Jacobian. */
void nde__impl_newton_init(nde__impl_newton *nw, size_t dim, int user_lin, double *J_lu, int *ipiv);
/* Forgets the Jacobian, the factors and the convergence history (a new solve). */
void nde__impl_newton_forget(nde__impl_newton *nw);
/* Makes J the Jacobian at (s, y) (fy = f~(s, y) exactly, for differences) and marks it
 * current; ywork/fwork are dim scratch vectors. Returns 0 or the code of f or jac (with
 * nw->why naming the Jacobian callback). With the caller's linear solver it only keeps
 * (s, y) for the next setup (fy may then be NULL). */
int nde__impl_newton_jacobian(nde__impl_newton *nw, const nde__int_stepper *st, double s,
                              const double *y, const double *fy, double *ywork, double *fwork);
/* Factorises I - hg J unless the current factors' hg_lu is within NDE__NEWTON_REFACTOR
 * (counts stats->nlu). Returns 0, or 1 with nw->why set when the matrix is singular or
 * not finite (a smaller hg makes it regular). With the caller's linear solver: its
 * setup at J's point, and also NDE_ECALLBACK (nw->why set). */
int nde__impl_newton_factor(nde__impl_newton *nw, const nde__int_stepper *st, double hg);
/* Solves z = hg f(t, base + z), f = st->f, from the predictor in z: on success z is the
 * solution and Y = base + z. winv: the norm's inverse weights. fz, dz: dim scratch.
 * Returns 0 (converged), f's nonzero code (nw->why NULL), 1 with nw->why set (no
 * convergence), or NDE_ECALLBACK with nw->why set (the caller's linear solver's < 0).
 * Counts stats->nfe and stats->nnewton, updates nw->theta_max. */
int nde__impl_newton_solve(nde__impl_newton *nw, const nde__int_stepper *st, double t, double hg,
                           const double *base, const double *winv, double *z, double *Y, double *fz,
                           double *dz);

/* ---- diagonally implicit and IMEX Runge-Kutta methods (dirk.c, dirk_tableaux.c) ----------
 * One engine steps every table: stage i (i = 0 .. s-1) is
 *   Y_i = y + h sum_{j<i} (ai[i][j] kI_j + ae[i][j] kE_j) + h ai[i][i] kI_i,
 *   kI_i = f~(s + c_i h, Y_i) (the implicit part), kE_i = fe~(s + c_i h, Y_i) (IMEX only),
 *   y1 = y + h sum_i b_i (kI_i + kE_i),  error h sum_i (b_i - bhat_i) (kI_i + kE_i).
 * An ARK pair's explicit and implicit tableaux share c, b and bhat (Kennedy & Carpenter). */
typedef struct nde__dirk_tableau {
    int stages;             /* at most 8 */
    double gamma;           /* the diagonal of every implicit stage (ai[i][i] is gamma or 0) */
    const double *c;        /* s */
    const double *ai;       /* s x s lower triangular, diagonal included (implicit) */
    const double *ae;       /* s x s strictly lower (explicit half of an ARK pair); NULL */
    const double *b;        /* s */
    const double *bhat;     /* s: the embedded solution's weights */
    /* Dense output: NULL: cubic Hermite from y0, y1 and the total f at both ends.
     * Otherwise y(s + theta h) = y + h sum_{j=1..dense_degree} theta^j
     * sum_i dense_b[(j-1) s + i] (kI_i + kE_i); its order is nde_method.dense_order. */
    int dense_degree;
    const double *dense_b;
} nde__dirk_tableau;

extern const nde__int_ops nde__dirk_ops;        /* ESDIRK tables (no IMEX split) */
extern const nde__int_ops nde__dirk_imex_ops;   /* ARK pairs: NDE__INT_FEATURE_IMEX */
/* The tableau of a method of this family (NULL for other methods). */
const nde__dirk_tableau *nde__dirk_tab(const nde_method *m);
/* The implicit stage derivatives kI_0 .. kI_{s-1} of the last accepted attempt (valid
 * between the attempt and accept, where the gradients layer's hook runs). */
double *const *nde__dirk_stages(const nde__int_stepper *st);
/* The explicit part's stage derivatives kE_0 .. kE_{s-1} likewise (IMEX: an ARK pair
 * with ode->f_explicit); NULL without an IMEX split. */
double *const *nde__dirk_explicit_stages(const nde__int_stepper *st);
/* h |J|_inf for a DIRK stepper's last attempt and its latest Jacobian: a bound on h
 * times the spectral radius (LSODA judges the non-stiff method's stable step from a
 * Jacobian norm the same way); NaN before the first Jacobian. */
double nde__dirk_hrho(const nde__int_stepper *st);

/* ---- auto: tsit5, switching to kvaerno5 while the problem is stiff (dirk_auto.c) ----- */
extern const nde_method nde__auto;

/* The registered methods (src/ode/tableaux.c lists them). */
extern const nde_method nde__implicit_euler, nde__kvaerno3, nde__kvaerno4, nde__kvaerno5,
    nde__kencarp3, nde__kencarp4, nde__kencarp5;
/* nde__impl_jacobian with difference increments scaled by the tolerances: column j
 * moves y_j by sqrt(eps) max(|y_j|, atol / rtol) (RADAU5's increment when rtol = 0).
 * The Rosenbrock methods need J itself accurate (their order rests on it, unlike a
 * Newton iteration's), also in components far below atol / rtol. */
int nde__impl_jacobian_scaled(const nde__int_stepper *st, double s, const double *y, const double *fy,
                              double *J, double *ywork, double *fwork);

/* Banded Jacobian (nde_options.jac_lower/jac_upper = ml, mu): J~ in band storage Jb,
 * column-major, entry (i, j) for max(0, j - mu) <= i <= min(dim - 1, j + ml) at
 * Jb[(mu + i - j) + j * ldj], ldj >= ml + mu + 1. With the caller's nde_jac the full
 * matrix is written into `full` (dim x dim scratch) and its band copied; otherwise
 * forward differences by column groups (Curtis, Powell & Reid 1974): the columns j
 * with equal j mod (ml + mu + 1) touch disjoint rows and share one evaluation, so a
 * Jacobian costs min(dim, ml + mu + 1) evaluations (increments as
 * nde__impl_jacobian_scaled).
 * ywork, fwork: dim scratch. Counts and returns as nde__impl_jacobian. */
int nde__impl_jacobian_band(const nde__int_stepper *st, double s, const double *y, const double *fy,
                            size_t ml, size_t mu, double *Jb, size_t ldj, double *ywork, double *fwork,
                            double *full);

/* ---- Rosenbrock-Wanner methods (rosenbrock.c) ----
 * A method of s stages in the transformed form of Hairer & Wanner (II, IV.7 (7.25)),
 * with u_i = sum_j gamma_ij k_j and a mass matrix M:
 *     (M / (h gamma) - J) u_i = f(s0 + c_i h, y0 + sum_{j<i} a_ij u_j)
 *                               + M sum_{j<i} (C_ij / h) u_j + h d_i df/dt
 *     y1 = y0 + sum_i m_i u_i,  error estimate sum_i e_i u_i,
 *     dense  y(s0 + th h) = (1 - th) y0 + th (y1 + (1 - th) sum_r th^r K_r),
 *            K_r = sum_i H_ri u_i  (r < dense_rows)
 * J = df/dy at (s0, y0), exact or by differences (a W-method property is not claimed).
 * a and C are s x s row-major (strictly lower), the rest s-vectors, H dense_rows x s. */
typedef struct nde__ros_tableau {
    int stages;
    double gamma;
    const double *a, *C, *c, *d, *m, *e;
    int dense_rows;
    const double *H;
    int est_stages;                 /* trailing stages that only the error estimate uses
                                       (m_i = 0 and H_ri = 0) */
    const unsigned char *same_f;    /* NULL, or per stage: 1 where stage i's point and time
                                       are stage i-1's (rows of a and c agree), so F_i =
                                       F_{i-1} is reused, not evaluated */
} nde__ros_tableau;

/* The registered Rosenbrock methods (src/ode/tableaux.c lists them). */
extern const nde_method nde__ros3p, nde__rodas4, nde__rodas5p;
/* The table of a Rosenbrock method (NULL for another family). */
const nde__ros_tableau *nde__ros_tab(const nde_method *m);
/* The stages u_0 .. u_{s-1} (stages x dim) of the last accepted attempt (valid between
 * the attempt and accept, where the gradients layer's hook runs). */
const double *nde__ros_stages(const nde__int_stepper *st);

#endif
