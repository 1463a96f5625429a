/* Thin wrappers over LAPACKE and CBLAS (OpenBLAS): dense LU factor/solve, gemv, gemm on
 * row-major matrices.
 *
 * Every argument is checked here, before the library sees it: the reference LAPACK and
 * OpenBLAS report a bad argument through xerbla, which prints, and nde never prints.
 * Sizes must fit the libraries' 32-bit int (lapack_int, blasint).
 *
 * LU works on the transpose so that nothing is copied or allocated: a row-major n x n
 * array read column-major is A^T, so dgetrf factors A^T = P L U in place and dgetrs with
 * trans = 'T' solves (A^T)^T x = A x = b. LAPACKE's own row-major path would transpose
 * into a buffer it mallocs on every call. Small systems (order <= 16) are factored and
 * solved by plain-C versions of the same LAPACK routines (below), which skip the
 * libraries' fixed cost per call. */
#include "numerics/internal.h"

#include <limits.h>
#include <stddef.h>
#include <math.h>

#include <cblas.h>
#include <lapacke.h>

_Static_assert(sizeof(lapack_int) == sizeof(int), "nde expects LAPACKE with 32-bit lapack_int (LP64)");

/* All of the sizes fit an int and the leading dimension holds a row of `cols`. */
static int dims_ok(size_t rows, size_t cols, size_t ld)
{
    return rows <= INT_MAX && cols <= INT_MAX && ld <= INT_MAX && ld >= (cols ? cols : 1);
}

/* ---- small systems in plain C -------------------------------------------------------
 * Up to this order LU is computed here: OpenBLAS's fixed cost per call (a lock and a
 * buffer from its pool on every getrs) is several times the arithmetic of a small
 * system, and the implicit solvers factor and solve one on every step and Newton
 * iteration (radau5 on Robertson: 60% of the instructions went there). The kernels are
 * LAPACK's unblocked dgetf2/dgetrs('T') on the same array read column-major, B = A^T:
 * the same layout of the factors and the same 1-based pivots (the first entry of
 * largest modulus; |re| + |im| for complex entries, as izamax), equal up to rounding. */
#define SMALL_LU_MAX 16

/* B(i, j) = a[j lda + i]: B = P L U in place; returns the first zero pivot (1-based) or 0. */
static int small_getrf(size_t n, double *a, size_t lda, int *ipiv)
{
    int info = 0;
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        double big = fabs(a[k * lda + k]);
        for (size_t i = k + 1; i < n; i++)
            if (fabs(a[k * lda + i]) > big) { big = fabs(a[k * lda + i]); p = i; }
        ipiv[k] = (int)p + 1;
        if (big == 0.0) { if (!info) info = (int)k + 1; continue; }
        if (p != k)
            for (size_t j = 0; j < n; j++) {
                double t = a[j * lda + k]; a[j * lda + k] = a[j * lda + p]; a[j * lda + p] = t;
            }
        double *ck = a + k * lda, inv = 1.0 / ck[k];
        for (size_t i = k + 1; i < n; i++) ck[i] *= inv;
        for (size_t j = k + 1; j < n; j++) {
            double *cj = a + j * lda, bkj = cj[k];
            if (bkj != 0.0)
                for (size_t i = k + 1; i < n; i++) cj[i] -= ck[i] * bkj;
        }
    }
    return info;
}

/* Solves B^T x = A x = b: U^T v = b, L^T w = v, x = P w. */
static void small_getrs(size_t n, const double *a, size_t lda, const int *ipiv, double *x)
{
    for (size_t i = 0; i < n; i++) {
        const double *ci = a + i * lda;
        double s = x[i];
        for (size_t k = 0; k < i; k++) s -= ci[k] * x[k];
        x[i] = s / ci[i];
    }
    for (size_t i = n; i-- > 0;) {
        const double *ci = a + i * lda;
        double s = x[i];
        for (size_t k = i + 1; k < n; k++) s -= ci[k] * x[k];
        x[i] = s;
    }
    for (size_t k = n; k-- > 0;) {
        size_t p = (size_t)ipiv[k] - 1;
        if (p != k) { double t = x[k]; x[k] = x[p]; x[p] = t; }
    }
}

