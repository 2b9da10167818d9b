"""A member's unique identifier is a Salesforce id or nothing: mistypes and injection attempts
are refused on save (nothing stored), and an identifier stored before the check never reaches
SOQL unquoted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations import connections as svc
from integrations.models import SalesforceUserLink
from integrations.salesforce.ids import id_checksum, salesforce_id_problem
from integrations.user_links import user_link_set
from sync_engine.appointments.config_services import AppointmentSetupError, appointment_query_for
from sync_engine.appointments.models import AppointmentSettings

QUERY = "SELECT Id FROM i360__Appointment__c WHERE i360__Staff__c = :user_identifier"

INJECTIONS = [
    "' OR Name != '",
    "a0S000000000001' OR Id != '",
    "a0S00000000000\\'",
    "a0S0000000000%1",
    "a0S000000000001 OR",
    "a0S 00000000001",
]


@pytest.fixture
def conn(alice):
    return svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123", client_secret="s3cret-app",
                                 actor=alice.admin)


def test_fifteen_and_eighteen_character_ids_are_accepted_with_the_right_checksum():
    assert salesforce_id_problem("a0S000000000001") is None
    assert salesforce_id_problem("a0S000000000001" + id_checksum("a0S000000000001")) is None
    assert id_checksum("001A0000006Vm9r") == "IAC"  # Salesforce's own example: 001A0000006Vm9rIAC


@pytest.mark.parametrize(("value", "words"), [
    ("a0S00000000001", "15 or 18 characters; this one has 14"),
    ("a0S000000000001AA", "has 17"),
    ("a0S000000000001ZZZ", "checksum"),
    ("001a0000006Vm9rIAC", "checksum"),  # one letter's case changed: the checksum catches it
    ("a0S00000000-001", "letters A–Z"),
])
def test_malformed_ids_are_explained(value, words):
    assert words in salesforce_id_problem(value)


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_attempts_are_refused_and_nothing_is_stored(alice, conn, value):
    with pytest.raises(ValidationError) as error:
        user_link_set(connection=conn, user_id=alice.member.pk, unique_identifier=value)
    assert "unique_identifier" in error.value.message_dict
    assert not SalesforceUserLink.objects.exists()


def test_the_users_card_refuses_a_bad_identifier_and_saves_no_row(web_as, alice, conn):
    uid = alice.member.pk
    response = web_as(alice.admin).post(reverse("integrations:user_links", args=[conn.pk]), {
        f"u{alice.admin.pk}-unique_identifier": "a0S000000000002",
        f"u{uid}-unique_identifier": "a0S0000' OR '1'",  # 15 characters, not all letters and digits
    })
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved." in html and "only letters A–Z, a–z and digits" in html
    assert not SalesforceUserLink.objects.exists()


def test_an_identifier_stored_before_the_check_is_refused_before_any_query(alice, conn):
    AppointmentSettings.objects.create(connection=conn, enabled=True, soql=QUERY)
    SalesforceUserLink.objects.create(connection=conn, user=alice.member, unique_identifier="x' OR Id != '")
    with pytest.raises(AppointmentSetupError) as error:
        appointment_query_for(connection=conn, member=alice.member)
    assert error.value.code == "BAD_IDENTIFIER"


def test_a_valid_identifier_is_bound_as_a_quoted_literal(alice, conn):
    AppointmentSettings.objects.create(connection=conn, enabled=True, soql=QUERY)
    user_link_set(connection=conn, user_id=alice.member.pk, unique_identifier="  a0S000000000001 ")
    assert appointment_query_for(connection=conn, member=alice.member) == QUERY.replace(":user_identifier", "'a0S000000000001'")
