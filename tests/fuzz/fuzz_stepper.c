/* libFuzzer harness: the step-level API (nde_stepper_create / step / dense / nfe /
 * free) driven by a decoded sequence of operations.
 *
 * The input picks a method (by index, or NULL), a dimension (0, small, or SIZE_MAX-
 * scale), an allocator that may fail, a right-hand side (constant, linear, one that
 * returns "retry" or "stop" at a decoded call, one writing NaN) and then up to 24
 * operations: steps with decoded t, h (0, NaN, huge, either sign), fsal_valid, err or
 * not, NULL arguments; dense evaluations at decoded theta (inside and outside [0, 1]).
 * Checked: documented status codes only; on error y1, err and the dense output are
 * untouched; nfe never decreases and counts every call of f; dense(0) is y0 exactly;
 * a constant right-hand side gives y1 = y + h c (every method is consistent).
 * Finiteness of y1 is not checked: the step API has no non-finite detection (the
 * caller's loop decides), by contract. */
#include "fuzz.h"

#define MAX_DIM 6
#define MAX_OPS 24

enum { F_CONST, F_LINEAR, F_RETRY, F_STOP, F_NAN, F_KINDS };

typedef struct rhs_state {
    int kind;
    size_t dim;
    double c[MAX_DIM];
    unsigned calls, at;   /* F_RETRY / F_STOP / F_NAN act at call `at` */
} rhs_state;

static int rhs(double t, const double *y, double *dy, void *user)
{
    rhs_state *R = user;
    (void)t;
    R->calls++;
    for (size_t i = 0; i < R->dim; i++) dy[i] = R->kind == F_CONST ? R->c[i] : R->c[i] * y[i];
    if (R->calls == R->at) {
        if (R->kind == F_RETRY) return 3;
        if (R->kind == F_STOP) return -2;
        if (R->kind == F_NAN) dy[0] = NAN;
    }
    return 0;
}

