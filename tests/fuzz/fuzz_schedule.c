/* libFuzzer harness: the noise-schedule constructors and accessors.
 *
 * The input picks a constructor (vp_linear, vp_cosine, vp_discrete from betas,
 * vp_discrete_alphas_cumprod, ve, edm, or none: a NULL schedule) with decoded
 * parameters and tables (DDPM-like linear betas, raw decoded values, tiny betas that
 * barely move log alpha, cumulative products or raw values), then queries every
 * accessor at decoded times and log-SNRs (inside the domain, outside, NaN, Inf).
 * Checked: invalid parameters give NULL and valid continuous ones a schedule; the
 * caller's table is unchanged; t_max > t_min; inside [t_min, t_max] alpha and sigma lie
 * in [0, 1] with alpha^2 + sigma^2 = 1 (VP), alpha = 1 (VE, EDM), lambda does not
 * increase with t, and t_of_lambda inverts lambda and time_of_model_time inverts
 * model_time. */
#include "fuzz.h"

#define MAX_TABLE 64
#define MAX_QUERIES 8

enum { S_LINEAR, S_COSINE, S_DISCRETE, S_CUMPROD, S_VE, S_EDM, S_NULL, S_KINDS };

static void decode_table(fz *r, double *v, size_t n, int cumprod)
{
    unsigned mode = fz_pick(r, 4);
    double a = fz_dbl(r), b = fz_dbl(r);
    for (size_t i = 0; i < n; i++) {
        double f = n > 1 ? (double)i / (double)(n - 1) : 0.0;
        switch (mode) {
        case 0: v[i] = fabs(a) * 1e-3 + f * (fabs(b) * 1e-2); break;   /* DDPM-like linear */
        case 1: v[i] = fz_dbl(r); break;                                 /* anything */
        case 2: v[i] = fz_within(r, 0.0, 1.0); break;                    /* in (0, 1) mostly */
        default: v[i] = fabs(a) * 1e-250 * (1.0 + f); break;             /* barely moves log alpha */
        }
    }
    if (cumprod && (fz_u8(r) & 1)) {   /* alphas_cumprod = prod (1 - beta) */
        double acc = 1.0;
        for (size_t i = 0; i < n; i++) { acc *= 1.0 - v[i]; v[i] = acc; }
    }
}

/* |d lambda / dt| near t: the smallest one-sided difference quotient over two scales,
 * so that a nearly flat segment of a discrete table next to t is not averaged away. */
