/* One training step of the neural-ODE issue's problem (tools/nde/train_step.h), shared by
 * `nde bench train-step` and bench/bench_train.c: data/mlp_2_64_64_2.txt holds an MLP
 * 2 -> 64 -> 64 -> 2 tanh as y' = f(y), a batch of 256 states solved as one system of
 * dimension 512, dopri5 at rtol = atol = 1e-3 on [0, 1], loss = mean (y(1) - R y0)^2, R
 * the rotation by 1 rad, on the nn layer (include/nde/nn.h), with the checkpointed and
 * the backsolve adjoint, one thread.
 *
 * A step is the taped forward solve, the loss and its gradient, the backward pass and
 * one Adam update; every repeat is the same step (the file's weights, Adam reset).
 *
 * The floor: the step's floating-point work at this machine's rates measured in the
 * same run, dgemm on the layer's own shape (256 x 64 by 64 x 64) and the nn layer's
 * tanh per value:
 *   ideal   the forward solve's NFE evaluations (2 x 256 x 4352 flops and 256 x 128 tanh
 *           each) plus one VJP per backward stage at twice an evaluation's matrix flops
 *           (input and weight gradients) reusing stored activations: the least any
 *           implementation of this step does;
 *   as run  what nde's checkpointed adjoint does: the ideal's work plus the backward
 *           pass's recomputed right-hand sides (it reruns each step's stages before
 *           going back through them); the MLP's activation cache (nde_mlp_options.cache
 *           = 8) lets every VJP reuse the pass of its stage instead of recomputing it.
 *
 * The forward solve must reproduce the loss 0.865099 and 14 evaluations, and
 * y(1) the file's DOP853 reference y1_ref to the solve's tolerance. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nde.h"
#include "train_step.h"

#define B 256
#define D 2
#define HID 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* flops per second of dgemm on C (256 x 64) = A (256 x 64) B^T (64 x 64), best of 5 */
static double dgemm_rate(void)
{
    static double a[B * HID], w[HID * HID], c[B * HID];
    nde_uniform_fill(1, NDE_STREAM_USER_FIRST, B * HID, a);
    nde_uniform_fill(2, NDE_STREAM_USER_FIRST, HID * HID, w);
    double best = INFINITY;
    const int reps = 400;
    for (int k = 0; k < 5; k++) {
        double t = now();
        for (int r = 0; r < reps; r++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, HID, HID, 1.0, a, HID, w, HID, 0.0, c, HID);
        t = now() - t;
        if (t < best) best = t;
    }
    return 2.0 * B * HID * HID * reps / best;
}

/* seconds per tanh value of the nn layer, best of 5 */
static double tanh_time(void)
{
    static double x[B * HID], y[B * HID];
    nde_uniform_fill(3, NDE_STREAM_USER_FIRST, B * HID, x);
    for (int i = 0; i < B * HID; i++) x[i] = 6 * x[i] - 3;
    double best = INFINITY;
    const int reps = 200;
    for (int k = 0; k < 5; k++) {
        double t = now();
        for (int r = 0; r < reps; r++) nde_activation(NDE_ACT_TANH, B * HID, x, y, NULL);
        t = now() - t;
        if (t < best) best = t;
    }
    return best / ((double)reps * B * HID);
}

