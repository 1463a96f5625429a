/* Learning a steady state: the vector field f(y) = -y + W tanh(y) + b (dim 2, theta =
 * W and b, 6 parameters) is trained so that the state it settles to is y_target. Each
 * step solves until the steady-state event (RMS f < atol + rtol RMS y) and takes the
 * gradient of L = |y* - y_target|^2 with the implicit adjoint: one 2 x 2 linear solve
 * at y*, whatever the number of steps the solve took. */
#include <math.h>
#include <stdio.h>
#include <nde.h>

enum { D = 2, NP = D * D + D };

static int field(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *W = u, *b = W + D * D;
    for (int i = 0; i < D; i++) {
        dy[i] = b[i] - y[i];
        for (int j = 0; j < D; j++) dy[i] += W[i * D + j] * tanh(y[j]);
    }
    return 0;
}

/* a^T df/dy and a^T df/dtheta */
static int field_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *W = u;
    if (ay)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int i = 0; i < D; i++) s += a[i] * W[i * D + j];
            ay[j] = s * (1 - tanh(y[j]) * tanh(y[j])) - a[j];
        }
    if (at)
        for (int i = 0; i < D; i++) {
            for (int j = 0; j < D; j++) at[i * D + j] = a[i] * tanh(y[j]);
            at[D * D + i] = a[i];
        }
    return 0;
}

int main(void)
{
    double theta[NP] = { 0.3, -0.2, 0.1, 0.4, 0.0, 0.0 }, y0[D] = { 1.0, 1.0 };
    const double target[D] = { 0.76, -0.3 }, lr = 0.3;
    nde_ode ode = { .dim = D, .f = field, .vjp = field_vjp, .n_params = NP, .user = theta };
    nde_options o = NDE_OPTIONS_INIT;
    o.steady_state = 1;                         /* end the solve at the steady state */
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = NDE_ADJOINT_IMPLICIT;
    nde_tape *tape = nde_tape_create(&ao);
    if (!tape) return 1;
    double loss = INFINITY;
    for (int it = 0; it <= 50; it++) {
        nde_solution sol;
        int rc = nde_ode_solve_taped(&ode, 0.0, 1e4, y0, &o, tape, &sol);
        if (rc != NDE_EVENT) {   /* NDE_OK would mean t1 came before a steady state */
            fprintf(stderr, "solve: %s\n", nde_solution_message(&sol));
            nde_solution_free(&sol);
            nde_tape_free(tape);
            return 1;
        }
        const double *ys = sol.y;   /* the one saved point: y* at t* = sol.event_t[0] */
        double dL[D], grad[NP];
        loss = 0;
        for (int i = 0; i < D; i++) { dL[i] = 2 * (ys[i] - target[i]); loss += (ys[i] - target[i]) * (ys[i] - target[i]); }
        if (it % 10 == 0)
            printf("step %3d  y* = (%.4f, %.4f) at t* = %6.2f after %3zu steps  loss %.2e\n", it, ys[0], ys[1],
                   sol.event_t[0], sol.stats.accepted, loss);
        nde_solution_free(&sol);
        if (nde_ode_backward(tape, dL, NULL, grad) != NDE_OK) {
            fprintf(stderr, "backward: %s\n", nde_tape_message(tape));
            nde_tape_free(tape);
            return 1;
        }
        for (int k = 0; k < NP; k++) theta[k] -= lr * grad[k];
    }
    nde_tape_free(tape);
    return loss < 1e-6 ? 0 : 1;
}
