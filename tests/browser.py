"""What every browser test needs: Debian's Chromium, page screenshots kept as test artifacts, and an
accessibility scan with axe-core (from npm, in node_modules/) run inside the page.

Screenshots go to ``test-artifacts/screenshots/`` at the top of the repository (or ``OMA_TEST_ARTIFACTS``),
named after the test and the state shown, so a person can look at what each journey saw.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("OMA_TEST_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking",
                                                                     "--disable-gpu", "--disable-component-update"])
        yield browser
        browser.close()


def sign_in(page, hub, email: str) -> None:
    """Sign in on the hub's own sign-in page (the dev login: an e-mail address, no password)."""
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", email)
    page.click("#login_submit")
    page.wait_for_url(f"{hub.url}/hub/home")


def fits_the_screen(page) -> bool:
    """Nothing wider than the window: no sideways scrolling on a phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def screenshot(page, request: pytest.FixtureRequest, state: str) -> Path:
    """Keep a full-page screenshot of ``state`` for the running test; returns where it went."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{request.node.name}-{state}").strip("-")
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the page as it is now; the violations of the given impacts, each with the rule, its help
    text and the first offending elements, so a failing assertion says what to fix."""
    if not AXE.is_file():
        raise RuntimeError(f"{AXE} is missing: run scripts/setup (it installs axe-core from npm)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"],
         "where": [" ".join(node["target"]) for node in v["nodes"][:5]]}
        for v in result["violations"] if v["impact"] in impacts
    ]
