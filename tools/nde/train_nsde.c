/* nde train neural_sde: the stable neural SDE classes of Oh, Lim, Kim et al. (ICLR 2024,
 * "Stable Neural Stochastic Differential Equations in Analyzing Irregular Time Series
 * Data") fitted to sample paths of two known SDEs by matching their marginals.
 *
 * The true processes (Itô, which for this additive noise is also Stratonovich), from
 * the point x0 on [0, 2]:
 *   ou           dX = theta (mu - X) dt + sigma dW,  theta 1.5, mu 1, sigma 0.5, x0 0
 *   double_well  dX = (X - X^3) dt + sigma dW,       sigma 0.7, x0 0.25
 * (the double well's marginal turns bimodal: most paths fall into the well at +1, some
 * into the one at -1). Their paths are Heun solves with 800 constant steps, 20 per model
 * step, on Brownian grids (nde/brownian.h).
 *
 * The model classes (the paper's section 3; gamma an MLP d -> width -> width -> 1
 * tanh, sigma an MLP 1 -> width/2 -> 1 tanh of t alone, z the model's state):
 *   langevin   (LSDE)   dz = gamma(z) dt + sigma(t) dW
 *   linear     (LNSDE)  dz = gamma(t, z) dt + sigma(t) z dW
 *   geometric  (GSDE)   dz = gamma(t, z) z dt + sigma(t) z dW   (dz / z = gamma dt + sigma dW)
 * The paper's models act on a latent state read out by a linear map; the linear and
 * geometric noise vanish at z = 0 and the geometric state keeps its sign, so here the
 * state is the observation shifted, z = x + NSDE_SHIFT (3: the data stay well above
 * -3), and the MLPs take x = z - 3 (and t) as input. The model SDEs are Stratonovich
 * (reversible Heun is a Stratonovich method); each class is the same set of laws in
 * either calculus, since the Itô-Stratonovich drift correction (sigma^2 z / 2 for
 * linear noise, sigma^2 / 2 inside gamma for geometric, 0 for Langevin) keeps the
 * class's form and the drift is learnt.
 *
 * Training. Each step solves `batch` model paths from z0 = x0 + 3 as ONE SDE of
 * dimension batch with diagonal noise, by reversible Heun in NSDE_STEPS constant steps,
 * along one of NSDE_POOL fixed seeded Brownian grids (step k uses grid k mod
 * NSDE_POOL), and differentiates it with the reversible adjoint (nde/adjoint.h:
 * exact gradient of the discrete solve, O(1) memory in the steps). The loss is the mean
 * over the NSDE_OBS observed times of nsde_marginal_loss (train.h: the energy distance
 * of the model's marginal to the data's, plus the squared differences of their means
 * and standard deviations) against the n_data data paths; Adam.
 *
 * Report. n_eval fresh model paths (batches along fresh grids) and n_eval fresh true
 * paths: the marginal means and standard deviations at every step end, their
 * differences at the observed times, and the Wasserstein-1 and Kolmogorov-Smirnov
 * distances of the t = 2 marginals, before and after training; the same for the data
 * set against the fresh truth, the floor set by its finite size.
 *
 * Defaults (nsde_options_default): 300 Adam steps, the learning rate decaying from 1e-2
 * to 1e-3 on a cosine (nde_lr_cosine), batch 256, n_data 1024, n_eval 4096, width 32.
 * The tool trains the double well for NSDE_ITERS_DOUBLE_WELL = 3000 steps unless --iters
 * says otherwise: at 300 the models match its means and standard deviations but not its
 * two-humped marginal (W1 at t = 2 of 0.20 on seed 0, langevin; the data set's own is
 * 0.020); at 3000 they do (0.025-0.047 over the classes, KS 0.02-0.03).
 *
 * Randomness, all under the run's seed s (nde_ensemble_path_seed(s, i) = P(i)): the
 * training grids P(i), i < NSDE_POOL; the data paths' grids P(1000 + c) and the fresh
 * true paths' P(2000 + c), in chunks of NSDE_TRUTH_CHUNK paths; the fresh model paths'
 * P(3000 + c) (before training) and P(4000 + c) (after), in batches; gamma's weights
 * nde_mlp_init(NDE_INIT_TORCH, seed s), sigma's seed P(5000). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"
#include "train.h"

#define NSDE_SHIFT 3.0           /* z = x + 3 (see above) */
#define NSDE_POOL 32             /* fixed Brownian grids of the training steps */
#define NSDE_TRUTH_SUBSTEPS 20   /* Heun steps of the true process per model step */
#define NSDE_TRUTH_CHUNK 512     /* true paths per solve */
#define NSDE_DT (NSDE_T1 / NSDE_STEPS)
#define NSDE_ITERS_DOUBLE_WELL 3000   /* the tool's default for the double well (above) */
#define NSDE_LR_FLOOR 0.1        /* Adam's learning rate decays from lr to 0.1 lr (cosine) */

enum { SEED_DATA = 1000, SEED_TRUTH = 2000, SEED_EVAL_BEFORE = 3000, SEED_EVAL_AFTER = 4000, SEED_SIGMA = 5000 };

static const char *const process_names[NSDE_N_PROCESSES] = { "ou", "double_well" };
static const char *const class_names[NSDE_N_CLASSES] = { "langevin", "linear", "geometric" };

const char *nsde_process_name(int process)
{
    return process >= 0 && process < NSDE_N_PROCESSES ? process_names[process] : NULL;
}

const char *nsde_class_name(int cls)
{
    return cls >= 0 && cls < NSDE_N_CLASSES ? class_names[cls] : NULL;
}

void nsde_options_default(nsde_options *o)
{
    *o = (nsde_options){ .seed = 0, .iters = 300, .process = NSDE_OU, .cls = NSDE_LANGEVIN, .batch = 256,
                         .n_data = 1024, .n_eval = 4096, .width = 32, .lr = 1e-2 };
}

/* ---- the true processes ------------------------------------------------------------ */

