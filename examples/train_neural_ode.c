/* A neural ODE training loop in a page of C: fit y' = MLP(y, t) to a damped rotation
 * observed at 8 times, on a batch of 32 trajectories solved as one system, with AdamW,
 * a cosine learning-rate schedule, the checkpointed adjoint and a parameter file.
 *
 *   data:   y(t) = e^{-0.1 t} R(t) y0, R(t) the rotation by t rad, t in [0, 2]
 *   model:  MLP 3 -> 32 -> 32 -> 2 SiLU with t as the third input (PyTorch's init)
 *   loss:   mean squared error over the 8 x 32 x 2 observed values
 *
 * Prints the loss every 100 steps; saves the trained parameters, loads them into a
 * fresh MLP and checks that it predicts the same. Exit status 0 when the loss fell
 * below a tenth of its start. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"

enum { BATCH = 32, STATE = 2, TIMES = 8, ITERS = 300 };

static void truth(double t, const double *y0, double *y)
{
    double d = exp(-0.1 * t), c = cos(t), s = sin(t);
    y[0] = d * (c * y0[0] - s * y0[1]);
    y[1] = d * (s * y0[0] + c * y0[1]);
}

int main(void)
{
    size_t widths[4] = { STATE + 1, 32, 32, STATE };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.activation = NDE_ACT_SILU;
    mo.max_batch = BATCH;
    mo.cache = 8;                                       /* tsit5's stages + 1 (nde/nn.h) */
    nde_mlp *net = nde_mlp_create(3, widths, &mo);
    if (!net) return 1;
    nde_mlp_init(net, NDE_INIT_TORCH, 0.0, 42);
    nde_mlp_field field = { net, BATCH, 1 };            /* t is an input */
    nde_ode ode;
    nde_mlp_field_ode(&field, &ode, NULL, 0);

    /* observations of BATCH trajectories from random starts */
    double y0[BATCH * STATE], ts[TIMES], obs[TIMES * BATCH * STATE];
    nde_normal_fill(1, NDE_STREAM_USER_FIRST, BATCH * STATE, y0);
    for (int i = 0; i < TIMES; i++) {
        ts[i] = 2.0 * (i + 1) / TIMES;
        for (int b = 0; b < BATCH; b++) truth(ts[i], y0 + b * STATE, obs + (i * BATCH + b) * STATE);
    }

    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAMW, &oo);
    nde_optim *opt = nde_optim_create(NDE_OPTIM_ADAMW, ode.n_params, &oo);
    double *grad = malloc(ode.n_params * sizeof *grad), g[TIMES * BATCH * STATE], loss = NAN, first = NAN;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("tsit5");
    o.rtol = 1e-5;
    o.atol = 1e-7;
    o.ts = ts;
    o.n_ts = TIMES;
    nde_tape *tape = nde_tape_create(NULL);
    int rc = opt && grad && tape ? NDE_OK : NDE_ENOMEM;
    for (int it = 0; it < ITERS && rc == NDE_OK; it++) {
        nde_optim_set_lr(opt, nde_lr_cosine(1e-2, 1e-4, (size_t)it, ITERS));
        nde_solution sol;
        rc = nde_ode_solve_taped(&ode, 0.0, 2.0, y0, &o, tape, &sol);
        if (rc == NDE_OK) {
            nde_loss_mse(TIMES * BATCH * STATE, sol.y, obs, &loss, g);
            rc = nde_ode_backward(tape, g, NULL, grad);
        }
        if (rc == NDE_OK) rc = nde_optim_step(opt, nde_mlp_params(net), grad);
        if (it == 0) first = loss;
        if (it % 100 == 0 || it == ITERS - 1)
            printf("step %3d  lr %.2e  loss %.3e  nfe %zu\n", it, nde_optim_lr(opt), loss, sol.stats.nfe);
        nde_solution_free(&sol);
    }
    if (rc != NDE_OK) fprintf(stderr, "training failed: %s (%s)\n", nde_status_str(rc), nde_tape_message(tape));

    /* save, load into a fresh MLP, and predict the same */
    char err[NDE_MESSAGE_MAX];
    nde_mlp *copy = nde_mlp_create(3, widths, &mo);
    double a[STATE * BATCH], b[STATE * BATCH], x[3] = { 0.5, -0.2, 1.0 };
    int same = copy && nde_mlp_save(net, "train_neural_ode.params", err, sizeof err) == NDE_OK &&
               nde_mlp_load(copy, "train_neural_ode.params", err, sizeof err) == NDE_OK &&
               nde_mlp_forward(net, 1, x, a) == NDE_OK && nde_mlp_forward(copy, 1, x, b) == NDE_OK &&
               memcmp(a, b, STATE * sizeof *a) == 0;
    printf("loss %.3e -> %.3e; reloaded parameters predict %s\n", first, loss, same ? "the same" : "DIFFERENTLY");
    remove("train_neural_ode.params");
    nde_mlp_free(copy);
    nde_tape_free(tape);
    free(grad);
    nde_optim_free(opt);
    nde_mlp_free(net);
    return rc == NDE_OK && same && loss < 0.1 * first ? 0 : 1;
}
