/* The diagonally implicit / IMEX Runge-Kutta engine (tables in dirk_tableaux.c, the
 * stage equations' Newton iteration in newton.c) as a stepper of the integrate loop.
 *
 * Stage i solves z = h gamma kI_i for the increment of its implicit term, Y_i = base_i + z
 * with base_i = y + h sum_{j<i} (ai_ij kI_j + ae_ij kE_j), and takes kI_i = z / (h gamma)
 * (not f(Y_i): the recovered value satisfies the stage equation the iteration solved,
 * where an evaluation would amplify the iteration's error by h gamma |J| on stiff
 * components; Hairer & Wanner IV.8). The explicit part is kE_i = fe(Y_i).
 *
 * Predictors (the Newton iteration's starting z): the stage's kI is predicted by linear
 * interpolation in c between the two earlier stages whose abscissae bracket c_i most
 * tightly, or the earlier stage nearest in c when none bracket it (no extrapolation:
 * stiff components vary too fast within a step for it to pay). This is Diffrax's idea
 * (a linear combination of previous stages, its devdocs/predictor_dirk.md), computed
 * once per method from c at init instead of stored as a table.
 *
 * Jacobians (nde__impl_newton): evaluated at the step's start the first time, then kept
 * across steps; re-evaluated at the next start after a step whose Newton rate exceeded
 * NDE__NEWTON_THETA_JAC, and at once (the same step retried) when an iteration with an
 * old Jacobian fails. A failure with a current Jacobian rejects the attempt as "retry
 * smaller" (st->why says why): the loop cuts h by factormin (0.2 by default, as for a
 * non-finite stage) and ends with NDE_ENONLINEAR after 20 such failures in a row.
 * Constant steps (rtol = 0) cannot shrink: there a failed chord iteration continues as
 * Newton's method with J at the iterate (NDE__NEWTON_CONSTANT_RESTARTS times at most).
 * The linear systems are dense LU (src/numerics), or the caller's linear solver
 * (nde_options.lin_setup / lin_solve: newton.c calls it instead, and no J is formed).
 *
 * FSAL: a stiffly accurate table (last ai row = b, c_{s-1} = 1) has Y_{s-1} = y1, so
 * kI_{s-1} starts the next step; with an explicit part, Y_{s-1} != y1 (the explicit
 * row is not b), and f and fe are evaluated at (s + h, y1). */
#include "implicit/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define DIRK_MAX_STAGES 8

typedef struct dirk_state {
    const nde__dirk_tableau *T;
    int s;
    int imex;                        /* the problem has f_explicit */
    int fsal;                        /* kI_{s-1} is f~(s + h, y1) */
    int k0_exact;                    /* kI[0] is an evaluation, not a recovered value */
    double h;                        /* the last attempt's step */
    double e[DIRK_MAX_STAGES];       /* b - bhat */
    int pred_j[DIRK_MAX_STAGES][2];  /* predictor: kI_i ~ w0 kI_j0 + w1 kI_j1 */
    double pred_w[DIRK_MAX_STAGES][2];
    nde__impl_newton nw;
    double *kI[DIRK_MAX_STAGES + 1]; /* slot s: the implicit f at (s + h, y1) when needed */
    double *kE[DIRK_MAX_STAGES + 1]; /* IMEX only; slot s likewise */
    double *f0;                      /* total f at the start (IMEX: kI_0 + kE_0) */
    double *base, *z, *fz, *dz, *winv, *ev, *f1;
} dirk_state;

double nde__dirk_hrho(const nde__int_stepper *st)
{
    const dirk_state *E = st->state;
    return E->nw.have_jac ? fabs(E->h) * E->nw.jnorm : NAN;
}

double *const *nde__dirk_stages(const nde__int_stepper *st)
{
    const dirk_state *E = st->state;
    return E->kI;
}

double *const *nde__dirk_explicit_stages(const nde__int_stepper *st)
{
    const dirk_state *E = st->state;
    return E->imex ? E->kE : NULL;
}