typedef struct truth_params { double theta, mu, sigma, x0; } truth_params;

static const truth_params truths[NSDE_N_PROCESSES] = {
    { 1.5, 1.0, 0.5, 0.0 },    /* ou */
    { 0.0, 0.0, 0.7, 0.25 },   /* double_well (theta, mu unused) */
};

typedef struct truth_sde { int process; } truth_sde;

static int truth_drift(double t, const double *y, double *f, void *user)
{
    (void)t;
    const truth_sde *p = user;
    const truth_params *q = &truths[p->process];
    for (size_t i = 0; i < NSDE_TRUTH_CHUNK; i++)
        f[i] = p->process == NSDE_OU ? q->theta * (q->mu - y[i]) : y[i] - y[i] * y[i] * y[i];
    return 0;
}

static int truth_diffusion(double t, const double *y, double *g, void *user)
{
    (void)t; (void)y;
    const truth_sde *p = user;
    for (size_t i = 0; i < NSDE_TRUTH_CHUNK; i++) g[i] = truths[p->process].sigma;
    return 0;
}

/* n paths (a multiple of NSDE_TRUTH_CHUNK) of the process into x ((NSDE_STEPS + 1) x n,
 * row k at t_k), chunk c along the grid of seed P(first + c). */
static int truth_paths(int process, uint64_t seed, uint64_t first, size_t n, double *x, char *err, size_t esz)
{
    truth_sde p = { process };
    nde_sde sde = { .dim = NSDE_TRUTH_CHUNK, .noise_dim = NSDE_TRUTH_CHUNK, .noise = NDE_NOISE_DIAGONAL,
                    .stratonovich = 1, .drift = truth_drift, .diffusion = truth_diffusion, .user = &p };
    double ts[NSDE_STEPS], y0[NSDE_TRUTH_CHUNK];
    for (size_t k = 0; k < NSDE_STEPS; k++) ts[k] = NSDE_DT * (double)(k + 1);
    for (size_t i = 0; i < NSDE_TRUTH_CHUNK; i++) y0[i] = truths[process].x0;
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_sde_method_find("heun");
    o.rtol = 0;
    o.dt0 = NSDE_DT / NSDE_TRUTH_SUBSTEPS;
    o.ts = ts;
    o.n_ts = NSDE_STEPS;
    o.max_steps = 4 * NSDE_STEPS * NSDE_TRUTH_SUBSTEPS;
    for (size_t c = 0; c * NSDE_TRUTH_CHUNK < n; c++) {
        nde_brownian *bm = nde_brownian_grid_create(NSDE_TRUTH_CHUNK, 0.0, NSDE_T1, NSDE_STEPS * NSDE_TRUTH_SUBSTEPS,
                                                    nde_ensemble_path_seed(seed, first + c), NDE_LEVY_NONE);
        if (!bm) {
            snprintf(err, esz, "out of memory (Brownian grid of the true paths)");
            return NDE_ENOMEM;
        }
        nde_solution sol;
        int rc = nde_sde_solve(&sde, 0.0, NSDE_T1, y0, bm, &o, &sol);
        if (rc == NDE_OK && sol.n != NSDE_STEPS) rc = NDE_EINVAL;
        if (rc == NDE_OK)
            for (size_t k = 0; k <= NSDE_STEPS; k++)
                for (size_t i = 0; i < NSDE_TRUTH_CHUNK; i++)
                    x[k * n + c * NSDE_TRUTH_CHUNK + i] = k ? sol.y[(k - 1) * NSDE_TRUTH_CHUNK + i] : y0[i];
        else
            snprintf(err, esz, "true paths of %s: %s", process_names[process], nde_solution_message(&sol));
        nde_solution_free(&sol);
        nde_brownian_free(bm);
        if (rc != NDE_OK) return rc;
    }
    return NDE_OK;
}

/* ---- the model ----------------------------------------------------------------------- */

/* The state of `rows` paths; drift gamma and diffusion sigma share the parameter
 * vector theta = (gamma's, sigma's) of the adjoint (nde/adjoint.h, SDEs). */
typedef struct nsde_model {
    int cls;
    size_t rows, in;        /* paths in the current solve; gamma's inputs (1 or 2) */
    nde_mlp *gamma, *sigma;
    size_t n_gamma, n_sigma;
    double *x, *gx, *gam, *gy;   /* rows x in, rows x in, rows, rows */
} nsde_model;

static void model_inputs(nsde_model *m, double t, const double *z)
{
    for (size_t i = 0; i < m->rows; i++) {
        m->x[i * m->in] = z[i] - NSDE_SHIFT;
        if (m->in == 2) m->x[i * m->in + 1] = t;
    }
}

static int model_drift(double t, const double *z, double *f, void *user)
{
    nsde_model *m = user;
    model_inputs(m, t, z);
    if (nde_mlp_forward(m->gamma, m->rows, m->x, f) != NDE_OK) return -1;
    if (m->cls == NSDE_GEOMETRIC)
        for (size_t i = 0; i < m->rows; i++) f[i] *= z[i];
    return 0;
}

static int model_drift_vjp(double t, const double *z, const double *a, double *az, double *ath, void *user)
{
    nsde_model *m = user;
    model_inputs(m, t, z);
    const double *gy = a;
    if (m->cls == NSDE_GEOMETRIC) {   /* f = gamma z: a^T df = (a z)^T dgamma + a gamma dz */
        if (nde_mlp_forward(m->gamma, m->rows, m->x, m->gam) != NDE_OK) return -1;
        for (size_t i = 0; i < m->rows; i++) m->gy[i] = a[i] * z[i];
        gy = m->gy;
    }
    if (nde_mlp_vjp(m->gamma, m->rows, m->x, gy, az ? m->gx : NULL, ath) != NDE_OK) return -1;
    if (ath) memset(ath + m->n_gamma, 0, m->n_sigma * sizeof *ath);
    if (az)
        for (size_t i = 0; i < m->rows; i++)
            az[i] = m->gx[i * m->in] + (m->cls == NSDE_GEOMETRIC ? a[i] * m->gam[i] : 0.0);
    return 0;
}