/* The complex pair, on interleaved (re, im) storage: B(i, j) at a + 2 (j lda + i). */

/* |u|^2 of a pivot within these bounds: s / u = s conj(u) / |u|^2 neither overflows nor
 * loses precision to underflow (for |s| <= 2^400); outside them, Smith's algorithm. */
#define CDIV_DEN_MIN 0x1p-800
#define CDIV_DEN_MAX 0x1p800
static void cdiv(double ar, double ai, double br, double bi, double *qr, double *qi)
{
    /* Smith's algorithm: no overflow in |b|^2 */
    if (fabs(br) >= fabs(bi)) {
        double r = bi / br, d = br + bi * r;
        *qr = (ar + ai * r) / d; *qi = (ai - ar * r) / d;
    } else {
        double r = br / bi, d = br * r + bi;
        *qr = (ar * r + ai) / d; *qi = (ai * r - ar) / d;
    }
}

/* s / u for complex numbers: s conj(u) / |u|^2 while |u|^2 is in range, else Smith. */
static void cdiv_fast(double sr, double si, double ur, double ui, double *qr, double *qi)
{
    const double den = ur * ur + ui * ui;
    if (den >= CDIV_DEN_MIN && den <= CDIV_DEN_MAX) {
        const double inv = 1.0 / den;
        *qr = (sr * ur + si * ui) * inv;
        *qi = (si * ur - sr * ui) * inv;
    } else {
        cdiv(sr, si, ur, ui, qr, qi);
    }
}

static int small_zgetrf(size_t n, double *a, size_t lda, int *ipiv)
{
    int info = 0;
    for (size_t k = 0; k < n; k++) {
        double *ck = a + 2 * k * lda;
        size_t p = k;
        double big = fabs(ck[2 * k]) + fabs(ck[2 * k + 1]);
        for (size_t i = k + 1; i < n; i++) {
            double m = fabs(ck[2 * i]) + fabs(ck[2 * i + 1]);
            if (m > big) { big = m; p = i; }
        }
        ipiv[k] = (int)p + 1;
        if (big == 0.0) { if (!info) info = (int)k + 1; continue; }
        if (p != k)
            for (size_t j = 0; j < n; j++) {
                double *cj = a + 2 * j * lda, tr = cj[2 * k], ti = cj[2 * k + 1];
                cj[2 * k] = cj[2 * p]; cj[2 * k + 1] = cj[2 * p + 1];
                cj[2 * p] = tr; cj[2 * p + 1] = ti;
            }
        double ir, ii;
        cdiv(1.0, 0.0, ck[2 * k], ck[2 * k + 1], &ir, &ii);
        for (size_t i = k + 1; i < n; i++) {
            double xr = ck[2 * i], xi = ck[2 * i + 1];
            ck[2 * i] = xr * ir - xi * ii;
            ck[2 * i + 1] = xr * ii + xi * ir;
        }
        for (size_t j = k + 1; j < n; j++) {
            double *cj = a + 2 * j * lda, br = cj[2 * k], bi = cj[2 * k + 1];
            if (br == 0.0 && bi == 0.0) continue;
            for (size_t i = k + 1; i < n; i++) {
                double lr = ck[2 * i], li = ck[2 * i + 1];
                cj[2 * i] -= lr * br - li * bi;
                cj[2 * i + 1] -= lr * bi + li * br;
            }
        }
    }
    return info;
}

