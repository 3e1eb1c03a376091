"""The course as a static HTML book (docs/book/), built once and checked as a reader sees it.

The test run builds the book with tools/book.py --stored-outputs into a temporary folder: the
pages show the outputs stored in the notebooks, which nbval checks in the same run against a
fresh execution, so no notebook is executed twice. (`make book` runs the same tool without that
flag and executes every notebook.) One test checks the built files without a browser. Another
serves the site on 127.0.0.1 and opens every page in headless Chromium through the DevTools
protocol (tools/browser.py), checking what a reader gets: the notebook's title, the navigation
to every page, the page's table of contents, previous and next links, figures that load,
formulas typeset by the MathJax shipped with the site, and that the page asked for nothing that
the server lacks and nothing from anywhere but the local server. It saves screenshots to
_build/book/screenshots/ for a person to look at.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib.util
import json
import posixpath
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import book  # tools/book.py
import browser as browser_tools  # tools/browser.py
import course  # tools/course.py

ROOT = Path(__file__).resolve().parent.parent
Chromium = browser_tools.Chromium


def load_extension(path: Path):
    """Imports the book's Sphinx extension at `path` (docs/book/_ext is not on the path)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


local_mathjax = load_extension(ROOT / "docs" / "book" / "_ext" / "local_mathjax.py")

INTRO = ROOT / "docs" / "book" / "intro.md"
SCREENSHOTS = ROOT / "_build" / "book" / "screenshots"
SCREENSHOT_PAGE = "notebooks/03_aggregation"  # a lesson with figures, shown in the screenshots
FORMULA_PAGE = "notebooks/02_local_training"  # a lesson with formulas, shown in a screenshot
BUILD_TIMEOUT = 900  # seconds; the build from stored outputs took about 45 s on 2 cores
LOCAL_SCHEMES = ("data:", "blob:", "about:")  # URLs that never leave the browser
MATH_CLASS = 'class="math notranslate nohighlight"'  # Sphinx's element around each formula


# ---------------------------------------------------------------------------------------------
# What the book should contain, from the sources


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of the book: its Sphinx document name, its title, its stored PNG outputs and
    the formulas of its Markdown."""

    docname: str  # e.g. "notebooks/03_aggregation"; the page is docname + ".html"
    title: str
    png_outputs: int  # figures the notebook's stored outputs hold; 0 for the intro
    formulas: int = 0  # $...$ and $$...$$ in the Markdown, outside code

    @property
    def html(self) -> str:
        return self.docname + ".html"


def markdown_title(text: str) -> str:
    """The text of the first level-1 heading (`# ...`) in Markdown source."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")
    raise ValueError("no level-1 heading")


FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
FORMULA = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$\n]+?\$", re.S)


def count_formulas(markdown: str) -> int:
    """The formulas MyST's dollarmath finds in `markdown`: $$...$$ and $...$ outside code."""
    return len(FORMULA.findall(CODE_SPAN.sub("", FENCE.sub("", markdown))))


def notebook_page(path: Path) -> Page:
    """A notebook's page: its title from its first heading, its figures from its outputs."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(cell["source"]) for cell in nb["cells"]
                         if cell["cell_type"] == "markdown")
    pngs = sum("image/png" in output.get("data", {})
               for cell in nb["cells"] if cell["cell_type"] == "code"
               for output in cell.get("outputs", []))
    docname = path.relative_to(ROOT).with_suffix("").as_posix()
    return Page(docname, markdown_title(markdown), pngs, count_formulas(markdown))


def lesson_paths() -> list[Path]:
    """The lessons, NN_name.ipynb, in teaching order (tools/course.py)."""
    return course.lessons()


def solution_paths() -> list[Path]:
    return course.solutions()


def book_pages() -> list[Page]:
    """Every page in reading order: the intro, the lessons 00-10, then their solutions."""
    text = INTRO.read_text(encoding="utf-8")
    intro = Page("docs/book/intro", markdown_title(text), 0, count_formulas(text))
    return [intro] + [notebook_page(path) for path in lesson_paths() + solution_paths()]


def test_count_formulas():
    """Formulas are counted as dollarmath finds them: not in code, not an escaped dollar."""
    text = ("Inline $a^2$ and $$\\sum_k x_k$$ on a line, `$not$` in code, \\$5 escaped,\n"
            "```python\nprint('$x$')\n```\n$$\nw = \\bar w\n$$\n")
    assert count_formulas(text) == 3
    assert count_formulas("no math here, $5") == 0


# ---------------------------------------------------------------------------------------------
# The build, once per session


def makefile_recipe(target: str) -> list[str]:
    """The words of a Makefile target's recipe (its tab-indented lines, continuations joined)."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().removesuffix("\\"))
    return shlex.split(" ".join(recipe))