static int model_diffusion(double t, const double *z, double *g, void *user)
{
    nsde_model *m = user;
    double s;
    if (nde_mlp_forward(m->sigma, 1, &t, &s) != NDE_OK) return -1;
    for (size_t i = 0; i < m->rows; i++) g[i] = m->cls == NSDE_LANGEVIN ? s : s * z[i];
    return 0;
}

static int model_diffusion_vjp(double t, const double *z, const double *a, double *az, double *ath, void *user)
{
    nsde_model *m = user;
    double s, gs = 0;
    if (nde_mlp_forward(m->sigma, 1, &t, &s) != NDE_OK) return -1;
    for (size_t i = 0; i < m->rows; i++) {
        gs += m->cls == NSDE_LANGEVIN ? a[i] : a[i] * z[i];
        if (az) az[i] = m->cls == NSDE_LANGEVIN ? 0.0 : a[i] * s;
    }
    if (ath) {
        memset(ath, 0, m->n_gamma * sizeof *ath);
        if (nde_mlp_vjp(m->sigma, 1, &t, &gs, NULL, ath + m->n_gamma) != NDE_OK) return -1;
    }
    return 0;
}

static nde_sde model_sde(nsde_model *m)
{
    return (nde_sde){ .dim = m->rows, .noise_dim = m->rows, .noise = NDE_NOISE_DIAGONAL, .stratonovich = 1,
                      .drift = model_drift, .diffusion = model_diffusion, .user = m,
                      .drift_vjp = model_drift_vjp, .diffusion_vjp = model_diffusion_vjp,
                      .n_params = m->n_gamma + m->n_sigma };
}

/* Copies theta into the two MLPs. */
static void model_set(nsde_model *m, const double *theta)
{
    memcpy(nde_mlp_params(m->gamma), theta, m->n_gamma * sizeof *theta);
    memcpy(nde_mlp_params(m->sigma), theta + m->n_gamma, m->n_sigma * sizeof *theta);
}

static void model_options(nde_options *so, const double *ts, size_t n_ts)
{
    *so = (nde_options)NDE_OPTIONS_INIT;
    so->method = nde_sde_method_find("reversible_heun");
    so->rtol = 0;
    so->dt0 = NSDE_DT;
    so->ts = ts;
    so->n_ts = n_ts;
    so->max_steps = 4 * NSDE_STEPS;
}

/* ---- statistics ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void mean_std(size_t n, const double *x, double *mean, double *std)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double m = s / (double)n;
    for (size_t i = 0; i < n; i++) q += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = sqrt(q / (double)(n - 1));
}

/* sum over i < i' of |x_(i') - x_(i)| for x sorted ascending */
static double pair_sum(size_t n, const double *xs)
{
    double s = 0;
    for (size_t r = 0; r < n; r++) s += (2.0 * (double)r - (double)n + 1.0) * xs[r];
    return s;
}

