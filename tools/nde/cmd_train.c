/* nde train NAME: training runs of neural ODEs on the nn layer (include/nde/nn.h).
 *
 *   spiral   torchdiffeq's examples/ode_demo.py, exactly: the true dynamics
 *            y' = y^3 A (row vector, elementwise cube), A = [[-0.1, 2], [-2, -0.1]],
 *            y0 = (2, 0), 1000 points on [0, 25] (dopri5, rtol 1e-7, atol 1e-9); each
 *            iteration a batch of 20 distinct random start indices s in [0, 990) and
 *            the 10-point windows true_y[s .. s + 9] on t[0 .. 9]; the model
 *            y' = MLP(y^3), MLP 2 -> 50 -> 2 tanh, weights N(0, 0.1^2), biases 0;
 *            loss the mean absolute error over the 10 x 20 x 2 window entries; RMSprop
 *            lr 1e-3 (PyTorch's other defaults); the 20 windows solved as one system of
 *            dimension 40 (shared steps, like torchdiffeq's batched odeint) with dopri5
 *            at rtol 1e-7, atol 1e-9 and differentiated by the checkpointed adjoint
 *            (through the solver's own steps, as torchdiffeq's backprop); test_loss the
 *            mean absolute error of the model's full 1000-point trajectory from y0.
 *   regularised  the spiral trained twice from the same seed: plain, and with the
 *            local-error regulariser R_E (Pal et al. 2021, "Opening the Blackbox";
 *            nde_adjoint_options.reg_error) added to the loss; reports the prediction
 *            solve's NFE and test loss of both models (issue 12's run 2).
 *
 * Randomness. spiral's --seed S is ode_demo's seed S by default (--rng torch, below): the
 * same initial weights and windows as ode_demo run after torch.manual_seed(S),
 * np.random.seed(S), so a seed's result compares with torchdiffeq's for that seed.
 * --rng nde, and always regularised: the weights are nde_mlp_init(NDE_INIT_NORMAL, 0.1,
 * seed); the windows of iteration k use uniforms 20 k .. 20 k + 19 of stream
 * NDE_STREAM_USER_FIRST + 1 under the seed (a partial Fisher-Yates shuffle). Over seeds
 * 0..19 the two give the same distribution of test losses as torch's own runs
 * (docs/benchmarks.md: 5/20 and 6/20 seeds <= 0.2 against torch's 5/20).
 *
 * Spiral options beyond the seed (docs/benchmarks.md has the measurements):
 *   --control torch  torchdiffeq's dopri5 step rules in every solve: I control with
 *            exponent 1/5, factor in [1, 10] after an accepted step and [0.2, 0.9] after a
 *            rejection (rk_common.py, misc._optimal_step_size), and _select_initial_step
 *            in plain time (torch_initial_step below; nde's rule normalises time by the
 *            span). Default nde: Hairer's PI control and nde's initial step.
 *   --replay FILE    the initial parameters and every iteration's window starts from FILE
 *            (format at read_replay), e.g. a torchdiffeq run's written by
 *            bench/peers/spiral_torch.py --replay: the faithfulness oracle (the run then
 *            tracks torch-float64 to the solver tolerance until the chaotic training
 *            path amplifies that, after 80-400 iterations).
 *   --rng torch      --seed S draws ode_demo's streams (tools/nde/spiral_rng.c): the
 *            batches of np.random.seed(S) bit-equal, the weights of torch.manual_seed(S)
 *            to 1-2 float ULPs (torch uses SLEEF's float log, sin, cos). The default;
 *            --rng nde: nde's own generator (above).
 *   --write-replay FILE  this run's parameters and starts in that format.
 *   --test-every K   --json adds test_curve (test loss every K iterations, outside the
 *            timed loop) and train_curve (every iteration's batch loss). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"
#include "train.h"

/* ---- the spiral ------------------------------------------------------------------- */

#define SP_POINTS SPIRAL_POINTS
#define SP_T1 25.0
#define SP_BATCH SPIRAL_BATCH
#define SP_WINDOW 10
#define SP_STARTS SPIRAL_STARTS              /* torchdiffeq: data_size - batch_time */
#define SP_HIDDEN 50
#define SP_RTOL 1e-7
#define SP_ATOL 1e-9

static const double spiral_A[2][2] = { { -0.1, 2.0 }, { -2.0, -0.1 } };

static int spiral_true(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    double c0 = y[0] * y[0] * y[0], c1 = y[1] * y[1] * y[1];
    dy[0] = c0 * spiral_A[0][0] + c1 * spiral_A[1][0];
    dy[1] = c0 * spiral_A[0][1] + c1 * spiral_A[1][1];
    return 0;
}

/* The model y' = MLP(y^3) on `batch` states: the cube is the caller's input map,
 * chained in front of the nn layer's forward and VJP. */
typedef struct cube_field {
    nde_mlp *mlp;
    size_t batch;
    double *u, *gu;     /* batch x 2: y^3 and its cotangent */
} cube_field;

