/* The ODE section of `nde demo`: trajectories from dense output, step sizes from the
 * step observer, events on the interpolant, work-precision diagrams and measured
 * convergence orders, every number computed by the library as the demo runs. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* One colour and point type per method, the same in every plot (index in the registry). */
static const char *const colours[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#000000", "#393b79",
};
#define N_COLOURS (sizeof colours / sizeof colours[0])
static const int point_types[] = { 7, 5, 9, 11, 13, 15, 1, 2, 3, 4, 6, 8 };
#define N_POINT_TYPES (sizeof point_types / sizeof point_types[0])

static const char *colour(size_t i) { return colours[i % N_COLOURS]; }
static int point_type(size_t i) { return point_types[i % N_POINT_TYPES]; }

/* ---- the step observer's log ------------------------------------------------- */

typedef struct step_rec { double t, dt, err; int accepted; } step_rec;
typedef struct step_log { step_rec *r; size_t n, cap; } step_log;

static int log_step(double t, double dt, double err, int accepted, void *user)
{
    step_log *L = user;
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 256;
        step_rec *r = realloc(L->r, cap * sizeof *r);
        if (!r) return -1;
        L->r = r;
        L->cap = cap;
    }
    L->r[L->n++] = (step_rec){ t, dt, err, accepted };
    return 0;
}

/* ---- one solve ------------------------------------------------------------------ */

typedef struct run_cfg {
    const tool_problem *p;
    const nde_method *m;
    double rtol, atol;    /* rtol 0: constant steps of dt */
    double dt;
    double t0, t1;
    const double *y0;     /* NULL: the problem's */
    unsigned save;
    int events;           /* use the problem's event */
    step_log *log;        /* NULL: no observer */
} run_cfg;

typedef struct run_out {
    int rc;
    nde_stats stats;
    double wall;          /* seconds */
    double err;           /* vs reference, NaN if not computed */
} run_out;

/* Runs cfg into sol (caller frees). */
static run_out run_solve(const run_cfg *cfg, nde_solution *sol)
{
    const tool_problem *p = cfg->p;
    nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = cfg->m;
    o.rtol = cfg->rtol;
    o.atol = cfg->atol;
    o.dt0 = cfg->dt;
    o.save = cfg->save;
    o.max_steps = 2000000;
    int dir = p->event_direction;
    if (cfg->events && p->event) {
        o.event = p->event;
        o.n_events = 1;
        o.event_direction = &dir;
    }
    if (cfg->log) {
        o.on_step = log_step;
        o.on_step_user = cfg->log;
    }
    memset(sol, 0, sizeof *sol);
    run_out r;
    double w0 = wall_seconds();
    r.rc = nde_ode_solve(&ode, cfg->t0, cfg->t1, cfg->y0 ? cfg->y0 : p->y0, &o, sol);
    r.wall = wall_seconds() - w0;
    r.stats = sol->stats;
    r.err = NAN;
    return r;
}

/* Error of the solution's last point against ref. */
static double end_error(const nde_solution *sol, const double *ref)
{
    if (sol->n == 0) return NAN;
    return tool_error(sol->dim, sol->y + (sol->n - 1) * sol->dim, ref);
}

/* Writes n+1 dense-output rows "t y..." over [ta, tb]. */
static void write_dense(FILE *f, const nde_solution *sol, double ta, double tb, size_t n)
{
    double y[PROBLEM_MAX_DIM];
    for (size_t k = 0; k <= n; k++) {
        double t = k == n ? tb : ta + (tb - ta) * (double)k / (double)n;
        if (nde_solution_eval(sol, t, y) != NDE_OK) continue;
        fprintf(f, "%.10g", t);
        for (size_t i = 0; i < sol->dim; i++) fprintf(f, " %.10g", y[i]);
        fputc('\n', f);
    }
}

/* ---- HTML helpers ------------------------------------------------------------------ */

static void html_figure(const demo_ctx *ctx, int plotted, const char *png, const char *alt,
                        const char *caption)
{
    FILE *h = ctx->html;
    fprintf(h, "<figure>\n");
    if (plotted) {
        fprintf(h, "<img src=\"%s\" alt=\"", png);
        html_escape(h, alt);
        fprintf(h, "\">\n");
    } else {
        fprintf(h, "<p class=\"fail\">gnuplot could not draw %s.</p>\n", png);
    }
    fprintf(h, "<figcaption>%s</figcaption>\n</figure>\n", caption);
}

static void html_stats_header(FILE *h, const char *first, int with_error)
{
    fprintf(h, "<table>\n<tr><th class=\"l\">%s</th><th>rtol</th><th>steps</th><th>accepted</th>"
               "<th>rejected</th><th>nfe</th>%s<th>time [ms]</th></tr>\n", first,
            with_error ? "<th>error</th>" : "");
}

static void html_stats_row(FILE *h, const char *label, double rtol, const run_out *r,
                           int with_error)
{
    fprintf(h, "<tr><td class=\"l\">");
    html_escape(h, label);
    fprintf(h, "</td><td>%.0e</td>", rtol);
    if (r->rc < 0) {
        fprintf(h, "<td colspan=\"%d\" class=\"fail\">%s</td></tr>\n", with_error ? 6 : 5,
                nde_status_str(r->rc));
        return;
    }
    fprintf(h, "<td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td>",
            r->stats.steps, r->stats.accepted, r->stats.rejected, r->stats.nfe);
    if (with_error) {
        if (isnan(r->err)) fprintf(h, "<td>&ndash;</td>");
        else fprintf(h, "<td>%.2e</td>", r->err);
    }
    fprintf(h, "<td>%.3f</td></tr>\n", 1e3 * r->wall);
}

static void json_stats(FILE *j, const run_out *r)
{
    fprintf(j, "{\"status\": %d, \"steps\": %zu, \"accepted\": %zu, \"rejected\": %zu, "
               "\"nfe\": %zu, \"error\": ", r->rc, r->stats.steps, r->stats.accepted,
            r->stats.rejected, r->stats.nfe);
    json_num(j, r->err);
    fprintf(j, ", \"seconds\": ");
    json_num(j, r->wall);
    fprintf(j, "}");
}

/* Common gnuplot settings for log-log charts. */
static void gp_loglog(FILE *g)
{
    fprintf(g, "set logscale xy\nset format x '10^{%%L}'\nset format y '10^{%%L}'\n"
               "set grid xtics ytics mxtics mytics lc rgb '#e0e0e0' lw 1, lc rgb '#f0f0f0' lw 1\n");
}

/* ---- the section ----------------------------------------------------------------- */

typedef struct ode_demo {
    demo_ctx *ctx;
    FILE *json;           /* ode.json */
    int failures;         /* solves that should have succeeded and did not */
    int plot_failures;
    size_t n_methods;
    const nde_method *adaptive[64];
    size_t adaptive_index[64];   /* registry index: colour */
    size_t n_adaptive;
} ode_demo;

