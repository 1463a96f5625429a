/* Explicit Runge-Kutta engine: one tableau-driven step, its error estimate and its
 * dense-output polynomial. Shared by nde_ode_solve and the public nde_stepper. */
#include "ode/erk.h"
#include "core/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

size_t nde__erk_slots(const nde_method *m)
{
    const nde__erk_tableau *tab = nde__erk_tab(m);
    size_t n = (size_t)m->stages + (m->fsal ? 0 : 1);
    if (tab->dense_b && (size_t)tab->dense_stages > n) n = (size_t)tab->dense_stages;
    return n;
}

int nde__erk_end_slot(const nde_method *m) { return m->fsal ? m->stages - 1 : m->stages; }

int nde__erk_dense_degree(const nde_method *m)
{
    const nde__erk_tableau *tab = nde__erk_tab(m);
    return tab->dense_b ? tab->dense_degree : 3;
}

static void compile_row(nde__erk_row *r, const double *coef, int count)
{
    r->n = 0;
    for (int j = 0; coef && j < count; j++) {
        if (coef[j] == 0.0) continue;
        r->idx[r->n] = (unsigned char)j;
        r->coef[r->n] = coef[j];
        r->n++;
    }
}

void nde__erk_plan_init(nde__erk_plan *p, const nde_method *m)
{
    const nde__erk_tableau *tab = nde__erk_tab(m);
    const int s = m->stages;
    memset(p, 0, sizeof *p);
    p->m = m;
    p->T = tab;
    for (int i = 1; i < s; i++) compile_row(&p->a[i], tab->a + (size_t)i * (size_t)s, i);
    compile_row(&p->b, tab->b, m->fsal ? s - 1 : s);
    compile_row(&p->e, tab->e, s);
    compile_row(&p->e3, tab->e3, s);
    if (tab->dense_b) {
        const int ds = tab->dense_stages;
        for (int i = s + (tab->dense_end_first ? 1 : 0); i < ds; i++)
            compile_row(&p->a[i], tab->dense_a + (size_t)(i - s) * (size_t)ds, i);
        for (int j = 0; j < tab->dense_degree && j < NDE__MAX_DENSE_DEGREE; j++)
            compile_row(&p->dense[j], tab->dense_b + (size_t)j * (size_t)ds, ds);
    }
}

/* A row scaled for one step: weights h*coef and the stage vectors they multiply. */
typedef struct terms {
    int n;
    double w[NDE__MAX_STAGES];
    const double *kp[NDE__MAX_STAGES];
} terms;

static void scale(terms *T, const nde__erk_row *r, double h, double *const *ks)
{
    const int n = r->n;
    for (int j = 0; j < n; j++) {
        T->w[j] = h * r->coef[j];
        T->kp[j] = ks[r->idx[j]];
    }
    T->n = n;
}

/* A row for a stage input or the solution, unscaled: the table's own weights, which
 * apply_h multiplies by h once, after the sum (gather, then apply_h). */
static void gather(terms *T, const nde__erk_row *r, double *const *ks)
{
    const int n = r->n;
    for (int j = 0; j < n; j++) {
        T->w[j] = r->coef[j];
        T->kp[j] = ks[r->idx[j]];
    }
    T->n = n;
}

/* Two doubles in one register: GCC's and Clang's generic vectors (SSE2 on x86-64, NEON
 * on AArch64; scalar code elsewhere). Each lane does exactly the scalar operations in
 * the scalar order, so results are bitwise those of scalar code: the vectors only halve
 * the instruction count of the large-system kernels. */
typedef double v2 __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));

static inline v2 v2_load(const double *p) { v2 v; memcpy(&v, p, sizeof v); return v; }
static inline void v2_store(double *p, v2 v) { memcpy(p, &v, sizeof v); }
static inline v2 v2_splat(double x) { return (v2){ x, x }; }
/* max(|a|, |b|) per lane as absmax below: a NaN in b gives NaN, in a gives |b| */
static inline v2 v2_absmax(v2 a, v2 b)
{
    const v2i mask = { 0x7fffffffffffffffLL, 0x7fffffffffffffffLL };
    a = (v2)((v2i)a & mask);
    b = (v2)((v2i)b & mask);
    v2i gt = a > b;
    return (v2)((gt & (v2i)a) | (~gt & (v2i)b));
}

