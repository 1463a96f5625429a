#!/usr/bin/env python3
"""Generate the ziggurat tables of src/random/rng.c (nde__rand_zig_x, _f, _pack).

The 256-layer ziggurat for f(x) = exp(-x^2/2) (Marsaglia & Tsang, "The ziggurat method
for generating random variables", J. Stat. Softw. 5(8), 2000): every layer has the area
V = R f(R) + int_R^inf f(x) dx = R f(R) + sqrt(pi/2) erfc(R/sqrt 2). From x_255 = R the
edges go up by x_{k-1} = f^-1(f(x_k) + V/x_k), f^-1(y) = sqrt(-2 ln y), and R is the
root of "the top layer closes": f(x_1) + V/x_1 = 1. The tables are
    x = [0, x_1, ..., x_255 = R, V/f(R)]    (257: the last is the base strip's width)
    f = [1, f(x_1), ..., f(x_255)]          (256)
each value computed with 80 significant digits and rounded once to the nearest double.
From those doubles, the AVX-512 kernel's one-lookup table (nde__rand_zig_pack, 256 words):
word m packs w = x[m+1] (its 52 mantissa bits, bits 52-54 its biased exponent - 1020) and,
in bits 55-63, t = T >> 43 where T is the least 52-bit U with fl(U 2^-52 w) >= x[m] (the
first try's accept test x < x[m] is U < T, as double multiplication rounds monotonically).

Standard library only (decimal). Usage:
    scripts/gen_ziggurat.py                   print the two C tables
    scripts/gen_ziggurat.py --check FILE      compare with the tables in FILE (exit 1
                                              if any value or its text differs)
"""
import re
import sys
from decimal import Decimal, getcontext

getcontext().prec = 80
LAYERS = 256


def pi():
    """pi to the context precision (the decimal module documentation's recipe)."""
    getcontext().prec += 2
    three = Decimal(3)
    lasts, t, s, n, na, d, da = 0, three, 3, 1, 0, 0, 24
    while s != lasts:
        lasts = s
        n, na = n + na, na + 8
        d, da = d + da, da + 32
        t = (t * n) / d
        s += t
    getcontext().prec -= 2
    return +s


def erfc(x):
    """erfc(x) for 0 < x < 4 by the Taylor series of erf, at twice the precision (the
    series' terms grow to about e^{x^2} before they fall, and erfc = 1 - erf cancels)."""
    getcontext().prec *= 2
    x = +x
    eps = Decimal(10) ** (-getcontext().prec)
    term, s, n = x, x, 0      # term = (-1)^n x^(2n+1) / n!
    while True:
        n += 1
        term *= -x * x / n
        add = term / (2 * n + 1)
        s += add
        if abs(add) < eps:
            break
    r = 1 - 2 / pi().sqrt() * s
    getcontext().prec //= 2
    return +r


def f(x):
    return (-x * x / 2).exp()


def area(R):
    return R * f(R) + (pi() / 2).sqrt() * erfc(R / Decimal(2).sqrt())


def edges(R):
    """x_1 .. x_255 from x_255 = R (None where a layer overshoots the top), and V."""
    V = area(R)
    x = [Decimal(0)] * LAYERS
    x[LAYERS - 1] = R
    for k in range(LAYERS - 1, 1, -1):
        y = f(x[k]) + V / x[k]
        if y >= 1:
            return None, V
        x[k - 1] = (-2 * y.ln()).sqrt()
    return x, V


def closure(R):
    """f(x_1) + V/x_1 - 1: > 0 for R below the root (V too large), < 0 above."""
    x, V = edges(R)
    if x is None:
        return Decimal(1)
    return f(x[1]) + V / x[1] - 1


def solve_R():
    lo, hi = Decimal("3.6"), Decimal("3.7")
    assert closure(lo) > 0 > closure(hi)
    # bisection to 1e-12, then the secant method to the working precision
    while hi - lo > Decimal("1e-12"):
        mid = (lo + hi) / 2
        if closure(mid) > 0:
            lo = mid
        else:
            hi = mid
    a, b = lo, hi
    ga, gb = closure(a), closure(b)
    for _ in range(50):
        if gb == ga:
            break
        c = b - gb * (b - a) / (gb - ga)
        a, ga, b, gb = b, gb, c, closure(c)
        if abs(b - a) < Decimal(10) ** (5 - getcontext().prec):
            break
    return b


def c_double(v):
    """A double as the C source writes it: %.17g (round-trip exact), 0 as 0.0."""
    d = float(v)                 # Decimal -> float rounds correctly to nearest
    return "0.0" if d == 0 else "%.17g" % d


def c_table(decl, values):
    words = [c_double(v) for v in values]
    lines, line = [], "   "
    for i, w in enumerate(words):
        piece = " " + w + ("," if i + 1 < len(words) else "")
        if i % 4 == 0 and i > 0:
            lines.append(line)
            line = "   "
        line += piece
    lines.append(line)
    return decl + " = {\n" + "\n".join(lines) + "\n};\n"


def pack(xd):
    """nde__rand_zig_pack from the doubles x[0..256] (Python floats: IEEE doubles, each
    product rounded once, as the C kernel's)."""
    import struct
    words = []
    for m in range(LAYERS):
        w, e = xd[m + 1], xd[m]
        lo, hi = 0, 1 << 52          # T in (lo, hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if float(mid) * 2.0 ** -52 * w >= e:
                hi = mid
            else:
                lo = mid
        bits = struct.unpack("<Q", struct.pack("<d", w))[0]
        be = bits >> 52
        assert 1020 <= be <= 1027
        words.append((hi >> 43) << 55 | (be - 1020) << 52 | (bits & ((1 << 52) - 1)))
    return words


def c_u64_table(decl, words):
    lines = ["    " + " ".join("UINT64_C(0x%016x)," % v for v in words[i:i + 3])
             for i in range(0, len(words), 3)]
    lines[-1] = lines[-1].rstrip(",")
    return decl + " = {\n" + "\n".join(lines) + "\n};\n"


def tables():
    R = solve_R()
    x, V = edges(R)
    xs = [Decimal(0)] + x[1:] + [V / f(R)]
    fs = [Decimal(1)] + [f(v) for v in x[1:]]
    return (c_table("const double nde__rand_zig_x[%d]" % len(xs), xs)
            + c_table("const double nde__rand_zig_f[%d]" % len(fs), fs)
            + c_u64_table("const uint64_t nde__rand_zig_pack[%d]" % LAYERS,
                          pack([float(v) for v in xs]))), R


def main(argv):
    text, R = tables()
    if len(argv) == 3 and argv[1] == "--check":
        src = open(argv[2]).read()
        found = re.findall(r"const (?:double|uint64_t) nde__rand_zig_(?:x|f|pack)\[\d+\] = \{.*?\n\};\n",
                           src, re.S)
        have = "".join(found)
        if have == text:
            print("gen_ziggurat: %s matches (R = %s)" % (argv[2], format(R, ".25f")))
            return 0
        print("gen_ziggurat: the tables in %s differ from the generated ones" % argv[2])
        return 1
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
