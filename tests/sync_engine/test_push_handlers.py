"""The push's handler registry and the payload fixes of issue 16, against the emulator: unknown
record types fail visibly, the dry run is what the push sends, cleared fields become null,
too-long text is refused or split, dates follow the tenant's zone, configured objects and
record types are used, opportunity team members, and submitted proposals."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sync_engine.dry_run import dry_run
from integrations.mapping import activity as activity_mapping, opportunity as opportunity_mapping
from integrations.mapping.common import MappingContext
from integrations.sync_settings import settings_current, settings_save
from opportunities import services as opp
from sync_engine.executor import push_connection
from sync_engine.handlers.registry import HANDLERS
from sync_engine.fanout import fan_out_pending
from sync_engine.models import LinkStatus, OutboxEntry, SyncLink, SyncLog
from sync_engine.outbox import record_change
from sync_engine.vocabulary import Event, RecordType


def sf_records(emulator, soql):
    return emulator.sf().query_all(soql)["records"]


def _settings(connection, actor, **changes):
    data = settings_current(connection=connection)
    for key, value in changes.items():
        data[key] = value
    settings_save(connection=connection, data=data, actor=actor, against_org=False)
    return data


def _tooling(emulator, kind: str, body: dict) -> None:
    admin = emulator.session(token=emulator.token("demo", emulator.demo["admin"]["username"]))
    response = admin.post(f"{emulator.api()}/tooling/sobjects/{kind}", json=body)
    assert response.status_code == 201, response.text


# --- the registry -------------------------------------------------------------------------------

def test_handlers_run_parents_before_children():
    assert list(HANDLERS) == [RecordType.DEPARTMENT, RecordType.CONTACT, RecordType.OPPORTUNITY, RecordType.ANALYSIS, RecordType.REQUIREMENT,
                              RecordType.COMMENT, RecordType.PROPOSAL]


def test_a_record_type_without_a_handler_is_a_logged_failure_not_silently_done(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    record_change(tenant=alice.tenant, record_type=RecordType.QUOTE, record_id=4242, event=Event.CREATED)
    OutboxEntry.objects.create(tenant=alice.tenant, connection=connected, record_type="gizmo", record_id=7, event="created",
                               changed_fields=[], priority=1, available_at=opportunity.created_at)
    summary = push_connection(connection_id=connected.pk)
    assert (summary.succeeded, summary.failed) == (1, 2), summary
    assert set(OutboxEntry.objects.values_list("record_type", "state")) == {("quote", "failed"), ("gizmo", "failed")}
    quote_log = SyncLog.objects.get(record_type="quote")
    assert (quote_log.result, quote_log.error_code, quote_log.record_id) == ("failed", "UNSUPPORTED_RECORD_TYPE", 4242)
    assert "does not send quote records" in quote_log.error_message and quote_log.hint
    garbage = SyncLog.objects.get(record_type="gizmo")
    assert garbage.result == "failed" and "Unknown record type" in garbage.error_message
    assert SyncLink.objects.get(record_type="opportunity").status == LinkStatus.SYNCED  # the rest of the batch landed


def test_a_contact_is_settled_as_skipped_with_the_reason(alice, connected, emulator_reset):
    contact = opp.contact_create(tenant=alice.tenant, last_name="Tremblay")
    summary = push_connection(connection_id=connected.pk)
    assert (summary.succeeded, summary.failed) == (1, 0)
    log = SyncLog.objects.get(record_type="contact", record_id=contact.pk)
    assert log.result == "skipped" and "not sent to Salesforce" in log.error_message


# --- one payload for the dry run and the push ---------------------------------------------------

def _same(dry_value, sf_value):
    if isinstance(dry_value, str) and len(dry_value) == 18 and isinstance(sf_value, str):
        return dry_value[:15] == sf_value[:15]
    if isinstance(dry_value, str) and dry_value.endswith("Z") or (isinstance(dry_value, str) and "T" in dry_value and "+" in dry_value):
        return datetime.datetime.fromisoformat(dry_value.replace("Z", "+00:00")) == \
            datetime.datetime.fromisoformat(sf_value.replace("Z", "+00:00").replace("+0000", "+00:00"))
    if isinstance(dry_value, (int, float)) and isinstance(sf_value, (int, float)):
        return float(dry_value) == float(sf_value)
    return dry_value == sf_value


def test_the_dry_runs_analysis_and_requirements_are_what_the_push_sends(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, reference="EN578-170432/A")
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Strong fit", key_findings="Incumbent\nTight timeline",
                                   risks="Pricing")
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, code="M1", text="Hold a DOS", kind="mandatory", capability_match="met")
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, code="R2", text="Methodology", kind="rated", weight=Decimal("15"))
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=77, recommendation="Pursue with partner")
    assert push_connection(connection_id=connected.pk).failed == 0
    planned = dry_run(connection=connected, opportunity=opportunity).writes
    writes = {w.sobject: [] for w in planned}
    for w in planned:
        writes[w.sobject].append(w)
    [analysis_write] = writes["Cothon_Analysis__c"]
    assert analysis_write.fields["Name"] == "Analysis — EN578-170432/A" and analysis_write.fields["Cothon_Status__c"] == "Complete"
    columns = ", ".join(analysis_write.fields)
    [sent] = sf_records(emulator_reset, f"SELECT {columns} FROM Cothon_Analysis__c WHERE Cothon_Key__c = 'analysis-{analysis.pk}'")
    for name, value in analysis_write.fields.items():
        assert _same(value, sent[name]), (name, value, sent[name])
    assert len(writes["Cothon_Requirement__c"]) == 2
    for requirement_write in writes["Cothon_Requirement__c"]:
        columns = ", ".join(requirement_write.fields)
        [sent] = sf_records(emulator_reset, f"SELECT {columns} FROM Cothon_Requirement__c "
                                            f"WHERE Cothon_Key__c = '{requirement_write.external_id}'")
        for name, value in requirement_write.fields.items():
            assert _same(value, sent[name]), (name, value, sent[name])


# --- clearing a field clears it in Salesforce ---------------------------------------------------

CLEARED = {"value_max": None, "pursuit_decision": "", "description": "", "location": ""}


def test_clearing_mapped_fields_in_cothon_clears_them_in_salesforce(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, value_min=Decimal("100000"), value_max=Decimal("300000"), pursuit_decision="pursue",
                                      description="Long story", location="Ontario")
    push_connection(connection_id=connected.pk)
    query = f"SELECT Amount, Cothon_Max_Value__c, Cothon_Pursuit__c, Description, Cothon_Location__c FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'"
    [before] = sf_records(emulator_reset, query)
    assert (before["Cothon_Max_Value__c"], before["Cothon_Pursuit__c"], before["Description"]) == (300000, "Pursue", "Long story")
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data=CLEARED)
    assert push_connection(connection_id=connected.pk).failed == 0
    [after] = sf_records(emulator_reset, query)
    assert after == {**after, "Cothon_Max_Value__c": None, "Cothon_Pursuit__c": None, "Description": None, "Cothon_Location__c": None}
    assert after["Amount"] == 100000  # the one value left


def test_empty_fields_are_left_out_of_a_first_write_and_sent_as_null_once_linked(alice, opportunity_factory):
    from integrations.settings_schema import SyncSettings

    opportunity = opportunity_factory(alice.tenant, description="", win_probability=None)
    ctx = MappingContext(settings=SyncSettings())
    first = opportunity_mapping.to_salesforce(opportunity, ctx, linked=False)
    assert "Description" not in first.fields and ("Description", "Empty in Cothon.") in first.skipped
    assert "Probability" not in first.fields  # Salesforce's default from the stage stays
    later = opportunity_mapping.to_salesforce(opportunity, ctx, linked=True)
    assert later.fields["Description"] is None and later.fields["Probability"] is None
    assert any("sent as null" in note for note in later.notes)


def test_a_bulk_run_clears_fields_with_na_and_leaves_other_columns_alone(alice, connected, emulator_reset, opportunity_factory):
    from sync_engine.services import sync_now_start, sync_run_execute_inline

    _settings(connected, alice.admin, bulk_threshold=3)
    cleared = opportunity_factory(alice.tenant, description="To be cleared", pursuit_decision="pass")
    others = [opportunity_factory(alice.tenant, description=f"Kept {n}") for n in range(3)]
    push_connection(connection_id=connected.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=cleared, data={"description": "", "pursuit_decision": ""})
    OutboxEntry.objects.all().delete()
    run = sync_run_execute_inline(run=sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False))
    assert (run.succeeded, run.failed) == (4, 0)
    assert SyncLog.objects.filter(operation__startswith="bulk_").exists()
    rows = {r["Cothon_Ref__c"]: r for r in sf_records(emulator_reset, "SELECT Cothon_Ref__c, Description, Cothon_Pursuit__c FROM Opportunity")}
    assert (rows[cleared.reference]["Description"], rows[cleared.reference]["Cothon_Pursuit__c"]) == (None, None)
    assert [rows[o.reference]["Description"] for o in others] == ["Kept 0", "Kept 1", "Kept 2"]


# --- too long: refused or split, never cut ------------------------------------------------------

def test_a_value_longer_than_its_salesforce_field_fails_the_record_with_a_hint(alice, connected, emulator_reset, opportunity_factory):
    _tooling(emulator_reset, "CustomField", {"FullName": "Opportunity.Cothon_Short_Note__c",
                                             "Metadata": {"type": "Text", "label": "Short note", "length": 20}})
    data = settings_current(connection=connected)
    data["opportunity_mappings"] = [m for m in data["opportunity_mappings"] if m["cothon_field"] != "description"]
    data["opportunity_mappings"].append({"cothon_field": "description", "sf_field": "Cothon_Short_Note__c", "locked": False})
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)
    fits = opportunity_factory(alice.tenant, description="Short enough")
    long = opportunity_factory(alice.tenant, description="A description far longer than twenty characters")
    summary = push_connection(connection_id=connected.pk)
    assert (summary.succeeded, summary.failed) == (1, 1), summary
    log = SyncLog.objects.get(record_id=long.pk, result="failed")
    assert log.error_code == "VALUE_TOO_LONG" and "Cothon_Short_Note__c" in log.error_message and "holds 20" in log.error_message
    assert "Shorten it in Cothon" in log.hint
    link = SyncLink.objects.get(record_type="opportunity", record_id=long.pk)
    assert (link.status, link.last_error_code) == (LinkStatus.FAILED, "VALUE_TOO_LONG")
    assert not sf_records(emulator_reset, f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c = '{long.reference}'")  # not cut, not sent
    [sent] = sf_records(emulator_reset, f"SELECT Cothon_Short_Note__c FROM Opportunity WHERE Cothon_Ref__c = '{fits.reference}'")
    assert sent["Cothon_Short_Note__c"] == "Short enough"


def test_an_analysis_summary_longer_than_the_field_is_refused(alice, connected, emulator_reset, opportunity_factory):
    from opportunities.models import BidAnalysis

    opportunity = opportunity_factory(alice.tenant)
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Fit")
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=60)
    BidAnalysis.objects.filter(pk=analysis.pk).update(summary="x" * 40_000)  # imported before Cothon capped it
    push_connection(connection_id=connected.pk)
    log = SyncLog.objects.get(record_type="analysis", result="failed")
    assert log.error_code == "VALUE_TOO_LONG" and "Cothon_Summary__c is 40,000 characters" in log.error_message
    assert sf_records(emulator_reset, "SELECT Id FROM Cothon_Analysis__c") == []
    assert OutboxEntry.objects.get(record_type="analysis").state == "failed"


def test_a_comment_longer_than_a_note_is_split_into_numbered_notes(alice, connected, emulator_reset, opportunity_factory):
    from opportunities.models import Comment

    opportunity = opportunity_factory(alice.tenant)
    comment = opp.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="short")
    paragraph = ("Site visit findings and follow-ups for the bid team. " * 20).strip()
    body = "\n\n".join([paragraph] * 48)  # about 50,000 characters
    Comment.objects.filter(pk=comment.pk).update(body=body)
    push_connection(connection_id=connected.pk)
    push_connection(connection_id=connected.pk)
    notes = sorted(sf_records(emulator_reset, "SELECT Title, Body FROM Note"), key=lambda n: n["Title"])
    assert [n["Title"][-5:] for n in notes] == ["(1/2)", "(2/2)"]
    assert all(len(n["Body"]) <= 32_000 for n in notes)
    assert "\n\n".join(n["Body"] for n in notes) == body  # split at a paragraph: nothing lost
    logged = SyncLog.objects.filter(sobject="Note", record_type="comment", result="success")
    assert logged.count() == 2 and all("sent as 2 Notes" in log.error_message for log in logged)


# --- dates in the tenant's time zone ------------------------------------------------------------

def test_days_to_the_deadline_count_from_the_tenants_today_not_utcs():
    kiritimati = ZoneInfo("Pacific/Kiritimati")  # UTC+14
    now = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)  # already March 2 there
    assert activity_mapping.days_until(datetime.date(2026, 3, 4), now, kiritimati) == 2
    assert activity_mapping.days_until(datetime.date(2026, 3, 4), now, ZoneInfo("UTC")) == 3


def test_the_deadline_task_follows_the_tenants_time_zone(alice, connected, emulator_reset, opportunity_factory):
    from django.utils import timezone

    from sync_engine.services import deadline_reminders_queue

    alice.tenant.time_zone = "Pacific/Kiritimati"
    alice.tenant.save(update_fields=["time_zone"])
    local_today = timezone.now().astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    closing = local_today + datetime.timedelta(days=2)
    opportunity_factory(alice.tenant, title="Snow removal", closing_date=closing, status="pursuing")
    push_connection(connection_id=connected.pk)
    assert deadline_reminders_queue() == 1
    push_connection(connection_id=connected.pk)
    [task] = sf_records(emulator_reset, "SELECT Description, ActivityDate FROM Task WHERE Subject = 'Cothon: Submission Deadline Approaching'")
    assert task["Description"].startswith("Snow removal closes in 2 days") and task["ActivityDate"] == closing.isoformat()


# --- configured objects and record types --------------------------------------------------------

def _describe(*names):
    return {n.lower(): {"name": n, "type": "string", "length": 255} for n in names}


def test_the_configured_record_type_is_sent_when_the_org_has_record_types(alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    from dataclasses import replace

    from integrations.settings_schema import SyncSettings

    data = replace(SyncSettings(), record_type_id="012000000000AbCAAA")
    with_types = MappingContext(settings=data, describe_fields=_describe("Name", "Cothon_Ref__c", "CloseDate", "RecordTypeId"))
    assert opportunity_mapping.to_salesforce(opportunity, with_types).fields["RecordTypeId"] == "012000000000AbCAAA"
    without = MappingContext(settings=data, describe_fields=_describe("Name", "Cothon_Ref__c", "CloseDate"))
    planned = opportunity_mapping.to_salesforce(opportunity, without)
    assert "RecordTypeId" not in planned.fields and any(name == "RecordTypeId" for name, _ in planned.skipped)


def test_a_record_type_on_an_org_without_record_types_is_not_sent_and_the_push_succeeds(alice, connected, emulator_reset, opportunity_factory):
    _settings(connected, alice.admin, record_type_id="012000000000AbCAAA")
    opportunity_factory(alice.tenant)
    summary = push_connection(connection_id=connected.pk)
    assert (summary.succeeded, summary.failed) == (1, 0)


def test_a_custom_opportunity_object_with_custom_analysis_and_requirement_objects(alice, connected, emulator_reset, opportunity_factory):
    def obj(name, label, name_field=None):
        _tooling(emulator_reset, "CustomObject", {"FullName": name, "Metadata": {
            "label": label, "pluralLabel": label + "s", "nameField": name_field or {"type": "Text", "label": "Name"},
            "deploymentStatus": "Deployed", "sharingModel": "ReadWrite"}})

    def fld(full_name, **metadata):
        _tooling(emulator_reset, "CustomField", {"FullName": full_name, "Metadata": metadata})

    obj("Bid__c", "Bid")
    fld("Bid__c.Cothon_Ref__c", type="Text", label="Ref", length=50, externalId=True, unique=True)
    fld("Bid__c.Cothon_Location__c", type="Text", label="Location", length=100)
    obj("Bid_Review__c", "Bid Review")
    fld("Bid_Review__c.Bid__c", type="Lookup", label="Bid", referenceTo="Bid__c", relationshipName="Reviews")
    fld("Bid_Review__c.Cothon_Key__c", type="Text", label="Key", length=80, externalId=True, unique=True)
    fld("Bid_Review__c.Cothon_Compliance__c", type="Percent", label="Compliance", precision=5, scale=2)
    obj("Bid_Criterion__c", "Bid Criterion", {"type": "AutoNumber", "label": "Criterion", "displayFormat": "C-{0000}"})
    fld("Bid_Criterion__c.Review__c", type="MasterDetail", label="Review", referenceTo="Bid_Review__c", relationshipName="Criteria")
    fld("Bid_Criterion__c.Cothon_Key__c", type="Text", label="Key", length=80, externalId=True, unique=True)
    fld("Bid_Criterion__c.Cothon_Text__c", type="LongTextArea", label="Text", length=32768, visibleLines=3)
    data = settings_current(connection=connected)
    # The default mappings stay: fields the custom object does not have are skipped, by describe.
    data["objects"] = {**data["objects"], "opportunity": "Bid__c", "analysis": "Bid_Review__c", "requirement": "Bid_Criterion__c"}
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)

    opportunity = opportunity_factory(alice.tenant, title="Custom-object bid", location="Yukon")
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Fit")
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, code="M1", text="Hold a DOS", kind="mandatory")
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=90)
    opp.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="On a custom object")
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0, list(SyncLog.objects.filter(result="failed").values_list("sobject", "error_code", "error_message"))
    [bid] = sf_records(emulator_reset, f"SELECT Id, Name, Cothon_Location__c FROM Bid__c WHERE Cothon_Ref__c = '{opportunity.reference}'")
    assert (bid["Name"], bid["Cothon_Location__c"]) == ("Custom-object bid", "Yukon")
    [review] = sf_records(emulator_reset, "SELECT Id, Bid__c, Cothon_Compliance__c, (SELECT Cothon_Text__c FROM Criteria__r) FROM Bid_Review__c")
    assert review["Bid__c"][:15] == bid["Id"][:15] and review["Cothon_Compliance__c"] == 90
    assert [c["Cothon_Text__c"] for c in review["Criteria__r"]["records"]] == ["Hold a DOS"]
    [note] = sf_records(emulator_reset, "SELECT ParentId FROM Note")
    assert note["ParentId"][:15] == bid["Id"][:15]
    assert SyncLink.objects.get(record_type="opportunity").sobject == "Bid__c"
    assert SyncLink.objects.get(record_type="requirement").sobject == "Bid_Criterion__c"
    assert not sf_records(emulator_reset, "SELECT Id FROM Opportunity WHERE Name = 'Custom-object bid'")


# --- team members ------------------------------------------------------------------------------

def _map_member(emulator, connection, user):
    from integrations.user_links import user_link_set

    [sf_user] = sf_records(emulator, "SELECT Id FROM User WHERE Username LIKE 'rep@%' LIMIT 1")
    user_link_set(connection=connection, user_id=user.pk, salesforce_user_id=sf_user["Id"])
    return sf_user["Id"]


@pytest.mark.parametrize("mode, owner_set", [("team_member", False), ("both", True)])
def test_an_assignee_joins_the_opportunity_team_by_owner_mode(alice, connected, emulator_reset, opportunity_factory, mode, owner_set):
    sf_user = _map_member(emulator_reset, connected, alice.member)
    _settings(connected, alice.admin, owner_mode=mode)
    opportunity = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"assignee": alice.member})
    push_connection(connection_id=connected.pk)
    record_change(tenant=alice.tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.UPDATED,
                  changed_fields=["assignee"])
    push_connection(connection_id=connected.pk)  # again: still one member
    [record] = sf_records(emulator_reset, f"SELECT Id, OwnerId FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")
    members = sf_records(emulator_reset, f"SELECT UserId, TeamMemberRole, OpportunityAccessLevel FROM OpportunityTeamMember "
                                         f"WHERE OpportunityId = '{record['Id']}'")
    assert [(m["UserId"][:15], m["TeamMemberRole"], m["OpportunityAccessLevel"]) for m in members] == [(sf_user[:15], "Bid Manager", "Edit")]
    assert (record["OwnerId"][:15] == sf_user[:15]) is owner_set


def test_the_default_owner_mode_adds_no_team_member(alice, connected, emulator_reset, opportunity_factory):
    sf_user = _map_member(emulator_reset, connected, alice.member)
    opportunity_factory(alice.tenant, assignee=alice.member)
    push_connection(connection_id=connected.pk)
    assert sf_records(emulator_reset, "SELECT Id FROM OpportunityTeamMember") == []
    [record] = sf_records(emulator_reset, "SELECT OwnerId FROM Opportunity")
    assert record["OwnerId"][:15] == sf_user[:15]


# --- submitted proposals -----------------------------------------------------------------------

def test_a_submitted_proposal_logs_one_completed_task(alice, connected, emulator_reset, opportunity_factory):
    from proposals.services import proposal_create, proposal_update

    opportunity = opportunity_factory(alice.tenant, title="Network modernization")
    proposal = proposal_create(tenant=alice.tenant, opportunity=opportunity, title="Proposal — Network modernization")
    push_connection(connection_id=connected.pk)
    proposal_update(tenant=alice.tenant, proposal=proposal, data={"status": "submitted"})
    fan_out_pending()
    assert OutboxEntry.objects.get(record_type="proposal").event == Event.SUBMITTED
    push_connection(connection_id=connected.pk)
    # Moving the opportunity to Submitted records the same submission: still one Task.
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "submitted"})
    fan_out_pending()
    assert OutboxEntry.objects.get(record_type="opportunity").event == Event.SUBMITTED
    push_connection(connection_id=connected.pk)
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    [task] = sf_records(emulator_reset, "SELECT Subject, Status, WhatId, Description, Cothon_Activity_Key__c FROM Task "
                                        "WHERE Subject = 'Cothon: Proposal submitted'")
    assert (task["Status"], task["WhatId"][:15], task["Cothon_Activity_Key__c"]) == ("Completed", link.salesforce_id[:15],
                                                                                      f"submitted-{opportunity.pk}")
    assert "Network modernization" in task["Description"]


def test_a_proposal_saved_without_submitting_logs_no_submission(alice, connected, emulator_reset, opportunity_factory):
    from proposals.services import proposal_create, proposal_update

    proposal = proposal_create(tenant=alice.tenant, opportunity=opportunity_factory(alice.tenant), title="Draft")
    proposal_update(tenant=alice.tenant, proposal=proposal, data={"status": "ready"})
    assert not OutboxEntry.objects.filter(record_type="proposal").exists()
    push_connection(connection_id=connected.pk)
    assert sf_records(emulator_reset, "SELECT Id FROM Task WHERE Subject = 'Cothon: Proposal submitted'") == []


def test_the_dry_run_says_which_opportunities_created_in_salesforce_are_imported():
    from integrations.settings_schema import SyncSettings, default_settings_dict
    from sync_engine.dry_run import import_rule_text

    data = default_settings_dict()
    assert "not imported (the import setting is off)" in import_rule_text(SyncSettings.from_dict(data))
    data.update(direction="pull", import_new=True, import_filter={"stages": ["Proposal"], "require_cothon_ref": True})
    text = import_rule_text(SyncSettings.from_dict(data))
    assert text == ("Opportunities created in Salesforce become Cothon opportunities when their stage is “Proposal” "
                    "and they have a Cothon reference (Cothon_Ref__c).")
    data.update(direction="push")
    assert "only sends Cothon's changes" in import_rule_text(SyncSettings.from_dict(data))
