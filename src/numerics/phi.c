/* The phi functions of exponential integrators (Hochbruck & Ostermann, "Exponential
 * integrators", Acta Numerica 19, 2010): phi_0(z) = e^z, phi_{k+1}(z) = (phi_k(z) - 1/k!)/z. */
#include "numerics/internal.h"

#include <math.h>

void nde__num_phi(double z, int kmax, double *phi)
{
    /* Below this |z| the recurrence loses more than ~|log10 z| * k digits: use the
     * series, which converges fast there (20 terms reach 1e-17 relative at 0.5). */
    const double series_below = 0.5;
    phi[0] = exp(z);
    if (fabs(z) < series_below) {
        for (int k = 1; k <= kmax; k++) {
            /* phi_k = sum_j z^j/(j+k)! */
            double term = 1.0, sum = 0.0;
            for (int i = 1; i <= k; i++) term /= (double)i;
            for (int j = 0; j < 30; j++) {
                sum += term;
                term *= z / (double)(j + k + 1);
                if (fabs(term) < 1e-18 * fabs(sum)) { sum += term; break; }
            }
            phi[k] = sum;
        }
        return;
    }
    double fact = 1.0;          /* 1/(k-1)! for the recurrence */
    for (int k = 1; k <= kmax; k++) {
        phi[k] = k == 1 ? expm1(z) / z : (phi[k - 1] - fact) / z;
        fact /= (double)k;
    }
}
