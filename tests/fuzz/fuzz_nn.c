/* libFuzzer harness: the nn layer (include/nde/nn.h).
 *
 * The input gives an MLP (layers, widths, activations, norm, eps, max_batch, cache,
 * allocator, error buffer; sizes that overflow too), its initialisation and parameter
 * edits, batches for forward / VJP / JVP, a parameter file (the MLP's own save with
 * decoded edits: bytes replaced, cut, tokens inserted; or raw fuzzer bytes) read back
 * by nde_mlp_load and nde_block_read, a vector field over the MLP, then losses, an
 * optimiser with decoded options and steps, the learning-rate schedules, activations
 * and norms on their own. Checked: create succeeds exactly when the header's rules say
 * the options are valid (allocation and size refusals aside) and leaves a message when
 * it fails; an error status leaves every output and the parameters untouched; a VJP is
 * the same bits whether its forward pass was cached or recomputed; a JVP's y equals
 * the forward pass; a save loads back bit for bit; an edited file either loads finite
 * numbers or is refused with a message and nothing changed; results are finite for
 * finite, moderate inputs; optimisers refuse non-finite gradients without a change and
 * count steps; schedules stay between their two rates; nothing leaks. */
#define _POSIX_C_SOURCE 200809L   /* getpid under -std=c11 */
#include <unistd.h>

#include "fuzz.h"

#define MAX_L 4       /* layers */
#define MAX_W 6       /* width */
#define MAX_B 4       /* batch rows */
#define MAX_X (MAX_B * MAX_W)
#define HUGE_SIZE ((size_t)1 << 40)
#define FILE_MAX 16384

static const char *tmp_path(void)
{
    static char p[64];
    if (!p[0]) snprintf(p, sizeof p, "/tmp/nde-fuzz-nn-%ld.txt", (long)getpid());
    return p;
}

static int same_bits(const double *a, const double *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* A count: small mostly, huge (an overflow or allocation refusal) sometimes. */
static size_t small_or_huge(fz *r, unsigned n, int *huge)
{
    unsigned m = fz_u8(r);
    if (m < 240) return m % n;
    *huge = 1;
    return m < 250 ? HUGE_SIZE : SIZE_MAX / (1 + fz_pick(r, 8));
}

/* moderate values mostly, anything sometimes; *wild is set when one is not moderate */
static void fill(fz *r, double *v, size_t n, double bound, int *wild)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = fz_within(r, -bound, bound);
        if (!(fabs(v[i]) <= bound)) *wild = 1;
    }
}

/* ---- the MLP ------------------------------------------------------------------------ */

