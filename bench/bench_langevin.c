/* bench/bench_langevin.c — MCMC by underdamped Langevin simulation (nde/langevin.h):
 * effective sample size per gradient evaluation of adaptive QUICSORT and ALIGN (and
 * constant-step QUICSORT), against a No-U-Turn sampler written here on the same targets.
 *
 *   nde_bench_langevin [--quick]
 *
 * Targets:
 *   banana    f(x) = x1^2/2 + (x2 - (x1^2 - 1))^2/2 in 2-D: E x = 0, Var x = (1, 3) exactly;
 *   logreg    Bayesian logistic regression in 100-D: N = 1000 synthetic points, features
 *             X_ij ~ N(0, 1/100), labels y_n ~ Bernoulli(sigmoid(x_n . w*)), w* ~ N(0, I),
 *             prior w ~ N(0, I); all from fixed seeds.
 * The Langevin chain is the solution every `dt_save` on one path of a virtual Brownian
 * tree (the save times are forced step ends, so samples are step end points); the first
 * 10% of the run is burn-in, its gradients not counted. ESS per coordinate by Geyer's
 * initial monotone sequence (nde_ess); printed: min and median over coordinates, per
 * gradient evaluation, the largest |mean - reference| in posterior standard deviations
 * and the largest relative error of the standard deviations (reference: exact for
 * banana; the NUTS chain for logreg).
 *
 * NUTS: Hoffman & Gelman 2014, Algorithm 6 (slice-sampling NUTS with dual averaging of
 * the step size, target acceptance 0.8, maximum depth 10), identity mass matrix; the
 * warm-up's gradients are not counted either. Reference claim (Jelinčič, Foster & Kidger
 * 2024, "Single-seed generation of Brownian paths and integrals for adaptive and high
 * order SDE solvers", abstract): an adaptive third-order underdamped Langevin solver
 * "outperforms the No U-Turn Sampler, while using only a tenth of its function
 * evaluations" on their (logistic-regression) MCMC problem. The paper's per-dataset
 * tables are not in our notes; the ratio printed here is ours, on our targets and NUTS.
 * Timing only through gradient counts; nothing is asserted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"

/* ---- targets: f and grad f ------------------------------------------------------------------ */

typedef struct target {
    const char *name;
    size_t d;
    double (*fg)(const struct target *t, const double *x, double *g);   /* f(x), g = grad f */
    /* logistic regression data */
    size_t N;
    double *X, *y, *z;     /* N x d features, N labels, N logits (scratch) */
    size_t ngrad;          /* gradient evaluations so far */
} target;

static double banana_fg(const target *t, const double *x, double *g)
{
    (void)t;
    double r = x[1] - (x[0] * x[0] - 1.0);
    g[0] = x[0] - 2.0 * x[0] * r;
    g[1] = r;
    return 0.5 * x[0] * x[0] + 0.5 * r * r;
}

static double logreg_fg(const target *t, const double *w, double *g)
{
    const size_t d = t->d, N = t->N;
    double f = 0.0;
    for (size_t i = 0; i < d; i++) { g[i] = w[i]; f += 0.5 * w[i] * w[i]; }   /* prior N(0, I) */
    for (size_t n = 0; n < N; n++) {
        const double *xn = t->X + n * d;
        double z = 0.0;
        for (size_t i = 0; i < d; i++) z += xn[i] * w[i];
        /* -log p(y | z) = log(1 + e^z) - y z, stably */
        f += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - t->y[n] * z;
        double s = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
        double c = s - t->y[n];
        for (size_t i = 0; i < d; i++) g[i] += c * xn[i];
    }
    return f;
}

static int make_logreg(target *t, size_t N, size_t d)
{
    t->name = "logreg";
    t->d = d;
    t->N = N;
    t->fg = logreg_fg;
    t->X = malloc(N * d * sizeof *t->X);
    t->y = malloc(N * sizeof *t->y);
    double *w = malloc(d * sizeof *w), *u = malloc(N * sizeof *u);
    if (!t->X || !t->y || !w || !u) { free(w); free(u); return -1; }
    nde_normal_fill(11, NDE_STREAM_USER_FIRST, N * d, t->X);
    for (size_t k = 0; k < N * d; k++) t->X[k] /= sqrt((double)d);
    nde_normal_fill(12, NDE_STREAM_USER_FIRST, d, w);
    nde_uniform_fill(13, NDE_STREAM_USER_FIRST, N, u);
    for (size_t n = 0; n < N; n++) {
        double z = 0.0;
        for (size_t i = 0; i < d; i++) z += t->X[n * d + i] * w[i];
        t->y[n] = u[n] < 1.0 / (1.0 + exp(-z)) ? 1.0 : 0.0;
    }
    free(w);
    free(u);
    return 0;
}

