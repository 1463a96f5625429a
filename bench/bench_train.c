/* bench/bench_train.c — one training step of the neural-ODE issue's problem
 * (data/mlp_2_64_64_2.txt: MLP 2 -> 64 -> 64 -> 2 tanh, batch 256, dopri5 at rtol = atol
 * = 1e-3) with the checkpointed and the backsolve adjoint, one thread, against
 * torchdiffeq and this machine's floor. The step, its checks and the floors are
 * tools/nde/train_step.c, shared with `nde bench train-step`; this is its bench-suite
 * front end.
 *
 *   nde_bench_train [--data FILE] [--repeats N] [--cache N] [--json]
 * --cache: the MLP's activation cache (nde/nn.h), default 8; 16 or more also keeps
 * every forward-solve evaluation, so the backward pass's recomputed stages are found
 * there too. Exits 1 when the forward solve does not reproduce the loss
 * 0.865099, NFE 14 and y1_ref.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "train_step.h"

#ifndef NDE_DATA_DIR
#define NDE_DATA_DIR "data"
#endif

int main(int argc, char **argv)
{
    const char *path = NDE_DATA_DIR "/mlp_2_64_64_2.txt";
    int repeats = 30, json = 0;
    size_t cache = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cache") && i + 1 < argc) cache = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else { fprintf(stderr, "usage: nde_bench_train [--data FILE] [--repeats N] [--cache N] [--json]\n"); return 2; }
    }
    train_step_report r;
    char err[NDE_MESSAGE_MAX] = "";
    int rc = train_step_run(path, repeats, cache, &r, err, sizeof err);
    if (rc != NDE_OK) {
        fprintf(stderr, "bench_train: %s (%s)\n", err, nde_status_str(rc));
        return 1;
    }
    train_step_print(stdout, path, &r, json);
    return r.reproduced && r.keep_identical ? 0 : 1;
}