static void check_mlp(fz *r, nde_mlp *net, size_t nl, const size_t *w, const nde_mlp_options *o)
{
    size_t np = nde_mlp_n_params(net), want = 0;
    int norm = o ? o->norm : NDE_NORM_NONE;
    for (size_t l = 1; l <= nl; l++)
        want += w[l] * w[l - 1] + w[l] + (norm && l < nl ? (size_t)norm * w[l] : 0);
    FZ_CHECK(np == want, "n_params %zu, expected %zu", np, want);
    FZ_CHECK(nde_mlp_n_layers(net) == nl && nde_mlp_width(net, nl) == w[nl] && nde_mlp_width(net, nl + 1) == 0,
             "layer accessors");
    size_t mb = nde_mlp_max_batch(net);
    double *theta = nde_mlp_params(net), *before = malloc(np * sizeof *before);
    if (!before) return;

    /* initialisation: valid schemes only, untouched on error, a pure function of the seed */
    int scheme = (int)fz_pick(r, 4);
    double sigma = fz_within(r, 0.0, 1.0);
    uint64_t seed = fz_u64(r);
    memcpy(before, theta, np * sizeof *theta);
    int rc = nde_mlp_init(net, scheme, sigma, seed);
    int ok = scheme == NDE_INIT_TORCH || (scheme == NDE_INIT_NORMAL && sigma >= 0 && isfinite(sigma));
    FZ_CHECK(rc == (ok ? NDE_OK : NDE_EINVAL), "init scheme %d sigma %g: %d", scheme, sigma, rc);
    if (rc != NDE_OK) FZ_CHECK(same_bits(theta, before, np), "a failed init wrote the parameters");
    else {
        memcpy(before, theta, np * sizeof *theta);
        nde_mlp_init(net, scheme, sigma, seed);
        FZ_CHECK(same_bits(theta, before, np), "init is not a function of the seed");
        if (scheme == NDE_INIT_TORCH)
            for (size_t l = 1; l <= nl; l++) {
                size_t off = nde_mlp_weight_offset(net, l);
                double bound = 1.0 / sqrt((double)w[l - 1]);
                for (size_t k = 0; k < w[l] * w[l - 1] + w[l]; k++)
                    FZ_CHECK(fabs(theta[off + k]) <= bound, "torch init W/b_%zu = %g beyond %g", l, theta[off + k], bound);
            }
    }
    /* parameter edits: moderate values, or anything */
    for (unsigned e = fz_pick(r, 4); e > 0; e--) theta[fz_pick(r, (unsigned)np)] = fz_within(r, -3.0, 3.0);
    int wild_params = 0;
    for (size_t k = 0; k < np; k++) if (!(fabs(theta[k]) <= 3.0)) wild_params = 1;

    /* forward, VJP, JVP on a batch (0 and max_batch + 1 are refused) */
    size_t top = mb < MAX_B ? mb : MAX_B;
    size_t batch = fz_pick(r, (unsigned)top + 2);
    size_t nin = w[0], nout = w[nl];
    double x[MAX_X], x2[MAX_X], dx[MAX_X], gy[MAX_X], y[MAX_X + 1], y2[MAX_X + 1], dy[MAX_X + 1];
    double gx[MAX_X + 1], gx2[MAX_X + 1], *gt = malloc((np + 1) * sizeof *gt), *gt2 = malloc((np + 1) * sizeof *gt2);
    if (!gt || !gt2) { free(before); free(gt); free(gt2); return; }
    int wild = wild_params;
    size_t nb = batch <= MAX_B ? batch : MAX_B;
    fill(r, x, nb * nin, 5.0, &wild);
    fill(r, dx, nb * nin, 5.0, &wild);
    fill(r, gy, nb * nout, 5.0, &wild);
    for (size_t i = 0; i < nb * nin; i++) x2[i] = x[i] + 0.25;
    int in_range = batch >= 1 && batch <= mb;
    double eps = o && o->norm_eps > 0 ? o->norm_eps : NDE_NORM_EPS_DEFAULT;
    int tame = !wild && (norm == NDE_NORM_NONE || eps >= 1e-8);   /* no r^3 ~ eps^-1.5 blow-up */
    for (size_t i = 0; i <= MAX_X; i++) y[i] = dy[i] = gx[i] = 1234.5;
    for (size_t i = 0; i <= np; i++) gt[i] = 1234.5;

    rc = nde_mlp_forward(net, batch, x, y);
    FZ_CHECK(rc == (in_range ? NDE_OK : NDE_EINVAL), "forward with batch %zu of %zu: %d", batch, mb, rc);
    if (rc != NDE_OK) {
        FZ_CHECK(y[0] == 1234.5, "a failed forward wrote y");
        rc = nde_mlp_vjp(net, batch, x, gy, gx, gt);
        FZ_CHECK(rc == NDE_EINVAL && gx[0] == 1234.5 && gt[0] == 1234.5, "a refused vjp wrote or said %d", rc);
        rc = nde_mlp_jvp(net, batch, x, dx, y, dy);
        FZ_CHECK(rc == NDE_EINVAL && y[0] == 1234.5 && dy[0] == 1234.5, "a refused jvp wrote or said %d", rc);
    } else {
        FZ_CHECK(y[batch * nout] == 1234.5, "forward wrote past batch x w[L]");
        if (!wild) FZ_CHECK(fz_all_finite(y, batch * nout), "forward of moderate input is not finite");
        /* the VJP on the cached pass, then after other passes (recomputed when evicted) */
        rc = nde_mlp_vjp(net, batch, x, gy, gx, gt);
        FZ_CHECK(rc == NDE_OK && gx[batch * nin] == 1234.5 && gt[np] == 1234.5, "vjp: %d or wrote past", rc);
        if (tame) FZ_CHECK(fz_all_finite(gx, batch * nin) && fz_all_finite(gt, np), "vjp is not finite");
        for (unsigned k = 1 + fz_pick(r, 3); k > 0; k--) nde_mlp_forward(net, batch, x2, y2);
        for (size_t i = 0; i <= MAX_X; i++) gx2[i] = -1.0;
        rc = nde_mlp_vjp(net, batch, x, gy, gx2, NULL);
        FZ_CHECK(rc == NDE_OK && same_bits(gx, gx2, batch * nin), "vjp gx differs between cached and recomputed");
        rc = nde_mlp_vjp(net, batch, x, gy, NULL, gt2);
        FZ_CHECK(rc == NDE_OK && same_bits(gt, gt2, np), "vjp gtheta differs between calls");
        /* the JVP's y is the forward pass's */
        for (size_t i = 0; i <= MAX_X; i++) y2[i] = -1.0;
        rc = nde_mlp_jvp(net, batch, x, dx, (fz_u8(r) & 1) ? NULL : y2, dy);
        FZ_CHECK(rc == NDE_OK, "jvp: %d", rc);
        if (y2[0] != -1.0) FZ_CHECK(same_bits(y, y2, batch * nout), "jvp's y differs from forward");
        if (tame) FZ_CHECK(fz_all_finite(dy, batch * nout), "jvp is not finite");
        FZ_CHECK(dy[batch * nout] == 1234.5, "jvp wrote past batch x w[L]");
    }

    /* save, then load back bit for bit */
    char eb[NDE_MESSAGE_MAX];
    const char *path = tmp_path();
    memcpy(before, theta, np * sizeof *theta);
    rc = nde_mlp_save(net, path, eb, sizeof eb);
    FZ_CHECK(rc == NDE_OK, "save to %s: %s", path, eb);
    for (size_t k = 0; k < np; k++) theta[k] = -7.0;
    rc = nde_mlp_load(net, path, eb, sizeof eb);
    int finite_params = fz_all_finite(before, np);
    if (finite_params) FZ_CHECK(rc == NDE_OK && same_bits(theta, before, np), "save then load differs (%d: %s)", rc, eb);
    else FZ_CHECK(rc == NDE_EINVAL && eb[0], "non-finite parameters loaded back (%d)", rc);
    memcpy(theta, before, np * sizeof *theta);

    /* an edited or raw file: finite numbers loaded, or refused with nothing changed */
    static char text[FILE_MAX + 256];
    size_t len = 0;
    unsigned mode = fz_u8(r);
    if (mode < 200) {
        FILE *f = fopen(path, "rb");
        if (f) { len = fread(text, 1, FILE_MAX, f); fclose(f); }
        static const char *const tokens[] = {
            "nan", "inf", "-inf", "1e999", "-0", "0x1p-3", "#", "\n", " ", "W1 ", "b1 1 ", "W1 2 2\n1 2\n3 4\n",
            "18446744073709551617 ", "4294967296 4294967296 ", "-1 ", "1e-400", "\r\n", "1.5.5",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        };
        for (unsigned e = fz_pick(r, 5); e > 0 && len > 0; e--) {
            size_t at = fz_pick(r, (unsigned)(len > 65535 ? 65535 : len));
            switch (fz_pick(r, 4)) {
            case 0: text[at] = (char)fz_u8(r); break;                 /* replace a byte */
            case 1: len = at; break;                                   /* cut */
            case 2: {                                                  /* insert a token */
                const char *t = tokens[fz_pick(r, sizeof tokens / sizeof *tokens)];
                size_t tl = strlen(t);
                if (len + tl > FILE_MAX) break;
                memmove(text + at + tl, text + at, len - at);
                memcpy(text + at, t, tl);
                len += tl;
                break;
            }
            default: {                                                 /* delete a range */
                size_t d = fz_pick(r, 64);
                if (d > len - at) d = len - at;
                memmove(text + at, text + at + d, len - at - d);
                len -= d;
            }
            }
        }
    } else {
        len = r->n < FILE_MAX ? r->n : FILE_MAX;   /* the rest of the input, raw */
        memcpy(text, r->p, len);
        r->p += len; r->n -= len;
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(text, 1, len, f);
        fclose(f);
        memcpy(before, theta, np * sizeof *theta);
        eb[0] = 'x';
        rc = nde_mlp_load(net, path, eb, sizeof eb);
        FZ_CHECK(rc == NDE_OK || rc == NDE_EINVAL, "load returned %d", rc);
        if (rc == NDE_OK) FZ_CHECK(fz_all_finite(theta, np), "load gave non-finite parameters");
        else FZ_CHECK(same_bits(theta, before, np) && eb[0] && eb[0] != 'x',
                      "a refused load changed the parameters or left no message");
        /* one block by name and a decoded shape */
        static const char *const names[] = { "W1", "b1", "W2", "g1", "c1", "y0", "" };
        const char *name = names[fz_pick(r, sizeof names / sizeof *names)];
        size_t rows = fz_pick(r, 8), cols = fz_pick(r, 8);
        double dst[64], keep[64];
        for (size_t i = 0; i < 64; i++) dst[i] = keep[i] = 99.0 + (double)i;
        rc = nde_block_read(path, name, rows, cols, dst, eb, sizeof eb);
        if (rc == NDE_OK) FZ_CHECK(fz_all_finite(dst, rows * cols) && same_bits(dst + rows * cols, keep + rows * cols,
                                                                                 64 - rows * cols), "block read");
        else FZ_CHECK(rc == NDE_EINVAL && same_bits(dst, keep, 64) && eb[0], "a refused block read wrote or said %d", rc);
    }
    memcpy(theta, before, np * sizeof *theta);
    rc = nde_mlp_save(net, "/nonexistent-nde-dir/p.txt", eb, sizeof eb);
    FZ_CHECK(rc == NDE_EINVAL && eb[0], "save to a missing directory: %d", rc);

    /* the MLP as a vector field */
    nde_mlp_field field = { net, fz_pick(r, (unsigned)top + 2), (int)(fz_u8(r) & 1) };
    nde_ode ode, ode_keep;
    memset(&ode, 0x5a, sizeof ode);
    ode_keep = ode;
    rc = nde_mlp_field_ode(&field, &ode, eb, sizeof eb);
    int fvalid = field.batch >= 1 && field.batch <= mb && w[0] == w[nl] + (field.time_dependent ? 1u : 0u);
    FZ_CHECK(rc == (fvalid ? NDE_OK : NDE_EINVAL), "field_ode: %d for a %s field", rc, fvalid ? "valid" : "invalid");
    if (rc != NDE_OK) FZ_CHECK(memcmp(&ode, &ode_keep, sizeof ode) == 0 && eb[0], "a refused field_ode wrote ode");
    else {
        FZ_CHECK(ode.dim == field.batch * w[nl] && ode.n_params == np && ode.f && ode.vjp, "field_ode's ode");
        double t = fz_within(r, -2.0, 2.0), ys[MAX_X], d[MAX_X], a[MAX_X], ay[MAX_X];
        fill(r, ys, ode.dim, 3.0, &wild);
        fill(r, a, ode.dim, 3.0, &wild);
        FZ_CHECK(ode.f(t, ys, d, ode.user) == 0 && ode.vjp(t, ys, a, ay, gt, ode.user) == 0, "field callbacks failed");
        if (!wild && fabs(t) <= 2.0) FZ_CHECK(fz_all_finite(d, ode.dim), "field f is not finite");
    }
    free(before); free(gt); free(gt2);
}

