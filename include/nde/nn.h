/* nde/nn.h — just enough deep learning to train neural differential equations on the
 * CPU: multilayer perceptrons on batches (forward, VJP, JVP) through CBLAS, their
 * activations and normalisations, seeded initialisation, optimisers, learning-rate
 * schedules, losses, parameter files, and the glue that makes an MLP the vector field
 * of an nde_ode with its VJP filled in.
 *
 * Example: a neural ODE y' = MLP(y) fitted to a rotation by 1 rad, 8 states, Adam.
 *
 *     size_t widths[3] = { 2, 16, 2 };
 *     nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
 *     mo.max_batch = 8;
 *     nde_mlp *net = nde_mlp_create(2, widths, &mo);     // tanh between layers
 *     nde_mlp_init(net, NDE_INIT_TORCH, 0.0, 1);         // PyTorch's Linear default, seed 1
 *     nde_mlp_field field = { net, 8, 0 };
 *     nde_ode ode;
 *     nde_mlp_field_ode(&field, &ode, NULL, 0);          // dim 16, f and vjp set
 *     nde_optim_options oo;
 *     nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
 *     oo.lr = 1e-2;
 *     nde_optim *adam = nde_optim_create(NDE_OPTIM_ADAM, ode.n_params, &oo);
 *     double y0[16], target[16], g[16], *grad = calloc(ode.n_params, sizeof *grad), loss = 0;
 *     nde_normal_fill(7, NDE_STREAM_USER_FIRST, 16, y0);
 *     for (int i = 0; i < 8; i++) {                      // target = rotation by 1 rad
 *         target[2 * i] = cos(1.0) * y0[2 * i] - sin(1.0) * y0[2 * i + 1];
 *         target[2 * i + 1] = sin(1.0) * y0[2 * i] + cos(1.0) * y0[2 * i + 1];
 *     }
 *     nde_options o = NDE_OPTIONS_INIT;
 *     o.method = nde_method_find("dopri5");
 *     o.rtol = o.atol = 1e-6;
 *     nde_tape *tape = nde_tape_create(NULL);
 *     for (int it = 0; it < 200; it++) {
 *         nde_solution sol;
 *         if (nde_ode_solve_taped(&ode, 0.0, 1.0, y0, &o, tape, &sol) != NDE_OK) break;
 *         nde_loss_mse(16, sol.y, target, &loss, g);    // loss and dloss/dy(1)
 *         nde_solution_free(&sol);
 *         if (nde_ode_backward(tape, g, NULL, grad) != NDE_OK) break;
 *         nde_optim_step(adam, nde_mlp_params(net), grad);
 *     }
 *     printf("mse after 200 Adam steps: %.2e\n", loss);  // about 1e-3
 *     nde_tape_free(tape);
 *     nde_optim_free(adam);
 *     nde_mlp_free(net);
 *     free(grad);
 *
 * (MLP 2 -> 16 -> 2 tanh; the batch is solved as one system of dimension 16; the
 * gradient comes from the checkpointed adjoint of nde/adjoint.h.)
 *
 * Shapes. Every batched array is row-major, batch x features: row r of x is sample r.
 * An MLP with n_layers dense layers and widths w[0..n_layers] maps x (batch x w[0]) to
 * y (batch x w[n_layers]):
 *     h_0 = x,  z_l = h_{l-1} W_l^T + b_l  (W_l is w[l] x w[l-1], PyTorch's nn.Linear),
 *     h_l = act(norm(z_l)) for the hidden layers l < n_layers,
 *     y   = out_act(z_L).
 * norm is none, RMSNorm (Zhang & Sennrich 2019: n_i = g_i z_i / sqrt(mean_j z_j^2 +
 * eps)) or LayerNorm (Ba, Kiros & Hinton 2016: n_i = g_i (z_i - mu) / sqrt(var + eps)
 * + c_i, var the biased variance), both over the features of one row.
 *
 * Parameters. One flat double vector, owned by the MLP (nde_mlp_params), layer after
 * layer: W_l (w[l] x w[l-1], row-major), b_l (w[l]), then for hidden layers with a norm
 * its gain g_l (w[l]) and, for LayerNorm, its bias c_l (w[l]). For 2 -> 50 -> 2 that is
 * W1 (100) b1 (50) W2 (100) b2 (2): 252 doubles. An optimiser updates that vector in
 * place; the MLP reads it on every call, so a change is seen by the next call.
 *
 * Gradients. nde_mlp_vjp writes (does not accumulate) g^T dy/dx and g^T dy/dtheta summed
 * over the batch; nde_mlp_jvp gives y and J dx. Both need the forward activations at x:
 * a callback of the adjoint gets states, not a tape, so the MLP keeps the activations
 * of its last `cache` forward passes, each with a copy of its input, and reuses a pass
 * whose input (batch and every bit of x) and parameters (every bit) are those of the
 * call, recomputing otherwise: the result is the same bits either way. The
 * checkpointed adjoint of nde/adjoint.h recomputes a step's stages and then runs their
 * VJPs in reverse, so cache = the method's stages + 1 (8 for dopri5 and tsit5) lets
 * every VJP reuse its stage's forward pass; a cache larger than the forward solve's NFE
 * (15 or more for bench_train's 14-evaluation dopri5 solve, measured) keeps every pass
 * of the forward solve, so the backward pass's recomputed stages are found there too and a
 * training step does no more model work than the forward NFE plus one VJP per stage
 * (bench_train's "ckpt keep" row), at the memory of those passes. The check
 * costs a compare of the parameters and of the input, small against a pass. Each call uses the MLP's own
 * workspace, sized at create for max_batch rows and cache passes: no call allocates,
 * and one MLP is not to be used from two threads at once.
 *
 * Batches in a solve. nde_mlp_field solves `batch` states as ONE system of dimension
 * batch x state: the steps, the error norm (an RMS over the whole batch) and the
 * accepted step sequence are shared, as in torchdiffeq, and each right-hand side or
 * VJP is one matrix product per layer. A sample's result then depends, through the
 * shared steps, on the rest of the batch (to the solver's tolerance). Independent
 * trajectories, each with its own steps (a result that does not depend on the rest of
 * the batch), are separate solves of a field with batch = 1, one per sample (the same
 * MLP serves both: max_batch bounds batch). An SDE's drift and diffusion are two such
 * fields over two MLPs: nde_mlp_field_rhs and nde_mlp_field_vjp have the nde_rhs and
 * nde_vjp signatures and take the field as `user`.
 */
