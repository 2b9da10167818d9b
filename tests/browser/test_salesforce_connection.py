"""Settings › Integrations › Salesforce in a real browser, against the local emulator:
connect through the OAuth login page, see the health panel, edit settings (a bad stage is
refused inline), look at the history, run a dry run, disconnect and reconnect.

Every page is saved as a screenshot in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import re

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def emulator_oauth(monkeypatch, settings):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # The emulator's login page is plain HTTP on loopback, as in `make run` (which sets this).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    # The connect form offers a per-connection CA bundle (the emulator's) only with DEBUG.
    settings.DEBUG = True


def _log_in_on_the_emulator(page, emulator, screenshot=None, name=""):
    page.wait_for_url(re.compile(re.escape(emulator.http_url) + r"/services/oauth2/authorize"))
    admin = emulator.demo["admin"]
    page.fill("#username", admin["username"])
    page.fill("#password", admin["password"])
    if screenshot:
        screenshot(page, name)
    page.get_by_role("button", name="Log In and Allow").click()


def test_admin_connects_the_emulator_org_edits_settings_and_disconnects(
        page, live_server, alice, login, screenshot, emulator_reset, opportunity_factory, department_factory):
    from integrations.models import ConnectionStatus, SalesforceConnection

    emulator = emulator_reset
    opportunity_factory(alice.tenant, title="Managed network services for Shared Services Canada", reference="EN578-250001/A",
                        department=department_factory(alice.tenant))
    login(page, alice.admin)
    page.get_by_role("link", name="Integrations").first.click()
    page.wait_for_url(f"{live_server.url}/settings/integrations/")
    screenshot(page, "sf-01-integrations-empty")

    page.get_by_role("link", name="Connect to Salesforce").first.click()
    page.wait_for_url(f"{live_server.url}/settings/integrations/salesforce/connect/")
    page.fill("#id_name", "Demo org")
    page.get_by_text("Custom My Domain URL").click()
    page.fill("#id_login_url", emulator.http_url)
    assert page.is_checked("input[name=auth_method][value=oauth_web]")
    page.fill("#id_client_id", emulator.demo["client_id"])
    page.fill("#id_client_secret", emulator.demo["client_secret"])
    page.fill("#id_ca_bundle_path", emulator.ca_bundle)
    screenshot(page, "sf-02-connect-form")
    page.get_by_role("button", name="Connect", exact=True).click()

    _log_in_on_the_emulator(page, emulator, screenshot, "sf-03-emulator-login")
    connection = SalesforceConnection.objects.get(tenant=alice.tenant)
    page.wait_for_url(f"{live_server.url}/settings/integrations/salesforce/{connection.pk}/")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert page.inner_text("#org-id") == connection.org_id
    assert "of 5,000" in page.inner_text("#api-usage-figures")
    assert "Connected" in page.inner_text(".page-header")
    screenshot(page, "sf-04-connection-health")

    # Settings: a bad stage (two statuses on one stage) is refused next to its select.
    page.get_by_role("link", name="Sync settings").first.click()
    page.wait_for_url(re.compile(r"/settings/$"))
    assert "Closed Won" in page.inner_text("#s-stage-mapping-won")
    screenshot(page, "sf-05-settings")
    page.select_option("#s-stage-mapping-lost", "Closed Won")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_selector("#settings-errors")
    assert "stage mappings must be 1:1" in page.inner_text("#s-stage-mapping-lost-errors")
    assert connection.settings_versions.count() == 1
    page.locator("#sec-stages").scroll_into_view_if_needed()
    screenshot(page, "sf-06-settings-inline-error")

    # Fix it and change the incremental frequency: a new version in the history.
    page.select_option("#s-stage-mapping-lost", "Closed Lost")
    page.fill("#s-frequencies-incremental-minutes", "30")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_selector(".flash-success")
    assert connection.settings_versions.count() == 2
    page.get_by_role("link", name="Version history").first.click()
    page.wait_for_selector("#version-2")
    assert "Incremental sync every (minutes): 15 → 30" in page.inner_text("#version-2")
    screenshot(page, "sf-07-version-history")

    # Dry run: search, pick, see the payloads.
    page.get_by_role("link", name="Dry run").first.click()
    page.fill("#dry-run-q", "EN578")
    page.wait_for_selector("#dry-run-picker a")
    page.locator("#dry-run-picker a").first.click()
    page.wait_for_selector(".write-card")
    assert "Cothon_Ref__c" in page.inner_text("main") and "EN578-250001/A" in page.inner_text("main")
    screenshot(page, "sf-08-dry-run")

    page.get_by_role("link", name="Custom fields").first.click()
    page.wait_for_selector("#install-plan, .alert-error")
    screenshot(page, "sf-09-custom-fields")

    # Disconnect (with its confirmation), then reconnect through the OAuth page again.
    page.get_by_role("link", name="Connection", exact=True).first.click()
    page.get_by_role("link", name="Disconnect").click()
    assert "keeps all data on both sides; records stop syncing" in page.inner_text("main")
    screenshot(page, "sf-10-disconnect-confirm")
    page.get_by_role("button", name="Disconnect").click()
    page.wait_for_selector(".flash-success")
    assert "Disconnected" in page.inner_text(".page-header")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    screenshot(page, "sf-11-disconnected")

    page.locator("#health").get_by_role("button", name="Reconnect").click()
    _log_in_on_the_emulator(page, emulator)
    page.wait_for_url(f"{live_server.url}/settings/integrations/salesforce/{connection.pk}/")
    assert "Connected" in page.inner_text(".page-header")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED

    # A revoked refresh token (as after a sandbox refresh): Refresh Connection fails and the page
    # says "Needs reconnect" prominently, with the error code and the fix.
    from integrations.crypto import decrypt_token

    connection.refresh_from_db()
    emulator.client.revoke_token(decrypt_token(connection.refresh_token_encrypted))
    page.get_by_role("button", name="Refresh Connection").click()
    page.wait_for_selector("#needs-reconnect")
    assert "Needs reconnect" in page.inner_text("#needs-reconnect")
    assert "invalid_grant" in page.inner_text("#last-error")
    screenshot(page, "sf-12-needs-reconnect")

    page.get_by_role("link", name="Integrations").first.click()
    screenshot(page, "sf-13-integrations-list")


def test_a_demo_style_client_credentials_connection_reconnects_through_the_oauth_page(
        page, live_server, alice, login, screenshot, emulator_reset):
    """`make run` connects the demo tenants with client credentials; an admin can still
    disconnect and reconnect through Salesforce's login page (decisions.md)."""
    from integrations import connections as svc
    from integrations.models import AuthMethod, ConnectionStatus, Environment

    emulator = emulator_reset
    creds = emulator.demo
    connection = svc.connection_create(tenant=alice.tenant, name="Emulator demo org", environment=Environment.CUSTOM,
                                       login_url=emulator.http_url, client_id=creds["client_id"],
                                       client_secret=creds["client_secret"], ca_bundle_path=emulator.ca_bundle)
    svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    svc.connection_disconnect(connection=connection, actor=alice.admin)
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connection.pk}/")
    page.locator("#health").get_by_role("link", name="Reconnect").click()
    screenshot(page, "sf-14-reconnect-choice")
    page.get_by_role("button", name="Continue to Salesforce login").click()
    _log_in_on_the_emulator(page, emulator)
    page.wait_for_url(f"{live_server.url}/settings/integrations/salesforce/{connection.pk}/")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED and connection.auth_method == AuthMethod.OAUTH_WEB
    assert connection.sf_username == creds["admin"]["username"]
