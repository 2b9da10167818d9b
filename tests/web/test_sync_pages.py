"""Sync operations UI: the record Sync button and its polled status, the list badge, Sync Now,
sync logs (filters, keyset pages, CSV export) and API usage — roles and tenant isolation."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sync_engine.fanout import fan_out_pending

pytestmark = pytest.mark.django_db


# --- helpers -----------------------------------------------------------------------------------

def _connection(tenant, **fields):
    from integrations.models import SalesforceConnection

    defaults = {"name": "Production org", "login_url": "https://login.salesforce.com",
                "instance_url": f"https://{tenant.slug}.my.salesforce.com", "status": "connected", "is_default": True}
    defaults.update(fields)
    return SalesforceConnection.objects.create(tenant=tenant, **defaults)


def _logs(connection, n=1, **fields):
    from sync_engine.models import SyncLog

    rows = []
    for i in range(n):
        data = {"record_type": "opportunity", "record_id": 1000 + i, "record_label": f"Record {i}", "sobject": "Opportunity",
                "operation": "upsert", "result": "success", "duration_ms": 120, "api_calls": 1}
        data.update(fields)
        rows.append(SyncLog(tenant=connection.tenant, connection=connection, **data))
    return SyncLog.objects.bulk_create(rows)


def _ids(html: str) -> list[int]:
    """Log ids of the rows on a page, in order (from the per-row record filter links)."""
    import re

    return [int(x) for x in re.findall(r'data-log-id="(\d+)"', html)]


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


# --- roles and tenant isolation ----------------------------------------------------------------

def test_every_connection_and_run_view_is_404_for_another_tenant(web_as, alice, bob, opportunity_factory):
    from sync_engine.models import SyncRun

    conn = _connection(alice.tenant)
    _connection(bob.tenant)
    opp = opportunity_factory(alice.tenant)
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="full", status="running", total=10)
    manual = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="manual_record", record_type="opportunity",
                                    record_id=opp.pk, status="running", started_at=timezone.now())
    client = web_as(bob.admin)
    for url in (reverse("sync:sync_now", args=[conn.pk]), reverse("sync:usage", args=[conn.pk]),
                reverse("sync:run_list", args=[conn.pk]), reverse("sync:run_progress", args=[run.pk]),
                reverse("sync:record_run_status", args=[manual.pk])):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("sync:sync_now", args=[conn.pk]), {"kind": "full"}).status_code == 404
    assert client.post(reverse("sync:run_cancel", args=[run.pk])).status_code == 404
    assert client.post(reverse("opportunities:sync", args=[opp.pk])).status_code == 404
    run.refresh_from_db()
    assert not run.cancel_requested and SyncRun.objects.filter(tenant=alice.tenant).count() == 2


def test_bob_never_sees_alices_logs_in_the_page_or_the_csv(web_as, alice, bob):
    alices = _connection(alice.tenant)
    _logs(alices, 3, record_label="Alice secret bid")
    _logs(_connection(bob.tenant), 2, record_label="Bob bid", record_id=5000)
    client = web_as(bob.viewer)
    html = client.get(reverse("sync:logs")).content.decode()
    assert "Bob bid" in html and "Alice secret bid" not in html
    # Alice's connection id as a filter is refused, not honoured.
    html = client.get(reverse("sync:logs"), {"connection": alices.pk}).content.decode()
    assert "Alice secret bid" not in html and "not one of your organization" in html
    rows = _csv_rows(client.get(reverse("sync:logs_csv")))
    assert len(rows) == 3 and all("Alice" not in cell for row in rows for cell in row)
    # Alice's record history endpoint from bob's side: a 404, like every other route.
    response = client.get(reverse("sync:record_history", args=["opportunity", 1000]))
    assert response.status_code == 404 and "Alice" not in response.content.decode()


def test_viewers_cannot_sync_a_record_start_or_cancel_sync_now(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry, SyncRun

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="full", status="running", total=10)
    viewer = web_as(alice.viewer)
    assert viewer.post(reverse("opportunities:sync", args=[opp.pk])).status_code == 403
    assert viewer.get(reverse("sync:sync_now", args=[conn.pk])).status_code == 403
    assert viewer.post(reverse("sync:sync_now", args=[conn.pk]), {"kind": "full"}).status_code == 403
    assert viewer.post(reverse("sync:run_cancel", args=[run.pk])).status_code == 403
    assert not OutboxEntry.objects.exists()
    run.refresh_from_db()
    assert not run.cancel_requested
    # Members sync records but Sync Now is for admins.
    assert web_as(alice.member).get(reverse("sync:sync_now", args=[conn.pk])).status_code == 403
    # Viewers read logs and usage.
    assert viewer.get(reverse("sync:logs")).status_code == 200
    assert viewer.get(reverse("sync:usage", args=[conn.pk])).status_code == 200


def test_viewer_sees_a_disabled_sync_button_with_the_reason(web_as, alice, opportunity_factory):
    _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    html = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    panel = html.split('id="salesforce-panel"')[1]
    assert "disabled>" in panel and "viewers can read the sync state only" in panel
    assert "hx-post" not in panel


# --- the record Sync button --------------------------------------------------------------------

def test_sync_post_queues_a_manual_outbox_row_and_a_run(web_as, alice, opportunity_factory, htmx_headers):
    from sync_engine.models import OutboxEntry, Priority, SyncRun

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    response = web_as(alice.member).post(reverse("opportunities:sync", args=[opp.pk]), **htmx_headers)
    assert response.status_code == 200
    run = SyncRun.objects.get(tenant=alice.tenant, kind="manual_record")
    assert (run.record_type, run.record_id, run.connection_id, run.requested_by) == ("opportunity", opp.pk, conn.pk, alice.member)
    entry = OutboxEntry.objects.get(connection=conn, record_type="opportunity", record_id=opp.pk)
    assert entry.priority == Priority.MANUAL and entry.state == "pending"
    html = response.content.decode()
    assert "Syncing…" in html and reverse("sync:record_run_status", args=[run.pk]) in html and 'hx-trigger="every 1s"' in html


def test_sync_without_a_usable_connection_says_so_and_queues_nothing(web_as, alice, opportunity_factory, htmx_headers):
    from sync_engine.models import OutboxEntry, SyncRun

    opp = opportunity_factory(alice.tenant)
    client = web_as(alice.member)
    html = client.post(reverse("opportunities:sync", args=[opp.pk]), **htmx_headers).content.decode()
    assert "Not synced." in html and "Not connected to Salesforce" in html and "hx-get" not in html
    _connection(alice.tenant, status="needs_reconnect")
    html = client.post(reverse("opportunities:sync", args=[opp.pk]), **htmx_headers).content.decode()
    assert "needs reconnect" in html and "admin must reconnect" in html
    assert not SyncRun.objects.exists() and not OutboxEntry.objects.filter(priority=0).exists()
    # Without HTMX: a redirect back to the record with the message.
    response = client.post(reverse("opportunities:sync", args=[opp.pk]))
    assert response.status_code == 302


def _manual_run(conn, opp, seconds_ago=2):
    from sync_engine.models import SyncRun

    started = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    return SyncRun.objects.create(tenant=conn.tenant, connection=conn, kind="manual_record", record_type="opportunity",
                                  record_id=opp.pk, status="running", total=1, started_at=started)


def test_status_polls_while_the_record_is_queued_or_in_flight(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = _manual_run(conn, opp)
    entry = OutboxEntry.objects.filter(connection=conn, record_type="opportunity", record_id=opp.pk).first()
    assert entry is not None  # opportunity_create queued it
    client = web_as(alice.viewer)
    response = client.get(reverse("sync:record_run_status", args=[run.pk]))
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html and "Syncing…" in html and "HX-Trigger" not in response.headers
    OutboxEntry.objects.filter(pk=entry.pk).update(state="claimed")
    html = client.get(reverse("sync:record_run_status", args=[run.pk])).content.decode()
    assert 'data-state="running"' in html and "every 1s" in html


def test_status_reports_success_from_the_log_and_link(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry, SyncLink

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = _manual_run(conn, opp)
    _logs(conn, 1, record_id=opp.pk, result="failed", error_code="OLD_ERROR")  # before the run: ignored
    from sync_engine.models import SyncLog
    SyncLog.objects.filter(error_code="OLD_ERROR").update(created_at=run.started_at - datetime.timedelta(minutes=5))
    OutboxEntry.objects.filter(record_id=opp.pk).delete()  # the executor finished the row
    _logs(conn, 1, record_id=opp.pk, record_label=opp.title, result="success", salesforce_id="006000000000001AAA")
    SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                            sobject="Opportunity", salesforce_id="006000000000001AAA", status="synced",
                            last_synced_at=timezone.now())
    response = web_as(alice.member).get(reverse("sync:record_run_status", args=[run.pk]))
    html = response.content.decode()
    assert 'data-state="succeeded"' in html and "Synced to Salesforce" in html
    assert "https://alice.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view" in html
    assert "hx-trigger" not in html  # polling stops
    assert response.headers["HX-Trigger"] == "sync-record-finished"


def test_status_reports_failure_with_code_message_and_hint(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = _manual_run(conn, opp)
    OutboxEntry.objects.filter(record_id=opp.pk).update(state="failed", updated_at=timezone.now())
    _logs(conn, 1, record_id=opp.pk, result="failed", error_code="REQUIRED_FIELD_MISSING",
          error_message="Required fields are missing: [CloseDate]",
          hint="A field required in Salesforce has no value. Add a field mapping for it.")
    html = web_as(alice.member).get(reverse("sync:record_run_status", args=[run.pk])).content.decode()
    assert 'data-state="failed"' in html and "REQUIRED_FIELD_MISSING" in html
    assert "Required fields are missing: [CloseDate]" in html and "How to fix:" in html and "Add a field mapping" in html
    assert "hx-trigger" not in html


def test_status_keeps_polling_through_a_retry_and_says_why(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = _manual_run(conn, opp)
    OutboxEntry.objects.filter(record_id=opp.pk).update(attempts=1, available_at=timezone.now() + datetime.timedelta(seconds=20))
    _logs(conn, 1, record_id=opp.pk, result="retrying", error_code="UNABLE_TO_LOCK_ROW")
    html = web_as(alice.member).get(reverse("sync:record_run_status", args=[run.pk])).content.decode()
    assert 'data-state="retrying"' in html and "UNABLE_TO_LOCK_ROW" in html and "every 1s" in html


def test_record_page_shows_its_sync_history_and_resumes_an_active_sync(web_as, alice, opportunity_factory):
    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    other = opportunity_factory(alice.tenant)
    fan_out_pending()
    _logs(conn, 1, record_id=opp.pk, result="failed", error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    _logs(conn, 1, record_id=other.pk, result="failed", error_code="NOT_THIS_RECORD")
    run = _manual_run(conn, opp)
    html = web_as(alice.member).get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert "Sync history" in html and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in html and "NOT_THIS_RECORD" not in html
    assert f"{reverse('sync:logs')}?record_type=opportunity&amp;record={opp.pk}" in html
    assert reverse("sync:record_run_status", args=[run.pk]) in html  # still queued: the panel polls
    assert f'hx-post="{reverse("opportunities:sync", args=[opp.pk])}"' in html


# --- the list badge ----------------------------------------------------------------------------

def test_list_badge_labels_each_rows_sync_state_with_a_fixed_number_of_queries(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry, SyncLink

    conn = _connection(alice.tenant)
    opps = [opportunity_factory(alice.tenant) for _ in range(6)]
    fan_out_pending(); OutboxEntry.objects.all().delete()  # as if the saves were pushed
    client = web_as(alice.viewer)
    client.get(reverse("opportunities:list"))  # the first request of a session also stores the tenant in it
    SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opps[0].pk,
                            sobject="Opportunity", salesforce_id="006A", status="synced", last_synced_at=timezone.now())
    with CaptureQueriesContext(db_connection) as one:
        html = client.get(reverse("opportunities:list")).content.decode()
    assert '<th scope="col" class="col-sync">Salesforce</th>' in html
    assert html.count('class="sync-badge') == 6
    assert html.count('data-sync-state="in_sync"') == 1 and html.count('data-sync-state="not_synced"') == 5
    assert ">In sync<" in html and ">Not synced<" in html  # a word, not a bare icon
    for opp in opps[1:]:
        SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                                sobject="Opportunity", salesforce_id=f"006{opp.pk}", status="failed", last_error_code="X")
    with CaptureQueriesContext(db_connection) as six:
        html = client.get(reverse("opportunities:list")).content.decode()
    assert html.count('data-sync-state="failed"') == 5 and ">Failed<" in html
    assert len(six.captured_queries) <= len(one.captured_queries)


def test_list_has_no_salesforce_column_without_a_connection(web_as, alice, opportunity_factory):
    opportunity_factory(alice.tenant)
    html = web_as(alice.viewer).get(reverse("opportunities:list")).content.decode()
    assert "sync-badge" not in html and '<th scope="col" class="col-sync">Salesforce</th>' not in html


# --- Sync Now ----------------------------------------------------------------------------------

def test_sync_now_starts_shows_progress_refuses_a_second_run_and_cancels(web_as, alice, opportunity_factory):
    from sync_engine.models import SyncRun

    conn = _connection(alice.tenant)
    opportunity_factory(alice.tenant)
    opportunity_factory(alice.tenant)
    client = web_as(alice.admin)
    page = client.get(reverse("sync:sync_now", args=[conn.pk]))
    assert page.status_code == 200 and "No sync is running" in page.content.decode()
    response = client.post(reverse("sync:sync_now", args=[conn.pk]), {"kind": "full"})
    assert response.status_code == 302
    run = SyncRun.objects.get(connection=conn, kind="full")
    assert run.total == 2 and run.status == "queued"
    html = client.get(reverse("sync:sync_now", args=[conn.pk])).content.decode()
    assert "Full sync started: 2 records queued." in html
    assert reverse("sync:run_progress", args=[run.pk]) in html and 'role="progressbar"' in html
    # A second start: the service's ValidationError, shown plainly.
    response = client.post(reverse("sync:sync_now", args=[conn.pk]), {"kind": "incremental"})
    assert response.status_code == 400 and "already running" in response.content.decode()
    # Progress as the executor writes it.
    SyncRun.objects.filter(pk=run.pk).update(status="running", processed=1, succeeded=1, api_calls=3,
                                             started_at=timezone.now() - datetime.timedelta(seconds=75))
    html = client.get(reverse("sync:run_progress", args=[run.pk])).content.decode()
    assert "1 / 2 records · 50%" in html and "1 min 15 s" in html and "every 1s" in html
    # Cancel (HTMX): the flag is set, queued rows dropped, the run finished as cancelled.
    response = client.post(reverse("sync:run_cancel", args=[run.pk]), HTTP_HX_REQUEST="true")
    run.refresh_from_db()
    assert run.cancel_requested and run.status == "cancelled"
    html = response.content.decode()
    assert "Sync cancelled." in html and "every 1s" not in html and response.headers["HX-Trigger"] == "sync-run-finished"


def test_sync_now_on_a_disconnected_org_and_bad_kind(web_as, alice):
    conn = _connection(alice.tenant, status="needs_reconnect")
    client = web_as(alice.admin)
    response = client.post(reverse("sync:sync_now", args=[conn.pk]), {"kind": "full"})
    assert response.status_code == 400 and "reconnect it before syncing" in response.content.decode()
    response = client.post(reverse("sync:sync_now", args=[conn.pk]), {"kind": "everything"})
    assert response.status_code == 400 and "Choose full or incremental." in response.content.decode()


# --- sync logs: filters and bad input -----------------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"date_from": "2024-13-45"}, "Enter a valid date"),
    ({"date_to": "yesterday"}, "Enter a valid date"),
    ({"date_from": "2030-02-01", "date_to": "2030-01-01"}, "The end date is before the start date."),
    ({"result": "exploded"}, "Unknown status"),
    ({"record_type": "spaceship"}, "Unknown record type"),
    ({"record": "#abc"}, "give a record id"),
    ({"record": "9" * 30}, "too long"),
    ({"before": "abc"}, "must be a whole number"),
    ({"after": "-5"}, "must be a whole number"),
    ({"error_code": "'; DROP TABLE x; --"}, "An error code is one word"),
    ({"connection": "abc"}, "not one of your organization"),
])
def test_bad_filter_input_gives_a_clear_message_not_a_500(web_as, alice, params, message):
    logs = _logs(_connection(alice.tenant), 2)
    client = web_as(alice.viewer)
    response = client.get(reverse("sync:logs"), params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and "Some filters were not applied" in html
    if "date_to" not in params or "date_from" not in params:
        # The mistyped filter is ignored, not turned into an empty result.
        assert set(_ids(html)) == {log.pk for log in logs}
    # The export refuses to run on a mistyped filter instead of exporting everything.
    response = client.get(reverse("sync:logs_csv"), params)
    assert response.status_code == 302


def test_filters_by_status_code_record_label_and_tenant_day(web_as, alice):
    from sync_engine.models import SyncLog

    conn = _connection(alice.tenant)
    ok = _logs(conn, 3, result="success")
    failed = _logs(conn, 2, result="failed", error_code="UNABLE_TO_LOCK_ROW", record_id=77, record_label="Bridge repair")
    _logs(conn, 1, result="failed", error_code="INVALID_FIELD", record_label="Road paving")
    # 01:30 UTC on Mar 2 is still Mar 1 in Toronto (the tenant's zone).
    SyncLog.objects.filter(pk=ok[0].pk).update(created_at=datetime.datetime(2030, 3, 2, 1, 30, tzinfo=datetime.UTC))
    client = web_as(alice.viewer)

    def rows(**params):
        return _ids(client.get(reverse("sync:logs"), params).content.decode())

    assert set(rows(result="failed")) == {f.pk for f in failed} | {SyncLog.objects.get(error_code="INVALID_FIELD").pk}
    assert set(rows(result="failed", error_code="UNABLE_TO_LOCK_ROW")) == {f.pk for f in failed}
    assert set(rows(record="77", record_type="opportunity")) == {f.pk for f in failed}
    assert set(rows(record="bridge")) == {f.pk for f in failed}
    assert rows(date_from="2030-03-01", date_to="2030-03-01") == [ok[0].pk]
    assert rows(date_from="2030-03-02", date_to="2030-03-02") == []
    html = client.get(reverse("sync:logs"), {"result": "failed"}).content.decode()
    assert "No sync logs match" not in html and "UNABLE_TO_LOCK_ROW" in html


def test_log_row_shows_time_connection_record_link_error_and_figures(web_as, alice, opportunity_factory):
    from sync_engine.models import SyncLog

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    [log] = _logs(conn, 1, record_id=opp.pk, record_label=opp.title, result="failed", error_code="INSUFFICIENT_ACCESS",
                  error_message="insufficient access rights on object id", hint="Grant the object permissions.",
                  retries=2, duration_ms=1530, api_calls=4)
    SyncLog.objects.filter(pk=log.pk).update(created_at=datetime.datetime(2030, 3, 1, 15, 30, tzinfo=datetime.UTC))
    html = web_as(alice.viewer).get(reverse("sync:logs")).content.decode()
    assert "Mar 1, 2030" in html and "10:30:00 EST" in html
    assert reverse("opportunities:detail", args=[opp.pk]) in html and "Production org" in html
    assert "INSUFFICIENT_ACCESS" in html and "insufficient access rights" in html and "Grant the object permissions." in html
    assert "1.5 s" in html and 'class="pill pill-red"' in html


def test_the_log_says_how_many_rows_there_are_not_the_page_size(web_as, alice, settings):
    from sync_engine import selectors

    conn = _connection(alice.tenant)
    _logs(conn, 1500)
    _logs(conn, 3, result="failed", error_code="X")
    client = web_as(alice.viewer)
    html = client.get(reverse("sync:logs")).content.decode()
    assert "Newest <strong>50</strong> of <strong>1,503</strong> rows" in html
    html = client.get(reverse("sync:logs"), {"result": "failed"}).content.decode()
    assert "of <strong>3</strong> rows matching the filters" in html
    # Past the cap the count stops reading and says so, so a million-row log stays fast.
    assert selectors.sync_log_count(tenant=alice.tenant, cap=1000) == (1000, True)
    assert selectors.sync_log_count(tenant=alice.tenant) == (1503, False)


def test_bulk_log_rows_show_their_share_of_the_job_not_zero(web_as, alice):
    conn = _connection(alice.tenant)
    first, second = _logs(conn, 2, operation="bulk_upsert", duration_ms=0, api_calls=0)
    from sync_engine.models import SyncLog
    SyncLog.objects.filter(pk=first.pk).update(api_calls=6, duration_ms=3)
    html = web_as(alice.viewer).get(reverse("sync:logs")).content.decode()
    assert "Bulk job: 6 calls" in html and "part of a Bulk job" in html
    assert "3 ms share" in html and "under 1 ms share" in html
    assert "0 ms" not in html and "0 calls" not in html


def test_sub_second_runs_say_under_one_second_not_zero(web_as, alice):
    from sync_engine.models import SyncRun

    conn = _connection(alice.tenant)
    now = timezone.now()
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="incremental", status="succeeded", total=2,
                                 processed=2, succeeded=2, started_at=now - datetime.timedelta(milliseconds=300),
                                 finished_at=now)
    client = web_as(alice.admin)
    html = client.get(reverse("sync:sync_now", args=[conn.pk])).content.decode()
    assert "under 1 s" in html and ">0 s<" not in html
    html = client.get(reverse("sync:run_progress", args=[run.pk])).content.decode()
    assert "under 1 s" in html and ">0 s<" not in html


def test_a_later_edit_does_not_turn_a_finished_manual_sync_into_still_queued(web_as, alice, opportunity_factory):
    from opportunities import services as opp_services
    from sync_engine.models import OutboxEntry, SyncRun

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = _manual_run(conn, opp, seconds_ago=600)
    OutboxEntry.objects.filter(record_id=opp.pk).delete()  # the sync went out…
    _logs(conn, 1, record_id=opp.pk, result="success")
    from sync_engine.models import SyncLog
    SyncLog.objects.update(created_at=run.started_at + datetime.timedelta(seconds=1))
    # …and twenty minutes later someone edits the record: a new real-time row is queued.
    opp_services.opportunity_update(tenant=alice.tenant, opportunity=opp, data={"description": "Later edit"})
    fan_out_pending()
    assert OutboxEntry.objects.filter(record_id=opp.pk, state="pending").exists()
    OutboxEntry.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=1))
    client = web_as(alice.member)
    html = client.get(reverse("sync:record_run_status", args=[run.pk])).content.decode()
    assert 'data-state="succeeded"' in html and "Still queued" not in html and "is-waiting" not in html
    # The same once the run was settled by the worker.
    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", finished_at=run.started_at + datetime.timedelta(seconds=2))
    html = client.get(reverse("sync:record_run_status", args=[run.pk])).content.decode()
    assert 'data-state="succeeded"' in html and "Still queued" not in html
    panel = client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert "Still queued" not in panel and 'data-sync-state="pending"' in panel  # the badge tells the new change


# --- keyset pagination --------------------------------------------------------------------------

def _walk(client, **params):
    """Follow Older → links from the newest page; return the ids of every page."""
    import re

    pages, query = [], dict(params)
    while True:
        html = client.get(reverse("sync:logs"), query).content.decode()
        pages.append(_ids(html))
        match = re.search(r'href="\?([^"]*before=(\d+))" hx-get', html)
        if not match:
            return pages, html
        query = {**params, "before": match.group(2)}


def test_keyset_pages_cover_every_row_once_in_order_and_back(web_as, alice):
    from sync_engine.selectors import LOG_PAGE_SIZE

    conn = _connection(alice.tenant)
    ids = sorted((log.pk for log in _logs(conn, 2 * LOG_PAGE_SIZE + 7)), reverse=True)
    client = web_as(alice.viewer)
    pages, last_html = _walk(client)
    assert [len(p) for p in pages] == [LOG_PAGE_SIZE, LOG_PAGE_SIZE, 7]
    assert [i for p in pages for i in p] == ids
    assert "OFFSET" not in last_html
    # ← Newer from the last page gives exactly the page before it.
    html = client.get(reverse("sync:logs"), {"after": pages[2][0]}).content.decode()
    assert _ids(html) == pages[1]
    html = client.get(reverse("sync:logs"), {"after": pages[1][0]}).content.decode()
    assert _ids(html) == pages[0] and 'rel="prev"' not in html  # the newest page has no Newer link


def test_keyset_pages_are_stable_while_new_logs_arrive(web_as, alice):
    from sync_engine.selectors import LOG_PAGE_SIZE

    conn = _connection(alice.tenant)
    ids = sorted((log.pk for log in _logs(conn, 2 * LOG_PAGE_SIZE)), reverse=True)
    client = web_as(alice.viewer)
    first = _ids(client.get(reverse("sync:logs")).content.decode())
    _logs(conn, 10, record_label="Arrived meanwhile")
    second = _ids(client.get(reverse("sync:logs"), {"before": first[-1]}).content.decode())
    assert first + second == ids  # nothing repeated, nothing skipped


def test_keyset_pagination_uses_no_offset(alice):
    from sync_engine.selectors import sync_log_page

    conn = _connection(alice.tenant)
    logs = _logs(conn, 120)
    with CaptureQueriesContext(db_connection) as ctx:
        page = sync_log_page(tenant=alice.tenant, before=logs[60].pk)
    assert [r.pk for r in page.rows] == [log.pk for log in reversed(logs[10:60])]
    assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)


# --- CSV export ---------------------------------------------------------------------------------

def test_csv_is_streamed_with_the_filtered_rows_and_a_dated_filename(web_as, alice):
    conn = _connection(alice.tenant)
    _logs(conn, 3, result="success")
    _logs(conn, 2, result="failed", error_code="UNABLE_TO_LOCK_ROW", error_message="unable to obtain exclusive access")
    response = web_as(alice.viewer).get(reverse("sync:logs_csv"), {"result": "failed"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate(timezone=__import__("zoneinfo").ZoneInfo("America/Toronto")).isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="sync-logs-alice-{today}.csv"'
    rows = _csv_rows(response)
    assert rows[0][:4] == ["id", "time", "connection", "record_type"]
    assert len(rows) == 3 and {r[10] for r in rows[1:]} == {"Failed"} and {r[11] for r in rows[1:]} == {"UNABLE_TO_LOCK_ROW"}
    assert rows[1][1].endswith(("-05:00", "-04:00"))  # tenant time zone
    assert int(rows[1][0]) > int(rows[2][0])  # newest first


def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(web_as, alice):
    conn = _connection(alice.tenant)
    _logs(conn, 1, record_label='=HYPERLINK("http://evil.example","click")', error_message="+SUM(1,2)",
          hint="-2+3", error_code="@cmd", result="failed")
    _logs(conn, 1, record_label="\tTabbed", error_message="\rreturn", result="failed")
    _logs(conn, 1, record_label="Plain – fine", result="failed")
    rows = _csv_rows(web_as(alice.viewer).get(reverse("sync:logs_csv")))
    by_label = {r[5]: r for r in rows[1:]}
    evil = by_label["'=HYPERLINK(\"http://evil.example\",\"click\")"]
    assert evil[12] == "'+SUM(1,2)" and evil[13] == "'-2+3" and evil[11] == "'@cmd"
    assert "'\tTabbed" in by_label and by_label["'\tTabbed"][12] == "'\rreturn"
    assert "Plain – fine" in by_label


def test_safe_cell_leaves_numbers_alone():
    from sync_engine.csv_export import safe_cell

    assert safe_cell(-5) == -5 and safe_cell(None) == "" and safe_cell("-x") == "'-x" and safe_cell("a=b") == "a=b"


# --- API usage ----------------------------------------------------------------------------------

def test_usage_page_shows_allowance_chart_by_kind_and_a_pause(web_as, alice):
    import time

    from sync_engine.governor import get_governor
    from sync_engine.models import ApiCallBucket

    conn = _connection(alice.tenant, api_usage_used=4200, api_usage_max=5000)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    ApiCallBucket.objects.create(connection=conn, hour=hour, kind="realtime", calls=40)
    ApiCallBucket.objects.create(connection=conn, hour=hour, kind="full", calls=12)
    ApiCallBucket.objects.create(connection=conn, hour=hour - datetime.timedelta(hours=3), kind="incremental", calls=7)
    ApiCallBucket.objects.create(connection=conn, hour=hour - datetime.timedelta(hours=40), kind="manual", calls=5)
    client = web_as(alice.viewer)
    html = client.get(reverse("sync:usage", args=[conn.pk])).content.decode()
    assert "4,200" in html and "5,000" in html and "84% of the allowance" in html
    assert html.count('class="kind-realtime"') == 1 and html.count('class="kind-full"') == 1
    assert 'class="kind-manual"' not in html  # 40 h ago: outside 24 h
    assert "59" in html and "Sync is paused" not in html
    html = client.get(reverse("sync:usage", args=[conn.pk]), {"hours": "48"}).content.decode()
    assert 'class="kind-manual"' in html
    assert client.get(reverse("sync:usage", args=[conn.pk]), {"hours": "x"}).status_code == 200
    # The quota runs out: paused until the next capacity check, capacity expected in 2 hours.
    governor = get_governor()
    resume = time.time() + 2 * 3600
    governor.observe(conn.pk, 4990, 5000)
    governor.pause(conn.pk, 300, resume_estimate=resume)
    next_check = governor.status(conn.pk).paused_until  # the page's "next check" (not now + 300: a slow request crosses a minute)
    assert governor.acquire(conn.pk, 2, lease_seconds=60)
    ApiCallBucket.objects.create(connection=conn, hour=hour, kind="limits_probe", calls=3)
    try:
        html = client.get(reverse("sync:usage", args=[conn.pk])).content.decode()
    finally:
        governor.forget(conn.pk)
    zone = __import__("zoneinfo").ZoneInfo("America/Toronto")
    expected = datetime.datetime.fromtimestamp(resume, tz=zone)
    check = datetime.datetime.fromtimestamp(next_check, tz=zone)
    assert f"Sync is paused, expected to resume ~{expected:%H:%M}" in html
    assert f"next check ~{check:%H:%M}" in html and "3 checks in the last 24 h" in html and "Capacity checks" in html
    assert "4,990" in html and "100%" not in html and "1 request in flight" in html


@pytest.mark.parametrize("peak", [10, 7, 1, 37, 240])
def test_usage_chart_draws_each_y_tick_at_its_own_value(web_as, alice, peak):
    """A tick labelled N sits where a bar of N calls ends (the old axis drew quarters of the top:
    "2" and "8" at the heights of 2.5 and 7.5)."""
    import re

    from sync_engine.models import ApiCallBucket

    conn = _connection(alice.tenant, api_usage_used=10, api_usage_max=5000)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    ApiCallBucket.objects.create(connection=conn, hour=hour, kind="realtime", calls=peak)
    html = web_as(alice.viewer).get(reverse("sync:usage", args=[conn.pk])).content.decode()
    ticks = [(int(label.replace(",", "")), float(y)) for y, label in
             re.findall(r'<text class="axis" x="[\d.-]+" y="([\d.]+)" text-anchor="end"[^>]*>([\d,.]+)</text>', html)]
    assert len(ticks) >= 2 and ticks[0][0] == 0 and ticks[-1][0] >= peak
    axis_y = ticks[0][1]
    bar = re.search(r'<rect class="kind-realtime" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', html)
    bar_top = float(bar.group(1))
    per_call = (axis_y - bar_top) / peak
    for value, y in ticks:
        assert abs(y - (axis_y - value * per_call)) < 0.2, (value, y, ticks)
    steps = {b[0] - a[0] for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and len(ticks) <= 6  # evenly spaced whole numbers, at most five intervals


def test_usage_page_reads_the_real_governor(web_as, alice):
    """The page works against the configured governor backend (Redis or the database)."""
    conn = _connection(alice.tenant, api_usage_used=10, api_usage_max=5000)
    assert web_as(alice.viewer).get(reverse("sync:usage", args=[conn.pk])).status_code == 200


def test_sync_index_lists_connections_with_their_pages(web_as, alice):
    conn = _connection(alice.tenant)
    html = web_as(alice.admin).get(reverse("sync:index")).content.decode()
    assert reverse("sync:sync_now", args=[conn.pk]) in html and reverse("sync:usage", args=[conn.pk]) in html
    html = web_as(alice.viewer).get(reverse("sync:index")).content.decode()
    assert reverse("sync:sync_now", args=[conn.pk]) not in html


def test_a_connection_shows_its_one_sync_state_on_the_sync_and_connection_pages(web_as, alice, bob, opportunity_factory):
    from sync_engine.models import OutboxEntry, SyncLink

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)  # queued for the default connection
    client = web_as(alice.admin)
    html = client.get(reverse("sync:index")).content.decode()
    assert 'data-testid="connection-sync-state"' in html and 'data-sync-state="pending"' in html and "1 change queued." in html
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                            sobject="Opportunity", status="failed", last_error_code="X")
    html = client.get(reverse("integrations:connection", args=[conn.pk])).content.decode()
    assert 'data-sync-state="failed"' in html and "1 record could not be synced." in html
    # Bob's failures are not Alice's state.
    bobs = _connection(bob.tenant)
    SyncLink.objects.create(tenant=bob.tenant, connection=bobs, record_type="opportunity", record_id=opp.pk,
                            sobject="Opportunity", status="failed", last_error_code="X")
    SyncLink.objects.filter(tenant=alice.tenant).delete()
    html = client.get(reverse("sync:index")).content.decode()
    assert 'data-sync-state="in_sync"' in html


def test_the_panel_shows_a_failed_syncs_error_once(web_as, alice, opportunity_factory):
    from sync_engine.models import OutboxEntry, SyncLink

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = _manual_run(conn, opp)
    OutboxEntry.objects.filter(record_id=opp.pk).update(state="failed", updated_at=timezone.now())
    message = "Required fields are missing: [CloseDate]"
    _logs(conn, 1, record_id=opp.pk, result="failed", error_code="REQUIRED_FIELD_MISSING", error_message=message)
    SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                            sobject="Opportunity", status="failed", last_error_code="REQUIRED_FIELD_MISSING",
                            last_error_message=message)
    html = web_as(alice.member).get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert reverse("sync:record_run_status", args=[run.pk]) not in html or 'data-state="failed"' in html
    assert html.count(message) == 1
    assert 'data-sync-state="failed"' in html
