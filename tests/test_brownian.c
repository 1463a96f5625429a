/* The virtual Brownian tree (nde/brownian.h): bitwise determinism whatever the query
 * order, reverse queries, Chen's relations for W, H and K, the laws of W, H and K at
 * non-dyadic times over many seeds (moments, covariances, Kolmogorov-Smirnov), the
 * conditional law of W inside an interval against the Gaussian regression derived here
 * from the covariances of Brownian motion (with controls: a wrong sign of the H term, or
 * a mean without K, must fail the same test), the joint law of (W, H, K) over an
 * interval and two inner points against covariances integrated from the kernels of the
 * functionals, independence of disjoint increments, depth against tol, no allocation
 * per query, and bad input.
 *
 * Not tested because not true: two query times inside one leaf (closer than tol) share
 * the leaf's normals, so their joint law is only approximate (each alone is exact); the
 * tests keep every query time alone in its leaf, as nde/brownian.h asks of callers.
 *
 * Significance. Each z-test allows 5 standard errors (two-sided p = 5.7e-7); each KS
 * test allows sqrt(n) D < 2.22 (asymptotic p = 1.0e-4). Seeds are fixed, so the suite is
 * deterministic; the levels say how unlikely a correct tree is to fail with fresh seeds. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "brownian_oracle.h"

#define ZMAX 5.0      /* z-tests: |z| < 5 */
#define KSMAX 2.22    /* KS: sqrt(n) D < 2.22, p = 1e-4 */

static double mean(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s / (double)n;
}

/* E[x y] for zero-mean samples (the true means are 0). */
static double mom2(const double *x, const double *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * y[i];
    return s / (double)n;
}

/* Checks that x[0..n) looks like N(0, var): mean, variance, KS of x / sqrt(var). */
static void check_normal(const char *what, double *x, size_t n, double var)
{
    double m = mean(x, n), v = mom2(x, x, n);
    double zm = m / sqrt(var / (double)n), zv = (v / var - 1) / sqrt(2.0 / (double)n);
    CHECK_MSG(fabs(zm) < ZMAX, "%s: mean %.4g, z = %.2f", what, m, zm);
    CHECK_MSG(fabs(zv) < ZMAX, "%s: variance %.6g vs %.6g, z = %.2f", what, v, var, zv);
    for (size_t i = 0; i < n; i++) x[i] /= sqrt(var);
    double ks = ks_normal(x, n);
    CHECK_MSG(ks < KSMAX, "%s: KS sqrt(n) D = %.3f", what, ks);
}

/* Checks E[x y] = 0 for independent N(0, vx), N(0, vy) samples. */
static void check_uncorrelated(const char *what, const double *x, double vx, const double *y, double vy,
                               size_t n)
{
    double z = mom2(x, y, n) / sqrt(vx * vy / (double)n);
    CHECK_MSG(fabs(z) < ZMAX, "%s: correlation z = %.2f", what, z);
}

/* ---- determinism and order ------------------------------------------------------ */

#define NQ 200

static void random_times(double t0, double t1, double *s, double *t, size_t n, uint64_t seed)
{
    double u[2 * NQ];
    nde_uniform_fill(seed, NDE_STREAM_USER_FIRST, 2 * n, u);
    for (size_t i = 0; i < n; i++) {
        s[i] = t0 + (t1 - t0) * u[2 * i];
        t[i] = t0 + (t1 - t0) * u[2 * i + 1];
    }
}

static void test_same_bits_any_order(void)
{
    for (int levy = 0; levy <= 2; levy++) {
        enum { D = 3 };
        double s[NQ], t[NQ], W[NQ][D], H[NQ][D], K[NQ][D];
        random_times(-1.0, 2.5, s, t, NQ, 7);
        nde_brownian *a = nde_brownian_tree_create(D, -1.0, 2.5, 1e-5, 1234, levy);
        CHECK(a != NULL);
        if (!a) return;
        for (size_t i = 0; i < NQ; i++)
            CHECK_EQ_INT(nde_brownian_increment(a, s[i], t[i], W[i], levy >= 1 ? H[i] : NULL,
                                                levy == 2 ? K[i] : NULL), 0);
        /* backwards, on the same tree (its cache holds other paths), and each on a fresh
         * tree: the same bits */
        size_t mism = 0;
        for (size_t j = 0; j < NQ; j++) {
            size_t i = NQ - 1 - j;
            double w[D], h[D], k[D];
            nde_brownian_increment(a, s[i], t[i], w, levy >= 1 ? h : NULL, levy == 2 ? k : NULL);
            if (memcmp(w, W[i], sizeof w) || (levy >= 1 && memcmp(h, H[i], sizeof h)) ||
                (levy == 2 && memcmp(k, K[i], sizeof k))) mism++;
            nde_brownian *f = nde_brownian_tree_create(D, -1.0, 2.5, 1e-5, 1234, levy);
            nde_brownian_increment(f, s[i], t[i], w, levy >= 1 ? h : NULL, levy == 2 ? k : NULL);
            if (memcmp(w, W[i], sizeof w) || (levy >= 1 && memcmp(h, H[i], sizeof h)) ||
                (levy == 2 && memcmp(k, K[i], sizeof k))) mism++;
            nde_brownian_free(f);
        }
        CHECK_MSG(mism == 0, "levy %d: %zu of %d re-queries differ in some bit", levy, mism, 2 * NQ);
        /* another seed: another path */
        nde_brownian *b = nde_brownian_tree_create(D, -1.0, 2.5, 1e-5, 1235, levy);
        double w[D];
        nde_brownian_increment(b, s[0], t[0], w, NULL, NULL);
        CHECK(w[0] != W[0][0]);
        nde_brownian_free(b);
        nde_brownian_free(a);
    }
}

