"""fedlab.data: the shipped data sets load, and damaged ones are refused clearly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fedlab import data


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "diabetes"])
def test_shipped_data_sets_load_with_the_manifest_shape(name):
    entry = data.read_manifest()[name]
    x, y, features = data.load_dataset(name)
    assert x.shape == (entry["rows"], entry["features"]) and x.dtype == np.float32
    assert y.shape == (entry["rows"],) and len(features) == entry["features"]
    assert entry["licence"] and entry["source"]
    assert np.isfinite(x).all()


def test_digits_has_ten_classes_of_8x8_pixels():
    x, y, _ = data.load_dataset("digits")
    assert y.dtype == np.int32 and set(np.unique(y)) == set(range(10))
    assert x.min() == 0 and x.max() == 16


def test_regression_targets_are_floats():
    _, y, _ = data.load_dataset("diabetes")
    assert y.dtype == np.float32


@pytest.fixture
def data_copy(tmp_path):
    for path in data.DATA_DIR.iterdir():
        if path.suffix in (".csv", ".json"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError,
                       match=r"name must be one of \['breast_cancer', 'diabetes', 'digits'\]"):
        data.load_dataset("mnist")


def test_missing_file_says_how_to_restore_it(data_copy):
    (data_copy / "digits.csv").unlink()
    with pytest.raises(FileNotFoundError, match="digits.csv is missing; restore it"):
        data.load_dataset("digits", data_dir=data_copy)


def test_corrupted_file_is_refused(data_copy):
    path = data_copy / "diabetes.csv"
    path.write_bytes(path.read_bytes().replace(b"151", b"152", 1))
    with pytest.raises(ValueError, match="diabetes.csv is corrupted: its sha256 is"):
        data.load_dataset("diabetes", data_dir=data_copy)


def test_missing_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data manifest"):
        data.load_dataset("digits", data_dir=tmp_path)
