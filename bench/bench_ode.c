/* bench/bench_ode.c — ODE work-precision and per-step overhead of nde against
 * GSL, SUNDIALS (ARKODE, CVODE) and Boost.Odeint.
 *
 *   nde_bench_ode wp       [--quick] [--tools a,b] [--problems p,q] [--clock wall|cpu] [--csv FILE]
 *   nde_bench_ode overhead [--quick] [--tools a,b] [--csv FILE]
 *   nde_bench_ode summary  --wp FILE --overhead FILE [--out DIR]
 *   nde_bench_ode list
 *
 * wp: every work-precision problem of problems.c at rtol = 1e-3 ... 1e-13
 * (atol = rtol * BENCH_ATOL_RATIO), every compiled-in solver; one CSV row per run with
 * steps, rejections, f-evaluations, the error against the zoo's reference
 * (zoo/refs_bench.h) and the median wall time of one solve.
 * overhead: y' = -y (n = 1 and 1000) with every step accepted at a capped step size
 * (adaptive machinery running) and with constant steps; ns per step minus the
 * measured cost of the f-evaluations.
 * summary: reads the CSVs (of possibly several executables), prints the tables with
 * nde's time over the fastest peer's at matched error, writes ode_summary.md,
 * ode_ratio.csv and the gnuplot input of the work-precision plot.
 *
 * Timing: each run is first done once untimed (counting f-evaluations, checking
 * success, measuring the error; it also warms caches), then one timed solve sizes a
 * batch of reps solves lasting >= 20 ms, and the reported time is the median over 7
 * batches (3 when a batch is long) of batch time / reps. The batches of all solvers
 * at one (problem, tolerance) are interleaved round-robin (measure_group).
 * Method and rationale: docs/benchmarks.md.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- solver registry -------------------------------------------------------------- */

#define MAX_SOLVERS 32
static const bench_solver *g_solvers[MAX_SOLVERS];
static size_t g_n_solvers;

static void add_solvers(size_t (*reg)(const bench_solver **))
{
    const bench_solver *list;
    const size_t n = reg(&list);
    for (size_t i = 0; i < n && g_n_solvers < MAX_SOLVERS; i++) g_solvers[g_n_solvers++] = &list[i];
}

static void register_all(void)
{
#ifdef BENCH_WITH_NDE
    add_solvers(bench_nde_solvers);
#endif
#ifdef BENCH_WITH_GSL
    add_solvers(bench_gsl_solvers);
#endif
#ifdef BENCH_WITH_SUNDIALS
    add_solvers(bench_sundials_solvers);
#endif
#ifdef BENCH_WITH_BOOST
    add_solvers(bench_boost_solvers);
#endif
}

/* Comma-separated filter: NULL or "" accepts everything; entries match a tool name,
 * "tool/method" or a problem name. */
static int in_list(const char *list, const char *a, const char *b)
{
    if (!list || !*list) return 1;
    char full[96];
    snprintf(full, sizeof full, "%s/%s", a, b ? b : "");
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        const size_t len = e ? (size_t)(e - s) : strlen(s);
        if ((strlen(a) == len && strncmp(s, a, len) == 0) ||
            (b && strlen(full) == len && strncmp(s, full, len) == 0))
            return 1;
        s += len + (e ? 1 : 0);
    }
    return 0;
}

/* ---- timing ----------------------------------------------------------------------- */

typedef struct timing {
    double target;      /* seconds per batch */
    int batches;        /* batches when a batch is short */
} timing;

typedef struct job {
    const bench_solver *s;
    bench_spec sp;
    /* results */
    int ok;
    bench_out out;      /* from the counting run */
    double wall;        /* median seconds per solve */
    long reps;
    int batches;
    double *y;          /* y(t1) of the counting run */
    /* private */
    void *ctx;
    double *yt;
    double times[8];
} job;

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s == ',' || *s == '\n' || *s == '"') *s = ';';
}

/* The clock of the timed batches: wall time (bench_now), or with `--clock cpu` this
 * thread's CPU time, which a loaded shared machine inflates far less (time slices given
 * to other processes do not count; their cache pollution still does). */
