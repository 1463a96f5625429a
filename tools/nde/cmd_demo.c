/* nde demo: runs the showcase sections and writes <out>/index.html with their plots. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "nde.h"
#include "tool.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static void help(void)
{
    printf(
        "usage: nde demo [--out DIR] [--quick] [--only SECTION] [--json]\n\n"
        "Runs the showcase and writes DIR/index.html, a self-contained report whose\n"
        "plots are PNG files drawn by gnuplot next to it (with their .dat and .gp files):\n"
        "  ode        trajectories from dense output (Lorenz, Arenstorf, Van der Pol),\n"
        "             accepted/rejected step sizes from the step observer, events located\n"
        "             on the dense interpolant (bouncing ball, pendulum), work-precision\n"
        "             diagrams of every adaptive method, and the measured convergence\n"
        "             order of every method\n"
        "  gradients  fitting a Lotka-Volterra model with the adjoint; gradient checks\n"
        "  diffusion  diffusion-model samplers on an exact Gaussian-mixture model\n"
        "  sde        SDEs: adaptive against constant steps on CIR, an OU ensemble, Brownian\n"
        "             tree queries, Langevin MCMC on a banana\n"
        "  training   short nde train runs: spiral loss and fit, R_E's NFE, neural CDE accuracy\n"
        "  stiff      step sizes of tsit5 and auto on Van der Pol (mu = 1000) with the switch\n"
        "             points, and a work-precision chart of the stiff methods\n\n"
        "options:\n"
        "  --out DIR       output directory, created if needed (default demo-out)\n"
        "  --quick         smaller sweeps (seconds; used by the smoke test)\n"
        "  --only SECTION  run one section: ode, gradients, diffusion, sde, training or stiff\n"
        "  --json          print a JSON summary on stdout (the human summary goes to stderr)\n"
        "exit status: 0 if every section succeeded, 1 otherwise, 2 on usage errors\n");
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    return (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ? 0 : -1;
}

static void html_head(FILE *h, int quick)
{
    fprintf(h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>nde demo</title>\n<style>\n"
        "body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1000px;\n"
        "       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }\n"
        "h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em;\n"
        "     margin-top: 2em; } h3 { margin-top: 1.6em; }\n"
        "figure { margin: 1.2em 0; } figure img { max-width: 100%%; border: 1px solid #eee; }\n"
        "figcaption { font-size: 0.92em; color: #444; margin-top: 0.3em; }\n"
        "table { border-collapse: collapse; font-size: 0.88em; margin: 0.8em 0; }\n"
        "th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }\n"
        "th { background: #f4f4f4; } td.l, th.l { text-align: left; }\n"
        "tr.group td { background: #fafafa; font-weight: 600; text-align: left; }\n"
        "code { background: #f4f4f4; padding: 0 0.25em; border-radius: 3px; }\n"
        ".note { color: #666; font-size: 0.9em; } .fail { color: #b00; font-weight: 600; }\n"
        "nav a { margin-right: 1em; }\n"
        "</style>\n</head>\n<body>\n"
        "<h1>nde demo</h1>\n"
        "<p>nde %s: differential-equation solvers for machine learning, in C. This page was\n"
        "written by <code>nde demo%s</code>; every number and plot on it was computed just now\n"
        "by the library (plots drawn by gnuplot from the <code>.dat</code> files beside this\n"
        "page; the <code>.gp</code> scripts redraw them).</p>\n"
        "<nav><a href=\"#ode\">ODE solvers</a><a href=\"#gradients\">Gradients</a>"
        "<a href=\"#diffusion\">Diffusion samplers</a><a href=\"#sde\">SDEs</a><a href=\"#training\">Training</a>"
        "<a href=\"#stiff\">Stiff problems</a></nav>\n",
        nde_version(), quick ? " --quick" : "");
}

typedef struct section {
    const char *name;
    int (*run)(demo_ctx *ctx);
    int rc;
    double seconds;
    int ran;
} section;

/* Copies <outdir>/<name>.json to f if it exists; returns 1 if it did. */
static int embed_json(const demo_ctx *ctx, const char *name, FILE *f)
{
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s.json", name);
    char path[PATH_MAX];
    FILE *in = fopen(demo_path(ctx, file, path, sizeof path), "r");
    if (!in) return 0;
    char buf[8192];
    size_t k;
    int any = 0;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0) {
        fwrite(buf, 1, k, f);
        any = 1;
    }
    fclose(in);
    return any;
}