static int cube_rhs(double t, const double *y, double *dy, void *user)
{
    (void)t;
    cube_field *c = user;
    for (size_t i = 0; i < 2 * c->batch; i++) c->u[i] = y[i] * y[i] * y[i];
    return nde_mlp_forward(c->mlp, c->batch, c->u, dy) == NDE_OK ? 0 : -1;
}

static int cube_vjp(double t, const double *y, const double *a, double *ay, double *ath, void *user)
{
    (void)t;
    cube_field *c = user;
    for (size_t i = 0; i < 2 * c->batch; i++) c->u[i] = y[i] * y[i] * y[i];
    if (nde_mlp_vjp(c->mlp, c->batch, c->u, a, ay ? c->gu : NULL, ath) != NDE_OK) return -1;
    if (ay)
        for (size_t i = 0; i < 2 * c->batch; i++) ay[i] = c->gu[i] * 3.0 * y[i] * y[i];
    return 0;
}

/* torchdiffeq's _select_initial_step (misc.py) for dopri5 (order - 1 = 4): Hairer-Norsett-
 * Wanner II.4 in plain time with RMS norms over all components, min(100 h0, h1). nde's
 * rule normalises time by the span first, which gives another h1 for a span != 1.
 * Costs two evaluations of f (torchdiffeq reuses its f0 for the first step; nde
 * recomputes it). dim <= 2 SP_BATCH. */
static int torch_initial_step(const nde_ode *ode, const double *y0, double rtol, double atol, double *h)
{
    double f0[2 * SP_BATCH], y1[2 * SP_BATCH], f1[2 * SP_BATCH], d0 = 0, d1 = 0, d2 = 0;
    size_t n = ode->dim;
    if (ode->f(0.0, y0, f0, ode->user)) return NDE_ECALLBACK;
    for (size_t i = 0; i < n; i++) {
        double sc = atol + fabs(y0[i]) * rtol;
        d0 += (y0[i] / sc) * (y0[i] / sc);
        d1 += (f0[i] / sc) * (f0[i] / sc);
    }
    d0 = sqrt(d0 / (double)n);
    d1 = sqrt(d1 / (double)n);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    for (size_t i = 0; i < n; i++) y1[i] = y0[i] + h0 * f0[i];
    if (ode->f(h0, y1, f1, ode->user)) return NDE_ECALLBACK;
    for (size_t i = 0; i < n; i++) {
        double sc = atol + fabs(y0[i]) * rtol, v = (f1[i] - f0[i]) / sc;
        d2 += v * v;
    }
    d2 = sqrt(d2 / (double)n) / h0;
    double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / fmax(d1, d2), 1.0 / 5.0);
    *h = fmin(100.0 * h0, h1);
    return isfinite(*h) && *h > 0 ? NDE_OK : NDE_ENONFINITE;
}

/* The solver options of the run's control (dt0 left for spiral_dt0). */
static void spiral_options(int control, nde_options *o)
{
    *o = (nde_options)NDE_OPTIONS_INIT;
    o->method = nde_method_find("dopri5");
    o->rtol = SP_RTOL;
    o->atol = SP_ATOL;
    if (control == SPIRAL_CONTROL_TORCH) {   /* rk_common.py + misc._optimal_step_size */
        o->icoeff = 1.0;
        o->factormin_accept = 1.0;
    }
}

/* torchdiffeq's first step for a solve from y0 (extra f evaluations into *nfe); nde's
 * control leaves dt0 = 0 (its own rule, counted in the solve's stats). */
static int spiral_dt0(int control, const nde_ode *ode, const double *y0, nde_options *o, size_t *nfe)
{
    o->dt0 = 0.0;
    if (control != SPIRAL_CONTROL_TORCH) return NDE_OK;
    *nfe += 2;
    return torch_initial_step(ode, y0, o->rtol, o->atol, &o->dt0);
}

/* The MAE of the model's trajectory from y0 against true_y at ts. */
static int spiral_test(cube_field *c, int control, const double *ts, const double *true_y, double *mae, size_t *nfe,
                       double *fit, char *err, size_t esz)
{
    nde_ode ode = { .dim = 2, .f = cube_rhs, .vjp = cube_vjp, .n_params = nde_mlp_n_params(c->mlp), .user = c };
    nde_options o;
    spiral_options(control, &o);
    o.ts = ts;
    o.n_ts = SP_POINTS;
    nde_solution sol;
    size_t keep = c->batch, extra = 0;
    c->batch = 1;
    int rc = spiral_dt0(control, &ode, true_y, &o, &extra);
    if (rc != NDE_OK) {
        c->batch = keep;
        snprintf(err, esz, "test solve: initial step: %s", nde_status_str(rc));
        return rc;
    }
    rc = nde_ode_solve(&ode, 0.0, SP_T1, true_y, &o, &sol);
    c->batch = keep;
    *nfe = sol.stats.nfe + extra;
    if (rc == NDE_OK) nde_loss_l1(2 * SP_POINTS, sol.y, true_y, mae, NULL);
    if (rc == NDE_OK && fit) memcpy(fit, sol.y, 2 * SP_POINTS * sizeof *fit);
    if (rc != NDE_OK) snprintf(err, esz, "test solve: %s", nde_solution_message(&sol));
    nde_solution_free(&sol);
    return rc;
}

