#!/usr/bin/env python3
"""Generate the long-decimal tables of src/ode/tableaux.c (tsit5, dopri8 and the
dopri5 dense output, vern7, vern9) and check their order conditions in exact arithmetic.

Rational tableaux (euler ... bosh3, dopri5) are written by hand in tableaux.c as
fractions. The others are published as long decimals (or huge rationals):

  * DOP853 (nde name dopri8): Hairer's dop853.f (Hairer, Norsett & Wanner, Solving
    ODEs I, 2nd ed., 1993, section II.10), 30-digit coefficients, including the three
    extra stages and the d-rows of its 7th-order dense output (contd8).
  * Tsit5: Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first
    column simplifying assumption", Comput. Math. Appl. 62 (2011) 770-775; the
    ~85-digit values of the tableau are those of OrdinaryDiffEq.jl's BigFloat Tsit5
    tableau, the interpolant the paper's b_i(theta) expanded into monomials.
  * Verner's "most efficient" pairs vern6 ... vern9 (J. H. Verner, Numer. Algorithms 53
    (2010) 383-396), read from scripts/verner_coeffs.txt (45 digits; the first
    interpolant stage of vern7/8/9 is f(t1, y1)). All four are checked (trees to order
    10) and emitted (VERNER_REGISTERED). Their large coefficients of
    both signs make independent rounding to doubles lose up to 1e-12 in sums such as
    b^T A^k 1, so a few small entries per row are re-rounded to keep those sums
    (round_with_sums), and stderr shows what the doubles then solve.

Hairer's codes store their interpolants in a nested form in theta and 1 - theta built
from y0, y1 - y0, h f(t0, y0), h f(t1, y1) and the d-rows. nde stores every interpolant
as y(t0 + theta h) = y0 + h sum_j theta^j sum_i B[j-1][i] k_i, so this script expands
the nested forms into monomial coefficients with exact Fractions of the published
decimals, and prints every double with the fewest digits (at most 17 significant)
that read back as the double nearest to the exact value.

Usage: python3 scripts/gen_dense_tables.py > tables.c
  stdout: the generated C tables pasted into src/ode/tableaux.c (between the
          "generated" markers); stderr: the largest order-condition residual per
          order, computed exactly (Fractions) over all rooted trees.
"""
from fractions import Fraction as F
import math
import sys

# ---------------------------------------------------------------- rooted trees
def trees_upto(nmax):
    """All rooted trees with at most nmax nodes; a tree is the sorted tuple of
    its children (leaf = ()). Returns a list per order (index = order)."""
    by = [[], [()]]
    for n in range(2, nmax + 1):
        pool = [t for m in range(1, n) for t in by[m]]
        size = {t: order(t) for t in pool}
        out = set()
        def grow(rem, start, kids):
            if rem == 0:
                out.add(tuple(sorted(kids, key=repr)))
                return
            for i in range(start, len(pool)):
                if size[pool[i]] <= rem:
                    grow(rem - size[pool[i]], i, kids + [pool[i]])
        grow(n - 1, 0, [])
        by.append(sorted(out, key=repr))
    return by

def order(t):
    return 1 + sum(order(c) for c in t)

def gamma(t):
    g = order(t)
    for c in t:
        g *= gamma(c)
    return g

def stage_weights(t, A, cache):
    """g(t)_i = prod over children u of (A g(u))_i; b^T g(t) is the elementary weight."""
    if t in cache:
        return cache[t]
    s = len(A)
    g = [F(1)] * s
    for u in t:
        gu = stage_weights(u, A, cache)
        Agu = [sum((A[i][j] * gu[j] for j in range(i)), F(0)) for i in range(s)]
        g = [g[i] * Agu[i] for i in range(s)]
    cache[t] = g
    return g

def max_residual(bvec, A, trees_by_order, pmax, theta=F(1)):
    """Max over trees of order <= pmax of |b^T g(t) - theta^|t| / gamma(t)|, per order."""
    cache = {}
    res = []
    for p in range(1, pmax + 1):
        r = F(0)
        for t in trees_by_order[p]:
            g = stage_weights(t, A, cache)
            v = sum((bvec[i] * g[i] for i in range(len(bvec))), F(0)) - theta ** p / gamma(t)
            r = max(r, abs(v))
        res.append(float(r))
    return res

