"""Typesets the book's formulas with a copy of MathJax shipped inside the site: no network.

Sphinx's MathJax renderer loads MathJax from a CDN by default. The book must work offline, so
`mathjax_path` in _config.yml names a file under the site's `_static/` folder instead
(`mathjax/tex-chtml.js`), and this extension puts it there when the build has finished: MathJax
3.2.2's TeX-to-HTML component (`es5/tex-chtml.js`), the web fonts it draws with
(`es5/output/chtml/fonts/woff-v2/`, found by MathJax next to the script) and MathJax's LICENSE.
Nothing else of MathJax is copied: a formula that needs a TeX extension which `tex-chtml.js`
does not contain (MathJax then asks for `input/tex/extensions/NAME.js`) fails the book test's
browser check with a 404, and the file is then added to FILES below.

The copy comes from the Python package django-static-mathjax 3.2.2.1 (its import name is
`mathjax`; requirements.lock, docs group), which ships MathJax 3.2.2 as plain files. MathJax is
copyright The MathJax Consortium and licensed under the Apache License 2.0 (its package.json and
LICENSE); the LICENSE file is shipped beside it in the built site (`_static/mathjax/LICENSE`).
"""

from __future__ import annotations

import importlib.util
import json
import posixpath
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

PACKAGE = "mathjax"  # the import name of django-static-mathjax
VERSION = "3.2.2"
FONTS = "output/chtml/fonts/woff-v2"  # relative to the script: MathJax's default font URL
INSTALL = "install django-static-mathjax==3.2.2.1 (it is in requirements.lock's docs group)"


def mathjax_source() -> Path:
    """The folder holding MathJax's files in the installed package (`.../mathjax/static/mathjax`).

    Raises ExtensionError if the package is missing or is not MathJax 3.2.2.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(f"the book ships MathJax for its formulas, but the Python package "
                             f"'{PACKAGE}' is not installed: {INSTALL}")
    root = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    try:
        version = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        version = None
    if version != VERSION:
        raise ExtensionError(f"the book ships MathJax {VERSION}, but the package '{PACKAGE}' "
                             f"at {root.parent.parent} holds {version or 'no MathJax'}: {INSTALL}")
    return root


def files_to_ship(script: str) -> list[tuple[str, str]]:
    """(path in the package's folder, path under the script's folder in the site) for each file.

    `script` is the component's file name, e.g. "tex-chtml.js"; it must exist in MathJax's
    `es5/` folder.
    """
    source = mathjax_source()
    es5 = source / "es5"
    if not (es5 / script).is_file():
        raise ExtensionError(f"mathjax_path names {script!r}, which MathJax {VERSION} does not "
                             f"have in {es5}; use one of its components, e.g. 'tex-chtml.js'")
    fonts = sorted((es5 / FONTS).glob("*.woff"))
    if not fonts:
        raise ExtensionError(f"no MathJax fonts in {es5 / FONTS}: {INSTALL}")
    shipped = [(f"es5/{script}", script), ("LICENSE", "LICENSE")]
    shipped += [(f"es5/{FONTS}/{font.name}", f"{FONTS}/{font.name}") for font in fonts]
    return shipped


def check_path(app, config) -> None:
    """Refuses a `mathjax_path` that would load MathJax from the network."""
    path = config.mathjax_path
    if "//" in path or path.startswith("/") or not path.endswith(".js"):
        raise ExtensionError(f"mathjax_path is {path!r}: the book loads nothing from the "
                             f"network, so it must name a script under _static/, such as "
                             f"'mathjax/tex-chtml.js'")


def ship(app, exception) -> None:
    """Copies MathJax into the built site's `_static/` folder, where `mathjax_path` points."""
    if exception is not None or app.builder.format != "html":
        return
    folder, script = posixpath.split(app.config.mathjax_path)
    target = Path(app.outdir) / "_static" / folder
    source = mathjax_source()
    for inside, shipped in files_to_ship(script):
        (target / shipped).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / inside, target / shipped)


def setup(app):
    mathjax_source()  # a missing MathJax stops the build at once, before any notebook runs
    app.connect("config-inited", check_path)
    app.connect("build-finished", ship)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