const nde__dirk_tableau *nde__dirk_tab(const nde_method *m)
{
    return m && (m->ops == &nde__dirk_ops || m->ops == &nde__dirk_imex_ops) ? (const nde__dirk_tableau *)m->tableau
                                                                            : NULL;
}

static size_t header_bytes(void)
{
    return (sizeof(dirk_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

/* vectors: kI (s + 1), kE (s + 1 for an ARK pair), f0, base, z, fz, dz, winv, ev, f1 */
static size_t n_vectors(const nde__dirk_tableau *T)
{
    return (size_t)(T->stages + 1) * (T->ae ? 2u : 1u) + 8u;
}

/* user_lin: the caller's linear solver (no matrices stored). */
static size_t dirk_bytes(const nde_method *m, size_t dim, int user_lin)
{
    const nde__dirk_tableau *T = nde__dirk_tab(m);
    size_t n = 0, nw_d, nw_i, ints;
    if (!T || nde__impl_newton_size(dim, user_lin, &nw_d, &nw_i)) return 0;
    ints = (nw_i * sizeof(int) + sizeof(double) - 1) / sizeof(double);
    if (nde__size_muladd(&n, n_vectors(T), dim) || nde__size_add(n, nw_d, &n) || nde__size_add(n, ints, &n) ||
        nde__size_mul(n, sizeof(double), &n) || nde__size_add(n, header_bytes(), &n))
        return 0;
    return n;
}

static size_t dirk_size(const nde_method *m, size_t dim) { return dirk_bytes(m, dim, 0); }

static size_t dirk_size_problem(const nde_method *m, const nde_ode *ode, const nde_options *o)
{
    return dirk_bytes(m, ode->dim, o && o->lin_setup);
}

/* The predictor of stage i from c (see the file comment). */
static void predictor(dirk_state *E, int i)
{
    const double *c = E->T->c;
    int lo = -1, hi = -1, near = 0;
    for (int j = 0; j < i; j++) {
        if (fabs(c[j] - c[i]) < fabs(c[near] - c[i])) near = j;
        if (c[j] <= c[i] && (lo < 0 || c[j] > c[lo])) lo = j;
        if (c[j] >= c[i] && (hi < 0 || c[j] < c[hi])) hi = j;
    }
    if (lo >= 0 && hi >= 0 && c[hi] > c[lo]) {
        double w = (c[i] - c[lo]) / (c[hi] - c[lo]);
        E->pred_j[i][0] = lo; E->pred_w[i][0] = 1.0 - w;
        E->pred_j[i][1] = hi; E->pred_w[i][1] = w;
    } else {
        E->pred_j[i][0] = near; E->pred_w[i][0] = 1.0;
        E->pred_j[i][1] = near; E->pred_w[i][1] = 0.0;
    }
}

static void dirk_init(nde__int_stepper *st)
{
    dirk_state *E = st->state;
    const nde__dirk_tableau *T = nde__dirk_tab(st->m);
    size_t dim = st->dim;
    int s = T->stages;
    E->T = T;
    E->s = s;
    E->imex = T->ae && st->ode && st->ode->f_explicit;
    int stiffly_accurate = T->c[s - 1] == 1.0;
    for (int j = 0; j < s; j++) stiffly_accurate &= T->ai[(s - 1) * s + j] == T->b[j];
    E->fsal = stiffly_accurate && !E->imex;
    E->k0_exact = 0;
    for (int i = 0; i < s; i++) E->e[i] = T->b[i] - T->bhat[i];
    for (int i = 1; i < s; i++) predictor(E, i);
    double *v = (double *)((char *)st->state + header_bytes());
    for (int i = 0; i <= s; i++, v += dim) E->kI[i] = v;
    for (int i = 0; i <= s; i++) {
        E->kE[i] = T->ae ? v : NULL;
        if (T->ae) v += dim;
    }
    E->f0 = v; v += dim;
    E->base = v; v += dim;
    E->z = v; v += dim;
    E->fz = v; v += dim;
    E->dz = v; v += dim;
    E->winv = v; v += dim;
    E->ev = v; v += dim;
    E->f1 = v; v += dim;
    const int user_lin = nde__impl_user_linsolve(st);
    size_t nw_d, nw_i;
    (void)nde__impl_newton_size(dim, user_lin, &nw_d, &nw_i);   /* checked by the size */
    nde__impl_newton_init(&E->nw, dim, user_lin, v, (int *)(v + nw_d));
}

static int dirk_dense_degree(const nde_method *m)
{
    const nde__dirk_tableau *T = nde__dirk_tab(m);
    return T && T->dense_b ? T->dense_degree : 3;
}

/* fe~(s, y) = dir fe(dir s, y): the explicit part in the loop's forward time. */
static int eval_fe(const nde__int_stepper *st, double s, const double *y, double *out)
{
    st->stats->nfe++;
    int rc = st->ode->f_explicit(st->dir * s, y, out, st->ode->user);
    if (rc) return rc;
    if (st->dir < 0)
        for (size_t i = 0; i < st->dim; i++) out[i] = -out[i];
    return 0;
}

/* kI[slot] = f~(s, y) and, IMEX, kE[slot] = fe~(s, y); ftot (may be NULL) = their sum. */
static int eval_both(nde__int_stepper *st, int slot, double s, const double *y, double *ftot)
{
    dirk_state *E = st->state;
    st->stats->nfe++;
    int rc = st->f(s, y, E->kI[slot], st->user);
    if (rc) return rc;
    if (E->imex && (rc = eval_fe(st, s, y, E->kE[slot]))) return rc;
    if (ftot) {
        for (size_t i = 0; i < st->dim; i++) ftot[i] = E->kI[slot][i] + (E->imex ? E->kE[slot][i] : 0.0);
    }
    return 0;
}

static int dirk_start(nde__int_stepper *st, double s, const double *y)
{
    dirk_state *E = st->state;
    if (st->new_solve) nde__impl_newton_forget(&E->nw);
    E->nw.jac_current = 0;
    int rc = eval_both(st, 0, s, y, E->imex ? E->f0 : NULL);
    E->k0_exact = rc == 0;
    return rc;
}

static const double *dirk_start_f(const nde__int_stepper *st)
{
    const dirk_state *E = st->state;
    return E->imex ? E->f0 : E->kI[0];
}

/* err = RMS_i(ev_i / (atol + rtol max(|y_i|, |y1_i|))) over [0, n), scaled by the
 * largest term so that tiny tolerances cannot overflow the squares; +Inf when not finite. */
static double error_norm(const double *ev, const double *y, const double *y1, size_t n, double rtol,
                         double atol)
{
    double big = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y1[i])) return INFINITY;   /* fmax would hide a NaN y1 */
        double r = fabs(ev[i]) / (atol + rtol * fmax(fabs(y[i]), fabs(y1[i])));
        if (!(r <= big)) {
            if (!isfinite(r)) return INFINITY;
            big = r;
        }
    }
    if (big == 0.0) return 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs(ev[i]) / (atol + rtol * fmax(fabs(y[i]), fabs(y1[i]))) / big;
        sum += r * r;
    }
    return big * sqrt(sum / (double)n);
}