# ---------------------------------------------------------------- polynomials in theta
# A vector over stages whose entries are polynomials in theta: dict power -> list.
def vconst(n, coeffs):
    return {0: list(coeffs)}

def vadd(p, q, n):
    out = {}
    for d in set(p) | set(q):
        out[d] = [p.get(d, [F(0)] * n)[i] + q.get(d, [F(0)] * n)[i] for i in range(n)]
    return out

def vscale_poly(p, poly, n):
    """Multiply vector polynomial p by scalar polynomial poly (dict power -> F)."""
    out = {}
    for d1, v in p.items():
        for d2, c in poly.items():
            cur = out.setdefault(d1 + d2, [F(0)] * n)
            for i in range(n):
                cur[i] += c * v[i]
    return out

S = {1: F(1)}                 # theta
S1 = {0: F(1), 1: F(-1)}      # 1 - theta

def nested_to_monomial(n, b, f1_index, drows):
    """Expand y = y0 + s(con2 + s1(con3 + s(con4 + s1 conpar))) into monomials, where
    con2 = sum b k, con3 = k_0 - con2, con4 = con2 - k_{f1} - con3 (all times h), and
    conpar = d0 + s(d1 + s1(d2 + s d3)) for DOP853 (drows of length 4), conpar = d0 for
    DOPRI5 (one row). Returns B[power-1][stage]."""
    con2 = vconst(n, b)
    e0 = [F(0)] * n; e0[0] = F(1)
    ef = [F(0)] * n; ef[f1_index] = F(1)
    con3 = vadd(vconst(n, e0), vscale_poly(con2, {0: F(-1)}, n), n)
    con4 = vadd(vadd(con2, vconst(n, [-x for x in ef]), n), vscale_poly(con3, {0: F(-1)}, n), n)
    if len(drows) == 1:
        conpar = vconst(n, drows[0])
    else:
        d0, d1, d2, d3 = (vconst(n, r) for r in drows)
        inner = vadd(d2, vscale_poly(d3, S, n), n)            # d2 + s d3
        inner = vadd(d1, vscale_poly(inner, S1, n), n)        # d1 + s1(...)
        conpar = vadd(d0, vscale_poly(inner, S, n), n)        # d0 + s(...)
    y = vadd(con4, vscale_poly(conpar, S1, n), n)             # con4 + s1 conpar
    y = vadd(con3, vscale_poly(y, S, n), n)                   # con3 + s(...)
    y = vadd(con2, vscale_poly(y, S1, n), n)                  # con2 + s1(...)
    y = vscale_poly(y, S, n)                                  # s(...)
    deg = max(d for d, v in y.items() if any(v))
    if any(y.get(0, [F(0)] * n)):
        raise ValueError("the interpolant increment must vanish at theta = 0")
    return [y.get(j, [F(0)] * n) for j in range(1, deg + 1)]

def dense_weights(B, theta):
    n = len(B[0])
    return [sum((B[j][i] * theta ** (j + 1) for j in range(len(B))), F(0)) for i in range(n)]

def square(n, entries):
    """entries: {(i, j): value}, 1-based stage numbers as in the papers."""
    A = [[F(0)] * n for _ in range(n)]
    for (i, j), v in entries.items():
        A[i - 1][j - 1] = F(v)
    return A

# ---------------------------------------------------------------- DOPRI5
def dopri5():
    """Dormand & Prince (1980); dense output of Shampine (1986) as in Hairer's dopri5.f."""
    n = 7
    A = square(n, {
        (2, 1): F(1, 5),
        (3, 1): F(3, 40), (3, 2): F(9, 40),
        (4, 1): F(44, 45), (4, 2): F(-56, 15), (4, 3): F(32, 9),
        (5, 1): F(19372, 6561), (5, 2): F(-25360, 2187), (5, 3): F(64448, 6561),
        (5, 4): F(-212, 729),
        (6, 1): F(9017, 3168), (6, 2): F(-355, 33), (6, 3): F(46732, 5247),
        (6, 4): F(49, 176), (6, 5): F(-5103, 18656),
        (7, 1): F(35, 384), (7, 3): F(500, 1113), (7, 4): F(125, 192),
        (7, 5): F(-2187, 6784), (7, 6): F(11, 84)})
    b = A[6][:]
    d = [F(-12715105075, 11282082432), F(0), F(87487479700, 32700410799),
         F(-10690763975, 1880347072), F(701980252875, 199316789632),
         F(-1453857185, 822651844), F(69997945, 29380423)]
    B = nested_to_monomial(n, b, 6, [d])
    return A, b, B

