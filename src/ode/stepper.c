/* Explicit Runge-Kutta engine: one tableau-driven step, its error estimate and its
 * dense-output polynomial. Shared by nde_ode_solve and the public nde_stepper. */
#include "ode/erk.h"
#include "core/internal.h"

#include <math.h>
#include <string.h>

size_t nde__erk_slots(const nde_method *m)
{
    size_t n = (size_t)m->stages + (m->fsal ? 0 : 1);
    if (m->dense_b && (size_t)m->dense_stages > n) n = (size_t)m->dense_stages;
    return n;
}

int nde__erk_end_slot(const nde_method *m) { return m->fsal ? m->stages - 1 : m->stages; }

int nde__erk_dense_degree(const nde_method *m) { return m->dense_b ? m->dense_degree : 3; }

/* ytmp = y + sum_{j<i} (h a_row[j]) k_j, skipping zero coefficients. */
static void stage_input(const double *a_row, int i, double h, const double *y,
                        const double *k, size_t dim, double *restrict ytmp)
{
    memcpy(ytmp, y, dim * sizeof *ytmp);
    for (int j = 0; j < i; j++) {
        double ha = h * a_row[j];
        if (ha == 0.0) continue;
        const double *restrict kj = k + (size_t)j * dim;
        for (size_t d = 0; d < dim; d++) ytmp[d] += ha * kj[d];
    }
}

/* out = base + h sum_j w[j] k_j over s slots (base NULL: start from 0). */
static void combine(const double *w, int s, double h, const double *base,
                    const double *k, size_t dim, double *restrict out)
{
    if (base) memcpy(out, base, dim * sizeof *out);
    else memset(out, 0, dim * sizeof *out);
    for (int j = 0; j < s; j++) {
        double hw = h * w[j];
        if (hw == 0.0) continue;
        const double *restrict kj = k + (size_t)j * dim;
        for (size_t d = 0; d < dim; d++) out[d] += hw * kj[d];
    }
}

int nde__erk_step(const nde_method *m, nde_rhs f, void *user, double t, double h,
                  const double *y, double *y1, double *err, double *err3,
                  double *k, double *ytmp, size_t dim, size_t *nfe)
{
    const int s = m->stages;
    const int last = m->fsal ? s - 1 : s;   /* stages computed before y1 */
    for (int i = 1; i < last; i++) {
        stage_input(m->a + (size_t)i * (size_t)s, i, h, y, k, dim, ytmp);
        ++*nfe;
        int rc = f(t + m->c[i] * h, ytmp, k + (size_t)i * dim, user);
        if (rc) return rc;
    }
    combine(m->b, last, h, y, k, dim, y1);
    if (m->fsal) {
        ++*nfe;
        int rc = f(t + h, y1, k + (size_t)(s - 1) * dim, user);
        if (rc) return rc;
    }
    if (err) {
        if (m->e) combine(m->e, s, h, NULL, k, dim, err);
        else memset(err, 0, dim * sizeof *err);
    }
    if (err3 && m->e3) combine(m->e3, s, h, NULL, k, dim, err3);
    return 0;
}

int nde__erk_eval_end(const nde_method *m, nde_rhs f, void *user, double t, double h,
                      const double *y1, double *k, size_t dim, size_t *nfe)
{
    if (m->fsal) return 0;
    ++*nfe;
    return f(t + h, y1, k + (size_t)m->stages * dim, user);
}

int nde__erk_dense_coeffs(const nde_method *m, nde_rhs f, void *user, double t, double h,
                          const double *y0, const double *y1, double *k, double *ytmp,
                          size_t dim, double *P, size_t *nfe)
{
    memcpy(P, y0, dim * sizeof *P);
    if (!m->dense_b) {
        /* Cubic Hermite through (y0, f0) and (y1, f1):
         * P1 = h f0, P2 = 3(y1-y0) - h(2 f0 + f1), P3 = -2(y1-y0) + h(f0 + f1). */
        const double *f0 = k, *f1 = k + (size_t)nde__erk_end_slot(m) * dim;
        double *P1 = P + dim, *P2 = P + 2 * dim, *P3 = P + 3 * dim;
        for (size_t d = 0; d < dim; d++) {
            double dy = y1[d] - y0[d];
            P1[d] = h * f0[d];
            P2[d] = 3.0 * dy - h * (2.0 * f0[d] + f1[d]);
            P3[d] = -2.0 * dy + h * (f0[d] + f1[d]);
        }
        return 0;
    }
    const int s = m->stages, ds = m->dense_stages;
    for (int i = s; i < ds; i++) {       /* extra stages used only by the interpolant */
        stage_input(m->dense_a + (size_t)(i - s) * (size_t)ds, i, h, y0, k, dim, ytmp);
        ++*nfe;
        int rc = f(t + m->dense_c[i - s] * h, ytmp, k + (size_t)i * dim, user);
        if (rc) return rc;
    }
    for (int j = 0; j < m->dense_degree; j++)
        combine(m->dense_b + (size_t)j * (size_t)ds, ds, h, NULL, k, dim, P + (size_t)(j + 1) * dim);
    return 0;
}

void nde__poly_eval(const double *P, int degree, size_t dim, double theta, double *y)
{
    const double *top = P + (size_t)degree * dim;
    memcpy(y, top, dim * sizeof *y);
    for (int j = degree - 1; j >= 0; j--) {
        const double *pj = P + (size_t)j * dim;
        for (size_t d = 0; d < dim; d++) y[d] = y[d] * theta + pj[d];
    }
}

/* ---- public step-level object ------------------------------------------------ */

struct nde_stepper {
    const nde_method *m;
    nde_allocator alloc;
    size_t dim, nfe, bytes;
    double t, h;
    int have_step;   /* k, y0, y1 describe the step [t, t + h] */
    int end_valid;   /* the end slot holds f(t + h, y1) */
    int have_dense;  /* P holds the step's interpolant */
    double *k, *ytmp, *y0, *y1, *P;
};

nde_stepper *nde_stepper_create(const nde_method *m, size_t dim, const nde_allocator *a)
{
    if (!m || dim == 0) return NULL;
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
    int reuse = fsal_valid && s->have_step && s->end_valid && s->t + s->h == t;
    if (reuse) {
        int e = nde__erk_end_slot(m);
        if (e != 0) memcpy(s->k, s->k + (size_t)e * dim, dim * sizeof *s->k);
    }
    s->have_step = s->end_valid = s->have_dense = 0;
    if (!reuse) {
        s->nfe++;
        if ((rc = f(t, y, s->k, user))) return map_rc(rc);
    }
    memcpy(s->y0, y, dim * sizeof *y);
    rc = nde__erk_step(m, f, user, t, h, s->y0, s->y1, err, NULL, s->k, s->ytmp, dim, &s->nfe);
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
            if ((rc = nde__erk_eval_end(s->m, f, user, s->t, s->h, s->y1, s->k, s->dim, &s->nfe)))
                return map_rc(rc);
            s->end_valid = 1;
        }
        if ((rc = nde__erk_dense_coeffs(s->m, f, user, s->t, s->h, s->y0, s->y1, s->k, s->ytmp,
                                        s->dim, s->P, &s->nfe)))
            return map_rc(rc);
        s->have_dense = 1;
    }
    nde__poly_eval(s->P, nde__erk_dense_degree(s->m), s->dim, theta, y);
    return NDE_OK;
}
