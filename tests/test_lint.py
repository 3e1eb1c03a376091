"""Ruff, the linter, over the course's Python code, with the settings in pyproject.toml.

The rules are pycodestyle's errors and warnings (E, W), pyflakes (F) and import order (I), at
99 columns, over fedlab/, tests/, tools/ and benchmarks/. `[tool.ruff.lint.per-file-ignores]`
lists what ruff found when it was introduced, file by file, until each file's owner fixes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["fedlab", "tests", "tools", "benchmarks"]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]


def _ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Runs the environment's ruff (requirements.lock pins it) with `args`."""
    try:
        import ruff  # noqa: F401  (only to say clearly when it is missing)
    except ImportError:
        pytest.fail("ruff is not installed in this environment: it is in requirements.lock, "
                    "so `make env` installs it (or pip install the ruff line of the lock)")
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def _found(result: subprocess.CompletedProcess, root: Path) -> dict[str, set[str]]:
    """{file relative to root: the rule codes ruff reported in it}, from its JSON output."""
    found: dict[str, set[str]] = {}
    for item in json.loads(result.stdout):
        name = Path(item["filename"]).resolve().relative_to(root).as_posix()
        found.setdefault(name, set()).add(item["code"])
    return found


def test_ruff_finds_nothing_in_the_course_code():
    result = _ruff("check", "--no-cache", "--output-format", "concise", *FOLDERS)
    if result.returncode != 0:
        pytest.fail("ruff found problems (`ruff check --fix` mends those marked [*]):\n"
                    + result.stdout + result.stderr, pytrace=False)


def test_ruff_flags_each_selected_rule_with_the_project_settings(tmp_path):
    """The same settings catch a problem of each selected kind, and the line limit is 99."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sys\n"                  # I001 with the next line (not sorted), F401 (unused)
        "import os\n"
        "\n"
        "x = 1 \n"                      # W291: trailing whitespace
        "print(os.sep, x == None)\n"    # E711: comparison to None
        f"y = '{'a' * 93}'\n"           # 99 characters: allowed
        f"z = '{'a' * 94}'\n")          # 100 characters: E501
    result = _ruff("check", "--no-cache", "--output-format", "json", "--config",
                   str(ROOT / "pyproject.toml"), str(bad), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    items = json.loads(result.stdout)
    assert {item["code"] for item in items} == {"I001", "F401", "W291", "E711", "E501"}
    assert [item["location"]["row"] for item in items if item["code"] == "E501"] == [7]


def test_every_ignored_rule_is_still_broken_in_its_file():
    """A file fixed by its owner leaves per-file-ignores, so the rule guards it from then on."""
    ignored = CONFIG["lint"].get("per-file-ignores", {})
    for name in ignored:
        assert (ROOT / name).is_file(), f"per-file-ignores names {name}, which does not exist"
    result = _ruff("check", "--no-cache", "--output-format", "json", "--config",
                   "lint.per-file-ignores = {}", *FOLDERS)
    found = _found(result, ROOT)
    stale = sorted(f"{name}: {code}" for name, codes in ignored.items() for code in codes
                   if code not in found.get(name, set()))
    assert not stale, ("these files no longer break these rules; delete them from "
                       "[tool.ruff.lint.per-file-ignores] in pyproject.toml:\n" + "\n".join(stale))


def test_the_settings_cover_the_course_code_and_not_the_notebooks():
    assert CONFIG["line-length"] == 99
    assert set(CONFIG["lint"]["select"]) >= {"E", "F", "W", "I"}
    assert "notebooks" in CONFIG["extend-exclude"]
    listed = _ruff("check", "--show-files", *FOLDERS)
    files = {Path(line).resolve().relative_to(ROOT).parts[0]
             for line in listed.stdout.splitlines() if line.strip()}
    assert files == set(FOLDERS), files
