/* Private: the one integrate loop, written once against a stepper interface that every
 * method family implements (explicit RK in src/ode/erk_stepper.c; the implicit, SDE
 * and reversible families plug in the same way).
 *
 * Layers (GSL odeiv2's step -> control -> evolve, ARKODE's step modules):
 *   nde__int_ops        one family's step operations (this file)
 *   controller.c        PID control and the automatic initial step (also public)
 *   output.c            saved points, event records, the dense store, solution access
 *   events.c            crossing detection and root-finding on the step's interpolant
 *   validate.c          argument checks with detailed messages
 *   loop.c              the solver object: create / reset / step / solve
 *
 * Time inside the loop runs forwards: a backward solve uses s = dir * t and the
 * right-hand side f~(s, y) = dir * f(dir * s, y), so every comparison is forward and
 * steppers never see the direction. */
#ifndef NDE_SRC_INTEGRATE_INTERNAL_H
#define NDE_SRC_INTEGRATE_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "nde/ode.h"

/* ---- the stepper interface --------------------------------------------------------- */

typedef struct nde__int_stepper nde__int_stepper;

/* What the loop asks of a stepper after an accepted step (bit flags). */
enum {
    NDE__INT_NEED_DENSE = 1u,  /* write the step's interpolant into P */
    NDE__INT_CONTINUE = 2u     /* the next attempt starts at (s + h, y1): prepare it (FSAL) */
};

/* Problem kinds a method family can integrate (nde__int_ops.problems). */
enum { NDE__INT_PROBLEM_ODE = 1u, NDE__INT_PROBLEM_SDE = 2u, NDE__INT_PROBLEM_LANGEVIN = 4u };
/* Parts of an nde_ode beyond f that a family can use (nde__int_ops.features); the
 * validation rejects a problem that sets a part its method's family lacks. */
enum { NDE__INT_FEATURE_MASS = 1u, NDE__INT_FEATURE_IMEX = 2u,
       NDE__INT_FEATURE_LINSOLVE = 4u };   /* the caller's linear solver (nde_options.lin_setup) */

/* One family's operations. Every function returns 0, or the first nonzero code of the
 * right-hand side (> 0: "retry smaller", < 0: stop), which the loop turns into a
 * status and a message. Nothing here allocates: the loop gives each stepper one block
 * of `size` bytes at create time. */
