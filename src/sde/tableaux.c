/* The SDE methods of nde, as data: one stochastic Butcher table each (the form is in
 * src/sde/internal.h), driven by the engine of srk.c. Coefficients from the papers
 * cited, checked against Diffrax's tables (patrick-kidger/diffrax, diffrax/_solver/
 * euler_heun.py, heun.py, sea.py, sra1.py, shark.py, shark_general.py, spark.py,
 * slowrk.py). Stage numbers count from 0; matrices are s x s row-major, strictly
 * lower triangular. tests/test_sde.c measures every table's strong order. */
#include "sde/internal.h"

#include <math.h>

#define ALL_NOISE ((1u << NDE_NOISE_DIAGONAL) | (1u << NDE_NOISE_ADDITIVE) | (1u << NDE_NOISE_GENERAL))
#define ADDITIVE_NOISE (1u << NDE_NOISE_ADDITIVE)

static const double one[1] = { 1.0 }, zero[1] = { 0.0 };

/* ---- euler_maruyama: y1 = y + f dt + g W (Maruyama 1955). Itô. ---------------------- */
static const nde__sde_tableau em_tab = {
    .stages = 1, .stratonovich = 0, .levy = NDE_LEVY_NONE, .noises = ALL_NOISE,
    .strong = { 0.5, 0.5, 1.0 }, .drift_evals = 1, .diffusion_evals = 1,
    .c = zero, .a = zero, .b = one, .aw = zero, .bw = one,
};
const nde_method nde__sde_euler_maruyama = {
    .name = "euler_maruyama",
    .description = "Euler-Maruyama (Maruyama 1955): Itô, strong order 0.5 (additive noise 1.0), constant steps",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &em_tab,
    .stages = 2, .order = 1, .embedded_order = 0, .dense_order = 1,
};

/* ---- milstein: Euler-Maruyama plus the derivative-free Milstein term (Kloeden &
 * Platen, Numerical Solution of SDEs, 1992, (11.1.5)). Itô; diagonal and additive
 * noise (on additive noise the term vanishes: it is Euler-Maruyama). ------------------ */
static const nde__sde_tableau milstein_tab = {
    .stages = 1, .milstein = 1, .stratonovich = 0, .levy = NDE_LEVY_NONE,
    .noises = (1u << NDE_NOISE_DIAGONAL) | ADDITIVE_NOISE,
    .strong = { 0.0, 1.0, 1.0 }, .drift_evals = 1, .diffusion_evals = 2,
    .c = zero, .a = zero, .b = one, .aw = zero, .bw = one,
};
const nde_method nde__sde_milstein = {
    .name = "milstein",
    .description = "derivative-free Milstein (Kloeden & Platen 1992): Itô, diagonal noise, strong order 1.0",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &milstein_tab,
    .stages = 3, .order = 1, .embedded_order = 0, .dense_order = 1,
};

/* ---- euler_heun: y1 = y + f dt + (g(y) + g(y + g(y) W)) W / 2, both g at t (Diffrax's
 * EulerHeun). Stratonovich. Its diffusion part expands to g W + (1/2) g'g W^2 + O(h^1.5),
 * the Stratonovich Milstein term, so on commutative noise it has strong order 1.0
 * (measured: tests/test_sde.c, 0.98-1.01 on three problems), not the 0.5 of Diffrax's
 * solver table. -------------------------------------------------------------------------- */
static const double eh_c[2] = { 0.0, 0.0 };
static const double eh_a[4] = { 0.0, 0.0, 0.0, 0.0 };
static const double eh_b[2] = { 1.0, 0.0 };
static const double eh_aw[4] = {
    0.0, 0.0,
    1.0, 0.0,
};
static const double eh_bw[2] = { 0.5, 0.5 };
static const unsigned char eh_skip_f[2] = { 0, 1 };
static const nde__sde_tableau eh_tab = {
    .stages = 2, .stratonovich = 1, .levy = NDE_LEVY_NONE, .noises = ALL_NOISE,
    .strong = { 0.5, 1.0, 1.0 }, .drift_evals = 1, .diffusion_evals = 2,
    .c = eh_c, .a = eh_a, .b = eh_b, .aw = eh_aw, .bw = eh_bw, .skip_f = eh_skip_f,
};
const nde_method nde__sde_euler_heun = {
    .name = "euler_heun",
    .description = "Euler-Heun (Diffrax's EulerHeun): Stratonovich, strong order 0.5 (commutative and additive 1.0)",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &eh_tab,
    .stages = 3, .order = 1, .embedded_order = 0, .dense_order = 1,
};

