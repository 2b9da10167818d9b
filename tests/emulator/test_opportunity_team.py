"""OpportunityTeamMember in the default orgs: writable through sObject Collections by the
integration user, queryable with its parent and as the opportunity's child list."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


def test_team_members_are_created_in_a_collection_and_queried_both_ways(emulator_reset):
    sf = emulator_reset.sf()
    opportunity = sf.Opportunity.create({"Name": "Team bid", "StageName": "Prospecting", "CloseDate": "2030-01-31"})["id"]
    [user] = sf.query("SELECT Id FROM User WHERE Username LIKE 'admin@%' LIMIT 1")["records"]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "OpportunityTeamMember"}, "OpportunityId": opportunity, "UserId": user["Id"],
         "TeamMemberRole": "Bid Manager", "OpportunityAccessLevel": "Edit"}]})
    assert results[0]["success"], results
    assert results[0]["id"].startswith("00q")
    [member] = sf.query(f"SELECT Id, TeamMemberRole, OpportunityAccessLevel, Opportunity.Name, UserId "
                        f"FROM OpportunityTeamMember WHERE OpportunityId = '{opportunity}'")["records"]
    assert (member["TeamMemberRole"], member["OpportunityAccessLevel"], member["Opportunity"]["Name"]) == ("Bid Manager", "Edit", "Team bid")
    [row] = sf.query(f"SELECT (SELECT UserId FROM OpportunityTeamMembers) FROM Opportunity WHERE Id = '{opportunity}'")["records"]
    assert [m["UserId"][:15] for m in row["OpportunityTeamMembers"]["records"]] == [user["Id"][:15]]


def test_a_team_member_needs_an_opportunity_and_a_known_role(emulator_reset):
    sf = emulator_reset.sf()
    [user] = sf.query("SELECT Id FROM User WHERE Username LIKE 'admin@%' LIMIT 1")["records"]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "OpportunityTeamMember"}, "UserId": user["Id"], "TeamMemberRole": "Bid Manager"}]})
    assert not results[0]["success"] and results[0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    described = {f["name"]: f for f in sf.OpportunityTeamMember.describe()["fields"]}
    assert {"OpportunityId", "UserId", "TeamMemberRole", "OpportunityAccessLevel"} <= set(described)
    assert "Bid Manager" in [v["value"] for v in described["TeamMemberRole"]["picklistValues"]]
