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
} nde__ros_tableau;

/* The registered Rosenbrock methods (src/ode/tableaux.c lists them). */
extern const nde_method nde__ros3p, nde__rodas4, nde__rodas5p;
/* The table of a Rosenbrock method (NULL for another family). */
const nde__ros_tableau *nde__ros_tab(const nde_method *m);

#endif
