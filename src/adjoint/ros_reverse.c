/* One Rosenbrock-Wanner step (ros3p, rodas4, rodas5p; tables in src/implicit/rosenbrock.c),
 * forwards again and backwards through its stages, interpolant, error estimate and
 * stiffness estimate. The step, in the loop's internal time and the transformed form of
 * src/implicit/internal.h:
 *   E = M / (h gamma) - J,  J = df~/dy(s, y0),  ft = df~/ds(s, y0) (0 when autonomous),
 *   Y_0 = y0, Y_i = y0 + sum_{j<i} a_ij u_j,  F_i = f~(s + c_i h, Y_i),
 *   u_i = E^-1 (F_i + M sum_{j<i} (C_ij / h) u_j + h d_i ft),
 *   y1 = y0 + sum_i m_i u_i,  error sum_i e_i u_i.
 * Reverse: with ubar_i the cotangent of u_i and w_i = E^-T ubar_i (one transposed LU
 * solve), F_i's cotangent is w_i (one VJP at Y_i), u_j (j < i) gets a_ij Ybar_i and
 * (C_ij / h) M^T w_i, ft gets h d_i w_i, and J gets w_i u_i^T: the exact discrete
 * gradient contains the derivatives of J, i.e. second derivatives of f. With only a
 * VJP they are taken as central differences of the VJP along u_i:
 *   grad_y (w^T J(y0) u) = d/de VJP(y0 + e u, w) ~ (VJP(y0 + d u, w) - VJP(y0 - d u, w)) / 2d,
 * and the same for the parameter part, with d = DIFF_REL max(|y0|_inf, 1) / |u|_inf
 * (taken as a step DIFF_REL max(|y0|_inf, 1) along u / |u|_inf, so that d never overflows),
 * DIFF_REL = eps^(1/3): truncation d^2 |f'''| |u|^2 / 6 and rounding eps |VJP| / d, both
 * about eps^(2/3) ~ 4e-11 relative (2 VJPs per stage). Likewise ft's derivative:
 * grad_y (w^T ft) = d/ds VJP(s, y0, w), by a central difference in s with d = DIFF_REL
 * max(|s|, 1) (2 VJPs per step; none when nde_options.autonomous).
 *
 * So this is the gradient of the method WITH THE EXACT JACOBIAN (and exact df/dt): the
 * forward solve's J (ode->jac, or its difference Jacobian) and its df/dt (a forward
 * difference) count as exact, to the accuracy of the differences of the VJP above. The
 * step is recomputed from its start with the forward's own Jacobian and time-derivative
 * code (src/implicit/jacobian.c), so the rebuilt states are the taped ones; with ode->jac
 * and autonomous problems the gradient agrees with differences of the discrete solve to
 * the ~1e-10 of the second-derivative differences, with the difference Jacobian to the
 * ~sqrt(eps) by which that Jacobian's derivative differs from J's.
 * Mass matrices (constant M) enter only linearly and are supported; banded Jacobians
 * are not (NDE_EUNSUPPORTED at the taped solve).
 * A stage of the error estimate only (ros3p's fourth, nde__ros_tableau.est_stages) is
 * a stage like the others here: its cotangent comes from R_E alone (skipped without
 * it), and the stiffness estimate uses the last two stages of the solution. A stage at
 * its predecessor's point (same_f) copies that F, as the forward does. */
#include "adjoint/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* eps^(1/3): the relative increment of the central differences of the VJP. */
#define DIFF_REL 6.0554544523933395e-06

int nde__adj_is_ros(const nde_method *m) { return nde__ros_tab(m) != NULL; }

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

/* Doubles: u, Y, F, ubar (s each), J, E, ET (dim^2 each), 17 vectors, Pbar
 * ((rows + 2) dim), 3 np; ints: 2 dim. */
static int layout(const nde_method *m, size_t dim, size_t np, size_t *doubles, size_t *ints)
{
    const nde__ros_tableau *T = nde__ros_tab(m);
    if (!T || T->stages > NDE__ADJ_ROS_MAX) return 1;
    const size_t s = (size_t)T->stages, rows = (size_t)T->dense_rows;
    size_t d2, n = 0;
    if (nde__size_mul(dim, dim, &d2)) return 1;
    if (nde__size_muladd(&n, 3, d2) || nde__size_muladd(&n, 4 * s + 17 + rows + 2, dim) ||
        nde__size_muladd(&n, 3, np))
        return 1;
    *doubles = n;
    *ints = 0;
    return nde__size_muladd(ints, 2, dim);
}