static void fuzz_mlp(fz *r)
{
    int huge = 0;
    size_t nl = fz_pick(r, MAX_L + 2), w[MAX_L + 2];
    int null_widths = fz_u8(r) == 255;
    for (size_t l = 0; l <= nl; l++) w[l] = small_or_huge(r, MAX_W + 1, &huge);
    unsigned om = fz_u8(r);
    nde_mlp_options o = NDE_MLP_OPTIONS_INIT;
    o.activation = (int)fz_pick(r, 9) - 1;          /* -1 and 7: unknown */
    o.out_activation = (int)fz_pick(r, 9) - 1;
    o.norm = (int)fz_pick(r, 5) - 1;                /* -1 and 3: unknown */
    o.norm_eps = fz_u8(r) < 160 ? 0.0 : fz_within(r, 1e-8, 1e-2);
    o.max_batch = small_or_huge(r, MAX_B + 1, &huge);
    o.cache = small_or_huge(r, 5, &huge);
    fz_alloc fa;
    o.allocator = fz_alloc_decode(r, &fa);
    fz_errbuf eb;
    fz_errbuf_decode(r, &eb);
    o.errbuf = eb.given ? eb.buf : NULL;
    o.errbuf_size = eb.size;
    const nde_mlp_options *op = om < 16 ? NULL : &o;
    nde_mlp_options dflt = NDE_MLP_OPTIONS_INIT;
    const nde_mlp_options *eff = op ? op : &dflt;

    int valid = nl >= 1 && !null_widths && eff->activation >= 0 && eff->activation <= NDE_ACT_LIPSWISH &&
                eff->out_activation >= 0 && eff->out_activation <= NDE_ACT_LIPSWISH && eff->norm >= 0 &&
                eff->norm <= NDE_NORM_LAYER && (eff->norm_eps == 0 || (eff->norm_eps > 0 && isfinite(eff->norm_eps)));
    for (size_t l = 0; valid && l <= nl; l++) valid = w[l] >= 1;
    if (!op) huge = 0;   /* no huge batch or cache without options */
    for (size_t l = 0; l <= nl; l++) if (w[l] > MAX_W) huge = 1;
    if (fz_verbose()) {
        fprintf(stderr, "mlp: %zu layers, widths", nl);
        for (size_t l = 0; l <= nl; l++) fprintf(stderr, " %zu", w[l]);
        fprintf(stderr, "%s, act %d out %d norm %d eps %g max_batch %zu cache %zu, opts %s\n",
                null_widths ? " (NULL)" : "", o.activation, o.out_activation, o.norm, o.norm_eps, o.max_batch, o.cache,
                op ? "given" : "NULL");
    }
    nde_mlp *net = nde_mlp_create(nl, null_widths ? NULL : w, op);
    if (op && eb.given) fz_errbuf_check(&eb, net ? NDE_OK : NDE_EINVAL, "nde_mlp_create");
    if (!net) {
        FZ_CHECK(!valid || huge || fa.calls > 0, "valid options refused: %s", eb.given ? eb.buf : "");
        FZ_CHECK(fa.live == 0, "a failed create leaked %zu blocks", fa.live);
        return;
    }
    FZ_CHECK(valid, "invalid options accepted");
    if (!huge) check_mlp(r, net, nl, w, op);
    nde_mlp_free(net);
    FZ_CHECK(fa.live == 0, "%zu blocks leaked", fa.live);
}

