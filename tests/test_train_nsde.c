/* `nde train neural_sde` (tools/nde/train_nsde.c, linked into this program): the
 * marginal loss against its O(mn) definition and its gradient against central
 * differences, the whole training gradient of each class against central differences,
 * the true OU paths against the closed-form marginals, and a short
 * deterministic training run that cuts the marginal error. The full runs' targets are
 * in the slow label (tools/nde/train_test.cmake, nsde_slow). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "testlib.h"
#include "train.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The loss straight from its definition (train.h). */
static double brute_loss(size_t m, const double *x, size_t n, const double *y)
{
    double xy = 0, xx = 0, yy = 0, mx = 0, my = 0, vx = 0, vy = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) xy += fabs(x[i] - y[j]);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) xx += fabs(x[i] - x[j]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) yy += fabs(y[i] - y[j]);
    for (size_t i = 0; i < m; i++) mx += x[i] / (double)m;
    for (size_t j = 0; j < n; j++) my += y[j] / (double)n;
    for (size_t i = 0; i < m; i++) vx += (x[i] - mx) * (x[i] - mx) / (double)(m - 1);
    for (size_t j = 0; j < n; j++) vy += (y[j] - my) * (y[j] - my) / (double)(n - 1);
    double ed = 2 * xy / (double)(m * n) - xx / (double)(m * m) - yy / (double)(n * n);
    return ed + (mx - my) * (mx - my) + (sqrt(vx) - sqrt(vy)) * (sqrt(vx) - sqrt(vy));
}

static void samples(size_t m, double *x, size_t n, double *y)
{
    nde_normal_fill(11, NDE_STREAM_USER_FIRST, m, x);
    nde_normal_fill(12, NDE_STREAM_USER_FIRST, n, y);
    for (size_t j = 0; j < n; j++) y[j] = 0.7 * y[j] + 0.3;   /* another law */
    qsort(y, n, sizeof *y, cmp);
}

static void test_loss_matches_definition(void)
{
    enum { M = 7, N = 11 };
    double x[M], y[N], work[M];
    samples(M, x, N, y);
    double fast = nsde_marginal_loss(M, x, N, y, NULL, work), ref = brute_loss(M, x, N, y);
    CHECK_NEAR(fast, ref, 1e-13 * (1 + fabs(ref)));
    CHECK(ref > 0);
    /* the same sample on both sides: the energy distance and both terms vanish */
    double xs[M];
    memcpy(xs, x, sizeof xs);
    qsort(xs, M, sizeof *xs, cmp);
    CHECK_NEAR(nsde_marginal_loss(M, x, M, xs, NULL, work), 0.0, 1e-14);
}

/* The gradient against central differences: the energy distance is piecewise linear in
 * each x_i between the other samples' values, so with h below half the smallest gap the
 * difference is exact up to rounding and the std term's curvature (O(h^2)). */
static void test_loss_gradient(void)
{
    enum { M = 9, N = 13 };
    double x[M], y[N], work[M], grad[M];
    samples(M, x, N, y);
    double gap = INFINITY;
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) gap = fmin(gap, fabs(x[i] - y[j]));
        for (size_t k = 0; k < M; k++)
            if (k != i) gap = fmin(gap, fabs(x[i] - x[k]));
    }
    double h = fmin(1e-6, gap / 4);
    nsde_marginal_loss(M, x, N, y, grad, work);
    for (size_t i = 0; i < M; i++) {
        double xi = x[i];
        x[i] = xi + h;
        double up = nsde_marginal_loss(M, x, N, y, NULL, work);
        x[i] = xi - h;
        double dn = nsde_marginal_loss(M, x, N, y, NULL, work);
        x[i] = xi;
        CHECK_NEAR(grad[i], (up - dn) / (2 * h), 1e-7);
    }
}

/* The fresh true OU paths (iters 0: no training) against the closed form
 * mean mu (1 - e^{-theta t}), std sigma sqrt((1 - e^{-2 theta t}) / (2 theta)) with
 * theta 1.5, mu 1, sigma 0.5, x0 0: at each of the 40 step ends the estimate from 4096
 * paths is within 4.5 standard errors (the mean's s/sqrt(n), the std's s/sqrt(2n));
 * per time a two-sided 7e-6 level, under 3e-4 for all 80 comparisons together. */
static void test_ou_truth_closed_form(void)
{
    nsde_options o;
    nsde_options_default(&o);
    o.iters = 0;
    o.seed = 4;
    nsde_result r = { 0 };
    char err[NDE_MESSAGE_MAX] = "";
    int rc = nsde_train(&o, NULL, &r, err, sizeof err);
    CHECK_MSG(rc == NDE_OK, "nsde_train: %s", err);
    double n = (double)o.n_eval;
    for (size_t k = 1; k <= NSDE_STEPS; k++) {
        double t = NSDE_T1 * (double)k / NSDE_STEPS;
        double mean = 1.0 - exp(-1.5 * t), std = 0.5 * sqrt(-expm1(-3.0 * t) / 3.0);
        CHECK_NEAR(r.truth_mean[k], mean, 4.5 * std / sqrt(n));
        CHECK_NEAR(r.truth_std[k], std, 4.5 * std / sqrt(2 * n));
    }
    CHECK(r.truth_mean[0] == 0.0 && r.truth_std[0] == 0.0);
}

/* 40 Adam steps on OU with each class: deterministic, and the marginal error against
 * the truth falls at least 5x (the run with 4096 evaluation paths measures 20-60x). */
