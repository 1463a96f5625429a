/* Shared pieces of the libFuzzer harnesses: a byte reader that turns the fuzzer's input
 * into structured values (counts, choices, doubles with the interesting ones easy to
 * reach), the contract check that traps, a checking allocator with fault injection,
 * and the error-buffer probe. The encoding is documented here once; gen_corpus.py
 * writes seeds in it.
 *
 * Encoding. Values are read front to back; past the end every byte reads as 0, so a
 * short input means "defaults from here on".
 *   u8, u16, u32, u64   little endian
 *   pick(n)             u8 % n (u16 % n when n > 256)
 *   dbl                 tag byte t:
 *                         t < 32     special value fz_special[t] (0, -0, 1, NaN, Inf,
 *                                    denormals, DBL_MAX, 1e+-154, 1e+-300, ...)
 *                         t < 224    (t - 32) = 2 k + sign, one more byte b:
 *                                    -+(1 + b/256) 10^(k/4 - 12), |v| in [1e-12, 2e12)
 *                         otherwise  the next 8 bytes are the IEEE-754 bits
 *   within(a, b)        tag byte t: t < 192: a + f (b - a) with f = (256 t + u8)/49151
 *                       in [0, 1]; otherwise a dbl (anything, inside or not)
 */
#ifndef NDE_TESTS_FUZZ_H
#define NDE_TESTS_FUZZ_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nde.h"
#include "../pending_defects.h"

/* A huge request makes malloc return NULL, as the C library's does, instead of ASan
 * reporting it: nde must then fail with NDE_ENOMEM (one harness per program, so this
 * definition in a header is the program's only one). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- contract checks ----------------------------------------------------------- */

/* A violated contract is a crash for libFuzzer: say what, then trap. */
#define FZ_CHECK(cond, ...) do { if (!(cond)) { \
        fprintf(stderr, "\ncontract violation at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); __builtin_trap(); } } while (0)

/* The status codes nde documents (core.h). */
static inline int fz_status_known(int rc)
{
    switch (rc) {
    case NDE_OK: case NDE_EVENT: case NDE_EINVAL: case NDE_ENOMEM: case NDE_EMAXSTEPS:
    case NDE_EDTMIN: case NDE_ENONFINITE: case NDE_ECALLBACK: case NDE_ENONLINEAR:
    case NDE_EUNSUPPORTED:
        return 1;
    default:
        return 0;
    }
}

static inline int fz_all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) if (!isfinite(v[i])) return 0;
    return 1;
}

/* ---- the methods that solve nde_ode problems ------------------------------------
 * The registry also lists the SDE and underdamped-Langevin families, which refuse an
 * nde_ode with NDE_EUNSUPPORTED (tested in tests/test_integrate.c): the ODE harnesses
 * pick among the others, in registry order. */
static inline int fz_solves_odes(const nde_method *m)
{
    int k = nde_method_kind(m);
    return k != NDE_METHOD_SDE && k != NDE_METHOD_LANGEVIN;
}
static inline unsigned fz_ode_method_count(void)
{
    unsigned n = 0;
    for (size_t i = 0; i < nde_method_count(); i++) n += fz_solves_odes(nde_method_at(i)) ? 1u : 0u;
    return n;
}
/* The i-th ODE method; NULL past the end. */
static inline const nde_method *fz_ode_method_at(unsigned i)
{
    for (size_t k = 0; k < nde_method_count(); k++)
        if (fz_solves_odes(nde_method_at(k)) && i-- == 0) return nde_method_at(k);
    return NULL;
}

/* NDE_FUZZ_VERBOSE=1 in the environment: harnesses print what they decoded (for
 * reproducing a crash by hand). */
static inline int fz_verbose(void)
{
    static int v = -1;
    if (v < 0) { const char *e = getenv("NDE_FUZZ_VERBOSE"); v = e && *e && *e != '0'; }
    return v;
}

static inline void fz_print_times(const char *name, const double *v, size_t n)
{
    if (!n) return;
    fprintf(stderr, "  %s[%zu]%s:", name, n, v ? "" : " (NULL)");
    for (size_t i = 0; v && i < n; i++) fprintf(stderr, " %.17g", v[i]);
    fputc('\n', stderr);
}

/* ---- the reader ------------------------------------------------------------------ */

typedef struct fz { const uint8_t *p; size_t n; } fz;

static inline uint8_t fz_u8(fz *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}
static inline uint16_t fz_u16(fz *r) { uint16_t lo = fz_u8(r); return (uint16_t)(lo | (uint16_t)fz_u8(r) << 8); }
static inline uint32_t fz_u32(fz *r) { uint32_t lo = fz_u16(r); return lo | (uint32_t)fz_u16(r) << 16; }
static inline uint64_t fz_u64(fz *r) { uint64_t lo = fz_u32(r); return lo | (uint64_t)fz_u32(r) << 32; }
static inline unsigned fz_pick(fz *r, unsigned n)
{
    if (n == 0) return 0;
    return n > 256 ? fz_u16(r) % n : fz_u8(r) % n;
}

static const double fz_special[32] = {
    0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 10.0, -10.0,
    1e-3, 1e3, 1e-10, 1e10, 1e-100, 1e100, 1e-200, 1e200,
    1e-300, 1e300, DBL_MIN, 4.9406564584124654e-324, 1e-310, DBL_MAX, -DBL_MAX, 1e154,
    1e-154, NAN, INFINITY, -INFINITY, DBL_EPSILON, 0.99999999999999989, 1.0000000000000002, 0.1,
};