typedef struct nde__int_ops {
    unsigned problems;                      /* NDE__INT_PROBLEM_* it can integrate */
    unsigned features;                      /* NDE__INT_FEATURE_* it can use */
    /* Bytes of state for method m and dimension dim; 0 on size overflow. */
    size_t (*size)(const nde_method *m, size_t dim);
    /* Lays the state out in st->state (size bytes, aligned for double). */
    void (*init)(nde__int_stepper *st);
    /* Degree of the interpolant written by accept into P ((degree + 1) x dim
     * monomial coefficients in theta: y(s + theta h) = sum_j theta^j P_j). */
    int (*dense_degree)(const nde_method *m);
    /* Makes (s, y) the start of the next attempt from scratch (first step, after a
     * jump or an event): evaluates f(s, y) when the family needs it. */
    int (*start)(nde__int_stepper *st, double s, const double *y);
    /* f(s, y) of the current start (valid after start or an accept that kept it);
     * NULL if the family keeps none (the loop then evaluates it for the initial step). */
    const double *(*start_f)(const nde__int_stepper *st);
    /* One attempt over [s, s + h] from y, writing y1 and, when err != NULL, the scaled
     * error norm (accept iff <= 1; +Inf when anything is not finite). The start stays
     * valid after a rejected attempt. */
    int (*attempt)(nde__int_stepper *st, double s, double h, const double *y, double *y1,
                   double *err);
    /* After an accepted attempt: writes the interpolant into P (NEED_DENSE) and, with
     * CONTINUE, makes (s + h, y1) the next start where it can do so cheaply (FSAL, or
     * f(s + h, y1) when the family needs it anyway); *start_valid says whether it did.
     * A "retry smaller" code from f here is reported as is. */
    int (*accept)(nde__int_stepper *st, double s, double h, const double *y,
                  const double *y1, unsigned what, double *P, int *start_valid);
    /* Optional (NULL: the family records no stages): the number of dim-vectors that
     * describe an accepted attempt (explicit RK: its stages k_0 .. k_{s-1}), and a copy
     * of them, in order, called after an accepted attempt and before accept. */
    size_t (*record_vectors)(const nde_method *m);
    void (*record)(const nde__int_stepper *st, double *dst);
    /* Optional (NULL: the loop's PID controller on err): the family's own step-size (and
     * order) control - Radau's predictive controller, BDF's and extrapolation's order
     * selection. Called after every attempt of an adaptive solve with the attempt's h,
     * its scaled error (+Inf after a failed attempt) and whether it was accepted (for an
     * accepted one after accept); returns the factor (> 0) for the next step. The loop
     * still applies dtmin, dtmax and the clipping to step_ts, ts and t1. */
    double (*step_factor)(nde__int_stepper *st, double h, double err, int accepted);
    /* Optional (NULL: size): the bytes of state for this problem and these options
     * (a family whose workspace depends on them: a mass matrix, banded Jacobians);
     * 0 on size overflow. When set, the loop calls it instead of size. */
    size_t (*size_problem)(const nde_method *m, const nde_ode *ode, const nde_options *o);
    /* Optional: called once per solve after the first start at (s, y): checks what
     * the family needs of y0 (a DAE's algebraic equations), returning NDE_OK or a
     * status (NDE_EINVAL, a right-hand side's code, ...) with a message in msg
     * (NDE_MESSAGE_MAX bytes), with which the solve fails. */
    int (*check_start)(nde__int_stepper *st, double s, const double *y, char *msg);
} nde__int_ops;

/* A stepper instance: the method, the (forward-time) problem and the family's state. */
struct nde__int_stepper {
    const nde_method *m;
    size_t dim;
    nde_rhs f; void *user;     /* forward-time right-hand side */
    const nde_ode *ode;        /* the caller's problem (jac, mass, f_explicit), in the
                                  caller's time t = dir * s: a family that calls them
                                  maps time and signs itself (f~ = dir f(dir s, y),
                                  J~ = dir J(dir s, y); M is unchanged) */
    double dir;                /* +1 forward, -1 backward */
    unsigned problem_kind;     /* NDE__INT_PROBLEM_* being integrated */
    const void *problem;       /* the family's own problem beyond `ode` (an SDE and its
                                  Brownian path), untouched by the loop; NULL for ODEs */
    double rtol, atol;         /* for the error norm */
    size_t err_dim;            /* the norm covers components [0, err_dim): dim, or fewer
                                  for a seminorm (the backsolve adjoint's y and a only) */
    nde_stats *stats;          /* the loop's counters (nfe, njac, ...) */
    int dense_hint;            /* 1 when the solve may ask for interpolants (dense output,
                                  save times, events): a family whose interpolant's accuracy
                                  limits its steps (gbs) then controls it in attempt */
    void *state;               /* the family's block (ops->size bytes) */
    const char *why;           /* an op whose nonzero return is not the right-hand side's
                                  code says why here (a static string: "the Newton
                                  iteration diverged", "the iteration matrix is
                                  singular", "the Jacobian callback returned an error").
                                  > 0 from attempt: a failure of the family's nonlinear
                                  solver, rejected like a non-finite stage (h cut by
                                  factormin) and, when it persists, NDE_ENONLINEAR. < 0:
                                  NDE_ENONLINEAR, NDE_ENONFINITE, NDE_ECALLBACK and
                                  NDE_EDTMIN are returned as they are, other codes (a
                                  user callback's) as NDE_ECALLBACK. The loop clears it before each attempt
                                  and quotes it. */
    int want_stiffness;        /* the options ask for the stiffness test */
    double stiffness;          /* the attempt's stiffness estimate (nde_step_info), NaN
                                  when the family has no test; set by attempt */
    const nde_method *active;  /* the method that took the attempt, when the family
                                  switches between methods (auto); NULL: m */
    const nde_options *opts;   /* the solver's options (valid from init on) */
    int exact_stages;          /* set by the gradients layer (nde_ode_solve_taped): an
                                  implicit family solves its stage equations to near
                                  rounding, as for constant steps, whatever the step
                                  control, so that the solve is the smooth function of
                                  y0 and theta whose derivative the reverse pass takes */
    int new_solve;             /* set by the loop for the first start of each solve: a
                                  family that reuses work across steps (Jacobians, LU
                                  factors, convergence rates) forgets it there, so that a
                                  solve's bits do not depend on the solver's earlier
                                  solves (repeated solves, a second backward pass) */
};

