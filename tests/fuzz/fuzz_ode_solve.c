/* libFuzzer harness: nde_ode_solve and nde_solution_eval with every option decoded.
 *
 * The input picks a right-hand side (linear, Lorenz, stiff Robertson, one returning
 * NaN now and then, one asking for retries and then to stop, y' = y^2 blowing up),
 * t0/t1 (anything: huge, tiny, negative, reversed, equal, NaN), y0, every field of
 * nde_options (method by index, tolerances, dt0, a bounded max_steps, save flags, ts /
 * step_ts / jump_ts, PID coefficients and limits, events with directions, terminal
 * flags and event_tol, on_step, an allocator that fails on demand, errbuf), then
 * evaluates the dense output at decoded times. Each run is checked against the
 * contract in ode.h; a violation traps. */
#include "fuzz.h"

#define MAX_DIM 8
#define MAX_TS 16
#define MAX_STEP_TS 8
#define MAX_JUMP_TS 8
#define MAX_EVENTS 4
#define MAX_STEPS 1000   /* keeps one execution well under a millisecond */

enum { RHS_LINEAR, RHS_LORENZ, RHS_ROBERTSON, RHS_NAN, RHS_RETRY_STOP, RHS_BLOWUP, RHS_KINDS };

typedef struct problem {
    int kind;
    size_t dim;
    double a[MAX_DIM], b[MAX_DIM];   /* linear part: dy_i = a_i y_i + b_i */
    double par[3];                   /* Lorenz sigma, rho, beta; Robertson rates */
    unsigned nan_every, retry_every; /* RHS_NAN / RHS_RETRY_STOP: every n-th call */
    unsigned stop_after;             /* RHS_RETRY_STOP: return -1 after this many calls */
    unsigned calls;
    /* events: g_i = y[ev_comp[i]] - ev_c[i], or t - ev_c[i] when ev_comp[i] == dim */
    size_t n_events;
    size_t ev_comp[MAX_EVENTS];
    double ev_c[MAX_EVENTS];
    unsigned ev_calls, ev_fail_at;   /* event returns ev_rc at call ev_fail_at (0: never) */
    int ev_rc;
    unsigned on_step_calls, on_step_stop;
    int rhs_nonfinite;               /* some call returned a non-finite dy */
    double max_dy, max_y;            /* largest |dy_i|, |y_i| seen by the right-hand side */
} problem;

static int rhs_eval(double t, const double *y, double *dy, problem *P);

static int rhs(double t, const double *y, double *dy, void *user)
{
    problem *P = user;
    int rc = rhs_eval(t, y, dy, P);
    if (rc == 0 && !fz_all_finite(dy, P->dim)) P->rhs_nonfinite = 1;
    for (size_t i = 0; rc == 0 && i < P->dim; i++) {
        P->max_dy = fmax(P->max_dy, fabs(dy[i]));
        P->max_y = fmax(P->max_y, fabs(y[i]));
    }
    return rc;
}

static int rhs_eval(double t, const double *y, double *dy, problem *P)
{
    P->calls++;
    switch (P->kind) {
    case RHS_LORENZ:
        dy[0] = P->par[0] * (y[1] - y[0]);
        dy[1] = y[0] * (P->par[1] - y[2]) - y[1];
        dy[2] = y[0] * y[1] - P->par[2] * y[2];
        return 0;
    case RHS_ROBERTSON:
        dy[0] = -P->par[0] * y[0] + P->par[2] * y[1] * y[2];
        dy[1] = P->par[0] * y[0] - P->par[2] * y[1] * y[2] - P->par[1] * y[1] * y[1];
        dy[2] = P->par[1] * y[1] * y[1];
        return 0;
    case RHS_BLOWUP:
        for (size_t i = 0; i < P->dim; i++) dy[i] = P->a[i] * y[i] * y[i];
        return 0;
    default:
        break;
    }
    for (size_t i = 0; i < P->dim; i++) dy[i] = P->a[i] * y[i] + P->b[i] * (1.0 + 0.0 * t);
    if (P->kind == RHS_NAN && P->nan_every && P->calls % P->nan_every == 0) dy[0] = NAN;
    if (P->kind == RHS_RETRY_STOP) {
        if (P->stop_after && P->calls > P->stop_after) return -1;
        if (P->retry_every && P->calls % P->retry_every == 0) return 1;
    }
    return 0;
}

