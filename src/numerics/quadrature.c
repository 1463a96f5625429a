/* Quadrature rules on [-1, 1] as static tables. */
#include "numerics/internal.h"

/* 3-point Gauss-Legendre: nodes 0, +-sqrt(3/5), weights 8/9, 5/9. */
static const double gl3_x[3] = { -0.7745966692414834, 0.0, 0.7745966692414834 };
static const double gl3_w[3] = { 5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0 };

/* 8-point Gauss-Legendre (Abramowitz & Stegun, Table 25.4). */
static const double gl8_x[8] = { -0.9602898564975363, -0.7966664774136267, -0.5255324099163290,
                                 -0.1834346424956498, 0.1834346424956498, 0.5255324099163290,
                                 0.7966664774136267, 0.9602898564975363 };
static const double gl8_w[8] = { 0.1012285362903763, 0.2223810344533745, 0.3137066458778873,
                                 0.3626837833783620, 0.3626837833783620, 0.3137066458778873,
                                 0.2223810344533745, 0.1012285362903763 };

static const nde__num_rule gauss_legendre[] = {
    { 3, gl3_x, gl3_w },
    { 8, gl8_x, gl8_w },
};

const nde__num_rule *nde__num_gauss_legendre(int n)
{
    for (size_t i = 0; i < sizeof gauss_legendre / sizeof gauss_legendre[0]; i++)
        if (gauss_legendre[i].n == n) return &gauss_legendre[i];
    return NULL;
}