/* Common descriptor of every method, whatever its family. The family's own data
 * (Butcher tableau, Rosenbrock coefficients, ...) hangs off `tableau`. */
struct nde_method {
    const char *name;
    const char *description;     /* authors, year, source of the coefficients */
    int kind;                    /* NDE_METHOD_* (include/nde/ode.h) */
    int order;                   /* order of the propagated solution */
    int embedded_order;          /* order of the error estimate's solution; 0: none. The
                                    PID exponent is 1/(embedded_order + 1) */
    int stages;                  /* f-evaluations per step (FSAL stage included) */
    int fsal;                    /* last stage is f(t1, y1), reused as the next first */
    int dense_order;             /* order of the own interpolant; 0: cubic Hermite */
    const nde__int_ops *ops;
    const void *tableau;         /* family data */
};

/* ---- step control (controller.c) ---------------------------------------------------- */

/* Deuflhard's order and step selection of the extrapolation families (ODEX's and
 * SEULEX's, Hairer-Wanner I II.9 and II IV.9; src/ode/gbs.c, src/implicit/seulex.c):
 * w, hh, a are 1-based W_j (work per unit step), H_j (the step line j proposes) and A_j
 * (the work of j lines); km the most lines, fac3 / fac4 the thresholds to lower / raise
 * the order. accept: after an accepted attempt of step H with kc lines, the next line
 * count *k and step *h_next (*reject cleared); reject: after a rejected one. */
void nde__int_extrap_accept(int km, double fac3, double fac4, const double *w, const double *hh, const double *a,
                            double H, int kc, int *k, int *reject, double *h_next);
void nde__int_extrap_reject(int km, double fac3, const double *w, const double *hh, int kc, int *k, int *reject,
                            double *h_next);

/* Gustafsson's predictive step control as Hairer's RADAU5 and RODAS run it (Hairer &
 * Wanner II, IV.8 (8.21)): radau5 and the Rosenbrock methods. reset at a (re)start;
 * reject after a rejected attempt; accept after an accepted one, given the plain factor
 * quot = h / h_new (already clipped to [lo, hi]): from the second accepted step on, the
 * predictive quot' = (h_acc / h) (err^2 / err_acc)^expo / safety, clipped alike, when it
 * gives the smaller step; returns h_new / h, never above 1 right after a rejection. */
typedef struct nde__int_predictive {
    double hacc, erracc;   /* the last accepted step and its error (floored at 1e-2) */
    size_t naccept;        /* accepted steps since the start */
    int reject;            /* the previous attempt was rejected */
} nde__int_predictive;

static inline void nde__int_predictive_reset(nde__int_predictive *p) { p->naccept = 0; p->reject = 0; }

static inline double nde__int_predictive_accept(nde__int_predictive *p, double h, double err, double quot,
                                                double lo, double hi, double safety, double expo)
{
    if (++p->naccept > 1) {
        double x = err * err / p->erracc;
        double root = expo == 0.25 ? sqrt(sqrt(x)) : pow(x, expo);   /* radau5's 1/4 as it always was */
        quot = fmax(quot, fmax(lo, fmin(hi, (p->hacc / h) * root / safety)));
    }
    p->hacc = h;
    p->erracc = fmax(1e-2, err);
    double q = 1.0 / quot;
    if (p->reject && q > 1.0) q = 1.0;
    p->reject = 0;
    return q;
}

