/* zoo/zoo.c — the problem table (zoo.h) and every right-hand side that is not in
 * zoo_rhs.inc or zoo_detest.c. */
#include "zoo.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "refs_bench.h"
#ifdef ZOO_BOOTSTRAP_STIFF_REFS   /* scripts/gen_stiff_refs.c, which writes refs_stiff.h */
#define stiff_ref_robertson1e5 NULL
#define stiff_ref_vdp1000 NULL
#define stiff_ref_bruss1d NULL
#define STIFF_REF NULL
#else
#include "refs_stiff.h"
#endif

#define REAL double
#define RSQRT(x) sqrt(x)
#define RHS(name) name##_f64
#include "zoo_rhs.inc"

#define PI 3.14159265358979323846
#define LINEAR_N 1000   /* dimension of linear1000 */

/* ---- the benchmark problems: adaptors from zoo_rhs.inc to the common signature
 * (each is one direct call the compiler inlines: no cost over the .inc code) -------- */

static int lorenz_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; lorenz_f64(3, y, dy); return 0; }
static int arenstorf_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; arenstorf_f64(4, y, dy); return 0; }
static int pleiades_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; pleiades_f64(28, y, dy); return 0; }
static int linear_rhs(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; linear_f64(LINEAR_N, y, dy); return 0; }

static int lorenz_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    J[0] = -lorenz_sigma;  J[1] = lorenz_sigma; J[2] = 0.0;
    J[3] = lorenz_rho - y[2]; J[4] = -1.0;     J[5] = -y[0];
    J[6] = y[1];           J[7] = y[0];         J[8] = -lorenz_beta;
    return 0;
}

static const double lorenz_y0[3] = { 1.0, 0.0, 0.0 };
static const double arenstorf_y0[4] = { 0.994, 0.0, 0.0, -2.00158510637908252240537862224 };
#define ARENSTORF_PERIOD 17.0652165601579625588917206249
static const double pleiades_y0[28] = {
    3, 3, -1, -3, 2, -2, 2,            /* x */
    3, -3, 2, 0, 0, -4, 4,             /* y */
    0, 0, 0, 0, 0, 1.75, -1.5,         /* x' */
    0, 0, 0, -1.25, 1, 0, 0 };         /* y' */

/* A Gaussian bump, a long wave and uniform pseudo-random noise in [-0.5, 0.5) (a fixed
 * 64-bit LCG, Knuth's MMIX constants): every Fourier mode is excited. */
static void linear_init(double *y)
{
    uint64_t s = 12345u;
    for (size_t i = 0; i < LINEAR_N; i++) {
        const double g = ((double)i - 300.0) / 40.0;
        s = s * 6364136223846793005u + 1442695040888963407u;
        const double u = (double)(s >> 11) * 0x1.0p-53 - 0.5;
        y[i] = exp(-g * g) + 0.5 * sin(2.0 * PI * 3.0 * (double)i / LINEAR_N) + u;
    }
}

/* ---- overhead: y' = -y, n = *(const size_t *)user ------------------------------------ */

static int decay_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) dy[i] = -y[i];
    return 0;
}
static void decay_exact(double t, double *y, void *u)
{
    const size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) y[i] = exp(-t);
}
static const size_t dim1 = 1, dim1000 = 1000;
static const double one[1] = { 1.0 };
static void ones1000(double *y) { for (size_t i = 0; i < 1000; i++) y[i] = 1.0; }

/* ---- Van der Pol: x'' = mu (1 - x^2) x' - x, user = const double *mu ------------------ */

int zoo_vdp(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double mu = *(const double *)u;
    dy[0] = y[1];
    dy[1] = mu * (1.0 - y[0] * y[0]) * y[1] - y[0];
    return 0;
}
static int vdp_jac(double t, const double *y, double *J, void *u)
{
    (void)t;
    const double mu = *(const double *)u;
    J[0] = 0.0;                               J[1] = 1.0;
    J[2] = -2.0 * mu * y[0] * y[1] - 1.0;     J[3] = mu * (1.0 - y[0] * y[0]);
    return 0;
}
static const double vdp_mu5 = 5.0;
static const double vdp_y0[2] = { 2.0, 0.0 };

