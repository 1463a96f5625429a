/* Private: gradients through solves. tape.c holds the tape (the forward pass's
 * records, checkpoints and the backward driver); erk_reverse.c runs one explicit
 * Runge-Kutta step forwards again and backwards through its stages, interpolant,
 * error estimate and stiffness estimate; backsolve.c and reversible.c are the other two
 * adjoint kinds; implicit.c the implicit adjoint of steady states (NDE_ADJOINT_IMPLICIT);
 * sde.c, sde_reversible.c and sde_backsolve.c the first three for SDEs
 * (nde_sde_solve_taped / nde_sde_backward). All times are the loop's internal ones
 * (s = dir t, f~(s, y) = dir f(dir s, y)), so a backward-in-time solve needs nothing
 * special beyond the sign of the user's VJP. */
#ifndef NDE_SRC_ADJOINT_INTERNAL_H
#define NDE_SRC_ADJOINT_INTERNAL_H

#include "nde/adjoint.h"
#include "implicit/internal.h"
#include "ode/erk.h"
#include "ode/gbs.h"
#include "random/internal.h"
#include "sde/internal.h"

/* The differentiated problem in internal time: f~ and its VJP. */
typedef struct nde__adj_problem {
    const nde_method *m;
    const nde__erk_tableau *tab;
    size_t dim, np;
    double dir;
    nde_rhs f; void *fuser;          /* f~ (the loop's right-hand side) */
    nde_vjp vjp; void *user;         /* the user's VJP, in t */
    nde_rhs fe; void *feuser;        /* fe~ (the explicit part of an IMEX split; NULL: none) */
    nde_vjp vjp_e;                   /* the user's VJP of f_explicit, in t */
    nde_jac jac;                     /* the user's Jacobian, in t (NULL: none) */
    int autonomous;                  /* nde_options.autonomous of the taped solve */
    double rtol, atol;               /* the error norm's scale (rtol 0: atol alone) */
    size_t nfe, nvjp;                /* work of the backward pass */
} nde__adj_problem;

/* Scratch of one step: stage slots (ds + 1 of them, ds the dense stages or s) for the
 * stages K, their inputs Y and their cotangents Kbar, and dim vectors. */
typedef struct nde__adj_step {
    double **K, **Y, **Kbar;         /* nslots each */
    double *y1, *ybar0, *Yb_bar, *Ya_bar, *tmp, *neg, *Pbar;   /* Pbar: (degree+1) x dim */
    double *theta_tmp;               /* np */
    int nslots, degree;
} nde__adj_step;

size_t nde__adj_step_doubles(const nde_method *m, size_t dim, size_t np, int *nslots, int *degree);
void nde__adj_step_init(nde__adj_step *w, const nde_method *m, size_t dim, double *mem,
                        double **slot_ptrs, int nslots, int degree);

/* y1 of the step [s, s + h] from y0, with its stages in w (bitwise the forward
 * solve's). dense: also the interpolant's extra stages. Returns 0 or f's code. */
int nde__adj_step_forward(nde__adj_problem *p, nde__adj_step *w, double s, double h,
                          const double *y0, int dense);

/* The user's VJP of f~ at (s, Y) with cotangent cot into out (zeros without a call when
 * cot is zero), adding the parameter part to theta_bar (NULL: not wanted). f~ = dir
 * f(dir s, y), so this is the user's VJP at t = dir s with cotangent dir cot; neg (dim)
 * and theta_tmp (np) are scratch. Returns 0 or the VJP's code. */
int nde__adj_vjp(nde__adj_problem *p, double s, const double *Y, const double *cot, double *out,
                 double *neg, double *theta_tmp, double *theta_bar);
/* As nde__adj_vjp, for the user's VJP vjp of another right-hand side (p->vjp_e). */
int nde__adj_vjp_of(nde__adj_problem *p, nde_vjp vjp, double s, const double *Y, const double *cot,
                    double *out, double *neg, double *theta_tmp, double *theta_bar);

/* Y_i = y0 + h sum_j a_ij K_j, the input of stage i (bitwise the forward's). */
void nde__adj_stage_input(const nde__adj_problem *p, double *const *K, const double *y0, double h,
                          int i, double *out);
/* d/dtheta of the step's interpolant at theta (into out, dim), from the stages of
 * nde__adj_step_forward with dense = 1: h times the state's rate in internal time. */
void nde__adj_interp_rate(const nde__adj_problem *p, const nde__adj_step *w, double h, const double *y0,
                          double theta, double *out);
/* The stages whose inputs the stiffness estimate compares: a = s-1, b = s-2 (-1: none,
 * for one-stage methods). */
