/* nde/random.h — counter-based random numbers: every draw is a pure function of
 * (seed, stream, index).
 *
 * The generator keeps no state. Draw `index` of stream `stream` under `seed` is computed
 * from those three numbers alone, by Philox4x32-10 (Salmon, Moraes, Dror & Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011; Random123), so a fill of any
 * length, from any offset, in any order, on any thread, gives the same bits: paths are
 * bit-identical across runs, thread counts and batch sizes (and machines, see
 * docs/random.md). A seed selects 2^64 independent streams of 2^64 draws each.
 *
 * Example: a half filled on its own (as another thread would) equals that half of the whole.
 *
 *     double z[1000], half[500];
 *     nde_normal_fill(42, NDE_STREAM_USER_FIRST, 1000, z);           // z ~ N(0, I)
 *     nde_normal_fill_at(42, NDE_STREAM_USER_FIRST, 500, 500, half); // draws 500..999
 *     printf("same: %d\n", z[500] == half[0] && z[999] == half[499]);   // 1
 *     double u[4];
 *     nde_uniform_fill(42, NDE_STREAM_USER_FIRST, 4, u);             // in (0, 1)
 *     uint32_t ctr[4] = { 0, 0, 0, 0 }, key[2] = { 0, 0 }, out[4];
 *     nde_philox4x32_10(ctr, key, out);   // 6627e8d5 e169c58d bc57ac4c 9b00dbd8
 *
 * Layout. With the key {seed lo, seed hi} (32-bit words, least significant first):
 *   normal i of stream s  starts from block {i/2 lo, i/2 hi, s lo, s hi}: words 0-1 for
 *                         even i, 2-3 for odd i, as 64 bits u = w_hi << 32 | w_lo; a
 *                         256-layer ziggurat (Marsaglia & Tsang 2000) with Doornik's
 *                         disjoint bits (layer = bits 0-7, sign = bit 8, uniform = bits
 *                         12-63) accepts 98.5% of draws from u alone; the rest continue
 *                         with normal i's own blocks under a key derived from (seed, s).
 *   uniform i of stream s is (m + 1/2) 2^-53 with m = the top 27 bits of word 0 then the
 *                         top 26 bits of word 1 of block {i lo, i hi, s' lo, s' hi},
 *                         s' = s XOR NDE_STREAM_UNIFORM_XOR: never 0 or 1.
 * So normals and uniforms of one stream are independent, and for streams below 2^63 a
 * uniform never shares a block with a normal (s' has bit 63 set, a normal's s has not).
 *
 * Streams. The library's own draws use the ranges below; a caller's draws are
 * independent of them under another seed, or in streams 0..7 or
 * [NDE_STREAM_USER_FIRST, 2^63), which the library never uses. The values are part of
 * the reproducibility contract: they do not change between versions. docs/random.md
 * has them as a table, and what the same bits on another machine take.
 */
#ifndef NDE_RANDOM_H
#define NDE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"   /* NDE_API */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- streams ------------------------------------------------------------------ */

/* Diffusion samplers (nde_diffusion_sample): the normals of step k >= 1, stage j < 8 of
 * a stochastic sampler are stream NDE_STREAM_SAMPLER(k, j) = 8 k + j, below 2^34. */
#define NDE_STREAM_SAMPLER_STAGES 8u
#define NDE_STREAM_SAMPLER(step, stage) \
    ((uint64_t)(step) * NDE_STREAM_SAMPLER_STAGES + (uint64_t)(stage))
/* The exact mixture (nde_gmm_sample): uniform i of stream NDE_STREAM_GMM_COMPONENT picks
 * the component of sample i; the dim normals of sample i are normal stream
 * NDE_STREAM_GMM_POINT + i (i < 2^48 - 2^40). */
#define NDE_STREAM_GMM_COMPONENT UINT64_C(1)
#define NDE_STREAM_GMM_POINT (UINT64_C(1) << 40)
/* The local regularisers of nde/adjoint.h: uniform (solve << 32) + step of this stream
 * ranks the accepted steps of a taped solve (the lowest reg_steps are regularised). */
#define NDE_STREAM_REG_SAMPLE (UINT64_C(1) << 36)
/* Initialisation of nde/nn.h (nde_mlp_init): parameter k of an MLP's flat vector is
 * uniform or normal draw k of this stream. */
#define NDE_STREAM_NN_INIT (UINT64_C(1) << 37)
/* Reserved for Brownian paths (trees and grid paths of the SDE solvers):
 * [NDE_STREAM_BROWNIAN_FIRST, NDE_STREAM_BROWNIAN_END), 2^56 - 2^48 streams. */
#define NDE_STREAM_BROWNIAN_FIRST (UINT64_C(1) << 48)
#define NDE_STREAM_BROWNIAN_END (UINT64_C(1) << 56)
/* Never used by the library: [NDE_STREAM_USER_FIRST, 2^63) (and streams 0..7). */
#define NDE_STREAM_USER_FIRST (UINT64_C(1) << 56)
/* Uniform stream s draws the Philox blocks of stream s XOR this (the golden ratio's
 * 64-bit fraction, bit 63 set). */
#define NDE_STREAM_UNIFORM_XOR UINT64_C(0x9e3779b97f4a7c15)

/* ---- draws -------------------------------------------------------------------- */

/* z[i] = normal i of `stream` under `seed`, i < n: standard normal, exact up to the
 * ziggurat tables' double rounding. A prefix of a longer fill is identical. n 0 or z NULL:
 * no-op. alloc: none · errors: none · thread: safe */
NDE_API void nde_normal_fill(uint64_t seed, uint64_t stream, size_t n, double *z);
/* z[i] = normal first + i of `stream` under `seed`, i < n (indices modulo 2^64): the same
 * numbers as the matching part of any nde_normal_fill. n 0 or z NULL: no-op.
 * alloc: none · errors: none · thread: safe */
NDE_API void nde_normal_fill_at(uint64_t seed, uint64_t stream, uint64_t first, size_t n, double *z);

/* u[i] = uniform i of `stream` under `seed`, i < n, in the open interval (0, 1) on the
 * grid (m + 1/2) 2^-53. n 0 or u NULL: no-op. alloc: none · errors: none · thread: safe */
NDE_API void nde_uniform_fill(uint64_t seed, uint64_t stream, size_t n, double *u);
/* u[i] = uniform first + i (indices modulo 2^64). n 0 or u NULL: no-op.
 * alloc: none · errors: none · thread: safe */
NDE_API void nde_uniform_fill_at(uint64_t seed, uint64_t stream, uint64_t first, size_t n, double *u);

/* One Philox4x32-10 block: out = philox4x32_10(counter, key), 32-bit words least
 * significant first, bit-identical to Random123's philox4x32(ctr, key) and its
 * known-answer vectors. out may alias counter. The raw bits for callers who build their
 * own variates with the layout above. alloc: none · errors: none · thread: safe */
NDE_API void nde_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

#ifdef __cplusplus
}
#endif
#endif