/* ---- heun: the trapezoidal predictor-corrector on both terms (Heun 1900; Diffrax's
 * Heun for SDEs): z = y + f dt + g W,
 * y1 = y + (f(y) + f(z)) dt/2 + (g(y) + g(z)) W/2. Stratonovich. ----------------------- */
static const double heun_c[2] = { 0.0, 1.0 };
static const double heun_a[4] = {
    0.0, 0.0,
    1.0, 0.0,
};
static const double heun_b[2] = { 0.5, 0.5 };
static const nde__sde_tableau heun_tab = {
    .stages = 2, .stratonovich = 1, .levy = NDE_LEVY_NONE, .noises = ALL_NOISE,
    .strong = { 0.5, 1.0, 1.0 }, .drift_evals = 2, .diffusion_evals = 2,
    .c = heun_c, .a = heun_a, .b = heun_b, .aw = heun_a, .bw = heun_b,
};
static const nde_method sde_heun = {
    .name = "heun",
    .description = "Heun's method for Stratonovich SDEs: strong order 0.5 (commutative and additive 1.0)",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &heun_tab,
    .stages = 4, .order = 2, .embedded_order = 0, .dense_order = 1,
};

/* ---- additive noise: J. Foster, G. dos Reis, C. Strange, "High order splitting
 * methods for SDEs satisfying a commutativity condition", SIAM J. Numer. Anal. 62
 * (2024) (SEA and ShARK); A. Rößler, "Runge-Kutta methods for the strong approximation
 * of solutions of stochastic differential equations", SIAM J. Numer. Anal. 48 (2010)
 * (SRA1). Per-stage coefficients of g(t) W and g(t) H; the error is the drift part. */

/* sea: z = y + g (W/2 + H), y1 = y + f(z) dt + g W. Strong order 1.0. */
static const double sea_aw[1] = { 0.5 };
static const nde__sde_tableau sea_tab = {
    .stages = 1, .additive = 1, .stratonovich = 1, .levy = NDE_LEVY_SPACE_TIME, .noises = ADDITIVE_NOISE,
    .strong = { 0.0, 0.0, 1.0 }, .drift_evals = 1, .diffusion_evals = 2,
    .c = zero, .a = zero, .b = one, .aw = sea_aw, .bw = one, .ah = one, .bh = zero,
};

/* sra1: c = (0, 3/4), z1 = y + (3/4) f0 dt + g ((3/4) W + (3/2) H), b = (1/3, 2/3),
 * error dt (2/3)(f1 - f0). Strong order 1.5. */
static const double sra1_c[2] = { 0.0, 3.0 / 4.0 };
static const double sra1_a[4] = {
    0.0,       0.0,
    3.0 / 4.0, 0.0,
};
static const double sra1_b[2] = { 1.0 / 3.0, 2.0 / 3.0 };
static const double sra1_be[2] = { -2.0 / 3.0, 2.0 / 3.0 };
static const double sra1_aw[2] = { 0.0, 3.0 / 4.0 };
static const double sra1_ah[2] = { 0.0, 3.0 / 2.0 };
static const nde__sde_tableau sra1_tab = {
    .stages = 2, .additive = 1, .stratonovich = 1, .levy = NDE_LEVY_SPACE_TIME, .noises = ADDITIVE_NOISE,
    .strong = { 0.0, 0.0, 1.5 }, .drift_evals = 2, .diffusion_evals = 2,
    .c = sra1_c, .a = sra1_a, .b = sra1_b, .be = sra1_be,
    .aw = sra1_aw, .bw = one, .ah = sra1_ah, .bh = zero,
};

/* shark: z0 = y + g H, z1 = y + (5/6) f0 dt + g ((5/6) W + H), b = (2/5, 3/5), error
 * dt (3/5)(f1 - f0). Strong order 1.5. */
