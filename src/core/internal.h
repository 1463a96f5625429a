/* Private helpers shared by all modules: allocation through nde_allocator,
 * detailed messages, ULP-relative time comparison. */
#ifndef NDE_SRC_CORE_INTERNAL_H
#define NDE_SRC_CORE_INTERNAL_H

#include <stdarg.h>
#include "nde/core.h"

#if defined(__GNUC__)
#define NDE__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NDE__PRINTF(f, a)
#endif

/* Loops over arrays built for AVX-512, AVX2 and the baseline at -O3 (GCC 12's -O2 leaves
 * loops of unknown length scalar), picked at load time (ifunc). Elementwise code, or sums
 * in a fixed order, gives the same bits in every version: ISO C mode contracts no
 * multiply-add and nothing is reassociated. Only for static functions: GCC exports a
 * non-static clone's ifunc and resolver whatever the visibility. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NDE__VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
#else
#define NDE__VEC_CLONES
#endif

/* A resolved allocator: a NULL or zeroed nde_allocator becomes malloc/realloc/free. */
nde_allocator nde__allocator_resolve(const nde_allocator *a);
void *nde__alloc(const nde_allocator *a, size_t size);            /* NULL on failure or size 0 */
void *nde__calloc(const nde_allocator *a, size_t n, size_t size); /* zeroed; overflow-checked */
void *nde__realloc(const nde_allocator *a, void *p, size_t old_size, size_t new_size);
void  nde__free(const nde_allocator *a, void *p, size_t size);

/* Checked size arithmetic for every size computed from caller input (workspaces,
 * tables, batch x dim): *out = a*b or a+b, returning 0, or -1 on overflow (then *out
 * is SIZE_MAX, so a forgotten check still fails the allocation instead of wrapping). */
static inline int nde__size_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > (size_t)-1 / a) { *out = (size_t)-1; return -1; }
    *out = a * b;
    return 0;
}
static inline int nde__size_add(size_t a, size_t b, size_t *out)
{
    if (b > (size_t)-1 - a) { *out = (size_t)-1; return -1; }
    *out = a + b;
    return 0;
}
/* *acc += a*b, checked; -1 (and *acc = SIZE_MAX) on overflow. Chains: once one call
 * fails, the following ones fail too. */
static inline int nde__size_muladd(size_t *acc, size_t a, size_t b)
{
    size_t p;
    if (nde__size_mul(a, b, &p) || nde__size_add(*acc, p, acc)) { *acc = (size_t)-1; return -1; }
    return 0;
}

/* Formats a message into buf (size NDE_MESSAGE_MAX or given) and returns status. */
int nde__msg(char *buf, size_t size, int status, const char *fmt, ...) NDE__PRINTF(4, 5);

/* Number of representable doubles between a and b (saturating); 0 when equal. */
double nde__ulps_between(double a, double b);
/* a and b are within `ulps` representable doubles of each other. */
int nde__time_close(double a, double b, double ulps);

/* x moved by n representable doubles (n < 0: downwards); saturates at +-Inf. */
double nde__time_shift(double x, int n);

/* ULP window within which two times count as the same (Diffrax #660 uses 100). */
#define NDE__TIME_ULPS 100.0

#endif
