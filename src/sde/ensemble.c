/* Ensembles of SDE paths (include/nde/sde.h): path i is nde_sde_solve on its own tree
 * (seed nde_ensemble_path_seed(seed, i)), the paths spread over POSIX threads in a fixed
 * interleaving, the summaries formed afterwards in path order, so that nothing depends
 * on the thread count. POSIX threads rather than OpenMP: glibc has them in libc, so a
 * static libnde needs no extra flag in its users' links (OpenMP would need -fopenmp
 * there, and libomp for clang builds). */
#define _POSIX_C_SOURCE 200809L
#include "sde/internal.h"
#include "nde/random.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t nde_ensemble_path_seed(uint64_t seed, size_t i)
{
    const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    const uint32_t ctr[4] = { (uint32_t)i, (uint32_t)((uint64_t)i >> 32), 0x656e7365u /* "ense" */, 1u };
    uint32_t out[4];
    nde_philox4x32_10(ctr, key, out);
    return (uint64_t)out[0] | (uint64_t)out[1] << 32;
}

const char *nde_ensemble_message(const nde_ensemble *e) { return e ? e->message_ : ""; }

void nde_ensemble_free(nde_ensemble *e)
{
    if (!e) return;
    nde_allocator al = e->alloc_;
    if (e->t) nde__free(&al, e->t, e->bytes_);
    memset(e, 0, sizeof *e);
}

/* More threads than this are not started (the workers' slots live on the stack). */
#define NDE__ENS_MAX_THREADS 64

/* What every worker shares. */
typedef struct ens_job {
    const nde_sde *sde;
    double t0, t1, tol;
    const double *y0;
    nde_options o;            /* errbuf cleared: messages go to each path's solution */
    int levy;
    uint64_t seed;
    nde_ensemble *e;
    size_t first, stride;     /* this worker: paths first, first + stride, ... */
    char (*msgs)[NDE_MESSAGE_MAX];/* the first failing path's message per worker */
    size_t *first_fail;       /* per worker: the first failed path, or paths */
    size_t worker;
} ens_job;

/* Path i into e->y, status and stats; its message into msg when it fails. */
static int solve_path(const ens_job *J, size_t i, char *msg)
{
    nde_ensemble *e = J->e;
    size_t row = e->n * e->dim;
    char why[NDE_MESSAGE_MAX];
    nde_brownian *bm = nde_brownian_tree_create_ex(J->sde->noise_dim, fmin(J->t0, J->t1), fmax(J->t0, J->t1),
                                                   J->tol, nde_ensemble_path_seed(J->seed, i), J->levy,
                                                   J->o.allocator, why, sizeof why);
    int rc = NDE_ENOMEM;
    if (!bm) {
        snprintf(msg, NDE_MESSAGE_MAX, "path %zu: %.200s", i, why);
    } else {
        nde_solution sol;
        rc = nde_sde_solve(J->sde, J->t0, J->t1, J->y0, bm, &J->o, &sol);
        e->stats[i] = sol.stats;
        if (rc >= 0 && sol.n != e->n) {
            rc = NDE_EINVAL;
            snprintf(msg, NDE_MESSAGE_MAX, "path %zu saved %zu points, path 0 %zu", i, sol.n, e->n);
        } else if (rc >= 0) {
            memcpy(e->y + i * row, sol.y, row * sizeof *sol.y);
            if (i == 0) memcpy(e->t, sol.t, e->n * sizeof *sol.t);
        } else {
            snprintf(msg, NDE_MESSAGE_MAX, "path %zu: %.200s", i, nde_solution_message(&sol));
        }
        nde_solution_free(&sol);
        nde_brownian_free(bm);
    }
    e->status[i] = rc;
    if (rc < 0)
        for (size_t k = 0; k < row; k++) e->y[i * row + k] = NAN;
    return rc;
}

/* One worker's share: paths first, first + stride, ...; it keeps the message of its
 * lowest failing path. */