static int plot(ode_demo *d, const char *script)
{
    int rc = demo_gnuplot(d->ctx, script);
    if (rc != 0) d->plot_failures++;
    return rc == 0;
}

/* Tightest rtol of the sweeps for a method: low orders need ~rtol^(-1/p) steps, and
 * below these a 2nd-order method takes millions of steps on Lorenz. */
static double min_rtol(const nde_method *m)
{
    int p = nde_method_order(m);
    return p <= 2 ? 1e-8 : p == 3 ? 1e-10 : 0.0;
}

static const char *method_or(const char *name, const char *fallback)
{
    return nde_method_find(name) ? name : fallback;
}

static void note_failure(ode_demo *d, const char *what, const char *method, int rc,
                         const nde_solution *sol)
{
    d->failures++;
    fprintf(stderr, "nde demo: %s with %s failed: %s (%s)\n", what, method,
            nde_status_str(rc), nde_solution_message(sol));
}

/* -- methods table ------------------------------------------------------------------ */
static void section_methods(ode_demo *d)
{
    FILE *h = d->ctx->html;
    fprintf(h, "<h3>Methods</h3>\n<p>The registered explicit Runge&ndash;Kutta methods "
               "(<code>nde methods</code>). Adaptive methods carry an embedded error "
               "estimate; the others take constant steps.</p>\n<table>\n<tr><th class=\"l\">method</th>"
               "<th>order</th><th>embedded</th><th>stages</th><th>FSAL</th><th>dense output</th>"
               "<th class=\"l\">description</th></tr>\n");
    fprintf(d->json, "\"methods\": [");
    for (size_t i = 0; i < d->n_methods; i++) {
        const nde_method *m = nde_method_at(i);
        int emb = nde_method_embedded_order(m), dense = nde_method_dense_order(m);
        fprintf(h, "<tr><td class=\"l\"><code>%s</code></td><td>%d</td><td>", nde_method_name(m),
                nde_method_order(m));
        if (emb > 0) fprintf(h, "%d", emb); else fprintf(h, "&ndash;");
        fprintf(h, "</td><td>%d</td><td>%s</td><td>", nde_method_stages(m),
                nde_method_is_fsal(m) ? "yes" : "no");
        if (dense > 0) fprintf(h, "order %d", dense); else fprintf(h, "Hermite (3)");
        fprintf(h, "</td><td class=\"l\">");
        html_escape(h, nde_method_description(m));
        fprintf(h, "</td></tr>\n");
        fprintf(d->json, "%s{\"name\": ", i ? ", " : "");
        json_str(d->json, nde_method_name(m));
        fprintf(d->json, ", \"order\": %d, \"embedded_order\": %d, \"stages\": %d, "
                         "\"fsal\": %s, \"dense_order\": %d}", nde_method_order(m), emb,
                nde_method_stages(m), nde_method_is_fsal(m) ? "true" : "false", dense);
    }
    fprintf(h, "</table>\n");
    fprintf(d->json, "],\n");
}

