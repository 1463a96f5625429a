/* radau5: the 3-stage Radau IIA method of order 5 (Ehle 1969) as Hairer & Wanner
 * implement it in RADAU5 (Solving ODEs II, 2nd ed., Springer 1996, IV.8), a stepper of
 * the integrate loop for M y' = f(t, y) with a constant, possibly singular, mass matrix
 * M (index-1 DAEs).
 *
 * A step from (x0, y0) solves the collocation system for the stage increments
 * z_i = Y_i - y0,  M z_i = h sum_j a_ij f(x0 + c_j h, y0 + z_j),  and takes
 * y1 = y0 + z3 (c3 = 1). Written for W = (T^-1 (x) I) Z with T^-1 A^-1 T =
 * diag(gamma, [[alpha, -beta], [beta, alpha]]), the simplified Newton iteration (one
 * Jacobian J for all stages) decouples into one real and one complex linear system,
 *     (gamma/h M - J) dw1 = g1 - gamma/h M w1,
 *     ((alpha + i beta)/h M - J)(dw2 + i dw3) = (g2 + i g3) - (alpha + i beta)/h M (w2 + i w3),
 * g = (T^-1 (x) I) F(Z), so a factorisation costs one real and one complex n x n LU.
 * The iteration stops when the estimated remaining error theta/(1 - theta) |dW| is below
 * fnewt, with the contraction rate theta estimated from successive increments; it gives
 * up (rejecting the step with a smaller h) when theta >= 0.99, when the rate predicts
 * that NEWTON_MAX_ITER iterations will not suffice, or after NEWTON_MAX_ITER
 * iterations (HW IV.8, (8.10)-(8.14)).
 * Starting values: the previous step's collocation polynomial extrapolated
 * (HW IV.8, (8.15)); zero after a restart.
 * Error estimate (HW IV.8, (8.19)-(8.20)): the difference to an embedded order-3 solution
 * filtered through one more real solve, err = (gamma/h M - J)^-1 (f(x0, y0) + M sum
 * dd_i z_i / h); on the first step and after a rejection, an estimate >= 1 is improved by
 * evaluating f at y0 + err in place of f(x0, y0) (it removes the estimate's growth for
 * h J -> infinity).
 * Step control: the predictive (Gustafsson 1994) controller, with the Newton iteration
 * count in the safety factor; the Jacobian is reused while the Newton iteration
 * contracts fast (theta <= JAC_REUSE_THETA) and recomputed after a slow iteration or a
 * rejection that the current Jacobian did not see; a step ratio in [KEEP_H_LO,
 * KEEP_H_HI] keeps h and the factorisation as they are. All constants are RADAU5's
 * defaults. The tolerances are mapped as RADAU5 maps them (rtol' = 0.1 rtol^(2/3),
 * atol' = atol rtol'/rtol), so that the order-3 estimate controls an order-5 solution
 * with a global error near rtol, and step counts compare with RADAU5's.
 *
 * Constant steps (rtol = 0) solve the stage equations to round-off instead
 * (CONSTANT_STEP_RTOL) and fail only when the Newton iteration diverges.
 *
 * Dense output: the collocation polynomial of degree 3 through (x0, y0) and the stages.
 * Counts: nfe (3 per Newton iteration, 1 per accepted step for f(x1, y1), 1 per improved
 * estimate, the differences of a Jacobian), njac, nlu (one per factorisation of the pair
 * of iteration matrices, as RADAU5's NDEC), nnewton. Nothing allocates after init.
 *
 * Checked against the Fortran RADAU5 run with the same first step
 * (test_work_matches_fortran_radau5): with RADAU5's T (its first column of unit length:
 * the scaling weights W's components in the Newton norm, so it decides the iteration's
 * stops, rates and step factors) the same steps, Jacobians and factorisations on
 * Robertson, Van der Pol and HIRES, and on Robertson at loose tolerances the same
 * outcomes, blow-ups included (test_robertson_loose_tolerances_as_fortran). The complex
 * system is solved as one complex n x n LU rather than the equivalent real 2n x 2n one:
 * 1.2-2.6x faster from n = 3 on (bench/bench_radau_lu.c; the real form wins only at n = 2, by 1.25x). */
#include "implicit/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- coefficients (scripts/gen_radau_coeffs.py, 17 digits) ---------------------------- */

