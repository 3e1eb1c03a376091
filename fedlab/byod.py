"""Bring your own data: one CSV file per client in, a short Markdown report out.

Taught in `notebooks/07_capstone_bring_your_own_data.ipynb`, the capstone: a learner (or a
team of hospitals) points the course's federated pipeline at a folder of their own CSV files.

- :func:`load_client_csvs` reads the folder, one client per ``*.csv`` file, and checks the
  schema before anything is trained: every problem stops with a ``ValueError`` (or
  ``FileNotFoundError``) that names the file, the column, the line and the value.
- :func:`check_for_training` checks what training a classifier on the tables needs (enough
  clients, class numbers 0, 1, ... without gaps, rows left for testing at every client) and
  stops with a ``ValueError`` that says which client or class fails.
- :func:`write_report` writes a Markdown file with a table of per-client and global metrics,
  the findings (plain warnings about the results) and PNG figures (metrics per client,
  accuracy per round) into a folder.

Only the standard library, numpy and matplotlib (no pandas). Importing this module does nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["ClientTables", "MISSING_VALUES", "check_for_training", "load_client_csvs",
           "write_report"]

TASKS = ("classification", "regression")

#: Cell values read as "missing" (compared in lower case, after stripping spaces).
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})

REPORT_NAME = "report.md"
PER_CLIENT_FIGURE = "per_client.png"
HISTORY_FIGURE = "per_round.png"


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
        ValueError: If a file is empty or has only a header, if the columns differ between
            files or lack `label_column`, if a value is missing or not a number, if a client
            has fewer than `min_rows` rows, or if a classification label is not an integer
            >= 0. The message names the file and, for a bad value, the line and the column.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if isinstance(min_rows, bool) or not isinstance(min_rows, (int, np.integer)) or min_rows < 1:
        raise ValueError(f"min_rows must be an integer >= 1, got {min_rows!r}")
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
        TypeError: If `tables` is not a :class:`ClientTables`.
        ValueError: If an argument is out of range, the task is not classification, there are
            fewer than `min_clients` clients, a class number between 0 and the largest label
            has no row in any file, or a client would have no test row or no training row.
    """
    if not isinstance(tables, ClientTables):
        raise TypeError(f"tables must be a ClientTables (from load_client_csvs), got "
                        f"{type(tables).__name__}")
    if (isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float, np.floating))
            or not 0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if (isinstance(min_clients, bool) or not isinstance(min_clients, (int, np.integer))
            or min_clients < 1):
        raise ValueError(f"min_clients must be an integer >= 1, got {min_clients!r}")
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
            raise ValueError(f"{name} has {rows} rows: with test_fraction={test_fraction} it would "
                             f"keep {num_test} for testing and {rows - num_test} for training; "
                             "each client needs both (raise min_rows or change test_fraction)")
    return len(counts)


# ------------------------------------------------------------------ writing the report


def _check_number(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _check_metrics(per_client_metrics, global_metrics, client_names):
    if not isinstance(per_client_metrics, Mapping) or not per_client_metrics:
        raise ValueError("per_client_metrics must be a non-empty mapping "
                         "{client name: {metric: value}}, got "
                         f"{type(per_client_metrics).__name__} {per_client_metrics!r:.60}")
    if client_names is not None:
        expected, given = list(client_names), list(per_client_metrics)
        if sorted(expected) != sorted(given):
            missing = [name for name in expected if name not in given]
            extra = [name for name in given if name not in expected]
            raise ValueError(f"per_client_metrics does not match client_names: missing "
                             f"{missing}, unexpected {extra}")
    columns = None
    for client, metrics in per_client_metrics.items():
        if not isinstance(client, str) or not client:
            raise ValueError(f"client names must be non-empty strings, got {client!r}")
        if not isinstance(metrics, Mapping) or not metrics:
            raise ValueError(f"per_client_metrics[{client!r}] must be a non-empty mapping "
                             f"{{metric: value}}, got {metrics!r}")
        if columns is None:
            columns, first = list(metrics), client
        elif set(metrics) != set(columns):
            raise ValueError(f"per_client_metrics[{client!r}] has metrics {list(metrics)}, but "
                             f"{first!r} has {columns}; every client needs the same metrics")
        for name, value in metrics.items():
            _check_number(f"per_client_metrics[{client!r}][{name!r}]", value)
    if not isinstance(global_metrics, Mapping) or not global_metrics:
        raise ValueError(f"global_metrics must be a non-empty mapping {{metric: value}}, got "
                         f"{global_metrics!r:.60}")
    if set(global_metrics) != set(columns):
        raise ValueError(f"global_metrics has metrics {list(global_metrics)}, but the clients "
                         f"have {columns}; they must be the same")
    for name, value in global_metrics.items():
        _check_number(f"global_metrics[{name!r}]", value)
    return columns


def _check_history(history) -> dict[str, list[float]]:
    if history is None:
        return {}
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be None or a non-empty mapping "
                         f"{{series name: one value per round}}, got {history!r:.60}")
    checked = {}
    for name, values in history.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"history[{name!r}] must be a non-empty sequence of numbers, one "
                             f"per round, got {values!r:.60}")
        checked[str(name)] = [_check_number(f"history[{name!r}][{i}]", v)
                              for i, v in enumerate(values)]
    return checked


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _per_client_figure(per_client_metrics, global_metrics, columns, value_label, global_label):
    from matplotlib.figure import Figure  # no pyplot: nothing is shown, no global state

    groups = {**per_client_metrics, global_label: global_metrics}  # the table's rows
    fig = Figure(figsize=(6, 3), dpi=100, layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(columns)
    positions = np.arange(len(groups))
    positions[-1] += 0.5  # set the global group apart
    for k, column in enumerate(columns):
        values = [float(metrics[column]) for metrics in groups.values()]
        ax.bar(positions + (k - (len(columns) - 1) / 2) * width, values, width, label=column)
    ax.set_xticks(positions, list(groups), fontsize=8)
    values = [float(metrics[column]) for metrics in groups.values() for column in columns]
    if 0 <= min(values) and max(values) <= 1:  # accuracies and the like: zoom in on the differences
        ax.set_ylim(max(0.0, min(values) - 0.05), min(1.0, max(values) + 0.02) + 0.01)
    ax.set_ylabel(value_label)
    fig.legend(loc="outside upper center", ncols=len(columns), fontsize=8, frameon=False)
    return fig


def _history_figure(history, value_label):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6, 3), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for name, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel("round")
    ax.set_ylabel(value_label)
    fig.legend(loc="outside upper center", ncols=len(history), fontsize=8, frameon=False)
    return fig