/* #{j : y_j < v} for y sorted ascending */
static size_t count_below(size_t n, const double *y, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (y[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* (train.h) The cross sum uses the prefix sums of y: sum_j |v - y_j| = c v - P_c +
 * (P_n - P_c) - (n - c) v with c = #{y_j < v}; the self sums the order statistics. */
double nsde_marginal_loss(size_t m, const double *x, size_t n, const double *y_sorted, double *grad, double *work)
{
    memcpy(work, x, m * sizeof *work);
    qsort(work, m, sizeof *work, cmp_double);
    double total = 0, dm = (double)m, dn = (double)n;
    for (size_t j = 0; j < n; j++) total += y_sorted[j];
    double cross = 0;
    for (size_t i = 0; i < m; i++) {
        size_t c = count_below(n, y_sorted, x[i]);
        double below = 0;   /* P_c: summed on the shorter side */
        if (c <= n / 2)
            for (size_t j = 0; j < c; j++) below += y_sorted[j];
        else {
            for (size_t j = c; j < n; j++) below += y_sorted[j];
            below = total - below;
        }
        cross += (double)c * x[i] - below + (total - below) - (double)(n - c) * x[i];
        if (grad) {
            size_t r = count_below(m, work, x[i]);   /* x_i's rank among the model samples */
            grad[i] = 2.0 * (2.0 * (double)c - dn) / (dm * dn) - 2.0 * (2.0 * (double)r - dm + 1.0) / (dm * dm);
        }
    }
    double energy = 2.0 * cross / (dm * dn) - 2.0 * pair_sum(m, work) / (dm * dm) -
                    2.0 * pair_sum(n, y_sorted) / (dn * dn);
    double mx, sx, my, sy;
    mean_std(m, x, &mx, &sx);
    mean_std(n, y_sorted, &my, &sy);
    if (grad)
        for (size_t i = 0; i < m; i++)
            grad[i] += 2.0 * (mx - my) / dm + (sx > 0 ? 2.0 * (sx - sy) * (x[i] - mx) / ((dm - 1.0) * sx) : 0.0);
    return energy + (mx - my) * (mx - my) + (sx - sy) * (sx - sy);
}

/* Wasserstein-1 of two sorted samples: the integral of |F_a - F_b|, F the empirical
 * distribution functions, constant between the merged sample points. */
static double wasserstein1(size_t na, const double *a, size_t nb, const double *b)
{
    size_t i = 0, j = 0;
    double w = 0, v_prev = fmin(a[0], b[0]);
    while (i < na || j < nb) {
        double v = j >= nb || (i < na && a[i] <= b[j]) ? a[i] : b[j];
        w += fabs((double)i / (double)na - (double)j / (double)nb) * (v - v_prev);
        while (i < na && a[i] <= v) i++;
        while (j < nb && b[j] <= v) j++;
        v_prev = v;
    }
    return w;
}

/* sup |F_a - F_b| of two sorted samples. */
static double kolmogorov_smirnov(size_t na, const double *a, size_t nb, const double *b)
{
    size_t i = 0, j = 0;
    double d = 0;
    while (i < na && j < nb) {
        double v = a[i] < b[j] ? a[i] : b[j];
        while (i < na && a[i] <= v) i++;
        while (j < nb && b[j] <= v) j++;
        d = fmax(d, fabs((double)i / (double)na - (double)j / (double)nb));
    }
    return d;
}

/* The marginals of paths x ((NSDE_STEPS + 1) x n) into mean and std (NSDE_STEPS + 1). */
static void marginals(size_t n, const double *x, double *mean, double *std)
{
    for (size_t k = 0; k <= NSDE_STEPS; k++) mean_std(n, x + k * n, &mean[k], &std[k]);
}

/* The errors of sample a (na paths) against sample b (nb paths); the t1 rows are sorted
 * in place. */
static void errors(size_t na, double *a, size_t nb, double *b, nsde_errors *e)
{
    memset(e, 0, sizeof *e);
    for (size_t k = 0; k < NSDE_OBS; k++) {
        size_t row = (k + 1) * NSDE_OBS_EVERY;
        double ma, sa, mb, sb;
        mean_std(na, a + row * na, &ma, &sa);
        mean_std(nb, b + row * nb, &mb, &sb);
        e->mean_err[k] = fabs(ma - mb);
        e->std_err[k] = fabs(sa - sb);
        e->mean_avg += e->mean_err[k] / NSDE_OBS;
        e->std_avg += e->std_err[k] / NSDE_OBS;
    }
    e->stat = e->mean_avg + e->std_avg;
    double *ta = a + NSDE_STEPS * na, *tb = b + NSDE_STEPS * nb;
    qsort(ta, na, sizeof *ta, cmp_double);
    qsort(tb, nb, sizeof *tb, cmp_double);
    e->w1 = wasserstein1(na, ta, nb, tb);
    e->ks = kolmogorov_smirnov(na, ta, nb, tb);
}

/* ---- the run ---------------------------------------------------------------------------- */

struct nsde_run {
    nsde_options o;
    nsde_model model;
    nde_tape *tape;     /* the training step's, reversible adjoint */
    nde_brownian *pool[NSDE_POOL];
    double *data;       /* (NSDE_STEPS + 1) x n_data; the observed rows sorted */
    double *truth;      /* (NSDE_STEPS + 1) x n_eval fresh true paths */
    double *eval;       /* (NSDE_STEPS + 1) x n_eval model paths */
    double *theta, *grad, *g, *work, *z0;
};

static void run_free(nsde_run *r)
{
    nde_tape_free(r->tape);
    for (size_t i = 0; i < NSDE_POOL; i++) nde_brownian_free(r->pool[i]);
    nde_mlp_free(r->model.gamma);
    nde_mlp_free(r->model.sigma);
    free(r->model.x);
    free(r->model.gx);
    free(r->model.gam);
    free(r->model.gy);
    free(r->data);
    free(r->truth);
    free(r->eval);
    free(r->theta);
    free(r->grad);
    free(r->g);
    free(r->work);
    free(r->z0);
}

static int run_create(nsde_run *r, const nsde_options *o, char *err, size_t esz)
{
    memset(r, 0, sizeof *r);
    r->o = *o;
    if (o->process < 0 || o->process >= NSDE_N_PROCESSES || o->cls < 0 || o->cls >= NSDE_N_CLASSES) {
        snprintf(err, esz, "unknown process %d or class %d", o->process, o->cls);
        return NDE_EINVAL;
    }
    if (o->batch < 2 || o->n_data < NSDE_TRUTH_CHUNK || o->n_data % NSDE_TRUTH_CHUNK || o->n_eval < o->batch ||
        o->n_eval % o->batch || o->n_eval % NSDE_TRUTH_CHUNK || o->width < 2 || !(o->lr > 0)) {
        snprintf(err, esz, "bad options: batch %zu (>= 2), n_data %zu (a multiple of %d), n_eval %zu (a multiple "
                 "of batch and %d), width %zu (>= 2), lr %g (> 0)", o->batch, o->n_data, NSDE_TRUTH_CHUNK,
                 o->n_eval, NSDE_TRUTH_CHUNK, o->width, o->lr);
        return NDE_EINVAL;
    }
    nsde_model *m = &r->model;
    m->cls = o->cls;
    m->in = o->cls == NSDE_LANGEVIN ? 1 : 2;
    size_t wg[4] = { m->in, o->width, o->width, 1 }, ws[3] = { 1, o->width / 2, 1 };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = o->batch;
    mo.cache = 2;   /* the reversible adjoint: a step's f, then its VJP at the same state */
    mo.errbuf = err;
    mo.errbuf_size = esz;
    m->gamma = nde_mlp_create(3, wg, &mo);
    mo.max_batch = 1;
    m->sigma = m->gamma ? nde_mlp_create(2, ws, &mo) : NULL;
    if (!m->gamma || !m->sigma) return NDE_ENOMEM;
    m->n_gamma = nde_mlp_n_params(m->gamma);
    m->n_sigma = nde_mlp_n_params(m->sigma);
    size_t np = m->n_gamma + m->n_sigma, rows = NSDE_STEPS + 1;
    m->x = malloc(o->batch * 2 * sizeof *m->x);
    m->gx = malloc(o->batch * 2 * sizeof *m->gx);
    m->gam = malloc(o->batch * sizeof *m->gam);
    m->gy = malloc(o->batch * sizeof *m->gy);
    r->data = malloc(rows * o->n_data * sizeof *r->data);
    r->truth = malloc(rows * o->n_eval * sizeof *r->truth);
    r->eval = malloc(rows * o->n_eval * sizeof *r->eval);
    r->theta = malloc(np * sizeof *r->theta);
    r->grad = malloc(np * sizeof *r->grad);
    r->g = malloc(NSDE_OBS * o->batch * sizeof *r->g);
    r->work = malloc((o->batch > o->n_eval ? o->batch : o->n_eval) * sizeof *r->work);
    r->z0 = malloc(o->batch * sizeof *r->z0);
    int ok = m->x && m->gx && m->gam && m->gy && r->data && r->truth && r->eval && r->theta && r->grad && r->g &&
             r->work && r->z0;
    for (size_t i = 0; ok && i < NSDE_POOL; i++)
        ok = (r->pool[i] = nde_brownian_grid_create(o->batch, 0.0, NSDE_T1, NSDE_STEPS,
                                                    nde_ensemble_path_seed(o->seed, i), NDE_LEVY_NONE)) != NULL;
    if (!ok) {
        snprintf(err, esz, "out of memory");
        return NDE_ENOMEM;
    }
    for (size_t i = 0; i < o->batch; i++) r->z0[i] = truths[o->process].x0 + NSDE_SHIFT;
    nde_mlp_init(m->gamma, NDE_INIT_TORCH, 0.0, o->seed);
    nde_mlp_init(m->sigma, NDE_INIT_TORCH, 0.0, nde_ensemble_path_seed(o->seed, SEED_SIGMA));
    memcpy(r->theta, nde_mlp_params(m->gamma), m->n_gamma * sizeof *r->theta);
    memcpy(r->theta + m->n_gamma, nde_mlp_params(m->sigma), m->n_sigma * sizeof *r->theta);
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = NDE_ADJOINT_REVERSIBLE;
    ao.errbuf = err;
    ao.errbuf_size = esz;
    if (!(r->tape = nde_tape_create(&ao))) {
        if (!err[0]) snprintf(err, esz, "out of memory");
        return NDE_ENOMEM;
    }
    int rc = truth_paths(o->process, o->seed, SEED_DATA, o->n_data, r->data, err, esz);
    if (rc == NDE_OK) rc = truth_paths(o->process, o->seed, SEED_TRUTH, o->n_eval, r->truth, err, esz);
    for (size_t k = 0; rc == NDE_OK && k < NSDE_OBS; k++) {   /* the loss's targets, sorted once */
        double *row = r->data + (k + 1) * NSDE_OBS_EVERY * o->n_data;
        qsort(row, o->n_data, sizeof *row, cmp_double);
    }
    return rc;
}

nsde_run *nsde_run_create(const nsde_options *o, char *err, size_t esz)
{
    nsde_run *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, esz, "out of memory");
        return NULL;
    }
    if (run_create(r, o, err, esz) != NDE_OK) {
        run_free(r);
        free(r);
        return NULL;
    }
    return r;
}

void nsde_run_free(nsde_run *r)
{
    if (!r) return;
    run_free(r);
    free(r);
}

size_t nsde_run_n_params(const nsde_run *r)
{
    return r->model.n_gamma + r->model.n_sigma;
}

void nsde_run_get_params(const nsde_run *r, double *theta)
{
    memcpy(theta, r->theta, nsde_run_n_params(r) * sizeof *theta);
}

void nsde_run_set_params(nsde_run *r, const double *theta)
{
    memcpy(r->theta, theta, nsde_run_n_params(r) * sizeof *theta);
    model_set(&r->model, r->theta);
}

int nsde_run_step_loss(nsde_run *r, size_t k, nsde_step *st, double *grad, char *err, size_t esz)
{
    const nsde_options *o = &r->o;
    double ts[NSDE_OBS];
    for (size_t j = 0; j < NSDE_OBS; j++) ts[j] = NSDE_DT * (double)((j + 1) * NSDE_OBS_EVERY);
    nde_options so;
    model_options(&so, ts, NSDE_OBS);
    r->model.rows = o->batch;
    nde_sde sde = model_sde(&r->model);
    nde_brownian *bm = r->pool[k % NSDE_POOL];
    nde_solution sol;
    int rc = grad ? nde_sde_solve_taped(&sde, 0.0, NSDE_T1, r->z0, bm, &so, r->tape, &sol)
                  : nde_sde_solve(&sde, 0.0, NSDE_T1, r->z0, bm, &so, &sol);
    if (rc == NDE_OK && sol.n != NSDE_OBS) rc = NDE_EINVAL;
    if (rc != NDE_OK) {
        snprintf(err, esz, "step %zu: %s", k, nde_solution_message(&sol));
        nde_solution_free(&sol);
        return rc;
    }
    double loss = 0;
    for (size_t j = 0; j < NSDE_OBS; j++) {
        double *x = sol.y + j * o->batch, *gj = r->g + j * o->batch;
        for (size_t i = 0; i < o->batch; i++) x[i] -= NSDE_SHIFT;
        loss += nsde_marginal_loss(o->batch, x, o->n_data, r->data + (j + 1) * NSDE_OBS_EVERY * o->n_data,
                                   grad ? gj : NULL, r->work) / NSDE_OBS;
        if (grad)
            for (size_t i = 0; i < o->batch; i++) gj[i] /= NSDE_OBS;
    }
    st->loss = loss;
    st->nfe_forward = sol.stats.nfe;
    st->nfe_backward = 0;
    nde_solution_free(&sol);
    if (!grad) return NDE_OK;
    rc = nde_sde_backward(r->tape, r->g, NULL, grad);
    if (rc != NDE_OK) {
        snprintf(err, esz, "step %zu: backward: %s", k, nde_tape_message(r->tape));
        return rc;
    }
    nde_adjoint_stats ast;
    nde_tape_stats(r->tape, &ast);
    st->nfe_backward = ast.nvjp + ast.nfe;
    return NDE_OK;
}

/* n_eval model paths into r->eval ((NSDE_STEPS + 1) x n_eval, x coordinates), batch c
 * along the grid of seed P(first + c). */
static int run_sample(nsde_run *r, uint64_t first, char *err, size_t esz)
{
    const nsde_options *o = &r->o;
    double ts[NSDE_STEPS];
    for (size_t k = 0; k < NSDE_STEPS; k++) ts[k] = NSDE_DT * (double)(k + 1);
    nde_options so;
    model_options(&so, ts, NSDE_STEPS);
    r->model.rows = o->batch;
    nde_sde sde = model_sde(&r->model);
    for (size_t c = 0; c * o->batch < o->n_eval; c++) {
        nde_brownian *bm = nde_brownian_grid_create(o->batch, 0.0, NSDE_T1, NSDE_STEPS,
                                                    nde_ensemble_path_seed(o->seed, first + c), NDE_LEVY_NONE);
        if (!bm) {
            snprintf(err, esz, "out of memory (Brownian grid of the model's paths)");
            return NDE_ENOMEM;
        }
        nde_solution sol;
        int rc = nde_sde_solve(&sde, 0.0, NSDE_T1, r->z0, bm, &so, &sol);
        if (rc == NDE_OK && sol.n != NSDE_STEPS) rc = NDE_EINVAL;
        if (rc == NDE_OK)
            for (size_t k = 0; k <= NSDE_STEPS; k++)
                for (size_t i = 0; i < o->batch; i++)
                    r->eval[k * o->n_eval + c * o->batch + i] =
                        (k ? sol.y[(k - 1) * o->batch + i] : r->z0[i]) - NSDE_SHIFT;
        else
            snprintf(err, esz, "model paths: %s", nde_solution_message(&sol));
        nde_solution_free(&sol);
        nde_brownian_free(bm);
        if (rc != NDE_OK) return rc;
    }
    return NDE_OK;
}

/* The loss of the model's fresh paths against the fresh true paths (sorted copies of the
 * truth's observed rows in r->work would be overwritten: sorts each row of a copy). */
static double eval_loss(nsde_run *r, double *sorted)
{
    const nsde_options *o = &r->o;
    double loss = 0;
    for (size_t k = 0; k < NSDE_OBS; k++) {
        size_t row = (k + 1) * NSDE_OBS_EVERY;
        memcpy(sorted, r->truth + row * o->n_eval, o->n_eval * sizeof *sorted);
        qsort(sorted, o->n_eval, sizeof *sorted, cmp_double);
        loss += nsde_marginal_loss(o->n_eval, r->eval + row * o->n_eval, o->n_eval, sorted, NULL, r->work) / NSDE_OBS;
    }
    return loss;
}

/* Samples the model (seeds from `first`), its loss against the truth, its marginals and
 * errors. */
static int run_report(nsde_run *r, uint64_t first, double *loss, double *mean, double *std, nsde_errors *e,
                      char *err, size_t esz)
{
    const nsde_options *o = &r->o;
    int rc = run_sample(r, first, err, esz);
    if (rc != NDE_OK) return rc;
    double *copy = malloc((NSDE_STEPS + 1) * o->n_eval * sizeof *copy);
    if (!copy) {
        snprintf(err, esz, "out of memory");
        return NDE_ENOMEM;
    }
    *loss = eval_loss(r, copy);
    marginals(o->n_eval, r->eval, mean, std);
    memcpy(copy, r->truth, (NSDE_STEPS + 1) * o->n_eval * sizeof *copy);
    errors(o->n_eval, r->eval, o->n_eval, copy, e);
    free(copy);
    return NDE_OK;
}

int nsde_train(const nsde_options *o, const char *show, nsde_result *res, char *err, size_t esz)
{
    double *curve = res->curve;
    memset(res, 0, sizeof *res);
    res->curve = curve;
    nsde_run *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, esz, "out of memory");
        return NDE_ENOMEM;
    }
    int rc = run_create(r, o, err, esz);
    nde_optim *adam = NULL;
    double *copy = NULL;
    if (rc != NDE_OK) goto done;
    res->n_params = nsde_run_n_params(r);

    /* the truth's marginals, the data set's errors, the untrained model */
    marginals(o->n_eval, r->truth, res->truth_mean, res->truth_std);
    copy = malloc((NSDE_STEPS + 1) * (o->n_data + o->n_eval) * sizeof *copy);
    if (!copy) {
        snprintf(err, esz, "out of memory");
        rc = NDE_ENOMEM;
        goto done;
    }
    memcpy(copy, r->data, (NSDE_STEPS + 1) * o->n_data * sizeof *copy);
    memcpy(copy + (NSDE_STEPS + 1) * o->n_data, r->truth, (NSDE_STEPS + 1) * o->n_eval * sizeof *copy);
    errors(o->n_data, copy, o->n_eval, copy + (NSDE_STEPS + 1) * o->n_data, &res->data);
    rc = run_report(r, SEED_EVAL_BEFORE, &res->test_loss_before, res->before_mean, res->before_std, &res->before,
                    err, esz);
    if (rc != NDE_OK) goto done;

    /* training */
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
    oo.lr = o->lr;
    adam = nde_optim_create(NDE_OPTIM_ADAM, res->n_params, &oo);
    if (!adam) {
        snprintf(err, esz, "out of memory");
        rc = NDE_ENOMEM;
        goto done;
    }
    double t_loop = 0, nfe_f = 0, nfe_b = 0, loss = NAN;
    int last = -1;
    for (size_t it = 0; it < o->iters; it++) {
        double t0 = wall_seconds();
        nde_optim_set_lr(adam, nde_lr_cosine(o->lr, NSDE_LR_FLOOR * o->lr, it, o->iters));
        nsde_step st;
        rc = nsde_run_step_loss(r, it, &st, r->grad, err, esz);
        if (rc == NDE_OK) rc = nde_optim_step(adam, r->theta, r->grad);
        if (rc != NDE_OK) {
            if (!err[0]) snprintf(err, esz, "step %zu: Adam: non-finite gradient", it);
            goto done;
        }
        model_set(&r->model, r->theta);
        t_loop += wall_seconds() - t0;
        loss = st.loss;
        nfe_f += (double)st.nfe_forward;
        nfe_b += (double)st.nfe_backward;
        if (res->curve) res->curve[it] = loss;
        if (show) progress_bar(show, it + 1, o->iters, loss, &last);
    }
    res->iterations = o->iters;
    res->train_loss = loss;
    res->ms_per_iter = o->iters ? 1e3 * t_loop / (double)o->iters : 0;
    res->nfe_forward = o->iters ? nfe_f / (double)o->iters : 0;
    res->nfe_backward = o->iters ? nfe_b / (double)o->iters : 0;
    rc = run_report(r, SEED_EVAL_AFTER, &res->test_loss, res->after_mean, res->after_std, &res->after, err, esz);
