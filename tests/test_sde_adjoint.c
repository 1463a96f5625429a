/* Gradients through SDE solves (nde_sde_solve_taped / nde_sde_backward, nde/adjoint.h).
 *
 * Oracle: central finite differences of the same seeded solve (nde_sde_solve on the
 * same Brownian tree, so the noise is the same path bit for bit) of a linear loss of
 * several saved points, with respect to every component of y0 and every parameter.
 * Step sizes are constants of the gradient; for adaptive solves the finite differences
 * therefore replay the accepted step sequence of the unperturbed solve (constant steps
 * clipped to its step ends, checked to reproduce its result), which is the discrete
 * map the gradient differentiates. Tolerance: 1e-7 relative to the largest gradient
 * component (the central difference's truncation error at eps = 1e-6 relative is
 * O(eps^2) ~ 1e-12 of the second derivative, its round-off ~ 1e-16 / eps = 1e-10 of L:
 * both far below; measured worsts are printed).
 *
 * Problems: a two-dimensional nonlinear time-dependent drift with four parameters and
 * three diffusions: diagonal (2 parameters, t-dependent), additive (2 x 3, six
 * parameters, t-dependent, so that the additive form's g(t + dt) - g(t) term has a
 * gradient), general (2 x 2, nonlinear in y, four parameters). Drift and diffusion
 * share one parameter vector. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"

#define MAXP 128

typedef struct sprob {
    int noise;
    size_t dim, m, np;
    double th[MAXP];
} sprob;

static int drift(double t, const double *y, double *f, void *u)
{
    const double *th = ((const sprob *)u)->th;
    f[0] = th[0] * y[0] + th[1] * sin(y[1]);
    f[1] = th[2] * y[0] * y[1] - th[3] * y[1] + 0.3 * cos(t);
    return 0;
}
static int drift_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const sprob *P = u;
    const double *th = P->th;
    if (ay) {
        ay[0] = a[0] * th[0] + a[1] * th[2] * y[1];
        ay[1] = a[0] * th[1] * cos(y[1]) + a[1] * (th[2] * y[0] - th[3]);
    }
    if (at) {
        memset(at, 0, P->np * sizeof *at);
        at[0] = a[0] * y[0]; at[1] = a[0] * sin(y[1]); at[2] = a[1] * y[0] * y[1]; at[3] = -a[1] * y[1];
    }
    return 0;
}

static int diffusion(double t, const double *y, double *g, void *u)
{
    const sprob *P = u;
    const double *th = P->th;
    switch (P->noise) {
    case NDE_NOISE_DIAGONAL:
        g[0] = th[4] * tanh(y[0]) * (1.0 + 0.5 * t);
        g[1] = th[5] * y[1] + 0.1 * y[0];
        break;
    case NDE_NOISE_ADDITIVE:
        for (size_t k = 0; k < 6; k++) g[k] = th[4 + k] * (1.0 + 0.5 * t);
        break;
    default:
        for (size_t d = 0; d < 2; d++)
            for (size_t k = 0; k < 2; k++) g[2 * d + k] = th[4 + 2 * d + k] * tanh(y[k] + 0.5 * y[d]);
    }
    return 0;
}
static int diffusion_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    const sprob *P = u;
    const double *th = P->th;
    double ayl[2] = { 0, 0 }, atl[MAXP] = { 0 };
    switch (P->noise) {
    case NDE_NOISE_DIAGONAL: {
        const double c = tanh(y[0]);
        ayl[0] = a[0] * th[4] * (1 - c * c) * (1.0 + 0.5 * t) + 0.1 * a[1];
        ayl[1] = a[1] * th[5];
        atl[4] = a[0] * c * (1.0 + 0.5 * t);
        atl[5] = a[1] * y[1];
        break;
    }
    case NDE_NOISE_ADDITIVE:
        for (size_t k = 0; k < 6; k++) atl[4 + k] = a[k] * (1.0 + 0.5 * t);
        break;
    default:
        for (size_t d = 0; d < 2; d++)
            for (size_t k = 0; k < 2; k++) {
                const double v = tanh(y[k] + 0.5 * y[d]), c = a[2 * d + k] * th[4 + 2 * d + k] * (1 - v * v);
                ayl[k] += c;
                ayl[d] += 0.5 * c;
                atl[4 + 2 * d + k] = a[2 * d + k] * v;
            }
    }
    if (ay) memcpy(ay, ayl, 2 * sizeof *ay);
    if (at) memcpy(at, atl, P->np * sizeof *at);
    return 0;
}

static sprob make(int noise)
{
    sprob P = { .noise = noise, .dim = 2 };
    const double th[10] = { -0.5, 0.8, 0.3, 0.4, 0.5, 0.3, -0.2, 0.4, 0.25, -0.35 };
    P.m = noise == NDE_NOISE_ADDITIVE ? 3 : 2;
    P.np = noise == NDE_NOISE_DIAGONAL ? 6 : noise == NDE_NOISE_ADDITIVE ? 10 : 8;
    memcpy(P.th, th, sizeof th);
    return P;
}

static nde_sde sde_of(sprob *P, int stratonovich)
{
    nde_sde q = { .dim = P->dim, .noise_dim = P->m, .noise = P->noise, .stratonovich = stratonovich,
                  .drift = drift, .diffusion = diffusion, .user = P, .drift_vjp = drift_vjp,
                  .diffusion_vjp = diffusion_vjp, .n_params = P->np };
    return q;
}

static const char *noise_name(int noise)
{
    return noise == NDE_NOISE_DIAGONAL ? "diagonal" : noise == NDE_NOISE_ADDITIVE ? "additive" : "general";
}

/* The loss's cotangent of point p, component d. */
static double cot(size_t p, size_t d) { return 1.0 + 0.3 * (double)p - 0.7 * (double)d; }