/* reg: the weight of the local-error regulariser R_E (nde/adjoint.h) added to the loss;
 * show: the progress bar's label, NULL for none. (tools/nde/train.h) */
int train_spiral(uint64_t seed, size_t iters, double reg, const char *show, spiral_result *res, char *err,
                 size_t esz)
{
    spiral_config c = { .seed = seed, .iters = iters, .reg = reg, .control = SPIRAL_CONTROL_NDE };
    return train_spiral_run(&c, show, res, err, esz);
}

int train_spiral_run(const spiral_config *cfg, const char *show, spiral_result *res, char *err, size_t esz)
{
    const uint64_t seed = cfg->seed;
    const size_t iters = cfg->iters;
    const int control = cfg->control;
    static double ts[SP_POINTS], true_y[2 * SP_POINTS];
    for (int i = 0; i < SP_POINTS; i++) ts[i] = SP_T1 * i / (SP_POINTS - 1);
    const double y0[2] = { 2.0, 0.0 };
    nde_ode truth = { .dim = 2, .f = spiral_true };
    nde_options o;
    spiral_options(control, &o);
    o.ts = ts;
    o.n_ts = SP_POINTS;
    nde_solution sol;
    size_t extra = 0;
    int rc = spiral_dt0(control, &truth, y0, &o, &extra);
    if (rc != NDE_OK) {
        snprintf(err, esz, "true trajectory: initial step: %s", nde_status_str(rc));
        return rc;
    }
    rc = nde_ode_solve(&truth, 0.0, SP_T1, y0, &o, &sol);
    if (rc == NDE_OK) memcpy(true_y, sol.y, sizeof true_y);
    if (rc == NDE_OK && res->truth) memcpy(res->truth, sol.y, sizeof true_y);
    else snprintf(err, esz, "true trajectory: %s", nde_solution_message(&sol));
    nde_solution_free(&sol);
    if (rc != NDE_OK) return rc;

    size_t widths[3] = { 2, SP_HIDDEN, 2 };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = SP_BATCH;
    mo.cache = 8;            /* dopri5's 7 stages + 1: every backward VJP reuses its stage's pass */
    mo.errbuf = err;
    mo.errbuf_size = esz;
    nde_mlp *net = nde_mlp_create(2, widths, &mo);
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_RMSPROP, &oo);
    oo.lr = 1e-3;
    nde_optim *opt = net ? nde_optim_create(NDE_OPTIM_RMSPROP, nde_mlp_n_params(net), &oo) : NULL;
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.reg_error = cfg->reg;
    nde_tape *tape = nde_tape_create(&ao);
    static double u[2 * SP_BATCH], gu[2 * SP_BATCH], by0[2 * SP_BATCH], by[SP_WINDOW * 2 * SP_BATCH],
        g[SP_WINDOW * 2 * SP_BATCH];
    double *grad = net ? calloc(nde_mlp_n_params(net), sizeof *grad) : NULL;
    if (!net || !opt || !tape || !grad) {
        if (net && !err[0]) snprintf(err, esz, "out of memory");
        rc = NDE_ENOMEM;
        goto done;
    }
    if (cfg->init) memcpy(nde_mlp_params(net), cfg->init, SPIRAL_N_PARAMS * sizeof(double));
    else nde_mlp_init(net, NDE_INIT_NORMAL, 0.1, seed);
    if (res->init_out) memcpy(res->init_out, nde_mlp_params(net), SPIRAL_N_PARAMS * sizeof(double));
    cube_field cf = { net, SP_BATCH, u, gu };
    nde_ode ode = { .dim = 2 * SP_BATCH, .f = cube_rhs, .vjp = cube_vjp, .n_params = nde_mlp_n_params(net), .user = &cf };
    o.ts = ts;               /* the window's times t[0 .. 9] */
    o.n_ts = SP_WINDOW;
    size_t perm[SP_STARTS];
    for (size_t i = 0; i < SP_STARTS; i++) perm[i] = i;
    double nfe_f = 0, nfe_b = 0, t_loop = 0, loss = NAN;
    int last = -1;
    for (size_t it = 0; it < iters; it++) {
        double uu[SP_BATCH];
        if (cfg->starts) memcpy(perm, cfg->starts + it * SP_BATCH, SP_BATCH * sizeof *perm);
        else nde_uniform_fill_at(seed, NDE_STREAM_USER_FIRST + 1, (uint64_t)it * SP_BATCH, SP_BATCH, uu);
        for (size_t k = 0; k < SP_BATCH; k++) {   /* 20 distinct starts */
            if (!cfg->starts) {
                size_t j = k + (size_t)(uu[k] * (double)(SP_STARTS - k)), tmp = perm[k];
                perm[k] = perm[j];
                perm[j] = tmp;
            }
            by0[2 * k] = true_y[2 * perm[k]];
            by0[2 * k + 1] = true_y[2 * perm[k] + 1];
            for (size_t w = 0; w < SP_WINDOW; w++) {
                by[w * 2 * SP_BATCH + 2 * k] = true_y[2 * (perm[k] + w)];
                by[w * 2 * SP_BATCH + 2 * k + 1] = true_y[2 * (perm[k] + w) + 1];
            }
        }
        if (res->starts_out) memcpy(res->starts_out + it * SP_BATCH, perm, SP_BATCH * sizeof *perm);
        double t0 = wall_seconds();
        size_t nfe0 = 0;
        rc = spiral_dt0(control, &ode, by0, &o, &nfe0);
        if (rc != NDE_OK) {
            snprintf(err, esz, "iteration %zu: initial step: %s", it, nde_status_str(rc));
            goto done;
        }
        nfe_f += (double)nfe0;
        rc = nde_ode_solve_taped(&ode, 0.0, ts[SP_WINDOW - 1], by0, &o, tape, &sol);
        if (rc != NDE_OK) {
            snprintf(err, esz, "iteration %zu: %s", it, nde_solution_message(&sol));
            nde_solution_free(&sol);
            goto done;
        }
        nde_loss_l1(SP_WINDOW * 2 * SP_BATCH, sol.y, by, &loss, g);
        nfe_f += (double)sol.stats.nfe;
        nde_solution_free(&sol);
        rc = nde_ode_backward(tape, g, NULL, grad);
        if (rc == NDE_OK) rc = nde_optim_step(opt, nde_mlp_params(net), grad);
        t_loop += wall_seconds() - t0;
        if (rc != NDE_OK) {
            snprintf(err, esz, "iteration %zu: backward: %s", it, nde_tape_message(tape));
            goto done;
        }
        nde_adjoint_stats st;
        nde_tape_stats(tape, &st);
        nfe_b += (double)(st.nvjp + st.nfe);
        if (res->curve) res->curve[it] = loss;
        if (show) progress_bar(show, it + 1, iters, loss, &last);
        if (cfg->test_every && res->test_curve && (it + 1) % cfg->test_every == 0) {
            size_t nfe_t;
            rc = spiral_test(&cf, control, ts, true_y, &res->test_curve[(it + 1) / cfg->test_every - 1], &nfe_t,
                             NULL, err, esz);
            if (rc != NDE_OK) goto done;
        }
    }
    res->iterations = iters;
    res->train_loss = loss;
    res->ms_per_iter = iters ? 1e3 * t_loop / (double)iters : 0;
    res->nfe_forward = iters ? nfe_f / (double)iters : 0;
    res->nfe_backward = iters ? nfe_b / (double)iters : 0;
    rc = spiral_test(&cf, control, ts, true_y, &res->test_loss, &res->nfe_predict, res->fit, err, esz);
