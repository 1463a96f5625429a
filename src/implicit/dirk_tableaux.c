/* The diagonally implicit and IMEX Runge-Kutta methods of nde, as data (the engine is
 * dirk.c; conventions in internal.h: ai is s x s lower triangular with the diagonal,
 * ae strictly lower, both row-major; b and bhat are the solution's and the embedded
 * solution's weights; stage 0 of every table here is explicit, ai[0][0] = 0).
 * tests/test_dirk.c checks every table against the order conditions of all (bi-coloured,
 * for the ARK pairs) rooted trees up to the method's order and the embedded solution's,
 * and the stability functions. Rational coefficients are written as fractions (each
 * quotient rounded once by the compiler); coefficients that the papers give as
 * functions of gamma are written as those functions of the correctly rounded gamma.
 * Sources checked against the public code of Diffrax (patrick-kidger/diffrax,
 * diffrax/_solver/kvaerno*.py, kencarp*.py). Stage numbers count from 0. */
#include "implicit/internal.h"

/* ---- implicit_euler: y1 = y0 + h f(t1, y1), written as a 2-stage stiffly accurate
 * ESDIRK (stage 0 = f(t0, y0), the FSAL stage) so that the trapezoidal rule
 * bhat = (1/2, 1/2) gives the error estimate h (k1 - k0) / 2 (Diffrax's ImplicitEuler).
 * The estimate is O(h^2), the local error of the order-1 solution: embedded_order is 1
 * (the PID exponent 1/2), the lower order of the pair. A-, L- and B-stable. ---------- */
static const double ie_c[2] = { 0.0, 1.0 };
static const double ie_ai[4] = { 0.0, 0.0,
                                 0.0, 1.0 };
static const double ie_b[2] = { 0.0, 1.0 };
static const double ie_bhat[2] = { 0.5, 0.5 };
static const nde__dirk_tableau ie_tableau = {
    .stages = 2, .gamma = 1.0, .c = ie_c, .ai = ie_ai, .ae = NULL, .b = ie_b, .bhat = ie_bhat,
};

/* ---- kvaerno3: A. Kvaerno, "Singly diagonally implicit Runge-Kutta methods with an
 * explicit first stage", BIT 44 (2004) 489-502: the 3(2) ESDIRK pair, 4 stages,
 * stiffly accurate (last row = b), L-stable, and the embedded solution (stage 3's,
 * row 2) stiffly accurate too. gamma = 1/x, x the root of the Laguerre polynomial
 * L_3(x) = (-x^3 + 9x^2 - 18x + 6)/6 near 2.294 (R(infinity) = 0); Diffrax rounds it to
 * 0.43586652150. ------------------------------------------------------------------------ */
#define K3G 0.43586652150845899942
#define K3_A31 ((-4.0 * K3G * K3G + 6.0 * K3G - 1.0) / (4.0 * K3G))
#define K3_A32 ((-2.0 * K3G + 1.0) / (4.0 * K3G))
#define K3_A41 ((6.0 * K3G - 1.0) / (12.0 * K3G))
#define K3_A42 (-1.0 / ((24.0 * K3G - 12.0) * K3G))
#define K3_A43 ((-6.0 * K3G * K3G + 6.0 * K3G - 1.0) / (6.0 * K3G - 3.0))
static const double k3_c[4] = { 0.0, 2.0 * K3G, 1.0, 1.0 };
static const double k3_ai[16] = {
    0.0,    0.0,    0.0,    0.0,
    K3G,    K3G,    0.0,    0.0,
    K3_A31, K3_A32, K3G,    0.0,
    K3_A41, K3_A42, K3_A43, K3G,
};
static const double k3_b[4] = { K3_A41, K3_A42, K3_A43, K3G };
static const double k3_bhat[4] = { K3_A31, K3_A32, K3G, 0.0 };
static const nde__dirk_tableau k3_tableau = {
    .stages = 4, .gamma = K3G, .c = k3_c, .ai = k3_ai, .b = k3_b, .bhat = k3_bhat,
};

/* ---- kvaerno4: Kvaerno (2004), the 4(3) ESDIRK pair, 5 stages, both solutions
 * stiffly accurate (rows 4 and 3), L-stable. gamma = 1/x, x the root of the Laguerre
 * polynomial L_4(x) = (x^4 - 16x^3 + 72x^2 - 96x + 24)/24 near 1.746; the paper's
 * coefficients as polynomials in gamma (Horner form below; Diffrax's kvaerno4.py writes
 * them with np.polyval). c_2 = 2 gamma > 1: stage 1 lies beyond the step. ------------- */
