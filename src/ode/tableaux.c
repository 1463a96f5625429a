/* The explicit Runge-Kutta methods of nde, as data: one Butcher tableau per method
 * with its error weights and dense output, and the registry that nde_method_find
 * and nde_method_at read. tests/test_tableaux.c checks every table against the
 * order conditions of all rooted trees up to order 9.
 *
 * Conventions (src/ode/erk.h): arrays are flat and row-major; a is s x s and strictly
 * lower triangular; e = b - bhat (bhat the embedded solution); a FSAL method's last
 * a-row equals b and its last c is 1. Dense output is either cubic Hermite
 * (dense_b == NULL, dense_order 0) or the method's own interpolant stored as
 * monomials: b_i(theta) = sum_j theta^j dense_b[(j-1)*dense_stages + i].
 *
 * Rational coefficients are written as fractions (the compiler rounds each quotient
 * once, correctly). Coefficients published as long decimals (tsit5, dopri8) and the
 * expanded dense-output tables are generated, with exact arithmetic, by
 * scripts/gen_dense_tables.py, which also prints their order-condition residuals.
 * Stage numbers in comments count from 0, as the arrays do. */
#include "ode/erk.h"
#include "ode/erk_kernel.h"

/* ---- euler: y1 = y0 + h f(t0, y0). Euler (1768). ------------------------------ */

static const double euler_c[1] = { 0.0 };
static const double euler_a[1] = { 0.0 };
static const double euler_b[1] = { 1.0 };

static const nde__erk_tableau euler_tableau = {
    .error_kind = NDE__ERR_NONE,
    .c = euler_c, .a = euler_a, .b = euler_b, .e = NULL, .e3 = NULL,
    .dense_stages = 1, .dense_degree = 0,
    .dense_c = NULL, .dense_a = NULL, .dense_b = NULL,
};
static const nde_method euler = {
    .name = "euler",
    .description = "Euler's method (Euler 1768): order 1, constant steps only",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &euler_tableau,
    .stages = 1, .order = 1, .embedded_order = 0, .fsal = 0, .dense_order = 0,
};

/* ---- two-stage order-2 methods, each with embedded Euler (bhat = (1, 0)) --------
 * Heun (1900): the trapezoidal predictor-corrector; explicit midpoint (Runge 1895);
 * Ralston (1962): the 2-stage order-2 method with the smallest error bound.
 * Embedded Euler as in Diffrax (Kidger 2021). */

static const double heun_c[2] = { 0.0, 1.0 };
static const double heun_a[4] = {
    0.0, 0.0,
    1.0, 0.0,
};
static const double heun_b[2] = { 1.0 / 2.0, 1.0 / 2.0 };
static const double heun_e[2] = { -1.0 / 2.0, 1.0 / 2.0 };

NDE__ERK_FIXED_KERNELS(heun, 2, 0, NULL)
static const nde__erk_tableau heun_tableau = {
    .error_kind = NDE__ERR_PLAIN,
    .c = heun_c, .a = heun_a, .b = heun_b, .e = heun_e, .e3 = NULL,
    .dense_stages = 2, .dense_degree = 0,
    .dense_c = NULL, .dense_a = NULL, .dense_b = NULL,
    .step_fixed = heun_step_fixed, .norm_fixed = heun_norm_fixed,
};
static const nde_method heun = {
    .name = "heun",
    .description = "Heun's method (Heun 1900) with embedded Euler: 2(1)",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &heun_tableau,
    .stages = 2, .order = 2, .embedded_order = 1, .fsal = 0, .dense_order = 0,
};

static const double midpoint_c[2] = { 0.0, 1.0 / 2.0 };
static const double midpoint_a[4] = {
    0.0,       0.0,
    1.0 / 2.0, 0.0,
};
static const double midpoint_b[2] = { 0.0, 1.0 };
static const double midpoint_e[2] = { -1.0, 1.0 };

NDE__ERK_FIXED_KERNELS(midpoint, 2, 0, NULL)
static const nde__erk_tableau midpoint_tableau = {
    .error_kind = NDE__ERR_PLAIN,
    .c = midpoint_c, .a = midpoint_a, .b = midpoint_b, .e = midpoint_e, .e3 = NULL,
    .dense_stages = 2, .dense_degree = 0,
    .dense_c = NULL, .dense_a = NULL, .dense_b = NULL,
    .step_fixed = midpoint_step_fixed, .norm_fixed = midpoint_norm_fixed,
};
static const nde_method midpoint = {
    .name = "midpoint",
    .description = "explicit midpoint rule (Runge 1895) with embedded Euler: 2(1)",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &midpoint_tableau,
    .stages = 2, .order = 2, .embedded_order = 1, .fsal = 0, .dense_order = 0,
};

