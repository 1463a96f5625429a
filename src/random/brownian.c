/* The virtual Brownian tree (nde/brownian.h): W with the space-time and space-time-time
 * Lévy areas, from one seed, in constant memory.
 *
 * Internally time is normalised to [0, 1] (t = t0 + (t1 - t0) tau) and the path to unit
 * scale (values are multiplied by sqrt(t1 - t0) on the way out). An interval [a, a + h]
 * is carried as its increment triple in Diffrax's "barred" form, per component i:
 *   W = W(a + h) - W(a),   Hb = h H,   Kb = h^2 K,
 * each array comp-major in a block of m = ncomp * dim doubles: W[dim], Hb[dim], Kb[dim].
 *
 * Node splits (Diffrax's tree.py, from Foster's thesis Thm 6.1.6 and Jelinčič, Foster &
 * Kidger 2024), node [a, a + su] into halves of length st = su/2:
 *   W_l,r = W/2 +- (3/(2 su)) Hb +- Z                          Z ~ N(0, su/16)
 *   levy 1: Hb_l,r = Hb/8 - (su/4) Z +- (su/4) N               N ~ N(0, su/12)
 *   levy 2: Hb_l,r = Hb/8 - (st/2) Z +- (15/(8 su) Kb + st X1)  X1 ~ N(0, su/768)
 *           Kb_l,r = Kb/32 - (su^2/8) X1 +- (su^2/4) X2         X2 ~ N(0, su/2880)
 * (levy 0: Z ~ N(0, su/4) and no Hb term). Leaf interpolation at a + sr, ru = su - sr:
 * the exact conditional law of the triple on [a, a + sr] given the leaf's (Brownian bridge;
 * Foster Thm 6.1.4 for (W, H); Jelinčič et al. Thm 3.7 for (W, H, K), sampled by a 3x3
 * Cholesky factor shared by every component).
 *
 * A query [s, t] finds the deepest node [a_p, ..] that holds both times, builds the
 * triples of [a_p, s] and [a_p, t] by Chen's relation (concat below) from the left
 * siblings along each path and the leaf interpolation, and takes [s, t] as the
 * difference. Working from a_p rather than from 0 keeps the magnitudes at the scale of
 * the query, so H and K of a short step do not cancel against values of the whole path.
 *
 * The cache: levels 0 .. cached - 1 of the last path (its node triples, and the left
 * child of each split) stay valid, and a descent recomputes only the levels below the
 * first node where its path leaves the cached one; and the leaf interpolation of the last
 * time asked is kept (a solver's next step starts there). A node's triple is a pure function of
 * the seed and its path, so cached and recomputed values are the same bits. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "random/internal.h"
#include "numerics/internal.h"
#include "nde/brownian.h"

struct nde_brownian {
    nde_allocator alloc;
    size_t bytes;          /* of the one array `mem` */
    size_t dim, m;         /* m = ncomp * dim: doubles per triple (and normals per node) */
    int levy, ncomp, depth;
    double t0, t1, scale;  /* scale = sqrt(t1 - t0) */
    uint64_t seed;
    int cached;            /* levels 0 .. cached - 1 of ids/node hold the last path */
    uint64_t ids[NDE_BROWNIAN_MAX_DEPTH + 1];   /* node id per level: root 1, children 2j, 2j + 1 */
    double len[NDE_BROWNIAN_MAX_DEPTH + 2];     /* len[l] = 2^-l, a node's length at level l */
    double *mem;
    double *node;          /* (depth + 1) m: the triple of the path's node at each level */
    double *left;          /* depth m: the left child of the level's node (split result) */
    double *z, *leaf, *vlo, *vhi;   /* m each: normals, a leaf piece, the two accumulations */
    double *last;          /* m: the leaf piece of the last time interpolated, last_tau */
    double last_tau;       /* -1: none */
    /* a stored grid (nde_brownian_grid_create) instead of a tree: n_cells cells of length
     * 1/n_cells (normalised), cell k's triple at cells + k m; NULL for a tree */
    size_t n_cells;
    double *cells;
    uint64_t stream;       /* the normals' stream: NDE_STREAM_BROWNIAN_FIRST (tree) or + 1 (grid) */
    char msg[NDE_MESSAGE_MAX];
};