# ---------------------------------------------------------------- DOP853
DOP853_A = {
    (2, 1): "5.26001519587677318785587544488e-2",
    (3, 1): "1.97250569845378994544595329183e-2", (3, 2): "5.91751709536136983633785987549e-2",
    (4, 1): "2.95875854768068491816892993775e-2", (4, 3): "8.87627564304205475450678981324e-2",
    (5, 1): "2.41365134159266685502369798665e-1", (5, 3): "-8.84549479328286085344864962717e-1",
    (5, 4): "9.24834003261792003115737966543e-1",
    (6, 1): "3.7037037037037037037037037037e-2", (6, 4): "1.70828608729473871279604482173e-1",
    (6, 5): "1.25467687566822425016691814123e-1",
    (7, 1): "3.7109375e-2", (7, 4): "1.70252211019544039314978060272e-1",
    (7, 5): "6.02165389804559606850219397283e-2", (7, 6): "-1.7578125e-2",
    (8, 1): "3.70920001185047927108779319836e-2", (8, 4): "1.70383925712239993810214054705e-1",
    (8, 5): "1.07262030446373284651809199168e-1", (8, 6): "-1.53194377486244017527936158236e-2",
    (8, 7): "8.27378916381402288758473766002e-3",
    (9, 1): "6.24110958716075717114429577812e-1", (9, 4): "-3.36089262944694129406857109825",
    (9, 5): "-8.68219346841726006818189891453e-1", (9, 6): "2.75920996994467083049415600797e1",
    (9, 7): "2.01540675504778934086186788979e1", (9, 8): "-4.34898841810699588477366255144e1",
    (10, 1): "4.77662536438264365890433908527e-1", (10, 4): "-2.48811461997166764192642586468",
    (10, 5): "-5.90290826836842996371446475743e-1", (10, 6): "2.12300514481811942347288949897e1",
    (10, 7): "1.52792336328824235832596922938e1", (10, 8): "-3.32882109689848629194453265587e1",
    (10, 9): "-2.03312017085086261358222928593e-2",
    (11, 1): "-9.3714243008598732571704021658e-1", (11, 4): "5.18637242884406370830023853209",
    (11, 5): "1.09143734899672957818500254654", (11, 6): "-8.14978701074692612513997267357",
    (11, 7): "-1.85200656599969598641566180701e1", (11, 8): "2.27394870993505042818970056734e1",
    (11, 9): "2.49360555267965238987089396762", (11, 10): "-3.0467644718982195003823669022",
    (12, 1): "2.27331014751653820792359768449", (12, 4): "-1.05344954667372501984066689879e1",
    (12, 5): "-2.00087205822486249909675718444", (12, 6): "-1.79589318631187989172765950534e1",
    (12, 7): "2.79488845294199600508499808837e1", (12, 8): "-2.85899827713502369474065508674",
    (12, 9): "-8.87285693353062954433549289258", (12, 10): "1.23605671757943030647266201528e1",
    (12, 11): "6.43392746015763530355970484046e-1",
    # dense-output stages 14..16 (stage 13 is f(t1, y1))
    (14, 1): "5.61675022830479523392909219681e-2", (14, 7): "2.53500210216624811088794765333e-1",
    (14, 8): "-2.46239037470802489917441475441e-1", (14, 9): "-1.24191423263816360469010140626e-1",
    (14, 10): "1.5329179827876569731206322685e-1", (14, 11): "8.20105229563468988491666602057e-3",
    (14, 12): "7.56789766054569976138603589584e-3", (14, 13): "-8.298e-3",
    (15, 1): "3.18346481635021405060768473261e-2", (15, 6): "2.83009096723667755288322961402e-2",
    (15, 7): "5.35419883074385676223797384372e-2", (15, 8): "-5.49237485713909884646569340306e-2",
    (15, 11): "-1.08347328697249322858509316994e-4", (15, 12): "3.82571090835658412954920192323e-4",
    (15, 13): "-3.40465008687404560802977114492e-4", (15, 14): "1.41312443674632500278074618366e-1",
    (16, 1): "-4.28896301583791923408573538692e-1", (16, 6): "-4.69762141536116384314449447206",
    (16, 7): "7.68342119606259904184240953878", (16, 8): "4.06898981839711007970213554331",
    (16, 9): "3.56727187455281109270669543021e-1", (16, 13): "-1.39902416515901462129418009734e-3",
    (16, 14): "2.9475147891527723389556272149", (16, 15): "-9.15095847217987001081870187138",
}
DOP853_B = {1: "5.42937341165687622380535766363e-2", 6: "4.45031289275240888144113950566",
            7: "1.89151789931450038304281599044", 8: "-5.8012039600105847814672114227",
            9: "3.1116436695781989440891606237e-1", 10: "-1.52160949662516078556178806805e-1",
            11: "2.01365400804030348374776537501e-1", 12: "4.47106157277725905176885569043e-2"}
