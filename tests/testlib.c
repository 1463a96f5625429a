#include "testlib.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int test_failures_now;
static int n_pass, n_fail;

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    test_failures_now++;
}

void test_run(const char *name, void (*fn)(void))
{
    test_failures_now = 0;
    fn();
    if (test_failures_now) { n_fail++; printf("FAIL %s\n", name); }
    else { n_pass++; printf("ok   %s\n", name); }
    fflush(stdout);
}

int test_summary(void)
{
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

static void *ta_alloc(size_t size, void *user)
{
    test_alloc *ta = user;
    ta->calls++;
    if (ta->fail_at && ta->calls == ta->fail_at) return NULL;
    void *p = malloc(size);
    if (p) { ta->live++; ta->live_bytes += size; }
    return p;
}
static void *ta_realloc(void *ptr, size_t old_size, size_t new_size, void *user)
{
    test_alloc *ta = user;
    ta->calls++;
    if (ta->fail_at && ta->calls == ta->fail_at) return NULL;
    void *p = realloc(ptr, new_size);
    if (p) {
        if (!ptr) ta->live++;
        ta->live_bytes += new_size - old_size;
    }
    return p;
}
static void ta_free(void *ptr, size_t size, void *user)
{
    test_alloc *ta = user;
    if (!ptr) return;
    ta->live--;
    ta->live_bytes -= size;
    free(ptr);
}
void test_alloc_init(test_alloc *ta)
{
    memset(ta, 0, sizeof *ta);
    ta->a.alloc = ta_alloc;
    ta->a.realloc = ta_realloc;
    ta->a.free = ta_free;
    ta->a.user = ta;
}
