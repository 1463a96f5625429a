/* Size arithmetic: SIZE_MAX-scale counts (SIZE_MAX, SIZE_MAX/8 + 2, 2^62, ...) given to
 * every public constructor and solve must end in a clean error (NDE_EINVAL or
 * NDE_ENOMEM, or NULL), with a message where the API has one, no crash, no callback
 * called and nothing written to the caller's buffers.
 *
 * The caller's arrays cannot have SIZE_MAX entries, so where a function reads an array
 * of the given count during validation, the array holds an invalid entry early (a NaN,
 * a beta outside (0, 1)): an implementation that checks the size first fails on the
 * size, one that validates first fails on that entry, and neither may read further.
 * Where the API takes an allocator, it refuses blocks above 1 GiB, so a huge but
 * correctly computed size fails as NDE_ENOMEM without touching the machine's memory.
 *
 * Cases that fail today because of an issue-7 defect owned by another change are
 * guarded by PENDING_DEFECT_n (tests/pending_defects.h); set it to 0 after the fix. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "pending_defects.h"

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan a huge malloc returns NULL, as the C library's does, instead of aborting:
 * the library must then report NDE_ENOMEM. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

static const size_t huge_counts[] = {
    (size_t)-1, (size_t)-1 / 2 + 1, (size_t)-1 / 8 + 2, (size_t)1 << 62, (size_t)1 << 61,
    (size_t)-1 / 16, (size_t)-1 / 32, (size_t)1 << 40,
};
#define N_HUGE (sizeof huge_counts / sizeof huge_counts[0])

/* An allocator that refuses blocks above 1 GiB and counts what it hands out. */
typedef struct limit_alloc { nde_allocator a; size_t live, refused; } limit_alloc;
#define LIMIT_BYTES ((size_t)1 << 30)
static void *la_alloc(size_t size, void *user)
{
    limit_alloc *la = user;
    if (size > LIMIT_BYTES) { la->refused++; return NULL; }
    void *p = malloc(size);
    if (p) la->live++;
    return p;
}
static void *la_realloc(void *p, size_t old_size, size_t new_size, void *user)
{
    limit_alloc *la = user;
    (void)old_size;
    if (new_size > LIMIT_BYTES) { la->refused++; return NULL; }
    void *q = realloc(p, new_size);
    if (q && !p) la->live++;
    return q;
}
static void la_free(void *p, size_t size, void *user)
{
    limit_alloc *la = user;
    (void)size;
    if (!p) return;
    la->live--;
    free(p);
}
static void limit_alloc_init(limit_alloc *la)
{
    memset(la, 0, sizeof *la);
    la->a.alloc = la_alloc;
    la->a.realloc = la_realloc;
    la->a.free = la_free;
    la->a.user = la;
}

static int clean_error(int rc) { return rc == NDE_EINVAL || rc == NDE_ENOMEM; }

/* ---- ODE solve ----------------------------------------------------------------- */

typedef struct calls { size_t rhs, event; } calls;
static int rhs(double t, const double *y, double *dy, void *user)
{
    (void)t;
    ((calls *)user)->rhs++;
    dy[0] = -y[0];
    return 0;
}
static int event_fn(double t, const double *y, double *g, void *user)
{
    (void)t; (void)y; (void)g;   /* writes nothing: a correct solve never calls it */
    ((calls *)user)->event++;
    return 0;
}

/* Solves y' = -y on [0, 1] with opts and checks for a clean failure. */
static void expect_solve_fails(size_t dim, const double *y0, size_t n_y0, nde_options *o,
                               calls *c, const char *what, size_t count)
{
    double copy[4];
    memcpy(copy, y0, n_y0 * sizeof *y0);
    limit_alloc la;
    limit_alloc_init(&la);
    o->allocator = &la.a;
    char errbuf[128];
    memset(errbuf, 0, sizeof errbuf);
    o->errbuf = errbuf;
    o->errbuf_size = sizeof errbuf;
    nde_ode ode = { dim, rhs, NULL, NULL, 0, c, NULL, NULL, NULL };
    nde_solution sol;
    int rc = nde_ode_solve(&ode, 0.0, 1.0, y0, o, &sol);
    CHECK_MSG(clean_error(rc), "%s = %zu: nde_ode_solve returned %d (%s)", what, count, rc,
              nde_solution_message(&sol));
    CHECK_MSG(nde_solution_message(&sol)[0] != '\0', "%s = %zu: no message", what, count);
    CHECK_MSG(errbuf[0] != '\0', "%s = %zu: errbuf empty", what, count);
    CHECK_MSG(c->rhs == 0 && c->event == 0, "%s = %zu: %zu rhs and %zu event calls", what, count,
              c->rhs, c->event);
    CHECK_MSG(memcmp(copy, y0, n_y0 * sizeof *y0) == 0, "%s = %zu: y0 written", what, count);
    nde_solution_free(&sol);
    CHECK_MSG(la.live == 0, "%s = %zu: %zu blocks leaked", what, count, la.live);
}

