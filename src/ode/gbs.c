/* gbs: the Gragg-Bulirsch-Stoer extrapolation method with Deuflhard's order and
 * step-size control, as in Hairer, Norsett & Wanner, Solving Ordinary Differential
 * Equations I, 2nd ed., Springer 1993, sec. II.9, and their code ODEX (odex.f), as a
 * stepper of the integrate loop (NDE_METHOD_EXTRAPOLATION).
 *
 * One step of size H from (s, y). Line j (j = 1 .. KM) runs the explicit midpoint rule
 * with n_j = 2j substeps of h_j = H / n_j (the harmonic sequence, ODEX's default):
 *     y_0 = y,  y_1 = y_0 + h_j f(s, y_0),  y_{m+1} = y_{m-1} + 2 h_j f(s + m h_j, y_m),
 * and Gragg's smoothing step T_{j,1} = (y_{n-1} + y_n + h_j f(s + H, y_n)) / 2, whose
 * error expands in powers of h_j^2: n_j evaluations besides the shared f(s, y). The
 * Aitken-Neville table
 *     T_{j,k+1} = T_{j,k} + (T_{j,k} - T_{j-1,k}) / ((n_j / n_{j-k})^2 - 1)
 * makes T_{j,j} of order 2j; err_j = ||T_{j,j} - T_{j,j-1}|| (the loop's scaled RMS
 * norm, scale atol + rtol max(|y|, |T_{j,j}|)) estimates the error of T_{j,j-1}, and
 * the step's solution is T_{kc,kc} of the last line kc computed (local extrapolation,
 * as ODEX).
 *
 * Order and step (ODEX): each line j >= 2 proposes H_j = H / fac_j with
 *     fac_j = min(FAC2 / fmin_j, max(fmin_j, (err_j / SAFE1)^(1/(2j-1)) / SAFE2)),
 *     fmin_j = FAC1^(1/(2j-1)),
 * and a work per unit step W_j = A_j / H_j, A_j = 1 + n_1 + ... + n_j evaluations.
 * With k the current optimal line, a step computes lines 1 .. k-1 and accepts if
 * err_{k-1} <= 1; else it gives up early if err_{k-1} > (n_{k+1} n_k / n_1^2)^2 (the
 * lines k and k+1 would not converge), else computes line k, accepts if err_k <= 1,
 * gives up if err_k > (n_{k+1} / n_1)^2, else computes line k + 1 and accepts iff
 * err_{k+1} <= 1 (the convergence monitor, HNW (9.27)-(9.28)). The first step after a
 * start computes lines until one converges. After the step the next k is the line of
 * least work W among kc - 1, kc, kc + 1 (with the hysteresis FAC3, FAC4), the next H
 * its H_k, and after a rejection H = H_k of a k not above the lines that ran. Lines
 * whose error grows (err_j >= max(4 err_{j-1}, 1)), a non-finite line, or a first
 * midpoint substep whose slope changed by more than twice ||f|| (ODEX's stability
 * check, lines 1 and 2) give up at once with H * SAFE3. The loop takes the proposal
 * through the nde__int_ops.step_factor hook instead of its PID controller, then clips it
 * (dtmax, t1, step_ts) as for every family.
 *
 * Constant steps (rtol = 0): GBS_CONST_LINES lines, order 2 GBS_CONST_LINES, which is
 * nde_method_order; adaptive steps use orders 4 .. 2 (KM - 1) + 2.
 *
 * Dense output (HNW II.9's interpolant for ODEX, on the lines of the harmonic sequence
 * with n_j / 2 odd, n = 2, 6, 10, 14, 18, which are ODEX's dense-output sequence 4i - 2):
 * at a fixed parity of the substep index the midpoint rule's values and f values expand
 * in h_j^2 (HNW Thm II.9.1), so the midpoint value y_mu (mu = n/2) and the central
 * differences of f around it, extrapolated over I such lines, give
 * D_k = H^k y^(k)(s + H/2), k = 0 .. 2I - 1; the interpolant of degree 2I + 3 matches
 * them and y, H f at both ends (stored with degree 13). Its order is 2I - 1 >= 5
 * (D_0 carries the midpoint rule's O(H^(2I)) error: with I = 3 the battery measures a
 * local slope 6.0); the declared dense_order is 5. Lines the step did not run are run
 * for it (in full: the differences need their f values), from I = 3 up to 5 until the
 * last two extrapolations of y_mu agree to the tolerance. When the solve may interpolate
 * (st->dense_hint: dense output, ts, events) that convergence is part of the step's
 * acceptance, as ODEX rejects steps whose interpolation error estimate is large, and the
 * next step is limited by it: gbs's steps then depend on the output requested. Dense
 * output costs f(s + H, y1) (the next step's first evaluation anyway) plus the lines
 * 1, 3, 5, 7, 9 the step did not run (up to 2 + 6 + 10 + 14 + 18 evaluations). */
