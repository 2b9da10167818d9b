"""The Outbound Message receiver: stored before the Ack, idempotent on the notification id,
processed later; malformed, oversized, foreign or unaddressed messages refused with nothing
written."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from django.utils import timezone

from opportunities.models import Opportunity
from sync_engine.executor import push_connection
from sync_engine.models import SyncLink, SyncLog
from sync_engine.pull import outbound
from sync_engine.pull.models import InboundNotification
from sync_engine.pull.outbound import notifications_process, notifications_sweep, receiver_path
from tests.pull.conftest import save_settings

FIXTURE = Path("/work/shared/fixtures/salesforce/outbound/notification_Opportunity.xml")


def soap(org_id: str, notifications: list[tuple[str, dict]], sobject: str = "Opportunity") -> bytes:
    """A notifications message as Salesforce (and the emulator) sends it."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
             f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org_id}</OrganizationId>'
             '<ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>']
    for note_id, fields in notifications:
        parts.append(f'<Notification><Id>{note_id}</Id><sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">')
        for name, value in fields.items():
            parts.append(f'<sf:{name} xsi:nil="true"/>' if value is None else f"<sf:{name}>{escape(str(value))}</sf:{name}>")
        parts.append("</sObject></Notification>")
    parts.append("</notifications></soapenv:Body></soapenv:Envelope>")
    return "".join(parts).encode()


def stamp(seconds_from_now: int = 60) -> str:
    return (timezone.now() + datetime.timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def linked(alice, connected, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    assert push_connection(connection_id=connected.pk).failed == 0
    return opportunity, SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)


def post(client, connection, body: bytes, path: str | None = None):
    return client.post(path or receiver_path(connection), data=body, content_type="text/xml; charset=utf-8")


def test_a_notification_is_stored_acknowledged_then_applied(client, connected, linked, django_capture_on_commit_callbacks):
    opportunity, link = linked
    body = soap(connected.org_id, [("04l000000000001AAA", {"Id": link.salesforce_id, "Description": "Theirs",
                                                           "SystemModstamp": stamp()})])
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, connected, body)
    assert response.status_code == 200 and b"<Ack>true</Ack>" in response.content
    assert len(callbacks) == 1  # the processing task is sent after commit
    row = InboundNotification.objects.get()
    assert row.salesforce_id == link.salesforce_id and row.processed_at is None
    assert Opportunity.objects.get(pk=opportunity.pk).description == "Ours"  # not applied in the request
    assert notifications_process(connection_id=connected.pk) == 1
    assert Opportunity.objects.get(pk=opportunity.pk).description == "Theirs"
    row.refresh_from_db()
    assert row.processed_at is not None and row.result == "applied"


def test_a_replayed_notification_is_acknowledged_and_applied_once(client, connected, linked):
    opportunity, link = linked
    body = soap(connected.org_id, [("04l000000000002AAA", {"Id": link.salesforce_id, "Description": "Theirs",
                                                           "SystemModstamp": stamp()})])
    assert b"<Ack>true</Ack>" in post(client, connected, body).content
    assert b"<Ack>true</Ack>" in post(client, connected, body).content
    assert InboundNotification.objects.count() == 1
    notifications_process(connection_id=connected.pk)
    assert b"<Ack>true</Ack>" in post(client, connected, body).content  # after processing too
    assert notifications_process(connection_id=connected.pk) == 0
    assert InboundNotification.objects.count() == 1
    assert SyncLog.objects.filter(direction="pull", record_id=opportunity.pk, operation="update").count() == 1


def test_an_older_notification_arriving_late_does_not_undo_a_newer_one(client, connected, linked):
    opportunity, link = linked
    post(client, connected, soap(connected.org_id, [("04l000000000003AAA", {"Id": link.salesforce_id, "Description": "Newer",
                                                                            "SystemModstamp": stamp(120)})]))
    notifications_process(connection_id=connected.pk)
    post(client, connected, soap(connected.org_id, [("04l000000000004AAA", {"Id": link.salesforce_id, "Description": "Older",
                                                                            "SystemModstamp": stamp(60)})]))
    notifications_process(connection_id=connected.pk)
    assert Opportunity.objects.get(pk=opportunity.pk).description == "Newer"


def test_a_fifteen_character_id_finds_its_link(client, connected, linked):
    opportunity, link = linked
    post(client, connected, soap(connected.org_id[:15], [("04l000000000005AAA", {"Id": link.salesforce_id[:15], "Description": "Short id",
                                                                                 "SystemModstamp": stamp()})]))
    notifications_process(connection_id=connected.pk)
    assert Opportunity.objects.get(pk=opportunity.pk).description == "Short id"