DOP853_BHH = {1: "0.244094488188976377952755905512", 9: "0.733846688281611857341361741547",
              12: "0.220588235294117647058823529412e-1"}
DOP853_ER = {1: "0.1312004499419488073250102996e-01", 6: "-0.1225156446376204440720569753e+01",
             7: "-0.4957589496572501915214079952", 8: "0.1664377182454986536961530415e+01",
             9: "-0.3503288487499736816886487290", 10: "0.3341791187130174790297318841",
             11: "0.8192320648511571246570742613e-01", 12: "-0.2235530786388629525884427845e-01"}
# d-rows 4..7 of contd8, over stages 1, 6..16
DOP853_D = [
    {1: "-0.84289382761090128651353491142e+01", 6: "0.56671495351937776962531783590",
     7: "-0.30689499459498916912797304727e+01", 8: "0.23846676565120698287728149680e+01",
     9: "0.21170345824450282767155149946e+01", 10: "-0.87139158377797299206789907490",
     11: "0.22404374302607882758541771650e+01", 12: "0.63157877876946881815570249290",
     13: "-0.88990336451333310820698117400e-01", 14: "0.18148505520854727256656404962e+02",
     15: "-0.91946323924783554000451984436e+01", 16: "-0.44360363875948939664310572000e+01"},
    {1: "0.10427508642579134603413151009e+02", 6: "0.24228349177525818288430175319e+03",
     7: "0.16520045171727028198505394887e+03", 8: "-0.37454675472269020279518312152e+03",
     9: "-0.22113666853125306036270938578e+02", 10: "0.77334326684722638389603898808e+01",
     11: "-0.30674084731089398182061213626e+02", 12: "-0.93321305264302278729567221706e+01",
     13: "0.15697238121770843886131091075e+02", 14: "-0.31139403219565177677282850411e+02",
     15: "-0.93529243588444783865713862664e+01", 16: "0.35816841486394083752465898540e+02"},
    {1: "0.19985053242002433820987653617e+02", 6: "-0.38703730874935176555105901742e+03",
     7: "-0.18917813819516756882830838328e+03", 8: "0.52780815920542364900561016686e+03",
     9: "-0.11573902539959630126141871134e+02", 10: "0.68812326946963000169666922661e+01",
     11: "-0.10006050966910838403183860980e+01", 12: "0.77771377980534432092869265740",
     13: "-0.27782057523535084065932004339e+01", 14: "-0.60196695231264120758267380846e+02",
     15: "0.84320405506677161018159903784e+02", 16: "0.11992291136182789328035130030e+02"},
    {1: "-0.25693933462703749003312586129e+02", 6: "-0.15418974869023643374053993627e+03",
     7: "-0.23152937917604549567536039109e+03", 8: "0.35763911791061412378285349910e+03",
     9: "0.93405324183624310003907691704e+02", 10: "-0.37458323136451633156875139351e+02",
     11: "0.10409964950896230045147246184e+03", 12: "0.29840293426660503123344363579e+02",
     13: "-0.43533456590011143754432175058e+02", 14: "0.96324553959188282948394950600e+02",
     15: "-0.39177261675615439165231486172e+02", 16: "-0.14972683625798562581422125276e+03"},
]

def vec(n, d):
    v = [F(0)] * n
    for k, x in d.items():
        v[k - 1] = F(x)
    return v

def dop853():
    n = 16
    A = square(n, {k: F(v) for k, v in DOP853_A.items()})
    b = vec(n, DOP853_B)
    for j in range(n):            # stage 13: f(t1, y1), a-row = b
        A[12][j] = b[j]
    B = nested_to_monomial(n, b, 12, [vec(n, r) for r in DOP853_D])
    return A, b, B

