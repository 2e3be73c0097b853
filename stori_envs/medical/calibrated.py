"""Constants measured on the simulator by ``python benchmarks/medical_calibration.py --write-constants``.

Generated file: do not edit by hand; re-run the script after any change to the physiology or the
clinician policy (the tests check that these values still match a fresh clinician rollout).
"""

# Discrete dose levels (fractions of the maximum dose; ICU-Sepsis layout): edges between levels 1-4 are
# the quartiles of the clinician's non-zero doses, level values the medians inside each quartile.
FLUID_EDGES = (0.2113, 0.2735, 0.5007)
FLUID_LEVELS = (0.1783, 0.2408, 0.3226, 0.7956)
VASO_EDGES = (0.04918, 0.06821, 0.1859)
VASO_LEVELS = (0.04303, 0.05587, 0.1006, 0.5879)

# Clinician tier: mean number of steps per episode on which each cost component is active
# (order of COST_NAMES), for the 4-h/72-h default and the 1-h/48-h ogsrl_hypotension preset.
# cost_limit = sum_k w_k * mean_k.
CLINICIAN_EPISODE_COSTS = {
    (4, 72): (1.361, 0.432, 1.436, 2.474, 0.924, 0.525),
    (1, 48): (3.196, 0.2758, 3.625, 7.948, 0.9112, 1.899),
}

# Admission medians of the charted features (MAP, HR, SpO2, lactate, urine, creatinine): the value
# carried forward before a feature's first measurement under type 3.2.
ADMISSION_MEDIANS = (63.12, 100.6, 95.77, 2.086, 0.4986, 1.116)