#ifndef NDE_NN_H
#define NDE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "ode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations and normalisations -------------------------------------------- */

/* 0 in an options field means that field's default. */
enum {
    NDE_ACT_IDENTITY = 1,
    NDE_ACT_TANH = 2,
    NDE_ACT_RELU = 3,       /* max(0, x); derivative 0 at 0 (PyTorch) */
    NDE_ACT_SOFTPLUS = 4,   /* log(1 + e^x), evaluated without overflow */
    NDE_ACT_SILU = 5,       /* x sigmoid(x) */
    NDE_ACT_LIPSWISH = 6    /* 0.909 x sigmoid(x): SiLU scaled to Lipschitz constant <= 1
                               (Chen et al. 2019, residual flows, with beta = 1; the
                               constant of Kidger et al.'s neural SDE code) */
};
#define NDE_LIPSWISH_SCALE 0.909

enum { NDE_NORM_NONE = 0, NDE_NORM_RMS = 1, NDE_NORM_LAYER = 2 };
/* norm_eps == 0 means this (PyTorch's nn.LayerNorm and nn.RMSNorm default). */
#define NDE_NORM_EPS_DEFAULT 1e-5

/* y = act(x) and, when dydx is not NULL, dydx = act'(x), elementwise over n entries
 * (y or dydx may be NULL; y may alias x). NDE_OK or NDE_EINVAL (unknown act, x NULL
 * with n > 0). alloc: none · thread: safe */
