/* Vector kernels over double arrays. */
#include "numerics/internal.h"

void nde__num_lincomb(size_t n, double *out, int k, const double *c, const double *const *v)
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
    default:
        for (size_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (int j = 0; j < k; j++) acc += c[j] * v[j][i];
            out[i] = acc;
        }
    }
}
