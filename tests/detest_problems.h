/* DETEST non-stiff problems A1-E5 (Hull, Enright, Fellen & Sedgwick 1972, "Comparing
 * numerical methods for ordinary differential equations", SIAM J. Numer. Anal. 9(4)),
 * exactly as Diffrax's test/test_detest.py writes them (research/diffrax.md §2.1):
 * C1-C4 keep the zero last diagonal entry, C5 is the Jupiter-Pluto five-body problem
 * in heliocentric coordinates. Every problem runs on t in [0, 20].
 *
 * Header-only (static functions and one static table) so that the tests and the
 * reference generator scripts/gen_detest_refs.c share one definition without linking.
 * Right-hand sides have the shape of both nde_rhs and GSL's gsl_odeiv2_system
 * function; `user` must point at the detest_problem itself.
 *
 * State layouts: C5 is y[0..14] = positions, coordinate-major (x of bodies 1-5, then
 * y, then z: y[c*5 + body]), y[15..29] = velocities in the same layout. */
#ifndef NDE_TESTS_DETEST_PROBLEMS_H
#define NDE_TESTS_DETEST_PROBLEMS_H

#include <math.h>
#include <stddef.h>

#define DETEST_MAX_DIM 51
#define DETEST_T0 0.0
#define DETEST_T1 20.0
#define DETEST_N_PROBLEMS 25

typedef struct detest_problem {
    const char *name;         /* "A1" ... "E5" */
    size_t dim;
    int (*f)(double t, const double *y, double *dy, void *user);
    double param;             /* D: eccentricity; C: chain length; else unused */
    double y0[DETEST_MAX_DIM];
} detest_problem;

static double detest_param_(void *user) { return ((const detest_problem *)user)->param; }

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
    int n = (int)detest_param_(u);
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

/* ---- class D: Kepler orbits with eccentricity param ------------------------------- */
static int detest_d(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    double r2 = y[0] * y[0] + y[1] * y[1], r3 = r2 * sqrt(r2);
    dy[0] = y[2];
    dy[1] = y[3];
    dy[2] = -y[0] / r3;
    dy[3] = -y[1] / r3;
    return 0;
}

/* ---- class E: higher-order equations as first-order systems ----------------------- */
static int detest_e1(double t, const double *y, double *dy, void *u)
{
    (void)u;   /* Bessel's equation of order 1/2 in x = t + 1: y1 = J_{1/2}(t + 1) */
    double x = t + 1.0;
    dy[0] = y[1];
    dy[1] = -(y[1] / x + y[0] * (1.0 - 0.25 / (x * x)));
    return 0;
}
static int detest_e2(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;   /* van der Pol, mu = 1 */
    dy[0] = y[1];
    dy[1] = (1.0 - y[0] * y[0]) * y[1] - y[0];
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

/* Kepler initial state for eccentricity e: perihelion at (1 - e, 0), semi-major axis 1. */
#define DETEST_D_Y0(e) { 1.0 - (e), 0.0, 0.0, 1.0 }   /* y0[3] is set by detest_init */

static detest_problem detest_problems[DETEST_N_PROBLEMS] = {
    { "A1", 1, detest_a1, 0, { 1.0 } },
    { "A2", 1, detest_a2, 0, { 1.0 } },
    { "A3", 1, detest_a3, 0, { 1.0 } },
    { "A4", 1, detest_a4, 0, { 1.0 } },
    { "A5", 1, detest_a5, 0, { 4.0 } },
    { "B1", 2, detest_b1, 0, { 1.0, 3.0 } },
    { "B2", 3, detest_b2, 0, { 2.0, 0.0, 1.0 } },
    { "B3", 3, detest_b3, 0, { 1.0, 0.0, 0.0 } },
    { "B4", 3, detest_b4, 0, { 3.0, 0.0, 0.0 } },
    { "B5", 3, detest_b5, 0, { 0.0, 1.0, 1.0 } },
    { "C1", 10, detest_c1, 10, { 1.0 } },
    { "C2", 10, detest_c2, 10, { 1.0 } },
    { "C3", 10, detest_c34, 10, { 1.0 } },
    { "C4", 51, detest_c34, 51, { 1.0 } },
    { "C5", 30, detest_c5, 0, {
        3.42947415189, 6.64145542550, 11.2630437207, -30.1552268759, -21.1238353380,
        3.35386959711, 5.97156957878, 14.6952576794, 1.65699966404, 28.4465098142,
        1.35494901715, 2.18231499728, 6.27960525067, 1.43785752721, 15.3882659679,
        -0.557160570446, -0.415570776342, -0.325325669158, -0.024047625417, -0.176860753121,
        0.505696783289, 0.365682722812, 0.189706021964, -0.287659532608, -0.216393453025,
        0.230578543901, 0.169143213293, 0.087726532278, -0.117219543175, -0.014864789309 } },
    { "D1", 4, detest_d, 0.1, DETEST_D_Y0(0.1) },
    { "D2", 4, detest_d, 0.3, DETEST_D_Y0(0.3) },
    { "D3", 4, detest_d, 0.5, DETEST_D_Y0(0.5) },
    { "D4", 4, detest_d, 0.7, DETEST_D_Y0(0.7) },
    { "D5", 4, detest_d, 0.9, DETEST_D_Y0(0.9) },
    { "E1", 2, detest_e1, 0, { 0.6713967071418030, 0.09540051444747446 } },
    { "E2", 2, detest_e2, 0, { 2.0, 0.0 } },
    { "E3", 2, detest_e3, 0, { 0.0, 0.0 } },
    { "E4", 2, detest_e4, 0, { 30.0, 0.0 } },
    { "E5", 2, detest_e5, 0, { 0.0, 0.0 } },
};

/* Completes the initial values that are not compile-time constants (the D class's
 * perihelion speed sqrt((1 + e)/(1 - e))). Call once before using the table. */
static void detest_init(void)
{
    for (int i = 0; i < DETEST_N_PROBLEMS; i++)
        if (detest_problems[i].f == detest_d) {
            double e = detest_problems[i].param;
            detest_problems[i].y0[3] = sqrt((1.0 + e) / (1.0 - e));
        }
}

#endif
