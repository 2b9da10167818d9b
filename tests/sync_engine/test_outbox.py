import ast
import threading
from pathlib import Path

import pytest
from django.db import connections, transaction

from integrations.models import ConnectionStatus, SalesforceConnection
from opportunities.services import opportunity_update
from sync_engine.fanout import fan_out_pending
from sync_engine.models import ChangeRecord, OutboxEntry, OutboxState, Priority, WakeUp
from sync_engine.outbox import Change, record_change, record_changes
from sync_engine.vocabulary import Event, Origin, RecordType

ROOT = Path(__file__).resolve().parents[2]


def _connection(tenant, name="Production", *, is_default=True, push_enabled=True, status=ConnectionStatus.CONNECTED):
    return SalesforceConnection.objects.create(
        tenant=tenant, name=name, login_url="https://login.salesforce.com", is_default=is_default,
        push_enabled=push_enabled, status=status,
    )


def test_a_change_without_any_connection_queues_nothing(alice, opportunity_factory):
    opportunity_factory(alice.tenant)
    fan_out_pending()
    assert OutboxEntry.objects.count() == 0
    assert ChangeRecord.objects.count() == 0, "a change with nowhere to go is done, not left behind"


def test_a_change_is_recorded_for_the_tenant_and_fanned_out_by_the_worker(alice, opportunity_factory):
    connection = _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    change = ChangeRecord.objects.get()
    assert (change.tenant_id, change.record_type, change.record_id, change.event) == (alice.tenant.pk, "opportunity", opportunity.pk, "created")
    assert OutboxEntry.objects.count() == 0, "the save itself writes no outbox row: the worker fans out"
    result = fan_out_pending(tenant_id=alice.tenant.pk)
    assert result.changes == 1 and result.touched == {connection.pk: Priority.REALTIME}
    entry = OutboxEntry.objects.get()
    assert (entry.connection, entry.record_type, entry.record_id, entry.event) == (connection, "opportunity", opportunity.pk, "created")
    assert entry.state == OutboxState.PENDING and entry.priority == Priority.REALTIME
    assert ChangeRecord.objects.count() == 0


def test_several_changes_to_one_record_coalesce_into_one_pending_row(alice, opportunity_factory):
    _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending()  # the create reaches the outbox first; the edits merge into its row
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "analyzing"})
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "New title"})
    fan_out_pending()
    entry = OutboxEntry.objects.get()
    assert {"status", "title"} <= set(entry.changed_fields)
    assert entry.event == "created"  # still a create: the record never reached Salesforce


def test_changes_fanned_out_together_merge_like_changes_into_a_pending_row(alice, opportunity_factory):
    _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "analyzing"})
    record_change(tenant=alice.tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.UPDATED,
                  changed_fields=["description"], priority=Priority.MANUAL)
    fan_out_pending()
    entry = OutboxEntry.objects.get()
    assert entry.event == "created" and entry.priority == Priority.MANUAL
    assert {"status", "description", "title"} <= set(entry.changed_fields)
    record_change(tenant=alice.tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.DELETED)
    fan_out_pending()
    assert OutboxEntry.objects.get().event == "deleted", "a delete beats every other event"


