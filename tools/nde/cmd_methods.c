/* nde methods: the registered ODE methods and their properties. */
#include <stdio.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

static void help(void)
{
    printf(
        "usage: nde methods [--json]\n\n"
        "Lists every registered ODE method, in order of increasing order:\n"
        "  order     order of the propagated solution\n"
        "  emb       order of the embedded error estimate (-: none, constant steps only)\n"
        "  stages    f-evaluations per step, FSAL stage included\n"
        "  fsal      first-same-as-last: the last stage is reused as the next first\n"
        "  dense     order of the dense-output interpolant; \"3 hermite\" means the\n"
        "            method has no interpolant of its own and cubic Hermite is used\n"
        "options:\n"
        "  --json    print a JSON array of objects instead of the table\n");
}

int cmd_methods(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (arg_is_help(argv[i])) { help(); return TOOL_OK; }
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else return arg_unknown("methods", argv[i]);
    }
    size_t n = nde_method_count();
    if (json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            const nde_method *m = nde_method_at(i);
            int dense = nde_method_dense_order(m);
            printf("%s\n  {\"name\": ", i ? "," : "");
            json_str(stdout, nde_method_name(m));
            printf(", \"order\": %d, \"embedded_order\": %d, \"adaptive\": %s, "
                   "\"stages\": %d, \"fsal\": %s, \"dense_order\": %d, "
                   "\"dense_interpolant\": \"%s\", \"description\": ",
                   nde_method_order(m), nde_method_embedded_order(m),
                   nde_method_embedded_order(m) > 0 ? "true" : "false",
                   nde_method_stages(m), nde_method_is_fsal(m) ? "true" : "false",
                   dense > 0 ? dense : 3, dense > 0 ? "own" : "hermite");
            json_str(stdout, nde_method_description(m));
            printf("}");
        }
        printf("\n]\n");
        return TOOL_OK;
    }
    printf("%-16s %5s %4s %6s %4s %-9s  %s\n",
           "method", "order", "emb", "stages", "fsal", "dense", "description");
    for (size_t i = 0; i < n; i++) {
        const nde_method *m = nde_method_at(i);
        int emb = nde_method_embedded_order(m), dense = nde_method_dense_order(m);
        char embs[16], denses[24];
        if (emb > 0) snprintf(embs, sizeof embs, "%d", emb);
        else snprintf(embs, sizeof embs, "-");
        if (dense > 0) snprintf(denses, sizeof denses, "%d", dense);
        else snprintf(denses, sizeof denses, "3 hermite");
        const char *desc = nde_method_description(m);
        printf("%-16s %5d %4s %6d %4s %-9s  %s\n", nde_method_name(m), nde_method_order(m),
               embs, nde_method_stages(m), nde_method_is_fsal(m) ? "yes" : "no", denses,
               desc ? desc : "");
    }
    printf("\n%zu methods. Adaptive ones (with an embedded estimate) take --rtol in nde solve;\n"
           "the others run with constant steps (--dt).\n", n);
    printf("\nChoosing (f-evaluations to reach a global error on lorenz, arenstorf, pleiades and a\n"
           "1000-dimensional linear system, default controller; docs/benchmarks.md):\n"
           "  error ~1e-4   vern8 (fewest on 3 of 4; pleiades: vern7, vern8 +19%%)\n"
           "  error ~1e-7   vern8 (fewest on 3 of 4; pleiades: vern7, vern8 +8%%)\n"
           "  error ~1e-10  vern8 (lorenz, pleiades, linear; dopri8 about 1.2x, vern7 1.4-1.9x)\n"
           "                or dopri8 / vern9 (arenstorf, where vern8 stalls near 7e-10)\n"
           "  gbs (extrapolation) needs 1.3-3.0x vern8's evaluations on all four at these\n"
           "  errors. nde solve --method auto-explicit picks vern8 for rtol >= 1e-12, vern9\n"
           "  below.\n");
    return TOOL_OK;
}
