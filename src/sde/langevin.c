/* Underdamped Langevin solvers ALIGN, ShOULD and QUICSORT (nde/langevin.h) as steppers
 * of the integrate loop.
 *
 * The state is y = [x, v] (2d). Each method is exact for the Ornstein-Uhlenbeck part
 * dv = -gamma v dt + rho dW (rho = sqrt(2 gamma u)) and treats -u grad f(x) by a
 * quadrature over its gradient evaluations g_k; with alpha = gamma h per component,
 *
 *   E(c) = exp(-c alpha)                       decay over c h
 *   A(c) = (1 - E(c))/gamma = c h phi1(-c alpha)
 *   B(c) = (E(c) + c alpha - 1)/(gamma^2 h) = c^2 h phi2(-c alpha)
 *   CH   = 6 (E(1)(alpha + 2) + alpha - 2)/(alpha^2 gamma) = 6 h (phi2 - 2 phi3)(-alpha)
 *   CK   = 60 (E(1)(alpha^2 + 6 alpha + 12) - alpha^2 + 6 alpha - 12)/(alpha^3 gamma)
 *        = 60 h (phi2 - 6 phi3 + 12 phi4)(-alpha)
 *
 * (phi_k(z) = sum_j z^j/(j+k)!). These are Diffrax's coefficients (diffrax 5ea5fcb,
 * _solver/align.py, should.py, quicsort.py: beta = E(1), a1 = A(1), b1 = B(1), aa =
 * A(1)/h, chh = CH, ckk = CK, beta_half = E(1/2), a_half = A(1/2), b_half = B(1/2), ...),
 * rewritten in phi functions: below alpha = 1 they are summed as the power series of
 * their combined coefficients (no cancellation: CK's leading terms cancel exactly in the
 * coefficients, (j^2 + j)/(j + 4)!), above it by the closed forms (which lose no digits
 * there). Diffrax switches to a degree-5 Taylor polynomial below gamma h = 0.1 and to the
 * closed forms above, where CK's closed form loses ~ 12 eps/(alpha^5/60) relative.
 *
 * One step [s, s + h] from (x0, v0) with W, H, K of the tree over the step and g0 =
 * grad f(x0) (per component; u, rho, gamma diagonal):
 *
 * ALIGN (strong order 2, needs H):
 *   x1 = x0 + A(1) v0 - B(1) u h g0 + rho (B(1) W + CH H)
 *   g1 = grad f(x1)                                               (FSAL: next g0)
 *   v1 = E(1) v0 - u ((A(1) - B(1)) g0 + B(1) g1) + rho (A(1)/h W - gamma CH H)
 *   error (Diffrax's): e_x = 0, e_v = -u B(1) (g1 - g0), local size O(h^2): embedded
 *   order 1.
 *
 * ShOULD (strong order 3, needs H, K):
 *   vt = v0 + rho (H + 6 K)
 *   xm = x0 + A(1/2) vt + B(1/2) (-u h g0 + rho (W - 12 K)),      gm = grad f(xm)
 *   x1 = x0 + A(1) v0 - u h B(1) (g0/3 + 2 gm/3) + rho (B(1) W + CH H + CK K)
 *   g1 = grad f(x1)                                               (FSAL: next g0)
 *   v1 = E(1) v0 - u h (E(1) g0/6 + 2 E(1/2) gm/3 + g1/6) + rho (A(1)/h W - gamma (CH H + CK K))
 *   error (ours; Diffrax has none): v1 minus the same update with the trapezoidal rule
 *   (E(1) g0 + g1)/2 in place of the Simpson-like weights, e_v = -u h (2 E(1/2) gm/3 -
 *   E(1) g0/3 - g1/3): O(h^3) for a smooth gradient along a smooth path (O(h^{5/2}) from
 *   the path's roughness): embedded order 2.
 *
 * QUICSORT (strong order 3, needs H, K; Gauss-Legendre nodes l, r = 1/2 -+ sqrt(3)/6):
 *   vt = v0 + rho (H + 6 K),   n = rho (W - 12 K)
 *   xl = x0 + A(l) vt + B(l) n,                      gl = u h grad f(xl)
 *   xr = x0 + A(r) vt + B(r) n - A(1/3) gl,          gr = u h grad f(xr)
 *   x1 = x0 + A(1) vt + B(1) n - (A(r) gl + A(l) gr)/2
 *   v1 = E(1) vt - (E(r) gl + E(l) gr)/2 + A(1)/h n - rho (H - 6 K)
 *   error (ours; Diffrax has none): v1 minus the same update with the one-point rule
 *   E(r) gl in place of the two-point rule, e_v = -(E(l) gr - E(r) gl)/2: O(h^2), like
 *   ALIGN's: embedded order 1. Not FSAL: 2 gradients per step.
 *
 * The tree is asked once per attempt, over the attempt's interval: a rejected attempt
 * and its shorter retry see the same path. Consecutive steps share their end point
 * exactly (the start of a continued step is the end the previous query used), so no
 * sliver of the path between steps is lost to rounding. Nothing allocates here: the
 * loop gives the stepper one block at create time. */
