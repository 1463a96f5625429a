/* The nde command-line tool: one function per subcommand, plus demo sections.
 * Every subcommand takes --help, and those that report results take --json.
 *
 * Exit codes (every subcommand): 0 success, 1 the work failed (a solve error, a plot
 * that gnuplot could not draw), 2 usage error (unknown subcommand, flag or value). */
#ifndef NDE_TOOL_H
#define NDE_TOOL_H
#include <stddef.h>
#include <stdio.h>

#include "zoo.h"

enum { TOOL_OK = 0, TOOL_FAIL = 1, TOOL_USAGE = 2 };

int cmd_methods(int argc, char **argv);   /* tools/nde/cmd_methods.c */
int cmd_demo(int argc, char **argv);      /* tools/nde/cmd_demo.c */
int cmd_samplers(int argc, char **argv);  /* tools/nde/cmd_samplers.c (diffusion) */
int cmd_solve(int argc, char **argv);     /* tools/nde/cmd_solve.c */
int cmd_problems(int argc, char **argv);  /* tools/nde/cmd_solve.c */
int cmd_sde(int argc, char **argv);       /* tools/nde/cmd_sde.c */
int cmd_train(int argc, char **argv);     /* tools/nde/cmd_train.c (nn) */
int cmd_bench(int argc, char **argv);     /* tools/nde/cmd_bench.c (nn: train-step) */

/* What a demo section gets: where to write files, the open HTML report to append
 * a <section> to, and a JSON-ish summary stream (stdout unless --json). */
typedef struct demo_ctx {
    const char *outdir;   /* e.g. "demo-out"; exists */
    FILE *html;           /* index.html being written; append <section>...</section> */
    FILE *summary;        /* short human summary lines (stdout; stderr under --json) */
    int quick;            /* --quick: smaller sizes (used by the smoke test) */
} demo_ctx;

/* Runs gnuplot on a script file; returns 0 on success. (tools/nde/report.c)
 * gnuplot runs with ctx->outdir as its working directory, so a script names its data
 * files and PNGs relative to outdir ("set output 'foo.png'", "plot 'foo.dat'"), and
 * index.html refers to them by the same bare names. script_path is either a name
 * relative to outdir ("foo.gp"), or a path relative to the current directory
 * ("demo-out/foo.gp"), or absolute. Before the script, demo_gnuplot sets the terminal
 * (pngcairo where available, else png) at 900x540 px with a 10 pt font; a script that
 * wants another size writes `set terminal @png_term size 1200,500` (png_term is a
 * gnuplot string variable holding the terminal name). gnuplot's errors go to stderr. */
int demo_gnuplot(const demo_ctx *ctx, const char *script_path);

/* "<outdir>/<name>" into buf (size n); returns buf. (tools/nde/report.c) */
char *demo_path(const demo_ctx *ctx, const char *name, char *buf, size_t n);
/* fopen("<outdir>/<name>", mode); NULL (with a message on stderr) on failure. */
FILE *demo_fopen(const demo_ctx *ctx, const char *name, const char *mode);
/* Writes s with &, <, >, " escaped for HTML. */
void html_escape(FILE *f, const char *s);

/* Demo sections: each returns 0 on success. Each appends one
 * <section id="NAME">...</section> (ids "ode", "gradients", "diffusion": the page's navigation links
 * to them) with an <h2> title, <figure><img src="x.png"><figcaption> per plot, and
 * prints a few summary lines to ctx->summary. A section may also write
 * <outdir>/<name>.json holding one JSON value (its results); `nde demo --json`
 * embeds it under "sections" -> name -> "results". */
int demo_ode(demo_ctx *ctx);         /* tools/nde/demo_ode.c */
int demo_diffusion(demo_ctx *ctx);   /* tools/nde/demo_diffusion.c (diffusion) */
int demo_adjoint(demo_ctx *ctx);     /* tools/nde/demo_adjoint.c (gradients) */
int demo_sde(demo_ctx *ctx);         /* tools/nde/demo_sde.c (sde) */
int demo_train(demo_ctx *ctx);       /* tools/nde/demo_train.c (nn) */
int demo_stiff(demo_ctx *ctx);       /* tools/nde/demo_stiff.c (stiff) */

/* ---- small shared helpers (tools/nde/util.c) -------------------------------- */

/* JSON: a string with escapes, and a number (non-finite values become null). */
void json_str(FILE *f, const char *s);
void json_num(FILE *f, double x);
/* True if arg is "--help" or "-h". */
int arg_is_help(const char *arg);
/* Parses a whole-string double / size_t for option `opt`; on failure prints
 * "nde <cmd>: bad value for <opt>: <arg>" to stderr and returns nonzero. */
int arg_double(const char *cmd, const char *opt, const char *arg, double *out);
int arg_size(const char *cmd, const char *opt, const char *arg, size_t *out);
/* Prints "nde <cmd>: unknown option '<arg>' (see nde <cmd> --help)"; returns TOOL_USAGE. */
int arg_unknown(const char *cmd, const char *arg);
/* Fetches the value of an option that needs one: argv[*i+1]; NULL (with a message)
 * when missing. Advances *i past the value. */
const char *arg_value(const char *cmd, int argc, char **argv, int *i);
/* Monotonic wall clock in seconds. */
double wall_seconds(void);
/* A training progress bar on stderr: "label [###...] pct% iter it/n loss L", redrawn in
 * place when the percentage changes (*last holds the last one drawn; start it at -1),
 * ended by a newline at it == n. */
void progress_bar(const char *label, size_t it, size_t n, double loss, int *last);

/* ---- built-in test problems (tools/nde/problems.c) --------------------------
 * The tool's problems are a selection of the zoo's (zoo/zoo.h): every one has its y0
 * as a table (p->y0) and dim <= PROBLEM_MAX_DIM. */

#define PROBLEM_MAX_DIM 28

typedef zoo_problem tool_problem;

size_t tool_problem_count(void);
const tool_problem *tool_problem_at(size_t i);
const tool_problem *tool_problem_find(const char *name);   /* NULL if unknown */
/* Reference y(t1) of p: the exact solution; else, at the problem's own t1, the zoo's
 * reference (p->ref); else dopri8 at rtol = atol = TOOL_REFERENCE_RTOL (on the Arenstorf
 * orbit, the hardest, it agrees with rtol 1e-15 to 2e-11). 0 on success. */
#define TOOL_REFERENCE_RTOL 1e-14
#define TOOL_REFERENCE_TEXT "dopri8 at rtol = atol = 1e-14"
int tool_problem_reference(const tool_problem *p, double t1, double *yref);
/* What tool_problem_reference compares with at t1: "exact", p->ref_source or
 * TOOL_REFERENCE_TEXT. */
const char *tool_reference_text(const tool_problem *p, double t1);
/* max_i |y_i - ref_i| / (1 + |ref_i|): the error measure used throughout the tool. */
double tool_error(size_t dim, const double *y, const double *ref);
#endif
