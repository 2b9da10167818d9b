"""Single vs multi-user sign-on against the emulator's demo org: the bound query, the client a
member's appointments are read with, Test query, and the settings save that refuses any problem."""

from __future__ import annotations

import pytest

from integrations.models import CredentialMode, SalesforceUserLink
from integrations.user_links import user_link_set
from sync_engine.appointments import config_services as svc
from sync_engine.appointments.models import AppointmentSettings


def _save_improveit(connection, actor):
    soql, mappings = svc.improveit_defaults()
    return svc.appointment_settings_save(connection=connection, enabled=True, soql=soql, field_mappings=mappings, actor=actor)


def test_the_improveit_setup_saves_against_the_real_describe(alice, admin_connected):
    settings = _save_improveit(admin_connected, alice.admin)
    settings.refresh_from_db()
    assert settings.enabled and "FROM i360__Appointment__c" in settings.soql
    targets = [m["target"] for m in settings.field_mappings]
    assert set(svc.ESSENTIAL_TARGETS) <= set(targets) and targets.count("address") == 4
    assert settings.updated_by == alice.admin


def test_single_sign_on_binds_the_members_identifier_and_reads_with_the_integration_client(alice, admin_connected, riley_staff_id):
    _save_improveit(admin_connected, alice.admin)
    user_link_set(connection=admin_connected, user_id=alice.member.pk, unique_identifier=riley_staff_id)
    query = svc.appointment_query_for(connection=admin_connected, member=alice.member)
    assert f"i360__Staff__c = '{riley_staff_id}'" in query
    client = svc.client_for_member(connection=admin_connected, member=alice.member)
    names = sorted(r["i360__Customer_Name__c"] for r in client.query(query)["records"])
    assert "Jordan Homeowner" in names and "Casey Client" in names


def test_a_member_without_identifier_or_from_another_tenant_gets_a_clear_error(alice, bob, admin_connected):
    with pytest.raises(svc.AppointmentSetupError) as error:
        svc.appointment_query_for(connection=admin_connected, member=alice.member)
    assert error.value.code == "NO_QUERY"
    _save_improveit(admin_connected, alice.admin)
    with pytest.raises(svc.AppointmentSetupError) as error:
        svc.appointment_query_for(connection=admin_connected, member=alice.member)
    assert error.value.code == "NO_IDENTIFIER" and "unique identifier" in error.value.message
    with pytest.raises(svc.AppointmentSetupError) as error:
        svc.client_for_member(connection=admin_connected, member=bob.member)
    assert error.value.code == "NOT_A_MEMBER"


def _per_user(connection):
    connection.credential_mode = CredentialMode.PER_USER
    connection.save(update_fields=["credential_mode"])
    return connection


def test_multi_user_logins_are_verified_with_the_security_token_and_stored_encrypted(alice, admin_connected, rep_login):
    _per_user(admin_connected)
    link = user_link_set(connection=admin_connected, user_id=alice.member.pk, username=rep_login["username"],
                         password=rep_login["password"], security_token=rep_login["security_token"])
    stored = bytes(SalesforceUserLink.objects.get(pk=link.pk).password_encrypted)
    assert stored and rep_login["password"].encode() not in stored and rep_login["security_token"].encode() not in stored
    # Clearing the username removes the login: no password is kept without it.
    user_link_set(connection=admin_connected, user_id=alice.member.pk, username="")
    link.refresh_from_db()
    assert link.username == "" and not link.password_encrypted


@pytest.mark.parametrize(("password", "token", "words"), [
    ("Demo-Rep-Pass-1", "", "INVALID_LOGIN"),          # the token is required
    ("Demo-Rep-Pass-1", "WrongToken000000000000", "INVALID_LOGIN"),
    ("wrong", "DemoRepToken00000000001", "INVALID_LOGIN"),
])
def test_a_refused_multi_user_login_saves_nothing(alice, admin_connected, rep_login, password, token, words):
    from django.core.exceptions import ValidationError

    _per_user(admin_connected)
    with pytest.raises(ValidationError) as error:
        user_link_set(connection=admin_connected, user_id=alice.member.pk, username=rep_login["username"],
                      password=password, security_token=token or None)
    assert words in " ".join(error.value.message_dict["password"])
    assert not SalesforceUserLink.objects.exists()


def test_a_login_of_another_org_is_refused(alice, admin_connected, emulator_reset):
    from django.core.exceptions import ValidationError

    _per_user(admin_connected)
    other = emulator_reset.sandbox["admin"]
    with pytest.raises(ValidationError) as error:
        user_link_set(connection=admin_connected, user_id=alice.member.pk, username=other["username"],
                      password=other["password"], security_token=other["security_token"])
    assert "WRONG_ORG" in str(error.value)


