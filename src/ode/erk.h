/* Private: explicit Runge-Kutta methods as data, and the engine that steps them. */
#ifndef NDE_SRC_ODE_ERK_H
#define NDE_SRC_ODE_ERK_H

#include "integrate/internal.h"

/* How the error norm is formed from the error weights. */
enum {
    NDE__ERR_NONE = 0,     /* no embedded estimate: constant steps only */
    NDE__ERR_PLAIN = 1,    /* err = h * sum_i e[i] k_i, RMS-normed */
    NDE__ERR_DOP853 = 2    /* Hairer's DOP853: e5 = h sum e[i] k_i, e3 = h sum e3[i] k_i,
                              norm = |e5|^2 / sqrt(|e5|^2 + 0.01 |e3|^2) (RMS norms) */
};

/* Kernels specialised to one table at compile time (src/ode/erk_kernel.h). */
typedef int (*nde__erk_step_fn)(nde_rhs f, void *user, double t, double h, const double *y,
                                double *y1, double *const *ks, double *ytmp, size_t dim,
                                size_t *nfe);
typedef double (*nde__erk_norm_fn)(double h, double *const *ks, const double *y0,
                                   const double *y1, size_t dim, double rtol, double atol);

/* An explicit Runge-Kutta tableau: the family data of an NDE_METHOD_EXPLICIT_RK
 * method (nde_method.tableau; stages, order, embedded order and FSAL are in the
 * nde_method). Stage i: k_i = f(t + c[i] h, y + h sum_{j<i} a[i*s+j] k_j).
 * Solution y1 = y + h sum b[i] k_i. All arrays are row-major and static const. */
typedef struct nde__erk_tableau {
    int error_kind;              /* NDE__ERR_* */
    const double *c;             /* s */
    const double *a;             /* s*s, strictly lower triangular */
    const double *b;             /* s */
    const double *e;             /* s: error weights b - bhat (NULL if none) */
    const double *e3;            /* s: DOP853's third-order error weights (else NULL) */
    /* Dense output. dense_b == NULL: cubic Hermite from y0, y1, f(t0,y0), f(t1,y1).
     * Otherwise y(t + theta h) = y + h sum_{j=1..dense_degree} theta^j
     *                                     sum_{i<dense_stages} dense_b[(j-1)*dense_stages + i] k_i,
     * where stages s..dense_stages-1 are extra stages evaluated only when dense output is
     * needed, at c = dense_c[i-s] with coefficients dense_a[(i-s)*dense_stages + j], j < i.
     * The interpolant's order is nde_method.dense_order (0: Hermite, order 3).
     * dense_end_first (non-FSAL methods only): the first extra stage is f(t + h, y1)
     * (its dense_a row is b, its c is 1), which the engine already holds in the end
     * slot (slot `stages`) when it forms the interpolant: it is not evaluated again. */
    int dense_stages;            /* >= stages when dense_b != NULL */
    int dense_degree;
    int dense_end_first;
    /* 1: the interpolant's monomial coefficients are large (vern6: 1.2e5, vern8: 1.4e6)
     * and its sums sum_i dense_b[..][i] k_i, which cancel to O(h |k|), are formed in
     * long double (where that is wider than double) */
    int dense_wide;
    const double *dense_c;       /* dense_stages - stages (NULL if none) */
    const double *dense_a;       /* (dense_stages - stages) x dense_stages (NULL if none) */
    const double *dense_b;       /* dense_degree x dense_stages */
    /* Optional: the step and error norm instantiated for this table (erk_kernel.h), used
     * for systems smaller than NDE__FIXED_MAX_DIM; NULL: the generic kernels. */
    nde__erk_step_fn step_fixed;
    nde__erk_norm_fn norm_fixed;
    /* > 0: the method's stability boundary on the negative real axis, for Hairer's
     * stiffness test h |k_{s-1} - k_{s-2}| / |y1 - Y_{s-2}| (needs FSAL with
     * c_{s-2} = c_{s-1} = 1: both stages at t + h); 0: no test */
    double stiff_boundary;
} nde__erk_tableau;

/* The tableau of an explicit RK method (NULL for other kinds). */
static inline const nde__erk_tableau *nde__erk_tab(const nde_method *m)
{
    return m->kind == NDE_METHOD_EXPLICIT_RK ? (const nde__erk_tableau *)m->tableau : NULL;
}

/* The stepper operations of the explicit RK family (src/ode/erk_stepper.c). */
extern const nde__int_ops nde__erk_ops;
/* The stage slots of an explicit RK stepper: after an attempt, slot i holds k_i. */
double *const *nde__erk_stepper_stages(const nde__int_stepper *st);