done:
    free(copy);
    nde_optim_free(adam);
    nsde_run_free(r);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------ */

static void nsde_usage(FILE *f)
{
    fprintf(f,
        "usage: nde train neural_sde [--process ou|double_well|all] [--class langevin|linear|geometric|all]\n"
        "                            [--seed S] [--iters N] [--json] [--quiet]\n\n"
        "Fits the stable neural SDE classes of Oh, Lim, Kim et al. (2024) to sample paths of a\n"
        "known SDE by matching marginals, and compares the trained model's marginals with the\n"
        "truth's (tools/nde/train_nsde.c has the details).\n\n"
        "processes (from x0 on [0, 2]):\n"
        "  ou           dX = 1.5 (1 - X) dt + 0.5 dW, x0 = 0\n"
        "  double_well  dX = (X - X^3) dt + 0.7 dW, x0 = 0.25\n"
        "classes (gamma an MLP 1|2 -> 32 -> 32 -> 1 tanh, sigma an MLP 1 -> 16 -> 1 of t, z = x + 3):\n"
        "  langevin     dz = gamma(z) dt + sigma(t) dW\n"
        "  linear       dz = gamma(t, z) dt + sigma(t) z dW\n"
        "  geometric    dz = gamma(t, z) z dt + sigma(t) z dW\n"
        "Training: 256 model paths per step as one SDE (diagonal noise), reversible Heun, 40\n"
        "steps, 32 fixed seeded Brownian grids, the reversible adjoint; loss: the mean over the\n"
        "10 observed times t = 0.2, ..., 2 of the energy distance of the model's marginal to that\n"
        "of 1024 data paths plus the squared differences of their means and standard\n"
        "deviations; Adam, lr 1e-2 decaying to 1e-3 (cosine), 300 steps by default (3000 on\n"
        "the double well, whose bimodal marginal needs them). Report: 4096\n"
        "fresh model paths against"
        " 4096 fresh true paths, before and after training.\n\n"
        "options:\n"
        "  --process P  the true process (default all: both)\n"
        "  --class C    the model class (default all: the three)\n"
        "  --seed S     seed of the data, the Brownian paths and the weights (default 0)\n"
        "  --iters N    Adam steps (default 300 on ou, 3000 on double_well)\n"
        "  --json       one JSON object on stdout. One (process, class): name, process, class,\n"
        "               seed, iterations, train_loss (the last step's), test_loss (fresh model\n"
        "               paths against fresh true paths, same loss), test_loss_before, ms_per_iter\n"
        "               (a training step: forward, loss, backward, Adam), nfe_forward (drift and\n"
        "               diffusion evaluations of a step's forward solve), nfe_backward (evaluations\n"
        "               and VJPs of its backward pass), n_params, times (the observed times),\n"
        "               before, after, data (the training set against the truth): each with\n"
        "               mean_err and std_err (|difference| at each observed time), mean_err_avg,\n"
        "               std_err_avg, stat_err (their sum), w1 and ks (Wasserstein-1 and\n"
        "               Kolmogorov-Smirnov distances at t = 2), stat_ratio (after / before).\n"
        "               Several: name, seed, iterations (their sum), train_loss, test_loss, ms_per_iter,\n"
        "               nfe_forward, nfe_backward (means over the runs) and runs (their objects)\n"
        "  --quiet      no progress bar on stderr\n");
}