static const double ralston_c[2] = { 0.0, 2.0 / 3.0 };
static const double ralston_a[4] = {
    0.0,       0.0,
    2.0 / 3.0, 0.0,
};
static const double ralston_b[2] = { 1.0 / 4.0, 3.0 / 4.0 };
static const double ralston_e[2] = { -3.0 / 4.0, 3.0 / 4.0 };

NDE__ERK_FIXED_KERNELS(ralston, 2, 0, NULL)
static const nde__erk_tableau ralston_tableau = {
    .error_kind = NDE__ERR_PLAIN,
    .c = ralston_c, .a = ralston_a, .b = ralston_b, .e = ralston_e, .e3 = NULL,
    .dense_stages = 2, .dense_degree = 0,
    .dense_c = NULL, .dense_a = NULL, .dense_b = NULL,
    .step_fixed = ralston_step_fixed, .norm_fixed = ralston_norm_fixed,
};
static const nde_method ralston = {
    .name = "ralston",
    .description = "Ralston's minimum-error method (Ralston 1962) with embedded Euler: 2(1)",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &ralston_tableau,
    .stages = 2, .order = 2, .embedded_order = 1, .fsal = 0, .dense_order = 0,
};

/* ---- bosh3: P. Bogacki, L. F. Shampine, "A 3(2) pair of Runge-Kutta formulas",
 * Appl. Math. Lett. 2 (1989) 321-325. FSAL; bhat = (7/24, 1/4, 1/3, 1/8). ----------- */

static const double bosh3_c[4] = { 0.0, 1.0 / 2.0, 3.0 / 4.0, 1.0 };
static const double bosh3_a[16] = {
    0.0,       0.0,       0.0,       0.0,
    1.0 / 2.0, 0.0,       0.0,       0.0,
    0.0,       3.0 / 4.0, 0.0,       0.0,
    2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0,
};
static const double bosh3_b[4] = { 2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0 };
static const double bosh3_e[4] = { -5.0 / 72.0, 1.0 / 12.0, 1.0 / 9.0, -1.0 / 8.0 };

NDE__ERK_FIXED_KERNELS(bosh3, 4, 1, NULL)
static const nde__erk_tableau bosh3_tableau = {
    .error_kind = NDE__ERR_PLAIN,
    .c = bosh3_c, .a = bosh3_a, .b = bosh3_b, .e = bosh3_e, .e3 = NULL,
    .dense_stages = 4, .dense_degree = 0,
    .dense_c = NULL, .dense_a = NULL, .dense_b = NULL,
    .step_fixed = bosh3_step_fixed, .norm_fixed = bosh3_norm_fixed,
};
static const nde_method bosh3 = {
    .name = "bosh3",
    .description = "Bogacki & Shampine (1989): 3(2), FSAL",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &bosh3_tableau,
    .stages = 4, .order = 3, .embedded_order = 2, .fsal = 1, .dense_order = 0,
};

/* ---- dopri5: J. R. Dormand, P. J. Prince, "A family of embedded Runge-Kutta
 * formulae", J. Comput. Appl. Math. 6 (1980) 19-26 (RK5(4)7M). FSAL.
 * bhat = (5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40).
 * Dense output: L. F. Shampine, "Some practical Runge-Kutta formulas", Math. Comp. 46
 * (1986) 135-150, in the form of Hairer's dopri5.f (contd5, coefficients d1..d7),
 * expanded into monomials by scripts/gen_dense_tables.py (table below). ------------ */

static const double dopri5_c[7] = {
    0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0,
};
static const double dopri5_a[49] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0, 0.0,
    19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0, 0.0,
    9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0,
    0.0, 0.0,
    35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0, 0.0,
};
static const double dopri5_b[7] = {
    35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0, 0.0,
};
static const double dopri5_e[7] = {
    71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0,
    22.0 / 525.0, -1.0 / 40.0,
};

/* ---- begin generated by scripts/gen_dense_tables.py: do not edit by hand ---- */

