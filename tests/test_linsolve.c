/* The caller's linear solver (nde_options.lin_setup / lin_solve, include/nde/ode.h):
 * every method that takes it gives, with a caller's solver, the solution of the
 * library's own dense LU (matrix-free conjugate gradients on a 2-D reaction-diffusion
 * problem, also with its IMEX split; a caller's direct solver of M - gamma_h J on
 * Robertson as an ODE and as an index-1 DAE; a backward solve, where gamma_h < 0; a
 * tridiagonal solver at dim 10^5, where no dense matrix fits), forms no Jacobian and
 * stores no matrix, counts the setups as LU factorisations, and turns the callbacks'
 * failures into their statuses and messages; the methods that cannot take it refuse it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo.h"

/* The methods documented to take the hook (include/nde/ode.h). */
static const char *const takers[] = { "implicit_euler", "kvaerno3", "kvaerno4", "kvaerno5", "kencarp3", "kencarp4",
                                      "kencarp5", "ros3p", "rodas4", "rodas5p", "bdf" };
#define N_TAKERS (sizeof takers / sizeof takers[0])

/* ---- a 2-D reaction-diffusion problem with matrix-free conjugate gradients -------------
 * u' = Laplacian_h u - u^3 on the unit square's G x G interior grid, u = 0 on the
 * boundary, u0 = two sine modes. J = L - 3 diag(u^2) is symmetric negative definite, so
 * A = I - gamma_h J is symmetric positive definite for gamma_h > 0: CG with Jacobi
 * preconditioning, J applied from the stencil and the y of the last setup. */
#define G 12
#define HD (G * G)

typedef struct heat {
    double inv_dx2;
    int imex;                    /* f is L u alone, -u^3 goes to f_explicit */
    double gh, ysq[HD];          /* the last setup's gamma_h and y^2 */
    size_t setups, solves, cg_iters, max_cg;
    double r[HD], z[HD], p[HD], q[HD], x[HD];
} heat;

static void laplacian(const heat *h, const double *u, double *out)
{
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            double c = u[i * G + j], s = -4.0 * c;
            if (i > 0) s += u[(i - 1) * G + j];
            if (i < G - 1) s += u[(i + 1) * G + j];
            if (j > 0) s += u[i * G + j - 1];
            if (j < G - 1) s += u[i * G + j + 1];
            out[i * G + j] = h->inv_dx2 * s;
        }
}

static int heat_f(double t, const double *u, double *du, void *user)
{
    (void)t;
    const heat *h = user;
    laplacian(h, u, du);
    if (!h->imex)
        for (int k = 0; k < HD; k++) du[k] -= u[k] * u[k] * u[k];
    return 0;
}

static int heat_fe(double t, const double *u, double *du, void *user)
{
    (void)t; (void)user;
    for (int k = 0; k < HD; k++) du[k] = -u[k] * u[k] * u[k];
    return 0;
}

static int heat_jac(double t, const double *u, double *J, void *user)
{
    (void)t;
    const heat *h = user;
    memset(J, 0, sizeof(double) * HD * HD);
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            int k = i * G + j;
            J[k * HD + k] = -4.0 * h->inv_dx2 - (h->imex ? 0.0 : 3.0 * u[k] * u[k]);
            if (i > 0) J[k * HD + k - G] = h->inv_dx2;
            if (i < G - 1) J[k * HD + k + G] = h->inv_dx2;
            if (j > 0) J[k * HD + k - 1] = h->inv_dx2;
            if (j < G - 1) J[k * HD + k + 1] = h->inv_dx2;
        }
    return 0;
}

static int heat_setup(double t, const double *y, double gamma_h, void *user)
{
    (void)t;
    heat *h = user;
    h->setups++;
    if (!(gamma_h > 0.0)) return -1;   /* a forward solve: gamma_h > 0 */
    h->gh = gamma_h;
    for (int k = 0; k < HD; k++) h->ysq[k] = h->imex ? 0.0 : y[k] * y[k];
    return 0;
}

/* out = A v = v - gh (L v - 3 y^2 v) */
static void apply_A(const heat *h, const double *v, double *out)
{
    laplacian(h, v, out);
    for (int k = 0; k < HD; k++) out[k] = v[k] - h->gh * (out[k] - 3.0 * h->ysq[k] * v[k]);
}