NDE_API int nde_activation(int act, size_t n, const double *x, double *y, double *dydx);
/* The name of an activation ("tanh"), or NULL if unknown. */
NDE_API const char *nde_activation_name(int act);

/* Normalises each of the rows x (rows x n) into y (may alias x): kind NDE_NORM_RMS or
 * NDE_NORM_LAYER as in the overview, gain g (n), bias c (n; LayerNorm only, NULL: 0),
 * eps > 0. NDE_OK or NDE_EINVAL. alloc: none · thread: safe */
NDE_API int nde_norm_forward(int kind, size_t rows, size_t n, double eps, const double *g,
                             const double *c, const double *x, double *y);
/* The VJP of nde_norm_forward at x for the cotangent gy (rows x n): gx (rows x n, may
 * be NULL) = gy^T dy/dx per row; gg and gc (n each, may be NULL; gc ignored for RMS)
 * the gradients of gain and bias summed over the rows. Written, not accumulated.
 * NDE_OK or NDE_EINVAL. alloc: none · thread: safe */
NDE_API int nde_norm_vjp(int kind, size_t rows, size_t n, double eps, const double *g,
                         const double *x, const double *gy, double *gx, double *gg, double *gc);
/* The JVP: dy (rows x n) = (dy/dx) dx per row. NDE_OK or NDE_EINVAL. alloc: none */
NDE_API int nde_norm_jvp(int kind, size_t rows, size_t n, double eps, const double *g,
                         const double *x, const double *dx, double *dy);

/* ---- the MLP ------------------------------------------------------------------- */

typedef struct nde_mlp nde_mlp;

typedef struct nde_mlp_options {   /* NDE_MLP_OPTIONS_INIT; zero fields mean defaults */
    int activation;        /* after each hidden layer; 0: NDE_ACT_TANH */
    int out_activation;    /* after the last layer; 0: NDE_ACT_IDENTITY */
    int norm;              /* before each hidden activation; default NDE_NORM_NONE */
    double norm_eps;       /* > 0; 0: NDE_NORM_EPS_DEFAULT */
    size_t max_batch;      /* most rows one call may take (workspace size); 0: 1 */
    size_t cache;          /* forward passes whose activations are kept (Gradients, above); 0: 1 */
    const nde_allocator *allocator;   /* NULL: malloc/free */
    char *errbuf; size_t errbuf_size; /* optional: the message of a failed create */
} nde_mlp_options;
#define NDE_MLP_OPTIONS_INIT { 0, 0, NDE_NORM_NONE, 0.0, 0, 0, NULL, NULL, 0 }

/* An MLP of n_layers >= 1 dense layers with widths[0..n_layers] (each >= 1); opts NULL:
 * defaults. Its parameters are zero until nde_mlp_init or nde_mlp_load (norm gains 1).
 * NULL on bad options or sizes (message in opts->errbuf) or out of memory.
 * alloc: create (parameters and the workspace of max_batch rows) · thread: one MLP per thread */
NDE_API nde_mlp *nde_mlp_create(size_t n_layers, const size_t *widths, const nde_mlp_options *opts);
NDE_API void nde_mlp_free(nde_mlp *m);     /* NULL is a no-op */

NDE_API size_t nde_mlp_n_params(const nde_mlp *m);
NDE_API size_t nde_mlp_n_layers(const nde_mlp *m);
NDE_API size_t nde_mlp_width(const nde_mlp *m, size_t l);   /* widths[l]; 0 past the end */
NDE_API size_t nde_mlp_max_batch(const nde_mlp *m);
/* The flat parameter vector (layout in the overview): read and write it freely between
 * calls. */
NDE_API double *nde_mlp_params(nde_mlp *m);
/* Offset in the parameter vector of layer l's (1-based) weight W_l. */
NDE_API size_t nde_mlp_weight_offset(const nde_mlp *m, size_t l);