done:
    free(grad);
    nde_tape_free(tape);
    nde_optim_free(opt);
    nde_mlp_free(net);
    return rc;
}

/* ---- the command ------------------------------------------------------------------- */

/* Writes a replay file (format below) of a run's initial parameters and window starts. */
static int write_replay(const char *path, const char *what, const double *params, const size_t *starts, size_t n,
                        char *err, size_t esz)
{
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, esz, "cannot write %s", path); return NDE_EINVAL; }
    fprintf(f, "# nde train spiral %s: initial parameters, then each iteration's window starts\nparams %d\n", what,
            SPIRAL_N_PARAMS);
    for (size_t i = 0; i < SPIRAL_N_PARAMS; i++) fprintf(f, "%.17g%c", params[i], i + 1 < SPIRAL_N_PARAMS ? ' ' : '\n');
    fprintf(f, "iterations %zu\n", n);
    for (size_t i = 0; i < n * SP_BATCH; i++) fprintf(f, "%zu%c", starts[i], (i + 1) % SP_BATCH ? ' ' : '\n');
    if (fclose(f) != 0) { snprintf(err, esz, "cannot write %s", path); return NDE_EINVAL; }
    return NDE_OK;
}

/* A replay file (--replay): lines starting with '#' are comments; then "params 252" and
 * the 252 initial parameters in the MLP's flat order (W1 50 x 2 row-major, b1, W2 2 x 50,
 * b2: PyTorch's state_dict order of ode_demo's net), then "iterations N" and N lines of
 * 20 window starts in [0, 990). bench/peers/spiral_torch.py writes one from a run of
 * torchdiffeq's ode_demo. On success *starts is malloc'd (N x 20), the caller frees it. */
