#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<harness>/ in the byte encoding of
tests/fuzz/fuzz.h: a few dozen small, meaningful inputs per harness (typical problems,
every method and sampler, boundary values, each option group switched on once).
Deterministic; rerun after changing a harness's decoding order:

    python3 tests/fuzz/gen_corpus.py

Each encoder below follows its harness's LLVMFuzzerTestOneInput field by field; a
short seed leaves the remaining fields at their zero-byte defaults."""
import hashlib
import math
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# fz_special in fuzz.h, by bit pattern
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 10.0, -10.0, 1e-3, 1e3, 1e-10, 1e10, 1e-100,
           1e100, 1e-200, 1e200, 1e-300, 1e300, 2.2250738585072014e-308, 5e-324, 1e-310,
           1.7976931348623157e308, -1.7976931348623157e308, 1e154, 1e-154, math.nan,
           math.inf, -math.inf, 2.220446049250313e-16, 0.99999999999999989,
           1.0000000000000002, 0.1]

# registries, in the order of nde_method_at / nde_sampler_at
# the methods that solve nde_ode problems, in registry order (fz_ode_method_at)
METHODS = ("euler heun midpoint ralston reversible_heun bosh3 dopri5 tsit5 vern6 vern7 dopri8 vern8 vern9 gbs seulex "
           "radau5 implicit_euler kvaerno3 kencarp3 kvaerno4 kencarp4 kvaerno5 kencarp5 ros3p rodas4 rodas5p "
           "bdf auto").split()
SAMPLERS = ("ddim dpmsolver dpmsolver++ dpmsolver_adaptive dpmsolver++_adaptive dpmpp_2m "
            "dpmpp_3m dpmsolver++_sde dpmpp_2m_sde dpmpp_3m_sde dpmsolver_sde unipc "
            "unipc_noise deis ipndm lms euler heun dpm2 euler_ancestral dpm2_ancestral "
            "dpmpp_2s_ancestral dpmpp_sde").split()


def bits(v):
    return struct.pack("<d", v)


class W:
    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b.append(v & 0xFF)
        return self

    def u16(self, v):
        self.b += struct.pack("<H", v & 0xFFFF)
        return self

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xFFFFFFFF)
        return self

    def dbl(self, v):
        for i, s in enumerate(SPECIAL):
            if bits(s) == bits(v) or (math.isnan(v) and math.isnan(s)):
                return self.u8(i)
        self.u8(224)
        self.b += bits(v)
        return self

    def within(self, f):
        """fz_within: the point at fraction f of [a, b]."""
        q = max(0, min(49151, round(f * 49151)))
        return self.u8(q // 256).u8(q % 256)

    def anything(self, v):
        """fz_within's escape: any double."""
        return self.u8(192).dbl(v)


# ---- fuzz_ode_solve ----------------------------------------------------------
LINEAR, LORENZ, ROBERTSON, NAN, RETRY_STOP, BLOWUP = range(6)
(P_RTOL, P_ATOL, P_DT0, P_SAVE, P_P, P_I, P_D, P_SAFETY, P_FMIN, P_FMAX, P_DTMIN, P_DTMAX,
 P_FMINACC, P_TS, P_TS_NULL, P_STEP, P_JUMP, P_EVENTS, P_EVENT_NULL, P_DIR_NULL,
 P_TERM_NULL, P_EVTOL, P_ONSTEP) = [1 << i for i in range(23)]


def ode(kind=LINEAR, dim=1, a=None, b=None, par=None, nan_every=0, retry_every=0,
        stop_after=0, t0=0.0, t1=1.0, y0=None, method=None, present=0, rtol=1e-6, atol=1e-9,
        dt0=0.0, max_steps=999, save=0, pid=(0.0, 0.0, 0.0), safety=0.9, fmin=0.2, fmax=10.0,
        dtmin=0.0, dtmax=0.0, fmin_acc=0.0, ts=None, sort_ts=1, step_ts=None, jump_ts=None,
        events=None, evtol=0.0, ev_fail=0, on_step_stop=0, alloc=0, errbuf=0, evals=()):
    w = W().u8(kind)
    if kind not in (LORENZ, ROBERTSON):
        w.u8(dim - 1)
    else:
        dim = 3
    a = a or [-1.0] * dim
    b = b or [0.0] * dim
    for i in range(dim):
        w.dbl(a[i]).dbl(b[i])
    if kind in (LORENZ, ROBERTSON):
        for p in (par or [None] * 3):
            if p is None:
                w.u8(0)
            else:
                w.u8(1).dbl(p)
    w.u8(nan_every).u8(retry_every).u16(stop_after)
    w.dbl(t0).u8(2).dbl(t1)                     # t1 given directly
    for v in (y0 or [1.0] * dim):
        w.u8(0).within((v + 2.0) / 4.0)          # y0 in [-2, 2]
    w.u8(len(METHODS) if method is None else METHODS.index(method))
    w.u32(present)
    if present & P_RTOL: w.dbl(rtol)
    if present & P_ATOL: w.dbl(atol)
    if present & P_DT0: w.u8(2).dbl(dt0)
    w.u16(max_steps - 1)
    if present & P_SAVE: w.u8(save)
    for bit, v in ((P_P, pid[0]), (P_I, pid[1]), (P_D, pid[2]), (P_SAFETY, safety),
                   (P_FMIN, fmin), (P_FMAX, fmax), (P_DTMIN, dtmin), (P_DTMAX, dtmax),
                   (P_FMINACC, fmin_acc)):
        if present & bit: w.dbl(v)
    span = t1 - t0

    def times(v, sort=1):
        w.u8(len(v)).u8(sort)
        for t in v:
            f = (t - t0) / span
            if 0.0 <= f <= 1.0:
                w.within(f)
            else:
                w.anything(t)
    if present & P_TS: times(ts or [], sort_ts)
    if present & P_STEP: times(step_ts or [])
    if present & P_JUMP: times(jump_ts or [])
    if present & P_EVENTS:
        evs = events or [(0, 0.0, 0, 1)]
        w.u8(len(evs) - 1)
        for comp, c, dirn, term in evs:          # comp == dim: g = t - c
            w.u8(comp)
            w.within((c + 2.0) / 4.0 if comp < dim else (c - t0) / span)
            w.u8(dirn + 2).u8(0 if term else 1)
        if present & P_EVTOL: w.dbl(evtol)
        w.u8(ev_fail)
    if present & P_ONSTEP: w.u8(on_step_stop)
    w.u8(alloc).u8(errbuf)
    w.u8(len(evals))
    for t in evals:
        w.within((t - t0) / span)
    return bytes(w.b)