/* ---- losses, optimisers, schedules, activations, norms ----------------------------- */

static void fuzz_losses(fz *r)
{
    size_t n = fz_pick(r, 9);
    double a[8], b[8], c[8], g1[9], g2[9];
    int wild = 0, kind = (int)fz_pick(r, 4), nulls = fz_u8(r) >= 240;
    fill(r, a, n, 5.0, &wild);
    fill(r, b, n, 5.0, &wild);
    fill(r, c, n, 1.0, &wild);
    for (size_t i = 0; i < n; i++) c[i] = fabs(c[i]) <= 1.0 ? fabs(c[i]) : c[i];   /* Bernoulli targets in [0, 1] */
    double loss = 1234.5;
    for (size_t i = 0; i < 9; i++) g1[i] = g2[i] = 1234.5;
    int rc;
    switch (kind) {
    case 0: rc = nde_loss_mse(n, a, nulls ? NULL : b, &loss, g1); break;
    case 1: rc = nde_loss_l1(n, a, nulls ? NULL : b, &loss, g1); break;
    case 2: rc = nde_loss_gaussian_nll(n, a, nulls ? NULL : b, c, &loss, g1, g2); break;
    default: rc = nde_loss_bernoulli_nll(n, a, nulls ? NULL : c, &loss, g1); break;
    }
    if (n == 0 || nulls) {
        FZ_CHECK(rc == NDE_EINVAL && loss == 1234.5 && g1[0] == 1234.5, "loss %d with n %zu: %d", kind, n, rc);
        return;
    }
    FZ_CHECK(rc == NDE_OK && g1[n] == 1234.5 && g2[n] == 1234.5, "loss %d: %d or wrote past n", kind, rc);
    if (wild) return;
    FZ_CHECK(isfinite(loss) && fz_all_finite(g1, n) && (kind != 2 || fz_all_finite(g2, n)), "loss %d not finite", kind);
    if (kind == 0 || kind == 1) FZ_CHECK(loss >= 0, "loss %d negative: %g", kind, loss);
    if (kind == 3) FZ_CHECK(loss >= -1e-12, "Bernoulli loss negative: %g", loss);
}