#define K4G 0.57281606248213485541
#define K4P_12_6_1 ((12.0 * K4G - 6.0) * K4G + 1.0)            /* 12 g^2 - 6 g + 1 */
#define K4P_12_9_2 ((12.0 * K4G - 9.0) * K4G + 2.0)
#define K4P_3_1 (3.0 * K4G - 1.0)
#define K4P_6_6_1 ((6.0 * K4G - 6.0) * K4G + 1.0)
#define K4_A31 (((((144.0 * K4G - 180.0) * K4G + 81.0) * K4G - 15.0) * K4G + 1.0) * K4G / \
                (K4P_12_6_1 * K4P_12_6_1))
#define K4_A32 ((((-36.0 * K4G + 39.0) * K4G - 15.0) * K4G + 2.0) * K4G / (K4P_12_6_1 * K4P_12_6_1))
#define K4_A41 ((((((-144.0 * K4G + 396.0) * K4G - 330.0) * K4G + 117.0) * K4G - 18.0) * K4G + 1.0) / \
                (12.0 * K4G * K4G * K4P_12_9_2))
#define K4_A42 (((((72.0 * K4G - 126.0) * K4G + 69.0) * K4G - 15.0) * K4G + 1.0) / \
                (12.0 * K4G * K4G * K4P_3_1))
#define K4_A43 (((-6.0 * K4G + 6.0) * K4G - 1.0) * K4P_12_6_1 * K4P_12_6_1 / \
                (12.0 * K4G * K4G * K4P_12_9_2 * K4P_3_1))
#define K4_A51 (((((288.0 * K4G - 312.0) * K4G + 120.0) * K4G - 18.0) * K4G + 1.0) / \
                (48.0 * K4G * K4G * K4P_12_9_2))
#define K4_A52 (((24.0 * K4G - 12.0) * K4G + 1.0) / (48.0 * K4G * K4G * K4P_3_1))
#define K4_A53 (-(K4P_12_6_1 * K4P_12_6_1 * K4P_12_6_1) / \
                (48.0 * K4G * K4G * K4P_3_1 * K4P_12_9_2 * K4P_6_6_1))
#define K4_A54 ((((-24.0 * K4G + 36.0) * K4G - 12.0) * K4G + 1.0) / ((24.0 * K4G - 24.0) * K4G + 4.0))
static const double k4_c[5] = { 0.0, 2.0 * K4G, K4G + K4_A31 + K4_A32, 1.0, 1.0 };
static const double k4_ai[25] = {
    0.0,    0.0,    0.0,    0.0,    0.0,
    K4G,    K4G,    0.0,    0.0,    0.0,
    K4_A31, K4_A32, K4G,    0.0,    0.0,
    K4_A41, K4_A42, K4_A43, K4G,    0.0,
    K4_A51, K4_A52, K4_A53, K4_A54, K4G,
};
static const double k4_b[5] = { K4_A51, K4_A52, K4_A53, K4_A54, K4G };
static const double k4_bhat[5] = { K4_A41, K4_A42, K4_A43, K4G, 0.0 };
static const nde__dirk_tableau k4_tableau = {
    .stages = 5, .gamma = K4G, .c = k4_c, .ai = k4_ai, .b = k4_b, .bhat = k4_bhat,
};

/* ---- kvaerno5: Kvaerno (2004), the 5(4) ESDIRK pair, 7 stages, gamma = 0.26, both
 * solutions stiffly accurate (rows 6 and 5). The paper gives 17-digit decimals (as does
 * Diffrax's kvaerno5.py); the order conditions hold to ~1e-16. c_2 > 1. ------------- */
#define K5G 0.26
static const double k5_c[7] = { 0.0, 0.52, 1.230333209967908, 0.8957659843500759, 0.43639360985864756,
                                1.0, 1.0 };
static const double k5_ai[49] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    K5G, K5G, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.13, 0.84033320996790809, K5G, 0.0, 0.0, 0.0, 0.0,
    0.22371961478320505, 0.47675532319799699, -0.06470895363112615, K5G, 0.0, 0.0, 0.0,
    0.16648564323248321, 0.10450018841591720, 0.03631482272098715, -0.13090704451073998, K5G, 0.0, 0.0,
    0.13855640231268224, 0.0, -0.04245337201752043, 0.02446657898003141, 0.61943039072480676, K5G, 0.0,
    0.13659751177640291, 0.0, -0.05496908796538376, -0.04118626728321046, 0.62993304899016403,
    0.06962479448202728, K5G,
};
static const double k5_b[7] = { 0.13659751177640291, 0.0, -0.05496908796538376, -0.04118626728321046,
                                 0.62993304899016403, 0.06962479448202728, K5G };
