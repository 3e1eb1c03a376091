"""The minutes the course quotes are the ones tools/minutes.py computes from the notebooks."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("minutes", ROOT / "tools" / "minutes.py")
minutes = importlib.util.module_from_spec(_spec)
sys.modules["minutes"] = minutes  # dataclasses look the module up by name
_spec.loader.exec_module(minutes)

LESSONS = {m.lesson: m for m in minutes.lessons()}


@pytest.mark.parametrize("page", minutes.PAGES)
def test_the_learning_path_quotes_the_computed_minutes(page):
    quoted = minutes.quoted((ROOT / page).read_text())
    computed = {k: (m.reading_and_running, m.exercises, m.exercise_minutes)
                for k, m in LESSONS.items()}
    assert quoted == computed, f"{page}: run `python tools/minutes.py --update`"


def test_the_workshop_table_quotes_the_computed_minutes_and_run_times():
    # docs/WORKSHOP.md's rows: | NN title | M min | S s | N (X min) |; its plans are built on them.
    text = (ROOT / "docs" / "WORKSHOP.md").read_text()
    quoted = {found[0]: tuple(int(n) for n in found[1:]) for found in re.findall(
        r"^\| (\d\d) [^|]*\| (\d+) min \| (\d+) s \| (\d+) \((\d+) min\) \|$", text, re.M)}
    computed = {k: (m.reading_and_running, m.run_seconds, m.exercises, m.exercise_minutes)
                for k, m in LESSONS.items()}
    assert quoted == computed, "docs/WORKSHOP.md: copy `python tools/minutes.py` into its table"


def test_update_writes_the_computed_minutes(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("| notebook | minutes | exercises |\n|---|---|---|\n"
                    "| [00 Title](x.ipynb) | 1 | 9 (90 min) |\n")
    lesson = LESSONS["00"]
    assert minutes.update(page, [lesson])
    assert minutes.quoted(page.read_text()) == {
        "00": (lesson.reading_and_running, lesson.exercises, lesson.exercise_minutes)}
    assert not minutes.update(page, [lesson])


def test_every_lesson_has_a_run_time_and_exercises():
    assert sorted(LESSONS) == sorted(minutes.RUN_SECONDS)
    assert all(m.exercises >= 2 and m.words > 500 and m.code_lines > 50 for m in LESSONS.values())


def _notebook(tmp_path, cells):
    path = tmp_path / "00_tiny.ipynb"
    path.write_text(json.dumps({"cells": [
        {"cell_type": kind, "source": text, "metadata": {}} for kind, text in cells]}))
    return path


def test_counts_words_code_and_exercises_apart(tmp_path):
    path = _notebook(tmp_path, [
        ("markdown", "# 00 · Tiny\n\nOne two [three](https://example.org/not/read)."),
        ("code", "# NBVAL_IGNORE_OUTPUT\n# Not compared: timing\nx = 1\n\nprint(x)\n"),
        ("markdown", "## Behind the scenes\n\nfour five\n\n## Exercises\n\n"
                     "1. **First.** do it\n2. **Second.** do it too\n"),
        ("code", "exercise_1 = 2\n"),
        ("markdown", "## Summary\n\n- six"),
    ])
    m = minutes.count(path)
    # "# 00 · Tiny One two three" -> 00, Tiny, One, two, three (the '#' and '·' are not words)
    assert (m.words, m.code_lines, m.exercises) == (5 + 5 + 2, 2, 2)


def test_minutes_round_up_to_five(tmp_path):
    m = minutes.Minutes("00", words=minutes.READING_WPM * 6, code_lines=0, run_seconds=1,
                        exercises=1)
    assert m.reading_and_running == 10
    assert m.exercise_minutes == minutes.EXERCISE_MINUTES


def test_a_missing_notebook_or_run_time_is_refused(tmp_path):
    with pytest.raises(ValueError, match="path"):
        minutes.count(tmp_path / "01_missing.ipynb")
    odd = tmp_path / "99_odd.ipynb"
    odd.write_text(json.dumps({"cells": []}))
    with pytest.raises(ValueError, match="RUN_SECONDS"):
        minutes.count(odd)
