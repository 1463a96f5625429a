/* Control paths from irregular, partially missing series, and CDEs as ODEs
 * (include/nde/cde.h). Every kind is stored piecewise cubic in Hermite form: per
 * interval [k_i, k_i+1] (length D) and channel, (y0, y1, d0, d1), the values at both
 * ends and the slopes there times D, so that with theta = (t - k_i)/D
 *   X = h00 y0 + h10 d0 + h01 y1 + h11 d1   (the cubic Hermite basis in theta).
 * The weights are bounded and X is exact at both ends: a monomial form a + b s + ...
 * would cancel catastrophically next to a large value. */
#include "nde/cde.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "numerics/internal.h"

/* Larger values are refused: slopes and cubic terms must stay representable. */
#define NDE__PATH_MAX_ABS 1e300

struct nde_path {
    nde_allocator al;
    size_t bytes;
    size_t n, c;        /* knots, channels */
    int kind;
    double *knots;      /* n */
    double *coef;       /* (n - 1) x c x 4: y0 y1 d0 d1 */
};

/* The Hermite cubic (y0, y1, d0, d1) at theta in [0, 1]: its value, and its derivative
 * in theta (either may be NULL). */
static void hermite(const double *q, double th, double *v, double *dv)
{
    double t2 = th * th, t3 = t2 * th;
    if (v) v[0] = (2 * t3 - 3 * t2 + 1) * q[0] + (t3 - 2 * t2 + th) * q[2] + (3 * t2 - 2 * t3) * q[1]
                  + (t3 - t2) * q[3];
    if (dv) dv[0] = (6 * t2 - 6 * th) * (q[0] - q[1]) + (3 * t2 - 4 * th + 1) * q[2] + (3 * t2 - 2 * th) * q[3];
}

static void set_q(double *q, double y0, double y1, double d0, double d1)
{
    q[0] = y0; q[1] = y1; q[2] = d0; q[3] = d1;
}

/* Linear and Hermite: channel ch through its own observations. next[i] = the first
 * observed index >= i (n: none), a scratch of n entries. */
static void build_channel(nde_path *p, const double *t, const double *x, size_t ch, size_t *next)
{
    size_t n = p->n, c = p->c;
    next[n - 1] = isnan(x[(n - 1) * c + ch]) ? n : n - 1;
    for (size_t i = n - 1; i-- > 0;) next[i] = isnan(x[i * c + ch]) ? next[i + 1] : i;
    size_t first = next[0], prev = n;         /* prev: last observed index <= i */
    double g = NAN;                          /* slope of the previous observed interval */
    for (size_t i = 0; i + 1 < n; i++) {
        if (!isnan(x[i * c + ch])) {
            if (prev < n && prev < i) g = (x[i * c + ch] - x[prev * c + ch]) / (t[i] - t[prev]);
            prev = i;
        }
        double *q = p->coef + (i * c + ch) * 4;
        size_t nx = next[i + 1];
        if (prev == n || nx == n) {           /* before the first / after the last observation */
            double y = x[(prev == n ? first : prev) * c + ch];
            set_q(q, y, y, 0.0, 0.0);
            continue;
        }
        /* The observed interval [t_prev, t_nx] contains [t_i, t_i+1]: its cubic ends at
         * y_nx with the chord's slope m, and starts with slope m (linear) or the previous
         * observed interval's chord slope g (Hermite; the first interval: g_0 = m). */
        double yp = x[prev * c + ch], yq = x[nx * c + ch], Dq = t[nx] - t[prev];
        double m = (yq - yp) / Dq;
        double gl = p->kind == NDE_PATH_HERMITE && !isnan(g) ? g : m;
        double whole[4] = { yp, yq, Dq * gl, yq - yp };
        if (prev == i && nx == i + 1) { memcpy(q, whole, sizeof whole); continue; }
        /* across a gap: the piece of the observed interval's cubic over [t_i, t_i+1] */
        double a = (t[i] - t[prev]) / Dq, b = (t[i + 1] - t[prev]) / Dq, r = (t[i + 1] - t[i]) / Dq;
        double y0, y1, s0, s1;
        hermite(whole, a, &y0, &s0);
        hermite(whole, b, &y1, &s1);
        set_q(q, y0, y1, r * s0, r * s1);
    }
}

/* Rectilinear: points (t_0, y_0), (t_1, y_0), (t_1, y_1), ... over index time, with the
 * data forward-filled (leading gaps back-filled). fill: a scratch of c values. */
