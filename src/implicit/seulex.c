/* seulex: extrapolation of the linearly implicit Euler method with Deuflhard's order
 * and step-size control (Deuflhard 1985; Hairer & Wanner, Solving ODEs II, 2nd ed.,
 * Springer 1996, IV.9, and their code SEULEX), a stepper of the integrate loop
 * (NDE_METHOD_EXTRAPOLATION) for M y' = f(t, y) with a constant, possibly singular,
 * mass matrix M (index-1 DAEs), dense or banded Jacobians.
 *
 * One step of size H from (s, y). Line j (j = 1 .. KM) takes n_j linearly implicit
 * Euler substeps of h_j = H / n_j (n_j = j, SEULEX's IWORK(4) = 3, or at rtol <= 1e-11
 * SEULEX's default 2, 3, 4, 6, 8, 12, ..., IWORK(4) = 2: SEQ2_RTOL below) with one
 * Jacobian J = df~/dy at the step's start (or an older one, see below) and the LU of
 * E_j = M / h_j - J:
 *     E_j (y_{m+1} - y_m) = f(s + m h_j, y_m)        (opts->autonomous: f at s + m h_j)
 *     E_j (y_{m+1} - y_m) = f(s + (m+1) h_j, y_m)    (otherwise, as SEULEX: the shift in
 *                                                     t stands for h_j df/dt)
 * T_{j,1} = y_{n_j}. The method is a W-method of order 1 whose error expands in powers
 * of h_j for any fixed J, so the Aitken-Neville table
 *     T_{j,k+1} = T_{j,k} + (T_{j,k} - T_{j-1,k}) / (n_j / n_{j-k} - 1)
 * makes T_{j,j} of order j; err_j = RMS_i(min(|T_{j,j} - T_{j,j-1}| / sc_i, 1e15)),
 * sc_i = atol + rtol |y_i| at the start, estimates the error of T_{j,j-1}, and the step
 * takes T_{kc,kc} of the last line kc computed (local extrapolation, as SEULEX).
 *
 * Order and step (SEULEX, HW IV.9): each line j >= 2 proposes H_j = H / fac_j,
 *     fac_j = min(FAC2 / fmin_j, max(fmin_j, (err_j / SAFE1)^(1/j) / SAFE2)),
 *     fmin_j = FAC1^(1/j),
 * and its work per unit step W_j = A_j / H_j, with the work of lines 1 .. j
 *     A_1 = WK_JAC + n_1 WK_ROW + WK_DEC,  A_j = A_{j-1} + (n_j - 1) WK_ROW + WK_DEC,
 * WK_ROW = WK_FCN + WK_SOL (one f-evaluation and one solve per substep; the first
 * substep's f(s, y) is shared by the lines, one LU per line, the Jacobian at the
 * start). With k the current optimal line, a step computes lines 1 .. k-1 and accepts
 * if err_{k-1} <= 1 (unless k = 2 or the previous attempt was rejected); gives up
 * if err_{k-1} > 4 n_{k+1} n_k; else computes line k, accepts if err_k <= 1, gives up
 * if err_k > 2 n_{k+1}, else computes line k + 1 and accepts iff err_{k+1} <= 1 (the
 * convergence monitor). The first attempt after a start computes lines until one
 * converges. After an accepted step the next k is the line of least work among
 * kc - 1, kc, kc + 1 (hysteresis FAC3, FAC4) and the next H its H_k; after a rejection
 * k = min(k, kc) (one less when that is cheaper) and H = H_k.
 *
 * Stability check (SEULEX's, in lines 1 and 2 where they have two substeps or more:
 * with n_j = j line 2 only): after the first substep y_1 = y + D_0,
 * one simplified Newton correction of that implicit Euler step,
 *     D' = E_j^-1 (f(s + h_j, y_1) - M D_0 / h_j),
 * must satisfy theta = |D'| / max(1, |D_0|) <= 1 (|.| the 2-norm scaled by sc);
 * otherwise, and when err_j >= max(4 err_{j-1}, 1) (the table diverges, j > 2), when a
 * line is not finite or its matrix singular, the attempt gives up with H / 2.
 * Jacobian reuse (SEULEX): theta also measures how well J fits: a step whose last
 * theta was <= THET = min(1e-4, rtol) keeps J for the next step; otherwise the next
 * start computes a new one. After a rejection J is recomputed at the same start
 * unless it is already from there.
 *
 * Constant steps (rtol = 0): the method's nde__seulex_config.lines lines (4: order 4,
 * nde_method_order) with a fresh Jacobian every step.
 *
 * Dense output (SEULEX's, with its LAMBDA = 1; HW IV.9): the last j increments D_m =
 * y_{m+1} - y_m of line j are kept; the backward difference of order k - 1 of the
 * last k increments of line j, times n_j^k / k!, approximates H^k y^(k)(s + H) / k!
 * with an error expanding in powers of h_j, and is extrapolated over lines k + 1 .. kc
 * into D_k (k = 1 .. kc - 1). The interpolant, of degree kc,
 *     p(s + theta H) = y1 + sum_{k=1}^{kc-1} D_k u^k + c u^kc,   u = theta - 1,
 * matches y1 and those derivatives at the right end and y at the left (c from
 * p(0) = y). With D_k from lines k + 1 .. kc (DENSE_LAMBDA below) it is of order kc - 1: local error O(H^kc) (the battery measures slope 4.0
 * for the kc = 4 of constant steps: the declared dense_order 3). When the solve
 * interpolates (st->dense_hint: dense output, ts, events) the step also controls the
 * interpolant (nde's addition, as gbs's after ODEX): the scaled difference at
 * theta = 1/2 to the interpolant of one degree less must be <= 1, else lines beyond kc
 * are computed (while the table converges) or the step is rejected, and it limits the
 * next step; seulex's steps then depend on the output requested.
 *
 * Counts: nfe (every f-evaluation, the Jacobian's differences included), njac, nlu
 * (one LU per line computed); no Newton iterations. Nothing allocates after init. */