/* dopri5 dense output (Shampine 1986, dopri5.f contd5), as monomials */
/* row j: coefficients of theta^j, one per stage */
static const double dopri5_dense_b[28] = {
    /* theta^1 */ 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* theta^2 */ -2.8535800653862835, 0.0, 4.023133379230305, -3.7324019615885042,
        2.5548038301849423, -1.3744241142186024, 1.3824689317781436,
    /* theta^3 */ 3.0717434641059005, 0.0, -6.249321565289, 10.068970589843675,
        -6.399112377351017, 3.272657752246729, -3.764937863556287,
    /* theta^4 */ -1.1270175653862835, 0.0, 2.675424484351598, -5.685526961588504,
        3.5219323679207912, -1.7672812570757455, 2.382468931778144,
};

/* tsit5 (Tsitouras 2011): tableau, e = b - bhat, interpolant b_i(theta) */
static const double tsit5_c[7] = {
    0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0,
};
static const double tsit5_a[49] = {
    /* 0 */ 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 1 */ 0.161, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 2 */ -0.008480655492356989, 0.335480655492357, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 3 */ 2.8971530571054935, -6.359448489975075, 4.3622954328695815, 0.0, 0.0, 0.0, 0.0,
    /* 4 */ 5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525,
        0.0, 0.0, 0.0,
    /* 5 */ 5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
        -0.028269050394068383, 0.0, 0.0,
    /* 6 */ 0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742,
        -3.290069515436081, 2.324710524099774, 0.0,
};
static const double tsit5_b[7] = {
    0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
    2.324710524099774, 0.0,
};
/* b - bhat */
static const double tsit5_e[7] = {
    0.0017800110522257714, 0.0008164344596567469, -0.007880878010261995, 0.1447110071732629,
    -0.5823571654525552, 0.45808210592918697, -0.015151515151515152,
};
/* row j: coefficients of theta^j, one per stage */
static const double tsit5_dense_b[28] = {
    /* theta^1 */ 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* theta^2 */ -2.763706197274826, 0.1317, 3.9302962368947516, -12.411077166933676,
        37.50931341651104, -27.896526289197286, 1.5,
    /* theta^3 */ 2.9132554618219126, -0.2234, -5.941033872131505, 30.33818863028232,
        -88.1789048947664, 65.09189467479366, -4.0,
    /* theta^4 */ -1.0530884977290216, 0.1017, 2.490627285651253, -16.548102889244902,
        47.37952196281928, -34.87065786149661, 2.5,
};

/* dopri8 = DOP853 (Hairer, dop853.f): 12 stages + f(t1, y1); error weights er and
 * b - bhh; 3 extra dense stages (c = 1/10, 1/5, 7/9); contd8 as monomials */
