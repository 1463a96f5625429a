/* src/numerics: dense LU (a known solution, the residual of a random 50 x 50 system, more
 * right-hand sides, singular and non-finite matrices, bad arguments), gemv and gemm
 * against naive loops in every transpose combination, phi_k against their series and
 * closed forms (small z, z = 0, large negative z), Gauss-Legendre exactness up to degree
 * 2n - 1 and its known error at 2n, and lincomb with its output aliasing an input.
 * Seeds are fixed; all deterministic. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "testlib.h"
#include "numerics/internal.h"

/* n uniforms in (-1, 1) from the library's generator */
static void fill_pm1(uint64_t stream, size_t n, double *x)
{
    nde_uniform_fill(2026, NDE_STREAM_USER_FIRST + stream, n, x);
    for (size_t i = 0; i < n; i++) x[i] = 2.0 * x[i] - 1.0;
}

/* ---- LU ----------------------------------------------------------------------------- */

/* A 3 x 3 system whose first pivot is zero (partial pivoting must swap), in a padded
 * array (lda 5, padding untouched), with two right-hand sides of known solutions. */
static void test_lu_known_solution(void)
{
    enum { N = 3, LDA = 5, LDB = 4 };
    const double pad = -777.0;
    double a[N * LDA], b[2 * LDB];
    static const double A[N][N] = { { 0, 2, 1 }, { 1, 1, 1 }, { 4, -6, 2 } };
    static const double X[2][N] = { { 1, 2, 3 }, { -0.5, 0.25, 8 } };
    for (int i = 0; i < N * LDA; i++) a[i] = pad;
    for (int i = 0; i < 2 * LDB; i++) b[i] = pad;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) a[i * LDA + j] = A[i][j];
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int j = 0; j < N; j++) s += A[i][j] * X[r][j];
            b[r * LDB + i] = s;
        }
    int ipiv[N];
    CHECK_EQ_INT(nde__num_lu_factor(N, a, LDA, ipiv), NDE_OK);
    CHECK_EQ_INT(nde__num_lu_solve(N, a, LDA, ipiv, 2, b, LDB), NDE_OK);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < N; i++) CHECK_NEAR(b[r * LDB + i], X[r][i], 1e-14 * (1 + fabs(X[r][i])));
    int bad = 0;
    for (int i = 0; i < N; i++)
        for (int j = N; j < LDA; j++) bad += a[i * LDA + j] != pad;
    for (int r = 0; r < 2; r++) bad += b[r * LDB + N] != pad;
    CHECK_EQ_INT(bad, 0);
}

/* A random 50 x 50 system: the backward error ||A x - b|| / (||A|| ||x|| + ||b||) (inf
 * norms) is a small multiple of the unit round-off, as LU with partial pivoting
 * guarantees in practice; and the forward error is small for this well-conditioned A. */
static void test_lu_random_residual(void)
{
    enum { N = 50 };
    static double a[N * N], lu[N * N], x[N], b[N], y[N];
    int ipiv[N];
    fill_pm1(1, N * N, a);
    fill_pm1(2, N, x);
    for (int i = 0; i < N; i++) a[i * N + i] += 2.0;   /* keeps the condition modest */
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < N; j++) s += a[i * N + j] * x[j];
        b[i] = s;
    }
    memcpy(lu, a, sizeof a);
    memcpy(y, b, sizeof b);
    CHECK_EQ_INT(nde__num_lu_factor(N, lu, N, ipiv), NDE_OK);
    CHECK_EQ_INT(nde__num_lu_solve(N, lu, N, ipiv, 1, y, N), NDE_OK);
    double rmax = 0, anorm = 0, xnorm = 0, bnorm = 0, err = 0;
    for (int i = 0; i < N; i++) {
        double r = -b[i], row = 0;
        for (int j = 0; j < N; j++) { r += a[i * N + j] * y[j]; row += fabs(a[i * N + j]); }
        rmax = fmax(rmax, fabs(r));
        anorm = fmax(anorm, row);
        xnorm = fmax(xnorm, fabs(y[i]));
        bnorm = fmax(bnorm, fabs(b[i]));
        err = fmax(err, fabs(y[i] - x[i]));
    }
    double backward = rmax / (anorm * xnorm + bnorm) / DBL_EPSILON;
    printf("    50 x 50: backward error %.2f eps, forward error %.2g\n", backward, err);
    CHECK_MSG(backward < 10.0, "backward error %.2f eps", backward);
    CHECK(err < 1e-12);
}

/* Real and complex LU at orders on both sides of the plain-C kernel's limit (16, in
 * linalg.c) with a padded leading dimension and two right-hand sides: backward error
 * within 10 eps. The complex systems are A + i B; singular complex matrices report it. */