int cmd_demo(int argc, char **argv)
{
    const char *out = "demo-out", *only = NULL;
    int quick = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) { help(); return TOOL_OK; }
        else if (strcmp(a, "--quick") == 0) quick = 1;
        else if (strcmp(a, "--json") == 0) json = 1;
        else if (strcmp(a, "--out") == 0) {
            if (!(out = arg_value("demo", argc, argv, &i))) return TOOL_USAGE;
        } else if (strcmp(a, "--only") == 0) {
            if (!(only = arg_value("demo", argc, argv, &i))) return TOOL_USAGE;
            if (strcmp(only, "ode") != 0 && strcmp(only, "gradients") != 0 && strcmp(only, "diffusion") != 0
                && strcmp(only, "sde") != 0 && strcmp(only, "training") != 0 && strcmp(only, "stiff") != 0) {
                fprintf(stderr, "nde demo: unknown section '%s' (ode, gradients, diffusion, sde, training or stiff)\n",
                        only);
                return TOOL_USAGE;
            }
        } else {
            return arg_unknown("demo", a);
        }
    }
    if (make_dirs(out) != 0) {
        fprintf(stderr, "nde demo: cannot create directory %s: %s\n", out, strerror(errno));
        return TOOL_FAIL;
    }
    demo_ctx ctx = { .outdir = out, .html = NULL, .summary = json ? stderr : stdout,
                     .quick = quick };
    ctx.html = demo_fopen(&ctx, "index.html", "w");
    if (!ctx.html) return TOOL_FAIL;

    section sections[] = {
        { "ode", demo_ode, 0, 0.0, 0 },
        { "gradients", demo_adjoint, 0, 0.0, 0 },
        { "diffusion", demo_diffusion, 0, 0.0, 0 },
        { "sde", demo_sde, 0, 0.0, 0 },
        { "training", demo_train, 0, 0.0, 0 },
        { "stiff", demo_stiff, 0, 0.0, 0 },
    };
    const size_t n_sections = sizeof sections / sizeof sections[0];

    html_head(ctx.html, quick);
    fprintf(ctx.summary, "nde demo%s: writing %s/index.html\n", quick ? " --quick" : "", out);
    double t_start = wall_seconds();
    int failed = 0;
    for (size_t s = 0; s < n_sections; s++) {
        section *sec = &sections[s];
        if (only && strcmp(only, sec->name) != 0) continue;
        /* a stale <name>.json from an earlier run must not be reported as this run's */
        char path[PATH_MAX], file[64];
        snprintf(file, sizeof file, "%s.json", sec->name);
        remove(demo_path(&ctx, file, path, sizeof path));
        double t0 = wall_seconds();
        sec->rc = sec->run(&ctx);
        sec->seconds = wall_seconds() - t0;
        sec->ran = 1;
        fflush(ctx.html);
        if (sec->rc != 0) {
            failed = 1;
            fprintf(ctx.html, "<p class=\"fail\">The %s section failed (code %d); "
                    "see the tool's error output.</p>\n", sec->name, sec->rc);
            fprintf(stderr, "nde demo: section %s failed (code %d)\n", sec->name, sec->rc);
        }
        fprintf(ctx.summary, "%s: %s in %.1f s\n", sec->name, sec->rc ? "FAILED" : "done",
                sec->seconds);
    }
    double total = wall_seconds() - t_start;

    time_t now = time(NULL);
    char when[64] = "";
    struct tm tmv;
    if (gmtime_r(&now, &tmv)) strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tmv);
    fprintf(ctx.html, "<hr>\n<p class=\"note\">Generated %s by nde %s in %.1f s (",
            when, nde_version(), total);
    for (size_t s = 0, k = 0; s < n_sections; s++) {
        if (!sections[s].ran) continue;
        fprintf(ctx.html, "%s%s %.1f s", k++ ? ", " : "", sections[s].name, sections[s].seconds);
    }
    fprintf(ctx.html, ").</p>\n</body>\n</html>\n");
    int close_failed = fclose(ctx.html) != 0;
    if (close_failed) {
        fprintf(stderr, "nde demo: error writing %s/index.html\n", out);
        failed = 1;
    }
    fprintf(ctx.summary, "total %.1f s; open %s/index.html\n", total, out);

    if (json) {
        printf("{\n  \"outdir\": ");
        json_str(stdout, out);
        printf(",\n  \"index\": \"index.html\",\n  \"quick\": %s,\n  \"ok\": %s,\n"
               "  \"seconds\": ", quick ? "true" : "false", failed ? "false" : "true");
        json_num(stdout, total);
        printf(",\n  \"sections\": {");
        for (size_t s = 0, k = 0; s < n_sections; s++) {
            const section *sec = &sections[s];
            if (!sec->ran) continue;
            printf("%s\n    ", k++ ? "," : "");
            json_str(stdout, sec->name);
            printf(": {\"status\": %d, \"seconds\": ", sec->rc);
            json_num(stdout, sec->seconds);
            printf(", \"results\": ");
            if (!embed_json(&ctx, sec->name, stdout)) printf("null");
            printf("}");
        }
        printf("\n  }\n}\n");
    }
    return failed ? TOOL_FAIL : TOOL_OK;
}
