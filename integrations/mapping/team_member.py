"""Assignee → OpportunityTeamMember (settings "owner_mode": team_member or both): the assignee's
Salesforce user joins the opportunity team with a role, in addition to or instead of becoming
the Owner."""

from __future__ import annotations

from integrations.mapping.opportunity import TEAM_MEMBER_ROLE

SOBJECT = "OpportunityTeamMember"


def to_salesforce(*, opportunity_id: str, user_id: str, role: str = TEAM_MEMBER_ROLE, access: str = "Edit") -> dict:
    return {"OpportunityId": opportunity_id, "UserId": user_id, "TeamMemberRole": role, "OpportunityAccessLevel": access}