/* The reproducibility contract: these bits are the path of seed 42 in every version
 * (docs/random.md; the same on every IEEE machine that builds without contraction). */
static void test_pinned_values(void)
{
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 3.0, 1e-3, 42, NDE_LEVY_SPACE_TIME_TIME);
    double v[2][6], got[6];
    nde_brownian_increment(bm, 0.7, 2.2, got, got + 2, got + 4);
    memcpy(v[0], got, sizeof got);
    nde_brownian_increment(bm, 0.0, 3.0, got, got + 2, got + 4);
    memcpy(v[1], got, sizeof got);
    nde_brownian_free(bm);
    static const double want[2][6] = {
        { -0x1.3197235be81e6p-1, 0x1.03675b2fbd949p+0, 0x1.8a387c02034cap-2, 0x1.33456c695d10bp-1,
          0x1.77fb18cee0da9p-6, -0x1.63bfdd36711b2p-8 },
        { 0x1.1f6d07ad7bd36p+0, 0x1.04726b401105p+1, 0x1.977cc5174ec7bp-1, 0x1.ce2ac945e1a53p-2,
          0x1.4ff5c1837f4b3p-4, -0x1.854dbd8ec6672p-4 },
    };
    for (int q = 0; q < 2; q++)
        for (int i = 0; i < 6; i++)
            CHECK_MSG(v[q][i] == want[q][i], "query %d value %d: %a, pinned %a", q, i, v[q][i], want[q][i]);
}

static void test_reverse_queries(void)
{
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, 3.0, 1e-4, 99, NDE_LEVY_SPACE_TIME_TIME);
    double s[NQ], t[NQ];
    random_times(0.0, 3.0, s, t, NQ, 8);
    size_t bad = 0;
    for (size_t i = 0; i < NQ; i++) {
        double W[2], H[2], K[2], w[2], h[2], k[2];
        nde_brownian_increment(bm, s[i], t[i], W, H, K);
        nde_brownian_increment(bm, t[i], s[i], w, h, k);
        for (int j = 0; j < 2; j++)
            if (w[j] != -W[j] || h[j] != H[j] || k[j] != -K[j]) bad++;
    }
    CHECK_MSG(bad == 0, "%zu reverse values are not (-W, H, -K) bit for bit", bad);
    double W[2] = { 1, 1 }, H[2] = { 1, 1 }, K[2] = { 1, 1 };
    CHECK_EQ_INT(nde_brownian_increment(bm, 1.7, 1.7, W, H, K), 0);
    CHECK(W[0] == 0 && H[1] == 0 && K[0] == 0);
    nde_brownian_free(bm);
}

/* Intervals of a few ULPs near 0, where h^2 underflows (found by fuzz_brownian: K was
 * 0/0 = NaN over [0, 5e-324]): finite values, tree and grid, either direction. */
static void test_tiny_intervals(void)
{
    static const double ends[4] = { 4.9406564584124654e-324, 1e-310, 1e-160, 1e-154 };
    for (int grid = 0; grid < 2; grid++) {
        nde_brownian *bm = grid ? nde_brownian_grid_create(2, 0.0, 1.0, 10, 5, NDE_LEVY_SPACE_TIME_TIME)
                                : nde_brownian_tree_create(2, 0.0, 1.0, 1e-3, 5, NDE_LEVY_SPACE_TIME_TIME);
        for (int i = 0; i < 4; i++)
            for (int rev = 0; rev < 2; rev++) {
                double W[2], H[2], K[2];
                const double s = rev ? ends[i] : 0.0, t = rev ? 0.0 : ends[i];
                CHECK_EQ_INT(nde_brownian_increment(bm, s, t, W, H, K), 0);
                for (int j = 0; j < 2; j++)
                    CHECK_MSG(isfinite(W[j]) && isfinite(H[j]) && isfinite(K[j]),
                              "%s over [%g, %g]: W %g H %g K %g", grid ? "grid" : "tree", s, t, W[j], H[j], K[j]);
            }
        nde_brownian_free(bm);
    }
}

/* A solver's sequential steps: they sum to the whole, and equal fresh-tree queries. */
static void test_sequential_steps_add_up(void)
{
    nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 1.0, 1e-6, 5, NDE_LEVY_SPACE_TIME);
    nde_brownian *fresh = nde_brownian_tree_create(1, 0.0, 1.0, 1e-6, 5, NDE_LEVY_SPACE_TIME);
    double sum = 0, total, w, h, w2, h2;
    size_t diff = 0;
    const int n = 1000;
    for (int k = 0; k < n; k++) {
        double a = k / (double)n, b = (k + 1) / (double)n;
        nde_brownian_increment(bm, a, b, &w, &h, NULL);
        sum += w;
        if (k % 97 == 0) {   /* a fresh tree gives the same bits (the cache is invisible) */
            nde_brownian_free(fresh);
            fresh = nde_brownian_tree_create(1, 0.0, 1.0, 1e-6, 5, NDE_LEVY_SPACE_TIME);
            nde_brownian_increment(fresh, a, b, &w2, &h2, NULL);
            if (w2 != w || h2 != h) diff++;
        }
    }
    nde_brownian_increment(bm, 0.0, 1.0, &total, NULL, NULL);
    CHECK_NEAR(sum, total, 1e-12);
    CHECK_EQ_INT(diff, 0);
    nde_brownian_free(fresh);
    nde_brownian_free(bm);
}