def test_a_message_from_another_org_is_refused_with_nothing_written(client, connected, linked):
    opportunity, link = linked
    body = soap("00D000000000OTHER", [("04l000000000006AAA", {"Id": link.salesforce_id, "Description": "Theirs"})])
    response = post(client, connected, body)
    assert response.status_code == 403 and b"Ack" not in response.content
    assert not InboundNotification.objects.exists()
    assert Opportunity.objects.get(pk=opportunity.pk).description == "Ours"


def test_another_organizations_endpoint_refuses_this_orgs_message(client, connected, linked, bob):
    from integrations import connections as svc
    from integrations.models import Environment

    other = svc.connection_create(tenant=bob.tenant, name="Bob's org", environment=Environment.CUSTOM,
                                  login_url=connected.login_url, actor=bob.admin)
    body = soap(connected.org_id, [("04l000000000007AAA", {"Id": linked[1].salesforce_id, "Description": "Theirs"})])
    assert post(client, other, body).status_code == 403
    assert not InboundNotification.objects.exists()


@pytest.mark.parametrize("body", [
    b"this is not xml",
    b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body/></soapenv:Envelope>",
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><x>&lol2;</x>',
    b"",
], ids=["not-xml", "no-notifications", "entity-expansion", "empty"])
def test_malformed_messages_are_refused_with_nothing_written(client, connected, body):
    response = post(client, connected, body)
    assert response.status_code == 400 and b"Ack" not in response.content
    assert not InboundNotification.objects.exists()


def test_a_notification_without_a_valid_id_is_refused(client, connected):
    response = post(client, connected, soap(connected.org_id, [("04l000000000008AAA", {"Description": "no id"})]))
    assert response.status_code == 400 and not InboundNotification.objects.exists()


def test_the_salesforce_fixture_message_parses(connected):
    message = outbound.parse_message(FIXTURE.read_bytes())
    assert message.organization_id == "00DQ0000000EB93"
    [note] = message.notifications
    assert note.sobject == "Opportunity" and note.salesforce_id.startswith("006Q0000009N3gf") and len(note.salesforce_id) == 18
    assert note.fields["AccountId"] == "001Q000000SvOoG"


def test_an_oversized_message_is_refused(client, connected):
    big = soap(connected.org_id, [("04l000000000009AAA", {"Id": "006000000000001AAA", "Description": "x" * (5 * 1024 * 1024)})])
    assert post(client, connected, big).status_code == 413
    assert not InboundNotification.objects.exists()


def test_an_unknown_or_forged_endpoint_is_not_found(client, connected):
    body = soap(connected.org_id, [("04l00000000000AAAA", {"Id": "006000000000001AAA"})])
    assert post(client, connected, body, path=f"/integrations/salesforce/outbound/{connected.pk}-{'0' * 32}/").status_code == 404
    assert post(client, connected, body, path="/integrations/salesforce/outbound/nonsense/").status_code == 404
    assert not InboundNotification.objects.exists()


def test_only_post_is_accepted(client, connected):
    assert client.get(receiver_path(connected)).status_code == 405


def test_a_push_only_connection_acknowledges_and_writes_nothing(client, connected, linked):
    opportunity, link = linked
    save_settings(connected, direction="push")
    post(client, connected, soap(connected.org_id, [("04l00000000000BAAA", {"Id": link.salesforce_id, "Description": "Theirs",
                                                                            "SystemModstamp": stamp()})]))
    notifications_process(connection_id=connected.pk)
    assert Opportunity.objects.get(pk=opportunity.pk).description == "Ours"
    assert InboundNotification.objects.get().result == "push only"


def test_the_sweeper_resends_processing_for_notifications_left_behind(client, connected, linked, monkeypatch):
    sent = []
    monkeypatch.setattr(outbound, "enqueue_processing", sent.append)
    post(client, connected, soap(connected.org_id, [("04l00000000000CAAA", {"Id": linked[1].salesforce_id, "Description": "x"})]))
    assert notifications_sweep() == []  # just received: its own task is on the way
    assert notifications_sweep(now=timezone.now() + datetime.timedelta(minutes=1)) == [connected.pk]
    notifications_process(connection_id=connected.pk)
    assert notifications_sweep(now=timezone.now() + datetime.timedelta(minutes=1)) == []


def test_values_sent_as_text_are_typed_by_the_describe(client, connected, linked):
    opportunity, link = linked
    post(client, connected, soap(connected.org_id, [("04l00000000000DAAA", {
        "Id": link.salesforce_id, "Amount": "250000.0", "Cothon_Compliance__c": "91", "Cothon_UNSPSC__c": "12345",
        "Description": "Ours", "SystemModstamp": stamp()})]))
    notifications_process(connection_id=connected.pk)
    opportunity.refresh_from_db()
    width = Decimal("150000.00")  # the factory's 100,000 … 250,000
    assert (opportunity.value_min, opportunity.value_max) == (Decimal("250000.00") - width / 2, Decimal("250000.00") + width / 2)
    assert opportunity.compliance_score == 91 and opportunity.unspsc_code == "12345"