def ode_seeds():
    S = []
    for m in METHODS:                             # every method, adaptive where it can
        adaptive = m not in ("euler", "midpoint")
        S.append(ode(method=m, present=0 if adaptive else P_RTOL | P_DT0, rtol=0.0, dt0=0.01,
                     save=0))
    S.append(ode(kind=LORENZ, t1=2.0, y0=[1.0, 1.0, 1.0], present=P_SAVE, save=4 | 1,
                 evals=(0.5, 1.0, 1.7)))
    S.append(ode(kind=ROBERTSON, t1=1.0, y0=[1.0, 0.0, 0.0], max_steps=300))
    S.append(ode(kind=NAN, dim=2, a=[-1.0, -2.0], b=[0.0, 1.0], nan_every=7))
    S.append(ode(kind=RETRY_STOP, dim=2, retry_every=5, stop_after=200))
    S.append(ode(kind=BLOWUP, a=[1.0], y0=[1.0], t1=2.0))
    S.append(ode(t0=1.0, t1=0.0))                 # backwards
    S.append(ode(t0=1e10, t1=1e10 + 1.0))         # far from 0
    S.append(ode(t0=0.0, t1=1e-10))
    S.append(ode(t0=0.0, t1=1e160))               # issue 7 defect 8 territory
    S.append(ode(t0=0.0, t1=1.0, present=P_RTOL | P_ATOL, rtol=1e-210, atol=1e-210))
    S.append(ode(present=P_RTOL | P_ATOL, rtol=0.0, atol=0.0))   # constant steps without dt0
    S.append(ode(present=P_DT0, dt0=-0.1))        # dt0 pointing away
    S.append(ode(present=P_TS | P_SAVE, ts=[0.1, 0.2, 0.5, 0.5, 1.0], save=8 | 1))
    S.append(ode(t0=2.0, t1=-1.0, present=P_TS, ts=[1.5, 0.0, -1.0]))
    S.append(ode(present=P_TS, ts=[0.7, 0.2], sort_ts=0))        # not monotone
    S.append(ode(present=P_TS | P_TS_NULL, ts=[0.5]))
    S.append(ode(present=P_SAVE, save=2 | 4, evals=(0.25, 0.75)))
    S.append(ode(present=P_SAVE, save=0x10))     # unknown flag
    S.append(ode(present=P_STEP | P_JUMP, step_ts=[0.25, 0.5], jump_ts=[0.3, 0.6]))
    S.append(ode(present=P_STEP | P_RTOL | P_ATOL, rtol=0.0, atol=0.0, step_ts=[0.1, 0.4, 0.9]))
    S.append(ode(present=P_JUMP | P_RTOL | P_DT0, rtol=0.0, dt0=0.05, jump_ts=[0.33]))
    S.append(ode(present=P_P | P_I | P_D, pid=(0.1, 0.3, 0.05)))
    S.append(ode(present=P_SAFETY | P_FMIN | P_FMAX | P_FMINACC, safety=0.8, fmin=0.1,
                 fmax=5.0, fmin_acc=0.5))
    S.append(ode(present=P_DTMIN | P_DTMAX, dtmin=1e-3, dtmax=0.05))
    S.append(ode(present=P_DTMIN | P_DTMAX, dtmin=0.1, dtmax=0.01))   # dtmin > dtmax
    S.append(ode(present=P_EVENTS, events=[(0, 0.5, -1, 1)], y0=[1.0]))
    S.append(ode(present=P_EVENTS | P_TS, dim=2, a=[0.0, 0.0], b=[1.0, -1.0], y0=[0.0, 0.0],
                 ts=[0.2, 0.8], events=[(0, 0.3, 1, 0), (1, -0.6, 0, 0), (2, 0.9, 0, 1)]))
    S.append(ode(present=P_EVENTS | P_EVTOL | P_DIR_NULL | P_TERM_NULL, events=[(1, 0.4, 0, 1)],
                 evtol=1e-3))
    S.append(ode(present=P_EVENTS, events=[(0, 0.5, 2, 1)]))         # invalid direction
    S.append(ode(present=P_EVENTS, events=[(0, 0.5, 0, 1)], ev_fail=203))
    S.append(ode(present=P_ONSTEP, on_step_stop=3))
    S.append(ode(alloc=1 | 4, errbuf=1))         # first allocation fails
    S.append(ode(alloc=1 | 2 | (3 << 3) | 4, present=P_SAVE, save=2 | 4, errbuf=205))
    S.append(ode(t0=math.nan, errbuf=1))
    S.append(ode(y0=[0.0], t1=0.0))               # t1 == t0
    return S


