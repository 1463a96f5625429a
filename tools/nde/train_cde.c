/* nde train cde: a neural CDE classifying irregularly sampled, partially observed
 * spirals as clockwise or anticlockwise (Kidger et al. 2020, "Neural Controlled
 * Differential Equations for Irregular Time Series", §4 and torchcde's
 * time_series_classification example), on nde/cde.h and nde/nn.h.
 *
 * Data. Series i of a set is a pure function of (seed, set, i): label s in {0, 1}
 * (1: anticlockwise), phase phi ~ U(0, 2 pi), radius r ~ U(0.5, 1.5); `points`
 * observation times on [0, 1], t_0 = 0, t_{n-1} = 1 and the others jittered,
 * t_k = (k - 1/2 + u_k) / (n - 1) with u_k ~ U(0, 1), so the gaps range over
 * (0, 2 / (n - 1)); values
 *     x(t) = r cos(theta) / (1 + 2 t) + 0.05 e1,  y(t) = r sin(theta) / (1 + 2 t) + 0.05 e2,
 *     theta = phi +- 4 pi t (two turns, + for anticlockwise), e ~ N(0, 1);
 * then each of x and y is dropped (NaN) at each time with probability 0.3,
 * independently (a channel that lost every point keeps its first one). Channels: the
 * observation time itself (never missing, as Kidger et al.), x, y, and with masks the
 * cumulative observation counts of x and y divided by n - 1. Uniforms come from stream
 * NDE_STREAM_USER_FIRST + 20 + 2 set, normals from the next stream (set 0 train, 1
 * test), at offsets i times the per-series count. The control path X of a series is
 * the backward Hermite cubic (NDE_PATH_HERMITE: C1 and causal; each channel through its
 * own observations, constant before the first and after the last).
 *
 * Model (Kidger et al.'s shape): z0 = zeta(X(t_0)), zeta an MLP channels -> width -> dim
 * tanh; dz = f(z) dX with f an MLP dim -> width -> width -> dim x channels, tanh hidden
 * (smooth, so that the adaptive solver is not stopped by ReLU kinks; the paper uses
 * ReLU) and tanh on the output as in the paper; the logit a linear readout of z(1);
 * loss the mean Bernoulli negative log-likelihood (nde_loss_bernoulli_nll); Adam
 * (PyTorch's defaults but lr). Initial weights: PyTorch's Linear default
 * (NDE_INIT_TORCH) with seeds 3 seed, 3 seed + 1, 3 seed + 2 for zeta, f, readout.
 *
 * Batch semantics: independent solves. Every series has its own irregular times, and
 * an nde_cde is driven by one path; a batch solved as one system would need one path
 * of batch x channels channels over the union of all the series' times (a NaN
 * wherever a series has no observation) and a block-diagonal field of batch^2 x dim x
 * channels entries, almost all zero, with steps shared over every series' features.
 * Instead each series is its own CDE (an nde_cde_ode view over its path, made once),
 * solved with its own adaptive steps by nde_ode_solve_taped and differentiated at once
 * by nde_ode_backward (the checkpointed adjoint); the batch's gradient is the mean of
 * the series' gradients. A series' loss and gradient do not depend on the rest of
 * its batch (tests/test_train_cde.c checks it), and the field's MLP runs on one row.
 *
 * Defaults (cde_options_default): 40 points, 512 training and 256 test series, batch
 * 32, 100 steps of Adam at lr 1e-2, dim 8, width 32, dopri5 at rtol 1e-3, atol 1e-5,
 * no masks, the test set evaluated every 5 steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"
#include "train.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define CDE_MISSING 0.3      /* probability that a value is dropped */
#define CDE_NOISE 0.05       /* standard deviation of the observation noise */
#define CDE_TURNS 2.0
#define CDE_MAX_CHANNELS 5

void cde_options_default(cde_options *o)
{
    *o = (cde_options){ .seed = 0, .iters = 100, .batch = 32, .n_train = 512, .n_test = 256, .points = 40,
                        .masks = 0, .dim = 8, .width = 32, .lr = 1e-2, .method = "dopri5", .rtol = 1e-3,
                        .atol = 1e-5, .dt = 0.0, .eval_every = 5 };
}

typedef struct cde_set {
    size_t n;
    double *label;          /* n */
    nde_path **path;        /* n */
    nde_cde *cde;           /* n: each series' CDE over its path, the field shared */
    nde_cde_ode **view;     /* n */
} cde_set;