#include "ode/gbs.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define KM 9                 /* lines at most (ODEX's KM): orders up to 18 */
#define GBS_CONST_LINES 4    /* lines of a constant step: order 8 */
#define N_MID ((KM + 1) / 2) /* lines with n_j / 2 odd: j = 1, 3, 5, 7, 9 */
#define MID_MIN_LINES 3      /* midpoint values extrapolated from at least this many
                                lines, and from more until the last two agree */

/* ODEX's defaults (odex.f): step-size safety factors and bounds, order hysteresis */
#define SAFE1 0.65           /* err_j is compared with SAFE1, not 1 */
#define SAFE2 0.94           /* H_j = H SAFE2 ... */
#define SAFE3 0.5            /* H after a diverging or unstable line */
#define FAC1 0.02            /* H_j >= ~FAC1 H ... */
#define FAC2 4.0             /* ... and <= FAC2 H (per-line exponents as in ODEX) */
#define FAC3 0.9             /* order decreases if W_{k-1} < FAC3 W_k */
#define FAC4 0.9             /* order increases if W_k < FAC4 W_{k-1} */
#define STAB_QUOT 4.0        /* stability check: ||f(y_1) - f(y_0)||^2 > 4 ||f(y_0)||^2 */

/* n_j, j = 1 .. KM (index 0 unused) */
static const int seq[KM + 2] = { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20 };

typedef struct gbs_state {
    int k;                   /* current optimal line (ODEX's K), 2 .. KM - 1 */
    int first;               /* the attempt after a start: lines until one converges */
    int reject;              /* the last attempt was rejected */
    int kc;                  /* lines the last attempt computed */
    double h_next;           /* the step proposed after the last attempt */
    double errold;
    double hh[KM + 2], w[KM + 2], a[KM + 2];   /* H_j, W_j, A_j (1-based) */
    double *f0, *f1;         /* f(s, y) of the start; f(s + H, y1) */
    double *T;               /* KM x dim: the Aitken-Neville table, row l = T(l + 1) */
    double *M;               /* N_MID x dim: midpoint values, extrapolated in place */
    double *F;               /* the f values f_0 .. f_n of the odd-parity lines i = 1 ..
                                N_MID (n = 4i - 2), line i from F + F_off[i] dim */
    double *D;               /* (K_MAX + 1) x dim: H^k y^(k)(s + H/2), then scratch */
    int n_midv;              /* odd-parity lines run in full by the last attempt */
    double *ya, *yb, *yc, *fk;   /* the midpoint rule's y_{m-1}, y_m, y_{m+1}, f */
} gbs_state;