static double loss_of(const nde_solution *sol)
{
    double L = 0;
    for (size_t p = 0; p < sol->n; p++)
        for (size_t d = 0; d < sol->dim; d++) L += cot(p, d) * sol->y[p * sol->dim + d];
    return L;
}

/* L of an untaped solve; NAN on failure. */
static double loss(const nde_sde *q, double t0, double t1, const double *y0, nde_brownian *bm,
                   const nde_options *o)
{
    nde_solution sol;
    int rc = nde_sde_solve(q, t0, t1, y0, bm, o, &sol);
    double L = rc == NDE_OK ? loss_of(&sol) : NAN;
    nde_solution_free(&sol);
    return L;
}

/* Worst |gradient - central difference| / max |gradient| over y0 and theta; fd_opts
 * are the options of the difference solves (the same solve, or its replay). */
static double fd_worst(sprob *P, const nde_sde *q, double t0, double t1, const double *y0, nde_brownian *bm,
                       const nde_options *fd_opts, const double *g)
{
    const size_t n = P->dim + P->np;
    double fd[2 + MAXP], scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        double yp[2] = { y0[0], y0[1] }, *x = i < P->dim ? &yp[i] : &P->th[i - P->dim];
        const double x0 = *x, eps = 1e-6 * fmax(1.0, fabs(x0));
        *x = x0 + eps;
        double Lp = loss(q, t0, t1, yp, bm, fd_opts);
        *x = x0 - eps;
        double Lm = loss(q, t0, t1, yp, bm, fd_opts);
        *x = x0;
        fd[i] = (Lp - Lm) / (2 * eps);
    }
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(g[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(g[i] - fd[i]) / scale);
    return worst;
}

/* The cotangents dL/dy of the saved points of sol. */
static void cotangents(const nde_solution *sol, double *c)
{
    for (size_t p = 0; p < sol->n; p++)
        for (size_t d = 0; d < sol->dim; d++) c[p * sol->dim + d] = cot(p, d);
}

/* One gradient check: taped solve + backward vs central differences. adaptive: rtol >
 * 0 and the differences replay the accepted steps. Returns the worst relative error,
 * or +Inf on a failure (reported). */
static double check_one(const nde_method *m, int noise, int kind, int adaptive, int backward, size_t *steps)
{
    sprob P = make(noise);
    nde_sde_method_info info;
    nde_sde_method_info_get(m, &info);
    nde_sde q = sde_of(&P, info.stratonovich || info.additive_only);
    const double t0 = backward ? 1.0 : 0.0, t1 = backward ? 0.0 : 1.0;
    const double ts_f[3] = { 0.25, 0.6, 1.0 }, ts_b[3] = { 0.75, 0.4, 0.0 };
    const double y0[2] = { 0.8, -0.4 };
    nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-6, 11, info.levy);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.ts = backward ? ts_b : ts_f;
    o.n_ts = 3;
    o.save = NDE_SAVE_T0;
    if (adaptive) { o.rtol = 1e-2; o.atol = 1e-2; o.dt0 = 0.01; } else { o.rtol = 0; o.dt0 = backward ? -0.05 : 0.05; }
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = kind;
    nde_tape *tape = nde_tape_create(&ao);
    nde_solution sol;
    double worst = INFINITY;
    int rc = nde_sde_solve_taped(&q, t0, t1, y0, bm, &o, tape, &sol);
    CHECK_MSG(rc == NDE_OK, "%s %s: taped solve %d: %s", nde_method_name(m), noise_name(noise), rc, nde_solution_message(&sol));
    if (rc == NDE_OK) {
        CHECK_EQ_INT(sol.n, 4);
        double c[8], g[2 + MAXP];
        cotangents(&sol, c);
        rc = nde_sde_backward(tape, c, g, g + 2);
        CHECK_MSG(rc == NDE_OK, "%s: backward %d: %s", nde_method_name(m), rc, nde_tape_message(tape));
        /* the taped solve is the untaped one */
        CHECK_MSG(loss_of(&sol) == loss(&q, t0, t1, y0, bm, &o), "%s: taped and untaped solves differ", nde_method_name(m));
        nde_adjoint_stats st;
        nde_tape_stats(tape, &st);
        *steps = st.steps;
        nde_options fo = o;
        double *times = NULL;
        if (adaptive) {   /* replay: constant steps clipped to the accepted step ends */
            nde_options so = o;
            so.save = NDE_SAVE_STEPS;
            so.ts = NULL; so.n_ts = 0;
            so.step_ts = o.ts; so.n_step_ts = 3;
            nde_solution ss;
            CHECK(nde_sde_solve(&q, t0, t1, y0, bm, &so, &ss) == NDE_OK);
            CHECK_EQ_INT(ss.n, st.steps);
            times = malloc(ss.n * sizeof *times);
            memcpy(times, ss.t, ss.n * sizeof *times);
            fo.rtol = 0; fo.dt0 = backward ? -2.0 : 2.0;
            fo.step_ts = times; fo.n_step_ts = ss.n;
            nde_solution_free(&ss);
            double Lr = loss(&q, t0, t1, y0, bm, &fo), L = loss_of(&sol);
            CHECK_MSG(fabs(Lr - L) <= 1e-13 * fabs(L), "%s: the replay gives L = %.17g, the solve %.17g", nde_method_name(m), Lr, L);
        }
        if (rc == NDE_OK) worst = fd_worst(&P, &q, t0, t1, y0, bm, &fo, g);
        free(times);
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    nde_brownian_free(bm);
    return worst;
}