static int heat_solve(double *b, void *user)
{
    heat *h = user;
    h->solves++;
    double bn = 0.0, rz = 0.0;
    for (int k = 0; k < HD; k++) bn += b[k] * b[k];
    if (bn == 0.0) return 0;
    for (int k = 0; k < HD; k++) {
        double diag = 1.0 + h->gh * (4.0 * h->inv_dx2 + 3.0 * h->ysq[k]);
        h->x[k] = 0.0;
        h->r[k] = b[k];
        h->z[k] = b[k] / diag;
        h->p[k] = h->z[k];
        rz += h->r[k] * h->z[k];
    }
    for (size_t it = 1; it <= 500; it++) {
        apply_A(h, h->p, h->q);
        double pq = 0.0;
        for (int k = 0; k < HD; k++) pq += h->p[k] * h->q[k];
        double alpha = rz / pq, rn = 0.0, rz_new = 0.0;
        for (int k = 0; k < HD; k++) {
            h->x[k] += alpha * h->p[k];
            h->r[k] -= alpha * h->q[k];
            rn += h->r[k] * h->r[k];
        }
        h->cg_iters++;
        if (rn <= 1e-28 * bn) {
            if (it > h->max_cg) h->max_cg = it;
            memcpy(b, h->x, sizeof h->x);
            return 0;
        }
        for (int k = 0; k < HD; k++) {
            double diag = 1.0 + h->gh * (4.0 * h->inv_dx2 + 3.0 * h->ysq[k]);
            h->z[k] = h->r[k] / diag;
            rz_new += h->r[k] * h->z[k];
        }
        double beta = rz_new / rz;
        rz = rz_new;
        for (int k = 0; k < HD; k++) h->p[k] = h->z[k] + beta * h->p[k];
    }
    return 1;   /* not converged: retry with a smaller step */
}

static void heat_y0(double *u)
{
    const double pi = acos(-1.0), dx = 1.0 / (G + 1);
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            double x = (i + 1) * dx, y = (j + 1) * dx;
            u[i * G + j] = sin(pi * x) * sin(pi * y) + 0.5 * sin(2 * pi * x) * sin(3 * pi * y);
        }
}

static int accepts_hook(const nde_method *m)
{
    for (size_t i = 0; i < N_TAKERS; i++)
        if (strcmp(nde_method_name(m), takers[i]) == 0) return 1;
    return 0;
}

static double max_diff(const double *a, const double *b, size_t n, double scale)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs(a[i] - b[i]) / (scale + fabs(b[i])));
    return w;
}

/* Every method that takes the hook: CG gives the dense LU's solution, no Jacobian. */
static void test_cg_matches_dense_lu(void)
{
    static heat h;
    memset(&h, 0, sizeof h);
    h.inv_dx2 = (G + 1.0) * (G + 1.0);
    double u0[HD];
    heat_y0(u0);
    size_t ran = 0;
    for (size_t i = 0; i < nde_method_count(); i++) {
        const nde_method *m = nde_method_at(i);
        if (!test_solves_odes(m)) continue;
        nde_ode ode = { .dim = HD, .f = heat_f, .jac = heat_jac, .user = &h };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m;
        o.rtol = 1e-6; o.atol = 1e-8;
        o.autonomous = 1;
        nde_solution ref, sol;
        o.lin_setup = heat_setup; o.lin_solve = heat_solve; o.lin_user = &h;
        h.setups = h.solves = h.cg_iters = h.max_cg = 0;
        int rc = nde_ode_solve(&ode, 0.0, 0.05, u0, &o, &sol);
        if (rc == NDE_EUNSUPPORTED) {   /* a family without the hook (a new one may add it) */
            CHECK_MSG(!accepts_hook(m), "%s refuses lin_setup: %s", nde_method_name(m), nde_solution_message(&sol));
            CHECK(strstr(nde_solution_message(&sol), "linear solver") != NULL);
            nde_solution_free(&sol);
            continue;
        }
        o.lin_setup = NULL; o.lin_solve = NULL;
        CHECK(nde_ode_solve(&ode, 0.0, 0.05, u0, &o, &ref) == NDE_OK);
        CHECK_MSG(rc == NDE_OK, "%s: %s", nde_method_name(m), nde_solution_message(&sol));
        if (rc == NDE_OK) {
            double d = max_diff(sol.y, ref.y, HD, 1e-3);
            printf("%-15s steps %4zu (dense LU %4zu)  nlu %4zu  setups %4zu  solves %5zu  CG iterations %6zu "
                   "(at most %zu)  difference %.1e\n", nde_method_name(m), sol.stats.steps, ref.stats.steps,
                   sol.stats.nlu, h.setups, h.solves, h.cg_iters, h.max_cg, d);
            CHECK_MSG(d < 1e-7, "%s: CG and dense LU differ by %g", nde_method_name(m), d);
            CHECK_EQ_INT(sol.stats.njac, 0);
            CHECK(ref.stats.njac > 0);
            CHECK_EQ_INT(sol.stats.nlu, h.setups);
            CHECK(h.solves > 0);
            ran += (size_t)accepts_hook(m);
        }
        nde_solution_free(&sol);
        nde_solution_free(&ref);
    }
    CHECK_EQ_INT(ran, N_TAKERS);
}