static int read_replay(const char *path, double *params, size_t **starts, size_t *n_iters, char *err, size_t esz)
{
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, esz, "cannot open %s", path); return NDE_EINVAL; }
    int c;
    while ((c = fgetc(f)) == '#')
        while ((c = fgetc(f)) != EOF && c != '\n') {}
    if (c != EOF) ungetc(c, f);
    size_t np = 0, n = 0, *s = NULL;
    const char *why = NULL;
    if (fscanf(f, " params %zu", &np) != 1 || np != SPIRAL_N_PARAMS) why = "expected \"params 252\"";
    for (size_t i = 0; !why && i < np; i++)
        if (fscanf(f, "%lf", &params[i]) != 1 || !isfinite(params[i])) why = "bad parameter value";
    if (!why && (fscanf(f, " iterations %zu", &n) != 1 || n == 0 || n > 10000000))
        why = "expected \"iterations N\" (N >= 1)";
    if (!why && !(s = malloc(n * SP_BATCH * sizeof *s))) why = "out of memory";
    for (size_t i = 0; !why && i < n * SP_BATCH; i++) {
        long v;
        if (fscanf(f, "%ld", &v) != 1 || v < 0 || v >= SP_STARTS) why = "bad window start (want integers in [0, 990))";
        else s[i] = (size_t)v;
    }
    fclose(f);
    if (why) {
        free(s);
        snprintf(err, esz, "%s: %s", path, why);
        return NDE_EINVAL;
    }
    *starts = s;
    *n_iters = n;
    return NDE_OK;
}

/* The default weight of R_E in `nde train regularised`: chosen among 0.01, 0.1 and 0.3 on
 * seeds 0..2 (the largest; 0.01 and 0.1 cut the prediction NFE by 1-17% only). */
#define REG_DEFAULT SPIRAL_REG_DEFAULT

static void train_usage(FILE *f)
{
    fprintf(f,
        "usage: nde train NAME [--seed S] [--iters N] [--reg W] [--masks] [--json] [--quiet]\n"
        "                 spiral only: [--control nde|torch] [--rng nde|torch] [--replay FILE]\n"
        "                 [--write-replay FILE] [--test-every K]\n\n"
        "Trains a neural ODE or CDE with the nn layer and reports its losses and cost.\n\n"
        "runs:\n"
        "  spiral       torchdiffeq's ode_demo: y' = y^3 A, MLP 2-50-2 tanh on y^3, RMSprop lr\n"
        "               1e-3, batches of 20 random 10-point windows, MAE loss, dopri5 rtol 1e-7\n"
        "               atol 1e-9, 2000 iterations by default (torchdiffeq measured here: test loss\n"
        "               0.169 / 0.701 / 0.140 for seeds 0 / 1 / 2, median 0.34 over seeds 0..19;\n"
        "               15.4 ms per iteration; docs/benchmarks.md)\n"
        "  regularised  the spiral trained twice from the same seed, plain and with the local-\n"
        "               error regulariser R_E of \"Opening the Blackbox\" (weight --reg, default %g)\n"
        "               added to the loss; compares the trained models' prediction solves (the\n"
        "               full trajectory from y0 at the training tolerance): NFE and test loss\n"
        "  cde          a neural CDE classifying irregular 2-D spirals, clockwise against\n"
        "               anticlockwise, 30%% of the values missing (tools/nde/train_cde.c): time,\n"
        "               x, y as channels, Hermite path, z0 = MLP(first observation), field MLP\n"
        "               8 -> 32 -> 32 -> 8 x channels (tanh out), linear readout, Bernoulli\n"
        "               loss, Adam lr 1e-2, batches of 32 of 512 series each solved on its\n"
        "               own (dopri5 rtol 1e-3, checkpointed adjoint), 100 iterations by default;\n"
        "               test set 256 series\n"
        "  neural_sde   stable neural SDEs (Langevin, linear noise, geometric) fitted to OU and\n"
        "               double-well paths by marginal matching (nde train neural_sde --help)\n\n"
        "options:\n"
        "  --seed S    seed of the weights and the batches, and for cde of the data (default 0)\n"
        "  --iters N   training iterations (default 2000; cde 100)\n"
        "  --reg W     weight of R_E (spiral: default 0; regularised: the regularised run's, default %g)\n"
        "  --masks     cde: add the cumulative observation counts of x and y as channels\n"
        "  --json      one JSON object on stdout: name, seed, iterations, train_loss (the last\n"
        "              iteration's batch), test_loss (full trajectory from y0), ms_per_iter (wall\n"
        "              time of the training loop per iteration, evaluation excluded),\n"
        "              nfe_forward (right-hand sides of the taped forward solve), nfe_backward\n"
        "              (VJP calls plus right-hand-side recomputations of the backward pass), both\n"
        "              means per iteration, nfe_predict (right-hand sides of the test solve),\n"
        "              reg_error; regularised: these of the regularised model, and nfe_plain,\n"
        "              nfe_regularised (prediction NFE), test_loss_plain, test_loss_regularised,\n"
        "              nfe_ratio, test_loss_ratio (regularised / plain); cde: name, seed,\n"
        "              iterations, train_loss, test_loss (mean Bernoulli NLL on the test set),\n"
        "              test_accuracy, ms_per_iter, nfe_forward, nfe_backward (summed over the\n"
        "              batch's solves), masks, channels, n_params\n"
        "  --quiet     no progress bar on stderr\n"
        "  --control C spiral, regularised: the step-size rules of every solve: nde (default:\n"
        "              Hairer's PI control, nde's initial step) or torch (torchdiffeq's dopri5: I\n"
        "              control never shrinking after an accepted step, its _select_initial_step)\n"
        "  --replay F  spiral: initial parameters and every iteration's window starts from F\n"
        "              (format in tools/nde/cmd_train.c; bench/peers/spiral_torch.py writes it\n"
        "              from a torchdiffeq run); --iters defaults to F's iteration count\n"
        "  --rng R     spiral: whose random streams --seed S picks: torch (default: ode_demo's\n"
        "              under torch.manual_seed(S), np.random.seed(S): the same batches, the same\n"
        "              float32 weights to 1-2 ULPs; tools/nde/spiral_rng.c) or nde (nde's\n"
        "              generator; regularised always uses nde's)\n"
        "  --write-replay F  spiral: write the run's initial parameters and window starts to F\n"
        "              (--replay F then repeats the run exactly)\n"
        "  --test-every K  spiral: --json adds test_curve, the test loss every K iterations,\n"
        "              and train_curve, every iteration's batch loss\n",
        REG_DEFAULT, REG_DEFAULT);
}