int nde__adj_stiff_stages(const nde_method *m, int *a, int *b);
/* The step's R_E and R_S terms (|h| e and |h| rho) from its stages K, y0, y1 and the
 * inputs Ya, Yb of the stages a, b (NULL when there are none). */
void nde__adj_step_regularisers(const nde__adj_problem *p, double *const *K, double h,
                                const double *y0, const double *y1, const double *Ya,
                                const double *Yb, double *r_error, double *r_stiff);

/* Backwards through the step computed by nde__adj_step_forward: ybar (dim) holds the
 * cotangent of y1 on entry and of y0 on exit; the n_in points inside the step at
 * theta[i] with cotangents cot[i * dim] enter through the interpolant; w_error and
 * w_stiff weight the step's regulariser terms; theta_bar (np, may be NULL) accumulates
 * the parameter cotangent. Returns 0, or the VJP's or f's code. */
int nde__adj_step_reverse(nde__adj_problem *p, nde__adj_step *w, double s, double h,
                          const double *y0, double *ybar, size_t n_in, const double *theta,
                          const double *const *cot, double w_error, double w_stiff,
                          double *theta_bar);

/* Hairer's stiffness ratio's pieces: ||x - y||_2, and ||Ya - Yb||_2 or 0 where that is
 * round-off next to ||Ya|| + ||Yb|| (erk_reverse.c). */
double nde__adj_dist2(const double *x, const double *y, size_t dim);
double nde__adj_stiff_denominator(const double *Ya, const double *Yb, size_t dim);
/* The reverse of one step's R_S term Ws |Ka - Kb| / |Ya - Yb| (Ws = w_stiff |h|): its
 * cotangents added into Ka_bar, Kb_bar (the two stages' derivatives) and Ya_bar, Yb_bar
 * (their inputs); nothing where the denominator is 0 (the term is 0 there). */
void nde__adj_stiff_reverse(const double *Ka, const double *Kb, const double *Ya, const double *Yb, size_t dim,
                            double Ws, double *Ka_bar, double *Kb_bar, double *Ya_bar, double *Yb_bar);

/* J (dim x dim, row-major) = df~/dy at (t, Y) exactly: ode->jac at dir t (negated
 * backwards; NDE_ENONFINITE for a NaN/Inf entry), else row r from the VJP with the unit
 * cotangent e_r (dim VJPs). unit, neg: dim scratch; theta_tmp: np scratch. */
int nde__adj_exact_jacobian(nde__adj_problem *p, double t, const double *Y, double *J, double *unit,
                            double *neg, double *theta_tmp);

/* ---- diagonally implicit Runge-Kutta (dirk_reverse.c) ---- */

#define NDE__ADJ_DIRK_MAX 8          /* stages of the largest table (kencarp5) */

/* Scratch of one DIRK step: stage derivatives K, stage values Y, cotangents Kbar, the
 * explicit part's stage derivatives KE and cotangents KEbar (IMEX pairs only: tables with
 * ae), the factors of (I - h a_ii J_i)^T at every implicit stage (LT, piv), the Newton
 * iteration's matrix (Mn, pn) and Jacobian (J), dim vectors. */
typedef struct nde__adj_dirk {
    const nde__dirk_tableau *T;
    int s, degree;
    int imex;                        /* the problem has an IMEX split (p->fe) */
    double *K[NDE__ADJ_DIRK_MAX], *Y[NDE__ADJ_DIRK_MAX], *Kbar[NDE__ADJ_DIRK_MAX];
    double *KE[NDE__ADJ_DIRK_MAX], *KEbar[NDE__ADJ_DIRK_MAX];
    double *LT[NDE__ADJ_DIRK_MAX]; int *piv[NDE__ADJ_DIRK_MAX];
    double *Mn, *J; int *pn;
    double *y1, *ybar0, *f1, *tmp, *neg, *v, *r, *dY, *unit, *Ya_bar, *Yb_bar, *Pbar, *theta_tmp;
    double *ybe;                     /* IMEX: a stage value's cotangent through fe~ */
} nde__adj_dirk;

/* Whether m is a DIRK method (its tableau in src/implicit/dirk_tableaux.c). */
int nde__adj_is_dirk(const nde_method *m);
/* Bytes of an nde__adj_dirk's memory for m, dim, np (0 on overflow), and its layout. */
size_t nde__adj_dirk_bytes(const nde_method *m, size_t dim, size_t np);
void nde__adj_dirk_init(nde__adj_dirk *w, const nde_method *m, size_t dim, size_t np, void *mem,
                        int imex);