# ---- fuzz_stepper -------------------------------------------------------------
def stepper(method="tsit5", dim=2, alloc=0, kind=0, at=0, c=None, y=None, t0_mode=0, ops=()):
    w = W().u8(len(METHODS) if method is None else METHODS.index(method))
    w.u8(dim).u8(alloc)
    w.u8(kind).u8(at)
    for v in (c or [1.0] * max(dim, 0))[:max(0, min(dim, 6))]:
        w.u8(0).within((v + 3.0) / 6.0)
    for v in (y or [0.5] * max(dim, 0))[:max(0, min(dim, 6))]:
        w.within((v + 2.0) / 4.0)
    w.u8(t0_mode)
    w.u8(max(0, len(ops) - 1))
    for op in ops:
        if op[0] == "step":                       # ("step", h, flags)
            _, h, flags = op
            w.u8(0).within((h + 0.5) / 1.0).u8(flags)
        elif op[0] == "step_raw":                 # ("step_raw", h, flags): any h
            _, h, flags = op
            w.u8(3).dbl(h).u8(flags)
        elif op[0] == "dense":                    # ("dense", theta, null_arg)
            _, theta, null = op
            if theta == 0.0:
                w.u8(5).u8(0)
            elif theta == 1.0:
                w.u8(5).u8(64)
            elif 0.0 < theta < 1.0:
                w.u8(5).u8(128).within(theta)
            else:
                w.u8(5).u8(224).dbl(theta)
            w.u8(null)
        else:                                     # ("reset",)
            w.u8(7).u8(0)
            for _ in range(min(dim, 6)):
                w.within(0.75)
    return bytes(w.b)


CONT = 0x40   # flags: continue from the step's end
FSAL, ERR = 1, 2


def stepper_seeds():
    S = []
    walk = [("step", 0.1, ERR | CONT | FSAL), ("dense", 0.5, 0), ("step", 0.1, ERR | FSAL | CONT),
            ("dense", 0.0, 0), ("dense", 1.0, 0), ("step", -0.05, ERR)]
    for m in METHODS:
        S.append(stepper(method=m, kind=1, c=[-1.0, 0.5], ops=walk))
        S.append(stepper(method=m, kind=0, c=[2.0, -1.0], ops=[("step", 0.3, ERR), ("dense", 0.25, 0)]))
    S.append(stepper(method=None))                                     # NULL method
    S.append(stepper(dim=0))
    S.append(stepper(dim=240))                                         # SIZE_MAX
    S.append(stepper(dim=241))                                         # SIZE_MAX/8 + 2
    S.append(stepper(alloc=1 | 4))                                     # create fails
    S.append(stepper(alloc=1 | 2 | (1 << 3) | 4))                     # second allocation fails
    S.append(stepper(ops=[("dense", 0.5, 0)]))                        # dense before a step
    S.append(stepper(ops=[("step_raw", 0.0, 0)]))                     # h == 0
    S.append(stepper(ops=[("step_raw", math.nan, 0)]))
    S.append(stepper(ops=[("step_raw", 1e300, ERR)]))
    S.append(stepper(ops=[("step", 0.1, 0), ("dense", 1.5, 0), ("dense", -0.1, 0)]))
    S.append(stepper(ops=[("step", 0.1, 1 << 2), ("step", 0.1, 2 << 2), ("step", 0.1, 3 << 2),
                          ("step", 0.1, 4 << 2), ("step", 0.1, 0), ("dense", 0.3, 1),
                          ("dense", 0.3, 2), ("dense", 0.3, 3)]))     # NULL arguments
    S.append(stepper(kind=2, at=3, ops=[("step", 0.1, ERR), ("step", 0.1, ERR | FSAL)]))   # retry
    S.append(stepper(kind=3, at=4, ops=[("step", 0.1, 0), ("step", 0.1, 0), ("dense", 0.5, 0)]))
    S.append(stepper(kind=4, at=2, ops=[("step", 0.1, ERR), ("dense", 0.5, 0)]))           # NaN
    S.append(stepper(ops=[("step", 0.2, CONT), ("reset",), ("step", 0.2, FSAL)]))
    return S


# ---- fuzz_schedule ------------------------------------------------------------
def schedule(kind, p0=0.0, p1=0.0, n=0, null_table=False, mode=0, a=0.0, b=0.0, raw=(),
             cumprod=0, queries=((0.5, 0.0),)):
    w = W().u8(kind).dbl(p0).dbl(p1).u8(n).u8(0xFF if null_table else 0)
    if kind in (2, 3):
        w.u8(mode).dbl(a).dbl(b)
        if mode == 1:
            for v in raw:
                w.dbl(v)
        elif mode == 2:
            for v in raw:
                w.within(v)
        if kind == 3:
            w.u8(cumprod)
    w.u8(len(queries) - 1)
    for f, lam in queries:
        w.within(f).dbl(lam)
    return bytes(w.b)


def schedule_seeds():
    q = ((0.0, 0.0), (0.25, -3.0), (0.5, 1.0), (1.0, 10.0), (0.9, math.nan), (0.1, math.inf))
    S = [schedule(0, 0.1, 20.0, queries=q), schedule(0, 0.0, 1e-3, queries=q),
         schedule(0, 20.0, 0.1), schedule(0, -1.0, 2.0), schedule(0, math.nan, 1.0),
         schedule(1, 0.008, queries=q), schedule(1, 0.0, queries=q), schedule(1, math.inf),
         schedule(1, 2.0),
         schedule(2, n=64, mode=0, a=0.1, b=2.0, queries=q),           # DDPM-like linear
         schedule(2, n=2, mode=2, raw=(0.1, 0.2), queries=q),
         schedule(2, n=10, mode=2, raw=[0.01 * (i + 1) for i in range(10)], queries=q),
         schedule(2, n=8, mode=3, a=1.0, queries=((0.5, 0.0),)),       # tiny betas
         schedule(2, n=4, mode=1, raw=(0.1, 1.5, 0.2, 0.3)),           # outside (0, 1)
         schedule(2, n=1, mode=2, raw=(0.1,)), schedule(2, n=5, null_table=True),
         schedule(3, n=32, mode=0, a=0.1, b=2.0, cumprod=1, queries=q),
         schedule(3, n=6, mode=2, raw=(0.9, 0.8, 0.7, 0.5, 0.3, 0.1), queries=q),
         schedule(3, n=3, mode=2, raw=(0.5, 0.7, 0.2)),                # not decreasing
         schedule(4, 0.01, 50.0, queries=q), schedule(4, 50.0, 0.01), schedule(4, 0.0, 1.0),
         schedule(5, 0.002, 80.0, queries=q), schedule(5, 1e-300, 1e300, queries=q),
         schedule(5, -1.0, 1.0), schedule(6, queries=q)]
    return S


