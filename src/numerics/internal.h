/* Private declarations of the numerics module: vector kernels, phi functions and
 * quadrature rules shared by the solvers and samplers. */
#ifndef NDE_SRC_NUMERICS_INTERNAL_H
#define NDE_SRC_NUMERICS_INTERNAL_H

#include <stddef.h>

#include "core/internal.h"

/* out[i] = sum_j coef[j] * v[j][i], i < n, j < k; out may alias any v[j]. */
void nde__num_lincomb(size_t n, double *out, int k, const double *coef, const double *const *v);

/* phi_k(z) = sum_{j>=0} z^j/(j+k)! for k = 0..kmax (phi_0 = e^z, phi_1 = expm1(z)/z),
 * by series for small |z| and the recurrence phi_{k+1} = (phi_k - 1/k!)/z otherwise. */
void nde__num_phi(double z, int kmax, double *phi);

/* A quadrature rule on [-1, 1]: n nodes x (ascending) and weights w. */
typedef struct nde__num_rule {
    int n;
    const double *x, *w;
} nde__num_rule;
/* The n-point Gauss-Legendre rule (exact for polynomials of degree <= 2n - 1), or NULL
 * when no table for n exists (n = 3 and 8). */
const nde__num_rule *nde__num_gauss_legendre(int n);

#endif