/* The IMEX split: kencarp* treat L implicitly and -u^3 explicitly, the caller's CG
 * solves I - gamma_h L. */
static void test_cg_imex(void)
{
    static heat h;
    memset(&h, 0, sizeof h);
    h.inv_dx2 = (G + 1.0) * (G + 1.0);
    h.imex = 1;
    double u0[HD];
    heat_y0(u0);
    static const char *const ark[] = { "kencarp3", "kencarp4", "kencarp5" };
    for (size_t i = 0; i < 3; i++) {
        nde_ode ode = { .dim = HD, .f = heat_f, .jac = heat_jac, .f_explicit = heat_fe, .user = &h };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find(ark[i]);
        o.rtol = 1e-6; o.atol = 1e-8;
        nde_solution ref, sol;
        CHECK(nde_ode_solve(&ode, 0.0, 0.05, u0, &o, &ref) == NDE_OK);
        h.setups = 0;
        o.lin_setup = heat_setup; o.lin_solve = heat_solve; o.lin_user = &h;
        int rc = nde_ode_solve(&ode, 0.0, 0.05, u0, &o, &sol);
        CHECK_MSG(rc == NDE_OK, "%s (IMEX): %s", ark[i], nde_solution_message(&sol));
        if (rc == NDE_OK) {
            double d = max_diff(sol.y, ref.y, HD, 1e-3);
            printf("%-9s IMEX: steps %zu (dense LU %zu), nlu %zu, difference %.1e\n", ark[i], sol.stats.steps,
                   ref.stats.steps, sol.stats.nlu, d);
            CHECK_MSG(d < 1e-7, "%s (IMEX): CG and dense LU differ by %g", ark[i], d);
            CHECK_EQ_INT(sol.stats.njac, 0);
            CHECK_EQ_INT(sol.stats.nlu, h.setups);
        }
        nde_solution_free(&sol);
        nde_solution_free(&ref);
    }
}

/* ---- a caller's direct solver on Robertson (ODE and DAE) ------------------------------ */

typedef struct direct {
    const zoo_problem *p;
    const double *mass;          /* M of M y' = f, or NULL */
    double A[9];                 /* LU of M - gamma_h J, row-major, with pivots */
    int piv[3];
    size_t setups, solves, jac_calls;
    double last_gh;
    int setup_rc, solve_rc, solve_nan;   /* fault injection */
} direct;

static int direct_setup(double t, const double *y, double gamma_h, void *user)
{
    direct *d = user;
    d->setups++;
    d->last_gh = gamma_h;
    if (d->setup_rc) return d->setup_rc;
    double J[9];
    int rc = d->p->jac(t, y, J, d->p->user);
    if (rc) return rc;
    for (int k = 0; k < 9; k++) d->A[k] = (d->mass ? d->mass[k] : (k % 4 == 0)) - gamma_h * J[k];
    for (int c = 0; c < 3; c++) {   /* Gaussian elimination with partial pivoting */
        int pr = c;
        for (int r = c + 1; r < 3; r++)
            if (fabs(d->A[r * 3 + c]) > fabs(d->A[pr * 3 + c])) pr = r;
        d->piv[c] = pr;
        if (d->A[pr * 3 + c] == 0.0) return 1;   /* singular: retry smaller */
        for (int k = 0; k < 3; k++) {
            double s = d->A[c * 3 + k]; d->A[c * 3 + k] = d->A[pr * 3 + k]; d->A[pr * 3 + k] = s;
        }
        for (int r = c + 1; r < 3; r++) {
            double l = d->A[r * 3 + c] /= d->A[c * 3 + c];
            for (int k = c + 1; k < 3; k++) d->A[r * 3 + k] -= l * d->A[c * 3 + k];
        }
    }
    return 0;
}

