/* libFuzzer harness: Brownian paths (include/nde/brownian.h), the underdamped Langevin
 * solvers they drive (include/nde/langevin.h) and nde_ess.
 *
 * The input gives a tree or a grid (dimension 0-3 or overflowing, span, tol or cell
 * count, Lévy level, seed, allocator, error buffer), then up to eight queries: an
 * increment over [s, t] with or without H and K (times inside, at the ends, outside by
 * a little or a lot, reversed, equal, non-finite), or a path at up to four times. Then,
 * sometimes, a Langevin solve on a tree (its dimension and span right or not; gamma and
 * u scalar or diagonal, valid or not; a quadratic or double-well potential whose
 * gradient may ask for a retry, stop or return NaN; every Langevin method, none, or
 * another family's; constant or adaptive steps, ts, save flags, an event), and an
 * effective sample size of a decoded chain. Checked:
 *   - create gives a path exactly when the header's rules allow (allocation and size
 *     refusals aside, with a message), depth within NDE_BROWNIAN_MAX_DEPTH;
 *   - a query inside the span is NDE_OK with finite values, zeros when s == t, W and K
 *     odd and H even under reversal (the same bits), the same bits when repeated after
 *     other queries, increments that add up (W exactly up to rounding, H and K by
 *     Chen's relation); a query outside, with a non-finite time, or an area the path
 *     does not carry fails with a message and writes nothing;
 *   - a path equals the increments from t0 up to rounding, and writes nothing on error;
 *   - a Langevin solve returns a documented status, refuses each invalid input, keeps
 *     xv0 and the tree's path, gives finite states, and the same bits when repeated;
 *   - nde_ess refuses exactly the documented inputs (leaving *ess alone) and otherwise
 *     gives 0 < ess <= n log10 n;
 *   - nothing leaks. */
#include "fuzz.h"

#define MAX_DIM 3
#define CANARY 7.25

/* ---- Brownian queries ----------------------------------------------------------------- */

typedef struct span { double t0, t1; size_t dim; int levy; } span;

/* A query time: inside, an end, just outside, far outside, or anything. */
static double decode_time(fz *r, const span *S)
{
    unsigned k = fz_u8(r);
    if (k < 160) return fz_within(r, S->t0, S->t1);
    if (k < 190) return (k & 1) ? S->t1 : S->t0;
    if (k < 210) return (k & 1) ? nextafter(S->t1, INFINITY) : nextafter(S->t0, -INFINITY);
    if (k < 230) return (k & 1) ? S->t1 + (S->t1 - S->t0) : S->t0 - (S->t1 - S->t0);
    return fz_dbl(r);
}

/* Inside [t0, t1] exactly (the tree also takes 100 ULP outside, clamped); far outside. */
static int inside(const span *S, double r) { return isfinite(r) && r >= S->t0 && r <= S->t1; }
static int far_outside(const span *S, double r)
{
    const double slack = 1e-9 * fmax(fabs(S->t0), fabs(S->t1));
    return !isfinite(r) || r < S->t0 - slack || r > S->t1 + slack;
}

typedef struct incr { double W[MAX_DIM + 1], H[MAX_DIM + 1], K[MAX_DIM + 1]; } incr;

static void incr_fill(incr *v)
{
    for (int i = 0; i <= MAX_DIM; i++) v->W[i] = v->H[i] = v->K[i] = CANARY;
}

static int query(nde_brownian *bm, double s, double t, int wh, int wk, incr *v)
{
    incr_fill(v);
    return nde_brownian_increment(bm, s, t, v->W, wh ? v->H : NULL, wk ? v->K : NULL);
}

static int close_to(double a, double b, double scale)
{
    return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b)) + 1e-12 * scale;
}

/* Additivity over s < t < u (all inside): W_su = W_st + W_tu, Chen's relation for H, K
 * (brownian.h), up to the rounding of the bisection. */
