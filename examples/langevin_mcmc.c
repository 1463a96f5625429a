/* MCMC by underdamped Langevin simulation: adaptive QUICSORT and ALIGN sample a 2-D
 * "banana" target, and the effective sample size per gradient evaluation is reported.
 *
 * Target (a twisted Gaussian, Haario, Saksman & Tamminen 1999, with a mild twist):
 *   f(x) = x1^2/(2 s^2) + (x2 - b (x1^2 - s^2))^2/2,   s = 1, b = 1
 * so x1 ~ N(0, s^2) and x2 | x1 ~ N(b (x1^2 - s^2), 1): E x = 0, Var x1 = s^2,
 * Var x2 = 1 + 2 b^2 s^4 = 3 (the exact moments printed next to the estimates).
 *
 * The chain is the solution sampled every `dt_save` time units on one long path of a
 * virtual Brownian tree (one seed). The save times are also forced step ends (step_ts),
 * so every sample is a step's end point, not an interpolation; between them the steps
 * adapt to the error estimate. Run: ./example_langevin_mcmc */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nde.h>

#define S_X1 1.0
#define B_TWIST 1.0

static int grad_banana(const double *x, double *g, void *user)
{
    (void)user;
    double r = x[1] - B_TWIST * (x[0] * x[0] - S_X1 * S_X1);
    g[0] = x[0] / (S_X1 * S_X1) - 2.0 * B_TWIST * x[0] * r;
    g[1] = r;
    return 0;
}

static int run(const char *method, double rtol)
{
    const double T = 4000.0, dt_save = 1.0, burn = 100.0;
    const size_t n_save = (size_t)(T / dt_save);
    double *ts = malloc(n_save * sizeof *ts);
    if (!ts) return 1;
    for (size_t i = 0; i < n_save; i++) ts[i] = (double)(i + 1) * dt_save;

    nde_langevin p = { .dim = 2, .gamma = 1.0, .u = 1.0, .grad = grad_banana };
    /* tol: below the smallest step the controller will take (a leaf's two times share
     * its normals otherwise) */
    nde_brownian *bm = nde_brownian_tree_create(2, 0.0, T, 1e-4, 2024, NDE_LEVY_SPACE_TIME_TIME);
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.rtol = rtol;
    o.atol = rtol;
    o.ts = ts; o.n_ts = n_save;
    o.step_ts = ts; o.n_step_ts = n_save;
    o.max_steps = 10000000;
    double xv0[4] = { 0.0, 0.0, 0.0, 0.0 };
    nde_solution sol;
    int rc = bm ? nde_langevin_solve(&p, 0.0, T, xv0, bm, &o, &sol) : NDE_ENOMEM;
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", method, bm ? nde_solution_message(&sol) : "no tree");
        if (bm) nde_solution_free(&sol);
        nde_brownian_free(bm);
        free(ts);
        return 1;
    }
    /* drop the burn-in, then moments and ESS of x1 and x2 */
    size_t first = (size_t)(burn / dt_save), n = sol.n - first;
    const double *x = sol.y + first * sol.dim;
    double mean[2] = { 0, 0 }, var[2] = { 0, 0 }, ess[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) mean[c] += x[i * sol.dim + (size_t)c] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) {
            double e = x[i * sol.dim + (size_t)c] - mean[c];
            var[c] += e * e / (double)(n - 1);
        }
    for (int c = 0; c < 2; c++) nde_ess(x + c, n, sol.dim, &ess[c]);
    double ess_min = fmin(ess[0], ess[1]);
    /* gradients spent on the kept part, in proportion to its time */
    double grads = (double)sol.stats.nfe * (T - burn) / T;
    printf("%-8s rtol %.0e: %zu steps (%zu rejected), %zu gradients\n", method, rtol, sol.stats.steps,
           sol.stats.rejected, sol.stats.nfe);
    printf("         mean (%+.3f, %+.3f) [exact 0, 0]   var (%.3f, %.3f) [exact %.0f, %.0f]\n", mean[0], mean[1],
           var[0], var[1], S_X1 * S_X1, 1.0 + 2.0 * B_TWIST * B_TWIST * pow(S_X1, 4));
    printf("         ESS (%.0f, %.0f) of %zu samples; min ESS per gradient %.4f\n", ess[0], ess[1], n,
           ess_min / grads);
    nde_solution_free(&sol);
    nde_brownian_free(bm);
    free(ts);
    return 0;
}

int main(void)
{
    printf("underdamped Langevin MCMC on a 2-D banana, gamma = u = 1, samples every 1 time unit\n");
    int bad = run("quicsort", 1e-2);
    bad |= run("align", 1e-2);
    return bad;
}