/* row sums of a (the published c_i agree to 30 digits) */
static const double dopri8_c[13] = {
    0.0, 0.05260015195876773, 0.0789002279381516, 0.1183503419072274, 0.2816496580927726,
    0.3333333333333333, 0.25, 0.3076923076923077, 0.6512820512820513, 0.6, 0.8571428571428571,
    1.0, 1.0,
};
static const double dopri8_a[169] = {
    /* 0 */ 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 1 */ 0.05260015195876773, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 2 */ 0.0197250569845379, 0.0591751709536137, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0,
    /* 3 */ 0.02958758547680685, 0.0, 0.08876275643042054, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0,
    /* 4 */ 0.2413651341592667, 0.0, -0.8845494793282861, 0.924834003261792, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0,
    /* 5 */ 0.037037037037037035, 0.0, 0.0, 0.17082860872947386, 0.12546768756682242, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 6 */ 0.037109375, 0.0, 0.0, 0.17025221101954405, 0.06021653898045596, -0.017578125, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 7 */ 0.03709200011850479, 0.0, 0.0, 0.17038392571223998, 0.10726203044637328,
        -0.015319437748624402, 0.008273789163814023, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 8 */ 0.6241109587160757, 0.0, 0.0, -3.3608926294469414, -0.868219346841726,
        27.59209969944671, 20.154067550477894, -43.48988418106996, 0.0, 0.0, 0.0, 0.0, 0.0,
    /* 9 */ 0.47766253643826434, 0.0, 0.0, -2.4881146199716677, -0.590290826836843,
        21.230051448181193, 15.279233632882423, -33.28821096898486, -0.020331201708508627, 0.0,
        0.0, 0.0, 0.0,
    /* 10 */ -0.9371424300859873, 0.0, 0.0, 5.186372428844064, 1.0914373489967295,
        -8.149787010746927, -18.52006565999696, 22.739487099350505, 2.4936055526796523,
        -3.0467644718982196, 0.0, 0.0, 0.0,
    /* 11 */ 2.273310147516538, 0.0, 0.0, -10.53449546673725, -2.0008720582248625,
        -17.9589318631188, 27.94888452941996, -2.8589982771350235, -8.87285693353063,
        12.360567175794303, 0.6433927460157636, 0.0, 0.0,
    /* 12 */ 0.054293734116568765, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003,
        -5.801203960010585, 0.3111643669578199, -0.1521609496625161, 0.20136540080403034,
        0.04471061572777259, 0.0,
};
static const double dopri8_b[13] = {
    0.054293734116568765, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003,
    -5.801203960010585, 0.3111643669578199, -0.1521609496625161, 0.20136540080403034,
    0.04471061572777259, 0.0,
};
/* dop853.f er: b minus a 5th-order solution */
static const double dopri8_e[13] = {
    0.01312004499419488, 0.0, 0.0, 0.0, 0.0, -1.2251564463762044, -0.4957589496572502,
    1.6643771824549864, -0.35032884874997366, 0.3341791187130175, 0.08192320648511571,
    -0.022355307863886294, 0.0,
};
/* b - bhh (bhh: 3rd order) */
static const double dopri8_e3[13] = {
    -0.18980075407240762, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003,
    -5.801203960010585, -0.42268232132379197, -0.1521609496625161, 0.20136540080403034,
    0.022651792198360825, 0.0,
};
static const double dopri8_dense_c[3] = {
    0.1, 0.2, 0.7777777777777778,
};
/* rows of the extra stages 13..15 */
static const double dopri8_dense_a[48] = {
    /* 13 */ 0.056167502283047954, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25350021021662483,
        -0.2462390374708025, -0.12419142326381637, 0.15329179827876568, 0.00820105229563469,
        0.007567897660545699, -0.008298, 0.0, 0.0, 0.0,
    /* 14 */ 0.03183464816350214, 0.0, 0.0, 0.0, 0.0, 0.028300909672366776,
        0.053541988307438566, -0.05492374857139099, 0.0, 0.0, -0.00010834732869724932,
        0.0003825710908356584, -0.00034046500868740456, 0.1413124436746325, 0.0, 0.0,
    /* 15 */ -0.42889630158379194, 0.0, 0.0, 0.0, 0.0, -4.697621415361164, 7.683421196062599,
        4.06898981839711, 0.3567271874552811, 0.0, 0.0, 0.0, -0.0013990241651590145,
        2.9475147891527724, -9.15095847217987, 0.0,
};
/* row j: coefficients of theta^j, one per stage */
static const double dopri8_dense_b[112] = {
    /* theta^1 */ 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0,
    /* theta^2 */ -10.266057073759306, 0.0, 0.0, 0.0, 0.0, 13.917653631776604,
        2.6056037519936095, -15.018944223519684, 3.050527683318488, -1.3278744327655212,
        2.844533632672879, 0.7657106259527866, -1.0889903364513334, 18.148505520854727,
        -9.194632392478356, -4.436036387594894,
    /* theta^3 */ 48.161850968566455, 0.0, 0.0, 0.0, 0.0, -154.78787266663716,
        -21.622822384626506, 160.09447708973047, -38.54396729189063, 16.661770430049543,
        -36.55829548991012, -9.906995535619366, 14.097013042320002, -127.63310949253875,
        93.3567459327894, 56.68120539776666,
    /* theta^4 */ -114.93304874997833, 0.0, 0.0, 0.0, 0.0, 522.9219089608218, 2.535182028966755,
        -474.3071826037644, 174.47140009219885, -74.44027814126304, 170.69007169147514,
        46.8029919188744, -66.68230591294363, 357.3419516129657, -282.6272618704363,
        -261.77342902691703,
    /* theta^5 */ 147.46446875669767, 0.0, 0.0, 0.0, 0.0, -456.25918840208783,
        292.25417465990404, 135.96036916173838, -337.0513470238771, 140.75210016191608,
        -345.9748485480496, -96.5198694669957, 137.96299063474376, -500.7031507909224,
        361.14007718803333, 520.9742236688993,
    /* theta^6 */ -97.06685363011368, 0.0, 0.0, 0.0, 0.0, -75.53193732135753,
        -505.40999933296894, 545.1091945264187, 291.78987509083254, -119.2562021040512,
        313.299553623578, 88.74316650017616, -127.82216401767992, 349.17035710882897,
        -201.85219053352347, -461.17279991013964,
    /* theta^7 */ 25.69393346270375, 0.0, 0.0, 0.0, 0.0, 154.18974869023643, 231.5293791760455,
        -357.6391179106141, -93.40532418362432, 37.45832313645163, -104.0996495089623,
        -29.8402934266605, 43.53345659001114, -96.32455395918828, 39.17726167561544,
        149.72683625798564,
};