def test_make_book_executes_and_the_test_build_does_not(tmp_path: Path):
    """`make book` runs tools/book.py without --stored-outputs (so it executes every notebook);
    the test's copy of the config differs from the book's only in not executing."""
    words = makefile_recipe("book")
    assert "tools/book.py" in words and "--stored-outputs" not in words, words
    original = yaml.safe_load(book.CONFIG.read_text(encoding="utf-8"))
    assert original["execute"]["execute_notebooks"] == "force"
    copy = yaml.safe_load(book.stored_outputs_config(book.CONFIG, tmp_path).read_text())
    assert copy["execute"].pop("execute_notebooks") == "off"
    assert original["execute"].pop("execute_notebooks") == "force"
    for name, folder in copy["sphinx"]["local_extensions"].items():
        assert Path(folder).is_absolute() and (Path(folder) / f"{name}.py").is_file(), folder
        copy["sphinx"]["local_extensions"][name] = original["sphinx"]["local_extensions"][name]
    assert copy == original
    command = book.build_command(tmp_path, tmp_path / book.STORED_CONFIG)
    assert command[1:3] == ["build", str(ROOT)] and "-W" in command, command
    assert command[command.index("--config") + 1] == str(tmp_path / book.STORED_CONFIG)


def test_stored_outputs_config_refuses_a_config_without_execute(tmp_path: Path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\n")
    with pytest.raises(ValueError, match="config: .* no 'execute' section"):
        book.stored_outputs_config(config, tmp_path / "out")


@pytest.fixture(scope="module")
def book_html(tmp_path_factory) -> Path:
    """Builds the book from the notebooks' stored outputs; returns the folder of its HTML."""
    out = tmp_path_factory.mktemp("book")
    log = out / "build.log"
    command = [sys.executable, str(ROOT / "tools" / "book.py"), "--stored-outputs",
               "--out", str(out)]
    with log.open("w") as sink:
        try:
            done = subprocess.run(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the book's build did not end within {BUILD_TIMEOUT} s; log: {log}")
    if done.returncode != 0:
        text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace"))
        pytest.fail(f"the book's build failed (exit {done.returncode}): {shlex.join(command)}\n"
                    f"last lines of {log}:\n{text[-6000:]}")
    return out / "_build" / "html"


# ---------------------------------------------------------------------------------------------
# Checks on the built files, without a browser

RESOURCE = re.compile(r"<(?:script|img|iframe|source)\b[^>]*\bsrc=\"([^\"]*)\""
                      r"|<link\b[^>]*\bhref=\"([^\"]*)\"")


def between(html: str, start: str, end: str) -> str:
    """The part of `html` from the first `start` to the next `end` ('' if `start` is absent)."""
    at = html.find(start)
    return "" if at < 0 else html[at:html.find(end, at)]


@pytest.mark.slow
def test_book_has_every_page(book_html: Path):
    """Every notebook has its page, with its title, links to every page, its figures, and
    nothing that must be fetched from the network."""
    pages = book_pages()
    assert (book_html / "index.html").is_file(), f"no index.html in {book_html}"
    assert "url=docs/book/intro.html" in (book_html / "index.html").read_text()
    problems = []
    for page in pages:
        path = book_html / page.html
        if not path.is_file():
            problems.append(f"{page.html}: missing from the built book")
            continue
        html = path.read_text(encoding="utf-8")
        where = posixpath.dirname(page.html)
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        if not title or not title.group(1).startswith(page.title):
            problems.append(f"{page.html}: <title> is {title and title.group(1)!r}, "
                            f"expected it to start with {page.title!r}")
        sidebar = between(html, '<nav class="bd-links bd-docs-nav"', "</nav>")
        for other in pages[1:]:
            href = posixpath.relpath(other.html, where or ".")
            if other != page and f'href="{href}"' not in sidebar:  # this page's own link is "#"
                problems.append(f"{page.html}: the navigation does not link to {other.html}")
        for match in RESOURCE.finditer(html):
            url = match.group(1) or match.group(2)
            if re.match(r"(https?:)?//", url):
                problems.append(f"{page.html}: loads {url} from the network")
            elif not url.startswith(LOCAL_SCHEMES):
                target = posixpath.normpath(posixpath.join(where, url.split("?")[0]))
                if not (book_html / target).is_file():
                    problems.append(f"{page.html}: refers to {url}, which is not in the book")
        article = between(html, '<article class="bd-article">', "</article>")
        for link in re.findall(r'href="([^"]*\.ipynb)"', article):
            problems.append(f"{page.html}: link {link} was not turned into a page link")
        images = article.count("<img")
        if images < page.png_outputs:
            problems.append(f"{page.html}: {images} images, but the notebook has "
                            f"{page.png_outputs} PNG outputs")
        formulas = article.count(MATH_CLASS)
        if formulas != page.formulas:
            problems.append(f"{page.html}: {formulas} formulas, but its Markdown has "
                            f"{page.formulas} ($...$ or $$...$$)")
        if formulas and "_static/mathjax/tex-chtml.js" not in html:
            problems.append(f"{page.html}: has formulas but does not load the shipped MathJax")
    assert not problems, "\n".join(problems)
    assert sum(page.formulas for page in pages) > 0, "no formulas at all: the check checks nothing"


@pytest.mark.slow
def test_book_ships_mathjax_with_its_licence(book_html: Path):
    """The site holds MathJax's script, its fonts and its licence, and nothing else of it."""
    shipped = book_html / "_static" / "mathjax"
    files = sorted(path.relative_to(shipped).as_posix() for path in shipped.rglob("*")
                   if path.is_file())
    assert files == sorted(inside for _, inside in local_mathjax.files_to_ship("tex-chtml.js"))
    assert "Apache License" in (shipped / "LICENSE").read_text(encoding="utf-8")
    assert any(name.endswith("MathJax_Main-Regular.woff") for name in files), files


def test_local_mathjax_refuses_bad_settings():
    """The extension names what is wrong: a CDN URL, a component MathJax does not have."""
    from sphinx.errors import ExtensionError

    class Config:
        mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"

    with pytest.raises(ExtensionError, match="loads nothing from the network"):
        local_mathjax.check_path(None, Config())
    Config.mathjax_path = "mathjax/tex-chtml.js"
    local_mathjax.check_path(None, Config())  # the book's own setting passes
    with pytest.raises(ExtensionError, match="'tex-nothing.js', which MathJax 3.2.2 does not"):
        local_mathjax.files_to_ship("tex-nothing.js")
    shipped = dict(local_mathjax.files_to_ship("tex-chtml.js"))
    assert shipped["es5/tex-chtml.js"] == "tex-chtml.js" and shipped["LICENSE"] == "LICENSE"


# ---------------------------------------------------------------------------------------------
# The browser check (the browser and the server: tools/browser.py)


# Collected in the page by Runtime.evaluate: what the checks below need, as plain JSON.
PAGE_FACTS_JS = """
(() => {
  const article = document.querySelector('article.bd-article');
  const images = article ? Array.from(article.querySelectorAll('img')).map(img => ({
    src: img.currentSrc || img.src,
    loaded: img.complete && img.naturalWidth > 0,
    output: !!img.closest('.cell_output'),
  })) : [];
  const toc = document.querySelector('.bd-sidebar-secondary nav.page-toc');
  const box = toc ? toc.getBoundingClientRect() : null;
  const link = selector => {
    const a = document.querySelector(selector);
    return a ? a.href : null;
  };
  // Sphinx wraps each formula in an element of class "math"; MathJax puts its typeset output,
  // an mjx-container, inside it. TeX left as text beside it was not typeset.
  const formulas = article ? Array.from(article.querySelectorAll('.math')) : [];
  const rawTex = formulas.map(f => Array.from(f.childNodes)
      .filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('').trim())
    .filter(text => text);
  return {
    url: location.href,
    title: document.title,
    readyState: document.readyState,
    hasArticle: !!article,
    images: images,
    sidebar: Array.from(document.querySelectorAll('nav.bd-docs-nav a')).map(a => a.href),
    tocLinks: toc ? toc.querySelectorAll('a').length : 0,
    tocVisible: !!box && box.width > 0 && box.height > 0,
    prev: link('.prev-next-area a.left-prev'),
    next: link('.prev-next-area a.right-next'),
    resources: performance.getEntriesByType('resource').map(entry => entry.name),
    formulas: formulas.length,
    typeset: formulas.filter(f => f.querySelector('mjx-container')).length,
    rawTex: rawTex,
    mathErrors: article ? article.querySelectorAll('mjx-merror').length : 0,
  };
})()
"""


def page_problems(page: Page, facts: dict, network: dict, base: str, pages: list[Page],
                  index: int) -> list[str]:
    """What is wrong with one page as the browser showed it; [] when nothing is.

    `facts` is what PAGE_FACTS_JS returned; `network` holds the page's requests as the browser
    reported them: `urls`, `failed` (url, reason) and `statuses` (url, status). `pages` is the
    book in reading order and `index` this page's place in it.
    """
    name = page.html
    problems = []
    if facts.get("readyState") != "complete":
        problems.append(f"{name}: did not finish loading ({facts.get('readyState')})")
    title = facts.get("title", "").split(" \u2014 ")[0].strip()
    if title != page.title:
        problems.append(f"{name}: the title is {title!r}, expected {page.title!r}")
    if not facts.get("hasArticle"):
        problems.append(f"{name}: no article (the page's content) found")
        return problems  # not a page of the book at all: the checks below would only repeat it
    sidebar = {url.split("#")[0] for url in facts.get("sidebar", [])}  # this page: "...#"
    for other in pages[1:]:
        if base + other.html not in sidebar:
            problems.append(f"{name}: the navigation sidebar has no link to {other.html}")
    if facts.get("tocLinks", 0) < 1 or not facts.get("tocVisible"):
        problems.append(f"{name}: no visible table of contents for the page "
                        f"({facts.get('tocLinks', 0)} links)")
    expected_prev = base + pages[index - 1].html if index > 0 else None
    expected_next = base + pages[index + 1].html if index + 1 < len(pages) else None
    if facts.get("prev") != expected_prev:
        problems.append(f"{name}: the previous-page link is {facts.get('prev')}, "
                        f"expected {expected_prev}")
    if facts.get("next") != expected_next:
        problems.append(f"{name}: the next-page link is {facts.get('next')}, "
                        f"expected {expected_next}")
    images = facts.get("images", [])
    for image in images:
        if not image["loaded"]:
            problems.append(f"{name}: the image {image['src']} did not load")
    figures = sum(image["output"] for image in images)
    if figures != page.png_outputs:
        problems.append(f"{name}: the page shows {figures} figures, but the notebook has "
                        f"{page.png_outputs} PNG outputs")
    if facts.get("formulas", 0) != page.formulas:
        problems.append(f"{name}: the page shows {facts.get('formulas', 0)} formulas, but "
                        f"its Markdown has {page.formulas}")
    if facts.get("typeset", 0) != facts.get("formulas", 0) or facts.get("rawTex"):
        shown = "; ".join(facts.get("rawTex", [])[:3])
        problems.append(f"{name}: {facts.get('typeset', 0)} of {facts.get('formulas', 0)} "
                        f"formulas typeset by MathJax; shown as TeX: {shown}")
    if facts.get("mathErrors"):
        problems.append(f"{name}: MathJax could not typeset {facts['mathErrors']} formulas")
    asked = set(network.get("urls", [])) | set(facts.get("resources", []))
    for url in sorted(asked):
        if not url.startswith(base) and not url.startswith(LOCAL_SCHEMES):
            problems.append(f"{name}: asked for {url}, outside the local server")
    for url, reason in network.get("failed", []):
        problems.append(f"{name}: loading {url} failed ({reason})")
    for url, status in network.get("statuses", []):
        if status >= 400:
            problems.append(f"{name}: {url} answered {status}")
    return problems


# A promise that settles when MathJax (if the page loads it) has typeset the page and the fonts
# it asked for have loaded.
MATHJAX_DONE_JS = """
(window.MathJax && MathJax.startup && MathJax.startup.promise
   ? MathJax.startup.promise : Promise.resolve())
  .then(() => document.fonts.ready).then(() => true)
"""


def visit(browser: Chromium, url: str) -> tuple[dict, dict]:
    """Opens `url`, waits until it and its images have loaded, and returns what the page
    shows (PAGE_FACTS_JS) and the requests it made."""
    browser.events.clear()
    result = browser.call("Page.navigate", url=url)
    if result.get("errorText"):
        return {"readyState": result["errorText"]}, {}
    loaded = browser.wait_for(lambda event: event["method"] == "Page.loadEventFired", 60)
    with contextlib.suppress(RuntimeError):  # MathJax typesets after the load; wait for it
        browser.evaluate(MATHJAX_DONE_JS)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # images and late scripts: wait until all are settled
        ready = browser.evaluate("document.readyState === 'complete' && "
                                 "Array.from(document.images).every(img => img.complete)")
        if ready and loaded and not browser_tools.pending_requests(browser.events):
            break
        browser.pause(0.3)
    facts = browser.evaluate(PAGE_FACTS_JS)
    return facts, network_summary(browser.events)


def follow_index(browser: Chromium, base: str) -> str:
    """Opens the site's index.html and returns where its redirect leads."""
    browser.call("Page.navigate", url=base)
    deadline, url = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        with contextlib.suppress(RuntimeError):  # the tab may be between two documents
            url = browser.evaluate("location.href")
            if url != base and browser.evaluate("document.readyState") == "complete":
                return url
        browser.pause(0.3)
    return url


def network_summary(events: list[dict]) -> dict:
    """The URLs a page asked for, the requests that failed and the HTTP statuses it got.

    The browser's own request for /favicon.ico (the book has no icon) is left out, by request
    id and by URL: it may have been sent while the previous page was open, so that only its
    answer falls among `events`.
    """
    favicon = {e["params"]["requestId"] for e in events
               if e["method"] == "Network.requestWillBeSent"
               and e["params"]["request"]["url"].endswith("/favicon.ico")}
    events = [e for e in events if e["params"].get("requestId") not in favicon]
    urls = {}
    for event in events:
        if event["method"] == "Network.requestWillBeSent":
            urls[event["params"]["requestId"]] = event["params"]["request"]["url"]
    failed = [(urls.get(e["params"]["requestId"], "?"), e["params"].get("errorText", ""))
              for e in events if e["method"] == "Network.loadingFailed"
              and not e["params"].get("canceled")]
    statuses = [(e["params"]["response"]["url"], int(e["params"]["response"]["status"]))
                for e in events if e["method"] == "Network.responseReceived"
                and e["params"]["response"]["url"].startswith("http")
                and not e["params"]["response"]["url"].endswith("/favicon.ico")]
    return {"urls": sorted(set(urls.values())), "failed": failed, "statuses": statuses}


def screenshot(browser: Chromium, path: Path) -> None:
    """Saves what the tab shows now as a PNG at `path`."""
    data = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert data.startswith(b"\x89PNG") and len(data) > 10_000, f"{path}: not a real screenshot"


@pytest.mark.slow
def test_book_in_chromium(book_html: Path, tmp_path: Path):
    """Every page, opened in headless Chromium from a local server, is complete and offline."""
    executable = browser_tools.find_chromium()
    if executable is None:
        pytest.skip("Chromium not found: install Debian's chromium package "
                    "(apt-get install chromium) to run the book's browser check")
    pages = book_pages()
    assert any(page.docname == FORMULA_PAGE and page.formulas for page in pages), FORMULA_PAGE
    problems = []
    with browser_tools.serve(book_html) as (base, requests):
        browser = Chromium(executable, tmp_path / "profile", tmp_path / "chromium.log")
        try:
            browser.call("Page.enable")
            browser.call("Network.enable")
            browser.call("Network.setCacheDisabled", cacheDisabled=True)  # every page asks anew
            browser.call("Emulation.setDeviceMetricsOverride", width=browser_tools.WINDOW[0],
                         height=browser_tools.WINDOW[1], deviceScaleFactor=1, mobile=False)
            landed = follow_index(browser, base)
            if landed != base + pages[0].html:
                problems.append(f"index.html led to {landed}, not {pages[0].html}")
            for index, page in enumerate(pages):
                facts, network = visit(browser, base + page.html)
                problems += page_problems(page, facts, network, base, pages, index)
                if page.docname == pages[0].docname:
                    screenshot(browser, SCREENSHOTS / "intro.png")
                if page.docname == SCREENSHOT_PAGE:
                    screenshot(browser, SCREENSHOTS / f"{posixpath.basename(page.docname)}.png")
                    browser.evaluate("document.querySelector('article .cell_output img')"
                                     "?.scrollIntoView({block: 'center'}); true")
                    browser.pause(0.5)
                    screenshot(browser, SCREENSHOTS /
                               f"{posixpath.basename(page.docname)}_figure.png")
                if page.docname == FORMULA_PAGE:
                    if browser.evaluate("document.querySelector('article').innerText"
                                        ".includes('e^\\\\top')"):
                        problems.append(f"{page.html}: the TeX source e^\\top is shown as text")
                    browser.evaluate("document.querySelector('article div.math')"
                                     "?.scrollIntoView({block: 'center'}); true")
                    browser.pause(0.5)
                    screenshot(browser, SCREENSHOTS /
                               f"{posixpath.basename(page.docname)}_formula.png")
        finally:
            browser.close()
    (tmp_path / "server.log").write_text("".join(f"{status} {path}\n"
                                                 for path, status in requests))
    problems += [f"the server answered {status} for {path} (log: {tmp_path / 'server.log'})"
                 for path, status in requests
                 if status >= 400 and not path.startswith("/favicon.ico")]  # the browser's own
    assert not problems, "\n".join(problems)


def test_page_problems_reports_a_broken_page():
    """The checker itself: a page with a wrong title, a broken image, a missing figure, no
    table of contents, a gap in the navigation, a request to the internet, a lost formula and
    formulas left as TeX or in error is reported."""
    base = "http://127.0.0.1:8000/"
    pages = [Page("docs/book/intro", "Intro", 0), Page("notebooks/00_a", "00 · A", 2, 3),
             Page("notebooks/01_b", "01 · B", 0)]
    good = {"readyState": "complete", "title": "00 · A \u2014 book", "hasArticle": True,
            "images": [{"src": base + "_images/a.png", "loaded": True, "output": True}] * 2,
            "sidebar": [base + p.html for p in pages], "tocLinks": 3, "tocVisible": True,
            "prev": base + pages[0].html, "next": base + pages[2].html,
            "resources": [base + "_static/a.css"], "formulas": 3, "typeset": 3, "rawTex": [],
            "mathErrors": 0}
    network = {"urls": [base + "_static/a.css"], "failed": [], "statuses": []}
    assert page_problems(pages[1], good, network, base, pages, 1) == []
    broken = dict(good, title="Something else \u2014 book", tocVisible=False, next=None,
                  images=[{"src": base + "_images/a.png", "loaded": False, "output": True}],
                  sidebar=[base + pages[0].html, base + pages[1].html],
                  resources=["https://cdn.example.org/x.js"])
    untypeset = dict(good, typeset=1, rawTex=["\\(e^\\top H e\\)", "\\(H\\)"], mathErrors=1)
    bad_network = {"urls": [base + "_images/a.png"], "failed": [(base + "x.png", "net::ERR")],
                   "statuses": [(base + "_images/a.png", 404)]}
    found = "\n".join(page_problems(pages[1], broken, bad_network, base, pages, 1))
    for expected in ("the title is 'Something else'", "did not load", "shows 1 figures",
                     "no link to notebooks/01_b.html", "no visible table of contents",
                     "next-page link is None", "outside the local server", "failed (net::ERR)",
                     "answered 404"):
        assert expected in found, f"{expected!r} not reported in:\n{found}"
    found = "\n".join(page_problems(pages[1], untypeset, network, base, pages, 1))
    for expected in ("1 of 3 formulas typeset by MathJax; shown as TeX: \\(e^\\top H e\\)",
                     "could not typeset 1 formulas"):
        assert expected in found, f"{expected!r} not reported in:\n{found}"
    found = "\n".join(page_problems(pages[1], dict(good, formulas=2, typeset=2), network, base,
                                    pages, 1))
    assert "shows 2 formulas, but its Markdown has 3" in found, found


def test_network_summary_leaves_out_the_favicon_only():
    """The browser's favicon request may start on one page and be answered on the next."""
    base = "http://127.0.0.1:1/"

    def answer(url, status):
        return {"method": "Network.responseReceived",
                "params": {"requestId": url, "response": {"url": url, "status": status}}}

    events = [answer(base + "favicon.ico", 404), answer(base + "_images/a.png", 404)]
    assert network_summary(events)["statuses"] == [(base + "_images/a.png", 404)]