static void small_zgetrs(size_t n, const double *a, size_t lda, const int *ipiv, double *x)
{
    for (size_t i = 0; i < n; i++) {
        const double *ci = a + 2 * i * lda;
        double sr = x[2 * i], si = x[2 * i + 1];
        for (size_t k = 0; k < i; k++) {
            double ur = ci[2 * k], ui = ci[2 * k + 1], vr = x[2 * k], vi = x[2 * k + 1];
            sr -= ur * vr - ui * vi;
            si -= ur * vi + ui * vr;
        }
        /* one division off the substitution's dependency chain (Smith's chains two) */
        cdiv_fast(sr, si, ci[2 * i], ci[2 * i + 1], &x[2 * i], &x[2 * i + 1]);
    }
    for (size_t i = n; i-- > 0;) {
        const double *ci = a + 2 * i * lda;
        double sr = x[2 * i], si = x[2 * i + 1];
        for (size_t k = i + 1; k < n; k++) {
            double lr = ci[2 * k], li = ci[2 * k + 1], wr = x[2 * k], wi = x[2 * k + 1];
            sr -= lr * wr - li * wi;
            si -= lr * wi + li * wr;
        }
        x[2 * i] = sr; x[2 * i + 1] = si;
    }
    for (size_t k = n; k-- > 0;) {
        size_t p = (size_t)ipiv[k] - 1;
        if (p != k) {
            double tr = x[2 * k], ti = x[2 * k + 1];
            x[2 * k] = x[2 * p]; x[2 * k + 1] = x[2 * p + 1];
            x[2 * p] = tr; x[2 * p + 1] = ti;
        }
    }
}

int nde__num_lu_factor(size_t n, double *a, size_t lda, int *ipiv)
{
    if (!a || !ipiv || n == 0 || !dims_ok(n, n, lda)) return NDE_EINVAL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (!isfinite(a[i * lda + j])) return NDE_ENONFINITE;
    if (n <= SMALL_LU_MAX) return small_getrf(n, a, lda, ipiv) ? NDE__NUM_SINGULAR : NDE_OK;
    lapack_int info = LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n, a,
                                          (lapack_int)lda, (lapack_int *)ipiv);
    if (info < 0) return NDE_EINVAL;           /* unreachable: the arguments are checked */
    return info > 0 ? NDE__NUM_SINGULAR : NDE_OK;
}

int nde__num_lu_solve(size_t n, const double *lu, size_t lda, const int *ipiv, size_t nrhs,
                      double *b, size_t ldb)
{
    if (!lu || !ipiv || !b || n == 0 || !dims_ok(n, n, lda) || !dims_ok(nrhs, n, ldb))
        return NDE_EINVAL;
    if (nrhs == 0) return NDE_OK;
    if (n <= SMALL_LU_MAX) {
        for (size_t r = 0; r < nrhs; r++) small_getrs(n, lu, lda, ipiv, b + r * ldb);
        return NDE_OK;
    }
    /* b read column-major is the n x nrhs matrix whose columns are the right-hand sides */
    lapack_int info = LAPACKE_dgetrs_work(LAPACK_COL_MAJOR, 'T', (lapack_int)n, (lapack_int)nrhs,
                                          lu, (lapack_int)lda, (const lapack_int *)ipiv, b,
                                          (lapack_int)ldb);
    return info == 0 ? NDE_OK : NDE_EINVAL;
}

/* Complex LU: as the real pair above, on interleaved (re, im) storage, which C11 gives
 * the same layout as double _Complex (LAPACKE's lapack_complex_double); 'T' transposes
 * without conjugating, so the row-major trick carries over unchanged. */
int nde__num_zlu_factor(size_t n, double *a, size_t lda, int *ipiv)
{
    if (!a || !ipiv || n == 0 || !dims_ok(n, n, lda)) return NDE_EINVAL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 2 * n; j++)
            if (!isfinite(a[2 * i * lda + j])) return NDE_ENONFINITE;
    if (n <= SMALL_LU_MAX) return small_zgetrf(n, a, lda, ipiv) ? NDE__NUM_SINGULAR : NDE_OK;
    lapack_int info = LAPACKE_zgetrf_work(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n,
                                          (lapack_complex_double *)(void *)a, (lapack_int)lda,
                                          (lapack_int *)ipiv);
    if (info < 0) return NDE_EINVAL;           /* unreachable: the arguments are checked */
    return info > 0 ? NDE__NUM_SINGULAR : NDE_OK;
}

