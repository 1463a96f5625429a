/* nde solve / nde problems: solve a built-in problem with any method and report the
 * end state, the work counters and the error against an exact or reference solution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

/* ---- nde problems ------------------------------------------------------------- */

static void problems_help(void)
{
    printf("usage: nde problems [--json]\n\n"
           "Lists the built-in problems of `nde solve`: name, dimension, default interval,\n"
           "whether an exact solution is known, and their events.\n"
           "options:\n"
           "  --json    print a JSON array instead of the table\n");
}

int cmd_problems(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (arg_is_help(argv[i])) { problems_help(); return TOOL_OK; }
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else return arg_unknown("problems", argv[i]);
    }
    size_t n = tool_problem_count();
    if (json) printf("[");
    else printf("%-10s %4s  %-20s %-9s %s\n", "problem", "dim", "interval", "reference", "description");
    for (size_t i = 0; i < n; i++) {
        const tool_problem *p = tool_problem_at(i);
        if (json) {
            printf("%s\n  {\"name\": ", i ? "," : "");
            json_str(stdout, p->name);
            printf(", \"dim\": %zu, \"t0\": ", p->dim);
            json_num(stdout, p->t0);
            printf(", \"t1\": ");
            json_num(stdout, p->t1);
            printf(", \"exact\": %s, \"event\": ", p->exact ? "true" : "false");
            json_str(stdout, p->event_what);
            printf(", \"description\": ");
            json_str(stdout, p->description);
            printf("}");
        } else {
            char iv[64];
            snprintf(iv, sizeof iv, "[%g, %.6g]", p->t0, p->t1);
            printf("%-10s %4zu  %-20s %-9s %s\n", p->name, p->dim, iv,
                   p->exact ? "exact" : p->ref ? "stored" : "dopri8", p->description);
        }
    }
    if (json) printf("\n]\n");
    return TOOL_OK;
}

/* ---- nde solve ---------------------------------------------------------------- */

static void solve_help(void)
{
    printf(
        "usage: nde solve <problem> [options]\n\n"
        "Solves a built-in problem (see nde problems) and reports y(t1), the solver's work\n"
        "counters and the error max_i |y_i - ref_i| / (1 + |ref_i|) against the exact\n"
        "solution, the stored reference (at the problem's own t1) or a dopri8 solve at\n"
        "rtol = atol = 1e-14. Problems with an event (ball, pendulum) stop at it; the\n"
        "event time is compared with its exact value.\n\n"
        "options:\n"
        "  --method M     method name (default tsit5; see nde methods), or auto-explicit:\n"
        "                 vern8 for rtol >= 1e-12, vern9 below (fewest f-evaluations at\n"
        "                 matched error on the benchmark problems)\n"
        "  --rtol R       relative tolerance (default 1e-6); 0 means constant steps of --dt\n"
        "  --atol A       absolute tolerance (default: equal to rtol)\n"
        "  --dt H         initial step (adaptive) or the constant step (rtol 0, or a method\n"
        "                 without an error estimate; default (t1 - t0) / 1000 there)\n"
        "  --t1 T         end time (default: the problem's)\n"
        "  --points N     also print the dense output at N+1 equally spaced times\n"
        "  --no-reference skip the reference solve (no error reported)\n"
        "  --json         print one JSON object\n\n"
        "example: nde solve arenstorf --method dopri8 --rtol 1e-10 --json\n");
}

typedef struct step_counter { size_t accepted, rejected; double dtmin, dtmax; } step_counter;

static int count_step(double t, double dt, double err, int accepted, void *user)
{
    (void)t; (void)err;
    step_counter *c = user;
    if (accepted) {
        c->accepted++;
        double a = fabs(dt);
        if (a < c->dtmin) c->dtmin = a;
        if (a > c->dtmax) c->dtmax = a;
    } else {
        c->rejected++;
    }
    return 0;
}