#include "sde/langevin.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "random/internal.h"

enum { LGV_ALIGN = 1, LGV_SHOULD = 2, LGV_QUICSORT = 3 };

/* The family's data in nde_method.tableau. */
typedef struct lgv_tableau {
    int which;      /* LGV_* */
    int levy;       /* NDE_LEVY_* needed from the tree */
    int ncoef;      /* h-dependent coefficients per friction value */
} lgv_tableau;

/* Indices of the coefficients (per friction value) of each method. */
enum { AL_E1, AL_A1, AL_B1, AL_AA, AL_CH, AL_N };
enum { SH_EH, SH_AH, SH_BH, SH_E1, SH_A1, SH_B1, SH_AA, SH_CH, SH_CK, SH_N };
enum { QU_EL, QU_ER, QU_E1, QU_AL, QU_AR, QU_A1, QU_BL, QU_BR, QU_B1, QU_A3, QU_AA, QU_N };
#define LGV_MAX_COEF QU_N

/* The Gauss-Legendre nodes on [0, 1] (QUICSORT). */
#define LGV_NODE_L 0.21132486540518711775   /* 1/2 - sqrt(3)/6 */
#define LGV_NODE_R 0.78867513459481288225   /* 1/2 + sqrt(3)/6 */
/* Below this gamma h the coefficients are summed as power series (see the top). */
#define LGV_SERIES_BELOW 1.0

typedef struct lgv_state {
    const nde__lgv_problem *P;
    const lgv_tableau *tab;
    size_t d, ng;              /* components; friction values (1: scalar gamma, else d) */
    double h_coef;             /* h of the coefficients in coef (0: none yet) */
    double chain_end;          /* where the last accepted query ended (valid if chained) */
    double last_end;           /* where the last attempt's query ended */
    int chained;               /* the next attempt continues the last accepted step */
    double *coef;              /* ncoef x ng, coefficient-major */
    double *gam, *uu, *rho;    /* d each: gamma_i, u_i, sqrt(2 gamma_i u_i) */
    double *W, *H, *K;         /* d each: the tree's increments over the attempt */
    double *g0, *g1, *g2;      /* d each: gradients (g0 at the start for FSAL methods) */
    double *xs, *vt, *nz;      /* d each: a stage position, vt, n (QUICSORT) */
    double *drift;             /* 2d: the drift at the start (start_f) */
} lgv_state;

#define LGV_VECTORS 12   /* d-vectors in the block beyond the coefficients and the drift */