/* The stiff form of the test set (VDPOL): y'' = ((1 - y^2) y' - y) / eps, user = &eps. */
static int vdpol_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double eps = *(const double *)u;
    dy[0] = y[1];
    dy[1] = ((1.0 - y[0] * y[0]) * y[1] - y[0]) / eps;
    return 0;
}
static int vdpol_jac(double t, const double *y, double *J, void *u)
{
    (void)t;
    const double eps = *(const double *)u;
    J[0] = 0.0;                               J[1] = 1.0;
    J[2] = (-2.0 * y[0] * y[1] - 1.0) / eps;  J[3] = (1.0 - y[0] * y[0]) / eps;
    return 0;
}
static const double vdpol_eps = 1e-6;
/* Test Set for IVP Solvers (Mazzia & Magherini, release 2.4), problem VDPOL, y(2). */
static const double vdpol_ref[2] = { 1.706167732170483, -0.8928097010247975 };

/* ---- Robertson's chemical kinetics (1966), HNW II, IV.1 (1.4) ----------------------- */

static int robertson_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    const double r1 = 0.04 * y[0], r2 = 1e4 * y[1] * y[2], r3 = 3e7 * y[1] * y[1];
    dy[0] = -r1 + r2;
    dy[1] = r1 - r2 - r3;
    dy[2] = r3;
    return 0;
}
static int robertson_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    J[0] = -0.04; J[1] = 1e4 * y[2];                   J[2] = 1e4 * y[1];
    J[3] = 0.04;  J[4] = -1e4 * y[2] - 6e7 * y[1];     J[5] = -1e4 * y[1];
    J[6] = 0.0;   J[7] = 6e7 * y[1];                   J[8] = 0.0;
    return 0;
}
static const double robertson_y0[3] = { 1.0, 0.0, 0.0 };
/* Test Set for IVP Solvers (Mazzia & Magherini, release 2.4), problem ROBER, y(1e11). */
static const double robertson_ref[3] = {
    0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050 };

/* Robertson as an index-1 DAE (HNW II, VI.1): the conservation law replaces y3'. */
static int robertson_dae_rhs(double t, const double *y, double *dy, void *u)
{
    robertson_rhs(t, y, dy, u);
    dy[2] = y[0] + y[1] + y[2] - 1.0;
    return 0;
}
static int robertson_dae_jac(double t, const double *y, double *J, void *u)
{
    robertson_jac(t, y, J, u);
    J[6] = 1.0; J[7] = 1.0; J[8] = 1.0;
    return 0;
}
static const double robertson_dae_mass[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 0 };

/* ---- Van der Pol with mu = 1000 in unscaled time (the benchmarks' stiff vdp) -------- */
static const double vdp_mu1000 = 1000.0;

