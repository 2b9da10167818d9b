"""Playwright (sync API) against pytest-django's live_server, with the system Chromium.

A plugin of the root conftest (`pytest_plugins`), not a package conftest: the browser tests of
tests/browser/ and of other packages (tests/appointments/) then share ONE session browser — two
definitions of the session fixture would start a second Playwright inside the first one's loop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PASSWORD = "pass-word-123"  # the conftest's TenantWorld password


@pytest.fixture(scope="session")
def chromium_browser(browser_executable):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's async-unsafe guard would
    # refuse the test's own ORM calls made from it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser_executable,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser):
    # bypass_csp: Playwright's wait_for_function polls with eval, which the Content-Security-Policy
    # forbids. The policy itself is tested without the bypass (test_content_security_policy.py).
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-CA", bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def screenshot():
    """screenshot(page, name): a full-page PNG in test-artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        # From the top, once transitions have settled: sticky bars of a scrolled page would
        # otherwise be painted mid-page in a full-page capture.
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(250)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(live_server):
    def do(page, user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/opportunities/")

    return do
