/* A ball dropped from 10 m bounces with restitution 0.8. Each impact is a terminal
 * event (height crosses 0 downwards) located on the dense interpolant; we flip the
 * velocity and restart the solve from the impact. Checks the impact times against
 * the closed form t_k = sqrt(2h/g) (1 + 2 e (1 - e^k)/(1 - e)) ... computed below. */
#include <math.h>
#include <stdio.h>
#include <nde.h>

static const double G = 9.81, E = 0.8;

static int fall(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[1]; dy[1] = -G; return 0; }

static int ground(double t, const double *y, double *g, void *u)
{ (void)t; (void)u; g[0] = y[0]; return 0; }

int main(void)
{
    nde_ode ode = { .dim = 2, .f = fall };
    int down = -1;
    nde_options o = NDE_OPTIONS_INIT;
    o.event = ground; o.n_events = 1; o.event_direction = &down;
    double y[2] = { 10.0, 0.0 }, t = 0.0, v_impact = sqrt(2.0 * G * 10.0);
    double t_exact = sqrt(2.0 * 10.0 / G), worst = 0.0;
    for (int k = 0; k < 5; k++) {
        nde_solution sol;
        int rc = nde_ode_solve(&ode, t, t + 100.0, y, &o, &sol);
        if (rc != NDE_EVENT) { fprintf(stderr, "bounce %d: %s\n", k, nde_solution_message(&sol)); return 1; }
        t = sol.event_t[0];
        double err = fabs(t - t_exact);
        if (err > worst) worst = err;
        printf("impact %d at t = %.12f (exact %.12f), speed %.6f\n", k, t, t_exact, -sol.event_y[1]);
        y[0] = 0.0;
        y[1] = -E * sol.event_y[1];
        v_impact *= E;
        t_exact += 2.0 * v_impact / G;
        nde_solution_free(&sol);
    }
    printf("worst impact-time error %.2e\n", worst);
    return worst < 1e-9 ? 0 : 1;
}
