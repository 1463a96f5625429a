/* Quadrature rules on [-1, 1] as static tables. */
#include "numerics/internal.h"

/* 3-point Gauss-Legendre: nodes 0, +-sqrt(3/5), weights 8/9, 5/9. */
static const double gl3_x[3] = { -0.7745966692414834, 0.0, 0.7745966692414834 };
static const double gl3_w[3] = { 5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0 };

/* 8-point Gauss-Legendre (Abramowitz & Stegun, Table 25.4): the double nearest to each
 * exact value (computed at 50 digits), written %.17g; test_numerics checks the rounding. */
static const double gl8_x[8] = { -0.96028985649753629, -0.79666647741362673, -0.52553240991632899,
                                 -0.18343464249564981, 0.18343464249564981, 0.52553240991632899,
                                 0.79666647741362673, 0.96028985649753629 };
static const double gl8_w[8] = { 0.10122853629037626, 0.22238103445337448, 0.31370664587788727,
                                 0.36268378337836199, 0.36268378337836199, 0.31370664587788727,
                                 0.22238103445337448, 0.10122853629037626 };

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
