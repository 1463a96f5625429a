/* The MLP of nde/nn.h: dense layers through CBLAS (src/numerics' checked dgemm),
 * activations, RMSNorm / LayerNorm, forward, VJP, JVP, seeded initialisation, and the
 * ODE vector-field glue. Every call runs in the workspace allocated at create. */
#include "nn/internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nde/random.h"
#include "numerics/internal.h"

/* ---- activations -------------------------------------------------------------- */

/* tanh without libm: libm's tanh (through expm1) is two thirds of a small MLP's time.
 * tanh|x| = -e / (2 + e) with e = expm1(-2|x|), and expm1(y) = 2^k p(r) + (2^k - 1) with
 * y = k ln 2 + r, |r| <= ln2 / 2 (Cody-Waite reduction, fdlibm's split of ln 2) and p the
 * Taylor polynomial of expm1 to degree 13 (remainder below 1e-17 relative). For |x| <
 * ln2 / 4, k = 0 and e = p(r) is accurate to a few ulp relative however small x is, so
 * no cancellation. No libm call, no branch; |x| is clamped at 22, where tanh rounds to
 * 1. Measured against libm over [-30, 30] (tests/test_nn.c): relative error within
 * 2.2 eps; 0.7 ns per value on AVX-512, against libm's 10 ns. */
#define TANH_CLAMP 22.0
static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10,
                    inv_ln2 = 1.44269504088896338700e+00,
                    round_magic = 6755399441055744.0;   /* 1.5 2^52: adding it rounds to an integer */

#if defined(__GNUC__)
#define NN_INLINE __attribute__((always_inline)) static inline
#else
#define NN_INLINE static inline
#endif

NN_INLINE double fast_tanh(double x)
{
    double a = fabs(x);
    a = a < TANH_CLAMP ? a : TANH_CLAMP;
    double y = -2.0 * a;
    double kb = y * inv_ln2 + round_magic;  /* k + 1.5 2^52: k in its low bits */
    double kd = kb - round_magic;           /* k, the nearest integer to y / ln 2, in [-64, 0] */
    double r = (y - kd * ln2_hi) - kd * ln2_lo;
    /* expm1(r) = r + r^2 (1/2! + r/3! + ... + r^11/13!), by Estrin's scheme */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double q0 = 1.0 / 2 + r * (1.0 / 6), q1 = 1.0 / 24 + r * (1.0 / 120), q2 = 1.0 / 720 + r * (1.0 / 5040),
           q3 = 1.0 / 40320 + r * (1.0 / 362880), q4 = 1.0 / 3628800 + r * (1.0 / 39916800),
           q5 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
    double p = (q0 + r2 * q1) + r4 * (q2 + r2 * q3) + r8 * (q4 + r2 * q5);
    p = r + r2 * p;
    uint64_t bits;
    memcpy(&bits, &kb, sizeof bits);
    bits = (bits + 1023) << 52;             /* the low 12 bits of k + 1023: the exponent of 2^k */
    double s;
    memcpy(&s, &bits, sizeof s);
    double e = s * p + (s - 1.0);           /* expm1(y) in (-1, 0] */
    double t = copysign(-e / (2.0 + e), x);
    return x != x ? x : t;                  /* NaN passes through */
}

/* y = tanh(x) over an array: the loop vectorises, and on x86-64 Linux with GCC it is
 * built for AVX-512, AVX2 and the baseline, picked at load time (ifunc). No FMA
 * contraction in ISO C mode, so every version gives the same bits. */
NDE__VEC_CLONES
static void tanh_array(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++) y[i] = fast_tanh(x[i]);
}

/* The other passes over batch x width arrays, built the same way (elementwise, or sums
 * in a fixed order: the same bits from every version). */
#define NN_VEC NDE__VEC_CLONES

/* d = g (1 - h^2): the cotangent through tanh, given h = tanh */
NN_VEC
static void tanh_vjp(size_t n, const double *g, const double *h, double *d)
{
    for (size_t i = 0; i < n; i++) d[i] = g[i] * (1.0 - h[i] * h[i]);
}