/* The step [s, s + h] from y0, its stages solved to rounding: y1 into w->y1; dense:
 * also Hermite's f(s + h, y1). Returns 0, f's, the VJP's or jac's code, or
 * NDE_ENONLINEAR (a stage's Newton iteration failed or its matrix is singular). */
int nde__adj_dirk_forward(nde__adj_problem *p, nde__adj_dirk *w, double s, double h, const double *y0,
                          int dense);
/* As nde__adj_step_reverse, for the step nde__adj_dirk_forward computed. */
int nde__adj_dirk_reverse(nde__adj_problem *p, nde__adj_dirk *w, double s, double h, const double *y0,
                          double *ybar, size_t n_in, const double *theta, const double *const *cot,
                          double w_error, double w_stiff, double *theta_bar);
/* The step's R_E and R_S terms from the forward solve's stage derivatives K and, with
 * an IMEX split, KE of the explicit part (NULL: none); Ya, Yb (dim each) receive the
 * last two stage values. */
void nde__adj_dirk_regularisers(const nde__adj_problem *p, double *const *K, double *const *KE, double h,
                                const double *y0, const double *y1, double *Ya, double *Yb, double *r_error,
                                double *r_stiff);

/* ---- Rosenbrock-Wanner (ros_reverse.c) ---- */

#define NDE__ADJ_ROS_MAX 8           /* stages of the largest table (rodas5p) */

/* Scratch of one Rosenbrock step: stages u, stage inputs Y and evaluations F, their
 * cotangents ubar, J, the factors of E and E^T, a stepper view for the forward's
 * Jacobian code, dim vectors. */
typedef struct nde__adj_ros {
    const nde__ros_tableau *T;
    int s, degree, autonomous;
    const double *M;                 /* the mass matrix, NULL: identity */
    nde__int_stepper st;             /* for nde__impl_jacobian_scaled / _time_derivative */
    nde_stats stats;
    double *u[NDE__ADJ_ROS_MAX], *Y[NDE__ADJ_ROS_MAX], *F[NDE__ADJ_ROS_MAX], *ubar[NDE__ADJ_ROS_MAX];
    double *J, *E, *ET; int *pe, *pt;
    double *y1, *ybar0, *ft, *ftbar, *wv, *vbar, *tmp, *neg, *ytmp, *ftmp, *Ya_bar, *Yb_bar, *Fa_bar, *Fb_bar,
        *hp, *hm, *v, *Pbar, *theta_tmp, *tp, *tm;
} nde__adj_ros;

int nde__adj_is_ros(const nde_method *m);
size_t nde__adj_ros_bytes(const nde_method *m, size_t dim, size_t np);
/* Lays w out over mem for the problem p (its f~, tolerances, direction) and ode (its
 * jac, mass, user). */
void nde__adj_ros_init(nde__adj_ros *w, const nde_method *m, const nde_ode *ode, int autonomous, size_t np,
                       void *mem, const nde__adj_problem *p);
/* The step [s, s + h] from y0 with the forward's Jacobian and df/dt: y1 into w->y1.
 * Returns 0, a callback's code, NDE_ENONFINITE (a Jacobian entry) or NDE_ENONLINEAR (E
 * singular). */
int nde__adj_ros_forward(nde__adj_problem *p, nde__adj_ros *w, double s, double h, const double *y0, int dense);
/* As nde__adj_step_reverse, for the step nde__adj_ros_forward computed. */
int nde__adj_ros_reverse(nde__adj_problem *p, nde__adj_ros *w, double s, double h, const double *y0,
                         double *ybar, size_t n_in, const double *theta, const double *const *cot,
                         double w_error, double w_stiff, double *theta_bar);
/* The step's R_E and (want_stiff: 2 f-evaluations) R_S terms from the forward's stages
 * u (stages x dim); Ya, Yb, Fa, Fb: dim scratch each. Returns 0 or f's code. */
int nde__adj_ros_regularisers(const nde__adj_problem *p, const double *u, double s, double h, const double *y0,
                              const double *y1, int want_stiff, double *Ya, double *Yb, double *Fa, double *Fb,
                              double *r_error, double *r_stiff);

/* ---- radau5 (radau_reverse.c) ---- */

/* Scratch of one radau5 step: stage increments Z, stage evaluations F, cotangents Zbar
 * (3 dim each), the stages' Jacobians (3 dim^2), the collocation system's matrix and its
 * transpose (9 dim^2 each, factored), dim vectors. */
typedef struct nde__adj_radau {
    const nde__radau5_tableau *tb;
    const double *M;                 /* the mass matrix, NULL: identity */
    double *Z, *F, *Zbar, *res, *mu, *J, *Big, *BigT;
    int *pb, *pt;
    double *y1, *ybar0, *tmp, *neg, *unit, *Pbar, *theta_tmp;
} nde__adj_radau;

