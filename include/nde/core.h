/* nde/core.h — status codes, messages, allocator, statistics.
 *
 * Every nde function that can fail returns an int status: 0 (NDE_OK) on success,
 * > 0 for a normal non-error outcome (NDE_EVENT: a terminal event stopped the solve),
 * < 0 for an error. nde_status_str() names a status; functions that fail also leave a
 * detailed human message ("rtol must be >= 0 and finite, got -0.001") where the caller can read
 * it: in nde_solution (nde_solution_message) or in a caller-supplied buffer
 * (nde_options.errbuf). The library never prints, aborts or exits, and keeps no
 * mutable global state: distinct objects may be used from distinct threads.
 *
 * Memory: every allocation goes through an nde_allocator (NULL means malloc/free).
 * Objects allocate when created; solver step loops do not allocate (the one documented
 * exception is output that grows with the number of steps, see NDE_SAVE_STEPS).
 *
 * Example: an allocator that counts the bytes nde holds, and a status by name.
 *
 *     static size_t held;                    // bytes nde holds through the allocator
 *     static void *count_alloc(size_t n, void *u) { (void)u; held += n; return malloc(n); }
 *     static void count_free(void *p, size_t n, void *u) { (void)u; if (p) held -= n; free(p); }
 *
 *     nde_allocator a = { count_alloc, NULL, count_free, NULL };  // NULL realloc: alloc+copy+free
 *     nde_stepper *s = nde_stepper_create(nde_method_find("tsit5"), 3, &a);
 *     printf("nde %s: a tsit5 stepper of dimension 3 holds %zu bytes\n", nde_version(), held);
 *     nde_stepper_free(s);                   // held is 0 again
 *     printf("%d: %s\n", NDE_EINVAL, nde_status_str(NDE_EINVAL));   // "invalid argument"
 */
#ifndef NDE_CORE_H
#define NDE_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's public functions: libnde is built with hidden visibility, so
 * only these are exported from the shared library (nothing of its private nde__*). */
#if defined(_WIN32) && defined(NDE_BUILDING_SHARED)
#define NDE_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define NDE_API __attribute__((visibility("default")))
#else
#define NDE_API
#endif

/* One list generates the enum and nde_status_str (libuv's pattern). */
#define NDE_STATUS_LIST(X)                                                        \
    X(NDE_OK,            0, "ok")                                                 \
    X(NDE_EVENT,         1, "terminal event")                                     \
    X(NDE_EINVAL,       -1, "invalid argument")                                   \
    X(NDE_ENOMEM,       -2, "out of memory")                                      \
    X(NDE_EMAXSTEPS,    -3, "maximum number of steps reached")                    \
    X(NDE_EDTMIN,       -4, "step size fell below the minimum")                   \
    X(NDE_ENONFINITE,   -5, "non-finite values (NaN/Inf) could not be avoided")   \
    X(NDE_ECALLBACK,    -6, "a user callback asked to stop")                      \
    X(NDE_ENONLINEAR,   -7, "nonlinear solver failed to converge")                \
    X(NDE_EUNSUPPORTED, -8, "operation not supported by this method or problem")

#define NDE__STATUS_ENUM(name, value, text) name = value,
enum { NDE_STATUS_LIST(NDE__STATUS_ENUM) };
#undef NDE__STATUS_ENUM

/* Short fixed text for a status code ("invalid argument"); "unknown status" otherwise.
 * alloc: none · errors: none · thread: safe */
NDE_API const char *nde_status_str(int status);

/* Size of the detailed-message buffers kept by nde objects. */
#define NDE_MESSAGE_MAX 256

/* Allocator indirection. All three functions receive `user`. realloc may be NULL,
 * in which case nde uses alloc + copy + free. A zeroed struct or a NULL pointer
 * means the C library's malloc/realloc/free. */
typedef struct nde_allocator {
    void *(*alloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t old_size, size_t new_size, void *user);
    void  (*free)(void *ptr, size_t size, void *user);
    void *user;
} nde_allocator;

/* Work counters filled by every solve. */
typedef struct nde_stats {
    size_t steps;     /* attempted steps (accepted + rejected) */
    size_t accepted;  /* accepted steps */
    size_t rejected;  /* rejected steps (error too large, non-finite stage, callback > 0) */
    size_t nfe;       /* right-hand-side (or model) evaluations */
    size_t njac;      /* Jacobian evaluations */
    size_t nlu;       /* LU factorisations */
    size_t nnewton;   /* Newton iterations */
    size_t stiff_steps; /* accepted steps that the stiffness test found stiff (explicit
                           methods with a test, dopri5 and tsit5, when the options ask for
                           it: detect_stiffness or on_step_info; else 0) */
} nde_stats;

/* Library version, "MAJOR.MINOR.PATCH". alloc: none · thread: safe */
NDE_API const char *nde_version(void);

#ifdef __cplusplus
}
#endif
#endif /* NDE_CORE_H */