# ---- fuzz_sampler ------------------------------------------------------------
(Q_ETA, Q_SNOISE, Q_CHURN, Q_TMIN, Q_TMAX, Q_THRESH, Q_RATIO, Q_MAXVAL, Q_GUIDE, Q_SDATA,
 Q_GRID, Q_GRID_NULL, Q_RHO, Q_ATOL, Q_RTOL, Q_HINIT, Q_THETA, Q_TERR, Q_ONSTEP) = \
    [1 << i for i in range(19)]
SPACINGS = [None, "logsnr", "LogSNR", "exponential", "time_uniform", "time_quadratic",
            "karras", "ays_sd15", "ays_sdxl", "ays_svd", "custom", "bogus"]
SMETHODS = [None, "multistep", "singlestep", "singlestep_fixed", "adaptive", "bogus"]
STYPES = [None, "dpmsolver", "taylor", "midpoint", "heun", "bogus"]
VARIANTS = [None, "bh1", "bh2", "bogus"]


def sampler(skind=0, typical=True, a=0.0, b=0.0, n_table=100, dim=2, k=2, pred=0,
            component=-1, sampler="dpmsolver++", order=0, steps=10, multistep=1,
            spacing=None, times=None, lof=1, seed=1, errbuf=1, method=None, stype=None,
            variant=None, d2z=0, present=0, eta=0.0, s_noise=1.0, churn=0.0, s_tmin=0.0,
            s_tmax=0.0, ratio=0.995, maxval=1.0, guidance=2.0, sigma_data=0.5, grid=None,
            rho=7.0, atol=0.0078, rtol=0.05, h_init=0.05, theta=0.9, t_err=1e-5,
            max_steps=100, stop_at=0, alloc=0, batch=2, huge_steps=None, fail_at=0):
    w = W().u8(skind).u8(0 if typical else 200).dbl(a).dbl(b)
    if skind in (2, 3):
        w.u8(n_table - 2)
        if not typical:
            w.u8(0)
    w.u8(dim - 1).u8(k - 1).u8(0)
    for c in range(k):
        w.within((1.0 - 0.1) / 1.9)                              # weight 1
        for j in range(dim):
            w.within((2.0 * (c - (k - 1) / 2.0) + 3.0) / 6.0)   # means spread on every axis
            w.within(0.3 / 1.5)                                  # std 0.3
    w.u8(pred)
    w.u8(0 if component < 0 else 192 + component)
    w.u8(0).u8(0)                                                # sigma_data, prediction kept
    w.u8(240 + fail_at if fail_at else 0)
    if fail_at:
        w.u8(fail_at - 1)
    w.u8(SAMPLERS.index(sampler) if sampler in SAMPLERS else len(SAMPLERS) + (0 if sampler == "bogus" else 1))
    w.u8(order + 1)
    w.u8(huge_steps if huge_steps is not None else steps)
    w.u8(multistep).u8(SPACINGS.index(spacing))
    if times is None:
        w.u8(0)
    else:
        w.u8(3).dbl(times[0]).dbl(times[1])
    w.u8(lof).u8(seed).u8(errbuf)
    w.u8(SMETHODS.index(method)).u8(STYPES.index(stype)).u8(VARIANTS.index(variant)).u8(d2z)
    w.u32(present)
    if present & Q_ETA: w.u8(200).dbl(eta)
    if present & Q_SNOISE: w.dbl(s_noise)
    if present & Q_CHURN: w.u8(200).dbl(churn)
    if present & Q_TMIN: w.dbl(s_tmin)
    if present & Q_TMAX: w.dbl(s_tmax)
    if present & Q_RATIO: w.dbl(ratio)
    if present & Q_MAXVAL: w.dbl(maxval)
    if present & Q_GUIDE: w.u8(200).dbl(guidance)
    if present & Q_SDATA: w.dbl(sigma_data)
    if present & Q_GRID:
        g = grid or []
        w.u8(len(g)).within(1.0).within(0.0).u8(200)            # raw values follow
        for v in g:
            w.dbl(v)
    if present & Q_RHO: w.dbl(rho)
    for bit, v in ((Q_ATOL, atol), (Q_RTOL, rtol), (Q_HINIT, h_init), (Q_THETA, theta),
                   (Q_TERR, t_err)):
        if present & bit: w.dbl(v)
    w.u8(max_steps - 1)
    if present & Q_ONSTEP: w.u8(stop_at)
    w.u8(alloc).u8(batch - 1)
    for i in range(batch * dim):
        w.u8(0).within(0.5 + 0.1 * ((i % 5) - 2))
    w.u8(steps + 1)                                              # timesteps capacity
    w.u8(0).within(0.8).u8(0).within(0.6).u8(0)                  # mixture functions: alpha,
    for i in range(batch * dim):                                 # sigma, the mixture, x,
        w.within(0.5 + 0.05 * (i % 3))
    w.u8(0).u8(1).within(0.9).within(0.1).u8(3)                  # both outputs, seed, flow
    return bytes(w.b)


