/* libFuzzer harness of the SDE gradients (nde_sde_solve_taped, nde_sde_backward in
 * include/nde/adjoint.h): a linear SDE dy = A y dt + noise, the noise diagonal B y,
 * additive B or general (B y per column), Itô or Stratonovich, with theta = (A, B) and
 * both VJPs (or one missing); a Brownian tree covering the span (or not) at a decoded
 * tolerance and Lévy level; every SDE method by index (or any registered method);
 * constant or adaptive steps, ts, step_ts, jump_ts, save flags, max_steps; every
 * adjoint kind (and unknown ones), checkpoints, backsolve tolerances, a regulariser
 * weight sometimes; cotangents (one NaN sometimes). Contract: known statuses; a message
 * with every error; y0 untouched; nothing written to the gradient outputs on error; a
 * NaN cotangent refused; no backward without both VJPs; an ODE backward refused on an
 * SDE tape; finite gradients on NDE_OK for bounded growth; a second backward pass the
 * same bits; nothing leaks. */
#include "fuzz.h"

#define MAX_DIM 2
#define MAX_ND 2
#define NP (MAX_DIM + MAX_DIM * MAX_ND)

typedef struct problem {
    size_t dim, nd;
    int noise;
    double th[NP];   /* A[dim], then B: diagonal B[dim], else B[dim x nd] */
} problem;

static const double *B_of(const problem *P) { return P->th + P->dim; }

static int drift(double t, const double *y, double *f, void *u)
{
    (void)t;
    const problem *P = u;
    for (size_t i = 0; i < P->dim; i++) f[i] = P->th[i] * y[i];
    return 0;
}

static int diffusion(double t, const double *y, double *g, void *u)
{
    (void)t;
    const problem *P = u;
    const double *B = B_of(P);
    if (P->noise == NDE_NOISE_DIAGONAL) {
        for (size_t i = 0; i < P->dim; i++) g[i] = B[i] * y[i];
        return 0;
    }
    for (size_t i = 0; i < P->dim; i++)
        for (size_t j = 0; j < P->nd; j++)
            g[i * P->nd + j] = P->noise == NDE_NOISE_ADDITIVE ? B[i * P->nd + j] : B[i * P->nd + j] * y[i];
    return 0;
}

static size_t n_params(const problem *P) { return P->dim + (P->noise == NDE_NOISE_DIAGONAL ? P->dim : P->dim * P->nd); }

static int drift_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const problem *P = u;
    if (ay) for (size_t i = 0; i < P->dim; i++) ay[i] = P->th[i] * a[i];
    if (at) {
        for (size_t k = 0; k < n_params(P); k++) at[k] = 0.0;
        for (size_t i = 0; i < P->dim; i++) at[i] = a[i] * y[i];
    }
    return 0;
}

