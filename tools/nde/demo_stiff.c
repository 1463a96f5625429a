/* `nde demo`, stiff section:
 *   (a) Van der Pol with mu = 1000 (the zoo's vdp1000, [0, 3000]): tsit5's accepted
 *       step sizes collapse to its stability limit on the slow branches, while `auto`
 *       switches to kvaerno5 there and back to tsit5 for the fast relaxation jumps; the
 *       switch points come from nde_step_info.method through on_step_info;
 *   (b) work-precision of the stiff methods against each other on robertson (to 1e11),
 *       hires and vdp1000 (the zoo's references), rtol = atol = 1e-3 .. 1e-10 as
 *       bench/bench_stiff.c, error against wall time and against work. The methods are
 *       the registry's methods that evaluate Jacobians (probed on y' = -y), so a new
 *       stiff method joins the chart the day it is registered. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

/* ---- (a) step sizes of tsit5 and auto on Van der Pol ---------------------------------- */

#define VDP_RTOL 1e-6        /* rtol = atol for both solves */
#define VDP_BINS 3000        /* tsit5's ~1.6 million steps are drawn as one per bin */
#define MAX_SWITCHES 64

typedef struct vdp_trace {
    FILE *f;                       /* accepted steps: t, |dt|, mode (0 tsit5, 1 stiff) */
    const nde_method *tsit5;
    double t0, bin;                /* thinning: the first accepted step in each bin */
    long last_bin;
    const nde_method *last;        /* method of the previous accepted step */
    size_t n_switch;
    double sw_t[MAX_SWITCHES], sw_dt[MAX_SWITCHES];
    int sw_to_stiff[MAX_SWITCHES];
    size_t stiff_steps;            /* accepted steps taken by the stiff method */
    const nde_method *stiff;       /* auto's stiff method, as the observer saw it */
} vdp_trace;

static int vdp_info(const nde_step_info *s, void *u)
{
    vdp_trace *tr = u;
    if (!s->accepted) return 0;
    int stiff = s->method != tr->tsit5;
    if (stiff) {
        tr->stiff_steps++;
        tr->stiff = s->method;
    }
    if (tr->last && s->method != tr->last && tr->n_switch < MAX_SWITCHES) {
        tr->sw_t[tr->n_switch] = s->t;
        tr->sw_dt[tr->n_switch] = fabs(s->dt);
        tr->sw_to_stiff[tr->n_switch++] = stiff;
    }
    tr->last = s->method;
    if (tr->bin > 0.0) {
        long b = (long)((s->t - tr->t0) / tr->bin);
        if (b == tr->last_bin) return 0;
        tr->last_bin = b;
    }
    fprintf(tr->f, "%.9g %.6g %d\n", s->t, fabs(s->dt), stiff);
    return 0;
}

typedef struct vdp_run {
    nde_stats st;
    double err, seconds;
} vdp_run;

typedef struct vdp_result {
    vdp_run tsit5, aut;
    size_t n_switch, stiff_steps;
    double sw_t[MAX_SWITCHES];
    int sw_to_stiff[MAX_SWITCHES];
    const char *stiff_name;
} vdp_result;

static int vdp_solve(const zoo_problem *p, const char *method, vdp_trace *tr, vdp_run *r, nde_solution *keep)
{
    double y0[2];
    zoo_y0(p, y0);
    nde_ode ode = { .dim = p->dim, .f = p->f, .jac = p->jac, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.rtol = o.atol = VDP_RTOL;
    o.max_steps = 10000000;   /* tsit5 needs ~1.6e6 */
    o.save = keep ? NDE_SAVE_STEPS | NDE_SAVE_T0 : 0;
    o.on_step_info = vdp_info;
    o.on_step_info_user = tr;
    nde_solution sol;
    double t0 = wall_seconds();
    int rc = nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol);
    r->seconds = wall_seconds() - t0;
    if (rc != NDE_OK) {
        fprintf(stderr, "nde demo (stiff): %s on %s: %s\n", method, p->name, nde_solution_message(&sol));
        nde_solution_free(&sol);
        return 1;
    }
    r->st = sol.stats;
    r->err = tool_error(p->dim, sol.y + (sol.n - 1) * p->dim, p->ref);
    if (keep) *keep = sol;
    else nde_solution_free(&sol);
    return 0;
}

