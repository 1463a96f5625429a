#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NDE_VERSION_STRING
#define NDE_VERSION_STRING "0.0.0"
#endif

const char *nde_version(void) { return NDE_VERSION_STRING; }

const char *nde_status_str(int status)
{
#define NDE__STATUS_CASE(name, value, text) case value: return text;
    switch (status) { NDE_STATUS_LIST(NDE__STATUS_CASE) default: break; }
#undef NDE__STATUS_CASE
    return "unknown status";
}

static void *libc_alloc(size_t size, void *user) { (void)user; return malloc(size); }
static void *libc_realloc(void *p, size_t old_size, size_t new_size, void *user)
{ (void)user; (void)old_size; return realloc(p, new_size); }
static void libc_free(void *p, size_t size, void *user) { (void)user; (void)size; free(p); }

nde_allocator nde__allocator_resolve(const nde_allocator *a)
{
    nde_allocator r = { libc_alloc, libc_realloc, libc_free, NULL };
    if (a && a->alloc && a->free) {
        r = *a;
    }
    return r;
}

void *nde__alloc(const nde_allocator *a, size_t size)
{
    if (size == 0) return NULL;
    return a->alloc(size, a->user);
}

void *nde__calloc(const nde_allocator *a, size_t n, size_t size)
{
    if (n == 0 || size == 0 || n > (size_t)-1 / size) return NULL;
    void *p = a->alloc(n * size, a->user);
    if (p) memset(p, 0, n * size);
    return p;
}

void *nde__realloc(const nde_allocator *a, void *p, size_t old_size, size_t new_size)
{
    if (a->realloc) return a->realloc(p, old_size, new_size, a->user);
    void *q = a->alloc(new_size, a->user);
    if (!q) return NULL;
    if (p) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        a->free(p, old_size, a->user);
    }
    return q;
}

void nde__free(const nde_allocator *a, void *p, size_t size)
{
    if (p) a->free(p, size, a->user);
}

int nde__msg(char *buf, size_t size, int status, const char *fmt, ...)
{
    if (buf && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Map doubles onto a monotone integer line so that adjacent doubles differ by 1. */
static int64_t ordered_bits(double x)
{
    int64_t i;
    memcpy(&i, &x, sizeof i);
    return i < 0 ? INT64_MIN - i : i;
}

double nde__ulps_between(double a, double b)
{
    if (a == b) return 0.0;
    if (isnan(a) || isnan(b)) return INFINITY;
    int64_t ia = ordered_bits(a), ib = ordered_bits(b);
    /* subtract as integers: converting first would lose everything under ~512 ULP */
    uint64_t d = ia > ib ? (uint64_t)ia - (uint64_t)ib : (uint64_t)ib - (uint64_t)ia;
    return (double)d;
}

int nde__time_close(double a, double b, double ulps)
{
    return nde__ulps_between(a, b) <= ulps;
}

double nde__time_shift(double x, int n)
{
    if (!isfinite(x)) return x;
    int64_t i = ordered_bits(x) + n;
    /* back from the ordered line to IEEE bits */
    int64_t bits = i < 0 ? INT64_MIN - i : i;
    double r;
    memcpy(&r, &bits, sizeof r);
    if (!isfinite(r)) return n < 0 ? -INFINITY : INFINITY;   /* past +-DBL_MAX */
    return r;
}
