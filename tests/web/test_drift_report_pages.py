"""Sync › a connection › Drift reports: list, detail with counts, truncated warning and links to
both records, "Validate now"; admins only, another tenant's ids are a 404."""

from __future__ import annotations

from django.urls import reverse

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_ensure_initial
from sync_engine.validation.models import DriftReport


def _connection(world) -> SalesforceConnection:
    connection = SalesforceConnection.objects.create(tenant=world.tenant, name="Prod", login_url="https://login.salesforce.com",
                                                     instance_url="https://acme.my.salesforce.com",
                                                     status=ConnectionStatus.CONNECTED, is_default=True)
    settings_ensure_initial(connection=connection)
    return connection


def _report(world, connection, opportunity, **values) -> DriftReport:
    examples = {"field_difference": [{"record_id": opportunity.pk, "title": opportunity.title, "salesforce_id": "006000000000001AAA",
                                      "field": "Description", "cothon": "Ours", "salesforce": "Theirs", "changed_by": "both"}],
                "orphan": [{"salesforce_id": "006000000000009AAA", "reference": "W0000-GONE/A",
                            "note": "Carries Cothon reference “W0000-GONE/A”, which no Cothon opportunity has."}]}
    values = {"status": "complete", **values}
    return DriftReport.objects.create(tenant=world.tenant, connection=connection, field_differences=1, orphans=1,
                                      records_compared=10, records_with_differences=1, examples=examples, **values)


def test_the_sync_pages_link_to_the_drift_reports(alice, web_as):
    connection = _connection(alice)
    html = web_as(alice.admin).get(reverse("sync:sync_now", args=[connection.pk])).content.decode()
    assert reverse("sync_validation:reports", args=[connection.pk]) in html and "Drift reports" in html


def test_the_report_shows_counts_examples_and_links_to_both_records(alice, web_as, opportunity_factory):
    connection = _connection(alice)
    opportunity = opportunity_factory(alice.tenant)
    report = _report(alice, connection, opportunity)
    client = web_as(alice.admin)
    listing = client.get(reverse("sync_validation:reports", args=[connection.pk])).content.decode()
    assert reverse("sync_validation:report", args=[connection.pk, report.pk]) in listing
    html = client.get(reverse("sync_validation:report", args=[connection.pk, report.pk])).content.decode()
    assert reverse("opportunities:detail", args=[opportunity.pk]) in html
    assert "https://acme.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view" in html
    assert "W0000-GONE/A" in html and "Truncated read" not in html


def test_a_truncated_report_says_so(alice, web_as, opportunity_factory):
    connection = _connection(alice)
    report = _report(alice, connection, opportunity_factory(alice.tenant), status="truncated",
                     reason="The read stopped after 2,000 rows: SERVER_UNAVAILABLE. No link was marked deleted.")
    html = web_as(alice.admin).get(reverse("sync_validation:report", args=[connection.pk, report.pk])).content.decode()
    assert 'data-testid="truncated-warning"' in html and "No link was marked deleted." in html


def test_validate_now_starts_one_and_refuses_a_second(alice, web_as, django_capture_on_commit_callbacks):
    connection = _connection(alice)
    client = web_as(alice.admin)
    url = reverse("sync_validation:validate", args=[connection.pk])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url)
    report = DriftReport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("sync_validation:report", args=[connection.pk, report.pk])
    with django_capture_on_commit_callbacks(execute=False):
        again = client.post(url, follow=True)
    assert "already running" in again.content.decode() and DriftReport.objects.count() == 1
    assert client.get(url).status_code == 405


def test_members_are_refused_and_other_tenants_ids_are_a_404(alice, bob, web_as, opportunity_factory):
    connection = _connection(alice)
    report = _report(alice, connection, opportunity_factory(alice.tenant))
    detail = reverse("sync_validation:report", args=[connection.pk, report.pk])
    assert web_as(alice.member).get(detail).status_code == 403
    bob_admin = web_as(bob.admin)
    assert bob_admin.get(detail).status_code == 404
    assert bob_admin.get(reverse("sync_validation:reports", args=[connection.pk])).status_code == 404
    assert bob_admin.post(reverse("sync_validation:validate", args=[connection.pk])).status_code == 404
    bobs = _connection(bob)
    # Alice's report under bob's connection id is a 404 too.
    assert bob_admin.get(reverse("sync_validation:report", args=[bobs.pk, report.pk])).status_code == 404
