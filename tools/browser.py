"""Headless Chromium driven over the Chrome DevTools Protocol, and a local web server.

The book's browser check (tests/test_book.py) serves the built site with `serve` and opens each
page in `Chromium`. Both end what they started, however the caller ends: use `serve` as a
context manager and call `Chromium.close()` in a `finally`.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import websocket  # websocket-client

WINDOW = (1400, 1000)  # wide enough for both sidebars of the book's theme


@contextlib.contextmanager
def serve(root: Path):
    """Serves `root` on 127.0.0.1 from a thread; yields the base URL and the request log.

    The log is a list of (path, status) for every request, for the caller to check for 404s.
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

        def log_message(self, format, *args):  # keep the caller's output clean; `log` has it
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
    """The path of Debian's chromium, or None if it is not installed."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def pending_requests(events: list[dict]) -> set[str]:
    """The ids of requests that have started and not yet finished or failed."""
    started = {e["params"]["requestId"] for e in events
               if e["method"] == "Network.requestWillBeSent"}
    ended = {e["params"]["requestId"] for e in events
             if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
    return started - ended


class Chromium:
    """Headless Chromium with one tab, driven over the Chrome DevTools Protocol.

    `call` sends a command and returns its result; the events that arrive meanwhile (network
    requests, page loads) are kept in `events` for the caller to read.
    """

    def __init__(self, executable: str, profile: Path, log: Path, window=WINDOW):
        self.events: list[dict] = []
        self._next_id = 0
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-proxy-server", "--hide-scrollbars",
             f"--window-size={window[0]},{window[1]}", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            self.ws = self._connect(Path(profile) / "DevToolsActivePort")
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
        """The value of a JavaScript expression in the page; a promise is awaited."""
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