static const double k5_bhat[7] = { 0.13855640231268224, 0.0, -0.04245337201752043, 0.02446657898003141,
                                    0.61943039072480676, K5G, 0.0 };
static const nde__dirk_tableau k5_tableau = {
    .stages = 7, .gamma = K5G, .c = k5_c, .ai = k5_ai, .b = k5_b, .bhat = k5_bhat,
};

/* ---- kencarp3: C. A. Kennedy, M. H. Carpenter, "Additive Runge-Kutta schemes for
 * convection-diffusion-reaction equations", Appl. Numer. Math. 44 (2003) 139-181:
 * ARK3(2)4L[2]SA, an explicit 4-stage and an L-stable stiffly accurate ESDIRK tableau
 * sharing c, b and bhat. Its own dense output is quadratic (order 2), below cubic
 * Hermite's 3: Hermite is used. --------------------------------------------------------- */
#define KC3G (1767732205903.0 / 4055673282236.0)
#define KC3_B1 (1471266399579.0 / 7840856788654.0)
#define KC3_B2 (-4482444167858.0 / 7529755066697.0)
#define KC3_B3 (11266239266428.0 / 11593286722821.0)
static const double kc3_c[4] = { 0.0, 2.0 * KC3G, 3.0 / 5.0, 1.0 };
static const double kc3_ae[16] = {
    0.0, 0.0, 0.0, 0.0,
    2.0 * KC3G, 0.0, 0.0, 0.0,
    5535828885825.0 / 10492691773637.0, 788022342437.0 / 10882634858940.0, 0.0, 0.0,
    6485989280629.0 / 16251701735622.0, -4246266847089.0 / 9704473918619.0,
    10755448449292.0 / 10357097424841.0, 0.0,
};
static const double kc3_ai[16] = {
    0.0, 0.0, 0.0, 0.0,
    KC3G, KC3G, 0.0, 0.0,
    2746238789719.0 / 10658868560708.0, -640167445237.0 / 6845629431997.0, KC3G, 0.0,
    KC3_B1, KC3_B2, KC3_B3, KC3G,
};
static const double kc3_b[4] = { KC3_B1, KC3_B2, KC3_B3, KC3G };
static const double kc3_bhat[4] = { 2756255671327.0 / 12835298489170.0, -10771552573575.0 / 22201958757719.0,
                                     9247589265047.0 / 10645013368117.0, 2193209047091.0 / 5459859503100.0 };
static const nde__dirk_tableau kc3_tableau = {
    .stages = 4, .gamma = KC3G, .c = kc3_c, .ai = kc3_ai, .ae = kc3_ae, .b = kc3_b, .bhat = kc3_bhat,
};

/* ---- kencarp4: Kennedy & Carpenter (2003), ARK4(3)6L[2]SA, 6 stages, gamma = 1/4,
 * with the paper's cubic dense output (order 3) b_i(theta) = sum_j theta^j bstar_ij. -- */
#define KC4G 0.25
#define KC4_B1 (82889.0 / 524892.0)
#define KC4_B3 (15625.0 / 83664.0)
#define KC4_B4 (69875.0 / 102672.0)
#define KC4_B5 (-2260.0 / 8211.0)
static const double kc4_c[6] = { 0.0, 0.5, 83.0 / 250.0, 31.0 / 50.0, 17.0 / 20.0, 1.0 };
static const double kc4_ae[36] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
    13861.0 / 62500.0, 6889.0 / 62500.0, 0.0, 0.0, 0.0, 0.0,
    -116923316275.0 / 2393684061468.0, -2731218467317.0 / 15368042101831.0,
    9408046702089.0 / 11113171139209.0, 0.0, 0.0, 0.0,
    -451086348788.0 / 2902428689909.0, -2682348792572.0 / 7519795681897.0,
    12662868775082.0 / 11960479115383.0, 3355817975965.0 / 11060851509271.0, 0.0, 0.0,
    647845179188.0 / 3216320057751.0, 73281519250.0 / 8382639484533.0, 552539513391.0 / 3454668386233.0,
    3354512671639.0 / 8306763924573.0, 4040.0 / 17871.0, 0.0,
};
static const double kc4_ai[36] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    KC4G, KC4G, 0.0, 0.0, 0.0, 0.0,
    8611.0 / 62500.0, -1743.0 / 31250.0, KC4G, 0.0, 0.0, 0.0,
    5012029.0 / 34652500.0, -654441.0 / 2922500.0, 174375.0 / 388108.0, KC4G, 0.0, 0.0,
    15267082809.0 / 155376265600.0, -71443401.0 / 120774400.0, 730878875.0 / 902184768.0,
    2285395.0 / 8070912.0, KC4G, 0.0,
    KC4_B1, 0.0, KC4_B3, KC4_B4, KC4_B5, KC4G,
};
static const double kc4_b[6] = { KC4_B1, 0.0, KC4_B3, KC4_B4, KC4_B5, KC4G };
static const double kc4_bhat[6] = { 4586570599.0 / 29645900160.0, 0.0, 178811875.0 / 945068544.0,
                                     814220225.0 / 1159782912.0, -3700637.0 / 11593932.0, 61727.0 / 225920.0 };