/* Initialisation schemes. Every parameter k of the flat vector is a pure function of
 * (seed, k): uniform or normal draw k of stream NDE_STREAM_NN_INIT (nde/random.h).
 *   NDE_INIT_TORCH   W_l and b_l ~ U(-1/sqrt(w[l-1]), 1/sqrt(w[l-1])), PyTorch's
 *                    nn.Linear default (kaiming_uniform with a = sqrt 5); sigma unused
 *   NDE_INIT_NORMAL  W_l ~ N(0, sigma^2), b_l = 0 (torchdiffeq's ode_demo: sigma 0.1)
 * Norm gains are set to 1 and norm biases to 0. */
enum { NDE_INIT_TORCH = 1, NDE_INIT_NORMAL = 2 };
/* NDE_OK or NDE_EINVAL (unknown scheme, sigma < 0 or not finite; parameters untouched).
 * alloc: none · thread: one MLP per thread */
NDE_API int nde_mlp_init(nde_mlp *m, int scheme, double sigma, uint64_t seed);

/* y (batch x w[L]) = MLP(x) for x (batch x w[0]), 1 <= batch <= max_batch. NDE_OK,
 * NDE_EINVAL (NULL, batch out of range; y untouched). alloc: none · thread: one MLP per thread */
NDE_API int nde_mlp_forward(nde_mlp *m, size_t batch, const double *x, double *y);
/* The VJP at x for the cotangent gy (batch x w[L]): gx (batch x w[0]) = gy^T dy/dx
 * row by row, gtheta (n_params) = sum over rows of gy^T dy/dtheta. Either output may
 * be NULL; both are written, not accumulated. Reuses a cached forward pass at x, or
 * computes it.
 * NDE_OK or NDE_EINVAL (outputs untouched). alloc: none · thread: one MLP per thread */
NDE_API int nde_mlp_vjp(nde_mlp *m, size_t batch, const double *x, const double *gy,
                        double *gx, double *gtheta);
/* The JVP at x along dx (batch x w[0]): y = MLP(x) (may be NULL) and dy = (dy/dx) dx
 * (batch x w[L]). NDE_OK or NDE_EINVAL. alloc: none · thread: one MLP per thread */
NDE_API int nde_mlp_jvp(nde_mlp *m, size_t batch, const double *x, const double *dx,
                        double *y, double *dy);

/* Multiply-adds of one forward pass of one row (sum of w[l-1] w[l]), for FLOP counts. */
NDE_API size_t nde_mlp_macs(const nde_mlp *m);

/* ---- parameter files ------------------------------------------------------------
 * A text file of named blocks. A block is a line "NAME ROWS COLS" followed by ROWS x
 * COLS numbers (by convention one row per line), written with 17 significant digits, so
 * that a save and a load give back the same bits. Lines starting with '#' and blank
 * lines between blocks are comments. An MLP's blocks, in order, are W1 b1 [g1 [c1]] W2
 * b2 ... named after the layer (1-based), a weight w[l] x w[l-1], a bias, gain and norm
 * bias 1 x w[l]; a file may hold other blocks too (data/mlp_2_64_64_2.txt holds y0 and
 * y1_ref after the weights), which the MLP's load skips. */

/* Writes the MLP's parameters to path (replacing it), after a comment line with the
 * widths and activations: into "<path>.tmp", renamed over path once complete, so a
 * failed save leaves an existing file as it was. NDE_OK, NDE_EINVAL (cannot write;
 * message in errbuf).
 * alloc: none · thread: one MLP per thread */
NDE_API int nde_mlp_save(const nde_mlp *m, const char *path, char *errbuf, size_t errbuf_size);
/* Reads every parameter block of the MLP from path by name, each with the shape it must
 * have. NDE_OK; NDE_EINVAL (no file, a missing block, a wrong shape, a bad or missing
 * number; message in errbuf) and NDE_ENOMEM leave the parameters untouched.
 * alloc: a staging copy of the parameters during the call · thread: one MLP per thread */
NDE_API int nde_mlp_load(nde_mlp *m, const char *path, char *errbuf, size_t errbuf_size);
/* Reads the block NAME (rows x cols) from path into dst (rows x cols, row-major).
 * NDE_OK, NDE_EINVAL (not found, other shape, bad number; dst untouched).
 * alloc: a staging copy of the block during the call · thread: safe */