/* ---- Chen's relations -------------------------------------------------------------- */

static void test_chen_relations(void)
{
    enum { D = 4 };
    double T0 = 0.5, T1 = 7.0;
    /* tol 1e-3 (many leaves), tol 10 (the whole interval one leaf: pure interpolation), and
     * tol 1e-9 with short steps */
    const double tols[3] = { 1e-3, 10.0, 1e-9 };
    for (int q = 0; q < 3; q++) {
        /* the third case: steps of about 1e-7 near t = 4, on [0, 8] at times on the grid
         * 2^-44, which the tree maps onto [0, 1] exactly: H and K of short steps must not
         * cancel against the values of the whole path. (At other times the mapping rounds
         * each time by an ulp, so H and K belong to an interval whose length differs by
         * ulp(t)/h relatively: 3e-8 standard deviations of H at h = 1e-7, t = 4.) */
        double a0 = q == 2 ? 0.0 : T0, a1 = q == 2 ? 8.0 : T1;
        nde_brownian *bm = nde_brownian_tree_create(D, a0, a1, tols[q], 3, NDE_LEVY_SPACE_TIME_TIME);
        double c0 = q == 2 ? 4.0 : T0, c1 = q == 2 ? 4.0 + 3e-7 : T1;
        double u[3 * NQ];
        nde_uniform_fill(11, NDE_STREAM_USER_FIRST, 3 * NQ, u);
        double ew = 0, eh = 0, ek = 0;
        for (size_t i = 0; i < NQ; i++) {
            double x[3] = { u[3 * i], u[3 * i + 1], u[3 * i + 2] };
            qsort(x, 3, sizeof *x, oracle_cmp_double);
            double s = c0 + (c1 - c0) * x[0], t = c0 + (c1 - c0) * x[1], v = c0 + (c1 - c0) * x[2];
            if (q == 2) {
                s = ldexp(round(ldexp(s, 44)), -44);
                t = ldexp(round(ldexp(t, 44)), -44);
                v = ldexp(round(ldexp(v, 44)), -44);
            }
            double Ws[D], Hs[D], Ks[D], W1[D], H1[D], K1[D], W2[D], H2[D], K2[D];
            nde_brownian_increment(bm, s, v, Ws, Hs, Ks);
            nde_brownian_increment(bm, s, t, W1, H1, K1);
            nde_brownian_increment(bm, t, v, W2, H2, K2);
            double h1 = t - s, h2 = v - t, h = v - s;
            for (int j = 0; j < D; j++) {
                double cross = h2 * W1[j] - h1 * W2[j];
                double W = W1[j] + W2[j];
                double Hc = (h1 * H1[j] + h2 * H2[j]) / h + cross / (2 * h);
                double Kc = (h1 * h1 * K1[j] + h2 * h2 * K2[j] + h1 * h2 * (H1[j] - H2[j]) / 2 +
                             (h2 - h1) * cross / 12) / (h * h);
                /* errors relative to each quantity's standard deviation on [s, v] */
                double ew_ = fabs(W - Ws[j]) / sqrt(h), eh_ = fabs(Hc - Hs[j]) / sqrt(h / 12),
                       ek_ = fabs(Kc - Ks[j]) / sqrt(h / 720);
                if (ew_ > ew) ew = ew_;
                if (eh_ > eh) eh = eh_;
                if (ek_ > ek) ek = ek_;
            }
        }
        /* measured: W 1.3e-15, H 8e-15, K 1.9e-13 */
        CHECK_MSG(ew < 1e-13 && eh < 1e-12 && ek < 1e-10,
                  "tol %g: Chen errors in standard deviations: W %.3g, H %.3g, K %.3g", tols[q], ew, eh, ek);
        nde_brownian_free(bm);
    }
}

/* ---- laws ------------------------------------------------------------------------------- */

#define NSEED 20000

/* (W, H, K) over [s, t] and over [t, 2.5] on [0, 2.5] with many seeds: N(0, h),
 * N(0, h/12), N(0, h/720), uncorrelated; for a fine tree (tol 1/64) and for the coarsest
 * one that still puts s and t in distinct leaves (tol 1.25: two leaves, each query time
 * alone in its leaf, so everything rests on the leaf interpolation). */
