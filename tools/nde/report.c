/* Demo report plumbing: paths inside the output directory and running gnuplot. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

char *demo_path(const demo_ctx *ctx, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", ctx->outdir, name);
    return buf;
}

FILE *demo_fopen(const demo_ctx *ctx, const char *name, const char *mode)
{
    char path[PATH_MAX];
    demo_path(ctx, name, path, sizeof path);
    FILE *f = fopen(path, mode);
    if (!f) fprintf(stderr, "nde demo: cannot open %s: %s\n", path, strerror(errno));
    return f;
}

/* Sets png_term to the best PNG terminal gnuplot has, and selects it. */
static const char gnuplot_preamble[] =
    "png_term = (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) ? 'pngcairo' : 'png'; "
    "if (png_term eq 'pngcairo') { set terminal pngcairo size 900,540 font ',10' } "
    "else { set terminal png size 900,540 }";

int demo_gnuplot(const demo_ctx *ctx, const char *script_path)
{
    /* gnuplot runs inside outdir: resolve the script so that it is found from there. */
    char inside[PATH_MAX], script[PATH_MAX];
    demo_path(ctx, script_path, inside, sizeof inside);
    if (script_path[0] == '/') {
        snprintf(script, sizeof script, "%s", script_path);
    } else if (access(inside, R_OK) == 0) {
        snprintf(script, sizeof script, "%s", script_path);
    } else if (!realpath(script_path, script)) {
        fprintf(stderr, "nde demo: gnuplot script %s not found (in %s or here)\n",
                script_path, ctx->outdir);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "nde demo: fork failed: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (chdir(ctx->outdir) != 0) _exit(126);
        char *args[] = { "gnuplot", "-e", (char *)gnuplot_preamble, script, NULL };
        execvp("gnuplot", args);
        fprintf(stderr, "nde demo: cannot run gnuplot: %s (install gnuplot-nox)\n",
                strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "nde demo: gnuplot failed on %s (exit %d)\n", script_path,
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -1;
    }
    return 0;
}
