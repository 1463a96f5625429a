/* `nde demo`, gradients section: fitting the four parameters of a Lotka-Volterra model
 * to observations by gradient descent (Adam) with gradients from the checkpointed
 * adjoint (nde_ode_solve_taped + nde_ode_backward), and a gradient check of every
 * registered method against central differences of the discrete solve. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

#define NOBS 20
#define ITERS 400

typedef struct lv { double p[4]; } lv;   /* alpha beta delta gamma */

static int lv_f(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const double *p = ((const lv *)u)->p;
    dy[0] = p[0] * y[0] - p[1] * y[0] * y[1];
    dy[1] = p[2] * y[0] * y[1] - p[3] * y[1];
    return 0;
}

static int lv_vjp(double t, const double *y, const double *a, double *ay, double *ap, void *u)
{
    (void)t;
    const double *p = ((const lv *)u)->p;
    if (ay) {
        ay[0] = a[0] * (p[0] - p[1] * y[1]) + a[1] * p[2] * y[1];
        ay[1] = -a[0] * p[1] * y[0] + a[1] * (p[2] * y[0] - p[3]);
    }
    if (ap) { ap[0] = a[0] * y[0]; ap[1] = -a[0] * y[0] * y[1]; ap[2] = a[1] * y[0] * y[1]; ap[3] = -a[1] * y[1]; }
    return 0;
}

/* Mean squared misfit to the observations, its gradient in the parameters (NULL: none)
 * and the saved trajectory (NOBS x 2, may be NULL). Returns NAN on failure. */
static double misfit(lv *m, const double *ts, const double *obs, const double *y0, const nde_method *meth,
                     double dt, nde_tape *tape, double *grad, double *traj)
{
    nde_ode ode = { .dim = 2, .f = lv_f, .vjp = lv_vjp, .n_params = 4, .user = m };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = meth;
    o.ts = ts; o.n_ts = NOBS;
    if (dt > 0) { o.rtol = 0; o.dt0 = dt; }
    else { o.rtol = 1e-8; o.atol = 1e-10; }
    nde_solution sol;
    int rc = nde_ode_solve_taped(&ode, 0.0, ts[NOBS - 1], y0, &o, tape, &sol);
    if (rc != NDE_OK || sol.n != NOBS) {
        fprintf(stderr, "nde demo (gradients): %s: %s\n", nde_method_name(meth), nde_solution_message(&sol));
        nde_solution_free(&sol);
        return NAN;
    }
    double L = 0, cot[2 * NOBS];
    for (size_t i = 0; i < 2 * NOBS; i++) {
        double e = sol.y[i] - obs[i];
        L += e * e / (2 * NOBS);
        cot[i] = 2 * e / (2 * NOBS);
    }
    if (traj) memcpy(traj, sol.y, 2 * NOBS * sizeof *traj);
    nde_solution_free(&sol);
    if (grad && nde_ode_backward(tape, cot, NULL, grad) != NDE_OK) {
        fprintf(stderr, "nde demo (gradients): backward: %s\n", nde_tape_message(tape));
        return NAN;
    }
    return L;
}

/* y(t) of the model at npts equally spaced times of [0, t1], by dense output. */
static int curve(lv *m, const double *y0, double t1, double *out, int npts)
{
    nde_ode ode = { .dim = 2, .f = lv_f, .user = m };
    nde_options o = NDE_OPTIONS_INIT;
    o.rtol = 1e-8; o.atol = 1e-10; o.save = NDE_SAVE_DENSE;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, t1, y0, &o, &sol);
    for (int i = 0; rc == NDE_OK && i < npts; i++)
        rc = nde_solution_eval(&sol, t1 * i / (npts - 1), out + 2 * i);
    nde_solution_free(&sol);
    return rc;
}

