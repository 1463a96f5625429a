/* Private declarations of the random module: counter-based uniforms and normals
 * (Philox4x32-10 bits, ziggurat normals), each a function of (seed, stream, index). */
#ifndef NDE_SRC_RANDOM_INTERNAL_H
#define NDE_SRC_RANDOM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "nde/random.h"
#include "nde/brownian.h"

/* The draws of nde/random.h's layout, without the NULL checks of the public fills.
 * z[i] = normal i of `stream` under `seed`, i < n; and normal first + i. */
void nde__rand_normals(uint64_t seed, uint64_t stream, size_t n, double *z);
void nde__rand_normals_at(uint64_t seed, uint64_t stream, uint64_t first, size_t n, double *z);
/* The instruction sets of the normals' kernels (rng.c): the best this CPU runs, and the
 * normals computed with at most `isa` (the public fills use the best; every isa gives
 * the same bits, which test_random checks). */
enum { NDE__RAND_ISA_BASE, NDE__RAND_ISA_AVX2, NDE__RAND_ISA_AVX512 };
int nde__rand_isa(void);
void nde__rand_normals_isa(int isa, uint64_t seed, uint64_t stream, uint64_t first, size_t n,
                           double *z);
/* Uniform `index` of `stream` under `seed`, in (0, 1); u[i] = uniform first + i, i < n. */
double nde__rand_uniform(uint64_t seed, uint64_t stream, uint64_t index);
void nde__rand_uniforms_at(uint64_t seed, uint64_t stream, uint64_t first, size_t n, double *u);
/* The ziggurat (rng.c): layer edges x_0 = 0 < x_1 < ... < x_255 = R, then the base
 * strip's width; f(x_k) = exp(-x_k^2/2). */
extern const double nde__rand_zig_x[257], nde__rand_zig_f[256];
/* The AVX-512 first try's packed lookup (rng.c, scripts/gen_ziggurat.py). */
extern const uint64_t nde__rand_zig_pack[256];

/* A Brownian tree's dimension, span [t0, t1] and Levy level (for the SDE solvers'
 * checks); bm != NULL. */
struct nde_brownian;
void nde__rand_brownian_shape(const struct nde_brownian *bm, size_t *dim, double *t0, double *t1,
                              int *levy);

#endif