struct cde_run {
    cde_options o;
    size_t channels;
    nde_mlp *zeta, *field, *readout;
    size_t n_zeta, n_field, n_readout;
    cde_set set[2];          /* train, test */
    nde_options solve;       /* the solves' options */
    nde_tape *tape;
    double *theta, *grad, *g_tmp;   /* n_params each */
    size_t *perm;            /* n_train */
    double *z, *gz;          /* scratch: z0 and z(1), their cotangents, x0 (4 dim + channels) */
};

static int field_f(double t, const double *z, double *F, void *user)
{
    (void)t;
    const cde_run *r = user;
    return nde_mlp_forward(r->field, 1, z, F) == NDE_OK ? 0 : -1;
}

static int field_vjp(double t, const double *z, const double *A, double *a_z, double *a_theta, void *user)
{
    (void)t;
    const cde_run *r = user;
    return nde_mlp_vjp(r->field, 1, z, A, a_z, a_theta) == NDE_OK ? 0 : -1;
}

/* (tools/nde/train.h) */
double cde_series(const cde_options *o, int which, size_t i, double *t, double *x)
{
    size_t channels = o->masks ? CDE_MAX_CHANNELS : 3;
    size_t n = o->points, nu = 3 + 3 * n;   /* label, phase, radius; jitter, two drop draws */
    double u[3 + 3 * 512], e[2 * 512];      /* points <= 512 (cde_run_create checks) */
    uint64_t stream = NDE_STREAM_USER_FIRST + 20 + 2 * (uint64_t)which;
    nde_uniform_fill_at(o->seed, stream, (uint64_t)i * nu, nu, u);
    nde_normal_fill_at(o->seed, stream + 1, (uint64_t)i * 2 * n, 2 * n, e);
    double label = u[0] < 0.5 ? 0.0 : 1.0, sign = label > 0 ? 1.0 : -1.0;
    double phi = 2 * M_PI * u[1], r = 0.5 + u[2];
    const double *jitter = u + 3, *drop = u + 3 + n;
    size_t seen[2] = { 0, 0 };
    for (size_t k = 0; k < n; k++) {
        t[k] = k == 0 ? 0.0 : k == n - 1 ? 1.0 : ((double)k - 0.5 + jitter[k]) / (double)(n - 1);
        double th = phi + sign * 2 * M_PI * CDE_TURNS * t[k], rho = r / (1 + 2 * t[k]);
        double *row = x + k * channels;
        row[0] = t[k];
        row[1] = rho * cos(th) + CDE_NOISE * e[2 * k];
        row[2] = rho * sin(th) + CDE_NOISE * e[2 * k + 1];
        for (int c = 0; c < 2; c++) {
            if (drop[2 * k + (size_t)c] < CDE_MISSING) row[1 + c] = NAN;
            else seen[c]++;
        }
    }
    for (int c = 0; c < 2; c++)   /* a channel without any observation keeps its first */
        if (seen[c] == 0) {
            double th = phi, rho = r;
            x[1 + (size_t)c] = rho * (c ? sin(th) : cos(th)) + CDE_NOISE * e[c];
        }
    if (channels == CDE_MAX_CHANNELS) {
        double count[2] = { 0, 0 };
        for (size_t k = 0; k < n; k++) {
            double *row = x + k * channels;
            for (int c = 0; c < 2; c++) {
                if (!isnan(row[1 + c])) count[c] += 1;
                row[3 + c] = count[c] / (double)(n - 1);
            }
        }
    }
    return label;
}

static void set_free(cde_set *s)
{
    for (size_t i = 0; s->path && i < s->n; i++) {
        nde_cde_ode_free(s->view[i]);
        nde_path_free(s->path[i]);
    }
    free(s->label);
    free(s->path);
    free(s->cde);
    free(s->view);
}

static int set_create(cde_run *r, int which, size_t n, double *t, double *x, char *err, size_t esz)
{
    cde_set *s = &r->set[which];
    s->n = n;
    s->label = calloc(n, sizeof *s->label);
    s->path = calloc(n, sizeof *s->path);
    s->cde = calloc(n, sizeof *s->cde);
    s->view = calloc(n, sizeof *s->view);
    if (!s->label || !s->path || !s->cde || !s->view) {
        snprintf(err, esz, "out of memory (%zu series)", n);
        return NDE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        s->label[i] = cde_series(&r->o, which, i, t, x);
        char e[NDE_MESSAGE_MAX];
        s->path[i] = nde_path_create(r->o.points, r->channels, t, x, NDE_PATH_HERMITE, NULL, e, sizeof e);
        if (!s->path[i]) {
            snprintf(err, esz, "%s series %zu: %s", which ? "test" : "training", i, e);
            return NDE_EINVAL;
        }
        s->cde[i] = (nde_cde){ .dim = r->o.dim, .path = s->path[i], .field = field_f, .field_vjp = field_vjp,
                               .n_params = r->n_field, .user = r };
        s->view[i] = nde_cde_ode_create(&s->cde[i], NULL, e, sizeof e);
        if (!s->view[i]) {
            snprintf(err, esz, "%s series %zu: %s", which ? "test" : "training", i, e);
            return NDE_ENOMEM;
        }
    }
    return NDE_OK;
}

