/* The sampler registry: one constant descriptor per sampler, shared by the listing
 * (nde_sampler_*), option validation (options.c) and dispatch (sampler.c). Every
 * property the rest of the module asks about is a field here: nothing compares runner
 * pointers or sampler names. */
#include "diffusion/internal.h"

#include <string.h>

#define M_ONLY(m) NDE__DIFF_M_BIT(NDE__DIFF_M_##m)

/* Descriptor fields as in internal.h; info is { name, description, order_min,
 * order_max, order_default, then its flags by name }. Omitted fields are 0: rule 0, no
 * tilde coordinates, no noise, eta 0, not binary, no thresholding, no step minimum, no
 * Taylor order-2 rule, one NFE per step, no order shift, no D2 term, no order cap. */
static const nde__diff_sampler samplers[] = {
    { .info = { "ddim", "DDIM (Song, Meng, Ermon 2021) with eta; eta 0 is DPM-Solver-1",
                1, 1, 1, .stochastic = 0, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_ddim, .methods = M_ONLY(MULTISTEP), .nbuf = 3,
      .noise = NDE__DIFF_NOISE_ETA, .eta_default = 0.0, .thresholds = 1 },
    { .info = { "dpmsolver",
                "DPM-Solver, noise form (Lu et al. 2022): multistep, singlestep "
                "(DPM-Solver-fast), singlestep_fixed, adaptive; multistep order 3 "
                "converges at order 2 (reference D2 weight)",
                1, 3, 2, .stochastic = 0, .data_form = 0, .has_singlestep = 1 },
      .run = nde__diff_run_dpm, .methods = NDE__DIFF_M_ALL, .nbuf = 7,
      .steps_min_order = 1, .nfe = NDE__DIFF_NFE_ORDER, .d2_weight = NDE__DIFF_D2_REFERENCE },
    { .info = { "dpmsolver++",
                "DPM-Solver++, data form (Lu et al. 2022): 2M/3M multistep, 2S/3S "
                "singlestep, adaptive; 3M converges at order 2 (see dpmpp_3m)",
                1, 3, 2, .stochastic = 0, .data_form = 1, .has_singlestep = 1 },
      .run = nde__diff_run_dpm, .methods = NDE__DIFF_M_ALL, .nbuf = 7, .thresholds = 1,
      .steps_min_order = 1, .nfe = NDE__DIFF_NFE_ORDER, .d2_weight = NDE__DIFF_D2_REFERENCE },
    { .info = { "dpmsolver_adaptive",
                "DPM-Solver-12/23 adaptive step in lambda (Lu et al. 2022)",
                2, 3, 3, .stochastic = 0, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_dpm, .methods = M_ONLY(ADAPTIVE), .nbuf = 7,
      .nfe = NDE__DIFF_NFE_ORDER },
    { .info = { "dpmsolver++_adaptive",
                "DPM-Solver++ adaptive (data form of DPM-Solver-12/23)",
                2, 3, 3, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpm, .methods = M_ONLY(ADAPTIVE), .nbuf = 7, .thresholds = 1,
      .nfe = NDE__DIFF_NFE_ORDER },
    { .info = { "dpmpp_2m",
                "DPM-Solver++(2M) (k-diffusion/A1111 name of dpmsolver++ multistep 2)",
                2, 2, 2, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpm, .methods = M_ONLY(MULTISTEP), .nbuf = 7, .thresholds = 1,
      .steps_min_order = 1 },
    { .info = { "dpmpp_3m",
                "DPM-Solver++(3M) with the Taylor-consistent D2 weight 2 phi_3 (order "
                "3; the reference 3M is order 2)",
                3, 3, 3, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpm, .methods = M_ONLY(MULTISTEP), .nbuf = 7, .thresholds = 1,
      .steps_min_order = 1, .d2_weight = NDE__DIFF_D2_TAYLOR },
    { .info = { "dpmsolver++_sde",
                "SDE-DPM-Solver++ multistep (diffusers sde-dpmsolver++), eta as "
                "k-diffusion; order 3 converges at order 2 (reference D2 weight)",
                1, 3, 2, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpm_sde, .methods = M_ONLY(MULTISTEP), .nbuf = 4,
      .noise = NDE__DIFF_NOISE_SDE, .eta_default = 1.0, .thresholds = 1,
      .steps_min_order = 1, .d2_weight = NDE__DIFF_D2_REFERENCE },
    { .info = { "dpmpp_2m_sde", "DPM++ 2M SDE (k-diffusion sample_dpmpp_2m_sde)",
                2, 2, 2, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpm_sde, .methods = M_ONLY(MULTISTEP), .nbuf = 4,
      .noise = NDE__DIFF_NOISE_SDE, .eta_default = 1.0, .thresholds = 1,
      .steps_min_order = 1 },
    { .info = { "dpmpp_3m_sde",
                "DPM++ 3M SDE (k-diffusion sample_dpmpp_3m_sde); converges at order 2 "
                "(reference D2 weight)",
                3, 3, 3, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpm_sde, .methods = M_ONLY(MULTISTEP), .nbuf = 4,
      .noise = NDE__DIFF_NOISE_SDE, .eta_default = 1.0, .thresholds = 1,
      .steps_min_order = 1, .taylor_order2 = 1, .d2_weight = NDE__DIFF_D2_REFERENCE },
    { .info = { "dpmsolver_sde", "SDE-DPM-Solver, noise form (diffusers sde-dpmsolver)",
                1, 2, 2, .stochastic = 1, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_dpm_sde, .methods = M_ONLY(MULTISTEP), .nbuf = 4,
      .noise = NDE__DIFF_NOISE_SDE, .eta_default = 1.0, .eta_binary = 1,
      .steps_min_order = 1 },
    { .info = { "unipc",
                "UniPC: UniP-p predictor + UniC corrector, data form (Zhao et al. 2023)",
                1, 3, 2, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_unipc, .methods = M_ONLY(MULTISTEP), .nbuf = 6, .thresholds = 1,
      .steps_min_order = 1, .order_shift = 1 },
    { .info = { "unipc_noise", "UniPC in the noise-prediction form",
                1, 3, 2, .stochastic = 0, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_unipc, .methods = M_ONLY(MULTISTEP), .nbuf = 6,
      .steps_min_order = 1, .order_shift = 1 },
    { .info = { "deis",
                "DEIS tAB: eps polynomial in t, exponential integrator (Zhang & Chen "
                "2023)",
                1, 4, 3, .stochastic = 0, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_eps_multistep, .rule = NDE__DIFF_EPS_DEIS,
      .methods = M_ONLY(MULTISTEP), .nbuf = 5 },
    { .info = { "ipndm",
                "improved PNDM: equal-step Adams-Bashforth on eps (Zhang & Chen 2023); "
                "orders 3, 4 converge at order 2 on non-uniform grids",
                1, 4, 4, .stochastic = 0, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_eps_multistep, .rule = NDE__DIFF_EPS_IPNDM,
      .methods = M_ONLY(MULTISTEP), .nbuf = 5, .order_cap = 2 },
    { .info = { "lms", "linear multistep in sigma/alpha (k-diffusion sample_lms)",
                1, 4, 4, .stochastic = 0, .data_form = 0, .has_singlestep = 0 },
      .run = nde__diff_run_eps_multistep, .rule = NDE__DIFF_EPS_LMS,
      .methods = M_ONLY(MULTISTEP), .nbuf = 5 },
    { .info = { "euler", "EDM Euler with churn (Karras et al. 2022, Alg. 2)",
                1, 1, 1, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_edm, .rule = NDE__DIFF_EDM_EULER, .methods = M_ONLY(MULTISTEP),
      .nbuf = 5, .needs_tilde = 1, .noise = NDE__DIFF_NOISE_CHURN, .thresholds = 1 },
    { .info = { "heun", "EDM Heun with churn (Karras et al. 2022, Alg. 2)",
                2, 2, 2, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_edm, .rule = NDE__DIFF_EDM_HEUN, .methods = M_ONLY(MULTISTEP),
      .nbuf = 5, .needs_tilde = 1, .noise = NDE__DIFF_NOISE_CHURN, .thresholds = 1,
      .nfe = NDE__DIFF_NFE_TWO },
    { .info = { "dpm2", "DPM2: midpoint in log sigma with churn (k-diffusion sample_dpm_2)",
                2, 2, 2, .stochastic = 0, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_edm, .rule = NDE__DIFF_EDM_DPM2, .methods = M_ONLY(MULTISTEP),
      .nbuf = 5, .needs_tilde = 1, .noise = NDE__DIFF_NOISE_CHURN, .thresholds = 1,
      .nfe = NDE__DIFF_NFE_TWO },
    { .info = { "euler_ancestral", "Euler ancestral (k-diffusion sample_euler_ancestral)",
                1, 1, 1, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_ancestral, .rule = NDE__DIFF_ANC_EULER,
      .methods = M_ONLY(MULTISTEP), .nbuf = 5, .needs_tilde = 1,
      .noise = NDE__DIFF_NOISE_ANCESTRAL, .eta_default = 1.0, .thresholds = 1 },
    { .info = { "dpm2_ancestral", "DPM2 ancestral (k-diffusion sample_dpm_2_ancestral)",
                2, 2, 2, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_ancestral, .rule = NDE__DIFF_ANC_DPM2,
      .methods = M_ONLY(MULTISTEP), .nbuf = 5, .needs_tilde = 1,
      .noise = NDE__DIFF_NOISE_ANCESTRAL, .eta_default = 1.0, .thresholds = 1,
      .nfe = NDE__DIFF_NFE_TWO_ANCESTRAL },
    { .info = { "dpmpp_2s_ancestral",
                "DPM++(2S) ancestral (k-diffusion sample_dpmpp_2s_ancestral)",
                2, 2, 2, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_ancestral, .rule = NDE__DIFF_ANC_2S,
      .methods = M_ONLY(MULTISTEP), .nbuf = 5, .needs_tilde = 1,
      .noise = NDE__DIFF_NOISE_ANCESTRAL, .eta_default = 1.0, .thresholds = 1,
      .nfe = NDE__DIFF_NFE_TWO_ANCESTRAL },
    { .info = { "dpmpp_sde", "DPM++ SDE, singlestep r = 1/2 (k-diffusion sample_dpmpp_sde)",
                2, 2, 2, .stochastic = 1, .data_form = 1, .has_singlestep = 0 },
      .run = nde__diff_run_dpmpp_sde, .methods = M_ONLY(MULTISTEP), .nbuf = 5,
      .needs_tilde = 1, .noise = NDE__DIFF_NOISE_BRIDGE, .eta_default = 1.0,
      .thresholds = 1, .nfe = NDE__DIFF_NFE_TWO },
};
#define NDE__DIFF_NSAMPLERS (sizeof samplers / sizeof samplers[0])
_Static_assert(NDE__DIFF_NSAMPLERS > 0, "sampler table");

size_t nde_sampler_count(void) { return NDE__DIFF_NSAMPLERS; }

const nde_sampler_info *nde_sampler_at(size_t i)
{
    return i < NDE__DIFF_NSAMPLERS ? &samplers[i].info : NULL;
}

const nde__diff_sampler *nde__diff_sampler_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < NDE__DIFF_NSAMPLERS; i++)
        if (strcmp(samplers[i].info.name, name) == 0) return &samplers[i];
    return NULL;
}

const nde_sampler_info *nde_sampler_find(const char *name)
{
    const nde__diff_sampler *s = nde__diff_sampler_find(name);
    return s ? &s->info : NULL;
}

static const nde__diff_sampler *from_info(const nde_sampler_info *si)
{
    for (size_t i = 0; i < NDE__DIFF_NSAMPLERS; i++)
        if (&samplers[i].info == si) return &samplers[i];
    return NULL;
}

int nde__diff_default_method(const nde__diff_sampler *smp, int multistep)
{
    unsigned m = smp->methods;
    if ((m & (m - 1)) == 0) {                  /* a single method */
        int k = 0;
        while (!(m & 1u)) { m >>= 1; k++; }
        return k;
    }
    return multistep ? NDE__DIFF_M_MULTISTEP : NDE__DIFF_M_SINGLESTEP;
}

/* The measured convergence order of the ODE part (test_measured_orders checks every
 * entry on the closed-form single-Gaussian flow). Multistep order 3 with the reference's
 * weight of D2 (DPM-Solver, DPM-Solver++, the SDE variants and k-diffusion's 3M SDE;
 * solvers.c ms_update) leaves an O(h^3) local error: order 2. dpmpp_3m (weight 2) is
 * third order; singlestep order 3 too. */
int nde__diff_conv_order(const nde__diff_sampler *smp, int order, int method)
{
    int p = order + smp->order_shift;
    if (order == 3 && method == NDE__DIFF_M_MULTISTEP
        && smp->d2_weight == NDE__DIFF_D2_REFERENCE)
        p = 2;
    if (smp->order_cap > 0 && p > smp->order_cap) p = smp->order_cap;
    return p;
}

int nde_sampler_convergence_order(const nde_sampler_info *si, int order, int multistep)
{
    const nde__diff_sampler *s = from_info(si);
    if (!s) return 0;
    if (order <= 0) order = si->order_default;
    if (order < si->order_min) order = si->order_min;
    if (order > si->order_max) order = si->order_max;
    return nde__diff_conv_order(s, order, nde__diff_default_method(s, multistep));
}

int nde_sampler_nfe_per_step(const nde_sampler_info *si, int order, int multistep)
{
    const nde__diff_sampler *s = from_info(si);
    if (!s) return 0;
    if (order <= 0) order = si->order_default;
    switch (s->nfe) {
    case NDE__DIFF_NFE_TWO: case NDE__DIFF_NFE_TWO_ANCESTRAL: return 2;
    case NDE__DIFF_NFE_ORDER:
        return nde__diff_default_method(s, multistep) == NDE__DIFF_M_MULTISTEP ? 1 : order;
    default: return 1;
    }
}