/* ---- HIRES: Schaefer's growth model of plant tissue (HNW II, IV.10; Test Set) ------- */
static int hires_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007;
    dy[1] = 1.71 * y[0] - 8.75 * y[1];
    dy[2] = -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4];
    dy[3] = 8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3];
    dy[4] = -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6];
    dy[5] = -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6];
    dy[6] = 280.0 * y[5] * y[7] - 1.81 * y[6];
    dy[7] = -280.0 * y[5] * y[7] + 1.81 * y[6];
    return 0;
}
static int hires_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    memset(J, 0, 64 * sizeof *J);
    J[0 * 8 + 0] = -1.71; J[0 * 8 + 1] = 0.43; J[0 * 8 + 2] = 8.32;
    J[1 * 8 + 0] = 1.71;  J[1 * 8 + 1] = -8.75;
    J[2 * 8 + 2] = -10.03; J[2 * 8 + 3] = 0.43; J[2 * 8 + 4] = 0.035;
    J[3 * 8 + 1] = 8.32;  J[3 * 8 + 2] = 1.71; J[3 * 8 + 3] = -1.12;
    J[4 * 8 + 4] = -1.745; J[4 * 8 + 5] = 0.43; J[4 * 8 + 6] = 0.43;
    J[5 * 8 + 3] = 0.69;  J[5 * 8 + 4] = 1.71; J[5 * 8 + 5] = -280.0 * y[7] - 0.43;
    J[5 * 8 + 6] = 0.69;  J[5 * 8 + 7] = -280.0 * y[5];
    J[6 * 8 + 5] = 280.0 * y[7]; J[6 * 8 + 6] = -1.81; J[6 * 8 + 7] = 280.0 * y[5];
    J[7 * 8 + 5] = -280.0 * y[7]; J[7 * 8 + 6] = 1.81; J[7 * 8 + 7] = -280.0 * y[5];
    return 0;
}
static const double hires_y0[8] = { 1, 0, 0, 0, 0, 0, 0, 0.0057 };
/* Test Set for IVP Solvers (Mazzia & Magherini, release 2.4), problem HIRES, y(321.8122) */
static const double hires_ref[8] = {
    0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4, 0.1175651343283149e-2,
    0.2386356198831331e-2, 0.6238968252742796e-2, 0.2849998395185769e-2, 0.2850001604814231e-2 };

/* ---- the 1-D Brusselator (HNW II, IV.1 (1.6)): N = 500 grid points, alpha = 1/50,
 * u and v interleaved (y = u1 v1 u2 v2 ...) so that the Jacobian is banded with two
 * sub- and two superdiagonals; u = 1, v = 3 at both ends, t in [0, 10] ------------- */
#define BRUSS_N 500
static int bruss_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    const double a = (1.0 / 50.0) * (BRUSS_N + 1) * (BRUSS_N + 1);
    for (int i = 0; i < BRUSS_N; i++) {
        double ui = y[2 * i], vi = y[2 * i + 1];
        double ul = i > 0 ? y[2 * i - 2] : 1.0, ur = i < BRUSS_N - 1 ? y[2 * i + 2] : 1.0;
        double vl = i > 0 ? y[2 * i - 1] : 3.0, vr = i < BRUSS_N - 1 ? y[2 * i + 3] : 3.0;
        dy[2 * i] = 1.0 + ui * ui * vi - 4.0 * ui + a * (ul - 2.0 * ui + ur);
        dy[2 * i + 1] = 3.0 * ui - ui * ui * vi + a * (vl - 2.0 * vi + vr);
    }
    return 0;
}
/* The full 1000 x 1000 array (nde_jac's contract): five nonzero diagonals. */
static int bruss_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    const size_t n = 2 * BRUSS_N;
    const double a = (1.0 / 50.0) * (BRUSS_N + 1) * (BRUSS_N + 1);
    memset(J, 0, n * n * sizeof *J);
    for (size_t i = 0; i < BRUSS_N; i++) {
        double ui = y[2 * i], vi = y[2 * i + 1];
        size_t r = 2 * i;
        J[r * n + r] = 2.0 * ui * vi - 4.0 - 2.0 * a;
        J[r * n + r + 1] = ui * ui;
        J[(r + 1) * n + r] = 3.0 - 2.0 * ui * vi;
        J[(r + 1) * n + r + 1] = -ui * ui - 2.0 * a;
        if (i > 0) { J[r * n + r - 2] = a; J[(r + 1) * n + r - 1] = a; }
        if (i < BRUSS_N - 1) { J[r * n + r + 2] = a; J[(r + 1) * n + r + 3] = a; }
    }
    return 0;
}
static void bruss_init(double *y)
{
    for (int i = 0; i < BRUSS_N; i++) {
        double x = (double)(i + 1) / (BRUSS_N + 1);
        y[2 * i] = 1.0 + sin(2.0 * PI * x);
        y[2 * i + 1] = 3.0;
    }
}

/* ---- Kepler's two-body problem, semi-major axis 1, period 2 pi ---------------------- */