static void test_marginal_laws(void)
{
    static double W[NSEED], H[NSEED], K[NSEED], W2[NSEED], H2[NSEED], K2[NSEED];
    const double tols[2] = { 1.0 / 64, 1.25 };
    const double s = 0.37, t = 1.91, h = t - s, v = 2.5;  /* and [t, v] disjoint from it */
    for (int q = 0; q < 2; q++) {
        for (size_t i = 0; i < NSEED; i++) {
            nde_brownian *bm = nde_brownian_tree_create(1, 0.0, 2.5, tols[q], 1000 + i,
                                                        NDE_LEVY_SPACE_TIME_TIME);
            nde_brownian_increment(bm, s, t, &W[i], &H[i], &K[i]);
            nde_brownian_increment(bm, t, v, &W2[i], &H2[i], &K2[i]);
            nde_brownian_free(bm);
        }
        const double *x[6] = { W, H, K, W2, H2, K2 };
        const double var[6] = { h, h / 12, h / 720, v - t, (v - t) / 12, (v - t) / 720 };
        const char *name[6] = { "W", "H", "K", "W'", "H'", "K'" };
        /* every pair of the six uncorrelated (within an interval and across the two) */
        for (int a = 0; a < 6; a++)
            for (int b = a + 1; b < 6; b++) {
                char what[64];
                snprintf(what, sizeof what, "tol %g: %s, %s", tols[q], name[a], name[b]);
                check_uncorrelated(what, x[a], var[a], x[b], var[b], NSEED);
            }
        /* products of squares: independence beyond correlation (E W^2 H^2 = var W var H) */
        double e = 0, e2 = 0;
        for (size_t i = 0; i < NSEED; i++) {
            double p = W[i] * W[i] * H[i] * H[i] / (var[0] * var[1]);
            e += p; e2 += p * p;
        }
        e /= NSEED; e2 /= NSEED;
        CHECK_MSG(fabs(e - 1) < ZMAX * sqrt((e2 - e * e) / NSEED), "tol %g: E[W^2 H^2]/(vW vH) = %.4f",
                  tols[q], e);
        char what[64];
        snprintf(what, sizeof what, "tol %g: W", tols[q]); check_normal(what, W, NSEED, var[0]);
        snprintf(what, sizeof what, "tol %g: H", tols[q]); check_normal(what, H, NSEED, var[1]);
        snprintf(what, sizeof what, "tol %g: K", tols[q]); check_normal(what, K, NSEED, var[2]);
        snprintf(what, sizeof what, "tol %g: W'", tols[q]); check_normal(what, W2, NSEED, var[3]);
    }
}

/* The law of W_sr given (W, H, K) of [s, u], by Gaussian regression on the covariances of
 * Brownian motion (derived here, independently of the tree's formulas; x = r - s,
 * h = u - s, Hb = h H, Kb = h^2 K):
 *   Cov(W_sr, W_su) = x,  Cov(W_sr, Hb) = x (h - x)/2,  Cov(W_sr, Kb) = x h^2/12 - h x^2/4 + x^3/6,
 *   Var W_su = h, Var Hb = h^3/12, Var Kb = h^5/720, the three uncorrelated.
 * The mean conditions on W, then H (levy >= 1), then K (levy 2). Returns sqrt(n) D of
 * the standardised residuals. `wrong` makes the formula deliberately wrong, for the
 * control: 1 flips the sign of the H term of the mean, 2 leaves K out of the mean but
 * keeps the variance that conditioning on K gives. */
enum { RIGHT = 0, WRONG_H_SIGN = 1, WRONG_K_DROPPED = 2 };
static double conditional_ks(int levy, double tol, double T, double s, double r, double u, int wrong)
{
    static double res[NSEED];
    double x = r - s, h = u - s;
    double cW = x, cH = x * (h - x) / 2, cK = x * h * h / 12 - h * x * x / 4 + x * x * x / 6;
    double vW = h, vH = h * h * h / 12, vK = pow(h, 5) / 720;
    for (size_t i = 0; i < NSEED; i++) {
        nde_brownian *bm = nde_brownian_tree_create(1, 0.0, T, tol, 5000 + i, levy);
        double Wsu, Hsu = 0, Ksu = 0, Wsr;
        nde_brownian_increment(bm, s, u, &Wsu, levy >= 1 ? &Hsu : NULL, levy == 2 ? &Ksu : NULL);
        nde_brownian_increment(bm, s, r, &Wsr, NULL, NULL);
        nde_brownian_free(bm);
        double m = cW / vW * Wsu, var = x - cW * cW / vW;
        if (levy >= 1) { m += (wrong == WRONG_H_SIGN ? -1 : 1) * cH / vH * (h * Hsu); var -= cH * cH / vH; }
        if (levy >= 2) { if (wrong != WRONG_K_DROPPED) m += cK / vK * (h * h * Ksu); var -= cK * cK / vK; }
        res[i] = (Wsr - m) / sqrt(var);
    }
    return ks_normal(res, NSEED);
}

static void test_conditional_law(void)
{
    for (int levy = 0; levy <= 2; levy++) {
        /* tol 1/16 on [0, 1.3]: s, r and u in distinct leaves */
        double ks = conditional_ks(levy, 1.0 / 16, 1.3, 0.23, 0.61, 0.97, RIGHT);
        CHECK_MSG(ks < KSMAX, "levy %d, distinct leaves: W_sr given [s, u]: KS %.3f", levy, ks);
        /* one leaf, the whole [0, 1.3]: r inside it, given the leaf (the interpolation) */
        ks = conditional_ks(levy, 2.0, 1.3, 0.0, levy == 2 ? 0.2 : 0.61, 1.3, RIGHT);
        CHECK_MSG(ks < KSMAX, "levy %d, inside the leaf: W_sr given the leaf: KS %.3f", levy, ks);
    }
}