NDE_API int nde_block_read(const char *path, const char *name, size_t rows, size_t cols,
                           double *dst, char *errbuf, size_t errbuf_size);

/* ---- an MLP as the vector field of an ODE ------------------------------------- */

/* The field y' = MLP(y) (or MLP(y, t) with time_dependent: t appended to every row as
 * the last input, so widths[0] = state + 1) on `batch` states of state = w[L] entries
 * each, solved as one system (see the overview). The caller owns it; it must outlive
 * the solves that use it. */
typedef struct nde_mlp_field {
    nde_mlp *mlp;
    size_t batch;          /* 1 <= batch <= max_batch */
    int time_dependent;    /* nonzero: t is an input */
} nde_mlp_field;

/* Fills ode (every field: dim = batch x state, f = nde_mlp_field_rhs, vjp =
 * nde_mlp_field_vjp, n_params = the MLP's, user = field, no jac, mass or f_explicit).
 * NDE_OK or NDE_EINVAL (NULL, batch out of range, widths[0] not state (+1); ode
 * untouched, message in errbuf). alloc: none */
NDE_API int nde_mlp_field_ode(nde_mlp_field *field, nde_ode *ode, char *errbuf, size_t errbuf_size);
/* dy = MLP(y [, t]), the nde_rhs of the field (user = the field). 0 or -1 (bad field). */
NDE_API int nde_mlp_field_rhs(double t, const double *y, double *dy, void *user);
/* a^T df/dy (batch x state) and a^T df/dtheta (n_params), the nde_vjp of the field:
 * written, not accumulated; either may be NULL. 0 or -1. */
NDE_API int nde_mlp_field_vjp(double t, const double *y, const double *a, double *a_y,
                              double *a_theta, void *user);

/* ---- losses ---------------------------------------------------------------------
 * Means over the n entries; grad (n, may be NULL) receives d loss / d pred. NDE_OK or
 * NDE_EINVAL (n == 0, a NULL input). alloc: none · thread: safe */

/* mean (pred - target)^2 */
NDE_API int nde_loss_mse(size_t n, const double *pred, const double *target, double *loss, double *grad);
/* mean |pred - target|; its gradient sign(pred - target) / n, 0 where they are equal */
NDE_API int nde_loss_l1(size_t n, const double *pred, const double *target, double *loss, double *grad);
/* Gaussian negative log-likelihood of x under N(mean, exp(log_sigma)^2), per entry:
 * log(2 pi)/2 + log_sigma + (x - mean)^2 exp(-2 log_sigma) / 2, averaged;
 * gmean and glog_sigma (n each, may be NULL) its gradients. */
NDE_API int nde_loss_gaussian_nll(size_t n, const double *mean, const double *log_sigma, const double *x,
                                  double *loss, double *gmean, double *glog_sigma);
/* Bernoulli negative log-likelihood of x in [0, 1] under the logits l, per entry
 * softplus(l) - x l (log(1 + e^l) without overflow; PyTorch's
 * binary_cross_entropy_with_logits), averaged; glogit = (sigmoid(l) - x) / n. */
NDE_API int nde_loss_bernoulli_nll(size_t n, const double *logit, const double *x,
                                   double *loss, double *glogit);

/* ---- optimisers -----------------------------------------------------------------
 * PyTorch's update rules (torch.optim, 2.x documentation), t the step count from 1,
 * g the gradient plus weight_decay x params (except AdamW):
 *   SGD      b = g (t = 1), else b = momentum b + (1 - dampening) g;
 *            g = nesterov ? g + momentum b : b (momentum > 0);  x -= lr g
 *   Adam     m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
 *            x -= (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *   AdamW    x *= 1 - lr weight_decay, then Adam without the decay in g
 *   RMSprop  v = alpha v + (1 - alpha) g^2; (centered: a = alpha a + (1 - alpha) g,
 *            v~ = max(v - a^2, 0), else v~ = v); d = sqrt(v~) + eps (eps outside the
 *            root; the max only where rounding takes v - a^2 below 0, NaN in PyTorch);
 *            momentum > 0: b = momentum b + g / d, x -= lr b; else x -= lr g / d
 * Defaults (nde_optim_defaults): lr 1e-3 (SGD 1e-3 too: PyTorch has none; RMSprop
 * 1e-2), betas 0.9 / 0.999, eps 1e-8, weight_decay 0 (AdamW 1e-2), momentum 0,
 * dampening 0, nesterov 0, alpha 0.99, centered 0. */