#define TOL 1e-7

static int is_reversible(const nde_method *m) { return strcmp(nde_method_name(m), "reversible_heun") == 0; }

/* Every SRK method on every noise kind it solves, constant steps, forwards. */
static void test_checkpoint_every_method_constant(void)
{
    for (size_t i = 0; i < nde_sde_method_count(); i++) {
        const nde_method *m = nde_sde_method_at(i);
        if (is_reversible(m)) continue;
        nde_sde_method_info info;
        CHECK(nde_sde_method_info_get(m, &info) == NDE_OK);
        for (int noise = 0; noise < 3; noise++) {
            if (!(info.noises & (1u << noise))) continue;
            size_t steps = 0;
            double w = check_one(m, noise, NDE_ADJOINT_CHECKPOINT, 0, 0, &steps);
            CHECK_MSG(w < TOL, "%s, %s noise: gradient vs central differences %.3g", nde_method_name(m), noise_name(noise), w);
            printf("  %-15s %-8s constant (%3zu steps): worst relative error %.2g\n", nde_method_name(m), noise_name(noise),
                   steps, w);
        }
    }
}

/* The adaptive methods, steps replayed; and a backward-in-time solve of each method. */
static void test_checkpoint_adaptive_and_backward(void)
{
    for (size_t i = 0; i < nde_sde_method_count(); i++) {
        const nde_method *m = nde_sde_method_at(i);
        if (is_reversible(m)) continue;
        nde_sde_method_info info;
        nde_sde_method_info_get(m, &info);
        for (int noise = 0; noise < 3; noise++) {
            if (!(info.noises & (1u << noise))) continue;
            size_t steps = 0;
            if (info.adaptive) {
                double w = check_one(m, noise, NDE_ADJOINT_CHECKPOINT, 1, 0, &steps);
                CHECK_MSG(w < TOL, "%s, %s noise, adaptive: %.3g", nde_method_name(m), noise_name(noise), w);
                printf("  %-15s %-8s adaptive (%3zu steps): worst relative error %.2g\n", nde_method_name(m), noise_name(noise),
                       steps, w);
            }
            double w = check_one(m, noise, NDE_ADJOINT_CHECKPOINT, 0, 1, &steps);
            CHECK_MSG(w < TOL, "%s, %s noise, backwards in time: %.3g", nde_method_name(m), noise_name(noise), w);
        }
    }
}

/* Reversible Heun's reversible adjoint on every noise kind, constant and adaptive,
 * forwards and backwards. */
static void test_reversible_fd(void)
{
    const nde_method *m = nde_sde_method_find("reversible_heun");
    CHECK(m != NULL);
    if (!m) return;
    for (int noise = 0; noise < 3; noise++)
        for (int mode = 0; mode < 3; mode++) {
            size_t steps = 0;
            double w = check_one(m, noise, NDE_ADJOINT_REVERSIBLE, mode == 1, mode == 2, &steps);
            CHECK_MSG(w < TOL, "reversible_heun, %s noise, %s: %.3g", noise_name(noise),
                      mode == 0 ? "constant" : mode == 1 ? "adaptive" : "backwards", w);
            printf("  reversible_heun %-8s %-9s (%3zu steps): worst relative error %.2g\n", noise_name(noise),
                   mode == 0 ? "constant" : mode == 1 ? "adaptive" : "backwards", steps, w);
        }
}

/* Solves taped with the given tape options and options, and returns the gradient
 * (dim + np) of the loss of cotangents cot(). NDE_OK or the failing status. */
