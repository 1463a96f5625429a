/* The nn layer (include/nde/nn.h): every activation, norm, MLP configuration, the ODE
 * field and every loss against central finite differences; the optimisers against
 * PyTorch's update formulas written out by hand on a 2-parameter quadratic; the
 * schedules' values; the initialisation's moments at stated significance; parameter
 * files (bit-exact round trip, failures leave the parameters untouched); deterministic
 * training; no allocation per call and allocation-failure injection; bad input; and
 * the train-step benchmark problem (data/mlp_2_64_64_2.txt): loss 0.865099, 14
 * evaluations and y(1) against its DOP853 reference.
 *
 * Finite differences: central, step h = 1e-6 (relative to 1 + |x|); truncation h^2 |f'''|
 * and round-off eps |f| / h are both below 1e-9 for these O(1) functions, so every
 * check asserts |analytic - fd| <= 1e-7 (1 + |fd|). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"

#define FD_H 1e-6
#define FD_TOL 1e-7

static double fd_tol(double fd) { return FD_TOL * (1.0 + fabs(fd)); }

/* deterministic inputs in [-1, 1] */
static void fill(double *x, size_t n, uint64_t seed)
{
    nde_uniform_fill(seed, NDE_STREAM_USER_FIRST, n, x);
    for (size_t i = 0; i < n; i++) x[i] = 2.0 * x[i] - 1.0;
}

static double dot(size_t n, const double *a, const double *b)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- activations ------------------------------------------------------------------ */

static void test_activation_derivatives(void)
{
    const int acts[] = { NDE_ACT_IDENTITY, NDE_ACT_TANH, NDE_ACT_RELU, NDE_ACT_SOFTPLUS, NDE_ACT_SILU,
                         NDE_ACT_LIPSWISH };
    double x[41], d[41], yp, ym, y[41];
    for (int i = 0; i < 41; i++) x[i] = -5.0 + 0.25 * i + 0.01;   /* avoid relu's kink at 0 */
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        CHECK_EQ_INT(nde_activation(acts[a], 41, x, y, d), NDE_OK);
        for (int i = 0; i < 41; i++) {
            double h = FD_H * (1 + fabs(x[i])), xp = x[i] + h, xm = x[i] - h;
            nde_activation(acts[a], 1, &xp, &yp, NULL);
            nde_activation(acts[a], 1, &xm, &ym, NULL);
            double fd = (yp - ym) / (2 * h);
            CHECK_MSG(fabs(d[i] - fd) <= fd_tol(fd), "%s'(%g) = %.12g, fd %.12g", nde_activation_name(acts[a]),
                      x[i], d[i], fd);
        }
    }
    /* closed forms at a point, and softplus without overflow */
    double v = 1.5, out;
    nde_activation(NDE_ACT_SILU, 1, &v, &out, NULL);
    CHECK_NEAR(out, 1.5 / (1 + exp(-1.5)), 1e-15);
    nde_activation(NDE_ACT_LIPSWISH, 1, &v, &out, NULL);
    CHECK_NEAR(out, 0.909 * 1.5 / (1 + exp(-1.5)), 1e-15);
    v = 800;
    nde_activation(NDE_ACT_SOFTPLUS, 1, &v, &out, NULL);
    CHECK(out == 800.0);
    v = -800;
    nde_activation(NDE_ACT_SOFTPLUS, 1, &v, &out, NULL);
    CHECK(out == 0.0);
    v = 0;
    nde_activation(NDE_ACT_RELU, 1, &v, NULL, &out);
    CHECK(out == 0.0);   /* PyTorch's relu'(0) */
    CHECK(nde_activation(0, 1, &v, &out, NULL) == NDE_EINVAL);
    /* tanh (the library's own, not libm's) against libm: relative error within 4 eps over
     * [-30, 30] and down to 1e-300 (measured 2.13), odd, exactly 0 at 0, 1 at large |x|,
     * NaN through */
    double worst = 0;
    for (int i = -300000; i <= 300000; i++) {
        double xi = 1e-4 * i + 1e-9 * (i % 7), ti, ref = tanh(xi);
        nde_activation(NDE_ACT_TANH, 1, &xi, &ti, NULL);
        if (ref != 0) worst = fmax(worst, fabs(ti - ref) / (fabs(ref) * DBL_EPSILON));
        double xn = -xi, tn;
        nde_activation(NDE_ACT_TANH, 1, &xn, &tn, NULL);
        CHECK(tn == -ti);
    }
    for (double xi = 1e-300; xi < 1; xi *= 7.3) {
        double ti;
        nde_activation(NDE_ACT_TANH, 1, &xi, &ti, NULL);
        worst = fmax(worst, fabs(ti - tanh(xi)) / (tanh(xi) * DBL_EPSILON));
    }
    CHECK_MSG(worst <= 4, "tanh: relative error %.2f eps from libm", worst);
    v = 0; nde_activation(NDE_ACT_TANH, 1, &v, &out, NULL); CHECK(out == 0 && !signbit(out));
    v = 40; nde_activation(NDE_ACT_TANH, 1, &v, &out, NULL); CHECK(out == 1);
    v = -INFINITY; nde_activation(NDE_ACT_TANH, 1, &v, &out, NULL); CHECK(out == -1);
    v = NAN; nde_activation(NDE_ACT_TANH, 1, &v, &out, NULL); CHECK(isnan(out));
    CHECK(nde_activation(99, 1, &v, &out, NULL) == NDE_EINVAL);
    CHECK(nde_activation_name(99) == NULL);
}

/* ---- norms ------------------------------------------------------------------------- */