static nde_mlp *make_mlp(size_t n_layers, const size_t *widths, int out_act, size_t cache, uint64_t seed,
                         char *err, size_t esz)
{
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.activation = NDE_ACT_TANH;
    mo.out_activation = out_act;
    mo.cache = cache;
    mo.errbuf = err;
    mo.errbuf_size = esz;
    nde_mlp *m = nde_mlp_create(n_layers, widths, &mo);
    if (m) nde_mlp_init(m, NDE_INIT_TORCH, 0.0, seed);
    return m;
}

cde_run *cde_run_create(const cde_options *o, char *err, size_t esz)
{
    err[0] = '\0';
    if (o->points < 3 || o->points > 512 || o->n_train == 0 || o->n_test == 0 || o->batch == 0 ||
        o->batch > o->n_train || o->dim == 0 || o->width == 0 || !(o->lr > 0)) {
        snprintf(err, esz, "bad options: points %zu (3..512), n_train %zu, n_test %zu, batch %zu (1..n_train), "
                 "dim %zu, width %zu, lr %g (all > 0)", o->points, o->n_train, o->n_test, o->batch, o->dim,
                 o->width, o->lr);
        return NULL;
    }
    const nde_method *method = nde_method_find(o->method);
    if (!method) {
        snprintf(err, esz, "unknown method '%s'", o->method ? o->method : "(null)");
        return NULL;
    }
    cde_run *r = calloc(1, sizeof *r);
    if (!r) { snprintf(err, esz, "out of memory"); return NULL; }
    r->o = *o;
    r->channels = o->masks ? CDE_MAX_CHANNELS : 3;
    size_t C = r->channels, D = o->dim;
    size_t wz[3] = { C, o->width, D }, wf[4] = { D, o->width, o->width, D * C }, wr[2] = { D, 1 };
    r->zeta = make_mlp(2, wz, NDE_ACT_IDENTITY, 1, 3 * o->seed, err, esz);
    /* cache 8: dopri5's 7 stages + 1, so that every VJP of the backward pass reuses its
     * stage's forward pass (nde/nn.h) */
    r->field = r->zeta ? make_mlp(3, wf, NDE_ACT_TANH, 8, 3 * o->seed + 1, err, esz) : NULL;
    r->readout = r->field ? make_mlp(1, wr, NDE_ACT_IDENTITY, 1, 3 * o->seed + 2, err, esz) : NULL;
    if (!r->readout) goto fail;
    r->n_zeta = nde_mlp_n_params(r->zeta);
    r->n_field = nde_mlp_n_params(r->field);
    r->n_readout = nde_mlp_n_params(r->readout);
    size_t np = cde_run_n_params(r);
    r->theta = calloc(3 * np, sizeof *r->theta);
    r->perm = calloc(o->n_train, sizeof *r->perm);
    r->z = calloc(4 * D + C, sizeof *r->z);
    double *t = calloc(o->points, sizeof *t), *x = calloc(o->points * C, sizeof *x);
    r->tape = nde_tape_create(NULL);   /* checkpointed, defaults */
    int rc = r->theta && r->perm && r->z && t && x && r->tape ? NDE_OK : NDE_ENOMEM;
    if (rc != NDE_OK) snprintf(err, esz, "out of memory");
    if (rc == NDE_OK) rc = set_create(r, 0, o->n_train, t, x, err, esz);
    if (rc == NDE_OK) rc = set_create(r, 1, o->n_test, t, x, err, esz);
    free(t);
    free(x);
    if (rc != NDE_OK) goto fail;
    r->grad = r->theta + np;
    r->g_tmp = r->theta + 2 * np;
    r->gz = r->z + 2 * D;
    cde_run_get_params(r, r->theta);
    r->solve = (nde_options)NDE_OPTIONS_INIT;
    r->solve.method = method;
    r->solve.rtol = o->rtol;
    r->solve.atol = o->atol;
    r->solve.dt0 = o->dt;
    return r;
fail:
    cde_run_free(r);
    return NULL;
}