/* dim: y0 holds a NaN at index 1, so a validating read stops there. */
static void test_ode_solve_huge_dim(void)
{
    const double y0[2] = { 1.0, NAN };
    for (size_t i = 0; i < N_HUGE; i++) {
        calls c = { 0, 0 };
        nde_options o = NDE_OPTIONS_INIT;
        expect_solve_fails(huge_counts[i], y0, 2, &o, &c, "dim", huge_counts[i]);
    }
}

/* n_ts, n_step_ts, n_jump_ts: each array holds a NaN at index 1. */
static void test_ode_solve_huge_time_arrays(void)
{
    const double y0[1] = { 1.0 };
    const double times[2] = { 0.5, NAN };
    for (size_t i = 0; i < N_HUGE; i++) {
        size_t n = huge_counts[i];
        for (int which = 0; which < 3; which++) {
            calls c = { 0, 0 };
            nde_options o = NDE_OPTIONS_INIT;
            if (which == 0) { o.ts = times; o.n_ts = n; }
            if (which == 1) { o.step_ts = times; o.n_step_ts = n; }
            if (which == 2) { o.jump_ts = times; o.n_jump_ts = n; }
            expect_solve_fails(1, y0, 1, &o, &c, which == 0 ? "n_ts" : which == 1 ? "n_step_ts" : "n_jump_ts", n);
        }
    }
}

/* n_events with event_direction and event_terminal NULL: no array is read, the
 * workspace 4 n_events + ... must not wrap (issue 7 defect 5). */
static void test_ode_solve_huge_n_events(void)
{
    const double y0[1] = { 1.0 };
    for (size_t i = 0; i < N_HUGE; i++) {
        size_t n = huge_counts[i];
        /* (4 n + a few dozen) doubles wrap for n above about 2^59 */
        if (PENDING_DEFECT_5 && n > ((size_t)-1 / sizeof(double) - 1024) / 4) {
            printf("     n_events = %zu skipped: PENDING_DEFECT_5\n", n);
            continue;
        }
        calls c = { 0, 0 };
        nde_options o = NDE_OPTIONS_INIT;
        o.event = event_fn;
        o.n_events = n;
        expect_solve_fails(1, y0, 1, &o, &c, "n_events", n);
    }
}

/* ---- stepper ------------------------------------------------------------------- */

static void test_stepper_create_huge_dim(void)
{
    for (size_t m = 0; m < nde_method_count(); m++) {
        for (size_t i = 0; i < N_HUGE; i++) {
            limit_alloc la;
            limit_alloc_init(&la);
            nde_stepper *s = nde_stepper_create(nde_method_at(m), huge_counts[i], &la.a);
            CHECK_MSG(s == NULL, "%s: stepper_create(dim = %zu) succeeded",
                      nde_method_name(nde_method_at(m)), huge_counts[i]);
            nde_stepper_free(s);
            CHECK_EQ_INT(la.live, 0);
        }
    }
}

/* ---- schedules --------------------------------------------------------------------- */

/* A table whose 4th entry is invalid: a constructor reading it stops there. n * 8
 * wraps for n = SIZE_MAX/8 + 2 (to 8 bytes) and n = 2^61 + 2 (to 16) while the first
 * three entries are written (issue 7 defect 3); SIZE_MAX and 2^62 wrap to sizes that
 * fail to allocate. */
static void test_schedule_tables_huge_n(void)
{
    const double betas[4] = { 0.1, 0.2, 0.3, 2.0 }, acp[4] = { 0.9, 0.8, 0.7, 2.0 };
    const size_t wraps_small[] = { ((size_t)1 << 61) + 2, ((size_t)1 << 61) + 3 };
    for (size_t i = 0; i < N_HUGE + 2; i++) {
        size_t n = i < N_HUGE ? huge_counts[i] : wraps_small[i - N_HUGE];
        size_t bytes = n * sizeof(double);   /* what the unchecked product wraps to */
        int wraps = n > (size_t)-1 / sizeof(double) && bytes != 0 && bytes < 4 * sizeof(double);
        if (PENDING_DEFECT_3 && wraps) { printf("     n = %zu skipped: PENDING_DEFECT_3\n", n); continue; }
        nde_schedule *s = nde_schedule_vp_discrete(betas, n);
        CHECK_MSG(s == NULL, "vp_discrete(n = %zu) succeeded", n);
        nde_schedule_free(s);
        s = nde_schedule_vp_discrete_alphas_cumprod(acp, n);
        CHECK_MSG(s == NULL, "vp_discrete_alphas_cumprod(n = %zu) succeeded", n);
        nde_schedule_free(s);
    }
}

