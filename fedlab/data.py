"""Loading the small data sets shipped in `data/`, with their checksums verified.

Introduced in `notebooks/00_can_clients_share_data.ipynb`. `data/MANIFEST.json` lists each
file with its source, licence, size and sha256; `data/regenerate.py` rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def read_manifest(data_dir: str | Path = DATA_DIR) -> dict:
    """Returns the `datasets` table of `data_dir/MANIFEST.json`."""
    path = Path(data_dir) / "MANIFEST.json"
    if not path.is_file():
        raise FileNotFoundError(f"no data manifest at {path}; is data_dir the repository's data/?")
    return json.loads(path.read_text())["datasets"]


def load_dataset(
    name: str, data_dir: str | Path = DATA_DIR
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Loads a shipped data set after checking its sha256 against the manifest.

    Args:
        name: One of the names in `data/MANIFEST.json`: "digits", "breast_cancer", "diabetes".
        data_dir: The folder that holds the CSV files and MANIFEST.json.

    Returns:
        `(x, y, feature_names)`: features as float32 `[rows, features]`, labels (int32 for a
        classification set, float32 for a regression set), and the feature column names.
    """
    manifest = read_manifest(data_dir)
    if name not in manifest:
        raise ValueError(f"name must be one of {sorted(manifest)}, got {name!r}")
    entry = manifest[name]
    path = Path(data_dir) / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; restore it with `git checkout -- data/` or rebuild it with "
            "`python data/regenerate.py`"
        )
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != entry["sha256"]:
        raise ValueError(
            f"{path} is corrupted: its sha256 is {digest}, the manifest expects {entry['sha256']}; "
            "restore it with `git checkout -- data/`"
        )
    header = blob.split(b"\n", 1)[0].decode().split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    x = table[:, :-1].astype(np.float32)
    y = table[:, -1].astype(np.int32 if entry["task"] == "classification" else np.float32)
    return x, y, header[:-1]