int nde__num_zlu_solve(size_t n, const double *lu, size_t lda, const int *ipiv, size_t nrhs,
                       double *b, size_t ldb)
{
    if (!lu || !ipiv || !b || n == 0 || !dims_ok(n, n, lda) || !dims_ok(nrhs, n, ldb))
        return NDE_EINVAL;
    if (nrhs == 0) return NDE_OK;
    if (n <= SMALL_LU_MAX) {
        for (size_t r = 0; r < nrhs; r++) small_zgetrs(n, lu, lda, ipiv, b + 2 * r * ldb);
        return NDE_OK;
    }
    lapack_int info = LAPACKE_zgetrs_work(LAPACK_COL_MAJOR, 'T', (lapack_int)n, (lapack_int)nrhs,
                                          (const lapack_complex_double *)(const void *)lu,
                                          (lapack_int)lda, (const lapack_int *)ipiv,
                                          (lapack_complex_double *)(void *)b, (lapack_int)ldb);
    return info == 0 ? NDE_OK : NDE_EINVAL;
}

int nde__num_gemv(int trans, size_t m, size_t n, double alpha, const double *a, size_t lda,
                  const double *x, double beta, double *y)
{
    if ((trans != NDE__NUM_NOTRANS && trans != NDE__NUM_TRANS) || !dims_ok(m, n, lda))
        return NDE_EINVAL;
    size_t ny = trans == NDE__NUM_TRANS ? n : m, nx = trans == NDE__NUM_TRANS ? m : n;
    if (ny == 0) return NDE_OK;
    if ((nx && (!a || !x)) || !y) return NDE_EINVAL;
    if (nx == 0) {                             /* an empty sum: y = beta y */
        for (size_t i = 0; i < ny; i++) y[i] = beta == 0.0 ? 0.0 : beta * y[i];
        return NDE_OK;
    }
    cblas_dgemv(CblasRowMajor, trans == NDE__NUM_TRANS ? CblasTrans : CblasNoTrans, (blasint)m,
                (blasint)n, alpha, a, (blasint)lda, x, 1, beta, y, 1);
    return NDE_OK;
}

int nde__num_gemm(int transa, int transb, size_t m, size_t n, size_t k, double alpha,
                  const double *a, size_t lda, const double *b, size_t ldb, double beta,
                  double *c, size_t ldc)
{
    if ((transa != NDE__NUM_NOTRANS && transa != NDE__NUM_TRANS) ||
        (transb != NDE__NUM_NOTRANS && transb != NDE__NUM_TRANS))
        return NDE_EINVAL;
    /* stored shapes: A is m x k (k x m transposed), B is k x n (n x k transposed) */
    int ta = transa == NDE__NUM_TRANS, tb = transb == NDE__NUM_TRANS;
    if (!dims_ok(ta ? k : m, ta ? m : k, lda) || !dims_ok(tb ? n : k, tb ? k : n, ldb) ||
        !dims_ok(m, n, ldc))
        return NDE_EINVAL;
    if (m == 0 || n == 0) return NDE_OK;
    if (!c || (k && (!a || !b))) return NDE_EINVAL;
    if (k == 0) {                              /* an empty sum: C = beta C */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
        return NDE_OK;
    }
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta,
                c, (blasint)ldc);
    return NDE_OK;
}

/* ---- narrow bands in plain C -------------------------------------------------------
 * Up to this kl + ku, band LU is computed here: LAPACK's dgbtf2/dgbtrs call a BLAS
 * routine per column (OpenBLAS's fixed cost each time), several times the arithmetic of
 * a column of a narrow band (radau5 on the 1-D Brusselator, kl = ku = 5 on 2000
 * unknowns: 2.5x RADAU5's time per step). Same algorithms, storage and pivots as
 * dgbtf2 and dgbtrs('N'), equal up to rounding. */
