/* nde/brownian.h — Brownian motion from a single seed: the virtual Brownian tree, with
 * the space-time (H) and space-time-time (K) Lévy areas.
 *
 * A tree on [t0, t1] is a whole Brownian path W of dimension `dim`, fixed by one seed and
 * held in constant memory: nothing is stored per query and nothing is allocated after
 * create. nde_brownian_increment(bm, s, t, ...) returns, for any s, t in [t0, t1],
 *
 *   W = W(t) - W(s)                                                   ~ N(0, h),     h = t - s
 *   H = (1/h) int_s^t (W(r) - W(s)) dr - W/2   (space-time Lévy area) ~ N(0, h/12)
 *   K = (1/h^2) int_s^t (W(r) - W(s) - (r - s)/h W) ((s + t)/2 - r) dr  ~ N(0, h/720)
 *
 * (W, H, K mutually independent; the normalisation of Foster and of Diffrax). Every query
 * is consistent with every other: increments add up (W_su = W_st + W_tu, and Chen's
 * relation for H and K, see below), and the same query gives the same bits whatever was
 * asked before, in whatever order.
 *
 * Example: a path in 3 dimensions with its space-time area; steps add up to the whole.
 *
 *     nde_brownian *bm = nde_brownian_tree_create(3, 0.0, 1.0, 1e-6, 42, NDE_LEVY_SPACE_TIME);
 *     double W[3], H[3], Wa[3], Wb[3];
 *     nde_brownian_increment(bm, 0.0, 1.0, W, H, NULL);
 *     nde_brownian_increment(bm, 0.0, 0.3, Wa, NULL, NULL);   // any times, any order
 *     nde_brownian_increment(bm, 0.3, 1.0, Wb, NULL, NULL);
 *     printf("W(1) = %.6f = %.6f, H = %.6f\n", W[0], Wa[0] + Wb[0], H[0]);
 *     nde_brownian_free(bm);
 *
 * The tree (Li et al. 2020; Jelinčič, Foster & Kidger, "Single-seed generation of
 * Brownian paths and integrals for adaptive and high order SDE solvers", 2024). Time is
 * mapped onto [0, 1] and bisected to depth L = ceil(log2((t1 - t0)/tol)) (at most 48):
 * the root draws (W, H, K) of [0, 1]; each node splits into its halves by the exact
 * conditional law of the halves given the node (Brownian bridge for W; Foster's formulas
 * with H and K). A query time r inside a leaf [a, b] takes the exact conditional law of
 * (W, H, K) on [a, r] given those of [a, b] (Foster, Thm 6.1.4; Jelinčič et al., Thm
 * 3.7). So the joint law of the returned values is exact for query times in distinct
 * leaves (times more than tol apart always are); two times inside one leaf share the
 * leaf's normals (each alone is exact): choose tol below the smallest step, for
 * instance dt0/2 (Diffrax's advice). A query descends at most L levels; the tree keeps
 * the last descent, so a solver's consecutive steps [t_k, t_k+1] descend only below the
 * node where the new time leaves the old path.
 *
 * Reproducibility. Node j of the tree (root 1, children 2j and 2j+1; block 0 the root's
 * values) draws the normals j*m .. j*m + m - 1, m = (levy + 1) dim, of the counter-based
 * stream NDE_STREAM_BROWNIAN_FIRST under `seed` (nde/random.h): the path is a pure
 * function of (seed, dim, levy, L) — bit-identical across runs, query orders and threads.
 * Trees of different seeds are independent.
 *
 * Chen's relation, for s < t < u with h1 = t - s, h2 = u - t, h = u - s (what lets a
 * solver join steps):
 *   H_su = (h1 H_st + h2 H_tu)/h + (h2 W_st - h1 W_tu)/(2h)
 *   K_su = (h1^2 K_st + h2^2 K_tu + h1 h2 (H_st - H_tu)/2 + (h2 - h1)(h2 W_st - h1 W_tu)/12)/h^2
 * Reverse queries (s > t) follow the definitions: W is odd, W(s, t) = -W(t, s); H is
 * even, H(s, t) = H(t, s); K is odd, K(s, t) = -K(t, s). s == t gives zeros. A time r
 * is used as its image (r - t0)/(t1 - t0) in [0, 1], rounded: so the values belong to an
 * interval whose ends may differ from s and t by about an ulp of t1 - t0 (exact when
 * t1 - t0 is a power of two and the times lie on a binary grid).
 */
#ifndef NDE_BROWNIAN_H
#define NDE_BROWNIAN_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"   /* NDE_API, nde_allocator */