static void json_array(const double *x, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        if (i) printf(", ");
        json_num(stdout, x[i]);
    }
    printf("]");
}

static void json_errors(const char *key, const nsde_errors *e)
{
    printf(", \"%s\": {\"mean_err\": ", key);
    json_array(e->mean_err, NSDE_OBS);
    printf(", \"std_err\": ");
    json_array(e->std_err, NSDE_OBS);
    printf(", \"mean_err_avg\": ");
    json_num(stdout, e->mean_avg);
    printf(", \"std_err_avg\": ");
    json_num(stdout, e->std_avg);
    printf(", \"stat_err\": ");
    json_num(stdout, e->stat);
    printf(", \"w1\": ");
    json_num(stdout, e->w1);
    printf(", \"ks\": ");
    json_num(stdout, e->ks);
    printf("}");
}

static void json_run(const nsde_options *o, const nsde_result *r)
{
    printf("{\"name\": \"neural_sde\", \"process\": \"%s\", \"class\": \"%s\", \"seed\": %llu, \"iterations\": %zu, "
           "\"train_loss\": ", nsde_process_name(o->process), nsde_class_name(o->cls), (unsigned long long)o->seed,
           r->iterations);
    json_num(stdout, r->train_loss);
    printf(", \"test_loss\": ");
    json_num(stdout, r->test_loss);
    printf(", \"test_loss_before\": ");
    json_num(stdout, r->test_loss_before);
    printf(", \"ms_per_iter\": ");
    json_num(stdout, r->ms_per_iter);
    printf(", \"nfe_forward\": ");
    json_num(stdout, r->nfe_forward);
    printf(", \"nfe_backward\": ");
    json_num(stdout, r->nfe_backward);
    printf(", \"n_params\": %zu, \"times\": [", r->n_params);
    for (size_t k = 0; k < NSDE_OBS; k++) printf("%s%g", k ? ", " : "", NSDE_DT * (double)((k + 1) * NSDE_OBS_EVERY));
    printf("]");
    json_errors("before", &r->before);
    json_errors("after", &r->after);
    json_errors("data", &r->data);
    printf(", \"stat_ratio\": ");
    json_num(stdout, r->after.stat / r->before.stat);
    printf("}");
}