#define SMALL_BAND_MAX 16

static int small_gbtrf(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv)
{
    const size_t kv = ku + kl, st = ldab - 1;   /* st: the stride along a row */
    int info = 0;
    /* the fill-in rows of the first columns start as zero */
    for (size_t j = ku + 1; j < kv && j < n; j++)
        for (size_t i = kv - j; i < kl; i++) ab[i + j * ldab] = 0.0;
    size_t ju = 0;   /* the last column touched by the row interchanges so far */
    for (size_t j = 0; j < n; j++) {
        if (j + kv < n)
            for (size_t i = 0; i < kl; i++) ab[i + (j + kv) * ldab] = 0.0;
        const size_t km = kl < n - 1 - j ? kl : n - 1 - j;
        double *cj = ab + kv + j * ldab;   /* (j, j), then rows j + 1 ... j + km */
        size_t jp = 0;
        double big = fabs(cj[0]);
        for (size_t i = 1; i <= km; i++)
            if (fabs(cj[i]) > big) { big = fabs(cj[i]); jp = i; }
        ipiv[j] = (int)(j + jp) + 1;
        if (cj[jp] == 0.0) { if (!info) info = (int)j + 1; continue; }
        size_t last = j + ku + jp < n - 1 ? j + ku + jp : n - 1;
        if (last > ju) ju = last;
        if (jp != 0)
            for (size_t c = 0; c <= ju - j; c++) {
                double t = cj[jp + c * st]; cj[jp + c * st] = cj[c * st]; cj[c * st] = t;
            }
        if (km > 0) {
            const double inv = 1.0 / cj[0];
            for (size_t i = 1; i <= km; i++) cj[i] *= inv;
            for (size_t c = 1; c <= ju - j; c++) {
                double *col = cj + c * st;   /* (j, j + c), then rows j + 1 ... */
                const double u = col[0];
                if (u != 0.0)
                    for (size_t i = 1; i <= km; i++) col[i] -= cj[i] * u;
            }
        }
    }
    return info;
}

static void small_gbtrs(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab, const int *ipiv, double *b)
{
    const size_t kv = ku + kl;
    if (kl > 0)
        for (size_t j = 0; j + 1 < n; j++) {
            const size_t lm = kl < n - 1 - j ? kl : n - 1 - j;
            const size_t l = (size_t)ipiv[j] - 1;
            if (l != j) { double t = b[l]; b[l] = b[j]; b[j] = t; }
            const double bj = b[j], *cj = ab + kv + j * ldab;
            for (size_t i = 1; i <= lm; i++) b[j + i] -= cj[i] * bj;
        }
    for (size_t j = n; j-- > 0;) {
        if (b[j] == 0.0) continue;
        const double *cj = ab + kv + j * ldab;
        const double t = b[j] / cj[0];
        b[j] = t;
        const size_t i0 = j > kv ? j - kv : 0;
        for (size_t i = i0; i < j; i++) b[i] -= t * cj[(ptrdiff_t)i - (ptrdiff_t)j];
    }
}

/* The complex band LU (zgbtf2 / zgbtrs('N')) on interleaved (re, im) storage: entry
 * (i, j) at ab + 2 ((kl + ku + i - j) + j ldab); pivots by |re| + |im| as izamax. Plain
 * C at every width: radau5's banded iteration matrix, its only user, is narrow. */