void cde_run_free(cde_run *r)
{
    if (!r) return;
    set_free(&r->set[0]);
    set_free(&r->set[1]);
    nde_tape_free(r->tape);
    nde_mlp_free(r->zeta);
    nde_mlp_free(r->field);
    nde_mlp_free(r->readout);
    free(r->theta);
    free(r->perm);
    free(r->z);
    free(r);
}

size_t cde_run_channels(const cde_run *r) { return r->channels; }
size_t cde_run_n_params(const cde_run *r) { return r->n_zeta + r->n_field + r->n_readout; }

void cde_run_get_params(const cde_run *r, double *theta)
{
    memcpy(theta, nde_mlp_params(r->zeta), r->n_zeta * sizeof *theta);
    memcpy(theta + r->n_zeta, nde_mlp_params(r->field), r->n_field * sizeof *theta);
    memcpy(theta + r->n_zeta + r->n_field, nde_mlp_params(r->readout), r->n_readout * sizeof *theta);
}

void cde_run_set_params(cde_run *r, const double *theta)
{
    memcpy(nde_mlp_params(r->zeta), theta, r->n_zeta * sizeof *theta);
    memcpy(nde_mlp_params(r->field), theta + r->n_zeta, r->n_field * sizeof *theta);
    memcpy(nde_mlp_params(r->readout), theta + r->n_zeta + r->n_field, r->n_readout * sizeof *theta);
}

/* Series i of set s: its loss, logit, work; with grad, its gradient times `scale`
 * added to grad. */
static int eval_series(cde_run *r, const cde_set *s, size_t i, double scale, cde_eval *ev, double *grad, char *err,
                       size_t esz)
{
    size_t D = r->o.dim;
    double *z0 = r->z, *zT = r->z + D, *gz0 = r->gz, *gzT = r->gz + D, *x0 = r->z + 4 * D;
    const nde_path *p = s->path[i];
    int rc = nde_path_eval(p, nde_path_t0(p), x0, NULL);
    if (rc == NDE_OK) rc = nde_mlp_forward(r->zeta, 1, x0, z0);
    if (rc != NDE_OK) { snprintf(err, esz, "series %zu: z0: %s", i, nde_status_str(rc)); return rc; }
    const nde_ode *ode = nde_cde_ode_get(s->view[i]);
    nde_solution sol;
    double t0 = nde_path_t0(p), t1 = nde_path_t1(p);
    /* the knots as step_ts, as nde_cde_solve does for this path: X'' jumps there, and X'
     * too where a channel's first or last observation is not at t_0 or t_{n-1} */
    r->solve.step_ts = nde_path_knots(p, &r->solve.n_step_ts);
    rc = grad ? nde_ode_solve_taped(ode, t0, t1, z0, &r->solve, r->tape, &sol)
              : nde_ode_solve(ode, t0, t1, z0, &r->solve, &sol);
    if (rc != NDE_OK) {
        snprintf(err, esz, "series %zu: solve: %s", i, nde_solution_message(&sol));
        nde_solution_free(&sol);
        return rc;
    }
    memcpy(zT, sol.y + (sol.n - 1) * D, D * sizeof *zT);
    ev->nfe_forward += sol.stats.nfe;
    nde_solution_free(&sol);
    double logit, loss, glogit;
    rc = nde_mlp_forward(r->readout, 1, zT, &logit);
    if (rc == NDE_OK) rc = nde_loss_bernoulli_nll(1, &logit, &s->label[i], &loss, &glogit);
    if (rc != NDE_OK) { snprintf(err, esz, "series %zu: readout: %s", i, nde_status_str(rc)); return rc; }
    ev->loss += scale * loss;
    ev->correct += (logit > 0) == (s->label[i] > 0.5);
    if (!grad) return NDE_OK;
    glogit *= scale;
    double *g = r->g_tmp;
    size_t oz = 0, of = r->n_zeta, orr = r->n_zeta + r->n_field;
    rc = nde_mlp_vjp(r->readout, 1, zT, &glogit, gzT, g + orr);
    if (rc == NDE_OK) rc = nde_ode_backward(r->tape, gzT, gz0, g + of);
    if (rc != NDE_OK) {
        snprintf(err, esz, "series %zu: backward: %s", i, nde_tape_message(r->tape));
        return rc;
    }
    rc = nde_mlp_vjp(r->zeta, 1, x0, gz0, NULL, g + oz);
    if (rc != NDE_OK) { snprintf(err, esz, "series %zu: z0 vjp: %s", i, nde_status_str(rc)); return rc; }
    nde_adjoint_stats st;
    nde_tape_stats(r->tape, &st);
    ev->nfe_backward += st.nvjp + st.nfe;
    for (size_t k = 0; k < cde_run_n_params(r); k++) grad[k] += g[k];
    return NDE_OK;
}