static const nde__radau5_tableau radau5_tableau = {
    .c = { 0.15505102572168219, 0.64494897427831781, 1.0 },
    .a = { 0.19681547722366043, -0.065535425850198388, 0.023770974348220152,
           0.39442431473908728, 0.29207341166522846, -0.04154875212599793,
           0.37640306270046728, 0.51248582618842161, 0.11111111111111111 },
    /* T's first column has unit length, as RADAU5's: the Newton norm weights W as it does */
    .T = { 0.091232394870892943, -0.14125529502095421, -0.030029194105147424,
           0.24171793270710702, 0.20412935229379993, 0.38294211275726194,
           0.96604818261509294, 1.0, 0.0 },
    .Ti = { 4.3255798900631554, 0.33919925181580987, 0.54177053993587487,
            -4.1787185915519047, -0.32768282076106239, 0.47662355450055045,
            -0.50287263494578688, 2.5719269498556054, -0.59603920482822492 },
    .gamma = 3.6378342527444957, .alpha = 2.6810828736277521, .beta = 3.0504301992474106,
    .dd = { -10.048809399827416, 1.3821427331607489, -0.33333333333333333 },
    .dense = { 10.048809399827416, -1.3821427331607489, 0.33333333333333333,
               -25.629591447076639, 10.296258113743306, -2.6666666666666667,
               15.580782047249224, -8.9141153805825572, 3.3333333333333333 },
};

/* ---- RADAU5's defaults (HW IV.8 and the code's documented WORK/IWORK defaults) -------- */

#define NEWTON_MAX_ITER 7         /* IWORK(3): Newton iterations per step */
#define JAC_REUSE_THETA 0.001     /* WORK(3): recompute J when the rate theta exceeds it */
#define KEEP_H_LO 1.0             /* WORK(5), WORK(6): a new step within [LO, HI] times */
#define KEEP_H_HI 1.2             /*   the old keeps h and the factorisation */
#define SAFETY 0.9                /* WORK(2) */
#define FACTOR_MIN 0.2            /* 1/WORK(8): the largest step reduction per step */
#define FACTOR_MAX 8.0            /* 1/WORK(9): the largest step growth per step */
#define FIRST_REJECT_FACTOR 0.1   /* the first step rejected: h *= 0.1 */
#define NEWTON_FAIL_FACTOR 0.5    /* a Newton iteration that failed or diverged */
#define THETA_DIVERGE 0.99        /* a rate this large: the iteration is diverging */
#define ERR_FLOOR 1e-10           /* the error used by the controller is at least this */
/* A step within this relative distance of the factorisation's h reuses the factors: the
 * loop forms h as (s + h) - s, which moves a kept h by up to an ULP of s, and an
 * iteration matrix off by 1e-8 changes nothing in the simplified Newton iteration. */
#define LU_H_MATCH 1e-8
/* Constant steps (rtol == 0) have no tolerance and cannot shrink: the Newton iteration
 * then converges to this size relative to 1 + |y| (the stage equations solved to
 * round-off), with up to NEWTON_MAX_ITER_CONSTANT iterations and no early abort on a
 * slow rate; only divergence (theta >= THETA_DIVERGE) fails it. */
#define CONSTANT_STEP_RTOL 1e-12
#define NEWTON_MAX_ITER_CONSTANT 50

typedef struct radau_state {
    const nde__radau5_tableau *tb;
    double *f0;          /* f~(s, y) at the start */
    double *scal;        /* 1 / (atol' + rtol' |y_i|) at the start of the attempt */
    double *z, *w, *g;   /* 3 x dim each: stage increments Z, W = T^-1 Z, f values / rhs */
    double *cont;        /* 3 x dim: the last accepted step's polynomial, sum_k theta^(k+1) cont_k */
    double *ytmp, *ftmp, *err;   /* dim each */
    double *mw;          /* 3 x dim: M w_k (with a mass matrix) */
    double *J;           /* dim x dim: the Jacobian, row-major; banded: (ldj x dim) band */
    double *E1;          /* dim x dim: gamma/h M - J, factored; banded: (ldab1 x dim) band */
    double *E2;          /* dim x dim complex, interleaved: (alpha + i beta)/h M - J, factored;
                            banded: a complex (ldab1 x dim) band, interleaved */
    double *full;        /* banded with a user jac: dim x dim scratch; else NULL */
    int *ip1, *ip2;      /* pivots */
    int banded;          /* nde_options.jac_lower/jac_upper given */
    size_t ml, mu, ldj, ldab1;
    double rtol, atol;   /* RADAU5's transformed tolerances */
    double fnewt;        /* Newton stopping tolerance */
    double h_lu;         /* h of the current factorisation; 0: none */
    double h_acc;        /* h of the last accepted step (whose polynomial cont is) */
    double faccon;       /* theta / (1 - theta) of the last iteration */
    double theta;        /* the last Newton contraction rate */
    double fail_factor;  /* h factor after an attempt that failed (err = +Inf) */
    int newt;            /* Newton iterations of the last attempt */
    int jac_valid;       /* J holds a Jacobian */
    int jac_fresh;       /* J was computed at the current start (RADAU5's CALJAC) */
    int need_jac;        /* compute J before the next attempt */
    int have_cont;       /* cont is valid for starting values */
    int first;           /* no step accepted since the start */
    nde__int_predictive pred;   /* Gustafsson's controller; pred.reject: the previous
                                   attempt was rejected */
} radau_state;