static void *worker(void *arg)
{
    ens_job *J = arg;
    size_t paths = J->e->paths;
    char msg[NDE_MESSAGE_MAX];
    for (size_t i = J->first; i < paths; i += J->stride)
        if (solve_path(J, i, msg) < 0 && i < J->first_fail[J->worker]) {
            J->first_fail[J->worker] = i;
            memcpy(J->msgs[J->worker], msg, sizeof msg);
        }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean, variance and quantiles over the successful paths, in path order; col is a
 * scratch of paths doubles. */
static void summarise(nde_ensemble *e, const double *q, double *col)
{
    size_t row = e->n * e->dim;
    for (size_t j = 0; j < row; j++) {
        size_t m = 0;
        for (size_t i = 0; i < e->paths; i++)
            if (e->status[i] >= 0) col[m++] = e->y[i * row + j];
        double mean = 0.0, ss = 0.0;
        for (size_t k = 0; k < m; k++) mean += col[k];
        mean = m ? mean / (double)m : NAN;
        for (size_t k = 0; k < m; k++) ss += (col[k] - mean) * (col[k] - mean);
        e->mean[j] = mean;
        e->var[j] = m > 1 ? ss / (double)(m - 1) : NAN;
        if (!e->n_quantiles) continue;
        qsort(col, m, sizeof *col, cmp_double);
        for (size_t a = 0; a < e->n_quantiles; a++) {
            double v = NAN;
            if (m) {
                double pos = q[a] * (double)(m - 1);
                size_t lo = (size_t)pos, hi = lo + 1 < m ? lo + 1 : lo;
                v = col[lo] + (pos - (double)lo) * (col[hi] - col[lo]);
            }
            e->quantiles[a * row + j] = v;
        }
    }
}

#define ENS_FAIL(status, ...) do { nde__msg(out->message_, NDE_MESSAGE_MAX, status, __VA_ARGS__); \
    if (opts && opts->errbuf && opts->errbuf_size) snprintf(opts->errbuf, opts->errbuf_size, "%s", out->message_); \
    return status; } while (0)

