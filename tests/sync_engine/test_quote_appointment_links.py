"""Quotes and appointments keep their Salesforce id as a SyncLink (sync_engine owns link state):
the data migration that moved the old fields into links (or into HeldLink when the tenant had
no default connection), the adoption of held ids on the next run, and the one-appointment-per-
Salesforce-record rule."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection as db_connection, transaction
from django.db.migrations.executor import MigrationExecutor

from integrations.models import SalesforceConnection
from integrations.sync_settings import settings_current, settings_save
from opportunities.models import Appointment
from proposals.services import quote_create
from sync_engine import links
from sync_engine.models import HeldLink, LinkStatus, RecordType, SyncLink
from sync_engine.services import sync_now_start

BEFORE = [("sync_engine", "0003_leases_wakeups_run_rows"),
          ("opportunities", "0003_appointment_unique_sf_id_to_sync_engine"),
          ("proposals", "0002_quote_numeric_bounds")]


def _migrate(targets):
    executor = MigrationExecutor(db_connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(db_connection)
    # Every app's leaf: migrating back unapplied the apps that depend on these (the pull, Match
    # Legacy Records); forward to only these three would leave their tables missing for later tests.
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_quote_and_appointment_ids_into_links_and_back():
    old = _migrate(BEFORE)
    Tenant = old.get_model("cothon", "Tenant")
    Connection = old.get_model("integrations", "SalesforceConnection")
    Version = old.get_model("integrations", "ConnectionSettingsVersion")
    Quote = old.get_model("proposals", "Quote")
    Appointment_ = old.get_model("opportunities", "Appointment")
    linked, unconnected = Tenant.objects.create(name="Linked", slug="linked"), Tenant.objects.create(name="None", slug="none")
    default = Connection.objects.create(tenant=linked, name="Production", login_url="https://login.salesforce.com", is_default=True)
    regional = Connection.objects.create(tenant=linked, name="Regional", login_url="https://login.salesforce.com")
    Version.objects.create(connection=default, version=1, data={"objects": {"opportunity": "Deal__c"}})
    quote = Quote.objects.create(tenant=linked, number="Q-1", title="From Salesforce", salesforce_opportunity_id="006000000000001AAA")
    plain = Quote.objects.create(tenant=linked, number="Q-2", title="Typed in Cothon")
    pulled = Appointment_.objects.create(tenant=linked, customer_name="A", salesforce_id="a0B000000000001AAA", connection_id=regional.pk)
    orphan = Appointment_.objects.create(tenant=linked, customer_name="B", salesforce_id="a0B000000000002AAA", connection_id=999999)
    held_quote = Quote.objects.create(tenant=unconnected, number="Q-1", title="Kept", salesforce_opportunity_id="006000000000003AAA")

    _migrate(_latest())

    rows = set(SyncLink.objects.values_list("connection_id", "record_type", "record_id", "sobject", "salesforce_id", "status"))
    assert rows == {
        (default.pk, "quote", quote.pk, "Deal__c", "006000000000001AAA", "synced"),  # the settings' Opportunity object
        (regional.pk, "appointment", pulled.pk, "i360__Appointment__c", "a0B000000000001AAA", "synced"),  # where it came from
        (default.pk, "appointment", orphan.pk, "i360__Appointment__c", "a0B000000000002AAA", "synced"),  # its connection is gone
    }
    assert list(HeldLink.objects.values_list("tenant_id", "record_type", "record_id", "sobject", "salesforce_id")) == [
        (unconnected.pk, "quote", held_quote.pk, "Opportunity", "006000000000003AAA")]

    old = _migrate(BEFORE)
    Quote, Appointment_ = old.get_model("proposals", "Quote"), old.get_model("opportunities", "Appointment")
    assert dict(Quote.objects.values_list("pk", "salesforce_opportunity_id")) == {
        quote.pk: "006000000000001AAA", plain.pk: "", held_quote.pk: "006000000000003AAA"}
    assert dict(Appointment_.objects.values_list("pk", "salesforce_id")) == {
        pulled.pk: "a0B000000000001AAA", orphan.pk: "a0B000000000002AAA"}
    _migrate(_latest())


def _default_connection(tenant) -> SalesforceConnection:
    return SalesforceConnection.objects.create(tenant=tenant, name="Production", login_url="https://login.salesforce.com",
                                               is_default=True)


def test_held_ids_become_links_of_the_default_connection_in_the_object_its_settings_name(alice):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    HeldLink.objects.create(tenant=alice.tenant, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id="006000000000001AAA")
    connection = _default_connection(alice.tenant)
    data = settings_current(connection=connection)
    data["objects"]["opportunity"] = "Deal__c"
    settings_save(connection=connection, data=data, actor=None)

    assert links.held_links_adopt(connection=connection) == 1
    link = SyncLink.objects.get()
    assert (link.connection_id, link.record_type, link.record_id, link.sobject, link.salesforce_id, link.status) == (
        connection.pk, "quote", quote.pk, "Deal__c", "006000000000001AAA", LinkStatus.SYNCED)
    assert not HeldLink.objects.exists()
    assert links.salesforce_ids(tenant=alice.tenant, record_type=RecordType.QUOTE, record_ids=[quote.pk]) == {
        quote.pk: "006000000000001AAA"}


def test_a_connection_that_is_not_the_default_adopts_nothing(alice):
    HeldLink.objects.create(tenant=alice.tenant, record_type=RecordType.QUOTE, record_id=1, sobject="Opportunity",
                            salesforce_id="006000000000001AAA")
    sandbox = SalesforceConnection.objects.create(tenant=alice.tenant, name="Sandbox", login_url="https://test.salesforce.com")
    assert links.held_links_adopt(connection=sandbox) == 0
    assert HeldLink.objects.count() == 1 and not SyncLink.objects.exists()


def test_a_held_id_never_replaces_an_existing_link(alice):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    connection = _default_connection(alice.tenant)
    SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id="006000000000NEWAAA")
    HeldLink.objects.create(tenant=alice.tenant, record_type=RecordType.QUOTE, record_id=quote.pk, sobject="Opportunity",
                            salesforce_id="006000000000OLDAAA")
    assert links.held_links_adopt(connection=connection) == 0
    assert SyncLink.objects.get().salesforce_id == "006000000000NEWAAA" and not HeldLink.objects.exists()


def test_sync_now_on_the_default_connection_adopts_the_held_ids(alice, connected):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    HeldLink.objects.create(tenant=alice.tenant, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id="006000000000001AAA")
    with transaction.atomic():
        sync_now_start(connection=connected, kind="incremental", actor=None, enqueue=False)
    assert SyncLink.objects.filter(connection=connected, record_type=RecordType.QUOTE, record_id=quote.pk,
                                   salesforce_id="006000000000001AAA").exists()
    assert not HeldLink.objects.exists()


def test_two_appointments_cannot_link_to_one_salesforce_record_of_a_connection(alice):
    connection = _default_connection(alice.tenant)
    first, second = (Appointment.objects.create(tenant=alice.tenant, customer_name=name) for name in ("A", "B"))

    def link(appointment, salesforce_id):
        return SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type=RecordType.APPOINTMENT,
                                       record_id=appointment.pk, sobject="i360__Appointment__c", salesforce_id=salesforce_id)

    link(first, "a0B000000000001AAA")
    with pytest.raises(IntegrityError), transaction.atomic():
        link(second, "a0B000000000001AAA")
    link(second, "a0B000000000002AAA")
    assert SyncLink.objects.count() == 2
