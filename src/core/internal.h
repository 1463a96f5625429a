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

/* A resolved allocator: a NULL or zeroed nde_allocator becomes malloc/realloc/free. */
nde_allocator nde__allocator_resolve(const nde_allocator *a);
void *nde__alloc(const nde_allocator *a, size_t size);            /* NULL on failure or size 0 */
void *nde__calloc(const nde_allocator *a, size_t n, size_t size); /* zeroed; overflow-checked */
void *nde__realloc(const nde_allocator *a, void *p, size_t old_size, size_t new_size);
void  nde__free(const nde_allocator *a, void *p, size_t size);

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