static int taped_gradient(sprob *P, const nde_sde *q, double t0, double t1, const double *y0, nde_brownian *bm,
                          const nde_options *o, const nde_adjoint_options *ao, double *g, nde_adjoint_stats *st)
{
    nde_tape *tape = nde_tape_create(ao);
    nde_solution sol;
    int rc = nde_sde_solve_taped(q, t0, t1, y0, bm, o, tape, &sol);
    if (rc == NDE_OK) {
        double *c = malloc(sol.n * sol.dim * sizeof *c);
        cotangents(&sol, c);
        rc = nde_sde_backward(tape, c, g, g + P->dim);
        free(c);
        if (st) nde_tape_stats(tape, st);
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    return rc;
}

/* Thinned checkpoints rebuild every state bit for bit (the recomputation repeats the
 * stepper's arithmetic), so the gradient with 4 kept states is the one with all of
 * them, bitwise, in bounded memory; jump_ts (a restart of reversible Heun's yh = y,
 * the SRK engine's start) under both adjoints, against finite differences. */
static void test_thinning_and_jumps(void)
{
    sprob P = make(NDE_NOISE_GENERAL);
    nde_sde q = sde_of(&P, 1);
    const double y0[2] = { 0.8, -0.4 };
    nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-6, 5, NDE_LEVY_SPACE_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_sde_method_find("spark");
    o.rtol = 0; o.dt0 = 1.0 / 512;
    double g_all[2 + MAXP], g_four[2 + MAXP];
    nde_adjoint_stats s_all, s_four;
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.checkpoints = NDE_CHECKPOINTS_ALL;
    CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, g_all, &s_all) == NDE_OK);
    ao.checkpoints = 4;
    CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, g_four, &s_four) == NDE_OK);
    CHECK_EQ_INT(s_all.steps, 512);
    CHECK_EQ_INT(s_all.checkpoints, 512);
    CHECK(s_four.checkpoints <= 4);
    CHECK(s_four.recomputed > s_all.recomputed);
    CHECK_MSG(memcmp(g_all, g_four, (2 + P.np) * sizeof *g_all) == 0, "4 checkpoints: the gradient differs from "
              "the all-kept one (dy0[0] %.17g vs %.17g)", g_four[0], g_all[0]);
    CHECK_MSG(s_four.bytes < s_all.bytes, "thinned tape %zu bytes, all kept %zu", s_four.bytes, s_all.bytes);
    printf("  spark, 512 steps: all kept %zu bytes (%zu recomputed), 4 kept %zu bytes (%zu recomputed), "
           "gradients bitwise equal\n", s_all.bytes, s_all.recomputed, s_four.bytes, s_four.recomputed);

    /* jumps */
    const double jumps[2] = { 0.37, 0.71 };
    const char *names[2] = { "spark", "reversible_heun" };
    for (int i = 0; i < 2; i++) {
        nde_options oj = NDE_OPTIONS_INIT;
        oj.method = nde_sde_method_find(names[i]);
        oj.rtol = 0; oj.dt0 = 0.05;
        oj.jump_ts = jumps; oj.n_jump_ts = 2;
        oj.save = NDE_SAVE_STEPS;
        nde_adjoint_options aj = NDE_ADJOINT_OPTIONS_INIT;
        aj.kind = i ? NDE_ADJOINT_REVERSIBLE : NDE_ADJOINT_CHECKPOINT;
        double g[2 + MAXP];
        CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &oj, &aj, g, NULL) == NDE_OK);
        double w = fd_worst(&P, &q, 0, 1, y0, bm, &oj, g);
        CHECK_MSG(w < TOL, "%s with jump_ts: %.3g", names[i], w);
        printf("  %-15s with 2 jumps, every step saved: worst relative error %.2g\n", names[i], w);
    }
    nde_brownian_free(bm);
}

/* Reversible Heun: the tape's memory (counted by the allocator) is flat in the number of
 * steps but for the step list (2 doubles per step, capacity doubling); the rebuilt y0
 * agrees with the true one to round-off; one f, one g, at most one drift and one
 * diffusion VJP per step. */
static void test_reversible_memory_and_reconstruction(void)
{
    sprob P = make(NDE_NOISE_DIAGONAL);
    nde_sde q = sde_of(&P, 1);
    const double y0[2] = { 0.8, -0.4 };
    nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-9, 3, NDE_LEVY_NONE);
    size_t live[2] = { 0, 0 }, steps[2] = { 0, 0 }, ck_live[2] = { 0, 0 };
    for (int n = 0; n < 2; n++)
        for (int kind = 0; kind < 2; kind++) {
            test_alloc ta;
            test_alloc_init(&ta);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_sde_method_find(kind ? "reversible_heun" : "heun");
            o.rtol = 0; o.dt0 = n ? 1e-4 : 1e-2;
            nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
            ao.kind = kind ? NDE_ADJOINT_REVERSIBLE : NDE_ADJOINT_CHECKPOINT;
            ao.checkpoints = NDE_CHECKPOINTS_ALL;
            ao.allocator = &ta.a;
            nde_tape *tape = nde_tape_create(&ao);
            nde_solution sol;
            CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
            double c[2] = { 1, -0.5 }, g[2 + MAXP];
            CHECK(nde_sde_backward(tape, c, g, g + 2) == NDE_OK);
            nde_adjoint_stats st;
            CHECK(nde_tape_stats(tape, &st) == NDE_OK);
            if (kind) {
                live[n] = ta.live_bytes; steps[n] = st.steps;
                CHECK_EQ_INT(st.checkpoints, 0);
                CHECK_EQ_INT(st.nfe, 2 * (st.steps + 1));   /* f and g per step, and at the end */
                CHECK(st.nvjp <= 2 * (st.steps + 1));
                CHECK_MSG(st.reconstruction_error < 1e-13, "rebuilt y0 off by %.3g", st.reconstruction_error);
            } else {
                ck_live[n] = ta.live_bytes;
            }
            nde_solution_free(&sol);
            nde_tape_free(tape);
            CHECK_EQ_INT(ta.live, 0);
        }
    CHECK_EQ_INT(steps[0], 100);
    CHECK_EQ_INT(steps[1], 10000);
    const size_t list = 2 * 2 * sizeof(double) * steps[1];
    CHECK_MSG(live[1] <= live[0] + list, "reversible tape %zu -> %zu bytes for 100x the steps", live[0], live[1]);
    printf("  tape bytes (counting allocator): reversible %zu (100 steps) -> %zu (10^4; step list <= %zu bytes per "
           "step); checkpointed, all kept: %zu -> %zu\n", live[0], live[1], 4 * sizeof(double), ck_live[0],
           ck_live[1]);

    /* reconstruction drift as steps grow */
    printf("  reconstruction drift max|y0 rebuilt - y0| (diagonal problem, [0, 1]):");
    for (int n = 0; n < 4; n++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_sde_method_find("reversible_heun");
        o.rtol = 0; o.dt0 = pow(10.0, -(double)(n + 2));
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = NDE_ADJOINT_REVERSIBLE;
        double g[2 + MAXP];
        nde_adjoint_stats st;
        CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, g, &st) == NDE_OK);
        printf(" %zu steps %.2g;", st.steps, st.reconstruction_error);
        CHECK_MSG(st.reconstruction_error <= 64 * DBL_EPSILON * sqrt((double)st.steps),
                  "%zu steps: drift %.3g", st.steps, st.reconstruction_error);
    }
    printf("\n");
    nde_brownian_free(bm);
}

