/* libFuzzer harness of the gradients API (include/nde/adjoint.h): a taped solve of a
 * small problem with a VJP (linear 2x2, Lotka-Volterra, or one without a VJP), every
 * method and adjoint kind, options decoded from the input (tolerances, dt0, ts,
 * step_ts, jump_ts, save flags, checkpoints, regulariser weights and local sampling),
 * then nde_ode_backward with decoded cotangents. Contract: known statuses; a message
 * with every error; nothing written to the gradient outputs on error; finite gradients
 * on NDE_OK for moderate inputs; a second backward pass gives the same bits; the
 * reported checkpoints respect the limit. */
#include "fuzz.h"

typedef struct prob { double p[4]; int kind; } prob;

static int rhs(double t, const double *y, double *dy, void *u)
{
    (void)t;
    const prob *P = u;
    const double *p = P->p;
    if (P->kind == 0) { dy[0] = p[0] * y[0] + p[1] * y[1]; dy[1] = p[2] * y[0] + p[3] * y[1]; }
    else { dy[0] = p[0] * y[0] - p[1] * y[0] * y[1]; dy[1] = p[2] * y[0] * y[1] - p[3] * y[1]; }
    return 0;
}

static int vjp(double t, const double *y, const double *a, double *ay, double *at, void *u)
{
    (void)t;
    const prob *P = u;
    const double *p = P->p;
    if (P->kind == 0) {
        if (ay) { ay[0] = p[0] * a[0] + p[2] * a[1]; ay[1] = p[1] * a[0] + p[3] * a[1]; }
        if (at) { at[0] = a[0] * y[0]; at[1] = a[0] * y[1]; at[2] = a[1] * y[0]; at[3] = a[1] * y[1]; }
    } else {
        if (ay) {
            ay[0] = a[0] * (p[0] - p[1] * y[1]) + a[1] * p[2] * y[1];
            ay[1] = -a[0] * p[1] * y[0] + a[1] * (p[2] * y[0] - p[3]);
        }
        if (at) { at[0] = a[0] * y[0]; at[1] = -a[0] * y[0] * y[1]; at[2] = a[1] * y[0] * y[1]; at[3] = -a[1] * y[1]; }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    prob P;
    P.kind = (int)fz_pick(&r, 3);   /* 0 linear, 1 Lotka-Volterra, 2: linear without a VJP */
    int with_vjp = P.kind != 2;
    if (P.kind == 2) P.kind = 0;
    static const double base[2][4] = { { -0.5, 1.0, -1.0, -0.3 }, { 1.5, 1.0, 1.0, 3.0 } };
    for (int i = 0; i < 4; i++) P.p[i] = fz_u8(&r) < 224 ? base[P.kind][i] * fz_within(&r, 0.5, 1.5) : fz_dbl(&r);
    double y0[2] = { fz_within(&r, 0.2, 2.0), fz_within(&r, 0.2, 2.0) };
    double t0 = fz_u8(&r) < 240 ? fz_within(&r, -2.0, 2.0) : fz_dbl(&r);
    double t1 = fz_u8(&r) < 240 ? t0 + fz_within(&r, -3.0, 3.0) : fz_dbl(&r);
    const double dir = t1 >= t0 ? 1.0 : -1.0, lo = fmin(t0, t1), hi = fmax(t0, t1);

    nde_options o = NDE_OPTIONS_INIT;
    o.method = fz_ode_method_at(fz_pick(&r, fz_ode_method_count()));
    unsigned tol = fz_u8(&r);
    if (tol < 64) { o.rtol = 0.0; o.dt0 = dir * fz_within(&r, 1e-3, 0.5) * (hi - lo + 1e-300); }
    else if (tol < 224) { o.rtol = fz_within(&r, 1e-9, 1e-2); o.atol = o.rtol * fz_within(&r, 1e-3, 1.0); }
    else { o.rtol = fz_dbl(&r); o.atol = fz_dbl(&r); o.dt0 = fz_dbl(&r); }
    o.max_steps = 1 + fz_pick(&r, 3000);
    double ts[6], st[3], jt[3];
    o.n_ts = fz_times(&r, ts, 6, lo, hi, fz_u8(&r) < 240, dir);
    o.ts = o.n_ts ? ts : NULL;
    o.n_step_ts = fz_times(&r, st, 3, lo, hi, 0, dir);
    o.step_ts = o.n_step_ts ? st : NULL;
    o.n_jump_ts = fz_times(&r, jt, 3, lo, hi, 0, dir);
    o.jump_ts = o.n_jump_ts ? jt : NULL;
    o.save = fz_u8(&r) & (NDE_SAVE_T0 | NDE_SAVE_STEPS | NDE_SAVE_T1 | NDE_SAVE_DENSE);

    nde_adjoint_options ao = NDE_ADJOINT_OPTIONS_INIT;
    unsigned k = fz_u8(&r);
    ao.kind = k < 250 ? (int)(k % 3) : (int)(int8_t)k;
    unsigned c = fz_u8(&r);
    ao.checkpoints = c < 64 ? 0 : c < 192 ? 2 + c % 7 : c < 250 ? NDE_CHECKPOINTS_ALL : (size_t)fz_u64(&r);
    if (fz_u8(&r) >= 128) ao.reg_error = fz_u8(&r) < 240 ? fz_within(&r, 0.0, 2.0) : fz_dbl(&r);
    if (fz_u8(&r) >= 128) ao.reg_stiffness = fz_u8(&r) < 240 ? fz_within(&r, 0.0, 2.0) : fz_dbl(&r);
    if (fz_u8(&r) >= 192) { ao.reg_steps = 1 + fz_pick(&r, 8); ao.reg_seed = fz_u64(&r); }
    if (fz_u8(&r) >= 200) { ao.rtol = fz_dbl(&r); ao.atol = fz_dbl(&r); }
    char eb[NDE_MESSAGE_MAX];
    ao.errbuf = eb; ao.errbuf_size = sizeof eb;
    eb[0] = '\0';
    if (fz_verbose())
        fprintf(stderr, "problem %d vjp %d p %.17g %.17g %.17g %.17g t0 %.17g t1 %.17g method %s rtol %.17g atol %.17g dt0 %.17g "
                "max_steps %zu save 0x%x kind %d checkpoints %zu reg %.17g %.17g steps %zu y0 %.17g %.17g\n",
                P.kind, with_vjp, P.p[0], P.p[1], P.p[2], P.p[3], t0, t1, nde_method_name(o.method), o.rtol, o.atol,
                o.dt0, o.max_steps, o.save, ao.kind, ao.checkpoints, ao.reg_error, ao.reg_stiffness, ao.reg_steps, y0[0], y0[1]);

    if (fz_verbose()) {
        fz_print_times("ts", o.ts, o.n_ts);
        fz_print_times("step_ts", o.step_ts, o.n_step_ts);
        fz_print_times("jump_ts", o.jump_ts, o.n_jump_ts);
    }
    nde_tape *tape = nde_tape_create(&ao);
    if (!tape) {
        FZ_CHECK(eb[0] != '\0', "nde_tape_create refused without a message");
        return 0;
    }
    nde_ode ode = { .dim = 2, .f = rhs, .vjp = with_vjp ? vjp : NULL, .n_params = 4, .user = &P };
    double y0c[2] = { y0[0], y0[1] };
    nde_solution sol;
    int rc = nde_ode_solve_taped(&ode, t0, t1, y0, &o, tape, &sol);
    FZ_CHECK(fz_status_known(rc), "nde_ode_solve_taped returned %d", rc);
    FZ_CHECK(memcmp(y0, y0c, sizeof y0) == 0, "the taped solve wrote y0");
    if (rc < 0) FZ_CHECK(nde_solution_message(&sol)[0] != '\0', "taped solve error %d without a message", rc);
    if (rc == NDE_OK) {
        nde_adjoint_stats stats;
        FZ_CHECK(nde_tape_stats(tape, &stats) == NDE_OK, "no stats after a taped solve");
        if (ao.kind == NDE_ADJOINT_CHECKPOINT && ao.checkpoints >= 2)
            FZ_CHECK(stats.checkpoints <= ao.checkpoints, "%zu states kept, limit %zu", stats.checkpoints, ao.checkpoints);
        double cot[64 * 2 + 8];
        size_t m = sol.n * 2 < 64 * 2 ? sol.n * 2 : 64 * 2;
        int nan_cot = fz_u8(&r) >= 250;
        for (size_t i = 0; i < m; i++) cot[i] = fz_within(&r, -1.0, 1.0);
        if (nan_cot && m) cot[fz_pick(&r, (unsigned)m)] = NAN;
        double g1[2 + 4] = { 7, 7, 7, 7, 7, 7 }, g2[2 + 4];
        int rb = sol.n <= 64 ? nde_ode_backward(tape, cot, g1, g1 + 2) : nde_ode_backward(tape, NULL, g1, g1 + 2);
        FZ_CHECK(fz_status_known(rb), "nde_ode_backward returned %d", rb);
        if (fz_verbose())
            fprintf(stderr, "backward %d (%s): n %zu steps %zu g %g %g %g %g %g %g\n", rb, nde_tape_message(tape), sol.n,
                    sol.stats.accepted, g1[0], g1[1], g1[2], g1[3], g1[4], g1[5]);
        if (rb != NDE_OK) {
            FZ_CHECK(nde_tape_message(tape)[0] != '\0', "backward error %d without a message", rb);
            for (int i = 0; i < 6; i++) FZ_CHECK(g1[i] == 7, "backward failed (%d) but wrote the gradient", rb);
        } else {
            FZ_CHECK(with_vjp, "backward without a VJP returned NDE_OK");
            FZ_CHECK(!nan_cot || sol.n > 64, "a NaN cotangent was accepted");
            /* bounded growth: the linear problem with |A| <= 2 over a span <= 6 (the
             * gradient then stays below e^24); other dynamics may overflow legitimately */
            int moderate = P.kind == 0 && fabs(t1 - t0) <= 6.0 && sol.stats.accepted < 3000 && o.rtol < 1.0;
            for (int i = 0; i < 4; i++) moderate &= fabs(P.p[i]) <= 2.0;
            moderate &= fabs(y0[0]) <= 1e3 && fabs(y0[1]) <= 1e3;
            for (size_t i = 0; i < m && sol.n <= 64; i++) moderate &= fabs(cot[i]) <= 1e3;
            moderate &= fabs(ao.reg_error) <= 1e3 && fabs(ao.reg_stiffness) <= 1e3;
            if (moderate && fz_all_finite(sol.y, sol.n * 2))
                FZ_CHECK(fz_all_finite(g1, 6), "non-finite gradient with NDE_OK");
            int rb2 = sol.n <= 64 ? nde_ode_backward(tape, cot, g2, g2 + 2) : nde_ode_backward(tape, NULL, g2, g2 + 2);
            FZ_CHECK(rb2 == NDE_OK && memcmp(g1, g2, sizeof g1) == 0, "a second backward pass differs (%d)", rb2);
        }
    }
    nde_solution_free(&sol);
    nde_tape_free(tape);
    return 0;
}
