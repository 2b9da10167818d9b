"""Making a quote from an opportunity: its company (Account → department: link, department key,
name, else created) and person (Contact → contact: link, e-mail, name within the company, else
created), the settings' field mappings (a bad value skipped with a logged reason, the quote
still made), one query per batch of opportunities."""

from __future__ import annotations

import pytest

from opportunities.models import Contact, Department
from opportunities.services import contact_create, department_create
from proposals.models import Quote
from sync_engine.models import SyncLink, SyncLog
from sync_engine.pull.apply import pull_context
from sync_engine.quotes import inbound
from tests.quotes.conftest import account_id, contact_id, make_opportunity

pytestmark = pytest.mark.django_db


def make_quote(connected, quote_settings, opportunity_id: str) -> inbound.Outcome:
    ctx = pull_context(connection=connected, settings=None, source="quotes")
    record = inbound.opportunities_read(ctx, quote_settings, [opportunity_id])[opportunity_id]
    outcome = inbound.quote_from_opportunity(ctx=ctx, quote_settings=quote_settings, record=record)
    ctx.flush()
    return outcome


def test_the_company_is_matched_by_the_accounts_link_first(alice, connected, quote_settings, sf):
    department = department_create(tenant=alice.tenant, name="PSPC (linked)")
    SyncLink.objects.create(tenant=alice.tenant, connection=connected, record_type="department", record_id=department.pk,
                            sobject="Account", salesforce_id=account_id(sf), status="synced")
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal"))
    assert outcome.result == "created" and outcome.quote.company == department
    assert Department.objects.filter(tenant=alice.tenant).count() == 1


def test_the_company_is_matched_by_department_key_then_linked(alice, connected, quote_settings, sf):
    department = department_create(tenant=alice.tenant, name="Procurement (ours)")
    Department.objects.filter(pk=department.pk).update(key="pspc")  # the Account's Cothon_Department_Key__c
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal"))
    assert outcome.quote.company == department
    link = SyncLink.objects.get(connection=connected, record_type="department")
    assert (link.record_id, link.salesforce_id, link.matched_by) == (department.pk, account_id(sf), "external_id")


def test_the_company_is_matched_by_name_case_insensitively(alice, connected, quote_settings, sf):
    department = department_create(tenant=alice.tenant, name="public services and procurement canada")
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal"))
    assert outcome.quote.company == department and Department.objects.filter(tenant=alice.tenant).count() == 1


def test_a_missing_company_is_created_with_the_owner_as_related_user(alice, connected, quote_settings, sf):
    dnd = account_id(sf, "Department of National Defence")
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal", account=dnd))
    company = outcome.quote.company
    assert (company.name, company.related_user) == ("Department of National Defence", alice.member)
    assert SyncLink.objects.get(connection=connected, record_type="department", record_id=company.pk).salesforce_id == dnd


def test_a_person_is_matched_by_email_case_insensitively(alice, connected, quote_settings, sf):
    person = contact_create(tenant=alice.tenant, first_name="M.", last_name="Buyer", email="MORGAN.BUYER@example.com")
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal", contact=contact_id(sf)))
    assert outcome.quote.person == person and Contact.objects.filter(tenant=alice.tenant).count() == 1
    assert SyncLink.objects.get(connection=connected, record_type="contact").matched_by == "email"


def test_a_person_without_email_is_matched_by_name_within_the_company_only(alice, connected, quote_settings, sf):
    company = department_create(tenant=alice.tenant, name="Public Services and Procurement Canada")
    other = department_create(tenant=alice.tenant, name="Elsewhere")
    contact_create(tenant=alice.tenant, first_name="Riley", last_name="Chen", department=other)
    ours = contact_create(tenant=alice.tenant, first_name="riley", last_name="CHEN", department=company)
    riley = sf.Contact.create({"FirstName": "Riley", "LastName": "Chen", "AccountId": account_id(sf)})["id"]
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal", contact=riley))
    assert outcome.quote.person == ours