static size_t header_bytes(void)
{
    return (sizeof(radau_state) + 2 * sizeof(double) - 1) / (2 * sizeof(double)) * (2 * sizeof(double));
}

static int is_banded(const nde_options *o, size_t n)
{
    return o && (o->jac_lower || o->jac_upper) && o->jac_lower < n && o->jac_upper < n;
}

static size_t radau_size_problem(const nde_method *m, const nde_ode *ode, const nde_options *o)
{
    (void)m;
    const size_t dim = ode->dim;
    size_t nn, nd = 0, n = 0;
    if (nde__size_mul(dim, dim, &nn) || nde__size_muladd(&nd, 20, dim)) return 0;
    /* doubles: f0, scal, ytmp, ftmp, err (5 dim), z, w, g, cont, mw (15 dim), then dense:
     * J, E1 (2 nn), E2 (2 nn); ints: 2 dim. Banded: J (ml + mu + 1), E1 (2 ml + mu + 1)
     * and E2 (2 (2 ml + mu + 1)) bands of dim columns, a user jac's dim x dim */
    if (is_banded(o, dim)) {
        const size_t ml = o->jac_lower, mu = o->jac_upper;
        const size_t bands = (ml + mu + 1) + 3 * (2 * ml + mu + 1);
        if (nde__size_muladd(&nd, bands, dim) || (ode->jac && nde__size_add(nd, nn, &nd)) ||
            nde__size_mul(nd, sizeof(double), &n) || nde__size_muladd(&n, 2 * sizeof(int), dim))
            return 0;
    } else if (nde__size_muladd(&nd, 4, nn) || nde__size_mul(nd, sizeof(double), &n) ||
               nde__size_muladd(&n, 2 * sizeof(int), dim)) {
        return 0;
    }
    if (nde__size_add(n, header_bytes(), &n)) return 0;
    return n;
}

static size_t radau_size(const nde_method *m, size_t dim)
{
    nde_ode ode = { .dim = dim };
    return radau_size_problem(m, &ode, NULL);
}

static void radau_init(nde__int_stepper *st)
{
    radau_state *R = st->state;
    const size_t n = st->dim, nn = n * n;
    double *v = (double *)((char *)st->state + header_bytes());
    R->tb = st->m->tableau;
    R->banded = is_banded(st->opts, n);
    R->full = NULL;
    if (R->banded) {
        R->ml = st->opts->jac_lower;
        R->mu = st->opts->jac_upper;
        R->ldj = R->ml + R->mu + 1;
        R->ldab1 = 2 * R->ml + R->mu + 1;
        R->E2 = v; v += 2 * n * R->ldab1;
        R->J = v; v += n * R->ldj;
        R->E1 = v; v += n * R->ldab1;
        if (st->ode->jac) { R->full = v; v += nn; }
    } else {
        R->ml = R->mu = R->ldj = R->ldab1 = 0;
        R->E2 = v; v += 2 * nn;
        R->J = v; v += nn;
        R->E1 = v; v += nn;
    }
    R->f0 = v; v += n;
    R->scal = v; v += n;
    R->ytmp = v; v += n;
    R->ftmp = v; v += n;
    R->err = v; v += n;
    R->z = v; v += 3 * n;
    R->w = v; v += 3 * n;
    R->g = v; v += 3 * n;
    R->cont = v; v += 3 * n;
    R->mw = v; v += 3 * n;
    R->ip1 = (int *)(void *)v;
    R->ip2 = R->ip1 + n;
    R->h_lu = 0.0;
    R->jac_valid = 0;
}

static int radau_dense_degree(const nde_method *m) { (void)m; return 3; }

/* RADAU5's tolerance map and Newton tolerance (its main program), from the loop's. */
static void set_tolerances(const nde__int_stepper *st, radau_state *R)
{
    double rtol = st->rtol, atol = st->atol;
    if (rtol > 0.0) {
        double r = 0.1 * pow(rtol, 2.0 / 3.0);
        R->atol = atol * (r / rtol);
        R->rtol = r;
    } else {
        R->rtol = CONSTANT_STEP_RTOL;
        R->atol = CONSTANT_STEP_RTOL;
    }
    R->fnewt = fmax(10.0 * DBL_EPSILON / R->rtol, fmin(0.03, sqrt(R->rtol)));
}

