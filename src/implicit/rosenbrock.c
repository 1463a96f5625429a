/* Rosenbrock-Wanner methods as a stepper of the integrate loop: one engine, the
 * methods as data (nde__ros_tableau, src/implicit/internal.h), with mass matrices
 * (M y' = f, M constant and possibly singular: index-1 DAEs) and dense or banded
 * Jacobians.
 *
 * Per step: f(s, y) (the start, kept from the previous accept), one Jacobian J =
 * df~/dy at (s, y) and, unless nde_options.autonomous, df~/ds by a forward difference;
 * both are kept over rejected attempts (they depend on the start only). Per attempt:
 * one LU of E = M/(h gamma) - J (dense: LAPACK dgetrf; banded: dgbtrf), then the
 * stages, each one f-evaluation (none for a stage at its predecessor's point: the
 * table's same_f) and one solve with the factors. A singular E makes the
 * attempt "retry smaller" (the loop shrinks h and gives up with a message after its
 * limit of consecutive failures). With the caller's linear solver
 * (nde_options.lin_setup / lin_solve) no J is formed: its setup at (s, y) replaces the
 * LU, and its solve of (M - h gamma J~) x = h gamma b each stage's solve.
 *
 * Step control (ops->step_factor): RODAS's predictive controller (ros_step_factor),
 * or the PID controller when the caller set PID coefficients. With it rodas4 takes the
 * Fortran RODAS's steps; with the loop's PI default it rejected 4-6x as many steps
 * (vdp1000 at rtol 1e-5: 127 against 24) and was 1.3x slower at equal error.
 *
 * Consistent initial values (check_start): with a mass matrix M the algebraic
 * equations are w^T f(t, y) = 0 for every w in the left null space of M (w^T M = 0),
 * found once per solver from the SVD of M (singular values <= dim eps max sigma count
 * as zero). At t0 the Newton correction that moves y0 onto them to first order, the
 * least-norm dy with G dy = -r (G = W^T J, r = W^T f(t0, y0)), must be within the
 * tolerances: RMS_i(dy_i / (atol + rtol |y0_i|)) <= 1 (constant steps: rtol = atol =
 * sqrt(eps)); else NDE_EINVAL. A rank-deficient G G^T (the algebraic equations do not
 * determine the algebraic variables: not index 1) is NDE_EINVAL too. */
#include "implicit/internal.h"
#include "numerics/internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- the methods -------------------------------------------------------------------- */

/* ros3p: J. Lang, J. Verwer, "ROS3P - an accurate third-order Rosenbrock solver
 * designed for parabolic problems", BIT 41 (2001) 731-738: gamma = 1/2 + sqrt(3)/6,
 * alpha21 = alpha31 = 1, alpha32 = 0, gamma21 = -1, gamma31 = -gamma, gamma32 = -1/2 -
 * 2 sqrt(3)/6, b = (2/3, 0, 1/3), transformed (a = alpha Gamma^-1, C = diag(1/gamma) -
 * Gamma^-1, m = b Gamma^-1) to 20 digits with mpmath. Order 3 (not stiffly accurate;
 * A-stable).
 * The error estimate is nde's, not the paper's: on f = J y + b the paper's stages give
 * k2 = k1 (alpha21 = 1, gamma21 = -1), so every order-2 combination of k1..k3 has
 * ROS3P's own stability function and the paper's k1 - k2 vanishes there. A fourth
 * stage for the estimate only, at stage 2's point (alpha4 = (1, 0, 0), c4 = 1: F_4 =
 * F_3 = F_2 is reused, no evaluation; one more solve with the factors):
 *   (I - h gamma J) k4 = h f(y0 + k1) + h J (-4/3 k1 + 1/3 k3),
 * and the estimate y1 - yhat = e4 (k4 - k1), i.e. yhat = y0 + (2/3 + e4) k1 + 1/3 k3 -
 * e4 k4. Conditions (Hairer & Wanner II, IV.7, beta'_i = sum_j (alpha_ij + gamma_ij),
 * diagonal included): order 1 sum e_i = 0, order 2 sum e_i beta'_i = 0 (beta'_4 = 1 -
 * 4/3 + 1/3 + gamma = gamma = beta'_1); on y' = lambda y, with w = z / (1 - gamma z),
 * the estimate is -e4 / (2 sqrt 3) w^3 (zero only if gamma43 = 0), bounded by 0.59 e4
 * on Re z <= 0 (|w| <= 1/gamma), and of order 3 exactly (yhat fails the order-3
 * conditions); and on Prothero-Robinson y' = lambda (y - g) + g' from y0 = g(t0) its
 * terms in h^q g^(q) all vanish as lambda h -> -Inf (gamma42 = 0, gamma43 = 1/3 solve
 * that condition with gamma41 = -1 - gamma43), so stiff components on their slow
 * manifold do not shrink the step (the paper's estimate keeps an h^2 g'' term there).
 * In the transformed form row 4 is a_4 = a_2, C_4 = (10 sqrt 3 - 18, sqrt 3 - 1,
 * 4 - 2 sqrt 3), d_4 = gamma - 1, m_4 = 0, and e = e4 (15 - 9 sqrt 3, 1 - sqrt 3,
 * 2 sqrt 3 - 4, 3 - sqrt 3) with e4 = 1, chosen by measurement (bench_stiff, rtol =
 * atol): with e4 = 1/3 (the paper's weight on f''(f, f)) Robertson at 1e-3 and 1e-4
 * ends in a step-size underflow (the paper's estimate: max_steps at 1e-4); with e4 = 1
 * 1e-4 .. 1e-10 solve, but at 1e-3 (atol far above y2 ~ 1e-5, which goes negative) the
 * solve blows up to 1e13 and returns NDE_OK. Against the paper's estimate at equal
 * rtol: Robertson 0.9x the steps (same errors), vdp1000 1.5x (errors 0.7x), HIRES
 * 2.5x (errors 1-3.6x): there that estimate's weight on the stiff components' h^2
 * terms put the steps better.
 * tests/test_rosenbrock.c checks the conditions, the row identities behind the reuse,
 * and measures the estimate's order.
 * Dense output: not in the paper. nde's order-2 continuous extension b(th) = th b +
 * th (1 - th) q' with sum q'_i = 0 and sum q'_i beta_i = -1/2 (beta = alpha + Gamma:
 * the two order-2 conditions of a Rosenbrock interpolant, the least-norm q'), written
 * in the u-form as H = q' Gamma^-1 (H_4 = 0); tests/test_rosenbrock.c checks both
 * conditions. */