static int events(double t, const double *y, double *g, void *user)
{
    problem *P = user;
    P->ev_calls++;
    if (P->ev_fail_at && P->ev_calls == P->ev_fail_at) return P->ev_rc;
    for (size_t i = 0; i < P->n_events; i++)
        g[i] = (P->ev_comp[i] < P->dim ? y[P->ev_comp[i]] : t) - P->ev_c[i];
    return 0;
}

static int on_step(double t, double dt, double err, int accepted, void *user)
{
    problem *P = user;
    (void)t; (void)dt; (void)accepted;
    P->on_step_calls++;
    FZ_CHECK(!(err < 0.0) && !isnan(err), "on_step got error norm %g", err);
    return (P->on_step_stop && P->on_step_calls >= P->on_step_stop) ? -1 : 0;
}

static int cmp_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n times: mostly inside [t0, t1], sorted in the direction of integration on request. */
static void decode_times(fz *r, double t0, double t1, double *v, size_t n, int sort)
{
    for (size_t i = 0; i < n; i++) v[i] = fz_within(r, t0, t1);
    if (sort) {
        qsort(v, n, sizeof *v, cmp_asc);
        if (t1 < t0)
            for (size_t i = 0; i < n / 2; i++) { double x = v[i]; v[i] = v[n - 1 - i]; v[n - 1 - i] = x; }
    }
}

