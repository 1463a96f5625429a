/* Built-in test problems for `nde solve` and the demo: classic non-stiff ODEs from
 * Hairer, Norsett & Wanner, "Solving Ordinary Differential Equations I" (2nd ed., 1993)
 * and textbook mechanics, some with closed-form solutions or event times. */
#include <math.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- Lorenz (1963): sigma = 10, rho = 28, beta = 8/3 -------------------------- */
static int lorenz(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = 10.0 * (y[1] - y[0]);
    dy[1] = y[0] * (28.0 - y[2]) - y[1];
    dy[2] = y[0] * y[1] - (8.0 / 3.0) * y[2];
    return 0;
}

/* ---- Van der Pol, mu = 5 (mildly stiff relaxation oscillation) ---------------- */
#define VDP_MU 5.0
static int vdp(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1];
    dy[1] = VDP_MU * (1.0 - y[0] * y[0]) * y[1] - y[0];
    return 0;
}

/* ---- Arenstorf orbit: restricted three-body problem, HNW I (0.1), one period --- */
#define ARENSTORF_MU 0.012277471
#define ARENSTORF_T 17.0652165601579625588917206249
static int arenstorf(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    const double mu = ARENSTORF_MU, mup = 1.0 - mu;
    double r1 = hypot(y[0] + mu, y[1]), r2 = hypot(y[0] - mup, y[1]);
    double d1 = r1 * r1 * r1, d2 = r2 * r2 * r2;
    dy[0] = y[2];
    dy[1] = y[3];
    dy[2] = y[0] + 2.0 * y[3] - mup * (y[0] + mu) / d1 - mu * (y[0] - mup) / d2;
    dy[3] = y[1] - 2.0 * y[2] - mup * y[1] / d1 - mu * y[1] / d2;
    return 0;
}

/* ---- Pleiades: 7 bodies in the plane, masses i, HNW I (II.10) ------------------ */
static int pleiades(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    const double *x = y, *yy = y + 7;
    for (int i = 0; i < 7; i++) {
        dy[i] = y[14 + i];
        dy[7 + i] = y[21 + i];
        double ax = 0.0, ay = 0.0;
        for (int j = 0; j < 7; j++) {
            if (j == i) continue;
            double dx = x[j] - x[i], dyy = yy[j] - yy[i];
            double r2 = dx * dx + dyy * dyy, r3 = r2 * sqrt(r2);
            ax += (j + 1) * dx / r3;
            ay += (j + 1) * dyy / r3;
        }
        dy[14 + i] = ax;
        dy[21 + i] = ay;
    }
    return 0;
}

/* ---- Kepler two-body problem, eccentricity 0.6, exact by Kepler's equation ----- */
#define KEPLER_E 0.6
static int kepler(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    double r2 = y[0] * y[0] + y[1] * y[1], r3 = r2 * sqrt(r2);
    dy[0] = y[2];
    dy[1] = y[3];
    dy[2] = -y[0] / r3;
    dy[3] = -y[1] / r3;
    return 0;
}

static void kepler_exact(double t, double *y)
{
    const double e = KEPLER_E, s = sqrt(1.0 - e * e);
    double E = t + e * sin(t);   /* Newton on E - e sin E = t (mean motion 1) */
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

/* ---- Fehlberg's test problem (1968), HNW I, II.1: smooth, nonlinear, exact -------
 * y1 = exp(sin t^2), y2 = exp(5 sin t^2), y3 = sin t^2 + 1, y4 = cos t^2 on [0, 5]. */
static int fehlberg(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = 2.0 * t * pow(y[1], 0.2) * y[3];
    dy[1] = 10.0 * t * exp(5.0 * (y[2] - 1.0)) * y[3];
    dy[2] = 2.0 * t * y[3];
    dy[3] = -2.0 * t * log(y[0]);
    return 0;
}

static void fehlberg_exact(double t, double *y)
{
    double s = sin(t * t);
    y[0] = exp(s);
    y[1] = exp(5.0 * s);
    y[2] = s + 1.0;
    y[3] = cos(t * t);
}

/* ---- Bouncing ball: free fall from 10 m, g = 9.81; event: the ground ----------- */
#define BALL_G 9.81
#define BALL_H0 10.0
static int ball(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)y; (void)u;
    dy[0] = y[1];
    dy[1] = -BALL_G;
    return 0;
}

static int ball_ground(double t, const double *y, double *g, void *u)
{
    (void)t; (void)u;
    g[0] = y[0];
    return 0;
}

/* ---- Pendulum theta'' = -sin(theta) released from rest at 2.5 rad --------------
 * It first reaches theta = 0 after a quarter period K(k) = pi / (2 AGM(1, cos(theta0/2))). */