static void test_lu_both_paths_real_and_complex(void)
{
    enum { NMAX = 24, LD = 26 };
    static const size_t ns[] = { 1, 2, 3, 8, 16, 17, 24 };
    static double a[2 * LD * NMAX], lu[2 * LD * NMAX], b[2 * 2 * LD], x[2 * 2 * LD];
    int ipiv[NMAX];
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        for (int cplx = 0; cplx < 2; cplx++) {
            size_t w = cplx ? 2 : 1;   /* doubles per entry */
            fill_pm1(30 + t, w * LD * n, a);
            for (size_t i = 0; i < n; i++) a[w * (i * LD + i)] += 2.0;
            fill_pm1(40 + t, w * 2 * LD, b);
            memcpy(lu, a, sizeof a);
            memcpy(x, b, sizeof b);
            int rc = cplx ? nde__num_zlu_factor(n, lu, LD, ipiv) : nde__num_lu_factor(n, lu, LD, ipiv);
            CHECK_EQ_INT(rc, NDE_OK);
            rc = cplx ? nde__num_zlu_solve(n, lu, LD, ipiv, 2, x, LD) : nde__num_lu_solve(n, lu, LD, ipiv, 2, x, LD);
            CHECK_EQ_INT(rc, NDE_OK);
            for (size_t r = 0; r < 2; r++) {
                double rmax = 0, anorm = 0, xnorm = 0, bnorm = 0;
                for (size_t i = 0; i < n; i++) {
                    double rr = 0, ri = 0, row = 0;
                    for (size_t j = 0; j < n; j++) {
                        const double *aij = a + w * (i * LD + j), *xj = x + w * (r * LD + j);
                        if (cplx) {
                            rr += aij[0] * xj[0] - aij[1] * xj[1];
                            ri += aij[0] * xj[1] + aij[1] * xj[0];
                            row += hypot(aij[0], aij[1]);
                        } else {
                            rr += aij[0] * xj[0];
                            row += fabs(aij[0]);
                        }
                    }
                    const double *bi = b + w * (r * LD + i), *xi = x + w * (r * LD + i);
                    rr -= bi[0];
                    if (cplx) ri -= bi[1];
                    rmax = fmax(rmax, hypot(rr, ri));
                    anorm = fmax(anorm, row);
                    xnorm = fmax(xnorm, cplx ? hypot(xi[0], xi[1]) : fabs(xi[0]));
                    bnorm = fmax(bnorm, cplx ? hypot(bi[0], bi[1]) : fabs(bi[0]));
                }
                double backward = rmax / (anorm * xnorm + bnorm) / DBL_EPSILON;
                CHECK_MSG(backward < 10.0, "n %zu %s rhs %zu: backward error %.2f eps", n, cplx ? "complex" : "real",
                          r, backward);
            }
        }
    }
    /* complex singular: the second row is 2i times the first (exact in the elimination) */
    double z[8] = { 1, 0, 1, 1, 0, 2, -2, 2 };
    CHECK_EQ_INT(nde__num_zlu_factor(2, z, 2, ipiv), NDE__NUM_SINGULAR);
    double zn[8] = { 1, NAN, 0, 0, 0, 0, 1, 0 };
    CHECK_EQ_INT(nde__num_zlu_factor(2, zn, 2, ipiv), NDE_ENONFINITE);
    CHECK_EQ_INT(nde__num_zlu_factor(2, zn, 1, ipiv), NDE_EINVAL);
}

/* The small complex solve divides by a pivot u as s conj(u) / |u|^2 while |u|^2 is in
 * range and by Smith's algorithm outside it: diagonal systems u x = u x0 with |u| from
 * 2^-600 to 2^600 (|u|^2 under- or overflows at the ends) and u = 3 - 4i in between give
 * x0 back to a few ulps on both branches. */
static void test_zlu_small_pivot_scales(void)
{
    static const int e2[] = { -600, -401, -399, 0, 399, 401, 600 };
    for (size_t t = 0; t < sizeof e2 / sizeof e2[0]; t++) {
        const double s = ldexp(1.0, e2[t]);
        const double ur = 3.0 * s, ui = -4.0 * s;   /* |u| = 5 s */
        /* A = diag(u, 2u) (interleaved, row-major), x0 = (1 + 2i, -0.5 + 0.25i) */
        double a[8] = { ur, ui, 0, 0, 0, 0, 2 * ur, 2 * ui };
        const double x0[4] = { 1.0, 2.0, -0.5, 0.25 };
        double b[4];
        for (int k = 0; k < 2; k++) {
            double dr = a[2 * (3 * k)], di = a[2 * (3 * k) + 1];
            b[2 * k] = dr * x0[2 * k] - di * x0[2 * k + 1];
            b[2 * k + 1] = dr * x0[2 * k + 1] + di * x0[2 * k];
        }
        int ipiv[2];
        CHECK_EQ_INT(nde__num_zlu_factor(2, a, 2, ipiv), NDE_OK);
        CHECK_EQ_INT(nde__num_zlu_solve(2, a, 2, ipiv, 1, b, 2), NDE_OK);
        for (int k = 0; k < 4; k++)
            CHECK_MSG(fabs(b[k] - x0[k]) <= 8.0 * DBL_EPSILON * fabs(x0[k]), "|u| = 5 * 2^%d: x[%d] = %.17g, not %g",
                      e2[t], k, b[k], x0[k]);
    }
}