static void json_result(const char *name, size_t seed, double reg, const spiral_result *r, size_t test_every)
{
    printf("{\"name\": ");
    json_str(stdout, name);
    printf(", \"seed\": %zu, \"iterations\": %zu, \"train_loss\": ", seed, r->iterations);
    json_num(stdout, r->train_loss);
    printf(", \"test_loss\": ");
    json_num(stdout, r->test_loss);
    printf(", \"ms_per_iter\": ");
    json_num(stdout, r->ms_per_iter);
    printf(", \"nfe_forward\": ");
    json_num(stdout, r->nfe_forward);
    printf(", \"nfe_backward\": ");
    json_num(stdout, r->nfe_backward);
    printf(", \"nfe_predict\": %zu, \"reg_error\": ", r->nfe_predict);
    json_num(stdout, reg);
    if (test_every && r->test_curve) {
        printf(", \"test_every\": %zu, \"test_curve\": [", test_every);
        for (size_t i = 0; i < r->iterations / test_every; i++) {
            if (i) printf(", ");
            json_num(stdout, r->test_curve[i]);
        }
        printf("], \"train_curve\": [");
        for (size_t i = 0; r->curve && i < r->iterations; i++) {
            if (i) printf(", ");
            json_num(stdout, r->curve[i]);
        }
        printf("]");
    }
}

/* nde train cde (the run itself: tools/nde/train_cde.c). */
static int train_cde_command(size_t seed, size_t iters, int masks, int json, int quiet)
{
    cde_options o;
    cde_options_default(&o);
    o.seed = seed;
    o.iters = iters;
    o.masks = masks;
    o.eval_every = 0;
    char err[NDE_MESSAGE_MAX] = "";
    cde_result r = { 0 };
    cde_run *run = cde_run_create(&o, err, sizeof err);
    int rc = run ? cde_run_train(run, quiet ? NULL : "cde", &r, err, sizeof err) : NDE_EINVAL;
    size_t channels = run ? cde_run_channels(run) : 0, n_params = run ? cde_run_n_params(run) : 0;
    cde_run_free(run);
    if (rc != NDE_OK) {
        fprintf(stderr, "nde train cde: %s (%s)\n", err, nde_status_str(rc));
        return TOOL_FAIL;
    }
    if (json) {
        printf("{\"name\": \"cde\", \"seed\": %zu, \"iterations\": %zu, \"train_loss\": ", seed, r.iterations);
        json_num(stdout, r.train_loss);
        printf(", \"test_loss\": ");
        json_num(stdout, r.test_loss);
        printf(", \"test_accuracy\": ");
        json_num(stdout, r.test_accuracy);
        printf(", \"ms_per_iter\": ");
        json_num(stdout, r.ms_per_iter);
        printf(", \"nfe_forward\": ");
        json_num(stdout, r.nfe_forward);
        printf(", \"nfe_backward\": ");
        json_num(stdout, r.nfe_backward);
        printf(", \"masks\": %s, \"channels\": %zu, \"n_params\": %zu}\n", masks ? "true" : "false", channels,
               n_params);
    } else {
        printf("cde, seed %zu, %zu iterations%s: train loss %.4f, test loss %.4f, test accuracy %.3f\n", seed,
               r.iterations, masks ? " (with observation masks)" : "", r.train_loss, r.test_loss, r.test_accuracy);
        printf("  %.2f ms per iteration (batch of %zu series), nfe %.0f forward, %.0f backward per iteration\n",
               r.ms_per_iter, o.batch, r.nfe_forward, r.nfe_backward);
    }
    return TOOL_OK;
}

