"""`make wheelhouse` and the set-up from it with no network.

`make wheelhouse` downloads every locked wheel into wheelhouse/ (or the folder named by the
WHEELHOUSE variable, `make test WHEELHOUSE=...`); it needs the network, which the tests do not
have (tools/offline.sh), so the tests that need a wheelhouse use one made before and skip when
there is none (CI makes one first). The slow test runs the very recipe users run, `make env`,
into a new environment, with pip's configuration files, cache and index out of reach: the
wheelhouse alone must suffice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / (os.environ.get("WHEELHOUSE") or "wheelhouse")
SHOWN = WHEELHOUSE.relative_to(ROOT) if WHEELHOUSE.is_relative_to(ROOT) else WHEELHOUSE
NO_WHEELHOUSE = f"no {SHOWN}/: run `make wheelhouse` (needs the network) first; CI does"
# The lock's platform (`make lock`): Linux x86-64 with glibc 2.31 or newer, CPython 3.11.
PLATFORMS = ([f"manylinux_2_{v}_x86_64" for v in range(31, 4, -1)]
             + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"])
SUPPORTED = set(cpython_tags((3, 11), ["cp311"], PLATFORMS)) | set(
    compatible_tags((3, 11), "cp311", PLATFORMS))

# Run in the new environment: fedlab's set-up, then one federated computation in TFF's worker.
PROOF = """
import numpy as np
from fedlab import runtime

runtime.setup(seed=0, verbose=False)
import fedlab
import tensorflow_federated as tff


@tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
def mean(values):
    return tff.federated_mean(values)


assert mean([1.0, 2.0, 6.0]) == 3.0
print(fedlab.__file__)
"""


def _lock() -> dict[str, str]:
    """requirements.lock's pins, {canonical name: version}."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _installs_on_the_lock_platform(path: Path, tags) -> bool:
    """True if the wheel installs and runs on Linux x86-64 (glibc 2.31) with CPython 3.11. A
    wheel built from source here is tagged linux_x86_64: fine if it holds no compiled code (as
    sqlalchemy built without its C speed-ups), as Linux then runs it whatever its glibc."""
    if tags & SUPPORTED:
        return True
    if any(t.interpreter == "cp311" and t.platform == "linux_x86_64" for t in tags):
        with zipfile.ZipFile(path) as wheel:
            return not any(name.endswith(".so") or ".so." in name for name in wheel.namelist())
    return False


def _need_wheelhouse() -> None:
    """Skips the test when there is no wheelhouse (fails under CI, which must make one first)."""
    if WHEELHOUSE.is_dir():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"no {SHOWN}/ under CI: .ci/run must run `make wheelhouse` (it needs the "
                    f"network) before `make test`")
    pytest.skip(NO_WHEELHOUSE)


def _environment() -> dict[str, str]:
    """This process's environment without the variables that would steer make or pip: the
    WHEELHOUSE and make's own settings (`make test WHEELHOUSE=...` passes them down), PIP_*."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PIP_")
            and k not in ("WHEELHOUSE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def _make(cwd: Path, *args: str, timeout: float = 60, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env or _environment())


def test_setup_installs_from_the_wheelhouse_when_the_folder_exists(tmp_path):
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    online = _make(tmp_path, "-n", "env").stdout
    assert "pip install --quiet --no-deps -r requirements.lock" in online
    assert [line.strip() for line in online.splitlines() if "-r requirements.lock" in line] == [
        ".venv/bin/python -m pip install --quiet --no-deps -r requirements.lock"]
    assert "--no-index" not in online and "--find-links" not in online
    (tmp_path / "wheelhouse").mkdir()
    offline = _make(tmp_path, "-n", "env").stdout
    assert "-r requirements.lock --no-index --find-links wheelhouse || {" in offline
    assert "wheelhouse lacks a wheel of requirements.lock: run make wheelhouse again" in offline
    assert "-e . --no-index --find-links wheelhouse\n" in offline
    assert "from wheelhouse with no network" in offline
    assert "--no-index" not in _make(tmp_path, "-n", "env", "WHEELHOUSE=").stdout


def test_the_wheelhouse_holds_exactly_the_locked_wheels():
    """One wheel per pin, of the pinned version, installable on the lock's platform: a wheelhouse
    made for an older lock, or on a machine whose wheels others cannot use, is caught here."""
    _need_wheelhouse()
    lock = _lock()
    found: dict[str, list[str]] = {}
    problems = []
    for path in sorted(WHEELHOUSE.iterdir()):
        if path.suffix != ".whl":
            problems.append(f"{path.name} is not a wheel")
            continue
        name, version, _, tags = parse_wheel_filename(path.name)
        found.setdefault(name, []).append(path.name)
        if name in lock and version != Version(lock[name]):
            problems.append(f"{path.name} is not the locked {name}=={lock[name]}")
        if not _installs_on_the_lock_platform(path, tags):
            problems.append(f"{path.name} does not install on Linux x86-64 (glibc 2.31) "
                            f"with CPython 3.11")
    problems += [f"{name} has {len(files)} wheels: {', '.join(files)}"
                 for name, files in found.items() if len(files) > 1]
    problems += [f"{name}=={version} is missing" for name, version in sorted(lock.items())
                 if name not in found]
    problems += [f"{name} is not in requirements.lock" for name in sorted(found)
                 if name not in lock]
    assert not problems, (f"{WHEELHOUSE} does not match requirements.lock; run `make wheelhouse` "
                          f"again:\n" + "\n".join(problems))


@pytest.mark.slow
def test_setup_from_the_wheelhouse_alone(tmp_path):
    """`make env` into a new environment installs the locked set from the wheelhouse, with pip's
    configuration files (find-links, extra indexes, constraints) and cache switched off, and
    TensorFlow Federated runs a federated computation in it, with fedlab from this repository."""
    _need_wheelhouse()
    venv = tmp_path / "venv"
    env = _environment()
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1")
    try:
        setup = _make(ROOT, "env", f"VENV={venv}", f"WHEELHOUSE={WHEELHOUSE}", timeout=1800,
                      env=env)
        assert setup.returncode == 0, f"make env failed:\n{setup.stdout}\n{setup.stderr}"
        assert f"from {WHEELHOUSE} with no network" in setup.stdout
        assert (venv / ".installed").exists()

        listed = subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "import importlib.metadata as m, json; "
             "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"],
            capture_output=True, text=True, timeout=120, env=env, check=True)
        installed = {canonicalize_name(k): v for k, v in json.loads(listed.stdout).items()}
        assert installed.pop("fedlab") == "0.1.0"
        installed.pop("pip")  # comes with the environment itself, as in every venv
        lock = _lock()
        differences = sorted(
            f"{name}: locked {lock.get(name)}, installed {installed.get(name)}"
            for name in set(lock) | set(installed)
            if name not in lock or name not in installed
            or Version(lock[name]) != Version(installed[name]))
        assert not differences, "the environment differs from the lock:\n" + "\n".join(differences)

        proof = subprocess.run([str(venv / "bin" / "python"), "-c", PROOF], cwd=tmp_path,
                               capture_output=True, text=True, timeout=600, env=env)
        assert proof.returncode == 0, proof.stdout + proof.stderr
        assert proof.stdout.strip().splitlines()[-1] == str(ROOT / "fedlab" / "__init__.py")
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # about 2.8 GB