static void build_rectilinear(nde_path *p, size_t n_obs, size_t c_obs, const double *t,
                              const double *x, double *fill)
{
    for (size_t ch = 0; ch < c_obs; ch++) {          /* first observation per channel */
        fill[ch] = NAN;
        for (size_t i = 0; i < n_obs && isnan(fill[ch]); i++) fill[ch] = x[i * c_obs + ch];
    }
    size_t c = p->c;
    for (size_t k = 0; k + 1 < p->n; k++) {
        size_t i = k / 2;
        double *q = p->coef + k * c * 4;
        if (k % 2 == 0) {                            /* time advances t_i -> t_i+1, data held */
            for (size_t ch = 0; ch < c_obs; ch++)
                if (!isnan(x[i * c_obs + ch])) fill[ch] = x[i * c_obs + ch];
            double dt = t[i + 1] - t[i];
            set_q(q, t[i], t[i + 1], dt, dt);
            for (size_t ch = 0; ch < c_obs; ch++) set_q(q + (ch + 1) * 4, fill[ch], fill[ch], 0.0, 0.0);
        } else {                                     /* data jump to y_i+1, time held */
            set_q(q, t[i + 1], t[i + 1], 0.0, 0.0);
            for (size_t ch = 0; ch < c_obs; ch++) {
                double y0 = fill[ch], y1 = x[(i + 1) * c_obs + ch];
                if (isnan(y1)) y1 = y0;
                set_q(q + (ch + 1) * 4, y0, y1, y1 - y0, y1 - y0);
            }
        }
    }
}

nde_path *nde_path_create(size_t n, size_t channels, const double *t, const double *x,
                          int kind, const nde_allocator *a, char *errbuf, size_t errbuf_size)
{
#define PATH_FAIL(...) do { nde__msg(errbuf, errbuf_size, NDE_EINVAL, __VA_ARGS__); return NULL; } while (0)
    if (n < 2) PATH_FAIL("path: need at least 2 observations, got %zu", n);
    if (channels == 0) PATH_FAIL("path: channels must be >= 1, got 0");
    if (!t || !x) PATH_FAIL("path: %s is NULL", !t ? "t" : "x");
    if (kind != NDE_PATH_LINEAR && kind != NDE_PATH_HERMITE && kind != NDE_PATH_RECTILINEAR)
        PATH_FAIL("path: unknown kind %d (NDE_PATH_LINEAR, _HERMITE, _RECTILINEAR)", kind);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i])) PATH_FAIL("path: t[%zu] is not finite (%g)", i, t[i]);
        if (i && !(t[i] > t[i - 1]))
            PATH_FAIL("path: t must increase strictly, but t[%zu] = %.17g follows %.17g", i, t[i], t[i - 1]);
    }
    size_t nc;
    if (nde__size_mul(n, channels, &nc)) PATH_FAIL("path: %zu x %zu values overflow", n, channels);
    for (size_t ch = 0; ch < channels; ch++) {
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            double v = x[i * channels + ch];
            if (isinf(v)) PATH_FAIL("path: x[%zu][%zu] is infinite", i, ch);
            if (fabs(v) > NDE__PATH_MAX_ABS)
                PATH_FAIL("path: overflow: |x[%zu][%zu]| = %g exceeds %g", i, ch, fabs(v), NDE__PATH_MAX_ABS);
            if (!isnan(v)) seen++;
        }
        if (!seen) PATH_FAIL("path: channel %zu has no observation (all NaN)", ch);
    }
    int rect = kind == NDE_PATH_RECTILINEAR;
    size_t knots = rect ? 2 * n - 1 : n, c = rect ? channels + 1 : channels;
    size_t total = 0, scratch = 0;
    int bad = rect && (n > ((size_t)-1) / 4);
    bad |= nde__size_muladd(&total, knots, sizeof(double));
    bad |= nde__size_muladd(&total, (knots - 1) * 4, c * sizeof(double));
    bad |= nde__size_muladd(&scratch, rect ? channels : n, rect ? sizeof(double) : sizeof(size_t));
    if (bad) PATH_FAIL("path: %zu x %zu observations are too many", n, channels);
    nde_allocator al = nde__allocator_resolve(a);
    nde_path *p = nde__calloc(&al, 1, sizeof *p);
    double *mem = p ? nde__alloc(&al, total) : NULL;
    void *tmp = mem ? nde__alloc(&al, scratch) : NULL;
    if (!tmp) {
        nde__free(&al, mem, total);
        nde__free(&al, p, sizeof *p);
        nde__msg(errbuf, errbuf_size, NDE_ENOMEM, "path: out of memory (%zu bytes)", total + scratch);
        return NULL;
    }
    p->al = al;
    p->bytes = total;
    p->n = knots;
    p->c = c;
    p->kind = kind;
    p->knots = mem;
    p->coef = mem + knots;
    if (rect) {
        for (size_t k = 0; k < knots; k++) p->knots[k] = (double)k;
        build_rectilinear(p, n, channels, t, x, tmp);
    } else {
        memcpy(p->knots, t, n * sizeof *t);
        for (size_t ch = 0; ch < channels; ch++) build_channel(p, t, x, ch, tmp);
    }
    nde__free(&al, tmp, scratch);
    /* slopes over very short intervals can still overflow */
    size_t ncoef = (p->n - 1) * p->c * 4;
    for (size_t i = 0; i < ncoef; i++)
        if (!(fabs(p->coef[i]) <= 4 * NDE__PATH_MAX_ABS)) {
            size_t interval = i / (p->c * 4);
            nde_path_free(p);
            PATH_FAIL("path: overflow: the interpolant on [%.17g, %.17g] (values too large for the "
                      "time step)", rect ? (double)interval : t[interval], rect ? (double)interval + 1 : t[interval + 1]);
        }
    return p;