static int run_vdp(const demo_ctx *ctx, vdp_result *r)
{
    const zoo_problem *p = zoo_find("vdp1000");
    if (!p || !p->ref) {
        fprintf(stderr, "nde demo (stiff): the zoo has no vdp1000 with a reference\n");
        return 1;
    }
    FILE *f = demo_fopen(ctx, "stiff_steps.dat", "w");
    if (!f) return 1;
    /* index 0: tsit5 (thinned), index 1: auto (every accepted step) */
    vdp_trace tr = { .f = f, .tsit5 = nde_method_find("tsit5"), .t0 = p->t0,
                     .bin = (p->t1 - p->t0) / VDP_BINS, .last_bin = -1 };
    int bad = vdp_solve(p, "tsit5", &tr, &r->tsit5, NULL);
    fprintf(f, "\n\n");
    vdp_trace ta = { .f = f, .tsit5 = tr.tsit5 };
    nde_solution sol = { 0 };
    if (!bad) bad = vdp_solve(p, "auto", &ta, &r->aut, &sol);
    fclose(f);
    if (bad) return 1;
    r->n_switch = ta.n_switch;
    r->stiff_steps = ta.stiff_steps;
    memcpy(r->sw_t, ta.sw_t, sizeof r->sw_t);
    memcpy(r->sw_to_stiff, ta.sw_to_stiff, sizeof r->sw_to_stiff);
    r->stiff_name = ta.stiff ? nde_method_name(ta.stiff) : "(none)";
    FILE *g = demo_fopen(ctx, "stiff_switch.dat", "w");
    FILE *x = demo_fopen(ctx, "stiff_vdp_x.dat", "w");
    if (g) {
        for (size_t i = 0; i < ta.n_switch; i++)
            fprintf(g, "%.9g %.6g %d\n", ta.sw_t[i], ta.sw_dt[i], ta.sw_to_stiff[i]);
        fclose(g);
    }
    if (x) {
        for (size_t i = 0; i < sol.n; i++) fprintf(x, "%.9g %.9g\n", sol.t[i], sol.y[i * 2]);
        fclose(x);
    }
    nde_solution_free(&sol);
    return g && x ? 0 : 1;
}

/* ---- (b) work-precision of the stiff methods ----------------------------------------- */

#define WP_MAX_METHODS 24
#define WP_LEVELS 8          /* rtol = 1e-3 .. 1e-10 */
#define WP_PROBLEMS 3
#define WP_SLOW 0.25         /* seconds: a method slower than this stops its sweep */
#define WP_ERR_TOP 10.0      /* errors above this (a diverged solve) are drawn at the top */
static const char *const wp_problems[WP_PROBLEMS] = { "robertson", "hires", "vdp1000" };

typedef struct wp_point {
    int ok, status;                /* status: the solve's return code (ok: NDE_OK); 1: not run */
    double rtol, err, ms, work;
    nde_stats st;
} wp_point;

typedef struct wp_result {
    size_t n_methods;
    const nde_method *m[WP_MAX_METHODS];
    wp_point pt[WP_PROBLEMS][WP_MAX_METHODS][WP_LEVELS];
    size_t max_steps;
    double seconds;
} wp_result;

static int decay(double t, const double *y, double *dy, void *u)
{
    (void)t; (void)u;
    dy[0] = -y[0];
    return 0;
}

/* The registered methods that evaluate a Jacobian on y' = -y (the implicit families;
 * not auto, which stays with tsit5 on a non-stiff problem). */
