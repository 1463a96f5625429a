/* Private declarations of the random module: counter-based uniforms and normals
 * (Philox4x32-10 bits, ziggurat normals), each a function of (seed, stream, index). */
#ifndef NDE_SRC_RANDOM_INTERNAL_H
#define NDE_SRC_RANDOM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* z[i] = normal i of stream `stream` under `seed`, i = 0 .. n-1. */
void nde__rand_normals(uint64_t seed, uint64_t stream, size_t n, double *z);
/* Uniform number `index` of stream `stream` under `seed`, in the open interval (0, 1). */
double nde__rand_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* The ziggurat (rng.c): layer edges x_0 = 0 < x_1 < ... < x_255 = R, then the base
 * strip's width; f(x_k) = exp(-x_k^2/2). */
extern const double nde__rand_zig_x[257], nde__rand_zig_f[256];

#endif
