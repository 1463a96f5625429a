/* Private declarations of the numerics module: vector kernels, phi functions,
 * quadrature rules and dense linear algebra (LAPACKE/CBLAS) shared by the solvers,
 * samplers and the nn layer. */
#ifndef NDE_SRC_NUMERICS_INTERNAL_H
#define NDE_SRC_NUMERICS_INTERNAL_H

#include <stddef.h>

#include "core/internal.h"

/* out[i] = sum_j coef[j] * v[j][i], i < n, j < k; out may alias any v[j]. */
void nde__num_lincomb(size_t n, double *out, int k, const double *coef, const double *const *v);

/* out[i] = (base ? base[i] : 0.0) + coef[0] v[0][i] + ... + coef[k-1] v[k-1][i], added
 * in that order (the bits of the plain loop); out may alias base or any v[j]. */
void nde__num_sum_terms(size_t n, double *out, const double *base, int k, const double *coef,
                        const double *const *v);
/* out[i] = a[i] b[i]; out[i] = a x[i] / b (b == 1: a x[i], the same bits). out may alias. */
void nde__num_mul(size_t n, double *out, const double *a, const double *b);
void nde__num_scale_div(size_t n, double *out, double a, const double *x, double b);

/* 1 if x[0..n) are all finite, else 0 (vectorised: no chain of n dependent adds). */
int nde__num_all_finite(size_t n, const double *x);

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

/* ---- dense linear algebra (linalg.c, over LAPACKE and CBLAS; LU of order <= 16 in
 * plain C, same factors and pivots) ----
 *
 * Matrices are row-major: entry (i, j) of an r x c matrix is a[i * ld + j], with the
 * leading dimension ld >= c (>= 1). Sizes must be at most INT_MAX (the libraries' int).
 * The wrappers check every argument themselves (the libraries would print), allocate
 * nothing through nde (OpenBLAS keeps its own thread buffers) and are thread-safe on
 * distinct outputs. Return NDE_OK, or NDE_EINVAL for a bad argument (NULL, a leading
 * dimension too small, a size too large, an unknown transpose flag), outputs untouched. */
enum { NDE__NUM_NOTRANS = 0, NDE__NUM_TRANS = 1 };   /* op(A) = A, or A^T */

/* nde__num_lu_factor found an exactly zero pivot: A is singular. Positive like the
 * library's other normal outcomes: a Newton iteration answers it with a smaller step. */
#define NDE__NUM_SINGULAR 1

/* In place, the LU factorisation with partial pivoting of the n x n matrix a (lda >= n)
 * for nde__num_lu_solve; ipiv[n] receives the pivots. n >= 1. Returns NDE_OK,
 * NDE__NUM_SINGULAR (some pivot is exactly zero; a holds the factors, which a solve
 * must not use), NDE_ENONFINITE (a NaN or Inf entry; a untouched) or NDE_EINVAL.
 * Near-singular matrices factor: judge them by the residual or the solution's size. */
int nde__num_lu_factor(size_t n, double *a, size_t lda, int *ipiv);
/* Solves A x = b for nrhs right-hand sides with the factors (lu, lda, ipiv) of a
 * successful nde__num_lu_factor. Right-hand side r is the contiguous vector
 * b + r * ldb (ldb >= n), overwritten by its solution. NDE_OK or NDE_EINVAL. */
int nde__num_lu_solve(size_t n, const double *lu, size_t lda, const int *ipiv, size_t nrhs,
                      double *b, size_t ldb);
/* The complex counterparts (LAPACK zgetrf/zgetrs), for the complex half of an implicit
 * Runge-Kutta iteration matrix (Radau IIA): complex entries are stored as interleaved
 * (re, im) pairs, so entry (i, j) of the n x n matrix is a[2 (i lda + j)] + i a[2 (i lda
 * + j) + 1] and right-hand side r occupies the 2n doubles from b + 2 r ldb. Same returns
 * and argument rules as nde__num_lu_factor / nde__num_lu_solve (lda, ldb count complex
 * entries). */
int nde__num_zlu_factor(size_t n, double *a, size_t lda, int *ipiv);
int nde__num_zlu_solve(size_t n, const double *lu, size_t lda, const int *ipiv, size_t nrhs,
                       double *b, size_t ldb);
/* y = alpha op(A) x + beta y, A stored m x n (lda >= n): y has m entries and x n for
 * NDE__NUM_NOTRANS, the other way round for NDE__NUM_TRANS. beta = 0: y is not read. */
int nde__num_gemv(int trans, size_t m, size_t n, double alpha, const double *a, size_t lda,
                  const double *x, double beta, double *y);
/* C = alpha op(A) op(B) + beta C with C m x n (ldc >= n), op(A) m x k, op(B) k x n; A is
 * stored m x k (lda >= k), or k x m (lda >= m) when transposed; B k x n (ldb >= n), or
 * n x k (ldb >= k) when transposed. beta = 0: C is not read. */
int nde__num_gemm(int transa, int transb, size_t m, size_t n, size_t k, double alpha,
                  const double *a, size_t lda, const double *b, size_t ldb, double beta,
                  double *c, size_t ldc);

/* ---- banded LU (LAPACK's dgbtrf/dgbtrs) ----
 * The n x n matrix A with kl sub- and ku superdiagonals in LAPACK's band storage:
 * column-major ab with leading dimension ldab >= 2 kl + ku + 1, entry (i, j) (0-based,
 * max(0, j - ku) <= i <= min(n - 1, j + kl)) at ab[(kl + ku + i - j) + j * ldab]; the
 * first kl rows are workspace for the fill-in of the pivoting. */
/* In place, the banded LU factorisation with partial pivoting; ipiv[n]. n >= 1,
 * kl, ku < n. Returns NDE_OK, NDE__NUM_SINGULAR (an exactly zero pivot),
 * NDE_ENONFINITE (a NaN or Inf inside the band; ab untouched) or NDE_EINVAL. */
int nde__num_band_lu_factor(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv);
/* Solves A x = b (one right-hand side, overwritten) with the factors of a successful
 * nde__num_band_lu_factor. NDE_OK or NDE_EINVAL. */
int nde__num_band_lu_solve(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab,
                           const int *ipiv, double *b);

/* The same for a complex band matrix on interleaved (re, im) storage: entry (i, j) at
 * ab + 2 ((kl + ku + i - j) + j ldab), ldab >= 2 kl + ku + 1 (in complex entries); b:
 * n complex, interleaved. Same returns. */
int nde__num_zband_lu_factor(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv);
int nde__num_zband_lu_solve(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab, const int *ipiv,
                            double *b);

/* The SVD iteration (dgesvd) did not converge. Positive, like NDE__NUM_SINGULAR. */
#define NDE__NUM_NOCONV 2
/* Singular values s[n] (descending) and left singular vectors of the n x n row-major
 * matrix a (destroyed), A = U S V^T: u[i * n + k] is component i of the k-th column
 * u_k, so that u_k^T A = s_k v_k^T (for s_k = 0, u_k spans the left null space of A).
 * work: lwork >= 5 n doubles. Returns NDE_OK, NDE__NUM_NOCONV, NDE_ENONFINITE (a NaN
 * or Inf entry; a untouched) or NDE_EINVAL. */
int nde__num_svd_left(size_t n, double *a, double *s, double *u, double *work, size_t lwork);

#endif
