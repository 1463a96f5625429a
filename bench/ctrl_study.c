/* bench/ctrl_study.c — deterministic work-precision of nde's explicit methods under
 * step-size controller variants: accepted/rejected steps, f-evaluations and error at
 * rtol = atol = 1e-3 ... 1e-13 (half decades), and the f-evaluations needed for an
 * error of 1e-4, 1e-7, 1e-10 (log-log interpolation between sweep points). No timing:
 * NFE and rejections are reproducible on a loaded machine.
 *
 *   nde_ctrl_study [--methods a,b] [--problems p,q] [--variants v,w] [--sweep]
 *
 * Problems: the work-precision problems of problems.c (quad-precision references in
 * refs.h) and bruss: the 1-D Brusselator of Hairer & Wanner II (1996), IV.1 (N = 500,
 * alpha = 1/50, t in [0, 10]), integrated explicitly, where stability, not accuracy,
 * limits the step; its reference is vern9 at rtol 1e-13.
 *
 * Variants (nde_options fields; beta: Hairer's PI stabilisation, errold^beta, i.e.
 * pcoeff = beta k, icoeff = 1 - 1.75 beta k with k = embedded order + 1):
 *   diffrax   factormin_accept = 1 (never shrink after an accepted step), I control
 *   fmin02    factormin_accept = 0.2
 *   pi04      factormin_accept = 0.2, beta = 0.04
 *   pi08      factormin_accept = 0.2, beta = 0.08
 *   pi04x     factormin_accept = 1, beta = 0.04
 *   default   nde's defaults (NDE_OPTIONS_INIT) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde/ode.h"
#include "problems.h"

/* ---- the Brusselator, explicit (u, v interleaved) -------------------------------- */
#define BRUSS_N 500
static int bruss_rhs(double t, const double *y, double *dy, void *user)
{
    (void)t; (void)user;
    const double a = (1.0 / 50.0) * (BRUSS_N + 1) * (BRUSS_N + 1);
    for (int i = 0; i < BRUSS_N; i++) {
        double u = y[2 * i], v = y[2 * i + 1];
        double ul = i > 0 ? y[2 * i - 2] : 1.0, ur = i < BRUSS_N - 1 ? y[2 * i + 2] : 1.0;
        double vl = i > 0 ? y[2 * i - 1] : 3.0, vr = i < BRUSS_N - 1 ? y[2 * i + 3] : 3.0;
        dy[2 * i] = 1.0 + u * u * v - 4.0 * u + a * (ul - 2.0 * u + ur);
        dy[2 * i + 1] = 3.0 * u - u * u * v + a * (vl - 2.0 * v + vr);
    }
    return 0;
}
static void bruss_init(double *y)
{
    for (int i = 0; i < BRUSS_N; i++) {
        double x = (double)(i + 1) / (BRUSS_N + 1);
        y[2 * i] = 1.0 + sin(2.0 * 3.14159265358979323846 * x);
        y[2 * i + 1] = 3.0;
    }
}
static const bench_problem bruss = {
    .name = "bruss", .family = "stiff", .description = "1-D Brusselator N = 500 (explicit), t in [0, 10]",
    .source = "Hairer & Wanner II (1996), IV.1", .dim = 2 * BRUSS_N, .t0 = 0.0, .t1 = 10.0,
    .init = bruss_init, .f = bruss_rhs, .stiff = 1 };

/* ---- variants ----------------------------------------------------------------------- */
typedef struct { const char *name; double fmin_accept, beta; int defaults; } variant;
static const variant variants[] = {
    { "diffrax", 1.0, 0.0, 0 }, { "fmin02", 0.2, 0.0, 0 }, { "pi04", 0.2, 0.04, 0 },
    { "pi08", 0.2, 0.08, 0 }, { "pi04x", 1.0, 0.04, 0 }, { "default", 0, 0, 1 },
};

static int in_list(const char *list, const char *name)
{
    if (!list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!q) break;
        p = q + 1;
    }
    return 0;
}

typedef struct { double rtol, err; long steps, rej, nfe; int ok; } point;

static point run(const bench_problem *p, const nde_method *m, const variant *v, double rtol,
                 const double *ref, double *yout)
{
    point r = { rtol, NAN, 0, 0, 0, 0 };
    double *y0 = malloc(p->dim * sizeof *y0);
    if (!y0) return r;
    zoo_y0(p, y0);
    nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = rtol;
    o.atol = rtol * BENCH_ATOL_RATIO;
    o.max_steps = 2000000;
    if (!v->defaults) {
        double k = (double)(nde_method_embedded_order(m) + 1);
        o.factormin_accept = v->fmin_accept;
        if (v->beta > 0.0) { o.pcoeff = v->beta * k; o.icoeff = 1.0 - 1.75 * v->beta * k; }
        else { o.pcoeff = 0.0; o.icoeff = 1.0; }
    }
    nde_solution sol;
    int rc = nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol);
    if (rc == NDE_OK && sol.n > 0) {
        const double *y = sol.y + (sol.n - 1) * p->dim;
        if (ref) r.err = bench_error(p->dim, y, ref, BENCH_ATOL_RATIO);
        if (yout) memcpy(yout, y, p->dim * sizeof *y);
        r.ok = 1;
    }
    r.steps = (long)sol.stats.accepted; r.rej = (long)sol.stats.rejected; r.nfe = (long)sol.stats.nfe;
    nde_solution_free(&sol);
    free(y0);
    return r;
}

