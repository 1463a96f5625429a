/* bench/bench_sde_adjoint.c — gradients through SDE solves (nde_sde_solve_taped /
 * nde_sde_backward): forward and backward time, work and memory of the checkpointed
 * adjoint against the reversible one.
 *
 *   nde_bench_sde_adjoint [--quick]
 *
 * Workload: an OU-like neural SDE, dim 32, Stratonovich, diagonal noise:
 *     f(y) = C tanh(A y + b) + e - y,      g(y) = 0.05 + 0.5 sigmoid(D tanh(P y + q) + r)
 * (hidden width 32; drift and diffusion MLPs with 2 x 2112 parameters), on [0, 1] with
 * 100 constant steps, loss L = sum of y(1), gradient with respect to y0 and all
 * parameters. Methods: heun with NDE_ADJOINT_CHECKPOINT (all states kept, and 8 kept
 * states), reversible_heun with NDE_ADJOINT_REVERSIBLE, heun with NDE_ADJOINT_BACKSOLVE
 * (the stochastic adjoint: noise_dim = 32 diffusion VJPs per augmented diffusion, and
 * an approximate gradient), and untaped solves of each for the forward baseline. Printed: the untaped forward, the taped forward and the
 * backward pass (minimum over repeats), backward / untaped forward, the evaluations
 * (f and g) and VJP calls of the backward pass, and the tape's bytes (its records and
 * workspace, from nde_adjoint_stats; the solution itself excluded). Then the tape's
 * bytes as the number of steps grows 10x and 100x.
 *
 * Peers: torchsde's adjoint benchmarks are not quoted (no figure for this workload on
 * this machine is available to us); none is claimed. Timing only; nothing asserted. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "nde.h"

#define D 32
#define H 32
#define MLP_NP (H * D + H + D * H + D)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct net { double th[2 * MLP_NP]; } net;

static void mlp(const double *p, const double *y, double *h, double *out)
{
    const double *A = p, *b = A + H * D, *C = b + H, *e = C + D * H;
    for (int i = 0; i < H; i++) {
        double s = b[i];
        for (int j = 0; j < D; j++) s += A[i * D + j] * y[j];
        h[i] = tanh(s);
    }
    for (int k = 0; k < D; k++) {
        double s = e[k];
        for (int i = 0; i < H; i++) s += C[k * H + i] * h[i];
        out[k] = s;
    }
}

static void mlp_vjp(const double *p, const double *y, const double *a, double *ay, double *ap)
{
    const double *A = p, *C = A + H * D + H;
    double h[H], out[D], hb[H];
    mlp(p, y, h, out);
    for (int i = 0; i < H; i++) {
        double s = 0;
        for (int k = 0; k < D; k++) s += C[k * H + i] * a[k];
        hb[i] = s * (1 - h[i] * h[i]);
    }
    if (ay)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int i = 0; i < H; i++) s += A[i * D + j] * hb[i];
            ay[j] = s;
        }
    if (ap) {
        double *Ab = ap, *bb = Ab + H * D, *Cb = bb + H, *eb = Cb + D * H;
        for (int i = 0; i < H; i++) {
            for (int j = 0; j < D; j++) Ab[i * D + j] = hb[i] * y[j];
            bb[i] = hb[i];
        }
        for (int k = 0; k < D; k++) {
            for (int i = 0; i < H; i++) Cb[k * H + i] = a[k] * h[i];
            eb[k] = a[k];
        }
    }
}

static int drift(double t, const double *y, double *f, void *u)
{
    (void)t;
    double h[H];
    mlp(((net *)u)->th, y, h, f);
    for (int k = 0; k < D; k++) f[k] -= y[k];
    return 0;
}
static int drift_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    mlp_vjp(((net *)u)->th, y, a, ay, at);
    if (ay)
        for (int k = 0; k < D; k++) ay[k] -= a[k];
    if (at) memset(at + MLP_NP, 0, MLP_NP * sizeof *at);
    return 0;
}
static int diffusion(double t, const double *y, double *g, void *u)
{
    (void)t;
    double h[H], o[D];
    mlp(((net *)u)->th + MLP_NP, y, h, o);
    for (int k = 0; k < D; k++) g[k] = 0.05 + 0.5 / (1 + exp(-o[k]));
    return 0;
}
static int diffusion_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *p = ((net *)u)->th + MLP_NP;
    double h[H], o[D], ao[D];
    mlp(p, y, h, o);
    for (int k = 0; k < D; k++) {
        double s = 1 / (1 + exp(-o[k]));
        ao[k] = a[k] * 0.5 * s * (1 - s);
    }
    if (at) memset(at, 0, MLP_NP * sizeof *at);
    mlp_vjp(p, y, ao, ay, at ? at + MLP_NP : NULL);
    return 0;
}

typedef struct result { double fwd, taped, bwd; size_t nfe_fwd, nfe, nvjp, bytes, steps; } result;

static int run(nde_sde *q, nde_brownian *bm, const char *method, int kind, size_t checkpoints, size_t steps,
               int reps, result *r)
{
    const double *y0 = NULL;
    double y0v[D], ones[D], gy[D];
    static double gth[2 * MLP_NP];
    for (int k = 0; k < D; k++) { y0v[k] = 0.1 * sin(k + 1.0); ones[k] = 1.0; }
    y0 = y0v;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_sde_method_find(method);
    o.rtol = 0; o.dt0 = 1.0 / (double)steps;
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = kind;
    ao.checkpoints = checkpoints;
    nde_tape *tape = nde_tape_create(&ao);
    if (!tape) return -1;
    r->fwd = r->taped = r->bwd = INFINITY;
    for (int i = 0; i < reps; i++) {
        nde_solution sol;
        double t0 = now();
        int rc = nde_sde_solve(q, 0, 1, y0, bm, &o, &sol);
        double t1 = now();
        r->fwd = fmin(r->fwd, t1 - t0);
        r->nfe_fwd = sol.stats.nfe;
        nde_solution_free(&sol);
        if (rc) { nde_tape_free(tape); return rc; }
        t0 = now();
        rc = nde_sde_solve_taped(q, 0, 1, y0, bm, &o, tape, &sol);
        double t2 = now();
        nde_solution_free(&sol);
        if (rc) { nde_tape_free(tape); return rc; }
        rc = nde_sde_backward(tape, ones, gy, gth);
        double t3 = now();
        if (rc) { fprintf(stderr, "%s\n", nde_tape_message(tape)); nde_tape_free(tape); return rc; }
        r->taped = fmin(r->taped, t2 - t0);
        r->bwd = fmin(r->bwd, t3 - t2);
    }
    nde_adjoint_stats st;
    nde_tape_stats(tape, &st);
    r->nfe = st.nfe; r->nvjp = st.nvjp; r->bytes = st.bytes; r->steps = st.steps;
    nde_tape_free(tape);
    return 0;
}

int main(int argc, char **argv)
{
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0, reps = quick ? 3 : 20;
    static net N;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2 * MLP_NP; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        N.th[i] = (1.0 / sqrt((double)D)) * 2.0 * ((double)(x >> 11) / 9007199254740992.0 - 0.5);
    }
    nde_sde q = { .dim = D, .noise_dim = D, .noise = NDE_NOISE_DIAGONAL, .stratonovich = 1, .drift = drift,
                  .diffusion = diffusion, .user = &N, .drift_vjp = drift_vjp, .diffusion_vjp = diffusion_vjp,
                  .n_params = 2 * MLP_NP };
    nde_brownian *bm = nde_brownian_tree_create(D, 0.0, 1.0, 1e-6, 2021, NDE_LEVY_NONE);
    printf("OU-like neural SDE, dim %d, 2 x %d parameters, 100 constant steps on [0, 1] (minimum of %d repeats)\n",
           D, MLP_NP, reps);
    printf("  %-36s %9s %9s %9s %8s %8s %8s %10s\n", "method / adjoint", "fwd ms", "taped ms", "bwd ms", "bwd/fwd",
           "bwd nfe", "bwd nvjp", "tape bytes");
    struct { const char *method; int kind; size_t ck; const char *label; } cases[] = {
        { "heun", NDE_ADJOINT_CHECKPOINT, NDE_CHECKPOINTS_ALL, "heun, checkpoint (all kept)" },
        { "heun", NDE_ADJOINT_CHECKPOINT, 8, "heun, checkpoint (8 kept)" },
        { "reversible_heun", NDE_ADJOINT_REVERSIBLE, 0, "reversible_heun, reversible" },
        { "heun", NDE_ADJOINT_BACKSOLVE, 0, "heun, backsolve (stochastic adjoint)" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        result r;
        int rc = run(&q, bm, cases[c].method, cases[c].kind, cases[c].ck, 100, reps, &r);
        if (rc) { printf("  %s: failed (%d)\n", cases[c].label, rc); continue; }
        printf("  %-36s %9.3f %9.3f %9.3f %8.2f %8zu %8zu %10zu\n", cases[c].label, 1e3 * r.fwd, 1e3 * r.taped,
               1e3 * r.bwd, r.bwd / r.fwd, r.nfe, r.nvjp, r.bytes);
    }
    printf("tape bytes as the steps grow (the forward solve's own output excluded)\n");
    printf("  %-36s %12s %12s %12s\n", "method / adjoint", "100 steps", "1000", "10000");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t b[3] = { 0, 0, 0 };
        for (int k = 0; k < 3; k++) {
            result r;
            if (run(&q, bm, cases[c].method, cases[c].kind, cases[c].ck, (size_t)(100 * pow(10, k)), 1, &r)) break;
            b[k] = r.bytes;
        }
        printf("  %-36s %12zu %12zu %12zu\n", cases[c].label, b[0], b[1], b[2]);
    }
    printf("torchsde: no figures quoted for this workload.\n");
    nde_brownian_free(bm);
    return 0;
}