/* A start from scratch: f(s, y), and everything learnt on the previous steps forgotten
 * (a restart after a jump or event, or a new solve: the Jacobian is recomputed). */
static int radau_start(nde__int_stepper *st, double s, const double *y)
{
    radau_state *R = st->state;
    set_tolerances(st, R);
    R->need_jac = 1;
    R->jac_fresh = 0;
    R->h_lu = 0.0;
    R->have_cont = 0;
    R->first = 1;
    nde__int_predictive_reset(&R->pred);
    R->faccon = 1.0;
    R->theta = JAC_REUSE_THETA;
    R->newt = 0;
    R->fail_factor = NEWTON_FAIL_FACTOR;
    st->stats->nfe++;
    return st->f(s, y, R->f0, st->user);
}

static const double *radau_start_f(const nde__int_stepper *st)
{
    const radau_state *R = st->state;
    return R->f0;
}

/* out = M x (M row-major dim x dim), or x without a mass matrix. */
static void mass_times(const nde__int_stepper *st, const double *x, double *out)
{
    const double *M = st->ode->mass;
    const size_t n = st->dim;
    if (!M) { memcpy(out, x, n * sizeof *x); return; }
    for (size_t i = 0; i < n; i++) {
        const double *row = M + i * n;
        double acc = 0.0;
        for (size_t j = 0; j < n; j++) acc += row[j] * x[j];
        out[i] = acc;
    }
}

/* E1 = fac1 M - J, E2 = (alr + i ali) M - J, factored. 0, or > 0 with st->why. */
static int factor_band(nde__int_stepper *st, radau_state *R, double h);

/* The outcome of factoring the pair (real E1 status rc1, complex E2 status rc2): 0 and
 * the step size the factors belong to, or 1 (retry with a smaller step) with the reason. */
static int factor_outcome(nde__int_stepper *st, radau_state *R, double h, int rc1, int rc2)
{
    if (rc1 == NDE__NUM_SINGULAR || rc2 == NDE__NUM_SINGULAR) {
        st->why = "singular iteration matrix (M/(h gamma) - J)";
        return 1;
    }
    if (rc1 != NDE_OK || rc2 != NDE_OK) {
        st->why = "non-finite iteration matrix (M/(h gamma) - J)";
        return 1;
    }
    R->h_lu = h;
    return 0;
}

static int factor(nde__int_stepper *st, radau_state *R, double h)
{
    if (R->banded) return factor_band(st, R, h);
    const size_t n = st->dim, nn = n * n;
    const double *M = st->ode->mass, *J = R->J;
    const double fac1 = R->tb->gamma / h, alr = R->tb->alpha / h, ali = R->tb->beta / h;
    for (size_t k = 0; k < nn; k++) {
        R->E1[k] = -J[k];
        R->E2[2 * k] = -J[k];
        R->E2[2 * k + 1] = 0.0;
    }
    if (M) {
        for (size_t k = 0; k < nn; k++) {
            R->E1[k] += fac1 * M[k];
            R->E2[2 * k] += alr * M[k];
            R->E2[2 * k + 1] = ali * M[k];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            R->E1[i * n + i] += fac1;
            R->E2[2 * (i * n + i)] += alr;
            R->E2[2 * (i * n + i) + 1] = ali;
        }
    }
    st->stats->nlu++;
    R->h_lu = 0.0;
    int rc1 = nde__num_lu_factor(n, R->E1, n, R->ip1);
    int rc2 = rc1 == NDE_OK ? nde__num_zlu_factor(n, R->E2, n, R->ip2) : NDE_OK;
    return factor_outcome(st, R, h, rc1, rc2);
}

/* The banded pair: E1 in LAPACK band storage, E2 in the same layout of complex
 * entries (interleaved), factored by the complex band LU (numerics/linalg.c). */
static int factor_band(nde__int_stepper *st, radau_state *R, double h)
{
    const size_t n = st->dim, ml = R->ml, mu = R->mu, ld = R->ldab1;
    const double *M = st->ode->mass;
    const double fac1 = R->tb->gamma / h, alr = R->tb->alpha / h, ali = R->tb->beta / h;
    for (size_t j = 0; j < n; j++) {
        const size_t i0 = j > mu ? j - mu : 0, i1 = j + ml < n ? j + ml : n - 1;
        const double *jb = R->J + j * R->ldj;
        double *e1 = R->E1 + j * ld, *e2 = R->E2 + 2 * j * ld;
        for (size_t i = i0; i <= i1; i++) {
            const double m = M ? M[i * n + j] : (double)(i == j), jij = jb[mu + i - j];
            const size_t q = ml + mu + i - j;
            e1[q] = fac1 * m - jij;
            e2[2 * q] = alr * m - jij;
            e2[2 * q + 1] = ali * m;
        }
    }
    st->stats->nlu++;
    R->h_lu = 0.0;
    int rc1 = nde__num_band_lu_factor(n, ml, mu, R->E1, ld, R->ip1);
    int rc2 = rc1 == NDE_OK ? nde__num_zband_lu_factor(n, ml, mu, R->E2, ld, R->ip2) : NDE_OK;
    return factor_outcome(st, R, h, rc1, rc2);
}

