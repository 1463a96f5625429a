/* The training runs of `nde train` as functions, shared by the subcommand
 * (tools/nde/cmd_train.c), the demo's training section (tools/nde/demo_train.c) and the
 * tests (tests/test_train_cde.c). Every run is deterministic given its seed. */
#ifndef NDE_TOOL_TRAIN_H
#define NDE_TOOL_TRAIN_H
#include <stddef.h>
#include <stdint.h>

/* ---- spiral and regularised (tools/nde/cmd_train.c) ------------------------------ */

#define SPIRAL_POINTS 1000      /* the full trajectory: points on [0, 25] */
#define SPIRAL_REG_DEFAULT 0.3  /* the R_E weight of `nde train regularised` */

typedef struct spiral_result {
    size_t iterations;
    double train_loss, test_loss, ms_per_iter, nfe_forward, nfe_backward;
    size_t nfe_predict;     /* right-hand sides of the test solve (the full trajectory) */
    double *curve;          /* optional (caller's, iterations): each iteration's training loss */
    double *fit, *truth;    /* optional (caller's, 2 x SPIRAL_POINTS): the trained model's
                               trajectory from y0 and the true one, row-major (t, state) */
    double *test_curve;     /* optional (caller's, iterations / test_every): the test loss
                               after test_every, 2 test_every, ... iterations */
    double *init_out;       /* optional (caller's, SPIRAL_N_PARAMS): the initial parameters */
    size_t *starts_out;     /* optional (caller's, iterations x SPIRAL_BATCH): the window
                               starts used (what --replay reads back) */
} spiral_result;

#define SPIRAL_BATCH 20         /* windows per iteration */
#define SPIRAL_STARTS 990       /* window starts 0 .. 989 */
#define SPIRAL_N_PARAMS 252     /* the MLP 2 -> 50 -> 2: W1 (50 x 2) b1 W2 (2 x 50) b2 */

/* Step-size rules of every solve of the run (truth, training, test). */
enum {
    SPIRAL_CONTROL_NDE = 0,     /* nde's defaults: Hairer's PI control and initial step in
                                   time normalised by the span */
    SPIRAL_CONTROL_TORCH = 1    /* torchdiffeq's dopri5: I control (exponent 1/5, factor in
                                   [1, 10] after an accepted step, [0.2, 0.9] after a
                                   rejection) and its _select_initial_step in plain time */
};

typedef struct spiral_config {
    uint64_t seed;
    size_t iters;
    double reg;                 /* weight of R_E (0: plain) */
    int control;                /* SPIRAL_CONTROL_* */
    const double *init;         /* NULL: nde_mlp_init(NORMAL, 0.1, seed); else SPIRAL_N_PARAMS */
    const size_t *starts;       /* NULL: drawn from seed; else iters x SPIRAL_BATCH window
                                   starts, each < SPIRAL_STARTS (a replay of another run) */
    size_t test_every;          /* > 0: res->test_curve gets the test loss every this many
                                   iterations (outside the timed loop) */
} spiral_config;

/* The run of c (train_spiral is this with control NDE, no replay, no test curve). */
int train_spiral_run(const spiral_config *c, const char *show, spiral_result *res, char *err, size_t esz);

/* ode_demo's random streams (tools/nde/spiral_rng.c, `nde train spiral --rng torch`): the
 * initial parameters of torch.manual_seed(seed) (SPIRAL_N_PARAMS; the weights to 1-2
 * float ULPs, about 9 in 10 bit-equal) and the window starts of np.random.seed(seed)'s
 * first iters batches (iters x SPIRAL_BATCH, bit-equal). */
void spiral_torch_init(uint64_t seed, double *params);
void spiral_numpy_starts(uint64_t seed, size_t iters, size_t *starts);

/* torchdiffeq's ode_demo trained for iters iterations from seed (cmd_train.c's header
 * comment has the exact problem), with the local-error regulariser R_E of weight reg
 * added to the loss (0: plain). show: the progress bar's label on stderr, NULL for none.
 * An NDE_* status, the message in err. */
int train_spiral(uint64_t seed, size_t iters, double reg, const char *show, spiral_result *res, char *err,
                 size_t esz);

/* ---- cde: classifying irregular, partially observed spirals (tools/nde/train_cde.c) */

