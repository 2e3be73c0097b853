"""The Atari throughput benchmark's reference loops (benchmarks/atari_throughput.py), without timing anything."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.atari_throughput import bare_case, cases_for
from stori_envs.atari.bankheist import GAME as BANKHEIST

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_floor_row_exists_only_for_type_3_2_ram_peeks():
    counter: dict[str, int] = {}
    names = [case.name for case, _, _ in cases_for("BankHeist", 4, counter, paper_variants=False)]
    floors = [n for n in names if "floor" in n]
    assert floors == ["T3.2 floor: bare + the peek's emulator calls"]  # not the drift preset T2.2


@pytest.mark.parametrize("p", [0.0, 0.75, 1.0])
def test_the_floor_hides_at_the_presets_rate_and_counts_only_real_frames(p):
    actions = np.random.default_rng(0).integers(0, 18, size=4096)
    counter: dict[str, int] = {}
    plain = bare_case(BANKHEIST.rom, 4, actions, counter, "bare")
    floor = bare_case(BANKHEIST.rom, 4, actions, counter, "floor", peek=(BANKHEIST.ram_modes["3"], p))
    plain.run(400)
    floor.run(400)
    # The look-ahead frames are restored away: the same actions give the same real trajectory.
    assert counter["floor"] == counter["bare"]
    np.testing.assert_array_equal(floor.run.emulator.getRAM(), plain.run.emulator.getRAM())
    assert floor.run.emulator.getFrameNumber() == plain.run.emulator.getFrameNumber()
    hidden = counter["floor altered"] / 400
    if p in (0.0, 1.0):
        assert hidden == p or (p == 1.0 and hidden > 0.99)  # (a step that ends the episode has no look-ahead)
    else:
        assert abs(hidden - p) < 4 * np.sqrt(p * (1 - p) / 400)
