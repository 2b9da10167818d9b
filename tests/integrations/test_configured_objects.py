"""Where a connection's settings name another Salesforce object (a custom object instead of
Opportunity or Account), the record pages' links and the custom-field install follow it."""

from __future__ import annotations

import pytest

from integrations import connections as svc
from sync_engine import links as selectors
from integrations.custom_fields import specs_for
from integrations.settings_schema import SalesforceObjects
from integrations.sync_settings import settings_current, settings_save
from sync_engine.models import RecordType, SyncLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def bid_connection(alice):
    connection = svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123", client_secret="s3cret-app",
                                       actor=alice.admin)
    data = settings_current(connection=connection)
    data["objects"].update(opportunity="Bid__c", account="Buyer__c")
    settings_save(connection=connection, data=data, actor=alice.admin, against_org=False)
    return connection


def _link(connection, record_type, record_id, sobject, salesforce_id):
    return SyncLink.objects.create(tenant=connection.tenant, connection=connection, record_type=record_type, record_id=record_id,
                                   sobject=sobject, salesforce_id=salesforce_id, status="synced")


def test_opportunity_links_are_read_on_the_configured_object(alice, bid_connection, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    _link(bid_connection, RecordType.OPPORTUNITY, opportunity.pk, "Opportunity", "006OLD")  # from before the change
    current = _link(bid_connection, RecordType.OPPORTUNITY, opportunity.pk, "Bid__c", "a01NEW")
    assert selectors.opportunity_salesforce_link(tenant=alice.tenant, opportunity=opportunity)["link"] == current
    assert selectors.opportunity_salesforce_links(tenant=alice.tenant, opportunity_ids=[opportunity.pk]) == {opportunity.pk: current}


def test_department_links_are_read_on_the_configured_account_object(alice, bid_connection, department_factory):
    department = department_factory(alice.tenant)
    _link(bid_connection, RecordType.DEPARTMENT, department.pk, "Account", "001OLD")
    current = _link(bid_connection, RecordType.DEPARTMENT, department.pk, "Buyer__c", "a02NEW")
    links = selectors.salesforce_links(tenant=alice.tenant, record_type=RecordType.DEPARTMENT, record_ids=[department.pk])
    assert links == {department.pk: current}


def test_another_tenants_links_are_not_read(alice, bob, bid_connection, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    _link(bid_connection, RecordType.OPPORTUNITY, opportunity.pk, "Bid__c", "a01NEW")
    assert selectors.opportunity_salesforce_links(tenant=bob.tenant, opportunity_ids=[opportunity.pk]) == {}


def test_custom_fields_go_to_the_configured_objects_and_lookups_point_at_them():
    standard, custom = specs_for(SalesforceObjects(opportunity="Bid__c", account="Buyer__c", analysis="Bid_Analysis__c"))
    assert "Bid__c.Cothon_Ref__c" in {f.full_name for f in standard}
    assert "Buyer__c.Cothon_Department_Key__c" in {f.full_name for f in standard}
    assert not any(f.sobject in ("Opportunity", "Account") for f in standard)
    analysis, requirement = custom
    assert analysis.name == "Bid_Analysis__c" and requirement.name == "Cothon_Requirement__c"
    lookup = next(f for f in analysis.fields if f.name == "Cothon_Opportunity__c")
    assert lookup.sobject == "Bid_Analysis__c" and lookup.metadata["referenceTo"] == "Bid__c"
    master = next(f for f in requirement.fields if f.name == "Cothon_Analysis__c")
    assert master.metadata["referenceTo"] == "Bid_Analysis__c"
    assert specs_for(SalesforceObjects())[0][0].sobject == "Opportunity"  # the defaults are unchanged


def test_a_manual_syncs_result_is_read_from_the_configured_object(alice, bid_connection, opportunity_factory):
    from sync_engine.models import SyncLog, SyncRun, SyncRunKind
    from sync_engine.selectors import record_run_state

    opportunity = opportunity_factory(alice.tenant)
    run = SyncRun.objects.create(tenant=alice.tenant, connection=bid_connection, kind=SyncRunKind.MANUAL_RECORD,
                                 record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk)
    record = dict(tenant=alice.tenant, connection=bid_connection, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk)
    own = SyncLog.objects.create(**record, sobject="Bid__c", operation="upsert", result="success", salesforce_id="a01NEW")
    SyncLog.objects.create(**record, sobject="Buyer__c", operation="upsert", result="success")  # its Account, logged after
    state = record_run_state(tenant=alice.tenant, run=run)
    assert state.log == own