static int run_steps(int kind, nde_ode *ode, nde_mlp *net, const double *y0, const double *target, int repeats,
                     train_step_timing *res, double *grad_out, char *err, size_t esz)
{
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = kind;
    nde_tape *tape = nde_tape_create(&ao);
    nde_optim *adam = nde_optim_create(NDE_OPTIM_ADAM, ode->n_params, NULL);
    size_t np = ode->n_params;
    double *grad = malloc(np * sizeof *grad), *theta0 = malloc(np * sizeof *theta0);
    double *times = malloc((size_t)repeats * sizeof *times);
    static double g[B * D];
    memcpy(theta0, nde_mlp_params(net), np * sizeof *theta0);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-3;
    int rc = tape && adam && grad && theta0 && times ? NDE_OK : NDE_ENOMEM;
    for (int r = 0; r < repeats && rc == NDE_OK; r++) {
        /* every repeat is the same step: from the file's weights, Adam's state reset */
        memcpy(nde_mlp_params(net), theta0, np * sizeof *theta0);
        nde_optim_reset(adam);
        nde_solution sol;
        double t = now(), loss;
        rc = nde_ode_solve_taped(ode, 0, 1, y0, &o, tape, &sol);
        if (rc == NDE_OK) {
            nde_loss_mse(B * D, sol.y, target, &loss, g);
            res->nfe_forward = sol.stats.nfe;
            rc = nde_ode_backward(tape, g, NULL, grad);
        }
        if (rc == NDE_OK) rc = nde_optim_step(adam, nde_mlp_params(net), grad);
        times[r] = now() - t;
        if (rc == NDE_OK && grad_out) memcpy(grad_out, grad, np * sizeof *grad);
        nde_solution_free(&sol);
    }
    if (rc == NDE_OK) {
        nde_adjoint_stats st;
        nde_tape_stats(tape, &st);
        res->nvjp = st.nvjp;
        res->nfe_backward = st.nfe;
        res->bytes = st.bytes;
        qsort(times, (size_t)repeats, sizeof *times, cmp_double);
        res->best_ms = 1e3 * times[0];
        res->median_ms = 1e3 * times[repeats / 2];
    } else {
        snprintf(err, esz, "%s adjoint: step failed: %s (%s)", kind == NDE_ADJOINT_CHECKPOINT ? "checkpointed" : "backsolve",
                 nde_status_str(rc), tape ? nde_tape_message(tape) : "out of memory");
    }
    memcpy(nde_mlp_params(net), theta0, np * sizeof *theta0);
    free(times);
    free(theta0);
    free(grad);
    nde_optim_free(adam);
    nde_tape_free(tape);
    return rc;
}

