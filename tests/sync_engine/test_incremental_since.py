"""Where an incremental run picks up: the last completed full or incremental run's selection
time — never an empty run's missing start, never a one-record manual Sync."""

import datetime

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from opportunities.models import Opportunity
from sync_engine.models import OutboxEntry, OutboxState, RecordType, SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.services import incremental_since, manual_runs_settle, record_sync_now, sync_now_start


@pytest.fixture
def connection(alice):
    from integrations.sync_settings import settings_ensure_initial

    conn = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED, is_default=True)
    settings_ensure_initial(connection=conn)
    return conn


def _queue_settled() -> None:
    """What the workers would do: every queued row pushed."""
    OutboxEntry.objects.exclude(state=OutboxState.DONE).update(state=OutboxState.DONE)


def _finish(run: SyncRun, *, ago: datetime.timedelta) -> None:
    _queue_settled()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRunStatus.SUCCEEDED, created_at=timezone.now() - ago,
                                             started_at=timezone.now() - ago, finished_at=timezone.now() - ago)


def _opportunity_ids(run: SyncRun) -> set[int]:
    return set(OutboxEntry.objects.filter(run=run, record_type=RecordType.OPPORTUNITY).values_list("record_id", flat=True))


def test_an_incremental_after_one_that_had_nothing_to_send_sends_only_what_changed(connection, alice, opportunity_factory):
    records = [opportunity_factory(alice.tenant) for _ in range(3)]
    Opportunity.objects.filter(pk__in=[o.pk for o in records]).update(updated_at=timezone.now() - datetime.timedelta(hours=2))
    full = sync_now_start(connection=connection, kind=SyncRunKind.FULL, actor=None, enqueue=False)
    assert _opportunity_ids(full) == {o.pk for o in records}
    _finish(full, ago=datetime.timedelta(hours=1))

    empty = sync_now_start(connection=connection, kind=SyncRunKind.INCREMENTAL, actor=None, enqueue=False)
    empty.refresh_from_db()
    assert (empty.total, empty.status) == (0, SyncRunStatus.SUCCEEDED)
    assert empty.started_at is not None and empty.finished_at >= empty.started_at

    # The next one must not take the empty run's missing start for "never synced".
    again = sync_now_start(connection=connection, kind=SyncRunKind.INCREMENTAL, actor=None, enqueue=False)
    assert again.total == 0
    assert incremental_since(connection=connection) == SyncRun.objects.get(pk=again.pk).created_at

    records[1].title = "Changed after the last run"
    records[1].save()
    _queue_settled()  # the real-time push went out; the incremental still covers the record
    changed = sync_now_start(connection=connection, kind=SyncRunKind.INCREMENTAL, actor=None, enqueue=False)
    assert _opportunity_ids(changed) == {records[1].pk}


def test_a_manual_sync_of_one_record_does_not_hide_other_changes_from_the_next_incremental(
        connection, alice, opportunity_factory, django_capture_on_commit_callbacks):
    synced_by_hand, edited = opportunity_factory(alice.tenant), opportunity_factory(alice.tenant)
    Opportunity.objects.update(updated_at=timezone.now() - datetime.timedelta(hours=2))
    full = sync_now_start(connection=connection, kind=SyncRunKind.FULL, actor=None, enqueue=False)
    _finish(full, ago=datetime.timedelta(hours=1))
    # Edited while no incremental ran (e.g. the real-time push failed and was given up on).
    Opportunity.objects.filter(pk=edited.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=10))

    with django_capture_on_commit_callbacks():
        manual = record_sync_now(connection=connection, record_type=RecordType.OPPORTUNITY, record_id=synced_by_hand.pk,
                                 actor=alice.admin)
    _queue_settled()
    from sync_engine.models import SyncLog
    SyncLog.objects.create(tenant=alice.tenant, connection=connection, record_type=RecordType.OPPORTUNITY,
                           record_id=synced_by_hand.pk, operation="update", result="success")
    assert manual_runs_settle(connection_id=connection.pk) == 1
    assert SyncRun.objects.get(pk=manual.pk).status == SyncRunStatus.SUCCEEDED

    incremental = sync_now_start(connection=connection, kind=SyncRunKind.INCREMENTAL, actor=None, enqueue=False)
    assert _opportunity_ids(incremental) == {edited.pk}
    assert incremental.total >= 1  # not "nothing to send — Salesforce is up to date"
