"""The push engine end to end against the emulator: every trigger, called in-process (the
worker-process and chaos tests live in test_workers.py)."""

from __future__ import annotations

import datetime
from decimal import Decimal


from opportunities import services as opp
from sync_engine.fanout import fan_out_pending
from sync_engine.executor import push_connection
from sync_engine.models import LinkStatus, OutboxEntry, SyncLink, SyncLog




def sf_records(emulator, soql):
    return emulator.sf().query_all(soql)["records"]


def test_a_new_opportunity_is_upserted_with_its_account(alice, connected, emulator_reset, department_factory, opportunity_factory):
    department = department_factory(alice.tenant, "Health Canada")
    opportunity = opportunity_factory(alice.tenant, department=department, title="Lab equipment supply",
                                      value_min=Decimal("100000"), value_max=Decimal("300000"), status="pursuing",
                                      procurement_method="rfq", category="goods", compliance_score=82)
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and summary.succeeded >= 1, summary
    [record] = sf_records(emulator_reset, "SELECT Id, Name, Amount, StageName, CloseDate, Account.Name, Cothon_Ref__c, "
                                          "Cothon_Max_Value__c, Cothon_Method__c, Type, Cothon_Compliance__c, Cothon_Source__c "
                                          f"FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")
    assert record["Name"] == "Lab equipment supply" and record["Amount"] == 200000
    assert record["StageName"] == "Proposal" and record["Account"]["Name"] == "Health Canada"
    assert record["Cothon_Method__c"] == "RFQ" and record["Type"] == "New Business" and record["Cothon_Compliance__c"] == 82
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    assert link.status == LinkStatus.SYNCED and link.salesforce_id == record["Id"]
    assert OutboxEntry.objects.count() == 0
    assert SyncLog.objects.filter(result="success", sobject="Opportunity").count() == 1


def test_a_status_change_updates_the_stage_and_pushing_twice_never_duplicates(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "submitted"})
    push_connection(connection_id=connected.pk)
    records = sf_records(emulator_reset, f"SELECT StageName FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")
    assert [r["StageName"] for r in records] == ["Negotiation"]
    tasks = sf_records(emulator_reset, "SELECT Subject FROM Task WHERE Subject LIKE 'Cothon: Status changed%'")
    assert [t["Subject"] for t in tasks] == ["Cothon: Status changed to Submitted"]


def test_nothing_pending_costs_no_api_call(connected, emulator_reset):
    summary = push_connection(connection_id=connected.pk)
    assert summary.api_calls == 0 and summary.batches == 0


def test_a_bad_record_fails_alone_with_a_hint_while_the_rest_of_the_batch_lands(alice, connected, emulator_reset, opportunity_factory):
    good = opportunity_factory(alice.tenant)
    bad = opportunity_factory(alice.tenant, closing_date=None)  # CloseDate is required in Salesforce
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 1 and summary.succeeded == 1
    assert sf_records(emulator_reset, f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c = '{good.reference}'")
    link = SyncLink.objects.get(record_type="opportunity", record_id=bad.pk)
    assert link.status == LinkStatus.FAILED and link.last_error_code == "REQUIRED_FIELD_MISSING"
    assert "field mapping" in link.last_error_hint
    # Fixed by the user: it goes out with the next push.
    opp.opportunity_update(tenant=alice.tenant, opportunity=bad, data={"closing_date": datetime.date(2030, 1, 1)})
    push_connection(connection_id=connected.pk)
    link.refresh_from_db()
    assert link.status == LinkStatus.SYNCED


def test_a_completed_analysis_pushes_the_custom_objects_fields_and_the_task(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Fit", key_findings="Strong fit\nPricing risk")
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, code="M1", text="Hold a DOS", kind="mandatory", capability_match="met")
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, code="R1", text="Methodology", kind="rated")
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=85,
                          recommendation="Review pricing with the partner first")
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0, summary
    [sf_analysis] = sf_records(emulator_reset, "SELECT Id, Cothon_Compliance__c, Cothon_Recommendation__c, Cothon_Opportunity__r.Cothon_Ref__c, "
                                               "(SELECT Cothon_Type__c FROM Cothon_Requirements__r) FROM Cothon_Analysis__c")
    assert sf_analysis["Cothon_Compliance__c"] == 85 and sf_analysis["Cothon_Opportunity__r"]["Cothon_Ref__c"] == opportunity.reference
    assert sf_analysis["Cothon_Recommendation__c"] == "Review Needed"  # the picklist value for "Review …"
    assert sorted(r["Cothon_Type__c"] for r in sf_analysis["Cothon_Requirements__r"]["records"]) == ["Mandatory", "Rated"]
    [sf_opp] = sf_records(emulator_reset, "SELECT Cothon_Compliance__c, Cothon_Analysis_Status__c FROM Opportunity")
    assert sf_opp == {**sf_opp, "Cothon_Compliance__c": 85, "Cothon_Analysis_Status__c": "Complete"}
    [task] = sf_records(emulator_reset, "SELECT Subject, Status, Description FROM Task WHERE Subject = 'Cothon: Bid Analysis Completed'")
    assert task["Status"] == "Completed" and "Compliance Score: 85%" in task["Description"] and "- Strong fit" in task["Description"]


