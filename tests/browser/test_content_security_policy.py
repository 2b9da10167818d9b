"""The main pages and the API docs in Chromium with the Content-Security-Policy on: no violation,
styles applied, HTMX still working (live filters, inline validation), the docs rendered from
the pinned local copies. Screenshots in test-artifacts/csp-*.png."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collected before any page script runs (Playwright's init scripts are not subject to the CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


@pytest.fixture
def csp_page(chromium_browser):
    """A page with the policy enforced (the shared `page` fixture bypasses it). No
    wait_for_function here: Playwright polls those with eval, which the policy refuses."""
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-CA")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.add_init_script(WATCH_CSP)
    external: list[str] = []
    page.on("request", lambda request: external.append(request.url) if not request.url.startswith(("http://localhost", "data:", "blob:", "http://127.0.0.1")) else None)

    def check(where: str) -> None:
        violations = page.evaluate("window.__cspViolations || []")
        policy_errors = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
        assert not violations and not policy_errors, f"{where}: {violations} {policy_errors}"
        assert not external, f"{where}: requests leaving the server: {external}"

    def allow_external(url: str) -> None:
        while url in external:
            external.remove(url)

    page.check_csp = check
    page.allow_external = allow_external
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _styled(page) -> None:
    # app.css applied: the sidebar is laid out by it (an unstyled page has no fixed-width aside).
    assert page.evaluate("getComputedStyle(document.querySelector('.sidebar')).display") != "inline"
    assert page.evaluate("document.documentElement.classList.contains('js')"), "js-flag.js did not run"


def test_main_pages_work_under_the_csp(csp_page, live_server, alice, opportunity_factory, department_factory, login, screenshot):
    page = csp_page
    department_factory(alice.tenant, name="Public Works")
    for i in range(3):
        opportunity_factory(alice.tenant, title=f"Bridge inspection {i}", status="won" if i == 0 else "pursuing")
    response = page.goto(f"{live_server.url}/accounts/login/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    page.check_csp("login")
    login(page, alice.admin)
    _styled(page)
    page.check_csp("opportunities")
    screenshot(page, "csp-opportunities")

    # HTMX: a status change reloads the results (app.js' filter-change, no eval), the search box
    # filters as one types.
    page.select_option("select[name=status]", "won")
    page.wait_for_url(re.compile(r"status=won"))
    expect(page.locator("#opportunity-results tbody tr")).to_have_count(1)
    page.evaluate("window.__samePage = true")  # survives only if HTMX swapped, not a reload
    page.select_option("select[name=status]", "")
    expect(page.locator("#opportunity-results tbody tr")).to_have_count(3)
    page.fill("input[name=q]", "inspection 2")
    page.wait_for_url(re.compile(r"q=inspection"))
    expect(page.locator("#opportunity-results tbody tr")).to_have_count(1)
    expect(page.locator("#opportunity-results")).to_contain_text("Bridge inspection 2")
    assert page.evaluate("window.__samePage") is True
    page.check_csp("opportunity filters")

    # Inline validation (hx-post on blur) on the form.
    page.goto(f"{live_server.url}/opportunities/new/")
    page.focus("#id_title")
    page.press("#id_title", "Tab")
    page.wait_for_selector("#id_title-errors li")
    page.check_csp("opportunity form")
    screenshot(page, "csp-opportunity-form")

    for path, name in (("/departments/", "departments"), ("/sync/", "sync"), ("/sync/logs/", "sync-logs"),
                       ("/settings/integrations/", "integrations"), ("/settings/integrations/salesforce/connect/", "connect")):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        _styled(page)
        page.check_csp(path)
        screenshot(page, f"csp-{name}")

    page.goto(f"{live_server.url}/opportunities/999999/")
    assert "We couldn’t find that page" in page.content()
    page.check_csp("404")


def test_api_docs_render_offline_under_the_csp(csp_page, live_server, alice, login, screenshot):
    page = csp_page
    login(page, alice.member)
    page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI drew the operations from the schema: it loaded and ran.
    page.wait_for_selector(".opblock-tag", timeout=20_000)
    assert page.locator(".opblock").count() > 10
    page.check_csp("swagger ui")
    screenshot(page, "csp-api-docs")

    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("[role=menuitem], .menu-content", timeout=20_000)
    expect(page.locator("body")).to_contain_text("opportunities", timeout=20_000)
    # Redocly's logo: the one request ReDoc's bundle makes by itself (allowed on this page only).
    page.allow_external("https://cdn.redoc.ly/redoc/logo-mini.svg")
    page.check_csp("redoc")
    screenshot(page, "csp-api-redoc")
