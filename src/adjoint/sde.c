/* Gradients through SDE solves: nde_sde_solve_taped and nde_sde_backward.
 *
 * NDE_ADJOINT_CHECKPOINT (discretise-then-optimise) through the stochastic Runge-Kutta
 * engine (src/sde/srk.c, its formulas in src/sde/internal.h). The forward hook records
 * what the ODE tape records (tape.c): every accepted step (internal s, h), the start
 * states of some of them (the same online thinning) and where each saved point came
 * from. It keeps no noise: the Brownian tree is a pure function of its query, so the
 * backward pass asks it again for each step's W and H over the same [t, t + dt] and
 * gets the forward solve's bits. Each step is rerun by step_forward below, which
 * repeats srk.c's arithmetic operation for operation (the same combination order), so
 * the recomputed states are the forward ones bit for bit, and then run backwards
 * through its stages by step_reverse. Step sizes are constants of the gradient, as for
 * ODEs (and as Diffrax does): the error estimate of an adaptive solve only chose them.
 *
 * The step's discrete adjoint. With ybar the cotangent of y1 and the stage outputs
 * f_j = f(t_j, z_j), gw_j = g(t_j, z_j) W, gh_j = g(t_j, z_j) H:
 *   general form  y1 = y + sum_j (dt b_j f_j + bw_j gw_j + bh_j gh_j) [+ Milstein]
 *                 z_j = y + sum_{i<j} (dt a_ji f_i + aw_ji gw_i + ah_ji gh_i), z_0 = y
 *   so fbar_j, gwbar_j, ghbar_j collect the weights of ybar and of later stages' zbar,
 *   and each stage, from the last, turns them into
 *                 zbar_j = drift_vjp(t_j, z_j, fbar_j) + diffusion_vjp(t_j, z_j, Gbar_j),
 *                 Gbar_j = gwbar_j W^T + ghbar_j H^T (diagonal: gwbar_j W + ghbar_j H,
 *                          elementwise),
 *   zbar_j flowing into y and the earlier stages' outputs by the a, aw, ah weights.
 *   Milstein's y1 += (g(t, yb) - g(t, y)) (W^2 - |dt|) / (2 sqrt|dt|), yb = y + dt f_0 +
 *   sqrt|dt| g(t, y), adds its VJP at yb. The additive form (g(t) W and g(t) H shared
 *   by all stages, y1 += (g(t + dt, y) - g(t, y)) (W/2 - H)) is the same with one g.
 * The parameter cotangent sums the parameter parts of both VJPs: drift and diffusion
 * read one parameter vector of n_params (see nde/adjoint.h).
 *
 * The other two kinds: sde_reversible.c (reversible_heun, NDE_ADJOINT_REVERSIBLE) and
 * sde_backsolve.c (the stochastic adjoint, NDE_ADJOINT_BACKSOLVE). */
#include "adjoint/internal.h"
#include "numerics/internal.h"
#include "random/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define S_MAX NDE__SDE_MAX_STAGES

/* ---- one SRK step, forwards and backwards ---------------------------------------------- */

typedef struct sde_step {
    const nde_sde *q;
    const nde__sde_tableau *T;
    nde_brownian *bm;
    size_t dim, m, gs, np;
    int diag, use_h;
    double *z[S_MAX], *f[S_MAX], *gw[S_MAX], *gh[S_MAX];      /* the forward's stages */
    double *fb[S_MAX], *gwb[S_MAX], *ghb[S_MAX];             /* their cotangents */
    double *y1, *zb, *ay, *yb0;                              /* dim */
    double *G0, *G, *G1, *Gb, *G0b;                          /* g's shape */
    double *W, *H, *V;                                       /* m */
    double *at;                                              /* np: a VJP's parameter part */
    double t, dt;                                            /* the step, in the caller's time */
    size_t nfe, nvjp;
} sde_step;

static size_t step_doubles(size_t dim, size_t gs, size_t m, size_t np)
{
    size_t n = 0;
    if (nde__size_muladd(&n, 7 * S_MAX + 4, dim) || nde__size_muladd(&n, 5, gs) || nde__size_muladd(&n, 3, m) ||
        nde__size_add(n, np, &n))
        return 0;
    return n;
}