/* z = b in every row (batch rows of n) */
NN_VEC
static void rows_set(size_t batch, size_t n, const double *b, double *z)
{
    for (size_t r = 0; r < batch; r++)
        for (size_t i = 0; i < n; i++) z[r * n + i] = b[i];
}

/* s = the sum of the batch rows of g (n wide), row 0 first */
NN_VEC
static void rows_sum(size_t batch, size_t n, const double *g, double *s)
{
    for (size_t i = 0; i < n; i++) s[i] = g[i];
    for (size_t r = 1; r < batch; r++)
        for (size_t i = 0; i < n; i++) s[i] += g[r * n + i];
}

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double act_value(int act, double x)
{
    switch (act) {
    case NDE_ACT_TANH: return fast_tanh(x);
    case NDE_ACT_RELU: return x > 0 ? x : 0.0;
    case NDE_ACT_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case NDE_ACT_SILU: return x * sigmoid(x);
    case NDE_ACT_LIPSWISH: return NDE_LIPSWISH_SCALE * x * sigmoid(x);
    default: return x;
    }
}

/* act'(x), given also y = act(x) (tanh reuses it) */
static double act_deriv(int act, double x, double y)
{
    switch (act) {
    case NDE_ACT_TANH: return 1.0 - y * y;
    case NDE_ACT_RELU: return x > 0 ? 1.0 : 0.0;
    case NDE_ACT_SOFTPLUS: return sigmoid(x);
    case NDE_ACT_SILU: { double s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); }
    case NDE_ACT_LIPSWISH: { double s = sigmoid(x); return NDE_LIPSWISH_SCALE * s * (1.0 + x * (1.0 - s)); }
    default: return 1.0;
    }
}

static int act_known(int act) { return act >= NDE_ACT_IDENTITY && act <= NDE_ACT_LIPSWISH; }

const char *nde_activation_name(int act)
{
    static const char *const names[] = { "identity", "tanh", "relu", "softplus", "silu", "lipswish" };
    return act_known(act) ? names[act - NDE_ACT_IDENTITY] : NULL;
}

int nde_activation(int act, size_t n, const double *x, double *y, double *dydx)
{
    if (!act_known(act) || (n && !x)) return NDE_EINVAL;
    if (act == NDE_ACT_TANH && y && !dydx) {
        tanh_array(n, x, y);
        return NDE_OK;
    }
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = act_value(act, xi);
        if (dydx) dydx[i] = act_deriv(act, xi, yi);
        if (y) y[i] = yi;
    }
    return NDE_OK;
}

/* ---- normalisations (per row; see nde/nn.h) ------------------------------------ */

/* mean and 1/sqrt(var + eps) of a row (RMS: mean 0, var = mean of squares) */
static void row_stats(int kind, size_t n, double eps, const double *x, double *mu, double *r)
{
    double s = 0, q = 0;
    if (kind == NDE_NORM_LAYER) {
        for (size_t i = 0; i < n; i++) s += x[i];
        s /= (double)n;
    }
    for (size_t i = 0; i < n; i++) q += (x[i] - s) * (x[i] - s);
    *mu = s;
    *r = 1.0 / sqrt(q / (double)n + eps);
}

static int norm_args_ok(int kind, size_t rows, size_t n, double eps, const double *g, const double *x)
{
    return (kind == NDE_NORM_RMS || kind == NDE_NORM_LAYER) && eps > 0 && isfinite(eps) &&
           (rows == 0 || n == 0 || (g && x));
}

int nde_norm_forward(int kind, size_t rows, size_t n, double eps, const double *g, const double *c,
                     const double *x, double *y)
{
    if (!norm_args_ok(kind, rows, n, eps, g, x) || (rows && n && !y)) return NDE_EINVAL;
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        double *yr = y + r * n, mu, inv;
        row_stats(kind, n, eps, xr, &mu, &inv);
        for (size_t i = 0; i < n; i++)
            yr[i] = g[i] * (xr[i] - mu) * inv + (kind == NDE_NORM_LAYER && c ? c[i] : 0.0);
    }
    return NDE_OK;
}