static int failing_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y; (void)a; (void)ay; (void)at; (void)u;
    return -3;
}

static int ode_f(double t, const double *y, double *dy, void *u) { (void)t; (void)u; dy[0] = -y[0]; return 0; }
static int ode_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t; (void)y; (void)u; (void)at;
    if (ay) ay[0] = -a[0];
    return 0;
}
static int never(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = y[0] + 10; return 0; }

/* Bad input: a clear status, a message, the caller's buffers untouched. */
static void test_bad_input(void)
{
    sprob P = make(NDE_NOISE_DIAGONAL);
    nde_sde q = sde_of(&P, 1);
    const double y0[2] = { 0.8, -0.4 };
    nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-6, 3, NDE_LEVY_SPACE_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_sde_method_find("heun");
    o.rtol = 0; o.dt0 = 0.1;
    nde_solution sol;
    double g[2 + MAXP], c[2] = { 1, 1 };
    for (size_t i = 0; i < 2 + MAXP; i++) g[i] = 42.0;
    const double sentinel = 42.0;

    /* backward before any solve, a NULL tape */
    nde_tape *tape = nde_tape_create(NULL);
    CHECK(nde_sde_backward(tape, c, g, g + 2) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "nde_sde_solve_taped") != NULL);
    CHECK(nde_sde_backward(NULL, c, g, g + 2) == NDE_EINVAL);
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, NULL, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);

    /* a missing VJP: the forward solve works, the backward pass refuses */
    nde_sde q2 = q;
    q2.diffusion_vjp = NULL;
    CHECK(nde_sde_solve_taped(&q2, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
    CHECK(nde_sde_backward(tape, c, g, g + 2) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "diffusion_vjp") != NULL);
    nde_solution_free(&sol);
    q2 = q;
    q2.drift_vjp = NULL;
    CHECK(nde_sde_solve_taped(&q2, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
    CHECK(nde_sde_backward(tape, c, g, g + 2) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "drift_vjp") != NULL);
    nde_solution_free(&sol);

    /* non-finite cotangents; a VJP that fails */
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
    double bad[2] = { 1, NAN };
    CHECK(nde_sde_backward(tape, bad, g, g + 2) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "not finite") != NULL);
    bad[1] = INFINITY;
    CHECK(nde_sde_backward(tape, bad, g, g + 2) == NDE_EINVAL);
    nde_solution_free(&sol);
    q2 = q;
    q2.drift_vjp = failing_vjp;
    CHECK(nde_sde_solve_taped(&q2, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
    CHECK(nde_sde_backward(tape, c, g, g + 2) == NDE_ECALLBACK);
    CHECK(strstr(nde_tape_message(tape), "-3") != NULL);
    nde_solution_free(&sol);

    nde_options oi = o;
    oi.method = nde_sde_method_find("euler_maruyama");
    /* the tape's kind against the method */
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    ao.kind = NDE_ADJOINT_REVERSIBLE;
    nde_tape *rt = nde_tape_create(&ao);
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, rt, &sol) == NDE_EUNSUPPORTED);
    CHECK(strstr(nde_solution_message(&sol), "reversible_heun") != NULL);
    nde_solution_free(&sol);
    CHECK(nde_sde_backward(rt, c, g, g + 2) == NDE_EINVAL);   /* the failed solve left nothing */
    nde_options orv = o;
    orv.method = nde_method_find("reversible_heun");           /* the ODE method: mapped to its SDE form */
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &orv, tape, &sol) == NDE_EUNSUPPORTED);
    CHECK(strstr(nde_solution_message(&sol), "NDE_ADJOINT_REVERSIBLE") != NULL);
    nde_solution_free(&sol);
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &orv, rt, &sol) == NDE_OK);
    nde_solution_free(&sol);
    ao.kind = NDE_ADJOINT_BACKSOLVE;   /* the adjoint SDE needs a general-noise Stratonovich method */
    nde_tape *bt = nde_tape_create(&ao);
    nde_sde qi = sde_of(&P, 0);
    CHECK(nde_sde_solve_taped(&qi, 0, 1, y0, bm, &oi, bt, &sol) == NDE_EUNSUPPORTED);
    CHECK(strstr(nde_solution_message(&sol), "BACKSOLVE") != NULL);
    nde_solution_free(&sol);
    ao = (nde_adjoint_options)NDE_ADJOINT_OPTIONS_INIT;
    ao.reg_error = 1.0;
    nde_tape *gt = nde_tape_create(&ao);
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, gt, &sol) == NDE_EUNSUPPORTED);
    nde_solution_free(&sol);
    nde_options oe = o;
    oe.n_events = 1; oe.event = never;
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &oe, tape, &sol) == NDE_EUNSUPPORTED);
    nde_solution_free(&sol);
    /* an Itô method on the Stratonovich problem: nde_sde_solve's own checks */
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &oi, tape, &sol) == NDE_EUNSUPPORTED);
    nde_solution_free(&sol);
    nde_sde q3 = q;
    q3.noise_dim = 3;
    CHECK(nde_sde_solve_taped(&q3, 0, 1, y0, bm, &o, tape, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);

    /* a tape used for an ODE, then backward as SDE, and the other way round */
    nde_ode ode = { .dim = 1, .f = ode_f, .vjp = ode_vjp };
    const double x0 = 1.0;
    CHECK(nde_ode_solve_taped(&ode, 0, 1, &x0, NULL, tape, &sol) == NDE_OK);
    nde_solution_free(&sol);
    CHECK(nde_sde_backward(tape, c, g, g + 2) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "nde_ode_backward") != NULL);
    CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
    nde_solution_free(&sol);
    CHECK(nde_ode_backward(tape, c, g, g + 2) == NDE_EINVAL);
    CHECK(strstr(nde_tape_message(tape), "nde_sde_backward") != NULL);
    for (size_t i = 0; i < 2 + MAXP; i++) CHECK_MSG(g[i] == sentinel, "g[%zu] was written: %g", i, g[i]);
    /* and it still works, twice */
    double g1[2 + MAXP], g2[2 + MAXP];
    CHECK(nde_sde_backward(tape, c, g1, g1 + 2) == NDE_OK);
    CHECK(nde_sde_backward(tape, c, g2, g2 + 2) == NDE_OK);
    CHECK(memcmp(g1, g2, (2 + P.np) * sizeof *g1) == 0);
    CHECK(nde_sde_backward(tape, NULL, NULL, NULL) == NDE_OK);
    nde_tape_free(tape);
    nde_tape_free(rt);
    nde_tape_free(bt);
    nde_tape_free(gt);
    nde_brownian_free(bm);
}