static double *step_init(sde_step *w, const nde_tape *t, double *v)
{
    const nde_sde *q = &t->sde;
    w->q = q;
    w->T = nde__sde_tab(t->sde_m);
    w->bm = t->bm;
    w->dim = q->dim;
    w->m = q->noise_dim;
    w->diag = q->noise == NDE_NOISE_DIAGONAL;
    w->gs = w->diag ? q->dim : q->dim * q->noise_dim;
    w->np = q->n_params;
    w->use_h = w->T->levy >= NDE_LEVY_SPACE_TIME;
    const size_t dim = w->dim;
    for (int j = 0; j < S_MAX; j++) {
        double **vv[] = { &w->z[j], &w->f[j], &w->gw[j], &w->gh[j], &w->fb[j], &w->gwb[j], &w->ghb[j] };
        for (int i = 0; i < 7; i++, v += dim) *vv[i] = v;
    }
    w->y1 = v; v += dim;
    w->zb = v; v += dim;
    w->ay = v; v += dim;
    w->yb0 = v; v += dim;
    double **gg[] = { &w->G0, &w->G, &w->G1, &w->Gb, &w->G0b };
    for (int i = 0; i < 5; i++, v += w->gs) *gg[i] = v;
    w->W = v; v += w->m;
    w->H = v; v += w->m;
    w->V = v; v += w->m;
    w->at = v; v += w->np;
    w->nfe = w->nvjp = 0;
    return v;
}

static int skips(const unsigned char *mask, int j) { return mask && mask[j]; }

static int stage0_at_y(const nde__sde_tableau *T)
{
    return !T->additive || (T->aw[0] == 0.0 && (!T->ah || T->ah[0] == 0.0));
}

/* srk.c's gprod and combine, verbatim in effect: the same operations in the same order. */
static void gprod(const sde_step *w, const double *g, const double *v, double *out)
{
    if (w->diag) {
        for (size_t d = 0; d < w->dim; d++) out[d] = g[d] * v[d];
        return;
    }
    (void)nde__num_gemv(NDE__NUM_NOTRANS, w->dim, w->m, 1.0, g, w->m, v, 0.0, out);
}

static void combine(size_t dim, double *out, const double *base, int n, const double *c, double *const *v)
{
    double cc[3 * S_MAX + 1];
    const double *vv[3 * S_MAX + 1];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (c[i] != 0.0) { cc[k] = c[i]; vv[k] = v[i]; k++; }
    for (size_t d = 0; d < dim; d++) {
        double acc = base ? base[d] : 0.0;
        for (int i = 0; i < k; i++) acc += cc[i] * vv[i][d];
        out[d] = acc;
    }
}

/* The step [t, t + dt] from y: w->y1, with every stage kept. t = dir s, dt = dir h, as
 * srk.c forms them. Returns 0, the tree's or a callback's code. */
