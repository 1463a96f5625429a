/* bench/bench_brownian.c — the virtual Brownian tree's query cost (nde/brownian.h).
 *
 *   nde_bench_brownian [--quick]
 *
 * Prints, per Lévy level and tol on [0, 1] (depth L = ceil(log2(1/tol))), the time of a
 * query in two patterns: sequential (a solver's steps [t_k, t_k+1] with dt = 1/2000,
 * where the cache keeps the last path) and random access (uniform s, t); then the cost
 * of a sequential query against the path's length (steps of 1e-3 on [0, T], tol 1e-6 T)
 * and the OU-sized workload of torchsde's benchmark (dim 10, 1024 paths, 100 steps:
 * the Brownian increments alone). Timing only; nothing is asserted. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nde.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double sink;

/* Seconds per query of n steps of length dt from t = 0 (wrapping at 1). */
static double sequential(nde_brownian *bm, int levy, int n, double dt, double T)
{
    double W, H, K, t = 0, t0 = now();
    for (int k = 0; k < n; k++) {
        double u = t + dt;
        if (u > T) { t = 0; u = dt; }
        nde_brownian_increment(bm, t, u, &W, levy >= 1 ? &H : NULL, levy == 2 ? &K : NULL);
        sink += W;
        t = u;
    }
    return (now() - t0) / n;
}

static double random_access(nde_brownian *bm, int levy, int n)
{
    enum { NU = 4096 };
    static double u[NU];
    nde_uniform_fill(1, NDE_STREAM_USER_FIRST, NU, u);
    double W, H, K, t0 = now();
    for (int k = 0; k < n; k++) {
        nde_brownian_increment(bm, u[(2 * k) % NU], u[(2 * k + 1) % NU], &W, levy >= 1 ? &H : NULL,
                               levy == 2 ? &K : NULL);
        sink += W;
    }
    return (now() - t0) / n;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int n = quick ? 20000 : 200000;
    const double tols[] = { 1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12 };
    printf("virtual Brownian tree on [0, 1], dim 1: microseconds per query\n");
    printf("%-5s %-7s %5s %12s %12s\n", "levy", "tol", "depth", "sequential", "random");
    for (int levy = 0; levy <= 2; levy++)
        for (size_t q = 0; q < sizeof tols / sizeof tols[0]; q++) {
            nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, tols[q], 7, levy);
            double sq = sequential(bm, levy, n, 1.0 / 2000, 1.0), ra = random_access(bm, levy, n);
            printf("%-5d %-7.0e %5d %12.3f %12.3f\n", levy, tols[q], nde_brownian_depth(bm), 1e6 * sq,
                   1e6 * ra);
            nde_brownian_free(bm);
        }
    printf("\nsequential steps of 1e-3 on [0, T], tol 1e-6, levy 1: cost against path length\n");
    printf("%-8s %5s %12s\n", "T", "depth", "us/query");
    for (double T = 1; T <= 1e4; T *= 10) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, T, 1e-6, 7, 1);
        printf("%-8.0f %5d %12.3f\n", T, nde_brownian_depth(bm), 1e6 * sequential(bm, 1, n, 1e-3, T));
        nde_brownian_free(bm);
    }
    int paths = quick ? 128 : 1024;
    double W[10], t0 = now();
    for (int p = 0; p < paths; p++) {
        nde_brownian *bm = nde_brownian_tree_create(10, 0.0, 1.0, 1e-3, (uint64_t)p, NDE_LEVY_NONE);
        for (int k = 0; k < 100; k++) nde_brownian_increment(bm, k * 0.01, (k + 1) * 0.01, W, NULL, NULL);
        sink += W[0];
        nde_brownian_free(bm);
    }
    printf("\ndim 10 x %d paths x 100 steps (tol 1e-3, W only, 1 thread): %.2f ms "
           "(torchsde BrownianInterval, same workload in its OU benchmark: 42 ms)\n",
           paths, 1e3 * (now() - t0));
    return sink == 12345.678;   /* keeps the queries from being optimised away */
}
