/* `nde train cde` (tools/nde/train_cde.c, linked into this program): the data set
 * against its definition, the gradient through the neural CDE against central finite
 * differences, batch independence, and a short deterministic training run. The
 * accuracy target is in the slow label (tools/nde/train_test.cmake). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "testlib.h"
#include "train.h"

/* A tiny model: 3 channels, dim 2, width 3 (68 parameters), 6 points per series. */
static void tiny(cde_options *o)
{
    cde_options_default(o);
    o->seed = 5;
    o->points = 6;
    o->n_train = 3;
    o->n_test = 1;
    o->batch = 2;
    o->dim = 2;
    o->width = 3;
    o->iters = 3;
}

static double batch_loss(cde_run *r, const double *theta, const size_t *idx, size_t nb)
{
    char err[NDE_MESSAGE_MAX];
    cde_eval ev;
    cde_run_set_params(r, theta);
    int rc = cde_run_eval(r, 0, idx, nb, &ev, NULL, err, sizeof err);
    CHECK_MSG(rc == NDE_OK, "eval: %s", err);
    return ev.loss;
}

/* The adjoint's gradient of the batch loss against central differences of step h in
 * every parameter: |g - fd| <= tol (1 + |g|). Returns the largest scaled difference. */
static double fd_check(const cde_options *o, double h, double tol)
{
    char err[NDE_MESSAGE_MAX];
    cde_run *r = cde_run_create(o, err, sizeof err);
    CHECK_MSG(r != NULL, "create: %s", err);
    if (!r) return INFINITY;
    size_t np = cde_run_n_params(r), idx[2] = { 0, 2 };
    CHECK_EQ_INT(np, 20 + 45 + 3);
    double *theta = malloc(np * sizeof *theta), *g = malloc(np * sizeof *g), *tp = malloc(np * sizeof *tp);
    cde_run_get_params(r, theta);
    cde_eval ev;
    int rc = cde_run_eval(r, 0, idx, 2, &ev, g, err, sizeof err);
    CHECK_MSG(rc == NDE_OK, "gradient: %s", err);
    CHECK(ev.nfe_backward > 0);
    double worst = 0, gnorm = 0;
    for (size_t k = 0; k < np; k++) {
        memcpy(tp, theta, np * sizeof *tp);
        tp[k] = theta[k] + h;
        double up = batch_loss(r, tp, idx, 2);
        tp[k] = theta[k] - h;
        double dn = batch_loss(r, tp, idx, 2);
        double fd = (up - dn) / (2 * h), d = fabs(g[k] - fd) / (1 + fabs(g[k]));
        CHECK_MSG(d <= tol, "parameter %zu: adjoint %.12g, finite difference %.12g", k, g[k], fd);
        if (d > worst) worst = d;
        gnorm += g[k] * g[k];
    }
    CHECK(sqrt(gnorm) > 1e-3);   /* a gradient worth checking: not vanishing */
    free(tp);
    free(g);
    free(theta);
    cde_run_free(r);
    return worst;
}

/* dopri5 with constant steps: the checkpointed adjoint is the exact gradient of the
 * discrete map, so only the differences' truncation (h^2) and round-off remain. */
static void test_gradient_fd_constant_steps(void)
{
    cde_options o;
    tiny(&o);
    o.method = "dopri5";
    o.rtol = 0;
    o.dt = 1.0 / 64;
    fd_check(&o, 1e-5, 1e-8);
}

/* dopri5 at rtol 1e-10: the gradient of the solve differs from that of the exact flow
 * by the solver's error, and the finite differences see step-size changes of that
 * size (1e-10 / h), hence the looser bound. */
static void test_gradient_fd_adaptive(void)
{
    cde_options o;
    tiny(&o);
    o.rtol = 1e-10;
    o.atol = 1e-12;
    fd_check(&o, 1e-4, 1e-5);
}