static void test_norm_gradients(void)
{
    enum { R = 3, N = 6 };
    double x[R * N], g[N], c[N], gy[R * N], dx[R * N], y[R * N], gx[R * N], gg[N], gc[N], jv[R * N];
    fill(x, R * N, 1);
    fill(g, N, 2);
    fill(c, N, 3);
    fill(gy, R * N, 4);
    fill(dx, R * N, 5);
    const int kinds[2] = { NDE_NORM_RMS, NDE_NORM_LAYER };
    const double eps = 1e-5;
    for (int k = 0; k < 2; k++) {
        int kind = kinds[k];
        CHECK_EQ_INT(nde_norm_forward(kind, R, N, eps, g, c, x, y), NDE_OK);
        /* closed form of row 0 */
        double mu = 0, q = 0;
        if (kind == NDE_NORM_LAYER) { for (int i = 0; i < N; i++) mu += x[i]; mu /= N; }
        for (int i = 0; i < N; i++) q += (x[i] - mu) * (x[i] - mu);
        double r = 1 / sqrt(q / N + eps);
        for (int i = 0; i < N; i++)
            CHECK_NEAR(y[i], g[i] * (x[i] - mu) * r + (kind == NDE_NORM_LAYER ? c[i] : 0), 1e-14);
        CHECK_EQ_INT(nde_norm_vjp(kind, R, N, eps, g, x, gy, gx, gg, gc), NDE_OK);
        CHECK_EQ_INT(nde_norm_jvp(kind, R, N, eps, g, x, dx, jv), NDE_OK);
        /* d<gy, y>/dx_j, /dg_j, /dc_j by central differences */
        double yp[R * N], ym[R * N];
        for (int j = 0; j < R * N; j++) {
            double xs = x[j], h = FD_H;
            x[j] = xs + h; nde_norm_forward(kind, R, N, eps, g, c, x, yp);
            x[j] = xs - h; nde_norm_forward(kind, R, N, eps, g, c, x, ym);
            x[j] = xs;
            double fd = (dot(R * N, gy, yp) - dot(R * N, gy, ym)) / (2 * h);
            CHECK_MSG(fabs(gx[j] - fd) <= fd_tol(fd), "norm %d gx[%d] %.12g fd %.12g", kind, j, gx[j], fd);
        }
        for (int j = 0; j < N; j++) {
            double gs = g[j], h = FD_H;
            g[j] = gs + h; nde_norm_forward(kind, R, N, eps, g, c, x, yp);
            g[j] = gs - h; nde_norm_forward(kind, R, N, eps, g, c, x, ym);
            g[j] = gs;
            double fd = (dot(R * N, gy, yp) - dot(R * N, gy, ym)) / (2 * h);
            CHECK_MSG(fabs(gg[j] - fd) <= fd_tol(fd), "norm %d gg[%d] %.12g fd %.12g", kind, j, gg[j], fd);
            if (kind == NDE_NORM_LAYER) {
                double cs = c[j];
                c[j] = cs + h; nde_norm_forward(kind, R, N, eps, g, c, x, yp);
                c[j] = cs - h; nde_norm_forward(kind, R, N, eps, g, c, x, ym);
                c[j] = cs;
                fd = (dot(R * N, gy, yp) - dot(R * N, gy, ym)) / (2 * h);
                CHECK_MSG(fabs(gc[j] - fd) <= fd_tol(fd), "norm gc[%d] %.12g fd %.12g", j, gc[j], fd);
            }
        }
        /* JVP: (y(x + h dx) - y(x - h dx)) / 2h */
        double xp[R * N], xm[R * N];
        for (int j = 0; j < R * N; j++) { xp[j] = x[j] + FD_H * dx[j]; xm[j] = x[j] - FD_H * dx[j]; }
        nde_norm_forward(kind, R, N, eps, g, c, xp, yp);
        nde_norm_forward(kind, R, N, eps, g, c, xm, ym);
        for (int j = 0; j < R * N; j++) {
            double fd = (yp[j] - ym[j]) / (2 * FD_H);
            CHECK_MSG(fabs(jv[j] - fd) <= fd_tol(fd), "norm %d jvp[%d] %.12g fd %.12g", kind, j, jv[j], fd);
        }
    }
    CHECK(nde_norm_forward(7, R, N, eps, g, c, x, y) == NDE_EINVAL);
    CHECK(nde_norm_forward(NDE_NORM_RMS, R, N, 0.0, g, c, x, y) == NDE_EINVAL);
    CHECK(nde_norm_vjp(NDE_NORM_RMS, R, N, eps, NULL, x, gy, gx, gg, gc) == NDE_EINVAL);
}

/* ---- the MLP --------------------------------------------------------------------- */

#define BATCH 4

/* Every MLP configuration: 3 -> 7 -> 5 -> 2 with each activation, norm and an output
 * activation; gx, gtheta (every parameter) and the JVP against finite differences. */
static void check_mlp(int act, int out_act, int norm)
{
    size_t widths[4] = { 3, 7, 5, 2 };
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    o.activation = act;
    o.out_activation = out_act;
    o.norm = norm;
    o.max_batch = BATCH;
    nde_mlp *m = nde_mlp_create(3, widths, &o);
    CHECK(m != NULL);
    if (!m) return;
    size_t np = nde_mlp_n_params(m);
    size_t expect = 7 * 3 + 7 + 5 * 7 + 5 + 2 * 5 + 2 + (norm ? (norm == NDE_NORM_LAYER ? 2 : 1) * (7 + 5) : 0);
    CHECK_EQ_INT(np, expect);
    double *theta = nde_mlp_params(m);
    CHECK_EQ_INT(nde_mlp_init(m, NDE_INIT_TORCH, 0, 11), NDE_OK);
    if (norm) {   /* non-trivial gains and biases */
        for (size_t l = 1; l <= 2; l++) {
            size_t off = nde_mlp_weight_offset(m, l) + widths[l] * widths[l - 1] + widths[l];
            for (size_t i = 0; i < widths[l] * (norm == NDE_NORM_LAYER ? 2 : 1); i++)
                theta[off + i] = (i < widths[l] ? 1.0 : 0.0) + 0.3 * sin((double)(i + 3 * l));
        }
    }
    double x[BATCH * 3], gy[BATCH * 2], dx[BATCH * 3], y[BATCH * 2], y2[BATCH * 2], gx[BATCH * 3], dy[BATCH * 2];
    double *gth = calloc(np, sizeof *gth), yp[BATCH * 2], ym[BATCH * 2];
    fill(x, BATCH * 3, 21);
    for (int i = 0; i < BATCH * 3; i++) x[i] *= 1.7;
    fill(gy, BATCH * 2, 22);
    fill(dx, BATCH * 3, 23);
    CHECK_EQ_INT(nde_mlp_forward(m, BATCH, x, y), NDE_OK);
    CHECK_EQ_INT(nde_mlp_vjp(m, BATCH, x, gy, gx, gth), NDE_OK);
    CHECK_EQ_INT(nde_mlp_jvp(m, BATCH, x, dx, y2, dy), NDE_OK);
    for (int i = 0; i < BATCH * 2; i++) CHECK(y[i] == y2[i]);
    const char *an = nde_activation_name(act), *on = nde_activation_name(out_act);
    for (int j = 0; j < BATCH * 3; j++) {
        double xs = x[j];
        x[j] = xs + FD_H; nde_mlp_forward(m, BATCH, x, yp);
        x[j] = xs - FD_H; nde_mlp_forward(m, BATCH, x, ym);
        x[j] = xs;
        double fd = (dot(BATCH * 2, gy, yp) - dot(BATCH * 2, gy, ym)) / (2 * FD_H);
        CHECK_MSG(fabs(gx[j] - fd) <= fd_tol(fd), "%s/%s/norm %d: gx[%d] %.12g fd %.12g", an, on, norm, j, gx[j], fd);
    }
    for (size_t k = 0; k < np; k++) {
        double ts = theta[k];
        theta[k] = ts + FD_H; nde_mlp_forward(m, BATCH, x, yp);
        theta[k] = ts - FD_H; nde_mlp_forward(m, BATCH, x, ym);
        theta[k] = ts;
        double fd = (dot(BATCH * 2, gy, yp) - dot(BATCH * 2, gy, ym)) / (2 * FD_H);
        CHECK_MSG(fabs(gth[k] - fd) <= fd_tol(fd), "%s/%s/norm %d: gtheta[%zu] %.12g fd %.12g", an, on, norm, k,
                  gth[k], fd);
    }
    double xp[BATCH * 3], xm[BATCH * 3];
    for (int j = 0; j < BATCH * 3; j++) { xp[j] = x[j] + FD_H * dx[j]; xm[j] = x[j] - FD_H * dx[j]; }
    nde_mlp_forward(m, BATCH, xp, yp);
    nde_mlp_forward(m, BATCH, xm, ym);
    for (int j = 0; j < BATCH * 2; j++) {
        double fd = (yp[j] - ym[j]) / (2 * FD_H);
        CHECK_MSG(fabs(dy[j] - fd) <= fd_tol(fd), "%s/%s/norm %d: jvp[%d] %.12g fd %.12g", an, on, norm, j, dy[j], fd);
    }
    /* a batch of one row gives row 0 of the batch, bit for bit */
    double y1[2];
    nde_mlp_forward(m, 1, x, y1);
    CHECK(y1[0] == y[0] && y1[1] == y[1]);
    free(gth);
    nde_mlp_free(m);
}

