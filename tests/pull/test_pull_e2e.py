"""The incremental pull end to end: records edited in the emulator through its REST API (as a
sales manager would), then one incremental cycle, then Cothon's records."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from integrations.user_links import user_link_set
from opportunities import services as opp
from opportunities.models import Department, Opportunity
from sync_engine.executor import push_connection
from sync_engine.models import ApiCallBucket, LinkStatus, OutboxEntry, SyncLink, SyncLog
from sync_engine.pull import incremental
from sync_engine.pull.incremental import pull_incremental
from sync_engine.pull.models import PullWatermark
from tests.pull.conftest import save_settings


def sf_users(sf) -> dict[str, str]:
    return {r["Username"].split("@")[0]: r["Id"] for r in sf.query("SELECT Id, Username FROM User")["records"]}


def pushed(connected, opportunity) -> SyncLink:
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0, summary
    return SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)


def pull_calls(connected) -> int:
    return sum(ApiCallBucket.objects.filter(connection=connected, kind="pull").values_list("calls", flat=True))


@pytest.fixture
def manager(alice, connected, sf):
    """Alice's member is Riley Rep in Salesforce, her admin the org's admin user."""
    users = sf_users(sf)
    user_link_set(connection=connected, user_id=alice.member.pk, salesforce_user_id=users["rep"])
    user_link_set(connection=connected, user_id=alice.admin.pk, salesforce_user_id=users["admin"])
    return users


def test_every_mapped_field_comes_back_from_salesforce(alice, connected, sf, manager, department_factory, opportunity_factory):
    save_settings(connected, picklist_reverse=_reverse(connected, category_to_type={"Services": "it", "New Business": "goods"}))
    department = department_factory(alice.tenant, "Health Canada")
    opportunity = opportunity_factory(alice.tenant, department=department, value_min=Decimal("100000"), value_max=Decimal("300000"),
                                      category="goods", procurement_method="rfp", assignee=alice.admin, description="Ours",
                                      pursuit_decision="pursue", compliance_score=50, win_probability=10)
    link = pushed(connected, opportunity)
    account = sf.Account.create({"Name": "Transport Canada"})["id"]
    sf.Opportunity.update(link.salesforce_id, {
        "Name": "Renamed by sales", "Cothon_Ref__c": "NEW-REF-1", "Amount": 250000, "CloseDate": "2031-03-31",
        "AccountId": account, "StageName": "Negotiation", "Type": "Services", "Cothon_Method__c": "Standing Offer",
        "Cothon_Location__c": "Yukon", "Cothon_UNSPSC__c": "43230000", "Cothon_Compliance__c": 91,
        "Cothon_Pursuit__c": "Review Needed", "Probability": 75, "Cothon_Analysis_Status__c": "In Progress",
        "OwnerId": manager["rep"], "Cothon_Last_Analysis__c": "2030-06-01T12:30:00.000+0000", "Description": "Theirs"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.applied == 1 and result.summary.failed == 0, result
    opportunity.refresh_from_db()
    assert opportunity.title == "Renamed by sales" and opportunity.reference == "NEW-REF-1"
    # Midpoint conversion: the 200,000-wide range is centred on the new Amount.
    assert (opportunity.value_min, opportunity.value_max) == (Decimal("150000.00"), Decimal("350000.00"))
    assert "the value range became $150,000.00 – $350,000.00 (its midpoint is the Amount)" in \
        opportunity.salesforce_extra[str(connected.pk)]["notes"][0]
    assert opportunity.closing_date == datetime.date(2031, 3, 31)
    assert opportunity.department.name == "Transport Canada"
    assert opportunity.status == "submitted" and opportunity.category == "it" and opportunity.procurement_method == "standing_offer"
    assert (opportunity.location, opportunity.unspsc_code, opportunity.compliance_score) == ("Yukon", "43230000", 91)
    assert opportunity.pursuit_decision == "review" and opportunity.win_probability == 75 and opportunity.analysis_status == "in_progress"
    assert opportunity.assignee == alice.member and opportunity.description == "Theirs"
    assert opportunity.last_analyzed_at == datetime.datetime(2030, 6, 1, 12, 30, tzinfo=datetime.timezone.utc)
    # The new department is linked to its Account: the push will not create a second one.
    assert SyncLink.objects.get(record_type="department", record_id=opportunity.department_id).salesforce_id == account
    link.refresh_from_db()
    assert link.base_snapshot["Description"] == "Theirs" and link.base_snapshot["StageName"] == "Negotiation"
    assert link.salesforce_modstamp is not None
    log = SyncLog.objects.get(direction="pull", record_id=opportunity.pk)
    assert log.result == "success" and log.operation == "update"
    # Changed in Salesforce, so never pushed back to it.
    assert not OutboxEntry.objects.filter(connection=connected).exists()


def test_unmapped_custom_fields_become_extended_data(alice, connected, sf, emulator_reset, opportunity_factory):
    admin = emulator_reset.session(token=emulator_reset.token("demo", emulator_reset.demo["admin"]["username"]))
    created = admin.post(f"{emulator_reset.api()}/tooling/sobjects/CustomField", json={
        "FullName": "Opportunity.Region_Code__c", "Metadata": {"type": "Text", "label": "Region code", "length": 20}})
    assert created.status_code == 201, created.text
    from integrations.sync_settings import describe_forget

    describe_forget(connection=connected)
    opportunity = opportunity_factory(alice.tenant)
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Region_Code__c": "NCR", "Description": "x"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.salesforce_extra[str(connected.pk)]["fields"] == {"Region_Code__c": "NCR"}


@pytest.mark.parametrize("direction", ["bidirectional", "pull"])
def test_bidirectional_and_pull_only_apply_every_field(alice, connected, sf, opportunity_factory, direction):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    link = pushed(connected, opportunity)
    save_settings(connected, direction=direction)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs", "StageName": "Qualification"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert (opportunity.description, opportunity.status) == ("Theirs", "analyzing")


def test_hybrid_applies_only_the_fields_set_to_pull_or_both(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours", location="Ontario")
    link = pushed(connected, opportunity)
    save_settings(connected, direction="hybrid",
                  field_directions={"Description": "pull", "StageName": "push", "Cothon_Location__c": "both"})
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs", "StageName": "Qualification", "Cothon_Location__c": "Quebec"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert (opportunity.description, opportunity.status, opportunity.location) == ("Theirs", "identified", "Quebec")


def test_push_only_never_writes_cothon_and_makes_no_call(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    link = pushed(connected, opportunity)
    save_settings(connected, direction="push")
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.stopped_because.startswith("push only")
    opportunity.refresh_from_db()
    assert opportunity.description == "Ours"
    assert pull_calls(connected) == 0 and not SyncLog.objects.filter(direction="pull").exists()


def test_our_own_push_coming_back_writes_nothing_and_pushes_nothing(alice, connected, sf, manager, department_factory,
                                                                    opportunity_factory):
    department = department_factory(alice.tenant, "Public Works")
    opportunity = opportunity_factory(alice.tenant, department=department, assignee=alice.member, description="Ours",
                                      win_probability=10, procurement_method="rfq", location="Nunavut", unspsc_code="4321")
    pushed(connected, opportunity)
    before = Opportunity.objects.get(pk=opportunity.pk).updated_at
    first = pull_incremental(connection_id=connected.pk)
    assert first.summary.echoes == 1 and first.summary.applied == 0 and first.summary.failed == 0, first
    assert Opportunity.objects.get(pk=opportunity.pk).updated_at == before
    assert not OutboxEntry.objects.exists()
    assert not SyncLog.objects.filter(direction="pull", record_id=opportunity.pk).exists()
    # Nothing to send back: the next push costs no call; an idle pull costs one.
    assert push_connection(connection_id=connected.pk).api_calls == 0
    calls = pull_calls(connected)
    second = pull_incremental(connection_id=connected.pk)
    assert pull_calls(connected) - calls == 1 and second.summary.applied == 0
    assert Opportunity.objects.get(pk=opportunity.pk).updated_at == before


def test_a_change_applied_from_salesforce_is_not_pulled_again_in_the_overlap_window(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    pull_incremental(connection_id=connected.pk)
    logs = SyncLog.objects.filter(direction="pull").count()
    again = pull_incremental(connection_id=connected.pk)
    assert again.summary.already_seen == 1 and again.summary.applied == 0
    assert SyncLog.objects.filter(direction="pull").count() == logs


def test_deleted_in_salesforce_marks_the_link_and_keeps_the_record(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    link = pushed(connected, opportunity)
    sf.Opportunity.delete(link.salesforce_id)
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.deleted == 1
    link.refresh_from_db()
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert SyncLog.objects.get(direction="pull", record_id=opportunity.pk).error_code == "DELETED_IN_SALESFORCE"


def test_a_field_changed_in_cothon_and_not_yet_pushed_keeps_cothons_value(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours", location="Ontario")
    link = pushed(connected, opportunity)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"location": "Manitoba"})
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert (opportunity.description, opportunity.location) == ("Theirs", "Manitoba")


def _reverse(connection, **maps):
    """The connection's declared reverse values with these maps' replaced."""
    from integrations.sync_settings import settings_current

    return {**settings_current(connection=connection)["picklist_reverse"], **maps}


def test_a_picklist_value_standing_for_several_cothon_values_comes_back_as_its_declared_reverse(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, category="goods", description="Ours")
    link = pushed(connected, opportunity)
    save_settings(connected, picklist_reverse=_reverse(connected, category_to_type={"New Business": "construction", "Services": "it"}))
    sf.Opportunity.update(link.salesforce_id, {"Type": "Services", "Description": "Theirs"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.category == "it" and opportunity.description == "Theirs"


def test_a_shared_picklist_value_without_a_reverse_is_skipped_and_said(alice, connected, sf, opportunity_factory):
    """A settings version saved before reverse values existed (saving one now is refused)."""
    from integrations.models import ConnectionSettingsVersion

    opportunity = opportunity_factory(alice.tenant, category="goods", description="Ours")
    link = pushed(connected, opportunity)
    version = connected.settings_versions.first()
    data = dict(version.data)
    data["picklist_reverse"] = {}
    ConnectionSettingsVersion.objects.filter(pk=version.pk).update(data=data)
    sf.Opportunity.update(link.salesforce_id, {"Type": "Services", "Description": "Theirs"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.category == "goods" and opportunity.description == "Theirs"
    log = SyncLog.objects.get(direction="pull", record_id=opportunity.pk)
    assert log.error_code == "FIELDS_SKIPPED" and "no reverse value is declared" in log.error_message


def test_an_owner_without_a_user_mapping_leaves_the_assignee_and_says_who(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, assignee=alice.admin)
    link = pushed(connected, opportunity)
    rep = sf_users(sf)["rep"]
    sf.Opportunity.update(link.salesforce_id, {"OwnerId": rep})
    result = pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.assignee == alice.admin
    assert any("Riley Rep" in w for w in result.summary.warnings)
    assert "Riley Rep" in opportunity.salesforce_extra[str(connected.pk)]["warnings"][0]


def test_close_date_is_never_shifted_across_time_zones(alice, connected, sf, opportunity_factory, settings):
    alice.tenant.time_zone = "Pacific/Kiritimati"  # UTC+14
    alice.tenant.save()
    settings.TIME_ZONE = "Pacific/Pago_Pago"  # UTC−11
    opportunity = opportunity_factory(alice.tenant, closing_date=datetime.date(2030, 12, 31))
    link = pushed(connected, opportunity)
    assert sf.Opportunity.get(link.salesforce_id)["CloseDate"] == "2030-12-31"
    sf.Opportunity.update(link.salesforce_id, {"CloseDate": "2031-01-01"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.closing_date == datetime.date(2031, 1, 1)


def test_the_sales_managers_owner_stage_and_description_survive_a_cothon_edit(alice, connected, sf, manager, opportunity_factory):
    """The issue's headline bug: a pull, then a Cothon edit of another field, must not put
    Cothon's old Owner, Stage and Description back in Salesforce."""
    opportunity = opportunity_factory(alice.tenant, assignee=alice.admin, description="Cothon's text", status="identified")
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"OwnerId": manager["rep"], "StageName": "Proposal",
                                               "Description": "The sales manager's text"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"unspsc_code": "80101500"})
    assert push_connection(connection_id=connected.pk).failed == 0
    record = sf.Opportunity.get(link.salesforce_id)
    assert record["OwnerId"] == manager["rep"] and record["StageName"] == "Proposal"
    assert record["Description"] == "The sales manager's text" and record["Cothon_UNSPSC__c"] == "80101500"