/* out = base + sum_j w_j k_j (base NULL: 0) in one pass over memory: components in
 * blocks of 8 (then 4, then 1) on the outside, terms inside, so each weight and stage
 * pointer is loaded once per 8 outputs. Summation is left to right (base, then j = 0,
 * 1, ...), the textbook order, which the table-specialised kernels (erk_kernel.h)
 * share. */
static void apply(const terms *T, const double *base, size_t dim, double *restrict out)
{
    const int n = T->n;
    const double *w = T->w;
    const double *const *kp = T->kp;
    size_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        v2 a0 = v2_splat(0.0), a1 = a0, a2 = a0, a3 = a0;
        if (base) {
            a0 = v2_load(base + d); a1 = v2_load(base + d + 2);
            a2 = v2_load(base + d + 4); a3 = v2_load(base + d + 6);
        }
        for (int j = 0; j < n; j++) {
            const v2 wj = v2_splat(w[j]);
            const double *kj = kp[j] + d;
            a0 += wj * v2_load(kj);
            a1 += wj * v2_load(kj + 2);
            a2 += wj * v2_load(kj + 4);
            a3 += wj * v2_load(kj + 6);
        }
        v2_store(out + d, a0); v2_store(out + d + 2, a1);
        v2_store(out + d + 4, a2); v2_store(out + d + 6, a3);
    }
    for (; d + 4 <= dim; d += 4) {
        v2 a0 = v2_splat(0.0), a1 = a0;
        if (base) { a0 = v2_load(base + d); a1 = v2_load(base + d + 2); }
        for (int j = 0; j < n; j++) {
            const v2 wj = v2_splat(w[j]);
            a0 += wj * v2_load(kp[j] + d);
            a1 += wj * v2_load(kp[j] + d + 2);
        }
        v2_store(out + d, a0); v2_store(out + d + 2, a1);
    }
    for (; d < dim; d++) {
        double a = base ? base[d] : 0.0;
        for (int j = 0; j < n; j++) a += w[j] * kp[j][d];
        out[d] = a;
    }
}

/* out = base + h (sum_j w_j k_j), the weights unscaled (gather): y + h sum_j a_ij k_j
 * as written. Folding h into the weights instead (sum_j (h a_ij) k_j) rounds each h a_ij
 * the same way at every step of a constant step size, a systematic error in the
 * method's weights: for tables with large weights of both signs (vern6: b_7 = -73,
 * b_8 = 71) it accumulates to ~1e-13 relative over a few thousand steps, where this
 * form stays at ~4e-15 (the battery's convergence-order test). Same pass structure and
 * summation order as apply; the table-specialised kernels compute the same. */
static void apply_h(const terms *T, const double *base, double h, size_t dim,
                    double *restrict out)
{
    const int n = T->n;
    const double *w = T->w;
    const double *const *kp = T->kp;
    const v2 vh = v2_splat(h);
    size_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        v2 a0 = v2_splat(0.0), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < n; j++) {
            const v2 wj = v2_splat(w[j]);
            const double *kj = kp[j] + d;
            a0 += wj * v2_load(kj);
            a1 += wj * v2_load(kj + 2);
            a2 += wj * v2_load(kj + 4);
            a3 += wj * v2_load(kj + 6);
        }
        v2_store(out + d, v2_load(base + d) + vh * a0);
        v2_store(out + d + 2, v2_load(base + d + 2) + vh * a1);
        v2_store(out + d + 4, v2_load(base + d + 4) + vh * a2);
        v2_store(out + d + 6, v2_load(base + d + 6) + vh * a3);
    }
    for (; d + 4 <= dim; d += 4) {
        v2 a0 = v2_splat(0.0), a1 = a0;
        for (int j = 0; j < n; j++) {
            const v2 wj = v2_splat(w[j]);
            a0 += wj * v2_load(kp[j] + d);
            a1 += wj * v2_load(kp[j] + d + 2);
        }
        v2_store(out + d, v2_load(base + d) + vh * a0);
        v2_store(out + d + 2, v2_load(base + d + 2) + vh * a1);
    }
    for (; d < dim; d++) {
        double a = 0.0;
        for (int j = 0; j < n; j++) a += w[j] * kp[j][d];
        out[d] = base[d] + h * a;
    }
}

