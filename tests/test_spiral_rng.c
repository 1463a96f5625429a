/* tools/nde/spiral_rng.c against python: `nde train spiral --rng torch` draws ode_demo's
 * initial weights (torch.manual_seed(S)) and batches (np.random.seed(S)). The expected
 * values below were printed by torch and numpy themselves (bench/peers/spiral_torch.py
 * --replay), so this test needs neither. */
#include <math.h>
#include <stdint.h>

#include "testlib.h"
#include "train.h"

/* Written from torch 1.13 (Debian, AVX2) and numpy 1.24 runs of ode_demo's seeding:
 * torch.manual_seed(S); np.random.seed(S); the model built as the demo; float32 hex. */
static const uint64_t seeds[3] = { 0, 1, 7 };
/* W1[0..15], W1[84..99], W2[84..99]: the first Box-Muller block and the redrawn tails */
static const float torch_w[3][48] = {
    {0x1.ad2c260000000p-5f, 0x1.653ede0000000p-6f, 0x1.99c1ca0000000p-8f, 0x1.09765c0000000p-4f, -0x1.02082a0000000p-8f, -0x1.4848740000000p-4f, -0x1.95f32e0000000p-5f, -0x1.2826fe0000000p-5f, 0x1.b8313a0000000p-3f, -0x1.743c080000000p-4f, -0x1.12da2e0000000p-4f, -0x1.db78440000000p-5f, -0x1.185fca0000000p-7f, 0x1.1d99020000000p-3f, 0x1.e8fb040000000p-5f, -0x1.8b8ca40000000p-5f, 0x1.bb4daa0000000p-5f, 0x1.3b2dbe0000000p-3f, 0x1.bcd8800000000p-4f, 0x1.fe870a0000000p-4f, 0x1.7913f60000000p-7f, 0x1.4ba25a0000000p-3f, 0x1.7bdb960000000p-5f, 0x1.0a64000000000p-3f, 0x1.65acdc0000000p-4f, 0x1.aad07a0000000p-8f, 0x1.3cb8360000000p-4f, -0x1.8d5e640000000p-4f, -0x1.6b97ac0000000p-4f, -0x1.04c3c40000000p-5f, -0x1.11f18a0000000p-5f, 0x1.7426300000000p-5f, 0x1.66a60e0000000p-5f, -0x1.3c100e0000000p-7f, 0x1.0e8e660000000p-5f, -0x1.333b200000000p-6f, 0x1.b289ce0000000p-4f, -0x1.a2355a0000000p-10f, 0x1.0540f20000000p-3f, 0x1.efd4d40000000p-11f, 0x1.61ea3e0000000p-6f, -0x1.7739f40000000p-4f, 0x1.3f75220000000p-3f, -0x1.42f0fe0000000p-2f, 0x1.1f9e080000000p-3f, 0x1.bb8bf40000000p-4f, 0x1.43291e0000000p-4f, -0x1.c2efda0000000p-7f},
    {0x1.dda68e0000000p-4f, 0x1.2ed43e0000000p-3f, 0x1.b6733e0000000p-6f, 0x1.35b4ea0000000p-4f, -0x1.013b500000000p-3f, 0x1.6ed1c00000000p-4f, 0x1.12651a0000000p-6f, 0x1.33c8300000000p-4f, -0x1.19a1040000000p-5f, -0x1.f9a1b00000000p-5f, 0x1.009bae0000000p-3f, -0x1.50f81e0000000p-8f, -0x1.fa5b960000000p-4f, 0x1.434b200000000p-3f, -0x1.c922660000000p-4f, 0x1.3a7a8c0000000p-4f, 0x1.7cb67e0000000p-6f, 0x1.60db380000000p-4f, 0x1.fd57f60000000p-5f, -0x1.6cc9a20000000p-3f, -0x1.4055080000000p-4f, -0x1.2391500000000p-3f, 0x1.4989f40000000p-3f, -0x1.adc0ea0000000p-9f, 0x1.5d7c020000000p-4f, 0x1.68dd7a0000000p-8f, -0x1.64df220000000p-3f, 0x1.6666cc0000000p-4f, -0x1.16682a0000000p-2f, -0x1.6b98400000000p-6f, 0x1.183c6a0000000p-5f, 0x1.c6638a0000000p-4f, 0x1.e166ce0000000p-4f, -0x1.18433a0000000p-5f, -0x1.3d2a1c0000000p-5f, 0x1.c0a3540000000p-5f, -0x1.48c10c0000000p-4f, 0x1.f17c100000000p-6f, -0x1.9ffa8e0000000p-3f, -0x1.c52eea0000000p-4f, 0x1.015df20000000p-6f, -0x1.e992a00000000p-5f, -0x1.6a0c9e0000000p-4f, 0x1.f1ce460000000p-5f, -0x1.0c2df20000000p-2f, 0x1.cdb1940000000p-3f, -0x1.c608160000000p-4f, -0x1.828b880000000p-3f},
    {-0x1.7dc8060000000p-6f, 0x1.e24c8a0000000p-3f, -0x1.2b209e0000000p-6f, 0x1.625e880000000p-3f, 0x1.4ce2c20000000p-11f, -0x1.3485c00000000p-3f, -0x1.ff92b00000000p-5f, 0x1.73151c0000000p-5f, 0x1.74f8360000000p-4f, -0x1.68c57e0000000p-6f, 0x1.00f0620000000p-7f, 0x1.a0b0900000000p-6f, -0x1.2310460000000p-3f, -0x1.ab59860000000p-4f, -0x1.d51a100000000p-6f, 0x1.40f00a0000000p-4f, 0x1.7561b20000000p-4f, -0x1.4ce39c0000000p-3f, 0x1.bb79a40000000p-7f, -0x1.034a260000000p-4f, -0x1.2cf9420000000p-5f, -0x1.35c3180000000p-3f, 0x1.8f23260000000p-4f, 0x1.ba3c2e0000000p-5f, -0x1.94a5c80000000p-6f, -0x1.3be10e0000000p-6f, 0x1.6d9d400000000p-6f, -0x1.220fec0000000p-10f, -0x1.9e41960000000p-4f, 0x1.e9dfd40000000p-4f, 0x1.db0fb40000000p-8f, -0x1.66cf040000000p-3f, 0x1.64789a0000000p-3f, -0x1.9e6b200000000p-4f, 0x1.7bf5da0000000p-5f, -0x1.f727a60000000p-6f, 0x1.dbce660000000p-7f, -0x1.1abc3c0000000p-3f, 0x1.b8c1c40000000p-5f, 0x1.4a52880000000p-3f, -0x1.f87f440000000p-7f, -0x1.20f31a0000000p-3f, 0x1.1daf780000000p-3f, 0x1.41bf4e0000000p-5f, -0x1.375c600000000p-5f, -0x1.5bcaa40000000p-5f, -0x1.56ba940000000p-4f, 0x1.5a66120000000p-6f},
};
/* np.random.choice(990, 20, replace=False) at iterations 0, 1 and 1999 */
static const unsigned short numpy_starts[3][3][20] = {
    {{747, 625, 298, 746, 45, 27, 249, 31, 679, 776, 77, 308, 529, 108, 299, 14, 485, 142, 283, 930}, {67, 968, 166, 746, 490, 249, 135, 823, 163, 427, 17, 294, 392, 123, 262, 385, 862, 951, 314, 550}, {528, 406, 246, 951, 152, 877, 604, 230, 81, 884, 114, 954, 108, 928, 472, 630, 288, 38, 677, 936}},
    {{320, 834, 946, 702, 941, 980, 482, 977, 900, 671, 567, 6, 740, 614, 651, 467, 961, 104, 647, 815}, {852, 836, 931, 766, 664, 423, 367, 613, 708, 823, 515, 348, 795, 225, 505, 718, 739, 372, 111, 988}, {515, 89, 976, 23, 45, 27, 732, 864, 628, 413, 30, 839, 524, 138, 740, 836, 883, 434, 669, 484}},
    {{168, 941, 146, 484, 25, 786, 658, 24, 321, 205, 153, 974, 571, 531, 271, 792, 463, 752, 283, 591}, {143, 421, 978, 907, 935, 925, 165, 172, 330, 339, 772, 11, 575, 896, 292, 500, 571, 291, 426, 555}, {99, 723, 918, 17, 556, 772, 570, 204, 906, 903, 380, 670, 640, 441, 187, 278, 727, 382, 939, 856}},
};