#define ROS3P_GAMMA 0.78867513459481288225
static const double ros3p_a[16] = {
    0, 0, 0, 0,
    1.2679491924311227065, 0, 0, 0,
    1.2679491924311227065, 0, 0, 0,
    1.2679491924311227065, 0, 0, 0 };
static const double ros3p_C[16] = {
    0, 0, 0, 0,
    -1.6076951545867362388, 0, 0, 0,
    -3.4641016151377545871, -1.7320508075688772935, 0, 0,
    -0.67949192431122706473, 0.73205080756887729353, 0.53589838486224541294, 0 };
static const double ros3p_c[4] = { 0, 1, 1, 1 };
static const double ros3p_d[4] = { 0.78867513459481288225, -0.21132486540518711775, -1.0773502691896257645,
                                   -0.21132486540518711775 };
static const double ros3p_m[4] = { 2.0, 0.57735026918962576451, 0.42264973081037423549, 0 };
static const double ros3p_e[4] = { -0.58845726811989564175, -0.73205080756887729353, -0.53589838486224541294,
                                   1.2679491924311227065 };
static const double ros3p_H[4] = { 1.1698729810778067662, 0.63397459621556135324, 0.73205080756887729353, 0 };
static const unsigned char ros3p_same_f[4] = { 0, 0, 0, 1 };
static const nde__ros_tableau ros3p_tab = {
    .stages = 4, .gamma = ROS3P_GAMMA, .a = ros3p_a, .C = ros3p_C, .c = ros3p_c, .d = ros3p_d,
    .m = ros3p_m, .e = ros3p_e, .dense_rows = 1, .H = ros3p_H, .est_stages = 1, .same_f = ros3p_same_f };

/* rodas4: E. Hairer, G. Wanner, Solving ODEs II (2nd ed., 1996), IV.7 (RODAS), and
 * their code rodas.f (ROCOE, METH = 1), already in the transformed form: stiffly
 * accurate (y1 = Y6 + u6 with Y6 = Y5 + u5 the embedded solution, so the error
 * estimate is u6), order 4(3), L-stable; dense output (CONTRO of rodas.f) of order 3. */
static const double rodas4_a[36] = {
    0, 0, 0, 0, 0, 0,
    1.544, 0, 0, 0, 0, 0,
    0.9466785280815826, 0.2557011698983284, 0, 0, 0, 0,
    3.314825187068521, 2.896124015972201, 0.9986419139977817, 0, 0, 0,
    1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950, 0, 0,
    1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950, 1, 0 };
static const double rodas4_C[36] = {
    0, 0, 0, 0, 0, 0,
    -5.6688, 0, 0, 0, 0, 0,
    -2.430093356833875, -0.2063599157091915, 0, 0, 0, 0,
    -0.1073529058151375, -9.594562251023355, -20.47028614809616, 0, 0, 0,
    7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160, 0, 0,
    8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054, 0 };
static const double rodas4_c[6] = { 0, 0.386, 0.21, 0.63, 1, 1 };
static const double rodas4_d[6] = { 0.25, -0.1043, 0.1035, -0.3620000000000023e-01, 0, 0 };
static const double rodas4_m[6] = { 1.221224509226641, 6.019134481288629, 12.53708332932087,
                                    -0.6878860361058950, 1, 1 };
static const double rodas4_e[6] = { 0, 0, 0, 0, 0, 1 };
static const double rodas4_H[12] = {
    10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662, 0,
    -0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872, 0 };
static const nde__ros_tableau rodas4_tab = {
    .stages = 6, .gamma = 0.25, .a = rodas4_a, .C = rodas4_C, .c = rodas4_c, .d = rodas4_d,
    .m = rodas4_m, .e = rodas4_e, .dense_rows = 2, .H = rodas4_H };

/* rodas5p: G. Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and
 * numerical benchmarks within the Julia Differential Equations package", BIT Numer.
 * Math. 63 (2023) 27; the table as in SciML/OrdinaryDiffEq.jl (RODAS5PA/C/c/d/H,
 * checked there against the paper). 8 stages, stiffly accurate: y1 = Y8 + u8 with
 * Y8 = Y7 + u7; the 5th-order solution is y1, the 4th-order embedded one Y8 (a table
 * that advanced with Y8 would measure order 4: tests/test_rosenbrock.c proves order 5
 * of y1 and 4 of Y8 from the order conditions). Dense output of order 4 (three rows
 * of H). */
static const double rodas5p_a[64] = {
    0, 0, 0, 0, 0, 0, 0, 0,
    3.0, 0, 0, 0, 0, 0, 0, 0,
    2.849394379747939, 0.45842242204463923, 0, 0, 0, 0, 0, 0,
    -6.954028509809101, 2.489845061869568, -10.358996098473584, 0, 0, 0, 0, 0,
    2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641, 0, 0, 0, 0,
    -7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256, 0.030198172008377946, 0, 0, 0,
    -7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256, 0.030198172008377946, 1, 0, 0,
    -7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256, 0.030198172008377946, 1, 1, 0 };
static const double rodas5p_C[64] = {
    0, 0, 0, 0, 0, 0, 0, 0,
    -14.155112264123755, 0, 0, 0, 0, 0, 0, 0,
    -17.97296035885952, -2.859693295451294, 0, 0, 0, 0, 0, 0,
    147.12150275711716, -1.41221402718213, 71.68940251302358, 0, 0, 0, 0, 0,
    165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306, 0, 0, 0, 0,
    24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125, -0.6610691825249471, 0, 0, 0,
    30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783, -19.097331116725623,
    -28.087943162872662, 0, 0,
    37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047, -40.06618937091002,
    -54.66780262877968, -9.48861652309627, 0 };
static const double rodas5p_c[8] = { 0, 0.6358126895828704, 0.4095798393397535, 0.9769306725060716,
                                     0.4288403609558664, 1, 1, 1 };