def test_a_comment_becomes_a_note_once(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    opp.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="Bidders' conference on Tuesday")
    push_connection(connection_id=connected.pk)
    push_connection(connection_id=connected.pk)
    notes = sf_records(emulator_reset, "SELECT Title, Body FROM Note")
    assert len(notes) == 1 and notes[0]["Body"] == "Bidders' conference on Tuesday"


def test_a_department_deleted_before_its_push_is_dropped_without_an_error(alice, connected, emulator_reset, department_factory):
    department = department_factory(alice.tenant, "Typo Departmnet")
    fan_out_pending()
    assert OutboxEntry.objects.filter(record_type="department", record_id=department.pk).exists()
    opp.department_delete(tenant=alice.tenant, department=department)
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0, summary
    assert not OutboxEntry.objects.exists()
    assert sf_records(emulator_reset, "SELECT Id FROM Account WHERE Name = 'Typo Departmnet'") == []


def test_a_department_is_reused_when_an_account_of_that_name_exists(alice, connected, emulator_reset, department_factory, opportunity_factory):
    existing = sf_records(emulator_reset, "SELECT Id, Name FROM Account WHERE Name = 'Department of National Defence'")
    assert existing, "the demo org seeds this account"
    department = department_factory(alice.tenant, "Department of National Defence")
    opportunity_factory(alice.tenant, department=department)
    push_connection(connection_id=connected.pk)
    accounts = sf_records(emulator_reset, "SELECT Id FROM Account WHERE Name = 'Department of National Defence'")
    assert [a["Id"] for a in accounts] == [existing[0]["Id"]]


def test_a_record_deleted_in_salesforce_is_not_silently_recreated(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    emulator_reset.sf().Opportunity.delete(link.salesforce_id)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Renamed"})
    push_connection(connection_id=connected.pk)
    link.refresh_from_db()
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE
    assert not sf_records(emulator_reset, f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")


def test_a_large_background_run_goes_through_bulk_api_2_with_per_row_results(alice, connected, emulator_reset, opportunity_factory):
    from integrations.sync_settings import settings_current, settings_save
    from sync_engine.services import sync_now_start, sync_run_execute_inline

    data = settings_current(connection=connected)
    data["bulk_threshold"] = 30
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)
    good = [opportunity_factory(alice.tenant) for _ in range(40)]
    bad = opportunity_factory(alice.tenant, closing_date=None)
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    OutboxEntry.objects.all().delete()  # as if created before the connection: the full sync sends them
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    run = sync_run_execute_inline(run=run)
    assert (run.succeeded, run.failed) == (40, 1)
    assert SyncLog.objects.filter(operation="bulk_upsert", result="success").count() == 40
    failed = SyncLog.objects.get(operation="bulk_upsert", result="failed")
    assert failed.record_id == bad.pk and failed.error_code == "REQUIRED_FIELD_MISSING"
    refs = ", ".join(f"'{o.reference}'" for o in good)
    assert emulator_reset.sf().query(f"SELECT COUNT() FROM Opportunity WHERE Cothon_Ref__c IN ({refs})")["totalSize"] == 40
    assert SyncLink.objects.filter(record_type="opportunity", status=LinkStatus.SYNCED).count() == 40
    assert run.api_calls < 40 / 200 * 6 + 12  # one job (~6 calls) instead of a call per record


def test_a_generated_proposal_attaches_its_document_and_logs_the_task(alice, connected, emulator_reset, opportunity_factory, settings, tmp_path):
    from proposals.services import proposal_create, proposal_generate

    settings.MEDIA_ROOT = tmp_path
    opportunity = opportunity_factory(alice.tenant, title="Network modernization")
    proposal = proposal_create(tenant=alice.tenant, opportunity=opportunity, title="Proposal — Network modernization")
    proposal_generate(tenant=alice.tenant, proposal=proposal)
    push_connection(connection_id=connected.pk)
    push_connection(connection_id=connected.pk)  # a retry must not attach a second copy
    [task] = sf_records(emulator_reset, "SELECT Subject, Status, Description FROM Task WHERE Subject = 'Cothon: Proposal Generated'")
    assert "Proposal generated for Network modernization" in task["Description"]
    assert "Sections: Executive Summary, Technical Approach, Team, Pricing" in task["Description"]
    files = sf_records(emulator_reset, "SELECT Id, Title, FirstPublishLocationId FROM ContentVersion")
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    assert [(f["Title"], f["FirstPublishLocationId"][:15]) for f in files] == [("Proposal — Network modernization", link.salesforce_id[:15])]


def test_an_assignee_becomes_the_owner_through_the_user_mapping(alice, connected, emulator_reset, opportunity_factory):
    from integrations.user_links import user_link_set

    [sf_user] = sf_records(emulator_reset, "SELECT Id FROM User WHERE Username LIKE 'admin@%' LIMIT 1")
    user_link_set(connection=connected, user_id=alice.member.pk, salesforce_user_id=sf_user["Id"])
    opportunity = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"assignee": alice.member})
    push_connection(connection_id=connected.pk)
    [record] = sf_records(emulator_reset, f"SELECT OwnerId FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")
    assert record["OwnerId"][:15] == sf_user["Id"][:15]