static int grad_cb(const double *x, double *g, void *user)
{
    target *t = user;
    t->ngrad++;
    t->fg(t, x, g);
    return 0;
}

/* ---- chain summaries ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct summary { double ess_min, ess_med, grads; double *mean, *sd; } summary;

/* ESS per coordinate of n samples (rows of `stride` doubles, the first d of them), mean
 * and sd per coordinate. */
static void summarise(const double *s, size_t n, size_t stride, size_t d, double grads, summary *out)
{
    double *ess = malloc(d * sizeof *ess);
    out->mean = calloc(d, sizeof *out->mean);
    out->sd = calloc(d, sizeof *out->sd);
    out->grads = grads;
    if (!ess || !out->mean || !out->sd) { free(ess); out->ess_min = out->ess_med = NAN; return; }
    for (size_t i = 0; i < d; i++) {
        double m = 0, v = 0;
        for (size_t k = 0; k < n; k++) m += s[k * stride + i];
        m /= (double)n;
        for (size_t k = 0; k < n; k++) v += (s[k * stride + i] - m) * (s[k * stride + i] - m);
        out->mean[i] = m;
        out->sd[i] = sqrt(v / (double)(n - 1));
        if (nde_ess(s + i, n, stride, &ess[i])) ess[i] = NAN;
    }
    qsort(ess, d, sizeof *ess, cmp_double);
    out->ess_min = ess[0];
    out->ess_med = ess[d / 2];
    free(ess);
}

static void summary_free(summary *s) { free(s->mean); free(s->sd); }

/* max_i |sd_i / ref_sd_i - 1| */
static double sd_dev(const summary *s, const double *ref_sd, size_t d)
{
    double w = 0.0;
    for (size_t i = 0; i < d; i++) w = fmax(w, fabs(s->sd[i] / ref_sd[i] - 1.0));
    return w;
}

/* max_i |mean_i - ref_i| / sd_i */
static double mean_dev(const summary *s, const double *ref_mean, const double *ref_sd, size_t d)
{
    double w = 0.0;
    for (size_t i = 0; i < d; i++) w = fmax(w, fabs(s->mean[i] - ref_mean[i]) / ref_sd[i]);
    return w;
}

static void print_row(const char *target_name, const char *sampler, const summary *s, size_t n, double dev,
                      double sdev, double nuts_min_per_grad)
{
    double per = s->ess_min / s->grads;
    printf("%-7s %-26s %8.0f grads %6zu samples  ESS min %7.0f med %7.0f  min/grad %.5f  (%5.2fx NUTS)  "
           "max|dmean| %.2f sd  max|sd/ref-1| %.3f\n", target_name, sampler, s->grads, n, s->ess_min, s->ess_med,
           per, nuts_min_per_grad > 0 ? per / nuts_min_per_grad : NAN, dev, sdev);
}

/* ---- the Langevin chain -------------------------------------------------------------------------- */

/* Samples every dt_save on [0, T]; returns the kept samples (2d doubles each) after
 * burn-in, their number in *n and the kept part's gradients in *grads. */
static double *langevin_chain(target *t, const char *method, double rtol, double dt0, double gamma, double T,
                              double dt_save, size_t *n, double *grads, uint64_t seed)
{
    const size_t d = t->d, n_save = (size_t)(T / dt_save + 0.5);
    double *ts = malloc(n_save * sizeof *ts), *xv0 = calloc(2 * d, sizeof *xv0);
    if (!ts || !xv0) { free(ts); free(xv0); return NULL; }
    for (size_t i = 0; i < n_save; i++) ts[i] = (double)(i + 1) * dt_save;
    nde_langevin p = { .dim = d, .gamma = gamma, .u = 1.0, .grad = grad_cb, .user = t };
    nde_brownian *bm = nde_brownian_tree_create(d, 0.0, T, 1e-5 * dt_save, seed, NDE_LEVY_SPACE_TIME_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.rtol = rtol;
    o.atol = rtol;
    o.dt0 = dt0;
    o.ts = ts; o.n_ts = n_save;
    o.step_ts = ts; o.n_step_ts = n_save;
    o.max_steps = 100000000;
    nde_solution sol;
    t->ngrad = 0;
    int rc = bm ? nde_langevin_solve(&p, 0.0, T, xv0, bm, &o, &sol) : NDE_ENOMEM;
    nde_brownian_free(bm);
    free(ts);
    free(xv0);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", method, bm ? nde_solution_message(&sol) : "no tree");
        if (bm) nde_solution_free(&sol);
        return NULL;
    }
    size_t burn = sol.n / 10;
    *n = sol.n - burn;
    *grads = (double)sol.stats.nfe * (double)(sol.n - burn) / (double)sol.n;
    double *out = malloc(*n * sol.dim * sizeof *out);
    if (out) memcpy(out, sol.y + burn * sol.dim, *n * sol.dim * sizeof *out);
    nde_solution_free(&sol);
    return out;
}

