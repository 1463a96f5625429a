/* Vector kernels over double arrays. On x86-64 Linux with GCC they are built for
 * AVX-512, AVX2 and the baseline at -O3 (so that they vectorise; at -O2 GCC 12 leaves
 * loops of unknown length scalar), picked at load time (ifunc), as the nn layer's tanh.
 * They are elementwise: no FMA contraction in ISO C mode and no reassociation, so every
 * version gives the same bits. The clones are static, called through a plain function:
 * GCC exports a non-static clone's ifunc and resolver whatever the visibility. */
#include "numerics/internal.h"

#define NDE__NUM_CLONES NDE__VEC_CLONES

/* x * 0 is 0 for finite x and NaN for an infinity or a NaN, so the sum of those is 0
 * exactly when all are finite; eight partial sums, so that the sum is no chain of n
 * dependent additions (a finiteness check over a batch of 2048 cost 1.6 us as one). */
NDE__NUM_CLONES
static int all_finite(size_t n, const double *x)
{
    double acc[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    size_t i = 0;
    for (; n - i >= 8; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[i + (size_t)j] * 0.0;
    for (; i < n; i++) acc[0] += x[i] * 0.0;
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return s == 0.0;
}

int nde__num_all_finite(size_t n, const double *x)
{
    return all_finite(n, x);
}

NDE__NUM_CLONES
static void lincomb(size_t n, double *out, int k, const double *c, const double *const *v)
{
    /* Unrolled by the number of terms: this is the only O(n) work of most steps. */
    switch (k) {
    case 1: { const double *a = v[0]; double c0 = c[0];
        for (size_t i = 0; i < n; i++) out[i] = c0 * a[i];
        return; }
    case 2: { const double *a = v[0], *b = v[1]; double c0 = c[0], c1 = c[1];
        for (size_t i = 0; i < n; i++) out[i] = c0 * a[i] + c1 * b[i];
        return; }
    case 3: { const double *a = v[0], *b = v[1], *d = v[2];
        double c0 = c[0], c1 = c[1], c2 = c[2];
        for (size_t i = 0; i < n; i++) out[i] = c0 * a[i] + c1 * b[i] + c2 * d[i];
        return; }
    case 4: { const double *a = v[0], *b = v[1], *d = v[2], *e = v[3];
        double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
        for (size_t i = 0; i < n; i++) out[i] = c0 * a[i] + c1 * b[i] + c2 * d[i] + c3 * e[i];
        return; }
    case 5: { const double *a = v[0], *b = v[1], *d = v[2], *e = v[3], *f = v[4];
        double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4];
        /* from 0.0, as the general case below (the same bits, -0 included) */
        for (size_t i = 0; i < n; i++)
            out[i] = 0.0 + c0 * a[i] + c1 * b[i] + c2 * d[i] + c3 * e[i] + c4 * f[i];
        return; }
    default:
        for (size_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (int j = 0; j < k; j++) acc += c[j] * v[j][i];
            out[i] = acc;
        }
    }
}

void nde__num_lincomb(size_t n, double *out, int k, const double *c, const double *const *v)
{
    lincomb(n, out, k, c, v);
}

/* base + sum_j c[j] v[j], added left to right from base (or from 0.0), so every case
 * gives the bits of the plain double loop; unrolled for the few terms of a step. */
NDE__NUM_CLONES
static void sum_terms(size_t n, double *out, const double *base, int k, const double *c,
                      const double *const *v)
{
    if (base && k >= 1 && k <= 3) {
        const double *a = v[0], *b = k > 1 ? v[1] : v[0], *d = k > 2 ? v[2] : v[0];
        double c0 = c[0], c1 = k > 1 ? c[1] : 0.0, c2 = k > 2 ? c[2] : 0.0;
        if (k == 1)
            for (size_t i = 0; i < n; i++) out[i] = base[i] + c0 * a[i];
        else if (k == 2)
            for (size_t i = 0; i < n; i++) out[i] = base[i] + c0 * a[i] + c1 * b[i];
        else
            for (size_t i = 0; i < n; i++) out[i] = base[i] + c0 * a[i] + c1 * b[i] + c2 * d[i];
        return;
    }
    if (!base && k >= 1 && k <= 3) {
        const double *a = v[0], *b = k > 1 ? v[1] : v[0], *d = k > 2 ? v[2] : v[0];
        double c0 = c[0], c1 = k > 1 ? c[1] : 0.0, c2 = k > 2 ? c[2] : 0.0;
        if (k == 1)
            for (size_t i = 0; i < n; i++) out[i] = 0.0 + c0 * a[i];
        else if (k == 2)
            for (size_t i = 0; i < n; i++) out[i] = 0.0 + c0 * a[i] + c1 * b[i];
        else
            for (size_t i = 0; i < n; i++) out[i] = 0.0 + c0 * a[i] + c1 * b[i] + c2 * d[i];
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double acc = base ? base[i] : 0.0;
        for (int j = 0; j < k; j++) acc += c[j] * v[j][i];
        out[i] = acc;
    }
}

void nde__num_sum_terms(size_t n, double *out, const double *base, int k, const double *c,
                        const double *const *v)
{
    sum_terms(n, out, base, k, c, v);
}

NDE__NUM_CLONES
static void mul(size_t n, double *out, const double *a, const double *b)
{
    for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

void nde__num_mul(size_t n, double *out, const double *a, const double *b)
{
    mul(n, out, a, b);
}

NDE__NUM_CLONES
static void scale_div(size_t n, double *out, double a, const double *x, double b)
{
    if (b == 1.0)   /* a x / 1 is a x: skip the divisions */
        for (size_t i = 0; i < n; i++) out[i] = a * x[i];
    else
        for (size_t i = 0; i < n; i++) out[i] = a * x[i] / b;
}

void nde__num_scale_div(size_t n, double *out, double a, const double *x, double b)
{
    scale_div(n, out, a, x, b);
}