/* An exactly singular matrix (row 2 = 2 row 1; the zero matrix) gives NDE__NUM_SINGULAR;
 * a NaN or an Inf gives NDE_ENONFINITE with the matrix untouched; bad arguments give
 * NDE_EINVAL. Nothing crashes and nothing is printed (the library's xerbla would). */
static void test_lu_singular_and_bad(void)
{
    double a[4] = { 1, 2, 2, 4 }, z[9] = { 0 };
    int ipiv[3];
    CHECK_EQ_INT(nde__num_lu_factor(2, a, 2, ipiv), NDE__NUM_SINGULAR);
    CHECK_EQ_INT(nde__num_lu_factor(3, z, 3, ipiv), NDE__NUM_SINGULAR);
    double c[4] = { 1, NAN, 3, 4 }, d[4] = { 1, 2, INFINITY, 4 }, c0[4], d0[4];
    memcpy(c0, c, sizeof c);
    memcpy(d0, d, sizeof d);
    CHECK_EQ_INT(nde__num_lu_factor(2, c, 2, ipiv), NDE_ENONFINITE);
    CHECK_EQ_INT(nde__num_lu_factor(2, d, 2, ipiv), NDE_ENONFINITE);
    CHECK(memcmp(c, c0, sizeof c) == 0 && memcmp(d, d0, sizeof d) == 0);
    double e[4] = { 3, 1, 1, 2 }, b[2] = { 1, 1 };
    CHECK_EQ_INT(nde__num_lu_factor(0, e, 2, ipiv), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_lu_factor(2, e, 1, ipiv), NDE_EINVAL);     /* lda < n */
    CHECK_EQ_INT(nde__num_lu_factor(2, NULL, 2, ipiv), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_lu_factor(2, e, 2, NULL), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_lu_factor((size_t)INT_MAX + 1, e, (size_t)INT_MAX + 1, ipiv), NDE_EINVAL);
    CHECK(e[0] == 3 && e[1] == 1 && e[2] == 1 && e[3] == 2);
    CHECK_EQ_INT(nde__num_lu_factor(2, e, 2, ipiv), NDE_OK);
    CHECK_EQ_INT(nde__num_lu_solve(2, e, 2, ipiv, 1, b, 1), NDE_EINVAL);  /* ldb < n */
    CHECK_EQ_INT(nde__num_lu_solve(2, e, 2, ipiv, 1, NULL, 2), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_lu_solve(2, e, 2, ipiv, 0, b, 2), NDE_OK);      /* no rhs */
    CHECK(b[0] == 1 && b[1] == 1);
    CHECK_EQ_INT(nde__num_lu_solve(2, e, 2, ipiv, 1, b, 2), NDE_OK);
    CHECK_NEAR(b[0], 0.2, 1e-15);                                         /* 3x + y = 1, x + 2y = 1 */
    CHECK_NEAR(b[1], 0.4, 1e-15);
}

/* ---- gemv, gemm ------------------------------------------------------------------- */

/* Entry (i, j) of op(M) for M stored row-major with leading dimension ld. */
static double op_at(const double *m, size_t ld, int trans, size_t i, size_t j)
{
    return trans ? m[j * ld + i] : m[i * ld + j];
}

/* y = alpha op(A) x + beta y for both transposes, padded A, beta = 0 with NaN in y (not
 * read), an empty sum (n = 0), bad arguments. */
