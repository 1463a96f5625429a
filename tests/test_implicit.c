/* The implicit families' shared pieces (src/implicit/): Jacobians of the forward-time
 * right-hand side, by the caller's callback or by differences, in both directions. */
#include <math.h>
#include <string.h>

#include "implicit/internal.h"
#include "testlib.h"

/* f(t, y) = (-y0 y1 + t, y0^2 - 3 y1 sin t): J = [[-y1, -y0], [2 y0, -3 sin t]],
 * df/dt = (1, -3 y1 cos t). */
static int rhs(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = -y[0] * y[1] + t;
    dy[1] = y[0] * y[0] - 3.0 * y[1] * sin(t);
    return 0;
}
static int jac(double t, const double *y, double *J, void *u)
{
    (void)u;
    J[0] = -y[1]; J[1] = -y[0];
    J[2] = 2.0 * y[0]; J[3] = -3.0 * sin(t);
    return 0;
}
static int jac_nan(double t, const double *y, double *J, void *u)
{
    jac(t, y, J, u);
    J[2] = NAN;
    return 0;
}

/* A stepper view of the problem in direction dir, as the loop would set it up. */
static void view(nde__int_stepper *st, nde_ode *ode, nde__int_rev *rev, nde_stats *stats, double dir)
{
    memset(st, 0, sizeof *st);
    memset(stats, 0, sizeof *stats);
    st->dim = 2; st->ode = ode; st->dir = dir; st->stats = stats;
    if (dir > 0) { st->f = ode->f; st->user = ode->user; }
    else { rev->f = ode->f; rev->user = ode->user; rev->dim = 2; st->f = nde__int_rev_rhs; st->user = rev; }
}

static void test_jacobian_forward_and_backward(void)
{
    const double y[2] = { 0.7, -1.3 }, t = 0.4;
    for (int with_jac = 0; with_jac < 2; with_jac++)
        for (int d = 0; d < 2; d++) {
            double dir = d ? -1.0 : 1.0, s = dir * t;
            nde_ode ode = { .dim = 2, .f = rhs, .jac = with_jac ? jac : NULL };
            nde__int_stepper st; nde__int_rev rev; nde_stats stats;
            view(&st, &ode, &rev, &stats, dir);
            double fy[2], J[4], Jref[4], yw[2], fw[2], dfdt[2];
            CHECK(st.f(s, y, fy, st.user) == 0);
            CHECK(nde__impl_jacobian(&st, s, y, fy, J, yw, fw) == 0);
            jac(t, y, Jref, NULL);
            for (int i = 0; i < 4; i++) CHECK_NEAR(J[i], dir * Jref[i], with_jac ? 0.0 : 1e-7);
            CHECK(yw[0] == y[0] && yw[1] == y[1]);
            CHECK(stats.njac == 1 && stats.nfe == (with_jac ? 0u : 2u));
            /* d f~/ds = dir * df/dt * dt/ds = df/dt at t = dir s */
            CHECK(nde__impl_time_derivative(&st, s, y, fy, dfdt, fw) == 0);
            CHECK_NEAR(dfdt[0], 1.0, 1e-6);
            CHECK_NEAR(dfdt[1], -3.0 * y[1] * cos(t), 1e-6);
        }
}

static void test_jacobian_rejects_nonfinite(void)
{
    const double y[2] = { 0.7, -1.3 };
    nde_ode ode = { .dim = 2, .f = rhs, .jac = jac_nan };
    nde__int_stepper st; nde__int_rev rev; nde_stats stats;
    view(&st, &ode, &rev, &stats, 1.0);
    double fy[2], J[4], yw[2], fw[2];
    rhs(0.0, y, fy, NULL);
    CHECK(nde__impl_jacobian(&st, 0.0, y, fy, J, yw, fw) == NDE_ENONFINITE);
}

/* Tolerance-scaled increments: accurate on a component far below atol / rtol where
 * RADAU5's increment (4.7e-11 for |y| < 1e-5) is far larger than the component. */
static int rhs_quadratic(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = -3e7 * y[0] * y[0]; dy[1] = -y[1]; return 0; }

static void test_jacobian_scaled_increments(void)
{
    const double y[2] = { 1e-13, 0.5 };
    nde_ode ode = { .dim = 2, .f = rhs_quadratic };
    nde__int_stepper st; nde__int_rev rev; nde_stats stats;
    view(&st, &ode, &rev, &stats, 1.0);
    st.rtol = 1e-8; st.atol = 1e-14;
    double fy[2], J[4], yw[2], fw[2];
    rhs_quadratic(0.0, y, fy, NULL);
    CHECK(nde__impl_jacobian_scaled(&st, 0.0, y, fy, J, yw, fw) == 0);
    /* -6e-6, off by 3e7 times the increment 1.5e-14 */
    CHECK_NEAR(J[0], -6e7 * y[0], 1e-6);
    CHECK_NEAR(J[1], 0.0, 1e-12);
    CHECK_NEAR(J[3], -1.0, 1e-7);
    CHECK(stats.njac == 1 && stats.nfe == 2);
    double Jr[4];
    CHECK(nde__impl_jacobian(&st, 0.0, y, fy, Jr, yw, fw) == 0);
    CHECK(fabs(Jr[0] - (-6e7 * y[0])) > 1e-3);   /* RADAU5's increment: off by 3e7 * 4.7e-11 */
}

int main(void)
{
    RUN(test_jacobian_forward_and_backward);
    RUN(test_jacobian_rejects_nonfinite);
    RUN(test_jacobian_scaled_increments);
    return test_summary();
}