int train_step_run(const char *path, int repeats, size_t cache, train_step_report *r, char *err, size_t esz)
{
    memset(r, 0, sizeof *r);
    if (repeats < 1) repeats = 1;
    openblas_set_num_threads(1);
    size_t widths[4] = { D, HID, HID, D };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = B;
    mo.cache = cache;        /* 8: dopri5's stages + 1, every backward VJP reuses its stage's pass */
    nde_mlp *net = nde_mlp_create(3, widths, &mo);
    mo.cache = TRAIN_STEP_KEEP_CACHE;
    nde_mlp *keep = nde_mlp_create(3, widths, &mo);
    static double y0[B * D], ref[B * D], target[B * D];
    double *grads = net ? malloc(2 * nde_mlp_n_params(net) * sizeof *grads) : NULL;
    if (!net || !keep || !grads) {
        snprintf(err, esz, "out of memory");
        free(grads);
        nde_mlp_free(keep);
        nde_mlp_free(net);
        return NDE_ENOMEM;
    }
    int rc = nde_mlp_load(net, path, err, esz);
    if (rc == NDE_OK) rc = nde_mlp_load(keep, path, err, esz);
    if (rc == NDE_OK) rc = nde_block_read(path, "y0", B, D, y0, err, esz);
    if (rc == NDE_OK) rc = nde_block_read(path, "y1_ref", B, D, ref, err, esz);
    if (rc != NDE_OK) {
        free(grads);
        nde_mlp_free(keep);
        nde_mlp_free(net);
        return rc;
    }
    for (int i = 0; i < B; i++) {
        target[i * D] = cos(1.0) * y0[i * D] - sin(1.0) * y0[i * D + 1];
        target[i * D + 1] = sin(1.0) * y0[i * D] + cos(1.0) * y0[i * D + 1];
    }
    nde_mlp_field field = { net, B, 0 };
    nde_ode ode;
    nde_mlp_field_ode(&field, &ode, NULL, 0);
    nde_mlp_field field_keep = { keep, B, 0 };
    nde_ode ode_keep;
    nde_mlp_field_ode(&field_keep, &ode_keep, NULL, 0);

    /* the forward solve against the figures */
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-3;
    nde_solution sol;
    rc = nde_ode_solve(&ode, 0, 1, y0, &o, &sol);
    if (rc != NDE_OK) {
        snprintf(err, esz, "forward solve: %s", nde_solution_message(&sol));
        nde_solution_free(&sol);
        free(grads);
        nde_mlp_free(keep);
        nde_mlp_free(net);
        return rc;
    }
    nde_loss_mse(B * D, sol.y, target, &r->loss, NULL);
    for (int i = 0; i < B * D; i++) r->max_y1_error = fmax(r->max_y1_error, fabs(sol.y[i] - ref[i]));
    r->nfe = sol.stats.nfe;
    nde_solution_free(&sol);
    r->reproduced = fabs(r->loss - TRAIN_STEP_LOSS) <= TRAIN_STEP_LOSS_TOL && r->nfe == TRAIN_STEP_NFE &&
                    r->max_y1_error <= TRAIN_STEP_Y1_TOL;

    r->dgemm_flops = dgemm_rate();
    r->tanh_seconds = tanh_time();
    const size_t np = ode.n_params;
    rc = run_steps(NDE_ADJOINT_CHECKPOINT, &ode, net, y0, target, repeats, &r->checkpoint, grads, err, esz);
    if (rc == NDE_OK)
        rc = run_steps(NDE_ADJOINT_CHECKPOINT, &ode_keep, keep, y0, target, repeats, &r->checkpoint_keep, grads + np,
                       err, esz);
    if (rc == NDE_OK)
        rc = run_steps(NDE_ADJOINT_BACKSOLVE, &ode, net, y0, target, repeats, &r->backsolve, NULL, err, esz);
    r->keep_identical = rc == NDE_OK && memcmp(grads, grads + np, np * sizeof *grads) == 0;

    /* floors (see the top of the file) */
    double eval_flops = 2.0 * B * (double)nde_mlp_macs(net), eval_tanh = (double)B * 2 * HID;
    const train_step_timing *c = &r->checkpoint;
    r->floor_ideal = (double)c->nfe_forward * (eval_flops / r->dgemm_flops + eval_tanh * r->tanh_seconds) +
                     (double)c->nvjp * 2.0 * eval_flops / r->dgemm_flops;
    r->floor_as_run = r->floor_ideal +
                      (double)c->nfe_backward * (eval_flops / r->dgemm_flops + eval_tanh * r->tanh_seconds);
    free(grads);
    nde_mlp_free(keep);
    nde_mlp_free(net);
    return rc;
}