static const size_t huge_dims[] = { (size_t)-1, (size_t)-1 / 8 + 2, (size_t)1 << 62,
                                    (size_t)-1 / 16, (size_t)1 << 40 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    const nde_method *m = fz_ode_method_at(fz_pick(&r, fz_ode_method_count() + 1));
    unsigned dm = fz_u8(&r);
    size_t dim = dm < 240 ? dm % (MAX_DIM + 1) : huge_dims[dm % 5];
    fz_alloc fa;
    const nde_allocator *al = fz_alloc_decode(&r, &fa);

    nde_stepper *s = nde_stepper_create(m, dim, al);
    /* nde_stepper is the explicit RK step: other families' methods are refused */
    if (!m || nde_method_kind(m) != NDE_METHOD_EXPLICIT_RK || dim == 0 || dim > MAX_DIM) {
        FZ_CHECK(s == NULL, "create(%s, dim %zu) did not fail", m ? nde_method_name(m) : "NULL", dim);
        FZ_CHECK(fa.live == 0, "a failed create leaked %zu blocks", fa.live);
        return 0;
    }
    if (!s) {   /* only an allocation failure may stop a valid create */
        FZ_CHECK(al && fa.fail_at, "create(%s, %zu) failed without an allocation failure",
                 nde_method_name(m), dim);
        FZ_CHECK(fa.live == 0, "a failed create leaked %zu blocks", fa.live);
        return 0;
    }
    FZ_CHECK(nde_stepper_nfe(s) == 0, "new stepper has nfe %zu", nde_stepper_nfe(s));
    if (fz_verbose()) fprintf(stderr, "stepper %s dim %zu\n", nde_method_name(m), dim);

    rhs_state R;
    memset(&R, 0, sizeof R);
    R.kind = (int)fz_pick(&r, F_KINDS);
    R.dim = dim;
    R.at = fz_u8(&r);
    for (size_t i = 0; i < dim; i++) R.c[i] = fz_u8(&r) < 224 ? fz_within(&r, -3.0, 3.0) : fz_dbl(&r);

    double y[MAX_DIM], y0[MAX_DIM];
    for (size_t i = 0; i < dim; i++) y[i] = fz_within(&r, -2.0, 2.0);
    double t = fz_u8(&r) < 200 ? 0.0 : fz_dbl(&r);
    int have_step = 0;
    size_t nfe_prev = 0;
    double last_y0[MAX_DIM];

    unsigned nops = 1 + fz_pick(&r, MAX_OPS);
    if (fz_verbose()) fprintf(stderr, "rhs kind %d at %u, %u ops\n", R.kind, R.at, nops);
    for (unsigned op = 0; op < nops; op++) {
        unsigned kind = fz_pick(&r, 8);
        unsigned calls_before = R.calls;
        if (kind < 5) {                                   /* a step */
            double h = kind < 3 ? fz_within(&r, -0.5, 0.5) : fz_dbl(&r);
            unsigned flags = fz_u8(&r);
            int fsal = flags & 1, want_err = flags & 2, null_arg = (flags >> 2) % 16;
            double y1[MAX_DIM + 1], err[MAX_DIM + 1];
            for (size_t i = 0; i <= MAX_DIM; i++) y1[i] = err[i] = 123.5;
            memcpy(y0, y, sizeof y);
            int rc = nde_stepper_step(null_arg == 1 ? NULL : s, null_arg == 2 ? NULL : rhs, &R, t, h,
                                      null_arg == 3 ? NULL : y, null_arg == 4 ? NULL : y1,
                                      want_err ? err : NULL, fsal);
            if (fz_verbose()) {
                fprintf(stderr, "step(t %.17g, h %.17g, fsal %d, err %d, null %d) = %d:", t, h, fsal,
                        want_err != 0, null_arg, rc);
                for (size_t i = 0; i < dim; i++) fprintf(stderr, " y %.17g c %.17g y1 %.17g;", y[i], R.c[i], y1[i]);
                fputc('\n', stderr);
            }
            FZ_CHECK(rc == NDE_OK || rc == NDE_EINVAL || rc == NDE_ECALLBACK || rc == 3,
                     "step returned %d", rc);
            FZ_CHECK(memcmp(y, y0, sizeof y) == 0, "step wrote its input y");
            int bad_arg = (null_arg >= 1 && null_arg <= 4) || !isfinite(t) || !isfinite(h) || h == 0.0;
            if (bad_arg) FZ_CHECK(rc == NDE_EINVAL && R.calls == calls_before,
                                  "step with a bad argument: rc %d after %u calls", rc, R.calls - calls_before);
            if (rc == NDE_ECALLBACK) FZ_CHECK(R.kind == F_STOP, "ECALLBACK without a stop");
            if (rc == 3) FZ_CHECK(R.kind == F_RETRY, "retry code without a retry");
            if (rc != NDE_OK) {
                for (size_t i = 0; i <= MAX_DIM; i++)
                    FZ_CHECK(y1[i] == 123.5 && err[i] == 123.5, "failed step (rc %d) wrote y1/err[%zu]", rc, i);
                if (rc != NDE_EINVAL) have_step = 0;   /* the failed step invalidated the old one */
                goto next;
            }
            FZ_CHECK(y1[dim] == 123.5 && err[dim] == 123.5, "step wrote past dim");
            if (!want_err) FZ_CHECK(err[0] == 123.5, "err written although NULL was passed");
            if (R.kind == F_CONST && isfinite(t + h)) {
                /* sum_i b_i = 1 in rounding: Verner's 6(5) and 8(7) pairs have weights up to
                 * ~100 in size (vern6: b_7 = -73, b_8 = 71), so their sums carry ~100x the
                 * rounding of the others */
                const char *mn = nde_method_name(m);
                double slack = (strcmp(mn, "vern6") == 0 || strcmp(mn, "vern8") == 0) ? 2048.0 : 64.0;
                for (size_t i = 0; i < dim; i++) {
                    double exact = y[i] + h * R.c[i];
                    double scale = fabs(y[i]) + fabs(h * R.c[i]);
                    /* h b_i exact enough; and |f| well below the overflow threshold: stage
                     * inputs are y + h (sum_j a_ij k_j), whose inner sum (|a_ij| up to ~100)
                     * overflows for |f| near 1e306 whatever h is, and loses bits for a
                     * subnormal f (the weights multiply f before h does) */
                    if (scale < 1e250 && fabs(h) < 1e250 && fabs(h) > 1e-290 && fabs(R.c[i]) < 1e300 &&
                        (R.c[i] == 0.0 || fabs(R.c[i]) > 1e-290))
                        FZ_CHECK(fabs(y1[i] - exact) <= slack * DBL_EPSILON * scale + DBL_MIN,
                                 "%s: constant f, y1[%zu] = %.17g, y + h c = %.17g", nde_method_name(m),
                                 i, y1[i], exact);
                }
            }
            memcpy(last_y0, y, sizeof y);
            have_step = 1;
            if (flags & 0x40) { memcpy(y, y1, sizeof y); t += h; }   /* continue from the end */
        } else if (kind < 7) {                            /* dense output */
            unsigned sel = fz_u8(&r);
            double theta = sel < 64 ? 0.0 : sel < 128 ? 1.0 : sel < 224 ? fz_within(&r, 0.0, 1.0) : fz_dbl(&r);
            double out[MAX_DIM + 1];
            for (size_t i = 0; i <= MAX_DIM; i++) out[i] = -55.0;
            int null_arg = fz_u8(&r) % 16;
            int rc = nde_stepper_dense(null_arg == 1 ? NULL : s, null_arg == 2 ? NULL : rhs, &R, theta,
                                       null_arg == 3 ? NULL : out);
            if (fz_verbose()) fprintf(stderr, "dense(theta %.17g, null %d) = %d: y[0] %.17g\n", theta, null_arg, rc, out[0]);
            FZ_CHECK(rc == NDE_OK || rc == NDE_EINVAL || rc == NDE_ECALLBACK || rc == 3,
                     "dense returned %d", rc);
            int bad = (null_arg >= 1 && null_arg <= 3) || !have_step || !(theta >= 0.0 && theta <= 1.0);
            if (bad) FZ_CHECK(rc == NDE_EINVAL, "dense with a bad argument (theta %g, step %d): %d",
                              theta, have_step, rc);
            if (rc != NDE_OK) {
                for (size_t i = 0; i <= MAX_DIM; i++)
                    FZ_CHECK(out[i] == -55.0, "failed dense (rc %d) wrote y[%zu]", rc, i);
                goto next;
            }
            FZ_CHECK(out[dim] == -55.0, "dense wrote past dim");
            if (theta == 0.0)
                for (size_t i = 0; i < dim; i++)
                    FZ_CHECK(!isfinite(out[i]) || out[i] == last_y0[i],
                             "%s: dense(0)[%zu] = %.17g, step started at %.17g", nde_method_name(m), i,
                             out[i], last_y0[i]);
        } else {                                          /* jump in time / state by hand */
            t = fz_u8(&r) & 1 ? fz_dbl(&r) : t;
            for (size_t i = 0; i < dim; i++) y[i] = fz_within(&r, -2.0, 2.0);
        }
    next:;
        size_t nfe = nde_stepper_nfe(s);
        FZ_CHECK(nfe >= nfe_prev, "nfe went down from %zu to %zu", nfe_prev, nfe);
        FZ_CHECK(nfe - nfe_prev == R.calls - calls_before, "nfe grew by %zu for %u calls of f",
                 nfe - nfe_prev, R.calls - calls_before);
        nfe_prev = nfe;
    }
    FZ_CHECK(nde_stepper_nfe(NULL) == 0, "nfe(NULL)");
    nde_stepper_free(s);
    nde_stepper_free(NULL);
    FZ_CHECK(fa.live == 0, "free left %zu blocks", fa.live);
    return 0;
}