int zoo_kepler(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    double r2 = y[0] * y[0] + y[1] * y[1], r3 = r2 * sqrt(r2);
    dy[0] = y[2];
    dy[1] = y[3];
    dy[2] = -y[0] / r3;
    dy[3] = -y[1] / r3;
    return 0;
}
static int kepler_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    const double r2 = y[0] * y[0] + y[1] * y[1], r = sqrt(r2), r3 = r2 * r, r5 = r3 * r2;
    memset(J, 0, 16 * sizeof *J);
    J[2] = 1.0;
    J[7] = 1.0;
    J[8] = 3.0 * y[0] * y[0] / r5 - 1.0 / r3;  J[9] = 3.0 * y[0] * y[1] / r5;
    J[12] = 3.0 * y[0] * y[1] / r5;            J[13] = 3.0 * y[1] * y[1] / r5 - 1.0 / r3;
    return 0;
}
/* The orbit of eccentricity e = *(const double *)user that starts at perihelion
 * (1 - e, 0) at t = 0: Kepler's equation E - e sin E = t by Newton. */
void zoo_kepler_exact(double t, double *y, void *u)
{
    const double e = *(const double *)u, s = sqrt(1.0 - e * e);
    double E = t + e * sin(t);
    for (int k = 0; k < 50; k++) {
        double dE = (E - e * sin(E) - t) / (1.0 - e * cos(E));
        E -= dE;
        if (fabs(dE) <= 1e-16 * (1.0 + fabs(E))) break;
    }
    double den = 1.0 - e * cos(E);
    y[0] = cos(E) - e;
    y[1] = s * sin(E);
    y[2] = -sin(E) / den;
    y[3] = s * cos(E) / den;
}
static const double kepler_e0 = 0.0, kepler_e06 = 0.6;
static const double kepler_circular_y0[4] = { 1.0, 0.0, 0.0, 1.0 };
static const double kepler06_y0[4] = { 1.0 - 0.6, 0.0, 0.0, 2.0 /* sqrt((1+e)/(1-e)) */ };

/* ---- Fehlberg's test problem (1968), HNW I, II.1: smooth, nonlinear, exact ----------
 * y1 = exp(sin t^2), y2 = exp(5 sin t^2), y3 = sin t^2 + 1, y4 = cos t^2 on [0, 5]. */
static int fehlberg_rhs(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = 2.0 * t * pow(y[1], 0.2) * y[3];
    dy[1] = 10.0 * t * exp(5.0 * (y[2] - 1.0)) * y[3];
    dy[2] = 2.0 * t * y[3];
    dy[3] = -2.0 * t * log(y[0]);
    return 0;
}
static void fehlberg_exact(double t, double *y, void *u)
{
    (void)u;
    double s = sin(t * t);
    y[0] = exp(s);
    y[1] = exp(5.0 * s);
    y[2] = s + 1.0;
    y[3] = cos(t * t);
}
static const double fehlberg_y0[4] = { 1.0, 1.0, 1.0, 1.0 };

/* ---- falling ball from 10 m, g = 9.81; event: the ground ---------------------------- */
#define BALL_G 9.81
#define BALL_H0 10.0
static int ball_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1];
    dy[1] = -BALL_G;
    return 0;
}
static int ball_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)y; (void)u;
    J[0] = 0.0; J[1] = 1.0; J[2] = 0.0; J[3] = 0.0;
    return 0;
}
static void ball_exact(double t, double *y, void *u)
{
    (void)u;
    y[0] = BALL_H0 - 0.5 * BALL_G * t * t;
    y[1] = -BALL_G * t;
}
static int ball_ground(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = y[0];
    return 0;
}
static double ball_time(void) { return sqrt(2.0 * BALL_H0 / BALL_G); }
static const double ball_y0[2] = { BALL_H0, 0.0 };

/* ---- pendulum theta'' = -sin(theta) released from rest at 2.5 rad -------------------
 * It first reaches theta = 0 after a quarter period K(k) = pi / (2 AGM(1, cos(theta0/2))). */
