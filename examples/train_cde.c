/* A neural CDE in a page of C (Kidger et al. 2020): tell clockwise from anticlockwise
 * spirals observed at irregular times with values missing.
 *
 *   data:   N series of T irregular times on [0, 1]; x, y = cos, sin of phase +- 4 pi t,
 *           each value after the first missing (NaN) with probability 0.25
 *   path:   the backward Hermite cubic through each series' own observations of
 *           (time, x, y): nde_path_create skips the NaNs channel by channel
 *   model:  dz = f(z) dX(t), f an MLP 4 -> 32 -> 4 x 3 (tanh output), z0 = (x0, y0, 0, 0),
 *           the logit z(1)_0; Bernoulli negative log-likelihood; Adam
 *   solve:  each series on its own (its own steps), dopri5 through the path's knots,
 *           taped, and differentiated by the checkpointed adjoint
 *
 * Prints the loss and accuracy every 5 steps. Exit status 0 when the accuracy on the
 * series reaches 90%. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nde.h"

enum { N = 48, T = 24, C = 3, D = 4, ITERS = 30 };

static int field(double t, const double *z, double *F, void *net)
{
    (void)t;
    return nde_mlp_forward(net, 1, z, F) == NDE_OK ? 0 : -1;
}

static int field_vjp(double t, const double *z, const double *A, double *a_z, double *a_theta, void *net)
{
    (void)t;
    return nde_mlp_vjp(net, 1, z, A, a_z, a_theta) == NDE_OK ? 0 : -1;
}

int main(void)
{
    size_t widths[3] = { D, 32, D * C };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.out_activation = NDE_ACT_TANH;
    mo.cache = 8;                                   /* dopri5's stages + 1 (nde/nn.h) */
    nde_mlp *net = nde_mlp_create(2, widths, &mo);
    if (!net) return 1;
    nde_mlp_init(net, NDE_INIT_TORCH, 0.0, 1);
    size_t np = nde_mlp_n_params(net);

    static nde_path *path[N];
    static nde_cde cde[N];
    static nde_cde_ode *view[N];
    double label[N];
    for (int i = 0; i < N; i++) {
        double u[2 + 3 * T], t[T], x[T * C];
        nde_uniform_fill_at(7, NDE_STREAM_USER_FIRST, (uint64_t)i * (2 + 3 * T), 2 + 3 * T, u);
        label[i] = u[0] < 0.5 ? 1.0 : 0.0;                     /* 1: anticlockwise */
        for (int k = 0; k < T; k++) {
            t[k] = k == 0 ? 0.0 : k == T - 1 ? 1.0 : (k - 0.5 + u[2 + k]) / (T - 1);
            double th = 2 * 3.141592653589793 * u[1] + (label[i] > 0 ? 4 : -4) * 3.141592653589793 * t[k];
            x[k * C] = t[k];
            x[k * C + 1] = k && u[2 + T + k] < 0.25 ? NAN : cos(th);
            x[k * C + 2] = k && u[2 + 2 * T + k] < 0.25 ? NAN : sin(th);
        }
        path[i] = nde_path_create(T, C, t, x, NDE_PATH_HERMITE, NULL, NULL, 0);
        cde[i] = (nde_cde){ .dim = D, .path = path[i], .field = field, .field_vjp = field_vjp,
                            .n_params = np, .user = net };
        view[i] = path[i] ? nde_cde_ode_create(&cde[i], NULL, NULL, 0) : NULL;
        if (!view[i]) return 1;
    }

    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
    oo.lr = 1e-2;
    nde_optim *opt = nde_optim_create(NDE_OPTIM_ADAM, np, &oo);
    nde_tape *tape = nde_tape_create(NULL);
    double *grad = malloc(2 * np * sizeof *grad), *gi = grad + np, accuracy = 0;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = 1e-3;
    o.atol = 1e-5;
    int rc = opt && tape && grad ? NDE_OK : NDE_ENOMEM;
    for (int it = 0; it <= ITERS && rc == NDE_OK; it++) {   /* full batch; step ITERS only evaluates */
        double loss = 0;
        int correct = 0;
        for (size_t k = 0; k < np; k++) grad[k] = 0;
        for (int i = 0; i < N && rc == NDE_OK; i++) {
            double x0[C], z0[D] = { 0 }, logit, li, gl, g[D] = { 0 };
            nde_path_eval(path[i], 0.0, x0, NULL);
            z0[0] = x0[1];
            z0[1] = x0[2];
            o.step_ts = nde_path_knots(path[i], &o.n_step_ts);   /* X'' jumps at the knots */
            nde_solution sol;
            rc = nde_ode_solve_taped(nde_cde_ode_get(view[i]), 0.0, 1.0, z0, &o, tape, &sol);
            logit = rc == NDE_OK ? sol.y[0] : 0;
            nde_solution_free(&sol);
            if (rc != NDE_OK) break;
            nde_loss_bernoulli_nll(1, &logit, &label[i], &li, &gl);
            loss += li / N;
            correct += (logit > 0) == (label[i] > 0);
            g[0] = gl / N;                                      /* dL/dz(1) */
            rc = nde_ode_backward(tape, g, NULL, gi);
            for (size_t k = 0; k < np && rc == NDE_OK; k++) grad[k] += gi[k];
        }
        accuracy = (double)correct / N;
        if (rc == NDE_OK && it % 5 == 0) printf("step %2d  loss %.4f  accuracy %.3f\n", it, loss, accuracy);
        if (rc == NDE_OK && it < ITERS) rc = nde_optim_step(opt, nde_mlp_params(net), grad);
    }
    if (rc != NDE_OK) fprintf(stderr, "training failed: %s (%s)\n", nde_status_str(rc), nde_tape_message(tape));
    for (int i = 0; i < N; i++) {
        nde_cde_ode_free(view[i]);
        nde_path_free(path[i]);
    }
    free(grad);
    nde_tape_free(tape);
    nde_optim_free(opt);
    nde_mlp_free(net);
    return rc == NDE_OK && accuracy >= 0.9 ? 0 : 1;
}