/* The Jacobian at the start (s, y): with differences it needs f~(s, y) exactly, which a
 * recovered FSAL stage is not, so that one is evaluated first (into fz). */
static int fresh_jacobian(nde__int_stepper *st, double s, const double *y)
{
    dirk_state *E = st->state;
    const double *fy = E->kI[0];
    if (!E->k0_exact && !(st->ode && st->ode->jac) && !nde__impl_user_linsolve(st)) {
        st->stats->nfe++;
        int rc = st->f(s, y, E->fz, st->user);
        if (rc) return rc;
        fy = E->fz;
    }
    return nde__impl_newton_jacobian(&E->nw, st, s, y, fy, E->base, E->dz);
}

/* Taped solves (st->exact_stages): after the Newton iteration's stopping rule, chord
 * updates continue until one is at most DIRK_POLISH_ULPS unit roundoffs of |Y|_inf, stops
 * shrinking, or DIRK_POLISH_MAX of them ran, so that the stage is converged to rounding
 * whatever the rule's history (eta from earlier solves) decided, and the solve is a
 * smooth function of y0 and theta to that level. Ys = base + z on return. */
#define DIRK_POLISH_ULPS 4.0
#define DIRK_POLISH_MAX 8
static int polish(nde__int_stepper *st, dirk_state *E, double ti, double hg, double *Ys)
{
    const size_t n = st->dim;
    double prev = INFINITY;
    for (int k = 0; k < DIRK_POLISH_MAX; k++) {
        for (size_t q = 0; q < n; q++) Ys[q] = E->base[q] + E->z[q];
        st->stats->nfe++;
        int rc = st->f(ti, Ys, E->fz, st->user);
        if (rc) return rc;
        double dn = 0.0, yn = 0.0;
        for (size_t q = 0; q < n; q++) E->dz[q] = hg * E->fz[q] - E->z[q];
        nde__num_lu_solve(n, E->nw.lu, n, E->nw.ipiv, 1, E->dz, n);
        for (size_t q = 0; q < n; q++) {
            dn = fmax(dn, fabs(E->dz[q]));
            yn = fmax(yn, fabs(Ys[q]));
        }
        if (!(dn < prev)) break;   /* no longer shrinking (or not finite): keep z */
        for (size_t q = 0; q < n; q++) E->z[q] += E->dz[q];
        st->stats->nnewton++;
        if (dn <= DIRK_POLISH_ULPS * DBL_EPSILON * yn) break;
        prev = dn;
    }
    for (size_t q = 0; q < n; q++) Ys[q] = E->base[q] + E->z[q];
    return 0;
}