def test_a_missing_person_is_created_in_the_company_with_the_owner_as_related_user(alice, connected, quote_settings, sf):
    contact_create(tenant=alice.tenant, first_name="Riley", last_name="Chen")  # same name, no company: not a match
    riley = sf.Contact.create({"FirstName": "Riley", "LastName": "Chen", "Email": "riley.chen@example.gc.ca",
                               "Title": "Procurement officer", "AccountId": account_id(sf)})["id"]
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal", contact=riley))
    person = outcome.quote.person
    assert (person.first_name, person.last_name, person.email, person.job_title) == (
        "Riley", "Chen", "riley.chen@example.gc.ca", "Procurement officer")
    assert person.department == outcome.quote.company and person.related_user == alice.member
    assert Contact.objects.filter(tenant=alice.tenant, last_name="Chen").count() == 2
    # The next quote of this Contact finds it by its link.
    second = make_quote(connected, quote_settings, make_opportunity(sf, name="Second", stage="Proposal", contact=riley))
    assert second.quote.person == person


def test_with_contact_to_person_off_the_quote_has_no_person_and_no_contact_is_made(alice, connected, quote_settings, sf):
    quote_settings.contact_to_person = False
    quote_settings.save()
    outcome = make_quote(connected, quote_settings, make_opportunity(sf, stage="Proposal", contact=contact_id(sf)))
    assert outcome.quote.person is None and not Contact.objects.filter(tenant=alice.tenant).exists()


def test_field_mappings_set_the_quote_and_a_bad_value_is_skipped_with_a_logged_reason(alice, connected, quote_settings, sf):
    quote_settings.field_mappings = [{"sf_field": "Description", "target": "notes"},
                                     {"sf_field": "CloseDate", "target": "valid_until"},
                                     {"sf_field": "NextStep", "target": "currency"}]
    quote_settings.save()
    opportunity = make_opportunity(sf, stage="Proposal", Description="Three translators, 12 months.", NextStep="Call buyer")
    outcome = make_quote(connected, quote_settings, opportunity)
    quote = Quote.objects.get(pk=outcome.quote.pk)
    assert quote.notes == "Three translators, 12 months." and str(quote.valid_until) == "2031-05-14"
    assert quote.currency == "CAD"  # "Call buyer" is no currency: skipped, the default kept
    skipped = SyncLog.objects.get(connection=connected, record_type="quote", operation="map")
    assert skipped.result == "skipped" and skipped.error_code == "INVALID_VALUE" and "Call buyer" in skipped.error_message
    assert skipped.record_id == quote.pk


def test_a_custom_quote_field_mapping_goes_through_proposals_validation(alice, connected, quote_settings, sf):
    from proposals.models import QuoteCustomField

    QuoteCustomField.objects.create(tenant=alice.tenant, label="Salesforce id", key="sf_id", field_type="text")
    QuoteCustomField.objects.create(tenant=alice.tenant, label="Size", key="size", field_type="dropdown", options=["S", "M"])
    quote_settings.field_mappings = [{"sf_field": "Id", "target": "custom:sf_id"}, {"sf_field": "Name", "target": "custom:size"}]
    quote_settings.save()
    opportunity = make_opportunity(sf, stage="Proposal")
    quote = Quote.objects.get(pk=make_quote(connected, quote_settings, opportunity).quote.pk)
    assert quote.custom_values == {"sf_id": opportunity}
    assert "size" in SyncLog.objects.get(connection=connected, operation="map").error_message


def test_one_query_reads_a_batch_of_opportunities_with_accounts_and_contacts(connected, quote_settings, sf):
    ids = [make_opportunity(sf, name=f"Batch {n}", stage="Proposal", contact=contact_id(sf)) for n in range(3)]
    ctx = pull_context(connection=connected, settings=None, source="quotes")
    inbound.opportunities_read(ctx, quote_settings, ids)  # describes cached by the first read
    ctx.calls = 0
    found = inbound.opportunities_read(ctx, quote_settings, ids)
    assert ctx.calls == 1 and set(found) == set(ids)
    assert all(r["Account"]["Name"] and r["OpportunityContactRoles"]["records"] for r in found.values())
