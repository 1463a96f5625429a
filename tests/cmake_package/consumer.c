#include <math.h>
#include <stdio.h>
#include <nde.h>
static int decay(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = -y[0]; return 0; }
int main(void)
{
    nde_ode ode = { .dim = 1, .f = decay };
    nde_solution sol;
    double y0 = 1.0;
    int rc = nde_ode_solve(&ode, 0.0, 1.0, &y0, NULL, &sol);
    int ok = rc == NDE_OK && fabs(sol.y[0] - exp(-1.0)) < 1e-6;
    printf("nde %s via find_package: y(1) = %.9f\n", nde_version(), sol.y[0]);
    nde_solution_free(&sol);
    return ok ? 0 : 1;
}
