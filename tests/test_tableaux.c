/* Conformance battery over every registered explicit Runge-Kutta method
 * (src/ode/tableaux.c), so that a new table is checked the day it is added.
 *
 * Order conditions come from rooted trees (Butcher; Hairer, Norsett & Wanner I, sec.
 * II.2): all 1205 trees with at most 10 nodes are enumerated, and for each tree t a
 * weight vector b satisfies the condition of t when
 *     Phi(t) = sum_i b_i g_i(t) = 1 / gamma(t),
 *     g_i(leaf) = 1,  g_i([t_1, ..., t_m]) = prod_k (sum_j a_ij g_j(t_k)),
 *     gamma(leaf) = 1, gamma([t_1, ..., t_m]) = |t| prod_k gamma(t_k).
 * A residual r is accepted when |r| <= REL_TOL * scale, with scale the sum of the
 * magnitudes of the terms (sum_i |b_i| g~_i(t), g~ computed with |a|), i.e. a bound on
 * the rounding of the sum; a condition "fails" when |r| > FAIL_FACTOR * REL_TOL * scale.
 *
 *   b          satisfies every condition up to `order` and fails one of order + 1;
 *   bhat = b - e  satisfies up to `embedded_order` and fails one of embedded_order + 1.
 *              DOP853 (NDE__ERR_DOP853) is the exception: its embedded_order (7) sets
 *              the controller exponent 1/8, while its two estimators are differences
 *              with a 5th-order (b - e) and a 3rd-order (b - e3) solution, checked as such;
 *   dense output: sum_j theta^j dense_b[j-1] equals b at theta = 1, and its weights
 *              b_i(theta) satisfy Phi(t) = theta^|t| / gamma(t) for all trees up to
 *              dense_order (on the extended tableau with the extra dense stages) at
 *              several theta, failing one of dense_order + 1 at some theta;
 *   structure: a strictly lower triangular, c_i = sum_j a_ij (also for the extra dense
 *              stages), FSAL rows, a first extra stage reused from the end slot is
 *              f(t1, y1), field consistency, registry order;
 *   accessors: nde_method_find / name / order / ... / count / at;
 *   laziness:  the extra dense stages cost evaluations only with dense output, and
 *              f(t1, y1) is not evaluated twice (dense_end_first). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"
#include "ode/erk.h"

#define MAX_ORDER 10         /* trees up to this order: vern9 (order 9) needs 10 */
#define N_TREES 1205         /* rooted trees with 1..10 nodes: 1+1+2+4+9+20+48+115+286+719 */
#define MAX_KIDS (MAX_ORDER - 1)
#define MS NDE__MAX_STAGES

#define REL_TOL 1e-13        /* accepted residual, relative to the sum of |terms| */
#define FAIL_FACTOR 1e2      /* a "failed" condition is 100 x beyond that tolerance (in
                                vern6's interpolant, coefficients up to 1e5 make it loose:
                                its order-7 residual, 1e-4, is 519 x the tolerance) */
#define ROWSUM_TOL 1e-15     /* |c_i - sum_j a_ij| relative to 1 + sum_j |a_ij| */
#define DOP853_ORDER_E 5     /* b - e of DOP853 (dop853.f "er") is a 5th-order solution */
#define DOP853_ORDER_E3 3    /* b - e3 = bhh of DOP853 is a 3rd-order solution */

/* ---- rooted trees -------------------------------------------------------------- */

typedef struct { int order, n_kids, kid[MAX_KIDS]; double gamma; } tree;
typedef struct {
    tree t[N_TREES];
    int n;
    int start[MAX_ORDER + 2];    /* trees of order p: indices start[p] .. start[p+1]-1 */
} forest;

static forest trees;

/* Adds every multiset of children (indices non-increasing, so each multiset once)
 * whose orders sum to rem, to make trees of order `order`. */
static void grow(int order, int rem, int max_idx, int *kids, int n_kids)
{
    if (rem == 0) {
        tree *t = &trees.t[trees.n++];
        t->order = order;
        t->n_kids = n_kids;
        t->gamma = order;
        for (int k = 0; k < n_kids; k++) {
            t->kid[k] = kids[k];
            t->gamma *= trees.t[kids[k]].gamma;
        }
        return;
    }
    for (int i = max_idx; i >= 0; i--) {
        if (trees.t[i].order > rem) continue;
        kids[n_kids] = i;
        grow(order, rem - trees.t[i].order, i, kids, n_kids + 1);
    }
}

