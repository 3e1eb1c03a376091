"""Loading the small data sets shipped in `data/`, with their checksums verified.

Introduced in `notebooks/00_can_clients_share_data.ipynb`. `data/MANIFEST.json` lists each
file with its source, licence, size and sha256; `data/regenerate.py` rebuilds them.
`load_digits` (written out in notebook 00) and `split_train_test` (notebook 01) are the digits
and their held-out split that the later lessons share.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from fedlab._checks import check_int, check_number

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DIGITS_MAX_PIXEL = 16.0  # the digits' pixel intensities are whole numbers from 0 to 16


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
            f"{path} is corrupted: its sha256 is {digest}, "
            f"the manifest expects {entry['sha256']}; "
            "restore it with `git checkout -- data/`"
        )
    header = blob.split(b"\n", 1)[0].decode().split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    x = table[:, :-1].astype(np.float32)
    y = table[:, -1].astype(np.int32 if entry["task"] == "classification" else np.float32)
    return x, y, header[:-1]


def load_digits(data_dir: str | Path = DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as `(x, y)`: 64 pixels scaled to [0, 1] (float32), labels 0-9 (int32).

    Written out in `notebooks/00_can_clients_share_data.ipynb` (`x / 16.0`); the rows keep the
    file's order. Later lessons call it, most of them with :func:`split_train_test`.
    """
    x, y, _ = load_dataset("digits", data_dir)
    return x / DIGITS_MAX_PIXEL, y


def split_train_test(
    x, y, *, test_fraction: float | None = None, num_test: int | None = None, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Shuffles the rows with `np.random.default_rng(seed)` and holds the first ones out.

    Written out in `notebooks/01_dissemination.ipynb`; later lessons call it. Give exactly one
    of `test_fraction` (held out: `int(test_fraction * len(x))` rows, rounded down) and
    `num_test` (that many rows). The same arguments give the same split on every machine.

    Args:
        x: Features, one row per example (any array with a first axis).
        y: Labels or targets, one per row of `x`.
        test_fraction: Share of the rows to hold out, in [0, 1).
        num_test: Rows to hold out, between 0 and `len(x) - 1`.
        seed: Seed of the shuffle.

    Returns:
        `((x_train, y_train), (x_test, y_test))`, as Keras' `load_data()` returns them.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"x and y must hold the same number (>= 2) of rows, got shapes "
                         f"{x.shape} and {y.shape}")
    if (test_fraction is None) == (num_test is None):
        raise ValueError(f"give exactly one of test_fraction and num_test, got "
                         f"test_fraction={test_fraction!r}, num_test={num_test!r}")
    if num_test is None:
        test_fraction = check_number("test_fraction", test_fraction, 0, 1, high_open=True)
        num_test = int(test_fraction * len(x))
    num_test = check_int("num_test", num_test, 0, len(x) - 1, why=" (leave a training row)")
    order = np.random.default_rng(check_int("seed", seed, 0)).permutation(len(x))
    test, train = order[:num_test], order[num_test:]
    return (x[train], y[train]), (x[test], y[test])
