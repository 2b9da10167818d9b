"""The appointment pull against the emulator's demo org: one appointment per Salesforce record
whatever the number of pulls, each assigned to the member whose query returned it; single
sign-on binds each member's identifier, multi-user sign-on logs in as the rep (SOAP + token)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integrations.crypto import encrypt_token
from integrations.member_logins import member_session_forget
from integrations.models import CredentialMode, SalesforceUserLink
from integrations.salesforce import oauth
from integrations.user_links import user_link_set
from opportunities.models import Appointment
from sync_engine.appointments.models import AppointmentPull, PullStatus, PullTrigger
from sync_engine.appointments.pull import appointments_pull_run, members_to_pull
from sync_engine.models import SyncLink
from tests.appointments.pull_fixtures import appointment_org_fixture  # noqa: F401 - the appointment_org fixture

pytestmark = pytest.mark.django_db


def _pull(connection) -> AppointmentPull:
    run = AppointmentPull.objects.create(tenant_id=connection.tenant_id, connection=connection, trigger=PullTrigger.MANUAL)
    return appointments_pull_run(pull_id=run.pk)


def _sf_ids(user) -> set[str]:
    ids = Appointment.objects.filter(assigned_to=user).values_list("pk", flat=True)
    return set(SyncLink.objects.filter(record_type="appointment", record_id__in=list(ids)).values_list("salesforce_id", flat=True))


def test_single_sign_on_pulls_each_members_own_appointments(alice, appointment_org, emulator_reset):
    run = _pull(appointment_org.connection)

    assert run.status == PullStatus.SUCCEEDED, run.member_errors
    jordan = appointment_org.records_of(emulator_reset, "Jordan Singh")
    amelie = appointment_org.records_of(emulator_reset, "Amélie Tremblay")
    assert jordan and amelie
    assert _sf_ids(alice.member) == {r["Id"] for r in jordan}
    assert _sf_ids(alice.admin) == {r["Id"] for r in amelie}
    assert run.created == len(jordan) + len(amelie) and run.members_total == run.members_done == 2
    assert run.api_calls == 2  # one page per member
    first = Appointment.objects.filter(assigned_to=alice.member).order_by("starts_at").first()
    record = next(r for r in jordan if SyncLink.objects.get(record_type="appointment", record_id=first.pk).salesforce_id == r["Id"])
    assert first.customer_name == record["i360__Customer_Name__c"]
    assert first.address == ", ".join([record["i360__Street__c"], record["i360__City__c"], record["i360__State__c"], record["i360__Zip__c"]])
    assert record["i360__State__c"] in ("ON", "QC") and ", true," not in first.address  # YAML's ON is no boolean here
    assert first.phone == record["i360__Customer_Phone__c"] and first.email == record["i360__Customer_Email__c"]
    assert first.duration_minutes == int(record["i360__Duration__c"]) and first.connection_id == appointment_org.connection.pk
    assert first.starts_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M") == record["i360__Start__c"][:16]
    # "Show in notes" fields follow the office notes, each with its title.
    assert first.notes.startswith(record["i360__Notes__c"]) and f"Product interest: {record['i360__Product__c']}" in first.notes
    assert first.source_fields["i360__Staff__r.Name"]["value"] == "Jordan Singh"


def test_a_second_pull_finds_the_same_appointments_and_applies_changes(alice, appointment_org, emulator_reset):
    _pull(appointment_org.connection)
    before = dict(Appointment.objects.values_list("pk", "customer_name"))
    sf = emulator_reset.sf()
    changed_id = appointment_org.records_of(emulator_reset, "Jordan Singh")[0]["Id"]
    sf.i360__Appointment__c.update(changed_id, {"i360__Customer_Name__c": "Renamed In Salesforce", "i360__Duration__c": 45})

    run = _pull(appointment_org.connection)
    again = _pull(appointment_org.connection)

    assert set(Appointment.objects.values_list("pk", flat=True)) == set(before)  # one appointment per record, ever
    assert SyncLink.objects.filter(record_type="appointment").count() == len(before)
    assert (run.created, run.updated, run.unchanged) == (0, 1, len(before) - 1)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(before))
    link = SyncLink.objects.get(record_type="appointment", salesforce_id=changed_id)
    appointment = Appointment.objects.get(pk=link.record_id)
    assert (appointment.customer_name, appointment.duration_minutes) == ("Renamed In Salesforce", 45)


def test_a_record_reassigned_in_salesforce_moves_to_the_other_member_as_the_same_appointment(alice, appointment_org, emulator_reset):
    _pull(appointment_org.connection)
    moved = next(r for r in appointment_org.records_of(emulator_reset, "Jordan Singh") if r["i360__Start__c"] > timezone.now().isoformat())
    pk = SyncLink.objects.get(record_type="appointment", salesforce_id=moved["Id"]).record_id
    emulator_reset.sf().i360__Appointment__c.update(moved["Id"], {"i360__Staff__c": appointment_org.staff["Amélie Tremblay"]})

    _pull(appointment_org.connection)

    assert Appointment.objects.get(pk=pk).assigned_to == alice.admin


def test_records_no_longer_returned_upcoming_ones_go_started_or_resulted_ones_stay(alice, appointment_org, emulator_reset):
    _pull(appointment_org.connection)
    now = timezone.now()
    by_sf = {link.salesforce_id: link.record_id for link in SyncLink.objects.filter(record_type="appointment")}
    jordan = appointment_org.records_of(emulator_reset, "Jordan Singh")
    past = next(r for r in jordan if Appointment.objects.get(pk=by_sf[r["Id"]]).starts_at < now)
    upcoming = [r for r in jordan if Appointment.objects.get(pk=by_sf[r["Id"]]).starts_at > now][:2]
    resulted = Appointment.objects.get(pk=by_sf[upcoming[1]["Id"]])
    resulted.sale, resulted.resulted_at = True, now
    resulted.save()
    sf = emulator_reset.sf(token=emulator_reset.token("demo", "admin@cothon-demo.example.com"))
    for record in (past, *upcoming):
        sf.i360__Appointment__c.delete(record["Id"])

    run = _pull(appointment_org.connection)

    assert run.removed == 1
    assert not Appointment.objects.filter(pk=by_sf[upcoming[0]["Id"]]).exists()
    assert not SyncLink.objects.filter(salesforce_id=upcoming[0]["Id"]).exists()
    assert Appointment.objects.filter(pk=by_sf[past["Id"]], assigned_to=alice.member).exists()  # history stays
    assert Appointment.objects.filter(pk=resulted.pk, assigned_to=alice.member).exists()  # the rep's work stays


def test_members_without_an_identifier_are_not_pulled_for(alice, appointment_org):
    assert set(members_to_pull(connection=appointment_org.connection)) == {alice.admin, alice.member}
    assert alice.viewer not in members_to_pull(connection=appointment_org.connection)


def test_an_identifier_that_is_no_salesforce_id_never_reaches_the_query(alice, appointment_org):
    # Stored before identifiers were validated (the service refuses it today): the pull checks again.
    SalesforceUserLink.objects.filter(connection=appointment_org.connection, user=alice.member).update(
        unique_identifier="x' OR i360__Staff__c != 'x")
    run = _pull(appointment_org.connection)

    assert not Appointment.objects.filter(assigned_to=alice.member).exists()  # not everyone's appointments
    assert Appointment.objects.filter(assigned_to=alice.admin).exists()  # the others are pulled all the same
    assert run.status == PullStatus.FINISHED_WITH_ERRORS and run.api_calls == 1
    assert "unique identifier" in run.member_errors[0]["message"] and "not valid" in run.member_errors[0]["message"]


def _per_user(appointment_org, member, staff_name):
    """Multi-user sign-on with Riley Rep's own login (password + security token, verified on save)."""
    connection = appointment_org.connection
    connection.credential_mode = CredentialMode.PER_USER
    connection.save()
    link = user_link_set(connection=connection, user_id=member.pk, unique_identifier=appointment_org.staff[staff_name],
                         username="rep@cothon-demo.example.com", password="Demo-Rep-Pass-1",
                         security_token="DemoRepToken00000000001")
    member_session_forget(link=link)  # the pull logs in afresh
    return connection, link


