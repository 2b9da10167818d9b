"""Linked Accounts pull on their own: a rename in Salesforce reaches the department through the
incremental pull (own watermark, first page in the same composite call as the opportunities)
and through an Outbound Message; our own push coming back writes nothing; push-only never
writes Cothon; a deleted Account leaves its department in place."""

from __future__ import annotations

import pytest

from opportunities import services as opp
from opportunities.models import Department
from sync_engine.executor import push_connection
from sync_engine.models import ApiCallBucket, LinkStatus, OutboxEntry, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental
from sync_engine.pull.models import InboundNotification, PullWatermark
from sync_engine.pull.outbound import notifications_process, receiver_path
from tests.pull.conftest import save_settings
from tests.pull.test_outbound_receiver import post, soap, stamp


def pull_calls(connected) -> int:
    return sum(ApiCallBucket.objects.filter(connection=connected, kind="pull").values_list("calls", flat=True))


def test_an_account_renamed_in_salesforce_renames_its_department_at_the_next_cycle(alice, connected, sf, department_link):
    department, link = department_link
    sf.Account.update(link.salesforce_id, {"Name": "Health Canada (HC)"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.accounts.applied == 1 and result.accounts.failed == 0, result
    department.refresh_from_db()
    assert department.name == "Health Canada (HC)"
    link.refresh_from_db()
    assert link.base_snapshot["Name"] == "Health Canada (HC)" and link.salesforce_modstamp is not None
    log = SyncLog.objects.get(direction="pull", record_type="department", record_id=department.pk)
    assert log.operation == "update" and "Health Canada (HC)" in log.error_message
    # Changed in Salesforce: never pushed back to it.
    assert not OutboxEntry.objects.filter(connection=connected).exists()
    assert push_connection(connection_id=connected.pk).api_calls == 0


def test_an_idle_cycle_with_linked_accounts_still_costs_one_call(alice, connected, department_link):
    before = pull_calls(connected)
    result = pull_incremental(connection_id=connected.pk)
    assert pull_calls(connected) - before == 1 and result.stopped_because == ""
    # Both objects were read in that one call: each has its watermark row, finished.
    marks = {m.sobject: m for m in PullWatermark.objects.filter(connection=connected)}
    assert set(marks) == {"Opportunity", "Account"}
    assert marks["Account"].last_result == "succeeded" and marks["Account"].watermark is not None


def test_our_own_account_push_coming_back_writes_nothing(alice, connected, department_factory, opportunity_factory):
    department = department_factory(alice.tenant, "Public Works")
    opportunity_factory(alice.tenant, department=department)
    assert push_connection(connection_id=connected.pk).failed == 0
    before = Department.objects.get(pk=department.pk).updated_at
    result = pull_incremental(connection_id=connected.pk)
    assert result.accounts.echoes == 1 and result.accounts.applied == 0, result
    assert Department.objects.get(pk=department.pk).updated_at == before
    assert not SyncLog.objects.filter(direction="pull", record_type="department").exists()
    assert not OutboxEntry.objects.filter(connection=connected).exists()


def test_an_unlinked_account_is_passed_over(alice, connected, sf, department_link):
    other = sf.Account.create({"Name": "Not ours"})["id"]
    sf.Account.update(other, {"Name": "Still not ours"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.accounts.seen >= 1 and result.accounts.applied == 0
    assert not Department.objects.filter(name__icontains="ours").exists()


def test_a_department_renamed_in_cothon_and_not_pushed_yet_keeps_its_name(alice, connected, sf, department_link):
    department, link = department_link
    opp.department_update(tenant=alice.tenant, department=department, data={"name": "Health Canada — Ottawa"})
    sf.Account.update(link.salesforce_id, {"Phone": "613-555-0100"})  # the Account changes, its name does not
    pull_incremental(connection_id=connected.pk)
    department.refresh_from_db()
    assert department.name == "Health Canada — Ottawa"


def test_a_name_another_department_uses_is_refused_and_logged(alice, connected, sf, department_link, department_factory):
    department, link = department_link
    department_factory(alice.tenant, "Transport Canada")
    sf.Account.update(link.salesforce_id, {"Name": "Transport Canada"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.accounts.failed == 1
    department.refresh_from_db()
    assert department.name == "Health Canada"
    log = SyncLog.objects.get(direction="pull", record_type="department", record_id=department.pk)
    assert log.result == "failed" and log.error_code == "INVALID_VALUE"


def test_push_only_never_renames_a_department(alice, connected, sf, department_link):
    department, link = department_link
    save_settings(connected, direction="push")
    sf.Account.update(link.salesforce_id, {"Name": "Renamed in Salesforce"})
    before = pull_calls(connected)
    pull_incremental(connection_id=connected.pk)
    department.refresh_from_db()
    assert department.name == "Health Canada" and pull_calls(connected) == before


def test_hybrid_with_the_account_name_pushed_only_leaves_the_department(alice, connected, sf, department_link):
    department, link = department_link
    save_settings(connected, direction="hybrid", field_directions={"Account.Name": "push"})
    sf.Account.update(link.salesforce_id, {"Name": "Renamed in Salesforce"})
    pull_incremental(connection_id=connected.pk)
    department.refresh_from_db()
    assert department.name == "Health Canada"


def test_an_account_deleted_in_salesforce_marks_the_link_and_keeps_the_department(alice, connected, emulator_reset,
                                                                                   department_link):
    department, link = department_link
    admin = emulator_reset.sf(token=emulator_reset.token("demo", emulator_reset.demo["admin"]["username"]))
    admin.Account.delete(link.salesforce_id)
    result = pull_incremental(connection_id=connected.pk)
    assert result.accounts.deleted == 1, result
    link.refresh_from_db()
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE
    assert Department.objects.filter(pk=department.pk, name="Health Canada").exists()


def test_an_account_outbound_message_renames_the_department(client, alice, connected, department_link):
    department, link = department_link
    body = soap(connected.org_id, [("04l0000000000A1AAA", {"Id": link.salesforce_id, "Name": "Health Canada (real time)",
                                                           "SystemModstamp": stamp()})], sobject="Account")
    assert b"<Ack>true</Ack>" in post(client, connected, body).content
    assert b"<Ack>true</Ack>" in post(client, connected, body).content  # a replay
    assert notifications_process(connection_id=connected.pk) == 1
    department.refresh_from_db()
    assert department.name == "Health Canada (real time)"
    assert InboundNotification.objects.get().result == "applied"
    assert not OutboxEntry.objects.filter(connection=connected).exists()
    assert SyncLog.objects.filter(direction="pull", record_type="department", operation="update").count() == 1


def test_an_account_outbound_message_on_a_push_only_connection_writes_nothing(client, alice, connected, department_link):
    department, link = department_link
    save_settings(connected, direction="push")
    post(client, connected, soap(connected.org_id, [("04l0000000000A2AAA", {
        "Id": link.salesforce_id, "Name": "Renamed", "SystemModstamp": stamp()})], sobject="Account"))
    notifications_process(connection_id=connected.pk)
    department.refresh_from_db()
    assert department.name == "Health Canada"


def test_ensure_outbound_rules_sets_up_the_account_message_too(connected, emulator_reset):
    from sync_engine.pull.rules import ensure_outbound_rules

    first = ensure_outbound_rules(connection=connected)
    assert (first.message, first.rule, first.account_message, first.account_rule) == ("created",) * 4
    assert first.account_fields == ["Id", "SystemModstamp", "Name"]
    again = ensure_outbound_rules(connection=connected)
    assert (again.message, again.rule, again.account_message, again.account_rule) == ("unchanged",) * 4
    assert first.endpoint_url.endswith(receiver_path(connected))


@pytest.mark.django_db(transaction=True)
def test_an_account_renamed_in_salesforce_arrives_by_outbound_message(alice, connected, emulator_reset, live_server, settings,
                                                                        department_factory, opportunity_factory):
    """End to end: the rules ensure_outbound_rules creates in the org, the org's own delivery to
    the receiver, then the processing task's service."""
    from sync_engine.pull.rules import ensure_outbound_rules
    from tests.sync_engine.workers import wait_for

    settings.COTHON_BASE_URL = live_server.url
    department = department_factory(alice.tenant, "Health Canada")
    opportunity_factory(alice.tenant, department=department)
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(connection=connected, record_type="department", record_id=department.pk)
    assert ensure_outbound_rules(connection=connected).account_rule == "created"
    emulator_reset.sf().Account.update(link.salesforce_id, {"Name": "Health Canada (delivered)"})
    wait_for(lambda: InboundNotification.objects.filter(connection=connected, sobject="Account").exists(), timeout=10,
             message="the Account's Outbound Message at the receiver")
    notifications_process(connection_id=connected.pk)
    department.refresh_from_db()
    assert department.name == "Health Canada (delivered)"



def test_a_failed_subrequest_of_the_composite_call_is_told_apart_from_a_page():
    """A real org's composite answer (CumulusCI cassette): one query page, one INVALID_TYPE."""
    import json
    from pathlib import Path

    from integrations.salesforce.errors import SalesforceError
    from sync_engine.pull.incremental import composite_pages

    answer = json.loads(Path("/work/shared/fixtures/salesforce/rest/composite/composite_query_INVALID_TYPE.response.json").read_text())
    page, error = composite_pages(answer, ("refAccount", "refXYZZY"))
    assert page == {"totalSize": 17, "done": True, "records": []}
    assert isinstance(error, SalesforceError) and error.code == "INVALID_TYPE" and error.status == 400
    assert "sObject type 'XYZZY' is not supported" in error.message
    missing, = composite_pages(answer, ("refNothing",))
    assert isinstance(missing, SalesforceError)