static int direct_solve(double *x, void *user)
{
    direct *d = user;
    d->solves++;
    if (d->solve_rc) return d->solve_rc;
    if (d->solve_nan) { x[1] = NAN; return 0; }
    for (int c = 0; c < 3; c++) {
        double s = x[c]; x[c] = x[d->piv[c]]; x[d->piv[c]] = s;
        for (int r = c + 1; r < 3; r++) x[r] -= d->A[r * 3 + c] * x[c];
    }
    for (int c = 2; c >= 0; c--) {
        for (int k = c + 1; k < 3; k++) x[c] -= d->A[c * 3 + k] * x[k];
        x[c] /= d->A[c * 3 + c];
    }
    return 0;
}

/* The problem's Jacobian behind a counter: the library must not call it with the hook. */
static direct *counted;
static int counted_jac(double t, const double *y, double *J, void *user)
{
    counted->jac_calls++;
    return counted->p->jac(t, y, J, user);
}

static void robertson_case(const char *problem, const char *method)
{
    static direct d;
    memset(&d, 0, sizeof d);
    d.p = zoo_find(problem);
    d.mass = d.p->mass;
    counted = &d;
    double y0[3], y0_copy[3];
    zoo_y0(d.p, y0);
    memcpy(y0_copy, y0, sizeof y0);
    nde_ode ode = { .dim = 3, .f = d.p->f, .jac = counted_jac, .user = d.p->user, .mass = d.p->mass };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.rtol = 1e-7; o.atol = 1e-12;
    nde_solution ref, sol;
    CHECK(nde_ode_solve(&ode, d.p->t0, 1e5, y0, &o, &ref) == NDE_OK);
    size_t jac_ref = d.jac_calls;
    d.jac_calls = 0;
    o.lin_setup = direct_setup; o.lin_solve = direct_solve; o.lin_user = &d;
    int rc = nde_ode_solve(&ode, d.p->t0, 1e5, y0, &o, &sol);
    CHECK_MSG(rc == NDE_OK, "%s on %s: %s", method, problem, nde_solution_message(&sol));
    if (rc == NDE_OK) {
        double diff = max_diff(sol.y, ref.y, 3, 1e-10);
        printf("%-12s %-14s steps %4zu (dense LU %4zu)  nlu %4zu (%4zu)  njac %zu (%zu)  difference %.1e\n",
               problem, method, sol.stats.steps, ref.stats.steps, sol.stats.nlu, ref.stats.nlu, sol.stats.njac,
               jac_ref, diff);
        CHECK_MSG(diff < 1e-6, "%s on %s: the caller's solver and the dense LU differ by %g", method, problem, diff);
        /* the same arithmetic up to rounding: the same steps */
        CHECK_MSG(sol.stats.accepted <= ref.stats.accepted + ref.stats.accepted / 50 + 2 &&
                  ref.stats.accepted <= sol.stats.accepted + sol.stats.accepted / 50 + 2,
                  "%s on %s: %zu steps against %zu", method, problem, sol.stats.accepted, ref.stats.accepted);
        CHECK_EQ_INT(sol.stats.nlu, d.setups);
        CHECK(d.last_gh > 0.0);
        /* a DAE's consistency check forms one Jacobian (Rosenbrock); nothing else does */
        int dae_check = d.mass && nde_method_kind(o.method) == NDE_METHOD_ROSENBROCK;
        CHECK_EQ_INT(sol.stats.njac, dae_check ? 1 : 0);
        CHECK_EQ_INT(d.jac_calls, dae_check ? 1 : 0);
    }
    CHECK(memcmp(y0, y0_copy, sizeof y0) == 0);
    nde_solution_free(&sol);
    nde_solution_free(&ref);
}

static void test_direct_robertson(void)
{
    for (size_t i = 0; i < N_TAKERS; i++) robertson_case("robertson", takers[i]);
}

static void test_direct_robertson_dae(void)
{
    static const char *const mass_takers[] = { "ros3p", "rodas4", "rodas5p", "bdf" };
    for (size_t i = 0; i < 4; i++) robertson_case("robertson_dae", mass_takers[i]);
}

/* ---- backwards in time: gamma_h < 0 -----------------------------------------------------
 * Prothero-Robinson y' = L (y - cos t) - sin t with L = +1e3, solved from t = 1 back
 * to 0: stiff and stable backwards, y = cos t. A = 1 - gamma_h L; a sign error in
 * gamma_h would make A = 1 + |gamma_h| L's wrong twin, 1 - |gamma_h| L. */