/* -- trajectories ------------------------------------------------------------------ */
static void section_trajectories(ode_demo *d)
{
    demo_ctx *ctx = d->ctx;
    FILE *h = ctx->html;
    fprintf(h, "<h3>Trajectories from dense output</h3>\n"
               "<p>Each curve is the solver's continuous extension "
               "(<code>NDE_SAVE_DENSE</code> and <code>nde_solution_eval</code>) sampled "
               "finely, so it is smooth although the solver took far fewer steps.</p>\n");
    html_stats_header(h, "problem / method", 0);
    fprintf(d->json, "\"trajectories\": {");

    /* Lorenz attractor */
    const tool_problem *lz = tool_problem_find("lorenz");
    const char *mname = method_or("tsit5", "dopri5");
    const nde_method *m = nde_method_find(mname);
    double t1 = ctx->quick ? 15.0 : 40.0;
    size_t samples = ctx->quick ? 4000 : 24000;
    nde_solution sol;
    run_cfg cfg = { lz, m, 1e-8, 1e-8, 0.0, 0.0, t1, NULL, NDE_SAVE_DENSE, 0, NULL };
    run_out r = run_solve(&cfg, &sol);
    int ok_lorenz = r.rc == NDE_OK;
    if (ok_lorenz) {
        FILE *f = demo_fopen(ctx, "lorenz.dat", "w");
        if (f) {
            fprintf(f, "# t x y z  (dense output of %s, rtol 1e-8)\n", mname);
            write_dense(f, &sol, 0.0, t1, samples);
            fclose(f);
        }
    } else {
        note_failure(d, "lorenz", mname, r.rc, &sol);
    }
    nde_solution_free(&sol);
    char label[128];
    snprintf(label, sizeof label, "lorenz [0, %g] / %s", t1, mname);
    html_stats_row(h, label, 1e-8, &r, 0);
    fprintf(d->json, "\"lorenz\": ");
    json_stats(d->json, &r);

    /* Arenstorf orbit: dense curve and the ends of accepted steps */
    const tool_problem *ar = tool_problem_find("arenstorf");
    const char *mname_ar = method_or("dopri5", mname);
    cfg = (run_cfg){ ar, nde_method_find(mname_ar), 1e-6, 1e-6, 0.0, ar->t0, ar->t1, NULL,
                     NDE_SAVE_DENSE | NDE_SAVE_STEPS | NDE_SAVE_T0, 0, NULL };
    r = run_solve(&cfg, &sol);
    int ok_ar = r.rc == NDE_OK;
    size_t ar_steps = sol.n;
    if (ok_ar) {
        FILE *f = demo_fopen(ctx, "arenstorf.dat", "w");
        if (f) {
            fprintf(f, "# block 0: dense output t x y vx vy; block 1: ends of accepted steps\n");
            write_dense(f, &sol, ar->t0, ar->t1, ctx->quick ? 2000 : 6000);
            fprintf(f, "\n\n");
            for (size_t k = 0; k < sol.n; k++)
                fprintf(f, "%.10g %.10g %.10g\n", sol.t[k], sol.y[k * 4], sol.y[k * 4 + 1]);
            fclose(f);
        }
    } else {
        note_failure(d, "arenstorf", mname_ar, r.rc, &sol);
    }
    nde_solution_free(&sol);
    snprintf(label, sizeof label, "arenstorf, one period / %s", mname_ar);
    html_stats_row(h, label, 1e-6, &r, 0);
    fprintf(d->json, ", \"arenstorf\": ");
    json_stats(d->json, &r);

    /* Van der Pol */
    const tool_problem *vp = tool_problem_find("vdp");
    cfg = (run_cfg){ vp, m, 1e-6, 1e-6, 0.0, vp->t0, vp->t1, NULL, NDE_SAVE_DENSE, 0, NULL };
    r = run_solve(&cfg, &sol);
    int ok_vdp = r.rc == NDE_OK;
    if (ok_vdp) {
        FILE *f = demo_fopen(ctx, "vdp.dat", "w");
        if (f) {
            fprintf(f, "# t x v  (dense output of %s, rtol 1e-6)\n", mname);
            write_dense(f, &sol, vp->t0, vp->t1, ctx->quick ? 2000 : 6000);
            fclose(f);
        }
    } else {
        note_failure(d, "vdp", mname, r.rc, &sol);
    }
    nde_solution_free(&sol);
    snprintf(label, sizeof label, "van der Pol mu=5 [0, 20] / %s", mname);
    html_stats_row(h, label, 1e-6, &r, 0);
    fprintf(d->json, ", \"vdp\": ");
    json_stats(d->json, &r);
    fprintf(d->json, "},\n");
    fprintf(h, "</table>\n");

    FILE *g = demo_fopen(ctx, "trajectories.gp", "w");
    if (!g) { d->plot_failures++; return; }
    fprintf(g,
        "set terminal @png_term size 1200,440 font ',10'\n"
        "set output 'trajectories.png'\n"
        "set multiplot layout 1,3 title 'Trajectories (dense output)'\n"
        "# Lorenz\n"
        "set title 'Lorenz attractor, t in [0, %g]'\n"
        "set xlabel 'x'\nset ylabel 'y'\nset zlabel 'z' offset 2,0\n"
        "set xtics 10 offset 0,-0.3\nset ytics 10\nset ztics 10\n"
        "set view 65, 35\nset xyplane 0\nset grid\nunset key\n"
        "%s"
        "# Arenstorf\n"
        "set title 'Arenstorf orbit (%s, rtol 1e-6, %zu steps)'\n"
        "set xlabel 'x'\nset ylabel 'y'\nset size ratio -1\nset key bottom left\n"
        "set xtics autofreq\nset ytics autofreq\nset xrange [-1.5:1.3]\nset yrange [-1.5:1.5]\n"
        "mu = 0.012277471\n"
        "%s"
        "# Van der Pol\n"
        "set title 'Van der Pol, {/Symbol m} = 5'\nset size noratio\nset xlabel 't'\nset ylabel ''\n"
        "set key top right\nset autoscale xy\n"
        "%s"
        "unset multiplot\n",
        t1,
        ok_lorenz ? "splot 'lorenz.dat' using 2:3:4 with lines lw 0.6 lc rgb '#1f77b4'\n"
                  : "set label 1 'solve failed' at graph 0.5,0.5 center\nplot 2\nunset label 1\n",
        mname_ar, ar_steps ? ar_steps - 1 : 0,
        ok_ar ? "plot 'arenstorf.dat' index 0 using 2:3 with lines lw 1.2 lc rgb '#1f77b4' title 'dense output', \\\n"
                "     '' index 1 using 2:3 with points pt 7 ps 0.45 lc rgb '#d62728' title 'step ends', \\\n"
                "     '+' using (-mu):(0) every ::0::0 with points pt 7 ps 2 lc rgb '#2ca02c' title 'earth', \\\n"
                "     '+' using (1-mu):(0) every ::0::0 with points pt 7 ps 1.2 lc rgb '#7f7f7f' title 'moon'\n"
              : "set label 1 'solve failed' at graph 0.5,0.5 center\nplot 2\nunset label 1\n",
        ok_vdp ? "plot 'vdp.dat' using 1:2 with lines lw 1.5 title 'x(t)', '' using 1:3 with lines lw 1 title \"x'(t)\"\n"
               : "set label 1 'solve failed' at graph 0.5,0.5 center\nplot 2\nunset label 1\n");
    fclose(g);
    int ok = plot(d, "trajectories.gp");
    char cap[1024];
    snprintf(cap, sizeof cap,
        "<b>Left:</b> the Lorenz attractor (&sigma; = 10, &rho; = 28, &beta; = 8/3) from "
        "(1, 1, 1), %s at rtol 10<sup>&minus;8</sup>, %zu dense samples. "
        "<b>Middle:</b> the Arenstorf orbit of the restricted three-body problem over one "
        "period (earth in green, moon in grey); red dots are the ends of accepted %s steps: "
        "the controller takes tiny steps in the close approaches to the moon and long ones "
        "far from it. "
        "<b>Right:</b> the Van der Pol relaxation oscillation with &mu; = 5: slow drift along "
        "the slow manifold, then fast jumps.", mname, samples, mname_ar);
    html_figure(ctx, ok, "trajectories.png", "Lorenz attractor, Arenstorf orbit, Van der Pol", cap);
}

