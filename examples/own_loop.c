/* Driving your own loop with the step-level API: fixed steps of dopri5 on the
 * harmonic oscillator, reading the local error estimate and the step's interpolant. */
#include <math.h>
#include <stdio.h>
#include <nde.h>

static int osc(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[1]; dy[1] = -y[0]; return 0; }

int main(void)
{
    nde_stepper *st = nde_stepper_create(nde_method_find("dopri5"), 2, NULL);
    if (!st) return 1;
    double y[2] = { 1.0, 0.0 }, y1[2], err[2], t = 0.0, h = 0.1, mid[2];
    for (int i = 0; i < 63; i++) {
        if (nde_stepper_step(st, osc, NULL, t, h, y, y1, err, i > 0) != NDE_OK) return 1;
        if (nde_stepper_dense(st, osc, NULL, 0.5, mid) != NDE_OK) return 1;
        t += h;
        y[0] = y1[0]; y[1] = y1[1];
    }
    double e = fabs(y[0] - cos(t));
    printf("t = %.1f  y = %.12f  cos(t) = %.12f  |err| = %.2e  local estimate %.2e  f evals %zu\n",
           t, y[0], cos(t), e, fabs(err[0]), nde_stepper_nfe(st));
    printf("midpoint of last step: %.12f vs %.12f\n", mid[0], cos(t - 0.5 * h));
    nde_stepper_free(st);
    return e < 1e-6 && fabs(mid[0] - cos(t - 0.5 * h)) < 1e-6 ? 0 : 1;
}