static double decode_or(fz *r, double dflt)
{
    return fz_u8(r) & 1 ? fz_dbl(r) : dflt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    problem P;
    memset(&P, 0, sizeof P);

    /* ---- the problem */
    P.kind = (int)fz_pick(&r, RHS_KINDS);
    P.dim = P.kind == RHS_LORENZ || P.kind == RHS_ROBERTSON ? 3 : 1 + fz_pick(&r, MAX_DIM);
    for (size_t i = 0; i < P.dim; i++) { P.a[i] = fz_dbl(&r); P.b[i] = fz_dbl(&r); }
    if (P.kind == RHS_LORENZ) {
        P.par[0] = decode_or(&r, 10.0); P.par[1] = decode_or(&r, 28.0); P.par[2] = decode_or(&r, 8.0 / 3.0);
    } else if (P.kind == RHS_ROBERTSON) {
        P.par[0] = decode_or(&r, 0.04); P.par[1] = decode_or(&r, 3e7); P.par[2] = decode_or(&r, 1e4);
    }
    P.nan_every = fz_u8(&r);
    P.retry_every = fz_u8(&r);
    P.stop_after = fz_u16(&r);
    nde_ode ode = { .dim = P.dim, .f = rhs, .user = &P };

    double t0 = fz_dbl(&r), t1;
    switch (fz_pick(&r, 4)) {
    case 0: t1 = t0 + fz_dbl(&r); break;          /* an interval of a decoded length */
    case 1: t1 = t0 * (1.0 + fz_dbl(&r)); break;  /* relative: tiny intervals far out */
    default: t1 = fz_dbl(&r); break;
    }
    double y0[MAX_DIM], y0_copy[MAX_DIM];
    for (size_t i = 0; i < P.dim; i++) y0[i] = fz_u8(&r) < 240 ? fz_within(&r, -2.0, 2.0) : fz_dbl(&r);
    memcpy(y0_copy, y0, sizeof y0);

    /* ---- options: each field decoded or left at its default */
    nde_options o = NDE_OPTIONS_INIT;
    unsigned mi = fz_pick(&r, fz_ode_method_count() + 1);
    o.method = fz_ode_method_at(mi);               /* past the end: NULL, the default */
    uint32_t present = fz_u32(&r);
    if (present & 1u << 0) o.rtol = fz_dbl(&r);
    if (present & 1u << 1) o.atol = fz_dbl(&r);
    if (present & 1u << 2) {
        unsigned m = fz_pick(&r, 3);
        o.dt0 = m == 0 ? fz_within(&r, 0.0, t1 - t0) : m == 1 ? (t1 - t0) * fz_dbl(&r) : fz_dbl(&r);
    }
    o.max_steps = 1 + fz_u16(&r) % MAX_STEPS;
    if (present & 1u << 3) o.save = fz_u8(&r) & 0x1F;    /* 0x10: an unknown flag */
    if (present & 1u << 4) o.pcoeff = fz_dbl(&r);
    if (present & 1u << 5) o.icoeff = fz_dbl(&r);
    if (present & 1u << 6) o.dcoeff = fz_dbl(&r);
    if (present & 1u << 7) o.safety = fz_dbl(&r);
    if (present & 1u << 8) o.factormin = fz_dbl(&r);
    if (present & 1u << 9) o.factormax = fz_dbl(&r);
    if (present & 1u << 10) o.dtmin = fz_dbl(&r);
    if (present & 1u << 11) o.dtmax = fz_dbl(&r);
    if (present & 1u << 12) o.factormin_accept = fz_dbl(&r);

    double ts[MAX_TS], step_ts[MAX_STEP_TS], jump_ts[MAX_JUMP_TS];
    double ts_copy[MAX_TS], step_copy[MAX_STEP_TS], jump_copy[MAX_JUMP_TS];
    if (present & 1u << 13) {
        o.n_ts = fz_pick(&r, MAX_TS + 1);
        int sort = fz_u8(&r) & 1;
        decode_times(&r, t0, t1, ts, o.n_ts, sort);
        o.ts = (present & 1u << 14) && o.n_ts ? NULL : ts;   /* NULL with n_ts > 0: EINVAL */
    }
    if (present & 1u << 15) {
        o.n_step_ts = fz_pick(&r, MAX_STEP_TS + 1);
        int sort = fz_u8(&r) & 1;
        decode_times(&r, t0, t1, step_ts, o.n_step_ts, sort);
        o.step_ts = step_ts;
    }
    if (present & 1u << 16) {
        o.n_jump_ts = fz_pick(&r, MAX_JUMP_TS + 1);
        int sort = fz_u8(&r) & 1;
        decode_times(&r, t0, t1, jump_ts, o.n_jump_ts, sort);
        o.jump_ts = jump_ts;
    }
    memcpy(ts_copy, ts, sizeof ts);
    memcpy(step_copy, step_ts, sizeof step_ts);
    memcpy(jump_copy, jump_ts, sizeof jump_ts);

    int dirs[MAX_EVENTS], terms[MAX_EVENTS], dirs_copy[MAX_EVENTS], terms_copy[MAX_EVENTS];
    memset(dirs, 0, sizeof dirs);
    memset(terms, 0, sizeof terms);
    if (present & 1u << 17) {
        P.n_events = 1 + fz_pick(&r, MAX_EVENTS);
        for (size_t i = 0; i < P.n_events; i++) {
            P.ev_comp[i] = fz_pick(&r, (unsigned)P.dim + 1);
            P.ev_c[i] = P.ev_comp[i] < P.dim ? fz_within(&r, -2.0, 2.0) : fz_within(&r, t0, t1);
            dirs[i] = (int)fz_pick(&r, 5) - 2;         /* -2 and +2 are invalid */
            terms[i] = (int)fz_pick(&r, 3) == 0;
        }
        o.event = (present & 1u << 18) ? NULL : events;   /* NULL with n_events: EINVAL */
        o.n_events = P.n_events;
        o.event_direction = (present & 1u << 19) ? NULL : dirs;
        o.event_terminal = (present & 1u << 20) ? NULL : terms;
        if (present & 1u << 21) o.event_tol = fz_dbl(&r);
        unsigned f = fz_u8(&r);
        if (f >= 200) { P.ev_fail_at = 1 + (f - 200); P.ev_rc = (f & 1) ? -3 : 2; }
    }
    /* SIZE_MAX-scale n_events (arrays NULL, so nothing is read): must fail cleanly
     * before any callback (issue 7 defect 5 wraps the workspace size today) */
    int huge_events = !PENDING_DEFECT_5 && (present & 1u << 23);
    if (huge_events) {
        static const size_t huge[] = { (size_t)-1, (size_t)1 << 62, (size_t)-1 / 4 + 1, (size_t)1 << 59 };
        o.event = events;
        o.n_events = huge[fz_pick(&r, 4)];
        o.event_direction = NULL;
        o.event_terminal = NULL;
    }
    memcpy(dirs_copy, dirs, sizeof dirs);
    memcpy(terms_copy, terms, sizeof terms);
    if (present & 1u << 22) {
        o.on_step = on_step;
        o.on_step_user = &P;
        P.on_step_stop = fz_u8(&r);
    }
    fz_alloc fa;
    o.allocator = fz_alloc_decode(&r, &fa);
    fz_errbuf eb;
    fz_errbuf_decode(&r, &eb);
    if (eb.given) { o.errbuf = eb.buf; o.errbuf_size = eb.size; }

    if (fz_verbose()) {
        static const char *kinds[] = { "linear", "lorenz", "robertson", "nan", "retry_stop", "blowup" };
        fprintf(stderr, "rhs %s dim %zu t0 %.17g t1 %.17g method %s\n", kinds[P.kind], P.dim, t0, t1,
                o.method ? nde_method_name(o.method) : "(default)");
        for (size_t i = 0; i < P.dim; i++)
            fprintf(stderr, "  y0[%zu] %.17g a %.17g b %.17g\n", i, y0[i], P.a[i], P.b[i]);
        fprintf(stderr, "  par %g %g %g nan_every %u retry_every %u stop_after %u\n", P.par[0], P.par[1],
                P.par[2], P.nan_every, P.retry_every, P.stop_after);
        fprintf(stderr, "  rtol %g atol %g dt0 %.17g max_steps %zu save 0x%x pid %g %g %g safety %g\n"
                "  factormin %g factormax %g dtmin %g dtmax %g factormin_accept %g event_tol %g\n",
                o.rtol, o.atol, o.dt0, o.max_steps, o.save, o.pcoeff, o.icoeff, o.dcoeff, o.safety,
                o.factormin, o.factormax, o.dtmin, o.dtmax, o.factormin_accept, o.event_tol);
        fz_print_times("ts", o.ts, o.n_ts);
        fz_print_times("step_ts", o.step_ts, o.n_step_ts);
        fz_print_times("jump_ts", o.jump_ts, o.n_jump_ts);
        for (size_t i = 0; i < o.n_events; i++)
            fprintf(stderr, "  event %zu: %s%zu - %.17g dir %d terminal %d\n", i,
                    P.ev_comp[i] < P.dim ? "y" : "t", P.ev_comp[i], P.ev_c[i],
                    o.event_direction ? dirs[i] : 0, o.event_terminal ? terms[i] : 1);
    }

    /* PENDING_FINDING_F3: constant steps after a jump re-find their place on the dt0 grid
     * one grid point at a time (|jump - t0| / |dt0| iterations, unbounded by max_steps) */
    if (PENDING_FINDING_F3 && o.rtol == 0.0 && o.dt0 != 0.0)
        for (size_t i = 0; i < o.n_jump_ts; i++)
            if (!(fabs(jump_ts[i] - t0) / fabs(o.dt0) < 1e6)) return 0;

    /* ---- solve */
    nde_solution sol;
    memset(&sol, 0x5A, sizeof sol);        /* previous contents must not matter */
    int rc = nde_ode_solve(&ode, t0, t1, y0, &o, &sol);
    /* PENDING_FINDING_F1: the interpolant of an accepted step can be non-finite (it takes
     * f(t1, y1) unchecked; h f or 3 (y1 - y0) can overflow). Tolerated only where that can
     * happen: a non-finite f, or |f| |t1 - t0| or |y| near the overflow threshold. */
    const int f1 = PENDING_FINDING_F1 && (P.rhs_nonfinite || P.max_dy * fabs(t1 - t0) > 1e300
                                          || !isfinite(t1 - t0) || P.max_y > 1e300);
    if (fz_verbose())
        fprintf(stderr, "nde_ode_solve: %d (%s) n %zu steps %zu acc %zu rej %zu nfe %zu events %zu\n",
                rc, nde_solution_message(&sol), sol.n, sol.stats.steps, sol.stats.accepted,
                sol.stats.rejected, sol.stats.nfe, sol.n_event_hits);

    /* only the implicit families iterate or factor, so only they may fail to converge
     * (seulex: a singular M/h_j - J that persists) */
    const nde_method *used = o.method ? o.method : nde_method_find("tsit5");
    int implicit = nde_method_kind(used) == NDE_METHOD_IMPLICIT_RK || nde_method_kind(used) == NDE_METHOD_ROSENBROCK ||
                   nde_method_kind(used) == NDE_METHOD_MULTISTEP || nde_method_kind(used) == NDE_METHOD_SWITCHING ||
                   strcmp(nde_method_name(used), "seulex") == 0;
    FZ_CHECK(fz_status_known(rc) && (rc != NDE_ENONLINEAR || implicit), "nde_ode_solve returned %d", rc);
    FZ_CHECK(sol.status == rc, "sol.status %d != return %d", sol.status, rc);
    const char *msg = nde_solution_message(&sol);
    FZ_CHECK(msg && memchr(msg, '\0', NDE_MESSAGE_MAX), "message not terminated");
    if (rc < 0) FZ_CHECK(msg[0] != '\0', "error %d (%s) without a message", rc, nde_status_str(rc));
    if (rc == NDE_OK) FZ_CHECK(msg[0] == '\0', "NDE_OK with message '%s'", msg);
    fz_errbuf_check(&eb, rc, "nde_ode_solve");
    FZ_CHECK(memcmp(y0, y0_copy, sizeof y0) == 0, "y0 was written (rc %d)", rc);
    FZ_CHECK(memcmp(ts, ts_copy, sizeof ts) == 0 && memcmp(step_ts, step_copy, sizeof step_ts) == 0
             && memcmp(jump_ts, jump_copy, sizeof jump_ts) == 0, "a time array was written");
    FZ_CHECK(memcmp(dirs, dirs_copy, sizeof dirs) == 0 && memcmp(terms, terms_copy, sizeof terms) == 0,
             "an event array was written");
    const nde_stats *st = &sol.stats;
    /* a step cut off by a failing callback was attempted but neither accepted nor rejected */
    FZ_CHECK(st->steps == st->accepted + st->rejected || (rc < 0 && st->steps == st->accepted + st->rejected + 1),
             "steps %zu vs accepted %zu + rejected %zu (rc %d)", st->steps, st->accepted, st->rejected, rc);
    FZ_CHECK(st->steps <= o.max_steps, "steps %zu > max_steps %zu", st->steps, o.max_steps);
    if (o.on_step && rc != NDE_EINVAL)
        FZ_CHECK(P.on_step_calls == st->steps || P.on_step_calls + 1 == st->steps,
                 "on_step called %u times for %zu steps", P.on_step_calls, st->steps);
    if (rc == NDE_EINVAL) FZ_CHECK(P.calls == 0 && P.ev_calls == 0, "EINVAL after %u rhs calls", P.calls);
    if (huge_events) FZ_CHECK((rc == NDE_EINVAL || rc == NDE_ENOMEM) && P.ev_calls == 0,
                              "n_events = %zu: rc %d after %u event calls", o.n_events, rc, P.ev_calls);

    /* results: finite, in order, inside [t0, t1]; the documented number of points */
    if (rc == NDE_OK || rc == NDE_EVENT) {
        double lo = fmin(t0, t1), hi = fmax(t0, t1), dir = t1 > t0 ? 1.0 : -1.0;
        /* a terminal event before every ts leaves no point saved (documented) */
        FZ_CHECK((sol.n >= 1 || rc == NDE_EVENT) && sol.t && sol.y && sol.dim == P.dim, "n %zu t %p y %p dim %zu",
                 sol.n, (void *)sol.t, (void *)sol.y, sol.dim);
        FZ_CHECK(fz_all_finite(sol.t, sol.n), "non-finite saved times with status %d", rc);
        /* ts and event points come from the interpolant (PENDING_FINDING_F1) */
        if (!(f1 && (o.n_ts || sol.n_event_hits)))
            FZ_CHECK(fz_all_finite(sol.y, sol.n * P.dim), "non-finite saved values with status %d", rc);
        for (size_t i = 0; i < sol.n; i++) {
            FZ_CHECK(sol.t[i] >= lo && sol.t[i] <= hi, "t[%zu] = %.17g outside [%.17g, %.17g]",
                     i, sol.t[i], lo, hi);
            /* PENDING_FINDING_F2: a ts within the 100-ULP window after a step end clipped
             * before a jump is saved at its own time before that step end */
            double back = PENDING_FINDING_F2 ? 100.0 * fmax(fabs(t0), fabs(t1)) * DBL_EPSILON : 0.0;
            if (i) FZ_CHECK(dir * (sol.t[i] - sol.t[i - 1]) >= -back, "t[%zu] = %.17g after %.17g",
                            i, sol.t[i], sol.t[i - 1]);
        }
        if (o.save & NDE_SAVE_T0) FZ_CHECK(sol.t[0] == t0 && memcmp(sol.y, y0, P.dim * sizeof *y0) == 0,
                                           "first point is not (t0, y0)");
        for (size_t i = 0; i < sol.n_event_hits; i++) {
            FZ_CHECK(sol.event_which[i] >= 0 && (size_t)sol.event_which[i] < P.n_events,
                     "event_which[%zu] = %d", i, sol.event_which[i]);
            FZ_CHECK(isfinite(sol.event_t[i]) && sol.event_t[i] >= lo && sol.event_t[i] <= hi,
                     "event_t[%zu] = %.17g", i, sol.event_t[i]);
            FZ_CHECK(f1 || fz_all_finite(sol.event_y + i * P.dim, P.dim), "event_y[%zu] not finite", i);
        }
    }
    if (rc == NDE_OK) {
        FZ_CHECK(sol.n_event_hits == 0 || o.event_terminal, "NDE_OK after a terminal event");
        if (!(o.save & NDE_SAVE_STEPS)) {
            size_t want = o.n_ts + ((o.save & NDE_SAVE_T0) ? 1 : 0);
            if (o.n_ts == 0) want++;
            else if (o.save & NDE_SAVE_T1) {
                double last = fmin(fmax(ts[o.n_ts - 1], fmin(t0, t1)), fmax(t0, t1));
                want += last != t1;
            }
            FZ_CHECK(sol.n == want, "saved %zu points, the options ask for %zu", sol.n, want);
        }
        if (o.n_ts == 0 || (o.save & (NDE_SAVE_T1 | NDE_SAVE_STEPS)))
            FZ_CHECK(sol.t[sol.n - 1] == t1, "last saved t %.17g is not t1 %.17g", sol.t[sol.n - 1], t1);
    }

    /* ---- dense output at decoded times */
    unsigned n_eval = fz_pick(&r, 6);
    for (unsigned k = 0; k < n_eval; k++) {
        double t = fz_within(&r, t0, t1);
        double y[MAX_DIM + 2];
        for (size_t i = 0; i < MAX_DIM + 2; i++) y[i] = -7.25;
        int erc = nde_solution_eval(&sol, t, y);
        if (fz_verbose()) fprintf(stderr, "eval(%.17g): %d y[0] %.17g\n", t, erc, y[0]);
        FZ_CHECK(erc == NDE_OK || erc == NDE_EINVAL, "nde_solution_eval returned %d", erc);
        for (size_t i = erc == NDE_OK ? P.dim : 0; i < MAX_DIM + 2; i++)
            FZ_CHECK(y[i] == -7.25, "nde_solution_eval (rc %d) wrote y[%zu]", erc, i);
        int dense = (o.save & NDE_SAVE_DENSE) != 0;
        if (!dense) FZ_CHECK(erc == NDE_EINVAL, "dense output without NDE_SAVE_DENSE");
        if (rc == NDE_OK && dense && t >= fmin(t0, t1) && t <= fmax(t0, t1))
            FZ_CHECK(erc == NDE_OK, "eval at t = %.17g inside [t0, t1] of a solved problem: %d", t, erc);
        if (rc == NDE_OK && erc == NDE_OK && !f1)
            FZ_CHECK(fz_all_finite(y, P.dim), "dense output not finite at t = %.17g", t);
    }
    FZ_CHECK(nde_solution_eval(&sol, t1, NULL) == NDE_EINVAL, "eval with y NULL");

    nde_solution_free(&sol);
    nde_solution_free(&sol);   /* twice: the first zeroed it */
    FZ_CHECK(fa.live == 0, "%zu blocks leaked through the allocator", fa.live);
    return 0;
}