/* Solves with the factored E1 (real, b: dim) and E2 (b: dim complex, interleaved). */
static void solve1(const nde__int_stepper *st, const radau_state *R, double *b)
{
    if (R->banded) nde__num_band_lu_solve(st->dim, R->ml, R->mu, R->E1, R->ldab1, R->ip1, b);
    else nde__num_lu_solve(st->dim, R->E1, st->dim, R->ip1, 1, b, st->dim);
}
static void solve2(const nde__int_stepper *st, const radau_state *R, double *b)
{
    if (R->banded) nde__num_zband_lu_solve(st->dim, R->ml, R->mu, R->E2, R->ldab1, R->ip2, b);
    else nde__num_zlu_solve(st->dim, R->E2, st->dim, R->ip2, 1, b, st->dim);
}

/* RMS of v_i scal_i over the error components, without overflow: +Inf if not finite. */
static double scaled_rms(const nde__int_stepper *st, const radau_state *R, const double *v)
{
    const size_t n = st->err_dim;
    double big = 0.0;
    for (size_t i = 0; i < n; i++) {
        double u = fabs(v[i] * R->scal[i]);
        if (!(u <= big)) big = u;   /* NaN sticks */
    }
    if (!isfinite(big)) return INFINITY;
    if (big == 0.0) return 0.0;
    double sum = 0.0;
    if (big >= DBL_MIN) {
        const double inv = 1.0 / big;
        for (size_t i = 0; i < n; i++) {
            double u = v[i] * R->scal[i] * inv;
            sum += u * u;
        }
    } else {   /* 1 / big overflows: a subnormal error (a step of 1e-300 between jumps) */
        for (size_t i = 0; i < n; i++) {
            double u = v[i] * R->scal[i] / big;
            sum += u * u;
        }
    }
    return big * sqrt(sum / (double)n);
}

/* Starting values: the last accepted step's polynomial q (increment from its start)
 * at theta = 1 + c_i h / h_acc, minus q(1) = its z3: the increments from this start. */
static void starting_values(const nde__int_stepper *st, radau_state *R, double h)
{
    const size_t n = st->dim;
    const double *c = R->tb->c, *Ti = R->tb->Ti;
    double *z = R->z, *w = R->w;
    if (!R->have_cont) {
        memset(z, 0, 3 * n * sizeof *z);
        memset(w, 0, 3 * n * sizeof *w);
        return;
    }
    const double r = h / R->h_acc;
    const double *p1 = R->cont, *p2 = R->cont + n, *p3 = R->cont + 2 * n;
    for (int i = 0; i < 3; i++) {
        const double th = 1.0 + c[i] * r;
        double *zi = z + (size_t)i * n;
        for (size_t k = 0; k < n; k++) {
            double q1 = p1[k] + p2[k] + p3[k];
            zi[k] = th * (p1[k] + th * (p2[k] + th * p3[k])) - q1;
        }
    }
    for (size_t k = 0; k < n; k++) {
        double a1 = z[k], a2 = z[n + k], a3 = z[2 * n + k];
        w[k] = Ti[0] * a1 + Ti[1] * a2 + Ti[2] * a3;
        w[n + k] = Ti[3] * a1 + Ti[4] * a2 + Ti[5] * a3;
        w[2 * n + k] = Ti[6] * a1 + Ti[7] * a2 + Ti[8] * a3;
    }
}

/* The simplified Newton iteration for W (and Z). 0 when converged; > 0 (st->why set, or
 * f's retry code) when it failed, with R->fail_factor; < 0: f's stop code. */