#define PENDULUM_THETA0 2.5
static int pendulum(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = y[1];
    dy[1] = -sin(y[0]);
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

static double ball_time(void) { return sqrt(2.0 * BALL_H0 / BALL_G); }
static double pendulum_time(void)
{
    return M_PI / (2.0 * agm(1.0, cos(0.5 * PENDULUM_THETA0)));
}

static const tool_problem problems[] = {
    { "lorenz", "Lorenz attractor (sigma 10, rho 28, beta 8/3), chaotic", 3, 0.0, 10.0,
      { 1.0, 1.0, 1.0 }, lorenz, NULL, NULL, 0, NULL, NULL, "x y z" },
    { "vdp", "Van der Pol oscillator, mu = 5 (relaxation oscillation, mildly stiff)", 2,
      0.0, 20.0, { 2.0, 0.0 }, vdp, NULL, NULL, 0, NULL, NULL, "x v" },
    { "arenstorf", "Arenstorf orbit: restricted three-body problem, one period", 4,
      0.0, ARENSTORF_T, { 0.994, 0.0, 0.0, -2.00158510637908252240537862224 },
      arenstorf, NULL, NULL, 0, NULL, NULL, "x y vx vy" },
    { "pleiades", "Pleiades: seven bodies in the plane (28 equations)", 28, 0.0, 3.0,
      { 3, 3, -1, -3, 2, -2, 2,   3, -3, 2, 0, 0, -4, 4,
        0, 0, 0, 0, 0, 1.75, -1.5,   0, 0, 0, -1.25, 1, 0, 0 },
      pleiades, NULL, NULL, 0, NULL, NULL, NULL },
    { "kepler", "Kepler two-body orbit, eccentricity 0.6, exact solution", 4, 0.0, 20.0,
      { 1.0 - KEPLER_E, 0.0, 0.0, 2.0 /* sqrt((1+e)/(1-e)) */ },
      kepler, kepler_exact, NULL, 0, NULL, NULL, "x y vx vy" },
    { "fehlberg", "Fehlberg's smooth nonlinear test problem (1968), exact solution", 4,
      0.0, 5.0, { 1.0, 1.0, 1.0, 1.0 }, fehlberg, fehlberg_exact, NULL, 0, NULL, NULL,
      NULL },
    { "ball", "Falling ball from 10 m; terminal event when it hits the ground", 2,
      0.0, 10.0, { BALL_H0, 0.0 }, ball, NULL, ball_ground, -1,
      "ball hits the ground (h = 0, falling)", ball_time, "h v" },
    { "pendulum", "Pendulum released at 2.5 rad; terminal event at the bottom", 2,
      0.0, 10.0, { PENDULUM_THETA0, 0.0 }, pendulum, NULL, pendulum_bottom, -1,
      "pendulum passes the bottom (theta = 0) after a quarter period", pendulum_time,
      "theta omega" },
};
#define N_PROBLEMS (sizeof problems / sizeof problems[0])

size_t tool_problem_count(void) { return N_PROBLEMS; }

const tool_problem *tool_problem_at(size_t i)
{
    return i < N_PROBLEMS ? &problems[i] : NULL;
}

const tool_problem *tool_problem_find(const char *name)
{
    for (size_t i = 0; name && i < N_PROBLEMS; i++)
        if (strcmp(problems[i].name, name) == 0) return &problems[i];
    return NULL;
}

int tool_problem_reference(const tool_problem *p, double t1, double *yref)
{
    if (p->exact) { p->exact(t1, yref); return 0; }
    const nde_method *m = nde_method_find("dopri8");
    if (!m) {   /* fall back on the highest-order adaptive method */
        for (size_t i = 0; i < nde_method_count(); i++)
            if (nde_method_embedded_order(nde_method_at(i)) > 0) m = nde_method_at(i);
    }
    if (!m) return -1;
    nde_ode ode = { .dim = p->dim, .f = p->f };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = TOOL_REFERENCE_RTOL;
    o.atol = TOOL_REFERENCE_RTOL;
    o.max_steps = 10000000;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, p->t0, t1, p->y0, &o, &sol);
    if (rc == NDE_OK && sol.n >= 1)
        memcpy(yref, sol.y + (sol.n - 1) * p->dim, p->dim * sizeof *yref);
    nde_solution_free(&sol);
    return rc == NDE_OK ? 0 : -1;
}

double tool_error(size_t dim, const double *y, const double *ref)
{
    double e = 0.0;
    for (size_t i = 0; i < dim; i++) {
        double d = fabs(y[i] - ref[i]) / (1.0 + fabs(ref[i]));
        if (!(d <= e)) e = d;   /* NaN propagates */
    }
    return e;
}
