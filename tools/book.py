"""Builds the course's book (docs/book/) as a static website with Jupyter Book 1.

    python tools/book.py [--out _build/book] [--stored-outputs]

`make book` runs it offline (inside tools/offline.sh): every notebook and solution is executed
afresh in a fresh kernel, so the pages show what the code makes today. With `--stored-outputs`
no notebook is executed and the pages show the outputs stored in the notebooks: the test run
builds the book this way (tests/test_book.py), because nbval checks in the same run that a fresh
execution reproduces those outputs. Either way a notebook error or a Sphinx warning fails the
build (-W --keep-going), and the site is written to OUT/_build/html/ (open index.html there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "book" / "_config.yml"
TOC = ROOT / "docs" / "book" / "_toc.yml"
STORED_CONFIG = "_config_stored_outputs.yml"  # written into --out by --stored-outputs


def stored_outputs_config(config: Path, out: Path) -> Path:
    """Writes to `out` a copy of the book's config that executes no notebook; returns its path.

    Everything else is the same; the paths of local Sphinx extensions, which Jupyter Book reads
    relative to the config file, are made absolute so that the copy finds them.
    """
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    if not isinstance(settings, dict) or "execute" not in settings:
        raise ValueError(f"config: {config} has no 'execute' section to turn off")
    settings["execute"]["execute_notebooks"] = "off"
    extensions = settings.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = (config.parent / folder).resolve().as_posix()
    out.mkdir(parents=True, exist_ok=True)
    copy = out / STORED_CONFIG
    copy.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return copy


def build_command(out: Path, config: Path = CONFIG) -> list[str]:
    """The jupyter-book command line that builds the whole book from ROOT into `out`."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return [str(jupyter_book), "build", str(ROOT), "--all", "-W", "--keep-going",
            "--config", str(config), "--toc", str(TOC), "--path-output", str(out)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "book",
                        help="folder for the build; the site goes to OUT/_build/html "
                             "(default: _build/book)")
    parser.add_argument("--stored-outputs", action="store_true",
                        help="show the notebooks' stored outputs instead of executing them")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    config = stored_outputs_config(CONFIG, out) if args.stored_outputs else CONFIG
    command = build_command(out, config)
    if not Path(command[0]).is_file():
        parser.error(f"{command[0]} not found: run this with the course's environment "
                     f"(.venv/bin/python tools/book.py)")
    return subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main())