/* The PID controller's state is the public nde_controller. setup reads the options'
 * coefficients (validated by the caller). factor: the step-size factor after an
 * attempt with scaled error err; accept: advances the history. Inline: they run once
 * per step. */
void nde__int_pid_setup(nde_controller *c, int embedded_order, const nde_options *o);

static inline double nde__int_pid_factor(const nde_controller *c, double err, int accept)
{
    if (c->pi) {
        /* b3 = 0: safety err^-b1 errold^-b2 = safety e^-b1 with e = err inv1^g, g =
         * -b2/b1 >= 0, monotone in e. inv1 >= 1, so err <= e <= err err_scale_max,
         * which decides most clipped cases without libm (the I-controller: g = 0, e =
         * err exactly). Otherwise safety exp(-b1 log e), log e = log err + g log inv1:
         * two logs and an exp, where two pows cost twice as much (the pows were 12% of
         * a vern8 solve of arenstorf, dim 4). Clipping returns what the bounds would. */
        if (accept) {
            if (err * c->err_scale_max <= c->err_grow_max) return c->fmax;
            if (err >= c->err_shrink_max) return c->fmin_accept;
        } else if (err >= c->err_reject_min) {
            return c->fmin;
        }
        double le = log(err);   /* -Inf for err = 0: f = +Inf, clipped to hi */
        if (c->b2 != 0.0 && c->inv1 != 1.0) le += (-c->b2 / c->b1) * log(c->inv1);
        double f = c->safety * exp(-c->b1 * le);
        double lo = accept ? c->fmin_accept : c->fmin, hi = accept ? c->fmax : c->safety;
        if (!(f >= lo)) f = lo;   /* also catches NaN */
        if (f > hi) f = hi;
        return f;
    }
    double inv = err == 0.0 ? INFINITY : 1.0 / err;
    double f = c->safety * pow(inv, c->b1);
    if (c->b2 != 0.0) f *= pow(c->inv1, c->b2);
    if (c->b3 != 0.0) f *= pow(c->inv2, c->b3);
    double lo = accept ? c->fmin_accept : c->fmin, hi = accept ? c->fmax : c->safety;
    if (!(f >= lo)) f = lo;   /* also catches NaN */
    if (f > hi) f = hi;
    return f;
}

/* A step within this factor of dtmax whose controller factor is at least this stays
 * at dtmax: the loop then needs no factor (no pow). */
#define NDE__INT_CAP_SLACK 1.0001
/* After an accepted step: 1 when the factor is surely >= NDE__INT_CAP_SLACK (from
 * bounds, no libm). */
static inline int nde__int_pid_beyond_cap(const nde_controller *c, double err)
{
    return c->pi && err * c->err_scale_max <= c->err_cap;
}

static inline void nde__int_pid_accept(nde_controller *c, double err)
{
    double inv = err == 0.0 ? INFINITY : 1.0 / err;
    c->inv2 = c->inv1;
    c->inv1 = (inv == 0.0 || isinf(inv)) ? 1.0 : inv;
    if (c->pi && c->b2 != 0.0) {
        /* 1 <= inv1 < 2^E with E its binary exponent + 1, so inv1^g < 2^(g E) <= 2^n
         * for the integer n = ceil(g E) (g <= 1 with d = 0, so n <= 1025): from the
         * bits, no libm call */
        uint64_t bits;
        memcpy(&bits, &c->inv1, sizeof bits);
        int E = (int)((bits >> 52) & 0x7ff) - 1022;
        double x = -c->b2 / c->b1 * (double)E;
        int n = x < 1024.0 ? (int)x : 1024;   /* x is +Inf when b1 underflows to 0 (a
                                                  denormal dcoeff alone) */
        if ((double)n < x) n++;
        if (n > 1023) c->err_scale_max = INFINITY;
        else {
            bits = (uint64_t)(n + 1023) << 52;
            memcpy(&c->err_scale_max, &bits, sizeof bits);
        }
    }
}