/* The stages and the solution of one attempt with the current Jacobian. Returns 0, a
 * code of f or fe, or 1 with E->nw.why set (the iteration failed). */
static int stages(nde__int_stepper *st, double s, double h, const double *y, double *y1)
{
    dirk_state *E = st->state;
    const nde__dirk_tableau *T = E->T;
    const size_t n = st->dim;
    const int ns = E->s;
    nde__impl_newton *nw = &E->nw;
    const double hg = h * T->gamma;
    int rc = nde__impl_newton_factor(nw, st, hg);
    if (rc) return rc;
    nw->theta_max = 0.0;
    for (int i = 1; i < ns; i++) {
        const double *ai = T->ai + i * ns, *ae = T->ae ? T->ae + i * ns : NULL;
        for (size_t q = 0; q < n; q++) E->base[q] = y[q];
        for (int j = 0; j < i; j++) {
            if (ai[j] != 0.0) {
                double a = h * ai[j];
                const double *k = E->kI[j];
                for (size_t q = 0; q < n; q++) E->base[q] += a * k[q];
            }
            if (E->imex && ae[j] != 0.0) {
                double a = h * ae[j];
                const double *k = E->kE[j];
                for (size_t q = 0; q < n; q++) E->base[q] += a * k[q];
            }
        }
        double ti = s + T->c[i] * h;
        double *Y = E->kI[i];   /* the stage value, then overwritten by kI_i */
        if (ai[i] == 0.0) {     /* an explicit stage inside the table */
            memcpy(Y, E->base, n * sizeof *Y);
            st->stats->nfe++;
            if ((rc = st->f(ti, Y, E->fz, st->user))) return rc;
            if (E->imex && (rc = eval_fe(st, ti, Y, E->kE[i]))) return rc;
            memcpy(E->kI[i], E->fz, n * sizeof *Y);
            continue;
        }
        const double *k0 = E->kI[E->pred_j[i][0]], *k1 = E->kI[E->pred_j[i][1]];
        double w0 = hg * E->pred_w[i][0], w1 = hg * E->pred_w[i][1];
        for (size_t q = 0; q < n; q++) E->z[q] = w0 * k0[q] + w1 * k1[q];
        double *Ys = E->ev;     /* scratch for the stage value during the iteration */
        rc = nde__impl_newton_solve(nw, st, ti, hg, E->base, E->winv, E->z, Ys, E->fz, E->dz);
        /* Constant steps cannot shrink: when the chord iteration fails, continue from
         * its iterate as Newton's method, with J at the iterate (a few times at most). */
        for (int r = 0; rc == 1 && (st->rtol == 0.0 || st->exact_stages) && r < NDE__NEWTON_CONSTANT_RESTARTS; r++) {
            for (size_t q = 0; q < n; q++) Ys[q] = E->base[q] + E->z[q];
            st->stats->nfe++;
            if ((rc = st->f(ti, Ys, E->fz, st->user))) return rc;
            if ((rc = nde__impl_newton_jacobian(nw, st, ti, Ys, E->fz, E->dz, Y))) {
                st->why = nw->why;
                return rc;
            }
            nw->jac_current = 0;   /* J is not the start's: a fresh one at the next step */
            nw->want_jac = 1;
            if ((rc = nde__impl_newton_factor(nw, st, hg))) return rc;
            rc = nde__impl_newton_solve(nw, st, ti, hg, E->base, E->winv, E->z, Ys, E->fz, E->dz);
        }
        if (rc) return rc;
        if (st->exact_stages && (rc = polish(st, E, ti, hg, Ys))) return rc;
        if (E->imex && (rc = eval_fe(st, ti, Ys, E->kE[i]))) return rc;
        double inv = 1.0 / hg;
        for (size_t q = 0; q < n; q++) Y[q] = E->z[q] * inv;
    }
    for (size_t q = 0; q < n; q++) y1[q] = y[q];
    for (int j = 0; j < ns; j++) {
        double bj = h * T->b[j];
        if (bj == 0.0) continue;
        const double *k = E->kI[j];
        for (size_t q = 0; q < n; q++) y1[q] += bj * k[q];
        if (E->imex) {
            k = E->kE[j];
            for (size_t q = 0; q < n; q++) y1[q] += bj * k[q];
        }
    }
    return 0;
}