static void test_mlp_gradients(void)
{
    const int acts[] = { NDE_ACT_TANH, NDE_ACT_RELU, NDE_ACT_SOFTPLUS, NDE_ACT_SILU, NDE_ACT_LIPSWISH, NDE_ACT_IDENTITY };
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) check_mlp(acts[a], 0, NDE_NORM_NONE);
    check_mlp(NDE_ACT_TANH, NDE_ACT_TANH, NDE_NORM_NONE);
    check_mlp(NDE_ACT_SILU, NDE_ACT_SOFTPLUS, NDE_NORM_NONE);
    check_mlp(NDE_ACT_TANH, 0, NDE_NORM_RMS);
    check_mlp(NDE_ACT_LIPSWISH, 0, NDE_NORM_LAYER);
    check_mlp(NDE_ACT_SILU, NDE_ACT_TANH, NDE_NORM_LAYER);
}

/* The forward pass against the formula, written out for 2 -> 3 -> 1 tanh. */
static void test_mlp_closed_form(void)
{
    size_t widths[3] = { 2, 3, 1 };
    nde_mlp *m = nde_mlp_create(2, widths, NULL);
    double *p = nde_mlp_params(m);
    CHECK_EQ_INT(nde_mlp_n_params(m), 13);
    for (int i = 0; i < 13; i++) p[i] = 0.1 * (i + 1) * (i % 2 ? -1 : 1);
    /* W1 = p[0..5] (3 x 2), b1 = p[6..8], W2 = p[9..11] (1 x 3), b2 = p[12] */
    double x[2] = { 0.3, -0.7 }, y, want = p[12];
    for (int j = 0; j < 3; j++) want += p[9 + j] * tanh(p[2 * j] * x[0] + p[2 * j + 1] * x[1] + p[6 + j]);
    CHECK_EQ_INT(nde_mlp_forward(m, 1, x, &y), NDE_OK);
    CHECK_NEAR(y, want, 1e-15);
    CHECK_EQ_INT(nde_mlp_macs(m), 2 * 3 + 3 * 1);
    CHECK_EQ_INT(nde_mlp_weight_offset(m, 2), 9);
    nde_mlp_free(m);
}

/* The ODE field, autonomous and time-dependent: its f is the MLP, its VJP matches
 * finite differences of f in y and theta (the t column is not part of a_y). */
static void test_field(void)
{
    for (int td = 0; td < 2; td++) {
        size_t widths[3] = { 2 + (size_t)td, 6, 2 };
        nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
        o.max_batch = 3;
        nde_mlp *m = nde_mlp_create(2, widths, &o);
        nde_mlp_init(m, NDE_INIT_TORCH, 0, 5);
        nde_mlp_field fld = { m, 3, td };
        nde_ode ode;
        CHECK_EQ_INT(nde_mlp_field_ode(&fld, &ode, NULL, 0), NDE_OK);
        CHECK_EQ_INT(ode.dim, 6);
        CHECK_EQ_INT(ode.n_params, nde_mlp_n_params(m));
        double y[6], a[6], ay[6], fp[6], fm[6], t = 0.37, *th = nde_mlp_params(m);
        double *at = calloc(ode.n_params, sizeof *at);
        fill(y, 6, 31);
        fill(a, 6, 32);
        CHECK_EQ_INT(ode.vjp(t, y, a, ay, at, ode.user), 0);
        for (int j = 0; j < 6; j++) {
            double s = y[j];
            y[j] = s + FD_H; ode.f(t, y, fp, ode.user);
            y[j] = s - FD_H; ode.f(t, y, fm, ode.user);
            y[j] = s;
            double fd = (dot(6, a, fp) - dot(6, a, fm)) / (2 * FD_H);
            CHECK_MSG(fabs(ay[j] - fd) <= fd_tol(fd), "field td %d a_y[%d] %.12g fd %.12g", td, j, ay[j], fd);
        }
        for (size_t k = 0; k < ode.n_params; k++) {
            double s = th[k];
            th[k] = s + FD_H; ode.f(t, y, fp, ode.user);
            th[k] = s - FD_H; ode.f(t, y, fm, ode.user);
            th[k] = s;
            double fd = (dot(6, a, fp) - dot(6, a, fm)) / (2 * FD_H);
            CHECK_MSG(fabs(at[k] - fd) <= fd_tol(fd), "field td %d a_theta[%zu] %.12g fd %.12g", td, k, at[k], fd);
        }
        if (td) {   /* f depends on t: row r of the MLP's input is (y_r, t) */
            double x[3] = { y[0], y[1], t }, f0[2];
            ode.f(t, y, fp, ode.user);
            nde_mlp_field plain = { m, 1, 0 };
            (void)plain;
            nde_mlp_forward(m, 1, x, f0);
            CHECK(f0[0] == fp[0] && f0[1] == fp[1]);
        }
        free(at);
        nde_mlp_free(m);
    }
}

/* Batch semantics: a batch solved as one system shares its steps (each sample's result
 * then depends on the others to the tolerance); independent trajectories are batch-1
 * solves of the same MLP, and each equals, bit for bit, the solve of an MLP that never
 * saw the rest of the batch. */
static void test_batch_semantics(void)
{
    size_t widths[3] = { 2, 8, 2 };
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    o.max_batch = 4;
    o.cache = 8;
    nde_mlp *shared = nde_mlp_create(2, widths, &o);
    o.max_batch = 1;
    nde_mlp *alone = nde_mlp_create(2, widths, &o);
    nde_mlp_init(shared, NDE_INIT_TORCH, 0, 77);
    nde_mlp_init(alone, NDE_INIT_TORCH, 0, 77);
    double y0[8] = { 1, 0, 0.1, 0.2, -3, 1, 0.5, -0.5 };
    nde_options so = NDE_OPTIONS_INIT;
    so.method = nde_method_find("dopri5");
    so.rtol = 1e-7;
    so.atol = 1e-9;
    nde_mlp_field fb = { shared, 4, 0 }, f1 = { shared, 1, 0 }, fa = { alone, 1, 0 };
    nde_ode ob, o1, oa;
    nde_mlp_field_ode(&fb, &ob, NULL, 0);
    nde_mlp_field_ode(&f1, &o1, NULL, 0);
    nde_mlp_field_ode(&fa, &oa, NULL, 0);
    nde_solution sb, s1, sa;
    CHECK_EQ_INT(nde_ode_solve(&ob, 0, 3, y0, &so, &sb), NDE_OK);
    for (int k = 0; k < 4; k++) {
        CHECK_EQ_INT(nde_ode_solve(&o1, 0, 3, y0 + 2 * k, &so, &s1), NDE_OK);
        CHECK_EQ_INT(nde_ode_solve(&oa, 0, 3, y0 + 2 * k, &so, &sa), NDE_OK);
        CHECK(s1.y[0] == sa.y[0] && s1.y[1] == sa.y[1] && s1.stats.nfe == sa.stats.nfe);
        for (int i = 0; i < 2; i++) CHECK_NEAR(sb.y[2 * k + i], s1.y[i], 1e-5);   /* shared steps: to the tolerance */
        nde_solution_free(&s1);
        nde_solution_free(&sa);
    }
    nde_solution_free(&sb);
    nde_mlp_free(shared);
    nde_mlp_free(alone);
}