/* Systems below this many components use the table-specialised kernels (per-stage
 * setup dominates there: measured on Lorenz/Arenstorf, dim 3-4); larger ones use the
 * blocked generic kernels, which keep register pressure low with many stages. */
#define NDE__FIXED_MAX_DIM 16

/* The registry (src/ode/tableaux.c), ordered by increasing order. */
extern const nde_method *const nde__methods[];
extern const size_t nde__n_methods;

/* Largest dense_stages (or stages) over all methods: sizes stage storage (vern9: 16
 * stages + 10 for its interpolant). */
#define NDE__MAX_STAGES 26

/* ---- engine kernels (src/ode/stepper.c) ----------------------------------------
 * Stage storage is an array of slot pointers ks[slot] (each dim doubles), so that
 * reusing f(t1, y1) as the next first stage is a pointer swap, not a copy. */

/* A method's coefficients compiled once into sparse rows (nonzero weights and the
 * stage slots they multiply), so a step only scales them by h: no per-step search
 * for zeros. Build with nde__erk_plan_init; a few KiB, kept by the caller. */
#define NDE__MAX_DENSE_DEGREE 9
typedef struct nde__erk_row {
    int n;
    unsigned char idx[NDE__MAX_STAGES];
    double coef[NDE__MAX_STAGES];
} nde__erk_row;
typedef struct nde__erk_plan {
    const nde_method *m;
    const nde__erk_tableau *T;
    nde__erk_row a[NDE__MAX_STAGES];   /* inputs of stage i (dense_a rows for i >= stages) */
    nde__erk_row b, e, e3;
    nde__erk_row dense[NDE__MAX_DENSE_DEGREE];
} nde__erk_plan;
void nde__erk_plan_init(nde__erk_plan *p, const nde_method *m);

/* Number of k slots a workspace needs for method m (stages, extra dense stages, and
 * one slot for f(t1, y1) when the Hermite interpolant of a non-FSAL method needs it). */
size_t nde__erk_slots(const nde_method *m);
/* Slot that holds f(t + h, y1) after the step (FSAL: the last stage; else slot s,
 * which the caller fills with nde__erk_eval_end when it needs it). */
int nde__erk_end_slot(const nde_method *m);
/* Degree in theta of the method's interpolant (3 for Hermite). */
int nde__erk_dense_degree(const nde_method *m);

/* One step from (t, y) with step h. ks[0] must hold f(t, y) on entry; stages
 * 1..s-1 are written. Writes y1 and, if err != NULL, the error vector h sum e_i k_i
 * (and h sum e3_i k_i into err3 when the method has e3 and err3 != NULL).
 * Returns 0, or the first nonzero return of f. *nfe counts evaluations. */
int nde__erk_step(const nde__erk_plan *p, nde_rhs f, void *user, double t, double h,
                  const double *y, double *y1, double *err, double *err3,
                  double *const *ks, double *ytmp, size_t dim, size_t *nfe);

/* The step's scaled error norm, fused (no error vector is formed):
 * RMS_i(err_i / (atol + rtol max(|y0_i|, |y1_i|))), DOP853's 5/3 combination for
 * NDE__ERR_DOP853. +Inf when anything is not finite. Call after nde__erk_step. */
double nde__erk_error_norm(const nde__erk_plan *p, double h, double *const *ks,
                           const double *y0, const double *y1, size_t dim,
                           double rtol, double atol);

/* Evaluates f(t + h, y1) into the end slot unless the method is FSAL (already there). */
int nde__erk_eval_end(const nde_method *m, nde_rhs f, void *user, double t, double h,
                      const double *y1, double *const *ks, size_t dim, size_t *nfe);

/* Coefficients of the step's interpolant, y(t + theta h) = sum_j theta^j P[j*dim..],
 * j = 0..degree (P[0] = y0). Needs the end slot filled (nde__erk_eval_end); evaluates
 * DOP853's extra stages into ks when the method has them. Returns 0 or f's code. */
int nde__erk_dense_coeffs(const nde__erk_plan *p, nde_rhs f, void *user, double t, double h,
                          const double *y0, const double *y1, double *const *ks, double *ytmp,
                          size_t dim, double *P, size_t *nfe);

/* Error-norm fallback when the fused norm overflowed: the error vector (and DOP853's
 * third-order one) into e (and e3, 2 x dim scratch in all), then a norm scaled by the
 * largest term. +Inf only when something is really not finite. */
double nde__erk_error_norm_scaled(const nde__erk_plan *p, double h, double *const *ks,
                                  const double *y0, const double *y1, size_t dim,
                                  double rtol, double atol, double *scratch);

#endif