static int parse_name(const char *v, const char *const *names, int n, int *out)
{
    if (strcmp(v, "all") == 0) { *out = -1; return 0; }
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) { *out = i; return 0; }
    return 1;
}

/* Adam steps of one run: --iters when given, else the process's default (above). */
static size_t default_iters(int process, long given, size_t base)
{
    if (given >= 0) return (size_t)given;
    return process == NSDE_DOUBLE_WELL ? NSDE_ITERS_DOUBLE_WELL : base;
}

int cmd_train_nsde(int argc, char **argv)
{
    nsde_options o;
    nsde_options_default(&o);
    const size_t nsde_iters_base = o.iters;
    int process = -1, cls = -1, json = 0, quiet = 0;
    size_t seed = 0, iters_arg = 0;
    long iters = -1;   /* -1: each process's default */
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (arg_is_help(argv[i])) { nsde_usage(stdout); return TOOL_OK; }
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (strcmp(argv[i], "--seed") == 0) {
            if (!(v = arg_value("train", argc, argv, &i)) || arg_size("train", "--seed", v, &seed)) return TOOL_USAGE;
        } else if (strcmp(argv[i], "--iters") == 0) {
            if (!(v = arg_value("train", argc, argv, &i)) || arg_size("train", "--iters", v, &iters_arg)) return TOOL_USAGE;
            if (iters_arg > 100000000) {
                fprintf(stderr, "nde train neural_sde: --iters must be at most 1e8, got %zu\n", iters_arg);
                return TOOL_USAGE;
            }
            iters = (long)iters_arg;
        } else if (strcmp(argv[i], "--process") == 0) {
            if (!(v = arg_value("train", argc, argv, &i))) return TOOL_USAGE;
            if (parse_name(v, process_names, NSDE_N_PROCESSES, &process)) {
                fprintf(stderr, "nde train neural_sde: unknown process '%s' (ou, double_well, all)\n", v);
                return TOOL_USAGE;
            }
        } else if (strcmp(argv[i], "--class") == 0) {
            if (!(v = arg_value("train", argc, argv, &i))) return TOOL_USAGE;
            if (parse_name(v, class_names, NSDE_N_CLASSES, &cls)) {
                fprintf(stderr, "nde train neural_sde: unknown class '%s' (langevin, linear, geometric, all)\n", v);
                return TOOL_USAGE;
            }
        } else return arg_unknown("train neural_sde", argv[i]);
    }
    o.seed = seed;
    int p0 = process < 0 ? 0 : process, p1 = process < 0 ? NSDE_N_PROCESSES : process + 1;
    int c0 = cls < 0 ? 0 : cls, c1 = cls < 0 ? NSDE_N_CLASSES : cls + 1;
    size_t n_runs = (size_t)((p1 - p0) * (c1 - c0));
    double sum[5] = { 0 };   /* train_loss, test_loss, ms_per_iter, nfe_forward, nfe_backward */
    size_t total_iters = 0;
    for (int p = p0; p < p1; p++) total_iters += (size_t)(c1 - c0) * default_iters(p, iters, nsde_iters_base);
    if (json && n_runs > 1)
        printf("{\"name\": \"neural_sde\", \"seed\": %zu, \"iterations\": %zu, \"runs\": [", seed, total_iters);
    size_t done = 0;
    for (int p = p0; p < p1; p++)
        for (int c = c0; c < c1; c++) {
            o.process = p;
            o.cls = c;
            o.iters = default_iters(p, iters, nsde_iters_base);
            char label[64], err[NDE_MESSAGE_MAX] = "";
            snprintf(label, sizeof label, "%-11s %-9s", process_names[p], class_names[c]);
            nsde_result r = { 0 };
            int rc = nsde_train(&o, quiet ? NULL : label, &r, err, sizeof err);
            if (rc != NDE_OK) {
                if (json && n_runs > 1) printf("]}\n");
                fprintf(stderr, "nde train neural_sde (%s, %s): %s (%s)\n", process_names[p], class_names[c], err,
                        nde_status_str(rc));
                return TOOL_FAIL;
            }
            sum[0] += r.train_loss;
            sum[1] += r.test_loss;
            sum[2] += r.ms_per_iter;
            sum[3] += r.nfe_forward;
            sum[4] += r.nfe_backward;
            if (json) {
                if (done) printf(", ");
                json_run(&o, &r);
            } else {
                printf("%s / %s, seed %zu, %zu steps: loss %.4f train, %.4f test (%.4f before); %.2f ms per step, "
                       "nfe %.0f forward, %.0f backward\n", process_names[p], class_names[c], seed, r.iterations,
                       r.train_loss, r.test_loss, r.test_loss_before, r.ms_per_iter, r.nfe_forward, r.nfe_backward);
                printf("  vs truth (4096 fresh paths each): |mean err| %.4f -> %.4f, |std err| %.4f -> %.4f "
                       "(averages over t = 0.2..2), W1(t=2) %.4f -> %.4f, KS(t=2) %.3f -> %.3f; "
                       "the 1024 data paths: %.4f, %.4f, W1 %.4f\n", r.before.mean_avg, r.after.mean_avg,
                       r.before.std_avg, r.after.std_avg, r.before.w1, r.after.w1, r.before.ks, r.after.ks,
                       r.data.mean_avg, r.data.std_avg, r.data.w1);
            }
            done++;
        }
    if (json && n_runs > 1) {
        const char *keys[5] = { "train_loss", "test_loss", "ms_per_iter", "nfe_forward", "nfe_backward" };
        printf("]");
        for (int k = 0; k < 5; k++) {
            printf(", \"%s\": ", keys[k]);
            json_num(stdout, sum[k] / (double)n_runs);
        }
        printf("}\n");
    } else if (json) {
        printf("\n");
    }
    return TOOL_OK;
}