/* ---- end generated ---- */

NDE__ERK_FIXED_KERNELS(dopri5, 7, 1, NULL)
static const nde__erk_tableau dopri5_tableau = {
    .error_kind = NDE__ERR_PLAIN,
    .c = dopri5_c, .a = dopri5_a, .b = dopri5_b, .e = dopri5_e, .e3 = NULL,
    .dense_stages = 7, .dense_degree = 4,
    .dense_c = NULL, .dense_a = NULL, .dense_b = dopri5_dense_b,
    .step_fixed = dopri5_step_fixed, .norm_fixed = dopri5_norm_fixed,
};
static const nde_method dopri5 = {
    .name = "dopri5",
    .description = "Dormand & Prince (1980): 5(4), FSAL, Shampine's (1986) order-4 dense output",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &dopri5_tableau,
    .stages = 7, .order = 5, .embedded_order = 4, .fsal = 1, .dense_order = 4,
};

/* tsit5: Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first
 * column simplifying assumption", Comput. Math. Appl. 62 (2011) 770-775. FSAL. The
 * degree-4 interpolant is the paper's b_i(theta), of order 4 for every theta. */
NDE__ERK_FIXED_KERNELS(tsit5, 7, 1, NULL)
static const nde__erk_tableau tsit5_tableau = {
    .error_kind = NDE__ERR_PLAIN,
    .c = tsit5_c, .a = tsit5_a, .b = tsit5_b, .e = tsit5_e, .e3 = NULL,
    .dense_stages = 7, .dense_degree = 4,
    .dense_c = NULL, .dense_a = NULL, .dense_b = tsit5_dense_b,
    .step_fixed = tsit5_step_fixed, .norm_fixed = tsit5_norm_fixed,
};
static const nde_method tsit5 = {
    .name = "tsit5",
    .description = "Tsitouras (2011): 5(4), FSAL, the paper's order-4 interpolant",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &tsit5_tableau,
    .stages = 7, .order = 5, .embedded_order = 4, .fsal = 1, .dense_order = 4,
};

/* dopri8: Hairer's DOP853 (E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary
 * Differential Equations I, 2nd ed., Springer 1993, sec. II.10; code dop853.f), an
 * order-8 method of Dormand-Prince type with 12 stages; stage 13 is f(t1, y1) (FSAL).
 * Its error estimate combines a 5th-order (e = er of dop853.f, so b - e is of order 5)
 * and a 3rd-order (e3 = b - bhh, bhh of order 3) difference, NDE__ERR_DOP853.
 * embedded_order is 7, not 5: it sets the step-size exponent 1/(embedded_order + 1)
 * = 1/8 that dop853.f uses (its error is, by construction, of size h^8). The order-7
 * dense output needs stages 14-16 (c = 1/10, 1/5, 7/9), evaluated only on demand. */
NDE__ERK_FIXED_KERNELS(dopri8, 13, 1, dopri8_e3)
static const nde__erk_tableau dopri8_tableau = {
    .error_kind = NDE__ERR_DOP853,
    .c = dopri8_c, .a = dopri8_a, .b = dopri8_b, .e = dopri8_e, .e3 = dopri8_e3,
    .dense_stages = 16, .dense_degree = 7,
    .dense_c = dopri8_dense_c, .dense_a = dopri8_dense_a, .dense_b = dopri8_dense_b,
    .step_fixed = dopri8_step_fixed, .norm_fixed = dopri8_norm_fixed,
};
static const nde_method dopri8 = {
    .name = "dopri8",
    .description = "Hairer's DOP853 (1993): order 8, error estimate 5 and 3, order-7 dense output",
    .kind = NDE_METHOD_EXPLICIT_RK, .ops = &nde__erk_ops, .tableau = &dopri8_tableau,
    .stages = 13, .order = 8, .embedded_order = 7, .fsal = 1, .dense_order = 7,
};

/* ---- the registry, by increasing order ----------------------------------------- */

const nde_method *const nde__methods[] = {
    &euler, &heun, &midpoint, &ralston, &bosh3, &dopri5, &tsit5, &dopri8,
};
const size_t nde__n_methods = sizeof nde__methods / sizeof nde__methods[0];