/* Hairer-Norsett-Wanner II.4 in time normalised by L = s1 - s0 (> 0): the automatic
 * initial step, its norms over the first err_dim components. f0 = f(s0, y0); ytmp and
 * f1 are dim scratch vectors. *h_out > 0. */
int nde__int_initial_step(nde_rhs f, void *user, size_t dim, size_t err_dim, double s0, double s1,
                          const double *y0, const double *f0, double rtol, double atol,
                          int embedded_order, double dtmin, double dtmax, double *ytmp,
                          double *f1, size_t *nfe, double *h_out);

/* RMS_i(v_i / (atol + rtol |y_i|)) without overflow or underflow in the squares. */
double nde__int_rms_scaled(const double *v, const double *y, size_t dim, double rtol,
                           double atol);

/* ---- the solver object (loop.c) ------------------------------------------------------- */

#define NDE__INT_DEFAULT_MAX_STEPS 100000
/* Initial capacity of output that grows with the number of steps. */
#define NDE__INT_INITIAL_GROWABLE 64
/* Event records reserved at setup, so that a terminal event never allocates. */
#define NDE__INT_INITIAL_EVENT_RECORDS 8

/* Dense store: one record per accepted step, [s_start, h, P_0 .. P_degree]. */
struct nde__dense {
    int degree;
    size_t dim, n, cap, rec;   /* rec: doubles per record */
    double dir, s_end;         /* last solved internal time */
    double tol_t;              /* two times closer than this are the same time */
    double *data;
};

/* Reverse-time wrapper: f~(s, y) = -f(-s, y). */
typedef struct nde__int_rev { nde_rhs f; void *user; size_t dim; } nde__int_rev;
int nde__int_rev_rhs(double s, const double *y, double *dy, void *rev);

/* Hooks of the gradients layer (see nde_solver.on_accept / on_save). */
typedef int (*nde__int_accept_hook)(void *ctx, nde_solver *S, double s, double h, const double *y,
                                    const double *y1);
typedef int (*nde__int_save_hook)(void *ctx, nde_solver *S, int inside, double theta);

struct nde_solver {
    nde_allocator al;
    const nde_method *m;
    nde_ode ode;                     /* the caller's problem, by value */
    nde_options o;                   /* the caller's options, by value; the arrays point
                                        into this object's copies */
    size_t dim, ne;
    nde__int_stepper st;
    nde__int_rev rev;
    nde_controller pid;
    int adaptive, step_to, degree;
    double dt0, dtmin, dtmax, rtol, atol;
    size_t max_steps;
    /* per solve (reset) */
    double dir, s0, s1, tol_t, s1_near;
    double *ts_s, *step_s, *jump_s;  /* internal-time copies */
    size_t n_ts, n_step, n_jump, it, istep, ijump;
    /* loop state, kept between calls of nde_solver_step */
    int phase;                       /* 0 not reset, 1 ready, 2 running, 3 finished */
    double s, h_prop;
    size_t kgrid, nonfinite_run;
    int start_valid, last_nonfinite;
    /* one block: vectors, event scratch, time copies, the stepper's state */
    void *work; size_t work_bytes;
    double *y, *y1, *P, *yev, *scratch, *g0, *g1, *gt, *theta;
    double *ts_user, *step_user, *jump_user;     /* copies of the options' arrays */
    int *dir_user, *term_user;
    /* record of accepted steps (nde_solver_record): [s, h, y_start, vectors...] each */
    unsigned record;                 /* NDE_RECORD_* */
    size_t rec_unit, rec_n, rec_cap, rec_vectors;
    double *rec;
    /* hooks of the gradients layer (src/adjoint/), NULL otherwise: every accepted step
     * [s, s + h] from y before accept (the stepper still holds its stages), and every
     * saved point, from the state (inside = 0) or from the current step's interpolant
     * at theta (inside = 1). A nonzero return fails the solve with that status. */
    nde__int_accept_hook on_accept;
    nde__int_save_hook on_save;
    void *hook_ctx;
    double save_theta;               /* theta of the interpolated point being saved */
    /* output */
    size_t out_unit;                 /* doubles per saved point: 1 + dim */
    nde_solution sol;
    char *errbuf; size_t errbuf_size;
};