static const double rodas5p_d[8] = { 0.21193756319429014, -0.42387512638858027, -0.3384627126235924,
                                     1.8046452872882734, 2.325825639765069, 0, 0, 0 };
static const double rodas5p_m[8] = { -7.502846399306121, 2.561846144803919, -11.627539656261098,
                                     -0.18268767659942256, 0.030198172008377946, 1, 1, 1 };
static const double rodas5p_e[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
static const double rodas5p_H[24] = {
    25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204, 0.524948541321073,
    1.1241088310450404, 0.4272876194431874, -0.17202221070155493,
    -9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796, 20.176138334709044,
    15.98066361424651, -6.789040303419874, -6.710236069923372,
    11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643, -52.072871366152654,
    -59.78993625266729, -0.15582684282751913, 4.883087185713722 };
static const nde__ros_tableau rodas5p_tab = {
    .stages = 8, .gamma = 0.21193756319429014, .a = rodas5p_a, .C = rodas5p_C, .c = rodas5p_c,
    .d = rodas5p_d, .m = rodas5p_m, .e = rodas5p_e, .dense_rows = 3, .H = rodas5p_H };

/* ---- the stepper ---------------------------------------------------------------------- */

/* RODAS's step-control defaults (rodas.f: WORK(5) SAFE, WORK(3) = 1/FAC1 and WORK(4) =
 * 1/FAC2, the step ratio h_new / h in [0.2, 6]) */
#define ROS_SAFETY 0.9
#define ROS_FACTOR_MIN 0.2
#define ROS_FACTOR_MAX 6.0

typedef struct ros_state {
    const nde__ros_tableau *tab;
    size_t n, ml, mu, ldj, ldab;   /* banded: ml, mu > 0 or either; ldj, ldab band leading dims */
    int banded, autonomous;
    int jac_valid;                 /* J (and df/dt) belong to the current start */
    int null_known;                /* the left null space of M has been computed */
    size_t n_null;                 /* its dimension */
    double *f0, *ft, *ytmp, *ftmp, *v;   /* dim each */
    double *u;                     /* stages x dim */
    double *J, *E;                 /* dense dim x dim row-major, or band (ldj, ldab) x dim */
    double *full;                  /* banded with a user jac: dim x dim; else NULL */
    double *M;                     /* mass: a copy of the caller's (dim x dim); NULL: identity */
    double *W, *sv, *work, *scr;   /* mass: null vectors (rows), singular values, SVD work
                                      (5 dim), 2 dim^2 scratch; NULL without a mass matrix */
    int *ipiv;
    /* step control: RODAS's (below), or the PID controller when the caller set PID
     * coefficients (ctrl_pid) */
    int ctrl_pid;
    nde_controller pid;
    double safety, fmin, fmax, expo;   /* RODAS's SAFE, 1/FAC1, 1/FAC2; 1/(embedded order + 1) */
    nde__int_predictive pred;      /* Gustafsson's memory (integrate/internal.h) */
} ros_state;

const nde__ros_tableau *nde__ros_tab(const nde_method *m)
{
    return m && m->kind == NDE_METHOD_ROSENBROCK ? (const nde__ros_tableau *)m->tableau : NULL;
}

const double *nde__ros_stages(const nde__int_stepper *st)
{
    const ros_state *R = st->state;
    return R->u;
}

static size_t header_bytes(void)
{
    return (sizeof(ros_state) + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

static int is_banded(const nde_options *o, size_t n)
{
    return o && (o->jac_lower || o->jac_upper) && o->jac_lower < n && o->jac_upper < n;
}

/* Doubles of the layout below; 0 on overflow. With the caller's linear solver
 * (user_lin) no E, and J only for a mass matrix's consistency check. */
static size_t ros_doubles(const nde_method *m, size_t n, int banded, size_t ml, size_t mu, int user_jac,
                          int mass, int user_lin)
{
    size_t total = 0, nn, t;
    if (nde__size_mul(n, n, &nn)) return 0;
    if (nde__size_muladd(&total, (size_t)nde__ros_tab(m)->stages + 6, n)) return 0;  /* vectors, ipiv */
    if (user_lin) {
        if (mass && nde__size_add(total, nn, &total)) return 0;
    } else if (banded) {
        if (nde__size_muladd(&total, ml + mu + 1, n) || nde__size_muladd(&total, 2 * ml + mu + 1, n)) return 0;
        if (user_jac && nde__size_add(total, nn, &total)) return 0;
    } else if (nde__size_muladd(&total, 2, nn)) {
        return 0;
    }
    if (mass) {
        if (nde__size_mul(nn, 4, &t) || nde__size_add(total, t, &total) || nde__size_muladd(&total, 6, n))
            return 0;
    }
    return total;
}

static size_t ros_size_problem(const nde_method *m, const nde_ode *ode, const nde_options *o)
{
    size_t n = ode->dim;
    int banded = is_banded(o, n);
    size_t d = ros_doubles(m, n, banded, banded ? o->jac_lower : 0, banded ? o->jac_upper : 0, ode->jac != NULL,
                           ode->mass != NULL, o && o->lin_setup), bytes;
    if (d == 0 || nde__size_mul(d, sizeof(double), &bytes) || nde__size_add(bytes, header_bytes(), &bytes)) return 0;
    return bytes;
}

/* Without the problem (nde__int_ops.size): the dense layout without a mass matrix. */
static size_t ros_size(const nde_method *m, size_t dim)
{
    nde_ode ode = { .dim = dim };
    return ros_size_problem(m, &ode, NULL);
}

static void ros_init(nde__int_stepper *st)
{
    ros_state *R = st->state;
    const nde_options *o = st->opts;
    size_t n = st->dim;
    memset(R, 0, sizeof *R);
    R->tab = nde__ros_tab(st->m);
    R->n = n;
    R->banded = is_banded(o, n);
    R->ml = R->banded ? o->jac_lower : 0;
    R->mu = R->banded ? o->jac_upper : 0;
    R->ldj = R->ml + R->mu + 1;
    R->ldab = 2 * R->ml + R->mu + 1;
    R->autonomous = o && o->autonomous;
    R->ctrl_pid = o && (o->pcoeff != 0.0 || o->icoeff != 0.0 || o->dcoeff != 0.0);
    if (R->ctrl_pid) nde__int_pid_setup(&R->pid, st->m->embedded_order, o);
    R->safety = o && o->safety > 0.0 ? o->safety : ROS_SAFETY;
    R->fmin = o && o->factormin > 0.0 ? o->factormin : ROS_FACTOR_MIN;
    /* NDE_OPTIONS_INIT's factormax (10) is the PID controller's: RODAS's bound unless
     * the caller asks for a tighter one */
    R->fmax = o && o->factormax > 0.0 ? fmin(o->factormax, ROS_FACTOR_MAX) : ROS_FACTOR_MAX;
    R->expo = 1.0 / (double)(st->m->embedded_order + 1);
    double *p = (double *)((char *)st->state + header_bytes());
    R->f0 = p; p += n;
    R->ft = p; p += n;
    R->ytmp = p; p += n;
    R->ftmp = p; p += n;
    R->v = p; p += n;
    R->ipiv = (int *)p; p += n;   /* n doubles hold n ints */
    R->u = p; p += (size_t)R->tab->stages * n;
    if (nde__impl_user_linsolve(st)) {   /* banded is excluded by the validation */
        R->J = st->ode->mass ? p : NULL;
        p += st->ode->mass ? n * n : 0;
        R->E = NULL;
    } else if (R->banded) {
        R->J = p; p += R->ldj * n;
        R->E = p; p += R->ldab * n;
        if (st->ode->jac) { R->full = p; p += n * n; }
    } else {
        R->J = p; p += n * n;
        R->E = p; p += n * n;
    }
    if (st->ode->mass) {
        R->M = p; p += n * n;
        memcpy(R->M, st->ode->mass, n * n * sizeof *R->M);
        R->W = p; p += n * n;
        R->scr = p; p += 2 * n * n;
        R->sv = p; p += n;
        R->work = p; p += 5 * n;
    }
}

static int ros_dense_degree(const nde_method *m) { return nde__ros_tab(m)->dense_rows + 1; }

static int ros_start(nde__int_stepper *st, double s, const double *y)
{
    ros_state *R = st->state;
    R->jac_valid = 0;
    nde__int_predictive_reset(&R->pred);   /* a restart (an event, a jump): no history */
    if (R->ctrl_pid && st->new_solve) nde_controller_reset(&R->pid);
    st->stats->nfe++;
    return st->f(s, y, R->f0, st->user);
}

static const double *ros_start_f(const nde__int_stepper *st)
{
    const ros_state *R = st->state;
    return R->f0;
}

/* J at the start (dense or banded). */
static int jacobian(nde__int_stepper *st, double s, const double *y)
{
    ros_state *R = st->state;
    if (R->banded)
        return nde__impl_jacobian_band(st, s, y, R->f0, R->ml, R->mu, R->J, R->ldj, R->ytmp, R->ftmp, R->full);
    return nde__impl_jacobian_scaled(st, s, y, R->f0, R->J, R->ytmp, R->ftmp);
}

/* Systems up to this dimension are factored here instead of by LAPACK: there the call
 * overhead of dgetrf/dgetrs (argument checks, OpenBLAS's locks and dispatch, two
 * triangular solves per right-hand side) outweighs the arithmetic. Measured on vdp1000
 * (n = 2): about 0.8 us per attempt with LAPACK against 0.3 us for Boost's inline ublas
 * LU. The factorisation is LAPACK's dgetf2 (partial pivoting, row interchanges), on the
 * row-major array. */
#define ROS_SMALL_N 8

/* In place LU with partial pivoting of the row-major n x n a: NDE_OK,
 * NDE__NUM_SINGULAR or NDE_ENONFINITE (as nde__num_lu_factor). Inlined into
 * small_lu_n with the order a constant (below). */
static inline __attribute__((always_inline)) int small_lu(size_t n, double *a, int *piv)
{
    int finite = 1;   /* one test at the end: no branch per entry */
    for (size_t k = 0; k < n * n; k++) finite &= isfinite(a[k]) != 0;
    if (!finite) return NDE_ENONFINITE;
#pragma GCC unroll 8
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        double big = fabs(a[k * n + k]);
#pragma GCC unroll 8
        for (size_t i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > big) { big = fabs(a[i * n + k]); p = i; }
        piv[k] = (int)p;
        if (big == 0.0) return NDE__NUM_SINGULAR;
        if (p != k)
            for (size_t j = 0; j < n; j++) { double t = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = t; }
        const double inv = 1.0 / a[k * n + k];
#pragma GCC unroll 8
        for (size_t i = k + 1; i < n; i++) {
            double l = a[i * n + k] *= inv;
#pragma GCC unroll 8
            for (size_t j = k + 1; j < n; j++) a[i * n + j] -= l * a[k * n + j];
        }
    }
    return NDE_OK;
}

/* small_lu swaps whole rows, multipliers included (dgetf2's P A = L U), so b takes
 * every interchange before the elimination (dgetrs: dlaswp, then L): interleaving them
 * (LINPACK's dgesl, whose dgefa leaves the multipliers in place) pairs a row of b with
 * another row's multipliers as soon as a pivot below the first column moves. The
 * triangular solves run on a local copy x, which the unrolled code keeps in registers
 * (b may alias lu for the compiler: each store would be reloaded on the chain). */
static inline __attribute__((always_inline)) void small_solve(size_t n, const double *lu, const int *piv,
                                                                double *b)
{
    double x[ROS_SMALL_N];
    for (size_t k = 0; k < n; k++) {
        size_t p = (size_t)piv[k];
        if (p != k) { double t = b[k]; b[k] = b[p]; b[p] = t; }
    }
#pragma GCC unroll 8
    for (size_t k = 0; k < n; k++) x[k] = b[k];
#pragma GCC unroll 8
    for (size_t k = 0; k < n; k++)
#pragma GCC unroll 8
        for (size_t i = k + 1; i < n; i++) x[i] -= lu[i * n + k] * x[k];
#pragma GCC unroll 8
    for (size_t k = n; k-- > 0;) {
        double acc = x[k];
#pragma GCC unroll 8
        for (size_t j = k + 1; j < n; j++) acc -= lu[k * n + j] * x[j];
        x[k] = acc / lu[k * n + k];
    }
#pragma GCC unroll 8
    for (size_t k = 0; k < n; k++) b[k] = x[k];
}

/* The kernels above with the order a compile-time constant: loops unrolled, the
 * operations (and so the bits) the same. A solve is a chain of dependent divisions and
 * products that the next stage waits on (6 per rodas4 step); with the generic loops
 * around that chain the solves were a third of a robertson solve's time (perf).
 * ROS_SMALL_CASES(call) runs call(k) for the local n = k, n <= ROS_SMALL_N. */
#define ROS_SMALL_CASES(call) \
    switch (n) { \
    case 1: call(1); case 2: call(2); case 3: call(3); case 4: call(4); \
    case 5: call(5); case 6: call(6); case 7: call(7); default: call(8); \
    }

static int small_lu_n(size_t n, double *a, int *piv)
{
#define ROS_LU(k) return small_lu(k, a, piv)
    ROS_SMALL_CASES(ROS_LU)
#undef ROS_LU
}

static void small_solve_n(size_t n, const double *lu, const int *piv, double *b)
{
#define ROS_SOLVE(k) small_solve(k, lu, piv, b); return
    ROS_SMALL_CASES(ROS_SOLVE)
#undef ROS_SOLVE
}

/* Bands up to this total width kl + ku are factored here too: LAPACK's dgbtf2/dgbtrs
 * work column by column through BLAS calls (dger, dswap, dtbsv) whose overhead, for a
 * band of 5 (bruss1d), took two thirds of a solve's time (perf). The algorithm is
 * dgbtf2's and dgbtrs's, on the same storage (see nde__num_band_lu_factor). */
#define ROS_NARROW_BAND 8

static int band_lu(size_t n, size_t kl, size_t ku, double *ab, size_t ldab, int *ipiv)
{
    const size_t kv = kl + ku;
    for (size_t j = 0; j < n; j++) {
        size_t i0 = j > ku ? j - ku : 0, i1 = j + kl < n ? j + kl : n - 1;
        for (size_t i = i0; i <= i1; i++)
            if (!isfinite(ab[(kv + i - j) + j * ldab])) return NDE_ENONFINITE;
    }
    /* the fill-in rows 0 .. kl - 1 start at zero */
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < kl; i++) ab[i + j * ldab] = 0.0;
    size_t ju = 0;
    for (size_t j = 0; j < n; j++) {
        double *col = ab + j * ldab;
        const size_t km = kl < n - 1 - j ? kl : n - 1 - j;
        size_t jp = 0;
        double big = fabs(col[kv]);
        for (size_t r = 1; r <= km; r++)
            if (fabs(col[kv + r]) > big) { big = fabs(col[kv + r]); jp = r; }
        ipiv[j] = (int)(j + jp);
        if (big == 0.0) return NDE__NUM_SINGULAR;
        size_t last = j + ku + jp < n - 1 ? j + ku + jp : n - 1;
        if (last > ju) ju = last;
        if (jp != 0)   /* rows j and j + jp over columns j .. ju (stride ldab - 1 along a row) */
            for (size_t c = 0; c <= ju - j; c++) {
                double *a = col + kv + c * (ldab - 1), *b2 = a + jp;
                double t = *a; *a = *b2; *b2 = t;
            }
        const double inv = 1.0 / col[kv];
        for (size_t r = 1; r <= km; r++) col[kv + r] *= inv;
        for (size_t c = 1; c <= ju - j; c++) {
            double *cc = ab + (j + c) * ldab;
            const double u = cc[kv - c];
            if (u != 0.0)
                for (size_t r = 1; r <= km; r++) cc[kv + r - c] -= col[kv + r] * u;
        }
    }
    return NDE_OK;
}

static void band_solve(size_t n, size_t kl, size_t ku, const double *ab, size_t ldab, const int *ipiv, double *b)
{
    const size_t kv = kl + ku;
    for (size_t j = 0; j + 1 < n; j++) {
        const size_t lm = kl < n - 1 - j ? kl : n - 1 - j;
        size_t l = (size_t)ipiv[j];
        if (l != j) { double t = b[l]; b[l] = b[j]; b[j] = t; }
        const double *col = ab + j * ldab + kv;
        for (size_t r = 1; r <= lm; r++) b[j + r] -= col[r] * b[j];
    }
    for (size_t j = n; j-- > 0;) {
        const double *col = ab + j * ldab;
        double t = b[j] /= col[kv];
        size_t i0 = j > kv ? j - kv : 0;
        for (size_t i = i0; i < j; i++) b[i] -= col[kv + i - j] * t;
    }
}

/* E = M / (h gamma) - J, factored. Returns 0, or 1 for a singular / non-finite E. */
static int factor(nde__int_stepper *st, double h)
{
    ros_state *R = st->state;
    const size_t n = R->n;
    const double fac = 1.0 / (h * R->tab->gamma);
    const double *M = R->M;
    int rc;
    st->stats->nlu++;
    if (R->banded) {
        const size_t ml = R->ml, mu = R->mu;
        for (size_t j = 0; j < n; j++) {
            size_t i0 = j > mu ? j - mu : 0, i1 = j + ml < n ? j + ml : n - 1;
            double *e = R->E + j * R->ldab;
            const double *jb = R->J + j * R->ldj;
            for (size_t i = i0; i <= i1; i++) {
                double mij = M ? M[i * n + j] : (double)(i == j);
                e[ml + mu + i - j] = mij * fac - jb[mu + i - j];
            }
        }
        rc = ml + mu <= ROS_NARROW_BAND ? band_lu(n, ml, mu, R->E, R->ldab, R->ipiv)
                                        : nde__num_band_lu_factor(n, ml, mu, R->E, R->ldab, R->ipiv);
    } else {
        const size_t nn = n * n;
        if (M) for (size_t k = 0; k < nn; k++) R->E[k] = M[k] * fac - R->J[k];
        else {
            for (size_t k = 0; k < nn; k++) R->E[k] = -R->J[k];
            for (size_t i = 0; i < n; i++) R->E[i * n + i] += fac;
        }
        rc = n <= ROS_SMALL_N ? small_lu_n(n, R->E, R->ipiv) : nde__num_lu_factor(n, R->E, n, R->ipiv);
    }
    if (rc == NDE__NUM_SINGULAR) { st->why = "the iteration matrix M/(h gamma) - J is singular"; return 1; }
    if (rc) { st->why = "the iteration matrix M/(h gamma) - J is not finite"; return 1; }
    return 0;
}

static void solve(const ros_state *R, double *b)
{
    if (R->banded && R->ml + R->mu <= ROS_NARROW_BAND) band_solve(R->n, R->ml, R->mu, R->E, R->ldab, R->ipiv, b);
    else if (R->banded) nde__num_band_lu_solve(R->n, R->ml, R->mu, R->E, R->ldab, R->ipiv, b);
    else if (R->n <= ROS_SMALL_N) small_solve_n(R->n, R->E, R->ipiv, b);
    else nde__num_lu_solve(R->n, R->E, R->n, R->ipiv, 1, b, R->n);
}

/* RMS_i(err_i / (atol + rtol max(|y0_i|, |y1_i|))) over the first err_dim components,
 * scaled by its largest term (no overflow or underflow in the squares); +Inf when
 * anything in y1 or err is not finite. err is overwritten by the scaled terms |err_i| /
 * (atol + ...), computed once for both passes. */
static double error_norm(const nde__int_stepper *st, double *err, const double *y0, const double *y1)
{
    const size_t n = st->err_dim;
    const double atol = st->atol, rtol = st->rtol;
    for (size_t i = 0; i < st->dim; i++)
        if (!isfinite(y1[i]) || !isfinite(err[i])) return INFINITY;
    double big = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* fmax without its libm call: |y1_i| is finite here, and fmax(NaN, b) = b too */
        const double a = fabs(y0[i]), b = fabs(y1[i]);
        double u = err[i] = fabs(err[i]) / (atol + rtol * (a > b ? a : b));
        if (!(u <= big)) big = u;
    }
    if (!isfinite(big)) return INFINITY;
    if (big == 0.0) return 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double u = err[i] / big;
        sum += u * u;
    }
    return big * sqrt(sum / (double)n);
}

