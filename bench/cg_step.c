/* bench/cg_step.c — instruction counts per step for callgrind (reproducible on a loaded
 * machine, unlike timings). Solves y' = -y, n components, with `steps` steps of
 * 1/steps on [0, 1]: constant steps (rtol = 0) or adaptive with every step accepted
 * (dtmax = 1/steps caps the step, rtol = 1e-6).
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null nde_cg_step dopri5 1000 adaptive 1000
 *
 * Per-step cost: run with `steps` and 2 x `steps` and divide the difference of the two
 * instruction totals by `steps` (setup cancels). Prints y(1) to 17 digits so that runs
 * can be compared bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde/ode.h"

static int decay(double t, const double *y, double *dy, void *u)
{
    (void)t;
    size_t n = *(const size_t *)u;
    for (size_t i = 0; i < n; i++) dy[i] = -y[i];
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: nde_cg_step METHOD N adaptive|fixed STEPS\n");
        return 2;
    }
    const nde_method *m = nde_method_find(argv[1]);
    size_t n = (size_t)strtoul(argv[2], NULL, 10);
    int fixed = strcmp(argv[3], "fixed") == 0;
    long steps = strtol(argv[4], NULL, 10);
    if (!m || n == 0 || steps <= 0) return 2;
    double *y0 = malloc(n * sizeof *y0);
    if (!y0) return 1;
    for (size_t i = 0; i < n; i++) y0[i] = 1.0 + (double)i / (double)n;
    nde_ode ode = { .dim = n, .f = decay, .user = &n };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = m;
    o.max_steps = (size_t)steps + 10;
    if (fixed) { o.rtol = 0.0; o.dt0 = 1.0 / (double)steps; }
    else { o.rtol = 1e-6; o.atol = 1e-9; o.dt0 = 1.0 / (double)steps; o.dtmax = 1.0 / (double)steps; }
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol);
    if (rc < 0) { fprintf(stderr, "%s\n", nde_solution_message(&sol)); return 1; }
    printf("%s n=%zu %s steps %zu rejected %zu nfe %zu y[0](1) = %.17g y[n-1](1) = %.17g\n",
           argv[1], n, argv[3], sol.stats.accepted, sol.stats.rejected, sol.stats.nfe, sol.y[0],
           sol.y[n - 1]);
    nde_solution_free(&sol);
    free(y0);
    return 0;
}
