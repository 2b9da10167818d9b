import pytest

from integrations.models import ConnectionStatus, SalesforceConnection
from opportunities.services import opportunity_update
from sync_engine.models import OutboxEntry, OutboxState, Priority


def _connection(tenant, name="Production", *, is_default=True, push_enabled=True, status=ConnectionStatus.CONNECTED):
    return SalesforceConnection.objects.create(
        tenant=tenant, name=name, login_url="https://login.salesforce.com", is_default=is_default,
        push_enabled=push_enabled, status=status,
    )


def test_a_change_without_any_connection_queues_nothing(alice, opportunity_factory):
    opportunity_factory(alice.tenant)
    assert OutboxEntry.objects.count() == 0


def test_a_new_opportunity_is_queued_for_the_default_connection(alice, opportunity_factory):
    connection = _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    entry = OutboxEntry.objects.get()
    assert (entry.connection, entry.record_type, entry.record_id, entry.event) == (connection, "opportunity", opportunity.pk, "created")
    assert entry.state == OutboxState.PENDING and entry.priority == Priority.REALTIME


def test_several_changes_to_one_record_coalesce_into_one_pending_row(alice, opportunity_factory):
    _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "analyzing"})
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "New title"})
    entry = OutboxEntry.objects.get()
    assert {"status", "title"} <= set(entry.changed_fields)
    assert entry.event == "created"  # still a create: the record never reached Salesforce


def test_an_update_with_no_real_change_queues_nothing(alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    _connection(alice.tenant)
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": opportunity.title})
    assert OutboxEntry.objects.count() == 0


def test_sandbox_connections_with_push_off_and_disconnected_orgs_get_nothing(alice, opportunity_factory):
    _connection(alice.tenant)
    _connection(alice.tenant, "Sandbox", is_default=False, push_enabled=False)
    _connection(alice.tenant, "Old org", is_default=False, status=ConnectionStatus.DISCONNECTED)
    regional = _connection(alice.tenant, "Regional", is_default=False, push_enabled=True)
    opportunity_factory(alice.tenant)
    assert sorted(OutboxEntry.objects.values_list("connection__name", flat=True)) == ["Production", "Regional"]
    assert regional.outbox_entries.count() == 1


def test_the_outbox_row_rolls_back_with_the_change(alice, opportunity_factory):
    from django.db import transaction

    _connection(alice.tenant)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            opportunity_factory(alice.tenant)
            raise RuntimeError("boom")
    assert OutboxEntry.objects.count() == 0


def test_another_tenants_connection_never_receives_the_change(alice, bob, opportunity_factory):
    _connection(bob.tenant)
    opportunity_factory(alice.tenant)
    assert OutboxEntry.objects.count() == 0