def test_import_is_off_for_bidirectional_connections(alice, connected, sf):
    sf.Opportunity.create({"Name": "Commercial deal", "StageName": "Prospecting", "CloseDate": "2030-01-01"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.not_imported == 1 and not Opportunity.objects.filter(tenant=alice.tenant).exists()
    assert SyncLog.objects.get(direction="pull").error_code == "NOT_IMPORTED"


def test_pull_only_imports_new_opportunities_with_their_account_as_department(alice, connected, sf):
    save_settings(connected, direction="pull")
    account = sf.Account.create({"Name": "Fisheries and Oceans"})["id"]
    created = sf.Opportunity.create({"Name": "Dock repairs", "StageName": "Proposal", "CloseDate": "2030-05-05",
                                     "Amount": 90000, "AccountId": account, "Cothon_Ref__c": "DFO-1"})
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.created == 1, list(SyncLog.objects.values_list("error_code", "error_message"))
    opportunity = Opportunity.objects.get(tenant=alice.tenant)
    assert (opportunity.title, opportunity.status, opportunity.reference) == ("Dock repairs", "pursuing", "DFO-1")
    assert opportunity.value_min == Decimal("90000.00") and opportunity.value_max is None
    assert opportunity.department.name == "Fisheries and Oceans"
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    assert link.salesforce_id == created["id"] and link.matched_by == "pulled"
    assert not OutboxEntry.objects.filter(connection=connected).exists()


def test_the_import_filter_keeps_other_stages_out(alice, connected, sf):
    save_settings(connected, direction="pull", import_filter={"stages": ["Proposal"], "require_cothon_ref": True})
    sf.Opportunity.create({"Name": "Early", "StageName": "Prospecting", "CloseDate": "2030-01-01", "Cothon_Ref__c": "E-1"})
    sf.Opportunity.create({"Name": "No ref", "StageName": "Proposal", "CloseDate": "2030-01-01"})
    sf.Opportunity.create({"Name": "Wanted", "StageName": "Proposal", "CloseDate": "2030-01-01", "Cothon_Ref__c": "W-1"})
    result = pull_incremental(connection_id=connected.pk)
    assert [o.title for o in Opportunity.objects.filter(tenant=alice.tenant)] == ["Wanted"]
    assert result.summary.not_imported == 2


def test_an_existing_account_is_matched_to_its_department_by_key_then_name(alice, connected, sf, department_factory):
    save_settings(connected, direction="pull")
    department = department_factory(alice.tenant, "Parks Canada")
    keyed = sf.Account.create({"Name": "Parks (renamed in Salesforce)", "Cothon_Department_Key__c": f"t{alice.tenant.pk}.{department.key}"})["id"]
    by_name = sf.Account.create({"Name": "parks canada"})["id"]
    sf.Opportunity.create({"Name": "A", "StageName": "Proposal", "CloseDate": "2030-01-01", "AccountId": keyed})
    sf.Opportunity.create({"Name": "B", "StageName": "Proposal", "CloseDate": "2030-01-01", "AccountId": by_name})
    pull_incremental(connection_id=connected.pk)
    assert {o.department_id for o in Opportunity.objects.filter(tenant=alice.tenant)} == {department.pk}
    assert Department.objects.filter(tenant=alice.tenant).count() == 1


def test_the_watermark_moves_only_after_a_page_is_applied(alice, connected, sf, opportunity_factory, monkeypatch):
    opportunity = opportunity_factory(alice.tenant)
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})

    def crash(**kwargs):
        raise RuntimeError("worker killed mid-page")

    monkeypatch.setattr(incremental, "pull_apply", crash)
    with pytest.raises(RuntimeError):
        pull_incremental(connection_id=connected.pk)
    mark = PullWatermark.objects.get(connection=connected)
    assert mark.watermark is None and mark.lease_until is None and mark.last_result == "failed"
    monkeypatch.undo()
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    mark.refresh_from_db()
    assert opportunity.description == "Theirs" and mark.watermark is not None