int cmd_train(int argc, char **argv)
{
    const char *name = NULL;
    size_t seed = 0, iters = 2000, test_every = 0;
    int json = 0, quiet = 0, reg_given = 0, iters_given = 0, masks = 0, control = SPIRAL_CONTROL_NDE;
    const char *replay = NULL, *write_to = NULL;
    int rng_torch = -1;   /* -1: the default, torch's streams for spiral, nde's for regularised */
    double reg = 0;
    if (argc > 1 && strcmp(argv[1], "neural_sde") == 0) return cmd_train_nsde(argc - 1, argv + 1);  /* train_nsde.c */
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (arg_is_help(argv[i])) { train_usage(stdout); return TOOL_OK; }
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (strcmp(argv[i], "--masks") == 0) masks = 1;
        else if (strcmp(argv[i], "--seed") == 0) {
            if (!(v = arg_value("train", argc, argv, &i)) || arg_size("train", "--seed", v, &seed)) return TOOL_USAGE;
        } else if (strcmp(argv[i], "--iters") == 0) {
            if (!(v = arg_value("train", argc, argv, &i)) || arg_size("train", "--iters", v, &iters)) return TOOL_USAGE;
            iters_given = 1;
        } else if (strcmp(argv[i], "--reg") == 0) {
            if (!(v = arg_value("train", argc, argv, &i)) || arg_double("train", "--reg", v, &reg)) return TOOL_USAGE;
            if (!(reg >= 0)) { fprintf(stderr, "nde train: --reg must be >= 0, got %g\n", reg); return TOOL_USAGE; }
            reg_given = 1;
        } else if (strcmp(argv[i], "--control") == 0) {
            if (!(v = arg_value("train", argc, argv, &i))) return TOOL_USAGE;
            if (strcmp(v, "nde") == 0) control = SPIRAL_CONTROL_NDE;
            else if (strcmp(v, "torch") == 0) control = SPIRAL_CONTROL_TORCH;
            else { fprintf(stderr, "nde train: --control must be nde or torch, got '%s'\n", v); return TOOL_USAGE; }
        } else if (strcmp(argv[i], "--replay") == 0) {
            if (!(replay = arg_value("train", argc, argv, &i))) return TOOL_USAGE;
        } else if (strcmp(argv[i], "--rng") == 0) {
            if (!(v = arg_value("train", argc, argv, &i))) return TOOL_USAGE;
            if (strcmp(v, "nde") == 0) rng_torch = 0;
            else if (strcmp(v, "torch") == 0) rng_torch = 1;
            else { fprintf(stderr, "nde train: --rng must be nde or torch, got '%s'\n", v); return TOOL_USAGE; }
        } else if (strcmp(argv[i], "--write-replay") == 0) {
            if (!(write_to = arg_value("train", argc, argv, &i))) return TOOL_USAGE;
        } else if (strcmp(argv[i], "--test-every") == 0) {
            if (!(v = arg_value("train", argc, argv, &i)) || arg_size("train", "--test-every", v, &test_every))
                return TOOL_USAGE;
        } else if (argv[i][0] != '-' && !name) name = argv[i];
        else return arg_unknown("train", argv[i]);
    }
    if (!name) { train_usage(stderr); return TOOL_USAGE; }
    int cde = strcmp(name, "cde") == 0;
    if ((masks && !cde) || (reg_given && cde)) {
        fprintf(stderr, "nde train %s: %s applies to %s only\n", name, cde ? "--reg" : "--masks",
                cde ? "spiral and regularised" : "cde");
        return TOOL_USAGE;
    }
    if (cde) return train_cde_command(seed, iters_given ? iters : 100, masks, json, quiet);
    int regularised = strcmp(name, "regularised") == 0;
    if (strcmp(name, "spiral") != 0 && !regularised) {
        fprintf(stderr, "nde train: unknown run '%s' (known: spiral, regularised, cde, neural_sde; neural_sde's "
                "name goes first)\n", name);
        return TOOL_USAGE;
    }
    if (regularised && !reg_given) reg = REG_DEFAULT;
    if (rng_torch < 0) rng_torch = !regularised && !replay;
    if (regularised && (replay || test_every || write_to || rng_torch)) {
        fprintf(stderr, "nde train regularised: --replay, --write-replay, --rng and --test-every apply to spiral only\n");
        return TOOL_USAGE;
    }
    if (replay && rng_torch) {
        fprintf(stderr, "nde train spiral: --replay and --rng torch both choose the weights and batches\n");
        return TOOL_USAGE;
    }
    char err[NDE_MESSAGE_MAX] = "";
    spiral_result plain = { 0 }, r = { 0 };
    static double init[SPIRAL_N_PARAMS];
    size_t *starts = NULL, n_replay = 0;
    int rc = NDE_OK;
    if (replay) {
        rc = read_replay(replay, init, &starts, &n_replay, err, sizeof err);
        if (rc == NDE_OK && iters_given && iters > n_replay) {
            snprintf(err, sizeof err, "--iters %zu exceeds the %zu iterations of %s", iters, n_replay, replay);
            rc = NDE_EINVAL;
        }
        if (!iters_given) iters = n_replay;
    } else if (rng_torch) {   /* ode_demo's streams for seed S (spiral_rng.c) */
        spiral_torch_init(seed, init);
        if (!(starts = malloc(iters * SP_BATCH * sizeof *starts + 1))) {
            snprintf(err, sizeof err, "out of memory");
            rc = NDE_ENOMEM;
        } else
            spiral_numpy_starts(seed, iters, starts);
    }
    spiral_config cfg = { .seed = seed, .iters = iters, .reg = 0.0, .control = control, .init = replay || rng_torch ? init : NULL,
                          .starts = starts, .test_every = test_every };
    if (rc == NDE_OK && test_every &&
        (!(r.test_curve = malloc((iters / test_every + 1) * sizeof *r.test_curve)) ||
         !(r.curve = malloc((iters + 1) * sizeof *r.curve)))) {
        snprintf(err, sizeof err, "out of memory");
        rc = NDE_ENOMEM;
    }
    static double init_out[SPIRAL_N_PARAMS];
    if (rc == NDE_OK && write_to) {
        r.init_out = init_out;
        if (!(r.starts_out = malloc(iters * SP_BATCH * sizeof *r.starts_out + 1))) {
            snprintf(err, sizeof err, "out of memory");
            rc = NDE_ENOMEM;
        }
    }
    if (rc == NDE_OK && regularised) rc = train_spiral_run(&cfg, quiet ? NULL : "plain      ", &plain, err, sizeof err);
    cfg.reg = reg;
    if (rc == NDE_OK)
        rc = train_spiral_run(&cfg, quiet ? NULL : regularised ? "regularised" : "spiral", &r, err, sizeof err);
    free(starts);
    if (rc == NDE_OK && write_to) {
        char what[64];
        snprintf(what, sizeof what, "--seed %zu --iters %zu", seed, iters);
        rc = write_replay(write_to, replay ? "replayed" : what, init_out, r.starts_out, iters, err, sizeof err);
    }
    free(r.starts_out);
    if (rc != NDE_OK) {
        free(r.test_curve);
        free(r.curve);
        fprintf(stderr, "nde train %s: %s (%s)\n", name, err, nde_status_str(rc));
        return TOOL_FAIL;
    }
    if (json) {
        json_result(name, seed, reg, &r, test_every);
        if (regularised) {
            printf(", \"nfe_plain\": %zu, \"nfe_regularised\": %zu, \"test_loss_plain\": ", plain.nfe_predict,
                   r.nfe_predict);
            json_num(stdout, plain.test_loss);
            printf(", \"test_loss_regularised\": ");
            json_num(stdout, r.test_loss);
            printf(", \"nfe_ratio\": ");
            json_num(stdout, plain.nfe_predict ? (double)r.nfe_predict / (double)plain.nfe_predict : NAN);
            printf(", \"test_loss_ratio\": ");
            json_num(stdout, r.test_loss / plain.test_loss);
        }
        printf(", \"torchdiffeq\": {\"test_loss_seeds_0_1_2\": [0.169, 0.701, 0.140], \"test_loss_median_seeds_0_19\": "
               "0.343, \"ms_per_iter\": 15.4}}\n");
    } else if (regularised) {
        printf("regularised, seed %zu, %zu iterations, R_E weight %g:\n", seed, r.iterations, reg);
        printf("  plain:       test loss %.4f, prediction nfe %zu\n", plain.test_loss, plain.nfe_predict);
        printf("  regularised: test loss %.4f (%.2fx), prediction nfe %zu (%.2fx)\n", r.test_loss,
               r.test_loss / plain.test_loss, r.nfe_predict,
               plain.nfe_predict ? (double)r.nfe_predict / (double)plain.nfe_predict : 0.0);
        printf("  (issue 12's target: prediction nfe <= 0.8x the plain model's at a test loss within 1.25x)\n");
    } else {
        printf("spiral, seed %zu, %zu iterations: train loss %.4f, test loss %.4f (torchdiffeq: 0.169 / 0.701 / "
               "0.140 for seeds 0 / 1 / 2, median 0.34 over 0..19)\n", seed, r.iterations, r.train_loss, r.test_loss);
        printf("  %.3f ms per iteration (torchdiffeq 15.4 ms: %.0fx), nfe %.1f forward, %.1f backward per iteration, "
               "%zu to predict\n", r.ms_per_iter, r.ms_per_iter > 0 ? 15.4 / r.ms_per_iter : 0.0, r.nfe_forward,
               r.nfe_backward, r.nfe_predict);
    }
    free(r.test_curve);
    free(r.curve);
    return TOOL_OK;
}