/* RMS:   y = g x r, r = (mean x^2 + eps)^-1/2: gx_j = r g_j gy_j - (r^3 / n) x_j sum_i g_i gy_i x_i
 * Layer: y = g xh + c, xh = (x - mu) r: gx = r (gh - mean gh - xh mean(gh xh)), gh = g gy */
int nde_norm_vjp(int kind, size_t rows, size_t n, double eps, const double *g, const double *x,
                 const double *gy, double *gx, double *gg, double *gc)
{
    if (!norm_args_ok(kind, rows, n, eps, g, x) || (rows && n && !gy)) return NDE_EINVAL;
    if (gg) memset(gg, 0, n * sizeof *gg);
    if (gc && kind == NDE_NORM_LAYER) memset(gc, 0, n * sizeof *gc);
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * n, *gyr = gy + r * n;
        double mu, inv, s1 = 0, s2 = 0;
        row_stats(kind, n, eps, xr, &mu, &inv);
        for (size_t i = 0; i < n; i++) {
            double xh = (xr[i] - mu) * inv, gh = g[i] * gyr[i];
            s1 += gh;
            s2 += gh * xh;
            if (gg) gg[i] += gyr[i] * xh;
            if (gc && kind == NDE_NORM_LAYER) gc[i] += gyr[i];
        }
        if (!gx) continue;
        double *gxr = gx + r * n, m1 = kind == NDE_NORM_LAYER ? s1 / (double)n : 0.0, m2 = s2 / (double)n;
        for (size_t i = 0; i < n; i++) {
            double xh = (xr[i] - mu) * inv;
            gxr[i] = inv * (g[i] * gyr[i] - m1 - xh * m2);
        }
    }
    return NDE_OK;
}

int nde_norm_jvp(int kind, size_t rows, size_t n, double eps, const double *g, const double *x,
                 const double *dx, double *dy)
{
    if (!norm_args_ok(kind, rows, n, eps, g, x) || (rows && n && (!dx || !dy))) return NDE_EINVAL;
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * n, *dxr = dx + r * n;
        double *dyr = dy + r * n, mu, inv, s1 = 0, s2 = 0;
        row_stats(kind, n, eps, xr, &mu, &inv);
        for (size_t i = 0; i < n; i++) {
            s1 += dxr[i];
            s2 += (xr[i] - mu) * inv * dxr[i];
        }
        double m1 = kind == NDE_NORM_LAYER ? s1 / (double)n : 0.0, m2 = s2 / (double)n;
        for (size_t i = 0; i < n; i++) {
            double xh = (xr[i] - mu) * inv;
            dyr[i] = g[i] * inv * (dxr[i] - m1 - xh * m2);
        }
    }
    return NDE_OK;
}

/* ---- create / free --------------------------------------------------------------- */

/* the caller's message buffer, if any */
static char *ebuf(const nde_mlp_options *o) { return o ? o->errbuf : NULL; }
static size_t esz(const nde_mlp_options *o) { return o ? o->errbuf_size : 0; }
#define CREATE_FAIL(...) do { nde__msg(ebuf(opts), esz(opts), NDE_EINVAL, __VA_ARGS__); return NULL; } while (0)