/* Creates a solver; on failure returns NULL with *status and msg (NDE_MESSAGE_MAX). */
nde_solver *nde__int_create(const nde_ode *ode, const nde_options *opts, int *status,
                            char *msg);
/* A problem that is not an ODE (an SDE: kind NDE__INT_PROBLEM_SDE). The loop integrates
 * `view` like an ODE (view->f, the drift, serves the automatic initial step and the
 * reverse-time wrapper; the stepper may ignore st.f) and passes `problem` (the family's
 * own struct, which must outlive the solver) to the stepper as st.problem. The method
 * must list `kind` in its ops->problems. */
nde_solver *nde__int_create_problem(const nde_ode *view, unsigned kind, const void *problem,
                                    const nde_options *opts, int *status, char *msg);
/* nde_ode_solve: a temporary solver's solve, its output moved into sol; with the
 * hooks (may be NULL) of the gradients layer installed. */
int nde__int_solve_once(const nde_ode *ode, double t0, double t1, const double *y0,
                        const nde_options *opts, nde_solution *sol, nde__int_accept_hook on_accept,
                        nde__int_save_hook on_save, void *hook_ctx);
/* nde__int_solve_once for a problem of another kind (see nde__int_create_problem). */
int nde__int_solve_problem(const nde_ode *view, unsigned kind, const void *problem, double t0,
                           double t1, const double *y0, const nde_options *opts,
                           nde_solution *sol, nde__int_accept_hook on_accept,
                           nde__int_save_hook on_save, void *hook_ctx);
/* Restricts the error norm (and the initial step's norms) to components [0, n). */
void nde__int_set_error_dim(nde_solver *S, size_t n);
/* Fails the solver: message into sol and errbuf, status returned. */
int nde__int_fail(nde_solver *S, int status, const char *fmt, ...) NDE__PRINTF(3, 4);

/* ---- validation (validate.c) ------------------------------------------------------------ */

/* Problem and options, independent of the time span. */
int nde__int_check_setup(const nde_ode *ode, unsigned kind, const nde_method *m,
                         const nde_options *o, char *msg);
/* Time span, y0 and everything that depends on them (ts inside, directions). */
int nde__int_check_span(const nde_ode *ode, double t0, double t1, const double *y0,
                        const nde_options *o, char *msg);

/* ---- output (output.c) -------------------------------------------------------------------- */

int nde__int_out_reserve(nde_solver *S, size_t need);
int nde__int_save_point(nde_solver *S, double s, const double *y);
int nde__int_save_ts_upto(nde_solver *S, double s_from, double h, double s_to,
                          const double *y_to, int have_P);
int nde__int_event_reserve(nde_solver *S);
int nde__int_event_record(nde_solver *S, double s, int which, const double *y);
int nde__int_dense_create(nde_solver *S);
int nde__int_dense_append(nde_solver *S, double s, double h);
/* Frees what sol owns with allocator al and zeroes its arrays. */
void nde__int_solution_release(nde_solution *sol);

/* ---- events (events.c) ---------------------------------------------------------------------- */

int nde__int_eval_events(nde_solver *S, double s, const double *y, double *g);
int nde__int_crossed(int direction, double ga, double gb);
/* Root of g_i on the step's interpolant (S->P) in theta in (0, 1]. */
int nde__int_locate(nde_solver *S, size_t i, double s, double h, double *theta_out);

/* Evaluates sum_j theta^j P_j (Horner). */
void nde__int_poly_eval(const double *P, int degree, size_t dim, double theta, double *y);

#endif