static int g_cpu_clock;
static double batch_now(void)
{
    if (!g_cpu_clock) return bench_now();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Measures a group of runs (all solvers at one problem and tolerance) with their
 * timed batches interleaved round-robin, so that load changes on a shared machine
 * hit every solver alike. */
static void measure_group(job *J, size_t n, const timing *tm)
{
    int maxb = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = &J[i];
        const size_t dim = j->sp.p->dim;
        j->ok = 0;
        j->y = calloc(dim, sizeof *j->y);
        j->yt = calloc(dim, sizeof *j->yt);
        if (!j->y || !j->yt) { snprintf(j->out.msg, sizeof j->out.msg, "out of memory"); continue; }
        j->ctx = j->s->setup(j->s, &j->sp, j->out.msg, sizeof j->out.msg);
        if (!j->ctx) {
            if (!j->out.msg[0]) snprintf(j->out.msg, sizeof j->out.msg, "setup failed");
            continue;
        }
        if (j->s->solve(j->ctx, j->y, &j->out, 1) != 0 || !j->out.ok) {
            j->s->teardown(j->ctx);
            j->ctx = NULL;
            continue;
        }
        bench_out o;
        memset(&o, 0, sizeof o);
        const double t = batch_now();
        j->s->solve(j->ctx, j->yt, &o, 0);
        const double once = fmax(batch_now() - t, 1e-9);
        long reps = (long)ceil(tm->target / once);
        if (reps < 1) reps = 1;
        if (reps > 10000000) reps = 10000000;
        j->reps = reps;
        j->batches = (double)reps * once > 0.25 ? 3 : tm->batches;
        if (once > 2.0) j->batches = 1;
        if (j->batches > maxb) maxb = j->batches;
        j->ok = 1;
    }
    for (int b = 0; b < maxb; b++) {
        for (size_t i = 0; i < n; i++) {
            job *j = &J[i];
            if (!j->ok || b >= j->batches) continue;
            bench_out o;
            memset(&o, 0, sizeof o);
            const double t = batch_now();
            for (long r = 0; r < j->reps; r++) j->s->solve(j->ctx, j->yt, &o, 0);
            j->times[b] = (batch_now() - t) / (double)j->reps;
            if (!o.ok) {
                j->ok = 0;
                snprintf(j->out.msg, sizeof j->out.msg, "timed run failed: %.120s", o.msg);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        job *j = &J[i];
        if (j->ok) {
            const int nb = j->batches;
            qsort(j->times, (size_t)nb, sizeof j->times[0], cmp_double);
            j->wall = nb % 2 ? j->times[nb / 2] : 0.5 * (j->times[nb / 2 - 1] + j->times[nb / 2]);
            /* Counting wrappers must not change the computation. */
            for (size_t d = 0; d < j->sp.p->dim; d++)
                if (j->yt[d] != j->y[d] && !(isnan(j->yt[d]) && isnan(j->y[d]))) {
                    snprintf(j->out.msg, sizeof j->out.msg, "counted and timed runs differ");
                    break;
                }
        }
        sanitize(j->out.msg);
        if (j->ctx) j->s->teardown(j->ctx);
        j->ctx = NULL;
        free(j->yt);
        j->yt = NULL;
    }
}

/* ---- wp ----------------------------------------------------------------------------- */

/* to 1e-13: the RMS-normed local tolerance reaches a global error of 1e-10 only there on
 * arenstorf (rtol 1e-10 gives ~1e-7) */
static const double wp_rtols[] = { 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13 };
static const double quick_rtols[] = { 1e-3, 1e-6, 1e-9 };

static int cmd_wp(int quick, const char *tools, const char *problems, FILE *csv)
{
    const timing tm = { quick ? 0.005 : 0.02, quick ? 3 : 7 };
    const double *rtols = quick ? quick_rtols : wp_rtols;
    const size_t nr = quick ? sizeof quick_rtols / sizeof *quick_rtols : sizeof wp_rtols / sizeof *wp_rtols;
    fprintf(csv, "problem,tool,method,rtol,atol,status,steps,rejected,nfe,error,wall_s,reps,batches,note\n");
    fflush(csv);
    int failures = 0;
    for (size_t ip = 0; ip < bench_n_wp_problems; ip++) {
        const bench_problem *p = bench_wp_problem(ip);
        if (!in_list(problems, p->name, NULL)) continue;
        const double *ref = p->ref;
        if (!ref) {
            fprintf(stderr, "bench_ode: the zoo has no reference y(t1) for %s\n", p->name);
            return 1;
        }
        const double t_problem = bench_now();
        for (size_t ir = 0; ir < nr; ir++) {
            job J[MAX_SOLVERS];
            size_t nj = 0;
            for (size_t is = 0; is < g_n_solvers; is++) {
                const bench_solver *s = g_solvers[is];
                if (!in_list(tools, s->tool, s->method)) continue;
                if ((s->flags & BENCH_LOOSE) && rtols[ir] < 1e-6 * 0.999) continue;
                memset(&J[nj], 0, sizeof J[nj]);
                J[nj].s = s;
                J[nj].sp = (bench_spec){ p, rtols[ir], rtols[ir] * BENCH_ATOL_RATIO, 0.0, 0.0 };
                nj++;
            }
            measure_group(J, nj, &tm);
            for (size_t i = 0; i < nj; i++) {
                const job *m = &J[i];
                const double err = m->ok ? bench_error(p->dim, m->y, ref, BENCH_ATOL_RATIO) : NAN;
                if (!m->ok) failures++;
                fprintf(csv, "%s,%s,%s,%.0e,%.3e,%s,%ld,%ld,%ld,%.6e,%.6e,%ld,%d,%s\n", p->name,
                        m->s->tool, m->s->method, m->sp.rtol, m->sp.atol, m->ok ? "ok" : "fail",
                        m->out.steps, m->out.rejected, m->out.nfe, err, m->wall, m->reps,
                        m->batches, m->out.msg);
                fprintf(stderr, "  %-10s %-9s %-14s rtol %.0e  steps %6ld  nfe %7ld  err %.2e  %.3e s%s%s\n",
                        p->name, m->s->tool, m->s->method, m->sp.rtol, m->out.steps, m->out.nfe, err,
                        m->wall, m->out.msg[0] ? "  " : "", m->out.msg);
                free(m->y);
            }
            fflush(csv);
        }
        fprintf(stderr, "bench_ode: %s done in %.1f s\n", p->name, bench_now() - t_problem);
    }
    return failures ? 2 : 0;
}

/* ---- overhead ----------------------------------------------------------------------- */

/* Cost of one f-evaluation through a function pointer, as the solvers call it. */
static double rhs_cost(const bench_problem *p)
{
    double *y = malloc(p->dim * sizeof *y), *dy = malloc(p->dim * sizeof *dy);
    if (!y || !dy) { free(y); free(dy); return 0.0; }
    zoo_y0(p, y);
    bench_rhs volatile f = p->f;
    long reps = 1000;
    double times[5];
    for (;;) {
        const double t = bench_now();
        for (long r = 0; r < reps; r++) f(0.0, y, dy, p->user);
        if (bench_now() - t > 0.02) break;
        reps *= 4;
    }
    for (int b = 0; b < 5; b++) {
        const double t = bench_now();
        for (long r = 0; r < reps; r++) f(0.0, y, dy, p->user);
        times[b] = (bench_now() - t) / (double)reps;
    }
    qsort(times, 5, sizeof times[0], cmp_double);
    free(y);
    free(dy);
    return times[2];
}

static int cmd_overhead(int quick, const char *tools, FILE *csv)
{
    const timing tm = { quick ? 0.005 : 0.02, quick ? 3 : 7 };
    /* n = 1: 10000 steps of 1e-4; n = 1000: 1000 steps of 1e-3 (t in [0, 1]). */
    const struct { const bench_problem *p; double h; } cases[] = {
        { bench_decay1(), 1e-4 }, { bench_decay1000(), 1e-3 },
    };
    fprintf(csv, "mode,problem,dim,tool,method,status,steps,nfe,wall_s,total_ns_step,rhs_ns_call,overhead_ns_step,nfe_per_step,note\n");
    for (int ic = 0; ic < 2; ic++) {
        const bench_problem *p = cases[ic].p;
        const double rhs_ns = 1e9 * rhs_cost(p);
        fprintf(stderr, "bench_ode: %s: f costs %.1f ns per call\n", p->name, rhs_ns);
        for (int mode = 0; mode < 2; mode++) {
            job J[MAX_SOLVERS];
            size_t nj = 0;
            for (size_t is = 0; is < g_n_solvers; is++) {
                const bench_solver *s = g_solvers[is];
                if (!in_list(tools, s->tool, s->method)) continue;
                if (mode == 1 && !(s->flags & BENCH_FIXED)) continue;
                memset(&J[nj], 0, sizeof J[nj]);
                J[nj].s = s;
                J[nj].sp = mode == 0 ? (bench_spec){ p, 1e-6, 1e-6, cases[ic].h, 0.0 }
                                     : (bench_spec){ p, 1e-6, 1e-6, 0.0, cases[ic].h };
                nj++;
            }
            measure_group(J, nj, &tm);
            for (size_t i = 0; i < nj; i++) {
                const job *m = &J[i];
                const double steps = (double)m->out.steps;
                const double total = m->ok && steps > 0 ? 1e9 * m->wall / steps : NAN;
                const double over = m->ok && steps > 0 ? (1e9 * m->wall - (double)m->out.nfe * rhs_ns) / steps : NAN;
                fprintf(csv, "%s,%s,%zu,%s,%s,%s,%ld,%ld,%.6e,%.1f,%.2f,%.1f,%.2f,%s\n",
                        mode ? "fixed" : "adaptive", p->name, p->dim, m->s->tool, m->s->method,
                        m->ok ? "ok" : "fail", m->out.steps, m->out.nfe, m->wall, total, rhs_ns, over,
                        steps > 0 ? (double)m->out.nfe / steps : NAN, m->out.msg);
                fprintf(stderr, "  %-8s n=%-4zu %-9s %-14s steps %6ld nfe %7ld  %9.1f ns/step  overhead %9.1f%s%s\n",
                        mode ? "fixed" : "adaptive", p->dim, m->s->tool, m->s->method, m->out.steps,
                        m->out.nfe, total, over, m->out.msg[0] ? "  " : "", m->out.msg);
                free(m->y);
            }
            fflush(csv);
        }
    }
    return 0;
}

/* ---- summary ------------------------------------------------------------------------ */

typedef struct row {
    char problem[24], tool[24], method[24];
    double rtol, err, wall;
    long steps, rejected, nfe;
    int ok;
} row;

typedef struct table { row *r; size_t n, cap; } table;

/* Splits a CSV line in place (no quoting: the writers never emit commas in fields). */
static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *c = line; *c && n < max; c++)
        if (*c == ',') { *c = 0; f[n++] = c + 1; }
    return n;
}

