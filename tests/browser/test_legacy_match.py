"""Match Legacy Records in a real browser against the emulator: run the matcher from the page,
watch its progress, see the proposals best first with their evidence, accept one. Screenshot in
test-artifacts/legacy-match.png."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_run_the_matcher_on_the_page_and_accept_the_best_proposal(page, live_server, login, alice, connected, emulator_reset,
                                                                  department_factory, opportunity_factory, screenshot,
                                                                  monkeypatch):
    from sync_engine.legacy import services
    from sync_engine.legacy.models import LegacyMatchJob, LegacyMatchProposal
    from sync_engine.models import ChangeRecord, MatchedBy, SyncLink

    sent: list[int] = []
    monkeypatch.setattr(services, "_send", sent.append)  # the broker: the worker's part is done below
    today = datetime.date.today()
    dfo = department_factory(alice.tenant, "Fisheries and Oceans Canada")
    radar = opportunity_factory(alice.tenant, title="Coast guard radar maintenance for Fisheries and Oceans Canada — Atlantic",
                                department=dfo, value_min=Decimal("400000"), value_max=Decimal("600000"),
                                closing_date=today + datetime.timedelta(days=20))
    opportunity_factory(alice.tenant, title="Indigenous language translation services for Parks Canada",
                        value_min=Decimal("120000"), value_max=Decimal("180000"), closing_date=today + datetime.timedelta(days=15))
    sf = emulator_reset.sf()
    account = sf.Account.create({"Name": "Fisheries and Oceans Canada"})["id"]
    legacy = sf.Opportunity.create({"Name": "Coast Guard radar maintenance (Atlantic) - DFO", "StageName": "Qualification",
                                    "CloseDate": (today + datetime.timedelta(days=21)).isoformat(), "Amount": 500000,
                                    "AccountId": account})["id"]
    sf.Opportunity.create({"Name": "Coast Guard radar maintenance (Pacific) - DFO", "StageName": "Prospecting",
                           "CloseDate": (today + datetime.timedelta(days=35)).isoformat(), "Amount": 700000, "AccountId": account})
    sf.Opportunity.create({"Name": "Indigenous languages translation – Parks Canada", "StageName": "Negotiation",
                           "CloseDate": (today + datetime.timedelta(days=14)).isoformat(), "Amount": 150000})

    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connected.pk}/legacy/")
    page.get_by_text("Not run yet for this connection.").wait_for()
    page.get_by_role("button", name="Find matches").click()
    page.locator("#legacy-job[data-status='queued']").wait_for()
    job = LegacyMatchJob.objects.get()
    assert sent == [job.pk]
    services.legacy_match_run(job_id=job.pk)  # what the background worker does with the message
    # The polled progress sees the end and the page reloads with the proposals.
    page.locator("#legacy-job[data-status='succeeded']").wait_for()
    rows = page.locator("table.legacy-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == LegacyMatchProposal.objects.count() == 3
    best = LegacyMatchProposal.objects.order_by("-score").first()
    assert best.salesforce_id == legacy and best.opportunity_id == radar.pk
    first = rows.first
    assert first.get_attribute("id") == f"proposal-{best.pk}"
    assert "Coast Guard radar maintenance (Atlantic) - DFO" in first.inner_text()
    assert "within Cothon's value $400,000–$600,000" in first.inner_text()
    screenshot(page, "legacy-match-proposals")

    first.get_by_role("button", name="Accept", exact=True).click()
    page.get_by_text("Accepted 1").wait_for()
    link = SyncLink.objects.get(record_type="opportunity", record_id=radar.pk)
    assert link.salesforce_id == legacy and link.matched_by == MatchedBy.LEGACY_REVIEW
    assert ChangeRecord.objects.filter(record_id=radar.pk, fields=["reference"]).exists()
    # The decoy for the same tender is closed; the other pair is still to review.
    assert page.locator("table.legacy-table tbody tr").count() == 1
    screenshot(page, "legacy-match")