static void check_chen(nde_brownian *bm, const span *S, double s, double t, double u)
{
    if (!(s < t && t < u)) return;
    incr a, b, c;
    const int wh = S->levy >= NDE_LEVY_SPACE_TIME, wk = S->levy >= NDE_LEVY_SPACE_TIME_TIME;
    int r1 = query(bm, s, t, wh, wk, &a), r2 = query(bm, t, u, wh, wk, &b), r3 = query(bm, s, u, wh, wk, &c);
    FZ_CHECK(r1 == NDE_OK && r2 == NDE_OK && r3 == NDE_OK, "queries inside failed: %d %d %d (%s)", r1, r2, r3,
             nde_brownian_message(bm));
    const double h1 = t - s, h2 = u - t;
    /* the queries use the times' images in [0, 1]: very short or badly rounded pieces
     * are not comparable with the formulas in the original times */
    if (!(h1 > 1e-6 * (S->t1 - S->t0) && h2 > 1e-6 * (S->t1 - S->t0))) return;
    /* the relations in fractions of the times' images, as the tree computes them (no
     * overflow for huge spans) */
    const double T = S->t1 - S->t0, ns = (s - S->t0) / T, nt = (t - S->t0) / T, nu = (u - S->t0) / T;
    const double a1 = (nt - ns) / (nu - ns), a2 = (nu - nt) / (nu - ns);
    const double sw = sqrt(S->t1 - S->t0);
    for (size_t d = 0; d < S->dim; d++) {
        FZ_CHECK(close_to(c.W[d], a.W[d] + b.W[d], sw), "W[%zu] over [%.17g, %.17g]: %.17g, pieces %.17g + %.17g", d,
                 s, u, c.W[d], a.W[d], b.W[d]);
        if (wh) {
            const double Hsu = a1 * a.H[d] + a2 * b.H[d] + (a2 * a.W[d] - a1 * b.W[d]) / 2.0;
            FZ_CHECK(close_to(c.H[d], Hsu, sw), "Chen's relation for H[%zu]: %.17g, from the pieces %.17g", d, c.H[d],
                     Hsu);
        }
        if (wk) {
            const double Ksu = a1 * a1 * a.K[d] + a2 * a2 * b.K[d] + a1 * a2 * (a.H[d] - b.H[d]) / 2.0 +
                               (a2 - a1) * (a2 * a.W[d] - a1 * b.W[d]) / 12.0;
            FZ_CHECK(close_to(c.K[d], Ksu, sw), "Chen's relation for K[%zu]: %.17g, from the pieces %.17g", d, c.K[d],
                     Ksu);
        }
    }
}

static void one_increment(fz *r, nde_brownian *bm, const span *S)
{
    const double s = decode_time(r, S), t = decode_time(r, S);
    const unsigned flags = fz_u8(r);
    const int wh = flags & 1, wk = (flags >> 1) & 1;
    incr v;
    const int rc = query(bm, s, t, wh, wk, &v);
    FZ_CHECK(rc == NDE_OK || rc == NDE_EINVAL || rc == NDE_EUNSUPPORTED, "increment returned %d", rc);
    const int unsupported = (wh && S->levy < NDE_LEVY_SPACE_TIME) || (wk && S->levy < NDE_LEVY_SPACE_TIME_TIME);
    if (unsupported) FZ_CHECK(rc == NDE_EUNSUPPORTED, "an area the path lacks gave %d", rc);
    else if (far_outside(S, s) || far_outside(S, t)) FZ_CHECK(rc == NDE_EINVAL, "[%.17g, %.17g] outside gave %d", s, t, rc);
    else if (inside(S, s) && inside(S, t)) FZ_CHECK(rc == NDE_OK, "[%.17g, %.17g] inside gave %d: %s", s, t, rc,
                                                    nde_brownian_message(bm));
    if (rc != NDE_OK) {
        FZ_CHECK(nde_brownian_message(bm)[0] != '\0', "increment error %d without a message", rc);
        for (int i = 0; i <= MAX_DIM; i++)
            FZ_CHECK(v.W[i] == CANARY && v.H[i] == CANARY && v.K[i] == CANARY, "a failed query wrote its outputs");
        return;
    }
    FZ_CHECK(nde_brownian_message(bm)[0] == '\0', "a successful query left the message '%s'", nde_brownian_message(bm));
    for (size_t d = S->dim; d <= MAX_DIM && S->dim <= MAX_DIM; d++)
        FZ_CHECK(v.W[d] == CANARY && v.H[d] == CANARY && v.K[d] == CANARY, "a query wrote past dim");
    FZ_CHECK(fz_all_finite(v.W, S->dim) && (!wh || fz_all_finite(v.H, S->dim)) && (!wk || fz_all_finite(v.K, S->dim)),
             "non-finite increment over [%.17g, %.17g]", s, t);
    if (s == t)
        for (size_t d = 0; d < S->dim; d++)
            FZ_CHECK(v.W[d] == 0 && (!wh || v.H[d] == 0) && (!wk || v.K[d] == 0), "s == t gave a nonzero increment");
    /* reversal: W and K odd, H even; then the same query again (after the reverse) */
    incr rv, again;
    FZ_CHECK(query(bm, t, s, wh, wk, &rv) == NDE_OK, "the reverse query failed: %s", nde_brownian_message(bm));
    FZ_CHECK(query(bm, s, t, wh, wk, &again) == NDE_OK, "the repeated query failed");
    for (size_t d = 0; d < S->dim; d++) {
        FZ_CHECK(rv.W[d] == -v.W[d] && (!wh || rv.H[d] == v.H[d]) && (!wk || rv.K[d] == -v.K[d]),
                 "reversing [%.17g, %.17g] is not W, K odd and H even: W %.17g / %.17g", s, t, v.W[d], rv.W[d]);
        FZ_CHECK(memcmp(&again.W[d], &v.W[d], sizeof(double)) == 0 && (!wh || again.H[d] == v.H[d]) &&
                 (!wk || again.K[d] == v.K[d]), "a repeated query gave other bits");
    }
}