/* ---- triples: Chen's relation -------------------------------------------------- */

/* v (interval of length h1) := v followed by b (length h2), in place. */
NDE__VEC_CLONES
static void concat(const nde_brownian *bm, double *v, double h1, const double *b, double h2)
{
    size_t d = bm->dim;
    for (size_t i = 0; i < d; i++) {
        double W1 = v[i], W2 = b[i];
        double cross = h2 * W1 - h1 * W2;
        if (bm->levy >= 1) {
            double H1 = v[d + i], H2 = b[d + i];
            if (bm->levy == 2)
                v[2 * d + i] += b[2 * d + i] + 0.5 * (h2 * H1 - h1 * H2) + (h2 - h1) * cross / 12.0;
            v[d + i] = H1 + H2 + 0.5 * cross;
        }
        v[i] = W1 + W2;
    }
}

/* out := the b with a (length h1) followed by b (length h2) equal to c. */
NDE__VEC_CLONES
static void deconcat(const nde_brownian *bm, const double *c, const double *a, double h1, double h2,
                     double *out)
{
    size_t d = bm->dim;
    for (size_t i = 0; i < d; i++) {
        double W1 = a[i], W2 = c[i] - a[i];
        double cross = h2 * W1 - h1 * W2;
        out[i] = W2;
        if (bm->levy >= 1) {
            double H1 = a[d + i], H2 = c[d + i] - H1 - 0.5 * cross;
            out[d + i] = H2;
            if (bm->levy == 2)
                out[2 * d + i] = c[2 * d + i] - a[2 * d + i] - 0.5 * (h2 * H1 - h1 * H2)
                                 - (h2 - h1) * cross / 12.0;
        }
    }
}

/* ---- the tree -------------------------------------------------------------------- */

/* The m normals of node `id` (block 0: the root's values). */
static void node_normals(nde_brownian *bm, uint64_t id)
{
    nde__rand_normals_at(bm->seed, bm->stream, id * (uint64_t)bm->m, bm->m, bm->z);
}

static void root(nde_brownian *bm)
{
    size_t d = bm->dim;
    node_normals(bm, 0);
    for (size_t i = 0; i < d; i++) bm->node[i] = bm->z[i];
    if (bm->levy >= 1) for (size_t i = 0; i < d; i++) bm->node[d + i] = bm->z[d + i] / sqrt(12.0);
    if (bm->levy == 2) for (size_t i = 0; i < d; i++) bm->node[2 * d + i] = bm->z[2 * d + i] / sqrt(720.0);
    bm->ids[0] = 1;
    bm->cached = 1;
}

/* Splits the node p (id, length su) into its halves l and r. */
NDE__VEC_CLONES
static void split(nde_brownian *bm, const double *p, uint64_t id, double su, double *l, double *r)
{
    size_t d = bm->dim;
    const double *z = bm->z;
    node_normals(bm, id);
    if (bm->levy == 0) {
        double sd = 0.5 * sqrt(su);
        for (size_t i = 0; i < d; i++) {
            double Z = sd * z[i];
            l[i] = 0.5 * p[i] + Z;
            r[i] = 0.5 * p[i] - Z;
        }
        return;
    }
    double sdZ = sqrt(su / 16.0), c = 1.5 / su, q = 0.25 * su;
    if (bm->levy == 1) {
        double sdN = sqrt(su / 12.0);
        for (size_t i = 0; i < d; i++) {
            double Z = sdZ * z[i], N = sdN * z[d + i], W = p[i], Hb = p[d + i];
            l[i] = 0.5 * W + c * Hb + Z;
            r[i] = 0.5 * W - c * Hb - Z;
            l[d + i] = Hb / 8.0 - q * Z + q * N;
            r[d + i] = Hb / 8.0 - q * Z - q * N;
        }
        return;
    }
    double sd1 = sqrt(su / 768.0), sd2 = sqrt(su / 2880.0), st = 0.5 * su, su2 = su * su;
    for (size_t i = 0; i < d; i++) {
        double Z = sdZ * z[i], X1 = sd1 * z[d + i], X2 = sd2 * z[2 * d + i];
        double W = p[i], Hb = p[d + i], Kb = p[2 * d + i];
        double hm = Hb / 8.0 - 0.5 * st * Z, hd = 15.0 / (8.0 * su) * Kb + st * X1;
        double km = Kb / 32.0 - su2 / 8.0 * X1, kd = su2 / 4.0 * X2;
        l[i] = 0.5 * W + c * Hb + Z;
        r[i] = 0.5 * W - c * Hb - Z;
        l[d + i] = hm + hd;
        r[d + i] = hm - hd;
        l[2 * d + i] = km + kd;
        r[2 * d + i] = km - kd;
    }
}