int nde__adj_is_radau(const nde_method *m);
size_t nde__adj_radau_bytes(size_t dim, size_t np);
void nde__adj_radau_init(nde__adj_radau *w, const nde_ode *ode, size_t dim, size_t np, void *mem);
/* The step [s, s + h] from y0, its collocation system solved to rounding: y1 into
 * w->y1. Returns 0, a callback's code or NDE_ENONLINEAR / NDE_ENONFINITE. */
int nde__adj_radau_forward(nde__adj_problem *p, nde__adj_radau *w, double s, double h, const double *y0,
                           int dense);
/* As nde__adj_step_reverse without the regularisers, for the step nde__adj_radau_forward
 * computed. */
int nde__adj_radau_reverse(nde__adj_problem *p, nde__adj_radau *w, double s, double h, const double *y0,
                           double *ybar, size_t n_in, const double *theta, const double *const *cot,
                           double *theta_bar);

/* ---- gbs (gbs_reverse.c) ---- */

typedef struct nde__adj_gbs {
    double *f0, *f0bar, *y1, *ybar0, *tmp, *neg, *cot, *out;
    double *Y, *Ybar;                /* one line's states y_0 .. y_n and their cotangents */
    double *theta_tmp;
} nde__adj_gbs;

int nde__adj_is_gbs(const nde_method *m);
size_t nde__adj_gbs_bytes(size_t dim, size_t np);
void nde__adj_gbs_init(nde__adj_gbs *w, size_t dim, void *mem);
/* The step [s, s + h] from y0 with kc lines: y1 into w->y1. 0 or f's code. */
int nde__adj_gbs_forward(nde__adj_problem *p, nde__adj_gbs *w, int kc, double s, double h, const double *y0);
/* ybar: the cotangent of y1 on entry, of y0 on exit; theta_bar accumulates. */
int nde__adj_gbs_reverse(nde__adj_problem *p, nde__adj_gbs *w, int kc, double s, double h, const double *y0,
                         double *ybar, double *theta_bar);

/* ---- the tape (tape.c; backsolve.c for NDE_ADJOINT_BACKSOLVE) ---- */

enum { STEP_S, STEP_H, STEP_RE, STEP_RS, STEP_SELECTED, STEP_DOUBLES };
/* gbs has no regularisers: its step record keeps the lines the step computed here */
#define STEP_LINES STEP_RS

struct nde_tape {
    nde_adjoint_options o;
    nde_allocator al;
    char message[NDE_MESSAGE_MAX];
    int have;                        /* a successful taped solve is held */
    int failed;                      /* the taping hooks ran out of memory */
    size_t solves;                   /* taped solves so far (the local sampling's key) */
    nde__adj_problem p;
    nde_ode ode;
    nde__int_rev rev;
    nde__int_rev rev_e;              /* f_explicit backwards in time */
    size_t n_saved;                  /* saved points of the taped solve */
    /* steps: STEP_DOUBLES per accepted step */
    double *steps; size_t n_steps, cap_steps;
    /* kept states: state i is the start of step i * stride (the boundary) */
    double *ck; size_t n_ck, cap_ck, ck_limit, stride, ck_dim;
    /* where each saved point came from: [index, theta]; theta < 0: the state at
     * boundary `index` (after that many steps), else step `index`'s interpolant */
    double *src; size_t n_src, cap_src;
    /* local regularisation: the reg_steps lowest keys (max-heap of [key, step]) */
    double *heap; size_t n_heap, cap_heap;
    double r_error, r_stiff;
    /* scratch of the forward hook (stage inputs) and the backward pass */
    double *fwd; size_t fwd_n;
    void *work; size_t work_bytes;
    nde_adjoint_stats stats;
    /* backsolve: the forward solve's span, end state and saved times */
    double t0, t1;
    double *y_end; size_t y_end_n;
    double *ts; size_t cap_ts;
    nde_options fwd_opts;            /* method, tolerances (arrays not kept) */
    nde_solver *aug;                 /* the augmented backward system's solver, reused while
                                        the forward options it was built from stay the same */
    size_t aug_dim;
    double *bs_times; size_t n_bs_step, n_bs_jump, cap_bs;   /* forward step_ts, jump_ts */
    /* reversible: the step record has step_unit doubles per step (STEP_S, STEP_H only);
     * rv: the end state (y, yh, fh) and y0, 4 x rv_dim; rv_seg: one record per restart
     * of the stepper (a jump), [first step index, yh, fh at the end of the step before] */
    size_t step_unit;
    double *rv; size_t rv_dim;
    double *rv_seg; size_t n_seg, cap_seg;
    size_t rv_starts;
    /* SDE solves (sde.c, sde_reversible.c): the problem by value, its path (queried
     * again, never stored) and the method's SDE form */
    int is_sde;
    nde_sde sde;
    nde_brownian *bm;
    const nde_method *sde_m;
    nde_options sde_bs_opts;         /* backsolve: the forward's method and step control */
    /* implicit (implicit.c): whether the taped solve ended with the steady-state event,
     * its time t* (also a terminal event's time, below), y* in y_end (dim), and how many
     * trailing saved points lie at t* */
    int steady;
    double t_star;
    size_t n_end;
    /* a user's terminal event ended a checkpointed solve (tape.c): it fired in step
     * ev_step at ev_theta, and the last n_ev_src saved points are its state. ev: grad_y g
     * of the firing condition at the event (dim), the event point's cotangent (dim), dim
     * scratch, 2 n_events scratch for g; ev_gt = dg/dt there */
    int ev_on;
    size_t ev_step, n_ev_src, cap_ev;
    double ev_theta, ev_gt;
    double *ev;
};


