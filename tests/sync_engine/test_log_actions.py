"""The sync log's failed records: grouped by cause, retried through the outbox (only those still
failing, only the tenant's, never twice), skipped; and a retried push landing in the emulator."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sync_engine import log_actions
from sync_engine.log_selectors import GroupKey, error_groups, failing_records, retry_preview
from sync_engine.models import LinkStatus, OutboxEntry, SyncLink, SyncLog
from sync_engine.selectors import LogFilters

pytestmark = pytest.mark.django_db
HINT = "A field required in Salesforce has no value."


def _connection(tenant, name="Production org", **fields):
    from integrations.models import SalesforceConnection

    defaults = {"name": name, "login_url": "https://login.salesforce.com",
                "instance_url": f"https://{tenant.slug}.my.salesforce.com", "status": "connected", "is_default": True}
    defaults.update(fields)
    return SalesforceConnection.objects.create(tenant=tenant, **defaults)


def _log(connection, record_id, result="failed", code="REQUIRED_FIELD_MISSING", hint=HINT, record_type="opportunity",
         direction="push", message="Required fields are missing: [CloseDate]", at=None, **fields) -> SyncLog:
    log = SyncLog.objects.create(tenant=connection.tenant, connection=connection, record_type=record_type, record_id=record_id,
                                 record_label=f"Record {record_id}", sobject="Opportunity", operation="upsert", result=result,
                                 error_code=code if result == "failed" else "", hint=hint if result == "failed" else "",
                                 error_message=message if result == "failed" else "", direction=direction, **fields)
    if at is not None:
        SyncLog.objects.filter(pk=log.pk).update(created_at=at)
    return log


def _queued(connection) -> set[tuple[str, int]]:
    return set(OutboxEntry.objects.filter(connection=connection, state="pending").values_list("record_type", "record_id"))


# --- groups ----------------------------------------------------------------------------------

def test_failed_rows_are_grouped_by_connection_code_and_hint_with_counts_and_first_and_last_seen(alice, bob):
    prod, sandbox = _connection(alice.tenant), _connection(alice.tenant, "Sandbox", is_default=False)
    day = lambda d: datetime.datetime(2030, 3, d, 12, tzinfo=datetime.UTC)  # noqa: E731
    _log(prod, 1, at=day(1))
    _log(prod, 1, at=day(2))  # the same record twice: 2 rows, 1 record
    _log(prod, 2, at=day(3), message="Required fields are missing: [Amount]")
    _log(prod, 3, code="UNABLE_TO_LOCK_ROW", hint="Locked.", at=day(4))
    _log(sandbox, 1, at=day(5))
    _log(prod, 4, result="success")
    _log(_connection(bob.tenant), 1, at=day(6))  # another tenant's
    groups = error_groups(tenant=alice.tenant)
    assert [(g.connection_name, g.error_code) for g in groups] == [
        ("Sandbox", "REQUIRED_FIELD_MISSING"), ("Production org", "UNABLE_TO_LOCK_ROW"), ("Production org", "REQUIRED_FIELD_MISSING")]
    required = groups[2]
    assert (required.rows, required.records, required.failing) == (3, 2, 2)
    assert required.first_seen == day(1) and required.last_seen == day(3)
    assert required.example == "Required fields are missing: [Amount]" and required.hint == HINT
    only_prod = error_groups(tenant=alice.tenant, filters=LogFilters(connection_id=prod.pk, created_from=day(2)))
    assert [(g.error_code, g.rows) for g in only_prod] == [("UNABLE_TO_LOCK_ROW", 1), ("REQUIRED_FIELD_MISSING", 2)]
    assert error_groups(tenant=alice.tenant, filters=LogFilters(result="success")) == []


def test_a_record_that_succeeded_since_its_failure_is_no_longer_failing(alice):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    _log(prod, 1, result="success")
    _log(prod, 2)
    _log(prod, 3, result="success")
    _log(prod, 3)  # failed after its success: failing again
    _log(prod, 4, direction="pull")  # a failed pull is not retried through the outbox
    [group] = error_groups(tenant=alice.tenant)
    assert (group.rows, group.records, group.failing) == (4, 4, 2)
    assert sorted(r.record_id for r in failing_records(tenant=alice.tenant)) == [2, 3]


def test_grouping_costs_three_queries_however_many_rows_and_says_when_it_looked_at_the_newest_only(alice):
    prod = _connection(alice.tenant)
    for i in range(60):
        _log(prod, i, code=f"CODE_{i % 5}")
    with CaptureQueriesContext(db_connection) as queries:
        groups = error_groups(tenant=alice.tenant)
    assert len(groups) == 5 and len(queries) == 3 and not groups.capped
    newest = error_groups(tenant=alice.tenant, scan=12)
    assert newest.capped and sum(g.rows for g in newest) == 12
    assert not error_groups(tenant=alice.tenant, scan=60).capped


def test_a_group_key_round_trips_and_garbage_is_refused():
    key = GroupKey(12, "REQUIRED_FIELD_MISSING", "Fix it | now")
    assert GroupKey.parse(key.encode()) == key
    for bad in ("", "x|CODE|hint", "12|CODE", "1" * 19 + "|C|h"):
        with pytest.raises(ValueError):
            GroupKey.parse(bad)


# --- retry -----------------------------------------------------------------------------------

def test_retry_all_requeues_exactly_the_records_still_failing_and_logs_who_asked(alice, bob):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    _log(prod, 2)
    _log(prod, 2, result="success")  # succeeded since
    _log(prod, 3, code="UNABLE_TO_LOCK_ROW", hint="Locked.")
    bobs = _connection(bob.tenant)
    _log(bobs, 1)
    assert retry_preview(tenant=alice.tenant, limit=100) == (2, 0)
    outcome = log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin)
    assert (outcome.queued, outcome.already_queued) == (2, 0)
    assert _queued(prod) == {("opportunity", 1), ("opportunity", 3)}
    assert _queued(bobs) == set()
    rows = SyncLog.objects.filter(operation="retry").order_by("record_id")
    assert [(r.record_id, r.result, r.actor_id, r.attempts) for r in rows] == [(1, "retrying", alice.admin.pk, 0),
                                                                               (3, "retrying", alice.admin.pk, 0)]
    assert "alice-admin" in rows[0].error_message and "Production org" in rows[0].error_message


def test_a_second_retry_queues_nothing_already_pending(alice):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    _log(prod, 2)
    assert log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin).queued == 2
    again = log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin)
    assert (again.queued, again.already_queued) == (0, 2)
    assert OutboxEntry.objects.filter(connection=prod).count() == 2
    assert retry_preview(tenant=alice.tenant, limit=100) == (0, 2)
    assert SyncLog.objects.filter(operation="retry").count() == 2
    [group] = error_groups(tenant=alice.tenant)
    assert (group.failing, group.queued, group.retryable) == (2, 2, 0)


def test_retry_of_one_group_leaves_the_other_causes_alone(alice):
    prod = _connection(alice.tenant)
    _log(prod, 1)
    _log(prod, 2, code="UNABLE_TO_LOCK_ROW", hint="Locked.")
    group = GroupKey(prod.pk, "UNABLE_TO_LOCK_ROW", "Locked.")
    assert log_actions.failed_records_retry(tenant=alice.tenant, group=group, actor=alice.admin).queued == 1
    assert _queued(prod) == {("opportunity", 2)}


def test_retry_follows_the_filters(alice):
    prod, sandbox = _connection(alice.tenant), _connection(alice.tenant, "Sandbox", is_default=False)
    _log(prod, 1)
    _log(sandbox, 2)
    _log(prod, 3, record_type="department")
    filters = LogFilters(connection_id=prod.pk, record_type="opportunity")
    assert log_actions.failed_records_retry(tenant=alice.tenant, filters=filters, actor=alice.admin).queued == 1
    assert _queued(prod) == {("opportunity", 1)} and _queued(sandbox) == set()


def test_retry_releases_the_failed_queue_row_keeping_what_it_carries(alice):
    prod = _connection(alice.tenant)
    _log(prod, 7)
    now = timezone.now()
    old = OutboxEntry.objects.create(tenant=alice.tenant, connection=prod, record_type="opportunity", record_id=7, event="updated",
                                     changed_fields=["title"], priority=4, state="failed", attempts=1, available_at=now)
    newest = OutboxEntry.objects.create(tenant=alice.tenant, connection=prod, record_type="opportunity", record_id=7,
                                        event="created", changed_fields=["amount"], priority=4, state="failed", attempts=3,
                                        available_at=now)
    assert log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin).queued == 1
    [row] = OutboxEntry.objects.filter(connection=prod)
    assert row.pk == newest.pk and row.state == "pending" and row.event == "created"
    assert row.changed_fields == ["amount", "title"] and row.priority == 1 and row.available_at <= timezone.now()
    assert not OutboxEntry.objects.filter(pk=old.pk).exists()


def test_retry_leaves_a_disconnected_connections_records_for_its_reconnect(alice):
    gone = _connection(alice.tenant, status="disconnected")
    _log(gone, 1)
    outcome = log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin)
    assert (outcome.queued, outcome.not_queued) == (0, 1) and _queued(gone) == set()


# --- skip ------------------------------------------------------------------------------------

def test_skip_from_a_log_row_skips_the_opportunity_in_that_connection(alice, opportunity_factory):
    prod = _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    log = _log(prod, opportunity.pk)
    assert log_actions.log_record_skip(tenant=alice.tenant, log=log, actor=alice.admin) is True
    link = SyncLink.objects.get(connection=prod, record_type="opportunity", record_id=opportunity.pk)
    assert link.status == LinkStatus.SKIPPED and link.skipped_by == alice.admin
    assert log_actions.log_record_skip(tenant=alice.tenant, log=log, actor=alice.admin) is False
    # Skipped since: no longer failing, so Retry leaves it alone.
    assert list(failing_records(tenant=alice.tenant)) == []


def test_skip_refuses_other_record_types_and_another_tenants_row(alice, bob):
    prod = _connection(alice.tenant)
    with pytest.raises(log_actions.LogActionError) as error:
        log_actions.log_record_skip(tenant=alice.tenant, log=_log(prod, 5, record_type="department"), actor=alice.admin)
    assert error.value.code == "not_skippable"
    with pytest.raises(log_actions.LogActionError) as error:
        log_actions.log_record_skip(tenant=bob.tenant, log=_log(prod, 5), actor=bob.admin)
    assert error.value.code == "not_found"
    with pytest.raises(log_actions.LogActionError) as error:
        log_actions.log_record_skip(tenant=alice.tenant, log=_log(prod, 999999), actor=alice.admin)
    assert error.value.code == "record_gone"


def test_skip_of_a_group_skips_its_opportunities_and_counts_the_rest(alice, opportunity_factory):
    prod = _connection(alice.tenant)
    first, second = opportunity_factory(alice.tenant), opportunity_factory(alice.tenant)
    _log(prod, first.pk)
    _log(prod, second.pk)
    _log(prod, 41, record_type="department")
    outcome = log_actions.failed_records_skip(tenant=alice.tenant, group=GroupKey(prod.pk, "REQUIRED_FIELD_MISSING", HINT),
                                              actor=alice.admin)
    assert sorted(outcome.skipped) == sorted([first.pk, second.pk]) and outcome.not_skippable == 1
    assert SyncLink.objects.filter(connection=prod, status="skipped").count() == 2


# --- end to end against the emulator -------------------------------------------------------------

def test_a_retried_record_is_pushed_by_the_worker_and_stops_failing(alice, connected, emulator_reset, opportunity_factory):
    from opportunities.models import Opportunity
    from sync_engine.executor import push_connection

    bad = opportunity_factory(alice.tenant, closing_date=None)  # CloseDate is required in Salesforce
    assert push_connection(connection_id=connected.pk).failed == 1
    [group] = error_groups(tenant=alice.tenant)
    assert group.error_code == "REQUIRED_FIELD_MISSING" and group.failing == 1
    assert OutboxEntry.objects.get(record_id=bad.pk).state == "failed"
    # Fixed without a recorded change (as a fix in Salesforce or in the mapping would be):
    # nothing queues it until someone retries.
    Opportunity.objects.filter(pk=bad.pk).update(closing_date=datetime.date(2031, 1, 1))
    assert push_connection(connection_id=connected.pk).api_calls == 0
    assert log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin).queued == 1
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and summary.succeeded >= 1
    link = SyncLink.objects.get(record_type="opportunity", record_id=bad.pk, sobject="Opportunity")
    assert link.status == LinkStatus.SYNCED
    records = emulator_reset.sf().query_all(f"SELECT CloseDate FROM Opportunity WHERE Cothon_Ref__c = '{bad.reference}'")["records"]
    assert [r["CloseDate"] for r in records] == ["2031-01-01"]
    assert error_groups(tenant=alice.tenant)[0].failing == 0
    assert log_actions.failed_records_retry(tenant=alice.tenant, actor=alice.admin).queued == 0
