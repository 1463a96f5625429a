// bench/peer_stiff_boost.cpp — Boost.Odeint's rosenbrock4 (Kaps-Rentrop / Shampine's
// coefficients, the controlled stepper of integrate_adaptive) behind the C interface of
// bench_stiff.c, on the zoo's right-hand sides and Jacobians (dense ublas matrices, the
// only kind rosenbrock4 takes). df/dt = 0: every bench problem is autonomous.
#include <boost/numeric/odeint.hpp>

#include <cstring>
#include <vector>

extern "C" {
#include "zoo.h"
int stiff_boost_rosenbrock4(const zoo_problem *p, double rtol, double atol, double *y, long *steps,
                            long *rejected, long *nfe, long *njac, long max_attempts);
}

namespace {
typedef boost::numeric::ublas::vector<double> vec;
typedef boost::numeric::ublas::matrix<double> mat;

struct counts { long nfe = 0, njac = 0, steps = 0, rejected = 0; };

struct stiff_system {
    const zoo_problem *p;
    counts *c;
    void operator()(const vec &x, vec &dxdt, double t) const
    {
        c->nfe++;
        p->f(t, &x.data()[0], &dxdt.data()[0], p->user);
    }
};
struct stiff_jacobian {
    const zoo_problem *p;
    counts *c;
    mutable std::vector<double> J;
    void operator()(const vec &x, mat &Jm, double t, vec &dfdt) const
    {
        c->njac++;
        const size_t n = p->dim;
        J.resize(n * n);
        p->jac(t, &x.data()[0], J.data(), p->user);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++) Jm(i, j) = J[i * n + j];
            dfdt[i] = 0.0;
        }
    }
};
}  // namespace

int stiff_boost_rosenbrock4(const zoo_problem *p, double rtol, double atol, double *y, long *steps, long *rejected,
                            long *nfe, long *njac, long max_attempts)
{
    using namespace boost::numeric::odeint;
    counts c;
    vec x(p->dim);
    for (size_t i = 0; i < p->dim; i++) x[i] = y[i];
    try {
        auto stepper = make_controlled<rosenbrock4<double>>(atol, rtol);
        auto sys = std::make_pair(stiff_system{p, &c}, stiff_jacobian{p, &c, {}});
        // integrate_adaptive's loop with a step limit: dt0 1e-6 of the span (Boost has no
        // automatic initial step), every step clipped to end at t1
        double t = p->t0, dt = 1e-6 * (p->t1 - p->t0);
        long attempts = 0;
        while (t < p->t1) {
            if (++attempts > max_attempts) return -1;
            if (t + dt > p->t1) dt = p->t1 - t;
            if (stepper.try_step(sys, x, t, dt) == success) c.steps++;
            else c.rejected++;
        }
    } catch (...) {
        return -1;
    }
    for (size_t i = 0; i < p->dim; i++) y[i] = x[i];
    *steps = c.steps;
    *rejected = c.rejected;
    *nfe = c.nfe;
    *njac = c.njac;
    return 0;
}
