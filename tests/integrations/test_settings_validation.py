"""Settings validation against a real Opportunity describe (CumulusCI capture) extended with
the Cothon custom fields, as an org with the Cothon fields installed would describe them."""

import copy
import json
from pathlib import Path

import pytest

from integrations.mapping.defaults import default_settings
from integrations.mapping.validation import validate_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"
BASE = json.loads((FIXTURES / "Opportunity_describe.json").read_text())


def _field(name, type_, length=0, values=(), restricted=False, createable=True, updateable=True):
    return {"name": name, "type": type_, "length": length, "createable": createable, "updateable": updateable,
            "restrictedPicklist": restricted, "referenceTo": [],
            "picklistValues": [{"value": v, "label": v, "active": True} for v in values]}


def org_describe(*, stages=None, extra_fields=()):
    payload = copy.deepcopy(BASE)
    for f in payload["fields"]:
        if f["name"] == "StageName" and stages is not None:
            f["picklistValues"] = [{"value": v, "label": v, "active": True} for v in stages]
        if f["name"] == "Type":
            f["picklistValues"] = [{"value": v, "label": v, "active": True} for v in ("New Business", "Existing Business", "Services")]
    payload["fields"] += [
        _field("Cothon_Ref__c", "string", 50), _field("Cothon_Full_Title__c", "string", 255),
        _field("Cothon_Max_Value__c", "currency"),
        _field("Cothon_Method__c", "picklist", 255, ["RFP", "RFQ", "Standing Offer", "Supply Arrangement", "Task Authorization"], True),
        _field("Cothon_Location__c", "string", 100), _field("Cothon_UNSPSC__c", "string", 20),
        _field("Cothon_Compliance__c", "percent"),
        _field("Cothon_Pursuit__c", "picklist", 255, ["Pursue", "Pass", "Review Needed"], True),
        _field("Cothon_Analysis_Status__c", "picklist", 255, ["Not Started", "In Progress", "Complete"], True),
        _field("Cothon_Last_Analysis__c", "datetime"), _field("Cothon_Source__c", "string", 100),
        _field("Cothon_Url__c", "url", 255), *extra_fields,
    ]
    return payload


DEMO_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]


def describe_of(payload):
    return lambda sobject: payload if sobject == "Opportunity" else None


def paths(report):
    return {issue.path for issue in report.errors}


def test_the_default_settings_are_valid_for_the_demo_org():
    report = validate_settings(default_settings(), describe_of(org_describe(stages=DEMO_STAGES)))
    assert report.ok, report.errors
    assert any("Cothon_Full_Title__c" in w.message for w in report.warnings)  # Name is 120 < 255


def test_default_stages_do_not_exist_in_an_org_with_the_standard_stage_list():
    report = validate_settings(default_settings(), describe_of(org_describe()))
    assert {"stage_mapping.pursuing", "stage_mapping.submitted"} <= paths(report)
    assert "stage_mapping.identified" not in paths(report)  # Prospecting exists in both


def test_an_unknown_field_is_refused_with_the_reason():
    data = default_settings()
    data["opportunity_mappings"][9]["sf_field"] = "Cothon_Locaton__c"  # typo
    report = validate_settings(data, describe_of(org_describe(stages=DEMO_STAGES)))
    [issue] = [i for i in report.errors if i.path == "opportunity_mappings[9].sf_field"]
    assert "does not exist" in issue.message and "field-level security" in issue.message


def test_a_read_only_field_is_refused_when_pushing_but_fine_for_pull_only():
    data = default_settings()
    data["opportunity_mappings"][13]["sf_field"] = "ExpectedRevenue"  # win probability → a calculated field
    data["opportunity_mappings"][13]["cothon_field"] = "compliance_score"
    data["opportunity_mappings"][11]["sf_field"] = "Cothon_UNSPSC_Extra__c"
    describe = describe_of(org_describe(stages=DEMO_STAGES, extra_fields=[_field("Cothon_UNSPSC_Extra__c", "string", 20)]))
    report = validate_settings(data, describe)
    assert any("read-only" in i.message for i in report.errors if i.path == "opportunity_mappings[13].sf_field")
    data["direction"] = "pull"
    assert not any("read-only" in i.message for i in validate_settings(data, describe).errors)


def test_a_bad_picklist_value_in_a_restricted_picklist_is_refused():
    data = default_settings()
    data["picklist_maps"]["pursuit_decision"]["review"] = "Review"  # the org has "Review Needed"
    report = validate_settings(data, describe_of(org_describe(stages=DEMO_STAGES)))
    [issue] = [i for i in report.errors if i.path == "picklist_maps.pursuit_decision.review"]
    assert "“Review” is not a value of Cothon_Pursuit__c" in issue.message