static int zgbtf2(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv)
{
    const size_t kv = ku + kl, st = 2 * (ldab - 1);
    int info = 0;
    for (size_t j = ku + 1; j < kv && j < n; j++)
        for (size_t i = kv - j; i < kl; i++) { ab[2 * (i + j * ldab)] = 0.0; ab[2 * (i + j * ldab) + 1] = 0.0; }
    size_t ju = 0;
    for (size_t j = 0; j < n; j++) {
        if (j + kv < n)
            for (size_t i = 0; i < kl; i++) { ab[2 * (i + (j + kv) * ldab)] = 0.0; ab[2 * (i + (j + kv) * ldab) + 1] = 0.0; }
        const size_t km = kl < n - 1 - j ? kl : n - 1 - j;
        double *cj = ab + 2 * (kv + j * ldab);
        size_t jp = 0;
        double big = fabs(cj[0]) + fabs(cj[1]);
        for (size_t i = 1; i <= km; i++) {
            double m = fabs(cj[2 * i]) + fabs(cj[2 * i + 1]);
            if (m > big) { big = m; jp = i; }
        }
        ipiv[j] = (int)(j + jp) + 1;
        if (big == 0.0) { if (!info) info = (int)j + 1; continue; }
        size_t last = j + ku + jp < n - 1 ? j + ku + jp : n - 1;
        if (last > ju) ju = last;
        if (jp != 0)
            for (size_t c = 0; c <= ju - j; c++) {
                double *a = cj + 2 * jp + c * st, *b = cj + c * st, tr = a[0], ti = a[1];
                a[0] = b[0]; a[1] = b[1]; b[0] = tr; b[1] = ti;
            }
        if (km > 0) {
            double ir, ii;
            cdiv(1.0, 0.0, cj[0], cj[1], &ir, &ii);
            for (size_t i = 1; i <= km; i++) {
                double xr = cj[2 * i], xi = cj[2 * i + 1];
                cj[2 * i] = xr * ir - xi * ii;
                cj[2 * i + 1] = xr * ii + xi * ir;
            }
            for (size_t c = 1; c <= ju - j; c++) {
                double *col = cj + c * st;
                const double ur = col[0], ui = col[1];
                if (ur == 0.0 && ui == 0.0) continue;
                for (size_t i = 1; i <= km; i++) {
                    double lr = cj[2 * i], li = cj[2 * i + 1];
                    col[2 * i] -= lr * ur - li * ui;
                    col[2 * i + 1] -= lr * ui + li * ur;
                }
            }
        }
    }
    return info;
}

static void zgbtrs(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab, const int *ipiv, double *b)
{
    const size_t kv = ku + kl;
    if (kl > 0)
        for (size_t j = 0; j + 1 < n; j++) {
            const size_t lm = kl < n - 1 - j ? kl : n - 1 - j;
            const size_t l = (size_t)ipiv[j] - 1;
            if (l != j) {
                double tr = b[2 * l], ti = b[2 * l + 1];
                b[2 * l] = b[2 * j]; b[2 * l + 1] = b[2 * j + 1]; b[2 * j] = tr; b[2 * j + 1] = ti;
            }
            const double br = b[2 * j], bi = b[2 * j + 1], *cj = ab + 2 * (kv + j * ldab);
            for (size_t i = 1; i <= lm; i++) {
                double lr = cj[2 * i], li = cj[2 * i + 1];
                b[2 * (j + i)] -= lr * br - li * bi;
                b[2 * (j + i) + 1] -= lr * bi + li * br;
            }
        }
    for (size_t j = n; j-- > 0;) {
        if (b[2 * j] == 0.0 && b[2 * j + 1] == 0.0) continue;
        const double *cj = ab + 2 * (kv + j * ldab);
        double tr, ti;
        cdiv_fast(b[2 * j], b[2 * j + 1], cj[0], cj[1], &tr, &ti);
        b[2 * j] = tr; b[2 * j + 1] = ti;
        const size_t i0 = j > kv ? j - kv : 0;
        for (size_t i = i0; i < j; i++) {
            const double *u = cj - 2 * (j - i);
            b[2 * i] -= u[0] * tr - u[1] * ti;
            b[2 * i + 1] -= u[0] * ti + u[1] * tr;
        }
    }
}