#define PR_L 1e3
typedef struct pr_user { double a; size_t setups; int negative; } pr_user;
static int pr_f(double t, const double *y, double *dy, void *u)
{
    (void)u;
    dy[0] = PR_L * (y[0] - cos(t)) - sin(t);
    return 0;
}
static int pr_setup(double t, const double *y, double gamma_h, void *user)
{
    (void)t; (void)y;
    pr_user *p = user;
    p->setups++;
    p->negative &= gamma_h < 0.0;
    p->a = 1.0 - gamma_h * PR_L;
    return p->a == 0.0 ? 1 : 0;
}
static int pr_solve(double *x, void *user)
{
    x[0] /= ((pr_user *)user)->a;
    return 0;
}

static void test_backward(void)
{
    for (size_t i = 0; i < N_TAKERS; i++) {
        nde_ode ode = { .dim = 1, .f = pr_f };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find(takers[i]);
        o.rtol = 1e-6; o.atol = 1e-9;
        double y1 = cos(1.0);
        nde_solution ref, sol;
        CHECK(nde_ode_solve(&ode, 1.0, 0.0, &y1, &o, &ref) == NDE_OK);
        pr_user p = { 0.0, 0, 1 };
        o.lin_setup = pr_setup; o.lin_solve = pr_solve; o.lin_user = &p;
        int rc = nde_ode_solve(&ode, 1.0, 0.0, &y1, &o, &sol);
        CHECK_MSG(rc == NDE_OK, "%s backwards: %s", takers[i], nde_solution_message(&sol));
        if (rc == NDE_OK) {
            CHECK_MSG(fabs(sol.y[0] - 1.0) < 1e-4, "%s backwards: y(0) = %.10g", takers[i], sol.y[0]);
            CHECK_MSG(fabs(sol.y[0] - ref.y[0]) < 1e-9, "%s backwards: %.12g against %.12g", takers[i], sol.y[0],
                      ref.y[0]);
            CHECK(p.setups > 0 && p.negative);
            CHECK_EQ_INT(sol.stats.njac, 0);
        }
        nde_solution_free(&sol);
        nde_solution_free(&ref);
    }
}

/* ---- matrix-free in a dimension no dense matrix fits ----------------------------------
 * The 1-D heat equation u' = L u on N = 10^5 interior points (u = 0 at both ends), u0 =
 * sin(pi x): u(t) = e^(lambda t) u0 with L's eigenvalue lambda = -(4/dx^2) sin^2(pi dx/2).
 * The caller solves the tridiagonal I - gamma_h L by the Thomas algorithm. A dense
 * iteration matrix would take N^2 doubles (80 GB): the solver must allocate O(N). */
#define N1 100000

typedef struct tri {
    double inv_dx2, gh;
    double *c;   /* N1: the eliminated superdiagonal of the last setup */
    double *m;   /* N1: the eliminated diagonal's inverses */
} tri;

static int tri_f(double t, const double *u, double *du, void *user)
{
    (void)t;
    const tri *h = user;
    for (size_t i = 0; i < N1; i++) {
        double s = -2.0 * u[i];
        if (i > 0) s += u[i - 1];
        if (i + 1 < N1) s += u[i + 1];
        du[i] = h->inv_dx2 * s;
    }
    return 0;
}

static int tri_setup(double t, const double *y, double gamma_h, void *user)
{
    (void)t; (void)y;
    tri *h = user;
    double a = 1.0 + 2.0 * gamma_h * h->inv_dx2, b = -gamma_h * h->inv_dx2, c_prev = 0.0;
    for (size_t i = 0; i < N1; i++) {   /* diagonally dominant for gamma_h > 0: no pivoting */
        double d = a - b * c_prev;
        if (d == 0.0) return 1;
        h->m[i] = 1.0 / d;
        h->c[i] = c_prev = b / d;
    }
    h->gh = gamma_h;
    return 0;
}

static int tri_solve(double *x, void *user)
{
    const tri *h = user;
    double b = -h->gh * h->inv_dx2;
    x[0] *= h->m[0];
    for (size_t i = 1; i < N1; i++) x[i] = (x[i] - b * x[i - 1]) * h->m[i];
    for (size_t i = N1 - 1; i-- > 0;) x[i] -= h->c[i] * x[i + 1];
    return 0;
}