/* The activation cache: a VJP after forward passes at other inputs, or after the
 * parameters changed, gives the bits of an MLP without a cache; training with cache 8
 * gives the bits of training with cache 1. */
static void test_activation_cache(void)
{
    size_t widths[4] = { 3, 6, 5, 2 };
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    o.max_batch = 4;
    o.norm = NDE_NORM_LAYER;
    o.cache = 3;
    nde_mlp *c = nde_mlp_create(3, widths, &o);
    o.cache = 0;
    nde_mlp *p = nde_mlp_create(3, widths, &o);
    nde_mlp_init(c, NDE_INIT_TORCH, 0, 8);
    nde_mlp_init(p, NDE_INIT_TORCH, 0, 8);
    size_t np = nde_mlp_n_params(c);
    double x[5][12], gy[8], y[8], gx1[12], gx2[12], *g1 = calloc(np, sizeof *g1), *g2 = calloc(np, sizeof *g2);
    for (int k = 0; k < 5; k++) fill(x[k], 12, 50 + (uint64_t)k);
    fill(gy, 8, 60);
    int same = 1;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 5; k++) nde_mlp_forward(c, 4, x[k], y);   /* evicts x[0], x[1] */
        for (int k = 4; k >= 0; k--) {
            nde_mlp_vjp(c, 4, x[k], gy, gx1, g1);
            nde_mlp_vjp(p, 4, x[k], gy, gx2, g2);
            same &= memcmp(gx1, gx2, sizeof gx1) == 0 && memcmp(g1, g2, np * sizeof *g1) == 0;
            nde_mlp_vjp(c, 2, x[k], gy, gx1, g1);                   /* another batch size */
            nde_mlp_vjp(p, 2, x[k], gy, gx2, g2);
            same &= memcmp(gx1, gx2, 6 * sizeof *gx1) == 0 && memcmp(g1, g2, np * sizeof *g1) == 0;
        }
        /* new parameters between the forward pass and the VJP at the same input */
        nde_mlp_forward(c, 4, x[0], y);
        nde_mlp_params(c)[round] += 0.25;
        nde_mlp_params(p)[round] += 0.25;
        nde_mlp_vjp(c, 4, x[0], gy, gx1, g1);
        nde_mlp_vjp(p, 4, x[0], gy, gx2, g2);
        same &= memcmp(gx1, gx2, sizeof gx1) == 0 && memcmp(g1, g2, np * sizeof *g1) == 0;
        double dx[12], d1[8], d2[8];
        fill(dx, 12, 70);
        nde_mlp_jvp(c, 4, x[1], dx, NULL, d1);
        nde_mlp_jvp(p, 4, x[1], dx, NULL, d2);
        same &= memcmp(d1, d2, sizeof d1) == 0;
    }
    CHECK(same);
    free(g1);
    free(g2);
    nde_mlp_free(c);
    nde_mlp_free(p);
}

/* ---- losses ---------------------------------------------------------------------- */

typedef double (*loss2_fn)(size_t, const double *, const double *);
static double mse_of(size_t n, const double *p, const double *t) { double l; nde_loss_mse(n, p, t, &l, NULL); return l; }
static double l1_of(size_t n, const double *p, const double *t) { double l; nde_loss_l1(n, p, t, &l, NULL); return l; }
static double bern_of(size_t n, const double *p, const double *t) { double l; nde_loss_bernoulli_nll(n, p, t, &l, NULL); return l; }

static void check_loss_grad(const char *name, loss2_fn f, size_t n, double *p, const double *t, const double *g)
{
    for (size_t j = 0; j < n; j++) {
        double s = p[j];
        p[j] = s + FD_H; double lp = f(n, p, t);
        p[j] = s - FD_H; double lm = f(n, p, t);
        p[j] = s;
        double fd = (lp - lm) / (2 * FD_H);
        CHECK_MSG(fabs(g[j] - fd) <= fd_tol(fd), "%s grad[%zu] %.12g fd %.12g", name, j, g[j], fd);
    }
}

static void test_losses(void)
{
    enum { N = 7 };
    double p[N], t[N], g[N], g2[N], loss;
    fill(p, N, 41);
    fill(t, N, 42);
    CHECK_EQ_INT(nde_loss_mse(N, p, t, &loss, g), NDE_OK);
    double want = 0;
    for (int i = 0; i < N; i++) want += (p[i] - t[i]) * (p[i] - t[i]) / N;
    CHECK_NEAR(loss, want, 1e-15);
    check_loss_grad("mse", mse_of, N, p, t, g);
    CHECK_EQ_INT(nde_loss_l1(N, p, t, &loss, g), NDE_OK);
    want = 0;
    for (int i = 0; i < N; i++) want += fabs(p[i] - t[i]) / N;
    CHECK_NEAR(loss, want, 1e-15);
    check_loss_grad("l1", l1_of, N, p, t, g);
    double eq = 1.0, lq, gq;
    nde_loss_l1(1, &eq, &eq, &lq, &gq);
    CHECK(lq == 0 && gq == 0);
    /* Bernoulli: targets in [0, 1], closed form -x log s - (1 - x) log(1 - s) */
    double x[N];
    for (int i = 0; i < N; i++) x[i] = (t[i] + 1) / 2;
    for (int i = 0; i < N; i++) p[i] *= 4;
    CHECK_EQ_INT(nde_loss_bernoulli_nll(N, p, x, &loss, g), NDE_OK);
    want = 0;
    for (int i = 0; i < N; i++) {
        double s = 1 / (1 + exp(-p[i]));
        want += (-x[i] * log(s) - (1 - x[i]) * log(1 - s)) / N;
    }
    CHECK_NEAR(loss, want, 1e-14);
    check_loss_grad("bernoulli", bern_of, N, p, x, g);
    double big = 1000, one = 1, lb;
    CHECK_EQ_INT(nde_loss_bernoulli_nll(1, &big, &one, &lb, NULL), NDE_OK);
    CHECK(isfinite(lb) && lb < 1e-300);
    /* Gaussian: against the density, and both gradients */
    double ls[N];
    fill(ls, N, 43);
    CHECK_EQ_INT(nde_loss_gaussian_nll(N, p, ls, t, &loss, g, g2), NDE_OK);
    want = 0;
    for (int i = 0; i < N; i++) {
        double sd = exp(ls[i]);
        want -= log(exp(-(t[i] - p[i]) * (t[i] - p[i]) / (2 * sd * sd)) / (sd * sqrt(2 * 3.14159265358979323846))) / N;
    }
    CHECK_NEAR(loss, want, 1e-14);
    for (int j = 0; j < N; j++) {
        double s = p[j], lp, lm;
        p[j] = s + FD_H; nde_loss_gaussian_nll(N, p, ls, t, &lp, NULL, NULL);
        p[j] = s - FD_H; nde_loss_gaussian_nll(N, p, ls, t, &lm, NULL, NULL);
        p[j] = s;
        double fd = (lp - lm) / (2 * FD_H);
        CHECK_MSG(fabs(g[j] - fd) <= fd_tol(fd), "gaussian gmean[%d]", j);
        s = ls[j];
        ls[j] = s + FD_H; nde_loss_gaussian_nll(N, p, ls, t, &lp, NULL, NULL);
        ls[j] = s - FD_H; nde_loss_gaussian_nll(N, p, ls, t, &lm, NULL, NULL);
        ls[j] = s;
        fd = (lp - lm) / (2 * FD_H);
        CHECK_MSG(fabs(g2[j] - fd) <= fd_tol(fd), "gaussian glog_sigma[%d]", j);
    }
    CHECK(nde_loss_mse(0, p, t, &loss, g) == NDE_EINVAL);
    CHECK(nde_loss_l1(N, NULL, t, &loss, g) == NDE_EINVAL);
    CHECK(nde_loss_gaussian_nll(N, p, NULL, t, &loss, g, g2) == NDE_EINVAL);
    CHECK(nde_loss_bernoulli_nll(N, p, x, NULL, g) == NDE_EINVAL);
}