#define PENDULUM_THETA0 2.5
static int pendulum_rhs(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1];
    dy[1] = -sin(y[0]);
    return 0;
}
static int pendulum_jac(double t, const double *y, double *J, void *u)
{
    (void)t; (void)u;
    J[0] = 0.0; J[1] = 1.0; J[2] = -cos(y[0]); J[3] = 0.0;
    return 0;
}
static int pendulum_bottom(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = y[0];
    return 0;
}
static double agm(double a, double b)
{
    for (int k = 0; k < 60 && fabs(a - b) > 1e-16 * a; k++) {
        double an = 0.5 * (a + b);
        b = sqrt(a * b);
        a = an;
    }
    return 0.5 * (a + b);
}
static double pendulum_time(void) { return PI / (2.0 * agm(1.0, cos(0.5 * PENDULUM_THETA0))); }
static const double pendulum_y0[2] = { PENDULUM_THETA0, 0.0 };

/* ---- the table ---------------------------------------------------------------------- */

#define HNW1 "Hairer, Norsett & Wanner, Solving ODEs I (2nd ed., 1993)"
#define HNW2 "Hairer & Wanner, Solving ODEs II (2nd ed., 1996)"
#define QUAD_REF "__float128 Gragg-Bulirsch-Stoer, converged to 1e-20 (bench/gen_refs.c)"
#define TESTSET_REF "Test Set for IVP Solvers (Mazzia & Magherini, Bari, release 2.4); " \
    "GSL 2.7.1 bsimp at rtol 1e-14 on this code agrees to 1e-11 (scripts/check_stiff_refs.c)"

#define TESTSET_HIRES_REF "Test Set for IVP Solvers (Mazzia & Magherini, Bari, release 2.4); " \
    "GSL bsimp and msbdf agree (scripts/gen_stiff_refs.c)"

/* Defined in zoo_detest.c. */
extern const zoo_problem zoo__detest[];
extern const size_t zoo__n_detest;