/* ---- NUTS (Hoffman & Gelman 2014, Algorithm 6) --------------------------------------------------- */

#define NUTS_MAX_DEPTH 10
#define NUTS_DELTA_MAX 1000.0

typedef struct point { double *th, *r, *g; double f; } point;   /* position, momentum, grad f, f */

typedef struct nuts {
    target *t;
    size_t d;
    uint64_t seed, inormal, iuniform;
    point minus, plus;
    point inner[NUTS_MAX_DEPTH + 1];       /* the subtree's first node, per depth */
    point prop[NUTS_MAX_DEPTH + 1];        /* the subtree's proposal, per depth */
    double *buf;
} nuts;

static void point_copy(point *dst, const point *src, size_t d)
{
    memcpy(dst->th, src->th, d * sizeof *dst->th);
    memcpy(dst->r, src->r, d * sizeof *dst->r);
    memcpy(dst->g, src->g, d * sizeof *dst->g);
    dst->f = src->f;
}

static double uniform(nuts *S)
{
    double u;
    nde_uniform_fill_at(S->seed, NDE_STREAM_USER_FIRST + 1, S->iuniform++, 1, &u);
    return u;
}

static double kinetic(const double *r, size_t d)
{
    double k = 0;
    for (size_t i = 0; i < d; i++) k += r[i] * r[i];
    return 0.5 * k;
}

static void leapfrog(nuts *S, point *p, double eps)
{
    const size_t d = S->d;
    for (size_t i = 0; i < d; i++) p->r[i] -= 0.5 * eps * p->g[i];
    for (size_t i = 0; i < d; i++) p->th[i] += eps * p->r[i];
    S->t->ngrad++;
    p->f = S->t->fg(S->t, p->th, p->g);
    for (size_t i = 0; i < d; i++) p->r[i] -= 0.5 * eps * p->g[i];
}

/* No U-turn between the ends a (minus side) and b (plus side). */
static int no_uturn(const point *a, const point *b, size_t d)
{
    double da = 0, db = 0;
    for (size_t i = 0; i < d; i++) {
        double dt = b->th[i] - a->th[i];
        da += dt * a->r[i];
        db += dt * b->r[i];
    }
    return da >= 0 && db >= 0;
}

/* Extends `edge` by 2^j leapfrog steps in direction v; the subtree's proposal goes to
 * prop[j], its first node to inner[j]; returns n (nodes in the slice), s (no stop). */
static void build_tree(nuts *S, point *edge, double log_u, int v, int j, double eps, double H0, size_t *n, int *s,
                       double *alpha, size_t *nalpha)
{
    const size_t d = S->d;
    if (j == 0) {
        leapfrog(S, edge, v * eps);
        double H = edge->f + kinetic(edge->r, d);
        *n = log_u <= -H;
        *s = log_u < NUTS_DELTA_MAX - H;
        double a = exp(H0 - H);
        *alpha += isfinite(a) && a < 1.0 ? a : (isnan(a) ? 0.0 : 1.0);
        (*nalpha)++;
        point_copy(&S->prop[0], edge, d);
        point_copy(&S->inner[0], edge, d);
        return;
    }
    size_t n1, n2;
    int s1, s2;
    build_tree(S, edge, log_u, v, j - 1, eps, H0, &n1, &s1, alpha, nalpha);
    point_copy(&S->prop[j], &S->prop[j - 1], d);
    point_copy(&S->inner[j], &S->inner[j - 1], d);
    if (s1) {
        build_tree(S, edge, log_u, v, j - 1, eps, H0, &n2, &s2, alpha, nalpha);
        if (n1 + n2 > 0 && uniform(S) < (double)n2 / (double)(n1 + n2)) point_copy(&S->prop[j], &S->prop[j - 1], d);
        const point *lo = v > 0 ? &S->inner[j] : edge, *hi = v > 0 ? edge : &S->inner[j];
        *s = s2 && no_uturn(lo, hi, d);
        *n = n1 + n2;
    } else {
        *s = 0;
        *n = n1;
    }
}

