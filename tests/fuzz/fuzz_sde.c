/* libFuzzer harness: SDE solves and ensembles (include/nde/sde.h).
 *
 * The input gives a linear SDE (dy = A y dt + noise, the noise diagonal B y, additive
 * B, or general 2 x noise_dim with B y terms; Itô or Stratonovich; sometimes a drift
 * that asks for smaller steps or fails), a Brownian tree (its dimension right or not,
 * its span covering [t0, t1] or not, a decoded tolerance and Lévy level), an SDE method
 * by index (or any registered method, or the default), constant or adaptive steps,
 * save times, max_steps, an allocator and an error buffer; sometimes an ensemble of a
 * few paths on 1-3 threads instead. Checked: a documented status, with a message on
 * error; y0 untouched; a successful solve's points finite or NDE_ENONFINITE; a second
 * solve on the same tree bit-identical (the tree is queried, never resampled); an
 * ensemble's path 0 equal to the single solve on its seeded tree; no leak. */
#include "fuzz.h"

#define MAX_DIM 3
#define MAX_TS 6

typedef struct sde_problem {
    size_t dim, noise_dim;
    int noise;
    double A[MAX_DIM], B[MAX_DIM * (MAX_DIM + 1)];
    unsigned retry_every, stop_after, calls;
} sde_problem;

static int drift(double t, const double *y, double *f, void *u)
{
    (void)t;
    sde_problem *P = u;
    if (P->retry_every || P->stop_after) {   /* never in ensembles: their threads share P */
        P->calls++;
        if (P->stop_after && P->calls > P->stop_after) return -3;
        if (P->retry_every && P->calls % P->retry_every == 0) return 1;
    }
    for (size_t i = 0; i < P->dim; i++) f[i] = P->A[i] * y[i];
    return 0;
}