typedef struct cde_options {
    uint64_t seed;       /* the data set (train and test) and the initial weights */
    size_t iters;        /* Adam steps */
    size_t batch;        /* series per step, drawn without replacement */
    size_t n_train, n_test;
    size_t points;       /* observation times per series, >= 3 */
    int masks;           /* nonzero: add each value channel's cumulative observation count */
    size_t dim;          /* the CDE's hidden state z */
    size_t width;        /* hidden width of the MLPs: zeta's one layer, the field's two */
    double lr;           /* Adam's learning rate (PyTorch's other defaults) */
    const char *method;  /* the ODE method of the solves */
    double rtol, atol;   /* rtol == 0: constant steps of dt */
    double dt;
    size_t eval_every;   /* test set evaluated every this many steps (0: at the end only) */
} cde_options;

/* The defaults of `nde train cde` (train_cde.c's header comment lists them). */
void cde_options_default(cde_options *o);

/* Series i of the training set (test nonzero: of the test set) of o: its times into t
 * (o->points) and values into x (o->points x channels, NaN: missing); returns its label
 * (1 anticlockwise, 0 clockwise). o->points <= 512. */
double cde_series(const cde_options *o, int test, size_t i, double *t, double *x);

typedef struct cde_run cde_run;

/* The data set and the model of o, the model initialised from o->seed. NULL on bad
 * options or out of memory, the reason in err. */
cde_run *cde_run_create(const cde_options *o, char *err, size_t esz);
void cde_run_free(cde_run *r);   /* NULL: no-op */

size_t cde_run_channels(const cde_run *r);   /* 3 (time, x, y), 5 with masks */
/* The model's parameters as one vector: z0's MLP, the field's MLP, the readout. */
size_t cde_run_n_params(const cde_run *r);
void cde_run_get_params(const cde_run *r, double *theta);
void cde_run_set_params(cde_run *r, const double *theta);

/* What one pass over a set of series did. */
typedef struct cde_eval {
    double loss;          /* mean Bernoulli negative log-likelihood */
    size_t correct;       /* series whose logit has the sign of its label */
    size_t nfe_forward;   /* right-hand sides of the forward solves, summed */
    size_t nfe_backward;  /* VJP calls plus recomputed right-hand sides, summed */
} cde_eval;

/* The series idx[0 .. nb) of the training set (test nonzero: of the test set) through
 * the model, each solved on its own (its own steps; its result does not depend on the
 * rest of the batch); with grad (cde_run_n_params) the gradient of ev->loss,
 * through taped solves and the checkpointed adjoint. An NDE_* status, the message in
 * err. */
int cde_run_eval(cde_run *r, int test, const size_t *idx, size_t nb, cde_eval *ev, double *grad, char *err,
                 size_t esz);

typedef struct cde_result {
    size_t iterations;
    double train_loss;        /* the last step's batch */
    double test_loss, test_accuracy;
    double ms_per_iter;       /* wall time of a training step (forward, backward, Adam) */
    double nfe_forward, nfe_backward;   /* per step, summed over its batch */
    double *curve_loss;       /* optional (caller's, iters): each step's batch loss */
    double *curve_acc;        /* optional (caller's, cde_curve_points): test accuracy ... */
    size_t *curve_iter;       /* ... after this many steps (0, eval_every, ..., iters) */
    size_t n_curve;           /* entries written */
} cde_result;

/* Entries of the accuracy curve of o: the start, every eval_every steps, the end. */
size_t cde_curve_points(const cde_options *o);

/* Trains r for its options' iterations with Adam and evaluates it on the test set.
 * show: the progress bar's label on stderr, NULL for none. */
int cde_run_train(cde_run *r, const char *show, cde_result *res, char *err, size_t esz);

/* ---- neural_sde: stable neural SDEs fitted to sample paths (tools/nde/train_nsde.c) */

enum { NSDE_OU = 0, NSDE_DOUBLE_WELL = 1, NSDE_N_PROCESSES = 2 };
enum { NSDE_LANGEVIN = 0, NSDE_LINEAR = 1, NSDE_GEOMETRIC = 2, NSDE_N_CLASSES = 3 };
#define NSDE_STEPS 40           /* the model's constant steps on [0, NSDE_T1] */
#define NSDE_T1 2.0
#define NSDE_OBS_EVERY 4        /* observed times: every 4th step end, t = 0.2, 0.4, ..., 2 */
#define NSDE_OBS (NSDE_STEPS / NSDE_OBS_EVERY)

const char *nsde_process_name(int process);   /* "ou", "double_well"; NULL past the end */
const char *nsde_class_name(int cls);         /* "langevin", "linear", "geometric" */

typedef struct nsde_options {
    uint64_t seed;       /* the data, the Brownian paths and the initial weights */
    size_t iters;        /* Adam steps */
    int process, cls;    /* NSDE_OU ..., NSDE_LANGEVIN ... */
    size_t batch;        /* model paths per step (one SDE system of dimension batch) */
    size_t n_data;       /* training paths of the true process, a multiple of 512 */
    size_t n_eval;       /* fresh paths of each, model and truth, for the report, a
                            multiple of batch and of 512 */
    size_t width;        /* hidden width of the drift MLP (two layers); the diffusion
                            MLP's one layer has width / 2 */
    double lr;           /* Adam's learning rate (PyTorch's other defaults) */
} nsde_options;