static int nuts_init(nuts *S, target *t, uint64_t seed)
{
    const size_t d = t->d, npoints = 2 * (NUTS_MAX_DEPTH + 1) + 3;
    memset(S, 0, sizeof *S);
    S->t = t; S->d = d; S->seed = seed;
    S->buf = malloc(npoints * 3 * d * sizeof *S->buf);
    if (!S->buf) return -1;
    double *b = S->buf;
    point *all[2 * (NUTS_MAX_DEPTH + 1) + 2];
    size_t k = 0;
    all[k++] = &S->minus; all[k++] = &S->plus;
    for (int j = 0; j <= NUTS_MAX_DEPTH; j++) { all[k++] = &S->inner[j]; all[k++] = &S->prop[j]; }
    for (size_t i = 0; i < k; i++) { all[i]->th = b; all[i]->r = b + d; all[i]->g = b + 2 * d; b += 3 * d; }
    return 0;
}

/* One NUTS transition from cur (position, grad and f valid) into cur. */
static double nuts_step(nuts *S, point *cur, double eps)
{
    const size_t d = S->d;
    nde_normal_fill_at(S->seed, NDE_STREAM_USER_FIRST, S->inormal, d, cur->r);
    S->inormal += d;
    const double H0 = cur->f + kinetic(cur->r, d);
    const double log_u = log(uniform(S)) - H0;
    point_copy(&S->minus, cur, d);
    point_copy(&S->plus, cur, d);
    size_t n = 1, nalpha = 0;
    int s = 1;
    double alpha = 0;
    for (int j = 0; s && j < NUTS_MAX_DEPTH; j++) {
        int v = uniform(S) < 0.5 ? -1 : 1;
        size_t n1;
        int s1;
        build_tree(S, v < 0 ? &S->minus : &S->plus, log_u, v, j, eps, H0, &n1, &s1, &alpha, &nalpha);
        if (s1 && uniform(S) < (double)n1 / (double)n) point_copy(cur, &S->prop[j], d);
        n += n1;
        s = s1 && no_uturn(&S->minus, &S->plus, d);
    }
    return nalpha ? alpha / (double)nalpha : 0.0;
}

/* Warm-up with dual averaging (delta 0.8, gamma 0.05, t0 10, kappa 0.75), then n_keep
 * samples; returns them (d doubles each), the sampling phase's gradients in *grads. */
static double *nuts_chain(target *t, size_t n_warm, size_t n_keep, double *grads, double *eps_out, uint64_t seed)
{
    const size_t d = t->d;
    nuts S;
    double *cur_buf = calloc(3 * d, sizeof *cur_buf), *out = malloc(n_keep * d * sizeof *out);
    if (!cur_buf || !out || nuts_init(&S, t, seed)) { free(cur_buf); free(out); return NULL; }
    point cur = { cur_buf, cur_buf + d, cur_buf + 2 * d, 0 };
    cur.f = t->fg(t, cur.th, cur.g);
    /* a reasonable first step (Hoffman & Gelman Algorithm 4) */
    double eps = 1.0;
    {
        point *q = &S.prop[0];
        for (int it = 0; it < 50; it++) {
            point_copy(q, &cur, d);
            nde_normal_fill_at(seed, NDE_STREAM_USER_FIRST, S.inormal, d, q->r);
            S.inormal += d;
            double H0 = q->f + kinetic(q->r, d);
            leapfrog(&S, q, eps);
            double logratio = H0 - (q->f + kinetic(q->r, d));
            if (it == 0 && !(logratio > log(0.5))) eps *= 0.5;
            else if (!(logratio > log(0.5))) { eps *= 0.5; }
            else if (it == 0) eps *= 2.0;
            else break;
            if (it > 0 && logratio > log(0.5)) break;
        }
    }
    const double mu = log(10.0 * eps), delta = 0.8, gam = 0.05, t0 = 10.0, kappa = 0.75;
    double Hbar = 0.0, log_eps_bar = 0.0;
    for (size_t m = 1; m <= n_warm; m++) {
        double a = nuts_step(&S, &cur, eps);
        Hbar = (1.0 - 1.0 / ((double)m + t0)) * Hbar + (delta - a) / ((double)m + t0);
        double log_eps = mu - sqrt((double)m) / gam * Hbar, w = pow((double)m, -kappa);
        log_eps_bar = w * log_eps + (1.0 - w) * log_eps_bar;
        eps = exp(log_eps);
    }
    eps = exp(log_eps_bar);
    size_t g0 = t->ngrad;
    for (size_t m = 0; m < n_keep; m++) {
        nuts_step(&S, &cur, eps);
        memcpy(out + m * d, cur.th, d * sizeof *out);
    }
    *grads = (double)(t->ngrad - g0);
    *eps_out = eps;
    free(S.buf);
    free(cur_buf);
    return out;
}

