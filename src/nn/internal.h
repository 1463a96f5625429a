/* Private: the nn layer. mlp.c holds the MLP (layers, activations, norms, forward, VJP,
 * JVP, initialisation) and the ODE field glue; optim.c the optimisers, schedules and
 * losses; params.c the parameter files. */
#ifndef NDE_SRC_NN_INTERNAL_H
#define NDE_SRC_NN_INTERNAL_H

#include "nde/nn.h"
#include "core/internal.h"

struct nde_mlp {
    nde_allocator al;
    size_t n_layers;        /* L */
    size_t *w;              /* L + 1 widths */
    size_t *off;            /* L + 1: off[l - 1] is layer l's first parameter; off[L] = np */
    int act, out_act, norm;
    double eps;
    size_t max_batch, max_width, np;
    double *theta;          /* np */
    /* workspace, max_batch rows: per layer l = 1..L (index l - 1) its pre-activation z,
     * normalised pre-activation (norm layers only, else = z) and activation h, of the
     * current cache slot: rows of zs, nzs, hs (n_slots x L pointers) */
    double **z, **nz, **h;
    /* the activation cache: slot s holds the forward pass at the input xs + s B w[0]
     * (slot_batch[s] rows; 0: empty) under the parameters in snap; a change of the
     * parameters empties every slot */
    size_t n_slots, next_slot;
    double **zs, **nzs, **hs;
    double *xs, *snap;
    size_t *slot_batch;
    double *ga, *gb;        /* max_batch x max_width: cotangents / tangents, ping-pong */
    double *xin, *gxin;     /* max_batch x w[0]: the field's input with t, its cotangent */
    size_t struct_bytes, work_bytes;
    void *work;
};

/* Layer l's (1-based) parameters inside theta. */
static inline double *nde__nn_W(const nde_mlp *m, double *theta, size_t l) { return theta + m->off[l - 1]; }
static inline double *nde__nn_b(const nde_mlp *m, double *theta, size_t l)
{
    return theta + m->off[l - 1] + m->w[l] * m->w[l - 1];
}
/* gain (and norm bias after it) of hidden layer l < L with a norm */
static inline double *nde__nn_g(const nde_mlp *m, double *theta, size_t l)
{
    return theta + m->off[l - 1] + m->w[l] * m->w[l - 1] + m->w[l];
}
static inline int nde__nn_has_norm(const nde_mlp *m, size_t l)
{
    return m->norm != NDE_NORM_NONE && l < m->n_layers;
}

#endif