def write_report(
    folder: str | Path,
    per_client_metrics: Mapping[str, Mapping[str, float]],
    global_metrics: Mapping[str, float],
    history: Mapping[str, Sequence[float]] | None = None,
    *,
    client_names: Sequence[str] | None = None,
    title: str = "Federated training report",
    notes: Sequence[str] = (),
    findings: Sequence[str] | None = None,
    value_label: str = "accuracy",
    global_label: str = "all clients",
) -> Path:
    """Writes a short Markdown report with a metrics table and PNG figures into `folder`.

    The report, ``report.md``, holds the title, the `notes` (one paragraph each), a section
    "Findings" with one bullet per finding (if `findings` is given; an empty list is written as
    "none"), a table with
    one row per client and a last row for `global_metrics`, one column per metric (say, the
    accuracy of each way of training), a bar chart of the table (``per_client.png``) and, if
    `history` is given, a line chart of each series per round (``per_round.png``) with a table
    of its last values. Numbers are written with 3 decimals. `folder` is created if needed;
    these three files are overwritten, nothing else in it is touched. Nothing in the report
    depends on the time or the machine, so a re-run writes the same text. Taught in
    `notebooks/07_capstone_bring_your_own_data.ipynb`.

    Args:
        folder: Where to write; created with its parents if missing.
        per_client_metrics: ``{client name: {metric: value}}``, the same metrics for every
            client, in table order.
        global_metrics: ``{metric: value}`` over all clients, with the same metric names.
        history: ``{series name: [value after round 1, after round 2, ...]}``, or None.
        client_names: If given, `per_client_metrics` must have exactly these clients (say,
            ``ClientTables.client_names``): a guard against a client silently left out.
        title: The report's first heading.
        notes: Paragraphs of Markdown written under the title.
        findings: Plain sentences about the results that a reader must not miss (say, "3 of 6
            clients do better alone"), one bullet each; None leaves the section out.
        value_label: What the values are, for the figures' axes.
        global_label: The name of the table's last row.

    Returns:
        The path of ``report.md``.

    Raises:
        ValueError: If a mapping is empty, the clients' metric names differ from each other or
            from `global_metrics`, the clients differ from `client_names`, a value is not a
            finite number, a history series is empty, a finding is not a non-empty string, or
            `folder` is a file.
    """
    columns = _check_metrics(per_client_metrics, global_metrics, client_names)
    if findings is not None:
        if isinstance(findings, str) or not isinstance(findings, Sequence):
            raise ValueError(f"findings must be None or a list of sentences, got {findings!r:.60}")
        for i, finding in enumerate(findings):
            if not isinstance(finding, str) or not finding.strip():
                raise ValueError(f"findings[{i}] must be a non-empty string, got {finding!r:.60}")
    series = _check_history(history)
    if isinstance(notes, str):
        notes = [notes]
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is a file; write_report needs a folder")
    folder.mkdir(parents=True, exist_ok=True)

    lines = [f"# {title}", ""]
    for paragraph in notes:
        lines += [str(paragraph).strip(), ""]
    if findings is not None:
        lines += ["## Findings", ""]
        lines += [f"- {' '.join(finding.split())}" for finding in findings] or ["none"]
        lines += ["", "## Results", ""]
    lines += ["| client | " + " | ".join(_cell(c) for c in columns) + " |",
              "|---" * (len(columns) + 1) + "|"]
    for client, metrics in per_client_metrics.items():
        lines.append(f"| {_cell(client)} | "
                     + " | ".join(f"{float(metrics[c]):.3f}" for c in columns) + " |")
    lines.append(f"| **{_cell(global_label)}** | "
                 + " | ".join(f"**{float(global_metrics[c]):.3f}**" for c in columns) + " |")
    lines += ["", f"![{value_label} per client]({PER_CLIENT_FIGURE})", ""]
    _per_client_figure(per_client_metrics, global_metrics, columns, value_label,
                       global_label).savefig(
        folder / PER_CLIENT_FIGURE, metadata={"Software": None})
    if series:
        lines += ["## Per round", "",
                  "| series | rounds | first | last | max |", "|---|---|---|---|---|"]
        for name, values in series.items():
            lines.append(f"| {_cell(name)} | {len(values)} | {values[0]:.3f} | "
                         f"{values[-1]:.3f} | {max(values):.3f} |")
        lines += ["", f"![{value_label} per round]({HISTORY_FIGURE})", ""]
        _history_figure(series, value_label).savefig(
            folder / HISTORY_FIGURE, metadata={"Software": None})
    elif (folder / HISTORY_FIGURE).exists():
        (folder / HISTORY_FIGURE).unlink()  # a stale figure from an earlier report
    path = folder / REPORT_NAME
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    return path