int nde__erk_step(const nde__erk_plan *p, nde_rhs f, void *user, double t, double h,
                  const double *y, double *y1, double *err, double *err3,
                  double *const *ks, double *ytmp, size_t dim, size_t *nfe)
{
    const nde_method *m = p->m;
    const nde__erk_tableau *tab = p->T;
    if (tab->step_fixed && dim < NDE__FIXED_MAX_DIM && !err && !err3)
        return tab->step_fixed(f, user, t, h, y, y1, ks, ytmp, dim, nfe);
    const int s = m->stages;
    const int last = m->fsal ? s - 1 : s;   /* stages computed before y1 */
    terms T;
    for (int i = 1; i < last; i++) {
        gather(&T, &p->a[i], ks);
        apply_h(&T, y, h, dim, ytmp);
        ++*nfe;
        int rc = f(t + tab->c[i] * h, ytmp, ks[i], user);
        if (rc) return rc;
    }
    gather(&T, &p->b, ks);
    apply_h(&T, y, h, dim, y1);
    if (m->fsal) {
        ++*nfe;
        int rc = f(t + h, y1, ks[s - 1], user);
        if (rc) return rc;
    }
    if (err) {
        if (tab->e) { scale(&T, &p->e, h, ks); apply(&T, NULL, dim, err); }
        else memset(err, 0, dim * sizeof *err);
    }
    if (err3 && tab->e3) { scale(&T, &p->e3, h, ks); apply(&T, NULL, dim, err3); }
    return 0;
}

/* max(|a|, |b|) without fmax's NaN handling (a libm call at -O2): a NaN in y1 makes
 * the error sum NaN anyway, which the norm maps to +Inf. */
static inline double absmax(double a, double b)
{
    a = fabs(a); b = fabs(b);
    return a > b ? a : b;
}

double nde__erk_error_norm(const nde__erk_plan *p, double h, double *const *ks,
                           const double *y0, const double *y1, size_t dim,
                           double rtol, double atol)
{
    const nde__erk_tableau *tab = p->T;
    if (tab->norm_fixed && dim < NDE__FIXED_MAX_DIM)
        return tab->norm_fixed(h, ks, y0, y1, dim, rtol, atol);
    terms E, E3;
    scale(&E, &p->e, h, ks);
    const int n = E.n;
    const v2 va = v2_splat(atol), vr = v2_splat(rtol);
    /* components in pairs, one per lane: lane 0 sums the even components, lane 1 the
     * odd ones (and an odd last component joins lane 0) */
    v2 acc = v2_splat(0.0), vmax = v2_splat(0.0);   /* vmax: an Inf in y1 would hide behind its Inf scale */
    double smax = 0.0;
    size_t d = 0;
    if (tab->error_kind == NDE__ERR_DOP853) {
        scale(&E3, &p->e3, h, ks);
        v2 acc3 = v2_splat(0.0);
        for (; d + 4 <= dim; d += 4) {   /* two pairs per pass: weights loaded once */
            v2 e = v2_splat(0.0), f = e, e3 = e, f3 = e;
            for (int j = 0; j < n; j++) {
                const v2 wj = v2_splat(E.w[j]);
                e += wj * v2_load(E.kp[j] + d);
                f += wj * v2_load(E.kp[j] + d + 2);
            }
            for (int j = 0; j < E3.n; j++) {
                const v2 wj = v2_splat(E3.w[j]);
                e3 += wj * v2_load(E3.kp[j] + d);
                f3 += wj * v2_load(E3.kp[j] + d + 2);
            }
            v2 m = v2_absmax(v2_load(y0 + d), v2_load(y1 + d)), m2 = v2_absmax(v2_load(y0 + d + 2), v2_load(y1 + d + 2));
            vmax = v2_absmax(vmax, v2_absmax(m, m2));
            v2 inv = v2_splat(1.0) / (va + vr * m);
            v2 inv2 = v2_splat(1.0) / (va + vr * m2);
            e *= inv; e3 *= inv; f *= inv2; f3 *= inv2;
            acc += e * e; acc += f * f;
            acc3 += e3 * e3; acc3 += f3 * f3;
        }
        for (; d + 2 <= dim; d += 2) {
            v2 e = v2_splat(0.0), e3 = v2_splat(0.0);
            for (int j = 0; j < n; j++) e += v2_splat(E.w[j]) * v2_load(E.kp[j] + d);
            for (int j = 0; j < E3.n; j++) e3 += v2_splat(E3.w[j]) * v2_load(E3.kp[j] + d);
            v2 m = v2_absmax(v2_load(y0 + d), v2_load(y1 + d));
            vmax = v2_absmax(vmax, m);
            v2 inv = v2_splat(1.0) / (va + vr * m);
            e *= inv; e3 *= inv;
            acc += e * e;
            acc3 += e3 * e3;
        }
        double sum = acc[0], sum3 = acc3[0];
        for (; d < dim; d++) {
            double e = 0.0, e3 = 0.0;
            for (int j = 0; j < n; j++) e += E.w[j] * E.kp[j][d];
            for (int j = 0; j < E3.n; j++) e3 += E3.w[j] * E3.kp[j][d];
            double m = absmax(y0[d], y1[d]);
            smax = m > smax ? m : smax;
            double inv = 1.0 / (atol + rtol * m);
            e *= inv; e3 *= inv;
            sum += e * e;
            sum3 += e3 * e3;
        }
        sum += acc[1];
        sum3 += acc3[1];
        if (!isfinite(sum + sum3) || !(vmax[0] <= DBL_MAX && vmax[1] <= DBL_MAX && smax <= DBL_MAX)) return INFINITY;
        double den = sum + 0.01 * sum3;
        return den > 0.0 ? sum / sqrt(den * (double)dim) : 0.0;
    }
    for (; d + 4 <= dim; d += 4) {   /* two pairs per pass: weights loaded once */
        v2 e = v2_splat(0.0), f = e;
        for (int j = 0; j < n; j++) {
            const v2 wj = v2_splat(E.w[j]);
            e += wj * v2_load(E.kp[j] + d);
            f += wj * v2_load(E.kp[j] + d + 2);
        }
        v2 m = v2_absmax(v2_load(y0 + d), v2_load(y1 + d)), m2 = v2_absmax(v2_load(y0 + d + 2), v2_load(y1 + d + 2));
        vmax = v2_absmax(vmax, v2_absmax(m, m2));
        e /= va + vr * m;
        f /= va + vr * m2;
        acc += e * e;
        acc += f * f;
    }
    for (; d + 2 <= dim; d += 2) {
        v2 e = v2_splat(0.0);
        for (int j = 0; j < n; j++) e += v2_splat(E.w[j]) * v2_load(E.kp[j] + d);
        v2 m = v2_absmax(v2_load(y0 + d), v2_load(y1 + d));
        vmax = v2_absmax(vmax, m);
        e /= va + vr * m;
        acc += e * e;
    }
    double s0 = acc[0], s1 = acc[1];
    for (; d < dim; d++) {
        double e = 0.0;
        for (int j = 0; j < n; j++) e += E.w[j] * E.kp[j][d];
        double m = absmax(y0[d], y1[d]);
        smax = m > smax ? m : smax;
        e /= atol + rtol * m;
        s0 += e * e;
    }
    double sum = s0 + s1;
    if (!isfinite(sum) || !(vmax[0] <= DBL_MAX && vmax[1] <= DBL_MAX && smax <= DBL_MAX)) return INFINITY;
    return sqrt(sum / (double)dim);
}

