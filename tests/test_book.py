"""`make book`: the course as a static HTML book, built once and checked as a reader sees it.

The book (docs/book/) is built with the command of the Makefile's `book` target, into a temporary
folder. That runs every notebook and solution afresh, so the build takes several minutes; it
happens once per test session. One test checks the built files without a browser. Another
serves the site on 127.0.0.1 and opens every page in headless Chromium through the DevTools
protocol, checking what a reader gets: the notebook's title, the navigation to every page, the
page's table of contents, previous and next links, figures that load, and that the page asked
for nothing that the server lacks and nothing from anywhere but the local server. It saves
screenshots to _build/book/screenshots/ for a person to look at.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import http.server
import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
import websocket  # websocket-client: talks to Chromium's DevTools

ROOT = Path(__file__).resolve().parent.parent
INTRO = ROOT / "docs" / "book" / "intro.md"
SCREENSHOTS = ROOT / "_build" / "book" / "screenshots"
SCREENSHOT_PAGE = "notebooks/03_aggregation"  # a lesson with figures, shown in the screenshots
BUILD_TIMEOUT = 3600  # seconds; the build takes about 10 minutes on 2 cores
WINDOW = (1400, 1000)  # wide enough for both sidebars of the book's theme
LOCAL_SCHEMES = ("data:", "blob:", "about:")  # URLs that never leave the browser


# ---------------------------------------------------------------------------------------------
# What the book should contain, from the sources


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of the book: its Sphinx document name, its title and its stored PNG outputs."""

    docname: str  # e.g. "notebooks/03_aggregation"; the page is docname + ".html"
    title: str
    png_outputs: int  # figures the notebook's stored outputs hold; 0 for the intro

    @property
    def html(self) -> str:
        return self.docname + ".html"


def markdown_title(text: str) -> str:
    """The text of the first level-1 heading (`# ...`) in Markdown source."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")
    raise ValueError("no level-1 heading")


def notebook_page(path: Path) -> Page:
    """A notebook's page: its title from its first heading, its figures from its outputs."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(cell["source"]) for cell in nb["cells"]
                         if cell["cell_type"] == "markdown")
    pngs = sum("image/png" in output.get("data", {})
               for cell in nb["cells"] if cell["cell_type"] == "code"
               for output in cell.get("outputs", []))
    docname = path.relative_to(ROOT).with_suffix("").as_posix()
    return Page(docname, markdown_title(markdown), pngs)


def lesson_paths() -> list[Path]:
    """The lessons, NN_name.ipynb, in teaching order."""
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def book_pages() -> list[Page]:
    """Every page in reading order: the intro, the lessons 00-10, then their solutions."""
    intro = Page("docs/book/intro", markdown_title(INTRO.read_text(encoding="utf-8")), 0)
    solutions = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    return [intro] + [notebook_page(path) for path in lesson_paths() + solutions]