static void build_trees(void)
{
    int kids[MAX_KIDS];
    trees.n = 0;
    trees.start[0] = trees.start[1] = 0;
    for (int p = 1; p <= MAX_ORDER; p++) {
        trees.start[p] = trees.n;
        grow(p, p - 1, trees.start[p] - 1, kids, 0);
    }
    trees.start[MAX_ORDER + 1] = trees.n;
}

/* ---- elementary weights ----------------------------------------------------------- */

/* A tableau's stage weights g_i(t) for every tree, and g~ computed with |a|. */
typedef struct { double g[N_TREES][MS], gabs[N_TREES][MS]; } weights;
static weights W;

static void stage_weights(const double *a, int s, weights *w)
{
    for (int t = 0; t < trees.n; t++) {
        for (int i = 0; i < s; i++) { w->g[t][i] = 1.0; w->gabs[t][i] = 1.0; }
        for (int k = 0; k < trees.t[t].n_kids; k++) {
            int u = trees.t[t].kid[k];
            for (int i = 0; i < s; i++) {
                double sum = 0, sabs = 0;
                for (int j = 0; j < i; j++) {
                    sum += a[i * s + j] * w->g[u][j];
                    sabs += fabs(a[i * s + j]) * w->gabs[u][j];
                }
                w->g[t][i] *= sum;
                w->gabs[t][i] *= sabs;
            }
        }
    }
}

/* Worst condition among trees of order p for weights bw (bwabs: bound on |bw_i|):
 * *abs_res = max |r|, return max |r| / (REL_TOL * scale). */
static double order_residual(const weights *w, int s, const double *bw, const double *bwabs,
                             int p, double theta, double *abs_res)
{
    double worst = 0, worst_abs = 0, tp = pow(theta, p);
    for (int t = trees.start[p]; t < trees.start[p + 1]; t++) {
        double phi = 0, scale = tp / trees.t[t].gamma;
        for (int i = 0; i < s; i++) {
            phi += bw[i] * w->g[t][i];
            scale += bwabs[i] * w->gabs[t][i];
        }
        double r = fabs(phi - tp / trees.t[t].gamma);
        double ratio = r / (REL_TOL * scale);
        if (!(ratio <= worst)) worst = ratio;   /* NaN counts as worst */
        if (!(r <= worst_abs)) worst_abs = r;
    }
    *abs_res = worst_abs;
    return worst;
}

/* Largest residual / tolerance ratio met by check_order since it was last reset:
 * printed to show the margin under the tolerance. */
static double worst_ratio;

/* Checks that bw satisfies all conditions of order <= p (and fails one of p + 1 when
 * exact). Returns the largest |r| of orders <= p; *next gets the largest of p + 1. */
static double check_order(const nde_method *m, const char *what, const weights *w, int s,
                          const double *bw, const double *bwabs, int p, double theta,
                          int exact, double *next)
{
    double max_abs = 0, r;
    for (int q = 1; q <= p; q++) {
        double ratio = order_residual(w, s, bw, bwabs, q, theta, &r);
        CHECK_MSG(ratio <= 1.0, "%s: %s violates an order-%d condition at theta %g "
                  "(|r| %.3g, %.3g x tolerance)", m->name, what, q, theta, r, ratio);
        if (r > max_abs) max_abs = r;
        if (!(ratio <= worst_ratio)) worst_ratio = ratio;
    }
    *next = 0;
    if (p + 1 <= MAX_ORDER) {
        double ratio = order_residual(w, s, bw, bwabs, p + 1, theta, next);
        if (exact)
            CHECK_MSG(ratio > FAIL_FACTOR, "%s: %s also satisfies every order-%d condition "
                      "(worst |r| %.3g): its order is understated", m->name, what, p + 1, *next);
    }
    return max_abs;
}

