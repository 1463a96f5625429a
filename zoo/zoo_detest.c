/* zoo/zoo_detest.c — the DETEST non-stiff problems A1-E5 (Hull, Enright, Fellen &
 * Sedgwick 1972, "Comparing numerical methods for ordinary differential equations",
 * SIAM J. Numer. Anal. 9(4)), family "detest" of the zoo, exactly as Diffrax's
 * test/test_detest.py writes them (research/diffrax.md §2.1): C1-C4 keep the zero last
 * diagonal entry, C5 is the Jupiter-Pluto five-body problem in heliocentric
 * coordinates. Every problem runs on t in [0, 20]; ref is y(20) from
 * zoo/refs_detest.h (GSL rk8pd at 1e-13, cross-checked; scripts/gen_detest_refs.c).
 *
 * State layouts: C5 is y[0..14] = positions, coordinate-major (x of bodies 1-5, then
 * y, then z: y[c*5 + body]), y[15..29] = velocities in the same layout. */
#include "zoo.h"

#include <math.h>
#include <stddef.h>

#include "refs_detest.h"

#define DETEST_T0 0.0
#define DETEST_T1 20.0

/* ---- class A: single equations ------------------------------------------------ */
static int detest_a1(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -y[0]; return 0; }
static int detest_a2(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -0.5 * y[0] * y[0] * y[0]; return 0; }
static int detest_a3(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = y[0] * cos(t); return 0; }
static int detest_a4(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = 0.25 * y[0] * (1.0 - 0.05 * y[0]); return 0; }
static int detest_a5(double t, const double *y, double *dy, void *u)
{ (void)u; dy[0] = (y[0] - t) / (y[0] + t); return 0; }

/* ---- class B: small systems ----------------------------------------------------- */
static int detest_b1(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = 2.0 * (y[0] - y[0] * y[1]);
    dy[1] = -y[1] + y[0] * y[1];
    return 0;
}
static int detest_b2(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0] + y[1];
    dy[1] = y[0] - 2.0 * y[1] + y[2];
    dy[2] = y[1] - y[2];
    return 0;
}
static int detest_b3(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0];
    dy[1] = y[0] - y[1] * y[1];
    dy[2] = y[1] * y[1];
    return 0;
}
static int detest_b4(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    double r = sqrt(y[0] * y[0] + y[1] * y[1]);
    dy[0] = -y[1] - y[0] * y[2] / r;
    dy[1] = y[0] - y[1] * y[2] / r;
    dy[2] = y[0] / r;
    return 0;
}
static int detest_b5(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1] * y[2];
    dy[1] = -y[0] * y[2];
    dy[2] = -0.51 * y[0] * y[1];
    return 0;
}

/* ---- class C: moderate systems (linear chains; the last component has no decay) -- */
static int detest_c1(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0];
    for (int i = 1; i < 9; i++) dy[i] = y[i - 1] - y[i];
    dy[9] = y[8];
    return 0;
}
static int detest_c2(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;   /* A_ii = -i (i = 1..9, 1-based), A_{i+1,i} = i, A_10,10 = 0 */
    dy[0] = -y[0];
    for (int i = 1; i < 9; i++) dy[i] = (double)i * y[i - 1] - (double)(i + 1) * y[i];
    dy[9] = 9.0 * y[8];
    return 0;
}
/* C3 (n = 10) and C4 (n = 51): tridiagonal (1, -2, 1) with the last diagonal entry 0. */
static int detest_c34(double t, const double *y, double *dy, void *u)
{
    (void)t;
    int n = *(const int *)u;   /* chain length */
    dy[0] = -2.0 * y[0] + y[1];
    for (int i = 1; i < n - 1; i++) dy[i] = y[i - 1] - 2.0 * y[i] + y[i + 1];
    dy[n - 1] = y[n - 2];
    return 0;
}

/* C5: five outer planets around the Sun (Jupiter..Pluto), heliocentric. */
#define DETEST_C5_K2 2.95912208286
#define DETEST_C5_M0 1.00000597682
static const double detest_c5_mass[5] = {
    0.000954786104043, 0.000285583733151, 0.0000437273164546,
    0.0000517759138449, 0.00000277777777778 };