/* ---- the exact mixture -------------------------------------------------------------- */

/* k or dim huge: the arrays hold an invalid entry (weight -1, std -1) at index 1, so
 * the mixture check stops there; nothing is written. */
static void test_gmm_huge_k_and_dim(void)
{
    const double w[2] = { 1.0, -1.0 }, mu[2] = { 0.0, 0.0 }, sd[2] = { 0.5, -1.0 };
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    for (size_t i = 0; i < N_HUGE; i++) {
        for (int which = 0; which < 2; which++) {
            size_t n = huge_counts[i];
            nde_gmm g = { which ? n : 1, which ? 1 : n, w, mu, sd };
            double x[2] = { 0.25, -0.5 }, out[4] = { 7, 7, 7, 7 };
            int labels[2] = { 7, 7 };
            nde_gmm_model gm = { &g, s, NDE_PRED_EPS, -1, 0.0 };
            CHECK(nde_gmm_predict(&g, -1, 0.8, 0.6, x, 1, out, out + 2) == NDE_EINVAL);
            CHECK(nde_gmm_log_density(&g, 0.8, 0.6, x, 1, out) == NDE_EINVAL);
            CHECK(nde_gmm_classify(&g, 0.8, 0.6, x, 1, labels) == NDE_EINVAL);
            CHECK(nde_gmm_sample(&g, 0.8, 0.6, 1, 1, out, labels) == NDE_EINVAL);
            CHECK(nde_gmm_denoiser(x, 0.5, 1, g.dim, out, &gm) == NDE_EINVAL);
            CHECK(nde_gmm_flow(&g, s, 1.0, 0.5, 4, x, 1) == NDE_EINVAL);
            CHECK(nde_gmm_flow_exact(&g, s, 1.0, 0.5, x, 1) == NDE_EINVAL);
            CHECK_MSG(out[0] == 7 && out[1] == 7 && out[2] == 7 && out[3] == 7 && labels[0] == 7
                      && x[0] == 0.25 && x[1] == -0.5, "%s = %zu: an output was written",
                      which ? "dim" : "k", n);
        }
    }
    nde_schedule_free(s);
}

/* ---- samplers --------------------------------------------------------------------- */

static size_t model_calls;
static int counting_model(const double *x, double t, size_t batch, size_t dim, double *out, void *user)
{
    (void)x; (void)t; (void)batch; (void)dim; (void)out; (void)user;
    model_calls++;
    return 1;
}

static int sample_with(nde_sampler_options *o, double *x, size_t nx, size_t batch, size_t dim,
                       limit_alloc *la, char *errbuf, size_t errsz)
{
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    double copy[8];
    memcpy(copy, x, nx * sizeof *x);
    limit_alloc_init(la);
    o->allocator = &la->a;
    o->errbuf = errbuf;
    o->errbuf_size = errsz;
    errbuf[0] = '\0';
    model_calls = 0;
    int rc = nde_diffusion_sample(s, counting_model, NDE_PRED_EPS, NULL, o, x, batch, dim, NULL);
    CHECK_MSG(memcmp(copy, x, nx * sizeof *x) == 0, "batch %zu dim %zu: x written", batch, dim);
    CHECK_MSG(model_calls == 0, "batch %zu dim %zu: %zu model calls", batch, dim, model_calls);
    CHECK_MSG(la->live == 0, "batch %zu dim %zu: %zu blocks leaked", batch, dim, la->live);
    nde_schedule_free(s);
    return rc;
}

/* batch x dim beyond memory; x holds a NaN at index 1 (a validating read stops). */
static void test_sampler_huge_batch_dim(void)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        for (int which = 0; which < 3; which++) {
            size_t n = huge_counts[i];
            size_t batch = which == 0 ? n : which == 1 ? 1 : n, dim = which == 0 ? 1 : which == 1 ? n : 4;
            double x[2] = { 0.5, NAN };
            char errbuf[160];
            limit_alloc la;
            nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
            int rc = sample_with(&o, x, 2, batch, dim, &la, errbuf, sizeof errbuf);
            CHECK_MSG(clean_error(rc), "batch %zu dim %zu: returned %d", batch, dim, rc);
            CHECK_MSG(errbuf[0] != '\0', "batch %zu dim %zu: no message", batch, dim);
        }
    }
    double x[2] = { 0.5, NAN };   /* 2^32 x 2^32 overflows exactly */
    char errbuf[160];
    limit_alloc la;
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    int rc = sample_with(&o, x, 2, (size_t)1 << 32, (size_t)1 << 32, &la, errbuf, sizeof errbuf);
    CHECK(clean_error(rc) && errbuf[0] != '\0');
}