/* -- step sizes --------------------------------------------------------------------- */
static void step_size_figure(ode_demo *d, const char *pname, const char *mname, double rtol,
                             const char *top_plot, const char *top_ylabel, int first)
{
    demo_ctx *ctx = d->ctx;
    const tool_problem *p = tool_problem_find(pname);
    step_log L = { NULL, 0, 0 };
    nde_solution sol;
    run_cfg cfg = { p, nde_method_find(mname), rtol, rtol, 0.0, p->t0, p->t1, NULL,
                    NDE_SAVE_DENSE, 0, &L };
    run_out r = run_solve(&cfg, &sol);
    char dat[64], gp[64], png[64];
    snprintf(dat, sizeof dat, "steps_%s.dat", pname);
    snprintf(gp, sizeof gp, "steps_%s.gp", pname);
    snprintf(png, sizeof png, "steps_%s.png", pname);
    size_t acc = 0, rej = 0;
    if (r.rc == NDE_OK) {
        FILE *f = demo_fopen(ctx, dat, "w");
        if (f) {
            fprintf(f, "# block 0: dense output t y...; block 1: accepted steps t |dt| err; "
                       "block 2: rejected steps t |dt| err\n");
            write_dense(f, &sol, p->t0, p->t1, ctx->quick ? 1500 : 4000);
            for (int pass = 1; pass >= 0; pass--) {
                fprintf(f, "\n\n");
                size_t written = 0;
                for (size_t k = 0; k < L.n; k++) {
                    if (L.r[k].accepted != pass) continue;
                    /* error norms of exactly 0 cannot be drawn on a log axis */
                    fprintf(f, "%.10g %.10g %.6g\n", L.r[k].t, fabs(L.r[k].dt),
                            L.r[k].err > 1e-18 ? L.r[k].err : 1e-18);
                    written++;
                }
                if (!written) fprintf(f, "nan nan nan\n");   /* keep the block */
                if (pass) acc = written; else rej = written;
            }
            fclose(f);
        }
    } else {
        note_failure(d, pname, mname, r.rc, &sol);
    }
    nde_solution_free(&sol);
    free(L.r);

    fprintf(d->json, "%s\"%s\": {\"method\": ", first ? "" : ", ", pname);
    json_str(d->json, mname);
    fprintf(d->json, ", \"rtol\": ");
    json_num(d->json, rtol);
    fprintf(d->json, ", \"observed_accepted\": %zu, \"observed_rejected\": %zu, \"stats\": ",
            acc, rej);
    json_stats(d->json, &r);
    fprintf(d->json, "}");
    fprintf(ctx->summary, "  steps %-9s %s rtol %.0e: %zu accepted, %zu rejected, nfe %zu\n",
            pname, mname, rtol, r.stats.accepted, r.stats.rejected, r.stats.nfe);
    if (r.rc != NDE_OK) return;

    FILE *g = demo_fopen(ctx, gp, "w");
    if (!g) { d->plot_failures++; return; }
    fprintf(g,
        "set terminal @png_term size 900,720 font ',10'\n"
        "set output '%s'\n"
        "set multiplot layout 3,1 title '%s with %s, rtol = atol = %.0e: %zu accepted, %zu rejected steps' noenhanced\n"
        "set lmargin 12\nset rmargin 3\nset grid lc rgb '#e0e0e0'\nset key top right box opaque\n"
        "set xrange [%g:%g]\n"
        "set ylabel '%s'\nunset xlabel\nset format x ''\n"
        "%s\n"
        "set ylabel 'step size |dt|'\nset logscale y\nset format y '10^{%%L}'\n"
        "plot '%s' index 1 using 1:2 with linespoints pt 7 ps 0.35 lw 1 lc rgb '#1f77b4' title 'accepted', \\\n"
        "     '' index 2 using 1:2 with points pt 2 ps 0.9 lw 1.5 lc rgb '#d62728' title 'rejected'\n"
        "set ylabel 'scaled error estimate'\nset xlabel 't'\nset format x '%%g'\n"
        "plot '%s' index 1 using 1:3 with points pt 7 ps 0.35 lc rgb '#1f77b4' title 'accepted', \\\n"
        "     '' index 2 using 1:3 with points pt 2 ps 0.9 lw 1.5 lc rgb '#d62728' title 'rejected', \\\n"
        "     1 with lines dt 2 lw 1.5 lc rgb '#555555' title 'acceptance threshold'\n"
        "unset multiplot\n",
        png, pname, mname, rtol, acc, rej, p->t0, p->t1, top_ylabel, top_plot, dat, dat);
    fclose(g);
    int ok = plot(d, gp);
    char cap[1024], alt[128];
    snprintf(alt, sizeof alt, "step sizes of %s on %s", mname, pname);
    snprintf(cap, sizeof cap,
        "<b>%s with <code>%s</code>.</b> Top: the solution. Middle: the size of every "
        "attempted step, recorded by the step observer (<code>nde_options.on_step</code>), "
        "plotted at the step's start; red crosses are rejected attempts, each retried with "
        "a smaller step. Bottom: the scaled error estimate of each attempt; a step is "
        "accepted when it is at most 1. %s",
        p->description, mname,
        strcmp(pname, "arenstorf") == 0
            ? "Step sizes span orders of magnitude: small in the close approaches to the "
              "moon at the start and end of the period, large on the far arcs. Steps "
              "shrink only through rejections: an accepted step never shrinks the next one "
              "(Diffrax's rule), which is why rejections cluster where dt must fall."
            : "Steps shrink in the fast jumps of the oscillation and grow on the slow "
              "branches; rejections cluster where the solution turns sharply.");
    html_figure(ctx, ok, png, alt, cap);
}

static void section_steps(ode_demo *d)
{
    fprintf(d->ctx->html, "<h3>Step-size control</h3>\n"
        "<p>The PID controller picks each step from the embedded error estimate. The step "
        "observer sees every attempt, accepted or not, so the controller's behaviour can be "
        "plotted directly.</p>\n");
    fprintf(d->json, "\"step_sizes\": {");
    step_size_figure(d, "arenstorf", method_or("dopri5", "tsit5"), 1e-6,
                     "plot 'steps_arenstorf.dat' index 0 using 1:2 with lines lw 1.5 title 'x(t)', "
                     "'' index 0 using 1:3 with lines lw 1.5 title 'y(t)'", "position", 1);
    step_size_figure(d, "vdp", method_or("tsit5", "dopri5"), 1e-6,
                     "plot 'steps_vdp.dat' index 0 using 1:2 with lines lw 1.5 title 'x(t)'",
                     "x", 0);
    fprintf(d->json, "},\n");
}

/* -- events ------------------------------------------------------------------------ */
#define BALL_RESTITUTION 0.8
#define BALL_G 9.81

