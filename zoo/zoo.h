/* zoo/zoo.h — the test problems of nde: one definition of each, shared by the tests,
 * the `nde` tool and the benchmarks.
 *
 * Not part of libnde: the zoo is a small static library (nde_zoo, zoo/CMakeLists.txt)
 * that the tests, tools/nde and bench/ link, and nothing installs. It depends on no nde
 * header: right-hand sides have the signature of nde_rhs and of GSL's odeiv2 function,
 * Jacobians that of nde_jac (row-major dim x dim), so the same pointers go to nde, GSL,
 * SUNDIALS and Boost alike.
 *
 * Each problem has a name, a dimension, a standard interval, y0, its right-hand side
 * (and Jacobian where implicit methods will want one), a description and its source,
 * and the oracles known for it: a closed form, a reference y(t1) with how it was
 * computed, an event and its exact time. Families:
 *   hnw        classic non-stiff problems (Hairer, Norsett & Wanner I, and Lorenz)
 *   mechanics  problems with an exact event time (falling ball, pendulum)
 *   linear     the linear advection-diffusion ring of the benchmarks (n = 1000)
 *   overhead   y' = -y in dimension 1 and 1000: solver overhead, not accuracy
 *   stiff      Robertson (to 1e5 and 1e11, and as a DAE), Van der Pol (eps = 1e-6 on
 *              [0, 2], and mu = 1000 on [0, 3000]), HIRES, the 1-D Brusselator with
 *              N = 500 and a banded Jacobian (HNW II, IV.1 and IV.10; Test Set)
 *   detest     DETEST A1-E5 (Hull, Enright, Fellen & Sedgwick 1972), in table order
 *
 * The right-hand sides that the benchmarks time and that bench/gen_refs.c integrates in
 * __float128 (lorenz, arenstorf, pleiades, linear1000) are written once, for both
 * types, in zoo/zoo_rhs.inc.
 *
 *     const zoo_problem *p = zoo_find("arenstorf");
 *     double y[ZOO_MAX_INLINE_DIM];
 *     zoo_y0(p, y);
 *     nde_ode ode = { .dim = p->dim, .f = p->f, .jac = p->jac, .user = p->user };
 *     nde_ode_solve(&ode, p->t0, p->t1, y, &o, &sol);    // compare with p->ref
 */
#ifndef NDE_ZOO_H
#define NDE_ZOO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dy/dt = f(t, y); 0 on success (the signature of nde_rhs and GSL's odeiv2 function). */
typedef int (*zoo_rhs)(double t, const double *y, double *dydt, void *user);
/* J = df/dy, row-major dim x dim: J[i * dim + j] = d f_i / d y_j (nde_jac). */
typedef int (*zoo_jac)(double t, const double *y, double *J, void *user);

/* The largest dimension of a problem whose y0 is a table (y0 != NULL). */
#define ZOO_MAX_INLINE_DIM 51
/* The largest dimension of any problem (linear1000, decay1000, bruss1d). */
#define ZOO_MAX_DIM 1000

typedef struct zoo_problem {
    const char *name;            /* unique: "lorenz", ..., DETEST's own "A1" ... "E5" */
    const char *family;          /* "hnw" "mechanics" "linear" "overhead" "stiff" "detest" */
    const char *description;     /* one line */
    const char *source;          /* where the problem is defined */
    size_t dim;
    double t0, t1;               /* the standard interval */
    const double *y0;            /* dim values; NULL: init computes them (zoo_y0 does both) */
    void (*init)(double *y0);
    zoo_rhs f;
    zoo_jac jac;                 /* NULL: none */
    void *user;                  /* problem constants, passed to f, jac, exact, event */
    int stiff;                   /* nonzero: explicit methods are stability-bound here */
    /* -- oracles */
    void (*exact)(double t, double *y, void *user);   /* closed form y(t), or NULL */
    const double *ref;           /* y(t1) computed independently, or NULL */
    const char *ref_source;      /* how ref was computed and how accurate it is */
    /* -- a scalar event g(t, y) (the terminal one of the tool's demos), or NULL */
    zoo_rhs event;               /* writes g[0] */
    int event_direction;         /* +1 up-crossing, -1 down-crossing, 0 either */
    const char *event_what;      /* what it means ("ball hits the ground") */
    double (*event_time)(void);  /* exact time of the first crossing, or NULL */
    const char *components;      /* space-separated names of y's components, or NULL */
    /* -- implicit solvers */
    const double *mass;          /* constant mass matrix M (dim x dim row-major) of
                                    M y' = f, or NULL (identity); singular: a DAE */
    size_t jac_lower, jac_upper; /* the Jacobian's bandwidths; both 0: dense */
} zoo_problem;

/* Every problem, in table order: i in [0, zoo_count()). */
size_t zoo_count(void);
const zoo_problem *zoo_at(size_t i);                  /* NULL past the end */
const zoo_problem *zoo_find(const char *name);        /* NULL if unknown or NULL */
/* The i-th problem of a family, in table order; NULL past its end. */
const zoo_problem *zoo_family_at(const char *family, size_t i);
/* Writes y0 (p->dim values): the table, or what init computes. */
void zoo_y0(const zoo_problem *p, double *y0);

/* Right-hand sides the tests also use on their own (user as noted). */
int zoo_kepler(double t, const double *y, double *dy, void *user);  /* two-body problem,
                                                        y = (x, y, x', y'); user unused */
int zoo_vdp(double t, const double *y, double *dy, void *user);     /* Van der Pol,
                                                        user = const double *mu */
/* The Kepler orbit of eccentricity e = *(const double *)user through perihelion
 * (1 - e, 0) at t = 0, by Newton on Kepler's equation E - e sin E = t. */
void zoo_kepler_exact(double t, double *y, void *user);

#ifdef __cplusplus
}
#endif
#endif