def test_a_deadline_three_days_away_opens_one_high_priority_task(alice, connected, emulator_reset, opportunity_factory):
    from sync_engine.services import deadline_reminders_queue

    soon = datetime.date.today() + datetime.timedelta(days=3)
    opportunity = opportunity_factory(alice.tenant, title="Snow removal", closing_date=soon, status="pursuing")
    opportunity_factory(alice.tenant, closing_date=soon + datetime.timedelta(days=10))
    push_connection(connection_id=connected.pk)
    assert deadline_reminders_queue() == 1
    push_connection(connection_id=connected.pk)
    deadline_reminders_queue()  # hourly: idempotent
    push_connection(connection_id=connected.pk)
    [task] = sf_records(emulator_reset, "SELECT Subject, Status, Priority, ActivityDate, Description FROM Task "
                                        "WHERE Subject = 'Cothon: Submission Deadline Approaching'")
    assert (task["Status"], task["Priority"], task["ActivityDate"]) == ("Not Started", "High", soon.isoformat())
    assert task["Description"].startswith("Snow removal closes in 3 days")
    del opportunity


def test_the_sync_button_run_finishes_with_the_records_result(alice, connected, emulator_reset, opportunity_factory):
    from sync_engine.models import SyncRun
    from sync_engine.services import manual_runs_settle, record_sync_now

    opportunity = opportunity_factory(alice.tenant)
    run = record_sync_now(connection=connected, record_type="opportunity", record_id=opportunity.pk, actor=alice.member)
    assert OutboxEntry.objects.get(record_id=opportunity.pk).priority == 0
    push_connection(connection_id=connected.pk)
    assert manual_runs_settle(connection_id=connected.pk) == 1
    run.refresh_from_db()
    assert (run.status, run.succeeded, run.finished_at is not None) == ("succeeded", 1, True)
    assert SyncRun.objects.get(pk=run.pk).kind == "manual_record"


def test_notes_instead_of_tasks_and_activity_thresholds(alice, connected, emulator_reset, opportunity_factory):
    from integrations.sync_settings import settings_current, settings_save

    data = settings_current(connection=connected)
    data["activity"].update(mode="notes", min_value=500000)
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)
    big = opportunity_factory(alice.tenant, value_min=Decimal("600000"), value_max=Decimal("900000"))
    small = opportunity_factory(alice.tenant, value_min=Decimal("1000"), value_max=Decimal("2000"))
    push_connection(connection_id=connected.pk)
    for opportunity in (big, small):
        opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "pursuing"})
    push_connection(connection_id=connected.pk)
    assert sf_records(emulator_reset, "SELECT Id FROM Task WHERE Subject LIKE 'Cothon:%'") == []
    notes = sf_records(emulator_reset, "SELECT Title, ParentId FROM Note")
    link = SyncLink.objects.get(record_type="opportunity", record_id=big.pk)
    assert [(n["Title"], n["ParentId"][:15]) for n in notes] == [("Cothon: Status changed to Pursuing", link.salesforce_id[:15])]


def test_without_a_reference_it_matches_by_exact_title_and_close_date(alice, connected, emulator_reset, opportunity_factory):
    sf = emulator_reset.sf()
    existing = sf.Opportunity.create({"Name": "Legacy bid", "StageName": "Prospecting", "CloseDate": "2030-03-31"})["id"]
    opportunity_factory(alice.tenant, title="Legacy bid", reference="", closing_date=datetime.date(2030, 3, 31))
    push_connection(connection_id=connected.pk)
    records = sf_records(emulator_reset, "SELECT Id, Cothon_Source__c FROM Opportunity WHERE Name = 'Legacy bid'")
    assert [(r["Id"][:15], r["Cothon_Source__c"]) for r in records] == [(existing[:15], "Cothon")]
    link = SyncLink.objects.get(record_type="opportunity")
    assert link.matched_by == "title_date"
