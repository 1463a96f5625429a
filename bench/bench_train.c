/* bench/bench_train.c — one training step of the neural-ODE issue's problem
 * (data/mlp_2_64_64_2.txt: MLP 2 -> 64 -> 64 -> 2 tanh as y' = f(y), a batch of 256
 * states solved as one system of dimension 512, dopri5 at rtol = atol = 1e-3 on [0, 1],
 * loss = mean (y(1) - R y0)^2, R the rotation by 1 rad) on the nn layer
 * (include/nde/nn.h), with the checkpointed and the backsolve adjoint, one thread.
 *
 * A step is the taped forward solve, the loss and its gradient, the backward pass and
 * one Adam update. Printed per adjoint: the median and best of the repeats, NFE forward,
 * VJP calls and right-hand sides of the backward pass, tape bytes, and the ratio to
 * torchdiffeq (torch 1.13 float64, 1 thread, this machine, quoted in the issue: 31 ms
 * median / 8.8 ms best with backprop, 16 ms with its adjoint).
 *
 * The floor: the step's floating-point work at this machine's rates measured in the
 * same run, dgemm on the layer's own shape (256 x 64 by 64 x 64) and the nn layer's
 * tanh per value. Two floors are printed:
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
 * y(1) the file's DOP853 reference y1_ref to the solve's tolerance; the run says so, and
 * exits 1 when it does not.
 *
 *   nde_bench_train [--data FILE] [--repeats N] [--cache N] [--json]
 * --cache: the MLP's activation cache (nde/nn.h), default 8; 16 or more also keeps
 * every forward-solve evaluation, so the backward pass's recomputed stages are found
 * there too. The row "ckpt keep" runs the checkpointed adjoint with a second MLP (same
 * weights) whose cache is --keep (default 16; more than the forward solve's 14 evaluations): its
 * backward's recomputed stages are cache hits, so its work is the ideal floor's (plus
 * the compares); its gradient must be bit for bit the other row's, and the run says so.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nde.h"

#ifndef NDE_DATA_DIR
#define NDE_DATA_DIR "data"
#endif

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

typedef struct step_result {
    double median_ms, best_ms;
    size_t nfe_forward, nvjp, nfe_backward, bytes;
    double *grad;          /* the last repeat's gradient (caller's buffer, n_params) */
} step_result;