static void test_gemv(void)
{
    enum { M = 7, N = 5, LDA = 9 };
    double a[M * LDA], x[M], y[M], y0[M], ref[M];
    fill_pm1(10, M * LDA, a);
    fill_pm1(11, M, x);
    fill_pm1(12, M, y0);
    const double alpha = 1.5, betas[2] = { -0.75, 0.0 };
    double worst = 0;
    for (int t = 0; t < 2; t++)
        for (int bi = 0; bi < 2; bi++) {
            size_t ny = t ? N : M, nx = t ? M : N;
            for (size_t i = 0; i < ny; i++) {
                double s = 0;
                for (size_t j = 0; j < nx; j++) s += op_at(a, LDA, t, i, j) * x[j];
                ref[i] = alpha * s + betas[bi] * y0[i];
                y[i] = betas[bi] == 0.0 ? NAN : y0[i];
            }
            CHECK_EQ_INT(nde__num_gemv(t, M, N, alpha, a, LDA, x, betas[bi], y), NDE_OK);
            for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(y[i] - ref[i]));
        }
    CHECK_MSG(worst < 1e-14, "gemv vs naive: %.3g", worst);
    memcpy(y, y0, sizeof y);
    CHECK_EQ_INT(nde__num_gemv(NDE__NUM_NOTRANS, M, 0, alpha, a, 1, x, 0.5, y), NDE_OK);
    for (int i = 0; i < M; i++) CHECK(y[i] == 0.5 * y0[i]);
    CHECK_EQ_INT(nde__num_gemv(NDE__NUM_NOTRANS, M, N, alpha, a, N - 1, x, 0, y), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_gemv(2, M, N, alpha, a, LDA, x, 0, y), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_gemv(NDE__NUM_NOTRANS, M, N, alpha, NULL, LDA, x, 0, y), NDE_EINVAL);
}

/* C = alpha op(A) op(B) + beta C in all four transpose combinations with padded leading
 * dimensions, k = 0 (C = beta C), and bad leading dimensions. */
static void test_gemm(void)
{
    enum { M = 6, N = 4, K = 5, LD = 8 };
    double a[LD * LD], b[LD * LD], c[M * LD], c0[M * LD], ref[M * N];
    fill_pm1(20, LD * LD, a);
    fill_pm1(21, LD * LD, b);
    fill_pm1(22, M * LD, c0);
    const double alpha = -0.5, beta = 2.0;
    double worst = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++) {
                    double s = 0;
                    for (size_t l = 0; l < K; l++) s += op_at(a, LD, ta, i, l) * op_at(b, LD, tb, l, j);
                    ref[i * N + j] = alpha * s + beta * c0[i * LD + j];
                }
            memcpy(c, c0, sizeof c);
            CHECK_EQ_INT(nde__num_gemm(ta, tb, M, N, K, alpha, a, LD, b, LD, beta, c, LD), NDE_OK);
            for (size_t i = 0; i < M; i++) {
                for (size_t j = 0; j < N; j++) worst = fmax(worst, fabs(c[i * LD + j] - ref[i * N + j]));
                for (size_t j = N; j < LD; j++) CHECK(c[i * LD + j] == c0[i * LD + j]);
            }
        }
    CHECK_MSG(worst < 1e-14, "gemm vs naive: %.3g", worst);
    memcpy(c, c0, sizeof c);
    CHECK_EQ_INT(nde__num_gemm(0, 0, M, N, 0, alpha, a, 1, b, N, beta, c, LD), NDE_OK);
    CHECK(c[0] == beta * c0[0] && c[(M - 1) * LD + N - 1] == beta * c0[(M - 1) * LD + N - 1]);
    CHECK_EQ_INT(nde__num_gemm(0, 0, M, N, K, alpha, a, K - 1, b, LD, beta, c, LD), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_gemm(1, 0, M, N, K, alpha, a, M - 1, b, LD, beta, c, LD), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_gemm(0, 1, M, N, K, alpha, a, LD, b, K - 1, beta, c, LD), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_gemm(0, 0, M, N, K, alpha, a, LD, b, LD, beta, c, N - 1), NDE_EINVAL);
    CHECK_EQ_INT(nde__num_gemm(0, 3, M, N, K, alpha, a, LD, b, LD, beta, c, LD), NDE_EINVAL);
}

/* ---- phi functions ------------------------------------------------------------------ */

/* phi_k(z) in long double: the Taylor series sum_j z^j/(j+k)! for |z| < 1, otherwise the
 * closed form (e^z - sum_{j<k} z^j/j!)/z^k (at |z| >= 1 its cancellation costs at most
 * two of long double's 19 digits). */
static long double phi_ref(int k, long double z)
{
    if (fabsl(z) < 1.0L) {
        long double term = 1.0L, sum = 0.0L;
        for (int i = 1; i <= k; i++) term /= i;
        for (int j = 0; j < 60; j++) { sum += term; term *= z / (j + k + 1); }
        return sum;
    }
    long double s = 0.0L, t = 1.0L;
    for (int j = 0; j < k; j++) { s += t; t *= z / (j + 1); }
    return (expl(z) - s) / powl(z, k);
}