/* Makes levels 0 .. depth of the cache the path of tau, recomputing only below the first
 * level where it leaves the cached path. */
static void descend(nde_brownian *bm, double tau)
{
    if (bm->cached == 0) root(bm);
    size_t m = bm->m;
    for (int l = 0; l < bm->depth; l++) {
        uint64_t id = bm->ids[l];
        double len = bm->len[l];
        double a = (double)(id - (UINT64_C(1) << l)) * len;
        int right = tau > a + 0.5 * len;
        uint64_t child = 2 * id + (uint64_t)right;
        if (bm->cached > l + 1 && bm->ids[l + 1] == child) continue;
        double *nl = bm->left + (size_t)l * m, *nc = bm->node + (size_t)(l + 1) * m;
        if (right) {
            split(bm, bm->node + (size_t)l * m, id, len, nl, nc);
        } else {
            split(bm, bm->node + (size_t)l * m, id, len, nl, bm->leaf);
            memcpy(nc, nl, m * sizeof *nc);
        }
        bm->ids[l + 1] = child;
        bm->cached = l + 2;
    }
}

/* 3x3 Cholesky factor of a covariance, rows of L in L[0..5] = L00 L10 L11 L20 L21 L22;
 * a pivot lost to round-off (below 1e-13 of its diagonal) is taken as 0. */
static void chol3(const double C[6], double L[6])
{
    double c00 = C[0], c10 = C[1], c11 = C[2], c20 = C[3], c21 = C[4], c22 = C[5];
    double l00 = c00 > 0 ? sqrt(c00) : 0;
    double l10 = l00 > 0 ? c10 / l00 : 0, l20 = l00 > 0 ? c20 / l00 : 0;
    double d1 = c11 - l10 * l10;
    double l11 = d1 > 1e-13 * c11 ? sqrt(d1) : 0;
    double l21 = l11 > 0 ? (c21 - l20 * l10) / l11 : 0;
    double d2 = c22 - l20 * l20 - l21 * l21;
    double l22 = d2 > 1e-13 * c22 ? sqrt(d2) : 0;
    L[0] = l00; L[1] = l10; L[2] = l11; L[3] = l20; L[4] = l21; L[5] = l22;
}

