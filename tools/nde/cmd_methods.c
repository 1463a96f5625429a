/* nde methods: the registered methods and their properties (ODE methods, then the SDE
 * methods with their strong orders, noise kinds and Levy area). */
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
        "Then the SDE methods (nde_sde_solve; heun is the same name in both tables):\n"
        "  calculus  Ito or Stratonovich (additive-only methods solve both)\n"
        "  levy      W: increments only; H: also the space-time Levy area (the tree must\n"
        "            carry NDE_LEVY_SPACE_TIME)\n"
        "  strong    strong order on general / commutative / additive noise (-: not solved)\n"
        "  f,g       drift and diffusion evaluations per step\n"
        "  adaptive  has an embedded error estimate (rtol > 0)\n"
        "options:\n"
        "  --json    print a JSON array of objects instead of the tables (SDE-capable\n"
        "            methods carry an \"sde\" object)\n");
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
            nde_sde_method_info si;
            if (nde_sde_method_info_get(m, &si) == NDE_OK)
                printf(", \"sde\": {\"calculus\": \"%s\", \"levy\": \"%s\", \"strong_order\": {\"general\": %g, "
                       "\"commutative\": %g, \"additive\": %g}, \"noise\": [%s%s%s], \"drift_evals\": %d, "
                       "\"diffusion_evals\": %d, \"adaptive\": %s}",
                       si.additive_only ? "any" : si.stratonovich ? "stratonovich" : "ito",
                       si.levy == NDE_LEVY_NONE ? "W" : "H", si.strong_order[0], si.strong_order[1],
                       si.strong_order[2], si.noises & (1u << NDE_NOISE_DIAGONAL) ? "\"diagonal\", " : "",
                       si.noises & (1u << NDE_NOISE_ADDITIVE) ? "\"additive\"" : "",
                       si.noises & (1u << NDE_NOISE_GENERAL) ? ", \"general\"" : "", si.drift_evals,
                       si.diffusion_evals, si.adaptive ? "true" : "false");
            printf("}");
        }
        printf("\n]\n");
        return TOOL_OK;
    }
    printf("%-16s %5s %4s %6s %4s %-9s  %s\n",
           "method", "order", "emb", "stages", "fsal", "dense", "description");
    size_t n_ode = 0;
    for (size_t i = 0; i < n; i++) {
        const nde_method *m = nde_method_at(i);
        if (nde_method_kind(m) == NDE_METHOD_SDE) continue;   /* their own table below */
        n_ode++;
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
    printf("\n%zu ODE methods. Adaptive ones (with an embedded estimate) take --rtol in nde solve;\n"
           "the others run with constant steps (--dt).\n\n", n_ode);
    printf("\nChoosing (f-evaluations to reach a global error on lorenz, arenstorf, pleiades and a\n"
           "1000-dimensional linear system, default controller; docs/benchmarks.md):\n"
           "  error ~1e-4   vern8 (fewest on 3 of 4; pleiades: vern7, vern8 +19%%)\n"
           "  error ~1e-7   vern8 (fewest on 3 of 4; pleiades: vern7, vern8 +8%%)\n"
           "  error ~1e-10  vern8 (lorenz, pleiades, linear; dopri8 about 1.2x, vern7 1.4-1.9x)\n"
           "                or dopri8 / vern9 (arenstorf, where vern8 stalls near 7e-10)\n"
           "  gbs (extrapolation) needs 1.3-3.0x vern8's evaluations on all four at these\n"
           "  errors. nde solve --method auto-explicit picks vern8 for rtol >= 1e-12, vern9\n"
           "  below.\n");
    printf("\n");
    printf("%-16s %-8s %4s  %-15s %5s %8s  %s\n", "SDE method", "calculus", "levy", "strong g/c/a", "f,g",
           "adaptive", "description");
    for (size_t i = 0; i < nde_sde_method_count(); i++) {
        const nde_method *m = nde_sde_method_at(i);
        nde_sde_method_info si;
        if (nde_sde_method_info_get(m, &si) != NDE_OK) continue;
        char orders[3][8], strong[24], evals[16];
        for (int k = 0; k < 3; k++) {
            if (si.strong_order[k] > 0) snprintf(orders[k], sizeof orders[k], "%.1f", si.strong_order[k]);
            else snprintf(orders[k], sizeof orders[k], "-");
        }
        snprintf(strong, sizeof strong, "%s/%s/%s", orders[0], orders[1], orders[2]);
        snprintf(evals, sizeof evals, "%d,%d", si.drift_evals, si.diffusion_evals);
        const char *desc = nde_method_description(m);
        printf("%-16s %-8s %4s  %-15s %5s %8s  %s\n", nde_method_name(m),
               si.additive_only ? "any" : si.stratonovich ? "Strat" : "Ito", si.levy == NDE_LEVY_NONE ? "W" : "H",
               strong, evals, si.adaptive ? "yes" : "no", desc ? desc : "");
    }
    printf("\n%zu SDE methods (nde_sde_solve; additive-only ones solve Ito and Stratonovich alike).\n",
           nde_sde_method_count());
    return TOOL_OK;
}