static void absv(const double *x, double *y, int n)
{
    for (int i = 0; i < n; i++) y[i] = fabs(x[i]);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_tree_enumeration(void)
{
    static const int count[MAX_ORDER + 1] = { 0, 1, 1, 2, 4, 9, 20, 48, 115, 286, 719 }; /* A000081 */
    CHECK_EQ_INT(trees.n, N_TREES);
    for (int p = 1; p <= MAX_ORDER; p++)
        CHECK_EQ_INT(trees.start[p + 1] - trees.start[p], count[p]);
    /* extreme densities: the bushy tree has gamma = p, the tall tree gamma = p! */
    for (int p = 1; p <= MAX_ORDER; p++) {
        double gmin = 1e300, gmax = 0, fact = 1;
        for (int q = 2; q <= p; q++) fact *= q;
        for (int t = trees.start[p]; t < trees.start[p + 1]; t++) {
            if (trees.t[t].gamma < gmin) gmin = trees.t[t].gamma;
            if (trees.t[t].gamma > gmax) gmax = trees.t[t].gamma;
        }
        CHECK_NEAR(gmin, (double)p, 0);     /* bushy tree [leaf^(p-1)] */
        CHECK_NEAR(gmax, fact, 0);          /* tall tree: gamma = p! */
    }
}

static void test_structure(void)
{
    CHECK(nde__n_methods > 0);
    for (size_t k = 0; k < nde__n_methods; k++) {
        const nde_method *m = nde__methods[k];
        const nde__erk_tableau *tab = nde__erk_tab(m);
        if (!tab) continue;   /* other families have their own order tests */
        const int s = m->stages;
        CHECK(m->name && m->name[0] && m->description && m->description[0]);
        for (const char *p = m->name; p && *p; p++)
            CHECK_MSG((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_',
                      "%s: method names are lower case", m->name);
        for (size_t l = 0; l < k; l++)
            CHECK_MSG(strcmp(nde__methods[l]->name, m->name) != 0, "%s registered twice", m->name);
        if (k > 0)
            CHECK_MSG(nde__methods[k - 1]->order <= m->order,
                      "%s: registry not ordered by increasing order", m->name);
        CHECK(s >= 1 && s <= MS);
        CHECK(m->order >= 1 && m->order < MAX_ORDER);
        CHECK(tab->c && tab->a && tab->b);
        if (!(s >= 1 && s <= MS && tab->c && tab->a && tab->b)) continue;
        CHECK_NEAR(tab->c[0], 0.0, 0.0);
        for (int i = 0; i < s; i++) {
            double sum = 0, sabs = 0;
            for (int j = 0; j < s; j++) {
                if (j >= i)
                    CHECK_MSG(tab->a[i * s + j] == 0.0, "%s: a[%d][%d] = %g above the diagonal",
                              m->name, i, j, tab->a[i * s + j]);
                sum += tab->a[i * s + j];
                sabs += fabs(tab->a[i * s + j]);
            }
            CHECK_MSG(fabs(tab->c[i] - sum) <= ROWSUM_TOL * (1 + sabs),
                      "%s: c[%d] = %.17g but row sum %.17g", m->name, i, tab->c[i], sum);
        }
        /* error estimate */
        switch (tab->error_kind) {
        case NDE__ERR_NONE:
            CHECK(m->embedded_order == 0 && tab->e == NULL && tab->e3 == NULL);
            break;
        case NDE__ERR_PLAIN:
            CHECK(m->embedded_order >= 1 && m->embedded_order < m->order && tab->e && !tab->e3);
            break;
        case NDE__ERR_DOP853:
            CHECK(m->embedded_order >= 1 && tab->e && tab->e3);
            break;
        default:
            CHECK_MSG(0, "%s: unknown error_kind %d", m->name, tab->error_kind);
        }
        /* FSAL: the last stage is f(t + h, y1) */
        if (m->fsal) {
            CHECK_MSG(s >= 2 && tab->c[s - 1] == 1.0, "%s: FSAL needs c_last = 1", m->name);
            CHECK_MSG(tab->b[s - 1] == 0.0, "%s: FSAL stage must not enter y1", m->name);
            for (int j = 0; j < s; j++)
                CHECK_MSG(tab->a[(s - 1) * s + j] == tab->b[j], "%s: FSAL row a[%d][%d] = %.17g != "
                          "b[%d] = %.17g", m->name, s - 1, j, tab->a[(s - 1) * s + j], j, tab->b[j]);
        }
        /* dense output fields */
        if (tab->dense_b) {
            CHECK(tab->dense_stages >= s && tab->dense_stages <= MS);
            CHECK(tab->dense_degree >= 1 && m->dense_order >= 1 && m->dense_order <= tab->dense_degree);
            int extra = tab->dense_stages - s;
            CHECK((extra > 0) == (tab->dense_c != NULL) && (extra > 0) == (tab->dense_a != NULL));
            if (extra > 0 && tab->dense_c && tab->dense_a && tab->dense_stages <= MS) {
                int ds = tab->dense_stages;
                for (int i = s; i < ds; i++) {
                    double sum = 0, sabs = 0;
                    for (int j = 0; j < ds; j++) {
                        double aij = tab->dense_a[(i - s) * ds + j];
                        if (j >= i)
                            CHECK_MSG(aij == 0.0, "%s: dense_a row %d col %d above the diagonal",
                                      m->name, i, j);
                        sum += aij;
                        sabs += fabs(aij);
                    }
                    CHECK_MSG(fabs(tab->dense_c[i - s] - sum) <= ROWSUM_TOL * (1 + sabs),
                              "%s: dense_c[%d] = %.17g but row sum %.17g", m->name, i - s,
                              tab->dense_c[i - s], sum);
                }
                /* a first extra stage that the engine takes from the end slot must be
                 * f(t + h, y1) exactly: c = 1, row b, and a method that is not FSAL */
                int is_end = !m->fsal && tab->dense_c[0] == 1.0;
                for (int j = 0; j < ds && is_end; j++)
                    is_end = tab->dense_a[j] == (j < s ? tab->b[j] : 0.0);
                CHECK_MSG(!is_end || tab->dense_end_first, "%s: the first extra stage is "
                          "f(t1, y1): mark it dense_end_first, or it is evaluated twice", m->name);
                if (tab->dense_end_first) {
                    CHECK_MSG(!m->fsal && tab->dense_c[0] == 1.0, "%s: dense_end_first needs a "
                              "non-FSAL method and c = 1", m->name);
                    for (int j = 0; j < ds; j++)
                        CHECK_MSG(tab->dense_a[j] == (j < s ? tab->b[j] : 0.0),
                                  "%s: dense_end_first row differs from b at %d", m->name, j);
                }
            }
            CHECK(extra > 0 || !tab->dense_end_first);
        } else {
            CHECK_MSG(m->dense_order == 0 && tab->dense_degree == 0 && !tab->dense_c && !tab->dense_a,
                      "%s: Hermite dense output (dense_b NULL) needs dense_order 0", m->name);
        }
    }
}

static void test_order_conditions(void)
{
    printf("  %-9s %5s %10s %10s   %-20s %10s %10s  (worst |r| / tolerance)\n", "method",
           "order", "max|r|", "|r| p+1", "embedded", "max|r|", "|r| p+1");
    for (size_t k = 0; k < nde__n_methods; k++) {
        const nde_method *m = nde__methods[k];
        const nde__erk_tableau *tab = nde__erk_tab(m);
        if (!tab) continue;   /* other families have their own order tests */
        const int s = m->stages;
        double babs[MS], next;
        if (s < 1 || s > MS) continue;
        stage_weights(tab->a, s, &W);
        absv(tab->b, babs, s);
        worst_ratio = 0;
        double r = check_order(m, "b", &W, s, tab->b, babs, m->order, 1.0, 1, &next);
        printf("  %-9s %5d %10.2e %10.2e", m->name, m->order, r, next);

        if (tab->error_kind == NDE__ERR_PLAIN && tab->e) {
            double bh[MS], bhabs[MS];
            for (int i = 0; i < s; i++) { bh[i] = tab->b[i] - tab->e[i]; bhabs[i] = babs[i] + fabs(tab->e[i]); }
            double re = check_order(m, "b - e", &W, s, bh, bhabs, m->embedded_order, 1.0, 1, &next);
            printf("   b-e (%d)%-13s %10.2e %10.2e  (%.1e)\n", m->embedded_order, "", re, next,
                   worst_ratio);
        } else if (tab->error_kind == NDE__ERR_DOP853 && tab->e && tab->e3) {
            double bh[MS], bhabs[MS], bh3[MS], bh3abs[MS], next3;
            for (int i = 0; i < s; i++) {
                bh[i] = tab->b[i] - tab->e[i];   bhabs[i] = babs[i] + fabs(tab->e[i]);
                bh3[i] = tab->b[i] - tab->e3[i]; bh3abs[i] = babs[i] + fabs(tab->e3[i]);
            }
            double r5 = check_order(m, "b - e (DOP853, 5th order)", &W, s, bh, bhabs,
                                    DOP853_ORDER_E, 1.0, 1, &next);
            double r3 = check_order(m, "b - e3 (DOP853, 3rd order)", &W, s, bh3, bh3abs,
                                    DOP853_ORDER_E3, 1.0, 1, &next3);
            printf("   %-20s %10.2e %10.2e  (%.1e)\n", "b-e (5)", r5, next, worst_ratio);
            printf("  %-9s %5s %10s %10s   %-20s %10.2e %10.2e\n", "", "", "", "", "b-e3 (3)",
                   r3, next3);
        } else {
            printf("   %-20s %10s %10s  (%.1e)\n", "none", "", "", worst_ratio);
        }
    }
}

static void test_dense_output(void)
{
    static const double thetas[] = { 0.1, 1.0 / 3.0, 0.5, 0.7, 0.9, 1.0 };
    const int n_theta = (int)(sizeof thetas / sizeof thetas[0]);
    static double ext[MS * MS];
    printf("  %-9s %5s %12s %10s %10s  (worst |r| / tolerance)\n", "method", "order",
           "|b(1) - b|", "max|r|", "|r| p+1");
    for (size_t k = 0; k < nde__n_methods; k++) {
        const nde_method *m = nde__methods[k];
        const nde__erk_tableau *tab = nde__erk_tab(m);
        if (!tab) continue;   /* other families have their own order tests */
        if (!tab->dense_b) {
            printf("  %-9s %5s  cubic Hermite\n", m->name, "3");
            continue;
        }
        const int s = m->stages, ds = tab->dense_stages, deg = tab->dense_degree;
        if (ds < s || ds > MS || (ds > s && (!tab->dense_a || !tab->dense_c))) continue;
        /* continuity at the step end: sum_j dense_b[j-1] == b (0 for extra stages) */
        double cont = 0;
        for (int i = 0; i < ds; i++) {
            double sum = 0, sabs = 0;
            for (int j = 0; j < deg; j++) {
                sum += tab->dense_b[j * ds + i];
                sabs += fabs(tab->dense_b[j * ds + i]);
            }
            double bi = i < s ? tab->b[i] : 0.0;
            CHECK_MSG(fabs(sum - bi) <= REL_TOL * (1 + sabs), "%s: b_%d(1) = %.17g != b = %.17g",
                      m->name, i, sum, bi);
            if (fabs(sum - bi) > cont) cont = fabs(sum - bi);
        }
        /* the extended tableau: stages, then the extra dense stages */
        memset(ext, 0, sizeof ext);
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) ext[i * ds + j] = tab->a[i * s + j];
        for (int i = s; i < ds; i++)
            for (int j = 0; j < ds; j++) ext[i * ds + j] = tab->dense_a[(i - s) * ds + j];
        stage_weights(ext, ds, &W);
        worst_ratio = 0;
        double worst = 0, worst_next = 0;
        int fails_next = 0;
        for (int q = 0; q < n_theta; q++) {
            double th = thetas[q], bw[MS], bwabs[MS], next, r;
            for (int i = 0; i < ds; i++) {
                double v = 0, va = 0, tp = 1;
                for (int j = 0; j < deg; j++) {
                    tp *= th;
                    v += tp * tab->dense_b[j * ds + i];
                    va += tp * fabs(tab->dense_b[j * ds + i]);
                }
                bw[i] = v;
                bwabs[i] = va;
            }
            r = check_order(m, "dense output", &W, ds, bw, bwabs, m->dense_order, th, 0, &next);
            if (r > worst) worst = r;
            if (next > worst_next) worst_next = next;
            if (m->dense_order + 1 <= MAX_ORDER) {
                double ratio = order_residual(&W, ds, bw, bwabs, m->dense_order + 1, th, &next);
                if (ratio > FAIL_FACTOR) fails_next = 1;
            }
        }
        CHECK_MSG(fails_next, "%s: the interpolant satisfies every order-%d condition at every "
                  "theta tested: dense_order is understated", m->name, m->dense_order + 1);
        printf("  %-9s %5d %12.2e %10.2e %10.2e  (%.1e)\n", m->name, m->dense_order, cont, worst,
               worst_next, worst_ratio);
    }
}

static void test_accessors(void)
{
    CHECK_EQ_INT(nde_method_count(), nde__n_methods);
    CHECK(nde_method_at(nde_method_count()) == NULL);
    CHECK(nde_method_at((size_t)-1) == NULL);
    for (size_t k = 0; k < nde_method_count(); k++) {
        const nde_method *m = nde_method_at(k);
        CHECK(m == nde__methods[k]);
        if (!m) continue;
        CHECK(nde_method_find(nde_method_name(m)) == m);
        CHECK(strcmp(nde_method_name(m), m->name) == 0);
        CHECK(nde_method_description(m) == m->description);
        CHECK_EQ_INT(nde_method_order(m), m->order);
        CHECK_EQ_INT(nde_method_embedded_order(m), m->embedded_order);
        CHECK_EQ_INT(nde_method_stages(m), m->stages);
        CHECK_EQ_INT(nde_method_is_fsal(m), m->fsal);
        CHECK_EQ_INT(nde_method_dense_order(m), m->dense_order);
    }
    /* the names DESIGN.md promises */
    static const char *const names[] = { "euler", "heun", "midpoint", "ralston", "bosh3",
                                         "dopri5", "tsit5", "dopri8" };
    static const int orders[] = { 1, 2, 2, 2, 3, 5, 5, 8 };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const nde_method *m = nde_method_find(names[i]);
        CHECK_MSG(m != NULL, "method %s not registered", names[i]);
        if (m) CHECK_EQ_INT(nde_method_order(m), orders[i]);
    }
    CHECK(nde_method_find(NULL) == NULL);
    CHECK(nde_method_find("") == NULL);
    CHECK(nde_method_find("no_such_method") == NULL);
    CHECK(nde_method_find("Tsit5") == NULL);     /* exact, lower-case match */
    CHECK(nde_method_find("tsit") == NULL);
    CHECK(nde_method_find("tsit5 ") == NULL);
    CHECK(nde_method_name(NULL) == NULL);
    CHECK(nde_method_description(NULL) == NULL);
    CHECK_EQ_INT(nde_method_order(NULL), 0);
    CHECK_EQ_INT(nde_method_embedded_order(NULL), 0);
    CHECK_EQ_INT(nde_method_stages(NULL), 0);
    CHECK_EQ_INT(nde_method_is_fsal(NULL), 0);
    CHECK_EQ_INT(nde_method_dense_order(NULL), 0);
}