/* out := the triple of [a, a + sr] given the leaf's triple p on [a, a + su]. */
NDE__VEC_CLONES
static void interpolate(nde_brownian *bm, const double *p, uint64_t id, double su, double sr, double *out)
{
    size_t d = bm->dim, m = bm->m;
    if (sr <= 0) { memset(out, 0, m * sizeof *out); return; }
    if (sr >= su) { memcpy(out, p, m * sizeof *out); return; }
    double ru = su - sr, x = sr / su, y = ru / su;
    const double *z = bm->z;
    node_normals(bm, id);
    if (bm->levy == 0) {
        double sd = sqrt(sr * y);
        for (size_t i = 0; i < d; i++) out[i] = x * p[i] + sd * z[i];
        return;
    }
    if (bm->levy == 1) {
        double sr3 = sr * sr * sr, ru3 = ru * ru * ru;
        double dd = sqrt(sr3 + ru3), sq = sqrt(sr * ru);
        double a = sr3 * sq / (2 * su * dd), b = ru3 * sq / (2 * su * dd);
        double c = sqrt(3 * sr3 * ru3) / (6 * dd);
        double cw = 6 * x * y / su, cx = 2 * (a + b) / su, x3 = x * x * x;
        for (size_t i = 0; i < d; i++) {
            double X1 = z[i], X2 = z[d + i];
            out[i] = x * p[i] + cw * p[d + i] + cx * X1;
            out[d + i] = x3 * p[d + i] - a * X1 + c * X2;
        }
        return;
    }
    /* (W, H, K) of [a, a + sr], H and K unbarred, given the leaf: mean and covariance of
     * Jelinčič, Foster & Kidger Thm 3.7, written in x = sr/su, y = ru/su */
    double C[6], L[6];
    double x2 = x * x, x3 = x2 * x, x4 = x2 * x2, x5 = x4 * x, d2 = (x - y) * (x - y);
    C[0] = su * x * y * (d2 * d2 + 4 * x2 * y * y);
    C[1] = -su * x3 * y * (x2 - 3 * x * y + 6 * y * y) / 2;
    C[2] = su * x / 12 * (1 - x3 * (x2 + 2 * x * y + 16 * y * y));
    C[3] = su * x4 * y * (x - y) / 12;
    C[4] = -su * x5 * y / 24;
    C[5] = su * x / 720 * (1 - x5);
    chol3(C, L);
    double su2 = su * su;
    double mwh = 6 * x * y / su, mwk = 120 * x * y * (0.5 - x) / su2;
    double mhh = x2 / su, mhk = 30 * x2 * y / su2, mkk = x3 / su2;
    for (size_t i = 0; i < d; i++) {
        double W = p[i], Hb = p[d + i], Kb = p[2 * d + i];
        double z0 = z[i], z1 = z[d + i], z2 = z[2 * d + i];
        double w = x * W + mwh * Hb + mwk * Kb + L[0] * z0;
        double h = mhh * Hb + mhk * Kb + L[1] * z0 + L[2] * z1;
        double k = mkk * Kb + L[3] * z0 + L[4] * z1 + L[5] * z2;
        out[i] = w;
        out[d + i] = sr * h;
        out[2 * d + i] = sr * sr * k;
    }
}

/* v := the triple of [a_p, tau], a_p the left end of the level-p node on tau's path. */
static void value_from(nde_brownian *bm, double tau, int p, double *v)
{
    size_t m = bm->m;
    descend(bm, tau);
    memset(v, 0, m * sizeof *v);
    double len = 0;
    for (int l = p; l < bm->depth; l++) {
        if (bm->ids[l + 1] & 1u) {
            double half = bm->len[l + 1];
            concat(bm, v, len, bm->left + (size_t)l * m, half);
            len += half;
        }
    }
    int L = bm->depth;
    uint64_t id = bm->ids[L];
    double su = bm->len[L], a = (double)(id - (UINT64_C(1) << L)) * su;
    double sr = tau - a;
    if (sr < 0) sr = 0;
    if (sr > su) sr = su;
    if (tau != bm->last_tau) {
        interpolate(bm, bm->node + (size_t)L * m, id, su, sr, bm->last);
        bm->last_tau = tau;
    }
    concat(bm, v, len, bm->last, sr);
}

/* ---- public API ------------------------------------------------------------------ */

static int bad_params(size_t dim, double t0, double t1, double tol, int levy, char *eb, size_t es)
{
    if (dim == 0) return nde__msg(eb, es, NDE_EINVAL, "brownian tree: dim must be >= 1, got 0");
    if (!isfinite(t0) || !isfinite(t1) || !(t0 < t1))
        return nde__msg(eb, es, NDE_EINVAL,
                        "brownian tree: need finite t0 < t1, got [%.17g, %.17g]", t0, t1);
    if (!isfinite(t1 - t0))
        return nde__msg(eb, es, NDE_EINVAL, "brownian tree: t1 - t0 overflows, [%.17g, %.17g]", t0, t1);
    if (!(tol > 0) || !isfinite(tol))
        return nde__msg(eb, es, NDE_EINVAL, "brownian tree: tol must be > 0 and finite, got %.17g", tol);
    if (levy < NDE_LEVY_NONE || levy > NDE_LEVY_SPACE_TIME_TIME)
        return nde__msg(eb, es, NDE_EINVAL,
                        "brownian tree: levy must be NDE_LEVY_NONE, _SPACE_TIME or _SPACE_TIME_TIME "
                        "(0, 1, 2), got %d", levy);
    return NDE_OK;
}

