/* nde.h — umbrella header: differential equations for machine learning, in C.
 * Modules: core (status, allocator, stats), ode (Runge-Kutta methods, step control,
 * dense output, events), random (counter-based uniforms and normals), brownian
 * (virtual Brownian tree with Lévy areas), sde (stochastic Runge-Kutta solvers),
 * langevin (underdamped Langevin solvers), adjoint (gradients through solves), cde
 * (control paths, controlled differential equations), nn (MLPs, optimisers and losses
 * for neural differential equations), diffusion (diffusion-model samplers). */
#ifndef NDE_H
#define NDE_H
#include "nde/core.h"
#include "nde/random.h"
#include "nde/brownian.h"
#include "nde/ode.h"
#include "nde/sde.h"
#include "nde/langevin.h"
#include "nde/adjoint.h"
#include "nde/cde.h"
#include "nde/diffusion.h"
#include "nde/nn.h"
#endif