# ---------------------------------------------------------------- Tsit5
TSIT5_C4 = "0.9800255409045096857298102862870245954942137979563024768854764293221195950761080302604"
TSIT5_A = {
    (2, 1): "0.161",
    (3, 1): "-0.8480655492356988544426874250230774675121177393430391537369234245294192976164141156943e-2",
    (3, 2): "0.3354806554923569885444268742502307746751211773934303915373692342452941929761641411569",
    (4, 1): "2.897153057105493432130432594192938764924887287701866490314866693455023795137503079289",
    (4, 2): "-6.359448489975074843148159912383825625952700647415626703305928850207288721235210244366",
    (4, 3): "4.362295432869581411017727318190886861027813359713760212991062156752264926097707165077",
    (5, 1): "5.325864828439256604428877920840511317836476253097040101202360397727981648835607691791",
    (5, 2): "-11.74888356406282787774717033978577296188744178259862899288666928009020615663593781589",
    (5, 3): "7.495539342889836208304604784564358155658679161518186721010132816213648793440552049753",
    (5, 4): "-0.9249506636175524925650207933207191611349983406029535244034750452930469056411389539635e-1",
    (6, 1): "5.861455442946420028659251486982647890394337666164814434818157239052507339770711679748",
    (6, 2): "-12.92096931784710929170611868178335939541780751955743459166312250439928519268343184452",
    (6, 3): "8.159367898576158643180400794539253485181918321135053305748355423955009222648673734986",
    (6, 4): "-0.7158497328140099722453054252582973869127213147363544882721139659546372402303777878835e-1",
    (6, 5): "-0.2826905039406838290900305721271224146717633626879770007617876201276764571291579142206e-1",
}
TSIT5_B = ["0.9646076681806522951816731316512876333711995238157997181903319145764851595234062815396e-1",
           "0.01",
           "0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509",
           "1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331",
           "-3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677",
           "2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841",
           "0"]
TSIT5_BHAT = ["0.9468075576583945807478876255758922856117527357724631226139574065785592789071067303271e-1",
              "0.9183565540343253096776363936645313759813746240984095238905939532922955247253608687270e-2",
              "0.4877705284247615707855642599631228241516691959761363774365216240304071651579571959813",
              "1.234297566930478985655109673884237654035539930748192848315425833500484878378061439761",
              "-2.707712349983525454881109975059321670689605166938197378763992255714444407154902012702",
              "1.866628418170587035753719399566211498666255505244122593996591602841258328965767580089",
              "1/66"]
# b_i(theta) = sum_j r_ij theta^j: Tsitouras (2011)'s interpolant, expanded into monomials
# (values as in OrdinaryDiffEq.jl's Tsit5Interp; residuals ~1e-17, see stderr)
TSIT5_R = [
    ["1", "-2.763706197274825911336735930481400260916070804192", "2.91325546182191274375068099306808", "-1.0530884977290216"],
    ["0", "0.1317", "-0.2234", "0.1017"],
    ["0", "3.93029623689475152850687446709813398", "-5.94103387213150473470249202589458001", "2.490627285651252793"],
    ["0", "-12.411077166933676983734381540685453484102414134010752", "30.3381886302823215981729903691836576", "-16.54810288924490272"],
    ["0", "37.50931341651103919496903965334519631242339792120440212", "-88.1789048947664011014276693541209817", "47.37952196281928122"],
    ["0", "-27.896526289197287805948263144598643896", "65.09189467479367152629021928716553658", "-34.87065786149660974"],
    ["0", "1.5", "-4", "2.5"],
]

def tsit5():
    n = 7
    A = square(n, {k: F(v) for k, v in TSIT5_A.items()})
    b = [F(x) for x in TSIT5_B]
    for j in range(n):
        A[6][j] = b[j]
    bhat = [F(x) for x in TSIT5_BHAT]
    B = [[F(TSIT5_R[i][j]) for i in range(n)] for j in range(4)]
    return A, b, bhat, B

# ---------------------------------------------------------------- Verner
VERNER_FILE = __import__("os").path.join(__import__("os").path.dirname(__file__),
                                         "verner_coeffs.txt")

VERNER_REGISTERED = ("vern6", "vern7", "vern8", "vern9")