nde_brownian *nde_brownian_tree_create_ex(size_t dim, double t0, double t1, double tol,
                                          uint64_t seed, int levy, const nde_allocator *a,
                                          char *errbuf, size_t errbuf_size)
{
    if (bad_params(dim, t0, t1, tol, levy, errbuf, errbuf_size)) return NULL;
    size_t ncomp = (size_t)levy + 1, m, total = 0;
    if (nde__size_mul(ncomp, dim, &m)) {
        nde__msg(errbuf, errbuf_size, NDE_EINVAL, "brownian tree: dim %zu too large", dim);
        return NULL;
    }
    /* depth: bisect while the leaves are longer than tol, at most NDE_BROWNIAN_MAX_DEPTH,
     * and so that every node's normal index id * m + m - 1 < 2^(depth + 1) m fits 64 bits */
    double T = t1 - t0;
    int depth = 0, cap = NDE_BROWNIAN_MAX_DEPTH;
    while (cap > 0 && ((uint64_t)m >> (63 - cap)) != 0) cap--;
    while (depth < cap && ldexp(T, -depth) > tol) depth++;
    if (nde__size_muladd(&total, (size_t)depth * 2 + 6, m) ||
        nde__size_mul(total, sizeof(double), &total)) {
        nde__msg(errbuf, errbuf_size, NDE_EINVAL, "brownian tree: dim %zu too large", dim);
        return NULL;
    }
    nde_allocator al = nde__allocator_resolve(a);
    nde_brownian *bm = nde__calloc(&al, 1, sizeof *bm);
    double *mem = bm ? nde__alloc(&al, total) : NULL;
    if (!mem) {
        nde__free(&al, bm, sizeof *bm);
        nde__msg(errbuf, errbuf_size, NDE_ENOMEM,
                 "brownian tree: out of memory (%zu bytes for dim %zu, depth %d)", total, dim, depth);
        return NULL;
    }
    bm->alloc = al;
    bm->bytes = total;
    bm->dim = dim;
    bm->m = m;
    bm->levy = levy;
    bm->ncomp = (int)ncomp;
    bm->depth = depth;
    bm->t0 = t0;
    bm->t1 = t1;
    bm->scale = sqrt(T);
    bm->seed = seed;
    bm->stream = NDE_STREAM_BROWNIAN_FIRST;
    bm->cached = 0;
    for (int l = 0; l <= NDE_BROWNIAN_MAX_DEPTH + 1; l++) bm->len[l] = ldexp(1.0, -l);
    bm->mem = mem;
    bm->node = mem;
    bm->left = bm->node + (size_t)(depth + 1) * m;
    bm->z = bm->left + (size_t)depth * m;
    bm->leaf = bm->z + m;
    bm->vlo = bm->leaf + m;
    bm->vhi = bm->vlo + m;
    bm->last = bm->vhi + m;
    bm->last_tau = -1;
    bm->msg[0] = '\0';
    return bm;
}

nde_brownian *nde_brownian_tree_create(size_t dim, double t0, double t1, double tol,
                                       uint64_t seed, int levy)
{
    return nde_brownian_tree_create_ex(dim, t0, t1, tol, seed, levy, NULL, NULL, 0);
}

/* tau of time r in [t0, t1] (100 ULP slack, then clamped); -1 if outside. */
static double normalise(const nde_brownian *bm, double r)
{
    if (r < bm->t0 && !nde__time_close(r, bm->t0, NDE__TIME_ULPS)) return -1;
    if (r > bm->t1 && !nde__time_close(r, bm->t1, NDE__TIME_ULPS)) return -1;
    if (r <= bm->t0) return 0;
    if (r >= bm->t1) return 1;
    double tau = (r - bm->t0) / (bm->t1 - bm->t0);
    return tau > 1 ? 1 : tau;
}