int demo_adjoint(demo_ctx *ctx)
{
    const double truth[4] = { 1.5, 1.0, 1.0, 3.0 }, start[4] = { 1.0, 0.6, 1.4, 2.4 };
    const double y0[2] = { 1.0, 1.0 };
    double ts[NOBS], obs[2 * NOBS], first[2 * NOBS], fitted[2 * NOBS];
    for (int i = 0; i < NOBS; i++) ts[i] = 0.5 * (i + 1);
    nde_tape *tape = nde_tape_create(NULL);
    if (!tape) return 1;
    const nde_method *dopri5 = nde_method_find("dopri5");
    lv m;
    memcpy(m.p, truth, sizeof m.p);
    double zero[2 * NOBS] = { 0 };   /* obs = y(ts; truth), the misfit to zero discarded */
    int rc = isnan(misfit(&m, ts, zero, y0, dopri5, 0, tape, NULL, obs)) ? 1 : 0;

    /* Adam on the parameters (lr 0.02), gradients from the checkpointed adjoint */
    memcpy(m.p, start, sizeof m.p);
    double mom[4] = { 0 }, vel[4] = { 0 }, g[4], L0 = NAN, L = NAN;
    FILE *lf = demo_fopen(ctx, "adjoint_loss.dat", "w");
    if (!lf) rc = 1;
    int iters = ctx->quick ? ITERS / 4 : ITERS;
    for (int it = 1; it <= iters && !rc; it++) {
        L = misfit(&m, ts, obs, y0, dopri5, 0, tape, g, it == 1 ? first : NULL);
        if (isnan(L)) { rc = 1; break; }
        if (it == 1) L0 = L;
        fprintf(lf, "%d %.6g\n", it, L);
        for (int k = 0; k < 4; k++) {
            mom[k] = 0.9 * mom[k] + 0.1 * g[k];
            vel[k] = 0.999 * vel[k] + 0.001 * g[k] * g[k];
            double mh = mom[k] / (1 - pow(0.9, it)), vh = vel[k] / (1 - pow(0.999, it));
            m.p[k] -= 0.02 * mh / (sqrt(vh) + 1e-8);
        }
    }
    if (lf) fclose(lf);
    if (!rc && isnan(misfit(&m, ts, obs, y0, dopri5, 0, tape, NULL, fitted))) rc = 1;
    enum { NC = 201 };
    double cfirst[2 * NC], cfit[2 * NC];
    lv q0;
    memcpy(q0.p, start, sizeof q0.p);
    if (!rc && (curve(&q0, y0, ts[NOBS - 1], cfirst, NC) || curve(&m, y0, ts[NOBS - 1], cfit, NC))) rc = 1;
    FILE *cf = demo_fopen(ctx, "adjoint_curve.dat", "w");
    if (!cf) rc = 1;
    else {
        for (int i = 0; i < NC; i++)
            fprintf(cf, "%g %.6g %.6g %.6g %.6g\n", ts[NOBS - 1] * i / (NC - 1), cfirst[2 * i], cfirst[2 * i + 1],
                    cfit[2 * i], cfit[2 * i + 1]);
        fclose(cf);
    }
    FILE *tf = demo_fopen(ctx, "adjoint_traj.dat", "w");
    if (!tf) rc = 1;
    else {
        for (int i = 0; i < NOBS; i++)
            fprintf(tf, "%g %.6g %.6g %.6g %.6g %.6g %.6g\n", ts[i], obs[2 * i], obs[2 * i + 1], first[2 * i],
                    first[2 * i + 1], fitted[2 * i], fitted[2 * i + 1]);
        fclose(tf);
    }

    /* gradient check: every method, constant steps, central differences */
    FILE *js = demo_fopen(ctx, "gradients.json", "w");
    if (!js) rc = 1;
    double worst_all = 0;
    fprintf(ctx->html,
        "<section id=\"gradients\">\n<h2>Gradients through solves</h2>\n"
        "<p>Fitting the four parameters (&alpha;, &beta;, &delta;, &gamma;) of a Lotka-Volterra "
        "model to %d observations of both species on [0, 10] (generated with &theta; = "
        "(%g, %g, %g, %g)), starting from (%g, %g, %g, %g), by Adam with gradients from the "
        "checkpointed adjoint through dopri5 at rtol 10<sup>-8</sup>: "
        "<code>nde_ode_solve_taped</code>, then <code>nde_ode_backward</code> with the "
        "right-hand side's vector-Jacobian product. Found &theta; = (%.4f, %.4f, %.4f, %.4f); "
        "misfit %.3g &rarr; %.3g in %d steps.</p>\n"
        "<figure><img src=\"adjoint.png\"><figcaption>Left: observations, the first guess and "
        "the fit. Right: the misfit during training.</figcaption></figure>\n"
        "<table><tr><th>method</th><th>worst relative error of dL/d&theta; vs central "
        "differences (constant steps; reversible_heun through its reversible adjoint)</th></tr>\n",
        NOBS, truth[0], truth[1], truth[2], truth[3], start[0], start[1], start[2], start[3], m.p[0], m.p[1],
        m.p[2], m.p[3], L0, L, iters);
    if (js) fprintf(js, "{\"theta\": [%.6g, %.6g, %.6g, %.6g], \"loss_first\": %.6g, \"loss_last\": %.6g, "
                    "\"gradient_check\": {", m.p[0], m.p[1], m.p[2], m.p[3], L0, L);
    size_t n_checked = 0;
    for (size_t k = 0; k < nde_method_count() && !rc; k++) {
        const nde_method *meth = nde_method_at(k);
        /* the gradients layer differentiates explicit RK and reversible solves only */
        if (nde_method_kind(meth) != NDE_METHOD_EXPLICIT_RK && nde_method_kind(meth) != NDE_METHOD_REVERSIBLE)
            continue;
        /* reversible methods are differentiated by reconstructing their states */
        nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
        ao.kind = nde_method_kind(meth) == NDE_METHOD_REVERSIBLE ? NDE_ADJOINT_REVERSIBLE : NDE_ADJOINT_CHECKPOINT;
        nde_tape *mt = nde_tape_create(&ao);
        if (!mt) { rc = 1; break; }
        lv q;
        memcpy(q.p, start, sizeof q.p);
        double gq[4], worst = 0, scale = 0;
        if (isnan(misfit(&q, ts, obs, y0, meth, 0.01, mt, gq, NULL))) { nde_tape_free(mt); rc = 1; break; }
        for (int i = 0; i < 4; i++) scale = fmax(scale, fabs(gq[i]));
        for (int i = 0; i < 4; i++) {
            double x0 = q.p[i], eps = 1e-6 * fmax(1.0, fabs(x0));
            q.p[i] = x0 + eps;
            double Lp = misfit(&q, ts, obs, y0, meth, 0.01, mt, NULL, NULL);
            q.p[i] = x0 - eps;
            double Lm = misfit(&q, ts, obs, y0, meth, 0.01, mt, NULL, NULL);
            q.p[i] = x0;
            worst = fmax(worst, fabs(gq[i] - (Lp - Lm) / (2 * eps)) / scale);
        }
        nde_tape_free(mt);
        worst_all = fmax(worst_all, worst);
        fprintf(ctx->html, "<tr><td>%s</td><td>%.2g</td></tr>\n", nde_method_name(meth), worst);
        if (js) fprintf(js, "%s\"%s\": %.3g", n_checked ? ", " : "", nde_method_name(meth), worst);
        n_checked++;
    }
    fprintf(ctx->html, "</table>\n</section>\n");
    if (js) { fprintf(js, "}}\n"); fclose(js); }

    FILE *gp = demo_fopen(ctx, "adjoint.gp", "w");
    if (!gp) rc = 1;
    else {
        fprintf(gp,
            "set terminal @png_term size 1200,420\n"
            "set output 'adjoint.png'\n"
            "set multiplot layout 1,2\n"
            "set xlabel 't'\nset ylabel 'population'\nset key top right\n"
            "set title 'Lotka-Volterra: observations, first guess, fit'\n"
            "plot 'adjoint_traj.dat' u 1:2 w p pt 7 lc rgb '#1f77b4' t 'prey (data)', "
            "'' u 1:3 w p pt 7 lc rgb '#d62728' t 'predator (data)', "
            "'adjoint_curve.dat' u 1:2 w l dt 2 lc rgb '#1f77b4' t 'first guess', '' u 1:3 w l dt 2 lc rgb '#d62728' notitle, "
            "'' u 1:4 w l lw 2 lc rgb '#1f77b4' t 'fit', '' u 1:5 w l lw 2 lc rgb '#d62728' notitle\n"
            "set logscale y\nset xlabel 'Adam step'\nset ylabel 'mean squared misfit'\nunset key\n"
            "set title 'misfit (gradients: checkpointed adjoint)'\n"
            "plot 'adjoint_loss.dat' w l lw 2 lc rgb '#333333'\n"
            "unset multiplot\n");
        fclose(gp);
        if (demo_gnuplot(ctx, "adjoint.gp") != 0) rc = 1;
    }
    fprintf(ctx->summary, "gradients: Lotka-Volterra fit, misfit %.3g -> %.3g in %d Adam steps; "
            "gradient check worst %.2g over %zu methods\n", L0, L, iters, worst_all, n_checked);
    nde_tape_free(tape);
    return rc ? 1 : 0;
}