#ifdef __cplusplus
extern "C" {
#endif

/* How much of the path's time integrals a tree carries (and a solver needs). */
enum { NDE_LEVY_NONE = 0, NDE_LEVY_SPACE_TIME = 1, NDE_LEVY_SPACE_TIME_TIME = 2 };

/* The deepest a tree bisects: leaves are at least (t1 - t0) 2^-48 long (a smaller tol
 * still gives the exact law, by the leaf interpolation). */
#define NDE_BROWNIAN_MAX_DEPTH 48

typedef struct nde_brownian nde_brownian;

/* A virtual Brownian tree of dimension dim >= 1 on [t0, t1] (finite, t0 < t1), bisected
 * until the leaves are no longer than tol > 0 (finite), carrying the Lévy areas up to
 * `levy` (NDE_LEVY_*). Memory: (2 L + 6)(levy + 1) dim doubles, taken here once.
 * NULL on bad parameters or out of memory. alloc: create-only · errors: NULL ·
 * thread: safe */
NDE_API nde_brownian *nde_brownian_tree_create(size_t dim, double t0, double t1, double tol,
                                               uint64_t seed, int levy);
/* nde_brownian_tree_create with memory through `a` (NULL: malloc/free; the tree frees
 * through it) and, on failure, the reason in errbuf[errbuf_size] (may be NULL).
 * alloc: create-only · errors: NULL (message in errbuf) · thread: safe */
NDE_API nde_brownian *nde_brownian_tree_create_ex(size_t dim, double t0, double t1, double tol,
                                                  uint64_t seed, int levy,
                                                  const nde_allocator *a,
                                                  char *errbuf, size_t errbuf_size);

/* The increments over [s, t] (s > t allowed: the reverse query) into W[dim], and the
 * areas into H[dim] and K[dim] when those are not NULL. s and t must be finite and in
 * [t0, t1] up to 100 ULP (then clamped). Returns 0; NDE_EINVAL for a NULL bm or W, a
 * non-finite or out-of-range time; NDE_EUNSUPPORTED for H beyond a NDE_LEVY_NONE tree or
 * K beyond a tree without NDE_LEVY_SPACE_TIME_TIME. On error nothing is written and
 * nde_brownian_message says why. alloc: none · errors: status · thread: one thread per
 * tree at a time (the query cache); distinct trees are independent */
NDE_API int nde_brownian_increment(nde_brownian *bm, double s, double t,
                                   double *W, double *H, double *K);

/* The reason for the last failed query; "" if none. Never NULL (also for bm NULL).
 * alloc: none · errors: none · thread: as nde_brownian_increment */
NDE_API const char *nde_brownian_message(const nde_brownian *bm);

/* The tree's depth L (leaves (t1 - t0) 2^-L long); 0 for NULL and for a grid. For tests and benches.
 * alloc: none · errors: none · thread: safe */
NDE_API int nde_brownian_depth(const nde_brownian *bm);

/* A Brownian path stored on a uniform grid of n cells over [t0, t1], the same kind of
 * object as a tree for every query above and for the solvers: each cell's (W, H, K) is
 * drawn at create (n (levy + 1) dim normals of stream NDE_STREAM_BROWNIAN_FIRST + 1
 * under `seed`, a pure function of (seed, dim, levy, n)), so a query over whole cells is
 * a lookup (and Chen's relation across cells), and one inside a cell is the tree's leaf
 * interpolation (the exact conditional law; two times inside one cell share its
 * normals). For constant steps on the grid (dt = (t1 - t0)/n, or a multiple) this is
 * the fastest path: no descent, no bridge sampling. Memory: (n + 6)(levy + 1) dim
 * doubles. Times within rounding of a grid point count as the grid point. A different
 * path from a tree of the same seed. NULL on bad parameters (n 0, or those of
 * nde_brownian_tree_create) or out of memory. alloc: create-only · errors: NULL ·
 * thread: safe */
NDE_API nde_brownian *nde_brownian_grid_create(size_t dim, double t0, double t1, size_t n,
                                               uint64_t seed, int levy);
/* nde_brownian_grid_create with the allocator `a` (NULL: malloc) and the reason for a
 * failure in errbuf (may be NULL). alloc: create-only · errors: NULL · thread: safe */
NDE_API nde_brownian *nde_brownian_grid_create_ex(size_t dim, double t0, double t1, size_t n,
                                                  uint64_t seed, int levy, const nde_allocator *a,
                                                  char *errbuf, size_t errbuf_size);

/* The path's values W(ts[i]) - W(t0) into W[n x dim] (row i for ts[i]), for plotting or
 * for a caller's own scheme: consecutive increments, so ts in any order. NDE_OK, or
 * NDE_EINVAL (bm NULL; ts or W NULL with n > 0; a time outside [t0, t1]: nothing
 * written, nde_brownian_message says why). alloc: none · errors: status · thread: as
 * nde_brownian_increment */
NDE_API int nde_brownian_path(nde_brownian *bm, size_t n, const double *ts, double *W);

/* Frees the tree (or grid); NULL is a no-op. alloc: frees · errors: none · thread: safe */
NDE_API void nde_brownian_free(nde_brownian *bm);

#ifdef __cplusplus
}
#endif
#endif