def test_multi_user_reads_in_the_members_own_session(alice, admin_connected, rep_login, riley_staff_id):
    from integrations.member_logins import member_login

    _save_improveit(admin_connected, alice.admin)
    _per_user(admin_connected)
    with pytest.raises(svc.AppointmentSetupError) as error:
        svc.client_for_member(connection=admin_connected, member=alice.member)
    assert error.value.code == "NO_CREDENTIALS"
    user_link_set(connection=admin_connected, user_id=alice.member.pk, username=rep_login["username"], password=rep_login["password"],
                  security_token=rep_login["security_token"], unique_identifier=riley_staff_id)
    grant = member_login(connection=admin_connected, username=rep_login["username"],
                         password_and_token=rep_login["password"] + rep_login["security_token"])
    assert grant.user_id[:15] == rep_login["id"][:15]
    client = svc.client_for_member(connection=admin_connected, member=alice.member)
    integration_client = svc.client_for(admin_connected)
    assert client.access_token != integration_client.access_token
    records = client.query(svc.appointment_query_for(connection=admin_connected, member=alice.member))["records"]
    assert {r["i360__Customer_Name__c"] for r in records} >= {"Jordan Homeowner", "Casey Client"}


def test_test_query_runs_with_limit_10_as_the_chosen_member(alice, admin_connected, riley_staff_id):
    soql, _ = svc.improveit_defaults()
    user_link_set(connection=admin_connected, user_id=alice.member.pk, unique_identifier=riley_staff_id)
    preview = svc.appointment_query_test(connection=admin_connected, member=alice.member, soql=soql + "\nLIMIT 500")
    assert preview.soql.endswith("LIMIT 10") and f"'{riley_staff_id}'" in preview.soql
    assert preview.columns[0] == "Id" and "i360__Staff__r.Name" in preview.columns
    staff_column = preview.columns.index("i360__Staff__r.Name")
    assert len(preview.rows) >= 2 and {row[staff_column] for row in preview.rows} == {"Riley Rep"}
    with pytest.raises(svc.AppointmentSetupError) as error:
        svc.appointment_query_test(connection=admin_connected, member=alice.admin, soql=soql)
    assert error.value.code == "NO_IDENTIFIER"
    with pytest.raises(svc.AppointmentSetupError) as error:
        svc.appointment_query_test(connection=admin_connected, member=alice.member, soql="SELECT Id FORM X")
    assert error.value.code == "BAD_QUERY" and "Line 1, column 11" in error.value.message


def _invalid(connection, soql, mappings):
    with pytest.raises(svc.AppointmentSettingsInvalid) as error:
        svc.appointment_settings_save(connection=connection, enabled=True, soql=soql, field_mappings=mappings, actor=None)
    assert not AppointmentSettings.objects.exists()
    return error.value.result


def test_mappings_must_be_selected_typed_right_and_cover_the_essentials(admin_connected):
    soql, mappings = svc.improveit_defaults()
    result = _invalid(admin_connected, soql, [*mappings, {"title": "Notes", "sf_field": "i360__Notes__c", "sf_type": "textarea",
                                                         "target": "notes", "show_in_notes": False}])
    assert result.row_errors[-1]["sf_field"] == "i360__Notes__c is not selected by the query: add it to the SELECT list."

    wrong_type = [dict(m, sf_type="string") if m["target"] == "starts_at" else m for m in mappings]
    result = _invalid(admin_connected, soql, wrong_type)
    assert "i360__Start__c is a datetime field in Salesforce" in [e for e in result.row_errors if e][0]["sf_type"]

    result = _invalid(admin_connected, soql, [m for m in mappings if m["target"] not in ("phone", "email")])
    assert result.general == ["Map the essentials: Phone, E-mail (SalesPro needs them for every appointment)."]

    twice = [*mappings, {"title": "Customer again", "sf_field": "i360__Staff__r.Name", "sf_type": "string", "target": "customer_name"}]
    result = _invalid(admin_connected, soql, twice)
    assert "already mapped in row 2" in result.row_errors[-1]["target"]


def test_the_query_is_checked_against_the_org_and_must_filter_by_user_in_single_sign_on(admin_connected):
    _, mappings = svc.improveit_defaults()
    result = _invalid(admin_connected, "SELECT Id, i360__Nope__c FROM i360__Appointment__c WHERE i360__Staff__c = :user_identifier", mappings)
    problem = result.check.problems[0]
    assert (problem.line, problem.column) == (1, 12) and "no field i360__Nope__c" in problem.message
    soql, _ = svc.improveit_defaults()
    result = _invalid(admin_connected, soql.replace("i360__Staff__c = :user_identifier AND ", ""), mappings)
    assert any("must filter by :user_identifier" in e for e in result.general)


def test_switching_off_with_no_query_saves_without_the_org(alice, conn_pending=None):
    from integrations import connections as connections_svc

    connection = connections_svc.connection_create(tenant=alice.tenant, name="Later", client_id="K", client_secret="S", actor=alice.admin)
    settings = svc.appointment_settings_save(connection=connection, enabled=False, soql="", field_mappings=[], actor=alice.admin)
    assert settings.pk and not settings.enabled