static int step_forward(sde_step *w, double t, double dt, const double *y)
{
    const nde__sde_tableau *T = w->T;
    const nde_sde *q = w->q;
    const size_t dim = w->dim;
    const int ns = T->stages, use_h = w->use_h;
    double coef[3 * S_MAX + 1];
    double *vecs[3 * S_MAX + 1];
    int rc;
    w->t = t;
    w->dt = dt;
    /* the start (srk_start) */
    memcpy(w->z[0], y, dim * sizeof *y);
    if (!skips(T->skip_f, 0) && stage0_at_y(T)) {
        w->nfe++;
        if ((rc = q->drift(t, y, w->f[0], q->user))) return rc;
    }
    if (T->additive || T->milstein || !skips(T->skip_g, 0)) {
        w->nfe++;
        if ((rc = q->diffusion(t, y, w->G0, q->user))) return rc;
    }
    if ((rc = nde_brownian_increment(w->bm, t, t + dt, w->W, use_h ? w->H : NULL, NULL))) return rc;

    if (T->additive) {
        gprod(w, w->G0, w->W, w->gw[0]);
        if (use_h) gprod(w, w->G0, w->H, w->gh[0]);
        for (int j = stage0_at_y(T) ? 1 : 0; j < ns; j++) {
            int n = 0;
            for (int i = 0; i < j; i++) { coef[n] = dt * T->a[j * ns + i]; vecs[n++] = w->f[i]; }
            coef[n] = T->aw[j]; vecs[n++] = w->gw[0];
            if (use_h) { coef[n] = T->ah[j]; vecs[n++] = w->gh[0]; }
            combine(dim, w->z[j], y, n, coef, vecs);
            w->nfe++;
            if ((rc = q->drift(t + T->c[j] * dt, w->z[j], w->f[j], q->user))) return rc;
        }
        w->nfe++;
        if ((rc = q->diffusion(t + dt, y, w->G1, q->user))) return rc;
        for (size_t k = 0; k < w->gs; k++) w->G1[k] -= w->G0[k];
        for (size_t k = 0; k < w->m; k++) w->V[k] = 0.5 * w->W[k] - (use_h ? w->H[k] : 0.0);
        gprod(w, w->G1, w->V, w->zb);
        int n = 0;
        for (int j = 0; j < ns; j++) { coef[n] = dt * T->b[j]; vecs[n++] = w->f[j]; }
        coef[n] = T->bw[0]; vecs[n++] = w->gw[0];
        if (use_h) { coef[n] = T->bh[0]; vecs[n++] = w->gh[0]; }
        coef[n] = 1.0; vecs[n++] = w->zb;
        combine(dim, w->y1, y, n, coef, vecs);
        return 0;
    }

    if (!skips(T->skip_g, 0)) {
        gprod(w, w->G0, w->W, w->gw[0]);
        if (use_h) gprod(w, w->G0, w->H, w->gh[0]);
    }
    for (int j = 1; j < ns; j++) {
        int n = 0;
        for (int i = 0; i < j; i++) {
            coef[n] = dt * T->a[j * ns + i]; vecs[n++] = w->f[i];
            coef[n] = T->aw[j * ns + i]; vecs[n++] = w->gw[i];
            if (use_h) { coef[n] = T->ah[j * ns + i]; vecs[n++] = w->gh[i]; }
        }
        combine(dim, w->z[j], y, n, coef, vecs);
        const double tj = t + T->c[j] * dt;
        if (!skips(T->skip_f, j)) {
            w->nfe++;
            if ((rc = q->drift(tj, w->z[j], w->f[j], q->user))) return rc;
        }
        if (!skips(T->skip_g, j)) {
            w->nfe++;
            if ((rc = q->diffusion(tj, w->z[j], w->G, q->user))) return rc;
            gprod(w, w->G, w->W, w->gw[j]);
            if (use_h) gprod(w, w->G, w->H, w->gh[j]);
        }
    }
    int n = 0;
    for (int j = 0; j < ns; j++) {
        coef[n] = dt * T->b[j]; vecs[n++] = w->f[j];
        coef[n] = T->bw[j]; vecs[n++] = w->gw[j];
        if (use_h) { coef[n] = T->bh[j]; vecs[n++] = w->gh[j]; }
    }
    combine(dim, w->y1, y, n, coef, vecs);
    if (T->milstein && w->diag) {
        const double sq = sqrt(fabs(dt));
        double *yb = w->z[1];   /* milstein has one stage: slot 1 is free */
        for (size_t d = 0; d < dim; d++) yb[d] = y[d] + dt * w->f[0][d] + sq * w->G0[d];
        w->nfe++;
        if ((rc = q->diffusion(t, yb, w->G1, q->user))) return rc;
        const double c = 0.5 / sq;
        for (size_t d = 0; d < dim; d++)
            w->y1[d] += c * (w->G1[d] - w->G0[d]) * (w->W[d] * w->W[d] - fabs(dt));
    }
    return 0;
}

static int all_zero(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != 0.0) return 0;
    return 1;
}

/* out += VJP of the drift at (t, z) with cotangent a (no call when a is zero); the
 * parameter part into theta_bar. */
static int drift_vjp_add(sde_step *w, double t, const double *z, const double *a, double *out, double *theta_bar)
{
    if (all_zero(a, w->dim)) return 0;
    w->nvjp++;
    int rc = w->q->drift_vjp(t, z, a, w->ay, theta_bar ? w->at : NULL, w->q->user);
    if (rc) return rc;
    for (size_t d = 0; d < w->dim; d++) out[d] += w->ay[d];
    if (theta_bar)
        for (size_t i = 0; i < w->np; i++) theta_bar[i] += w->at[i];
    return 0;
}

/* The same for the diffusion, with a in g's shape. */
static int diffusion_vjp_add(sde_step *w, double t, const double *z, const double *a, double *out,
                             double *theta_bar)
{
    if (all_zero(a, w->gs)) return 0;
    w->nvjp++;
    int rc = w->q->diffusion_vjp(t, z, a, w->ay, theta_bar ? w->at : NULL, w->q->user);
    if (rc) return rc;
    for (size_t d = 0; d < w->dim; d++) out[d] += w->ay[d];
    if (theta_bar)
        for (size_t i = 0; i < w->np; i++) theta_bar[i] += w->at[i];
    return 0;
}

/* Gb (+)= cw W^T + ch H^T (diagonal: elementwise), the cotangent of g from those of
 * g W and g H; ch NULL: no H part. */