/* Control: the test above has the power to see a wrong bridge formula. */
static void test_conditional_control_fails(void)
{
    double ks1 = conditional_ks(NDE_LEVY_SPACE_TIME, 1.0 / 16, 1.3, 0.23, 0.61, 0.97, WRONG_H_SIGN);
    double ks2 = conditional_ks(NDE_LEVY_SPACE_TIME_TIME, 2.0, 1.3, 0.0, 0.2, 1.3, WRONG_K_DROPPED);
    CHECK_MSG(ks1 > 3 * KSMAX, "a wrong sign of the H term was not rejected: KS %.3f", ks1);
    CHECK_MSG(ks2 > 3 * KSMAX, "a mean without the K term was not rejected: KS %.3f", ks2);
}

/* The joint law of several increments at once, against an oracle independent of the
 * tree: every value is a linear functional F = int_0^h f(r) dW(s + r) of the path on
 * [s, s + h], so Cov(F, G) = int f g. For the triple of [s, s + x] (barred, as in the
 * tree: Hb = x H, Kb = x^2 K) the kernels on r < x (0 beyond) are
 *   W: 1,   Hb: x/2 - r,   Kb: r^2/2 - x r/2 + x^2/12
 * (from Hb = int_0^x W - x W_x/2 and Kb = (x/2) int_0^x W - int_0^x r W + x^2 W_x/12), and
 * products of two are quartics, which 3-point Gauss-Legendre integrates exactly. The
 * vector Z of all values, whitened by the Cholesky factor of its covariance, must be
 * iid N(0, 1): each component passes KS, and the components are uncorrelated. With Z =
 * (triple of [s, u], triple of [s, r1], triple of [s, r2], ...) this is the exact
 * conditional law of the inner points given the interval, jointly. */
/* Z = the (levy + 1) values of each of the nt intervals [s, s + x_j], from nseed trees on
 * [0, T] with tolerance tol; whitened and tested. */
static void check_joint_law(int levy, double T, double tol, double s, const double *x, int nt)
{
    static double zs[ORACLE_ZN][NSEED];
    double *z[ORACLE_ZN];
    for (int i = 0; i < ORACLE_ZN; i++) z[i] = zs[i];
    int n = oracle_whitened(levy, T, tol, s, x, nt, 9000, NSEED, z);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            char what[96];
            snprintf(what, sizeof what, "levy %d tol %g: whitened %d, %d", levy, tol, i, j);
            check_uncorrelated(what, z[i], 1, z[j], 1, NSEED);
        }
    for (int i = 0; i < n; i++) {
        char what[96];
        snprintf(what, sizeof what, "levy %d tol %g: whitened component %d", levy, tol, i);
        check_normal(what, z[i], NSEED, 1);
    }
}

static void test_joint_law_of_inner_points(void)
{
    /* [s, u] = [0.11, 1.07] and inner points 0.52, 0.83 on [0, 1.3], tol 1/32: all in
     * distinct leaves, none dyadic */
    const double x[3] = { 1.07 - 0.11, 0.52 - 0.11, 0.83 - 0.11 };
    check_joint_law(NDE_LEVY_SPACE_TIME_TIME, 1.3, 1.0 / 32, 0.11, x, 3);
    check_joint_law(NDE_LEVY_SPACE_TIME, 1.3, 1.0 / 32, 0.11, x, 3);
    check_joint_law(NDE_LEVY_NONE, 1.3, 1.0 / 32, 0.11, x, 3);
    /* inside one leaf: the root [0, 1.3] and the point 0.4 (the interpolation alone) */
    const double y[2] = { 1.3, 0.4 };
    check_joint_law(NDE_LEVY_SPACE_TIME_TIME, 1.3, 2.0, 0.0, y, 2);
    check_joint_law(NDE_LEVY_SPACE_TIME, 1.3, 2.0, 0.0, y, 2);
}

/* ---- tolerance, dimension, memory ------------------------------------------------------ */

static void test_depth_and_refinement(void)
{
    nde_brownian *a = nde_brownian_tree_create(1, 0.0, 1.0, 1e-6, 1, 0);
    CHECK_EQ_INT(nde_brownian_depth(a), 20);             /* ceil(log2(1e6)) */
    nde_brownian_free(a);
    a = nde_brownian_tree_create(1, 2.0, 10.0, 1.0, 1, 0);
    CHECK_EQ_INT(nde_brownian_depth(a), 3);               /* 8 / 2^3 = 1 <= tol */
    nde_brownian_free(a);
    a = nde_brownian_tree_create(1, 0.0, 1.0, 5.0, 1, 0);
    CHECK_EQ_INT(nde_brownian_depth(a), 0);
    nde_brownian_free(a);
    a = nde_brownian_tree_create(1, 0.0, 1.0, 1e-300, 1, 0);
    CHECK_EQ_INT(nde_brownian_depth(a), NDE_BROWNIAN_MAX_DEPTH);
    double w;
    CHECK_EQ_INT(nde_brownian_increment(a, 0.3, 0.3 + 1e-15, &w, NULL, NULL), 0);
    CHECK(isfinite(w));
    nde_brownian_free(a);
    /* a finer tree refines the coarser one: the same values at its nodes (round-off) */
    for (int levy = 0; levy <= 2; levy++) {
        nde_brownian *c = nde_brownian_tree_create(2, 0.0, 4.0, 0.25, 77, levy);
        nde_brownian *f = nde_brownian_tree_create(2, 0.0, 4.0, 1e-6, 77, levy);
        double err = 0;
        for (int k = 0; k < 16; k++) {
            double wc[2], wf[2], hc[2], hf[2];
            nde_brownian_increment(c, 0.25 * k, 0.25 * (k + 1), wc, levy ? hc : NULL, NULL);
            nde_brownian_increment(f, 0.25 * k, 0.25 * (k + 1), wf, levy ? hf : NULL, NULL);
            for (int j = 0; j < 2; j++) {
                err = fmax(err, fabs(wc[j] - wf[j]));
                if (levy) err = fmax(err, fabs(hc[j] - hf[j]));
            }
        }
        CHECK_MSG(err < 1e-12, "levy %d: coarse and fine trees differ at the coarse nodes by %.3g", levy, err);
        nde_brownian_free(c);
        nde_brownian_free(f);
    }
}