#undef PATH_FAIL
}

/* The interval of time t (clamped into the domain), or (size_t)-1 outside. */
static size_t locate(const nde_path *p, double *t)
{
    double lo = p->knots[0], hi = p->knots[p->n - 1];
    if (!isfinite(*t)) return (size_t)-1;
    if (*t < lo) { if (!nde__time_close(*t, lo, NDE__TIME_ULPS)) return (size_t)-1; *t = lo; }
    if (*t > hi) { if (!nde__time_close(*t, hi, NDE__TIME_ULPS)) return (size_t)-1; *t = hi; }
    size_t a = 0, b = p->n - 1;          /* knots[a] <= t, interval a in [0, n - 2] */
    while (b - a > 1) {
        size_t mid = a + (b - a) / 2;
        if (p->knots[mid] <= *t) a = mid; else b = mid;
    }
    return a;
}

int nde_path_eval(const nde_path *p, double t, double *x, double *dx)
{
    if (!p) return NDE_EINVAL;
    size_t i = locate(p, &t);
    if (i == (size_t)-1) return NDE_EINVAL;
    double D = p->knots[i + 1] - p->knots[i], th = (t - p->knots[i]) / D;
    if (th > 1.0) th = 1.0;
    const double *q = p->coef + i * p->c * 4;
    for (size_t ch = 0; ch < p->c; ch++, q += 4) {
        double dv;
        hermite(q, th, x ? x + ch : NULL, dx ? &dv : NULL);
        if (dx) dx[ch] = dv / D;
    }
    return NDE_OK;
}

size_t nde_path_channels(const nde_path *p) { return p ? p->c : 0; }
double nde_path_t0(const nde_path *p) { return p ? p->knots[0] : 0.0; }
double nde_path_t1(const nde_path *p) { return p ? p->knots[p->n - 1] : 0.0; }

const double *nde_path_knots(const nde_path *p, size_t *n)
{
    if (n) *n = p ? p->n : 0;
    return p ? p->knots : NULL;
}

void nde_path_free(nde_path *p)
{
    if (!p) return;
    nde_allocator al = p->al;
    nde__free(&al, p->knots, p->bytes);
    nde__free(&al, p, sizeof *p);
}

/* ---- the CDE as an ODE ------------------------------------------------------------ */

struct nde_cde_ode {
    nde_ode ode;
    nde_cde cde;
    nde_allocator al;
    size_t bytes;
    double *F;          /* dim x c: the field, or the cotangent A = a X'^T */
    double *dX;         /* c */
};

static int cde_rhs(double t, const double *z, double *dz, void *u)
{
    nde_cde_ode *v = u;
    const nde_cde *e = &v->cde;
    if (nde_path_eval(e->path, t, NULL, v->dX)) return NDE_EINVAL;   /* t off the path: stop */
    int rc = e->field(t, z, v->F, e->user);
    if (rc) return rc;
    size_t c = nde_path_channels(e->path);
    return nde__num_gemv(NDE__NUM_NOTRANS, e->dim, c, 1.0, v->F, c, v->dX, 0.0, dz) ? NDE_EINVAL : 0;
}

static int cde_vjp(double t, const double *z, const double *a, double *a_z, double *a_theta, void *u)
{
    nde_cde_ode *v = u;
    const nde_cde *e = &v->cde;
    if (nde_path_eval(e->path, t, NULL, v->dX)) return NDE_EINVAL;
    size_t c = nde_path_channels(e->path);
    for (size_t i = 0; i < e->dim; i++)          /* d(F X')/dF contracted with a */
        for (size_t j = 0; j < c; j++) v->F[i * c + j] = a[i] * v->dX[j];
    return e->field_vjp(t, z, v->F, a_z, a_theta, e->user);
}

