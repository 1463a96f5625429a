/* `nde samplers`: the diffusion samplers with their order and model calls per step,
 * straight from the library's sampler table. */
#include <stdio.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

static void usage(void)
{
    printf("usage: nde samplers [--json]\n\n"
           "Lists the diffusion-model samplers of nde_diffusion_sample: name, the range of\n"
           "the `order` option (default in brackets), the convergence order of the ODE part\n"
           "and the model evaluations (NFE) per step at the default order, multistep and\n"
           "singlestep where both exist, and whether the sampler is stochastic.\n"
           "  --json   one JSON array\n");
}

int cmd_samplers(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (arg_is_help(argv[i])) { usage(); return TOOL_OK; }
        if (strcmp(argv[i], "--json") == 0) { json = 1; continue; }
        return arg_unknown("samplers", argv[i]);
    }
    size_t n = nde_sampler_count();
    if (json) printf("[\n");
    else printf("%-21s %-9s %-6s %-10s %-6s %s\n", "sampler", "orders", "order", "NFE/step",
                "noise", "description");
    for (size_t i = 0; i < n; i++) {
        const nde_sampler_info *si = nde_sampler_at(i);
        int ord = nde_sampler_convergence_order(si, 0, 1);
        int nfe = nde_sampler_nfe_per_step(si, 0, 1);
        int ord1 = nde_sampler_convergence_order(si, 0, 0);
        int nfe1 = nde_sampler_nfe_per_step(si, 0, 0);
        if (json) {
            printf("  {\"name\": ");
            json_str(stdout, si->name);
            printf(", \"order_min\": %d, \"order_max\": %d, \"order_default\": %d, "
                   "\"convergence_order\": %d, \"nfe_per_step\": %d", si->order_min,
                   si->order_max, si->order_default, ord, nfe);
            if (si->has_singlestep)
                printf(", \"singlestep\": {\"convergence_order\": %d, \"nfe_per_step\": %d}",
                       ord1, nfe1);
            printf(", \"stochastic\": %s, \"data_form\": %s, \"description\": ",
                   si->stochastic ? "true" : "false", si->data_form ? "true" : "false");
            json_str(stdout, si->description);
            printf("}%s\n", i + 1 < n ? "," : "");
        } else {
            char range[16], nfes[16];
            if (si->order_min == si->order_max) snprintf(range, sizeof range, "%d", si->order_min);
            else snprintf(range, sizeof range, "%d-%d [%d]", si->order_min, si->order_max,
                          si->order_default);
            if (si->has_singlestep) snprintf(nfes, sizeof nfes, "%d (ss %d)", nfe, nfe1);
            else snprintf(nfes, sizeof nfes, "%d", nfe);
            printf("%-21s %-9s %-6d %-10s %-6s %s\n", si->name, range, ord, nfes,
                   si->stochastic ? "yes" : "no", si->description);
        }
    }
    if (json) printf("]\n");
    else printf("\norder: measured convergence order of the ODE part at the default `order`\n"
                "(unipc: p+1; multistep order 3 with the reference D2 weight and ipndm 3/4: 2);\n"
                "NFE/step: model evaluations per step (singlestep DPM-Solver: `order` per step,\n"
                "steps = NFE in total; adaptive: per attempted step). Stochastic samplers are\n"
                "deterministic with eta = 0.\n");
    return TOOL_OK;
}
