"""An opportunity locked by an approval process in Salesforce: the push fails it permanently
with ENTITY_IS_LOCKED (no retry loop: an approval can take days), the log row and the link carry
the hint that names the approval, the record page says it is locked and how to fix it, and once
the approval is recalled the Sync button sends it."""

from __future__ import annotations

import html

from django.urls import reverse

from opportunities import services as opp
from sync_engine.executor import push_connection
from sync_engine.models import LinkStatus, OutboxEntry, SyncLink, SyncLog
from sync_engine.selectors import record_sync_state
from sync_engine.services import manual_runs_settle, record_sync_now


def _locked_opportunity(alice, connected, emulator, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Fleet telematics")
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk, sobject="Opportunity")
    emulator.client.submit_for_approval(link.salesforce_id, comment="Discount needs VP approval")
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Fleet telematics (phase 2)"})
    return opportunity, link


def test_a_locked_opportunity_fails_once_with_the_approval_hint_on_the_log_and_the_link(
        alice, connected, emulator_reset, opportunity_factory):
    opportunity, link = _locked_opportunity(alice, connected, emulator_reset, opportunity_factory)
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 1, summary
    link.refresh_from_db()
    assert link.status == LinkStatus.FAILED and link.last_error_code == "ENTITY_IS_LOCKED"
    assert "approval process" in link.last_error_hint and "recall it in Salesforce" in link.last_error_hint
    log = SyncLog.objects.filter(record_type="opportunity", record_id=opportunity.pk, result="failed").latest("id")
    assert (log.error_code, log.hint) == ("ENTITY_IS_LOCKED", link.last_error_hint)
    # Permanent: nothing stays queued to hammer the locked record.
    rows = OutboxEntry.objects.filter(record_type="opportunity", record_id=opportunity.pk)
    assert list(rows.values_list("state", flat=True)) == ["failed"]
    assert push_connection(connection_id=connected.pk).api_calls == 0
    # Lists and badges say why in plain words, and what to do.
    state = record_sync_state(tenant=alice.tenant, record_type="opportunity", record_id=opportunity.pk, connection=connected)
    assert state.state == "failed" and state.reason.startswith("Locked by an approval process in Salesforce")
    assert state.action == "Complete the approval or recall it in Salesforce, then press Sync on the record."
    [record] = emulator_reset.sf().query_all(f"SELECT Name FROM Opportunity WHERE Id = '{link.salesforce_id}'")["records"]
    assert record["Name"] == "Fleet telematics"


def test_the_record_panel_says_locked_by_an_approval_and_how_to_fix_it(
        alice, connected, emulator_reset, opportunity_factory, web_as):
    opportunity, link = _locked_opportunity(alice, connected, emulator_reset, opportunity_factory)
    push_connection(connection_id=connected.pk)
    page = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opportunity.pk]))
    text = html.unescape(page.content.decode())
    assert 'data-testid="sf-locked"' in text
    assert "Locked by an approval process in Salesforce" in text
    assert "Complete the approval or recall it in Salesforce, then click Sync on the record." in text


def test_after_the_approval_is_recalled_the_sync_button_sends_it(
        alice, connected, emulator_reset, opportunity_factory, web_as):
    opportunity, link = _locked_opportunity(alice, connected, emulator_reset, opportunity_factory)
    push_connection(connection_id=connected.pk)
    emulator_reset.client.recall_approval(link.salesforce_id)
    run = record_sync_now(connection=connected, record_type="opportunity", record_id=opportunity.pk, actor=alice.member)
    assert push_connection(connection_id=connected.pk).failed == 0
    assert manual_runs_settle(connection_id=connected.pk) == 1
    run.refresh_from_db()
    link.refresh_from_db()
    assert run.status == "succeeded" and link.status == LinkStatus.SYNCED and link.last_error_code == ""
    [record] = emulator_reset.sf().query_all(f"SELECT Name FROM Opportunity WHERE Id = '{link.salesforce_id}'")["records"]
    assert record["Name"] == "Fleet telematics (phase 2)"
    page = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opportunity.pk]))
    assert "Locked by an approval process" not in page.content.decode()
