"""Contact roles: a pulled opportunity's OpportunityContactRole rows become its Cothon contacts
(matched by link, then e-mail; created where the connection imports), once, and follow
Salesforce's changes; the record page shows them."""

from __future__ import annotations

import pytest

from opportunities import services as opp
from opportunities.models import Contact, OpportunityContact
from sync_engine.executor import push_connection
from sync_engine.models import ApiCallBucket, OutboxEntry, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental
from tests.pull.conftest import save_settings


def pull_calls(connected) -> int:
    return sum(ApiCallBucket.objects.filter(connection=connected, kind="pull").values_list("calls", flat=True))


@pytest.fixture
def admin_sf(emulator_reset):
    """A sales manager with the rights to add contacts and contact roles."""
    return emulator_reset.sf(token=emulator_reset.token("demo", emulator_reset.demo["admin"]["username"]))


@pytest.fixture
def pushed(alice, connected, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)  # our own push seen once: the next cycles read changes only
    return opportunity, SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)


def add_role(admin_sf, opportunity_id: str, *, last_name: str, email: str, role: str = "Decision Maker", primary: bool = False,
             **contact) -> tuple[str, str]:
    contact_id = admin_sf.Contact.create({"LastName": last_name, "Email": email, **contact})["id"]
    role_id = admin_sf.OpportunityContactRole.create({"OpportunityId": opportunity_id, "ContactId": contact_id, "Role": role,
                                                      "IsPrimary": primary})["id"]
    return contact_id, role_id


def test_a_contact_role_becomes_the_opportunitys_contact_once(alice, connected, sf, admin_sf, pushed):
    opportunity, link = pushed
    save_settings(connected, direction="pull")  # imports from Salesforce: a contact Cothon lacks is created
    contact_id, _ = add_role(admin_sf, link.salesforce_id, last_name="Buyer", FirstName="Jamie", email="jamie.buyer@example.gc.ca",
                             Title="Procurement Officer", Phone="613-555-0199", primary=True)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Contact added"})
    before = pull_calls(connected)
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.applied == 1 and result.summary.contact_roles == 1, result
    assert pull_calls(connected) - before == 2  # the query, then the page's contact roles
    contact = Contact.objects.get(tenant=alice.tenant, email="jamie.buyer@example.gc.ca")
    assert (contact.first_name, contact.last_name, contact.job_title, contact.phone) == (
        "Jamie", "Buyer", "Procurement Officer", "613-555-0199")
    role = OpportunityContact.objects.get(opportunity=opportunity)
    assert (role.contact_id, role.role, role.is_primary) == (contact.pk, "Decision Maker", True)
    assert SyncLink.objects.get(connection=connected, record_type="contact", record_id=contact.pk).salesforce_id == contact_id
    # Pulled from Salesforce: nothing goes back to it.
    assert not OutboxEntry.objects.filter(connection=connected).exists()
    # The opportunity changes again: the same role is neither duplicated nor written again.
    sf.Opportunity.update(link.salesforce_id, {"Description": "Changed again"})
    again = pull_incremental(connection_id=connected.pk)
    assert again.summary.applied == 1 and again.summary.contact_roles == 0
    assert OpportunityContact.objects.filter(opportunity=opportunity).count() == 1
    assert Contact.objects.filter(tenant=alice.tenant).count() == 1


def test_a_replayed_page_writes_no_contact_twice(alice, connected, sf, admin_sf, pushed):
    from sync_engine.pull.apply import pull_apply

    opportunity, link = pushed
    save_settings(connected, direction="pull")
    add_role(admin_sf, link.salesforce_id, last_name="Replay", email="replay@example.org")
    sf.Opportunity.update(link.salesforce_id, {"Description": "x"})
    record = sf.query(f"SELECT Id, SystemModstamp, Description FROM Opportunity WHERE Id = '{link.salesforce_id}'")["records"][0]
    record.pop("attributes")
    first = pull_apply(connection=connected, sobject_records=[dict(record)])
    SyncLink.objects.filter(pk=link.pk).update(salesforce_modstamp=None)  # as if the page had never been applied
    second = pull_apply(connection=connected, sobject_records=[dict(record)])
    assert (first.contact_roles, second.contact_roles) == (1, 0)
    assert OpportunityContact.objects.filter(opportunity=opportunity).count() == 1
    assert Contact.objects.filter(tenant=alice.tenant, email="replay@example.org").count() == 1


