/* `nde demo`, training section: short runs of `nde train` (tools/nde/train.h) drawn as
 * plots: the spiral's loss curve and its fitted trajectory against the truth, the
 * local-error regulariser's prediction NFE against the plain model's, and the neural
 * CDE's test accuracy as it trains, and the stable neural SDE classes' marginal bands
 * against the true OU and double-well processes. Full runs: `nde train spiral |
 * regularised | cde | neural_sde`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"
#include "train.h"

/* sp is also the plain model of the regulariser's comparison: the same seed and
 * iterations as the regularised run, R_E weight 0. */
typedef struct train_demo {
    size_t iters;
    spiral_result sp, reg;
    cde_options co;
    cde_result cde;
    double cde_seconds;
    nsde_options no;                                     /* iters, n_eval of the SDE runs */
    nsde_result nsde[NSDE_N_PROCESSES][NSDE_N_CLASSES];
    double nsde_seconds;
} train_demo;

static int write_spiral(const demo_ctx *ctx, const spiral_result *r)
{
    FILE *f = demo_fopen(ctx, "training_spiral_loss.dat", "w");
    FILE *g = demo_fopen(ctx, "training_spiral_traj.dat", "w");
    int rc = f && g ? 0 : 1;
    for (size_t i = 0; f && i < r->iterations; i++) fprintf(f, "%zu %.6g\n", i + 1, r->curve[i]);
    for (size_t i = 0; g && i < SPIRAL_POINTS; i++)
        fprintf(g, "%.6g %.6g %.6g %.6g\n", r->truth[2 * i], r->truth[2 * i + 1], r->fit[2 * i], r->fit[2 * i + 1]);
    if (f) fclose(f);
    if (g) fclose(g);
    return rc;
}

static int write_regulariser(const demo_ctx *ctx, const train_demo *d)
{
    FILE *f = demo_fopen(ctx, "training_reg.dat", "w");
    if (!f) return 1;
    fprintf(f, "0 %zu %.6g \"plain\"\n1 %zu %.6g \"R_E %g\"\n", d->sp.nfe_predict, d->sp.test_loss,
            d->reg.nfe_predict, d->reg.test_loss, SPIRAL_REG_DEFAULT);
    fclose(f);
    f = demo_fopen(ctx, "training_reg_loss.dat", "w");
    if (!f) return 1;
    for (size_t i = 0; i < d->sp.iterations; i++)
        fprintf(f, "%zu %.6g %.6g\n", i + 1, d->sp.curve[i], d->reg.curve[i]);
    fclose(f);
    return 0;
}

static int write_cde(const demo_ctx *ctx, const train_demo *d)
{
    FILE *f = demo_fopen(ctx, "training_cde_acc.dat", "w");
    FILE *g = demo_fopen(ctx, "training_cde_loss.dat", "w");
    int rc = f && g ? 0 : 1;
    for (size_t i = 0; f && i < d->cde.n_curve; i++)
        fprintf(f, "%zu %.6g\n", d->cde.curve_iter[i], d->cde.curve_acc[i]);
    for (size_t i = 0; g && i < d->cde.iterations; i++) fprintf(g, "%zu %.6g\n", i + 1, d->cde.curve_loss[i]);
    if (f) fclose(f);
    if (g) fclose(g);
    return rc;
}

/* training_nsde_<process>.dat: t, the truth's mean and std, then each class's after
 * training (columns 4-5 langevin, 6-7 linear, 8-9 geometric). */