static const zoo_problem table[] = {
    { .name = "lorenz", .family = "hnw",
      .description = "Lorenz attractor (sigma 10, rho 28, beta 8/3), chaotic",
      .source = "Lorenz, J. Atmos. Sci. 20 (1963); " HNW1 ", I.16",
      .dim = 3, .t0 = 0.0, .t1 = 20.0, .y0 = lorenz_y0, .f = lorenz_rhs, .jac = lorenz_jac,
      .ref = bench_ref_lorenz, .ref_source = QUAD_REF, .components = "x y z" },
    { .name = "arenstorf", .family = "hnw",
      .description = "Arenstorf orbit: restricted three-body problem, one period",
      .source = HNW1 ", II.0 (0.1)",
      .dim = 4, .t0 = 0.0, .t1 = ARENSTORF_PERIOD, .y0 = arenstorf_y0, .f = arenstorf_rhs,
      .ref = bench_ref_arenstorf, .ref_source = QUAD_REF, .components = "x y vx vy" },
    { .name = "pleiades", .family = "hnw",
      .description = "Pleiades: seven bodies in the plane (28 equations)",
      .source = HNW1 ", II.10",
      .dim = 28, .t0 = 0.0, .t1 = 3.0, .y0 = pleiades_y0, .f = pleiades_rhs,
      .ref = bench_ref_pleiades, .ref_source = QUAD_REF },
    { .name = "vdp", .family = "hnw",
      .description = "Van der Pol oscillator, mu = 5 (relaxation oscillation, mildly stiff)",
      .source = "van der Pol (1926); " HNW1 ", I.16",
      .dim = 2, .t0 = 0.0, .t1 = 20.0, .y0 = vdp_y0, .f = zoo_vdp, .jac = vdp_jac,
      .user = (void *)&vdp_mu5, .components = "x v" },
    { .name = "kepler", .family = "hnw",
      .description = "Kepler two-body orbit, eccentricity 0.6, exact solution",
      .source = HNW1 ", II.10 (Kepler's equation)",
      .dim = 4, .t0 = 0.0, .t1 = 20.0, .y0 = kepler06_y0, .f = zoo_kepler, .jac = kepler_jac,
      .user = (void *)&kepler_e06, .exact = zoo_kepler_exact, .components = "x y vx vy" },
    { .name = "kepler_circular", .family = "hnw",
      .description = "Kepler two-body problem on the unit circle, y = (cos t, sin t, -sin t, cos t)",
      .source = HNW1 ", II.10 (eccentricity 0)",
      .dim = 4, .t0 = 0.0, .t1 = 2.0 * PI, .y0 = kepler_circular_y0, .f = zoo_kepler,
      .jac = kepler_jac, .user = (void *)&kepler_e0, .exact = zoo_kepler_exact,
      .components = "x y vx vy" },
    { .name = "fehlberg", .family = "hnw",
      .description = "Fehlberg's smooth nonlinear test problem (1968), exact solution",
      .source = "Fehlberg, NASA TR R-287 (1968); " HNW1 ", II.1",
      .dim = 4, .t0 = 0.0, .t1 = 5.0, .y0 = fehlberg_y0, .f = fehlberg_rhs,
      .exact = fehlberg_exact },
    { .name = "ball", .family = "mechanics",
      .description = "Falling ball from 10 m; terminal event when it hits the ground",
      .source = "free fall, g = 9.81",
      .dim = 2, .t0 = 0.0, .t1 = 10.0, .y0 = ball_y0, .f = ball_rhs, .jac = ball_jac,
      .exact = ball_exact, .event = ball_ground, .event_direction = -1,
      .event_what = "ball hits the ground (h = 0, falling)", .event_time = ball_time,
      .components = "h v" },
    { .name = "pendulum", .family = "mechanics",
      .description = "Pendulum released at 2.5 rad; terminal event at the bottom",
      .source = "quarter period by the arithmetic-geometric mean (Gauss)",
      .dim = 2, .t0 = 0.0, .t1 = 10.0, .y0 = pendulum_y0, .f = pendulum_rhs,
      .jac = pendulum_jac, .event = pendulum_bottom, .event_direction = -1,
      .event_what = "pendulum passes the bottom (theta = 0) after a quarter period",
      .event_time = pendulum_time, .components = "theta omega" },
    { .name = "linear1000", .family = "linear",
      .description = "y'=Ay, A periodic tridiagonal advection-diffusion, n=1000, t in [0,20]",
      .source = "nde benchmarks (zoo/zoo_rhs.inc: eigenvalues in closed form)",
      .dim = LINEAR_N, .t0 = 0.0, .t1 = 20.0, .init = linear_init, .f = linear_rhs,
      .ref = bench_ref_linear1000, .ref_source = QUAD_REF " and the exact DFT solution" },
    { .name = "decay1", .family = "overhead", .description = "y'=-y, n=1",
      .source = "solver overhead", .dim = 1, .t0 = 0.0, .t1 = 1.0, .y0 = one,
      .f = decay_rhs, .user = (void *)&dim1, .exact = decay_exact },
    { .name = "decay1000", .family = "overhead", .description = "y'=-y, n=1000",
      .source = "solver overhead", .dim = 1000, .t0 = 0.0, .t1 = 1.0, .init = ones1000,
      .f = decay_rhs, .user = (void *)&dim1000, .exact = decay_exact },
    { .name = "robertson", .family = "stiff",
      .description = "Robertson's chemical kinetics, t in [0, 1e11] (stiff)",
      .source = "Robertson (1966); " HNW2 ", IV.1; test set problem ROBER",
      .dim = 3, .t0 = 0.0, .t1 = 1e11, .y0 = robertson_y0, .f = robertson_rhs,
      .jac = robertson_jac, .stiff = 1, .ref = robertson_ref, .ref_source = TESTSET_REF,
      .components = "y1 y2 y3" },
    { .name = "vdpol", .family = "stiff",
      .description = "Van der Pol, eps = 1e-6 (mu = 1000 in scaled time), t in [0, 2] (stiff)",
      .source = HNW2 ", IV.1; test set problem VDPOL",
      .dim = 2, .t0 = 0.0, .t1 = 2.0, .y0 = vdp_y0, .f = vdpol_rhs, .jac = vdpol_jac,
      .user = (void *)&vdpol_eps, .stiff = 1, .ref = vdpol_ref, .ref_source = TESTSET_REF,
      .components = "y y'" },
    { .name = "robertson1e5", .family = "stiff",
      .description = "Robertson's chemical kinetics, t in [0, 1e5] (stiff)",
      .source = "Robertson (1966); " HNW2 ", IV.1",
      .dim = 3, .t0 = 0.0, .t1 = 1e5, .y0 = robertson_y0, .f = robertson_rhs,
      .jac = robertson_jac, .stiff = 1, .ref = stiff_ref_robertson1e5, .ref_source = STIFF_REF,
      .components = "y1 y2 y3" },
    { .name = "robertson_dae", .family = "stiff",
      .description = "Robertson as an index-1 DAE: y1 + y2 + y3 = 1 replaces y3', t in [0, 1e11]",
      .source = HNW2 ", VI.1",
      .dim = 3, .t0 = 0.0, .t1 = 1e11, .y0 = robertson_y0, .f = robertson_dae_rhs,
      .jac = robertson_dae_jac, .stiff = 1, .ref = robertson_ref,
      .ref_source = "the ODE form's (robertson: the DAE has the same solution)",
      .components = "y1 y2 y3", .mass = robertson_dae_mass },
    { .name = "vdp1000", .family = "stiff",
      .description = "Van der Pol, mu = 1000, t in [0, 3000] (stiff; about two relaxation periods)",
      .source = "van der Pol (1926); " HNW2 ", IV.1",
      .dim = 2, .t0 = 0.0, .t1 = 3000.0, .y0 = vdp_y0, .f = zoo_vdp, .jac = vdp_jac,
      .user = (void *)&vdp_mu1000, .stiff = 1, .ref = stiff_ref_vdp1000, .ref_source = STIFF_REF,
      .components = "x v" },
    { .name = "hires", .family = "stiff",
      .description = "HIRES: growth of plant tissue (Schaefer 1975), 8 equations, t in [0, 321.8122]",
      .source = HNW2 ", IV.10; test set problem HIRES",
      .dim = 8, .t0 = 0.0, .t1 = 321.8122, .y0 = hires_y0, .f = hires_rhs, .jac = hires_jac,
      .stiff = 1, .ref = hires_ref, .ref_source = TESTSET_HIRES_REF },
    { .name = "bruss1d", .family = "stiff",
      .description = "1-D Brusselator, N = 500 (1000 equations), banded Jacobian, t in [0, 10]",
      .source = HNW2 ", IV.1 (1.6)",
      .dim = 2 * BRUSS_N, .t0 = 0.0, .t1 = 10.0, .init = bruss_init, .f = bruss_rhs, .jac = bruss_jac,
      .stiff = 1, .ref = stiff_ref_bruss1d, .ref_source = STIFF_REF, .jac_lower = 2, .jac_upper = 2 },
};
#define N_TABLE (sizeof table / sizeof table[0])

size_t zoo_count(void) { return N_TABLE + zoo__n_detest; }

const zoo_problem *zoo_at(size_t i)
{
    if (i < N_TABLE) return &table[i];
    if (i - N_TABLE < zoo__n_detest) return &zoo__detest[i - N_TABLE];
    return NULL;
}

const zoo_problem *zoo_find(const char *name)
{
    const zoo_problem *p;
    for (size_t i = 0; name && (p = zoo_at(i)) != NULL; i++)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

const zoo_problem *zoo_family_at(const char *family, size_t i)
{
    const zoo_problem *p;
    for (size_t k = 0; family && (p = zoo_at(k)) != NULL; k++)
        if (strcmp(p->family, family) == 0 && i-- == 0) return p;
    return NULL;
}

void zoo_y0(const zoo_problem *p, double *y0)
{
    if (p->y0) memcpy(y0, p->y0, p->dim * sizeof *y0);
    else p->init(y0);
}