static void section_events(ode_demo *d, const double *rtols, size_t n_rtols)
{
    demo_ctx *ctx = d->ctx;
    FILE *h = ctx->html;
    fprintf(h, "<h3>Events located on the dense interpolant</h3>\n"
        "<p>An event is a sign change of a condition g(t, y) across an accepted step; its "
        "time is found by root-finding on the step's interpolant, with no extra steps. A "
        "terminal event ends the solve there (<code>NDE_EVENT</code>) and the caller may "
        "restart from a modified state.</p>\n");
    fprintf(d->json, "\"events\": {");

    /* Bouncing ball: restart after every bounce with the velocity reversed and damped. */
    const tool_problem *ball = tool_problem_find("ball");
    const char *mname = method_or("tsit5", "dopri5");
    const nde_method *m = nde_method_find(mname);
    const double t_end = 11.0;
    const size_t max_bounces = 30;
    double bounce_t[32], exact_t[32], y[2] = { ball->y0[0], ball->y0[1] }, t = 0.0;
    size_t n_bounce = 0, nfe = 0;
    int ball_ok = 1;
    FILE *f = demo_fopen(ctx, "ball.dat", "w");
    if (f) fprintf(f, "# block 0: dense output t h v over all flights; block 1: bounces t h\n");
    /* exact bounce times: first fall sqrt(2 h0 / g), then flights of 2 v / g */
    double v_exact = sqrt(2.0 * BALL_G * ball->y0[0]), te = v_exact / BALL_G;
    while (t < t_end && n_bounce < max_bounces) {
        nde_solution sol;
        run_cfg cfg = { ball, m, 1e-8, 1e-8, 0.0, t, t_end, y, NDE_SAVE_DENSE, 1, NULL };
        run_out r = run_solve(&cfg, &sol);
        nfe += r.stats.nfe;
        if (r.rc < 0) {
            note_failure(d, "bouncing ball", mname, r.rc, &sol);
            nde_solution_free(&sol);
            ball_ok = 0;
            break;
        }
        double tb = sol.t[sol.n - 1];
        if (f) write_dense(f, &sol, t, tb, ctx->quick ? 60 : 200);
        if (r.rc != NDE_EVENT) { nde_solution_free(&sol); break; }
        bounce_t[n_bounce] = tb;
        exact_t[n_bounce] = te;
        n_bounce++;
        te += 2.0 * BALL_RESTITUTION * v_exact / BALL_G;
        v_exact *= BALL_RESTITUTION;
        y[0] = 0.0;
        y[1] = -BALL_RESTITUTION * sol.y[(sol.n - 1) * 2 + 1];
        t = tb;
        nde_solution_free(&sol);
    }
    if (f) {
        fprintf(f, "\n\n");
        for (size_t k = 0; k < n_bounce; k++) fprintf(f, "%.17g 0\n", bounce_t[k]);
        if (!n_bounce) fprintf(f, "nan nan\n");
        fclose(f);
    }
    double max_err = 0.0;
    for (size_t k = 0; k < n_bounce; k++) {
        double e = fabs(bounce_t[k] - exact_t[k]);
        if (e > max_err) max_err = e;
    }
    fprintf(ctx->summary, "  events   bouncing ball (%s): %zu bounces, max bounce-time error %.1e\n",
            mname, n_bounce, max_err);
    fprintf(d->json, "\"ball\": {\"method\": ");
    json_str(d->json, mname);
    fprintf(d->json, ", \"bounces\": %zu, \"nfe\": %zu, \"max_time_error\": ", n_bounce, nfe);
    json_num(d->json, max_err);
    fprintf(d->json, ", \"bounce_t\": [");
    for (size_t k = 0; k < n_bounce; k++) {
        if (k) fprintf(d->json, ", ");
        json_num(d->json, bounce_t[k]);
    }
    fprintf(d->json, "]}");

    int ok_ball = 0;
    FILE *g = ball_ok ? demo_fopen(ctx, "ball.gp", "w") : NULL;
    if (g) {
        fprintf(g,
            "set terminal @png_term size 900,400 font ',10'\n"
            "set output 'ball.png'\n"
            "set title 'Bouncing ball: %zu terminal events, restarts with v -> -%.1f v (%s, rtol 1e-8)' noenhanced\n"
            "set xlabel 't [s]'\nset ylabel 'height [m]'\nset grid lc rgb '#e0e0e0'\n"
            "set xrange [0:%g]\nset yrange [-0.3:*]\nset key top right box opaque\n"
            "plot 'ball.dat' index 0 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'h(t), dense output', \\\n"
            "     '' index 1 using 1:2 with points pt 7 ps 0.9 lc rgb '#d62728' title 'located events (h = 0, falling)'\n",
            n_bounce, BALL_RESTITUTION, mname, t_end);
        fclose(g);
        ok_ball = plot(d, "ball.gp");
    }
    char cap[1024];
    snprintf(cap, sizeof cap,
        "A ball dropped from 10 m; the event condition is g = h with direction &minus;1 "
        "(falling through the ground). Each red dot is a located terminal event, after "
        "which the demo restarts the solve with the velocity reversed and scaled by %.1f. "
        "The %zu located bounce times agree with the closed-form ones to %.1e s "
        "(the flight is a parabola, so the interpolant is exact and the root is limited "
        "only by rounding).", BALL_RESTITUTION, n_bounce, max_err);
    html_figure(ctx, ok_ball, "ball.png", "bouncing ball", cap);

    /* Pendulum: event time error against the exact quarter period, every adaptive method. */
    const tool_problem *pd = tool_problem_find("pendulum");
    double exact = pd->event_time();
    f = demo_fopen(ctx, "events_pendulum.dat", "w");
    fprintf(d->json, ", \"pendulum\": {\"exact_t\": ");
    json_num(d->json, exact);
    fprintf(d->json, ", \"methods\": {");
    double worst_ratio = 0.0;
    for (size_t a = 0; a < d->n_adaptive; a++) {
        const nde_method *ma = d->adaptive[a];
        if (f) fprintf(f, "# %s: rtol event_error nfe\n", nde_method_name(ma));
        fprintf(d->json, "%s\"%s\": [", a ? ", " : "", nde_method_name(ma));
        for (size_t k = 0, nk = 0; k < n_rtols; k++) {
            if (rtols[k] < min_rtol(ma)) continue;
            nde_solution sol;
            run_cfg cfg = { pd, ma, rtols[k], rtols[k], 0.0, pd->t0, pd->t1, NULL, 0, 1, NULL };
            run_out r = run_solve(&cfg, &sol);
            double e = NAN;
            if (r.rc == NDE_EVENT && sol.n_event_hits > 0) e = fabs(sol.event_t[0] - exact);
            else note_failure(d, "pendulum event", nde_method_name(ma), r.rc, &sol);
            nde_solution_free(&sol);
            if (f) fprintf(f, "%.3e %.6e %zu\n", rtols[k], isnan(e) ? NAN : fmax(e, 1e-17),
                           r.stats.nfe);
            fprintf(d->json, "%s{\"rtol\": ", nk++ ? ", " : "");
            json_num(d->json, rtols[k]);
            fprintf(d->json, ", \"error\": ");
            json_num(d->json, e);
            fprintf(d->json, ", \"nfe\": %zu}", r.stats.nfe);
            if (!isnan(e) && e / rtols[k] > worst_ratio) worst_ratio = e / rtols[k];
        }
        fprintf(d->json, "]");
        if (f) fprintf(f, "\n\n");
    }
    fprintf(d->json, "}}},\n");
    if (f) fclose(f);
    fprintf(ctx->summary, "  events   pendulum quarter period: worst |t_event - T/4| / rtol = %.2g "
                          "over %zu methods\n", worst_ratio, d->n_adaptive);

    int ok_pd = 0;
    g = demo_fopen(ctx, "events_pendulum.gp", "w");
    if (g) {
        fprintf(g,
            "set output 'events_pendulum.png'\n"
            "set title 'Pendulum from 2.5 rad: error of the located event t = T/4 (exact: %.15f)'\n"
            "set xlabel 'rtol (= atol)'\nset ylabel '|t_{event} - T/4|'\n",
            exact);
        gp_loglog(g);
        fprintf(g, "set xrange [%g:%g]   # reversed: tighter tolerances to the right\n"
                   "set key outside right top\nplot ", 2.0 * rtols[0], 0.5 * rtols[n_rtols - 1]);
        for (size_t a = 0; a < d->n_adaptive; a++)
            fprintf(g, "'events_pendulum.dat' index %zu using 1:2 with linespoints lw 1.5 pt %d ps 1 "
                       "lc rgb '%s' title '%s' noenhanced, \\\n     ", a,
                    point_type(d->adaptive_index[a]), colour(d->adaptive_index[a]),
                    nde_method_name(d->adaptive[a]));
        fprintf(g, "x with lines dt 2 lc rgb '#555555' title 'error = rtol'\n");
        fclose(g);
        ok_pd = plot(d, "events_pendulum.gp");
    }
    snprintf(cap, sizeof cap,
        "A pendulum &theta;'' = &minus;sin &theta; released from rest at 2.5 rad reaches the "
        "bottom after a quarter period T/4 = &pi; / (2&nbsp;AGM(1, cos 1.25)). The plot shows "
        "the error of the event time found on the interpolant against rtol, for every "
        "adaptive method: it follows the tolerance like the solution itself, so locating "
        "the root on the interpolant costs no accuracy. (Errors below 10<sup>&minus;17</sup> "
        "are drawn at 10<sup>&minus;17</sup>.)");
    html_figure(ctx, ok_pd, "events_pendulum.png", "event time error vs rtol", cap);
}