def verner_tables(path=VERNER_FILE):
    """Reads scripts/verner_coeffs.txt: {name: dict(s, fsal, ds, deg, A, c, b, e, B)} with
    A the ds x ds extended tableau, b and e = btilde over ds stages, B[k-1][i] the
    coefficient of theta^k in b_i(theta). Values become exact Fractions of the decimals."""
    out, cur = {}, None
    for line in open(path):
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        if w[0] == "method":
            kv = dict(zip(w[2::2], (int(x) for x in w[3::2])))
            ds = kv["dense_stages"]
            cur = out[w[1]] = dict(s=kv["stages"], fsal=kv["fsal"], ds=ds, deg=kv["degree"],
                                   A=[[F(0)] * ds for _ in range(ds)], c=[F(0)] * ds,
                                   b=[F(0)] * ds, e=[F(0)] * ds,
                                   B=[[F(0)] * ds for _ in range(kv["degree"])])
        elif w[0] == "c":
            cur["c"][int(w[1]) - 1] = F(w[2])
        elif w[0] == "a":
            cur["A"][int(w[1]) - 1][int(w[2]) - 1] = F(w[3])
        elif w[0] == "b":
            cur["b"][int(w[1]) - 1] = F(w[2])
        elif w[0] == "btilde":
            cur["e"][int(w[1]) - 1] = F(w[2])
        elif w[0] == "r":
            cur["B"][int(w[2]) - 1][int(w[1]) - 1] = F(w[3])
        else:
            raise ValueError("verner_coeffs.txt: unknown line " + line)
    return out

def solve_exact(M, r):
    """Solves M x = r in exact arithmetic (Gaussian elimination); None if singular."""
    n = len(r)
    M = [row[:] + [r[i]] for i, row in enumerate(M)]
    for k in range(n):
        piv = next((i for i in range(k, n) if M[i][k] != 0), None)
        if piv is None:
            return None
        M[k], M[piv] = M[piv], M[k]
        for i in range(n):
            if i != k and M[i][k] != 0:
                f = M[i][k] / M[k][k]
                M[i] = [x - f * y for x, y in zip(M[i], M[k])]
    return [M[i][n] / M[i][i] for i in range(n)]

def round_with_sums(row, vecs, targets):
    """The entries of row rounded to doubles (as exact Fractions), a few small ones then
    re-rounded so that the exact sums of the doubles against vecs (1, c, A c, ...: the
    stage weights of the tall trees) stay nearest to `targets`. Verner's tables have
    large entries of both signs (vern6: a_7j up to 207 for c_7 = 0.9995, b_7 = -73,
    b_8 = 71): rounded independently, their row sums miss c_i by ~1e-14 and
    sum_i b_i c_i misses 1/2 by 6e-12, an error the solution carries at every step.
    The smallest entries, at distinct nodes, absorb it (exact to their ulps)."""
    out = [F(float(x)) for x in row]
    nz = sorted((j for j, x in enumerate(row) if x != 0), key=lambda k: abs(row[k]))
    c = vecs[1]
    for K in range(min(len(vecs), len(nz) - 1), 0, -1):
        pick = []
        for k in nz:
            if all(abs(c[k] - c[q]) >= F(1, 20) for q in pick):
                pick.append(k)
            if len(pick) == K:
                break
        if len(pick) < K:
            continue
        rest = [sum((out[k] * v[k] for k in range(len(out)) if k not in pick), F(0)) for v in vecs[:K]]
        x = solve_exact([[v[k] for k in pick] for v in vecs[:K]],
                        [F(t) - r for t, r in zip(targets[:K], rest)])
        if x is None:
            continue
        for k, xv in zip(pick[1:], x[1:]):
            out[k] = F(float(xv))
        break
    if nz:   # the smallest entry last: the plain sum is the one that matters most
        j1 = nz[0]
        rest = sum((out[k] for k in range(len(out)) if k != j1), F(0))
        out[j1] = F(float(F(targets[0]) - rest))
    return out

# ---------------------------------------------------------------- output
def cnum(x):
    """The double nearest to x, written with the fewest digits (at most 17
    significant) that read back as that same double."""
    return repr(float(F(x)))

