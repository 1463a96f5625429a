/* nde.h — umbrella header: differential equations for machine learning, in C.
 * Modules: core (status, allocator, stats), ode (explicit Runge-Kutta methods, step
 * control, dense output, events), diffusion (diffusion-model samplers). */
#ifndef NDE_H
#define NDE_H
#include "nde/core.h"
#include "nde/ode.h"
#include "nde/diffusion.h"
#endif