static int diffusion_vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const problem *P = u;
    const double *B = B_of(P);
    const size_t np = n_params(P);
    if (at) for (size_t k = 0; k < np; k++) at[k] = 0.0;
    if (P->noise == NDE_NOISE_DIAGONAL) {
        if (ay) for (size_t i = 0; i < P->dim; i++) ay[i] = B[i] * a[i];
        if (at) for (size_t i = 0; i < P->dim; i++) at[P->dim + i] = a[i] * y[i];
        return 0;
    }
    for (size_t i = 0; i < P->dim; i++) {
        double s = 0.0;
        for (size_t j = 0; j < P->nd; j++) {
            const size_t k = i * P->nd + j;
            if (P->noise == NDE_NOISE_ADDITIVE) { if (at) at[P->dim + k] = a[k]; }
            else { s += B[k] * a[k]; if (at) at[P->dim + k] = a[k] * y[i]; }
        }
        if (ay) ay[i] = s;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    problem P;
    memset(&P, 0, sizeof P);
    P.noise = (int)fz_pick(&r, 3);
    P.dim = 1 + fz_pick(&r, MAX_DIM);
    P.nd = P.noise == NDE_NOISE_DIAGONAL ? P.dim : 1 + fz_pick(&r, MAX_ND);
    for (size_t i = 0; i < NP; i++)
        P.th[i] = fz_u8(&r) < 240 ? fz_within(&r, i < P.dim ? -1.0 : -0.8, i < P.dim ? 0.5 : 0.8) : fz_dbl(&r);
    const unsigned vj = fz_u8(&r);
    nde_sde sde = { .dim = P.dim, .noise_dim = P.nd, .noise = P.noise, .stratonovich = (int)(vj & 1),
                    .drift = drift, .diffusion = diffusion, .user = &P, .drift_vjp = drift_vjp,
                    .diffusion_vjp = diffusion_vjp, .n_params = n_params(&P) };
    if (vj >= 240) { if (vj & 2) sde.drift_vjp = NULL; else sde.diffusion_vjp = NULL; }
    const int have_vjps = sde.drift_vjp && sde.diffusion_vjp;

    const double t0 = fz_within(&r, -2.0, 2.0), t1 = fz_u8(&r) < 240 ? t0 + fz_within(&r, -3.0, 3.0) : fz_dbl(&r);
    const double dir = t1 >= t0 ? 1.0 : -1.0, lo = fmin(t0, t1), hi = fmax(t0, t1);
    double y0[MAX_DIM], y0c[MAX_DIM];
    for (size_t i = 0; i < MAX_DIM; i++) y0[i] = fz_u8(&r) < 250 ? fz_within(&r, -2.0, 2.0) : fz_dbl(&r);
    memcpy(y0c, y0, sizeof y0);

    /* the tree: usually right, sometimes too short */
    const unsigned tmode = fz_u8(&r);
    const double span = isfinite(hi - lo) && hi > lo ? hi - lo : 1.0;
    const double blo = isfinite(lo) ? lo : 0.0, bhi = blo + (tmode >= 240 ? 0.5 * span : span);
    const double tol = span * ldexp(1.0, -(int)(4 + fz_pick(&r, 20)));
    const int levy = (int)fz_pick(&r, 3);
    const uint64_t seed = fz_u64(&r);
    if (fz_verbose()) fprintf(stderr, "tree seed %llu\n", (unsigned long long)seed);
    nde_brownian *bm = nde_brownian_tree_create(P.nd, blo, bhi, tol, seed, levy);
    if (!bm) return 0;   /* spans the tree refuses: fuzz_brownian's business */

    nde_options o = NDE_OPTIONS_INIT;
    const unsigned mm = fz_u8(&r);
    o.method = mm < 220 ? nde_sde_method_at(fz_pick(&r, (unsigned)nde_sde_method_count()))
             : nde_method_at(fz_pick(&r, (unsigned)nde_method_count()));
    const unsigned adaptive = fz_u8(&r);
    if (adaptive < 128) { o.rtol = 0.0; o.dt0 = (t1 - t0) / (double)(1 + fz_pick(&r, 100)); }
    else if (adaptive < 250) { o.rtol = fz_within(&r, 1e-4, 1e-1); o.atol = fz_within(&r, 1e-5, 1e-2); }
    else { o.rtol = fz_dbl(&r); o.atol = fz_dbl(&r); o.dt0 = fz_dbl(&r); }
    o.max_steps = 1 + fz_pick(&r, 2000);
    double ts[4], st[2], jt[2];
    o.n_ts = fz_times(&r, ts, 4, lo, hi, fz_u8(&r) < 240, dir);
    o.ts = o.n_ts ? ts : NULL;
    o.n_step_ts = fz_times(&r, st, 2, lo, hi, 0, dir);
    o.step_ts = o.n_step_ts ? st : NULL;
    o.n_jump_ts = fz_times(&r, jt, 2, lo, hi, 0, dir);
    o.jump_ts = o.n_jump_ts ? jt : NULL;
    o.save = fz_u8(&r) & (NDE_SAVE_T0 | NDE_SAVE_STEPS | NDE_SAVE_T1);

    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    const unsigned k = fz_u8(&r);
    ao.kind = k < 250 ? (int)(k % 3) : (int)(int8_t)k;
    const unsigned c = fz_u8(&r);
    ao.checkpoints = c < 64 ? 0 : c < 192 ? 2 + c % 7 : c < 250 ? NDE_CHECKPOINTS_ALL : (size_t)fz_u64(&r);
    if (fz_u8(&r) >= 240) ao.reg_error = fz_within(&r, 0.0, 1.0);
    if (fz_u8(&r) >= 200) { ao.rtol = fz_within(&r, 1e-5, 1e-2); ao.atol = fz_within(&r, 1e-6, 1e-3); }
    char eb[NDE_MESSAGE_MAX];
    ao.errbuf = eb; ao.errbuf_size = sizeof eb;
    eb[0] = '\0';
    if (fz_verbose()) {
        fprintf(stderr, "noise %d dim %zu nd %zu strat %d vjps %d %d th %.17g %.17g %.17g %.17g %.17g %.17g t0 %.17g t1 %.17g "
                "y0 %.17g %.17g tree [%.17g, %.17g] tol %.17g levy %d method %s rtol %.17g atol %.17g dt0 %.17g "
                "max_steps %zu save 0x%x kind %d checkpoints %zu reg %.17g\n",
                P.noise, P.dim, P.nd, sde.stratonovich, sde.drift_vjp != NULL, sde.diffusion_vjp != NULL, P.th[0],
                P.th[1], P.th[2], P.th[3], P.th[4], P.th[5], t0, t1, y0[0], y0[1], blo, bhi, tol, levy,
                o.method ? nde_method_name(o.method) : "NULL", o.rtol, o.atol, o.dt0, o.max_steps, o.save, ao.kind,
                ao.checkpoints, ao.reg_error);
        fz_print_times("ts", o.ts, o.n_ts);
        fz_print_times("step_ts", o.step_ts, o.n_step_ts);
        fz_print_times("jump_ts", o.jump_ts, o.n_jump_ts);
    }

    nde_tape *tape = nde_tape_create(&ao);
    if (!tape) {
        FZ_CHECK(eb[0] != '\0', "nde_tape_create refused without a message");
        nde_brownian_free(bm);
        return 0;
    }
    double g0[MAX_DIM + NP + 1];
    for (size_t i = 0; i < sizeof g0 / sizeof *g0; i++) g0[i] = 7.0;
    FZ_CHECK(nde_sde_backward(tape, NULL, g0, g0 + MAX_DIM) == NDE_EINVAL, "a backward pass before any solve");
    FZ_CHECK(g0[0] == 7.0 && g0[MAX_DIM] == 7.0, "a refused backward pass wrote the gradient");

    nde_solution sol;
    const int rc = nde_sde_solve_taped(&sde, t0, t1, y0, bm, &o, tape, &sol);
    FZ_CHECK(fz_status_known(rc), "nde_sde_solve_taped returned %d", rc);
    if (fz_verbose()) fprintf(stderr, "taped solve %d: %s\n", rc, nde_solution_message(&sol));
    FZ_CHECK(memcmp(y0, y0c, sizeof y0) == 0, "the taped solve wrote y0");
    if (rc < 0) FZ_CHECK(nde_solution_message(&sol)[0] != '\0', "taped solve error %d without a message", rc);
    if (ao.reg_error > 0) FZ_CHECK(rc < 0, "a regulariser on an SDE tape was accepted");
    if (rc == NDE_OK) {
        const size_t dim = P.dim, np = sde.n_params;
        double cot[64 * MAX_DIM];
        const size_t m = sol.n * dim < 64 * MAX_DIM ? sol.n * dim : 64 * MAX_DIM;
        const int nan_cot = fz_u8(&r) >= 250;
        for (size_t i = 0; i < m; i++) cot[i] = fz_within(&r, -1.0, 1.0);
        if (nan_cot && m) cot[fz_pick(&r, (unsigned)m)] = NAN;
        const double *cp = sol.n * dim <= 64 * MAX_DIM ? cot : NULL;
        double g1[MAX_DIM + NP + 1], g2[MAX_DIM + NP + 1];
        for (size_t i = 0; i < sizeof g1 / sizeof *g1; i++) g1[i] = 7.0;
        const int rb = nde_sde_backward(tape, cp, g1, g1 + dim);
        FZ_CHECK(fz_status_known(rb), "nde_sde_backward returned %d", rb);
        if (fz_verbose()) {
            fprintf(stderr, "backward %d (%s): n %zu steps %zu g %g %g %g %g\n", rb, nde_tape_message(tape), sol.n,
                    sol.stats.accepted, g1[0], g1[1], g1[2], g1[3]);
            for (size_t i = 0; i < sol.n; i++)
                fprintf(stderr, "  t %.17g y %.17g %.17g cot %.17g %.17g\n", sol.t[i], sol.y[i * dim],
                        sol.y[i * dim + dim - 1], cp ? cp[i * dim] : 0.0, cp ? cp[i * dim + dim - 1] : 0.0);
        }
        FZ_CHECK(g1[dim + np] == 7.0, "the backward pass wrote past n_params");
        if (rb != NDE_OK) {
            FZ_CHECK(nde_tape_message(tape)[0] != '\0', "backward error %d without a message", rb);
            for (size_t i = 0; i < dim + np; i++) FZ_CHECK(g1[i] == 7.0, "backward failed (%d) but wrote the gradient", rb);
        } else {
            FZ_CHECK(have_vjps, "backward without both VJPs returned NDE_OK");
            FZ_CHECK(!nan_cot || !cp, "a NaN cotangent was accepted");
            /* bounded growth: |A|, |B| <= 1 over a span <= 4, cotangents <= 1e3 */
            int moderate = fabs(t1 - t0) <= 4.0 && sol.stats.accepted < 2000 && !(o.rtol >= 1.0);
            for (size_t i = 0; i < np; i++) moderate &= fabs(P.th[i]) <= 1.0;
            for (size_t i = 0; i < dim; i++) moderate &= fabs(y0[i]) <= 1e3;
            for (size_t i = 0; cp && i < sol.n * dim; i++) moderate &= fabs(cp[i]) <= 1e3;
            if (moderate && fz_all_finite(sol.y, sol.n * dim))
                FZ_CHECK(fz_all_finite(g1, dim + np), "non-finite gradient with NDE_OK");
            const int rb2 = nde_sde_backward(tape, cp, g2, g2 + dim);
            FZ_CHECK(rb2 == NDE_OK && memcmp(g1, g2, (dim + np) * sizeof *g1) == 0, "a second backward pass differs (%d)",
                     rb2);
        }
        double go[MAX_DIM + NP];
        for (size_t i = 0; i < MAX_DIM + NP; i++) go[i] = 7.0;
        FZ_CHECK(nde_ode_backward(tape, NULL, go, go + dim) == NDE_EINVAL && go[0] == 7.0,
                 "an ODE backward pass on an SDE tape");
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    nde_brownian_free(bm);
    return 0;
}