def test_a_contact_is_matched_by_email_and_none_created_without_import(alice, connected, sf, admin_sf, pushed):
    opportunity, link = pushed  # bidirectional: Salesforce records are not imported
    known = opp.contact_create(tenant=alice.tenant, last_name="Known", email="Known.Person@Example.org")
    add_role(admin_sf, link.salesforce_id, last_name="Person", email="known.person@example.org", role="Evaluator")
    add_role(admin_sf, link.salesforce_id, last_name="Stranger", email="stranger@example.org")
    sf.Opportunity.update(link.salesforce_id, {"Description": "Two contacts"})
    pull_incremental(connection_id=connected.pk)
    roles = list(OpportunityContact.objects.filter(opportunity=opportunity))
    assert [(r.contact_id, r.role) for r in roles] == [(known.pk, "Evaluator")]
    assert not Contact.objects.filter(tenant=alice.tenant, last_name="Stranger").exists()
    assert SyncLink.objects.get(connection=connected, record_type="contact", record_id=known.pk).matched_by == "email"
    log = SyncLog.objects.get(direction="pull", record_type="contact", operation="not imported")
    assert log.record_label == "1 Salesforce contact(s) not in Cothon"


def test_a_role_changed_or_removed_in_salesforce_follows_and_cothon_contacts_stay(alice, connected, sf, admin_sf, pushed):
    opportunity, link = pushed
    save_settings(connected, direction="pull")
    _, first_role = add_role(admin_sf, link.salesforce_id, last_name="First", email="first@example.org")
    _, second_role = add_role(admin_sf, link.salesforce_id, last_name="Second", email="second@example.org")
    sf.Opportunity.update(link.salesforce_id, {"Description": "Two"})
    pull_incremental(connection_id=connected.pk)
    assert OpportunityContact.objects.filter(opportunity=opportunity).count() == 2
    ours = opp.contact_create(tenant=alice.tenant, last_name="Added in Cothon")
    OpportunityContact.objects.create(tenant=alice.tenant, opportunity=opportunity, contact=ours, role="Advisor")
    admin_sf.OpportunityContactRole.delete(first_role)
    admin_sf.OpportunityContactRole.update(second_role, {"Role": "Economic Buyer", "IsPrimary": True})
    sf.Opportunity.update(link.salesforce_id, {"Description": "One left"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.contact_roles == 2  # one removed, one changed
    left = {r.contact.last_name: (r.role, r.is_primary) for r in OpportunityContact.objects.filter(opportunity=opportunity)}
    assert left == {"Second": ("Economic Buyer", True), "Added in Cothon": ("Advisor", False)}


def test_an_echo_reads_no_contact_roles(alice, connected, pushed):
    before = pull_calls(connected)
    result = pull_incremental(connection_id=connected.pk)
    assert pull_calls(connected) - before == 1 and result.summary.contact_roles == 0


def test_the_record_page_shows_the_opportunitys_contacts(alice, bob, connected, sf, admin_sf, pushed, web_as):
    opportunity, link = pushed
    save_settings(connected, direction="pull")
    add_role(admin_sf, link.salesforce_id, last_name="Buyer", FirstName="Jamie", email="jamie@example.org", primary=True)
    sf.Opportunity.update(link.salesforce_id, {"Description": "x"})
    pull_incremental(connection_id=connected.pk)
    page = web_as(alice.viewer).get(f"/opportunities/{opportunity.pk}/").content.decode()
    assert "Jamie Buyer" in page and "Decision Maker" in page and "Primary" in page and "jamie@example.org" in page
    assert web_as(bob.admin).get(f"/opportunities/{opportunity.pk}/").status_code == 404


def test_no_access_to_contact_roles_applies_the_opportunity_and_says_why(alice, connected, sf, emulator_reset, pushed):
    opportunity, link = pushed
    # The org refuses the one plain query of this cycle — the contact roles' (the opportunities
    # come through /queryAll/) — as it does for a profile without OpportunityContactRole.
    emulator_reset.client.session.post(f"{emulator_reset.http_url}/_emulator/faults", timeout=30, json={
        "org": "demo", "path_contains": "/query/", "method": "GET", "status": 400, "error_code": "INVALID_TYPE",
        "message": "sObject type 'OpportunityContactRole' is not supported."}).raise_for_status()
    sf.Opportunity.update(link.salesforce_id, {"Description": "Applied anyway"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.applied == 1 and result.stopped_because == ""
    opportunity.refresh_from_db()
    assert opportunity.description == "Applied anyway"
    log = SyncLog.objects.get(direction="pull", record_type="contact", operation="skip")
    assert log.error_code == "INVALID_TYPE" and "not updated" in log.error_message


def test_the_queries_of_a_pages_contact_roles_do_not_grow_with_its_size(alice, connected, sf, admin_sf, opportunity_factory):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for size in (2, 6):
        opportunities = [opportunity_factory(alice.tenant) for _ in range(size)]
        assert push_connection(connection_id=connected.pk).failed == 0
        pull_incremental(connection_id=connected.pk)  # our own push coming back
        links = dict(SyncLink.objects.filter(connection=connected, record_type="opportunity").values_list("record_id", "salesforce_id"))
        for opportunity in opportunities:
            email = f"buyer{opportunity.pk}@example.org"
            opp.contact_create(tenant=alice.tenant, last_name=f"Buyer {opportunity.pk}", email=email)  # matched by e-mail
            add_role(admin_sf, links[opportunity.pk], last_name="Buyer", email=email)
            sf.Opportunity.update(links[opportunity.pk], {"Description": f"Roles {size}"})
        with CaptureQueriesContext(db) as queries:
            result = pull_incremental(connection_id=connected.pk)
        assert result.summary.applied == size and result.summary.contact_roles == size, result
        counts[size] = len(queries)
    assert counts[6] == counts[2], counts


# --- the real-time pull: contact roles of many batches in one read ------------------------------

def _notify(client, connected, link, n: int, description: str) -> None:
    from tests.pull.test_outbound_receiver import post, soap, stamp

    body = soap(connected.org_id, [(f"04l0000000000{n:02d}AAA", {"Id": link.salesforce_id, "Description": description,
                                                               "SystemModstamp": stamp(n)})])
    assert b"<Ack>true</Ack>" in post(client, connected, body).content


@pytest.fixture
def roles_woken(monkeypatch) -> list:
    from sync_engine.pull import outbound

    calls: list = []
    monkeypatch.setattr(outbound, "roles_wake", lambda connection_id: calls.append(connection_id))
    return calls


def test_real_time_batches_cost_no_call_and_their_roles_are_read_once_together(
        alice, connected, admin_sf, pushed, client, roles_woken, django_capture_on_commit_callbacks, opportunity_factory):
    from sync_engine.pull.models import InboundNotification
    from sync_engine.pull.outbound import contact_roles_pull_pending, notifications_process

    opportunity, link = pushed
    other = opportunity_factory(alice.tenant)
    assert push_connection(connection_id=connected.pk).failed == 0
    other_link = SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=other.pk)
    add_role(admin_sf, link.salesforce_id, last_name="Buyer", email="jamie.buyer@example.gc.ca")
    add_role(admin_sf, other_link.salesforce_id, last_name="Approver", email="sam.approver@example.gc.ca", role="Approver")
    save_settings(connected, direction="pull")  # imports: the contacts are created from Salesforce
    before = pull_calls(connected)
    for n, (target, text) in enumerate([(link, "Edit 1"), (other_link, "Edit 2"), (link, "Edit 3")], start=1):
        _notify(client, connected, target, n, text)
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications_process(connection_id=connected.pk) == 1  # one batch each
    assert pull_calls(connected) == before  # applying the batches read nothing from Salesforce
    assert roles_woken == [connected.pk] * 3  # each asks; the wake-up coalesces them (tests/sync_engine: wakeups)
    assert InboundNotification.objects.filter(contact_roles_pending=True).count() == 3

    assert contact_roles_pull_pending(connection_id=connected.pk) == 3

    assert pull_calls(connected) - before == 1  # one query for both opportunities' roles
    assert OpportunityContact.objects.get(opportunity=opportunity).contact.email == "jamie.buyer@example.gc.ca"
    assert OpportunityContact.objects.get(opportunity=other).role == "Approver"
    assert not InboundNotification.objects.filter(contact_roles_pending=True).exists()
    assert contact_roles_pull_pending(connection_id=connected.pk) == 0 and pull_calls(connected) - before == 1


def test_with_the_debounce_at_zero_each_batch_reads_its_roles_as_before(alice, connected, admin_sf, pushed, client, roles_woken,
                                                                        settings):
    from sync_engine.pull.models import InboundNotification
    from sync_engine.pull.outbound import notifications_process

    settings.COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS = 0
    _opportunity, link = pushed
    before = pull_calls(connected)
    _notify(client, connected, link, 1, "Edit 1")
    notifications_process(connection_id=connected.pk)
    assert pull_calls(connected) - before == 1 and roles_woken == []
    assert not InboundNotification.objects.filter(contact_roles_pending=True).exists()


def test_a_failed_read_keeps_the_roles_pending_and_asks_again(alice, connected, pushed, client, roles_woken, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    from integrations.salesforce.errors import ErrorKind, SalesforceError
    from sync_engine import wakeups
    from sync_engine.pull import outbound
    from sync_engine.pull.models import InboundNotification

    _opportunity, link = pushed
    _notify(client, connected, link, 1, "Edit 1")
    with django_capture_on_commit_callbacks(execute=True):
        outbound.notifications_process(connection_id=connected.pk)

    def fail(*args, **kwargs):
        raise SalesforceError("SERVER_UNAVAILABLE", "503", kind=ErrorKind.RETRYABLE)
    monkeypatch.setattr(outbound, "contact_roles_pull", fail)
    asked: list = []
    monkeypatch.setattr(wakeups, "wake", lambda connection_id, lane, **kw: asked.append((lane, kw.get("delay"))))
    with pytest.raises(SalesforceError):
        outbound.contact_roles_pull_pending(connection_id=connected.pk)
    assert InboundNotification.objects.filter(contact_roles_pending=True).count() == 1
    assert asked == [(wakeups.ROLES, 30.0)]
    # The notifications' sweeper asks for a read while some are pending (a lost wake-up).
    asked.clear()
    outbound.contact_roles_sweep()
    assert asked == [(wakeups.ROLES, 5.0)]


def test_many_batches_asking_for_the_read_send_one_message_to_the_realtime_queue(connected, monkeypatch):
    from sync_engine import wakeups
    from sync_engine.pull.outbound import roles_wake

    messages: list = []
    monkeypatch.setattr(wakeups, "_send", lambda target, lane, countdown: messages.append((target, lane, countdown)))
    for _ in range(15):
        roles_wake(connected.pk)
    assert messages == [(connected.pk, wakeups.ROLES, 5.0)]
    assert wakeups._TASKS[wakeups.ROLES] == ("sync_engine.pull.contact_roles", wakeups.REALTIME)