double nde__erk_error_norm_scaled(const nde__erk_plan *p, double h, double *const *ks,
                                  const double *y0, const double *y1, size_t dim,
                                  double rtol, double atol, double *scratch)
{
    double *e = scratch, *e3 = scratch + dim;
    const int dop853 = p->T->error_kind == NDE__ERR_DOP853;
    terms T;
    scale(&T, &p->e, h, ks);
    apply(&T, NULL, dim, e);
    if (dop853) { scale(&T, &p->e3, h, ks); apply(&T, NULL, dim, e3); }
    /* scaled components and the largest of them */
    double big = 0.0;
    for (size_t d = 0; d < dim; d++) {
        if (!isfinite(y1[d])) return INFINITY;
        double sc = atol + rtol * absmax(y0[d], y1[d]);
        e[d] = fabs(e[d] / sc);
        if (!(e[d] <= DBL_MAX)) return INFINITY;
        if (e[d] > big) big = e[d];
        if (dop853) {
            e3[d] = fabs(e3[d] / sc);
            if (!(e3[d] <= DBL_MAX)) return INFINITY;
            if (e3[d] > big) big = e3[d];
        }
    }
    if (big == 0.0) return 0.0;
    double sum = 0.0, sum3 = 0.0;
    for (size_t d = 0; d < dim; d++) {
        double u = e[d] / big;
        sum += u * u;
        if (dop853) { u = e3[d] / big; sum3 += u * u; }
    }
    if (dop853) {   /* big^2 sum / sqrt(big^2 (sum + 0.01 sum3) dim) */
        double den = sum + 0.01 * sum3;
        return den > 0.0 ? big * (sum / sqrt(den * (double)dim)) : 0.0;
    }
    return big * sqrt(sum / (double)dim);
}