/* -- work-precision ---------------------------------------------------------------- */
typedef struct wp_problem { const char *name; double t1; const char *label; } wp_problem;

static void section_work_precision(ode_demo *d, const double *rtols, size_t n_rtols)
{
    demo_ctx *ctx = d->ctx;
    FILE *h = ctx->html;
    const wp_problem wps[] = {
        { "arenstorf", NAN, "Arenstorf orbit, one period" },
        { "pleiades", NAN, "Pleiades, t in [0, 3]" },
        { "lorenz", 8.0, "Lorenz, t in [0, 8]" },
        { "kepler", NAN, "Kepler e = 0.6, t in [0, 20] (exact)" },
    };
    const size_t n_wp = sizeof wps / sizeof wps[0];
    const double table_rtol = 1e-6;

    fprintf(h, "<h3>Work&ndash;precision</h3>\n");
    fprintf(d->json, "\"work_precision\": {");
    /* data: one file per problem, one block per method: rtol nfe error steps rejected seconds */
    run_out table[8][64];
    double ref_err[8];
    for (size_t q = 0; q < n_wp; q++) {
        const tool_problem *p = tool_problem_find(wps[q].name);
        double t1 = isnan(wps[q].t1) ? p->t1 : wps[q].t1;
        double ref[PROBLEM_MAX_DIM], ref2[PROBLEM_MAX_DIM];
        ref_err[q] = 0.0;
        if (tool_problem_reference(p, t1, ref) != 0) {
            d->failures++;
            fprintf(stderr, "nde demo: no reference for %s\n", p->name);
            continue;
        }
        /* how good is a dopri8 reference? compare it with a solve at a 10x tighter
         * tolerance (exact solutions and the zoo's stored references need no check) */
        if (strcmp(tool_reference_text(p, t1), TOOL_REFERENCE_TEXT) == 0) {
            nde_solution sol;
            const nde_method *m8 = nde_method_find(method_or("dopri8", "tsit5"));
            run_cfg cfg = { p, m8, 0.1 * TOOL_REFERENCE_RTOL, 0.1 * TOOL_REFERENCE_RTOL, 0.0,
                            p->t0, t1, NULL, 0, 0, NULL };
            run_out r = run_solve(&cfg, &sol);
            if (r.rc == NDE_OK) {
                memcpy(ref2, sol.y + (sol.n - 1) * p->dim, p->dim * sizeof *ref2);
                ref_err[q] = tool_error(p->dim, ref2, ref);
            }
            nde_solution_free(&sol);
        }
        char dat[64];
        snprintf(dat, sizeof dat, "wp_%s.dat", p->name);
        FILE *f = demo_fopen(ctx, dat, "w");
        if (f) fprintf(f, "# %s: per method (block): rtol nfe error steps rejected seconds\n",
                       wps[q].label);
        fprintf(d->json, "%s\"%s\": {\"t1\": ", q ? ", " : "", p->name);
        json_num(d->json, t1);
        fprintf(d->json, ", \"reference\": ");
        json_str(d->json, tool_reference_text(p, t1));
        fprintf(d->json, ", \"methods\": {");
        for (size_t a = 0; a < d->n_adaptive; a++) {
            const nde_method *m = d->adaptive[a];
            fprintf(d->json, "%s\"%s\": [", a ? ", " : "", nde_method_name(m));
            size_t written = 0;
            table[q][a] = (run_out){ 1, { 0, 0, 0, 0, 0, 0, 0, 0 }, 0.0, NAN };
            for (size_t k = 0, nk = 0; k < n_rtols; k++) {
                if (rtols[k] < min_rtol(m)) continue;
                nde_solution sol;
                run_cfg cfg = { p, m, rtols[k], rtols[k], 0.0, p->t0, t1, NULL, 0, 0, NULL };
                run_out r = run_solve(&cfg, &sol);
                if (r.rc == NDE_OK) r.err = end_error(&sol, ref);
                else note_failure(d, p->name, nde_method_name(m), r.rc, &sol);
                nde_solution_free(&sol);
                if (fabs(rtols[k] - table_rtol) <= 1e-3 * table_rtol) table[q][a] = r;
                if (f && r.rc == NDE_OK && r.err > 0.0) {
                    fprintf(f, "%.3e %zu %.6e %zu %zu %.6e\n", rtols[k], r.stats.nfe, r.err,
                            r.stats.steps, r.stats.rejected, r.wall);
                    written++;
                }
                fprintf(d->json, "%s{\"rtol\": ", nk++ ? ", " : "");
                json_num(d->json, rtols[k]);
                fprintf(d->json, ", \"result\": ");
                json_stats(d->json, &r);
                fprintf(d->json, "}");
            }
            fprintf(d->json, "]");
            if (f) {
                if (!written) fprintf(f, "nan nan nan nan nan nan\n");
                fprintf(f, "\n\n");
            }
        }
        fprintf(d->json, "}, \"reference_error\": ");
        json_num(d->json, ref_err[q]);
        fprintf(d->json, "}");
        if (f) fclose(f);
    }
    fprintf(d->json, "},\n");

    FILE *g = demo_fopen(ctx, "work_precision.gp", "w");
    int ok = 0;
    if (g) {
        fprintf(g,
            "set terminal @png_term size 1200,900 font ',10'\n"
            "set output 'work_precision.png'\n"
            "set multiplot layout 2,2 title 'Work-precision: error at t1 vs f-evaluations, "
            "rtol = atol = %.0e ... %.0e' font ',12'\n", rtols[0], rtols[n_rtols - 1]);
        gp_loglog(g);
        fprintf(g, "set xlabel 'f-evaluations'\nset ylabel 'error'\nset key top right font ',9'\n");
        for (size_t q = 0; q < n_wp; q++) {
            fprintf(g, "set title '%s'\n", wps[q].label);
            if (ref_err[q] > 0.0)
                fprintf(g, "set label 1 'reference error about %.0e' at graph 0.02, graph 0.04 "
                           "font ',8' tc rgb '#777777' noenhanced\n", ref_err[q]);
            fprintf(g, "plot ");
            for (size_t a = 0; a < d->n_adaptive; a++)
                fprintf(g, "%s'wp_%s.dat' index %zu using 2:3 with linespoints lw 1.5 pt %d ps 0.9 "
                           "lc rgb '%s' title '%s' noenhanced",
                        a ? ", \\\n     " : "", wps[q].name, a, point_type(d->adaptive_index[a]),
                        colour(d->adaptive_index[a]), nde_method_name(d->adaptive[a]));
            fprintf(g, "\nunset label 1\n");
        }
        fprintf(g, "unset multiplot\n");
        fclose(g);
        ok = plot(d, "work_precision.gp");
    }
    char cap[1024];
    snprintf(cap, sizeof cap,
        "Each line is one adaptive method over rtol = atol = %.0e, %.0e, &hellip;, %.0e "
        "(one point per tolerance, tightest at the right%s). Lower-left is better: less work "
        "for the same error. The error is max<sub>i</sub> |y<sub>i</sub> &minus; "
        "ref<sub>i</sub>| / (1 + |ref<sub>i</sub>|) at t1 against the exact solution (Kepler), "
        "a quadruple-precision reference (Arenstorf, Pleiades; the problem zoo's) "
        "or a dopri8 solve at rtol = atol = 10<sup>&minus;14</sup> (Lorenz; its own error, "
        "estimated against 10<sup>&minus;15</sup>, is printed in the corner). High-order methods win "
        "at tight tolerances; on the chaotic Lorenz system errors grow along the trajectory, "
        "so all methods need more work for the same end-point accuracy.",
        rtols[0], rtols[1], rtols[n_rtols - 1],
        rtols[n_rtols - 1] < 1e-8 ? "; second-order methods stop at 10<sup>&minus;8</sup>, "
                                    "below which they would need millions of steps" : "");
    html_figure(ctx, ok, "work_precision.png", "work-precision diagrams", cap);

    fprintf(h, "<p>Statistics at rtol = atol = %.0e (<code>nde_solution.stats</code>; "
               "time is one solve's wall time on this machine):</p>\n", table_rtol);
    html_stats_header(h, "problem / method", 1);
    for (size_t q = 0; q < n_wp; q++) {
        fprintf(h, "<tr class=\"group\"><td colspan=\"8\">%s</td></tr>\n", wps[q].label);
        for (size_t a = 0; a < d->n_adaptive; a++) {
            if (table[q][a].rc == 1) continue;   /* rtol not in the sweep */
            html_stats_row(h, nde_method_name(d->adaptive[a]), table_rtol, &table[q][a], 1);
        }
    }
    fprintf(h, "</table>\n");

    /* summary: the cheapest method to reach 1e-6 on each problem */
    for (size_t q = 0; q < n_wp; q++) {
        const char *best = NULL;
        size_t best_nfe = 0;
        char dat[64], line[256];
        snprintf(dat, sizeof dat, "wp_%s.dat", wps[q].name);
        FILE *f = demo_fopen(ctx, dat, "r");
        if (!f) continue;
        size_t block = 0;
        int blank = 0;
        while (fgets(line, sizeof line, f)) {
            if (line[0] == '#') continue;
            if (line[0] == '\n') { if (++blank == 2) { block++; blank = 0; } continue; }
            blank = 0;
            double rt, e;
            size_t nfe;
            if (sscanf(line, "%lf %zu %lf", &rt, &nfe, &e) == 3 && e <= 1e-6 &&
                (!best || nfe < best_nfe) && block < d->n_adaptive) {
                best = nde_method_name(d->adaptive[block]);
                best_nfe = nfe;
            }
        }
        fclose(f);
        if (best)
            fprintf(ctx->summary, "  work     %-9s cheapest to error <= 1e-6: %s (%zu f-evaluations)\n",
                    wps[q].name, best, best_nfe);
    }
}