/* ---- optimisers: a few steps on f(x) = (3 x0^2 + 0.5 x1^2) / 2 ----------------------- */

static void quad_grad(const double *x, double *g) { g[0] = 3.0 * x[0]; g[1] = 0.5 * x[1]; }

/* Runs `steps` of o from (1, -2) and returns x. */
static void run_optim(int kind, const nde_optim_options *oo, int steps, double *x)
{
    nde_optim *o = nde_optim_create(kind, 2, oo);
    CHECK(o != NULL);
    x[0] = 1.0;
    x[1] = -2.0;
    double g[2];
    for (int s = 0; s < steps; s++) {
        quad_grad(x, g);
        CHECK_EQ_INT(nde_optim_step(o, x, g), NDE_OK);
    }
    CHECK_EQ_INT(nde_optim_steps(o), steps);
    nde_optim_free(o);
}

static void test_optim_sgd(void)
{
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_SGD, &oo);
    oo.lr = 0.1;
    double x[2];
    /* plain: x <- x - lr g: x0 = (1 - 0.3)^3, x1 = -2 (1 - 0.05)^3 */
    run_optim(NDE_OPTIM_SGD, &oo, 3, x);
    CHECK_NEAR(x[0], 0.343, 1e-15);
    CHECK_NEAR(x[1], -2 * 0.857375, 1e-15);
    /* momentum 0.9, dampening 0.5, weight decay 0.1, by hand on x0 (g = 3x + 0.1x = 3.1x):
     * t1: b = 3.1, x = 1 - 0.31 = 0.69;  t2: g = 2.139, b = 0.9*3.1 + 0.5*2.139 = 3.8595,
     * x = 0.69 - 0.38595 = 0.30405 */
    oo.momentum = 0.9; oo.dampening = 0.5; oo.weight_decay = 0.1;
    run_optim(NDE_OPTIM_SGD, &oo, 2, x);
    CHECK_NEAR(x[0], 0.30405, 1e-14);
    /* nesterov (dampening 0): t1: g = 3.1, b = 3.1, step g + 0.9 b = 5.89, x = 0.411;
     * t2: g = 1.2741, b = 2.79 + 1.2741 = 4.0641, step 1.2741 + 3.65769 = 4.93179, x = -0.082179 */
    oo.dampening = 0; oo.nesterov = 1;
    run_optim(NDE_OPTIM_SGD, &oo, 2, x);
    CHECK_NEAR(x[0], -0.082179, 1e-14);
}

static void test_optim_adam(void)
{
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
    CHECK(oo.lr == 1e-3 && oo.beta1 == 0.9 && oo.beta2 == 0.999 && oo.eps == 1e-8 && oo.weight_decay == 0);
    oo.lr = 0.1;
    double x[2];
    /* step 1 of Adam moves every coordinate by lr g / (|g| + eps) */
    run_optim(NDE_OPTIM_ADAM, &oo, 1, x);
    CHECK_NEAR(x[0], 1 - 0.1 * 3 / (3 + 1e-8), 1e-15);
    CHECK_NEAR(x[1], -2 + 0.1 * 1 / (1 + 1e-8), 1e-15);
    /* five steps against the textbook form (Kingma & Ba, Algorithm 1) */
    for (int kind = NDE_OPTIM_ADAM; kind <= NDE_OPTIM_ADAMW; kind++) {
        nde_optim_defaults(kind, &oo);
        oo.lr = 0.05;
        oo.weight_decay = 0.2;
        run_optim(kind, &oo, 5, x);
        double r[2] = { 1.0, -2.0 }, m[2] = { 0, 0 }, v[2] = { 0, 0 }, g[2];
        for (int t = 1; t <= 5; t++) {
            quad_grad(r, g);
            for (int i = 0; i < 2; i++) {
                if (kind == NDE_OPTIM_ADAMW) r[i] -= 0.05 * 0.2 * r[i];
                else g[i] += 0.2 * r[i];
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
                r[i] -= 0.05 * mh / (sqrt(vh) + 1e-8);
            }
        }
        CHECK_NEAR(x[0], r[0], 1e-13);
        CHECK_NEAR(x[1], r[1], 1e-13);
    }
}

static void test_optim_rmsprop(void)
{
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_RMSPROP, &oo);
    CHECK(oo.lr == 1e-2 && oo.alpha == 0.99 && oo.eps == 1e-8 && oo.momentum == 0 && !oo.centered);
    double x[2];
    /* step 1: v = 0.01 g^2, x -= lr g / (0.1 |g| + eps) (eps outside the root) */
    run_optim(NDE_OPTIM_RMSPROP, &oo, 1, x);
    CHECK_NEAR(x[0], 1 - 0.01 * 3 / (0.1 * 3 + 1e-8), 1e-15);
    CHECK_NEAR(x[1], -2 + 0.01 * 1 / (0.1 * 1 + 1e-8), 1e-15);
    for (int variant = 0; variant < 2; variant++) {   /* momentum; centered with momentum */
        nde_optim_defaults(NDE_OPTIM_RMSPROP, &oo);
        oo.momentum = 0.5;
        oo.centered = variant;
        oo.weight_decay = 0.1;
        run_optim(NDE_OPTIM_RMSPROP, &oo, 4, x);
        double r[2] = { 1.0, -2.0 }, v[2] = { 0, 0 }, a[2] = { 0, 0 }, b[2] = { 0, 0 }, g[2];
        for (int t = 1; t <= 4; t++) {
            quad_grad(r, g);
            for (int i = 0; i < 2; i++) {
                g[i] += 0.1 * r[i];
                v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
                a[i] = 0.99 * a[i] + 0.01 * g[i];
                double d = sqrt(variant ? v[i] - a[i] * a[i] : v[i]) + 1e-8;
                b[i] = 0.5 * b[i] + g[i] / d;
                r[i] -= 0.01 * b[i];
            }
        }
        CHECK_NEAR(x[0], r[0], 1e-14);
        CHECK_NEAR(x[1], r[1], 1e-14);
    }
    /* centered with a constant gradient and alpha near 0: v - a^2 is 0 exactly but
     * rounds below it (PyTorch's NaN, found by fuzz_nn); the step stays finite */
    nde_optim_defaults(NDE_OPTIM_RMSPROP, &oo);
    oo.centered = 1;
    oo.alpha = 8e-5;
    oo.eps = 1e-12;
    int finite = 1;
    for (int trial = 0; trial < 200; trial++) {
        nde_optim *o = nde_optim_create(NDE_OPTIM_RMSPROP, 1, &oo);
        double y = 1, g = 0.1 + 0.37 * trial;
        for (int s = 0; s < 8; s++) nde_optim_step(o, &y, &g);
        finite &= isfinite(y) != 0;
        nde_optim_free(o);
    }
    CHECK(finite);
}

