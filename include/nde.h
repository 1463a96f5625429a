/* nde.h — umbrella header: differential equations for machine learning, in C.
 * Modules: core (status, allocator, stats), ode (explicit Runge-Kutta methods, step
 * control, dense output, events), random (counter-based uniforms and normals),
 * brownian (virtual Brownian tree with Lévy areas), diffusion (diffusion-model samplers),
 * nn (MLPs, optimisers and losses for neural differential equations). */
#ifndef NDE_H
#define NDE_H
#include "nde/core.h"
#include "nde/random.h"
#include "nde/brownian.h"
#include "nde/ode.h"
#include "nde/adjoint.h"
#include "nde/diffusion.h"
#include "nde/nn.h"
#endif