/* The normalised triple v of an interval of length h out to the caller's units. */
static int scale_out(const nde_brownian *bm, const double *v, double sign, double h, double *W, double *H,
                     double *K)
{
    size_t d = bm->dim;
    double c = bm->scale;
    nde__num_scale_div(d, W, sign * c, v, 1.0);
    if (H) nde__num_scale_div(d, H, c, v + d, h);
    if (K) {
        /* h^2 underflows for h below 1.5e-154 (an interval of a few ULPs near 0): divide
         * by h twice there (K's integral has underflowed too, so K is then ~0, not NaN) */
        const double h2 = h * h;
        if (h2 >= DBL_MIN) nde__num_scale_div(d, K, sign * c, v + 2 * d, h2);
        else {
            nde__num_scale_div(d, K, sign * c, v + 2 * d, h);
            nde__num_scale_div(d, K, 1.0, K, h);
        }
    }
    return NDE_OK;
}

/* ---- the stored grid ----------------------------------------------------------------
 * Cell k = [k/n, (k+1)/n] holds its triple, drawn at create from normals k m .. k m + m - 1
 * of stream NDE_STREAM_BROWNIAN_FIRST + 1 (the tree's root law scaled to the cell). A
 * time inside a cell is the tree's leaf interpolation with the cell's own normals
 * (block n + k), so times on the grid are exact lookups and others have the tree's law
 * and its caveat (two times inside one cell share the cell's normals). */

/* x = tau n, snapped to the nearest integer within rounding (grid times given as
 * t0 + k dt arrive a few ULPs off k/n). */
static double grid_pos(const nde_brownian *bm, double tau)
{
    double x = tau * (double)bm->n_cells, r = nearbyint(x);
    return fabs(x - r) <= 64.0 * DBL_EPSILON * fmax(1.0, r) ? r : x;
}

/* out := the triple of [k/n, k/n + sr] within cell k (0 <= sr <= 1/n). */
static void grid_in_cell(nde_brownian *bm, size_t k, double sr, double *out)
{
    double su = 1.0 / (double)bm->n_cells;
    interpolate(bm, bm->cells + k * bm->m, (uint64_t)(bm->n_cells + k), su, sr, out);
}

/* The triple of [lo, hi] (normalised, lo < hi): a partial first cell, whole cells, a
 * partial last cell, joined by Chen's relation, in out; or, for exactly one whole cell,
 * that cell's stored triple itself. */
static const double *grid_increment(nde_brownian *bm, double lo, double hi, double *out)
{
    size_t n = bm->n_cells, m = bm->m;
    double su = 1.0 / (double)n, xl = grid_pos(bm, lo), xh = grid_pos(bm, hi);
    size_t a = (size_t)xl, b = (size_t)ceil(xh);      /* cells a .. b - 1 are touched */
    if (a >= n) a = n - 1;
    if (b > n) b = n;
    if (b <= a) b = a + 1;
    double sl = (xl - (double)a) * su, sh = (xh - (double)(b - 1)) * su;   /* offsets in cells a, b - 1 */
    if (sl < 0) sl = 0;
    if (sh > su) sh = su;
    const double *last = bm->cells + (b - 1) * m;
    if (b == a + 1 && sl == 0 && sh == su) return last;   /* one whole cell: a step on the grid */
    if (b == a + 1) {
        grid_in_cell(bm, a, sl, bm->vlo);
        grid_in_cell(bm, a, sh, bm->vhi);
        deconcat(bm, bm->vhi, bm->vlo, sl, sh - sl, out);
        return out;
    }
    /* whole end cells are their stored triples: deconcat from a zero start and the
     * interpolation at a cell's end give exactly those values, without the passes */
    if (sl == 0) {
        memcpy(out, bm->cells + a * m, m * sizeof *out);
    } else {
        grid_in_cell(bm, a, sl, bm->vlo);
        deconcat(bm, bm->cells + a * m, bm->vlo, sl, su - sl, out);
    }
    double len = su - sl;
    for (size_t k = a + 1; k + 1 < b; k++, len += su) concat(bm, out, len, bm->cells + k * m, su);
    if (sh < su) grid_in_cell(bm, b - 1, sh, bm->vhi);
    concat(bm, out, len, sh < su ? bm->vhi : last, sh);
    return out;
}

