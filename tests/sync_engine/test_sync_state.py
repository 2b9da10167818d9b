"""One sync state per record, computed from its link and the queue, that a user can trust."""

import datetime

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from opportunities.models import Opportunity
from sync_engine.models import LinkStatus, OutboxEntry, OutboxState, RecordType, SyncLink, SyncLog
from sync_engine.selectors import SyncState, connection_sync_state, record_sync_state, record_sync_states
from sync_engine.fanout import fan_out_pending

OPP = RecordType.OPPORTUNITY


def _connection(tenant, **fields):
    from integrations.sync_settings import settings_ensure_initial

    defaults = {"name": "Prod", "login_url": "https://login.salesforce.com", "instance_url": "https://x.my.salesforce.com",
                "status": ConnectionStatus.CONNECTED, "is_default": True}
    conn = SalesforceConnection.objects.create(tenant=tenant, **{**defaults, **fields})
    settings_ensure_initial(connection=conn)
    return conn


@pytest.fixture
def world(alice, opportunity_factory):
    conn = _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending()
    OutboxEntry.objects.all().delete()  # start from "everything pushed"
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    opportunity.refresh_from_db()
    return conn, opportunity


def _link(conn, opportunity, **fields):
    data = {"sobject": "Opportunity", "salesforce_id": "006000000000001AAA", "status": LinkStatus.SYNCED,
            "last_synced_at": timezone.now() - datetime.timedelta(minutes=30)}
    return SyncLink.objects.create(tenant=conn.tenant, connection=conn, record_type=OPP, record_id=opportunity.pk,
                                   **{**data, **fields})


def _state(alice, conn, opportunity):
    return record_sync_state(tenant=alice.tenant, record_type=OPP, record_id=opportunity.pk, connection=conn)


def _queue(conn, opportunity, **fields):
    data = {"event": "updated", "available_at": timezone.now(), "state": OutboxState.PENDING}
    return OutboxEntry.objects.create(tenant=conn.tenant, connection=conn, record_type=OPP, record_id=opportunity.pk,
                                      **{**data, **fields})


def test_in_sync_only_when_the_last_exchange_covers_the_current_version(alice, world):
    conn, opportunity = world
    _link(conn, opportunity)
    state = _state(alice, conn, opportunity)
    assert (state.state, state.label) == (SyncState.IN_SYNC, "In sync")
    assert state.since == SyncLink.objects.get().last_synced_at

    # Edited after the last exchange, with nothing queued (e.g. while the connection was off):
    # not "in sync", whatever the link says.
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=timezone.now())
    state = _state(alice, conn, opportunity)
    assert state.state == SyncState.PENDING and "not queued" in state.reason