def test_pages_of_two_thousand_move_the_watermark_page_by_page(alice, connected, sf, emulator_reset, monkeypatch):
    session, api = emulator_reset.session(), emulator_reset.api()
    for start in range(0, 2001, 200):
        batch = [{"attributes": {"type": "Opportunity"}, "Name": f"Bulk {i}", "StageName": "Prospecting", "CloseDate": "2030-01-01"}
                 for i in range(start, min(start + 200, 2001))]
        assert all(r["success"] for r in session.post(f"{api}/composite/sobjects", json={"records": batch}).json())
    real = incremental.pull_apply
    pages = []

    def second_page_crashes(**kwargs):
        pages.append(len(kwargs["sobject_records"]))
        if len(pages) == 2:
            raise RuntimeError("killed on page 2")
        return real(**kwargs)

    monkeypatch.setattr(incremental, "pull_apply", second_page_crashes)
    with pytest.raises(RuntimeError):
        pull_incremental(connection_id=connected.pk)
    assert pages == [2000, 1]
    first_page_top = PullWatermark.objects.get(connection=connected).watermark
    assert first_page_top is not None
    assert pull_calls(connected) == 3  # the describe (then cached for an hour), the query, one queryMore


def test_an_idle_cycle_costs_one_call_and_a_refused_admission_none(alice, connected, sf, monkeypatch):
    pull_incremental(connection_id=connected.pk)
    before = pull_calls(connected)
    pull_incremental(connection_id=connected.pk)
    assert pull_calls(connected) - before == 1
    from sync_engine.governor import Admission, get_governor

    governor = get_governor()
    monkeypatch.setattr(type(governor), "admit", lambda self, cid, priority, cost=1: Admission(False, 60, "API limit reached", "paused"))
    result = pull_incremental(connection_id=connected.pk)
    assert result.stopped_because == "API limit reached" and pull_calls(connected) - before == 1