static size_t header_bytes(void)
{
    return (sizeof(lgv_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

/* ---- coefficients ---------------------------------------------------------------- */

/* sum_j c_j z^j for z = -a, 0 <= a < LGV_SERIES_BELOW, with c_j from `kind`:
 * 1: 1/(j+1)! (phi1), 2: 1/(j+2)! (phi2), 3: (j+1)/(j+3)! (CH/(6h)),
 * 4: (j^2 + j)/(j+4)! (CK/(60h)). Terms fall at least like 1/j!: 30 reach 1e-30. */
static double series(double a, int kind)
{
    const int shift = kind == 1 ? 1 : kind == 2 ? 2 : kind == 3 ? 3 : 4;
    double inv_fact = 1.0;                 /* 1/(j + shift)! */
    for (int i = 2; i <= shift; i++) inv_fact /= (double)i;
    double zj = 1.0, sum = 0.0;
    for (int j = 0; j < 30; j++) {
        double c = kind <= 2 ? 1.0 : kind == 3 ? (double)(j + 1) : (double)j * (double)(j + 1);
        double term = c * inv_fact * zj;
        sum += term;
        if (j > 2 && fabs(term) <= 1e-18 * fabs(sum)) break;
        zj *= -a;
        inv_fact /= (double)(j + shift + 1);
    }
    return sum;
}

static double phi1m(double a)   /* phi1(-a) = (1 - e^-a)/a */
{
    return a < LGV_SERIES_BELOW ? series(a, 1) : -expm1(-a) / a;
}

static double phi2m(double a)   /* phi2(-a) = (e^-a - 1 + a)/a^2 */
{
    return a < LGV_SERIES_BELOW ? series(a, 2) : (expm1(-a) + a) / (a * a);
}

static double ch_over_h(double a)   /* CH/h = 6 (e^-a (a + 2) + a - 2)/a^3 */
{
    return a < LGV_SERIES_BELOW ? 6.0 * series(a, 3) : 6.0 * (exp(-a) * (a + 2.0) + a - 2.0) / (a * a * a);
}

static double ck_over_h(double a)   /* CK/h = 60 (e^-a (a^2 + 6a + 12) - a^2 + 6a - 12)/a^4 */
{
    if (a < LGV_SERIES_BELOW) return 60.0 * series(a, 4);
    double a2 = a * a;
    return 60.0 * (exp(-a) * (a2 + 6.0 * a + 12.0) - a2 + 6.0 * a - 12.0) / (a2 * a2);
}

/* The coefficients of step size h for every friction value. */
static void compute_coefficients(lgv_state *S, double h)
{
    const size_t ng = S->ng;
    double *c = S->coef;
    for (size_t j = 0; j < ng; j++) {
        const double a = S->gam[j] * h;
        switch (S->tab->which) {
        case LGV_ALIGN:
            c[AL_E1 * ng + j] = exp(-a);
            c[AL_AA * ng + j] = phi1m(a);
            c[AL_A1 * ng + j] = h * c[AL_AA * ng + j];
            c[AL_B1 * ng + j] = h * phi2m(a);
            c[AL_CH * ng + j] = h * ch_over_h(a);
            break;
        case LGV_SHOULD:
            c[SH_EH * ng + j] = exp(-0.5 * a);
            c[SH_AH * ng + j] = 0.5 * h * phi1m(0.5 * a);
            c[SH_BH * ng + j] = 0.25 * h * phi2m(0.5 * a);
            c[SH_E1 * ng + j] = exp(-a);
            c[SH_AA * ng + j] = phi1m(a);
            c[SH_A1 * ng + j] = h * c[SH_AA * ng + j];
            c[SH_B1 * ng + j] = h * phi2m(a);
            c[SH_CH * ng + j] = h * ch_over_h(a);
            c[SH_CK * ng + j] = h * ck_over_h(a);
            break;
        default: {   /* LGV_QUICSORT */
            const double l = LGV_NODE_L, r = LGV_NODE_R;
            c[QU_EL * ng + j] = exp(-l * a);
            c[QU_ER * ng + j] = exp(-r * a);
            c[QU_E1 * ng + j] = exp(-a);
            c[QU_AL * ng + j] = l * h * phi1m(l * a);
            c[QU_AR * ng + j] = r * h * phi1m(r * a);
            c[QU_AA * ng + j] = phi1m(a);
            c[QU_A1 * ng + j] = h * c[QU_AA * ng + j];
            c[QU_BL * ng + j] = l * l * h * phi2m(l * a);
            c[QU_BR * ng + j] = r * r * h * phi2m(r * a);
            c[QU_B1 * ng + j] = h * phi2m(a);
            c[QU_A3 * ng + j] = h / 3.0 * phi1m(a / 3.0);
            break;
        }
        }
    }
    S->h_coef = h;
}

/* ---- the stepper ------------------------------------------------------------------- */

static size_t lgv_size(const nde_method *m, size_t dim)
{
    const lgv_tableau *tab = m->tableau;
    size_t d = dim / 2, n = 0;
    if (nde__size_muladd(&n, (size_t)tab->ncoef + LGV_VECTORS, d) || nde__size_muladd(&n, 2, d) ||
        nde__size_mul(n, sizeof(double), &n) || nde__size_add(n, header_bytes(), &n))
        return 0;
    return n;
}

static void lgv_init(nde__int_stepper *st)
{
    lgv_state *S = st->state;
    const nde__lgv_problem *P = st->problem;
    const size_t d = st->dim / 2;
    double *v = (double *)((char *)st->state + header_bytes());
    S->P = P;
    S->tab = st->m->tableau;
    S->d = d;
    S->ng = P->p.gamma_vec ? d : 1;
    S->h_coef = 0.0;
    S->chained = 0;
    S->chain_end = S->last_end = 0.0;
    S->coef = v; v += (size_t)S->tab->ncoef * d;
    S->gam = v; v += d;
    S->uu = v; v += d;
    S->rho = v; v += d;
    S->W = v; v += d;
    S->H = v; v += d;
    S->K = v; v += d;
    S->g0 = v; v += d;
    S->g1 = v; v += d;
    S->g2 = v; v += d;
    S->xs = v; v += d;
    S->vt = v; v += d;
    S->nz = v; v += d;
    S->drift = v;
    for (size_t i = 0; i < d; i++) {
        S->gam[i] = P->p.gamma_vec ? P->p.gamma_vec[i] : P->p.gamma;
        S->uu[i] = P->p.u_vec ? P->p.u_vec[i] : P->p.u;
        S->rho[i] = sqrt(2.0 * S->gam[i] * S->uu[i]);
    }
}

static int lgv_dense_degree(const nde_method *m) { (void)m; return 1; }

static int grad_at(nde__int_stepper *st, const lgv_state *S, const double *x, double *g)
{
    st->stats->nfe++;
    return S->P->p.grad(x, g, S->P->p.user);
}

/* A start from scratch: FSAL methods evaluate g0 = grad f(x) and the drift. */
static int lgv_start(nde__int_stepper *st, double s, const double *y)
{
    (void)s;
    lgv_state *S = st->state;
    const size_t d = S->d;
    S->chained = 0;
    if (S->tab->which == LGV_QUICSORT) return 0;
    int rc = grad_at(st, S, y, S->g0);
    if (rc) return rc;
    for (size_t i = 0; i < d; i++) {
        S->drift[i] = y[d + i];
        S->drift[d + i] = -S->gam[i] * y[d + i] - S->uu[i] * S->g0[i];
    }
    return 0;
}

static const double *lgv_start_f(const nde__int_stepper *st)
{
    const lgv_state *S = st->state;
    return S->tab->which == LGV_QUICSORT ? NULL : S->drift;
}

/* RMS_i(e_i / (atol + rtol max(|y0_i|, |y1_i|))) over i < err_dim with e_i = 0 on x
 * and ev on v, scaled by the largest term (no overflow or underflow in the squares);
 * +Inf when anything is not finite. */
static double error_norm(const nde__int_stepper *st, const double *ev, const double *y0, const double *y1)
{
    const size_t d = st->dim / 2, n = st->err_dim;
    for (size_t i = 0; i < st->dim; i++)
        if (!isfinite(y1[i])) return INFINITY;
    double big = 0.0;
    for (size_t i = d; i < n; i++) {
        double sc = st->atol + st->rtol * fmax(fabs(y0[i]), fabs(y1[i]));
        double q = fabs(ev[i - d]) / sc;
        if (!(q <= big)) big = q;   /* NaN sticks */
    }
    if (!isfinite(big)) return INFINITY;
    if (big == 0.0) return 0.0;
    double sum = 0.0;
    for (size_t i = d; i < n; i++) {
        double sc = st->atol + st->rtol * fmax(fabs(y0[i]), fabs(y1[i]));
        double q = ev[i - d] / sc / big;
        sum += q * q;
    }
    return big * sqrt(sum / (double)n);
}

static void align_step(const lgv_state *S, double h, const double *y, double *x1)
{
    const size_t d = S->d, ng = S->ng;
    const double *c = S->coef;
    for (size_t i = 0; i < d; i++) {
        const size_t j = ng > 1 ? i : 0;
        const double a1 = c[AL_A1 * ng + j], b1 = c[AL_B1 * ng + j], ch = c[AL_CH * ng + j];
        x1[i] = y[i] + a1 * y[d + i] - b1 * S->uu[i] * h * S->g0[i] + S->rho[i] * (b1 * S->W[i] + ch * S->H[i]);
    }
}

static int lgv_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    lgv_state *S = st->state;
    const nde__lgv_problem *P = S->P;
    const size_t d = S->d, ng = S->ng;
    const int levy = S->tab->levy;
    if (h != S->h_coef) compute_coefficients(S, h);
    const double a = S->chained ? S->chain_end : s, b = s + h;
    if (nde_brownian_increment(P->bm, a, b, S->W, S->H, levy >= NDE_LEVY_SPACE_TIME_TIME ? S->K : NULL))
        return -1;   /* the tree was checked against [t0, t1] before the solve */
    S->last_end = b;
    const double *c = S->coef;
    double *ev = S->xs;   /* the error's v part, written last (xs is free by then) */
    int rc;
    switch (S->tab->which) {
    case LGV_ALIGN:
        align_step(S, h, y, y1);
        if ((rc = grad_at(st, S, y1, S->g1))) return rc;
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            const double e1 = c[AL_E1 * ng + j], a1 = c[AL_A1 * ng + j], b1 = c[AL_B1 * ng + j];
            const double aa = c[AL_AA * ng + j], ch = c[AL_CH * ng + j];
            const double u = S->uu[i], g0 = S->g0[i], g1 = S->g1[i];
            y1[d + i] = e1 * y[d + i] - u * ((a1 - b1) * g0 + b1 * g1) +
                        S->rho[i] * (aa * S->W[i] - S->gam[i] * ch * S->H[i]);
            ev[i] = -u * b1 * (g1 - g0);
        }
        break;
    case LGV_SHOULD:
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            const double vt = y[d + i] + S->rho[i] * (S->H[i] + 6.0 * S->K[i]);
            S->xs[i] = y[i] + c[SH_AH * ng + j] * vt +
                       c[SH_BH * ng + j] * (-S->uu[i] * h * S->g0[i] + S->rho[i] * (S->W[i] - 12.0 * S->K[i]));
        }
        if ((rc = grad_at(st, S, S->xs, S->g1))) return rc;
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            const double b1 = c[SH_B1 * ng + j];
            y1[i] = y[i] + c[SH_A1 * ng + j] * y[d + i] -
                    S->uu[i] * h * b1 * (S->g0[i] / 3.0 + 2.0 / 3.0 * S->g1[i]) +
                    S->rho[i] * (b1 * S->W[i] + c[SH_CH * ng + j] * S->H[i] + c[SH_CK * ng + j] * S->K[i]);
        }
        if ((rc = grad_at(st, S, y1, S->g2))) return rc;
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            const double e1 = c[SH_E1 * ng + j], eh = c[SH_EH * ng + j], uh = S->uu[i] * h;
            const double g0 = S->g0[i], gm = S->g1[i], g1 = S->g2[i];
            const double hk = c[SH_CH * ng + j] * S->H[i] + c[SH_CK * ng + j] * S->K[i];
            y1[d + i] = e1 * y[d + i] - uh * (e1 / 6.0 * g0 + 2.0 / 3.0 * eh * gm + g1 / 6.0) +
                        S->rho[i] * (c[SH_AA * ng + j] * S->W[i] - S->gam[i] * hk);
            ev[i] = -uh * (2.0 / 3.0 * eh * gm - e1 / 3.0 * g0 - g1 / 3.0);
        }
        break;
    default:   /* LGV_QUICSORT */
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            S->vt[i] = y[d + i] + S->rho[i] * (S->H[i] + 6.0 * S->K[i]);
            S->nz[i] = S->rho[i] * (S->W[i] - 12.0 * S->K[i]);
            S->xs[i] = y[i] + c[QU_AL * ng + j] * S->vt[i] + c[QU_BL * ng + j] * S->nz[i];
        }
        if ((rc = grad_at(st, S, S->xs, S->g1))) return rc;
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            S->g1[i] *= S->uu[i] * h;
            S->xs[i] = y[i] + c[QU_AR * ng + j] * S->vt[i] + c[QU_BR * ng + j] * S->nz[i] -
                       c[QU_A3 * ng + j] * S->g1[i];
        }
        if ((rc = grad_at(st, S, S->xs, S->g2))) return rc;
        for (size_t i = 0; i < d; i++) {
            const size_t j = ng > 1 ? i : 0;
            const double gl = S->g1[i], gr = S->g2[i] * S->uu[i] * h;
            const double el = c[QU_EL * ng + j], er = c[QU_ER * ng + j];
            y1[i] = y[i] + c[QU_A1 * ng + j] * S->vt[i] + c[QU_B1 * ng + j] * S->nz[i] -
                    0.5 * (c[QU_AR * ng + j] * gl + c[QU_AL * ng + j] * gr);
            y1[d + i] = c[QU_E1 * ng + j] * S->vt[i] - 0.5 * (er * gl + el * gr) + c[QU_AA * ng + j] * S->nz[i] -
                        S->rho[i] * (S->H[i] - 6.0 * S->K[i]);
            ev[i] = -0.5 * (el * gr - er * gl);
        }
        break;
    }
    if (err) *err = error_norm(st, ev, y, y1);
    return 0;
}

