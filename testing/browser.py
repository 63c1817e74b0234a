"""Headless Chromium for the browser tests: Debian's `chromium` and `chromium-driver`, no download.

    driver = new_driver()
    driver.get(url)
    assert console_errors(driver) == []

Locally the browser tests skip when the two packages are missing; in CI (CI=true) they fail, and
.ci/run installs the packages first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
# Without the background-networking flags Chromium keeps dialling Google, which this network
# refuses; root needs --no-sandbox.
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--no-first-run",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
)


def require_browser() -> None:
    """Skip without Chromium locally; fail in CI, where .ci/run installs it."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return
    message = f"no browser for the browser tests: {', '.join(missing)} not found"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: .ci/run installs chromium and chromium-driver)")
    pytest.skip(f"{message} (apt-get install chromium chromium-driver)")


def new_driver(download_dir: Path | None = None) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}")
    if download_dir:
        options.add_experimental_option("prefs", {"download.default_directory": str(download_dir)})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The page's console errors since the last call (the log is drained by reading it)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