/* The largest accepted step count: the (steps + 1)-time grid (16 GiB) must fail to
 * allocate cleanly, and a too-small ts buffer must be refused unwritten. */
static void test_sampler_huge_steps(void)
{
    double x[4] = { 0.1, -0.2, 0.3, 0.4 };
    char errbuf[160];
    limit_alloc la;
    nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
    o.steps = INT_MAX - 2;
    int rc = sample_with(&o, x, 4, 2, 2, &la, errbuf, sizeof errbuf);
    CHECK_MSG(rc == NDE_ENOMEM || rc == NDE_EINVAL, "steps INT_MAX - 2: returned %d", rc);
    CHECK(errbuf[0] != '\0');

    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    double ts[12];
    for (size_t i = 0; i < 12; i++) ts[i] = -1.0;
    size_t n_out = 99;
    o.allocator = NULL;
    rc = nde_diffusion_timesteps(s, &o, ts, 12, &n_out);
    CHECK_EQ_INT(rc, NDE_EINVAL);
    CHECK(errbuf[0] != '\0' && n_out == 99);
    for (size_t i = 0; i < 12; i++) CHECK(ts[i] == -1.0);
    nde_schedule_free(s);
}

/* Custom grids whose n_timesteps exceeds every step count: refused before reading. */
static void test_sampler_huge_custom_grid(void)
{
    const double grid[2] = { 1.0, 0.5 };
    const size_t counts[] = { (size_t)-1, (size_t)1 << 62, (size_t)INT_MAX, (size_t)INT_MAX + 1u };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        double x[2] = { 0.5, 0.25 };
        char errbuf[160];
        limit_alloc la;
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        o.spacing = "custom";
        o.steps = 0;
        o.timesteps = grid;
        o.n_timesteps = counts[i];
        int rc = sample_with(&o, x, 2, 1, 2, &la, errbuf, sizeof errbuf);
        CHECK_MSG(rc == NDE_EINVAL, "n_timesteps = %zu: returned %d", counts[i], rc);
        CHECK(errbuf[0] != '\0');
        nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
        int order = -1;
        size_t nfe = 0;
        CHECK_EQ_INT(nde_diffusion_plan(s, &o, &order, &nfe), NDE_EINVAL);
        CHECK(order == -1 && nfe == 0);
        nde_schedule_free(s);
    }
}

/* The plan of the two-stage ancestral samplers at the largest step count must not cost
 * minutes (issue 7 defect 7): either refused or computed in bounded time. */
static void test_sampler_plan_huge_steps(void)
{
    if (PENDING_DEFECT_7) { printf("     skipped: PENDING_DEFECT_7\n"); return; }
    const char *names[] = { "dpm2_ancestral", "dpmpp_2s_ancestral", "dpmsolver++", "heun" };
    nde_schedule *s = nde_schedule_vp_linear(0.1, 20.0);
    for (size_t i = 0; i < 4; i++) {
        nde_sampler_options o = NDE_SAMPLER_OPTIONS_INIT;
        o.sampler = names[i];
        o.steps = INT_MAX - 2;
        o.eta = 1.5;
        int order = 0;
        size_t nfe = 0;
        clock_t c0 = clock();
        int rc = nde_diffusion_plan(s, &o, &order, &nfe);
        double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
        CHECK_MSG(rc == NDE_OK || rc == NDE_EINVAL, "%s: plan returned %d", names[i], rc);
        CHECK_MSG(secs < 5.0, "%s: plan of INT_MAX - 2 steps took %.1f s", names[i], secs);
        if (rc == NDE_OK) CHECK_MSG(nfe >= (size_t)(INT_MAX - 2), "%s: nfe %zu", names[i], nfe);
    }
    nde_schedule_free(s);
}

int main(void)
{
    RUN(test_ode_solve_huge_dim);
    RUN(test_ode_solve_huge_time_arrays);
    RUN(test_ode_solve_huge_n_events);
    RUN(test_stepper_create_huge_dim);
    RUN(test_schedule_tables_huge_n);
    RUN(test_gmm_huge_k_and_dim);
    RUN(test_sampler_huge_batch_dim);
    RUN(test_sampler_huge_steps);
    RUN(test_sampler_huge_custom_grid);
    RUN(test_sampler_plan_huge_steps);
    return test_summary();
}