static int newton(nde__int_stepper *st, radau_state *R, double s, double h, const double *y, int adaptive)
{
    const int nit = adaptive ? NEWTON_MAX_ITER : NEWTON_MAX_ITER_CONSTANT;
    const size_t n = st->dim;
    const nde__radau5_tableau *tb = R->tb;
    const double *T = tb->T, *Ti = tb->Ti;
    const double fac1 = tb->gamma / h, alr = tb->alpha / h, ali = tb->beta / h;
    const int has_mass = st->ode->mass != NULL;
    double *z = R->z, *w = R->w, *g = R->g, *mw = R->mw;
    double dyno_old = 1.0, thq_old = 1.0;

    R->faccon = pow(fmax(R->faccon, DBL_EPSILON), 0.8);
    R->theta = JAC_REUSE_THETA;
    R->newt = 0;
    R->fail_factor = NEWTON_FAIL_FACTOR;
    for (;;) {
        if (R->newt >= nit) {
            st->why = "the Newton iteration did not converge";
            return 1;
        }
        for (int i = 0; i < 3; i++) {
            const double *zi = z + (size_t)i * n;
            for (size_t k = 0; k < n; k++) R->ytmp[k] = y[k] + zi[k];
            int rc = st->f(s + tb->c[i] * h, R->ytmp, g + (size_t)i * n, st->user);
            st->stats->nfe++;
            if (rc) return rc;
        }
        /* right-hand sides of the transformed system, in place in g */
        const double *mwv = w;   /* M w, or w itself without a mass matrix */
        if (has_mass) {
            for (int i = 0; i < 3; i++) mass_times(st, w + (size_t)i * n, mw + (size_t)i * n);
            mwv = mw;
        }
        for (size_t k = 0; k < n; k++) {
            double a1 = g[k], a2 = g[n + k], a3 = g[2 * n + k];
            double t1 = Ti[0] * a1 + Ti[1] * a2 + Ti[2] * a3;
            double t2 = Ti[3] * a1 + Ti[4] * a2 + Ti[5] * a3;
            double t3 = Ti[6] * a1 + Ti[7] * a2 + Ti[8] * a3;
            double m1 = mwv[k], m2 = mwv[n + k], m3 = mwv[2 * n + k];
            g[k] = t1 - fac1 * m1;
            /* (g2 + i g3) - (alr + i ali)(m2 + i m3), interleaved into g + n below (after
             * every g[n + k], g[2n + k] has been read) */
            R->ytmp[k] = t2 - alr * m2 + ali * m3;
            R->ftmp[k] = t3 - ali * m2 - alr * m3;
        }
        double *cx = g + n;   /* 2n doubles: the complex right-hand side, interleaved */
        for (size_t k = 0; k < n; k++) {
            cx[2 * k] = R->ytmp[k];
            cx[2 * k + 1] = R->ftmp[k];
        }
        solve1(st, R, g);
        solve2(st, R, cx);
        R->newt++;
        st->stats->nnewton++;

        double sum = 0.0;
        for (size_t k = 0; k < n; k++) {
            double sc = R->scal[k];
            double d1 = g[k] * sc, d2 = cx[2 * k] * sc, d3 = cx[2 * k + 1] * sc;
            sum += d1 * d1 + d2 * d2 + d3 * d3;
        }
        double dyno = sqrt(sum / (double)(3 * n));
        if (!isfinite(dyno)) {
            st->why = "non-finite values in the Newton iteration";
            return 1;
        }
        if (R->newt > 1 && R->newt < nit) {
            double thq = dyno / dyno_old;
            R->theta = R->newt == 2 ? thq : sqrt(thq * thq_old);
            thq_old = thq;
            if (!(R->theta < THETA_DIVERGE)) {
                st->why = "the Newton iteration diverged";
                return 1;
            }
            R->faccon = R->theta / (1.0 - R->theta);
            /* the error left after the remaining iterations, predicted from the rate */
            double dyth = 0.0;
            if (adaptive) {
                double tk = 1.0;   /* theta^(NEWTON_MAX_ITER - 1 - newt), a small integer power */
                for (int k = R->newt; k < NEWTON_MAX_ITER - 1; k++) tk *= R->theta;
                dyth = R->faccon * dyno * tk / R->fnewt;
            }
            if (dyth >= 1.0) {
                double qnewt = fmax(1e-4, fmin(20.0, dyth));
                R->fail_factor = 0.8 * pow(qnewt, -1.0 / (4.0 + (double)(NEWTON_MAX_ITER - 1 - R->newt)));
                st->why = "the Newton iteration converged too slowly";
                return 1;
            }
        }
        dyno_old = fmax(dyno, DBL_EPSILON);
        for (size_t k = 0; k < n; k++) {
            double w1 = w[k] + g[k], w2 = w[n + k] + cx[2 * k], w3 = w[2 * n + k] + cx[2 * k + 1];
            w[k] = w1; w[n + k] = w2; w[2 * n + k] = w3;
            z[k] = T[0] * w1 + T[1] * w2 + T[2] * w3;
            z[n + k] = T[3] * w1 + T[4] * w2 + T[5] * w3;
            z[2 * n + k] = T[6] * w1 + w2;   /* T's last row is (T31, 1, 0) */
        }
        if (R->faccon * dyno <= R->fnewt) return 0;
    }
}

