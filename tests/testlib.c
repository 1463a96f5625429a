#define NDE_TESTLIB_OWN_MAIN   /* this file defines the real main */
#include "testlib.h"
#include "zoo.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int test_failures_now;
static int n_pass, n_fail;

/* The command line: --list, or the names of the tests to run (none: run all). */
static int listing;
static char **wanted;          /* argv entries naming tests */
static int n_wanted;
static unsigned char *matched; /* matched[i]: some RUN had the name wanted[i] */

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

/* Whether the command line selects the test `name` (and note that it was seen). */
static int selected(const char *name)
{
    int hit = n_wanted == 0;
    for (int i = 0; i < n_wanted; i++)
        if (strcmp(wanted[i], name) == 0) { matched[i] = 1; hit = 1; }
    return hit;
}

void test_run(const char *name, void (*fn)(void))
{
    if (listing) { printf("%s\n", name); return; }
    if (!selected(name)) return;
    test_failures_now = 0;
    fn();
    if (test_failures_now) { n_fail++; printf("FAIL %s\n", name); }
    else { n_pass++; printf("ok   %s\n", name); }
    fflush(stdout);
}

int test_summary(void)
{
    if (listing) return 0;
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

int test_listing(void) { return listing; }

static void usage(FILE *to, const char *prog)
{
    fprintf(to, "usage: %s [--list] [test_name ...]\n"
                "  no arguments   run every test of this program\n"
                "  test_name ...  run only the tests named\n"
                "  --list         print the names of the tests, one a line\n", prog);
}

int main(int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "test";
    wanted = calloc((size_t)(argc > 0 ? argc : 1), sizeof *wanted);
    matched = calloc((size_t)(argc > 0 ? argc : 1), 1);
    if (!wanted || !matched) { fprintf(stderr, "%s: out of memory\n", prog); return 2; }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) listing = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, prog);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[i]);
            usage(stderr, prog);
            return 2;
        } else wanted[n_wanted++] = argv[i];
    }
    if (listing && n_wanted) {
        fprintf(stderr, "%s: --list takes no test names\n", prog);
        return 2;
    }
    int rc = test_main();
    for (int i = 0; i < n_wanted; i++)
        if (!matched[i]) {
            fprintf(stderr, "%s: no test named '%s' (%s --list prints the names)\n", prog,
                    wanted[i], prog);
            rc = 2;
        }
    free(wanted);
    free(matched);
    return rc;
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

int test_solves_odes(const nde_method *m)
{
    int k = nde_method_kind(m);
    return k != NDE_METHOD_SDE && k != NDE_METHOD_LANGEVIN;
}

nde_ode test_zoo_ode(const char *name)
{
    const zoo_problem *p = zoo_find(name);
    if (!p) {
        test_fail(__FILE__, __LINE__, "no zoo problem '%s'", name);
        return (nde_ode){ .dim = 0 };
    }
    return (nde_ode){ .dim = p->dim, .f = p->f, .jac = p->jac, .user = p->user, .mass = p->mass };
}