#include "implicit/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define KM 12                /* lines at most (SEULEX's KM): orders up to 12 */
#define KM2 (KM * (KM + 1) / 2)   /* increments kept for the dense output */

/* SEULEX's defaults (seulex.f, WORK(4) .. WORK(13)) */
#define FAC1 0.1             /* H_j >= ~FAC1 H ... */
#define FAC2 4.0             /* ... and <= FAC2 H (per-line exponents) */
#define FAC3 0.7             /* order decreases if W_{k-1} < FAC3 W_k */
#define FAC4 0.9             /* order increases if W_k < FAC4 W_{k-1} */
#define SAFE1 0.6            /* err_j is compared with SAFE1, not 1 */
#define SAFE2 0.93           /* H_j = H SAFE2 ... */
#define WK_FCN 1.0           /* work of an f-evaluation, */
#define WK_JAC 5.0           /* ... of a Jacobian, */
#define WK_DEC 1.0           /* ... of an LU decomposition, */
#define WK_SOL 1.0           /* ... of a forward-backward substitution */
#define WK_ROW (WK_FCN + WK_SOL)
#define THET_MAX 1e-4        /* THET = min(THET_MAX, rtol): keep J while theta <= THET */
#define GIVE_UP_FACTOR 0.5   /* H after a line that gave up */
#define ERR_TERM_MAX 1e15    /* a scaled error term is clipped here (SEULEX) */
#define W1_UNKNOWN 1e30      /* W_1: line 1 has no estimate, so its work is "huge" (SEULEX's
                                W(1) = 1e30: after a step that converged in line 2 from a
                                k above it the next step grows by A_{k+1} / A_2) */
/* SEULEX's LAMBDA (IWORK(5)): D_k is extrapolated over lines k + LAMBDA .. kc. With 0
 * the first increment of line k enters D_k, and on a stiff problem it carries the
 * damped jump of the start's error in the stiff components: on Prothero-Robinson
 * (lambda = -1e5, tol 1e-9) the interpolation control below then cut the steps to
 * 1e-4 (67655 steps); 1 leaves the first increments out. */
#define DENSE_LAMBDA 1

/* The substep numbers of adaptive steps at this rtol and below: SEULEX's default 2, 3,
 * 4, 6, 8, 12, ... (NSEQU = 2); above it, and for constant steps, 1, 2, 3, ... (NSEQU = 3).
 * Measured (nde, both sequences, same run; zoo references, error ||.||_inf relative to
 * |ref| + 1): 1, 2, 3, ... is cheaper at equal error down to about 1e-10 (HIRES at
 * error <= 1e-10: 0.39 against 0.46 ms), but from rtol 1e-11 down its table, whose
 * Aitken-Neville divisors n_j / n_{j-k} - 1 shrink at high orders, loses accuracy to
 * rounding: errors of 14-39 rtol on HIRES and 26-34 on vdp1000 and, there, rejections (nlu
 * 3313 at rtol 1e-11, 7107 at 1e-12; SEULEX itself: 91 rejected steps at 1e-12, 467
 * at 1e-13), where 2, 3, 4, 6, ... stays within 0.7-1.3 rtol on HIRES and 4-12 on
 * vdp1000 at half the LUs (vdp1000 at error <= 1e-10:
 * 1.04 against 1.29 ms). */
#define SEQ2_RTOL 1e-11