static int dirk_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                        double *err)
{
    dirk_state *E = st->state;
    const size_t n = st->dim;
    nde__impl_newton *nw = &E->nw;
    int rc;
    E->h = h;
    /* Newton's norm: the error tolerances; constant steps (rtol = 0) and taped solves
     * (st->exact_stages) solve the stages to near rounding instead, relative to |y_i|
     * (floored at 1e-3 max(|y|_inf, 1)) */
    if (st->rtol > 0.0 && !st->exact_stages) {
        for (size_t q = 0; q < n; q++) E->winv[q] = 1.0 / (st->atol + st->rtol * fabs(y[q]));
    } else {
        double floor_ = 1.0;
        for (size_t q = 0; q < n; q++) floor_ = fmax(floor_, fabs(y[q]));
        floor_ *= 1e-3;
        for (size_t q = 0; q < n; q++) E->winv[q] = 1.0 / (NDE__NEWTON_CONSTANT_RTOL * fmax(fabs(y[q]), floor_));
    }
    if (!nw->have_jac || (nw->want_jac && !nw->jac_current)) {
        if ((rc = fresh_jacobian(st, s, y))) { st->why = nw->why; return rc; }
    }
    rc = stages(st, s, h, y, y1);
    if (rc == 1 && nw->why && !nw->jac_current) {   /* an old Jacobian: renew it, retry */
        if ((rc = fresh_jacobian(st, s, y))) { st->why = nw->why; return rc; }
        rc = stages(st, s, h, y, y1);
    }
    if (rc) {
        st->why = nw->why;   /* NULL for a code of f or fe */
        return rc;
    }
    if (!err) return 0;
    memset(E->ev, 0, n * sizeof *E->ev);
    for (int j = 0; j < E->s; j++) {
        double ej = h * E->e[j];
        if (ej == 0.0) continue;
        const double *k = E->kI[j];
        for (size_t q = 0; q < n; q++) E->ev[q] += ej * k[q];
        if (E->imex) {
            k = E->kE[j];
            for (size_t q = 0; q < n; q++) E->ev[q] += ej * k[q];
        }
    }
    *err = error_norm(E->ev, y, y1, st->err_dim, st->rtol, st->atol);
    return 0;
}