static void fuzz_optim(fz *r)
{
    int kind = (int)fz_pick(r, 6), huge = 0;   /* 0 and 5: unknown */
    size_t n = small_or_huge(r, 6, &huge);
    nde_optim_options o;
    if (nde_optim_defaults(kind, &o) != NDE_OK) nde_optim_defaults(NDE_OPTIM_ADAM, &o);
    unsigned edits = fz_u8(r);
    if (edits & 1) o.lr = fz_within(r, 0.0, 1.0);
    if (edits & 2) { o.beta1 = fz_within(r, 0.0, 1.0); o.beta2 = fz_within(r, 0.0, 1.0); }
    if (edits & 4) o.eps = fz_within(r, 0.0, 1e-3);
    if (edits & 8) o.weight_decay = fz_within(r, 0.0, 1.0);
    if (edits & 16) { o.momentum = fz_within(r, 0.0, 1.0); o.dampening = fz_within(r, 0.0, 1.0); }
    if (edits & 32) o.nesterov = 1;
    if (edits & 64) { o.alpha = fz_within(r, 0.0, 1.0); o.centered = 1; }
    fz_alloc fa;
    o.allocator = fz_alloc_decode(r, &fa);
    fz_errbuf eb;
    fz_errbuf_decode(r, &eb);
    o.errbuf = eb.given ? eb.buf : NULL;
    o.errbuf_size = eb.size;
    const nde_optim_options *op = (edits & 128) ? NULL : &o;
    nde_optim_options e = o;
    if (!op) nde_optim_defaults(kind, &e);

    int adam = kind == NDE_OPTIM_ADAM || kind == NDE_OPTIM_ADAMW;
    int valid = kind >= NDE_OPTIM_SGD && kind <= NDE_OPTIM_RMSPROP && n >= 1 && e.lr >= 0 && isfinite(e.lr) &&
                e.weight_decay >= 0 && isfinite(e.weight_decay) && e.eps >= 0 && isfinite(e.eps);
    if (valid && adam) valid = e.beta1 >= 0 && e.beta1 < 1 && e.beta2 >= 0 && e.beta2 < 1;
    if (valid && (kind == NDE_OPTIM_SGD || kind == NDE_OPTIM_RMSPROP)) valid = e.momentum >= 0 && isfinite(e.momentum);
    if (valid && kind == NDE_OPTIM_SGD)
        valid = isfinite(e.dampening) && (!e.nesterov || (e.momentum > 0 && e.dampening == 0));
    if (valid && kind == NDE_OPTIM_RMSPROP) valid = e.alpha >= 0 && e.alpha < 1;
    nde_optim *opt = nde_optim_create(kind, n, op);
    if (op && eb.given) fz_errbuf_check(&eb, opt ? NDE_OK : NDE_EINVAL, "nde_optim_create");
    if (!opt) {
        FZ_CHECK(!valid || huge || (op && fa.calls > 0), "valid optimiser options refused (kind %d, n %zu)", kind, n);
        FZ_CHECK(fa.live == 0, "a failed optimiser create leaked");
        return;
    }
    FZ_CHECK(valid && !huge, "invalid optimiser options accepted (kind %d, n %zu)", kind, n);
    double x[6], g[6], keep[6];
    int wild = 0;
    fill(r, x, n, 5.0, &wild);
    /* finite updates need moderate rates and a nonzero eps (0/0 at a zero gradient, as
     * PyTorch) */
    int tame = e.lr <= 1 && e.weight_decay <= 1 && e.eps >= 1e-12 && e.momentum <= 1 && fabs(e.dampening) <= 1;
    for (unsigned s = fz_pick(r, 9), first = 1; s > 0; s--, first = 0) {
        unsigned m = fz_u8(r);   /* >= 240: the last gradient again (constant gradients) */
        for (size_t i = 0; i < n && (first || m < 240); i++) g[i] = m < 200 ? fz_within(r, -5.0, 5.0) : fz_dbl(r);
        size_t t = nde_optim_steps(opt);
        memcpy(keep, x, n * sizeof *x);
        int rc = nde_optim_step(opt, x, g);
        int finite_g = fz_all_finite(g, n);
        FZ_CHECK(rc == (finite_g ? NDE_OK : NDE_EINVAL), "step with %s gradient: %d", finite_g ? "a finite" : "a non-finite", rc);
        if (rc != NDE_OK) FZ_CHECK(same_bits(x, keep, n) && nde_optim_steps(opt) == t, "a refused step changed x or t");
        else FZ_CHECK(nde_optim_steps(opt) == t + 1, "steps not counted");
        for (size_t i = 0; i < n; i++) if (!(fabs(g[i]) <= 5.0)) wild = 1;
        if (rc == NDE_OK && tame && !wild)
            FZ_CHECK(fz_all_finite(x, n), "optimiser %d step %zu: x not finite", kind, t + 1);
        double lr = fz_u8(r) < 128 ? nde_optim_lr(opt) : fz_dbl(r), was = nde_optim_lr(opt);
        rc = nde_optim_set_lr(opt, lr);
        FZ_CHECK(rc == ((lr >= 0 && isfinite(lr)) ? NDE_OK : NDE_EINVAL), "set_lr(%g): %d", lr, rc);
        FZ_CHECK(nde_optim_lr(opt) == (rc == NDE_OK ? lr : was), "lr after set_lr");
        if (rc == NDE_OK && lr > 1) tame = 0;
    }
    nde_optim_reset(opt);
    FZ_CHECK(nde_optim_steps(opt) == 0, "reset kept the step count");
    nde_optim_free(opt);
    FZ_CHECK(fa.live == 0, "optimiser leaked");
}

