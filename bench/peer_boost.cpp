// bench/peer_boost.cpp — Boost.Odeint behind the benchmark interface.
//
// Usage as the odeint documentation shows it: std::vector<double> state,
// make_controlled / make_dense_output generators (default error checker:
// err_i / (atol + rtol (|x_i| + dt |dxdt_i|)), max norm) and integrate_adaptive, which
// ends exactly at t1. Odeint has no automatic initial step; every solve computes one
// with the Hairer-Norsett-Wanner algorithm (bench_initial_step, timed), as for GSL.
// The system functor calls the problem's C right-hand side on the vectors' data.
#include "bench.h"

#include <boost/numeric/odeint.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <vector>

namespace odeint = boost::numeric::odeint;
typedef std::vector<double> state;

namespace {

enum { DOPRI5_CTRL, DOPRI5_DENSE, RKF78_CTRL };

struct boost_ctx {
    const bench_spec *sp;
    int id, order;
    std::vector<double> y0;
    long counted;
};

struct system_fn {
    const bench_problem *p;
    long *count;   // NULL in timed runs
    void operator()(const state &x, state &dxdt, double t) const
    {
        if (count) ++*count;
        p->f(t, x.data(), dxdt.data(), p->user);
    }
};

struct counting_c_rhs {
    static int call(double t, const double *y, double *dy, void *u)
    {
        boost_ctx *c = static_cast<boost_ctx *>(u);
        c->counted++;
        return c->sp->p->f(t, y, dy, c->sp->p->user);
    }
};

// integrate_adaptive's loop for controlled steppers, also counting rejected tries
// (used only by the untimed counting run, to report rejections).
template <class Stepper>
long counted_adaptive(Stepper st, const system_fn &sys, state &x, double t, double t1,
                      double dt, long *rejected)
{
    const double eps = std::numeric_limits<double>::epsilon();   // as odeint's less_with_sign
    long count = 0;
    while (t1 - t > eps) {
        if (t + dt - t1 > eps) dt = t1 - t;
        odeint::controlled_step_result res;
        int fails = 0;
        do {
            res = st.try_step(sys, x, t, dt);
            if (res == odeint::fail) { ++*rejected; if (++fails > 500) throw std::runtime_error("step size"); }
        } while (res == odeint::fail);
        ++count;
    }
    return count;
}

template <class Stepper>
long run_controlled(const Stepper &base, const boost_ctx *c, const system_fn &sys, state &x,
                    double dt, long *rejected, bool count)
{
    const bench_spec *sp = c->sp;
    const bench_problem *p = sp->p;
    if (sp->hfixed > 0.0) {
        const size_t n = (size_t)std::llround((p->t1 - p->t0) / sp->hfixed);
        odeint::integrate_n_steps(base, sys, x, p->t0, sp->hfixed, n);   // returns the end time
        return (long)n;
    }
    if (sp->hmax > 0.0) {
        auto st = odeint::make_controlled(sp->atol, sp->rtol, sp->hmax, base);
        if (count) return counted_adaptive(st, sys, x, p->t0, p->t1, dt, rejected);
        return (long)odeint::integrate_adaptive(st, sys, x, p->t0, p->t1, dt);
    }
    auto st = odeint::make_controlled(sp->atol, sp->rtol, base);
    if (count) return counted_adaptive(st, sys, x, p->t0, p->t1, dt, rejected);
    return (long)odeint::integrate_adaptive(st, sys, x, p->t0, p->t1, dt);
}

void *boost_setup(const bench_solver *s, const bench_spec *sp, char *msg, size_t msgsize)
{
    if (s->id == DOPRI5_DENSE && sp->hfixed > 0.0) {
        std::snprintf(msg, msgsize, "no fixed-step dense output");
        return NULL;
    }
    boost_ctx *c = new boost_ctx;
    c->sp = sp;
    c->id = s->id;
    c->order = s->order;
    c->y0.assign(sp->p->dim, 0.0);
    zoo_y0(sp->p, c->y0.data());
    c->counted = 0;
    return c;
}

int boost_solve(void *ctx, double *y, bench_out *o, int count)
{
    boost_ctx *c = static_cast<boost_ctx *>(ctx);
    const bench_spec *sp = c->sp;
    const bench_problem *p = sp->p;
    c->counted = 0;
    system_fn sys = { p, count ? &c->counted : NULL };
    state x(c->y0);
    long steps = 0, rejected = count ? 0 : -1;
    try {
        double dt = 0.0;
        if (sp->hfixed <= 0.0) {
            dt = count ? bench_initial_step(counting_c_rhs::call, c, p->dim, p->t0, p->t1, x.data(),
                                            c->order, sp->rtol, sp->atol, NULL)
                       : bench_initial_step(p->f, p->user, p->dim, p->t0, p->t1, x.data(),
                                            c->order, sp->rtol, sp->atol, NULL);
            if (sp->hmax > 0.0 && dt > sp->hmax) dt = sp->hmax;
        }
        switch (c->id) {
        case DOPRI5_CTRL:
            steps = run_controlled(odeint::runge_kutta_dopri5<state>(), c, sys, x, dt, &rejected,
                                   count != 0);
            break;
        case RKF78_CTRL:
            steps = run_controlled(odeint::runge_kutta_fehlberg78<state>(), c, sys, x, dt, &rejected,
                                   count != 0);
            break;
        case DOPRI5_DENSE:
            if (sp->hmax > 0.0) {
                auto st = odeint::make_dense_output(sp->atol, sp->rtol, sp->hmax,
                                                    odeint::runge_kutta_dopri5<state>());
                steps = (long)odeint::integrate_adaptive(st, sys, x, p->t0, p->t1, dt);
            } else {
                auto st = odeint::make_dense_output(sp->atol, sp->rtol,
                                                    odeint::runge_kutta_dopri5<state>());
                steps = (long)odeint::integrate_adaptive(st, sys, x, p->t0, p->t1, dt);
            }
            rejected = -1;   // hidden inside do_step
            break;
        }
        o->ok = 1;
    } catch (const std::exception &e) {
        o->ok = 0;
        std::snprintf(o->msg, sizeof o->msg, "odeint: %s", e.what());
    }
    std::memcpy(y, x.data(), p->dim * sizeof *y);
    o->steps = steps;
    o->rejected = rejected;
    o->nfe = count ? c->counted : -1;
    return o->ok ? 0 : -1;
}

void boost_teardown(void *ctx) { delete static_cast<boost_ctx *>(ctx); }

const bench_solver boost_solvers[] = {
    { "boost", "dopri5_ctrl", 5, BENCH_FIXED, DOPRI5_CTRL, boost_setup, boost_solve, boost_teardown },
    { "boost", "dopri5_dense", 5, 0, DOPRI5_DENSE, boost_setup, boost_solve, boost_teardown },
    { "boost", "rkf78_ctrl", 8, BENCH_FIXED, RKF78_CTRL, boost_setup, boost_solve, boost_teardown },
};

}  // namespace

extern "C" size_t bench_boost_solvers(const bench_solver **list)
{
    *list = boost_solvers;
    return sizeof boost_solvers / sizeof boost_solvers[0];
}