def test_pending_has_the_age_of_the_oldest_unsent_change(alice, world):
    conn, opportunity = world
    _link(conn, opportunity)
    _queue(conn, opportunity)
    OutboxEntry.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=7))
    state = _state(alice, conn, opportunity)
    assert state.state == SyncState.PENDING and state.label == "Pending"
    assert datetime.timedelta(minutes=7) <= state.age() < datetime.timedelta(minutes=8)
    assert "Queued" in state.reason

    SalesforceConnection.objects.filter(pk=conn.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    conn.refresh_from_db()
    assert "reconnect" in _state(alice, conn, opportunity).reason


def test_failed_carries_the_code_hint_and_next_step(alice, world):
    conn, opportunity = world
    _link(conn, opportunity, status=LinkStatus.FAILED, last_error_code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
          last_error_message="bad value for restricted picklist field: Won't Bid")
    state = _state(alice, conn, opportunity)
    assert state.state == SyncState.FAILED
    assert state.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "picklist mapping" in state.hint  # from the catalogue when the link has none
    assert "Settings › Integrations" in state.action
    assert "Won't Bid" in state.reason


def test_a_failed_record_with_a_new_change_queued_is_pending_again(alice, world):
    conn, opportunity = world
    _link(conn, opportunity, status=LinkStatus.FAILED, last_error_code="UNABLE_TO_LOCK_ROW")
    _queue(conn, opportunity, attempts=2)
    state = _state(alice, conn, opportunity)
    assert state.state == SyncState.PENDING and "UNABLE_TO_LOCK_ROW" in state.reason


def test_skipped_by_a_filter_says_why(alice, world):
    conn, opportunity = world
    SyncLog.objects.create(tenant=alice.tenant, connection=conn, record_type=OPP, record_id=opportunity.pk,
                           operation="skip", result="skipped", error_code="FILTERED",
                           error_message="Value below the connection's minimum (50,000).")
    state = _state(alice, conn, opportunity)
    assert state.state == SyncState.SKIPPED and state.label == "Skipped"
    assert state.reason == "Value below the connection's minimum (50,000)."


def test_skipped_by_direction_on_a_pull_only_connection(alice, world):
    from integrations.models import ConnectionSettingsVersion

    conn, opportunity = world
    version = ConnectionSettingsVersion.objects.get(connection=conn)
    version.data = {**version.data, "direction": "pull"}
    version.save()
    state = _state(alice, conn, opportunity)
    assert state.state == SyncState.SKIPPED and "only brings changes from Salesforce" in state.reason


def test_deleted_in_salesforce_and_conflict_come_from_the_link(alice, world):
    conn, opportunity = world
    link = _link(conn, opportunity, status=LinkStatus.DELETED_IN_SALESFORCE)
    assert _state(alice, conn, opportunity).label == "Deleted in Salesforce"
    link.status = "conflict"  # written by the conflict feature; never guessed by the selector
    link.save()
    assert _state(alice, conn, opportunity).state == SyncState.CONFLICT


def test_never_sent_is_not_synced(alice, world):
    conn, opportunity = world
    assert _state(alice, conn, opportunity).state == SyncState.NOT_SYNCED


def test_a_page_of_states_costs_a_fixed_number_of_queries(alice, world, opportunity_factory):
    conn, first = world
    def count(ids):
        with CaptureQueriesContext(db_connection) as queries:
            states = record_sync_states(tenant=alice.tenant, record_type=OPP, record_ids=ids, connection=conn)
        return len(queries.captured_queries), states

    few, _ = count([first.pk])
    others = [opportunity_factory(alice.tenant) for _ in range(12)]
    for i, opportunity in enumerate(others):
        if i % 3 == 0:
            _link(conn, opportunity, salesforce_id=f"006{i:015d}")
        elif i % 3 == 1:
            SyncLog.objects.create(tenant=alice.tenant, connection=conn, record_type=OPP, record_id=opportunity.pk,
                                   operation="skip", result="skipped", error_message="Filtered.")
    many, states = count([first.pk] + [o.pk for o in others])
    assert len(states) == 13 and many <= few + 2


def test_another_tenants_records_and_connections_have_no_state_here(alice, bob, world, opportunity_factory):
    conn, opportunity = world
    _link(conn, opportunity)
    bobs_opportunity = opportunity_factory(bob.tenant)
    bobs_conn = _connection(bob.tenant)
    assert record_sync_states(tenant=alice.tenant, record_type=OPP, record_ids=[bobs_opportunity.pk], connection=conn) == {}
    assert record_sync_states(tenant=alice.tenant, record_type=OPP, record_ids=[opportunity.pk], connection=bobs_conn) == {}
    # Bob's queue and links leave Alice's state alone.
    OutboxEntry.objects.create(tenant=bob.tenant, connection=bobs_conn, record_type=OPP, record_id=opportunity.pk,
                               event="updated", available_at=timezone.now())
    assert _state(alice, conn, opportunity).state == SyncState.IN_SYNC


def test_a_connection_has_one_state_too(alice, world):
    conn, opportunity = world
    assert connection_sync_state(tenant=alice.tenant, connection=conn).state == SyncState.IN_SYNC
    _queue(conn, opportunity)
    state = connection_sync_state(tenant=alice.tenant, connection=conn)
    assert (state.state, state.queued) == (SyncState.PENDING, 1)
    _link(conn, opportunity, status=LinkStatus.FAILED, last_error_code="X")
    assert connection_sync_state(tenant=alice.tenant, connection=conn).failed == 1
    SalesforceConnection.objects.filter(pk=conn.pk).update(status=ConnectionStatus.DISCONNECTED)
    conn.refresh_from_db()
    state = connection_sync_state(tenant=alice.tenant, connection=conn)
    assert state.state == SyncState.FAILED and "disconnected" in state.reason