/* The stages u_0 .. u_{S-1} of an attempt (E factored, or the caller's setup done).
 * Inlined twice: for the small dense systems without a mass matrix with the order n a
 * constant (every loop over the components unrolled, the solve inlined) and for all
 * the others with n from the state; the operations, and so the bits, are the same. */
static inline __attribute__((always_inline)) int stages(nde__int_stepper *st, double s, double h, const double *y,
                                                          size_t n, int small)
{
    ros_state *R = st->state;
    const nde__ros_tableau *T = R->tab;
    const int S = T->stages;
    const double *M = small ? NULL : R->M;
    const int user_lin = !small && nde__impl_user_linsolve(st);
    const double hg = h * T->gamma;
    int rc;
    const double inv_h = 1.0 / h;
    const double *fprev = R->f0;
    for (int i = 0; i < S; i++) {
        const double *ai = T->a + i * S, *Ci = T->C + i * S;
        double *ui = R->u + (size_t)i * n;
        const double *fi = R->f0;
        if (i > 0 && T->same_f && T->same_f[i]) {
            fi = fprev;   /* stage i - 1's point and time: its F (still in ftmp or f0) */
        } else if (i > 0) {
            for (size_t k = 0; k < n; k++) R->ytmp[k] = y[k];
            for (int j = 0; j < i; j++)
                if (ai[j] != 0.0) {
                    const double *uj = R->u + (size_t)j * n, a = ai[j];
                    for (size_t k = 0; k < n; k++) R->ytmp[k] += a * uj[k];
                }
            st->stats->nfe++;
            if ((rc = st->f(s + T->c[i] * h, R->ytmp, R->ftmp, st->user))) return rc;
            fi = R->ftmp;
        }
        /* v = sum_j (C_ij / h) u_j; ui = f_i + h d_i df/dt + M v (without M, v is summed
         * in ui itself) */
        double *v = M ? R->v : ui;
        for (size_t k = 0; k < n; k++) v[k] = 0.0;
        for (int j = 0; j < i; j++)
            if (Ci[j] != 0.0) {
                const double *uj = R->u + (size_t)j * n, c = Ci[j] * inv_h;
                for (size_t k = 0; k < n; k++) v[k] += c * uj[k];
            }
        if (M) nde__num_gemv(NDE__NUM_NOTRANS, n, n, 1.0, M, n, R->v, 0.0, ui);
        const double hd = R->autonomous ? 0.0 : h * T->d[i];
        if (hd != 0.0) for (size_t k = 0; k < n; k++) ui[k] += fi[k] + hd * R->ft[k];
        else for (size_t k = 0; k < n; k++) ui[k] += fi[k];
        if (user_lin) {
            for (size_t k = 0; k < n; k++) ui[k] *= hg;
            if ((rc = nde__impl_lin_solve(st, ui, &st->why))) return rc;
        } else {
            if (small) small_solve(n, R->E, R->ipiv, ui);
            else solve(R, ui);
        }
        fprev = fi;
    }
    return 0;
}