static int cde_check(const nde_cde *cde, char *errbuf, size_t errbuf_size)
{
    if (!cde) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cde is NULL");
    if (cde->dim == 0) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cde->dim must be > 0, got 0");
    if (!cde->path) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cde->path is NULL");
    if (!cde->field) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cde->field is NULL");
    if (cde->dim > (size_t)INT32_MAX || nde_path_channels(cde->path) > (size_t)INT32_MAX)
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cde: dim %zu x channels %zu is too large",
                        cde->dim, nde_path_channels(cde->path));
    return NDE_OK;
}

nde_cde_ode *nde_cde_ode_create(const nde_cde *cde, const nde_allocator *a, char *errbuf,
                                size_t errbuf_size)
{
    if (cde_check(cde, errbuf, errbuf_size)) return NULL;
    size_t c = nde_path_channels(cde->path), bytes = 0;
    if (nde__size_muladd(&bytes, cde->dim + 1, c) || nde__size_mul(bytes, sizeof(double), &bytes)) {
        nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cde: dim %zu x channels %zu is too large", cde->dim, c);
        return NULL;
    }
    nde_allocator al = nde__allocator_resolve(a);
    nde_cde_ode *v = nde__calloc(&al, 1, sizeof *v);
    double *mem = v ? nde__alloc(&al, bytes) : NULL;
    if (!mem) {
        nde__free(&al, v, sizeof *v);
        nde__msg(errbuf, errbuf_size, NDE_ENOMEM, "cde: out of memory (%zu bytes)", bytes);
        return NULL;
    }
    v->al = al;
    v->bytes = bytes;
    v->cde = *cde;
    v->F = mem;
    v->dX = mem + cde->dim * c;
    v->ode = (nde_ode){ .dim = cde->dim, .f = cde_rhs, .vjp = cde->field_vjp ? cde_vjp : NULL,
                        .n_params = cde->n_params, .user = v };
    return v;
}

const nde_ode *nde_cde_ode_get(const nde_cde_ode *c) { return c ? &c->ode : NULL; }

void nde_cde_ode_free(nde_cde_ode *c)
{
    if (!c) return;
    nde_allocator al = c->al;
    nde__free(&al, c->F, c->bytes);
    nde__free(&al, c, sizeof *c);
}

/* A failure before the solve, in nde_ode_solve's form. */
static int solve_fail(nde_solution *sol, const nde_options *opts, int status)
{
    sol->status = status;
    if (opts && opts->errbuf && opts->errbuf_size)
        snprintf(opts->errbuf, opts->errbuf_size, "%s", sol->message_);
    return status;
}

int nde_cde_solve(const nde_cde *cde, double t0, double t1, const double *z0,
                  const nde_options *opts, nde_solution *sol)
{
    if (!sol) return NDE_EINVAL;
    memset(sol, 0, sizeof *sol);
    sol->alloc_ = nde__allocator_resolve(opts ? opts->allocator : NULL);
    sol->dim = cde ? cde->dim : 0;
    int rc = cde_check(cde, sol->message_, sizeof sol->message_);
    if (rc) return solve_fail(sol, opts, rc);
    double lo = nde_path_t0(cde->path), hi = nde_path_t1(cde->path);
    for (int k = 0; k < 2; k++) {
        double tk = k ? t1 : t0, probe = tk;
        size_t i = isfinite(tk) ? locate(cde->path, &probe) : (size_t)-1;
        if (i == (size_t)-1) {
            nde__msg(sol->message_, sizeof sol->message_, NDE_EINVAL,
                     "%s = %.17g is outside the path's domain [%.17g, %.17g]", k ? "t1" : "t0", tk, lo, hi);
            return solve_fail(sol, opts, NDE_EINVAL);
        }
    }
    nde_options o = opts ? *opts : (nde_options)NDE_OPTIONS_INIT;
    size_t nk;
    const double *knots = nde_path_knots(cde->path, &nk);
    if (!o.n_jump_ts && !o.n_step_ts) {          /* the loop keeps the knots inside (t0, t1) */
        if (cde->path->kind == NDE_PATH_HERMITE) { o.step_ts = knots; o.n_step_ts = nk; }
        else { o.jump_ts = knots; o.n_jump_ts = nk; }
    }
    nde_cde_ode *v = nde_cde_ode_create(cde, o.allocator, sol->message_, sizeof sol->message_);
    if (!v) return solve_fail(sol, opts, NDE_ENOMEM);
    rc = nde_ode_solve(&v->ode, t0, t1, z0, &o, sol);
    nde_cde_ode_free(v);
    return rc;
}