static void outer(const sde_step *w, const double *cw, const double *ch, double *Gb, int add)
{
    const size_t dim = w->dim, m = w->m;
    if (w->diag) {
        for (size_t d = 0; d < dim; d++) {
            double v = cw[d] * w->W[d] + (ch ? ch[d] * w->H[d] : 0.0);
            Gb[d] = add ? Gb[d] + v : v;
        }
        return;
    }
    for (size_t d = 0; d < dim; d++)
        for (size_t k = 0; k < m; k++) {
            double v = cw[d] * w->W[k] + (ch ? ch[d] * w->H[k] : 0.0);
            Gb[d * m + k] = add ? Gb[d * m + k] + v : v;
        }
}

/* Backwards through the step step_forward computed from y: ybar holds the cotangent of
 * y1 on entry and that of y on exit; theta_bar (NULL: not wanted) accumulates. */
static int step_reverse(sde_step *w, const double *y, double *ybar, double *theta_bar)
{
    const nde__sde_tableau *T = w->T;
    const size_t dim = w->dim;
    const int ns = T->stages, use_h = w->use_h;
    const double t = w->t, dt = w->dt;
    double *yb0 = w->yb0;
    int rc;
    for (int j = 0; j < ns; j++) {
        memset(w->fb[j], 0, dim * sizeof(double));
        memset(w->gwb[j], 0, dim * sizeof(double));
        memset(w->ghb[j], 0, dim * sizeof(double));
    }
    memcpy(yb0, ybar, dim * sizeof *yb0);   /* y1 = y + ...: y's share */
    memset(w->G0b, 0, w->gs * sizeof(double));

    if (T->additive) {
        for (int j = 0; j < ns; j++)
            if (T->b[j] != 0.0)
                for (size_t d = 0; d < dim; d++) w->fb[j][d] += dt * T->b[j] * ybar[d];
        for (size_t d = 0; d < dim; d++) {
            w->gwb[0][d] += T->bw[0] * ybar[d];
            if (use_h) w->ghb[0][d] += T->bh[0] * ybar[d];
        }
        /* u = (G(t + dt) - G(t)) V: the cotangent ybar V^T of both g's, opposite signs */
        const size_t m = w->m;
        for (size_t d = 0; d < dim; d++)
            for (size_t k = 0; k < m; k++) w->Gb[d * m + k] = ybar[d] * w->V[k];
        if ((rc = diffusion_vjp_add(w, t + dt, y, w->Gb, yb0, theta_bar))) return rc;
        for (size_t k = 0; k < w->gs; k++) w->G0b[k] = -w->Gb[k];
        for (int j = ns - 1; j >= (stage0_at_y(T) ? 1 : 0); j--) {
            memset(w->zb, 0, dim * sizeof(double));
            if ((rc = drift_vjp_add(w, t + T->c[j] * dt, w->z[j], w->fb[j], w->zb, theta_bar))) return rc;
            for (size_t d = 0; d < dim; d++) {
                const double zb = w->zb[d];
                yb0[d] += zb;
                w->gwb[0][d] += T->aw[j] * zb;
                if (use_h) w->ghb[0][d] += T->ah[j] * zb;
            }
            for (int i = 0; i < j; i++)
                if (T->a[j * ns + i] != 0.0)
                    for (size_t d = 0; d < dim; d++) w->fb[i][d] += dt * T->a[j * ns + i] * w->zb[d];
        }
        if (stage0_at_y(T) && !skips(T->skip_f, 0) &&
            (rc = drift_vjp_add(w, t, y, w->fb[0], yb0, theta_bar)))
            return rc;
        outer(w, w->gwb[0], use_h ? w->ghb[0] : NULL, w->G0b, 1);
        if ((rc = diffusion_vjp_add(w, t, y, w->G0b, yb0, theta_bar))) return rc;
        memcpy(ybar, yb0, dim * sizeof *ybar);
        return 0;
    }

    if (T->milstein && w->diag) {   /* y1 += c (g(t, yb) - G0) (W^2 - |dt|) */
        const double sq = sqrt(fabs(dt)), c = 0.5 / sq;
        for (size_t d = 0; d < dim; d++) {
            w->Gb[d] = c * ybar[d] * (w->W[d] * w->W[d] - fabs(dt));
            w->G0b[d] = -w->Gb[d];
        }
        memset(w->zb, 0, dim * sizeof(double));
        if ((rc = diffusion_vjp_add(w, t, w->z[1], w->Gb, w->zb, theta_bar))) return rc;
        for (size_t d = 0; d < dim; d++) {   /* yb = y + dt f_0 + sq G0 */
            yb0[d] += w->zb[d];
            w->fb[0][d] += dt * w->zb[d];
            w->G0b[d] += sq * w->zb[d];
        }
    }
    for (int j = 0; j < ns; j++)
        for (size_t d = 0; d < dim; d++) {
            w->fb[j][d] += dt * T->b[j] * ybar[d];
            w->gwb[j][d] += T->bw[j] * ybar[d];
            if (use_h) w->ghb[j][d] += T->bh[j] * ybar[d];
        }
    for (int j = ns - 1; j >= 1; j--) {
        const double tj = t + T->c[j] * dt;
        memset(w->zb, 0, dim * sizeof(double));
        if (!skips(T->skip_f, j) && (rc = drift_vjp_add(w, tj, w->z[j], w->fb[j], w->zb, theta_bar))) return rc;
        if (!skips(T->skip_g, j)) {
            outer(w, w->gwb[j], use_h ? w->ghb[j] : NULL, w->Gb, 0);
            if ((rc = diffusion_vjp_add(w, tj, w->z[j], w->Gb, w->zb, theta_bar))) return rc;
        }
        for (size_t d = 0; d < dim; d++) yb0[d] += w->zb[d];
        for (int i = 0; i < j; i++) {
            const double a = dt * T->a[j * ns + i], aw = T->aw[j * ns + i], ah = use_h ? T->ah[j * ns + i] : 0.0;
            for (size_t d = 0; d < dim; d++) {
                w->fb[i][d] += a * w->zb[d];
                w->gwb[i][d] += aw * w->zb[d];
                w->ghb[i][d] += ah * w->zb[d];
            }
        }
    }
    /* stage 0 is y itself */
    if (!skips(T->skip_f, 0) && (rc = drift_vjp_add(w, t, y, w->fb[0], yb0, theta_bar))) return rc;
    if (!skips(T->skip_g, 0)) outer(w, w->gwb[0], use_h ? w->ghb[0] : NULL, w->G0b, 1);
    if ((T->milstein || !skips(T->skip_g, 0)) && (rc = diffusion_vjp_add(w, t, y, w->G0b, yb0, theta_bar)))
        return rc;
    memcpy(ybar, yb0, dim * sizeof *ybar);
    return 0;
}