static void fuzz_schedules(fz *r)
{
    double hi = fz_within(r, 0.0, 1.0), lo = fz_within(r, 0.0, 1.0);
    size_t t = (size_t)fz_u64(r) >> fz_pick(r, 64), t_max = (size_t)fz_u64(r) >> fz_pick(r, 64);
    size_t t_0 = (size_t)fz_u32(r) >> fz_pick(r, 32), t_mult = fz_u8(r) < 200 ? fz_pick(r, 4) : (size_t)fz_u64(r);
    double c = nde_lr_cosine(hi, lo, t, t_max), wr = nde_lr_warm_restarts(hi, lo, t, t_0, t_mult);
    if (t_max == 0) FZ_CHECK(same_bits(&c, &hi, 1), "cosine with t_max 0 is not lr_max");
    if (t_0 == 0) FZ_CHECK(same_bits(&wr, &hi, 1), "warm restarts with t_0 0 is not lr_max");
    if (!isfinite(hi) || !isfinite(lo) || fabs(hi) > 1e300 || fabs(lo) > 1e300) return;
    double a = fmin(hi, lo), b = fmax(hi, lo), slack = 1e-15 * (fabs(a) + fabs(b));
    FZ_CHECK(c >= a - slack && c <= b + slack, "cosine %g outside [%g, %g]", c, a, b);
    FZ_CHECK(wr >= a - slack && wr <= b + slack, "warm restarts %g outside [%g, %g] (t %zu t_0 %zu t_mult %zu)",
             wr, a, b, t, t_0, t_mult);
}