static void test_optim_state(void)
{
    nde_optim *o = nde_optim_create(NDE_OPTIM_ADAM, 2, NULL);
    double x[2] = { 1, 2 }, g[2] = { 0.5, NAN };
    CHECK(nde_optim_step(o, x, g) == NDE_EINVAL);
    CHECK(x[0] == 1 && x[1] == 2 && nde_optim_steps(o) == 0);   /* untouched */
    g[1] = 1;
    CHECK_EQ_INT(nde_optim_step(o, x, g), NDE_OK);
    double x1[2] = { x[0], x[1] };
    nde_optim_reset(o);
    x[0] = 1; x[1] = 2;
    CHECK_EQ_INT(nde_optim_step(o, x, g), NDE_OK);   /* after a reset: the same first step */
    CHECK(x[0] == x1[0] && x[1] == x1[1]);
    CHECK_EQ_INT(nde_optim_set_lr(o, 0.25), NDE_OK);
    CHECK(nde_optim_lr(o) == 0.25);
    CHECK(nde_optim_set_lr(o, -1) == NDE_EINVAL);
    nde_optim_free(o);
    nde_optim_free(NULL);
    char err[NDE_MESSAGE_MAX];
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
    oo.beta1 = 1.0;
    oo.errbuf = err; oo.errbuf_size = sizeof err;
    CHECK(nde_optim_create(NDE_OPTIM_ADAM, 2, &oo) == NULL);
    CHECK(strstr(err, "beta1") != NULL);
    nde_optim_defaults(NDE_OPTIM_SGD, &oo);
    oo.nesterov = 1;
    oo.errbuf = err; oo.errbuf_size = sizeof err;
    CHECK(nde_optim_create(NDE_OPTIM_SGD, 2, &oo) == NULL);
    CHECK(strstr(err, "nesterov") != NULL);
    CHECK(nde_optim_create(99, 2, NULL) == NULL);
    CHECK(nde_optim_create(NDE_OPTIM_SGD, 0, NULL) == NULL);
    CHECK(nde_optim_defaults(0, &oo) == NDE_EINVAL);
}

static void test_schedules(void)
{
    CHECK_NEAR(nde_lr_cosine(1.0, 0.1, 0, 100), 1.0, 1e-15);
    CHECK_NEAR(nde_lr_cosine(1.0, 0.1, 50, 100), 0.55, 1e-15);
    CHECK_NEAR(nde_lr_cosine(1.0, 0.1, 100, 100), 0.1, 1e-15);
    CHECK_NEAR(nde_lr_cosine(1.0, 0.1, 25, 100), 0.1 + 0.9 * (1 + sqrt(0.5)) / 2, 1e-15);
    CHECK(nde_lr_cosine(1.0, 0.1, 5, 0) == 1.0);
    /* warm restarts, t_0 = 10, t_mult = 2: periods [0, 10), [10, 30), [30, 70) */
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 0, 10, 2), 1.0, 1e-15);
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 5, 10, 2), 0.5, 1e-15);
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 10, 10, 2), 1.0, 1e-15);
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 20, 10, 2), 0.5, 1e-15);
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 30, 10, 2), 1.0, 1e-15);
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 50, 10, 2), 0.5, 1e-15);
    CHECK_NEAR(nde_lr_warm_restarts(1.0, 0.0, 25, 10, 1), 0.5, 1e-15);   /* t_mult 1: period 10 */
    CHECK(nde_lr_warm_restarts(1.0, 0.0, 25, 0, 1) == 1.0);
}

/* ---- initialisation ---------------------------------------------------------------- */

/* Moments of the init over a 200 -> 300 layer (60000 weights): |z| < 5 for the mean and
 * the variance (two-sided 5.7e-7 per check under the null). */
static void test_init_distribution(void)
{
    size_t widths[2] = { 200, 300 };
    nde_mlp *m = nde_mlp_create(1, widths, NULL);
    double *p = nde_mlp_params(m);
    size_t nw = 60000;
    for (int scheme = NDE_INIT_TORCH; scheme <= NDE_INIT_NORMAL; scheme++) {
        CHECK_EQ_INT(nde_mlp_init(m, scheme, 0.1, 3), NDE_OK);
        double bound = 1 / sqrt(200.0), var = scheme == NDE_INIT_TORCH ? bound * bound / 3 : 0.01;
        /* fourth moment: uniform 9/5 var^2, normal 3 var^2 */
        double m4 = scheme == NDE_INIT_TORCH ? 1.8 * var * var : 3 * var * var;
        double s = 0, q = 0, mx = 0;
        for (size_t i = 0; i < nw; i++) { s += p[i]; q += p[i] * p[i]; mx = fmax(mx, fabs(p[i])); }
        double mean = s / (double)nw, v2 = q / (double)nw;
        double zmean = mean / sqrt(var / (double)nw), zvar = (v2 - var) / sqrt((m4 - var * var) / (double)nw);
        CHECK_MSG(fabs(zmean) < 5, "scheme %d: mean %g, z %g", scheme, mean, zmean);
        CHECK_MSG(fabs(zvar) < 5, "scheme %d: variance %g vs %g, z %g", scheme, v2, var, zvar);
        if (scheme == NDE_INIT_TORCH) {
            CHECK(mx <= bound);
            double bmax = 0;
            for (size_t i = nw; i < nw + 300; i++) bmax = fmax(bmax, fabs(p[i]));
            CHECK(bmax <= bound && bmax > 0.9 * bound);   /* biases U(-bound, bound) too */
        } else {
            int zero = 1;
            for (size_t i = nw; i < nw + 300; i++) zero &= p[i] == 0.0;
            CHECK(zero);
        }
    }
    /* a pure function of (seed, index): the same seed twice, bit for bit; another differs */
    double a0 = p[0];
    nde_mlp_init(m, NDE_INIT_NORMAL, 0.1, 3);
    CHECK(p[0] == a0);
    nde_mlp_init(m, NDE_INIT_NORMAL, 0.1, 4);
    CHECK(p[0] != a0);
    CHECK(nde_mlp_init(m, 0, 0.1, 3) == NDE_EINVAL);
    CHECK(nde_mlp_init(m, NDE_INIT_NORMAL, -1, 3) == NDE_EINVAL);
    nde_mlp_free(m);
}

/* ---- parameter files ------------------------------------------------------------------ */