/* ---- the runs ------------------------------------------------------------------------------------- */

typedef struct uld_run { const char *method; double rtol, dt0; } uld_run;

static void bench_target(target *t, const double *exact_mean, const double *exact_sd, double gamma, double T,
                         double dt_save, size_t n_warm, size_t n_keep, const uld_run *runs, size_t n_runs)
{
    const size_t d = t->d;
    double nuts_grads = 0, eps = 0;
    t->ngrad = 0;
    double *ns = nuts_chain(t, n_warm, n_keep, &nuts_grads, &eps, 77);
    if (!ns) { fprintf(stderr, "%s: NUTS failed\n", t->name); return; }
    summary sn;
    summarise(ns, n_keep, d, d, nuts_grads, &sn);
    const double *ref_mean = exact_mean ? exact_mean : sn.mean, *ref_sd = exact_sd ? exact_sd : sn.sd;
    double nuts_per = sn.ess_min / sn.grads;
    char label[64];
    snprintf(label, sizeof label, "NUTS (eps %.3f)", eps);
    print_row(t->name, label, &sn, n_keep, exact_mean ? mean_dev(&sn, ref_mean, ref_sd, d) : 0.0,
              exact_sd ? sd_dev(&sn, ref_sd, d) : 0.0, nuts_per);
    for (size_t k = 0; k < n_runs; k++) {
        size_t n = 0;
        double grads = 0;
        double *ls = langevin_chain(t, runs[k].method, runs[k].rtol, runs[k].dt0, gamma, T, dt_save, &n, &grads,
                                    1234);
        if (!ls) continue;
        summary s;
        summarise(ls, n, 2 * d, d, grads, &s);
        if (runs[k].rtol > 0) snprintf(label, sizeof label, "%s rtol=atol=%.0e", runs[k].method, runs[k].rtol);
        else snprintf(label, sizeof label, "%s dt=%.3g", runs[k].method, runs[k].dt0);
        print_row(t->name, label, &s, n, mean_dev(&s, ref_mean, ref_sd, d), sd_dev(&s, ref_sd, d), nuts_per);
        summary_free(&s);
        free(ls);
    }
    summary_free(&sn);
    free(ns);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    printf("underdamped Langevin MCMC (gamma, u = 1; samples every dt_save, 10%% burn-in) against NUTS\n"
           "(Hoffman & Gelman 2014 Alg. 6, identity mass, dual averaging to acceptance 0.8).\n"
           "Paper's claim (Jelinczic, Foster & Kidger 2024): adaptive 3rd-order ULD beats NUTS with a tenth of\n"
           "its gradient evaluations. 'x NUTS' = (min ESS per gradient) / NUTS's.\n\n");

    target banana = { .name = "banana", .d = 2, .fg = banana_fg };
    const double bmean[2] = { 0, 0 }, bsd[2] = { 1.0, sqrt(3.0) };
    const uld_run bruns[] = {
        { "quicsort", 1e-1, 0 }, { "quicsort", 1e-2, 0 }, { "align", 1e-1, 0 }, { "align", 1e-2, 0 },
        { "should", 1e-2, 0 }, { "quicsort", 0, 0.25 },
    };
    bench_target(&banana, bmean, bsd, 2.0, quick ? 4000 : 40000, 1.0, quick ? 500 : 2000, quick ? 4000 : 40000,
                 bruns, sizeof bruns / sizeof bruns[0]);

    target lr = { 0 };
    if (make_logreg(&lr, 1000, 100)) { fprintf(stderr, "out of memory\n"); return 1; }
    const uld_run lruns[] = {
        { "quicsort", 1e-1, 0 }, { "quicsort", 3e-2, 0 }, { "align", 1e-1, 0 }, { "quicsort", 0, 0.5 },
    };
    printf("\n");
    bench_target(&lr, NULL, NULL, 2.0, quick ? 500 : 2000, 1.0, quick ? 200 : 500, quick ? 500 : 2000, lruns,
                 sizeof lruns / sizeof lruns[0]);
    free(lr.X);
    free(lr.y);
    return 0;
}
