"""Datasets tests: every test gets its own empty Minari root (never the user's), and after each test
``minari.load_dataset`` must open every dataset the test built, under any root it used."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # ds_replay


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    yield root
    import minari

    for meta in tmp_path.rglob("data/metadata.json"):
        dataset_dir = meta.parent.parent
        parts = dataset_dir.relative_to(tmp_path).parts
        if any(p.startswith(".") for p in parts) or "stori" not in parts:
            continue  # temporary builds (a killed build's leftovers) are not datasets
        ds_root = Path(tmp_path, *parts[:parts.index("stori")])
        dataset_id = "/".join(parts[parts.index("stori"):])
        if not (dataset_dir / "data" / "main_data.hdf5").is_file():
            continue
        os.environ["MINARI_DATASETS_PATH"] = str(ds_root)
        try:
            if _intact(dataset_dir):
                ds = minari.load_dataset(dataset_id)
                assert ds.total_episodes > 0 and ds.total_steps > 0, dataset_id
        finally:
            os.environ["MINARI_DATASETS_PATH"] = str(root)


def _intact(dataset_dir: Path) -> bool:
    """False for the files a test corrupted on purpose."""
    from stori_envs.datasets.integrity import DatasetError, validate

    try:
        validate(dataset_dir, deep=False)
    except DatasetError:
        return False
    return True