static const double shark_c[2] = { 0.0, 5.0 / 6.0 };
static const double shark_a[4] = {
    0.0,       0.0,
    5.0 / 6.0, 0.0,
};
static const double shark_b[2] = { 2.0 / 5.0, 3.0 / 5.0 };
static const double shark_be[2] = { -3.0 / 5.0, 3.0 / 5.0 };
static const double shark_aw[2] = { 0.0, 5.0 / 6.0 };
static const double shark_ah[2] = { 1.0, 1.0 };
static const nde__sde_tableau shark_tab = {
    .stages = 2, .additive = 1, .stratonovich = 1, .levy = NDE_LEVY_SPACE_TIME, .noises = ADDITIVE_NOISE,
    .strong = { 0.0, 0.0, 1.5 }, .drift_evals = 2, .diffusion_evals = 2,
    .c = shark_c, .a = shark_a, .b = shark_b, .be = shark_be,
    .aw = shark_aw, .bw = one, .ah = shark_ah, .bh = zero,
};

/* ---- general noise with H ----------------------------------------------------------- */

/* general_shark (Foster, dos Reis & Strange 2024; Diffrax's GeneralShARK): 3 stages,
 * no drift at stage 0. Strong order 0.5 / 1.0 / 1.5. */
static const double gshark_c[3] = { 0.0, 0.0, 5.0 / 6.0 };
static const double gshark_a[9] = {
    0.0, 0.0,       0.0,
    0.0, 0.0,       0.0,
    0.0, 5.0 / 6.0, 0.0,
};
static const double gshark_b[3] = { 0.0, 2.0 / 5.0, 3.0 / 5.0 };
static const double gshark_ah[9] = {
    0.0, 0.0, 0.0,
    1.0, 0.0, 0.0,
    1.0, 0.0, 0.0,
};
static const double gshark_bh[3] = { 0.0, 6.0 / 5.0, -6.0 / 5.0 };
static const unsigned char gshark_skip_f[3] = { 1, 0, 0 };
static const nde__sde_tableau gshark_tab = {
    .stages = 3, .stratonovich = 1, .levy = NDE_LEVY_SPACE_TIME, .noises = ALL_NOISE,
    .strong = { 0.5, 1.0, 1.5 }, .drift_evals = 2, .diffusion_evals = 3,
    .c = gshark_c, .a = gshark_a, .b = gshark_b,
    .aw = gshark_a, .bw = gshark_b, .ah = gshark_ah, .bh = gshark_bh, .skip_f = gshark_skip_f,
};

/* spark (J. Foster, "On the convergence of adaptive approximations for stochastic
 * differential equations", arXiv:2311.14201, 2023; Diffrax's SPaRK): c = (0, 1/2, 1),
 * x1 = (3 - sqrt 3)/6, x2 = sqrt 3 / 3; the embedded estimate has drift, W and H
 * parts. Strong order 0.5 / 1.0 / 1.5. */
#define SPARK_X1 0.21132486540518711775   /* (3 - sqrt 3)/6 */
#define SPARK_X2 0.57735026918962576451   /* sqrt 3 / 3 */
#define SQRT3 1.7320508075688772935
static const double spark_c[3] = { 0.0, 0.5, 1.0 };
static const double spark_a[9] = {
    0.0, 0.0, 0.0,
    0.5, 0.0, 0.0,
    0.0, 1.0, 0.0,
};
static const double spark_b[3] = { SPARK_X1, SPARK_X2, SPARK_X1 };
static const double spark_be[3] = { SPARK_X1 - 0.5, SPARK_X2, SPARK_X1 - 0.5 };
static const double spark_ah[9] = {
    0.0,   0.0, 0.0,
    SQRT3, 0.0, 0.0,
    0.0,   0.0, 0.0,
};
static const double spark_bh[3] = { 1.0, 0.0, -1.0 };
static const nde__sde_tableau spark_tab = {
    .stages = 3, .stratonovich = 1, .levy = NDE_LEVY_SPACE_TIME, .noises = ALL_NOISE,
    .strong = { 0.5, 1.0, 1.5 }, .drift_evals = 3, .diffusion_evals = 3,
    .c = spark_c, .a = spark_a, .b = spark_b, .be = spark_be,
    .aw = spark_a, .bw = spark_b, .bwe = spark_be, .ah = spark_ah, .bh = spark_bh, .bhe = spark_bh,
};

/* slow_rk (Foster & dos Reis, SLOW-RK; Diffrax's SlowRK): 7 stages, drift at stages 0
 * and 5 only, diffusion at 1-4 and 6. Strong order 0.5 / 1.5 / 1.5. */