static void test_matrix_free_large(void)
{
    const double pi = acos(-1.0), dx = 1.0 / (N1 + 1), t1 = 0.1;
    const double lambda = -4.0 / (dx * dx) * pow(sin(0.5 * pi * dx), 2.0);
    tri h = { 1.0 / (dx * dx), 0.0, malloc(N1 * sizeof(double)), malloc(N1 * sizeof(double)) };
    double *u0 = malloc(N1 * sizeof *u0);
    CHECK(h.c && h.m && u0);
    if (!h.c || !h.m || !u0) { free(h.c); free(h.m); free(u0); return; }
    for (size_t i = 0; i < N1; i++) u0[i] = sin(pi * (double)(i + 1) * dx);
    static const char *const methods[] = { "kvaerno5", "kencarp5", "rodas5p", "rodas4", "bdf" };
    for (size_t k = 0; k < 5; k++) {
        test_alloc ta;
        test_alloc_init(&ta);
        nde_ode ode = { .dim = N1, .f = tri_f, .user = &h };
        nde_options o = NDE_OPTIONS_INIT;
        o.method = nde_method_find(methods[k]);
        o.rtol = 1e-6; o.atol = 1e-9;
        o.autonomous = 1;
        o.allocator = &ta.a;
        o.lin_setup = tri_setup; o.lin_solve = tri_solve; o.lin_user = &h;
        nde_solver *s = nde_solver_create(&ode, &o);
        CHECK_MSG(s != NULL, "%s: create failed", methods[k]);
        if (!s) continue;
        size_t bytes = ta.live_bytes;
        /* linear in dim (the loop's vectors and the stepper's stages: about 90 doubles per
         * component here), 1000 times below one dense matrix */
        CHECK_MSG(bytes < 200 * N1 * sizeof(double), "%s: %zu bytes for dim %d", methods[k], bytes, N1);
        int rc = nde_solver_solve(s, 0.0, t1, u0);
        const nde_solution *sol = nde_solver_solution(s);
        CHECK_MSG(rc == NDE_OK, "%s: %s", methods[k], nde_solver_message(s));
        if (rc == NDE_OK) {
            double e = exp(lambda * t1), err = 0.0;
            for (size_t i = 0; i < N1; i++) err = fmax(err, fabs(sol->y[i] - e * u0[i]));
            printf("%-9s dim %d: %zu bytes (%.1f doubles per component), %zu steps, nlu %zu, njac %zu, "
                   "error %.1e\n", methods[k], N1, bytes, (double)bytes / (N1 * sizeof(double)), sol->stats.steps,
                   sol->stats.nlu, sol->stats.njac, err);
            CHECK_MSG(err < 2e-5, "%s: error %g", methods[k], err);
            CHECK_EQ_INT(sol->stats.njac, 0);
        }
        nde_solver_free(s);
        CHECK_EQ_INT(ta.live, 0);
    }
    free(h.c);
    free(h.m);
    free(u0);
}

/* The layouts without matrices under fault injection: failing the k-th allocation of
 * create fails it cleanly (NULL, nothing left allocated), for every k. */
static void test_alloc_failures(void)
{
    static direct d;
    memset(&d, 0, sizeof d);
    d.p = zoo_find("robertson_dae");
    d.mass = d.p->mass;
    double y0[3];
    zoo_y0(d.p, y0);
    static const char *const methods[] = { "kvaerno5", "kencarp4", "rodas5p", "bdf" };
    for (size_t k = 0; k < 4; k++)
        for (int with_mass = 0; with_mass < 2; with_mass++) {
            if (with_mass && nde_method_kind(nde_method_find(methods[k])) == NDE_METHOD_IMPLICIT_RK) continue;
            const zoo_problem *p = zoo_find(with_mass ? "robertson_dae" : "robertson");
            d.p = p;
            d.mass = p->mass;
            nde_ode ode = { .dim = 3, .f = p->f, .user = p->user, .mass = p->mass };
            test_alloc ta;
            test_alloc_init(&ta);
            nde_options o = NDE_OPTIONS_INIT;
            o.method = nde_method_find(methods[k]);
            o.allocator = &ta.a;
            o.lin_setup = direct_setup; o.lin_solve = direct_solve; o.lin_user = &d;
            nde_solver *s = nde_solver_create(&ode, &o);
            CHECK(s != NULL);
            size_t calls = ta.calls;
            CHECK(s && nde_solver_solve(s, 0.0, 1.0, y0) == NDE_OK);
            nde_solver_free(s);
            CHECK_EQ_INT(ta.live, 0);
            for (size_t n = 1; n <= calls; n++) {
                test_alloc_init(&ta);
                ta.fail_at = n;
                s = nde_solver_create(&ode, &o);
                CHECK_MSG(s == NULL, "%s: create survived failing allocation %zu of %zu", methods[k], n, calls);
                nde_solver_free(s);
                CHECK_EQ_INT(ta.live, 0);
            }
        }
}