def sampler_seeds():
    S = []
    for name in SAMPLERS:
        S.append(sampler(sampler=name, steps=12))
    S.append(sampler(sampler="dpmsolver++", multistep=0, order=3, steps=12))     # singlestep 3S
    S.append(sampler(sampler="dpmsolver", method="singlestep_fixed", order=2, steps=10))
    S.append(sampler(sampler="dpmsolver", method="adaptive", order=2, present=Q_ATOL | Q_RTOL,
                     atol=0.01, rtol=0.01))
    S.append(sampler(sampler="unipc", variant="bh2", order=3))
    S.append(sampler(sampler="dpmsolver++", stype="taylor", spacing="logsnr"))
    for sp in SPACINGS[1:]:
        S.append(sampler(spacing=sp, steps=10, present=Q_GRID if sp == "custom" else 0,
                         grid=[1.0 - 0.099 * i for i in range(11)]))
    for skind in range(6):
        S.append(sampler(skind=skind, steps=8, sampler="dpmsolver++"))
    S.append(sampler(skind=2, typical=False, a=0.1, b=2.0, n_table=50))
    S.append(sampler(skind=4, sampler="euler", present=Q_CHURN | Q_TMAX, churn=40.0, s_tmax=10.0))
    S.append(sampler(skind=5, pred=4, sampler="heun", d2z=1))                     # EDM model
    for pred in range(5):
        S.append(sampler(pred=pred, steps=6))
    S.append(sampler(present=Q_THRESH | Q_RATIO | Q_MAXVAL, ratio=0.9, maxval=1.5))
    S.append(sampler(sampler="dpmsolver", present=Q_THRESH))                      # noise form
    S.append(sampler(component=1, present=Q_GUIDE, guidance=3.0))                 # guided
    S.append(sampler(component=5))                                                # bad class
    S.append(sampler(sampler="dpmpp_2m_sde", present=Q_ETA | Q_SNOISE, eta=0.5, s_noise=0.9))
    S.append(sampler(sampler="dpm2_ancestral", present=Q_ETA, eta=1.5))
    S.append(sampler(sampler="bogus"))
    S.append(sampler(sampler="dpmsolver++", order=4))                             # out of range
    S.append(sampler(steps=1, order=3))
    S.append(sampler(times=(0.5, 0.6)))                                           # t_end > t_start
    S.append(sampler(times=(1.0, 0.0)))
    S.append(sampler(present=Q_RHO, spacing="karras", rho=1e-300))               # defect 11
    S.append(sampler(present=Q_ONSTEP, stop_at=3))
    S.append(sampler(fail_at=4))                                                  # model fails
    S.append(sampler(alloc=1 | 4))                                                # ENOMEM
    S.append(sampler(huge_steps=250))                                             # INT_MAX - 2
    S.append(sampler(huge_steps=253))                                             # -1
    return S


