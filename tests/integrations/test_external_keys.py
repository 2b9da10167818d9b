"""External-id keys written to Salesforce are unique per organization, and the change of the
Account key format re-keys existing Accounts in place (issue 15 #4), against the emulator."""

from __future__ import annotations

import pytest

from integrations import connections as svc
from integrations.mapping import account
from integrations.models import Environment, SalesforceConnection
from opportunities.models import Department
from sync_engine.executor import push_connection
from sync_engine.models import AccountCacheEntry, SyncLink, SyncRunStatus
from integrations.mapping import account as accounts
from sync_engine.services import sync_now_start, sync_run_execute_inline
from tests.integrations.test_custom_fields import bare_emulator  # noqa: F401 - a fixture


def _connect(world, emulator):
    creds = emulator.demo
    connection = svc.connection_create(
        tenant=world.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator.instance_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator.ca_bundle,
        actor=world.admin)
    return svc.connection_connect_client_credentials(connection=connection, actor=world.admin)


def _sharing_the_org(world, other: SalesforceConnection) -> SalesforceConnection:
    """A connection of `world` to the org `other` uses, as one made before sharing was refused
    (today the connect services refuse it; tests/integrations/test_org_sharing.py)."""
    copy = SalesforceConnection.objects.get(pk=other.pk)
    copy.pk = None
    copy.tenant = world.tenant
    copy.name = "Same org"
    copy.save()
    from integrations.sync_settings import settings_ensure_initial

    settings_ensure_initial(connection=copy)
    return copy


def _accounts(emulator, where: str = "") -> list[dict]:
    soql = "SELECT Id, Name, Cothon_Department_Key__c FROM Account" + (f" WHERE {where}" if where else "")
    return emulator.sf().query_all(soql)["records"]


def _full_sync(connection) -> None:
    run = sync_now_start(connection=connection, kind="full", actor=None, enqueue=False)
    run = sync_run_execute_inline(run=run)
    assert run.status == SyncRunStatus.SUCCEEDED and run.failed == 0, (run.status, run.message)


def test_the_account_key_carries_the_organization(alice, bob, department_factory):
    mine, theirs = department_factory(alice.tenant, "Health Canada"), department_factory(bob.tenant, "Health Canada")
    assert mine.key == theirs.key  # unique only within an organization…
    assert account.department_external_key(mine) != account.department_external_key(theirs)  # …the Salesforce key is not
    assert account.department_external_key(mine) == f"t{alice.tenant.pk}.health-canada"
    assert account.to_salesforce(mine).fields["Cothon_Department_Key__c"] == account.department_external_key(mine)
    assert len(account.department_external_key(mine)) <= 100  # the field's length


def test_two_organizations_writing_one_org_do_not_overwrite_each_others_accounts(alice, bob, emulator_reset, department_factory,
                                                                               opportunity_factory):
    """Same department key ("public-works"), different names: before, the second upsert by key
    renamed the first organization's Account and took it over."""
    northwind = _connect(alice, emulator_reset)
    maple = _sharing_the_org(bob, northwind)
    department_factory(alice.tenant, "Public Works")
    department_factory(bob.tenant, "Public Works.")
    assert Department.objects.filter(key="public-works").count() == 2
    push_connection(connection_id=northwind.pk)
    push_connection(connection_id=maple.pk)
    found = {a["Name"]: a["Cothon_Department_Key__c"] for a in _accounts(emulator_reset, "Name LIKE 'Public Works%'")}
    assert found == {"Public Works": f"t{alice.tenant.pk}.public-works", "Public Works.": f"t{bob.tenant.pk}.public-works"}
    ids = {link.tenant_id: link.salesforce_id for link in SyncLink.objects.filter(record_type="department")}
    assert len(set(ids.values())) == 2


