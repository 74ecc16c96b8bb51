"""Headless Chromium (Debian's build) driven by Playwright, as a person would use the hub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from .harness import REPO

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# Without these, Chromium tries to reach the internet at start-up on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(browser: Browser, hub_url: str, name: str, password: str = "demo") -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{hub_url}/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_url("**/hub/**")
    return page


def open_server(page: Page, url: str) -> None:
    """Go to a server URL, accepting the hub's authorization page when it is shown."""
    page.goto(url)
    if "oauth2/authorize" in page.url:
        page.click("[type=submit]")
    page.wait_for_selector(".jp-LabShell", timeout=90_000)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def dismiss_dialogs(page: Page, wait_ms: int = 1500) -> None:
    """Accept JupyterLab's start-up dialogs (kernel choice and the like) if any shows up."""
    page.wait_for_timeout(wait_ms)
    for _ in range(3):
        dialog = page.locator(".jp-Dialog")
        if not dialog.count():
            return
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
