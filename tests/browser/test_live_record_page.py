"""Issue 16 in a real browser: an opportunity's page is open, a sales manager edits the record
in Salesforce (the emulator's REST API), the org's Outbound Message — set up by
ensure_outbound_rules through the Tooling API — reaches the live server's receiver, a real
Celery worker applies it, and the open page shows the new description and status by itself."""

from __future__ import annotations

import time

import pytest

from sync_engine.executor import push_connection
from sync_engine.models import SyncLink
from sync_engine.pull.models import InboundNotification
from sync_engine.pull.outbound import receiver_path
from sync_engine.pull.rules import ensure_outbound_rules
from tests.sync_engine.workers import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_an_edit_in_salesforce_shows_on_the_open_page_without_a_reload(page, live_server, login, screenshot, settings,
                                                                       alice, connected, emulator_reset,  # noqa: F811
                                                                       opportunity_factory):
    from playwright.sync_api import expect

    opportunity = opportunity_factory(alice.tenant, title="Bridge inspection services", description="Written in Cothon",
                                      status="identified")
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    # The org's Outbound Message points at this live server's receiver, as it would at Cothon's host.
    settings.COTHON_BASE_URL = live_server.url
    rules = ensure_outbound_rules(connection=connected)
    assert rules.endpoint_url == live_server.url + receiver_path(connected)
    assert rules.rule in ("created", "unchanged")

    login(page, alice.member)
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")
    details = page.locator("#opportunity-details")
    expect(details).to_contain_text("Written in Cothon")
    expect(page.locator("#opportunity-header")).to_contain_text("Identified")
    first_version = page.locator("#opportunity-live").get_attribute("data-version")
    # A half-written comment must survive the update, and the page must not be reloaded.
    page.fill("#id_comment_body", "Half-written note")
    page.evaluate("window.__sameDocument = true")

    worker = Worker(queues="realtime").start()
    try:
        started = time.monotonic()
        emulator_reset.sf().Opportunity.update(link.salesforce_id, {"Description": "Scope widened in Salesforce",
                                                                     "StageName": "Proposal"})
        expect(details).to_contain_text("Scope widened in Salesforce", timeout=10_000)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    assert elapsed < 10, f"took {elapsed:.1f} s (worker log: {worker.log_path})"

    expect(page.locator("#opportunity-header")).to_contain_text("Pursuing")
    expect(details).to_contain_text("Pursuing")
    expect(page.locator("[data-live-notice]")).to_contain_text("Updated from Salesforce")
    assert page.locator("#opportunity-live").get_attribute("data-version") != first_version
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert page.input_value("#id_comment_body") == "Half-written note"
    # It came through the Outbound Message, not a scheduled pull.
    assert InboundNotification.objects.filter(connection=connected, processed_at__isnull=False).exists()
    screenshot(page, "live-record-page-updated-from-salesforce")


def test_the_edit_page_keeps_what_the_user_typed_when_salesforce_changes_the_record(
        page, live_server, login, alice, connected, emulator_reset, opportunity_factory):  # noqa: F811
    from sync_engine.pull.incremental import pull_incremental

    opportunity = opportunity_factory(alice.tenant, description="Written in Cothon")
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    login(page, alice.member)
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/edit/")
    page.fill("textarea[name=description]", "My unsaved words")
    emulator_reset.sf().Opportunity.update(link.salesforce_id, {"Description": "Changed in Salesforce"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.description == "Changed in Salesforce"
    page.wait_for_timeout(4_000)  # longer than the detail page's poll interval
    assert page.input_value("textarea[name=description]") == "My unsaved words"
    assert page.locator("#opportunity-live").count() == 0


def test_a_hidden_tab_does_not_poll_and_a_visible_one_does(page, live_server, login, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/live/" in request.url else None)
    login(page, alice.viewer)
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'})")
    page.wait_for_timeout(7_000)
    assert polls == []
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'})")
    page.wait_for_timeout(3_500)
    assert len(polls) >= 1