enum { NDE_OPTIM_SGD = 1, NDE_OPTIM_ADAM = 2, NDE_OPTIM_ADAMW = 3, NDE_OPTIM_RMSPROP = 4 };

/* Every field is used as given (0 is a meaningful beta, momentum or decay): start
 * from nde_optim_defaults. */
typedef struct nde_optim_options {
    double lr;
    double beta1, beta2;       /* Adam, AdamW; in [0, 1) */
    double eps;                /* Adam, AdamW, RMSprop; >= 0 */
    double weight_decay;       /* >= 0 */
    double momentum;           /* SGD, RMSprop; >= 0 */
    double dampening;          /* SGD */
    int nesterov;              /* SGD: needs momentum > 0 and dampening 0 (as PyTorch) */
    double alpha;              /* RMSprop smoothing; in [0, 1) */
    int centered;              /* RMSprop */
    const nde_allocator *allocator;   /* the state's memory; NULL: malloc/free */
    char *errbuf; size_t errbuf_size; /* optional: the message of a failed create */
} nde_optim_options;

/* PyTorch's defaults for kind into *o (allocator and errbuf NULL). NDE_OK or NDE_EINVAL. */
NDE_API int nde_optim_defaults(int kind, nde_optim_options *o);

typedef struct nde_optim nde_optim;
/* An optimiser of kind for n parameters, its state (moments, buffers) zero; opts NULL:
 * the defaults. NULL on bad options (message in opts->errbuf) or out of memory.
 * alloc: create · thread: one optimiser per thread */
NDE_API nde_optim *nde_optim_create(int kind, size_t n, const nde_optim_options *opts);
/* One update of x (n) from grad (n), at the current learning rate. NDE_OK or
 * NDE_EINVAL (NULL; a non-finite gradient entry: nothing updated). alloc: none */
NDE_API int nde_optim_step(nde_optim *o, double *x, const double *grad);
/* The learning rate of the next steps (from a schedule); NDE_EINVAL if < 0 or not finite. */
NDE_API int nde_optim_set_lr(nde_optim *o, double lr);
NDE_API double nde_optim_lr(const nde_optim *o);
NDE_API size_t nde_optim_steps(const nde_optim *o);   /* steps taken (t) */
NDE_API void nde_optim_reset(nde_optim *o);           /* state and step count back to 0 */
NDE_API void nde_optim_free(nde_optim *o);            /* NULL is a no-op */

/* ---- learning-rate schedules (pure functions of the step) ---------------------- */

/* PyTorch's CosineAnnealingLR in its closed form: lr_min + (lr_max - lr_min)(1 + cos(pi
 * t / t_max)) / 2 (lr_min at t = t_max; past t_max the cosine goes on, as PyTorch's
 * closed form does); t_max 0: lr_max. */
NDE_API double nde_lr_cosine(double lr_max, double lr_min, size_t t, size_t t_max);
/* PyTorch's CosineAnnealingWarmRestarts (Loshchilov & Hutter 2017, SGDR): periods
 * t_0, t_0 t_mult, t_0 t_mult^2, ... (t_mult >= 1); within a period, at t_cur steps
 * from its start of t_i, lr_min + (lr_max - lr_min)(1 + cos(pi t_cur / t_i)) / 2.
 * t_0 0: lr_max. */
NDE_API double nde_lr_warm_restarts(double lr_max, double lr_min, size_t t, size_t t_0, size_t t_mult);

#ifdef __cplusplus
}
#endif
#endif /* NDE_NN_H */
