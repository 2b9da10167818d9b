"""The services behind the People pages and the quote editor's "New person": contacts are
created, changed and added to a quote with clear, field-keyed errors, and a refused write
leaves nothing behind."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from opportunities.models import Contact
from opportunities.services import contact_create
from proposals import quote_services
from proposals.services import contact_update

pytestmark = pytest.mark.django_db


def test_a_contact_is_created_with_its_fields_trimmed(alice, department_factory):
    company = department_factory(alice.tenant, "Transport Canada")
    person = contact_create(tenant=alice.tenant, first_name="  Pat ", last_name=" Lee ", email=" pat@tc.gc.ca ",
                            department=company)
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.email, person.department) == ("Pat", "Lee", "pat@tc.gc.ca", company)


@pytest.mark.parametrize("fields, key, message", [
    ({"last_name": ""}, "last_name", "cannot be blank"),
    ({"last_name": "   "}, "last_name", "cannot be blank"),
    ({"last_name": "Lee", "email": "not-an-address"}, "email", "valid email"),
    ({"last_name": "x" * 81}, "last_name", "at most 80 characters"),
    ({"last_name": "Lee", "phone": "1" * 41}, "phone", "at most 40 characters"),
    ({"last_name": "Lee", "job_title": "x" * 129}, "job_title", "at most 128 characters"),
])
def test_a_bad_contact_is_refused_with_a_field_error_and_nothing_is_written(alice, fields, key, message):
    with pytest.raises(ValidationError) as caught:
        contact_create(tenant=alice.tenant, **fields)
    assert any(message in text for text in caught.value.message_dict[key])
    assert Contact.objects.count() == 0


def test_a_contact_cannot_join_another_tenants_company(alice, bob, department_factory):
    theirs = department_factory(bob.tenant, "Their department")
    with pytest.raises(PermissionError):
        contact_create(tenant=alice.tenant, last_name="Lee", department=theirs)
    mine = contact_create(tenant=alice.tenant, last_name="Lee")
    with pytest.raises(PermissionError):
        contact_update(tenant=alice.tenant, contact=mine, data={"department": theirs})
    mine.refresh_from_db()
    assert Contact.objects.count() == 1 and mine.department is None


@pytest.mark.parametrize("data, key", [
    ({"last_name": "  "}, "last_name"),
    ({"email": "pat@"}, "email"),
    ({"nickname": "P"}, "nickname"),
])
def test_a_bad_contact_change_is_refused_and_the_contact_stays(alice, data, key):
    person = contact_create(tenant=alice.tenant, first_name="Pat", last_name="Lee", email="pat@example.gc.ca")
    with pytest.raises(ValidationError) as caught:
        contact_update(tenant=alice.tenant, contact=person, data=data)
    assert key in caught.value.message_dict
    stored = Contact.objects.get()
    assert (stored.first_name, stored.last_name, stored.email) == ("Pat", "Lee", "pat@example.gc.ca")


def test_a_new_person_joins_the_quotes_company_and_the_quote_is_addressed_to_them(alice, department_factory):
    company = department_factory(alice.tenant, "Shared Services Canada")
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting", company=company)
    quote = quote_services.quote_person_create(tenant=alice.tenant, quote=quote, first_name="Sam", last_name="Roy",
                                               email="sam.roy@ssc.gc.ca", job_title="Buyer")
    quote.refresh_from_db()
    assert (str(quote.person), quote.person.department, quote.person.email) == ("Sam Roy", company, "sam.roy@ssc.gc.ca")


def test_a_new_person_on_a_quote_without_company_has_none(alice):
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting")
    quote = quote_services.quote_person_create(tenant=alice.tenant, quote=quote, last_name="Roy")
    assert quote.person.department is None and quote.company is None


@pytest.mark.parametrize("fields, key", [
    ({"last_name": ""}, "last_name"),
    ({"last_name": "Roy", "email": "nope"}, "email"),
    ({"last_name": "Roy", "department": None}, "department"),  # the quote's company, never another
])
def test_a_refused_new_person_writes_neither_the_person_nor_the_quote(alice, department_factory, fields, key):
    company = department_factory(alice.tenant, "Shared Services Canada")
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting", company=company)
    with pytest.raises(ValidationError) as caught:
        quote_services.quote_person_create(tenant=alice.tenant, quote=quote, **fields)
    assert key in caught.value.message_dict
    quote.refresh_from_db()
    assert Contact.objects.count() == 0 and quote.person is None


def test_a_new_person_cannot_be_added_to_another_tenants_quote(alice, bob):
    theirs = quote_services.quote_create(tenant=bob.tenant, title="Theirs")
    with pytest.raises(PermissionError):
        quote_services.quote_person_create(tenant=alice.tenant, quote=theirs, last_name="Roy")
    assert Contact.objects.count() == 0
