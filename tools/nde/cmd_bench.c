/* nde bench NAME: benchmarks that ship with the tool (the full suite against GSL,
 * SUNDIALS and Boost is `make bench`, bench/).
 *
 *   train-step  one training step of the neural-ODE issue's problem,
 *               data/mlp_2_64_64_2.txt (tools/nde/train_step.c, shared with
 *               bench/bench_train.c): the forward solve against the loss
 *               0.865099, NFE 14 and y1_ref, then the step's time with the checkpointed
 *               and the backsolve adjoint, NFE forward and backward, the floor at this
 *               machine's dgemm and tanh rates measured in the same run, and the
 *               torchdiffeq figures beside them. Exit 1 when the forward solve does not
 *               reproduce the figures. */
#include <stdio.h>
#include <string.h>

#include "nde.h"
#include "tool.h"
#include "train_step.h"

#ifndef NDE_DATA_DIR
#define NDE_DATA_DIR "data"
#endif
#ifndef NDE_INSTALL_DATA_DIR
#define NDE_INSTALL_DATA_DIR NDE_DATA_DIR
#endif
#define TRAIN_STEP_FILE "/mlp_2_64_64_2.txt"

/* The default problem file: the source tree's while it exists, else the installed copy. */
static const char *default_data_path(void)
{
    FILE *f = fopen(NDE_DATA_DIR TRAIN_STEP_FILE, "r");
    if (f) { fclose(f); return NDE_DATA_DIR TRAIN_STEP_FILE; }
    return NDE_INSTALL_DATA_DIR TRAIN_STEP_FILE;
}

static void bench_usage(FILE *f)
{
    fprintf(f,
        "usage: nde bench train-step [--repeats N] [--data FILE] [--json]\n\n"
        "  train-step  one training step of an MLP 2-64-64-2 tanh neural ODE on a batch of 256\n"
        "              (dopri5, rtol = atol = 1e-3, one BLAS thread), the problem of issue 12 in\n"
        "              data/mlp_2_64_64_2.txt: checks that the forward solve reproduces the loss\n"
        "              0.865099, NFE 14 and y1_ref, then times the step (taped solve, loss,\n"
        "              backward, Adam) with the checkpointed and the backsolve adjoint; prints\n"
        "              median and best ms, NFE forward, VJPs and right-hand sides backward,\n"
        "              tape bytes, the floor (the step's flops at the dgemm rate measured in the\n"
        "              same run, plus its tanh values) and the ratios, beside torchdiffeq's\n"
        "              31 ms median / 8.8 ms best (backprop) and 16 ms (adjoint)\n\n"
        "options:\n"
        "  --repeats N  timed steps per adjoint (default 30; the median and best are reported)\n"
        "  --data FILE  the problem file (default %s, else the installed %s)\n"
        "  --json       one JSON object on stdout: name, loss, nfe, max_y1_error, reproduced,\n"
        "               dgemm_gflops, tanh_ns, floor_ideal_ms, floor_as_run_ms, checkpoint and\n"
        "               backsolve (median_ms, best_ms, nfe_forward, nvjp, nfe_backward,\n"
        "               tape_bytes, median_over_floor, torch_over_median), torchdiffeq\n",
        NDE_DATA_DIR TRAIN_STEP_FILE, NDE_INSTALL_DATA_DIR TRAIN_STEP_FILE);
}

int cmd_bench(int argc, char **argv)
{
    const char *name = NULL, *path = default_data_path();
    size_t repeats = 30;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (arg_is_help(argv[i])) { bench_usage(stdout); return TOOL_OK; }
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--repeats") == 0) {
            if (!(v = arg_value("bench", argc, argv, &i)) || arg_size("bench", "--repeats", v, &repeats)) return TOOL_USAGE;
            if (repeats < 1 || repeats > 100000) {
                fprintf(stderr, "nde bench: --repeats must be in [1, 100000], got %zu\n", repeats);
                return TOOL_USAGE;
            }
        } else if (strcmp(argv[i], "--data") == 0) {
            if (!(path = arg_value("bench", argc, argv, &i))) return TOOL_USAGE;
        } else if (argv[i][0] != '-' && !name) name = argv[i];
        else return arg_unknown("bench", argv[i]);
    }
    if (!name) { bench_usage(stderr); return TOOL_USAGE; }
    if (strcmp(name, "train-step") != 0) {
        fprintf(stderr, "nde bench: unknown benchmark '%s' (known: train-step)\n", name);
        return TOOL_USAGE;
    }
    train_step_report r;
    char err[NDE_MESSAGE_MAX] = "";
    int rc = train_step_run(path, (int)repeats, 8, &r, err, sizeof err);
    if (rc != NDE_OK) {
        fprintf(stderr, "nde bench train-step: %s (%s)\n", err, nde_status_str(rc));
        return TOOL_FAIL;
    }
    train_step_print(stdout, path, &r, json);
    if (!r.reproduced) fprintf(stderr, "nde bench train-step: the forward solve did not reproduce the issue's figures\n");
    if (!r.keep_identical) fprintf(stderr, "nde bench train-step: the cached checkpoint row's gradient differs\n");
    return r.reproduced && r.keep_identical ? TOOL_OK : TOOL_FAIL;
}