static int read_wp(const char *path, table *t)
{
    FILE *fp = fopen(path, "r");
    if (!fp) { fprintf(stderr, "bench_ode: cannot read %s\n", path); return -1; }
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        char *f[16];
        if (strncmp(line, "problem,", 8) == 0 || split(line, f, 16) < 11) continue;
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 256;
            row *nr = realloc(t->r, t->cap * sizeof *nr);
            if (!nr) { fclose(fp); return -1; }
            t->r = nr;
        }
        row *r = &t->r[t->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->problem, sizeof r->problem, "%s", f[0]);
        snprintf(r->tool, sizeof r->tool, "%s", f[1]);
        snprintf(r->method, sizeof r->method, "%s", f[2]);
        r->rtol = atof(f[3]);
        r->ok = strcmp(f[5], "ok") == 0;
        r->steps = atol(f[6]);
        r->rejected = atol(f[7]);
        r->nfe = atol(f[8]);
        r->err = atof(f[9]);
        r->wall = atof(f[10]);
        if (!(r->err > 0.0) || !isfinite(r->err) || !(r->wall > 0.0)) r->ok = 0;
    }
    fclose(fp);
    return 0;
}

/* Errors above this are not solutions; matched-error comparisons ignore them. */
#define MAX_COMPARED_ERROR 1e-1

typedef struct pt { double e, t; size_t row; } pt;

static int cmp_pt(const void *a, const void *b)
{
    const pt *x = a, *y = b;
    return (x->e > y->e) - (x->e < y->e);
}

