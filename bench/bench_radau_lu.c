/* The complex half of radau5's iteration matrix, (alpha + i beta)/h M - J, solved as one
 * complex n x n system (what radau5 does, nde__num_zlu_*) or as the equivalent real
 * 2n x 2n system [[a I - J, -b I], [b I, a I - J]] on (w2, w3) (nde__num_lu_*): one
 * factorisation and three solves (a step's typical Newton iterations plus one), thread
 * CPU time per repetition, best of 5. Private API (src/numerics/internal.h).
 *
 *     nde_bench_radau_lu */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "numerics/internal.h"

enum { NMAX = 48 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    static const size_t ns[] = { 2, 3, 8, 16, 40 };
    static double J[NMAX * NMAX], Z[2 * NMAX * NMAX], R[4 * NMAX * NMAX], b[2 * NMAX];
    static int ip[2 * NMAX];
    const double a = 2.6810828736277521, bt = 3.0504301992474106;   /* radau5's alpha, beta (h = 1) */
    printf("complex n x n against real 2n x 2n: one factorisation + 3 solves\n");
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        const size_t n = ns[t], m = 2 * n;
        unsigned s = 12345u;
        for (size_t i = 0; i < n * n; i++) {
            s = s * 1103515245u + 12345u;
            J[i] = (double)(s >> 8) / 16777216.0 - 0.5;
        }
        const long reps = 200000 / (long)(n * n) + 100;
        double best_z = INFINITY, best_r = INFINITY;
        for (int k = 0; k < 5; k++) {
            double t0 = now();
            for (long r = 0; r < reps; r++) {
                for (size_t i = 0; i < n * n; i++) { Z[2 * i] = -J[i]; Z[2 * i + 1] = 0.0; }
                for (size_t i = 0; i < n; i++) { Z[2 * (i * n + i)] += a; Z[2 * (i * n + i) + 1] = bt; }
                if (nde__num_zlu_factor(n, Z, n, ip)) return 1;
                for (int q = 0; q < 3; q++) {
                    for (size_t i = 0; i < m; i++) b[i] = 1.0;
                    nde__num_zlu_solve(n, Z, n, ip, 1, b, n);
                }
            }
            best_z = fmin(best_z, (now() - t0) / (double)reps);
            t0 = now();
            for (long r = 0; r < reps; r++) {
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < n; j++) {
                        double v = -J[i * n + j] + (i == j ? a : 0.0);
                        R[i * m + j] = v;
                        R[(i + n) * m + j + n] = v;
                        R[i * m + j + n] = i == j ? -bt : 0.0;
                        R[(i + n) * m + j] = i == j ? bt : 0.0;
                    }
                if (nde__num_lu_factor(m, R, m, ip)) return 1;
                for (int q = 0; q < 3; q++) {
                    for (size_t i = 0; i < m; i++) b[i] = 1.0;
                    nde__num_lu_solve(m, R, m, ip, 1, b, m);
                }
            }
            best_r = fmin(best_r, (now() - t0) / (double)reps);
        }
        printf("  n %2zu: complex %8.3f us, real 2n %8.3f us, real / complex %.2f\n", n, 1e6 * best_z,
               1e6 * best_r, best_r / best_z);
    }
    return 0;
}
