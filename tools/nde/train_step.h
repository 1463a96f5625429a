/* One training step of the neural-ODE issue's problem (data/mlp_2_64_64_2.txt), timed
 * against this machine's floor and torchdiffeq: shared by `nde bench train-step`
 * (tools/nde/cmd_bench.c) and bench/bench_train.c (tools/nde/train_step.c has the
 * problem and the floors). */
#ifndef NDE_TOOL_TRAIN_STEP_H
#define NDE_TOOL_TRAIN_STEP_H
#include <stddef.h>
#include <stdio.h>

/* The figures the forward solve must reproduce, and torchdiffeq's (torch 1.13
 * float64, 1 thread, this machine, quoted in issue 12). */
#define TRAIN_STEP_LOSS 0.865099
#define TRAIN_STEP_LOSS_TOL 5e-7     /* the issue quotes 6 decimals */
#define TRAIN_STEP_NFE 14
#define TRAIN_STEP_Y1_TOL 1e-3       /* max |y(1) - y1_ref|: the solve's rtol = atol */
/* The "checkpoint keep" row: the same checkpointed adjoint on an MLP whose activation
 * cache holds more passes than the forward solve's 14 evaluations, so the backward
 * pass's recomputed stages are cache hits (more memory, the same bits). */
#define TRAIN_STEP_KEEP_CACHE 16
#define TORCH_BACKPROP_MEDIAN_MS 31.0
#define TORCH_BACKPROP_BEST_MS 8.8
#define TORCH_ADJOINT_MS 16.0

typedef struct train_step_timing {
    double median_ms, best_ms;     /* over the repeats */
    size_t nfe_forward;            /* right-hand sides of the taped forward solve */
    size_t nvjp, nfe_backward;     /* VJP calls and right-hand sides of the backward pass */
    size_t bytes;                  /* tape memory */
} train_step_timing;

typedef struct train_step_report {
    double loss;                   /* of the untimed forward solve */
    size_t nfe;
    double max_y1_error;           /* max |y(1) - y1_ref| */
    int reproduced;                /* loss, nfe and y(1) within the tolerances above */
    double dgemm_flops;            /* flop/s of dgemm on the layer's shape, best of 5 */
    double tanh_seconds;           /* per value of the nn layer's tanh, best of 5 */
    double floor_ideal, floor_as_run;   /* seconds (tools/nde/train_step.c) */
    train_step_timing checkpoint, backsolve;
    train_step_timing checkpoint_keep;  /* cache TRAIN_STEP_KEEP_CACHE */
    int keep_identical;            /* its gradient equals the checkpoint row's bit for bit */
} train_step_report;

/* Loads the problem from path, runs the forward solve against the figures,
 * measures the dgemm and tanh rates, and times `repeats` identical steps with each
 * adjoint (1 BLAS thread; cache: the MLP's activation cache, nde/nn.h, 8 for dopri5),
 * and the checkpointed one again with a cache of TRAIN_STEP_KEEP_CACHE passes.
 * An NDE_* status (NDE_OK also when the figures are not reproduced: see
 * r->reproduced), the message in err. */
int train_step_run(const char *path, int repeats, size_t cache, train_step_report *r, char *err, size_t esz);

/* The report as a table (json 0) or one JSON object (json 1, with a newline). */
void train_step_print(FILE *f, const char *path, const train_step_report *r, int json);

#endif
