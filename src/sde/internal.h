/* Private: the SDE family. One stochastic Runge-Kutta engine (srk.c) drives every SDE
 * method from its table (Diffrax's StochasticButcherTableau): for the Stratonovich
 * (or Itô) SDE dy = f dt + g dW over a step [t, t + dt] with increments W and
 * space-time Levy area H of the path,
 *     z_j = y + dt sum_i a_ji f_i + sum_i aw_ji (g_i W) + sum_i ah_ji (g_i H)
 *     f_j = f(t + c_j dt, z_j),  g_j = g(t + c_j dt, z_j)
 *     y1  = y + dt sum_j b_j f_j + sum_j bw_j (g_j W) + sum_j bh_j (g_j H)
 *     err =     dt sum_j be_j f_j + sum_j bwe_j (g_j W) + sum_j bhe_j (g_j H)
 * (a, aw, ah strictly lower triangular s x s; the error weights give the estimate
 * itself, not a second solution). The additive form (sea, sra1, shark) evaluates g
 * only at t and t + dt:
 *     z_j = y + dt sum_i a_ji f_i + aw_j (g(t) W) + ah_j (g(t) H)
 *     y1  = y + dt sum_j b_j f_j + bw (g(t) W) + bh (g(t) H) + (g(t+dt) - g(t))(W/2 - H)
 * with the error from the drift part only. Stages may skip f or g (skip_f, skip_g:
 * their coefficients are zero). Milstein adds its derivative-free correction to the
 * one-stage Euler-Maruyama table (the `milstein` flag). Reversible Heun, which carries a
 * second state across steps, has its own stepper (reversible.c). */
#ifndef NDE_SRC_SDE_INTERNAL_H
#define NDE_SRC_SDE_INTERNAL_H

#include "integrate/internal.h"
#include "nde/sde.h"

#define NDE__SDE_MAX_STAGES 7

typedef struct nde__sde_tableau {
    int stages;
    int additive;                /* the additive form (coefficients per stage, g(t) only) */
    int milstein;                /* adds the derivative-free Milstein correction */
    int stratonovich;            /* the calculus it converges in (additive: both) */
    int levy;                    /* NDE_LEVY_* it needs */
    unsigned noises;             /* bit (1u << NDE_NOISE_*) of each kind it solves */
    double strong[3];            /* strong order: general, commutative, additive */
    int drift_evals, diffusion_evals;
    const double *c;             /* s */
    const double *a;             /* s x s strictly lower: drift */
    const double *b, *be;        /* s; be NULL: no error estimate */
    /* general form: aw, ah s x s strictly lower, bw, bh, bwe, bhe s (bwe, bhe NULL: the
     * estimate has no noise part). Additive form: aw, ah s (one per stage), bw, bh one. */
    const double *aw, *bw, *bwe;
    const double *ah, *bh, *bhe; /* all NULL without H */
    const unsigned char *skip_f, *skip_g;   /* s, or NULL: every stage evaluates it */
} nde__sde_tableau;

/* What nde_sde_solve hands the stepper as st.problem: the SDE, the path, the table and
 * the workspace (nde__sde_work_doubles(dim, noise_dim, noise) doubles), all owned by
 * the caller of the solve. */
typedef struct nde__sde_problem {
    nde_sde sde;
    nde_brownian *bm;
    const nde__sde_tableau *tab;
    double *work;
} nde__sde_problem;

extern const nde__int_ops nde__sde_ops;
/* The SDE methods in the table order of nde/sde.h (heun's SDE form among them). */
extern const nde_method *const nde__sde_methods[];
extern const size_t nde__sde_n_methods;
/* Registered in nde__methods[] (src/ode/tableaux.c): every SDE method but heun and
 * reversible_heun, whose names belong to the ODE methods there (nde_sde_solve maps
 * them to their SDE forms). */
extern const nde_method nde__sde_euler_maruyama, nde__sde_milstein, nde__sde_euler_heun,
    nde__sde_sea, nde__sde_sra1, nde__sde_shark, nde__sde_general_shark, nde__sde_spark,
    nde__sde_slow_rk;

/* The SDE table of a method, NULL for other families. */
const nde__sde_tableau *nde__sde_tab(const nde_method *m);
/* nde_sde_solve's checks beyond the loop's (the SDE, the path, the method against
 * both): NDE_OK with *method the SDE form of opts->method (or the default), or the
 * status with the message in msg (NDE_MESSAGE_MAX). */
int nde__sde_check(const nde_sde *q, double t0, double t1, const double *y0, nde_brownian *bm,
                   const nde_options *o, const nde_method **method, char *msg);
/* nde_sde_solve with the hooks of the gradients layer (src/adjoint/sde*.c) installed in
 * the loop (NULL: none). */
int nde__sde_solve_hooked(const nde_sde *sde, double t0, double t1, const double *y0, nde_brownian *bm,
                          const nde_options *opts, nde_solution *sol, nde__int_accept_hook on_accept,
                          nde__int_save_hook on_save, void *hook_ctx);

/* Reversible Heun for Stratonovich SDEs (src/sde/reversible.c; Kidger, Foster, Li &
 * Lyons 2021): its own stepper (the state (y, yh) with f and g at yh carries across
 * steps), not a table of the SRK engine. nde__sde_tab gives its descriptive table. */
extern const nde__int_ops nde__sde_rev_ops;
extern const nde_method nde__sde_reversible_heun;
/* The accepted attempt's yh1 and the number of starts so far (a change: a restart,
 * where yh = y again), for the reversible adjoint's hook. */
void nde__sde_rev_view(const nde__int_stepper *st, const double **yh1, size_t *starts);

/* Doubles of workspace for (dim, noise_dim, noise), 0 on size overflow. */
size_t nde__sde_work_doubles(size_t dim, size_t noise_dim, int noise);

#endif