/* The interpolant's extra stages are evaluated only on steps that need dense output,
 * and a first extra stage equal to f(t1, y1) (dense_end_first) is taken from the end
 * slot, not evaluated again: with constant steps, dense output costs exactly
 * (dense_stages - stages - dense_end_first) evaluations per step, plus f(t1, y1) of the
 * last step for a method that is not FSAL (otherwise evaluated only to continue). The
 * dense values match the step ends. */
static int rhs_osc(double t, const double *y, double *dy, void *u)
{ (void)t; (void)u; dy[0] = y[1]; dy[1] = -y[0]; return 0; }

static void test_lazy_dense_stages(void)
{
    nde_ode ode = { .dim = 2, .f = rhs_osc };
    const double y0[2] = { 1.0, 0.0 };
    for (size_t k = 0; k < nde__n_methods; k++) {
        const nde_method *m = nde__methods[k];
        const nde__erk_tableau *tab = nde__erk_tab(m);
        if (!tab || !tab->dense_b) continue;
        nde_options o = NDE_OPTIONS_INIT;
        o.method = m; o.rtol = 0.0; o.dt0 = 0.1;
        nde_solution plain, dense;
        CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &plain) == NDE_OK);
        o.save = NDE_SAVE_DENSE | NDE_SAVE_T1;
        CHECK(nde_ode_solve(&ode, 0.0, 1.0, y0, &o, &dense) == NDE_OK);
        size_t steps = plain.stats.accepted;
        size_t extra = (size_t)(tab->dense_stages - m->stages - tab->dense_end_first);
        size_t expect = plain.stats.nfe + steps * extra + (m->fsal ? 0 : 1);
        CHECK_MSG(steps == 10 && dense.stats.nfe == expect, "%s: %zu evaluations with dense "
                  "output, expected %zu (%zu without, %zu steps, %zu extra stages per step)",
                  m->name, dense.stats.nfe, expect, plain.stats.nfe, steps, extra);
        double y[2];
        CHECK(nde_solution_eval(&dense, 1.0, y) == NDE_OK);
        CHECK_MSG(fabs(y[0] - plain.y[0]) <= 1e-15 && fabs(y[1] - plain.y[1]) <= 1e-15,
                  "%s: dense output at t1 %.17g, step end %.17g", m->name, y[0], plain.y[0]);
        CHECK(nde_solution_eval(&dense, 0.55, y) == NDE_OK);
        CHECK_MSG(fabs(y[0] - cos(0.55)) <= 1e-6, "%s: dense output at 0.55: %.17g", m->name, y[0]);
        nde_solution_free(&plain);
        nde_solution_free(&dense);
    }
}

int main(void)
{
    build_trees();
    RUN(test_tree_enumeration);
    RUN(test_structure);
    RUN(test_order_conditions);
    RUN(test_dense_output);
    RUN(test_accessors);
    RUN(test_lazy_dense_stages);
    return test_summary();
}
