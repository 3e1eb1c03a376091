"""Bring your own data: one CSV file per client in, checked tables out.

Taught in `notebooks/07_capstone_bring_your_own_data.ipynb`, the capstone: a learner (or a
team of hospitals) points the course's federated pipeline at a folder of their own CSV files.

- :func:`load_client_csvs` reads the folder, one client per ``*.csv`` file, and checks the
  schema before anything is trained: every problem stops with a ``ValueError`` (or
  ``FileNotFoundError``) that names the file, the column, the line and the value.
- :func:`check_for_training` checks what training a classifier on the tables needs (enough
  clients, class numbers 0, 1, ... without gaps, rows left for testing at every client) and
  stops with a ``ValueError`` that says which client or class fails.

The report at the end of the capstone is `fedlab.report`'s. Only the standard library and
numpy (no pandas). Importing this module does nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
from pathlib import Path

import numpy as np

from fedlab._checks import check_int, check_number

__all__ = ["ClientTables", "MISSING_VALUES", "check_for_training", "load_client_csvs"]

TASKS = ("classification", "regression")

#: Cell values read as "missing" (compared in lower case, after stripping spaces).
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})

@dataclasses.dataclass(frozen=True)
class ClientTables:
    """The clients' data as loaded by :func:`load_client_csvs` (arrays are read-only).

    Attributes:
        client_names: One name per client: its file name without ``.csv``, sorted.
        x: One float32 array ``[rows, features]`` per client, columns in `feature_names` order.
        y: One label array ``[rows]`` per client: int32 for classification, float32 for
            regression.
        feature_names: The feature columns, in the order of the first file.
        label_column: The name of the label column.
        task: "classification" or "regression".
    """

    client_names: tuple[str, ...]
    x: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]
    feature_names: tuple[str, ...]
    label_column: str
    task: str

    @property
    def num_clients(self) -> int:
        return len(self.client_names)

    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    @property
    def num_rows(self) -> tuple[int, ...]:
        """Rows (examples) per client."""
        return tuple(len(y) for y in self.y)


# ------------------------------------------------------------------ reading CSV files


def _list_csvs(folder: Path) -> list[Path]:
    if not folder.exists():
        raise FileNotFoundError(f"folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is a file, not a folder of CSV files")
    paths = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith("."))
    if not paths:
        others = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        found = f"; it holds {others[:5]}" if others else "; it is empty"
        raise FileNotFoundError(
            f"no CSV files (*.csv) in folder {str(folder)!r}{found}. Put one CSV file per "
            "client there.")
    return paths


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Returns the header and `(line number, cells)` for each non-blank data row."""
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name} is empty (0 bytes); each client's file needs a header "
                         "row and data rows")
    with path.open(newline="", encoding="utf-8-sig") as f:  # utf-8-sig: a BOM from Excel
        reader = csv.reader(f)
        header = next(reader, None)
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if header is None or not any(name.strip() for name in header):
        raise ValueError(f"{path.name} has no header row: its first line must name the columns")
    header = [name.strip() for name in header]
    if len(header) == 1 and re.search(r"[;\t]", header[0]):
        raise ValueError(f"{path.name}: the header is one column {header[0][:40]!r}...; the "
                         "values must be separated by commas, not semicolons or tabs")
    if "" in header:
        raise ValueError(f"{path.name}: column {header.index('') + 1} of the header has no name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path.name}: the header names a column twice: {duplicates}")
    if not rows:
        raise ValueError(f"{path.name} has a header but no data rows")
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(f"{path.name}, line {line}: {len(row)} values, but the header has "
                             f"{len(header)} columns")
    return header, rows