/* Taped solves (st->exact_stages): after the iteration converged to fnewt, it goes on
 * (as for constant steps: no early abort on a slow rate) until the estimated remaining
 * error is POLISH_ULPS unit roundoffs of the tolerance scale, so that the stages are
 * the solution of the collocation system to rounding and the solve is a smooth function
 * of y0 and theta. An iteration that stalls there (its rate reaches THETA_DIVERGE on
 * rounding noise) keeps its last iterate. The first iteration's count and rates are
 * restored: the step control and the Jacobian reuse see what an untaped solve sees. */
#define POLISH_ULPS 10.0
static int polish(nde__int_stepper *st, radau_state *R, double s, double h, const double *y)
{
    const double fnewt = R->fnewt, faccon = R->faccon, theta = R->theta, fail = R->fail_factor;
    const int newt = R->newt;
    const char *why = st->why;
    R->fnewt = POLISH_ULPS * DBL_EPSILON / R->rtol;
    int rc = newton(st, R, s, h, y, 0);
    R->fnewt = fnewt; R->faccon = faccon; R->theta = theta; R->fail_factor = fail; R->newt = newt;
    st->why = why;
    return rc == 1 ? 0 : rc;
}

/* err = E1^-1 (fy + M sum dd_i z_i / h), its scaled norm. */
static double error_estimate(nde__int_stepper *st, radau_state *R, double h, const double *fy)
{
    const size_t n = st->dim;
    const double *dd = R->tb->dd, *z = R->z;
    const double d1 = dd[0] / h, d2 = dd[1] / h, d3 = dd[2] / h;
    for (size_t k = 0; k < n; k++) R->ytmp[k] = d1 * z[k] + d2 * z[n + k] + d3 * z[2 * n + k];
    mass_times(st, R->ytmp, R->ftmp);   /* ftmp keeps M sum dd z / h for the improvement */
    for (size_t k = 0; k < n; k++) R->err[k] = fy[k] + R->ftmp[k];
    solve1(st, R, R->err);
    return scaled_rms(st, R, R->err);
}

static int radau_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    radau_state *R = st->state;
    const size_t n = st->dim;
    int rc;
    R->fail_factor = NEWTON_FAIL_FACTOR;
    if (0.1 * h <= fabs(s) * DBL_EPSILON) {
        /* RADAU5's test: a step this small changes t by less than an ULP or so, and a
         * rejection would repeat it unchanged */
        st->why = "step size below the resolution of t (h <= 10 eps |t|)";
        return NDE_EDTMIN;
    }
    for (size_t k = 0; k < n; k++) {
        double sc = R->atol + R->rtol * fabs(y[k]);
        R->scal[k] = 1.0 / fmax(sc, DBL_MIN);
    }
    if (R->need_jac || !R->jac_valid) {
        rc = R->banded ? nde__impl_jacobian_band(st, s, y, R->f0, R->ml, R->mu, R->J, R->ldj, R->ytmp, R->ftmp,
                                                 R->full)
                       : nde__impl_jacobian(st, s, y, R->f0, R->J, R->ytmp, R->ftmp);
        if (rc) {
            R->jac_valid = 0;
            return nde__impl_jacobian_failure(st, rc);
        }
        R->jac_valid = 1;
        R->jac_fresh = 1;
        R->need_jac = 0;
        R->h_lu = 0.0;
    }
    if (!(fabs(h - R->h_lu) <= LU_H_MATCH * R->h_lu) && (rc = factor(st, R, h))) return rc;
    starting_values(st, R, h);
    rc = newton(st, R, s, h, y, err != NULL);
    if (rc) return rc;
    if (st->exact_stages && (rc = polish(st, R, s, h, y))) return rc;
    for (size_t k = 0; k < n; k++) y1[k] = y[k] + R->z[2 * n + k];
    if (!err) {
        /* constant steps: no controller, so the Jacobian rule is applied here */
        if (R->theta > JAC_REUSE_THETA) R->need_jac = 1;
        return 0;
    }
    double e = error_estimate(st, R, h, R->f0);
    if (e >= 1.0 && (R->first || R->pred.reject) && isfinite(e)) {
        for (size_t k = 0; k < n; k++) R->ytmp[k] = y[k] + R->err[k];
        rc = st->f(s, R->ytmp, R->g, st->user);
        st->stats->nfe++;
        if (rc) return rc;
        for (size_t k = 0; k < n; k++) R->err[k] = R->g[k] + R->ftmp[k];
        solve1(st, R, R->err);
        e = scaled_rms(st, R, R->err);
    }
    for (size_t k = 0; k < n && isfinite(e); k++)
        if (!isfinite(y1[k])) e = INFINITY;
    *err = isfinite(e) ? fmax(e, ERR_FLOOR) : INFINITY;
    return 0;
}