static int write_nsde(const demo_ctx *ctx, const train_demo *d)
{
    for (int p = 0; p < NSDE_N_PROCESSES; p++) {
        char name[64];
        snprintf(name, sizeof name, "training_nsde_%s.dat", nsde_process_name(p));
        FILE *f = demo_fopen(ctx, name, "w");
        if (!f) return 1;
        const nsde_result *r = d->nsde[p];
        for (size_t k = 0; k <= NSDE_STEPS; k++) {
            fprintf(f, "%.6g %.6g %.6g", NSDE_T1 * (double)k / NSDE_STEPS, r[0].truth_mean[k], r[0].truth_std[k]);
            for (int c = 0; c < NSDE_N_CLASSES; c++) fprintf(f, " %.6g %.6g", r[c].after_mean[k], r[c].after_std[k]);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    return 0;
}

static int write_json(const demo_ctx *ctx, const train_demo *d)
{
    FILE *js = demo_fopen(ctx, "training.json", "w");
    if (!js) return 1;
    fprintf(js, "{\"spiral\": {\"seed\": 0, \"iterations\": %zu, \"train_loss\": ", d->sp.iterations);
    json_num(js, d->sp.train_loss);
    fprintf(js, ", \"test_loss\": ");
    json_num(js, d->sp.test_loss);
    fprintf(js, ", \"ms_per_iter\": ");
    json_num(js, d->sp.ms_per_iter);
    fprintf(js, ", \"nfe_forward\": ");
    json_num(js, d->sp.nfe_forward);
    fprintf(js, ", \"nfe_backward\": ");
    json_num(js, d->sp.nfe_backward);
    fprintf(js, "}, \"regularised\": {\"seed\": 0, \"iterations\": %zu, \"reg_error\": ", d->reg.iterations);
    json_num(js, SPIRAL_REG_DEFAULT);
    fprintf(js, ", \"nfe_plain\": %zu, \"nfe_regularised\": %zu, \"test_loss_plain\": ", d->sp.nfe_predict,
            d->reg.nfe_predict);
    json_num(js, d->sp.test_loss);
    fprintf(js, ", \"test_loss_regularised\": ");
    json_num(js, d->reg.test_loss);
    fprintf(js, "}, \"cde\": {\"seed\": 0, \"iterations\": %zu, \"n_train\": %zu, \"n_test\": %zu, \"batch\": %zu, "
            "\"train_loss\": ", d->cde.iterations, d->co.n_train, d->co.n_test, d->co.batch);
    json_num(js, d->cde.train_loss);
    fprintf(js, ", \"test_loss\": ");
    json_num(js, d->cde.test_loss);
    fprintf(js, ", \"test_accuracy\": ");
    json_num(js, d->cde.test_accuracy);
    fprintf(js, ", \"ms_per_iter\": ");
    json_num(js, d->cde.ms_per_iter);
    fprintf(js, ", \"nfe_forward\": ");
    json_num(js, d->cde.nfe_forward);
    fprintf(js, ", \"nfe_backward\": ");
    json_num(js, d->cde.nfe_backward);
    fprintf(js, ", \"accuracy_curve\": [");
    for (size_t i = 0; i < d->cde.n_curve; i++)
        fprintf(js, "%s[%zu, %.6g]", i ? ", " : "", d->cde.curve_iter[i], d->cde.curve_acc[i]);
    fprintf(js, "]}, \"neural_sde\": [");
    for (int p = 0; p < NSDE_N_PROCESSES; p++)
        for (int c = 0; c < NSDE_N_CLASSES; c++) {
            const nsde_result *r = &d->nsde[p][c];
            fprintf(js, "%s{\"process\": \"%s\", \"class\": \"%s\", \"seed\": 0, \"iterations\": %zu, \"test_loss\": ",
                    p || c ? ", " : "", nsde_process_name(p), nsde_class_name(c), r->iterations);
            json_num(js, r->test_loss);
            fprintf(js, ", \"stat_err_before\": ");
            json_num(js, r->before.stat);
            fprintf(js, ", \"stat_err_after\": ");
            json_num(js, r->after.stat);
            fprintf(js, ", \"w1_before\": ");
            json_num(js, r->before.w1);
            fprintf(js, ", \"w1_after\": ");
            json_num(js, r->after.w1);
            fprintf(js, ", \"ms_per_iter\": ");
            json_num(js, r->ms_per_iter);
            fprintf(js, "}");
        }
    fprintf(js, "]}\n");
    return fclose(js) != 0;
}

static int plot(const demo_ctx *ctx, const train_demo *d)
{
    FILE *gp = demo_fopen(ctx, "training.gp", "w");
    if (!gp) return 1;
    fprintf(gp,
        "set terminal @png_term size 1200,480\n"
        "set output 'training_spiral.png'\n"
        "set multiplot layout 1,2\n"
        "set logscale y\nset xlabel 'iteration'\nset ylabel 'batch loss (mean absolute error)'\nunset key\n"
        "set title 'spiral (torchdiffeq ode\\_demo), seed 0: training loss'\n"
        "plot 'training_spiral_loss.dat' w l lc rgb '#1f77b4'\n"
        "unset logscale y\nset size ratio -1\nset key bottom right\n"
        "set xlabel 'y_1'\nset ylabel 'y_2'\n"
        "set title sprintf('after %zu iterations: full-trajectory test loss %%.3f', %.6g)\n"
        "plot 'training_spiral_traj.dat' u 1:2 w l lw 2 lc rgb '#333333' title 'truth', "
        "'' u 3:4 w l lw 1.5 lc rgb '#d62728' title 'model from y0'\n"
        "unset multiplot\n"
        "set terminal @png_term size 1200,480\n"
        "set output 'training_reg.png'\n"
        "set multiplot layout 1,2\n"
        "set size noratio\nunset logscale\nset autoscale\nunset key\n"
        "set style fill solid 0.7\nset boxwidth 0.6\nset yrange [0:*]\n"
        "set xtics ('plain' 0, 'R_E %g' 1)\nset xrange [-0.7:1.7]\nset xlabel ''\n"
        "set ylabel 'NFE of one prediction solve (dopri5, rtol 1e-7)'\n"
        "set title 'spiral, seed 0, %zu iterations each: prediction cost'\n"
        "plot 'training_reg.dat' u 1:2 w boxes lc rgb '#1f77b4', "
        "'' u 1:2:(sprintf('NFE %%d\\ntest loss %%.3f', $2, $3)) w labels offset 0,1.5\n"
        "set xtics autofreq\nset autoscale x\nset yrange [*:*]\nset logscale y\nset key top right\n"
        "set xlabel 'iteration'\nset ylabel 'batch loss (mean absolute error)'\n"
        "set title 'training loss, plain and regularised'\n"
        "plot 'training_reg_loss.dat' u 1:2 w l lc rgb '#1f77b4' title 'plain', "
        "'' u 1:3 w l lc rgb '#d62728' title 'R_E'\n"
        "unset multiplot\n"
        "set terminal @png_term size 900,540\n"
        "set output 'training_cde.png'\n"
        "unset logscale\nset autoscale\nset key center right\n"
        "set xlabel 'Adam step (batch of %zu series)'\nset ylabel 'test accuracy (%zu held-out series)'\n"
        "set yrange [0:1.05]\nset y2range [*:*]\nset logscale y2\nset y2tics\nset ytics nomirror\n"
        "set y2label 'batch loss (Bernoulli NLL)'\n"
        "set title 'neural CDE: clockwise vs anticlockwise spirals, 30%% of the values missing'\n"
        "plot 'training_cde_acc.dat' w lp pt 7 lc rgb '#1f77b4' title 'test accuracy', "
        "'training_cde_loss.dat' axes x1y2 w l lc rgb '#999999' title 'batch loss'\n",
        d->sp.iterations, d->sp.test_loss, SPIRAL_REG_DEFAULT, d->reg.iterations, d->co.batch, d->co.n_test);
    fprintf(gp,
        "unset y2tics\nunset y2label\nunset logscale\nset ytics mirror\nset autoscale\n"
        "set terminal @png_term size 1200,480\n"
        "set output 'training_nsde.png'\n"
        "set multiplot layout 1,2\n"
        "set xlabel 't'\nset ylabel 'X(t): mean +- std of %zu paths'\nset key top left\n"
        "set style fill transparent solid 0.25 noborder\n", d->no.n_eval);
    const char *titles[NSDE_N_PROCESSES] = { "OU dX = 1.5 (1 - X) dt + 0.5 dW", "double well dX = (X - X^3) dt + 0.7 dW" };
    for (int p = 0; p < NSDE_N_PROCESSES; p++)
        fprintf(gp,
            "set title '%s: truth vs models after %zu steps'\n"
            "plot 'training_nsde_%s.dat' u 1:($2-$3):($2+$3) w filledcurves lc rgb '#333333' title 'truth', "
            "'' u 1:2 w l lw 2 lc rgb '#333333' notitle, "
            "'' u 1:4 w l lw 1.5 lc rgb '#1f77b4' title 'Langevin', '' u 1:($4-$5) w l dt 2 lc rgb '#1f77b4' notitle, "
            "'' u 1:($4+$5) w l dt 2 lc rgb '#1f77b4' notitle, "
            "'' u 1:6 w l lw 1.5 lc rgb '#d62728' title 'linear noise', '' u 1:($6-$7) w l dt 2 lc rgb '#d62728' notitle, "
            "'' u 1:($6+$7) w l dt 2 lc rgb '#d62728' notitle, "
            "'' u 1:8 w l lw 1.5 lc rgb '#2ca02c' title 'geometric', '' u 1:($8-$9) w l dt 2 lc rgb '#2ca02c' notitle, "
            "'' u 1:($8+$9) w l dt 2 lc rgb '#2ca02c' notitle\n",
            titles[p], d->no.iters, nsde_process_name(p));
    fprintf(gp, "unset multiplot\n");
    fclose(gp);
    return demo_gnuplot(ctx, "training.gp") != 0;
}

static void html(const demo_ctx *ctx, const train_demo *d)
{
    double nfe_ratio = d->sp.nfe_predict ? (double)d->reg.nfe_predict / (double)d->sp.nfe_predict : NAN;
    fprintf(ctx->html,
        "<section id=\"training\">\n<h2>Training neural differential equations</h2>\n"
        "<p>Short runs of <code>nde train</code> on the nn layer (MLPs with their VJPs, "
        "optimisers, losses) and the adjoints of nde/adjoint.h, seed 0. The full runs are "
        "<code>nde train spiral</code> (2000 iterations), <code>nde train regularised</code>, "
        "<code>nde train cde</code> and <code>nde train neural_sde</code>; these are shortened "
        "to keep the demo quick.</p>\n"
        "<figure><img src=\"training_spiral.png\"><figcaption>torchdiffeq's "
        "<code>ode_demo</code>: y' = MLP(y<sup>3</sup>) fitted to 20 random 10-point windows "
        "of the spiral y' = y<sup>3</sup>A per iteration (RMSprop, mean absolute error, dopri5 at "
        "rtol 10<sup>-7</sup>), here only %zu iterations (the full run has 2000). Right: the "
        "trained model's whole trajectory from y<sub>0</sub> = (2, 0) over t in [0, 25] against "
        "the truth; test loss (its mean absolute error) %.3f (torchdiffeq after 2000: 0.14 / "
        "0.17 / 0.70 for seeds 0 / 1 / 2). %.2f ms per iteration, %.0f right-hand sides "
        "forward and %.0f backward.</figcaption></figure>\n"
        "<figure><img src=\"training_reg.png\"><figcaption>The same spiral trained twice for %zu "
        "iterations from the same seed, plain (the run above) and with the local-error "
        "regulariser R<sub>E</sub> of &ldquo;Opening the Blackbox&rdquo; (weight %g) added to the loss. The prediction "
        "solve of the trained model (the full trajectory at the training tolerance) takes %zu "
        "right-hand sides for the regularised model against %zu (%.2f&times;), at a test loss "
        "of %.3f against %.3f. Short runs: <code>nde train regularised</code> trains 2000 "
        "iterations.</figcaption></figure>\n"
        "<figure><img src=\"training_cde.png\"><figcaption>A neural CDE (Kidger et al. 2020) "
        "classifying irregularly sampled 2-D spirals as clockwise or anticlockwise: %zu "
        "observation times per series, 30%% of the x and y values dropped at random, the time "
        "as a channel, a Hermite control path; z<sub>0</sub> an MLP of the first observation, "
        "the field an MLP %zu &rarr; %zu &rarr; %zu &rarr; %zu&times;3 with tanh output, a "
        "linear readout, Adam. Each series is its own solve (dopri5, rtol 10<sup>-3</sup>), "
        "differentiated by the checkpointed adjoint. %zu Adam steps on batches of %zu of %zu "
        "training series: test accuracy %.3f on %zu held-out series (test loss %.3g), %.1f ms "
        "per step, %.0f right-hand sides forward per step.</figcaption></figure>\n",
        d->sp.iterations, d->sp.test_loss, d->sp.ms_per_iter, d->sp.nfe_forward, d->sp.nfe_backward,
        d->reg.iterations, SPIRAL_REG_DEFAULT, d->reg.nfe_predict, d->sp.nfe_predict, nfe_ratio,
        d->reg.test_loss, d->sp.test_loss, d->co.points, d->co.dim, d->co.width, d->co.width, d->co.dim,
        d->cde.iterations, d->co.batch, d->co.n_train, d->cde.test_accuracy, d->co.n_test, d->cde.test_loss,
        d->cde.ms_per_iter, d->cde.nfe_forward);
    fprintf(ctx->html,
        "<figure><img src=\"training_nsde.png\"><figcaption>The stable neural SDE classes of Oh, "
        "Lim, Kim et al. (2024), Langevin-type dz = &gamma;(z) dt + &sigma;(t) dW, linear noise "
        "dz = &gamma;(t, z) dt + &sigma;(t) z dW and geometric dz = &gamma;(t, z) z dt + &sigma;(t) z dW "
        "(z = x + 3; &gamma; an MLP 32&ndash;32, &sigma; an MLP of t), fitted to 1024 sample paths of "
        "each process by matching the marginals at t = 0.2, 0.4, &hellip;, 2 (energy distance plus "
        "mean and standard deviation), 256 model paths per Adam step solved as one SDE by reversible "
        "Heun and differentiated by its reversible adjoint, %zu steps (<code>nde train neural_sde</code> "
        "trains 300 on OU and 3000 on the double well, whose two-humped marginal a short run "
        "misses). Grey: the truth's mean &plusmn; one standard deviation from %zu fresh paths; "
        "lines: each trained model's from %zu fresh paths. The mean error plus std error averaged "
        "over the observed times, before &rarr; after training:", d->no.iters, d->no.n_eval, d->no.n_eval);
    for (int p = 0; p < NSDE_N_PROCESSES; p++)
        for (int c = 0; c < NSDE_N_CLASSES; c++)
            fprintf(ctx->html, "%s %s %s %.3f &rarr; %.3f", p || c ? ";" : "", nsde_process_name(p),
                    nsde_class_name(c), d->nsde[p][c].before.stat, d->nsde[p][c].after.stat);
    fprintf(ctx->html, " (the data sets' own sampling error: %.3f and %.3f).</figcaption></figure>\n</section>\n",
            d->nsde[0][0].data.stat, d->nsde[1][0].data.stat);
    fprintf(ctx->summary, "training: spiral %zu iterations, test loss %.3f, %.2f ms per iteration\n",
            d->sp.iterations, d->sp.test_loss, d->sp.ms_per_iter);
    fprintf(ctx->summary, "training: R_E prediction nfe %zu vs %zu plain (%.2fx), test loss %.3f vs %.3f\n",
            d->reg.nfe_predict, d->sp.nfe_predict, nfe_ratio, d->reg.test_loss, d->sp.test_loss);
    fprintf(ctx->summary, "training: neural CDE %zu steps, test accuracy %.3f (%.1f s)\n", d->cde.iterations,
            d->cde.test_accuracy, d->cde_seconds);
    fprintf(ctx->summary, "training: neural SDEs %zu steps, stat error (OU, double well; Langevin) %.3f -> %.3f, "
            "%.3f -> %.3f (%.1f s for six runs)\n", d->no.iters, d->nsde[0][0].before.stat, d->nsde[0][0].after.stat,
            d->nsde[1][0].before.stat, d->nsde[1][0].after.stat, d->nsde_seconds);
}

int demo_train(demo_ctx *ctx)
{
    train_demo d = { 0 };
    d.iters = ctx->quick ? 150 : 600;
    cde_options_default(&d.co);
    d.co.iters = ctx->quick ? 12 : 60;
    d.co.eval_every = ctx->quick ? 1 : 3;
    if (ctx->quick) {
        d.co.n_train = 128;
        d.co.n_test = 64;
        d.co.batch = 16;
    }
    nsde_options_default(&d.no);
    d.no.iters = ctx->quick ? 20 : 150;
    if (ctx->quick) d.no.n_eval = 1024;
    size_t nc = cde_curve_points(&d.co);
    double *mem = calloc(2 * d.iters + 4 * SPIRAL_POINTS + d.co.iters + nc, sizeof *mem);
    size_t *iters = calloc(nc, sizeof *iters);
    if (!mem || !iters) {
        free(mem);
        free(iters);
        fprintf(stderr, "nde demo (training): out of memory\n");
        return 1;
    }
    d.sp.curve = mem;
    d.reg.curve = mem + d.iters;
    d.sp.truth = mem + 2 * d.iters;
    d.sp.fit = d.sp.truth + 2 * SPIRAL_POINTS;
    d.cde.curve_loss = d.sp.fit + 2 * SPIRAL_POINTS;
    d.cde.curve_acc = d.cde.curve_loss + d.co.iters;
    d.cde.curve_iter = iters;

    char err[NDE_MESSAGE_MAX] = "";
    const char *what = "spiral";
    int rc = train_spiral(0, d.iters, 0.0, NULL, &d.sp, err, sizeof err);
    if (rc == NDE_OK) {
        what = "regularised";
        rc = train_spiral(0, d.iters, SPIRAL_REG_DEFAULT, NULL, &d.reg, err, sizeof err);
    }
    if (rc == NDE_OK) {
        what = "cde";
        double t0 = wall_seconds();
        cde_run *run = cde_run_create(&d.co, err, sizeof err);
        rc = run ? cde_run_train(run, NULL, &d.cde, err, sizeof err) : NDE_EINVAL;
        cde_run_free(run);
        d.cde_seconds = wall_seconds() - t0;
    }
    if (rc == NDE_OK) {
        what = "neural_sde";
        double t0 = wall_seconds();
        for (int p = 0; rc == NDE_OK && p < NSDE_N_PROCESSES; p++)
            for (int c = 0; rc == NDE_OK && c < NSDE_N_CLASSES; c++) {
                d.no.process = p;
                d.no.cls = c;
                rc = nsde_train(&d.no, NULL, &d.nsde[p][c], err, sizeof err);
            }
        d.nsde_seconds = wall_seconds() - t0;
    }
    int fail = 0;
    if (rc != NDE_OK) {
        fprintf(stderr, "nde demo (training): %s: %s (%s)\n", what, err, nde_status_str(rc));
        fail = 1;
    } else {
        fail |= write_spiral(ctx, &d.sp);
        fail |= write_regulariser(ctx, &d);
        fail |= write_cde(ctx, &d);
        fail |= write_nsde(ctx, &d);
        fail |= write_json(ctx, &d);
        fail |= plot(ctx, &d);
        html(ctx, &d);
    }
    free(mem);
    free(iters);
    return fail;
}