/* ---- failures ------------------------------------------------------------------------ */

static int fails_with(const char *method, int setup_rc, int solve_rc, int solve_nan, int status, const char *what)
{
    static direct d;
    memset(&d, 0, sizeof d);
    d.p = zoo_find("robertson");
    d.setup_rc = setup_rc; d.solve_rc = solve_rc; d.solve_nan = solve_nan;
    double y0[3];
    zoo_y0(d.p, y0);
    nde_ode ode = { .dim = 3, .f = d.p->f, .jac = d.p->jac, .user = d.p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find(method);
    o.lin_setup = direct_setup; o.lin_solve = direct_solve; o.lin_user = &d;
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, 1e5, y0, &o, &sol);
    const char *msg = nde_solution_message(&sol);
    int ok = rc == status && strstr(msg, what) != NULL && sol.stats.steps < 100;
    CHECK_MSG(ok, "%s (setup %d, solve %d, nan %d): %d (%s) after %zu steps, expected %d and '%s'", method, setup_rc,
              solve_rc, solve_nan, rc, msg, sol.stats.steps, status, what);
    nde_solution_free(&sol);
    return ok;
}

static void test_callback_errors(void)
{
    static const char *const some[] = { "kvaerno5", "kencarp4", "rodas5p", "ros3p", "bdf" };
    for (size_t i = 0; i < 5; i++) {
        fails_with(some[i], -7, 0, 0, NDE_ECALLBACK, "lin_setup) returned an error");
        fails_with(some[i], 0, -2, 0, NDE_ECALLBACK, "lin_solve) returned an error");
        fails_with(some[i], 3, 0, 0, NDE_ENONLINEAR, "lin_setup) asked for a smaller step");
        fails_with(some[i], 0, 1, 0, NDE_ENONLINEAR, "lin_solve) asked for a smaller step");
        fails_with(some[i], 0, 0, 1, NDE_ENONLINEAR, "lin_solve) wrote a non-finite value");
    }
}

static void test_bad_options(void)
{
    static direct d;
    memset(&d, 0, sizeof d);
    d.p = zoo_find("robertson");
    double y0[3];
    zoo_y0(d.p, y0);
    nde_ode ode = { .dim = 3, .f = d.p->f, .user = d.p->user };
    nde_options o = NDE_OPTIONS_INIT;
    o.method = nde_method_find("rodas5p");
    nde_solution sol;
    o.lin_setup = direct_setup; o.lin_user = &d;   /* solve missing */
    CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "together") != NULL);
    nde_solution_free(&sol);
    o.lin_setup = NULL; o.lin_solve = direct_solve;
    CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    nde_solution_free(&sol);
    o.lin_setup = direct_setup;
    o.jac_lower = o.jac_upper = 1;
    CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol) == NDE_EINVAL);
    CHECK(strstr(nde_solution_message(&sol), "banded") != NULL);
    nde_solution_free(&sol);
    o.jac_lower = o.jac_upper = 0;
    static const char *const refusers[] = { "radau5", "auto", "tsit5", "gbs" };
    for (size_t i = 0; i < 4; i++) {
        o.method = nde_method_find(refusers[i]);
        CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &sol) == NDE_EUNSUPPORTED);
        CHECK(strstr(nde_solution_message(&sol), refusers[i]) != NULL);
        nde_solution_free(&sol);
    }
    CHECK_EQ_INT(d.setups, 0);
}

int main(void)
{
    RUN(test_cg_matches_dense_lu);
    RUN(test_cg_imex);
    RUN(test_direct_robertson);
    RUN(test_direct_robertson_dae);
    RUN(test_backward);
    RUN(test_matrix_free_large);
    RUN(test_alloc_failures);
    RUN(test_callback_errors);
    RUN(test_bad_options);
    return test_summary();
}
