"""Computes each lesson's minutes (reading and running, and exercises) from the notebooks.

The README, docs/book/intro.md, docs/WORKSHOP.md and each lesson's title cell quote these
numbers; tests/test_minutes.py checks that the README's learning path says what this script
computes, so the numbers cannot drift from the notebooks.

The method, for each lesson notebooks/NN_*.ipynb:

- reading: the words of its Markdown cells at READING_WPM words per minute (technical text read
  with care), link targets and HTML tags not counted;
- code: the non-blank lines of its code cells at CODE_LINES_PER_MINUTE lines per minute, the
  test markers (`# NBVAL_IGNORE_OUTPUT`, `# Not compared: ...`) not counted;
- running: the lesson's run time under nbval on a 2-core machine (RUN_SECONDS, measured by the
  test run; `make test` prints them);
- exercises, reported apart: EXERCISE_MINUTES per numbered exercise. The exercises' own text and
  code are counted there, not in reading.

Reading and running is reading + code + running, rounded up to the next 5 minutes.

Usage: python tools/minutes.py            prints the table
       python tools/minutes.py --markdown prints it as Markdown
       python tools/minutes.py --update   writes the minutes into the learning-path tables of
                                          README.md and docs/book/intro.md (PAGES)
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import course

ROOT = Path(__file__).resolve().parent.parent
READING_WPM = 180
CODE_LINES_PER_MINUTE = 15
EXERCISE_MINUTES = 10
ROUND_TO = 5
PAGES = ("README.md", "docs/book/intro.md")
# A learning-path row: a link to lesson NN first, then `| minutes | N (M min) |` at the end.
TABLE_ROW = re.compile(r"^(\| \[(\d\d) .*\| )(\d+) \| (\d+) \((\d+) min\) \|$", re.M)

# Seconds to run each lesson top to bottom under nbval on 2 cores, from the test runs of
# 2026-12-04/05 (00-07 as listed in docs/WORKSHOP.md; 08-10 from the runs that added them).
RUN_SECONDS = {"00": 8, "01": 16, "02": 12, "03": 33, "04": 25, "05": 28, "06": 35, "07": 17,
               "08": 22, "09": 26, "10": 30}

_EXERCISES_HEADING = re.compile(r"^## Exercises\s*$", re.M)
_NEXT_HEADING = re.compile(r"^## (?!Exercises)", re.M)
_EXERCISE_ITEM = re.compile(r"^\d+\. \*\*", re.M)
_NOT_READ = re.compile(r"^\s*# (NBVAL_\w+|Not compared:)")


@dataclass(frozen=True)
class Minutes:
    """One lesson's counts and minutes."""

    lesson: str
    words: int
    code_lines: int
    run_seconds: int
    exercises: int

    @property
    def reading_and_running(self) -> int:
        raw = (self.words / READING_WPM + self.code_lines / CODE_LINES_PER_MINUTE
               + self.run_seconds / 60)
        return ROUND_TO * math.ceil(raw / ROUND_TO)

    @property
    def exercise_minutes(self) -> int:
        return EXERCISE_MINUTES * self.exercises


def _words(markdown: str) -> int:
    text = re.sub(r"\]\([^)]*\)", "]", markdown)  # link targets are not read
    text = re.sub(r"<[^>]+>", " ", text)
    return len(re.findall(r"[\w`$]\S*", text))


def _code_lines(code: str) -> int:
    return sum(1 for line in code.splitlines() if line.strip() and not _NOT_READ.match(line))


def count(path: Path) -> Minutes:
    """Counts one lesson notebook; the part between `## Exercises` and the next `## ` heading
    is the exercises'."""
    if not path.is_file():
        raise ValueError(f"path: no notebook at {path}")
    cells = json.loads(path.read_text())["cells"]
    words = code_lines = exercises = 0
    in_exercises = False
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            read = ""
            rest = text
            while rest:
                if in_exercises:
                    end = _NEXT_HEADING.search(rest)
                    part, rest = (rest[:end.start()], rest[end.start():]) if end else (rest, "")
                    exercises += len(_EXERCISE_ITEM.findall(part))
                    if end:
                        in_exercises = False
                else:
                    start = _EXERCISES_HEADING.search(rest)
                    part, rest = ((rest[:start.start()], rest[start.end():]) if start
                                  else (rest, ""))
                    read += part + "\n"
                    if start:
                        in_exercises = True
            words += _words(read)
        elif cell["cell_type"] == "code" and not in_exercises:
            code_lines += _code_lines(text)
    lesson = path.name[:2]
    if lesson not in RUN_SECONDS:
        raise ValueError(f"path: no run time recorded for lesson {lesson} in RUN_SECONDS")
    return Minutes(lesson, words, code_lines, RUN_SECONDS[lesson], exercises)


def lessons(folder: Path = ROOT / "notebooks") -> list[Minutes]:
    """Counts every lesson notebooks/NN_*.ipynb, in order."""
    return [count(p) for p in course.lessons(folder)]


def quoted(text: str) -> dict[str, tuple[int, int, int]]:
    """{lesson: (minutes, exercises, exercise minutes)} from a page's learning-path table."""
    return {m.group(2): (int(m.group(3)), int(m.group(4)), int(m.group(5)))
            for m in TABLE_ROW.finditer(text)}


def update(page: Path, rows: list[Minutes]) -> bool:
    """Writes `rows`' minutes into `page`'s learning-path table; True if the page changed."""
    by_lesson = {m.lesson: m for m in rows}

    def row(found: re.Match) -> str:
        m = by_lesson[found.group(2)]
        return (f"{found.group(1)}{m.reading_and_running} | {m.exercises} "
                f"({m.exercise_minutes} min) |")

    text = page.read_text()
    new = TABLE_ROW.sub(row, text)
    if new != text:
        page.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown table rows")
    parser.add_argument("--update", action="store_true",
                        help="write the minutes into the tables of " + " and ".join(PAGES))
    args = parser.parse_args(argv)
    rows = lessons()
    if args.update:
        for page in PAGES:
            print(f"{page}: {'updated' if update(ROOT / page, rows) else 'already right'}")
        return 0
    if args.markdown:
        print("| lesson | words | code lines | run (s) | reading and running (min) | exercises |")
        print("|---|---|---|---|---|---|")
        for m in rows:
            print(f"| {m.lesson} | {m.words} | {m.code_lines} | {m.run_seconds} | "
                  f"{m.reading_and_running} | {m.exercises} x {EXERCISE_MINUTES} min |")
    else:
        print(f"{'lesson':<7}{'words':>7}{'code':>6}{'run s':>7}{'minutes':>9}{'exercises':>11}"
              f"{'ex. min':>9}")
        for m in rows:
            print(f"{m.lesson:<7}{m.words:>7}{m.code_lines:>6}{m.run_seconds:>7}"
                  f"{m.reading_and_running:>9}{m.exercises:>11}{m.exercise_minutes:>9}")
        total = sum(m.reading_and_running for m in rows)
        print(f"total reading and running: {total} min; exercises: "
              f"{sum(m.exercise_minutes for m in rows)} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