int nde__erk_eval_end(const nde_method *m, nde_rhs f, void *user, double t, double h,
                      const double *y1, double *const *ks, size_t dim, size_t *nfe)
{
    (void)dim;
    if (m->fsal) return 0;
    ++*nfe;
    return f(t + h, y1, ks[m->stages], user);
}

int nde__erk_dense_coeffs(const nde__erk_plan *p, nde_rhs f, void *user, double t, double h,
                          const double *y0, const double *y1, double *const *ks, double *ytmp,
                          size_t dim, double *P, size_t *nfe)
{
    const nde_method *m = p->m;
    const nde__erk_tableau *tab = p->T;
    memcpy(P, y0, dim * sizeof *P);
    if (!tab->dense_b) {
        /* Cubic Hermite through (y0, f0) and (y1, f1):
         * P1 = h f0, P2 = 3(y1-y0) - h(2 f0 + f1), P3 = -2(y1-y0) + h(f0 + f1). */
        const double *f0 = ks[0], *f1 = ks[nde__erk_end_slot(m)];
        double *P1 = P + dim, *P2 = P + 2 * dim, *P3 = P + 3 * dim;
        for (size_t d = 0; d < dim; d++) {
            double dy = y1[d] - y0[d];
            P1[d] = h * f0[d];
            P2[d] = 3.0 * dy - h * (2.0 * f0[d] + f1[d]);
            P3[d] = -2.0 * dy + h * (f0[d] + f1[d]);
        }
        return 0;
    }
    const int s = m->stages, ds = tab->dense_stages;
    terms T;
    /* extra stages used only by the interpolant (f(t + h, y1) is in the end slot) */
    for (int i = s + (tab->dense_end_first ? 1 : 0); i < ds; i++) {
        gather(&T, &p->a[i], ks);
        apply_h(&T, y0, h, dim, ytmp);
        ++*nfe;
        int rc = f(t + tab->dense_c[i - s] * h, ytmp, ks[i], user);
        if (rc) return rc;
    }
    const int deg = tab->dense_degree;
    for (int j = 0; j < deg - 1; j++) {
        double *Pj = P + (size_t)(j + 1) * dim;
        if (tab->dense_wide) {
            /* sum_i B_ji k_i cancels terms up to max |B_ji| |k| (vern8: 1.4e6 |k|) down
             * to O(h |k|). The order-1 condition sum_i b_i(theta) = theta makes the row
             * sums 1 (theta^1) and 0 (higher powers), so the sum is formed as
             * [j = 0] k_0 + sum_{i > 0} B_ji (k_i - k_0): the differences of nearby
             * stages are exact (Sterbenz) and O(h), and y' = const gives P_j = 0
             * exactly; summed in long double (x87's 64-bit significand on x86-64) */
            const nde__erk_row *r = &p->dense[j];
            const long double hl = h;
            const double *k0 = ks[0];
            for (size_t d = 0; d < dim; d++) {
                long double acc = j == 0 ? (long double)k0[d] : 0.0L;
                for (int q = 0; q < r->n; q++)
                    if (r->idx[q] != 0)
                        acc += (long double)r->coef[q] * (long double)(ks[r->idx[q]][d] - k0[d]);
                Pj[d] = (double)(hl * acc);
            }
        } else {
            scale(&T, &p->dense[j], h, ks);
            apply(&T, NULL, dim, Pj);
        }
    }
    /* The top coefficient from y(1) = y1: the same polynomial in exact arithmetic, but
     * the dense output then meets the step's own y1 to round-off (the tables' large
     * coefficients, up to ~500 for DOP853, would otherwise leave a ~1e-13 jump). */
    double *top = P + (size_t)deg * dim;
    for (size_t d = 0; d < dim; d++) {
        double acc = y1[d] - y0[d];
        for (int j = 1; j < deg; j++) acc -= P[(size_t)j * dim + d];
        top[d] = acc;
    }
    return 0;
}

/* ---- public step-level object ------------------------------------------------ */

struct nde_stepper {
    const nde_method *m;
    nde__erk_plan plan;
    nde_allocator alloc;
    size_t dim, nfe, bytes;
    double t, h;
    int have_step;   /* k, y0, y1 describe the step [t, t + h] */
    int end_valid;   /* the end slot holds f(t + h, y1) */
    int have_dense;  /* P holds the step's interpolant */
    double *k, *ytmp, *y0, *y1, *P;
    double *ks[NDE__MAX_STAGES + 1];   /* slot pointers into k */
};