nde_mlp *nde_mlp_create(size_t n_layers, const size_t *widths, const nde_mlp_options *opts)
{
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    if (opts) o = *opts;
    if (opts && opts->errbuf && opts->errbuf_size) opts->errbuf[0] = '\0';
    if (n_layers == 0) CREATE_FAIL("n_layers must be >= 1, got %zu", n_layers);
    if (!widths) CREATE_FAIL("widths is NULL (%zu layers need %zu widths)", n_layers, n_layers + 1);
    for (size_t l = 0; l <= n_layers; l++)
        if (widths[l] == 0) CREATE_FAIL("widths[%zu] must be >= 1, got %zu", l, widths[l]);
    if (o.activation == 0) o.activation = NDE_ACT_TANH;
    if (o.out_activation == 0) o.out_activation = NDE_ACT_IDENTITY;
    if (!act_known(o.activation))
        CREATE_FAIL("unknown activation %d (NDE_ACT_IDENTITY .. NDE_ACT_LIPSWISH, or 0)", o.activation);
    if (!act_known(o.out_activation))
        CREATE_FAIL("unknown out_activation %d (NDE_ACT_IDENTITY .. NDE_ACT_LIPSWISH, or 0)", o.out_activation);
    if (o.norm != NDE_NORM_NONE && o.norm != NDE_NORM_RMS && o.norm != NDE_NORM_LAYER)
        CREATE_FAIL("unknown norm %d (NDE_NORM_NONE, NDE_NORM_RMS or NDE_NORM_LAYER)", o.norm);
    if (o.norm_eps == 0.0) o.norm_eps = NDE_NORM_EPS_DEFAULT;
    if (!(o.norm_eps > 0) || !isfinite(o.norm_eps)) CREATE_FAIL("norm_eps must be > 0 and finite, got %g", o.norm_eps);
    if (o.max_batch == 0) o.max_batch = 1;
    if (o.cache == 0) o.cache = 1;

    /* parameter count, widest layer and workspace size, all checked */
    size_t np = 0, maxw = 0, acts = 0, nz = 0, err = 0;
    for (size_t l = 1; l <= n_layers; l++) {
        err |= (size_t)nde__size_muladd(&np, widths[l], widths[l - 1]);
        err |= (size_t)nde__size_add(np, widths[l], &np);
        if (o.norm != NDE_NORM_NONE && l < n_layers)
            err |= (size_t)nde__size_muladd(&np, widths[l], o.norm == NDE_NORM_LAYER ? 2 : 1);
        err |= (size_t)nde__size_add(acts, widths[l], &acts);
        if (o.norm != NDE_NORM_NONE && l < n_layers) err |= (size_t)nde__size_add(nz, widths[l], &nz);
        if (widths[l] > maxw) maxw = widths[l];
    }
    if (widths[0] > maxw) maxw = widths[0];
    size_t per_slot = 0, per_row = 0, work = 0, head = sizeof(nde_mlp), slot_ptrs = 0;
    err |= (size_t)nde__size_muladd(&per_slot, acts, 2);          /* z, h */
    err |= (size_t)nde__size_add(per_slot, nz, &per_slot);        /* normalised z */
    err |= (size_t)nde__size_add(per_slot, widths[0], &per_slot); /* the pass's input */
    err |= (size_t)nde__size_mul(per_slot, o.cache, &per_row);
    err |= (size_t)nde__size_muladd(&per_row, maxw, 2);           /* ga, gb */
    err |= (size_t)nde__size_muladd(&per_row, widths[0], 2);      /* xin, gxin */
    err |= (size_t)nde__size_mul(per_row, o.max_batch, &work);
    err |= (size_t)nde__size_muladd(&work, np, 2);                /* theta, snap */
    err |= (size_t)nde__size_mul(work, sizeof(double), &work);
    err |= (size_t)nde__size_mul(n_layers, o.cache, &slot_ptrs);
    err |= (size_t)nde__size_muladd(&head, n_layers + 1, 2 * sizeof(size_t));
    err |= (size_t)nde__size_muladd(&head, slot_ptrs, 3 * sizeof(double *));
    err |= (size_t)nde__size_muladd(&head, o.cache, sizeof(size_t));
    if (err) CREATE_FAIL("sizes overflow (%zu layers, max_batch %zu)", n_layers, o.max_batch);

    nde_allocator al = nde__allocator_resolve(o.allocator);
    nde_mlp *m = nde__alloc(&al, head);
    double *mem = m ? nde__alloc(&al, work) : NULL;
    if (!mem) {
        if (m) nde__free(&al, m, head);
        nde__msg(ebuf(opts), esz(opts), NDE_ENOMEM, "out of memory (%zu + %zu bytes)", head, work);
        return NULL;
    }
    memset(m, 0, sizeof *m);
    m->al = al;
    m->struct_bytes = head;
    m->work_bytes = work;
    m->work = mem;
    m->n_layers = n_layers;
    m->w = (size_t *)(m + 1);
    m->off = m->w + n_layers + 1;
    m->zs = (double **)(m->off + n_layers + 1);
    m->nzs = m->zs + slot_ptrs;
    m->hs = m->nzs + slot_ptrs;
    m->slot_batch = (size_t *)(m->hs + slot_ptrs);
    m->n_slots = o.cache;
    m->z = m->zs;
    m->nz = m->nzs;
    m->h = m->hs;
    memcpy(m->w, widths, (n_layers + 1) * sizeof *widths);
    m->act = o.activation;
    m->out_act = o.out_activation;
    m->norm = o.norm;
    m->eps = o.norm_eps;
    m->max_batch = o.max_batch;
    m->max_width = maxw;
    m->np = np;
    size_t off = 0;
    for (size_t l = 1; l <= n_layers; l++) {
        m->off[l - 1] = off;
        off += widths[l] * widths[l - 1] + widths[l];
        if (nde__nn_has_norm(m, l)) off += widths[l] * (m->norm == NDE_NORM_LAYER ? 2 : 1);
    }
    m->off[n_layers] = off;
    m->theta = mem;
    memset(m->theta, 0, np * sizeof *m->theta);
    m->snap = mem + np;
    double *p = mem + 2 * np;
    size_t B = o.max_batch;
    for (size_t l = 1; l <= n_layers; l++)
        if (nde__nn_has_norm(m, l)) {
            double *g = nde__nn_g(m, m->theta, l);
            for (size_t i = 0; i < widths[l]; i++) g[i] = 1.0;
        }
    memcpy(m->snap, m->theta, np * sizeof *m->snap);
    for (size_t s = 0; s < o.cache; s++) {
        for (size_t l = 1; l <= n_layers; l++) {
            size_t k = s * n_layers + l - 1;
            m->zs[k] = p; p += B * widths[l];
            m->hs[k] = p; p += B * widths[l];
            if (nde__nn_has_norm(m, l)) { m->nzs[k] = p; p += B * widths[l]; }
            else m->nzs[k] = m->zs[k];
        }
        m->slot_batch[s] = 0;
    }
    m->xs = p; p += o.cache * B * widths[0];
    m->ga = p; p += B * maxw;
    m->gb = p; p += B * maxw;
    m->xin = p; p += B * widths[0];
    m->gxin = p;
    return m;
}