/* Out of memory anywhere in a taped solve and its backward pass: NDE_ENOMEM, no leak. */
static void test_out_of_memory(void)
{
    sprob P = make(NDE_NOISE_GENERAL);
    nde_sde q = sde_of(&P, 1);
    const double y0[2] = { 0.8, -0.4 };
    nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-6, 3, NDE_LEVY_SPACE_TIME);
    for (int kind = 0; kind < 2; kind++) {
        int completed = 0;
        for (size_t fail = 1; fail < 200 && !completed; fail++) {
            test_alloc ta;
            test_alloc_init(&ta);
            ta.fail_at = fail;
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_sde_method_find(kind ? "reversible_heun" : "spark");
            o.rtol = 0; o.dt0 = 0.01;
            o.allocator = &ta.a;
            nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
            ao.kind = kind ? NDE_ADJOINT_REVERSIBLE : NDE_ADJOINT_CHECKPOINT;
            ao.allocator = &ta.a;
            nde_tape *tape = nde_tape_create(&ao);
            if (tape) {
                nde_solution sol;
                int rc = nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, tape, &sol);
                if (rc == NDE_OK) {
                    double c[2] = { 1, 1 }, g[2 + MAXP];
                    rc = nde_sde_backward(tape, c, g, g + 2);
                    completed = rc == NDE_OK;
                }
                CHECK_MSG(rc == NDE_OK || rc == NDE_ENOMEM, "failing allocation %zu: status %d", fail, rc);
                nde_solution_free(&sol);
                nde_tape_free(tape);
            }
            CHECK_MSG(ta.live == 0, "failing allocation %zu: %zu blocks leaked", fail, ta.live);
        }
        CHECK(completed);
    }
    nde_brownian_free(bm);
}

/* A small neural SDE: drift and diagonal diffusion MLPs (3 -> 8 tanh -> 3; the
 * diffusion squashed to (0.05, 0.55) by a sigmoid), one parameter vector, written
 * inline with their VJPs; heun (checkpointed) and reversible_heun (reversible). */
#define ND 3
#define NH 8
#define MLP_NP (NH * ND + NH + ND * NH + ND)
typedef struct nsde { double th[2 * MLP_NP]; } nsde;