static void test_dimension_1e4(void)
{
    enum { D = 10000 };
    static double W[D], H[D], K[D];
    nde_brownian *bm = nde_brownian_tree_create(D, 0.0, 2.0, 1e-4, 31, NDE_LEVY_SPACE_TIME_TIME);
    CHECK(bm != NULL);
    if (!bm) return;
    const double s = 0.3, t = 1.7, h = t - s;
    CHECK_EQ_INT(nde_brownian_increment(bm, s, t, W, H, K), 0);
    /* the components are independent draws of the same laws */
    check_uncorrelated("W, H over components", W, h, H, h / 12, D);
    check_normal("W over components", W, D, h);
    check_normal("H over components", H, D, h / 12);
    check_normal("K over components", K, D, h / 720);
    nde_brownian_free(bm);
}

static void test_no_allocation_per_query(void)
{
    test_alloc ta;
    test_alloc_init(&ta);
    char eb[NDE_MESSAGE_MAX];
    nde_brownian *bm = nde_brownian_tree_create_ex(5, 0.0, 1.0, 1e-6, 2, 2, &ta.a, eb, sizeof eb);
    CHECK(bm != NULL);
    size_t calls = ta.calls;
    double W[5], H[5], K[5];
    for (int k = 0; k < 10000; k++) nde_brownian_increment(bm, k * 1e-4, (k + 1) * 1e-4, W, H, K);
    CHECK_EQ_INT(ta.calls, calls);
    nde_brownian_free(bm);
    CHECK_EQ_INT(ta.live, 0);
    /* every failing allocation: NULL, ENOMEM message, nothing left */
    for (size_t f = 1; f <= calls; f++) {
        test_alloc_init(&ta);
        ta.fail_at = f;
        eb[0] = '\0';
        bm = nde_brownian_tree_create_ex(5, 0.0, 1.0, 1e-6, 2, 2, &ta.a, eb, sizeof eb);
        CHECK(bm == NULL);
        CHECK(strstr(eb, "out of memory") != NULL);
        CHECK_EQ_INT(ta.live, 0);
    }
}

/* ---- bad input -------------------------------------------------------------------------- */

/* ---- the stored grid ------------------------------------------------------------------ */

/* One grid of dimension 20000 (components are independent paths): each cell's W, H, K
 * N(0, dt), N(0, dt/12), N(0, dt/720) and uncorrelated with the next cell's; a point
 * inside a cell splits it exactly (Chen), with the sub-interval's law N(0, 0.3 dt); the
 * whole span is the sum of its cells; the same bits in any query order; nde_brownian_path
 * is the running sum. */