void nde_mlp_free(nde_mlp *m)
{
    if (!m) return;
    nde_allocator al = m->al;
    nde__free(&al, m->work, m->work_bytes);
    nde__free(&al, m, m->struct_bytes);
}

size_t nde_mlp_n_params(const nde_mlp *m) { return m ? m->np : 0; }
size_t nde_mlp_n_layers(const nde_mlp *m) { return m ? m->n_layers : 0; }
size_t nde_mlp_width(const nde_mlp *m, size_t l) { return m && l <= m->n_layers ? m->w[l] : 0; }
size_t nde_mlp_max_batch(const nde_mlp *m) { return m ? m->max_batch : 0; }
double *nde_mlp_params(nde_mlp *m) { return m ? m->theta : NULL; }
size_t nde_mlp_weight_offset(const nde_mlp *m, size_t l)
{
    return m && l >= 1 && l <= m->n_layers ? m->off[l - 1] : 0;
}

size_t nde_mlp_macs(const nde_mlp *m)
{
    size_t s = 0;
    if (m)
        for (size_t l = 1; l <= m->n_layers; l++) s += m->w[l] * m->w[l - 1];
    return s;
}

/* ---- initialisation ------------------------------------------------------------- */

int nde_mlp_init(nde_mlp *m, int scheme, double sigma, uint64_t seed)
{
    if (!m || (scheme != NDE_INIT_TORCH && scheme != NDE_INIT_NORMAL)) return NDE_EINVAL;
    if (scheme == NDE_INIT_NORMAL && !(sigma >= 0 && isfinite(sigma))) return NDE_EINVAL;
    for (size_t l = 1; l <= m->n_layers; l++) {
        size_t first = m->off[l - 1], nw = m->w[l] * m->w[l - 1], nb = m->w[l];
        double *W = m->theta + first, *b = W + nw;
        if (scheme == NDE_INIT_TORCH) {
            double bound = 1.0 / sqrt((double)m->w[l - 1]);
            nde_uniform_fill_at(seed, NDE_STREAM_NN_INIT, first, nw + nb, W);
            for (size_t i = 0; i < nw + nb; i++) W[i] = bound * (2.0 * W[i] - 1.0);
        } else {
            nde_normal_fill_at(seed, NDE_STREAM_NN_INIT, first, nw, W);
            for (size_t i = 0; i < nw; i++) W[i] *= sigma;
            memset(b, 0, nb * sizeof *b);
        }
        if (nde__nn_has_norm(m, l)) {
            double *g = b + nb;
            for (size_t i = 0; i < nb; i++) g[i] = 1.0;
            if (m->norm == NDE_NORM_LAYER) memset(g + nb, 0, nb * sizeof *g);
        }
    }
    return NDE_OK;
}