/* With masks (5 channels) the parameter count grows; the gradient still matches. */
static void test_gradient_fd_masks(void)
{
    cde_options o;
    tiny(&o);
    o.masks = 1;
    o.method = "dopri5";
    o.rtol = 0;
    o.dt = 1.0 / 64;
    char err[NDE_MESSAGE_MAX];
    cde_run *r = cde_run_create(&o, err, sizeof err);
    CHECK(r && cde_run_channels(r) == 5);
    size_t np = r ? cde_run_n_params(r) : 0, idx[1] = { 1 };
    CHECK_EQ_INT(np, (5 * 3 + 3 + 3 * 2 + 2) + (2 * 3 + 3 + 3 * 3 + 3 + 3 * 10 + 10) + 3);
    double *theta = malloc(np * sizeof *theta), *g = malloc(np * sizeof *g);
    cde_run_get_params(r, theta);
    cde_eval ev;
    CHECK(cde_run_eval(r, 0, idx, 1, &ev, g, err, sizeof err) == NDE_OK);
    const double h = 1e-5;
    for (size_t k = 0; k < np; k += 3) {   /* every third parameter: each block is hit */
        double keep = theta[k];
        theta[k] = keep + h;
        double up = batch_loss(r, theta, idx, 1);
        theta[k] = keep - h;
        double dn = batch_loss(r, theta, idx, 1);
        theta[k] = keep;
        double fd = (up - dn) / (2 * h);
        CHECK_MSG(fabs(g[k] - fd) <= 1e-8 * (1 + fabs(g[k])), "parameter %zu: %.12g vs %.12g", k, g[k], fd);
    }
    free(g);
    free(theta);
    cde_run_free(r);
}

/* Each series is its own solve: the batch's loss and gradient are the means of the
 * series' own, whatever the batch and its order. */
static void test_batch_independence(void)
{
    cde_options o;
    tiny(&o);
    char err[NDE_MESSAGE_MAX];
    cde_run *r = cde_run_create(&o, err, sizeof err);
    CHECK(r != NULL);
    if (!r) return;
    size_t np = cde_run_n_params(r), ab[2] = { 0, 2 }, ba[2] = { 2, 0 }, a[1] = { 0 }, b[1] = { 2 };
    double *g2 = malloc(np * sizeof *g2), *g21 = malloc(np * sizeof *g21), *ga = malloc(np * sizeof *ga),
           *gb = malloc(np * sizeof *gb);
    cde_eval e2, e21, ea, eb;
    CHECK(cde_run_eval(r, 0, ab, 2, &e2, g2, err, sizeof err) == NDE_OK);
    CHECK(cde_run_eval(r, 0, ba, 2, &e21, g21, err, sizeof err) == NDE_OK);
    CHECK(cde_run_eval(r, 0, a, 1, &ea, ga, err, sizeof err) == NDE_OK);
    CHECK(cde_run_eval(r, 0, b, 1, &eb, gb, err, sizeof err) == NDE_OK);
    CHECK_NEAR(e2.loss, 0.5 * (ea.loss + eb.loss), 1e-15 * (1 + e2.loss));
    CHECK_NEAR(e21.loss, e2.loss, 1e-15 * (1 + e2.loss));
    CHECK_EQ_INT(e2.nfe_forward, ea.nfe_forward + eb.nfe_forward);   /* each its own steps */
    CHECK(ea.nfe_forward != eb.nfe_forward || ea.loss != eb.loss);
    for (size_t k = 0; k < np; k++) {
        CHECK_NEAR(g2[k], 0.5 * (ga[k] + gb[k]), 1e-14 * (1 + fabs(g2[k])));
        CHECK_NEAR(g21[k], g2[k], 1e-14 * (1 + fabs(g2[k])));
    }
    free(g2); free(g21); free(ga); free(gb);
    cde_run_free(r);
}

/* The data: times strictly increasing from 0 to 1 with gaps below 2 / (n - 1), the
 * time channel never missing, about 30% of x and y missing (binomial: 4 standard
 * deviations), balanced labels, nondecreasing mask channels, rotation sense as the
 * label says (the mean signed angle step of the noise-free part), deterministic. */
