"""Hidden physiology of ``MedSepsis``: patient parameters, the latent state and its dynamics.

The latent state (infection burden ``b``, intravascular volume deviation ``vol``, vascular tone
``tone``, kidney function ``k``, lung injury ``lung``, true lactate ``lac`` and creatinine ``cr``)
is integrated with Euler-Maruyama sub-steps of 15 minutes. The sub-step loop works on plain Python
floats: at 16 sub-steps per 4-h step this is several times faster than small numpy arrays.
Every form is monotone and saturating, so treatments act in the expected direction
(see ``docs/medical.md`` for the equations).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from stori_envs.medical.config import DOSE_EPS_FRACTION, VASO_MAX, MedSepsisParams

SUBSTEP_HOURS = 0.25
#: Latent variables that receive process noise, in the order of ``MedSepsisParams.process_sd``.
LATENT_NAMES = ("b", "vol", "tone", "k", "lung", "lac", "cr")
N_LATENT = len(LATENT_NAMES)
RANGES = {"b": (0.0, 1.0), "vol": (-4.0, 6.0), "tone": (0.3, 1.2), "k": (0.0, 1.0), "lung": (0.0, 1.0),
          "lac": (0.5, 25.0), "cr": (0.3, 15.0)}
VASO_EPS = DOSE_EPS_FRACTION * VASO_MAX
_K_FLOOR = 0.05  # creatinine target Cr_base / max(K, floor): finite when the kidney has failed


@dataclass(slots=True)
class Patient:
    """Per-patient parameters θ, drawn at reset (fixed for the episode)."""

    patient_id: int
    weight: float
    age: float
    map0: float
    hr0: float
    heart_failure: bool
    ckd: bool
    frail: bool
    k0: float
    r_g: float
    r_abx: float
    k_leak: float
    rho: float
    kappa: float
    tau: float
    k_cl: float
    r_k: float
    ec50: float
    emax: float

    def resistant(self, params: MedSepsisParams) -> Patient:
        """The same patient infected by a resistant strain (drift concept ``resistant_strain``)."""
        return replace(self, ec50=self.ec50 * params.resistant_ec50, k_leak=self.k_leak * params.resistant_leak,
                       r_abx=self.r_abx * params.resistant_abx)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class State:
    """The hidden state plus charted bookkeeping (fluid balance since admission, last step's urine)."""

    b: float
    vol: float
    tone: float
    k: float
    lung: float
    lac: float
    cr: float
    balance: float = 0.0   # L since admission (in - urine out)
    urine: float = 0.0     # mL/kg/h averaged over the last step
    af_hours: float = 0.0  # remaining hours of atrial fibrillation (type 2.1 event)

    def to_dict(self) -> dict:
        return asdict(self)


def _lognormal_sigma(cv: float) -> float:
    return math.sqrt(math.log1p(cv * cv))


#: Variates the ``patient`` stream draws per admission (fixed, whatever the patient).
N_PATIENT_UNIFORMS = 10
N_PATIENT_NORMALS = 13


def burn_in_substeps(params: MedSepsisParams) -> int:
    return int(round(params.burn_in_hours / SUBSTEP_HOURS))


def sample_patient(rng: np.random.Generator, params: MedSepsisParams, *, frail: bool = False,
                   process_noise: float = 1.0, urine_window_hours: float = 4.0) -> tuple[Patient, State]:
    """Draw θ and the admission state: onset values, then an untreated burn-in of U(0, 12) h.

    Always draws the same number of variates (so the stream stays aligned across patients). A
    ``frail`` patient (drift concept ``frail_cohort``) is built from the same draws: older and more
    often with heart failure or chronic kidney disease.
    """
    pid = int(rng.integers(0, 2**63 - 1))
    u = rng.random(N_PATIENT_UNIFORMS).tolist()
    z = rng.standard_normal(N_PATIENT_NORMALS).tolist()
    n_burn_max = burn_in_substeps(params)
    burn_noise = rng.standard_normal(n_burn_max * N_LATENT).tolist()
    p = params

    lo = p.frail_age_low if frail else p.age_low
    age = lo + (p.age_high - lo) * u[0]
    p_hf = p.frail_p_comorbid if frail else p.p_heart_failure
    p_ckd = p.frail_p_comorbid if frail else p.p_ckd
    hf, ckd = u[1] < p_hf, u[2] < p_ckd
    s = _lognormal_sigma(p.theta_cv)
    rate = lambda median, zi: median * math.exp(s * zi)  # noqa: E731
    k_base = (p.ckd_k0[0] + (p.ckd_k0[1] - p.ckd_k0[0]) * u[7]) if ckd else 1.0
    pat = Patient(
        patient_id=pid,
        weight=min(150.0, max(45.0, p.weight_mean + p.weight_sd * z[0])),
        age=age,
        map0=p.map0_mean + p.map0_sd * z[1],
        hr0=p.hr0_mean + p.hr0_sd * z[2],
        heart_failure=hf, ckd=ckd, frail=frail, k0=k_base,
        r_g=rate(p.r_g, z[3]), r_abx=rate(p.r_abx, z[4]), k_leak=rate(p.k_leak, z[5]),
        rho=min(0.95, rate(p.rho, z[6])), kappa=rate(p.kappa, z[7]), tau=rate(p.tau, z[8]),
        k_cl=rate(p.k_cl, z[9]), r_k=rate(p.r_k, z[10]), ec50=rate(p.ec50, z[11]), emax=rate(p.emax, z[12]),
    )
    span = lambda bounds, ui: bounds[0] + (bounds[1] - bounds[0]) * ui  # noqa: E731
    b = span(p.burden0, u[3])
    vol = span(p.volume0, u[4])
    tone = span(p.tone0, u[5])
    k = max(0.0, k_base - span(p.kidney_drop0, u[6]))
    lung = span(p.lung0, u[8])
    # Lactate and creatinine start at their equilibria for the onset state; the burn-in moves them.
    m = mean_arterial_pressure(pat, p, tone, vol, 0.0, 0.0)
    lac = 1.0 + (p.p_hypoperfusion * max(65.0 - m, 0.0) + p.p_burden * b) / pat.k_cl
    state = State(b, vol, tone, k, lung, lac, p.cr_base / max(k, _K_FLOOR))

    n_burn = int(round(u[9] * n_burn_max))
    window = min(n_burn, int(round(urine_window_hours / SUBSTEP_HOURS)))
    untreated = replace(pat, r_abx=0.0)  # antibiotics start at admission
    integrate(state, untreated, p, 0.0, 0.0, n_burn - window, burn_noise, process_noise)
    if window:
        state.urine = integrate(state, untreated, p, 0.0, 0.0, window,
                                burn_noise[(n_burn - window) * N_LATENT:], process_noise)
    else:
        state.urine = urine_rate(pat, p, state.k, mean_arterial_pressure(pat, p, state.tone, state.vol, 0.0, 0.0))
    state.balance = 0.0  # charted from admission
    return pat, state


def preload(pat: Patient, params: MedSepsisParams, vol: float) -> float:
    """Frank-Starling factor P(vol): a sigmoid, P(0) = 1, flat at high volume; falls beyond V_hf in heart failure."""
    mid, scale = params.preload_mid, params.preload_scale
    value = (1.0 + math.exp(mid / scale)) / (1.0 + math.exp(-(vol - mid) / scale))
    if pat.heart_failure and vol > params.hf_volume:
        value -= params.hf_slope * (vol - params.hf_volume)
    return value


def mean_arterial_pressure(pat: Patient, params: MedSepsisParams, tone: float, vol: float, dose: float,
                           offset: float) -> float:
    """MAP = MAP0 * (Tone + Emax d / (EC50 + d)) * P(Vol) + offset (atrial fibrillation)."""
    tone_eff = tone + pat.emax * dose / (pat.ec50 + dose)
    return pat.map0 * tone_eff * preload(pat, params, vol) + offset


def urine_rate(pat: Patient, params: MedSepsisParams, k: float, map_: float) -> float:
    """Urine output (mL/kg/h) = u_K * K * (MAP - 55)+."""
    return params.u_k * k * max(map_ - 55.0, 0.0)


def integrate(state: State, pat: Patient, params: MedSepsisParams, fluid_l_per_h: float, dose: float,
              n_sub: int, noise: list[float], noise_scale: float, map_offset: float = 0.0) -> float:
    """Advance ``state`` by ``n_sub`` sub-steps of 15 min under a constant fluid rate and vasopressor dose.

    ``noise`` holds at least ``n_sub * 7`` standard normals (process noise, scaled by ``noise_scale``).
    Returns the mean urine output (mL/kg/h) over the interval (the instantaneous one when n_sub = 0).
    """
    p = params
    h = SUBSTEP_HOURS
    sq = math.sqrt(h) * noise_scale
    sd_b, sd_v, sd_t, sd_k, sd_l, sd_lac, sd_cr = (sd * sq for sd in p.process_sd)
    b, vol, tone, k, lung, lac, cr, balance = (state.b, state.vol, state.tone, state.k, state.lung, state.lac,
                                               state.cr, state.balance)
    map0, emax, ec50, weight_l = pat.map0, pat.emax, pat.ec50, pat.weight / 1000.0
    r_g, r_abx, k_leak, rho, kappa, tau = pat.r_g, pat.r_abx, pat.k_leak, pat.rho, pat.kappa, pat.tau
    k_cl, r_k, k0 = pat.k_cl, pat.r_k, pat.k0
    vaso = emax * dose / (ec50 + dose)
    mid, scale = p.preload_mid, p.preload_scale
    top = 1.0 + math.exp(mid / scale)
    hf = pat.heart_failure
    hf_v, hf_s = p.hf_volume, p.hf_slope
    a_fluid = p.a_fluid * (p.hf_lung_factor if hf else 1.0)
    knee = p.fluid_knee
    u_k, p_h, p_b, k_inj = p.u_k, p.p_hypoperfusion, p.p_burden, p.k_kidney_injury
    lac_in = p.p_vaso * (dose - p.vaso_toxic) if dose > p.vaso_toxic else 0.0
    insensible_l = p.insensible * weight_l
    cr_rate = 1.0 / p.cr_hours
    a_b, r_l, cr_base = p.a_burden, p.r_lung, p.cr_base
    exp = math.exp
    urine_sum = 0.0
    i = 0
    for _ in range(n_sub):
        pre = top / (1.0 + exp(-(vol - mid) / scale))
        if hf and vol > hf_v:
            pre -= hf_s * (vol - hf_v)
        map_ = map0 * (tone + vaso) * pre + map_offset
        urine = u_k * k * (map_ - 55.0) if map_ > 55.0 else 0.0
        hypo = 65.0 - map_ if map_ < 65.0 else 0.0
        out_l = urine * weight_l
        db = r_g * b * (1.0 - b) - r_abx * b
        dvol = rho * fluid_l_per_h - k_leak * b - out_l
        dtone = kappa * (1.0 - tone) - tau * b * tone
        dk = -k_inj * hypo * k + (r_k * (k0 - k) if hypo == 0.0 else 0.0)
        dlac = p_h * hypo + p_b * b + lac_in - k_cl * (lac - 1.0)
        dcr = (cr_base / (k if k > _K_FLOOR else _K_FLOOR) - cr) * cr_rate
        over = balance - knee
        dlung = a_b * b + (a_fluid * over if over > 0.0 else 0.0) - r_l * lung
        balance += (fluid_l_per_h - out_l - insensible_l) * h
        urine_sum += urine
        b += db * h + sd_b * noise[i]
        vol += dvol * h + sd_v * noise[i + 1]
        tone += dtone * h + sd_t * noise[i + 2]
        k += dk * h + sd_k * noise[i + 3]
        lung += dlung * h + sd_l * noise[i + 4]
        lac += dlac * h + sd_lac * noise[i + 5]
        cr += dcr * h + sd_cr * noise[i + 6]
        i += N_LATENT
        b = 0.0 if b < 0.0 else (1.0 if b > 1.0 else b)
        vol = -4.0 if vol < -4.0 else (6.0 if vol > 6.0 else vol)
        tone = 0.3 if tone < 0.3 else (1.2 if tone > 1.2 else tone)
        k = 0.0 if k < 0.0 else (1.0 if k > 1.0 else k)
        lung = 0.0 if lung < 0.0 else (1.0 if lung > 1.0 else lung)
        lac = 0.5 if lac < 0.5 else (25.0 if lac > 25.0 else lac)
        cr = 0.3 if cr < 0.3 else (15.0 if cr > 15.0 else cr)
    state.b, state.vol, state.tone, state.k, state.lung, state.lac, state.cr = b, vol, tone, k, lung, lac, cr
    state.balance = balance
    if n_sub == 0:
        return urine_rate(pat, p, k, mean_arterial_pressure(pat, p, tone, vol, dose, map_offset))
    return urine_sum / n_sub


def spo2(params: MedSepsisParams, lung: float) -> float:
    """SpO2 (%) falls with lung injury: Lg = 0.5 gives 92 %."""
    return params.spo2_top - params.spo2_lin * lung - params.spo2_quad * lung * lung


def heart_rate(pat: Patient, params: MedSepsisParams, b: float, map_: float, dose: float, af: bool) -> float:
    """HR = HR0 + h_B B + h_M (65 - MAP)+ + h_d d (+30 in atrial fibrillation)."""
    return (pat.hr0 + params.h_burden * b + params.h_map * max(65.0 - map_, 0.0) + params.h_dose * dose
            + (params.af_hr if af else 0.0))


def sofa_score(map_: float, dose: float, creatinine: float, urine: float, weight: float, lung: float,
               burden: float) -> int:
    """SOFA = cardiovascular + renal + respiratory + systemic (0-24).

    Cardiovascular, renal and respiratory follow Vincent et al. (1996): MAP < 70 -> 1, norepinephrine
    (above 1 % of the maximum dose) <= 0.1 -> 3, > 0.1 µg/kg/min -> 4; creatinine 1.2/2.0/3.5/5.0 mg/dL
    or urine < 500 / < 200 mL/day -> 1-4; PaO2/FiO2 proxy 470 - 400 Lg below 400/300/200/100 -> 1-4.
    Systemic (a stand-in for CNS, liver and coagulation) = round(12 B).
    """
    if dose > 0.1:
        cardio = 4
    elif dose > VASO_EPS:
        cardio = 3
    else:
        cardio = 1 if map_ < 70.0 else 0
    renal = 4 if creatinine >= 5.0 else 3 if creatinine >= 3.5 else 2 if creatinine >= 2.0 else (
        1 if creatinine >= 1.2 else 0)
    per_day = urine * weight * 24.0
    if per_day < 200.0:
        renal = 4
    elif per_day < 500.0 and renal < 3:
        renal = 3
    pf = 470.0 - 400.0 * lung
    resp = 4 if pf < 100.0 else 3 if pf < 200.0 else 2 if pf < 300.0 else 1 if pf < 400.0 else 0
    return cardio + renal + resp + int(12.0 * burden + 0.5)


def lung_from_spo2(params: MedSepsisParams, saturation: float) -> float:
    """The lung injury that :func:`spo2` maps to ``saturation`` (its inverse, clipped to [0, 1])."""
    drop = params.spo2_top - saturation
    if drop <= 0.0:
        return 0.0
    a, b = params.spo2_quad, params.spo2_lin
    lung = drop / b if a == 0.0 else (math.sqrt(b * b + 4.0 * a * drop) - b) / (2.0 * a)
    return 1.0 if lung > 1.0 else lung


def burden_from_heart_rate(params: MedSepsisParams, hr: float, map_: float, dose: float) -> float:
    """The infection burden that explains a heart rate at the population's median HR0 (clipped to [0, 1]).

    Inverts :func:`heart_rate` without atrial fibrillation: B = (HR - HR0 - h_M (65 - MAP)+ - h_d d) / h_B.
    """
    if params.h_burden == 0.0:
        return 0.0
    b = (hr - params.hr0_mean - params.h_map * max(65.0 - map_, 0.0) - params.h_dose * dose) / params.h_burden
    return 0.0 if b < 0.0 else (1.0 if b > 1.0 else b)


def charted_sofa(params: MedSepsisParams, map_: float, hr: float, saturation: float, creatinine: float, urine: float,
                 weight: float, dose: float) -> int:
    """The SOFA a clinician computes from the chart: :func:`sofa_score` of charted values only.

    Cardiovascular and renal read the charted MAP, creatinine and urine and the *chosen* dose;
    the respiratory subscore reads lung injury off the charted SpO2 (:func:`lung_from_spo2`) and the
    systemic one the burden off the charted heart rate (:func:`burden_from_heart_rate`). So the
    charted SOFA carries no hidden state: it is noisy when the vitals are, and it stays put while a
    missing value is carried forward.
    """
    return sofa_score(map_, dose, creatinine, urine, weight, lung_from_spo2(params, saturation),
                      burden_from_heart_rate(params, hr, map_, dose))
