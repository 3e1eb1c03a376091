"""fedlab as a package: importing it does nothing; its docstring maps each module to a lesson."""

import re
import subprocess
import sys
from pathlib import Path

import fedlab

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "fedlab").glob("*.py") if p.stem != "__init__")
LESSONS = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
ENTRY = re.compile(r"^- ``(\w+)``\s+(\d\d)\b", re.MULTILINE)


def test_importing_fedlab_imports_nothing_else():
    code = ("import sys; before = set(sys.modules); import fedlab; "
            "print(sorted(m for m in set(sys.modules) - before if m != 'fedlab'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_the_docstring_maps_every_public_module_to_an_existing_lesson():
    listed = dict(ENTRY.findall(fedlab.__doc__))
    public = [m for m in MODULES if not m.startswith("_")]
    assert sorted(listed) == public, "add or remove the module's line in fedlab/__init__.py"
    assert set(listed.values()) <= LESSONS


def test_the_docstring_names_every_private_module():
    for module in (m for m in MODULES if m.startswith("_")):
        assert f"``{module}``" in fedlab.__doc__
