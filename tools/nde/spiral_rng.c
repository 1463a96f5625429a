/* ode_demo's random streams in C, for `nde train spiral --rng torch` (tools/nde/train.h):
 * the initial weights of torch.manual_seed(S) and the batches of np.random.seed(S).
 *
 * Both libraries use the 32-bit Mersenne Twister MT19937 seeded by init_genrand(S).
 * torch: nn.Linear(2, 50) and nn.Linear(50, 2) first draw their own init (kaiming-uniform
 * weights, uniform biases: 100 + 50 + 100 + 2 floats, one 32-bit output each), then
 * ode_demo's normal_(0, 0.1) fills each weight: one 24-bit uniform u = (x & 0xffffff) 2^-24
 * per float, Box-Muller on blocks of 16 (entries j and j + 8 of a block from u1 = 1 - u_j,
 * u2 = u_{j+8}: r = sqrt(-2 log u1), cos and sin of 2 pi u2), and when the size is not a
 * multiple of 16 the last 16 entries are drawn afresh and transformed again. torch 1.13 on
 * an AVX2 machine does this in float with SLEEF's 1-ULP log, sin and cos; here they are
 * libm's in double, rounded to float, so about 9 in 10 weights are bit-equal to torch's
 * and the rest 1-2 float ULPs off (tests/test_spiral_rng.c). Biases are 0.
 * numpy (legacy RandomState): choice(990, 20, replace=False) is permutation(990)[:20], a
 * Fisher-Yates shuffle from the end whose index j in [0, i] is the first 32-bit output
 * masked to i's bit length that is <= i: bit-equal. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "train.h"

typedef struct mt19937 {
    uint32_t s[624];
    int i;
} mt19937;

static void mt_seed(mt19937 *m, uint32_t seed)
{
    m->s[0] = seed;
    for (int i = 1; i < 624; i++) m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = 624;
}

static uint32_t mt_next(mt19937 *m)
{
    if (m->i >= 624) {   /* regenerate the whole state */
        for (int k = 0; k < 624; k++) {
            uint32_t y = (m->s[k] & 0x80000000u) | (m->s[(k + 1) % 624] & 0x7fffffffu);
            m->s[k] = m->s[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

static float u24(mt19937 *m) { return (float)(mt_next(m) & 0xffffffu) * 0x1p-24f; }

static void box_muller16(float *d, float sd)
{
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j], u2 = d[j + 8];
        float r = (float)sqrt((double)(-2.0f * (float)log((double)u1)));
        float th = two_pi * u2;
        float c = r * (float)cos((double)th), s = r * (float)sin((double)th);
        d[j] = c * sd;
        d[j + 8] = s * sd;
    }
}

static void torch_normal(mt19937 *m, size_t n, float sd, float *d)   /* n >= 16 */
{
    for (size_t i = 0; i < n; i++) d[i] = u24(m);
    for (size_t i = 0; i + 16 <= n; i += 16) box_muller16(d + i, sd);
    if (n % 16) {
        for (size_t i = n - 16; i < n; i++) d[i] = u24(m);
        box_muller16(d + n - 16, sd);
    }
}

void spiral_torch_init(uint64_t seed, double *params)
{
    mt19937 m;
    mt_seed(&m, (uint32_t)seed);
    for (int i = 0; i < 100 + 50 + 100 + 2; i++) (void)mt_next(&m);   /* nn.Linear's own init */
    float w[100];
    memset(params, 0, SPIRAL_N_PARAMS * sizeof *params);
    torch_normal(&m, 100, 0.1f, w);                                    /* W1, 50 x 2 */
    for (int i = 0; i < 100; i++) params[i] = w[i];
    torch_normal(&m, 100, 0.1f, w);                                    /* W2, 2 x 50 */
    for (int i = 0; i < 100; i++) params[150 + i] = w[i];
}

void spiral_numpy_starts(uint64_t seed, size_t iters, size_t *starts)
{
    mt19937 m;
    mt_seed(&m, (uint32_t)seed);
    static uint32_t x[SPIRAL_STARTS];
    for (size_t it = 0; it < iters; it++) {
        for (uint32_t i = 0; i < SPIRAL_STARTS; i++) x[i] = i;
        for (uint32_t i = SPIRAL_STARTS - 1; i > 0; i--) {
            uint32_t mask = i, j;
            mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16;
            while ((j = mt_next(&m) & mask) > i) {}
            uint32_t t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
        for (size_t k = 0; k < SPIRAL_BATCH; k++) starts[it * SPIRAL_BATCH + k] = x[k];
    }
}