def _to_numbers(path: Path, header: list[str], rows: list[tuple[int, list[str]]]) -> np.ndarray:
    """Parses every cell as a float64, or raises naming the first bad cell."""
    table = np.empty((len(rows), len(header)), np.float64)
    for i, (line, row) in enumerate(rows):
        for j, cell in enumerate(row):
            text = cell.strip()
            if text.lower() in MISSING_VALUES:
                raise ValueError(
                    f"{path.name}, line {line}, column {header[j]!r}: missing value "
                    f"({cell!r}). Fill it in or drop the row before loading; the loader does "
                    "not guess missing values")
            try:
                value = float(text)
            except ValueError:
                raise ValueError(
                    f"{path.name}, line {line}, column {header[j]!r}: {cell!r} is not a "
                    "number; every column must be numeric (code categories as integers)"
                ) from None
            if not math.isfinite(value):
                raise ValueError(f"{path.name}, line {line}, column {header[j]!r}: {cell!r} is "
                                 "not a finite number")
            table[i, j] = value
    return table


def load_client_csvs(
    folder: str | Path, label_column: str, *, task: str = "classification", min_rows: int = 10
) -> ClientTables:
    """Loads one client per CSV file in `folder`, after checking that the files fit together.

    Each ``*.csv`` file directly in `folder` (not in sub-folders; hidden files are skipped) is
    one client, named after the file (``hospital_a.csv`` -> ``hospital_a``); clients are sorted
    by name. Each file is comma-separated, UTF-8, with a header row that names the columns.
    Every file must have the same columns (in any order: they are matched by name and put in
    the order of the first file), one of them `label_column`; every other column is a feature.
    Blank lines are skipped. Taught in `notebooks/07_capstone_bring_your_own_data.ipynb`.

    Missing values (an empty cell, or NA, N/A, NaN, null, None, ?) are an error, not filled
    in: how to impute is a decision for the data's owners, and a silent fill would change the
    statistics that every client trains on.

    Args:
        folder: The folder that holds the CSV files.
        label_column: The column with the label (the target); every other column is a feature.
        task: "classification" (labels must be integers >= 0, returned as int32) or
            "regression" (labels returned as float32).
        min_rows: The fewest data rows a client may have (>= 1).

    Returns:
        A :class:`ClientTables` with float32 features and the labels of every client.

    Raises:
        FileNotFoundError: If `folder` does not exist or holds no CSV file.
        TypeError: If `min_rows` is not an integer.
        ValueError: If a file is empty or has only a header, if the columns differ between
            files or lack `label_column`, if a value is missing or not a number, if a client
            has fewer than `min_rows` rows, or if a classification label is not an integer
            >= 0. The message names the file and, for a bad value, the line and the column.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    min_rows = check_int("min_rows", min_rows, 1)
    if not isinstance(label_column, str) or not label_column.strip():
        raise ValueError(f"label_column must be a column name, got {label_column!r}")
    label_column = label_column.strip()
    paths = _list_csvs(Path(folder))

    first_path, first_header = None, None
    names, xs, ys = [], [], []
    for path in paths:
        header, rows = _read_table(path)
        if label_column not in header:
            close = [name for name in header if name.lower() == label_column.lower()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{path.name} has no label column {label_column!r}{hint}; its "
                             f"columns are {header[:8]}{' ...' if len(header) > 8 else ''}")
        if first_header is None:
            if len(header) == 1:
                raise ValueError(f"{path.name} has only the label column {label_column!r}; a "
                                 "model needs at least one feature column")
            first_path, first_header = path, header
        elif set(header) != set(first_header):
            missing = [name for name in first_header if name not in header]
            extra = [name for name in header if name not in first_header]
            raise ValueError(
                f"{path.name} has other columns than {first_path.name}: missing {missing}, "
                f"unexpected {extra}; every client's file needs the same columns")
        if len(rows) < min_rows:
            raise ValueError(f"{path.name} has {len(rows)} data rows, fewer than "
                             f"min_rows={min_rows}")
        table = _to_numbers(path, header, rows)
        table = table[:, [header.index(name) for name in first_header]]  # first file's order
        label_index = first_header.index(label_column)
        labels = table[:, label_index]
        if task == "classification":
            bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0))
            if len(bad):
                line, row = rows[bad[0]]
                raise ValueError(
                    f"{path.name}, line {line}, column {label_column!r}: label "
                    f"{row[header.index(label_column)].strip()!r} is not an integer >= 0; "
                    "classification labels must be class numbers 0, 1, 2, ... (use "
                    "task='regression' for a numeric target)")
            labels = labels.astype(np.int32)
        else:
            labels = labels.astype(np.float32)
        features = np.delete(table, label_index, axis=1).astype(np.float32)
        features.flags.writeable = False
        labels.flags.writeable = False
        names.append(path.stem)
        xs.append(features)
        ys.append(labels)

    if task == "classification":
        classes = np.unique(np.concatenate(ys))
        if len(classes) < 2:
            raise ValueError(f"every file's {label_column!r} is {int(classes[0])}: a classifier "
                             "needs at least two label values across the clients")
    return ClientTables(
        client_names=tuple(names), x=tuple(xs), y=tuple(ys),
        feature_names=tuple(name for name in first_header if name != label_column),
        label_column=label_column, task=task)


def check_for_training(tables: ClientTables, *, test_fraction: float, min_clients: int = 2) -> int:
    """Checks that a classifier can be trained and tested on `tables`; returns the class count.

    Notebook 07 keeps `test_fraction` of each client's rows for testing (``round(test_fraction
    * rows)`` of them) and trains on the rest, a softmax regression over classes 0 to K - 1.
    These checks are about the data, before training: a failure stops with a ``ValueError``
    that names the client or the class. What the results show (a client that does better
    alone, a large epsilon) is not checked here: notebook 07 reports it as a finding. Taught
    in `notebooks/07_capstone_bring_your_own_data.ipynb`.

    Args:
        tables: The clients' data, from :func:`load_client_csvs`.
        test_fraction: The share of each client's rows kept for testing, in (0, 1).
        min_clients: The fewest clients that make a federation (>= 1).

    Returns:
        K, the number of classes (the largest label + 1).

    Raises:
        TypeError: If `tables` is not a :class:`ClientTables`, `test_fraction` not a number or
            `min_clients` not an integer.
        ValueError: If an argument is out of range, the task is not classification, there are
            fewer than `min_clients` clients, a class number between 0 and the largest label
            has no row in any file, or a client would have no test row or no training row.
    """
    if not isinstance(tables, ClientTables):
        raise TypeError(f"tables must be a ClientTables (from load_client_csvs), got "
                        f"{type(tables).__name__}")
    test_fraction = check_number("test_fraction", test_fraction, 0, 1, low_open=True,
                                 high_open=True)
    min_clients = check_int("min_clients", min_clients, 1)
    if tables.task != "classification":
        raise ValueError(f"the tables were loaded with task={tables.task!r}; this pipeline trains "
                         "a classifier: load them with task='classification'")
    if tables.num_clients < min_clients:
        raise ValueError(f"{tables.num_clients} client(s) ({', '.join(tables.client_names)}); a "
                         f"federation here needs at least min_clients={min_clients} CSV files")
    counts = np.bincount(np.concatenate(tables.y))
    absent = np.flatnonzero(counts == 0)
    if len(absent):
        raise ValueError(f"no file has a row of class {int(absent[0])}, but labels go up to "
                         f"{len(counts) - 1}; classes must be numbered 0, 1, ... without gaps")
    for name, rows in zip(tables.client_names, tables.num_rows):
        num_test = int(round(test_fraction * rows))
        if num_test == 0 or num_test == rows:
            raise ValueError(
                f"{name} has {rows} rows: with test_fraction={test_fraction} it would "
                f"keep {num_test} for testing and {rows - num_test} for training; "
                "each client needs both (raise min_rows or change test_fraction)")
    return len(counts)