static void test_save_load(void)
{
    size_t widths[4] = { 3, 5, 4, 2 };
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    o.norm = NDE_NORM_LAYER;
    nde_mlp *a = nde_mlp_create(3, widths, &o), *b = nde_mlp_create(3, widths, &o);
    size_t np = nde_mlp_n_params(a);
    double *pa = nde_mlp_params(a), *pb = nde_mlp_params(b);
    nde_mlp_init(a, NDE_INIT_TORCH, 0, 9);
    for (size_t i = 0; i < np; i++) pa[i] *= 1 + 1e-13 * (double)i;   /* awkward bits */
    pa[0] = 5e-324;
    pa[1] = -1.7976931348623157e308;
    char path[] = "test_nn_params.txt", err[NDE_MESSAGE_MAX];
    CHECK_EQ_INT(nde_mlp_save(a, path, err, sizeof err), NDE_OK);
    CHECK_EQ_INT(nde_mlp_load(b, path, err, sizeof err), NDE_OK);
    CHECK(memcmp(pa, pb, np * sizeof *pa) == 0);
    /* a file missing a block, a wrong shape or a bad number: params untouched */
    double *keep = malloc(np * sizeof *keep);
    nde_mlp_init(b, NDE_INIT_TORCH, 0, 10);
    memcpy(keep, pb, np * sizeof *keep);
    const char *bad[3] = { "W1 5 3\n1 2 3\n", "W1 3 5\n", "W1 5 3\n1 2 x\n" };
    const char *what[3] = { "entry", "expected 5 x 3", "not a finite number" };
    for (int k = 0; k < 3; k++) {
        FILE *f = fopen(path, "w");
        fputs(bad[k], f);
        fclose(f);
        CHECK(nde_mlp_load(b, path, err, sizeof err) == NDE_EINVAL);
        CHECK_MSG(strstr(err, what[k]) != NULL, "case %d: message '%s'", k, err);
        CHECK(memcmp(keep, pb, np * sizeof *pb) == 0);
    }
    /* a block read by name, skipping others and comments */
    FILE *f = fopen(path, "w");
    fputs("# comment\nfoo 1 2\n1 2\nbar 2 2 # trailing\n1.5 -2\n3e-3 4\n", f);
    fclose(f);
    double M[4] = { 0 };
    CHECK_EQ_INT(nde_block_read(path, "bar", 2, 2, M, err, sizeof err), NDE_OK);
    CHECK(M[0] == 1.5 && M[1] == -2 && M[2] == 3e-3 && M[3] == 4);
    CHECK(nde_block_read(path, "baz", 2, 2, M, err, sizeof err) == NDE_EINVAL);
    CHECK(strstr(err, "no block 'baz'") != NULL);
    CHECK(nde_block_read("/nonexistent/file", "bar", 2, 2, M, err, sizeof err) == NDE_EINVAL);
    remove(path);
    free(keep);
    nde_mlp_free(a);
    nde_mlp_free(b);
}

/* ---- training: deterministic, and allocation-free per call ---------------------------- */

/* 30 Adam steps of the rotation problem of nn.h's example; returns the final loss and
 * leaves the parameters in theta_out. */
static double train_small(uint64_t seed, double *theta_out, size_t cache)
{
    size_t widths[3] = { 2, 16, 2 };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = 8;
    mo.cache = cache;
    nde_mlp *net = nde_mlp_create(2, widths, &mo);
    nde_mlp_init(net, NDE_INIT_TORCH, 0, seed);
    nde_mlp_field field = { net, 8, 0 };
    nde_ode ode;
    nde_mlp_field_ode(&field, &ode, NULL, 0);
    CHECK_EQ_INT(ode.n_params, 82);
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
    oo.lr = 1e-2;
    nde_optim *adam = nde_optim_create(NDE_OPTIM_ADAM, ode.n_params, &oo);
    double y0[16], target[16], g[16], grad[82], loss = NAN;
    nde_normal_fill(7, NDE_STREAM_USER_FIRST, 16, y0);
    for (int i = 0; i < 8; i++) {
        target[2 * i] = cos(1.0) * y0[2 * i] - sin(1.0) * y0[2 * i + 1];
        target[2 * i + 1] = sin(1.0) * y0[2 * i] + cos(1.0) * y0[2 * i + 1];
    }
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-6;
    nde_tape *tape = nde_tape_create(NULL);
    for (int it = 0; it < 30; it++) {
        nde_solution sol;
        if (nde_ode_solve_taped(&ode, 0.0, 1.0, y0, &o, tape, &sol) != NDE_OK) { loss = NAN; break; }
        nde_loss_mse(16, sol.y, target, &loss, g);
        nde_solution_free(&sol);
        if (nde_ode_backward(tape, g, NULL, grad) != NDE_OK) { loss = NAN; break; }
        nde_optim_step(adam, nde_mlp_params(net), grad);
    }
    memcpy(theta_out, nde_mlp_params(net), ode.n_params * sizeof *theta_out);
    nde_tape_free(tape);
    nde_optim_free(adam);
    nde_mlp_free(net);
    return loss;
}

static void test_training_deterministic(void)
{
    double a[82] = { 0 }, b[82] = { 0 }, c[82] = { 0 }, d[82] = { 0 };   /* 2 -> 16 -> 2: 82 parameters */
    double la = train_small(1, a, 0), lb = train_small(1, b, 0), lc = train_small(2, c, 0), ld = train_small(1, d, 8);
    CHECK(isfinite(la) && la == lb && isfinite(lc) && la == ld);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, d, sizeof a) == 0);   /* the activation cache changes no bit */
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* and it trains: the loss after 30 steps is below the initial one (0.5 .. 1.5) */
    CHECK_MSG(la < 0.5, "loss after 30 steps %g", la);
}

static void test_no_allocation_per_call(void)
{
    test_alloc ta;
    test_alloc_init(&ta);
    size_t widths[4] = { 3, 8, 8, 2 };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = 5;
    mo.norm = NDE_NORM_RMS;
    mo.allocator = &ta.a;
    nde_mlp *m = nde_mlp_create(3, widths, &mo);
    nde_optim_options oo;
    nde_optim_defaults(NDE_OPTIM_RMSPROP, &oo);
    oo.allocator = &ta.a;
    oo.momentum = 0.9;
    oo.centered = 1;
    nde_optim *opt = nde_optim_create(NDE_OPTIM_RMSPROP, nde_mlp_n_params(m), &oo);
    CHECK(m && opt);
    size_t calls = ta.calls;
    double x[15], y[10], gy[10], gx[15], dy[10], *gt = calloc(nde_mlp_n_params(m), sizeof *gt);
    fill(x, 15, 1);
    fill(gy, 10, 2);
    nde_mlp_init(m, NDE_INIT_TORCH, 0, 1);
    for (int k = 0; k < 1000; k++) {
        nde_mlp_forward(m, 5, x, y);
        nde_mlp_vjp(m, 5, x, gy, gx, gt);
        nde_mlp_jvp(m, 5, x, x, y, dy);
        nde_optim_step(opt, nde_mlp_params(m), gt);
    }
    nde_mlp_field fld = { m, 5, 1 };   /* 3 inputs = state 2 + t */
    nde_ode ode;
    CHECK_EQ_INT(nde_mlp_field_ode(&fld, &ode, NULL, 0), NDE_OK);
    for (int k = 0; k < 1000; k++) {
        ode.f(0.1 * k, x, y, ode.user);
        ode.vjp(0.1 * k, x, gy, gx, gt, ode.user);
    }
    CHECK_EQ_INT(ta.calls, calls);
    nde_optim_free(opt);
    nde_mlp_free(m);
    CHECK_EQ_INT(ta.live, 0);
    free(gt);
}