/* stages() for the order n <= ROS_SMALL_N of a dense system without mass matrix or
 * the caller's linear solver, or for any other. */
static int stages_n(nde__int_stepper *st, double s, double h, const double *y)
{
    const ros_state *R = st->state;
    const size_t n = R->n;
    if (R->banded || R->M || n > ROS_SMALL_N || nde__impl_user_linsolve(st)) return stages(st, s, h, y, n, 0);
#define ROS_STAGES(k) return stages(st, s, h, y, k, 1)
    ROS_SMALL_CASES(ROS_STAGES)
#undef ROS_STAGES
}

static int ros_attempt(nde__int_stepper *st, double s, double h, const double *y, double *y1, double *err)
{
    ros_state *R = st->state;
    const nde__ros_tableau *T = R->tab;
    const size_t n = R->n;
    const int S = T->stages;
    int rc;
    st->why = NULL;
    /* the caller's linear solver: no J, its setup for M - h gamma J~ at the start, and
     * each stage's (M/(h gamma) - J~) u = b solved as (M - h gamma J~) u = h gamma b */
    const int user_lin = nde__impl_user_linsolve(st);
    const double hg = h * T->gamma;
    if (!R->jac_valid) {
        if (!user_lin && (rc = jacobian(st, s, y))) return rc;
        if (!R->autonomous && (rc = nde__impl_time_derivative(st, s, y, R->f0, R->ft, R->ftmp))) return rc;
        R->jac_valid = 1;
    }
    if ((rc = user_lin ? nde__impl_lin_setup(st, s, y, hg, &st->why) : factor(st, h))) return rc;
    if ((rc = stages_n(st, s, h, y))) return rc;
    for (size_t k = 0; k < n; k++) y1[k] = y[k];
    for (int i = 0; i < S; i++)
        if (T->m[i] != 0.0) {
            const double *ui = R->u + (size_t)i * n, mi = T->m[i];
            for (size_t k = 0; k < n; k++) y1[k] += mi * ui[k];
        }
    if (err) {
        double *e = R->v;
        for (size_t k = 0; k < n; k++) e[k] = 0.0;
        for (int i = 0; i < S; i++)
            if (T->e[i] != 0.0) {
                const double *ui = R->u + (size_t)i * n, ei = T->e[i];
                for (size_t k = 0; k < n; k++) e[k] += ei * ui[k];
            }
        *err = error_norm(st, e, y, y1);
    }
    return 0;
}