def test_the_record_page_shows_extended_data_and_pull_warnings(alice, connected, sf, emulator_reset, opportunity_factory, web_as):
    admin = emulator_reset.session(token=emulator_reset.token("demo", emulator_reset.demo["admin"]["username"]))
    admin.post(f"{emulator_reset.api()}/tooling/sobjects/CustomField", json={
        "FullName": "Opportunity.Region_Code__c", "Metadata": {"type": "Text", "label": "Region code", "length": 20}})
    from integrations.sync_settings import describe_forget

    describe_forget(connection=connected)
    opportunity = opportunity_factory(alice.tenant, assignee=alice.admin)
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Region_Code__c": "NCR", "OwnerId": sf_users(sf)["rep"]})
    pull_incremental(connection_id=connected.pk)
    page = web_as(alice.member).get(f"/opportunities/{opportunity.pk}/").content.decode()
    assert "More from Salesforce" in page and "Region code" in page and "Region_Code__c" in page and "NCR" in page
    assert "Riley Rep" in page and "has no Cothon user" in page


def test_an_unmapped_owner_survives_a_cothon_edit(alice, connected, sf, opportunity_factory):
    users = sf_users(sf)
    user_link_set(connection=connected, user_id=alice.admin.pk, salesforce_user_id=users["admin"])
    opportunity = opportunity_factory(alice.tenant, assignee=alice.admin)
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"OwnerId": users["rep"]})  # Riley has no Cothon user
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"unspsc_code": "80101500"})
    push_connection(connection_id=connected.pk)
    assert sf.Opportunity.get(link.salesforce_id)["OwnerId"] == users["rep"]