/* row j: coefficients of theta^(j+1), one per stage */
static const double kc4_dense_b[18] = {
    6943876665148.0 / 7220017795957.0, 0.0, 7640104374378.0 / 9702883013639.0,
    -20649996744609.0 / 7521556579894.0, 8854892464581.0 / 2390941311638.0,
    -11397109935349.0 / 6675773540249.0,
    -54480133.0 / 30881146.0, 0.0, -11436875.0 / 14766696.0, 174696575.0 / 18121608.0,
    -12120380.0 / 966161.0, 3843.0 / 706.0,
    6818779379841.0 / 7100303317025.0, 0.0, 2173542590792.0 / 12501825683035.0,
    -31592104683404.0 / 5083833661969.0, 61146701046299.0 / 7138195549469.0,
    -17219254887155.0 / 4939391667607.0,
};
static const nde__dirk_tableau kc4_tableau = {
    .stages = 6, .gamma = KC4G, .c = kc4_c, .ai = kc4_ai, .ae = kc4_ae, .b = kc4_b, .bhat = kc4_bhat,
    .dense_degree = 3, .dense_b = kc4_dense_b,
};

/* ---- kencarp5: Kennedy & Carpenter (2003), ARK5(4)8L[2]SA, 8 stages, gamma = 41/200.
 * Dense output: cubic Hermite, not the paper's cubic (order-3) interpolant: over the long
 * steps this pair takes, the paper's measured 9x the node error between the nodes on
 * the conformance battery's oscillator (tests/test_ode_battery.c, tolerance 1e-7),
 * Hermite 1x. The implicit a[6][5] is
 * -4269925059573/7827059040749 as in the paper, SUNDIALS (ARKODE) and PETSc; Diffrax's
 * kencarp5.py has the denominator 7827059040719, which breaks the row sum (and the order
 * conditions) by 2e-12: tests/test_dirk.c's order-condition test finds it. Its bhat
 * meets the order-5 tall-tree condition bhat^T A^4 1 = 1/120 to 2e-8, so on linear
 * problems the estimate is O(h^6) and ~10x below the error it should bound (measured on
 * y'' = -y: 1.3e-13 against 1.8e-12 at h = 0.05); nonlinear problems are unaffected. */
#define KC5G (41.0 / 200.0)
#define KC5_B1 (-872700587467.0 / 9133579230613.0)
#define KC5_B4 (22348218063261.0 / 9555858737531.0)
#define KC5_B5 (-1143369518992.0 / 8141816002931.0)
#define KC5_B6 (-39379526789629.0 / 19018526304540.0)
#define KC5_B7 (32727382324388.0 / 42900044865799.0)
static const double kc5_c[8] = { 0.0, 41.0 / 100.0, 2935347310677.0 / 11292855782101.0,
                                 1426016391358.0 / 7196633302097.0, 92.0 / 100.0, 24.0 / 100.0, 3.0 / 5.0, 1.0 };