def test_an_update_with_no_real_change_queues_nothing(alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending()
    _connection(alice.tenant)
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": opportunity.title})
    assert ChangeRecord.objects.count() == 0
    fan_out_pending()
    assert OutboxEntry.objects.count() == 0


def test_sandbox_connections_with_push_off_and_disconnected_orgs_get_nothing(alice, opportunity_factory):
    _connection(alice.tenant)
    _connection(alice.tenant, "Sandbox", is_default=False, push_enabled=False)
    _connection(alice.tenant, "Old org", is_default=False, status=ConnectionStatus.DISCONNECTED)
    regional = _connection(alice.tenant, "Regional", is_default=False, push_enabled=True)
    needs = _connection(alice.tenant, "Expired login", is_default=False, status=ConnectionStatus.NEEDS_RECONNECT)
    opportunity_factory(alice.tenant)
    fan_out_pending()
    assert sorted(OutboxEntry.objects.values_list("connection__name", flat=True)) == ["Expired login", "Production", "Regional"]
    assert regional.outbox_entries.count() == 1
    assert needs.outbox_entries.count() == 1, "an org waiting for a reconnect keeps receiving changes (nothing is lost)"


def test_the_change_record_rolls_back_with_the_change(alice, opportunity_factory):
    _connection(alice.tenant)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            opportunity_factory(alice.tenant)
            raise RuntimeError("boom")
    assert ChangeRecord.objects.count() == 0
    fan_out_pending()
    assert OutboxEntry.objects.count() == 0


def test_another_tenants_connection_never_receives_the_change(alice, bob, opportunity_factory):
    _connection(bob.tenant)
    opportunity_factory(alice.tenant)
    fan_out_pending()
    assert OutboxEntry.objects.count() == 0


def test_fanning_out_one_tenant_leaves_the_others_changes(alice, bob, opportunity_factory):
    _connection(alice.tenant)
    _connection(bob.tenant)
    opportunity_factory(alice.tenant)
    opportunity_factory(bob.tenant)
    fan_out_pending(tenant_id=alice.tenant.pk)
    assert list(OutboxEntry.objects.values_list("tenant_id", flat=True)) == [alice.tenant.pk]
    assert list(ChangeRecord.objects.values_list("tenant_id", flat=True)) == [bob.tenant.pk]


def test_a_salesforce_change_is_never_sent_back_to_its_own_org(alice, opportunity_factory):
    production = _connection(alice.tenant)
    regional = _connection(alice.tenant, "Regional", is_default=False, push_enabled=True)
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    record_change(tenant=alice.tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.UPDATED,
                  changed_fields=["title"], origin=Origin.SALESFORCE, origin_connection_id=production.pk)
    fan_out_pending()
    assert list(OutboxEntry.objects.values_list("connection_id", flat=True)) == [regional.pk]


def test_a_batch_of_salesforce_changes_is_recorded_at_once_and_never_sent_back_to_its_own_org(
        alice, opportunity_factory, monkeypatch, django_capture_on_commit_callbacks):
    from sync_engine import wakeups

    sent = []
    monkeypatch.setattr(wakeups, "_send", lambda target, lane, countdown: sent.append((target, lane)))
    production = _connection(alice.tenant)
    regional = _connection(alice.tenant, "Regional", is_default=False, push_enabled=True)
    first, second = opportunity_factory(alice.tenant), opportunity_factory(alice.tenant)
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        count = record_changes(tenant=alice.tenant, origin=Origin.SALESFORCE, origin_connection_id=production.pk, changes=[
            Change(RecordType.OPPORTUNITY, first.pk, Event.UPDATED, ["title", "description", "title"]),
            Change(RecordType.OPPORTUNITY, second.pk, Event.SUBMITTED, ["status"])])
    assert count == 2
    assert sorted(ChangeRecord.objects.values_list("record_id", "event", "fields", "origin_connection_id")) == [
        (first.pk, "updated", ["description", "title"], production.pk), (second.pk, "submitted", ["status"], production.pk)]
    assert sent == [(alice.tenant.pk, wakeups.FANOUT)], "one wake-up for the whole batch"
    fan_out_pending()
    assert set(OutboxEntry.objects.values_list("connection_id", "record_id")) == {(regional.pk, first.pk), (regional.pk, second.pk)}


def test_a_batch_with_an_unknown_event_records_nothing(alice):
    with pytest.raises(ValueError):
        record_changes(tenant=alice.tenant, changes=[Change(RecordType.OPPORTUNITY, 1, Event.UPDATED),
                                                     Change(RecordType.OPPORTUNITY, 2, "status_changed")])
    assert record_changes(tenant=alice.tenant, changes=[]) == 0
    assert ChangeRecord.objects.count() == 0


def test_unknown_events_and_record_types_are_refused(alice):
    with pytest.raises(ValueError):
        record_change(tenant=alice.tenant, record_type=RecordType.OPPORTUNITY, record_id=1, event="status_changed")
    with pytest.raises(ValueError):
        record_change(tenant=alice.tenant, record_type="widget", record_id=1, event=Event.UPDATED)
    assert ChangeRecord.objects.count() == 0


def test_a_save_wakes_the_tenants_fan_out_once_after_commit(alice, opportunity_factory, monkeypatch, django_capture_on_commit_callbacks):
    from sync_engine import wakeups

    sent = []
    monkeypatch.setattr(wakeups, "_send", lambda target, lane, countdown: sent.append((target, lane)))
    _connection(alice.tenant)
    with django_capture_on_commit_callbacks(execute=True):
        opportunity = opportunity_factory(alice.tenant)
        opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Another title"})
    assert sent == [(alice.tenant.pk, wakeups.FANOUT)], "one pending fan-out per tenant, however many saves"
    assert WakeUp.objects.get(tenant=alice.tenant, lane=wakeups.FANOUT).due_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_workers_fanning_out_at_once_queue_each_change_exactly_once(alice, opportunity_factory):
    connection = _connection(alice.tenant)
    for _ in range(60):
        opportunity_factory(alice.tenant)
    errors = []

    def worker():
        try:
            fan_out_pending(tenant_id=alice.tenant.pk)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert connection.outbox_entries.count() == 60
    assert ChangeRecord.objects.count() == 0


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any level (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_outbox_is_a_leaf_that_imports_nothing_of_integrations():
    """Follow sync_engine.outbox's imports through the project: none reaches integrations/."""
    seen, todo = set(), ["sync_engine.outbox"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for candidate in (ROOT / (module.replace(".", "/") + ".py"), ROOT / module.replace(".", "/") / "__init__.py"):
            if candidate.exists():
                todo.extend(_imports(candidate))
                break
    project = {m for m in seen if (ROOT / m.split(".")[0]).is_dir() and m.split(".")[0] != ".venv"}
    assert not [m for m in project if m.startswith("integrations")], project
    assert "sync_engine.outbox" in project and "sync_engine.models" in project


def test_tasks_import_services_and_nothing_in_the_sync_engine_imports_tasks():
    for path in (ROOT / "sync_engine").rglob("*.py"):
        if path.name != "tasks.py":
            assert not [m for m in _imports(path) if m in ("sync_engine.tasks", "sync_engine.tasks.push_realtime")
                        or m.startswith("sync_engine.tasks.")], path
            assert "tasks" not in {m.rsplit(".", 1)[-1] for m in _imports(path) if m.startswith("sync_engine")}, path