int cde_run_eval(cde_run *r, int test, const size_t *idx, size_t nb, cde_eval *ev, double *grad, char *err,
                 size_t esz)
{
    const cde_set *s = &r->set[test ? 1 : 0];
    *ev = (cde_eval){ 0 };
    if (nb == 0) { snprintf(err, esz, "empty batch"); return NDE_EINVAL; }
    if (grad) memset(grad, 0, cde_run_n_params(r) * sizeof *grad);
    for (size_t b = 0; b < nb; b++) {
        size_t i = idx ? idx[b] : b;
        if (i >= s->n) { snprintf(err, esz, "series %zu of %zu", i, s->n); return NDE_EINVAL; }
        int rc = eval_series(r, s, i, 1.0 / (double)nb, ev, grad, err, esz);
        if (rc != NDE_OK) return rc;
    }
    return NDE_OK;
}

size_t cde_curve_points(const cde_options *o)
{
    return o->eval_every ? o->iters / o->eval_every + 2 : 2;
}

/* The test set's loss and accuracy into the curve (and *ev). */
static int test_point(cde_run *r, size_t it, cde_result *res, cde_eval *ev, char *err, size_t esz)
{
    int rc = cde_run_eval(r, 1, NULL, r->set[1].n, ev, NULL, err, esz);
    if (rc == NDE_OK && res->curve_acc) {
        res->curve_acc[res->n_curve] = (double)ev->correct / (double)r->set[1].n;
        if (res->curve_iter) res->curve_iter[res->n_curve] = it;
        res->n_curve++;
    }
    return rc;
}

int cde_run_train(cde_run *r, const char *show, cde_result *res, char *err, size_t esz)
{
    const cde_options *o = &r->o;
    size_t np = cde_run_n_params(r);
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
    oo.lr = o->lr;
    oo.errbuf = err;
    oo.errbuf_size = esz;
    nde_optim *opt = nde_optim_create(NDE_OPTIM_ADAM, np, &oo);
    if (!opt) return NDE_ENOMEM;
    for (size_t i = 0; i < o->n_train; i++) r->perm[i] = i;
    res->n_curve = 0;
    cde_eval ev;
    int rc = NDE_OK;
    if (o->eval_every) rc = test_point(r, 0, res, &ev, err, esz);
    double nfe_f = 0, nfe_b = 0, t_loop = 0, loss = NAN;
    int last = -1;
    for (size_t it = 0; it < o->iters && rc == NDE_OK; it++) {
        double u[512];
        for (size_t k0 = 0; k0 < o->batch; k0 += 512) {   /* batch distinct series (partial Fisher-Yates) */
            size_t m = o->batch - k0 < 512 ? o->batch - k0 : 512;
            nde_uniform_fill_at(o->seed, NDE_STREAM_USER_FIRST + 24, (uint64_t)it * o->batch + k0, m, u);
            for (size_t k = k0; k < k0 + m; k++) {
                size_t j = k + (size_t)(u[k - k0] * (double)(o->n_train - k)), tmp = r->perm[k];
                r->perm[k] = r->perm[j];
                r->perm[j] = tmp;
            }
        }
        double t0 = wall_seconds();
        rc = cde_run_eval(r, 0, r->perm, o->batch, &ev, r->grad, err, esz);
        if (rc == NDE_OK) rc = nde_optim_step(opt, r->theta, r->grad);
        if (rc == NDE_OK) cde_run_set_params(r, r->theta);
        t_loop += wall_seconds() - t0;
        if (rc != NDE_OK) break;
        loss = ev.loss;
        nfe_f += (double)ev.nfe_forward;
        nfe_b += (double)ev.nfe_backward;
        if (res->curve_loss) res->curve_loss[it] = loss;
        if (show) progress_bar(show, it + 1, o->iters, loss, &last);
        if (o->eval_every && (it + 1) % o->eval_every == 0 && it + 1 < o->iters)
            rc = test_point(r, it + 1, res, &ev, err, esz);
    }
    if (rc == NDE_OK) rc = test_point(r, o->iters, res, &ev, err, esz);
    nde_optim_free(opt);
    if (rc != NDE_OK) return rc;
    size_t n = o->iters;
    res->iterations = n;
    res->train_loss = loss;
    res->test_loss = ev.loss;
    res->test_accuracy = (double)ev.correct / (double)r->set[1].n;
    res->ms_per_iter = n ? 1e3 * t_loop / (double)n : 0;
    res->nfe_forward = n ? nfe_f / (double)n : 0;
    res->nfe_backward = n ? nfe_b / (double)n : 0;
    return NDE_OK;
}
