"""fedlab.byod: a folder of clients' CSV files loads, bad files are refused clearly, reports are
written."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil

import numpy as np
import pytest

from fedlab import byod, data

HOSPITALS = data.DATA_DIR / "hospitals"
HEADER = "age,size,label\n"


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


@pytest.fixture
def good(tmp_path):
    """Two small clients with the same columns (b's in another order)."""
    folder = tmp_path / "clients"
    write(folder, "b.csv", "size,label,age\n" + "".join(f"{i}.5,{i % 2},{i}\n" for i in range(4)))
    write(folder, "a.csv", HEADER + "".join(f"{i},{1.5 * i},{i % 2}\n" for i in range(3)))
    return folder


# ------------------------------------------------------------------ loading


def test_loads_one_client_per_file_sorted_by_name(good):
    tables = byod.load_client_csvs(good, "label", min_rows=3)
    assert tables.client_names == ("a", "b")
    assert tables.feature_names == ("age", "size") and tables.label_column == "label"
    assert tables.num_clients == 2 and tables.num_features == 2 and tables.num_rows == (3, 4)
    assert tables.x[0].dtype == np.float32 and tables.y[0].dtype == np.int32
    np.testing.assert_array_equal(tables.x[0], [[0, 0], [1, 1.5], [2, 3]])
    # b's columns come in another order: matched by name, put in a's order
    np.testing.assert_array_equal(tables.x[1][:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(tables.x[1][:, 1], [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_array_equal(tables.y[1], [0, 1, 0, 1])


def test_tables_are_frozen_and_read_only(good):
    tables = byod.load_client_csvs(good, "label", min_rows=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tables.client_names = ("c",)
    with pytest.raises(ValueError, match="read-only"):
        tables.x[0][0, 0] = 99.0


def test_regression_labels_are_floats(tmp_path):
    write(tmp_path, "a.csv", HEADER + "1,2,0.25\n3,4,7.5\n")
    tables = byod.load_client_csvs(tmp_path, "label", task="regression", min_rows=1)
    assert tables.y[0].dtype == np.float32
    np.testing.assert_array_equal(tables.y[0], [0.25, 7.5])


def test_blank_lines_a_bom_and_spaces_are_tolerated(tmp_path):
    (tmp_path / "a.csv").write_text("\ufeff age , size,label\n1, 2 ,0\n\n3,4,1\n\n")
    tables = byod.load_client_csvs(tmp_path, "label", min_rows=2)
    assert tables.feature_names == ("age", "size")
    np.testing.assert_array_equal(tables.x[0], [[1, 2], [3, 4]])


def test_other_files_and_hidden_files_are_ignored(good):
    (good / "README.txt").write_text("not a client")
    (good / ".~lock.a.csv").write_text("junk")
    (good / "old").mkdir()
    write(good / "old", "c.csv", "x\n")
    assert byod.load_client_csvs(good, "label", min_rows=3).client_names == ("a", "b")


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        byod.load_client_csvs(tmp_path / "nowhere", "label")


def test_folder_is_a_file(tmp_path):
    write(tmp_path, "a.csv", HEADER + "1,2,0\n")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        byod.load_client_csvs(tmp_path / "a.csv", "label")


def test_folder_without_csv_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FileNotFoundError,
                       match=r"no CSV files \(\*\.csv\) in folder .*notes\.txt"):
        byod.load_client_csvs(tmp_path, "label")


def test_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CSV files .* it is empty"):
        byod.load_client_csvs(tmp_path, "label")


def test_mismatched_columns_name_the_file_and_the_columns(good):
    write(good, "c.csv", "age,weight,label\n1,2,0\n3,4,1\n5,6,0\n")
    with pytest.raises(ValueError, match=r"c\.csv has other columns than a\.csv: "
                                         r"missing \['size'\], unexpected \['weight'\]"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_missing_label_column(good):
    write(good, "c.csv", "age,size,Label\n1,2,0\n3,4,1\n5,6,0\n")
    with pytest.raises(ValueError,
                       match=r"c\.csv has no label column 'label' \(did you mean 'Label'\?\)"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_zero_byte_file(good):
    write(good, "c.csv", "")
    with pytest.raises(ValueError, match=r"c\.csv is empty \(0 bytes\)"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_header_only_file(good):
    write(good, "c.csv", HEADER)
    with pytest.raises(ValueError, match=r"c\.csv has a header but no data rows"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_blank_file_has_no_header(good):
    write(good, "c.csv", "\n\n")
    with pytest.raises(ValueError, match=r"c\.csv has no header row"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_non_numeric_value_names_file_line_column_and_value(good):
    write(good, "c.csv", HEADER + "1,2,0\n3,large,1\n5,6,0\n")
    with pytest.raises(ValueError,
                       match=r"c\.csv, line 3, column 'size': 'large' is not a number"):
        byod.load_client_csvs(good, "label", min_rows=3)


@pytest.mark.parametrize("cell", ["", " ", "NA", "n/a", "NaN", "null", "?"])
def test_missing_values_are_refused_not_filled(good, cell):
    write(good, "c.csv", HEADER + f"1,2,0\n3,4,1\n{cell},6,0\n")
    with pytest.raises(ValueError, match=r"c\.csv, line 4, column 'age': missing value .* does "
                                         "not guess missing values"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_infinite_value(good):
    write(good, "c.csv", HEADER + "1,2,0\n3,inf,1\n5,6,0\n")
    with pytest.raises(ValueError, match=r"c\.csv, line 3, column 'size': 'inf' is not a finite"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_too_few_rows(good):
    with pytest.raises(ValueError, match=r"a\.csv has 3 data rows, fewer than min_rows=4"):
        byod.load_client_csvs(good, "label", min_rows=4)


@pytest.mark.parametrize("label", ["0.5", "-1", "M"])
def test_classification_labels_must_be_class_numbers(good, label):
    write(good, "c.csv", HEADER + f"1,2,0\n3,4,{label}\n5,6,1\n")
    expected = ("is not a number" if label == "M"
                else rf"label '{label}' is not an integer >= 0; classification labels")
    with pytest.raises(ValueError, match=rf"c\.csv, line 3, column 'label': .*{expected}"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_integral_floats_are_labels(good):
    write(good, "c.csv", HEADER + "1,2,0.0\n3,4,1.0\n5,6,2\n")
    tables = byod.load_client_csvs(good, "label", min_rows=3)
    np.testing.assert_array_equal(tables.y[2], [0, 1, 2])


def test_a_single_label_value_cannot_train_a_classifier(tmp_path):
    write(tmp_path, "a.csv", HEADER + "1,2,1\n3,4,1\n")
    with pytest.raises(ValueError, match="needs at least two label values"):
        byod.load_client_csvs(tmp_path, "label", min_rows=1)


def test_a_label_without_features(tmp_path):
    write(tmp_path, "a.csv", "label\n0\n1\n")
    with pytest.raises(ValueError, match=r"a\.csv has only the label column 'label'"):
        byod.load_client_csvs(tmp_path, "label", min_rows=1)


def test_ragged_row(good):
    write(good, "c.csv", HEADER + "1,2,0\n3,4\n5,6,0\n")
    with pytest.raises(ValueError,
                       match=r"c\.csv, line 3: 2 values, but the header has 3 columns"):
        byod.load_client_csvs(good, "label", min_rows=3)


def test_semicolon_separated_file(tmp_path):
    write(tmp_path, "a.csv", "age;size;label\n1;2;0\n")
    with pytest.raises(ValueError, match="separated by commas, not semicolons"):
        byod.load_client_csvs(tmp_path, "label", min_rows=1)


def test_duplicate_and_unnamed_columns(tmp_path):
    write(tmp_path, "a.csv", "age,age,label\n1,2,0\n")
    with pytest.raises(ValueError, match=r"a\.csv: the header names a column twice: \['age'\]"):
        byod.load_client_csvs(tmp_path, "label", min_rows=1)
    write(tmp_path, "a.csv", "age,,label\n1,2,0\n")
    with pytest.raises(ValueError, match=r"a\.csv: column 2 of the header has no name"):
        byod.load_client_csvs(tmp_path, "label", min_rows=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="clustering"), "task must be one of"),
    (dict(min_rows=0), "min_rows must be an integer >= 1, got 0"),
    (dict(label_column=" "), "label_column must be a column name"),
])
def test_bad_arguments(good, kwargs, message):
    kwargs = {"label_column": "label", **kwargs}
    with pytest.raises(ValueError, match=message):
        byod.load_client_csvs(good, **kwargs)


def test_min_rows_must_be_an_integer(good):
    with pytest.raises(TypeError, match="min_rows must be an integer >= 1, got 2.5"):
        byod.load_client_csvs(good, "label", min_rows=2.5)


# ------------------------------------------------------------------ the shipped example


def test_shipped_hospitals_match_the_manifest():
    entry = json.loads((data.DATA_DIR / "MANIFEST.json").read_text())["derived"]["hospitals"]
    assert (entry["licence"].startswith("CC BY 4.0")
            and "Breast Cancer Wisconsin" in entry["source"])
    assert sorted(p.name for p in HOSPITALS.glob("*.csv")) == sorted(entry["files"])
    for name, info in entry["files"].items():
        blob = (HOSPITALS / name).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == info["sha256"], f"{name} changed"
    tables = byod.load_client_csvs(HOSPITALS, entry["label_column"])
    for name, rows, labels in zip(tables.client_names, tables.num_rows, tables.y):
        info = entry["files"][f"{name}.csv"]
        assert rows == info["rows"] and labels.sum() == info["malignant"]


def test_shipped_hospitals_are_a_split_of_breast_cancer():
    x, y, features = data.load_dataset("breast_cancer")
    tables = byod.load_client_csvs(HOSPITALS, "malignant")
    assert list(tables.feature_names) == features
    pooled = np.column_stack([np.concatenate(tables.x), np.concatenate(tables.y)])
    original = np.column_stack([x, y])
    # every row of breast_cancer.csv appears in exactly one hospital file
    order = lambda t: t[np.lexsort(t.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(order(pooled), order(original))
    shares = [labels.mean() for labels in tables.y]
    assert max(shares) - min(shares) > 0.5  # label skew
    assert max(tables.num_rows) >= 4 * min(tables.num_rows)  # quantity skew


def test_hospitals_copy_with_a_broken_file_is_refused(tmp_path):
    """The error case notebook 07 shows: a hospital exports its labels as M/B."""
    shutil.copytree(HOSPITALS, tmp_path / "hospitals")
    path = tmp_path / "hospitals" / "hospital_c.csv"
    header, first, *rest = path.read_text().splitlines(keepends=True)
    path.write_text(header + first.rsplit(",", 1)[0] + ",B\n" + "".join(rest))
    with pytest.raises(ValueError, match=r"hospital_c\.csv, line 2, column 'malignant': "
                                         r"'B' is not a number"):
        byod.load_client_csvs(tmp_path / "hospitals", "malignant")


# ------------------------------------------------------------------ checks before training


def three_clients(tmp_path, labels=((0, 1, 0, 1), (1, 2, 1, 2), (0, 2, 0, 2))):
    for k, ys in enumerate(labels):
        write(tmp_path, f"c{k}.csv",
              HEADER + "".join(f"{i},{i * k},{y}\n" for i, y in enumerate(ys)))
    return byod.load_client_csvs(tmp_path, "label", min_rows=1)


def test_check_for_training_returns_the_number_of_classes(tmp_path):
    assert byod.check_for_training(three_clients(tmp_path), test_fraction=0.3) == 3


def test_check_for_training_refuses_a_gap_in_the_class_numbers(tmp_path):
    tables = three_clients(tmp_path, labels=((0, 2, 0, 2), (2, 0, 2, 0)))
    with pytest.raises(ValueError, match=r"no file has a row of class 1, but labels go up to 2"):
        byod.check_for_training(tables, test_fraction=0.3)


def test_check_for_training_refuses_a_client_without_test_rows(tmp_path):
    tables = three_clients(tmp_path, labels=((0, 1, 0, 1), (1, 0)))
    with pytest.raises(ValueError, match=r"c1 has 2 rows: with test_fraction=0.2 it would keep 0"):
        byod.check_for_training(tables, test_fraction=0.2)
    with pytest.raises(ValueError,
                       match=r"c0 has 4 rows: .* keep 4 for testing and 0 for training"):
        byod.check_for_training(tables, test_fraction=0.9)


def test_check_for_training_refuses_too_few_clients_and_regression(tmp_path):
    write(tmp_path, "only.csv", HEADER + "1,2,0\n3,4,1\n5,6,0\n")
    tables = byod.load_client_csvs(tmp_path, "label", min_rows=1)
    with pytest.raises(ValueError,
                       match=r"1 client\(s\) \(only\); a federation here needs at least"):
        byod.check_for_training(tables, test_fraction=0.4)
    assert byod.check_for_training(tables, test_fraction=0.4, min_clients=1) == 2
    regression = byod.load_client_csvs(tmp_path, "label", task="regression", min_rows=1)
    with pytest.raises(ValueError, match="task='regression'; this pipeline trains a classifier"):
        byod.check_for_training(regression, test_fraction=0.4, min_clients=1)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"test_fraction": 0}, ValueError,
     r"test_fraction must be a finite number in \(0, 1\), got 0.0"),
    ({"test_fraction": 1.0}, ValueError, r"test_fraction must be a finite number in \(0, 1\)"),
    ({"test_fraction": True}, TypeError, r"test_fraction must be a finite number in \(0, 1\)"),
    ({"test_fraction": "0.3"}, TypeError, r"test_fraction must be a finite number in \(0, 1\)"),
    ({"test_fraction": 0.3, "min_clients": 0}, ValueError, "min_clients must be an integer >= 1"),
    ({"test_fraction": 0.3, "min_clients": 2.0}, TypeError, "min_clients must be an integer >= 1"),
])
def test_check_for_training_bad_arguments(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        byod.check_for_training(three_clients(tmp_path), **kwargs)


def test_check_for_training_needs_client_tables():
    with pytest.raises(TypeError, match="tables must be a ClientTables .*, got dict"):
        byod.check_for_training({}, test_fraction=0.3)


# ------------------------------------------------------------------ notebook 07 on other data

CAPSTONE = HOSPITALS.parent.parent / "notebooks" / "07_capstone_bring_your_own_data.ipynb"


def write_sites(folder, seed=1):
    """Six synthetic sites unlike the example: 12 features, 3 classes, 37 to 708 rows, each site
    with its own class mix, its own feature shift and, for three of them, their own labelling
    (a different class boundary), so that training alone can beat the federation at home."""
    rng = np.random.default_rng(seed)
    sizes = [37, 64, 120, 250, 430, 708]
    class_means = rng.normal(0, 1.5, (3, 12))
    names = [f"f{j:02d}" for j in range(12)]
    for k, size in enumerate(sizes):
        mix = rng.dirichlet([0.8, 0.8, 0.8])
        labels = rng.choice(3, size=size, p=mix)
        means = class_means[(labels + (k % 2) * k) % 3] if k >= 3 else class_means[labels]
        x = means + rng.normal(0, 1.0, (size, 12)) + rng.normal(0, 2.0, 12) * 3 + 10 * k
        lines = [",".join(names + ["outcome"])]
        lines += [",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(x, labels)]
        (folder / f"site_{k + 1}.csv").write_text("\n".join(lines) + "\n")
    return sizes


def report_table(text):
    """{client: {column: value}} from the first table of a report written by write_report."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    columns = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    table = {}
    for line in lines[2:]:
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        if len(cells) != len(columns) + 1 or cells[0] == "series":
            break
        table[cells[0]] = dict(zip(columns, map(float, cells[1:])))
    return table


@pytest.mark.slow
def test_capstone_runs_to_the_end_on_other_data_and_reports_its_findings(tmp_path, monkeypatch):
    """Issue 13: notebook 07 is a template. On a folder that is not the example and passes the
    checks, every cell runs (the example's lessons are asserted for the example only) and the
    report states what happened on this data. DP noise is real here: no test seed is set."""
    import nbformat
    from nbclient import NotebookClient

    sites = tmp_path / "sites"
    sites.mkdir()
    sizes = write_sites(sites)
    work = tmp_path / "notebooks"  # a copy, so that the report is not written into the course
    work.mkdir()
    nb = nbformat.read(CAPSTONE, as_version=4)
    monkeypatch.setenv("FEDLAB_BYOD_DIR", str(sites))
    monkeypatch.setenv("FEDLAB_BYOD_LABEL", "outcome")
    monkeypatch.delenv("FEDLAB_NOT_PRIVATE_SEED", raising=False)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(work)}}).execute()  # raises on any error

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "a cell did not run"
    printed = "\n".join(out.get("text", "") for cell in code for out in cell.outputs)
    assert "6 clients, 12 features, 3 classes, label 'outcome'" in printed
    assert "not private" not in printed.lower()  # the default: a secret seed, real noise

    text = (work / "capstone_report" / "report.md").read_text()
    assert "## Findings" in text
    assert "not private" not in text.lower()
    table = report_table(text)
    clients = [f"site_{k + 1}" for k in range(len(sizes))]
    assert list(table)[:len(clients)] == clients
    better_alone = [c for c in clients if table[c]["alone"] > table[c]["FedAvg"]]
    assert better_alone, "the data were made so that some site does better alone"
    assert (f"{len(better_alone)} of {len(clients)} clients do better alone on their own test rows"
            in text)
    for client in better_alone:  # the gain printed, from unrounded accuracies: within rounding
        gain = float(re.search(rf"{client} \(\+([0-9.]+)\)", text).group(1))
        assert abs(gain - (table[client]["alone"] - table[client]["FedAvg"])) <= 0.0015
    everyone = table["all clients"]
    lost = everyone["FedAvg"] - everyone["secure + DP"]
    reported = re.search(r"secure \+ DP lost ([0-9.]+) accuracy", text)  # tolerance 0.03 in 07
    if lost > 0.03 + 0.0015:  # beyond the rounding of the table's numbers
        assert reported and abs(float(reported.group(1)) - lost) <= 0.0015
    elif lost < 0.03 - 0.0015:
        assert reported is None
    assert "which protects little" in text  # 6 clients in every round: a large epsilon