static size_t stiff_methods(const nde_method **out, size_t cap)
{
    size_t k = 0;
    nde_ode ode = { .dim = 1, .f = decay };
    for (size_t i = 0; i < nde_method_count() && k < cap; i++) {
        const nde_method *m = nde_method_at(i);
        int kind = nde_method_kind(m);
        if (kind == NDE_METHOD_SDE || kind == NDE_METHOD_LANGEVIN) continue;
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m;
        o.rtol = o.atol = 1e-3;
        double y0 = 1.0;
        nde_solution sol;
        int rc = nde_ode_solve(&ode, 0.0, 1.0, &y0, &o, &sol);
        if (rc == NDE_OK && sol.stats.njac > 0) out[k++] = m;
        nde_solution_free(&sol);
    }
    return k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One point: the median wall time of up to 5 solves (at least 3 ms in all; one solve
 * in --quick). */
static wp_point wp_run(const zoo_problem *p, const nde_method *m, double rtol, size_t max_steps, int quick)
{
    wp_point pt = { .ok = 0, .status = 1, .rtol = rtol, .err = NAN, .ms = NAN, .work = NAN };
    double y0[ZOO_MAX_INLINE_DIM], times[5];
    zoo_y0(p, y0);
    nde_ode ode = { .dim = p->dim, .f = p->f, .jac = p->jac, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = o.atol = rtol;
    o.autonomous = 1;
    o.max_steps = max_steps;
    int nt = 0;
    double total = 0.0;
    while (nt < 5 && (nt == 0 || (!quick && (nt < 3 || total < 3e-3)))) {
        nde_solution sol;
        double t0 = wall_seconds();
        int rc = nde_ode_solve(&ode, p->t0, p->t1, y0, &o, &sol);
        double dt = wall_seconds() - t0;
        pt.status = rc;
        if (rc != NDE_OK) {
            nde_solution_free(&sol);
            pt.ms = 1e3 * dt;   /* what the failure cost: ends the sweep when slow */
            return pt;
        }
        pt.err = tool_error(p->dim, sol.y + (sol.n - 1) * p->dim, p->ref);
        pt.st = sol.stats;
        nde_solution_free(&sol);
        times[nt++] = dt;
        total += dt;
        if (dt > WP_SLOW) break;
    }
    qsort(times, (size_t)nt, sizeof *times, cmp_double);
    pt.ok = 1;
    pt.ms = 1e3 * times[nt / 2];
    pt.work = (double)pt.st.nfe + (double)pt.st.njac * (double)p->dim + (double)pt.st.nlu;
    return pt;
}

static int run_wp(const demo_ctx *ctx, wp_result *r)
{
    double t0 = wall_seconds();
    r->n_methods = stiff_methods(r->m, WP_MAX_METHODS);
    r->max_steps = ctx->quick ? 5000 : 50000;
    if (r->n_methods == 0) {
        fprintf(stderr, "nde demo (stiff): no registered method evaluates Jacobians\n");
        return 1;
    }
    for (int ip = 0; ip < WP_PROBLEMS; ip++) {
        const zoo_problem *p = zoo_find(wp_problems[ip]);
        if (!p || !p->ref || p->dim > ZOO_MAX_INLINE_DIM) {
            fprintf(stderr, "nde demo (stiff): the zoo has no %s with a reference\n", wp_problems[ip]);
            return 1;
        }
        for (size_t im = 0; im < r->n_methods; im++) {
            int stop = 0;
            for (int k = 0; k < WP_LEVELS; k++) {
                wp_point *pt = &r->pt[ip][im][k];
                pt->rtol = pow(10.0, -3 - k);
                if (stop) { pt->ok = 0; pt->status = 1; continue; }
                *pt = wp_run(p, r->m[im], pt->rtol, r->max_steps, ctx->quick);
                if (pt->ms > 1e3 * WP_SLOW) stop = 1;   /* tighter ones cost more */
            }
        }
    }
    r->seconds = wall_seconds() - t0;
    FILE *f = demo_fopen(ctx, "stiff_wp.dat", "w");
    if (!f) return 1;
    /* index ip * n_methods + im: rtol, error, ms, work, steps, nfe, njac, nlu */
    for (int ip = 0; ip < WP_PROBLEMS; ip++)
        for (size_t im = 0; im < r->n_methods; im++) {
            fprintf(f, "# %s %s\n", wp_problems[ip], nde_method_name(r->m[im]));
            int any = 0;
            for (int k = 0; k < WP_LEVELS; k++) {
                const wp_point *pt = &r->pt[ip][im][k];
                if (!pt->ok) continue;
                fprintf(f, "%g %.6g %.6g %.6g %zu %zu %zu %zu\n", pt->rtol, fmax(pt->err, 1e-16), pt->ms, pt->work,
                        pt->st.steps, pt->st.nfe, pt->st.njac, pt->st.nlu);
                any = 1;
            }
            if (!any) fprintf(f, "NaN NaN NaN NaN 0 0 0 0\n");   /* keeps the index numbering */
            fprintf(f, "\n\n");
        }
    return fclose(f) != 0;
}

/* ---- plots, report, JSON ------------------------------------------------------------- */

static int plot(const demo_ctx *ctx, const vdp_result *v, const wp_result *w)
{
    FILE *gp = demo_fopen(ctx, "stiff.gp", "w");
    if (!gp) return 1;
    fprintf(gp,
        "set terminal @png_term size 1000,640\n"
        "set output 'stiff_steps.png'\n"
        "set multiplot layout 2,1 margins 0.09,0.97,0.09,0.93 spacing 0,0.04\n"
        "set xrange [0:3000]\nset format x ''\nunset xlabel\nset ylabel 'x'\nset key off\n"
        "set title 'Van der Pol, mu = 1000: tsit5 against auto (rtol = atol = %g)'\n"
        "plot 'stiff_vdp_x.dat' u 1:2 w l lc rgb '#333333'\n"
        "unset title\nset format x '%%g'\nset xlabel 't'\nset ylabel 'accepted step size |dt|'\n"
        "set logscale y\nset format y '10^{%%L}'\nset key top right opaque\n"
        "plot 'stiff_steps.dat' index 0 u 1:2 w l lc rgb '#1f77b4' title 'tsit5 (one step in %zu shown)', "
        "'' index 1 u 1:($3 == 0 ? $2 : 1/0) w p pt 7 ps 0.45 lc rgb '#ff7f0e' title 'auto: tsit5', "
        "'' index 1 u 1:($3 == 1 ? $2 : 1/0) w p pt 7 ps 0.45 lc rgb '#2ca02c' title 'auto: %s', "
        "'stiff_switch.dat' u 1:2 w p pt 6 ps 2 lw 2 lc rgb '#d62728' title 'switch points'\n"
        "unset multiplot\n",
        VDP_RTOL, (size_t)(v->tsit5.st.accepted / VDP_BINS + 1), v->stiff_name);
    static const char *const colours[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8" };
    const size_t nc = sizeof colours / sizeof colours[0];
    fprintf(gp,
        "reset\nset terminal @png_term size 1500,900 font ',9'\n"
        "set output 'stiff_work_precision.png'\n"
        "set multiplot layout 2,3 title 'stiff methods, rtol = atol = 1e-3 .. 1e-10 "
        "(error = max_i |y_i - ref_i| / (1 + |ref_i|) at t1)'\n"
        "set logscale xy\nset format x '10^{%%L}'\nset format y '10^{%%L}'\nset grid\n"
        "set ylabel 'error at t1'\n");
    for (int row = 0; row < 2; row++)
        for (int ip = 0; ip < WP_PROBLEMS; ip++) {
            fprintf(gp, "set key %s font ',8'\nset yrange [*:%g]\n", ip == 1 && row == 0 ? "bottom left" : "off",
                    WP_ERR_TOP);
            fprintf(gp, "set title '%s'\nset xlabel '%s'\nplot ", wp_problems[ip],
                    row == 0 ? "time per solve [ms]" : "work = nfe + njac dim + nlu");
            for (size_t im = 0; im < w->n_methods; im++)
                fprintf(gp, "%s'stiff_wp.dat' index %zu u %d:($2 > %g ? %g : $2) w lp pt %zu ps 0.8 lc rgb '%s' title '%s' noenhanced",
                        im ? ", " : "", (size_t)ip * w->n_methods + im, row == 0 ? 3 : 4, WP_ERR_TOP, WP_ERR_TOP,
                        im % 13 + 1,
                        colours[im % nc], nde_method_name(w->m[im]));
            fprintf(gp, "\n");
        }
    fprintf(gp, "unset multiplot\n");
    fclose(gp);
    return demo_gnuplot(ctx, "stiff.gp") != 0;
}

/* The cheapest (time) run of method im on problem ip with error <= e; NULL if none. */
static const wp_point *cheapest(const wp_result *w, int ip, size_t im, double e)
{
    const wp_point *best = NULL;
    for (int k = 0; k < WP_LEVELS; k++) {
        const wp_point *pt = &w->pt[ip][im][k];
        if (pt->ok && pt->err <= e && (!best || pt->ms < best->ms)) best = pt;
    }
    return best;
}

/* Runs of problem ip that ended with an error above WP_ERR_TOP. */
static size_t diverged(const wp_result *w, int ip)
{
    size_t n = 0;
    for (size_t im = 0; im < w->n_methods; im++)
        for (int k = 0; k < WP_LEVELS; k++) n += w->pt[ip][im][k].ok && !(w->pt[ip][im][k].err <= WP_ERR_TOP);
    return n;
}

static void html(const demo_ctx *ctx, const vdp_result *v, const wp_result *w)
{
    double ratio = (double)v->tsit5.st.nfe / (double)v->aut.st.nfe;
    fprintf(ctx->html,
        "<section id=\"stiff\">\n<h2>Stiff problems</h2>\n"
        "<p>When a problem has fast modes that have died out, an explicit method's step is "
        "limited by stability, not accuracy: it takes tiny steps where the solution is "
        "smooth. Implicit methods (Rosenbrock, diagonally implicit and fully implicit "
        "Runge&ndash;Kutta, BDF) take steps set by accuracy alone, at the price of Jacobians "
        "and linear solves; <code>auto</code> decides per step which to use.</p>\n"
        "<figure><img src=\"stiff_steps.png\"><figcaption>Van der Pol with &mu; = 1000 on "
        "[0, 3000] (the zoo's <code>vdp1000</code>), rtol = atol = %g. tsit5's steps collapse "
        "to its stability limit on the slow branches and grow only in the fast relaxation "
        "jumps: %zu accepted steps, <b>%zu f-evaluations</b>, %.2f s, error %.1e at t = 3000. "
        "<code>auto</code> starts with tsit5, switches to %s once Hairer's stiffness test has "
        "flagged 15 steps in a row, and back to tsit5 for the jumps, where the stiff method's bound "
        "h|J| says tsit5 could take the steps (%zu switch points, circled, reported by "
        "<code>nde_step_info.method</code> through <code>on_step_info</code>): %zu accepted "
        "steps (%zu by %s), <b>%zu f-evaluations</b> (%.0f&times; fewer), %zu Jacobians, %zu "
        "LU factorisations, %.3f s, error %.1e.</figcaption></figure>\n",
        VDP_RTOL, v->tsit5.st.accepted, v->tsit5.st.nfe, v->tsit5.seconds, v->tsit5.err, v->stiff_name,
        v->n_switch, v->aut.st.accepted, v->stiff_steps, v->stiff_name, v->aut.st.nfe, ratio, v->aut.st.njac,
        v->aut.st.nlu, v->aut.seconds, v->aut.err);
    fprintf(ctx->html,
        "<figure><img src=\"stiff_work_precision.png\"><figcaption>Work-precision of every "
        "registered method that evaluates Jacobians (");
    for (size_t im = 0; im < w->n_methods; im++)
        fprintf(ctx->html, "%s<code>%s</code>", im ? ", " : "", nde_method_name(w->m[im]));
    fprintf(ctx->html,
        ") on Robertson to t = 10<sup>11</sup>, HIRES and Van der Pol (&mu; = 1000), with "
        "the zoo's Jacobians, rtol = atol = 10<sup>-3</sup> &hellip; 10<sup>-10</sup> as in "
        "<code>bench/bench_stiff.c</code>; errors against the zoo's references (the Test "
        "Set's, GSL bsimp cross-checked with msbdf). Top: median wall time per solve "
        "(creation included); bottom: work counted as f-evaluations + Jacobians &times; dim + "
        "LU factorisations. Errors above %g are drawn at %g: %zu runs on Robertson end that "
        "far off (at rtol = atol the loose tolerances do not resolve y<sub>2</sub> &le; "
        "3.7&times;10<sup>-5</sup>, and a solution that leaves y<sub>2</sub> &ge; 0 grows; "
        "<code>bench/bench_stiff.c</code> measures at the same tolerances), %zu on HIRES, %zu on "
        "Van der Pol. A sweep stops at a solve over %.2f s or at %zu steps (so "
        "<code>implicit_euler</code>, of order 1, covers only the loose tolerances). The "
        "section's sweep took %.1f s; <code>make bench</code> holds these methods against "
        "CVODE, ARKODE, GSL and Boost.</figcaption></figure>\n",
        WP_ERR_TOP, WP_ERR_TOP, diverged(w, 0), diverged(w, 1), diverged(w, 2), WP_SLOW, w->max_steps, w->seconds);
    size_t n_failed = 0;
    for (int ip = 0; ip < WP_PROBLEMS; ip++)
        for (size_t im = 0; im < w->n_methods; im++)
            for (int k = 0; k < WP_LEVELS; k++) {
                const wp_point *pt = &w->pt[ip][im][k];
                if (pt->ok || pt->status == 1) continue;
                fprintf(ctx->html, "%s<code>%s</code> on %s at rtol %g: %s", n_failed++ ? "; " : "<p class=\"note\">"
                        "Failed runs, not drawn: ", nde_method_name(w->m[im]), wp_problems[ip], pt->rtol,
                        nde_status_str(pt->status));
            }
    if (n_failed) fprintf(ctx->html, ".</p>\n");
    fprintf(ctx->html, "<table>\n<tr><th class=\"l\">method</th>");
    for (int ip = 0; ip < WP_PROBLEMS; ip++)
        fprintf(ctx->html, "<th>%s: ms at error &le; 1e-4</th><th>&le; 1e-7</th>", wp_problems[ip]);
    fprintf(ctx->html, "</tr>\n");
    for (size_t im = 0; im < w->n_methods; im++) {
        fprintf(ctx->html, "<tr><td class=\"l\"><code>%s</code></td>", nde_method_name(w->m[im]));
        for (int ip = 0; ip < WP_PROBLEMS; ip++)
            for (int q = 0; q < 2; q++) {
                const wp_point *b = cheapest(w, ip, im, q ? 1e-7 : 1e-4);
                if (b) fprintf(ctx->html, "<td>%.3f</td>", b->ms);
                else fprintf(ctx->html, "<td>&ndash;</td>");
            }
        fprintf(ctx->html, "</tr>\n");
    }
    fprintf(ctx->html, "</table>\n<p class=\"note\">Cheapest run of each method whose error at "
            "t1 is within the bound (&ndash;: none in the sweep).</p>\n</section>\n");
    fprintf(ctx->summary, "stiff: vdp1000 tsit5 %zu nfe, auto %zu nfe (%.0fx fewer, %zu switches)\n",
            v->tsit5.st.nfe, v->aut.st.nfe, ratio, v->n_switch);
    fprintf(ctx->summary, "stiff: work-precision of %zu methods on %d problems in %.1f s\n", w->n_methods,
            WP_PROBLEMS, w->seconds);
}

static void json_stats(FILE *js, const vdp_run *r)
{
    fprintf(js, "{\"accepted\": %zu, \"nfe\": %zu, \"njac\": %zu, \"nlu\": %zu, \"error\": ", r->st.accepted,
            r->st.nfe, r->st.njac, r->st.nlu);
    json_num(js, r->err);
    fprintf(js, ", \"seconds\": ");
    json_num(js, r->seconds);
    fprintf(js, "}");
}

static int write_json(const demo_ctx *ctx, const vdp_result *v, const wp_result *w)
{
    FILE *js = demo_fopen(ctx, "stiff.json", "w");
    if (!js) return 1;
    fprintf(js, "{\"vdp1000\": {\"rtol\": ");
    json_num(js, VDP_RTOL);
    fprintf(js, ", \"tsit5\": ");
    json_stats(js, &v->tsit5);
    fprintf(js, ", \"auto\": ");
    json_stats(js, &v->aut);
    fprintf(js, ", \"switches\": [");
    for (size_t i = 0; i < v->n_switch; i++) {
        fprintf(js, "%s{\"t\": ", i ? ", " : "");
        json_num(js, v->sw_t[i]);
        fprintf(js, ", \"to\": ");
        json_str(js, v->sw_to_stiff[i] ? v->stiff_name : "tsit5");
        fprintf(js, "}");
    }
    fprintf(js, "]}, \"work_precision\": {");
    for (int ip = 0; ip < WP_PROBLEMS; ip++) {
        fprintf(js, "%s", ip ? ", " : "");
        json_str(js, wp_problems[ip]);
        fprintf(js, ": {");
        for (size_t im = 0; im < w->n_methods; im++) {
            fprintf(js, "%s", im ? ", " : "");
            json_str(js, nde_method_name(w->m[im]));
            fprintf(js, ": [");
            int first = 1;
            for (int k = 0; k < WP_LEVELS; k++) {
                const wp_point *pt = &w->pt[ip][im][k];
                if (!pt->ok) continue;
                fprintf(js, "%s{\"rtol\": ", first ? "" : ", ");
                json_num(js, pt->rtol);
                fprintf(js, ", \"error\": ");
                json_num(js, pt->err);
                fprintf(js, ", \"ms\": ");
                json_num(js, pt->ms);
                fprintf(js, ", \"nfe\": %zu, \"njac\": %zu, \"nlu\": %zu}", pt->st.nfe, pt->st.njac, pt->st.nlu);
                first = 0;
            }
            fprintf(js, "]");
        }
        fprintf(js, "}");
    }
    fprintf(js, "}}\n");
    return fclose(js) != 0;
}

int demo_stiff(demo_ctx *ctx)
{
    vdp_result v;
    memset(&v, 0, sizeof v);
    wp_result *w = calloc(1, sizeof *w);
    if (!w) {
        fprintf(stderr, "nde demo (stiff): out of memory\n");
        return 1;
    }
    int fail = run_vdp(ctx, &v);
    if (!fail) fail = run_wp(ctx, w);
    if (!fail) {
        fail |= write_json(ctx, &v, w);
        fail |= plot(ctx, &v, w);
        html(ctx, &v, w);
    }
    free(w);
    return fail;
}