int nde_brownian_increment(nde_brownian *bm, double s, double t, double *W, double *H, double *K)
{
    if (!bm) return NDE_EINVAL;
    char *eb = bm->msg;
    size_t es = sizeof bm->msg;
    if (!W) return nde__msg(eb, es, NDE_EINVAL, "brownian increment: W is NULL");
    if (H && bm->levy < NDE_LEVY_SPACE_TIME)
        return nde__msg(eb, es, NDE_EUNSUPPORTED,
                        "brownian increment: H asked of a tree made with levy NDE_LEVY_NONE");
    if (K && bm->levy < NDE_LEVY_SPACE_TIME_TIME)
        return nde__msg(eb, es, NDE_EUNSUPPORTED,
                        "brownian increment: K asked of a tree made with levy %d "
                        "(it needs NDE_LEVY_SPACE_TIME_TIME)", bm->levy);
    if (!isfinite(s) || !isfinite(t))
        return nde__msg(eb, es, NDE_EINVAL, "brownian increment: times must be finite, got [%.17g, %.17g]",
                        s, t);
    double ts = normalise(bm, s), tt = normalise(bm, t);
    if (ts < 0 || tt < 0)
        return nde__msg(eb, es, NDE_EINVAL,
                        "brownian increment: time %.17g outside the tree's [%.17g, %.17g]",
                        ts < 0 ? s : t, bm->t0, bm->t1);
    bm->msg[0] = '\0';
    size_t d = bm->dim;
    double lo = ts < tt ? ts : tt, hi = ts < tt ? tt : ts, sign = ts <= tt ? 1.0 : -1.0;
    double h = hi - lo;
    if (!(h > 0)) {
        memset(W, 0, d * sizeof *W);
        if (H) memset(H, 0, d * sizeof *H);
        if (K) memset(K, 0, d * sizeof *K);
        return NDE_OK;
    }
    if (bm->cells) {
        return scale_out(bm, grid_increment(bm, lo, hi, bm->leaf), sign, h, W, H, K);
    }
    /* p: the deepest level whose node holds both lo and hi */
    int p = 0;
    uint64_t id = 1;
    for (; p < bm->depth; p++) {
        double len = bm->len[p], mid = (double)(id - (UINT64_C(1) << p)) * len + 0.5 * len;
        if ((lo > mid) != (hi > mid)) break;
        id = 2 * id + (uint64_t)(lo > mid);
    }
    double ap = (double)(id - (UINT64_C(1) << p)) * bm->len[p];
    value_from(bm, lo, p, bm->vlo);
    value_from(bm, hi, p, bm->vhi);
    deconcat(bm, bm->vhi, bm->vlo, lo - ap, h, bm->leaf);
    return scale_out(bm, bm->leaf, sign, h, W, H, K);
}

const char *nde_brownian_message(const nde_brownian *bm)
{
    return bm ? bm->msg : "";
}

void nde__rand_brownian_shape(const nde_brownian *bm, size_t *dim, double *t0, double *t1, int *levy)
{
    *dim = bm->dim;
    *t0 = bm->t0;
    *t1 = bm->t1;
    *levy = bm->levy;
}

int nde_brownian_depth(const nde_brownian *bm)
{
    return bm ? bm->depth : 0;
}