static int lgv_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                      unsigned what, double *P, int *start_valid)
{
    (void)s; (void)h;
    lgv_state *S = st->state;
    const size_t dim = st->dim;
    if (what & NDE__INT_NEED_DENSE)
        for (size_t i = 0; i < dim; i++) {
            P[i] = y[i];
            P[dim + i] = y1[i] - y[i];
        }
    if (what & NDE__INT_CONTINUE) {
        double *t;
        switch (S->tab->which) {   /* FSAL: the last gradient is the next g0 */
        case LGV_ALIGN: t = S->g0; S->g0 = S->g1; S->g1 = t; break;
        case LGV_SHOULD: t = S->g0; S->g0 = S->g2; S->g2 = t; break;
        default: break;
        }
        S->chained = 1;
        S->chain_end = S->last_end;
    }
    *start_valid = (what & NDE__INT_CONTINUE) != 0;
    return 0;
}

static const nde__int_ops lgv_ops = {
    .problems = NDE__INT_PROBLEM_LANGEVIN,
    .size = lgv_size,
    .init = lgv_init,
    .dense_degree = lgv_dense_degree,
    .start = lgv_start,
    .start_f = lgv_start_f,
    .attempt = lgv_attempt,
    .accept = lgv_accept,
};

static const lgv_tableau align_tab = { LGV_ALIGN, NDE_LEVY_SPACE_TIME, AL_N };
static const lgv_tableau should_tab = { LGV_SHOULD, NDE_LEVY_SPACE_TIME_TIME, SH_N };
static const lgv_tableau quicsort_tab = { LGV_QUICSORT, NDE_LEVY_SPACE_TIME_TIME, QU_N };