typedef struct seulex_state {
    int lines_const;         /* lines of a constant step */
    int k;                   /* current optimal line (SEULEX's K), 2 .. KM - 1 */
    int first;               /* the first attempt after a start */
    int reject;              /* the last attempt was rejected */
    int kc;                  /* lines the last attempt computed */
    int sequence;            /* the current n_j: 2 or 3 as SEULEX's NSEQU */
    int nj[KM + 2];          /* n_j, j = 1 .. KM + 1 (index 0 unused) */
    int banded, autonomous;
    size_t n, ml, mu, ldj, ldab;
    int jac_valid;           /* J holds a Jacobian */
    int jac_fresh;           /* ... computed at the current start (SEULEX's CALJAC) */
    int need_jac;            /* compute J at the next attempt */
    double theta;            /* the last stability check's ratio */
    double thet;             /* THET */
    double h_next;           /* the step proposed after the last attempt */
    double errold;
    double hh[KM + 2], w[KM + 2], a[KM + 2];   /* H_j, W_j, A_j (1-based) */
    double *f0;              /* f~(s, y) at the start */
    double *scal;            /* atol + rtol |y_i| at the start */
    double *yh, *del, *dyh, *wh;   /* dim scratch */
    double *T;               /* KM x dim: the Aitken-Neville table, row l = T(l + 1) */
    double *inc;             /* KM2 x dim: line j's increments from row (j - 1) j / 2 */
    double *D;               /* KM x dim: the dense output's D_k (row k - 1), then scratch */
    double *J, *E;           /* dense dim x dim row-major, or band (ldj, ldab) x dim */
    double *full;            /* banded with a user jac: dim x dim; else NULL */
    int *ipiv;
} seulex_state;

/* n_j of SEULEX's NSEQU = seq (2 or 3), and the work A_j of lines 1 .. j. */
static void set_sequence(seulex_state *G, int seq)
{
    G->sequence = seq;
    for (int j = 1; j <= KM + 1; j++)
        G->nj[j] = seq == 3 ? j : j <= 2 ? j + 1 : 2 * G->nj[j - 2];
    G->a[1] = WK_JAC + G->nj[1] * WK_ROW + WK_DEC;
    G->w[1] = W1_UNKNOWN;   /* line 1 has no error estimate */
    for (int j = 2; j <= KM + 1; j++) G->a[j] = G->a[j - 1] + (G->nj[j] - 1) * WK_ROW + WK_DEC;
}