size_t nde__adj_ros_bytes(const nde_method *m, size_t dim, size_t np)
{
    size_t nd, ni, bytes = 0;
    if (layout(m, dim, np, &nd, &ni)) return 0;
    if (nde__size_muladd(&bytes, nd, sizeof(double)) || nde__size_muladd(&bytes, ni, sizeof(int)) ||
        nde__size_add(bytes, sizeof(double), &bytes))
        return 0;
    return bytes;
}

void nde__adj_ros_init(nde__adj_ros *w, const nde_method *m, const nde_ode *ode, int autonomous, size_t np,
                       void *mem, const nde__adj_problem *p)
{
    const nde__ros_tableau *T = nde__ros_tab(m);
    const size_t dim = p->dim;
    size_t nd = 0, ni = 0;
    layout(m, dim, np, &nd, &ni);
    memset(w, 0, sizeof *w);
    w->T = T;
    w->s = T->stages;
    w->degree = T->dense_rows + 1;
    w->autonomous = autonomous;
    w->M = ode->mass;
    /* the forward's Jacobian and time-derivative code runs on this stepper view */
    w->st.m = m;
    w->st.dim = dim;
    w->st.f = p->f;
    w->st.user = p->fuser;
    w->st.ode = ode;
    w->st.dir = p->dir;
    w->st.rtol = p->rtol;
    w->st.atol = p->atol;
    w->st.err_dim = dim;
    w->st.stats = &w->stats;
    double *q = mem;
    for (int i = 0; i < w->s; i++, q += dim) w->u[i] = q;
    for (int i = 0; i < w->s; i++, q += dim) w->Y[i] = q;
    for (int i = 0; i < w->s; i++, q += dim) w->F[i] = q;
    for (int i = 0; i < w->s; i++, q += dim) w->ubar[i] = q;
    w->J = q; q += dim * dim;
    w->E = q; q += dim * dim;
    w->ET = q; q += dim * dim;
    double **vec[] = { &w->y1, &w->ybar0, &w->ft, &w->ftbar, &w->wv, &w->vbar, &w->tmp, &w->neg, &w->ytmp,
                       &w->ftmp, &w->Ya_bar, &w->Yb_bar, &w->Fa_bar, &w->Fb_bar, &w->hp, &w->hm, &w->v };
    for (size_t i = 0; i < sizeof vec / sizeof *vec; i++, q += dim) *vec[i] = q;
    w->Pbar = q; q += (size_t)(w->degree + 1) * dim;
    w->theta_tmp = q; q += np;
    w->tp = q; q += np;
    w->tm = q; q += np;
    int *iq = (int *)(void *)((char *)mem + align_up(nd * sizeof(double), sizeof(int)));
    w->pe = iq;
    w->pt = iq + dim;
}

static int eval(nde__adj_problem *p, double s, const double *y, double *k)
{
    p->nfe++;
    return p->f(s, y, k, p->fuser);
}

int nde__adj_ros_forward(nde__adj_problem *p, nde__adj_ros *w, double s, double h, const double *y0, int dense)
{
    (void)dense;   /* the interpolant is a combination of the stages */
    const nde__ros_tableau *T = w->T;
    const size_t n = p->dim;
    const int S = w->s;
    const double *M = w->M;
    int rc;
    memcpy(w->Y[0], y0, n * sizeof *y0);
    if ((rc = eval(p, s, y0, w->F[0]))) return rc;
    w->stats.nfe = 0;
    if ((rc = nde__impl_jacobian_scaled(&w->st, s, y0, w->F[0], w->J, w->ytmp, w->ftmp))) return rc;
    if (!w->autonomous && (rc = nde__impl_time_derivative(&w->st, s, y0, w->F[0], w->ft, w->ftmp))) return rc;
    p->nfe += w->stats.nfe;
    /* E = M / (h gamma) - J and its transpose, factored */
    const double fac = 1.0 / (h * T->gamma);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            const double e = (M ? M[i * n + j] * fac : (i == j ? fac : 0.0)) - w->J[i * n + j];
            w->E[i * n + j] = e;
            w->ET[j * n + i] = e;
        }
    if (nde__num_lu_factor(n, w->E, n, w->pe) != NDE_OK || nde__num_lu_factor(n, w->ET, n, w->pt) != NDE_OK)
        return NDE_ENONLINEAR;
    const double inv_h = 1.0 / h;
    for (int i = 0; i < S; i++) {
        const double *ai = T->a + i * S, *Ci = T->C + i * S;
        double *ui = w->u[i];
        if (i > 0) {
            double *Y = w->Y[i];
            memcpy(Y, y0, n * sizeof *Y);
            for (int j = 0; j < i; j++)
                if (ai[j] != 0.0)
                    for (size_t k = 0; k < n; k++) Y[k] += ai[j] * w->u[j][k];
            if (T->same_f && T->same_f[i]) memcpy(w->F[i], w->F[i - 1], n * sizeof *Y);   /* Y_i = Y_{i-1} */
            else if ((rc = eval(p, s + T->c[i] * h, Y, w->F[i]))) return rc;
        }
        const double *fi = w->F[i];
        for (size_t k = 0; k < n; k++) w->v[k] = 0.0;
        for (int j = 0; j < i; j++)
            if (Ci[j] != 0.0) {
                const double c = Ci[j] * inv_h;
                for (size_t k = 0; k < n; k++) w->v[k] += c * w->u[j][k];
            }
        if (M) nde__num_gemv(NDE__NUM_NOTRANS, n, n, 1.0, M, n, w->v, 0.0, ui);
        else memcpy(ui, w->v, n * sizeof *ui);
        const double hd = w->autonomous ? 0.0 : h * T->d[i];
        if (hd != 0.0) for (size_t k = 0; k < n; k++) ui[k] += fi[k] + hd * w->ft[k];
        else for (size_t k = 0; k < n; k++) ui[k] += fi[k];
        nde__num_lu_solve(n, w->E, n, w->pe, 1, ui, n);
    }
    memcpy(w->y1, y0, n * sizeof *y0);
    for (int i = 0; i < S; i++)
        if (T->m[i] != 0.0)
            for (size_t k = 0; k < n; k++) w->y1[k] += T->m[i] * w->u[i][k];
    return 0;
}

