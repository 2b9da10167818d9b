"""The sync-log page's errors by cause, its Retry / Skip pages (admin; confirm, then POST), the
row's links, wait and attempt, and the CSV's new columns — roles, bad input, tenant isolation."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse

from sync_engine.log_selectors import GroupKey
from sync_engine.models import OutboxEntry, SyncLink, SyncLog

pytestmark = pytest.mark.django_db
HINT = "A field required in Salesforce has no value."


def _connection(tenant, name="Production org", **fields):
    from integrations.models import SalesforceConnection

    defaults = {"login_url": "https://login.salesforce.com", "instance_url": f"https://{tenant.slug}.my.salesforce.com",
                "status": "connected", "is_default": True}
    defaults.update(fields)
    return SalesforceConnection.objects.create(tenant=tenant, name=name, **defaults)


def _log(connection, record_id, result="failed", **fields) -> SyncLog:
    data = {"record_type": "opportunity", "record_label": f"Record {record_id}", "sobject": "Opportunity",
            "operation": "upsert", "direction": "push"}
    if result == "failed":
        data.update(error_code="REQUIRED_FIELD_MISSING", hint=HINT, error_message="Required fields are missing: [CloseDate]")
    data.update(fields)
    return SyncLog.objects.create(tenant=connection.tenant, connection=connection, record_id=record_id, result=result, **data)


def test_the_page_groups_failed_rows_by_cause_and_only_admins_get_the_actions(alice, web_as):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    _log(prod, 2)
    _log(prod, 3, error_code="UNABLE_TO_LOCK_ROW", hint="Locked by another process.")
    html = web_as(alice.viewer).get(reverse("sync:logs")).content.decode()
    assert "Errors by cause" in html and "Locked by another process." in html and HINT in html
    assert "Retry all failed" not in html and "Skip this record" not in html
    admin = web_as(alice.admin).get(reverse("sync:logs")).content.decode()
    assert "Retry all failed" in admin and "Retry 2" in admin and "Skip this record" in admin
    # Over the filters: another connection's filter shows no group.
    other = _connection(alice.tenant, "Sandbox", is_default=False)
    assert "Errors by cause" not in web_as(alice.admin).get(reverse("sync:logs"), {"connection": other.pk}).content.decode()


def test_retry_asks_to_confirm_with_the_count_then_queues_and_says_how_many(alice, web_as):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    _log(prod, 2)
    _log(prod, 3, error_code="UNABLE_TO_LOCK_ROW", hint="Locked.")
    client = web_as(alice.admin)
    key = GroupKey(prod.pk, "REQUIRED_FIELD_MISSING", HINT).encode()
    page = client.get(reverse("sync:logs_retry"), {"group": key, "connection": prod.pk})
    assert page.status_code == 200 and "2 records will be retried" in page.content.decode()
    assert not OutboxEntry.objects.exists()  # a GET changes nothing
    response = client.post(reverse("sync:logs_retry"), {"group": key, "connection": prod.pk}, follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('sync:logs')}?connection={prod.pk}"
    assert "Retrying 2 records" in response.content.decode()
    assert sorted(OutboxEntry.objects.values_list("record_id", flat=True)) == [1, 2]
    again = client.post(reverse("sync:logs_retry"), {"group": key}, follow=True).content.decode()
    assert "Nothing to retry" in again and OutboxEntry.objects.count() == 2
    everything = client.get(reverse("sync:logs_retry")).content.decode()
    assert "1 record will be retried" in everything and "2 other records are already queued" in everything


def test_retry_needs_csrf_and_the_admin_role(alice, web_as, client):
    from django.test import Client

    prod = _connection(alice.tenant)
    _log(prod, 1)
    for user in (alice.member, alice.viewer):
        assert web_as(user).post(reverse("sync:logs_retry")).status_code == 403
        assert web_as(user).get(reverse("sync:logs_retry")).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice.admin)
    assert strict.post(reverse("sync:logs_retry")).status_code == 403
    assert not OutboxEntry.objects.exists()


def test_retry_with_bad_filters_or_group_queues_nothing_and_says_why(alice, bob, web_as):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    client = web_as(alice.admin)
    bad = client.post(reverse("sync:logs_retry"), {"date_from": "not-a-date"}, follow=True).content.decode()
    assert "Fix the filters first" in bad
    garbage = client.post(reverse("sync:logs_retry"), {"group": "garbage"}, follow=True).content.decode()
    assert "not one of this log" in garbage
    bobs = _connection(bob.tenant)
    key = GroupKey(bobs.pk, "REQUIRED_FIELD_MISSING", HINT).encode()
    assert client.post(reverse("sync:logs_retry"), {"group": key}).status_code == 404
    assert client.get(reverse("sync:logs_retry"), {"group": key}).status_code == 404
    assert not OutboxEntry.objects.exists()


def test_skip_from_a_row_and_from_a_group(alice, bob, web_as, opportunity_factory):
    prod = _connection(alice.tenant)
    first, second = opportunity_factory(alice.tenant), opportunity_factory(alice.tenant)
    log = _log(prod, first.pk, record_label=first.title)
    _log(prod, second.pk)
    client = web_as(alice.admin)
    response = client.post(reverse("sync:log_row_skip", args=[log.pk]), {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("sync:logs") and f"Skipped “{first.title}”" in response.content.decode()
    confirm = client.get(reverse("sync:logs_skip")).content.decode()
    assert "1 opportunity will be skipped" in confirm
    assert "Skipped 1 opportunity" in client.post(reverse("sync:logs_skip"), follow=True).content.decode()
    assert SyncLink.objects.filter(status="skipped").count() == 2
    theirs = _log(_connection(bob.tenant), 5)
    assert client.post(reverse("sync:log_row_skip", args=[theirs.pk])).status_code == 404
    assert web_as(alice.member).post(reverse("sync:log_row_skip", args=[log.pk])).status_code == 403


def test_a_department_row_says_it_cannot_be_skipped_and_links_to_its_page(alice, web_as, department_factory):
    prod = _connection(alice.tenant)
    department = department_factory(alice.tenant, "Transport Canada")
    _log(prod, department.pk, record_type="department", sobject="Account", record_label="Transport Canada")
    html = web_as(alice.admin).get(reverse("sync:logs")).content.decode()
    assert reverse("departments:detail", args=[department.pk]) in html
    assert "skip its opportunity" in html and "Skip this record" not in html


def test_a_row_links_to_salesforce_and_shows_its_wait_and_attempt(alice, web_as, opportunity_factory):
    prod = _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    log = _log(prod, opportunity.pk, result="success", salesforce_id="006000000000001AAA", attempts=2)
    SyncLog.objects.filter(pk=log.pk).update(queued_at=log.created_at - datetime.timedelta(milliseconds=3200))
    html = web_as(alice.viewer).get(reverse("sync:logs")).content.decode()
    assert "https://alice.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view" in html
    assert reverse("opportunities:detail", args=[opportunity.pk]) in html
    assert "waited 3.2 s · attempt 2" in html


def test_the_csv_appends_queued_at_attempts_and_latency(alice, web_as):
    prod = _connection(alice.tenant)
    log = _log(prod, 1, result="success", attempts=3)
    queued = log.created_at - datetime.timedelta(milliseconds=1500)
    SyncLog.objects.filter(pk=log.pk).update(queued_at=queued)
    _log(prod, 2, result="success")  # no queued change: empty cells
    response = web_as(alice.viewer).get(reverse("sync:logs_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:18] == ["id", "time", "connection", "record_type", "record_id", "record", "salesforce_object",
                            "salesforce_id", "direction", "operation", "result", "error_code", "error_message", "fix_hint",
                            "retries", "duration_ms", "api_calls", "run_id"]
    assert rows[0][18:] == ["queued_at", "attempts", "latency_ms"]
    by_record = {row[4]: row for row in rows[1:]}
    assert by_record["1"][19:] == ["3", "1500"] and by_record["1"][18].startswith(str(queued.year))
    assert by_record["2"][18:] == ["", "0", ""]