def test_duplicate_stages_are_refused_because_the_mapping_is_one_to_one():
    data = default_settings()
    data["stage_mapping"]["submitted"] = "Proposal"
    report = validate_settings(data, None)
    [issue] = [i for i in report.errors if i.path == "stage_mapping.submitted"]
    assert "1:1" in issue.message


def test_incompatible_types_and_short_fields_are_refused():
    data = default_settings()
    data["opportunity_mappings"][10]["sf_field"] = "Cothon_Due__c"  # UNSPSC text → a date field
    data["opportunity_mappings"][9]["sf_field"] = "Cothon_Short__c"  # location (100) → Text(40)
    describe = describe_of(org_describe(stages=DEMO_STAGES, extra_fields=[
        _field("Cothon_Short__c", "string", 40), _field("Cothon_Due__c", "date")]))
    report = validate_settings(data, describe)
    messages = {i.path: i.message for i in report.errors}
    assert "cannot be written to Cothon_Due__c, a date field" in messages["opportunity_mappings[10].sf_field"]
    assert "holds 40 characters" in messages["opportunity_mappings[9].sf_field"]


def test_locked_mappings_cannot_be_changed_or_removed():
    data = default_settings()
    data["opportunity_mappings"][0]["sf_field"] = "Description"
    del data["opportunity_mappings"][1]  # reference → Cothon_Ref__c
    report = validate_settings(data, None)
    assert any("not customizable" in i.message for i in report.errors)
    assert any("Reference number → Cothon_Ref__c is required" in i.message for i in report.errors)


@pytest.mark.parametrize("mutate, path", [
    (lambda d: d.update(direction="sideways"), "direction"),
    (lambda d: d["frequencies"].update(incremental_minutes=1), "frequencies.incremental_minutes"),
    (lambda d: d["frequencies"].update(daily_full_at="25:00"), "frequencies.daily_full_at"),
    (lambda d: d["filters"].update(min_value="lots"), "filters.min_value"),
    (lambda d: d["filters"].update(statuses=["dreaming"]), "filters.statuses"),
    (lambda d: d["activity"].update(mode="emails"), "activity.mode"),
    (lambda d: d.update(bulk_threshold=0), "bulk_threshold"),
    (lambda d: d["conflict_rules"].update(Amount="coin_toss"), "conflict_rules.Amount"),
])
def test_malformed_settings_are_refused_with_the_field_path(mutate, path):
    data = default_settings()
    mutate(data)
    assert path in paths(validate_settings(data, None))


# --- a custom opportunity object: required fields come from its describe ----------------------------

def _bid_describe(*extra):
    fields = [{**_field("Name", "string", 80), "nillable": False}, _field("Cothon_Ref__c", "string", 50),
              _field("Cothon_Location__c", "string", 100), *extra]
    return {"name": "Bid__c", "fields": fields}


def _bid_settings():
    data = default_settings()
    data["objects"]["opportunity"] = "Bid__c"
    data["opportunity_mappings"] = [m for m in data["opportunity_mappings"] if m["cothon_field"] in ("title", "reference", "location")]
    return data


def test_a_custom_opportunity_object_without_amount_or_close_date_is_valid():
    report = validate_settings(_bid_settings(), lambda sobject: _bid_describe() if sobject == "Bid__c" else None)
    assert report.ok, report.errors


def test_a_required_field_of_the_custom_object_must_be_mapped():
    required = {**_field("Bid_Code__c", "string", 20), "nillable": False}
    report = validate_settings(_bid_settings(), lambda sobject: _bid_describe(required) if sobject == "Bid__c" else None)
    assert [issue.message for issue in report.errors] == [
        "Bid__c.Bid_Code__c is required in this org: map a Cothon field to it (and send it), or Salesforce refuses every new record."]


def test_the_standard_opportunity_still_needs_its_amount_and_close_date_mappings():
    data = default_settings()
    data["opportunity_mappings"] = [m for m in data["opportunity_mappings"] if m["cothon_field"] not in ("value", "closing_date")]
    messages = [issue.message for issue in validate_settings(data, None).errors]
    assert any("Amount" in m for m in messages) and any("CloseDate" in m for m in messages)


def test_the_name_and_external_id_mappings_stay_required_on_a_custom_object():
    data = _bid_settings()
    data["opportunity_mappings"] = [m for m in data["opportunity_mappings"] if m["cothon_field"] != "reference"]
    assert any("Cothon_Ref__c is required" in issue.message for issue in validate_settings(data, None).errors)