static inline double fz_dbl(fz *r)
{
    unsigned t = fz_u8(r);
    if (t < 32) return fz_special[t];
    if (t < 224) {
        unsigned k = (t - 32) >> 1, neg = (t - 32) & 1, b = fz_u8(r);
        double v = (1.0 + b / 256.0) * pow(10.0, k / 4.0 - 12.0);
        return neg ? -v : v;
    }
    uint64_t bits = fz_u64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* A value in [a, b] most of the time, anything otherwise. */
static inline double fz_within(fz *r, double a, double b)
{
    unsigned t = fz_u8(r);
    if (t < 192) {
        double f = (256.0 * t + fz_u8(r)) / 49151.0;
        return a + f * (b - a);
    }
    return fz_dbl(r);
}

/* n <= max times into v (n read first): each inside [lo, hi] most of the time
 * (fz_within), insertion-sorted in the direction dir when sorted. */
static inline size_t fz_times(fz *r, double *v, size_t max, double lo, double hi, int sorted, double dir)
{
    size_t n = fz_pick(r, (unsigned)max + 1);
    for (size_t i = 0; i < n; i++) v[i] = fz_within(r, lo, hi);
    if (sorted)
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && dir * (v[j] - v[j - 1]) < 0; j--) { double x = v[j]; v[j] = v[j - 1]; v[j - 1] = x; }
    return n;
}

/* ---- a checking allocator ------------------------------------------------------------ */

/* Keeps each block's size in a header and checks that free/realloc get that size
 * back (nde promises the size to allocators), fails the fail_at-th call (1-based; 0
 * never) and every request above `limit` bytes, and counts live blocks. */
typedef struct fz_alloc {
    nde_allocator a;
    size_t calls, fail_at, live, limit;
} fz_alloc;

#define FZ_HDR 16

static void *fz_alloc_fn(size_t size, void *user)
{
    fz_alloc *fa = user;
    fa->calls++;
    FZ_CHECK(size > 0, "allocation of 0 bytes requested");
    if ((fa->fail_at && fa->calls == fa->fail_at) || size > fa->limit) return NULL;
    unsigned char *p = malloc(size + FZ_HDR);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    fa->live++;
    return p + FZ_HDR;
}
static void fz_free_fn(void *ptr, size_t size, void *user)
{
    fz_alloc *fa = user;
    if (!ptr) return;
    unsigned char *p = (unsigned char *)ptr - FZ_HDR;
    size_t had;
    memcpy(&had, p, sizeof had);
    FZ_CHECK(had == size, "free of a %zu-byte block told size %zu", had, size);
    FZ_CHECK(fa->live > 0, "more frees than allocations");
    fa->live--;
    free(p);
}
static void *fz_realloc_fn(void *ptr, size_t old_size, size_t new_size, void *user)
{
    fz_alloc *fa = user;
    if (!ptr) return fz_alloc_fn(new_size, user);
    unsigned char *p = (unsigned char *)ptr - FZ_HDR;
    size_t had;
    memcpy(&had, p, sizeof had);
    FZ_CHECK(had == old_size, "realloc of a %zu-byte block told old size %zu", had, old_size);
    fa->calls++;
    if ((fa->fail_at && fa->calls == fa->fail_at) || new_size > fa->limit) return NULL;
    unsigned char *q = realloc(p, new_size + FZ_HDR);
    if (!q) return NULL;
    memcpy(q, &new_size, sizeof new_size);
    return q + FZ_HDR;
}

/* Decodes an allocator: NULL (malloc/free), or the checking one, with or without
 * realloc, failing some call or none. Requests above 256 MiB always fail, so that
 * huge counts end in NDE_ENOMEM instead of exhausting the machine. */
static inline const nde_allocator *fz_alloc_decode(fz *r, fz_alloc *fa)
{
    unsigned mode = fz_u8(r);
    memset(fa, 0, sizeof *fa);
    fa->a.alloc = fz_alloc_fn;
    fa->a.free = fz_free_fn;
    fa->a.realloc = (mode & 2) ? NULL : fz_realloc_fn;
    fa->a.user = fa;
    fa->limit = (size_t)256 << 20;
    fa->fail_at = (mode & 4) ? 1u + (mode >> 3) : 0;
    return (mode & 1) ? &fa->a : NULL;
}

/* ---- error buffers -------------------------------------------------------------------- */

#define FZ_ERRBUF_MAX 96
#define FZ_CANARY 0xA5

/* A caller's message buffer of a decoded size (0..FZ_ERRBUF_MAX, or none), filled
 * with a canary so that writes past errbuf_size and a missing message both show. */
typedef struct fz_errbuf {
    int given;
    size_t size;
    char buf[FZ_ERRBUF_MAX + 16];
} fz_errbuf;

static inline void fz_errbuf_decode(fz *r, fz_errbuf *e)
{
    unsigned m = fz_u8(r);
    e->given = m != 0;
    e->size = m == 0 ? 0 : (m < 200 ? FZ_ERRBUF_MAX : (size_t)(m - 200) % (FZ_ERRBUF_MAX + 1));
    memset(e->buf, FZ_CANARY, sizeof e->buf);
}

/* After a call returning rc: nothing written past size; an error left a non-empty,
 * terminated message when there was room for one. */
static inline void fz_errbuf_check(const fz_errbuf *e, int rc, const char *what)
{
    for (size_t i = e->size; i < sizeof e->buf; i++)
        FZ_CHECK((unsigned char)e->buf[i] == FZ_CANARY, "%s wrote errbuf[%zu] past errbuf_size %zu",
                 what, i, e->size);
    if (e->given && rc < 0 && e->size >= 2) {
        FZ_CHECK(memchr(e->buf, '\0', e->size) != NULL, "%s left errbuf unterminated (rc %d)", what, rc);
        FZ_CHECK(e->buf[0] != '\0' && (unsigned char)e->buf[0] != FZ_CANARY,
                 "%s returned %d (%s) without a message", what, rc, nde_status_str(rc));
    }
}

#endif
