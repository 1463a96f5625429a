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

#endif