const nde_method nde__lgv_align = {
    .name = "align",
    .description = "ALIGN (J. Foster; after Foster, Lyons & Oberhauser 2021, Def. 4.2): underdamped Langevin, "
                   "strong order 2, 1 gradient (FSAL), space-time Levy area, embedded estimate",
    .kind = NDE_METHOD_LANGEVIN, .ops = &lgv_ops, .tableau = &align_tab,
    .stages = 2, .order = 2, .embedded_order = 1, .fsal = 1, .dense_order = 1,
};
const nde_method nde__lgv_should = {
    .name = "should",
    .description = "ShOULD (Foster, Lyons & Oberhauser 2021, Def. 7.1): underdamped Langevin, strong order 3, "
                   "2 gradients (FSAL), space-time-time Levy area, Simpson-trapezoid estimate",
    .kind = NDE_METHOD_LANGEVIN, .ops = &lgv_ops, .tableau = &should_tab,
    .stages = 3, .order = 3, .embedded_order = 2, .fsal = 1, .dense_order = 1,
};
const nde_method nde__lgv_quicsort = {
    .name = "quicsort",
    .description = "QUICSORT (Foster & O'Kane; SORT of Foster, Lyons & Oberhauser 2021 with UBU's changes): "
                   "underdamped Langevin, strong order 3, 2 gradients, space-time-time Levy area",
    .kind = NDE_METHOD_LANGEVIN, .ops = &lgv_ops, .tableau = &quicsort_tab,
    .stages = 2, .order = 3, .embedded_order = 1, .fsal = 0, .dense_order = 1,
};