/* h = tanh(A y + b), out = C h + e, from parameters p (A, b, C, e). */
static void mlp(const double *p, const double *y, double *h, double *out)
{
    const double *A = p, *b = A + NH * ND, *C = b + NH, *e = C + ND * NH;
    for (int i = 0; i < NH; i++) {
        double s = b[i];
        for (int j = 0; j < ND; j++) s += A[i * ND + j] * y[j];
        h[i] = tanh(s);
    }
    for (int k = 0; k < ND; k++) {
        double s = e[k];
        for (int i = 0; i < NH; i++) s += C[k * NH + i] * h[i];
        out[k] = s;
    }
}
/* The VJP of out with cotangent a: into ay (ND) and ap (MLP_NP). */
static void mlp_vjp(const double *p, const double *y, const double *a, double *ay, double *ap)
{
    const double *A = p, *C = A + NH * ND + NH;
    double h[NH], out[ND], hb[NH];
    mlp(p, y, h, out);
    for (int i = 0; i < NH; i++) {
        double s = 0;
        for (int k = 0; k < ND; k++) s += C[k * NH + i] * a[k];
        hb[i] = s * (1 - h[i] * h[i]);
    }
    if (ay)
        for (int j = 0; j < ND; j++) {
            double s = 0;
            for (int i = 0; i < NH; i++) s += A[i * ND + j] * hb[i];
            ay[j] = s;
        }
    if (ap) {
        double *Ab = ap, *bb = Ab + NH * ND, *Cb = bb + NH, *eb = Cb + ND * NH;
        for (int i = 0; i < NH; i++) {
            for (int j = 0; j < ND; j++) Ab[i * ND + j] = hb[i] * y[j];
            bb[i] = hb[i];
        }
        for (int k = 0; k < ND; k++) {
            for (int i = 0; i < NH; i++) Cb[k * NH + i] = a[k] * h[i];
            eb[k] = a[k];
        }
    }
}
static int n_drift(double t, const double *y, double *f, void *u)
{
    (void)t;
    double h[NH];
    mlp(((nsde *)u)->th, y, h, f);
    return 0;
}
static int n_drift_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    mlp_vjp(((nsde *)u)->th, y, a, ay, at);
    if (at) memset(at + MLP_NP, 0, MLP_NP * sizeof *at);
    return 0;
}
static int n_diffusion(double t, const double *y, double *g, void *u)
{
    (void)t;
    double h[NH], o[ND];
    mlp(((nsde *)u)->th + MLP_NP, y, h, o);
    for (int k = 0; k < ND; k++) g[k] = 0.05 + 0.5 / (1 + exp(-o[k]));
    return 0;
}
static int n_diffusion_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const double *p = ((nsde *)u)->th + MLP_NP;
    double h[NH], o[ND], ao[ND];
    mlp(p, y, h, o);
    for (int k = 0; k < ND; k++) {
        double s = 1 / (1 + exp(-o[k]));
        ao[k] = a[k] * 0.5 * s * (1 - s);
    }
    if (at) memset(at, 0, MLP_NP * sizeof *at);
    mlp_vjp(p, y, ao, ay, at ? at + MLP_NP : NULL);
    return 0;
}

static void test_neural_sde(void)
{
    nsde N;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2 * MLP_NP; i++) {   /* a fixed pseudo-random initialisation in [-0.6, 0.6] */
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        N.th[i] = 1.2 * ((double)(x >> 11) / 9007199254740992.0 - 0.5);
    }
    nde_sde q = { .dim = ND, .noise_dim = ND, .noise = NDE_NOISE_DIAGONAL, .stratonovich = 1, .drift = n_drift,
                  .diffusion = n_diffusion, .user = &N, .drift_vjp = n_drift_vjp, .diffusion_vjp = n_diffusion_vjp,
                  .n_params = 2 * MLP_NP };
    const double y0[ND] = { 0.3, -0.2, 0.5 }, ts[2] = { 0.5, 1.0 };
    nde_brownian *bm = nde_brownian_tree_create(ND, 0.0, 1.0, 1e-6, 9, NDE_LEVY_NONE);
    const char *names[2] = { "heun", "reversible_heun" };
    for (int i = 0; i < 2; i++) {
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_sde_method_find(names[i]);
        o.rtol = 0; o.dt0 = 0.02;
        o.ts = ts; o.n_ts = 2;
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = i ? NDE_ADJOINT_REVERSIBLE : NDE_ADJOINT_CHECKPOINT;
        nde_tape *tape = nde_tape_create(&ao);
        nde_solution sol;
        CHECK(nde_sde_solve_taped(&q, 0, 1, y0, bm, &o, tape, &sol) == NDE_OK);
        double c[2 * ND], g[ND + 2 * MLP_NP];
        for (int k = 0; k < 2 * ND; k++) c[k] = cot((size_t)k / ND, (size_t)k % ND);
        CHECK(nde_sde_backward(tape, c, g, g + ND) == NDE_OK);
        nde_solution_free(&sol);
        nde_tape_free(tape);
        double worst = 0, scale = 0;
        for (int k = 0; k < ND + 2 * MLP_NP; k++) scale = fmax(scale, fabs(g[k]));
        for (int k = 0; k < ND + 2 * MLP_NP; k++) {
            double yp[ND] = { y0[0], y0[1], y0[2] }, *v = k < ND ? &yp[k] : &N.th[k - ND];
            const double v0 = *v, eps = 1e-6 * fmax(1.0, fabs(v0));
            *v = v0 + eps;
            double Lp = loss(&q, 0, 1, yp, bm, &o);
            *v = v0 - eps;
            double Lm = loss(&q, 0, 1, yp, bm, &o);
            *v = v0;
            worst = fmax(worst, fabs(g[k] - (Lp - Lm) / (2 * eps)) / scale);
        }
        CHECK_MSG(worst < TOL, "neural SDE, %s: %.3g", names[i], worst);
        printf("  neural SDE (%d + %d parameters), %s: worst relative error %.2g\n", MLP_NP, MLP_NP, names[i], worst);
    }
    nde_brownian_free(bm);
}

/* The stochastic adjoint (backsolve) against the exact discrete gradient as the steps
 * shrink: RMS over 8 paths of max_i |g_backsolve_i - g_discrete_i| / max |g_discrete|,
 * constant steps of 2^-3 .. 2^-8, saved points at 0.25, 0.6 and 1 (three segments), 16
 * paths. Both converge to the gradient of the SDE's solution map, so their difference
 * falls with the methods' strong order (0.5 on general noise; the problems' noise is
 * not commutative): checked as a fitted slope >= 0.3 and a 3x smaller error at the
 * finest step than at the coarsest. Then an adaptive backsolve, and its memory: flat
 * in the number of steps. */
