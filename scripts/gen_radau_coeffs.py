#!/usr/bin/env python3
"""Coefficients of the 3-stage Radau IIA method (order 5) for src/implicit/radau5.c,
computed at 50 digits with mpmath and printed as C initialisers (17 significant digits).

Radau IIA (Ehle 1969; Hairer & Wanner, Solving ODEs II, IV.5, Table 5.6): the nodes
c are the zeros of d^2/dx^2 (x^2 (x - 1)^3), b is the last row of A (stiffly accurate).
The simplified Newton iteration works on W = (T^-1 (x) I) Z where
    T^-1 A^-1 T = [[gamma, 0, 0], [0, alpha, -beta], [0, beta, alpha]]
(HW IV.8, (8.16)-(8.17)): T's first column is the real eigenvector of A^-1, the other two
the real and imaginary parts of the eigenvector for alpha - i beta. As in RADAU5, the
real eigenvector has unit Euclidean length (T31 = 0.966...) and the complex one is scaled
so that its last entry is 1 (T's last row is (T31, 1, 0): z3 = T31 w1 + w2). The scaling
of T does not change Z, but it weights the components of W in the Newton iteration's
norm of the increments (its convergence test, rate and step factor): with RADAU5's
scaling, radau5's Newton iterations take RADAU5's decisions.
The error estimate (HW IV.8, (8.19)-(8.20)) is
    err = (M - h gamma0 J)^-1 (gamma0 h f(x0, y0) + M sum_i e_i z_i),  gamma0 = 1 / gamma,
with e = gamma0 (-13 - 7 sqrt 6, -13 + 7 sqrt 6, -1) / 3: y1 - yhat1 of the embedded
order-3 solution yhat1 = y0 + h (bhat0 f(x0, y0) + sum bhat_j f(Y_j)) that uses the extra
node c0 = 0 (checked below). Dense output: the collocation polynomial u(x0 + theta h) =
y0 + sum_k theta^k sum_i D[k-1][i] z_i (k = 1..3) through u(x0 + c_i h) = y0 + z_i.
"""
import mpmath as mp

mp.mp.dps = 50
s6 = mp.sqrt(6)
c = [(4 - s6) / 10, (4 + s6) / 10, mp.mpf(1)]
A = mp.matrix([[(88 - 7 * s6) / 360, (296 - 169 * s6) / 1800, (-2 + 3 * s6) / 225],
               [(296 + 169 * s6) / 1800, (88 + 7 * s6) / 360, (-2 - 3 * s6) / 225],
               [(16 - s6) / 36, (16 + s6) / 36, mp.mpf(1) / 9]])
Ainv = A ** -1
ev, V = mp.eig(Ainv)
ir = min(range(3), key=lambda k: abs(mp.im(ev[k])))
ic = [k for k in range(3) if k != ir and mp.im(ev[k]) < 0][0]   # alpha - i beta
gamma = mp.re(ev[ir])
alpha, beta = mp.re(ev[ic]), -mp.im(ev[ic])
vr = [mp.re(V[i, ir]) for i in range(3)]
vr_norm = mp.sqrt(sum(x * x for x in vr)) * mp.sign(vr[2])
vr = [x / vr_norm for x in vr]
vc = [V[i, ic] / V[2, ic] for i in range(3)]
T = mp.matrix([[vr[i], mp.re(vc[i]), mp.im(vc[i])] for i in range(3)])
Ti = T ** -1
Lam = mp.matrix([[gamma, 0, 0], [0, alpha, -beta], [0, beta, alpha]])
res = mp.norm(Ti * Ainv * T - Lam)
assert res < mp.mpf(10) ** -40, res
gamma0 = 1 / gamma
e = [gamma0 * (-13 - 7 * s6) / 3, gamma0 * (-13 + 7 * s6) / 3, -gamma0 / 3]
# embedded weights: y1 - yhat1 = h (gamma0 f0 + sum_j (e^T A)_j f_j)
eA = [sum(e[i] * A[i, j] for i in range(3)) for j in range(3)]
bhat = [-gamma0] + [A[2, j] - eA[j] for j in range(3)]
cc = [mp.mpf(0)] + c
for k in range(3):
    r = sum(bhat[j] * cc[j] ** k for j in range(4)) - mp.mpf(1) / (k + 1)
    assert abs(r) < mp.mpf(10) ** -40, (k, r)
r3 = sum(bhat[j] * cc[j] ** 3 for j in range(4)) - mp.mpf(1) / 4
assert abs(r3) > mp.mpf(10) ** -6   # exactly order 3
# dense output: q(theta) = theta (p0 + p1 theta + p2 theta^2), q(c_i) = z_i
Vd = mp.matrix([[c[i] * c[i] ** k for k in range(3)] for i in range(3)])
D = Vd ** -1   # p = D z

def f17(x):
    return mp.nstr(x, 17, min_fixed=-1, max_fixed=0).replace('e', 'e') if False else mp.nstr(x, 17)

def vec(name, xs):
    print("static const double %s[%d] = { %s };" % (name, len(xs), ", ".join(f17(x) for x in xs)))

vec("c", c)
vec("a", [A[i, j] for i in range(3) for j in range(3)])
vec("T", [T[i, j] for i in range(3) for j in range(3)])
vec("Ti", [Ti[i, j] for i in range(3) for j in range(3)])
vec("gamma_alpha_beta", [gamma, alpha, beta])
vec("e", e)
vec("dense", [D[k, i] for k in range(3) for i in range(3)])
print("/* bhat (c0 = 0 first):", ", ".join(f17(x) for x in bhat), "; order-4 residual", f17(r3), "*/")
