"""Driving the portal in a real browser: the server in a thread on a free port, and headless Chromium.

Used by the browser tests (tests/portal/test_portal_browser.py) and by the screenshots of docs/portal.md
(``python -m espacefamille_portal.screenshots``). Chromium and its driver are Debian's packages
(``chromium``, ``chromium-driver``): nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from starlette.applications import Starlette

__all__ = ["browser_missing", "chromium", "serve", "shoot"]

_CHROMIUM = ("chromium", "chromium-browser")
_DRIVER = "chromedriver"


def _binary() -> str | None:
    return next((path for name in _CHROMIUM if (path := shutil.which(name))), None)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and its driver are installed."""
    if _binary() is None:
        return "Chromium absent (paquet Debian 'chromium'; .ci/run l'installe)"
    if shutil.which(_DRIVER) is None:
        return "chromedriver absent (paquet Debian 'chromium-driver'; .ci/run l'installe)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields its base URL, stops it on exit."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal's server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[webdriver.Chrome]:
    """Headless Chromium at ``width`` × ``height`` CSS pixels, in French."""
    binary = _binary()
    if binary is None:
        raise RuntimeError(browser_missing())
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--lang=fr-FR",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which(_DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver: webdriver.Chrome, path: Path) -> None:
    """A screenshot of the whole page, however long, at the window's width."""
    width = int(driver.execute_script("return window.outerWidth"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    inner = int(driver.execute_script("return window.innerHeight"))
    outer = int(driver.execute_script("return window.outerHeight"))
    driver.set_window_size(width, height + (outer - inner))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