/* Relative errors at most 1e-14 for k <= 3 (what the samplers use) over small z (the
 * series branch), z = 0 (phi_k = 1/k!), the switch at |z| = 0.5, moderate z and large
 * negative z (e^z underflows: phi_k -> the polynomial tail), up to 1e-12 for k = 5. */
static void test_phi(void)
{
    static const double zs[] = { 0.0, 1e-12, -1e-8, 1e-3, -0.1, 0.3, -0.4999, 0.4999, 0.5, -0.5,
                                 0.7, -1.0, 2.0, -3.5, 10.0, -20.0, -50.0, -700.0, -1e5, -1e300 };
    double worst3 = 0, worst5 = 0;
    for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
        double ph[6];
        nde__num_phi(zs[i], 5, ph);
        for (int k = 0; k <= 5; k++) {
            long double r = phi_ref(k, zs[i]);
            double rel = r == 0.0L ? fabs(ph[k]) : (double)fabsl((ph[k] - r) / r);
            if (k <= 3) worst3 = fmax(worst3, rel);
            else worst5 = fmax(worst5, rel);
            CHECK_MSG(rel <= (k <= 3 ? 1e-14 : 1e-12), "phi_%d(%g) = %.17g, reference %.17Lg (rel %.2g)",
                      k, zs[i], ph[k], r, rel);
        }
    }
    printf("    phi: worst relative error %.2g (k <= 3), %.2g (k = 4, 5)\n", worst3, worst5);
    double ph[4];
    nde__num_phi(0.0, 3, ph);
    CHECK(ph[0] == 1.0 && ph[1] == 1.0 && ph[2] == 0.5 && fabs(ph[3] - 1.0 / 6) < 1e-17);
}

/* ---- Gauss-Legendre ---------------------------------------------------------------- */

/* The n-point rule integrates x^d over [-1, 1] exactly (2/(d+1) or 0) for d <= 2n - 1;
 * at d = 2n it misses by exactly E_n = 2^(2n+1) (n!)^4 / ((2n+1) ((2n)!)^2) (the
 * remainder f^(2n)(xi) 2^(2n+1) (n!)^4 / ((2n+1) ((2n)!)^3) with f = x^(2n)). Nodes
 * ascending and symmetric, weights sum to 2; n without a table gives NULL. */
static void test_gauss_legendre(void)
{
    static const int ns[] = { 3, 8 };
    for (int r = 0; r < 2; r++) {
        int n = ns[r];
        const nde__num_rule *q = nde__num_gauss_legendre(n);
        CHECK(q != NULL);
        if (!q) continue;
        CHECK_EQ_INT(q->n, n);
        for (int i = 0; i < n; i++) {
            if (i) CHECK(q->x[i] > q->x[i - 1]);
            CHECK(q->x[i] == -q->x[n - 1 - i] && q->w[i] == q->w[n - 1 - i] && q->w[i] > 0);
        }
        for (int d = 0; d <= 2 * n; d++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += q->w[i] * pow(q->x[i], d);
            double exact = d % 2 ? 0.0 : 2.0 / (d + 1);
            if (d < 2 * n) {
                /* the rounding of n products and sums, each term below 2 */
                CHECK_MSG(fabs(s - exact) <= 2 * n * DBL_EPSILON, "n = %d, degree %d: %.17g vs %.17g",
                          n, d, s, exact);
            } else {
                double fact_n = tgamma(n + 1.0), fact_2n = tgamma(2.0 * n + 1.0);
                double E = pow(2.0, 2 * n + 1) * pow(fact_n, 4) / ((2 * n + 1) * fact_2n * fact_2n);
                CHECK_MSG(fabs((exact - s) / E - 1.0) < 1e-9, "n = %d, degree %d: error %.6g, E_n %.6g",
                          n, d, exact - s, E);
            }
        }
    }
    CHECK(nde__num_gauss_legendre(0) == NULL && nde__num_gauss_legendre(4) == NULL);
}

/* Node i of the n-point rule (ascending) and its weight in long double: Newton on the
 * Legendre recurrence from Tricomi's estimate, w = 2 / ((1 - x^2) P_n'(x)^2). */