/* P_0 = y0, P_1 = y1 - y0 + K_0, P_j = K_{j-1} - K_{j-2} (2 <= j <= R), P_{R+1} = -K_{R-1}:
 * the monomials of (1 - th) y0 + th (y1 + (1 - th) sum_r th^r K_r). */
static void dense(const nde__int_stepper *st, const double *y, const double *y1, double *P)
{
    const ros_state *R = st->state;
    const nde__ros_tableau *T = R->tab;
    const size_t n = R->n;
    const int S = T->stages, rows = T->dense_rows;
    memcpy(P, y, n * sizeof *P);
    for (int j = 1; j <= rows + 1; j++) memset(P + (size_t)j * n, 0, n * sizeof *P);
    for (size_t k = 0; k < n; k++) P[n + k] = y1[k] - y[k];
    for (int r = 0; r < rows; r++) {
        const double *Hr = T->H + r * S;
        double *Pa = P + (size_t)(r + 1) * n, *Pb = P + (size_t)(r + 2) * n;   /* +K_r, -K_r */
        for (int i = 0; i < S; i++)
            if (Hr[i] != 0.0) {
                const double *ui = R->u + (size_t)i * n, hri = Hr[i];
                for (size_t k = 0; k < n; k++) { Pa[k] += hri * ui[k]; Pb[k] -= hri * ui[k]; }
            }
    }
}