/* The defaults of `nde train neural_sde` (train_nsde.c's header comment lists them). */
void nsde_options_default(nsde_options *o);

/* How far a model's marginals are from the truth's, both estimated from n_eval paths. */
typedef struct nsde_errors {
    double mean_err[NSDE_OBS], std_err[NSDE_OBS];   /* |difference| at each observed time */
    double mean_avg, std_avg;   /* their means over the observed times */
    double stat;                /* mean_avg + std_avg: the figure the slow test asserts on */
    double w1, ks;              /* Wasserstein-1 and Kolmogorov-Smirnov distances at t1 */
} nsde_errors;

typedef struct nsde_result {
    size_t iterations;
    double train_loss;          /* the last step's loss */
    double test_loss, test_loss_before;   /* the loss of n_eval model paths against n_eval
                                             fresh true paths, after and before training */
    double ms_per_iter;         /* wall time of a step (forward, loss, backward, Adam) */
    double nfe_forward, nfe_backward;   /* per step: drift + diffusion evaluations of the
                                           forward solve; evaluations and VJPs backward */
    size_t n_params;
    nsde_errors before, after;  /* the model against the truth */
    nsde_errors data;           /* the n_data training paths against the truth: the
                                   sampling floor of the fit */
    /* marginal mean and standard deviation at t_k = k NSDE_T1 / NSDE_STEPS, k = 0..NSDE_STEPS */
    double truth_mean[NSDE_STEPS + 1], truth_std[NSDE_STEPS + 1];
    double before_mean[NSDE_STEPS + 1], before_std[NSDE_STEPS + 1];
    double after_mean[NSDE_STEPS + 1], after_std[NSDE_STEPS + 1];
    double *curve;              /* optional (caller's, iters): each step's loss */
} nsde_result;

/* Generates the data of o, builds the model of o's class, evaluates it, trains it for
 * o->iters Adam steps and evaluates it again. show: the progress bar's label on stderr,
 * NULL for none. An NDE_* status, the message in err. */
int nsde_train(const nsde_options *o, const char *show, nsde_result *res, char *err, size_t esz);

/* The pieces of nsde_train, for tests and own loops: the data and the model of o (its
 * weights initialised from o->seed); NULL on bad options or out of memory, the reason
 * in err. */
typedef struct nsde_run nsde_run;
nsde_run *nsde_run_create(const nsde_options *o, char *err, size_t esz);
void nsde_run_free(nsde_run *r);   /* NULL: no-op */
/* The parameters as one vector: gamma's MLP, then sigma's. */
size_t nsde_run_n_params(const nsde_run *r);
void nsde_run_get_params(const nsde_run *r, double *theta);
void nsde_run_set_params(nsde_run *r, const double *theta);

typedef struct nsde_step {
    double loss;
    size_t nfe_forward;    /* drift and diffusion evaluations of the forward solve */
    size_t nfe_backward;   /* evaluations and VJPs of the backward pass (0 without grad) */
} nsde_step;

/* The training loss of step k: the batch of model paths along the fixed grid k mod
 * NSDE_POOL against the data; with grad (n_params) its gradient, through a taped solve
 * and the reversible adjoint (the exact gradient of the discrete solve). An NDE_* status,
 * the message in err. */
int nsde_run_step_loss(nsde_run *r, size_t k, nsde_step *st, double *grad, char *err, size_t esz);

/* `nde train neural_sde [options]` (argv[0] is "neural_sde"): returns a TOOL_* exit code. */
int cmd_train_nsde(int argc, char **argv);

/* The training loss at one observed time, and its gradient: for model samples x (m)
 * against target samples y sorted ascending (n), the energy distance
 *   2/(mn) sum_ij |x_i - y_j| - 1/m^2 sum_ii' |x_i - x_i'| - 1/n^2 sum_jj' |y_j - y_j'|
 * (Szekely & Rizzo; in 1-D twice the Cramer distance, 0 iff the empirical laws agree)
 * plus (mean x - mean y)^2 + (std x - std y)^2 (standard deviations with n - 1).
 * grad (m, may be NULL) receives d/dx_i (a subgradient where samples tie). work: m
 * doubles. m, n >= 2. */
double nsde_marginal_loss(size_t m, const double *x, size_t n, const double *y_sorted, double *grad,
                          double *work);

#endif