nde_stepper *nde_stepper_create(const nde_method *m, size_t dim, const nde_allocator *a)
{
    if (!m || dim == 0 || m->kind != NDE_METHOD_EXPLICIT_RK) return NULL;
    nde_allocator al = nde__allocator_resolve(a);
    size_t slots = nde__erk_slots(m), deg = (size_t)nde__erk_dense_degree(m);
    size_t rows = slots + 3 + deg + 1;
    if (dim > (size_t)-1 / sizeof(double) / rows) return NULL;
    nde_stepper *s = nde__calloc(&al, 1, sizeof *s);
    if (!s) return NULL;
    s->bytes = rows * dim * sizeof(double);
    s->k = nde__calloc(&al, rows * dim, sizeof(double));
    if (!s->k) { nde__free(&al, s, sizeof *s); return NULL; }
    s->m = m; s->alloc = al; s->dim = dim;
    nde__erk_plan_init(&s->plan, m);
    for (size_t i = 0; i < slots; i++) s->ks[i] = s->k + i * dim;
    s->ytmp = s->k + slots * dim;
    s->y0 = s->ytmp + dim;
    s->y1 = s->y0 + dim;
    s->P = s->y1 + dim;
    return s;
}

void nde_stepper_free(nde_stepper *s)
{
    if (!s) return;
    nde_allocator al = s->alloc;
    nde__free(&al, s->k, s->bytes);
    nde__free(&al, s, sizeof *s);
}

size_t nde_stepper_nfe(const nde_stepper *s) { return s ? s->nfe : 0; }

static int map_rc(int rc) { return rc < 0 ? NDE_ECALLBACK : rc; }

int nde_stepper_step(nde_stepper *s, nde_rhs f, void *user, double t, double h,
                     const double *y, double *y1, double *err, int fsal_valid)
{
    if (!s || !f || !y || !y1 || !isfinite(t) || !isfinite(h) || h == 0.0) return NDE_EINVAL;
    const nde_method *m = s->m;
    size_t dim = s->dim;
    int rc;
    /* Reuse f(t, y) from the end of the previous step when the caller says y is that
     * step's y1 and the slot is filled (always for FSAL methods). */
    int reuse = 0;
    if (fsal_valid && s->have_step && s->end_valid && s->t + s->h == t) {
        int e = nde__erk_end_slot(m);          /* continuing from the previous y1 */
        double *tmp = s->ks[0]; s->ks[0] = s->ks[e]; s->ks[e] = tmp;
        reuse = 1;
    } else if (fsal_valid && s->have_step && s->t == t) {
        reuse = 1;                             /* retrying from the same (t, y): slot 0 holds f(t, y) */
    }
    s->have_step = s->end_valid = s->have_dense = 0;
    if (!reuse) {
        s->nfe++;
        if ((rc = f(t, y, s->ks[0], user))) return map_rc(rc);
    }
    memcpy(s->y0, y, dim * sizeof *y);
    rc = nde__erk_step(&s->plan, f, user, t, h, s->y0, s->y1, err, NULL, s->ks, s->ytmp, dim, &s->nfe);
    if (rc) return map_rc(rc);
    memcpy(y1, s->y1, dim * sizeof *y1);
    s->t = t; s->h = h; s->have_step = 1; s->end_valid = m->fsal;
    return NDE_OK;
}

int nde_stepper_dense(nde_stepper *s, nde_rhs f, void *user, double theta, double *y)
{
    if (!s || !f || !y || !s->have_step || !(theta >= 0.0 && theta <= 1.0)) return NDE_EINVAL;
    int rc;
    if (!s->have_dense) {
        if (!s->end_valid) {
            if ((rc = nde__erk_eval_end(s->m, f, user, s->t, s->h, s->y1, s->ks, s->dim, &s->nfe)))
                return map_rc(rc);
            s->end_valid = 1;
        }
        if ((rc = nde__erk_dense_coeffs(&s->plan, f, user, s->t, s->h, s->y0, s->y1, s->ks, s->ytmp,
                                        s->dim, s->P, &s->nfe)))
            return map_rc(rc);
        s->have_dense = 1;
    }
    nde__int_poly_eval(s->P, nde__erk_dense_degree(s->m), s->dim, theta, y);
    return NDE_OK;
}