def test_multi_user_sign_on_logs_in_as_the_rep_with_their_security_token(alice, appointment_org, emulator_reset, monkeypatch):
    connection, _ = _per_user(appointment_org, alice.member, "Riley Rep")
    sessions: list[str] = []
    real_login = oauth.soap_login

    def watched_login(app, *, username, password_and_token):  # the real login, its session noted
        grant = real_login(app, username=username, password_and_token=password_and_token)
        sessions.append(grant.access_token)
        return grant
    monkeypatch.setattr(oauth, "soap_login", watched_login)

    run = _pull(connection)

    assert members_to_pull(connection=connection) == [alice.member]  # the admin has no credentials
    assert run.status == PullStatus.SUCCEEDED, run.member_errors
    assert _sf_ids(alice.member) == {r["Id"] for r in appointment_org.records_of(emulator_reset, "Riley Rep")}
    # The session the query ran with is the rep's own (Salesforce says who it belongs to).
    assert len(sessions) == 1
    who = emulator_reset.http_session().get(f"{emulator_reset.instance_url}/services/oauth2/userinfo",
                                            headers={"Authorization": f"Bearer {sessions[0]}"}).json()
    assert who["preferred_username"] == "rep@cothon-demo.example.com"


def test_a_refused_rep_login_is_reported_and_removes_nothing(alice, appointment_org, emulator_reset):
    connection, link = _per_user(appointment_org, alice.member, "Riley Rep")
    _pull(connection)
    kept = Appointment.objects.filter(assigned_to=alice.member).count()
    assert kept
    # The rep changed their password in Salesforce since: the stored one is refused.
    SalesforceUserLink.objects.filter(pk=link.pk).update(password_encrypted=encrypt_token("Old-Pass" + "DemoRepToken00000000001"))
    member_session_forget(link=link)

    run = _pull(connection)

    assert run.status == PullStatus.FAILED
    assert "INVALID_LOGIN" in run.member_errors[0]["message"]
    assert Appointment.objects.filter(assigned_to=alice.member).count() == kept