/* -- convergence order ---------------------------------------------------------------- */
/* Errors below this are dominated by rounding (the solution reaches 148 on this problem). */
#define CONVERGENCE_FLOOR 1e-12

static void section_convergence(ode_demo *d)
{
    demo_ctx *ctx = d->ctx;
    FILE *h = ctx->html;
    const tool_problem *p = tool_problem_find("fehlberg");
    const double t1 = 1.5;
    const size_t n_min = 8, n_levels = ctx->quick ? 10 : 14;   /* N = 8 ... 2^12 or 2^16 */
    double exact[PROBLEM_MAX_DIM];
    p->exact(t1, exact, p->user);

    fprintf(h, "<h3>Convergence order</h3>\n");
    FILE *f = demo_fopen(ctx, "convergence.dat", "w");
    if (f) fprintf(f, "# per method (block): dt steps error nfe\n");
    fprintf(d->json, "\"convergence\": {\"problem\": \"fehlberg\", \"t1\": ");
    json_num(d->json, t1);
    fprintf(d->json, ", \"methods\": {");
    double measured[64];
    size_t n_show = d->n_methods < 64 ? d->n_methods : 64;
    for (size_t i = 0; i < n_show; i++) {
        const nde_method *m = nde_method_at(i);
        double lx[32], ly[32];
        size_t npts = 0;
        fprintf(d->json, "%s\"%s\": {\"order\": %d, \"points\": [", i ? ", " : "",
                nde_method_name(m), nde_method_order(m));
        size_t written = 0;
        for (size_t k = 0; k < n_levels; k++) {
            size_t n = n_min << k;
            double dt = t1 / (double)n;
            nde_solution sol;
            run_cfg cfg = { p, m, 0.0, 0.0, dt, p->t0, t1, NULL, 0, 0, NULL };
            run_out r = run_solve(&cfg, &sol);
            double e = r.rc == NDE_OK ? end_error(&sol, exact) : NAN;
            nde_solution_free(&sol);
            fprintf(d->json, "%s{\"dt\": ", k ? ", " : "");
            json_num(d->json, dt);
            fprintf(d->json, ", \"error\": ");
            json_num(d->json, e);
            fprintf(d->json, ", \"nfe\": %zu}", r.stats.nfe);
            if (!(e > 0.0) || !isfinite(e)) continue;
            if (f) { fprintf(f, "%.6e %zu %.6e %zu\n", dt, n, e, r.stats.nfe); written++; }
            /* fit only the asymptotic range: above rounding, below O(1) */
            if (e < 1e-2 && e > CONVERGENCE_FLOOR && npts < 32) {
                lx[npts] = log(dt);
                ly[npts] = log(e);
                npts++;
            }
            if (e <= CONVERGENCE_FLOOR) break;   /* rounding reached: smaller steps show nothing */
        }
        if (f) {
            if (!written) fprintf(f, "nan nan nan nan\n");
            fprintf(f, "\n\n");
        }
        /* least-squares slope over the last (smallest-dt) three usable points */
        double slope = NAN;
        if (npts >= 2) {
            size_t s0 = npts > 3 ? npts - 3 : 0;
            double mx = 0, my = 0, sxx = 0, sxy = 0, cnt = (double)(npts - s0);
            for (size_t k = s0; k < npts; k++) { mx += lx[k]; my += ly[k]; }
            mx /= cnt;
            my /= cnt;
            for (size_t k = s0; k < npts; k++) {
                sxx += (lx[k] - mx) * (lx[k] - mx);
                sxy += (lx[k] - mx) * (ly[k] - my);
            }
            slope = sxy / sxx;
        }
        measured[i] = slope;
        fprintf(d->json, "], \"measured_order\": ");
        json_num(d->json, slope);
        fprintf(d->json, "}");
    }
    fprintf(d->json, "}}\n");
    if (f) fclose(f);

    FILE *g = demo_fopen(ctx, "convergence.gp", "w");
    int ok = 0;
    if (g) {
        fprintf(g,
            "set terminal @png_term size 900,600 font ',10'\n"
            "set output 'convergence.png'\n"
            "set title \"Constant steps on Fehlberg's problem, t in [0, 1.5]: error vs step size\"\n"
            "set xlabel 'step size dt'\nset ylabel 'error at t = 1.5'\n");
        gp_loglog(g);
        fprintf(g, "set key outside right top\nplot ");
        for (size_t i = 0; i < n_show; i++) {
            const nde_method *m = nde_method_at(i);
            char title[96];
            if (isnan(measured[i])) snprintf(title, sizeof title, "%s (p=%d)", nde_method_name(m),
                                             nde_method_order(m));
            else snprintf(title, sizeof title, "%s (p=%d, slope %.2f)", nde_method_name(m),
                          nde_method_order(m), measured[i]);
            fprintf(g, "%s'convergence.dat' index %zu using 1:3 with linespoints lw 1.5 pt %d ps 0.9 "
                       "lc rgb '%s' title '%s' noenhanced",
                    i ? ", \\\n     " : "", i, point_type(i), colour(i), title);
        }
        fprintf(g, "\n");
        fclose(g);
        ok = plot(d, "convergence.gp");
    }
    char cap[768];
    snprintf(cap, sizeof cap,
        "Every registered method (adaptive ones too, run with <code>rtol = 0</code>) with "
        "constant steps dt = 1.5/N, N = %zu, %zu, &hellip;, %zu, on Fehlberg's smooth "
        "nonlinear test problem (y<sub>1</sub> = exp(sin t&sup2;), &hellip;), against its "
        "exact solution. On a log&ndash;log scale the error falls with slope equal to the "
        "method's order p until it reaches rounding (each line stops at its first error "
        "below 10<sup>&minus;12</sup>); the legend gives the slope fitted over the three "
        "smallest steps with error in (10<sup>&minus;12</sup>, 10<sup>&minus;2</sup>).",
        n_min, 2 * n_min, n_min << (n_levels - 1));
    html_figure(ctx, ok, "convergence.png", "convergence orders", cap);

    fprintf(h, "<table>\n<tr><th class=\"l\">method</th><th>order</th><th>measured slope</th>"
               "<th class=\"l\">agreement</th></tr>\n");
    size_t agree = 0, measurable = 0;
    for (size_t i = 0; i < n_show; i++) {
        const nde_method *m = nde_method_at(i);
        int p_ord = nde_method_order(m);
        fprintf(h, "<tr><td class=\"l\"><code>%s</code></td><td>%d</td>", nde_method_name(m), p_ord);
        if (isnan(measured[i])) {
            fprintf(h, "<td>&ndash;</td><td class=\"l\">too few points above rounding</td></tr>\n");
            continue;
        }
        measurable++;
        /* a slope above the order is fine (superconvergence on this problem) */
        int ok_ord = measured[i] > p_ord - 0.3;
        agree += (size_t)ok_ord;
        fprintf(h, "<td>%.2f</td><td class=\"l\">%s</td></tr>\n", measured[i],
                ok_ord ? "&#10003;" : "<span class=\"fail\">below the declared order</span>");
    }
    fprintf(h, "</table>\n");
    fprintf(ctx->summary, "  order    %zu of %zu methods reach their declared order "
                          "(constant steps, measured slopes:", agree, measurable);
    for (size_t i = 0; i < n_show; i++)
        fprintf(ctx->summary, " %s %.2f", nde_method_name(nde_method_at(i)), measured[i]);
    fprintf(ctx->summary, ")\n");
}