static void test_short_training(void)
{
    for (int cls = 0; cls < NSDE_N_CLASSES; cls++) {
        nsde_options o;
        nsde_options_default(&o);
        o.iters = 40;
        o.cls = cls;
        o.n_eval = 1024;
        double curve[40], curve2[40];
        nsde_result a = { 0 }, b = { 0 };
        a.curve = curve;
        b.curve = curve2;
        char err[NDE_MESSAGE_MAX] = "";
        int rc = nsde_train(&o, NULL, &a, err, sizeof err);
        CHECK_MSG(rc == NDE_OK, "%s: %s", nsde_class_name(cls), err);
        rc = nsde_train(&o, NULL, &b, err, sizeof err);
        CHECK_MSG(rc == NDE_OK, "%s: %s", nsde_class_name(cls), err);
        CHECK_MSG(memcmp(curve, curve2, sizeof curve) == 0 && a.test_loss == b.test_loss,
                  "%s: two runs of one seed differ", nsde_class_name(cls));
        CHECK_MSG(a.after.stat <= 0.2 * a.before.stat, "%s: stat_err %g -> %g", nsde_class_name(cls),
                  a.before.stat, a.after.stat);
        CHECK(a.n_params > 0 && a.nfe_forward == 2.0 * NSDE_STEPS + 2 && a.nfe_backward == 4.0 * NSDE_STEPS + 4);
    }
}

/* The whole training gradient (the three classes' drift and diffusion VJPs, the
 * reversible adjoint, the marginal loss) against central differences of step h in
 * every parameter of a tiny model (4 paths, width 4). The energy distance has kinks
 * where a model sample crosses a data sample; at h = 1e-7 a crossing inside [-h, h] is
 * rare, and a parameter whose difference straddles one is allowed (at most 2 of the
 * ~40, each still within 1e-3). */
static void test_gradient_finite_differences(void)
{
    for (int cls = 0; cls < NSDE_N_CLASSES; cls++) {
        nsde_options o;
        nsde_options_default(&o);
        o.cls = cls;
        o.process = cls == NSDE_LINEAR ? NSDE_DOUBLE_WELL : NSDE_OU;
        o.seed = 3;
        o.batch = 4;
        o.n_data = 512;
        o.n_eval = 512;
        o.width = 4;
        char err[NDE_MESSAGE_MAX] = "";
        nsde_run *r = nsde_run_create(&o, err, sizeof err);
        CHECK_MSG(r != NULL, "%s: %s", nsde_class_name(cls), err);
        if (!r) continue;
        size_t np = nsde_run_n_params(r);
        double *theta = malloc(np * sizeof *theta), *g = malloc(np * sizeof *g), *tp = malloc(np * sizeof *tp);
        nsde_run_get_params(r, theta);
        nsde_step st;
        int rc = nsde_run_step_loss(r, 3, &st, g, err, sizeof err);
        CHECK_MSG(rc == NDE_OK, "%s: %s", nsde_class_name(cls), err);
        CHECK(st.nfe_forward == 2 * NSDE_STEPS + 2 && st.nfe_backward == 4 * NSDE_STEPS + 4);
        double h = 1e-7, worst = 0, gnorm = 0;
        size_t loose = 0;
        for (size_t k = 0; k < np; k++) {
            memcpy(tp, theta, np * sizeof *tp);
            tp[k] = theta[k] + h;
            nsde_run_set_params(r, tp);
            nsde_step up, dn;
            rc = nsde_run_step_loss(r, 3, &up, NULL, err, sizeof err);
            tp[k] = theta[k] - h;
            nsde_run_set_params(r, tp);
            rc |= nsde_run_step_loss(r, 3, &dn, NULL, err, sizeof err);
            CHECK(rc == NDE_OK);
            double fd = (up.loss - dn.loss) / (2 * h), d = fabs(g[k] - fd) / (1 + fabs(g[k]));
            if (d > 1e-6) loose++;
            worst = fmax(worst, d);
            gnorm += g[k] * g[k];
        }
        nsde_run_set_params(r, theta);
        printf("  %s: %zu parameters, worst scaled difference %.2e, %zu above 1e-6\n", nsde_class_name(cls), np,
               worst, loose);
        CHECK_MSG(loose <= 2 && worst <= 1e-3, "%s: %zu of %zu parameters off by > 1e-6, worst %.3g",
                  nsde_class_name(cls), loose, np, worst);
        CHECK(sqrt(gnorm) > 1e-3);   /* a gradient worth checking */
        free(theta);
        free(g);
        free(tp);
        nsde_run_free(r);
    }
}

static void test_bad_options(void)
{
    nsde_options o;
    nsde_options_default(&o);
    o.n_eval = 1000;   /* not a multiple of the batch */
    nsde_result r = { 0 };
    char err[NDE_MESSAGE_MAX] = "";
    CHECK_EQ_INT(nsde_train(&o, NULL, &r, err, sizeof err), NDE_EINVAL);
    CHECK(strstr(err, "n_eval") != NULL);
    nsde_options_default(&o);
    o.cls = 7;
    CHECK_EQ_INT(nsde_train(&o, NULL, &r, err, sizeof err), NDE_EINVAL);
}

int main(void)
{
    RUN(test_loss_matches_definition);
    RUN(test_loss_gradient);
    RUN(test_ou_truth_closed_form);
    RUN(test_short_training);
    RUN(test_gradient_finite_differences);
    RUN(test_bad_options);
    return test_summary();
}
