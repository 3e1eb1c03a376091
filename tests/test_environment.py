"""The locked environment and the Makefile that builds it."""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CORE = ["tensorflow-federated", "tensorflow", "jupyterlab", "matplotlib", "nbval", "pytest",
        "scikit-learn", "numpy", "jax", "jaxlib"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The tools of the course: they belong in dependency groups, not in what fedlab needs to run.
TOOLS = ["pytest", "pytest-xdist", "nbval", "hypothesis", "ruff", "jupyterlab", "jupyter-book",
         "django-static-mathjax", "nbconvert", "ipykernel"]


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


def _lock_entries() -> dict[str, list[str]]:
    """requirements.lock as {canonical name: [the lines of its entry]}."""
    entries: dict[str, list[str]] = {}
    name = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if match:
            name = canonicalize_name(match.group(1))
            entries[name] = []
        if name and line.strip():
            entries[name].append(line)
    return entries


def _declared(requirements: list) -> dict[str, Requirement]:
    """{canonical name: requirement} of a dependency list, its include-group tables left out."""
    parsed = [Requirement(item) for item in requirements if isinstance(item, str)]
    return {canonicalize_name(req.name): req for req in parsed}


def _group(name: str) -> dict[str, Requirement]:
    """A dependency group of pyproject.toml with the groups it includes, as _declared does."""
    found: dict[str, Requirement] = {}
    for item in PYPROJECT["dependency-groups"][name]:
        found.update(_group(item["include-group"]) if isinstance(item, dict)
                     else _declared([item]))
    return found


def _imported_by_fedlab() -> set[str]:
    """The top-level modules that fedlab's files import, the standard library's and fedlab's
    own left out, wherever the import stands (fedlab imports TensorFlow inside functions)."""
    modules = set()
    for path in sorted((ROOT / "fedlab").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"fedlab", "__future__"}


def test_every_locked_file_has_a_sha256_so_pip_checks_them_all():
    """A hash on every entry puts pip in hash-checking mode for the whole file (pip refuses a
    lock where only some entries carry one), so `make env` verifies every download."""
    entries = _lock_entries()
    assert len(entries) > 150
    unhashed = [name for name, lines in entries.items()
                if not any(re.search(r"--hash=sha256:[0-9a-f]{64}", line) for line in lines)]
    assert not unhashed, f"entries of requirements.lock without a hash: {unhashed}"


def test_fedlab_declares_exactly_the_packages_it_imports():
    """[project].dependencies lists the distribution of every module fedlab imports, and
    nothing fedlab does not import (the course's tools are in dependency groups)."""
    declared = _declared(PYPROJECT["project"]["dependencies"])
    providers = importlib.metadata.packages_distributions()
    imported = {}
    for module in sorted(_imported_by_fedlab()):
        assert module in providers, f"fedlab imports {module}, which no installed package provides"
        imported[module] = {canonicalize_name(d) for d in providers[module]}
    undeclared = sorted(m for m, dists in imported.items() if not dists & set(declared))
    assert not undeclared, f"fedlab imports {undeclared}: add their packages to [project]"
    unused = sorted(set(declared) - set().union(*imported.values()))
    assert not unused, f"[project].dependencies lists {unused}, which fedlab does not import"


def test_the_course_tools_are_dependency_groups_not_runtime_dependencies():
    declared = _declared(PYPROJECT["project"]["dependencies"])
    assert not set(TOOLS) & set(declared)
    course = _group("course")
    assert set(TOOLS) <= set(course)
    assert str(course["pytest-xdist"].specifier) == "==3.8.0"
    assert str(course["django-static-mathjax"].specifier) == "==3.2.2.1"


def test_the_lock_holds_fedlab_and_the_course_group_within_their_ranges():
    lock = {canonicalize_name(k): v
            for k, v in _pins((ROOT / "requirements.lock").read_text().splitlines()).items()}
    wanted = {**_declared(PYPROJECT["project"]["dependencies"]), **_group("course")}
    outside = sorted(f"{name}{req.specifier} (locked: {lock.get(name)})"
                     for name, req in wanted.items()
                     if name not in lock or not req.specifier.contains(lock[name],
                                                                        prereleases=True))
    assert not outside, f"requirements.lock does not satisfy pyproject.toml: {outside}"


def test_the_lock_was_made_by_the_makefiles_lock_recipe():
    """The lock's header holds the command `make lock` runs, so re-locking is repeatable."""
    header = (ROOT / "requirements.lock").read_text().splitlines()[1].lstrip("# ").split()
    recipe = subprocess.run(["make", "--no-print-directory", "-n", "lock"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    command = recipe.split("\n{")[0].replace("\\\n", " ").split()
    assert header == command
    assert "--generate-hashes" in header and header[header.index("--group") + 1] == "course"


def test_the_running_environment_holds_the_locked_versions():
    """This environment (made by `make env`) has every locked package at its locked version: an
    environment older than the lock fails here (`make env` rebuilds it)."""
    lock = {canonicalize_name(k): v
            for k, v in _pins((ROOT / "requirements.lock").read_text().splitlines()).items()}
    # The first of each name on sys.path is the one Python imports; once setuptools has been
    # imported, its own copies of packaging, zipp and others (setuptools/_vendor, appended to
    # sys.path) are listed after the installed ones and must not count.
    installed = {}
    for dist in importlib.metadata.distributions():
        installed.setdefault(canonicalize_name(dist.metadata["Name"]), dist.version)
    differences = sorted(f"{name}: locked {version}, installed {installed.get(name)}"
                         for name, version in lock.items() if installed.get(name) != version)
    assert not differences, (f"{sys.prefix} differs from requirements.lock:\n"
                             + "\n".join(differences))


@pytest.fixture(autouse=True)
def _project_copy(tmp_path):
    """The files the Makefile reads, copied so that a test may change them."""
    (tmp_path / "tools").mkdir()
    for name in ("Makefile", "requirements.lock", "pyproject.toml", "tools/check_setup.sh"):
        shutil.copy2(ROOT / name, tmp_path / name)


def _make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """make in the copy, without the variables a calling make passes down (`make test
    WHEELHOUSE=...` exports WHEELHOUSE and its MAKEFLAGS), so each test sets what it tests."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WHEELHOUSE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=env)


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


def test_setup_from_a_wheelhouse_installs_the_built_wheels_by_version_then_the_hashed_lock(
        tmp_path):
    """jax and sqlalchemy have only source archives on the index; `make wheelhouse` builds their
    wheels, whose hashes the lock cannot know: set-up installs them first, by locked version."""
    (tmp_path / "wheelhouse").mkdir()
    lines = [line.strip() for line in _make(tmp_path, "-n", "env").stdout.splitlines()
             if "pip install" in line]
    lock = _pins((ROOT / "requirements.lock").read_text().splitlines())
    assert lines[0].startswith(".venv/bin/python -m pip install --quiet --no-deps "
                               f"jax=={lock['jax']} sqlalchemy=={lock['sqlalchemy']} "
                               "--no-index --find-links wheelhouse || {")
    assert lines[1].startswith(".venv/bin/python -m pip install --quiet --no-deps "
                               "-r requirements.lock --no-index --find-links wheelhouse || {")
    online = [line for line in _make(tmp_path, "-n", "env", "WHEELHOUSE=").stdout.splitlines()
              if "pip install" in line]
    assert len(online) == 2 and "jax==" not in online[0] and "-r requirements.lock" in online[0]


def _wheel(folder: Path, name: str, version: str, payload: str) -> Path:
    """A minimal pure-Python wheel holding one module; the payload changes its hash."""
    def record(data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return f"sha256={digest.decode()},{len(data)}"

    info = f"{name}-{version}.dist-info"
    files = {f"{name}.py": f"VALUE = {payload!r}\n".encode(),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 .encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n"}
    lines = [f"{path},{record(data)}" for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(lines) + "\n").encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def test_pip_refuses_a_file_that_differs_from_the_locked_hash_and_keeps_one_in_place(tmp_path):
    """What set-up relies on, shown with pip itself and no network: a lock with hashes makes
    `pip install --no-deps -r` refuse a wheel whose sha256 differs, and accept a package that is
    already installed at the locked version (the wheelhouse's built jax and sqlalchemy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True, env=env, timeout=300)
    pip = [sys.executable, "-m", "pip", "--python", str(tmp_path / "venv" / "bin" / "python"),
           "install", "--no-deps", "--no-index", "--find-links"]
    locked = _wheel(tmp_path, "lockedpkg", "1.0", "as locked")
    good = hashlib.sha256(locked.read_bytes()).hexdigest()
    (tmp_path / "wheels").mkdir()
    other = _wheel(tmp_path / "wheels", "lockedpkg", "1.0", "changed")  # same name, other bytes
    lock = tmp_path / "lock.txt"
    lock.write_text(f"lockedpkg==1.0 \\\n    --hash=sha256:{good}\n")

    refused = subprocess.run([*pip, str(tmp_path / "wheels"), "-r", str(lock)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr

    subprocess.run([*pip, str(tmp_path / "wheels"), "lockedpkg==1.0"], check=True, env=env,
                   capture_output=True, timeout=300)  # as set-up installs the built wheels
    kept = subprocess.run([*pip, str(tmp_path / "wheels"), "-r", str(lock)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert kept.returncode == 0, kept.stderr
    assert "Requirement already satisfied: lockedpkg==1.0" in kept.stdout
    assert other.exists()


@pytest.mark.parametrize("target", ["lab", "test"])
def test_lab_and_test_build_the_environment_first(tmp_path, target):
    dry_run = _make(tmp_path, "-n", target)
    assert dry_run.stdout.index("python3.11 -m venv .venv") < dry_run.stdout.index(
        "jupyter lab" if target == "lab" else "pytest")
