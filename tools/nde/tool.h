/* The nde command-line tool: one function per subcommand, plus demo sections.
 * Every subcommand takes --help, and those that report results take --json. */
#ifndef NDE_TOOL_H
#define NDE_TOOL_H
#include <stdio.h>

int cmd_methods(int argc, char **argv);   /* tools/nde/cmd_methods.c */
int cmd_demo(int argc, char **argv);      /* tools/nde/cmd_demo.c */
int cmd_samplers(int argc, char **argv);  /* tools/nde/cmd_samplers.c (diffusion) */

/* What a demo section gets: where to write files, the open HTML report to append
 * a <section> to, and a JSON-ish summary stream (stdout unless --json). */
typedef struct demo_ctx {
    const char *outdir;   /* e.g. "demo-out"; exists */
    FILE *html;           /* index.html being written; append <section>...</section> */
    FILE *summary;        /* short human summary lines (stdout) */
    int quick;            /* --quick: smaller sizes (used by the smoke test) */
} demo_ctx;

/* Runs gnuplot on a script file; returns 0 on success. (tools/nde/report.c) */
int demo_gnuplot(const demo_ctx *ctx, const char *script_path);

/* Demo sections: each returns 0 on success. */
int demo_ode(demo_ctx *ctx);         /* tools/nde/demo_ode.c */
int demo_diffusion(demo_ctx *ctx);   /* tools/nde/demo_diffusion.c (diffusion) */
#endif
