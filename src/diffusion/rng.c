/* Counter-based Gaussian noise for the stochastic samplers and the mixture model.
 *
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011) from Random123's header <Random123/philox.h> (Debian package
 * librandom123-dev). One block (counter = {pair index lo, hi, stream lo, hi},
 * key = seed) gives 128 bits = two 53-bit uniforms = two normals by Box-Muller, so
 * normal i of a stream depends only on (seed, stream, i): reproducible whatever the
 * batch size, the order of evaluation or the thread. The planned nde Brownian/RNG
 * module will replace this file; until then it is private to src/diffusion. */
#include "diffusion/internal.h"

#include <math.h>
#include <Random123/philox.h>

#define NDE__TWO_PI 6.28318530717958647692

static philox4x32_ctr_t block(uint64_t seed, uint64_t stream, uint64_t idx)
{
    philox4x32_ctr_t c = {{ (uint32_t)idx, (uint32_t)(idx >> 32),
                            (uint32_t)stream, (uint32_t)(stream >> 32) }};
    philox4x32_key_t k = {{ (uint32_t)seed, (uint32_t)(seed >> 32) }};
    return philox4x32(c, k);
}

/* 53 random bits -> (0, 1): (m + 1/2) 2^-53, never 0 or 1. */
static double u53(uint32_t hi, uint32_t lo)
{
    uint64_t m = ((uint64_t)(hi >> 5) << 26) | (uint64_t)(lo >> 6);
    return ((double)m + 0.5) * (1.0 / 9007199254740992.0);
}

double nde__uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    philox4x32_ctr_t r = block(seed, stream ^ 0x9e3779b97f4a7c15ull, index);
    return u53(r.v[0], r.v[1]);
}

void nde__normals(uint64_t seed, uint64_t stream, size_t n, double *z)
{
    size_t i = 0;
    for (uint64_t pair = 0; i < n; pair++) {
        philox4x32_ctr_t r = block(seed, stream, pair);
        double u1 = u53(r.v[0], r.v[1]), u2 = u53(r.v[2], r.v[3]);
        double rad = sqrt(-2.0 * log(u1)), ang = NDE__TWO_PI * u2;
        z[i++] = rad * cos(ang);
        if (i < n) z[i++] = rad * sin(ang);
    }
}

void nde_normal_fill(uint64_t seed, uint64_t stream, size_t n, double *z)
{
    if (z) nde__normals(seed, stream, n, z);
}