/* The accepted step's polynomial into cont (starting values of the next step) and P. */
static int radau_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                        unsigned what, double *P, int *start_valid)
{
    radau_state *R = st->state;
    const size_t n = st->dim;
    const double *D = R->tb->dense, *z = R->z;
    for (int k = 0; k < 3; k++) {
        double *ck = R->cont + (size_t)k * n;
        const double q1 = D[3 * k], q2 = D[3 * k + 1], q3 = D[3 * k + 2];
        for (size_t i = 0; i < n; i++) ck[i] = q1 * z[i] + q2 * z[n + i] + q3 * z[2 * n + i];
    }
    R->have_cont = 1;
    R->h_acc = h;
    R->jac_fresh = 0;
    if (what & NDE__INT_NEED_DENSE) {
        memcpy(P, y, n * sizeof *P);
        memcpy(P + n, R->cont, 3 * n * sizeof *P);
    }
    *start_valid = 0;
    if (what & NDE__INT_CONTINUE) {
        st->stats->nfe++;
        int rc = st->f(s + h, y1, R->f0, st->user);
        if (rc) return rc;
        *start_valid = 1;
    }
    return 0;
}

/* RADAU5's step-size selection after every attempt of an adaptive solve. */
static double radau_step_factor(nde__int_stepper *st, double h, double err, int accepted)
{
    radau_state *R = st->state;
    if (!isfinite(err)) {   /* the Newton iteration failed, a singular matrix, f asked */
        R->pred.reject = 1;
        if (!R->jac_fresh) R->need_jac = 1;
        return R->fail_factor;
    }
    const double fac = fmin(SAFETY, SAFETY * (1.0 + 2.0 * NEWTON_MAX_ITER) / (R->newt + 2.0 * NEWTON_MAX_ITER));
    double quot = fmax(1.0 / FACTOR_MAX, fmin(1.0 / FACTOR_MIN, sqrt(sqrt(err)) / fac));   /* err^(1/4) */
    if (!accepted) {
        double f = R->first ? FIRST_REJECT_FACTOR : 1.0 / quot;
        R->pred.reject = 1;
        if (!R->jac_fresh) R->need_jac = 1;
        return f;
    }
    R->first = 0;
    double qt = nde__int_predictive_accept(&R->pred, h, err, quot, 1.0 / FACTOR_MAX, 1.0 / FACTOR_MIN, SAFETY, 0.25);
    if (R->theta <= JAC_REUSE_THETA && qt >= KEEP_H_LO && qt <= KEEP_H_HI) return 1.0;
    if (R->theta > JAC_REUSE_THETA) R->need_jac = 1;
    return qt;
}

#define MSG(...) nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, __VA_ARGS__)

/* A mass matrix with a banded Jacobian must lie inside the band (the iteration
 * matrices are factored as band matrices). */
static int radau_check_start(nde__int_stepper *st, double s, const double *y, char *msg)
{
    (void)s; (void)y;
    const radau_state *R = st->state;
    const double *M = st->ode->mass;
    const size_t n = st->dim;
    if (!M || !R->banded) return NDE_OK;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (M[i * n + j] != 0.0 && (i > j + R->ml || j > i + R->mu))
                return MSG("mass[%zu] (row %zu, column %zu) = %g lies outside the band (jac_lower = %zu, "
                           "jac_upper = %zu)", i * n + j, i, j, M[i * n + j], R->ml, R->mu);
    return NDE_OK;
}

static const nde__int_ops radau5_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .features = NDE__INT_FEATURE_MASS,
    .size = radau_size,
    .init = radau_init,
    .dense_degree = radau_dense_degree,
    .start = radau_start,
    .start_f = radau_start_f,
    .attempt = radau_attempt,
    .accept = radau_accept,
    .record_vectors = NULL,
    .record = NULL,
    .step_factor = radau_step_factor,
    .size_problem = radau_size_problem,
    .check_start = radau_check_start,
};

const nde_method nde__radau5 = {
    .name = "radau5",
    .description = "Radau IIA order 5, 3 stages (Ehle 1969), implemented as RADAU5 (Hairer & Wanner 1996)",
    .kind = NDE_METHOD_IMPLICIT_RK,
    .order = 5,
    .embedded_order = 3,
    .stages = 3,
    .fsal = 0,
    .dense_order = 3,
    .ops = &radau5_ops,
    .tableau = &radau5_tableau,
};