static int ros_accept(nde__int_stepper *st, double s, double h, const double *y, const double *y1,
                      unsigned what, double *P, int *start_valid)
{
    ros_state *R = st->state;
    if (what & NDE__INT_NEED_DENSE) dense(st, y, y1, P);
    *start_valid = 0;
    R->jac_valid = 0;
    if (!(what & NDE__INT_CONTINUE)) return 0;
    st->stats->nfe++;
    int rc = st->f(s + h, y1, R->f0, st->user);
    if (rc < 0) return rc;
    *start_valid = rc == 0;
    return 0;
}

/* RODAS's step-size selection (Hairer & Wanner, rodas.f, ROCORE) after every attempt of
 * an adaptive solve: fac = err^(1/k) / safety clipped to [1/fmax, 1/fmin], h_new = h /
 * fac; after an accepted step from the second on, Gustafsson's predictive factor
 * (h_acc / h) (err^2 / err_acc)^(1/k) / safety, clipped alike, when it is larger; no
 * growth on the step after a rejection. The Jacobian is kept over rejected attempts
 * (it belongs to the start), as RODAS keeps it. With PID coefficients the caller's
 * PID controller, as the loop runs it for the explicit methods. */
static double ros_step_factor(nde__int_stepper *st, double h, double err, int accepted)
{
    ros_state *R = st->state;
    if (R->ctrl_pid) {
        double f = nde__int_pid_factor(&R->pid, err, accepted);
        if (accepted) nde__int_pid_accept(&R->pid, err);
        return f;
    }
    if (!isfinite(err)) {   /* a singular matrix, non-finite stages, f asked for less */
        R->pred.reject = 1;
        return R->fmin;
    }
    const double lo = 1.0 / R->fmax, hi = 1.0 / R->fmin;
    double fac = fmax(lo, fmin(hi, pow(err, R->expo) / R->safety));
    if (!accepted) {
        R->pred.reject = 1;
        return 1.0 / fac;
    }
    return nde__int_predictive_accept(&R->pred, h, err, fac, lo, hi, R->safety, R->expo);
}

/* ---- consistent initial values of a DAE -------------------------------------------------- */

#define MSG(...) nde__msg(msg, NDE_MESSAGE_MAX, NDE_EINVAL, __VA_ARGS__)