/* ---- forward, VJP, JVP ------------------------------------------------------------ */

/* z = x W^T + b for rows x (batch x in), W (out x in) */
static void dense(size_t batch, size_t in, size_t out, const double *W, const double *b, const double *x,
                  double *z)
{
    rows_set(batch, out, b, z);
    nde__num_gemm(NDE__NUM_NOTRANS, NDE__NUM_TRANS, batch, out, in, 1.0, x, in, W, in, 1.0, z, out);
}

/* The activation cache (see nde_mlp_options.cache). */
static void use_slot(nde_mlp *m, size_t s)
{
    m->z = m->zs + s * m->n_layers;
    m->nz = m->nzs + s * m->n_layers;
    m->h = m->hs + s * m->n_layers;
}

/* The forward pass at x into a cache slot, made current: z, nz, h of every layer (h of
 * the last = y). A slot with the same input under the same parameters is reused. */
static void forward(nde_mlp *m, size_t batch, const double *x)
{
    size_t np = m->np, nx = batch * m->w[0];
    if (memcmp(m->snap, m->theta, np * sizeof *m->snap) != 0) {   /* new parameters: empty the cache */
        memcpy(m->snap, m->theta, np * sizeof *m->snap);
        for (size_t s = 0; s < m->n_slots; s++) m->slot_batch[s] = 0;
    }
    for (size_t s = 0; s < m->n_slots; s++)
        if (m->slot_batch[s] == batch && memcmp(m->xs + s * m->max_batch * m->w[0], x, nx * sizeof *x) == 0) {
            use_slot(m, s);
            return;
        }
    size_t s = m->next_slot;
    m->next_slot = (s + 1) % m->n_slots;
    use_slot(m, s);
    m->slot_batch[s] = 0;    /* filled below; x may alias nothing of the slot */
    const double *in = x;
    for (size_t l = 1; l <= m->n_layers; l++) {
        size_t wi = m->w[l - 1], wo = m->w[l], n = batch * wo;
        double *z = m->z[l - 1], *nz = m->nz[l - 1], *h = m->h[l - 1];
        dense(batch, wi, wo, nde__nn_W(m, m->theta, l), nde__nn_b(m, m->theta, l), in, z);
        int act = l < m->n_layers ? m->act : m->out_act;
        if (nde__nn_has_norm(m, l)) {
            const double *g = nde__nn_g(m, m->theta, l);
            nde_norm_forward(m->norm, batch, wo, m->eps, g, m->norm == NDE_NORM_LAYER ? g + wo : NULL, z, nz);
        }
        if (act == NDE_ACT_TANH) tanh_array(n, nz, h);
        else if (act == NDE_ACT_IDENTITY) memcpy(h, nz, n * sizeof *h);
        else for (size_t i = 0; i < n; i++) h[i] = act_value(act, nz[i]);
        in = h;
    }
    memcpy(m->xs + s * m->max_batch * m->w[0], x, nx * sizeof *x);
    m->slot_batch[s] = batch;
}