static void print_vec_json(const double *y, size_t dim)
{
    printf("[");
    for (size_t i = 0; i < dim; i++) {
        if (i) printf(", ");
        json_num(stdout, y[i]);
    }
    printf("]");
}

/* Name of component i from the space-separated list, or "y[i]". */
static void component_name(const tool_problem *p, size_t i, char *buf, size_t n)
{
    const char *s = p->components;
    for (size_t k = 0; s && *s; k++) {
        size_t len = strcspn(s, " ");
        if (k == i) { snprintf(buf, n, "%.*s", (int)len, s); return; }
        s += len;
        while (*s == ' ') s++;
    }
    snprintf(buf, n, "y[%zu]", i);
}

int cmd_solve(int argc, char **argv)
{
    const char *pname = NULL, *mname = "tsit5";
    double rtol = 1e-6, atol = -1.0, dt = 0.0, t1 = NAN;
    size_t points = 0;
    int json = 0, noref = 0, rtol_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (arg_is_help(a)) { solve_help(); return TOOL_OK; }
        else if (strcmp(a, "--json") == 0) json = 1;
        else if (strcmp(a, "--no-reference") == 0) noref = 1;
        else if (strcmp(a, "--method") == 0) {
            if (!(mname = arg_value("solve", argc, argv, &i))) return TOOL_USAGE;
        } else if (strcmp(a, "--rtol") == 0) {
            if (!(v = arg_value("solve", argc, argv, &i)) || arg_double("solve", a, v, &rtol))
                return TOOL_USAGE;
            rtol_set = 1;
        } else if (strcmp(a, "--atol") == 0) {
            if (!(v = arg_value("solve", argc, argv, &i)) || arg_double("solve", a, v, &atol))
                return TOOL_USAGE;
        } else if (strcmp(a, "--dt") == 0) {
            if (!(v = arg_value("solve", argc, argv, &i)) || arg_double("solve", a, v, &dt))
                return TOOL_USAGE;
        } else if (strcmp(a, "--t1") == 0) {
            if (!(v = arg_value("solve", argc, argv, &i)) || arg_double("solve", a, v, &t1))
                return TOOL_USAGE;
        } else if (strcmp(a, "--points") == 0) {
            if (!(v = arg_value("solve", argc, argv, &i)) || arg_size("solve", a, v, &points))
                return TOOL_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            return arg_unknown("solve", a);
        } else if (!pname) {
            pname = a;
        } else {
            fprintf(stderr, "nde solve: one problem at a time ('%s' and '%s')\n", pname, a);
            return TOOL_USAGE;
        }
    }
    if (!pname) {
        fprintf(stderr, "nde solve: which problem? (see nde problems; nde solve --help)\n");
        return TOOL_USAGE;
    }
    const tool_problem *p = tool_problem_find(pname);
    if (!p) {
        fprintf(stderr, "nde solve: unknown problem '%s'; known:", pname);
        for (size_t i = 0; i < tool_problem_count(); i++)
            fprintf(stderr, " %s", tool_problem_at(i)->name);
        fprintf(stderr, "\n");
        return TOOL_USAGE;
    }
    /* auto-explicit: the explicit pair with the fewest evaluations at matched error on
     * the benchmark problems (docs/benchmarks.md, "NFE at matched error"): vern8 at
     * errors 1e-4 ... 1e-10 on 3 of 4 problems at each level (pleiades: vern7 at 1e-4 and
     * 1e-7), vern9 where vern8 stalls (arenstorf at error 1e-10 needs rtol 1e-13) */
    if (strcmp(mname, "auto-explicit") == 0) mname = rtol >= 1e-12 ? "vern8" : "vern9";
    const nde_method *m = nde_method_find(mname);
    if (!m) {
        fprintf(stderr, "nde solve: unknown method '%s' (see nde methods)\n", mname);
        return TOOL_USAGE;
    }
    if (rtol < 0.0 || (atol < 0.0 && atol != -1.0)) {
        fprintf(stderr, "nde solve: tolerances must be >= 0\n");
        return TOOL_USAGE;
    }
    if (isnan(t1)) t1 = p->t1;
    if (atol == -1.0) atol = rtol;
    int adaptive = nde_method_embedded_order(m) > 0 && rtol > 0.0;
    if (!adaptive) {
        if (rtol_set && rtol > 0.0 && nde_method_embedded_order(m) == 0 && !json)
            fprintf(stderr, "nde solve: %s has no error estimate; using constant steps\n", mname);
        rtol = 0.0;
        if (dt == 0.0) dt = (t1 - p->t0) / 1000.0;
    }

    nde_ode ode = { .dim = p->dim, .f = p->f, .user = p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = rtol;
    o.atol = adaptive ? atol : 0.0;
    o.dt0 = dt;
    o.max_steps = 10000000;
    if (points) o.save = NDE_SAVE_DENSE;
    step_counter sc = { 0, 0, INFINITY, 0.0 };
    o.on_step = count_step;
    o.on_step_user = &sc;
    int dir = p->event_direction;
    if (p->event) {
        o.event = p->event;
        o.n_events = 1;
        o.event_direction = &dir;
    }
    nde_solution sol;
    memset(&sol, 0, sizeof sol);
    double w0 = wall_seconds();
    int rc = nde_ode_solve(&ode, p->t0, t1, p->y0, &o, &sol);
    double wall = wall_seconds() - w0;

    double yend[PROBLEM_MAX_DIM], yref[PROBLEM_MAX_DIM], tend = NAN, err = NAN;
    double ev_t = NAN, ev_exact = NAN, ev_err = NAN;
    int have_end = rc >= 0 && sol.n > 0;
    if (have_end) {
        tend = sol.t[sol.n - 1];
        memcpy(yend, sol.y + (sol.n - 1) * p->dim, p->dim * sizeof *yend);
    }
    if (rc == NDE_EVENT && sol.n_event_hits > 0) {
        ev_t = sol.event_t[0];
        if (p->event_time) {
            ev_exact = p->event_time();
            ev_err = fabs(ev_t - ev_exact);
        }
    }
    int have_ref = 0;
    if (have_end && !noref && rc == NDE_OK)
        have_ref = tool_problem_reference(p, tend, yref) == 0;
    if (have_ref) err = tool_error(p->dim, yend, yref);

    if (json) {
        printf("{\n  \"problem\": ");
        json_str(stdout, p->name);
        printf(",\n  \"method\": ");
        json_str(stdout, nde_method_name(m));
        printf(",\n  \"adaptive\": %s,\n  \"rtol\": ", adaptive ? "true" : "false");
        json_num(stdout, o.rtol);
        printf(", \"atol\": ");
        json_num(stdout, o.atol);
        printf(", \"dt0\": ");
        json_num(stdout, o.dt0);
        printf(",\n  \"t0\": ");
        json_num(stdout, p->t0);
        printf(", \"t1\": ");
        json_num(stdout, t1);
        printf(",\n  \"status\": %d, \"status_text\": ", rc);
        json_str(stdout, nde_status_str(rc));
        printf(", \"message\": ");
        json_str(stdout, nde_solution_message(&sol));
        printf(",\n  \"t_end\": ");
        json_num(stdout, tend);
        printf(",\n  \"y_end\": ");
        if (have_end) print_vec_json(yend, p->dim); else printf("null");
        printf(",\n  \"stats\": {\"steps\": %zu, \"accepted\": %zu, \"rejected\": %zu, "
               "\"nfe\": %zu, \"njac\": %zu, \"nlu\": %zu, \"nnewton\": %zu},\n",
               sol.stats.steps, sol.stats.accepted, sol.stats.rejected, sol.stats.nfe,
               sol.stats.njac, sol.stats.nlu, sol.stats.nnewton);
        printf("  \"dt_min\": ");
        json_num(stdout, sc.accepted ? sc.dtmin : NAN);
        printf(", \"dt_max\": ");
        json_num(stdout, sc.accepted ? sc.dtmax : NAN);
        printf(",\n  \"error\": ");
        json_num(stdout, err);
        printf(", \"reference\": ");
        json_str(stdout, have_ref ? tool_reference_text(p, tend) : NULL);
        printf(",\n  \"event_t\": ");
        json_num(stdout, ev_t);
        printf(", \"event_exact_t\": ");
        json_num(stdout, ev_exact);
        printf(", \"event_error\": ");
        json_num(stdout, ev_err);
        printf(",\n  \"wall_seconds\": ");
        json_num(stdout, wall);
        if (points) {
            printf(",\n  \"dense\": [");
            for (size_t k = 0; k <= points && have_end; k++) {
                double t = p->t0 + (tend - p->t0) * (double)k / (double)points, y[PROBLEM_MAX_DIM];
                if (k == points) t = tend;
                int erc = nde_solution_eval(&sol, t, y);
                printf("%s\n    {\"t\": ", k ? "," : "");
                json_num(stdout, t);
                printf(", \"y\": ");
                if (erc == NDE_OK) print_vec_json(y, p->dim); else printf("null");
                printf("}");
            }
            printf("\n  ]");
        }
        printf("\n}\n");
    } else {
        char name[32];
        printf("problem   %s: %s\n", p->name, p->description);
        printf("method    %s (order %d", nde_method_name(m), nde_method_order(m));
        if (adaptive) printf(", embedded %d), rtol %g, atol %g\n", nde_method_embedded_order(m),
                             o.rtol, o.atol);
        else printf("), constant steps of %g\n", o.dt0);
        printf("interval  [%g, %.17g]\n", p->t0, t1);
        printf("status    %s", nde_status_str(rc));
        if (rc < 0) printf(": %s", nde_solution_message(&sol));
        printf("\n");
        if (have_end) {
            printf("y(%.17g)\n", tend);
            for (size_t i = 0; i < p->dim; i++) {
                component_name(p, i, name, sizeof name);
                printf("  %-8s % .17g\n", name, yend[i]);
            }
        }
        printf("work      %zu steps: %zu accepted, %zu rejected; %zu f-evaluations\n",
               sol.stats.steps, sol.stats.accepted, sol.stats.rejected, sol.stats.nfe);
        if (sc.accepted)
            printf("steps     |dt| from %.3g to %.3g\n", sc.dtmin, sc.dtmax);
        if (have_ref)
            printf("error     %.3e  (max_i |y_i - ref_i| / (1 + |ref_i|) vs %s)\n", err,
                   p->exact ? "the exact solution" : tool_reference_text(p, tend));
        if (!isnan(ev_t)) {
            printf("event     %s at t = %.17g", p->event_what, ev_t);
            if (!isnan(ev_exact)) printf("\n          exact %.17g, error %.2e", ev_exact, ev_err);
            printf("\n");
        }
        printf("time      %.3f ms\n", 1e3 * wall);
        if (points && have_end) {
            printf("\ndense output:\n%-22s", "t");
            for (size_t i = 0; i < p->dim; i++) {
                component_name(p, i, name, sizeof name);
                printf(" %22s", name);
            }
            printf("\n");
            for (size_t k = 0; k <= points; k++) {
                double t = p->t0 + (tend - p->t0) * (double)k / (double)points, y[PROBLEM_MAX_DIM];
                if (k == points) t = tend;
                if (nde_solution_eval(&sol, t, y) != NDE_OK) continue;
                printf("%-22.15g", t);
                for (size_t i = 0; i < p->dim; i++) printf(" % 22.15g", y[i]);
                printf("\n");
            }
        }
    }
    nde_solution_free(&sol);
    return rc < 0 ? TOOL_FAIL : TOOL_OK;
}