def test_accounts_pushed_with_the_old_key_are_rekeyed_by_id_and_never_duplicated(alice, emulator_reset, department_factory,
                                                                                opportunity_factory, monkeypatch):
    connection = _connect(alice, emulator_reset)
    for name in ("Health Canada", "Transport Canada", "Parks Canada"):
        opportunity_factory(alice.tenant, department=department_factory(alice.tenant, name), reference=f"REF-{name[:4]}")
    # Before this change the bare department key was written.
    with monkeypatch.context() as m:
        m.setattr(accounts, "department_external_key", lambda department: department.key)
        _full_sync(connection)
    ours = "Name IN ('Health Canada', 'Transport Canada', 'Parks Canada', 'Parks Canada Agency')"
    before = {a["Name"]: a for a in _accounts(emulator_reset, ours)}
    assert {a["Cothon_Department_Key__c"] for a in before.values()} == {"health-canada", "transport-canada", "parks-canada"}
    links_before = dict(SyncLink.objects.filter(record_type="department").values_list("record_id", "salesforce_id"))

    # One department lost its link and its Account was renamed in Salesforce: only the legacy
    # key can find it.
    parks = Department.objects.get(tenant=alice.tenant, key="parks-canada")
    SyncLink.objects.filter(record_type="department", record_id=parks.pk).delete()
    emulator_reset.sf().Account.update(before["Parks Canada"]["Id"], {"Name": "Parks Canada Agency"})
    AccountCacheEntry.objects.filter(connection=connection).delete()  # the hourly name cache has expired

    _full_sync(connection)
    after = _accounts(emulator_reset, ours)
    assert len(after) == 3, after  # no duplicates
    assert {a["Id"] for a in after} == {a["Id"] for a in before.values()}
    assert {a["Cothon_Department_Key__c"] for a in after} == {f"t{alice.tenant.pk}.{k}" for k in
                                                              ("health-canada", "transport-canada", "parks-canada")}
    links_after = dict(SyncLink.objects.filter(record_type="department").values_list("record_id", "salesforce_id"))
    assert links_after == links_before
    # Opportunities still point at the same Accounts.
    opportunities = emulator_reset.sf().query_all("SELECT AccountId FROM Opportunity WHERE Cothon_Ref__c LIKE 'REF-%'")["records"]
    assert len(opportunities) == 3 and {o["AccountId"] for o in opportunities} <= {a["Id"] for a in after}
    # And a third full sync changes nothing.
    _full_sync(connection)
    assert len(_accounts(emulator_reset, ours)) == 3


@pytest.mark.parametrize("key_field, sobject", [("Cothon_Key__c", "Cothon_Analysis__c"), ("Cothon_Key__c", "Cothon_Requirement__c"),
                                                ("Cothon_Activity_Key__c", "Task")])
def test_the_other_keys_carry_ids_unique_to_the_installation(alice, bob, emulator_reset, department_factory, opportunity_factory,
                                                            key_field, sobject):
    """Analysis, requirement, task and file keys are built from database ids, unique across
    organizations of one installation: two organizations writing one org get distinct keys."""
    from opportunities.services import analysis_complete, analysis_create, opportunity_update, requirement_add

    northwind = _connect(alice, emulator_reset)
    maple = _sharing_the_org(bob, northwind)
    for world, connection in ((alice, northwind), (bob, maple)):
        opportunity = opportunity_factory(world.tenant, reference="SAME-REF-1" if world is alice else "SAME-REF-2")
        analysis = analysis_create(tenant=world.tenant, opportunity=opportunity, summary="ok")
        requirement_add(tenant=world.tenant, analysis=analysis, text="ISO 9001", kind="mandatory")
        analysis_complete(tenant=world.tenant, analysis=analysis, compliance_score=80)
        opportunity_update(tenant=world.tenant, opportunity=opportunity, data={"status": "pursuing"})
        push_connection(connection_id=connection.pk)
    keys = [r[key_field] for r in emulator_reset.sf().query_all(f"SELECT {key_field} FROM {sobject}")["records"] if r.get(key_field)]
    assert len(keys) >= 2 and len(keys) == len(set(keys)), keys


def test_an_org_without_the_key_field_still_gets_the_account_lookup_by_name(alice, bare_emulator, department_factory, monkeypatch):  # noqa: F811
    """The lookup asks for the key field too; an org without Cothon's fields (not installed yet)
    must still get the name lookup, and each Account write says what is missing — as before."""
    from sync_engine.models import SyncLog

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator's loopback login URL, as `make run` sets
    connection = svc.connection_create(
        tenant=alice.tenant, name="Bare", environment=Environment.CUSTOM, login_url=bare_emulator["login_url"],
        client_id=bare_emulator["client_id"], client_secret=bare_emulator["client_secret"],
        ca_bundle_path=bare_emulator["ca_bundle"], actor=alice.admin)
    svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    department_factory(alice.tenant, "Fisheries and Oceans Canada")
    summary = push_connection(connection_id=connection.pk)
    [log] = SyncLog.objects.filter(connection=connection, sobject="Account")
    assert log.result == "failed" and "Cothon_Department_Key__c" in f"{log.error_code} {log.error_message}", (
        log.error_code, log.error_message, summary)
