/* Private: the explicit RK step and error norm written once, generic over the Butcher
 * table, for instantiation with a table known at compile time (src/ode/tableaux.c).
 * With the table's size and coefficients constant, the compiler unrolls the stage
 * sums and drops zero coefficients: what a hand-written stepper does, from the same
 * data. Stage inputs and y1 are y + h (sum_j a_ij k_j), h applied after the sum (see
 * apply_h in stepper.c: folding h into the weights rounds them systematically). Used for small systems, where per-stage setup would otherwise
 * dominate; large systems use the blocked kernels in stepper.c. Stages and y1 are
 * bitwise those of the generic path (same summation order); the error norm may differ
 * in its last bit (the generic norm sums in two interleaved accumulators). */
#ifndef NDE_SRC_ODE_ERK_KERNEL_H
#define NDE_SRC_ODE_ERK_KERNEL_H

#include <float.h>
#include <math.h>
#include "ode/erk.h"

#define NDE__ALWAYS_INLINE static inline __attribute__((always_inline))

NDE__ALWAYS_INLINE int nde__erk_step_fixed(const int s, const int fsal, const double *c,
                                           const double *a, const double *b, nde_rhs f,
                                           void *user, double t, double h, const double *y,
                                           double *y1, double *const *ks, double *ytmp,
                                           size_t dim, size_t *nfe)
{
    const int last = fsal ? s - 1 : s;
#pragma GCC unroll 16
    for (int i = 1; i < last; i++) {
        for (size_t d = 0; d < dim; d++) {
            double acc = 0.0;
#pragma GCC unroll 16
            for (int j = 0; j < i; j++)
                if (a[i * s + j] != 0.0) acc += a[i * s + j] * ks[j][d];
            ytmp[d] = y[d] + h * acc;
        }
        ++*nfe;
        int rc = f(t + c[i] * h, ytmp, ks[i], user);
        if (rc) return rc;
    }
    for (size_t d = 0; d < dim; d++) {
        double acc = 0.0;
#pragma GCC unroll 16
        for (int j = 0; j < last; j++)
            if (b[j] != 0.0) acc += b[j] * ks[j][d];
        y1[d] = y[d] + h * acc;
    }
    if (fsal) {
        ++*nfe;
        return f(t + h, y1, ks[s - 1], user);
    }
    return 0;
}

NDE__ALWAYS_INLINE double nde__erk_norm_fixed(const int s, const double *e, const double *e3,
                                              double h, double *const *ks, const double *y0,
                                              const double *y1, size_t dim, double rtol,
                                              double atol)
{
    double sum = 0.0, sum3 = 0.0, vmax = 0.0;
    for (size_t d = 0; d < dim; d++) {
        double err = 0.0, err3 = 0.0;
#pragma GCC unroll 16
        for (int j = 0; j < s; j++)
            if (e[j] != 0.0) err += (h * e[j]) * ks[j][d];
        double u = fabs(y0[d]), v = fabs(y1[d]);
        vmax = v > vmax ? v : vmax;   /* an Inf in y1 would hide behind its Inf scale */
        double sc = atol + rtol * (u > v ? u : v);
        if (e3) {
#pragma GCC unroll 16
            for (int j = 0; j < s; j++)
                if (e3[j] != 0.0) err3 += (h * e3[j]) * ks[j][d];
            double inv = 1.0 / sc;
            err *= inv; err3 *= inv;
            sum += err * err;
            sum3 += err3 * err3;
        } else {
            err /= sc;
            sum += err * err;
        }
    }
    if (!isfinite(sum + sum3) || !(vmax <= DBL_MAX)) return INFINITY;
    if (e3) {
        double den = sum + 0.01 * sum3;
        return den > 0.0 ? sum / sqrt(den * (double)dim) : 0.0;
    }
    return sqrt(sum / (double)dim);
}

/* Defines NAME_step_fixed and NAME_norm_fixed from the arrays NAME_c, NAME_a, NAME_b,
 * NAME_e (and E3: NAME_e3 or NULL). */
#define NDE__ERK_FIXED_KERNELS(NAME, S, FSAL, E3)                                          \
    static int NAME##_step_fixed(nde_rhs f, void *user, double t, double h, const double *y, \
                                 double *y1, double *const *ks, double *ytmp, size_t dim,   \
                                 size_t *nfe)                                               \
    {                                                                                       \
        return nde__erk_step_fixed(S, FSAL, NAME##_c, NAME##_a, NAME##_b, f, user, t, h, y,  \
                                   y1, ks, ytmp, dim, nfe);                                 \
    }                                                                                       \
    static double NAME##_norm_fixed(double h, double *const *ks, const double *y0,          \
                                    const double *y1, size_t dim, double rtol, double atol) \
    {                                                                                       \
        return nde__erk_norm_fixed(S, NAME##_e, E3, h, ks, y0, y1, dim, rtol, atol);         \
    }

#endif