nde_brownian *nde_brownian_grid_create_ex(size_t dim, double t0, double t1, size_t n, uint64_t seed,
                                          int levy, const nde_allocator *a, char *errbuf, size_t errbuf_size)
{
    if (n == 0) {
        nde__msg(errbuf, errbuf_size, NDE_EINVAL, "brownian grid: need n >= 1 cells, got 0");
        return NULL;
    }
    double T = t1 - t0;
    if (bad_params(dim, t0, t1, isfinite(T) && T > 0 ? T / (double)n : 1.0, levy, errbuf, errbuf_size)) return NULL;
    size_t ncomp = (size_t)levy + 1, m, total = 0;
    if (nde__size_mul(ncomp, dim, &m) || n > ((size_t)1 << 52) || nde__size_muladd(&total, n + 6, m) ||
        nde__size_mul(total, sizeof(double), &total) || (uint64_t)m > (UINT64_MAX / 2) / ((uint64_t)n + 1)) {
        nde__msg(errbuf, errbuf_size, NDE_EINVAL, "brownian grid: %zu cells of dim %zu are too many", n, dim);
        return NULL;
    }
    nde_allocator al = nde__allocator_resolve(a);
    nde_brownian *bm = nde__calloc(&al, 1, sizeof *bm);
    double *mem = bm ? nde__alloc(&al, total) : NULL;
    if (!mem) {
        nde__free(&al, bm, sizeof *bm);
        nde__msg(errbuf, errbuf_size, NDE_ENOMEM, "brownian grid: out of memory (%zu bytes for %zu cells of dim %zu)",
                 total, n, dim);
        return NULL;
    }
    bm->alloc = al;
    bm->bytes = total;
    bm->dim = dim;
    bm->m = m;
    bm->levy = levy;
    bm->ncomp = (int)ncomp;
    bm->depth = 0;
    bm->t0 = t0;
    bm->t1 = t1;
    bm->scale = sqrt(T);
    bm->seed = seed;
    bm->stream = NDE_STREAM_BROWNIAN_FIRST + 1;
    bm->n_cells = n;
    bm->mem = mem;
    bm->cells = mem;
    bm->z = mem + n * m;
    bm->leaf = bm->z + m;
    bm->vlo = bm->leaf + m;
    bm->vhi = bm->vlo + m;
    bm->last = bm->vhi + m;
    bm->node = bm->left = NULL;
    bm->last_tau = -1;
    /* the normals of cells 0 .. n - 1 are one contiguous run; each cell is drawn and
     * scaled while it is in cache */
    double su = 1.0 / (double)n, sw = sqrt(su), shb = su * sw / sqrt(12.0), skb = su * su * sw / sqrt(720.0);
    for (size_t k = 0; k < n; k++) {
        double *c = bm->cells + k * m;
        nde__rand_normals_at(seed, bm->stream, (uint64_t)(k * m), m, c);
        nde__num_scale_div(dim, c, sw, c, 1.0);
        if (levy >= 1) nde__num_scale_div(dim, c + dim, shb, c + dim, 1.0);
        if (levy == 2) nde__num_scale_div(dim, c + 2 * dim, skb, c + 2 * dim, 1.0);
    }
    bm->msg[0] = '\0';
    return bm;
}

nde_brownian *nde_brownian_grid_create(size_t dim, double t0, double t1, size_t n, uint64_t seed, int levy)
{
    return nde_brownian_grid_create_ex(dim, t0, t1, n, seed, levy, NULL, NULL, 0);
}

int nde_brownian_path(nde_brownian *bm, size_t n, const double *ts, double *W)
{
    if (!bm) return NDE_EINVAL;
    if (n && (!ts || !W)) return nde__msg(bm->msg, sizeof bm->msg, NDE_EINVAL, "brownian path: %s is NULL", !ts ? "ts" : "W");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(ts[i]) || normalise(bm, ts[i]) < 0)
            return nde__msg(bm->msg, sizeof bm->msg, NDE_EINVAL,
                            "brownian path: ts[%zu] = %.17g is outside [%.17g, %.17g]", i, ts[i], bm->t0, bm->t1);
    size_t d = bm->dim;
    for (size_t i = 0; i < n; i++) {
        double *row = W + i * d;
        int rc = nde_brownian_increment(bm, i ? ts[i - 1] : bm->t0, ts[i], row, NULL, NULL);
        if (rc) return rc;
        if (i) for (size_t k = 0; k < d; k++) row[k] += W[(i - 1) * d + k];
    }
    return NDE_OK;
}

void nde_brownian_free(nde_brownian *bm)
{
    if (!bm) return;
    nde_allocator al = bm->alloc;
    nde__free(&al, bm->mem, bm->bytes);
    nde__free(&al, bm, sizeof *bm);
}