static void one_path(fz *r, nde_brownian *bm, const span *S)
{
    size_t n = fz_pick(r, 5);
    double ts[4], W[4 * MAX_DIM + 1];
    int all_inside = 1, any_far = 0;
    for (size_t i = 0; i < n; i++) {
        ts[i] = decode_time(r, S);
        all_inside &= inside(S, ts[i]);
        any_far |= far_outside(S, ts[i]);
    }
    for (size_t i = 0; i < sizeof W / sizeof *W; i++) W[i] = CANARY;
    const int null_w = fz_u8(r) == 0xFF;
    const int rc = nde_brownian_path(bm, n, ts, null_w ? NULL : W);
    FZ_CHECK(rc == NDE_OK || rc == NDE_EINVAL, "nde_brownian_path returned %d", rc);
    if (null_w && n) FZ_CHECK(rc == NDE_EINVAL, "a NULL W was accepted");
    else if (any_far) FZ_CHECK(rc == NDE_EINVAL, "a time outside was accepted");
    else if (all_inside) FZ_CHECK(rc == NDE_OK, "a path inside failed: %s", nde_brownian_message(bm));
    if (rc != NDE_OK) {
        FZ_CHECK(nde_brownian_message(bm)[0] != '\0', "path error without a message");
        for (size_t i = 0; i < sizeof W / sizeof *W; i++) FZ_CHECK(W[i] == CANARY, "a failed path wrote W");
        return;
    }
    FZ_CHECK(W[n * S->dim] == CANARY, "nde_brownian_path wrote past n x dim");
    for (size_t i = 0; i < n; i++) {
        incr v;
        FZ_CHECK(query(bm, S->t0, ts[i], 0, 0, &v) == NDE_OK, "the increment from t0 failed");
        for (size_t d = 0; d < S->dim; d++)
            FZ_CHECK(isfinite(W[i * S->dim + d]) && close_to(W[i * S->dim + d], v.W[d], sqrt(S->t1 - S->t0)),
                     "path at %.17g: %.17g, the increment from t0 %.17g", ts[i], W[i * S->dim + d], v.W[d]);
    }
}

/* ---- Langevin solves ------------------------------------------------------------------ */

typedef struct potential { int kind; double k; unsigned calls, every, stop_at, nan_at; } potential;

/* f = k |x|^2 / 2 or the double well k sum (x_i^2 - 1)^2; the faults count the calls. */
static size_t g_dim;
static int grad(const double *x, double *g, void *user)
{
    potential *P = user;
    P->calls++;
    if (P->stop_at && P->calls >= P->stop_at) return -2;
    if (P->every && P->calls % P->every == 0) return 1;
    for (size_t i = 0; i < g_dim; i++) g[i] = P->kind ? 4.0 * P->k * x[i] * (x[i] * x[i] - 1.0) : P->k * x[i];
    if (P->nan_at && P->calls == P->nan_at) g[0] = NAN;
    return 0;
}

