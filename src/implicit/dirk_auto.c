/* `auto`: automatic stiffness switching, LSODA's idea (Petzold 1983) on Runge-Kutta
 * pairs of equal order: tsit5 while the problem is not stiff, kvaerno5 while it is. Both
 * are 5(4) pairs, so the loop's one PID controller (exponent 1/5) serves both, and a
 * switch only restarts the stepper (f is evaluated anew at the switch point).
 *
 * Tests (each after an accepted step):
 *   tsit5 -> kvaerno5  Hairer's stiffness test (src/ode/erk_stepper.c) finds h |lambda|
 *                      beyond tsit5's stability boundary on AUTO_STIFF_RUN consecutive
 *                      steps (dopri5.f's count of 15 before it declares a problem stiff);
 *   kvaerno5 -> tsit5  the bound h |J|_inf on h rho (nde__dirk_hrho; LSODA's test from
 *                      a Jacobian norm) stays below
 *                      AUTO_NONSTIFF_FRACTION of tsit5's boundary on AUTO_NONSTIFF_RUN
 *                      consecutive steps (6: the non-stiff count after which dopri5.f
 *                      forgets a stiffness suspicion): tsit5 could take these steps,
 *                      with room for the controller to grow them by 1 / FRACTION.
 * The step observer sees the switch points: nde_step_info.method is the method that took
 * each step, and nde_step_info.stiffness is h rho over tsit5's boundary in both modes. */
#include "implicit/internal.h"
#include "ode/erk.h"

#include <math.h>
#include <string.h>

#define AUTO_STIFF_RUN 15
#define AUTO_NONSTIFF_RUN 6
#define AUTO_NONSTIFF_FRACTION 0.5

enum { AUTO_EXPLICIT = 0, AUTO_IMPLICIT = 1 };

typedef struct auto_state {
    nde__int_stepper sub[2];   /* tsit5, kvaerno5 */
    const nde__int_ops *ops[2];
    double boundary;           /* tsit5's stability boundary */
    int mode;                  /* AUTO_*: the stepper in use */
    int run;                   /* consecutive accepted steps that point to the other mode */
} auto_state;

static size_t align_up(size_t n)
{
    return (n + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static const nde_method *sub_method(int i)
{
    return i == AUTO_EXPLICIT ? nde_method_find("tsit5") : &nde__kvaerno5;
}

static size_t auto_size(const nde_method *m, size_t dim)
{
    (void)m;
    size_t n = align_up(sizeof(auto_state));
    for (int i = 0; i < 2; i++) {
        const nde_method *sm = sub_method(i);
        size_t b = sm->ops->size(sm, dim);
        if (!b || nde__size_add(n, align_up(b), &n)) return 0;
    }
    return n;
}

/* The sub-steppers see the problem as the loop set it up (reset changes f and dir). */
static void sync(nde__int_stepper *st)
{
    auto_state *A = st->state;
    for (int i = 0; i < 2; i++) {
        nde__int_stepper *u = &A->sub[i];
        u->dim = st->dim;
        u->f = st->f; u->user = st->user;
        u->ode = st->ode; u->dir = st->dir;
        u->problem_kind = st->problem_kind; u->problem = st->problem;
        u->rtol = st->rtol; u->atol = st->atol; u->err_dim = st->err_dim;
        u->stats = st->stats;
        u->want_stiffness = 1;
    }
}

static void auto_init(nde__int_stepper *st)
{
    auto_state *A = st->state;
    char *p = (char *)st->state + align_up(sizeof(auto_state));
    for (int i = 0; i < 2; i++) {
        nde__int_stepper *u = &A->sub[i];
        memset(u, 0, sizeof *u);
        u->m = sub_method(i);
        A->ops[i] = u->m->ops;
        u->state = p;
        p += align_up(A->ops[i]->size(u->m, st->dim));
    }
    sync(st);
    for (int i = 0; i < 2; i++) A->ops[i]->init(&A->sub[i]);
    A->boundary = nde__erk_tab(A->sub[AUTO_EXPLICIT].m)->stiff_boundary;
    A->mode = AUTO_EXPLICIT;
    A->run = 0;
}

/* tsit5's interpolant is of degree 4; kvaerno5's Hermite cubic leaves P_4 = 0. */
static int auto_dense_degree(const nde_method *m)
{
    (void)m;
    return 4;
}

static int auto_start(nde__int_stepper *st, double s, const double *y)
{
    auto_state *A = st->state;
    sync(st);
    return A->ops[A->mode]->start(&A->sub[A->mode], s, y);
}

static const double *auto_start_f(const nde__int_stepper *st)
{
    const auto_state *A = st->state;
    return A->ops[A->mode]->start_f(&A->sub[A->mode]);
}

static int auto_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                        double *err)
{
    auto_state *A = st->state;
    nde__int_stepper *u = &A->sub[A->mode];
    u->why = NULL;
    u->stiffness = NAN;
    int rc = A->ops[A->mode]->attempt(u, s, h, y, y1, err);
    st->why = u->why;
    st->active = u->m;
    st->stiffness = A->mode == AUTO_EXPLICIT ? u->stiffness : nde__dirk_hrho(u) / A->boundary;
    return rc;
}

static int auto_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                       unsigned what, double *P, int *start_valid)
{
    auto_state *A = st->state;
    nde__int_stepper *u = &A->sub[A->mode];
    int rc = A->ops[A->mode]->accept(u, s, h, y, y1, what, P, start_valid);
    if (rc) return rc;
    if ((what & NDE__INT_NEED_DENSE) && A->mode == AUTO_IMPLICIT)
        memset(P + 4 * st->dim, 0, st->dim * sizeof *P);
    double v = st->stiffness;
    int other = A->mode == AUTO_EXPLICIT ? v > 1.0 : v < AUTO_NONSTIFF_FRACTION;
    A->run = other ? A->run + 1 : 0;
    if (A->run >= (A->mode == AUTO_EXPLICIT ? AUTO_STIFF_RUN : AUTO_NONSTIFF_RUN)) {
        A->mode = 1 - A->mode;
        A->run = 0;
        *start_valid = 0;   /* the loop starts the other stepper at (s + h, y1) */
    }
    return 0;
}

static const nde__int_ops auto_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .size = auto_size,
    .init = auto_init,
    .dense_degree = auto_dense_degree,
    .start = auto_start,
    .start_f = auto_start_f,
    .attempt = auto_attempt,
    .accept = auto_accept,
};

const nde_method nde__auto = {
    .name = "auto",
    .description = "tsit5, switching to kvaerno5 while Hairer's test finds the problem stiff (LSODA's idea)",
    .kind = NDE_METHOD_SWITCHING, .ops = &auto_ops, .tableau = NULL,
    .stages = 7, .order = 5, .embedded_order = 4, .fsal = 0, .dense_order = 0,
};