static int batch_ok(const nde_mlp *m, size_t batch) { return m && batch >= 1 && batch <= m->max_batch; }

int nde_mlp_forward(nde_mlp *m, size_t batch, const double *x, double *y)
{
    if (!batch_ok(m, batch) || !x || !y) return NDE_EINVAL;
    forward(m, batch, x);
    memcpy(y, m->h[m->n_layers - 1], batch * m->w[m->n_layers] * sizeof *y);
    return NDE_OK;
}

int nde_mlp_vjp(nde_mlp *m, size_t batch, const double *x, const double *gy, double *gx, double *gtheta)
{
    if (!batch_ok(m, batch) || !x || !gy) return NDE_EINVAL;
    forward(m, batch, x);
    const double *G = gy;          /* cotangent of h_l */
    double *bufs[2] = { m->ga, m->gb };
    int cur = 0;
    for (size_t l = m->n_layers; l >= 1; l--) {
        size_t wi = m->w[l - 1], wo = m->w[l], n = batch * wo;
        int act = l < m->n_layers ? m->act : m->out_act;
        const double *z = m->z[l - 1], *nz = m->nz[l - 1], *h = m->h[l - 1];
        const double *hin = l > 1 ? m->h[l - 2] : x;
        /* gz: the cotangent of z_l, through the activation and the norm */
        const double *gz = G;
        if (act != NDE_ACT_IDENTITY) {
            double *d = bufs[cur];
            if (act == NDE_ACT_TANH) tanh_vjp(n, G, h, d);
            else for (size_t i = 0; i < n; i++) d[i] = G[i] * act_deriv(act, nz[i], h[i]);
            gz = d;
            cur ^= 1;
        }
        if (nde__nn_has_norm(m, l)) {
            const double *g = nde__nn_g(m, m->theta, l);
            double *gg = gtheta ? nde__nn_g(m, gtheta, l) : NULL;
            nde_norm_vjp(m->norm, batch, wo, m->eps, g, z, gz, bufs[cur], gg,
                         gg && m->norm == NDE_NORM_LAYER ? gg + wo : NULL);
            gz = bufs[cur];
            cur ^= 1;
        }
        if (gtheta) {
            double *gW = nde__nn_W(m, gtheta, l), *gb = nde__nn_b(m, gtheta, l);
            nde__num_gemm(NDE__NUM_TRANS, NDE__NUM_NOTRANS, wo, wi, batch, 1.0, gz, wo, hin, wi, 0.0, gW, wi);
            rows_sum(batch, wo, gz, gb);
        }
        if (l == 1) {
            if (gx) nde__num_gemm(NDE__NUM_NOTRANS, NDE__NUM_NOTRANS, batch, wi, wo, 1.0, gz, wo,
                                  nde__nn_W(m, m->theta, l), wi, 0.0, gx, wi);
            break;
        }
        double *Gp = bufs[cur];
        nde__num_gemm(NDE__NUM_NOTRANS, NDE__NUM_NOTRANS, batch, wi, wo, 1.0, gz, wo, nde__nn_W(m, m->theta, l),
                      wi, 0.0, Gp, wi);
        G = Gp;
        cur ^= 1;
    }
    return NDE_OK;
}