static size_t header_bytes(void)
{
    return (sizeof(seulex_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static int is_banded(const nde_options *o, size_t n)
{
    return o && (o->jac_lower || o->jac_upper) && o->jac_lower < n && o->jac_upper < n;
}

static size_t seulex_size_problem(const nde_method *m, const nde_ode *ode, const nde_options *o)
{
    (void)m;
    const size_t n = ode->dim;
    size_t nn, total = 0, bytes;
    if (nde__size_mul(n, n, &nn)) return 0;
    /* f0, scal, yh, del, dyh, wh, ipiv (as doubles), T, inc, D */
    if (nde__size_muladd(&total, 7 + 2 * KM + KM2, n)) return 0;
    if (is_banded(o, n)) {
        size_t ml = o->jac_lower, mu = o->jac_upper;
        if (nde__size_muladd(&total, ml + mu + 1, n) || nde__size_muladd(&total, 2 * ml + mu + 1, n)) return 0;
        if (ode->jac && nde__size_add(total, nn, &total)) return 0;
    } else if (nde__size_muladd(&total, 2, nn)) {
        return 0;
    }
    if (nde__size_mul(total, sizeof(double), &bytes) || nde__size_add(bytes, header_bytes(), &bytes)) return 0;
    return bytes;
}

static size_t seulex_size(const nde_method *m, size_t dim)
{
    nde_ode ode = { .dim = dim };
    return seulex_size_problem(m, &ode, NULL);
}

static void seulex_init(nde__int_stepper *st)
{
    seulex_state *G = st->state;
    const nde_options *o = st->opts;
    const nde__seulex_config *cfg = st->m->tableau;
    const size_t n = st->dim;
    memset(G, 0, sizeof *G);
    G->lines_const = cfg ? cfg->lines : NDE__SEULEX_CONST_LINES;
    if (G->lines_const < 1) G->lines_const = 1;
    if (G->lines_const > KM) G->lines_const = KM;
    G->n = n;
    G->banded = is_banded(o, n);
    G->ml = G->banded ? o->jac_lower : 0;
    G->mu = G->banded ? o->jac_upper : 0;
    G->ldj = G->ml + G->mu + 1;
    G->ldab = 2 * G->ml + G->mu + 1;
    G->autonomous = o && o->autonomous;
    double *v = (double *)((char *)st->state + header_bytes());
    G->f0 = v; v += n;
    G->scal = v; v += n;
    G->yh = v; v += n;
    G->del = v; v += n;
    G->dyh = v; v += n;
    G->wh = v; v += n;
    G->ipiv = (int *)(void *)v; v += n;   /* n doubles hold n ints */
    G->T = v; v += (size_t)KM * n;
    G->inc = v; v += (size_t)KM2 * n;
    G->D = v; v += (size_t)KM * n;
    if (G->banded) {
        G->J = v; v += G->ldj * n;
        G->E = v; v += G->ldab * n;
        if (st->ode->jac) G->full = v;
    } else {
        G->J = v; v += n * n;
        G->E = v;
    }
    set_sequence(G, 3);
}

static int seulex_dense_degree(const nde_method *m) { (void)m; return KM; }

/* SEULEX's first line count: more lines at tighter tolerances. */
static int initial_k(double rtol, double atol)
{
    /* clamped in double: rtol + atol may overflow to Inf, and (int)-Inf is undefined */
    const double k = -log10(rtol + atol + 1e-300) * 0.6 + 1.5;
    return !(k >= 2.0) ? 2 : k > KM - 2 ? KM - 2 : (int)k;
}

/* A start from scratch: f(s, y), and the Jacobian forgotten (a new solve, or a restart
 * after a jump or an event). */
static int seulex_start(nde__int_stepper *st, double s, const double *y)
{
    seulex_state *G = st->state;
    const nde__seulex_config *cfg = st->m->tableau;
    int seq = cfg ? cfg->sequence : 0;
    if (seq != 2 && seq != 3) seq = st->rtol > 0.0 && st->rtol <= SEQ2_RTOL ? 2 : 3;
    set_sequence(G, seq);
    G->k = initial_k(st->rtol, st->atol);
    G->first = 1;
    G->reject = 0;
    G->need_jac = 1;
    G->jac_fresh = 0;
    G->thet = st->rtol > 0.0 ? fmin(THET_MAX, st->rtol) : THET_MAX;
    G->theta = 2.0 * G->thet;
    G->errold = 1.0;
    G->h_next = 0.0;
    st->stats->nfe++;
    return st->f(s, y, G->f0, st->user);
}

static const double *seulex_start_f(const nde__int_stepper *st)
{
    const seulex_state *G = st->state;
    return G->f0;
}

static int jacobian(nde__int_stepper *st, double s, const double *y)
{
    seulex_state *G = st->state;
    /* differences: increments scaled by the tolerances (Robertson's y2 ~ 1e-13 needs
     * them: 91 steps at rtol 1e-6 against 361 with SEULEX's sqrt(eps max(1e-5, |y|))),
     * except with a mass matrix, where an algebraic row's rounding (|f| ~ 1 from
     * terms of size 1) over an increment as small as sqrt(eps) atol / rtol spoils J:
     * Robertson's DAE took 8898 steps with them and 371 with SEULEX's */
    int rc = G->banded        ? nde__impl_jacobian_band(st, s, y, G->f0, G->ml, G->mu, G->J, G->ldj, G->yh, G->dyh,
                                                        G->full)
             : st->ode->mass ? nde__impl_jacobian(st, s, y, G->f0, G->J, G->yh, G->dyh)
                             : nde__impl_jacobian_scaled(st, s, y, G->f0, G->J, G->yh, G->dyh);
    if (rc) {
        G->jac_valid = 0;
        return nde__impl_jacobian_failure(st, rc);
    }
    G->jac_valid = 1;
    G->jac_fresh = 1;
    G->need_jac = 0;
    return 0;
}

/* E = M / hj - J, factored. 0, or 1 with st->why. */
static int factor(nde__int_stepper *st, double hji)
{
    seulex_state *G = st->state;
    const size_t n = G->n;
    const double *M = st->ode->mass;
    int rc;
    st->stats->nlu++;
    if (G->banded) {
        const size_t ml = G->ml, mu = G->mu;
        for (size_t j = 0; j < n; j++) {
            size_t i0 = j > mu ? j - mu : 0, i1 = j + ml < n ? j + ml : n - 1;
            double *e = G->E + j * G->ldab;
            const double *jb = G->J + j * G->ldj;
            for (size_t i = i0; i <= i1; i++) {
                double mij = M ? M[i * n + j] : (double)(i == j);
                e[ml + mu + i - j] = mij * hji - jb[mu + i - j];
            }
        }
        rc = nde__num_band_lu_factor(n, ml, mu, G->E, G->ldab, G->ipiv);
    } else {
        const size_t nn = n * n;
        if (M) for (size_t q = 0; q < nn; q++) G->E[q] = M[q] * hji - G->J[q];
        else {
            for (size_t q = 0; q < nn; q++) G->E[q] = -G->J[q];
            for (size_t i = 0; i < n; i++) G->E[i * n + i] += hji;
        }
        rc = nde__num_lu_factor(n, G->E, n, G->ipiv);
    }
    if (rc == NDE__NUM_SINGULAR) { st->why = "the iteration matrix M/h_j - J is singular"; return 1; }
    if (rc) { st->why = "the iteration matrix M/h_j - J is not finite"; return 1; }
    return 0;
}

static void solve(const seulex_state *G, double *b)
{
    if (G->banded) nde__num_band_lu_solve(G->n, G->ml, G->mu, G->E, G->ldab, G->ipiv, b);
    else nde__num_lu_solve(G->n, G->E, G->n, G->ipiv, 1, b, G->n);
}

/* out = M x (row-major dim x dim), or x without a mass matrix. */
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

/* sqrt(sum_i (v_i / scal_i)^2) over the error components; +Inf if not finite. */
static double scaled_2norm(const nde__int_stepper *st, const double *v)
{
    const seulex_state *G = st->state;
    double sum = 0.0;
    for (size_t i = 0; i < st->err_dim; i++) {
        double u = v[i] / G->scal[i];
        sum += u * u;
    }
    return isfinite(sum) ? sqrt(sum) : INFINITY;
}

/* Line j over [s, s + H] from y into T(j), extrapolated; for j >= 2 of an adaptive
 * step *err and the line's H_j, W_j. *give_up: the stability check failed, the table
 * diverges or the line is not finite. Returns 0, f's code, or 1 with st->why (a
 * singular matrix). */
static int run_line(nde__int_stepper *st, int j, double s, double H, const double *y, int adaptive, double *err,
                    int *give_up)
{
    seulex_state *G = st->state;
    const size_t n = G->n;
    const int nj = G->nj[j];
    const double hj = H / nj, hji = 1.0 / hj;
    double *yh = G->yh, *del = G->del, *dyh = G->dyh, *wh = G->wh;
    double *inc = G->inc + (size_t)(j - 1) * (size_t)j / 2 * n;
    int rc;
    *give_up = 0;
    if ((rc = factor(st, hji))) return rc;
    if (G->autonomous) {
        memcpy(del, G->f0, n * sizeof *del);
    } else {
        st->stats->nfe++;
        if ((rc = st->f(s + hj, y, del, st->user))) return rc;
    }
    memcpy(yh, y, n * sizeof *yh);
    solve(G, del);
    /* the dense output needs the last j increments D_{nj-j} .. D_{nj-1} (seulex.f) */
    const int skip = nj - j;
    if (skip == 0) memcpy(inc, del, n * sizeof *inc);
    for (int m = 1; m < nj; m++) {
        for (size_t i = 0; i < n; i++) yh[i] += del[i];
        st->stats->nfe++;
        if ((rc = st->f(s + (G->autonomous ? m : m + 1) * hj, yh, dyh, st->user))) return rc;
        if (m == 1 && j <= 2 && adaptive) {
            /* the stability check: one simplified Newton correction of the first
             * implicit Euler substep, D' = E^-1 (f(s + hj, y_1) - M D_0 / hj) */
            double del1 = scaled_2norm(st, del);
            mass_times(st, del, wh);
            const double *fy1 = dyh;
            if (!G->autonomous) {
                /* dyh is at s + 2 hj here: f at s + hj separately (wh keeps M D_0) */
                st->stats->nfe++;
                if ((rc = st->f(s + hj, yh, del, st->user))) return rc;
                fy1 = del;
            }
            for (size_t i = 0; i < n; i++) del[i] = fy1[i] - wh[i] * hji;
            solve(G, del);
            double del2 = scaled_2norm(st, del);
            G->theta = del2 / fmax(1.0, del1);
            if (!(G->theta <= 1.0)) {
                *err = isfinite(G->theta) ? G->theta : INFINITY;
                *give_up = 1;
                return 0;
            }
        }
        solve(G, dyh);
        memcpy(del, dyh, n * sizeof *del);
        if (m >= skip) memcpy(inc + (size_t)(m - skip) * n, del, n * sizeof *inc);
    }
    double *Tj = G->T + (size_t)(j - 1) * n;
    for (size_t i = 0; i < n; i++) Tj[i] = yh[i] + del[i];
    /* extrapolation: T(l - 1) = T(l) + (T(l) - T(l - 1)) / (n_j / n_{l-1} - 1) */
    for (int l = j; l >= 2; l--) {
        const double fac = (double)nj / G->nj[l - 1] - 1.0;
        double *Tl = G->T + (size_t)(l - 1) * n, *Tm = G->T + (size_t)(l - 2) * n;
        for (size_t i = 0; i < n; i++) Tm[i] = Tl[i] + (Tl[i] - Tm[i]) / fac;
    }
    if (j < 2 || !adaptive) return 0;
    double sum = 0.0;
    for (size_t i = 0; i < st->err_dim; i++) {
        double u = fabs(G->T[i] - G->T[n + i]) / G->scal[i];
        if (!(u <= ERR_TERM_MAX)) {
            if (!isfinite(u)) { *err = INFINITY; *give_up = 1; return 0; }   /* NaN too */
            u = ERR_TERM_MAX;
        }
        sum += u * u;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(G->T[i])) { *err = INFINITY; *give_up = 1; return 0; }
    const double e = sqrt(sum / (double)st->err_dim);
    *err = e;
    if (j > 2 && e >= G->errold) { *give_up = 1; return 0; }
    G->errold = fmax(4.0 * e, 1.0);
    const double expo = 1.0 / j, facmin = pow(FAC1, expo);
    const double fac = fmin(FAC2 / facmin, fmax(facmin, pow(e / SAFE1, expo) / SAFE2));
    G->hh[j] = H / fac;
    G->w[j] = G->a[j] / G->hh[j];
    return 0;
}

/* The next line count and step after an accepted attempt with kc lines (seulex.f). */
static void control_accept(seulex_state *G, double H)
{
    nde__int_extrap_accept(KM, FAC3, FAC4, G->w, G->hh, G->a, H, G->kc, &G->k, &G->reject, &G->h_next);
}

/* After a rejection by the convergence monitor or the last line's error. */
static void control_reject(seulex_state *G)
{
    nde__int_extrap_reject(KM, FAC3, G->w, G->hh, G->kc, &G->k, &G->reject, &G->h_next);
    if (!G->jac_fresh) G->need_jac = 1;
}

/* D_k = H^k y^(k)(s + H) / k!, k = 1 .. kc - 1, into D rows 0 .. kc - 2, from the
 * backward differences of the increments extrapolated over lines k + DENSE_LAMBDA .. kc. */
static void right_derivatives(seulex_state *G, int kc)
{
    const size_t n = G->n;
    double *X = G->D;   /* rows: the lines' values for one k, extrapolated in place */
    double binom[KM];
    for (int k = 1; k < kc; k++) {
        /* binomials C(k - 1, l) */
        binom[0] = 1.0;
        for (int l = 1; l < k; l++) binom[l] = binom[l - 1] * (k - l) / l;
        double kfact = 1.0;
        for (int q = 2; q <= k; q++) kfact *= q;
        for (int j = k + DENSE_LAMBDA; j <= kc; j++) {
            const double *inc = G->inc + (size_t)(j - 1) * (size_t)j / 2 * n;
            const int nj = G->nj[j];
            const double scale = pow((double)nj, k) / kfact;
            double *row = X + (size_t)(j - 1) * n;
            for (size_t i = 0; i < n; i++) row[i] = 0.0;
            for (int l = 0; l < k; l++) {   /* nabla^(k-1) of D_{nj-1}: sum (-1)^l C(k-1, l) D_{nj-1-l} */
                const double c = (l % 2 ? -binom[l] : binom[l]) * scale;
                const double *d = inc + (size_t)(j - 1 - l) * n;   /* line j keeps its last j */
                for (size_t i = 0; i < n; i++) row[i] += c * d[i];
            }
        }
        /* Aitken-Neville over lines k .. kc, in powers of h: the value ends in row k - 1 */
        for (int j = k + DENSE_LAMBDA + 1; j <= kc; j++)
            for (int l = j; l > k + DENSE_LAMBDA; l--) {
                const double fac = (double)G->nj[j] / G->nj[l - 1] - 1.0;
                double *Xl = X + (size_t)(l - 1) * n, *Xm = X + (size_t)(l - 2) * n;
                for (size_t i = 0; i < n; i++) Xm[i] = Xl[i] + (Xl[i] - Xm[i]) / fac;
            }
        if (DENSE_LAMBDA) memcpy(X + (size_t)(k - 1) * n, X + (size_t)(k - 1 + DENSE_LAMBDA) * n, n * sizeof *X);
        /* rows k - 1 .. kc - 1 of X were this k's scratch; D_k is row k - 1, which the
         * next k (rows k .. kc - 1) leaves alone */
    }
}

/* The interpolation error estimate of an accepted step (nde's, not SEULEX's; ODEX and
 * gbs control theirs likewise): the scaled RMS difference at theta = 1/2 between the
 * interpolant of degree kc and the one of degree kc - 1 through y, y1 and D_1 ..
 * D_{kc-2}. Needs right_derivatives' D_k. */
static double interpolation_error(const nde__int_stepper *st, const double *y, const double *y1, int kc)
{
    const seulex_state *G = st->state;
    const size_t n = G->n;
    const double u = -0.5;
    double sum = 0.0;
    for (size_t i = 0; i < st->err_dim; i++) {
        /* p(u) = y1 + sum_{k<K} D_k u^k + c_K u^K with c_K (-1)^K = y - y1 - sum_{k<K} D_k (-1)^k,
         * for K = kc and K = kc - 1 */
        double sum_u = 0.0, sum_m = 0.0, uk = 1.0, mk = 1.0;
        for (int k = 1; k < kc - 1; k++) {
            uk *= u; mk = -mk;
            const double D = G->D[(size_t)(k - 1) * n + i];
            sum_u += D * uk; sum_m += D * mk;
        }
        const double Dlast = kc >= 2 ? G->D[(size_t)(kc - 2) * n + i] : 0.0;   /* D_{kc-1} */
        const double uK1 = uk * u, mK1 = -mk;   /* u^(kc-1), (-1)^(kc-1) */
        const double rest_low = y[i] - y1[i] - sum_m;               /* c_{kc-1} (-1)^(kc-1) */
        const double rest_full = rest_low - Dlast * mK1;            /* c_kc (-1)^kc */
        const double p_low = sum_u + rest_low * mK1 * uK1;
        const double p_full = sum_u + Dlast * uK1 + rest_full * (-mK1) * (uK1 * u);
        const double e = (p_full - p_low) / G->scal[i];
        sum += e * e;
    }
    double r = sqrt(sum / (double)st->err_dim);
    return isfinite(r) ? r : INFINITY;
}

static int seulex_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    seulex_state *G = st->state;
    const size_t n = G->n;
    int rc, give_up = 0;
    double e = INFINITY;
    G->h_next = h * GIVE_UP_FACTOR;   /* if a line gives up or f asks for a smaller step */
    for (size_t i = 0; i < n; i++) {
        double sc = st->atol + st->rtol * fabs(y[i]);
        G->scal[i] = sc > 0.0 ? sc : DBL_MIN;
    }
    if (!err) {   /* constant steps: a fixed number of lines, a fresh Jacobian */
        if ((rc = jacobian(st, s, y))) return rc;
        for (int j = 1; j <= G->lines_const; j++)
            if ((rc = run_line(st, j, s, h, y, 0, &e, &give_up))) return rc;
        G->kc = G->lines_const;
        memcpy(y1, G->T, n * sizeof *y1);
        return 0;
    }
    if (!G->jac_valid || G->need_jac || (G->theta > G->thet && !G->jac_fresh))
        if ((rc = jacobian(st, s, y))) return rc;
    const int k = G->k, first = G->first;
    int accepted = 0;
    G->first = 0;
    G->errold = 1.0;
#define LINE(J)                                                             \
    do {                                                                    \
        if ((rc = run_line(st, (J), s, h, y, 1, &e, &give_up))) return rc;  \
        G->kc = (J);                                                        \
        if (give_up) goto gave_up;                                          \
    } while (0)
    if (first) {
        for (int j = 1; j <= k; j++) {
            LINE(j);
            if (j > 1 && e <= 1.0) { accepted = 1; goto done; }
        }
        goto hope;
    }
    for (int j = 1; j <= k - 1; j++) LINE(j);
    if (k > 2 && !G->reject) {
        if (e <= 1.0) { accepted = 1; goto done; }
        if (e > 4.0 * G->nj[k + 1] * G->nj[k]) goto done;
    }
    LINE(k);
    if (e <= 1.0) { accepted = 1; goto done; }
hope:   /* hope for convergence in line k + 1 */
    if (e > 2.0 * G->nj[k + 1]) goto done;
    LINE(k + 1);
    accepted = e <= 1.0;
#undef LINE
done:
    memcpy(y1, G->T, n * sizeof *y1);
    if (!accepted) {
        control_reject(G);
        *err = e > 1.0 ? e : nextafter(1.0, 2.0);   /* rejected: the loop needs err > 1 */
        return 0;
    }
    /* a solve that interpolates (dense output, ts, events) also needs the step's
     * interpolant to the tolerance (nde's rule, as gbs's after ODEX): lines beyond kc
     * improve it (the solution's accuracy may need only two on a problem whose
     * solution is slaved to a smooth forcing: Prothero-Robinson), as long as the table
     * converges; the step is rejected if the interpolant does not */
    double ie = 0.0;
    if (st->dense_hint) {
        for (;;) {
            right_derivatives(G, G->kc);
            ie = interpolation_error(st, y, y1, G->kc);
            if (ie <= 1.0 || G->kc >= KM) break;
            double e2;
            if ((rc = run_line(st, G->kc + 1, s, h, y, 1, &e2, &give_up))) return rc;
            if (give_up || !(e2 <= 1.0)) { give_up = 0; break; }   /* keep kc's solution */
            G->kc++;
            e = e2;
            memcpy(y1, G->T, n * sizeof *y1);
        }
    }
    const double expo = 1.0 / G->kc;
    if (st->dense_hint) {
        if (ie > 1.0) {
            control_reject(G);
            G->h_next = fmin(G->h_next, h * fmax(FAC1, SAFE2 * pow(ie, -expo)));
            *err = nextafter(1.0, 2.0);
            return 0;
        }
    }
    control_accept(G, h);
    if (st->dense_hint) G->h_next = fmin(G->h_next, h * (ie > 0.0 ? fmin(FAC2, SAFE2 * pow(ie, -expo)) : FAC2));
    *err = e;
    return 0;
gave_up:
    G->reject = 1;
    if (!G->jac_fresh) G->need_jac = 1;
    G->h_next = h * GIVE_UP_FACTOR;
    memcpy(y1, y, n * sizeof *y1);
    *err = isfinite(e) ? fmax(e, nextafter(1.0, 2.0)) : INFINITY;   /* rejected either way */
    return 0;
}

/* The loop's step_factor hook: the step the order and step control chose, as a factor
 * of the attempt's h; after a failed attempt (a singular matrix, f asking for a smaller
 * step: err = +Inf without a call of control_*) half the step and a new Jacobian. */
static double seulex_step_factor(nde__int_stepper *st, double h, double err, int accepted)
{
    seulex_state *G = st->state;
    if (!accepted && isinf(err)) {
        G->reject = 1;
        if (!G->jac_fresh) G->need_jac = 1;
        return GIVE_UP_FACTOR;
    }
    return G->h_next / h;
}

static int seulex_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                         unsigned what, double *P, int *start_valid)
{
    seulex_state *G = st->state;
    const size_t n = G->n;
    G->jac_fresh = 0;
    if (G->theta > G->thet) G->need_jac = 1;
    if (what & NDE__INT_NEED_DENSE) {
        const int kc = G->kc;
        right_derivatives(G, kc);
        /* p = y1 + sum_{k=1}^{kc-1} D_k u^k + c u^kc, u = theta - 1, c (-1)^kc =
         * y - y1 - sum D_k (-1)^k; to monomials in theta with u^m = sum_j C(m, j)
         * theta^j (-1)^(m - j) */
        double c[KM + 1], ct[KM + 1];
        for (size_t i = 0; i < n; i++) {
            c[0] = y1[i];
            double rest = y[i] - y1[i];
            for (int k = 1; k < kc; k++) {
                c[k] = G->D[(size_t)(k - 1) * n + i];
                rest -= k % 2 ? -c[k] : c[k];
            }
            c[kc] = kc % 2 ? -rest : rest;
            for (int q = 0; q <= kc; q++) ct[q] = 0.0;
            for (int m = 0; m <= kc; m++) {
                double binom = 1.0, sign = 1.0;   /* C(m, q) (-1)^(m - q), q from m down */
                for (int q = m; q >= 0; q--) {
                    ct[q] += c[m] * binom * sign;
                    binom = binom * q / (m - q + 1);
                    sign = -sign;
                }
            }
            ct[0] = y[i];
            double acc = y1[i] - y[i];   /* the top coefficient from p(1) = y1 exactly */
            for (int q = 1; q < kc; q++) acc -= ct[q];
            ct[kc] = acc;
            for (int q = 0; q <= KM; q++) P[(size_t)q * n + i] = q <= kc ? ct[q] : 0.0;
        }
    }
    *start_valid = 0;
    if (what & NDE__INT_CONTINUE) {
        st->stats->nfe++;
        int rc = st->f(s + h, y1, G->f0, st->user);
        if (rc < 0) return rc;
        *start_valid = rc == 0;
    }
    return 0;
}

#define MSG(...) nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, __VA_ARGS__)

/* A mass matrix with a banded Jacobian must lie inside the band (E = M/h_j - J is
 * factored as a band matrix). */
static int seulex_check_start(nde__int_stepper *st, double s, const double *y, char *msg)
{
    (void)s; (void)y;
    const seulex_state *G = st->state;
    const double *M = st->ode->mass;
    const size_t n = G->n;
    if (!M || !G->banded) return NDE_OK;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (M[i * n + j] != 0.0 && (i > j + G->ml || j > i + G->mu))
                return MSG("mass[%zu] (row %zu, column %zu) = %g lies outside the band (jac_lower = %zu, "
                           "jac_upper = %zu)", i * n + j, i, j, M[i * n + j], G->ml, G->mu);
    return NDE_OK;
}

static const nde__int_ops seulex_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .features = NDE__INT_FEATURE_MASS,
    .size = seulex_size,
    .init = seulex_init,
    .dense_degree = seulex_dense_degree,
    .start = seulex_start,
    .start_f = seulex_start_f,
    .attempt = seulex_attempt,
    .accept = seulex_accept,
    .step_factor = seulex_step_factor,
    .size_problem = seulex_size_problem,
    .check_start = seulex_check_start,
};

static const nde__seulex_config seulex_config = { .lines = NDE__SEULEX_CONST_LINES };

/* order: constant steps (NDE__SEULEX_CONST_LINES lines); embedded_order sets only the
 * loop's automatic first step; stages: f-evaluations of a constant step with a user
 * Jacobian, non-autonomous: f(t0, y0) and 1 + 2 + 3 + 4 in the lines */
const nde_method nde__seulex = {
    .name = "seulex",
    .description = "linearly implicit Euler extrapolation (Deuflhard 1985; Hairer & Wanner's SEULEX, 1996): "
                   "step sequence 1, 2, 3, ..., Deuflhard's order and step control (orders 2-12), "
                   "SEULEX's dense output",
    .kind = NDE_METHOD_EXTRAPOLATION, .ops = &seulex_ops, .tableau = &seulex_config,
    .stages = 11, .order = NDE__SEULEX_CONST_LINES, .embedded_order = NDE__SEULEX_CONST_LINES - 1, .fsal = 0,
    .dense_order = NDE__SEULEX_CONST_LINES - DENSE_LAMBDA,
};
