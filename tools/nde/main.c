/* nde — command-line front end of the nde library: lists methods and problems,
 * solves built-in problems, runs the demo report, lists diffusion samplers. */
#include <stdio.h>
#include <string.h>

#include "nde.h"
#include "tool.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommands[] = {
    { "methods",  cmd_methods,  "list the methods: ODE (order, stages, dense output), SDE (strong order, noise)" },
    { "problems", cmd_problems, "list the built-in test problems that `nde solve` knows" },
    { "solve",    cmd_solve,    "solve a built-in problem and report y(t1), work and error" },
    { "sde",      cmd_sde,      "solve a built-in SDE (gbm, ou, cir, double_well) on a seeded Brownian path" },
    { "demo",     cmd_demo,     "run the showcase and write an HTML report with plots" },
    { "samplers", cmd_samplers, "list the diffusion-model samplers" },
    { "train",    cmd_train,    "train a neural ODE, CDE or SDE (spiral, regularised, cde, neural_sde) and report" },
    { "bench",    cmd_bench,    "time one training step of the neural-ODE problem against torchdiffeq (train-step)" },
    { "version",  cmd_version,  "print the library version" },
    { "help",     cmd_help,     "show this help, or a subcommand's (nde help solve)" },
};
#define N_SUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *f)
{
    fprintf(f,
        "nde %s — differential equations for machine learning\n\n"
        "usage: nde <subcommand> [options]\n\n"
        "subcommands:\n", nde_version());
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f,
        "\nEvery subcommand takes --help; those that report results take --json.\n"
        "Exit status: 0 success, 1 failure, 2 usage error.\n"
        "Example: nde solve arenstorf --method dopri8 --rtol 1e-10\n");
}

static const struct subcommand *find(const char *name)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(subcommands[i].name, name) == 0) return &subcommands[i];
    return NULL;
}

static int cmd_version(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (arg_is_help(argv[i])) {
            printf("usage: nde version [--json]\n\nPrints the version of the nde library.\n");
            return TOOL_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            return arg_unknown("version", argv[i]);
        }
    }
    if (json) {
        printf("{\"version\": ");
        json_str(stdout, nde_version());
        printf("}\n");
    } else {
        printf("nde %s\n", nde_version());
    }
    return TOOL_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2 || arg_is_help(argv[1])) { usage(stdout); return TOOL_OK; }
    const struct subcommand *s = find(argv[1]);
    if (!s) {
        fprintf(stderr, "nde help: unknown subcommand '%s' (see nde --help)\n", argv[1]);
        return TOOL_USAGE;
    }
    char help[] = "--help";
    char *args[] = { argv[1], help, NULL };
    return s->run(2, args);
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return TOOL_USAGE; }
    if (arg_is_help(argv[1])) { usage(stdout); return TOOL_OK; }
    if (strcmp(argv[1], "--version") == 0) { printf("nde %s\n", nde_version()); return TOOL_OK; }
    const struct subcommand *s = find(argv[1]);
    if (!s) {
        fprintf(stderr, "nde: unknown %s '%s' (see nde --help)\n",
                argv[1][0] == '-' ? "option" : "subcommand", argv[1]);
        return TOOL_USAGE;
    }
    return s->run(argc - 1, argv + 1);
}