int demo_ode(demo_ctx *ctx)
{
    ode_demo d;
    memset(&d, 0, sizeof d);
    d.ctx = ctx;
    d.json = demo_fopen(ctx, "ode.json", "w");
    if (!d.json) return 1;
    /* the ODE methods: the registry lists the SDE and Langevin families last */
    d.n_methods = 0;
    while (d.n_methods < nde_method_count() && nde_method_kind(nde_method_at(d.n_methods)) != NDE_METHOD_SDE &&
           nde_method_kind(nde_method_at(d.n_methods)) != NDE_METHOD_LANGEVIN)
        d.n_methods++;
    for (size_t i = 0; i < d.n_methods && d.n_adaptive < 64; i++) {
        const nde_method *m = nde_method_at(i);
        /* the work-precision study compares explicit RK pairs: reversible_heun's
         * adaptive steps shrink without bound on dissipative problems (its stability
         * region is the segment [-i, i] of the imaginary axis) */
        if (nde_method_embedded_order(m) > 0 && nde_method_kind(m) == NDE_METHOD_EXPLICIT_RK) {
            d.adaptive_index[d.n_adaptive] = i;
            d.adaptive[d.n_adaptive++] = m;
        }
    }
    const double rtols_full[] = { 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10 };
    const double rtols_quick[] = { 1e-3, 1e-4, 1e-5, 1e-6 };
    const double *rtols = ctx->quick ? rtols_quick : rtols_full;
    size_t n_rtols = ctx->quick ? 4 : 8;

    fprintf(ctx->html, "<section id=\"ode\">\n<h2>ODE solvers</h2>\n"
        "<p>Explicit Runge&ndash;Kutta methods as data (Butcher tableaux) driven by one "
        "engine, with PID step-size control, dense output, events and work counters. "
        "%zu methods are registered, %zu of them adaptive.</p>\n", d.n_methods, d.n_adaptive);
    fprintf(ctx->summary, "ode: %zu methods (%zu adaptive)\n", d.n_methods, d.n_adaptive);
    fprintf(d.json, "{\n");

    section_methods(&d);
    section_trajectories(&d);
    section_steps(&d);
    section_events(&d, rtols, n_rtols);
    section_work_precision(&d, rtols, n_rtols);
    section_convergence(&d);

    fprintf(d.json, "}\n");
    fclose(d.json);
    fprintf(ctx->html, "</section>\n");
    if (d.failures || d.plot_failures)
        fprintf(ctx->summary, "ode: %d failed solves, %d failed plots\n", d.failures,
                d.plot_failures);
    return d.failures || d.plot_failures ? 1 : 0;
}
