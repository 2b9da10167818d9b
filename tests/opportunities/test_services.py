import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from opportunities.models import AnalysisStatus, Opportunity
from opportunities.services import (
    DUPLICATE_REFERENCE_MESSAGE,
    analysis_complete,
    analysis_create,
    comment_create,
    department_get_or_create,
    opportunity_create,
    opportunity_update,
    requirement_add,
)


def test_it_creates_an_opportunity_with_all_seed_fields(alice, department_factory):
    department = department_factory(alice.tenant, "Health Canada")
    opportunity = opportunity_create(
        tenant=alice.tenant, title="Lab equipment", reference="W1-1/A", value_min=Decimal("10"), value_max=Decimal("20"),
        closing_date=datetime.date(2027, 1, 31), department=department, status="pursuing", category="goods",
        procurement_method="rfq", location="Ontario", unspsc_code="41100000", compliance_score=80,
        pursuit_decision="pursue", win_probability=40, assignee=alice.member, description="x",
    )
    opportunity.refresh_from_db()
    assert (opportunity.reference, opportunity.department.name, opportunity.status) == ("W1-1/A", "Health Canada", "pursuing")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"title": ""}, "title"),
        ({"value_min": Decimal("500"), "value_max": Decimal("100")}, "value_max"),
        ({"status": "bogus"}, "status"),
        ({"reference": "R" * 51}, "reference"),
        ({"compliance_score": 101}, "compliance_score"),
        ({"value_min": Decimal("-1")}, "value_min"),
    ],
)
def test_it_rejects_bad_opportunity_data_with_field_errors_and_writes_nothing(alice, data, field):
    base = {"title": "Valid", "reference": "REF-1"}
    base.update(data)
    with pytest.raises(ValidationError) as exc:
        opportunity_create(tenant=alice.tenant, **base)
    assert field in exc.value.message_dict
    assert Opportunity.objects.count() == 0


def test_it_rejects_a_duplicate_reference_in_the_same_tenant_only(alice, bob):
    opportunity_create(tenant=alice.tenant, title="A", reference="DUP-1")
    with pytest.raises(ValidationError) as exc:
        opportunity_create(tenant=alice.tenant, title="B", reference="DUP-1")
    assert "reference" in str(exc.value.message_dict) or "__all__" in exc.value.message_dict
    opportunity_create(tenant=bob.tenant, title="B", reference="DUP-1")
    assert Opportunity.objects.filter(reference="DUP-1").count() == 2


def test_it_refuses_another_tenants_department(alice, bob, department_factory):
    foreign = department_factory(bob.tenant, "Parks Canada")
    with pytest.raises(PermissionError):
        opportunity_create(tenant=alice.tenant, title="X", reference="X-1", department=foreign)


def test_it_refuses_to_update_another_tenants_opportunity(alice, bob, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    with pytest.raises(PermissionError):
        opportunity_update(tenant=bob.tenant, opportunity=opportunity, data={"title": "stolen"})
    opportunity.refresh_from_db()
    assert opportunity.title != "stolen"


def test_completing_an_analysis_rolls_results_up_to_the_opportunity(alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    analysis = analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="s")
    requirement_add(tenant=alice.tenant, analysis=analysis, text="Must hold DOS", kind="mandatory")
    opportunity.refresh_from_db()
    assert opportunity.analysis_status == AnalysisStatus.IN_PROGRESS
    analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=85)
    opportunity.refresh_from_db()
    assert (opportunity.compliance_score, opportunity.analysis_status) == (85, AnalysisStatus.COMPLETE)
    assert opportunity.last_analyzed_at is not None
    with pytest.raises(ValidationError):
        analysis_complete(tenant=alice.tenant, analysis=analysis)


def test_it_rejects_an_empty_comment(alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    with pytest.raises(ValidationError):
        comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="   ")


def test_department_get_or_create_matches_names_case_insensitively(alice):
    first = department_get_or_create(tenant=alice.tenant, name="Transport Canada")
    again = department_get_or_create(tenant=alice.tenant, name="transport canada")
    assert first.pk == again.pk
    other = department_get_or_create(tenant=alice.tenant, name="Transport Canada Marine")
    assert other.key != first.key


@pytest.mark.parametrize("data, event, field", [
    ({"status": "analyzing"}, "updated", "status"),
    ({"assignee": "member"}, "updated", "assignee"),
    ({"status": "submitted"}, "submitted", "status"),
])
def test_an_update_is_queued_as_a_vocabulary_event_with_its_changed_fields(alice, opportunity_factory, data, event, field):
    from integrations.models import ConnectionStatus, SalesforceConnection
    from sync_engine.models import ChangeRecord
    from sync_engine.vocabulary import Event

    opportunity = opportunity_factory(alice.tenant)
    SalesforceConnection.objects.create(tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com",
                                        is_default=True, push_enabled=True, status=ConnectionStatus.CONNECTED)
    data = {k: alice.member if v == "member" else v for k, v in data.items()}
    opportunity_update(tenant=alice.tenant, opportunity=opportunity, data=data)
    change = ChangeRecord.objects.filter(record_type="opportunity", record_id=opportunity.pk).latest("id")
    assert change.event == event and change.event in Event.values
    assert field in change.fields


