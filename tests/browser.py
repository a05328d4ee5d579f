"""A headless Chromium for tests of HTML pages: open a local file, look at it, press keys.

    with open_browser() as browser:             # skips without Chromium (fails in CI)
        page = browser.open("steps.html")       # waits for the load event
        png = page.screenshot("shot.png")       # the PNG bytes (also written there)
        page.evaluate("document.title")         # a JavaScript expression's value
        page.press("ArrowRight")                # a real key event
        page.click("button.next")               # a real mouse click on an element
        assert page.errors == []                # console errors and uncaught exceptions

It drives Debian's ``chromium`` through the DevTools protocol, over a websocket on
127.0.0.1 (the ``websocket-client`` package), with everything that could reach the
network turned off. In CI (CI=true) a missing Chromium or websocket-client fails the
test instead of skipping it.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0")
INSTALL = "apt-get update && apt-get install -y chromium"


def _missing(what):
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: .ci/run must install it")
    pytest.skip(f"{what} is not installed")


def find_chromium():
    """The path of a Chromium binary, or skip the test (fail in CI) without one."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    _missing(f"Chromium ({INSTALL})")
    return None


@contextlib.contextmanager
def open_browser(width=1280, height=800, timeout=20.0):
    """A headless Chromium with a window of ``width`` x ``height`` CSS pixels; closed after."""
    try:
        import websocket  # noqa: F401 -- only to say early that it is missing
    except ImportError:
        _missing("The websocket-client package (pip install websocket-client)")
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        log = open(pathlib.Path(profile) / "chromium.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        browser = None
        try:
            port = _devtools_port(pathlib.Path(profile), proc, timeout)
            browser = Browser(port, timeout)
            browser.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                         deviceScaleFactor=1, mobile=False)
            yield browser
        finally:
            if browser is not None:
                browser.close()
            _stop(proc)
            log.close()


def _devtools_port(profile, proc, timeout):
    """The port Chromium chose (it writes it to DevToolsActivePort in the profile)."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (profile / "chromium.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Chromium exited at start (code {proc.returncode}):\n{log}")
        if marker.exists():
            lines = marker.read_text().split()
            if lines:
                return int(lines[0])
        time.sleep(0.05)
    raise TimeoutError(f"Chromium did not open its DevTools port within {timeout} s")


def _stop(proc):
    """End the Chromium we started, and its helper processes (its own process group)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Browser:
    """The browser's first tab, driven over the DevTools protocol."""

    def __init__(self, port, timeout):
        import websocket

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.timeout = timeout
        self._ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self._next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method, **params):
        """Call a DevTools method; return its result (the events that come first are kept)."""
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method, since=0):
        """The first event ``method`` from ``events[since]`` on, waiting for it if need be."""
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self.events[since:]:
                if event.get("method") == method:
                    return event
            since = len(self.events)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {self.timeout} s")
            self.events.append(json.loads(self._ws.recv()))

    def open(self, path):
        """Load a local file (or a URL) and wait for its load event; return a `Page`."""
        url = path if "://" in str(path) else pathlib.Path(path).resolve().as_uri()
        page = Page(self, since=len(self.events))
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", page.since)
        return page

    def close(self):
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        with contextlib.suppress(Exception):
            self._ws.close()


class Page:
    """The page in the browser's tab: screenshots, JavaScript, keys, clicks, errors."""

    def __init__(self, browser, since):
        self.browser = browser
        self.since = since  # the page's events are browser.events[since:]

    @property
    def errors(self):
        """Console errors, failed asserts and uncaught exceptions, as short texts."""
        self.browser.send("Runtime.evaluate", expression="0")  # receive what is on its way
        found = []
        for event in self.browser.events[self.since:]:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console." + params["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append("log: " + params["entry"].get("text", ""))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append("exception: " + details.get("exception", {}).get(
                    "description", details.get("text", "")))
        return found

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-like values)."""
        result = self.browser.send("Runtime.evaluate", expression=expression,
                                   returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path=None):
        """A PNG of the window (written to ``path`` too, when given); the PNG's bytes."""
        data = base64.b64decode(self.browser.send("Page.captureScreenshot",
                                                  format="png")["data"])
        if path is not None:
            pathlib.Path(path).write_bytes(data)
        return data

    def press(self, key, code=None, key_code=None):
        """Press and release a key, as a user would ("ArrowRight", "ArrowLeft", "a", ...)."""
        codes = {"ArrowLeft": 37, "ArrowUp": 38, "ArrowRight": 39, "ArrowDown": 40,
                 "Enter": 13, "Escape": 27, "Home": 36, "End": 35, " ": 32}
        key_code = key_code or codes.get(key, ord(key.upper()) if len(key) == 1 else 0)
        for kind in ("rawKeyDown", "keyUp"):
            self.browser.send("Input.dispatchKeyEvent", type=kind, key=key, code=code or key,
                              windowsVirtualKeyCode=key_code, nativeVirtualKeyCode=key_code)

    def click(self, selector):
        """Click the middle of the first element matching a CSS ``selector``."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        if box is None:
            raise LookupError(f"no element matches {selector!r}")
        x, y = box
        self.browser.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.browser.send("Input.dispatchMouseEvent", type=kind, x=x, y=y,
                              button="left", clickCount=1)


def png_size(data):
    """(width, height) of a PNG, from its header; raises ValueError if it is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