static int detest_c5(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    const double *p = y, *v = y + 15;
    double r3[5];
    for (int j = 0; j < 5; j++) {
        double r2 = p[j] * p[j] + p[5 + j] * p[5 + j] + p[10 + j] * p[10 + j];
        r3[j] = r2 * sqrt(r2);
    }
    for (int k = 0; k < 15; k++) dy[k] = v[k];
    for (int j = 0; j < 5; j++) {
        for (int c = 0; c < 3; c++) {
            double a = -(DETEST_C5_M0 + detest_c5_mass[j]) * p[c * 5 + j] / r3[j];
            for (int k = 0; k < 5; k++) {
                if (k == j) continue;
                double dx = p[k] - p[j], dyy = p[5 + k] - p[5 + j], dz = p[10 + k] - p[10 + j];
                double d2 = dx * dx + dyy * dyy + dz * dz, d3 = d2 * sqrt(d2);
                a += detest_c5_mass[k] * ((p[c * 5 + k] - p[c * 5 + j]) / d3 - p[c * 5 + k] / r3[k]);
            }
            dy[15 + c * 5 + j] = DETEST_C5_K2 * a;
        }
    }
    return 0;
}

/* ---- class D: Kepler orbits of eccentricity 0.1 ... 0.9: zoo_kepler ---------------- */

/* ---- class E: higher-order equations as first-order systems ----------------------- */
static int detest_e1(double t, const double *y, double *dy, void *u)
{
    (void)u;   /* Bessel's equation of order 1/2 in x = t + 1: y1 = J_{1/2}(t + 1) */
    double x = t + 1.0;
    dy[0] = y[1];
    dy[1] = -(y[1] / x + y[0] * (1.0 - 0.25 / (x * x)));
    return 0;
}
static int detest_e3(double t, const double *y, double *dy, void *u)
{
    (void)u;   /* forced Duffing */
    dy[0] = y[1];
    dy[1] = y[0] * y[0] * y[0] / 6.0 - y[0] + 2.0 * sin(2.78535 * t);
    return 0;
}
static int detest_e4(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1];
    dy[1] = 0.032 - 0.4 * y[1] * y[1];
    return 0;
}
static int detest_e5(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = y[1];
    dy[1] = sqrt(1.0 + y[1] * y[1]) / (25.0 - t);
    return 0;
}

/* ---- closed forms where DETEST has them ------------------------------------------- */

static void detest_a1_exact(double t, double *y, void *u) { (void)u; y[0] = exp(-t); }
static void detest_a2_exact(double t, double *y, void *u) { (void)u; y[0] = 1.0 / sqrt(1.0 + t); }
static void detest_a3_exact(double t, double *y, void *u) { (void)u; y[0] = exp(sin(t)); }
static void detest_a4_exact(double t, double *y, void *u)
{ (void)u; y[0] = 20.0 / (1.0 + 19.0 * exp(-t / 4.0)); }
/* E1: y1 = J_{1/2}(x) = sqrt(2 / (pi x)) sin x, x = t + 1. */
static void detest_e1_exact(double t, double *y, void *u)
{
    (void)u;
    double x = t + 1.0, c = sqrt(2.0 / (3.14159265358979323846 * x));
    y[0] = c * sin(x);
    y[1] = c * (cos(x) - sin(x) / (2.0 * x));
}

/* ---- the table -------------------------------------------------------------------- */

static const int chain10 = 10, chain51 = 51;
static const double vdp_mu1 = 1.0;
static const double ecc[5] = { 0.1, 0.3, 0.5, 0.7, 0.9 };

#define HEFS "Hull, Enright, Fellen & Sedgwick, SIAM J. Numer. Anal. 9 (1972), problem "
#define REF_TEXT "GSL rk8pd at rtol = atol = 1e-13, cross-checked by rkck, msadams and " \
                 "closed forms (zoo/refs_detest.h, scripts/gen_detest_refs.c)"
#define DETEST(nm, what, n, fn, usr, ex, k, ...)                                           \
    { .name = nm, .family = "detest", .description = what, .source = HEFS nm,             \
      .dim = n, .t0 = DETEST_T0, .t1 = DETEST_T1, .y0 = (const double[n]){ __VA_ARGS__ }, \
      .f = fn, .user = (void *)(usr), .exact = ex, .ref = detest_refs[k],                 \
      .ref_source = REF_TEXT }