int nde_mlp_jvp(nde_mlp *m, size_t batch, const double *x, const double *dx, double *y, double *dy)
{
    if (!batch_ok(m, batch) || !x || !dx || !dy) return NDE_EINVAL;
    forward(m, batch, x);
    const double *T = dx;          /* tangent of h_{l-1} */
    double *bufs[2] = { m->ga, m->gb };
    int cur = 0;
    for (size_t l = 1; l <= m->n_layers; l++) {
        size_t wi = m->w[l - 1], wo = m->w[l], n = batch * wo;
        int act = l < m->n_layers ? m->act : m->out_act;
        double *dz = l == m->n_layers && act == NDE_ACT_IDENTITY ? dy : bufs[cur];
        nde__num_gemm(NDE__NUM_NOTRANS, NDE__NUM_TRANS, batch, wo, wi, 1.0, T, wi, nde__nn_W(m, m->theta, l), wi,
                      0.0, dz, wo);
        if (dz == bufs[cur]) cur ^= 1;
        if (nde__nn_has_norm(m, l)) {
            nde_norm_jvp(m->norm, batch, wo, m->eps, nde__nn_g(m, m->theta, l), m->z[l - 1], dz, bufs[cur]);
            dz = bufs[cur];
            cur ^= 1;
        }
        if (act != NDE_ACT_IDENTITY) {
            double *out = l == m->n_layers ? dy : dz;   /* in place for hidden layers */
            const double *nz = m->nz[l - 1], *h = m->h[l - 1];
            for (size_t i = 0; i < n; i++) out[i] = dz[i] * act_deriv(act, nz[i], h[i]);
            dz = out;
        }
        T = dz;
    }
    if (y) memcpy(y, m->h[m->n_layers - 1], batch * m->w[m->n_layers] * sizeof *y);
    return NDE_OK;
}

/* ---- the ODE field ------------------------------------------------------------------ */

static int field_ok(const nde_mlp_field *f)
{
    if (!f || !batch_ok(f->mlp, f->batch)) return 0;
    const nde_mlp *m = f->mlp;
    return m->w[0] == m->w[m->n_layers] + (f->time_dependent ? 1u : 0u);
}

int nde_mlp_field_ode(nde_mlp_field *field, nde_ode *ode, char *errbuf, size_t errbuf_size)
{
    if (errbuf && errbuf_size) errbuf[0] = '\0';
    if (!field || !ode || !field->mlp)
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "field, its mlp and ode must not be NULL");
    const nde_mlp *m = field->mlp;
    if (field->batch < 1 || field->batch > m->max_batch)
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "batch must be in [1, max_batch = %zu], got %zu",
                        m->max_batch, field->batch);
    size_t state = m->w[m->n_layers], want = state + (field->time_dependent ? 1u : 0u);
    if (m->w[0] != want)
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL,
                        "a %s field of state %zu needs an MLP with %zu inputs, got %zu",
                        field->time_dependent ? "time-dependent" : "autonomous", state, want, m->w[0]);
    nde_ode o = { 0 };
    o.dim = field->batch * state;
    o.f = nde_mlp_field_rhs;
    o.vjp = nde_mlp_field_vjp;
    o.n_params = m->np;
    o.user = field;
    *ode = o;
    return NDE_OK;
}

/* rows of y with t appended, into m->xin */
static const double *field_input(nde_mlp *m, size_t batch, double t, const double *y)
{
    size_t s = m->w[0] - 1;
    for (size_t r = 0; r < batch; r++) {
        memcpy(m->xin + r * (s + 1), y + r * s, s * sizeof *y);
        m->xin[r * (s + 1) + s] = t;
    }
    return m->xin;
}

int nde_mlp_field_rhs(double t, const double *y, double *dy, void *user)
{
    nde_mlp_field *f = user;
    if (!field_ok(f)) return -1;
    nde_mlp *m = f->mlp;
    const double *x = f->time_dependent ? field_input(m, f->batch, t, y) : y;
    return nde_mlp_forward(m, f->batch, x, dy) == NDE_OK ? 0 : -1;
}

int nde_mlp_field_vjp(double t, const double *y, const double *a, double *a_y, double *a_theta, void *user)
{
    nde_mlp_field *f = user;
    if (!field_ok(f)) return -1;
    nde_mlp *m = f->mlp;
    if (!f->time_dependent) return nde_mlp_vjp(m, f->batch, y, a, a_y, a_theta) == NDE_OK ? 0 : -1;
    const double *x = field_input(m, f->batch, t, y);
    if (nde_mlp_vjp(m, f->batch, x, a, a_y ? m->gxin : NULL, a_theta) != NDE_OK) return -1;
    if (a_y) {
        size_t s = m->w[0] - 1;
        for (size_t r = 0; r < f->batch; r++) memcpy(a_y + r * s, m->gxin + r * (s + 1), s * sizeof *a_y);
    }
    return 0;
}