/* The batches are bit-equal: numpy's legacy shuffle is integer arithmetic. */
static void test_numpy_starts(void)
{
    static size_t st[2000 * SPIRAL_BATCH];
    for (int s = 0; s < 3; s++) {
        spiral_numpy_starts(seeds[s], 2000, st);
        const size_t its[3] = { 0, 1, 1999 };
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < SPIRAL_BATCH; i++) CHECK(st[its[k] * SPIRAL_BATCH + i] == numpy_starts[s][k][i]);
    }
}

/* The weights: torch's float Box-Muller runs SLEEF's 1-ULP log, sin and cos; ours are
 * libm's, rounded: each weight within 2 float ULPs, most bit-equal (measured 88% over
 * all 200 weights of seeds 0, 1, 7), the biases exactly 0, and the right slots. */
static void test_torch_init(void)
{
    double p[SPIRAL_N_PARAMS];
    int equal = 0, total = 0;
    for (int s = 0; s < 3; s++) {
        spiral_torch_init(seeds[s], p);
        for (int k = 0; k < 48; k++) {
            size_t at = k < 16 ? (size_t)k : k < 32 ? (size_t)(84 + k - 16) : (size_t)(150 + 84 + k - 32);
            float want = torch_w[s][k], got = (float)p[at];
            CHECK((double)got == p[at]);   /* a float, as torch's */
            float ulp = nextafterf(fabsf(want), INFINITY) - fabsf(want);
            CHECK(fabsf(got - want) <= 2 * ulp);
            equal += got == want;
            total++;
        }
        for (int i = 100; i < 150; i++) CHECK(p[i] == 0.0);
        CHECK(p[250] == 0.0 && p[251] == 0.0);
    }
    CHECK(equal >= total * 3 / 4);
    printf("torch init: %d of %d stored weights bit-equal\n", equal, total);
}

int main(void)
{
    RUN(test_numpy_starts);
    RUN(test_torch_init);
    return test_summary();
}