static double local_slope(const nde_schedule *s, double t, double lam, double tmin, double tmax)
{
    double slope = INFINITY;
    for (double d = 1e-3 * (tmax - tmin); d > 1e-7 * (tmax - tmin); d *= 1e-3) {
        double lo = fmax(tmin, t - d), hi = fmin(tmax, t + d);
        if (hi > t) slope = fmin(slope, fabs(nde_schedule_lambda(s, hi) - lam) / (hi - t));
        if (lo < t) slope = fmin(slope, fabs(lam - nde_schedule_lambda(s, lo)) / (t - lo));
    }
    return slope;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    int kind = (int)fz_pick(&r, S_KINDS);
    double p0 = fz_dbl(&r), p1 = fz_dbl(&r);
    double table[MAX_TABLE], copy[MAX_TABLE];
    size_t n = fz_pick(&r, MAX_TABLE + 1);
    int null_table = fz_u8(&r) == 0xFF;
    memset(table, 0, sizeof table);
    if (kind == S_DISCRETE || kind == S_CUMPROD) decode_table(&r, table, n, kind == S_CUMPROD);
    memcpy(copy, table, sizeof table);

    nde_schedule *s = NULL;
    int valid = 0;   /* the parameters are valid by the header's rules (continuous kinds) */
    switch (kind) {
    case S_LINEAR:
        s = nde_schedule_vp_linear(p0, p1);
        valid = isfinite(p0) && isfinite(p1) && p0 >= 0 && p1 >= p0 && p1 > 0;
        break;
    case S_COSINE:
        s = nde_schedule_vp_cosine(p0);
        if (!isfinite(p0)) FZ_CHECK(!s, "vp_cosine(%g) accepted", p0);
        break;
    case S_DISCRETE: case S_CUMPROD: {
        const double *tab = null_table ? NULL : table;
        s = kind == S_DISCRETE ? nde_schedule_vp_discrete(tab, n)
                               : nde_schedule_vp_discrete_alphas_cumprod(tab, n);
        int in01 = 1;
        for (size_t i = 0; i < n; i++) in01 &= table[i] > 0.0 && table[i] < 1.0;
        if (!tab || n < 2 || !in01) FZ_CHECK(!s, "invalid table (n %zu, NULL %d, in (0,1) %d) accepted",
                                             n, !tab, in01);
        FZ_CHECK(memcmp(table, copy, sizeof table) == 0, "the constructor wrote the caller's table");
        break;
    }
    case S_VE: case S_EDM:
        s = kind == S_VE ? nde_schedule_ve(p0, p1) : nde_schedule_edm(p0, p1);
        valid = isfinite(p0) && isfinite(p1) && p0 > 0 && p1 > p0 &&
                (kind == S_EDM || isfinite(p1 / p0));   /* ve: smax/smin must not overflow */
        break;
    default:
        break;
    }
    if (!valid && (kind == S_LINEAR || kind == S_VE || kind == S_EDM))
        FZ_CHECK(!s, "invalid parameters %g, %g accepted (kind %d)", p0, p1, kind);
    if (valid) FZ_CHECK(s, "valid parameters %g, %g refused (kind %d)", p0, p1, kind);
    if (fz_verbose()) {
        fprintf(stderr, "kind %d p0 %.17g p1 %.17g n %zu -> %s\n", kind, p0, p1, n,
                s ? nde_schedule_name(s) : "NULL");
        if (kind == S_DISCRETE || kind == S_CUMPROD) fz_print_times(null_table ? "table NULL" : "table", table, n);
    }

    if (!s) {
        FZ_CHECK(isnan(nde_schedule_t_max(NULL)) && isnan(nde_schedule_t_min(NULL)) && !nde_schedule_name(NULL),
                 "NULL schedule: t_max/t_min/name");
        if (!PENDING_DEFECT_2) {
            double t = fz_dbl(&r);
            FZ_CHECK(isnan(nde_schedule_alpha(NULL, t)) && isnan(nde_schedule_sigma(NULL, t))
                     && isnan(nde_schedule_lambda(NULL, t)) && isnan(nde_schedule_log_alpha(NULL, t))
                     && isnan(nde_schedule_t_of_lambda(NULL, t)) && isnan(nde_schedule_model_time(NULL, t))
                     && isnan(nde_schedule_time_of_model_time(NULL, t)),
                     "NULL schedule accessors do not all return NaN");
        }
        nde_schedule_free(NULL);
        return 0;
    }

    const int vp = kind <= S_CUMPROD;
    double tmax = nde_schedule_t_max(s), tmin = nde_schedule_t_min(s);
    FZ_CHECK(isfinite(tmax) && isfinite(tmin) && tmin < tmax, "t_min %g, t_max %g", tmin, tmax);
    FZ_CHECK(nde_schedule_name(s) != NULL, "name NULL");

    /* A discrete table whose log alpha is not strictly decreasing at its nodes cannot be
     * inverted by interpolation (issue 7 defect 1). */
    int monotone = 1;
    if (kind == S_DISCRETE || kind == S_CUMPROD) {
        size_t N = (size_t)(1.0 / tmin + 0.5);
        double prev = INFINITY;
        for (size_t i = 0; i < N; i++) {
            double la = nde_schedule_log_alpha(s, (double)(i + 1) / (double)N);
            if (!(la < prev)) monotone = 0;
            prev = la;
        }
    }
    const int invert_ok = monotone || !PENDING_DEFECT_1;
    /* PENDING_FINDING_F4: vp_linear's t_of_lambda forms b0^2 + 2 (b1 - b0) L, which
     * overflows or underflows for betas outside about [1e-150, 1e150] */
    const int roundtrip_ok = !(PENDING_FINDING_F4 && kind == S_LINEAR
                               && !(p1 >= 1e-100 && p1 <= 1e100 && (p0 == 0.0 || p0 >= 1e-100)));

    double ts[MAX_QUERIES];
    unsigned nq = 1 + fz_pick(&r, MAX_QUERIES);
    for (unsigned q = 0; q < nq; q++) {
        double t = ts[q] = fz_within(&r, tmin, tmax);
        double la = nde_schedule_log_alpha(s, t), a = nde_schedule_alpha(s, t);
        double sg = nde_schedule_sigma(s, t), lam = nde_schedule_lambda(s, t);
        double mt = nde_schedule_model_time(s, t), tb = nde_schedule_time_of_model_time(s, mt);
        double lq = fz_dbl(&r);   /* an arbitrary log-SNR, NaN and Inf included */
        /* defect 1 also reads out of bounds for a NaN log-SNR on a discrete table */
        const int discrete = kind == S_DISCRETE || kind == S_CUMPROD;
        if (invert_ok && !(PENDING_DEFECT_1 && discrete && isnan(lq))) (void)nde_schedule_t_of_lambda(s, lq);
        if (!(t >= tmin && t <= tmax)) continue;
        if (fz_verbose())
            fprintf(stderr, "t %.17g: la %.17g a %.17g sg %.17g lam %.17g mt %.17g\n", t, la, a, sg, lam, mt);
        if (vp) {
            FZ_CHECK(!(la > 0.0) && a >= 0.0 && a <= 1.0 && sg >= 0.0 && sg <= 1.0,
                     "t %.17g: log alpha %g, alpha %g, sigma %g", t, la, a, sg);
            FZ_CHECK(fabs(a * a + sg * sg - 1.0) <= 1e-12, "t %.17g: alpha^2 + sigma^2 = %.17g", t, a * a + sg * sg);
        } else {
            FZ_CHECK(a == 1.0 && sg > 0.0, "t %.17g: alpha %g, sigma %g", t, a, sg);
        }
        FZ_CHECK(fabs(tb - t) <= 1e-12 * (1.0 + fabs(t)) * 1e3, "time_of_model_time(model_time(%.17g)) = %.17g", t, tb);
        /* (a log alpha near the subnormal range has too few bits to be inverted) */
        if (isfinite(lam) && invert_ok && roundtrip_ok && !(vp && fabs(la) < 1e-280)) {
            double back = nde_schedule_t_of_lambda(s, lam);
            /* the inverse's condition: an error of a few ULP in lambda moves t by that
             * over the slope d lambda / dt (nearly flat tables are ill-conditioned) */
            double cond = 1e3 * DBL_EPSILON * (fabs(lam) + 1.0) / local_slope(s, t, lam, tmin, tmax);
            if (!(cond >= 0.0)) cond = INFINITY;   /* no slope to be had (0/0) */
            FZ_CHECK(fabs(back - t) <= 1e-6 * (tmax - tmin) + 1e-9 * fabs(t) + cond,
                     "%s: t_of_lambda(lambda(%.17g) = %.17g) = %.17g", nde_schedule_name(s), t, lam, back);
        }
    }
    for (unsigned i = 0; i < nq; i++)
        for (unsigned j = 0; j < nq; j++) {
            if (!(ts[i] >= tmin && ts[i] < ts[j] && ts[j] <= tmax)) continue;
            double li = nde_schedule_lambda(s, ts[i]), lj = nde_schedule_lambda(s, ts[j]);
            /* log alpha below ~1e-280 (subnormal table sums or betas) carries too few
             * bits for lambda to stay monotone: documented in diffusion.h */
            if (vp && (fabs(nde_schedule_log_alpha(s, ts[i])) < 1e-280 ||
                       fabs(nde_schedule_log_alpha(s, ts[j])) < 1e-280)) continue;
            FZ_CHECK(!(lj > li + 1e-12 * fabs(li)), "lambda(%.17g) = %.17g < lambda(%.17g) = %.17g",
                     ts[i], li, ts[j], lj);
        }
    nde_schedule_free(s);
    return 0;
}