def test_a_query_salesforce_refuses_fails_the_pull_with_its_message(alice, appointment_org):
    appointment_org.settings.soql = "SELECT Id, No_Such_Field__c FROM i360__Appointment__c WHERE i360__Staff__c = :user_identifier"
    appointment_org.settings.save()

    run = _pull(appointment_org.connection)

    assert run.status == PullStatus.FAILED and not Appointment.objects.exists()
    assert "INVALID_FIELD" in run.member_errors[0]["message"]


def test_a_row_whose_value_does_not_fit_its_type_is_not_written(alice, appointment_org, emulator_reset):
    mappings = [dict(m) for m in appointment_org.settings.field_mappings]
    for mapping in mappings:
        if mapping["sf_field"] == "i360__Zip__c":
            mapping["sf_type"] = "int"  # "K1S 2L7" is no integer
    appointment_org.settings.field_mappings = mappings
    appointment_org.settings.save()

    run = _pull(appointment_org.connection)

    assert run.status == PullStatus.FAILED  # nothing could be written
    assert run.rows_failed == len(appointment_org.records_of(emulator_reset, "Jordan Singh")) + len(
        appointment_org.records_of(emulator_reset, "Amélie Tremblay"))
    assert not Appointment.objects.exists()
    assert "i360__Zip__c" in run.member_errors[0]["message"] and "not a valid int" in run.member_errors[0]["message"]


def test_a_switched_off_connection_is_not_pulled(alice, appointment_org):
    appointment_org.settings.enabled = False
    appointment_org.settings.save()

    run = _pull(appointment_org.connection)

    assert run.status == PullStatus.FAILED and "not switched on" in run.message and not Appointment.objects.exists()
