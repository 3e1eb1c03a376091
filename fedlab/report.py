"""The report of a federated run: a Markdown table of metrics per client, findings, figures.

Taught in `notebooks/07_capstone_bring_your_own_data.ipynb`, the capstone, which trains on the
tables that `fedlab.byod` loads and ends by writing this report. :func:`write_report` writes
a Markdown file with a table of per-client and global metrics, the findings (plain warnings
about the results) and PNG figures (metrics per client, accuracy per round) into a folder.

Only numpy and matplotlib. Importing this module does nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from fedlab._checks import check_number

__all__ = ["write_report", "REPORT_NAME", "PER_CLIENT_FIGURE", "HISTORY_FIGURE"]

REPORT_NAME = "report.md"
PER_CLIENT_FIGURE = "per_client.png"
HISTORY_FIGURE = "per_round.png"


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
            check_number(f"per_client_metrics[{client!r}][{name!r}]", value)
    if not isinstance(global_metrics, Mapping) or not global_metrics:
        raise ValueError(f"global_metrics must be a non-empty mapping {{metric: value}}, got "
                         f"{global_metrics!r:.60}")
    if set(global_metrics) != set(columns):
        raise ValueError(f"global_metrics has metrics {list(global_metrics)}, but the clients "
                         f"have {columns}; they must be the same")
    for name, value in global_metrics.items():
        check_number(f"global_metrics[{name!r}]", value)
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
        checked[str(name)] = [check_number(f"history[{name!r}][{i}]", v)
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
    if 0 <= min(values) and max(values) <= 1:  # accuracies and the like: zoom in on differences
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
        TypeError: If a metric or history value is not a number.
        ValueError: If a mapping is empty, the clients' metric names differ from each other or
            from `global_metrics`, the clients differ from `client_names`, a value is not
            finite, a history series is empty, a finding is not a non-empty string, or
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