static void gl_ref(int n, int i, long double *x, long double *w)
{
    const long double pi = 3.141592653589793238462643383279502884L;
    long double t = -cosl(pi * (i + 0.75L) / (n + 0.5L)), dp = 0;
    for (int it = 0; it < 100; it++) {
        long double p0 = 1, p1 = t;                   /* P_0, P_1 */
        for (int k = 2; k <= n; k++) {
            long double p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        dp = n * (t * p1 - p0) / (t * t - 1);         /* P_n' from P_n, P_{n-1} */
        long double step = p1 / dp;
        t -= step;
        if (fabsl(step) < 1e-21L) break;
    }
    *x = t;
    *w = 2 / ((1 - t * t) * dp * dp);
}

/* Every node and weight is its exact value rounded to the nearest double: within half an
 * ulp of the long-double reference, give or take the reference's own error (1e-18
 * relative; the 8-point node 0.96028985649753623168 lies only 5e-20 from a midpoint). */
static int nearest(double v, long double ref)
{
    long double half_ulp = 0.5L * ((long double)nextafter(fabs(v), INFINITY) - fabs(v));
    return fabsl(v - ref) <= half_ulp + 1e-18L * fabsl(ref);
}

static void test_gauss_legendre_rounding(void)
{
    static const int ns[] = { 3, 8 };
    int bad = 0;
    for (int r = 0; r < 2; r++) {
        const nde__num_rule *q = nde__num_gauss_legendre(ns[r]);
        if (!q) { CHECK(q != NULL); continue; }
        for (int i = 0; i < q->n; i++) {
            long double x, w;
            gl_ref(q->n, i, &x, &w);
            if (fabsl(x) < 1e-18L) x = 0;             /* the middle node of odd n */
            int ok = nearest(q->x[i], x) && nearest(q->w[i], w);
            CHECK_MSG(ok, "n = %d node %d: %.17g %.17g, reference %.20Lg %.20Lg", q->n, i,
                      q->x[i], q->w[i], x, w);
            bad += !ok;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- lincomb ------------------------------------------------------------------------- */

/* out = sum_j c_j v_j for k = 1..7 terms (the unrolled cases and the general loop), with
 * out a separate array, out = v_0, and out = the last input. */
static void test_lincomb(void)
{
    enum { N = 13, KMAX = 7 };
    double base[KMAX][N], w[KMAX][N], out[N], ref[N], c[KMAX];
    fill_pm1(30, KMAX * N, &base[0][0]);
    fill_pm1(31, KMAX, c);
    int bad = 0;
    for (int k = 1; k <= KMAX; k++)
        for (int alias = -1; alias < 2; alias++) {    /* -1 none, 0 v_0, 1 the last v */
            memcpy(w, base, sizeof w);
            const double *v[KMAX];
            for (int j = 0; j < k; j++) v[j] = w[j];
            for (int i = 0; i < N; i++) {
                double s = 0;
                for (int j = 0; j < k; j++) s += c[j] * base[j][i];
                ref[i] = s;
            }
            double *o = alias < 0 ? out : alias == 0 ? w[0] : w[k - 1];
            nde__num_lincomb(N, o, k, c, v);
            for (int i = 0; i < N; i++) bad += fabs(o[i] - ref[i]) > 1e-15;
        }
    CHECK_EQ_INT(bad, 0);
}

/* Banded LU against the dense LU of the same matrix (kl = 2, ku = 1, n = 7, with row
 * interchanges forced by small diagonal entries), argument checks, a zero pivot. */
/* Band LU on both sides of the plain-C kernel's limit (kl + ku <= 16, in linalg.c): random
 * band matrices with small diagonals (so that partial pivoting interchanges rows and
 * fills in the upper band), a padded ldab, against the dense LU of the same matrix. */
static void test_band_lu_both_paths(void)
{
    enum { N = 40, LDMAX = 2 * 12 + 12 + 1 + 3 };
    static const size_t kls[] = { 0, 1, 2, 5, 0, 3, 9, 12 }, kus[] = { 0, 2, 2, 5, 7, 0, 8, 12 };
    static double A[N * N], lu[N * N], ab[LDMAX * N], r[N], b[N], x[N];
    int ipiv[N], ipd[N];
    for (size_t t = 0; t < sizeof kls / sizeof kls[0]; t++) {
        const size_t kl = kls[t], ku = kus[t], ld = 2 * kl + ku + 1 + 3;
        fill_pm1(60 + t, N * N, A);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                if (i > j + kl || j > i + ku) A[i * N + j] = 0.0;
                else if (i == j) A[i * N + j] = kl && ku ? 0.05 * A[i * N + j] : 2.0 + A[i * N + j];   /* triangular: well conditioned */
            }
        for (size_t k = 0; k < LDMAX * N; k++) ab[k] = 777.0;   /* garbage outside the band */
        for (size_t j = 0; j < N; j++)
            for (size_t i = 0; i < N; i++)
                if (i <= j + kl && j <= i + ku) ab[(kl + ku + i - j) + j * ld] = A[i * N + j];
        memcpy(lu, A, sizeof lu);
        fill_pm1(70 + t, N, r);
        memcpy(b, r, sizeof b);
        memcpy(x, r, sizeof x);
        CHECK_EQ_INT(nde__num_band_lu_factor(N, kl, ku, ab, ld, ipiv), NDE_OK);
        CHECK_EQ_INT(nde__num_band_lu_solve(N, kl, ku, ab, ld, ipiv, b), NDE_OK);
        CHECK_EQ_INT(nde__num_lu_factor(N, lu, N, ipd), NDE_OK);
        CHECK_EQ_INT(nde__num_lu_solve(N, lu, N, ipd, 1, x, N), NDE_OK);
        /* backward error of the band solution, and its distance to the dense one */
        double res = 0, anorm = 0, bn = 0, rn = 0, diff = 0;
        for (size_t i = 0; i < N; i++) {
            double ri = -r[i], row = 0;
            for (size_t j = 0; j < N; j++) { ri += A[i * N + j] * b[j]; row += fabs(A[i * N + j]); }
            res = fmax(res, fabs(ri)); anorm = fmax(anorm, row);
            bn = fmax(bn, fabs(b[i])); rn = fmax(rn, fabs(r[i]));
            diff = fmax(diff, fabs(b[i] - x[i]));
        }
        double backward = res / (anorm * bn + rn) / DBL_EPSILON;
        CHECK_MSG(backward < 50.0, "kl %zu ku %zu: backward error %.2f eps", kl, ku, backward);
        CHECK_MSG(diff <= 1e-8 * bn, "kl %zu ku %zu: band and dense solutions differ by %g (|x| %g)", kl, ku, diff, bn);
    }
}

/* Complex band LU against the dense complex LU of the same matrix: random bands with
 * small diagonals (row interchanges and fill-in), a padded ldab; singular and non-finite
 * matrices report it. */
static void test_zband_lu(void)
{
    enum { N = 30, LDMAX = 2 * 6 + 6 + 1 + 2 };
    static const size_t kls[] = { 0, 1, 2, 3, 6 }, kus[] = { 0, 1, 2, 0, 6 };
    static double A[2 * N * N], lu[2 * N * N], ab[2 * LDMAX * N], r[2 * N], b[2 * N], x[2 * N];
    int ipiv[N], ipd[N];
    for (size_t t = 0; t < sizeof kls / sizeof kls[0]; t++) {
        const size_t kl = kls[t], ku = kus[t], ld = 2 * kl + ku + 1 + 2;
        fill_pm1(80 + t, 2 * N * N, A);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                double *e = A + 2 * (i * N + j);
                if (i > j + kl || j > i + ku) e[0] = e[1] = 0.0;
                else if (i == j && kl && ku) { e[0] *= 0.05; e[1] *= 0.05; }
                else if (i == j) e[0] += 3.0;
            }
        for (size_t k = 0; k < 2 * LDMAX * N; k++) ab[k] = 555.0;
        for (size_t j = 0; j < N; j++)
            for (size_t i = 0; i < N; i++)
                if (i <= j + kl && j <= i + ku) {
                    ab[2 * ((kl + ku + i - j) + j * ld)] = A[2 * (i * N + j)];
                    ab[2 * ((kl + ku + i - j) + j * ld) + 1] = A[2 * (i * N + j) + 1];
                }
        memcpy(lu, A, sizeof lu);
        fill_pm1(90 + t, 2 * N, r);
        memcpy(b, r, sizeof b);
        memcpy(x, r, sizeof x);
        CHECK_EQ_INT(nde__num_zband_lu_factor(N, kl, ku, ab, ld, ipiv), NDE_OK);
        CHECK_EQ_INT(nde__num_zband_lu_solve(N, kl, ku, ab, ld, ipiv, b), NDE_OK);
        CHECK_EQ_INT(nde__num_zlu_factor(N, lu, N, ipd), NDE_OK);
        CHECK_EQ_INT(nde__num_zlu_solve(N, lu, N, ipd, 1, x, N), NDE_OK);
        double diff = 0, xn = 0;
        for (size_t k = 0; k < 2 * N; k++) { diff = fmax(diff, fabs(b[k] - x[k])); xn = fmax(xn, fabs(x[k])); }
        CHECK_MSG(diff <= 1e-10 * xn, "kl %zu ku %zu: complex band and dense differ by %g (|x| %g)", kl, ku, diff, xn);
    }
    double z[2 * 4 * 3] = { 0 };   /* 3 x 3, kl = ku = 1, all zero: singular */
    CHECK_EQ_INT(nde__num_zband_lu_factor(3, 1, 1, z, 4, ipiv), NDE__NUM_SINGULAR);
    z[2 * 2 + 1] = NAN;            /* (0, 0)'s imaginary part */
    CHECK_EQ_INT(nde__num_zband_lu_factor(3, 1, 1, z, 4, ipiv), NDE_ENONFINITE);
    CHECK_EQ_INT(nde__num_zband_lu_factor(3, 1, 1, z, 3, ipiv), NDE_EINVAL);
}

static void test_band_lu(void)
{
    enum { N = 7, KL = 2, KU = 1, LDAB = 2 * KL + KU + 1 };
    double A[N * N] = { 0 }, ab[LDAB * N], lu[N * N], b[N], x[N];
    int ipiv[N], ipd[N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i - j <= KL && j - i <= KU) A[i * N + j] = (i == j) ? 1e-3 * (i + 1) : 1.0 + 0.1 * i - 0.3 * j;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++)
            if (i - j <= KL && j - i <= KU) ab[(KL + KU + i - j) + j * LDAB] = A[i * N + j];
    memcpy(lu, A, sizeof lu);
    CHECK(nde__num_band_lu_factor(N, KL, KU, ab, LDAB, ipiv) == NDE_OK);
    CHECK(nde__num_lu_factor(N, lu, N, ipd) == NDE_OK);
    for (int i = 0; i < N; i++) b[i] = x[i] = 1.0 + i;
    CHECK(nde__num_band_lu_solve(N, KL, KU, ab, LDAB, ipiv, b) == NDE_OK);
    CHECK(nde__num_lu_solve(N, lu, N, ipd, 1, x, N) == NDE_OK);
    for (int i = 0; i < N; i++) CHECK_NEAR(b[i], x[i], 1e-12 * (1.0 + fabs(x[i])));
    /* residual of the band solution against A */
    for (int i = 0; i < N; i++) {
        double r = -(1.0 + i);
        for (int j = 0; j < N; j++) r += A[i * N + j] * b[j];
        CHECK_NEAR(r, 0.0, 1e-10);
    }
    CHECK(nde__num_band_lu_factor(N, KL, KU, ab, 2 * KL + KU, ipiv) == NDE_EINVAL);   /* ldab too small */
    CHECK(nde__num_band_lu_factor(N, N, KU, ab, LDAB, ipiv) == NDE_EINVAL);
    double z[LDAB * N] = { 0 };
    CHECK(nde__num_band_lu_factor(N, KL, KU, z, LDAB, ipiv) == NDE__NUM_SINGULAR);
    z[KL + KU] = NAN;
    CHECK(nde__num_band_lu_factor(N, KL, KU, z, LDAB, ipiv) == NDE_ENONFINITE);
}

/* Left singular vectors: a rank-2 3 x 3 matrix has u_3^T A = 0. */
static void test_svd_left(void)
{
    double A[9] = { 1, 2, 3, 4, 5, 6, 5, 7, 9 };   /* row 3 = row 1 + row 2 */
    double a[9], s[3], u[9], work[15];
    memcpy(a, A, sizeof a);
    CHECK(nde__num_svd_left(3, a, s, u, work, 15) == NDE_OK);
    CHECK(s[0] >= s[1] && s[1] >= s[2] && s[2] <= 1e-14 * s[0] && s[1] > 0.1);
    for (int j = 0; j < 3; j++) {   /* u_3^T A = 0 */
        double r = 0.0;
        for (int i = 0; i < 3; i++) r += u[i * 3 + 2] * A[i * 3 + j];
        CHECK_NEAR(r, 0.0, 1e-13 * s[0]);
    }
    /* u_1^T A = s_1 v_1^T: its norm is s_1 */
    double nrm = 0.0;
    for (int j = 0; j < 3; j++) {
        double r = 0.0;
        for (int i = 0; i < 3; i++) r += u[i * 3] * A[i * 3 + j];
        nrm += r * r;
    }
    CHECK_NEAR(sqrt(nrm), s[0], 1e-12 * s[0]);
    CHECK(nde__num_svd_left(3, a, s, u, work, 14) == NDE_EINVAL);
    a[4] = INFINITY;
    CHECK(nde__num_svd_left(3, a, s, u, work, 15) == NDE_ENONFINITE);
}

int main(void)
{
    RUN(test_lu_known_solution);
    RUN(test_lu_random_residual);
    RUN(test_lu_singular_and_bad);
    RUN(test_lu_both_paths_real_and_complex);
    RUN(test_zlu_small_pivot_scales);
    RUN(test_gemv);
    RUN(test_gemm);
    RUN(test_phi);
    RUN(test_gauss_legendre);
    RUN(test_gauss_legendre_rounding);
    RUN(test_lincomb);
    RUN(test_band_lu);
    RUN(test_band_lu_both_paths);
    RUN(test_zband_lu);
    RUN(test_svd_left);
    return test_summary();
}