static void fuzz_act_norm(fz *r)
{
    int act = (int)fz_pick(r, 9) - 1;
    size_t n = fz_pick(r, 9);
    double x[9], y[9], d[9];
    for (size_t i = 0; i < n; i++) x[i] = fz_u8(r) < 200 ? fz_within(r, -50.0, 50.0) : fz_dbl(r);
    for (size_t i = 0; i < 9; i++) y[i] = d[i] = 1234.5;
    unsigned m = fz_u8(r);
    int known = act >= NDE_ACT_IDENTITY && act <= NDE_ACT_LIPSWISH;
    FZ_CHECK((nde_activation_name(act) != NULL) == known, "activation_name(%d)", act);
    int rc = nde_activation(act, n, (m & 1) && n ? NULL : x, (m & 2) ? NULL : y, (m & 4) ? NULL : d);
    int valid = known && !((m & 1) && n);
    FZ_CHECK(rc == (valid ? NDE_OK : NDE_EINVAL), "activation %d n %zu: %d", act, n, rc);
    if (rc != NDE_OK) FZ_CHECK(y[0] == 1234.5 && d[0] == 1234.5, "a refused activation wrote");
    else {
        FZ_CHECK(y[n] == 1234.5 && d[n] == 1234.5, "activation wrote past n");
        if (fz_all_finite(x, n)) FZ_CHECK((m & 2 || fz_all_finite(y, n)) && (m & 4 || fz_all_finite(d, n)),
                                          "activation %d of finite x is not finite", act);
    }

    /* norms: rows x k */
    int kind = (int)fz_pick(r, 4);   /* 0 (none) and 3: not a norm */
    size_t rows = fz_pick(r, 4), k = fz_pick(r, 7);
    double eps = fz_u8(r) < 200 ? fz_within(r, 1e-8, 1e-2) : fz_dbl(r);
    double xs[18], gs[6], cs[6], out[19], gx[19], gg[7], gc[7], dxs[18];
    int wild = 0;
    fill(r, xs, rows * k, 5.0, &wild);
    fill(r, gs, k, 2.0, &wild);
    fill(r, cs, k, 2.0, &wild);
    fill(r, dxs, rows * k, 5.0, &wild);
    int nonull = fz_u8(r) < 230;
    int nvalid = (kind == NDE_NORM_RMS || kind == NDE_NORM_LAYER) && eps > 0 && isfinite(eps) &&
                 (rows == 0 || k == 0 || nonull);
    for (size_t i = 0; i < 19; i++) out[i] = gx[i] = 1234.5;
    for (size_t i = 0; i < 7; i++) gg[i] = gc[i] = 1234.5;
    const double *g = nonull ? gs : NULL;
    rc = nde_norm_forward(kind, rows, k, eps, g, cs, xs, out);
    FZ_CHECK(rc == (nvalid ? NDE_OK : NDE_EINVAL), "norm_forward kind %d: %d", kind, rc);
    int tame = !wild && eps >= 1e-8 && eps <= 1e10;
    if (rc != NDE_OK) FZ_CHECK(out[0] == 1234.5, "a refused norm wrote");
    else if (tame) FZ_CHECK(fz_all_finite(out, rows * k) && out[rows * k] == 1234.5, "norm forward not finite");
    rc = nde_norm_vjp(kind, rows, k, eps, g, xs, dxs, gx, gg, gc);
    FZ_CHECK(rc == (nvalid ? NDE_OK : NDE_EINVAL), "norm_vjp kind %d: %d", kind, rc);
    if (rc != NDE_OK) FZ_CHECK(gx[0] == 1234.5 && gg[0] == 1234.5, "a refused norm vjp wrote");
    else if (tame) FZ_CHECK(fz_all_finite(gx, rows * k) && fz_all_finite(gg, k) && gx[rows * k] == 1234.5 &&
                            gg[k] == 1234.5, "norm vjp not finite or wrote past");
    for (size_t i = 0; i < 19; i++) out[i] = 1234.5;
    rc = nde_norm_jvp(kind, rows, k, eps, g, xs, dxs, out);
    FZ_CHECK(rc == (nvalid ? NDE_OK : NDE_EINVAL), "norm_jvp kind %d: %d", kind, rc);
    if (rc == NDE_OK && tame) FZ_CHECK(fz_all_finite(out, rows * k) && out[rows * k] == 1234.5, "norm jvp not finite");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz r = { data, size };
    /* the first byte orders the parts, so every part is reachable from a short input */
    unsigned part = fz_u8(&r) % 5;
    switch (part) {
    case 0: fuzz_mlp(&r); fuzz_losses(&r); break;
    case 1: fuzz_losses(&r); fuzz_act_norm(&r); break;
    case 2: fuzz_optim(&r); fuzz_schedules(&r); break;
    case 3: fuzz_act_norm(&r); fuzz_mlp(&r); break;
    default: fuzz_schedules(&r); fuzz_optim(&r); fuzz_mlp(&r); break;
    }
    return 0;
}