/* Kepler at perihelion (1 - e, 0) with speed sqrt((1 + e) / (1 - e)) (the doubles
 * sqrt() gives, written out; tests/test_zoo.c checks them). */
#define DETEST_D(nm, i, e, k, v) DETEST(nm, "Kepler orbit of eccentricity " #e, 4, zoo_kepler, \
    &ecc[i], zoo_kepler_exact, k, 1.0 - (e), 0.0, 0.0, v)

const zoo_problem zoo__detest[] = {
    DETEST("A1", "y' = -y", 1, detest_a1, NULL, detest_a1_exact, 0, 1.0),
    DETEST("A2", "y' = -y^3 / 2", 1, detest_a2, NULL, detest_a2_exact, 1, 1.0),
    DETEST("A3", "y' = y cos t", 1, detest_a3, NULL, detest_a3_exact, 2, 1.0),
    DETEST("A4", "logistic y' = y (1 - y / 20) / 4", 1, detest_a4, NULL, detest_a4_exact, 3, 1.0),
    DETEST("A5", "y' = (y - t) / (y + t)", 1, detest_a5, NULL, NULL, 4, 4.0),
    DETEST("B1", "Lotka-Volterra predator-prey", 2, detest_b1, NULL, NULL, 5, 1.0, 3.0),
    DETEST("B2", "linear chain of three reactions", 3, detest_b2, NULL, NULL, 6, 2.0, 0.0, 1.0),
    DETEST("B3", "nonlinear chemical reaction", 3, detest_b3, NULL, NULL, 7, 1.0, 0.0, 0.0),
    DETEST("B4", "circle-approaching spiral", 3, detest_b4, NULL, NULL, 8, 3.0, 0.0, 0.0),
    DETEST("B5", "Euler's rigid body equations", 3, detest_b5, NULL, NULL, 9, 0.0, 1.0, 1.0),
    DETEST("C1", "linear chain, constant rates", 10, detest_c1, NULL, NULL, 10, 1.0),
    DETEST("C2", "linear chain, rates 1..9", 10, detest_c2, NULL, NULL, 11, 1.0),
    DETEST("C3", "tridiagonal (1, -2, 1), n = 10", 10, detest_c34, &chain10, NULL, 12, 1.0),
    DETEST("C4", "tridiagonal (1, -2, 1), n = 51", 51, detest_c34, &chain51, NULL, 13, 1.0),
    DETEST("C5", "five outer planets around the Sun", 30, detest_c5, NULL, NULL, 14,
        3.42947415189, 6.64145542550, 11.2630437207, -30.1552268759, -21.1238353380,
        3.35386959711, 5.97156957878, 14.6952576794, 1.65699966404, 28.4465098142,
        1.35494901715, 2.18231499728, 6.27960525067, 1.43785752721, 15.3882659679,
        -0.557160570446, -0.415570776342, -0.325325669158, -0.024047625417, -0.176860753121,
        0.505696783289, 0.365682722812, 0.189706021964, -0.287659532608, -0.216393453025,
        0.230578543901, 0.169143213293, 0.087726532278, -0.117219543175, -0.014864789309),
    DETEST_D("D1", 0, 0.1, 15, 1.1055415967851334),
    DETEST_D("D2", 1, 0.3, 16, 1.362770287738494),
    DETEST_D("D3", 2, 0.5, 17, 1.7320508075688772),
    DETEST_D("D4", 3, 0.7, 18, 2.3804761428476167),
    DETEST_D("D5", 4, 0.9, 19, 4.358898943540674),
    DETEST("E1", "Bessel's equation of order 1/2", 2, detest_e1, NULL, detest_e1_exact, 20,
        0.6713967071418030, 0.09540051444747446),
    DETEST("E2", "Van der Pol, mu = 1", 2, zoo_vdp, &vdp_mu1, NULL, 21, 2.0, 0.0),
    DETEST("E3", "forced Duffing oscillator", 2, detest_e3, NULL, NULL, 22, 0.0, 0.0),
    DETEST("E4", "y'' = 0.032 - 0.4 y'^2", 2, detest_e4, NULL, NULL, 23, 30.0, 0.0),
    DETEST("E5", "y'' = sqrt(1 + y'^2) / (25 - t)", 2, detest_e5, NULL, NULL, 24, 0.0, 0.0),
};
const size_t zoo__n_detest = sizeof zoo__detest / sizeof zoo__detest[0];