static size_t header_bytes(void)
{
    return (sizeof(gbs_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

#if KM != NDE__GBS_MAX_LINES
#error "gbs.h's NDE__GBS_MAX_LINES must be KM"
#endif

int nde__gbs_substeps(int j) { return seq[j]; }

int nde__gbs_lines(const nde__int_stepper *st)
{
    const gbs_state *G = st->state;
    return G->kc;
}

/* f values of the odd-parity lines: sum over i = 1 .. N_MID of n + 1 = 4i - 1 */
#define F_VECTORS (2 * N_MID * (N_MID + 1) - N_MID)
/* derivatives at the midpoint for the dense output: k = 0 .. 2 N_MID - 1 */
#define K_MAX (2 * N_MID - 1)
#define GBS_DEGREE (K_MAX + 4)
#define GBS_VECTORS (2 + KM + N_MID + F_VECTORS + (K_MAX + 1) + 4)

static size_t f_off(int i) { return (size_t)(2 * (i - 1) * i - (i - 1)); }   /* sum_{l<i} (4l - 1) */

static size_t gbs_size(const nde_method *m, size_t dim)
{
    (void)m;
    size_t n = 0;
    if (nde__size_muladd(&n, GBS_VECTORS, dim) || nde__size_mul(n, sizeof(double), &n) ||
        nde__size_add(n, header_bytes(), &n))
        return 0;
    return n;
}

static void gbs_init(nde__int_stepper *st)
{
    gbs_state *G = st->state;
    const size_t dim = st->dim;
    double *v = (double *)((char *)st->state + header_bytes());
    G->f0 = v; v += dim;
    G->f1 = v; v += dim;
    G->T = v; v += (size_t)KM * dim;
    G->M = v; v += (size_t)N_MID * dim;
    G->F = v; v += (size_t)F_VECTORS * dim;
    G->D = v; v += (size_t)(K_MAX + 1) * dim;
    G->ya = v; v += dim;
    G->yb = v; v += dim;
    G->yc = v; v += dim;
    G->fk = v;
    G->a[0] = 1.0;   /* f(s, y) */
    for (int j = 1; j <= KM + 1; j++) G->a[j] = G->a[j - 1] + seq[j];
    G->k = 2; G->first = 1; G->reject = 0; G->kc = 0; G->h_next = 0.0; G->n_midv = 0;
}

static int gbs_dense_degree(const nde_method *m) { (void)m; return GBS_DEGREE; }

/* ODEX's first line count: more lines at tighter tolerances. */
static int initial_k(double rtol)
{
    const double k = -log10(rtol + 1e-40) * 0.6 + 1.5;   /* clamped in double, as seulex's */
    return !(k >= 2.0) ? 2 : k > KM - 1 ? KM - 1 : (int)k;
}

static int gbs_start(nde__int_stepper *st, double s, const double *y)
{
    gbs_state *G = st->state;
    G->k = initial_k(st->rtol);
    G->first = 1;
    G->reject = 0;
    G->errold = 1.0;
    st->stats->nfe++;
    return st->f(s, y, G->f0, st->user);
}

static const double *gbs_start_f(const nde__int_stepper *st)
{
    const gbs_state *G = st->state;
    return G->f0;
}

/* Scaled RMS of (u - v) over the first n components, scale atol + rtol max(|y|, |u|);
 * scaled by the largest term when the squares would overflow. +Inf if not finite. */
static double scaled_norm(const nde__int_stepper *st, const double *y, const double *u, const double *v)
{
    const size_t n = st->err_dim;
    double sum = 0.0;
    for (size_t d = 0; d < n; d++) {
        double sc = st->atol + st->rtol * fmax(fabs(y[d]), fabs(u[d]));
        double e = (u[d] - v[d]) / sc;
        sum += e * e;
    }
    if (isfinite(sum)) return sqrt(sum / (double)n);
    double big = 0.0;
    for (size_t d = 0; d < n; d++) {
        double sc = st->atol + st->rtol * fmax(fabs(y[d]), fabs(u[d]));
        double e = fabs((u[d] - v[d]) / sc);
        if (!(e <= big)) big = e;   /* NaN sticks */
    }
    if (!isfinite(big)) return INFINITY;
    sum = 0.0;
    for (size_t d = 0; d < n; d++) {
        double sc = st->atol + st->rtol * fmax(fabs(y[d]), fabs(u[d]));
        double e = (u[d] - v[d]) / sc / big;
        sum += e * e;
    }
    return big * sqrt(sum / (double)n);
}

/* Outcome of one line. */
enum { LINE_OK = 0, LINE_GIVE_UP = 1 };

/* Runs the midpoint rule of line j over [s, s + H] from y, to the midpoint only when
 * `half` (for dense output: stores y_{n/2} and returns), else to the end with the
 * smoothing step into T(j), records y_{n/2} of an odd-parity line, extrapolates and,
 * for j >= 2 and adaptive steps, sets *err and the line's H_j, W_j. *give_up is set by
 * the stability check and diverging or non-finite lines. Returns 0 or f's code. */
static int run_line(nde__int_stepper *st, int j, double s, double H, const double *y, int dense_only,
                    int adaptive, double *err, int *give_up)
{
    gbs_state *G = st->state;
    const size_t dim = st->dim;
    const int n = seq[j];
    const double hj = H / n;
    const int odd_mid = (n / 2) % 2 == 1;
    double *mid = odd_mid ? G->M + (size_t)((j - 1) / 2) * dim : NULL;
    double *Fl = odd_mid ? G->F + f_off((j + 1) / 2) * dim : NULL;
    double *ya = G->ya, *yb = G->yb, *yc = G->yc;
    *give_up = 0;
    for (size_t d = 0; d < dim; d++) { ya[d] = y[d]; yb[d] = y[d] + hj * G->f0[d]; }
    if (Fl) memcpy(Fl, G->f0, dim * sizeof *Fl);
    if (mid && n / 2 == 1) memcpy(mid, yb, dim * sizeof *mid);
    for (int m = 1; m < n; m++) {
        double *fk = Fl ? Fl + (size_t)m * dim : G->fk;
        st->stats->nfe++;
        int rc = st->f(s + m * hj, yb, fk, st->user);
        if (rc) return rc;
        if (fk != G->fk) memcpy(G->fk, fk, dim * sizeof *fk);
        if (m == 1 && j <= 2 && adaptive) {
            /* ODEX's stability check: the slope after one substep against f(s, y) */
            double del1 = 0.0, del2 = 0.0;
            for (size_t d = 0; d < st->err_dim; d++) {
                double sc = st->atol + st->rtol * fabs(y[d]);
                double u = G->f0[d] / sc, v = (G->fk[d] - G->f0[d]) / sc;
                del1 += u * u; del2 += v * v;
            }
            if (!(del2 <= STAB_QUOT * fmax(del1, DBL_MIN))) {
                *err = sqrt(del2 / fmax(del1, DBL_MIN));   /* > 2: how much the slope moved */
                *give_up = 1;
                return 0;
            }
        }
        for (size_t d = 0; d < dim; d++) yc[d] = ya[d] + 2.0 * hj * G->fk[d];
        double *t = ya; ya = yb; yb = yc; yc = t;   /* ya = y_m, yb = y_{m+1} */
        if (mid && m + 1 == n / 2) memcpy(mid, yb, dim * sizeof *mid);
    }
    G->ya = ya; G->yb = yb; G->yc = yc;
    /* smoothing: T(j) = (y_{n-1} + y_n + h_j f(s + H, y_n)) / 2 */
    st->stats->nfe++;
    int rc = st->f(s + H, yb, G->fk, st->user);
    if (rc) return rc;
    if (Fl) memcpy(Fl + (size_t)n * dim, G->fk, dim * sizeof *Fl);
    if (dense_only) return 0;
    double *Tj = G->T + (size_t)(j - 1) * dim;
    for (size_t d = 0; d < dim; d++) Tj[d] = 0.5 * (ya[d] + yb[d] + hj * G->fk[d]);
    /* extrapolation: T(l - 1) = T(l) + (T(l) - T(l - 1)) / ((n_j / n_{l-1})^2 - 1) */
    for (int l = j; l >= 2; l--) {
        double r = (double)n / seq[l - 1], fac = r * r - 1.0;
        double *Tl = G->T + (size_t)(l - 1) * dim, *Tm = G->T + (size_t)(l - 2) * dim;
        for (size_t d = 0; d < dim; d++) Tm[d] = Tl[d] + (Tl[d] - Tm[d]) / fac;
    }
    if (j < 2 || !adaptive) return 0;
    double e = scaled_norm(st, y, G->T, G->T + dim);
    *err = e;
    if (!isfinite(e) || (j > 2 && e >= G->errold)) { *give_up = 1; return 0; }
    G->errold = fmax(4.0 * e, 1.0);
    double expo = 1.0 / (2 * j - 1), facmin = pow(FAC1, expo);
    double fac = fmin(FAC2 / facmin, fmax(facmin, pow(e / SAFE1, expo) / SAFE2));
    G->hh[j] = H / fac;
    G->w[j] = G->a[j] / G->hh[j];
    return 0;
}

/* The next line count and step after an accepted attempt with kc lines (odex.f). */
static void control_accept(gbs_state *G, double H)
{
    nde__int_extrap_accept(KM, FAC3, FAC4, G->w, G->hh, G->a, H, G->kc, &G->k, &G->reject, &G->h_next);
}

/* After a rejected attempt (the convergence monitor gave up or the last line failed). */
static void control_reject(gbs_state *G)
{
    nde__int_extrap_reject(KM, FAC3, G->w, G->hh, G->kc, &G->k, &G->reject, &G->h_next);
}

static int converge_midpoint(nde__int_stepper *st, double s, double h, const double *y, double *conv);

static int gbs_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                       double *err)
{
    gbs_state *G = st->state;
    const size_t dim = st->dim;
    int rc, give_up = 0;
    double e = INFINITY;
    /* the proposal if a line gives up or f asks for a smaller step */
    G->h_next = h * SAFE3;
    G->n_midv = 0;
    if (!err) {   /* constant steps: a fixed number of lines */
        for (int j = 1; j <= GBS_CONST_LINES; j++)
            if ((rc = run_line(st, j, s, h, y, 0, 0, &e, &give_up))) return rc;
        G->kc = GBS_CONST_LINES;
        memcpy(y1, G->T, dim * sizeof *y1);
        return 0;
    }
    G->errold = 1.0;
    const int k = G->k;
    int accepted = 0, j = 1;
#define LINE(J)                                                                       \
    do {                                                                              \
        if ((rc = run_line(st, (J), s, h, y, 0, 1, &e, &give_up))) return rc;         \
        G->kc = (J);                                                                  \
        if (give_up) goto diverged;                                                   \
    } while (0)
    if (G->first) {
        for (j = 1; j <= k; j++) {
            LINE(j);
            if (j > 1 && e <= 1.0) { accepted = 1; break; }
        }
        if (accepted) goto done;
        goto hope;
    }
    for (j = 1; j <= k - 1; j++) LINE(j);
    if (k > 2 && !G->reject) {
        if (e <= 1.0) { accepted = 1; goto done; }
        double lim = (double)seq[k + 1] * seq[k] / (seq[1] * seq[1]);
        if (e > lim * lim) goto done;
    }
    LINE(k);
    if (e <= 1.0) { accepted = 1; goto done; }
hope:
    {
        double lim = (double)seq[G->kc + 1] / seq[1];
        if (e > lim * lim) goto done;
    }
    LINE(G->kc + 1);
    accepted = e <= 1.0;
#undef LINE
done:
    G->n_midv = (G->kc + 1) / 2;
    memcpy(y1, G->T, dim * sizeof *y1);
    /* a solve that interpolates also needs a converged midpoint value for the step's
     * interpolant (ODEX likewise rejects steps whose interpolation error estimate is
     * large): conv, its scaled change between the last two extrapolations */
    double conv = 0.0, expo = 1.0;
    if (accepted && st->dense_hint) {
        if ((rc = converge_midpoint(st, s, h, y, &conv))) return rc;
        expo = 1.0 / (2 * G->n_midv - 1);
        accepted = conv <= 1.0;
    }
    if (!accepted) {
        control_reject(G);
        if (conv > 1.0) G->h_next = fmin(G->h_next, h * fmax(FAC1, SAFE2 * pow(conv, -expo)));
        *err = e > 1.0 ? e : nextafter(1.0, 2.0);   /* rejected: the loop needs err > 1 */
        return 0;
    }
    control_accept(G, h);
    if (st->dense_hint)   /* and no larger next step than the midpoint allows */
        G->h_next = fmin(G->h_next, h * (conv > 0.0 ? fmin(FAC2, SAFE2 * pow(conv, -expo)) : FAC2));
    G->first = 0;
    *err = e;
    return 0;
diverged:
    G->reject = 1;
    G->h_next = h * SAFE3;
    memcpy(y1, y, dim * sizeof *y1);
    *err = isfinite(e) ? fmax(e, nextafter(1.0, 2.0)) : INFINITY;   /* rejected either way */
    return 0;
}

/* The loop's step_factor hook: the next step the order and step control chose (h_next,
 * set by attempt and accept), as a factor of the attempt's h. */
static double gbs_step_factor(nde__int_stepper *st, double h, double err, int accepted)
{
    (void)err; (void)accepted;
    const gbs_state *G = st->state;
    return G->h_next / h;
}

/* Aitken-Neville over rows first .. last of X (row r from odd-parity line r + 1, n =
 * 4r + 2), in powers of h^2: the extrapolated value ends in row first. */
static void extrapolate_rows(double *X, int first, int last, size_t dim)
{
    for (int i = first + 1; i <= last; i++) {
        const double ni = 4 * i + 2;
        for (int l = i; l > first; l--) {
            double r = ni / (4 * (l - 1) + 2), fac = r * r - 1.0;
            double *Xl = X + (size_t)l * dim, *Xm = X + (size_t)(l - 1) * dim;
            for (size_t d = 0; d < dim; d++) Xm[d] = Xl[d] + (Xl[d] - Xm[d]) / fac;
        }
    }
}

/* D_k = H^k y^(k)(s + H/2), k = 0 .. K = 2 I - 1, from the I odd-parity lines (n_i = 4i - 2,
 * midpoint index mu_i = 2i - 1): D_0 from the midpoint values, D_k (k >= 1) from
 * H (n_i / 2)^(k-1) delta^(k-1) f at mu_i (central differences over the indices
 * mu_i - k + 1, mu_i - k + 3, ..., mu_i + k - 1, one parity), each extrapolated over the
 * lines that have the points (mu_i >= k - 1). Uses M as scratch. */
static void midpoint_derivatives(gbs_state *G, int I, double H, size_t dim)
{
    extrapolate_rows(G->M, 0, I - 1, dim);
    memcpy(G->D, G->M, dim * sizeof *G->D);
    for (int k = 1; k <= 2 * I - 1; k++) {
        const int q = k - 1;
        int i0 = (k + 1) / 2;   /* mu_i = 2i - 1 >= q */
        if (i0 < 1) i0 = 1;
        for (int i = i0; i <= I; i++) {
            const int n = 4 * i - 2, mu = 2 * i - 1;
            const double *Fl = G->F + f_off(i) * dim;
            double scale = H, binom = 1.0;
            for (int p = 0; p < q; p++) scale *= 0.5 * n;
            double *row = G->M + (size_t)(i - 1) * dim;
            for (size_t d = 0; d < dim; d++) row[d] = 0.0;
            for (int l = 0; l <= q; l++) {
                const double *fv = Fl + (size_t)(mu + q - 2 * l) * dim;
                const double c = (l % 2 ? -binom : binom) * scale;
                for (size_t d = 0; d < dim; d++) row[d] += c * fv[d];
                binom = binom * (q - l) / (l + 1);
            }
        }
        extrapolate_rows(G->M, i0 - 1, I - 1, dim);
        memcpy(G->D + (size_t)k * dim, G->M + (size_t)(i0 - 1) * dim, dim * sizeof *G->D);
    }
}

/* Solves the 4 x 4 system A x = b in place (Gaussian elimination, partial pivoting). */
static void solve4(double A[4][4], double b[4])
{
    for (int c = 0; c < 4; c++) {
        int p = c;
        for (int r = c + 1; r < 4; r++) if (fabs(A[r][c]) > fabs(A[p][c])) p = r;
        for (int q = 0; q < 4; q++) { double t = A[c][q]; A[c][q] = A[p][q]; A[p][q] = t; }
        double t = b[c]; b[c] = b[p]; b[p] = t;
        for (int r = c + 1; r < 4; r++) {
            double f = A[r][c] / A[c][c];
            for (int q = c; q < 4; q++) A[r][q] -= f * A[c][q];
            b[r] -= f * b[c];
        }
    }
    for (int c = 3; c >= 0; c--) {
        for (int q = c + 1; q < 4; q++) b[c] -= A[c][q] * b[q];
        b[c] /= A[c][c];
    }
}

/* Runs odd-parity lines beyond the G->n_midv the step ran until the last two
 * extrapolations of the midpoint value agree to the tolerance (scaled norm <= 1; at
 * least MID_MIN_LINES lines, at most N_MID); *conv: that norm for the lines used. */
static int converge_midpoint(nde__int_stepper *st, double s, double h, const double *y, double *conv)
{
    gbs_state *G = st->state;
    const size_t dim = st->dim;
    int rc, I = G->n_midv;
    for (;;) {
        if (I >= MID_MIN_LINES) {
            memcpy(G->D, G->M, (size_t)I * dim * sizeof *G->D);
            extrapolate_rows(G->D, 0, I - 1, dim);
            *conv = scaled_norm(st, y, G->D, G->D + dim);
            if (I == N_MID || *conv <= 1.0) break;
        }
        int give_up;
        double e;
        I++;
        if ((rc = run_line(st, 2 * I - 1, s, h, y, 1, 0, &e, &give_up))) return rc;
    }
    G->n_midv = I;
    return 0;
}

static int gbs_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                      unsigned what, double *P, int *start_valid)
{
    gbs_state *G = st->state;
    const size_t dim = st->dim;
    int rc;
    *start_valid = 0;
    if (what & (NDE__INT_NEED_DENSE | NDE__INT_CONTINUE)) {
        st->stats->nfe++;
        if ((rc = st->f(s + h, y1, G->f1, st->user))) return rc;
    }
    if (what & NDE__INT_NEED_DENSE) {
        /* the odd-parity lines the step did not run, in full (their f values) */
        double conv;
        if (st->rtol > 0.0) {
            if ((rc = converge_midpoint(st, s, h, y, &conv))) return rc;
        } else {   /* constant steps: a fixed count, MID_MIN_LINES, for a fixed order */
            for (int i = G->n_midv + 1; i <= MID_MIN_LINES; i++) {
                int give_up;
                double e;
                if ((rc = run_line(st, 2 * i - 1, s, h, y, 1, 0, &e, &give_up))) return rc;
            }
            if (G->n_midv < MID_MIN_LINES) G->n_midv = MID_MIN_LINES;
        }
        const int I = G->n_midv;
        midpoint_derivatives(G, I, h, dim);
        /* p(x), x = theta - 1/2: sum_{k <= K} D_k x^k / k! + x^(K+1) (r0 + r1 x + r2 x^2
         * + r3 x^3), the cubic from p(-1/2) = y0, p'(-1/2) = h f0, p(1/2) = y1,
         * p'(1/2) = h f1 (the Hermite-Birkhoff interpolant of ODEX, HNW II.9) */
        const int K = 2 * I - 1, deg = K + 4;
        double A[4][4];
        for (int side = 0; side < 2; side++) {
            const double x = side ? 0.5 : -0.5;
            double xk1 = pow(x, K + 1), xk = pow(x, K);
            for (int q = 0; q < 4; q++) {
                A[2 * side][q] = xk1 * pow(x, q);
                A[2 * side + 1][q] = (K + 1 + q) * xk * pow(x, q);
            }
        }
        double c[GBS_DEGREE + 1], ct[GBS_DEGREE + 1];
        for (size_t d = 0; d < dim; d++) {
            double rhs[4], Acopy[4][4];
            for (int side = 0; side < 2; side++) {
                const double x = side ? 0.5 : -0.5;
                double T = 0.0, Tp = 0.0, fact = 1.0, xp = 1.0;
                for (int k = 0; k <= K; k++) {
                    if (k > 0) fact *= k;
                    const double Dk = G->D[(size_t)k * dim + d];
                    T += Dk * xp / fact;
                    if (k + 1 <= K) Tp += G->D[(size_t)(k + 1) * dim + d] * xp / fact;
                    xp *= x;
                }
                rhs[2 * side] = (side ? y1[d] : y[d]) - T;
                rhs[2 * side + 1] = h * (side ? G->f1[d] : G->f0[d]) - Tp;
            }
            memcpy(Acopy, A, sizeof A);
            solve4(Acopy, rhs);
            double fact = 1.0;
            for (int k = 0; k <= K; k++) {
                if (k > 0) fact *= k;
                c[k] = G->D[(size_t)k * dim + d] / fact;
            }
            for (int q = 0; q < 4; q++) c[K + 1 + q] = rhs[q];
            /* to monomials in theta: x^m = sum_j C(m, j) theta^j (-1/2)^(m-j) */
            for (int jj = 0; jj <= deg; jj++) ct[jj] = 0.0;
            for (int m = 0; m <= deg; m++) {
                double binom = 1.0, pw = 1.0;   /* C(m, j) and (-1/2)^(m-j), j from m down */
                for (int jj = m; jj >= 0; jj--) {
                    ct[jj] += c[m] * binom * pw;
                    binom = binom * jj / (m - jj + 1);
                    pw *= -0.5;
                }
            }
            ct[0] = y[d];
            /* the top coefficient from p(1) = y1, so that theta = 1 gives y1 to rounding */
            double acc = y1[d] - y[d];
            for (int jj = 1; jj < deg; jj++) acc -= ct[jj];
            ct[deg] = acc;
            for (int jj = 0; jj <= GBS_DEGREE; jj++) P[(size_t)jj * dim + d] = jj <= deg ? ct[jj] : 0.0;
        }
    }
    if (what & NDE__INT_CONTINUE) {   /* f(s + h, y1) is the next start's f */
        double *t = G->f0; G->f0 = G->f1; G->f1 = t;
        *start_valid = 1;
    }
    return 0;
}

const nde__int_ops nde__gbs_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .size = gbs_size,
    .init = gbs_init,
    .dense_degree = gbs_dense_degree,
    .start = gbs_start,
    .start_f = gbs_start_f,
    .attempt = gbs_attempt,
    .accept = gbs_accept,
    .step_factor = gbs_step_factor,
};

/* order: constant steps (GBS_CONST_LINES lines); embedded_order sets only the loop's
 * automatic first step (its exponent 1/8, as dopri8's); stages: evaluations of a
 * constant step */
const nde_method nde__gbs = {
    .name = "gbs",
    .description = "Gragg-Bulirsch-Stoer extrapolation (HNW II.9, ODEX): harmonic sequence with "
                   "smoothing, Deuflhard's order and step control (orders 4-18), quintic Hermite "
                   "dense output",
    .kind = NDE_METHOD_EXTRAPOLATION, .ops = &nde__gbs_ops, .tableau = NULL,
    .stages = 21, .order = 2 * GBS_CONST_LINES, .embedded_order = 7, .fsal = 0, .dense_order = 5,
};