/* ---- forward: the taped solve --------------------------------------------------------------- */

static int sde_on_accept(void *ctx, nde_solver *S, double s, double h, const double *y, const double *y1)
{
    (void)S; (void)y1;
    nde_tape *t = ctx;
    const size_t k = t->n_steps;
    if (nde__adj_grow(t, &t->steps, &t->cap_steps, t->step_unit, k + 1) || nde__adj_keep_state(t, k, y)) {
        t->failed = 1;
        return NDE_ENOMEM;
    }
    double *r = t->steps + k * t->step_unit;
    r[STEP_S] = s;
    r[STEP_H] = h;
    t->n_steps++;
    return 0;
}

static int fail_early(nde_tape *tape, nde_solution *sol, const nde_options *o, size_t dim, int status)
{
    sol->status = status;
    sol->dim = dim;
    sol->alloc_ = nde__allocator_resolve(o ? o->allocator : NULL);
    if (o && o->errbuf && o->errbuf_size) snprintf(o->errbuf, o->errbuf_size, "%s", sol->message_);
    if (tape) nde__adj_fail(tape, status, "%s", sol->message_);
    return status;
}

int nde_sde_solve_taped(const nde_sde *sde, double t0, double t1, const double *y0, nde_brownian *bm,
                        const nde_options *opts, nde_tape *tape, nde_solution *sol)
{
    static const nde_options defaults = NDE_OPTIONS_INIT;
    if (!sol) return NDE_EINVAL;
    memset(sol, 0, sizeof *sol);
    const nde_options *o = opts ? opts : &defaults;
    char *msg = sol->message_;
    const size_t dim = sde ? sde->dim : 0;
    const nde_method *m = NULL;
    int rc;
    if (!tape) {
        nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, "tape is NULL");
        return fail_early(NULL, sol, opts, dim, NDE_EINVAL);
    }
    if ((rc = nde__sde_check(sde, t0, t1, y0, bm, o, &m, msg))) return fail_early(tape, sol, opts, dim, rc);
    const int reversible = m->ops == &nde__sde_rev_ops;
    const nde__sde_tableau *T = nde__sde_tab(m);
    if (tape->o.kind == NDE_ADJOINT_IMPLICIT)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "NDE_ADJOINT_IMPLICIT differentiates an ODE's steady "
                      "state; an SDE tape takes NDE_ADJOINT_CHECKPOINT, _BACKSOLVE or _REVERSIBLE");
    else if (tape->o.kind == NDE_ADJOINT_BACKSOLVE && (!T->stratonovich || !(T->noises & (1u << NDE_NOISE_GENERAL))))
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "NDE_ADJOINT_BACKSOLVE solves the adjoint SDE (general "
                      "Stratonovich noise) with the forward method, which %s does not solve: use euler_heun, heun, "
                      "general_shark, spark, slow_rk or reversible_heun", m->name);
    else if (tape->o.reg_error > 0.0 || tape->o.reg_stiffness > 0.0)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "the regularisers R_E and R_S are defined for ODE "
                      "solves only (set reg_error = reg_stiffness = 0 for an SDE tape)");
    else if (tape->o.kind == NDE_ADJOINT_REVERSIBLE && !reversible)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "NDE_ADJOINT_REVERSIBLE needs an algebraically "
                      "reversible method (reversible_heun), got %s", m->name);
    else if (tape->o.kind == NDE_ADJOINT_BACKSOLVE && !sde->stratonovich && sde->noise != NDE_NOISE_ADDITIVE)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "NDE_ADJOINT_BACKSOLVE needs a Stratonovich SDE (the "
                      "adjoint of an Itô SDE has correction terms not implemented)");
    else if (tape->o.kind == NDE_ADJOINT_CHECKPOINT && reversible)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "method %s is differentiated by NDE_ADJOINT_REVERSIBLE "
                      "(the checkpointed adjoint covers the stochastic Runge-Kutta methods)", m->name);
    else if (o->n_events)
        rc = nde__msg(msg, NDE_MESSAGE_MAX, NDE_EUNSUPPORTED, "events in a taped solve are not supported yet "
                      "(their times would need sensitivities)");
    if (rc) return fail_early(tape, sol, opts, dim, rc);

    nde_tape *t = tape;
    t->have = 0;
    t->failed = 0;
    t->message[0] = '\0';
    t->is_sde = 1;
    t->sde = *sde;
    t->bm = bm;
    t->sde_m = m;
    t->ode = (nde_ode){ 0 };
    t->p = (nde__adj_problem){ .m = m, .dim = dim, .np = sde->n_params, .dir = t1 >= t0 ? 1.0 : -1.0 };
    if (t->ck_dim != dim) {   /* kept states are dim-sized */
        nde__free(&t->al, t->ck, t->cap_ck * t->ck_dim * sizeof(double));
        nde__free(&t->al, t->fwd, t->fwd_n * sizeof(double));   /* the ODE hook's, dim-sized too */
        t->ck = t->fwd = NULL;
        t->cap_ck = t->fwd_n = 0;
        t->ck_dim = dim;
    }
    t->n_steps = t->n_ck = t->n_src = t->n_heap = 0;
    t->stride = 1;
    if (tape->o.kind == NDE_ADJOINT_REVERSIBLE) {   /* the steps, the end state and the restarts: O(1) in the steps */
        if (nde__adj_reversible_prepare(t)) {
            nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the tape's records");
            return fail_early(t, sol, opts, dim, NDE_ENOMEM);
        }
        rc = nde__sde_solve_hooked(sde, t0, t1, y0, bm, o, sol, nde__adj_sde_reversible_accept, nde__adj_on_save, t);
    } else if (tape->o.kind == NDE_ADJOINT_BACKSOLVE) {   /* y(t1) and the saved times: O(1) in the steps */
        if (t->y_end_n != dim) {
            nde__free(&t->al, t->y_end, t->y_end_n * sizeof(double));
            t->y_end = nde__alloc(&t->al, dim * sizeof(double));
            t->y_end_n = t->y_end ? dim : 0;
            if (!t->y_end) {
                nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory allocating the tape's records");
                return fail_early(t, sol, opts, dim, NDE_ENOMEM);
            }
        }
        memcpy(t->y_end, y0, dim * sizeof(double));
        t->t0 = t0;
        t->t1 = t1;
        nde_options b = NDE_OPTIONS_INIT;
        b.method = m;
        b.rtol = t->o.rtol > 0.0 ? t->o.rtol : o->rtol;
        b.atol = t->o.atol > 0.0 ? t->o.atol : o->atol;
        b.dt0 = o->dt0;
        b.max_steps = o->max_steps;
        b.dtmin = o->dtmin;
        b.dtmax = o->dtmax;
        b.pcoeff = o->pcoeff; b.icoeff = o->icoeff; b.dcoeff = o->dcoeff;
        b.allocator = o->allocator;
        t->sde_bs_opts = b;
        rc = nde__sde_solve_hooked(sde, t0, t1, y0, bm, o, sol, nde__adj_sde_backsolve_accept, NULL, t);
        if (rc == NDE_OK && nde__adj_grow(t, &t->ts, &t->cap_ts, 1, sol->n ? sol->n : 1)) {
            nde__msg(msg, NDE_MESSAGE_MAX, NDE_ENOMEM, "out of memory keeping the saved times");
            t->solves++;
            return fail_early(t, sol, opts, dim, NDE_ENOMEM);
        }
        if (rc == NDE_OK) memcpy(t->ts, sol->t, sol->n * sizeof *t->ts);
    } else {
        rc = nde__sde_solve_hooked(sde, t0, t1, y0, bm, o, sol, sde_on_accept, nde__adj_on_save, t);
    }
    t->solves++;
    if (rc != NDE_OK) {
        nde__adj_fail(t, rc, "the taped solve failed: %s", sol->message_);
        return rc;
    }
    t->r_error = t->r_stiff = 0.0;
    t->n_saved = sol->n;
    t->have = 1;
    memset(&t->stats, 0, sizeof t->stats);
    t->stats.steps = t->n_steps;
    t->stats.checkpoints = t->n_ck;
    t->stats.stride = t->stride;
    t->stats.bytes = nde__adj_tape_bytes(t);
    return NDE_OK;
}