/* Pareto front of (error, time): sorted by increasing error, decreasing time. */
static size_t front(pt *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_pt);
    size_t k = 0;
    double tmin = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (p[i].t < tmin) { tmin = p[i].t; p[k++] = p[i]; }
    return k;
}

/* Time of a front at error e by linear interpolation of log(time) in log(error)
 * between its two neighbouring points; NAN outside the front's error range (no
 * extrapolation). */
static double front_time(const pt *p, size_t n, double e)
{
    if (n == 0) return NAN;
    const double slack = 1.0 + 1e-9;
    if (e < p[0].e / slack || e > p[n - 1].e * slack) return NAN;
    if (n == 1) return p[0].t;
    for (size_t i = 0; i + 1 < n; i++) {
        if (e <= p[i + 1].e * slack) {
            const double le = log(e), l0 = log(p[i].e), l1 = log(p[i + 1].e);
            const double w = l1 > l0 ? fmin(1.0, fmax(0.0, (le - l0) / (l1 - l0))) : 0.0;
            return exp(log(p[i].t) + w * (log(p[i + 1].t) - log(p[i].t)));
        }
    }
    return p[n - 1].t;
}

/* p: (error, wall time) runs, then their front (nf points); q: the same with the
 * f-evaluation count in place of the time. */
typedef struct series { char tool[24], method[24]; pt *p, *q; size_t n, nf, nq; } series;

static size_t collect_series(const table *t, const char *problem, series *S, size_t maxs)
{
    size_t ns = 0;
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->r[i];
        if (strcmp(r->problem, problem) != 0) continue;
        size_t k = 0;
        while (k < ns && !(strcmp(S[k].tool, r->tool) == 0 && strcmp(S[k].method, r->method) == 0)) k++;
        if (k == ns) {
            if (ns == maxs) continue;
            memset(&S[ns], 0, sizeof S[ns]);
            snprintf(S[ns].tool, sizeof S[ns].tool, "%s", r->tool);
            snprintf(S[ns].method, sizeof S[ns].method, "%s", r->method);
            S[ns].p = calloc(t->n, sizeof(pt));
            S[ns].q = calloc(t->n, sizeof(pt));
            ns++;
        }
        if (r->ok && S[k].p && S[k].q) {
            S[k].q[S[k].n] = (pt){ r->err, (double)r->nfe, i };
            S[k].p[S[k].n++] = (pt){ r->err, r->wall, i };
        }
    }
    return ns;
}

/* Fastest peer (non-nde series) at error e: the least of
 *  - each peer method's front time at e (interpolated, where its runs bracket e), and
 *  - the time of every peer run whose error is <= e (that peer did reach e that fast;
 *    this keeps a fast peer whose loosest run is already more accurate than e).
 * NAN when no peer run is as accurate as e (nde beyond the peers' accuracy). */
/* Order class of a method by name: 5 (orders 3-6), 8 (orders 7-8), 0 (other: Adams). */
static int method_class(const char *method)
{
    static const char *const low[] = { "bosh3", "dopri5", "tsit5", "rkf45", "erk_dp5", "erk_verner65",
                                       "dopri5_ctrl", "dopri5_dense" };
    static const char *const high[] = { "dopri8", "rk8pd", "erk_fehlberg78", "rkf78_ctrl" };
    for (size_t i = 0; i < sizeof low / sizeof *low; i++) if (strcmp(method, low[i]) == 0) return 5;
    for (size_t i = 0; i < sizeof high / sizeof *high; i++) if (strcmp(method, high[i]) == 0) return 8;
    return 0;
}

/* cls != 0: only peer methods of that order class. */
static double fastest_peer_of(const series *S, size_t ns, double e, size_t *which, int use_nfe, int cls)
{
    double best = NAN;
    for (size_t k = 0; k < ns; k++) {
        if (strcmp(S[k].tool, "nde") == 0) continue;
        if (cls && method_class(S[k].method) != cls) continue;
        const pt *P = use_nfe ? S[k].q : S[k].p;
        const size_t n = use_nfe ? S[k].nq : S[k].nf;
        const double tk = front_time(P, n, e);
        if (isfinite(tk) && !(tk >= best)) { best = tk; *which = k; }
        for (size_t i = 0; i < n; i++)
            if (P[i].e <= e && !(P[i].t >= best)) { best = P[i].t; *which = k; }
    }
    return best;
}

static double fastest_peer(const series *S, size_t ns, double e, size_t *which)
{
    return fastest_peer_of(S, ns, e, which, 0, 0);
}

/* Fewest peer f-evaluations at error e, by the same rules (NAN if none). */
static double fewest_peer_nfe(const series *S, size_t ns, double e)
{
    size_t w = 0;
    return fastest_peer_of(S, ns, e, &w, 1, 0);
}

/* Plot colours: nde bold and saturated, each peer family in its own hue. */
static const char *series_colour(const char *tool, const char *method)
{
    static const struct { const char *tool, *method, *rgb; } tab[] = {
        { "nde", "bosh3", "#9b59b6" }, { "nde", "dopri5", "#009e73" },
        { "nde", "tsit5", "#0072b2" }, { "nde", "dopri8", "#d55e00" },
        { "gsl", "rkf45", "#56b4e9" }, { "gsl", "rk8pd", "#1f3a93" },
        { "boost", "dopri5_ctrl", "#e69f00" }, { "boost", "dopri5_dense", "#c9b200" },
        { "boost", "rkf78_ctrl", "#8c510a" },
        { "arkode", "erk_dp5", "#e41a1c" }, { "arkode", "erk_verner65", "#f781bf" },
        { "arkode", "erk_fehlberg78", "#a50f15" }, { "cvode", "adams", "#4daf4a" },
    };
    char base[24];
    snprintf(base, sizeof base, "%.20s", tool);
    char *u = strstr(base, "_o2");
    if (u) *u = 0;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].tool, base) == 0 && strcmp(tab[i].method, method) == 0) return tab[i].rgb;
    return "#777777";
}