static void test_data(void)
{
    cde_options o;
    cde_options_default(&o);
    o.masks = 1;
    size_t n = o.points, missing = 0, total = 0, ones = 0, sense_ok = 0;
    double t[40], x[40 * 5], t2[40], x2[40 * 5];
    for (size_t i = 0; i < o.n_train; i++) {
        double label = cde_series(&o, 0, i, t, x);
        CHECK(label == 0.0 || label == 1.0);
        ones += label == 1.0;
        CHECK(t[0] == 0.0 && t[n - 1] == 1.0);
        double turn = 0, px = NAN, py = NAN;
        for (size_t k = 0; k < n; k++) {
            if (k) CHECK(t[k] > t[k - 1] && t[k] - t[k - 1] < 2.0 / (double)(n - 1));
            const double *row = x + 5 * k;
            CHECK(row[0] == t[k]);
            for (int c = 1; c <= 2; c++) missing += isnan(row[c]) != 0;
            total += 2;
            if (k) CHECK(row[3] >= row[-2] && row[4] >= row[-1]);
            if (!isnan(row[1]) && !isnan(row[2])) {
                if (!isnan(px)) turn += atan2(px * row[2] - py * row[1], px * row[1] + py * row[2]);
                px = row[1];
                py = row[2];
            }
        }
        CHECK(x[5 * (n - 1) + 3] > 0 && x[5 * (n - 1) + 3] <= (double)n / (double)(n - 1));
        sense_ok += (turn > 0) == (label == 1.0);
        double l2 = cde_series(&o, 0, i, t2, x2);
        CHECK(l2 == label && memcmp(t, t2, sizeof t) == 0 && memcmp(x, x2, sizeof x) == 0);
    }
    double p = (double)missing / (double)total, sd = sqrt(0.3 * 0.7 / (double)total);
    CHECK_MSG(fabs(p - 0.3) <= 4 * sd, "missing fraction %.4f (0.3 +- %.4f)", p, 4 * sd);
    double q = (double)ones / (double)o.n_train, sq = sqrt(0.25 / (double)o.n_train);
    CHECK_MSG(fabs(q - 0.5) <= 4 * sq, "anticlockwise fraction %.4f", q);
    CHECK_MSG(sense_ok >= o.n_train * 95 / 100, "rotation sense matches the label in %zu of %zu", sense_ok,
              o.n_train);
    /* the test set is other series */
    cde_series(&o, 1, 0, t2, x2);
    cde_series(&o, 0, 0, t, x);
    CHECK(memcmp(t, t2, sizeof t) != 0);
}

/* A few steps on a small problem: the loss falls, and the same seed gives the same
 * bits. */
static void test_training_deterministic(void)
{
    cde_options o;
    cde_options_default(&o);
    o.n_train = 64;
    o.n_test = 32;
    o.batch = 16;
    o.iters = 8;
    o.eval_every = 4;
    double res[2][3];
    double curve[8];
    for (int rep = 0; rep < 2; rep++) {
        char err[NDE_MESSAGE_MAX];
        cde_run *r = cde_run_create(&o, err, sizeof err);
        CHECK_MSG(r != NULL, "%s", err);
        if (!r) return;
        double acc[4];
        size_t its[4];
        cde_result out = { .curve_loss = curve, .curve_acc = acc, .curve_iter = its };
        int rc = cde_run_train(r, NULL, &out, err, sizeof err);
        CHECK_MSG(rc == NDE_OK, "%s", err);
        CHECK(cde_curve_points(&o) == 4 && out.n_curve == 3);
        CHECK(its[0] == 0 && its[1] == 4 && its[2] == 8 && acc[2] == out.test_accuracy);
        CHECK(out.iterations == 8 && out.nfe_forward > 0 && out.nfe_backward > out.nfe_forward / 2);
        CHECK_MSG(curve[7] < curve[0], "loss %.4f -> %.4f", curve[0], curve[7]);
        res[rep][0] = out.train_loss;
        res[rep][1] = out.test_loss;
        res[rep][2] = out.nfe_forward;
        cde_run_free(r);
    }
    CHECK(memcmp(res[0], res[1], sizeof res[0]) == 0);
}

static void test_bad_options(void)
{
    cde_options o;
    cde_options_default(&o);
    char err[NDE_MESSAGE_MAX];
    o.points = 2;
    CHECK(cde_run_create(&o, err, sizeof err) == NULL && strstr(err, "points 2"));
    cde_options_default(&o);
    o.batch = o.n_train + 1;
    CHECK(cde_run_create(&o, err, sizeof err) == NULL && strstr(err, "batch"));
    cde_options_default(&o);
    o.method = "nosuch";
    CHECK(cde_run_create(&o, err, sizeof err) == NULL && strstr(err, "nosuch"));
}

int main(void)
{
    RUN(test_gradient_fd_constant_steps);
    RUN(test_gradient_fd_adaptive);
    RUN(test_gradient_fd_masks);
    RUN(test_batch_independence);
    RUN(test_data);
    RUN(test_training_deterministic);
    RUN(test_bad_options);
    return test_summary();
}
