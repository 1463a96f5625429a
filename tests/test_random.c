/* The counter-based generator (nde/random.h): Random123's known-answer vectors for
 * Philox4x32-10, the documented layout of uniforms and normals rebuilt from raw blocks
 * (so the vectorised batch paths agree with the checked block function), purity (a draw
 * depends on (seed, stream, index) only, whatever the fill's offset and length, across
 * the 2^32 and 2^64 index boundaries), the named streams (the mixture and the samplers
 * draw from the streams they name), the ziggurat tables, pinned values, and the
 * distribution of 10^6 normals and uniforms (KS, chi^2, moments, each at a stated
 * significance). Seeds are fixed; all deterministic. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "nde/random.h"
#include "nde/diffusion.h"      /* nde_gmm_sample: the mixture's streams */
#include "random/internal.h"    /* the ziggurat tables */

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- Philox4x32-10 ---------------------------------------------------------------- */

/* Random123's kat_vectors for philox4x32 with 10 rounds (counter, key -> output). */
static void test_philox_known_answers(void)
{
    static const struct { uint32_t ctr[4], key[2], out[4]; } kat[] = {
        { { 0, 0, 0, 0 }, { 0, 0 }, { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
        { { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
          { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
        { { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
          { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4], io[4];
        nde_philox4x32_10(kat[k].ctr, kat[k].key, out);
        for (int w = 0; w < 4; w++)
            CHECK_MSG(out[w] == kat[k].out[w], "vector %d word %d: %08x, expected %08x", k, w,
                      (unsigned)out[w], (unsigned)kat[k].out[w]);
        memcpy(io, kat[k].ctr, sizeof io);               /* out may alias the counter */
        nde_philox4x32_10(io, kat[k].key, io);
        CHECK(memcmp(io, out, sizeof io) == 0);
    }
}

/* Block b of stream s under seed as the layout documents it. */
static void raw_block(uint64_t seed, uint64_t s, uint64_t b, uint32_t out[4])
{
    uint32_t ctr[4] = { (uint32_t)b, (uint32_t)(b >> 32), (uint32_t)s, (uint32_t)(s >> 32) };
    uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    nde_philox4x32_10(ctr, key, out);
}

/* Uniform i = (m + 1/2) 2^-53, m = top 27 bits of word 0 : top 26 bits of word 1 of block
 * i of stream s ^ NDE_STREAM_UNIFORM_XOR; checked over fills long enough for the
 * vectorised path, from offsets that cross 2^32 (the counter's carry into word 1) and
 * wrap at 2^64. */
static void test_uniform_layout(void)
{
    static const uint64_t firsts[] = { 0, 5, 0xffffffffu - 20, UINT64_MAX - 40 };
    const uint64_t seed = 0x0123456789abcdefu, stream = 77;
    double u[100];
    int bad = 0;
    for (int f = 0; f < 4; f++) {
        nde_uniform_fill_at(seed, stream, firsts[f], 100, u);
        for (size_t i = 0; i < 100; i++) {
            uint32_t w[4];
            raw_block(seed, stream ^ NDE_STREAM_UNIFORM_XOR, firsts[f] + i, w);
            uint64_t m = ((uint64_t)(w[0] >> 5) << 26) | (w[1] >> 6);
            bad += u[i] != ((double)m + 0.5) * 0x1p-53;
        }
    }
    CHECK_EQ_INT(bad, 0);
    nde_uniform_fill(seed, stream, 100, u);
    double v[100];
    nde_uniform_fill_at(seed, stream, 0, 100, v);
    CHECK(memcmp(u, v, sizeof u) == 0);
}

/* Normal i's first try: u = word 2h << 32 | word 2h+1 of block i/2 (h = i mod 2); layer
 * L = bits 0-7, sign bit 8, x = (bits 12-63) 2^-52 x_{m+1}, m = (L - 1) mod 256, accepted
 * when x < x_m. Every accepted draw must equal that; about 98.5% are accepted. */
static void test_normal_layout(void)
{
    enum { N = 4000 };
    static double z[N];
    const uint64_t seed = 99, stream = NDE_STREAM_USER_FIRST + 3, first = 0xfffffff0u;
    nde_normal_fill_at(seed, stream, first, N, z);
    const double *x = nde__rand_zig_x;
    int fast = 0, bad = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t idx = first + i;
        uint32_t w[4];
        raw_block(seed, stream, idx / 2, w);
        int h = (int)(idx & 1u);
        uint64_t u = ((uint64_t)w[2 * h] << 32) | w[2 * h + 1];
        unsigned m = (unsigned)(u - 1) & 255u;
        double a = (double)(u >> 12) * 0x1p-52 * x[m + 1];
        if (!(a < x[m])) continue;
        fast++;
        bad += z[i] != ((u >> 8) & 1u ? -a : a);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_MSG(fabs(fast / (double)N - 0.985) < 0.01, "accepted on the first try: %d of %d", fast, N);
}

/* ---- purity ----------------------------------------------------------------------- */

/* A draw depends on (seed, stream, index) only: every fill_at(first, n) equals the matching
 * part of one long fill, for odd and even offsets, lengths below and above a batch, and
 * across the normals' tail/wedge draws (the long fill holds some of both). */
static void test_purity(void)
{
    enum { N = 3000 };
    static double z[N], w[N], u[N], v[N];
    const uint64_t seed = 2718, stream = 31;
    nde_normal_fill(seed, stream, N, z);
    nde_uniform_fill(seed, stream, N, u);
    int badz = 0, badu = 0;
    uint64_t r = 12345;
    for (int k = 0; k < 400; k++) {
        r = r * 6364136223846793005u + 1442695040888963407u;        /* Knuth's LCG */
        size_t first = (size_t)(r >> 33) % N, n = 1 + (size_t)(r >> 20) % 80;
        if (first + n > N) n = N - first;
        nde_normal_fill_at(seed, stream, first, n, w);
        nde_uniform_fill_at(seed, stream, first, n, v);
        badz += memcmp(w, z + first, n * sizeof *w) != 0;
        badu += memcmp(v, u + first, n * sizeof *v) != 0;
    }
    CHECK_EQ_INT(badz, 0);
    CHECK_EQ_INT(badu, 0);
    /* backwards, one at a time: the order of evaluation does not matter */
    for (size_t i = N; i-- > 0;) nde_normal_fill_at(seed, stream, i, 1, w + i);
    CHECK(memcmp(w, z, sizeof z) == 0);
    /* the normal index wraps modulo 2^64: a fill across the wrap is its two parts */
    double a[100], b[100];
    nde_normal_fill_at(seed, stream, UINT64_MAX - 40, 100, a);
    nde_normal_fill_at(seed, stream, UINT64_MAX - 40, 41, b);
    nde_normal_fill_at(seed, stream, 0, 59, b + 41);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(b + 41, z, 59 * sizeof *z) == 0);
    nde_uniform_fill_at(seed, stream, UINT64_MAX - 40, 100, a);
    CHECK(memcmp(a + 41, u, 59 * sizeof *u) == 0);
    /* seed and stream matter; n = 0 and NULL are no-ops */
    nde_normal_fill(seed + 1, stream, 8, w);
    CHECK(max_abs_diff(w, z, 8) > 1e-3);
    nde_normal_fill(seed, stream + 1, 8, w);
    CHECK(max_abs_diff(w, z, 8) > 1e-3);
    nde_uniform_fill(seed, stream + 1, 8, v);
    CHECK(max_abs_diff(v, u, 8) > 1e-6);
    w[0] = 7.0;
    nde_normal_fill(seed, stream, 0, w);
    nde_normal_fill_at(seed, stream, 3, 0, w);
    nde_uniform_fill(seed, stream, 0, w);
    nde_uniform_fill_at(seed, stream, 3, 0, w);
    CHECK(w[0] == 7.0);
    nde_normal_fill(seed, stream, 5, NULL);
    nde_normal_fill_at(seed, stream, 1, 5, NULL);
    nde_uniform_fill(seed, stream, 5, NULL);
    nde_uniform_fill_at(seed, stream, 1, 5, NULL);
}

/* The SIMD paths (AVX2, AVX-512 where this CPU has them) give the bits of the portable
 * path: random seeds, streams, offsets (odd and even, the last blocks below 2^63 where
 * the kernels stop, the 2^64 wrap) and lengths, and one long fill that holds wedge,
 * tail and repeated attempts. */
static void test_normal_isa_paths(void)
{
    enum { N = 5000, LONG = 200000 };
    static double a[N], b[N];
    double *la = malloc(LONG * sizeof *la), *lb = malloc(LONG * sizeof *lb);
    CHECK(la && lb);
    if (!la || !lb) { free(la); free(lb); return; }
    int best = nde__rand_isa();
    printf("    this CPU runs isa %d (0 portable, 1 AVX2, 2 AVX-512)\n", best);
    uint64_t r = 777;
    int bad = 0, cases = 0;
    for (int isa = NDE__RAND_ISA_AVX2; isa <= best; isa++) {
        for (int k = 0; k < 3000; k++) {
            r = r * 6364136223846793005u + 1442695040888963407u;
            uint64_t seed = r;
            r = r * 6364136223846793005u + 1442695040888963407u;
            uint64_t stream = r >> (r & 63u);
            r = r * 6364136223846793005u + 1442695040888963407u;
            uint64_t first = k % 3 == 0 ? UINT64_MAX - (r >> 52)            /* across the wrap */
                           : k % 3 == 1 ? (UINT64_C(1) << 63) - (r >> 52)     /* across block 2^62 */
                                        : r >> (r & 63u);
            r = r * 6364136223846793005u + 1442695040888963407u;
            size_t n = (size_t)(r >> 33) % N;
            nde__rand_normals_isa(NDE__RAND_ISA_BASE, seed, stream, first, n, a);
            nde__rand_normals_isa(isa, seed, stream, first, n, b);
            bad += memcmp(a, b, n * sizeof *a) != 0;
            cases++;
        }
        nde__rand_normals_isa(NDE__RAND_ISA_BASE, 31337, 3, 1, LONG, la);
        nde__rand_normals_isa(isa, 31337, 3, 1, LONG, lb);
        bad += memcmp(la, lb, LONG * sizeof *la) != 0;
    }
    CHECK_MSG(bad == 0, "%d of %d fills differ from the portable path", bad, cases);
    /* the long fill went through the slow paths: draws beyond R and in the wedges */
    double R = nde__rand_zig_x[255];
    int tail = 0;
    for (int i = 0; i < LONG; i++) tail += fabs(la[i]) > R;
    CHECK(tail > 10);
    free(la);
    free(lb);
}

/* ---- streams ---------------------------------------------------------------------- */

/* The named ranges are disjoint and ordered as documented, and the library draws from
 * the streams it names: nde_gmm_sample's components from uniforms of
 * NDE_STREAM_GMM_COMPONENT, its points from normals of NDE_STREAM_GMM_POINT + i. */
static void test_streams(void)
{
    CHECK(NDE_STREAM_SAMPLER(1, 0) == 8 && NDE_STREAM_SAMPLER(3, 1) == 25);
    CHECK(NDE_STREAM_SAMPLER(INT32_MAX, NDE_STREAM_SAMPLER_STAGES - 1) < NDE_STREAM_GMM_POINT);
    CHECK(NDE_STREAM_GMM_POINT < NDE_STREAM_BROWNIAN_FIRST);
    CHECK(NDE_STREAM_BROWNIAN_FIRST < NDE_STREAM_BROWNIAN_END);
    CHECK(NDE_STREAM_BROWNIAN_END <= NDE_STREAM_USER_FIRST);
    CHECK(NDE_STREAM_USER_FIRST < (UINT64_C(1) << 63));
    CHECK(NDE_STREAM_UNIFORM_XOR >> 63 == 1);

    enum { N = 50, D = 3 };
    static const double wts[2] = { 0.25, 0.75 }, mu[2 * D] = { 0 }, sd[2 * D] = { 1, 1, 1, 1, 1, 1 };
    nde_gmm g = { D, 2, wts, mu, sd };
    double x[N * D], z[D], u[N];
    int lab[N], bad = 0;
    const uint64_t seed = 5;
    CHECK_EQ_INT(nde_gmm_sample(&g, 1.0, 0.0, seed, N, x, lab), 0);
    nde_uniform_fill(seed, NDE_STREAM_GMM_COMPONENT, N, u);
    for (size_t i = 0; i < N; i++) {
        nde_normal_fill(seed, NDE_STREAM_GMM_POINT + i, D, z);
        bad += memcmp(z, x + i * D, sizeof z) != 0;
        bad += lab[i] != (u[i] < 0.25 ? 0 : 1);
    }
    CHECK_EQ_INT(bad, 0);
}

/* The samplers' noise of step k, stage j is normal stream NDE_STREAM_SAMPLER(k, j): one
 * DDIM step with eta = 1 is x = A + c z, with A and c fixed by the schedule, the model
 * and x_T, so between two seeds x moves by c (z_1 - z_2) for z the normals of stream
 * NDE_STREAM_SAMPLER(1, 0): one ratio over all components. */
static void test_sampler_stream(void)
{
    enum { B = 6, D = 2, N = B * D };
    static const double w[2] = { 0.4, 0.6 }, mu[4] = { -1, 0, 1, 0.5 }, sd[4] = { 0.3, 0.4, 0.5, 0.2 };
    nde_gmm g = { D, 2, w, mu, sd };
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    CHECK(s != NULL);
    if (!s) return;
    nde_gmm_model gm = { &g, s, NDE_PRED_EPS, -1, 0.0 };
    double x[2][N], z[2][N];
    const uint64_t seeds[2] = { 11, 12 };
    for (int r = 0; r < 2; r++) {
        nde_normal_fill(1, NDE_STREAM_USER_FIRST, N, x[r]);          /* the same x_T */
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        o.sampler = "ddim"; o.steps = 1; o.eta = 1.0; o.seed = seeds[r];
        CHECK_EQ_INT(nde_diffusion_sample(s, nde_gmm_denoiser, NDE_PRED_EPS, &gm, &o, x[r], B, D, NULL), 0);
        nde_normal_fill(seeds[r], NDE_STREAM_SAMPLER(1, 0), N, z[r]);
    }
    double c0 = (x[0][0] - x[1][0]) / (z[0][0] - z[1][0]), worst = 0;
    for (int i = 1; i < N; i++)
        worst = fmax(worst, fabs((x[0][i] - x[1][i]) / (z[0][i] - z[1][i]) / c0 - 1.0));
    CHECK(c0 > 0);
    CHECK_MSG(worst < 1e-9, "the noise is not stream NDE_STREAM_SAMPLER(1, 0): ratios differ by %.3g", worst);
    nde_schedule_free(s);
}

/* ---- normals: tables, pinned values, distribution -------------------------------- */

/* The AVX-512 kernel's packed table, rebuilt from nde__rand_zig_x: word m holds
 * w = x_{m+1} exactly and t = T >> 43, T the least 52-bit U with fl(U 2^-52 w) >= x_m
 * (found by bisection, the product monotone in U); and the accept test U < T agrees with
 * x < x_m at T - 1 and T and around every multiple of 2^43 next to t. */
static void test_normal_pack_table(void)
{
    const double *x = nde__rand_zig_x;
    const uint64_t low52 = ((uint64_t)1 << 52) - 1;
    int bad = 0;
    for (int m = 0; m < 256; m++) {
        double w = x[m + 1], e = x[m];
        uint64_t lo = 0, hi = (uint64_t)1 << 52;
        while (hi - lo > 1) {
            uint64_t mid = lo + (hi - lo) / 2;
            if ((double)(int64_t)mid * 0x1p-52 * w >= e) hi = mid;
            else lo = mid;
        }
        uint64_t T = e <= 0.0 ? 0 : hi, E = nde__rand_zig_pack[m], wb;   /* x_0 = 0: none */
        memcpy(&wb, &w, sizeof wb);
        bad += (E >> 55) != (T >> 43);
        bad += ((E >> 52 & 7u) + 1020u) != (wb >> 52) || (E & low52) != (wb & low52);
        if (T > 0) bad += !((double)(int64_t)(T - 1) * 0x1p-52 * w < e);
        bad += (double)(int64_t)T * 0x1p-52 * w < e;
        /* the fast test's two sides: below t * 2^43 accepted, from (t + 1) 2^43 rejected */
        uint64_t t = E >> 55, a = t << 43, r = (t + 1) << 43;
        if (a > 0) bad += !((double)(int64_t)(a - 1) * 0x1p-52 * w < e);
        if (r < ((uint64_t)1 << 52)) bad += (double)(int64_t)r * 0x1p-52 * w < e;
    }
    CHECK_EQ_INT(bad, 0);
}

/* The ziggurat tables: 256 layers of equal area V (the base strip's tail part included),
 * the top layer closing at f(0) = 1, f(x_k) = exp(-x_k^2/2). */
static void test_normal_tables(void)
{
    const double *x = nde__rand_zig_x, *f = nde__rand_zig_f;
    double R = x[255], fR = exp(-0.5 * R * R);
    double V = R * fR + 1.2533141373155002512 * erfc(R / sqrt(2.0));   /* sqrt(pi/2) */
    CHECK(x[0] == 0.0 && f[0] == 1.0);
    CHECK_NEAR(R, 3.654152885361008771645, 1e-15);
    CHECK_NEAR(x[256] * fR / V, 1.0, 1e-14);                   /* base strip */
    int bad = 0;
    for (int k = 1; k < 256; k++) {
        bad += !(x[k] > x[k - 1]);
        bad += !(fabs(f[k] - exp(-0.5 * x[k] * x[k])) <= 4e-15 * f[k]);
        bad += !(fabs(x[k] * (f[k - 1] - f[k]) / V - 1.0) <= 1e-12);   /* k = 1: closure */
    }
    CHECK_EQ_INT(bad, 0);
}

/* Known values (computed independently from the definition in rng.c: Philox4x32-10 bits,
 * ziggurat), index 2 through a wedge and index 3348 through the tail; and normal i is
 * the same whatever n, so the batched and the block-by-block paths agree. */
static void test_normal_values(void)
{
    enum { N = 3349 };
    static double z[N], w[N];
    nde_normal_fill(42, 0, N, z);
    CHECK(z[0] == -0.648693286685547 && z[1] == -0.16639048901106704);
    CHECK(z[2] == 0.26755409969823896 && z[3] == 1.6177196558678415);
    CHECK(z[N - 1] == 4.224518109802588);
    for (size_t n = 1; n <= 70; n++) {
        nde_normal_fill(42, 0, n, w);
        CHECK_MSG(memcmp(w, z, n * sizeof *z) == 0, "n = %zu: a different prefix", n);
    }
    nde_normal_fill(43, 0, 8, w);
    CHECK(max_abs_diff(w, z, 8) > 1e-3);                       /* the seed matters */
    nde_normal_fill(42, 1, 8, w);
    CHECK(max_abs_diff(w, z, 8) > 1e-3);                       /* and the stream */
    nde_normal_fill(42, 0, 0, w);                               /* n = 0, z = NULL: no-ops */
    nde_normal_fill(42, 0, 5, NULL);
}


/* 10^6 draws against N(0, 1), each check at significance 1e-3 (the z-scores at 1e-4):
 * Kolmogorov-Smirnov (sqrt(n) D < 1.9495), chi^2 over 100 equiprobable cells (99 dof,
 * < 148.23), the first four moments, and the share beyond R (the tail branch). */
static void test_normal_distribution(void)
{
    enum { N = 1000000, CELLS = 100 };
    double *z = malloc(N * sizeof *z);
    CHECK(z != NULL);
    if (!z) return;
    nde_normal_fill(2024, 7, N, z);
    double m[4] = { 0, 0, 0, 0 }, cnt[CELLS] = { 0 }, R = nde__rand_zig_x[255], tail = 0;
    for (int i = 0; i < N; i++) {
        double v = z[i], p = 0.5 * erfc(-v / sqrt(2.0));
        m[0] += v; m[1] += v * v; m[2] += v * v * v; m[3] += v * v * v * v;
        int c = (int)(p * CELLS);
        cnt[c < CELLS ? c : CELLS - 1]++;
        tail += fabs(v) > R;
    }
    double zs[4] = { m[0] / N / sqrt(1.0 / N), (m[1] / N - 1.0) / sqrt(2.0 / N),
                     m[2] / N / sqrt(15.0 / N), (m[3] / N - 3.0) / sqrt(96.0 / N) };
    for (int k = 0; k < 4; k++) CHECK_MSG(fabs(zs[k]) < 3.89, "moment %d: z = %.2f", k + 1, zs[k]);
    double chi2 = 0, e = (double)N / CELLS;
    for (int c = 0; c < CELLS; c++) chi2 += (cnt[c] - e) * (cnt[c] - e) / e;
    CHECK_MSG(chi2 < 148.23, "chi2 over %d cells = %.1f", CELLS, chi2);
    double pt = erfc(R / sqrt(2.0));
    CHECK_MSG(fabs(tail - N * pt) < 3.89 * sqrt(N * pt * (1 - pt)), "beyond R: %.0f, expected %.1f",
              tail, N * pt);
    qsort(z, N, sizeof *z, cmp_double);
    double D = 0;
    for (int i = 0; i < N; i++) {
        double F = 0.5 * erfc(-z[i] / sqrt(2.0));
        D = fmax(D, fmax(F - (double)i / N, (double)(i + 1) / N - F));
    }
    printf("    10^6 normals: KS sqrt(n) D = %.3f, chi2(99) = %.1f, moment z-scores %.2f %.2f %.2f %.2f, "
           "beyond R %.0f (expected %.1f)\n", sqrt((double)N) * D, chi2, zs[0], zs[1], zs[2], zs[3],
           tail, N * pt);
    CHECK_MSG(sqrt((double)N) * D < 1.9495, "KS sqrt(n) D = %.3f", sqrt((double)N) * D);
    free(z);
}


/* 10^6 uniforms against U(0, 1), each check at significance 1e-3: KS (sqrt(n) D <
 * 1.9495), chi^2 over 100 cells (99 dof, < 148.23), mean and variance (|z| < 3.29), and
 * never 0 or 1; and no correlation with the normals of the same stream (|z| < 3.29). */
static void test_uniform_distribution(void)
{
    enum { N = 1000000, CELLS = 100 };
    double *u = malloc(N * sizeof *u), *z = malloc(N * sizeof *z);
    CHECK(u && z);
    if (!u || !z) { free(u); free(z); return; }
    nde_uniform_fill(77, 5, N, u);
    nde_normal_fill(77, 5, N, z);
    double s1 = 0, s2 = 0, sz = 0, cnt[CELLS] = { 0 };
    int outside = 0;
    for (int i = 0; i < N; i++) {
        double v = u[i];
        outside += !(v > 0.0 && v < 1.0);
        s1 += v - 0.5;
        s2 += (v - 0.5) * (v - 0.5) - 1.0 / 12;
        sz += (v - 0.5) * z[i];
        cnt[(int)(v * CELLS)]++;
    }
    CHECK_EQ_INT(outside, 0);
    double zm = s1 / N / sqrt(1.0 / 12 / N), zv = s2 / N / sqrt(1.0 / 180 / N);
    double zc = sz / N / sqrt(1.0 / 12 / N);
    CHECK_MSG(fabs(zm) < 3.29 && fabs(zv) < 3.29, "mean z %.2f, variance z %.2f", zm, zv);
    CHECK_MSG(fabs(zc) < 3.29, "correlation with the stream's normals: z = %.2f", zc);
    double chi2 = 0, e = (double)N / CELLS;
    for (int c = 0; c < CELLS; c++) chi2 += (cnt[c] - e) * (cnt[c] - e) / e;
    qsort(u, N, sizeof *u, cmp_double);
    double D = 0;
    for (int i = 0; i < N; i++) D = fmax(D, fmax(u[i] - (double)i / N, (double)(i + 1) / N - u[i]));
    printf("    10^6 uniforms: KS sqrt(n) D = %.3f, chi2(99) = %.1f, mean z %.2f, variance z %.2f, "
           "corr z %.2f\n", sqrt((double)N) * D, chi2, zm, zv, zc);
    CHECK_MSG(chi2 < 148.23, "chi2 over %d cells = %.1f", CELLS, chi2);
    CHECK_MSG(sqrt((double)N) * D < 1.9495, "KS sqrt(n) D = %.3f", sqrt((double)N) * D);
    free(u);
    free(z);
}

int main(void)
{
    RUN(test_philox_known_answers);
    RUN(test_uniform_layout);
    RUN(test_normal_layout);
    RUN(test_purity);
    RUN(test_normal_isa_paths);
    RUN(test_streams);
    RUN(test_sampler_stream);
    RUN(test_normal_tables);
    RUN(test_normal_pack_table);
    RUN(test_normal_values);
    RUN(test_normal_distribution);
    RUN(test_uniform_distribution);
    return test_summary();
}
