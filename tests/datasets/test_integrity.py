"""A killed build leaves nothing that loads; a truncated or corrupted file fails loudly, naming the file."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import minari
import pytest

from stori_envs.datasets import DatasetError, build, load_transitions, verify

BUILD = ("from stori_envs.datasets import build; "
         "build('stori/medsepsis/random-v0', episodes=200000, chunk=8, ref_episodes=1)")


def test_sigkill_during_a_build_leaves_nothing_that_loads(minari_root):
    proc = subprocess.Popen([sys.executable, "-c", BUILD], env=dict(os.environ))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until episodes are being written
            if list((minari_root / ".stori-build").rglob("main_data.hdf5")):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the build never wrote data")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    final = minari_root / "stori/medsepsis/random-v0"
    assert not final.exists()
    with pytest.raises(DatasetError, match=str(final)):
        load_transitions("stori/medsepsis/random-v0")
    assert "stori/medsepsis/random-v0" not in minari.list_local_datasets()
    build("stori/medsepsis/random-v0", episodes=3, ref_episodes=5)  # the name is free; the build succeeds
    assert len(load_transitions("stori/medsepsis/random-v0")) > 0


@pytest.fixture
def built(minari_root) -> Path:
    build("stori/medsepsis/clinician-v0", episodes=6, ref_episodes=5)
    return minari_root / "stori/medsepsis/clinician-v0/data/main_data.hdf5"


def test_truncated_data_file_fails_naming_the_file(built):
    size = built.stat().st_size
    with open(built, "r+b") as f:
        f.truncate(size // 2)
    for verify_mode in ("checksums", "none"):
        with pytest.raises(DatasetError, match=str(built) if verify_mode == "checksums" else "main_data.hdf5"):
            load_transitions("stori/medsepsis/clinician-v0", verify=verify_mode)
    with pytest.raises(DatasetError, match="main_data.hdf5"):
        verify("stori/medsepsis/clinician-v0")


def test_flipped_byte_is_a_checksum_mismatch_naming_the_file(built):
    data = bytearray(built.read_bytes())
    data[len(data) // 2] ^= 0xFF
    built.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=f"{built}: SHA-256"):
        load_transitions("stori/medsepsis/clinician-v0")


def test_verify_recomputes_the_fingerprint(built):
    result = verify("stori/medsepsis/clinician-v0")
    assert len(result["fingerprint"]) == 64
    assert set(result["checksums"]) == {"main_data.hdf5"}


def test_no_pickle_in_the_package():
    root = Path(__file__).resolve().parents[2] / "stori_envs" / "datasets"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "torch.load(" not in text, path