static int dirk_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                       unsigned what, double *P, int *start_valid)
{
    dirk_state *E = st->state;
    const nde__dirk_tableau *T = E->T;
    const size_t n = st->dim;
    const int ns = E->s;
    const int need_dense = (what & NDE__INT_NEED_DENSE) != 0, cont = (what & NDE__INT_CONTINUE) != 0;
    nde__impl_newton *nw = &E->nw;
    nw->jac_current = 0;
    if (nw->theta_max > NDE__NEWTON_THETA_JAC) nw->want_jac = 1;
    *start_valid = 0;
    /* f at (s + h, y1): the FSAL stage, or evaluated into slot ns when the next start or
     * the Hermite interpolant needs it */
    const int end_slot = E->fsal ? ns - 1 : ns;
    int end_valid = E->fsal;
    if (!E->fsal && (cont || (need_dense && !T->dense_b))) {
        int rc = eval_both(st, ns, s + h, y1, E->imex ? E->f1 : NULL);
        if (rc < 0 || (rc > 0 && need_dense && !T->dense_b)) return rc;
        end_valid = rc == 0;
    }
    if (need_dense) {
        memcpy(P, y, n * sizeof *P);
        if (T->dense_b) {
            for (int d = 1; d <= T->dense_degree; d++) {
                double *Pd = P + (size_t)d * n;
                const double *row = T->dense_b + (size_t)(d - 1) * (size_t)ns;
                memset(Pd, 0, n * sizeof *Pd);
                for (int j = 0; j < ns; j++) {
                    double w = h * row[j];
                    if (w == 0.0) continue;
                    const double *k = E->kI[j];
                    for (size_t q = 0; q < n; q++) Pd[q] += w * k[q];
                    if (E->imex) {
                        k = E->kE[j];
                        for (size_t q = 0; q < n; q++) Pd[q] += w * k[q];
                    }
                }
            }
        } else {
            /* cubic Hermite: y0 + theta h f0 + theta^2 (3 d - h (2 f0 + f1)) +
             * theta^3 (-2 d + h (f0 + f1)), d = y1 - y0 */
            const double *f0 = E->imex ? E->f0 : E->kI[0], *f1 = E->imex ? E->f1 : E->kI[end_slot];
            double *P1 = P + n, *P2 = P + 2 * n, *P3 = P + 3 * n;
            for (size_t q = 0; q < n; q++) {
                double d = y1[q] - y[q], hf0 = h * f0[q], hf1 = h * f1[q];
                P1[q] = hf0;
                P2[q] = 3.0 * d - 2.0 * hf0 - hf1;
                P3[q] = -2.0 * d + hf0 + hf1;
            }
        }
    }
    if (cont && end_valid) {
        double *t = E->kI[0]; E->kI[0] = E->kI[end_slot]; E->kI[end_slot] = t;
        if (E->imex) {
            t = E->kE[0]; E->kE[0] = E->kE[ns]; E->kE[ns] = t;
            t = E->f0; E->f0 = E->f1; E->f1 = t;
        }
        E->k0_exact = !E->fsal;
        *start_valid = 1;
    }
    return 0;
}

const nde__int_ops nde__dirk_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .features = NDE__INT_FEATURE_LINSOLVE,
    .size = dirk_size,
    .size_problem = dirk_size_problem,
    .init = dirk_init,
    .dense_degree = dirk_dense_degree,
    .start = dirk_start,
    .start_f = dirk_start_f,
    .attempt = dirk_attempt,
    .accept = dirk_accept,
};

/* The ARK pairs: the same operations, and the IMEX split accepted by the validation. */
const nde__int_ops nde__dirk_imex_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .features = NDE__INT_FEATURE_IMEX | NDE__INT_FEATURE_LINSOLVE,
    .size = dirk_size,
    .size_problem = dirk_size_problem,
    .init = dirk_init,
    .dense_degree = dirk_dense_degree,
    .start = dirk_start,
    .start_f = dirk_start_f,
    .attempt = dirk_attempt,
    .accept = dirk_accept,
};