static void test_backsolve_convergence(void)
{
    const struct { const char *method; int noise; } cases[] = {
        { "heun", NDE_NOISE_DIAGONAL }, { "spark", NDE_NOISE_GENERAL }, { "spark", NDE_NOISE_ADDITIVE },
        { "reversible_heun", NDE_NOISE_DIAGONAL },
    };
    enum { NL = 6, NPATH = 16 };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sprob P = make(cases[c].noise);
        nde_sde q = sde_of(&P, 1);
        const double y0[2] = { 0.8, -0.4 }, ts[3] = { 0.25, 0.6, 1.0 };
        double err[NL] = { 0 };
        size_t nvjp = 0;
        for (int path = 0; path < NPATH; path++) {
            nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-8, 100 + (uint64_t)path, NDE_LEVY_SPACE_TIME);
            for (int l = 0; l < NL; l++) {
                nde_options o = NDE_OPTIONS_INIT;
                o.method = nde_sde_method_find(cases[c].method);
                o.rtol = 0; o.dt0 = pow(2.0, -(double)(l + 3));
                o.ts = ts; o.n_ts = 3;
                nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
                ao.kind = is_reversible(o.method) ? NDE_ADJOINT_REVERSIBLE : NDE_ADJOINT_CHECKPOINT;
                double gd[2 + MAXP], gb[2 + MAXP];
                CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, gd, NULL) == NDE_OK);
                ao.kind = NDE_ADJOINT_BACKSOLVE;
                nde_adjoint_stats st;
                int rc = taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, gb, &st);
                CHECK_MSG(rc == NDE_OK, "%s: backsolve %d", cases[c].method, rc);
                nvjp = st.nvjp;
                double scale = 0, worst = 0;
                for (size_t i = 0; i < 2 + P.np; i++) scale = fmax(scale, fabs(gd[i]));
                for (size_t i = 0; i < 2 + P.np; i++) worst = fmax(worst, fabs(gb[i] - gd[i]) / scale);
                err[l] += worst * worst / NPATH;
            }
            nde_brownian_free(bm);
        }
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        printf("  backsolve vs discrete, %-15s %-8s:", cases[c].method, noise_name(cases[c].noise));
        for (int l = 0; l < NL; l++) {
            err[l] = sqrt(err[l]);
            const double x = (double)(l + 3) * log(0.5), y = log(err[l]);
            sx += x; sy += y; sxx += x * x; sxy += x * y;
            printf(" %.2e", err[l]);
        }
        const double slope = (NL * sxy - sx * sy) / (NL * sxx - sx * sx);
        printf("  slope %.2f (last backward pass: %zu VJP calls)\n", slope, nvjp);
        CHECK_MSG(slope >= 0.3, "%s, %s: slope %.2f", cases[c].method, noise_name(cases[c].noise), slope);
        CHECK_MSG(err[NL - 1] < err[0] / 3, "%s: %.3g at the finest step, %.3g at the coarsest", cases[c].method,
                  err[NL - 1], err[0]);
    }
    /* adaptive spark (rtol = atol = 1e-4 both ways) against its discrete gradient; tape
     * memory for 10^2 and 10^4 constant steps */
    sprob P = make(NDE_NOISE_DIAGONAL);
    nde_sde q = sde_of(&P, 1);
    const double y0[2] = { 0.8, -0.4 };
    nde_brownian *bm = nde_brownian_tree_create(P.m, 0.0, 1.0, 1e-10, 77, NDE_LEVY_SPACE_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_sde_method_find("spark");
    o.rtol = 1e-4; o.atol = 1e-4; o.dt0 = 0.01;
    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    double gd[2 + MAXP], gb[2 + MAXP];
    nde_adjoint_stats sd, sb;
    CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, gd, &sd) == NDE_OK);
    ao.kind = NDE_ADJOINT_BACKSOLVE;
    CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &o, &ao, gb, &sb) == NDE_OK);
    double scale = 0, worst = 0;
    for (size_t i = 0; i < 2 + P.np; i++) scale = fmax(scale, fabs(gd[i]));
    for (size_t i = 0; i < 2 + P.np; i++) worst = fmax(worst, fabs(gb[i] - gd[i]) / scale);
    printf("  adaptive spark, rtol = atol = 1e-4 (%zu forward steps): backsolve vs discrete %.2g\n", sd.steps, worst);
    CHECK_MSG(worst < 2e-2, "adaptive backsolve vs discrete: %.3g", worst);
    size_t bytes[2];
    for (int n = 0; n < 2; n++) {
        nde_options oc = NDE_OPTIONS_INIT;
        oc.method = nde_sde_method_find("heun");
        oc.rtol = 0; oc.dt0 = n ? 1e-4 : 1e-2;
        CHECK(taped_gradient(&P, &q, 0, 1, y0, bm, &oc, &ao, gb, &sb) == NDE_OK);
        CHECK_EQ_INT(sb.steps, n ? 10000 : 100);
        bytes[n] = sb.bytes;
    }
    CHECK_MSG(bytes[1] == bytes[0], "backsolve tape %zu -> %zu bytes for 100x the steps", bytes[0], bytes[1]);
    nde_brownian_free(bm);
}

int main(void)
{
    RUN(test_checkpoint_every_method_constant);
    RUN(test_checkpoint_adaptive_and_backward);
    RUN(test_reversible_fd);
    RUN(test_thinning_and_jumps);
    RUN(test_reversible_memory_and_reconstruction);
    RUN(test_bad_input);
    RUN(test_out_of_memory);
    RUN(test_neural_sde);
    RUN(test_backsolve_convergence);
    return test_summary();
}
