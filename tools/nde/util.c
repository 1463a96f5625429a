/* Small helpers shared by the subcommands: JSON output, option parsing, a clock. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

void json_str(FILE *f, const char *s)
{
    if (!s) { fputs("null", f); return; }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_num(FILE *f, double x)
{
    if (!isfinite(x)) fputs("null", f);
    else if (x == floor(x) && fabs(x) < 1e15) fprintf(f, "%.0f", x);
    else fprintf(f, "%.17g", x);
}

void html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

int arg_is_help(const char *arg)
{
    return arg && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}

int arg_double(const char *cmd, const char *opt, const char *arg, double *out)
{
    char *end = NULL;
    errno = 0;
    double x = arg ? strtod(arg, &end) : 0.0;
    if (!arg || end == arg || *end != '\0' || errno == ERANGE || !isfinite(x)) {
        fprintf(stderr, "nde %s: bad value for %s: '%s' (expected a number)\n",
                cmd, opt, arg ? arg : "");
        return 1;
    }
    *out = x;
    return 0;
}

int arg_size(const char *cmd, const char *opt, const char *arg, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = (arg && arg[0] != '-') ? strtoull(arg, &end, 10) : 0;
    if (!arg || arg[0] == '-' || end == arg || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "nde %s: bad value for %s: '%s' (expected a non-negative integer)\n",
                cmd, opt, arg ? arg : "");
        return 1;
    }
    *out = (size_t)x;
    return 0;
}

int arg_unknown(const char *cmd, const char *arg)
{
    fprintf(stderr, "nde %s: unknown option '%s' (see nde %s --help)\n", cmd, arg, cmd);
    return TOOL_USAGE;
}

const char *arg_value(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "nde %s: option %s needs a value (see nde %s --help)\n",
                cmd, argv[*i], cmd);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_bar(const char *label, size_t it, size_t n, double loss, int *last)
{
    int pct = (int)(100 * it / (n ? n : 1));
    if (pct == *last) return;
    *last = pct;
    char bar[31];
    int fillw = pct * 30 / 100;
    for (int i = 0; i < 30; i++) bar[i] = i < fillw ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% iter %zu/%zu loss %.4f", label, bar, pct, it, n, loss);
    if (it == n) fputc('\n', stderr);
}