int nde__adj_fail(nde_tape *t, int status, const char *fmt, ...) NDE__PRINTF(3, 4);
/* Memory held by the tape (nde_adjoint_stats.bytes). */
size_t nde__adj_tape_bytes(const nde_tape *t);
/* The checkpointed adjoint's forward records, shared by the ODE and SDE hooks: the
 * start state y of step k when k is on the stride (thinning when the store is full),
 * and where a saved point came from. -1 / NDE_ENOMEM when out of memory. */
int nde__adj_keep_state(nde_tape *t, size_t k, const double *y);
int nde__adj_on_save(void *ctx, nde_solver *S, int inside, double theta);
/* SDE gradients (sde.c: the tape's forward and the checkpointed backward pass;
 * sde_reversible.c: reversible Heun's hook and backward pass). */
int nde__adj_sde_reversible_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                                   const double *y1);
int nde__adj_sde_reversible(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta);
/* sde_backsolve.c: the hook keeping y(t1), and the stochastic adjoint's backward solve. */
int nde__adj_sde_backsolve_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                                  const double *y1);
int nde__adj_sde_backsolve(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta);
/* Local regularisation: the sampling key of step k of this solve, and the offer of
 * step k to the heap of the reg_steps lowest keys. */
static inline double nde__adj_step_key(const nde_tape *t, size_t k)
{
    return nde__rand_uniform(t->o.reg_seed, NDE_STREAM_REG_SAMPLE, ((uint64_t)t->solves << 32) + (uint64_t)k);
}
void nde__adj_heap_offer(nde_tape *t, double key, size_t k);
/* The tape's backward workspace of at least `bytes`, kept across passes: NDE_OK, or
 * NDE_ENOMEM with the tape's message set. */
int nde__adj_workspace(nde_tape *t, size_t bytes);
/* Grows *p (cap units of `unit` doubles) to hold need units; -1 on failure. */
int nde__adj_grow(nde_tape *t, double **p, size_t *cap, size_t unit, size_t need);
/* Backsolve: the forward hook keeping the end state, and the backward pass. */
int nde__adj_backsolve_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                              const double *y1);
int nde__adj_backsolve(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta);
/* Before a taped backsolve forward solve: keeps the forward options the backward solve
 * needs, dropping the augmented solver when they changed. NDE_OK or NDE_ENOMEM. */
int nde__adj_backsolve_prepare(nde_tape *t, const nde_options *o, const nde_method *m);
void nde__adj_backsolve_release(nde_tape *t);
/* Reversible (reversible.c): the forward hook keeping the end state, the restarts and
 * the steps; the backward pass by algebraic reconstruction; the release. */
int nde__adj_reversible_prepare(nde_tape *t);
int nde__adj_reversible_accept(void *ctx, nde_solver *S, double s, double h, const double *y,
                               const double *y1);
int nde__adj_reversible(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta);
void nde__adj_reversible_release(nde_tape *t);
/* Implicit (implicit.c): after the taped solve (its status rc), keeps y*, t* and the
 * saved points at t* (NDE_OK or NDE_ENOMEM); the backward pass at the fixed point. */
int nde__adj_implicit_record(nde_tape *t, int rc, const nde_solution *sol);
int nde__adj_implicit(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta);

/* The smallest l with 2^l >= n: the depth of the checkpoint bisection. */
static inline size_t nde__adj_ceil_log2(size_t n)
{
    size_t l = 0;
    while (((size_t)1 << l) < n) l++;
    return l;
}

#endif