static int no_event(double t, const double *y, double *g, void *u) { (void)t; (void)y; (void)u; g[0] = 1.0; return 0; }

static const nde_method *decode_langevin_method(fz *r)
{
    static const char *names[3] = { "align", "should", "quicsort" };
    unsigned k = fz_u8(r);
    if (k < 200) return nde_method_find(names[k % 3]);
    if (k < 230) return NULL;
    return nde_method_at(fz_pick(r, (unsigned)nde_method_count()));
}

static int positive(double v) { return isfinite(v) && v > 0; }

static void langevin(fz *r)
{
    size_t dim = 1 + fz_pick(r, MAX_DIM);
    potential P = { 0 };
    P.kind = (int)fz_pick(r, 2);
    P.k = fz_within(r, 0.1, 4.0);
    unsigned faults = fz_u8(r);
    if (faults >= 200) P.every = 2 + fz_pick(r, 12);
    if (faults >= 230) P.stop_at = 1 + fz_u16(r) % 400;
    if (faults >= 245) P.nan_at = 1 + fz_u16(r) % 400;
    double gv[MAX_DIM], uv[MAX_DIM];
    nde_langevin p = { .dim = dim, .grad = grad, .user = &P };
    p.gamma = fz_u8(r) < 240 ? fz_within(r, 0.1, 5.0) : fz_dbl(r);
    p.u = fz_u8(r) < 240 ? fz_within(r, 0.2, 3.0) : fz_dbl(r);
    int params_ok = positive(p.gamma) && positive(p.u);
    if (fz_u8(r) >= 200) {
        for (size_t i = 0; i < dim; i++) { gv[i] = fz_within(r, 0.1, 5.0); params_ok &= positive(gv[i]); }
        p.gamma_vec = gv;
        params_ok = positive(p.u);
        for (size_t i = 0; i < dim; i++) params_ok &= positive(gv[i]);
    }
    if (fz_u8(r) >= 220) {
        for (size_t i = 0; i < dim; i++) uv[i] = fz_within(r, 0.2, 3.0);
        p.u_vec = uv;
        params_ok = p.gamma_vec ? 1 : positive(p.gamma);
        for (size_t i = 0; p.gamma_vec && i < dim; i++) params_ok &= positive(gv[i]);
        for (size_t i = 0; i < dim; i++) params_ok &= positive(uv[i]);
    }
    const unsigned shape = fz_u8(r);
    int dim_ok = 1;
    if (shape == 0xFF) { p.dim = 0; dim_ok = 0; }
    if (shape == 0xFE) { p.grad = NULL; dim_ok = 0; }
    g_dim = dim;

    const double t0 = fz_within(r, -2.0, 2.0), t1 = fz_u8(r) < 240 ? t0 + fz_within(r, 0.01, 5.0) : fz_dbl(r);
    double xv0[2 * MAX_DIM], xv0_in[2 * MAX_DIM];
    int x_ok = 1;
    for (size_t i = 0; i < 2 * dim; i++) {
        xv0[i] = fz_u8(r) < 250 ? fz_within(r, -2.0, 2.0) : fz_dbl(r);
        x_ok &= isfinite(xv0[i]) != 0;
    }
    memcpy(xv0_in, xv0, sizeof xv0);

    /* the tree: usually right, sometimes of another dimension or too short */
    const unsigned tmode = fz_u8(r);
    size_t bdim = tmode >= 245 ? dim + 1 : dim;
    double lo = t0, hi = isfinite(t1) && t1 > t0 ? t1 : t0 + 1.0;
    if (tmode >= 230 && tmode < 245) hi = lo + 0.5 * (hi - lo);
    const int levy = (int)fz_pick(r, 3);
    char why[NDE_MESSAGE_MAX];
    nde_brownian *bm = nde_brownian_tree_create_ex(bdim, lo, hi, (hi - lo) * 1e-3, fz_u64(r), levy, NULL, why, sizeof why);
    if (!bm) return;   /* a span that overflows: checked by the tree part */
    /* the solve takes a tree short by up to 100 ULP of its ends (nde/langevin.h via
     * brownian.h's slack): only a tree clearly too short must be refused */
    const double slack = 100.0 * DBL_EPSILON * fmax(fabs(lo), fabs(hi));
    const int tree_ok = bdim == dim && lo <= t0 && t1 <= hi + slack;

    nde_options o = NDE_OPTIONS_INIT;
    o.method = decode_langevin_method(r);
    const int is_langevin = o.method == NULL || nde_method_kind(o.method) == NDE_METHOD_LANGEVIN;
    const int levy_ok = !is_langevin || levy >= nde_langevin_levy(o.method ? o.method : nde_method_find("quicsort"));
    const unsigned adaptive = fz_u8(r) & 1;
    const double T = isfinite(t1 - t0) ? t1 - t0 : 1.0;
    if (adaptive) { o.rtol = fz_within(r, 1e-6, 1e-1); o.atol = fz_within(r, 1e-8, 1e-2); }
    else { o.rtol = 0.0; o.dt0 = T / (double)(1 + fz_pick(r, 200)); }
    o.max_steps = 1 + fz_pick(r, 2000);
    double ts[4];
    o.n_ts = fz_pick(r, 5);
    for (size_t i = 0; i < o.n_ts; i++) ts[i] = t0 + T * (double)(i + 1) / (double)(o.n_ts + 1);
    o.ts = o.n_ts ? ts : NULL;
    o.save = fz_u8(r) & (NDE_SAVE_T0 | NDE_SAVE_STEPS | NDE_SAVE_T1 | NDE_SAVE_DENSE);
    const int events = fz_u8(r) >= 245;
    if (events) { o.event = no_event; o.n_events = 1; }
    fz_alloc fa;
    o.allocator = fz_alloc_decode(r, &fa);
    fz_errbuf eb;
    fz_errbuf_decode(r, &eb);
    if (eb.given) { o.errbuf = eb.buf; o.errbuf_size = eb.size; }
    if (fz_verbose())
        fprintf(stderr, "langevin dim %zu kind %d k %.17g gamma %.17g u %.17g vec %d %d span [%.17g, %.17g] tree dim %zu "
                "[%.17g, %.17g] levy %d method %s rtol %.17g dt0 %.17g max_steps %zu n_ts %zu events %d\n",
                p.dim, P.kind, P.k, p.gamma, p.u, p.gamma_vec != NULL, p.u_vec != NULL, t0, t1, bdim, lo, hi, levy,
                o.method ? nde_method_name(o.method) : "NULL", o.rtol, o.dt0, o.max_steps, o.n_ts, events);

    incr before, after;
    FZ_CHECK(query(bm, lo, hi, 0, 0, &before) == NDE_OK, "the tree's whole increment failed");
    nde_solution a, b;
    int rc = nde_langevin_solve(&p, t0, t1, xv0, bm, &o, &a);
    FZ_CHECK(fz_status_known(rc) && a.status == rc, "nde_langevin_solve returned %d (sol says %d)", rc, a.status);
    FZ_CHECK(memcmp(xv0, xv0_in, sizeof xv0) == 0, "xv0 was written");
    if (eb.given) fz_errbuf_check(&eb, rc, "nde_langevin_solve");
    if (rc < 0) FZ_CHECK(nde_solution_message(&a)[0] != '\0', "status %d without a message", rc);
    const int valid = dim_ok && params_ok && x_ok && tree_ok && isfinite(t1) && t1 > t0;
    /* (the workspace is taken before xv0 and the span are checked: a failing allocator
     * may answer first) */
    if (!valid)
        FZ_CHECK(rc == NDE_EINVAL || rc == NDE_EUNSUPPORTED || (rc == NDE_ENOMEM && o.allocator && fa.fail_at), "invalid input (dim %d params %d xv0 %d tree %d) gave %d: %s",
                 dim_ok, params_ok, x_ok, tree_ok, rc, nde_solution_message(&a));
    if (valid && (!is_langevin || !levy_ok || events))
        FZ_CHECK(rc == NDE_EUNSUPPORTED, "an unsupported method, tree or event gave %d", rc);
    if (rc >= 0) {
        FZ_CHECK(a.n >= 1 && a.dim == 2 * dim, "%zu points of dim %zu", a.n, a.dim);
        FZ_CHECK(fz_all_finite(a.y, a.n * a.dim), "non-finite states with status %d", rc);
        if (!P.every && !P.stop_at && !P.nan_at) {
            P.calls = 0;
            int rc2 = nde_langevin_solve(&p, t0, t1, xv0, bm, &o, &b);
            FZ_CHECK(rc2 == rc || rc2 == NDE_ENOMEM, "a repeat solve returned %d after %d", rc2, rc);
            if (rc2 == rc)
                FZ_CHECK(b.n == a.n && memcmp(b.y, a.y, a.n * a.dim * sizeof *a.y) == 0, "a repeat solve differs");
            nde_solution_free(&b);
        }
    }
    nde_solution_free(&a);
    FZ_CHECK(query(bm, lo, hi, 0, 0, &after) == NDE_OK && memcmp(before.W, after.W, bdim * sizeof(double)) == 0,
             "the solve changed the tree's path");
    nde_brownian_free(bm);
    FZ_CHECK(fa.live == 0, "%zu blocks leaked by the Langevin solve", fa.live);
}