int nde_sde_ensemble(const nde_sde *sde, double t0, double t1, const double *y0,
                     const nde_options *opts, const nde_ensemble_options *eo, nde_ensemble *out)
{
    if (!out) return NDE_EINVAL;
    memset(out, 0, sizeof *out);
    out->alloc_ = nde__allocator_resolve(opts ? opts->allocator : NULL);
    if (!sde || !y0 || !eo) ENS_FAIL(NDE_EINVAL, "%s is NULL", !sde ? "sde" : !y0 ? "y0" : "eo");
    if (eo->paths == 0) ENS_FAIL(NDE_EINVAL, "paths must be >= 1, got 0");
    if (eo->n_quantiles && !eo->quantiles) ENS_FAIL(NDE_EINVAL, "quantiles is NULL but n_quantiles = %zu", eo->n_quantiles);
    for (size_t a = 0; a < eo->n_quantiles; a++)
        if (!(eo->quantiles[a] >= 0.0 && eo->quantiles[a] <= 1.0))
            ENS_FAIL(NDE_EINVAL, "quantiles[%zu] = %g is outside [0, 1]", a, eo->quantiles[a]);
    if (!(eo->tree_tol >= 0.0) || !isfinite(eo->tree_tol)) ENS_FAIL(NDE_EINVAL, "tree_tol must be >= 0, got %g", eo->tree_tol);
    if (eo->threads < 0) ENS_FAIL(NDE_EINVAL, "threads must be >= 0, got %d", eo->threads);
    nde_options o = opts ? *opts : (nde_options)NDE_OPTIONS_INIT;
    if (o.save & (NDE_SAVE_STEPS | NDE_SAVE_DENSE))
        ENS_FAIL(NDE_EINVAL, "an ensemble saves at ts (or t1) only: NDE_SAVE_STEPS and NDE_SAVE_DENSE would "
                 "differ between paths");
    if (o.n_events) ENS_FAIL(NDE_EINVAL, "an ensemble takes no events (paths would stop at different times)");
    if (!isfinite(t0) || !isfinite(t1) || t0 == t1)
        ENS_FAIL(NDE_EINVAL, "t0 = %g and t1 = %g must be finite and differ", t0, t1);
    o.errbuf = NULL; o.errbuf_size = 0;

    ens_job J = { .sde = sde, .t0 = t0, .t1 = t1, .y0 = y0, .o = o, .seed = eo->seed, .e = out };
    J.levy = NDE_LEVY_SPACE_TIME;        /* the default methods may need H */
    nde_sde_method_info info;
    if (o.method && nde_sde_method_info_get(o.method, &info) == NDE_OK) J.levy = info.levy;
    J.tol = eo->tree_tol > 0.0 ? eo->tree_tol
          : (o.rtol == 0.0 && o.dt0 != 0.0) ? 0.5 * fabs(o.dt0) : ldexp(fabs(t1 - t0), -24);

    /* path 0 alone first: it validates everything nde_sde_solve checks and fixes n */
    out->paths = eo->paths;
    out->dim = sde->dim;
    out->n_quantiles = eo->n_quantiles;
    {
        char why[NDE_MESSAGE_MAX];
        nde_brownian *bm = nde_brownian_tree_create_ex(sde->noise_dim ? sde->noise_dim : 1, fmin(t0, t1),
                                                       fmax(t0, t1), J.tol, nde_ensemble_path_seed(eo->seed, 0),
                                                       J.levy, o.allocator, why, sizeof why);
        if (!bm) ENS_FAIL(NDE_ENOMEM, "path 0: %s", why);
        nde_solution sol;
        int rc = nde_sde_solve(sde, t0, t1, y0, bm, &o, &sol);
        out->n = sol.n;
        nde_brownian_free(bm);
        if (rc == NDE_EINVAL || rc == NDE_EUNSUPPORTED) {
            nde__msg(out->message_, NDE_MESSAGE_MAX, rc, "%s", nde_solution_message(&sol));
            nde_solution_free(&sol);
            if (opts && opts->errbuf && opts->errbuf_size) snprintf(opts->errbuf, opts->errbuf_size, "%s", out->message_);
            return rc;
        }
        nde_solution_free(&sol);
    }
    size_t dim = sde->dim, n = out->n, P = eo->paths, Q = eo->n_quantiles, row, bytes = 0;
    int bad = nde__size_mul(n, dim, &row);
    bad |= nde__size_muladd(&bytes, n, sizeof(double));                 /* t */
    bad |= nde__size_muladd(&bytes, P, row * sizeof(double));           /* y */
    bad |= nde__size_muladd(&bytes, 2 + Q, row * sizeof(double));       /* mean var quantiles */
    bad |= nde__size_muladd(&bytes, P, sizeof(double));                 /* a column scratch */
    bad |= nde__size_muladd(&bytes, P, sizeof(nde_stats));
    bad |= nde__size_muladd(&bytes, P, sizeof(int));
    bad |= nde__size_add(bytes, 2 * sizeof(double), &bytes);            /* alignment slack */
    if (bad) ENS_FAIL(NDE_ENOMEM, "%zu paths x %zu points x dim %zu are too many", P, n, dim);
    char *mem = nde__alloc(&out->alloc_, bytes);
    if (!mem) ENS_FAIL(NDE_ENOMEM, "out of memory for the ensemble (%zu bytes)", bytes);
    out->bytes_ = bytes;
    double *d = (double *)(void *)mem;
    out->t = d; d += n;
    out->y = d; d += P * row;
    out->mean = d; d += row;
    out->var = d; d += row;
    out->quantiles = Q ? d : NULL; d += Q * row;
    double *col = d; d += P;
    out->stats = (nde_stats *)(void *)d;
    out->status = (int *)(void *)(out->stats + P);

    /* workers: the caller and threads - 1 more */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    size_t T = eo->threads > 0 ? (size_t)eo->threads : (online > 0 ? (size_t)online : 1);
    if (T > P) T = P;
    if (T > NDE__ENS_MAX_THREADS) T = NDE__ENS_MAX_THREADS;
    ens_job jobs[NDE__ENS_MAX_THREADS];
    pthread_t tid[NDE__ENS_MAX_THREADS];
    char msgs[NDE__ENS_MAX_THREADS][NDE_MESSAGE_MAX];
    size_t first_fail[NDE__ENS_MAX_THREADS];
    size_t started = 1;
    for (size_t w = 0; w < T; w++) {
        jobs[w] = J;
        jobs[w].first = w; jobs[w].stride = T; jobs[w].worker = w;
        jobs[w].msgs = msgs; jobs[w].first_fail = first_fail;
        first_fail[w] = P;
        msgs[w][0] = '\0';
    }
    for (size_t w = 1; w < T; w++) {
        if (pthread_create(&tid[w], NULL, worker, &jobs[w]) != 0) break;   /* fewer threads: */
        started++;
    }
    if (started < T) {            /* redistribute: the caller takes the paths of the missing ones */
        for (size_t w = started; w < T; w++) worker(&jobs[w]);   /* their own slots */
    }
    worker(&jobs[0]);
    for (size_t w = 1; w < started; w++) pthread_join(tid[w], NULL);

    size_t fail = P, fail_w = 0;
    for (size_t w = 0; w < T; w++)
        if (first_fail[w] < fail) { fail = first_fail[w]; fail_w = w; }
    for (size_t i = 0; i < P; i++) {
        if (out->status[i] < 0) out->failed++;
        nde_stats *s = &out->stats[i], *t = &out->total;
        t->steps += s->steps; t->accepted += s->accepted; t->rejected += s->rejected; t->nfe += s->nfe;
        t->njac += s->njac; t->nlu += s->nlu; t->nnewton += s->nnewton;
    }
    summarise(out, eo->quantiles, col);
    if (fail < P) {
        nde__msg(out->message_, NDE_MESSAGE_MAX, out->status[fail], "%.200s (%zu of %zu paths failed)",
                 msgs[fail_w], out->failed, P);
        if (opts && opts->errbuf && opts->errbuf_size) snprintf(opts->errbuf, opts->errbuf_size, "%s", out->message_);
        return out->status[fail];
    }
    return NDE_OK;
}