/* ---- the driver ---------------------------------------------------------------------- */

/* The drift [v, -gamma v - u grad f(x)]: the loop's view of the problem (its automatic
 * initial step). */
static int lgv_drift(double t, const double *y, double *dy, void *user)
{
    (void)t;
    const nde__lgv_problem *P = user;
    const nde_langevin *p = &P->p;
    const size_t d = p->dim;
    int rc = p->grad(y, dy + d, p->user);
    if (rc) return rc;
    for (size_t i = 0; i < d; i++) {
        double g = p->gamma_vec ? p->gamma_vec[i] : p->gamma, u = p->u_vec ? p->u_vec[i] : p->u;
        dy[d + i] = -g * y[d + i] - u * dy[d + i];
        dy[i] = y[d + i];
    }
    return 0;
}

int nde_langevin_levy(const nde_method *m)
{
    if (!m || m->kind != NDE_METHOD_LANGEVIN || m->ops != &lgv_ops) return -1;
    return ((const lgv_tableau *)m->tableau)->levy;
}

static int positive(double x) { return isfinite(x) && x > 0.0; }

/* Checks what the integrate loop does not know about; 0 or a status with msg. */
static int check(const nde_langevin *p, double t0, double t1, const double *xv0, nde_brownian *bm,
                 const nde_method *m, const nde_options *o, char *msg)
{
#define FAIL(st, ...) return nde__msg(msg, NDE_MESSAGE_MAX, st, __VA_ARGS__)
    if (!p) FAIL(NDE_EINVAL, "the Langevin problem p is NULL");
    if (p->dim == 0) FAIL(NDE_EINVAL, "p->dim must be > 0, got 0");
    size_t n2;
    if (nde__size_mul(p->dim, 2, &n2)) FAIL(NDE_EINVAL, "p->dim = %zu is too large (the state has 2 dim)", p->dim);
    if (!p->grad) FAIL(NDE_EINVAL, "p->grad (gradient of the potential) is NULL");
    if (p->gamma_vec) {
        for (size_t i = 0; i < p->dim; i++)
            if (!positive(p->gamma_vec[i])) FAIL(NDE_EINVAL, "gamma_vec[%zu] must be finite and > 0, got %g", i, p->gamma_vec[i]);
    } else if (!positive(p->gamma)) {
        FAIL(NDE_EINVAL, "gamma must be finite and > 0, got %g", p->gamma);
    }
    if (p->u_vec) {
        for (size_t i = 0; i < p->dim; i++)
            if (!positive(p->u_vec[i])) FAIL(NDE_EINVAL, "u_vec[%zu] must be finite and > 0, got %g", i, p->u_vec[i]);
    } else if (!positive(p->u)) {
        FAIL(NDE_EINVAL, "u must be finite and > 0, got %g", p->u);
    }
    if (!xv0) FAIL(NDE_EINVAL, "the initial state xv0 is NULL");
    if (!bm) FAIL(NDE_EINVAL, "the Brownian path bm is NULL");
    if (m->kind != NDE_METHOD_LANGEVIN || m->ops != &lgv_ops)
        FAIL(NDE_EUNSUPPORTED, "method %s is a %s method: nde_langevin_solve needs align, should or quicsort",
             m->name, nde_method_kind_name(m->kind));
    if (!(isfinite(t0) && isfinite(t1))) FAIL(NDE_EINVAL, "t0 and t1 must be finite, got %g and %g", t0, t1);
    if (!(t1 > t0))
        FAIL(NDE_EINVAL, "t1 must be > t0 (Langevin solves run forwards in time), got t0 = %.17g, t1 = %.17g", t0, t1);
    if (o->n_events)
        FAIL(NDE_EUNSUPPORTED, "nde_langevin_solve takes no events (n_events = %zu)", o->n_events);
    size_t bdim;
    double b0, b1;
    int blevy;
    nde__rand_brownian_shape(bm, &bdim, &b0, &b1, &blevy);
    if (bdim != p->dim) FAIL(NDE_EINVAL, "the Brownian tree has dimension %zu, the problem %zu", bdim, p->dim);
    /* the tree accepts times within 100 ULP of its span (nde/brownian.h) */
    const double slack = 100.0 * DBL_EPSILON * fmax(fabs(b0), fabs(b1));
    if (t0 < b0 - slack || t1 > b1 + slack)
        FAIL(NDE_EINVAL, "the Brownian tree spans [%.17g, %.17g], which does not contain [t0, t1] = [%.17g, %.17g]",
             b0, b1, t0, t1);
    const int need = ((const lgv_tableau *)m->tableau)->levy;
    if (blevy < need)
        FAIL(NDE_EUNSUPPORTED, "method %s needs a tree with %s Levy area (levy = %d), the tree has levy = %d",
             m->name, need == NDE_LEVY_SPACE_TIME ? "space-time" : "space-time-time", need, blevy);
    return NDE_OK;
#undef FAIL
}