/* ---- effective sample size -------------------------------------------------------------- */

static void ess(fz *r)
{
    double x[3 * 64];
    const size_t n = fz_pick(r, 65), stride = fz_pick(r, 4);
    const unsigned mode = fz_u8(r);
    const double phi = fz_within(r, -0.95, 0.95);
    uint64_t s = fz_u64(r) | 1;
    double prev = 0.0;
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) {
        if (mode < 160) {   /* an AR(1) chain driven by a uniform LCG */
            s = s * 6364136223846793005u + 1442695040888963407u;
            prev = phi * prev + ((double)(s >> 11) * 0x1p-53 - 0.5);
            x[i] = prev;
        } else if (mode < 180) x[i] = 3.5;   /* constant */
        else x[i] = fz_dbl(r);
    }
    if (mode >= 250 && n) x[fz_pick(r, (unsigned)n) * (stride ? stride : 1)] = NAN;
    int finite = 1, distinct = 0, moderate = 1;
    for (size_t i = 0; stride && i < n; i++) {
        const double v = x[i * stride];
        finite &= isfinite(v) != 0;
        distinct |= v != x[0];
        moderate &= v == 0 || (fabs(v) >= 1e-100 && fabs(v) <= 1e100);
    }
    double e = CANARY;
    const int rc = nde_ess(x, n, stride, &e);
    if (fz_verbose()) {
        fprintf(stderr, "ess n %zu stride %zu mode %u: rc %d ess %.17g, chain", n, stride, mode, rc, e);
        for (size_t i = 0; stride && i < n; i++) fprintf(stderr, " %.17g", x[i * stride]);
        fputc('\n', stderr);
    }
    FZ_CHECK(rc == NDE_OK || rc == NDE_EINVAL, "nde_ess returned %d", rc);
    if (n < 4 || stride == 0 || !finite || !distinct) FZ_CHECK(rc == NDE_EINVAL, "nde_ess accepted a refused chain");
    else if (moderate) FZ_CHECK(rc == NDE_OK, "nde_ess refused a moderate, non-constant chain of %zu", n);
    if (rc != NDE_OK) {
        FZ_CHECK(e == CANARY, "nde_ess failed but wrote *ess");
        return;
    }
    FZ_CHECK(isfinite(e) && e > 0 && e <= (double)n * log10((double)n) * (1 + 1e-12), "ess %.17g of %zu draws", e, n);
}