/* The controller's error norm (rosenbrock.c error_norm) of e = sum_i e_i u_i; with uu,
 * the scaled components and their scales. */
static double error_norm(const nde__adj_problem *p, const nde__ros_tableau *T, const double *u, size_t ld,
                         const double *y0, const double *y1, double *uu, double *scale)
{
    const size_t n = p->dim;
    double su = 0.0;
    for (size_t d = 0; d < n; d++) {
        double e = 0.0;
        for (int i = 0; i < T->stages; i++)
            if (T->e[i] != 0.0) e += T->e[i] * u[(size_t)i * ld + d];
        const double sc = p->atol + p->rtol * fmax(fabs(y0[d]), fabs(y1[d])), ud = e / sc;
        su += ud * ud;
        if (uu) { uu[d] = ud; scale[d] = sc; }
    }
    return sqrt(su / (double)n);
}

int nde__adj_ros_regularisers(const nde__adj_problem *p, const double *u, double s, double h, const double *y0,
                              const double *y1, int want_stiff, double *Ya, double *Yb, double *Fa, double *Fb,
                              double *r_error, double *r_stiff)
{
    const nde__ros_tableau *T = nde__ros_tab(p->m);
    const size_t n = p->dim;
    const int S = T->stages, a = S - T->est_stages - 1, b = a - 1;
    *r_error = *r_stiff = 0.0;
    if (p->m->embedded_order > 0) *r_error = fabs(h) * error_norm(p, T, u, n, y0, y1, NULL, NULL);
    if (!want_stiff) return 0;
    for (int pass = 0; pass < 2; pass++) {
        const int i = pass ? b : a;
        double *Y = pass ? Yb : Ya;
        memcpy(Y, y0, n * sizeof *Y);
        for (int j = 0; j < i; j++) {
            const double aij = T->a[i * S + j];
            if (aij != 0.0)
                for (size_t k = 0; k < n; k++) Y[k] += aij * u[(size_t)j * n + k];
        }
    }
    const double B = nde__adj_stiff_denominator(Ya, Yb, n);
    if (!(B > 0.0)) return 0;
    int rc = p->f(s + T->c[a] * h, Ya, Fa, p->fuser);
    if (rc || (rc = p->f(s + T->c[b] * h, Yb, Fb, p->fuser))) return rc;
    *r_stiff = fabs(h) * nde__adj_dist2(Fa, Fb, n) / B;
    return 0;
}

static void axpy(double *y, double a, const double *x, size_t n)
{
    for (size_t d = 0; d < n; d++) y[d] += a * x[d];
}