int nde_langevin_solve(const nde_langevin *p, double t0, double t1, const double *xv0, nde_brownian *bm,
                       const nde_options *opts, nde_solution *sol)
{
    if (!sol) return NDE_EINVAL;
    static const nde_options defaults = NDE_OPTIONS_INIT;
    nde_options o = opts ? *opts : defaults;
    if (!o.method) o.method = &nde__lgv_quicsort;
    char msg[NDE_MESSAGE_MAX];
    int status = check(p, t0, t1, xv0, bm, o.method, &o, msg);
    if (status) {
        memset(sol, 0, sizeof *sol);
        sol->alloc_ = nde__allocator_resolve(o.allocator);
        sol->dim = p && p->dim <= SIZE_MAX / 2 ? 2 * p->dim : 0;
        sol->status = status;
        memcpy(sol->message_, msg, sizeof msg);
        if (o.errbuf && o.errbuf_size) snprintf(o.errbuf, o.errbuf_size, "%s", msg);
        return status;
    }
    nde__lgv_problem prob = { .p = *p, .bm = bm };
    nde_ode view = { .dim = 2 * p->dim, .f = lgv_drift, .user = &prob };
    return nde__int_solve_problem(&view, NDE__INT_PROBLEM_LANGEVIN, &prob, t0, t1, xv0, &o, sol, NULL, NULL, NULL);
}

