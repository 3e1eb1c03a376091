"""The locked environment and the Makefile that builds it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ["tensorflow-federated", "tensorflow", "jupyterlab", "matplotlib", "nbval", "pytest",
        "scikit-learn", "numpy", "jax", "jaxlib"]


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*(?:- )?([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_lock_pins_the_core_packages():
    lock = _pins((ROOT / "requirements.lock").read_text().splitlines())
    assert lock["tensorflow-federated"] == "0.87.0"
    assert lock["tensorflow"].startswith("2.14.")
    assert lock["jupyterlab"].startswith("4.")
    assert lock["jax"] == lock["jaxlib"] == "0.4.13"  # the workaround, see pyproject.toml
    assert all(name in lock for name in CORE)


def test_environment_yml_agrees_with_the_lock():
    lock = _pins((ROOT / "requirements.lock").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    conda = _pins(text.splitlines())
    assert "  - python=3.11\n" in text
    # Every locked package but TFF itself (installed with --no-deps, see environment.yml).
    assert set(lock) - set(conda) == {"tensorflow-federated"}
    assert set(conda) <= set(lock)
    assert {name: conda[name] for name in conda} == {name: lock[name] for name in conda}
    assert "pip install --no-deps tensorflow-federated==" + lock["tensorflow-federated"] in text


@pytest.fixture(autouse=True)
def _project_copy(tmp_path):
    """The files the Makefile reads, copied so that a test may change them."""
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)


def _make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_setup_refuses_other_platforms_in_one_sentence(tmp_path):
    out = _make(tmp_path, "env", "UNAME=Darwin/arm64")
    assert out.returncode != 0
    assert "fedlab needs Linux on x86-64" in out.stdout
    assert "Darwin/arm64" in out.stdout
    assert not (tmp_path / ".venv").exists()


def test_setup_refuses_a_missing_python(tmp_path):
    out = _make(tmp_path, "env", "PYTHON=/nonexistent/python3.11")
    assert out.returncode != 0
    assert "fedlab needs Python 3.11" in out.stdout and "was not found" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_setup_refuses_another_python_version(tmp_path):
    fake = tmp_path / "python3.12"
    fake.write_text("#!/bin/sh\ncase \"$2\" in *python_version*) echo 3.12.4;; esac\nexit 1\n")
    fake.chmod(0o755)
    out = _make(tmp_path, "env", f"PYTHON={fake}")
    assert out.returncode != 0
    assert "is Python 3.12.4" in out.stdout


def test_environment_is_reused_and_rebuilt_when_the_lock_changes(tmp_path):
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").touch()
    assert _make(tmp_path, "-q", "env").returncode == 0  # up to date: nothing to do
    lock = tmp_path / "requirements.lock"
    lock.write_text(lock.read_text() + "\n")
    future = (tmp_path / ".venv" / ".installed").stat().st_mtime + 10
    os.utime(lock, (future, future))
    dry_run = _make(tmp_path, "-n", "env")
    assert "rm -rf .venv" in dry_run.stdout
    assert "pip install --quiet --no-deps -r requirements.lock" in dry_run.stdout


@pytest.mark.parametrize("target", ["lab", "test"])
def test_lab_and_test_build_the_environment_first(tmp_path, target):
    dry_run = _make(tmp_path, "-n", target)
    assert dry_run.stdout.index("python3.11 -m venv .venv") < dry_run.stdout.index(
        "jupyter lab" if target == "lab" else "pytest")