/* ---- the input -------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    span S;
    const int grid = fz_u8(&r) & 1;
    const unsigned dmode = fz_u8(&r);
    S.dim = dmode < 250 ? 1 + dmode % MAX_DIM : dmode == 250 ? 0 : (SIZE_MAX >> (dmode - 250));
    S.t0 = fz_u8(&r) < 230 ? fz_within(&r, -5.0, 5.0) : fz_dbl(&r);
    S.t1 = fz_u8(&r) < 230 ? S.t0 + fz_within(&r, 0.0, 10.0) : fz_dbl(&r);
    double tol = 0.0;
    size_t cells = 0;
    /* huge grids (2^40 cells and more) must be refused, not filled */
    if (grid) cells = fz_u8(&r) < 240 ? fz_pick(&r, 300) : (size_t)1 << (40 + fz_pick(&r, 24)) | fz_u8(&r);
    else tol = fz_u8(&r) < 220 ? (S.t1 - S.t0) * ldexp(1.0, -(int)fz_pick(&r, 60)) : fz_dbl(&r);
    const unsigned lv = fz_u8(&r);
    S.levy = lv < 250 ? (int)(lv % 3) : (int)(int8_t)lv;
    const uint64_t seed = fz_u64(&r);
    fz_alloc fa;
    const nde_allocator *al = fz_alloc_decode(&r, &fa);
    fz_errbuf eb;
    fz_errbuf_decode(&r, &eb);
    char *ebuf = eb.given ? eb.buf : NULL;
    if (fz_verbose())
        fprintf(stderr, "%s dim %zu [%.17g, %.17g] tol %.17g cells %zu levy %d seed %llu\n", grid ? "grid" : "tree",
                S.dim, S.t0, S.t1, tol, cells, S.levy, (unsigned long long)seed);

    nde_brownian *bm = grid ? nde_brownian_grid_create_ex(S.dim, S.t0, S.t1, cells, seed, S.levy, al, ebuf, eb.size)
                            : nde_brownian_tree_create_ex(S.dim, S.t0, S.t1, tol, seed, S.levy, al, ebuf, eb.size);
    const int rc_create = bm ? NDE_OK : NDE_EINVAL;
    if (eb.given) fz_errbuf_check(&eb, rc_create, grid ? "nde_brownian_grid_create_ex" : "nde_brownian_tree_create_ex");
    const int valid = S.dim >= 1 && isfinite(S.t0) && isfinite(S.t1) && S.t0 < S.t1 && isfinite(S.t1 - S.t0) &&
                      S.levy >= NDE_LEVY_NONE && S.levy <= NDE_LEVY_SPACE_TIME_TIME &&
                      (grid ? cells >= 1 : (tol > 0 && isfinite(tol)));
    const int may_refuse = S.dim > MAX_DIM || fa.fail_at || (grid && cells > ((size_t)1 << 39)) ||
                           (grid && !((S.t1 - S.t0) / (double)cells > 0));
    if (bm) FZ_CHECK(valid, "an invalid %s was created", grid ? "grid" : "tree");
    else FZ_CHECK(!valid || may_refuse, "a valid %s was refused", grid ? "grid" : "tree");
    if (bm) {
        FZ_CHECK(nde_brownian_message(bm)[0] == '\0', "a new path has a message");
        const int depth = nde_brownian_depth(bm);
        FZ_CHECK(grid ? depth == 0 : (depth >= 0 && depth <= NDE_BROWNIAN_MAX_DEPTH), "depth %d", depth);
        if (S.dim <= MAX_DIM) {
            const unsigned nq = fz_pick(&r, 9);
            for (unsigned q = 0; q < nq; q++) {
                const unsigned what = fz_u8(&r);
                if (what < 150) one_increment(&r, bm, &S);
                else if (what < 200) one_path(&r, bm, &S);
                else {
                    double s = fz_within(&r, S.t0, S.t1), t = fz_within(&r, S.t0, S.t1), u = fz_within(&r, S.t0, S.t1);
                    if (s > t) { double x = s; s = t; t = x; }
                    if (t > u) { double x = t; t = u; u = x; }
                    if (s > t) { double x = s; s = t; t = x; }
                    if (inside(&S, s) && inside(&S, u)) check_chen(bm, &S, s, t, u);
                }
            }
        }
        FZ_CHECK(nde_brownian_increment(NULL, 0, 1, NULL, NULL, NULL) == NDE_EINVAL, "a NULL path was queried");
        FZ_CHECK(nde_brownian_message(NULL)[0] == '\0', "the NULL path has a message");
        nde_brownian_free(bm);
    }
    FZ_CHECK(fa.live == 0, "%zu blocks leaked by the path", fa.live);
    nde_brownian_free(NULL);

    const unsigned more = fz_u8(&r);
    if (more & 1) langevin(&r);
    if (more & 2) ess(&r);
    return 0;
}