/* ---- backward: the checkpointed pass ------------------------------------------------------- */

typedef struct sde_backward {
    nde_tape *t;
    sde_step w;
    double *ybar, *theta_bar, *inside;   /* dim, np or NULL, dim */
    const double *dL_dy;
    double **pool;
    size_t isrc;                          /* saved points not yet consumed: [0, isrc) */
} sde_backward;

/* Adds the cotangents of the saved points that are the state at boundary k. */
static void take_boundary(sde_backward *B, size_t k)
{
    const nde_tape *t = B->t;
    const size_t dim = t->p.dim;
    while (B->isrc > 0) {
        const double *r = t->src + 2 * (B->isrc - 1);
        if (r[1] >= 0.0 || (size_t)r[0] != k) break;
        if (B->dL_dy)
            for (size_t d = 0; d < dim; d++) B->ybar[d] += B->dL_dy[(B->isrc - 1) * dim + d];
        B->isrc--;
    }
}

static int step_at(sde_backward *B, size_t k, const double *y0)
{
    const nde_tape *t = B->t;
    const double *r = t->steps + k * t->step_unit;
    return step_forward(&B->w, t->p.dir * r[STEP_S], t->p.dir * r[STEP_H], y0);
}

static int reverse_step(sde_backward *B, size_t k, const double *y0)
{
    nde_tape *t = B->t;
    const size_t dim = t->p.dim;
    take_boundary(B, k + 1);
    /* points saved inside the step, on its chord y0 + theta (y1 - y0) */
    memset(B->inside, 0, dim * sizeof *B->inside);
    while (B->isrc > 0) {
        const double *q = t->src + 2 * (B->isrc - 1);
        if (q[1] < 0.0 || (size_t)q[0] != k) break;
        if (B->dL_dy) {
            const double th = q[1], *c = B->dL_dy + (B->isrc - 1) * dim;
            for (size_t d = 0; d < dim; d++) {
                B->ybar[d] += th * c[d];
                B->inside[d] += (1.0 - th) * c[d];
            }
        }
        B->isrc--;
    }
    int rc = step_at(B, k, y0);
    if (rc) return rc;
    t->stats.recomputed++;
    if ((rc = step_reverse(&B->w, y0, B->ybar, B->theta_bar))) return rc;
    for (size_t d = 0; d < dim; d++) B->ybar[d] += B->inside[d];
    return 0;
}