static double norm_inf(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* out += grad_y (wv^T J(s, y0) u) and theta_bar += its parameter part, by central
 * differences of the VJP along u (see the file comment). */
static int hessian_term(nde__adj_problem *p, nde__adj_ros *w, double s, const double *y0, const double *u,
                        const double *wv, double *out, double *theta_bar)
{
    const size_t n = p->dim, np = p->np;
    const double un = norm_inf(u, n), wn = norm_inf(wv, n);
    if (un == 0.0 || wn == 0.0) return 0;
    /* along the unit direction u / |u|: d / |u| itself overflows when u is subnormal
     * (a step of 1e-300 between two jump times), and inf * 0 then gave NaN */
    const double d = DIFF_REL * fmax(norm_inf(y0, n), 1.0);
    int rc;
    for (int side = 0; side < 2; side++) {
        const double sg = side ? -d : d;
        for (size_t k = 0; k < n; k++) w->ytmp[k] = y0[k] + sg * (u[k] / un);
        double *tb = theta_bar ? (side ? w->tm : w->tp) : NULL;
        if (tb) memset(tb, 0, np * sizeof *tb);
        if ((rc = nde__adj_vjp(p, s, w->ytmp, wv, side ? w->hm : w->hp, w->neg, w->theta_tmp, tb))) return rc;
    }
    const double inv = un / (2.0 * d);
    for (size_t k = 0; k < n; k++) out[k] += (w->hp[k] - w->hm[k]) * inv;
    if (theta_bar)
        for (size_t k = 0; k < np; k++) theta_bar[k] += (w->tp[k] - w->tm[k]) * inv;
    return 0;
}

/* out += grad_y (wv^T df~/ds(s, y0)) and its parameter part: d/ds of the VJP. */
static int time_term(nde__adj_problem *p, nde__adj_ros *w, double s, const double *y0, const double *wv,
                     double *out, double *theta_bar)
{
    const size_t n = p->dim, np = p->np;
    if (norm_inf(wv, n) == 0.0) return 0;
    const double d = DIFF_REL * fmax(fabs(s), 1.0);
    int rc;
    for (int side = 0; side < 2; side++) {
        double *tb = theta_bar ? (side ? w->tm : w->tp) : NULL;
        if (tb) memset(tb, 0, np * sizeof *tb);
        if ((rc = nde__adj_vjp(p, side ? s - d : s + d, y0, wv, side ? w->hm : w->hp, w->neg, w->theta_tmp, tb)))
            return rc;
    }
    const double inv = 1.0 / (2.0 * d);
    for (size_t k = 0; k < n; k++) out[k] += (w->hp[k] - w->hm[k]) * inv;
    if (theta_bar)
        for (size_t k = 0; k < np; k++) theta_bar[k] += (w->tp[k] - w->tm[k]) * inv;
    return 0;
}

/* Cotangents of the regularisers' inputs, weighted by w_error |h| and w_stiff |h|: into
 * ubar, ybar0, y1bar and the direct cotangents of Y_a, Y_b, F_a, F_b. */
static void regulariser_reverse(nde__adj_problem *p, nde__adj_ros *w, double h, const double *y0,
                                double *y1bar, double w_error, double w_stiff)
{
    const nde__ros_tableau *T = w->T;
    const size_t n = p->dim;
    const int S = w->s, a = S - T->est_stages - 1, b = a - 1;
    memset(w->Fa_bar, 0, n * sizeof *w->Fa_bar);
    memset(w->Fb_bar, 0, n * sizeof *w->Fb_bar);
    if (w_error != 0.0 && p->m->embedded_order > 0) {
        double *uu = w->Ya_bar, *sc = w->Yb_bar;   /* free until the stiffness part */
        const double N = error_norm(p, T, w->u[0], n, y0, w->y1, uu, sc), We = w_error * fabs(h);
        if (N > 0.0) {
            for (size_t d = 0; d < n; d++) {
                const double gu = uu[d] / ((double)n * N), ebar = We * gu / sc[d];
                for (int i = 0; i < S; i++)
                    if (T->e[i] != 0.0) w->ubar[i][d] += T->e[i] * ebar;
                const double g = -p->rtol * We * gu * uu[d] / sc[d];
                if (fabs(y0[d]) > fabs(w->y1[d])) w->ybar0[d] += y0[d] < 0 ? -g : g;
                else y1bar[d] += w->y1[d] < 0 ? -g : g;
            }
        }
    }
    memset(w->Ya_bar, 0, n * sizeof *w->Ya_bar);
    memset(w->Yb_bar, 0, n * sizeof *w->Yb_bar);
    if (w_stiff == 0.0) return;
    nde__adj_stiff_reverse(w->F[a], w->F[b], w->Y[a], w->Y[b], n, w_stiff * fabs(h), w->Fa_bar, w->Fb_bar, w->Ya_bar,
                           w->Yb_bar);
}

int nde__adj_ros_reverse(nde__adj_problem *p, nde__adj_ros *w, double s, double h, const double *y0,
                         double *ybar, size_t n_in, const double *theta, const double *const *cot,
                         double w_error, double w_stiff, double *theta_bar)
{
    const nde__ros_tableau *T = w->T;
    const size_t n = p->dim;
    const int S = w->s, a = S - T->est_stages - 1, b = a - 1;
    const double *M = w->M;
    double *y1bar = ybar, *ybar0 = w->ybar0;
    int rc;
    memset(ybar0, 0, n * sizeof *ybar0);
    memset(w->ftbar, 0, n * sizeof *w->ftbar);
    for (int i = 0; i < S; i++) memset(w->ubar[i], 0, n * sizeof(double));

    /* the interpolant: P_0 = y0, P_1 = y1 - y0 + K_0, P_j = K_{j-1} - K_{j-2},
     * P_{R+1} = -K_{R-1}, K_r = sum_i H_ri u_i */
    if (n_in) {
        const int deg = w->degree, rows = T->dense_rows;
        double *Pb = w->Pbar;
        memset(Pb, 0, (size_t)(deg + 1) * n * sizeof *Pb);
        for (size_t q = 0; q < n_in; q++) {
            double tp = 1.0;
            for (int j = 0; j <= deg; j++, tp *= theta[q]) axpy(Pb + (size_t)j * n, tp, cot[q], n);
        }
        for (size_t d = 0; d < n; d++) {
            ybar0[d] += Pb[d] - Pb[n + d];
            y1bar[d] += Pb[n + d];
        }
        for (int r = 0; r < rows; r++) {
            const double *Pa = Pb + (size_t)(r + 1) * n, *Pc = Pb + (size_t)(r + 2) * n;
            for (int i = 0; i < S; i++) {
                const double hri = T->H[r * S + i];
                if (hri == 0.0) continue;
                for (size_t d = 0; d < n; d++) w->ubar[i][d] += hri * (Pa[d] - Pc[d]);
            }
        }
    }
    regulariser_reverse(p, w, h, y0, y1bar, w_error, w_stiff);
    /* y1 = y0 + sum_i m_i u_i */
    axpy(ybar0, 1.0, y1bar, n);
    for (int i = 0; i < S; i++)
        if (T->m[i] != 0.0) axpy(w->ubar[i], T->m[i], y1bar, n);
    const double inv_h = 1.0 / h;
    for (int i = S - 1; i >= 0; i--) {
        /* a stage of the error estimate only has no cotangent without R_E */
        if (i >= S - T->est_stages && w_error == 0.0) continue;
        const double *ai = T->a + i * S, *Ci = T->C + i * S;
        double *wv = w->wv;
        memcpy(wv, w->ubar[i], n * sizeof *wv);
        nde__num_lu_solve(n, w->ET, n, w->pt, 1, wv, n);   /* w_i = E^-T ubar_i */
        /* J's part: w_i^T J u_i */
        if ((rc = hessian_term(p, w, s, y0, w->u[i], wv, ybar0, theta_bar))) return rc;
        /* F_i = f~(t_i, Y_i), with the stiffness estimate's direct cotangents */
        memcpy(w->v, wv, n * sizeof *w->v);
        if (i == a) axpy(w->v, 1.0, w->Fa_bar, n);
        if (i == b) axpy(w->v, 1.0, w->Fb_bar, n);
        const double ti = i == 0 ? s : s + T->c[i] * h;
        if ((rc = nde__adj_vjp(p, ti, w->Y[i], w->v, w->tmp, w->neg, w->theta_tmp, theta_bar))) return rc;
        if (i == a) axpy(w->tmp, 1.0, w->Ya_bar, n);
        if (i == b) axpy(w->tmp, 1.0, w->Yb_bar, n);
        axpy(ybar0, 1.0, w->tmp, n);   /* Y_i = y0 + sum_{j<i} a_ij u_j */
        for (int j = 0; j < i; j++)
            if (ai[j] != 0.0) axpy(w->ubar[j], ai[j], w->tmp, n);
        /* M sum_j (C_ij / h) u_j */
        if (M) nde__num_gemv(NDE__NUM_TRANS, n, n, 1.0, M, n, wv, 0.0, w->vbar);
        else memcpy(w->vbar, wv, n * sizeof *w->vbar);
        for (int j = 0; j < i; j++)
            if (Ci[j] != 0.0) axpy(w->ubar[j], Ci[j] * inv_h, w->vbar, n);
        const double hd = w->autonomous ? 0.0 : h * T->d[i];
        if (hd != 0.0) axpy(w->ftbar, hd, wv, n);
    }
    if (!w->autonomous && (rc = time_term(p, w, s, y0, w->ftbar, ybar0, theta_bar))) return rc;
    memcpy(ybar, ybar0, n * sizeof *ybar);
    return 0;
}
