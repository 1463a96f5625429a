/* nde sde: solve a built-in SDE on a Brownian tree of a given seed (nde/sde.h) and
 * report y(t1), the work, and the error against the closed form where there is one. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

/* The problems' parameters (fixed; the help lists them). */
#define GBM_MU 0.5
#define GBM_S 0.8
#define OU_TH 1.5
#define OU_M 0.5
#define OU_S 0.6
#define CIR_A 1.0
#define CIR_B 1.0
#define CIR_S 1.5
#define DW_S 0.5

static int gbm_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = GBM_MU * y[0]; return 0; }
static int gbm_g(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = GBM_S * y[0]; return 0; }
static int ou_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = OU_TH * (OU_M - y[0]); return 0; }
static int ou_g(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)u; g[0] = OU_S; return 0; }
/* CIR in Stratonovich form: the Itô drift a (b - y) less (1/2) g g' = s^2/4 */
static int cir_f(double t, const double *y, double *f, void *u)
{ (void)t; (void)u; f[0] = CIR_A * (CIR_B - y[0]) - 0.25 * CIR_S * CIR_S; return 0; }
static int cir_g(double t, const double *y, double *g, void *u) { (void)t; (void)u; g[0] = CIR_S * sqrt(fabs(y[0])); return 0; }
static int dw_f(double t, const double *y, double *f, void *u) { (void)t; (void)u; f[0] = y[0] - y[0] * y[0] * y[0]; return 0; }
static int dw_g(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)u; g[0] = DW_S; return 0; }

typedef struct sde_builtin {
    const char *name, *description, *method;   /* method: the default */
    nde_sde sde;
    double y0;
    int exact;                                 /* closed form from W(t1) (gbm) */
} sde_builtin;