void train_step_print(FILE *f, const char *path, const train_step_report *r, int json)
{
    const train_step_timing *res[3] = { &r->checkpoint, &r->checkpoint_keep, &r->backsolve };
    const char *names[3] = { "checkpoint", "checkpoint_keep", "backsolve" };
    const double torch[3] = { TORCH_BACKPROP_MEDIAN_MS, TORCH_BACKPROP_MEDIAN_MS, TORCH_ADJOINT_MS };
    double ideal_ms = 1e3 * r->floor_ideal;
    if (json) {
        fprintf(f, "{\"name\": \"train_step\", \"loss\": %.9g, \"nfe\": %zu, \"max_y1_error\": %.3g, "
                "\"reproduced\": %s, \"dgemm_gflops\": %.3f, \"tanh_ns\": %.3f, \"floor_ideal_ms\": %.4f, "
                "\"floor_as_run_ms\": %.4f", r->loss, r->nfe, r->max_y1_error, r->reproduced ? "true" : "false",
                r->dgemm_flops * 1e-9, r->tanh_seconds * 1e9, ideal_ms, 1e3 * r->floor_as_run);
        for (int k = 0; k < 3; k++)
            fprintf(f, ", \"%s\": {\"median_ms\": %.4f, \"best_ms\": %.4f, \"nfe_forward\": %zu, \"nvjp\": %zu, "
                    "\"nfe_backward\": %zu, \"tape_bytes\": %zu, \"median_over_floor\": %.4f, "
                    "\"torch_over_median\": %.4f}", names[k], res[k]->median_ms, res[k]->best_ms, res[k]->nfe_forward,
                    res[k]->nvjp, res[k]->nfe_backward, res[k]->bytes, res[k]->median_ms / ideal_ms,
                    torch[k] / res[k]->median_ms);
        fprintf(f, ", \"keep_cache\": %d, \"keep_gradient_identical\": %s", TRAIN_STEP_KEEP_CACHE,
                r->keep_identical ? "true" : "false");
        fprintf(f, ", \"torchdiffeq\": {\"backprop_median_ms\": %g, \"backprop_best_ms\": %g, \"adjoint_ms\": %g}}\n",
                TORCH_BACKPROP_MEDIAN_MS, TORCH_BACKPROP_BEST_MS, TORCH_ADJOINT_MS);
        return;
    }
    fprintf(f, "== one training step, MLP 2-64-64-2 tanh, batch %d, dopri5 rtol = atol = 1e-3, 1 thread\n", B);
    fprintf(f, "data: %s\n", path);
    fprintf(f, "forward solve: loss %.6f (issue %.6f), nfe %zu (issue %d), max |y(1) - y1_ref| %.2e: %s\n", r->loss,
            TRAIN_STEP_LOSS, r->nfe, TRAIN_STEP_NFE, r->max_y1_error, r->reproduced ? "reproduced" : "NOT REPRODUCED");
    fprintf(f, "machine: dgemm %.2f GFLOP/s on 256x64 by 64x64; nn tanh %.2f ns per value\n", r->dgemm_flops * 1e-9,
            r->tanh_seconds * 1e9);
    fprintf(f, "%-15s %10s %10s %8s %6s %9s %12s %12s %12s\n", "adjoint", "median ms", "best ms", "nfe fwd", "nvjp",
            "nfe bwd", "tape bytes", "torch/median", "median/floor");
    for (int k = 0; k < 3; k++)
        fprintf(f, "%-15s %10.3f %10.3f %8zu %6zu %9zu %12zu %11.1fx %11.2fx\n", names[k], res[k]->median_ms,
                res[k]->best_ms, res[k]->nfe_forward, res[k]->nvjp, res[k]->nfe_backward, res[k]->bytes,
                torch[k] / res[k]->median_ms, res[k]->median_ms / ideal_ms);
    fprintf(f, "torchdiffeq (issue 12; torch 1.13 float64, 1 thread): backprop %g ms median / %g ms best, adjoint %g ms "
            "(torch/median: checkpoint against backprop's median, backsolve against its adjoint)\n",
            TORCH_BACKPROP_MEDIAN_MS, TORCH_BACKPROP_BEST_MS, TORCH_ADJOINT_MS);
    fprintf(f, "floor (checkpoint's work at the rates above): ideal %.3f ms (forward NFE + one VJP per stage on stored "
            "activations), as run %.3f ms (plus the backward's recomputed right-hand sides)\n", ideal_ms,
            1e3 * r->floor_as_run);
    fprintf(f, "checkpoint_keep: the checkpointed adjoint with an activation cache of %d passes (more than the forward "
            "solve's evaluations), so the backward's recomputed stages reuse the forward's passes; gradient %s the "
            "checkpoint row's\n", TRAIN_STEP_KEEP_CACHE, r->keep_identical ? "bit for bit" : "DIFFERENT FROM");
}
