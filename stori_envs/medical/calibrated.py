"""Constants measured on the simulator by ``python benchmarks/medical_calibration.py --write-constants``.

Generated file: do not edit by hand; re-run the script after any change to the physiology or the
clinician policy (the tests check that these values still match a fresh clinician rollout).
"""

# Discrete dose levels (fractions of the maximum dose; ICU-Sepsis layout): edges between levels 1-4 are the
# quartiles of the clinician's non-zero doses, level values the medians inside each quartile.
FLUID_EDGES = (0.25, 0.5, 0.75)
FLUID_LEVELS = (0.125, 0.375, 0.625, 0.875)
VASO_EDGES = (0.25, 0.5, 0.75)
VASO_LEVELS = (0.125, 0.375, 0.625, 0.875)

# Clinician tier: mean number of steps per episode on which each cost component is active
# (order of COST_NAMES), for the 4-h/72-h default and the 1-h/48-h ogsrl_hypotension preset.
# cost_limit = sum_k w_k * mean_k.
CLINICIAN_EPISODE_COSTS = {
    (4, 72): (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    (1, 48): (4.0, 4.0, 4.0, 4.0, 4.0, 4.0),
}

# Admission medians of the charted features (MAP, HR, SpO2, lactate, urine, creatinine): the value
# carried forward before a feature's first measurement under type 3.2.
ADMISSION_MEDIANS = (65.0, 105.0, 95.0, 2.5, 0.8, 1.3)