# --- the batch service of the pull ------------------------------------------------------------

def test_the_salesforce_batch_saves_the_valid_ones_and_reports_the_others_by_field(alice, opportunity_factory, department_factory):
    from opportunities.services import opportunities_apply_from_salesforce
    from sync_engine.models import ChangeRecord

    good, submitted, negative, unchanged = (opportunity_factory(alice.tenant) for _ in range(4))
    department = department_factory(alice.tenant, "Transport Canada")
    ChangeRecord.objects.all().delete()
    result = opportunities_apply_from_salesforce(tenant=alice.tenant, origin="salesforce", origin_connection_id=7, updates=[
        (good, {"description": "Theirs", "department": department}),
        (submitted, {"status": "submitted"}),
        (negative, {"value_min": Decimal("-5"), "description": "Not saved"}),
        (unchanged, {"title": unchanged.title})])
    assert set(result.saved) == {good.pk, submitted.pk, unchanged.pk}
    assert set(result.errors[negative.pk].message_dict) == {"value_min"}
    assert good.description != "Theirs", "the given instances are left as they were"
    assert Opportunity.objects.get(pk=good.pk).department_id == department.pk
    assert Opportunity.objects.get(pk=negative.pk).description != "Not saved"
    assert sorted(ChangeRecord.objects.values_list("record_id", "event", "origin", "origin_connection_id")) == sorted([
        (good.pk, "updated", "salesforce", 7), (submitted.pk, "submitted", "salesforce", 7)])


def test_the_salesforce_batch_refuses_a_reference_in_use_or_taken_earlier_in_the_batch(alice, opportunity_factory):
    from opportunities.services import opportunities_apply_from_salesforce

    holder, first, second, swapper = (opportunity_factory(alice.tenant) for _ in range(4))
    result = opportunities_apply_from_salesforce(tenant=alice.tenant, updates=[
        (first, {"reference": holder.reference}),
        (second, {"reference": "NEW-1"}), (swapper, {"reference": "NEW-1"})])
    assert set(result.saved) == {second.pk}
    assert result.errors[first.pk].message_dict == {"reference": [DUPLICATE_REFERENCE_MESSAGE]}
    assert result.errors[swapper.pk].message_dict == {"reference": [DUPLICATE_REFERENCE_MESSAGE]}
    assert Opportunity.objects.get(pk=second.pk).reference == "NEW-1"


def test_the_salesforce_batch_refuses_another_tenants_opportunity_or_department(alice, bob, opportunity_factory, department_factory):
    from opportunities.services import opportunities_apply_from_salesforce

    theirs = opportunity_factory(bob.tenant)
    with pytest.raises(PermissionError):
        opportunities_apply_from_salesforce(tenant=alice.tenant, updates=[(theirs, {"title": "Taken over"})])
    ours = opportunity_factory(alice.tenant)
    with pytest.raises(PermissionError):
        opportunities_apply_from_salesforce(tenant=alice.tenant, updates=[(ours, {"department": department_factory(bob.tenant)})])
    assert Opportunity.objects.get(pk=theirs.pk).title != "Taken over"


def test_the_salesforce_batch_refuses_unknown_fields(alice, opportunity_factory):
    from opportunities.services import opportunities_apply_from_salesforce

    opportunity = opportunity_factory(alice.tenant)
    result = opportunities_apply_from_salesforce(tenant=alice.tenant, updates=[(opportunity, {"salesforce_extra": {}})])
    assert result.errors[opportunity.pk].message_dict == {"salesforce_extra": ["Unknown field."]}


def test_each_changed_field_records_who_changed_it(alice, opportunity_factory):
    from opportunities.services import opportunities_apply_from_salesforce

    created = opportunity_create(tenant=alice.tenant, created_by=alice.admin, title="Authored", reference="AUTH-1")
    assert created.field_changed_by == {"title": alice.admin.pk, "reference": alice.admin.pk}
    opportunity_update(tenant=alice.tenant, opportunity=created, data={"description": "By the member"}, changed_by=alice.member)
    opportunity_update(tenant=alice.tenant, opportunity=created, data={"location": "Yukon"})  # no one signed in
    created.refresh_from_db()
    assert created.field_changed_by == {"title": alice.admin.pk, "reference": alice.admin.pk,
                                        "description": alice.member.pk, "location": None}
    # A change pulled from Salesforce has no Cothon author.
    opportunities_apply_from_salesforce(tenant=alice.tenant, updates=[(created, {"description": "From Salesforce"})])
    created.refresh_from_db()
    assert created.field_changed_by["description"] is None and created.field_changed_by["title"] == alice.admin.pk
