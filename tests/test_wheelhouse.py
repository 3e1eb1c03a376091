"""`make wheelhouse` and the set-up from it with no network.

`make wheelhouse` downloads every locked wheel into wheelhouse/ (or the folder named by the
WHEELHOUSE variable, `make test WHEELHOUSE=...`); it needs the network, which the tests do not
have (tools/offline.sh), so the tests that need a wheelhouse use one made before and skip when
there is none (CI makes one first).

The offline install itself is not repeated here: on a fresh clone CI's `make test` builds .venv
from the wheelhouse that .ci/run has just made, with pip's index switched off (--no-index), and
set-up records in the stamp .venv/.installed where it installed from and which lock it
installed. So the environment running these tests IS the offline install:
test_this_environment_is_the_offline_install reads the stamp (under CI it must say wheelhouse),
compares the environment's packages with requirements.lock and checks that fedlab comes from
this checkout; the notebooks, run by nbval in the same test run, are the proof that TensorFlow
Federated works in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
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


def _lock(text: str | None = None) -> dict[str, str]:
    """requirements.lock's pins (or those of `text`), {canonical name: version}."""
    if text is None:
        text = (ROOT / "requirements.lock").read_text()
    pins = {}
    for line in text.splitlines():
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
    # The stamp records the source, which test_this_environment_is_the_offline_install reads.
    assert "'source: %s\\nlock-sha256: %s\\n' 'package index'" in online
    assert "'source: %s\\nlock-sha256: %s\\n' 'wheelhouse wheelhouse --no-index'" in offline


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


STAMP = Path(sys.prefix) / ".installed"  # written by `make env` into the environment it built


def _read_stamp(text: str) -> dict[str, str]:
    """The stamp's `key: value` lines (an empty stamp, from an older set-up, gives {})."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def install_record_problems(stamp: dict[str, str], lock_text: str,
                            installed: dict[str, str]) -> list[str]:
    """What makes an environment differ from an offline install of this requirements.lock:
    the stamp's lock hash, then every package added, missing or of another version. `installed`
    is {canonical name: version} of the environment, pip and fedlab left out."""
    problems = []
    digest = hashlib.sha256(lock_text.encode()).hexdigest()
    if stamp.get("lock-sha256") != digest:
        problems.append(f"the stamp records lock {stamp.get('lock-sha256')}, requirements.lock "
                        f"is {digest}: set-up installed another lock")
    lock = _lock(lock_text)
    problems += sorted(
        f"{name}: locked {lock.get(name)}, installed {installed.get(name)}"
        for name in set(lock) | set(installed)
        if name not in lock or name not in installed
        or Version(lock[name]) != Version(installed[name]))
    return problems


def test_the_install_record_check_can_fail():
    lock = "numpy==1.25.2 \\\n    --hash=sha256:00\nscipy==1.11.4\n"
    good = {"lock-sha256": hashlib.sha256(lock.encode()).hexdigest(),
            "source": "wheelhouse wheelhouse --no-index"}
    assert install_record_problems(good, lock, {"numpy": "1.25.2", "scipy": "1.11.4"}) == []
    assert install_record_problems(good, lock, {"numpy": "1.26.0", "scipy": "1.11.4",
                                                "six": "1.16.0"}) == [
        "numpy: locked 1.25.2, installed 1.26.0", "six: locked None, installed 1.16.0"]
    stale = dict(good, **{"lock-sha256": "0" * 64})
    assert install_record_problems(stale, lock, {"numpy": "1.25.2", "scipy": "1.11.4"})[0] \
        .startswith("the stamp records lock 0000")
    assert _read_stamp("") == {}
    assert _read_stamp("source: wheelhouse w --no-index\nlock-sha256: ab\n") == {
        "source": "wheelhouse w --no-index", "lock-sha256": "ab"}


def test_this_environment_is_the_offline_install(tmp_path):
    """Under CI the environment running the tests was built by `make test` from the wheelhouse
    alone: the stamp says so, the lock it installed is today's, the packages are exactly the
    locked ones, and fedlab is this checkout's."""
    stamp = _read_stamp(STAMP.read_text()) if STAMP.exists() else {}
    source = stamp.get("source", "")
    if not (source.startswith("wheelhouse") and "--no-index" in source):
        said = source or f"an unknown source ({STAMP.name} records none)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"under CI the tests must run in an environment that `make test` built "
                        f"from the wheelhouse with no index; this one was installed from {said}")
        pytest.skip(f"this environment was installed from {said}, not from a wheelhouse alone")
    listed = subprocess.run(
        [sys.executable, "-I", "-c",
         "import importlib.metadata as m, json, fedlab; "
         "print(json.dumps([{d.metadata['Name']: d.version for d in m.distributions()}, "
         "fedlab.__file__]))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True)
    distributions, fedlab_file = json.loads(listed.stdout)
    installed = {canonicalize_name(k): v for k, v in distributions.items()}
    assert installed.pop("fedlab") == "0.1.0"
    installed.pop("pip")  # comes with the environment itself, as in every venv
    assert fedlab_file == str(ROOT / "fedlab" / "__init__.py")
    problems = install_record_problems(stamp, (ROOT / "requirements.lock").read_text(), installed)
    assert not problems, "the environment differs from the lock:\n" + "\n".join(problems)