int nde__num_zband_lu_factor(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv)
{
    if (!ab || !ipiv || n == 0 || kl >= n || ku >= n || n > INT_MAX || ldab > INT_MAX ||
        ldab < 2 * kl + ku + 1)
        return NDE_EINVAL;
    for (size_t j = 0; j < n; j++) {
        size_t i0 = j > ku ? j - ku : 0, i1 = j + kl < n ? j + kl : n - 1;
        for (size_t i = i0; i <= i1; i++) {
            const double *e = ab + 2 * ((kl + ku + i - j) + j * ldab);
            if (!isfinite(e[0]) || !isfinite(e[1])) return NDE_ENONFINITE;
        }
    }
    return zgbtf2(n, kl, ku, ab, ldab, ipiv) ? NDE__NUM_SINGULAR : NDE_OK;
}

int nde__num_zband_lu_solve(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab, const int *ipiv,
                            double *b)
{
    if (!ab || !ipiv || !b || n == 0 || kl >= n || ku >= n || n > INT_MAX || ldab > INT_MAX ||
        ldab < 2 * kl + ku + 1)
        return NDE_EINVAL;
    zgbtrs(n, kl, ku, ab, ldab, ipiv, b);
    return NDE_OK;
}

int nde__num_band_lu_factor(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv)
{
    if (!ab || !ipiv || n == 0 || kl >= n || ku >= n || n > INT_MAX || ldab > INT_MAX ||
        ldab < 2 * kl + ku + 1)
        return NDE_EINVAL;
    for (size_t j = 0; j < n; j++) {
        size_t i0 = j > ku ? j - ku : 0, i1 = j + kl < n ? j + kl : n - 1;
        for (size_t i = i0; i <= i1; i++)
            if (!isfinite(ab[(kl + ku + i - j) + j * ldab])) return NDE_ENONFINITE;
    }
    if (kl + ku <= SMALL_BAND_MAX) return small_gbtrf(n, kl, ku, ab, ldab, ipiv) ? NDE__NUM_SINGULAR : NDE_OK;
    lapack_int info = LAPACKE_dgbtrf_work(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n, (lapack_int)kl,
                                          (lapack_int)ku, ab, (lapack_int)ldab, (lapack_int *)ipiv);
    if (info < 0) return NDE_EINVAL;           /* unreachable: the arguments are checked */
    return info > 0 ? NDE__NUM_SINGULAR : NDE_OK;
}

int nde__num_band_lu_solve(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab,
                           const int *ipiv, double *b)
{
    if (!ab || !ipiv || !b || n == 0 || kl >= n || ku >= n || n > INT_MAX || ldab > INT_MAX ||
        ldab < 2 * kl + ku + 1)
        return NDE_EINVAL;
    if (kl + ku <= SMALL_BAND_MAX) {
        small_gbtrs(n, kl, ku, ab, ldab, ipiv, b);
        return NDE_OK;
    }
    lapack_int info = LAPACKE_dgbtrs_work(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)kl,
                                          (lapack_int)ku, 1, ab, (lapack_int)ldab,
                                          (const lapack_int *)ipiv, b, (lapack_int)n);
    return info == 0 ? NDE_OK : NDE_EINVAL;
}

/* The row-major a read column-major is A^T = V S U^T: the right singular vectors of
 * A^T (LAPACK's VT, jobvt = 'A') are the left ones of A, and VT written column-major
 * and read row-major has them as its columns. */
int nde__num_svd_left(size_t n, double *a, double *s, double *u, double *work, size_t lwork)
{
    if (!a || !s || !u || !work || n == 0 || n > INT_MAX / 5 || lwork < 5 * n) return NDE_EINVAL;
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(a[i])) return NDE_ENONFINITE;
    lapack_int ln = (lapack_int)n;
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'A', ln, ln, a, ln, s, NULL, 1, u, ln,
                                          work, (lapack_int)(lwork > INT_MAX ? INT_MAX : lwork));
    if (info < 0) return NDE_EINVAL;
    return info > 0 ? NDE__NUM_NOCONV : NDE_OK;
}