def write(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, s in enumerate(seeds):
        h = hashlib.sha1(s).hexdigest()[:12]
        with open(os.path.join(d, "seed-%02d-%s" % (i, h)), "wb") as f:
            f.write(s)
    print("%s: %d seeds" % (name, len(seeds)))


# ---- fuzz_adjoint ---------------------------------------------------------------

def adjoint_seeds():
    """Problem, parameters, y0, span, method, tolerances, times, save, adjoint kind,
    checkpoints, regularisers: one seed per method and kind, plus a few option mixes."""
    out = []
    for mi in range(len(METHODS)):
        for kind in range(3):
            w = W()
            w.u8(mi % 2)                      # problem: linear / Lotka-Volterra
            for _ in range(4):
                w.u8(0).u8(128).u8(0)        # parameters near the base values
            w.u8(96).u8(0).u8(96).u8(0)      # y0
            w.u8(0).u8(96).u8(0)              # t0
            w.u8(0).u8(160).u8(0)             # t1 = t0 + ...
            w.u8(mi)                          # method
            w.u8(128 if kind != 1 else 32).u8(100).u8(0).u8(100).u8(0)   # adaptive / constant
            w.u8(200)                         # max_steps
            w.u8(3).u8(0).u8(40).u8(0).u8(120).u8(0).u8(200).u8(0)       # ts
            w.u8(mi % 3)                      # step_ts count, values
            w.u8(0).u8(60).u8(0).u8(150).u8(0)
            w.u8(kind % 2).u8(0).u8(90).u8(0)                             # jump_ts
            w.u8(kind)                        # save flags
            w.u8(kind)                        # adjoint kind
            w.u8(100 + 10 * kind)             # checkpoints
            w.u8(200).u8(0).u8(50).u8(0)      # reg_error
            w.u8(200 if kind == 0 else 0).u8(0).u8(30).u8(0)
            out.append(bytes(w.b))
    return out


# ---- fuzz_path -----------------------------------------------------------------

def path_seeds():
    """n, channels, kind, time mode, times, values (some missing), allocator, errbuf,
    six queries, the CDE span, z0 and adaptive/constant: each kind with and without
    missing values, a failing allocation, and the invalid cases."""
    out = []
    for kind in range(4):
        for missing in (0, 1):
            for n, c in ((6, 2), (2, 1), (12, 3)):
                w = W()
                w.u8(n).u8(c - 1).u8(kind).u8(0)
                w.within(0.5)                          # first time
                for i in range(n):
                    w.within(0.3 + 0.05 * i)           # increments
                for i in range(n * c):
                    if missing and i % 5 == 1:
                        w.u8(200)                      # NaN
                    else:
                        w.u8(0).within(((i * 37) % 100) / 100.0)
                w.u8(1 if missing else 0)              # allocator: checking / malloc
                w.u8(100)                              # errbuf
                for q in range(6):
                    w.u8(0).within(q / 5.0)
                w.within(0.1).within(0.9)              # span
                w.within(0.6).within(0.3)              # z0
                w.u8(missing)                          # adaptive or constant
                out.append(bytes(w.b))
    w = W()                                             # failing first allocation
    w.u8(4).u8(0).u8(1).u8(0).within(0.5)
    for i in range(4):
        w.within(0.4)
    for i in range(4):
        w.u8(0).within(0.5)
    w.u8(1 | 4)
    out.append(bytes(w.b))
    w = W()                                             # times not increasing
    w.u8(3).u8(0).u8(0).u8(1).within(0.5).u8(0).u8(0).u8(0)
    out.append(bytes(w.b))
    return out


# ---- fuzz_sde ------------------------------------------------------------------

N_SDE_METHODS = 11   # nde_sde_method_count()


def sde_seed(noise=0, dim=1, noise_dim=1, method=0, adaptive=0, strat=0, levy=1, nts=0,
             ensemble=False, paths=3, threads=2):
    w = W()
    w.u8(noise).u8(dim)
    if noise != 0:
        w.u8(noise_dim)
    w.u8(0)                                  # noise_dim as given
    for _ in range(3):
        w.within(0.5)                        # A in [-2, 1]: -0.5
    for i in range(12):
        w.within(0.3 + 0.03 * i)             # B
    w.u8(0).u8(0).u8(strat).u8(0)            # no retries, no stop, calculus, drift present
    w.within(0.5).within(0.66)               # t0 = 0, t1 = t0 + 1
    for _ in range(3):
        w.u8(0).within(0.75)                 # y0 = 1
    w.u8(0)                                  # the right tree
    w.u8(0).u8(10)                           # tol = |t1 - t0| 2^-10
    w.u8(levy)
    w.b += bytes(8)                          # seed 0
    w.u8(0).u8(method % N_SDE_METHODS)       # an SDE method by index
    w.u8(adaptive)
    if adaptive:
        w.within(0.01).within(0.01)          # rtol, atol
        w.u8(0).u8(99)                       # dt0 given: (t1 - t0)/100
    else:
        w.u8(99)
    w.u16(999)                               # max_steps 1000
    w.u8(nts)
    if nts:
        w.u8(0)
    w.u8(1)                                  # the checking allocator
    w.u8(100)                                # errbuf
    w.u8(230 if ensemble else 0)
    if ensemble:
        w.u8(paths).u8(threads).within(0.2).u8(2)
    return bytes(w.b)


def sde_seeds():
    out = []
    for m in range(N_SDE_METHODS):
        for noise, dim, nd in ((0, 2, 2), (1, 2, 2), (2, 2, 3)):
            out.append(sde_seed(noise, dim, nd, m, adaptive=m % 2, strat=1 if m >= 2 else 0, nts=m % 4))
    out.append(sde_seed(ensemble=True))
    out.append(sde_seed(1, 2, 1, 5, ensemble=True, paths=5, threads=3))
    out.append(sde_seed(3, 1, 1))            # unknown noise kind
    return out


# ---- fuzz_nn -------------------------------------------------------------------

def nn_mlp(w, widths, act=2, out=1, norm=0, eps=None, mb=4, cache=2, alloc=0, scheme=1, batch=3,
           raw=None, edits=(), block=(0, 3, 2), field=(2, 0)):
    """fuzz_mlp then check_mlp, field by field (values at fixed fractions)."""
    nl = len(widths) - 1
    w.u8(nl).u8(0)
    for x in widths:
        w.u8(x)
    w.u8(200)                                       # options given
    w.u8(act + 1).u8(out + 1).u8(norm + 1)
    if eps is None:
        w.u8(0)
    else:
        w.u8(200).within(eps)
    w.u8(mb).u8(cache).u8(alloc).u8(100)            # allocator, errbuf
    w.u8(scheme).within(0.1)                        # init: scheme, sigma (0.1 of [0, 1])
    w.b += struct.pack("<Q", 12345)
    w.u8(1).u8(3).within(0.7)                       # one parameter edit
    w.u8(batch)
    nb = min(batch, 4)
    for i in range(nb * widths[0] * 2 + nb * widths[-1]):
        w.within(((i * 37) % 100) / 100.0)
    if 1 <= batch <= mb:
        w.u8(1).u8(0)                               # extra forward passes; jvp with y
    if raw is not None:
        w.u8(220)
        w.b += raw
        return w
    w.u8(0).u8(len(edits))
    for at, op, arg in edits:
        w.u16(at).u8(op)
        if op in (0, 2):
            w.u8(arg)
        elif op == 3:
            w.u8(arg)
    w.u8(block[0]).u8(block[1]).u8(block[2])
    w.u8(field[0]).u8(field[1])
    w.within(0.6)
    return w


def nn_seeds():
    out = []
    # part 0: an MLP (then losses), every activation, norm and init scheme
    for act in range(1, 7):
        for norm in range(3):
            w = W().u8(0)
            nn_mlp(w, (2, 5, 2), act=act, out=1 + (act % 2), norm=norm, eps=0.3 if norm else None,
                   scheme=1 + (act % 2), cache=1 + norm)
            out.append(bytes(w.b))
    w = W().u8(0)
    nn_mlp(w, (3, 6, 4, 2), batch=4, field=(3, 1))  # time-dependent field, 3 layers
    out.append(bytes(w.b))
    w = W().u8(0)
    nn_mlp(w, (2, 1), batch=0)                      # one layer, batch refused
    out.append(bytes(w.b))
    for ed in ([(40, 2, 0)], [(100, 2, 1)], [(200, 1, 0)], [(60, 0, ord("x"))], [(10, 3, 20)],
               [(5, 2, 12), (90, 2, 18)], [(120, 2, 3)]):
        w = W().u8(0)
        nn_mlp(w, (2, 6, 2), norm=2, edits=ed)      # edited parameter files
        out.append(bytes(w.b))
    w = W().u8(0)
    nn_mlp(w, (2, 3, 2), raw=b"# raw\nW1 3 2\n1 2\n3 4\n5 6\nb1 1 3\n0 0 0\nW2 2 3\n1 1 1\n1 1 1\nb2 1 2\n0 0\n")
    out.append(bytes(w.b))
    w = W().u8(0)
    nn_mlp(w, (2, 3, 2), alloc=1 | 4)               # the first allocation fails
    out.append(bytes(w.b))
    w = W().u8(0).u8(2).u8(0).u8(2).u8(200).u8(2)   # huge middle width: refused
    out.append(bytes(w.b))
    # part 1: losses and activations / norms; part 2: optimisers and schedules
    for kind in range(4):
        w = W().u8(1).u8(5).u8(kind).u8(0)
        for i in range(15):
            w.within(((i * 29) % 100) / 100.0)
        w.u8(kind + 2).u8(6)                        # activation, n
        for i in range(6):
            w.u8(0).within(i / 5.0)
        w.u8(0).u8(1 + kind % 2).u8(3).u8(4).u8(0).within(0.5)
        for i in range(12 * 2 + 8):
            w.within(((i * 41) % 100) / 100.0)
        out.append(bytes(w.b))
    for kind in range(1, 5):
        for edits in (0, 1 | 4 | 16, 2 | 8 | 64, 16 | 32, 128):
            w = W().u8(2).u8(kind).u8(4).u8(edits)
            # the edited fields in fuzz_optim's order: lr, betas, eps, decay, momentum and
            # dampening, (nesterov: no value), alpha
            for bit, fracs in ((1, (0.01,)), (2, (0.5, 0.9)), (4, (0.001,)), (8, (0.1,)),
                               (16, (0.9, 0.0)), (64, (0.001,))):
                if edits & bit:
                    for f in fracs:
                        w.within(f)
            w.u8(0).u8(0)                           # allocator, errbuf
            for i in range(4):
                w.within(0.3 + 0.1 * i)
            w.u8(4)                                 # steps
            for s in range(4):
                w.u8(0 if s != 2 else 230)
                for i in range(4):
                    w.within(0.5 + 0.01 * (i + s)) if s != 2 else w.u8(25)
                w.u8(0)
            w.within(0.01).within(0.001)            # schedules
            w.b += struct.pack("<Q", 1000) + bytes([0]) + struct.pack("<Q", 500) + bytes([0])
            w.u32(10).u8(0).u8(0).u8(2)
            out.append(bytes(w.b))
    return out


# ---- fuzz_brownian -------------------------------------------------------------

def brownian_seed(grid=0, dim=1, t0=0.5, span=0.1, n_or_k=10, levy=2, alloc=1, errbuf=100,
                  queries=(), langevin=None, ess=None):
    """A tree (tol = span 2^-k) or a grid of n cells on [t0 in -5..5, t0 + span 10], its
    queries ("inc", s, t, flags), ("path", times...), ("chen", s, t, u) as fractions of
    the span, then a Langevin solve and an ESS chain (dicts below) or neither."""
    w = W()
    w.u8(grid).u8(dim - 1 if dim >= 1 else 250)
    w.u8(0).within(t0).u8(0).within(span)
    if grid:
        w.u8(0).u16(n_or_k)
    else:
        w.u8(0).u8(n_or_k)
    w.u8(levy)
    w.b += struct.pack("<Q", 12345)
    w.u8(alloc).u8(errbuf)
    w.u8(len(queries))
    for q in queries:
        if q[0] == "inc":
            w.u8(0)
            for f in q[1:3]:
                w.u8(0).within(f)
            w.u8(q[3])
        elif q[0] == "path":
            w.u8(160).u8(len(q) - 1)
            for f in q[1:]:
                w.u8(0).within(f)
            w.u8(0)
        else:
            w.u8(220)
            for f in q[1:]:
                w.within(f)
    w.u8((1 if langevin is not None else 0) | (2 if ess is not None else 0))
    if langevin is not None:
        L = dict(dim=2, kind=0, faults=0, vec=0, method=2, adaptive=0, tmode=0, levy=2, save=0, events=0)
        L.update(langevin)
        w.u8(L["dim"] - 1).u8(L["kind"]).within(0.3).u8(L["faults"])
        if L["faults"] >= 200:
            w.u8(5)
        w.u8(0).within(0.2).u8(0).within(0.3)           # gamma, u
        w.u8(200 if L["vec"] & 1 else 0)
        if L["vec"] & 1:
            for i in range(L["dim"]):
                w.within(0.1 + 0.2 * i)
        w.u8(220 if L["vec"] & 2 else 0)
        if L["vec"] & 2:
            for i in range(L["dim"]):
                w.within(0.3 + 0.2 * i)
        w.u8(0)                                           # shape as given
        w.within(0.5).u8(0).within(0.4)                   # t0 = 0, t1 ~ 2
        for i in range(2 * L["dim"]):
            w.u8(0).within(0.3 + 0.1 * i)
        w.u8(L["tmode"]).u8(L["levy"])
        w.b += struct.pack("<Q", 7)
        w.u8(L["method"]).u8(L["adaptive"])
        if L["adaptive"]:
            w.within(0.01).within(0.01)
        else:
            w.u8(49)                                      # dt0 = T/50
        w.u16(1999).u8(2).u8(L["save"]).u8(L["events"]).u8(1).u8(100)
    if ess is not None:
        E = dict(n=64, stride=1, mode=0, phi=0.7)
        E.update(ess)
        w.u8(E["n"]).u8(E["stride"]).u8(E["mode"]).within(E["phi"])
        w.b += struct.pack("<Q", 99)
    return bytes(w.b)


def brownian_seeds():
    out = []
    qs = (("inc", 0.2, 0.7, 3), ("inc", 0.7, 0.2, 1), ("inc", 0.4, 0.4, 3), ("path", 0.1, 0.5, 0.9),
          ("chen", 0.1, 0.45, 0.8), ("inc", 0.0, 1.0, 0))
    for grid in (0, 1):
        for dim in (1, 2, 3):
            for levy in (0, 1, 2):
                out.append(brownian_seed(grid, dim, levy=levy, n_or_k=(7 if grid else 12) * dim, queries=qs))
    out.append(brownian_seed(0, 2, n_or_k=50, queries=qs))               # deep tree
    out.append(brownian_seed(1, 1, n_or_k=1, queries=qs))                # one cell
    out.append(brownian_seed(0, 0, queries=qs))                          # dim 0
    out.append(brownian_seed(0, 1, span=0.0, queries=qs))                # t0 == t1
    out.append(brownian_seed(1, 1, n_or_k=0, queries=qs))                # no cells
    out.append(brownian_seed(0, 1, levy=3))                              # unknown level
    out.append(brownian_seed(0, 2, alloc=1 | 4, errbuf=210))             # the first allocation fails
    for m in range(3):
        for adaptive in (0, 1):
            out.append(brownian_seed(0, 2, queries=qs[:2], langevin=dict(method=m, adaptive=adaptive, save=m + 2 * adaptive,
                                                                        vec=m)))
    out.append(brownian_seed(langevin=dict(kind=1, faults=200, adaptive=1)))   # double well, retries
    out.append(brownian_seed(langevin=dict(tmode=250)))                        # tree of another dimension
    out.append(brownian_seed(langevin=dict(tmode=235)))                        # tree too short
    out.append(brownian_seed(langevin=dict(levy=1)))                           # quicsort without K
    out.append(brownian_seed(langevin=dict(method=240)))                       # another family's method
    out.append(brownian_seed(langevin=dict(events=250)))                       # an event
    for n, stride, mode in ((64, 1, 0), (40, 3, 0), (3, 1, 0), (20, 0, 0), (30, 1, 170), (30, 2, 250)):
        out.append(brownian_seed(ess=dict(n=n, stride=stride, mode=mode)))
    out.append(brownian_seed(ess=dict(phi=0.02)))                              # antithetic-ish, capped
    return out


# ---- fuzz_sde_adjoint ----------------------------------------------------------

def sde_adjoint_seed(noise=0, dim=2, nd=2, strat=1, method=0, adaptive=0, kind=0, checkpoints=100,
                     nts=2, jumps=0, save=0, levy=1, vjps=0):
    w = W()
    w.u8(noise).u8(dim - 1)
    if noise != 0:
        w.u8(nd - 1)
    for i in range(6):
        w.u8(0).within(0.4 + 0.05 * i)      # A in [-1, 0.5], B in [-0.8, 0.8]
    w.u8(vjps | strat)
    w.within(0.5).u8(0).within(0.75)         # t0 = 0, t1 = t0 + 1.5
    for i in range(2):
        w.u8(0).within(0.6 + 0.1 * i)         # y0
    w.u8(0).u8(6).u8(levy)                   # the right tree, tol = span 2^-10
    w.b += struct.pack("<Q", 2024)
    w.u8(0).u8(method % N_SDE_METHODS)
    if adaptive:
        w.u8(200).within(0.3).within(0.3)
    else:
        w.u8(0).u8(49)                       # dt0 = (t1 - t0)/50
    w.u16(1999)
    w.u8(0).u8(nts)                          # sorted (read first), then the count
    for i in range(nts):
        w.within((i + 1) / (nts + 1.0))
    w.u8(0)                                  # no step_ts
    w.u8(jumps)
    for i in range(jumps):
        w.within(0.3 + 0.3 * i)
    w.u8(save).u8(kind).u8(checkpoints).u8(0).u8(0)
    for i in range(2 * 4):
        w.within(0.5 + 0.05 * i)             # cotangents
    return bytes(w.b)


def sde_adjoint_seeds():
    """Each SDE method on the noise kinds and calculus it solves, with the adjoint kinds
    that differentiate it (constant steps, adaptive where it has an estimate), plus the
    refusals: a missing VJP, an unknown kind."""
    # name index: (noise kinds, stratonovich, adjoint kinds, adaptive)
    table = {0: ((0, 1, 2), 0, (0,), 0), 1: ((0,), 0, (0,), 0), 2: ((0, 1, 2), 1, (0, 1), 0),
             3: ((0, 1, 2), 1, (0, 1), 0), 4: ((1,), 1, (0,), 0), 5: ((1,), 1, (0,), 1),
             6: ((1,), 1, (0,), 1), 7: ((0, 2), 1, (0, 1), 0), 8: ((0, 1, 2), 1, (0, 1), 1),
             9: ((0, 2), 1, (0, 1), 0), 10: ((0, 1, 2), 1, (2, 1), 1)}
    out = []
    for m, (noises, strat, kinds, adaptive) in sorted(table.items()):
        for q, noise in enumerate(noises):
            kind = kinds[q % len(kinds)]
            out.append(sde_adjoint_seed(noise, 2, 2 if noise else 2, strat=strat, method=m, adaptive=0, kind=kind,
                                        nts=(m + q) % 3, jumps=q % 2, save=(m + q) % 4,
                                        checkpoints=60 if q else 100 + m, levy=1 + (m + q) % 2))
        for kind in kinds[1:]:
            out.append(sde_adjoint_seed(noises[-1], 1, 1, strat=strat, method=m, kind=kind, nts=2))
        if adaptive:
            out.append(sde_adjoint_seed(noises[0], 2, 2, strat=strat, method=m, adaptive=1, kind=kinds[0], save=2))
    out.append(sde_adjoint_seed(vjps=242, method=3))      # no drift VJP
    out.append(sde_adjoint_seed(vjps=240, method=3))      # no diffusion VJP
    out.append(sde_adjoint_seed(kind=255, method=3))      # an unknown kind
    out.append(sde_adjoint_seed(method=0, strat=1))       # Itô method, Stratonovich SDE: refused
    return out

def main():
    write("fuzz_sde_adjoint", sde_adjoint_seeds())
    write("fuzz_brownian", brownian_seeds())
    write("fuzz_nn", nn_seeds())
    write("fuzz_sde", sde_seeds())
    write("fuzz_path", path_seeds())
    write("fuzz_adjoint", adjoint_seeds())
    write("fuzz_ode_solve", ode_seeds())
    write("fuzz_stepper", stepper_seeds())
    write("fuzz_schedule", schedule_seeds())
    write("fuzz_sampler", sampler_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