def makefile_book_command(path_output: Path) -> list[str]:
    """The `book` target's jupyter-book command line, writing to `path_output` instead.

    Read from the Makefile so that the test builds the book exactly as `make book` does. The
    test runs inside tools/offline.sh already, so the wrapper is left out, and the environment's
    jupyter-book is the one beside this Python.
    """
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("book:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().removesuffix("\\"))
    words = shlex.split(" ".join(recipe))
    at = next(i for i, word in enumerate(words) if word.endswith("/jupyter-book"))
    args = words[at + 1:]
    args[args.index("--path-output") + 1] = str(path_output)
    return [str(Path(sys.executable).parent / "jupyter-book"), *args]


# ---------------------------------------------------------------------------------------------
# The build, once per session


@pytest.fixture(scope="module")
def book_html(tmp_path_factory) -> Path:
    """Builds the book as `make book` does and returns the folder of its HTML."""
    out = tmp_path_factory.mktemp("book")
    log = out / "build.log"
    command = makefile_book_command(out)
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


def test_makefile_book_command_builds_in_place():
    """The command read from the Makefile builds from the repository with docs/book's files."""
    command = makefile_book_command(Path("/tmp/out"))
    assert command[1:3] == ["build", "."], command
    assert {"--config", "--toc", "--all"} <= set(command), command
    assert command[command.index("--path-output") + 1] == "/tmp/out"


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
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The browser check


@contextlib.contextmanager
def serve(root: Path):
    """Serves `root` on 127.0.0.1 from a thread; yields the base URL and the request log.

    The log is a list of (path, status) for every request, which the test checks for 404s.
    """
    log: list[tuple[str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_request(self, code="-", size="-"):
            try:
                log.append((self.path, int(code)))
            except ValueError:  # no status ("-"): record it as 0
                log.append((self.path, 0))

        def log_message(self, format, *args):  # keep pytest's output clean; `log` has it all
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def find_chromium() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


class Chromium:
    """Headless Chromium with one tab, driven over the Chrome DevTools Protocol.

    `call` sends a command and returns its result; the events that arrive meanwhile (network
    requests, page loads) are kept in `events` for the caller to read.
    """

    def __init__(self, executable: str, profile: Path, log: Path):
        self.events: list[dict] = []
        self._next_id = 0
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-proxy-server", "--hide-scrollbars",
             f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            self.ws = self._connect(profile / "DevToolsActivePort")
        except BaseException:
            self.close()
            raise

    def _connect(self, port_file: Path) -> websocket.WebSocket:
        """Reads the port Chromium chose and opens a DevTools connection to its tab."""
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Chromium did not start (exit {self.process.poll()}); "
                                   f"see {self._log.name}")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with no_proxy.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            tabs = [t for t in json.load(response) if t.get("type") == "page"]
        if not tabs:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                             method="PUT")
            with no_proxy.open(request, timeout=10) as response:
                tabs = [json.load(response)]
        return websocket.create_connection(tabs[0]["webSocketDebuggerUrl"], timeout=60,
                                           suppress_origin=True)

    def _receive(self) -> dict:
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, **params) -> dict:
        self._next_id += 1
        self.ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, predicate, timeout: float) -> bool:
        """Reads events until one satisfies `predicate` (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        if any(predicate(event) for event in self.events):
            return True
        self.ws.settimeout(0.5)
        try:
            while time.monotonic() < deadline:
                try:
                    message = self._receive()
                except websocket.WebSocketTimeoutException:  # nothing arrived yet
                    continue
                if "method" in message and predicate(message):
                    return True
            return False
        finally:
            self.ws.settimeout(60)

    def pause(self, seconds: float) -> None:
        """Waits, still recording the events that arrive meanwhile."""
        self.wait_for(lambda event: False, seconds)

    def close(self) -> None:
        """Ends Chromium and every process it started, and reaps them."""
        with contextlib.suppress(Exception):
            self.ws.close()
        with contextlib.suppress(psutil.Error):
            family = [psutil.Process(self.process.pid)]
            family += family[0].children(recursive=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            gone, alive = psutil.wait_procs(family, timeout=10)
            for process in alive:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(alive, timeout=10)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()


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


def visit(browser: Chromium, url: str) -> tuple[dict, dict]:
    """Opens `url`, waits until it and its images have loaded, and returns what the page
    shows (PAGE_FACTS_JS) and the requests it made."""
    browser.events.clear()
    result = browser.call("Page.navigate", url=url)
    if result.get("errorText"):
        return {"readyState": result["errorText"]}, {}
    loaded = browser.wait_for(lambda event: event["method"] == "Page.loadEventFired", 60)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # images and late scripts: wait until all are settled
        ready = browser.evaluate("document.readyState === 'complete' && "
                                 "Array.from(document.images).every(img => img.complete)")
        if ready and loaded and not pending_requests(browser.events):
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


def pending_requests(events: list[dict]) -> set[str]:
    """The ids of requests that have started and not yet finished or failed."""
    started = {e["params"]["requestId"] for e in events
               if e["method"] == "Network.requestWillBeSent"}
    ended = {e["params"]["requestId"] for e in events
             if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
    return started - ended


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
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium not found: install Debian's chromium package "
                    "(apt-get install chromium) to run the book's browser check")
    pages = book_pages()
    problems = []
    with serve(book_html) as (base, requests):
        browser = Chromium(executable, tmp_path / "profile", tmp_path / "chromium.log")
        try:
            browser.call("Page.enable")
            browser.call("Network.enable")
            browser.call("Network.setCacheDisabled", cacheDisabled=True)  # every page asks anew
            browser.call("Emulation.setDeviceMetricsOverride", width=WINDOW[0],
                         height=WINDOW[1], deviceScaleFactor=1, mobile=False)
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
    table of contents, a gap in the navigation and a request to the internet is reported."""
    base = "http://127.0.0.1:8000/"
    pages = [Page("docs/book/intro", "Intro", 0), Page("notebooks/00_a", "00 · A", 2),
             Page("notebooks/01_b", "01 · B", 0)]
    good = {"readyState": "complete", "title": "00 · A \u2014 book", "hasArticle": True,
            "images": [{"src": base + "_images/a.png", "loaded": True, "output": True}] * 2,
            "sidebar": [base + p.html for p in pages], "tocLinks": 3, "tocVisible": True,
            "prev": base + pages[0].html, "next": base + pages[2].html,
            "resources": [base + "_static/a.css"]}
    network = {"urls": [base + "_static/a.css"], "failed": [], "statuses": []}
    assert page_problems(pages[1], good, network, base, pages, 1) == []
    broken = dict(good, title="Something else \u2014 book", tocVisible=False, next=None,
                  images=[{"src": base + "_images/a.png", "loaded": False, "output": True}],
                  sidebar=[base + pages[0].html, base + pages[1].html],
                  resources=["https://cdn.example.org/x.js"])
    bad_network = {"urls": [base + "_images/a.png"], "failed": [(base + "x.png", "net::ERR")],
                   "statuses": [(base + "_images/a.png", 404)]}
    found = "\n".join(page_problems(pages[1], broken, bad_network, base, pages, 1))
    for expected in ("the title is 'Something else'", "did not load", "shows 1 figures",
                     "no link to notebooks/01_b.html", "no visible table of contents",
                     "next-page link is None", "outside the local server", "failed (net::ERR)",
                     "answered 404"):
        assert expected in found, f"{expected!r} not reported in:\n{found}"


def test_network_summary_leaves_out_the_favicon_only():
    """The browser's favicon request may start on one page and be answered on the next."""
    base = "http://127.0.0.1:1/"
    answer = lambda url, status: {"method": "Network.responseReceived", "params": {
        "requestId": url, "response": {"url": url, "status": status}}}
    events = [answer(base + "favicon.ico", 404), answer(base + "_images/a.png", 404)]
    assert network_summary(events)["statuses"] == [(base + "_images/a.png", 404)]