/* ---- effective sample size ------------------------------------------------------------ */

static double autocov(const double *x, size_t n, size_t stride, double mean, size_t k)
{
    double s = 0.0;
    for (size_t i = 0; i + k < n; i++) s += (x[i * stride] - mean) * (x[(i + k) * stride] - mean);
    return s / (double)n;
}

int nde_ess(const double *x, size_t n, size_t stride, double *ess)
{
    if (!x || !ess || n < 4 || stride == 0) return NDE_EINVAL;
    double mean = 0.0;
    int constant = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i * stride])) return NDE_EINVAL;
        mean += x[i * stride];
        constant &= x[i * stride] == x[0];
    }
    /* tested on the draws: the rounded mean of a constant chain need not equal its
     * value (7 copies of 3181453007.0227604), which left a variance of rounding errors */
    if (constant) return NDE_EINVAL;
    mean /= (double)n;
    const double c0 = autocov(x, n, stride, mean, 0);
    if (!(c0 > 0.0)) return NDE_EINVAL;
    /* Geyer's initial monotone sequence: pairs G_m = rho_2m + rho_2m+1 while positive */
    double sum = 0.0, prev = INFINITY;
    for (size_t m = 0; 2 * m + 1 < n; m++) {
        double G = (autocov(x, n, stride, mean, 2 * m) + autocov(x, n, stride, mean, 2 * m + 1)) / c0;
        if (!(G > 0.0)) break;
        if (G > prev) G = prev;
        sum += G;
        prev = G;
    }
    /* an antithetic chain can push tau towards 0: cap the ESS at n log10 n (Stan's cap) */
    double tau = 2.0 * sum - 1.0, tau_min = 1.0 / log10((double)n);
    if (!(tau >= tau_min)) tau = tau_min;
    *ess = (double)n / tau;
    return NDE_OK;
}