static void test_grid_laws_and_consistency(void)
{
    enum { D = 20000, N = 8 };
    static double W[3][D], H[3][D], K[3][D], Wa[D], Ha[D], Ka[D], Wb[D], Hb[D], Kb[D], tot[D], P[N * D], cp[D];
    const double t0 = -1.0, t1 = 2.0, dt = (t1 - t0) / N;
    nde_brownian *g = nde_brownian_grid_create(D, t0, t1, N, 77, NDE_LEVY_SPACE_TIME_TIME);
    CHECK(g != NULL && nde_brownian_depth(g) == 0);
    for (int k = 0; k < 2; k++)
        CHECK(nde_brownian_increment(g, t0 + k * dt, t0 + (k + 1) * dt, W[k], H[k], K[k]) == NDE_OK);
    /* check_normal sorts its input: copies */
    memcpy(cp, W[0], sizeof cp); check_normal("grid W", cp, D, dt);
    memcpy(cp, H[0], sizeof cp); check_normal("grid H", cp, D, dt / 12);
    memcpy(cp, K[0], sizeof cp); check_normal("grid K", cp, D, dt / 720);
    check_uncorrelated("grid W0, W1", W[0], dt, W[1], dt, D);
    check_uncorrelated("grid W0, H0", W[0], dt, H[0], dt / 12, D);
    check_uncorrelated("grid H0, H1", H[0], dt / 12, H[1], dt / 12, D);
    /* inside cell 0: [t0, t0 + 0.3 dt] then the rest, joined by Chen = the cell */
    double m = t0 + 0.3 * dt, x = 0.3 * dt, y = 0.7 * dt;
    CHECK(nde_brownian_increment(g, t0, m, Wa, Ha, Ka) == NDE_OK);
    CHECK(nde_brownian_increment(g, m, t0 + dt, Wb, Hb, Kb) == NDE_OK);
    memcpy(cp, Wa, sizeof cp); check_normal("grid W inside a cell", cp, D, x);
    memcpy(cp, Ha, sizeof cp); check_normal("grid H inside a cell", cp, D, x / 12);
    double worst = 0;
    for (size_t i = 0; i < D; i++) {
        double Wc = Wa[i] + Wb[i];
        double Hc = (x * Ha[i] + y * Hb[i]) / dt + (y * Wa[i] - x * Wb[i]) / (2 * dt);
        worst = fmax(worst, fmax(fabs(Wc - W[0][i]), fabs(Hc - H[0][i])));
    }
    CHECK_MSG(worst < 1e-12, "Chen across an inner point: %g", worst);
    /* the whole span, and the values along the grid */
    CHECK(nde_brownian_increment(g, t0, t1, tot, NULL, NULL) == NDE_OK);
    double ts[N];
    for (int k = 0; k < N; k++) ts[k] = t0 + (k + 1) * dt;
    CHECK(nde_brownian_path(g, N, ts, P) == NDE_OK);
    worst = 0;
    for (size_t i = 0; i < D; i++) worst = fmax(worst, fabs(P[(N - 1) * D + i] - tot[i]));
    CHECK_MSG(worst < 1e-12, "path end vs the whole increment: %g", worst);
    CHECK(memcmp(P, W[0], D * sizeof *P) == 0);           /* W(t0 + dt) - W(t0): cell 0 */
    /* any order, the same bits; a second grid of the seed: the same path */
    nde_brownian *g2 = nde_brownian_grid_create(D, t0, t1, N, 77, NDE_LEVY_SPACE_TIME_TIME);
    CHECK(nde_brownian_increment(g2, m, t0 + dt, Wa, NULL, NULL) == NDE_OK);
    CHECK(nde_brownian_increment(g2, t0 + dt, t0 + 2 * dt, W[2], H[2], K[2]) == NDE_OK);
    CHECK(memcmp(W[2], W[1], D * sizeof *Wa) == 0 && memcmp(Wa, Wb, D * sizeof *Wa) == 0);
    /* reverse queries */
    CHECK(nde_brownian_increment(g2, t0 + 2 * dt, t0 + dt, W[2], H[2], NULL) == NDE_OK);
    CHECK(W[2][5] == -W[1][5] && H[2][5] == H[1][5]);
    nde_brownian_free(g2);
    nde_brownian_free(g);
}

/* Euler-Maruyama on the grid (dt = cell) is a plain loop over the stored increments, and
 * the grid serves the SDE solvers as a tree does. */
static int gbm_drift(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = 0.3 * y[0]; return 0; }
static int gbm_diff(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = 0.5 * y[0]; return 0; }
static void test_grid_drives_an_sde(void)
{
    enum { N = 64 };
    nde_brownian *g = nde_brownian_grid_create(1, 0.0, 1.0, N, 5, NDE_LEVY_NONE);
    nde_sde sde = { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .drift = gbm_drift, .diffusion = gbm_diff };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("euler_maruyama"); o.rtol = 0; o.dt0 = 1.0 / N;
    nde_solution sol;
    double y0 = 1.0, y = 1.0;
    CHECK_EQ_INT(nde_sde_solve(&sde, 0.0, 1.0, &y0, g, &o, &sol), NDE_OK);
    for (int k = 0; k < N; k++) {
        double W;
        nde_brownian_increment(g, (double)k / N, (double)(k + 1) / N, &W, NULL, NULL);
        y = y + 0.3 * y / N + 0.5 * y * W;
    }
    CHECK_NEAR(sol.y[0], y, 1e-13 * fabs(y));
    nde_solution_free(&sol);
    nde_brownian_free(g);
}

static void test_grid_and_path_bad_input(void)
{
    char eb[NDE_MESSAGE_MAX];
    CHECK(nde_brownian_grid_create_ex(1, 0, 1, 0, 1, 0, NULL, eb, sizeof eb) == NULL && strstr(eb, "n >= 1"));
    CHECK(nde_brownian_grid_create_ex(0, 0, 1, 4, 1, 0, NULL, eb, sizeof eb) == NULL && strstr(eb, "dim"));
    CHECK(nde_brownian_grid_create_ex(1, 1, 0, 4, 1, 0, NULL, eb, sizeof eb) == NULL);
    CHECK(nde_brownian_grid_create_ex(1, 0, 1, 4, 1, 7, NULL, eb, sizeof eb) == NULL && strstr(eb, "levy"));
    nde_brownian *g = nde_brownian_grid_create(2, 0, 1, 4, 1, NDE_LEVY_NONE);
    double W[6] = { 9, 9, 9, 9, 9, 9 }, H[2], ts[3] = { 0.5, 1.5, 0.2 };
    CHECK(nde_brownian_increment(g, 0, 0.5, W, H, NULL) == NDE_EUNSUPPORTED);
    CHECK(nde_brownian_path(g, 3, ts, W) == NDE_EINVAL && W[0] == 9);
    CHECK(strstr(nde_brownian_message(g), "ts[1]") != NULL);
    CHECK(nde_brownian_path(g, 1, NULL, W) == NDE_EINVAL);
    CHECK(nde_brownian_path(NULL, 1, ts, W) == NDE_EINVAL);
    nde_brownian_free(g);
    /* every allocation failing in turn: NULL, nothing leaked */
    test_alloc ta;
    test_alloc_init(&ta);
    for (size_t k = 1; k <= 2; k++) {
        ta.fail_at = ta.calls + k;
        CHECK(nde_brownian_grid_create_ex(3, 0, 1, 10, 1, 1, &ta.a, NULL, 0) == NULL);
        CHECK_EQ_INT(ta.live, 0);
    }
}