static int diffusion(double t, const double *y, double *g, void *u)
{
    (void)t;
    const sde_problem *P = u;
    if (P->noise == NDE_NOISE_DIAGONAL) {
        for (size_t i = 0; i < P->dim; i++) g[i] = P->B[i] * y[i];
        return 0;
    }
    for (size_t i = 0; i < P->dim; i++)
        for (size_t j = 0; j < P->noise_dim; j++) {
            double b = P->B[i * P->noise_dim + j];
            g[i * P->noise_dim + j] = P->noise == NDE_NOISE_ADDITIVE ? b : b * y[i];
        }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    sde_problem P;
    memset(&P, 0, sizeof P);
    P.noise = (int)fz_pick(&r, 4);                         /* 3: unknown */
    P.dim = fz_pick(&r, MAX_DIM + 1);                     /* 0: invalid */
    P.noise_dim = P.noise == NDE_NOISE_DIAGONAL ? P.dim : fz_pick(&r, MAX_DIM + 1);
    if (fz_u8(&r) == 0xFF) P.noise_dim = P.dim + 1;       /* diagonal with a wrong noise_dim */
    for (size_t i = 0; i < MAX_DIM; i++) P.A[i] = fz_within(&r, -2.0, 1.0);
    for (size_t i = 0; i < MAX_DIM * (MAX_DIM + 1); i++) P.B[i] = fz_within(&r, -1.0, 1.0);
    P.retry_every = fz_u8(&r) < 230 ? 0 : 2 + fz_pick(&r, 20);
    P.stop_after = fz_u8(&r) < 240 ? 0 : fz_u16(&r);
    unsigned strat = fz_u8(&r) & 1;
    nde_sde sde = { .dim = P.dim, .noise_dim = P.noise_dim, .noise = P.noise, .stratonovich = (int)strat,
                    .drift = drift, .diffusion = diffusion, .user = &P };
    if (fz_u8(&r) == 0xFE) sde.drift = NULL;

    double t0 = fz_within(&r, -5.0, 5.0), t1 = t0 + fz_within(&r, -3.0, 3.0);
    double y0[MAX_DIM], y0_in[MAX_DIM];
    for (size_t i = 0; i < MAX_DIM; i++) y0[i] = fz_u8(&r) < 250 ? fz_within(&r, -2.0, 2.0) : fz_dbl(&r);
    memcpy(y0_in, y0, sizeof y0);

    /* the tree: usually right, sometimes of another dimension or a short span */
    size_t bdim = P.noise_dim ? P.noise_dim : 1;
    unsigned tmode = fz_u8(&r);
    if (tmode >= 250) bdim = bdim + 1;
    double lo = fmin(t0, t1), hi = fmax(t0, t1);
    if (tmode >= 240 && tmode < 250) hi = lo + 0.5 * (hi - lo);
    double tol = fz_u8(&r) < 200 ? fabs(t1 - t0) * ldexp(1.0, -(int)fz_pick(&r, 30)) : fz_dbl(&r);
    int levy = (int)fz_pick(&r, 3);
    uint64_t seed = fz_u64(&r);

    nde_options o = NDE_OPTIONS_INIT;
    unsigned mm = fz_u8(&r);
    o.method = mm < 200 ? nde_sde_method_at(fz_pick(&r, (unsigned)nde_sde_method_count()))
             : mm < 240 ? nde_method_at(fz_pick(&r, (unsigned)nde_method_count())) : NULL;
    unsigned adaptive = fz_u8(&r) & 1;
    o.rtol = adaptive ? fz_within(&r, 1e-6, 1e-1) : 0.0;
    o.atol = adaptive ? fz_within(&r, 1e-8, 1e-2) : 1e-9;
    o.dt0 = adaptive && (fz_u8(&r) & 1) ? 0.0 : (t1 - t0) / (double)(1 + fz_pick(&r, 200));
    o.max_steps = 1 + fz_pick(&r, 2000);
    double ts[MAX_TS];
    size_t nts = fz_pick(&r, MAX_TS + 1);
    for (size_t i = 0; i < nts; i++) ts[i] = t0 + (t1 - t0) * (double)(i + 1) / (double)(nts + 1);
    if (nts && fz_u8(&r) == 0xFF) ts[0] = t1 + 1.0;       /* outside */
    o.ts = nts ? ts : NULL; o.n_ts = nts;
    fz_alloc fa;
    o.allocator = fz_alloc_decode(&r, &fa);
    fz_errbuf eb;
    fz_errbuf_decode(&r, &eb);
    if (eb.given) { o.errbuf = eb.buf; o.errbuf_size = eb.size; }
    int ensemble = fz_u8(&r) >= 224;

    if (!ensemble) {
        char why[NDE_MESSAGE_MAX];
        nde_brownian *bm = nde_brownian_tree_create_ex(bdim, lo, hi, tol, seed, levy, NULL, why, sizeof why);
        if (!bm) {
            FZ_CHECK(!(tol > 0) || !isfinite(tol) || !(hi > lo) || !isfinite(lo) || !isfinite(hi),
                     "a valid tree was refused: %s", why);
            return 0;
        }
        unsigned calls0 = P.calls;
        nde_solution a, b;
        int rc = nde_sde_solve(&sde, t0, t1, y0, bm, &o, &a);
        FZ_CHECK(fz_status_known(rc) && a.status == rc, "nde_sde_solve returned %d (sol says %d)", rc, a.status);
        FZ_CHECK(memcmp(y0, y0_in, sizeof y0) == 0, "y0 was written");
        if (eb.given) fz_errbuf_check(&eb, rc, "nde_sde_solve");
        if (rc < 0) FZ_CHECK(nde_solution_message(&a)[0] != '\0', "status %d without a message", rc);
        if (rc >= 0) {
            FZ_CHECK(a.n >= 1 && a.dim == P.dim, "%zu points of dim %zu", a.n, a.dim);
            FZ_CHECK(fz_all_finite(a.y, a.n * a.dim), "non-finite points with status %d", rc);
            if (!P.stop_after && !P.retry_every) {
                /* the same tree again: the same bits */
                P.calls = calls0;
                int rc2 = nde_sde_solve(&sde, t0, t1, y0, bm, &o, &b);
                FZ_CHECK(rc2 == rc || rc2 == NDE_ENOMEM, "repeat solve returned %d after %d", rc2, rc);
                if (rc2 == rc)
                    FZ_CHECK(b.n == a.n && memcmp(b.y, a.y, a.n * a.dim * sizeof *a.y) == 0,
                             "a repeat solve on the same tree differs");
                nde_solution_free(&b);
            }
        }
        nde_solution_free(&a);
        nde_brownian_free(bm);
    } else {
        nde_ensemble_options eo = NDE_ENSEMBLE_OPTIONS_INIT;
        eo.paths = fz_pick(&r, 6);                         /* 0: invalid */
        eo.seed = seed;
        eo.threads = (int)fz_pick(&r, 4);
        if (o.allocator) eo.threads = 1;   /* the checking allocator counts without locks: threads
                                              need a thread-safe allocator (sde.h) */
        double qs[2] = { fz_within(&r, 0.0, 1.0), 0.5 };
        eo.quantiles = qs; eo.n_quantiles = fz_pick(&r, 3);
        P.retry_every = 0; P.stop_after = 0;               /* callbacks run on several threads */
        nde_ensemble e;
        int rc = nde_sde_ensemble(&sde, t0, t1, y0, &o, &eo, &e);
        FZ_CHECK(fz_status_known(rc), "nde_sde_ensemble returned %d", rc);
        FZ_CHECK(memcmp(y0, y0_in, sizeof y0) == 0, "y0 was written");
        if (rc < 0) FZ_CHECK(nde_ensemble_message(&e)[0] != '\0', "status %d without a message", rc);
        if (e.y) {
            FZ_CHECK(e.paths == eo.paths && e.dim == P.dim, "ensemble of %zu paths, dim %zu", e.paths, e.dim);
            size_t bad = 0;
            for (size_t i = 0; i < e.paths; i++) bad += e.status[i] < 0 ? 1u : 0u;
            FZ_CHECK(bad == e.failed, "failed %zu, counted %zu", e.failed, bad);
        }
        nde_ensemble_free(&e);
    }
    FZ_CHECK(fa.live == 0, "%zu blocks leaked", fa.live);
    return 0;
}