/* Reverses steps b-1 .. a given the state ya at boundary a (tape.c's bisection). */
static int reverse_range(sde_backward *B, size_t a, size_t b, const double *ya, size_t level)
{
    if (b - a == 1) return reverse_step(B, a, ya);
    nde_tape *t = B->t;
    const size_t dim = t->p.dim, mid = a + (b - a) / 2;
    double *ym = B->pool[level];
    memcpy(ym, ya, dim * sizeof *ym);
    for (size_t k = a; k < mid; k++) {
        int rc = step_at(B, k, ym);
        if (rc) return rc;
        memcpy(ym, B->w.y1, dim * sizeof *ym);
        t->stats.recomputed++;
    }
    int rc = reverse_range(B, mid, b, ym, level + 1);
    return rc ? rc : reverse_range(B, a, mid, ya, level + 1);
}

int nde_sde_backward(nde_tape *t, const double *dL_dy, double *dL_dy0, double *dL_dtheta)
{
    if (!t) return NDE_EINVAL;
    if (!t->have) return nde__adj_fail(t, NDE_EINVAL, "nde_sde_backward needs a successful nde_sde_solve_taped first");
    if (!t->is_sde)
        return nde__adj_fail(t, NDE_EINVAL, "the tape holds an ODE solve (nde_ode_solve_taped): use nde_ode_backward");
    if (!t->sde.drift_vjp || !t->sde.diffusion_vjp)
        return nde__adj_fail(t, NDE_EINVAL, "sde->%s is NULL: the backward pass needs the vector-Jacobian products of "
                             "the drift and the diffusion", !t->sde.drift_vjp ? "drift_vjp" : "diffusion_vjp");
    const size_t dim = t->p.dim, np = t->p.np;
    for (size_t i = 0; dL_dy && i < t->n_saved * dim; i++)
        if (!isfinite(dL_dy[i]))
            return nde__adj_fail(t, NDE_EINVAL, "dL_dy[%zu] (point %zu, component %zu) is not finite", i, i / dim, i % dim);
    if (t->o.kind == NDE_ADJOINT_REVERSIBLE || t->o.kind == NDE_ADJOINT_BACKSOLVE) {
        int rc = t->o.kind == NDE_ADJOINT_REVERSIBLE ? nde__adj_sde_reversible(t, dL_dy, dL_dy0, dL_dtheta)
                                                     : nde__adj_sde_backsolve(t, dL_dy, dL_dy0, dL_dtheta);
        t->stats.bytes = nde__adj_tape_bytes(t);
        return rc;
    }
    const size_t gs = t->sde.noise == NDE_NOISE_DIAGONAL ? dim : dim * t->sde.noise_dim;
    size_t depth = nde__adj_ceil_log2(t->stride) + 1, nd = step_doubles(dim, gs, t->sde.noise_dim, np), bytes = 0;
    int bad = nd == 0;
    bad |= nde__size_muladd(&nd, 2 + depth, dim);   /* ybar, inside, pool */
    bad |= nde__size_add(nd, np, &nd);              /* theta_bar */
    bad |= nde__size_muladd(&bytes, nd, sizeof(double));
    bad |= nde__size_muladd(&bytes, depth, sizeof(double *));
    if (bad) return nde__adj_fail(t, NDE_ENOMEM, "the backward workspace for dim = %zu is too large", dim);
    if (nde__adj_workspace(t, bytes)) return NDE_ENOMEM;
    sde_backward B = { .t = t, .dL_dy = dL_dy, .isrc = t->n_src };
    double *p = step_init(&B.w, t, t->work);
    B.ybar = p; p += dim;
    B.inside = p; p += dim;
    double *pool_mem = p; p += depth * dim;
    B.theta_bar = np ? p : NULL; p += np;
    B.pool = (double **)p;
    for (size_t i = 0; i < depth; i++) B.pool[i] = pool_mem + i * dim;
    memset(B.ybar, 0, dim * sizeof *B.ybar);
    if (B.theta_bar) memset(B.theta_bar, 0, np * sizeof *B.theta_bar);
    t->stats.recomputed = 0;

    int rc = NDE_OK;
    for (size_t i = t->n_ck; i-- > 0 && rc == NDE_OK;) {
        size_t a = i * t->stride, b = a + t->stride;
        if (b > t->n_steps) b = t->n_steps;
        if (a < b) rc = reverse_range(&B, a, b, t->ck + i * dim, 0);
    }
    if (rc == NDE_OK) take_boundary(&B, 0);
    t->stats.nvjp = B.w.nvjp;
    t->stats.nfe = B.w.nfe;
    t->stats.bytes = nde__adj_tape_bytes(t);
    if (rc)
        return nde__adj_fail(t, NDE_ECALLBACK, "a drift, diffusion or VJP callback (or the Brownian tree) returned %d "
                             "in the backward pass", rc);
    if (dL_dy0) memcpy(dL_dy0, B.ybar, dim * sizeof *dL_dy0);
    if (dL_dtheta && np) memcpy(dL_dtheta, B.theta_bar, np * sizeof *dL_dtheta);
    return NDE_OK;
}