static void test_bad_create(void)
{
    char eb[NDE_MESSAGE_MAX];
    struct { size_t dim; double t0, t1, tol; int levy; const char *says; } c[] = {
        { 0, 0, 1, 1e-3, 0, "dim" },
        { 1, 1, 1, 1e-3, 0, "t0 < t1" },
        { 1, 2, 1, 1e-3, 0, "t0 < t1" },
        { 1, NAN, 1, 1e-3, 0, "t0 < t1" },
        { 1, 0, INFINITY, 1e-3, 0, "t0 < t1" },
        { 1, -1e308, 1e308, 1e-3, 0, "overflows" },
        { 1, 0, 1, 0, 0, "tol" },
        { 1, 0, 1, -1e-3, 0, "tol" },
        { 1, 0, 1, NAN, 0, "tol" },
        { 1, 0, 1, INFINITY, 0, "tol" },
        { 1, 0, 1, 1e-3, 3, "levy" },
        { 1, 0, 1, 1e-3, -1, "levy" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        eb[0] = '\0';
        nde_brownian *bm = nde_brownian_tree_create_ex(c[i].dim, c[i].t0, c[i].t1, c[i].tol, 1, c[i].levy,
                                                       NULL, eb, sizeof eb);
        CHECK_MSG(bm == NULL, "case %zu accepted", i);
        CHECK_MSG(strstr(eb, c[i].says) != NULL, "case %zu: message \"%s\" lacks \"%s\"", i, eb, c[i].says);
        nde_brownian_free(bm);
        CHECK(nde_brownian_tree_create(c[i].dim, c[i].t0, c[i].t1, c[i].tol, 1, c[i].levy) == NULL);
    }
    nde_brownian_free(NULL);
    CHECK(strcmp(nde_brownian_message(NULL), "") == 0);
}

static void test_bad_query(void)
{
    nde_brownian *b0 = nde_brownian_tree_create(2, 1.0, 3.0, 1e-3, 1, NDE_LEVY_NONE);
    nde_brownian *b1 = nde_brownian_tree_create(2, 1.0, 3.0, 1e-3, 1, NDE_LEVY_SPACE_TIME);
    double W[2] = { 7, 7 }, H[2] = { 7, 7 }, K[2] = { 7, 7 };
    CHECK_EQ_INT(nde_brownian_increment(NULL, 1.5, 2, W, NULL, NULL), NDE_EINVAL);
    CHECK_EQ_INT(nde_brownian_increment(b1, 1.5, 2, NULL, H, NULL), NDE_EINVAL);
    CHECK_EQ_INT(nde_brownian_increment(b0, 1.5, 2, W, H, NULL), NDE_EUNSUPPORTED);
    CHECK(strstr(nde_brownian_message(b0), "H") != NULL);
    CHECK_EQ_INT(nde_brownian_increment(b1, 1.5, 2, W, H, K), NDE_EUNSUPPORTED);
    CHECK(strstr(nde_brownian_message(b1), "K") != NULL);
    CHECK_EQ_INT(nde_brownian_increment(b1, 0.5, 2, W, H, NULL), NDE_EINVAL);
    CHECK(strstr(nde_brownian_message(b1), "outside") != NULL);
    CHECK_EQ_INT(nde_brownian_increment(b1, 1.5, 3.0001, W, H, NULL), NDE_EINVAL);
    CHECK_EQ_INT(nde_brownian_increment(b1, NAN, 2, W, H, NULL), NDE_EINVAL);
    CHECK_EQ_INT(nde_brownian_increment(b1, 1.5, INFINITY, W, H, NULL), NDE_EINVAL);
    CHECK(W[0] == 7 && W[1] == 7 && H[0] == 7 && H[1] == 7 && K[0] == 7);   /* untouched */
    /* a few ULP outside is the end point itself */
    double w[2], we[2], h[2], he[2];
    CHECK_EQ_INT(nde_brownian_increment(b1, nextafter(1.0, 0), nextafter(3.0, 4), w, h, NULL), 0);
    CHECK_EQ_INT(nde_brownian_increment(b1, 1.0, 3.0, we, he, NULL), 0);
    CHECK(memcmp(w, we, sizeof w) == 0 && memcmp(h, he, sizeof h) == 0);
    CHECK(strcmp(nde_brownian_message(b1), "") == 0);
    nde_brownian_free(b0);
    nde_brownian_free(b1);
}

int main(void)
{
    RUN(test_same_bits_any_order);
    RUN(test_pinned_values);
    RUN(test_reverse_queries);
    RUN(test_tiny_intervals);
    RUN(test_sequential_steps_add_up);
    RUN(test_chen_relations);
    RUN(test_marginal_laws);
    RUN(test_conditional_law);
    RUN(test_conditional_control_fails);
    RUN(test_joint_law_of_inner_points);
    RUN(test_depth_and_refinement);
    RUN(test_dimension_1e4);
    RUN(test_no_allocation_per_query);
    RUN(test_grid_laws_and_consistency);
    RUN(test_grid_drives_an_sde);
    RUN(test_grid_and_path_bad_input);
    RUN(test_bad_create);
    RUN(test_bad_query);
    return test_summary();
}