def test_a_large_pull_reads_the_rest_through_one_bulk_query(alice, connected, sf, emulator_reset, opportunity_factory, monkeypatch):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    link = pushed(connected, opportunity)
    session, api = emulator_reset.session(), emulator_reset.api()
    for start in range(0, 2400, 200):
        batch = [{"attributes": {"type": "Opportunity"}, "Name": f"Bulk {i}", "StageName": "Prospecting", "CloseDate": "2030-01-01"}
                 for i in range(start, start + 200)]
        assert all(r["success"] for r in session.post(f"{api}/composite/sobjects", json={"records": batch}).json())
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs", "Amount": 300000})  # the newest change
    monkeypatch.setattr(incremental, "BULK_QUERY_MIN_REMAINING", 100)
    calls = []
    real = incremental._bulk_rest
    monkeypatch.setattr(incremental, "_bulk_rest", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = pull_incremental(connection_id=connected.pk)
    # Rows sharing the first page's last SystemModstamp second are read again by the job (idempotent).
    assert calls == [1] and result.summary.seen >= 2401 and result.summary.failed == 0, result
    assert result.summary.api_calls <= 5  # describe excluded: query, job create, poll(s), one result chunk
    opportunity.refresh_from_db()
    assert opportunity.description == "Theirs" and opportunity.value_min == Decimal("225000.00")
    mark = PullWatermark.objects.get(connection=connected)
    assert mark.watermark == SyncLink.objects.get(pk=link.pk).salesforce_modstamp


def test_the_connection_page_names_salesforce_owners_without_a_cothon_user(alice, connected, sf, opportunity_factory, web_as):
    opportunity = opportunity_factory(alice.tenant, assignee=alice.admin)
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"OwnerId": sf_users(sf)["rep"]})
    pull_incremental(connection_id=connected.pk)
    page = web_as(alice.admin).get(f"/settings/integrations/salesforce/{connected.pk}/").content.decode()
    assert "From Salesforce" in page and "Salesforce owners with no Cothon user" in page and "Riley Rep" in page
    assert "Last incremental pull" in page


def test_an_edit_in_cothon_does_not_undo_a_sales_managers_edits_made_before_any_pull(alice, connected, sf, opportunity_factory):
    """The issue's headline: Owner, Stage and Description changed in Salesforce, then the UNSPSC
    code edited in Cothon before anything was pulled — the push sends the UNSPSC code only."""
    users = sf_users(sf)
    user_link_set(connection=connected, user_id=alice.admin.pk, salesforce_user_id=users["admin"])
    opportunity = opportunity_factory(alice.tenant, assignee=alice.admin, description="Cothon's description")
    link = pushed(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"OwnerId": users["rep"], "StageName": "Negotiation",
                                               "Description": "The sales manager's words"})
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"unspsc_code": "80101500"})
    push_connection(connection_id=connected.pk)
    record = sf.Opportunity.get(link.salesforce_id)
    assert record["Cothon_UNSPSC__c"] == "80101500"
    assert (record["OwnerId"][:15], record["StageName"], record["Description"]) == (
        users["rep"][:15], "Negotiation", "The sales manager's words")