def emit(name, rows, comment=None, label=None, first=0, width=96):
    """Print a static const double array; rows is a list of lists, each started on a
    new line (with "/* label k */", k counted from first, when label is given).
    Entries are printed with cnum."""
    n = sum(len(r) for r in rows)
    if comment:
        print("/* %s */" % comment)
    print("static const double %s[%d] = {" % (name, n))
    for k, row in enumerate(rows):
        line = "   " if label is None else "    /* %s%d */" % (label, first + k)
        out = []
        for x in row:
            item = cnum(x) + ","
            if len(line) + 1 + len(item) > width:
                out.append(line)
                line = "   " if label is None else "       "
            line += " " + item
        out.append(line)
        print("\n".join(out))
    print("};")

def report(label, res, stream=sys.stderr):
    print("%-28s %s" % (label, " ".join("%.1e" % r for r in res)), file=stream)

def main():
    by = trees_upto(9)
    thetas = [F(1, 10), F(1, 3), F(1, 2), F(7, 9), F(1)]
    def dense_report(label, A, B, p):
        worst = [0.0] * (p + 1)
        for th in thetas:
            r = max_residual(dense_weights(B, th), A, by, p + 1, th)
            worst = [max(x, y) for x, y in zip(worst, r)]
        report(label, worst)

    print("/* ---- begin generated by scripts/gen_dense_tables.py: do not edit by hand ---- */\n")

    # DOPRI5: only the dense table is generated (the tableau is rational).
    A, b, B = dopri5()
    report("dopri5 b, orders 1..6:", max_residual(b, A, by, 6))
    dense_report("dopri5 dense, orders 1..5:", A, B, 4)
    print("/* dopri5 dense output (Shampine 1986, dopri5.f contd5), as monomials */")
    emit("dopri5_dense_b", B, "row j: coefficients of theta^j, one per stage", "theta^", 1)
    print()

    # Tsit5: tableau rounded from the long decimal values, e = b - bhat exactly.
    A, b, bhat, B = tsit5()
    report("tsit5 b, orders 1..6:", max_residual(b, A, by, 6))
    report("tsit5 bhat, orders 1..5:", max_residual(bhat, A, by, 5))
    dense_report("tsit5 dense, orders 1..5:", A, B, 4)
    c = [sum(row, F(0)) for row in A]
    c[4] = F(TSIT5_C4)
    print("/* tsit5 (Tsitouras 2011): tableau, e = b - bhat, interpolant b_i(theta) */")
    emit("tsit5_c", [c])
    emit("tsit5_a", A, label="")
    emit("tsit5_b", [b])
    emit("tsit5_e", [[x - y for x, y in zip(b, bhat)]], "b - bhat")
    emit("tsit5_dense_b", B, "row j: coefficients of theta^j, one per stage", "theta^", 1)
    print()

    # DOP853 (dopri8): 13 stages + 3 dense stages.
    A, b, B = dop853()
    n = 13
    A13 = [row[:n] for row in A[:n]]
    er = vec(n, DOP853_ER)
    bhh = vec(n, DOP853_BHH)
    report("dopri8 b, orders 1..9:", max_residual(b[:n], A13, by, 9))
    report("dopri8 b-er, orders 1..6:", max_residual([x - y for x, y in zip(b, er)], A13, by, 6))
    report("dopri8 bhh, orders 1..4:", max_residual(bhh, A13, by, 4))
    dense_report("dopri8 dense, orders 1..8:", A, B, 7)
    c = [sum(row, F(0)) for row in A]
    print("/* dopri8 = DOP853 (Hairer, dop853.f): 12 stages + f(t1, y1); error weights er and")
    print(" * b - bhh; 3 extra dense stages (c = 1/10, 1/5, 7/9); contd8 as monomials */")
    emit("dopri8_c", [c[:n]], "row sums of a (the published c_i agree to 30 digits)")
    emit("dopri8_a", A13, label="")
    emit("dopri8_b", [b[:n]])
    emit("dopri8_e", [er], "dop853.f er: b minus a 5th-order solution")
    emit("dopri8_e3", [[x - y for x, y in zip(b[:n], bhh)]], "b - bhh (bhh: 3rd order)")
    emit("dopri8_dense_c", [c[n:]])
    emit("dopri8_dense_a", [row for row in A[n:]], "rows of the extra stages 13..15", "", n)
    emit("dopri8_dense_b", B, "row j: coefficients of theta^j, one per stage", "theta^", 1)

    # Verner's pairs: order p, embedded order p - 1, interpolant of order p (vern7: the
    # published interpolant meets the order-7 conditions only to ~3e-7, so order 6).
    by10 = trees_upto(10)
    # Rounded to doubles, vern6 and vern8 solve y' = y with defects of ~1e-12 (vern6) and
    # ~1e-14 (vern8) in b^T A^k 1 even with the compensated rounding below; what limited
    # them in the battery (orders 1.5 and 6.3 at errors near 1e-12) was the engine folding
    # h into the weights (a systematic rounding of h b_i at constant steps), not these
    # defects: with y + h (sum b_i k_i) both reach errors of ~4e-15 (src/ode/stepper.c).
    for name, V in verner_tables().items():
        s, ds, A, b, e, B = V["s"], V["ds"], V["A"], V["b"], V["e"], V["B"]
        p = int(name[-1])
        As = [row[:s] for row in A[:s]]
        bhat = [x - y for x, y in zip(b, e)]
        report("%s b, orders 1..%d:" % (name, p + 1), max_residual(b[:s], As, by10, p + 1))
        report("%s bhat, orders 1..%d:" % (name, p), max_residual(bhat[:s], As, by10, p))
        worst = [0.0] * (p + 1)
        for th in thetas:
            r = max_residual(dense_weights(B, th), A, by10, p + 1, th)
            worst = [max(x, y) for x, y in zip(worst, r)]
        report("%s dense, orders 1..%d:" % (name, p + 1), worst)
        rows = [sum(row, F(0)) for row in A]
        report("%s |c - row sums|:" % name, [float(max(abs(x - y) for x, y in zip(rows, V["c"])))])
        if not V["fsal"]:   # the first extra stage is f(t1, y1): row = b (to 1e-38), c = 1
            assert max(abs(x - y) for x, y in zip(A[s][:s], b[:s])) < F(1, 10**38) and V["c"][s] == 1
        # rounded to doubles, each row keeping its sum (c_i; 1 for b, 0 for e, the
        # theta^k sums 1, 0, 0, ... for the interpolant) and its sums against c, A c, A^2 c
        vecs = [[F(1)] * ds]                      # 1, A 1, A^2 1, A^3 1 (exact)
        for k in range(3):
            vecs.append([sum((A[i][j] * vecs[-1][j] for j in range(ds)), F(0)) for i in range(ds)])
        dot = lambda row: [sum((x * y for x, y in zip(row, v)), F(0)) for v in vecs]
        A = [round_with_sums(row, vecs, dot(row)) for row in A]
        b = round_with_sums(b, vecs, dot(b))
        e = round_with_sums(e, vecs, dot(e))
        B = [round_with_sums(row, vecs, dot(row)) for row in B]
        if V["fsal"]:
            assert A[s - 1][:s] == b[:s]
        else:
            A[s][:s] = b[:s]
        As = [row[:s] for row in A[:s]]
        # what the doubles solve: b^T A^k 1 against 1/(k+1)! (y' = y), k < p
        v, defect = [F(1)] * s, []
        for k in range(p):
            defect.append(abs(sum(b[i] * v[i] for i in range(s)) - F(1, math.factorial(k + 1))))
            v = [sum(As[i][j] * v[j] for j in range(s)) for i in range(s)]
        report("%s doubles, b A^k 1, k < %d:" % (name, p), [float(x) for x in defect])
        if name not in VERNER_REGISTERED:
            continue
        print()
        print("/* %s (Verner 2010): %d stages%s, e = b - bhat; %d extra stages for the" %
              (name, s, ", FSAL" if V["fsal"] else "", ds - s))
        print(" * order-%d interpolant b_i(theta)%s */" %
              (p, "" if V["fsal"] else ", the first of them f(t1, y1)"))
        emit(name + "_c", [V["c"][:s]])
        emit(name + "_a", As, label="")
        emit(name + "_b", [b[:s]])
        emit(name + "_e", [e[:s]], "b - bhat")
        emit(name + "_dense_c", [V["c"][s:]])
        emit(name + "_dense_a", A[s:], "rows of the extra stages %d..%d" % (s, ds - 1), "", s)
        emit(name + "_dense_b", B, "row j: coefficients of theta^j, one per stage", "theta^", 1)
    print("\n/* ---- end generated ---- */")

if __name__ == "__main__":
    main()