static int run_steps(int kind, nde_ode *ode, nde_mlp *net, const double *y0, const double *target, int repeats,
                     step_result *res)
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
        if (rc == NDE_OK && res->grad) memcpy(res->grad, grad, np * sizeof *grad);
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
        fprintf(stderr, "bench_train: step failed: %s (%s)\n", nde_status_str(rc), tape ? nde_tape_message(tape) : "");
    }
    memcpy(nde_mlp_params(net), theta0, np * sizeof *theta0);
    free(times);
    free(theta0);
    free(grad);
    nde_optim_free(adam);
    nde_tape_free(tape);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = NDE_DATA_DIR "/mlp_2_64_64_2.txt";
    int repeats = 30, json = 0;
    size_t cache = 8, keep = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cache") && i + 1 < argc) cache = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc) keep = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else { fprintf(stderr, "usage: nde_bench_train [--data FILE] [--repeats N] [--cache N] [--keep N] [--json]\n"); return 2; }
    }
    if (repeats < 1) repeats = 1;
    openblas_set_num_threads(1);
    size_t widths[4] = { D, HID, HID, D };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = B;
    mo.cache = cache;        /* 8: dopri5's stages + 1, every backward VJP reuses its stage's pass */
    nde_mlp *net = nde_mlp_create(3, widths, &mo);
    mo.cache = keep;
    nde_mlp *net_keep = nde_mlp_create(3, widths, &mo);
    static double y0[B * D], ref[B * D], target[B * D];
    char err[NDE_MESSAGE_MAX];
    if (!net || !net_keep || nde_mlp_load(net, path, err, sizeof err) || nde_mlp_load(net_keep, path, err, sizeof err) || nde_block_read(path, "y0", B, D, y0, err, sizeof err) ||
        nde_block_read(path, "y1_ref", B, D, ref, err, sizeof err)) {
        fprintf(stderr, "bench_train: %s\n", net && net_keep ? err : "out of memory");
        return 1;
    }
    for (int r = 0; r < B; r++) {
        target[r * D] = cos(1.0) * y0[r * D] - sin(1.0) * y0[r * D + 1];
        target[r * D + 1] = sin(1.0) * y0[r * D] + cos(1.0) * y0[r * D + 1];
    }
    nde_mlp_field field = { net, B, 0 };
    nde_ode ode;
    nde_mlp_field_ode(&field, &ode, NULL, 0);
    nde_mlp_field field_keep = { net_keep, B, 0 };
    nde_ode ode_keep;
    nde_mlp_field_ode(&field_keep, &ode_keep, NULL, 0);

    /* the forward solve against the figures */
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-3;
    nde_solution sol;
    if (nde_ode_solve(&ode, 0, 1, y0, &o, &sol) != NDE_OK) {
        fprintf(stderr, "bench_train: forward solve failed: %s\n", nde_solution_message(&sol));
        return 1;
    }
    double loss, yerr = 0;
    nde_loss_mse(B * D, sol.y, target, &loss, NULL);
    for (int i = 0; i < B * D; i++) yerr = fmax(yerr, fabs(sol.y[i] - ref[i]));
    size_t nfe = sol.stats.nfe;
    nde_solution_free(&sol);
    int reproduced = fabs(loss - 0.865099) <= 5e-7 && nfe == 14 && yerr <= 1e-3;

    double rate = dgemm_rate(), t_tanh = tanh_time();
    step_result res[3];
    memset(res, 0, sizeof res);
    const int kinds[3] = { NDE_ADJOINT_CHECKPOINT, NDE_ADJOINT_CHECKPOINT, NDE_ADJOINT_BACKSOLVE };
    const char *names[3] = { "checkpoint", "ckpt keep", "backsolve" };
    double *grads = malloc(2 * ode.n_params * sizeof *grads);
    if (!grads) return 1;
    res[0].grad = grads;
    res[1].grad = grads + ode.n_params;
    for (int k = 0; k < 3; k++)
        if (run_steps(kinds[k], k == 1 ? &ode_keep : &ode, k == 1 ? net_keep : net, y0, target, repeats,
                      &res[k]) != NDE_OK)
            return 1;
    int same_grad = memcmp(res[0].grad, res[1].grad, ode.n_params * sizeof *grads) == 0;

    /* floors (see the top of the file) */
    double eval_flops = 2.0 * B * (double)nde_mlp_macs(net), eval_tanh = (double)B * 2 * HID;
    double ideal = (double)res[0].nfe_forward * (eval_flops / rate + eval_tanh * t_tanh) +
                   (double)res[0].nvjp * 2.0 * eval_flops / rate;
    double as_run = ideal + (double)res[0].nfe_backward * (eval_flops / rate + eval_tanh * t_tanh);

    if (json) {
        printf("{\"name\": \"train_step\", \"loss\": %.9g, \"nfe\": %zu, \"max_y1_error\": %.3g, \"reproduced\": %s, "
               "\"dgemm_gflops\": %.3f, \"tanh_ns\": %.3f, \"floor_ideal_ms\": %.4f, \"floor_as_run_ms\": %.4f",
               loss, nfe, yerr, reproduced ? "true" : "false", rate * 1e-9, t_tanh * 1e9, 1e3 * ideal, 1e3 * as_run);
        for (int k = 0; k < 3; k++)
            printf(", \"%s\": {\"median_ms\": %.4f, \"best_ms\": %.4f, \"nfe_forward\": %zu, \"nvjp\": %zu, "
                   "\"nfe_backward\": %zu, \"tape_bytes\": %zu}",
                   k == 1 ? "checkpoint_keep" : names[k], res[k].median_ms, res[k].best_ms, res[k].nfe_forward, res[k].nvjp, res[k].nfe_backward,
                   res[k].bytes);
        printf(", \"keep_cache\": %zu, \"keep_gradient_identical\": %s", keep, same_grad ? "true" : "false");
        printf(", \"torchdiffeq\": {\"backprop_median_ms\": 31, \"backprop_best_ms\": 8.8, \"adjoint_ms\": 16}}\n");
    } else {
        printf("== nde_bench_train: one training step, MLP 2-64-64-2 tanh, batch %d, dopri5 rtol = atol = 1e-3, "
               "1 thread\n", B);
        printf("data: %s\n", path);
        printf("forward solve: loss %.6f (issue 0.865099), nfe %zu (issue 14), max |y(1) - y1_ref| %.2e: %s\n", loss,
               nfe, yerr, reproduced ? "reproduced" : "NOT REPRODUCED");
        printf("machine: dgemm %.2f GFLOP/s on 256x64 by 64x64; nn tanh %.2f ns per value\n", rate * 1e-9,
               t_tanh * 1e9);
        printf("%-11s %10s %10s %8s %6s %9s %12s %12s %12s\n", "adjoint", "median ms", "best ms", "nfe fwd", "nvjp",
               "nfe bwd", "tape bytes", "torch/median", "median/floor");
        for (int k = 0; k < 3; k++)
            printf("%-11s %10.3f %10.3f %8zu %6zu %9zu %12zu %11.1fx %11.2fx\n", names[k], res[k].median_ms,
                   res[k].best_ms, res[k].nfe_forward, res[k].nvjp, res[k].nfe_backward, res[k].bytes,
                   (k < 2 ? 31.0 : 16.0) / res[k].median_ms, res[k].median_ms / (1e3 * ideal));
        printf("torchdiffeq (issue; torch 1.13 float64, 1 thread): backprop 31 ms median / 8.8 ms best, adjoint 16 ms\n");
        printf("floor (checkpoint's work at the rates above): ideal %.3f ms (forward NFE + one VJP per stage on stored "
               "activations), as run %.3f ms (plus the backward's recomputed right-hand sides)\n", 1e3 * ideal, 1e3 * as_run);
        printf("ckpt keep: the checkpointed adjoint with an activation cache of %zu passes (checkpoint: %zu), so the "
               "backward's recomputed stages reuse the forward solve's passes; gradient %s the checkpoint row's\n",
               keep, cache, same_grad ? "bit for bit" : "DIFFERENT FROM");
    }
    free(grads);
    nde_mlp_free(net_keep);
    nde_mlp_free(net);
    return reproduced && same_grad ? 0 : 1;
}