static const sde_builtin builtins[] = {
    { "gbm", "geometric Brownian motion dy = 0.5 y dt + 0.8 y dW (Itô), y0 = 1; exact", "euler_maruyama",
      { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .drift = gbm_f, .diffusion = gbm_g }, 1.0, 1 },
    { "ou", "Ornstein-Uhlenbeck dy = 1.5 (0.5 - y) dt + 0.6 dW, y0 = 2 (additive noise)", "shark",
      { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_ADDITIVE, .drift = ou_f, .diffusion = ou_g }, 2.0, 0 },
    { "cir", "Cox-Ingersoll-Ross dy = (1 - y) dt + 1.5 sqrt(y) dW (Itô; solved in Stratonovich form), y0 = 1",
      "spark",
      { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_DIAGONAL, .stratonovich = 1, .drift = cir_f,
        .diffusion = cir_g }, 1.0, 0 },
    { "double_well", "double well dy = (y - y^3) dt + 0.5 dW, y0 = 0.1 (additive noise)", "shark",
      { .dim = 1, .noise_dim = 1, .noise = NDE_NOISE_ADDITIVE, .drift = dw_f, .diffusion = dw_g }, 0.1, 0 },
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static void help(void)
{
    printf("usage: nde sde <problem> [options]\n\n"
           "Solves a built-in SDE on [0, t1] along the virtual Brownian tree of a seed and\n"
           "reports y(t1), the steps and the evaluations (drift and diffusion together).\n"
           "problems (and their default method):\n");
    for (size_t i = 0; i < N_BUILTINS; i++)
        printf("  %-12s %s [%s]\n", builtins[i].name, builtins[i].description, builtins[i].method);
    printf("options:\n"
           "  --method M   SDE method (see nde methods; default per problem, above)\n"
           "  --dt H       constant step, or the first step when adaptive (default 1e-3)\n"
           "  --rtol R     > 0: adaptive steps (spark, shark, sra1), atol = rtol unless\n"
           "               --atol; default 0 (constant steps of --dt)\n"
           "  --atol A     absolute tolerance (adaptive)\n"
           "  --t1 T       end time (default 1)\n"
           "  --seed S     the Brownian tree's seed (default 0): the same seed, the same path\n"
           "  --json       print one JSON object (name, method, seed, t, y, steps, nfe, ...)\n\n"
           "example: nde sde cir --method spark --rtol 1e-3 --seed 7 --json\n");
}

int cmd_sde(int argc, char **argv)
{
    const char *pname = NULL, *mname = NULL, *v;
    double dt = 1e-3, rtol = 0.0, atol = -1.0, t1 = 1.0;
    size_t seed = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) { help(); return TOOL_OK; }
        else if (strcmp(a, "--json") == 0) json = 1;
        else if (strcmp(a, "--method") == 0) {
            if (!(mname = arg_value("sde", argc, argv, &i))) return TOOL_USAGE;
        } else if (strcmp(a, "--dt") == 0) {
            if (!(v = arg_value("sde", argc, argv, &i)) || arg_double("sde", a, v, &dt)) return TOOL_USAGE;
        } else if (strcmp(a, "--rtol") == 0) {
            if (!(v = arg_value("sde", argc, argv, &i)) || arg_double("sde", a, v, &rtol)) return TOOL_USAGE;
        } else if (strcmp(a, "--atol") == 0) {
            if (!(v = arg_value("sde", argc, argv, &i)) || arg_double("sde", a, v, &atol)) return TOOL_USAGE;
        } else if (strcmp(a, "--t1") == 0) {
            if (!(v = arg_value("sde", argc, argv, &i)) || arg_double("sde", a, v, &t1)) return TOOL_USAGE;
        } else if (strcmp(a, "--seed") == 0) {
            if (!(v = arg_value("sde", argc, argv, &i)) || arg_size("sde", a, v, &seed)) return TOOL_USAGE;
        } else if (a[0] == '-') {
            return arg_unknown("sde", a);
        } else if (!pname) {
            pname = a;
        } else {
            fprintf(stderr, "nde sde: more than one problem ('%s', '%s')\n", pname, a);
            return TOOL_USAGE;
        }
    }
    const sde_builtin *p = NULL;
    for (size_t i = 0; pname && i < N_BUILTINS; i++)
        if (strcmp(builtins[i].name, pname) == 0) p = &builtins[i];
    if (!p) {
        fprintf(stderr, "nde sde: %s problem%s%s (see nde sde --help)\n", pname ? "unknown" : "missing",
                pname ? " " : "", pname ? pname : "");
        return TOOL_USAGE;
    }
    if (!mname) mname = p->method;
    const nde_method *m = nde_sde_method_find(mname);
    if (!m) {
        fprintf(stderr, "nde sde: unknown SDE method '%s' (see nde methods)\n", mname);
        return TOOL_USAGE;
    }
    if (!(t1 > 0.0) || !isfinite(t1) || !(dt > 0.0) || !(rtol >= 0.0)) {
        fprintf(stderr, "nde sde: need t1 > 0, dt > 0 and rtol >= 0\n");
        return TOOL_USAGE;
    }
    /* leaves below the smallest step: a quarter of dt, or 2^-20 t1 when adaptive */
    double tol = rtol > 0.0 ? ldexp(t1, -20) : fmin(dt, t1) / 4.0;
    char err[NDE_MESSAGE_MAX] = "";
    nde_brownian *bm = nde_brownian_tree_create_ex(1, 0.0, t1, tol, (uint64_t)seed, NDE_LEVY_SPACE_TIME, NULL, err,
                                                   sizeof err);
    if (!bm) {
        fprintf(stderr, "nde sde: %s\n", err);
        return TOOL_FAIL;
    }
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.rtol = rtol;
    o.atol = atol >= 0.0 ? atol : rtol;
    o.dt0 = dt;
    nde_solution sol;
    int rc = nde_sde_solve(&p->sde, 0.0, t1, &p->y0, bm, &o, &sol);
    double W = NAN, exact = NAN;
    if (p->exact && nde_brownian_increment(bm, 0.0, t1, &W, NULL, NULL) == NDE_OK)
        exact = p->y0 * exp((GBM_MU - 0.5 * GBM_S * GBM_S) * t1 + GBM_S * W);
    if (json) {
        printf("{\"name\": ");
        json_str(stdout, p->name);
        printf(", \"method\": ");
        json_str(stdout, nde_method_name(m));
        printf(", \"seed\": %zu, \"status\": %d, \"t\": ", seed, rc);
        json_num(stdout, t1);
        printf(", \"y\": [");
        json_num(stdout, rc >= 0 ? sol.y[0] : NAN);
        printf("], \"steps\": %zu, \"accepted\": %zu, \"rejected\": %zu, \"nfe\": %zu", sol.stats.steps,
               sol.stats.accepted, sol.stats.rejected, sol.stats.nfe);
        if (p->exact) {
            printf(", \"exact\": ");
            json_num(stdout, exact);
        }
        if (rc < 0) {
            printf(", \"message\": ");
            json_str(stdout, nde_solution_message(&sol));
        }
        printf("}\n");
    } else if (rc >= 0) {
        printf("%s with %s, seed %zu: y(%g) = %.12g", p->name, nde_method_name(m), seed, t1, sol.y[0]);
        if (p->exact) printf(" (exact %.12g, error %.3g)", exact, fabs(sol.y[0] - exact));
        printf("\nsteps %zu (accepted %zu, rejected %zu), evaluations %zu\n", sol.stats.steps, sol.stats.accepted,
               sol.stats.rejected, sol.stats.nfe);
    } else {
        fprintf(stderr, "nde sde: %s\n", nde_solution_message(&sol));
    }
    nde_solution_free(&sol);
    nde_brownian_free(bm);
    return rc < 0 ? TOOL_FAIL : TOOL_OK;
}