/* f-evaluations for error e: the cheapest sweep point with error <= e, or the log-log
 * interpolation between consecutive points that bracket e; -1 if none reached it. */
static double nfe_at(const point *pt, int n, double e)
{
    double best = -1;
    for (int i = 0; i < n; i++)
        if (pt[i].ok && pt[i].err <= e && (best < 0 || pt[i].nfe < best)) best = (double)pt[i].nfe;
    for (int i = 0; i + 1 < n; i++) {
        const point *a = &pt[i], *b = &pt[i + 1];
        if (!a->ok || !b->ok || !(a->err > e && b->err <= e) || a->err <= 0 || b->err <= 0) continue;
        double f = (log(e) - log(a->err)) / (log(b->err) - log(a->err));
        double nf = exp(log((double)a->nfe) + f * (log((double)b->nfe) - log((double)a->nfe)));
        if (best < 0 || nf < best) best = nf;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *methods = "dopri5,tsit5,vern7,dopri8,vern9", *problems = NULL, *vars = NULL;
    int sweep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--methods") && i + 1 < argc) methods = argv[++i];
        else if (!strcmp(argv[i], "--problems") && i + 1 < argc) problems = argv[++i];
        else if (!strcmp(argv[i], "--variants") && i + 1 < argc) vars = argv[++i];
        else if (!strcmp(argv[i], "--sweep")) sweep = 1;
        else { fprintf(stderr, "usage: nde_ctrl_study [--methods L] [--problems L] [--variants L] [--sweep]\n"); return 2; }
    }
    const bench_problem *probs[8];
    int np = 0;
    for (size_t i = 0; i < bench_n_wp_problems; i++) probs[np++] = bench_wp_problem(i);
    probs[np++] = &bruss;
    printf("%-10s %-7s %-8s %9s %9s %9s   %8s %9s  (nfe at error 1e-4, 1e-7, 1e-10; sums over rtol 1e-3..1e-13)\n",
           "problem", "method", "variant", "1e-4", "1e-7", "1e-10", "rejected", "nfe");
    for (int ip = 0; ip < np; ip++) {
        const bench_problem *p = probs[ip];
        if (!in_list(problems, p->name)) continue;
        const double *ref = p->ref;
        double *own = NULL;
        if (!ref) {   /* bruss: a tight vern9 solve */
            own = malloc(p->dim * sizeof *own);
            static const variant d = { "default", 0, 0, 1 };
            run(p, nde_method_find("vern9"), &d, 1e-13, NULL, own);
            ref = own;
        }
        for (const char *mp = methods; *mp;) {
            char name[32];
            size_t len = strcspn(mp, ",");
            snprintf(name, sizeof name, "%.*s", (int)len, mp);
            mp += len + (mp[len] == ',');
            const nde_method *m = nde_method_find(name);
            if (!m) { fprintf(stderr, "no method %s\n", name); continue; }
            for (size_t iv = 0; iv < sizeof variants / sizeof variants[0]; iv++) {
                const variant *v = &variants[iv];
                if (!in_list(vars, v->name)) continue;
                /* beta = 0.08 makes icoeff = 1 - 1.75 beta k negative beyond order 5 */
                if (1.0 - 1.75 * v->beta * (nde_method_embedded_order(m) + 1) <= 0.2) continue;
                point pt[32];
                int n = 0;
                long rej = 0, nfe = 0;
                /* 1e-3 ... 1e-13 in half decades; bruss (stability-limited, ~3 s a solve):
                 * 1e-3 ... 1e-7 in decades */
                const int stiff = !strcmp(p->name, "bruss");
                for (int j = 0; j <= (stiff ? 4 : 20); j++) {
                    pt[n] = run(p, m, v, pow(10.0, -3.0 - (stiff ? 1.0 : 0.5) * j), ref, NULL);
                    rej += pt[n].rej; nfe += pt[n].nfe;
                    if (sweep)
                        printf("  %-10s %-7s %-8s rtol %.1e steps %7ld rejected %6ld nfe %8ld err %.2e\n",
                               p->name, name, v->name, pt[n].rtol, pt[n].steps, pt[n].rej, pt[n].nfe, pt[n].err);
                    n++;
                }
                double a = nfe_at(pt, n, 1e-4), b = nfe_at(pt, n, 1e-7), c = nfe_at(pt, n, 1e-10);
                printf("%-10s %-7s %-8s %9.0f %9.0f %9.0f   %8ld %9ld\n", p->name, name, v->name, a, b, c, rej, nfe);
                fflush(stdout);
            }
        }
        free(own);
    }
    return 0;
}