typedef struct ratio_stats { int n, nn; double logsum, lognfe, max, min, max_e; char max_what[96]; } ratio_stats;

static void ratio_add(ratio_stats *s, double r, double e, const char *what)
{
    if (s->n == 0) { s->max = r; s->min = r; }
    s->n++;
    s->logsum += log(r);
    if (r >= s->max) { s->max = r; s->max_e = e; snprintf(s->max_what, sizeof s->max_what, "%s", what); }
    if (r < s->min) s->min = r;
}

static int cmd_summary(const char *wp_path, const char *oh_path, const char *outdir)
{
    table t = { 0 };
    if (read_wp(wp_path, &t) != 0) return 1;
    char path[512];
    snprintf(path, sizeof path, "%s/ode_ratio.csv", outdir);
    FILE *rc = fopen(path, "w");
    snprintf(path, sizeof path, "%s/ode_summary.md", outdir);
    FILE *md = fopen(path, "w");
    snprintf(path, sizeof path, "%s/ode_wp.dat", outdir);
    FILE *dat = fopen(path, "w");
    snprintf(path, sizeof path, "%s/ode_wp.gp", outdir);
    FILE *gp = fopen(path, "w");
    if (!rc || !md || !dat || !gp) { fprintf(stderr, "bench_ode: cannot write to %s\n", outdir); return 1; }
    FILE *outs[2] = { stdout, md };

    fprintf(rc, "problem,nde_method,rtol,error,nde_wall_s,fastest_peer,peer_wall_s,ratio,on_nde_front\n");
    for (int o = 0; o < 2; o++)
        fprintf(outs[o],
                "## Work-precision: nde time / fastest peer time at matched error\n\n"
                "Fastest peer time at nde's error e: for each peer method, the Pareto front of its\n"
                "(error, median wall time) runs over the rtol sweep, with log(time) interpolated linearly\n"
                "in log(error) between the two runs that bracket e (no extrapolation); also any peer run\n"
                "with error <= e counts with its own time (it did reach e that fast). The minimum over all\n"
                "peer methods is the fastest peer time. nde runs more accurate than every peer run, or\n"
                "with error > %g, are not compared. 'front' = nde's best method at each error (Pareto\n"
                "front of all nde runs). ratio = nde time / fastest peer time; < 1: nde faster.\n"
                "nfe ratio: the same comparison in f-evaluations (nde nfe / fewest peer nfe at matched\n"
                "error): below 1 with a time ratio above 1 means nde loses on per-step cost, not steps.\n\n"
                "| problem | nde | points | ratio geo-mean | worst ratio (nde run, error, fastest peer) | best ratio | nfe ratio geo-mean |\n"
                "|---|---|---|---|---|---|---|\n",
                MAX_COMPARED_ERROR);

    /* gnuplot: one panel per problem. */
    fprintf(gp, "set terminal pngcairo size 1800,1350 font ',10'\nset output 'ode_workprecision.png'\n"
                "set multiplot layout 2,2 title 'nde vs peers: time per solve vs error at t1 (rtol 1e-3..1e-13)'\n"
                "set logscale xy\nset format x '10^{%%L}'\nset format y '10^{%%L}'\n"
                "set xlabel 'error  max_i |y_i-ref_i|/(|ref_i|+atol/rtol)'\nset ylabel 'wall time [s]'\n"
                "set key outside right top font ',8'\nset grid\n");
    int block = 0;
    char names[64][56];
    int nnames = 0;

    enum { N_LEVELS = 3 };
    static const double levels[N_LEVELS] = { 1e-4, 1e-7, 1e-10 };
    char lev[8192];
    size_t nlev = (size_t)snprintf(lev, sizeof lev,
                                   "\n## At error levels: nde front time / fastest peer time\n\n"
                                   "The front's time at the error (log-log interpolation between the two nde runs\n"
                                   "that bracket it, as for the peers); in brackets the nde run at or just below\n"
                                   "the error and the fastest peer.\n\n"
                                   "| problem | error 1e-4 | error 1e-7 | error 1e-10 |\n|---|---|---|---|\n");
    for (size_t ip = 0; ip < bench_n_wp_problems; ip++) {
        const char *prob = bench_wp_problem(ip)->name;
        series S[48];
        const size_t ns = collect_series(&t, prob, S, 48);
        if (ns == 0) continue;
        nlev += (size_t)snprintf(lev + nlev, sizeof lev - nlev, "| %s |", prob);
        if (nlev >= sizeof lev) nlev = sizeof lev - 1;
        pt *all = calloc(t.n, sizeof *all);
        size_t nall = 0;
        for (size_t k = 0; k < ns; k++) {
            /* plot data: every ok run in rtol order (before the front reorders them) */
            fprintf(dat, "# %s %s %s\n", prob, S[k].tool, S[k].method);
            for (size_t i = 0; i < S[k].n; i++) fprintf(dat, "%.6e %.6e\n", S[k].p[i].e, S[k].p[i].t);
            if (S[k].n == 0) fprintf(dat, "NaN NaN\n");
            fprintf(dat, "\n\n");
            if (strcmp(S[k].tool, "nde") == 0)
                for (size_t i = 0; i < S[k].n; i++)
                    if (S[k].p[i].e <= MAX_COMPARED_ERROR) all[nall++] = S[k].p[i];
            {
                size_t nq = 0;   /* only runs whose f-evaluations were counted */
                for (size_t i = 0; i < S[k].n; i++) if (S[k].q[i].t > 0) S[k].q[nq++] = S[k].q[i];
                S[k].nq = front(S[k].q, nq);
            }
            S[k].nf = front(S[k].p, S[k].n);
        }
        /* gnuplot panel */
        fprintf(gp, "set title '%s' noenhanced\nplot \\\n", prob);
        for (size_t k = 0; k < ns; k++) {
            char nm[56];
            snprintf(nm, sizeof nm, "%.23s %.23s", S[k].tool, S[k].method);
            int li = 0;
            while (li < nnames && strcmp(names[li], nm) != 0) li++;
            if (li == nnames && nnames < 64) snprintf(names[nnames++], sizeof names[0], "%s", nm);
            const int is_nde = strcmp(S[k].tool, "nde") == 0;
            const int is_o2 = strstr(S[k].tool, "_o2") != NULL;
            fprintf(gp, "  'ode_wp.dat' index %d using 1:2 with linespoints lc rgb '%s' lw %.1f dt %d pt %d ps %.1f title '%s' noenhanced%s\n",
                    block++, series_colour(S[k].tool, S[k].method), is_nde ? 3.0 : 1.2,
                    is_nde ? 1 : is_o2 ? 3 : 2, (li % 13) + 1, is_nde ? 1.3 : 0.9, nm,
                    k + 1 < ns ? ", \\" : "");
        }
        /* per nde method and nde front */
        ratio_stats fs = { 0 };
        nall = front(all, nall);   /* nde's front: best nde method at each error */
        for (size_t i = 0; i < nall; i++) {
            const row *r = &t.r[all[i].row];
            size_t w = 0;
            const double tp = fastest_peer(S, ns, all[i].e, &w);
            if (!isfinite(tp)) continue;
            char what[96];
            snprintf(what, sizeof what, "%s %.0e, %.1e, %s %s", r->method, r->rtol, all[i].e, S[w].tool, S[w].method);
            ratio_add(&fs, all[i].t / tp, all[i].e, what);
            const double qn = fewest_peer_nfe(S, ns, all[i].e);
            if (isfinite(qn) && qn > 0 && r->nfe > 0) { fs.nn++; fs.lognfe += log((double)r->nfe / qn); }
        }
        /* the front (interpolated between nde's runs) against the fastest peer at the
         * issue's error levels */
        for (int il = 0; il < N_LEVELS; il++) {
            const double e = levels[il];
            size_t w = 0;
            const double tn = front_time(all, nall, e), tp = fastest_peer(S, ns, e, &w);
            size_t best = 0;
            for (size_t i = 0; i + 1 < nall; i++)   /* the nde run at or just below e */
                if (all[i + 1].e <= e) best = i + 1;
            if (isfinite(tn) && isfinite(tp))
                nlev += (size_t)snprintf(lev + nlev, sizeof lev - nlev, " %.2f (%s, %s %s) |", tn / tp,
                                         nall ? t.r[all[best].row].method : "-", S[w].tool, S[w].method);
            else
                nlev += (size_t)snprintf(lev + nlev, sizeof lev - nlev, " - (%s) |",
                                         !isfinite(tn) ? "nde runs do not bracket it" : "no peer reaches it");
            if (nlev >= sizeof lev) nlev = sizeof lev - 1;
        }
        nlev += (size_t)snprintf(lev + nlev, sizeof lev - nlev, "\n");
        if (nlev >= sizeof lev) nlev = sizeof lev - 1;
        for (int o = 0; o < 2; o++) {
            if (fs.n)
                fprintf(outs[o], "| %s | **front** | %d | **%.2f** | %.2f (%s) | %.2f | %.2f |\n", prob, fs.n,
                        exp(fs.logsum / fs.n), fs.max, fs.max_what, fs.min,
                        fs.nn ? exp(fs.lognfe / fs.nn) : NAN);
            else
                fprintf(outs[o], "| %s | **front** | 0 | - | - | - | - |\n", prob);
        }
        for (size_t k = 0; k < ns; k++) {
            if (strcmp(S[k].tool, "nde") != 0) continue;
            ratio_stats ms = { 0 };
            for (size_t i = 0; i < S[k].n; i++) {
                const row *r = &t.r[S[k].p[i].row];
                if (!r->ok) continue;
                size_t w = 0;
                const double tp = r->err <= MAX_COMPARED_ERROR ? fastest_peer(S, ns, r->err, &w) : NAN;
                int on_front = 0;
                for (size_t j = 0; j < nall; j++) if (all[j].row == S[k].p[i].row) on_front = 1;
                fprintf(rc, "%s,%s,%.0e,%.6e,%.6e,%s%s%s,%.6e,%.4f,%d\n", prob, r->method, r->rtol,
                        r->err, r->wall, isfinite(tp) ? S[w].tool : "", isfinite(tp) ? " " : "",
                        isfinite(tp) ? S[w].method : "", tp, r->wall / tp, on_front);
                if (!isfinite(tp)) continue;
                char what[96];
                snprintf(what, sizeof what, "%.0e, %.1e, %s %s", r->rtol, r->err, S[w].tool, S[w].method);
                ratio_add(&ms, r->wall / tp, r->err, what);
                const double qn = fewest_peer_nfe(S, ns, r->err);
                if (isfinite(qn) && qn > 0 && r->nfe > 0) { ms.nn++; ms.lognfe += log((double)r->nfe / qn); }
            }
            for (int o = 0; o < 2; o++) {
                if (ms.n)
                    fprintf(outs[o], "| %s | %s | %d | %.2f | %.2f (%s) | %.2f | %.2f |\n", prob, S[k].method,
                            ms.n, exp(ms.logsum / ms.n), ms.max, ms.max_what, ms.min,
                            ms.nn ? exp(ms.lognfe / ms.nn) : NAN);
                else
                    fprintf(outs[o], "| %s | %s | 0 | - | - | - | - |\n", prob, S[k].method);
            }
        }
        for (size_t k = 0; k < ns; k++) { free(S[k].p); free(S[k].q); }
        free(all);
    }
    fprintf(gp, "unset multiplot\n");
    for (int o = 0; o < 2; o++) fputs(lev, outs[o]);

    /* Same-order comparison: each nde method against the fastest peer method of its
     * order class (5: rkf45, dopri5, DP5, Verner65; 8: rk8pd, rkf78, Fehlberg78). */
    for (int o = 0; o < 2; o++)
        fprintf(outs[o], "\n## Same order class: nde method time / fastest peer of its class at matched error\n\n"
                         "Class 5 peers: gsl rkf45, boost dopri5_ctrl/dense, arkode(_o2) erk_dp5/erk_verner65; class 8:\n"
                         "gsl rk8pd, boost rkf78_ctrl, arkode(_o2) erk_fehlberg78 (bosh3 is compared with class 5).\n\n"
                         "| problem | nde method | points | time ratio geo-mean | max | nfe ratio geo-mean |\n|---|---|---|---|---|---|\n");
    for (size_t ip = 0; ip < bench_n_wp_problems; ip++) {
        const char *prob = bench_wp_problem(ip)->name;
        series S[48];
        const size_t ns = collect_series(&t, prob, S, 48);
        for (size_t k = 0; k < ns; k++) {
            size_t nq = 0;
            for (size_t i = 0; i < S[k].n; i++) if (S[k].q[i].t > 0) S[k].q[nq++] = S[k].q[i];
            S[k].nq = front(S[k].q, nq);
        }
        /* Peers get their time fronts in P (copies); the nde series keep all their runs. */
        series P[48];
        pt *fr[48];
        for (size_t k = 0; k < ns; k++) {
            P[k] = S[k];
            fr[k] = malloc((S[k].n ? S[k].n : 1) * sizeof(pt));
            if (fr[k]) {
                memcpy(fr[k], S[k].p, S[k].n * sizeof(pt));
                P[k].p = fr[k];
                P[k].nf = front(fr[k], S[k].n);
            } else {
                P[k].nf = 0;
            }
        }
        for (size_t k = 0; k < ns; k++) {
            if (strcmp(S[k].tool, "nde") != 0) continue;
            const int cls = method_class(S[k].method);
            int n = 0, nn = 0;
            double ls = 0, lq = 0, mx = 0;
            for (size_t i = 0; i < S[k].n; i++) {
                const row *r = &t.r[S[k].p[i].row];
                if (!r->ok || r->err > MAX_COMPARED_ERROR) continue;
                size_t w = 0;
                const double tp = fastest_peer_of(P, ns, r->err, &w, 0, cls);
                if (!isfinite(tp)) continue;
                n++;
                ls += log(r->wall / tp);
                if (r->wall / tp > mx) mx = r->wall / tp;
                const double qn = fastest_peer_of(P, ns, r->err, &w, 1, cls);
                if (isfinite(qn) && qn > 0 && r->nfe > 0) { nn++; lq += log((double)r->nfe / qn); }
            }
            for (int o = 0; o < 2; o++) {
                if (n)
                    fprintf(outs[o], "| %s | %s | %d | %.2f | %.2f | %.2f |\n", prob, S[k].method, n,
                            exp(ls / n), mx, nn ? exp(lq / nn) : NAN);
                else
                    fprintf(outs[o], "| %s | %s | 0 | - | - | - |\n", prob, S[k].method);
            }
        }
        for (size_t k = 0; k < ns; k++) { free(S[k].p); free(S[k].q); free(fr[k]); }
    }

    /* Raw table of the fastest run per tool at a few error levels. */
    for (int o = 0; o < 2; o++)
        fprintf(outs[o], "\n## Cheapest run per tool with error <= 1e-6 (wall time, method, rtol, steps, nfe)\n\n"
                         "| problem | nde | gsl | boost | arkode | cvode | arkode_o2 | cvode_o2 |\n|---|---|---|---|---|---|---|---|\n");
    static const char *tools[] = { "nde", "gsl", "boost", "arkode", "cvode", "arkode_o2", "cvode_o2" };
    for (size_t ip = 0; ip < bench_n_wp_problems; ip++) {
        const char *prob = bench_wp_problem(ip)->name;
        char line[2048];
        size_t len = (size_t)snprintf(line, sizeof line, "| %s |", prob);
        for (size_t it = 0; it < sizeof tools / sizeof *tools; it++) {
            const row *best = NULL;
            for (size_t i = 0; i < t.n; i++) {
                const row *r = &t.r[i];
                if (r->ok && strcmp(r->problem, prob) == 0 && strcmp(r->tool, tools[it]) == 0 &&
                    r->err <= 1e-6 && (!best || r->wall < best->wall))
                    best = r;
            }
            if (best)
                len += (size_t)snprintf(line + len, sizeof line - len, " %.3g s %s %.0e %ld %ld |",
                                        best->wall, best->method, best->rtol, best->steps, best->nfe);
            else
                len += (size_t)snprintf(line + len, sizeof line - len, " - |");
        }
        for (int o = 0; o < 2; o++) fprintf(outs[o], "%s\n", line);
    }

    /* Failed runs. */
    int nfail = 0;
    for (size_t i = 0; i < t.n; i++) {
        const row *r = &t.r[i];
        if (r->ok) continue;
        if (nfail++ == 0)
            for (int o = 0; o < 2; o++)
                fprintf(outs[o], "\n## Failed runs (details in the CSV's note column)\n\n| problem | tool method | rtol |\n|---|---|---|\n");
        for (int o = 0; o < 2; o++)
            fprintf(outs[o], "| %s | %s %s | %.0e |\n", r->problem, r->tool, r->method, r->rtol);
    }

    /* Overhead table. */
    FILE *oh = oh_path ? fopen(oh_path, "r") : NULL;
    if (oh) {
        for (int o = 0; o < 2; o++)
            fprintf(outs[o], "\n## Per-step overhead, y' = -y (ns per step; overhead = total - nfe x f-cost)\n\n"
                             "| mode | tool method | n=1 total | n=1 overhead | n=1000 total | n=1000 overhead | nfe/step |\n"
                             "|---|---|---|---|---|---|---|\n");
        typedef struct ohrow { char mode[12], name[56]; double tot[2], over[2], nps; } ohrow;
        ohrow orows[96];
        int no = 0;
        char line[1024];
        while (fgets(line, sizeof line, oh)) {
            line[strcspn(line, "\r\n")] = 0;
            char *f[16];
            if (strncmp(line, "mode,", 5) == 0 || split(line, f, 16) < 13) continue;
            char name[56];
            snprintf(name, sizeof name, "%s %s", f[3], f[4]);
            const int d = atoi(f[2]) == 1 ? 0 : 1;
            int k = 0;
            while (k < no && !(strcmp(orows[k].mode, f[0]) == 0 && strcmp(orows[k].name, name) == 0)) k++;
            if (k == no) {
                if (no == 96) continue;
                memset(&orows[no], 0, sizeof orows[no]);
                snprintf(orows[no].mode, sizeof orows[no].mode, "%s", f[0]);
                snprintf(orows[no].name, sizeof orows[no].name, "%s", name);
                orows[no].tot[0] = orows[no].tot[1] = orows[no].over[0] = orows[no].over[1] = NAN;
                no++;
            }
            const int okrow = strcmp(f[5], "ok") == 0;
            orows[k].tot[d] = okrow ? atof(f[9]) : NAN;
            orows[k].over[d] = okrow ? atof(f[11]) : NAN;
            if (d == 0) orows[k].nps = atof(f[12]);
        }
        fclose(oh);
        for (int k = 0; k < no; k++)
            for (int o = 0; o < 2; o++)
                fprintf(outs[o], "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.1f |\n", orows[k].mode,
                        orows[k].name, orows[k].tot[0], orows[k].over[0], orows[k].tot[1],
                        orows[k].over[1], orows[k].nps);
    }
    fclose(rc);
    fclose(md);
    fclose(dat);
    fclose(gp);
    free(t.r);
    return 0;
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: nde_bench_ode wp       [--quick] [--tools LIST] [--problems LIST] [--clock wall|cpu] [--csv FILE]\n"
            "       nde_bench_ode overhead [--quick] [--tools LIST] [--csv FILE]\n"
            "       nde_bench_ode summary  --wp FILE [--overhead FILE] [--out DIR]\n"
            "       nde_bench_ode list\n"
            "LIST: comma-separated tool names or tool/method (e.g. nde,gsl/rk8pd).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(); return 2; }
    const char *cmd = argv[1];
    int quick = 0;
    const char *tools = NULL, *problems = NULL, *csv = NULL, *wp = NULL, *ohp = NULL, *out = ".";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) quick = 1;
        else if (strcmp(a, "--tools") == 0 && v) { tools = v; i++; }
        else if (strcmp(a, "--problems") == 0 && v) { problems = v; i++; }
        else if (strcmp(a, "--csv") == 0 && v) { csv = v; i++; }
        else if (strcmp(a, "--clock") == 0 && v && (strcmp(v, "wall") == 0 || strcmp(v, "cpu") == 0)) {
            g_cpu_clock = strcmp(v, "cpu") == 0;
            i++;
        }
        else if (strcmp(a, "--wp") == 0 && v) { wp = v; i++; }
        else if (strcmp(a, "--overhead") == 0 && v) { ohp = v; i++; }
        else if (strcmp(a, "--out") == 0 && v) { out = v; i++; }
        else { usage(); return 2; }
    }
    register_all();
    if (strcmp(cmd, "list") == 0) {
        for (size_t i = 0; i < g_n_solvers; i++)
            printf("%s/%s (order %d)\n", g_solvers[i]->tool, g_solvers[i]->method, g_solvers[i]->order);
        return 0;
    }
    if (strcmp(cmd, "summary") == 0) {
        if (!wp) { usage(); return 2; }
        return cmd_summary(wp, ohp, out);
    }
    FILE *fp = csv ? fopen(csv, "w") : stdout;
    if (!fp) { fprintf(stderr, "bench_ode: cannot write %s\n", csv); return 1; }
    int rc;
    if (strcmp(cmd, "wp") == 0) rc = cmd_wp(quick, tools, problems, fp);
    else if (strcmp(cmd, "overhead") == 0) rc = cmd_overhead(quick, tools, fp);
    else { usage(); rc = 2; }
    if (fp != stdout) fclose(fp);
    return rc;
}