static const double slow_c[7] = { 0.0, 0.5, 0.5, 0.5, 0.5, 0.75, 1.0 };
static const double slow_a[49] = {
    0.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.5,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.5,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.5,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.5,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    1.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
};
static const double slow_b[7] = { 1.0 / 3.0, 0.0, 0.0, 0.0, 0.0, 2.0 / 3.0, 0.0 };
static const double slow_aw[49] = {
    0.0, 0.0, 0.0, 0.0,  0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0,  0.0, 0.0, 0.0,
    0.0, 0.5, 0.0, 0.0,  0.0, 0.0, 0.0,
    0.0, 0.0, 0.5, 0.0,  0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 1.0,  0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.75, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.5, 0.0,  0.0, 0.0, 0.0,
};
static const double slow_bw[7] = { 0.0, 1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0, 0.0, 0.0 };
static const double slow_ah[49] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
};
static const double slow_bh[7] = { 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, -2.0 };
static const unsigned char slow_skip_f[7] = { 0, 1, 1, 1, 1, 0, 1 };
static const unsigned char slow_skip_g[7] = { 1, 0, 0, 0, 0, 1, 0 };
static const nde__sde_tableau slow_tab = {
    .stages = 7, .stratonovich = 1, .levy = NDE_LEVY_SPACE_TIME, .noises = ALL_NOISE,
    .strong = { 0.5, 1.5, 1.5 }, .drift_evals = 2, .diffusion_evals = 5,
    .c = slow_c, .a = slow_a, .b = slow_b, .aw = slow_aw, .bw = slow_bw, .ah = slow_ah, .bh = slow_bh,
    .skip_f = slow_skip_f, .skip_g = slow_skip_g,
};

/* ---- descriptors ----------------------------------------------------------------------
 * order: the deterministic order (noise 0); embedded_order 1 for the adaptive ones (PID
 * exponent 1/2: see nde/sde.h); stages: drift plus diffusion evaluations per step. */
const nde_method nde__sde_sea = {
    .name = "sea",
    .description = "SEA (Foster, dos Reis & Strange 2024): additive noise, strong order 1.0",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &sea_tab,
    .stages = 3, .order = 1, .embedded_order = 0, .dense_order = 1,
};
const nde_method nde__sde_sra1 = {
    .name = "sra1",
    .description = "SRA1 (Rößler 2010): additive noise, strong order 1.5, embedded drift estimate",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &sra1_tab,
    .stages = 4, .order = 2, .embedded_order = 1, .dense_order = 1,
};
const nde_method nde__sde_shark = {
    .name = "shark",
    .description = "ShARK (Foster, dos Reis & Strange 2024): additive noise, strong order 1.5, embedded drift estimate",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &shark_tab,
    .stages = 4, .order = 2, .embedded_order = 1, .dense_order = 1,
};
const nde_method nde__sde_general_shark = {
    .name = "general_shark",
    .description = "general ShARK (Foster, dos Reis & Strange 2024): Stratonovich, strong order 0.5/1.0/1.5",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &gshark_tab,
    .stages = 5, .order = 2, .embedded_order = 0, .dense_order = 1,
};
const nde_method nde__sde_spark = {
    .name = "spark",
    .description = "SPaRK (Foster 2023): Stratonovich, strong order 0.5/1.0/1.5, embedded estimate",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &spark_tab,
    .stages = 6, .order = 2, .embedded_order = 1, .dense_order = 1,
};
const nde_method nde__sde_slow_rk = {
    .name = "slow_rk",
    .description = "SLOW-RK (Foster & dos Reis): Stratonovich, strong order 0.5/1.5/1.5",
    .kind = NDE_METHOD_SDE, .ops = &nde__sde_ops, .tableau = &slow_tab,
    .stages = 7, .order = 2, .embedded_order = 0, .dense_order = 1,
};

const nde_method *const nde__sde_methods[] = {
    &nde__sde_euler_maruyama, &nde__sde_milstein, &nde__sde_euler_heun, &sde_heun,
    &nde__sde_sea, &nde__sde_sra1, &nde__sde_shark,
    &nde__sde_general_shark, &nde__sde_spark, &nde__sde_slow_rk,
    &nde__sde_reversible_heun,   /* src/sde/reversible.c */
};
const size_t nde__sde_n_methods = sizeof nde__sde_methods / sizeof nde__sde_methods[0];

const nde__sde_tableau *nde__sde_tab(const nde_method *m)
{
    return m && m->kind == NDE_METHOD_SDE && (m->ops == &nde__sde_ops || m->ops == &nde__sde_rev_ops) ? m->tableau
                                                                                                      : NULL;
}