static int ros_check_start(nde__int_stepper *st, double s, const double *y, char *msg)
{
    ros_state *R = st->state;
    const double *M = R->M;
    const size_t n = R->n;
    if (!M) return NDE_OK;
    if (R->banded)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (M[i * n + j] != 0.0 && (i > j + R->ml || j > i + R->mu))
                    return MSG("mass[%zu] (row %zu, column %zu) = %g lies outside the band (jac_lower = %zu, "
                               "jac_upper = %zu)", i * n + j, i, j, M[i * n + j], R->ml, R->mu);
    if (!R->null_known) {
        memcpy(R->scr, M, n * n * sizeof *M);
        int rc = nde__num_svd_left(n, R->scr, R->sv, R->scr + n * n, R->work, 5 * n);
        if (rc) return MSG("the SVD of the mass matrix failed (%s)", rc == NDE__NUM_NOCONV ? "no convergence" : "bad entry");
        const double tol = (double)n * DBL_EPSILON * R->sv[0];
        size_t k = 0;
        for (size_t c = 0; c < n; c++)
            if (R->sv[c] <= tol) {   /* u_c spans part of the left null space: row k of W */
                for (size_t i = 0; i < n; i++) R->W[k * n + i] = R->scr[n * n + i * n + c];
                k++;
            }
        R->n_null = k;
        R->null_known = 1;
    }
    const size_t k = R->n_null;
    if (k == 0) return NDE_OK;
    /* r = W f(t0, y0), G = W J (k x n), then dy = -G^T (G G^T)^-1 r */
    int rc = jacobian(st, s, y);
    if (rc) {
        return nde__msg(msg, NDE_MESSAGE_MAX, rc == NDE_ENONFINITE ? NDE_ENONFINITE : NDE_ECALLBACK,
                        "the Jacobian returned %d at t0 = %g (checking the algebraic equations)", rc, st->dir * s);
    }
    if (!R->autonomous && (rc = nde__impl_time_derivative(st, s, y, R->f0, R->ft, R->ftmp))) {
        return nde__msg(msg, NDE_MESSAGE_MAX, NDE_ECALLBACK, "right-hand side returned %d at t0 = %g", rc,
                        st->dir * s);
    }
    R->jac_valid = 1;   /* the first attempt reuses it */
    double *G = R->scr, *GG = R->scr + n * n, *r = R->work, *z = R->work + n, *dy = R->work + 2 * n;
    for (size_t q = 0; q < k; q++) {
        const double *w = R->W + q * n;
        double rq = 0.0;
        for (size_t i = 0; i < n; i++) rq += w[i] * R->f0[i];
        r[q] = rq;
        for (size_t j = 0; j < n; j++) {
            double g = 0.0;
            for (size_t i = 0; i < n; i++) {
                double Jij;
                if (R->banded) Jij = (i + R->mu >= j && i <= j + R->ml) ? R->J[(R->mu + i - j) + j * R->ldj] : 0.0;
                else Jij = R->J[i * n + j];
                g += w[i] * Jij;
            }
            G[q * n + j] = g;
        }
    }
    for (size_t p = 0; p < k; p++)
        for (size_t q = 0; q < k; q++) {
            double acc = 0.0;
            for (size_t j = 0; j < n; j++) acc += G[p * n + j] * G[q * n + j];
            GG[p * k + q] = acc;
        }
    /* rank deficiency: a pivot below eps times the largest diagonal entry */
    double gmax = 0.0;
    for (size_t p = 0; p < k; p++) gmax = fmax(gmax, GG[p * k + p]);
    rc = gmax > 0.0 ? nde__num_lu_factor(k, GG, k, R->ipiv) : NDE__NUM_SINGULAR;
    int deficient = rc != NDE_OK;
    for (size_t p = 0; !deficient && p < k; p++)
        if (fabs(GG[p * k + p]) <= 1e3 * DBL_EPSILON * gmax) deficient = 1;
    if (deficient)
        return MSG("the algebraic equations w^T f = 0 (w^T M = 0, %zu of them) do not determine the algebraic "
                   "variables at t0 = %g (W^T J is rank deficient): not an index-1 DAE", k, st->dir * s);
    for (size_t q = 0; q < k; q++) z[q] = r[q];
    nde__num_lu_solve(k, GG, k, R->ipiv, 1, z, k);
    const double rtol = st->rtol > 0.0 ? st->rtol : sqrt(DBL_EPSILON);
    const double atol = st->rtol > 0.0 ? st->atol : sqrt(DBL_EPSILON);
    double sum = 0.0, rmax = 0.0;
    for (size_t j = 0; j < n; j++) {
        double d = 0.0;
        for (size_t q = 0; q < k; q++) d -= G[q * n + j] * z[q];
        dy[j] = d;
        double u = d / (atol + rtol * fabs(y[j]));
        sum += u * u;
    }
    for (size_t q = 0; q < k; q++) rmax = fmax(rmax, fabs(r[q]));
    double norm = sqrt(sum / (double)n);
    if (!(norm <= 1.0))
        return MSG("y0 is inconsistent with the %zu algebraic equation%s of the DAE at t0 = %g (w^T f(t0, y0) = 0 "
                   "for w^T M = 0): largest residual %g; the Newton correction onto them has scaled norm %g > 1 "
                   "(rtol %g, atol %g)", k, k == 1 ? "" : "s", st->dir * s, rmax, norm, rtol, atol);
    return NDE_OK;
}

static const nde__int_ops nde__ros_ops = {
    .problems = NDE__INT_PROBLEM_ODE,
    .features = NDE__INT_FEATURE_MASS | NDE__INT_FEATURE_LINSOLVE,
    .size = ros_size,
    .init = ros_init,
    .dense_degree = ros_dense_degree,
    .start = ros_start,
    .start_f = ros_start_f,
    .attempt = ros_attempt,
    .accept = ros_accept,
    .step_factor = ros_step_factor,
    .size_problem = ros_size_problem,
    .check_start = ros_check_start,
};

const nde_method nde__ros3p = {
    .name = "ros3p",
    .description = "Lang & Verwer's ROS3P (2001): Rosenbrock 3(2), 3 stages, A-stable, order-2 dense output",
    .kind = NDE_METHOD_ROSENBROCK, .ops = &nde__ros_ops, .tableau = &ros3p_tab,
    .stages = 3, .order = 3, .embedded_order = 2, .fsal = 0, .dense_order = 2,
};
const nde_method nde__rodas4 = {
    .name = "rodas4",
    .description = "Hairer & Wanner's RODAS (1996): Rosenbrock 4(3), 6 stages, L-stable, stiffly accurate, "
                   "order-3 dense output",
    .kind = NDE_METHOD_ROSENBROCK, .ops = &nde__ros_ops, .tableau = &rodas4_tab,
    .stages = 6, .order = 4, .embedded_order = 3, .fsal = 0, .dense_order = 3,
};
const nde_method nde__rodas5p = {
    .name = "rodas5p",
    .description = "Steinebach's Rodas5P (2023): Rosenbrock 5(4), 8 stages, L-stable, stiffly accurate, "
                   "order-4 dense output",
    .kind = NDE_METHOD_ROSENBROCK, .ops = &nde__ros_ops, .tableau = &rodas5p_tab,
    .stages = 8, .order = 5, .embedded_order = 4, .fsal = 0, .dense_order = 4,
};