static void test_allocation_failures(void)
{
    size_t widths[3] = { 2, 4, 2 };
    for (size_t n = 1; n <= 4; n++) {
        test_alloc ta;
        test_alloc_init(&ta);
        ta.fail_at = n;
        char err[NDE_MESSAGE_MAX] = "";
        nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
        mo.allocator = &ta.a;
        mo.errbuf = err;
        mo.errbuf_size = sizeof err;
        nde_mlp *m = nde_mlp_create(2, widths, &mo);
        nde_optim_options oo;
        nde_optim_defaults(NDE_OPTIM_ADAM, &oo);
        oo.allocator = &ta.a;
        nde_optim *o = m ? nde_optim_create(NDE_OPTIM_ADAM, 10, &oo) : NULL;
        if (n <= 2) CHECK(m == NULL && strstr(err, "out of memory"));
        if (n == 3) CHECK(m && o == NULL);
        if (n == 4) CHECK(m && o);
        nde_optim_free(o);
        nde_mlp_free(m);
        CHECK_EQ_INT(ta.live, 0);
    }
}

/* ---- bad input ------------------------------------------------------------------------ */

static void test_bad_input(void)
{
    char err[NDE_MESSAGE_MAX];
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    o.errbuf = err;
    o.errbuf_size = sizeof err;
    size_t widths[3] = { 2, 0, 2 }, good[3] = { 2, 4, 2 };
    CHECK(nde_mlp_create(2, widths, &o) == NULL && strstr(err, "widths[1]"));
    CHECK(nde_mlp_create(0, good, &o) == NULL && strstr(err, "n_layers"));
    CHECK(nde_mlp_create(2, NULL, &o) == NULL && strstr(err, "NULL"));
    o.activation = 42;
    CHECK(nde_mlp_create(2, good, &o) == NULL && strstr(err, "activation 42"));
    o.activation = 0;
    o.norm = 9;
    CHECK(nde_mlp_create(2, good, &o) == NULL && strstr(err, "norm 9"));
    o.norm = 0;
    o.norm_eps = -1;
    CHECK(nde_mlp_create(2, good, &o) == NULL && strstr(err, "norm_eps"));
    o.norm_eps = 0;
    size_t huge[3] = { (size_t)1 << 40, (size_t)1 << 40, 2 };
    CHECK(nde_mlp_create(2, huge, &o) == NULL && strstr(err, "overflow"));
    o.max_batch = 2;
    nde_mlp *m = nde_mlp_create(2, good, &o);
    double x[6] = { 1, 2, 3, 4, 5, 6 }, y[6] = { 7, 7, 7, 7, 7, 7 };
    CHECK(nde_mlp_forward(m, 3, x, y) == NDE_EINVAL && y[0] == 7);   /* batch > max_batch */
    CHECK(nde_mlp_forward(m, 0, x, y) == NDE_EINVAL);
    CHECK(nde_mlp_forward(m, 1, NULL, y) == NDE_EINVAL);
    CHECK(nde_mlp_vjp(m, 1, x, NULL, y, NULL) == NDE_EINVAL);
    CHECK(nde_mlp_jvp(m, 1, x, NULL, y, y) == NDE_EINVAL);
    CHECK(nde_mlp_forward(NULL, 1, x, y) == NDE_EINVAL);
    nde_ode ode = { .dim = 99 };
    nde_mlp_field f = { m, 3, 0 };
    CHECK(nde_mlp_field_ode(&f, &ode, err, sizeof err) == NDE_EINVAL && strstr(err, "batch") && ode.dim == 99);
    f.batch = 2;
    f.time_dependent = 1;
    CHECK(nde_mlp_field_ode(&f, &ode, err, sizeof err) == NDE_EINVAL && strstr(err, "3 inputs") && ode.dim == 99);
    CHECK(nde_mlp_field_rhs(0, x, y, &f) == -1);   /* a bad field is a stopping callback */
    CHECK(nde_mlp_field_ode(NULL, &ode, err, sizeof err) == NDE_EINVAL);
    CHECK(nde_mlp_n_params(NULL) == 0 && nde_mlp_params(NULL) == NULL && nde_mlp_width(m, 3) == 0);
    nde_mlp_free(m);
    nde_mlp_free(NULL);
}

/* ---- the train-step problem (data/mlp_2_64_64_2.txt) ---------------------------------- */

#define TS_B 256
static void test_train_step_problem(void)
{
    const char *path = NDE_DATA_DIR "/mlp_2_64_64_2.txt";
    size_t widths[4] = { 2, 64, 64, 2 };
    nde_mlp_options mo = NDE_MLP_OPTIONS_INIT;
    mo.max_batch = TS_B;
    nde_mlp *m = nde_mlp_create(3, widths, &mo);
    char err[NDE_MESSAGE_MAX];
    static double y0[TS_B * 2], ref[TS_B * 2], target[TS_B * 2];
    CHECK_EQ_INT(nde_mlp_load(m, path, err, sizeof err), NDE_OK);
    CHECK_EQ_INT(nde_block_read(path, "y0", TS_B, 2, y0, err, sizeof err), NDE_OK);
    CHECK_EQ_INT(nde_block_read(path, "y1_ref", TS_B, 2, ref, err, sizeof err), NDE_OK);
    for (int r = 0; r < TS_B; r++) {
        target[2 * r] = cos(1.0) * y0[2 * r] - sin(1.0) * y0[2 * r + 1];
        target[2 * r + 1] = sin(1.0) * y0[2 * r] + cos(1.0) * y0[2 * r + 1];
    }
    nde_mlp_field fld = { m, TS_B, 0 };
    nde_ode ode;
    nde_mlp_field_ode(&fld, &ode, NULL, 0);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("dopri5");
    o.rtol = o.atol = 1e-3;
    nde_solution sol;
    CHECK_EQ_INT(nde_ode_solve(&ode, 0, 1, y0, &o, &sol), NDE_OK);
    double loss, e = 0;
    nde_loss_mse(TS_B * 2, sol.y, target, &loss, NULL);
    for (int i = 0; i < TS_B * 2; i++) e = fmax(e, fabs(sol.y[i] - ref[i]));
    /* the figures: loss 0.865099 (6 digits), 14 evaluations; y(1) to the
     * solve's tolerance (rtol = atol = 1e-3 per step) against DOP853 at 1e-13 */
    CHECK_NEAR(loss, 0.865099, 5e-7);
    CHECK_EQ_INT(sol.stats.nfe, 14);
    CHECK_MSG(e <= 1e-3, "max |y(1) - y1_ref| = %.3g", e);
    /* at tight tolerance the solve agrees with the independent reference */
    nde_solution_free(&sol);
    o.rtol = o.atol = 1e-11;
    CHECK_EQ_INT(nde_ode_solve(&ode, 0, 1, y0, &o, &sol), NDE_OK);
    e = 0;
    for (int i = 0; i < TS_B * 2; i++) e = fmax(e, fabs(sol.y[i] - ref[i]));
    CHECK_MSG(e <= 1e-9, "tight solve: max |y(1) - y1_ref| = %.3g", e);
    nde_solution_free(&sol);
    nde_mlp_free(m);
}

int main(void)
{
    RUN(test_activation_derivatives);
    RUN(test_norm_gradients);
    RUN(test_mlp_gradients);
    RUN(test_mlp_closed_form);
    RUN(test_field);
    RUN(test_activation_cache);
    RUN(test_batch_semantics);
    RUN(test_losses);
    RUN(test_optim_sgd);
    RUN(test_optim_adam);
    RUN(test_optim_rmsprop);
    RUN(test_optim_state);
    RUN(test_schedules);
    RUN(test_init_distribution);
    RUN(test_save_load);
    RUN(test_training_deterministic);
    RUN(test_no_allocation_per_call);
    RUN(test_allocation_failures);
    RUN(test_bad_input);
    RUN(test_train_step_problem);
    return test_summary();
}