static const double kc5_ae[64] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    41.0 / 100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    367902744464.0 / 2072280473677.0, 677623207551.0 / 8224143866563.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    1268023523408.0 / 10340822734521.0, 0.0, 1029933939417.0 / 13636558850479.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    14463281900351.0 / 6315353703477.0, 0.0, 66114435211212.0 / 5879490589093.0,
    -54053170152839.0 / 4284798021562.0, 0.0, 0.0, 0.0, 0.0,
    14090043504691.0 / 34967701212078.0, 0.0, 15191511035443.0 / 11219624916014.0,
    -18461159152457.0 / 12425892160975.0, -281667163811.0 / 9011619295870.0, 0.0, 0.0, 0.0,
    19230459214898.0 / 13134317526959.0, 0.0, 21275331358303.0 / 2942455364971.0,
    -38145345988419.0 / 4862620318723.0, -1.0 / 8.0, -1.0 / 8.0, 0.0, 0.0,
    -19977161125411.0 / 11928030595625.0, 0.0, -40795976796054.0 / 6384907823539.0,
    177454434618887.0 / 12078138498510.0, 782672205425.0 / 8267701900261.0,
    -69563011059811.0 / 9646580694205.0, 7356628210526.0 / 4942186776405.0, 0.0,
};
static const double kc5_ai[64] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    KC5G, KC5G, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    41.0 / 400.0, -567603406766.0 / 11931857230679.0, KC5G, 0.0, 0.0, 0.0, 0.0, 0.0,
    683785636431.0 / 9252920307686.0, 0.0, -110385047103.0 / 1367015193373.0, KC5G, 0.0, 0.0, 0.0, 0.0,
    3016520224154.0 / 10081342136671.0, 0.0, 30586259806659.0 / 12414158314087.0,
    -22760509404356.0 / 11113319521817.0, KC5G, 0.0, 0.0, 0.0,
    218866479029.0 / 1489978393911.0, 0.0, 638256894668.0 / 5436446318841.0,
    -1179710474555.0 / 5321154724896.0, -60928119172.0 / 8023461067671.0, KC5G, 0.0, 0.0,
    1020004230633.0 / 5715676835656.0, 0.0, 25762820946817.0 / 25263940353407.0,
    -2161375909145.0 / 9755907335909.0, -211217309593.0 / 5846859502534.0,
    -4269925059573.0 / 7827059040749.0, KC5G, 0.0,
    KC5_B1, 0.0, 0.0, KC5_B4, KC5_B5, KC5_B6, KC5_B7, KC5G,
};
static const double kc5_b[8] = { KC5_B1, 0.0, 0.0, KC5_B4, KC5_B5, KC5_B6, KC5_B7, KC5G };
static const double kc5_bhat[8] = { -975461918565.0 / 9796059967033.0, 0.0, 0.0,
                                     78070527104295.0 / 32432590147079.0, -548382580838.0 / 3424219808633.0,
                                     -33438840321285.0 / 15594753105479.0, 3629800801594.0 / 4656183773603.0,
                                     4035322873751.0 / 18575991585200.0 };
static const nde__dirk_tableau kc5_tableau = {
    .stages = 8, .gamma = KC5G, .c = kc5_c, .ai = kc5_ai, .ae = kc5_ae, .b = kc5_b, .bhat = kc5_bhat,
};

/* ---- descriptors ------------------------------------------------------------------ */

#define DIRK_METHOD(var, nm, desc, ops_, tab, s, p, pe, fs, dord) \
    const nde_method var = { .name = nm, .description = desc, .kind = NDE_METHOD_IMPLICIT_RK, \
                             .ops = &ops_, .tableau = &tab, .stages = s, .order = p, \
                             .embedded_order = pe, .fsal = fs, .dense_order = dord }

DIRK_METHOD(nde__implicit_euler, "implicit_euler",
            "backward Euler (L-stable), trapezoidal error estimate, cubic Hermite dense output",
            nde__dirk_ops, ie_tableau, 2, 1, 1, 1, 0);
DIRK_METHOD(nde__kvaerno3, "kvaerno3", "Kvaerno (2004): ESDIRK 3(2), 4 stages, L-stable, stiffly accurate",
            nde__dirk_ops, k3_tableau, 4, 3, 2, 1, 0);
DIRK_METHOD(nde__kvaerno4, "kvaerno4", "Kvaerno (2004): ESDIRK 4(3), 5 stages, L-stable, stiffly accurate",
            nde__dirk_ops, k4_tableau, 5, 4, 3, 1, 0);
DIRK_METHOD(nde__kvaerno5, "kvaerno5", "Kvaerno (2004): ESDIRK 5(4), 7 stages, L-stable, stiffly accurate",
            nde__dirk_ops, k5_tableau, 7, 5, 4, 1, 0);
DIRK_METHOD(nde__kencarp3, "kencarp3",
            "Kennedy & Carpenter (2003): ARK3(2)4L[2]SA IMEX pair (f implicit, f_explicit explicit)",
            nde__dirk_imex_ops, kc3_tableau, 4, 3, 2, 0, 0);
DIRK_METHOD(nde__kencarp4, "kencarp4",
            "Kennedy & Carpenter (2003): ARK4(3)6L[2]SA IMEX pair, its order-3 dense output",
            nde__dirk_imex_ops, kc4_tableau, 6, 4, 3, 0, 3);
DIRK_METHOD(nde__kencarp5, "kencarp5",
            "Kennedy & Carpenter (2003): ARK5(4)8L[2]SA IMEX pair (f implicit, f_explicit explicit)",
            nde__dirk_imex_ops, kc5_tableau, 8, 5, 4, 0, 0);
